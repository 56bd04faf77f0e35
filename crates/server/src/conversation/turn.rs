//! One customer message: lock the session in this process (so concurrent messages on one
//! session queue up instead of racing), load it, run the turn, decide what it means for the
//! session's transfer, and commit state, transcript, the transfer and the rendered reply in one
//! transaction *before* answering; the store's version check catches a writer in another
//! process, and the turn is then redone on the fresh state.
//!
//! The message is classified once; the runtime decides everything about the conversation,
//! including a request for a person while a transfer is open ([`Effect::AgentRequestedAgain`])
//! and, from the desk's availability given to it, what the customer is told about a new
//! transfer ([`baton_dialog::answer_transfer`]). This module carries out what the runtime
//! decided with the store and the desk.
//!
//! A retried message is recognised by its client message id: within one session, an id already
//! answered gets the stored reply again and the turn does not run twice. It is caught when its
//! turn commits (the reply's unique key refuses a second answer), and the next attempt finds the
//! stored reply; looking the reply up first would cost every message a read.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::value::{RawValue, to_raw_value};

use baton_assistant::Value;
use baton_desk::{TransferCommand, TransferState};
use baton_dialog::{Effect, Engine, Event, IntentScore, Message, Session, TransferOutcome, Turn, TurnDebug};
use baton_store::{StoreError, StoredReply, StoredSession, Ticket, TransferWrite, TurnRecord};

use super::lead::{self, DeskCall};
use super::stored::{self, Loaded};
use super::transcript::{self, AgentLine};
use super::transfer::{self, Opening};
use super::{ConversationError, Conversations};

/// How often a turn is redone after another writer changed the session first.
/// In one process the session's lock lets only a desk event in between; with replicas on one
/// PostgreSQL database each replica's turn of the session can win the row first, so a turn may
/// lose a few times in a row before it lands (each loss means another turn committed).
const COMMIT_ATTEMPTS: usize = 16;

/// A pause before the next attempt, growing with the attempts and varied by the clock's
/// nanoseconds so two replicas that collided do not retry in step: 0–2 ms, then up to 32 ms.
fn retry_pause(attempt: usize) -> std::time::Duration {
    let ceiling_micros = 1_000u64 << attempt.min(5);
    let spread = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| u64::from(elapsed.subsec_nanos()));
    std::time::Duration::from_micros(spread % ceiling_micros)
}

/// What the customer sent, validated.
#[derive(Debug, Clone, Default)]
pub struct TurnInput {
    /// `None` or empty: start the conversation (Greet customer).
    pub text: Option<String>,
    pub restart: bool,
    /// Variables the client sets.
    pub variables: serde_json::Map<String, serde_json::Value>,
    pub user_id: Option<String>,
    /// Keys the customer pressed on a phone, read by [`super::keypad_answer`] when the turn
    /// runs (they may pick one of the options offered); used when there is no `text`.
    pub digits: Option<String>,
    /// The customer was asked and said nothing (a phone caller's silence): an answer that
    /// matches nothing, counted as a miss or an invalid answer like any other; not a start.
    pub no_input: bool,
    /// The transfer of the call failed (busy, no answer, …; the carrier's status): the open
    /// transfer fails and the assistant takes the customer back.
    pub transfer_failed: Option<String>,
    /// The session's `turn_count` this input answers (a phone turn names the prompt it answers):
    /// an input for another turn, unless already answered, is refused as stale.
    pub expected_turn: Option<u32>,
}

/// A customer's message for a stored session.
#[derive(Debug, Clone)]
pub struct CustomerMessage {
    pub assistant_id: String,
    pub session_id: String,
    pub input: TurnInput,
    /// Makes a retried message answered once.
    pub client_message_id: Option<String>,
}

/// How the caller's protocol shows a reply. The conversation stores what it renders, so a
/// retried message gets the same bytes again.
pub trait Render: Send + Sync + 'static {
    /// Whether the reply lists every intent's score, not only the matched action's.
    fn all_intents(&self) -> bool;
    fn render(&self, reply: &Reply<'_>) -> Box<RawValue>;
}

