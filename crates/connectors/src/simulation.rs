//! What the simulated desks (`chatwoot::sim`, `zendesk::sim`) share: where their webhooks go,
//! what they report seeing, and waiting for them. They exist for the desks' tests and for
//! `baton bench transfer`, since the SaaS desks cannot be reached from where Baton is built.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use baton_desk::{DeskError, WebhookReceiver, WebhookRequest};

/// Where a simulation's webhook deliveries go: headers and body in, the HTTP status out.
pub type Sink = Arc<dyn Fn(Vec<(String, String)>, Vec<u8>) -> Pin<Box<dyn Future<Output = u16> + Send>> + Send + Sync>;

/// Deliveries POSTed to the URL `url()` gives at each delivery (a server's webhook router,
/// whose address may change when it restarts); `599` when it cannot be reached.
pub fn http_sink(url: impl Fn() -> String + Send + Sync + 'static) -> Sink {
    let client = reqwest::Client::new();
    Arc::new(move |headers, body| {
        let mut request = client.post(url()).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        Box::pin(async move { request.send().await.map_or(599, |response| response.status().as_u16()) })
    })
}

/// Deliveries handed to the receiver `desk()` gives (none: `503`), as the webhook router would,
/// answering `401` for an unauthenticated delivery and `400` for a bad one.
pub fn receiver_sink<R: WebhookReceiver + ?Sized + 'static>(
    desk: impl Fn() -> Option<Arc<R>> + Send + Sync + 'static,
) -> Sink {
    Arc::new(move |headers, body| {
        let desk = desk();
        Box::pin(async move {
            let Some(desk) = desk else { return 503 };
            let request = WebhookRequest {
                headers: &headers,
                body: &body,
            };
            match desk.receive(request).await {
                Ok(_) => 200,
                Err(DeskError::Unauthenticated(_)) => 401,
                Err(_) => 400,
            }
        })
    })
}

/// What a simulation saw happen, as it happened (for a benchmark's clock).
#[derive(Debug, Clone)]
pub enum Observed {
    /// A conversation was handed to the agents; its Baton session, when it carries one.
    Opened {
        conversation: String,
        session: Option<String>,
        at: Instant,
    },
    /// The customer's message arrived.
    CustomerMessage {
        conversation: String,
        content: String,
        at: Instant,
    },
}

/// Where a simulation's webhooks leave from, and what it tells of what it sees: the sink, the
/// deliveries it refused, duplicating every delivery on demand, and the observers.
#[derive(Default)]
pub struct Outlet {
    sink: Mutex<Option<Sink>>,
    duplicate: AtomicBool,
    refused: Mutex<Vec<(u16, String)>>,
    observers: Mutex<Vec<mpsc::UnboundedSender<Observed>>>,
}

impl Outlet {
    pub fn set_sink(&self, sink: Sink) {
        *crate::lock(&self.sink) = Some(sink);
    }

    /// Every delivery is sent twice (with the same delivery id) while on.
    pub fn duplicate(&self, on: bool) {
        self.duplicate.store(on, Ordering::SeqCst);
    }

    /// Deliveries the sink refused (its status and the event), oldest first.
    pub fn refused(&self) -> Vec<(u16, String)> {
        crate::lock(&self.refused).clone()
    }

    /// What happens from now on, as it happens.
    pub fn observe(&self) -> mpsc::UnboundedReceiver<Observed> {
        let (sender, receiver) = mpsc::unbounded_channel();
        crate::lock(&self.observers).push(sender);
        receiver
    }

    pub fn notify(&self, observed: Observed) {
        crate::lock(&self.observers).retain(|observer| observer.send(observed.clone()).is_ok());
    }

    /// Sends one delivery (twice when duplicating); a refusal is kept with `event`. Nothing
    /// without a sink.
    pub async fn deliver(&self, headers: Vec<(String, String)>, body: Vec<u8>, event: &str) {
        let Some(sink) = crate::lock(&self.sink).clone() else {
            return;
        };
        let status = sink(headers.clone(), body.clone()).await;
        if status >= 300 {
            crate::lock(&self.refused).push((status, event.to_owned()));
        }
        if self.duplicate.load(Ordering::SeqCst) {
            sink(headers, body).await;
        }
    }
}

/// Whether `check` holds within `limit`, looking every 20 ms.
pub async fn within(limit: Duration, check: impl Fn() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while !check() {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// Waits up to 20 s for `check` to hold, and panics naming `what` when it does not: for the
/// desks' tests.
pub async fn eventually(what: &str, check: impl Fn() -> bool) {
    assert!(within(Duration::from_secs(20), check).await, "never: {what}");
}
