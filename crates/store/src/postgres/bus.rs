//! Messages between the servers sharing one database, over PostgreSQL's `LISTEN`/`NOTIFY`.
//!
//! Chosen over NATS because every deployment with replicas already has PostgreSQL: nothing more to
//! run, secure, monitor and fail over, and a notification rides the same connection pool. What
//! is broadcast is transient (who is typing, that an agent's message arrived): whatever must
//! survive is stored before it is broadcast, and a server that missed a message (its listening
//! connection broke) finds the state in the database.
//!
//! The channel is named after the schema, so several deployments (or test runs) on one database
//! do not hear each other. A `NOTIFY` payload holds at most 8000 bytes: a longer message is
//! written to `bus_spill` and its row id is notified instead; rows older than a minute are
//! removed as new ones are written.

use tokio::sync::mpsc;

use sqlx::PgPool;
use sqlx::postgres::PgListener;

use crate::StoreError;

/// Longest payload notified directly (PostgreSQL's limit is 8000 bytes, less its own framing).
const MAX_NOTIFY: usize = 7_900;

/// Messages received but not yet taken by the server before newer ones are dropped.
const BACKLOG: usize = 4_096;

/// The spilled-message marker: a payload that starts with it is a row id of `bus_spill`.
const SPILLED: char = '@';

/// The channel for the pool's schema: `baton.SCHEMA`, cut to PostgreSQL's 63-byte identifiers.
pub(super) async fn channel(pool: &PgPool) -> Result<String, StoreError> {
    let schema: Option<String> = sqlx::query_scalar("SELECT current_schema()").fetch_one(pool).await?;
    let mut name = format!("baton.{}", schema.unwrap_or_default());
    while name.len() > 63 {
        name.pop();
    }
    Ok(name)
}

pub(super) async fn broadcast(pool: &PgPool, channel: &str, message: &str) -> Result<(), StoreError> {
    // Every message is a JSON document, so none starts with the marker by accident.
    let payload = match message.len() <= MAX_NOTIFY && !message.starts_with(SPILLED) {
        true => message.to_owned(),
        false => {
            let id: i64 = sqlx::query_scalar(
                "WITH old AS (DELETE FROM bus_spill WHERE at < now() - interval '1 minute')
                 INSERT INTO bus_spill (payload) VALUES ($1) RETURNING id",
            )
            .bind(message)
            .fetch_one(pool)
            .await?;
            format!("{SPILLED}{id}")
        }
    };
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
        .execute(pool)
        .await?;
    Ok(())
}

/// Starts listening on `channel`; the messages arrive on the receiver until it is dropped.
pub(super) async fn listen(pool: &PgPool, channel: &str) -> Result<mpsc::Receiver<String>, StoreError> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(channel).await?;
    let (sender, receiver) = mpsc::channel(BACKLOG);
    let pool = pool.clone();
    tokio::spawn(async move {
        loop {
            let notification = tokio::select! {
                () = sender.closed() => return,
                received = listener.recv() => received,
            };
            let payload = match notification {
                Ok(notification) => notification.payload().to_owned(),
                Err(error) => {
                    // The database is down: `recv` reconnects once it is back.
                    tracing::warn!(%error, "listening for other servers' messages failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            };
            let message = match payload.strip_prefix(SPILLED).and_then(|id| id.parse::<i64>().ok()) {
                None => payload,
                Some(id) => {
                    let spilled: Result<Option<String>, _> =
                        sqlx::query_scalar("SELECT payload FROM bus_spill WHERE id = $1")
                            .bind(id)
                            .fetch_optional(&pool)
                            .await;
                    match spilled {
                        Ok(Some(message)) => message,
                        Ok(None) | Err(_) => {
                            tracing::warn!(id, "a long message between servers could not be read back");
                            continue;
                        }
                    }
                }
            };
            match sender.try_send(message) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!("messages from other servers arrive faster than they are handled; one dropped");
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return,
            }
        }
    });
    Ok(receiver)
}
