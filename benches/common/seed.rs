//! The benchmarks' database: `n` composes of varied owners, types, sources and states.

use composed::config::Settings;
use composed::db::models::NewCompose;
use composed::db::{composes as q, write_tx};
use diesel::RunQueryDsl;

/// Inserts `n` composes (one transaction), then brings PostgreSQL's statistics up to date.
pub fn seed(pool: &composed::db::DbPool, settings: &Settings, n: usize) {
    let mut conn = pool.get().unwrap();
    let now = composed::db::now();
    write_tx(&mut conn, |c| -> Result<(), diesel::result::Error> {
        for i in 0..n {
            let row = NewCompose {
                owner: format!("user{}", i % 17),
                source_type: 1 + (i % 7) as i32,
                source: format!("f{}-build", 30 + i % 11),
                state: (i % 5) as i32,
                state_reason: Some("Compose is generated successfully".into()),
                time_to_expire: now + chrono::Duration::days(1),
                time_submitted: now,
                flags: (i % 4) as i32,
                results: 1,
                sigkeys: "SIG1 SIG2".into(),
                koji_event: Some(1_000_000 + i as i64),
                packages: Some("bash coreutils glibc".into()),
                builds: None,
                arches: "x86_64 aarch64".into(),
                multilib_arches: String::new(),
                multilib_method: 0,
                lookaside_repos: Some(String::new()),
                modular_koji_tags: None,
                module_defaults_url: None,
                label: None,
                compose_type: Some("test".into()),
                target_dir: None,
                scratch_modules: None,
                parent_pungi_compose_ids: None,
                scratch_build_tasks: None,
                modules: None,
                respin_of: None,
                base_module_br_name: None,
                base_module_br_stream: None,
                base_module_br_stream_version_lte: None,
                base_module_br_stream_version_gte: None,
                pungi_config_dump: None,
                traceparent: None,
            };
            q::insert(c, &row, &settings.composes)?;
        }
        Ok(())
    })
    .unwrap();
    // Steady state: PostgreSQL's autovacuum runs after 1,000 inserts (and within its one-minute
    // nap); the benchmark does it now, so plans use fresh statistics and index-only scans see a
    // current visibility map, as on a server that has been up for a minute.
    if let composed::db::AnyConnection::Postgresql(pg) = &mut *conn {
        diesel::sql_query("VACUUM ANALYZE composes")
            .execute(pg)
            .unwrap();
    }
}
