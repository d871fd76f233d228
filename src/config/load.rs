//! Loading the layers with figment: built-in defaults → the TOML file (`--config`) →
//! `COMPOSED__SECTION__KEY` environment variables → command-line flags, each merged over the
//! previous one (tables merge key by key, any other value is replaced). No checks of the values
//! run here: `app::load_settings` runs them once the layers are merged.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Serialized};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider, Source};

use super::settings::Settings;

/// Prefix of the environment variables; `__` separates the key path below it.
const ENV_PREFIX: &str = "COMPOSED__";

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
        check_env_names(std::env::vars_os().map(|(name, _)| name.to_string_lossy().into_owned()))?;
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            figment = figment.merge(TomlFile::read(path)?);
        }
        let env = Env::prefixed(ENV_PREFIX).split("__");
        let env_keys: Vec<String> = env.iter().map(|(key, _)| key.to_string()).collect();
        let texts = string_texts(&figment, &env);
        figment = figment.merge(env);
        for (key, text) in texts {
            figment = figment.merge(Serialized::default(&key, text));
        }
        figment
            .merge(flags.clone())
            .extract()
            .map_err(|e| config_error(e, &env_keys))
    }

    /// The resolved settings as TOML, secrets (passwords in URLs) masked.
    pub fn to_masked_toml(&self) -> String {
        let mut s = self.clone();
        s.database.url = mask_url_password(&s.database.url);
        s.messaging.amqp_url = mask_url_password(&s.messaging.amqp_url);
        if !s.auth.oidc.introspection_client_secret.is_empty() {
            s.auth.oidc.introspection_client_secret = "***".into();
        }
        if !s.auth.oidc.login.client_secret.is_empty() {
            s.auth.oidc.login.client_secret = "***".into();
        }
        if !s.auth.oidc.login.session_secret.is_empty() {
            s.auth.oidc.login.session_secret = "***".into();
        }
        toml::to_string_pretty(&s).unwrap_or_default()
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

/// figment's `Env` skips a variable with an empty key segment (`COMPOSED__SERVER____BIND`,
/// `COMPOSED__SERVER__`); such a variable is a mistake, and it has always been refused.
fn check_env_names(names: impl Iterator<Item = String>) -> Result<(), ConfigError> {
    for name in names {
        if let Some(rest) = name.strip_prefix(ENV_PREFIX)
            && rest.split("__").any(str::is_empty)
        {
            return Err(ConfigError::Env {
                name,
                message: "empty key segment".into(),
            });
        }
    }
    Ok(())
}

/// The variables that set a string key (one whose value below the environment layer is a
/// string) to a text figment reads as a number or a bool: these keep their text. figment's `Env`
/// would make `COMPOSED__AUTH__OIDC__INTROSPECTION_CLIENT_ID=123456` a number and then refuse
/// it for a string; the variables have always kept the type of the key they set, and client
/// ids, secrets and names are often all digits. Every other value is read by `Env` as it is
/// (numbers, bools, `[..]` arrays, `{..}` tables, `"quoted"` strings, else the text).
fn string_texts(below: &Figment, env: &Env) -> Vec<(String, String)> {
    env.iter()
        .filter(|(key, text)| {
            matches!(below.find_value(key.as_str()), Ok(Value::String(..)))
                && matches!(text.parse(), Ok(Value::Num(..) | Value::Bool(..)))
        })
        .map(|(key, text)| (key.to_string(), text))
        .collect()
}

/// The `--config` file, parsed with the crate's `toml` (TOML 1.1) rather than figment's `Toml`
/// provider, which parses TOML 1.0 (toml 0.8) and refuses files that have always loaded, e.g.
/// an inline table spread over lines (see the test `toml_1_1_file_loads`).
struct TomlFile {
    path: PathBuf,
    table: toml::Table,
}

impl TomlFile {
    fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            table,
        })
    }
}

impl Provider for TomlFile {
    fn metadata(&self) -> Metadata {
        Metadata::from("TOML file", self.path.as_path())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Serialized::defaults(&self.table).data()
    }
}

