//! Sessions and their turns, the transcript and stored replies.
//!
//! A turn is one transaction that starts by locking the session's row, so the turns of one
//! session commit one after another whichever replica computed them, and every refusal (unknown,
//! ended or idle session, a stale version, a message id already answered, a transfer refused) is
//! decided before the transaction commits: a refused turn leaves nothing behind.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::desk;
use crate::columns::{duration_to_sql, json_from_sql, time_from_sql, u64_from_sql, u64_to_sql};
use crate::{
    EntryKind, Json, NewEntry, NewSession, SessionId, StoreError, StoredSession, TranscriptEntry, TransferWrite,
    TurnCommitted, TurnRecord,
};

pub(super) async fn create(pool: &PgPool, session: NewSession) -> Result<(), StoreError> {
    let created_at = session.created_at.timestamp_micros();
    let inserted = sqlx::query(
        "INSERT INTO sessions
         (id, assistant_id, state, version, next_seq, created_at, last_active, idle_timeout_us)
         VALUES ($1, $2, $3, 0, 0, $4, $4, $5)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(session.id.as_str())
    .bind(&session.assistant_id)
    .bind(session.state.get())
    .bind(created_at)
    .bind(duration_to_sql(session.idle_timeout))
    .execute(pool)
    .await?;
    match inserted.rows_affected() {
        1 => Ok(()),
        _ => Err(StoreError::Conflict(session.id)),
    }
}

/// The columns of a session's row that a turn checks.
type SessionRow = (String, i64, i64, i64, i64, i64, bool);

fn stored(id: &SessionId, row: SessionRow, state: Json) -> Result<(StoredSession, i64, bool), StoreError> {
    let (assistant_id, version, next_seq, created_at, last_active, idle_timeout, ended) = row;
    let session = StoredSession {
        id: id.clone(),
        assistant_id,
        state,
        version: u64_from_sql(version),
        created_at: time_from_sql(created_at)?,
        last_active: time_from_sql(last_active)?,
        idle_timeout: Duration::from_micros(u64_from_sql(idle_timeout)),
    };
    Ok((session, next_seq, ended))
}

/// A session's row as a turn checks it, and its state.
type LoadedRow = (String, i64, i64, i64, i64, i64, bool, String);

pub(super) async fn load(pool: &PgPool, id: &SessionId, now: DateTime<Utc>) -> Result<StoredSession, StoreError> {
    let row: Option<LoadedRow> = sqlx::query_as(
        "SELECT assistant_id, version, next_seq, created_at, last_active, idle_timeout_us, ended_at IS NOT NULL, state
         FROM sessions WHERE id = $1",
    )
    .bind(id.as_str())
    .fetch_optional(pool)
    .await?;
    let Some((assistant_id, version, next_seq, created_at, last_active, idle_timeout, ended, state)) = row else {
        return Err(StoreError::NotFound(id.clone()));
    };
    let row = (
        assistant_id,
        version,
        next_seq,
        created_at,
        last_active,
        idle_timeout,
        ended,
    );
    let (session, _, ended) = stored(id, row, json_from_sql(state)?)?;
    if ended || session.is_idle(now) {
        return Err(StoreError::Expired(id.clone()));
    }
    Ok(session)
}

pub(super) async fn commit_turn(pool: &PgPool, turn: TurnRecord) -> Result<TurnCommitted, StoreError> {
    if turn.transfer.is_none() {
        return commit_plain_turn(pool, turn).await;
    }
    let mut tx = pool.begin().await?;
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT assistant_id, version, next_seq, created_at, last_active, idle_timeout_us, ended_at IS NOT NULL
         FROM sessions WHERE id = $1 FOR UPDATE",
    )
    .bind(turn.session_id.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(StoreError::NotFound(turn.session_id));
    };
    let (session, next_seq, ended) = stored(&turn.session_id, row, turn.state)?;
    if ended || session.is_idle(turn.at) {
        return Err(StoreError::Expired(session.id));
    }
    if session.version != turn.expected_version {
        return Err(StoreError::Conflict(session.id));
    }
    if let Some(reply) = &turn.reply {
        let inserted = sqlx::query(
            "INSERT INTO replies (session_id, client_message_id, response) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(session.id.as_str())
        .bind(&reply.client_message_id)
        .bind(reply.response.get())
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Conflict(session.id));
        }
    }
    let mut after = append(&mut tx, &session.id, next_seq, &turn.entries).await?;
    let at = turn.at.timestamp_micros();
    let version = u64_to_sql(session.version) + 1;
    match turn.transfer {
        None => {}
        Some(TransferWrite::Open(mut transfer)) => {
            transfer.session_id = session.id.clone();
            desk::open_transfer(&mut tx, transfer).await?;
        }
        Some(TransferWrite::Update(update)) => {
            let owner = desk::transfer_session(&mut tx, &update.id).await?;
            if owner.as_deref() != Some(session.id.as_str()) {
                return Err(StoreError::UnknownTransfer(update.id));
            }
            desk::change_transfer(&mut tx, &session.id, &update).await?;
            after = append(&mut tx, &session.id, after, &update.entries).await?;
        }
    }
    sqlx::query(
        "UPDATE sessions SET state = $2, version = $3, next_seq = $4, last_active = GREATEST(last_active, $5)
         WHERE id = $1",
    )
    .bind(session.id.as_str())
    .bind(session.state.get())
    .bind(version)
    .bind(after)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(TurnCommitted {
        version: u64_from_sql(version),
        first_seq: u64_from_sql(next_seq),
    })
}

