//! A client of the Module Build Service REST API (`<mbs.url>/1/module-builds/`), the
//! read-only part composed uses to resolve module composes (`../shared/spec/mbs.md` §1):
//! module builds by `nsvc` and state, with the base-module filters, newest version first.
//! Transport errors and 5xx answers are retried; the error names the URL and the query.

use std::time::Duration;

use serde::Deserialize;

use crate::config::MbsSettings;

/// MBS build states composed asks for.
pub const STATE_DONE: i32 = 3;
pub const STATE_READY: i32 = 5;

/// A module build as MBS lists it (`verbose=True`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ModuleBuild {
    pub id: i64,
    pub name: String,
    pub stream: String,
    /// A string in MBS's answer (an integer in older versions: both are read).
    #[serde(deserialize_with = "string_or_number")]
    pub version: String,
    pub context: String,
    pub state: i32,
    #[serde(default)]
    pub koji_tag: Option<String>,
    #[serde(default)]
    pub modulemd: Option<String>,
    #[serde(default)]
    pub base_module_buildrequires: Vec<BaseModule>,
}

impl ModuleBuild {
    pub fn nsvc(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.name, self.stream, self.version, self.context
        )
    }
}

/// A base module a build was built against.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct BaseModule {
    pub name: String,
    pub stream: String,
    #[serde(default)]
    pub stream_version: Option<f64>,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        S(String),
        N(serde_json::Number),
    }
    Ok(match Either::deserialize(d)? {
        Either::S(s) => s,
        Either::N(n) => n.to_string(),
    })
}

#[derive(Debug, Deserialize)]
struct Page {
    #[serde(default)]
    items: Vec<ModuleBuild>,
}

/// One `GET module-builds/` query, in ODCS's terms (contract §3.2).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pub nsvc: String,
    pub states: Vec<i32>,
    pub base_module_br_name: Option<String>,
    pub base_module_br_stream: Option<String>,
    pub base_module_br_stream_version_lte: Option<String>,
    pub base_module_br_stream_version_gte: Option<String>,
}

impl Query {
    fn params(&self) -> Vec<(&'static str, String)> {
        let mut p = vec![("nsvc", self.nsvc.clone())];
        p.extend(self.states.iter().map(|s| ("state", s.to_string())));
        p.push(("verbose", "True".into()));
        p.push(("order_desc_by", "version".into()));
        // One page holds every context of the newest version in practice; ODCS reads only
        // the first page (of 10).
        p.push(("per_page", "100".into()));
        for (k, v) in [
            ("base_module_br_name", &self.base_module_br_name),
            ("base_module_br_stream", &self.base_module_br_stream),
            (
                "base_module_br_stream_version_lte",
                &self.base_module_br_stream_version_lte,
            ),
            (
                "base_module_br_stream_version_gte",
                &self.base_module_br_stream_version_gte,
            ),
        ] {
            if let Some(v) = v {
                p.push((k, v.clone()));
            }
        }
        p
    }
}

/// The failure of an MBS query: ODCS's `MBS has failed to query <url> : <reason>`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("MBS has failed to query {url} : {reason}")]
pub struct MbsError {
    pub url: String,
    pub reason: String,
}

/// The client; cheap to clone (clones share the query count).
#[derive(Clone)]
pub struct MbsClient {
    base: String,
    http: reqwest::Client,
    retries: u32,
    queries: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl MbsClient {
    /// A client of `settings.url` (`…/module-build-service`, with or without `/1/`).
    pub fn new(settings: &MbsSettings) -> Result<Self, String> {
        let mut base = settings.url.trim_end_matches('/').to_string();
        if let Some(b) = base.strip_suffix("/1") {
            base = b.to_string();
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_secs.max(1)))
            .user_agent(concat!("composed/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("mbs.url: {e}"))?;
        Ok(Self {
            base,
            http,
            retries: settings.retries,
            queries: Default::default(),
        })
    }

    /// HTTP requests sent so far by this client and its clones (retries included).
    pub fn queries(&self) -> u64 {
        self.queries.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The API root (`<base>/1`), as Pungi's `mbs_api_url` names it.
    pub fn api_url(&self) -> String {
        format!("{}/1", self.base)
    }

    /// `GET <base>/1/module-builds/?…`: the builds matching `q`, newest version first.
    pub async fn module_builds(&self, q: &Query) -> Result<Vec<ModuleBuild>, MbsError> {
        let url = format!("{}/1/module-builds/", self.base);
        let params = q.params();
        let fail = |reason: String| MbsError {
            url: url.clone(),
            reason: format!(
                "{reason} (query {})",
                params
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&")
            ),
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let full = reqwest::Url::parse_with_params(&url, &params)
                .map_err(|e| fail(format!("bad URL: {e}")))?;
            self.queries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let r = self.http.get(full).send().await;
            let retryable = match &r {
                Err(e) => e.is_connect() || e.is_timeout() || e.is_request(),
                Ok(resp) => resp.status().is_server_error(),
            };
            if retryable && attempt <= self.retries {
                tokio::time::sleep(Duration::from_millis(250 << attempt.min(5))).await;
                continue;
            }
            let resp = r.map_err(|e| fail(e.to_string()))?;
            let status = resp.status();
            let body = resp.bytes().await.map_err(|e| fail(e.to_string()))?;
            if !status.is_success() {
                let text = String::from_utf8_lossy(&body);
                let message = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(String::from))
                    .unwrap_or_else(|| text.chars().take(200).collect());
                return Err(fail(format!("HTTP {}: {message}", status.as_u16())));
            }
            let page: Page = serde_json::from_slice(&body)
                .map_err(|e| fail(format!("not an MBS answer: {e}")))?;
            return Ok(page.items);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers of the real MBS 3.9.2 frontend (tests/fixtures/modules/mbs-answers, captured
    /// by its capture.py) decode, and their modulemd parses as one v2 stream.
    #[test]
    fn real_mbs_answers_decode() {
        let page: Page = serde_json::from_str(include_str!(
            "../tests/fixtures/modules/mbs-answers/hello-2.json"
        ))
        .unwrap();
        let nsvcs: Vec<String> = page.items.iter().map(ModuleBuild::nsvc).collect();
        assert_eq!(
            nsvcs,
            vec![
                "hello:2:20240202000000:c0ffee42",
                "hello:2:20240101000000:c0ffee42"
            ],
            "newest version first"
        );
        let b = &page.items[0];
        assert_eq!(b.state, STATE_READY);
        assert_eq!(
            b.koji_tag.as_deref(),
            Some("module-hello-2-20240202000000-c0ffee42")
        );
        assert_eq!(
            b.base_module_buildrequires,
            vec![BaseModule {
                name: "platform".into(),
                stream: "f40".into(),
                stream_version: Some(400000.0)
            }]
        );
        let mmd = crate::modulemd::parse_stream(b.modulemd.as_deref().unwrap()).unwrap();
        assert_eq!(mmd.nsvc(), "hello:2:20240202000000:c0ffee42");
        for (file, n) in [
            (
                include_str!("../tests/fixtures/modules/mbs-answers/hello-devel-2.json"),
                0,
            ),
            (
                include_str!("../tests/fixtures/modules/mbs-answers/olddone-1-ready.json"),
                0,
            ),
            (
                include_str!("../tests/fixtures/modules/mbs-answers/olddone-1-done-ready.json"),
                1,
            ),
            (
                include_str!("../tests/fixtures/modules/mbs-answers/greet-1.json"),
                2,
            ),
        ] {
            let page: Page = serde_json::from_str(file).unwrap();
            assert_eq!(page.items.len(), n, "{file}");
        }
    }
}
