CREATE TABLE composes (
    id BIGSERIAL PRIMARY KEY,
    owner TEXT NOT NULL,
    source_type INTEGER NOT NULL,
    source TEXT NOT NULL,
    state INTEGER NOT NULL,
    state_reason TEXT,
    time_to_expire TIMESTAMP NOT NULL,
    time_submitted TIMESTAMP NOT NULL,
    time_started TIMESTAMP,
    time_done TIMESTAMP,
    time_removed TIMESTAMP,
    removed_by TEXT,
    flags INTEGER NOT NULL DEFAULT 0,
    results INTEGER NOT NULL DEFAULT 1,
    sigkeys TEXT NOT NULL DEFAULT '',
    koji_event BIGINT,
    koji_task_id BIGINT,
    packages TEXT,
    builds TEXT,
    arches TEXT NOT NULL,
    multilib_arches TEXT NOT NULL DEFAULT '',
    multilib_method INTEGER NOT NULL DEFAULT 0,
    lookaside_repos TEXT,
    modular_koji_tags TEXT,
    module_defaults_url TEXT,
    label TEXT,
    compose_type TEXT,
    pungi_compose_id TEXT,
    target_dir TEXT,
    scratch_modules TEXT,
    parent_pungi_compose_ids TEXT,
    scratch_build_tasks TEXT,
    modules TEXT,
    respin_of TEXT,
    base_module_br_name TEXT,
    base_module_br_stream TEXT,
    base_module_br_stream_version_lte BIGINT,
    base_module_br_stream_version_gte BIGINT,
    pungi_config_dump TEXT,
    reused_id BIGINT,
    traceparent TEXT
);
CREATE INDEX composes_state_idx ON composes (state);
CREATE INDEX composes_time_to_expire_idx ON composes (time_to_expire);
CREATE INDEX composes_reused_id_idx ON composes (reused_id);
CREATE INDEX composes_koji_task_id_idx ON composes (koji_task_id);
CREATE INDEX composes_source_type_state_idx ON composes (source_type, state);
CREATE INDEX composes_owner_idx ON composes (owner);

CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    compose_id BIGINT,
    queue TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 5,
    lease_owner TEXT,
    lease_expires_at TIMESTAMP,
    run_after TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX jobs_claim_idx ON jobs (queue, state, run_after);
CREATE INDEX jobs_compose_idx ON jobs (compose_id);

CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_unsent_idx ON outbox (sent_at, id);

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);
