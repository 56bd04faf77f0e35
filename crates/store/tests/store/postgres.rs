//! The suite on PostgreSQL, each test in a schema of its own (dropped afterwards) on the database
//! named by `BATON_TEST_POSTGRES` (default: the machine's `postgres://postgres@127.0.0.1:5432/test`),
//! plus what only a shared database has: two stores ("replicas") on one database, migrations
//! raced and refused.
//!
//! Without a reachable PostgreSQL these tests pass as skipped and say so once, unless
//! `BATON_REQUIRE_PROGRAMS=1` (CI), where that is a failure.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use baton_store::{PostgresOptions, SessionId, Store, StoreError};
use sqlx::{Connection, Executor, PgConnection};

use crate::suite::{self, Harness};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn base_url() -> String {
    std::env::var("BATON_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// A schema of its own on the test database; `open` connects with it as the search path.
pub struct PostgresHarness {
    schema: String,
    url: String,
}

impl PostgresHarness {
    /// `None` (after saying so once) when there is no PostgreSQL to test against.
    pub async fn new() -> Option<PostgresHarness> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let base = base_url();
        let mut conn = match PgConnection::connect(&base).await {
            Ok(conn) => conn,
            Err(error) => {
                skip(&base, &error);
                return None;
            }
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.subsec_nanos());
        let schema = format!(
            "baton_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        conn.execute(format!("CREATE SCHEMA {schema}").as_str())
            .await
            .expect("create the test schema");
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
        Some(PostgresHarness { schema, url })
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

fn skip(url: &str, error: &sqlx::Error) {
    if std::env::var("BATON_REQUIRE_PROGRAMS").is_ok_and(|value| value == "1") {
        panic!("BATON_REQUIRE_PROGRAMS=1 but PostgreSQL at {url} cannot be reached: {error}");
    }
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        eprintln!(
            "skipped the PostgreSQL store tests: no PostgreSQL at {url} ({error}) — \
             apt-get install postgresql, or set BATON_TEST_POSTGRES=postgres://USER@HOST:PORT/DATABASE"
        );
    });
}

impl Harness for PostgresHarness {
    async fn open(&self) -> Arc<dyn Store> {
        baton_store::open(&self.url).await.expect("open the PostgreSQL store")
    }
}

impl Drop for PostgresHarness {
    fn drop(&mut self) {
        let schema = self.schema.clone();
        // Dropped from inside a runtime: a thread of its own with its own runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&base_url()).await.ok()?;
                conn.execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("could not drop the test schema {}", self.schema);
        }
    }
}

/// The harness, or return from the test (skipped).
macro_rules! harness {
    () => {
        match PostgresHarness::new().await {
            Some(harness) => harness,
            None => return,
        }
    };
}

mod suite_on_postgres {
    use super::PostgresHarness;

    crate::durable_store_suite!(harness!());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_database_see_each_others_turns_and_conflict_on_a_stale_one() {
    let harness = harness!();
    let (a, b) = tokio::join!(harness.open(), harness.open());
    let id = SessionId::new("s1");
    a.create_session(suite::new_session("s1", suite::at(0))).await.unwrap();
    // B sees A's session and its turn at once: nothing is cached between them.
    let loaded = b.load_session(&id, suite::at(1)).await.unwrap();
    a.commit_turn(suite::turn("s1", loaded.version, suite::at(1), "from a"))
        .await
        .unwrap();
    // B's turn was computed from the version A has just replaced: refused, nothing written.
    assert!(matches!(
        b.commit_turn(suite::turn("s1", loaded.version, suite::at(2), "from b"))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let reloaded = b.load_session(&id, suite::at(2)).await.unwrap();
    assert_eq!(reloaded.version, 1);
    b.commit_turn(suite::turn("s1", reloaded.version, suite::at(2), "from b"))
        .await
        .unwrap();
    let texts: Vec<String> = a
        .transcript(&id)
        .await
        .unwrap()
        .iter()
        .map(|entry| entry.payload.get().to_owned())
        .collect();
    assert_eq!(
        texts,
        [
            r#"{"text":"from a"}"#,
            r#"{"text":"re: from a"}"#,
            r#"{"text":"from b"}"#,
            r#"{"text":"re: from b"}"#
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_at_once_migrate_once() {
    let harness = harness!();
    // Four at once, each migrating on its own connection.
    let url = harness.url();
    let opened = tokio::join!(
        baton_store::open(url),
        baton_store::open(url),
        baton_store::open(url),
        baton_store::open(url)
    );
    for store in [opened.0, opened.1, opened.2, opened.3] {
        store.expect("every replica opens");
    }
    let mut conn = PgConnection::connect(&base_url()).await.unwrap();
    let rows: Vec<(i64,)> = sqlx::query_as(&format!("SELECT version FROM {}.baton_schema", harness.schema))
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one row of schema version: {rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_a_newer_build_is_refused_and_left_alone() {
    let harness = harness!();
    drop(harness.open().await);
    let mut conn = PgConnection::connect(&base_url()).await.unwrap();
    conn.execute(format!("UPDATE {}.baton_schema SET version = 99", harness.schema).as_str())
        .await
        .unwrap();
    let Err(error) = baton_store::open(harness.url()).await else {
        panic!("a schema of version 99 opened");
    };
    assert!(
        error
            .to_string()
            .contains("the database has schema version 99, newer than this build's"),
        "{error}"
    );
    let version: i64 = sqlx::query_scalar(&format!("SELECT version FROM {}.baton_schema", harness.schema))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(version, 99, "left as it was");
}

#[tokio::test]
async fn an_unreachable_or_wrong_url_fails_with_one_sentence_and_no_password() {
    let unreachable = "postgres://baton:s3cret@127.0.0.1:9/baton?acquire_timeout_secs=1";
    let Err(error) = baton_store::open(unreachable).await else {
        panic!("opened a database on port 9");
    };
    let message = error.to_string();
    assert!(
        message.starts_with("cannot connect to PostgreSQL at 127.0.0.1:9/baton"),
        "{message}"
    );
    assert!(!message.contains("s3cret"), "{message}");
    assert!(matches!(error, StoreError::Unavailable(_)));
    for (url, expected) in [
        (
            "postgres://h/db?max_connections=0",
            "max_connections must be a whole number above 0",
        ),
        ("postgres://h:notaport/db", "not a valid postgres://"),
        ("mysql://h/db", "expected sqlite://PATH"),
    ] {
        let Err(error) = baton_store::open(url).await else {
            panic!("{url} opened");
        };
        assert!(error.to_string().contains(expected), "{url}: {error}");
    }
    assert!(
        PostgresOptions::from_url("postgres://u:p@db.example:6543/baton?sslmode=require&max_connections=4").is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_reaches_every_listener_on_the_schema_short_or_long() {
    let harness = harness!();
    let other = harness!();
    let (a, b, elsewhere) = tokio::join!(harness.open(), harness.open(), other.open());
    assert!(a.shared());
    let mut heard = a.listen().await.unwrap().expect("PostgreSQL can be shared");
    let mut not_heard = elsewhere.listen().await.unwrap().expect("PostgreSQL can be shared");
    let long = format!("{{\"text\":\"{}\"}}", "x".repeat(20_000));
    b.broadcast(r#"{"n":1}"#).await.unwrap();
    b.broadcast(&long).await.unwrap();
    b.broadcast(r#"{"n":3}"#).await.unwrap();
    let mut received = Vec::new();
    for _ in 0..3 {
        let message = tokio::time::timeout(std::time::Duration::from_secs(10), heard.recv())
            .await
            .expect("a broadcast arrives")
            .expect("the channel is open");
        received.push(message);
    }
    assert_eq!(received, [r#"{"n":1}"#.to_owned(), long, r#"{"n":3}"#.to_owned()]);
    // Another schema (another deployment) hears nothing of it.
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(300), not_heard.recv()).await;
    assert!(quiet.is_err(), "{quiet:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_used_when_the_url_asks_and_an_untrusted_certificate_is_refused() {
    let harness = harness!();
    let mut conn = PgConnection::connect(&base_url()).await.unwrap();
    let ssl: String = sqlx::query_scalar("SHOW ssl").fetch_one(&mut conn).await.unwrap();
    if ssl != "on" {
        eprintln!("skipped the TLS test: this PostgreSQL has ssl = off");
        return;
    }
    let name = format!("{}_tls", harness.schema);
    let store = baton_store::open(&format!("{}&sslmode=require&application_name={name}", harness.url()))
        .await
        .expect("sslmode=require connects");
    store
        .create_session(suite::new_session("s1", suite::at(0)))
        .await
        .unwrap();
    let (connections, encrypted): (i64, Option<bool>) = sqlx::query_as(
        "SELECT count(*), bool_and(pg_stat_ssl.ssl) FROM pg_stat_activity JOIN pg_stat_ssl USING (pid)
         WHERE application_name = $1",
    )
    .bind(&name)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(connections > 0, "the store's connections are listed");
    assert_eq!(encrypted, Some(true), "every connection of the store is encrypted");
    // The machine's certificate is self-signed: verifying it against the system's roots fails,
    // at start, with the one sentence.
    let Err(error) = baton_store::open(&format!("{}&sslmode=verify-full&acquire_timeout_secs=2", harness.url())).await
    else {
        panic!("an untrusted certificate was accepted under verify-full");
    };
    assert!(
        error.to_string().starts_with("cannot connect to PostgreSQL at"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_store_at_a_time_holds_the_desk_and_the_next_takes_it_when_it_lets_go() {
    let harness = harness!();
    let (a, b) = tokio::join!(harness.open(), harness.open());
    let mut held = a.lead("a", true).await.unwrap().expect("nobody held it");
    assert_eq!(held.previous, None);
    assert!(b.lead("b", false).await.unwrap().is_none(), "A holds it");
    // B waits in line; A lets go (as a process that dies does, its connection closing).
    let waiting = tokio::spawn(async move {
        let taken = b.lead("b", true).await.unwrap().expect("waited for it");
        (b, taken)
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "B got it while A held it");
    drop(held);
    let (b, mut taken) = tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
        .await
        .expect("B took it once A let go")
        .unwrap();
    assert_eq!(taken.previous.as_deref(), Some("a"), "B knows who held it before");
    // A, having lost it, cannot take it back while B holds it.
    assert!(a.lead("a", false).await.unwrap().is_none());
    // The holder's connection ends (as when the database restarts): B hears that it lost it.
    let mut admin = PgConnection::connect(harness.url()).await.unwrap();
    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'
           AND ((classid::bigint << 32) | objid::bigint) = hashtextextended('baton.desk.' || $1, 0)",
    )
    .bind(&harness.schema)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(terminated, [true], "B's connection held the lock");
    tokio::time::timeout(std::time::Duration::from_secs(10), taken.lost())
        .await
        .expect("the loss is noticed within the check interval");
    held = a.lead("a", false).await.unwrap().expect("free again");
    assert_eq!(held.previous.as_deref(), Some("b"));
    drop(b);
}
