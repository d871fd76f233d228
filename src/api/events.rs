//! `GET /api/1/composes/{id}/events`: a compose's progress as server-sent events, from any API
//! process. States come from the database (read again when the change watcher says the compose
//! changed, or every two seconds without a live watcher); phases and log lines come from the
//! compose's log on the compose mount (`compose_log`). The stream ends after a final state
//! (done, failed, removed), once the log's lines before it are sent.
//!
//! Events: `state` (`{"id", "state", "state_name", "state_reason", "time"}`), `phase`
//! (`{"phase", "status": "start" | "done", "items", "ms", "time"}`, from the log's phase lines)
//! and `log` (one log line as it is). Each event's `id` is the log's byte offset after what
//! was sent, so a client that reconnects with `Last-Event-ID` gets the current state and the
//! log lines it has not seen.

use std::collections::VecDeque;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;

use crate::compose_log::{self, PhaseEvent};
use crate::db::composes as q;
use crate::db::models::Compose;
use crate::domain::State;
use crate::layout;
use crate::web::error::ApiError;
use crate::web::state::{AppState, db_read};

/// How often the stream looks for news.
const TICK: Duration = Duration::from_millis(100);
/// How often the row is read again when the change watcher cannot vouch for it.
const REREAD: Duration = Duration::from_secs(2);
/// A comment line this often keeps proxies from closing an idle stream.
const KEEPALIVE: Duration = Duration::from_secs(15);
/// At most this much of the log is read per tick.
const READ_MAX: u64 = 256 * 1024;

