//! Notifications of state changes by email (SMTP, lettre) and webhook (signed JSON POSTs).
//!
//! Nothing is lost between a state change and its notifications: every state change writes an
//! outbox message in its own transaction (`db::composes::transition`); this relay turns each
//! message it has not seen (`outbox.notified_at` unset) into one `notifications` row per
//! matching target — the `[[notifications.rules]]` and the compose's own `notify` field
//! (`compose_notify`) — and marks the message, in one transaction. Deliveries are then sent
//! and retried with backoff (2 s doubling, at most `retry_max_secs`) until they succeed or
//! `max_attempts` is reached; each row's status is visible at
//! `GET /api/1/composes/{id}/notifications`. One process at a time runs the relay (the
//! leader lock on PostgreSQL). A webhook delivery carries the same `X-Composed-Delivery` id
//! on every attempt, so a receiver can drop a repeat it has already accepted.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;

use crate::config::{NotificationRule, NotificationSettings, Settings, WebhookTarget};
use crate::db::schema::{compose_notify, notifications, outbox};
use crate::db::{AnyConnection, DbPool, write_tx};
use crate::domain::SourceType;

/// The webhook signature header: `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "X-Composed-Signature-256";
/// The delivery id header, the same on every attempt of one delivery.
pub const DELIVERY_HEADER: &str = "X-Composed-Delivery";
pub const EVENT_HEADER: &str = "X-Composed-Event";
const EVENT: &str = "compose.state-changed";

/// `sha256=<hex>` of `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    let out = mac.finalize().into_bytes();
    let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// The secret of a webhook target (from the file when `secret_file` is set).
fn secret_of(t: &WebhookTarget) -> Result<Vec<u8>, String> {
    if !t.secret_file.is_empty() {
        return std::fs::read(&t.secret_file)
            .map(|b| b.trim_ascii().to_vec())
            .map_err(|e| format!("secret_file {}: {e}", t.secret_file));
    }
    Ok(t.secret.as_bytes().to_vec())
}

fn valid_state(s: &str) -> bool {
    matches!(s, "wait" | "generating" | "done" | "failed" | "removed")
}

fn valid_email(a: &str) -> bool {
    a.parse::<lettre::Address>().is_ok()
}

/// The start-up check of `[notifications]`: every webhook signed with a real secret, every
/// rule naming what exists. An error names the key.
pub fn validate_settings(s: &NotificationSettings) -> Result<(), String> {
    if !s.smtp_url.is_empty() {
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&s.smtp_url)
            .map_err(|e| format!("notifications.smtp_url: {e}"))?;
        s.from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| format!("notifications.from: {:?}: {e}", s.from))?;
    }
    if s.max_attempts < 1 {
        return Err("notifications.max_attempts must be at least 1".into());
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, w) in s.webhooks.iter().enumerate() {
        let key = format!("notifications.webhooks[{i}]");
        if w.name.is_empty() || !names.insert(w.name.as_str()) {
            return Err(format!("{key}: each webhook needs a unique name"));
        }
        let url = reqwest::Url::parse(&w.url).map_err(|e| format!("{key}.url: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!("{key}.url: {:?} is not an http(s) URL", w.url));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "{key}.url: credentials in the URL would be sent to anyone it redirects to; use the secret"
            ));
        }
        if !w.secret.is_empty() && !w.secret_file.is_empty() {
            return Err(format!("{key}: set secret or secret_file, not both"));
        }
        if w.secret.is_empty() && w.secret_file.is_empty() {
            return Err(format!(
                "{key} ({}): no secret; webhooks are always signed: set secret (at least 32 bytes) or secret_file",
                w.name
            ));
        }
        let secret = secret_of(w).map_err(|e| format!("{key}: {e}"))?;
        if secret.len() < 32 {
            return Err(format!(
                "{key} ({}): the secret has {} bytes; at least 32 are needed for a signature nobody can forge",
                w.name,
                secret.len()
            ));
        }
    }
    for (i, r) in s.rules.iter().enumerate() {
        let key = format!("notifications.rules[{i}]");
        for st in &r.states {
            if !valid_state(st) {
                return Err(format!("{key}.states: unknown state {st:?}"));
            }
        }
        if !r.source_type.is_empty() && SourceType::from_name(&r.source_type).is_none() {
            return Err(format!(
                "{key}.source_type: unknown source type {:?}",
                r.source_type
            ));
        }
        if !r.email.is_empty() && s.smtp_url.is_empty() {
            return Err(format!(
                "{key}.email: mails need an SMTP server (notifications.smtp_url)"
            ));
        }
        for a in &r.email {
            if !valid_email(a) {
                return Err(format!("{key}.email: {a:?} is not an email address"));
            }
        }
        for w in &r.webhooks {
            if !names.contains(w.as_str()) {
                return Err(format!(
                    "{key}.webhooks: {w:?} is no [[notifications.webhooks]] name"
                ));
            }
        }
        if r.email.is_empty() && r.webhooks.is_empty() {
            return Err(format!("{key}: notifies nobody (no email, no webhooks)"));
        }
    }
    Ok(())
}

