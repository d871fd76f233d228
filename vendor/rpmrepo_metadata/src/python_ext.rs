// Copyright (c) 2022 Daniel Alley
//
// This Source Code Form is subject to the terms of the Mozilla Public
// License, v. 2.0. If a copy of the MPL was not distributed with this
// file, You can obtain one at http://mozilla.org/MPL/2.0/.

use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::Py;
use pyo3::prelude::*;

// Create a Python exception type "MetadataError" to mirror the Rust version
// No sub-types though, just string-ify the error message.
pyo3::create_exception!(
    rpmrepo_metadata,
    MetadataError,
    pyo3::exceptions::PyException
);

impl From<crate::MetadataError> for pyo3::PyErr {
    fn from(err: crate::MetadataError) -> Self {
        match err {
            // TODO: IoError doesn't really belong as part of the (Rust) MetadataError type to begin with,
            // might make sense to split it out
            crate::MetadataError::IoError(err) => {
                pyo3::exceptions::PyOSError::new_err(err.to_string())
            }
            _ => MetadataError::new_err(err.to_string()),
        }
    }
}

/// Recursively convert a `serde_json::Value` into a native Python object
/// (dict/list/str/int/float/bool/None).
#[cfg(feature = "serialize")]
fn json_value_to_py(py: Python<'_>, value: &serde_json::Value) -> PyResult<Py<PyAny>> {
    use pyo3::types::{PyDict, PyList};

    let obj: Py<PyAny> = match value {
        serde_json::Value::Null => py.None(),
        serde_json::Value::Bool(b) => (*b).into_pyobject(py)?.to_owned().into_any().unbind(),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any().unbind()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any().unbind()
            } else {
                n.as_f64().unwrap().into_pyobject(py)?.into_any().unbind()
            }
        }
        serde_json::Value::String(s) => s.as_str().into_pyobject(py)?.into_any().unbind(),
        serde_json::Value::Array(arr) => {
            let list = PyList::empty(py);
            for item in arr {
                list.append(json_value_to_py(py, item)?)?;
            }
            list.into_any().unbind()
        }
        serde_json::Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k.as_str(), json_value_to_py(py, v)?)?;
            }
            dict.into_any().unbind()
        }
    };
    Ok(obj)
}

#[pymodule]
mod rpmrepo_metadata {
    use super::*;
    use pyo3::exceptions::PyRuntimeError;
    use pyo3::types::PyString;

    #[pymodule_init]
    fn init(_module: &Bound<'_, PyModule>) -> PyResult<()> {
        // Forward Rust log records to Python's logging system when the extension is imported.
        pyo3_log::try_init()
            .map(|_| ())
            .map_err(|error| PyRuntimeError::new_err(error.to_string()))
    }

    #[pymodule_export]
    use super::MetadataError;

    /// In-memory representation of a complete RPM repository.
    #[pyclass]
    struct Repository {
        inner: crate::Repository,
    }

    #[pymethods]
    impl Repository {
        /// Create a new empty repository.
        #[new]
        fn new() -> Self {
            Repository {
                inner: crate::Repository::new(),
            }
        }

        /// Load a complete repository from a directory containing ``repodata/``.
        #[staticmethod]
        fn load_from_directory(path: PathBuf) -> PyResult<Self> {
            let repo = crate::Repository::load_from_directory(&path)?;
            let py_repo = Self { inner: repo };
            Ok(py_repo)
        }

        /// Write all repository metadata to the given directory.
        fn write_to_directory(&self, path: PathBuf) -> PyResult<()> {
            let options = crate::RepositoryOptions::default();

            self.inner.write_to_directory_with_options(&path, options)?;
            Ok(())
        }

        #[getter]
        fn packages(&self) -> Vec<Package> {
            self.inner
                .packages()
                .values()
                .map(|p| Package { inner: p.clone() })
                .collect()
        }

        #[setter]
        fn set_packages(&mut self, py: Python<'_>, packages: Vec<Py<Package>>) {
            *self.inner.packages_mut() = packages
                .iter()
                .map(|p| {
                    let pkg = p.borrow(py);
                    (pkg.inner.pkgid().to_owned(), pkg.inner.clone())
                })
                .collect();
        }

        /// Add a package to the repository. Replaces any existing package with the same pkgid.
        fn add_package(&mut self, pkg: &Package) {
            self.inner.add_package(pkg.inner.clone());
        }

        /// Remove a package by its pkgid (checksum). Returns True if a package was removed.
        fn remove_package(&mut self, pkgid: &str) -> bool {
            self.inner.remove_package(pkgid).is_some()
        }

        #[getter]
        fn advisories(&self) -> Vec<UpdateRecord> {
            self.inner
                .advisories()
                .values()
                .map(|a| UpdateRecord { inner: a.clone() })
                .collect()
        }

        #[setter]
        fn set_advisories(&mut self, py: Python<'_>, advisories: Vec<Py<UpdateRecord>>) {
            *self.inner.advisories_mut() = advisories
                .iter()
                .map(|a| {
                    let adv = a.borrow(py);
                    (adv.inner.id.clone(), adv.inner.clone())
                })
                .collect();
        }

        /// Add an advisory to the repository. Replaces any existing advisory with the same ID.
        fn add_advisory(&mut self, advisory: &UpdateRecord) {
            self.inner.add_advisory(advisory.inner.clone());
        }

        /// Remove an advisory by its ID. Returns True if an advisory was removed.
        fn remove_advisory(&mut self, id: &str) -> bool {
            self.inner.remove_advisory(id).is_some()
        }

        #[setter]
        fn set_groups(&mut self, py: Python<'_>, groups: Vec<Py<CompsGroup>>) {
            *self.inner.groups_mut() = groups.iter().map(|g| g.borrow(py).inner.clone()).collect();
        }

        #[setter]
        fn set_categories(&mut self, py: Python<'_>, categories: Vec<Py<CompsCategory>>) {
            *self.inner.categories_mut() = categories
                .iter()
                .map(|c| c.borrow(py).inner.clone())
                .collect();
        }

        #[setter]
        fn set_environments(&mut self, py: Python<'_>, environments: Vec<Py<CompsEnvironment>>) {
            *self.inner.environments_mut() = environments
                .iter()
                .map(|e| e.borrow(py).inner.clone())
                .collect();
        }

        #[setter]
        fn set_langpacks(&mut self, py: Python<'_>, langpacks: Vec<Py<CompsLangpack>>) {
            *self.inner.langpacks_mut() = langpacks
                .iter()
                .map(|l| l.borrow(py).inner.clone())
                .collect();
        }

        #[getter]
        fn groups(&self) -> Vec<CompsGroup> {
            self.inner
                .groups()
                .iter()
                .map(|g| CompsGroup { inner: g.clone() })
                .collect()
        }

        #[getter]
        fn categories(&self) -> Vec<CompsCategory> {
            self.inner
                .categories()
                .iter()
                .map(|c| CompsCategory { inner: c.clone() })
                .collect()
        }

        #[getter]
        fn environments(&self) -> Vec<CompsEnvironment> {
            self.inner
                .environments()
                .iter()
                .map(|e| CompsEnvironment { inner: e.clone() })
                .collect()
        }

        #[getter]
        fn langpacks(&self) -> Vec<CompsLangpack> {
            self.inner
                .langpacks()
                .iter()
                .map(|l| CompsLangpack { inner: l.clone() })
                .collect()
        }
    }

    /// Streaming writer for constructing RPM repository metadata on disk.
    #[pyclass]
    struct RepositoryWriter {
        // finish() is a bit tricky because Python and Rust do not follow the same rules -
        // calling `RepositoryWriter::finish()` destroys the `RepositoryWriter` but the Python
        // object of course sticks around. Thus we must make it optional, so that finish() can
        // properly consume the object.
        inner: Mutex<Option<crate::RepositoryWriter>>,
    }

    #[pymethods]
    impl RepositoryWriter {
        /// Create a new writer that will write repository metadata to ``path``.
        #[new]
        fn new(path: PathBuf, num_pkgs: usize) -> PyResult<Self> {
            let repo_writer = crate::RepositoryWriter::new(&path, num_pkgs)?;
            let py_repo_writer = RepositoryWriter {
                inner: Mutex::new(Some(repo_writer)),
            };
            Ok(py_repo_writer)
        }

        /// Write a package's metadata to the repository.
        fn add_package(&mut self, pkg: &Package) -> PyResult<()> {
            self.inner.lock().unwrap().as_mut().expect("finish() has already been called - cannot perform action after the repository has already finished being written").add_package(&pkg.inner)?;
            Ok(())
        }

        /// Write an advisory record to the repository.
        fn add_advisory(&mut self, record: &UpdateRecord) -> PyResult<()> {
            self.inner
                .lock()
                .unwrap()
                .as_mut()
                .expect("finish() has already been called")
                .add_advisory(&record.inner)?;
            Ok(())
        }

        /// Write a comps group to the repository.
        fn add_group(&mut self, group: &CompsGroup) -> PyResult<()> {
            self.inner
                .lock()
                .unwrap()
                .as_mut()
                .expect("finish() has already been called")
                .add_group(&group.inner)?;
            Ok(())
        }

        /// Write a comps category to the repository.
        fn add_category(&mut self, category: &CompsCategory) -> PyResult<()> {
            self.inner
                .lock()
                .unwrap()
                .as_mut()
                .expect("finish() has already been called")
                .add_category(&category.inner)?;
            Ok(())
        }

        /// Write a comps environment to the repository.
        fn add_environment(&mut self, environment: &CompsEnvironment) -> PyResult<()> {
            self.inner
                .lock()
                .unwrap()
                .as_mut()
                .expect("finish() has already been called")
                .add_environment(&environment.inner)?;
            Ok(())
        }

        /// Set the langpack mappings for the repository.
        fn set_langpacks(
            &mut self,
            py: Python<'_>,
            langpacks: Vec<Py<CompsLangpack>>,
        ) -> PyResult<()> {
            let l: Vec<_> = langpacks
                .iter()
                .map(|x| x.borrow(py).inner.clone())
                .collect();
            self.inner
                .lock()
                .unwrap()
                .as_mut()
                .expect("finish() has already been called")
                .set_langpacks(&l)?;
            Ok(())
        }

        /// Write all comps metadata (groups, categories, environments, langpacks) at once.
        fn write_comps(
            &mut self,
            py: Python<'_>,
            groups: Vec<Py<CompsGroup>>,
            categories: Vec<Py<CompsCategory>>,
            environments: Vec<Py<CompsEnvironment>>,
            langpacks: Vec<Py<CompsLangpack>>,
        ) -> PyResult<()> {
            let g: Vec<_> = groups.iter().map(|x| x.borrow(py).inner.clone()).collect();
            let c: Vec<_> = categories
                .iter()
                .map(|x| x.borrow(py).inner.clone())
                .collect();
            let e: Vec<_> = environments
                .iter()
                .map(|x| x.borrow(py).inner.clone())
                .collect();
            let l: Vec<_> = langpacks
                .iter()
                .map(|x| x.borrow(py).inner.clone())
                .collect();
            self.inner
                .lock()
                .unwrap()
                .as_mut()
                .expect("finish() has already been called")
                .write_comps(&g, &c, &e, &l)?;
            Ok(())
        }

        /// Finalize the repository, writing ``repomd.xml`` and closing all files.
        fn finish(&mut self) -> PyResult<()> {
            self.inner.lock().unwrap().take().unwrap().finish()?;
            Ok(())
        }
    }

    /// Reader for RPM repository metadata from a directory on disk.
    #[pyclass]
    struct RepositoryReader {
        inner: crate::RepositoryReader,
    }

    #[pymethods]
    impl RepositoryReader {
        /// Open a repository from a directory containing ``repodata/``.
        #[new]
        fn new(path: PathBuf) -> PyResult<Self> {
            let repo_reader = crate::RepositoryReader::new_from_directory(&path)?;
            let py_repo_reader = Self { inner: repo_reader };
            Ok(py_repo_reader)
        }

        /// Return an iterator over all packages in the repository.
        fn iter_packages(&self) -> PyResult<PackageIterator> {
            let pkg_reader = self.inner.iter_packages()?;
            let py_pkg_reader = PackageIterator {
                inner: Mutex::new(pkg_reader),
            };
            Ok(py_pkg_reader)
        }

