//! One task per desk chat (the pump): reads the chat's [`DeskEvent`]s in order and, under the
//! session's lock, applies each to the stored transfer, persists it (agent messages as `agent`
//! entries), and publishes it on the session's event stream. When the chat ends the pump runs
//! the dialog (`TransferEnded` or `HandedBack`) and commits that turn with the transfer's last
//! change; what the assistant says is published as an `assistant` event.
//!
//! An agent's message, and an agent accepting a chat, is acknowledged to the agent only after the
//! pump committed it: the console's route waits on the desk's acknowledgement slot, which the pump
//! fills.
//!
//! The pump also opens chats: on the first desk of the queue's route that takes one
//! ([`open_on_route`]), and on the next one when a desk gives up before an agent joined
//! ([`fail_over`]: unreachable, an error, or its join timeout, watched by [`watch_join`]).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use baton_assistant::Value;
use serde_json::json;

use baton_desk::{
    ChatId, ChatRequest, DeskErrorKind, DeskEvent, DeskEvents, EndReason, EndedBy, Transfer, TransferCommand,
    TransferId, TransferState,
};
use baton_dialog::{Effect, Event, Message, Session, TransferOutcome};
use baton_store::{EntryKind, NewEntry, SessionId, StoreError, TurnRecord};

use super::desk::Link;
use super::events::SessionEvent;
use super::stored::{self, Loaded, apply, update_of};
use super::{ConversationError, Conversations, history, transcript};
use crate::desks::OWN;

/// How often a turn the pump commits is redone after another writer changed the session.
const COMMIT_ATTEMPTS: usize = 3;

/// Starts the pump of a chat.
pub(crate) fn spawn(
    conversations: &Arc<Conversations>,
    chat: ChatId,
    transfer: TransferId,
    session: String,
    events: DeskEvents,
) {
    let link = Link {
        transfer,
        session,
        chat: chat.clone(),
    };
    conversations.desk.add_link(chat.clone(), link.clone());
    let conversations = conversations.clone();
    tokio::spawn(async move {
        let stop = conversations.desk.stop.clone();
        let mut events = events;
        // Waiting for an agent, or reading what they write, is not idleness: the session is kept
        // from expiring while its chat is open.
        let period = (conversations.settings.session_timeout / 3).max(Duration::from_secs(1));
        let mut keepalive = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let event = tokio::select! {
                () = stop.cancelled() => break,
                event = events.recv() => event,
                _ = keepalive.tick() => {
                    keep_alive(&conversations, &link.session).await;
                    continue;
                }
            };
            let Some(event) = event else {
                break;
            };
            handle(&conversations, &link, event).await;
        }
        conversations.desk.remove_link(&chat);
        tracing::debug!(chat = %chat, "chat pump stopped");
    });
}

/// Commits an empty turn, so the session's idle time starts again.
async fn keep_alive(conversations: &Conversations, session_id: &str) {
    let guard = conversations.locks.lock(session_id).await;
    let now = conversations.clock.now();
    let result = match conversations.store.load_session(&SessionId::new(session_id), now).await {
        Ok(stored) => {
            let record = TurnRecord {
                session_id: stored.id.clone(),
                expected_version: stored.version,
                state: stored.state.clone(),
                at: now,
                entries: Vec::new(),
                reply: None,
                transfer: None,
            };
            conversations.store.commit_turn(record).await.map(|_| ())
        }
        Err(error) => Err(error),
    };
    drop(guard);
    match result {
        Ok(()) => conversations.active.touch(session_id, now),
        // Ended meanwhile, or written by another process: nothing to keep alive now.
        Err(StoreError::Expired(_) | StoreError::NotFound(_) | StoreError::Conflict(_)) => {}
        Err(error) => tracing::warn!(%error, "keeping the session of an open chat alive failed"),
    }
}

/// One desk event: apply, persist, publish; at the end, the dialog takes the customer back.
#[tracing::instrument(skip_all, fields(session_id = %link.session, transfer = %link.transfer))]
async fn handle(conversations: &Arc<Conversations>, link: &Link, event: DeskEvent) {
    // Typing and read receipts change nothing stored; a desk's state for resuming changes only
    // the transfer.
    match &event {
        DeskEvent::AgentTyping(typing) => {
            conversations
                .events
                .publish(&link.session, SessionEvent::AgentTyping { typing: *typing });
            return;
        }
        DeskEvent::AgentRead { up_to } => {
            conversations.events.publish(
                &link.session,
                SessionEvent::AgentRead {
                    up_to: up_to.to_string(),
                },
            );
            return;
        }
        _ => {}
    }
    let guard = conversations.locks.lock(&link.session).await;
    let result = handle_locked(conversations, link, event.clone()).await;
    drop(guard);
    if let Err(error) = result {
        tracing::error!(%error, "handling a desk event failed");
        not_stored(conversations, link, &event);
    }
}

