//! Databases made by earlier builds open with this one: the schema is migrated in place and
//! everything stored before reads the same afterwards; a database from a newer build is refused
//! untouched.
//!
//! Each old database is built here by hand from the schema its release created, frozen in this
//! file, so a change to the way migrations run (or to a released migration) cannot go unnoticed.

use std::path::Path;

use baton_store::{SessionId, SqliteOptions, SqliteStore, Store, StoreError, StoredReply};

use crate::suite;

/// The schema of the first release (version 1), as a database created by it holds it.
const SCHEMA_V1: &str = r#"
CREATE TABLE sessions (
    key INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, assistant_id TEXT NOT NULL, state TEXT NOT NULL,
    version INTEGER NOT NULL, next_seq INTEGER NOT NULL, created_at INTEGER NOT NULL,
    last_active INTEGER NOT NULL, idle_timeout_us INTEGER NOT NULL, ended_at INTEGER
);
CREATE INDEX sessions_open ON sessions (id) WHERE ended_at IS NULL;
CREATE TABLE transcript (
    id INTEGER PRIMARY KEY, session_key INTEGER NOT NULL REFERENCES sessions (key), seq INTEGER NOT NULL,
    at INTEGER NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL
);
CREATE UNIQUE INDEX transcript_by_session ON transcript (session_key, seq);
CREATE TABLE replies (
    id INTEGER PRIMARY KEY, session_key INTEGER NOT NULL REFERENCES sessions (key),
    client_message_id TEXT NOT NULL, response TEXT NOT NULL
);
CREATE UNIQUE INDEX replies_by_message ON replies (session_key, client_message_id);
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
PRAGMA user_version = 1;
"#;

