//! API keys: only their hashes are stored, and they are not cached, so `baton apikey` can create
//! and revoke keys from another process while the server runs (see [`crate::open_admin`]).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::columns::time_from_sql;
use crate::{ApiKey, ApiKeyId, StoreError};

/// Stores a key by its hash; [`StoreError::DuplicateApiKey`] if the hash is taken.
pub(crate) fn create(conn: &Connection, name: String, hash: String, now: DateTime<Utc>) -> Result<ApiKey, StoreError> {
    let id: Option<i64> = conn
        .prepare_cached(
            "INSERT INTO api_keys (name, hash, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (hash) DO NOTHING RETURNING id",
        )?
        .query_row(params![name, hash, now.timestamp_micros()], |row| row.get(0))
        .optional()?;
    let Some(id) = id else {
        return Err(StoreError::DuplicateApiKey);
    };
    Ok(ApiKey {
        id: ApiKeyId(id),
        name,
        hash,
        created_at: now,
        revoked_at: None,
    })
}

/// Revokes the key; revoking a revoked key changes nothing.
pub(crate) fn revoke(conn: &Connection, id: ApiKeyId, now: DateTime<Utc>) -> Result<(), StoreError> {
    let hash: Option<String> = conn
        .prepare_cached(
            "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL
             RETURNING hash",
        )?
        .query_row(params![id.0, now.timestamp_micros()], |row| row.get(0))
        .optional()?;
    if hash.is_some() {
        return Ok(());
    }
    let exists = conn
        .prepare_cached("SELECT 1 FROM api_keys WHERE id = ?1")?
        .exists(params![id.0])?;
    match exists {
        true => Ok(()),
        false => Err(StoreError::ApiKeyNotFound(id)),
    }
}

/// Every key, revoked ones included, by id.
pub(crate) fn list(conn: &Connection) -> Result<Vec<ApiKey>, StoreError> {
    select(conn, "ORDER BY id", params![])
}

/// The unrevoked key with this hash.
pub(crate) fn find_by_hash(conn: &Connection, hash: &str) -> Result<Option<ApiKey>, StoreError> {
    let mut keys = select(conn, "WHERE hash = ?1 AND revoked_at IS NULL", params![hash])?;
    Ok(keys.pop())
}

fn select(conn: &Connection, filter: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<ApiKey>, StoreError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT id, name, hash, created_at, revoked_at FROM api_keys {filter}"
    ))?;
    let rows = statement.query_map(args, |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, i64>(3)?,
            row.get::<_, Option<i64>>(4)?,
        ))
    })?;
    let mut keys = Vec::new();
    for row in rows {
        let (id, name, hash, created_at, revoked_at) = row?;
        keys.push(ApiKey {
            id: ApiKeyId(id),
            name,
            hash,
            created_at: time_from_sql(created_at)?,
            revoked_at: revoked_at.map(time_from_sql).transpose()?,
        });
    }
    Ok(keys)
}
