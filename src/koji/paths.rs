//! Koji topdir/topurl layout (`spec/koji.md` §7).

use super::types::{Build, Rpm};

/// Build directory relative to the topdir: `[vol/<volume>/]packages/<name>/<version>/<release>`.
pub fn build_dir(b: &Build) -> String {
    let base = format!("packages/{}/{}/{}", b.name, b.version, b.release);
    if b.volume_name.is_empty() || b.volume_name == "DEFAULT" {
        base
    } else {
        format!("vol/{}/{base}", b.volume_name)
    }
}

/// The unsigned RPM: `<build dir>/<arch>/<nvra>.rpm`.
pub fn rpm_path(b: &Build, r: &Rpm) -> String {
    format!("{}/{}/{}.rpm", build_dir(b), r.arch, r.nvra())
}

/// The signed copy: `<build dir>/data/signed/<sigkey>/<arch>/<nvra>.rpm`; the empty key is the
/// unsigned file.
pub fn signed_rpm_path(b: &Build, r: &Rpm, sigkey: &str) -> String {
    if sigkey.is_empty() {
        return rpm_path(b, r);
    }
    format!(
        "{}/data/signed/{}/{}/{}.rpm",
        build_dir(b),
        sigkey.to_ascii_lowercase(),
        r.arch,
        r.nvra()
    )
}

/// Joins a topurl (which may carry a path prefix) and a relative path.
pub fn join_url(topurl: &str, rel: &str) -> String {
    format!(
        "{}/{}",
        topurl.trim_end_matches('/'),
        rel.trim_start_matches('/')
    )
}

/// The key id as used in paths: last 8 hex digits, lower case.
pub fn short_sigkey(key: &str) -> String {
    let k = key.trim().to_ascii_lowercase();
    if k.len() > 8 {
        k[k.len() - 8..].to_string()
    } else {
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::koji::xmlrpc::Value;

    fn build(vol: &str) -> Build {
        Build {
            id: 1,
            name: "acme".into(),
            version: "1.0".into(),
            release: "1.fc40".into(),
            epoch: None,
            nvr: "acme-1.0-1.fc40".into(),
            volume_name: vol.into(),
            tag_name: None,
            create_event: None,
            extra: Value::Nil,
        }
    }
    fn rpm() -> Rpm {
        Rpm {
            id: 2,
            build_id: 1,
            name: "acme-libs".into(),
            version: "1.0".into(),
            release: "1.fc40".into(),
            epoch: Some(2),
            arch: "x86_64".into(),
            size: 1,
            payloadhash: String::new(),
            sigkey: None,
        }
    }

    #[test]
    fn layout() {
        assert_eq!(
            rpm_path(&build("DEFAULT"), &rpm()),
            "packages/acme/1.0/1.fc40/x86_64/acme-libs-1.0-1.fc40.x86_64.rpm"
        );
        assert_eq!(
            signed_rpm_path(&build("DEFAULT"), &rpm(), "4212DC1D"),
            "packages/acme/1.0/1.fc40/data/signed/4212dc1d/x86_64/acme-libs-1.0-1.fc40.x86_64.rpm"
        );
        assert_eq!(
            signed_rpm_path(&build("archive"), &rpm(), ""),
            "vol/archive/packages/acme/1.0/1.fc40/x86_64/acme-libs-1.0-1.fc40.x86_64.rpm"
        );
        assert_eq!(
            join_url("http://h/koji/", "/packages/x"),
            "http://h/koji/packages/x"
        );
        assert_eq!(short_sigkey("30EA4DEB4212DC1D"), "4212dc1d");
    }
}
