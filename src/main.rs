//! `composed`: one binary, several roles.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use composed::app::{Application, Roles};
use composed::config::{FlagOverrides, Settings};

#[derive(Debug, Parser)]
#[command(
    name = "composed",
    version,
    about = "On-demand compose service, wire-compatible with ODCS API v1"
)]
struct Cli {
    /// TOML settings file (see config/composed.toml).
    #[arg(long, short = 'c', global = true, env = "COMPOSED_CONFIG")]
    config: Option<PathBuf>,
    /// Listen address, e.g. 127.0.0.1:5005.
    #[arg(long, global = true)]
    bind: Option<String>,
    /// Database URL: sqlite://<path> or postgres://…
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Directory of the compose directories.
    #[arg(long, global = true)]
    target_dir: Option<PathBuf>,
    /// Public URL of the target directory.
    #[arg(long, global = true)]
    target_dir_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// All in one process: API, background work and the compose directory over HTTP.
    Serve,
    /// The HTTP API only.
    Api,
    /// Background work only (no HTTP).
    Worker {
        /// A job queue to claim from (repeatable): `tag`, `build`, `repo`, `module`,
        /// `raw_config`, `pungi_compose`, `arch-<arch>`, `cleanup`. Default: `worker.queues`
        /// (all when empty).
        #[arg(long = "queue")]
        queues: Vec<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Print the OpenAPI document (or write it to a file).
    Openapi {
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
    /// Print the resolved settings (secrets masked), or the documented defaults.
    Config {
        #[arg(long)]
        defaults: bool,
    },
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let flags = FlagOverrides {
        bind: cli.bind.clone(),
        database_url: cli.database_url.clone(),
        target_dir: cli.target_dir.clone(),
        target_dir_url: cli.target_dir_url.clone(),
    };
    match &cli.command {
        Command::Config { defaults: true } => {
            print!("{}", composed::config::render_documented_defaults());
            return Ok(());
        }
        Command::Openapi { output } => {
            let text = composed::api::openapi::render();
            match output {
                Some(p) => std::fs::write(p, text)?,
                None => print!("{text}"),
            }
            return Ok(());
        }
        _ => {}
    }
    let settings = composed::app::load_settings(cli.config.as_deref(), &flags)?;
    init_logging(&settings.server.log_format);
    match cli.command {
        Command::Config { .. } => {
            print!("{}", settings.to_masked_toml());
            Ok(())
        }
        Command::Migrate => {
            let (_pool, backend) = composed::app::open_database(&settings)?;
            tracing::info!(?backend, "database is up to date");
            Ok(())
        }
        Command::Serve => run(settings, Roles::ALL_IN_ONE),
        Command::Api => run(settings, Roles::API),
        Command::Worker { queues } => {
            let mut settings = settings;
            if !queues.is_empty() {
                settings.worker.queues = queues
                    .iter()
                    .flat_map(|q| q.split(','))
                    .map(|q| q.trim().to_string())
                    .filter(|q| !q.is_empty())
                    .collect();
            }
            run(settings, Roles::WORKER)
        }
        Command::Openapi { .. } => unreachable!("handled above"),
    }
}

fn run(settings: Settings, roles: Roles) -> anyhow::Result<()> {
    let result = actix_web::rt::System::new().block_on(async move {
        let mut app = Application::build(settings, roles)?;
        if roles.api {
            tracing::info!(port = app.port, "composed listening");
        }
        if roles.background {
            app.start_background();
        }
        app.run().await
    });
    // The engine may still be in a blocking thread (hashing, writing repodata); the runtime
    // would wait for it when dropped. The job's lease covers it: leave now.
    if let Err(e) = &result {
        eprintln!("composed: {e:#}");
        std::process::exit(1);
    }
    tracing::info!("stopped");
    std::process::exit(0)
}
