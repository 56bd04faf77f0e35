//! Persistence behind one trait: sessions, their transcripts, idempotent replies and API keys.
//!
//! The store does not know the dialog types.
//! Session state, transcript payloads and stored replies are opaque JSON ([`Json`]): the server
//! serialises its own types into them, so the core can change shape without touching this crate
//! (old rows are the server's concern, converted by hand when read).
//!
//! One customer message is `load_session` then `commit_turn`: the new state, every transcript
//! entry of the turn and the reply for the client's message id are written in one transaction,
//! and `commit_turn` returns only after that transaction has committed, so a message the server
//! acknowledged survives a crash of the process.
//!
//! Design decisions, recorded here because they shaped the module:
//! - [`Store`] is dyn-compatible: its methods return boxed futures ([`StoreFuture`], as the desk
//!   crate's `ServiceDesk` returns `DeskFuture`), so [`open`] picks the backend from the URL and
//!   hands it out as `Arc<dyn Store>`.
//!   A PostgreSQL backend is one more implementation of [`Store`] and one more arm in [`open`];
//!   nothing that holds an `Arc<dyn Store>` changes.
//!   The box costs one allocation per call, which `benches/commit.rs` (two calls per message)
//!   does not tell apart from noise.
//! - Time is passed in (`now`), never read from the clock here, so expiry is testable.
//! - Each session has its own idle timeout, fixed when it is created: a loaded session idle for
//!   longer is reported as [`StoreError::Expired`], and [`Store::expire_idle`] marks such sessions
//!   ended.
//!   Changing the configured timeout therefore does not retroactively end open sessions.
//! - Ending a session (deletion by the client or expiry) keeps its transcript; only new messages
//!   are refused.
//! - Optimistic concurrency: every write to a session checks and bumps its version, so two
//!   writers racing on one session cannot lose an update; the loser gets [`StoreError::Conflict`]
//!   and nothing of its turn is written.
//!
//! The SQLite backend and its throughput design are described in its module, `sqlite`.

mod admin;
mod columns;
pub mod password;
mod postgres;
mod sqlite;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use admin::{AdminStore, open_admin};
pub use postgres::{PostgresOptions, PostgresStore};
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous};

/// Opaque JSON as the server serialised it; the store only keeps and returns the text.
///
/// Build one with `serde_json::value::to_raw_value(&value)` or
/// `serde_json::value::RawValue::from_string(text)`.
pub type Json = Box<serde_json::value::RawValue>;

/// The database URL used when none is configured: a `baton.db` file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://baton.db";

/// The id of a session, as the server generated it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(String);

impl SessionId {
    pub fn new(id: impl Into<String>) -> SessionId {
        SessionId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A session to create.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub id: SessionId,
    pub assistant_id: String,
    pub state: Json,
    pub created_at: DateTime<Utc>,
    /// How long the session may stay without a turn before it expires.
    pub idle_timeout: Duration,
}

/// An open session as stored.
#[derive(Clone, Debug)]
pub struct StoredSession {
    pub id: SessionId,
    pub assistant_id: String,
    pub state: Json,
    /// Bumped by every write; a turn must name the version it was computed from.
    pub version: u64,
    pub created_at: DateTime<Utc>,
    /// When the last turn was committed (the creation time before the first).
    pub last_active: DateTime<Utc>,
    pub idle_timeout: Duration,
}

impl StoredSession {
    /// Whether the session has been idle for longer than its timeout at `now`.
    pub fn is_idle(&self, now: DateTime<Utc>) -> bool {
        let timeout = i64::try_from(self.idle_timeout.as_micros()).unwrap_or(i64::MAX);
        now.timestamp_micros() > self.last_active.timestamp_micros().saturating_add(timeout)
    }
}

/// Who or what a transcript entry comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// What the customer sent.
    Customer,
    /// What the assistant said.
    Assistant,
    /// What a human agent said.
    Agent,
    /// Anything else worth keeping: a transfer changing state, an action's result.
    Event,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Customer => "customer",
            EntryKind::Assistant => "assistant",
            EntryKind::Agent => "agent",
            EntryKind::Event => "event",
        }
    }

    pub fn parse(raw: &str) -> Option<EntryKind> {
        match raw {
            "customer" => Some(EntryKind::Customer),
            "assistant" => Some(EntryKind::Assistant),
            "agent" => Some(EntryKind::Agent),
            "event" => Some(EntryKind::Event),
            _ => None,
        }
    }
}

