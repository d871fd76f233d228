//! Koji answer decoding benchmark (not a test): the test hub's `listTaggedRPMS` answer for a
//! whole 10,000-RPM tag (about 28 MB of XML-RPC), decoded as composed decodes it (only the
//! members it reads kept), from memory and in 64 KiB chunks as it arrives from the network.
//! Prints the median of the decodes and the throughput.
//!
//! Run: `cargo bench --bench koji_decode`. Env: BENCH_RPMS (default 10000), BENCH_ITERATIONS
//! (default 7).

#[path = "../tests/common/koji_hub.rs"]
mod koji_hub;

use std::time::Instant;

use composed::koji::xmlrpc::{self, Value};

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let n: usize = std::env::var("BENCH_RPMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let mut d = koji_hub::bench_tag(n);
    let answer = d.dispatch("listTaggedRPMS", vec![Value::from("bench")]);
    let xml = xmlrpc::encode_response(&answer);
    let mut times = Vec::new();
    let iterations: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    for _ in 0..iterations {
        let t = Instant::now();
        let reader = std::io::BufReader::with_capacity(64 * 1024, xml.as_bytes());
        let v = xmlrpc::decode_response_from(reader, Some(composed::koji::list_tagged_rpms_member))
            .expect("well-formed")
            .expect("no fault");
        times.push(t.elapsed().as_secs_f64());
        assert_eq!(v.as_array().map(<[Value]>::len), Some(2));
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = times[times.len() / 2];
    println!(
        "| listTaggedRPMS, {n} RPMs, {:.1} MB | {:.1} ms | {:.0} MB/s |",
        xml.len() as f64 / 1e6,
        median * 1e3,
        xml.len() as f64 / 1e6 / median
    );
}
