//! Layered settings: built-in defaults → TOML file → `COMPOSED__SECTION__KEY` environment
//! variables → command-line flags. `config/composed.toml` is rendered from the defaults by
//! [`render_documented_defaults`] and a test keeps it in sync.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Every setting of composed, rendered in `config/composed.toml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub composes: ComposeSettings,
    pub auth: AuthSettings,
    pub worker: WorkerSettings,
    pub koji: KojiSettings,
    pub engine: EngineSettings,
    pub messaging: MessagingSettings,
    pub triggers: crate::bus::settings::TriggerSettings,
}

/// Publishing state changes on the message bus.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MessagingSettings {
    pub fedmsg_publish_endpoint: String,
    pub topic_prefix: String,
    pub environment: String,
    pub relay_interval_ms: u64,
    pub amqp_url: String,
    pub amqp_exchange: String,
    pub amqp_routing_key: String,
    pub reconnect_max_ms: u64,
}

impl Default for MessagingSettings {
    fn default() -> Self {
        Self {
            fedmsg_publish_endpoint: String::new(),
            topic_prefix: "org.fedoraproject".into(),
            environment: "dev".into(),
            relay_interval_ms: 200,
            amqp_url: String::new(),
            amqp_exchange: "amq.topic".into(),
            amqp_routing_key: String::new(),
            reconnect_max_ms: 30_000,
        }
    }
}

/// The Koji hub composes read, and its shared topdir mount.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct KojiSettings {
    pub hub_url: String,
    pub topdir: PathBuf,
    pub topurl: String,
    pub profile: String,
    pub timeout_secs: u64,
    pub retries: u32,
}

impl Default for KojiSettings {
    fn default() -> Self {
        Self {
            hub_url: String::new(),
            topdir: PathBuf::from("/mnt/koji"),
            topurl: String::new(),
            profile: "koji".into(),
            timeout_secs: 120,
            retries: 3,
        }
    }
}

/// The native compose engine.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EngineSettings {
    pub repodata_compression: String,
    pub repodata_compression_level: u32,
    pub poll_interval_ms: u64,
    pub lease_secs: i64,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            repodata_compression: "gzip".into(),
            repodata_compression_level: 6,
            poll_interval_ms: 500,
            lease_secs: 300,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    pub workers: usize,
    pub max_body_bytes: usize,
    pub max_per_page: i64,
    pub response_cache_bytes: usize,
    pub serve_composes: bool,
    pub composes_path: String,
    pub log_format: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub pool_size: u32,
    pub connect_timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ComposeSettings {
    pub target_dir: PathBuf,
    pub target_dir_url: String,
    pub extra_target_dirs: BTreeMap<String, PathBuf>,
    pub arches: Vec<String>,
    pub sigkeys: Vec<String>,
    pub seconds_to_live: i64,
    pub max_seconds_to_live: i64,
    pub base_module_names: Vec<String>,
    pub raw_config_urls: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    pub arch_queues: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    pub backend: String,
    pub admins: Admins,
    pub allowed_clients: AllowedClients,
    pub allowed_source_types: Vec<String>,
    pub allowed_flags: Vec<String>,
    pub allowed_arches: Vec<String>,
    pub allowed_results: Vec<String>,
    pub allowed_sources: Vec<String>,
    pub allowed_compose_types: Vec<String>,
    pub oidc: OidcSettings,
    pub proxy: ProxySettings,
}

/// Bearer tokens: JWTs checked locally against a JWKS, or opaque tokens by introspection.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OidcSettings {
    pub issuer: String,
    pub audiences: Vec<String>,
    pub jwks_file: String,
    pub jwks_url: String,
    pub jwks_cache_secs: u64,
    pub jwks_min_refresh_secs: u64,
    pub algorithms: Vec<String>,
    pub leeway_secs: u64,
    pub username_claim: String,
    pub groups_claim: String,
    pub scope_claim: String,
    pub scope_namespace: String,
    pub require_endpoint_scopes: bool,
    pub required_scopes: Vec<String>,
    pub introspection_url: String,
    pub introspection_client_id: String,
    pub introspection_client_secret: String,
    pub timeout_secs: u64,
}

