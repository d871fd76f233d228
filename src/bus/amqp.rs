//! fedora-messaging over AMQP 0-9-1 (lapin): the outbox relay publishes every state change
//! as fedora-messaging's `base.message` with publisher confirms, and the listener consumes a
//! durable queue of Koji/MBS events.
//!
//! At least once: a row gets `amqp_sent_at` only after the broker confirmed it; while the
//! broker is unreachable the backlog stays in the outbox and is published in id order when it
//! returns (a batch cut short by a failure is published again: consumers de-duplicate on the
//! message id, which is the outbox row's stable `message_id`).

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use futures_util::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use tokio::sync::mpsc;

use super::backoff::Backoff;
use super::counters::{Counters, MALFORMED};
use super::inbound::{Ack, Inbound, parse_amqp};
use crate::config::Settings;
use crate::db::DbPool;
use crate::db::models::OutboxMessage;
use crate::db::schema::outbox;

const BATCH: i64 = 200;
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(15);

/// The routing key of state changes.
pub fn routing_key(settings: &Settings) -> String {
    if settings.messaging.amqp_routing_key.is_empty() {
        super::topic::fedmsg_topic(settings)
    } else {
        settings.messaging.amqp_routing_key.clone()
    }
}

/// The properties fedora-messaging 3.x writes for a `base.message` (schema, severity INFO,
/// `sent-at`, priority 0), with the outbox row's id as message id.
pub fn properties(message_id: &str, sent_at: chrono::DateTime<chrono::Utc>) -> BasicProperties {
    let mut headers = FieldTable::default();
    let s = |v: &str| AMQPValue::LongString(LongString::from(v.as_bytes().to_vec()));
    headers.insert("fedora_messaging_schema".into(), s("base.message"));
    headers.insert(
        "fedora_messaging_schema_package".into(),
        s("fedora_messaging"),
    );
    headers.insert("fedora_messaging_severity".into(), AMQPValue::LongInt(20));
    headers.insert(
        "sent-at".into(),
        s(&sent_at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()),
    );
    headers.insert("priority".into(), AMQPValue::LongInt(0));
    BasicProperties::default()
        .with_content_type(ShortString::from("application/json"))
        .with_content_encoding(ShortString::from("utf-8"))
        .with_delivery_mode(2)
        .with_message_id(ShortString::from(message_id))
        .with_headers(headers)
}

fn connection_properties() -> ConnectionProperties {
    ConnectionProperties::default().with_connection_name(LongString::from("composed"))
}

async fn pending(pool: &DbPool) -> Result<Vec<OutboxMessage>, String> {
    let p = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = p.get().map_err(|e| e.to_string())?;
        outbox::table
            .filter(outbox::amqp_sent_at.is_null())
            .order(outbox::id.asc())
            .limit(BATCH)
            .select(OutboxMessage::as_select())
            .load(&mut c)
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

async fn mark_sent(pool: &DbPool, ids: Vec<i64>) -> Result<(), String> {
    let p = pool.clone();
    let now = crate::db::now();
    tokio::task::spawn_blocking(move || {
        let mut c = p.get().map_err(|e| e.to_string())?;
        diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
            .set(outbox::amqp_sent_at.eq(now))
            .execute(&mut c)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Publishes the outbox to the broker until the process ends, reconnecting with backoff.
pub async fn run_publisher(pool: DbPool, settings: Arc<Settings>) {
    let mut backoff = Backoff::new(settings.messaging.reconnect_max_ms);
    loop {
        match publish_session(&pool, &settings, &mut backoff).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, "AMQP publisher disconnected; the outbox keeps the backlog");
                backoff.wait().await;
            }
        }
    }
}

async fn publish_session(
    pool: &DbPool,
    settings: &Settings,
    backoff: &mut Backoff,
) -> Result<(), String> {
    let m = &settings.messaging;
    let conn = Connection::connect(&m.amqp_url, connection_properties())
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let channel = conn
        .create_channel()
        .await
        .map_err(|e| format!("channel: {e}"))?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|e| format!("confirm_select: {e}"))?;
    backoff.reset();
    tracing::info!(exchange = %m.amqp_exchange, "publishing state changes (fedora-messaging)");
    let key = routing_key(settings);
    loop {
        let batch = pending(pool).await?;
        let mut confirms = Vec::with_capacity(batch.len());
        for msg in &batch {
            let props = properties(&msg.message_id, chrono::Utc::now());
            let c = channel
                .basic_publish(
                    m.amqp_exchange.as_str().into(),
                    key.as_str().into(),
                    BasicPublishOptions::default(),
                    msg.body.as_bytes(),
                    props,
                )
                .await
                .map_err(|e| format!("publish: {e}"))?;
            confirms.push((msg.id, c));
        }
        // Confirms come back in publish order; stop at the first one missing so the rows
        // after it are published again (in order) by the next session.
        let mut confirmed = Vec::with_capacity(confirms.len());
        let mut failure = None;
        for (id, c) in confirms {
            match tokio::time::timeout(CONFIRM_TIMEOUT, c).await {
                Ok(Ok(conf)) if conf.is_ack() => confirmed.push(id),
                Ok(Ok(_)) => {
                    failure = Some("the broker nacked a message".to_string());
                    break;
                }
                Ok(Err(e)) => {
                    failure = Some(format!("confirm: {e}"));
                    break;
                }
                Err(_) => {
                    failure = Some("no publisher confirm in time".to_string());
                    break;
                }
            }
        }
        if !confirmed.is_empty() {
            mark_sent(pool, confirmed).await?;
        }
        if let Some(f) = failure {
            return Err(f);
        }
        if (batch.len() as i64) < BATCH {
            tokio::time::sleep(Duration::from_millis(m.relay_interval_ms.max(10))).await;
        }
    }
}

