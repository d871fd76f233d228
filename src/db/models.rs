//! Database rows. Views (the JSON shapes) live in `crate::views`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{composes, jobs, outbox};

#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Queryable,
    QueryableByName,
    Selectable,
    Identifiable,
    AsChangeset,
)]
#[diesel(table_name = composes, treat_none_as_null = true)]
pub struct Compose {
    pub id: i64,
    pub owner: String,
    pub source_type: i32,
    pub source: String,
    pub state: i32,
    pub state_reason: Option<String>,
    pub time_to_expire: NaiveDateTime,
    pub time_submitted: NaiveDateTime,
    pub time_started: Option<NaiveDateTime>,
    pub time_done: Option<NaiveDateTime>,
    pub time_removed: Option<NaiveDateTime>,
    pub removed_by: Option<String>,
    pub flags: i32,
    pub results: i32,
    pub sigkeys: String,
    pub koji_event: Option<i64>,
    pub koji_task_id: Option<i64>,
    pub packages: Option<String>,
    pub builds: Option<String>,
    pub arches: String,
    pub multilib_arches: String,
    pub multilib_method: i32,
    pub lookaside_repos: Option<String>,
    pub modular_koji_tags: Option<String>,
    pub module_defaults_url: Option<String>,
    pub label: Option<String>,
    pub compose_type: Option<String>,
    pub pungi_compose_id: Option<String>,
    pub target_dir: Option<String>,
    pub scratch_modules: Option<String>,
    pub parent_pungi_compose_ids: Option<String>,
    pub scratch_build_tasks: Option<String>,
    pub modules: Option<String>,
    pub respin_of: Option<String>,
    pub base_module_br_name: Option<String>,
    pub base_module_br_stream: Option<String>,
    pub base_module_br_stream_version_lte: Option<i64>,
    pub base_module_br_stream_version_gte: Option<i64>,
    pub pungi_config_dump: Option<String>,
    pub reused_id: Option<i64>,
    pub traceparent: Option<String>,
}

/// A compose row before it has an id.
#[derive(Debug, Clone, Default, Insertable)]
#[diesel(table_name = composes)]
pub struct NewCompose {
    pub owner: String,
    pub source_type: i32,
    pub source: String,
    pub state: i32,
    pub state_reason: Option<String>,
    pub time_to_expire: NaiveDateTime,
    pub time_submitted: NaiveDateTime,
    pub flags: i32,
    pub results: i32,
    pub sigkeys: String,
    pub koji_event: Option<i64>,
    pub packages: Option<String>,
    pub builds: Option<String>,
    pub arches: String,
    pub multilib_arches: String,
    pub multilib_method: i32,
    pub lookaside_repos: Option<String>,
    pub modular_koji_tags: Option<String>,
    pub module_defaults_url: Option<String>,
    pub label: Option<String>,
    pub compose_type: Option<String>,
    pub target_dir: Option<String>,
    pub scratch_modules: Option<String>,
    pub parent_pungi_compose_ids: Option<String>,
    pub scratch_build_tasks: Option<String>,
    pub modules: Option<String>,
    pub respin_of: Option<String>,
    pub base_module_br_name: Option<String>,
    pub base_module_br_stream: Option<String>,
    pub base_module_br_stream_version_lte: Option<i64>,
    pub base_module_br_stream_version_gte: Option<i64>,
    pub pungi_config_dump: Option<String>,
    pub traceparent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub compose_id: Option<i64>,
    pub queue: String,
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<NaiveDateTime>,
    pub run_after: NaiveDateTime,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub dedup_key: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = jobs)]
pub struct NewJob {
    pub kind: String,
    pub compose_id: Option<i64>,
    pub queue: String,
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_after: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub dedup_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxMessage {
    pub id: i64,
    pub message_id: String,
    pub topic: String,
    pub body: String,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub attempts: i32,
}
