//! `baton bench transfer --desk webhook`: the same transfers as the own-desk bench, to a webhook
//! desk: a small desk in this process (axum on loopback) that notes when each `chat.requested`
//! arrives and answers after `--desk-delay-ms`, so a slow desk can be measured too. Meanwhile
//! `--others` sessions that are not being transferred keep having ordinary turns ("what time do
//! you open"), one at a time each; their latency is what a slow or hanging desk must not touch.
//! Server, desk and load generator share one multi-threaded tokio runtime, as in the own-desk
//! bench.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::body::Bytes;
use serde_json::{Value, json};

use baton_dialog::Engine;
use baton_server::Config;
use baton_server::config::{DeskSpec, WebhookSpec};

use super::transfer::TransferArgs;
use super::{BenchServer, VERSION, create_session, new_client, percentile_ms};

const ORDINARY: &str = "what time do you open";

/// When each session's `chat.requested` reached the desk.
pub(super) type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

pub async fn bench_webhook(args: TransferArgs, engine: Engine, cores: usize) -> anyhow::Result<i32> {
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let secret = dir.path().join("desk-secret");
    std::fs::write(&secret, "bench-webhook-desk-secret").context("writing the desk's secret")?;

    let arrivals: Arrivals = Arc::default();
    let delay = Duration::from_millis(args.desk_delay_ms);
    let desk = {
        let arrivals = arrivals.clone();
        axum::Router::new().route(
            "/desk",
            axum::routing::post(move |body: Bytes| {
                let arrived = Instant::now();
                let arrivals = arrivals.clone();
                async move {
                    if let Ok(event) = serde_json::from_slice::<Value>(&body)
                        && event["type"] == "chat.requested"
                        && let Some(session) = event["data"]["session_id"].as_str()
                        && let Ok(mut arrivals) = arrivals.lock()
                    {
                        arrivals.entry(session.to_owned()).or_insert(arrived);
                    }
                    tokio::time::sleep(delay).await;
                    axum::http::StatusCode::OK
                }
            }),
        )
    };
    let desk_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let desk_addr = desk_listener.local_addr()?;
    let desk_task = tokio::spawn(async move { axum::serve(desk_listener, desk).await });

    let mut config = Config::for_tests();
    config.database_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    config.desks.insert(
        "bench".to_owned(),
        DeskSpec::Webhook(WebhookSpec {
            url: format!("http://{desk_addr}/desk"),
            secret_env: None,
            secret_file: Some(secret),
            join_timeout_secs: None,
            retry: Default::default(),
        }),
    );
    config.routes.insert("*".to_owned(), vec!["bench".to_owned()]);
    let notes = format!(
        "server, webhook desk and load generator share one multi-threaded tokio runtime ({cores} worker threads on {cores} cores); \
         {} customers, one transfer each at {} per second, to a webhook desk on loopback that answers after {} ms; \
         {} other sessions having ordinary turns meanwhile; SQLite in a temporary folder, development mode, rate limits off",
        args.customers, args.rate, args.desk_delay_ms, args.others
    );
    let measured = Measured {
        desk: "webhook",
        arrival: "chat.requested at the desk",
        notes,
        extra: json!({"desk_delay_ms": args.desk_delay_ms}),
    };
    let code = measure(&args, config, engine, arrivals, measured, &TransfersOnly, cores).await;
    desk_task.abort();
    code
}

/// What a desk's bench adds to the shared loop.
pub(super) trait DeskSide {
    /// The server is listening at `addr` (a desk that calls Baton's webhook router needs it).
    fn started(&self, _addr: std::net::SocketAddr) {}

    /// After every transfer reached the desk: more figures, measured on those chats.
    async fn after(&self, _client: &reqwest::Client, _base: &str, _customers: &[String]) -> anyhow::Result<Vec<Row>> {
        Ok(Vec::new())
    }
}

/// One more line of figures: its key in `--json`, its label in the table, the latencies.
pub(super) struct Row {
    pub key: &'static str,
    pub label: &'static str,
    pub values: Vec<Duration>,
}

/// A desk whose bench measures the transfers only.
pub(super) struct TransfersOnly;

impl DeskSide for TransfersOnly {}

/// What a desk's bench reports besides the figures.
pub(super) struct Measured {
    pub desk: &'static str,
    /// What reaching the desk means for this desk ("an invitation in the agent's client").
    pub arrival: &'static str,
    pub notes: String,
    /// More fields for `--json`.
    pub extra: Value,
}

