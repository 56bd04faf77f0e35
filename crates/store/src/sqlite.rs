//! The SQLite backend: one writer thread with group commit, an in-memory cache of open sessions,
//! and a small pool of read connections.
//!
//! [`SqliteStore`] is the face: it hands every write to the writer thread (`writer`: group commit
//! and the cache of open sessions, from which `load_session` answers without the database) and
//! runs other reads on the read pool (`connections`: the connections, the lock file that makes
//! one process the only writer, WAL checkpoints and what `synchronous` means for durability).
//! What is stored has a module each, holding its SQL: `sessions` (sessions and their turns),
//! `transcript` (entries chained per session), `replies` (the response to each client message
//! id, chained likewise), `transfers`, `agents` (and their tokens), `tickets` and `api_keys`;
//! `migrations` holds the schema's history; `crate::columns` says how values map to columns.
//!
//! Reads other than of session state (transcripts, stored replies, the list of API keys, telling
//! an unknown session from an ended one) run on the read pool on the blocking thread pool; WAL
//! lets them proceed while the writer commits.

pub(crate) mod agents;
pub(crate) mod api_keys;
mod connections;
pub(crate) mod migrations;
mod replies;
mod sessions;
mod tickets;
mod transcript;
mod transfers;
mod writer;

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use self::connections::{ReadPool, run_checkpoints};
use self::writer::{Ack, Cache, Op, ReadJob};
use crate::{
    AgentRecord, AgentToken, ApiKey, ApiKeyId, Json, NewSession, SessionId, Store, StoreError, StoreFuture,
    StoredSession, StoredTransfer, Ticket, TranscriptEntry, TransferUpdate, TurnCommitted, TurnRecord,
};

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
        let (ops_sender, writer) = writer::start(&options, Arc::clone(&cache)).await?;
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
            store.readers = Some(Arc::new(ReadPool::new(path)));
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

