//! The server's integration tests: the real server on port 0 with a fresh database per test,
//! driven over HTTP. One test binary, so the workspace links once.

mod common;

mod access;
mod auth;
mod chatwoot_desk;
mod conversation;
mod durability;
mod errors;
mod fuzz;
mod genesys_salesforce;
mod ops;
#[path = "../shared/programs.rs"]
mod programs;
mod sdk;
mod transfers;
mod voice;
mod webhook_desk;
