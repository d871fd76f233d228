//! Reuse of an identical done or generating compose (contract §2.4): same source type, older, not itself
//! reusing; equal fields (lists compared as sets); Koji-event rules — a tag compose is reused
//! only if the tag and every tag it inherits from are unchanged since the candidate's event.

use std::collections::BTreeSet;

use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::db::models::Compose;
use crate::db::schema::composes;
use crate::domain::{Flag, SourceType, State};
use crate::koji::{KojiClient, KojiError};

fn set(s: &Option<String>) -> BTreeSet<&str> {
    s.as_deref()
        .map(|s| s.split(' ').filter(|x| !x.is_empty()).collect())
        .unwrap_or_default()
}

fn set_s(s: &str) -> BTreeSet<&str> {
    s.split(' ').filter(|x| !x.is_empty()).collect()
}

/// Field equality of §2.4 step 4.
pub fn same_request(a: &Compose, b: &Compose) -> bool {
    set(&a.packages) == set(&b.packages)
        && set(&a.builds) == set(&b.builds)
        && set_s(&a.sigkeys) == set_s(&b.sigkeys)
        && set_s(&a.arches) == set_s(&b.arches)
        && set(&a.lookaside_repos) == set(&b.lookaside_repos)
        && set_s(&a.multilib_arches) == set_s(&b.multilib_arches)
        && set(&a.modular_koji_tags) == set(&b.modular_koji_tags)
        && set(&a.scratch_modules) == set(&b.scratch_modules)
        && set(&a.modules) == set(&b.modules)
        && set(&a.scratch_build_tasks) == set(&b.scratch_build_tasks)
        && set(&a.parent_pungi_compose_ids) == set(&b.parent_pungi_compose_ids)
        && a.source == b.source
        && a.flags == b.flags
        && a.results == b.results
        && a.module_defaults_url == b.module_defaults_url
        && a.respin_of == b.respin_of
        && a.target_dir == b.target_dir
        && a.multilib_method == b.multilib_method
}

/// The reason a generating compose carries once its engine runs (no state change): only such
/// composes are reuse candidates while generating.
pub const GENERATING_REASON: &str = "Compose is generating";

/// Composes that could be reused by `c`: done ones newest first, then generating ones (whose
/// engine runs) oldest first.
pub fn candidates(conn: &mut AnyConnection, c: &Compose) -> QueryResult<Vec<Compose>> {
    let base = || {
        composes::table
            .filter(composes::source_type.eq(c.source_type))
            .filter(composes::id.lt(c.id))
            .filter(composes::reused_id.is_null())
            .filter(composes::source.eq(c.source.clone()))
            .limit(200)
            .select(Compose::as_select())
    };
    let mut out: Vec<Compose> = base()
        .filter(composes::state.eq(State::Done.code()))
        .order(composes::id.desc())
        .load(conn)?;
    out.extend(
        base()
            .filter(composes::state.eq(State::Generating.code()))
            .filter(composes::state_reason.eq(GENERATING_REASON))
            .order(composes::id.asc())
            .load(conn)?,
    );
    Ok(out)
}

