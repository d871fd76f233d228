//! ISO 9660 images of a directory tree, written in one pass: ECMA-119 with Rock Ridge
//! (SUSP 1.12 / RRIP 1.10, "rationalized" as `mkisofs -rational-rock` makes it: uid and gid 0,
//! read for all, execute for all when any was set, no write bits) and a Joliet tree (UCS-2,
//! names up to 103 characters as `-joliet-long` allows), the image `genisoimage
//! -untranslated-filenames -J -joliet-long -rational-rock` or `xorriso -as mkisofs` make of
//! a compose tree.
//!
//! The MD5 that `implantisomd5` would implant (isomd5sum's format: the whole image but the
//! last 15 sectors, read in 32 KiB chunks with the application-use field blank, 20 fragment
//! sums) is computed from the bytes as they are written and implanted at the end, so
//! `checkisomd5` verifies the image without a second tool reading it all again. The SHA-256
//! of the finished image is computed last: from memory for an image of up to `KEEP_MAX`
//! (whose buffers are kept, and which is written with `O_DIRECT`), else read back.
//!
//! Layout: system area (16 zero sectors), primary, Joliet and terminating volume descriptors,
//! the data of the files written early ([`start`]; none for [`write`]), the two root
//! directories, the four path tables, the other primary then Joliet directories (breadth
//! first), the SUSP continuation area, the other files' data in the order of the primary
//! directories, then padding. As the MD5 covers the image in order from its first sector,
//! only the volume descriptors must be known before the data: [`start`] renders them from
//! the tree as it is expected to be and writes the packages while the rest of the tree is
//! made; [`Started::finish`] completes the image, or says that the tree differs.
//! Files of 4 GiB and more are recorded as multi-extent files. Directories deeper than eight
//! levels are written where they are (no `rr_moved` relocation): readers of Rock Ridge and
//! Joliet accept them.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use openssl::hash::{Hasher, MessageDigest};
use sha2::{Digest, Sha256};

const SECTOR: u64 = 2048;
/// The largest extent of a multi-extent file: a whole number of sectors under 4 GiB.
const MAX_EXTENT: u64 = 0xFFFF_F800;
/// Where the application-use field of the primary volume descriptor starts.
const APPDATA_OFFSET: u64 = 883;
const APPDATA_SIZE: usize = 512;
/// isomd5sum's constants: sectors left out at the end, fragment count and the characters of
/// all fragment sums, and the chunk its readers hash at a time.
const SKIPSECTORS: u64 = 15;
const FRAGMENT_COUNT: u64 = 20;
const FRAGMENT_SUM_SIZE: usize = 60;
const MD5_CHUNK: u64 = 16 * SECTOR;
/// Padding after the data (genisoimage's default 150 sectors), and the smallest image: an
/// image under about 700 KiB fails `checkisomd5` (its last fragment runs into the skipped
/// sectors), so none is smaller than 1 MiB.
const PAD_SECTORS: u32 = 150;
const MIN_SECTORS: u32 = 512;
/// Output buffer: a whole number of MD5 chunks.
const BUF: usize = 64 * MD5_CHUNK as usize;

/// What goes into the volume descriptors.
#[derive(Clone)]
pub struct Options {
    /// At most 32 characters (16 in the Joliet descriptor).
    pub volume_id: String,
    pub system_id: String,
    pub application_id: String,
    /// Implant isomd5sum's MD5 into the application-use field.
    pub implant_md5: bool,
    /// The volume's creation time, seconds since the epoch.
    pub created: i64,
}

/// The image written.
#[derive(Debug)]
pub struct Written {
    pub size: u64,
    pub sha256: String,
    /// The MD5 implanted, as `checkisomd5 --md5sumonly` prints it.
    pub implanted_md5: Option<String>,
    /// Every directory and file of the tree as `/<path>`, sorted bytewise.
    pub paths: Vec<String>,
}

enum Kind {
    Dir(Vec<usize>),
    File(u64),
    Link(Vec<u8>),
}

struct Node {
    disk: PathBuf,
    rel: String,
    kind: Kind,
    /// Rationalized POSIX mode.
    mode: u32,
    mtime: i64,
    parent: usize,
    /// Primary (ECMA-119) identifier, unique in its directory.
    id: Vec<u8>,
    /// Joliet identifier, UCS-2 big-endian, unique in its directory.
    jid: Vec<u8>,
    /// Files: the first data sector. Directories: the primary directory's sector.
    extent: u32,
    /// Directories: the Joliet directory's sector.
    jextent: u32,
    /// Directories: bytes of the primary and Joliet directory (whole sectors).
    dir_len: u32,
    jdir_len: u32,
}

fn err(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Writes the image of `tree` to `out`. `cancelled` is asked between files; when it answers
/// true the write stops with an `Interrupted` error (the caller removes the partial file).
pub fn write(
    tree: &Path,
    out: &Path,
    opts: &Options,
    cancelled: &dyn Fn() -> bool,
) -> io::Result<Written> {
    write_keeping(tree, out, opts, cancelled, KEEP_MAX)
}

/// [`write`], the image kept in memory when it is at most `keep_max` bytes.
fn write_keeping(
    tree: &Path,
    out: &Path,
    opts: &Options,
    cancelled: &dyn Fn() -> bool,
    keep_max: u64,
) -> io::Result<Written> {
    let mut nodes = scan(tree, &Default::default())?;
    assign_ids(&mut nodes);
    let layout = lay_out(&mut nodes, FIRST_DATA_SECTOR)?;
    let total = (layout.tail_end + PAD_SECTORS).max(MIN_SECTORS);
    let mut w = create(out, opts, total, keep_max)?;
    w.put(&layout.head.render(opts, total, nodes[0].mtime))?;
    write_tail(&mut w, &nodes, &layout, cancelled)?;
    seal(w, total, nodes)
}

/// A file put on the image before the tree is whole (see [`start`]).
pub struct Early {
    /// Its path in the tree, `Packages/a/a-1-1.noarch.rpm`.
    pub rel: String,
    /// Where its bytes are read from now: the same file as the tree's at `rel` will be.
    pub disk: PathBuf,
    pub size: u64,
    pub mtime: i64,
}

/// What the tree will hold besides the early files, by name: directories and files of its
/// root (their contents may be anything), and about how many bytes of file data they add.
#[derive(Clone, Copy)]
pub struct Expected {
    pub dirs: &'static [&'static str],
    pub files: &'static [&'static str],
    pub late_bytes: u64,
}

