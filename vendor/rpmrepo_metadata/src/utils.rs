// Copyright (c) 2022 Daniel Alley
//
// This Source Code Form is subject to the terms of the Mozilla Public
// License, v. 2.0. If a copy of the MPL was not distributed with this
// file, You can obtain one at http://mozilla.org/MPL/2.0/.

use ahash::AHashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use digest;
use hex;
use niffler;
use quick_xml;
use sha1;
use sha2;

use crate::{Checksum, ChecksumType, CompressionType, MetadataError};

// TODO: these Box<dyn Read> shouldn't be necessary
fn get_digest<D: digest::Digest>(mut reader: impl Read) -> Result<String, MetadataError> {
    let mut buffer = [0; 4096];
    let mut hasher = D::new();

    loop {
        let count = reader.read(&mut buffer)?;
        if count == 0 {
            break;
        }
        hasher.update(&buffer[..count]);
    }

    Ok(hex::encode(hasher.finalize().as_ref()))
}

/// Compute a checksum of the file at `path`.
pub fn checksum_file(path: &Path, checksum_type: ChecksumType) -> Result<Checksum, MetadataError> {
    let reader = Box::new(BufReader::new(File::open(path).unwrap())) as Box<dyn Read>;

    let result = match checksum_type {
        ChecksumType::Md5 => Checksum::Md5(get_digest::<md5::Md5>(reader)?),
        ChecksumType::Sha1 => Checksum::Sha1(get_digest::<sha1::Sha1>(reader)?),
        ChecksumType::Sha224 => Checksum::Sha224(get_digest::<sha2::Sha224>(reader)?),
        ChecksumType::Sha256 => Checksum::Sha256(get_digest::<sha2::Sha256>(reader)?),
        ChecksumType::Sha384 => Checksum::Sha384(get_digest::<sha2::Sha384>(reader)?),
        ChecksumType::Sha512 => Checksum::Sha512(get_digest::<sha2::Sha512>(reader)?),
        ChecksumType::Unknown => panic!("Cannot create digest using type Checksum::Unknown"),
    };

    Ok(result)
}

/// Compute a checksum of bytes already held in memory.
pub fn checksum_bytes(
    bytes: &[u8],
    checksum_type: ChecksumType,
) -> Result<Checksum, MetadataError> {
    let reader = std::io::Cursor::new(bytes);

    let result = match checksum_type {
        ChecksumType::Md5 => Checksum::Md5(get_digest::<md5::Md5>(reader)?),
        ChecksumType::Sha1 => Checksum::Sha1(get_digest::<sha1::Sha1>(reader)?),
        ChecksumType::Sha224 => Checksum::Sha224(get_digest::<sha2::Sha224>(reader)?),
        ChecksumType::Sha256 => Checksum::Sha256(get_digest::<sha2::Sha256>(reader)?),
        ChecksumType::Sha384 => Checksum::Sha384(get_digest::<sha2::Sha384>(reader)?),
        ChecksumType::Sha512 => Checksum::Sha512(get_digest::<sha2::Sha512>(reader)?),
        ChecksumType::Unknown => panic!("Cannot create digest using type Checksum::Unknown"),
    };

    Ok(result)
}
// TODO: not efficient to iterate the file twice

/// Compute a checksum of the decompressed contents of a compressed file, or `None` if uncompressed.
pub fn checksum_inner_file(
    path: &Path,
    checksum_type: ChecksumType,
) -> Result<Option<Checksum>, MetadataError> {
    let (reader, format) = niffler::from_path(path)?;

    if format == niffler::Format::No {
        return Ok(None);
    }

    let result = match checksum_type {
        ChecksumType::Md5 => Checksum::Md5(get_digest::<md5::Md5>(reader)?),
        ChecksumType::Sha1 => Checksum::Sha1(get_digest::<sha1::Sha1>(reader)?),
        ChecksumType::Sha224 => Checksum::Sha224(get_digest::<sha2::Sha224>(reader)?),
        ChecksumType::Sha256 => Checksum::Sha256(get_digest::<sha2::Sha256>(reader)?),
        ChecksumType::Sha384 => Checksum::Sha384(get_digest::<sha2::Sha384>(reader)?),
        ChecksumType::Sha512 => Checksum::Sha512(get_digest::<sha2::Sha512>(reader)?),
        ChecksumType::Unknown => panic!("Cannot create digest using type Checksum::Unknown"),
    };

    Ok(Some(result))
}

