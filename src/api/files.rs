//! The compose directory served over HTTP (`server.serve_composes`, under
//! `server.composes_path`), confined to `composes.target_dir`.
//!
//! Only regular files and directories whose canonical path (symlinks resolved) lies inside the
//! canonical target directory are served; no path component may start with `.` (the staging
//! directories `.odcs-<N>.tmp-…` included), either as requested or after resolving. Symlinks
//! composed makes itself (`latest-*` inside the tree) resolve inside the directory and are
//! followed. Files are answered by [`NamedFile`] (Range, ETag, Last-Modified); directories by a
//! listing whose names are HTML-escaped and whose links are percent-encoded. Refusals and
//! missing paths are 404, malformed paths 400, both in the JSON error envelope.

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};

use actix_files::NamedFile;
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::web::error::ApiError;
use crate::web::request::escape_html;

/// Bytes left as they are in a listing's links: RFC 3986 unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The served directory: as configured, and canonical once it exists.
struct Root {
    dir: PathBuf,
    canonical: OnceLock<PathBuf>,
}

impl Root {
    /// The canonical target directory; `None` while it does not exist.
    fn canonical(&self) -> Option<&Path> {
        if let Some(c) = self.canonical.get() {
            return Some(c);
        }
        let c = std::fs::canonicalize(&self.dir).ok()?;
        if !std::fs::metadata(&c).is_ok_and(|m| m.is_dir()) {
            return None;
        }
        Some(self.canonical.get_or_init(|| c))
    }
}

/// The file server mounted at `mount` (no trailing slash; empty for the root) over `dir`.
pub fn service(mount: &str, dir: PathBuf) -> actix_web::Scope {
    let root = Arc::new(Root {
        canonical: OnceLock::new(),
        dir,
    });
    // Canonicalised once here when the directory exists already, else at the first request.
    let _ = root.canonical();
    let mount_path = Arc::new(mount.trim_end_matches('/').to_string());
    web::scope(mount).default_service(web::to(move |req: HttpRequest| {
        let root = root.clone();
        let mount = mount_path.clone();
        async move { serve(req, root, mount).await }
    }))
}

/// What a request resolved to.
enum Found {
    File(Box<NamedFile>),
    Listing(String),
}

async fn serve(
    req: HttpRequest,
    root: Arc<Root>,
    mount: Arc<String>,
) -> Result<HttpResponse, ApiError> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(crate::web::request::method_not_allowed(
            &req,
            "GET, HEAD, OPTIONS",
        ));
    }
    // The tail after the mount; actix keeps `%2F`, `%25` and `%2B` encoded in it, so decoding
    // each segment once here sees exactly what the client sent.
    let segments = parse_tail(req.match_info().unprocessed())?;
    let found = web::block(move || resolve(&root, &mount, &segments)).await??;
    Ok(match found {
        Found::File(file) => file.into_response(&req),
        Found::Listing(html) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(html),
    })
}

/// The decoded path segments of the tail (a trailing slash is optional: a directory is listed
/// either way, as actix-files did). `.`, `..`, empty inner segments, and segments that decode to something holding `/` or NUL
/// (or that are not UTF-8) are bad requests; a segment starting with `.` is not found.
fn parse_tail(tail: &str) -> Result<Vec<String>, ApiError> {
    let bad = || ApiError::bad_request(format!("Invalid path: {tail}"));
    let trimmed = tail.strip_prefix('/').unwrap_or(tail);
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    let mut segments = Vec::new();
    if trimmed.is_empty() {
        return Ok(segments);
    }
    for raw in trimmed.split('/') {
        let seg = percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| bad())?
            .into_owned();
        if seg.is_empty() || seg == "." || seg == ".." || seg.contains(['/', '\0']) {
            return Err(bad());
        }
        segments.push(seg);
    }
    if segments.iter().any(|s| s.starts_with('.')) {
        return Err(not_found());
    }
    Ok(segments)
}

fn not_found() -> ApiError {
    ApiError::not_found("The requested URL was not found on the server.")
}

/// Whether `path` (canonical) lies inside `root` (canonical) with no component below it
/// starting with `.`.
fn confined(root: &Path, path: &Path) -> bool {
    match path.strip_prefix(root) {
        Ok(rel) => rel.components().all(|c| match c {
            Component::Normal(n) => !n.as_encoded_bytes().starts_with(b"."),
            _ => false,
        }),
        Err(_) => false,
    }
}

/// Blocking: the file or listing of `segments` below the root, or why not.
fn resolve(root: &Root, mount: &str, segments: &[String]) -> Result<Found, ApiError> {
    let base = root.canonical().ok_or_else(not_found)?;
    let requested: PathBuf = segments.iter().fold(base.to_path_buf(), |p, s| p.join(s));
    let real = match std::fs::canonicalize(&requested) {
        Ok(r) => r,
        Err(_) => return live_log(base, segments, &requested),
    };
    if !confined(base, &real) {
        return Err(not_found());
    }
    let meta = std::fs::metadata(&real).map_err(|_| not_found())?;
    if meta.is_dir() {
        return listing(base, &real, mount, segments).map(Found::Listing);
    }
    if !meta.is_file() {
        return Err(not_found());
    }
    let file = std::fs::File::open(&real).map_err(|_| not_found())?;
    let opened = file.metadata().map_err(|_| not_found())?;
    if !opened.is_file() || !opened_inside(&file, base) {
        return Err(not_found());
    }
    // The requested name (not the link target's) gives Content-Type and Content-Disposition,
    // as before.
    named(file, &requested)
}

