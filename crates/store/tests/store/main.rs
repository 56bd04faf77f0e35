//! The store's integration tests, one binary: the backend-independent suite and what is
//! particular to SQLite (URLs, the process lock, surviving `kill -9`, migrating old databases) and to PostgreSQL
//! (several stores on one database).

mod crash;
mod desk;
mod migrations;
mod postgres;
mod sqlite;
mod suite;