#[tokio::test]
async fn a_version_1_database_is_migrated_and_keeps_its_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(SCHEMA_V1).unwrap();
        let created = suite::at(0).timestamp_micros();
        conn.execute(
            "INSERT INTO sessions (id, assistant_id, state, version, next_seq, created_at, last_active, idle_timeout_us)
             VALUES ('s1', 'billing', '{}', 1, 2, ?1, ?1, 300000000)",
            [created],
        )
        .unwrap();
        conn.execute_batch(&format!(
            "INSERT INTO transcript (session_key, seq, at, kind, payload) VALUES
             (1, 0, {created}, 'customer', '{{}}'), (1, 1, {created}, 'assistant', '{{ \"text\": \"welcome\" }}');
             INSERT INTO api_keys (name, hash, created_at) VALUES ('ci', 'hash-ci', {created});
             INSERT INTO replies (session_key, client_message_id, response) VALUES
             (1, 'm-a', '{{\"output\":\"a\"}}'), (1, 'm-b', '{{\"output\":\"b\"}}');"
        ))
        .unwrap();
    }
    let store = SqliteStore::open(SqliteOptions::file(&path)).await.unwrap();
    let id = baton_store::SessionId::new("s1");
    assert_eq!(store.load_session(&id, suite::at(1)).await.unwrap().version, 1);
    assert!(store.find_api_key_by_hash("hash-ci").await.unwrap().is_some());
    let mut opening = suite::turn("s1", 1, suite::at(2), "a person please");
    opening.transfer = Some(baton_store::TransferWrite::Open(baton_store::NewTransfer {
        id: "t1".to_owned(),
        session_id: id.clone(),
        queue: None,
        state: "requested".to_owned(),
        value: suite::json("{}"),
        request: suite::json("{}"),
        at: suite::at(2),
    }));
    assert_eq!(store.commit_turn(opening).await.unwrap().first_seq, 2);
    assert!(store.open_transfer_of(&id).await.unwrap().is_some());
    // The entries written before the migration and after it read as one transcript, in order.
    let transcript = store.transcript(&id).await.unwrap();
    let seqs: Vec<u64> = transcript.iter().map(|entry| entry.seq).collect();
    assert_eq!(seqs, [0, 1, 2, 3]);
    let kinds: Vec<&str> = transcript.iter().map(|entry| entry.kind.as_str()).collect();
    assert_eq!(kinds, ["customer", "assistant", "customer", "assistant"]);
    assert_eq!(transcript[0].at, suite::at(0));
    assert_eq!(transcript[1].payload.get(), r#"{"text":"welcome"}"#);
    let after = store.transcript_after(&id, 1).await.unwrap();
    assert_eq!(after.iter().map(|entry| entry.seq).collect::<Vec<_>>(), [2, 3]);
    // Replies stored before the migration are found, and a retry of either is still refused.
    let reply = store.find_reply(&id, "m-a").await.unwrap().expect("reply kept");
    assert_eq!(reply.get(), r#"{"output":"a"}"#);
    let mut retry = suite::turn("s1", 2, suite::at(3), "again");
    retry.reply = Some(baton_store::StoredReply {
        client_message_id: "m-a".to_owned(),
        response: suite::json(r#"{"output":"twice"}"#),
    });
    assert!(matches!(
        store.commit_turn(retry).await,
        Err(baton_store::StoreError::Conflict(_))
    ));
    let mut next = suite::turn("s1", 2, suite::at(3), "next");
    next.reply = Some(baton_store::StoredReply {
        client_message_id: "m-c".to_owned(),
        response: suite::json(r#"{"output":"c"}"#),
    });
    store.commit_turn(next).await.unwrap();
    let reply = store.find_reply(&id, "m-b").await.unwrap().expect("reply kept");
    assert_eq!(reply.get(), r#"{"output":"b"}"#);
    drop(store);
    let version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, 5);
}

/// The schema of the current release (version 5), as a database created by it holds it: the
/// columns that later versions added with `ALTER TABLE` come last.
const SCHEMA_V5: &str = r#"
CREATE TABLE sessions (
    key INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, assistant_id TEXT NOT NULL, state TEXT NOT NULL,
    version INTEGER NOT NULL, next_seq INTEGER NOT NULL, created_at INTEGER NOT NULL,
    last_active INTEGER NOT NULL, idle_timeout_us INTEGER NOT NULL, ended_at INTEGER,
    last_entry INTEGER, last_reply INTEGER
);
CREATE INDEX sessions_open ON sessions (id) WHERE ended_at IS NULL;
CREATE TABLE transcript (
    id INTEGER PRIMARY KEY, session_key INTEGER NOT NULL REFERENCES sessions (key), seq INTEGER NOT NULL,
    entries TEXT NOT NULL, prev INTEGER
);
CREATE TABLE replies (
    id INTEGER PRIMARY KEY, session_key INTEGER NOT NULL REFERENCES sessions (key),
    client_message_id TEXT NOT NULL, response TEXT NOT NULL, prev INTEGER
);
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE transfers (
    key INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, session_key INTEGER NOT NULL REFERENCES sessions (key),
    queue TEXT, state TEXT NOT NULL, open INTEGER NOT NULL, agent_id TEXT, chat_id TEXT, value TEXT NOT NULL,
    request TEXT NOT NULL, opened_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX transfers_open_per_session ON transfers (session_key) WHERE open;
CREATE INDEX transfers_by_chat ON transfers (chat_id) WHERE chat_id IS NOT NULL;
CREATE TABLE agents (
    username TEXT PRIMARY KEY, display_name TEXT NOT NULL, password_hash TEXT NOT NULL, queues TEXT NOT NULL,
    capacity INTEGER NOT NULL, created_at INTEGER NOT NULL
);
CREATE TABLE agent_tokens (
    hash TEXT PRIMARY KEY, username TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX agent_tokens_by_agent ON agent_tokens (username);
CREATE TABLE tickets (
    key INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, session_id TEXT NOT NULL, transfer_id TEXT, queue TEXT,
    text TEXT NOT NULL, created_at INTEGER NOT NULL
);
PRAGMA user_version = 5;
"#;

/// Every table's columns and every index, in name order, with the schema version: what decides
/// whether a build can read a database.
fn schema(path: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut lines = Vec::new();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
    lines.push(format!("user_version {version}"));
    let mut tables = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    let tables: Vec<String> = tables
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for table in tables {
        let mut columns = conn
            .prepare("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1) ORDER BY cid")
            .unwrap();
        let columns = columns
            .query_map([&table], |row| {
                Ok(format!(
                    "{table}.{} {} notnull={} default={:?} pk={}",
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, bool>(2)?,
                    row.get::<_, Option<String>>(3)?,
                    row.get::<_, i64>(4)?,
                ))
            })
            .unwrap();
        lines.extend(columns.map(Result::unwrap));
    }
    let mut indexes = conn
        .prepare("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name")
        .unwrap();
    let indexes = indexes
        .query_map([], |row| {
            Ok(format!(
                "index {} on {}: {:?}",
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<String>>(2)?,
            ))
        })
        .unwrap();
    lines.extend(indexes.map(Result::unwrap));
    lines
}

#[tokio::test]
async fn a_new_database_has_the_schema_of_the_current_release() {
    let dir = tempfile::tempdir().unwrap();
    let made = dir.path().join("new.db");
    drop(SqliteStore::open(SqliteOptions::file(&made)).await.unwrap());
    let frozen = dir.path().join("frozen.db");
    rusqlite::Connection::open(&frozen)
        .unwrap()
        .execute_batch(SCHEMA_V5)
        .unwrap();
    // If this fails, a released migration was edited, or a new one was added without freezing its
    // schema here (append a SCHEMA_V6 and a test that opens a version 5 database).
    assert_eq!(schema(&made), schema(&frozen));
}

#[tokio::test]
async fn a_database_of_the_current_release_opens_with_everything_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(SCHEMA_V5).unwrap();
        let [t0, t1, t2] = [0, 1, 2].map(|seconds| suite::at(seconds).timestamp_micros());
        let expires = suite::at(12 * 3600).timestamp_micros();
        conn.execute_batch(&format!(
            r#"
INSERT INTO sessions (key, id, assistant_id, state, version, next_seq, created_at, last_active, idle_timeout_us,
                      ended_at, last_entry, last_reply) VALUES
    (1, 's1', 'billing', '{{"step":"queued"}}', 2, 5, {t0}, {t1}, 300000000, NULL, 2, 2),
    (2, 's2', 'billing', '{{}}', 1, 1, {t0}, {t0}, 300000000, {t1}, 3, NULL);
INSERT INTO transcript (id, session_key, seq, entries, prev) VALUES
    (1, 1, 0, '[[{t0},"customer",{{"text":"hi"}}],[{t0},"assistant",{{"text":"hello"}}]]', NULL),
    (2, 1, 2, '[[{t1},"customer",{{"text":"a person"}}],[{t1},"assistant",{{"text":"connecting"}}],[{t1},"event",{{"transfer":"queued"}}]]', 1),
    (3, 2, 0, '[[{t0},"customer",{{"text":"bye"}}]]', NULL);
INSERT INTO replies (id, session_key, client_message_id, response, prev) VALUES
    (1, 1, 'm-1', '{{"output":"1"}}', NULL),
    (2, 1, 'm-2', '{{"output":"2"}}', 1);
INSERT INTO transfers (key, id, session_key, queue, state, open, agent_id, chat_id, value, request, opened_at,
                       updated_at) VALUES
    (1, 't1', 1, 'billing', 'queued', 1, NULL, 'chat-1', '{{"state":"queued"}}', '{{"brief":"a person"}}', {t1}, {t1});
INSERT INTO agents (username, display_name, password_hash, queues, capacity, created_at) VALUES
    ('ann', 'Ann Smith', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', '["billing"]', 3, {t0});
INSERT INTO agent_tokens (hash, username, created_at, expires_at) VALUES ('token-ann', 'ann', {t0}, {expires});
INSERT INTO tickets (key, id, session_id, transfer_id, queue, text, created_at) VALUES
    (1, 'k1', 's1', 't1', 'billing', 'call me back', {t2});
INSERT INTO api_keys (id, name, hash, created_at, revoked_at) VALUES
    (1, 'ci', 'hash-ci', {t0}, NULL), (2, 'old', 'hash-old', {t0}, {t1});
"#
        ))
        .unwrap();
    }
    let store = SqliteStore::open(SqliteOptions::file(&path)).await.unwrap();
    let s1 = SessionId::new("s1");
    let loaded = store.load_session(&s1, suite::at(3)).await.unwrap();
    assert_eq!(
        (loaded.version, loaded.state.get(), loaded.last_active),
        (2, r#"{"step":"queued"}"#, suite::at(1))
    );
    let transcript = store.transcript(&s1).await.unwrap();
    let entries: Vec<String> = transcript
        .iter()
        .map(|entry| format!("{} {} {}", entry.seq, entry.kind.as_str(), entry.payload.get()))
        .collect();
    assert_eq!(
        entries,
        [
            r#"0 customer {"text":"hi"}"#,
            r#"1 assistant {"text":"hello"}"#,
            r#"2 customer {"text":"a person"}"#,
            r#"3 assistant {"text":"connecting"}"#,
            r#"4 event {"transfer":"queued"}"#,
        ]
    );
    assert_eq!(transcript[2].at, suite::at(1));
    let after: Vec<u64> = store
        .transcript_after(&s1, 2)
        .await
        .unwrap()
        .iter()
        .map(|entry| entry.seq)
        .collect();
    assert_eq!(after, [3, 4]);
    let reply = store.find_reply(&s1, "m-1").await.unwrap().expect("reply kept");
    assert_eq!(reply.get(), r#"{"output":"1"}"#);
    // The ended session stays ended, with its transcript.
    let s2 = SessionId::new("s2");
    assert!(matches!(
        store.load_session(&s2, suite::at(3)).await,
        Err(StoreError::Expired(_))
    ));
    assert_eq!(store.transcript(&s2).await.unwrap().len(), 1);
    // The open transfer is found every way the server looks for it.
    let transfer = store.open_transfer_of(&s1).await.unwrap().expect("open transfer");
    assert_eq!(
        (transfer.id.as_str(), transfer.queue.as_deref(), transfer.value.get()),
        ("t1", Some("billing"), r#"{"state":"queued"}"#)
    );
    assert_eq!(store.open_transfers().await.unwrap().len(), 1);
    let by_chat = store
        .find_transfer_by_chat("chat-1")
        .await
        .unwrap()
        .expect("by chat id");
    assert_eq!(by_chat.id, "t1");
    // Agents, their tokens, tickets and keys.
    let ann = store.find_agent("ann").await.unwrap().expect("agent kept");
    assert_eq!(
        (ann.display_name.as_str(), ann.queues.as_slice()),
        ("Ann Smith", &["billing".to_owned()][..])
    );
    let token = store.find_agent_token("token-ann", suite::at(3)).await.unwrap();
    assert_eq!(token.map(|token| token.username), Some("ann".to_owned()));
    let tickets = store.list_tickets().await.unwrap();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].text, "call me back");
    assert!(store.find_api_key_by_hash("hash-ci").await.unwrap().is_some());
    assert!(store.find_api_key_by_hash("hash-old").await.unwrap().is_none());
    // A retry of a message answered before is still refused, and the next turn carries on.
    let mut retry = suite::turn("s1", 2, suite::at(3), "again");
    retry.reply = Some(StoredReply {
        client_message_id: "m-2".to_owned(),
        response: suite::json(r#"{"output":"twice"}"#),
    });
    assert!(matches!(store.commit_turn(retry).await, Err(StoreError::Conflict(_))));
    let mut next = suite::turn("s1", 2, suite::at(3), "next");
    next.reply = Some(StoredReply {
        client_message_id: "m-3".to_owned(),
        response: suite::json(r#"{"output":"3"}"#),
    });
    let committed = store.commit_turn(next).await.unwrap();
    assert_eq!((committed.version, committed.first_seq), (3, 5));
    assert_eq!(store.transcript(&s1).await.unwrap().len(), 7);
    drop(store);
    let version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, 5);
}

#[tokio::test]
async fn a_database_from_a_newer_build_is_refused_and_left_alone() {
    let cases = [
        (6, "schema version 6, newer than this build's 5"),
        (-1, "schema version -1, which no build of Baton writes"),
    ];
    for (version, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newer.db");
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(&format!(
                "{SCHEMA_V5}\nALTER TABLE tickets ADD COLUMN later TEXT;\nPRAGMA user_version = {version};"
            ))
            .unwrap();
        let before = schema(&path);
        let Err(error) = SqliteStore::open(SqliteOptions::file(&path)).await else {
            panic!("a database of schema version {version} opened with a build that knows 5");
        };
        let message = std::iter::successors(Some(&error as &dyn std::error::Error), |error| error.source())
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(": ");
        assert!(message.contains(expected), "{version}: {message}");
        assert_eq!(schema(&path), before, "{version}");
    }
}