/// An image whose early files are being written, for [`Started::finish`] to complete once
/// the tree is whole.
///
/// Layout: system area, the volume descriptors, the early files' data, then the rest (the
/// directories, path tables, continuation area, the other files' data, padding). The volume
/// descriptors come first and are hashed first, so they are rendered from the tree as
/// expected: its directories, the names in its root and an allowance for the files to come.
/// `finish` checks the whole tree against them; when it differs (a root name or directory
/// not expected, more data than the allowance) it answers [`Finished::Differs`] and the
/// caller writes the image again with [`write`].
pub struct Started {
    writer: Option<std::thread::JoinHandle<io::Result<EarlyWritten>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// What the early writer leaves for [`Started::finish`]: the image so far, the volume
/// descriptors' values and size it was started with, the early files by path (extent, size,
/// mtime).
struct EarlyWritten {
    w: Out,
    head: Head,
    total: u32,
    early: std::collections::HashMap<String, (u32, u64, i64)>,
}

/// What [`Started::finish`] made of the image.
#[derive(Debug)]
pub enum Finished {
    Written(Written),
    /// The whole tree does not fit the image started; why.
    Differs(String),
}

/// Starts the image of a tree that is still being made: on a thread of its own (the
/// implanted MD5 computed on another), lays the expected tree out, writes the volume
/// descriptors and the data of `early`. `cancelled` is asked between files; errors are
/// [`Started::finish`]'s.
pub fn start(
    out: &Path,
    opts: &Options,
    early: Vec<Early>,
    expected: &Expected,
    cancelled: std::sync::Arc<dyn Fn() -> bool + Send + Sync>,
) -> io::Result<Started> {
    let (out, opts, expected) = (out.to_path_buf(), opts.clone(), *expected);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    let writer = std::thread::Builder::new()
        .name("iso-early".into())
        .spawn(move || {
            let mut started = begin(&out, &opts, &early, &expected)?;
            let mut noatime = true;
            for e in &early {
                if stopped.load(std::sync::atomic::Ordering::Relaxed) || cancelled() {
                    return Err(io::Error::new(io::ErrorKind::Interrupted, "canceled"));
                }
                let mut src = open_read(rustix::fs::CWD, &e.disk, &mut noatime, &e.disk)?;
                started.w.copy_from(&mut src, e.size, &e.disk)?;
                started.w.pad_sector()?;
            }
            Ok(started)
        })?;
    Ok(Started {
        writer: Some(writer),
        stop,
    })
}

/// The image file of the tree expected, its volume descriptors written.
fn begin(
    out: &Path,
    opts: &Options,
    early: &[Early],
    expected: &Expected,
) -> io::Result<EarlyWritten> {
    let mut at = FIRST_DATA_SECTOR;
    let mut extents = std::collections::HashMap::with_capacity(early.len());
    for e in early {
        extents.insert(e.rel.clone(), (at, e.size, e.mtime));
        at = at
            .checked_add(sectors(e.size))
            .ok_or_else(|| invalid("the tree is too large for ISO 9660".into()))?;
    }
    let mut nodes = expected_tree(&extents, expected, opts.created)?;
    assign_ids(&mut nodes);
    let layout = lay_out(&mut nodes, at)?;
    let total = layout
        .tail_end
        .checked_add(sectors(expected.late_bytes) + PAD_SECTORS)
        .ok_or_else(|| invalid("the tree is too large for ISO 9660".into()))?
        .max(MIN_SECTORS);
    let mut w = create(out, opts, total, KEEP_MAX)?;
    w.put(&layout.head.render(opts, total, nodes[0].mtime))?;
    Ok(EarlyWritten {
        w,
        head: layout.head,
        total,
        early: extents,
    })
}

impl Started {
    /// Completes the image with the whole tree at `tree`, whose early files are those given
    /// to [`start`] (their sizes are not read again).
    pub fn finish(mut self, tree: &Path, cancelled: &dyn Fn() -> bool) -> io::Result<Finished> {
        let writer = self.writer.take().expect("joined once");
        let EarlyWritten {
            mut w,
            head,
            total,
            early,
        } = writer
            .join()
            .map_err(|_| io::Error::other("the ISO writer panicked"))??;
        let mut nodes = scan(tree, &early)?;
        assign_ids(&mut nodes);
        // Only the early files have an extent before the layout.
        let found = nodes.iter().filter(|n| n.extent != 0).count();
        if found != early.len() {
            return Ok(Finished::Differs(format!(
                "{} of the {} files written early are not in the tree",
                early.len() - found,
                early.len()
            )));
        }
        let layout = lay_out(&mut nodes, w.offset().div_ceil(SECTOR) as u32)?;
        if layout.head != head {
            return Ok(Finished::Differs(
                "the tree's root or directories are not the ones expected".into(),
            ));
        }
        if layout.tail_end as u64 + SKIPSECTORS > total as u64 {
            return Ok(Finished::Differs(format!(
                "the tree needs {} sectors, the image started has {}",
                layout.tail_end as u64 + SKIPSECTORS,
                total
            )));
        }
        write_tail(&mut w, &nodes, &layout, cancelled)?;
        seal(w, total, nodes).map(Finished::Written)
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

/// The tree `start` is told of, as nodes: the early files (by path: extent, size, mtime),
/// their directories, and what is expected in the root.
fn expected_tree(
    early: &std::collections::HashMap<String, (u32, u64, i64)>,
    expected: &Expected,
    time: i64,
) -> io::Result<Vec<Node>> {
    type Dirs = std::collections::HashMap<String, usize>;
    fn add(nodes: &mut Vec<Node>, parent: usize, rel: &str, kind: Kind, mode: u32) -> usize {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let i = nodes.len();
        let n = Node::new(name.into(), format!("/{rel}"), kind, mode, 0, parent);
        nodes.push(n);
        if let Kind::Dir(c) = &mut nodes[parent].kind {
            c.push(i);
        }
        i
    }
    fn dir_of(nodes: &mut Vec<Node>, dirs: &mut Dirs, rel: &str) -> usize {
        if let Some(&d) = dirs.get(rel) {
            return d;
        }
        let parent = rel.rsplit_once('/').map_or("", |(p, _)| p);
        let p = dir_of(nodes, dirs, parent);
        let i = add(nodes, p, rel, Kind::Dir(vec![]), 0o040_555);
        dirs.insert(rel.to_string(), i);
        i
    }
    let root = Node::new(
        PathBuf::new(),
        String::new(),
        Kind::Dir(vec![]),
        0o040_555,
        time,
        0,
    );
    let mut nodes = vec![root];
    let mut dirs: Dirs = [(String::new(), 0)].into();
    // In the order `scan` finds them, so that clashing identifiers are numbered alike.
    let mut files: Vec<(&str, u32, u64)> = early
        .iter()
        .map(|(rel, &(extent, size, _))| (rel.as_str(), extent, size))
        .chain(expected.files.iter().map(|f| (*f, 0, 0)))
        .collect();
    files.sort_unstable_by_key(|f| f.0.as_bytes());
    for (rel, extent, size) in files {
        if rel.is_empty()
            || rel.starts_with('/')
            || rel
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(invalid(format!("{rel:?}: not a relative path in the tree")));
        }
        let parent = rel.rsplit_once('/').map_or("", |(p, _)| p);
        let p = dir_of(&mut nodes, &mut dirs, parent);
        let f = add(&mut nodes, p, rel, Kind::File(size), 0o100_444);
        nodes[f].extent = extent;
    }
    for d in expected.dirs {
        dir_of(&mut nodes, &mut dirs, d);
    }
    Ok(nodes)
}

/// The first sector after the system area and the three volume descriptors.
const FIRST_DATA_SECTOR: u32 = 19;

/// What the volume descriptors say of the tree's layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Head {
    pt_len: u32,
    jpt_len: u32,
    /// Path tables: little- and big-endian, primary and Joliet.
    ptl: u32,
    ptm: u32,
    jptl: u32,
    jptm: u32,
    root_extent: u32,
    root_len: u32,
    jroot_extent: u32,
    jroot_len: u32,
}

impl Head {
    /// The system area and the primary, Joliet and terminating volume descriptors.
    fn render(&self, opts: &Options, total: u32, root_mtime: i64) -> Vec<u8> {
        let mut b = vec![0u8; 16 * SECTOR as usize];
        let vd = VolumeDescriptor {
            total,
            pt_len: self.pt_len,
            l: self.ptl,
            m: self.ptm,
            root_extent: self.root_extent,
            root_len: self.root_len,
            created: opts.created,
        };
        b.extend(vd.render(1, opts, root_mtime));
        let jvd = VolumeDescriptor {
            pt_len: self.jpt_len,
            l: self.jptl,
            m: self.jptm,
            root_extent: self.jroot_extent,
            root_len: self.jroot_len,
            ..vd
        };
        b.extend(jvd.render(2, opts, root_mtime));
        let mut term = [0u8; SECTOR as usize];
        term[0] = 255;
        term[1..6].copy_from_slice(b"CD001");
        term[6] = 1;
        b.extend_from_slice(&term);
        b
    }
}

/// Where everything after the early data goes, from `tail_start` on: the two root
/// directories, the four path tables, the other primary then Joliet directories (breadth
/// first), the continuation area, then the data of every file without an extent yet.
struct Layout {
    head: Head,
    precs: Vec<Vec<Rec>>,
    jrecs: Vec<Vec<Rec>>,
    tables: [Vec<u8>; 4],
    ce: Vec<u8>,
    ce_base: u32,
    files: Vec<usize>,
    /// The first sector after the data; also where empty files point.
    tail_end: u32,
}

fn lay_out(nodes: &mut [Node], tail_start: u32) -> io::Result<Layout> {
    let too_large = || invalid("the tree is too large for ISO 9660".into());
    let mut ce = Vec::new();
    // The root's "." record points at the ER entry in the continuation area.
    let er_ref = ce_put(&mut ce, &er_entry());
    let primary = bfs(nodes, |n| &n.id);
    let joliet = bfs(nodes, |n| &n.jid);
    let mut precs: Vec<Vec<Rec>> = Vec::with_capacity(primary.len());
    for &d in &primary {
        precs.push(primary_records(nodes, d, &mut ce, er_ref)?);
    }
    let jrecs: Vec<Vec<Rec>> = joliet.iter().map(|&d| joliet_records(nodes, d)).collect();
    let pt_len = path_table(nodes, &primary, |n| &n.id, |n| n.extent, 0).len() as u32;
    let jpt_len = path_table(nodes, &joliet, |n| &n.jid, |n| n.jextent, 0).len() as u32;
    let mut cur = tail_start;
    let mut place = |len: u32| -> io::Result<u32> {
        let at = cur;
        cur = cur
            .checked_add(len.div_ceil(SECTOR as u32))
            .ok_or_else(too_large)?;
        Ok(at)
    };
    let (root_len, jroot_len) = (pack(&precs[0]), pack(&jrecs[0]));
    let head = Head {
        root_extent: place(root_len)?,
        root_len,
        jroot_extent: place(jroot_len)?,
        jroot_len,
        ptl: place(pt_len)?,
        ptm: place(pt_len)?,
        jptl: place(jpt_len)?,
        jptm: place(jpt_len)?,
        pt_len,
        jpt_len,
    };
    nodes[0].extent = head.root_extent;
    nodes[0].dir_len = root_len;
    nodes[0].jextent = head.jroot_extent;
    nodes[0].jdir_len = jroot_len;
    for (i, &d) in primary.iter().enumerate().skip(1) {
        let len = pack(&precs[i]);
        nodes[d].extent = place(len)?;
        nodes[d].dir_len = len;
    }
    for (i, &d) in joliet.iter().enumerate().skip(1) {
        let len = pack(&jrecs[i]);
        nodes[d].jextent = place(len)?;
        nodes[d].jdir_len = len;
    }
    let ce_base = place((ce.len() as u32).max(1))?;
    let mut files = Vec::new();
    for recs in &precs {
        for r in recs {
            if r.which == Which::Child
                && r.part == 0
                && let Kind::File(size) = nodes[r.node].kind
                && size > 0
                && nodes[r.node].extent == 0
            {
                nodes[r.node].extent = cur;
                cur = cur.checked_add(sectors(size)).ok_or_else(too_large)?;
                files.push(r.node);
            }
        }
    }
    let tables = [
        path_table(nodes, &primary, |n| &n.id, |n| n.extent, 0),
        path_table(nodes, &primary, |n| &n.id, |n| n.extent, 1),
        path_table(nodes, &joliet, |n| &n.jid, |n| n.jextent, 0),
        path_table(nodes, &joliet, |n| &n.jid, |n| n.jextent, 1),
    ];
    Ok(Layout {
        head,
        precs,
        jrecs,
        tables,
        ce,
        ce_base,
        files,
        tail_end: cur,
    })
}

/// The image file, its buffers kept by the MD5 thread when it is at most `keep_max` bytes,
/// and then written with `O_DIRECT` where the file system allows it.
fn create(out: &Path, opts: &Options, total: u32, keep_max: u64) -> io::Result<Out> {
    use std::os::unix::fs::OpenOptionsExt;
    let size = total as u64 * SECTOR;
    let keep = opts.implant_md5 && size <= keep_max;
    let open = |flags: rustix::fs::OFlags| {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(flags.bits() as i32)
            .open(out)
    };
    let (file, direct) = match keep.then(|| open(rustix::fs::OFlags::DIRECT)) {
        Some(Ok(f)) => (f, true),
        Some(Err(e)) if e.raw_os_error() != Some(rustix::io::Errno::INVAL.raw_os_error()) => {
            return Err(err(out, e));
        }
        _ => (
            open(rustix::fs::OFlags::empty()).map_err(|e| err(out, e))?,
            false,
        ),
    };
    if direct {
        // Blocks allocated at once, not write by write; not every file system can.
        let _ = rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, size);
    }
    let md5 = if opts.implant_md5 {
        Some(Md5Thread::start(Md5Sums::new(size)?, keep)?)
    } else {
        None
    };
    Ok(Out {
        file,
        buf: pooled_buffer(),
        len: 0,
        pos: 0,
        md5,
        direct,
        path: out.to_path_buf(),
    })
}

