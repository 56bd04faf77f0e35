//! `baton bench http`: message throughput and latency of a running Baton server, against a bare
//! axum hello-world measured in the same run as the reference.
//!
//! One process starts the Baton server (SQLite in a temporary folder, development mode, rate
//! limit off) and a hello-world server on two loopback ports, then drives each at 1, 8 and 64
//! concurrent sessions over keep-alive HTTP/1.1 connections for `--seconds` each, `--runs` times
//! (each figure then the median of the runs). Servers and load generator share one multi-threaded
//! tokio runtime (one worker per core).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use baton_dialog::Engine;
use baton_server::auth::ApiKey;
use baton_server::{Assistants, Clock, Config, Services};
use baton_store::Store;

mod sockets;
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
    /// The memory an open session WebSocket costs the server, scaled to 50,000 sockets.
    Sockets(sockets::SocketsArgs),
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
    /// The database Baton stores sessions in (default: SQLite in a new temporary folder).
    #[arg(long)]
    pub database: Option<String>,
    /// Authenticate every request with an API key, as production does (default: development
    /// mode, no key).
    #[arg(long)]
    pub auth: bool,
    /// Give every message its own `X-Client-Message-Id`, as the web chat does: the server then
    /// stores each reply, so that a retry is answered once (default: no id, as the SDKs send).
    #[arg(long)]
    pub message_ids: bool,
    /// Which servers to drive (one alone is for profiling).
    #[arg(long, value_enum, default_value_t = Servers::Both)]
    pub servers: Servers,
    /// Repeat the sweep over 1, 8 and 64 sessions this many times against the same servers and
    /// report each figure's median: a machine's speed can move by a third from one minute to the
    /// next.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub runs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Servers {
    Both,
    Baton,
    HelloWorld,
}

const CONCURRENCIES: [usize; 3] = [1, 8, 64];
const IDLE_SESSIONS: usize = 10_000;
/// Fewer idle sessions than this give no memory figure.
const MIN_IDLE_SESSIONS: usize = 1_000;
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
    /// Processor time of the whole process (servers, load generator, store writer) per message.
    cpu_us_per_message: Option<f64>,
    p50_ms: f64,
    p99_ms: f64,
}

