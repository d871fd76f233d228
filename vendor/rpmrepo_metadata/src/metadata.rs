// Copyright (c) 2022 Daniel Alley
//
// This Source Code Form is subject to the terms of the Mozilla Public
// License, v. 2.0. If a copy of the MPL was not distributed with this
// file, You can obtain one at http://mozilla.org/MPL/2.0/.

use std::cmp::Ordering;
use std::convert::TryInto;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

// use bitflags;
use compact_str::CompactString;
use indexmap::IndexMap;
use quick_xml::{Reader, Writer};
use thiserror::Error;

use crate::utils::{DirId, StringPool};
use crate::{Repository, constants::mdrecord, parsing_utils::sanitize_xml_text, utils};

/// Marker type for repomd.xml read/write operations.
pub struct RepomdXml;
/// Marker type for primary.xml read/write operations.
pub struct PrimaryXml;
/// Marker type for filelists.xml read/write operations.
pub struct FilelistsXml;
/// Marker type for other.xml read/write operations.
pub struct OtherXml;
/// Marker type for updateinfo.xml read/write operations.
pub struct UpdateinfoXml;
/// Marker type for comps.xml read/write operations.
pub struct CompsXml;
#[cfg(feature = "supportinfo")]
/// Marker type for supportinfo.xml read/write operations.
pub struct SupportInfoXml;

