//! The phone channel's webhook: a TwiML-compatible carrier (Twilio Programmable Voice, Telnyx
//! TeXML, SignalWire) answers the call, recognises speech and keys, speaks, and calls
//! `POST /v1/voice/{assistant_id}` for every turn with a form-encoded request (`CallSid`, `From`,
//! `SpeechResult`, `Digits`, …); Baton answers TwiML (`twiml`).
//!
//! - `/v1/voice/{assistant_id}`: the call's first request (no `t`) opens the session, whose id is
//!   the call's `CallSid`, and greets; each `<Gather>` comes back here with `?t=N`, the turn it
//!   answers, which makes a retried request (same `t`) get the stored answer (the turn's client
//!   message id is `voice:call:N`) and a request for a prompt long gone a `409 stale_turn`;
//! - `/v1/voice/{assistant_id}/dial`: the `<Dial>` or `<Enqueue>` action callback when a transfer
//!   ends: answered, the call is over; busy, no answer or failed, the assistant takes the caller
//!   back or hangs up, as the step or the assistant says;
//! - `/v1/voice/{assistant_id}/status`: the call's status callback; a call that ended ends its
//!   session.
//!
//! Every request is checked first: its `X-Twilio-Signature` (HMAC-SHA1 under the account's auth
//! token over the URL the carrier called, `voice.public_url` or `public_url` and the path, and
//! the sorted form parameters) must verify, or it is a `403` and nothing changes.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use baton_assistant::VoiceTransfer;
use baton_dialog::Engine;

use crate::conversation::{CustomerMessage, TurnInput};
use crate::error::{ApiError, ErrorBody};
use crate::request::path_error;
use crate::state::App;
use crate::twiml::VoiceRender;

/// The longest call id accepted (Twilio's are 34 characters, Telnyx's longer).
const MAX_CALL_ID: usize = 128;
/// An empty document: nothing more to do.
const EMPTY: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#;
const HANG_UP: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>"#;

/// A checked carrier request: its form parameters and the query's turn.
struct CarrierRequest {
    params: Vec<(String, String)>,
    turn: Option<u32>,
    query: Vec<(String, String)>,
}

impl CarrierRequest {
    fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// `CallSid`, required, of a sane length and alphabet.
    fn call_id(&self) -> Result<String, ApiError> {
        let call_id = self.get("CallSid").ok_or(ApiError::MissingField("CallSid"))?;
        let sane = !call_id.is_empty()
            && call_id.len() <= MAX_CALL_ID
            && call_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'));
        match sane {
            true => Ok(call_id.to_owned()),
            false => Err(ApiError::InvalidRequest(format!(
                "CallSid: expected 1 to {MAX_CALL_ID} letters, digits, '-', '_', ':' or '.'"
            ))),
        }
    }
}

/// Verifies the signature, then reads the form and the query: nothing else is looked at before
/// the signature verifies.
/// A carrier request to one of the voice routes, verified, for an assistant served here.
struct Call {
    request: CarrierRequest,
    assistant_id: String,
    engine: Arc<Engine>,
    call_id: String,
}

/// What every voice route starts with: the signature first (nothing is read before it), then
/// the assistant and the call's id.
fn open_call(
    app: &App,
    path: Result<Path<String>, PathRejection>,
    uri: &Uri,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Call, ApiError> {
    let request = verified(app, uri, headers, body)?;
    let Path(assistant_id) = path.map_err(path_error)?;
    let engine = app.engine(&assistant_id, None)?;
    let call_id = request.call_id()?;
    Ok(Call {
        request,
        assistant_id,
        engine,
        call_id,
    })
}

fn verified(
    app: &App,
    uri: &Uri,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<CarrierRequest, ApiError> {
    let auth = app.voice.as_ref().ok_or(ApiError::VoiceNotConfigured)?;
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(app.config.max_body_bytes),
        _ => ApiError::InvalidRequest(rejection.body_text()),
    })?;
    let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let path_and_query = uri.path_and_query().map_or(uri.path(), |path| path.as_str());
    let url = format!("{}{path_and_query}", auth.public_url);
    let signature = headers.get("x-twilio-signature").and_then(|value| value.to_str().ok());
    if let Err(error) = auth.verify(&url, &params, signature) {
        tracing::warn!(path = %uri.path(), "carrier request refused: signature");
        return Err(ApiError::VoiceSignature(error));
    }
    let query: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let turn = match query.iter().find(|(key, _)| key == "t") {
        None => None,
        Some((_, value)) => Some(
            value
                .parse::<u32>()
                .map_err(|_| ApiError::InvalidQuery(format!("t: expected a turn number, got {value:?}")))?,
        ),
    };
    Ok(CarrierRequest { params, turn, query })
}

