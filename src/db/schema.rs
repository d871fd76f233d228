// The schema shared by both backends (migrations/sqlite and migrations/postgres).

diesel::table! {
    composes (id) {
        id -> BigInt,
        owner -> Text,
        source_type -> Integer,
        source -> Text,
        state -> Integer,
        state_reason -> Nullable<Text>,
        time_to_expire -> Timestamp,
        time_submitted -> Timestamp,
        time_started -> Nullable<Timestamp>,
        time_done -> Nullable<Timestamp>,
        time_removed -> Nullable<Timestamp>,
        removed_by -> Nullable<Text>,
        flags -> Integer,
        results -> Integer,
        sigkeys -> Text,
        koji_event -> Nullable<BigInt>,
        koji_task_id -> Nullable<BigInt>,
        packages -> Nullable<Text>,
        builds -> Nullable<Text>,
        arches -> Text,
        multilib_arches -> Text,
        multilib_method -> Integer,
        lookaside_repos -> Nullable<Text>,
        modular_koji_tags -> Nullable<Text>,
        module_defaults_url -> Nullable<Text>,
        label -> Nullable<Text>,
        compose_type -> Nullable<Text>,
        pungi_compose_id -> Nullable<Text>,
        target_dir -> Nullable<Text>,
        scratch_modules -> Nullable<Text>,
        parent_pungi_compose_ids -> Nullable<Text>,
        scratch_build_tasks -> Nullable<Text>,
        modules -> Nullable<Text>,
        respin_of -> Nullable<Text>,
        base_module_br_name -> Nullable<Text>,
        base_module_br_stream -> Nullable<Text>,
        base_module_br_stream_version_lte -> Nullable<BigInt>,
        base_module_br_stream_version_gte -> Nullable<BigInt>,
        pungi_config_dump -> Nullable<Text>,
        reused_id -> Nullable<BigInt>,
        traceparent -> Nullable<Text>,
    }
}

diesel::table! {
    jobs (id) {
        id -> BigInt,
        kind -> Text,
        compose_id -> Nullable<BigInt>,
        queue -> Text,
        state -> Text,
        attempts -> Integer,
        max_attempts -> Integer,
        lease_owner -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamp>,
        run_after -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        dedup_key -> Nullable<Text>,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        message_id -> Text,
        topic -> Text,
        body -> Text,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        attempts -> Integer,
        amqp_sent_at -> Nullable<Timestamp>,
        notified_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    triggers (id) {
        id -> BigInt,
        rule -> Text,
        topic -> Text,
        message_ids -> Text,
        events -> Integer,
        received_at -> Timestamp,
        created_at -> Timestamp,
        compose_id -> Nullable<BigInt>,
        dedup_key -> Nullable<Text>,
    }
}

diesel::table! {
    bus_counters (metric, transport, reason) {
        metric -> Text,
        transport -> Text,
        reason -> Text,
        total -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    phase_histogram (phase, le) {
        phase -> Text,
        le -> Text,
        total -> BigInt,
    }
}

diesel::table! {
    compose_notify (compose_id) {
        compose_id -> BigInt,
        spec -> Text,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        compose_id -> BigInt,
        state -> Integer,
        channel -> Text,
        target -> Text,
        rule -> Text,
        payload -> Text,
        delivery_id -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    composes,
    jobs,
    outbox,
    users,
    triggers,
    bus_counters,
    phase_histogram,
    compose_notify,
    notifications
);
