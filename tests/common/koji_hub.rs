//! A Koji hub for tests: an XML-RPC server with the semantics observed on a real hub
//! (`spec/koji.md`): events, tags with inheritance by priority, latest = most recently tagged
//! build of a package, the first tag in inheritance order with a build of a package wins,
//! blocked packages hide inherited builds, untagging, a query before a tag existed is a fault,
//! multicall, keyword arguments through `__starstar`, faults inside HTTP 200.
//! The real `koji` CLI is run against it in tests/koji to prove the wire format.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use composed::koji::xmlrpc::{self, Fault, Value};

#[derive(Debug, Clone)]
struct TagRow {
    id: i64,
    name: String,
    arches: String,
    create_event: i64,
}

#[derive(Debug, Clone)]
struct Versioned<T> {
    row: T,
    create_event: i64,
    revoke_event: Option<i64>,
}

impl<T> Versioned<T> {
    fn active_at(&self, event: i64) -> bool {
        self.create_event <= event && self.revoke_event.is_none_or(|r| r > event)
    }
}

#[derive(Debug, Clone, PartialEq)]
struct InheritanceRow {
    child_id: i64,
    parent_id: i64,
    priority: i64,
}

#[derive(Debug, Clone, PartialEq)]
struct PackageRow {
    tag_id: i64,
    package: String,
    blocked: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct ListingRow {
    tag_id: i64,
    build_id: i64,
}

#[derive(Debug, Clone)]
pub struct BuildRow {
    pub id: i64,
    pub name: String,
    pub version: String,
    pub release: String,
    pub epoch: Option<i64>,
    pub volume: String,
    pub create_event: i64,
    pub extra: Value,
}

impl BuildRow {
    pub fn nvr(&self) -> String {
        format!("{}-{}-{}", self.name, self.version, self.release)
    }
}

#[derive(Debug, Clone)]
pub struct RpmRow {
    pub id: i64,
    pub build_id: i64,
    pub name: String,
    pub version: String,
    pub release: String,
    pub epoch: Option<i64>,
    pub arch: String,
    pub size: i64,
    pub payloadhash: String,
    pub sigkeys: Vec<String>,
}

/// The hub's database.
#[derive(Debug, Default)]
pub struct HubData {
    events: Vec<f64>,
    tags: Vec<TagRow>,
    inheritance: Vec<Versioned<InheritanceRow>>,
    packages: Vec<Versioned<PackageRow>>,
    listings: Vec<Versioned<ListingRow>>,
    pub builds: Vec<BuildRow>,
    pub rpms: Vec<RpmRow>,
    /// Calls received (method names), for tests.
    pub calls: Vec<String>,
}

fn fault(message: impl Into<String>) -> Fault {
    Fault {
        code: 1000,
        message: message.into(),
    }
}

fn param_error(message: impl Into<String>) -> Fault {
    Fault {
        code: 1019,
        message: message.into(),
    }
}

type R = Result<Value, Fault>;

impl HubData {
    /// Records a new event and returns its id.
    pub fn new_event(&mut self) -> i64 {
        let base = 1_795_294_500.0;
        self.events.push(base + self.events.len() as f64 * 0.5);
        self.events.len() as i64
    }

    pub fn last_event(&self) -> i64 {
        self.events.len() as i64
    }

    pub fn create_tag(&mut self, name: &str, arches: &str) -> i64 {
        let e = self.new_event();
        let id = self.tags.len() as i64 + 1;
        self.tags.push(TagRow {
            id,
            name: name.into(),
            arches: arches.into(),
            create_event: e,
        });
        id
    }

    fn tag_id(&self, name: &str) -> i64 {
        self.tags
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no tag {name}"))
            .id
    }

    pub fn add_inheritance(&mut self, child: &str, parent: &str, priority: i64) -> i64 {
        let row = InheritanceRow {
            child_id: self.tag_id(child),
            parent_id: self.tag_id(parent),
            priority,
        };
        let e = self.new_event();
        self.inheritance.push(Versioned {
            row,
            create_event: e,
            revoke_event: None,
        });
        e
    }

    pub fn remove_inheritance(&mut self, child: &str, parent: &str) -> i64 {
        let (c, p) = (self.tag_id(child), self.tag_id(parent));
        let e = self.new_event();
        for v in self
            .inheritance
            .iter_mut()
            .filter(|v| v.row.child_id == c && v.row.parent_id == p && v.revoke_event.is_none())
        {
            v.revoke_event = Some(e);
        }
        e
    }

    fn set_package(&mut self, tag: &str, package: &str, blocked: bool) -> i64 {
        let tag_id = self.tag_id(tag);
        let e = self.new_event();
        for v in self.packages.iter_mut().filter(|v| {
            v.row.tag_id == tag_id && v.row.package == package && v.revoke_event.is_none()
        }) {
            v.revoke_event = Some(e);
        }
        self.packages.push(Versioned {
            row: PackageRow {
                tag_id,
                package: package.into(),
                blocked,
            },
            create_event: e,
            revoke_event: None,
        });
        e
    }

