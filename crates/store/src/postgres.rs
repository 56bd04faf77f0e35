//! The PostgreSQL backend: several Baton processes on one database.
//!
//! Unlike SQLite's single writer, any number of servers write here at once, so nothing a turn
//! checks is taken from memory: every turn locks its session's row (`SELECT … FOR UPDATE`) inside
//! its transaction, checks the version it was computed from against the stored one, and writes
//! state, transcript entries, reply and transfer before `COMMIT` returns. Two replicas racing on
//! one session are thereby put one after the other, and the later one's stale turn is refused
//! with [`StoreError::Conflict`] (the server reloads and runs it again).
//!
//! What is stored has a module each, holding its SQL: `sessions` (sessions, their turns, the
//! transcript and stored replies), `desk` (transfers, agents, agent tokens, tickets) and `keys`
//! (API keys); `migrations` holds the schema's history, and `bus` carries messages between the
//! servers (`LISTEN`/`NOTIFY`). Values map to columns as on SQLite
//! (`crate::columns`: times in microseconds, JSON as text, so the stored JSON comes back byte for
//! byte).
//!
//! Connections come from a pool (`sqlx`); a connection that breaks is replaced on the next
//! acquire, so the store recovers by itself once the database is back. While the database cannot
//! be reached, calls fail with [`StoreError::Unavailable`] after the pool's acquire timeout.

mod bus;
mod desk;
mod keys;
mod lead;
mod migrations;
mod sessions;

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::{
    AgentRecord, AgentToken, ApiKey, ApiKeyId, EntryKind, Json, NewSession, SessionId, Store, StoreError, StoreFuture,
    StoredSession, StoredTransfer, Ticket, TranscriptEntry, TransferUpdate, TurnCommitted, TurnRecord,
};

/// How many connections a server keeps at most, unless the URL says (`max_connections=N`).
const DEFAULT_MAX_CONNECTIONS: u32 = 16;

/// How long a call waits for a connection before it fails as [`StoreError::Unavailable`].
const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and how to reach a PostgreSQL database.
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    /// Host, port, database, user, password and TLS, as libpq reads them from a URL
    /// (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`, `options`, …).
    pub connect: PgConnectOptions,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// The URL's host, port and database, for messages: never its password.
    pub describe: String,
}

impl PostgresOptions {
    /// Reads `postgres://USER:PASSWORD@HOST:PORT/DATABASE?…` (or `postgresql://`): libpq's
    /// parameters (`sslmode=require|verify-full`, `sslrootcert=PATH`, `options=-csearch_path%3DNAME`,
    /// …) plus Baton's own `max_connections=N` and `acquire_timeout_secs=N`.
    pub fn from_url(url: &str) -> Result<PostgresOptions, StoreError> {
        let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
        let unsupported = |reason| StoreError::UnsupportedUrl {
            scheme: scheme.to_owned(),
            reason,
        };
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut max_connections = DEFAULT_MAX_CONNECTIONS;
        let mut acquire_timeout = DEFAULT_ACQUIRE_TIMEOUT;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match name {
                "max_connections" => {
                    max_connections = value
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| unsupported("max_connections must be a whole number above 0"))?;
                }
                "acquire_timeout_secs" => {
                    acquire_timeout = value
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .map(Duration::from_secs)
                        .ok_or_else(|| unsupported("acquire_timeout_secs must be a whole number above 0"))?;
                }
                _ => kept.push(pair),
            }
        }
        let libpq_url = match kept.is_empty() {
            true => base.to_owned(),
            false => format!("{base}?{}", kept.join("&")),
        };
        let mut connect = PgConnectOptions::from_str(&libpq_url)
            .map_err(|_| unsupported("not a valid postgres://USER@HOST:PORT/DATABASE url"))?;
        if !kept.iter().any(|pair| pair.starts_with("application_name=")) {
            connect = connect.application_name("baton");
        }
        let describe = format!(
            "{}:{}/{}",
            connect.get_host(),
            connect.get_port(),
            connect.get_database().unwrap_or(connect.get_username())
        );
        Ok(PostgresOptions {
            connect,
            max_connections,
            acquire_timeout,
            describe,
        })
    }
}

