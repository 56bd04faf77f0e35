//! The SQLite backend: one writer thread with group commit, an in-memory cache of open sessions,
//! and a small pool of read connections.
//!
//! Writes.
//! Every write is a message to one dedicated writer thread, which owns the only read-write
//! connection.
//! The writer takes every write waiting in its queue (up to [`MAX_BATCH`]), applies them all in
//! one transaction, commits, and only then answers each caller through its oneshot channel.
//! Writes arriving while a transaction is open wait for the next one, so under load one commit
//! (and with `synchronous=FULL`, one fsync) carries many turns: this group commit is what makes
//! "acknowledged means committed" affordable.
//! Before it begins, the writer yields the processor a few times while writes keep arriving, so
//! turns finishing in the same instant share a transaction (see [`GATHER_YIELDS`]).
//! Each write checks everything that could refuse it (version, expiry, duplicate reply) before it
//! writes anything, so a refused write needs no savepoint; an unexpected database error fails the
//! whole batch, and every write in it is answered with that error.
//! The writer remembers the row of each session it wrote a turn to (see [`SessionRows`]), so a
//! turn checks those from memory and writes its row without reading it first.
//!
//! Reads of session state.
//! The writer keeps an in-memory copy of every open session (and of every unrevoked API key),
//! filled at open and changed only by the writer, after a commit and before it answers the
//! callers.
//! So a session is in the cache exactly when it exists and has not ended, and the cached copy is
//! the last committed one: `load_session` is a hash-map lookup and never waits for the database.
//! The cost is memory for the open sessions (ended ones leave the cache) and the rule that one
//! process at a time may write the database: a lock file (`PATH-lock`) enforces it.
//!
//! Other reads (transcripts, stored replies, the list of API keys, telling an unknown session from
//! an ended one) run on a pool of read connections on the blocking thread pool; WAL lets them
//! proceed while the writer commits.
//! An in-memory database cannot be shared between connections, so there these reads are handed
//! to the writer, which runs them between transactions.
//!
//! Durability.
//! The database is in WAL mode.
//! With `synchronous=NORMAL` (the default) a commit is in the operating system's hands when the
//! caller is answered: it survives the process being killed (`kill -9`, a panic, an OOM kill) but
//! not the machine losing power.
//! With `synchronous=FULL` (`?synchronous=full` in the URL) each group commit also waits for an
//! fsync, and survives power loss too; on the 2-core development machines that fsync took 2–3 ms,
//! which cut throughput several times over, so NORMAL is the default (figures in
//! `benches/commit.rs`).
//! Checkpoints (copying the WAL into the database file, which fsyncs in either mode) run on a
//! thread of their own every 200 ms, so no commit waits for them; the writer checkpoints itself
//! only if the WAL passes 20,000 pages.
//!
//! Layout.
//! Transcript entries and replies live in rowid tables, so each turn appends at the end of the
//! table; keyed by session directly, each turn of a busy server rewrote a different 4 KiB page
//! per table, and replies cost a third of the writer's time.
//! Replies have no index either (schema version 5): like the transcript, each names the
//! session's reply before it (`prev`) and the session row names its last (`last_reply`). A
//! unique index on (session, client message id) put each session's newest entry on a page of its
//! own, so a group commit wrote one index page per turn and messages with ids ran at two thirds
//! of the rate of messages without. A retry is recognised among the session's latest
//! [`REPLY_WINDOW`] replies, whose ids' hashes the writer keeps with the session's row.
//! The entries one write appends (a turn's message, replies and events) share one transcript
//! row, a JSON array numbered from the row's `seq` (schema version 4): one insert per turn
//! instead of one per entry, 5-10% of the messages per second at 64 sessions.
//! The transcript has no index at all: each row names the row before it in its session (`prev`)
//! and the session row names its last (`last_entry`), so a transcript is read by following that
//! chain back by rowid, and a turn writes only the table's last page and the session's row. An
//! index by (session, seq) cost one more page per turn and session, since a long conversation's
//! newest entries are on a page of their own: 13-15% of the messages per second at 64 sessions
//! in `baton bench http` (schema version 3).

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};

use crate::{
    AgentRecord, AgentToken, ApiKey, ApiKeyId, EntryKind, Json, NewEntry, NewSession, NewTransfer, SessionId, Store,
    StoreError, StoredSession, StoredTransfer, Ticket, TranscriptEntry, TransferUpdate, TransferWrite, TurnCommitted,
    TurnRecord,
};

/// The most writes one transaction carries.
const MAX_BATCH: usize = 1024;
/// How many times the writer lets other threads run to gather more writes into a transaction.
const GATHER_YIELDS: usize = 3;
/// How many writes may wait for the writer before callers wait to hand theirs over.
const QUEUE_CAPACITY: usize = 4096;
/// How many idle read connections are kept.
const MAX_IDLE_READERS: usize = 4;
/// How long a reader waits for a lock (only a WAL checkpoint or recovery takes one) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the checkpointing thread copies the WAL into the database file.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(200);
/// WAL size, in pages, past which the writer checkpoints itself.
const FALLBACK_CHECKPOINT_PAGES: i64 = 20_000;

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

/// How many of a session's latest replies a retried client message id is looked for among:
/// a client retries the message it is waiting on, not one it was answered long ago.
const REPLY_WINDOW: usize = 16;

/// When a commit is acknowledged relative to the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// Survives the process being killed, not power loss.
    #[default]
    Normal,
    /// Waits for an fsync per transaction; survives power loss.
    Full,
}

/// Where and how to open a SQLite database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqliteOptions {
    /// The database file, created if missing; `None` for a private in-memory database.
    pub path: Option<PathBuf>,
    pub synchronous: Synchronous,
}

impl SqliteOptions {
    pub fn file(path: impl Into<PathBuf>) -> SqliteOptions {
        SqliteOptions {
            path: Some(path.into()),
            synchronous: Synchronous::default(),
        }
    }

    pub fn in_memory() -> SqliteOptions {
        SqliteOptions {
            path: None,
            synchronous: Synchronous::default(),
        }
    }

    /// Reads `sqlite://PATH`, `sqlite:PATH` or `sqlite::memory:`, with an optional
    /// `?synchronous=normal|full`.
    pub fn from_url(url: &str) -> Result<SqliteOptions, StoreError> {
        let unsupported = |reason| StoreError::UnsupportedUrl {
            scheme: "sqlite".to_owned(),
            reason,
        };
        let Some(rest) = url.strip_prefix("sqlite:") else {
            return Err(unsupported("expected sqlite://PATH or sqlite::memory:"));
        };
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut options = match location {
            "" => return Err(unsupported("the url names no database file")),
            ":memory:" => SqliteOptions::in_memory(),
            path => SqliteOptions::file(path),
        };
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            options.synchronous = match pair.to_ascii_lowercase().as_str() {
                "synchronous=normal" => Synchronous::Normal,
                "synchronous=full" => Synchronous::Full,
                _ => return Err(unsupported("the only parameter is synchronous=normal|full")),
            };
        }
        Ok(options)
    }
}