/// Return the decompressed size of a compressed file, or `None` if uncompressed.
#[allow(clippy::unbuffered_bytes)] // niffler::from_path() uses BufReader
pub fn size_inner_file(path: &Path) -> Result<Option<u64>, MetadataError> {
    let (reader, format) = niffler::from_path(path)?;

    let inner_size = match format {
        niffler::Format::No => None,
        _ => Some(reader.bytes().count() as u64),
    };

    Ok(inner_size)
}

/// Create a configured XML reader with empty-element expansion and text trimming enabled.
pub fn create_xml_reader<R: io::BufRead>(inner: R) -> quick_xml::Reader<R> {
    let mut reader = quick_xml::Reader::from_reader(inner);
    reader.config_mut().expand_empty_elements = true;
    reader.config_mut().trim_text(true);
    reader
}

/// Create an XML writer with 2-space indentation.
pub fn create_xml_writer<W: io::Write + Send>(inner: W) -> quick_xml::Writer<W> {
    quick_xml::Writer::new_with_indent(inner, b' ', 2)
}

/// Open a file and automatically decompress it based on its magic bytes.
pub fn reader_from_file(path: &Path) -> Result<Box<dyn io::Read + Send>, MetadataError> {
    let (compress_reader, _compression) = niffler::send::from_path(path)?;
    Ok(compress_reader)
}

/// Open a (possibly compressed) file and return a configured XML reader over it.
pub fn xml_reader_from_file(
    path: &Path,
) -> Result<quick_xml::Reader<BufReader<Box<dyn io::Read + Send>>>, MetadataError> {
    let compress_reader = reader_from_file(path)?;
    Ok(create_xml_reader(BufReader::new(compress_reader)))
}

// TODO: maybe split this up so that it just configures the writer, but takes a Box<dyn Write> which can be pre-configured with compression
/// Create a compressed XML writer for the given path, returning the final filename with compression suffix.
pub fn xml_writer_for_path(
    path: &Path,
    compression: CompressionType,
) -> Result<(PathBuf, quick_xml::Writer<Box<dyn io::Write + Send>>), MetadataError> {
    let (filename, inner_writer) = writer_to_file(path, compression)?;
    let writer = create_xml_writer(inner_writer);
    Ok((filename, writer))
}

/// Append the appropriate compression file extension (e.g. `.gz`, `.xz`) to a path.
pub fn apply_compression_suffix(path: &Path, compression: CompressionType) -> PathBuf {
    let extension = compression.to_file_extension();
    // TODO: easier way to do this?
    let mut filename = path.as_os_str().to_owned();
    filename.push(extension);
    PathBuf::from(&filename)
}

// composed: the compression level of the metadata writers is configurable (upstream always
// uses 9, which makes gzip 2-3x slower than createrepo_c's default level for ~2% smaller files).
static COMPRESSION_LEVEL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(9);

/// Sets the compression level (1-9) used by the metadata writers from now on.
pub fn set_compression_level(level: u32) {
    COMPRESSION_LEVEL.store(level.clamp(1, 9), std::sync::atomic::Ordering::Relaxed);
}

fn compression_level() -> niffler::Level {
    match COMPRESSION_LEVEL.load(std::sync::atomic::Ordering::Relaxed) {
        1 => niffler::Level::One,
        2 => niffler::Level::Two,
        3 => niffler::Level::Three,
        4 => niffler::Level::Four,
        5 => niffler::Level::Five,
        6 => niffler::Level::Six,
        7 => niffler::Level::Seven,
        8 => niffler::Level::Eight,
        _ => niffler::Level::Nine,
    }
}

