//! API keys, stored by their hash.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::columns::time_from_sql;
use crate::{ApiKey, ApiKeyId, StoreError};

pub(super) async fn create(pool: &PgPool, name: &str, hash: &str, now: DateTime<Utc>) -> Result<ApiKey, StoreError> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO api_keys (name, hash, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (hash) DO NOTHING RETURNING id",
    )
    .bind(name)
    .bind(hash)
    .bind(now.timestamp_micros())
    .fetch_optional(pool)
    .await?;
    let Some(id) = id else {
        return Err(StoreError::DuplicateApiKey);
    };
    Ok(ApiKey {
        id: ApiKeyId(id),
        name: name.to_owned(),
        hash: hash.to_owned(),
        created_at: now,
        revoked_at: None,
    })
}

pub(super) async fn revoke(pool: &PgPool, id: ApiKeyId, now: DateTime<Utc>) -> Result<(), StoreError> {
    let revoked = sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id.0)
        .bind(now.timestamp_micros())
        .execute(pool)
        .await?;
    if revoked.rows_affected() == 1 {
        return Ok(());
    }
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM api_keys WHERE id = $1")
        .bind(id.0)
        .fetch_optional(pool)
        .await?;
    match exists {
        Some(_) => Ok(()),
        None => Err(StoreError::ApiKeyNotFound(id)),
    }
}

pub(super) async fn list(pool: &PgPool) -> Result<Vec<ApiKey>, StoreError> {
    select(pool, None).await
}

pub(super) async fn find_by_hash(pool: &PgPool, hash: &str) -> Result<Option<ApiKey>, StoreError> {
    Ok(select(pool, Some(hash)).await?.pop())
}

/// Every key by id, or the unrevoked one with this hash.
async fn select(pool: &PgPool, hash: Option<&str>) -> Result<Vec<ApiKey>, StoreError> {
    let rows: Vec<(i64, String, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, name, hash, created_at, revoked_at FROM api_keys
         WHERE $1::TEXT IS NULL OR (hash = $1 AND revoked_at IS NULL) ORDER BY id",
    )
    .bind(hash)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(id, name, hash, created_at, revoked_at)| {
            Ok(ApiKey {
                id: ApiKeyId(id),
                name,
                hash,
                created_at: time_from_sql(created_at)?,
                revoked_at: revoked_at.map(time_from_sql).transpose()?,
            })
        })
        .collect()
}