impl Provider for FlagOverrides {
    fn metadata(&self) -> Metadata {
        Metadata::named("command-line flags")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let target_dir = match &self.target_dir {
            Some(p) => Some(p.to_str().map(str::to_string).ok_or_else(|| {
                figment::Error::from(format!("--target-dir {}: not UTF-8", p.display()))
            })?),
            None => None,
        };
        let mut tree = toml::Table::new();
        for (section, key, value) in [
            ("server", "bind", &self.bind),
            ("database", "url", &self.database_url),
            ("composes", "target_dir", &target_dir),
            ("composes", "target_dir_url", &self.target_dir_url),
        ] {
            if let Some(v) = value {
                let table = tree
                    .entry(section)
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                if let toml::Value::Table(t) = table {
                    t.insert(key.into(), toml::Value::String(v.clone()));
                }
            }
        }
        Serialized::defaults(tree).data()
    }
}

/// A figment error as the error of the layer the value came from, naming the key (and the file
/// or variable).
fn config_error(e: figment::Error, env_keys: &[String]) -> ConfigError {
    let key = e.path.join(".");
    let message = if key.is_empty() {
        e.kind.to_string()
    } else {
        format!("{key}: {}", e.kind)
    };
    let from_env = e
        .metadata
        .as_ref()
        .is_some_and(|m| m.name.contains("environment variable"));
    match e.metadata.as_ref().and_then(|m| m.source.as_ref()) {
        Some(Source::File(path)) => ConfigError::Parse {
            path: path.clone(),
            message,
        },
        _ if from_env => ConfigError::Env {
            name: env_name(&e.path, env_keys),
            message,
        },
        _ => ConfigError::Invalid(message),
    }
}