/// The SQLite store; see the module documentation for how it works.
///
/// Dropping it lets the writer finish what it was given, closes the database and waits for that.
pub struct SqliteStore {
    /// `None` only while dropping, so the writer sees its queue close.
    ops: Option<mpsc::Sender<Op>>,
    writer: Option<JoinHandle<()>>,
    cache: Arc<Cache>,
    /// `None` for an in-memory database, whose reads go through the writer.
    readers: Option<Arc<ReadPool>>,
    /// The checkpointing thread of a database file, stopped by dropping the sender.
    checkpointer: Option<(std::sync::mpsc::Sender<()>, JoinHandle<()>)>,
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database.
    pub async fn open(options: SqliteOptions) -> Result<SqliteStore, StoreError> {
        let cache = Arc::new(Cache::default());
        let (ops_sender, ops_receiver) = mpsc::channel(QUEUE_CAPACITY);
        let (ready_sender, ready_receiver) = oneshot::channel();
        let writer_options = options.clone();
        let writer_cache = Arc::clone(&cache);
        let writer = std::thread::Builder::new()
            .name("baton-store-writer".to_owned())
            .spawn(move || match Writer::open(&writer_options, writer_cache) {
                Ok(writer) => {
                    if ready_sender.send(Ok(())).is_ok() {
                        writer.run(ops_receiver);
                    }
                }
                Err(error) => {
                    let _ = ready_sender.send(Err(error));
                }
            })
            .map_err(|error| StoreError::Database(Box::new(error)))?;
        match ready_receiver.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(error),
            Err(_) => return Err(StoreError::Closed),
        }
        let mut store = SqliteStore {
            ops: Some(ops_sender),
            writer: Some(writer),
            cache,
            readers: None,
            checkpointer: None,
        };
        if let Some(path) = options.path {
            let (stop, stopped) = std::sync::mpsc::channel();
            let checkpoint_path = path.clone();
            let thread = std::thread::Builder::new()
                .name("baton-store-checkpoint".to_owned())
                .spawn(move || run_checkpoints(&checkpoint_path, &stopped))
                .map_err(|error| StoreError::Database(Box::new(error)))?;
            store.checkpointer = Some((stop, thread));
            store.readers = Some(Arc::new(ReadPool {
                path,
                idle: Mutex::new(Vec::new()),
            }));
        }
        Ok(store)
    }

    /// Hands a write to the writer and waits until it is committed (or refused).
    async fn write<T>(&self, op: impl FnOnce(Ack<T>) -> Op) -> Result<T, StoreError> {
        let (ack, answer) = oneshot::channel();
        let ops = self.ops.as_ref().ok_or(StoreError::Closed)?;
        ops.send(op(ack)).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs a read on a read connection (or, for an in-memory database, on the writer's).
    async fn read<T, F>(&self, read: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        match &self.readers {
            Some(pool) => {
                let pool = Arc::clone(pool);
                tokio::task::spawn_blocking(move || pool.run(read))
                    .await
                    .map_err(|error| StoreError::Database(Box::new(error)))?
            }
            None => {
                let (sender, answer) = oneshot::channel();
                let job: ReadJob = Box::new(move |conn| {
                    let _ = sender.send(read(conn));
                });
                let ops = self.ops.as_ref().ok_or(StoreError::Closed)?;
                ops.send(Op::Read(job)).await.map_err(|_| StoreError::Closed)?;
                answer.await.map_err(|_| StoreError::Closed)?
            }
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.checkpointer.take() {
            drop(stop);
            let _ = thread.join();
        }
        // Closing the queue ends the writer's loop once it has committed what it holds.
        self.ops = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl Store for SqliteStore {
    async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        self.write(|ack| Op::CreateSession(session, ack)).await
    }

    async fn load_session(&self, id: &SessionId, now: DateTime<Utc>) -> Result<StoredSession, StoreError> {
        let cached = self.cache.sessions().get(id).cloned();
        match cached {
            Some(session) if session.is_idle(now) => Err(StoreError::Expired(id.clone())),
            Some(session) => Ok(session),
            None => {
                // Not open: it either ended or never existed.
                let owned_id = id.clone();
                let exists = self.read(move |conn| session_exists(conn, &owned_id)).await?;
                match exists {
                    true => Err(StoreError::Expired(id.clone())),
                    false => Err(StoreError::NotFound(id.clone())),
                }
            }
        }
    }

    async fn commit_turn(&self, turn: TurnRecord) -> Result<TurnCommitted, StoreError> {
        self.write(|ack| Op::CommitTurn(turn, ack)).await
    }

    async fn find_reply(&self, id: &SessionId, client_message_id: &str) -> Result<Option<Json>, StoreError> {
        let id = id.clone();
        let client_message_id = client_message_id.to_owned();
        self.read(move |conn| {
            let last_reply: Option<Option<i64>> = conn
                .prepare_cached("SELECT last_reply FROM sessions WHERE id = ?1")?
                .query_row(params![id.as_str()], |row| row.get(0))
                .optional()?;
            let Some(row) = recent_reply(conn, last_reply.flatten(), &client_message_id)? else {
                return Ok(None);
            };
            let response: String = conn
                .prepare_cached("SELECT response FROM replies WHERE id = ?1")?
                .query_row(params![row], |row| row.get(0))?;
            json_from_sql(response).map(Some)
        })
        .await
    }

    async fn end_session(&self, id: &SessionId, now: DateTime<Utc>) -> Result<(), StoreError> {
        let id = id.clone();
        self.write(|ack| Op::EndSession(id, now, ack)).await
    }

    async fn expire_idle(&self, now: DateTime<Utc>) -> Result<Vec<SessionId>, StoreError> {
        self.write(|ack| Op::ExpireIdle(now, ack)).await
    }

    async fn transcript(&self, id: &SessionId) -> Result<Vec<TranscriptEntry>, StoreError> {
        let id = id.clone();
        self.read(move |conn| read_transcript(conn, &id)).await
    }

    async fn create_api_key(&self, name: &str, hash: &str, now: DateTime<Utc>) -> Result<ApiKey, StoreError> {
        let (name, hash) = (name.to_owned(), hash.to_owned());
        self.write(|ack| Op::CreateApiKey { name, hash, now, ack }).await
    }

    async fn find_api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        // Read from the database every time, not cached: `baton apikey` changes keys from another
        // process while the server runs.
        let hash = hash.to_owned();
        self.read(move |conn| find_api_key_by_hash(conn, &hash)).await
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        self.read(read_api_keys).await
    }

    async fn revoke_api_key(&self, id: ApiKeyId, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(|ack| Op::RevokeApiKey(id, now, ack)).await
    }

    async fn update_transfer(&self, update: TransferUpdate) -> Result<u64, StoreError> {
        self.write(|ack| Op::UpdateTransfer(update, ack)).await
    }

    async fn load_transfer(&self, id: &str) -> Result<Option<StoredTransfer>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| {
            let mut transfers = read_transfers(conn, "WHERE transfers.id = ?1", params![id])?;
            Ok(transfers.pop())
        })
        .await
    }

    async fn open_transfer_of(&self, session: &SessionId) -> Result<Option<StoredTransfer>, StoreError> {
        let session = session.clone();
        self.read(move |conn| {
            let mut transfers = read_transfers(
                conn,
                "WHERE sessions.id = ?1 AND transfers.open",
                params![session.as_str()],
            )?;
            Ok(transfers.pop())
        })
        .await
    }

    async fn open_transfers(&self) -> Result<Vec<StoredTransfer>, StoreError> {
        self.read(|conn| read_transfers(conn, "WHERE transfers.open", params![]))
            .await
    }

    async fn find_transfer_by_chat(&self, chat_id: &str) -> Result<Option<StoredTransfer>, StoreError> {
        let chat_id = chat_id.to_owned();
        self.read(move |conn| {
            let mut transfers = read_transfers(conn, "WHERE transfers.chat_id = ?1", params![chat_id])?;
            Ok(transfers.pop())
        })
        .await
    }

    async fn transcript_after(&self, id: &SessionId, after_seq: u64) -> Result<Vec<TranscriptEntry>, StoreError> {
        let id = id.clone();
        self.read(move |conn| read_transcript_after(conn, &id, Some(after_seq)))
            .await
    }

    async fn upsert_agent(&self, agent: AgentRecord) -> Result<(), StoreError> {
        self.write(|ack| Op::UpsertAgent(agent, ack)).await
    }

    async fn find_agent(&self, username: &str) -> Result<Option<AgentRecord>, StoreError> {
        let username = username.to_owned();
        self.read(move |conn| find_agent(conn, &username)).await
    }

    async fn list_agents(&self) -> Result<Vec<AgentRecord>, StoreError> {
        self.read(list_agents).await
    }

    async fn remove_agent(&self, username: &str) -> Result<bool, StoreError> {
        let username = username.to_owned();
        self.write(|ack| Op::RemoveAgent(username, ack)).await
    }

    async fn create_agent_token(&self, token: AgentToken) -> Result<(), StoreError> {
        self.write(|ack| Op::CreateAgentToken(token, ack)).await
    }

    async fn find_agent_token(&self, hash: &str, now: DateTime<Utc>) -> Result<Option<AgentToken>, StoreError> {
        let hash = hash.to_owned();
        self.read(move |conn| find_agent_token(conn, &hash, now)).await
    }

    async fn revoke_agent_token(&self, hash: &str) -> Result<(), StoreError> {
        let hash = hash.to_owned();
        self.write(|ack| Op::RevokeAgentToken(hash, ack)).await
    }

    async fn create_ticket(&self, ticket: Ticket) -> Result<(), StoreError> {
        self.write(|ack| Op::CreateTicket(ticket, ack)).await
    }

    async fn list_tickets(&self) -> Result<Vec<Ticket>, StoreError> {
        self.read(list_tickets).await
    }
}