/// Applies one desk event under the session's lock (the caller holds it).
pub(crate) async fn handle_locked(
    conversations: &Arc<Conversations>,
    link: &Link,
    event: DeskEvent,
) -> Result<(), ConversationError> {
    let now = conversations.clock.now();
    let Some(loaded) = stored::load(conversations, link.transfer.as_str()).await? else {
        return Err(ConversationError::Internal(format!(
            "transfer {} is not stored",
            link.transfer
        )));
    };
    let stale = loaded.transfer.chat() != Some(&link.chat);
    // A desk that gives up before an agent joined (nobody came in time, or the chat could not
    // be opened) passes the transfer to the next desk of its route, if there is one.
    let gives_up = matches!(
        event,
        DeskEvent::Ended {
            by: EndedBy::Desk,
            reason: EndReason::JoinTimedOut
        } | DeskEvent::Error(DeskErrorKind::Connecting)
    );
    if gives_up && !stale && loaded.transfer.is_open() && fail_over(conversations, &link.session, &loaded).await {
        return Ok(());
    }
    let mut transfer = loaded.transfer;
    if !transfer.is_open() || stale {
        not_stored(conversations, link, &event);
        return Ok(());
    }
    let previous_agent = transfer.agent().cloned();
    let was_active = transfer.state() == TransferState::Active;
    let transitions = match transfer.apply(event.clone(), now) {
        Ok(transitions) => transitions,
        Err(error) => {
            tracing::warn!(%error, "desk event refused by the transfer");
            return Ok(());
        }
    };
    let mut entries: Vec<NewEntry> = transitions.iter().map(transcript::transition).collect();
    match event {
        DeskEvent::AgentMessage(message) => {
            // Our own id: a desk's may repeat (Baton's own desk counts per chat from 0 again
            // after a restart), and clients match read receipts and duplicates by it.
            let id = uuid::Uuid::new_v4().to_string();
            entries.push(transcript::entry(
                message.at,
                EntryKind::Agent,
                json!({
                    "type": "text",
                    "text": message.text,
                    "agent": {"id": message.agent.id, "name": message.agent.name},
                    "id": id,
                }),
            ));
            let committed = conversations
                .store
                .update_transfer(update_of(&transfer, entries, now))
                .await
                .map_err(ConversationError::from);
            conversations
                .desk
                .acknowledge(&message.id, committed.is_ok().then(|| id.clone()));
            committed?;
            conversations.events.publish(
                &link.session,
                SessionEvent::AgentMessage {
                    agent_name: message.agent.name,
                    text: message.text,
                    id: Some(id),
                },
            );
        }
        DeskEvent::Ended { by, reason } => {
            let event = match reason {
                EndReason::HandBack { resume, variables } => handed_back(resume, variables),
                _ => Event::TransferEnded {
                    outcome: outcome(transfer.state()),
                },
            };
            conversations.events.publish(
                &link.session,
                SessionEvent::Ended {
                    by: ended_by(by).to_owned(),
                },
            );
            finish(conversations, &link.session, &transfer, entries, Some(event), now).await;
        }
        DeskEvent::Error(_) if !transfer.is_open() => {
            let event = Event::TransferEnded {
                outcome: TransferOutcome::Failed,
            };
            conversations
                .events
                .publish(&link.session, SessionEvent::Ended { by: "desk".to_owned() });
            finish(conversations, &link.session, &transfer, entries, Some(event), now).await;
        }
        other => {
            conversations
                .store
                .update_transfer(update_of(&transfer, entries, now))
                .await?;
            // The agent passed the chat on (to an agent or a queue): the customer sees them go.
            let left = was_active && transfer.state() != TransferState::Active;
            if let Some(agent) = previous_agent
                .as_ref()
                .filter(|_| left || matches!(other, DeskEvent::AgentLeft))
            {
                conversations.events.publish(
                    &link.session,
                    SessionEvent::AgentLeft {
                        agent_name: agent.name.clone(),
                    },
                );
            }
            let published = match other {
                DeskEvent::Queued { position, wait, .. } => Some(SessionEvent::Queued {
                    position,
                    estimated_wait_secs: wait.map(|wait| wait.as_secs()),
                }),
                DeskEvent::AgentJoined(agent) => {
                    conversations.desk.acknowledge_joined(&link.chat, true);
                    Some(SessionEvent::AgentJoined { agent_name: agent.name })
                }
                _ => None,
            };
            if let Some(published) = published {
                conversations.events.publish(&link.session, published);
            }
        }
    }
    Ok(())
}