pub fn run(args: BenchArgs) -> anyhow::Result<i32> {
    let args = match args.command {
        BenchCommand::Http(args) => args,
        BenchCommand::Transfer(args) => return transfer::run(args),
        BenchCommand::Sockets(args) => return sockets::run(args),
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
    // No rate limit, as `Config::for_tests` has it; development mode unless --auth.
    let mut config = Config::for_tests();
    config.database_url = args
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    config.dev = !args.auth;
    let store = baton_store::open(&config.database_url)
        .await
        .context("opening the database")?;
    // With --auth every request carries an API key, checked as in production.
    let key = match args.auth {
        true => {
            let key = ApiKey::generate();
            store
                .create_api_key("bench", &key.hash(), chrono::Utc::now())
                .await
                .context("creating the API key")?;
            Some(format!("Bearer {}", key.expose()))
        }
        false => None,
    };
    let baton = BenchServer::start(config, store, engine).await?;
    let baton_addr = baton.addr;

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

    let path = format!("/v2/assistants/{assistant_id}/environments/draft");
    let base = format!("http://{baton_addr}{path}");
    let duration = Duration::from_secs(args.seconds.max(1));
    // Memory first, in a fresh process: after the load runs the allocator holds memory it reuses,
    // which would hide what idle sessions cost.
    let client = match &key {
        Some(key) => {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(reqwest::header::AUTHORIZATION, key.parse()?);
            reqwest::Client::builder()
                .http1_only()
                .default_headers(headers)
                .build()
                .context("building the HTTP client")?
        }
        None => new_client()?,
    };
    let before = rss_kib();
    let idle = args.idle_sessions.max(1);
    for _ in 0..idle {
        create_session(&client, &base).await?;
    }
    let after = rss_kib();
    // Below a thousand sessions the allocator's own growth steps swamp the figure.
    let rss_per_10k_mib = match (before, after) {
        _ if idle < MIN_IDLE_SESSIONS => None,
        (Some(before), Some(after)) => {
            Some(after.saturating_sub(before) as f64 / 1024.0 * IDLE_SESSIONS as f64 / idle as f64)
        }
        _ => None,
    };
    let mut runs: Vec<Vec<Row>> = Vec::new();
    for _ in 0..args.runs {
        let mut rows = Vec::new();
        for concurrency in CONCURRENCIES {
            if args.servers != Servers::HelloWorld {
                let mut paths = Vec::with_capacity(concurrency);
                for _ in 0..concurrency {
                    let session = create_session(&client, &base).await?;
                    paths.push(format!("{path}/sessions/{session}/message?version={VERSION}"));
                }
                rows.push(drive("baton", baton_addr, paths, key.as_deref(), args.message_ids, duration).await?);
            }
            if args.servers != Servers::Baton {
                let paths = vec!["/message".to_owned(); concurrency];
                rows.push(
                    drive(
                        "hello-world",
                        hello_addr,
                        paths,
                        key.as_deref(),
                        args.message_ids,
                        duration,
                    )
                    .await?,
                );
            }
        }
        runs.push(rows);
    }

    let _ = stop_hello.send(());
    baton.stop().await?;
    hello.await?.context("serving hello-world")?;

    let database = match &args.database {
        Some(url) => format!("database {url}"),
        None => "SQLite in a temporary folder".to_owned(),
    };
    let mode = match args.auth {
        true => "an API key on every request",
        false => "development mode (no API key)",
    };
    let ids = match args.message_ids {
        true => "a client message id on every message",
        false => "no client message ids",
    };
    let notes = format!(
        "servers and load generator share one multi-threaded tokio runtime ({cores} worker threads on {cores} cores); \
         keep-alive HTTP/1.1 over loopback with hyper's connection-level client, one connection per session; {database}, {mode}, {ids}, rate limit off; \
         each message answers the branch opening hours (no transfer); memory from VmRSS around creating {idle} sessions"
    );
    // Baton's throughput as a share of the same run's hello-world, per concurrency: the reference
    // that the machine's speed of the moment cancels out of. With several runs, the median of the
    // runs' shares.
    let shares: Vec<(usize, f64)> = CONCURRENCIES
        .iter()
        .filter_map(|&concurrency| {
            let per_run: Vec<f64> = runs.iter().filter_map(|rows| share(rows, concurrency)).collect();
            median(per_run).map(|share| (concurrency, share))
        })
        .collect();
    let rows = median_rows(&runs);
    if args.json {
        let json = json!({
            "seconds_per_run": duration.as_secs(),
            "cores": cores,
            "runs": runs.len(),
            "rows": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
            "per_run": runs.iter().map(|rows| json!({
                "rows": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
                "share_of_hello_world": CONCURRENCIES.iter().filter_map(|&concurrency| {
                    share(rows, concurrency).map(|share| json!({"concurrency": concurrency, "share": share}))
                }).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "rss_mib_per_10000_idle_sessions": rss_per_10k_mib,
            "share_of_hello_world": shares.iter().map(|(concurrency, share)| json!({
                "concurrency": concurrency,
                "share": share,
            })).collect::<Vec<_>>(),
            "notes": notes,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!("| server | sessions | msgs/s | p50 ms | p99 ms | CPU µs/msg | requests | errors |");
        println!("|---|---|---|---|---|---|---|---|");
        for row in &rows {
            let cpu = row
                .cpu_us_per_message
                .map_or_else(|| "—".to_owned(), |cpu| format!("{cpu:.0}"));
            println!(
                "| {} | {} | {:.0} | {:.2} | {:.2} | {cpu} | {} | {} |",
                row.server, row.concurrency, row.per_second, row.p50_ms, row.p99_ms, row.requests, row.errors
            );
        }
        println!();
        if runs.len() > 1 {
            let busiest = CONCURRENCIES[CONCURRENCIES.len() - 1];
            let per_run: Vec<String> = [("Baton", "baton"), ("hello-world", "hello-world")]
                .iter()
                .filter_map(|(label, server)| {
                    let rates: Vec<String> = runs
                        .iter()
                        .filter_map(|rows| find(rows, server, busiest))
                        .map(|row| format!("{:.0}", row.per_second))
                        .collect();
                    (!rates.is_empty()).then(|| format!("{label} {}", rates.join(" / ")))
                })
                .collect();
            println!(
                "Each figure is the median of {} runs (requests and errors: their sum); msgs/s at {busiest} sessions per run: {}.",
                runs.len(),
                per_run.join(", ")
            );
        }
        if !shares.is_empty() {
            let shares: Vec<String> = shares
                .iter()
                .map(|(concurrency, share)| format!("{:.1}% at {concurrency}", share * 100.0))
                .collect();
            println!("Baton's throughput as a share of hello-world's: {}", shares.join(", "));
        }
        match rss_per_10k_mib {
            Some(mib) => println!("RSS per {IDLE_SESSIONS} idle sessions: {mib:.1} MiB"),
            None if idle < MIN_IDLE_SESSIONS => println!(
                "RSS per {IDLE_SESSIONS} idle sessions: not measured (needs --idle-sessions {MIN_IDLE_SESSIONS} or more)"
            ),
            None => println!("RSS per {IDLE_SESSIONS} idle sessions: unavailable (no /proc/self/status)"),
        }
        println!("Notes: {notes}.");
    }
    let errors: usize = rows.iter().map(|row| row.errors).sum();
    Ok(i32::from(errors > 0))
}

impl Row {
    fn to_json(&self) -> Value {
        json!({
            "server": self.server,
            "concurrency": self.concurrency,
            "requests": self.requests,
            "errors": self.errors,
            "messages_per_second": self.per_second,
            "cpu_us_per_message": self.cpu_us_per_message,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
        })
    }
}

fn find<'a>(rows: &'a [Row], server: &str, concurrency: usize) -> Option<&'a Row> {
    rows.iter()
        .find(|row| row.server == server && row.concurrency == concurrency)
}

/// Baton's messages per second over hello-world's, in one run.
fn share(rows: &[Row], concurrency: usize) -> Option<f64> {
    match (find(rows, "baton", concurrency), find(rows, "hello-world", concurrency)) {
        (Some(baton), Some(hello)) if hello.per_second > 0.0 => Some(baton.per_second / hello.per_second),
        _ => None,
    }
}

/// The middle value (the mean of the middle two for an even count); `None` for no values.
fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_unstable_by(f64::total_cmp);
    let middle = values.len() / 2;
    match values.len() {
        0 => None,
        n if n % 2 == 1 => Some(values[middle]),
        _ => Some((values[middle - 1] + values[middle]) / 2.0),
    }
}

/// One row per server and concurrency of the first run, each figure the median over the runs
/// (requests and errors summed).
fn median_rows(runs: &[Vec<Row>]) -> Vec<Row> {
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    first
        .iter()
        .map(|template| {
            let same: Vec<&Row> = runs
                .iter()
                .filter_map(|rows| find(rows, template.server, template.concurrency))
                .collect();
            let of = |figure: fn(&Row) -> f64| median(same.iter().map(|row| figure(row)).collect()).unwrap_or(0.0);
            Row {
                server: template.server,
                concurrency: template.concurrency,
                requests: same.iter().map(|row| row.requests).sum(),
                errors: same.iter().map(|row| row.errors).sum(),
                per_second: of(|row| row.per_second),
                cpu_us_per_message: median(same.iter().filter_map(|row| row.cpu_us_per_message).collect()),
                p50_ms: of(|row| row.p50_ms),
                p99_ms: of(|row| row.p99_ms),
            }
        })
        .collect()
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

/// Drives one task per path for `duration`, each over its own keep-alive HTTP/1.1 connection
/// to `addr`, sending one request at a time.
///
/// The client is hyper's connection-level one, with the request bodies serialised once: no URL
/// parsing, connection pool or redirect policy per request, so as little as possible of the two
/// shared cores goes to the load generator (reqwest's per-request work was about a quarter of all
/// samples, the same for both servers).
async fn drive(
    server: &'static str,
    addr: SocketAddr,
    paths: Vec<String>,
    authorization: Option<&str>,
    message_ids: bool,
    duration: Duration,
) -> anyhow::Result<Row> {
    let concurrency = paths.len();
    let bodies: Vec<Bytes> = MESSAGES
        .iter()
        .map(|text| Bytes::from(json!({"input": {"text": text}}).to_string()))
        .collect();
    let mut senders = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        senders.push(connect(addr).await?);
    }
    let host = addr.to_string();
    let authorization = authorization.map(str::to_owned);
    let cpu_before = cpu_seconds();
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = paths
        .into_iter()
        .zip(senders)
        .enumerate()
        .map(|(index, (path, mut sender))| {
            let bodies = bodies.clone();
            let host = host.clone();
            let authorization = authorization.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                let mut turn = index;
                while Instant::now() < deadline {
                    let body = bodies[turn % bodies.len()].clone();
                    turn += 1;
                    let message_id = message_ids.then(|| format!("{index}-{turn}"));
                    let sent = Instant::now();
                    let headers = Headers {
                        authorization: authorization.as_deref(),
                        message_id: message_id.as_deref(),
                    };
                    match send(&mut sender, &host, &path, headers, body).await {
                        Ok(()) => latencies.push(sent.elapsed()),
                        Err(_) => errors += 1,
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
    let cpu = cpu_before.zip(cpu_seconds()).map(|(before, after)| after - before);
    latencies.sort_unstable();
    let requests = latencies.len();
    Ok(Row {
        cpu_us_per_message: cpu.filter(|_| requests > 0).map(|cpu| cpu * 1e6 / requests as f64),
        server,
        concurrency,
        requests,
        errors,
        per_second: requests as f64 / elapsed,
        p50_ms: percentile_ms(&latencies, 0.50),
        p99_ms: percentile_ms(&latencies, 0.99),
    })
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// One keep-alive HTTP/1.1 connection; its driver runs as a task until the sender is dropped.
async fn connect(addr: SocketAddr) -> anyhow::Result<Sender> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP/1.1 handshake")?;
    tokio::spawn(connection);
    Ok(sender)
}

/// The optional headers of a message.
#[derive(Clone, Copy)]
struct Headers<'a> {
    authorization: Option<&'a str>,
    message_id: Option<&'a str>,
}

/// Posts one JSON body and reads the whole response; an error unless the status is 2xx.
async fn send(sender: &mut Sender, host: &str, path: &str, headers: Headers<'_>, body: Bytes) -> anyhow::Result<()> {
    let mut request = hyper::Request::post(path)
        .header(hyper::header::HOST, host)
        .header(hyper::header::CONTENT_TYPE, "application/json");
    if let Some(authorization) = headers.authorization {
        request = request.header(hyper::header::AUTHORIZATION, authorization);
    }
    if let Some(message_id) = headers.message_id {
        request = request.header("X-Client-Message-Id", message_id);
    }
    let request = request.body(Full::new(body))?;
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    response.into_body().collect().await?;
    match status.is_success() {
        true => Ok(()),
        false => bail!("answered {status}"),
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

/// Processor time (user and system) this process has used, in seconds, from `/proc/self/stat`
/// (clock ticks of 10 ms, so meaningful over runs of seconds).
fn cpu_seconds() -> Option<f64> {
    const TICKS_PER_SECOND: f64 = 100.0;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis are
    // plain numbers, utime and stime being the 12th and 13th of them.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / TICKS_PER_SECOND)
}

/// This process's resident set size in KiB, from `/proc/self/status`.
pub(crate) fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_takes_the_middle_or_the_mean_of_the_middle_two() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0]), Some(3.0));
        assert_eq!(median(vec![9.0, 1.0, 4.0]), Some(4.0));
        assert_eq!(median(vec![9.0, 1.0, 4.0, 2.0]), Some(3.0));
    }
}