type Ack<T> = oneshot::Sender<Result<T, StoreError>>;
type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// A request to the writer thread.
enum Op {
    CreateSession(NewSession, Ack<()>),
    CommitTurn(TurnRecord, Ack<TurnCommitted>),
    EndSession(SessionId, DateTime<Utc>, Ack<()>),
    ExpireIdle(DateTime<Utc>, Ack<Vec<SessionId>>),
    CreateApiKey {
        name: String,
        hash: String,
        now: DateTime<Utc>,
        ack: Ack<ApiKey>,
    },
    RevokeApiKey(ApiKeyId, DateTime<Utc>, Ack<()>),
    UpdateTransfer(TransferUpdate, Ack<u64>),
    UpsertAgent(AgentRecord, Ack<()>),
    RemoveAgent(String, Ack<bool>),
    CreateAgentToken(AgentToken, Ack<()>),
    RevokeAgentToken(String, Ack<()>),
    CreateTicket(Ticket, Ack<()>),
    /// A read for an in-memory database, run after the current transaction commits.
    Read(ReadJob),
}

/// The committed state of open sessions, changed only by the writer.
///
/// API keys and agents are deliberately not cached: `baton apikey` and `baton agents` change them
/// from another process (see [`crate::open_admin`]) while the server runs.
#[derive(Default)]
struct Cache {
    sessions: Mutex<HashMap<SessionId, StoredSession>>,
}

impl Cache {
    // The maps hold plain data that every change leaves whole, so a poisoned lock is still usable.
    fn sessions(&self) -> MutexGuard<'_, HashMap<SessionId, StoredSession>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn apply(&self, change: CacheChange) {
        match change {
            CacheChange::PutSession(session) => {
                self.sessions().insert(session.id.clone(), session);
            }
            CacheChange::RemoveSessions(ids) => {
                let mut sessions = self.sessions();
                for id in &ids {
                    sessions.remove(id);
                }
            }
        }
    }
}

/// What a write changes in the cache once its transaction has committed.
enum CacheChange {
    PutSession(StoredSession),
    RemoveSessions(Vec<SessionId>),
}

/// Answers one caller once the fate of its transaction is known: `None` if it committed, or why
/// it did not.
type Answer = Box<dyn FnOnce(Option<&str>) + Send>;

fn answer<T: Send + 'static>(ack: Ack<T>, result: Result<T, StoreError>) -> Answer {
    Box::new(move |failure| {
        let result = match (failure, result) {
            (Some(why), Ok(_)) => Err(StoreError::Database(Box::new(BatchFailed(why.to_owned())))),
            (_, result) => result,
        };
        // The caller may have stopped waiting; its write stands either way.
        let _ = ack.send(result);
    })
}

#[derive(Debug, thiserror::Error)]
#[error("the transaction holding this write failed: {0}")]
struct BatchFailed(String);

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Corrupt(String);

/// Moves the writes waiting in `ops` into `batch`, up to [`MAX_BATCH`] in all.
fn drain(ops: &mut mpsc::Receiver<Op>, batch: &mut Vec<Op>) {
    while batch.len() < MAX_BATCH {
        match ops.try_recv() {
            Ok(op) => batch.push(op),
            Err(_) => break,
        }
    }
}

struct Writer {
    conn: Connection,
    cache: Arc<Cache>,
    rows: SessionRows,
    /// Held for the writer's life: the lock that keeps a second process out.
    _lock: Option<File>,
}

impl Writer {
    fn open(options: &SqliteOptions, cache: Arc<Cache>) -> Result<Writer, StoreError> {
        let (mut conn, lock) = match &options.path {
            Some(path) => {
                let lock = lock_database(path)?;
                let conn = Connection::open(path)?;
                let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
                if !mode.eq_ignore_ascii_case("wal") {
                    return Err(StoreError::Database(Box::new(Corrupt(format!(
                        "could not switch the database to WAL mode (it is in {mode} mode)"
                    )))));
                }
                (conn, Some(lock))
            }
            None => (Connection::open_in_memory()?, None),
        };
        let synchronous = match options.synchronous {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        };
        conn.pragma_update(None, "synchronous", synchronous)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Checkpoints run on their own thread (see `run_checkpoints`); the writer checkpoints only
        // if that thread falls far behind, so the WAL stays bounded.
        conn.pragma_update(None, "wal_autocheckpoint", FALLBACK_CHECKPOINT_PAGES)?;
        conn.set_prepared_statement_cache_capacity(32);
        migrate(&mut conn)?;
        warm_cache(&conn, &cache)?;
        Ok(Writer {
            conn,
            cache,
            rows: SessionRows::default(),
            _lock: lock,
        })
    }

    fn run(mut self, mut ops: mpsc::Receiver<Op>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while let Some(op) = ops.blocking_recv() {
            // Group commit: everything that queued up while the last transaction was open goes
            // into this one.
            batch.push(op);
            drain(&mut ops, &mut batch);
            // Callers still working on their turns would miss this transaction by microseconds
            // and each pay for one of their own: give them the processor a few times first.
            // A transaction's fixed cost (locks, commit, WAL index) is several turns' worth; at 64
            // sessions in `baton bench http` a transaction carries four times as many turns.
            // With nothing else runnable a yield returns at once, so a lone turn is not held up.
            for _ in 0..GATHER_YIELDS {
                if batch.len() >= MAX_BATCH {
                    break;
                }
                std::thread::yield_now();
                if ops.is_empty() {
                    break;
                }
                drain(&mut ops, &mut batch);
            }
            self.write_batch(&mut batch);
        }
    }

    fn write_batch(&mut self, batch: &mut Vec<Op>) {
        let mut answers: Vec<Answer> = Vec::with_capacity(batch.len());
        let mut changes: Vec<CacheChange> = Vec::with_capacity(batch.len());
        let mut reads: Vec<ReadJob> = Vec::new();
        let failure = self.apply_batch(batch, &mut answers, &mut changes, &mut reads);
        if failure.is_some() {
            // The rows as this transaction left them were never committed.
            self.rows.forget_all();
        }
        // The cache changes before anyone is answered, so a caller that saw its write acknowledged
        // loads what it wrote.
        if failure.is_none() {
            for change in changes {
                self.cache.apply(change);
            }
        }
        for answer in answers {
            answer(failure.as_deref());
        }
        for read in reads {
            read(&self.conn);
        }
    }