fn twiml(document: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        document,
    )
        .into_response()
}

/// The webhook URL of an assistant, as the carrier calls it.
fn webhook_url(app: &App, assistant_id: &str) -> String {
    let public_url = app.voice.as_ref().map_or("", |auth| auth.public_url.as_str());
    let segment: String = form_urlencoded::byte_serialize(assistant_id.as_bytes()).collect();
    format!("{public_url}/v1/voice/{segment}")
}

/// A turn of the call: the first request greets, each later one answers the prompt `t`.
#[utoipa::path(
    post,
    path = "/v1/voice/{assistant_id}",
    security(()),
    params(
        ("assistant_id" = String, Path, description = "The assistant's id"),
        ("t" = Option<u32>, Query, minimum = 0, description = "The turn a `<Gather>` result answers; absent on the call's first request"),
        ("X-Twilio-Signature" = String, Header, description = "The carrier's signature of the URL and the form"),
    ),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "The carrier's form: `CallSid` (required), `From`, `To`, `SpeechResult`, `Confidence`, `Digits`, …"),
    responses(
        (status = 200, content_type = "text/xml", body = String, description = "TwiML"),
        (status = "4XX", body = ErrorBody),
    ),
    tag = "voice"
)]
pub(crate) async fn call(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Call {
        request,
        assistant_id,
        call_id,
        ..
    } = open_call(&app, path, &uri, &headers, body)?;
    let speech = request
        .get("SpeechResult")
        .map(str::trim)
        .filter(|text| !text.is_empty());
    if let Some(speech) = speech
        && speech.chars().count() > app.config.max_text_chars
    {
        return Err(ApiError::TextTooLong(app.config.max_text_chars));
    }
    let digits = request.get("Digits").map(str::trim).filter(|digits| !digits.is_empty());
    if let Some(digits) = digits
        && (digits.len() > 64 || !digits.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#'))
    {
        return Err(ApiError::InvalidRequest(
            "Digits: expected up to 64 keypad keys (0-9, * and #)".to_owned(),
        ));
    }
    let (input, message_id) = match request.turn {
        // The call's first request: open the session (a retry finds it open) and greet.
        None => {
            app.conversations
                .answer_call(&assistant_id, &call_id, request.get("From"))
                .await?;
            let input = TurnInput {
                expected_turn: Some(0),
                ..TurnInput::default()
            };
            (input, "voice:call:start".to_owned())
        }
        Some(turn) => {
            let input = TurnInput {
                text: speech.map(str::to_owned),
                digits: digits.map(str::to_owned),
                no_input: speech.is_none() && digits.is_none(),
                expected_turn: Some(turn),
                ..TurnInput::default()
            };
            (input, format!("voice:call:{turn}"))
        }
    };
    let render = VoiceRender {
        webhook_url: webhook_url(&app, &assistant_id),
        history_link: app.conversations.history_link(&call_id),
        after_failed_transfer: None,
    };
    turn(&app, assistant_id, call_id, input, message_id, render).await
}

/// The `<Dial>` (or `<Enqueue>`) action callback: how the call's transfer ended.
#[utoipa::path(
    post,
    path = "/v1/voice/{assistant_id}/dial",
    security(()),
    params(
        ("assistant_id" = String, Path, description = "The assistant's id"),
        ("t" = u32, Query, minimum = 0, description = "The turn that transferred the call"),
        ("X-Twilio-Signature" = String, Header, description = "The carrier's signature of the URL and the form"),
    ),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "The carrier's form: `CallSid`, and `DialCallStatus` (or `QueueResult` after `<Enqueue>`)"),
    responses(
        (status = 200, content_type = "text/xml", body = String, description = "TwiML"),
        (status = "4XX", body = ErrorBody),
    ),
    tag = "voice"
)]
pub(crate) async fn dial(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Call {
        request,
        assistant_id,
        engine,
        call_id,
    } = open_call(&app, path, &uri, &headers, body)?;
    let turn_number = request.turn.ok_or(ApiError::MissingField("t"))?;
    let status = request
        .get("DialCallStatus")
        .or_else(|| request.get("QueueResult"))
        .ok_or(ApiError::MissingField("DialCallStatus"))?;
    let connected = match status {
        // `<Dial>`: the agent answered and the call has ended; `<Enqueue>`: bridged to an agent,
        // or the caller hung up in the queue.
        "completed" | "answered" | "bridged" | "hangup" => true,
        "busy" | "no-answer" | "failed" | "canceled" | "queue-full" | "error" | "system-error" | "leave"
        | "redirected" => false,
        other => {
            return Err(ApiError::InvalidRequest(format!(
                "DialCallStatus: unknown status {other:?}"
            )));
        }
    };
    if connected {
        app.conversations.end_call(&assistant_id, &call_id).await?;
        tracing::info!(session_id = %call_id, status, "call transfer connected; call over");
        return Ok(twiml(HANG_UP.to_owned()));
    }
    tracing::info!(session_id = %call_id, status, "call transfer failed");
    let planned = request.query("r") != Some("fallback");
    let target = engine
        .assistant()
        .voice_transfer(planned, request.query("a"), request.query("s"));
    let input = TurnInput {
        transfer_failed: Some(status.to_owned()),
        expected_turn: Some(turn_number),
        ..TurnInput::default()
    };
    let render = VoiceRender {
        webhook_url: webhook_url(&app, &assistant_id),
        history_link: app.conversations.history_link(&call_id),
        after_failed_transfer: Some(VoiceTransfer {
            on_failure: Some(
                target
                    .on_failure
                    .unwrap_or(baton_assistant::OnTransferFailure::Continue),
            ),
            ..target
        }),
    };
    let message_id = format!("voice:dial:{turn_number}");
    turn(&app, assistant_id, call_id, input, message_id, render).await
}

