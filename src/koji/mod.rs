//! Koji hub client: async XML-RPC with keyword arguments, multicall batching, typed faults,
//! timeouts, and bounded retries with backoff on transport errors only. Anonymous reads.
//! Answers over 256 KiB are decoded on a blocking thread while they arrive.
//!
//! This file holds the client ([`KojiClient`], [`Call`]) and the streaming of big answers to the
//! decoder. The errors live in `fault.rs`, the typed records and call options in `types.rs`
//! (both re-exported here), the codec in [`xmlrpc`], path helpers for the topdir/topurl layout
//! in [`paths`]. The submodules do not import this file.

pub mod answers;
mod fault;
pub mod paths;
mod types;
pub mod xmlrpc;

use std::sync::Arc;
use std::time::Duration;

pub use answers::TaggedRpms;
pub use fault::KojiError;
pub use types::{
    Build, Event, InheritanceLink, Kwargs, Rpm, Tag, TagQuery, list_tagged_rpms_member,
};
pub use xmlrpc::{Fault, Value};

/// One call of a multicall.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub params: Vec<Value>,
}

impl Call {
    pub fn new(method: &str, args: Vec<Value>, kwargs: Vec<(&str, Value)>) -> Self {
        Self {
            method: method.into(),
            params: xmlrpc::with_kwargs(args, kwargs),
        }
    }
}

#[derive(Debug, Clone)]
pub struct KojiClient {
    hub: String,
    http: reqwest::Client,
    timeout: Duration,
    retries: u32,
    backoff: Duration,
}