    /// Applies the batch in one transaction; returns why it did not commit, if it did not.
    fn apply_batch(
        &mut self,
        batch: &mut Vec<Op>,
        answers: &mut Vec<Answer>,
        changes: &mut Vec<CacheChange>,
        reads: &mut Vec<ReadJob>,
    ) -> Option<String> {
        let tx = match self.conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(tx) => tx,
            Err(error) => {
                let why = error.to_string();
                for op in batch.drain(..) {
                    fail(op, &why, answers, reads);
                }
                return Some(why);
            }
        };
        let mut failure: Option<String> = None;
        for op in batch.drain(..) {
            if let Some(why) = &failure {
                fail(op, why, answers, reads);
                continue;
            }
            let database_error = match op {
                Op::CreateSession(session, ack) => {
                    let result =
                        create_session(&tx, session).map(|stored| changes.push(CacheChange::PutSession(stored)));
                    settle(ack, result, answers)
                }
                Op::CommitTurn(turn, ack) => {
                    let result = commit_turn(&tx, &mut self.rows, turn).map(|(committed, stored)| {
                        changes.push(CacheChange::PutSession(stored));
                        committed
                    });
                    settle(ack, result, answers)
                }
                Op::EndSession(id, now, ack) => {
                    self.rows.forget(&id);
                    let result =
                        end_session(&tx, &id, now).map(|()| changes.push(CacheChange::RemoveSessions(vec![id])));
                    settle(ack, result, answers)
                }
                Op::ExpireIdle(now, ack) => {
                    let candidates: Vec<SessionId> = self
                        .cache
                        .sessions()
                        .values()
                        .filter(|session| session.is_idle(now))
                        .map(|session| session.id.clone())
                        .collect();
                    let result = expire_idle(&tx, candidates, now).inspect(|ended| {
                        for id in ended {
                            self.rows.forget(id);
                        }
                        changes.push(CacheChange::RemoveSessions(ended.clone()));
                    });
                    settle(ack, result, answers)
                }
                Op::CreateApiKey { name, hash, now, ack } => settle(ack, create_api_key(&tx, name, hash, now), answers),
                Op::RevokeApiKey(id, now, ack) => settle(ack, revoke_api_key(&tx, id, now), answers),
                Op::UpdateTransfer(update, ack) => {
                    settle(ack, update_transfer(&tx, &mut self.rows, update, None), answers)
                }
                Op::UpsertAgent(agent, ack) => settle(ack, upsert_agent(&tx, &agent), answers),
                Op::RemoveAgent(username, ack) => settle(ack, remove_agent(&tx, &username), answers),
                Op::CreateAgentToken(token, ack) => settle(ack, create_agent_token(&tx, &token), answers),
                Op::RevokeAgentToken(hash, ack) => settle(ack, revoke_agent_token(&tx, &hash), answers),
                Op::CreateTicket(ticket, ack) => settle(ack, create_ticket(&tx, &ticket), answers),
                Op::Read(job) => {
                    reads.push(job);
                    None
                }
            };
            failure = database_error;
        }
        if let Some(why) = failure {
            // Dropping the transaction rolls it back.
            drop(tx);
            return Some(why);
        }
        match tx.commit() {
            Ok(()) => None,
            Err(error) => Some(error.to_string()),
        }
    }
}

/// Queues the answer to a write; returns the error text if the write hit a database error, which
/// dooms its whole transaction.
fn settle<T: Send + 'static>(ack: Ack<T>, result: Result<T, StoreError>, answers: &mut Vec<Answer>) -> Option<String> {
    let database_error = match &result {
        Err(error @ StoreError::Database(_)) => Some(error_chain(error)),
        _ => None,
    };
    answers.push(answer(ack, result));
    database_error
}

/// Answers a write that never ran because its transaction was already doomed.
fn fail(op: Op, why: &str, answers: &mut Vec<Answer>, reads: &mut Vec<ReadJob>) {
    let doomed = || StoreError::Database(Box::new(BatchFailed(why.to_owned())));
    let answer: Answer = match op {
        Op::CreateSession(_, ack) => answer(ack, Err(doomed())),
        Op::CommitTurn(_, ack) => answer(ack, Err(doomed())),
        Op::EndSession(_, _, ack) => answer(ack, Err(doomed())),
        Op::ExpireIdle(_, ack) => answer(ack, Err(doomed())),
        Op::CreateApiKey { ack, .. } => answer(ack, Err(doomed())),
        Op::RevokeApiKey(_, _, ack) => answer(ack, Err(doomed())),
        Op::UpdateTransfer(_, ack) => answer(ack, Err(doomed())),
        Op::UpsertAgent(_, ack) => answer(ack, Err(doomed())),
        Op::RemoveAgent(_, ack) => answer(ack, Err(doomed())),
        Op::CreateAgentToken(_, ack) => answer(ack, Err(doomed())),
        Op::RevokeAgentToken(_, ack) => answer(ack, Err(doomed())),
        Op::CreateTicket(_, ack) => answer(ack, Err(doomed())),
        Op::Read(job) => {
            reads.push(job);
            return;
        }
    };
    answers.push(answer);
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn lock_database(path: &Path) -> Result<File, StoreError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push("-lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|error| StoreError::Database(Box::new(error)))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(TryLockError::WouldBlock) => Err(StoreError::Locked(path.display().to_string())),
        Err(TryLockError::Error(error)) => Err(StoreError::Database(Box::new(error))),
    }
}

pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let applied: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let applied = usize::try_from(applied).unwrap_or(usize::MAX);
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Database(Box::new(Corrupt(format!(
            "the database has schema version {applied}, newer than this build's {}",
            MIGRATIONS.len()
        )))));
    }
    for migration in &MIGRATIONS[applied..] {
        tx.execute_batch(migration)?;
    }
    tx.pragma_update(None, "user_version", i64::try_from(MIGRATIONS.len()).unwrap_or(0))?;
    tx.commit()?;
    Ok(())
}

fn warm_cache(conn: &Connection, cache: &Cache) -> Result<(), StoreError> {
    let mut statement = conn.prepare(
        "SELECT id, assistant_id, state, version, created_at, last_active, idle_timeout_us
         FROM sessions WHERE ended_at IS NULL",
    )?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, i64>(3)?,
            row.get::<_, i64>(4)?,
            row.get::<_, i64>(5)?,
            row.get::<_, i64>(6)?,
        ))
    })?;
    let mut sessions = cache.sessions();
    for row in rows {
        let (id, assistant_id, state, version, created_at, last_active, idle_timeout) = row?;
        let session = StoredSession {
            id: SessionId::new(id),
            assistant_id,
            state: json_from_sql(state)?,
            version: u64_from_sql(version),
            created_at: time_from_sql(created_at)?,
            last_active: time_from_sql(last_active)?,
            idle_timeout: Duration::from_micros(u64_from_sql(idle_timeout)),
        };
        sessions.insert(session.id.clone(), session);
    }
    Ok(())
}

fn create_session(conn: &Connection, session: NewSession) -> Result<StoredSession, StoreError> {
    let created_at = session.created_at.timestamp_micros();
    let inserted = conn
        .prepare_cached(
            "INSERT INTO sessions
             (id, assistant_id, state, version, next_seq, created_at, last_active, idle_timeout_us)
             VALUES (?1, ?2, ?3, 0, 0, ?4, ?4, ?5)
             ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            session.id.as_str(),
            session.assistant_id,
            session.state.get(),
            created_at,
            duration_to_sql(session.idle_timeout),
        ])?;
    if inserted == 0 {
        return Err(StoreError::Conflict(session.id));
    }
    Ok(StoredSession {
        id: session.id,
        assistant_id: session.assistant_id,
        state: session.state,
        version: 0,
        created_at: session.created_at,
        last_active: session.created_at,
        idle_timeout: session.idle_timeout,
    })
}