// Reads and writes run on other threads, which take owned values: the methods clone what they
// borrow before they build their futures.
impl Store for SqliteStore {
    fn create_session(&self, session: NewSession) -> StoreFuture<'_, ()> {
        Box::pin(self.write(|ack| Op::CreateSession(session, ack)))
    }

    fn load_session<'a>(&'a self, id: &'a SessionId, now: DateTime<Utc>) -> StoreFuture<'a, StoredSession> {
        Box::pin(async move {
            let cached = self.cache.sessions().get(id).cloned();
            match cached {
                Some(session) if session.is_idle(now) => Err(StoreError::Expired(id.clone())),
                Some(session) => Ok(session),
                None => {
                    // Not open: it either ended or never existed.
                    let owned_id = id.clone();
                    let exists = self.read(move |conn| sessions::exists(conn, &owned_id)).await?;
                    match exists {
                        true => Err(StoreError::Expired(id.clone())),
                        false => Err(StoreError::NotFound(id.clone())),
                    }
                }
            }
        })
    }

    fn commit_turn(&self, turn: TurnRecord) -> StoreFuture<'_, TurnCommitted> {
        Box::pin(self.write(|ack| Op::CommitTurn(turn, ack)))
    }

    fn find_reply<'a>(&'a self, id: &'a SessionId, client_message_id: &'a str) -> StoreFuture<'a, Option<Json>> {
        let id = id.clone();
        let client_message_id = client_message_id.to_owned();
        Box::pin(self.read(move |conn| replies::find(conn, &id, &client_message_id)))
    }

    fn end_session<'a>(&'a self, id: &'a SessionId, now: DateTime<Utc>) -> StoreFuture<'a, ()> {
        let id = id.clone();
        Box::pin(self.write(move |ack| Op::EndSession(id, now, ack)))
    }

    fn expire_idle(&self, now: DateTime<Utc>) -> StoreFuture<'_, Vec<SessionId>> {
        Box::pin(self.write(move |ack| Op::ExpireIdle(now, ack)))
    }

    fn transcript<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, Vec<TranscriptEntry>> {
        let id = id.clone();
        Box::pin(self.read(move |conn| transcript::read(conn, &id)))
    }

    fn create_api_key<'a>(&'a self, name: &'a str, hash: &'a str, now: DateTime<Utc>) -> StoreFuture<'a, ApiKey> {
        let (name, hash) = (name.to_owned(), hash.to_owned());
        Box::pin(self.write(move |ack| Op::CreateApiKey { name, hash, now, ack }))
    }

    fn find_api_key_by_hash<'a>(&'a self, hash: &'a str) -> StoreFuture<'a, Option<ApiKey>> {
        // Read from the database every time, not cached: `baton apikey` changes keys from another
        // process while the server runs.
        let hash = hash.to_owned();
        Box::pin(self.read(move |conn| api_keys::find_by_hash(conn, &hash)))
    }

    fn list_api_keys(&self) -> StoreFuture<'_, Vec<ApiKey>> {
        Box::pin(self.read(api_keys::list))
    }

    fn revoke_api_key(&self, id: ApiKeyId, now: DateTime<Utc>) -> StoreFuture<'_, ()> {
        Box::pin(self.write(move |ack| Op::RevokeApiKey(id, now, ack)))
    }

    fn update_transfer(&self, update: TransferUpdate) -> StoreFuture<'_, u64> {
        Box::pin(self.write(|ack| Op::UpdateTransfer(update, ack)))
    }

    fn load_transfer<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<StoredTransfer>> {
        let id = id.to_owned();
        Box::pin(self.read(move |conn| transfers::load(conn, &id)))
    }

    fn open_transfer_of<'a>(&'a self, session: &'a SessionId) -> StoreFuture<'a, Option<StoredTransfer>> {
        let session = session.clone();
        Box::pin(self.read(move |conn| transfers::open_of(conn, &session)))
    }

    fn open_transfers(&self) -> StoreFuture<'_, Vec<StoredTransfer>> {
        Box::pin(self.read(transfers::all_open))
    }

    fn find_transfer_by_chat<'a>(&'a self, chat_id: &'a str) -> StoreFuture<'a, Option<StoredTransfer>> {
        let chat_id = chat_id.to_owned();
        Box::pin(self.read(move |conn| transfers::find_by_chat(conn, &chat_id)))
    }

    fn transcript_after<'a>(&'a self, id: &'a SessionId, after_seq: u64) -> StoreFuture<'a, Vec<TranscriptEntry>> {
        let id = id.clone();
        Box::pin(self.read(move |conn| transcript::read_after(conn, &id, Some(after_seq))))
    }

    fn transcript_since_last<'a>(
        &'a self,
        id: &'a SessionId,
        kind: crate::EntryKind,
    ) -> StoreFuture<'a, Vec<TranscriptEntry>> {
        let id = id.clone();
        Box::pin(self.read(move |conn| transcript::read_since_last(conn, &id, kind)))
    }

    fn transcript_tail<'a>(&'a self, id: &'a SessionId, n: usize) -> StoreFuture<'a, Vec<TranscriptEntry>> {
        let id = id.clone();
        Box::pin(self.read(move |conn| transcript::read_last(conn, &id, n)))
    }

    fn upsert_agent(&self, agent: AgentRecord) -> StoreFuture<'_, ()> {
        Box::pin(self.write(|ack| Op::UpsertAgent(agent, ack)))
    }

    fn find_agent<'a>(&'a self, username: &'a str) -> StoreFuture<'a, Option<AgentRecord>> {
        let username = username.to_owned();
        Box::pin(self.read(move |conn| agents::find(conn, &username)))
    }

    fn list_agents(&self) -> StoreFuture<'_, Vec<AgentRecord>> {
        Box::pin(self.read(agents::list))
    }

    fn remove_agent<'a>(&'a self, username: &'a str) -> StoreFuture<'a, bool> {
        let username = username.to_owned();
        Box::pin(self.write(move |ack| Op::RemoveAgent(username, ack)))
    }

    fn create_agent_token(&self, token: AgentToken) -> StoreFuture<'_, ()> {
        Box::pin(self.write(|ack| Op::CreateAgentToken(token, ack)))
    }

    fn find_agent_token<'a>(&'a self, hash: &'a str, now: DateTime<Utc>) -> StoreFuture<'a, Option<AgentToken>> {
        let hash = hash.to_owned();
        Box::pin(self.read(move |conn| agents::find_token(conn, &hash, now)))
    }

    fn revoke_agent_token<'a>(&'a self, hash: &'a str) -> StoreFuture<'a, ()> {
        let hash = hash.to_owned();
        Box::pin(self.write(move |ack| Op::RevokeAgentToken(hash, ack)))
    }

    fn create_ticket(&self, ticket: Ticket) -> StoreFuture<'_, ()> {
        Box::pin(self.write(|ack| Op::CreateTicket(ticket, ack)))
    }

    fn list_tickets(&self) -> StoreFuture<'_, Vec<Ticket>> {
        Box::pin(self.read(tickets::list))
    }
}
