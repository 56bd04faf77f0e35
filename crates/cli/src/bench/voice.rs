//! `baton bench voice`: the phone channel's webhook under load, as a carrier drives it.
//!
//! One process starts a Baton server (SQLite in a temporary folder, rate limits off, the phone
//! channel on with a throw-away auth token) and `--calls` concurrent callers, each making calls
//! one after another until `--seconds` have passed. A call is the bank example's lost-card
//! conversation: the incoming call, speech ("I lost my card"), a key (`2`), four keys (`1234`),
//! speech ("no"), speech ("thanks, bye", which hangs up), then the status callback; every request
//! is form-encoded and signed with `X-Twilio-Signature` as Twilio signs it (the signing is the
//! load generator's work, outside the measured time). The latency of a turn is from just before
//! its request is sent to its whole TwiML answer read. Server and load generator share one
//! multi-threaded tokio runtime, so the figures are for both on the same cores.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use baton_connectors::signing::twilio_signature;
use baton_dialog::Engine;
use baton_server::Config;

use super::{BenchServer, new_client, percentile_ms};

#[derive(Debug, clap::Args)]
pub struct VoiceArgs {
    /// Calls in progress at once.
    #[arg(long, default_value_t = 64)]
    pub calls: usize,
    /// How long to keep calling.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// The assistant folder to serve (the bank example's lost-card conversation is scripted).
    #[arg(long, default_value = "examples/bank")]
    pub assistant: PathBuf,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

const TOKEN: &str = "bench-auth-token";

/// What the caller does at each turn after the incoming call: speech or keys.
const SCRIPT: [(&str, &str); 5] = [
    ("SpeechResult", "I lost my card"),
    ("Digits", "2"),
    ("Digits", "1234"),
    ("SpeechResult", "no"),
    ("SpeechResult", "thanks, bye"),
];

pub fn run(args: VoiceArgs) -> anyhow::Result<i32> {
    let Some(assistant) = crate::check::load_reporting(&args.assistant) else {
        return Ok(1);
    };
    if args.calls == 0 || args.seconds == 0 {
        bail!("--calls and --seconds must be above zero");
    }
    let engine = Engine::new(assistant);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(bench(args, engine))
}

async fn bench(args: VoiceArgs, engine: Engine) -> anyhow::Result<i32> {
    let assistant_id = engine.assistant().id.clone();
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let token_file = dir.path().join("auth_token");
    std::fs::write(&token_file, TOKEN).context("writing the auth token")?;
    let mut config = Config::for_tests();
    config.database_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    config.voice.auth_token_file = Some(token_file);
    let store = baton_store::open(&config.database_url)
        .await
        .context("opening the database")?;
    let server = BenchServer::start(config, store, engine).await?;
    let base = format!("http://{}", server.addr);
    let client = new_client()?;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);

    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let mut callers = Vec::with_capacity(args.calls);
    for caller in 0..args.calls {
        let client = client.clone();
        let base = Arc::new(base.clone());
        let assistant_id = assistant_id.clone();
        callers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut calls = 0usize;
            let mut errors = 0usize;
            while Instant::now() < deadline {
                let call_id = format!("CA{caller:04}{calls:028}");
                match call(&client, &base, &assistant_id, &call_id, &mut latencies).await {
                    Ok(()) => calls += 1,
                    Err(error) => {
                        errors += 1;
                        if errors == 1 {
                            eprintln!("a call failed: {error:#}");
                        }
                        calls += 1;
                    }
                }
            }
            (latencies, calls, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut calls = 0;
    let mut errors = 0;
    for caller in callers {
        let (mine, made, failed) = caller.await.context("a caller task")?;
        latencies.extend(mine);
        calls += made;
        errors += failed;
    }
    let elapsed = started.elapsed();
    server.stop().await?;
    latencies.sort_unstable();
    let turns_per_second = latencies.len() as f64 / elapsed.as_secs_f64();
    let (p50, p99, max) = (
        percentile_ms(&latencies, 0.50),
        percentile_ms(&latencies, 0.99),
        latencies.last().map_or(0.0, |max| max.as_secs_f64() * 1000.0),
    );
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "concurrent_calls": args.calls,
                "cores": cores,
                "seconds": elapsed.as_secs_f64(),
                "calls": calls,
                "turns": latencies.len(),
                "errors": errors,
                "turns_per_second": turns_per_second,
                "p50_ms": p50,
                "p99_ms": p99,
                "max_ms": max,
            })
        );
    } else {
        println!(
            "voice webhook, {} concurrent calls on {cores} cores, {:.1} s: {calls} calls, {} turns ({errors} failed calls)",
            args.calls,
            elapsed.as_secs_f64(),
            latencies.len()
        );
        println!("  {turns_per_second:.0} turns/s, p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms");
    }
    Ok(match errors {
        0 => 0,
        _ => 1,
    })
}

/// One whole call; each turn's latency is pushed to `latencies`.
async fn call(
    client: &reqwest::Client,
    base: &str,
    assistant_id: &str,
    call_id: &str,
    latencies: &mut Vec<Duration>,
) -> anyhow::Result<()> {
    let webhook = format!("/v1/voice/{assistant_id}");
    let common = |extra: Option<(&str, &str)>| {
        let mut params = vec![
            ("AccountSid".to_owned(), "ACbench".to_owned()),
            ("CallSid".to_owned(), call_id.to_owned()),
            ("From".to_owned(), "+12349013030".to_owned()),
            ("To".to_owned(), "+18005551212".to_owned()),
            ("CallStatus".to_owned(), "in-progress".to_owned()),
        ];
        if let Some((name, value)) = extra {
            params.push((name.to_owned(), value.to_owned()));
        }
        params
    };
    let mut document = post(client, base, &webhook, common(None), latencies).await?;
    for (name, value) in SCRIPT {
        let path = gather_action(&document).with_context(|| format!("no <Gather> in {document}"))?;
        document = post(client, base, &path, common(Some((name, value))), latencies).await?;
    }
    if !document.contains("<Hangup/>") {
        bail!("the call did not hang up: {document}");
    }
    let mut status = common(None);
    status.retain(|(name, _)| name != "CallStatus");
    status.push(("CallStatus".to_owned(), "completed".to_owned()));
    post(client, base, &format!("{webhook}/status"), status, latencies).await?;
    Ok(())
}

/// A signed request and its answer; its latency is pushed to `latencies`.
async fn post(
    client: &reqwest::Client,
    base: &str,
    path_and_query: &str,
    params: Vec<(String, String)>,
    latencies: &mut Vec<Duration>,
) -> anyhow::Result<String> {
    let signature = twilio_signature(TOKEN, &format!("{base}{path_and_query}"), &params);
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    let sent = Instant::now();
    let response = client
        .post(format!("{base}{path_and_query}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("X-Twilio-Signature", signature)
        .body(body)
        .send()
        .await
        .context("sending a webhook request")?;
    let status = response.status();
    let text = response.text().await.context("reading the answer")?;
    latencies.push(sent.elapsed());
    if !status.is_success() {
        bail!("{path_and_query} answered {status}: {text}");
    }
    Ok(text)
}

/// The path and query of the document's `<Gather action>`.
fn gather_action(document: &str) -> Option<String> {
    let gather = &document[document.find("<Gather ")?..];
    let start = gather.find(" action=\"")? + 9;
    let end = gather[start..].find('"')?;
    let url = gather[start..start + end].replace("&amp;", "&");
    Some(url[url.find("/v1/voice/")?..].to_owned())
}