/// Errors that can occur when reading, writing, or validating RPM repository metadata.
#[derive(Error, Debug)]
pub enum MetadataError {
    #[cfg(feature = "read_rpm")]
    #[error(transparent)]
    RpmReadError(#[from] rpm::Error),
    #[error(transparent)]
    XmlParseError(#[from] quick_xml::Error),
    #[error(transparent)]
    Utf8Error(#[from] std::str::Utf8Error),
    #[error(transparent)]
    IoError(#[from] std::io::Error),
    #[error(transparent)]
    IntFieldParseError(#[from] std::num::ParseIntError),
    #[error(transparent)]
    UnsupportedCompressionTypeError(#[from] niffler::Error),
    #[error("Checksum type {0} is not supported")]
    UnsupportedChecksumTypeError(String),
    #[error("\"{0}\" is not a valid checksum of type \"{1:?}\"")]
    InvalidChecksumError(String, ChecksumType),
    #[error("\"{0}\" is not a valid flag value")]
    InvalidFlagsError(String),
    #[error("\"{0}\" is not a valid EVR string: {1}")]
    InvalidEvrError(String, String),
    #[error("Metadata files are inconsistent: {0}")]
    InconsistentMetadataError(String),
    #[error("Missing metadata field: {0}")]
    MissingFieldError(&'static str),
    #[error("Missing metadata attribute: {0}")]
    MissingAttributeError(&'static str),
    #[error("Unknown metadata attribute: {0}")]
    UnknownAttributeError(String),
    #[error("Missing metadata header")]
    MissingHeaderError,
    #[error("XML-forbidden character in {0}")]
    InvalidXmlCharacterError(&'static str),
}

impl From<quick_xml::events::attributes::AttrError> for MetadataError {
    fn from(e: quick_xml::events::attributes::AttrError) -> Self {
        MetadataError::XmlParseError(e.into())
    }
}

impl From<quick_xml::escape::EscapeError> for MetadataError {
    fn from(e: quick_xml::escape::EscapeError) -> Self {
        MetadataError::XmlParseError(e.into())
    }
}

impl From<quick_xml::encoding::EncodingError> for MetadataError {
    fn from(e: quick_xml::encoding::EncodingError) -> Self {
        MetadataError::XmlParseError(e.into())
    }
}

/// Trait implemented by each metadata type (primary, filelists, other, repomd, updateinfo, comps).
///
/// Provides a uniform interface for loading metadata into a [`Repository`] and writing it back out.
pub trait RpmMetadata {
    /// The default filename for this metadata type (e.g. `"primary.xml"`).
    fn filename() -> &'static str;

    /// Parse XML from `buffer` and load the results into `repository`.
    fn load_metadata<R: BufRead>(
        repository: &mut Repository,
        buffer: Reader<R>,
    ) -> Result<(), MetadataError>;

    /// Write metadata from `repository` to the XML `buffer`.
    fn write_metadata<W: Write>(
        repository: &Repository,
        buffer: Writer<W>,
    ) -> Result<(), MetadataError>;
}

// TODO: Trait impl tests https://github.com/rust-lang/rfcs/issues/616

/// Compression algorithm used for repository metadata files.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CompressionType {
    None,
    Gzip,
    Xz,
    Bz2,
    Zstd,
}

impl CompressionType {
    /// Returns the file extension associated with this compression type (e.g. `".gz"`, `".zst"`).
    pub fn to_file_extension(&self) -> &str {
        match self {
            CompressionType::None => "",
            CompressionType::Gzip => ".gz",
            CompressionType::Xz => ".xz",
            CompressionType::Bz2 => ".bz2",
            CompressionType::Zstd => ".zst",
        }
    }
}

impl TryInto<CompressionType> for &str {
    type Error = MetadataError;

    fn try_into(self) -> Result<CompressionType, Self::Error> {
        match self {
            "gzip" => Ok(CompressionType::Gzip),
            "bz2" => Ok(CompressionType::Bz2),
            "xz" => Ok(CompressionType::Xz),
            "zstd" => Ok(CompressionType::Zstd),
            "none" => Ok(CompressionType::None),
            _ => Err(MetadataError::UnsupportedChecksumTypeError(self.to_owned())),
        }
    }
}

// bitflags::bitflags! {
//     #[derive(Default)]
//     pub struct ParseState: u8 {
//         const NONE = 0b00000000;
//         const PRIMARY = 0b00000001;
//         const FILELISTS = 0b00000010;
//         const OTHER = 0b00000100;
//         const PRIMARY_WITH_FILES = 0b00001001;
//     }
// }

/// An RPM package's metadata as represented in repository XML.
///
/// Contains all fields found across primary.xml, filelists.xml, and other.xml.
#[derive(Clone, Default, Debug, PartialEq, Hash)]
pub struct Package {
    // pub(crate) parse_state: ParseState,
    name: String,
    arch: String,
    evr: rpm_version::Evr<'static>,
    checksum: Checksum,
    location_href: String,
    location_base: Option<String>,
    summary: String,
    description: String,
    packager: String,
    url: String,
    time_file: u64,
    time_build: u64,
    size_package: u64,
    size_installed: u64,
    size_archive: u64,

    rpm_license: String,           // rpm:license
    rpm_vendor: String,            // rpm:vendor
    rpm_group: String,             // rpm:group
    rpm_buildhost: String,         // rpm:buildhost
    rpm_sourcerpm: String,         // rpm:sourcerpm
    rpm_header_range: HeaderRange, // rpm:header-range

    rpm_requires: Vec<Requirement>,    // rpm:provides
    rpm_provides: Vec<Requirement>,    // rpm:requires
    rpm_conflicts: Vec<Requirement>,   // rpm:conflicts
    rpm_obsoletes: Vec<Requirement>,   // rpm:obsoletes
    rpm_suggests: Vec<Requirement>,    // rpm:suggests
    rpm_enhances: Vec<Requirement>,    // rpm:enhances
    rpm_recommends: Vec<Requirement>,  // rpm:recommends
    rpm_supplements: Vec<Requirement>, // rpm:supplements

    rpm_changelogs: Vec<Changelog>,
    rpm_files: FileList,
}

impl Package {
    /// Create a new `Package` with the given required fields; all other fields use defaults.
    pub fn new(
        name: &str,
        version: &rpm_version::Evr<'_>,
        arch: &str,
        checksum: &Checksum,
        location_href: &str,
    ) -> Package {
        Package {
            name: name.to_owned(),
            arch: arch.to_owned(),
            evr: rpm_version::Evr::new(
                version.epoch().to_owned(),
                version.version().to_owned(),
                version.release().to_owned(),
            ),
            checksum: checksum.clone(),
            location_href: location_href.to_owned(),
            ..Package::default()
        }
    }

    /// Set the package name.
    pub fn set_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.name = name.into();
        self
    }

    /// Return the package name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Set the epoch component of the version.
    pub fn set_epoch(&mut self, epoch: u32) -> &mut Self {
        self.evr.set_epoch(epoch.to_string());
        self
    }

    /// Return the epoch component of the version as a `u32`.
    pub fn epoch(&self) -> u32 {
        self.evr.epoch().parse().unwrap_or(0)
    }

    /// Set the version component of the EVR.
    pub fn set_version(&mut self, version: impl Into<String>) -> &mut Self {
        self.evr.set_version(version.into());
        self
    }

    /// Return the version component of the EVR.
    pub fn version(&self) -> &str {
        self.evr.version()
    }

    /// Set the release component of the EVR.
    pub fn set_release(&mut self, release: impl Into<String>) -> &mut Self {
        self.evr.set_release(release.into());
        self
    }

    /// Return the release component of the EVR.
    pub fn release(&self) -> &str {
        self.evr.release()
    }

    /// Set the architecture (e.g. `"x86_64"`, `"noarch"`, `"src"`).
    pub fn set_arch(&mut self, arch: impl Into<String>) -> &mut Self {
        self.arch = arch.into();
        self
    }

    /// Return the architecture.
    pub fn arch(&self) -> &str {
        &self.arch
    }

    /// Set the full epoch-version-release.
    pub fn set_evr(&mut self, evr: rpm_version::Evr<'static>) -> &mut Self {
        self.evr = evr;
        self
    }

    /// Return the package EVR (epoch-version-release) as an [`Evr`](rpm_version::Evr) struct.
    ///
    /// The returned value supports comparison via RPM's version ordering rules
    /// and can be formatted as a string (e.g. `"0:1.2.3-4"`).
    pub fn as_evr(&self) -> &rpm_version::Evr<'static> {
        &self.evr
    }

    /// Returns the name-version-release.arch string (e.g. `"foo-1.0-1.x86_64"`).
    pub fn nvra(&self) -> String {
        format!(
            "{}-{}-{}.{}",
            self.name,
            self.evr.version(),
            self.evr.release(),
            self.arch
        )
    }

    /// Returns the name-epoch:version-release.arch string (e.g. `"foo-1:2.0-3.x86_64"`).
    pub fn nevra(&self) -> String {
        self.as_nevra().to_string()
    }

    /// Return the package NEVRA (name-epoch-version-release.arch) as a
    /// [`Nevra`](rpm_version::Nevra) struct.
    ///
    /// The returned value supports comparison via RPM's version ordering rules
    /// and can be formatted as a string (e.g. `"foo-1:2.0-3.x86_64"`).
    pub fn as_nevra(&self) -> rpm_version::Nevra<'static> {
        rpm_version::Nevra::new(
            self.name().to_string(),
            self.epoch().to_string(),
            self.version().to_string(),
            self.release().to_string(),
            self.arch().to_string(),
        )
    }

    /// Return the package NEVRA when it is complete enough for warning context.
    fn xml_warning_nevra(&self) -> Option<String> {
        (!self.name.is_empty()
            && !self.version().is_empty()
            && !self.release().is_empty()
            && !self.arch.is_empty())
        .then(|| self.nevra())
    }

    /// Sanitize package text and include the package NEVRA in any warning.
    fn sanitize_package_xml_text(&self, value: impl Into<String>, field: &str) -> String {
        sanitize_xml_text(value, field, || self.xml_warning_nevra())
    }

    /// Validate fields whose values must not be altered to produce valid XML.
    pub fn validate_xml_fields(&self) -> Result<(), MetadataError> {
        use crate::parsing_utils::validate_xml_text;

        validate_xml_text(&self.name, "package name")?;
        validate_xml_text(&self.arch, "package architecture")?;
        validate_xml_text(self.evr.epoch(), "package epoch")?;
        validate_xml_text(self.evr.version(), "package version")?;
        validate_xml_text(self.evr.release(), "package release")?;
        validate_xml_text(self.pkgid(), "package checksum")?;
        validate_xml_text(&self.location_href, "package location href")?;
        if let Some(location_base) = &self.location_base {
            validate_xml_text(location_base, "package location base")?;
        }
        validate_xml_text(&self.rpm_sourcerpm, "source RPM filename")?;

        for requirement in self
            .rpm_requires
            .iter()
            .chain(&self.rpm_provides)
            .chain(&self.rpm_conflicts)
            .chain(&self.rpm_obsoletes)
            .chain(&self.rpm_suggests)
            .chain(&self.rpm_enhances)
            .chain(&self.rpm_recommends)
            .chain(&self.rpm_supplements)
        {
            validate_xml_text(requirement.name(), "dependency name")?;
            if let Some(epoch) = requirement.epoch() {
                validate_xml_text(epoch, "dependency epoch")?;
            }
            if let Some(version) = requirement.version() {
                validate_xml_text(version, "dependency version")?;
            }
            if let Some(release) = requirement.release() {
                validate_xml_text(release, "dependency release")?;
            }
        }

        for file in self.rpm_files.iter() {
            validate_xml_text(file.dir(), "file directory")?;
            validate_xml_text(file.basename(), "file name")?;
        }

        Ok(())
    }

    /// Set the package checksum.
    pub fn set_checksum(&mut self, checksum: Checksum) -> &mut Self {
        self.checksum = checksum;
        self
    }

    /// Return the package checksum.
    pub fn checksum(&self) -> &Checksum {
        &self.checksum
    }

    /// Returns the package ID (hex-encoded file checksum).
    pub fn pkgid(&self) -> &str {
        // TODO: better way to do this
        self.checksum.to_values().unwrap().1
    }

    /// Set the relative path to the RPM file within the repository.
    pub fn set_location_href(&mut self, location_href: impl Into<String>) -> &mut Self {
        self.location_href = location_href.into();
        self
    }

    /// Return the relative path to the RPM file within the repository.
    pub fn location_href(&self) -> &str {
        &self.location_href
    }

    /// Set the optional base URL prepended to the location href.
    pub fn set_location_base(&mut self, location_base: Option<impl Into<String>>) -> &mut Self {
        self.location_base = location_base.map(|a| a.into());
        self
    }

    /// Return the optional base URL for the package location.
    pub fn location_base(&self) -> Option<&str> {
        self.location_base.as_ref().map(|a| a.as_ref())
    }

    /// Set the package summary.
    pub fn set_summary(&mut self, summary: impl Into<String>) -> &mut Self {
        self.summary = self.sanitize_package_xml_text(summary, "package summary");
        self
    }

    /// Return the package summary.
    pub fn summary(&self) -> &str {
        &self.summary
    }

    /// Set the package description.
    pub fn set_description(&mut self, description: impl Into<String>) -> &mut Self {
        self.description = self.sanitize_package_xml_text(description, "package description");
        self
    }

    /// Return the package description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Set the packager name/email.
    pub fn set_packager(&mut self, packager: impl Into<String>) -> &mut Self {
        self.packager = self.sanitize_package_xml_text(packager, "package packager");
        self
    }

    /// Return the packager name/email.
    pub fn packager(&self) -> &str {
        &self.packager
    }

    /// Set the upstream project URL.
    pub fn set_url(&mut self, url: impl Into<String>) -> &mut Self {
        self.url = self.sanitize_package_xml_text(url, "package URL");
        self
    }

    /// Return the upstream project URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Set the file modification time as a Unix timestamp.
    pub fn set_time_file(&mut self, time_file: u64) -> &mut Self {
        self.time_file = time_file;
        self
    }

    /// Return the file modification time as a Unix timestamp.
    pub fn time_file(&self) -> u64 {
        self.time_file
    }

    /// Set the build time as a Unix timestamp.
    pub fn set_time_build(&mut self, time_build: u64) -> &mut Self {
        self.time_build = time_build;
        self
    }

    /// Return the build time as a Unix timestamp.
    pub fn time_build(&self) -> u64 {
        self.time_build
    }

    /// Set the size of the RPM file in bytes.
    pub fn set_size_package(&mut self, size_package: u64) -> &mut Self {
        self.size_package = size_package;
        self
    }

    /// Return the size of the RPM file in bytes.
    pub fn size_package(&self) -> u64 {
        self.size_package
    }

    /// Set the total installed size in bytes.
    pub fn set_size_installed(&mut self, size_installed: u64) -> &mut Self {
        self.size_installed = size_installed;
        self
    }

    /// Return the total installed size in bytes.
    pub fn size_installed(&self) -> u64 {
        self.size_installed
    }

    /// Set the uncompressed payload archive size in bytes.
    pub fn set_size_archive(&mut self, size_archive: u64) -> &mut Self {
        self.size_archive = size_archive;
        self
    }

    /// Return the uncompressed payload archive size in bytes.
    pub fn size_archive(&self) -> u64 {
        self.size_archive
    }

    /// Set the RPM license tag.
    pub fn set_rpm_license(&mut self, license: impl Into<String>) -> &mut Self {
        self.rpm_license = self.sanitize_package_xml_text(license, "RPM license");
        self
    }

    /// Return the RPM license tag.
    pub fn rpm_license(&self) -> &str {
        &self.rpm_license
    }

    /// Set the RPM vendor tag.
    pub fn set_rpm_vendor(&mut self, vendor: impl Into<String>) -> &mut Self {
        self.rpm_vendor = self.sanitize_package_xml_text(vendor, "RPM vendor");
        self
    }

    /// Return the RPM vendor tag.
    pub fn rpm_vendor(&self) -> &str {
        &self.rpm_vendor
    }

    /// Set the RPM group tag.
    pub fn set_rpm_group(&mut self, group: impl Into<String>) -> &mut Self {
        self.rpm_group = self.sanitize_package_xml_text(group, "RPM group");
        self
    }

    /// Return the RPM group tag.
    pub fn rpm_group(&self) -> &str {
        &self.rpm_group
    }

    /// Set the hostname of the build machine.
    pub fn set_rpm_buildhost(&mut self, rpm_buildhost: impl Into<String>) -> &mut Self {
        self.rpm_buildhost = self.sanitize_package_xml_text(rpm_buildhost, "RPM build host");
        self
    }

    /// Return the hostname of the build machine.
    pub fn rpm_buildhost(&self) -> &str {
        &self.rpm_buildhost
    }

    /// Set the source RPM filename.
    pub fn set_rpm_sourcerpm(&mut self, rpm_sourcerpm: impl Into<String>) -> &mut Self {
        self.rpm_sourcerpm = rpm_sourcerpm.into();
        self
    }

    /// Return the source RPM filename.
    pub fn rpm_sourcerpm(&self) -> &str {
        &self.rpm_sourcerpm
    }

    /// Set the byte offsets of the RPM header within the file.
    pub fn set_rpm_header_range(&mut self, start: u64, end: u64) -> &mut Self {
        self.rpm_header_range = HeaderRange { start, end };
        self
    }

    /// Return the byte offsets of the RPM header within the file.
    pub fn rpm_header_range(&self) -> &HeaderRange {
        &self.rpm_header_range
    }

    // TODO: probably adjust the signatures on all of these w/ builder pattern or something
    /// Set the list of `Requires` dependencies.
    pub fn set_requires(&mut self, requires: Vec<Requirement>) -> &mut Self {
        self.rpm_requires = requires;
        self
    }

    /// Add a `Requires` dependency.
    pub fn add_require(&mut self, requirement: Requirement) -> &mut Self {
        self.rpm_requires.push(requirement);
        self
    }

    /// Return the `Requires` dependencies.
    pub fn requires(&self) -> &[Requirement] {
        &self.rpm_requires
    }

    /// Set the list of `Provides` capabilities.
    pub fn set_provides(&mut self, provides: Vec<Requirement>) -> &mut Self {
        self.rpm_provides = provides;
        self
    }

    /// Add a `Provides` capability.
    pub fn add_provide(&mut self, provide: Requirement) -> &mut Self {
        self.rpm_provides.push(provide);
        self
    }

    /// Return the `Provides` capabilities.
    pub fn provides(&self) -> &[Requirement] {
        &self.rpm_provides
    }

    /// Set the list of `Conflicts` dependencies.
    pub fn set_conflicts(&mut self, conflicts: Vec<Requirement>) -> &mut Self {
        self.rpm_conflicts = conflicts;
        self
    }

    /// Add a `Conflicts` dependency.
    pub fn add_conflict(&mut self, conflict: Requirement) -> &mut Self {
        self.rpm_conflicts.push(conflict);
        self
    }

    /// Return the `Conflicts` dependencies.
    pub fn conflicts(&self) -> &[Requirement] {
        &self.rpm_conflicts
    }

    /// Set the list of `Obsoletes` dependencies.
    pub fn set_obsoletes(&mut self, obsoletes: Vec<Requirement>) -> &mut Self {
        self.rpm_obsoletes = obsoletes;
        self
    }

    /// Add an `Obsoletes` dependency.
    pub fn add_obsolete(&mut self, obsolete: Requirement) -> &mut Self {
        self.rpm_obsoletes.push(obsolete);
        self
    }

    /// Return the `Obsoletes` dependencies.
    pub fn obsoletes(&self) -> &[Requirement] {
        &self.rpm_obsoletes
    }

    /// Set the list of `Suggests` (weak forward) dependencies.
    pub fn set_suggests(&mut self, suggests: Vec<Requirement>) -> &mut Self {
        self.rpm_suggests = suggests;
        self
    }

    /// Add a `Suggests` dependency.
    pub fn add_suggest(&mut self, suggest: Requirement) -> &mut Self {
        self.rpm_suggests.push(suggest);
        self
    }

    /// Return the `Suggests` dependencies.
    pub fn suggests(&self) -> &[Requirement] {
        &self.rpm_suggests
    }

    /// Set the list of `Enhances` (weak reverse) dependencies.
    pub fn set_enhances(&mut self, enhances: Vec<Requirement>) -> &mut Self {
        self.rpm_enhances = enhances;
        self
    }

    /// Add an `Enhances` dependency.
    pub fn add_enhance(&mut self, enhance: Requirement) -> &mut Self {
        self.rpm_enhances.push(enhance);
        self
    }

    /// Return the `Enhances` dependencies.
    pub fn enhances(&self) -> &[Requirement] {
        &self.rpm_enhances
    }

    /// Set the list of `Recommends` (weak forward) dependencies.
    pub fn set_recommends(&mut self, recommends: Vec<Requirement>) -> &mut Self {
        self.rpm_recommends = recommends;
        self
    }

    /// Add a `Recommends` dependency.
    pub fn add_recommend(&mut self, recommend: Requirement) -> &mut Self {
        self.rpm_recommends.push(recommend);
        self
    }

    /// Return the `Recommends` dependencies.
    pub fn recommends(&self) -> &[Requirement] {
        &self.rpm_recommends
    }

    /// Set the list of `Supplements` (weak reverse) dependencies.
    pub fn set_supplements(&mut self, supplements: Vec<Requirement>) -> &mut Self {
        self.rpm_supplements = supplements;
        self
    }

    /// Add a `Supplements` dependency.
    pub fn add_supplement(&mut self, supplement: Requirement) -> &mut Self {
        self.rpm_supplements.push(supplement);
        self
    }

    /// Return the `Supplements` dependencies.
    pub fn supplements(&self) -> &[Requirement] {
        &self.rpm_supplements
    }

    /// Add a file entry to the package.
    pub fn add_file(&mut self, filetype: FileType, path: &str) -> &mut Self {
        self.rpm_files.add_file(filetype, path);
        self
    }

    /// Add a file entry to the package, but with separate arguments for directory and filename
    pub fn add_file_split(&mut self, filetype: FileType, dir: &str, basename: &str) -> &mut Self {
        self.rpm_files.add_file_split(filetype, dir, basename);
        self
    }

    /// Remove all file entries from the package.
    pub fn clear_files(&mut self) -> &mut Self {
        self.rpm_files.clear();
        self
    }

    pub(crate) fn take_files(&mut self) -> FileList {
        std::mem::take(&mut self.rpm_files)
    }

    pub(crate) fn replace_files(&mut self, files: FileList) {
        self.rpm_files = files;
    }

    /// Return the file list.
    pub fn files(&self) -> &FileList {
        &self.rpm_files
    }

    /// Iterate over files, calling `f` with each file's type and full path.
    pub fn for_each_file(&self, f: impl FnMut(FileType, &str)) {
        self.rpm_files.for_each_file(f);
    }

    /// Append a changelog entry.
    pub fn add_changelog(&mut self, author: &str, description: &str, date: u64) -> &mut Self {
        self.rpm_changelogs.push(Changelog {
            author: self.sanitize_package_xml_text(author, "changelog author"),
            timestamp: date,
            description: self.sanitize_package_xml_text(description, "changelog description"),
        });
        self
    }

    /// Replace the changelog entries.
    pub fn set_changelogs(&mut self, changelogs: Vec<Changelog>) -> &mut Self {
        self.rpm_changelogs = changelogs
            .into_iter()
            .map(|changelog| Changelog {
                author: sanitize_xml_text(changelog.author, "changelog author", || {
                    self.xml_warning_nevra()
                }),
                timestamp: changelog.timestamp,
                description: sanitize_xml_text(
                    changelog.description,
                    "changelog description",
                    || self.xml_warning_nevra(),
                ),
            })
            .collect();
        self
    }

    /// Return the changelog entries.
    pub fn changelogs(&self) -> &[Changelog] {
        &self.rpm_changelogs
    }

    pub(crate) fn take_changelogs(&mut self) -> Vec<Changelog> {
        std::mem::take(&mut self.rpm_changelogs)
    }
}

impl PartialOrd for Package {
    #[inline]
    fn partial_cmp(&self, other: &Package) -> Option<Ordering> {
        Some(other.as_nevra().cmp(&self.as_nevra()))
    }
}

/// Hash algorithm used for checksums in repository metadata.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum ChecksumType {
    Md5,
    Sha1,
    Sha224,
    #[default]
    Sha256,
    Sha384,
    Sha512,
    Unknown,
}

/// A checksum value tagged with its algorithm type.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Checksum {
    Md5(String),
    Sha1(String),
    Sha224(String),
    Sha256(String),
    Sha384(String),
    Sha512(String),
    Unknown(String),
    #[default]
    Empty,
}

impl Hash for Checksum {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Self::Md5(hash) => format!("md5:{hash}").hash(state),
            Self::Sha1(hash) => format!("sha1:{hash}").hash(state),
            Self::Sha224(hash) => format!("sha224:{hash}").hash(state),
            Self::Sha256(hash) => format!("sha256:{hash}").hash(state),
            Self::Sha384(hash) => format!("sha384:{hash}").hash(state),
            Self::Sha512(hash) => format!("sha512:{hash}").hash(state),
            // TODO: adjust this representation. Currently these exist because of reuse of these enums
            // to represent intermediate parsing states, but those probably ought to be pulled out somehow
            Self::Unknown(_hash) => unimplemented!(),
            Self::Empty => unimplemented!(),
        }
    }
}

impl Checksum {
    /// Create a `Checksum` from a type name (e.g. `"sha256"`) and hex digest, validating the length.
    pub fn try_create<N: AsRef<[u8]> + Sized>(
        checksum_type: N,
        checksum: N,
    ) -> Result<Self, MetadataError> {
        let bytes_to_str = |value| std::str::from_utf8(value).unwrap().to_owned();

        match checksum_type.as_ref() {
            b"md5" => {
                let digest = bytes_to_str(checksum.as_ref());
                if digest.len() != 32 {
                    Err(MetadataError::InvalidChecksumError(
                        digest,
                        ChecksumType::Md5,
                    ))
                } else {
                    Ok(Checksum::Md5(digest))
                }
            }
            b"sha" => {
                let digest = bytes_to_str(checksum.as_ref());
                if digest.len() != 40 {
                    Err(MetadataError::InvalidChecksumError(
                        digest,
                        ChecksumType::Sha1,
                    ))
                } else {
                    Ok(Checksum::Sha1(digest))
                }
            }
            b"sha1" => {
                let digest = bytes_to_str(checksum.as_ref());
                if digest.len() != 40 {
                    Err(MetadataError::InvalidChecksumError(
                        digest,
                        ChecksumType::Sha1,
                    ))
                } else {
                    Ok(Checksum::Sha1(digest))
                }
            }
            b"sha224" => {
                let digest = bytes_to_str(checksum.as_ref());
                if digest.len() != 56 {
                    Err(MetadataError::InvalidChecksumError(
                        digest,
                        ChecksumType::Sha224,
                    ))
                } else {
                    Ok(Checksum::Sha224(digest))
                }
            }
            b"sha256" => {
                let digest = bytes_to_str(checksum.as_ref());
                if digest.len() != 64 {
                    Err(MetadataError::InvalidChecksumError(
                        digest,
                        ChecksumType::Sha256,
                    ))
                } else {
                    Ok(Checksum::Sha256(digest))
                }
            }
            b"sha384" => {
                let digest = bytes_to_str(checksum.as_ref());
                if digest.len() != 96 {
                    Err(MetadataError::InvalidChecksumError(
                        digest,
                        ChecksumType::Sha384,
                    ))
                } else {
                    Ok(Checksum::Sha384(digest))
                }
            }
            b"sha512" => {
                let digest = bytes_to_str(checksum.as_ref());
                if digest.len() != 128 {
                    Err(MetadataError::InvalidChecksumError(
                        digest,
                        ChecksumType::Sha512,
                    ))
                } else {
                    Ok(Checksum::Sha512(digest))
                }
            }
            _ => Err(MetadataError::UnsupportedChecksumTypeError(bytes_to_str(
                checksum_type.as_ref(),
            ))),
        }
    }

