//! The outbox relay: publishes every state-change message written in the outbox as a fedmsg
//! envelope (2 frames, `[topic, json]`) on a ZeroMQ PUB socket that composed **binds**
//! (a connecting PUB of the zeromq crate never reconnects). Rows are marked sent after the
//! send; while nobody listens the messages are still marked (fedmsg is fire and forget).
//! Message ids are stable: the outbox row's `message_id`.
//!
//! Submodules: [`amqp`] (the same messages as fedora-messaging, and the AMQP listener),
//! [`inbound`] (parsing and classification of received messages), [`zmq_listen`] (fedmsg
//! SUB sockets), [`triggers`] (rules, coalescing, de-duplication, cron), [`counters`]
//! (listener metrics), [`settings`] (`[triggers]`).

#[cfg(feature = "amqp")]
pub mod amqp;
pub mod backoff;
pub mod counters;
pub mod inbound;
pub mod settings;
pub mod topic;
pub mod triggers;
pub mod zmq_listen;

pub use backoff::Backoff;
pub use topic::fedmsg_topic;

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use serde_json::{Value, json};
use zeromq::{PubSocket, Socket, SocketSend, ZmqMessage};

use crate::config::Settings;
use crate::db::DbPool;
use crate::db::composes as q;
use crate::db::schema::outbox;

/// The fedmsg envelope (sorted keys, compact, ASCII-only as fedmsg writes it).
pub fn fedmsg_envelope(topic: &str, msg_id: &str, i: u64, timestamp: i64, body: &Value) -> String {
    let year = chrono::Utc::now().format("%Y");
    let env = json!({"i": i, "msg": body, "msg_id": format!("{year}-{msg_id}"), "timestamp": timestamp, "topic": topic, "username": "composed"});
    // serde_json maps are sorted here (no preserve_order on this value's construction order
    // matters only for keys, which `json!` inserts in order; sort explicitly).
    let sorted = sort(&env);
    let text = serde_json::to_string(&sorted).expect("json");
    text.chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                c.encode_utf16(&mut [0; 2])
                    .iter()
                    .map(|u| format!("\\u{u:04x}"))
                    .collect()
            }
        })
        .collect()
}

fn sort(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let b: std::collections::BTreeMap<String, Value> =
                m.iter().map(|(k, v)| (k.clone(), sort(v))).collect();
            Value::Object(b.into_iter().collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
        o => o.clone(),
    }
}

/// Runs the relay until the process ends.
pub async fn run_forever(pool: DbPool, settings: Arc<Settings>) {
    let endpoint = settings.messaging.fedmsg_publish_endpoint.clone();
    if endpoint.is_empty() {
        return;
    }
    let mut socket = PubSocket::new();
    if let Err(e) = socket.bind(&endpoint).await {
        tracing::error!(%endpoint, error = %e, "cannot bind the fedmsg PUB socket; state changes are not published");
        return;
    }
    tracing::info!(%endpoint, "publishing state changes (fedmsg)");
    let topic = fedmsg_topic(&settings);
    let mut counter: u64 = 0;
    loop {
        let p = pool.clone();
        let pending = tokio::task::spawn_blocking(move || {
            let mut c = p.get().map_err(|e| e.to_string())?;
            q::pending_messages(&mut c, 200).map_err(|e| e.to_string())
        })
        .await;
        let pending = match pending {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "outbox read failed");
                vec![]
            }
            Err(e) => {
                tracing::error!(error = %e, "outbox task panicked");
                vec![]
            }
        };
        let mut sent = Vec::new();
        for m in &pending {
            counter += 1;
            let body: Value = serde_json::from_str(&m.body).unwrap_or(Value::Null);
            let envelope = fedmsg_envelope(
                &topic,
                &m.message_id,
                counter,
                m.created_at.and_utc().timestamp(),
                &body,
            );
            let mut msg = ZmqMessage::from(topic.clone());
            msg.push_back(envelope.into_bytes().into());
            match socket.send(msg).await {
                Ok(()) => sent.push(m.id),
                Err(e) => {
                    tracing::warn!(error = %e, "fedmsg send failed; will retry");
                    break;
                }
            }
        }
        if !sent.is_empty() {
            let p = pool.clone();
            let now = crate::db::now();
            let _ = tokio::task::spawn_blocking(move || -> Result<(), String> {
                let mut c = p.get().map_err(|e| e.to_string())?;
                diesel::update(outbox::table.filter(outbox::id.eq_any(&sent)))
                    .set(outbox::sent_at.eq(now))
                    .execute(&mut *c)
                    .map_err(|e| e.to_string())?;
                Ok(())
            })
            .await;
        }
        if pending.len() < 200 {
            tokio::time::sleep(Duration::from_millis(
                settings.messaging.relay_interval_ms.max(10),
            ))
            .await;
        }
    }
}

/// Starts the bus work beyond the fedmsg relay: the AMQP relay (when `messaging.amqp_url` is
/// set) and, when rules are configured, the listeners, the trigger engine and its schedules.
pub fn spawn_events(pool: DbPool, settings: Arc<Settings>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    #[cfg(feature = "amqp")]
    if !settings.messaging.amqp_url.is_empty() {
        let (p, s) = (pool.clone(), settings.clone());
        tasks.push(tokio::spawn(async move {
            // One relay publishes at a time across processes (PostgreSQL advisory lock).
            let settings = s.clone();
            crate::leader::run_as_leader(&settings, crate::leader::AMQP_RELAY, "AMQP relay", || {
                amqp::run_publisher(p.clone(), s.clone())
            })
            .await
        }));
    }
    #[cfg(not(feature = "amqp"))]
    if !settings.messaging.amqp_url.is_empty() {
        tracing::warn!("messaging.amqp_url is set but composed was built without the amqp feature");
    }
    tasks.extend(triggers::spawn(pool, settings));
    tasks
}