impl Default for OidcSettings {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            audiences: vec![],
            jwks_file: String::new(),
            jwks_url: String::new(),
            jwks_cache_secs: 300,
            jwks_min_refresh_secs: 10,
            algorithms: vec!["RS256".into(), "ES256".into(), "PS256".into()],
            leeway_secs: 30,
            username_claim: "sub".into(),
            groups_claim: "groups".into(),
            scope_claim: "scope".into(),
            scope_namespace: "https://pagure.io/odcs/".into(),
            require_endpoint_scopes: true,
            required_scopes: vec![],
            introspection_url: String::new(),
            introspection_client_id: String::new(),
            introspection_client_secret: String::new(),
            timeout_secs: 10,
        }
    }
}

/// Identity from headers set by a trusted front proxy (Kerberos or client certificates there).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ProxySettings {
    pub user_header: String,
    pub groups_header: String,
    pub groups_separator: String,
    pub trusted_proxies: Vec<String>,
}

impl Default for ProxySettings {
    fn default() -> Self {
        Self {
            user_header: "X-Remote-User".into(),
            groups_header: "X-Remote-Groups".into(),
            groups_separator: ",".into(),
            trusted_proxies: vec!["127.0.0.1/32".into(), "::1/128".into()],
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Admins {
    pub users: Vec<String>,
    pub groups: Vec<String>,
}

/// Per-client allow-lists: `users.<name>.<attr> = [...]`, `groups.<name>.<attr> = [...]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AllowedClients {
    pub users: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    pub groups: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSettings {
    pub queues: Vec<String>,
    pub pg_listen: bool,
    pub cleanup_schedule: String,
    pub stuck_wait_secs: i64,
    pub stuck_generating_secs: i64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:5005".into(),
            workers: 0,
            max_body_bytes: 1024 * 1024,
            max_per_page: 1000,
            response_cache_bytes: 64 * 1024 * 1024,
            serve_composes: true,
            composes_path: "/composes".into(),
            log_format: "text".into(),
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://composed.sqlite".into(),
            pool_size: 8,
            connect_timeout_secs: 5,
        }
    }
}

impl Default for ComposeSettings {
    fn default() -> Self {
        Self {
            target_dir: PathBuf::from("composes"),
            target_dir_url: "http://127.0.0.1:5005/composes".into(),
            extra_target_dirs: BTreeMap::new(),
            arches: vec!["x86_64".into()],
            sigkeys: vec![],
            seconds_to_live: 86_400,
            max_seconds_to_live: 259_200,
            base_module_names: vec!["platform".into(), "bootstrap".into()],
            raw_config_urls: BTreeMap::new(),
            arch_queues: vec![],
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            backend: "noauth".into(),
            admins: Admins::default(),
            allowed_clients: AllowedClients::default(),
            allowed_source_types: vec!["tag".into(), "module".into(), "build".into()],
            allowed_flags: crate::domain::Flag::ALL
                .iter()
                .map(|f| f.name().to_string())
                .collect(),
            allowed_arches: vec!["x86_64".into()],
            allowed_results: crate::domain::ResultKind::ALL
                .iter()
                .map(|r| r.name().to_string())
                .collect(),
            allowed_sources: vec![String::new()],
            allowed_compose_types: vec![String::new()],
            oidc: OidcSettings::default(),
            proxy: ProxySettings::default(),
        }
    }
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            queues: vec![],
            pg_listen: true,
            cleanup_schedule: "0 * * * * *".into(),
            stuck_wait_secs: 3 * 86_400,
            stuck_generating_secs: 2 * 7_200,
        }
    }
}

