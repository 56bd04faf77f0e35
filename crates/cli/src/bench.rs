//! `baton bench`: serving measured with a real server and a load generator.
//!
//! `http` (in `http.rs`) starts each server it measures in a process of its own, from outside;
//! `transfer` and `sockets` start Baton inside this process ([`BenchServer`]), as their figures
//! are latencies across the server's own desk and memory per socket, which a shared runtime does
//! not flatter. The hidden `hello-world` subcommand is the reference server `http` starts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use baton_dialog::Engine;
use baton_server::{Assistants, Clock, Config, Services};
use baton_store::Store;

mod desk;
mod hello;
mod http;
mod matrix;
mod process;
mod simulated;
mod sockets;
mod transfer;
mod voice;

/// Arguments of `baton bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Messages per second, p50/p99 latency and processor time per message at 1, 8 and 64
    /// concurrent sessions, each server in its own process, with a bare axum server as the
    /// reference, and memory per 10,000 idle sessions.
    Http(http::HttpArgs),
    /// From a customer's message that asks for a human to the offer on an agent's socket, p50/p99
    /// with many customers and agents connected (Baton's own desk).
    Transfer(transfer::TransferArgs),
    /// The memory an open session WebSocket costs the server, scaled to 50,000 sockets.
    Sockets(sockets::SocketsArgs),
    /// The phone channel's webhook: turns per second and p50/p99 latency with many calls at
    /// once, each request signed as a carrier signs it.
    Voice(voice::VoiceArgs),
    /// The bare axum server `bench http` measures Baton against, started by it.
    #[command(hide = true)]
    HelloWorld(hello::HelloArgs),
}

pub(crate) const VERSION: &str = "2021-11-27";

pub fn run(args: BenchArgs) -> anyhow::Result<i32> {
    match args.command {
        BenchCommand::Http(args) => http::run(args),
        BenchCommand::Transfer(args) => transfer::run(args),
        BenchCommand::Sockets(args) => sockets::run(args),
        BenchCommand::Voice(args) => voice::run(args),
        BenchCommand::HelloWorld(args) => hello::run(args),
    }
}

/// A Baton server started in this process on a free loopback port, serving one assistant.
pub(crate) struct BenchServer {
    pub addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), baton_server::ServerError>>,
}

impl BenchServer {
    pub async fn start(config: Config, store: Arc<dyn Store>, engine: Engine) -> anyhow::Result<BenchServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let services = Services {
            assistants: Assistants::new([engine])?,
            store,
            clock: Clock::System,
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(baton_server::run(listener, config, services, async {
            let _ = stopped.await;
        }));
        Ok(BenchServer { addr, stop, task })
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await?.context("serving Baton")?;
        Ok(())
    }
}

pub(crate) fn new_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(usize::MAX)
        .tcp_nodelay(true)
        .build()
        .context("building the HTTP client")
}

pub(crate) async fn create_session(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let response = client
        .post(format!("{base}/sessions?version={VERSION}"))
        .json(&json!({}))
        .send()
        .await
        .context("creating a session")?;
    let status = response.status();
    let body: Value = response.json().await.context("reading the new session")?;
    match body["session_id"].as_str() {
        Some(id) if status.is_success() => Ok(id.to_owned()),
        _ => bail!("creating a session answered {status}: {body}"),
    }
}

/// The nearest-rank percentile of sorted latencies, in milliseconds.
pub(crate) fn percentile_ms(sorted: &[Duration], quantile: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 * quantile).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

/// This process's resident set size in KiB, from `/proc/self/status`.
pub(crate) fn rss_kib() -> Option<u64> {
    process::rss_kib("/proc/self/status")
}
