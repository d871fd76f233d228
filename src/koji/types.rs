//! Typed records of hub answers ([`Build`], [`Rpm`], [`Tag`], [`Event`], [`InheritanceLink`])
//! built from decoded XML-RPC values, the options of `listTagged`/`listTaggedRPMS`
//! ([`TagQuery`]), and the member filter for `listTaggedRPMS` answers.

use std::collections::BTreeMap;

use super::xmlrpc::Value;

/// Options of `listTagged`/`listTaggedRPMS`.
#[derive(Debug, Clone, Default)]
pub struct TagQuery {
    pub event: Option<i64>,
    pub inherit: bool,
    pub latest: bool,
    pub package: Option<String>,
    pub arches: Option<Vec<String>>,
    pub rpmsigs: bool,
    /// `type=`: only builds of this btype (`module`).
    pub btype: Option<String>,
}

impl TagQuery {
    /// The query's arguments other than the event, one canonical string (a cache key).
    pub(super) fn canonical(&self) -> String {
        let mut arches = self.arches.clone();
        if let Some(a) = arches.as_mut() {
            a.sort();
            a.dedup();
        }
        format!(
            "inherit={} latest={} package={:?} arches={:?} rpmsigs={} type={:?}",
            self.inherit, self.latest, self.package, arches, self.rpmsigs, self.btype
        )
    }

    pub(super) fn kwargs(&self, rpms: bool) -> Vec<(&'static str, Value)> {
        let mut k = vec![];
        if let Some(e) = self.event {
            k.push(("event", Value::Int(e)));
        }
        if self.inherit {
            k.push(("inherit", Value::Bool(true)));
        }
        if self.latest {
            k.push(("latest", Value::Bool(true)));
        }
        if let Some(p) = &self.package {
            k.push(("package", Value::String(p.clone())));
        }
        if let Some(t) = &self.btype {
            k.push(("type", Value::String(t.clone())));
        }
        if rpms {
            if let Some(a) = &self.arches {
                k.push(("arch", a.clone().into()));
            }
            if self.rpmsigs {
                k.push(("rpmsigs", Value::Bool(true)));
            }
        }
        k
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: i64,
    pub ts: f64,
}

impl Event {
    pub(super) fn from_value(v: &Value) -> Option<Self> {
        let ts = match v.get("ts") {
            Value::Double(d) => *d,
            Value::Int(i) => *i as f64,
            _ => return None,
        };
        Some(Event {
            id: v.get("id").as_i64()?,
            ts,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    pub id: i64,
    pub name: String,
    pub arches: Vec<String>,
}

impl Tag {
    pub(super) fn from_value(v: &Value) -> Option<Self> {
        Some(Tag {
            id: v.get("id").as_i64()?,
            name: v.get("name").as_str()?.to_string(),
            arches: v
                .get("arches")
                .as_str()
                .map(|a| a.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct InheritanceLink {
    pub parent_id: i64,
    pub name: String,
    pub priority: i64,
    pub currdepth: i64,
}

impl InheritanceLink {
    pub(super) fn from_value(v: &Value) -> Option<Self> {
        Some(Self {
            parent_id: v.get("parent_id").as_i64()?,
            name: v.get("name").as_str()?.to_string(),
            priority: v.get("priority").as_i64().unwrap_or(0),
            currdepth: v.get("currdepth").as_i64().unwrap_or(1),
        })
    }
}

/// The members of `listTaggedRPMS`'s RPM and build structs that composed reads.
pub fn list_tagged_rpms_member(m: &str) -> bool {
    Rpm::MEMBERS.contains(&m) || Build::MEMBERS.contains(&m)
}

/// Takes a string member out of a decoded struct.
fn take_string(m: &mut BTreeMap<String, Value>, key: &str) -> Option<String> {
    match m.remove(key)? {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// An integer member of a decoded struct.
fn int_member(m: &mut BTreeMap<String, Value>, key: &str) -> Option<i64> {
    m.get(key)?.as_i64()
}

/// A build as listTagged/listTaggedRPMS/getBuild describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct Build {
    pub id: i64,
    pub name: String,
    pub version: String,
    pub release: String,
    pub epoch: Option<i64>,
    pub nvr: String,
    pub volume_name: String,
    pub tag_name: Option<String>,
    pub create_event: Option<i64>,
    pub extra: Value,
}

impl Build {
    /// The members [`Self::from_value`] reads.
    const MEMBERS: &[&str] = &[
        "build_id",
        "id",
        "name",
        "package_name",
        "version",
        "release",
        "epoch",
        "nvr",
        "volume_name",
        "tag_name",
        "create_event",
        "extra",
    ];

    pub(super) fn from_value(v: &Value) -> Option<Self> {
        Self::from_owned(v.clone())
    }

    pub(super) fn from_owned(v: Value) -> Option<Self> {
        let Value::Struct(mut m) = v else {
            return None;
        };
        let name = take_string(&mut m, "name").or_else(|| take_string(&mut m, "package_name"))?;
        let version = take_string(&mut m, "version")?;
        let release = take_string(&mut m, "release")?;
        Some(Build {
            id: int_member(&mut m, "build_id").or_else(|| int_member(&mut m, "id"))?,
            nvr: take_string(&mut m, "nvr")
                .unwrap_or_else(|| format!("{name}-{version}-{release}")),
            name,
            version,
            release,
            epoch: int_member(&mut m, "epoch"),
            volume_name: take_string(&mut m, "volume_name").unwrap_or_else(|| "DEFAULT".into()),
            tag_name: take_string(&mut m, "tag_name"),
            create_event: int_member(&mut m, "create_event"),
            extra: m.remove("extra").unwrap_or(Value::Nil),
        })
    }
}

/// An RPM row (listTaggedRPMS, listRPMs).
#[derive(Debug, Clone, PartialEq)]
pub struct Rpm {
    pub id: i64,
    pub build_id: i64,
    pub name: String,
    pub version: String,
    pub release: String,
    pub epoch: Option<i64>,
    pub arch: String,
    pub size: i64,
    pub payloadhash: String,
    pub sigkey: Option<String>,
}

impl Rpm {
    /// The members [`Self::from_value`] reads.
    const MEMBERS: &[&str] = &[
        "id",
        "build_id",
        "name",
        "version",
        "release",
        "epoch",
        "arch",
        "size",
        "payloadhash",
        "sigkey",
    ];

    pub(super) fn from_value(v: &Value) -> Option<Self> {
        Self::from_owned(v.clone())
    }

    pub(super) fn from_owned(v: Value) -> Option<Self> {
        let Value::Struct(mut m) = v else {
            return None;
        };
        Some(Rpm {
            id: int_member(&mut m, "id")?,
            build_id: int_member(&mut m, "build_id")?,
            name: take_string(&mut m, "name")?,
            version: take_string(&mut m, "version")?,
            release: take_string(&mut m, "release")?,
            epoch: int_member(&mut m, "epoch"),
            arch: take_string(&mut m, "arch")?,
            size: int_member(&mut m, "size").unwrap_or(0),
            payloadhash: take_string(&mut m, "payloadhash").unwrap_or_default(),
            sigkey: take_string(&mut m, "sigkey"),
        })
    }

    pub fn nvra(&self) -> String {
        format!(
            "{}-{}-{}.{}",
            self.name, self.version, self.release, self.arch
        )
    }
}

/// Keyword arguments from a struct (test hub side).
pub type Kwargs = BTreeMap<String, Value>;
