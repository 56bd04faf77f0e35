//! How values are kept in columns, by both backends: times as microseconds since the epoch,
//! durations as microseconds, opaque JSON as text, unsigned counters as signed integers.
//!
//! Every table's module converts through these, so a row written by one is read the same way by
//! another (and a database moved between backends keeps its meaning), and a value the database
//! cannot hold is a [`StoreError`] rather than a panic.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{Json, SessionId, StoreError, StoredTransfer, Ticket};

/// A database that holds something this build cannot have written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Corrupt(String);

/// The [`StoreError`] for a database holding something this build cannot have written.
pub(crate) fn corrupt(what: String) -> StoreError {
    StoreError::Database(Box::new(Corrupt(what)))
}

pub(crate) fn time_from_sql(micros: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(micros).ok_or_else(|| corrupt(format!("timestamp {micros} µs is out of range")))
}

pub(crate) fn json_from_sql(text: String) -> Result<Json, StoreError> {
    serde_json::value::RawValue::from_string(text).map_err(|error| StoreError::Database(Box::new(error)))
}

pub(crate) fn duration_to_sql(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

pub(crate) fn u64_to_sql(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(crate) fn u64_from_sql(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A transfer's columns as both backends select them: id, session, queue, state, open, agent,
/// chat, value, request, opened and updated times.
pub(crate) type TransferRow = (
    String,
    String,
    Option<String>,
    String,
    bool,
    Option<String>,
    Option<String>,
    String,
    String,
    i64,
    i64,
);

pub(crate) fn transfer_from_sql(row: TransferRow) -> Result<StoredTransfer, StoreError> {
    let (id, session_id, queue, state, open, agent_id, chat_id, value, request, opened_at, updated_at) = row;
    Ok(StoredTransfer {
        id,
        session_id: SessionId::new(session_id),
        queue,
        state,
        open,
        agent_id,
        chat_id,
        value: json_from_sql(value)?,
        request: json_from_sql(request)?,
        opened_at: time_from_sql(opened_at)?,
        updated_at: time_from_sql(updated_at)?,
    })
}

/// A ticket's columns as both backends select them: id, session, transfer, queue, text, creation time.
pub(crate) type TicketRow = (String, String, Option<String>, Option<String>, String, i64);

pub(crate) fn ticket_from_sql(row: TicketRow) -> Result<Ticket, StoreError> {
    let (id, session_id, transfer_id, queue, text, created_at) = row;
    Ok(Ticket {
        id,
        session_id: SessionId::new(session_id),
        transfer_id,
        queue,
        text,
        created_at: time_from_sql(created_at)?,
    })
}
