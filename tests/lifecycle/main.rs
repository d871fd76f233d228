//! Lifecycle area: the database job queue with many real worker processes on PostgreSQL
//! (exactly-once generation, SIGKILL takeover, PostgreSQL restart), cancellation of a
//! generating compose, reuse of a generating compose, queues, scheduled cleanup and expiry.

#[path = "../api/support.rs"]
#[allow(dead_code)]
mod support;

#[path = "../common/rpms.rs"]
#[allow(dead_code)]
mod rpms;

mod cluster;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use cluster::{Cluster, PrivatePg};
use diesel::prelude::*;
use serde_json::{Value, json};
use support::{Db, TestApp, spawn_app_full};

/// Temporary directories of generations under `base`.
fn tmp_dirs(base: &Path) -> Vec<String> {
    std::fs::read_dir(base)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".odcs-") && n.contains(".tmp-"))
                .collect()
        })
        .unwrap_or_default()
}

/// (compose id → state names in outbox order) from the outbox of `url`'s database.
fn outbox_by_compose(url: &str) -> BTreeMap<i64, Vec<String>> {
    use composed::db::schema::outbox;
    let mut c = diesel::PgConnection::establish(url).unwrap();
    let bodies: Vec<String> = outbox::table
        .order(outbox::id.asc())
        .select(outbox::body)
        .load(&mut c)
        .unwrap();
    let mut out: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for b in bodies {
        let v: Value = serde_json::from_str(&b).unwrap();
        out.entry(v["compose"]["id"].as_i64().unwrap())
            .or_default()
            .push(v["compose"]["state_name"].as_str().unwrap().to_string());
    }
    out
}

/// (compose id → attempts) of the generate jobs.
fn job_attempts(url: &str) -> BTreeMap<i64, (String, i32)> {
    use composed::db::schema::jobs;
    let mut c = diesel::PgConnection::establish(url).unwrap();
    jobs::table
        .filter(jobs::kind.eq("generate"))
        .select((jobs::compose_id, jobs::state, jobs::attempts))
        .load::<(Option<i64>, String, i32)>(&mut c)
        .unwrap()
        .into_iter()
        .map(|(id, st, a)| (id.unwrap(), (st, a)))
        .collect()
}

/// compose id → how many times a worker logged it done, over the given workers' logs.
fn done_counts(cluster: &Cluster, workers: &[&str]) -> (BTreeMap<i64, usize>, Vec<usize>) {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    let mut per_worker = Vec::new();
    for w in workers {
        let recs = cluster.records(w, "compose done");
        per_worker.push(recs.len());
        for r in recs {
            *counts
                .entry(r["fields"]["compose"].as_i64().unwrap())
                .or_default() += 1;
        }
    }
    (counts, per_worker)
}

struct PgDb {
    admin: String,
    name: String,
    url: String,
}

