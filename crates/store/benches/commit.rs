//! Messages per second through the SQLite store, and their latency, at 1, 8 and 64 concurrent
//! sessions: each message is what the server does for one customer message, `load_session` then
//! `commit_turn` (new state, a customer and an assistant entry, the reply for the client's
//! message id).
//!
//! Run: `cargo bench -p baton-store --bench commit -- [--seconds N] [--full] [--dir PATH]`
//! (`--full` for `synchronous=FULL`; `--dir` for where the database file goes, a fresh temporary
//! directory by default).
//! The runtime has two worker threads, as on the 2-core machines the targets are set for; the
//! store's writer is one more thread.
//! The store is opened by URL with `baton_store::open`, as the server opens it, so the figures
//! include the way the server calls it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_store::{EntryKind, Json, NewEntry, NewSession, SessionId, Store, StoredReply, Synchronous, TurnRecord};
use chrono::Utc;

const CONCURRENCY: [usize; 3] = [1, 8, 64];
const WARM_UP: Duration = Duration::from_millis(500);

struct Args {
    seconds: f64,
    synchronous: Synchronous,
    dir: Option<PathBuf>,
}

fn parse_args() -> Args {
    let mut args = Args {
        seconds: 3.0,
        synchronous: Synchronous::Normal,
        dir: None,
    };
    let mut raw = std::env::args().skip(1);
    while let Some(arg) = raw.next() {
        match arg.as_str() {
            "--seconds" => args.seconds = raw.next().and_then(|s| s.parse().ok()).unwrap_or(3.0),
            "--full" => args.synchronous = Synchronous::Full,
            "--dir" => args.dir = raw.next().map(PathBuf::from),
            // `cargo bench` passes `--bench`; anything else is ignored too.
            _ => {}
        }
    }
    args
}

fn json(text: String) -> Json {
    serde_json::value::RawValue::from_string(text).expect("valid json")
}

/// A state of about 600 bytes, the size of a session with a few collected variables.
fn state(turn_idx: u64) -> Json {
    let variables: Vec<String> = (0..12)
        .map(|idx| format!(r#""variable_{idx}":"value number {idx} of the session""#))
        .collect();
    json(format!(
        r#"{{"step":"ask_amount","turn_count":{turn_idx},"no_action_matches_count":0,{}}}"#,
        variables.join(",")
    ))
}

fn message(id: &SessionId, version: u64) -> TurnRecord {
    let now = Utc::now();
    TurnRecord {
        session_id: id.clone(),
        expected_version: version,
        state: state(version + 1),
        at: now,
        entries: vec![
            NewEntry {
                kind: EntryKind::Customer,
                at: now,
                payload: json(format!(
                    r#"{{"text":"I want to pay my invoice number {version}, please"}}"#
                )),
            },
            NewEntry {
                kind: EntryKind::Assistant,
                at: now,
                payload: json(
                    r#"{"generic":[{"response_type":"text","text":"How much would you like to pay?"}]}"#.to_owned(),
                ),
            },
        ],
        reply: Some(StoredReply {
            client_message_id: format!("{id}-{version}"),
            response: json(format!(
                r#"{{"output":{{"generic":[{{"response_type":"text","text":"How much would you like to pay?"}}],"intents":[{{"intent":"pay_invoice","confidence":0.97}}]}},"context":{{"turn":{version}}}}}"#
            )),
        }),
        transfer: None,
    }
}

struct Figures {
    messages_per_second: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
    n_messages: usize,
    /// Processor time of the whole process (writer, runtime, benchmark) per message, which the
    /// load of a shared machine distorts less than the rates.
    cpu_per_message: Option<Duration>,
}

/// Processor time used by this process so far, from `/proc/self/stat` (Linux only).
fn process_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel reports in clock ticks, 100 per second on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

async fn measure(store: Arc<dyn Store>, n_sessions: usize, seconds: f64) -> Figures {
    let now = Utc::now();
    for session_idx in 0..n_sessions {
        store
            .create_session(NewSession {
                id: SessionId::new(format!("bench-{n_sessions}-{session_idx}")),
                assistant_id: "bank".to_owned(),
                state: state(0),
                created_at: now,
                idle_timeout: Duration::from_secs(3600),
            })
            .await
            .expect("create session");
    }
    let cpu_before = process_cpu_time();
    let start = Instant::now();
    let measure_from = start + WARM_UP;
    let stop_at = measure_from + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for session_idx in 0..n_sessions {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let id = SessionId::new(format!("bench-{n_sessions}-{session_idx}"));
            let mut latencies = Vec::new();
            let mut n_messages = 0_u32;
            loop {
                let began = Instant::now();
                if began >= stop_at {
                    break;
                }
                let session = store.load_session(&id, Utc::now()).await.expect("load");
                store.commit_turn(message(&id, session.version)).await.expect("commit");
                n_messages += 1;
                if began >= measure_from {
                    latencies.push(began.elapsed());
                }
            }
            (latencies, n_messages)
        }));
    }
    let mut latencies = Vec::new();
    let mut n_messages = 0;
    for task in tasks {
        let (task_latencies, task_messages) = task.await.expect("bench task");
        latencies.extend(task_latencies);
        n_messages += task_messages;
    }
    let cpu_per_message = match (cpu_before, process_cpu_time()) {
        (Some(before), Some(after)) => Some((after - before) / n_messages.max(1)),
        _ => None,
    };
    latencies.sort_unstable();
    let quantile = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    Figures {
        messages_per_second: latencies.len() as f64 / seconds,
        p50: quantile(0.50),
        p99: quantile(0.99),
        max: *latencies.last().expect("at least one message"),
        n_messages: latencies.len(),
        cpu_per_message,
    }
}

fn main() {
    let args = parse_args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let temporary = tempfile::tempdir().expect("temporary directory");
    let dir = args.dir.clone().unwrap_or_else(|| temporary.path().to_owned());
    println!(
        "store commit benchmark: load_session + commit_turn per message, synchronous={:?}, {} s per row, database in {}",
        args.synchronous,
        args.seconds,
        dir.display()
    );
    println!("| sessions | messages/s | p50 | p99 | max | messages | CPU per message |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for n_sessions in CONCURRENCY {
        let path = dir.join(format!("bench-{n_sessions}.db"));
        let synchronous = match args.synchronous {
            Synchronous::Normal => "normal",
            Synchronous::Full => "full",
        };
        let url = format!("sqlite://{}?synchronous={synchronous}", path.display());
        let figures = runtime.block_on(async {
            let store = baton_store::open(&url).await.expect("open store");
            measure(store, n_sessions, args.seconds).await
        });
        println!(
            "| {n_sessions} | {:.0} | {:.0} µs | {:.0} µs | {:.1} ms | {} | {} |",
            figures.messages_per_second,
            figures.p50.as_secs_f64() * 1e6,
            figures.p99.as_secs_f64() * 1e6,
            figures.max.as_secs_f64() * 1e3,
            figures.n_messages,
            figures
                .cpu_per_message
                .map_or("n/a".to_owned(), |cpu| format!("{:.0} µs", cpu.as_secs_f64() * 1e6)),
        );
        for suffix in ["", "-wal", "-shm", "-lock"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
    }
}