/// Everything of `layout` after the early data, from the current offset on.
fn write_tail(
    w: &mut Out,
    nodes: &[Node],
    layout: &Layout,
    cancelled: &dyn Fn() -> bool,
) -> io::Result<()> {
    let base = layout.ce_base;
    debug_assert_eq!(w.offset(), layout.head.root_extent as u64 * SECTOR);
    write_dir(w, nodes, &layout.precs[0], false, layout.tail_end, base)?;
    write_dir(w, nodes, &layout.jrecs[0], true, layout.tail_end, base)?;
    for table in &layout.tables {
        w.put(table)?;
        w.pad_sector()?;
    }
    for recs in &layout.precs[1..] {
        write_dir(w, nodes, recs, false, layout.tail_end, base)?;
    }
    for recs in &layout.jrecs[1..] {
        write_dir(w, nodes, recs, true, layout.tail_end, base)?;
    }
    debug_assert_eq!(w.offset(), base as u64 * SECTOR);
    w.put(&layout.ce)?;
    w.pad_to(base + sectors(layout.ce.len() as u64).max(1))?;
    let mut opener = Opener::new();
    for &f in &layout.files {
        if cancelled() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "canceled"));
        }
        let n = &nodes[f];
        debug_assert_eq!(w.offset(), n.extent as u64 * SECTOR);
        let Kind::File(size) = n.kind else {
            unreachable!()
        };
        let mut src = opener.open(nodes, f)?;
        w.copy_from(&mut src, size, &n.disk)?;
        w.pad_sector()?;
    }
    Ok(())
}

/// Pads the image to `total` sectors, implants the MD5 and hashes the whole.
fn seal(mut w: Out, total: u32, nodes: Vec<Node>) -> io::Result<Written> {
    w.pad_to(total)?;
    let (md5, mut kept) = w.finish()?;
    let implanted_md5 = match md5 {
        Some(sums) => {
            let (hex, appdata) = sums.appdata()?;
            let at = (16 * SECTOR + APPDATA_OFFSET) as usize;
            match kept.first_mut() {
                // The primary volume descriptor's sector again, whole (as `O_DIRECT` wants).
                Some((first, _)) => {
                    first.bytes_mut()[at..at + APPDATA_SIZE].copy_from_slice(&appdata);
                    let pvd = 16 * SECTOR as usize..17 * SECTOR as usize;
                    w.write_at(&first.bytes()[pvd.clone()], pvd.start as u64)?;
                }
                None => w.write_at(&appdata, at as u64)?,
            }
            Some(hex)
        }
        None => None,
    };
    let sha256 = if kept.is_empty() {
        sha256_of(&w.file, &w.path)?
    } else {
        let mut h = Sha256::new();
        for (b, len) in &kept {
            h.update(&b.bytes()[..*len]);
        }
        pool_buffers(kept.into_iter().map(|(b, _)| b));
        hex::encode(h.finalize())
    };
    let mut paths: Vec<String> = nodes.into_iter().skip(1).map(|n| n.rel).collect();
    paths.sort();
    Ok(Written {
        size: total as u64 * SECTOR,
        sha256,
        implanted_md5,
        paths,
    })
}

/// Opens `name` (relative to `dir`, or absolute) to read, with `O_NOATIME` while `noatime`
/// holds: it needs the file's owner (or CAP_FOWNER), and the first refusal turns it off.
fn open_read(
    dir: impl rustix::fd::AsFd,
    name: &Path,
    noatime: &mut bool,
    shown: &Path,
) -> io::Result<File> {
    use rustix::fs::{Mode, OFlags, openat};
    let flags = OFlags::RDONLY | OFlags::CLOEXEC;
    if *noatime {
        match openat(&dir, name, flags | OFlags::NOATIME, Mode::empty()) {
            Ok(fd) => return Ok(File::from(fd)),
            Err(rustix::io::Errno::PERM) => *noatime = false,
            Err(e) => return Err(err(shown, e.into())),
        }
    }
    openat(&dir, name, flags, Mode::empty())
        .map(File::from)
        .map_err(|e| err(shown, e.into()))
}

fn sectors(bytes: u64) -> u32 {
    bytes.div_ceil(SECTOR) as u32
}

/// The nodes of `tree`, breadth first. Files in `early` (by path in the tree: extent, size,
/// mtime) are taken as told, without a `stat`, their extent set.
fn scan(
    tree: &Path,
    early: &std::collections::HashMap<String, (u32, u64, i64)>,
) -> io::Result<Vec<Node>> {
    let meta = std::fs::metadata(tree).map_err(|e| err(tree, e))?;
    if !meta.is_dir() {
        return Err(invalid(format!("{}: not a directory", tree.display())));
    }
    let mut nodes = vec![Node::new(
        tree.to_path_buf(),
        String::new(),
        Kind::Dir(vec![]),
        0o040_555,
        meta.mtime(),
        0,
    )];
    let mut i = 0;
    while i < nodes.len() {
        if matches!(nodes[i].kind, Kind::Dir(_)) {
            let dir = nodes[i].disk.clone();
            let mut entries = Vec::new();
            for e in std::fs::read_dir(&dir).map_err(|e| err(&dir, e))? {
                let e = e.map_err(|e| err(&dir, e))?;
                entries.push(e);
            }
            entries.sort_by(|a, b| a.file_name().as_bytes().cmp(b.file_name().as_bytes()));
            let mut children = Vec::with_capacity(entries.len());
            for e in entries {
                let path = e.path();
                let rel = format!("{}/{}", nodes[i].rel, e.file_name().to_string_lossy());
                if let Some(&(extent, size, mtime)) = early.get(&rel[1..])
                    && e.file_type().is_ok_and(|t| t.is_file())
                {
                    children.push(nodes.len());
                    let kind = Kind::File(size);
                    let mut n = Node::new(path, rel, kind, 0o100_444, mtime, i);
                    n.extent = extent;
                    nodes.push(n);
                    continue;
                }
                let m = e.metadata().map_err(|er| err(&path, er))?;
                let ft = m.file_type();
                let kind = if ft.is_dir() {
                    Kind::Dir(vec![])
                } else if ft.is_file() {
                    Kind::File(m.len())
                } else if ft.is_symlink() {
                    let t = std::fs::read_link(&path).map_err(|er| err(&path, er))?;
                    Kind::Link(t.as_os_str().as_bytes().to_vec())
                } else {
                    return Err(invalid(format!(
                        "{}: neither a file, a directory nor a symbolic link",
                        path.display()
                    )));
                };
                let mode = match kind {
                    Kind::Dir(_) => 0o040_555,
                    Kind::File(_) if m.mode() & 0o111 != 0 => 0o100_555,
                    Kind::File(_) => 0o100_444,
                    Kind::Link(_) => 0o120_777,
                };
                children.push(nodes.len());
                nodes.push(Node::new(path, rel, kind, mode, m.mtime(), i));
            }
            nodes[i].kind = Kind::Dir(children);
        }
        i += 1;
    }
    Ok(nodes)
}

impl Node {
    /// `mode`: the rationalized mode.
    fn new(disk: PathBuf, rel: String, kind: Kind, mode: u32, mtime: i64, parent: usize) -> Node {
        Node {
            disk,
            rel,
            kind,
            mode,
            mtime,
            parent,
            id: vec![],
            jid: vec![],
            extent: 0,
            jextent: 0,
            dir_len: 0,
            jdir_len: 0,
        }
    }

    fn children(&self) -> &[usize] {
        match &self.kind {
            Kind::Dir(c) => c,
            _ => &[],
        }
    }

    fn is_dir(&self) -> bool {
        matches!(self.kind, Kind::Dir(_))
    }

    fn name(&self) -> &[u8] {
        self.disk.file_name().map(|n| n.as_bytes()).unwrap_or(b"")
    }
}

