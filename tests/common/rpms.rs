//! RPM files for the tests, built with the rpm crate (no rpmbuild needed).

use std::path::{Path, PathBuf};

use rpm::{Dependency, FileOptions, PackageBuilder};

pub struct Rpm<'a> {
    pub name: &'a str,
    pub arch: &'a str,
    pub requires: &'a [&'a str],
    pub provides: &'a [&'a str],
    pub files: &'a [&'a str],
}

fn dep(text: &str) -> Dependency {
    let parts: Vec<&str> = text.split_whitespace().collect();
    match parts.as_slice() {
        [n, ">=", v] => Dependency::greater_eq(*n, *v),
        [n, "=", v] => Dependency::eq(*n, *v),
        [n, "<=", v] => Dependency::less_eq(*n, *v),
        [n, ">", v] => Dependency::greater(*n, *v),
        _ => Dependency::any(text),
    }
}

/// Writes one RPM built with the rpm crate; returns its path.
pub fn write_rpm(dir: &Path, r: &Rpm, version: &str, release: &str) -> PathBuf {
    let mut b = PackageBuilder::new(
        r.name,
        version,
        "MIT",
        r.arch,
        &format!("{} test package", r.name),
    );
    b.release(release).description("Built by composed's tests.");
    for q in r.requires {
        b.requires(dep(q));
    }
    for p in r.provides {
        b.provides(dep(p));
    }
    for f in r.files {
        b.with_file_contents(
            format!("{} {f}\n", r.name).into_bytes(),
            FileOptions::new(*f),
        )
        .unwrap();
    }
    let pkg = b.build().unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("{}-{version}-{release}.{}.rpm", r.name, r.arch));
    pkg.write_file(&path).unwrap();
    path
}

pub fn r<'a>(
    name: &'a str,
    arch: &'a str,
    requires: &'a [&'a str],
    provides: &'a [&'a str],
    files: &'a [&'a str],
) -> Rpm<'a> {
    Rpm {
        name,
        arch,
        requires,
        provides,
        files,
    }
}

/// `n` small noarch RPMs `<prefix>-<i>` (each with one file, payload not compressed) in `dir`.
pub fn write_many(dir: &Path, prefix: &str, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let name = format!("{prefix}-{i}");
        let mut b = PackageBuilder::new(&name, "1.0", "MIT", "noarch", "test package");
        b.using_config(rpm::BuildConfig::default().compression(rpm::CompressionWithLevel::None));
        b.release("1");
        b.with_file_contents(
            format!("{name}\n").into_bytes(),
            FileOptions::new(format!("/usr/share/{prefix}/{i}")),
        )
        .unwrap();
        let pkg = b.build().unwrap();
        pkg.write_file(dir.join(format!("{name}-1.0-1.noarch.rpm")))
            .unwrap();
    }
}

/// Like [`write_many`], but built once per target directory and shared by the tests (read
/// only): `target/tmp/rpms-<prefix>-<n>`.
pub fn cached_many(prefix: &str, n: usize) -> PathBuf {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = base.join(format!("rpms-{prefix}-{n}"));
    if dir.is_dir() {
        return dir;
    }
    // Test processes run in parallel: one builds the set, the others wait for it.
    let lock = base.join(format!(".rpms-{prefix}-{n}.lock"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(900);
    loop {
        if dir.is_dir() {
            return dir;
        }
        let stale = std::fs::metadata(&lock)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default().as_secs() > 600);
        if stale {
            let _ = std::fs::remove_file(&lock);
        }
        if std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
            .is_ok()
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waited too long for {}",
            dir.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let building = base.join(format!(".rpms-{prefix}-{n}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    write_many(&building, prefix, n);
    std::fs::rename(&building, &dir).unwrap();
    let _ = std::fs::remove_file(&lock);
    dir
}