/// A request's own `notify` field, as stored in `compose_notify`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RequestNotify {
    pub email: Vec<String>,
    pub webhooks: Vec<String>,
    pub states: Vec<String>,
}

/// The webhook target a URL is under (the longest configured URL that prefixes it).
fn target_for<'a>(s: &'a NotificationSettings, url: &str) -> Option<&'a WebhookTarget> {
    s.webhooks
        .iter()
        .filter(|w| url == w.url || (url.starts_with(&w.url) && w.url.ends_with('/')))
        .max_by_key(|w| w.url.len())
}

/// Reads a POST's `notify` and `notify_states` fields (`None` when `notify` is absent or
/// empty). `notify` lists targets as URIs: `mailto:<address>` (in
/// `notifications.email_domains`) and `http(s)://` URLs under a configured webhook;
/// `notify_states` the states entered that notify (default wait, done and failed: the
/// submission and the end). Lists, not an object, as ODCS allows dicts only in `source`.
pub fn parse_request(
    notify: Option<&Value>,
    states: Option<&Value>,
    s: &NotificationSettings,
) -> Result<Option<RequestNotify>, String> {
    let list = |k: &str, v: Option<&Value>| -> Result<Vec<String>, String> {
        match v {
            None | Some(Value::Null) => Ok(vec![]),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    x.as_str()
                        .map(str::to_string)
                        .ok_or(format!("{k}[{i}]: must be a string"))
                })
                .collect(),
            Some(_) => Err(format!("{k}: must be a list of strings")),
        }
    };
    let targets = list("notify", notify)?;
    let mut states = list("notify_states", states)?;
    if targets.len() > 20 {
        return Err("notify: at most 20 targets".into());
    }
    let (mut email, mut webhooks) = (Vec::new(), Vec::new());
    for (i, t) in targets.iter().enumerate() {
        if let Some(a) = t.strip_prefix("mailto:") {
            if s.smtp_url.is_empty() {
                return Err(format!(
                    "notify[{i}]: this server sends no mail (notifications.smtp_url is not set)"
                ));
            }
            let addr: lettre::Address = a
                .parse()
                .map_err(|_| format!("notify[{i}]: {a:?} is not an email address"))?;
            if !s
                .email_domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(addr.domain()))
            {
                return Err(format!(
                    "notify[{i}]: {a} is not in a domain this server mails (notifications.email_domains)"
                ));
            }
            email.push(a.to_string());
        } else if t.starts_with("http://") || t.starts_with("https://") {
            if reqwest::Url::parse(t).is_err() || target_for(s, t).is_none() {
                return Err(format!(
                    "notify[{i}]: {t:?} is under no configured webhook (notifications.webhooks)"
                ));
            }
            webhooks.push(t.clone());
        } else {
            return Err(format!(
                "notify[{i}]: {t:?} is neither mailto:<address> nor an http(s) URL"
            ));
        }
    }
    for (i, st) in states.iter().enumerate() {
        if !valid_state(st) {
            return Err(format!("notify_states[{i}]: unknown state {st:?}"));
        }
    }
    if email.is_empty() && webhooks.is_empty() {
        if !states.is_empty() {
            return Err("notify_states: given without notify targets".into());
        }
        return Ok(None);
    }
    if states.is_empty() {
        states = vec!["wait".into(), "done".into(), "failed".into()];
    }
    Ok(Some(RequestNotify {
        email,
        webhooks,
        states,
    }))
}