/// Create a compressed writer to the given path, returning the final filename with compression suffix.
pub fn writer_to_file(
    path: &Path,
    compression: CompressionType,
) -> Result<(PathBuf, Box<dyn io::Write + Send>), MetadataError> {
    let filename = apply_compression_suffix(path, compression);
    let format = match compression {
        CompressionType::None => niffler::send::compression::Format::No,
        CompressionType::Gzip => niffler::send::compression::Format::Gzip,
        CompressionType::Xz => niffler::send::compression::Format::Lzma,
        CompressionType::Bz2 => niffler::send::compression::Format::Bzip,
        CompressionType::Zstd => niffler::send::compression::Format::Zstd,
    };
    let writer = niffler::send::to_path(&filename, format, compression_level())?;
    if compression == CompressionType::None {
        return Ok((filename, writer));
    }
    // composed: hash and count the uncompressed stream while it is written, so that the
    // repomd record needs no decompression pass afterwards (see `take_open_digest`).
    let hashing = OpenDigestWriter {
        inner: writer,
        hasher: <sha2::Sha256 as digest::Digest>::new(),
        size: 0,
        path: filename.clone(),
    };
    // composed: compression and hashing run on their own thread, so that the three metadata
    // files of a repository are compressed in parallel while the caller serializes XML.
    Ok((filename, Box::new(OffThreadWriter::new(Box::new(hashing)))))
}

enum Chunk {
    Data(Vec<u8>),
    Flush(std::sync::mpsc::SyncSender<io::Result<()>>),
}

/// A writer that hands its bytes, in large chunks, to a thread that owns the inner writer.
/// `flush` waits until the thread has written and flushed everything so far (and reports its
/// errors); dropping the writer waits until the thread has finished and dropped the inner
/// writer (which completes the compressed stream and records its open digest).
struct OffThreadWriter {
    buf: Vec<u8>,
    tx: Option<std::sync::mpsc::SyncSender<Chunk>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

const OFF_THREAD_CHUNK: usize = 256 * 1024;

impl OffThreadWriter {
    fn new(mut inner: Box<dyn io::Write + Send>) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(4);
        let thread = std::thread::Builder::new()
            .name("repodata-write".into())
            .spawn(move || -> io::Result<()> {
                for chunk in rx {
                    match chunk {
                        Chunk::Data(d) => inner.write_all(&d)?,
                        Chunk::Flush(ack) => {
                            let r = inner.flush();
                            let failed = r.as_ref().err().map(|e| io::Error::new(e.kind(), e.to_string()));
                            let _ = ack.send(r);
                            if let Some(e) = failed {
                                return Err(e);
                            }
                        }
                    }
                }
                inner.flush()
            })
            .expect("spawning the metadata writer thread");
        Self {
            buf: Vec::with_capacity(OFF_THREAD_CHUNK),
            tx: Some(tx),
            thread: Some(thread),
        }
    }

    /// The thread stopped early: its error.
    fn thread_error(&mut self) -> io::Error {
        self.tx = None;
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(Err(e))) => e,
            Some(Err(_)) => io::Error::other("the metadata writer thread panicked"),
            _ => io::Error::new(io::ErrorKind::BrokenPipe, "the metadata writer thread stopped"),
        }
    }

    fn send(&mut self, chunk: Chunk) -> io::Result<()> {
        let Some(tx) = &self.tx else {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "the metadata writer thread stopped"));
        };
        if tx.send(chunk).is_err() {
            return Err(self.thread_error());
        }
        Ok(())
    }

    fn send_buffered(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(OFF_THREAD_CHUNK));
        self.send(Chunk::Data(data))
    }
}

impl io::Write for OffThreadWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        if self.buf.len() >= OFF_THREAD_CHUNK {
            self.send_buffered()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buffered()?;
        let (ack_tx, ack_rx) = std::sync::mpsc::sync_channel(1);
        self.send(Chunk::Flush(ack_tx))?;
        match ack_rx.recv() {
            Ok(r) => r,
            Err(_) => Err(self.thread_error()),
        }
    }
}