    /// Returns the `(type_name, hex_digest)` pair (e.g. `("sha256", "abcd...")`).
    pub fn to_values(&self) -> Result<(&str, &str), MetadataError> {
        let values = match self {
            Checksum::Md5(c) => ("md5", c.as_str()),
            Checksum::Sha1(c) => ("sha1", c.as_str()),
            Checksum::Sha224(c) => ("sha224", c.as_str()),
            Checksum::Sha256(c) => ("sha256", c.as_str()),
            Checksum::Sha384(c) => ("sha384", c.as_str()),
            Checksum::Sha512(c) => ("sha512", c.as_str()),
            Checksum::Unknown(c) => ("unknown", c.as_str()), // TODO: need to fix this - if filelists is loaded w/o metadata the pkgid is known but the type is not
            Checksum::Empty => panic!("Cannot take value of empty checksum"),
        };
        Ok(values)
    }
}

/// A changelog entry from an RPM package.
#[derive(Clone, Debug, Default, Hash, PartialEq)]
pub struct Changelog {
    /// The author line (e.g. `"John Doe <john@example.com> - 1.0-1"`).
    pub author: String,
    /// Unix timestamp of the changelog entry.
    pub timestamp: u64,
    /// The changelog text.
    pub description: String,
}

/// Byte range of the RPM header within the package file.
#[derive(Copy, Clone, Debug, Default, Hash, PartialEq)]
pub struct HeaderRange {
    /// Offset of the start of the header.
    pub start: u64,
    /// Offset of the end of the header (start of the payload).
    pub end: u64,
}

/// An RPM dependency entry (used for Provides, Requires, Conflicts, Obsoletes, etc.).
#[derive(Clone, Debug, Default, Hash, PartialEq, Eq)]
pub struct Requirement {
    name: String,
    flags: Option<RequirementType>,
    epoch: Option<compact_str::CompactString>,
    version: Option<compact_str::CompactString>,
    release: Option<compact_str::CompactString>,
    preinstall: bool,
}

impl Requirement {
    /// Create a new requirement with the given name.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Return the dependency name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Set the dependency name.
    pub fn set_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Return the comparison operator, if set.
    pub fn flags(&self) -> Option<RequirementType> {
        self.flags
    }