/// Stores a request's `notify` with its compose. Call in the POST's transaction.
pub fn store_request(c: &mut AnyConnection, compose_id: i64, n: &RequestNotify) -> QueryResult<()> {
    diesel::insert_into(compose_notify::table)
        .values((
            compose_notify::compose_id.eq(compose_id),
            compose_notify::spec.eq(serde_json::to_string(n).expect("serializes")),
        ))
        .execute(c)?;
    Ok(())
}

/// `*` matches any characters.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(p) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            match rest.find(p) {
                Some(at) => rest = &rest[at + p.len()..],
                None => return false,
            }
        }
    }
    true
}

fn rule_matches(r: &NotificationRule, compose: &Value, state: &str) -> bool {
    let states_ok = if r.states.is_empty() {
        matches!(state, "done" | "failed")
    } else {
        r.states.iter().any(|s| s == state)
    };
    let source_type = compose["source_type"]
        .as_i64()
        .and_then(|c| SourceType::from_code(c as i32))
        .map(|t| t.name())
        .unwrap_or("");
    states_ok
        && (r.owner.is_empty() || compose["owner"].as_str() == Some(r.owner.as_str()))
        && (r.source_type.is_empty() || r.source_type == source_type)
        && (r.source.is_empty() || glob(&r.source, compose["source"].as_str().unwrap_or("")))
}

/// One delivery to make: (channel, target, rule).
type Target = (&'static str, String, String);

/// The targets of one state change of `compose`.
fn targets(s: &NotificationSettings, compose: &Value, own: Option<&RequestNotify>) -> Vec<Target> {
    let state = compose["state_name"].as_str().unwrap_or("");
    let mut out: Vec<Target> = Vec::new();
    let mut push = |t: Target| {
        if !out.iter().any(|o| o.0 == t.0 && o.1 == t.1) {
            out.push(t);
        }
    };
    for r in s.rules.iter().filter(|r| rule_matches(r, compose, state)) {
        for a in &r.email {
            push(("email", a.clone(), format!("rule:{}", r.name)));
        }
        for w in &r.webhooks {
            if let Some(t) = s.webhooks.iter().find(|t| &t.name == w) {
                push(("webhook", t.url.clone(), format!("rule:{}", r.name)));
            }
        }
    }
    if let Some(n) = own.filter(|n| n.states.iter().any(|s| s == state)) {
        for a in &n.email {
            push(("email", a.clone(), "request".into()));
        }
        for u in &n.webhooks {
            push(("webhook", u.clone(), "request".into()));
        }
    }
    out
}

/// The body of a delivery: the event, the compose as the state message had it, and links.
fn payload(s: &NotificationSettings, delivery_id: &str, compose: &Value) -> Value {
    let id = compose["id"].as_i64().unwrap_or(0);
    let mut links = serde_json::json!({
        "compose": format!("{}/api/1/composes/{id}", s.api_url.trim_end_matches('/')),
        "events": format!("{}/api/1/composes/{id}/events", s.api_url.trim_end_matches('/')),
    });
    if let Some(t) = compose["toplevel_url"].as_str().filter(|t| !t.is_empty()) {
        links["log"] = format!("{t}/{}", crate::layout::LOG_NAME).into();
    }
    if let Some(r) = compose["result_repofile"]
        .as_str()
        .filter(|t| !t.is_empty())
    {
        links["repofile"] = r.into();
    }
    serde_json::json!({
        "delivery_id": delivery_id,
        "event": EVENT,
        "compose": compose,
        "links": links,
    })
}

/// Turns unseen state messages into deliveries; returns how many messages it saw.
pub fn fan_out(
    c: &mut AnyConnection,
    s: &NotificationSettings,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    write_tx(c, |c| {
        let rows: Vec<(i64, String, String)> = outbox::table
            .filter(outbox::notified_at.is_null())
            .order(outbox::id)
            .select((outbox::id, outbox::message_id, outbox::body))
            .limit(200)
            .load(c)?;
        for (_, message_id, body) in &rows {
            let Ok(msg) = serde_json::from_str::<Value>(body) else {
                continue;
            };
            let compose = &msg["compose"];
            let Some(id) = compose["id"].as_i64() else {
                continue;
            };
            let own: Option<RequestNotify> = compose_notify::table
                .find(id)
                .select(compose_notify::spec)
                .first::<String>(c)
                .optional()?
                .and_then(|spec| serde_json::from_str(&spec).ok());
            let state = compose["state"].as_i64().unwrap_or(-1) as i32;
            for (n, (channel, target, rule)) in
                targets(s, compose, own.as_ref()).into_iter().enumerate()
            {
                let delivery_id = format!("{message_id}.{n}");
                diesel::insert_into(notifications::table)
                    .values((
                        notifications::compose_id.eq(id),
                        notifications::state.eq(state),
                        notifications::channel.eq(channel),
                        notifications::target.eq(&target),
                        notifications::rule.eq(&rule),
                        notifications::payload.eq(payload(s, &delivery_id, compose).to_string()),
                        notifications::delivery_id.eq(&delivery_id),
                        notifications::status.eq("pending"),
                        notifications::attempts.eq(0),
                        notifications::next_attempt_at.eq(now),
                        notifications::created_at.eq(now),
                    ))
                    .execute(c)?;
            }
        }
        if let Some(last) = rows.last() {
            diesel::update(
                outbox::table
                    .filter(outbox::notified_at.is_null())
                    .filter(outbox::id.le(last.0)),
            )
            .set(outbox::notified_at.eq(now))
            .execute(c)?;
        }
        Ok(rows.len())
    })
}

/// One delivery row.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = notifications)]
pub struct Delivery {
    pub id: i64,
    pub compose_id: i64,
    pub state: i32,
    /// `email` or `webhook`.
    pub channel: String,
    /// The address or URL.
    pub target: String,
    /// `rule:<name>` or `request`.
    pub rule: String,
    /// What is sent: the webhook's body, the mail's content (JSON).
    pub payload: String,
    pub delivery_id: String,
    /// `pending`, `sent` or `failed` (given up after `notifications.max_attempts`).
    pub status: String,
    pub attempts: i32,
    #[serde(serialize_with = "time")]
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
    #[serde(serialize_with = "time")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "opt_time")]
    pub sent_at: Option<NaiveDateTime>,
}

fn time<S: serde::Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::views::format_time(t))
}