fn commit_turn(
    conn: &Connection,
    rows: &mut SessionRows,
    mut turn: TurnRecord,
) -> Result<(TurnCommitted, StoredSession), StoreError> {
    let Some(transfer) = turn.transfer.take() else {
        return write_turn(conn, rows, turn).map(|(committed, stored, _)| (committed, stored));
    };
    // The transfer is checked only after the turn is written, so a refused transfer must undo
    // the turn: a savepoint costs little, and only turns with a transfer pay for it.
    conn.execute_batch("SAVEPOINT turn_with_transfer")?;
    let id = turn.session_id.clone();
    let result = write_turn(conn, rows, turn).and_then(|(committed, stored, key)| {
        match transfer {
            TransferWrite::Open(transfer) => open_transfer(conn, key, transfer)?,
            TransferWrite::Update(update) => {
                update_transfer(conn, rows, update, Some(key))?;
            }
        }
        Ok((committed, stored))
    });
    // The savepoint may undo the row this turn wrote: the next turn reads it again.
    rows.forget(&id);
    match &result {
        Ok(_) | Err(StoreError::Database(_)) => conn.execute_batch("RELEASE turn_with_transfer")?,
        Err(_) => conn.execute_batch("ROLLBACK TO turn_with_transfer; RELEASE turn_with_transfer")?,
    }
    result
}

/// Writes the turn's state, entries and reply; returns also the session's key.
///
/// The session's row is read once and written once: the refusals (unknown, ended or idle
/// session, a stale version) are decided here from that read, before anything is written, so a
/// refused turn leaves nothing behind. Every statement touches one row by a unique key, for
/// which SQLite needs no statement journal inside the batch's transaction (`RETURNING` and
/// `INSERT … SELECT` would each make it write one).
fn write_turn(
    conn: &Connection,
    rows: &mut SessionRows,
    turn: TurnRecord,
) -> Result<(TurnCommitted, StoredSession, i64), StoreError> {
    let at = turn.at.timestamp_micros();
    let Some(row) = rows.row(conn, &turn.session_id)? else {
        return Err(StoreError::NotFound(turn.session_id));
    };
    let mut stored = StoredSession {
        id: turn.session_id,
        assistant_id: row.assistant_id.clone(),
        state: turn.state,
        version: u64_from_sql(row.version),
        created_at: time_from_sql(row.created_at)?,
        last_active: time_from_sql(row.last_active)?,
        idle_timeout: Duration::from_micros(u64_from_sql(row.idle_timeout)),
    };
    if row.ended || stored.is_idle(turn.at) {
        return Err(StoreError::Expired(stored.id));
    }
    if stored.version != turn.expected_version {
        return Err(StoreError::Conflict(stored.id));
    }
    let key = row.key;
    // A second answer to a message id among the session's latest replies is refused: a retry
    // that arrives after the first answer committed is caught here, without a lookup before
    // every turn.
    let mut last_reply = row.last_reply;
    let mut recent = row.recent;
    if let Some(reply) = &turn.reply {
        let mut window = match recent {
            Some(window) => window,
            None => RecentReplies::read(conn, row.last_reply)?,
        };
        let hash = RecentReplies::hash(&reply.client_message_id);
        // The hashes rule out all but a retry (or, once in 2^64, a collision the chain settles).
        if window.0.contains(&hash) && recent_reply(conn, row.last_reply, &reply.client_message_id)?.is_some() {
            return Err(StoreError::Conflict(stored.id));
        }
        conn.prepare_cached(
            "INSERT INTO replies (session_key, client_message_id, response, prev) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            key,
            reply.client_message_id,
            reply.response.get(),
            row.last_reply
        ])?;
        last_reply = Some(conn.last_insert_rowid());
        window.push(hash);
        recent = Some(window);
    }
    let n_entries = i64::try_from(turn.entries.len()).unwrap_or(i64::MAX);
    let last_entry = chain_entries(conn, key, row.next_seq, row.last_entry, &turn.entries)?;
    let written = SessionRow {
        version: row.version + 1,
        next_seq: row.next_seq + n_entries,
        last_active: row.last_active.max(at),
        last_entry,
        last_reply,
        recent,
        ..row
    };
    conn.prepare_cached(
        "UPDATE sessions SET state = ?2, version = ?3, next_seq = ?4, last_active = ?5, last_entry = ?6,
             last_reply = ?7
         WHERE key = ?1",
    )?
    .execute(params![
        key,
        stored.state.get(),
        written.version,
        written.next_seq,
        written.last_active,
        written.last_entry,
        written.last_reply
    ])?;
    stored.version = u64_from_sql(written.version);
    stored.last_active = time_from_sql(written.last_active)?;
    let committed = TurnCommitted {
        version: stored.version,
        first_seq: u64_from_sql(row.next_seq),
    };
    rows.remember(&stored.id, written);
    Ok((committed, stored, key))
}

/// The columns of a session's row that a turn checks and changes (all but its state).
#[derive(Clone, Debug)]
struct SessionRow {
    key: i64,
    assistant_id: String,
    version: i64,
    next_seq: i64,
    created_at: i64,
    last_active: i64,
    idle_timeout: i64,
    last_entry: Option<i64>,
    /// The row of the session's latest stored reply.
    last_reply: Option<i64>,
    /// The client message ids of its latest replies, once a turn has needed them.
    recent: Option<RecentReplies>,
    ended: bool,
}

/// Hashes of the client message ids of a session's latest [`REPLY_WINDOW`] replies, newest
/// first, so that a turn with an id need not walk the chain of replies to know it is new.
#[derive(Clone, Copy, Debug)]
struct RecentReplies([u64; REPLY_WINDOW]);

impl RecentReplies {
    fn hash(client_message_id: &str) -> u64 {
        // A fixed hash: these live only in the writer's memory.
        use std::hash::BuildHasher;
        std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default().hash_one(client_message_id)
    }

    /// The window of the chain that ends at `last_reply`, read from the database.
    fn read(conn: &Connection, last_reply: Option<i64>) -> Result<RecentReplies, StoreError> {
        let mut window = [0; REPLY_WINDOW];
        let mut slots = window.iter_mut();
        walk_replies(conn, last_reply, |_, message_id| {
            if let Some(slot) = slots.next() {
                *slot = RecentReplies::hash(message_id);
            }
            false
        })?;
        Ok(RecentReplies(window))
    }

    /// Makes `hash` the newest, dropping the oldest.
    fn push(&mut self, hash: u64) {
        self.0.copy_within(..REPLY_WINDOW - 1, 1);
        self.0[0] = hash;
    }
}

/// Visits the latest [`REPLY_WINDOW`] replies of the chain that ends at `last_reply`, newest
/// first, with their row and client message id, until `visit` returns true.
fn walk_replies(
    conn: &Connection,
    last_reply: Option<i64>,
    mut visit: impl FnMut(i64, &str) -> bool,
) -> Result<(), StoreError> {
    let mut next = last_reply;
    for _ in 0..REPLY_WINDOW {
        let Some(id) = next else {
            break;
        };
        let (message_id, prev): (String, Option<i64>) = conn
            .prepare_cached("SELECT client_message_id, prev FROM replies WHERE id = ?1")?
            .query_row(params![id], |row| Ok((row.get(0)?, row.get(1)?)))?;
        if visit(id, &message_id) {
            break;
        }
        next = prev;
    }
    Ok(())
}

