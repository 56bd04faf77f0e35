//! The schema and its migrations: one SQL script per schema version, applied in order, with
//! `PRAGMA user_version` counting how many a database has had.
//!
//! All of a database's pending scripts run in one transaction, so a failed migration leaves it as
//! it was; a database with a version newer than this build's is refused, its schema untouched.
//! The comment above each script says why the layout changed; the figures are from
//! `baton bench http` (docs/benchmarks.md).
//!
//! The runner is these few lines of our own, not `rusqlite_migration`: its latest release (2.6.0)
//! requires rusqlite 0.40 where the workspace has 0.43, and two versions of `libsqlite3-sys`
//! cannot link into one build (`refinery` stops at 0.41 likewise).
//! It keeps `user_version` the way `rusqlite_migration` does (the number of scripts applied), so
//! once that crate supports our rusqlite, `Migrations::new` over these scripts opens every
//! database made here.

use rusqlite::{Connection, TransactionBehavior};

use crate::StoreError;
use crate::columns::corrupt;

/// The schema, one entry per version; `PRAGMA user_version` records how many have been applied.
/// Never edit an entry once released: append a new one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE sessions (
    key INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    assistant_id TEXT NOT NULL,
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    next_seq INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    last_active INTEGER NOT NULL,
    idle_timeout_us INTEGER NOT NULL,
    ended_at INTEGER
);
CREATE INDEX sessions_open ON sessions (id) WHERE ended_at IS NULL;
CREATE TABLE transcript (
    id INTEGER PRIMARY KEY,
    session_key INTEGER NOT NULL REFERENCES sessions (key),
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE UNIQUE INDEX transcript_by_session ON transcript (session_key, seq);
CREATE TABLE replies (
    id INTEGER PRIMARY KEY,
    session_key INTEGER NOT NULL REFERENCES sessions (key),
    client_message_id TEXT NOT NULL,
    response TEXT NOT NULL
);
CREATE UNIQUE INDEX replies_by_message ON replies (session_key, client_message_id);
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
"#,
    r#"
CREATE TABLE transfers (
    key INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    session_key INTEGER NOT NULL REFERENCES sessions (key),
    queue TEXT,
    state TEXT NOT NULL,
    open INTEGER NOT NULL,
    agent_id TEXT,
    chat_id TEXT,
    value TEXT NOT NULL,
    request TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX transfers_open_per_session ON transfers (session_key) WHERE open;
CREATE INDEX transfers_by_chat ON transfers (chat_id) WHERE chat_id IS NOT NULL;
CREATE TABLE agents (
    username TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    queues TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE agent_tokens (
    hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX agent_tokens_by_agent ON agent_tokens (username);
CREATE TABLE tickets (
    key INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL,
    transfer_id TEXT,
    queue TEXT,
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
"#,
    // The transcript's entries of a session are chained (each names the one before, the session
    // its last) instead of indexed by (session, seq): on a busy server every turn wrote a
    // different index page per session, 13-15% of the throughput in `baton bench http`.
    r#"
ALTER TABLE transcript ADD COLUMN prev INTEGER;
ALTER TABLE sessions ADD COLUMN last_entry INTEGER;
UPDATE transcript SET prev = (
    SELECT before.id FROM transcript AS before
    WHERE before.session_key = transcript.session_key AND before.seq = transcript.seq - 1
);
UPDATE sessions SET last_entry = (
    SELECT entry.id FROM transcript AS entry
    WHERE entry.session_key = sessions.key AND entry.seq = sessions.next_seq - 1
);
DROP INDEX transcript_by_session;
"#,
    // A row of the transcript holds all the entries one write appended (a turn's message, replies
    // and events) as a JSON array of `[at, kind, payload]`, instead of one row per entry: a turn
    // inserts one row instead of five or so: 6.5% fewer instructions per message in `baton bench
    // http`, and 5-10% more messages per second. The rows keep their ids, so `prev` and
    // `last_entry` still hold.
    r#"
CREATE TABLE transcript_runs (
    id INTEGER PRIMARY KEY,
    session_key INTEGER NOT NULL REFERENCES sessions (key),
    seq INTEGER NOT NULL,
    entries TEXT NOT NULL,
    prev INTEGER
);
INSERT INTO transcript_runs (id, session_key, seq, entries, prev)
    SELECT id, session_key, seq, json_array(json_array(at, kind, json(payload))), prev FROM transcript;
DROP TABLE transcript;
ALTER TABLE transcript_runs RENAME TO transcript;
"#,
    // Replies are chained per session like the transcript (`prev`, and the session's
    // `last_reply`) instead of indexed by (session, client message id): the index's newest entries
    // sat on a different page for each session, so a group commit wrote one index page per turn,
    // and messages with ids ran at two thirds of the rate of messages without. A retry is
    // recognised among the session's last `REPLY_WINDOW` replies.
    r#"
ALTER TABLE replies ADD COLUMN prev INTEGER;
ALTER TABLE sessions ADD COLUMN last_reply INTEGER;
UPDATE replies SET prev = (
    SELECT max(older.id) FROM replies AS older
    WHERE older.session_key = replies.session_key AND older.id < replies.id
);
UPDATE sessions SET last_reply = (SELECT max(id) FROM replies WHERE replies.session_key = sessions.key);
DROP INDEX replies_by_message;
"#,
];

/// Brings the database's schema to this build's version, in one transaction.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let Ok(applied) = usize::try_from(version) else {
        return Err(corrupt(format!(
            "the database has schema version {version}, which no build of Baton writes"
        )));
    };
    if applied > MIGRATIONS.len() {
        return Err(StoreError::SchemaTooNew {
            found: version,
            supported: MIGRATIONS.len(),
        });
    }
    for migration in &MIGRATIONS[applied..] {
        tx.execute_batch(migration)?;
    }
    tx.pragma_update(None, "user_version", i64::try_from(MIGRATIONS.len()).unwrap_or(0))?;
    tx.commit()?;
    Ok(())
}
