//! What every JSON route does with a request before it means anything: the body read and
//! checked (size, content type, UTF-8, shape, naming the field at fault), IBM's required
//! `version`, the client's message id, and a reply already serialised.

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::error::ApiError;

/// The header that carries a client's message id.
pub const CLIENT_MESSAGE_ID: &str = "x-client-message-id";
/// Longest client message id accepted.
const MAX_CLIENT_MESSAGE_ID: usize = 128;

/// A request body, or why it could not be read.
pub type Body = Result<Bytes, BytesRejection>;

/// The query string: the routes read only `version` from it, so it is scanned, not parsed into
/// a map (a map cost 3,700 instructions per message).
pub type Params = RawQuery;

/// A reply already serialised (the text a turn also stores), sent as it is. Through `Json` it
/// was written out once more, into a buffer grown from 128 bytes.
pub struct RawJson(pub Box<RawValue>);

impl IntoResponse for RawJson {
    fn into_response(self) -> Response {
        let text: Box<str> = self.0.into();
        let mut response = axum::body::Body::from(String::from(text)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}

/// IBM requires `version` on every call; the SDKs always send it.
pub fn require_version(RawQuery(query): Params) -> Result<(), ApiError> {
    // The last `version` counts, as when the pairs were collected into a map.
    let version = form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes())
        .filter(|(name, _)| name == "version")
        .last();
    match version {
        Some((_, version)) if !version.trim().is_empty() => Ok(()),
        _ => Err(ApiError::MissingVersion),
    }
}

/// A path that did not parse.
pub fn path_error(rejection: PathRejection) -> ApiError {
    ApiError::InvalidRequest(format!("path: {}", rejection.body_text()))
}

/// Reads a JSON body: checks size, content type, UTF-8 and shape, naming the field at fault.
/// An empty body without a content type reads as `{}`.
pub fn parse_body<T: DeserializeOwned + Serialize>(headers: &HeaderMap, body: Body) -> Result<T, ApiError> {
    let bytes = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(0),
        _ => ApiError::InvalidRequest(rejection.body_text()),
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap_or(""));
    let bytes: &[u8] = match (content_type, bytes.is_empty()) {
        (None, true) => b"{}",
        (None, false) => return Err(ApiError::UnsupportedMediaType),
        (Some(content_type), _) if !is_json(content_type) => return Err(ApiError::UnsupportedMediaType),
        (Some(_), true) => b"{}",
        (Some(_), false) => &bytes,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| ApiError::InvalidUtf8)?;
    // serde reads a struct from an array too (`[null, null]` as a message with no input); every
    // body of this API is an object.
    if text.trim_start().starts_with('[') {
        return Err(ApiError::InvalidRequest(
            "the body must be a JSON object, not an array".to_owned(),
        ));
    }
    // Read plainly first; only a body that fails is read again to name the field at fault
    // (tracking the path cost every message 2,700 instructions).
    if let Ok(value) = serde_json::from_str(text) {
        // Inside the body too, serde reads a struct from an array of its fields; only a body
        // with a `[` can hold one, so the others are not read twice.
        if bytes.contains(&b'[') {
            refuse_arrays_for_objects(text, &value)?;
        }
        return Ok(value);
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data if path != "." => ApiError::InvalidRequest(format!("{path}: {inner}")),
            serde_json::error::Category::Data => ApiError::InvalidRequest(inner.to_string()),
            _ => ApiError::InvalidJson(inner.to_string()),
        }
    })?;
    deserializer
        .end()
        .map_err(|error| ApiError::InvalidJson(error.to_string()))?;
    Ok(value)
}

/// Refuses a body that gives an array where the request has an object (`"input": [null]`),
/// naming the first such place: `read` is what serde made of `text`.
fn refuse_arrays_for_objects<T: Serialize>(text: &str, read: &T) -> Result<(), ApiError> {
    let (Ok(sent), Ok(read)) = (
        serde_json::from_str::<serde_json::Value>(text),
        serde_json::to_value(read),
    ) else {
        return Ok(());
    };
    match array_for_object(&sent, &read) {
        Some(path) => Err(ApiError::InvalidRequest(format!(
            "{path}: invalid type: sequence, expected an object"
        ))),
        None => Ok(()),
    }
}

/// The path of the first place where `sent` has an array and `read` an object (`.` for the
/// whole body).
fn array_for_object(sent: &serde_json::Value, read: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let under = |step: String, path: String| match path.as_str() {
        "." => step,
        _ => format!("{step}.{path}"),
    };
    match (sent, read) {
        (Value::Array(_), Value::Object(_)) => Some(".".to_owned()),
        (Value::Object(sent), Value::Object(read)) => sent
            .iter()
            .find_map(|(key, sent)| Some(under(key.clone(), array_for_object(sent, read.get(key)?)?))),
        (Value::Array(sent), Value::Array(read)) => sent
            .iter()
            .zip(read)
            .enumerate()
            .find_map(|(index, (sent, read))| Some(under(format!("[{index}]"), array_for_object(sent, read)?))),
        _ => None,
    }
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

pub fn client_message_id(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(CLIENT_MESSAGE_ID) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::InvalidHeader(format!("{CLIENT_MESSAGE_ID} must be visible ASCII")))?
        .trim();
    let valid = !value.is_empty() && value.len() <= MAX_CLIENT_MESSAGE_ID;
    if !valid {
        return Err(ApiError::InvalidHeader(format!(
            "{CLIENT_MESSAGE_ID} must be 1 to {MAX_CLIENT_MESSAGE_ID} characters"
        )));
    }
    Ok(Some(value.to_owned()))
}