        /// Return an iterator over all advisories in the repository.
        fn iter_advisories(&self) -> PyResult<UpdateinfoReader> {
            let updateinfo_reader = self.inner.iter_advisories()?;
            let py_updateinfo_reader = UpdateinfoReader {
                inner: Mutex::new(updateinfo_reader),
            };
            Ok(py_updateinfo_reader)
        }

        /// Read comps (group/category/environment) metadata, if present.
        fn read_comps(&self) -> PyResult<Option<CompsData>> {
            let result = self.inner.read_comps()?;
            Ok(result.map(|comps| CompsData { inner: comps }))
        }
    }

    /// Parsed comps.xml data containing groups, categories, environments, and langpacks.
    #[pyclass]
    struct CompsData {
        inner: crate::CompsData,
    }

    #[pymethods]
    impl CompsData {
        /// Create a new empty CompsData.
        #[new]
        fn new() -> Self {
            CompsData {
                inner: crate::CompsData::default(),
            }
        }

        /// Parse comps metadata from an XML string.
        #[staticmethod]
        fn from_xml(xml: &str) -> PyResult<CompsData> {
            Ok(CompsData {
                inner: crate::CompsData::from_xml(xml)?,
            })
        }

        /// Parse comps metadata from an XML file.
        #[staticmethod]
        fn from_file(path: PathBuf) -> PyResult<CompsData> {
            Ok(CompsData {
                inner: crate::CompsData::from_file(&path)?,
            })
        }

        /// Serialize comps metadata to an XML string.
        fn to_xml(&self) -> PyResult<String> {
            Ok(self.inner.to_xml()?)
        }

        /// Serialize comps metadata to an XML string.
        fn to_file(&self, path: PathBuf) -> PyResult<()> {
            Ok(self.inner.to_file(&path)?)
        }

        /// Package groups defined in the comps data.
        #[getter]
        fn groups(&self) -> Vec<CompsGroup> {
            self.inner
                .groups
                .iter()
                .map(|g| CompsGroup { inner: g.clone() })
                .collect()
        }

        /// Set the package groups.
        #[setter]
        fn set_groups(&mut self, py: Python<'_>, groups: Vec<Py<CompsGroup>>) {
            self.inner.groups = groups.iter().map(|g| g.borrow(py).inner.clone()).collect();
        }

        /// Categories that organize groups into higher-level groupings.
        #[getter]
        fn categories(&self) -> Vec<CompsCategory> {
            self.inner
                .categories
                .iter()
                .map(|c| CompsCategory { inner: c.clone() })
                .collect()
        }

        /// Set the categories.
        #[setter]
        fn set_categories(&mut self, py: Python<'_>, categories: Vec<Py<CompsCategory>>) {
            self.inner.categories = categories
                .iter()
                .map(|c| c.borrow(py).inner.clone())
                .collect();
        }

        /// Environments defining complete installation profiles.
        #[getter]
        fn environments(&self) -> Vec<CompsEnvironment> {
            self.inner
                .environments
                .iter()
                .map(|e| CompsEnvironment { inner: e.clone() })
                .collect()
        }

        /// Set the environments.
        #[setter]
        fn set_environments(&mut self, py: Python<'_>, environments: Vec<Py<CompsEnvironment>>) {
            self.inner.environments = environments
                .iter()
                .map(|e| e.borrow(py).inner.clone())
                .collect();
        }

        /// Langpack mappings associating packages with language pack patterns.
        #[getter]
        fn langpacks(&self) -> Vec<CompsLangpack> {
            self.inner
                .langpacks
                .iter()
                .map(|l| CompsLangpack { inner: l.clone() })
                .collect()
        }

        /// Set the langpack mappings.
        #[setter]
        fn set_langpacks(&mut self, py: Python<'_>, langpacks: Vec<Py<CompsLangpack>>) {
            self.inner.langpacks = langpacks
                .iter()
                .map(|l| l.borrow(py).inner.clone())
                .collect();
        }

        /// Reorder all collections into a deterministic, canonical order in place.
        ///
        /// Element ordering in comps is not semantically significant, but it is
        /// not preserved across a publish round-trip. Canonicalize both sides
        /// before comparing them with ``==`` or via :meth:`to_dict`.
        fn canonicalize(&mut self) {
            self.inner.canonicalize();
        }

        /// Return a plain ``dict`` representation of this comps data.
        ///
        /// Combine with :meth:`canonicalize` for an order-insensitive,
        /// diff-friendly comparison of two comps documents.
        #[cfg(feature = "serialize")]
        fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
            let value = serde_json::to_value(&self.inner)
                .map_err(|e| MetadataError::new_err(e.to_string()))?;
            json_value_to_py(py, &value)
        }

        /// Return a JSON string representation of this comps data.
        #[cfg(feature = "serialize")]
        fn to_json(&self) -> PyResult<String> {
            serde_json::to_string(&self.inner).map_err(|e| MetadataError::new_err(e.to_string()))
        }