/// The variable that set the value at `path` (the longest variable key `path` starts with).
fn env_name(path: &[String], env_keys: &[String]) -> String {
    let key = env_keys
        .iter()
        .filter(|k| {
            let parts: Vec<&str> = k.split('.').collect();
            path.len() >= parts.len() && path.iter().zip(&parts).all(|(a, b)| a == b)
        })
        .max_by_key(|k| k.len())
        .cloned()
        .unwrap_or_else(|| path.join("."));
    format!(
        "{ENV_PREFIX}{}",
        key.to_ascii_uppercase().replace('.', "__")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::Jail;

    /// Runs `f` in figment's `Jail`: its lock held, the environment and directory restored after.
    #[allow(clippy::result_large_err)] // the closure type is figment's
    fn jailed(f: impl FnOnce(&mut Jail)) {
        Jail::expect_with(|jail| {
            f(jail);
            Ok(())
        });
    }

    fn load(file: Option<&Path>, flags: &FlagOverrides) -> Result<Settings, String> {
        Settings::load(file, flags).map_err(|e| e.to_string())
    }

    #[test]
    fn layers_apply_in_order() {
        jailed(|jail| {
            let file = jail.directory().join("c.toml");
            std::fs::write(
                &file,
                "[server]\nbind = \"0.0.0.0:1\"\nworkers = 3\n[database]\nurl = \"sqlite://file.db\"\n",
            )
            .unwrap();
            jail.set_env("COMPOSED__SERVER__WORKERS", "7");
            jail.set_env("COMPOSED__COMPOSES__ARCHES", "[\"aarch64\", \"x86_64\"]");
            jail.set_env("COMPOSED__SERVER__COMPOSES_PATH", "/c");
            jail.set_env("UNRELATED", "x");
            let flags = FlagOverrides {
                database_url: Some("postgres://u:pw@h/db".into()),
                ..Default::default()
            };
            let s = load(Some(&file), &flags).unwrap();
            assert_eq!(s.server.bind, "0.0.0.0:1");
            assert_eq!(s.server.workers, 7);
            assert_eq!(s.composes.arches, vec!["aarch64", "x86_64"]);
            assert_eq!(s.server.composes_path, "/c");
            assert_eq!(s.database.url, "postgres://u:pw@h/db");
            assert!(s.to_masked_toml().contains("postgres://u:***@h/db"));
            assert!(!s.to_masked_toml().contains("pw@"));
        });
    }

    #[test]
    fn bad_values_name_the_key() {
        jailed(|jail| {
            jail.set_env("COMPOSED__SERVER__WORKERS", "many");
            let err = load(None, &FlagOverrides::default()).unwrap_err();
            assert!(err.contains("workers"), "{err}");
            assert!(err.contains("COMPOSED__SERVER__WORKERS"), "{err}");
            jail.set_env("COMPOSED__SERVER__WORKERS", "2");
            jail.set_env("COMPOSED__SERVER__NOPE", "1");
            let err = load(None, &FlagOverrides::default()).unwrap_err();
            assert!(err.contains("nope"), "{err}");
        });
        jailed(|jail| {
            let file = jail.directory().join("c.toml");
            std::fs::write(&file, "[koji]\nretries = \"3\"\n").unwrap();
            let err = load(Some(&file), &FlagOverrides::default()).unwrap_err();
            assert!(err.starts_with("invalid config file "), "{err}");
            assert!(
                err.contains("c.toml") && err.contains("koji.retries"),
                "{err}"
            );
            std::fs::write(&file, "[koji\n").unwrap();
            let err = load(Some(&file), &FlagOverrides::default()).unwrap_err();
            assert!(
                err.starts_with("invalid config file ") && err.contains("c.toml"),
                "{err}"
            );
            let err = load(
                Some(&jail.directory().join("no.toml")),
                &FlagOverrides::default(),
            )
            .unwrap_err();
            assert!(err.starts_with("cannot read config file "), "{err}");
            jail.set_env("COMPOSED__SERVER____BIND", "x");
            let err = load(None, &FlagOverrides::default()).unwrap_err();
            assert_eq!(
                err,
                "invalid environment variable COMPOSED__SERVER____BIND: empty key segment"
            );
        });
    }

    #[test]
    fn env_values_keep_the_type_of_their_key() {
        jailed(|jail| {
            jail.set_env("COMPOSED__AUTH__OIDC__INTROSPECTION_CLIENT_ID", "123456");
            jail.set_env("COMPOSED__KOJI__PROFILE", "true");
            jail.set_env("COMPOSED__MESSAGING__ENVIRONMENT", "\"quoted\"");
            jail.set_env("COMPOSED__SERVER__BIND", "[::]:5005");
            jail.set_env("COMPOSED__SERVER__SERVE_COMPOSES", "false");
            jail.set_env("COMPOSED__WORKER__CLEANUP_SCHEDULE", "0 0,30 * * * *");
            jail.set_env("COMPOSED__AUTH__ALLOWED_SOURCES", "[\"\"]");
            jail.set_env(
                "COMPOSED__COMPOSES__EXTRA_TARGET_DIRS__PRIVATE",
                "/srv/private",
            );
            jail.set_env(
                "COMPOSED__COMPOSES__RAW_CONFIG_URLS",
                "{ pungi = { url = \"https://x/p.git\", seconds_to_live = 60 } }",
            );
            let s = load(None, &FlagOverrides::default()).unwrap();
            assert_eq!(s.auth.oidc.introspection_client_id, "123456");
            assert_eq!(s.koji.profile, "true");
            assert_eq!(s.messaging.environment, "quoted");
            assert_eq!(s.server.bind, "[::]:5005");
            assert!(!s.server.serve_composes);
            assert_eq!(s.worker.cleanup_schedule, "0 0,30 * * * *");
            assert_eq!(s.auth.allowed_sources, vec![String::new()]);
            assert_eq!(
                s.composes.extra_target_dirs["private"],
                PathBuf::from("/srv/private")
            );
            let pungi = &s.composes.raw_config_urls["pungi"];
            assert_eq!(pungi["url"], "https://x/p.git");
            assert_eq!(pungi["seconds_to_live"], 60);
        });
    }

    #[test]
    fn flags_override_the_environment() {
        jailed(|jail| {
            jail.set_env("COMPOSED__SERVER__BIND", "0.0.0.0:1");
            jail.set_env("COMPOSED__COMPOSES__TARGET_DIR", "/env");
            let flags = FlagOverrides {
                bind: Some("127.0.0.1:2".into()),
                target_dir: Some("/flag".into()),
                target_dir_url: Some("http://h/c".into()),
                ..Default::default()
            };
            let s = load(None, &flags).unwrap();
            assert_eq!(s.server.bind, "127.0.0.1:2");
            assert_eq!(s.composes.target_dir, PathBuf::from("/flag"));
            assert_eq!(s.composes.target_dir_url, "http://h/c");
            assert_eq!(s.database.url, Settings::default().database.url);
        });
    }

    #[test]
    fn toml_1_1_file_loads() {
        jailed(|jail| {
            let file = jail.directory().join("c.toml");
            std::fs::write(
                &file,
                "[composes]\nraw_config_urls = { pungi = {\n  url = \"https://x/p.git\",\n  config_filename = \"p.conf\",\n} }\n",
            )
            .unwrap();
            let s = load(Some(&file), &FlagOverrides::default()).unwrap();
            assert_eq!(
                s.composes.raw_config_urls["pungi"]["config_filename"],
                "p.conf"
            );
        });
    }
}
