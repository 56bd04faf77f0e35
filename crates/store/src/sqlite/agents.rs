//! The agents of Baton's own desk and their login tokens.
//!
//! Neither is cached: `baton agents` changes agents from another process while the server runs
//! (see [`crate::open_admin`]), so every login and every token check reads the database.
//! Passwords arrive hashed ([`crate::password`]) and tokens by their SHA-256; the store keeps
//! neither in the clear.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::columns::time_from_sql;
use crate::{AgentRecord, AgentToken, StoreError};

/// Creates the agent or replaces all but its creation time; a new password hash revokes its tokens.
pub(crate) fn upsert(conn: &Connection, agent: &AgentRecord) -> Result<(), StoreError> {
    // A new password signs the agent out everywhere: tokens taken with the old one stop working.
    conn.prepare_cached(
        "DELETE FROM agent_tokens WHERE username = ?1
           AND EXISTS (SELECT 1 FROM agents WHERE username = ?1 AND password_hash <> ?2)",
    )?
    .execute(params![agent.username, agent.password_hash])?;
    let queues = serde_json::to_string(&agent.queues).map_err(|error| StoreError::Database(Box::new(error)))?;
    conn.prepare_cached(
        "INSERT INTO agents (username, display_name, password_hash, queues, capacity, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (username) DO UPDATE SET display_name = excluded.display_name,
             password_hash = excluded.password_hash, queues = excluded.queues, capacity = excluded.capacity",
    )?
    .execute(params![
        agent.username,
        agent.display_name,
        agent.password_hash,
        queues,
        agent.capacity,
        agent.created_at.timestamp_micros(),
    ])?;
    Ok(())
}

/// Removes the agent and its tokens; whether it existed.
pub(crate) fn remove(conn: &Connection, username: &str) -> Result<bool, StoreError> {
    conn.prepare_cached("DELETE FROM agent_tokens WHERE username = ?1")?
        .execute(params![username])?;
    let removed = conn
        .prepare_cached("DELETE FROM agents WHERE username = ?1")?
        .execute(params![username])?;
    Ok(removed == 1)
}

/// The agent with this username.
pub(crate) fn find(conn: &Connection, username: &str) -> Result<Option<AgentRecord>, StoreError> {
    let mut agents = select(conn, "WHERE username = ?1", params![username])?;
    Ok(agents.pop())
}

/// Every agent, by username.
pub(crate) fn list(conn: &Connection) -> Result<Vec<AgentRecord>, StoreError> {
    select(conn, "ORDER BY username", params![])
}

fn select(conn: &Connection, filter: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<AgentRecord>, StoreError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT username, display_name, password_hash, queues, capacity, created_at FROM agents {filter}"
    ))?;
    let rows = statement.query_map(args, |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, u32>(4)?,
            row.get::<_, i64>(5)?,
        ))
    })?;
    let mut agents = Vec::new();
    for row in rows {
        let (username, display_name, password_hash, queues, capacity, created_at) = row?;
        agents.push(AgentRecord {
            username,
            display_name,
            password_hash,
            queues: serde_json::from_str(&queues).map_err(|error| StoreError::Database(Box::new(error)))?,
            capacity,
            created_at: time_from_sql(created_at)?,
        });
    }
    Ok(agents)
}

/// Stores a token by its hash; [`StoreError::DuplicateAgentToken`] if the hash is taken.
pub(super) fn create_token(conn: &Connection, token: &AgentToken) -> Result<(), StoreError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO agent_tokens (hash, username, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (hash) DO NOTHING",
        )?
        .execute(params![
            token.hash,
            token.username,
            token.created_at.timestamp_micros(),
            token.expires_at.timestamp_micros(),
        ])?;
    match inserted {
        1 => Ok(()),
        _ => Err(StoreError::DuplicateAgentToken),
    }
}

/// The token if it is unrevoked, unexpired at `now` and its agent still exists.
pub(super) fn find_token(conn: &Connection, hash: &str, now: DateTime<Utc>) -> Result<Option<AgentToken>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT agent_tokens.username, agent_tokens.created_at, agent_tokens.expires_at
             FROM agent_tokens JOIN agents ON agents.username = agent_tokens.username
             WHERE agent_tokens.hash = ?1 AND NOT agent_tokens.revoked AND agent_tokens.expires_at > ?2",
        )?
        .query_row(params![hash, now.timestamp_micros()], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
        })
        .optional()?;
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

/// Revokes the token; an unknown or revoked one changes nothing.
pub(super) fn revoke_token(conn: &Connection, hash: &str) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE agent_tokens SET revoked = 1 WHERE hash = ?1")?
        .execute(params![hash])?;
    Ok(())
}
