//! [`App`]: what every HTTP handler shares — the configuration, the conversations, and the
//! HTTP side's own state (rate limits, API keys recently verified, shutting down).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use baton_dialog::Engine;
use baton_store::Store;

use crate::auth::VerifiedKeys;
use crate::config::Config;
use crate::conversation::Conversations;
use crate::error::ApiError;
use crate::limit::RateLimiter;
use crate::metrics::Metrics;

/// The environments every assistant has.
pub const ENVIRONMENTS: [&str; 2] = ["draft", "live"];

/// Shared by every request.
pub(crate) struct App {
    pub config: Config,
    pub conversations: Arc<Conversations>,
    /// For API keys and the readiness probe; the conversations hold the same store.
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    pub limiter: RateLimiter,
    /// Agent logins, per client address and per username.
    pub login_limiter: RateLimiter,
    /// API keys recently found in the store.
    pub verified_keys: VerifiedKeys,
    pub shutting_down: AtomicBool,
}

impl App {
    /// The engine for an assistant id and environment (`draft`, `live`, or none on old paths).
    pub fn engine(&self, assistant_id: &str, environment_id: Option<&str>) -> Result<Arc<Engine>, ApiError> {
        if let Some(environment) = environment_id
            && !ENVIRONMENTS.contains(&environment)
        {
            return Err(ApiError::EnvironmentNotFound(environment.to_owned()));
        }
        self.conversations
            .engine(assistant_id)
            .ok_or_else(|| ApiError::AssistantNotFound(assistant_id.to_owned()))
    }
}
