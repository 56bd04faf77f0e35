//! Phone calls: a call is a session whose id is the carrier's call id, opened by the call's
//! first webhook and ended when the carrier says the call is over. Its turns are ordinary
//! customer turns (`turn`), with silence and a failed call transfer as inputs of their own.

use serde_json::value::to_raw_value;

use baton_assistant::{Question, ResponseType};
use baton_desk::TransferCommand;
use baton_dialog::{Engine, Session, VOICE_CHANNEL};
use baton_store::{NewSession, SessionId, StoreError};

use super::{ConversationError, Conversations, transfer};

impl Conversations {
    /// Opens the session of a call unless it exists already (a retried first webhook); the
    /// caller's number is the session's user id.
    pub async fn answer_call(
        &self,
        assistant_id: &str,
        call_id: &str,
        caller: Option<&str>,
    ) -> Result<(), ConversationError> {
        if !self.assistants.contains(assistant_id) {
            return Err(ConversationError::AssistantNotFound(assistant_id.to_owned()));
        }
        let now = self.clock.now();
        let session = Session::new(caller.map(str::to_owned), Some(VOICE_CHANNEL.to_owned()));
        let state = to_raw_value(&session).map_err(|error| ConversationError::Internal(error.to_string()))?;
        let new = NewSession {
            id: SessionId::new(call_id),
            assistant_id: assistant_id.to_owned(),
            state,
            created_at: now,
            idle_timeout: self.settings.session_timeout,
        };
        match self.store.create_session(new).await {
            Ok(()) => {
                self.active.touch(call_id, now);
                self.metrics.session_created();
                tracing::info!(session_id = %call_id, assistant = %assistant_id, "call answered");
                Ok(())
            }
            // The call's session exists: this is a retry, or another assistant's call id (which
            // the turn then refuses as not found).
            Err(StoreError::Conflict(_)) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// The call is over (the caller hung up, or the agent's leg ended): its session ends, its
    /// transcript is kept, and an open transfer is abandoned. False when it had ended already.
    pub async fn end_call(&self, assistant_id: &str, call_id: &str) -> Result<bool, ConversationError> {
        let _guard = self.locks.lock(call_id).await;
        let stored = match self.open_session(assistant_id, call_id).await {
            Ok(stored) => stored,
            Err(ConversationError::SessionExpired) => return Ok(false),
            Err(error) => return Err(error),
        };
        self.store.end_session(&stored.id, self.clock.now()).await?;
        transfer::end_by_customer(self, call_id, TransferCommand::Abandon, None).await?;
        self.active.forget(call_id);
        self.metrics.session_deleted();
        tracing::info!(session_id = %call_id, "call ended");
        Ok(true)
    }
}

/// The question the session waits on, if any.
pub fn waiting_question<'a>(engine: &'a Engine, session: &Session) -> Option<&'a Question> {
    let frame = session.stack.last().filter(|frame| frame.waiting)?;
    let action = engine.assistant().action(frame.action.id())?;
    action.steps.get(frame.step)?.question.as_ref()
}

/// What keys pressed on a phone mean: the option of that number when options were offered (the
/// last turn's, or the waiting `options` question's), otherwise the digits themselves (a number,
/// an account, a date typed as digits).
pub fn keypad_answer(engine: &Engine, session: &Session, digits: &str) -> String {
    let position = digits
        .trim_end_matches(['#', '*'])
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1));
    if let Some(position) = position {
        if let Some(value) = session.offered.get(position) {
            return value.clone();
        }
        if session.offered.is_empty()
            && let Some(question) = waiting_question(engine, session)
            && question.kind == ResponseType::Options
            && let Some(option) = question.options.get(position)
        {
            return option.value().to_owned();
        }
    }
    digits.trim_end_matches('#').to_owned()
}
