//! The suite on SQLite, on a file in a fresh temporary directory and in memory, plus what only
//! SQLite has.

use std::sync::Arc;

use baton_store::{SqliteOptions, SqliteStore, Store, StoreError, Synchronous};

use crate::suite::{self, Harness};

/// A database file in its own temporary directory, removed when the harness is dropped.
pub struct FileHarness {
    dir: tempfile::TempDir,
}

impl FileHarness {
    pub fn new() -> FileHarness {
        FileHarness {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }
}

impl Harness for FileHarness {
    async fn open(&self) -> Arc<dyn Store> {
        let path = self.dir.path().join("test.db");
        let store = SqliteStore::open(SqliteOptions::file(path))
            .await
            .expect("open database file");
        Arc::new(store)
    }
}

/// A private in-memory database; each `open` makes a new, empty one.
pub struct MemoryHarness;

impl Harness for MemoryHarness {
    async fn open(&self) -> Arc<dyn Store> {
        let store = SqliteStore::open(SqliteOptions::in_memory())
            .await
            .expect("open in-memory database");
        Arc::new(store)
    }
}

mod file {
    use super::FileHarness;

    crate::durable_store_suite!(FileHarness::new());
}

mod memory {
    use super::MemoryHarness;

    crate::every_store_suite!(MemoryHarness);
}

#[test]
fn urls_pick_the_file_the_mode_and_the_durability() {
    let cases = [
        ("sqlite://baton.db", Some("baton.db"), Synchronous::Normal),
        ("sqlite:baton.db", Some("baton.db"), Synchronous::Normal),
        (
            "sqlite:///var/lib/baton/baton.db",
            Some("/var/lib/baton/baton.db"),
            Synchronous::Normal,
        ),
        (
            "sqlite://data/b.db?synchronous=full",
            Some("data/b.db"),
            Synchronous::Full,
        ),
        ("sqlite::memory:", None, Synchronous::Normal),
        ("sqlite://:memory:?synchronous=FULL", None, Synchronous::Full),
    ];
    for (url, path, synchronous) in cases {
        let options = SqliteOptions::from_url(url).unwrap_or_else(|error| panic!("{url}: {error}"));
        assert_eq!(options.path.as_deref(), path.map(std::path::Path::new), "{url}");
        assert_eq!(options.synchronous, synchronous, "{url}");
    }
    for url in ["sqlite://", "sqlite://b.db?cache=shared", "mysql://x"] {
        assert!(SqliteOptions::from_url(url).is_err(), "{url} should be refused");
    }
}

#[tokio::test]
async fn open_picks_the_backend_from_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/baton.db", dir.path().display());
    let store = baton_store::open(&url).await.unwrap();
    store
        .create_session(suite::new_session("s1", suite::at(0)))
        .await
        .unwrap();
    assert!(dir.path().join("baton.db").exists());

    // A postgres:// URL goes to the PostgreSQL backend: here a host that does not resolve.
    let refused = baton_store::open("postgres://baton:secret@db.invalid/baton?acquire_timeout_secs=1").await;
    let Err(error) = refused else {
        panic!("a database on a host that does not exist opened")
    };
    let message = error.to_string();
    assert!(
        message.starts_with("cannot connect to PostgreSQL at db.invalid:5432/baton"),
        "{message}"
    );
    assert!(
        !message.contains("secret"),
        "the error must not show the password: {message}"
    );
    assert!(matches!(
        baton_store::open("redis://x").await,
        Err(StoreError::UnsupportedUrl { .. })
    ));
}

#[tokio::test]
async fn a_second_store_on_the_same_file_is_refused() {
    let harness = FileHarness::new();
    let first = harness.open().await;
    let path = harness.dir.path().join("test.db");
    let second = SqliteStore::open(SqliteOptions::file(&path)).await;
    assert!(matches!(second, Err(StoreError::Locked(_))));
    drop(first);
    SqliteStore::open(SqliteOptions::file(&path))
        .await
        .expect("free again once the first is dropped");
}

#[tokio::test]
async fn synchronous_full_stores_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteOptions {
        path: Some(dir.path().join("full.db")),
        synchronous: Synchronous::Full,
    };
    let store = SqliteStore::open(options).await.unwrap();
    store
        .create_session(suite::new_session("s1", suite::at(0)))
        .await
        .unwrap();
    store
        .commit_turn(suite::turn("s1", 0, suite::at(1), "hi"))
        .await
        .unwrap();
    let transcript = store.transcript(&baton_store::SessionId::new("s1")).await.unwrap();
    assert_eq!(transcript.len(), 2);
}
