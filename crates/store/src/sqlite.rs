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
//! `migrations` holds the schema's history and `columns` how values map to columns.
//!
//! Reads other than of session state (transcripts, stored replies, the list of API keys, telling
//! an unknown session from an ended one) run on the read pool on the blocking thread pool; WAL
//! lets them proceed while the writer commits.

pub(crate) mod agents;
pub(crate) mod api_keys;
mod columns;
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
    AgentRecord, AgentToken, ApiKey, ApiKeyId, Json, NewSession, SessionId, Store, StoreError, StoredSession,
    StoredTransfer, Ticket, TranscriptEntry, TransferUpdate, TurnCommitted, TurnRecord,
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
                let exists = self.read(move |conn| sessions::exists(conn, &owned_id)).await?;
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
        self.read(move |conn| replies::find(conn, &id, &client_message_id))
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
        self.read(move |conn| transcript::read(conn, &id)).await
    }

    async fn create_api_key(&self, name: &str, hash: &str, now: DateTime<Utc>) -> Result<ApiKey, StoreError> {
        let (name, hash) = (name.to_owned(), hash.to_owned());
        self.write(|ack| Op::CreateApiKey { name, hash, now, ack }).await
    }

    async fn find_api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        // Read from the database every time, not cached: `baton apikey` changes keys from another
        // process while the server runs.
        let hash = hash.to_owned();
        self.read(move |conn| api_keys::find_by_hash(conn, &hash)).await
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        self.read(api_keys::list).await
    }

    async fn revoke_api_key(&self, id: ApiKeyId, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(|ack| Op::RevokeApiKey(id, now, ack)).await
    }

    async fn update_transfer(&self, update: TransferUpdate) -> Result<u64, StoreError> {
        self.write(|ack| Op::UpdateTransfer(update, ack)).await
    }

    async fn load_transfer(&self, id: &str) -> Result<Option<StoredTransfer>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| transfers::load(conn, &id)).await
    }

    async fn open_transfer_of(&self, session: &SessionId) -> Result<Option<StoredTransfer>, StoreError> {
        let session = session.clone();
        self.read(move |conn| transfers::open_of(conn, &session)).await
    }

    async fn open_transfers(&self) -> Result<Vec<StoredTransfer>, StoreError> {
        self.read(transfers::all_open).await
    }

    async fn find_transfer_by_chat(&self, chat_id: &str) -> Result<Option<StoredTransfer>, StoreError> {
        let chat_id = chat_id.to_owned();
        self.read(move |conn| transfers::find_by_chat(conn, &chat_id)).await
    }

    async fn transcript_after(&self, id: &SessionId, after_seq: u64) -> Result<Vec<TranscriptEntry>, StoreError> {
        let id = id.clone();
        self.read(move |conn| transcript::read_after(conn, &id, Some(after_seq)))
            .await
    }

    async fn upsert_agent(&self, agent: AgentRecord) -> Result<(), StoreError> {
        self.write(|ack| Op::UpsertAgent(agent, ack)).await
    }

    async fn find_agent(&self, username: &str) -> Result<Option<AgentRecord>, StoreError> {
        let username = username.to_owned();
        self.read(move |conn| agents::find(conn, &username)).await
    }

    async fn list_agents(&self) -> Result<Vec<AgentRecord>, StoreError> {
        self.read(agents::list).await
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
        self.read(move |conn| agents::find_token(conn, &hash, now)).await
    }

    async fn revoke_agent_token(&self, hash: &str) -> Result<(), StoreError> {
        let hash = hash.to_owned();
        self.write(|ack| Op::RevokeAgentToken(hash, ack)).await
    }

    async fn create_ticket(&self, ticket: Ticket) -> Result<(), StoreError> {
        self.write(|ack| Op::CreateTicket(ticket, ack)).await
    }

    async fn list_tickets(&self) -> Result<Vec<Ticket>, StoreError> {
        self.read(tickets::list).await
    }
}
