//! Sessions and their turns: creating, committing a turn (state, transcript entries, reply and
//! any transfer in one go), ending and expiring.
//!
//! A turn reads the session's row once and writes it once, and the refusals are decided from
//! that read before anything is written, so a refused turn leaves nothing behind.
//! The writer remembers the row of each session it wrote a turn to ([`SessionRows`]), so a turn
//! checks those from memory and writes its row without reading it first.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::replies::{self, RecentReplies};
use super::{transcript, transfers};
use crate::columns::{duration_to_sql, json_from_sql, time_from_sql, u64_from_sql};
use crate::{NewSession, SessionId, StoreError, StoredSession, TransferWrite, TurnCommitted, TurnRecord};

/// Every open session, as the writer's cache starts.
pub(super) fn read_open(conn: &Connection) -> Result<Vec<StoredSession>, StoreError> {
    let mut statement = conn.prepare(
        "SELECT id, assistant_id, state, version, created_at, last_active, idle_timeout_us
         FROM sessions WHERE ended_at IS NULL",
    )?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, i64>(3)?,
            row.get::<_, i64>(4)?,
            row.get::<_, i64>(5)?,
            row.get::<_, i64>(6)?,
        ))
    })?;
    let mut sessions = Vec::new();
    for row in rows {
        let (id, assistant_id, state, version, created_at, last_active, idle_timeout) = row?;
        sessions.push(StoredSession {
            id: SessionId::new(id),
            assistant_id,
            state: json_from_sql(state)?,
            version: u64_from_sql(version),
            created_at: time_from_sql(created_at)?,
            last_active: time_from_sql(last_active)?,
            idle_timeout: Duration::from_micros(u64_from_sql(idle_timeout)),
        });
    }
    Ok(sessions)
}

/// Inserts a new session; [`StoreError::Conflict`] if the id is taken.
pub(super) fn create(conn: &Connection, session: NewSession) -> Result<StoredSession, StoreError> {
    let created_at = session.created_at.timestamp_micros();
    let inserted = conn
        .prepare_cached(
            "INSERT INTO sessions
             (id, assistant_id, state, version, next_seq, created_at, last_active, idle_timeout_us)
             VALUES (?1, ?2, ?3, 0, 0, ?4, ?4, ?5)
             ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            session.id.as_str(),
            session.assistant_id,
            session.state.get(),
            created_at,
            duration_to_sql(session.idle_timeout),
        ])?;
    if inserted == 0 {
        return Err(StoreError::Conflict(session.id));
    }
    Ok(StoredSession {
        id: session.id,
        assistant_id: session.assistant_id,
        state: session.state,
        version: 0,
        created_at: session.created_at,
        last_active: session.created_at,
        idle_timeout: session.idle_timeout,
    })
}

/// Writes a turn and the transfer it opens or changes, all or nothing; returns what the caller is
/// told and the session as the cache keeps it.
pub(super) fn commit_turn(
    conn: &Connection,
    rows: &mut SessionRows,
    mut turn: TurnRecord,
) -> Result<(TurnCommitted, StoredSession), StoreError> {
    let Some(transfer) = turn.transfer.take() else {
        return write_turn(conn, rows, turn).map(|(committed, stored, _)| (committed, stored));
    };
    // The transfer is checked only after the turn is written, so a refused transfer must undo
    // the turn: a savepoint costs little, and only turns with a transfer pay for it.
    conn.execute_batch("SAVEPOINT turn_with_transfer")?;
    let id = turn.session_id.clone();
    let result = write_turn(conn, rows, turn).and_then(|(committed, stored, key)| {
        match transfer {
            TransferWrite::Open(transfer) => transfers::open(conn, key, transfer)?,
            TransferWrite::Update(update) => {
                transfers::update(conn, rows, update, Some(key))?;
            }
        }
        Ok((committed, stored))
    });
    // The savepoint may undo the row this turn wrote: the next turn reads it again.
    rows.forget(&id);
    match &result {
        Ok(_) | Err(StoreError::Database(_)) => conn.execute_batch("RELEASE turn_with_transfer")?,
        Err(_) => conn.execute_batch("ROLLBACK TO turn_with_transfer; RELEASE turn_with_transfer")?,
    }
    result
}

