//! Every outgoing call to a desk goes through a [`Guard`]: a timeout per attempt, a bounded
//! number of attempts with exponential backoff (a `429` waits what its `Retry-After` says, up
//! to a cap), and a circuit breaker per desk, so a desk that is down costs one fast error per
//! call instead of a timeout each, and comes back on its own after a pause.
//!
//! Only the calls for a chat on that desk go through its guard: a desk that hangs delays its own
//! chats and nobody else's turns.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use baton_desk::DeskError;
use serde::{Deserialize, Serialize};

/// How a desk's calls are retried and when its breaker opens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Seconds one attempt may take (connect, send and read the answer).
    pub timeout_secs: f64,
    /// Attempts per call, the first included.
    pub attempts: u32,
    /// Seconds before the second attempt; doubled before each further one.
    pub backoff_secs: f64,
    /// The longest wait between attempts, `Retry-After` included.
    pub max_backoff_secs: f64,
    /// Calls failing in a row (after their retries) that open the breaker.
    pub failures_to_open: u32,
    /// Seconds the breaker stays open before one call is let through to try the desk again.
    pub open_secs: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            timeout_secs: 5.0,
            attempts: 3,
            backoff_secs: 0.2,
            max_backoff_secs: 5.0,
            failures_to_open: 5,
            open_secs: 30.0,
        }
    }
}

impl Policy {
    /// Checks the numbers; the error names the key.
    pub fn check(&self) -> Result<(), String> {
        let positive = [
            ("timeout_secs", self.timeout_secs),
            ("backoff_secs", self.backoff_secs),
            ("max_backoff_secs", self.max_backoff_secs),
            ("open_secs", self.open_secs),
        ];
        for (key, value) in positive {
            if !(value.is_finite() && value > 0.0 && value <= 3600.0) {
                return Err(format!(
                    "{key} must be a number of seconds above 0 and at most 3600, not {value}"
                ));
            }
        }
        if !(1..=10).contains(&self.attempts) {
            return Err(format!("attempts must be 1 to 10, not {}", self.attempts));
        }
        if self.failures_to_open == 0 {
            return Err("failures_to_open must be at least 1".to_owned());
        }
        Ok(())
    }

    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let seconds = self.backoff_secs * 2f64.powi(attempt.saturating_sub(1) as i32);
        Duration::from_secs_f64(seconds.min(self.max_backoff_secs))
    }
}

#[derive(Debug, Default)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
}

/// A desk's HTTP client with its policy and breaker.
pub struct Guard {
    desk: String,
    client: reqwest::Client,
    policy: Policy,
    breaker: Mutex<Breaker>,
}

/// What one attempt came to.
enum Attempt {
    Done(reqwest::Response),
    Retry { after: Option<Duration>, error: String },
    Fail { status: u16, error: String },
}

impl Guard {
    pub fn new(desk: &str, policy: Policy) -> Result<Guard, DeskError> {
        policy
            .check()
            .map_err(|error| DeskError::Config(format!("desk {desk}: {error}")))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs_f64(policy.timeout_secs))
            .connect_timeout(Duration::from_secs_f64(policy.timeout_secs))
            .user_agent(concat!("baton/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| DeskError::Config(format!("desk {desk}: HTTP client: {error}")))?;
        Ok(Guard {
            desk: desk.to_owned(),
            client,
            policy,
            breaker: Mutex::new(Breaker::default()),
        })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Whether the breaker lets a call through now.
    pub fn is_open(&self) -> bool {
        let breaker = self.breaker.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        breaker.open_until.is_some_and(|until| Instant::now() < until)
    }

    /// Sends the request `build` makes, attempt after attempt; a success is any `2xx`. A `4xx`
    /// other than `408` and `429` is the desk refusing this call and is not retried.
    pub async fn send(
        &self,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, DeskError> {
        if self.is_open() {
            return Err(DeskError::Desk(format!(
                "desk {} is failing; calls are paused (circuit open)",
                self.desk
            )));
        }
        let mut last_error = String::new();
        for attempt in 1..=self.policy.attempts {
            match self.attempt(build(&self.client)).await {
                Attempt::Done(response) => {
                    self.record(true);
                    return Ok(response);
                }
                Attempt::Fail { status, error } => {
                    // The desk answered and refused: it is up, the call is wrong.
                    self.record_reachable();
                    return Err(DeskError::Refused {
                        status,
                        detail: format!("desk {}: {error}", self.desk),
                    });
                }
                Attempt::Retry { after, error } => {
                    last_error = error;
                    if attempt < self.policy.attempts {
                        let wait = after
                            .unwrap_or_else(|| self.policy.backoff(attempt))
                            .min(Duration::from_secs_f64(self.policy.max_backoff_secs));
                        tracing::debug!(desk = %self.desk, attempt, ?wait, error = %last_error, "retrying a desk call");
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        }
        self.record(false);
        Err(DeskError::Desk(format!(
            "desk {} did not answer after {} attempts: {last_error}",
            self.desk, self.policy.attempts
        )))
    }

    /// [`Guard::send`], and the answer's JSON: `Null` for an empty body; `what` names the call
    /// in errors.
    pub async fn send_json(
        &self,
        what: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<serde_json::Value, DeskError> {
        let text = self
            .send(build)
            .await?
            .text()
            .await
            .map_err(|error| DeskError::Desk(format!("{what}: reading the answer: {error}")))?;
        if text.trim().is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_str(&text).map_err(|_| DeskError::Desk(format!("{what} answered something other than JSON")))
    }

    async fn attempt(&self, request: reqwest::RequestBuilder) -> Attempt {
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                return Attempt::Retry {
                    after: None,
                    error: describe(&error),
                };
            }
        };
        let status = response.status();
        if status.is_success() {
            return Attempt::Done(response);
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<f64>().ok())
            .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
            .map(Duration::from_secs_f64);
        let body: String = response.text().await.unwrap_or_default().chars().take(300).collect();
        let error = format!("{status}: {body}");
        if status.as_u16() == 429 || status.as_u16() == 408 || status.is_server_error() {
            Attempt::Retry {
                after: retry_after,
                error,
            }
        } else {
            Attempt::Fail {
                status: status.as_u16(),
                error,
            }
        }
    }

    fn record(&self, success: bool) {
        let mut breaker = self.breaker.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if success {
            *breaker = Breaker::default();
            return;
        }
        breaker.failures += 1;
        if breaker.failures >= self.policy.failures_to_open {
            tracing::warn!(desk = %self.desk, failures = breaker.failures, "desk calls failing: pausing them");
            breaker.open_until = Some(Instant::now() + Duration::from_secs_f64(self.policy.open_secs));
        }
    }

    fn record_reachable(&self) {
        let mut breaker = self.breaker.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *breaker = Breaker::default();
    }
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        error.to_string()
    }
}