/// The PostgreSQL store; see the module documentation.
pub struct PostgresStore {
    pool: PgPool,
    /// The `NOTIFY` channel of this schema's servers (`bus`).
    channel: String,
}

impl PostgresStore {
    /// Connects, then creates or migrates the schema; fails with one sentence saying what is wrong
    /// (unreachable, refused, a schema newer than this build's).
    pub async fn open(options: PostgresOptions) -> Result<PostgresStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            // The pool already pings a connection when it comes back (sqlx 0.8), so a broken one
            // is dropped there; a second ping before each use was a third of a turn's round trips.
            .test_before_acquire(false)
            .connect_with(options.connect.clone())
            .await
            .map_err(|error| {
                StoreError::Unavailable(format!("cannot connect to PostgreSQL at {}: {error}", options.describe))
            })?;
        migrations::migrate(&pool).await?;
        let channel = bus::channel(&pool).await?;
        Ok(PostgresStore { pool, channel })
    }
}

/// How a driver error is reported: the database being out of reach is [`StoreError::Unavailable`]
/// (the server answers 503 and tries again later), anything else [`StoreError::Database`].
impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> StoreError {
        match error {
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => {
                StoreError::Unavailable(format!("PostgreSQL cannot be reached: {error}"))
            }
            sqlx::Error::Database(ref database) if is_shutdown(database.code().as_deref()) => {
                StoreError::Unavailable(format!("PostgreSQL is not accepting work: {error}"))
            }
            other => StoreError::Database(Box::new(other)),
        }
    }
}

/// SQLSTATEs of a server that is shutting down, starting or restarting (class 57P).
fn is_shutdown(code: Option<&str>) -> bool {
    code.is_some_and(|code| code.starts_with("57P"))
}