/// Tells a console route waiting for what `event` caused that it was not stored.
fn not_stored(conversations: &Conversations, link: &Link, event: &DeskEvent) {
    match event {
        DeskEvent::AgentMessage(message) => conversations.desk.acknowledge(&message.id, None),
        DeskEvent::AgentJoined(_) => conversations.desk.acknowledge_joined(&link.chat, false),
        _ => {}
    }
}

fn outcome(state: TransferState) -> TransferOutcome {
    match state {
        TransferState::Cancelled | TransferState::Abandoned => TransferOutcome::Cancelled,
        TransferState::TimedOut => TransferOutcome::TimedOut,
        TransferState::Failed => TransferOutcome::Failed,
        TransferState::Returned => TransferOutcome::Unavailable,
        _ => TransferOutcome::Ended,
    }
}

/// Who ended a chat, as the customer's and the agent's event frames name them.
pub fn ended_by(by: EndedBy) -> &'static str {
    match by {
        EndedBy::Agent => "agent",
        EndedBy::Customer => "customer",
        EndedBy::Desk => "desk",
    }
}

/// Stores a transfer's last change and, if the session is still open and `event` is given,
/// runs the dialog and commits that turn with it; what the assistant says is published.
/// Runs under the session's lock. Errors are logged: the caller has nobody to tell.
pub(crate) async fn finish(
    conversations: &Conversations,
    session_id: &str,
    transfer: &Transfer,
    entries: Vec<NewEntry>,
    event: Option<Event>,
    now: DateTime<Utc>,
) {
    if !transfer.is_open() {
        conversations.metrics.transfer_ended(transfer.state().as_str());
    }
    let mut entries = Some(entries);
    for _ in 0..COMMIT_ATTEMPTS {
        let stored = match conversations.store.load_session(&SessionId::new(session_id), now).await {
            Ok(stored) => stored,
            Err(StoreError::Expired(_) | StoreError::NotFound(_)) => break,
            Err(error) => {
                tracing::error!(%error, "loading the session to end its transfer failed");
                break;
            }
        };
        let (Some(event), Some(engine)) = (event.clone(), conversations.assistants.get(&stored.assistant_id)) else {
            break;
        };
        let session: Session = match serde_json::from_str(stored.state.get()) {
            Ok(session) => session,
            Err(error) => {
                tracing::error!(%error, "stored session unreadable");
                break;
            }
        };
        let turn = engine.event(session, event, now);
        let (said, messages) = said_outside_a_turn(&turn.effects, now);
        let state = serde_json::to_value(&turn.session).unwrap_or_default();
        let record = TurnRecord {
            session_id: stored.id.clone(),
            expected_version: stored.version,
            state: transcript::raw(&state),
            at: now,
            entries: said,
            reply: None,
            transfer: Some(baton_store::TransferWrite::Update(update_of(
                transfer,
                entries.clone().unwrap_or_default(),
                now,
            ))),
        };
        match conversations.store.commit_turn(record).await {
            Ok(_) => {
                entries = None;
                conversations.active.touch(session_id, now);
                if !messages.is_empty() {
                    conversations
                        .events
                        .publish(session_id, SessionEvent::Assistant { messages });
                }
                break;
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(error) => {
                tracing::error!(%error, "committing the turn after the transfer failed");
                break;
            }
        }
    }
    // The session is gone (or its turn could not be committed): store the transfer alone.
    if let Some(entries) = entries
        && let Err(error) = conversations
            .store
            .update_transfer(update_of(transfer, entries, now))
            .await
    {
        tracing::error!(%error, "storing the transfer's end failed");
    }
}

/// What the assistant said in a turn without a customer message (a transfer ended, an agent
/// handed back): its transcript entries and its messages.
/// A transfer asked for here is not opened: the runtime stays silent until the next customer
/// message finds no open transfer and takes the conversation back.
pub(crate) fn said_outside_a_turn(effects: &[Effect], now: DateTime<Utc>) -> (Vec<NewEntry>, Vec<Message>) {
    let mut entries = Vec::new();
    let mut messages = Vec::new();
    for effect in effects {
        match effect {
            Effect::Say(message) => {
                entries.push(transcript::assistant(now, message));
                messages.push(message.clone());
            }
            Effect::Transfer(request) => {
                tracing::warn!(
                    reason = request.reason.as_str(),
                    "a transfer asked for outside a customer turn is not opened"
                );
            }
            Effect::TransferResponse { .. }
            | Effect::AgentRequestedAgain
            | Effect::HangUp
            | Effect::ActionStarted { .. }
            | Effect::ActionFinished { .. } => {}
        }
    }
    (entries, messages)
}

/// A handed-back chat's variables, as the runtime takes them.
pub(crate) fn handed_back(
    resume: Option<String>,
    variables: std::collections::BTreeMap<String, serde_json::Value>,
) -> Event {
    Event::HandedBack {
        resume,
        variables: variables
            .into_iter()
            .map(|(name, value)| (name, Value::from_json(&value)))
            .collect(),
    }
}

// ---- opening a chat on a queue's route, and failing over ----

/// On the desk this process holds: opens the chat of the session's open transfer that was
/// committed without one (by another server, or before a restart). Takes the session's lock.
pub(crate) async fn start_stored(
    conversations: &Arc<Conversations>,
    session_id: &str,
) -> Result<(), ConversationError> {
    let _guard = conversations.locks.lock(session_id).await;
    let Some(stored) = conversations
        .store
        .open_transfer_of(&SessionId::new(session_id))
        .await?
    else {
        return Ok(());
    };
    let loaded = Loaded::decode(stored)?;
    if loaded.transfer.chat().is_none() && !loaded.takes_message() {
        open_chat(conversations, session_id, loaded.transfer, &loaded.request).await;
    }
    Ok(())
}

/// Asks the desks of its queue's route for the chat of an open transfer that has none; the
/// transfer fails if none takes it. True if one did.
pub(crate) async fn open_chat(
    conversations: &Arc<Conversations>,
    session_id: &str,
    mut transfer: Transfer,
    request: &ChatRequest,
) -> bool {
    let queue = transfer
        .queue()
        .cloned()
        .unwrap_or_else(|| conversations.settings.default_queue.clone());
    let route = conversations.desk.route(&queue);
    match open_on_route(conversations, session_id, &mut transfer, request, route).await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(%error, transfer = %transfer.id(), "no desk took the chat");
            fail(conversations, session_id, transfer, error).await;
            false
        }
    }
}