/// Primary identifiers keep the name (as `-untranslated-filenames` does) with bytes outside
/// `A-Za-z0-9._-` made `_`, cut to 37 bytes; Joliet identifiers keep up to 103 UCS-2 units
/// with `*/:;?\` made `_`. A clash in a directory gets a numbered tail.
fn assign_ids(nodes: &mut [Node]) {
    for d in 0..nodes.len() {
        let Kind::Dir(children) = &nodes[d].kind else {
            continue;
        };
        let children = children.clone();
        let ids: Vec<(Vec<u8>, Vec<u8>, bool)> = children
            .iter()
            .map(|&c| identifiers(nodes[c].name()))
            .collect();
        // Names in a directory differ: identifiers that are their names unchanged do too.
        if ids.iter().all(|(_, _, unchanged)| *unchanged) {
            for (c, (id, jid, _)) in children.into_iter().zip(ids) {
                (nodes[c].id, nodes[c].jid) = (id, jid);
            }
            continue;
        }
        let mut seen = std::collections::HashSet::new();
        let mut jseen = std::collections::HashSet::new();
        for (c, (id, jid, _)) in children.into_iter().zip(ids) {
            nodes[c].id = unique(id, &mut seen, 37, 1);
            nodes[c].jid = unique(jid, &mut jseen, 206, 2);
        }
    }
}

/// The primary and Joliet identifiers of `name`, and whether both are the name unchanged
/// (no byte replaced, nothing cut).
fn identifiers(name: &[u8]) -> (Vec<u8>, Vec<u8>, bool) {
    let mut unchanged = name.len() <= 37;
    let id: Vec<u8> = name
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                b
            } else {
                unchanged = false;
                b'_'
            }
        })
        .take(37)
        .collect();
    let text = String::from_utf8_lossy(name);
    unchanged &= matches!(text, std::borrow::Cow::Borrowed(_));
    let mut jid: Vec<u8> = Vec::with_capacity(2 * name.len());
    let mut units = 0;
    for ch in text.chars() {
        let ch = if "*/:;?\\".contains(ch) || (ch as u32) < 0x20 {
            unchanged = false;
            '_'
        } else {
            ch
        };
        let mut b = [0u16; 2];
        let enc = ch.encode_utf16(&mut b);
        if units + enc.len() > 103 {
            unchanged = false;
            break;
        }
        units += enc.len();
        jid.extend(enc.iter().flat_map(|u| u.to_be_bytes()));
    }
    (id, jid, unchanged)
}

/// `id`, or when taken, its head with `_<n>` (in `unit`-byte characters) within `max` bytes.
fn unique(
    id: Vec<u8>,
    seen: &mut std::collections::HashSet<Vec<u8>>,
    max: usize,
    unit: usize,
) -> Vec<u8> {
    if seen.insert(id.clone()) {
        return id;
    }
    for n in 1u32.. {
        let tail: Vec<u8> = format!("_{n}")
            .bytes()
            .flat_map(|b| if unit == 2 { vec![0, b] } else { vec![b] })
            .collect();
        let keep = (max - tail.len()).min(id.len()) / unit * unit;
        let mut cand = id[..keep].to_vec();
        cand.extend_from_slice(&tail);
        if seen.insert(cand.clone()) {
            return cand;
        }
    }
    unreachable!()
}

/// Directories breadth first, siblings by identifier: the path table's order.
fn bfs(nodes: &[Node], key: fn(&Node) -> &Vec<u8>) -> Vec<usize> {
    let mut order = vec![0];
    let mut i = 0;
    while i < order.len() {
        let mut subs: Vec<usize> = nodes[order[i]]
            .children()
            .iter()
            .copied()
            .filter(|&c| nodes[c].is_dir())
            .collect();
        subs.sort_by(|&a, &b| key(&nodes[a]).cmp(key(&nodes[b])));
        order.extend(subs);
        i += 1;
    }
    order
}

/// A path table (ECMA-119 9.4), little-endian (`big` 0) or big-endian (`big` 1).
fn path_table(
    nodes: &[Node],
    order: &[usize],
    key: fn(&Node) -> &Vec<u8>,
    extent: fn(&Node) -> u32,
    big: u8,
) -> Vec<u8> {
    let mut number = std::collections::HashMap::with_capacity(order.len());
    let mut out = Vec::new();
    for (i, &d) in order.iter().enumerate() {
        number.insert(d, (i + 1) as u16);
        let n = &nodes[d];
        let id: &[u8] = if d == 0 { &[0] } else { key(n) };
        let parent = if d == 0 { 1 } else { number[&n.parent] };
        out.push(id.len() as u8);
        out.push(0);
        if big == 1 {
            out.extend_from_slice(&extent(n).to_be_bytes());
            out.extend_from_slice(&parent.to_be_bytes());
        } else {
            out.extend_from_slice(&extent(n).to_le_bytes());
            out.extend_from_slice(&parent.to_le_bytes());
        }
        out.extend_from_slice(id);
        if id.len() % 2 == 1 {
            out.push(0);
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Dot,
    DotDot,
    Child,
}

/// One directory record to write; its extent and length are read from the nodes then.
struct Rec {
    node: usize,
    which: Which,
    /// Part of a multi-extent file.
    part: u32,
    last: bool,
    id: Vec<u8>,
    su: Vec<u8>,
    /// Where in `su` a CE entry starts: its sector is relative to the continuation area.
    ce_at: Option<usize>,
}

impl Rec {
    fn len(&self) -> usize {
        let base = 33 + self.id.len() + (1 - self.id.len() % 2);
        let l = base + self.su.len();
        l + l % 2
    }
}

fn both32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
    out.extend_from_slice(&v.to_be_bytes());
}

fn both16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
    out.extend_from_slice(&v.to_be_bytes());
}

fn dir_date(t: i64) -> [u8; 7] {
    use chrono::{Datelike, Timelike};
    let dt = chrono::DateTime::from_timestamp(t, 0).unwrap_or_default();
    [
        (dt.year() - 1900).clamp(0, 255) as u8,
        dt.month() as u8,
        dt.day() as u8,
        dt.hour() as u8,
        dt.minute() as u8,
        dt.second() as u8,
        0,
    ]
}

fn px(mode: u32, nlink: u32) -> Vec<u8> {
    let mut e = b"PX\x24\x01".to_vec();
    for v in [mode, nlink, 0, 0] {
        both32(&mut e, v);
    }
    e
}

fn tf(t: i64) -> Vec<u8> {
    // Modify, access and attribute change times.
    let mut e = b"TF\x1a\x01\x0e".to_vec();
    for _ in 0..3 {
        e.extend_from_slice(&dir_date(t));
    }
    e
}

/// NM entries of `name`, split at 200 bytes with the CONTINUE flag.
fn nm(name: &[u8]) -> Vec<Vec<u8>> {
    let pieces: Vec<&[u8]> = name.chunks(200).collect();
    let last = pieces.len().saturating_sub(1);
    pieces
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut e = vec![b'N', b'M', (5 + p.len()) as u8, 1, u8::from(i != last)];
            e.extend_from_slice(p);
            e
        })
        .collect()
}

/// SL entries of a link target: its components (root, `.`, `..`, names), split across
/// entries with the CONTINUE flag when they exceed one entry.
fn sl(target: &[u8]) -> io::Result<Vec<Vec<u8>>> {
    let mut comps: Vec<Vec<u8>> = Vec::new();
    if target.first() == Some(&b'/') {
        comps.push(vec![0x08, 0]);
    }
    for c in target.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        let comp = match c {
            b"." => vec![0x02, 0],
            b".." => vec![0x04, 0],
            _ => {
                if c.len() > 240 {
                    return Err(invalid("a symbolic link component over 240 bytes".into()));
                }
                let mut v = vec![0, c.len() as u8];
                v.extend_from_slice(c);
                v
            }
        };
        comps.push(comp);
    }
    let mut entries: Vec<Vec<u8>> = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    for c in comps {
        if 5 + cur.len() + c.len() > 250 {
            entries.push(std::mem::take(&mut cur));
        }
        cur.extend_from_slice(&c);
    }
    entries.push(cur);
    let last = entries.len() - 1;
    Ok(entries
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let mut e = vec![b'S', b'L', (5 + body.len()) as u8, 1, u8::from(i != last)];
            e.extend_from_slice(&body);
            e
        })
        .collect())
}

fn er_entry() -> Vec<u8> {
    let id = b"RRIP_1991A";
    let des =
        b"THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS";
    let src = b"PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.";
    let mut e = vec![
        b'E',
        b'R',
        (8 + id.len() + des.len() + src.len()) as u8,
        1,
        id.len() as u8,
        des.len() as u8,
        src.len() as u8,
        1,
    ];
    e.extend_from_slice(id);
    e.extend_from_slice(des);
    e.extend_from_slice(src);
    e
}

/// Puts `bytes` into the continuation area, never across a sector; returns its CE entry,
/// whose sector counts from the area's first (see `Rec::ce_at`).
fn ce_put(ce: &mut Vec<u8>, bytes: &[u8]) -> [u8; 28] {
    let within = ce.len() as u64 % SECTOR;
    if within + bytes.len() as u64 > SECTOR {
        ce.resize(ce.len() + (SECTOR - within) as usize, 0);
    }
    let at = ce.len() as u64;
    ce.extend_from_slice(bytes);
    let mut e = b"CE\x1c\x01".to_vec();
    both32(&mut e, (at / SECTOR) as u32);
    both32(&mut e, (at % SECTOR) as u32);
    both32(&mut e, bytes.len() as u32);
    e.try_into().expect("28 bytes")
}

