//! RPM header reading with a process-wide cache keyed by (path, size, mtime): a warm compose
//! reads no header twice. Entries are the repodata `Package` built from the header, with the
//! whole-file sha256 (createrepo_c's `pkgid`), and its repodata XML once a repository has
//! needed it (rendered once per process, copied into every repository after).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::UNIX_EPOCH;

use rpmrepo_metadata::{Package, PackageOptions, PackageSource, PackageXml};

/// One RPM's header as repodata sees it, and its `<package>` elements once rendered.
#[derive(Debug)]
pub struct Header {
    pkg: Package,
    xml: OnceLock<Result<PackageXml, String>>,
}

impl Header {
    pub fn new(pkg: Package) -> Self {
        Self {
            pkg,
            xml: OnceLock::new(),
        }
    }

    pub fn package(&self) -> &Package {
        &self.pkg
    }

    /// The package's primary, filelists and other elements, rendered on first use.
    pub fn xml(&self) -> Result<&PackageXml, String> {
        self.xml
            .get_or_init(|| {
                PackageXml::render(&self.pkg).map_err(|e| format!("{}: {e}", self.pkg.nvra()))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl std::ops::Deref for Header {
    type Target = Package;
    fn deref(&self) -> &Package {
        &self.pkg
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    path: PathBuf,
    size: u64,
    mtime: u64,
}

/// A file's size and mtime (seconds), what the cache checks a path against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    pub size: u64,
    pub mtime: u64,
}

impl FileStat {
    pub fn of(meta: &std::fs::Metadata) -> Self {
        Self {
            size: meta.len(),
            mtime: meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs())
                .unwrap_or(0),
        }
    }
}

type Cache = HashMap<Key, Arc<Header>, ahash::RandomState>;

fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(Cache::default()))
}

/// Number of cached headers (for tests and metrics).
pub fn cached() -> usize {
    cache().lock().map(|c| c.len()).unwrap_or(0)
}

/// Reads (or recalls) the header of the RPM at `path`. The package's `location_href` is its
/// place in a compose tree (`Packages/<letter>/<nvra>.rpm`), the same in every repository.
pub fn read(path: &Path) -> Result<Arc<Header>, String> {
    read_with(path, None)
}

/// [`read`], with the file's size and mtime when the caller has just looked at them.
pub fn read_with(path: &Path, stat: Option<FileStat>) -> Result<Arc<Header>, String> {
    let st = match stat {
        Some(s) => s,
        None => {
            FileStat::of(&std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
    };
    let (size, mtime) = (st.size, st.mtime);
    let key = Key {
        path: path.to_path_buf(),
        size,
        mtime,
    };
    if let Some(p) = cache().lock().expect("header cache").get(&key) {
        return Ok(p.clone());
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let checksum =
        rpmrepo_metadata::utils::checksum_bytes(&bytes, rpmrepo_metadata::ChecksumType::Sha256)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    let header = rpm::PackageMetadata::parse(&mut std::io::BufReader::new(&bytes[..]))
        .map_err(|e| format!("{}: not a readable RPM: {e}", path.display()))?;
    let source = PackageSource {
        checksum: Some(checksum),
        size_package: Some(bytes.len() as u64),
        time_file: mtime,
        location_href: String::new(),
        location_base: None,
    };
    let mut pkg = Package::from_package_metadata(&header, source, PackageOptions::default())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    pkg.set_location_href(package_href(&pkg));
    let pkg = Arc::new(Header::new(pkg));
    cache()
        .lock()
        .expect("header cache")
        .insert(key, pkg.clone());
    Ok(pkg)
}

/// Forgets every cached header (benchmarks measure cold composes with it).
pub fn clear() {
    if let Ok(mut c) = cache().lock() {
        c.clear();
    }
}

/// The package's path in its repository: `Packages/<first letter>/<NVRA>.rpm` (Pungi's layout).
pub fn package_href(p: &Package) -> String {
    let file = format!("{}.rpm", p.nvra());
    let letter = file.chars().next().unwrap_or('_').to_ascii_lowercase();
    format!("Packages/{letter}/{file}")
}
