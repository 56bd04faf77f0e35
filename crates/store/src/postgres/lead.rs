//! Which server holds the desk: a session-level advisory lock, per schema, held on a connection
//! of its own (outside the pool, with its settings) for as long as the lock is held.
//!
//! PostgreSQL lets go of the lock when that connection ends, so a holder that dies (`kill -9`,
//! a machine gone) hands it on as soon as the database sees its connection close, and a server
//! waiting in `pg_advisory_lock` gets it at that moment. The holder checks its connection every
//! second; when a check fails it reports the lock lost and closes the connection.
//! `desk_holder` records who holds it, so a holder that lost it (the database restarted) and
//! takes it again can tell whether another server held it in between.

use std::time::Duration;

use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use tokio::sync::{oneshot, watch};

use crate::{Leadership, StoreError};

/// The lock's key: the schema's, so deployments sharing a database (or tests) do not compete.
const KEY: &str = "hashtextextended('baton.desk.' || current_schema(), 0)";

/// How often the holder checks that its connection, and with it the lock, is still there.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// A check that takes longer than this counts as a broken connection.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

pub(super) async fn lead(pool: &PgPool, replica: &str, wait: bool) -> Result<Option<Leadership>, StoreError> {
    // A connection of its own, with the pool's settings; not logged, since waiting in
    // `pg_advisory_lock` for as long as another server holds the desk is not a slow statement.
    let options = (*pool.connect_options()).clone().disable_statement_logging();
    let mut connection = PgConnection::connect_with(&options).await?;
    if wait {
        sqlx::query(&format!("SELECT pg_advisory_lock({KEY})"))
            .execute(&mut connection)
            .await?;
    } else {
        let taken: bool = sqlx::query_scalar(&format!("SELECT pg_try_advisory_lock({KEY})"))
            .fetch_one(&mut connection)
            .await?;
        if !taken {
            return Ok(None);
        }
    }
    let previous: Option<String> = sqlx::query_scalar("SELECT replica FROM desk_holder WHERE id = 1")
        .fetch_optional(&mut connection)
        .await?;
    sqlx::query(
        "INSERT INTO desk_holder (id, replica, since) VALUES (1, $1, now())
         ON CONFLICT (id) DO UPDATE SET replica = excluded.replica, since = excluded.since",
    )
    .bind(replica)
    .execute(&mut connection)
    .await?;
    let (lost, lost_receiver) = watch::channel(false);
    let (release, released) = oneshot::channel();
    tokio::spawn(hold(connection, lost, released));
    Ok(Some(Leadership::held(previous, lost_receiver, release)))
}

/// Keeps the connection, and so the lock, until the holder lets go or the connection breaks.
async fn hold(mut connection: PgConnection, lost: watch::Sender<bool>, mut released: oneshot::Receiver<()>) {
    let mut checks = tokio::time::interval(CHECK_EVERY);
    checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            // Dropped (or sent): the holder lets go.
            _ = &mut released => break,
            _ = checks.tick() => {
                let check = tokio::time::timeout(CHECK_TIMEOUT, sqlx::query("SELECT 1").execute(&mut connection)).await;
                if !matches!(check, Ok(Ok(_))) {
                    tracing::warn!("the connection holding the desk's lock broke");
                    let _ = lost.send(true);
                    // Dropped, not closed: the database may not answer a goodbye.
                    return;
                }
            }
        }
    }
    let _ = lost.send(true);
    // Ending the session is what lets go of the lock.
    let _ = tokio::time::timeout(CHECK_TIMEOUT, connection.close()).await;
}