/// The call's status callback: a call that has ended ends its session.
#[utoipa::path(
    post,
    path = "/v1/voice/{assistant_id}/status",
    security(()),
    params(
        ("assistant_id" = String, Path, description = "The assistant's id"),
        ("X-Twilio-Signature" = String, Header, description = "The carrier's signature of the URL and the form"),
    ),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "The carrier's form: `CallSid` and `CallStatus`"),
    responses(
        (status = 200, content_type = "text/xml", body = String, description = "An empty TwiML document"),
        (status = "4XX", body = ErrorBody),
    ),
    tag = "voice"
)]
pub(crate) async fn status(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Call {
        request,
        assistant_id,
        call_id,
        ..
    } = open_call(&app, path, &uri, &headers, body)?;
    let status = request.get("CallStatus").ok_or(ApiError::MissingField("CallStatus"))?;
    let over = matches!(status, "completed" | "busy" | "no-answer" | "failed" | "canceled");
    if over {
        let ended = app.conversations.end_call(&assistant_id, &call_id).await?;
        tracing::info!(session_id = %call_id, status, ended, "call status");
    }
    Ok(twiml(EMPTY.to_owned()))
}

async fn turn(
    app: &App,
    assistant_id: String,
    call_id: String,
    input: TurnInput,
    message_id: String,
    render: VoiceRender,
) -> Result<Response, ApiError> {
    let message = CustomerMessage {
        assistant_id,
        session_id: call_id,
        input,
        client_message_id: Some(message_id),
    };
    let reply = app.conversations.message(message, render).await?;
    // The stored reply is the document as a JSON string.
    let document: String =
        serde_json::from_str(reply.get()).map_err(|error| ApiError::Internal(format!("stored TwiML: {error}")))?;
    Ok(twiml(document))
}

/// The routes, last in the file: the OpenAPI test reads them from here to the end.
pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/voice/{assistant_id}", post(call))
        .route("/v1/voice/{assistant_id}/dial", post(dial))
        .route("/v1/voice/{assistant_id}/status", post(status))
}