/// Picks the compose `c` may reuse. `event` is `c`'s resolved Koji event.
pub async fn choose(
    c: &Compose,
    event: Option<i64>,
    cands: Vec<Compose>,
    koji: Option<&KojiClient>,
) -> Result<Option<Compose>, KojiError> {
    if c.flags & Flag::NoReuse.code() != 0 || c.source_type == SourceType::RawConfig.code() {
        return Ok(None);
    }
    for cand in cands {
        if !same_request(c, &cand) {
            continue;
        }
        if let (Some(new), Some(old)) = (event, cand.koji_event)
            && new < old
        {
            continue;
        }
        if c.source_type == SourceType::Tag.code() {
            let Some(koji) = koji else { continue };
            if koji
                .tag_or_parents_changed_since(&c.source, cand.koji_event.unwrap_or(0))
                .await?
            {
                continue;
            }
        } else if event != cand.koji_event {
            continue;
        }
        return Ok(Some(cand));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(id: i64, source_type: SourceType) -> Compose {
        Compose {
            id,
            source_type: source_type.code(),
            source: "f40".into(),
            state: State::Done.code(),
            packages: Some("bash coreutils".into()),
            sigkeys: "key1 key2".into(),
            arches: "x86_64 aarch64".into(),
            results: 1,
            ..Default::default()
        }
    }

    #[test]
    fn lists_compare_as_sets() {
        let a = base(1, SourceType::Build);
        let mut b = base(2, SourceType::Build);
        b.packages = Some("coreutils  bash bash".into());
        b.sigkeys = "key2 key1".into();
        b.arches = "aarch64 x86_64".into();
        assert!(same_request(&a, &b));
        type Field = fn(&mut Compose);
        let set_fields: [(&str, Field); 11] = [
            ("packages", |c| c.packages = Some("bash".into())),
            ("builds", |c| c.builds = Some("bash-1-1".into())),
            ("sigkeys", |c| c.sigkeys = "key1".into()),
            ("arches", |c| c.arches = "x86_64".into()),
            ("lookaside_repos", |c| {
                c.lookaside_repos = Some("http://r".into())
            }),
            ("multilib_arches", |c| c.multilib_arches = "i686".into()),
            ("modular_koji_tags", |c| {
                c.modular_koji_tags = Some("t".into())
            }),
            ("scratch_modules", |c| {
                c.scratch_modules = Some("m:s".into())
            }),
            ("modules", |c| c.modules = Some("m:s".into())),
            ("scratch_build_tasks", |c| {
                c.scratch_build_tasks = Some("1".into())
            }),
            ("parent_pungi_compose_ids", |c| {
                c.parent_pungi_compose_ids = Some("p".into())
            }),
        ];
        for (name, change) in set_fields {
            let mut b = base(2, SourceType::Build);
            change(&mut b);
            assert!(!same_request(&a, &b), "{name} differs");
        }
        // An empty list and no list are the same set.
        let mut c = base(3, SourceType::Build);
        let mut d = base(4, SourceType::Build);
        c.lookaside_repos = Some(String::new());
        d.lookaside_repos = None;
        assert!(same_request(&c, &d));
    }

    #[test]
    fn scalars_compare_exactly_and_some_fields_are_ignored() {
        let a = base(1, SourceType::Build);
        type Field = fn(&mut Compose);
        let exact: [(&str, Field); 7] = [
            ("source", |c| c.source = "f41".into()),
            ("flags", |c| c.flags = Flag::NoDeps.code()),
            ("results", |c| c.results = 3),
            ("module_defaults_url", |c| {
                c.module_defaults_url = Some("u".into())
            }),
            ("respin_of", |c| c.respin_of = Some("x".into())),
            ("target_dir", |c| c.target_dir = Some("/private".into())),
            ("multilib_method", |c| c.multilib_method = 1),
        ];
        for (name, change) in exact {
            let mut b = base(2, SourceType::Build);
            change(&mut b);
            assert!(!same_request(&a, &b), "{name} differs");
        }
        let mut b = base(2, SourceType::Build);
        b.label = Some("RC-1".into());
        b.compose_type = Some("nightly".into());
        b.owner = "someone-else".into();
        b.base_module_br_name = Some("platform".into());
        b.time_to_expire = chrono::NaiveDateTime::MAX;
        assert!(
            same_request(&a, &b),
            "label, type, owner, lifetime are not compared"
        );
    }

    #[tokio::test]
    async fn flags_source_types_and_koji_events() {
        let cand = base(1, SourceType::Build);
        let new = base(2, SourceType::Build);
        // Equal events (here none on either side): reused.
        let got = choose(&new, None, vec![cand.clone()], None).await.unwrap();
        assert_eq!(got.map(|c| c.id), Some(1));
        // no_reuse, raw_config: never.
        let mut nr = new.clone();
        nr.flags = Flag::NoReuse.code();
        assert!(
            choose(&nr, None, vec![cand.clone()], None)
                .await
                .unwrap()
                .is_none()
        );
        let raw = base(2, SourceType::RawConfig);
        let raw_cand = base(1, SourceType::RawConfig);
        assert!(
            choose(&raw, None, vec![raw_cand], None)
                .await
                .unwrap()
                .is_none()
        );
        // Non-tag types: events must be equal; an older new event never reuses a newer one.
        let mut c10 = cand.clone();
        c10.koji_event = Some(10);
        assert!(
            choose(&new, Some(11), vec![c10.clone()], None)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            choose(&new, Some(9), vec![c10.clone()], None)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            choose(&new, None, vec![c10.clone()], None)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            choose(&new, Some(10), vec![c10], None)
                .await
                .unwrap()
                .map(|c| c.id),
            Some(1)
        );
        // Tag composes need the hub to prove the tag unchanged: without one, no reuse.
        let tag = base(2, SourceType::Tag);
        let tag_cand = base(1, SourceType::Tag);
        assert!(
            choose(&tag, Some(5), vec![tag_cand], None)
                .await
                .unwrap()
                .is_none()
        );
        // The first surviving candidate wins (candidates come newest done first).
        let mut other = base(3, SourceType::Build);
        other.packages = Some("vim".into());
        let (a, b) = (base(5, SourceType::Build), base(4, SourceType::Build));
        let got = choose(&base(6, SourceType::Build), None, vec![other, a, b], None)
            .await
            .unwrap();
        assert_eq!(got.map(|c| c.id), Some(5));
    }
}