/// Writes the turn's state, entries and reply; returns also the session's key.
///
/// The session's row is read once and written once: the refusals (unknown, ended or idle
/// session, a stale version) are decided here from that read, before anything is written, so a
/// refused turn leaves nothing behind. Every statement touches one row by a unique key, for
/// which SQLite needs no statement journal inside the batch's transaction (`RETURNING` and
/// `INSERT … SELECT` would each make it write one).
fn write_turn(
    conn: &Connection,
    rows: &mut SessionRows,
    turn: TurnRecord,
) -> Result<(TurnCommitted, StoredSession, i64), StoreError> {
    let at = turn.at.timestamp_micros();
    let Some(row) = rows.row(conn, &turn.session_id)? else {
        return Err(StoreError::NotFound(turn.session_id));
    };
    let mut stored = StoredSession {
        id: turn.session_id,
        assistant_id: row.assistant_id.clone(),
        state: turn.state,
        version: u64_from_sql(row.version),
        created_at: time_from_sql(row.created_at)?,
        last_active: time_from_sql(row.last_active)?,
        idle_timeout: Duration::from_micros(u64_from_sql(row.idle_timeout)),
    };
    if row.ended || stored.is_idle(turn.at) {
        return Err(StoreError::Expired(stored.id));
    }
    if stored.version != turn.expected_version {
        return Err(StoreError::Conflict(stored.id));
    }
    let key = row.key;
    // A second answer to a message id among the session's latest replies is refused: a retry
    // that arrives after the first answer committed is caught here, without a lookup before
    // every turn.
    let mut last_reply = row.last_reply;
    let mut recent = row.recent;
    if let Some(reply) = &turn.reply {
        let mut window = match recent {
            Some(window) => window,
            None => RecentReplies::read(conn, row.last_reply)?,
        };
        let hash = RecentReplies::hash(&reply.client_message_id);
        // The hashes rule out all but a retry (or, once in 2^64, a collision the chain settles).
        if window.contains(hash) && replies::recent(conn, row.last_reply, &reply.client_message_id)?.is_some() {
            return Err(StoreError::Conflict(stored.id));
        }
        last_reply = Some(replies::insert(conn, key, reply, row.last_reply)?);
        window.push(hash);
        recent = Some(window);
    }
    let n_entries = i64::try_from(turn.entries.len()).unwrap_or(i64::MAX);
    let last_entry = transcript::chain(conn, key, row.next_seq, row.last_entry, &turn.entries)?;
    let written = SessionRow {
        version: row.version + 1,
        next_seq: row.next_seq + n_entries,
        last_active: row.last_active.max(at),
        last_entry,
        last_reply,
        recent,
        ..row
    };
    conn.prepare_cached(
        "UPDATE sessions SET state = ?2, version = ?3, next_seq = ?4, last_active = ?5, last_entry = ?6,
             last_reply = ?7
         WHERE key = ?1",
    )?
    .execute(params![
        key,
        stored.state.get(),
        written.version,
        written.next_seq,
        written.last_active,
        written.last_entry,
        written.last_reply
    ])?;
    stored.version = u64_from_sql(written.version);
    stored.last_active = time_from_sql(written.last_active)?;
    let committed = TurnCommitted {
        version: stored.version,
        first_seq: u64_from_sql(row.next_seq),
    };
    rows.remember(&stored.id, written);
    Ok((committed, stored, key))
}

/// The columns of a session's row that a turn checks and changes (all but its state).
#[derive(Clone, Debug)]
struct SessionRow {
    key: i64,
    assistant_id: String,
    version: i64,
    next_seq: i64,
    created_at: i64,
    last_active: i64,
    idle_timeout: i64,
    last_entry: Option<i64>,
    /// The row of the session's latest stored reply.
    last_reply: Option<i64>,
    /// The client message ids of its latest replies, once a turn has needed them.
    recent: Option<RecentReplies>,
    ended: bool,
}

