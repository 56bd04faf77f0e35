//! Connectors to service desks that run outside Baton: each is a [`baton_desk::ServiceDesk`]
//! that speaks one desk's wire format, so the server treats them as it treats its own desk.
//!
//! - [`webhook`]: the webhook desk protocol (a team's own desk software), signed both ways.
//! - [`matrix`]: agents in any Matrix client, over the Client-Server API.
//! - [`chatwoot`]: agents in Chatwoot, on an API-channel inbox Baton feeds.
//! - [`genesys`]: agents in Genesys Cloud, through Open Messaging and the Notifications API.
//! - [`connecting`]: a desk that could not connect at startup, retried in the background.
//! - [`dedup`]: the event ids a desk delivered, to drop its duplicates; hand-back fields.
//! - [`twilio`]: agents in Twilio Flex, through Conversations and the Interactions API.
//! - [`salesforce`]: agents in Salesforce, through Enhanced Chat's guest API and event stream.
//! - [`zendesk`]: agents in Zendesk's Agent Workspace, through Sunshine Conversations.
//! - [`guard`]: timeouts, retries with backoff and a circuit breaker for every outgoing call.
//! - [`simulation`]: what the simulated SaaS desks share (their webhook sinks, observations).
//! - [`signing`]: the HMAC-SHA256 signatures of webhook calls and Baton's own tokens.
//!
//! Invariant: a desk's wire format (its paths, payloads, signatures) is seen only here; the server
//! hands a connector the raw body and headers of a webhook and gets typed results back.

mod chats;
pub mod chatwoot;
pub mod connecting;
pub mod dedup;
pub mod genesys;
pub mod guard;
pub mod matrix;
pub mod salesforce;
pub mod signing;
pub mod simulation;
pub mod twilio;
pub mod webhook;
pub mod zendesk;

/// A mutex's guard, also after a panic elsewhere poisoned it (what it guards stays usable: every
/// change under these locks is a single step).
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
