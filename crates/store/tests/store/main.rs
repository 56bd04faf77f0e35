//! The store's integration tests, one binary: the backend-independent suite and what is
//! particular to SQLite (URLs, the process lock, surviving `kill -9`).

mod crash;
mod desk;
mod sqlite;
mod suite;
