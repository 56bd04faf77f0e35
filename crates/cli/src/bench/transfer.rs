//! `baton bench transfer`: how long from a customer's message that asks for a human to the offer
//! arriving on an agent's WebSocket, with many customers and agents connected at once.
//!
//! One process starts a Baton server (SQLite in a temporary folder, development mode, rate limits
//! off) with `--agents` agents of Baton's own desk, each logged in over HTTP with its console
//! socket open and online, and `--customers` customer sessions, each with its session socket open.
//! Then every customer sends "I want to talk to a person" once, at a steady `--rate` per second;
//! the latency of a customer is from just before their message is sent to the moment the offer of
//! their transfer is read from an agent's socket. Agents accept every offer as it arrives (outside
//! the measured time), so capacity never runs out: each agent takes `customers / agents` chats.
//! Server and load generator share one multi-threaded tokio runtime.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as Frame;

use baton_dialog::Engine;
use baton_server::Config;
use baton_store::AgentRecord;

use super::{BenchServer, VERSION, create_session, new_client, percentile_ms};

#[derive(Debug, clap::Args)]
pub struct TransferArgs {
    /// Customers, each with a session and its socket open, each asking for a human once.
    #[arg(long, default_value_t = 1000)]
    pub customers: usize,
    /// Agents logged in, online, with their console sockets open.
    #[arg(long, default_value_t = 50)]
    pub agents: usize,
    /// Transfers requested per second (customers send at this steady rate).
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    /// The assistant folder to serve; "I want to talk to a person" must transfer.
    #[arg(long, default_value = "examples/bank")]
    pub assistant: PathBuf,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    /// The desk transfers go to: Baton's own, a webhook desk in this process, or Matrix.
    #[arg(long, value_enum, default_value_t = BenchDesk::Own)]
    pub desk: BenchDesk,
    /// With `--desk webhook`: how long the desk takes to answer each call (a slow desk).
    #[arg(long, default_value_t = 0)]
    pub desk_delay_ms: u64,
    /// With `--desk webhook` or `matrix`: sessions having ordinary turns meanwhile, whose latency a slow
    /// desk must not touch.
    #[arg(long, default_value_t = 20)]
    pub others: usize,
    /// With Baton's own desk: drive servers already running at this address (a load balancer in
    /// front of replicas, say) instead of starting one here; customers and agents go there, and
    /// the agents are added to `--database` first. The servers must run with `--dev` and no rate
    /// limit.
    #[arg(long, requires = "database")]
    pub target: Option<String>,
    /// With `--target`: the database those servers use, where the bench adds its agents.
    #[arg(long)]
    pub database: Option<String>,
    #[command(flatten)]
    pub matrix: super::matrix::MatrixBenchArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchDesk {
    Own,
    Webhook,
    /// The Matrix desk on a homeserver you run (`--homeserver`, `--registration-secret-file`).
    Matrix,
    /// The Chatwoot desk, against the simulated Chatwoot in this process.
    Chatwoot,
    /// The Zendesk desk, against the simulated Zendesk messaging in this process.
    Zendesk,
    /// The Twilio Flex desk, against the simulated Twilio in this process.
    TwilioFlex,
    /// The Salesforce desk, against the simulated Enhanced Chat in this process.
    Salesforce,
    /// The Genesys Cloud desk, against the simulated Genesys Cloud in this process.
    Genesys,
}

const ASK_FOR_A_HUMAN: &str = "I want to talk to a person";
const PASSWORD: &str = "bench-password";

pub fn run(args: TransferArgs) -> anyhow::Result<i32> {
    let Some(assistant) = crate::check::load_reporting(&args.assistant) else {
        return Ok(1);
    };
    if args.customers == 0 || args.agents == 0 || args.rate.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        bail!("--customers, --agents and --rate must be above zero");
    }
    if args.target.is_some() && args.desk != BenchDesk::Own {
        bail!("--target drives running servers with Baton's own desk only (--desk own)");
    }
    let engine = Engine::new(assistant);
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match args.desk {
        BenchDesk::Own => runtime.block_on(bench_transfer(args, engine, cores)),
        BenchDesk::Webhook => runtime.block_on(super::desk::bench_webhook(args, engine, cores)),
        BenchDesk::Matrix => runtime.block_on(super::matrix::bench_matrix(args, engine, cores)),
        BenchDesk::Chatwoot => runtime.block_on(super::simulated::bench_chatwoot(args, engine, cores)),
        BenchDesk::Zendesk => runtime.block_on(super::simulated::bench_zendesk(args, engine, cores)),
        BenchDesk::TwilioFlex => runtime.block_on(super::simulated::bench_twilio_flex(args, engine, cores)),
        BenchDesk::Salesforce => runtime.block_on(super::simulated::bench_salesforce(args, engine, cores)),
        BenchDesk::Genesys => runtime.block_on(super::simulated::bench_genesys(args, engine, cores)),
    }
}