/// Lays `entries` into a record with `id`: inline while they fit, the rest in the
/// continuation area behind a CE entry (and where that entry starts).
fn fit(id: &[u8], entries: Vec<Vec<u8>>, ce: &mut Vec<u8>) -> (Vec<u8>, Option<usize>) {
    let base = 33 + id.len() + (1 - id.len() % 2);
    let budget = 254 - base;
    let total: usize = entries.iter().map(Vec::len).sum();
    if total <= budget {
        return (entries.concat(), None);
    }
    let mut inline = Vec::new();
    let mut i = 0;
    while i < entries.len() && inline.len() + entries[i].len() + 28 <= budget {
        inline.extend_from_slice(&entries[i]);
        i += 1;
    }
    let rest = entries[i..].concat();
    let at = inline.len();
    inline.extend_from_slice(&ce_put(ce, &rest));
    (inline, Some(at))
}

fn nlink(nodes: &[Node], d: usize) -> u32 {
    2 + nodes[d]
        .children()
        .iter()
        .filter(|&&c| nodes[c].is_dir())
        .count() as u32
}

fn primary_records(
    nodes: &[Node],
    d: usize,
    ce: &mut Vec<u8>,
    er_ref: [u8; 28],
) -> io::Result<Vec<Rec>> {
    let n = &nodes[d];
    let mut dot = Vec::new();
    if d == 0 {
        dot.extend_from_slice(b"SP\x07\x01\xbe\xef\x00");
    }
    dot.extend(px(n.mode, nlink(nodes, d)));
    dot.extend(tf(n.mtime));
    let dot_ce = (d == 0).then_some(dot.len());
    if d == 0 {
        dot.extend_from_slice(&er_ref);
    }
    let p = &nodes[n.parent];
    let mut dotdot = px(p.mode, nlink(nodes, n.parent));
    dotdot.extend(tf(p.mtime));
    let mut recs = vec![
        Rec {
            node: d,
            which: Which::Dot,
            part: 0,
            last: true,
            id: vec![0],
            su: dot,
            ce_at: dot_ce,
        },
        Rec {
            node: n.parent,
            which: Which::DotDot,
            part: 0,
            last: true,
            id: vec![1],
            su: dotdot,
            ce_at: None,
        },
    ];
    let mut children = n.children().to_vec();
    children.sort_by(|&a, &b| nodes[a].id.cmp(&nodes[b].id));
    for c in children {
        let cn = &nodes[c];
        let nl = if cn.is_dir() { nlink(nodes, c) } else { 1 };
        let mut entries = vec![px(cn.mode, nl), tf(cn.mtime)];
        entries.extend(nm(cn.name()));
        if let Kind::Link(t) = &cn.kind {
            entries.extend(sl(t)?);
        }
        let parts = match cn.kind {
            Kind::File(size) if size > MAX_EXTENT => size.div_ceil(MAX_EXTENT) as u32,
            _ => 1,
        };
        for part in 0..parts {
            let (su, ce_at) = fit(&cn.id, entries.clone(), ce);
            recs.push(Rec {
                node: c,
                which: Which::Child,
                part,
                last: part + 1 == parts,
                id: cn.id.clone(),
                su,
                ce_at,
            });
        }
    }
    Ok(recs)
}

fn joliet_records(nodes: &[Node], d: usize) -> Vec<Rec> {
    let n = &nodes[d];
    let mut recs = vec![
        Rec {
            node: d,
            which: Which::Dot,
            part: 0,
            last: true,
            id: vec![0],
            su: vec![],
            ce_at: None,
        },
        Rec {
            node: n.parent,
            which: Which::DotDot,
            part: 0,
            last: true,
            id: vec![1],
            su: vec![],
            ce_at: None,
        },
    ];
    let mut children = n.children().to_vec();
    children.sort_by(|&a, &b| nodes[a].jid.cmp(&nodes[b].jid));
    for c in children {
        let parts = match nodes[c].kind {
            Kind::File(size) if size > MAX_EXTENT => size.div_ceil(MAX_EXTENT) as u32,
            _ => 1,
        };
        for part in 0..parts {
            recs.push(Rec {
                node: c,
                which: Which::Child,
                part,
                last: part + 1 == parts,
                id: nodes[c].jid.clone(),
                su: vec![],
                ce_at: None,
            });
        }
    }
    recs
}

/// Bytes of a directory: records never cross a sector, whole sectors.
fn pack(recs: &[Rec]) -> u32 {
    let mut at = 0u64;
    for r in recs {
        let l = r.len() as u64;
        if at % SECTOR + l > SECTOR {
            at = at.div_ceil(SECTOR) * SECTOR;
        }
        at += l;
    }
    (at.div_ceil(SECTOR) * SECTOR) as u32
}

/// The bytes of record `r`; `ce_base` is the continuation area's first sector.
fn record_bytes(nodes: &[Node], r: &Rec, joliet: bool, empty: u32, ce_base: u32) -> Vec<u8> {
    let n = &nodes[r.node];
    let (extent, len, flags) = match (&n.kind, r.which) {
        (Kind::Dir(_), _) if joliet => (n.jextent, n.jdir_len, 2u8),
        (Kind::Dir(_), _) => (n.extent, n.dir_len, 2u8),
        (Kind::File(size), _) if *size > 0 => {
            let done = r.part as u64 * MAX_EXTENT;
            let this = (size - done).min(MAX_EXTENT);
            (
                n.extent + (done / SECTOR) as u32,
                this as u32,
                if r.last { 0 } else { 0x80 },
            )
        }
        _ => (empty, 0, 0),
    };
    let l = r.len();
    let mut out = Vec::with_capacity(l);
    out.push(l as u8);
    out.push(0);
    both32(&mut out, extent);
    both32(&mut out, len);
    out.extend_from_slice(&dir_date(n.mtime));
    out.push(flags);
    out.push(0);
    out.push(0);
    both16(&mut out, 1);
    out.push(r.id.len() as u8);
    out.extend_from_slice(&r.id);
    if r.id.len().is_multiple_of(2) {
        out.push(0);
    }
    let su_at = out.len();
    out.extend_from_slice(&r.su);
    if let Some(at) = r.ce_at {
        let field = su_at + at + 4;
        let rel = u32::from_le_bytes(out[field..field + 4].try_into().expect("4 bytes"));
        let mut v = Vec::with_capacity(8);
        both32(&mut v, ce_base + rel);
        out[field..field + 8].copy_from_slice(&v);
    }
    out.resize(l, 0);
    out
}

fn write_dir(
    w: &mut Out,
    nodes: &[Node],
    recs: &[Rec],
    joliet: bool,
    empty: u32,
    ce_base: u32,
) -> io::Result<()> {
    let start = w.offset();
    let mut at = 0u64;
    for r in recs {
        let b = record_bytes(nodes, r, joliet, empty, ce_base);
        if at % SECTOR + b.len() as u64 > SECTOR {
            let pad = SECTOR - at % SECTOR;
            w.zeros(pad)?;
            at += pad;
        }
        w.put(&b)?;
        at += b.len() as u64;
    }
    w.pad_sector()?;
    debug_assert_eq!(w.offset() - start, pack(recs) as u64);
    Ok(())
}

#[derive(Clone, Copy)]
struct VolumeDescriptor {
    total: u32,
    pt_len: u32,
    l: u32,
    m: u32,
    root_extent: u32,
    root_len: u32,
    created: i64,
}

impl VolumeDescriptor {
    /// Type 1 (primary) or 2 (Joliet supplementary).
    fn render(&self, kind: u8, opts: &Options, root_mtime: i64) -> Vec<u8> {
        let joliet = kind == 2;
        let mut b = vec![0u8; SECTOR as usize];
        b[0] = kind;
        b[1..6].copy_from_slice(b"CD001");
        b[6] = 1;
        let text = |b: &mut [u8], s: &str| {
            if joliet {
                for pair in b.chunks_mut(2) {
                    pair[0] = 0;
                    if pair.len() == 2 {
                        pair[1] = b' ';
                    }
                }
                let units: Vec<u8> = s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
                let n = units.len().min(b.len() / 2 * 2);
                b[..n].copy_from_slice(&units[..n]);
            } else {
                b.fill(b' ');
                let n = s.len().min(b.len());
                b[..n].copy_from_slice(&s.as_bytes()[..n]);
            }
        };
        text(&mut b[8..40], &opts.system_id);
        text(&mut b[40..72], &opts.volume_id);
        let mut v = Vec::new();
        both32(&mut v, self.total);
        b[80..88].copy_from_slice(&v);
        if joliet {
            b[88..91].copy_from_slice(b"%/E");
        }
        let mut v = Vec::new();
        both16(&mut v, 1);
        both16(&mut v, 1);
        both16(&mut v, SECTOR as u16);
        both32(&mut v, self.pt_len);
        b[120..140].copy_from_slice(&v);
        b[140..144].copy_from_slice(&self.l.to_le_bytes());
        b[148..152].copy_from_slice(&self.m.to_be_bytes());
        let mut root = vec![34, 0];
        both32(&mut root, self.root_extent);
        both32(&mut root, self.root_len);
        root.extend_from_slice(&dir_date(root_mtime));
        root.extend_from_slice(&[2, 0, 0]);
        both16(&mut root, 1);
        root.extend_from_slice(&[1, 0]);
        b[156..190].copy_from_slice(&root);
        text(&mut b[190..318], "");
        text(&mut b[318..446], "");
        text(&mut b[446..574], "");
        text(&mut b[574..702], &opts.application_id);
        text(&mut b[702..739], "");
        text(&mut b[739..776], "");
        text(&mut b[776..813], "");
        let date = chrono::DateTime::from_timestamp(self.created, 0)
            .unwrap_or_default()
            .format("%Y%m%d%H%M%S00")
            .to_string();
        b[813..829].copy_from_slice(date.as_bytes());
        b[830..846].copy_from_slice(date.as_bytes());
        b[847..863].copy_from_slice(b"0000000000000000");
        b[864..880].copy_from_slice(b"0000000000000000");
        b[881] = 1;
        // The application-use field, blank for the MD5 implanted later.
        b[883..883 + APPDATA_SIZE].fill(b' ');
        b
    }
}

