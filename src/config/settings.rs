//! The settings as plain data: one serde struct per section, with its defaults. Nothing here
//! reads files, the environment or another module of the crate; loading is `load.rs`, the
//! checks run at start-up (`app::validate_settings`).

use std::collections::BTreeMap;
use std::path::PathBuf;

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
    pub mbs: MbsSettings,
    pub engine: EngineSettings,
    pub messaging: MessagingSettings,
    pub triggers: TriggerSettings,
    pub notifications: NotificationSettings,
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
    pub answer_cache_rows: usize,
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
            answer_cache_rows: 300_000,
        }
    }
}

/// The Module Build Service module composes are resolved with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MbsSettings {
    pub url: String,
    pub timeout_secs: u64,
    pub retries: u32,
}

impl Default for MbsSettings {
    fn default() -> Self {
        Self {
            url: String::new(),
            timeout_secs: 60,
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
    /// Who writes the `iso` result's ISOs: `native` or `xorriso`.
    pub iso_writer: String,
    pub poll_interval_ms: u64,
    pub lease_secs: i64,
    /// Free space added to a disk image beyond its files, in MiB.
    pub image_free_mib: u64,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            repodata_compression: "gzip".into(),
            repodata_compression_level: 6,
            iso_writer: "native".into(),
            poll_interval_ms: 500,
            lease_secs: 300,
            image_free_mib: 64,
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
    pub repo_dirs: Vec<PathBuf>,
    /// The external command that makes `boot.iso` (argv; empty: `boot.iso` is refused).
    pub boot_iso_command: Vec<String>,
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
    pub login: OidcLoginSettings,
}

/// The web UI's login under the `oidc` backend: the OpenID Connect authorization-code flow
/// with PKCE against `auth.oidc.issuer`, ending in a signed session cookie.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OidcLoginSettings {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_url: String,
    pub scopes: Vec<String>,
    pub session_secret: String,
    pub session_hours: u64,
}

impl Default for OidcLoginSettings {
    fn default() -> Self {
        Self {
            client_id: String::new(),
            client_secret: String::new(),
            redirect_url: String::new(),
            scopes: vec!["openid".into(), "profile".into()],
            session_secret: String::new(),
            session_hours: 8,
        }
    }
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
            login: OidcLoginSettings::default(),
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
            repo_dirs: vec![],
            boot_iso_command: vec![],
        }
    }
}

/// Every flag name of the wire format (contract §1.6.3), the default `auth.allowed_flags`.
/// Kept as text so that settings stay below `domain`; a test of `domain` checks it against
/// `Flag::ALL`.
pub const DEFAULT_ALLOWED_FLAGS: &[&str] = &[
    "no_flags",
    "no_deps",
    "no_inheritance",
    "include_unpublished_pulp_repos",
    "check_deps",
    "include_done_modules",
    "ignore_absent_pulp_repos",
    "no_reuse",
    "use_only_compatible_arch",
    "no_label",
];

/// Every result name (contract §1.6.3), the default `auth.allowed_results`; checked against
/// `ResultKind::ALL` by a test of `domain`.
pub const DEFAULT_ALLOWED_RESULTS: &[&str] = &[
    "repository",
    "iso",
    "ostree",
    "boot.iso",
    "raw",
    "qcow2",
    "oci",
];

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            backend: "noauth".into(),
            admins: Admins::default(),
            allowed_clients: AllowedClients::default(),
            allowed_source_types: vec!["tag".into(), "module".into(), "build".into()],
            allowed_flags: DEFAULT_ALLOWED_FLAGS
                .iter()
                .map(|f| f.to_string())
                .collect(),
            allowed_arches: vec!["x86_64".into()],
            allowed_results: DEFAULT_ALLOWED_RESULTS
                .iter()
                .map(|r| r.to_string())
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

/// `[triggers]`: listeners, coalescing and the rules that turn bus events and schedules into
/// composes (checked by `bus::settings::validate`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TriggerSettings {
    pub fedmsg_endpoints: Vec<String>,
    pub fedmsg_inbound_endpoint: String,
    pub amqp_queue: String,
    pub amqp_routing_keys: Vec<String>,
    pub amqp_prefetch: u16,
    pub max_message_bytes: usize,
    pub owner: String,
    pub debounce_ms: u64,
    pub koji_instances: Vec<String>,
    pub module_states: Vec<String>,
    pub dedup_capacity: usize,
    pub rules: Vec<TriggerRule>,
}