fn opt_time<S: serde::Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&crate::views::format_time(t)),
        None => s.serialize_none(),
    }
}

/// `GET /api/1/composes/{id}/notifications`'s body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryList {
    pub items: Vec<Delivery>,
}

/// The deliveries of compose `id`, oldest first.
pub fn list(c: &mut AnyConnection, id: i64) -> QueryResult<Vec<Delivery>> {
    notifications::table
        .filter(notifications::compose_id.eq(id))
        .order(notifications::id)
        .select(Delivery::as_select())
        .load(c)
}

fn due(c: &mut AnyConnection, now: NaiveDateTime) -> QueryResult<Vec<Delivery>> {
    notifications::table
        .filter(notifications::status.eq("pending"))
        .filter(notifications::next_attempt_at.le(now))
        .order(notifications::id)
        .limit(50)
        .select(Delivery::as_select())
        .load(c)
}

fn record(
    c: &mut AnyConnection,
    s: &NotificationSettings,
    d: &Delivery,
    result: &Result<(), String>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let attempts = d.attempts + 1;
    let q = diesel::update(notifications::table.find(d.id));
    match result {
        Ok(()) => q
            .set((
                notifications::status.eq("sent"),
                notifications::attempts.eq(attempts),
                notifications::sent_at.eq(Some(now)),
                notifications::last_error.eq(None::<String>),
            ))
            .execute(c)?,
        Err(e) => {
            let give_up = attempts >= s.max_attempts;
            let wait = 2u64
                .saturating_pow(attempts.clamp(1, 30) as u32)
                .min(s.retry_max_secs.max(1));
            q.set((
                notifications::status.eq(if give_up { "failed" } else { "pending" }),
                notifications::attempts.eq(attempts),
                notifications::last_error.eq(Some(e.chars().take(1000).collect::<String>())),
                notifications::next_attempt_at.eq(now + chrono::Duration::seconds(wait as i64)),
            ))
            .execute(c)?
        }
    };
    Ok(())
}

/// Sends deliveries: mail through SMTP, webhooks over HTTP.
struct Sender {
    settings: NotificationSettings,
    http: reqwest::Client,
    smtp: Option<lettre::AsyncSmtpTransport<lettre::Tokio1Executor>>,
}