impl Drop for OffThreadWriter {
    fn drop(&mut self) {
        let _ = self.send_buffered();
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The SHA-256 and size of the uncompressed content written to each compressed metadata file
/// (keyed by the compressed file's path), recorded when its writer is dropped.
static OPEN_DIGESTS: std::sync::LazyLock<std::sync::Mutex<AHashMap<PathBuf, (String, u64)>>> =
    std::sync::LazyLock::new(Default::default);

struct OpenDigestWriter {
    inner: Box<dyn io::Write + Send>,
    hasher: sha2::Sha256,
    size: u64,
    path: PathBuf,
}

impl io::Write for OpenDigestWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        digest::Digest::update(&mut self.hasher, &buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Drop for OpenDigestWriter {
    fn drop(&mut self) {
        let hasher = std::mem::replace(&mut self.hasher, <sha2::Sha256 as digest::Digest>::new());
        let digest = hex::encode(digest::Digest::finalize(hasher));
        if let Ok(mut m) = OPEN_DIGESTS.lock() {
            m.insert(self.path.clone(), (digest, self.size));
        }
    }
}

/// The open (uncompressed) SHA-256 and size recorded while `path` was written, if any.
pub fn take_open_digest(path: &Path) -> Option<(String, u64)> {
    OPEN_DIGESTS.lock().ok()?.remove(path)
}

/// Whether a file path is considered "primary" metadata (included in primary.xml).
pub fn is_primary_file(path: &str) -> bool {
    path.starts_with("/etc/") || path.contains("bin/") || path == "/usr/lib/sendmail"
}

/// A string interning pool that deduplicates strings and returns compact integer IDs.
///
/// Strings are stored once and referenced by `u32` index.
#[derive(Clone, Debug)]
pub struct StringPool {
    strings: Vec<String>,
    index: AHashMap<String, u32>,
}

impl Default for StringPool {
    fn default() -> Self {
        Self {
            strings: Vec::new(),
            index: AHashMap::new(),
        }
    }
}

impl StringPool {
    /// Create an empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Create an empty pool with pre-allocated capacity for `cap` strings.
    pub fn with_capacity(cap: usize) -> Self {
        Self {
            strings: Vec::with_capacity(cap),
            index: AHashMap::with_capacity(cap),
        }
    }

    /// Insert `s` into the pool if not already present and return its stable ID.
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.index.get(s) {
            return id;
        }
        let id = self.strings.len() as u32;
        let owned = s.to_owned();
        self.index.insert(owned.clone(), id);
        self.strings.push(owned);
        id
    }

    /// Look up a previously interned string by its ID.
    ///
    /// # Panics
    ///
    /// Panics if `id` was not returned by a prior call to [`intern`](Self::intern).
    pub fn resolve(&self, id: u32) -> &str {
        &self.strings[id as usize]
    }

    /// Return the ID of a previously interned string, or `None` if it is not in the pool.
    pub fn lookup(&self, s: &str) -> Option<u32> {
        self.index.get(s).copied()
    }

    /// Return the number of unique strings in the pool.
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// Return `true` if the pool contains no strings.
    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }
}

/// Interned directory path ID, referencing a [`StringPool`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DirId(u32);

impl DirId {
    pub(crate) fn new(id: u32) -> Self {
        Self(id)
    }

    pub(crate) fn as_u32(self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_pool_intern_and_resolve() {
        let mut pool = StringPool::new();
        let id = pool.intern("/usr/bin/");
        assert_eq!(pool.resolve(id), "/usr/bin/");
        assert_eq!(pool.len(), 1);
    }

    #[test]
    fn string_pool_deduplicates() {
        let mut pool = StringPool::new();
        let id1 = pool.intern("/usr/bin/");
        let id2 = pool.intern("/usr/bin/");
        assert_eq!(id1, id2);
        assert_eq!(pool.len(), 1);
    }

    #[test]
    fn string_pool_distinct_strings_get_distinct_ids() {
        let mut pool = StringPool::new();
        let id1 = pool.intern("/usr/bin/");
        let id2 = pool.intern("/etc/");
        assert_ne!(id1, id2);
        assert_eq!(pool.len(), 2);
    }

    #[test]
    fn string_pool_lookup_present() {
        let mut pool = StringPool::new();
        let id = pool.intern("/usr/bin/");
        assert_eq!(pool.lookup("/usr/bin/"), Some(id));
    }

    #[test]
    fn string_pool_lookup_absent() {
        let mut pool = StringPool::new();
        pool.intern("/usr/bin/");
        assert_eq!(pool.lookup("/etc/"), None);
    }

    #[test]
    fn string_pool_lookup_empty() {
        let pool = StringPool::new();
        assert_eq!(pool.lookup("anything"), None);
        assert!(pool.is_empty());
    }
}
