//! Replicas on one database: which server holds the desk, and how the others reach it.
//!
//! The desk lives in one process: Baton's own desk (presence, capacity, queues, offers and
//! their timers), the chats with external desks, and the pump of every open transfer. With one
//! server that is the server. With replicas it is the one that holds the store's lead
//! ([`Store::lead`](baton_store::Store::lead): on PostgreSQL an advisory lock on a connection of
//! its own); the others serve conversations and send what the desk must hear to the holder over
//! the store's broadcast channel, as a [`DeskCall`] it answers: a queue's availability, opening
//! a transfer's chat, the customer's messages, typing and read receipts, the end of a chat, and
//! the desks' webhook calls that arrived at them. Agent routes are served by the holder only
//! (the load balancer finds it by `/readyz/desk`; another server answers `503 desk_elsewhere`).
//!
//! When the holder dies its lock goes with its connection, and a server waiting for it takes it
//! at once and resumes every open transfer as a restarted server does (the store has them all):
//! a waiting transfer is queued and offered again, an active chat stays with its agent, whose
//! console reconnects through the load balancer. A holder whose connection to the database breaks
//! stops holding; when the database is back it takes the desk again if nobody else held it in
//! between, and otherwise stops the process ([`Lead::superseded`]), since what it knows of the
//! desk is stale and two desks must never offer one transfer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use baton_desk::{Availability, ChatId, CustomerMessage, EndReason, MessageId, WebhookOutcome};

use super::desk::unknown_availability;
use super::events::Relayed;
use super::{ConversationError, Conversations, pump};

/// How long a server waits for the holder's answer before it counts as gone.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a holder that lost its lock keeps trying to take it back before it gives up.
const RETAKE_PAUSE: Duration = Duration::from_secs(1);

/// How often the holder looks for transfers committed without a chat whose opening it never
/// heard of (a call lost with a replica, or the bus), and how old they must be.
const UNSTARTED_EVERY: Duration = Duration::from_secs(5);

/// What one replica says to the others on the store's broadcast channel.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "bus", rename_all = "snake_case")]
pub(crate) enum Bus {
    /// A session's event, for the sockets on other replicas.
    Event(Relayed),
    /// A call for the server holding the desk.
    Call { from: String, id: u64, call: DeskCall },
    /// The holder's answer to one server's call.
    Answer { to: String, id: u64, answer: Answer },
}

/// The holder's answer: the call's result as JSON, or what went wrong.
type Answer = Result<Value, CallError>;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "error", content = "detail", rename_all = "snake_case")]
pub(crate) enum CallError {
    DeskNotFound(String),
    DeskSignature(String),
    DeskEvent(String),
    ChatNotFound(String),
    Failed(String),
}

impl From<ConversationError> for CallError {
    fn from(error: ConversationError) -> CallError {
        match error {
            ConversationError::DeskNotFound(detail) => CallError::DeskNotFound(detail),
            ConversationError::DeskSignature(detail) => CallError::DeskSignature(detail),
            ConversationError::DeskEvent(detail) => CallError::DeskEvent(detail),
            ConversationError::ChatNotFound(detail) => CallError::ChatNotFound(detail),
            other => CallError::Failed(other.to_string()),
        }
    }
}

impl From<CallError> for ConversationError {
    fn from(error: CallError) -> ConversationError {
        match error {
            CallError::DeskNotFound(detail) => ConversationError::DeskNotFound(detail),
            CallError::DeskSignature(detail) => ConversationError::DeskSignature(detail),
            CallError::DeskEvent(detail) => ConversationError::DeskEvent(detail),
            CallError::ChatNotFound(detail) => ConversationError::ChatNotFound(detail),
            CallError::Failed(detail) => ConversationError::Internal(detail),
        }
    }
}

/// What a server asks of the desk. Made where the desk is held, sent to the holder from
/// anywhere else.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub(crate) enum DeskCall {
    /// What the desks of a queue's route say about their agents (`None`: the default queue).
    Availability { queue: Option<String> },
    /// Open the chat of the session's transfer, committed without one.
    Start { session: String },
    SendToAgent {
        desk: Option<String>,
        chat: ChatId,
        message: CustomerMessage,
    },
    Typing {
        desk: Option<String>,
        chat: ChatId,
        typing: bool,
    },
    Read {
        desk: Option<String>,
        chat: ChatId,
        up_to: MessageId,
    },
    EndChat {
        desk: Option<String>,
        chat: ChatId,
        reason: EndReason,
    },
    /// A desk's webhook call as it arrived (the body in base64).
    Webhook {
        desk: String,
        headers: Vec<(String, String)>,
        body: String,
    },
}