/// Output buffers in flight per image written through the page cache: one being filled, the
/// others with the MD5 thread.
const BUFFERS: usize = 3;

/// Images up to this size (with the implanted MD5) are kept in memory, buffer by buffer,
/// until they are hashed: they are written with `O_DIRECT` (no copy into the page cache,
/// whose fresh pages cost more to fill than the disk takes to write them) and their SHA-256
/// is computed from memory. Larger images go through the page cache and are read back for
/// the SHA-256.
const KEEP_MAX: u64 = 64 << 20;

/// Output buffers kept between images, at most as many as two kept images use: a buffer is
/// filled again without being zeroed or faulted in.
const POOL_MAX: usize = 2 * (KEEP_MAX as usize / BUF);

static BUFFER_POOL: std::sync::Mutex<Vec<Buf>> = std::sync::Mutex::new(Vec::new());

/// `O_DIRECT`'s alignment of memory, offsets and lengths (a page: more than any disk's
/// logical block).
const ALIGN: usize = 4096;

#[derive(Clone, Copy)]
#[repr(C, align(4096))]
struct Block([u8; ALIGN]);

/// `BUF` bytes aligned for `O_DIRECT`.
struct Buf(Vec<Block>);

/// Buffers written, in the image's order, each with the bytes filled in it.
type Kept = Vec<(Buf, usize)>;

impl Buf {
    fn new() -> Buf {
        Buf(vec![Block([0; ALIGN]); BUF / ALIGN])
    }

    /// What stands in the writer's place for a buffer handed over (never pooled).
    fn taken() -> Buf {
        Buf(Vec::new())
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `Block` is a `repr(C)` byte array of its own alignment (no padding), and a
        // Vec's elements are contiguous: the blocks are `len * ALIGN` initialized bytes.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().cast::<u8>(), self.0.len() * ALIGN) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, borrowed mutably through `self`.
        unsafe {
            std::slice::from_raw_parts_mut(self.0.as_mut_ptr().cast::<u8>(), self.0.len() * ALIGN)
        }
    }
}

fn pooled_buffer() -> Buf {
    let kept = BUFFER_POOL.lock().ok().and_then(|mut p| p.pop());
    kept.unwrap_or_else(Buf::new)
}

fn pool_buffers(bufs: impl IntoIterator<Item = Buf>) {
    if let Ok(mut p) = BUFFER_POOL.lock() {
        p.extend(bufs.into_iter().filter(|b| b.0.len() == BUF / ALIGN));
        p.truncate(POOL_MAX);
    }
}

/// The image's bytes on their way to the file, hashed for isomd5sum in its own chunks.
struct Out {
    file: File,
    /// `BUF` bytes, of which `len` are filled.
    buf: Buf,
    len: usize,
    /// Bytes written to the file before `buf`.
    pos: u64,
    md5: Option<Md5Thread>,
    /// The file was opened with `O_DIRECT` (every write is of whole aligned buffers).
    direct: bool,
    path: PathBuf,
}

/// `pwrite`s all of `bytes` at `offset`. When a file system refuses an `O_DIRECT` write
/// (`EINVAL`), `O_DIRECT` is turned off and the bytes go through the page cache.
fn write_at(file: &File, direct: &mut bool, bytes: &[u8], offset: u64) -> io::Result<()> {
    match file.write_all_at(bytes, offset) {
        Err(e) if *direct && e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) => {
            let flags = rustix::fs::fcntl_getfl(file)?;
            rustix::fs::fcntl_setfl(file, flags - rustix::fs::OFlags::DIRECT)?;
            *direct = false;
            file.write_all_at(bytes, offset)
        }
        r => r,
    }
}

/// isomd5sum's sums, computed on a thread of their own from each buffer once it is written,
/// while the writer reads the next files.
struct Md5Thread {
    send: std::sync::mpsc::SyncSender<(u64, Buf, usize)>,
    /// Buffers hashed, for the writer to fill again; none when the thread keeps them.
    back: Option<std::sync::mpsc::Receiver<Buf>>,
    done: std::thread::JoinHandle<io::Result<(Md5Sums, Kept)>>,
}

impl Md5Thread {
    /// With `keep`, the buffers hashed are kept (and returned by `finish`) and the writer
    /// takes fresh ones; else `BUFFERS` go round.
    fn start(mut sums: Md5Sums, keep: bool) -> io::Result<Md5Thread> {
        // Kept buffers are not waited for: the writer may run ahead of the hashing.
        let bound = if keep { POOL_MAX } else { BUFFERS };
        let (send, recv) = std::sync::mpsc::sync_channel::<(u64, Buf, usize)>(bound);
        let (give_back, back) = std::sync::mpsc::channel();
        if !keep {
            for _ in 1..BUFFERS {
                let _ = give_back.send(pooled_buffer());
            }
        }
        let done = std::thread::Builder::new()
            .name("iso-md5".into())
            .spawn(move || {
                let mut kept = Vec::new();
                for (offset, buf, len) in recv {
                    sums.update(offset, &buf.bytes()[..len])?;
                    if keep {
                        kept.push((buf, len));
                    } else {
                        // The writer may have finished already: then the buffer is dropped.
                        let _ = give_back.send(buf);
                    }
                }
                Ok((sums, kept))
            })?;
        let back = (!keep).then_some(back);
        Ok(Md5Thread { send, back, done })
    }

    /// Hands the first `len` bytes of `buf` (at `offset` of the image) over; returns a
    /// buffer to fill next.
    fn hash(&self, offset: u64, buf: Buf, len: usize) -> io::Result<Buf> {
        let stopped = || io::Error::other("the MD5 thread stopped");
        self.send.send((offset, buf, len)).map_err(|_| stopped())?;
        match &self.back {
            Some(back) => back.recv().map_err(|_| stopped()),
            None => Ok(pooled_buffer()),
        }
    }

    fn finish(self) -> io::Result<(Md5Sums, Kept)> {
        drop(self.send);
        let done = self
            .done
            .join()
            .map_err(|_| io::Error::other("the MD5 thread panicked"))?;
        if let Some(back) = &self.back {
            pool_buffers(back.try_iter());
        }
        done
    }
}

impl Out {
    fn offset(&self) -> u64 {
        self.pos + self.len as u64
    }