    /// Set the comparison operator.
    pub fn set_flags(mut self, flags: Option<RequirementType>) -> Self {
        self.flags = flags;
        self
    }

    /// Return the epoch string, if set.
    pub fn epoch(&self) -> Option<&str> {
        self.epoch.as_deref()
    }

    /// Set the epoch constraint (e.g. `"0"`, `"1"`).
    pub fn set_epoch<S: AsRef<str>>(mut self, epoch: Option<S>) -> Self {
        self.epoch = epoch.map(|s| compact_str::CompactString::new(s.as_ref()));
        self
    }

    /// Return the version string, if set.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// Set the version constraint (e.g. `"2.3.4"`).
    pub fn set_version<S: AsRef<str>>(mut self, version: Option<S>) -> Self {
        self.version = version.map(|s| compact_str::CompactString::new(s.as_ref()));
        self
    }

    /// Return the release string, if set.
    pub fn release(&self) -> Option<&str> {
        self.release.as_deref()
    }

    /// Set the release constraint (e.g. `"5.el8"`).
    pub fn set_release<S: AsRef<str>>(mut self, release: Option<S>) -> Self {
        self.release = release.map(|s| compact_str::CompactString::new(s.as_ref()));
        self
    }

    /// Return whether this is a pre-install dependency.
    pub fn preinstall(&self) -> bool {
        self.preinstall
    }

    /// Mark this requirement as a pre-install dependency.
    pub fn set_preinstall(mut self, preinstall: bool) -> Self {
        self.preinstall = preinstall;
        self
    }
}

/// Comparison operator for version-constrained dependencies.
#[derive(Copy, Clone, Debug, Hash, PartialEq, Eq)]
pub enum RequirementType {
    LT,
    GT,
    EQ,
    LE,
    GE,
}

impl std::fmt::Display for RequirementType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl RequirementType {
    /// Return the canonical two-letter string representation (e.g. `"GE"`).
    pub fn as_str(self) -> &'static str {
        match self {
            RequirementType::LT => "LT",
            RequirementType::GT => "GT",
            RequirementType::EQ => "EQ",
            RequirementType::LE => "LE",
            RequirementType::GE => "GE",
        }
    }

    /// Return the mathematical operator symbol (e.g. `">="`).
    pub fn as_operator(self) -> &'static str {
        match self {
            RequirementType::LT => "<",
            RequirementType::GT => ">",
            RequirementType::EQ => "=",
            RequirementType::LE => "<=",
            RequirementType::GE => ">=",
        }
    }
}

impl TryFrom<&str> for RequirementType {
    type Error = MetadataError;

    fn try_from(flags: &str) -> Result<Self, Self::Error> {
        let reqtype = match flags {
            "LT" => RequirementType::LT,
            "GT" => RequirementType::GT,
            "EQ" => RequirementType::EQ,
            "LE" => RequirementType::LE,
            "GE" => RequirementType::GE,
            t => return Err(MetadataError::InvalidFlagsError(t.to_owned())),
        };

        Ok(reqtype)
    }
}

/// Type of a file entry within an RPM package.
#[derive(Copy, Clone, Debug, PartialEq, Hash, Default)]
pub enum FileType {
    #[default]
    File,
    Dir,
    Ghost,
}

// TODO: this is unnecessary / not the best way
impl FileType {
    /// Parse a file type from its XML string representation (`"file"`, `"dir"`, `"ghost"`).
    pub fn try_create(val: &str) -> Result<Self, MetadataError> {
        let ftype = match val {
            "dir" => FileType::Dir,
            "ghost" => FileType::Ghost,
            "file" => FileType::File,
            _ => panic!(),
        };
        Ok(ftype)
    }

    /// Return the XML string representation of this file type.
    pub fn to_values(&self) -> &str {
        match self {
            FileType::File => "file",
            FileType::Dir => "dir",
            FileType::Ghost => "ghost",
        }
    }
}