/// The row of the reply to `client_message_id` among the latest [`REPLY_WINDOW`] replies of the
/// chain that ends at `last_reply`.
fn recent_reply(
    conn: &Connection,
    last_reply: Option<i64>,
    client_message_id: &str,
) -> Result<Option<i64>, StoreError> {
    let mut found = None;
    walk_replies(conn, last_reply, |id, message_id| {
        if message_id == client_message_id {
            found = Some(id);
        }
        found.is_some()
    })?;
    Ok(found)
}

fn read_session_row(conn: &Connection, id: &SessionId) -> Result<Option<SessionRow>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT key, assistant_id, version, next_seq, created_at, last_active, idle_timeout_us, last_entry,
                    ended_at IS NOT NULL, last_reply
             FROM sessions WHERE id = ?1",
        )?
        .query_row(params![id.as_str()], |row| {
            Ok(SessionRow {
                key: row.get(0)?,
                assistant_id: row.get(1)?,
                version: row.get(2)?,
                next_seq: row.get(3)?,
                created_at: row.get(4)?,
                last_active: row.get(5)?,
                idle_timeout: row.get(6)?,
                last_entry: row.get(7)?,
                last_reply: row.get(9)?,
                recent: None,
                ended: row.get(8)?,
            })
        })
        .optional()?)
}

/// The writer's copy of the rows of sessions it has written a turn to, as its open transaction
/// sees them, so the next turn need not read its row back (a fifth of the writer's instructions
/// per turn).
/// Only the writer changes session rows; whatever changes one other than a turn forgets it (it
/// is read again when next needed), and a transaction that does not commit forgets them all.
/// Ended sessions are forgotten, so this holds at most the open sessions that took a turn.
#[derive(Default)]
struct SessionRows(HashMap<SessionId, SessionRow>);

impl SessionRows {
    /// The session's row as remembered, or as read when it is not.
    fn row(&self, conn: &Connection, id: &SessionId) -> Result<Option<SessionRow>, StoreError> {
        match self.0.get(id) {
            Some(row) => Ok(Some(row.clone())),
            None => read_session_row(conn, id),
        }
    }

    fn remember(&mut self, id: &SessionId, row: SessionRow) {
        match self.0.get_mut(id) {
            Some(known) => *known = row,
            None => {
                self.0.insert(id.clone(), row);
            }
        }
    }

    fn forget(&mut self, id: &SessionId) {
        self.0.remove(id);
    }

    fn forget_all(&mut self) {
        self.0 = HashMap::new();
    }
}

fn end_session(conn: &Connection, id: &SessionId, now: DateTime<Utc>) -> Result<(), StoreError> {
    let ended = conn
        .prepare_cached(
            "UPDATE sessions SET ended_at = ?2, version = version + 1
             WHERE id = ?1 AND ended_at IS NULL",
        )?
        .execute(params![id.as_str(), now.timestamp_micros()])?;
    if ended == 0 && !session_exists(conn, id)? {
        return Err(StoreError::NotFound(id.clone()));
    }
    Ok(())
}

fn expire_idle(
    conn: &Connection,
    candidates: Vec<SessionId>,
    now: DateTime<Utc>,
) -> Result<Vec<SessionId>, StoreError> {
    // The cache only proposes; the condition is checked again on the row, which an earlier write
    // in this transaction may have refreshed.
    let mut end = conn.prepare_cached(
        "UPDATE sessions SET ended_at = ?2, version = version + 1
         WHERE id = ?1 AND ended_at IS NULL AND ?2 > last_active + idle_timeout_us",
    )?;
    let mut ended = Vec::new();
    for id in candidates {
        if end.execute(params![id.as_str(), now.timestamp_micros()])? == 1 {
            ended.push(id);
        }
    }
    Ok(ended)
}

pub(crate) fn create_api_key(
    conn: &Connection,
    name: String,
    hash: String,
    now: DateTime<Utc>,
) -> Result<ApiKey, StoreError> {
    let id: Option<i64> = conn
        .prepare_cached(
            "INSERT INTO api_keys (name, hash, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (hash) DO NOTHING RETURNING id",
        )?
        .query_row(params![name, hash, now.timestamp_micros()], |row| row.get(0))
        .optional()?;
    let Some(id) = id else {
        return Err(StoreError::DuplicateApiKey);
    };
    Ok(ApiKey {
        id: ApiKeyId(id),
        name,
        hash,
        created_at: now,
        revoked_at: None,
    })
}

/// Revokes the key; revoking a revoked key changes nothing.
pub(crate) fn revoke_api_key(conn: &Connection, id: ApiKeyId, now: DateTime<Utc>) -> Result<(), StoreError> {
    let hash: Option<String> = conn
        .prepare_cached(
            "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL
             RETURNING hash",
        )?
        .query_row(params![id.0, now.timestamp_micros()], |row| row.get(0))
        .optional()?;
    if hash.is_some() {
        return Ok(());
    }
    let exists = conn
        .prepare_cached("SELECT 1 FROM api_keys WHERE id = ?1")?
        .exists(params![id.0])?;
    match exists {
        true => Ok(()),
        false => Err(StoreError::ApiKeyNotFound(id)),
    }
}

/// Inserts a new, open transfer of the session with this key.
fn open_transfer(conn: &Connection, session_key: i64, transfer: NewTransfer) -> Result<(), StoreError> {
    let at = transfer.at.timestamp_micros();
    // Both unique indexes (the id, and one open transfer per session) refuse quietly, so a refusal
    // is not a database error that would doom the other writes of the batch.
    let inserted = conn
        .prepare_cached(
            "INSERT INTO transfers
             (id, session_key, queue, state, open, value, request, opened_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, ?7)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            transfer.id,
            session_key,
            transfer.queue,
            transfer.state,
            transfer.value.get(),
            transfer.request.get(),
            at,
        ])?;
    if inserted == 1 {
        return Ok(());
    }
    let open = conn
        .prepare_cached("SELECT 1 FROM transfers WHERE session_key = ?1 AND open")?
        .exists(params![session_key])?;
    match open {
        true => Err(StoreError::TransferAlreadyOpen {
            session: transfer.session_id,
        }),
        // The id is taken by an earlier, closed transfer.
        false => Err(StoreError::Conflict(transfer.session_id)),
    }
}

/// Changes a transfer and appends its entries; returns the first entry's sequence number.
/// With `session_key`, the transfer must belong to that session.
fn update_transfer(
    conn: &Connection,
    rows: &mut SessionRows,
    update: TransferUpdate,
    session_key: Option<i64>,
) -> Result<u64, StoreError> {
    let updated = conn
        .prepare_cached(
            "UPDATE transfers
             SET state = ?2, open = ?3, agent_id = ?4, chat_id = ?5, value = ?6, updated_at = ?7
             WHERE id = ?1 AND (?8 IS NULL OR session_key = ?8)
             RETURNING session_key",
        )?
        .query_row(
            params![
                update.id,
                update.state,
                update.open,
                update.agent_id,
                update.chat_id,
                update.value.get(),
                update.at.timestamp_micros(),
                session_key,
            ],
            |row| row.get::<_, i64>(0),
        )
        .optional();
    let key = match updated {
        Ok(Some(key)) => key,
        Ok(None) => return Err(StoreError::UnknownTransfer(update.id)),
        // Reopening while the session has another open transfer breaks the partial unique index;
        // SQLite undoes just this statement, so the transaction goes on.
        Err(rusqlite::Error::SqliteFailure(error, _)) if error.code == rusqlite::ErrorCode::ConstraintViolation => {
            let session: String = conn
                .prepare_cached(
                    "SELECT sessions.id FROM transfers JOIN sessions ON sessions.key = transfers.session_key
                     WHERE transfers.id = ?1",
                )?
                .query_row(params![update.id], |row| row.get(0))?;
            return Err(StoreError::TransferAlreadyOpen {
                session: SessionId::new(session),
            });
        }
        Err(error) => return Err(error.into()),
    };
    append_entries(conn, rows, key, &update.entries)
}

