//! What a desk that calls Baton back does with those calls.
//!
//! The server has one router for every desk, `POST /v1/desks/{name}/webhook`; it reads the
//! request (size-limited) and hands the body and headers, untouched, to the named desk's
//! [`WebhookReceiver`]. The receiver verifies the signature before anything else, drops
//! duplicate event ids, and turns what is left into [`DeskEvent`](crate::DeskEvent)s on the
//! chats' streams. The server maps the outcome to a status: `Unauthenticated` is `401`,
//! `BadEvent` `400`, `UnknownChat` `404`, anything else `502`; none of them changes anything.

use crate::service_desk::DeskFuture;

/// One call to the webhook router, as it arrived.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    /// Every header, names in lower case, in the order received.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl<'a> WebhookRequest<'a> {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// What the receiver did with a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// The events were applied (or queued to be).
    Accepted { events: usize },
    /// Every event of the call had been received before; nothing changed.
    Duplicate,
}

/// The part of a desk that takes its calls to Baton.
pub trait WebhookReceiver: Send + Sync {
    fn receive<'a>(&'a self, request: WebhookRequest<'a>) -> DeskFuture<'a, WebhookOutcome>;
}