#[derive(Clone, Debug)]
struct FileListEntry {
    filetype: FileType,
    dir_id: DirId,
    basename: CompactString,
}

/// A collection of file entries with interned directory and basename components.
///
/// File paths are split at the last `/` and each component is stored once in a
/// shared string pool. This gives substantial memory savings when many files
/// share the same directory prefix (common in RPM packages).
#[derive(Clone, Debug)]
pub struct FileList {
    dir_pool: Arc<StringPool>,
    entries: Vec<FileListEntry>,
    last_dir: Option<(u32, String)>,
}

impl PartialEq for FileList {
    fn eq(&self, other: &Self) -> bool {
        if self.entries.len() != other.entries.len() {
            return false;
        }
        self.iter().zip(other.iter()).all(|(a, b)| {
            a.filetype() == b.filetype() && a.dir() == b.dir() && a.basename() == b.basename()
        })
    }
}

impl Hash for FileList {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.entries.len().hash(state);
        for f in self.iter() {
            f.filetype().hash(state);
            f.dir().hash(state);
            f.basename().hash(state);
        }
    }
}

impl Default for FileList {
    fn default() -> Self {
        Self::new()
    }
}

impl FileList {
    /// Create an empty `FileList` with its own directory string pool.
    pub fn new() -> Self {
        Self {
            dir_pool: Arc::new(StringPool::with_capacity(16)),
            entries: Vec::new(),
            last_dir: None,
        }
    }

    /// Create a FileList sharing the given directory string pool.
    ///
    /// Used during bulk parsing so that all packages in a [`Repository`] share
    /// one pool, maximising deduplication.
    pub fn with_pool(dir_pool: Arc<StringPool>) -> Self {
        Self {
            dir_pool,
            entries: Vec::new(),
            last_dir: None,
        }
    }

    /// Add a file entry
    pub fn add_file(&mut self, filetype: FileType, path: &str) {
        let (dir, basename) = split_path(path);

        self.add_file_split(filetype, dir, basename)
    }

    /// Add a file entry, but with the path pre-split into directory and basename components
    pub(crate) fn add_file_split(&mut self, filetype: FileType, dir: &str, basename: &str) {
        let dir_id = match &self.last_dir {
            Some((id, cached)) if cached == dir => DirId::new(*id),
            _ => {
                let id = Arc::make_mut(&mut self.dir_pool).intern(dir);
                self.last_dir = Some((id, dir.to_owned()));
                DirId::new(id)
            }
        };

        self.entries.push(FileListEntry {
            filetype,
            dir_id,
            basename: CompactString::new(basename),
        });
    }

    /// Remove all file entries.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.last_dir = None;
    }

    /// Return the number of file entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Return `true` if there are no file entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Iterate over files, yielding [`FileRef`] with separate dir/basename components.
    pub fn iter(&self) -> FileIter<'_> {
        FileIter {
            dir_pool: &self.dir_pool,
            inner: self.entries.iter(),
        }
    }

    /// Return `true` if the file list contains an entry with the given full path.
    pub fn contains(&self, path: &str) -> bool {
        let (dir, basename) = split_path(path);
        if let Some(dir_id) = self.dir_pool.lookup(dir) {
            self.entries
                .iter()
                .any(|e| e.dir_id.as_u32() == dir_id && e.basename == basename)
        } else {
            false
        }
    }

    /// Iterate over files, calling `f` with the full reconstructed path.
    ///
    /// Uses a single reusable buffer internally — no allocation per file.
    pub fn for_each_file(&self, mut f: impl FnMut(FileType, &str)) {
        let mut buf = String::new();
        for entry in &self.entries {
            buf.clear();
            buf.push_str(self.dir_pool.resolve(entry.dir_id.as_u32()));
            buf.push_str(&entry.basename);
            f(entry.filetype, &buf);
        }
    }
}

/// A reference to a single file entry, borrowing dir and basename from the pool.
pub struct FileRef<'a> {
    filetype: FileType,
    dir: &'a str,
    basename: &'a str,
}

impl<'a> FileRef<'a> {
    /// Return the file type (file, directory, or ghost).
    pub fn filetype(&self) -> FileType {
        self.filetype
    }

    /// Return the directory portion of the path (e.g. `"/usr/bin/"`).
    pub fn dir(&self) -> &str {
        self.dir
    }

    /// Return the filename portion of the path (e.g. `"python3"`).
    pub fn basename(&self) -> &str {
        self.basename
    }

    /// Reconstruct the full path by joining dir and basename.
    pub fn path(&self) -> String {
        let mut s = String::with_capacity(self.dir.len() + self.basename.len());
        s.push_str(self.dir);
        s.push_str(self.basename);
        s
    }
}

impl fmt::Display for FileRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.dir, self.basename)
    }
}

/// Iterator over file entries in a [`FileList`], yielding [`FileRef`] values.
pub struct FileIter<'a> {
    dir_pool: &'a StringPool,
    inner: std::slice::Iter<'a, FileListEntry>,
}

impl<'a> Iterator for FileIter<'a> {
    type Item = FileRef<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.inner.next()?;
        Some(FileRef {
            filetype: entry.filetype,
            dir: self.dir_pool.resolve(entry.dir_id.as_u32()),
            basename: &entry.basename,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for FileIter<'_> {}

/// Split a path into (dir, basename) at the last `/`.
///
/// The dir component includes the trailing `/`.
fn split_path(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(idx) => path.split_at(idx + 1),
        None => ("", path),
    }
}

/// The type of a metadata file within the repository (primary, filelists, other, etc.).
#[derive(Clone, Debug, PartialEq)]
pub enum MetadataType {
    Primary,
    Filelists,
    Other,

    Unknown,
}

impl From<&str> for MetadataType {
    fn from(name: &str) -> Self {
        match name {
            mdrecord::MD_PRIMARY => MetadataType::Primary,
            mdrecord::MD_FILELISTS => MetadataType::Filelists,
            mdrecord::MD_OTHER => MetadataType::Other,
            _ => MetadataType::Unknown,
        }
    }
}

/// A distribution tag from repomd.xml, optionally carrying a CPE ID.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct DistroTag {
    /// Common Platform Enumeration identifier (e.g. `"cpe:/o:fedoraproject:fedora:33"`).
    pub cpeid: Option<String>,
    /// Human-readable distribution name (e.g. `"Fedora 33"`).
    pub name: String,
}

impl DistroTag {
    pub fn new(name: String, cpeid: Option<String>) -> Self {
        DistroTag { name, cpeid }
    }
}

/// Contents of a `repomd.xml` file: revision, metadata file records, and repository tags.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RepomdData {
    revision: Option<String>,
    metadata_files: Vec<RepomdRecord>,

    // checksum_type: ChecksumType,
    repo_tags: Vec<String>,
    content_tags: Vec<String>,
    distro_tags: Vec<DistroTag>,
}

impl RepomdData {
    /// Add a metadata file record (e.g. primary, filelists) to the repomd.
    pub fn add_record(&mut self, record: RepomdRecord) {
        self.metadata_files.push(record);
    }

    /// Look up a metadata record by type name (e.g. `"primary"`, `"filelists"`).
    pub fn get_record(&self, rectype: &str) -> Option<&RepomdRecord> {
        self.metadata_files
            .iter()
            .find(|r| r.metadata_name == rectype)
    }

    /// Returns all metadata file records.
    pub fn records(&self) -> &Vec<RepomdRecord> {
        &self.metadata_files
    }

    // pub fn records(&self) -> &BTreeMap<String, RepomdRecord> {
    //     &self.metadata_files
    // }

    // pub fn records_mut(&self) -> &mut BTreeMap<String, RepomdRecord> {
    //     &mut self.metadata_files
    // }

    // pub fn remove_record(&mut self, rectype: &str) {
    //     self.metadata_files.retain(|r| &r.mdtype != rectype);
    // }

    /// Add a repository tag to the repomd metadata.
    pub fn add_repo_tag(&mut self, repo: String) {
        self.repo_tags.push(repo)
    }

    /// Returns the repository tags.
    pub fn repo_tags(&self) -> &Vec<String> {
        &self.repo_tags
    }

    /// Add a content tag to the repomd metadata.
    pub fn add_content_tag(&mut self, content: String) {
        self.content_tags.push(content)
    }

    /// Returns the content tags.
    pub fn content_tags(&self) -> &Vec<String> {
        &self.content_tags
    }

    /// Add a distribution tag with an optional CPE identifier.
    pub fn add_distro_tag(&mut self, name: String, cpeid: Option<String>) {
        let distro = DistroTag { name, cpeid };
        self.distro_tags.push(distro)
    }

    /// Returns the distribution tags.
    pub fn distro_tags(&self) -> &Vec<DistroTag> {
        &self.distro_tags
    }

    /// Set the repository revision string.
    pub fn set_revision(&mut self, revision: &str) {
        self.revision = Some(revision.to_owned());
    }

    /// Returns the repository revision string, if set.
    pub fn revision(&self) -> Option<&str> {
        self.revision.as_deref()
    }

