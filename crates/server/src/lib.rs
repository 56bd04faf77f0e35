//! The HTTP server: the Watson Assistant v2 compatible message API, the agent API, the web
//! chat's pages and sockets, API keys, rate limits, health, metrics and the OpenAPI document.
//!
//! Two halves. `conversation` is the conversation itself (a session's turns, its transfer to a
//! human agent, the events between turns) with its own types and error; it knows neither HTTP
//! nor the wire format. The HTTP handlers (`api`, `agents`, `events`, `web`, `ops`) read and
//! check requests, call it, and show its results in the wire format (`wire`, `render`); `serve`
//! puts them together. No other crate serves HTTP, and no other crate sees the wire format.
//! A test (`module_graph`) holds the modules' imports to a graph without cycles.

mod access;
mod agents;
mod api;
mod assistants;
pub mod auth;
mod clock;
pub mod config;
mod conversation;
pub mod desks;
mod desks_http;
pub mod error;
mod events;
mod limit;
mod metrics;
mod openapi;
mod ops;
mod render;
mod request;
mod serve;
mod state;
pub mod twiml;
mod voice;
mod web;
mod wire;

#[cfg(test)]
mod module_graph;

pub use assistants::{Assistants, AssistantsError, ReloadStatus};
pub use clock::Clock;
pub use config::Config;
pub use error::ApiError;
pub use serve::{ServerError, Services, run};
