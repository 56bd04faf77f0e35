//! The calls the desk makes to a homeserver: the Matrix Client-Server API (v1.11, "Client-Server
//! API" at spec.matrix.org) over plain reqwest and JSON.
//!
//! Every call has a timeout. A call that the homeserver refuses for now is tried again: `429
//! M_LIMIT_EXCEEDED` after the `retry_after_ms` it names (Client-Server API, "Rate limiting"),
//! a 5xx or a dropped connection after a short backoff, but only for calls that are safe to repeat
//! (GET, PUT with a transaction id, and the idempotent membership calls). Whatever the homeserver
//! answers, the result is a `Value` or a [`CallError`], never a panic: callers read the `Value`
//! with `get`/`as_str` and treat anything missing as absent.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

/// How a call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum CallError {
    /// The homeserver answered with an error (`errcode` is the Matrix error code, e.g. `M_FORBIDDEN`).
    #[error("homeserver refused ({status} {errcode}): {message}")]
    Refused {
        status: u16,
        errcode: String,
        message: String,
        retry_after: Option<Duration>,
    },
    /// No answer: connection refused or reset, or the timeout passed.
    #[error("homeserver unreachable: {0}")]
    Transport(String),
    /// An answer that is not the JSON object the API promises.
    #[error("homeserver answered {status} with something other than a JSON object: {detail}")]
    Malformed { status: u16, detail: String },
}

impl CallError {
    /// The Matrix error code, when the homeserver gave one.
    pub(crate) fn errcode(&self) -> Option<&str> {
        match self {
            CallError::Refused { errcode, .. } => Some(errcode),
            _ => None,
        }
    }

    /// How long to wait before trying again, or `None` when trying again would not help.
    /// `attempt` counts from 1.
    fn retry_after(&self, attempt: u32, idempotent: bool) -> Option<Duration> {
        let backoff = Duration::from_millis(250 * 2u64.pow(attempt.min(6) - 1));
        match self {
            // A rate-limited request was not carried out: always safe to repeat.
            CallError::Refused {
                status: 429,
                retry_after,
                ..
            } => Some(retry_after.unwrap_or(backoff).min(MAX_RETRY_WAIT)),
            CallError::Refused { status, .. } | CallError::Malformed { status, .. } if *status >= 500 && idempotent => {
                Some(backoff)
            }
            CallError::Transport(_) if idempotent => Some(backoff),
            _ => None,
        }
    }
}

/// The longest a call waits for a rate limit to pass before it tries again.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);

/// How one call is made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    pub timeout: Duration,
    pub attempts: u32,
    /// Whether repeating the call after a 5xx or a lost connection is harmless.
    pub idempotent: bool,
}

impl Policy {
    /// Reads, transaction-id sends, membership changes: repeated on trouble.
    pub(crate) const SAFE: Policy = Policy {
        timeout: Duration::from_secs(15),
        attempts: 4,
        idempotent: true,
    };
    /// Calls that would do their work twice if repeated (creating a room): only 429 is repeated.
    pub(crate) const ONCE: Policy = Policy {
        timeout: Duration::from_secs(15),
        attempts: 4,
        idempotent: false,
    };
    /// Quick looks whose answer is only useful now (presence): one try, short timeout.
    pub(crate) const GLANCE: Policy = Policy {
        timeout: Duration::from_secs(5),
        attempts: 1,
        idempotent: true,
    };
}

/// A homeserver and the bot's access token.
#[derive(Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    /// The homeserver's base URL without a trailing slash.
    base: String,
    token: Option<String>,
}

impl Client {
    pub(crate) fn new(homeserver: &str) -> Result<Client, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("baton-connectors/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| format!("cannot build the HTTP client: {error}"))?;
        let base = homeserver.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!("homeserver must be an http(s) URL, not {base:?}"));
        }
        Ok(Client {
            http,
            base,
            token: None,
        })
    }

    pub(crate) fn with_token(mut self, token: String) -> Client {
        self.token = Some(token);
        self
    }

    /// Calls `/_matrix/client/v3{path}`; `path` has its segments already encoded with [`segment`].
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        policy: Policy,
    ) -> Result<Value, CallError> {
        let mut attempt = 1;
        loop {
            match self.call_once(method.clone(), path, query, body, policy.timeout).await {
                Ok(value) => return Ok(value),
                Err(error) => {
                    let wait = error.retry_after(attempt, policy.idempotent);
                    match wait {
                        Some(wait) if attempt < policy.attempts => {
                            tracing::debug!(%error, path, attempt, wait_ms = wait.as_millis() as u64, "matrix call retried");
                            tokio::time::sleep(wait).await;
                            attempt += 1;
                        }
                        _ => return Err(error),
                    }
                }
            }
        }
    }

    async fn call_once(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Value, CallError> {
        let url = format!("{}/_matrix/client/v3{path}", self.base);
        let mut request = self.http.request(method, &url).timeout(timeout).query(query);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|error| CallError::Transport(error.without_url().to_string()))?;
        let status = response.status().as_u16();
        let header_wait = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response
            .bytes()
            .await
            .map_err(|error| CallError::Transport(error.without_url().to_string()))?;
        let value = match serde_json::from_slice::<Value>(&bytes) {
            Ok(value @ Value::Object(_)) => value,
            Ok(_) => {
                return Err(CallError::Malformed {
                    status,
                    detail: "not an object".into(),
                });
            }
            Err(error) => {
                return Err(CallError::Malformed {
                    status,
                    detail: error.to_string(),
                });
            }
        };
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let text = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let retry_after = value
            .get("retry_after_ms")
            .and_then(Value::as_u64)
            .map(Duration::from_millis)
            .or(header_wait);
        Err(CallError::Refused {
            status,
            errcode: text("errcode"),
            message: text("error"),
            retry_after,
        })
    }
}

/// One path segment, percent-encoded: room ids (`!…`), aliases (`#…:server`), user ids (`@…`)
/// and event ids (`$…`) all carry characters that must not reach a URL raw.
pub fn segment(raw: &str) -> String {
    let mut encoded = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => encoded.push(byte as char),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(segment("!abc:example.org"), "%21abc%3Aexample.org");
        assert_eq!(segment("@ann:hs"), "%40ann%3Ahs");
        assert_eq!(segment("$e/v+t="), "%24e%2Fv%2Bt%3D");
        assert_eq!(segment("é"), "%C3%A9");
    }

    #[test]
    fn only_safe_calls_are_retried_after_a_server_error() {
        let server = CallError::Refused {
            status: 502,
            errcode: String::new(),
            message: String::new(),
            retry_after: None,
        };
        assert!(server.retry_after(1, true).is_some());
        assert!(server.retry_after(1, false).is_none());
        let limited = CallError::Refused {
            status: 429,
            errcode: "M_LIMIT_EXCEEDED".into(),
            message: String::new(),
            retry_after: Some(Duration::from_secs(3600)),
        };
        assert_eq!(limited.retry_after(1, false), Some(MAX_RETRY_WAIT));
        let forbidden = CallError::Refused {
            status: 403,
            errcode: "M_FORBIDDEN".into(),
            message: String::new(),
            retry_after: None,
        };
        assert!(forbidden.retry_after(1, true).is_none());
    }
}