    /// Sort metadata records into a canonical order (primary, filelists, other, then others).
    pub fn sort_records(&mut self) {
        fn value(item: &RepomdRecord) -> u32 {
            let mdtype = MetadataType::from(item.metadata_name.as_str());
            match mdtype {
                MetadataType::Primary => 1,
                MetadataType::Filelists => 2,
                MetadataType::Other => 3,
                MetadataType::Unknown => 10,
            }
        }
        self.metadata_files.sort_by_key(value);
    }

    /// Returns the primary metadata record. Panics if not present.
    pub fn get_primary_data(&self) -> Option<&RepomdRecord> {
        self.get_record(mdrecord::MD_PRIMARY)
    }

    /// Returns the filelists metadata record. Panics if not present.
    pub fn get_filelist_data(&self) -> Option<&RepomdRecord> {
        self.get_record(mdrecord::MD_FILELISTS)
    }

    /// Returns the other metadata record. Panics if not present.
    pub fn get_other_data(&self) -> Option<&RepomdRecord> {
        self.get_record(mdrecord::MD_OTHER)
    }

    /// Returns the updateinfo metadata record.
    pub fn get_updateinfo_data(&self) -> Option<&RepomdRecord> {
        self.get_record(mdrecord::MD_UPDATEINFO)
    }

    /// Returns the other metadata record.
    pub fn get_comps_data(&self) -> Option<&RepomdRecord> {
        self.get_record(mdrecord::MD_GROUP)
            .or_else(|| self.get_record(mdrecord::MD_GROUP_GZ))
            .or_else(|| self.get_record(mdrecord::MD_GROUP_XZ))
    }
}

/// A single metadata file entry within repomd.xml (e.g. primary, filelists, other).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RepomdRecord {
    base_path: Option<PathBuf>,

    /// Record type
    pub metadata_name: String,
    /// Relative location of the file in a repository
    pub location_href: PathBuf,
    /// URL at which the location_href is relative - if it is not the current one
    pub location_base: Option<String>,
    /// Mtime of the file
    pub timestamp: i64,
    /// Size of the file
    pub size: Option<u64>,
    /// Checksum of the file
    pub checksum: Checksum,

    /// Size of the archive content
    pub open_size: Option<u64>,
    /// Checksum of the archive content
    pub open_checksum: Option<Checksum>,

    /// Size of the Zchunk header
    pub header_size: Option<u64>,
    /// Checksum of the Zchunk header
    pub header_checksum: Option<Checksum>,

    /// Database version (used only for sqlite databases like primary.sqlite etc.)
    pub database_version: Option<u32>,
}

impl RepomdRecord {
    /// Create a new record by reading the file at `href` relative to `base`.
    pub fn new(
        name: &str,
        href: &Path,
        base: &Path,
        checksum_type: ChecksumType,
    ) -> Result<Self, MetadataError> {
        let location_href = {
            // let href = href
            //     .strip_prefix(href.ancestors().nth(2).unwrap())
            //     .unwrap()
            //     .to_owned();
            assert!(href.starts_with("repodata/"));
            href.to_owned()
        };
        let mut record = RepomdRecord {
            metadata_name: name.to_owned(),
            location_href,
            base_path: Some(base.to_owned()),
            ..Default::default()
        };
        record.base_path = Some(base.to_owned());
        record.fill(checksum_type)?;
        Ok(record)
    }

    /// Populate size, timestamp, and checksum fields by reading the file from disk.
    pub fn fill(&mut self, checksum_type: ChecksumType) -> Result<(), MetadataError> {
        let file_path = self
            .base_path
            .as_ref()
            .expect("cannot fill metadata if path not on disk")
            .join(&self.location_href);
        let file_metadata = file_path.metadata()?;
        self.timestamp = file_metadata
            .modified()
            .unwrap_or(SystemTime::UNIX_EPOCH)
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as i64;
        self.size = Some(file_metadata.len());
        self.checksum = utils::checksum_file(&file_path, checksum_type)?;
        // composed: use what the writer recorded instead of decompressing the file twice.
        match utils::take_open_digest(&file_path) {
            Some((digest, size)) if checksum_type == ChecksumType::Sha256 => {
                self.open_checksum = Some(Checksum::Sha256(digest));
                self.open_size = Some(size);
            }
            _ => {
                self.open_checksum = utils::checksum_inner_file(&file_path, checksum_type)?;
                self.open_size = utils::size_inner_file(&file_path)?;
            }
        }

        Ok(())
    }
}

/// An advisory (errata) entry from updateinfo.xml.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct UpdateRecord {
    /// The author or source of the advisory (e.g. an email address).
    pub from: String,
    /// The type of advisory (e.g. `security`, `bugfix`, `enhancement`).
    pub update_type: String,
    /// The release status of the advisory (e.g. `final`, `stable`).
    pub status: String,
    /// The version of the advisory metadata.
    pub version: String,
    /// The unique advisory identifier (e.g. `RHSA-2024:1234`).
    pub id: String,
    /// The human-readable title of the advisory.
    pub title: String,
    /// The date the advisory was originally issued (ISO 8601 or timestamp).
    pub issued_date: Option<String>,
    /// The date the advisory was last updated.
    pub updated_date: Option<String>,
    /// Copyright or legal rights statement.
    pub rights: Option<String>,
    /// The distribution release this advisory targets.
    pub release: Option<String>,
    /// The number of times the advisory has been pushed (deprecated).
    pub pushcount: Option<String>,
    /// The severity level of the advisory (e.g. `Critical`, `Important`).
    pub severity: Option<String>,
    /// A brief summary of the advisory.
    pub summary: Option<String>,
    /// A detailed description of the advisory.
    pub description: Option<String>,
    /// Recommended solution or remediation steps.
    pub solution: Option<String>,
    /// Informative message (e.g. reboot instructions).
    pub message: Option<String>,
    /// Whether a reboot is suggested for the advisory as a whole.
    pub reboot_suggested: bool,
    /// External references (bugzilla, CVE, errata URLs) associated with this advisory.
    pub references: Vec<UpdateReference>,
    /// Collections of packages affected by this advisory.
    pub pkglist: Vec<UpdateCollection>,
}

/// A collection of packages affected by an advisory update.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct UpdateCollection {
    /// The full name of the package collection (e.g. distribution name).
    pub name: String,
    /// The short name or abbreviation of the collection.
    pub shortname: String,
    /// The packages included in this collection.
    pub packages: Vec<UpdateCollectionPackage>,
    /// Optional module stream information, if this is a modular update.
    pub module: Option<UpdateCollectionModule>,
}

/// A reference (bugzilla, CVE, etc.) associated with an advisory.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct UpdateReference {
    /// The URL of the external reference.
    ///
    /// May be empty in rare cases. When writing, empty strings are omitted.
    pub href: String,
    /// The identifier of the reference (e.g. bug number, CVE ID).
    ///
    /// May be empty for `type="self"` references or documentation links.
    /// When writing, empty strings are omitted.
    pub id: String,
    /// The human-readable title of the reference.
    ///
    /// May be empty for `type="other"` documentation references. RHEL 6 and
    /// AlmaLinux 8 have thousands of references with `title=""` pointing to
    /// release notes pages. When writing, empty strings are omitted.
    pub title: String,
    /// The type of reference (e.g. `bugzilla`, `cve`, `self`, `other`).
    ///
    /// May be empty in rare cases. When writing, empty strings are omitted.
    pub reftype: String,
}

/// A package within an advisory update collection.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct UpdateCollectionPackage {
    /// The epoch of the package version.
    pub epoch: String,
    /// The filename of the package RPM.
    pub filename: String,
    /// The name of the package.
    pub name: String,
    /// Whether a system reboot is suggested after installing this update.
    pub reboot_suggested: bool,
    /// Whether a service restart is suggested after installing this update.
    pub restart_suggested: bool,
    /// Whether a user re-login is suggested after installing this update.
    pub relogin_suggested: bool,
    /// The release string of the package version.
    pub release: String,
    /// The source RPM filename, if available.
    pub src: Option<String>,
    /// The architecture of the package (e.g. `x86_64`, `noarch`).
    pub arch: String,
    /// The checksum of the package file.
    pub checksum: Option<Checksum>,
    /// The version string of the package.
    pub version: String,
}

/// Module stream information for a modular advisory update.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct UpdateCollectionModule {
    /// The module name.
    pub name: String,
    /// The module stream name.
    pub stream: String,
    /// The module version number.
    pub version: u64,
    /// The module context hash.
    pub context: String,
    /// The module architecture.
    pub arch: String,
}