impl Default for TriggerSettings {
    fn default() -> Self {
        Self {
            fedmsg_endpoints: vec![],
            fedmsg_inbound_endpoint: String::new(),
            amqp_queue: String::new(),
            amqp_routing_keys: vec![
                "#.buildsys.tag".into(),
                "#.buildsys.untag".into(),
                "#.buildsys.repo.done".into(),
                "#.mbs.module.state.change".into(),
            ],
            amqp_prefetch: 5000,
            max_message_bytes: 256 * 1024,
            owner: "composed".into(),
            debounce_ms: 5000,
            koji_instances: vec!["primary".into()],
            module_states: vec!["ready".into()],
            dedup_capacity: 100_000,
            rules: vec![],
        }
    }
}

/// One `[[triggers.rules]]` entry. The compose it requests is built as the JSON body of a POST
/// (`bus::settings`) and goes through the same validation and defaults as one.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TriggerRule {
    pub name: String,
    /// Koji tag whose changes trigger this rule.
    pub tag: String,
    /// `name:stream` of the module whose builds trigger this rule.
    pub module: String,
    /// Topic suffixes that trigger (default: buildsys.tag + buildsys.untag for a tag rule,
    /// mbs.module.state.change for a module rule).
    pub events: Vec<String>,
    /// 6-field cron expression (seconds first, UTC); empty = no schedule.
    pub cron: String,
    pub source_type: String,
    pub source: String,
    pub packages: Option<Vec<String>>,
    pub builds: Option<Vec<String>>,
    pub sigkeys: Option<Vec<String>>,
    pub arches: Option<Vec<String>>,
    pub flags: Vec<String>,
    pub results: Vec<String>,
    pub lookaside_repos: Option<Vec<String>>,
    pub multilib_arches: Option<Vec<String>>,
    pub multilib_method: Option<Vec<String>>,
    pub seconds_to_live: Option<i64>,
    pub label: Option<String>,
    pub compose_type: Option<String>,
}

/// Notifications of state changes by email and webhook (checked by
/// `notify::validate_settings` at start-up).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationSettings {
    /// SMTP server (lettre URL): `smtp://host:25` plain (localhost), `smtp://user:pass@host:587?tls=required`
    /// submission with STARTTLS, `smtps://user:pass@host:465`; empty = no email.
    pub smtp_url: String,
    /// The From: of the mails.
    pub from: String,
    /// Public URL of the API, for the links in messages (the compose page).
    pub api_url: String,
    /// Domains a request's own `notify.email` addresses may be in (empty: none).
    pub email_domains: Vec<String>,
    /// Attempts per delivery before it is given up (marked failed).
    pub max_attempts: i32,
    /// The longest wait between two attempts (they double from 2 s).
    pub retry_max_secs: u64,
    pub webhooks: Vec<WebhookTarget>,
    pub rules: Vec<NotificationRule>,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            smtp_url: String::new(),
            from: "composed <composed@localhost>".into(),
            api_url: "http://127.0.0.1:5005".into(),
            email_domains: vec![],
            max_attempts: 10,
            retry_max_secs: 3600,
            webhooks: vec![],
            rules: vec![],
        }
    }
}

/// One `[[notifications.webhooks]]` target: deliveries to `url`, or (a request's own) to URLs
/// under it, signed with its secret.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookTarget {
    pub name: String,
    pub url: String,
    /// The HMAC-SHA256 key (at least 32 bytes), or empty with `secret_file`.
    pub secret: String,
    pub secret_file: String,
}

/// One `[[notifications.rules]]` entry: which state changes notify whom.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationRule {
    pub name: String,
    /// States entered that notify (default done and failed).
    pub states: Vec<String>,
    /// Only composes of this owner (empty: any).
    pub owner: String,
    /// Only composes of this source type (empty: any).
    pub source_type: String,
    /// Only composes whose source matches this pattern (`*` any characters; empty: any).
    pub source: String,
    pub email: Vec<String>,
    /// Names of `[[notifications.webhooks]]`.
    pub webhooks: Vec<String>,
}
