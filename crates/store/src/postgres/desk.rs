//! Transfers, agents, agent tokens and tickets.
//!
//! A transfer's change takes its session's row lock, like a turn, before it checks anything: the
//! transcript entries it appends and the "one open transfer per session" rule are then decided
//! with no other writer of that session in between, on any replica.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::sessions::append;
use crate::columns::{TicketRow, TransferRow, ticket_from_sql, time_from_sql, transfer_from_sql, u64_from_sql};
use crate::{AgentRecord, AgentToken, NewTransfer, SessionId, StoreError, StoredTransfer, Ticket, TransferUpdate};

/// Opens a transfer; the caller holds its session's row lock.
pub(super) async fn open_transfer(conn: &mut PgConnection, transfer: NewTransfer) -> Result<(), StoreError> {
    let at = transfer.at.timestamp_micros();
    let inserted = sqlx::query(
        "INSERT INTO transfers (id, session_id, queue, state, open, value, request, opened_at, updated_at)
         VALUES ($1, $2, $3, $4, TRUE, $5, $6, $7, $7)
         ON CONFLICT DO NOTHING",
    )
    .bind(&transfer.id)
    .bind(transfer.session_id.as_str())
    .bind(&transfer.queue)
    .bind(&transfer.state)
    .bind(transfer.value.get())
    .bind(transfer.request.get())
    .bind(at)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(());
    }
    match has_open(conn, &transfer.session_id, None).await? {
        true => Err(StoreError::TransferAlreadyOpen {
            session: transfer.session_id,
        }),
        false => Err(StoreError::Conflict(transfer.session_id)),
    }
}

/// Whether the session has an open transfer other than `except`.
async fn has_open(conn: &mut PgConnection, session: &SessionId, except: Option<&str>) -> Result<bool, StoreError> {
    let found: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM transfers WHERE session_id = $1 AND open AND ($2::TEXT IS NULL OR id <> $2)")
            .bind(session.as_str())
            .bind(except)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(found.is_some())
}