/// A package group from comps.xml, grouping related packages for installation.
#[derive(Clone, Debug, PartialEq, Default)]
#[cfg_attr(feature = "serialize", derive(serde::Serialize))]
pub struct CompsGroup {
    /// The unique identifier of the group.
    pub id: String,
    /// The display name of the group.
    pub name: String,
    /// Localized group names, keyed by language code.
    pub name_by_lang: IndexMap<String, String>,
    /// The description of the group.
    pub description: String,
    /// Localized group descriptions, keyed by language code.
    pub desc_by_lang: IndexMap<String, String>,
    /// Whether the group is selected by default.
    pub default: bool,
    /// Whether the group is visible to users in installation UIs.
    pub uservisible: bool,
    /// Whether the group is only available on biarch platforms.
    pub biarchonly: bool,
    /// Language restriction for this group (e.g. only install for a specific locale).
    pub langonly: Option<String>,
    /// The display order for sorting in UIs.
    pub display_order: Option<u32>,
    /// The package requirements belonging to this group.
    pub packages: Vec<CompsPackageReq>,
}

/// Known package requirement types within a comps group.
///
/// The `reqtype` field on [`CompsPackageReq`] is stored as a string to
/// preserve unrecognized values. This enum provides named constants for
/// the four standard types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PackageReqType {
    Default,
    Mandatory,
    Optional,
    Conditional,
}

impl PackageReqType {
    pub fn as_str(&self) -> &'static str {
        match self {
            PackageReqType::Default => "default",
            PackageReqType::Mandatory => "mandatory",
            PackageReqType::Optional => "optional",
            PackageReqType::Conditional => "conditional",
        }
    }
}

impl std::fmt::Display for PackageReqType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A package requirement within a comps group.
#[derive(Clone, Debug, PartialEq, Default)]
#[cfg_attr(feature = "serialize", derive(serde::Serialize))]
pub struct CompsPackageReq {
    /// The name of the required package.
    pub name: String,
    /// The requirement type (e.g. `default`, `mandatory`, `optional`, `conditional`).
    pub reqtype: String,
    /// A conditional requirement expression (used with `conditional` type packages).
    pub requires: Option<String>,
    /// Whether this package is only for the base architecture.
    pub basearchonly: Option<bool>,
}

/// A category from comps.xml, organizing groups into higher-level groupings.
#[derive(Clone, Debug, PartialEq, Default)]
#[cfg_attr(feature = "serialize", derive(serde::Serialize))]
pub struct CompsCategory {
    /// The unique identifier of the category.
    pub id: String,
    /// The display name of the category.
    pub name: String,
    /// Localized category names, keyed by language code.
    pub name_by_lang: IndexMap<String, String>,
    /// The description of the category.
    pub description: String,
    /// Localized category descriptions, keyed by language code.
    pub desc_by_lang: IndexMap<String, String>,
    /// The display order for sorting in UIs.
    pub display_order: Option<u32>,
    /// The IDs of groups belonging to this category.
    pub group_ids: Vec<String>,
}

/// An environment from comps.xml, defining a complete installation profile.
#[derive(Clone, Debug, PartialEq, Default)]
#[cfg_attr(feature = "serialize", derive(serde::Serialize))]
pub struct CompsEnvironment {
    /// The unique identifier of the environment.
    pub id: String,
    /// The display name of the environment.
    pub name: String,
    /// Localized environment names, keyed by language code.
    pub name_by_lang: IndexMap<String, String>,
    /// The description of the environment.
    pub description: String,
    /// Localized environment descriptions, keyed by language code.
    pub desc_by_lang: IndexMap<String, String>,
    /// The display order for sorting in UIs.
    pub display_order: Option<u32>,
    /// The IDs of mandatory groups in this environment.
    pub group_ids: Vec<String>,
    /// Optional groups that may be selected within this environment.
    pub option_ids: Vec<CompsEnvironmentOption>,
}

/// An optional group within a comps environment, with a default selection state.
#[derive(Clone, Debug, PartialEq, Default)]
#[cfg_attr(feature = "serialize", derive(serde::Serialize))]
pub struct CompsEnvironmentOption {
    /// The group ID of the optional group.
    pub group_id: String,
    /// Whether this optional group is selected by default.
    pub default: bool,
}

/// A langpack mapping from comps.xml, associating packages with language pack patterns.
#[derive(Clone, Debug, PartialEq, Default)]
#[cfg_attr(feature = "serialize", derive(serde::Serialize))]
pub struct CompsLangpack {
    /// The base package name that triggers langpack installation.
    pub name: String,
    /// The langpack package name pattern to install (e.g. `%s-langpack-%s`).
    pub install: String,
}

/// Parsed comps.xml data containing all group, category, environment, and langpack entries.
#[derive(Clone, Debug, PartialEq, Default)]
#[cfg_attr(feature = "serialize", derive(serde::Serialize))]
pub struct CompsData {
    /// Package groups defined in the comps data.
    pub groups: Vec<CompsGroup>,
    /// Categories that organize groups into higher-level groupings.
    pub categories: Vec<CompsCategory>,
    /// Environments defining complete installation profiles.
    pub environments: Vec<CompsEnvironment>,
    /// Langpack mappings associating packages with language pack patterns.
    pub langpacks: Vec<CompsLangpack>,
}

impl CompsGroup {
    /// Order this group's packages and localized strings deterministically.
    pub fn canonicalize(&mut self) {
        self.packages.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then_with(|| a.reqtype.cmp(&b.reqtype))
                .then_with(|| a.requires.cmp(&b.requires))
        });
        self.packages.dedup();
        self.name_by_lang.sort_keys();
        self.desc_by_lang.sort_keys();
    }
}

impl CompsCategory {
    /// Order this category's group references and localized strings deterministically.
    pub fn canonicalize(&mut self) {
        self.group_ids.sort();
        self.group_ids.dedup();
        self.name_by_lang.sort_keys();
        self.desc_by_lang.sort_keys();
    }
}

impl CompsEnvironment {
    /// Order this environment's group references, options, and localized strings.
    pub fn canonicalize(&mut self) {
        self.group_ids.sort();
        self.group_ids.dedup();
        self.option_ids.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        self.option_ids.dedup();
        self.name_by_lang.sort_keys();
        self.desc_by_lang.sort_keys();
    }
}

impl CompsData {
    /// Parse comps metadata from an XML string.
    pub fn from_xml(xml: &str) -> Result<CompsData, MetadataError> {
        let reader = crate::utils::create_xml_reader(xml.as_bytes());
        let data = crate::metadata::CompsXml::read_data(reader)?;
        Ok(data)
    }

    /// Parse comps metadata from an XML file.
    pub fn from_file(path: &Path) -> Result<CompsData, MetadataError> {
        let reader = crate::utils::xml_reader_from_file(path)?;
        let data = crate::metadata::CompsXml::read_data(reader)?;
        Ok(data)
    }

    /// Serialize comps metadata to an XML string.
    pub fn to_xml(&self) -> Result<String, MetadataError> {
        let mut buf = Vec::new();
        let writer = crate::utils::create_xml_writer(&mut buf);
        crate::metadata::CompsXml::write_data(self, writer)?;
        Ok(String::from_utf8(buf).expect("Output contains non-UTF-8 text"))
    }

    /// Serialize comps metadata to an XML file.
    pub fn to_file(&self, path: &Path) -> Result<(), MetadataError> {
        let mut buf = std::fs::File::open(path)?;
        let writer = crate::utils::create_xml_writer(&mut buf);
        crate::metadata::CompsXml::write_data(self, writer)
            .expect("Output contains non-UTF-8 text");
        Ok(())
    }

    /// Reorder every collection into a deterministic, canonical order in place.
    ///
    /// Groups, categories, and environments are sorted by `id` (and each is
    /// canonicalized internally); langpacks are sorted by `name`. Duplicate
    /// entries are removed.
    ///
    /// Comps element ordering is not semantically significant, but it is not
    /// preserved across a write/read (publish) round-trip. Canonicalizing both
    /// sides first lets them be compared directly with `==` (or serialized and
    /// diffed) without spurious ordering differences.
    pub fn canonicalize(&mut self) {
        for group in &mut self.groups {
            group.canonicalize();
        }
        self.groups.sort_by(|a, b| a.id.cmp(&b.id));

        for category in &mut self.categories {
            category.canonicalize();
        }
        self.categories.sort_by(|a, b| a.id.cmp(&b.id));

        for environment in &mut self.environments {
            environment.canonicalize();
        }
        self.environments.sort_by(|a, b| a.id.cmp(&b.id));

        self.langpacks.sort_by(|a, b| a.name.cmp(&b.name));
        self.langpacks.dedup();
    }
}

// ---------------- Support Info types -----------------------------------

#[cfg(feature = "supportinfo")]
/// Parsed V1.0 support info document.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SupportInfoData {
    /// The `current_as` attribute from the root element, identifying the product stream.
    pub current_as: String,
    /// Named support lifecycles, each containing ordered phases.
    pub lifecycles: Vec<SupportInfoLifecycle>,
    /// Named date milestones that phases can reference instead of fixed dates.
    pub milestones: Vec<SupportInfoMilestone>,
    /// Definitions of support levels (e.g. "Full", "Maintenance") and their severity scopes.
    pub support_levels: Vec<SupportInfoLevel>,
    /// Package-to-lifecycle assignments.
    pub packages: Vec<SupportInfoPackage>,
    /// Definitions of package classes (e.g. "core", "optional").
    pub package_classes: Vec<SupportInfoPackageClass>,
    /// Repository origin definitions for packages.
    pub package_origins: Vec<SupportInfoPackageOrigin>,
    /// Supplemental named notes referenced by other elements.
    pub notes: Vec<SupportInfoNote>,
}

