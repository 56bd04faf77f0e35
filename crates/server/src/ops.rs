//! Operations routes: liveness, readiness and Prometheus metrics (the OpenAPI document is `openapi`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{self, ApiError};
use crate::state::App;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", security(()), responses((status = 200, description = "`{\"status\": \"ok\"}`")), tag = "operations")]
pub(crate) async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok"}))
}

/// Readiness: the store answers and the server is not shutting down.
#[utoipa::path(get, path = "/readyz", security(()), responses((status = 200, description = "`{\"status\": \"ready\"}`"), (status = 503, body = error::ErrorBody)), tag = "operations")]
pub(crate) async fn readyz(State(app): State<Arc<App>>) -> Result<axum::Json<serde_json::Value>, ApiError> {
    if app.shutting_down.load(Ordering::SeqCst) {
        return Err(ApiError::Unavailable);
    }
    // A lookup that goes to the database: cheap, and fails when the store cannot answer.
    match app.store.find_api_key_by_hash("readiness-probe").await {
        Ok(_) => Ok(axum::Json(serde_json::json!({"status": "ready"}))),
        Err(error) => {
            tracing::warn!(%error, "store not ready");
            Err(ApiError::DatabaseUnavailable)
        }
    }
}

/// Ready, and holding the desk: the load balancer sends agent routes to the server that answers
/// 200 here (one at a time; with one server, that one).
#[utoipa::path(get, path = "/readyz/desk", security(()), responses((status = 200, description = "`{\"status\": \"ready\", \"desk\": true}`"), (status = 503, body = error::ErrorBody)), tag = "operations")]
pub(crate) async fn desk_ready(State(app): State<Arc<App>>) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let _ready = readyz(State(app.clone())).await?;
    match app.conversations.holds_desk() {
        true => Ok(axum::Json(serde_json::json!({"status": "ready", "desk": true}))),
        false => Err(ApiError::DeskElsewhere),
    }
}

/// Prometheus metrics: messages, turn latency, sessions, transfers by reason.
#[utoipa::path(get, path = "/metrics", security(()), responses((status = 200, description = "Prometheus text format", content_type = "text/plain")), tag = "operations")]
pub(crate) async fn metrics(State(app): State<Arc<App>>) -> Response {
    let body = app.metrics.render(app.conversations.count_active() as u64);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
        .into_response()
}