/// Asks each desk of `route` in turn for a chat until one opens it: records the desk and chat
/// with the transfer, starts the chat's pump and, where the desk has one, its join timer.
pub(crate) async fn open_on_route(
    conversations: &Arc<Conversations>,
    session_id: &str,
    transfer: &mut Transfer,
    request: &ChatRequest,
    route: Vec<Option<String>>,
) -> Result<(), String> {
    let mut errors = Vec::new();
    for desk in route {
        let name = desk.as_deref().unwrap_or(OWN);
        let Some(service) = conversations.desk.named(desk.as_deref()) else {
            errors.push(format!("{name}: not configured"));
            continue;
        };
        let mut request = request.clone();
        request.transcript_url = Some(history::link(conversations, session_id));
        match service.start_chat(request).await {
            Ok(chat) => {
                conversations.events.publish(
                    session_id,
                    SessionEvent::Desk {
                        capabilities: service.capabilities(),
                    },
                );
                transfer.attach_desk(desk.clone());
                transfer.attach_chat(chat.id.clone());
                let update = update_of(transfer, Vec::new(), conversations.clock.now());
                if let Err(error) = conversations.store.update_transfer(update).await {
                    tracing::error!(%error, transfer = %transfer.id(), "recording the desk's chat id failed");
                }
                if !errors.is_empty() {
                    tracing::info!(desk = name, transfer = %transfer.id(), failed = ?errors, "transfer failed over");
                }
                watch_join(conversations, session_id, transfer.id().clone(), desk, chat.id.clone());
                spawn(
                    conversations,
                    chat.id,
                    transfer.id().clone(),
                    session_id.to_owned(),
                    chat.events,
                );
                return Ok(());
            }
            Err(error) => {
                tracing::warn!(%error, desk = name, transfer = %transfer.id(), "a desk refused the chat");
                errors.push(format!("{name}: {error}"));
            }
        }
    }
    Err(errors.join("; "))
}