#[cfg(feature = "supportinfo")]
/// A named support lifecycle containing one or more phases.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SupportInfoLifecycle {
    /// Unique identifier for this lifecycle (e.g. `"rhel-10"`).
    pub name: String,
    /// Reference to a named note providing additional context.
    pub note: Option<String>,
    /// Human-readable display name.
    pub display_name: Option<String>,
    /// Longer description of this lifecycle.
    pub description: Option<String>,
    /// Ordered phases within this lifecycle.
    pub phases: Vec<SupportInfoPhase>,
}

#[cfg(feature = "supportinfo")]
/// A phase within a lifecycle. Exactly one of `start_date` or `start_milestone` is set.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SupportInfoPhase {
    /// Phase name (e.g. `"Full Support"`, `"Maintenance Support"`).
    pub name: String,
    /// Name of the support level that applies during this phase.
    pub support_level: String,
    /// Fixed start date (ISO 8601), mutually exclusive with `start_milestone`.
    pub start_date: Option<String>,
    /// Name of a milestone whose date determines when this phase starts.
    pub start_milestone: Option<String>,
    /// Human-readable display name.
    pub display_name: Option<String>,
}

#[cfg(feature = "supportinfo")]
/// A named date that can be referenced by phases.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SupportInfoMilestone {
    /// Unique identifier for this milestone (e.g. `"ga"`, `"eos"`).
    pub name: String,
    /// The date of the milestone (ISO 8601).
    pub date: String,
    /// Human-readable display name.
    pub display_name: Option<String>,
    /// Longer description of this milestone.
    pub description: Option<String>,
}

#[cfg(feature = "supportinfo")]
/// Defines the scope of support offered during a phase.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SupportInfoLevel {
    /// Unique identifier for this support level (e.g. `"full"`, `"maintenance"`).
    pub name: String,
    /// Comma-separated severity levels addressed at this support level.
    pub severities: String,
    /// Longer description of what this support level covers.
    pub description: Option<String>,
    /// Human-readable display name.
    pub display_name: Option<String>,
}

#[cfg(feature = "supportinfo")]
/// Associates a package with a lifecycle, origin, and optional class.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SupportInfoPackage {
    /// RPM package name.
    pub name: String,
    /// Name of the lifecycle this package follows.
    pub lifecycle: String,
    /// Name of the package origin this package comes from.
    pub origin: String,
    /// Optional package class categorization.
    pub package_class: Option<String>,
}

#[cfg(feature = "supportinfo")]
/// Classifies packages by intended use.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SupportInfoPackageClass {
    /// Unique identifier for this class (e.g. `"core"`, `"optional"`).
    pub name: String,
    /// Short summary of what this class represents.
    pub summary: String,
    /// Longer descriptive text about this package class.
    pub text: String,
}

#[cfg(feature = "supportinfo")]
/// Repository and distribution information for packages.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SupportInfoPackageOrigin {
    /// Unique identifier for this origin.
    pub name: String,
    /// Repository ID where the packages are published.
    pub repo_id: String,
    /// Distribution name (e.g. `"rhel-10"`).
    pub dist: String,
    /// Vendor name (e.g. `"Red Hat, Inc."`).
    pub vendor: String,
    /// GPG signing key fingerprint used to sign packages from this origin.
    pub signing_key: Option<String>,
    /// Human-readable display name.
    pub display_name: Option<String>,
    /// Longer description of this origin.
    pub description: Option<String>,
}

#[cfg(feature = "supportinfo")]
/// Supplemental text referenced by lifecycle or package elements.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SupportInfoNote {
    /// Unique identifier for this note, referenced by other elements.
    pub name: String,
    /// The text content of the note.
    pub content: String,
}

#[cfg(feature = "supportinfo")]
/// A parsed support info document
#[derive(Clone, Debug, PartialEq)]
pub enum SupportInfo {
    V1(SupportInfoData),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filelist_contains_added_file() {
        let mut fl = FileList::new();
        fl.add_file(FileType::File, "/usr/bin/python3");
        assert!(fl.contains("/usr/bin/python3"));
    }

    #[test]
    fn filelist_contains_missing_file() {
        let mut fl = FileList::new();
        fl.add_file(FileType::File, "/usr/bin/python3");
        assert!(!fl.contains("/usr/bin/ruby"));
    }

    #[test]
    fn filelist_contains_missing_dir() {
        let mut fl = FileList::new();
        fl.add_file(FileType::File, "/usr/bin/python3");
        assert!(!fl.contains("/etc/hosts"));
    }

    #[test]
    fn filelist_contains_empty() {
        let fl = FileList::new();
        assert!(!fl.contains("/usr/bin/python3"));
    }

    #[test]
    fn filelist_contains_root_file() {
        let mut fl = FileList::new();
        fl.add_file(FileType::File, "/somefile");
        assert!(fl.contains("/somefile"));
        assert!(!fl.contains("/otherfile"));
    }

    #[test]
    fn filelist_contains_dir_entry() {
        let mut fl = FileList::new();
        fl.add_file(FileType::Dir, "/usr/share/doc/");
        assert!(fl.contains("/usr/share/doc/"));
        assert!(!fl.contains("/usr/share/man/"));
    }

    #[test]
    fn filelist_contains_multiple_files_same_dir() {
        let mut fl = FileList::new();
        fl.add_file(FileType::File, "/usr/bin/python3");
        fl.add_file(FileType::File, "/usr/bin/pip");
        fl.add_file(FileType::File, "/usr/bin/easy_install");
        assert!(fl.contains("/usr/bin/python3"));
        assert!(fl.contains("/usr/bin/pip"));
        assert!(fl.contains("/usr/bin/easy_install"));
        assert!(!fl.contains("/usr/bin/ruby"));
    }

    #[test]
    fn filelist_contains_via_add_file_split() {
        let mut fl = FileList::new();
        fl.add_file_split(FileType::File, "/usr/bin/", "python3");
        assert!(fl.contains("/usr/bin/python3"));
        assert!(!fl.contains("/usr/bin/ruby"));
    }

    #[test]
    fn filelist_contains_distinguishes_basename() {
        let mut fl = FileList::new();
        fl.add_file(FileType::File, "/usr/bin/python3");
        assert!(!fl.contains("/usr/bin/python2"));
    }

    #[test]
    fn split_path_typical() {
        assert_eq!(split_path("/usr/bin/python3"), ("/usr/bin/", "python3"));
    }

    #[test]
    fn split_path_root_file() {
        assert_eq!(split_path("/somefile"), ("/", "somefile"));
    }

    #[test]
    fn split_path_trailing_slash() {
        assert_eq!(split_path("/usr/share/doc/"), ("/usr/share/doc/", ""));
    }

    #[test]
    fn split_path_no_slash() {
        assert_eq!(split_path("somefile"), ("", "somefile"));
    }

    /// Create a package whose structured metadata contains valid XML 1.0 text.
    fn package_with_valid_structured_fields() -> Package {
        let mut package = Package::default();
        package
            .set_name("package")
            .set_arch("noarch")
            .set_version("1")
            .set_release("1")
            .set_checksum(Checksum::Sha256("0".repeat(64)))
            .set_location_href("packages/package.rpm");
        package
    }

    /// Reject XML-forbidden characters in structured package metadata.
    #[test]
    fn rejects_xml_forbidden_characters_in_structured_package_fields() {
        let mut package = package_with_valid_structured_fields();
        package.set_location_href("packages/\x08package.rpm");

        assert!(matches!(
            package.validate_xml_fields(),
            Err(MetadataError::InvalidXmlCharacterError(
                "package location href"
            ))
        ));

        let mut package = package_with_valid_structured_fields();
        package.set_requires(vec![Requirement::new("dependency\x08name")]);

        assert!(matches!(
            package.validate_xml_fields(),
            Err(MetadataError::InvalidXmlCharacterError("dependency name"))
        ));

        let mut package = package_with_valid_structured_fields();
        package.set_rpm_sourcerpm("package\x08source.rpm");

        assert!(matches!(
            package.validate_xml_fields(),
            Err(MetadataError::InvalidXmlCharacterError(
                "source RPM filename"
            ))
        ));

        let mut package = package_with_valid_structured_fields();
        package.set_name("package\x08name");

        assert!(matches!(
            package.validate_xml_fields(),
            Err(MetadataError::InvalidXmlCharacterError("package name"))
        ));

        let mut package = package_with_valid_structured_fields();
        package.add_file_split(FileType::File, "/usr/\x08bin/", "package");

        assert!(matches!(
            package.validate_xml_fields(),
            Err(MetadataError::InvalidXmlCharacterError("file directory"))
        ));
    }
}
