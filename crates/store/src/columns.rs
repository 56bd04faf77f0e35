//! How values are kept in columns, by both backends: times as microseconds since the epoch,
//! durations as microseconds, opaque JSON as text, unsigned counters as signed integers.
//!
//! Every table's module converts through these, so a row written by one is read the same way by
//! another (and a database moved between backends keeps its meaning), and a value the database
//! cannot hold is a [`StoreError`] rather than a panic.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{Json, StoreError};

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