/// A turn without a transfer: the same checks and writes as [`commit_turn`], in one call of the
/// schema's `baton_commit_turn` (one round trip instead of six).
async fn commit_plain_turn(pool: &PgPool, turn: TurnRecord) -> Result<TurnCommitted, StoreError> {
    let ats: Vec<i64> = turn.entries.iter().map(|entry| entry.at.timestamp_micros()).collect();
    let kinds: Vec<&str> = turn.entries.iter().map(|entry| entry.kind.as_str()).collect();
    let payloads: Vec<&str> = turn.entries.iter().map(|entry| entry.payload.get()).collect();
    let (outcome, version, first_seq): (String, i64, i64) =
        sqlx::query_as("SELECT outcome, version, first_seq FROM baton_commit_turn($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(turn.session_id.as_str())
            .bind(u64_to_sql(turn.expected_version))
            .bind(turn.state.get())
            .bind(turn.at.timestamp_micros())
            .bind(turn.reply.as_ref().map(|reply| reply.client_message_id.as_str()))
            .bind(turn.reply.as_ref().map(|reply| reply.response.get()))
            .bind(ats)
            .bind(kinds)
            .bind(payloads)
            .fetch_one(pool)
            .await?;
    match outcome.as_str() {
        "ok" => Ok(TurnCommitted {
            version: u64_from_sql(version),
            first_seq: u64_from_sql(first_seq),
        }),
        "not_found" => Err(StoreError::NotFound(turn.session_id)),
        "expired" => Err(StoreError::Expired(turn.session_id)),
        "conflict" => Err(StoreError::Conflict(turn.session_id)),
        other => Err(crate::columns::corrupt(format!("baton_commit_turn answered {other:?}"))),
    }
}

/// Inserts `entries` at `first_seq` onwards in one statement; returns the next free seq.
/// The caller holds the session's row lock and writes the returned seq back to it.
pub(super) async fn append(
    conn: &mut PgConnection,
    id: &SessionId,
    first_seq: i64,
    entries: &[NewEntry],
) -> Result<i64, StoreError> {
    if entries.is_empty() {
        return Ok(first_seq);
    }
    let ats: Vec<i64> = entries.iter().map(|entry| entry.at.timestamp_micros()).collect();
    let kinds: Vec<&str> = entries.iter().map(|entry| entry.kind.as_str()).collect();
    let payloads: Vec<&str> = entries.iter().map(|entry| entry.payload.get()).collect();
    sqlx::query(
        "INSERT INTO transcript (session_id, seq, at, kind, payload)
         SELECT $1, $2 + entry.ord - 1, entry.at, entry.kind, entry.payload
         FROM UNNEST($3::BIGINT[], $4::TEXT[], $5::TEXT[]) WITH ORDINALITY AS entry (at, kind, payload, ord)",
    )
    .bind(id.as_str())
    .bind(first_seq)
    .bind(ats)
    .bind(kinds)
    .bind(payloads)
    .execute(&mut *conn)
    .await?;
    Ok(first_seq + i64::try_from(entries.len()).unwrap_or(i64::MAX))
}

pub(super) async fn find_reply(
    pool: &PgPool,
    id: &SessionId,
    client_message_id: &str,
) -> Result<Option<Json>, StoreError> {
    let response: Option<String> =
        sqlx::query_scalar("SELECT response FROM replies WHERE session_id = $1 AND client_message_id = $2")
            .bind(id.as_str())
            .bind(client_message_id)
            .fetch_optional(pool)
            .await?;
    response.map(json_from_sql).transpose()
}

pub(super) async fn end(pool: &PgPool, id: &SessionId, now: DateTime<Utc>) -> Result<(), StoreError> {
    let ended =
        sqlx::query("UPDATE sessions SET ended_at = $2, version = version + 1 WHERE id = $1 AND ended_at IS NULL")
            .bind(id.as_str())
            .bind(now.timestamp_micros())
            .execute(pool)
            .await?;
    if ended.rows_affected() == 0 && !exists(pool, id).await? {
        return Err(StoreError::NotFound(id.clone()));
    }
    Ok(())
}

pub(super) async fn expire_idle(pool: &PgPool, now: DateTime<Utc>) -> Result<Vec<SessionId>, StoreError> {
    let ids: Vec<String> = sqlx::query_scalar(
        "UPDATE sessions SET ended_at = $1, version = version + 1
         WHERE ended_at IS NULL AND last_active + idle_timeout_us < $1
         RETURNING id",
    )
    .bind(now.timestamp_micros())
    .fetch_all(pool)
    .await?;
    Ok(ids.into_iter().map(SessionId::new).collect())
}

async fn exists(pool: &PgPool, id: &SessionId) -> Result<bool, StoreError> {
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM sessions WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(pool)
        .await?;
    Ok(found.is_some())
}

type EntryRow = (i64, i64, String, String);

/// Entries in order; [`StoreError::NotFound`] when there are none because the session never existed.
async fn entries(pool: &PgPool, id: &SessionId, rows: Vec<EntryRow>) -> Result<Vec<TranscriptEntry>, StoreError> {
    if rows.is_empty() && !exists(pool, id).await? {
        return Err(StoreError::NotFound(id.clone()));
    }
    rows.into_iter()
        .map(|(seq, at, kind, payload)| {
            let Some(kind) = EntryKind::parse(&kind) else {
                return Err(crate::columns::corrupt(format!(
                    "unknown transcript entry kind {kind:?}"
                )));
            };
            Ok(TranscriptEntry {
                session_id: id.clone(),
                seq: u64_from_sql(seq),
                at: time_from_sql(at)?,
                kind,
                payload: json_from_sql(payload)?,
            })
        })
        .collect()
}

pub(super) async fn transcript_after(
    pool: &PgPool,
    id: &SessionId,
    after_seq: Option<u64>,
) -> Result<Vec<TranscriptEntry>, StoreError> {
    let rows: Vec<EntryRow> =
        sqlx::query_as("SELECT seq, at, kind, payload FROM transcript WHERE session_id = $1 AND seq > $2 ORDER BY seq")
            .bind(id.as_str())
            .bind(after_seq.map_or(-1, u64_to_sql))
            .fetch_all(pool)
            .await?;
    entries(pool, id, rows).await
}

pub(super) async fn transcript_since_last(
    pool: &PgPool,
    id: &SessionId,
    kind: EntryKind,
) -> Result<Vec<TranscriptEntry>, StoreError> {
    let rows: Vec<EntryRow> = sqlx::query_as(
        "SELECT seq, at, kind, payload FROM transcript
         WHERE session_id = $1 AND seq > COALESCE(
             (SELECT max(seq) FROM transcript WHERE session_id = $1 AND kind = $2), -1)
         ORDER BY seq",
    )
    .bind(id.as_str())
    .bind(kind.as_str())
    .fetch_all(pool)
    .await?;
    entries(pool, id, rows).await
}

pub(super) async fn transcript_tail(
    pool: &PgPool,
    id: &SessionId,
    n: usize,
) -> Result<Vec<TranscriptEntry>, StoreError> {
    if n == 0 {
        // No rows asked for: still tell an unknown session apart.
        return entries(pool, id, Vec::new()).await;
    }
    let mut rows: Vec<EntryRow> = sqlx::query_as(
        "SELECT seq, at, kind, payload FROM transcript WHERE session_id = $1 ORDER BY seq DESC LIMIT $2",
    )
    .bind(id.as_str())
    .bind(i64::try_from(n).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?;
    rows.reverse();
    entries(pool, id, rows).await
}
