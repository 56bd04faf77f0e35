//! Connectors to service desks that run outside Baton: each is a [`baton_desk::ServiceDesk`]
//! that speaks one desk's wire format, so the server treats them as it treats its own desk.
//!
//! Invariant: a desk's wire format (its paths, payloads, signatures) is seen only here; the server
//! hands a connector the raw body and headers of a webhook and gets typed results back.

pub mod matrix;