/// Documentation of every key, rendered as comments into `config/composed.toml`.
pub const DOCS: &[(&str, &str)] = &[
    (
        "server",
        "HTTP server of the API (and of the compose directory in `serve`).",
    ),
    (
        "server.bind",
        "Address and port to listen on; port 0 picks a free port.",
    ),
    (
        "server.workers",
        "HTTP worker threads; 0 means one per CPU core.",
    ),
    (
        "server.max_body_bytes",
        "Largest accepted request body; larger bodies get 413.",
    ),
    (
        "server.max_per_page",
        "Upper bound for `per_page` of the compose list (ODCS has none).",
    ),
    (
        "server.response_cache_bytes",
        "Bytes of JSON bodies kept by the response cache of GET by id and the compose list, served while the composes table is unchanged (other processes' changes are seen within milliseconds, by LISTEN/NOTIFY on PostgreSQL and `PRAGMA data_version` on SQLite); 0 turns it off.",
    ),
    (
        "server.serve_composes",
        "Serve `composes.target_dir` over HTTP under `server.composes_path`.",
    ),
    (
        "server.composes_path",
        "URL path under which the compose directory is served.",
    ),
    ("server.log_format", "`text` or `json` log lines on stderr."),
    (
        "database",
        "SQLite (embedded default) or PostgreSQL (production, shared by many processes).",
    ),
    (
        "database.url",
        "`sqlite://<path>` (`sqlite://:memory:` for tests) or `postgres://user@host/db`.",
    ),
    (
        "database.pool_size",
        "Connections in the pool of each process.",
    ),
    (
        "database.connect_timeout_secs",
        "Seconds to wait for a pooled connection before answering 503.",
    ),
    (
        "composes",
        "Where composes go and what a request gets by default.",
    ),
    (
        "composes.target_dir",
        "Directory holding `odcs-<id>` compose directories (ODCS `TARGET_DIR`).",
    ),
    (
        "composes.target_dir_url",
        "Public URL of `target_dir`; `result_repo` and friends start with it.",
    ),
    (
        "composes.extra_target_dirs",
        "Named extra target directories (`name = \"/path\"`); composes there get empty URLs.",
    ),
    (
        "composes.arches",
        "Arches of a compose whose request gives none.",
    ),
    (
        "composes.sigkeys",
        "Signing keys of a compose whose request gives none (`\"\"` = unsigned allowed).",
    ),
    (
        "composes.seconds_to_live",
        "Default lifetime of a compose, counted from its completion.",
    ),
    (
        "composes.max_seconds_to_live",
        "Upper bound for a requested lifetime.",
    ),
    (
        "composes.base_module_names",
        "Module names a module compose may not request.",
    ),
    (
        "composes.raw_config_urls",
        "raw_config sources: `name = { url = ..., config_filename = ..., ... }`.",
    ),
    (
        "composes.arch_queues",
        "Composes for one of these arches go to the job queue `arch-<arch>` (for workers on hosts of that arch); others to the queue named after their source type.",
    ),
    (
        "auth",
        "Who may request, renew and delete composes (ODCS section 5).",
    ),
    (
        "auth.backend",
        "`noauth` (everyone may do everything, owner `unknown`), `oidc` (Bearer tokens) or `proxy` (identity headers of a trusted front proxy).",
    ),
    (
        "auth.admins",
        "Users and groups that may delete composes and skip per-client restrictions.",
    ),
    ("auth.admins.users", "Admin user names."),
    ("auth.admins.groups", "Admin group names."),
    (
        "auth.allowed_clients",
        "Clients allowed to request composes, with optional per-attribute allow-lists.",
    ),
    (
        "auth.allowed_clients.users",
        "`[auth.allowed_clients.users.<name>]` tables of attribute lists.",
    ),
    (
        "auth.allowed_clients.groups",
        "`[auth.allowed_clients.groups.<name>]` tables of attribute lists.",
    ),
    (
        "auth.allowed_source_types",
        "Default `source_types` allow-list of a client entry.",
    ),
    (
        "auth.allowed_flags",
        "Default `flags` allow-list of a client entry.",
    ),
    (
        "auth.allowed_arches",
        "Default `arches` allow-list of a client entry.",
    ),
    (
        "auth.allowed_results",
        "Default `results` allow-list of a client entry.",
    ),
    (
        "auth.allowed_sources",
        "Default `sources` allow-list (`[\"\"]` allows any).",
    ),
    (
        "auth.allowed_compose_types",
        "Default `compose_types` allow-list (`[\"\"]` allows any).",
    ),
    (
        "auth.oidc",
        "`oidc` backend: Bearer JWTs validated locally, or opaque tokens by RFC 7662 introspection.",
    ),
    (
        "auth.oidc.issuer",
        "Required `iss` of tokens; empty = not checked.",
    ),
    (
        "auth.oidc.audiences",
        "Accepted `aud` values; empty = not checked.",
    ),
    (
        "auth.oidc.jwks_file",
        "JWKS file with the signing keys; re-read when it changes.",
    ),
    (
        "auth.oidc.jwks_url",
        "JWKS URL with the signing keys (used when jwks_file is empty).",
    ),
    (
        "auth.oidc.jwks_cache_secs",
        "How long fetched keys are trusted before they are fetched again.",
    ),
    (
        "auth.oidc.jwks_min_refresh_secs",
        "An unknown `kid` refetches the keys at most this often.",
    ),
    (
        "auth.oidc.algorithms",
        "Accepted signature algorithms (asymmetric only: RS*, PS*, ES*).",
    ),
    (
        "auth.oidc.leeway_secs",
        "Clock skew allowed for `exp` and `nbf`.",
    ),
    ("auth.oidc.username_claim", "Claim holding the user name."),
    (
        "auth.oidc.groups_claim",
        "Claim holding the groups (list or space-separated string).",
    ),
    (
        "auth.oidc.scope_claim",
        "Claim holding the granted scopes (space-separated string or list).",
    ),
    (
        "auth.oidc.scope_namespace",
        "Prefix of the endpoint scopes new-compose, renew-compose, delete-compose (ODCS `OIDC_BASE_NAMESPACE`).",
    ),
    (
        "auth.oidc.require_endpoint_scopes",
        "POST, PATCH and DELETE need their endpoint scope.",
    ),
    (
        "auth.oidc.required_scopes",
        "Scopes every token must carry (ODCS `AUTH_OPENIDC_REQUIRED_SCOPES`).",
    ),
    (
        "auth.oidc.introspection_url",
        "RFC 7662 endpoint for tokens that are not JWTs; empty = opaque tokens are refused.",
    ),
    (
        "auth.oidc.introspection_client_id",
        "Client id for the introspection endpoint (HTTP basic auth).",
    ),
    (
        "auth.oidc.introspection_client_secret",
        "Client secret for the introspection endpoint; masked by `composed config`.",
    ),
    (
        "auth.oidc.timeout_secs",
        "Timeout of JWKS and introspection requests.",
    ),
    (
        "auth.proxy",
        "`proxy` backend: the front proxy authenticates and passes the identity in headers.",
    ),
    ("auth.proxy.user_header", "Header with the user name."),
    ("auth.proxy.groups_header", "Header with the groups."),
    (
        "auth.proxy.groups_separator",
        "Separator of the groups in that header.",
    ),
    (
        "auth.proxy.trusted_proxies",
        "Peer addresses (CIDR) whose identity headers are believed; others get 401.",
    ),
    ("worker", "Background work of `serve` and `worker`."),
    (
        "messaging",
        "State changes published from the outbox (fedmsg over ZeroMQ).",
    ),
    (
        "messaging.fedmsg_publish_endpoint",
        "ZeroMQ endpoint composed binds its PUB socket to, e.g. tcp://*:9940; empty = not published.",
    ),
    ("messaging.topic_prefix", "fedmsg topic prefix."),
    (
        "messaging.environment",
        "fedmsg environment (dev, stg, prod): topics are <prefix>.<environment>.odcs.compose.state-changed.",
    ),
    (
        "messaging.relay_interval_ms",
        "How often the outbox is polled for unsent messages.",
    ),
    (
        "messaging.amqp_url",
        "AMQP URL of the RabbitMQ broker for fedora-messaging, e.g. amqp://user:pw@host:5672/%2F; empty = no AMQP (publishing and [triggers] consumer off).",
    ),
    (
        "messaging.amqp_exchange",
        "Exchange state changes are published to (and the trigger queue is bound to).",
    ),
    (
        "messaging.amqp_routing_key",
        "Routing key of state changes; empty = <topic_prefix>.<environment>.odcs.compose.state-changed.",
    ),
    (
        "messaging.reconnect_max_ms",
        "Upper bound of the reconnect backoff of bus connections (AMQP publisher and consumer, ZeroMQ listeners).",
    ),
    (
        "triggers",
        "Composes triggered by bus events (Koji tag/untag/repo.done, MBS module state) and cron schedules; off while no rule is configured.",
    ),
    (
        "triggers.fedmsg_endpoints",
        "fedmsg PUB endpoints composed connects a ZeroMQ SUB to (e.g. a Koji hub's or a relay's tcp://host:9940).",
    ),
    (
        "triggers.fedmsg_inbound_endpoint",
        "Endpoint composed binds a ZeroMQ SUB to, for publishers that connect (fedmsg-logger's relay_inbound); empty = none.",
    ),
    (
        "triggers.amqp_queue",
        "Durable, non-exclusive queue composed consumes (declared and bound on messaging.amqp_url); empty = no AMQP listener.",
    ),
    (
        "triggers.amqp_routing_keys",
        "Routing keys the queue is bound to on messaging.amqp_exchange.",
    ),
    (
        "triggers.amqp_prefetch",
        "Unacknowledged deliveries the broker may push; deliveries that trigger are acknowledged once their compose is stored.",
    ),
    (
        "triggers.max_message_bytes",
        "Larger messages are counted as malformed (reason oversized) and dropped.",
    ),
    (
        "triggers.owner",
        "Owner of the triggered composes (the service identity).",
    ),
    (
        "triggers.debounce_ms",
        "Coalescing window: the first matching event opens it, one compose per rule is made when it closes.",
    ),
    (
        "triggers.koji_instances",
        "Koji `instance` values accepted (a message without one counts as primary).",
    ),
    (
        "triggers.module_states",
        "MBS module states (names or numbers) that trigger a module rule: ready (5), done (3), ...",
    ),
    (
        "triggers.dedup_capacity",
        "Message ids remembered for de-duplication (recent trigger records are reloaded at start).",
    ),
    (
        "triggers.rules",
        "`[[triggers.rules]]`: name; tag = \"T\" (buildsys.tag/untag of T, or `events`) or module = \"N:S\" (mbs.module.state.change); events; cron (6 fields, UTC); source_type (default tag/module); source (default the tag, or N:S:V:C of the event); packages, builds, sigkeys, arches, flags, results, lookaside_repos, multilib_arches, multilib_method, seconds_to_live, label, compose_type.",
    ),
    (
        "koji",
        "The Koji hub tag and build composes read (anonymously), and its topdir.",
    ),
    (
        "koji.hub_url",
        "XML-RPC URL of the hub, e.g. https://koji.fedoraproject.org/kojihub; empty = no Koji.",
    ),
    (
        "koji.topdir",
        "Local mount of the hub's topdir; RPMs are hardlinked from here.",
    ),
    ("koji.topurl", "HTTP URL of the topdir (informative)."),
    (
        "koji.profile",
        "Koji profile name written into generated Pungi configs.",
    ),
    ("koji.timeout_secs", "Timeout of one hub call."),
    (
        "koji.retries",
        "Retries of a hub call on transport errors (with exponential backoff).",
    ),
    ("engine", "The native compose engine."),
    (
        "engine.repodata_compression",
        "`gzip` (what every dnf reads) or `zstd` (Fedora >= 39 default).",
    ),
    (
        "engine.repodata_compression_level",
        "Compression level of the repodata, 1 (fastest) to 9 (smallest); 6 is zlib's default, which createrepo_c uses.",
    ),
    (
        "engine.poll_interval_ms",
        "How often an idle worker looks for queued composes.",
    ),
    (
        "engine.lease_secs",
        "A claimed compose job not finished within this time is taken over by another worker.",
    ),
    (
        "worker.queues",
        "Job queues this worker claims from (`tag`, `build`, `repo`, `module`, `raw_config`, `pungi_compose`, `arch-<arch>`, `cleanup`); empty = all. `composed worker --queue Q` overrides.",
    ),
    (
        "worker.pg_listen",
        "On PostgreSQL, wake idle workers with LISTEN/NOTIFY (one extra connection per worker process); polling stays as the safety net. Turn off behind a transaction-pooling PgBouncer.",
    ),
    (
        "worker.cleanup_schedule",
        "Cron schedule (6 fields, seconds first, UTC) of the cleanup round (expired composes removed, stuck ones failed, expired leases reaped). The scheduler only enqueues a `cleanup` job; a worker runs it.",
    ),
    (
        "worker.stuck_wait_secs",
        "A compose waiting longer than this is failed as stuck.",
    ),
    (
        "worker.stuck_generating_secs",
        "A compose generating longer than this is failed as stuck.",
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid environment variable {name}: {message}")]
    Env { name: String, message: String },
    #[error("invalid settings: {0}")]
    Invalid(String),
}

/// Overrides given on the command line; applied last.
#[derive(Debug, Default, Clone)]
pub struct FlagOverrides {
    pub bind: Option<String>,
    pub database_url: Option<String>,
    pub target_dir: Option<PathBuf>,
    pub target_dir_url: Option<String>,
}

impl Settings {
    /// Loads the layered settings. `file` is optional; the process environment is read.
    pub fn load(file: Option<&Path>, flags: &FlagOverrides) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(file, &env, flags)
    }

    pub fn load_from(
        file: Option<&Path>,
        env: &[(String, String)],
        flags: &FlagOverrides,
    ) -> Result<Self, ConfigError> {
        let mut tree = toml::Value::try_from(Settings::default())
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            let file_tree: toml::Value = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
            merge(&mut tree, file_tree);
        }
        for (name, value) in env {
            let Some(rest) = name.strip_prefix("COMPOSED__") else {
                continue;
            };
            let keys: Vec<String> = rest.split("__").map(|k| k.to_ascii_lowercase()).collect();
            if keys.iter().any(|k| k.is_empty()) {
                return Err(ConfigError::Env {
                    name: name.clone(),
                    message: "empty key segment".into(),
                });
            }
            set_path(&mut tree, &keys, parse_env_value(value)).map_err(|message| {
                ConfigError::Env {
                    name: name.clone(),
                    message,
                }
            })?;
        }
        let mut settings: Settings =
            tree.try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    path: file.map(Path::to_path_buf).unwrap_or_default(),
                    message: e.to_string(),
                })?;
        if let Some(b) = &flags.bind {
            settings.server.bind = b.clone();
        }
        if let Some(u) = &flags.database_url {
            settings.database.url = u.clone();
        }
        if let Some(t) = &flags.target_dir {
            settings.composes.target_dir = t.clone();
        }
        if let Some(u) = &flags.target_dir_url {
            settings.composes.target_dir_url = u.clone();
        }
        settings.validate()?;
        crate::bus::settings::validate(&settings).map_err(ConfigError::Invalid)?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.auth.backend.as_str() {
            "noauth" | "proxy" => {}
            "oidc" => {
                let o = &self.auth.oidc;
                if o.jwks_file.is_empty() && o.jwks_url.is_empty() && o.introspection_url.is_empty()
                {
                    return Err(ConfigError::Invalid(
                        "auth.oidc: set jwks_file, jwks_url or introspection_url".into(),
                    ));
                }
                for a in &o.algorithms {
                    if ![
                        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                    ]
                    .contains(&a.as_str())
                    {
                        return Err(ConfigError::Invalid(format!(
                            "auth.oidc.algorithms: {a:?} is not an accepted asymmetric algorithm"
                        )));
                    }
                }
            }
            other => {
                return Err(ConfigError::Invalid(format!(
                    "auth.backend: unknown backend {other:?} (supported: \"noauth\", \"oidc\", \"proxy\")"
                )));
            }
        }
        for cidr in &self.auth.proxy.trusted_proxies {
            if cidr.parse::<ipnet::IpNet>().is_err() && cidr.parse::<std::net::IpAddr>().is_err() {
                return Err(ConfigError::Invalid(format!(
                    "auth.proxy.trusted_proxies: {cidr:?} is not an address or CIDR"
                )));
            }
        }
        if self.composes.seconds_to_live <= 0 || self.composes.max_seconds_to_live <= 0 {
            return Err(ConfigError::Invalid(
                "composes.seconds_to_live and composes.max_seconds_to_live must be positive".into(),
            ));
        }
        if self.server.max_per_page < 1 {
            return Err(ConfigError::Invalid(
                "server.max_per_page must be at least 1".into(),
            ));
        }
        if !["gzip", "zstd"].contains(&self.engine.repodata_compression.as_str()) {
            return Err(ConfigError::Invalid(format!(
                "engine.repodata_compression: {:?} is neither \"gzip\" nor \"zstd\"",
                self.engine.repodata_compression
            )));
        }
        crate::schedule::validate(&self.worker.cleanup_schedule)
            .map_err(|e| ConfigError::Invalid(format!("worker.cleanup_schedule: {e}")))?;
        if !["text", "json"].contains(&self.server.log_format.as_str()) {
            return Err(ConfigError::Invalid(format!(
                "server.log_format: {:?} is neither \"text\" nor \"json\"",
                self.server.log_format
            )));
        }
        Ok(())
    }

    /// The resolved settings as TOML, secrets (passwords in URLs) masked.
    pub fn to_masked_toml(&self) -> String {
        let mut s = self.clone();
        s.database.url = mask_url_password(&s.database.url);
        s.messaging.amqp_url = mask_url_password(&s.messaging.amqp_url);
        if !s.auth.oidc.introspection_client_secret.is_empty() {
            s.auth.oidc.introspection_client_secret = "***".into();
        }
        toml::to_string_pretty(&s).unwrap_or_default()
    }
}

