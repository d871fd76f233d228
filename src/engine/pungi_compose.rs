//! Phase 0, the `pungi_compose` source (contract §3.7): the RPM set of an existing compose,
//! Pungi's or composed's own. The source is the URL of one of its variant directories
//! (`…/compose/<Variant>/`); `<parent>/metadata/rpms.json` (productmd 1.x) gives the arches,
//! the builds (the source RPMs' NVRs), the package names and the sigkeys the compose was
//! made of, which then make a `build` compose from Koji.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use super::base::{EngineError, fail};

/// What a compose's `rpms.json` says it was made of.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Inputs {
    pub url: String,
    pub arches: Vec<String>,
    pub builds: Vec<String>,
    pub packages: Vec<String>,
    /// ODCS's sigkeys string: the keys space-joined, plus a trailing space (the unsigned
    /// copy as the last resort) when an RPM was unsigned.
    pub sigkeys: String,
}

/// `(variant, URL of rpms.json)` of a variant directory URL.
pub fn rpms_json_url(source: &str) -> Result<(String, String), EngineError> {
    let trimmed = source.trim().trim_end_matches('/');
    let Some((parent, variant)) = trimmed.rsplit_once('/') else {
        return fail(format!("The {source} is not a URL of a compose's variant."));
    };
    if variant.is_empty() || !(parent.starts_with("http://") || parent.starts_with("https://")) {
        return fail(format!("The {source} is not a URL of a compose's variant."));
    }
    Ok((variant.to_string(), format!("{parent}/metadata/rpms.json")))
}

/// `name-version-release` of a NEVRA `name-[epoch:]version-release.arch`.
fn nvr_of(nevra: &str) -> Option<String> {
    let (nevr, _arch) = nevra.rsplit_once('.')?;
    let (rest, release) = nevr.rsplit_once('-')?;
    let (name, ev) = rest.rsplit_once('-')?;
    let version = ev.split_once(':').map_or(ev, |(_, v)| v);
    Some(format!("{name}-{version}-{release}"))
}

fn name_of(nevra: &str) -> Option<String> {
    let nvr = nvr_of(nevra)?;
    let (rest, _) = nvr.rsplit_once('-')?;
    let (name, _) = rest.rsplit_once('-')?;
    Some(name.to_string())
}

/// The inputs of variant `variant` in the `rpms.json` document `doc` (read from `url`).
pub fn parse(doc: &Value, url: &str, variant: &str) -> Result<Inputs, EngineError> {
    let Some(arches) = doc
        .get("payload")
        .and_then(|p| p.get("rpms"))
        .and_then(|r| r.get(variant))
        .and_then(Value::as_object)
    else {
        return fail(format!(
            "The {url} does not contain payload -> rpms -> {variant} section"
        ));
    };
    let (mut builds, mut packages, mut keys) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let mut unsigned = false;
    for srpms in arches.values() {
        for (srpm, rpms) in srpms.as_object().into_iter().flatten() {
            builds.insert(
                nvr_of(srpm)
                    .ok_or_else(|| EngineError(format!("{url}: bad source RPM NEVRA {srpm}")))?,
            );
            for (nevra, data) in rpms.as_object().into_iter().flatten() {
                // Binary package names: source RPMs are no packages to install, and
                // debuginfo follows its build (the engine adds it by itself, Pungi too).
                let category = data.get("category").and_then(Value::as_str);
                if !nevra.ends_with(".src") && !matches!(category, Some("source" | "debug")) {
                    packages.insert(
                        name_of(nevra)
                            .ok_or_else(|| EngineError(format!("{url}: bad RPM NEVRA {nevra}")))?,
                    );
                }
                match data.get("sigkey").and_then(Value::as_str) {
                    Some(k) => {
                        keys.insert(k.to_string());
                    }
                    None => unsigned = true,
                }
            }
        }
    }
    let mut sigkeys = keys.into_iter().collect::<Vec<_>>().join(" ");
    if unsigned && !sigkeys.is_empty() {
        sigkeys.push(' ');
    }
    let mut arch_list: Vec<String> = arches.keys().cloned().collect();
    arch_list.sort();
    Ok(Inputs {
        url: url.to_string(),
        arches: arch_list,
        builds: builds.into_iter().collect(),
        packages: packages.into_iter().collect(),
        sigkeys,
    })
}

/// Reads the `rpms.json` of the compose `source` names.
pub async fn fetch(source: &str, timeout: Duration) -> Result<Inputs, EngineError> {
    let (variant, url) = rpms_json_url(source)?;
    let err = |e: String| EngineError(format!("Cannot read {url}: {e}"));
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("composed/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| err(e.to_string()))?;
    let resp = http
        .get(&url)
        .send()
        .await
        .map_err(|e| err(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(err(format!("HTTP {}", resp.status().as_u16())));
    }
    let body = resp.bytes().await.map_err(|e| err(e.to_string()))?;
    let doc: Value = serde_json::from_slice(&body).map_err(|e| err(format!("not JSON: {e}")))?;
    parse(&doc, &url, &variant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rpms_json_gives_arches_builds_names_and_sigkeys() {
        let doc = json!({"header": {"type": "productmd.rpms", "version": "1.2"}, "payload": {
            "compose": {"id": "x"},
            "rpms": {"Server": {
                "x86_64": {
                    "acme-1:2.0-3.fc40.src": {
                        "acme-1:2.0-3.fc40.x86_64": {"sigkey": "abcd", "category": "binary", "path": "p"},
                        "acme-libs-1:2.0-3.fc40.x86_64": {"sigkey": null, "category": "binary", "path": "p"},
                        "acme-debuginfo-1:2.0-3.fc40.x86_64": {"sigkey": "abcd", "category": "debug", "path": "p"},
                        "acme-1:2.0-3.fc40.src": {"sigkey": "abcd", "category": "source", "path": "p"}}},
                "aarch64": {
                    "b-0:1-1.src": {"b-0:1-1.noarch": {"sigkey": "ef01", "category": "binary", "path": "p"}}}}}}});
        let i = parse(&doc, "u", "Server").unwrap();
        assert_eq!(i.arches, vec!["aarch64", "x86_64"]);
        assert_eq!(i.builds, vec!["acme-2.0-3.fc40", "b-1-1"]);
        assert_eq!(i.packages, vec!["acme", "acme-libs", "b"]);
        assert_eq!(i.sigkeys, "abcd ef01 ");
        assert_eq!(
            parse(&doc, "u", "Client").unwrap_err().0,
            "The u does not contain payload -> rpms -> Client section"
        );
    }

    #[test]
    fn variant_and_metadata_url_of_a_source() {
        assert_eq!(
            rpms_json_url("https://h/c/latest/compose/Server/").unwrap(),
            (
                "Server".to_string(),
                "https://h/c/latest/compose/metadata/rpms.json".to_string()
            )
        );
        assert!(rpms_json_url("Server").is_err());
    }
}