/// Appends entries to the transcript of the session with this key, after its last one, without
/// changing the session's version; returns the first entry's sequence number.
fn append_entries(
    conn: &Connection,
    rows: &mut SessionRows,
    session_key: i64,
    entries: &[NewEntry],
) -> Result<u64, StoreError> {
    let (id, next_seq, last_entry): (String, i64, Option<i64>) = conn
        .prepare_cached("SELECT id, next_seq, last_entry FROM sessions WHERE key = ?1")?
        .query_row(params![session_key], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    rows.forget(&SessionId::new(id));
    let last_entry = chain_entries(conn, session_key, next_seq, last_entry, entries)?;
    let n_entries = i64::try_from(entries.len()).unwrap_or(i64::MAX);
    conn.prepare_cached("UPDATE sessions SET next_seq = ?2, last_entry = ?3 WHERE key = ?1")?
        .execute(params![session_key, next_seq + n_entries, last_entry])?;
    Ok(u64_from_sql(next_seq))
}

/// Inserts entries numbered from `first_seq` into the session's chain as one row, after
/// `last_entry` (the rowid of the chain's last row so far), and returns the new row's rowid; the
/// caller stores it as the session's `last_entry`.
fn chain_entries(
    conn: &Connection,
    session_key: i64,
    first_seq: i64,
    last_entry: Option<i64>,
    entries: &[NewEntry],
) -> Result<Option<i64>, StoreError> {
    if entries.is_empty() {
        return Ok(last_entry);
    }
    conn.prepare_cached("INSERT INTO transcript (session_key, seq, entries, prev) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![session_key, first_seq, entries_to_sql(entries), last_entry])?;
    Ok(Some(conn.last_insert_rowid()))
}

/// A row's entries as the JSON array `[[at, kind, payload], …]`.
fn entries_to_sql(entries: &[NewEntry]) -> String {
    let length: usize = entries.iter().map(|entry| entry.payload.get().len() + 40).sum();
    let mut text = String::with_capacity(length + 2);
    let mut number = itoa::Buffer::new();
    text.push('[');
    for (index, entry) in entries.iter().enumerate() {
        if index > 0 {
            text.push(',');
        }
        // A kind is a fixed lower-case word and a payload is JSON already: nothing to escape.
        // (`write!` took 3,700 instructions per turn here.)
        text.push('[');
        text.push_str(number.format(entry.at.timestamp_micros()));
        text.push_str(",\"");
        text.push_str(entry.kind.as_str());
        text.push_str("\",");
        text.push_str(entry.payload.get());
        text.push(']');
    }
    text.push(']');
    text
}

/// The transfers matching `filter` (a `WHERE` clause over `transfers` and `sessions`), oldest first.
fn read_transfers(
    conn: &Connection,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<StoredTransfer>, StoreError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT transfers.id, sessions.id, transfers.queue, transfers.state, transfers.open, transfers.agent_id,
                transfers.chat_id, transfers.value, transfers.request, transfers.opened_at, transfers.updated_at
         FROM transfers JOIN sessions ON sessions.key = transfers.session_key
         {filter} ORDER BY transfers.key"
    ))?;
    let rows = statement.query_map(args, |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, Option<String>>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, bool>(4)?,
            row.get::<_, Option<String>>(5)?,
            row.get::<_, Option<String>>(6)?,
            row.get::<_, String>(7)?,
            row.get::<_, String>(8)?,
            row.get::<_, i64>(9)?,
            row.get::<_, i64>(10)?,
        ))
    })?;
    let mut transfers = Vec::new();
    for row in rows {
        let (id, session_id, queue, state, open, agent_id, chat_id, value, request, opened_at, updated_at) = row?;
        transfers.push(StoredTransfer {
            id,
            session_id: SessionId::new(session_id),
            queue,
            state,
            open,
            agent_id,
            chat_id,
            value: json_from_sql(value)?,
            request: json_from_sql(request)?,
            opened_at: time_from_sql(opened_at)?,
            updated_at: time_from_sql(updated_at)?,
        });
    }
    Ok(transfers)
}

pub(crate) fn upsert_agent(conn: &Connection, agent: &AgentRecord) -> Result<(), StoreError> {
    // A new password signs the agent out everywhere: tokens taken with the old one stop working.
    conn.prepare_cached(
        "DELETE FROM agent_tokens WHERE username = ?1
           AND EXISTS (SELECT 1 FROM agents WHERE username = ?1 AND password_hash <> ?2)",
    )?
    .execute(params![agent.username, agent.password_hash])?;
    let queues = serde_json::to_string(&agent.queues).map_err(|error| StoreError::Database(Box::new(error)))?;
    conn.prepare_cached(
        "INSERT INTO agents (username, display_name, password_hash, queues, capacity, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (username) DO UPDATE SET display_name = excluded.display_name,
             password_hash = excluded.password_hash, queues = excluded.queues, capacity = excluded.capacity",
    )?
    .execute(params![
        agent.username,
        agent.display_name,
        agent.password_hash,
        queues,
        agent.capacity,
        agent.created_at.timestamp_micros(),
    ])?;
    Ok(())
}

/// Removes the agent and its tokens; whether it existed.
pub(crate) fn remove_agent(conn: &Connection, username: &str) -> Result<bool, StoreError> {
    conn.prepare_cached("DELETE FROM agent_tokens WHERE username = ?1")?
        .execute(params![username])?;
    let removed = conn
        .prepare_cached("DELETE FROM agents WHERE username = ?1")?
        .execute(params![username])?;
    Ok(removed == 1)
}

pub(crate) fn find_agent(conn: &Connection, username: &str) -> Result<Option<AgentRecord>, StoreError> {
    let mut agents = select_agents(conn, "WHERE username = ?1", params![username])?;
    Ok(agents.pop())
}

pub(crate) fn list_agents(conn: &Connection) -> Result<Vec<AgentRecord>, StoreError> {
    select_agents(conn, "ORDER BY username", params![])
}

fn select_agents(
    conn: &Connection,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<AgentRecord>, StoreError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT username, display_name, password_hash, queues, capacity, created_at FROM agents {filter}"
    ))?;
    let rows = statement.query_map(args, |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, u32>(4)?,
            row.get::<_, i64>(5)?,
        ))
    })?;
    let mut agents = Vec::new();
    for row in rows {
        let (username, display_name, password_hash, queues, capacity, created_at) = row?;
        agents.push(AgentRecord {
            username,
            display_name,
            password_hash,
            queues: serde_json::from_str(&queues).map_err(|error| StoreError::Database(Box::new(error)))?,
            capacity,
            created_at: time_from_sql(created_at)?,
        });
    }
    Ok(agents)
}

fn create_agent_token(conn: &Connection, token: &AgentToken) -> Result<(), StoreError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO agent_tokens (hash, username, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (hash) DO NOTHING",
        )?
        .execute(params![
            token.hash,
            token.username,
            token.created_at.timestamp_micros(),
            token.expires_at.timestamp_micros(),
        ])?;
    match inserted {
        1 => Ok(()),
        _ => Err(StoreError::DuplicateAgentToken),
    }
}

