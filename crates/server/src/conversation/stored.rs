//! A transfer as stored: the desk crate's [`Transfer`] state machine and its [`ChatRequest`],
//! opaque JSON to the store, read back and written after a change.

use chrono::{DateTime, Utc};

use baton_desk::{ChatRequest, QueueName, Transfer, TransferEntry, TransferState};
use baton_store::{NewEntry, StoredTransfer, TransferUpdate};

use super::{ConversationError, Conversations, transcript};

/// A stored transfer, read back.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub stored: StoredTransfer,
    pub transfer: Transfer,
    pub request: ChatRequest,
}

impl Loaded {
    pub fn decode(stored: StoredTransfer) -> Result<Loaded, ConversationError> {
        let transfer = serde_json::from_str(stored.value.get())
            .map_err(|error| ConversationError::Internal(format!("stored transfer {}: {error}", stored.id)))?;
        let request = serde_json::from_str(stored.request.get())
            .map_err(|error| ConversationError::Internal(format!("stored chat request {}: {error}", stored.id)))?;
        Ok(Loaded {
            stored,
            transfer,
            request,
        })
    }

    /// The queue the transfer waits in (the desk's default when the assistant named none).
    pub fn queue(&self, default: &QueueName) -> QueueName {
        self.transfer.queue().cloned().unwrap_or_else(|| default.clone())
    }

    /// Unavailable without a chat: the offline policy was "leave a message", so the customer's
    /// next message is the message.
    pub fn takes_message(&self) -> bool {
        self.transfer.state() == TransferState::Unavailable && self.transfer.chat().is_none()
    }
}

pub(crate) async fn load(conversations: &Conversations, id: &str) -> Result<Option<Loaded>, ConversationError> {
    match conversations.store.load_transfer(id).await? {
        Some(stored) => Ok(Some(Loaded::decode(stored)?)),
        None => Ok(None),
    }
}

/// The stored form of a transfer after a change.
pub(crate) fn update_of(transfer: &Transfer, entries: Vec<NewEntry>, at: DateTime<Utc>) -> TransferUpdate {
    TransferUpdate {
        id: transfer.id().to_string(),
        state: transfer.state().as_str().to_owned(),
        open: transfer.is_open(),
        agent_id: transfer.agent().map(|agent| agent.id.to_string()),
        chat_id: transfer.chat().map(ToString::to_string),
        value: transcript::raw(&serde_json::to_value(transfer).unwrap_or_default()),
        at,
        entries,
    }
}

/// Applies an input the desk or the customer's side gave; a refused one changes nothing.
pub(crate) fn apply(
    transfer: &mut Transfer,
    input: impl Into<baton_desk::TransferInput>,
    now: DateTime<Utc>,
) -> Vec<TransferEntry> {
    match transfer.apply(input, now) {
        Ok(entries) => entries,
        Err(error) => {
            tracing::warn!(%error, "transfer input refused");
            Vec::new()
        }
    }
}
