//! Stored replies: the response sent for each client message id, so a retried message is
//! answered again instead of being processed twice.
//!
//! Replies live in a rowid table, so each turn appends at the end of the table; keyed by session
//! directly, each turn of a busy server rewrote a different 4 KiB page, and replies cost a third
//! of the writer's time.
//! They have no index either (schema version 5): like the transcript, each names the session's reply
//! before it (`prev`) and the session row names its last (`last_reply`).
//! A unique index on (session, client message id) put each session's newest entry on a page of
//! its own, so a group commit wrote one index page per turn and messages with ids ran at two
//! thirds of the rate of messages without.
//! A retry is recognised among the session's latest [`REPLY_WINDOW`] replies, whose ids' hashes
//! the writer keeps with the session's row ([`RecentReplies`]).

use rusqlite::{Connection, OptionalExtension, params};

use crate::columns::json_from_sql;
use crate::{Json, SessionId, StoreError, StoredReply};

/// How many of a session's latest replies a retried client message id is looked for among:
/// a client retries the message it is waiting on, not one it was answered long ago.
const REPLY_WINDOW: usize = 16;

/// Hashes of the client message ids of a session's latest [`REPLY_WINDOW`] replies, newest
/// first, so that a turn with an id need not walk the chain of replies to know it is new.
#[derive(Clone, Copy, Debug)]
pub(super) struct RecentReplies([u64; REPLY_WINDOW]);

impl RecentReplies {
    pub(super) fn hash(client_message_id: &str) -> u64 {
        // A fixed hash: these live only in the writer's memory.
        use std::hash::BuildHasher;
        std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default().hash_one(client_message_id)
    }

    /// The window of the chain that ends at `last_reply`, read from the database.
    pub(super) fn read(conn: &Connection, last_reply: Option<i64>) -> Result<RecentReplies, StoreError> {
        let mut window = [0; REPLY_WINDOW];
        let mut slots = window.iter_mut();
        walk_replies(conn, last_reply, |_, message_id| {
            if let Some(slot) = slots.next() {
                *slot = RecentReplies::hash(message_id);
            }
            false
        })?;
        Ok(RecentReplies(window))
    }

    /// Whether `hash` is among the window's; a hash that is not rules out a retry, one that is
    /// needs [`recent`] to tell a retry from a collision.
    pub(super) fn contains(&self, hash: u64) -> bool {
        self.0.contains(&hash)
    }

    /// Makes `hash` the newest, dropping the oldest.
    pub(super) fn push(&mut self, hash: u64) {
        self.0.copy_within(..REPLY_WINDOW - 1, 1);
        self.0[0] = hash;
    }
}

/// Visits the latest [`REPLY_WINDOW`] replies of the chain that ends at `last_reply`, newest
/// first, with their row and client message id, until `visit` returns true.
fn walk_replies(
    conn: &Connection,
    last_reply: Option<i64>,
    mut visit: impl FnMut(i64, &str) -> bool,
) -> Result<(), StoreError> {
    let mut next = last_reply;
    for _ in 0..REPLY_WINDOW {
        let Some(id) = next else {
            break;
        };
        let (message_id, prev): (String, Option<i64>) = conn
            .prepare_cached("SELECT client_message_id, prev FROM replies WHERE id = ?1")?
            .query_row(params![id], |row| Ok((row.get(0)?, row.get(1)?)))?;
        if visit(id, &message_id) {
            break;
        }
        next = prev;
    }
    Ok(())
}

/// The row of the reply to `client_message_id` among the latest [`REPLY_WINDOW`] replies of the
/// chain that ends at `last_reply`.
pub(super) fn recent(
    conn: &Connection,
    last_reply: Option<i64>,
    client_message_id: &str,
) -> Result<Option<i64>, StoreError> {
    let mut found = None;
    walk_replies(conn, last_reply, |id, message_id| {
        if message_id == client_message_id {
            found = Some(id);
        }
        found.is_some()
    })?;
    Ok(found)
}

/// Stores a reply of the session with this key after `prev` (the session's last reply so far);
/// returns its row, which the caller stores as the session's `last_reply`.
pub(super) fn insert(
    conn: &Connection,
    session_key: i64,
    reply: &StoredReply,
    prev: Option<i64>,
) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO replies (session_key, client_message_id, response, prev) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        session_key,
        reply.client_message_id,
        reply.response.get(),
        prev
    ])?;
    Ok(conn.last_insert_rowid())
}

/// The response stored for `client_message_id` among the session's latest replies.
pub(super) fn find(conn: &Connection, id: &SessionId, client_message_id: &str) -> Result<Option<Json>, StoreError> {
    let last_reply: Option<Option<i64>> = conn
        .prepare_cached("SELECT last_reply FROM sessions WHERE id = ?1")?
        .query_row(params![id.as_str()], |row| row.get(0))
        .optional()?;
    let Some(row) = recent(conn, last_reply.flatten(), client_message_id)? else {
        return Ok(None);
    };
    let response: String = conn
        .prepare_cached("SELECT response FROM replies WHERE id = ?1")?
        .query_row(params![row], |row| row.get(0))?;
    json_from_sql(response).map(Some)
}