fn parse_env_value(raw: &str) -> toml::Value {
    // A value that parses as a TOML value (number, bool, array, inline table, quoted string)
    // is taken as such; anything else is a plain string.
    match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.into())),
        Err(_) => toml::Value::String(raw.into()),
    }
}

fn set_path(tree: &mut toml::Value, keys: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = keys.split_last().ok_or("no key")?;
    let mut node = tree;
    for k in parents {
        let table = node
            .as_table_mut()
            .ok_or_else(|| format!("{k} is not a section"))?;
        node = table
            .entry(k.clone())
            .or_insert_with(|| toml::Value::Table(Default::default()));
    }
    let table = node.as_table_mut().ok_or("not a section")?;
    // Keep the type of the default where the raw text was ambiguous (e.g. a numeric string).
    let value = match (table.get(last), value) {
        (
            Some(toml::Value::String(_)),
            v @ (toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_)),
        ) => toml::Value::String(v.to_string()),
        (_, v) => v,
    };
    table.insert(last.clone(), value);
    Ok(())
}

fn merge(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing @ toml::Value::Table(_)) if v.is_table() => merge(existing, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn mask_url_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Renders the defaults as a commented TOML file (the committed `config/composed.toml`).
pub fn render_documented_defaults() -> String {
    let tree = toml::Value::try_from(Settings::default()).expect("defaults serialize");
    let docs: BTreeMap<&str, &str> = DOCS.iter().copied().collect();
    let mut out = String::from(
        "# composed settings: every key with its default value.\n\
         # Layers: these defaults, then this file (--config), then COMPOSED__SECTION__KEY\n\
         # environment variables (e.g. COMPOSED__DATABASE__URL), then command-line flags.\n\
         # Generated by `composed config --defaults`; a test keeps it in sync.\n",
    );
    let table = tree.as_table().expect("table");
    for (section, value) in table {
        render_table(&mut out, section, value, &docs);
    }
    out
}

fn render_table(out: &mut String, path: &str, value: &toml::Value, docs: &BTreeMap<&str, &str>) {
    let table = value.as_table().expect("section table");
    out.push('\n');
    if let Some(d) = docs.get(path) {
        out.push_str(&format!("# {d}\n"));
    }
    out.push_str(&format!("[{path}]\n"));
    let mut subtables = Vec::new();
    for (k, v) in table {
        let key_path = format!("{path}.{k}");
        let is_struct = v.is_table() && docs.keys().any(|d| d.starts_with(&format!("{key_path}.")));
        if is_struct {
            subtables.push((key_path, v));
            continue;
        }
        if let Some(d) = docs.get(key_path.as_str()) {
            out.push_str(&format!("# {d}\n"));
        }
        let mut one = toml::Table::new();
        one.insert(k.clone(), v.clone());
        let line = toml::to_string(&one).expect("value");
        if v.is_table() && v.as_table().is_some_and(|t| t.is_empty()) {
            out.push_str(&format!("{k} = {{}}\n"));
        } else {
            out.push_str(&line);
        }
    }
    for (p, v) in subtables {
        render_table(out, &p, v, docs);
    }
}

/// Every key path of the defaults, for the documentation test.
pub fn default_key_paths() -> Vec<String> {
    fn walk(prefix: &str, v: &toml::Value, out: &mut Vec<String>) {
        if let Some(t) = v.as_table() {
            for (k, child) in t {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.push(p.clone());
                if child.as_table().is_some_and(|t| !t.is_empty()) {
                    walk(&p, child, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(
        "",
        &toml::Value::try_from(Settings::default()).expect("defaults"),
        &mut out,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_documented() {
        let docs: Vec<&str> = DOCS.iter().map(|(k, _)| *k).collect();
        for key in default_key_paths() {
            assert!(
                docs.contains(&key.as_str()),
                "{key} has no documentation in DOCS"
            );
        }
    }

    #[test]
    fn committed_defaults_file_is_current() {
        let committed = include_str!("../config/composed.toml");
        assert_eq!(
            committed,
            render_documented_defaults(),
            "config/composed.toml is stale: run `cargo run -- config --defaults > config/composed.toml`"
        );
        let parsed: Settings = toml::from_str(committed).expect("committed file parses");
        assert_eq!(parsed, Settings::default());
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "[server]\nbind = \"0.0.0.0:1\"\nworkers = 3\n[database]\nurl = \"sqlite://file.db\"\n",
        )
        .unwrap();
        let env = vec![
            ("COMPOSED__SERVER__WORKERS".to_string(), "7".to_string()),
            (
                "COMPOSED__COMPOSES__ARCHES".to_string(),
                "[\"aarch64\", \"x86_64\"]".to_string(),
            ),
            (
                "COMPOSED__SERVER__COMPOSES_PATH".to_string(),
                "/c".to_string(),
            ),
            ("UNRELATED".to_string(), "x".to_string()),
        ];
        let flags = FlagOverrides {
            database_url: Some("postgres://u:pw@h/db".into()),
            ..Default::default()
        };
        let s = Settings::load_from(Some(&file), &env, &flags).unwrap();
        assert_eq!(s.server.bind, "0.0.0.0:1");
        assert_eq!(s.server.workers, 7);
        assert_eq!(s.composes.arches, vec!["aarch64", "x86_64"]);
        assert_eq!(s.server.composes_path, "/c");
        assert_eq!(s.database.url, "postgres://u:pw@h/db");
        assert!(s.to_masked_toml().contains("postgres://u:***@h/db"));
        assert!(!s.to_masked_toml().contains("pw@"));
    }

    #[test]
    fn bad_values_name_the_key() {
        let env = vec![("COMPOSED__SERVER__WORKERS".to_string(), "many".to_string())];
        let err = Settings::load_from(None, &env, &FlagOverrides::default()).unwrap_err();
        assert!(err.to_string().contains("workers"), "{err}");
        let env = vec![("COMPOSED__SERVER__NOPE".to_string(), "1".to_string())];
        let err = Settings::load_from(None, &env, &FlagOverrides::default()).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