    pub fn add_package(&mut self, tag: &str, package: &str) -> i64 {
        self.set_package(tag, package, false)
    }

    pub fn block_package(&mut self, tag: &str, package: &str) -> i64 {
        self.set_package(tag, package, true)
    }

    /// Imports a build (one event); `rpms` are (name, arch) pairs with the build's V-R.
    pub fn import_build(&mut self, nvr: &str, epoch: Option<i64>, rpms: &[(&str, &str)]) -> i64 {
        let (name, version, release) = split_nvr(nvr).unwrap_or_else(|| panic!("bad NVR {nvr}"));
        let e = self.new_event();
        let id = self.builds.len() as i64 + 1;
        self.builds.push(BuildRow {
            id,
            name,
            version: version.clone(),
            release: release.clone(),
            epoch,
            volume: "DEFAULT".into(),
            create_event: e,
            extra: Value::Nil,
        });
        for (rname, arch) in rpms {
            let rid = self.rpms.len() as i64 + 1;
            self.rpms.push(RpmRow {
                id: rid,
                build_id: id,
                name: rname.to_string(),
                version: version.clone(),
                release: release.clone(),
                epoch,
                arch: arch.to_string(),
                size: 1000 + rid,
                payloadhash: format!("{:032x}", rid * 7919),
                sigkeys: vec![],
            });
        }
        id
    }

    /// Imports a module build as MBS's content generator does (`../shared/spec/mbs.md` §4):
    /// btype module, NVR `N-<S with - as _>-V.C`, `extra.typeinfo.module` holding the NSVC,
    /// the modulemd text and the content tag. No RPMs of its own: they are the RPM builds
    /// tagged into `content_tag`.
    pub fn import_module_build(&mut self, nsvc: &str, modulemd: &str, content_tag: &str) -> i64 {
        let parts: Vec<&str> = nsvc.split(':').collect();
        let [name, stream, version, context] = parts[..] else {
            panic!("bad NSVC {nsvc}");
        };
        let e = self.new_event();
        let id = self.builds.len() as i64 + 1;
        let module = Value::structure([
            ("name", Value::String(name.into())),
            ("stream", Value::String(stream.into())),
            ("version", Value::String(version.into())),
            ("context", Value::String(context.into())),
            ("modulemd_str", Value::String(modulemd.into())),
            ("content_koji_tag", Value::String(content_tag.into())),
            ("module_build_service_id", Value::Int(id)),
        ]);
        self.builds.push(BuildRow {
            id,
            name: name.into(),
            version: stream.replace('-', "_"),
            release: format!("{version}.{context}"),
            epoch: None,
            volume: "DEFAULT".into(),
            create_event: e,
            extra: Value::structure([("typeinfo", Value::structure([("module", module)]))]),
        });
        id
    }

    fn is_module(b: &BuildRow) -> bool {
        b.extra.get("typeinfo").get("module").as_struct().is_some()
    }

    /// Records a signature (no event, as on a real hub).
    pub fn add_signature(&mut self, build_nvr: &str, sigkey: &str) {
        let build_id = self.build_by_nvr(build_nvr).expect("build").id;
        for r in self.rpms.iter_mut().filter(|r| r.build_id == build_id) {
            r.sigkeys.push(sigkey.to_ascii_lowercase());
        }
    }

    pub fn build_by_nvr(&self, nvr: &str) -> Option<&BuildRow> {
        self.builds.iter().find(|b| b.nvr() == nvr)
    }

    pub fn tag_build(&mut self, tag: &str, nvr: &str) -> i64 {
        let tag_id = self.tag_id(tag);
        let build_id = self
            .build_by_nvr(nvr)
            .unwrap_or_else(|| panic!("no build {nvr}"))
            .id;
        let e = self.new_event();
        self.listings.push(Versioned {
            row: ListingRow { tag_id, build_id },
            create_event: e,
            revoke_event: None,
        });
        e
    }

    pub fn untag_build(&mut self, tag: &str, nvr: &str) -> i64 {
        let tag_id = self.tag_id(tag);
        let build_id = self.build_by_nvr(nvr).expect("build").id;
        let e = self.new_event();
        for v in self.listings.iter_mut().filter(|v| {
            v.row.tag_id == tag_id && v.row.build_id == build_id && v.revoke_event.is_none()
        }) {
            v.revoke_event = Some(e);
        }
        e
    }

    fn find_tag(&self, info: &Value, event: i64) -> Option<&TagRow> {
        let t = match info {
            Value::Int(id) => self.tags.iter().find(|t| t.id == *id),
            Value::String(name) => self.tags.iter().find(|t| &t.name == name),
            _ => None,
        }?;
        (t.create_event <= event).then_some(t)
    }