/// Moves a transfer that no agent has taken to the desks after its current one in its route:
/// the current desk's chat ends (`join_timed_out`) and the next desk that opens a chat gets it.
/// `false`, having changed nothing, when the route has no desk after the current one.
/// Runs under the session's lock.
pub(crate) async fn fail_over(conversations: &Arc<Conversations>, session_id: &str, loaded: &Loaded) -> bool {
    if loaded.transfer.state() == TransferState::Active {
        return false;
    }
    let queue = loaded.queue(&conversations.settings.default_queue);
    let current = loaded.transfer.desk().map(str::to_owned);
    let route = conversations.desk.route(&queue);
    let Some(at) = route.iter().position(|desk| *desk == current) else {
        return false;
    };
    let rest: Vec<Option<String>> = route[at + 1..].to_vec();
    if rest.is_empty() {
        return false;
    }
    let mut transfer = loaded.transfer.clone();
    if let Some(chat) = transfer.chat().cloned() {
        if let Err(error) = conversations
            .desk
            .of(current.as_deref())
            .end_chat(&chat, EndReason::JoinTimedOut)
            .await
        {
            tracing::debug!(%error, "the desk could not end a chat nobody joined");
        }
        conversations.desk.remove_link(&chat);
    }
    match open_on_route(conversations, session_id, &mut transfer, &loaded.request, rest).await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(%error, transfer = %transfer.id(), "no desk left on the route took the chat");
            fail(conversations, session_id, transfer, error).await;
            true
        }
    }
}

/// For a desk with a join timeout: when it passes with no agent in the chat, the transfer goes
/// to the next desk of its route, or ends as timed out.
pub(crate) fn watch_join(
    conversations: &Arc<Conversations>,
    session_id: &str,
    transfer: TransferId,
    desk: Option<String>,
    chat: baton_desk::ChatId,
) {
    let Some(timeout) = conversations.desk.join_timeout(desk.as_deref()) else {
        return;
    };
    let conversations = conversations.clone();
    let session_id = session_id.to_owned();
    tokio::spawn(async move {
        let stop = conversations.desk.stop.clone();
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(timeout) => {}
        }
        let guard = conversations.locks.lock(&session_id).await;
        let loaded = match stored::load(&conversations, transfer.as_str()).await {
            Ok(Some(loaded)) => loaded,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "loading a transfer for its join timeout failed");
                return;
            }
        };
        let waiting = loaded.transfer.is_open()
            && loaded.transfer.state() != TransferState::Active
            && loaded.transfer.desk() == desk.as_deref()
            && loaded.transfer.chat() == Some(&chat);
        if !waiting || fail_over(&conversations, &session_id, &loaded).await {
            return;
        }
        // The last desk of the route: the chat there ends, and so does the transfer.
        if let Err(error) = conversations
            .desk
            .of(desk.as_deref())
            .end_chat(&chat, EndReason::JoinTimedOut)
            .await
        {
            tracing::debug!(%error, "the desk could not end a chat nobody joined");
        }
        conversations.desk.remove_link(&chat);
        let link = Link {
            transfer,
            session: session_id.clone(),
            chat: chat.clone(),
        };
        let ended = DeskEvent::Ended {
            by: EndedBy::Desk,
            reason: EndReason::JoinTimedOut,
        };
        handle_locked(&conversations, &link, ended).await.ok();
        drop(guard);
    });
}

/// The desk returned an error: the transfer fails and the assistant takes the customer back.
pub(crate) async fn fail(conversations: &Conversations, session_id: &str, mut transfer: Transfer, error: String) {
    let now = conversations.clock.now();
    let entries = apply(&mut transfer, TransferCommand::Fail { error }, now);
    let entries = entries.iter().map(transcript::transition).collect();
    let event = Event::TransferEnded {
        outcome: TransferOutcome::Failed,
    };
    finish(conversations, session_id, &transfer, entries, Some(event), now).await;
}
