//! What desks call and open: the webhook router (`POST /v1/desks/{name}/webhook`) and the
//! history page a desk's agent opens from its link (`GET /v1/history/{token}`).
//!
//! Neither takes an API key: a webhook call is authenticated by the desk's signature (checked
//! by the desk's connector before anything else), a history page by its signed token.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use baton_desk::{Speaker, WebhookOutcome};

use crate::error::ApiError;
use crate::state::App;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/desks/{desk}/webhook", post(webhook))
        .route("/v1/history/{token}", get(history))
}

async fn webhook(
    State(app): State<Arc<App>>,
    Path(desk): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|rejection| match rejection.status() {
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(app.config.max_body_bytes),
        _ => ApiError::InvalidRequest(rejection.body_text()),
    })?;
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    let outcome = app.conversations.desk_webhook(&desk, &headers, &body).await?;
    let body = match outcome {
        WebhookOutcome::Accepted { events } => json!({"accepted": events}),
        WebhookOutcome::Duplicate => json!({"accepted": 0, "duplicate": true}),
    };
    Ok(Json(body).into_response())
}

async fn history(State(app): State<Arc<App>>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let history = app.conversations.history(&token).await?;
    let mut rows = String::new();
    for line in &history.lines {
        let (class, who) = match &line.speaker {
            Speaker::Customer => ("customer", "Customer".to_owned()),
            Speaker::Assistant => ("assistant", "Assistant".to_owned()),
            Speaker::Agent(name) => ("agent", name.clone()),
            Speaker::System => ("system", "—".to_owned()),
        };
        rows.push_str(&format!(
            "<li class=\"{class}\"><time datetime=\"{at}\">{time}</time> <b>{who}</b> <span>{text}</span></li>\n",
            at = line.at.to_rfc3339(),
            time = line.at.format("%H:%M:%S"),
            who = crate::web::escape_html(&who),
            text = crate::web::escape_html(&line.text),
        ));
    }
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<meta name=\"robots\" content=\"noindex\"><title>Conversation history</title>\
<style>body{{font:15px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}}\
ol{{list-style:none;padding:0}}li{{padding:.35rem 0;border-bottom:1px solid #ddd}}time{{color:#555;font-size:.85em}}\
.customer b{{color:#0b5394}}.agent b{{color:#38761d}}.system{{color:#555;font-style:italic}}</style></head>\n\
<body><main><h1>Conversation history</h1><p>Session {session}, read-only; this link works until {expires} UTC.</p>\n<ol>\n{rows}</ol></main></body></html>\n",
        session = crate::web::escape_html(&history.session_id),
        expires = history.expires_at.format("%Y-%m-%d %H:%M"),
    );
    let mut response = axum::response::Html(page).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(response)
}
