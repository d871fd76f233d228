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