impl Store for PostgresStore {
    fn create_session(&self, session: NewSession) -> StoreFuture<'_, ()> {
        Box::pin(sessions::create(&self.pool, session))
    }

    fn load_session<'a>(&'a self, id: &'a SessionId, now: DateTime<Utc>) -> StoreFuture<'a, StoredSession> {
        Box::pin(sessions::load(&self.pool, id, now))
    }

    fn commit_turn(&self, turn: TurnRecord) -> StoreFuture<'_, TurnCommitted> {
        Box::pin(sessions::commit_turn(&self.pool, turn))
    }

    fn find_reply<'a>(&'a self, id: &'a SessionId, client_message_id: &'a str) -> StoreFuture<'a, Option<Json>> {
        Box::pin(sessions::find_reply(&self.pool, id, client_message_id))
    }

    fn end_session<'a>(&'a self, id: &'a SessionId, now: DateTime<Utc>) -> StoreFuture<'a, ()> {
        Box::pin(sessions::end(&self.pool, id, now))
    }

    fn expire_idle(&self, now: DateTime<Utc>) -> StoreFuture<'_, Vec<SessionId>> {
        Box::pin(sessions::expire_idle(&self.pool, now))
    }

    fn transcript<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, Vec<TranscriptEntry>> {
        Box::pin(sessions::transcript_after(&self.pool, id, None))
    }

    fn create_api_key<'a>(&'a self, name: &'a str, hash: &'a str, now: DateTime<Utc>) -> StoreFuture<'a, ApiKey> {
        Box::pin(keys::create(&self.pool, name, hash, now))
    }

    fn find_api_key_by_hash<'a>(&'a self, hash: &'a str) -> StoreFuture<'a, Option<ApiKey>> {
        Box::pin(keys::find_by_hash(&self.pool, hash))
    }

    fn list_api_keys(&self) -> StoreFuture<'_, Vec<ApiKey>> {
        Box::pin(keys::list(&self.pool))
    }

    fn revoke_api_key(&self, id: ApiKeyId, now: DateTime<Utc>) -> StoreFuture<'_, ()> {
        Box::pin(keys::revoke(&self.pool, id, now))
    }

    fn update_transfer(&self, update: TransferUpdate) -> StoreFuture<'_, u64> {
        Box::pin(desk::update_transfer(&self.pool, update))
    }

    fn load_transfer<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<StoredTransfer>> {
        Box::pin(async move {
            Ok(desk::select_transfers(&self.pool, "transfers.id = $1", Some(id))
                .await?
                .pop())
        })
    }

    fn open_transfer_of<'a>(&'a self, session: &'a SessionId) -> StoreFuture<'a, Option<StoredTransfer>> {
        Box::pin(async move {
            let found = desk::select_transfers(&self.pool, "session_id = $1 AND open", Some(session.as_str())).await?;
            Ok(found.into_iter().next_back())
        })
    }

    fn open_transfers(&self) -> StoreFuture<'_, Vec<StoredTransfer>> {
        Box::pin(desk::select_transfers(&self.pool, "open", None))
    }

    fn find_transfer_by_chat<'a>(&'a self, chat_id: &'a str) -> StoreFuture<'a, Option<StoredTransfer>> {
        Box::pin(async move {
            Ok(desk::select_transfers(&self.pool, "chat_id = $1", Some(chat_id))
                .await?
                .pop())
        })
    }

    fn transcript_after<'a>(&'a self, id: &'a SessionId, after_seq: u64) -> StoreFuture<'a, Vec<TranscriptEntry>> {
        Box::pin(sessions::transcript_after(&self.pool, id, Some(after_seq)))
    }

    fn transcript_since_last<'a>(
        &'a self,
        id: &'a SessionId,
        kind: EntryKind,
    ) -> StoreFuture<'a, Vec<TranscriptEntry>> {
        Box::pin(sessions::transcript_since_last(&self.pool, id, kind))
    }

    fn transcript_tail<'a>(&'a self, id: &'a SessionId, n: usize) -> StoreFuture<'a, Vec<TranscriptEntry>> {
        Box::pin(sessions::transcript_tail(&self.pool, id, n))
    }

    fn upsert_agent(&self, agent: AgentRecord) -> StoreFuture<'_, ()> {
        Box::pin(async move { desk::upsert_agent(&self.pool, &agent).await })
    }

    fn find_agent<'a>(&'a self, username: &'a str) -> StoreFuture<'a, Option<AgentRecord>> {
        Box::pin(async move { Ok(desk::select_agents(&self.pool, Some(username)).await?.pop()) })
    }

    fn list_agents(&self) -> StoreFuture<'_, Vec<AgentRecord>> {
        Box::pin(desk::select_agents(&self.pool, None))
    }

    fn remove_agent<'a>(&'a self, username: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(desk::remove_agent(&self.pool, username))
    }

    fn create_agent_token(&self, token: AgentToken) -> StoreFuture<'_, ()> {
        Box::pin(async move { desk::create_token(&self.pool, &token).await })
    }

    fn find_agent_token<'a>(&'a self, hash: &'a str, now: DateTime<Utc>) -> StoreFuture<'a, Option<AgentToken>> {
        Box::pin(desk::find_token(&self.pool, hash, now))
    }

    fn revoke_agent_token<'a>(&'a self, hash: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(desk::revoke_token(&self.pool, hash))
    }

    fn create_ticket(&self, ticket: Ticket) -> StoreFuture<'_, ()> {
        Box::pin(async move { desk::create_ticket(&self.pool, &ticket).await })
    }

    fn list_tickets(&self) -> StoreFuture<'_, Vec<Ticket>> {
        Box::pin(desk::list_tickets(&self.pool))
    }

    fn shared(&self) -> bool {
        true
    }

    fn broadcast<'a>(&'a self, message: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(bus::broadcast(&self.pool, &self.channel, message))
    }

    fn listen(&self) -> StoreFuture<'_, Option<tokio::sync::mpsc::Receiver<String>>> {
        Box::pin(async move { bus::listen(&self.pool, &self.channel).await.map(Some) })
    }

    fn lead<'a>(&'a self, replica: &'a str, wait: bool) -> StoreFuture<'a, Option<crate::Leadership>> {
        Box::pin(lead::lead(&self.pool, replica, wait))
    }
}
