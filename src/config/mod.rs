//! Settings, the bottom of the crate: plain data that imports nothing of the crate.
//! Layers: built-in defaults → TOML file → `COMPOSED__SECTION__KEY` environment variables →
//! command-line flags, merged by figment (`load.rs`). `config/composed.toml` is rendered from
//! the defaults and the key documentation (`keys.toml`) by [`render_documented_defaults`]
//! (`docs.rs`), and a test keeps it in sync. The checks of the values run at start-up, in
//! `app::validate_settings` and the modules that own them.

mod docs;
mod load;
mod settings;

pub use docs::{default_key_paths, key_docs, render_documented_defaults};
pub use load::{ConfigError, FlagOverrides, mask_url_password};
pub use settings::{
    Admins, AllowedClients, AuthSettings, ComposeSettings, DEFAULT_ALLOWED_FLAGS,
    DEFAULT_ALLOWED_RESULTS, DatabaseSettings, EngineSettings, KojiSettings, MbsSettings,
    MessagingSettings, NotificationRule, NotificationSettings, OidcLoginSettings, OidcSettings,
    ProxySettings, ServerSettings, Settings, TriggerRule, TriggerSettings, WebhookTarget,
    WorkerSettings,
};