/// Consumes the trigger queue until the process ends, reconnecting with backoff.
pub async fn run_consumer(settings: Arc<Settings>, tx: mpsc::Sender<Inbound>, counters: Counters) {
    let mut backoff = Backoff::new(settings.messaging.reconnect_max_ms);
    loop {
        match consume_session(&settings, &tx, &counters, &mut backoff).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, "AMQP listener disconnected; reconnecting");
                backoff.wait().await;
            }
        }
    }
}

async fn consume_session(
    settings: &Settings,
    tx: &mpsc::Sender<Inbound>,
    counters: &Counters,
    backoff: &mut Backoff,
) -> Result<(), String> {
    let t = &settings.triggers;
    let m = &settings.messaging;
    let conn = Connection::connect(&m.amqp_url, connection_properties())
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let channel = conn
        .create_channel()
        .await
        .map_err(|e| format!("channel: {e}"))?;
    channel
        .basic_qos(t.amqp_prefetch, BasicQosOptions::default())
        .await
        .map_err(|e| format!("qos: {e}"))?;
    channel
        .queue_declare(
            t.amqp_queue.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                exclusive: false,
                auto_delete: false,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|e| format!("queue_declare {}: {e}", t.amqp_queue))?;
    for key in &t.amqp_routing_keys {
        channel
            .queue_bind(
                t.amqp_queue.as_str().into(),
                m.amqp_exchange.as_str().into(),
                key.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| format!("queue_bind {key}: {e}"))?;
    }
    let mut consumer = channel
        .basic_consume(
            t.amqp_queue.as_str().into(),
            "composed".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| format!("consume: {e}"))?;
    backoff.reset();
    tracing::info!(queue = %t.amqp_queue, "listening for fedora-messaging events");
    while let Some(delivery) = consumer.next().await {
        let d = delivery.map_err(|e| format!("delivery: {e}"))?;
        let topic = d.routing_key.as_str().to_string();
        let message_id = d.properties.message_id().as_ref().map(|s| s.as_str());
        match parse_amqp(message_id, &d.data, t.max_message_bytes) {
            Ok((msg_id, payload)) => {
                let inbound = Inbound {
                    transport: "amqp",
                    topic,
                    msg_id,
                    payload,
                    ack: Ack::Amqp(d.acker.clone()),
                };
                if tx.send(inbound).await.is_err() {
                    return Ok(());
                }
            }
            Err(bad) => {
                counters.add(MALFORMED, "amqp", bad.reason());
                tracing::warn!(%topic, reason = bad.reason(), bytes = d.data.len(), "malformed AMQP message dropped");
                Ack::Amqp(d.acker.clone()).ack().await;
            }
        }
    }
    Err("the consumer stream ended".into())
}