fn find_agent_token(conn: &Connection, hash: &str, now: DateTime<Utc>) -> Result<Option<AgentToken>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT agent_tokens.username, agent_tokens.created_at, agent_tokens.expires_at
             FROM agent_tokens JOIN agents ON agents.username = agent_tokens.username
             WHERE agent_tokens.hash = ?1 AND NOT agent_tokens.revoked AND agent_tokens.expires_at > ?2",
        )?
        .query_row(params![hash, now.timestamp_micros()], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
        })
        .optional()?;
    let Some((username, created_at, expires_at)) = row else {
        return Ok(None);
    };
    Ok(Some(AgentToken {
        hash: hash.to_owned(),
        username,
        created_at: time_from_sql(created_at)?,
        expires_at: time_from_sql(expires_at)?,
    }))
}

fn revoke_agent_token(conn: &Connection, hash: &str) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE agent_tokens SET revoked = 1 WHERE hash = ?1")?
        .execute(params![hash])?;
    Ok(())
}

fn create_ticket(conn: &Connection, ticket: &Ticket) -> Result<(), StoreError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO tickets (id, session_id, transfer_id, queue, text, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            ticket.id,
            ticket.session_id.as_str(),
            ticket.transfer_id,
            ticket.queue,
            ticket.text,
            ticket.created_at.timestamp_micros(),
        ])?;
    match inserted {
        1 => Ok(()),
        _ => Err(StoreError::Conflict(ticket.session_id.clone())),
    }
}

fn list_tickets(conn: &Connection) -> Result<Vec<Ticket>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT id, session_id, transfer_id, queue, text, created_at FROM tickets ORDER BY created_at, key",
    )?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, Option<String>>(2)?,
            row.get::<_, Option<String>>(3)?,
            row.get::<_, String>(4)?,
            row.get::<_, i64>(5)?,
        ))
    })?;
    let mut tickets = Vec::new();
    for row in rows {
        let (id, session_id, transfer_id, queue, text, created_at) = row?;
        tickets.push(Ticket {
            id,
            session_id: SessionId::new(session_id),
            transfer_id,
            queue,
            text,
            created_at: time_from_sql(created_at)?,
        });
    }
    Ok(tickets)
}

fn session_exists(conn: &Connection, id: &SessionId) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM sessions WHERE id = ?1")?
        .exists(params![id.as_str()])?)
}

fn read_transcript(conn: &Connection, id: &SessionId) -> Result<Vec<TranscriptEntry>, StoreError> {
    read_transcript_after(conn, id, None)
}

/// The entries after `after_seq`, or all of them.
fn read_transcript_after(
    conn: &Connection,
    id: &SessionId,
    after_seq: Option<u64>,
) -> Result<Vec<TranscriptEntry>, StoreError> {
    let last_entry: Option<Option<i64>> = conn
        .prepare_cached("SELECT last_entry FROM sessions WHERE id = ?1")?
        .query_row(params![id.as_str()], |row| row.get(0))
        .optional()?;
    let Some(mut next) = last_entry else {
        return Err(StoreError::NotFound(id.clone()));
    };
    // -1 is before the first entry.
    let after = after_seq.map_or(-1, u64_to_sql);
    // From the last row back along the chain, each by its rowid, to the one holding the first
    // entry after `after`.
    let mut statement = conn.prepare_cached("SELECT prev, seq, entries FROM transcript WHERE id = ?1")?;
    let mut rows: Vec<(i64, i64, String)> = Vec::new();
    while let Some(rowid) = next {
        let (prev, seq, text) = statement.query_row(params![rowid], |row| {
            Ok((
                row.get::<_, Option<i64>>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
            ))
        })?;
        // Sequence numbers fall strictly along the chain; anything else is a broken chain, which
        // would otherwise loop.
        if rows.last().is_some_and(|(_, later, _)| *later <= seq) {
            return Err(corrupt_transcript(id, rowid));
        }
        rows.push((rowid, seq, text));
        if seq <= after {
            break;
        }
        next = prev;
    }
    let mut entries = Vec::new();
    let mut expected: Option<i64> = None;
    for (rowid, first, text) in rows.into_iter().rev() {
        if expected.is_some_and(|expected| expected != first) {
            return Err(corrupt_transcript(id, rowid));
        }
        let row: Vec<(i64, String, &RawValue)> =
            serde_json::from_str(&text).map_err(|error| StoreError::Database(Box::new(error)))?;
        expected = Some(first + i64::try_from(row.len()).unwrap_or(i64::MAX));
        for (seq, (at, kind, payload)) in (first..).zip(row) {
            if seq <= after {
                continue;
            }
            let Some(kind) = EntryKind::parse(&kind) else {
                return Err(StoreError::Database(Box::new(Corrupt(format!(
                    "unknown transcript entry kind {kind:?}"
                )))));
            };
            entries.push(TranscriptEntry {
                session_id: id.clone(),
                seq: u64_from_sql(seq),
                at: time_from_sql(at)?,
                kind,
                payload: payload.to_owned(),
            });
        }
    }
    Ok(entries)
}

fn corrupt_transcript(id: &SessionId, rowid: i64) -> StoreError {
    StoreError::Database(Box::new(Corrupt(format!(
        "the transcript of session {id} is not in order at row {rowid}"
    ))))
}

pub(crate) fn read_api_keys(conn: &Connection) -> Result<Vec<ApiKey>, StoreError> {
    select_api_keys(conn, "ORDER BY id", params![])
}

pub(crate) fn find_api_key_by_hash(conn: &Connection, hash: &str) -> Result<Option<ApiKey>, StoreError> {
    let mut keys = select_api_keys(conn, "WHERE hash = ?1 AND revoked_at IS NULL", params![hash])?;
    Ok(keys.pop())
}

fn select_api_keys(conn: &Connection, filter: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<ApiKey>, StoreError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT id, name, hash, created_at, revoked_at FROM api_keys {filter}"
    ))?;
    let rows = statement.query_map(args, |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, i64>(3)?,
            row.get::<_, Option<i64>>(4)?,
        ))
    })?;
    let mut keys = Vec::new();
    for row in rows {
        let (id, name, hash, created_at, revoked_at) = row?;
        keys.push(ApiKey {
            id: ApiKeyId(id),
            name,
            hash,
            created_at: time_from_sql(created_at)?,
            revoked_at: revoked_at.map(time_from_sql).transpose()?,
        });
    }
    Ok(keys)
}

/// A pool of read-only connections to a database file, used from the blocking thread pool.
struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    fn run<T>(&self, read: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let idle = self.lock_idle().pop();
        let conn = match idle {
            Some(conn) => conn,
            None => open_reader(&self.path)?,
        };
        let result = read(&conn);
        let mut idle = self.lock_idle();
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        result
    }

    fn lock_idle(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Copies committed pages from the WAL into the database file every `CHECKPOINT_INTERVAL` until
/// `stop` closes.
///
/// A checkpoint waits for fsyncs even with `synchronous=NORMAL`; on this thread they delay no
/// commit. A passive checkpoint never blocks the writer or readers: it copies what it can, and
/// the writer starts the WAL over once everything has been copied.
fn run_checkpoints(path: &Path, stop: &std::sync::mpsc::Receiver<()>) {
    let Ok(conn) = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE) else {
        // Without this thread the writer's fallback checkpoints still bound the WAL.
        return;
    };
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_INTERVAL) {
        // A failed checkpoint is retried at the next interval; the WAL only grows meanwhile.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.pragma_update(None, "query_only", true)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

fn time_from_sql(micros: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| StoreError::Database(Box::new(Corrupt(format!("timestamp {micros} µs is out of range")))))
}

fn json_from_sql(text: String) -> Result<Json, StoreError> {
    serde_json::value::RawValue::from_string(text).map_err(|error| StoreError::Database(Box::new(error)))
}

fn duration_to_sql(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

fn u64_to_sql(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn u64_from_sql(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