/// `GET /api/1/composes/{id}/events`
#[utoipa::path(
    get,
    path = "/api/1/composes/{id}/events",
    tag = "composes",
    params(("id" = i64, Path, description = "Compose id")),
    responses(
        (status = 200, description = "Server-sent events (text/event-stream) until a final state: `state`, `phase` and `log` events", content_type = "text/event-stream", body = String),
        (status = 404, description = "No such compose", body = crate::web::error::ErrorBody)
    )
)]
pub async fn compose_events(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::not_found("No such compose found.");
    let id: i64 = path.parse().map_err(|_| not_found())?;
    let compose = db_read(&state, move |c| Ok(q::get(c, id)?))
        .await?
        .ok_or_else(not_found)?;
    let resume = req
        .headers()
        .get("Last-Event-ID")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let base = layout::target_base(&compose, &state.settings);
    let mut follow = Follow {
        state: state.clone(),
        id,
        candidates: vec![
            layout::live_log(&base, id),
            base.join(layout::compose_name(id)).join(layout::LOG_NAME),
        ],
        log: None,
        offset: resume,
        partial: Vec::new(),
        sent_state: None,
        row: Some(compose),
        seen_at: (0, 0),
        read_at: Instant::now(),
        keepalive_at: Instant::now(),
        queue: VecDeque::new(),
        finished: false,
        first: true,
    };
    follow
        .queue
        .push_back(Bytes::from_static(b"retry: 2000\n\n"));
    let stream = futures_util::stream::unfold(follow, |mut f| async move {
        loop {
            if let Some(ev) = f.queue.pop_front() {
                return Some((Ok::<_, std::convert::Infallible>(ev), f));
            }
            if f.finished {
                return None;
            }
            f.tick().await;
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream))
}

/// One client's stream.
struct Follow {
    state: web::Data<AppState>,
    id: i64,
    /// Where the log may be, in order: beside the directories, then inside the compose's.
    candidates: Vec<PathBuf>,
    log: Option<std::fs::File>,
    /// Bytes of the log sent (whole lines).
    offset: u64,
    /// The start of a line not finished yet.
    partial: Vec<u8>,
    sent_state: Option<i32>,
    /// The row when it was read last; `None` after it vanished.
    row: Option<Compose>,
    /// The change generation and reset epoch taken before that read.
    seen_at: (u64, u64),
    read_at: Instant,
    keepalive_at: Instant,
    queue: VecDeque<Bytes>,
    finished: bool,
    first: bool,
}

fn is_final(state: i32) -> bool {
    matches!(
        State::from_code(state),
        Some(State::Done | State::Failed | State::Removed) | None
    )
}

impl Follow {
    fn format(&self, kind: &str, data: &str) -> Bytes {
        Bytes::from(format!(
            "id: {}\nevent: {kind}\ndata: {data}\n\n",
            self.offset
        ))
    }

    async fn tick(&mut self) {
        if !self.first {
            tokio::time::sleep(TICK).await;
        }
        self.first = false;
        // The log before the row: the worker writes its first line after the commit of
        // `generating`, and its phase lines before the commit of the final state, so lines
        // read before the row never precede a state the row does not show yet.
        let lines = self.read_log().await;
        let force = !lines.is_empty() && self.sent_state == Some(State::Wait.code());
        self.refresh_row(force).await;
        let Some(row) = self.row.clone() else {
            self.queue.extend(lines);
            self.finished = true;
            return;
        };
        if self.sent_state != Some(row.state) && is_final(row.state) {
            // Everything the worker logged before the final state was committed.
            self.queue.extend(lines);
            let rest = self.read_log().await;
            self.queue.extend(rest);
            self.state_event(&row);
            self.finished = true;
            return;
        }
        if self.sent_state != Some(row.state) {
            self.state_event(&row);
        }
        self.queue.extend(lines);
        if self.keepalive_at.elapsed() >= KEEPALIVE {
            self.keepalive_at = Instant::now();
            self.queue.push_back(Bytes::from_static(b": keepalive\n\n"));
        }
    }

    fn state_event(&mut self, row: &Compose) {
        self.sent_state = Some(row.state);
        let data = serde_json::json!({
            "id": row.id,
            "state": row.state,
            "state_name": crate::domain::state_name(row.state),
            "state_reason": row.state_reason,
            "time": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        });
        let ev = self.format("state", &data.to_string());
        self.queue.push_back(ev);
    }

    /// Reads the row again when it may have changed (or when `force`d).
    async fn refresh_row(&mut self, force: bool) {
        let watched = self.state.cache.as_ref().is_some_and(|c| c.watcher_live());
        let (g, r) = self.seen_at;
        let unchanged = watched && crate::db::changes::compose_unchanged_since(self.id, g, r);
        if !force && unchanged && self.read_at.elapsed() < REREAD && self.sent_state.is_some() {
            return;
        }
        let at = (
            crate::db::changes::generation(),
            crate::db::changes::reset_epoch(),
        );
        let id = self.id;
        match db_read(&self.state, move |c| Ok(q::get(c, id)?)).await {
            Ok(row) => {
                self.row = row;
                self.seen_at = at;
                self.read_at = Instant::now();
            }
            Err(e) => tracing::debug!(compose = id, error = ?e, "events: cannot read the compose"),
        }
    }

    /// The events of the log's new whole lines.
    async fn read_log(&mut self) -> Vec<Bytes> {
        let mut out = Vec::new();
        let file = self.log.take();
        let candidates = self.candidates.clone();
        let offset = self.offset + self.partial.len() as u64;
        let read = tokio::task::spawn_blocking(move || read_more(file, &candidates, offset)).await;
        let Ok((file, bytes)) = read else { return out };
        self.log = file;
        self.partial.extend_from_slice(&bytes);
        while let Some(nl) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=nl).collect();
            self.offset += line.len() as u64;
            let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            if let Some(parsed) = compose_log::parse(&text)
                && let Some(ev) = parsed.phase_event()
            {
                let mut data = serde_json::json!({
                    "phase": parsed.topic,
                    "time": parsed.time,
                });
                match ev {
                    PhaseEvent::Start => data["status"] = "start".into(),
                    PhaseEvent::Done { items, ms } => {
                        data["status"] = "done".into();
                        data["items"] = items.into();
                        data["ms"] = ms.into();
                    }
                }
                out.push(self.format("phase", &data.to_string()));
            }
            out.push(self.format("log", &text));
        }
        out
    }
}

/// Blocking: the log opened (when it exists by now) and what it holds after `offset`.
fn read_more(
    file: Option<std::fs::File>,
    candidates: &[PathBuf],
    offset: u64,
) -> (Option<std::fs::File>, Vec<u8>) {
    let mut file = match file {
        Some(f) => f,
        None => match candidates.iter().find_map(|p| std::fs::File::open(p).ok()) {
            Some(f) => f,
            None => return (None, Vec::new()),
        },
    };
    let mut out = Vec::new();
    if file.seek(SeekFrom::Start(offset)).is_ok() {
        let _ = (&mut file).take(READ_MAX).read_to_end(&mut out);
    }
    (Some(file), out)
}