/// What a turn has to show, in order: agent messages the customer has not had in a reply, the
/// turn's effects, then what the assistant says after them.
pub struct Reply<'a> {
    pub engine: &'a Engine,
    pub session_id: &'a str,
    /// The session after the turn.
    pub session: &'a Session,
    /// Agent messages since the customer's previous message (for clients of the message API
    /// alone, which have no event socket).
    pub agent_lines: &'a [AgentLine],
    pub effects: &'a [Effect],
    pub debug: &'a TurnDebug,
    /// Every intent's score, best first, when the renderer asked for them.
    pub intents: &'a [IntentScore],
    /// Said after the effects: where the customer stands in the queue, the assistant's answer
    /// when a left message closes the transfer.
    pub after: &'a [Message],
}

/// Runs `input` through `engine`: the variables and user id the client gives, a restart, then
/// Greet customer (no text) or the classified message. The scores are kept only when asked.
pub(crate) fn run_engine(
    engine: &Engine,
    mut session: Session,
    input: &TurnInput,
    keep_scores: bool,
    now: DateTime<Utc>,
) -> (Turn, Vec<IntentScore>) {
    if session.user_id.is_none() {
        session.user_id = input.user_id.clone();
    }
    for (name, value) in &input.variables {
        session.set_variable(name.clone(), Value::from_json(value));
    }
    if input.restart {
        session = Session {
            variables: session.variables,
            user_id: session.user_id,
            channel: session.channel,
            ..Session::default()
        };
    }
    if let Some(status) = &input.transfer_failed {
        tracing::debug!(%status, "the call's transfer failed");
        let event = Event::TransferEnded {
            outcome: TransferOutcome::Failed,
        };
        return (engine.event(session, event, now), Vec::new());
    }
    let text = match (text_of(input), input.no_input) {
        (Some(text), _) => text,
        (None, true) => "",
        (None, false) => return (engine.start(session, now), Vec::new()),
    };
    // A conversation whose first message has text has not run Greet customer, which sets the
    // session variables' initial values: run it first, without showing its messages, as IBM's
    // first turn with text does not show the welcome. (`started` is new; a session stored
    // before it has lines in its history instead.)
    let fresh = !session.started && session.turn_count == 0 && session.history.is_empty() && session.stack.is_empty();
    if fresh {
        session = engine.start(session, now).session;
    }
    // Silence is classified as nothing: no intent, so it misses like an answer that matches nothing.
    let scores = match text.is_empty() {
        true => Vec::new(),
        false => engine.classifier().classify(text),
    };
    let kept = match keep_scores {
        true => scores.clone(),
        false => Vec::new(),
    };
    let event = Event::UserSaid {
        text: text.to_owned(),
        intents: scores,
    };
    (engine.event(session, event, now), kept)
}

/// The message's text, trimmed; `None` when there is none.
fn text_of(input: &TurnInput) -> Option<&str> {
    input.text.as_deref().map(str::trim).filter(|text| !text.is_empty())
}

/// What a committed turn still has to do about a transfer.
enum After {
    Nothing,
    /// The transfer closed in the turn.
    Closed(TransferState),
    /// Relay the customer's message (text, id) to the desk.
    Relay(Box<Loaded>, String, String),
    /// Ask the desk for a chat.
    Start(Box<Opening>),
}

impl Conversations {
    /// Answers a customer's message in a stored session; the reply as `render` shows it.
    /// The turn runs in a task the conversation tracks, so a client hanging up cannot cancel it
    /// halfway, and shutdown waits for it.
    pub async fn message<R: Render>(
        self: &Arc<Self>,
        message: CustomerMessage,
        render: R,
    ) -> Result<Box<RawValue>, ConversationError> {
        let engine = self
            .assistants
            .get(&message.assistant_id)
            .ok_or_else(|| ConversationError::AssistantNotFound(message.assistant_id.clone()))?;
        // Boxed: the turn's future is a few KiB, which spawning would otherwise copy more than once.
        let task = self.tracker.spawn({
            let conversations = self.clone();
            Box::pin(async move { conversations.customer_turn(&engine, &message, &render).await })
        });
        task.await
            .map_err(|error| ConversationError::Internal(format!("turn task failed: {error}")))?
    }

