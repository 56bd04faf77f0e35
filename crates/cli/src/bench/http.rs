//! `baton bench http`: message throughput, latency and processor time of a Baton server measured
//! from outside, against a bare axum server measured the same way in the same run.
//!
//! Each server runs in a process of its own, started from this binary: Baton as `baton serve`
//! (development mode, rate limit off, SQLite in a temporary folder), the reference as the hidden
//! `baton bench hello-world` (what `../shared/bench/axum-hello` does). This process only
//! generates load, so neither server shares a runtime or an allocator with the load generator
//! or with the other server, which flattered Baton's share when all three ran in one process.
//! The two cores are still shared by all three processes, as they are with wrk.
//!
//! Every session holds its own keep-alive HTTP/1.1 connection and sends one message at a time,
//! as wrk's connections do. A Baton session follows a conversation with the bank example
//! ([`CONVERSATION`]): greetings, balances with their account question, opening hours, a lost
//! card with its option, digits and yes/no questions, an appointment with its topic, date, time
//! and name; then it starts again. The reference gets the same texts in Rasa's REST body.
//! Sessions sweep 1, 8 and 64 at a time; the servers alternate at each count, and `--runs`
//! repeats the sweep, each figure then being the median of the runs.
//! Processor time per message is the server process's own (user and system time from
//! `/proc/PID/stat` around the run), so it does not count the load generator's.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use baton_server::auth::ApiKey;

use super::process::{ServerProcess, load_average};
use super::{VERSION, create_session, new_client, percentile_ms};