impl PgDb {
    fn create(admin: &str) -> Self {
        let (name, url) = support::create_pg_database(admin);
        Self {
            admin: admin.into(),
            name,
            url,
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Ok(mut c) = diesel::PgConnection::establish(&self.admin) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut c);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_api_three_workers_generate_200_composes_exactly_once() {
    let Some(admin) = support::postgres_admin_url() else {
        return;
    };
    let db = PgDb::create(&admin);
    let repo = tempfile::tempdir().unwrap();
    rpms::write_many(repo.path(), "pkg", 4);
    let mut cluster = Cluster::new(db.url.clone(), &[("COMPOSED__ENGINE__LEASE_SECS", "60")]);
    cluster.migrate();
    cluster.start("api", &["api"]);
    for w in ["w1", "w2", "w3"] {
        cluster.start(w, &["worker"]);
    }
    cluster.wait_ready().await;
    let source = repo.path().to_string_lossy().into_owned();
    let posts = (0..200).map(|i| {
        let body = json!({"source": {"type": "repo", "source": source, "packages": [format!("pkg-{}", i % 4)]}, "flags": ["no_reuse"]});
        let cluster = &cluster;
        async move { cluster.post(&body).await }
    });
    let results = futures_util::future::join_all(posts).await;
    let ids: Vec<i64> = results
        .iter()
        .map(|r| r.as_ref().expect("POST accepted")["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 200);
    let states = cluster.wait_final(&ids, Duration::from_secs(240)).await;
    let not_done: Vec<_> = states.iter().filter(|(_, s)| *s != "done").collect();
    assert!(not_done.is_empty(), "not done: {not_done:?}");
    // Exactly once: each compose logged done by exactly one worker, claimed once, and its
    // state messages are exactly wait, generating, done.
    let (counts, per_worker) = done_counts(&cluster, &["w1", "w2", "w3"]);
    assert_eq!(counts.len(), 200, "{counts:?}");
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    assert!(
        per_worker.iter().all(|n| *n > 0),
        "every worker took part: {per_worker:?}"
    );
    for (id, (state, attempts)) in job_attempts(&db.url) {
        assert_eq!((state.as_str(), attempts), ("done", 1), "compose {id}");
    }
    for (id, states) in outbox_by_compose(&db.url) {
        assert_eq!(states, ["wait", "generating", "done"], "compose {id}");
    }
    for id in &ids {
        assert!(
            cluster
                .target_dir()
                .join(format!(
                    "odcs-{id}/compose/Temporary/x86_64/os/repodata/repomd.xml"
                ))
                .exists()
        );
    }
    assert!(tmp_dirs(&cluster.target_dir()).is_empty());
    for p in ["api", "w1", "w2", "w3"] {
        assert!(cluster.alive(p), "{p} died: {}", cluster.log(p));
    }
    eprintln!("composes done per worker: {per_worker:?}");
}

/// A cluster on a fresh PostgreSQL database (3 s leases) with an API process and one worker
/// `worker` that is generating a repo compose of `n` RPMs (its temporary tree exists, its
/// `odcs-N` not yet): the database (kept alive), the cluster, the compose id, `target_dir`.
async fn busy_worker(worker: &str, n: usize) -> Option<(PgDb, Cluster, i64, PathBuf)> {
    let admin = support::postgres_admin_url()?;
    let db = PgDb::create(&admin);
    let repo = rpms::cached_many("big", n);
    let mut cluster = Cluster::new(db.url.clone(), &[("COMPOSED__ENGINE__LEASE_SECS", "3")]);
    cluster.migrate();
    cluster.start("api", &["api"]);
    cluster.start(worker, &["worker"]);
    cluster.wait_ready().await;
    let c = cluster
        .post(&json!({"source": {"type": "repo", "source": repo.to_string_lossy()}}))
        .await
        .unwrap();
    let id = c["id"].as_i64().unwrap();
    let base = cluster.target_dir();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while tmp_dirs(&base).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no generation started: {}",
            cluster.log(worker)
        );
        assert!(
            !base.join(format!("odcs-{id}")).exists(),
            "the generation finished before it could be stopped; make the repo bigger"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    Some((db, cluster, id, base))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_workers_compose_is_finished_by_another_worker() {
    let n = 3000;
    let Some((db, mut cluster, id, base)) = busy_worker("w1", n).await else {
        return;
    };
    cluster.kill("w1");
    let left = tmp_dirs(&base);
    assert_eq!(left.len(), 1, "a partial tree is left: {left:?}");
    assert!(
        !base.join(format!("odcs-{id}")).exists(),
        "no odcs-N for a killed generation"
    );
    assert_eq!(cluster.get(id).await["state_name"], "generating");
    // Another worker takes the job over once the lease has expired.
    cluster.start("w2", &["worker"]);
    let states = cluster.wait_final(&[id], Duration::from_secs(120)).await;
    assert_eq!(states[&id], "done", "{}", cluster.log("w2"));
    assert!(
        tmp_dirs(&base).is_empty(),
        "leftover temporary directories are cleaned"
    );
    // Cleaned by w2: at its start (a dead process of this host) or when it took the job over.
    assert_eq!(
        cluster
            .records("w2", "cleaned a previous attempt's temporary directories")
            .len()
            + cluster
                .records("w2", "removed temporary directories of dead processes")
                .len(),
        1,
        "{}",
        cluster.log("w2")
    );
    let rpms_json: Value = serde_json::from_slice(
        &std::fs::read(base.join(format!("odcs-{id}/compose/metadata/rpms.json"))).unwrap(),
    )
    .unwrap();
    let listed: usize = rpms_json["payload"]["rpms"]["Temporary"]["x86_64"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_object().unwrap().len())
        .sum();
    assert_eq!(listed, n, "the done compose is whole");
    let packages =
        std::fs::read_dir(base.join(format!("odcs-{id}/compose/Temporary/x86_64/os/Packages/b")))
            .unwrap()
            .count();
    assert_eq!(packages, n);
    assert_eq!(job_attempts(&db.url)[&id], ("done".to_string(), 2));
    assert_eq!(
        outbox_by_compose(&db.url)[&id],
        ["wait", "generating", "done"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_under_load_loses_nothing_and_generates_nothing_twice() {
    let Some(pg) = PrivatePg::start() else {
        return;
    };
    {
        let mut c = diesel::PgConnection::establish(&pg.url("postgres")).unwrap();
        diesel::sql_query("CREATE DATABASE composed")
            .execute(&mut c)
            .unwrap();
    }
    let url = pg.url("composed");
    let repo = tempfile::tempdir().unwrap();
    rpms::write_many(repo.path(), "pkg", 50);
    let mut cluster = Cluster::new(
        url.clone(),
        &[
            ("COMPOSED__ENGINE__LEASE_SECS", "20"),
            ("COMPOSED__DATABASE__CONNECT_TIMEOUT_SECS", "2"),
        ],
    );
    cluster.migrate();
    cluster.start("api", &["api"]);
    cluster.start("w1", &["worker"]);
    cluster.start("w2", &["worker"]);
    cluster.wait_ready().await;
    let source = repo.path().to_string_lossy().into_owned();
    // Four clients POST 40 composes each while PostgreSQL restarts in the middle.
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let submitter = |k: usize| {
        let (cluster, source, sent) = (&cluster, source.clone(), sent.clone());
        async move {
            let mut accepted = vec![];
            let mut refused = vec![];
            for j in 0..40 {
                let i = k * 40 + j;
                let body = json!({"source": {"type": "repo", "source": source, "packages": [format!("pkg-{}", i % 50)]}, "flags": ["no_reuse"]});
                match cluster.post(&body).await {
                    Ok(c) => accepted.push(c["id"].as_i64().unwrap()),
                    Err((status, text)) => {
                        // Refused clearly: an error envelope, never a dropped connection.
                        assert!(status == 500 || status == 503, "{status}: {text}");
                        let v: Value = serde_json::from_str(&text).unwrap();
                        assert_eq!(v["status"], status, "{v}");
                        refused.push(i);
                    }
                }
                sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (accepted, refused)
        }
    };
    let restarter = async {
        while sent.load(std::sync::atomic::Ordering::SeqCst) < 50 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let t = std::time::Instant::now();
        let pg = &pg;
        tokio::task::block_in_place(|| pg.restart());
        eprintln!("PostgreSQL restarted in {:?}", t.elapsed());
        true
    };
    let (results, restarted) = tokio::join!(
        futures_util::future::join_all((0..4).map(submitter)),
        restarter
    );
    let accepted: Vec<i64> = results.iter().flat_map(|r| r.0.clone()).collect();
    let refused: Vec<usize> = results.iter().flat_map(|r| r.1.clone()).collect();
    assert!(restarted);
    assert!(accepted.len() >= 120, "accepted {} of 160", accepted.len());
    let states = cluster
        .wait_final(&accepted, Duration::from_secs(240))
        .await;
    let not_done: Vec<_> = states.iter().filter(|(_, s)| *s != "done").collect();
    assert!(
        not_done.is_empty(),
        "not done: {not_done:?}\n{}",
        cluster.log("w1")
    );
    let (counts, per_worker) = done_counts(&cluster, &["w1", "w2"]);
    for id in &accepted {
        assert_eq!(
            counts.get(id),
            Some(&1),
            "compose {id} generated once: {counts:?}"
        );
    }
    let outbox = outbox_by_compose(&url);
    for id in &accepted {
        assert_eq!(outbox[id], ["wait", "generating", "done"], "compose {id}");
    }
    // Nothing stored that the client was told failed, nothing lost that it was told stored.
    let stored: BTreeSet<i64> = outbox.keys().copied().collect();
    assert_eq!(stored, accepted.iter().copied().collect::<BTreeSet<_>>());
    for p in ["api", "w1", "w2"] {
        assert!(cluster.alive(p), "{p} died: {}", cluster.log(p));
    }
    eprintln!(
        "accepted {}, refused during the restart {refused:?}, done per worker {per_worker:?}",
        accepted.len()
    );
}

async fn wait_for(app: &TestApp, id: i64, what: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..2400 {
        let c = app.get(&format!("/api/1/composes/{id}")).await.json();
        if what(&c) {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("compose {id} never reached the expected state");
}

/// The engine records `Compose is generating` once it runs.
fn engine_runs(c: &Value) -> bool {
    c["state_name"] == "generating" && c["state_reason"] == "Compose is generating"
}

macro_rules! both {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body(super::Db::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$body(super::Db::Postgres).await
            }
        }
    };
}

both!(delete_stops_a_generating_compose, delete_generating);
async fn delete_generating(db: Db) {
    let repo = rpms::cached_many("big", 3000);
    let Some(app) = spawn_app_full(db, |s| s.engine.lease_secs = 3, true).await else {
        return;
    };
    let id = app
        .create(&json!({"source": {"type": "repo", "source": repo.to_string_lossy()}}))
        .await["id"]
        .as_i64()
        .unwrap();
    wait_for(&app, id, engine_runs).await;
    let r = app.delete(id).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(
        r.json()["message"],
        format!("Compose (id={id}) has been canceled")
    );
    let c = app.get(&format!("/api/1/composes/{id}")).await.json();
    assert_eq!(
        (c["state_name"].as_str(), c["state_reason"].as_str()),
        (Some("failed"), Some("Canceled by anonymous"))
    );
    // The worker notices at its next heartbeat, stops the engine and removes its tree.
    let base = app.settings.composes.target_dir.clone();
    let job_state = || {
        let pool = app.pool.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                use composed::db::schema::jobs;
                jobs::table
                    .filter(jobs::compose_id.eq(id))
                    .select((jobs::state, jobs::lease_owner))
                    .first::<(String, Option<String>)>(&mut pool.get().unwrap())
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    assert_eq!(job_state().await, ("cancelled".to_string(), None));
    // The engine stops at its next check after the heartbeat saw the cancellation (≤ 1 s) and
    // removes its temporary tree; it never renames a tree into place.
    let no_tmp = || async {
        for _ in 0..800 {
            if tmp_dirs(&base).is_empty() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        false
    };
    assert!(no_tmp().await, "the canceled generation's tree is removed");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(no_tmp().await, "the canceled generation's tree is removed");
    assert!(!base.join(format!("odcs-{id}")).exists());
    let c = app.get(&format!("/api/1/composes/{id}")).await.json();
    assert_eq!(c["state_name"], "failed");
    // DELETE of a failed compose is now a removal request (admin under noauth).
    assert_eq!(app.delete(id).await.status, 202);
}

both!(a_compose_reuses_a_generating_one, reuse_generating);
async fn reuse_generating(db: Db) {
    let repo = rpms::cached_many("big", 3000);
    let Some(app) = spawn_app_full(db, |_| {}, true).await else {
        return;
    };
    // A second worker, idle while the first generates.
    let w = tokio::spawn(composed::worker::run_forever(
        app.pool.clone(),
        std::sync::Arc::new(app.settings.clone()),
    ));
    let body = json!({"source": {"type": "repo", "source": repo.to_string_lossy()}});
    let first = app.create(&body).await["id"].as_i64().unwrap();
    wait_for(&app, first, engine_runs).await;
    let second = app.create(&body).await["id"].as_i64().unwrap();
    // The second compose follows the first and ends done with its data.
    let c2 = wait_for(&app, second, |c| {
        c["state_name"] != "wait" && c["state_name"] != "generating"
    })
    .await;
    let c1 = app.get(&format!("/api/1/composes/{first}")).await.json();
    assert_eq!(
        (c1["state_name"].as_str(), c2["state_name"].as_str()),
        (Some("done"), Some("done")),
        "{c2}"
    );
    assert_eq!(app.compose(second).await.reused_id, Some(first));
    assert!(
        c2["result_repo"]
            .as_str()
            .unwrap()
            .contains(&format!("odcs-{first}/")),
        "{c2}"
    );
    assert_eq!(c1["time_to_expire"], c2["time_to_expire"]);
    assert!(
        !app.settings
            .composes
            .target_dir
            .join(format!("odcs-{second}"))
            .exists()
    );
    // It was taken while the first still generated (not after it was done).
    let pool = app.pool.clone();
    let note = tokio::task::spawn_blocking(move || {
        use composed::db::schema::jobs;
        jobs::table
            .filter(jobs::compose_id.eq(second))
            .select(jobs::last_error)
            .first::<Option<String>>(&mut pool.get().unwrap())
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(note.as_deref(), Some("reuses a generating compose"));
    w.abort();
}

both!(
    expiry_removes_data_only_when_no_live_compose_uses_it,
    expiry
);
async fn expiry(db: Db) {
    let repo = tempfile::tempdir().unwrap();
    rpms::write_many(repo.path(), "pkg", 3);
    let Some(app) = spawn_app_full(
        db,
        |s| s.worker.cleanup_schedule = "* * * * * *".into(),
        true,
    )
    .await
    else {
        return;
    };
    let source = repo.path().to_string_lossy().into_owned();
    // A short-lived compose expires: state removed, directory gone.
    let short = app
        .create(&json!({"source": {"type": "repo", "source": source, "packages": ["pkg-0"]}, "seconds_to_live": 2}))
        .await["id"]
        .as_i64()
        .unwrap();
    let base = app.settings.composes.target_dir.clone();
    wait_for(&app, short, |c| c["state_name"] == "done").await;
    assert!(base.join(format!("odcs-{short}")).is_dir());
    let c = wait_for(&app, short, |c| c["state_name"] == "removed").await;
    assert_eq!(
        c["state_reason"],
        "Compose is generated successfully\nCompose is expired."
    );
    assert!(c["time_removed"].is_string());
    // The directory goes right after the transaction that removed the compose.
    let gone = |p: std::path::PathBuf| async move {
        for _ in 0..400 {
            if !p.exists() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        false
    };
    assert!(
        gone(base.join(format!("odcs-{short}"))).await,
        "directory gone"
    );
    // A reused compose removed early keeps its data while the compose reusing it lives.
    let body = json!({"source": {"type": "repo", "source": source, "packages": ["pkg-1"]}, "seconds_to_live": 3600});
    let a = app.create(&body).await["id"].as_i64().unwrap();
    wait_for(&app, a, |c| c["state_name"] == "done").await;
    let b = app.create(&body).await["id"].as_i64().unwrap();
    wait_for(&app, b, |c| c["state_name"] == "done").await;
    assert_eq!(app.compose(b).await.reused_id, Some(a));
    assert_eq!(app.delete(a).await.status, 202);
    wait_for(&app, a, |c| c["state_name"] == "removed").await;
    assert!(
        base.join(format!("odcs-{a}")).is_dir(),
        "b still uses a's data"
    );
    assert_eq!(
        app.get(&format!("/api/1/composes/{b}")).await.json()["state_name"],
        "done"
    );
    // Once b goes too, the data goes.
    assert_eq!(app.delete(b).await.status, 202);
    wait_for(&app, b, |c| c["state_name"] == "removed").await;
    assert!(
        gone(base.join(format!("odcs-{a}"))).await,
        "no live compose uses it any more"
    );
}

both!(workers_claim_only_their_queues, queues);
async fn queues(db: Db) {
    let repo = tempfile::tempdir().unwrap();
    rpms::write_many(repo.path(), "pkg", 2);
    // This process's worker only serves the `build` queue.
    let Some(app) = spawn_app_full(
        db,
        |s| {
            s.worker.queues = vec!["build".into()];
            s.composes.arch_queues = vec!["aarch64".into()];
        },
        true,
    )
    .await
    else {
        return;
    };
    let source = repo.path().to_string_lossy().into_owned();
    let id = app
        .create(&json!({"source": {"type": "repo", "source": source}}))
        .await["id"]
        .as_i64()
        .unwrap();
    let arm = app
        .create(&json!({"source": {"type": "repo", "source": source}, "arches": ["aarch64"], "flags": ["no_reuse"]}))
        .await["id"]
        .as_i64()
        .unwrap();
    let queue_of = |cid: i64| {
        let pool = app.pool.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                use composed::db::schema::jobs;
                jobs::table
                    .filter(jobs::compose_id.eq(cid))
                    .select((jobs::queue, jobs::state))
                    .first::<(String, String)>(&mut pool.get().unwrap())
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    assert_eq!(queue_of(arm).await.0, "arch-aarch64");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        queue_of(id).await,
        ("repo".to_string(), "queued".to_string())
    );
    assert_eq!(
        app.get(&format!("/api/1/composes/{id}")).await.json()["state_name"],
        "wait"
    );
    // A worker of the `repo` queue takes it; the arch queue still waits for its worker.
    let mut settings = app.settings.clone();
    settings.worker.queues = vec!["repo".into()];
    let w = tokio::spawn(composed::worker::run_forever(
        app.pool.clone(),
        std::sync::Arc::new(settings.clone()),
    ));
    wait_for(&app, id, |c| c["state_name"] == "done").await;
    assert_eq!(queue_of(arm).await.1, "queued");
    settings.worker.queues = vec!["arch-aarch64".into()];
    let w2 = tokio::spawn(composed::worker::run_forever(
        app.pool.clone(),
        std::sync::Arc::new(settings),
    ));
    wait_for(&app, arm, |c| c["state_name"] == "done").await;
    w.abort();
    w2.abort();
}

both!(a_schedule_slot_enqueues_one_cleanup_job, schedule_dedup);
async fn schedule_dedup(db: Db) {
    let Some(app) = spawn_app_full(db, |_| {}, false).await else {
        return;
    };
    let at = composed::db::now();
    let (p1, p2) = (app.pool.clone(), app.pool.clone());
    let (a, b) = tokio::join!(
        tokio::task::spawn_blocking(move || composed::schedule::enqueue_cleanup(&p1, at)),
        tokio::task::spawn_blocking(move || composed::schedule::enqueue_cleanup(&p2, at)),
    );
    let (a, b) = (a.unwrap().unwrap(), b.unwrap().unwrap());
    assert!(a ^ b, "exactly one process enqueues the slot ({a}, {b})");
    let earlier = at - chrono::Duration::seconds(60);
    let p = app.pool.clone();
    assert!(
        tokio::task::spawn_blocking(move || composed::schedule::enqueue_cleanup(&p, earlier))
            .await
            .unwrap()
            .unwrap()
    );
    // A worker runs them.
    let w = tokio::spawn(composed::worker::run_forever(
        app.pool.clone(),
        std::sync::Arc::new(app.settings.clone()),
    ));
    let pool = app.pool.clone();
    let mut states = vec![];
    for _ in 0..200 {
        let p = pool.clone();
        states = tokio::task::spawn_blocking(move || {
            use composed::db::schema::jobs;
            jobs::table
                .filter(jobs::kind.eq("cleanup"))
                .select(jobs::state)
                .load::<String>(&mut p.get().unwrap())
                .unwrap()
        })
        .await
        .unwrap();
        if states.iter().all(|s| s == "done") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    w.abort();
    assert_eq!(states, ["done", "done"]);
}

/// Issue 18, defect 3: DELETE (cancel) and the worker's start and result paths touch a
/// compose's row and its job in one transaction each; with opposite lock orders PostgreSQL
/// answered some DELETEs 500 `deadlock detected`. 500 composes, each deleted while the worker
/// takes it, starts it or records it: no DELETE may answer 5xx, and every compose ends final.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_racing_the_worker_never_deadlocks_on_postgres() {
    let repo = tempfile::tempdir().unwrap();
    rpms::write_many(repo.path(), "pkg", 2);
    let Some(app) = spawn_app_full(Db::Postgres, |s| s.engine.poll_interval_ms = 5, true).await
    else {
        return;
    };
    let source = repo.path().to_string_lossy().into_owned();
    let statuses = std::sync::Mutex::new(std::collections::BTreeMap::<u16, usize>::new());
    let ids = std::sync::Mutex::new(Vec::new());
    let lanes = (0..8u64).map(|lane| {
        let (app, source, statuses, ids) = (&app, &source, &statuses, &ids);
        async move {
            for n in (lane..500).step_by(8) {
                let body =
                    json!({"source": {"type": "repo", "source": source}, "flags": ["no_reuse"]});
                let id = app.create(&body).await["id"].as_i64().unwrap();
                // 0–9 ms: before the claim, during start, during generation or at the result.
                tokio::time::sleep(Duration::from_millis(n * 7 % 10)).await;
                let r = app.delete(id).await;
                assert!(r.status < 500, "DELETE {id}: {} {}", r.status, r.text);
                *statuses.lock().unwrap().entry(r.status).or_default() += 1;
                ids.lock().unwrap().push(id);
            }
        }
    });
    futures_util::future::join_all(lanes).await;
    let ids = ids.into_inner().unwrap();
    assert_eq!(ids.len(), 500);
    for id in &ids {
        let c = wait_for(&app, *id, |c| {
            matches!(c["state_name"].as_str(), Some("done" | "failed"))
        })
        .await;
        assert!(c["state_name"].is_string());
    }
    eprintln!("DELETE answers: {:?}", statuses.into_inner().unwrap());
}

/// Issue 18, defect 1: SIGTERM ends a busy process within a bounded time (the HTTP grace plus
/// the exit), even while its engine runs in blocking threads; the job in flight is taken over
/// later by another worker, as after a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_a_busy_serve_process_and_its_job_is_taken_over() {
    let Some((_db, mut cluster, id, base)) = busy_worker("busy", 3000).await else {
        return;
    };
    let ended = cluster.terminate(
        "busy",
        composed::app::SHUTDOWN_GRACE + Duration::from_secs(5),
    );
    let (status, took) = ended.unwrap_or_else(|| {
        panic!(
            "the worker did not end after SIGTERM: {}",
            cluster.log("busy")
        )
    });
    assert!(status.success(), "{status}: {}", cluster.log("busy"));
    assert_eq!(
        cluster
            .records(
                "busy",
                "stopping: no new requests or jobs; a job in flight is left to its lease"
            )
            .len(),
        1,
        "{}",
        cluster.log("busy")
    );
    eprintln!("SIGTERM → exit in {took:?}");
    cluster.start("w2", &["worker"]);
    let states = cluster.wait_final(&[id], Duration::from_secs(120)).await;
    assert_eq!(states[&id], "done", "{}", cluster.log("w2"));
    assert!(tmp_dirs(&base).is_empty(), "leftovers cleaned");
    // The API process stops the same way.
    let (status, _) = cluster
        .terminate(
            "api",
            composed::app::SHUTDOWN_GRACE + Duration::from_secs(5),
        )
        .expect("the API process ends after SIGTERM");
    assert!(status.success());
}

/// Posters hammer `composed api` with POSTs; the process is SIGKILLed under that load and
/// started again: every compose whose POST was answered 200 exists (issue 19: nothing
/// acknowledged is lost; SQLite's WAL with `synchronous = NORMAL` survives a process crash,
/// PostgreSQL commits before answering).
async fn sigkill_loses_no_acknowledged_post(db_url: String) {
    let repo = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::new(db_url, &[]);
    cluster.migrate();
    cluster.start("api", &["api"]);
    cluster.wait_ready().await;
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
    let source = repo.path().to_string_lossy().into_owned();
    let (base, client) = (cluster.base.clone(), cluster.client.clone());
    let posters: Vec<_> = (0..16)
        .map(|_| {
            let (acked, base, client, source) =
                (acked.clone(), base.clone(), client.clone(), source.clone());
            tokio::spawn(async move {
                let body = json!({"source": {"type": "repo", "source": source}});
                loop {
                    let r = client
                        .post(format!("{base}/api/1/composes/"))
                        .json(&body)
                        .send()
                        .await;
                    let Ok(r) = r else { break }; // the process is gone
                    if r.status() != 200 {
                        continue;
                    }
                    let Ok(j) = r.json::<Value>().await else {
                        break;
                    };
                    acked.lock().unwrap().push(j["id"].as_i64().unwrap());
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster.kill("api");
    for p in posters {
        p.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 50,
        "the load was real: {} POSTs answered",
        acked.len()
    );
    cluster.start("api", &["api"]);
    cluster.wait_ready().await;
    let mut lost = vec![];
    for id in &acked {
        let r = client
            .get(format!("{base}/api/1/composes/{id}"))
            .send()
            .await
            .unwrap();
        if r.status() != 200 {
            lost.push(*id);
        }
    }
    assert!(
        lost.is_empty(),
        "acknowledged but lost: {lost:?} of {}",
        acked.len()
    );
    eprintln!(
        "{} acknowledged POSTs, all there after SIGKILL",
        acked.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_posts_loses_no_acknowledged_compose_on_sqlite() {
    let db = tempfile::tempdir().unwrap();
    sigkill_loses_no_acknowledged_post(format!(
        "sqlite://{}",
        db.path().join("composed.sqlite").display()
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_posts_loses_no_acknowledged_compose_on_postgres() {
    let Some(admin) = support::postgres_admin_url() else {
        return;
    };
    let db = PgDb::create(&admin);
    sigkill_loses_no_acknowledged_post(db.url.clone()).await;
}

/// The events stream of a compose, read from an API process while a worker process on the
/// same PostgreSQL generates it (issue 16): wait → generating → every phase's start and end
/// in order → done, then the stream ends. The worker starts only once the stream has sent
/// `wait`, so the whole life of the compose is seen. Also the phase-duration histograms in
/// the API process's metrics, recorded by the worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_stream_follows_a_compose_generated_by_another_process() {
    let Some(admin) = support::postgres_admin_url() else {
        return;
    };
    let db = PgDb::create(&admin);
    let repo = rpms::cached_many("events", 300);
    let mut cluster = Cluster::new(db.url.clone(), &[]);
    cluster.migrate();
    cluster.start("api", &["api"]);
    cluster.wait_ready().await;
    let c = cluster
        .post(&json!({"source": {"type": "repo", "source": repo.to_string_lossy()}}))
        .await
        .expect("POST accepted");
    let id = c["id"].as_i64().unwrap();
    let mut resp = cluster
        .client
        .get(format!("{}/api/1/composes/{id}/events", cluster.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut text = String::new();
    let mut worker_started = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .unwrap_or_else(|_| panic!("the stream did not end: {text}"))
            .unwrap();
        let Some(chunk) = chunk else { break };
        text.push_str(&String::from_utf8_lossy(&chunk));
        if !worker_started && text.contains("event: state") {
            cluster.start("w1", &["worker"]);
            worker_started = true;
        }
    }
    // (event, data) in order.
    let events: Vec<(String, Value)> = text
        .split("\n\n")
        .filter_map(|block| {
            let kind = block.lines().find_map(|l| l.strip_prefix("event: "))?;
            let data = block.lines().find_map(|l| l.strip_prefix("data: "))?;
            let v = if kind == "log" {
                Value::String(data.to_string())
            } else {
                serde_json::from_str(data).unwrap()
            };
            Some((kind.to_string(), v))
        })
        .collect();
    let states: Vec<&str> = events
        .iter()
        .filter(|(k, _)| k == "state")
        .map(|(_, v)| v["state_name"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["wait", "generating", "done"], "{text}");
    let pos = |name: &str| {
        events
            .iter()
            .position(|(k, v)| k == "state" && v["state_name"] == name)
            .unwrap()
    };
    let phases: Vec<(usize, String)> = events
        .iter()
        .enumerate()
        .filter(|(_, (k, _))| k == "phase")
        .map(|(i, (_, v))| {
            (
                i,
                format!(
                    "{} {}",
                    v["phase"].as_str().unwrap(),
                    v["status"].as_str().unwrap()
                ),
            )
        })
        .collect();
    let names: Vec<&str> = phases.iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(
        names,
        [
            "pkgset start",
            "pkgset done",
            "gather start",
            "gather done",
            "tree start",
            "repodata start",
            "repodata done",
            "metadata start",
            "metadata done",
            "tree done",
            "publish start",
            "publish done"
        ],
        "{text}"
    );
    assert!(
        phases
            .iter()
            .all(|(i, _)| *i > pos("generating") && *i < pos("done")),
        "{text}"
    );
    let gathered = events
        .iter()
        .find(|(k, v)| k == "phase" && v["phase"] == "gather" && v["status"] == "done")
        .unwrap();
    assert_eq!(gathered.1["items"], 300, "{text}");
    // The metrics of the API process show the worker's phases.
    let metrics = cluster
        .client
        .get(format!("{}/api/1/metrics/", cluster.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for phase in [
        "pkgset", "gather", "tree", "repodata", "metadata", "publish",
    ] {
        assert!(
            metrics.contains(&format!(
                "composed_phase_duration_seconds_count{{phase=\"{phase}\"}} 1\n"
            )),
            "{phase}: {metrics}"
        );
    }
    assert!(
        metrics.contains("composed_phase_duration_seconds_bucket{phase=\"gather\",le=\"+Inf\"} 1"),
        "{metrics}"
    );
    // A reconnecting client (Last-Event-ID) gets the final state and only the lines after.
    let last_offset: u64 = text
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .filter_map(|v| v.parse().ok())
        .max()
        .unwrap();
    let again = cluster
        .client
        .get(format!("{}/api/1/composes/{id}/events", cluster.base))
        .header("Last-Event-ID", last_offset.to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(again.contains("\"state_name\":\"done\""), "{again}");
    assert!(!again.contains("[pkgset] start"), "{again}");
    let unknown = cluster
        .client
        .get(format!("{}/api/1/composes/99999/events", cluster.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

/// On PostgreSQL a queued job wakes the listening workers from its row's trigger: `LISTEN
/// composed_jobs` receives the job's queue for an insert, and nothing for an `enqueue_unique`
/// that inserted nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_job_notifies_its_queue_on_postgres() {
    let Some(app) = spawn_app_full(Db::Postgres, |_| {}, false).await else {
        return;
    };
    let url = app.settings.database.url.clone();
    let mut listener = composed::db::pg_listen(&url, composed::queue::CHANNEL).unwrap();
    let mut conn = app.pool.get().unwrap();
    let job = |key: Option<&str>| {
        composed::queue::new_job(
            composed::queue::KIND_CLEANUP,
            None,
            "notify-test",
            key.map(str::to_string),
            chrono::Utc::now().naive_utc(),
        )
    };
    composed::db::write_tx(&mut conn, |c| composed::queue::enqueue(c, &job(None))).unwrap();
    let inserted = composed::db::write_tx(&mut conn, |c| {
        composed::queue::enqueue_unique(c, &job(Some("notify-test-slot")))
    })
    .unwrap();
    assert!(inserted);
    let again = composed::db::write_tx(&mut conn, |c| {
        composed::queue::enqueue_unique(c, &job(Some("notify-test-slot")))
    })
    .unwrap();
    assert!(!again);
    // Two inserts, two notifications (PostgreSQL folds identical ones only within one
    // transaction); the skipped insert sends none.
    let mut got = Vec::new();
    let mut quiet = std::time::Instant::now();
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while got.len() < 2 && std::time::Instant::now() < until {
        got.extend(
            composed::db::pg_notified(&mut listener, &mut quiet, Duration::from_secs(60)).unwrap(),
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    got.extend(
        composed::db::pg_notified(&mut listener, &mut quiet, Duration::from_secs(60)).unwrap(),
    );
    assert_eq!(
        got,
        vec!["notify-test".to_string(), "notify-test".to_string()]
    );
}
