//! A bare server binary: `baton-server [--listen ADDR] [--database URL] [--dev] DIR…`.
//!
//! `baton serve` (the CLI) is the full command, with config files, environment variables and
//! logging; this one exists so the server's own tests can start, and `kill -9`, a real process
//! without depending on the CLI crate. It prints `listening on ADDR` on stdout once it accepts
//! connections, which lets a caller ask for port 0.

use std::path::PathBuf;
use std::process::ExitCode;

use baton_dialog::Engine;
use baton_server::{Assistants, Clock, Config, Services};

/// The same allocator as `baton serve`, so tests run the server as it runs in production.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match serve() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

fn serve() -> Result<(), String> {
    let mut config = Config::default();
    let mut dirs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => config.listen = args.next().ok_or("--listen needs an address")?,
            "--database" => config.database_url = args.next().ok_or("--database needs a url")?,
            "--dev" => config.dev = true,
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag}")),
            dir => dirs.push(PathBuf::from(dir)),
        }
    }
    if dirs.is_empty() {
        return Err("usage: baton-server [--listen ADDR] [--database URL] [--dev] DIR…".to_owned());
    }
    let mut engines = Vec::new();
    for dir in &dirs {
        let loaded = baton_assistant::load_dir(dir);
        for diagnostic in &loaded.diagnostics {
            eprintln!("{diagnostic}");
        }
        let assistant = loaded
            .assistant
            .ok_or_else(|| format!("{}: the assistant could not be loaded", dir.display()))?;
        engines.push(Engine::new(assistant));
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|error| error.to_string())?;
    runtime.block_on(async move {
        let store = baton_store::open(&config.database_url)
            .await
            .map_err(|error| format!("opening the database: {error}"))?;
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .map_err(|error| format!("listening on {}: {error}", config.listen))?;
        let address = listener.local_addr().map_err(|error| error.to_string())?;
        println!("listening on {address}");
        let services = Services {
            assistants: Assistants::new(engines).map_err(|error| error.to_string())?,
            store,
            clock: Clock::System,
        };
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        baton_server::run(listener, config, services, shutdown)
            .await
            .map_err(|error| error.to_string())
    })
}
