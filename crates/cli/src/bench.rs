//! `baton bench http`: message throughput and latency of a running Baton server, against a bare
//! axum hello-world measured in the same run as the reference.
//!
//! One process starts the Baton server (SQLite in a temporary folder, development mode, rate
//! limit off) and a hello-world server on two loopback ports, then drives each at 1, 8 and 64
//! concurrent sessions over keep-alive HTTP/1.1 connections for `--seconds` each. Servers and
//! load generator share one multi-threaded tokio runtime (one worker per core).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use baton_dialog::Engine;
use baton_server::{Clock, Config, Services};

mod transfer;

/// Arguments of `baton bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Messages per second and p50/p99 latency at 1, 8 and 64 concurrent sessions, with a bare
    /// axum hello-world as the reference, and memory per 10,000 idle sessions.
    Http(HttpArgs),
    /// From a customer's message that asks for a human to the offer on an agent's socket, p50/p99
    /// with many customers and agents connected (Baton's own desk).
    Transfer(transfer::TransferArgs),
}

#[derive(Debug, clap::Args)]
pub struct HttpArgs {
    /// Seconds to drive each server at each concurrency.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// The assistant folder to serve.
    #[arg(long, default_value = "examples/bank")]
    pub assistant: PathBuf,
    /// Idle sessions to create when measuring memory; the figure is scaled to 10,000.
    #[arg(long, default_value_t = 10_000)]
    pub idle_sessions: usize,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

const CONCURRENCIES: [usize; 3] = [1, 8, 64];
const IDLE_SESSIONS: usize = 10_000;
pub(crate) const VERSION: &str = "2021-11-27";
/// Messages that each answer without a transfer (the bank's branch opening hours).
const MESSAGES: [&str; 3] = [
    "what are your opening hours",
    "what time does the bank close",
    "when are you open",
];

/// One measured row.
struct Row {
    server: &'static str,
    concurrency: usize,
    requests: usize,
    errors: usize,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

pub fn run(args: BenchArgs) -> anyhow::Result<i32> {
    let args = match args.command {
        BenchCommand::Http(args) => args,
        BenchCommand::Transfer(args) => return transfer::run(args),
    };
    let Some(assistant) = crate::check::load_reporting(&args.assistant) else {
        return Ok(1);
    };
    let engine = Engine::new(assistant);
    let assistant_id = engine.assistant().id.clone();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(bench_http(args, engine, assistant_id, cores))
}

async fn bench_http(args: HttpArgs, engine: Engine, assistant_id: String, cores: usize) -> anyhow::Result<i32> {
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let mut config = Config::for_tests();
    config.database_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    config.dev = true;
    config.rate_limit.per_second = 0.0;
    let store = baton_store::open(&config.database_url)
        .await
        .context("opening the database")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let baton_addr = listener.local_addr()?;
    let services = Services {
        engines: vec![engine],
        store,
        clock: Clock::System,
    };
    let (stop_baton, baton_stopped) = tokio::sync::oneshot::channel::<()>();
    let baton = tokio::spawn(baton_server::run(listener, config, services, async {
        let _ = baton_stopped.await;
    }));

    let hello_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hello_addr = hello_listener.local_addr()?;
    let app = axum::Router::new().route(
        "/message",
        axum::routing::post(|axum::Json(body): axum::Json<Value>| async move {
            axum::Json(
                json!({"output": {"generic": [{"response_type": "text", "text": "hello world"}]}, "input": body}),
            )
        }),
    );
    let (stop_hello, hello_stopped) = tokio::sync::oneshot::channel::<()>();
    let hello = tokio::spawn(async move {
        axum::serve(hello_listener, app)
            .with_graceful_shutdown(async {
                let _ = hello_stopped.await;
            })
            .await
    });

    let base = format!("http://{baton_addr}/v2/assistants/{assistant_id}/environments/draft");
    let duration = Duration::from_secs(args.seconds.max(1));
    // Memory first, in a fresh process: after the load runs the allocator holds memory it reuses,
    // which would hide what idle sessions cost.
    let client = new_client()?;
    let before = rss_kib();
    let idle = args.idle_sessions.max(1);
    for _ in 0..idle {
        create_session(&client, &base).await?;
    }
    let after = rss_kib();
    let rss_per_10k_mib = match (before, after) {
        (Some(before), Some(after)) => {
            Some(after.saturating_sub(before) as f64 / 1024.0 * IDLE_SESSIONS as f64 / idle as f64)
        }
        _ => None,
    };
    let mut rows = Vec::new();
    for concurrency in CONCURRENCIES {
        let client = new_client()?;
        let mut urls = Vec::with_capacity(concurrency);
        for _ in 0..concurrency {
            let session = create_session(&client, &base).await?;
            urls.push(format!("{base}/sessions/{session}/message?version={VERSION}"));
        }
        rows.push(drive("baton", &client, urls, duration).await);
        let client = new_client()?;
        let urls = vec![format!("http://{hello_addr}/message"); concurrency];
        rows.push(drive("hello-world", &client, urls, duration).await);
    }

    let _ = stop_baton.send(());
    let _ = stop_hello.send(());
    baton.await?.context("serving Baton")?;
    hello.await?.context("serving hello-world")?;

    let notes = format!(
        "servers and load generator share one multi-threaded tokio runtime ({cores} worker threads on {cores} cores); \
         keep-alive HTTP/1.1 over loopback, one connection per session; SQLite in a temporary folder, development mode, rate limit off; \
         each message answers the branch opening hours (no transfer); memory from VmRSS around creating {idle} sessions"
    );
    if args.json {
        let json = json!({
            "seconds_per_run": duration.as_secs(),
            "cores": cores,
            "rows": rows.iter().map(|row| json!({
                "server": row.server,
                "concurrency": row.concurrency,
                "requests": row.requests,
                "errors": row.errors,
                "messages_per_second": row.per_second,
                "p50_ms": row.p50_ms,
                "p99_ms": row.p99_ms,
            })).collect::<Vec<_>>(),
            "rss_mib_per_10000_idle_sessions": rss_per_10k_mib,
            "notes": notes,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!("| server | sessions | msgs/s | p50 ms | p99 ms | requests | errors |");
        println!("|---|---|---|---|---|---|---|");
        for row in &rows {
            println!(
                "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {} |",
                row.server, row.concurrency, row.per_second, row.p50_ms, row.p99_ms, row.requests, row.errors
            );
        }
        println!();
        match rss_per_10k_mib {
            Some(mib) => println!("RSS per {IDLE_SESSIONS} idle sessions: {mib:.1} MiB"),
            None => println!("RSS per {IDLE_SESSIONS} idle sessions: unavailable (no /proc/self/status)"),
        }
        println!("Notes: {notes}.");
    }
    let errors: usize = rows.iter().map(|row| row.errors).sum();
    Ok(i32::from(errors > 0))
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

/// Drives one task per URL for `duration`, each sending one request at a time.
async fn drive(server: &'static str, client: &reqwest::Client, urls: Vec<String>, duration: Duration) -> Row {
    let concurrency = urls.len();
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = urls
        .into_iter()
        .enumerate()
        .map(|(index, url)| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                let mut turn = index;
                while Instant::now() < deadline {
                    let body = json!({"input": {"text": MESSAGES[turn % MESSAGES.len()]}});
                    turn += 1;
                    let sent = Instant::now();
                    let ok = match client.post(&url).json(&body).send().await {
                        Ok(response) => {
                            let success = response.status().is_success();
                            response.bytes().await.is_ok() && success
                        }
                        Err(_) => false,
                    };
                    if ok {
                        latencies.push(sent.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((mut task_latencies, task_errors)) = task.await {
            latencies.append(&mut task_latencies);
            errors += task_errors;
        } else {
            errors += 1;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let requests = latencies.len();
    Row {
        server,
        concurrency,
        requests,
        errors,
        per_second: requests as f64 / elapsed,
        p50_ms: percentile_ms(&latencies, 0.50),
        p99_ms: percentile_ms(&latencies, 0.99),
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
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