impl Sender {
    fn new(settings: &NotificationSettings) -> Self {
        let smtp = (!settings.smtp_url.is_empty())
            .then(|| {
                lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&settings.smtp_url)
                    .ok()
                    .map(|b| b.timeout(Some(Duration::from_secs(20))).build())
            })
            .flatten();
        Self {
            settings: settings.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("composed/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("HTTP client"),
            smtp,
        }
    }

    async fn send(&self, d: &Delivery) -> Result<(), String> {
        match d.channel.as_str() {
            "webhook" => self.webhook(d).await,
            "email" => self.email(d).await,
            other => Err(format!("unknown channel {other}")),
        }
    }

    async fn webhook(&self, d: &Delivery) -> Result<(), String> {
        let target = target_for(&self.settings, &d.target)
            .ok_or("the URL is under no configured webhook any more")?;
        let secret = secret_of(target)?;
        let body = d.payload.clone().into_bytes();
        let resp = self
            .http
            .post(&d.target)
            .header("Content-Type", "application/json")
            .header(SIGNATURE_HEADER, signature(&secret, &body))
            .header(DELIVERY_HEADER, &d.delivery_id)
            .header(EVENT_HEADER, EVENT)
            .body(body)
            .send()
            .await
            .map_err(|e| format!("POST {}: {e}", d.target))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!(
                "POST {}: HTTP {}",
                d.target,
                resp.status().as_u16()
            ))
        }
    }

    async fn email(&self, d: &Delivery) -> Result<(), String> {
        use lettre::AsyncTransport;
        let smtp = self
            .smtp
            .as_ref()
            .ok_or("no SMTP server is configured (notifications.smtp_url)")?;
        let p: Value = serde_json::from_str(&d.payload).map_err(|e| e.to_string())?;
        let (subject, text) = mail_text(&p);
        let msg = lettre::Message::builder()
            .from(
                self.settings
                    .from
                    .parse()
                    .map_err(|e| format!("from: {e}"))?,
            )
            .to(d.target.parse().map_err(|e| format!("to: {e}"))?)
            .subject(subject)
            .message_id(Some(format!("<{}@composed>", d.delivery_id)))
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            // lettre chooses the transfer encoding (quoted-printable for the long link lines).
            .body(text)
            .map_err(|e| e.to_string())?;
        smtp.send(msg)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP: {e}"))
    }
}

/// Subject and text of a mail about the state change in payload `p`.
pub fn mail_text(p: &Value) -> (String, String) {
    let c = &p["compose"];
    let id = c["id"].as_i64().unwrap_or(0);
    let state = c["state_name"].as_str().unwrap_or("?");
    let source = c["source"].as_str().unwrap_or("");
    let subject = format!("[composed] compose {id} ({source}) is {state}");
    let mut text = format!(
        "Compose {id} of {source} is {state}.\n\nReason: {}\nOwner: {}\nKoji event: {}\n\n",
        c["state_reason"].as_str().unwrap_or(""),
        c["owner"].as_str().unwrap_or(""),
        c["koji_event"]
    );
    for (label, key) in [
        ("Compose", "compose"),
        ("Log", "log"),
        (".repo file", "repofile"),
        ("Events", "events"),
    ] {
        if let Some(u) = p["links"][key].as_str() {
            text.push_str(&format!("{label}: {u}\n"));
        }
    }
    text.push_str(&format!(
        "\nDelivery {}\n",
        p["delivery_id"].as_str().unwrap_or("")
    ));
    (subject, text)
}

