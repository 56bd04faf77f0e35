//! Transfers: a session's conversation handed to a human agent, kept as opaque JSON (the desk
//! crate's state machine and chat request) beside the few columns the store queries by.
//!
//! A partial unique index keeps at most one open transfer per session; a transfer is opened with
//! the turn that asks for it, and its changes append to the session's transcript in the same
//! transaction without changing the session's version.

use rusqlite::{Connection, OptionalExtension, params};

use super::sessions::SessionRows;
use super::transcript;
use crate::columns::transfer_from_sql;
use crate::{NewTransfer, SessionId, StoreError, StoredTransfer, TransferUpdate};

/// Inserts a new, open transfer of the session with this key.
pub(super) fn open(conn: &Connection, session_key: i64, transfer: NewTransfer) -> Result<(), StoreError> {
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
pub(super) fn update(
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
    transcript::append(conn, rows, key, &update.entries)
}

/// The transfers matching `filter` (a `WHERE` clause over `transfers` and `sessions`), oldest first.
fn select(conn: &Connection, filter: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<StoredTransfer>, StoreError> {
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
        transfers.push(transfer_from_sql(row?)?);
    }
    Ok(transfers)
}

/// The transfer with this id, open or not.
pub(super) fn load(conn: &Connection, id: &str) -> Result<Option<StoredTransfer>, StoreError> {
    let mut transfers = select(conn, "WHERE transfers.id = ?1", params![id])?;
    Ok(transfers.pop())
}

/// The session's open transfer, if it has one.
pub(super) fn open_of(conn: &Connection, session: &SessionId) -> Result<Option<StoredTransfer>, StoreError> {
    let mut transfers = select(
        conn,
        "WHERE sessions.id = ?1 AND transfers.open",
        params![session.as_str()],
    )?;
    Ok(transfers.pop())
}

/// Every open transfer, oldest first.
pub(super) fn all_open(conn: &Connection) -> Result<Vec<StoredTransfer>, StoreError> {
    select(conn, "WHERE transfers.open", params![])
}

/// The newest transfer with this desk chat id, open or not.
pub(super) fn find_by_chat(conn: &Connection, chat_id: &str) -> Result<Option<StoredTransfer>, StoreError> {
    let mut transfers = select(conn, "WHERE transfers.chat_id = ?1", params![chat_id])?;
    Ok(transfers.pop())
}