#[derive(Debug, clap::Args)]
pub struct HttpArgs {
    /// Seconds to drive each server at each concurrency.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// The assistant folder to serve; the conversation the sessions follow is written for
    /// examples/bank.
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
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub runs: u64,
    /// The `baton` binary that serves (default: this one), to measure another build with the
    /// same load generator.
    #[arg(long)]
    pub baton: Option<PathBuf>,
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
/// A request not answered in this time counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Unmeasured load on each server before the first run, so the first run's figures are not
/// its caches and allocator warming up.
const WARM_UP: Duration = Duration::from_secs(1);

/// One conversation with the bank example, message by message, with a piece of the reply each
/// message gets in a new session (checked once before measuring).
/// Round again, the name is not asked a second time, so "Alex" is a message no action matches.
pub const CONVERSATION: [(&str, &str); 17] = [
    ("hello", "What can I help you with"),
    ("what is my balance", "Which account"),
    ("savings", "your savings balance"),
    ("what time do you open", "Our branches are open"),
    ("I lost my card", "Which card is it"),
    ("debit", "last four digits"),
    ("1234", "ending 1234"),
    ("no", "anything else"),
    ("can I book an appointment", "What would you like to talk about"),
    ("mortgage", "Which day"),
    ("tomorrow", "What time"),
    ("10am", "what name"),
    ("Alex", "You're booked for Mortgage"),
    ("thanks", "Thank you for banking"),
    ("what can you do", "I can help with"),
    ("I want to check my savings balance", "your savings balance"),
    ("bye", "Thank you for banking"),
];

/// One measured row.
struct Row {
    server: &'static str,
    concurrency: usize,
    requests: usize,
    errors: usize,
    per_second: f64,
    /// Processor time of the server's process per message.
    cpu_us_per_message: Option<f64>,
    /// Processor time of this process (the load generator) per message.
    client_cpu_us_per_message: Option<f64>,
    p50_ms: f64,
    p99_ms: f64,
}

pub fn run(args: HttpArgs) -> anyhow::Result<i32> {
    let Some(assistant) = crate::check::load_reporting(&args.assistant) else {
        return Ok(1);
    };
    let assistant_id = assistant.id;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let this = std::env::current_exe().context("finding this program")?;
    let baton = args.baton.clone().unwrap_or_else(|| this.clone());
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let database = args
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let load_before = load_average();

    let baton_server = match args.servers {
        Servers::HelloWorld => None,
        Servers::Both | Servers::Baton => {
            let mut command = Command::new(&baton);
            command
                .arg("serve")
                .arg(&args.assistant)
                .args(["--listen", "127.0.0.1:0", "--database", &database])
                .env("BATON_RATE_LIMIT_PER_SECOND", "0");
            if !args.auth {
                command.arg("--dev");
            }
            Some(ServerProcess::start("Baton", command, &dir.path().join("baton.log"))?)
        }
    };
    let hello_server = match args.servers {
        Servers::Baton => None,
        Servers::Both | Servers::HelloWorld => {
            let mut command = Command::new(&this);
            command.args(["bench", "hello-world", "--listen", "127.0.0.1:0"]);
            Some(ServerProcess::start(
                "hello-world",
                command,
                &dir.path().join("hello.log"),
            )?)
        }
    };
    // With --auth every request carries an API key, checked as in production; the key is
    // written beside the running server, as `baton apikey create` does.
    let authorization = match args.auth {
        true => {
            let key = ApiKey::generate();
            let store = baton_store::open_admin(&database).context("opening the database for an API key")?;
            store
                .create_api_key("bench", &key.hash(), chrono::Utc::now())
                .context("creating the API key")?;
            Some(format!("Bearer {}", key.expose()))
        }
        false => None,
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let setup = Setup {
        assistant_id,
        authorization,
        message_ids: args.message_ids,
        duration: Duration::from_secs(args.seconds.max(1)),
        runs: args.runs,
        idle_sessions: args.idle_sessions.max(1),
    };
    let measured = runtime.block_on(measure(&setup, baton_server, hello_server))?;
    let load_after = load_average();
    report(&args, &setup, &measured, cores, [load_before, load_after], &baton)
}

/// What every run shares.
struct Setup {
    assistant_id: String,
    authorization: Option<String>,
    message_ids: bool,
    duration: Duration,
    runs: u64,
    idle_sessions: usize,
}

struct Measured {
    runs: Vec<Vec<Row>>,
    rss_per_10k_mib: Option<f64>,
    /// Messages of the conversation whose reply was not the expected one, with what came.
    unexpected: Vec<(String, String)>,
}

async fn measure(
    setup: &Setup,
    mut baton: Option<ServerProcess>,
    mut hello: Option<ServerProcess>,
) -> anyhow::Result<Measured> {
    let client = match &setup.authorization {
        Some(authorization) => {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(reqwest::header::AUTHORIZATION, authorization.parse()?);
            reqwest::Client::builder()
                .http1_only()
                .default_headers(headers)
                .build()
                .context("building the HTTP client")?
        }
        None => new_client()?,
    };
    let base = baton
        .as_ref()
        .map(|server| format!("http://{}{}", server.addr, api_path(&setup.assistant_id)));
    let mut rss_per_10k_mib = None;
    let mut unexpected = Vec::new();
    if let (Some(server), Some(base)) = (&baton, &base) {
        // Memory first, in a fresh process: after the load runs the allocator holds memory it
        // reuses, which would hide what idle sessions cost.
        let before = server.rss_kib();
        for _ in 0..setup.idle_sessions {
            create_session(&client, base).await?;
        }
        let after = server.rss_kib();
        // Below a thousand sessions the allocator's own growth steps swamp the figure.
        rss_per_10k_mib = match (before, after) {
            _ if setup.idle_sessions < MIN_IDLE_SESSIONS => None,
            (Some(before), Some(after)) => {
                Some(after.saturating_sub(before) as f64 / 1024.0 * IDLE_SESSIONS as f64 / setup.idle_sessions as f64)
            }
            _ => None,
        };
        unexpected = check_conversation(&client, base).await?;
    }
    let load = Load {
        authorization: setup.authorization.as_deref(),
        message_ids: setup.message_ids,
    };
    if let (Some(server), Some(base)) = (&baton, &base) {
        let targets = baton_targets(&client, base, &setup.assistant_id, 8).await?;
        drive("baton", server, targets, load, WARM_UP).await?;
    }
    if let Some(server) = &hello {
        drive("hello-world", server, hello_targets(8), load, WARM_UP).await?;
    }
    let mut runs = Vec::new();
    for _ in 0..setup.runs {
        let mut rows = Vec::new();
        for concurrency in CONCURRENCIES {
            if let (Some(server), Some(base)) = (&mut baton, &base) {
                let targets = baton_targets(&client, base, &setup.assistant_id, concurrency).await?;
                rows.push(drive("baton", server, targets, load, setup.duration).await?);
                server.check_running()?;
            }
            if let Some(server) = &mut hello {
                let targets = hello_targets(concurrency);
                rows.push(drive("hello-world", server, targets, load, setup.duration).await?);
                server.check_running()?;
            }
        }
        runs.push(rows);
    }
    Ok(Measured {
        runs,
        rss_per_10k_mib,
        unexpected,
    })
}

fn api_path(assistant_id: &str) -> String {
    format!("/v2/assistants/{assistant_id}/environments/draft")
}

/// Where one session sends its messages, and the bodies it sends in turn.
struct Target {
    path: String,
    bodies: Vec<Bytes>,
}

/// `concurrency` new Baton sessions, each to follow [`CONVERSATION`].
async fn baton_targets(
    client: &reqwest::Client,
    base: &str,
    assistant_id: &str,
    concurrency: usize,
) -> anyhow::Result<Vec<Target>> {
    let bodies: Vec<Bytes> = CONVERSATION
        .iter()
        .map(|(text, _)| Bytes::from(json!({"input": {"text": text}}).to_string()))
        .collect();
    let mut targets = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let session = create_session(client, base).await?;
        targets.push(Target {
            path: format!(
                "{}/sessions/{session}/message?version={VERSION}",
                api_path(assistant_id)
            ),
            bodies: bodies.clone(),
        });
    }
    Ok(targets)
}

/// The same texts for the reference, in Rasa's REST body, one sender per connection.
fn hello_targets(concurrency: usize) -> Vec<Target> {
    (0..concurrency)
        .map(|index| Target {
            path: "/webhooks/rest/webhook".to_owned(),
            bodies: CONVERSATION
                .iter()
                .map(|(text, _)| Bytes::from(json!({"sender": format!("s{index}"), "message": text}).to_string()))
                .collect(),
        })
        .collect()
}

/// Sends the conversation once in a new session and returns the messages whose reply lacks the
/// expected piece, with the reply's texts: the mix is written for the bank example, and an
/// assistant that answers otherwise is measured on other paths.
async fn check_conversation(client: &reqwest::Client, base: &str) -> anyhow::Result<Vec<(String, String)>> {
    let session = create_session(client, base).await?;
    let url = format!("{base}/sessions/{session}/message?version={VERSION}");
    let mut unexpected = Vec::new();
    for (text, expected) in CONVERSATION {
        let response = client
            .post(&url)
            .json(&json!({"input": {"text": text}}))
            .send()
            .await
            .context("sending a message of the conversation")?;
        let status = response.status();
        let body: Value = response.json().await.context("reading a reply of the conversation")?;
        if !status.is_success() {
            bail!("the conversation's message {text:?} answered {status}: {body}");
        }
        let said: Vec<&str> = body["output"]["generic"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|generic| generic["text"].as_str().or_else(|| generic["title"].as_str()))
            .collect();
        if !said.iter().any(|text| text.contains(expected)) {
            unexpected.push((text.to_owned(), said.join(" / ")));
        }
    }
    Ok(unexpected)
}

/// The optional headers every message carries.
#[derive(Clone, Copy)]
struct Load<'a> {
    authorization: Option<&'a str>,
    message_ids: bool,
}

