//! The transcript: every entry of every session, customer messages, assistant replies, agent
//! messages and events, numbered per session without gaps.
//!
//! The entries one write appends (a turn's message, replies and events) share one row, a JSON
//! array numbered from the row's `seq` (schema version 4): one insert per turn instead of one per
//! entry, 5-10% of the messages per second at 64 sessions.
//! The table is a rowid table, so each turn appends at its end; keyed by session directly, each
//! turn of a busy server rewrote a different 4 KiB page.
//! It has no index at all: each row names the row before it in its session (`prev`) and the
//! session row names its last (`last_entry`), so a transcript is read by following that chain back
//! by rowid, and a turn writes only the table's last page and the session's row.
//! An index by (session, seq) cost one more page per turn and session, since a long
//! conversation's newest entries are on a page of their own: 13-15% of the messages per second at
//! 64 sessions in `baton bench http` (schema version 3).

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::value::RawValue;

use super::sessions::SessionRows;
use crate::columns::{corrupt, time_from_sql, u64_from_sql, u64_to_sql};
use crate::{EntryKind, NewEntry, SessionId, StoreError, TranscriptEntry};

/// Appends entries to the transcript of the session with this key, after its last one, without
/// changing the session's version; returns the first entry's sequence number.
pub(super) fn append(
    conn: &Connection,
    rows: &mut SessionRows,
    session_key: i64,
    entries: &[NewEntry],
) -> Result<u64, StoreError> {
    let (id, next_seq, last_entry): (String, i64, Option<i64>) = conn
        .prepare_cached("SELECT id, next_seq, last_entry FROM sessions WHERE key = ?1")?
        .query_row(params![session_key], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    rows.forget(&SessionId::new(id));
    let last_entry = chain(conn, session_key, next_seq, last_entry, entries)?;
    let n_entries = i64::try_from(entries.len()).unwrap_or(i64::MAX);
    conn.prepare_cached("UPDATE sessions SET next_seq = ?2, last_entry = ?3 WHERE key = ?1")?
        .execute(params![session_key, next_seq + n_entries, last_entry])?;
    Ok(u64_from_sql(next_seq))
}

/// Inserts entries numbered from `first_seq` into the session's chain as one row, after
/// `last_entry` (the rowid of the chain's last row so far), and returns the new row's rowid; the
/// caller stores it as the session's `last_entry`.
pub(super) fn chain(
    conn: &Connection,
    session_key: i64,
    first_seq: i64,
    last_entry: Option<i64>,
    entries: &[NewEntry],
) -> Result<Option<i64>, StoreError> {
    if entries.is_empty() {
        return Ok(last_entry);
    }
    conn.prepare_cached("INSERT INTO transcript (session_key, seq, entries, prev) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![session_key, first_seq, entries_to_sql(entries), last_entry])?;
    Ok(Some(conn.last_insert_rowid()))
}

/// A row's entries as the JSON array `[[at, kind, payload], …]`.
fn entries_to_sql(entries: &[NewEntry]) -> String {
    let length: usize = entries.iter().map(|entry| entry.payload.get().len() + 40).sum();
    let mut text = String::with_capacity(length + 2);
    let mut number = itoa::Buffer::new();
    text.push('[');
    for (index, entry) in entries.iter().enumerate() {
        if index > 0 {
            text.push(',');
        }
        // A kind is a fixed lower-case word and a payload is JSON already: nothing to escape.
        // (`write!` took 3,700 instructions per turn here.)
        text.push('[');
        text.push_str(number.format(entry.at.timestamp_micros()));
        text.push_str(",\"");
        text.push_str(entry.kind.as_str());
        text.push_str("\",");
        text.push_str(entry.payload.get());
        text.push(']');
    }
    text.push(']');
    text
}

/// The session's whole transcript.
pub(super) fn read(conn: &Connection, id: &SessionId) -> Result<Vec<TranscriptEntry>, StoreError> {
    read_after(conn, id, None)
}

/// The entries after `after_seq`, or all of them.
pub(super) fn read_after(
    conn: &Connection,
    id: &SessionId,
    after_seq: Option<u64>,
) -> Result<Vec<TranscriptEntry>, StoreError> {
    // -1 is before the first entry.
    let after = after_seq.map_or(-1, u64_to_sql);
    read_back(conn, id, |seq, _| seq <= after)?
        .into_iter()
        .filter(|entry| u64_to_sql(entry.seq) > after)
        .map(Ok)
        .collect()
}

/// The entries after the last one of `kind` (all of them when there is none): what a turn needs
/// of a long transcript (the agent's messages since the customer's last one), read back only as
/// far as that entry, so its cost does not grow with the conversation.
pub(super) fn read_since_last(
    conn: &Connection,
    id: &SessionId,
    kind: EntryKind,
) -> Result<Vec<TranscriptEntry>, StoreError> {
    let wanted = kind.as_str();
    let entries = read_back(conn, id, |_, kinds| kinds.contains(&wanted))?;
    let start = entries
        .iter()
        .rposition(|entry| entry.kind == kind)
        .map_or(0, |idx| idx + 1);
    Ok(entries.into_iter().skip(start).collect())
}

/// The session's last `n` entries (fewer when it has fewer), read back only that far.
pub(super) fn read_last(conn: &Connection, id: &SessionId, n: usize) -> Result<Vec<TranscriptEntry>, StoreError> {
    let seen = std::cell::Cell::new(0usize);
    let entries = read_back(conn, id, |_, kinds| {
        seen.set(seen.get() + kinds.len());
        seen.get() >= n
    })?;
    let skip = entries.len().saturating_sub(n);
    Ok(entries.into_iter().skip(skip).collect())
}

/// Reads the session's rows from the last one back along the chain, each by its rowid, until
/// `enough(first seq of the row, the kinds in the row)` holds for a row (which is kept); their
/// entries in order.
fn read_back(
    conn: &Connection,
    id: &SessionId,
    enough: impl Fn(i64, &[&str]) -> bool,
) -> Result<Vec<TranscriptEntry>, StoreError> {
    let last_entry: Option<Option<i64>> = conn
        .prepare_cached("SELECT last_entry FROM sessions WHERE id = ?1")?
        .query_row(params![id.as_str()], |row| row.get(0))
        .optional()?;
    let Some(mut next) = last_entry else {
        return Err(StoreError::NotFound(id.clone()));
    };
    let mut statement = conn.prepare_cached("SELECT prev, seq, entries FROM transcript WHERE id = ?1")?;
    let mut rows: Vec<(i64, i64, String)> = Vec::new();
    while let Some(rowid) = next {
        let (prev, seq, text) = statement.query_row(params![rowid], |row| {
            Ok((
                row.get::<_, Option<i64>>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
            ))
        })?;
        // Sequence numbers fall strictly along the chain; anything else is a broken chain, which
        // would otherwise loop.
        if rows.last().is_some_and(|(_, later, _)| *later <= seq) {
            return Err(corrupt_transcript(id, rowid));
        }
        let row: Vec<(i64, &str, &RawValue)> =
            serde_json::from_str(&text).map_err(|error| StoreError::Database(Box::new(error)))?;
        let kinds: Vec<&str> = row.iter().map(|(_, kind, _)| *kind).collect();
        let done = enough(seq, &kinds);
        rows.push((rowid, seq, text));
        if done {
            break;
        }
        next = prev;
    }
    let mut entries = Vec::new();
    let mut expected: Option<i64> = None;
    for (rowid, first, text) in rows.into_iter().rev() {
        if expected.is_some_and(|expected| expected != first) {
            return Err(corrupt_transcript(id, rowid));
        }
        let row: Vec<(i64, String, &RawValue)> =
            serde_json::from_str(&text).map_err(|error| StoreError::Database(Box::new(error)))?;
        expected = Some(first + i64::try_from(row.len()).unwrap_or(i64::MAX));
        for (seq, (at, kind, payload)) in (first..).zip(row) {
            let Some(kind) = EntryKind::parse(&kind) else {
                return Err(corrupt(format!("unknown transcript entry kind {kind:?}")));
            };
            entries.push(TranscriptEntry {
                session_id: id.clone(),
                seq: u64_from_sql(seq),
                at: time_from_sql(at)?,
                kind,
                payload: payload.to_owned(),
            });
        }
    }
    Ok(entries)
}

fn corrupt_transcript(id: &SessionId, rowid: i64) -> StoreError {
    corrupt(format!("the transcript of session {id} is not in order at row {rowid}"))
}