/// A transcript entry to append; the store gives it its sequence number.
#[derive(Clone, Debug)]
pub struct NewEntry {
    pub kind: EntryKind,
    pub at: DateTime<Utc>,
    pub payload: Json,
}

/// A stored transcript entry.
#[derive(Clone, Debug)]
pub struct TranscriptEntry {
    pub session_id: SessionId,
    /// Position in the session's transcript: 0, 1, 2, … without gaps.
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub kind: EntryKind,
    pub payload: Json,
}

/// The response sent for a client's message id, kept so a retried message is answered again
/// with the same response instead of being processed twice.
#[derive(Clone, Debug)]
pub struct StoredReply {
    pub client_message_id: String,
    pub response: Json,
}

/// Everything one turn writes, committed together or not at all.
#[derive(Clone, Debug)]
pub struct TurnRecord {
    pub session_id: SessionId,
    /// The version of the session the turn was computed from (as loaded).
    pub expected_version: u64,
    /// The session state after the turn.
    pub state: Json,
    /// When the turn happened; becomes the session's `last_active`.
    pub at: DateTime<Utc>,
    /// Appended to the transcript in this order.
    pub entries: Vec<NewEntry>,
    /// The response to remember for the client's message id, if the client sent one.
    pub reply: Option<StoredReply>,
    /// A transfer the turn opens or changes, written in the same transaction; an update's
    /// entries are appended after the turn's own.
    /// If the transfer write is refused ([`StoreError::TransferAlreadyOpen`],
    /// [`StoreError::UnknownTransfer`]) nothing of the turn is written either.
    pub transfer: Option<TransferWrite>,
}

/// A transfer written together with a turn.
#[derive(Clone, Debug)]
pub enum TransferWrite {
    /// Its `session_id` must be the turn's.
    Open(NewTransfer),
    /// The transfer must belong to the turn's session.
    Update(TransferUpdate),
}

/// A transfer to open (the desk crate's `Transfer` and `ChatRequest` as opaque JSON).
///
/// A new transfer is open: a session has at most one open transfer at a time.
#[derive(Clone, Debug)]
pub struct NewTransfer {
    pub id: String,
    pub session_id: SessionId,
    pub queue: Option<String>,
    pub state: String,
    /// The serialized transfer (state machine).
    pub value: Json,
    /// The serialized chat request: brief, customer, routing.
    pub request: Json,
    pub at: DateTime<Utc>,
}

/// A change to a stored transfer, with the transcript entries it produces.
#[derive(Clone, Debug)]
pub struct TransferUpdate {
    pub id: String,
    pub state: String,
    /// Whether the transfer is still open after this change.
    pub open: bool,
    pub agent_id: Option<String>,
    pub chat_id: Option<String>,
    pub value: Json,
    pub at: DateTime<Utc>,
    /// Appended to the transfer's session transcript in the same transaction.
    pub entries: Vec<NewEntry>,
}

/// A transfer as stored.
#[derive(Clone, Debug)]
pub struct StoredTransfer {
    pub id: String,
    pub session_id: SessionId,
    pub queue: Option<String>,
    pub state: String,
    pub open: bool,
    pub agent_id: Option<String>,
    pub chat_id: Option<String>,
    pub value: Json,
    pub request: Json,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A human agent of Baton's own desk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentRecord {
    pub username: String,
    pub display_name: String,
    /// The password as a PHC string, hashed by the caller; the store never sees the password.
    pub password_hash: String,
    /// The queues the agent serves; empty means every queue.
    pub queues: Vec<String>,
    /// How many chats the agent takes at once.
    pub capacity: u32,
    pub created_at: DateTime<Utc>,
}

/// An agent's login token, stored by its SHA-256 hex hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentToken {
    pub hash: String,
    pub username: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A message a customer left while no agent was available.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub id: String,
    pub session_id: SessionId,
    pub transfer_id: Option<String>,
    pub queue: Option<String>,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

/// What a committed turn was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TurnCommitted {
    /// The session's version now; the next turn must name it.
    pub version: u64,
    /// The sequence number of the turn's first entry; the others follow without gaps.
    pub first_seq: u64,
}

/// The id of an API key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApiKeyId(pub i64);

