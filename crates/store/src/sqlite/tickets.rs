//! Tickets: messages customers left while no agent was available (a queue's offline policy
//! `leave_message`), kept for the agents to read later.

use rusqlite::{Connection, params};

use crate::columns::ticket_from_sql;
use crate::{StoreError, Ticket};

/// Stores a ticket; [`StoreError::Conflict`] of its session if the id is taken.
pub(super) fn create(conn: &Connection, ticket: &Ticket) -> Result<(), StoreError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO tickets (id, session_id, transfer_id, queue, text, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            ticket.id,
            ticket.session_id.as_str(),
            ticket.transfer_id,
            ticket.queue,
            ticket.text,
            ticket.created_at.timestamp_micros(),
        ])?;
    match inserted {
        1 => Ok(()),
        _ => Err(StoreError::Conflict(ticket.session_id.clone())),
    }
}

/// Every ticket, oldest first.
pub(super) fn list(conn: &Connection) -> Result<Vec<Ticket>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT id, session_id, transfer_id, queue, text, created_at FROM tickets ORDER BY created_at, key",
    )?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, Option<String>>(2)?,
            row.get::<_, Option<String>>(3)?,
            row.get::<_, String>(4)?,
            row.get::<_, i64>(5)?,
        ))
    })?;
    let mut tickets = Vec::new();
    for row in rows {
        tickets.push(ticket_from_sql(row?)?);
    }
    Ok(tickets)
}
