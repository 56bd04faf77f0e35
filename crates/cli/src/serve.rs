//! `baton serve DIR…`: serve assistants over the Watson Assistant v2 compatible HTTP API.
//!
//! Settings come from defaults, then `--config FILE` (TOML), then `BATON_*` environment variables,
//! then the flags here (see `baton_server::Config`). This is the one place that installs a tracing
//! subscriber for the server: human-readable by default, JSON with `--log-format json`, filtered
//! by `RUST_LOG` (default `info`). User text is logged only at `debug` and below.

use std::path::PathBuf;

use anyhow::Context as _;

use baton_dialog::Engine;
use baton_server::{Assistants, Clock, Config, Services};

/// Arguments of `baton serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The assistant folders; each is served under its id (`/v2/assistants/{id}/…`).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// A TOML config file; every key is optional.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where to listen [default: 127.0.0.1:8080, env BATON_LISTEN].
    #[arg(long)]
    pub listen: Option<String>,
    /// `sqlite://PATH`, or `postgres://USER:PASSWORD@HOST:PORT/DATABASE` for several servers on one
    /// database [default: sqlite://baton.db, env BATON_DATABASE_URL].
    #[arg(long)]
    pub database: Option<String>,
    /// Development mode: the API needs no key, and folders are watched [env BATON_DEV].
    #[arg(long)]
    pub dev: bool,
    /// Reload an assistant when its folder's files change (on in development mode unless
    /// BATON_WATCH=false) [env BATON_WATCH]. SIGHUP reloads every assistant either way.
    #[arg(long)]
    pub watch: bool,
    /// Log output format.
    #[arg(long, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

pub fn run(args: ServeArgs) -> anyhow::Result<i32> {
    let mut config = Config::load(args.config.as_deref(), std::env::vars()).context("reading configuration")?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(database) = args.database {
        config.database_url = database;
    }
    if args.dev {
        config.dev = true;
    }
    if args.watch {
        config.watch = Some(true);
    }
    init_logging(args.log_format);

    let mut engines = Vec::new();
    let mut folders = Vec::new();
    for dir in &args.dirs {
        let Some(assistant) = crate::check::load_reporting(dir) else {
            return Ok(1);
        };
        folders.push((dir.clone(), assistant.id.clone()));
        engines.push(Engine::new(assistant));
    }
    let assistants = Assistants::new(engines)?;
    if config.dev {
        tracing::warn!("development mode: the API accepts requests without an API key");
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let store = baton_store::open(&config.database_url)
            .await
            .context("opening the database")?;
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        // Held while the server runs: dropping it stops the watching.
        let reloader = crate::reload::start(folders, assistants.clone(), config.watches())?;
        reloader.on_hangup();
        if config.watches() {
            tracing::info!("watching the assistant folders: an edit is served as soon as it loads without errors");
        }
        eprintln!("baton: serving on http://{}", listener.local_addr()?);
        let services = Services {
            assistants,
            store,
            clock: Clock::System,
        };
        baton_server::run(listener, config, services, shutdown_signal())
            .await
            .context("serving")?;
        anyhow::Ok(0)
    })
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