impl fmt::Display for ApiKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A stored API key: only its hash is kept, never the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("session {0} not found")]
    NotFound(SessionId),
    /// The session was ended (deleted, or expired by a sweep) or has been idle past its timeout.
    #[error("session {0} has ended")]
    Expired(SessionId),
    /// The session changed since the caller loaded it, or the turn's client message id was
    /// already answered; nothing was written.
    #[error("session {0} was changed by another writer")]
    Conflict(SessionId),
    #[error("api key {0} not found")]
    ApiKeyNotFound(ApiKeyId),
    #[error("an api key with this hash already exists")]
    DuplicateApiKey,
    /// Hashing a password failed (the system's random source failed).
    #[error("could not hash the password")]
    PasswordHash,
    #[error("an agent token with this hash already exists")]
    DuplicateAgentToken,
    /// The session already has an open transfer; nothing was written.
    #[error("session {session} already has an open transfer")]
    TransferAlreadyOpen { session: SessionId },
    /// No transfer has this id (or, in a turn, not one of the turn's session); nothing was written.
    #[error("transfer {0} not found")]
    UnknownTransfer(String),
    /// The URL names no backend this build supports; it carries no part of the URL but its scheme,
    /// which cannot hold a password.
    #[error("unsupported database url (scheme {scheme:?}): {reason}")]
    UnsupportedUrl { scheme: String, reason: &'static str },
    /// The database is opened by another process; the SQLite backend must be its only writer.
    #[error("database {0} is in use by another process")]
    Locked(String),
    /// The store's writer has stopped (the store is shutting down, or the writer failed).
    #[error("the store has shut down")]
    Closed,
    /// The database cannot be reached or is not accepting work now (PostgreSQL down, restarting,
    /// or every connection busy past the acquire timeout); the same call may succeed later.
    /// The text names the host, port and database, never a password.
    #[error("{0}")]
    Unavailable(String),
    /// The database's schema was written by a newer build; nothing was changed.
    #[error(
        "the database has schema version {found}, newer than this build's {supported}: run the newer Baton          (a build never migrates a schema backwards)"
    )]
    SchemaTooNew { found: i64, supported: usize },
    #[error("database error")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        StoreError::Database(Box::new(error))
    }
}