/// A file as served; a log is `text/plain` without a charset, so that a client counting the
/// characters it decoded (`odcs --watch` asks for `Range: bytes=<that count>-`) counts bytes.
fn named(file: std::fs::File, requested: &Path) -> Result<Found, ApiError> {
    let f = NamedFile::from_file(file, requested).map_err(|_| not_found())?;
    let f = if requested.extension().is_some_and(|e| e == "log") {
        f.set_content_type(actix_web::mime::TEXT_PLAIN)
            .prefer_utf8(false)
    } else {
        f
    };
    Ok(Found::File(Box::new(f)))
}

/// `odcs-<N>/pungi-stderr.log` of a compose that has no directory (yet, or at all: it is
/// generating or failed) is its log beside the directories, `.odcs-<N>.log`
/// (`layout::live_log`), a regular file (not a symlink) directly in the root.
fn live_log(base: &Path, segments: &[String], requested: &Path) -> Result<Found, ApiError> {
    let id = match segments {
        [dir, file] if file == crate::layout::LOG_NAME => dir
            .strip_prefix("odcs-")
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<i64>().ok())
            .ok_or_else(not_found)?,
        _ => return Err(not_found()),
    };
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(crate::layout::live_log(base, id))
        .map_err(|_| not_found())?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err(not_found());
    }
    named(file, requested)
}

/// Where the kernel says the opened file is, when it says (Linux `/proc`): a path swapped for a
/// symlink between the check and the open still cannot leave the root.
fn opened_inside(file: &std::fs::File, base: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        if let Ok(at) = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())) {
            return confined(base, &at);
        }
    }
    let _ = (file, base);
    true
}

/// The URL path of the directory `segments` below the mount, with a trailing slash.
fn dir_href(mount: &str, segments: &[String]) -> String {
    let mut href = format!("{mount}/");
    for s in segments {
        href.push_str(&utf8_percent_encode(s, SEGMENT).to_string());
        href.push('/');
    }
    href
}

/// The HTML listing of `dir` (canonical, inside `base`): sorted names, without dot-files and
/// without entries that resolve outside the root or to anything but a file or a directory.
fn listing(base: &Path, dir: &Path, mount: &str, segments: &[String]) -> Result<String, ApiError> {
    let entries = std::fs::read_dir(dir).map_err(|_| not_found())?;
    let mut names: Vec<(String, bool)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            if name.starts_with('.') {
                return None;
            }
            let real = std::fs::canonicalize(entry.path()).ok()?;
            if !confined(base, &real) {
                return None;
            }
            let meta = std::fs::metadata(&real).ok()?;
            (meta.is_file() || meta.is_dir()).then_some((name, meta.is_dir()))
        })
        .collect();
    names.sort();
    let here = dir_href(mount, segments);
    let shown: String = segments.iter().map(|s| format!("{s}/")).collect();
    let title = escape_html(&format!("Index of {mount}/{shown}"));
    let mut body = String::new();
    if let Some((_, parent)) = segments.split_last() {
        body.push_str(&format!(
            "<li><a href=\"{}\">../</a></li>",
            escape_html(&dir_href(mount, parent))
        ));
    }
    for (name, is_dir) in &names {
        let mut href = format!("{here}{}", utf8_percent_encode(name, SEGMENT));
        let mut text = escape_html(name);
        if *is_dir {
            href.push('/');
            text.push('/');
        }
        body.push_str(&format!(
            "<li><a href=\"{}\">{text}</a></li>",
            escape_html(&href)
        ));
    }
    Ok(format!(
        "<html><head><title>{title}</title></head><body><h1>{title}</h1><ul>{body}</ul></body>\n</html>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::StatusCode;

    #[test]
    fn tails() {
        assert!(parse_tail("").unwrap().is_empty());
        assert!(parse_tail("/").unwrap().is_empty());
        assert_eq!(parse_tail("/a/b").unwrap(), ["a", "b"]);
        assert_eq!(parse_tail("/a%20b/").unwrap(), ["a b"]);
        for bad in [
            "/a%2fb",
            "/a%2Fb",
            "/..",
            "/%2e%2e/x",
            "/./x",
            "/a//b",
            "/a%00",
            "/%ff",
        ] {
            assert_eq!(
                parse_tail(bad).unwrap_err().status,
                StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }
        for hidden in ["/.git", "/a/.x/b", "/%2ehidden"] {
            assert_eq!(
                parse_tail(hidden).unwrap_err().status,
                StatusCode::NOT_FOUND,
                "{hidden}"
            );
        }
    }

    #[test]
    fn confinement() {
        let root = Path::new("/srv/c");
        assert!(confined(root, Path::new("/srv/c")));
        assert!(confined(root, Path::new("/srv/c/odcs-1/x")));
        assert!(!confined(root, Path::new("/srv/cc/x")));
        assert!(!confined(root, Path::new("/etc/passwd")));
        assert!(!confined(root, Path::new("/srv/c/.odcs-1.tmp-h-1/x")));
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape_html("a\"onmouseover=\"x<&>'"),
            "a&quot;onmouseover=&quot;x&lt;&amp;&gt;&#x27;"
        );
        assert_eq!(
            dir_href("/composes", &["a\"b c".into()]),
            "/composes/a%22b%20c/"
        );
    }
}