/// Starts the server with `config`, sends the transfers while `--others` sessions have ordinary
/// turns, waits for every transfer to reach the desk (`arrivals`, keyed by session id, filled by
/// the desk's side), and prints the figures. The exit code: 1 when anything failed or went
/// missing.
pub(super) async fn measure(
    args: &TransferArgs,
    config: Config,
    engine: Engine,
    arrivals: Arrivals,
    measured: Measured,
    side: &impl DeskSide,
    cores: usize,
) -> anyhow::Result<i32> {
    let assistant_id = engine.assistant().id.clone();
    let store = baton_store::open(&config.database_url)
        .await
        .context("opening the database")?;
    let server = BenchServer::start(config, store, engine).await?;
    side.started(server.addr);
    let http = format!("http://{}", server.addr);
    let client = new_client()?;
    let base = format!("{http}/v2/assistants/{assistant_id}/environments/draft");

    let mut customers = Vec::with_capacity(args.customers);
    for _ in 0..args.customers {
        customers.push(create_session(&client, &base).await?);
    }
    // The sessions that are not transferred: ordinary turns, one at a time each, until the end.
    let stop = Arc::new(AtomicBool::new(false));
    let mut others = Vec::with_capacity(args.others);
    for _ in 0..args.others {
        let session = create_session(&client, &base).await?;
        let client = client.clone();
        let url = format!("{base}/sessions/{session}/message?version={VERSION}");
        let stop = stop.clone();
        others.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let body = json!({"input": {"text": ORDINARY}});
                let ok = match client.post(&url).json(&body).send().await {
                    Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if ok {
                    latencies.push(sent.elapsed());
                } else {
                    errors += 1;
                }
                // About 20 turns a second per session: a customer's pace, many times over.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (latencies, errors)
        }));
    }

    let (sent_at, mut replies, errors) =
        super::transfer::ask_for_a_human(&client, &base, &customers, args.rate).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while arrivals.lock().map(|arrivals| arrivals.len()).unwrap_or(0) < sent_at.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut extra_rows = side.after(&client, &base, &customers).await?;
    for row in &mut extra_rows {
        row.values.sort_unstable();
    }
    stop.store(true, Ordering::Relaxed);
    let mut other_latencies = Vec::new();
    let mut other_errors = 0usize;
    for task in others {
        let (latencies, errors) = task.await?;
        other_latencies.extend(latencies);
        other_errors += errors;
    }
    let mut latencies: Vec<Duration> = {
        let arrivals = arrivals
            .lock()
            .map_err(|_| anyhow::anyhow!("the desk's record was poisoned"))?;
        sent_at
            .iter()
            .filter_map(|(session, sent)| arrivals.get(session).map(|at| at.saturating_duration_since(*sent)))
            .collect()
    };
    let missing = sent_at.len().saturating_sub(latencies.len());
    latencies.sort_unstable();
    replies.sort_unstable();
    other_latencies.sort_unstable();
    server.stop().await?;

    let Measured {
        desk,
        arrival,
        notes,
        extra,
    } = measured;
    let row = |name: &str, values: &[Duration]| {
        format!(
            "| {name} | {:.2} | {:.2} | {:.2} | {} |",
            percentile_ms(values, 0.50),
            percentile_ms(values, 0.99),
            values.last().map_or(0.0, |max| max.as_secs_f64() * 1000.0),
            values.len()
        )
    };
    if args.json {
        let mut json = json!({
            "desk": desk,
            "customers": args.customers,
            "rate_per_second": args.rate,
            "cores": cores,
            "requests_at_desk": latencies.len(),
            "missing": missing,
            "errors": errors,
            "desk_p50_ms": percentile_ms(&latencies, 0.50),
            "desk_p99_ms": percentile_ms(&latencies, 0.99),
            "reply_p50_ms": percentile_ms(&replies, 0.50),
            "reply_p99_ms": percentile_ms(&replies, 0.99),
            "others": args.others,
            "others_turns": other_latencies.len(),
            "others_errors": other_errors,
            "others_p50_ms": percentile_ms(&other_latencies, 0.50),
            "others_p99_ms": percentile_ms(&other_latencies, 0.99),
            "notes": notes,
        });
        if let (Some(json), Value::Object(extra)) = (json.as_object_mut(), extra) {
            json.extend(extra);
        }
        if let Some(json) = json.as_object_mut() {
            for extra in &extra_rows {
                let values = &extra.values;
                json.insert(
                    extra.key.to_owned(),
                    json!({"p50_ms": percentile_ms(values, 0.50), "p99_ms": percentile_ms(values, 0.99), "count": values.len()}),
                );
            }
        }
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!("| | p50 ms | p99 ms | max ms | count |");
        println!("|---|---|---|---|---|");
        println!("{}", row(&format!("message → {arrival}"), &latencies));
        println!("{}", row("message → reply to the customer", &replies));
        println!("{}", row("other sessions' turns meanwhile", &other_latencies));
        for extra in &extra_rows {
            println!("{}", row(extra.label, &extra.values));
        }
        println!();
        println!(
            "Missing at the desk: {missing}; failed messages: {errors}; failed turns of other sessions: {other_errors}."
        );
        println!("Notes: {notes}.");
    }
    Ok(i32::from(errors > 0 || missing > 0 || other_errors > 0))
}
