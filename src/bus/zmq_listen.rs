//! fedmsg listeners: one ZeroMQ SUB per configured endpoint (composed connects, the SUB
//! reconnects by itself when the publisher restarts) and one SUB composed binds for publishers
//! that connect (`fedmsg-logger`, relay_inbound style). Everything is subscribed; topics are
//! matched in code on whole words. The zeromq crate has no RCVHWM: a SUB reads only as fast
//! as it is polled, so a burst is held back by TCP flow control instead of being dropped here
//! (the publisher's own SNDHWM still applies on its side).

use std::time::Duration;

use tokio::sync::mpsc;
use zeromq::{Socket, SocketOptions, SocketRecv, SubSocket};

use super::backoff::Backoff;
use super::counters::{Counters, MALFORMED};
use super::inbound::{Ack, Inbound, parse_fedmsg};

/// Whether the SUB connects to the endpoint or binds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Connect,
    Bind,
}

/// Receives forever from `endpoint`; well-formed messages go to `tx`.
pub async fn run(
    mode: Mode,
    endpoint: String,
    tx: mpsc::Sender<Inbound>,
    counters: Counters,
    max_bytes: usize,
    reconnect_max_ms: u64,
) {
    let mut backoff = Backoff::new(reconnect_max_ms);
    loop {
        let mut options = SocketOptions::default();
        options.connect_timeout(Duration::from_millis(reconnect_max_ms.clamp(1000, 10_000)));
        let mut socket = SubSocket::with_options(options);
        if let Err(e) = socket.subscribe("").await {
            tracing::warn!(%endpoint, error = %e, "fedmsg SUB subscribe failed");
        }
        let ready = match mode {
            Mode::Connect => socket.connect(&endpoint).await.map(|_| ()),
            Mode::Bind => socket.bind(&endpoint).await.map(|_| ()),
        };
        if let Err(e) = ready {
            tracing::warn!(%endpoint, ?mode, error = %e, "fedmsg SUB not ready; retrying");
            drop(socket);
            backoff.wait().await;
            continue;
        }
        backoff.reset();
        tracing::info!(%endpoint, ?mode, "listening for fedmsg events");
        let mut errors = 0u32;
        loop {
            match socket.recv().await {
                Ok(msg) => {
                    errors = 0;
                    let frames = msg.into_vec();
                    match parse_fedmsg(&frames, max_bytes) {
                        Ok((topic, msg_id, payload)) => {
                            let inbound = Inbound {
                                transport: "zmq",
                                topic,
                                msg_id,
                                payload,
                                ack: Ack::None,
                            };
                            if tx.send(inbound).await.is_err() {
                                return; // the trigger engine is gone: the process is ending
                            }
                        }
                        Err(m) => {
                            counters.add(MALFORMED, "zmq", m.reason());
                            tracing::warn!(%endpoint, reason = m.reason(), frames = frames.len(), "malformed fedmsg message dropped");
                        }
                    }
                }
                Err(e) => {
                    // A peer went away (normal for fedmsg-logger) or the stream broke; the
                    // socket keeps its other peers and reconnects by itself. Recreate it only
                    // when errors persist.
                    errors += 1;
                    tracing::debug!(%endpoint, error = %e, errors, "fedmsg SUB receive error");
                    if errors >= 20 {
                        tracing::warn!(%endpoint, error = %e, "fedmsg SUB keeps failing; recreating it");
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10 * u64::from(errors))).await;
                }
            }
        }
        drop(socket);
        backoff.wait().await;
    }
}
