// Copyright (c) 2022 Daniel Alley
//
// This Source Code Form is subject to the terms of the Mozilla Public
// License, v. 2.0. If a copy of the MPL was not distributed with this
// file, You can obtain one at http://mozilla.org/MPL/2.0/.

//! A library for reading, writing, and managing RPM repository metadata.
//!
//! RPM repository metadata consists of several XML files (primary.xml, filelists.xml, other.xml,
//! repomd.xml, updateinfo.xml, comps.xml) that together describe the packages available in a
//! repository. This crate provides both high-level APIs ([`Repository`], [`RepositoryReader`],
//! [`RepositoryWriter`]) and lower-level streaming readers/writers for each metadata type.
//!
//! With the `read_rpm` feature enabled, RPM packages can be read directly from disk via
//! [`Package::from_file`].

mod comps;
pub mod constants;
mod filelist;
mod metadata;
mod other;
mod package;
mod parsing_utils;
mod primary;
mod repomd;
mod repository;
#[cfg(feature = "supportinfo")]
mod supportinfo;
mod updateinfo;
pub mod utils;
pub mod visitor;

#[cfg(feature = "python_ext")]
mod python_ext;

pub use comps::CompsXmlReader;
pub use metadata::{
    Changelog, Checksum, ChecksumType, CompressionType, FileIter, FileList, FileRef, FileType,
    FilelistsXml, MetadataError, OtherXml, Package, PrimaryXml, RepomdData, RepomdRecord,
    RepomdXml, Requirement, RequirementType,
};
pub use metadata::{
    CompsCategory, CompsData, CompsEnvironment, CompsEnvironmentOption, CompsGroup, CompsLangpack,
    CompsPackageReq, CompsXml, PackageReqType,
};
#[cfg(feature = "supportinfo")]
pub use metadata::{
    SupportInfo, SupportInfoData, SupportInfoLevel, SupportInfoLifecycle, SupportInfoMilestone,
    SupportInfoNote, SupportInfoPackage, SupportInfoPackageClass, SupportInfoPackageOrigin,
    SupportInfoPhase, SupportInfoXml,
};
pub use metadata::{
    UpdateCollection, UpdateCollectionModule, UpdateCollectionPackage, UpdateRecord,
    UpdateReference, UpdateinfoXml,
};
pub use package::{PackageFileOptions, PackageIterator, PackageOptions, PackageSource};
pub use repository::{
    PackageXml, Repository, RepositoryOptions, RepositoryReader, RepositoryWriter, UpdateinfoIterator,
};
#[cfg(feature = "supportinfo")]
pub use supportinfo::{SupportInfoXmlReader, SupportInfoXmlWriter};
pub use updateinfo::UpdateinfoXmlReader;
#[cfg(feature = "supportinfo")]
pub use visitor::SupportInfoVisitor;
pub use visitor::{
    CompsVisitor, FilelistsVisitor, OtherVisitor, PrimaryVisitor, UpdateinfoVisitor,
};

pub use rpm_version::{Evr, Nevra};