/// When each transfer's offer reached an agent.
type Offers = Arc<Mutex<HashMap<String, Instant>>>;

/// The bench's agents, each able to take `customers / agents` chats and two more (running servers
/// may have transfers of other clients to offer too).
fn agent_records(args: &TransferArgs) -> anyhow::Result<Vec<AgentRecord>> {
    let capacity = u32::try_from(args.customers.div_ceil(args.agents) + 2).unwrap_or(u32::MAX);
    let password_hash = baton_store::password::hash(PASSWORD).context("hashing the agents' password")?;
    Ok((0..args.agents)
        .map(|index| AgentRecord {
            username: format!("agent{index}"),
            display_name: format!("Agent {index}"),
            password_hash: password_hash.clone(),
            queues: Vec::new(),
            capacity,
            created_at: chrono::Utc::now(),
        })
        .collect())
}

async fn bench_transfer(args: TransferArgs, engine: Engine, cores: usize) -> anyhow::Result<i32> {
    let assistant_id = engine.assistant().id.clone();
    let agents = agent_records(&args)?;
    let mut server = None;
    let http = match (&args.target, &args.database) {
        (Some(target), Some(database)) => {
            // Beside the running servers, as `baton agents add` does (on a thread of its own:
            // the admin store may run a runtime of its own, which cannot start inside this one).
            let database = database.clone();
            std::thread::spawn(move || -> anyhow::Result<()> {
                let admin = baton_store::open_admin(&database).context("opening the servers' database")?;
                for agent in &agents {
                    admin.upsert_agent(agent).context("adding an agent")?;
                }
                Ok(())
            })
            .join()
            .map_err(|_| anyhow::anyhow!("adding the agents failed"))??;
            target.trim_end_matches('/').to_owned()
        }
        _ => {
            let dir = tempfile::tempdir().context("creating a temporary folder")?;
            // Development mode and no rate limit, as `Config::for_tests` has them.
            let mut config = Config::for_tests();
            config.database_url = format!("sqlite://{}", dir.path().join("bench.db").display());
            config.login_rate_limit.per_second = 0.0;
            let store = baton_store::open(&config.database_url)
                .await
                .context("opening the database")?;
            for agent in agents {
                store.upsert_agent(agent).await.context("adding an agent")?;
            }
            let started = BenchServer::start(config, store, engine).await?;
            let http = format!("http://{}", started.addr);
            server = Some((started, dir));
            http
        }
    };
    let ws_base = http.replacen("http://", "ws://", 1);
    let client = new_client()?;
    let offers: Offers = Arc::default();
    let mut tokens = Vec::with_capacity(args.agents);
    let mut agent_tasks = Vec::with_capacity(args.agents);
    for index in 0..args.agents {
        let token = login(&client, &http, &format!("agent{index}")).await?;
        let url = format!("{ws_base}/v1/agent/events?token={token}");
        let (socket, _) = tokio_tungstenite::connect_async(&url)
            .await
            .context("opening an agent's socket")?;
        let answer = client
            .put(format!("{http}/v1/agent/presence"))
            .bearer_auth(&token)
            .json(&json!({"presence": "online"}))
            .send()
            .await?;
        if !answer.status().is_success() {
            bail!("setting an agent online answered {}", answer.status());
        }
        agent_tasks.push(tokio::spawn(agent(
            socket,
            client.clone(),
            http.clone(),
            token.clone(),
            offers.clone(),
        )));
        tokens.push(token);
    }

    let base = format!("{http}/v2/assistants/{assistant_id}/environments/draft");
    let mut customers = Vec::with_capacity(args.customers);
    let mut customer_sockets = Vec::with_capacity(args.customers);
    for _ in 0..args.customers {
        let session = create_session(&client, &base).await?;
        let url = format!("{ws_base}/v2/assistants/{assistant_id}/sessions/{session}/events");
        let (mut socket, _) = tokio_tungstenite::connect_async(&url)
            .await
            .context("opening a customer's socket")?;
        customer_sockets.push(tokio::spawn(async move {
            // Reads what the customer is sent (queued, agent joined) until the socket closes.
            while let Some(Ok(_)) = socket.next().await {}
        }));
        customers.push(session);
    }

    let (sent_at, mut replies, errors) = ask_for_a_human(&client, &base, &customers, args.rate).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while offers.lock().map(|offers| offers.len()).unwrap_or(0) < sent_at.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let offered: Vec<(String, Instant)> = offers
        .lock()
        .map(|offers| offers.iter().map(|(id, at)| (id.clone(), *at)).collect())
        .unwrap_or_default();

    // Outside the measured time: which session each offered transfer belongs to.
    let mut latencies = Vec::with_capacity(offered.len());
    for (transfer, at) in &offered {
        let details: Value = client
            .get(format!("{http}/v1/agent/transfers/{transfer}"))
            .bearer_auth(&tokens[0])
            .send()
            .await?
            .json()
            .await
            .context("reading a transfer")?;
        match details["session_id"].as_str().and_then(|session| sent_at.get(session)) {
            Some(sent) => latencies.push(at.saturating_duration_since(*sent)),
            None => eprintln!(
                "an offer of another client's transfer ({transfer}, session {}) was not counted",
                details["session_id"]
            ),
        }
    }
    let missing = sent_at.len().saturating_sub(latencies.len());
    if missing > 0 && offered.len() < sent_at.len() {
        eprintln!(
            "{} of {} transfers were never offered within 30 s",
            sent_at.len() - offered.len(),
            sent_at.len()
        );
    }
    latencies.sort_unstable();
    replies.sort_unstable();

    for task in agent_tasks.into_iter().chain(customer_sockets) {
        task.abort();
    }
    let serving = match server {
        Some((server, _dir)) => {
            server.stop().await?;
            format!(
                "server and load generator share one multi-threaded tokio runtime ({cores} worker threads on {cores} cores); \
                 SQLite in a temporary folder"
            )
        }
        None => format!("the servers at {http}, the load generator in its own process ({cores} cores)"),
    };
    let notes = format!(
        "{serving}; {} agents with their console sockets open, {} customers with their session sockets open, one transfer per customer at {} per second; \
         development mode, rate limits off; latency from sending the customer's message to reading the offer on the agent's socket",
        args.agents, args.customers, args.rate
    );
    if args.json {
        let json = json!({
            "customers": args.customers,
            "agents": args.agents,
            "rate_per_second": args.rate,
            "cores": cores,
            "offers": latencies.len(),
            "missing_offers": missing,
            "errors": errors,
            "offer_p50_ms": percentile_ms(&latencies, 0.50),
            "offer_p99_ms": percentile_ms(&latencies, 0.99),
            "offer_max_ms": latencies.last().map_or(0.0, |max| max.as_secs_f64() * 1000.0),
            "reply_p50_ms": percentile_ms(&replies, 0.50),
            "reply_p99_ms": percentile_ms(&replies, 0.99),
            "notes": notes,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!("| | p50 ms | p99 ms | max ms | count |");
        println!("|---|---|---|---|---|");
        println!(
            "| message → offer on an agent's socket | {:.2} | {:.2} | {:.2} | {} |",
            percentile_ms(&latencies, 0.50),
            percentile_ms(&latencies, 0.99),
            latencies.last().map_or(0.0, |max| max.as_secs_f64() * 1000.0),
            latencies.len()
        );
        println!(
            "| message → reply to the customer | {:.2} | {:.2} | {:.2} | {} |",
            percentile_ms(&replies, 0.50),
            percentile_ms(&replies, 0.99),
            replies.last().map_or(0.0, |max| max.as_secs_f64() * 1000.0),
            replies.len()
        );
        println!();
        println!("Missing offers: {missing}; failed messages: {errors}.");
        println!("Notes: {notes}.");
    }
    Ok(i32::from(errors > 0 || missing > 0))
}

/// Each customer sends "I want to talk to a person" once, at a steady `rate` per second: when
/// each message was sent (by session), how long each reply took, and how many failed.
pub(super) async fn ask_for_a_human(
    client: &reqwest::Client,
    base: &str,
    customers: &[String],
    rate: f64,
) -> anyhow::Result<(HashMap<String, Instant>, Vec<Duration>, usize)> {
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now();
    let mut sends = Vec::with_capacity(customers.len());
    for (index, session) in customers.iter().enumerate() {
        tokio::time::sleep_until((start + interval * u32::try_from(index).unwrap_or(u32::MAX)).into()).await;
        let client = client.clone();
        let url = format!("{base}/sessions/{session}/message?version={VERSION}");
        let session = session.clone();
        sends.push(tokio::spawn(async move {
            let sent = Instant::now();
            let body = json!({"input": {"text": ASK_FOR_A_HUMAN}});
            let ok = match client.post(&url).json(&body).send().await {
                Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
                Err(_) => false,
            };
            (session, sent, sent.elapsed(), ok)
        }));
    }
    let mut sent_at = HashMap::new();
    let mut replies = Vec::new();
    let mut errors = 0usize;
    for send in sends {
        let (session, sent, reply, ok) = send.await?;
        if ok {
            sent_at.insert(session, sent);
            replies.push(reply);
        } else {
            errors += 1;
        }
    }
    Ok((sent_at, replies, errors))
}

async fn login(client: &reqwest::Client, http: &str, username: &str) -> anyhow::Result<String> {
    let response = client
        .post(format!("{http}/v1/agent/login"))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .context("logging an agent in")?;
    let status = response.status();
    let body: Value = response.json().await.context("reading the login answer")?;
    match body["token"].as_str() {
        Some(token) if status.is_success() => Ok(token.to_owned()),
        _ => bail!("logging {username} in answered {status}: {body}"),
    }
}

/// One agent's console: notes when each offer arrives and accepts it.
async fn agent(
    socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    client: reqwest::Client,
    http: String,
    token: String,
    offers: Offers,
) {
    let (mut sink, mut stream) = socket.split();
    while let Some(Ok(frame)) = stream.next().await {
        let arrived = Instant::now();
        let Frame::Text(text) = frame else {
            if let Frame::Ping(payload) = frame {
                let _ = sink.send(Frame::Pong(payload)).await;
            }
            continue;
        };
        let Ok(event) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if event["type"] != "offer" {
            continue;
        }
        let Some(transfer) = event["transfer"].as_str() else {
            continue;
        };
        if let Ok(mut offers) = offers.lock() {
            offers.entry(transfer.to_owned()).or_insert(arrived);
        }
        let client = client.clone();
        let url = format!("{http}/v1/agent/transfers/{transfer}/accept");
        let token = token.clone();
        tokio::spawn(async move {
            let _ = client.post(url).bearer_auth(token).send().await;
        });
    }
}
