//! `baton bench sockets`: the memory an open session WebSocket costs the server (the target, in
//! docs/benchmarks.md: 50,000 open WebSocket connections fit in 1 GiB).
//!
//! One process starts a Baton server (SQLite in a temporary folder, development mode, rate limits
//! off) and creates `--connections` sessions; then it reads its resident memory (VmRSS), opens
//! every session's event socket, waits for the server's side of each to settle, and reads it
//! again. The client side is a bare TCP stream that performs the WebSocket handshake and then
//! holds the connection without reading, so it adds only its socket's bookkeeping (some hundred
//! bytes) to the figure; everything else is the server's: the upgraded connection, its task, its
//! keepalive timer and its subscription to the session's events. Kernel socket buffers are not in
//! VmRSS. Each connection takes two file descriptors here (both ends), so the process's open-file
//! limit caps `--connections`; the figure per connection is then scaled to 50,000.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use baton_dialog::Engine;
use baton_server::Config;

use super::{BenchServer, VERSION, create_session, new_client, rss_kib};

#[derive(Debug, clap::Args)]
pub struct SocketsArgs {
    /// Session sockets to open (each needs two file descriptors in this process).
    #[arg(long, default_value_t = 9_000)]
    pub connections: usize,
    /// The assistant folder to serve.
    #[arg(long, default_value = "examples/bank")]
    pub assistant: PathBuf,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The count the target sets the bar at, and the bar.
const TARGET_CONNECTIONS: f64 = 50_000.0;
const TARGET_LIMIT_MIB: f64 = 1024.0;
/// Descriptors kept for everything else (the database, the listener, the runtime).
const SPARE_DESCRIPTORS: usize = 200;
/// Below this many connections the allocator's growth steps swamp the figure.
const MIN_CONNECTIONS: usize = 1_000;

pub fn run(args: SocketsArgs) -> anyhow::Result<i32> {
    let Some(assistant) = crate::check::load_reporting(&args.assistant) else {
        return Ok(1);
    };
    if args.connections < MIN_CONNECTIONS {
        bail!("--connections must be at least {MIN_CONNECTIONS}: fewer measure the allocator, not the sockets");
    }
    if let Some(limit) = open_file_limit()
        && args.connections * 2 + SPARE_DESCRIPTORS > limit
    {
        bail!(
            "the open-file limit ({limit}, `ulimit -n`) allows at most {} connections here; raise it or pass --connections",
            limit.saturating_sub(SPARE_DESCRIPTORS) / 2
        );
    }
    let engine = Engine::new(assistant);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(bench_sockets(args, engine))
}

async fn bench_sockets(args: SocketsArgs, engine: Engine) -> anyhow::Result<i32> {
    let assistant_id = engine.assistant().id.clone();
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    // Development mode and no rate limit, as `Config::for_tests` has them.
    let mut config = Config::for_tests();
    config.database_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = baton_store::open(&config.database_url)
        .await
        .context("opening the database")?;
    let server = BenchServer::start(config, store, engine).await?;
    let addr = server.addr;

    let path = format!("/v2/assistants/{assistant_id}/environments/draft");
    let base = format!("http://{addr}{path}");
    let client = new_client()?;
    let mut sessions = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        sessions.push(create_session(&client, &base).await?);
    }
    // The HTTP client's idle connections would count against the descriptors and the memory.
    drop(client);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_kib();
    let started = Instant::now();
    let mut sockets = Vec::with_capacity(args.connections);
    for session in &sessions {
        let request = format!(
            "GET {path}/sessions/{session}/events?version={VERSION} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        sockets.push(handshake(addr, &request).await?);
    }
    let opened_in = started.elapsed();
    // Let every upgraded connection's task start and reach its first wait.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib();
    let open = sockets.len();

    let per_connection_kib = match (before, after) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before) as f64 / open as f64),
        _ => None,
    };
    let target_mib = per_connection_kib.map(|kib| kib * TARGET_CONNECTIONS / 1024.0);
    drop(sockets);
    server.stop().await?;

    if args.json {
        let report = json!({
            "connections": open,
            "opened_seconds": opened_in.as_secs_f64(),
            "rss_kib_before": before,
            "rss_kib_after": after,
            "kib_per_connection": per_connection_kib,
            "mib_for_50000": target_mib,
            "limit_mib_for_50000": TARGET_LIMIT_MIB,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(0);
    }
    println!(
        "session sockets open: {open} (opened in {:.2} s)",
        opened_in.as_secs_f64()
    );
    match (before, after, per_connection_kib, target_mib) {
        (Some(before), Some(after), Some(kib), Some(mib)) => {
            println!(
                "RSS: {:.1} MiB with the sessions, {:.1} MiB with their sockets open",
                before as f64 / 1024.0,
                after as f64 / 1024.0
            );
            println!(
                "per open socket: {kib:.2} KiB; 50,000 would take {mib:.0} MiB (target: under {TARGET_LIMIT_MIB:.0} MiB)"
            );
        }
        _ => println!("RSS: unavailable (no /proc/self/status)"),
    }
    println!(
        "Notes: server and client in one process (2 worker threads); the client holds bare TCP streams after the \
         WebSocket handshake; kernel socket buffers are not in RSS; development mode, SQLite in a temporary folder."
    );
    Ok(0)
}

/// Opens a connection and performs the WebSocket handshake; the stream is then only held.
async fn handshake(addr: std::net::SocketAddr, request: &str) -> anyhow::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr).await.context("connecting a session socket")?;
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::with_capacity(256);
    let mut buffer = [0_u8; 512];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = stream.read(&mut buffer).await?;
        if read == 0 || head.len() > 8192 {
            bail!("the server closed a session socket during the handshake");
        }
        head.extend_from_slice(&buffer[..read]);
    }
    if !head.starts_with(b"HTTP/1.1 101") {
        let line = String::from_utf8_lossy(&head);
        bail!(
            "the server refused a session socket: {}",
            line.lines().next().unwrap_or_default()
        );
    }
    Ok(stream)
}

/// The soft limit on open files, from /proc/self/limits (None where there is none).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}
