//! Calls from desks to `POST /v1/desks/{name}/webhook`: handed, untouched, to the named desk's
//! [`WebhookReceiver`](baton_desk::WebhookReceiver), which verifies and applies them; what it
//! says becomes a [`ConversationError`] the HTTP side maps to a status. With replicas, a call
//! that arrives at a server not holding the desk is handed to the one that does (`lead`).

use baton_desk::{DeskError, WebhookOutcome, WebhookRequest};

use super::{ConversationError, Conversations, lead};

impl Conversations {
    /// A desk's webhook call. Nothing changes unless the desk's signature is right.
    pub async fn desk_webhook(
        &self,
        desk: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<WebhookOutcome, ConversationError> {
        lead::webhook(self, desk, headers, body).await
    }

    /// A desk's webhook call, on the desk this process holds.
    pub(crate) async fn receive_webhook(
        &self,
        desk: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<WebhookOutcome, ConversationError> {
        let receiver = self
            .desk
            .named(Some(desk))
            .and_then(|service| service.webhook())
            .ok_or_else(|| ConversationError::DeskNotFound(desk.to_owned()))?;
        let outcome = receiver
            .receive(WebhookRequest { headers, body })
            .await
            .map_err(|error| match error {
                DeskError::Unauthenticated(detail) => ConversationError::DeskSignature(detail),
                DeskError::BadEvent(detail) => ConversationError::DeskEvent(detail),
                DeskError::InvalidId { kind, value } => {
                    ConversationError::DeskEvent(format!("invalid {kind}: {value:?}"))
                }
                DeskError::UnknownChat(chat) => ConversationError::ChatNotFound(chat.to_string()),
                other => ConversationError::Internal(format!("desk {desk}: {other}")),
            })?;
        if outcome == WebhookOutcome::Duplicate {
            tracing::debug!(desk, "a desk event delivered again was dropped");
        }
        Ok(outcome)
    }
}