/// This process's part in holding the desk.
pub(crate) struct Lead {
    /// Whether this process holds the desk now.
    holds: AtomicBool,
    /// Calls sent to the holder, waiting for its answer, by number.
    waiting: Mutex<HashMap<u64, oneshot::Sender<Answer>>>,
    next_call: AtomicU64,
    /// Cancelled when another server held the desk while this one had lost it: what this
    /// process knows of the desk is stale, so it stops.
    pub superseded: CancellationToken,
}

impl Lead {
    /// Not holding the desk until [`contest`] or [`Conversations::start`] says so.
    pub fn new() -> Lead {
        Lead {
            holds: AtomicBool::new(false),
            waiting: Mutex::new(HashMap::new()),
            next_call: AtomicU64::new(1),
            superseded: CancellationToken::new(),
        }
    }

    pub fn holds(&self) -> bool {
        self.holds.load(Ordering::SeqCst)
    }

    pub fn set_holds(&self, holds: bool) {
        self.holds.store(holds, Ordering::SeqCst);
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Answer>>> {
        self.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Makes `call` on the desk: here when this process holds it, otherwise by asking the holder.
pub(crate) async fn call(conversations: &Conversations, call: DeskCall) -> Answer {
    if conversations.lead.holds() {
        return perform(conversations, call).await;
    }
    let id = conversations.lead.next_call.fetch_add(1, Ordering::Relaxed);
    let (sender, receiver) = oneshot::channel();
    conversations.lead.waiting().insert(id, sender);
    let message = Bus::Call {
        from: conversations.replica.clone(),
        id,
        call,
    };
    let sent = match serde_json::to_string(&message) {
        Ok(message) => conversations
            .store
            .broadcast(&message)
            .await
            .map_err(|error| CallError::Failed(error.to_string())),
        Err(error) => Err(CallError::Failed(error.to_string())),
    };
    let answer = match sent {
        Ok(()) => match tokio::time::timeout(CALL_TIMEOUT, receiver).await {
            Ok(Ok(answer)) => answer,
            _ => Err(CallError::Failed("no server holding the desk answered".to_owned())),
        },
        Err(error) => Err(error),
    };
    conversations.lead.waiting().remove(&id);
    answer
}

/// The availability of a queue's route, from the holder; unknown (so counted as online) when it
/// cannot be asked.
pub(crate) async fn availability(conversations: &Conversations, queue: Option<String>) -> Availability {
    if conversations.lead.holds() {
        let default_queue = &conversations.settings.default_queue;
        return conversations.desk.availability(queue.as_deref(), default_queue).await;
    }
    match call(conversations, DeskCall::Availability { queue }).await {
        Ok(value) => serde_json::from_value(value).unwrap_or_else(|_| unknown_availability()),
        Err(error) => {
            tracing::warn!(?error, "the desk's availability could not be asked");
            unknown_availability()
        }
    }
}

/// A desk's webhook call, received here or by the holder.
pub(crate) async fn webhook(
    conversations: &Conversations,
    desk: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<WebhookOutcome, ConversationError> {
    if conversations.lead.holds() {
        return conversations.receive_webhook(desk, headers, body).await;
    }
    let call = DeskCall::Webhook {
        desk: desk.to_owned(),
        headers: headers.to_vec(),
        body: base64::engine::general_purpose::STANDARD.encode(body),
    };
    match self::call(conversations, call).await {
        Ok(Value::Null) => Ok(WebhookOutcome::Duplicate),
        Ok(value) => Ok(WebhookOutcome::Accepted {
            events: value.as_u64().unwrap_or_default() as usize,
        }),
        Err(CallError::Failed(detail)) => {
            tracing::warn!(%detail, desk, "a desk's webhook call could not be handed to the server holding the desk");
            Err(ConversationError::DeskElsewhere)
        }
        Err(error) => Err(error.into()),
    }
}

/// Carries out a call on the desk this process holds.
async fn perform(conversations: &Conversations, call: DeskCall) -> Answer {
    let desk_error = |error: baton_desk::DeskError| CallError::Failed(format!("desk: {error}"));
    match call {
        DeskCall::Availability { queue } => {
            let default_queue = &conversations.settings.default_queue;
            let availability = conversations.desk.availability(queue.as_deref(), default_queue).await;
            serde_json::to_value(availability).map_err(|error| CallError::Failed(error.to_string()))
        }
        DeskCall::Start { session } => {
            let Some(conversations) = conversations.me.upgrade() else {
                return Err(CallError::Failed("the server is stopping".to_owned()));
            };
            pump::start_stored(&conversations, &session).await?;
            Ok(Value::Null)
        }
        DeskCall::SendToAgent { desk, chat, message } => {
            let service = conversations.desk.of(desk.as_deref());
            service.send_to_agent(&chat, message).await.map_err(desk_error)?;
            Ok(Value::Null)
        }
        DeskCall::Typing { desk, chat, typing } => {
            let service = conversations.desk.of(desk.as_deref());
            service.customer_typing(&chat, typing).await.map_err(desk_error)?;
            Ok(Value::Null)
        }
        DeskCall::Read { desk, chat, up_to } => {
            let service = conversations.desk.of(desk.as_deref());
            service.customer_read(&chat, &up_to).await.map_err(desk_error)?;
            Ok(Value::Null)
        }
        DeskCall::EndChat { desk, chat, reason } => {
            let ended = conversations.desk.of(desk.as_deref()).end_chat(&chat, reason).await;
            conversations.desk.remove_link(&chat);
            ended.map_err(desk_error)?;
            Ok(Value::Null)
        }
        DeskCall::Webhook { desk, headers, body } => {
            let body = base64::engine::general_purpose::STANDARD
                .decode(body)
                .map_err(|error| CallError::DeskEvent(error.to_string()))?;
            match conversations.receive_webhook(&desk, &headers, &body).await? {
                WebhookOutcome::Duplicate => Ok(Value::Null),
                WebhookOutcome::Accepted { events } => Ok(Value::from(events)),
            }
        }
    }
}

/// A message on the broadcast channel that is not an event: a call this process answers if it
/// holds the desk, or an answer to one of its own calls.
pub(crate) fn heard(conversations: &Arc<Conversations>, message: Bus) {
    match message {
        Bus::Event(_) => {}
        Bus::Call { from, id, call } => {
            if !conversations.lead.holds() {
                return;
            }
            let conversations = conversations.clone();
            tokio::spawn(async move {
                let answer = perform(&conversations, call).await;
                let reply = Bus::Answer { to: from, id, answer };
                let Ok(reply) = serde_json::to_string(&reply) else {
                    return;
                };
                if let Err(error) = conversations.store.broadcast(&reply).await {
                    tracing::warn!(%error, "an answer to another server's desk call was not sent");
                }
            });
        }
        Bus::Answer { to, id, answer } => {
            if to != conversations.replica {
                return;
            }
            if let Some(waiting) = conversations.lead.waiting().remove(&id) {
                let _ = waiting.send(answer);
            }
        }
    }
}

/// Opens the chats of open transfers committed more than [`UNSTARTED_EVERY`] ago without one:
/// another replica's call to open it was lost (it died after committing, or the holder changed).
async fn start_unstarted(conversations: &Arc<Conversations>) {
    let open = match conversations.store.open_transfers().await {
        Ok(open) => open,
        Err(error) => {
            tracing::debug!(%error, "looking for transfers without a chat failed");
            return;
        }
    };
    let before = conversations.clock.now() - chrono::Duration::from_std(UNSTARTED_EVERY).unwrap_or_default();
    for stored in open {
        if stored.chat_id.is_some() || stored.state != "requested" || stored.opened_at > before {
            continue;
        }
        let session = stored.session_id.as_str().to_owned();
        tracing::warn!(transfer = %stored.id, "a transfer committed without a chat: opening it now");
        if let Err(error) = pump::start_stored(conversations, &session).await {
            tracing::warn!(%error, transfer = %stored.id, "opening the chat of a transfer failed");
        }
    }
}

/// With replicas: waits to hold the desk, takes it (the agents, every open transfer), and holds
/// it until `stop`; see the module's documentation for losing it.
pub(crate) async fn contest(conversations: Arc<Conversations>, stop: CancellationToken) {
    let replica = conversations.replica.clone();
    let mut held_before = false;
    loop {
        // Having held it, wait for nobody: another server may have taken it meanwhile.
        let wait = !held_before;
        let taken = tokio::select! {
            () = stop.cancelled() => return,
            taken = conversations.store.lead(&replica, wait) => taken,
        };
        let mut leadership = match taken {
            Ok(Some(leadership)) => leadership,
            Ok(None) => {
                tracing::error!(
                    "another server took the desk while this one had lost its connection to the database: \
                     stopping, as what this server knows of the desk is stale"
                );
                conversations.lead.superseded.cancel();
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot take the desk now; trying again");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(RETAKE_PAUSE) => continue,
                }
            }
        };
        if held_before && leadership.previous.as_deref() != Some(replica.as_str()) {
            tracing::error!("another server held the desk while this one had lost it: stopping");
            conversations.lead.superseded.cancel();
            return;
        }
        conversations.lead.set_holds(true);
        if held_before {
            tracing::info!("this server holds the desk again");
        } else {
            tracing::info!("this server holds the desk: resuming the open transfers");
            conversations.take_desk().await;
        }
        held_before = true;
        let mut unstarted = tokio::time::interval(UNSTARTED_EVERY);
        unstarted.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = leadership.lost() => break,
                _ = unstarted.tick() => start_unstarted(&conversations).await,
            }
        }
        conversations.lead.set_holds(false);
        tracing::warn!("this server no longer holds the desk (its database connection broke); taking it back");
    }
}
