//! Managing API keys and agents while the server runs.
//!
//! [`crate::open`] takes the database's lock file, so a second process could not open it while
//! `baton serve` holds it: the writer thread caches open sessions and must be the only one to
//! write them.
//! API keys and agents are not cached (the server reads them from the database at every
//! authentication and login), so another process may change them safely.
//! [`open_admin`] opens the database without the lock for exactly that, and offers nothing that
//! touches sessions, transcripts or transfers.
//! Its writes wait for the server's writer (SQLite's busy timeout) instead of failing.
//! On PostgreSQL, which any number of processes share, it is the ordinary store driven from a
//! runtime of its own.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior};

use crate::postgres::{PostgresOptions, PostgresStore};
use crate::sqlite::{self, SqliteOptions};
use crate::{AgentRecord, ApiKey, ApiKeyId, Store, StoreError};

/// How long an admin write waits for the server's writer to release the database.
const ADMIN_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection for managing API keys and agents, usable beside a running server.
///
/// Its methods block the calling thread (a command-line tool has nothing else to do).
pub struct AdminStore {
    backend: Backend,
}

enum Backend {
    Sqlite(Mutex<Connection>),
    Postgres {
        runtime: tokio::runtime::Runtime,
        store: PostgresStore,
    },
}

/// Opens the database named by `database_url` for managing API keys and agents, without taking the
/// lock that keeps a second server out; creates and migrates the database if needed.
///
/// An in-memory database cannot be shared with another process and is refused.
pub fn open_admin(database_url: &str) -> Result<AdminStore, StoreError> {
    let (scheme, _) = database_url.split_once(':').unwrap_or((database_url, ""));
    if matches!(scheme, "postgres" | "postgresql") {
        let options = PostgresOptions::from_url(database_url)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| StoreError::Database(Box::new(error)))?;
        let store = runtime.block_on(PostgresStore::open(options))?;
        return Ok(AdminStore {
            backend: Backend::Postgres { runtime, store },
        });
    }
    if scheme != "sqlite" {
        return Err(StoreError::UnsupportedUrl {
            scheme: scheme.to_owned(),
            reason: "managing keys and agents needs a sqlite://PATH or postgres:// database",
        });
    }
    let options = SqliteOptions::from_url(database_url)?;
    let Some(path) = options.path else {
        return Err(StoreError::UnsupportedUrl {
            scheme: scheme.to_owned(),
            reason: "an in-memory database cannot be managed from another process",
        });
    };
    let mut conn = Connection::open(&path)?;
    conn.busy_timeout(ADMIN_BUSY_TIMEOUT)?;
    // A no-op on a database the server already uses; a new one starts in WAL mode like the
    // server's, so neither blocks the other's readers.
    let _: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    sqlite::migrations::migrate(&mut conn)?;
    Ok(AdminStore {
        backend: Backend::Sqlite(Mutex::new(conn)),
    })
}

impl AdminStore {
    /// Stores a new API key by its hash.
    pub fn create_api_key(&self, name: &str, hash: &str, now: DateTime<Utc>) -> Result<ApiKey, StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => write(conn, |conn| {
                sqlite::api_keys::create(conn, name.to_owned(), hash.to_owned(), now)
            }),
            Backend::Postgres { runtime, store } => runtime.block_on(store.create_api_key(name, hash, now)),
        }
    }

    /// Every key, revoked ones included, by id.
    pub fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => sqlite::api_keys::list(&lock(conn)),
            Backend::Postgres { runtime, store } => runtime.block_on(store.list_api_keys()),
        }
    }

    /// Revokes a key; revoking a revoked key succeeds and changes nothing.
    pub fn revoke_api_key(&self, id: ApiKeyId, now: DateTime<Utc>) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => write(conn, |conn| sqlite::api_keys::revoke(conn, id, now)),
            Backend::Postgres { runtime, store } => runtime.block_on(store.revoke_api_key(id, now)),
        }
    }

    /// Creates an agent, or replaces everything but the creation time of the agent with this
    /// username.
    pub fn upsert_agent(&self, agent: &AgentRecord) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => write(conn, |conn| sqlite::agents::upsert(conn, agent)),
            Backend::Postgres { runtime, store } => runtime.block_on(store.upsert_agent(agent.clone())),
        }
    }

    /// The agent with this username.
    pub fn find_agent(&self, username: &str) -> Result<Option<AgentRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => sqlite::agents::find(&lock(conn), username),
            Backend::Postgres { runtime, store } => runtime.block_on(store.find_agent(username)),
        }
    }

    /// Every agent, by username.
    pub fn list_agents(&self) -> Result<Vec<AgentRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => sqlite::agents::list(&lock(conn)),
            Backend::Postgres { runtime, store } => runtime.block_on(store.list_agents()),
        }
    }

    /// Removes an agent and its tokens (logging it out); whether it existed.
    pub fn remove_agent(&self, username: &str) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => write(conn, |conn| sqlite::agents::remove(conn, username)),
            Backend::Postgres { runtime, store } => runtime.block_on(store.remove_agent(username)),
        }
    }
}

/// Runs `write` in an immediate transaction, committed if it succeeds.
fn write<T>(
    conn: &Mutex<Connection>,
    write: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut conn = lock(conn);
    // Immediate: wait for the write lock up front (busy timeout) rather than fail at commit.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let result = write(&tx)?;
    tx.commit()?;
    Ok(result)
}

fn lock(conn: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    // The connection holds no state of ours that a panic could leave half-changed.
    conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