impl KojiClient {
    pub fn new(
        hub: &str,
        timeout: Duration,
        retries: u32,
        backoff: Duration,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            hub: hub.to_string(),
            http: reqwest::Client::builder().timeout(timeout).build()?,
            timeout,
            retries,
            backoff,
        })
    }

    pub fn hub(&self) -> &str {
        &self.hub
    }

    async fn post_once(
        &self,
        method: &str,
        body: &str,
        keep: Option<fn(&str) -> bool>,
    ) -> Result<Value, KojiError> {
        let (hub, m) = (self.hub.clone(), method.to_string());
        let t0 = std::time::Instant::now();
        let resp = self
            .http
            .post(&self.hub)
            .header("Content-Type", "text/xml")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| self.transport_error(method, &e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(KojiError::Http {
                hub,
                method: m,
                status: status.as_u16(),
            });
        }
        // Small answers are read whole and decoded here. Large ones (listTaggedRPMS of a whole
        // tag) are decoded on a blocking thread while they arrive: the chunks go through a
        // channel to the parser, so receiving and decoding overlap.
        let large = resp.content_length().is_none_or(|n| n > 256 * 1024);
        let (decoded, received) = if large && keep.is_some() {
            // A `listTaggedRPMS` answer: received whole (about 10 ms for 28 MB here), then its
            // two arrays decoded on two threads (decoding one thread's way took 65–68 ms).
            let mut buf = Vec::with_capacity(resp.content_length().unwrap_or(0) as usize);
            let mut resp = resp;
            loop {
                match resp.chunk().await {
                    Ok(Some(c)) => buf.extend_from_slice(&c),
                    Ok(None) => break,
                    Err(e) => return Err(self.transport_error(method, &e)),
                }
            }
            let received = t0.elapsed();
            let decoded = tokio::task::spawn_blocking(move || {
                match xmlrpc::decode_pair_response(&buf, keep) {
                    Some(v) => v.map(Ok),
                    None => xmlrpc::decode_response_from(&buf[..], keep),
                }
            })
            .await
            .unwrap_or_else(|e| Err(xmlrpc::XmlError(format!("decoder panicked: {e}"))));
            (decoded, received)
        } else if !large {
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| self.transport_error(method, &e))?;
            let received = t0.elapsed();
            (xmlrpc::decode_response_from(&bytes[..], keep), received)
        } else {
            let (tx, rx) = std::sync::mpsc::channel::<bytes::Bytes>();
            let decoder = tokio::task::spawn_blocking(move || {
                let input = ChunkReader {
                    rx,
                    chunk: bytes::Bytes::new(),
                };
                xmlrpc::decode_response_from(input, keep)
            });
            let mut resp = resp;
            let mut failed = None;
            loop {
                match resp.chunk().await {
                    Ok(Some(c)) => {
                        if tx.send(c).is_err() {
                            break; // the decoder stopped on an error it reports
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        failed = Some(self.transport_error(method, &e));
                        break;
                    }
                }
            }
            drop(tx);
            let received = t0.elapsed();
            let decoded = decoder
                .await
                .unwrap_or_else(|e| Err(xmlrpc::XmlError(format!("decoder panicked: {e}"))));
            if let Some(e) = failed {
                return Err(e);
            }
            (decoded, received)
        };
        tracing::debug!(
            method,
            received_ms = received.as_millis() as u64,
            decoded_ms = (t0.elapsed() - received).as_millis() as u64,
            "koji call"
        );
        match decoded {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(f)) => Err(KojiError::Fault {
                hub,
                method: m,
                code: f.code,
                message: f.message,
            }),
            Err(e) => Err(KojiError::Malformed {
                hub,
                method: m,
                detail: e.0,
            }),
        }
    }

    /// Calls `method(args..., **kwargs)`, retrying transport errors with exponential backoff.
    pub async fn call(
        &self,
        method: &str,
        args: Vec<Value>,
        kwargs: Vec<(&str, Value)>,
    ) -> Result<Value, KojiError> {
        self.call_keeping(method, args, kwargs, None).await
    }

    /// [`Self::call`], keeping only the members `keep` accepts in the answer's outermost
    /// structs (see [`xmlrpc::decode_response_from`]).
    pub async fn call_keeping(
        &self,
        method: &str,
        args: Vec<Value>,
        kwargs: Vec<(&str, Value)>,
        keep: Option<fn(&str) -> bool>,
    ) -> Result<Value, KojiError> {
        let body = xmlrpc::encode_call(method, &xmlrpc::with_kwargs(args, kwargs));
        let mut attempt = 0;
        loop {
            match self.post_once(method, &body, keep).await {
                Err(e) if e.is_transient() && attempt < self.retries => {
                    let wait = self.backoff * 2u32.saturating_pow(attempt);
                    tracing::warn!(hub = %self.hub, method, attempt, error = %e, "Koji call failed; retrying in {wait:?}");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// `system.multicall`: one result per call, each a value or that call's own error.
    pub async fn multicall(
        &self,
        calls: Vec<Call>,
    ) -> Result<Vec<Result<Value, KojiError>>, KojiError> {
        let methods: Vec<String> = calls.iter().map(|c| c.method.clone()).collect();
        let arg = Value::Array(
            calls
                .into_iter()
                .map(|c| {
                    Value::structure([
                        ("methodName", Value::String(c.method)),
                        ("params", Value::Array(c.params)),
                    ])
                })
                .collect(),
        );
        let answer = self.call("system.multicall", vec![arg], vec![]).await?;
        let items = answer
            .as_array()
            .ok_or_else(|| self.unexpected("system.multicall", "not an array"))?;
        if items.len() != methods.len() {
            return Err(self.unexpected(
                "system.multicall",
                &format!("{} results for {} calls", items.len(), methods.len()),
            ));
        }
        Ok(items
            .iter()
            .zip(methods)
            .map(|(item, method)| match item {
                Value::Array(one) if one.len() == 1 => Ok(one[0].clone()),
                Value::Struct(f) if f.contains_key("faultCode") => Err(KojiError::Fault {
                    hub: self.hub.clone(),
                    code: item.get("faultCode").as_i64().unwrap_or(0),
                    message: item
                        .get("faultString")
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    method,
                }),
                _ => Err(KojiError::Unexpected {
                    hub: self.hub.clone(),
                    method,
                    detail: "malformed multicall item".into(),
                }),
            })
            .collect())
    }

    fn transport_error(&self, method: &str, e: &reqwest::Error) -> KojiError {
        let (hub, method) = (self.hub.clone(), method.to_string());
        if e.is_timeout() {
            KojiError::Timeout {
                hub,
                method,
                secs: self.timeout.as_secs(),
            }
        } else {
            KojiError::Unreachable {
                hub,
                method,
                detail: error_chain(e),
            }
        }
    }

    fn unexpected(&self, method: &str, detail: &str) -> KojiError {
        KojiError::Unexpected {
            hub: self.hub.clone(),
            method: method.into(),
            detail: detail.into(),
        }
    }

    pub async fn get_api_version(&self) -> Result<i64, KojiError> {
        let v = self.call("getAPIVersion", vec![], vec![]).await?;
        v.as_i64()
            .ok_or_else(|| self.unexpected("getAPIVersion", "not an integer"))
    }

    /// `getLastEvent()` → (id, ts).
    pub async fn get_last_event(&self) -> Result<Event, KojiError> {
        let v = self.call("getLastEvent", vec![], vec![]).await?;
        let e = Event::from_value(&v).ok_or_else(|| self.unexpected("getLastEvent", "no id/ts"))?;
        answers::saw_last_event(&self.hub, e.id);
        Ok(e)
    }

    pub async fn get_event(&self, id: i64) -> Result<Event, KojiError> {
        let v = self.call("getEvent", vec![Value::Int(id)], vec![]).await?;
        Event::from_value(&v).ok_or_else(|| self.unexpected("getEvent", "no id/ts"))
    }

    /// `getTag(name, event=…)`; `None` when the tag does not exist (at that event).
    /// At an event that has happened, the answer comes from (and goes to) the process's
    /// [`answers`] cache.
    pub async fn get_tag(&self, tag: &str, event: Option<i64>) -> Result<Option<Tag>, KojiError> {
        let key = match event {
            Some(e) if self.event_is_past(e).await => Some(answers::Key {
                hub: self.hub.clone(),
                method: "getTag",
                tag: tag.to_string(),
                event: e,
                args: String::new(),
            }),
            _ => None,
        };
        if let Some(t) = key.as_ref().and_then(answers::get_tag) {
            return Ok(t);
        }
        let t = self.get_tag_uncached(tag, event).await?;
        if let Some(k) = key {
            answers::put_tag(k, t.clone());
        }
        Ok(t)
    }

    /// Whether `event` has happened on the hub (asking for its last event when this process
    /// has not yet seen one as recent). A failed check says no: the answer is then not kept.
    async fn event_is_past(&self, event: i64) -> bool {
        answers::is_past(&self.hub, event)
            || (self.get_last_event().await.is_ok() && answers::is_past(&self.hub, event))
    }

    async fn get_tag_uncached(
        &self,
        tag: &str,
        event: Option<i64>,
    ) -> Result<Option<Tag>, KojiError> {
        let kwargs = event
            .map(|e| vec![("event", Value::Int(e))])
            .unwrap_or_default();
        let v = self.call("getTag", vec![tag.into()], kwargs).await?;
        if v.is_nil() {
            return Ok(None);
        }
        Tag::from_value(&v)
            .map(Some)
            .ok_or_else(|| self.unexpected("getTag", "no id/name"))
    }

    /// `getFullInheritance(tag, event=…)`: the ancestors in inheritance order.
    pub async fn get_full_inheritance(
        &self,
        tag: &str,
        event: Option<i64>,
    ) -> Result<Vec<InheritanceLink>, KojiError> {
        let kwargs = event
            .map(|e| vec![("event", Value::Int(e))])
            .unwrap_or_default();
        let v = self
            .call("getFullInheritance", vec![tag.into()], kwargs)
            .await?;
        let items = v
            .as_array()
            .ok_or_else(|| self.unexpected("getFullInheritance", "not an array"))?;
        Ok(items
            .iter()
            .filter_map(InheritanceLink::from_value)
            .collect())
    }

    /// `listTagged(tag, event, inherit, latest)`.
    pub async fn list_tagged(&self, tag: &str, q: &TagQuery) -> Result<Vec<Build>, KojiError> {
        let v = self
            .call("listTagged", vec![tag.into()], q.kwargs(false))
            .await?;
        let items = v
            .as_array()
            .ok_or_else(|| self.unexpected("listTagged", "not an array"))?;
        Ok(items.iter().filter_map(Build::from_value).collect())
    }

    /// `listTaggedRPMS(tag, event, inherit, latest, arch, rpmsigs)` → (rpms, builds). At an
    /// event that has happened, the answer is immutable and comes from (and goes to) the
    /// process's [`answers`] cache, shared by every compose.
    pub async fn list_tagged_rpms(
        &self,
        tag: &str,
        q: &TagQuery,
    ) -> Result<Arc<TaggedRpms>, KojiError> {
        let key = match q.event {
            Some(e) if self.event_is_past(e).await => Some(answers::Key {
                hub: self.hub.clone(),
                method: "listTaggedRPMS",
                tag: tag.to_string(),
                event: e,
                args: q.canonical(),
            }),
            _ => None,
        };
        if let Some(t) = key.as_ref().and_then(answers::get_tagged) {
            return Ok(t);
        }
        let (rpms, builds) = self.list_tagged_rpms_uncached(tag, q).await?;
        let t = Arc::new(TaggedRpms::new(rpms, builds));
        if let Some(k) = key {
            answers::put_tagged(k, t.clone());
        }
        Ok(t)
    }

    async fn list_tagged_rpms_uncached(
        &self,
        tag: &str,
        q: &TagQuery,
    ) -> Result<(Vec<Rpm>, Vec<Build>), KojiError> {
        let v = self
            .call_keeping(
                "listTaggedRPMS",
                vec![tag.into()],
                q.kwargs(true),
                Some(list_tagged_rpms_member),
            )
            .await?;
        // The decoded answer is taken apart, not copied: its strings become the rows'.
        let items = |v: Value| match v {
            Value::Array(items) => items,
            _ => vec![],
        };
        match v {
            Value::Array(pair) if pair.len() == 2 => {
                let mut pair = pair.into_iter();
                let (rpms, builds) = (pair.next().unwrap(), pair.next().unwrap());
                Ok((
                    items(rpms)
                        .into_iter()
                        .filter_map(Rpm::from_owned)
                        .collect(),
                    items(builds)
                        .into_iter()
                        .filter_map(Build::from_owned)
                        .collect(),
                ))
            }
            _ => Err(self.unexpected("listTaggedRPMS", "not [rpms, builds]")),
        }
    }

    /// `search(terms, type, matchType)`: the ids of the matches (`type` `build`: NVRs, with
    /// `matchType` `glob` or `regexp`).
    pub async fn search(
        &self,
        terms: &str,
        kind: &str,
        match_type: &str,
    ) -> Result<Vec<i64>, KojiError> {
        let v = self
            .call(
                "search",
                vec![terms.into(), kind.into(), match_type.into()],
                vec![],
            )
            .await?;
        let items = v
            .as_array()
            .ok_or_else(|| self.unexpected("search", "not an array"))?;
        Ok(items.iter().filter_map(|i| i.get("id").as_i64()).collect())
    }

    /// `getBuild(nvr or id)`; `None` for an unknown build.
    pub async fn get_build(&self, build: Value) -> Result<Option<Build>, KojiError> {
        let v = self.call("getBuild", vec![build], vec![]).await?;
        if v.is_nil() {
            return Ok(None);
        }
        Build::from_value(&v)
            .map(Some)
            .ok_or_else(|| self.unexpected("getBuild", "no id/nvr"))
    }

    /// `listRPMs(buildID=…, arches=…)`.
    pub async fn list_rpms(
        &self,
        build_id: i64,
        arches: Option<Vec<String>>,
    ) -> Result<Vec<Rpm>, KojiError> {
        let mut kwargs = vec![("buildID", Value::Int(build_id))];
        if let Some(a) = arches {
            kwargs.push(("arches", a.into()));
        }
        let v = self.call("listRPMs", vec![], kwargs).await?;
        let items = v
            .as_array()
            .ok_or_else(|| self.unexpected("listRPMs", "not an array"))?;
        Ok(items.iter().filter_map(Rpm::from_value).collect())
    }

    /// `queryRPMSigs(rpm_id=…)` → sigkeys recorded for the RPM (`""` = unsigned).
    pub async fn query_rpm_sigs(&self, rpm_id: i64) -> Result<Vec<String>, KojiError> {
        let v = self
            .call("queryRPMSigs", vec![], vec![("rpm_id", Value::Int(rpm_id))])
            .await?;
        let items = v
            .as_array()
            .ok_or_else(|| self.unexpected("queryRPMSigs", "not an array"))?;
        Ok(items
            .iter()
            .filter_map(|i| i.get("sigkey").as_str().map(str::to_string))
            .collect())
    }

    /// `tagChangedSinceEvent(event, [tag ids])`; never sends an empty list (Koji answers an SQL
    /// error for that).
    pub async fn tag_changed_since_event(
        &self,
        event: i64,
        tag_ids: &[i64],
    ) -> Result<bool, KojiError> {
        if tag_ids.is_empty() {
            return Ok(false);
        }
        let ids = Value::Array(tag_ids.iter().map(|i| Value::Int(*i)).collect());
        let v = self
            .call("tagChangedSinceEvent", vec![Value::Int(event), ids], vec![])
            .await?;
        v.as_bool()
            .ok_or_else(|| self.unexpected("tagChangedSinceEvent", "not a boolean"))
    }

    /// Whether `tag` or any tag it inherits from changed after `event`.
    pub async fn tag_or_parents_changed_since(
        &self,
        tag: &str,
        event: i64,
    ) -> Result<bool, KojiError> {
        let Some(t) = self.get_tag(tag, None).await? else {
            return Ok(true);
        };
        let mut ids = vec![t.id];
        ids.extend(
            self.get_full_inheritance(tag, None)
                .await?
                .iter()
                .map(|l| l.parent_id),
        );
        self.tag_changed_since_event(event, &ids).await
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// The body of an answer as it arrives, chunk by chunk from a channel, for the blocking decoder.
/// The end of the channel is the end of the body.
struct ChunkReader {
    rx: std::sync::mpsc::Receiver<bytes::Bytes>,
    chunk: bytes::Bytes,
}

impl std::io::Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let avail = std::io::BufRead::fill_buf(self)?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        std::io::BufRead::consume(self, n);
        Ok(n)
    }
}

impl std::io::BufRead for ChunkReader {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.chunk.is_empty() {
            match self.rx.recv() {
                Ok(c) => self.chunk = c,
                Err(_) => break,
            }
        }
        Ok(&self.chunk)
    }

    fn consume(&mut self, n: usize) {
        let _ = self.chunk.split_to(n);
    }
}