/// What a [`Store`] method returns: a boxed future, so that `dyn Store` can be called.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Persistence of sessions, transcripts, replies and API keys.
///
/// Every method is cancel safe in the sense that matters: a write that has been handed to the
/// backend is committed (or not) whether or not the caller still waits for it.
pub trait Store: Send + Sync + 'static {
    /// Creates a session; [`StoreError::Conflict`] if the id is taken.
    fn create_session(&self, session: NewSession) -> StoreFuture<'_, ()>;

    /// Loads an open session.
    /// [`StoreError::Expired`] if it has ended or has been idle past its timeout at `now`,
    /// [`StoreError::NotFound`] if it never existed.
    fn load_session<'a>(&'a self, id: &'a SessionId, now: DateTime<Utc>) -> StoreFuture<'a, StoredSession>;

    /// Writes a turn (state, transcript entries, reply) in one transaction and returns once it
    /// is committed.
    /// [`StoreError::Conflict`] if the session is not at `expected_version` or the reply's client
    /// message id was already answered; [`StoreError::Expired`] or [`StoreError::NotFound`] as
    /// for [`Store::load_session`] (judged at the turn's `at`). On error nothing is written.
    fn commit_turn(&self, turn: TurnRecord) -> StoreFuture<'_, TurnCommitted>;

    /// The response already sent for this client message id, if any.
    fn find_reply<'a>(&'a self, id: &'a SessionId, client_message_id: &'a str) -> StoreFuture<'a, Option<Json>>;

    /// Ends a session (the client deleted it); its transcript is kept.
    /// Ending an ended session succeeds and changes nothing; [`StoreError::NotFound`] if it never
    /// existed.
    fn end_session<'a>(&'a self, id: &'a SessionId, now: DateTime<Utc>) -> StoreFuture<'a, ()>;

    /// Ends every open session idle past its timeout at `now` and returns their ids.
    ///
    /// The server calls this periodically: besides ending sessions, it lets a backend drop them
    /// from whatever it keeps in memory (the SQLite backend caches every open session).
    fn expire_idle(&self, now: DateTime<Utc>) -> StoreFuture<'_, Vec<SessionId>>;

    /// The session's whole transcript in order, whether the session is open or ended.
    fn transcript<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, Vec<TranscriptEntry>>;

    /// Stores a new API key by its hash.
    fn create_api_key<'a>(&'a self, name: &'a str, hash: &'a str, now: DateTime<Utc>) -> StoreFuture<'a, ApiKey>;

    /// The unrevoked key with this hash, if any.
    fn find_api_key_by_hash<'a>(&'a self, hash: &'a str) -> StoreFuture<'a, Option<ApiKey>>;

    /// Every key, revoked ones included, by id.
    fn list_api_keys(&self) -> StoreFuture<'_, Vec<ApiKey>>;

    /// Revokes a key; revoking a revoked key succeeds and changes nothing.
    fn revoke_api_key(&self, id: ApiKeyId, now: DateTime<Utc>) -> StoreFuture<'_, ()>;

    /// Changes a transfer and appends its entries to its session's transcript, in one
    /// transaction; returns the sequence number of the first appended entry (the next one if
    /// there are none).
    /// The session may have ended: its transcript still grows. The session's version does not
    /// change, so a turn computed meanwhile still commits.
    /// [`StoreError::UnknownTransfer`] if no transfer has this id; [`StoreError::TransferAlreadyOpen`]
    /// if it reopens a transfer while its session has another open one. On error nothing is written.
    fn update_transfer(&self, update: TransferUpdate) -> StoreFuture<'_, u64>;

    /// The transfer with this id, open or not.
    fn load_transfer<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<StoredTransfer>>;

    /// The session's open transfer, if it has one.
    fn open_transfer_of<'a>(&'a self, session: &'a SessionId) -> StoreFuture<'a, Option<StoredTransfer>>;

    /// Every open transfer, oldest first: what to resume after a restart.
    fn open_transfers(&self) -> StoreFuture<'_, Vec<StoredTransfer>>;

    /// The transfer a desk's chat id belongs to, open or not (the newest if several share it).
    fn find_transfer_by_chat<'a>(&'a self, chat_id: &'a str) -> StoreFuture<'a, Option<StoredTransfer>>;

    /// The session's transcript entries with `seq > after_seq`, in order.
    /// [`StoreError::NotFound`] if the session never existed.
    fn transcript_after<'a>(&'a self, id: &'a SessionId, after_seq: u64) -> StoreFuture<'a, Vec<TranscriptEntry>>;

    /// The session's transcript entries after its last entry of `kind` (all of them when there
    /// is none), in order; read back only that far, so the cost does not grow with the
    /// conversation. [`StoreError::NotFound`] if the session never existed.
    fn transcript_since_last<'a>(&'a self, id: &'a SessionId, kind: EntryKind)
    -> StoreFuture<'a, Vec<TranscriptEntry>>;

    /// The session's last `n` transcript entries (all of them when it has fewer), in order; read
    /// back only that far. [`StoreError::NotFound`] if the session never existed.
    fn transcript_tail<'a>(&'a self, id: &'a SessionId, n: usize) -> StoreFuture<'a, Vec<TranscriptEntry>>;

    /// Creates an agent, or replaces everything but the creation time of the agent with this
    /// username. A changed password hash revokes the agent's tokens.
    fn upsert_agent(&self, agent: AgentRecord) -> StoreFuture<'_, ()>;

    /// The agent with this username, read from the database on every call (agents may be changed
    /// by `baton agents` while the server runs).
    fn find_agent<'a>(&'a self, username: &'a str) -> StoreFuture<'a, Option<AgentRecord>>;

    /// Every agent, by username.
    fn list_agents(&self) -> StoreFuture<'_, Vec<AgentRecord>>;

    /// Removes an agent and its tokens; whether it existed.
    fn remove_agent<'a>(&'a self, username: &'a str) -> StoreFuture<'a, bool>;

    /// Stores an agent's login token by its hash.
    fn create_agent_token(&self, token: AgentToken) -> StoreFuture<'_, ()>;

    /// The token with this hash if it is neither expired at `now` nor revoked and its agent still
    /// exists.
    fn find_agent_token<'a>(&'a self, hash: &'a str, now: DateTime<Utc>) -> StoreFuture<'a, Option<AgentToken>>;

    /// Revokes a token; revoking an unknown or revoked token succeeds and changes nothing.
    fn revoke_agent_token<'a>(&'a self, hash: &'a str) -> StoreFuture<'a, ()>;

    /// Stores a message left while no agent was available; [`StoreError::Conflict`] (of the
    /// ticket's session) if the id is taken.
    fn create_ticket(&self, ticket: Ticket) -> StoreFuture<'_, ()>;

    /// Every ticket, oldest first.
    fn list_tickets(&self) -> StoreFuture<'_, Vec<Ticket>>;

    /// Whether other processes may use the database at the same time (PostgreSQL), so nothing
    /// read from it may be assumed unchanged by others between calls.
    fn shared(&self) -> bool {
        false
    }

    /// Sends `message` to every process listening on this database ([`Store::listen`]), this one
    /// included. A backend one process has to itself (SQLite) has nobody to tell and does nothing.
    /// Delivery is at most once, to processes listening now: what must survive is stored first.
    fn broadcast<'a>(&'a self, message: &'a str) -> StoreFuture<'a, ()> {
        let _ = message;
        Box::pin(async { Ok(()) })
    }

    /// The messages broadcast from now on, or `None` where no other process can share the database.
    fn listen(&self) -> StoreFuture<'_, Option<tokio::sync::mpsc::Receiver<String>>> {
        Box::pin(async { Ok(None) })
    }

    /// Makes this process, called `replica`, the one among those sharing the database that
    /// holds the desk (one at a time): with `wait`, waits until the holder lets go; without,
    /// `None` at once if another process holds it. Held until the [`Leadership`] is dropped or
    /// the connection holding it breaks ([`Leadership::lost`]). A database no other process can
    /// use is held at once, for good.
    fn lead<'a>(&'a self, replica: &'a str, wait: bool) -> StoreFuture<'a, Option<Leadership>> {
        let _ = (replica, wait);
        Box::pin(async { Ok(Some(Leadership::sole())) })
    }
}

