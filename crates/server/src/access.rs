//! Who may use the customer-facing routes from a browser.
//!
//! The session id (a random v4 UUID the customer got at creation) is the capability, as it is
//! for the message API. Outside `--dev` a browser request must also come from an allowed origin:
//! one in `cors_origins`, or the server's own (the demo page); a server-to-server client may
//! instead send its API key. The session must belong to the assistant in the path.
//! The same origins may use the message API without a key for what the widget does (create a
//! session, send messages): see [`public_client`], which the server's guard consults.

use axum::http::{HeaderMap, Method, header};

use crate::error::ApiError;
use crate::state::App;

/// Whether the request comes from a page of an allowed origin: one in `cors_origins`, or the
/// server's own (the demo page), as `Origin` or `Sec-Fetch-Site` tell.
fn from_allowed_origin(app: &App, headers: &HeaderMap) -> bool {
    // Browsers leave `Origin` out of same-origin GET requests but say where they come from here.
    let same_origin = headers
        .get("sec-fetch-site")
        .is_some_and(|site| site.as_bytes() == b"same-origin");
    if same_origin {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|origin| origin.to_str().ok()) else {
        return false;
    };
    let listed = app.config.cors_origins.iter().any(|allowed| allowed == origin);
    let own = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .is_some_and(|host| {
            origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                == Some(host)
        });
    listed || own
}

/// Whether an API request without a key is the web chat, a public client, which the server's
/// guard then lets through outside `--dev` (rate limited by address like any keyless client).
///
/// The widget runs in customers' browsers, so it cannot hold a secret; what it may do is
/// limited instead: from an allowed origin, without an `Authorization` header, only create a
/// session, send messages in it and cancel its wait for an agent (`POST …/sessions`,
/// `POST …/sessions/{id}/message`, `POST …/sessions/{id}/transfer/cancel`). The
/// stateless message and deleting sessions still need a key. An `Origin` header can be forged by
/// a non-browser client, which then gets exactly what the widget gets.
pub fn public_client(app: &App, request: &axum::extract::Request) -> bool {
    let headers = request.headers();
    if request.method() != Method::POST || headers.contains_key(header::AUTHORIZATION) {
        return false;
    }
    let segments: Vec<&str> = request.uri().path().trim_matches('/').split('/').collect();
    // v2 / assistants / {id} [/ environments / {env}] / sessions [/ {session} / message]
    let rest = match segments.as_slice() {
        ["v2", "assistants", _, "environments", _, rest @ ..] => rest,
        ["v2", "assistants", _, rest @ ..] => rest,
        _ => return false,
    };
    let widget_route = matches!(
        rest,
        ["sessions"] | ["sessions", _, "message"] | ["sessions", _, "transfer", "cancel"]
    );
    widget_route && from_allowed_origin(app, headers)
}

/// Whether a browser-facing request may read a session: see the module documentation.
pub async fn customer_allowed(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    if app.config.dev || from_allowed_origin(app, headers) {
        return Ok(());
    }
    let Some(authorization) = headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok()) else {
        return Err(ApiError::Unauthorized);
    };
    let key = crate::auth::key_from_authorization(authorization).ok_or(ApiError::Unauthorized)?;
    match app.store.find_api_key_by_hash(&key.hash()).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::Unauthorized),
    }
}
