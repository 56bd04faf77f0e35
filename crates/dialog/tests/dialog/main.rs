//! The dialog runtime's tests, one binary: rules as tables, whole conversations as snapshots.

mod answers;
mod engine;
mod properties;
mod rules;
mod support;
mod transcripts;