/// This process holds the desk among the processes sharing the database ([`Store::lead`]).
#[derive(Debug)]
pub struct Leadership {
    /// The process that held it last before this one, as it recorded itself.
    pub previous: Option<String>,
    /// Becomes true when it is no longer held.
    lost: tokio::sync::watch::Receiver<bool>,
    /// Kept by a sole holder, so `lost` never changes; dropped, it tells the task holding the
    /// lock to let go.
    _hold: Option<tokio::sync::watch::Sender<bool>>,
    _release: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Leadership {
    /// Held for good: nobody else can use the database.
    pub fn sole() -> Leadership {
        let (hold, lost) = tokio::sync::watch::channel(false);
        Leadership {
            previous: None,
            lost,
            _hold: Some(hold),
            _release: None,
        }
    }

    /// Held by a task that sets `lost` when it loses the lock and lets go when `release`'s
    /// receiver sees it dropped.
    pub(crate) fn held(
        previous: Option<String>,
        lost: tokio::sync::watch::Receiver<bool>,
        release: tokio::sync::oneshot::Sender<()>,
    ) -> Leadership {
        Leadership {
            previous,
            lost,
            _hold: None,
            _release: Some(release),
        }
    }

    /// Completes once this process no longer holds it; never for a sole holder.
    pub async fn lost(&mut self) {
        // An error means the holding task is gone, which is a loss too.
        let _ = self.lost.wait_for(|lost| *lost).await;
    }
}

/// Opens the store named by `database_url`, creating and migrating the database if needed.
///
/// - `sqlite://PATH` (or `sqlite:PATH`): a SQLite file, e.g. `sqlite://baton.db`,
///   `sqlite:///var/lib/baton/baton.db`; `?synchronous=full` asks for an fsync per commit
///   (see [`SqliteStore`]).
/// - `sqlite::memory:`: a private in-memory database, gone when the store is dropped.
/// - `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (or `postgresql://`): a PostgreSQL database
///   that several servers may share ([`PostgresOptions::from_url`] lists the parameters).
pub async fn open(database_url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let (scheme, _) = database_url.split_once(':').unwrap_or((database_url, ""));
    match scheme {
        "sqlite" => {
            let options = SqliteOptions::from_url(database_url)?;
            Ok(Arc::new(SqliteStore::open(options).await?))
        }
        "postgres" | "postgresql" => {
            let options = PostgresOptions::from_url(database_url)?;
            Ok(Arc::new(PostgresStore::open(options).await?))
        }
        _ => Err(StoreError::UnsupportedUrl {
            scheme: scheme.to_owned(),
            reason: "expected sqlite://PATH, sqlite::memory: or postgres://USER@HOST:PORT/DATABASE",
        }),
    }
}