/// Drives one task per target for `duration`, each over its own keep-alive HTTP/1.1 connection
/// to `addr`, sending one request at a time.
///
/// The client is hyper's connection-level one, with the request bodies serialised once: no URL
/// parsing, connection pool or redirect policy per request, so as little as possible of the two
/// shared cores goes to the load generator (reqwest's per-request work was about a quarter of all
/// samples, the same for both servers).
async fn drive(
    name: &'static str,
    server: &ServerProcess,
    targets: Vec<Target>,
    load: Load<'_>,
    duration: Duration,
) -> anyhow::Result<Row> {
    let concurrency = targets.len();
    let addr = server.addr;
    let mut senders = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        senders.push(connect(addr).await?);
    }
    let host = addr.to_string();
    let authorization = load.authorization.map(str::to_owned);
    let message_ids = load.message_ids;
    let server_cpu_before = server.cpu_seconds();
    let client_cpu_before = super::process::cpu_seconds("/proc/self/stat");
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = targets
        .into_iter()
        .zip(senders)
        .enumerate()
        .map(|(index, (target, mut sender))| {
            let host = host.clone();
            let authorization = authorization.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                let mut turn = 0;
                while Instant::now() < deadline {
                    let body = target.bodies[turn % target.bodies.len()].clone();
                    turn += 1;
                    let message_id = message_ids.then(|| format!("{index}-{turn}"));
                    let headers = Headers {
                        authorization: authorization.as_deref(),
                        message_id: message_id.as_deref(),
                    };
                    let sent = Instant::now();
                    let answered =
                        tokio::time::timeout(REQUEST_TIMEOUT, send(&mut sender, &host, &target.path, headers, body))
                            .await;
                    match answered {
                        Ok(Ok(())) => latencies.push(sent.elapsed()),
                        _ => {
                            errors += 1;
                            // The connection may be broken: carry on over a new one, or stop.
                            match connect(addr).await {
                                Ok(new) => sender = new,
                                Err(_) => break,
                            }
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        match task.await {
            Ok((mut task_latencies, task_errors)) => {
                latencies.append(&mut task_latencies);
                errors += task_errors;
            }
            Err(_) => errors += 1,
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let server_cpu = server_cpu_before
        .zip(server.cpu_seconds())
        .map(|(before, after)| after - before);
    let client_cpu = client_cpu_before
        .zip(super::process::cpu_seconds("/proc/self/stat"))
        .map(|(before, after)| after - before);
    latencies.sort_unstable();
    let requests = latencies.len();
    let per_message = |cpu: Option<f64>| cpu.filter(|_| requests > 0).map(|cpu| cpu * 1e6 / requests as f64);
    Ok(Row {
        server: name,
        concurrency,
        requests,
        errors,
        per_second: requests as f64 / elapsed,
        cpu_us_per_message: per_message(server_cpu),
        client_cpu_us_per_message: per_message(client_cpu),
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

fn report(
    args: &HttpArgs,
    setup: &Setup,
    measured: &Measured,
    cores: usize,
    loads: [Option<[f64; 3]>; 2],
    baton: &Path,
) -> anyhow::Result<i32> {
    let runs = &measured.runs;
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
        "each server in its own process started from {} ({cores} cores shared with the load generator, this process); \
         keep-alive HTTP/1.1 over loopback with hyper's connection-level client, one connection per session, one message at a time; \
         Baton: {database}, {mode}, {ids}, rate limit off, each session following a conversation of {} messages with the bank example; \
         hello-world: the same texts as Rasa REST bodies; CPU µs/msg is the server process's own; \
         memory from the Baton process's VmRSS around creating {} sessions",
        baton.display(),
        CONVERSATION.len(),
        setup.idle_sessions
    );
    let shares: Vec<(usize, f64)> = CONCURRENCIES
        .iter()
        .filter_map(|&concurrency| {
            let per_run: Vec<f64> = runs.iter().filter_map(|rows| share(rows, concurrency)).collect();
            median(per_run).map(|share| (concurrency, share))
        })
        .collect();
    let rows = median_rows(runs);
    let load_json = |load: Option<[f64; 3]>| load.map(|[one, five, fifteen]| json!([one, five, fifteen]));
    if args.json {
        let json = json!({
            "seconds_per_run": setup.duration.as_secs(),
            "cores": cores,
            "runs": runs.len(),
            "load_average_before": load_json(loads[0]),
            "load_average_after": load_json(loads[1]),
            "rows": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
            "per_run": runs.iter().map(|rows| json!({
                "rows": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
                "share_of_hello_world": CONCURRENCIES.iter().filter_map(|&concurrency| {
                    share(rows, concurrency).map(|share| json!({"concurrency": concurrency, "share": share}))
                }).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "rss_mib_per_10000_idle_sessions": measured.rss_per_10k_mib,
            "share_of_hello_world": shares.iter().map(|(concurrency, share)| json!({
                "concurrency": concurrency,
                "share": share,
            })).collect::<Vec<_>>(),
            "unexpected_replies": measured.unexpected.iter().map(|(text, reply)| json!({
                "message": text,
                "reply": reply,
            })).collect::<Vec<_>>(),
            "notes": notes,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print_text(&rows, runs, &shares, measured, setup, loads, &notes);
    }
    let errors: usize = rows.iter().map(|row| row.errors).sum();
    Ok(i32::from(errors > 0))
}

fn print_text(
    rows: &[Row],
    runs: &[Vec<Row>],
    shares: &[(usize, f64)],
    measured: &Measured,
    setup: &Setup,
    loads: [Option<[f64; 3]>; 2],
    notes: &str,
) {
    let figure = |value: Option<f64>| value.map_or_else(|| "—".to_owned(), |value| format!("{value:.0}"));
    println!("| server | sessions | msgs/s | p50 ms | p99 ms | CPU µs/msg | requests | errors |");
    println!("|---|---|---|---|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} |",
            row.server,
            row.concurrency,
            row.per_second,
            row.p50_ms,
            row.p99_ms,
            figure(row.cpu_us_per_message),
            row.requests,
            row.errors
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
    let client: Vec<String> = rows
        .iter()
        .filter(|row| row.concurrency == CONCURRENCIES[CONCURRENCIES.len() - 1])
        .filter_map(|row| {
            row.client_cpu_us_per_message
                .map(|cpu| format!("{cpu:.0} µs against {}", row.server))
        })
        .collect();
    if !client.is_empty() {
        println!("Load generator CPU per message at 64 sessions: {}", client.join(", "));
    }
    match measured.rss_per_10k_mib {
        Some(mib) => println!("RSS per {IDLE_SESSIONS} idle sessions: {mib:.1} MiB"),
        None if setup.idle_sessions < MIN_IDLE_SESSIONS => println!(
            "RSS per {IDLE_SESSIONS} idle sessions: not measured (needs --idle-sessions {MIN_IDLE_SESSIONS} or more)"
        ),
        None if runs.iter().flatten().all(|row| row.server != "baton") => {}
        None => println!("RSS per {IDLE_SESSIONS} idle sessions: unavailable (no /proc/PID/status)"),
    }
    let load = |load: Option<[f64; 3]>| {
        load.map_or_else(
            || "unknown".to_owned(),
            |[one, five, fifteen]| format!("{one:.2} {five:.2} {fifteen:.2}"),
        )
    };
    println!("Load average before: {}; after: {}", load(loads[0]), load(loads[1]));
    if !measured.unexpected.is_empty() {
        println!(
            "Warning: {} of the conversation's {} messages did not get the bank example's reply, so the mix is not the one documented:",
            measured.unexpected.len(),
            CONVERSATION.len()
        );
        for (text, reply) in &measured.unexpected {
            println!("  {text:?} -> {reply:?}");
        }
    }
    println!("Notes: {notes}.");
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
            "load_generator_cpu_us_per_message": self.client_cpu_us_per_message,
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
            let of_some = |figure: fn(&Row) -> Option<f64>| median(same.iter().filter_map(|row| figure(row)).collect());
            Row {
                server: template.server,
                concurrency: template.concurrency,
                requests: same.iter().map(|row| row.requests).sum(),
                errors: same.iter().map(|row| row.errors).sum(),
                per_second: of(|row| row.per_second),
                cpu_us_per_message: of_some(|row| row.cpu_us_per_message),
                client_cpu_us_per_message: of_some(|row| row.client_cpu_us_per_message),
                p50_ms: of(|row| row.p50_ms),
                p99_ms: of(|row| row.p99_ms),
            }
        })
        .collect()
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

    #[test]
    fn the_reference_gets_the_conversations_texts_as_rest_bodies() {
        let targets = hello_targets(2);
        assert_eq!(targets.len(), 2);
        let body: Value = serde_json::from_slice(&targets[1].bodies[4]).unwrap();
        assert_eq!(body, json!({"sender": "s1", "message": "I lost my card"}));
        assert_eq!(targets[0].bodies.len(), CONVERSATION.len());
    }
}