fn read_row(conn: &Connection, id: &SessionId) -> Result<Option<SessionRow>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT key, assistant_id, version, next_seq, created_at, last_active, idle_timeout_us, last_entry,
                    ended_at IS NOT NULL, last_reply
             FROM sessions WHERE id = ?1",
        )?
        .query_row(params![id.as_str()], |row| {
            Ok(SessionRow {
                key: row.get(0)?,
                assistant_id: row.get(1)?,
                version: row.get(2)?,
                next_seq: row.get(3)?,
                created_at: row.get(4)?,
                last_active: row.get(5)?,
                idle_timeout: row.get(6)?,
                last_entry: row.get(7)?,
                last_reply: row.get(9)?,
                recent: None,
                ended: row.get(8)?,
            })
        })
        .optional()?)
}

/// The writer's copy of the rows of sessions it has written a turn to, as its open transaction
/// sees them, so the next turn need not read its row back (a fifth of the writer's instructions
/// per turn).
/// Only the writer changes session rows; whatever changes one other than a turn forgets it (it
/// is read again when next needed), and a transaction that does not commit forgets them all.
/// Ended sessions are forgotten, so this holds at most the open sessions that took a turn.
#[derive(Default)]
pub(super) struct SessionRows(HashMap<SessionId, SessionRow>);

impl SessionRows {
    /// The session's row as remembered, or as read when it is not.
    fn row(&self, conn: &Connection, id: &SessionId) -> Result<Option<SessionRow>, StoreError> {
        match self.0.get(id) {
            Some(row) => Ok(Some(row.clone())),
            None => read_row(conn, id),
        }
    }

    fn remember(&mut self, id: &SessionId, row: SessionRow) {
        match self.0.get_mut(id) {
            Some(known) => *known = row,
            None => {
                self.0.insert(id.clone(), row);
            }
        }
    }

    pub(super) fn forget(&mut self, id: &SessionId) {
        self.0.remove(id);
    }

    pub(super) fn forget_all(&mut self) {
        self.0 = HashMap::new();
    }
}

/// Ends the session; ending an ended one changes nothing, an unknown one is [`StoreError::NotFound`].
pub(super) fn end(conn: &Connection, id: &SessionId, now: DateTime<Utc>) -> Result<(), StoreError> {
    let ended = conn
        .prepare_cached(
            "UPDATE sessions SET ended_at = ?2, version = version + 1
             WHERE id = ?1 AND ended_at IS NULL",
        )?
        .execute(params![id.as_str(), now.timestamp_micros()])?;
    if ended == 0 && !exists(conn, id)? {
        return Err(StoreError::NotFound(id.clone()));
    }
    Ok(())
}

/// Ends those of `candidates` still idle past their timeout at `now`; returns the ones it ended.
pub(super) fn expire_idle(
    conn: &Connection,
    candidates: Vec<SessionId>,
    now: DateTime<Utc>,
) -> Result<Vec<SessionId>, StoreError> {
    // The cache only proposes; the condition is checked again on the row, which an earlier write
    // in this transaction may have refreshed.
    let mut end = conn.prepare_cached(
        "UPDATE sessions SET ended_at = ?2, version = version + 1
         WHERE id = ?1 AND ended_at IS NULL AND ?2 > last_active + idle_timeout_us",
    )?;
    let mut ended = Vec::new();
    for id in candidates {
        if end.execute(params![id.as_str(), now.timestamp_micros()])? == 1 {
            ended.push(id);
        }
    }
    Ok(ended)
}

/// Whether a session with this id was ever created, ended or not.
pub(super) fn exists(conn: &Connection, id: &SessionId) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM sessions WHERE id = ?1")?
        .exists(params![id.as_str()])?)
}
