//! History links: a signed, expiring, read-only view of one conversation, for a desk's agent
//! (the link Watson gives desks to its agent app). The token is the session id, the expiry and
//! an HMAC-SHA256 of both under the server's history key; nothing is stored, and a token cannot
//! be widened to another session or a later expiry without the key.

use chrono::{DateTime, TimeZone, Utc};

use baton_connectors::signing;
use baton_desk::TranscriptLine;
use baton_store::SessionId;

use super::{ConversationError, Conversations, transcript};

/// The link to the conversation of `session_id`, valid for the configured time from now.
pub(crate) fn link(conversations: &Conversations, session_id: &str) -> String {
    let expires = (conversations.clock.now() + conversations.settings.history_link_ttl).timestamp();
    let signed = format!("{session_id}.{expires}");
    let digest = signing::digest_hex(&conversations.settings.history_key, signed.as_bytes());
    format!("{}/v1/history/{signed}.{digest}", conversations.settings.public_url)
}

/// A conversation as a history link shows it.
pub struct History {
    pub session_id: String,
    pub lines: Vec<TranscriptLine>,
    pub expires_at: DateTime<Utc>,
}

impl Conversations {
    /// The conversation a history token names, if the token is genuine and not expired.
    pub async fn history(&self, token: &str) -> Result<History, ConversationError> {
        let mut parts = token.rsplitn(3, '.');
        let (Some(digest), Some(expires), Some(session_id)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ConversationError::HistoryLinkInvalid);
        };
        let signed = format!("{session_id}.{expires}");
        if !signing::digest_matches(&self.settings.history_key, signed.as_bytes(), digest) {
            return Err(ConversationError::HistoryLinkInvalid);
        }
        let expires_at = expires
            .parse::<i64>()
            .ok()
            .and_then(|seconds| Utc.timestamp_opt(seconds, 0).single())
            .ok_or(ConversationError::HistoryLinkInvalid)?;
        if expires_at < self.clock.now() {
            return Err(ConversationError::HistoryLinkInvalid);
        }
        let stored = self.store.transcript(&SessionId::new(session_id)).await?;
        Ok(History {
            session_id: session_id.to_owned(),
            lines: transcript::lines(&stored, &[]),
            expires_at,
        })
    }
}