    /// A stateless message: the session travels with the request, nothing is stored, and the
    /// simulated desk's setting says whether agents are online.
    pub fn stateless<R: Render>(
        &self,
        engine: &Engine,
        session: Session,
        session_id: &str,
        input: &TurnInput,
        render: &R,
    ) -> Box<RawValue> {
        let started = std::time::Instant::now();
        let (mut turn, intents) = run_engine(engine, session, input, render.all_intents(), self.clock.now());
        let agents = match self.settings.agents_online {
            true => baton_dialog::AgentsAvailable::Online,
            false => baton_dialog::AgentsAvailable::Offline {
                back_to_assistant: false,
            },
        };
        baton_dialog::answer_transfer(&mut turn, agents);
        self.count_transfers(session_id, &turn.effects);
        let reply = Reply {
            engine,
            session_id,
            session: &turn.session,
            agent_lines: &[],
            effects: &turn.effects,
            debug: &turn.debug,
            intents: &intents,
            after: &[],
        };
        let rendered = render.render(&reply);
        self.metrics.message(started.elapsed());
        rendered
    }

    // A debug span: building an info one (its fields formatted for the log) cost 4% of a
    // message's instructions; the info events inside name the session themselves.
    #[tracing::instrument(level = "debug", skip_all, fields(session_id = %message.session_id, assistant = %message.assistant_id, step = tracing::field::Empty))]
    async fn customer_turn(
        self: &Arc<Self>,
        engine: &Engine,
        message: &CustomerMessage,
        render: &impl Render,
    ) -> Result<Box<RawValue>, ConversationError> {
        let started = std::time::Instant::now();
        let session_id = message.session_id.as_str();
        let guard = self.locks.lock(session_id).await;
        for attempt in 0..COMMIT_ATTEMPTS {
            let now = self.clock.now();
            let stored = match self.open_session(&message.assistant_id, session_id).await {
                Err(ConversationError::SessionExpired) => {
                    self.active.forget(session_id);
                    tracing::info!(session_id = %session_id, "message for an ended session");
                    return Err(ConversationError::SessionExpired);
                }
                other => other?,
            };
            if attempt > 0
                && let Some(message_id) = &message.client_message_id
                && let Some(reply) = self.store.find_reply(&stored.id, message_id).await?
            {
                self.metrics.replayed();
                tracing::debug!("answered a retried message from the stored reply");
                return Ok(reply);
            }
            let mut session = match self.active.take(session_id, stored.version) {
                Some(session) => session,
                None => read_session(&stored)?,
            };
            if let Some(expected) = message.input.expected_turn
                && expected != session.turn_count
            {
                // Answered already (a carrier's retry), or an input for a prompt long gone.
                let answered = match &message.client_message_id {
                    Some(message_id) => self.store.find_reply(&stored.id, message_id).await?,
                    None => None,
                };
                self.active.keep(session_id, now, stored.version, session);
                return match answered {
                    Some(reply) => {
                        self.metrics.replayed();
                        Ok(reply)
                    }
                    None => Err(ConversationError::StaleTurn { turn: expected }),
                };
            }
            let open = match session.transfer_open {
                true => self.store.open_transfer_of(&stored.id).await?,
                false => None,
            };
            let open = open.map(Loaded::decode).transpose()?;
            if session.transfer_open && open.is_none() {
                // The runtime waits for a transfer that is not open (one asked for outside a
                // customer turn, or from before the desk was wired): the assistant answers again.
                session.transfer_open = false;
            }
            let keyed;
            let input = match &message.input.digits {
                Some(digits) if text_of(&message.input).is_none() => {
                    keyed = TurnInput {
                        text: Some(super::keypad_answer(engine, &session, digits)),
                        ..message.input.clone()
                    };
                    &keyed
                }
                _ => &message.input,
            };
            let decided = Box::pin(self.decide(engine, &stored, session, open, input, render, now)).await?;
            let Decided {
                turn,
                intents,
                mut entries,
                transfer_write,
                after,
                agent_lines,
                said_after,
            } = decided;
            if let Some(step) = current_step(engine, &turn.session) {
                tracing::Span::current().record("step", step.as_str());
            }
            let reply = Reply {
                engine,
                session_id,
                session: &turn.session,
                agent_lines: &agent_lines,
                effects: &turn.effects,
                debug: &turn.debug,
                intents: &intents,
                after: &said_after,
            };
            // Rendered once: the same text is the stored reply (with a message id) and the body.
            let response = render.render(&reply);
            let reply = message.client_message_id.as_ref().map(|message_id| StoredReply {
                client_message_id: message_id.clone(),
                response: response.clone(),
            });
            // Straight to JSON text, not through a `Value` first: the same text (`preserve_order`
            // keeps fields in serialisation order) for one pass instead of two.
            let state = to_raw_value(&turn.session).map_err(|error| ConversationError::Internal(error.to_string()))?;
            let record = TurnRecord {
                session_id: stored.id.clone(),
                expected_version: stored.version,
                state,
                at: now,
                entries: std::mem::take(&mut entries),
                reply,
                transfer: transfer_write,
            };
            let committed = match self.store.commit_turn(record).await {
                Ok(committed) => committed,
                Err(StoreError::Conflict(_) | StoreError::TransferAlreadyOpen { .. }) => {
                    // Another writer got there first, or this message id has been answered
                    // already (a retry): reload and look again.
                    tracing::debug!("turn refused at commit; reloading the session");
                    if attempt > 0 {
                        // Racing another replica: let it finish rather than collide again.
                        tokio::time::sleep(retry_pause(attempt)).await;
                    }
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            self.count_transfers(session_id, &turn.effects);
            self.active.keep(session_id, now, committed.version, turn.session);
            match after {
                After::Nothing => {}
                After::Closed(state) => self.metrics.transfer_ended(state.as_str()),
                After::Relay(loaded, text, message_id) => {
                    Box::pin(transfer::relay(self, &loaded, &message_id, &text, now)).await;
                }
                After::Start(opening) => {
                    self.metrics.transfer_opened();
                    // The desk is asked after the reply, so a slow desk does not hold up the
                    // customer's answer. The session's lock goes with the task: the customer's
                    // next message, and every desk event, wait until the chat is open.
                    // Tracked like a turn, so a graceful shutdown waits for it too.
                    let conversations = self.clone();
                    let session_id = session_id.to_owned();
                    self.tracker.spawn(async move {
                        transfer::start(&conversations, &session_id, *opening).await;
                        drop(guard);
                    });
                }
            }
            self.metrics.message(started.elapsed());
            tracing::debug!("turn committed");
            return Ok(response);
        }
        Err(ConversationError::Conflict)
    }

    /// Runs the turn and decides what it means for the session's transfer: a message left, a
    /// message for the agent, or a transfer to open.
    #[allow(clippy::too_many_arguments)]
    async fn decide(
        &self,
        engine: &Engine,
        stored: &StoredSession,
        session: Session,
        open: Option<Loaded>,
        input: &TurnInput,
        render: &impl Render,
        now: DateTime<Utc>,
    ) -> Result<Decided, ConversationError> {
        let text = text_of(input);
        if input.transfer_failed.is_some() {
            // Boxed, as the other rare branches below: an awaited future is held inline, so the
            // largest branch sets the size of every turn's future, which is copied when boxed.
            return Box::pin(self.transfer_failed(engine, session, open, input, render, now)).await;
        }
        let Some(loaded) = open else {
            return self
                .turn_without_transfer(engine, stored, session, input, render, now)
                .await;
        };
        let Some(text) = text else {
            // No text (a client starting over) while a transfer is open: the assistant stays
            // silent rather than greeting again; the reply brings what agents wrote.
            return Ok(Decided {
                turn: Turn {
                    session,
                    effects: Vec::new(),
                    debug: TurnDebug::default(),
                },
                agent_lines: self.agent_lines(stored).await?,
                ..Decided::default()
            });
        };
        let (turn, intents) = run_engine(engine, session, input, render.all_intents(), now);
        if loaded.takes_message() {
            return Box::pin(self.leave_message(engine, stored, turn, intents, &loaded, text, now)).await;
        }
        // The message's id, for read receipts, in its transcript entry too.
        let message_id = uuid::Uuid::new_v4().to_string();
        let mut entries = vec![transcript::customer(now, text, Some(&message_id))];
        transcript::of_effects(&turn.effects, now, &mut entries);
        let asked_again = turn
            .effects
            .iter()
            .any(|effect| matches!(effect, Effect::AgentRequestedAgain));
        let mut said_after = Vec::new();
        if asked_again && loaded.transfer.state() != TransferState::Active {
            let stand = Message::Text {
                text: transfer::where_they_stand(&loaded),
            };
            entries.push(transcript::assistant(now, &stand));
            said_after.push(stand);
        }
        Ok(Decided {
            turn,
            intents,
            entries,
            transfer_write: None,
            agent_lines: self.agent_lines(stored).await?,
            after: After::Relay(Box::new(loaded), text.to_owned(), message_id),
            said_after,
        })
    }

    /// The agent messages stored since the customer's previous message; this turn's entries
    /// are not stored yet, so every stored one is earlier.
    async fn agent_lines(&self, stored: &StoredSession) -> Result<Vec<AgentLine>, ConversationError> {
        let entries = self
            .store
            .transcript_since_last(&stored.id, baton_store::EntryKind::Customer)
            .await?;
        Ok(transcript::agent_lines_since_customer(&entries))
    }

    /// A turn with no transfer open; when it asks for one, the desk's availability completes it
    /// and the transfer opens with it.
    async fn turn_without_transfer(
        &self,
        engine: &Engine,
        stored: &StoredSession,
        session: Session,
        input: &TurnInput,
        render: &impl Render,
        now: DateTime<Utc>,
    ) -> Result<Decided, ConversationError> {
        let (mut turn, intents) = run_engine(engine, session, input, render.all_intents(), now);
        let request = turn.effects.iter().find_map(|effect| match effect {
            Effect::Transfer(request) => Some(request.clone()),
            _ => None,
        });
        let mut entries = Vec::new();
        if let Some(text) = text_of(input) {
            entries.push(transcript::customer(now, text, None));
        }
        if input.no_input && text_of(input).is_none() {
            entries.push(transcript::customer(now, transcript::NO_INPUT, None));
        }
        let Some(request) = request else {
            transcript::of_effects(&turn.effects, now, &mut entries);
            return Ok(Decided {
                turn,
                intents,
                entries,
                ..Decided::default()
            });
        };
        // Boxed: only a turn that asks for an agent gets here (see `decide`).
        let availability = Box::pin(transfer::availability(self, &request)).await;
        baton_dialog::answer_transfer(&mut turn, transfer::agents_available(&availability));
        transcript::of_effects(&turn.effects, now, &mut entries);
        // The desk gets the conversation's last lines (a long one is read back only that far and
        // carried with every later turn of the transfer); the history link has all of it.
        let history = self
            .store
            .transcript_tail(&stored.id, transcript::BRIEF_ENTRIES)
            .await?;
        let mut lines = transcript::lines(&history, &entries);
        lines.drain(..lines.len().saturating_sub(transcript::BRIEF_LINES));
        let opening = transfer::open(
            engine,
            &turn.session,
            stored.id.as_str(),
            &request,
            &availability,
            lines,
            now,
        )?;
        entries.extend(opening.entries.iter().cloned());
        Ok(Decided {
            turn,
            intents,
            entries,
            transfer_write: Some(opening.write(&stored.id, now)),
            after: After::Start(Box::new(opening)),
            ..Decided::default()
        })
    }

    /// Offline policy "leave a message": this message is it. It becomes a ticket, the transfer
    /// closes, and the assistant takes the customer back.
    #[allow(clippy::too_many_arguments)]
    async fn leave_message(
        &self,
        engine: &Engine,
        stored: &StoredSession,
        turn: Turn,
        intents: Vec<IntentScore>,
        loaded: &Loaded,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<Decided, ConversationError> {
        let ticket_id = loaded.transfer.id().to_string();
        let ticket = Ticket {
            id: ticket_id.clone(),
            session_id: stored.id.clone(),
            transfer_id: Some(ticket_id.clone()),
            queue: Some(loaded.queue(&self.settings.default_queue).to_string()),
            text: text.to_owned(),
            created_at: now,
        };
        match self.store.create_ticket(ticket).await {
            // Taken: this turn is being redone after a conflict.
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(error) => return Err(error.into()),
        }
        let mut transfer = loaded.transfer.clone();
        let transitions = transfer
            .apply(TransferCommand::LeaveMessage { ticket: ticket_id }, now)
            .map_err(|error| ConversationError::Internal(error.to_string()))?;
        let mut entries = vec![transcript::customer(now, text, None)];
        transcript::of_effects(&turn.effects, now, &mut entries);
        entries.extend(transitions.iter().map(transcript::transition));
        let back = engine.event(
            turn.session,
            Event::TransferEnded {
                outcome: TransferOutcome::Ended,
            },
            now,
        );
        let (said, mut said_after) = super::pump::said_outside_a_turn(&back.effects, now);
        entries.extend(said);
        let left = Message::Text {
            text: transfer::MESSAGE_LEFT.to_owned(),
        };
        entries.push(transcript::assistant(now, &left));
        said_after.push(left);
        Ok(Decided {
            turn: Turn {
                session: back.session,
                effects: turn.effects,
                debug: turn.debug,
            },
            intents,
            entries,
            transfer_write: Some(TransferWrite::Update(stored::update_of(&transfer, Vec::new(), now))),
            after: After::Closed(transfer.state()),
            agent_lines: Vec::new(),
            said_after,
        })
    }

    /// The call's transfer failed: the open transfer (if still open) fails, its chat on the desk
    /// ends, and the assistant takes the caller back.
    async fn transfer_failed(
        &self,
        engine: &Engine,
        session: Session,
        open: Option<Loaded>,
        input: &TurnInput,
        render: &impl Render,
        now: DateTime<Utc>,
    ) -> Result<Decided, ConversationError> {
        let (turn, intents) = run_engine(engine, session, input, render.all_intents(), now);
        let mut entries = Vec::new();
        let Some(loaded) = open else {
            transcript::of_effects(&turn.effects, now, &mut entries);
            return Ok(Decided {
                turn,
                intents,
                entries,
                ..Decided::default()
            });
        };
        let mut transfer = loaded.transfer.clone();
        if let Some(chat) = transfer.chat().cloned() {
            let call = DeskCall::EndChat {
                desk: transfer.desk().map(str::to_owned),
                chat,
                reason: baton_desk::EndReason::Cancelled,
            };
            if let Err(error) = lead::call(self, call).await {
                tracing::warn!(?error, "the desk could not end the chat");
            }
        }
        let status = input.transfer_failed.as_deref().unwrap_or("failed");
        let transitions = transfer
            .apply(
                TransferCommand::Fail {
                    error: format!("the call's transfer ended: {status}"),
                },
                now,
            )
            .map_err(|error| ConversationError::Internal(error.to_string()))?;
        entries.extend(transitions.iter().map(transcript::transition));
        transcript::of_effects(&turn.effects, now, &mut entries);
        Ok(Decided {
            turn,
            intents,
            entries,
            transfer_write: Some(TransferWrite::Update(stored::update_of(&transfer, Vec::new(), now))),
            after: After::Closed(transfer.state()),
            ..Decided::default()
        })
    }

    fn count_transfers(&self, session_id: &str, effects: &[Effect]) {
        for effect in effects {
            if let Effect::Transfer(request) = effect {
                self.metrics.transfer(request.reason);
                tracing::info!(session_id = %session_id, reason = request.reason.as_str(), "transfer requested");
            }
        }
    }
}

/// A turn run and what it means, before it is committed.
struct Decided {
    turn: Turn,
    intents: Vec<IntentScore>,
    entries: Vec<baton_store::NewEntry>,
    transfer_write: Option<TransferWrite>,
    after: After,
    agent_lines: Vec<AgentLine>,
    said_after: Vec<Message>,
}

impl Default for Decided {
    fn default() -> Decided {
        Decided {
            turn: Turn {
                session: Session::default(),
                effects: Vec::new(),
                debug: TurnDebug::default(),
            },
            intents: Vec::new(),
            entries: Vec::new(),
            transfer_write: None,
            after: After::Nothing,
            agent_lines: Vec::new(),
            said_after: Vec::new(),
        }
    }
}

/// The runtime's session from its stored state.
pub(crate) fn read_session(stored: &StoredSession) -> Result<Session, ConversationError> {
    serde_json::from_str(stored.state.get())
        .map_err(|error| ConversationError::Internal(format!("stored session: {error}")))
}

/// For the span: the id of the step the session is at.
fn current_step(engine: &Engine, session: &Session) -> Option<String> {
    let frame = session.stack.last()?;
    let action = engine.assistant().action(frame.action.id())?;
    action.steps.get(frame.step).map(|step| step.id().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Greet customer runs once: at the start (a message without text, as the web chat sends
    /// first) or silently before a first message with text, whether or not the session keeps
    /// `session_history` (whose lines used to tell that it had run).
    #[test]
    fn greet_runs_once_per_conversation() {
        let yaml = r#"
variables:
  greeted: { type: number, initial: 0 }
system:
  greet:
    steps:
      - say: Hello.
        set: { greeted: "greeted + 1" }
actions:
  - id: hours
    examples: [what are your opening hours, when are you open, what time do you close]
    steps:
      - say: "Nine to five (greeted ${greeted})."
  - id: balance
    examples: [what is my balance, how much money do I have, show my balance]
    steps:
      - say: You have $100.
"#;
        let loaded = baton_assistant::load_str("assistant.yaml", yaml);
        let engine = Engine::new(loaded.assistant.expect("a valid assistant"));
        assert!(!engine.assistant().keeps_history);
        let input = |text: &str| TurnInput {
            text: Some(text.to_owned()).filter(|text| !text.is_empty()),
            ..TurnInput::default()
        };
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let said = |turn: &Turn| -> Vec<String> {
            turn.effects
                .iter()
                .filter_map(|effect| match effect {
                    Effect::Say(Message::Text { text }) => Some(text.clone()),
                    _ => None,
                })
                .collect()
        };
        // Greeted first, then asked.
        let (start, _) = run_engine(&engine, Session::default(), &input(""), false, now);
        assert_eq!(said(&start), ["Hello."]);
        let (turn, _) = run_engine(&engine, start.session, &input("when are you open"), false, now);
        assert_eq!(said(&turn), ["Nine to five (greeted 1)."]);
        assert!(turn.session.history.is_empty());
        // Asked straight away: greeted silently, once.
        let mut session = Session::default();
        for text in ["when are you open", "what time do you close"] {
            let (turn, scores) = run_engine(&engine, session, &input(text), true, now);
            assert_eq!(said(&turn), ["Nine to five (greeted 1)."], "{text}");
            assert_eq!(scores.first().map(|score| score.intent.as_str()), Some("hours"));
            session = turn.session;
        }
    }
}