    fn tag_value(&self, t: &TagRow, query_event: Option<i64>) -> Value {
        let mut m: BTreeMap<String, Value> = [
            ("id", Value::Int(t.id)),
            ("name", Value::String(t.name.clone())),
            (
                "arches",
                if t.arches.is_empty() {
                    Value::Nil
                } else {
                    Value::String(t.arches.clone())
                },
            ),
            ("extra", Value::Struct(BTreeMap::new())),
            ("locked", Value::Bool(false)),
            ("maven_include_all", Value::Bool(false)),
            ("maven_support", Value::Bool(false)),
            ("perm", Value::Nil),
            ("perm_id", Value::Nil),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        if let Some(e) = query_event {
            m.insert("query_event".into(), Value::Int(e));
        }
        Value::Struct(m)
    }

    /// Ancestors in inheritance order (depth first by priority), with their depth.
    fn full_inheritance(&self, tag_id: i64, event: i64) -> Vec<(InheritanceRow, i64)> {
        let mut out = Vec::new();
        let mut seen = HashSet::from([tag_id]);
        self.walk(tag_id, event, 1, &mut seen, &mut out);
        out
    }

    fn walk(
        &self,
        tag_id: i64,
        event: i64,
        depth: i64,
        seen: &mut HashSet<i64>,
        out: &mut Vec<(InheritanceRow, i64)>,
    ) {
        let mut parents: Vec<&InheritanceRow> = self
            .inheritance
            .iter()
            .filter(|v| v.active_at(event) && v.row.child_id == tag_id)
            .map(|v| &v.row)
            .collect();
        parents.sort_by_key(|p| (p.priority, p.parent_id));
        for p in parents {
            if !seen.insert(p.parent_id) {
                continue;
            }
            out.push((p.clone(), depth));
            self.walk(p.parent_id, event, depth + 1, seen, out);
        }
    }

    fn build_value(&self, b: &BuildRow) -> BTreeMap<String, Value> {
        [
            ("build_id", Value::Int(b.id)),
            ("id", Value::Int(b.id)),
            ("name", Value::String(b.name.clone())),
            ("package_name", Value::String(b.name.clone())),
            ("package_id", Value::Int(b.id)),
            ("version", Value::String(b.version.clone())),
            ("release", Value::String(b.release.clone())),
            ("epoch", b.epoch.map(Value::Int).unwrap_or(Value::Nil)),
            ("nvr", Value::String(b.nvr())),
            ("state", Value::Int(1)),
            ("draft", Value::Bool(false)),
            ("creation_event_id", Value::Int(b.create_event)),
            (
                "creation_time",
                Value::String("2026-11-21 20:56:17.939984+00:00".into()),
            ),
            (
                "completion_time",
                Value::String("2026-11-21 20:56:17.939984+00:00".into()),
            ),
            (
                "start_time",
                Value::String("2026-11-21 20:56:17.939984+00:00".into()),
            ),
            ("owner_id", Value::Int(1)),
            ("owner_name", Value::String("kojiadmin".into())),
            ("task_id", Value::Nil),
            ("volume_id", Value::Int(0)),
            ("volume_name", Value::String(b.volume.clone())),
            ("extra", b.extra.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    fn rpm_value(&self, r: &RpmRow) -> BTreeMap<String, Value> {
        [
            ("id", Value::Int(r.id)),
            ("build_id", Value::Int(r.build_id)),
            ("name", Value::String(r.name.clone())),
            ("version", Value::String(r.version.clone())),
            ("release", Value::String(r.release.clone())),
            ("epoch", r.epoch.map(Value::Int).unwrap_or(Value::Nil)),
            ("arch", Value::String(r.arch.clone())),
            ("size", Value::Int(r.size)),
            ("buildtime", Value::Int(1_795_294_536)),
            ("payloadhash", Value::String(r.payloadhash.clone())),
            ("buildroot_id", Value::Nil),
            ("draft", Value::Bool(false)),
            ("metadata_only", Value::Bool(false)),
            ("extra", Value::Nil),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The builds `listTagged` selects: (build, tag supplying it, tagging event).
    fn tagged(
        &self,
        tag: &TagRow,
        event: i64,
        inherit: bool,
        latest: bool,
        package: Option<&str>,
    ) -> Vec<(BuildRow, TagRow, i64)> {
        let mut order = vec![tag.id];
        if inherit {
            order.extend(
                self.full_inheritance(tag.id, event)
                    .into_iter()
                    .map(|(r, _)| r.parent_id),
            );
        }
        // Package configuration: the first tag in inheritance order with an entry decides.
        let mut config: std::collections::HashMap<&str, (usize, bool)> =
            std::collections::HashMap::new();
        for v in self.packages.iter().filter(|v| v.active_at(event)) {
            if let Some(rank) = order.iter().position(|t| *t == v.row.tag_id) {
                let e = config
                    .entry(v.row.package.as_str())
                    .or_insert((rank, v.row.blocked));
                if rank < e.0 {
                    *e = (rank, v.row.blocked);
                }
            }
        }
        let blocked = |pkg: &str| -> bool { config.get(pkg).is_some_and(|(_, b)| *b) };
        let mut out: Vec<(BuildRow, TagRow, i64, i64)> = Vec::new();
        let mut decided: HashSet<String> = HashSet::new();
        for tid in &order {
            let t = self
                .tags
                .iter()
                .find(|t| t.id == *tid)
                .expect("tag")
                .clone();
            let mut here: Vec<(BuildRow, i64, usize)> = self
                .listings
                .iter()
                .enumerate()
                .filter(|(_, v)| v.active_at(event) && v.row.tag_id == *tid)
                .map(|(i, v)| {
                    (
                        self.builds[(v.row.build_id - 1) as usize].clone(),
                        v.create_event,
                        i,
                    )
                })
                .filter(|(b, _, _)| package.is_none_or(|p| b.name == p))
                .filter(|(b, _, _)| !blocked(&b.name))
                .collect();
            // Most recently tagged first.
            here.sort_by_key(|x| std::cmp::Reverse((x.1, x.2)));
            let mut names_here = HashSet::new();
            for (b, e, i) in here {
                if latest && (decided.contains(&b.name) || !names_here.insert(b.name.clone())) {
                    continue;
                }
                out.push((b, t.clone(), e, i as i64));
            }
            decided.extend(names_here);
        }
        out.sort_by_key(|x| std::cmp::Reverse((x.2, x.3)));
        out.into_iter().map(|(b, t, e, _)| (b, t, e)).collect()
    }

    fn resolve_event(&self, kwargs: &BTreeMap<String, Value>) -> Result<i64, Fault> {
        match kwargs.get("event") {
            None | Some(Value::Nil) => Ok(self.last_event()),
            Some(Value::Int(e)) if *e >= 0 => Ok(*e),
            Some(other) => Err(fault(format!("Invalid event: {}", py_repr(other)))),
        }
    }

    fn get_build(&self, info: &Value) -> Result<Option<&BuildRow>, Fault> {
        Ok(match info {
            Value::Int(id) => self.builds.iter().find(|b| b.id == *id),
            Value::String(s) => {
                if split_nvr(s).is_none() {
                    return Err(fault(format!("invalid format: {s}")));
                }
                self.build_by_nvr(s)
            }
            Value::Struct(m) => {
                let g = |k: &str| {
                    m.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                let nvr = format!("{}-{}-{}", g("name"), g("version"), g("release"));
                self.build_by_nvr(&nvr)
            }
            _ => {
                return Err(param_error(format!(
                    "Invalid name or id value: {}",
                    py_repr(info)
                )));
            }
        })
    }

    /// Dispatches one call.
    pub fn dispatch(&mut self, method: &str, params: Vec<Value>) -> R {
        self.calls.push(method.to_string());
        if method == "system.multicall" || method == "multiCall" {
            let calls = params
                .first()
                .and_then(Value::as_array)
                .map(<[Value]>::to_vec)
                .unwrap_or_default();
            let mut results = Vec::new();
            for c in calls {
                let m = c.get("methodName").as_str().unwrap_or_default().to_string();
                let p = c
                    .get("params")
                    .as_array()
                    .map(<[Value]>::to_vec)
                    .unwrap_or_default();
                results.push(match self.dispatch(&m, p) {
                    Ok(v) => Value::Array(vec![v]),
                    Err(f) => Value::structure([
                        ("faultCode", Value::Int(f.code)),
                        ("faultString", Value::String(f.message)),
                        (
                            "traceback",
                            Value::Array(vec![Value::String(
                                "Traceback (most recent call last):\n".into(),
                            )]),
                        ),
                    ]),
                });
            }
            return Ok(Value::Array(results));
        }
        let (args, kwargs) = xmlrpc::split_kwargs(params);
        let spec: &[&str] = match method {
            "getAPIVersion" | "getKojiVersion" => &[],
            "getLastEvent" => &["before", "strict"],
            "getEvent" => &["id", "strict"],
            "getTag" => &["tagInfo", "strict", "event", "blocked"],
            "getFullInheritance" => &["tag", "event", "reverse"],
            "getInheritanceData" => &["tag", "event"],
            "listTagged" => &[
                "tag", "event", "inherit", "prefix", "latest", "package", "owner", "type",
                "strict", "extra", "draft",
            ],
            "listTaggedRPMS" => &[
                "tag", "event", "inherit", "latest", "package", "arch", "rpmsigs", "owner", "type",
                "strict", "extra", "draft",
            ],
            "getBuild" => &["buildInfo", "strict"],
            "search" => &["terms", "type", "matchType", "queryOpts"],
            "listRPMs" => &[
                "buildID",
                "buildrootID",
                "imageID",
                "componentBuildrootID",
                "hostID",
                "arches",
                "queryOpts",
                "draft",
            ],
            "queryRPMSigs" => &["rpm_id", "sigkey", "queryOpts"],
            "tagChangedSinceEvent" => &["event", "taglist"],
            "listTags" => &["build", "package", "perms", "queryOpts", "pattern"],
            "getBuildType" => &["buildInfo", "strict"],
            "listArchives" => &[
                "buildID",
                "buildrootID",
                "componentBuildrootID",
                "hostID",
                "type",
                "filename",
                "size",
                "checksum",
                "checksum_type",
                "typeInfo",
                "queryOpts",
                "imageID",
                "archiveID",
                "strict",
            ],
            "getTaskInfo" => &["task_id", "request", "strict"],
            "getUser" => &["userInfo", "strict", "krb_princs", "groups"],
            "getMavenBuild" | "getWinBuild" => &["buildInfo", "strict"],
            "hello" => &[],
            _ => return Err(fault(format!("Invalid method: {method}"))),
        };
        if args.len() > spec.len() {
            return Err(param_error(format!(
                "RootExports.{method}() takes {} positional arguments but {} were given",
                spec.len(),
                args.len()
            )));
        }
        let mut a: BTreeMap<String, Value> = BTreeMap::new();
        for (name, v) in spec.iter().zip(args) {
            a.insert(name.to_string(), v);
        }
        for (k, v) in kwargs {
            if !spec.contains(&k.as_str()) {
                return Err(param_error(format!(
                    "RootExports.{method}() got an unexpected keyword argument '{k}'"
                )));
            }
            if a.insert(k.clone(), v).is_some() {
                return Err(param_error(format!(
                    "RootExports.{method}() got multiple values for argument '{k}'"
                )));
            }
        }
        let get = |k: &str| a.get(k).cloned().unwrap_or(Value::Nil);
        let flag = |k: &str, default: bool| match a.get(k) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Int(i)) => *i != 0,
            Some(Value::Nil) | None => default,
            Some(_) => true,
        };
        match method {
            "getAPIVersion" => Ok(Value::Int(1)),
            "getKojiVersion" => Ok(Value::String("1.35.3".into())),
            "hello" => Ok(Value::String("Hello World".into())),
            "getLastEvent" => {
                let mut id = self.last_event();
                if let Some(before) = a.get("before").and_then(|v| match v {
                    Value::Double(d) => Some(*d),
                    Value::Int(i) => Some(*i as f64),
                    _ => None,
                }) {
                    id = self
                        .events
                        .iter()
                        .rposition(|ts| *ts < before)
                        .map(|i| i as i64 + 1)
                        .ok_or_else(|| fault("query returned no rows"))?;
                }
                Ok(Value::structure([
                    ("id", Value::Int(id)),
                    ("ts", Value::Double(self.events[(id - 1) as usize])),
                ]))
            }
            "getEvent" => {
                let id = get("id")
                    .as_i64()
                    .ok_or_else(|| param_error("Invalid event id"))?;
                match self
                    .events
                    .get((id - 1).max(0) as usize)
                    .filter(|_| id >= 1)
                {
                    Some(ts) => Ok(Value::structure([
                        ("id", Value::Int(id)),
                        ("ts", Value::Double(*ts)),
                    ])),
                    None if flag("strict", true) => Err(fault("query returned no rows")),
                    None => Ok(Value::Nil),
                }
            }
            "getTag" => {
                let event = self.resolve_event(&a)?;
                let info = get("tagInfo");
                match self.find_tag(&info, event) {
                    Some(t) => Ok(self.tag_value(t, a.get("event").and_then(Value::as_i64))),
                    None if flag("strict", false) => {
                        Err(fault(format!("No such tagInfo: {}", py_repr(&info))))
                    }
                    None => Ok(Value::Nil),
                }
            }
            "getFullInheritance" | "getInheritanceData" => {
                let event = self.resolve_event(&a)?;
                let info = get("tag");
                let t = self
                    .find_tag(&info, self.last_event())
                    .ok_or_else(|| {
                        fault(format!(
                            "No such entry in table tag: {}",
                            info.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| py_repr(&info))
                        ))
                    })?
                    .clone();
                let links = if method == "getInheritanceData" {
                    self.full_inheritance(t.id, event)
                        .into_iter()
                        .filter(|(_, d)| *d == 1)
                        .collect::<Vec<_>>()
                } else {
                    self.full_inheritance(t.id, event)
                };
                Ok(Value::Array(
                    links
                        .into_iter()
                        .map(|(r, depth)| {
                            let parent =
                                self.tags.iter().find(|t| t.id == r.parent_id).expect("tag");
                            let mut m = vec![
                                ("child_id", Value::Int(r.child_id)),
                                ("parent_id", Value::Int(r.parent_id)),
                                ("name", Value::String(parent.name.clone())),
                                ("priority", Value::Int(r.priority)),
                                ("intransitive", Value::Bool(false)),
                                ("maxdepth", Value::Nil),
                                ("noconfig", Value::Bool(false)),
                                ("pkg_filter", Value::String(String::new())),
                            ];
                            if method == "getFullInheritance" {
                                m.push(("currdepth", Value::Int(depth)));
                                m.push(("nextdepth", Value::Nil));
                                m.push(("filter", Value::Array(vec![])));
                            }
                            Value::structure(m)
                        })
                        .collect(),
                ))
            }
            "listTagged" | "listTaggedRPMS" => {
                let event = self.resolve_event(&a)?;
                let info = get("tag");
                let Some(t) = self.find_tag(&info, event).cloned() else {
                    return if flag("strict", true) {
                        Err(fault(format!("No such tagInfo: {}", py_repr(&info))))
                    } else {
                        Ok(Value::Array(vec![]))
                    };
                };
                let package = a.get("package").and_then(Value::as_str).map(str::to_string);
                let selected = self.tagged(
                    &t,
                    event,
                    flag("inherit", false),
                    flag("latest", false),
                    package.as_deref(),
                );
                // `type`: builds of that btype only (a hub knows rpm and module here).
                let btype = a.get("type").and_then(Value::as_str).map(str::to_string);
                match btype.as_deref() {
                    None | Some("rpm") | Some("module") => {}
                    Some(other) => {
                        return Err(fault(format!("unsupported build type: {other}")));
                    }
                }
                let selected: Vec<_> = selected
                    .into_iter()
                    .filter(|(b, _, _)| match btype.as_deref() {
                        Some("module") => Self::is_module(b),
                        Some("rpm") => !Self::is_module(b),
                        _ => true,
                    })
                    .collect();
                let with_extra = flag("extra", false);
                let builds: Vec<Value> = selected
                    .iter()
                    .map(|(b, tag, e)| {
                        let mut m = self.build_value(b);
                        if !with_extra {
                            m.remove("extra");
                        }
                        m.insert("tag_id".into(), Value::Int(tag.id));
                        m.insert("tag_name".into(), Value::String(tag.name.clone()));
                        m.insert("create_event".into(), Value::Int(*e));
                        Value::Struct(m)
                    })
                    .collect();
                if method == "listTagged" {
                    return Ok(Value::Array(builds));
                }
                let arches = arch_list(a.get("arch"));
                let rpmsigs = flag("rpmsigs", false);
                let mut by_build: std::collections::HashMap<i64, Vec<usize>> =
                    std::collections::HashMap::new();
                for (i, r) in self.rpms.iter().enumerate() {
                    by_build.entry(r.build_id).or_default().push(i);
                }
                let mut rpms = Vec::new();
                for (b, _, _) in &selected {
                    for r in by_build
                        .get(&b.id)
                        .into_iter()
                        .flatten()
                        .map(|&i| &self.rpms[i])
                    {
                        if arches.as_ref().is_some_and(|a| !a.contains(&r.arch)) {
                            continue;
                        }
                        if rpmsigs {
                            for key in
                                std::iter::once(String::new()).chain(r.sigkeys.iter().cloned())
                            {
                                let mut m = self.rpm_value(r);
                                m.insert("sigkey".into(), Value::String(key));
                                rpms.push(Value::Struct(m));
                            }
                        } else {
                            rpms.push(Value::Struct(self.rpm_value(r)));
                        }
                    }
                }
                Ok(Value::Array(vec![Value::Array(rpms), Value::Array(builds)]))
            }
            "getBuild" => match self.get_build(&get("buildInfo"))? {
                Some(b) => {
                    let mut m = self.build_value(b);
                    m.insert("cg_id".into(), Value::Nil);
                    m.insert("cg_name".into(), Value::Nil);
                    m.insert("source".into(), Value::Nil);
                    m.insert(
                        "creation_ts".into(),
                        Value::Double(self.events[(b.create_event - 1) as usize]),
                    );
                    m.insert(
                        "completion_ts".into(),
                        Value::Double(self.events[(b.create_event - 1) as usize]),
                    );
                    m.insert(
                        "start_ts".into(),
                        Value::Double(self.events[(b.create_event - 1) as usize]),
                    );
                    m.insert("promotion_ts".into(), Value::Nil);
                    Ok(Value::Struct(m))
                }
                None if flag("strict", false) => Err(fault(format!(
                    "No such build: {}",
                    py_repr(&get("buildInfo"))
                ))),
                None => Ok(Value::Nil),
            },
            "getBuildType" => match self.get_build(&get("buildInfo"))? {
                Some(b) if b.extra.get("typeinfo").get("module").as_struct().is_some() => {
                    Ok(Value::structure([
                        ("rpm", Value::Nil),
                        ("module", b.extra.get("typeinfo").get("module").clone()),
                    ]))
                }
                Some(_) => Ok(Value::structure([("rpm", Value::Nil)])),
                None => Ok(Value::Nil),
            },
            "listRPMs" => {
                let build_id = get("buildID").as_i64();
                let arches = arch_list(a.get("arches"));
                Ok(Value::Array(
                    self.rpms
                        .iter()
                        .filter(|r| build_id.is_none_or(|b| r.build_id == b))
                        .filter(|r| arches.as_ref().is_none_or(|a| a.contains(&r.arch)))
                        .map(|r| {
                            let mut m = self.rpm_value(r);
                            m.insert(
                                "nvr".into(),
                                Value::String(format!("{}-{}-{}", r.name, r.version, r.release)),
                            );
                            m.insert("external_repo_id".into(), Value::Int(0));
                            m.insert(
                                "external_repo_name".into(),
                                Value::String("INTERNAL".into()),
                            );
                            Value::Struct(m)
                        })
                        .collect(),
                ))
            }
            "queryRPMSigs" => {
                let rpm_id = get("rpm_id").as_i64();
                let key = a.get("sigkey").and_then(Value::as_str).map(str::to_string);
                let mut out = Vec::new();
                for r in self
                    .rpms
                    .iter()
                    .filter(|r| rpm_id.is_none_or(|i| r.id == i))
                {
                    for k in std::iter::once(String::new()).chain(r.sigkeys.iter().cloned()) {
                        if key.as_ref().is_some_and(|want| *want != k) {
                            continue;
                        }
                        out.push(Value::structure([
                            ("rpm_id", Value::Int(r.id)),
                            ("sigkey", Value::String(k.clone())),
                            (
                                "sighash",
                                Value::String(format!("{:032x}", r.id * 31 + k.len() as i64)),
                            ),
                        ]));
                    }
                }
                Ok(Value::Array(out))
            }
            "tagChangedSinceEvent" => {
                let event = get("event")
                    .as_i64()
                    .ok_or_else(|| param_error("Invalid event"))?;
                let ids: Vec<i64> = get("taglist")
                    .as_array()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(Value::as_i64)
                    .collect();
                if ids.is_empty() {
                    return Err(Fault {
                        code: 1,
                        message:
                            "<class 'psycopg2.errors.SyntaxError'>: syntax error at or near \")\""
                                .into(),
                    });
                }
                let changed = |c: i64, r: Option<i64>| c > event || r.is_some_and(|r| r > event);
                Ok(Value::Bool(
                    self.listings.iter().any(|v| {
                        ids.contains(&v.row.tag_id) && changed(v.create_event, v.revoke_event)
                    }) || self.inheritance.iter().any(|v| {
                        ids.contains(&v.row.child_id) && changed(v.create_event, v.revoke_event)
                    }) || self.packages.iter().any(|v| {
                        ids.contains(&v.row.tag_id) && changed(v.create_event, v.revoke_event)
                    }) || self
                        .tags
                        .iter()
                        .any(|t| ids.contains(&t.id) && t.create_event > event),
                ))
            }
            "listTags" => {
                let event = self.last_event();
                let build = match a.get("build") {
                    Some(v @ (Value::Int(_) | Value::String(_))) => self.get_build(v)?.cloned(),
                    _ => None,
                };
                Ok(Value::Array(
                    self.tags
                        .iter()
                        .filter(|t| {
                            build.as_ref().is_none_or(|b| {
                                self.listings.iter().any(|v| {
                                    v.active_at(event)
                                        && v.row.tag_id == t.id
                                        && v.row.build_id == b.id
                                })
                            })
                        })
                        .map(|t| self.tag_value(t, None))
                        .collect(),
                ))
            }
            "search" => {
                let terms = get("terms");
                let terms = terms.as_str().unwrap_or_default().to_string();
                let kind = get("type");
                if kind.as_str() != Some("build") {
                    return Err(fault(format!("No such search type: {}", py_repr(&kind))));
                }
                let match_type = get("matchType");
                let glob = match match_type.as_str() {
                    Some("glob") => true,
                    Some("exact") => false,
                    _ => {
                        return Err(fault(format!(
                            "No such match type: {}",
                            py_repr(&match_type)
                        )));
                    }
                };
                Ok(Value::Array(
                    self.builds
                        .iter()
                        .filter(|b| {
                            if glob {
                                glob_match(&terms, &b.nvr())
                            } else {
                                terms == b.nvr()
                            }
                        })
                        .map(|b| {
                            Value::structure([
                                ("id", Value::Int(b.id)),
                                ("name", Value::String(b.nvr())),
                            ])
                        })
                        .collect(),
                ))
            }
            "listArchives" => Ok(Value::Array(vec![])),
            "getTaskInfo" => Ok(Value::Nil),
            "getUser" | "getMavenBuild" | "getWinBuild" => Ok(Value::Nil),
            _ => Err(fault(format!("Invalid method: {method}"))),
        }
    }
}

/// An `arch`/`arches` argument: one name or a list of names.
fn arch_list(v: Option<&Value>) -> Option<Vec<String>> {
    match v {
        Some(Value::String(s)) => Some(vec![s.clone()]),
        Some(Value::Array(v)) => Some(
            v.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        ),
        _ => None,
    }
}

/// Python's repr of a value, for fault texts.
pub fn py_repr(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => {
            if *b {
                "True".into()
            } else {
                "False".into()
            }
        }
        Value::Nil => "None".into(),
        Value::Double(d) => d.to_string(),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Struct(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("'{k}': {}", py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{other:?}"),
    }
}

/// Shell-style glob (`*`, `?`) over the whole text, as Koji's `search(matchType='glob')`.
fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

pub fn split_nvr(nvr: &str) -> Option<(String, String, String)> {
    let (rest, release) = nvr.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    Some((name.into(), version.into(), release.into()))
}

/// Fault injection for transport tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Normal,
    Http500,
    Garbage,
    Slow,
}

#[derive(Clone)]
pub struct Hub {
    pub data: Arc<Mutex<HubData>>,
    pub mode: Arc<Mutex<Mode>>,
    pub url: String,
    pub port: u16,
    /// Set for a hub whose data never changes ([`spawn_frozen_hub`]): the encoded answer of
    /// each request body, so that a repeated request costs the double nothing but sending.
    memo: Option<Memo>,
}

/// Request body → encoded answer.
type Memo = Arc<Mutex<HashMap<Vec<u8>, web::Bytes>>>;

/// The `n`th RPM of the benchmarks' tag: `bench-NNNNN`, x86_64 and noarch in turn.
pub fn bench_rpm(i: usize) -> (String, &'static str) {
    let arch = if i.is_multiple_of(2) {
        "x86_64"
    } else {
        "noarch"
    };
    (format!("bench-{i:05}"), arch)
}

/// The benchmarks' tag `bench`: `n` builds `bench-NNNNN-1.0-1` of one RPM each
/// ([`bench_rpm`]), tagged; and the tag `bench-small` with the first five of them. The same
/// records every time for the same `n`.
pub fn bench_tag(n: usize) -> HubData {
    let mut d = HubData::default();
    d.create_tag("bench", "x86_64");
    d.create_tag("bench-small", "x86_64");
    d.create_tag("bench-2k", "x86_64");
    for i in 0..n {
        let (name, arch) = bench_rpm(i);
        let nvr = format!("{name}-1.0-1");
        d.import_build(&nvr, None, &[(name.as_str(), arch)]);
        d.add_package("bench", &name);
        d.tag_build("bench", &nvr);
        if i < 5 {
            d.add_package("bench-small", &name);
            d.tag_build("bench-small", &nvr);
        }
        if i < 2000 {
            d.add_package("bench-2k", &name);
            d.tag_build("bench-2k", &nvr);
        }
    }
    d
}

async fn handle(req: HttpRequest, body: web::Bytes, hub: web::Data<Hub>) -> HttpResponse {
    if req.method() != actix_web::http::Method::POST {
        return HttpResponse::MethodNotAllowed()
            .insert_header(("Allow", "POST"))
            .content_type("text/plain")
            .body(
                "Method Not Allowed\nThis is an XML-RPC server. Only POST requests are accepted.",
            );
    }
    if let Some(m) = &hub.memo
        && let Some(answer) = m.lock().unwrap().get(body.as_ref())
    {
        return HttpResponse::Ok()
            .content_type("text/xml")
            .insert_header(("Koji-Version", "1.35.3"))
            .body(answer.clone());
    }
    let mode = *hub.mode.lock().unwrap();
    match mode {
        Mode::Http500 => return HttpResponse::InternalServerError().body("Internal Server Error"),
        Mode::Garbage => {
            return HttpResponse::Ok()
                .content_type("text/xml")
                .body("<methodResponse><params><param><value><int>oops");
        }
        Mode::Slow => tokio::time::sleep(std::time::Duration::from_secs(5)).await,
        Mode::Normal => {}
    }
    let result = match xmlrpc::decode_call(&body) {
        Ok((method, params)) => hub.data.lock().unwrap().dispatch(&method, params),
        Err(e) => Err(Fault {
            code: 1,
            message: format!("<class 'xml.parsers.expat.ExpatError'>: {e}"),
        }),
    };
    let answer = web::Bytes::from(xmlrpc::encode_response(&result));
    if let Some(m) = &hub.memo {
        m.lock().unwrap().insert(body.to_vec(), answer.clone());
    }
    HttpResponse::Ok()
        .content_type("text/xml")
        .insert_header(("Koji-Version", "1.35.3"))
        .body(answer)
}

/// Starts a hub on 127.0.0.1:0 serving `/kojihub`.
pub async fn spawn_hub(data: HubData) -> Hub {
    start_hub(data, None).await
}

/// A hub whose data is never changed (the benchmarks'): it keeps the encoded answer of each
/// request and sends it again for the same request. A real hub does its work on its own
/// machine; on the benchmark's machine the double would otherwise encode 28 MB of XML-RPC on
/// the cores composed is measured on, each time it is asked.
#[allow(dead_code)]
pub async fn spawn_frozen_hub(data: HubData) -> Hub {
    start_hub(data, Some(Default::default())).await
}

async fn start_hub(data: HubData, memo: Option<Memo>) -> Hub {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hub = Hub {
        data: Arc::new(Mutex::new(data)),
        mode: Arc::new(Mutex::new(Mode::Normal)),
        url: format!("http://127.0.0.1:{port}/kojihub"),
        port,
        memo,
    };
    let state = web::Data::new(hub.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(64 << 20))
            .route("/kojihub", web::route().to(handle))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    hub
}