/// The relay, until the process ends: fan out, then send what is due, every half second.
pub async fn run_forever(pool: DbPool, settings: std::sync::Arc<Settings>) {
    let s = settings.notifications.clone();
    let sender = std::sync::Arc::new(Sender::new(&s));
    loop {
        let (p, ss) = (pool.clone(), s.clone());
        let due_now = tokio::task::spawn_blocking(move || -> Result<Vec<Delivery>, String> {
            let mut c = p.get().map_err(|e| e.to_string())?;
            let now = crate::db::now();
            fan_out(&mut c, &ss, now).map_err(|e| e.to_string())?;
            due(&mut c, now).map_err(|e| e.to_string())
        })
        .await;
        let list = match due_now {
            Ok(Ok(l)) => l,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "notifications: cannot read the outbox");
                vec![]
            }
            Err(e) => {
                tracing::error!(error = %e, "notifications task panicked");
                vec![]
            }
        };
        for d in list {
            // On a task of its own: a panic while sending fails this attempt, not the relay.
            let (snd, one) = (sender.clone(), d.clone());
            let result = tokio::spawn(async move { snd.send(&one).await })
                .await
                .unwrap_or_else(|e| Err(format!("sending failed: {e}")));
            match &result {
                Ok(()) => {
                    tracing::info!(compose = d.compose_id, channel = %d.channel, target = %d.target, delivery = %d.delivery_id, "notification sent")
                }
                Err(e) => {
                    tracing::warn!(compose = d.compose_id, channel = %d.channel, target = %d.target, attempt = d.attempts + 1, error = %e, "notification failed")
                }
            }
            let (p, ss) = (pool.clone(), s.clone());
            let _ = tokio::task::spawn_blocking(move || -> Result<(), String> {
                let mut c = p.get().map_err(|e| e.to_string())?;
                record(&mut c, &ss, &d, &result, crate::db::now()).map_err(|e| e.to_string())
            })
            .await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> NotificationSettings {
        NotificationSettings {
            smtp_url: "smtp://127.0.0.1:2525".into(),
            email_domains: vec!["example.org".into()],
            webhooks: vec![WebhookTarget {
                name: "ci".into(),
                url: "https://ci.example.org/hooks/".into(),
                secret: "0123456789abcdef0123456789abcdef".into(),
                secret_file: String::new(),
            }],
            rules: vec![NotificationRule {
                name: "qa".into(),
                source: "f4*-candidate".into(),
                email: vec!["qa@example.org".into()],
                webhooks: vec!["ci".into()],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn unsigned_weak_or_dangling_configurations_are_refused() {
        assert_eq!(validate_settings(&settings()), Ok(()));
        let mut s = settings();
        s.webhooks[0].secret.clear();
        assert!(validate_settings(&s).unwrap_err().contains("no secret"));
        let mut s = settings();
        s.webhooks[0].secret = "short".into();
        assert!(validate_settings(&s).unwrap_err().contains("at least 32"));
        let mut s = settings();
        s.rules[0].webhooks = vec!["nope".into()];
        assert!(validate_settings(&s).unwrap_err().contains("\"nope\""));
        let mut s = settings();
        s.smtp_url.clear();
        assert!(
            validate_settings(&s)
                .unwrap_err()
                .contains("notifications.smtp_url")
        );
        let mut s = settings();
        s.webhooks[0].url = "https://user:pw@ci.example.org/".into();
        assert!(validate_settings(&s).unwrap_err().contains("credentials"));
    }

    #[test]
    fn rules_and_a_requests_own_targets_are_matched() {
        let s = settings();
        let c = serde_json::json!({"id": 3, "state_name": "done", "source": "f41-candidate", "source_type": 1, "owner": "bob"});
        let t = targets(&s, &c, None);
        assert_eq!(t.len(), 2, "{t:?}");
        let other =
            serde_json::json!({"id": 3, "state_name": "done", "source": "f41", "source_type": 1});
        assert!(targets(&s, &other, None).is_empty());
        let own = parse_request(
            Some(&serde_json::json!([
                "mailto:me@example.org",
                "https://ci.example.org/hooks/job-1"
            ])),
            None,
            &s,
        )
        .unwrap()
        .unwrap();
        assert_eq!(own.states, ["wait", "done", "failed"]);
        let waiting = serde_json::json!({"id": 3, "state_name": "wait", "source": "f41-candidate", "source_type": 1});
        assert_eq!(targets(&s, &waiting, Some(&own)).len(), 2);
        for (bad, states, why) in [
            (
                serde_json::json!(["mailto:me@evil.org"]),
                None,
                "email_domains",
            ),
            (
                serde_json::json!(["mailto:nope"]),
                None,
                "not an email address",
            ),
            (
                serde_json::json!(["https://evil.org/x"]),
                None,
                "no configured webhook",
            ),
            (
                serde_json::json!(["mailto:me@example.org"]),
                Some(serde_json::json!(["later"])),
                "notify_states[0]: unknown state",
            ),
            (serde_json::json!(["irc://x"]), None, "neither mailto"),
            (
                serde_json::json!("mailto:me@example.org"),
                None,
                "must be a list",
            ),
        ] {
            let e = parse_request(Some(&bad), states.as_ref(), &s).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        assert!(glob("f4*-candidate", "f41-candidate") && !glob("f4*-candidate", "f41"));
    }
}