    fn put(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let n = (BUF - self.len).min(bytes.len());
            self.buf.bytes_mut()[self.len..self.len + n].copy_from_slice(&bytes[..n]);
            self.len += n;
            bytes = &bytes[n..];
            if self.len == BUF {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn zeros(&mut self, mut n: u64) -> io::Result<()> {
        while n > 0 {
            let k = ((BUF - self.len) as u64).min(n) as usize;
            self.buf.bytes_mut()[self.len..self.len + k].fill(0);
            self.len += k;
            n -= k as u64;
            if self.len == BUF {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn pad_sector(&mut self) -> io::Result<()> {
        let within = self.offset() % SECTOR;
        if within != 0 {
            self.zeros(SECTOR - within)?;
        }
        Ok(())
    }

    fn pad_to(&mut self, sector: u32) -> io::Result<()> {
        let end = sector as u64 * SECTOR;
        let at = self.offset();
        debug_assert!(at <= end);
        self.zeros(end.saturating_sub(at))
    }

    /// Copies `size` bytes of `src` straight into the buffer.
    fn copy_from(&mut self, src: &mut File, size: u64, path: &Path) -> io::Result<()> {
        let mut left = size;
        while left > 0 {
            let k = ((BUF - self.len) as u64).min(left) as usize;
            let mut got = 0;
            while got < k {
                let r = src
                    .read(&mut self.buf.bytes_mut()[self.len + got..self.len + k])
                    .map_err(|e| err(path, e))?;
                if r == 0 {
                    return Err(err(
                        path,
                        io::Error::new(io::ErrorKind::UnexpectedEof, "the file shrank while read"),
                    ));
                }
                got += r;
            }
            self.len += k;
            left -= k as u64;
            if self.len == BUF {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Writes `bytes` at `offset`; a file system that refuses `O_DIRECT` writes gets them
    /// through the page cache from then on.
    fn write_at(&mut self, bytes: &[u8], offset: u64) -> io::Result<()> {
        write_at(&self.file, &mut self.direct, bytes, offset).map_err(|e| err(&self.path, e))
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.len == 0 {
            return Ok(());
        }
        let (at, len) = (self.pos, self.len);
        write_at(&self.file, &mut self.direct, &self.buf.bytes()[..len], at)
            .map_err(|e| err(&self.path, e))?;
        self.pos += len as u64;
        if let Some(m) = &self.md5 {
            let full = std::mem::replace(&mut self.buf, Buf::taken());
            self.buf = m.hash(at, full, len)?;
        }
        self.len = 0;
        Ok(())
    }

    /// Writes what is left; the MD5 sums and the buffers kept (in order, with their lengths).
    fn finish(&mut self) -> io::Result<(Option<Md5Sums>, Kept)> {
        self.flush()?;
        pool_buffers([std::mem::replace(&mut self.buf, Buf::taken())]);
        match self.md5.take() {
            Some(m) => m.finish().map(|(sums, kept)| (Some(sums), kept)),
            None => Ok((None, Vec::new())),
        }
    }
}

/// Opens the files of a tree by their directory's descriptor and name (no walk of the whole
/// path per file), without updating their access time where the owner allows it.
struct Opener {
    dirs: std::collections::HashMap<usize, rustix::fd::OwnedFd>,
    noatime: bool,
}

impl Opener {
    fn new() -> Opener {
        Opener {
            dirs: Default::default(),
            noatime: true,
        }
    }

    fn open(&mut self, nodes: &[Node], f: usize) -> io::Result<File> {
        use rustix::fs::{Mode, OFlags};
        let n = &nodes[f];
        let dir = match self.dirs.entry(n.parent) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let path = &nodes[n.parent].disk;
                let fd = rustix::fs::open(
                    path,
                    OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|er| err(path, er.into()))?;
                e.insert(fd)
            }
        };
        let name = Path::new(std::ffi::OsStr::from_bytes(n.name()));
        open_read(&*dir, name, &mut self.noatime, &n.disk)
    }
}

/// isomd5sum's sums: the MD5 of the image but its last `SKIPSECTORS` sectors, and after each
/// 32 KiB chunk that starts a new fragment, three characters of the running digest.
struct Md5Sums {
    ctx: Hasher,
    end: u64,
    fragment: u64,
    previous: u64,
    sums: String,
}

impl Md5Sums {
    fn new(image_size: u64) -> io::Result<Md5Sums> {
        let end = image_size - SKIPSECTORS * SECTOR;
        Ok(Md5Sums {
            ctx: Hasher::new(MessageDigest::md5()).map_err(io::Error::other)?,
            end,
            fragment: end / (FRAGMENT_COUNT + 1),
            previous: 0,
            sums: String::new(),
        })
    }

    /// `bytes` start at `offset`, a multiple of the chunk size.
    fn update(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        debug_assert_eq!(offset % MD5_CHUNK, 0);
        let mut at = offset;
        for chunk in bytes.chunks(MD5_CHUNK as usize) {
            if at >= self.end {
                break;
            }
            let n = ((self.end - at) as usize).min(chunk.len());
            self.ctx.update(&chunk[..n]).map_err(io::Error::other)?;
            let current = at / self.fragment;
            if current != self.previous {
                let digest = self.ctx.clone().finish().map_err(io::Error::other)?;
                for b in digest
                    .iter()
                    .take(FRAGMENT_SUM_SIZE / FRAGMENT_COUNT as usize)
                {
                    // One character per byte: the first of its lowercase hex.
                    self.sums.push_str(&format!("{b:x}")[..1]);
                }
                self.previous = current;
            }
            at += chunk.len() as u64;
        }
        Ok(())
    }

    /// The MD5 in hex and the application-use field that carries it.
    fn appdata(mut self) -> io::Result<(String, Vec<u8>)> {
        let hex = hex::encode(self.ctx.finish().map_err(io::Error::other)?);
        let text = format!(
            "ISO MD5SUM = {hex};SKIPSECTORS = {SKIPSECTORS};RHLISOSTATUS=0;FRAGMENT SUMS = {};\
             FRAGMENT COUNT = {FRAGMENT_COUNT};THIS IS NOT THE SAME AS RUNNING MD5SUM ON THIS ISO!!",
            self.sums
        );
        let mut field = vec![b' '; APPDATA_SIZE];
        field[..text.len()].copy_from_slice(text.as_bytes());
        Ok((hex, field))
    }
}

fn sha256_of(file: &File, path: &Path) -> io::Result<String> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    loop {
        let n = file.read_at(&mut buf, at).map_err(|e| err(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        at += n as u64;
    }
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// The real readers are needed; outside CI a machine without them skips loudly.
    fn have(tool: &str) -> bool {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !found {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{tool} is missing in CI"
            );
            eprintln!(
                "SKIPPED: {tool} is not installed (apt-get install xorriso isomd5sum genisoimage)"
            );
        }
        found
    }

    /// The image's tree, extracted by xorriso into `to`.
    fn extract(iso: &Path, to: &Path) -> PathBuf {
        run(Command::new("xorriso")
            .args(["-osirrox", "on", "-indev"])
            .arg(iso)
            .args(["-extract", "/"])
            .arg(to));
        to.to_path_buf()
    }

    fn run(cmd: &mut Command) -> String {
        let o = cmd.output().expect("runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.status.success(), "{cmd:?}: {text}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// A tree with what a compose tree can hold and what stresses the format: deep and wide
    /// directories, names over 37 bytes and over 255 record bytes, names that clash once cut,
    /// non-ASCII, an empty file, an executable, a symbolic link.
    fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
        let mut files = Vec::new();
        let mut add = |rel: &str, body: Vec<u8>| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, &body).unwrap();
            files.push((format!("/{rel}"), body));
        };
        add(".treeinfo", b"[general]\n".to_vec());
        add("repodata/repomd.xml", vec![b'x'; 5000]);
        add("a/b/c/d/e/f/g/h/i/j/deep.txt", b"deep".to_vec());
        add("empty", vec![]);
        let long = format!("{}.x86_64.rpm", "n".repeat(230));
        add(&format!("Packages/n/{long}"), vec![7u8; 70_000]);
        for i in 0..300 {
            add(
                &format!("Packages/b/bench-package-with-a-long-name-{i:04}-1.0-1.x86_64.rpm"),
                format!("rpm {i}").repeat(i + 1).into_bytes(),
            );
        }
        add("Packages/ü/grüße.rpm", b"unicode".to_vec());
        let exe = root.join("run.sh");
        std::fs::write(&exe, b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        files.push(("/run.sh".into(), b"#!/bin/sh\n".to_vec()));
        std::os::unix::fs::symlink("../repodata/repomd.xml", root.join("a/link")).unwrap();
        files
    }

    fn opts() -> Options {
        Options {
            volume_id: "Temporary-1 Temporary.x86_64".into(),
            system_id: "LINUX".into(),
            application_id: "COMPOSED".into(),
            implant_md5: true,
            created: 1_700_000_000,
        }
    }

    #[test]
    fn xorriso_isoinfo_and_checkisomd5_read_what_is_written() {
        if !(have("xorriso") && have("checkisomd5") && have("implantisomd5") && have("isoinfo")) {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tree");
        let files = tree(&root);
        let iso = dir.path().join("t.iso");
        let w = write(&root, &iso, &opts(), &|| false).unwrap();
        assert_eq!(w.size, std::fs::metadata(&iso).unwrap().len());
        assert_eq!(w.size % SECTOR, 0);
        // An image too large to keep in memory goes through the page cache and is read back
        // for its SHA-256: the same bytes, the same sums.
        let through_cache = dir.path().join("cached.iso");
        let c = write_keeping(&root, &through_cache, &opts(), &|| false, 0).unwrap();
        assert_eq!(
            std::fs::read(&iso).unwrap(),
            std::fs::read(&through_cache).unwrap()
        );
        assert_eq!((&c.sha256, &c.implanted_md5), (&w.sha256, &w.implanted_md5));

        // checkisomd5 verifies the implanted sum, and it is what implantisomd5 writes.
        run(Command::new("checkisomd5").arg(&iso));
        let printed = run(Command::new("checkisomd5").arg("--md5sumonly").arg(&iso));
        assert!(
            printed.contains(w.implanted_md5.as_deref().unwrap()),
            "{printed}"
        );
        let theirs = dir.path().join("theirs.iso");
        std::fs::copy(&iso, &theirs).unwrap();
        run(Command::new("implantisomd5").arg("--force").arg(&theirs));
        let at = (16 * SECTOR + APPDATA_OFFSET) as usize;
        let (a, b) = (
            std::fs::read(&iso).unwrap(),
            std::fs::read(&theirs).unwrap(),
        );
        assert_eq!(
            String::from_utf8_lossy(&a[at..at + APPDATA_SIZE]),
            String::from_utf8_lossy(&b[at..at + APPDATA_SIZE]),
            "the same application-use field as implantisomd5's"
        );
        assert_eq!(a, b);
        let sha = {
            let mut h = Sha256::new();
            h.update(&a);
            hex::encode(h.finalize())
        };
        assert_eq!(w.sha256, sha);

        // xorriso lists every path by its Rock Ridge name.
        let out = run(Command::new("xorriso")
            .arg("-indev")
            .arg(&iso)
            .args(["-find", "/"]));
        let listed: Vec<String> = out
            .lines()
            .map(|l| l.trim_matches('\'').to_string())
            .filter(|p| p != "/")
            .collect();
        let mut sorted = listed.clone();
        sorted.sort();
        assert_eq!(sorted, w.paths);
        assert!(
            w.paths
                .contains(&"/a/b/c/d/e/f/g/h/i/j/deep.txt".to_string())
        );
        assert_eq!(w.paths.len(), files.len() + 1 + 15); // files, the link, directories

        // isoinfo reads the same through Rock Ridge, and Joliet keeps the long names.
        let rr = run(Command::new("isoinfo").args(["-R", "-f", "-i"]).arg(&iso));
        let mut rr: Vec<&str> = rr.lines().collect();
        rr.sort();
        assert_eq!(rr, w.paths);
        // isoinfo prints Joliet names in ISO 8859-1 (its default output charset).
        let joliet = Command::new("isoinfo")
            .args(["-J", "-f", "-i"])
            .arg(&iso)
            .output()
            .unwrap();
        assert!(joliet.status.success());
        let joliet: String = joliet.stdout.iter().map(|&b| b as char).collect();
        assert!(
            joliet.contains("/Packages/b/bench-package-with-a-long-name-0299-1.0-1.x86_64.rpm"),
            "{joliet}"
        );
        assert!(joliet.contains("/Packages/ü/grüße.rpm"), "{joliet}");
        let mut jl: Vec<&str> = joliet.lines().collect();
        jl.sort();
        assert_eq!(jl.len(), w.paths.len());

        // Extracted, every file has its bytes, modes are rationalized, the link points on.
        let x = extract(&iso, &dir.path().join("x"));
        for (rel, body) in &files {
            assert_eq!(&std::fs::read(x.join(&rel[1..])).unwrap(), body, "{rel}");
        }
        let mode = |p: &str| {
            std::os::unix::fs::PermissionsExt::mode(
                &std::fs::symlink_metadata(x.join(p)).unwrap().permissions(),
            ) & 0o7777
        };
        assert_eq!(mode("run.sh"), 0o555);
        assert_eq!(mode(".treeinfo"), 0o444);
        assert_eq!(
            std::fs::read_link(x.join("a/link")).unwrap(),
            Path::new("../repodata/repomd.xml")
        );
        let pvd = run(Command::new("xorriso")
            .arg("-indev")
            .arg(&iso)
            .arg("-pvd_info"));
        assert!(
            pvd.contains("Volume Id    : Temporary-1 Temporary.x86_64"),
            "{pvd}"
        );
    }

    #[test]
    fn a_small_tree_is_padded_and_a_cancel_stops_the_write() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"x").unwrap();
        let iso = dir.path().join("s.iso");
        let sub = dir.path().join("t");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("f"), b"x").unwrap();
        let w = write(&sub, &iso, &opts(), &|| false).unwrap();
        assert_eq!(w.size, MIN_SECTORS as u64 * SECTOR);
        assert_eq!(w.paths, vec!["/f".to_string()]);
        let e = write(&sub, &iso, &opts(), &|| true).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Interrupted);
        let e = write(&sub.join("f"), &iso, &opts(), &|| false).unwrap_err();
        assert!(e.to_string().contains("not a directory"), "{e}");
    }

    /// A compose-like tree whose packages are put on the image before the rest exists.
    fn early_tree(root: &Path, src: &Path, n: usize) -> Vec<Early> {
        std::fs::create_dir_all(src).unwrap();
        let mut early = Vec::new();
        for i in 0..n {
            let name = format!("pkg-{i:04}-with-a-name-longer-than-37-bytes-1.0-1.noarch.rpm");
            let letter = if i % 2 == 0 { "a" } else { "b" };
            let body: Vec<u8> = (0..(i * 977 % 9000 + 1))
                .map(|b| (b * 7 + i) as u8)
                .collect();
            let disk = src.join(&name);
            std::fs::write(&disk, &body).unwrap();
            let m = std::fs::metadata(&disk).unwrap();
            let rel = format!("Packages/{letter}/{name}");
            std::fs::create_dir_all(root.join("Packages").join(letter)).unwrap();
            std::fs::hard_link(&disk, root.join(&rel)).unwrap();
            early.push(Early {
                rel,
                disk,
                size: m.len(),
                mtime: m.mtime(),
            });
        }
        early
    }

    fn expected(late_bytes: u64) -> Expected {
        Expected {
            dirs: &["repodata"],
            files: &[".treeinfo", "media.repo"],
            late_bytes,
        }
    }

    #[test]
    fn an_image_started_early_is_finished_with_the_whole_tree() {
        if !(have("xorriso") && have("checkisomd5") && have("isoinfo")) {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("os");
        let early = early_tree(&root, &dir.path().join("koji"), 300);
        let iso = dir.path().join("early.iso");
        let started = start(
            &iso,
            &opts(),
            early,
            &expected(64 * 1024),
            std::sync::Arc::new(|| false),
        )
        .unwrap();
        // The rest of the tree, made while the packages are written.
        std::fs::create_dir_all(root.join("repodata")).unwrap();
        std::fs::write(root.join("repodata/repomd.xml"), vec![b'r'; 5000]).unwrap();
        std::fs::write(
            root.join("repodata/0123-primary.xml.gz"),
            vec![b'p'; 40_000],
        )
        .unwrap();
        std::fs::write(root.join(".treeinfo"), b"[general]\n").unwrap();
        std::fs::write(root.join("media.repo"), b"").unwrap();
        let Finished::Written(w) = started.finish(&root, &|| false).unwrap() else {
            panic!("the tree is the one expected");
        };
        assert_eq!(w.size, std::fs::metadata(&iso).unwrap().len());
        run(Command::new("checkisomd5").arg(&iso));
        let printed = run(Command::new("checkisomd5").arg("--md5sumonly").arg(&iso));
        assert!(
            printed.contains(w.implanted_md5.as_deref().unwrap()),
            "{printed}"
        );
        let bytes = std::fs::read(&iso).unwrap();
        assert_eq!(w.sha256, hex::encode(Sha256::digest(&bytes)));
        // What the readers list is the tree, and what the one-pass writer lists.
        let rr = run(Command::new("isoinfo").args(["-R", "-f", "-i"]).arg(&iso));
        let mut rr: Vec<&str> = rr.lines().collect();
        rr.sort();
        assert_eq!(rr, w.paths);
        let whole = write(&root, &dir.path().join("whole.iso"), &opts(), &|| false).unwrap();
        assert_eq!(w.paths, whole.paths);
        // The packages, Packages/{,a,b}, repodata and its two files, the two media files.
        assert_eq!(w.paths.len(), 300 + 3 + 1 + 2 + 2);
        // Every file, early or not, has its bytes.
        let x = extract(&iso, &dir.path().join("x"));
        for p in w.paths.iter().filter(|p| root.join(&p[1..]).is_file()) {
            assert_eq!(
                std::fs::read(x.join(&p[1..])).unwrap(),
                std::fs::read(root.join(&p[1..])).unwrap(),
                "{p}"
            );
        }
    }

    #[test]
    fn a_tree_that_differs_from_the_one_started_is_said_so() {
        let dir = tempfile::tempdir().unwrap();
        let new = |name: &str, late: u64| {
            let root = dir.path().join(name);
            let early = early_tree(&root, &dir.path().join(format!("{name}-koji")), 40);
            let iso = dir.path().join(format!("{name}.iso"));
            let s = start(
                &iso,
                &opts(),
                early,
                &expected(late),
                std::sync::Arc::new(|| false),
            );
            (root, s.unwrap())
        };
        // A directory that was not expected: the path tables hashed already are wrong.
        let (root, s) = new("dir", 0);
        std::fs::create_dir_all(root.join("repodata")).unwrap();
        std::fs::create_dir_all(root.join("images")).unwrap();
        match s.finish(&root, &|| false).unwrap() {
            Finished::Differs(why) => assert!(why.contains("not the ones expected"), "{why}"),
            Finished::Written(_) => panic!("an unexpected directory went unnoticed"),
        }
        // More data than allowed for.
        let (root, s) = new("big", 0);
        std::fs::create_dir_all(root.join("repodata")).unwrap();
        std::fs::write(root.join("repodata/big"), vec![0u8; 2 << 20]).unwrap();
        match s.finish(&root, &|| false).unwrap() {
            Finished::Differs(why) => assert!(why.contains("sectors"), "{why}"),
            Finished::Written(_) => panic!("an image too small went unnoticed"),
        }
        // An early file that is gone.
        let (root, s) = new("gone", 0);
        std::fs::create_dir_all(root.join("repodata")).unwrap();
        std::fs::remove_file(
            root.join("Packages/a")
                .read_dir()
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path(),
        )
        .unwrap();
        match s.finish(&root, &|| false).unwrap() {
            Finished::Differs(why) => assert!(why.contains("not in the tree"), "{why}"),
            Finished::Written(_) => panic!("a missing file went unnoticed"),
        }
        // A cancel stops the early writer.
        let root = dir.path().join("cancel");
        let early = early_tree(&root, &dir.path().join("cancel-koji"), 5);
        let s = start(
            &dir.path().join("c.iso"),
            &opts(),
            early,
            &expected(0),
            std::sync::Arc::new(|| true),
        )
        .unwrap();
        let e = s.finish(&root, &|| false).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Interrupted);
    }

    #[test]
    fn clashing_identifiers_get_numbered_tails() {
        let mut seen = std::collections::HashSet::new();
        let a = unique(b"abc".to_vec(), &mut seen, 37, 1);
        let b = unique(b"abc".to_vec(), &mut seen, 37, 1);
        let c = unique(vec![b'x'; 37], &mut seen, 37, 1);
        let d = unique(vec![b'x'; 37], &mut seen, 37, 1);
        assert_eq!((a.as_slice(), b.as_slice()), (&b"abc"[..], &b"abc_1"[..]));
        assert_eq!(c.len(), 37);
        assert_eq!(d.len(), 37);
        assert!(d.ends_with(b"_1"));
    }
}
