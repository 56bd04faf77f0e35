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
    /// The phone channel, when its auth token is configured.
    pub voice: Option<VoiceAuth>,
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

/// The carrier's auth token and the address it calls Baton at. Its `Debug` hides the token.
pub(crate) struct VoiceAuth {
    auth_token: String,
    /// The address the carrier calls, without a trailing slash.
    pub public_url: String,
}

impl std::fmt::Debug for VoiceAuth {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("VoiceAuth")
            .field("auth_token", &"[redacted]")
            .field("public_url", &self.public_url)
            .finish()
    }
}

impl VoiceAuth {
    /// Checks a request's `X-Twilio-Signature` over `url` (as the carrier called it) and the form.
    pub(crate) fn verify(&self, url: &str, params: &[(String, String)], signature: Option<&str>) -> Result<(), String> {
        baton_connectors::signing::verify_twilio(&self.auth_token, url, params, signature)
            .map_err(|error| error.to_string())
    }

    /// The channel's settings from the configuration: `None` when no auth token is configured
    /// (the channel is off), an error when the one configured cannot be read.
    pub(crate) fn from_config(
        config: &crate::config::Config,
        public_url: &str,
        env: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<Option<VoiceAuth>, String> {
        let voice = &config.voice;
        if voice.auth_token_env.is_none() && voice.auth_token_file.is_none() {
            return Ok(None);
        }
        let auth_token = crate::desks::secret(
            "voice",
            "auth_token",
            (&voice.auth_token_env, &voice.auth_token_file),
            env,
        )?;
        let public_url = voice.public_url.as_deref().unwrap_or(public_url);
        Ok(Some(VoiceAuth {
            auth_token,
            public_url: public_url.trim_end_matches('/').to_owned(),
        }))
    }
}