/// The session a transfer belongs to.
pub(super) async fn transfer_session(conn: &mut PgConnection, id: &str) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar("SELECT session_id FROM transfers WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Writes a transfer's new state; the caller holds its session's row lock and appends the entries.
pub(super) async fn change_transfer(
    conn: &mut PgConnection,
    session: &SessionId,
    update: &TransferUpdate,
) -> Result<(), StoreError> {
    if update.open && has_open(conn, session, Some(&update.id)).await? {
        return Err(StoreError::TransferAlreadyOpen {
            session: session.clone(),
        });
    }
    sqlx::query(
        "UPDATE transfers SET state = $2, open = $3, agent_id = $4, chat_id = $5, value = $6, updated_at = $7
         WHERE id = $1",
    )
    .bind(&update.id)
    .bind(&update.state)
    .bind(update.open)
    .bind(&update.agent_id)
    .bind(&update.chat_id)
    .bind(update.value.get())
    .bind(update.at.timestamp_micros())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn update_transfer(pool: &PgPool, update: TransferUpdate) -> Result<u64, StoreError> {
    let mut tx = pool.begin().await?;
    let Some(session) = transfer_session(&mut tx, &update.id).await? else {
        return Err(StoreError::UnknownTransfer(update.id));
    };
    let next_seq: i64 = sqlx::query_scalar("SELECT next_seq FROM sessions WHERE id = $1 FOR UPDATE")
        .bind(&session)
        .fetch_one(&mut *tx)
        .await?;
    let session = SessionId::new(session);
    change_transfer(&mut tx, &session, &update).await?;
    let after = append(&mut tx, &session, next_seq, &update.entries).await?;
    if after != next_seq {
        sqlx::query("UPDATE sessions SET next_seq = $2 WHERE id = $1")
            .bind(session.as_str())
            .bind(after)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(u64_from_sql(next_seq))
}

/// Transfers matching `filter` (which may use `$1`, bound to `arg`), oldest first.
pub(super) async fn select_transfers(
    pool: &PgPool,
    filter: &str,
    arg: Option<&str>,
) -> Result<Vec<StoredTransfer>, StoreError> {
    let sql = format!(
        "SELECT id, session_id, queue, state, open, agent_id, chat_id, value, request, opened_at, updated_at
         FROM transfers WHERE {filter} ORDER BY key"
    );
    let mut query = sqlx::query_as::<_, TransferRow>(&sql);
    if let Some(arg) = arg {
        query = query.bind(arg);
    }
    let rows = query.fetch_all(pool).await?;
    rows.into_iter().map(transfer_from_sql).collect()
}

pub(super) async fn upsert_agent(pool: &PgPool, agent: &AgentRecord) -> Result<(), StoreError> {
    let queues = serde_json::to_string(&agent.queues).map_err(|error| StoreError::Database(Box::new(error)))?;
    let mut tx = pool.begin().await?;
    sqlx::query(
        "DELETE FROM agent_tokens WHERE username = $1
           AND EXISTS (SELECT 1 FROM agents WHERE username = $1 AND password_hash <> $2)",
    )
    .bind(&agent.username)
    .bind(&agent.password_hash)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO agents (username, display_name, password_hash, queues, capacity, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (username) DO UPDATE SET display_name = excluded.display_name,
             password_hash = excluded.password_hash, queues = excluded.queues, capacity = excluded.capacity",
    )
    .bind(&agent.username)
    .bind(&agent.display_name)
    .bind(&agent.password_hash)
    .bind(queues)
    .bind(i64::from(agent.capacity))
    .bind(agent.created_at.timestamp_micros())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn select_agents(pool: &PgPool, username: Option<&str>) -> Result<Vec<AgentRecord>, StoreError> {
    let rows: Vec<(String, String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT username, display_name, password_hash, queues, capacity, created_at FROM agents
         WHERE $1::TEXT IS NULL OR username = $1 ORDER BY username",
    )
    .bind(username)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(
            |(username, display_name, password_hash, queues, capacity, created_at)| {
                Ok(AgentRecord {
                    username,
                    display_name,
                    password_hash,
                    queues: serde_json::from_str(&queues).map_err(|error| StoreError::Database(Box::new(error)))?,
                    capacity: u32::try_from(capacity).unwrap_or(u32::MAX),
                    created_at: time_from_sql(created_at)?,
                })
            },
        )
        .collect()
}

pub(super) async fn remove_agent(pool: &PgPool, username: &str) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM agent_tokens WHERE username = $1")
        .bind(username)
        .execute(&mut *tx)
        .await?;
    let removed = sqlx::query("DELETE FROM agents WHERE username = $1")
        .bind(username)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(removed.rows_affected() == 1)
}

pub(super) async fn create_token(pool: &PgPool, token: &AgentToken) -> Result<(), StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO agent_tokens (hash, username, created_at, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (hash) DO NOTHING",
    )
    .bind(&token.hash)
    .bind(&token.username)
    .bind(token.created_at.timestamp_micros())
    .bind(token.expires_at.timestamp_micros())
    .execute(pool)
    .await?;
    match inserted.rows_affected() {
        1 => Ok(()),
        _ => Err(StoreError::DuplicateAgentToken),
    }
}

pub(super) async fn find_token(
    pool: &PgPool,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<AgentToken>, StoreError> {
    let row: Option<(String, i64, i64)> = sqlx::query_as(
        "SELECT agent_tokens.username, agent_tokens.created_at, agent_tokens.expires_at
         FROM agent_tokens JOIN agents ON agents.username = agent_tokens.username
         WHERE agent_tokens.hash = $1 AND NOT agent_tokens.revoked AND agent_tokens.expires_at > $2",
    )
    .bind(hash)
    .bind(now.timestamp_micros())
    .fetch_optional(pool)
    .await?;
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

pub(super) async fn revoke_token(pool: &PgPool, hash: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE agent_tokens SET revoked = TRUE WHERE hash = $1")
        .bind(hash)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn create_ticket(pool: &PgPool, ticket: &Ticket) -> Result<(), StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO tickets (id, session_id, transfer_id, queue, text, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&ticket.id)
    .bind(ticket.session_id.as_str())
    .bind(&ticket.transfer_id)
    .bind(&ticket.queue)
    .bind(&ticket.text)
    .bind(ticket.created_at.timestamp_micros())
    .execute(pool)
    .await?;
    match inserted.rows_affected() {
        1 => Ok(()),
        _ => Err(StoreError::Conflict(ticket.session_id.clone())),
    }
}

pub(super) async fn list_tickets(pool: &PgPool) -> Result<Vec<Ticket>, StoreError> {
    let rows: Vec<TicketRow> = sqlx::query_as(
        "SELECT id, session_id, transfer_id, queue, text, created_at FROM tickets ORDER BY created_at, key",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(ticket_from_sql).collect()
}