        fn __eq__(&self, other: &CompsData) -> bool {
            self.inner == other.inner
        }
    }

    /// An RPM package's metadata.
    #[pyclass]
    struct Package {
        inner: crate::Package,
    }

    #[pymethods]
    impl Package {
        /// Create a new empty package.
        #[new]
        fn new() -> Self {
            Self {
                inner: crate::Package::default(),
            }
        }

        /// Read package metadata from an RPM file on disk.
        #[cfg(feature = "read_rpm")]
        #[staticmethod]
        #[pyo3(signature = (path, checksum_type=ChecksumType::Sha256, location_href=None, location_base=None, changelog_limit=10))]
        fn from_file(
            path: PathBuf,
            checksum_type: ChecksumType,
            location_href: Option<String>,
            location_base: Option<String>,
            changelog_limit: usize,
        ) -> PyResult<Self> {
            let options = crate::PackageFileOptions {
                package_options: crate::PackageOptions {
                    checksum_type: checksum_type.into(),
                    changelog_limit,
                },
                location_href,
                location_base,
            };
            let pkg = crate::Package::from_file_with_options(&path, options)?;
            Ok(Package { inner: pkg })
        }

        /// Parse RPM headers from bytes with caller-supplied file metadata.
        ///
        /// With both `checksum` and `size_package`, `data` needs only the RPM lead,
        /// signature header, and main header. If both are omitted, it must contain the complete
        /// RPM and both values are derived with `checksum_type` and the buffer length. Supplying
        /// only one is an error. Supplied values are trusted and are not verified against `data`.
        #[cfg(feature = "read_rpm")]
        #[staticmethod]
        #[pyo3(signature = (data, time_file, location_href, checksum=None, size_package=None, location_base=None, changelog_limit=10, checksum_type=ChecksumType::Sha256))]
        #[allow(clippy::too_many_arguments)]
        fn from_buffer(
            data: &[u8],
            time_file: u64,
            location_href: String,
            checksum: Option<(String, String)>,
            size_package: Option<u64>,
            location_base: Option<String>,
            changelog_limit: usize,
            checksum_type: ChecksumType,
        ) -> PyResult<Self> {
            let source = crate::PackageSource {
                checksum: checksum
                    .map(|(kind, value)| crate::Checksum::try_create(kind, value))
                    .transpose()?,
                size_package,
                time_file,
                location_href,
                location_base,
            };
            let options = crate::PackageOptions {
                checksum_type: checksum_type.into(),
                changelog_limit,
            };
            let pkg = crate::Package::from_buffer(data, source, options)?;
            Ok(Package { inner: pkg })
        }

        /// The full EVR as a structured object that can be sorted on, printed, etc.
        ///
        /// # Example
        /// ```python
        /// old = Package.from_file("bash-5.2.15-3.fc40.x86_64.rpm")
        /// new = Package.from_file("bash-5.2.26-3.fc42.x86_64.rpm")
        /// assert old.as_evr() < new.as_evr()
        /// ```
        fn as_evr(&self) -> rpm_version::python::PyEvr {
            self.inner.as_evr().to_owned().into()
        }

        /// Return the name-version-release-arch string.
        fn nvra(&self) -> String {
            self.inner.nvra()
        }

        /// Return the name-epoch:version-release-arch string.
        fn nevra(&self) -> String {
            self.inner.nevra()
        }

        /// The full NEVRA as a structured object that can be sorted on, printed, etc.
        ///
        /// # Example
        /// ```python
        /// pkgs = [Package.from_file("bash-5.2.26-3.fc42.x86_64.rpm"),
        ///         Package.from_file("bash-5.2.15-3.fc40.x86_64.rpm")]
        /// pkgs.sort(key=lambda p: p.as_nevra())
        /// print([str(p.as_nevra()) for p in pkgs])
        /// # ["bash-5.2.15-3.fc40.x86_64", "bash-5.2.26-3.fc42.x86_64"]
        /// ```
        fn as_nevra(&self) -> rpm_version::python::PyNevra {
            self.inner.as_nevra().to_owned().into()
        }

        #[setter(name)]
        fn set_name(&mut self, name: &str) {
            self.inner.set_name(name);
        }

        #[getter(name)]
        fn name(&self) -> &str {
            self.inner.name()
        }

        #[setter(epoch)]
        fn set_epoch(&mut self, epoch: u32) {
            self.inner.set_epoch(epoch);
        }

        #[getter(epoch)]
        fn epoch(&self) -> u32 {
            self.inner.epoch()
        }

        #[setter(version)]
        fn set_version(&mut self, version: &str) {
            self.inner.set_version(version);
        }

        #[getter(version)]
        fn version(&self) -> &str {
            self.inner.version()
        }

        #[setter(release)]
        fn set_release(&mut self, release: &str) {
            self.inner.set_release(release);
        }

        #[getter(release)]
        fn release(&self) -> &str {
            self.inner.release()
        }

        #[setter(arch)]
        fn set_arch(&mut self, arch: &str) {
            self.inner.set_arch(arch);
        }

        #[getter(arch)]
        fn arch(&self) -> &str {
            self.inner.arch()
        }

        // This can be converted back to (&str, &str) after https://github.com/PyO3/pyo3/pull/4390 merges
        #[setter(checksum)]
        pub fn set_checksum(&mut self, checksum: (String, String)) -> PyResult<()> {
            let checksum = crate::metadata::Checksum::try_create(checksum.0, checksum.1)?;
            self.inner.set_checksum(checksum);
            Ok(())
        }

        #[getter(checksum)]
        pub fn checksum(&self) -> (&str, &str) {
            self.inner.checksum().to_values().unwrap() // TODO this unwrap doesn't really need to exist
        }

        #[getter(pkgid)]
        pub fn pkgid(&self) -> &str {
            self.inner.pkgid()
        }

        /// Validate that structured package metadata contains only XML 1.0 characters.
        pub fn validate_xml_fields(&self) -> PyResult<()> {
            self.inner.validate_xml_fields()?;
            Ok(())
        }

        #[getter(checksum_type)]
        pub fn checksum_type(&self) -> &str {
            self.inner.checksum().to_values().unwrap().0
        }

        #[setter(location_href)]
        pub fn set_location_href(&mut self, location_href: &str) {
            self.inner.set_location_href(location_href);
        }

        #[getter(location_href)]
        pub fn location_href(&self) -> &str {
            self.inner.location_href()
        }

        #[setter(location_base)]
        pub fn set_location_base(&mut self, location_base: Option<&str>) {
            self.inner.set_location_base(location_base);
        }

        #[getter(location_base)]
        pub fn location_base(&self) -> Option<&str> {
            self.inner.location_base()
        }

        #[setter(summary)]
        pub fn set_summary(&mut self, summary: &str) {
            self.inner.set_summary(summary);
        }

        #[getter(summary)]
        pub fn summary(&self) -> &str {
            self.inner.summary()
        }

        #[setter(description)]
        pub fn set_description(&mut self, description: &str) {
            self.inner.set_description(description);
        }

        #[getter(description)]
        pub fn description(&self) -> &str {
            self.inner.description()
        }

        #[setter(packager)]
        pub fn set_packager(&mut self, packager: &str) {
            self.inner.set_packager(packager);
        }

        #[getter(packager)]
        pub fn packager(&self) -> &str {
            self.inner.packager()
        }

        #[setter(url)]
        pub fn set_url(&mut self, url: &str) {
            self.inner.set_url(url);
        }

        #[getter(url)]
        pub fn url(&self) -> &str {
            self.inner.url()
        }

        #[setter(time_file)]
        pub fn set_time_file(&mut self, time_file: u64) {
            self.inner.set_time_file(time_file);
        }

        #[getter(time_file)]
        pub fn time_file(&self) -> u64 {
            self.inner.time_file()
        }

        #[setter(time_build)]
        pub fn set_time_build(&mut self, time_build: u64) {
            self.inner.set_time_build(time_build);
        }

        #[getter(time_build)]
        pub fn time_build(&self) -> u64 {
            self.inner.time_build()
        }

        #[setter(size_package)]
        pub fn set_size_package(&mut self, size_package: u64) {
            self.inner.set_size_package(size_package);
        }

        #[getter(size_package)]
        pub fn size_package(&self) -> u64 {
            self.inner.size_package()
        }

        #[setter(size_installed)]
        pub fn set_size_installed(&mut self, size_installed: u64) {
            self.inner.set_size_installed(size_installed);
        }

        #[getter(size_installed)]
        pub fn size_installed(&self) -> u64 {
            self.inner.size_installed()
        }

        #[setter(size_archive)]
        pub fn set_size_archive(&mut self, size_archive: u64) {
            self.inner.set_size_archive(size_archive);
        }

        #[getter(size_archive)]
        pub fn size_archive(&self) -> u64 {
            self.inner.size_archive()
        }

        #[setter(rpm_license)]
        pub fn set_rpm_license(&mut self, license: &str) {
            self.inner.set_rpm_license(license);
        }

        #[getter(rpm_license)]
        pub fn rpm_license(&self) -> &str {
            self.inner.rpm_license()
        }

        #[setter(rpm_vendor)]
        pub fn set_rpm_vendor(&mut self, vendor: &str) {
            self.inner.set_rpm_vendor(vendor);
        }

        #[getter(rpm_vendor)]
        pub fn rpm_vendor(&self) -> &str {
            self.inner.rpm_vendor()
        }

        #[setter(rpm_group)]
        pub fn set_rpm_group(&mut self, group: &str) {
            self.inner.set_rpm_group(group);
        }

        #[getter(rpm_group)]
        pub fn rpm_group(&self) -> &str {
            self.inner.rpm_group()
        }

        #[setter(rpm_buildhost)]
        pub fn set_rpm_buildhost(&mut self, rpm_buildhost: &str) {
            self.inner.set_rpm_buildhost(rpm_buildhost);
        }

        #[getter(rpm_buildhost)]
        pub fn rpm_buildhost(&self) -> &str {
            self.inner.rpm_buildhost()
        }

        #[setter(rpm_sourcerpm)]
        pub fn set_rpm_sourcerpm(&mut self, rpm_sourcerpm: &str) {
            self.inner.set_rpm_sourcerpm(rpm_sourcerpm);
        }

        #[getter(rpm_sourcerpm)]
        pub fn rpm_sourcerpm(&self) -> &str {
            self.inner.rpm_sourcerpm()
        }

        #[setter(rpm_header_range)]
        pub fn set_rpm_header_range(&mut self, tuple: (u64, u64)) {
            self.inner.set_rpm_header_range(tuple.0, tuple.1);
        }

        #[getter(rpm_header_range)]
        pub fn rpm_header_range(&self) -> (u64, u64) {
            let range = self.inner.rpm_header_range();
            (range.start, range.end)
        }

        #[setter(requires)]
        pub fn set_requires(&mut self, requires: Vec<RequirementTuple>) {
            let requires: Vec<_> = requires
                .iter()
                .map(crate::metadata::Requirement::from)
                .collect();
            self.inner.set_requires(requires);
        }

        #[getter(requires)]
        pub fn requires(&self) -> Vec<RequirementTuple> {
            self.inner
                .requires()
                .iter()
                .map(RequirementTuple::from)
                .collect()
        }

        #[setter(provides)]
        pub fn set_provides(&mut self, provides: Vec<RequirementTuple>) {
            let provides: Vec<_> = provides
                .iter()
                .map(crate::metadata::Requirement::from)
                .collect();
            self.inner.set_provides(provides);
        }

        #[getter(provides)]
        pub fn provides(&self) -> Vec<RequirementTuple> {
            self.inner
                .provides()
                .iter()
                .map(RequirementTuple::from)
                .collect()
        }

        #[setter(conflicts)]
        pub fn set_conflicts(&mut self, conflicts: Vec<RequirementTuple>) {
            let conflicts: Vec<_> = conflicts
                .iter()
                .map(crate::metadata::Requirement::from)
                .collect();
            self.inner.set_conflicts(conflicts);
        }

        #[getter(conflicts)]
        pub fn conflicts(&self) -> Vec<RequirementTuple> {
            self.inner
                .conflicts()
                .iter()
                .map(RequirementTuple::from)
                .collect()
        }

        #[setter(obsoletes)]
        pub fn set_obsoletes(&mut self, obsoletes: Vec<RequirementTuple>) {
            let obsoletes: Vec<_> = obsoletes
                .iter()
                .map(crate::metadata::Requirement::from)
                .collect();
            self.inner.set_obsoletes(obsoletes);
        }

        #[getter(obsoletes)]
        pub fn obsoletes(&self) -> Vec<RequirementTuple> {
            self.inner
                .obsoletes()
                .iter()
                .map(RequirementTuple::from)
                .collect()
        }

        #[setter(suggests)]
        pub fn set_suggests(&mut self, suggests: Vec<RequirementTuple>) {
            let suggests: Vec<_> = suggests
                .iter()
                .map(crate::metadata::Requirement::from)
                .collect();
            self.inner.set_suggests(suggests);
        }

        #[getter(suggests)]
        pub fn suggests(&self) -> Vec<RequirementTuple> {
            self.inner
                .suggests()
                .iter()
                .map(RequirementTuple::from)
                .collect()
        }

        #[setter(enhances)]
        pub fn set_enhances(&mut self, enhances: Vec<RequirementTuple>) {
            let enhances: Vec<_> = enhances
                .iter()
                .map(crate::metadata::Requirement::from)
                .collect();
            self.inner.set_enhances(enhances);
        }

        #[getter(enhances)]
        pub fn enhances(&self) -> Vec<RequirementTuple> {
            self.inner
                .enhances()
                .iter()
                .map(RequirementTuple::from)
                .collect()
        }

        #[setter(recommends)]
        pub fn set_recommends(&mut self, recommends: Vec<RequirementTuple>) {
            let recommends: Vec<_> = recommends
                .iter()
                .map(crate::metadata::Requirement::from)
                .collect();
            self.inner.set_recommends(recommends);
        }

        #[getter(recommends)]
        pub fn recommends(&self) -> Vec<RequirementTuple> {
            self.inner
                .recommends()
                .iter()
                .map(RequirementTuple::from)
                .collect()
        }

        #[setter(supplements)]
        pub fn set_supplements(&mut self, supplements: Vec<RequirementTuple>) {
            let supplements: Vec<_> = supplements
                .iter()
                .map(crate::metadata::Requirement::from)
                .collect();
            self.inner.set_supplements(supplements);
        }

        #[getter(supplements)]
        pub fn supplements(&self) -> Vec<RequirementTuple> {
            self.inner
                .supplements()
                .iter()
                .map(RequirementTuple::from)
                .collect()
        }

        #[setter(files)]
        pub fn set_files(&mut self, file_tuples: Vec<FileTuple>) -> PyResult<()> {
            self.inner.clear_files();
            for file_tuple in file_tuples.iter() {
                let filetype = match file_tuple.0.as_deref() {
                    None => crate::metadata::FileType::File,
                    Some("dir") => crate::metadata::FileType::Dir,
                    Some("ghost") => crate::metadata::FileType::Ghost,
                    Some(bad_val) => {
                        return Err(pyo3::exceptions::PyValueError::new_err(format!(
                            "{bad_val} is not a permitted file type"
                        )));
                    }
                };
                self.inner.add_file(filetype, &file_tuple.1);
            }
            Ok(())
        }

        #[getter(files)]
        pub fn files(&self) -> Vec<FileTuple> {
            let mut result = Vec::new();
            self.inner.for_each_file(|ft, path| {
                let filetype = match ft {
                    crate::metadata::FileType::File => None,
                    crate::metadata::FileType::Dir => Some("dir".to_owned()),
                    crate::metadata::FileType::Ghost => Some("ghost".to_owned()),
                };
                result.push((filetype, path.to_owned()));
            });
            result
        }

        #[setter(files_split)]
        pub fn set_files_split(&mut self, file_tuples: Vec<CrFileTuple>) -> PyResult<()> {
            self.inner.clear_files();
            for file_tuple in file_tuples.iter() {
                let filetype = match file_tuple.0.as_deref() {
                    None => crate::metadata::FileType::File,
                    Some("dir") => crate::metadata::FileType::Dir,
                    Some("ghost") => crate::metadata::FileType::Ghost,
                    Some(bad_val) => {
                        return Err(pyo3::exceptions::PyValueError::new_err(format!(
                            "{bad_val} is not a permitted file type"
                        )));
                    }
                };
                self.inner
                    .add_file_split(filetype, &file_tuple.1, &file_tuple.2);
            }
            Ok(())
        }

        #[getter(files_split)]
        pub fn files_split<'py>(
            &self,
            py: Python<'py>,
        ) -> Vec<(Option<String>, Bound<'py, PyString>, String)> {
            let mut result = Vec::new();
            // Key by data pointer - directory strings sharing the same interned
            // directory point to the same slice, so pointer identity is sufficient.
            // No unsafe required.
            let mut dir_cache = std::collections::HashMap::new();
            for f in self.inner.files().iter() {
                let filetype = match f.filetype() {
                    crate::metadata::FileType::File => None,
                    crate::metadata::FileType::Dir => Some("dir".to_owned()),
                    crate::metadata::FileType::Ghost => Some("ghost".to_owned()),
                };
                let dir = dir_cache
                    .entry(f.dir().as_ptr())
                    .or_insert_with(|| PyString::new(py, f.dir()))
                    .clone();
                result.push((filetype, dir, f.basename().to_owned()));
            }
            result
        }

        #[setter(changelogs)]
        pub fn set_changelogs(&mut self, changelog_tuples: Vec<ChangelogTuple>) {
            let changelogs: Vec<_> = changelog_tuples
                .into_iter()
                .map(crate::metadata::Changelog::from)
                .collect();
            self.inner.set_changelogs(changelogs);
        }

        #[getter(changelogs)]
        pub fn changelogs(&self) -> Vec<ChangelogTuple> {
            self.inner
                .changelogs()
                .iter()
                .map(ChangelogTuple::from)
                .collect()
        }

        fn __eq__(&self, other: &Package) -> bool {
            self.inner == other.inner
        }

        fn __str__(&self) -> PyResult<String> {
            Ok(self.to_string())
        }

        fn __repr__(&self) -> PyResult<String> {
            Ok(self.to_string())
        }
    }

    impl fmt::Display for Package {
        fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "<Package {}>", self.inner.nevra())
        }
    }

    // Type, path
    type FileTuple = (Option<String>, String);

    // Type, basedir, filename
    type CrFileTuple = (Option<String>, String, String);

    // name, flags, epoch, version, release, preinstall
    type RequirementTuple = (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        bool,
    );

    // TODO: figure out how to do this without cloning?
    impl From<&RequirementTuple> for crate::metadata::Requirement {
        fn from(tuple: &RequirementTuple) -> Self {
            crate::metadata::Requirement::new(tuple.0.clone())
                .set_flags(
                    tuple
                        .1
                        .as_deref()
                        .and_then(|s| crate::metadata::RequirementType::try_from(s).ok()),
                )
                .set_epoch(tuple.2.as_deref())
                .set_version(tuple.3.as_deref())
                .set_release(tuple.4.as_deref())
                .set_preinstall(tuple.5)
        }
    }

    impl From<&crate::metadata::Requirement> for RequirementTuple {
        fn from(req: &crate::metadata::Requirement) -> Self {
            (
                req.name().to_owned(),
                req.flags().map(|f| f.to_string()),
                req.epoch().map(|s| s.to_owned()),
                req.version().map(|s| s.to_owned()),
                req.release().map(|s| s.to_owned()),
                req.preinstall(),
            )
        }
    }

    // Author, Date, Description
    type ChangelogTuple = (String, u64, String);

    impl From<ChangelogTuple> for crate::metadata::Changelog {
        fn from(tuple: ChangelogTuple) -> Self {
            crate::metadata::Changelog {
                author: tuple.0,
                timestamp: tuple.1,
                description: tuple.2,
            }
        }
    }

    impl From<&crate::metadata::Changelog> for ChangelogTuple {
        fn from(changelog: &crate::metadata::Changelog) -> Self {
            (
                changelog.author.clone(),
                changelog.timestamp,
                changelog.description.clone(),
            )
        }
    }
    /// Iterator over packages in repository metadata.
    #[pyclass]
    struct PackageIterator {
        inner: Mutex<crate::PackageIterator>,
    }

    #[pymethods]
    impl PackageIterator {
        /// Create a package iterator from primary, filelists, and other XML file paths.
        #[new]
        fn new(
            primary_path: PathBuf,
            filelists_path: PathBuf,
            other_path: PathBuf,
        ) -> PyResult<Self> {
            let py_pkg_reader = Self {
                inner: Mutex::new(crate::PackageIterator::from_files(
                    &primary_path,
                    &filelists_path,
                    &other_path,
                )?),
            };
            Ok(py_pkg_reader)
        }

        /// Parse and return the next package, or ``None`` when exhausted.
        fn parse_package(&mut self) -> PyResult<Option<Package>> {
            let pkg = self.inner.lock().unwrap().parse_package()?;
            let py_pkg = pkg.map(|p| Package { inner: p });
            Ok(py_pkg)
        }

        #[getter]
        fn remaining_packages(&self) -> usize {
            self.inner.lock().unwrap().remaining_packages()
        }

        #[getter]
        fn total_packages(&self) -> usize {
            self.inner.lock().unwrap().total_packages()
        }

        fn __length_hint__(&self) -> usize {
            self.inner.lock().unwrap().remaining_packages()
        }

        fn __iter__(slf: PyRef<Self>) -> PyRef<Self> {
            slf
        }

        fn __next__(mut slf: PyRefMut<Self>) -> PyResult<Option<Package>> {
            slf.parse_package()
        }
    }

    // ----------------- Updateinfo types --------------------

    /// An advisory (errata) entry from updateinfo.xml.
    #[pyclass]
    struct UpdateRecord {
        inner: crate::UpdateRecord,
    }

    #[pymethods]
    impl UpdateRecord {
        #[allow(clippy::too_many_arguments)]
        #[new]
        #[pyo3(signature = (id="".to_string(), title="".to_string(), update_type="".to_string(), fromstr="".to_string(), status="".to_string(), version="".to_string(), severity=None, summary=None, description=None, solution=None, message=None, rights=None, release=None, issued_date=None, updated_date=None, pushcount=None, reboot_suggested=false))]
        fn new(
            id: String,
            title: String,
            update_type: String,
            fromstr: String,
            status: String,
            version: String,
            severity: Option<String>,
            summary: Option<String>,
            description: Option<String>,
            solution: Option<String>,
            message: Option<String>,
            rights: Option<String>,
            release: Option<String>,
            issued_date: Option<String>,
            updated_date: Option<String>,
            pushcount: Option<String>,
            reboot_suggested: bool,
        ) -> Self {
            Self {
                inner: crate::UpdateRecord {
                    id,
                    title,
                    update_type,
                    from: fromstr,
                    status,
                    version,
                    severity,
                    summary,
                    description,
                    solution,
                    message,
                    reboot_suggested,
                    rights,
                    release,
                    issued_date,
                    updated_date,
                    pushcount,
                    references: Vec::new(),
                    pkglist: Vec::new(),
                },
            }
        }

        /// Set the author or source of the advisory.
        #[setter(fromstr)]
        fn set_from(&mut self, val: String) {
            self.inner.from = val;
        }

        /// Set the advisory type.
        #[setter]
        fn set_update_type(&mut self, val: String) {
            self.inner.update_type = val;
        }

        /// Set the release status.
        #[setter]
        fn set_status(&mut self, val: String) {
            self.inner.status = val;
        }

        /// Set the advisory metadata version.
        #[setter(version)]
        fn set_version(&mut self, val: String) {
            self.inner.version = val;
        }

        /// Set the advisory identifier.
        #[setter]
        fn set_id(&mut self, val: String) {
            self.inner.id = val;
        }

        /// Set the advisory title.
        #[setter]
        fn set_title(&mut self, val: String) {
            self.inner.title = val;
        }

        /// Set the date the advisory was issued.
        #[setter]
        fn set_issued_date(&mut self, val: Option<String>) {
            self.inner.issued_date = val;
        }

        /// Set the date the advisory was last updated.
        #[setter]
        fn set_updated_date(&mut self, val: Option<String>) {
            self.inner.updated_date = val;
        }

        /// Set the copyright or legal rights statement.
        #[setter]
        fn set_rights(&mut self, val: Option<String>) {
            self.inner.rights = val;
        }

        /// Set the distribution release.
        #[setter(release)]
        fn set_release(&mut self, val: Option<String>) {
            self.inner.release = val;
        }

        /// Set the push count (deprecated).
        #[setter]
        fn set_pushcount(&mut self, val: Option<String>) {
            self.inner.pushcount = val;
        }

        /// Set the severity level.
        #[setter]
        fn set_severity(&mut self, val: Option<String>) {
            self.inner.severity = val;
        }

        /// Set the advisory summary.
        #[setter]
        fn set_summary(&mut self, val: Option<String>) {
            self.inner.summary = val;
        }

        /// Set the advisory description.
        #[setter(description)]
        fn set_description(&mut self, val: Option<String>) {
            self.inner.description = val;
        }

        /// Set the recommended solution.
        #[setter]
        fn set_solution(&mut self, val: Option<String>) {
            self.inner.solution = val;
        }

        /// Set the informative message.
        #[setter]
        fn set_message(&mut self, val: Option<String>) {
            self.inner.message = val;
        }

        /// Set whether a reboot is suggested for the advisory as a whole.
        #[setter]
        fn set_reboot_suggested(&mut self, val: bool) {
            self.inner.reboot_suggested = val;
        }

        /// Set the external references for this advisory.
        #[setter]
        fn set_references(&mut self, py: Python<'_>, refs: Vec<Py<UpdateReference>>) {
            self.inner.references = refs.iter().map(|r| r.borrow(py).inner.clone()).collect();
        }

        /// Set the package collections for this advisory.
        #[setter]
        fn set_pkglist(&mut self, py: Python<'_>, pkglist: Vec<Py<UpdateCollection>>) {
            self.inner.pkglist = pkglist.iter().map(|c| c.borrow(py).inner.clone()).collect();
        }

        /// The author or source of the advisory.
        #[getter(fromstr)]
        fn fromstr(&self) -> &str {
            &self.inner.from
        }

        /// The type of advisory (e.g. security, bugfix, enhancement).
        #[getter]
        fn update_type(&self) -> &str {
            &self.inner.update_type
        }

        /// The release status of the advisory.
        #[getter]
        fn status(&self) -> &str {
            &self.inner.status
        }

        /// The version of the advisory metadata.
        #[getter]
        fn version(&self) -> &str {
            &self.inner.version
        }

        /// The unique advisory identifier.
        #[getter]
        fn id(&self) -> &str {
            &self.inner.id
        }

        /// The human-readable title of the advisory.
        #[getter]
        fn title(&self) -> &str {
            &self.inner.title
        }

        /// The date the advisory was originally issued.
        #[getter]
        fn issued_date(&self) -> Option<&str> {
            self.inner.issued_date.as_deref()
        }

        /// The date the advisory was last updated.
        #[getter]
        fn updated_date(&self) -> Option<&str> {
            self.inner.updated_date.as_deref()
        }

        /// Copyright or legal rights statement.
        #[getter]
        fn rights(&self) -> Option<&str> {
            self.inner.rights.as_deref()
        }

        /// The distribution release this advisory targets.
        #[getter]
        fn release(&self) -> Option<&str> {
            self.inner.release.as_deref()
        }

        /// The number of times the advisory has been pushed (deprecated).
        #[getter]
        fn pushcount(&self) -> Option<&str> {
            self.inner.pushcount.as_deref()
        }

        /// The severity level of the advisory.
        #[getter]
        fn severity(&self) -> Option<&str> {
            self.inner.severity.as_deref()
        }

        /// A brief summary of the advisory.
        #[getter]
        fn summary(&self) -> Option<&str> {
            self.inner.summary.as_deref()
        }

        /// A detailed description of the advisory.
        #[getter]
        fn description(&self) -> Option<&str> {
            self.inner.description.as_deref()
        }

        /// Recommended solution or remediation steps.
        #[getter]
        fn solution(&self) -> Option<&str> {
            self.inner.solution.as_deref()
        }

        /// Informative message (e.g. reboot instructions).
        #[getter]
        fn message(&self) -> Option<&str> {
            self.inner.message.as_deref()
        }

        /// Whether a reboot is suggested for the advisory as a whole.
        #[getter]
        fn reboot_suggested(&self) -> bool {
            self.inner.reboot_suggested
        }

        /// External references (bugzilla, CVE, etc.) associated with this advisory.
        #[getter]
        fn references(&self) -> Vec<UpdateReference> {
            self.inner
                .references
                .iter()
                .map(|r| UpdateReference { inner: r.clone() })
                .collect()
        }

        /// Collections of packages affected by this advisory.
        #[getter]
        fn pkglist(&self) -> Vec<UpdateCollection> {
            self.inner
                .pkglist
                .iter()
                .map(|c| UpdateCollection { inner: c.clone() })
                .collect()
        }

        fn __eq__(&self, other: &UpdateRecord) -> bool {
            self.inner == other.inner
        }

        fn __str__(&self) -> String {
            format!("<UpdateRecord {}>", self.inner.id)
        }

        fn __repr__(&self) -> String {
            format!("<UpdateRecord {}>", self.inner.id)
        }
    }

    /// A reference (bugzilla, CVE, etc.) associated with an advisory.
    #[pyclass]
    struct UpdateReference {
        inner: crate::UpdateReference,
    }

    #[pymethods]
    impl UpdateReference {
        #[new]
        #[pyo3(signature = (href="".to_string(), id="".to_string(), title="".to_string(), reftype="".to_string()))]
        fn new(href: String, id: String, title: String, reftype: String) -> Self {
            Self {
                inner: crate::UpdateReference {
                    href,
                    id,
                    title,
                    reftype,
                },
            }
        }

        /// The URL of the external reference.
        #[getter]
        fn href(&self) -> &str {
            &self.inner.href
        }

        /// The identifier of the reference (e.g. bug number, CVE ID).
        #[getter]
        fn id(&self) -> &str {
            &self.inner.id
        }

        /// The human-readable title of the reference.
        #[getter]
        fn title(&self) -> &str {
            &self.inner.title
        }

        /// The type of reference (e.g. bugzilla, cve, self).
        #[getter]
        fn reftype(&self) -> &str {
            &self.inner.reftype
        }

        fn __eq__(&self, other: &UpdateReference) -> bool {
            self.inner == other.inner
        }
    }

    /// A collection of packages affected by an advisory update.
    #[pyclass]
    struct UpdateCollection {
        inner: crate::UpdateCollection,
    }

    #[pymethods]
    impl UpdateCollection {
        #[new]
        #[pyo3(signature = (name="".to_string(), shortname="".to_string()))]
        fn new(name: String, shortname: String) -> Self {
            Self {
                inner: crate::UpdateCollection {
                    name,
                    shortname,
                    packages: Vec::new(),
                    module: None,
                },
            }
        }

        /// Set the full name of the package collection.
        #[setter]
        fn set_name(&mut self, val: String) {
            self.inner.name = val;
        }

        /// Set the short name of the collection.
        #[setter]
        fn set_shortname(&mut self, val: String) {
            self.inner.shortname = val;
        }

        /// Set the packages in this collection.
        #[setter]
        fn set_packages(&mut self, py: Python<'_>, pkgs: Vec<Py<UpdateCollectionPackage>>) {
            self.inner.packages = pkgs.iter().map(|p| p.borrow(py).inner.clone()).collect();
        }

        /// Set the module stream information.
        #[setter]
        fn set_module(&mut self, module: Option<UpdateCollectionModule>) {
            self.inner.module = module.map(|m| m.inner);
        }

        /// The full name of the package collection.
        #[getter]
        fn name(&self) -> &str {
            &self.inner.name
        }

        /// The short name of the collection.
        #[getter]
        fn shortname(&self) -> &str {
            &self.inner.shortname
        }

        /// The packages included in this collection.
        #[getter]
        fn packages(&self) -> Vec<UpdateCollectionPackage> {
            self.inner
                .packages
                .iter()
                .map(|p| UpdateCollectionPackage { inner: p.clone() })
                .collect()
        }

        /// Optional module stream information for modular updates.
        #[getter]
        fn module(&self) -> Option<UpdateCollectionModule> {
            self.inner
                .module
                .as_ref()
                .map(|m| UpdateCollectionModule { inner: m.clone() })
        }

        fn __eq__(&self, other: &UpdateCollection) -> bool {
            self.inner == other.inner
        }
    }

    /// A package within an advisory update collection.
    #[pyclass]
    struct UpdateCollectionPackage {
        inner: crate::UpdateCollectionPackage,
    }

    #[pymethods]
    impl UpdateCollectionPackage {
        #[allow(clippy::too_many_arguments)]
        #[new]
        #[pyo3(signature = (name="".to_string(), version="".to_string(), release="".to_string(), arch="".to_string(), epoch="".to_string(), filename="".to_string(), src="".to_string(), reboot_suggested=false, restart_suggested=false, relogin_suggested=false))]
        fn new(
            name: String,
            version: String,
            release: String,
            arch: String,
            epoch: String,
            filename: String,
            src: Option<String>,
            reboot_suggested: bool,
            restart_suggested: bool,
            relogin_suggested: bool,
        ) -> Self {
            Self {
                inner: crate::UpdateCollectionPackage {
                    name,
                    version,
                    release,
                    arch,
                    epoch,
                    filename,
                    src,
                    reboot_suggested,
                    restart_suggested,
                    relogin_suggested,
                    checksum: None,
                },
            }
        }

        /// The epoch of the package version.
        #[getter]
        fn epoch(&self) -> &str {
            &self.inner.epoch
        }

        /// The filename of the package RPM.
        #[getter]
        fn filename(&self) -> &str {
            &self.inner.filename
        }

        /// The name of the package.
        #[getter]
        fn name(&self) -> &str {
            &self.inner.name
        }

        /// Whether a system reboot is suggested after installing this update.
        #[getter]
        fn reboot_suggested(&self) -> bool {
            self.inner.reboot_suggested
        }

        /// Whether a service restart is suggested after installing this update.
        #[getter]
        fn restart_suggested(&self) -> bool {
            self.inner.restart_suggested
        }

        /// Whether a user re-login is suggested after installing this update.
        #[getter]
        fn relogin_suggested(&self) -> bool {
            self.inner.relogin_suggested
        }

        /// The release string of the package version.
        #[getter]
        fn release(&self) -> &str {
            &self.inner.release
        }

        /// The source RPM filename, if available.
        #[getter]
        fn src(&self) -> Option<&str> {
            self.inner.src.as_deref()
        }

        /// The architecture of the package.
        #[getter]
        fn arch(&self) -> &str {
            &self.inner.arch
        }

        /// The checksum of the package as a (type, value) tuple.
        #[getter]
        fn checksum(&self) -> Option<(&str, &str)> {
            self.inner
                .checksum
                .as_ref()
                .and_then(|c| c.to_values().ok())
        }

        /// Set the checksum from a (type, value) tuple, or `None` to clear it.
        #[setter]
        fn set_checksum(&mut self, checksum: Option<(String, String)>) -> PyResult<()> {
            self.inner.checksum = match checksum {
                Some((kind, value)) => Some(crate::metadata::Checksum::try_create(kind, value)?),
                None => None,
            };
            Ok(())
        }

        /// The version string of the package.
        #[getter]
        fn version(&self) -> &str {
            &self.inner.version
        }

        fn __eq__(&self, other: &UpdateCollectionPackage) -> bool {
            self.inner == other.inner
        }
    }

    /// Module stream information for a modular advisory update.
    #[pyclass(from_py_object)]
    #[derive(Clone)]
    struct UpdateCollectionModule {
        inner: crate::UpdateCollectionModule,
    }

    #[pymethods]
    impl UpdateCollectionModule {
        #[new]
        fn new(name: String, stream: String, version: u64, context: String, arch: String) -> Self {
            Self {
                inner: crate::UpdateCollectionModule {
                    name,
                    stream,
                    version,
                    context,
                    arch,
                },
            }
        }

        /// The module name.
        #[getter]
        fn name(&self) -> &str {
            &self.inner.name
        }

        /// The module stream name.
        #[getter]
        fn stream(&self) -> &str {
            &self.inner.stream
        }

        /// The module version number.
        #[getter]
        fn version(&self) -> u64 {
            self.inner.version
        }

        /// The module context hash.
        #[getter]
        fn context(&self) -> &str {
            &self.inner.context
        }

        /// The module architecture.
        #[getter]
        fn arch(&self) -> &str {
            &self.inner.arch
        }

        fn __eq__(&self, other: &UpdateCollectionModule) -> bool {
            self.inner == other.inner
        }
    }

    /// Iterator over advisory records from updateinfo.xml.
    #[pyclass]
    struct UpdateinfoReader {
        inner: Mutex<crate::UpdateinfoIterator>,
    }

    #[pymethods]
    impl UpdateinfoReader {
        /// Parse and return the next advisory record, or ``None`` when exhausted.
        fn parse_updaterecord(&mut self) -> PyResult<Option<UpdateRecord>> {
            if let Some(rec) = self.inner.lock().unwrap().next() {
                return Ok(Some(UpdateRecord { inner: rec? }));
            }
            Ok(None)
        }

        fn __iter__(slf: PyRef<Self>) -> PyRef<Self> {
            slf
        }

        fn __next__(mut slf: PyRefMut<Self>) -> PyResult<Option<UpdateRecord>> {
            slf.parse_updaterecord()
        }
    }

    // ---------------- Comps types -------------------

    /// A package group from comps.xml.
    #[pyclass]
    struct CompsGroup {
        inner: crate::CompsGroup,
    }

    #[pymethods]
    impl CompsGroup {
        #[allow(clippy::too_many_arguments)]
        #[new]
        #[pyo3(signature = (id="".to_string(), name="".to_string(), description="".to_string(), default=false, uservisible=true, biarchonly=false, langonly=None, display_order=None))]
        fn new(
            id: String,
            name: String,
            description: String,
            default: bool,
            uservisible: bool,
            biarchonly: bool,
            langonly: Option<String>,
            display_order: Option<u32>,
        ) -> Self {
            Self {
                inner: crate::CompsGroup {
                    id,
                    name,
                    description,
                    default,
                    uservisible,
                    biarchonly,
                    langonly,
                    display_order,
                    name_by_lang: indexmap::IndexMap::new(),
                    desc_by_lang: indexmap::IndexMap::new(),
                    packages: Vec::new(),
                },
            }
        }

        /// Set the unique identifier of the group.
        #[setter]
        fn set_id(&mut self, val: String) {
            self.inner.id = val;
        }

        /// Set the display name of the group.
        #[setter]
        fn set_name(&mut self, val: String) {
            self.inner.name = val;
        }

        /// Set the description of the group.
        #[setter]
        fn set_description(&mut self, val: String) {
            self.inner.description = val;
        }

        /// Set whether the group is selected by default.
        #[setter]
        fn set_default(&mut self, val: bool) {
            self.inner.default = val;
        }

        /// Set whether the group is visible to users in installation UIs.
        #[setter]
        fn set_uservisible(&mut self, val: bool) {
            self.inner.uservisible = val;
        }

        /// Set whether the group is only available on biarch platforms.
        #[setter]
        fn set_biarchonly(&mut self, val: bool) {
            self.inner.biarchonly = val;
        }

        /// Set the language restriction for this group.
        #[setter]
        fn set_langonly(&mut self, val: Option<String>) {
            self.inner.langonly = val;
        }

        /// Set the display order for sorting in UIs.
        #[setter]
        fn set_display_order(&mut self, val: Option<u32>) {
            self.inner.display_order = val;
        }

        /// Set the package requirements for this group.
        #[setter]
        fn set_packages(&mut self, py: Python<'_>, pkgs: Vec<Py<CompsPackageReq>>) {
            self.inner.packages = pkgs.iter().map(|p| p.borrow(py).inner.clone()).collect();
        }

        /// Set the localized group names.
        #[setter]
        fn set_name_by_lang(&mut self, val: indexmap::IndexMap<String, String>) {
            self.inner.name_by_lang = val;
        }

        /// Set the localized group descriptions.
        #[setter]
        fn set_desc_by_lang(&mut self, val: indexmap::IndexMap<String, String>) {
            self.inner.desc_by_lang = val;
        }

        /// The unique identifier of the group.
        #[getter]
        fn id(&self) -> &str {
            &self.inner.id
        }

        /// The display name of the group.
        #[getter]
        fn name(&self) -> &str {
            &self.inner.name
        }

        /// Localized group names as a dict keyed by language code.
        #[getter]
        fn name_by_lang(&self) -> indexmap::IndexMap<String, String> {
            self.inner.name_by_lang.clone()
        }

        /// The description of the group.
        #[getter]
        fn description(&self) -> &str {
            &self.inner.description
        }

        /// Localized group descriptions as a dict keyed by language code.
        #[getter]
        fn desc_by_lang(&self) -> indexmap::IndexMap<String, String> {
            self.inner.desc_by_lang.clone()
        }

        /// Whether the group is selected by default.
        #[getter]
        fn default(&self) -> bool {
            self.inner.default
        }

        /// Whether the group is visible to users in installation UIs.
        #[getter]
        fn uservisible(&self) -> bool {
            self.inner.uservisible
        }

        /// Whether the group is only available on biarch platforms.
        #[getter]
        fn biarchonly(&self) -> bool {
            self.inner.biarchonly
        }

        /// Language restriction for this group.
        #[getter]
        fn langonly(&self) -> Option<&str> {
            self.inner.langonly.as_deref()
        }

        /// The display order for sorting in UIs.
        #[getter]
        fn display_order(&self) -> Option<u32> {
            self.inner.display_order
        }

        /// The package requirements belonging to this group.
        #[getter]
        fn packages(&self) -> Vec<CompsPackageReq> {
            self.inner
                .packages
                .iter()
                .map(|p| CompsPackageReq { inner: p.clone() })
                .collect()
        }

        /// Order this group's packages and localized strings deterministically.
        fn canonicalize(&mut self) {
            self.inner.canonicalize();
        }

        /// Return a plain ``dict`` representation of this group.
        #[cfg(feature = "serialize")]
        fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
            let value = serde_json::to_value(&self.inner)
                .map_err(|e| MetadataError::new_err(e.to_string()))?;
            json_value_to_py(py, &value)
        }

        /// Return a JSON string representation of this group.
        #[cfg(feature = "serialize")]
        fn to_json(&self) -> PyResult<String> {
            serde_json::to_string(&self.inner).map_err(|e| MetadataError::new_err(e.to_string()))
        }

        fn __eq__(&self, other: &CompsGroup) -> bool {
            self.inner == other.inner
        }

        fn __str__(&self) -> String {
            format!("<CompsGroup {}>", self.inner.id)
        }

        fn __repr__(&self) -> String {
            format!("<CompsGroup {}>", self.inner.id)
        }
    }

    /// A package requirement within a comps group.
    #[pyclass]
    struct CompsPackageReq {
        inner: crate::CompsPackageReq,
    }

    #[pymethods]
    impl CompsPackageReq {
        #[new]
        #[pyo3(signature = (name="".to_string(), reqtype="default".to_string(), requires=None, basearchonly=None))]
        fn new(
            name: String,
            reqtype: String,
            requires: Option<String>,
            basearchonly: Option<bool>,
        ) -> Self {
            Self {
                inner: crate::CompsPackageReq {
                    name,
                    reqtype,
                    requires,
                    basearchonly,
                },
            }
        }

        /// Set the name of the required package.
        #[setter]
        fn set_name(&mut self, val: String) {
            self.inner.name = val;
        }

        /// Set the requirement type (e.g. default, mandatory, optional, conditional).
        #[setter]
        fn set_reqtype(&mut self, val: String) {
            self.inner.reqtype = val;
        }

        /// Set the conditional requirement expression.
        #[setter]
        fn set_requires(&mut self, val: Option<String>) {
            self.inner.requires = val;
        }

        /// Set whether this package is only for the base architecture.
        #[setter]
        fn set_basearchonly(&mut self, val: Option<bool>) {
            self.inner.basearchonly = val;
        }

        /// The name of the required package.
        #[getter]
        fn name(&self) -> &str {
            &self.inner.name
        }

        /// The requirement type (e.g. default, mandatory, optional, conditional).
        #[getter]
        fn reqtype(&self) -> &str {
            &self.inner.reqtype
        }

        /// A conditional requirement expression.
        #[getter]
        fn requires(&self) -> Option<&str> {
            self.inner.requires.as_deref()
        }

        /// Whether this package is only for the base architecture.
        #[getter]
        fn basearchonly(&self) -> Option<bool> {
            self.inner.basearchonly
        }

        fn __eq__(&self, other: &CompsPackageReq) -> bool {
            self.inner == other.inner
        }
    }

    /// A category from comps.xml, organizing groups into higher-level groupings.
    #[pyclass]
    struct CompsCategory {
        inner: crate::CompsCategory,
    }

    #[pymethods]
    impl CompsCategory {
        #[new]
        #[pyo3(signature = (id="".to_string(), name="".to_string(), description="".to_string(), display_order=None))]
        fn new(id: String, name: String, description: String, display_order: Option<u32>) -> Self {
            Self {
                inner: crate::CompsCategory {
                    id,
                    name,
                    description,
                    display_order,
                    name_by_lang: indexmap::IndexMap::new(),
                    desc_by_lang: indexmap::IndexMap::new(),
                    group_ids: Vec::new(),
                },
            }
        }

        /// Set the unique identifier of the category.
        #[setter]
        fn set_id(&mut self, val: String) {
            self.inner.id = val;
        }

        /// Set the display name of the category.
        #[setter]
        fn set_name(&mut self, val: String) {
            self.inner.name = val;
        }

        /// Set the description of the category.
        #[setter]
        fn set_description(&mut self, val: String) {
            self.inner.description = val;
        }

        /// Set the display order for sorting in UIs.
        #[setter]
        fn set_display_order(&mut self, val: Option<u32>) {
            self.inner.display_order = val;
        }

        /// Set the group IDs for this category.
        #[setter]
        fn set_group_ids(&mut self, val: Vec<String>) {
            self.inner.group_ids = val;
        }

        /// Set the localized category names.
        #[setter]
        fn set_name_by_lang(&mut self, val: indexmap::IndexMap<String, String>) {
            self.inner.name_by_lang = val;
        }

        /// Set the localized category descriptions.
        #[setter]
        fn set_desc_by_lang(&mut self, val: indexmap::IndexMap<String, String>) {
            self.inner.desc_by_lang = val;
        }

        /// The unique identifier of the category.
        #[getter]
        fn id(&self) -> &str {
            &self.inner.id
        }

        /// The display name of the category.
        #[getter]
        fn name(&self) -> &str {
            &self.inner.name
        }

        /// Localized category names as a dict keyed by language code.
        #[getter]
        fn name_by_lang(&self) -> indexmap::IndexMap<String, String> {
            self.inner.name_by_lang.clone()
        }

        /// The description of the category.
        #[getter]
        fn description(&self) -> &str {
            &self.inner.description
        }

        /// Localized category descriptions as a dict keyed by language code.
        #[getter]
        fn desc_by_lang(&self) -> indexmap::IndexMap<String, String> {
            self.inner.desc_by_lang.clone()
        }

        /// The display order for sorting in UIs.
        #[getter]
        fn display_order(&self) -> Option<u32> {
            self.inner.display_order
        }

        /// The IDs of groups belonging to this category.
        #[getter]
        fn group_ids(&self) -> Vec<String> {
            self.inner.group_ids.clone()
        }

        /// Order this category's group references and localized strings deterministically.
        fn canonicalize(&mut self) {
            self.inner.canonicalize();
        }

        /// Return a plain ``dict`` representation of this category.
        #[cfg(feature = "serialize")]
        fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
            let value = serde_json::to_value(&self.inner)
                .map_err(|e| MetadataError::new_err(e.to_string()))?;
            json_value_to_py(py, &value)
        }

        /// Return a JSON string representation of this category.
        #[cfg(feature = "serialize")]
        fn to_json(&self) -> PyResult<String> {
            serde_json::to_string(&self.inner).map_err(|e| MetadataError::new_err(e.to_string()))
        }

        fn __eq__(&self, other: &CompsCategory) -> bool {
            self.inner == other.inner
        }

        fn __str__(&self) -> String {
            format!("<CompsCategory {}>", self.inner.id)
        }

        fn __repr__(&self) -> String {
            format!("<CompsCategory {}>", self.inner.id)
        }
    }

    /// An environment from comps.xml, defining a complete installation profile.
    #[pyclass]
    struct CompsEnvironment {
        inner: crate::CompsEnvironment,
    }

    #[pymethods]
    impl CompsEnvironment {
        #[new]
        #[pyo3(signature = (id="".to_string(), name="".to_string(), description="".to_string(), display_order=None))]
        fn new(id: String, name: String, description: String, display_order: Option<u32>) -> Self {
            Self {
                inner: crate::CompsEnvironment {
                    id,
                    name,
                    description,
                    display_order,
                    name_by_lang: indexmap::IndexMap::new(),
                    desc_by_lang: indexmap::IndexMap::new(),
                    group_ids: Vec::new(),
                    option_ids: Vec::new(),
                },
            }
        }

        /// Set the unique identifier of the environment.
        #[setter]
        fn set_id(&mut self, val: String) {
            self.inner.id = val;
        }

        /// Set the display name of the environment.
        #[setter]
        fn set_name(&mut self, val: String) {
            self.inner.name = val;
        }

        /// Set the description of the environment.
        #[setter]
        fn set_description(&mut self, val: String) {
            self.inner.description = val;
        }

        /// Set the display order for sorting in UIs.
        #[setter]
        fn set_display_order(&mut self, val: Option<u32>) {
            self.inner.display_order = val;
        }

        /// Set the mandatory group IDs.
        #[setter]
        fn set_group_ids(&mut self, val: Vec<String>) {
            self.inner.group_ids = val;
        }

        /// Set the optional groups.
        #[setter]
        fn set_option_ids(&mut self, py: Python<'_>, opts: Vec<Py<CompsEnvironmentOption>>) {
            self.inner.option_ids = opts.iter().map(|o| o.borrow(py).inner.clone()).collect();
        }

        /// Set the localized environment names.
        #[setter]
        fn set_name_by_lang(&mut self, val: indexmap::IndexMap<String, String>) {
            self.inner.name_by_lang = val;
        }

        /// Set the localized environment descriptions.
        #[setter]
        fn set_desc_by_lang(&mut self, val: indexmap::IndexMap<String, String>) {
            self.inner.desc_by_lang = val;
        }

        /// The unique identifier of the environment.
        #[getter]
        fn id(&self) -> &str {
            &self.inner.id
        }

        /// The display name of the environment.
        #[getter]
        fn name(&self) -> &str {
            &self.inner.name
        }

        /// Localized environment names as a dict keyed by language code.
        #[getter]
        fn name_by_lang(&self) -> indexmap::IndexMap<String, String> {
            self.inner.name_by_lang.clone()
        }

        /// The description of the environment.
        #[getter]
        fn description(&self) -> &str {
            &self.inner.description
        }

        /// Localized environment descriptions as a dict keyed by language code.
        #[getter]
        fn desc_by_lang(&self) -> indexmap::IndexMap<String, String> {
            self.inner.desc_by_lang.clone()
        }

        /// The display order for sorting in UIs.
        #[getter]
        fn display_order(&self) -> Option<u32> {
            self.inner.display_order
        }

        /// The IDs of mandatory groups in this environment.
        #[getter]
        fn group_ids(&self) -> Vec<String> {
            self.inner.group_ids.clone()
        }

        /// Optional groups that may be selected within this environment.
        #[getter]
        fn option_ids(&self) -> Vec<CompsEnvironmentOption> {
            self.inner
                .option_ids
                .iter()
                .map(|o| CompsEnvironmentOption { inner: o.clone() })
                .collect()
        }

        /// Order this environment's group references, options, and localized strings.
        fn canonicalize(&mut self) {
            self.inner.canonicalize();
        }

        /// Return a plain ``dict`` representation of this environment.
        #[cfg(feature = "serialize")]
        fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
            let value = serde_json::to_value(&self.inner)
                .map_err(|e| MetadataError::new_err(e.to_string()))?;
            json_value_to_py(py, &value)
        }

        /// Return a JSON string representation of this environment.
        #[cfg(feature = "serialize")]
        fn to_json(&self) -> PyResult<String> {
            serde_json::to_string(&self.inner).map_err(|e| MetadataError::new_err(e.to_string()))
        }

        fn __eq__(&self, other: &CompsEnvironment) -> bool {
            self.inner == other.inner
        }

        fn __str__(&self) -> String {
            format!("<CompsEnvironment {}>", self.inner.id)
        }

        fn __repr__(&self) -> String {
            format!("<CompsEnvironment {}>", self.inner.id)
        }
    }

    /// An optional group within a comps environment, with a default selection state.
    #[pyclass]
    struct CompsEnvironmentOption {
        inner: crate::CompsEnvironmentOption,
    }

    #[pymethods]
    impl CompsEnvironmentOption {
        #[new]
        #[pyo3(signature = (group_id="".to_string(), default=false))]
        fn new(group_id: String, default: bool) -> Self {
            Self {
                inner: crate::CompsEnvironmentOption { group_id, default },
            }
        }

        /// Set the group ID of the optional group.
        #[setter]
        fn set_group_id(&mut self, val: String) {
            self.inner.group_id = val;
        }

        /// Set whether this optional group is selected by default.
        #[setter]
        fn set_default(&mut self, val: bool) {
            self.inner.default = val;
        }

        /// The group ID of the optional group.
        #[getter]
        fn group_id(&self) -> &str {
            &self.inner.group_id
        }

        /// Whether this optional group is selected by default.
        #[getter]
        fn default(&self) -> bool {
            self.inner.default
        }

        fn __eq__(&self, other: &CompsEnvironmentOption) -> bool {
            self.inner == other.inner
        }
    }

    /// A langpack mapping from comps.xml.
    #[pyclass]
    struct CompsLangpack {
        inner: crate::CompsLangpack,
    }

    #[pymethods]
    impl CompsLangpack {
        #[new]
        #[pyo3(signature = (name="".to_string(), install="".to_string()))]
        fn new(name: String, install: String) -> Self {
            Self {
                inner: crate::CompsLangpack { name, install },
            }
        }

        /// Set the base package name that triggers langpack installation.
        #[setter]
        fn set_name(&mut self, val: String) {
            self.inner.name = val;
        }

        /// Set the langpack package name pattern to install.
        #[setter]
        fn set_install(&mut self, val: String) {
            self.inner.install = val;
        }

        /// The base package name that triggers langpack installation.
        #[getter]
        fn name(&self) -> &str {
            &self.inner.name
        }

        /// The langpack package name pattern to install.
        #[getter]
        fn install(&self) -> &str {
            &self.inner.install
        }

        /// Return a plain ``dict`` representation of this langpack.
        #[cfg(feature = "serialize")]
        fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
            let value = serde_json::to_value(&self.inner)
                .map_err(|e| MetadataError::new_err(e.to_string()))?;
            json_value_to_py(py, &value)
        }

        /// Return a JSON string representation of this langpack.
        #[cfg(feature = "serialize")]
        fn to_json(&self) -> PyResult<String> {
            serde_json::to_string(&self.inner).map_err(|e| MetadataError::new_err(e.to_string()))
        }

        fn __eq__(&self, other: &CompsLangpack) -> bool {
            self.inner == other.inner
        }
    }

    // ------------- SupportInfo types -----------------

    #[cfg(feature = "supportinfo")]
    /// Parsed V1.0 support info document.
    ///
    /// Use ``SupportInfoV1Data.from_xml(xml_string)`` to parse, and
    /// ``data.to_xml()`` to serialize back to XML.
    #[pyclass]
    struct SupportInfoV1Data {
        inner: crate::SupportInfoData,
    }

    #[cfg(feature = "supportinfo")]
    #[pymethods]
    impl SupportInfoV1Data {
        #[new]
        #[pyo3(signature = (current_as="".to_string()))]
        fn new(current_as: String) -> Self {
            Self {
                inner: crate::SupportInfoData {
                    current_as,
                    ..Default::default()
                },
            }
        }

        /// Parse a V1.0 support_info XML string.
        #[staticmethod]
        fn from_xml(xml: &str) -> PyResult<Self> {
            let reader = crate::utils::create_xml_reader(xml.as_bytes());
            let mut si_reader = crate::SupportInfoXml::new_reader(reader);
            match si_reader.read()? {
                Some(crate::SupportInfo::V1(data)) => Ok(Self { inner: data }),
                None => Err(pyo3::exceptions::PyValueError::new_err(
                    "No support info document found in XML",
                )),
            }
        }

        /// Serialize this V1.0 support info to XML.
        fn to_xml(&self) -> PyResult<String> {
            let mut buf = Vec::new();
            let writer = crate::utils::create_xml_writer(&mut buf);
            let mut w = crate::SupportInfoXml::new_writer(writer);
            w.write_header(&self.inner.current_as)?;
            w.write_support_info(&self.inner)?;
            w.finish()?;
            String::from_utf8(buf)
                .map_err(|e| pyo3::exceptions::PyUnicodeDecodeError::new_err(e.to_string()))
        }

        /// The ``current_as`` attribute identifying the product stream.
        #[getter]
        fn current_as(&self) -> &str {
            &self.inner.current_as
        }

        #[setter]
        fn set_current_as(&mut self, val: String) {
            self.inner.current_as = val;
        }

        /// Named support lifecycles, each containing ordered phases.
        #[getter]
        fn lifecycles(&self) -> Vec<SupportInfoLifecycle> {
            self.inner
                .lifecycles
                .iter()
                .map(|l| SupportInfoLifecycle { inner: l.clone() })
                .collect()
        }

        #[setter]
        fn set_lifecycles(&mut self, py: Python<'_>, val: Vec<Py<SupportInfoLifecycle>>) {
            self.inner.lifecycles = val.iter().map(|l| l.borrow(py).inner.clone()).collect();
        }

        /// Named date milestones that phases can reference.
        #[getter]
        fn milestones(&self) -> Vec<SupportInfoMilestone> {
            self.inner
                .milestones
                .iter()
                .map(|m| SupportInfoMilestone { inner: m.clone() })
                .collect()
        }

        #[setter]
        fn set_milestones(&mut self, py: Python<'_>, val: Vec<Py<SupportInfoMilestone>>) {
            self.inner.milestones = val.iter().map(|m| m.borrow(py).inner.clone()).collect();
        }

        /// Definitions of support levels and their severity scopes.
        #[getter]
        fn support_levels(&self) -> Vec<SupportInfoLevel> {
            self.inner
                .support_levels
                .iter()
                .map(|l| SupportInfoLevel { inner: l.clone() })
                .collect()
        }

        #[setter]
        fn set_support_levels(&mut self, py: Python<'_>, val: Vec<Py<SupportInfoLevel>>) {
            self.inner.support_levels = val.iter().map(|l| l.borrow(py).inner.clone()).collect();
        }

        /// Package-to-lifecycle assignments.
        #[getter]
        fn packages(&self) -> Vec<SupportInfoPackage> {
            self.inner
                .packages
                .iter()
                .map(|p| SupportInfoPackage { inner: p.clone() })
                .collect()
        }

        #[setter]
        fn set_packages(&mut self, py: Python<'_>, val: Vec<Py<SupportInfoPackage>>) {
            self.inner.packages = val.iter().map(|p| p.borrow(py).inner.clone()).collect();
        }

        /// Definitions of package classes.
        #[getter]
        fn package_classes(&self) -> Vec<SupportInfoPackageClass> {
            self.inner
                .package_classes
                .iter()
                .map(|c| SupportInfoPackageClass { inner: c.clone() })
                .collect()
        }

        #[setter]
        fn set_package_classes(&mut self, py: Python<'_>, val: Vec<Py<SupportInfoPackageClass>>) {
            self.inner.package_classes = val.iter().map(|c| c.borrow(py).inner.clone()).collect();
        }

        /// Repository origin definitions for packages.
        #[getter]
        fn package_origins(&self) -> Vec<SupportInfoPackageOrigin> {
            self.inner
                .package_origins
                .iter()
                .map(|o| SupportInfoPackageOrigin { inner: o.clone() })
                .collect()
        }

        #[setter]
        fn set_package_origins(&mut self, py: Python<'_>, val: Vec<Py<SupportInfoPackageOrigin>>) {
            self.inner.package_origins = val.iter().map(|o| o.borrow(py).inner.clone()).collect();
        }

        /// Supplemental named notes.
        #[getter]
        fn notes(&self) -> Vec<SupportInfoNote> {
            self.inner
                .notes
                .iter()
                .map(|n| SupportInfoNote { inner: n.clone() })
                .collect()
        }

        #[setter]
        fn set_notes(&mut self, py: Python<'_>, val: Vec<Py<SupportInfoNote>>) {
            self.inner.notes = val.iter().map(|n| n.borrow(py).inner.clone()).collect();
        }

        fn __eq__(&self, other: &SupportInfoV1Data) -> bool {
            self.inner == other.inner
        }

        fn __str__(&self) -> String {
            format!("<SupportInfoV1Data current_as={}>", self.inner.current_as)
        }

        fn __repr__(&self) -> String {
            format!("<SupportInfoV1Data current_as={}>", self.inner.current_as)
        }
    }

    #[cfg(feature = "supportinfo")]
    /// Parse a support_info XML string, auto-detecting V1.0 format.
    ///
    /// Returns a ``SupportInfoV1Data`` object.
    #[pyfunction]
    fn parse_support_info(py: Python<'_>, xml: &str) -> PyResult<Py<PyAny>> {
        let reader = crate::utils::create_xml_reader(xml.as_bytes());
        let mut si_reader = crate::SupportInfoXml::new_reader(reader);
        match si_reader.read()? {
            Some(crate::SupportInfo::V1(data)) => Ok(SupportInfoV1Data { inner: data }
                .into_pyobject(py)?
                .into_any()
                .unbind()),
            None => Err(pyo3::exceptions::PyValueError::new_err(
                "No support info document found in XML",
            )),
        }
    }

    #[cfg(feature = "supportinfo")]
    /// A named support lifecycle containing one or more phases.
    #[pyclass]
    struct SupportInfoLifecycle {
        inner: crate::SupportInfoLifecycle,
    }

    #[cfg(feature = "supportinfo")]
    #[pymethods]
    impl SupportInfoLifecycle {
        #[new]
        #[pyo3(signature = (name="".to_string(), note=None, display_name=None, description=None))]
        fn new(
            name: String,
            note: Option<String>,
            display_name: Option<String>,
            description: Option<String>,
        ) -> Self {
            Self {
                inner: crate::SupportInfoLifecycle {
                    name,
                    note,
                    display_name,
                    description,
                    phases: Vec::new(),
                },
            }
        }

        /// Unique identifier for this lifecycle.
        #[getter]
        fn name(&self) -> &str {
            &self.inner.name
        }

        #[setter]
        fn set_name(&mut self, val: String) {
            self.inner.name = val;
        }

        /// Reference to a named note providing additional context.
        #[getter]
        fn note(&self) -> Option<&str> {
            self.inner.note.as_deref()
        }

        #[setter]
        fn set_note(&mut self, val: Option<String>) {
            self.inner.note = val;
        }

        /// Human-readable display name.
        #[getter]
        fn display_name(&self) -> Option<&str> {
            self.inner.display_name.as_deref()
        }

        #[setter]
        fn set_display_name(&mut self, val: Option<String>) {
            self.inner.display_name = val;
        }

        /// Longer description of this lifecycle.
        #[getter]
        fn description(&self) -> Option<&str> {
            self.inner.description.as_deref()
        }

        #[setter]
        fn set_description(&mut self, val: Option<String>) {
            self.inner.description = val;
        }

        /// Ordered phases within this lifecycle.
        #[getter]
        fn phases(&self) -> Vec<SupportInfoPhase> {
            self.inner
                .phases
                .iter()
                .map(|p| SupportInfoPhase { inner: p.clone() })
                .collect()
        }

        #[setter]
        fn set_phases(&mut self, py: Python<'_>, val: Vec<Py<SupportInfoPhase>>) {
            self.inner.phases = val.iter().map(|p| p.borrow(py).inner.clone()).collect();
        }

        fn __eq__(&self, other: &SupportInfoLifecycle) -> bool {
            self.inner == other.inner
        }

        fn __str__(&self) -> String {
            format!("<SupportInfoLifecycle {}>", self.inner.name)
        }

        fn __repr__(&self) -> String {
            format!("<SupportInfoLifecycle {}>", self.inner.name)
        }
    }

    #[cfg(feature = "supportinfo")]
    /// A phase within a lifecycle.
    #[pyclass]
    struct SupportInfoPhase {
        inner: crate::SupportInfoPhase,
    }

    #[cfg(feature = "supportinfo")]
    #[pymethods]
    impl SupportInfoPhase {
        #[new]
        #[pyo3(signature = (name="".to_string(), support_level="".to_string(), start_date=None, start_milestone=None, display_name=None))]
        fn new(
            name: String,
            support_level: String,
            start_date: Option<String>,
            start_milestone: Option<String>,
            display_name: Option<String>,
        ) -> Self {
            Self {
                inner: crate::SupportInfoPhase {
                    name,
                    support_level,
                    start_date,
                    start_milestone,
                    display_name,
                },
            }
        }

        /// Phase name.
        #[getter]
        fn name(&self) -> &str {
            &self.inner.name
        }

        #[setter]
        fn set_name(&mut self, val: String) {
            self.inner.name = val;
        }

        /// Name of the support level that applies during this phase.
        #[getter]
        fn support_level(&self) -> &str {
            &self.inner.support_level
        }

        #[setter]
        fn set_support_level(&mut self, val: String) {
            self.inner.support_level = val;
        }

        /// Fixed start date (ISO 8601), mutually exclusive with ``start_milestone``.
        #[getter]
        fn start_date(&self) -> Option<&str> {
            self.inner.start_date.as_deref()
        }

        #[setter]
        fn set_start_date(&mut self, val: Option<String>) {
            self.inner.start_date = val;
        }

        /// Name of a milestone whose date determines when this phase starts.
        #[getter]
        fn start_milestone(&self) -> Option<&str> {
            self.inner.start_milestone.as_deref()
        }

        #[setter]
        fn set_start_milestone(&mut self, val: Option<String>) {
            self.inner.start_milestone = val;
        }

        /// Human-readable display name.
        #[getter]
        fn display_name(&self) -> Option<&str> {
            self.inner.display_name.as_deref()
        }

        #[setter]
        fn set_display_name(&mut self, val: Option<String>) {
            self.inner.display_name = val;
        }

        fn __eq__(&self, other: &SupportInfoPhase) -> bool {
            self.inner == other.inner
        }
    }

    #[cfg(feature = "supportinfo")]
    /// A named date that can be referenced by lifecycle phases.
    #[pyclass]
    struct SupportInfoMilestone {
        inner: crate::SupportInfoMilestone,
    }

    #[cfg(feature = "supportinfo")]
    #[pymethods]
    impl SupportInfoMilestone {
        #[new]
        #[pyo3(signature = (name="".to_string(), date="".to_string(), display_name=None, description=None))]
        fn new(
            name: String,
            date: String,
            display_name: Option<String>,
            description: Option<String>,
        ) -> Self {
            Self {
                inner: crate::SupportInfoMilestone {
                    name,
                    date,
                    display_name,
                    description,
                },
            }
        }

        /// Unique identifier for this milestone.
        #[getter]
        fn name(&self) -> &str {
            &self.inner.name
        }

        #[setter]
        fn set_name(&mut self, val: String) {
            self.inner.name = val;
        }

        /// The date of the milestone (ISO 8601).
        #[getter]
        fn date(&self) -> &str {
            &self.inner.date
        }

        #[setter]
        fn set_date(&mut self, val: String) {
            self.inner.date = val;
        }

        /// Human-readable display name.
        #[getter]
        fn display_name(&self) -> Option<&str> {
            self.inner.display_name.as_deref()
        }

        #[setter]
        fn set_display_name(&mut self, val: Option<String>) {
            self.inner.display_name = val;
        }

        /// Longer description of this milestone.
        #[getter]
        fn description(&self) -> Option<&str> {
            self.inner.description.as_deref()
        }

        #[setter]
        fn set_description(&mut self, val: Option<String>) {
            self.inner.description = val;
        }

        fn __eq__(&self, other: &SupportInfoMilestone) -> bool {
            self.inner == other.inner
        }
    }

    #[cfg(feature = "supportinfo")]
    /// Defines the scope of support offered during a phase.
    #[pyclass]
    struct SupportInfoLevel {
        inner: crate::SupportInfoLevel,
    }

    #[cfg(feature = "supportinfo")]
    #[pymethods]
    impl SupportInfoLevel {
        #[new]
        #[pyo3(signature = (name="".to_string(), severities="".to_string(), description=None, display_name=None))]
        fn new(
            name: String,
            severities: String,
            description: Option<String>,
            display_name: Option<String>,
        ) -> Self {
            Self {
                inner: crate::SupportInfoLevel {
                    name,
                    severities,
                    description,
                    display_name,
                },
            }
        }

        /// Unique identifier for this support level.
        #[getter]
        fn name(&self) -> &str {
            &self.inner.name
        }

        #[setter]
        fn set_name(&mut self, val: String) {
            self.inner.name = val;
        }

        /// Comma-separated severity levels addressed at this support level.
        #[getter]
        fn severities(&self) -> &str {
            &self.inner.severities
        }

        #[setter]
        fn set_severities(&mut self, val: String) {
            self.inner.severities = val;
        }

        /// Longer description of what this support level covers.
        #[getter]
        fn description(&self) -> Option<&str> {
            self.inner.description.as_deref()
        }

        #[setter]
        fn set_description(&mut self, val: Option<String>) {
            self.inner.description = val;
        }

        /// Human-readable display name.
        #[getter]
        fn display_name(&self) -> Option<&str> {
            self.inner.display_name.as_deref()
        }

        #[setter]
        fn set_display_name(&mut self, val: Option<String>) {
            self.inner.display_name = val;
        }

        fn __eq__(&self, other: &SupportInfoLevel) -> bool {
            self.inner == other.inner
        }
    }

    #[cfg(feature = "supportinfo")]
    /// Associates a package with a lifecycle, origin, and optional class.
    #[pyclass]
    struct SupportInfoPackage {
        inner: crate::SupportInfoPackage,
    }

    #[cfg(feature = "supportinfo")]
    #[pymethods]
    impl SupportInfoPackage {
        #[new]
        #[pyo3(signature = (name="".to_string(), lifecycle="".to_string(), origin="".to_string(), package_class=None))]
        fn new(
            name: String,
            lifecycle: String,
            origin: String,
            package_class: Option<String>,
        ) -> Self {
            Self {
                inner: crate::SupportInfoPackage {
                    name,
                    lifecycle,
                    origin,
                    package_class,
                },
            }
        }

        /// RPM package name.
        #[getter]
        fn name(&self) -> &str {
            &self.inner.name
        }

        #[setter]
        fn set_name(&mut self, val: String) {
            self.inner.name = val;
        }

        /// Name of the lifecycle this package follows.
        #[getter]
        fn lifecycle(&self) -> &str {
            &self.inner.lifecycle
        }

        #[setter]
        fn set_lifecycle(&mut self, val: String) {
            self.inner.lifecycle = val;
        }

        /// Name of the package origin this package comes from.
        #[getter]
        fn origin(&self) -> &str {
            &self.inner.origin
        }

        #[setter]
        fn set_origin(&mut self, val: String) {
            self.inner.origin = val;
        }

        /// Optional package class categorization.
        #[getter]
        fn package_class(&self) -> Option<&str> {
            self.inner.package_class.as_deref()
        }

        #[setter]
        fn set_package_class(&mut self, val: Option<String>) {
            self.inner.package_class = val;
        }

        fn __eq__(&self, other: &SupportInfoPackage) -> bool {
            self.inner == other.inner
        }
    }

    #[cfg(feature = "supportinfo")]
    /// Classifies packages by intended use.
    #[pyclass]
    struct SupportInfoPackageClass {
        inner: crate::SupportInfoPackageClass,
    }

    #[cfg(feature = "supportinfo")]
    #[pymethods]
    impl SupportInfoPackageClass {
        #[new]
        #[pyo3(signature = (name="".to_string(), summary="".to_string(), text="".to_string()))]
        fn new(name: String, summary: String, text: String) -> Self {
            Self {
                inner: crate::SupportInfoPackageClass {
                    name,
                    summary,
                    text,
                },
            }
        }

        /// Unique identifier for this class.
        #[getter]
        fn name(&self) -> &str {
            &self.inner.name
        }

        #[setter]
        fn set_name(&mut self, val: String) {
            self.inner.name = val;
        }

        /// Short summary of what this class represents.
        #[getter]
        fn summary(&self) -> &str {
            &self.inner.summary
        }

        #[setter]
        fn set_summary(&mut self, val: String) {
            self.inner.summary = val;
        }

        /// Longer descriptive text about this package class.
        #[getter]
        fn text(&self) -> &str {
            &self.inner.text
        }

        #[setter]
        fn set_text(&mut self, val: String) {
            self.inner.text = val;
        }

        fn __eq__(&self, other: &SupportInfoPackageClass) -> bool {
            self.inner == other.inner
        }
    }

    #[cfg(feature = "supportinfo")]
    /// Repository and distribution information for packages.
    #[pyclass]
    struct SupportInfoPackageOrigin {
        inner: crate::SupportInfoPackageOrigin,
    }

    #[cfg(feature = "supportinfo")]
    #[pymethods]
    impl SupportInfoPackageOrigin {
        #[new]
        #[pyo3(signature = (name="".to_string(), repo_id="".to_string(), dist="".to_string(), vendor="".to_string(), signing_key=None, display_name=None, description=None))]
        fn new(
            name: String,
            repo_id: String,
            dist: String,
            vendor: String,
            signing_key: Option<String>,
            display_name: Option<String>,
            description: Option<String>,
        ) -> Self {
            Self {
                inner: crate::SupportInfoPackageOrigin {
                    name,
                    repo_id,
                    dist,
                    vendor,
                    signing_key,
                    display_name,
                    description,
                },
            }
        }

        /// Unique identifier for this origin.
        #[getter]
        fn name(&self) -> &str {
            &self.inner.name
        }

        #[setter]
        fn set_name(&mut self, val: String) {
            self.inner.name = val;
        }

        /// Repository ID where the packages are published.
        #[getter]
        fn repo_id(&self) -> &str {
            &self.inner.repo_id
        }

        #[setter]
        fn set_repo_id(&mut self, val: String) {
            self.inner.repo_id = val;
        }

        /// Distribution name.
        #[getter]
        fn dist(&self) -> &str {
            &self.inner.dist
        }

        #[setter]
        fn set_dist(&mut self, val: String) {
            self.inner.dist = val;
        }

        /// Vendor name.
        #[getter]
        fn vendor(&self) -> &str {
            &self.inner.vendor
        }

        #[setter]
        fn set_vendor(&mut self, val: String) {
            self.inner.vendor = val;
        }

        /// GPG signing key fingerprint.
        #[getter]
        fn signing_key(&self) -> Option<&str> {
            self.inner.signing_key.as_deref()
        }

        #[setter]
        fn set_signing_key(&mut self, val: Option<String>) {
            self.inner.signing_key = val;
        }

        /// Human-readable display name.
        #[getter]
        fn display_name(&self) -> Option<&str> {
            self.inner.display_name.as_deref()
        }

        #[setter]
        fn set_display_name(&mut self, val: Option<String>) {
            self.inner.display_name = val;
        }

        /// Longer description of this origin.
        #[getter]
        fn description(&self) -> Option<&str> {
            self.inner.description.as_deref()
        }

        #[setter]
        fn set_description(&mut self, val: Option<String>) {
            self.inner.description = val;
        }

        fn __eq__(&self, other: &SupportInfoPackageOrigin) -> bool {
            self.inner == other.inner
        }
    }

    #[cfg(feature = "supportinfo")]
    /// Supplemental text referenced by lifecycle or package elements.
    #[pyclass]
    struct SupportInfoNote {
        inner: crate::SupportInfoNote,
    }

    #[cfg(feature = "supportinfo")]
    #[pymethods]
    impl SupportInfoNote {
        #[new]
        #[pyo3(signature = (name="".to_string(), content="".to_string()))]
        fn new(name: String, content: String) -> Self {
            Self {
                inner: crate::SupportInfoNote { name, content },
            }
        }

        /// Unique identifier for this note.
        #[getter]
        fn name(&self) -> &str {
            &self.inner.name
        }

        #[setter]
        fn set_name(&mut self, val: String) {
            self.inner.name = val;
        }

        /// The text content of the note.
        #[getter]
        fn content(&self) -> &str {
            &self.inner.content
        }

        #[setter]
        fn set_content(&mut self, val: String) {
            self.inner.content = val;
        }

        fn __eq__(&self, other: &SupportInfoNote) -> bool {
            self.inner == other.inner
        }
    }

    /// String constants for the known comps package requirement types.
    ///
    /// Compare directly against `CompsPackageReq.reqtype`:
    ///
    /// ```text
    /// if pkg.reqtype == PackageReqType.MANDATORY:
    ///     ...
    /// ```
    #[pyclass(frozen)]
    struct PackageReqType;

    #[pymethods]
    impl PackageReqType {
        /// Installed by default but can be deselected.
        #[classattr]
        const DEFAULT: &'static str = "default";
        /// Always installed, cannot be deselected.
        #[classattr]
        const MANDATORY: &'static str = "mandatory";
        /// Available but not installed by default.
        #[classattr]
        const OPTIONAL: &'static str = "optional";
        /// Installed only when a specific language package is present.
        #[classattr]
        const CONDITIONAL: &'static str = "conditional";
    }

    /// Checksum algorithm used for package and metadata file verification.
    #[pyclass(eq, eq_int, from_py_object)]
    #[derive(Clone, PartialEq)]
    enum ChecksumType {
        Md5,
        Sha1,
        Sha224,
        Sha256,
        Sha384,
        Sha512,
    }

    impl From<ChecksumType> for crate::ChecksumType {
        fn from(val: ChecksumType) -> Self {
            match val {
                ChecksumType::Md5 => crate::ChecksumType::Md5,
                ChecksumType::Sha1 => crate::ChecksumType::Sha1,
                ChecksumType::Sha224 => crate::ChecksumType::Sha224,
                ChecksumType::Sha256 => crate::ChecksumType::Sha256,
                ChecksumType::Sha384 => crate::ChecksumType::Sha384,
                ChecksumType::Sha512 => crate::ChecksumType::Sha512,
            }
        }
    }
}
