//! The Matrix desk: agents work in any Matrix client (Element, …); each transfer is a room.
//!
//! [`MatrixDesk::connect`] logs the bot in (or takes its access token) and starts one `/sync`
//! long-poll loop (Client-Server API v1.11, "Syncing") that hands every room event to the open
//! chat it belongs to ([`room::Room`], the pure part). `start_chat` creates a room named for the
//! customer and the queue, posts the brief and transcript as `m.notice`s, and invites the queue's
//! agents; the first to join gets the chat, the other invitations are withdrawn. Agents type
//! `!transfer @user:server`, `!handback [action] [name=value …]` or `!end` in the room
//! (docs/desks/matrix.md).
//!
//! Design decisions:
//! - Secrets: [`MatrixConfig`] takes the credential either as a value (`password`,
//!   `access_token`) or as where to read it (`password_env`, `password_file`,
//!   `access_token_env`, `access_token_file`); [`MatrixConfig::resolve_secrets`] (called by
//!   `connect`) reads those. So the server can deserialize its `[desks.NAME]` table straight into
//!   a `MatrixConfig` (minus its own `kind` key) and connect.
//! - Ids: the chat id is the room id (what `ChatId` stores and `resume` gets back); an agent's
//!   message id is its Matrix event id, so `customer_read` needs no table; a customer message
//!   carries Baton's id in its content (`org.baton.message_id`), so a receipt on any later event
//!   maps back to it.
//! - Resume: the desk has no store of its own, so it keeps its place in the room itself. After
//!   each sync batch it writes the last event it handled to room account data
//!   (`org.baton.position`, Client-Server API "Client Config"), private to the bot. `resume`
//!   reads it back and replays the room's events after it (`GET /rooms/{id}/messages`, newest
//!   first, paged until the stored event): agent messages sent while Baton was down arrive once.
//!   A crash between delivering an event and writing the position delivers that event again
//!   (at least once); the message id (the event id) lets the server tell.
//!   Without a stored position, nothing is replayed and the room's current members decide.
//! - Availability: an agent counts as available when their presence is `online` or
//!   `unavailable` (idle or away; Synapse marks a user `unavailable` after minutes without
//!   activity, while their client still shows the invitation). A homeserver shows presence only
//!   to users who share a room, so a queue's agents should share one with the bot (an
//!   `agents_room` does); presence it will not show counts as unknown.
//! - The bot syncs with `set_presence=offline`, so it never looks like an agent who is online.
//! - Capabilities: typing and read receipts both ways, transfer events, resume; no queue
//!   position, no wait estimate, no offers (every agent of the queue is invited at once).

pub mod admin;
mod client;
mod room;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use baton_desk::{
    Availability, BriefReason, Capabilities, Chat, ChatId, ChatRequest, ChatResume, CustomerMessage, DeskError,
    DeskErrorKind, DeskEvent, DeskFuture, EndReason, MessageId, Online, QueueName, ServiceDesk, Speaker,
};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

pub use client::segment;
use client::{CallError, Client, Policy};
use room::{Action, Incoming, MESSAGE_ID_KEY, Phase, Room};

/// The room account data type where the desk keeps the last event it handled in a room.
const POSITION_TYPE: &str = "org.baton.position";
/// How long a `/sync` long poll waits on the homeserver.
const SYNC_WAIT: Duration = Duration::from_secs(30);
/// At most this many events are replayed on resume (pages of 100).
const REPLAY_LIMIT: usize = 1000;

/// The Matrix desk's configuration, as the server reads it from `[desks.NAME]` (without `kind`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixConfig {
    /// The homeserver's base URL (`https://matrix.example.org`).
    pub homeserver: String,
    /// The bot's Matrix user id (`@baton:example.org`).
    pub user: String,
    /// The bot's password; or one of the three below, or an access token.
    #[serde(default)]
    pub password: Option<String>,
    /// The environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// The file holding the password (trailing newline ignored).
    #[serde(default)]
    pub password_file: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub access_token_env: Option<String>,
    #[serde(default)]
    pub access_token_file: Option<String>,
    /// The device the bot logs in as with a password; the same one every time, so logins do
    /// not pile up devices.
    #[serde(default = "default_device")]
    pub device_id: String,
    /// Each queue's agents.
    #[serde(default)]
    pub queues: BTreeMap<String, QueueAgents>,
    /// The agents of a queue not listed in `queues`, and of transfers without a queue.
    #[serde(default)]
    pub default: Option<QueueAgents>,
    /// No agent joined within this many seconds: the chat ends (`JoinTimedOut`) so Baton can
    /// fail over.
    #[serde(default = "default_join_timeout")]
    pub join_timeout_secs: u64,
}

fn default_device() -> String {
    "BATON".to_owned()
}

fn default_join_timeout() -> u64 {
    300
}

impl fmt::Debug for MatrixConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |secret: &Option<String>| secret.as_ref().map(|_| "[redacted]");
        f.debug_struct("MatrixConfig")
            .field("homeserver", &self.homeserver)
            .field("user", &self.user)
            .field("password", &redacted(&self.password))
            .field("password_env", &self.password_env)
            .field("password_file", &self.password_file)
            .field("access_token", &redacted(&self.access_token))
            .field("access_token_env", &self.access_token_env)
            .field("access_token_file", &self.access_token_file)
            .field("device_id", &self.device_id)
            .field("queues", &self.queues)
            .field("default", &self.default)
            .field("join_timeout_secs", &self.join_timeout_secs)
            .finish()
    }
}

/// Who serves a queue: a list of Matrix users, or the joined members of a room (its id
/// `!…` or alias `#…:server`), or both.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueAgents {
    #[serde(default)]
    pub agents: Vec<String>,
    #[serde(default)]
    pub agents_room: Option<String>,
}

/// The bot's credential, once resolved.
enum Credential {
    Password(String),
    AccessToken(String),
}

impl MatrixConfig {
    /// A configuration with a password and no queues (tests and examples build on it).
    pub fn new(homeserver: impl Into<String>, user: impl Into<String>, password: impl Into<String>) -> MatrixConfig {
        MatrixConfig {
            homeserver: homeserver.into(),
            user: user.into(),
            password: Some(password.into()),
            password_env: None,
            password_file: None,
            access_token: None,
            access_token_env: None,
            access_token_file: None,
            device_id: default_device(),
            queues: BTreeMap::new(),
            default: None,
            join_timeout_secs: default_join_timeout(),
        }
    }

    /// Reads `*_env` and `*_file` into `password` / `access_token`. Exactly one source of one
    /// credential must be given.
    pub fn resolve_secrets(&mut self) -> Result<(), DeskError> {
        let read_env = |name: &String| {
            std::env::var(name).map_err(|_| DeskError::Config(format!("environment variable {name} is not set")))
        };
        let read_file = |path: &String| {
            std::fs::read_to_string(path)
                .map(|text| text.trim_end_matches(['\n', '\r']).to_owned())
                .map_err(|error| DeskError::Config(format!("cannot read {path}: {error}")))
        };
        let sources = [
            self.password.is_some(),
            self.password_env.is_some(),
            self.password_file.is_some(),
            self.access_token.is_some(),
            self.access_token_env.is_some(),
            self.access_token_file.is_some(),
        ];
        let n_sources = sources.into_iter().filter(|given| *given).count();
        if n_sources != 1 {
            return Err(DeskError::Config(format!(
                "matrix desk {}: give exactly one of password, password_env, password_file, access_token, \
                 access_token_env, access_token_file ({n_sources} given)",
                self.user
            )));
        }
        if let Some(name) = self.password_env.take() {
            self.password = Some(read_env(&name)?);
        }
        if let Some(path) = self.password_file.take() {
            self.password = Some(read_file(&path)?);
        }
        if let Some(name) = self.access_token_env.take() {
            self.access_token = Some(read_env(&name)?);
        }
        if let Some(path) = self.access_token_file.take() {
            self.access_token = Some(read_file(&path)?);
        }
        Ok(())
    }

    fn credential(&self) -> Result<Credential, DeskError> {
        match (&self.password, &self.access_token) {
            (Some(password), None) => Ok(Credential::Password(password.clone())),
            (None, Some(token)) => Ok(Credential::AccessToken(token.clone())),
            _ => Err(DeskError::Config(format!(
                "matrix desk {}: give a password or an access token",
                self.user
            ))),
        }
    }
}

/// The Matrix desk. Cheap to clone; all clones are the same desk. The sync loop stops when the
/// last clone is dropped.
#[derive(Clone)]
pub struct MatrixDesk {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    bot: String,
    queues: BTreeMap<String, Agents>,
    default: Option<Agents>,
    join_timeout: Duration,
    rooms: Mutex<HashMap<String, Room>>,
    sync: Mutex<Option<AbortHandle>>,
    /// Customer messages taken while the homeserver could not be reached, to send in order
    /// once it answers again.
    held: Mutex<Held>,
}

/// Customer messages waiting for the homeserver: (room, content), oldest first.
#[derive(Default)]
struct Held {
    messages: std::collections::VecDeque<(String, Value)>,
    /// A task is sending them (while there are any); new messages queue behind them.
    flushing: bool,
}

/// At most this many customer messages wait for an unreachable homeserver; beyond, sending
/// fails as it would without holding.
const MAX_HELD: usize = 10_000;

/// A queue's agents, with its room resolved to a room id.
#[derive(Debug, Clone)]
struct Agents {
    users: Vec<String>,
    room: Option<String>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let sync = self.sync.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(sync) = sync.take() {
            sync.abort();
        }
    }
}

fn desk_error(what: &str, error: CallError) -> DeskError {
    DeskError::Desk(format!("matrix: {what}: {error}"))
}

impl MatrixDesk {
    /// Logs the bot in (or checks its access token), joins the queues' agent rooms, and starts
    /// the sync loop on the current tokio runtime.
    pub async fn connect(mut config: MatrixConfig) -> Result<MatrixDesk, DeskError> {
        config.resolve_secrets()?;
        let client = Client::new(&config.homeserver).map_err(DeskError::Config)?;
        let (client, bot) = match config.credential()? {
            // Client-Server API v1.11, "Login": `m.login.password` with a user identifier.
            Credential::Password(password) => {
                let body = json!({
                    "type": "m.login.password",
                    "identifier": {"type": "m.id.user", "user": config.user},
                    "password": password,
                    "device_id": config.device_id,
                    "initial_device_display_name": "Baton",
                });
                let answer = client
                    .call(Method::POST, "/login", &[], Some(&body), Policy::ONCE)
                    .await
                    .map_err(|error| desk_error("login", error))?;
                let token = room::str_at(&answer, &["access_token"])
                    .ok_or_else(|| DeskError::Desk("matrix: login answered without an access token".into()))?;
                let user = room::str_at(&answer, &["user_id"]).unwrap_or(&config.user).to_owned();
                (client.with_token(token.to_owned()), user)
            }
            // "Current account information": `GET /account/whoami` checks the token.
            Credential::AccessToken(token) => {
                let client = client.with_token(token);
                let answer = client
                    .call(Method::GET, "/account/whoami", &[], None, Policy::SAFE)
                    .await
                    .map_err(|error| desk_error("checking the access token", error))?;
                let user = room::str_at(&answer, &["user_id"])
                    .ok_or_else(|| DeskError::Desk("matrix: whoami answered without a user id".into()))?;
                if user != config.user {
                    return Err(DeskError::Config(format!(
                        "the access token is {user}'s, not {}'s",
                        config.user
                    )));
                }
                (client, user.to_owned())
            }
        };
        let mut queues = BTreeMap::new();
        for (name, agents) in &config.queues {
            queues.insert(name.clone(), resolve_agents(&client, agents).await?);
        }
        let default = match &config.default {
            Some(agents) => Some(resolve_agents(&client, agents).await?),
            None => None,
        };
        // The first sync only fetches the stream position. It uses the loop's own filter: a
        // position taken under a filter that left the rooms out makes Synapse send every room's
        // history again on the next sync, as if the bot had just joined.
        // Synapse also answers an identical sync from its cache for a while (the key includes the
        // device and the timeout), which after a reconnect would be the previous desk's old
        // position; a first sync (no `since`) never waits, so a timeout of its own avoids that.
        let filter = sync_filter();
        let nonce = (uuid::Uuid::new_v4().as_u128() % 1_000_000 + 1).to_string();
        let answer = client
            .call(
                Method::GET,
                "/sync",
                &[("filter", &filter), ("timeout", &nonce), ("set_presence", "offline")],
                None,
                Policy::SAFE,
            )
            .await
            .map_err(|error| desk_error("first sync", error))?;
        let since = room::str_at(&answer, &["next_batch"])
            .ok_or_else(|| DeskError::Desk("matrix: sync answered without next_batch".into()))?
            .to_owned();
        let inner = Arc::new(Inner {
            client: client.clone(),
            bot,
            queues,
            default,
            join_timeout: Duration::from_secs(config.join_timeout_secs),
            rooms: Mutex::new(HashMap::new()),
            sync: Mutex::new(None),
            held: Mutex::default(),
        });
        let task = tokio::spawn(run_sync(Arc::downgrade(&inner), client, since));
        *inner.sync.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(task.abort_handle());
        tracing::info!(bot = %inner.bot, "matrix desk connected");
        Ok(MatrixDesk { inner })
    }

    /// The bot's Matrix user id.
    /// What a Matrix room can carry: typing and read receipts both ways, agent-to-agent
    /// transfer (`!transfer`), the customer ending the chat, and resuming after a restart; no
    /// queue position or wait time, no offers.
    pub const CAPABILITIES: Capabilities = Capabilities {
        agent_typing: true,
        customer_typing: true,
        agent_read: true,
        customer_read: true,
        customer_end: true,
        queue_position: false,
        estimated_wait: false,
        transfer_events: true,
        files: false,
        resume: true,
        offers: false,
    };

    pub fn bot(&self) -> &str {
        &self.inner.bot
    }
}

/// Joins a queue's agent room (the bot must be invited, or the room public) and keeps its id.
async fn resolve_agents(client: &Client, agents: &QueueAgents) -> Result<Agents, DeskError> {
    let room = match &agents.agents_room {
        // "Joining rooms": `POST /join/{roomIdOrAlias}` answers the room id for an alias too.
        Some(room) => {
            let answer = client
                .call(
                    Method::POST,
                    &format!("/join/{}", segment(room)),
                    &[],
                    Some(&json!({})),
                    Policy::SAFE,
                )
                .await
                .map_err(|error| desk_error(&format!("joining the agents room {room}"), error))?;
            Some(room::str_at(&answer, &["room_id"]).unwrap_or(room).to_owned())
        }
        None => None,
    };
    Ok(Agents {
        users: agents.agents.clone(),
        room,
    })
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Room>> {
        self.rooms.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn agents_of(&self, queue: Option<&QueueName>) -> Result<&Agents, DeskError> {
        let listed = queue.and_then(|queue| self.queues.get(queue.as_str()));
        listed.or(self.default.as_ref()).ok_or_else(|| {
            DeskError::Config(format!(
                "matrix desk: no agents for queue {} and no default",
                queue.map_or("(none)", QueueName::as_str)
            ))
        })
    }

    /// The queue's agents now: the listed users and the agent room's joined members.
    async fn agent_users(&self, queue: Option<&QueueName>) -> Result<Vec<String>, DeskError> {
        let agents = self.agents_of(queue)?;
        let mut users: BTreeSet<String> = agents.users.iter().cloned().collect();
        if let Some(room) = &agents.room {
            // "Room membership": `GET /rooms/{id}/joined_members`.
            let answer = self
                .client
                .call(
                    Method::GET,
                    &format!("/rooms/{}/joined_members", segment(room)),
                    &[],
                    None,
                    Policy::SAFE,
                )
                .await
                .map_err(|error| desk_error("listing the agents room", error))?;
            if let Some(joined) = answer.get("joined").and_then(Value::as_object) {
                users.extend(joined.keys().cloned());
            }
        }
        users.remove(&self.bot);
        Ok(users.into_iter().collect())
    }

    async fn send(&self, room: &str, content: &Value) -> Result<String, CallError> {
        // "Sending events to a room": the transaction id makes a repeated PUT one event.
        let txn = uuid::Uuid::new_v4().simple().to_string();
        let path = format!("/rooms/{}/send/m.room.message/{txn}", segment(room));
        let answer = self
            .client
            .call(Method::PUT, &path, &[], Some(content), Policy::SAFE)
            .await?;
        Ok(room::str_at(&answer, &["event_id"]).unwrap_or_default().to_owned())
    }

    /// Sends a customer message, or, when the homeserver cannot be reached or messages are
    /// already waiting for it, keeps it to send in order once it answers ([`Inner::flush_held`]).
    async fn send_or_hold(self: &Arc<Self>, room: &str, content: Value) -> Result<(), CallError> {
        {
            let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if held.flushing {
                held.messages.push_back((room.to_owned(), content));
                return Ok(());
            }
        }
        match self.send(room, &content).await {
            Ok(_) => Ok(()),
            Err(CallError::Transport(error)) => {
                let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if held.messages.len() >= MAX_HELD {
                    return Err(CallError::Transport(error));
                }
                tracing::warn!(%room, %error, "the homeserver cannot be reached; the customer's message waits for it");
                held.messages.push_back((room.to_owned(), content));
                if !held.flushing {
                    held.flushing = true;
                    tokio::spawn(self.clone().flush_held());
                }
                Ok(())
            }
            Err(other) => Err(other),
        }
    }

    /// Sends the held messages, oldest first, trying again with a growing pause (up to 5 s)
    /// while the homeserver cannot be reached; new messages queue behind them until none is left.
    async fn flush_held(self: Arc<Self>) {
        let mut pause = Duration::from_millis(250);
        loop {
            tokio::time::sleep(pause).await;
            loop {
                let next = {
                    let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    let next = held.messages.pop_front();
                    if next.is_none() {
                        held.flushing = false;
                    }
                    next
                };
                let Some((room, content)) = next else {
                    return;
                };
                match self.send(&room, &content).await {
                    Ok(_) => pause = Duration::from_millis(250),
                    Err(CallError::Transport(error)) => {
                        tracing::debug!(%error, "the homeserver cannot be reached yet; held messages wait");
                        self.held
                            .lock()
                            .unwrap_or_else(|poisoned| poisoned.into_inner())
                            .messages
                            .push_front((room, content));
                        pause = (pause * 2).min(Duration::from_secs(5));
                        break;
                    }
                    Err(error) => tracing::warn!(%room, %error, "a held customer message was refused; dropped"),
                }
            }
        }
    }

    async fn notice(&self, room: &str, text: &str) -> Result<String, CallError> {
        self.send(room, &json!({"msgtype": "m.notice", "body": text})).await
    }

    async fn membership(&self, room: &str, action: &str, body: Value) -> Result<(), CallError> {
        let path = format!("/rooms/{}/{action}", segment(room));
        self.client
            .call(Method::POST, &path, &[], Some(&body), Policy::SAFE)
            .await
            .map(drop)
    }

    /// Performs what a room's change asked for, in order; failures are logged (the chat goes on).
    async fn perform(self: &Arc<Self>, room: &str, actions: Vec<Action>) {
        for action in actions {
            let result = match &action {
                Action::Notice(text) => self.notice(room, text).await.map(drop),
                // "Room membership": kicking an invited user withdraws the invitation.
                Action::Kick { user, reason } => {
                    self.membership(room, "kick", json!({"user_id": user, "reason": reason}))
                        .await
                }
                Action::TransferInvite(user) => {
                    let invited = self.membership(room, "invite", json!({"user_id": user})).await;
                    if let Err(error) = &invited {
                        let text = format!("Could not invite {user}: {error}. The chat stays with you.");
                        let _ = self.notice(room, &text).await;
                    }
                    invited
                }
                Action::InviteQueue => {
                    self.invite_queue(room).await;
                    Ok(())
                }
                Action::Close => {
                    // "Leaving rooms": leave, then forget, so the room leaves the bot's sync.
                    let left = self.membership(room, "leave", json!({})).await;
                    let _ = self.membership(room, "forget", json!({})).await;
                    left
                }
            };
            if let Err(error) = result {
                // Not the action itself: a notice may quote the customer.
                tracing::warn!(room, action = action.kind(), %error, "matrix call for a chat failed");
            }
        }
    }

    /// Invites the queue's agents to a waiting room and starts its join timer.
    async fn invite_queue(self: &Arc<Self>, room: &str) -> usize {
        let (queue, generation) = {
            let rooms = self.lock();
            let Some(open) = rooms.get(room) else {
                return 0;
            };
            (open.queue.clone(), open.wait_generation)
        };
        let users = match self.agent_users(queue.as_ref()).await {
            Ok(users) => users,
            Err(error) => {
                tracing::warn!(room, %error, "cannot list the queue's agents");
                Vec::new()
            }
        };
        let mut n_invited = 0;
        for user in users {
            match self.membership(room, "invite", json!({"user_id": user})).await {
                Ok(()) => {
                    n_invited += 1;
                    if let Some(Room {
                        phase: Phase::Waiting { invited },
                        ..
                    }) = self.lock().get_mut(room)
                    {
                        invited.insert(user);
                    }
                }
                Err(error) => tracing::warn!(room, user, %error, "cannot invite an agent"),
            }
        }
        self.start_join_timer(room, generation, self.join_timeout);
        n_invited
    }

    fn start_join_timer(self: &Arc<Self>, room: &str, generation: u64, after: Duration) {
        let desk = Arc::downgrade(self);
        let room = room.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let Some(desk) = desk.upgrade() else {
                return;
            };
            let actions = {
                let mut rooms = desk.lock();
                let Some(open) = rooms.get_mut(&room) else {
                    return;
                };
                if open.wait_generation != generation || !matches!(open.phase, Phase::Waiting { .. }) {
                    return;
                }
                let actions = open.time_out(format!(
                    "No agent joined within {} s; the customer goes back to the assistant.",
                    desk.join_timeout.as_secs()
                ));
                rooms.remove(&room);
                actions
            };
            desk.perform(&room, actions).await;
        });
    }

    /// Hands one sync batch to the open rooms, then performs what they asked and stores each
    /// room's position.
    async fn dispatch(self: &Arc<Self>, batch: &Value) {
        let gaps = self.fill_gaps(batch).await;
        let mut work = Vec::new();
        {
            let mut rooms = self.lock();
            for section in ["join", "leave"] {
                let Some(entries) = batch
                    .get("rooms")
                    .and_then(|rooms| rooms.get(section))
                    .and_then(Value::as_object)
                else {
                    continue;
                };
                for (room_id, entry) in entries {
                    let Some(open) = rooms.get_mut(room_id) else {
                        continue;
                    };
                    let mut incoming: Vec<Incoming> = gaps
                        .get(room_id)
                        .into_iter()
                        .flatten()
                        .cloned()
                        .map(Incoming::Timeline)
                        .collect();
                    incoming.extend(events_of(entry));
                    if incoming.is_empty() {
                        continue;
                    }
                    if let Some(buffer) = &mut open.replaying {
                        buffer.extend(incoming);
                        continue;
                    }
                    let before = open.last_event.clone();
                    let actions = apply(open, &incoming);
                    // Only a batch with new timeline events moves the stored position.
                    let position = open.last_event.clone().filter(|_| open.last_event != before);
                    let ended = open.is_ended();
                    if ended {
                        rooms.remove(room_id);
                    }
                    work.push((room_id.clone(), actions, position, ended));
                }
            }
        }
        for (room_id, actions, position, ended) in work {
            if !ended && let Some(event) = position {
                self.store_position(&room_id, &event).await;
            }
            self.perform(&room_id, actions).await;
        }
    }

    /// The events a sync left out of open rooms' timelines (`limited`: more happened than the
    /// filter's limit), fetched back from `prev_batch` to the last event the room had seen.
    async fn fill_gaps(&self, batch: &Value) -> HashMap<String, Vec<Value>> {
        let mut gaps = HashMap::new();
        let Some(joined) = batch.pointer("/rooms/join").and_then(Value::as_object) else {
            return gaps;
        };
        for (room_id, entry) in joined {
            let limited = entry.pointer("/timeline/limited").and_then(Value::as_bool) == Some(true);
            let Some(prev_batch) = entry.pointer("/timeline/prev_batch").and_then(Value::as_str) else {
                continue;
            };
            if !limited || !self.lock().contains_key(room_id) {
                continue;
            }
            let seen = |event: &Value| {
                let id = room::str_at(event, &["event_id"]).unwrap_or_default();
                self.lock().get(room_id).is_none_or(|open| open.has_seen(id))
            };
            match self.history_until(room_id, Some(prev_batch), seen).await {
                Ok((missed, _)) => {
                    tracing::info!(room = %room_id, n_events = missed.len(), "matrix sync gap filled");
                    gaps.insert(room_id.clone(), missed);
                }
                Err(error) => tracing::warn!(room = %room_id, %error, "matrix sync skipped events in a room"),
            }
        }
        gaps
    }

    async fn store_position(&self, room: &str, event: &str) {
        // "Client Config": room account data, private to the bot.
        let path = format!(
            "/user/{}/rooms/{}/account_data/{POSITION_TYPE}",
            segment(&self.bot),
            segment(room)
        );
        let body = json!({"event_id": event});
        if let Err(error) = self
            .client
            .call(Method::PUT, &path, &[], Some(&body), Policy::SAFE)
            .await
        {
            tracing::warn!(room, %error, "cannot store the chat's position in its room");
        }
    }

    /// The room's events after the stored position, oldest first (empty without a position),
    /// and the stored event's time.
    async fn missed_events(&self, room: &str) -> Result<(Vec<Value>, Option<i64>), CallError> {
        let path = format!(
            "/user/{}/rooms/{}/account_data/{POSITION_TYPE}",
            segment(&self.bot),
            segment(room)
        );
        let stored = match self.client.call(Method::GET, &path, &[], None, Policy::SAFE).await {
            Ok(stored) => stored,
            Err(error) if error.errcode() == Some("M_NOT_FOUND") => return Ok((Vec::new(), None)),
            Err(error) => return Err(error),
        };
        let Some(position) = room::str_at(&stored, &["event_id"]) else {
            return Ok((Vec::new(), None));
        };
        let (missed, found) = self
            .history_until(room, None, |event| room::str_at(event, &["event_id"]) == Some(position))
            .await?;
        if found.is_none() {
            tracing::warn!(
                room,
                n_events = missed.len(),
                "the stored position is not in the room's recent history"
            );
        }
        let floor = found.and_then(|event| event.get("origin_server_ts").and_then(Value::as_i64));
        Ok((missed, floor))
    }

    /// The room's events from `from` (the newest when `None`) back to the first one `stop`
    /// picks, oldest first, and that event; at most [`REPLAY_LIMIT`] events.
    async fn history_until(
        &self,
        room: &str,
        from: Option<&str>,
        stop: impl Fn(&Value) -> bool,
    ) -> Result<(Vec<Value>, Option<Value>), CallError> {
        // "Getting events for a room": `GET /rooms/{id}/messages`, newest first with `dir=b`.
        let path = format!("/rooms/{}/messages", segment(room));
        let mut events = Vec::new();
        let mut from = from.map(str::to_owned);
        let mut found = None;
        'pages: loop {
            let mut query = vec![("dir", "b"), ("limit", "100")];
            if let Some(from) = &from {
                query.push(("from", from));
            }
            let page = self.client.call(Method::GET, &path, &query, None, Policy::SAFE).await?;
            let chunk = page.get("chunk").and_then(Value::as_array).cloned().unwrap_or_default();
            for event in &chunk {
                if stop(event) {
                    found = Some(event.clone());
                    break 'pages;
                }
                events.push(event.clone());
            }
            let end = room::str_at(&page, &["end"]).map(str::to_owned);
            if chunk.is_empty() || end.is_none() || events.len() >= REPLAY_LIMIT {
                break;
            }
            from = end;
        }
        events.reverse();
        Ok((events, found))
    }

    fn broadcast(&self, event: DeskEvent) {
        for open in self.lock().values() {
            open.emit(event.clone());
        }
    }

    fn open_room(&self, chat: &ChatId) -> Result<String, DeskError> {
        let rooms = self.lock();
        match rooms.get(chat.as_str()) {
            Some(open) if !open.is_ended() => Ok(open.id.clone()),
            _ => Err(DeskError::UnknownChat(chat.clone())),
        }
    }
}

/// The timeline and ephemeral events of one room's sync entry, in that order.
fn events_of(entry: &Value) -> Vec<Incoming> {
    let list = |section: &str| {
        entry
            .get(section)
            .and_then(|section| section.get("events"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let mut incoming: Vec<Incoming> = list("timeline").into_iter().map(Incoming::Timeline).collect();
    incoming.extend(list("ephemeral").into_iter().map(Incoming::Ephemeral));
    incoming
}

fn apply(open: &mut Room, incoming: &[Incoming]) -> Vec<Action> {
    let mut actions = Vec::new();
    for event in incoming {
        match event {
            Incoming::Timeline(event) => actions.extend(open.timeline(event)),
            Incoming::Ephemeral(event) => open.ephemeral(event),
        }
    }
    actions
}

/// What the bot's syncs ask for: room timelines, typing and receipts; no presence, no account data.
fn sync_filter() -> String {
    json!({
        "presence": {"types": []},
        "account_data": {"types": []},
        "room": {
            "timeline": {"limit": 100},
            "state": {"lazy_load_members": true},
            "ephemeral": {"types": ["m.typing", "m.receipt"]},
            "account_data": {"types": []},
        },
    })
    .to_string()
}

/// The sync loop: long-polls `/sync` (Client-Server API v1.11, "Syncing") from `since` and
/// dispatches each batch, until the desk is dropped. While the homeserver cannot be reached it
/// tries again with a growing pause and tells every open chat once that it is disconnected.
async fn run_sync(desk: Weak<Inner>, client: Client, mut since: String) {
    let filter = sync_filter();
    let wait = SYNC_WAIT.as_millis().to_string();
    let policy = Policy {
        timeout: SYNC_WAIT + Duration::from_secs(15),
        attempts: 1,
        idempotent: true,
    };
    let mut n_failures: u32 = 0;
    loop {
        let query = [
            ("filter", filter.as_str()),
            ("since", since.as_str()),
            ("timeout", wait.as_str()),
            ("set_presence", "offline"),
        ];
        let result = client.call(Method::GET, "/sync", &query, None, policy).await;
        let Some(inner) = desk.upgrade() else {
            return;
        };
        let next = result
            .as_ref()
            .ok()
            .and_then(|batch| room::str_at(batch, &["next_batch"]))
            .map(str::to_owned);
        match (result, next) {
            (Ok(batch), Some(next)) => {
                if n_failures > 0 {
                    tracing::info!(n_failures, "matrix sync reconnected");
                }
                n_failures = 0;
                since = next;
                inner.dispatch(&batch).await;
            }
            (result, _) => {
                n_failures += 1;
                let error = match result {
                    Err(error) => error.to_string(),
                    Ok(_) => "sync answered without next_batch".to_owned(),
                };
                if n_failures == 2 {
                    tracing::warn!(%error, "matrix sync lost the homeserver; retrying");
                    inner.broadcast(DeskEvent::Error(DeskErrorKind::Disconnected));
                } else {
                    tracing::debug!(%error, n_failures, "matrix sync failed");
                }
                drop(inner);
                let pause = Duration::from_millis(250 * 2u64.pow(n_failures.min(5)));
                tokio::time::sleep(pause.min(Duration::from_secs(5))).await;
            }
        }
    }
}

/// The brief and transcript, as the agent reads them first.
fn brief_notices(request: &ChatRequest, customer: &str) -> Vec<String> {
    let mut notices = Vec::new();
    let queue = request.routing.queue.as_ref().map_or("(default)", QueueName::as_str);
    let reason = match &request.brief.reason {
        BriefReason::Planned { action, step } => match step {
            Some(step) => format!("planned transfer from action {action}, step {step}"),
            None => format!("planned transfer from action {action}"),
        },
        BriefReason::Fallback {
            reason,
            action,
            step,
            failed_inputs,
        } => {
            let reason = serde_json::to_value(reason)
                .ok()
                .and_then(|value| value.as_str().map(|name| name.replace('_', " ")))
                .unwrap_or_default();
            let mut text = format!("fallback ({reason})");
            if let Some(action) = action {
                text.push_str(&format!(" in action {action}"));
            }
            if let Some(step) = step {
                text.push_str(&format!(", step {step}"));
            }
            if !failed_inputs.is_empty() {
                let inputs: Vec<String> = failed_inputs.iter().map(|input| format!("{input:?}")).collect();
                text.push_str(&format!("; inputs not understood: {}", inputs.join(", ")));
            }
            text
        }
    };
    let mut header = format!("{customer} asks for an agent (queue {queue}): {reason}.");
    if let Some(channel) = &request.customer.channel {
        header.push_str(&format!(" Channel: {channel}."));
    }
    if let Some(locale) = &request.customer.locale {
        header.push_str(&format!(" Language: {locale}."));
    }
    notices.push(header);
    if !request.brief.message_to_agent.trim().is_empty() {
        notices.push(format!("Message for you: {}", request.brief.message_to_agent));
    }
    if !request.brief.variables.is_empty() {
        let lines: Vec<String> = request
            .brief
            .variables
            .iter()
            .map(|(name, value)| format!("  {name} = {value}"))
            .collect();
        notices.push(format!("What the assistant knows:\n{}", lines.join("\n")));
    }
    if !request.transcript.is_empty() {
        // Long transcripts go in several notices of at most 50 lines.
        for (idx, lines) in request.transcript.chunks(50).enumerate() {
            let lines: Vec<String> = lines
                .iter()
                .map(|line| {
                    let speaker = match &line.speaker {
                        Speaker::Customer => customer.to_owned(),
                        Speaker::Assistant => "Assistant".to_owned(),
                        Speaker::Agent(name) => format!("Agent {name}"),
                        Speaker::System => "System".to_owned(),
                    };
                    format!("[{}] {speaker}: {}", line.at.format("%H:%M"), line.text)
                })
                .collect();
            let title = if idx == 0 {
                "Conversation so far:"
            } else {
                "(continued)"
            };
            notices.push(format!("{title}\n{}", lines.join("\n")));
        }
    }
    if let Some(url) = &request.transcript_url {
        notices.push(format!("Full transcript: {url}"));
    }
    notices.push(room::HELP.to_owned());
    notices
}

fn customer_label(request: &ChatRequest) -> String {
    match &request.customer.name {
        Some(name) if !name.trim().is_empty() => format!("{} (customer)", name.trim()),
        _ => "Customer".to_owned(),
    }
}

fn room_name(request: &ChatRequest) -> String {
    let who = request
        .customer
        .name
        .as_deref()
        .or(request.customer.user_id.as_deref())
        .unwrap_or(request.session.as_str());
    match &request.routing.queue {
        Some(queue) => format!("Customer {who} — {queue}"),
        None => format!("Customer {who}"),
    }
}

impl ServiceDesk for MatrixDesk {
    fn capabilities(&self) -> Capabilities {
        MatrixDesk::CAPABILITIES
    }

    fn availability<'a>(&'a self, queue: Option<&'a QueueName>) -> DeskFuture<'a, Availability> {
        Box::pin(async move {
            let users = self.inner.agent_users(queue).await?;
            let mut n_unknown = 0;
            let mut online = false;
            for user in &users {
                // "Presence": `GET /presence/{userId}/status`; refused for users the bot shares
                // no room with.
                let path = format!("/presence/{}/status", segment(user));
                match self
                    .inner
                    .client
                    .call(Method::GET, &path, &[], None, Policy::GLANCE)
                    .await
                {
                    Ok(status) => {
                        if matches!(room::str_at(&status, &["presence"]), Some("online" | "unavailable")) {
                            online = true;
                            break;
                        }
                    }
                    Err(error) => {
                        tracing::debug!(user, %error, "agent presence unknown");
                        n_unknown += 1;
                    }
                }
            }
            let online = match (online, n_unknown) {
                (true, _) => Online::Yes,
                (false, 0) => Online::No,
                (false, _) => Online::Unknown,
            };
            Ok(Availability {
                online,
                position: None,
                estimated_wait: None,
                offline_policy: None,
            })
        })
    }

    fn start_chat(&self, request: ChatRequest) -> DeskFuture<'_, Chat> {
        Box::pin(async move {
            let inner = &self.inner;
            let queue = request.routing.queue.clone();
            inner.agents_of(queue.as_ref())?;
            let customer = customer_label(&request);
            // "Creation": a private room; history is shared, so an agent who joins reads it.
            let body = json!({
                "preset": "private_chat",
                "name": room_name(&request),
                "topic": format!("Baton transfer {} (session {})", request.transfer, request.session),
            });
            let created = inner
                .client
                .call(Method::POST, "/createRoom", &[], Some(&body), Policy::ONCE)
                .await
                .map_err(|error| desk_error("creating the chat's room", error))?;
            let room_id = room::str_at(&created, &["room_id"])
                .ok_or_else(|| DeskError::Desk("matrix: createRoom answered without a room id".into()))?
                .to_owned();
            let chat = ChatId::parse(&room_id)?;
            let (sender, events) = mpsc::unbounded_channel();
            let open = Room::new(
                room_id.clone(),
                queue.clone(),
                customer.clone(),
                inner.bot.clone(),
                sender,
            );
            open.emit(DeskEvent::Queued {
                position: None,
                wait: None,
                note: None,
            });
            inner.lock().insert(room_id.clone(), open);
            let n_invited = inner.invite_queue(&room_id).await;
            if n_invited == 0 {
                inner.lock().remove(&room_id);
                let _ = inner.membership(&room_id, "leave", json!({})).await;
                let _ = inner.membership(&room_id, "forget", json!({})).await;
                let queue = queue.unwrap_or_else(|| QueueName::parse("default").expect("a valid name"));
                return Err(DeskError::Unavailable {
                    queue,
                    policy: baton_desk::OfflinePolicy::WaitInQueue,
                });
            }
            // The brief follows the invitations, so agents hear of the chat one round trip after
            // the room exists; an invitation shows only the room's name and topic, and the room's
            // history is shared, so an agent who joins at once still reads the brief first.
            for text in brief_notices(&request, &customer) {
                if let Err(error) = inner.notice(&room_id, &text).await {
                    tracing::warn!(room = %room_id, %error, "cannot post the brief");
                }
            }
            tracing::info!(room = %room_id, transfer = %request.transfer, n_invited, "matrix chat opened");
            Ok(Chat { id: chat, events })
        })
    }

    fn send_to_agent<'a>(&'a self, chat: &'a ChatId, message: CustomerMessage) -> DeskFuture<'a, ()> {
        Box::pin(async move {
            let room_id = self.inner.open_room(chat)?;
            let label = self
                .inner
                .lock()
                .get(&room_id)
                .map(|open| open.customer_label.clone())
                .unwrap_or_default();
            let content = json!({
                "msgtype": "m.text",
                "body": format!("{label}: {}", message.text),
                MESSAGE_ID_KEY: message.id.as_str(),
            });
            self.inner
                .send_or_hold(&room_id, content)
                .await
                .map_err(|error| desk_error("sending the customer's message", error))
        })
    }

    fn customer_typing<'a>(&'a self, chat: &'a ChatId, typing: bool) -> DeskFuture<'a, ()> {
        Box::pin(async move {
            let room_id = self.inner.open_room(chat)?;
            // "Typing notifications": `PUT /rooms/{id}/typing/{userId}`.
            let path = format!("/rooms/{}/typing/{}", segment(&room_id), segment(&self.inner.bot));
            let body = json!({"typing": typing, "timeout": 30_000});
            self.inner
                .client
                .call(Method::PUT, &path, &[], Some(&body), Policy::SAFE)
                .await
                .map(drop)
                .map_err(|error| desk_error("sending the customer's typing", error))
        })
    }

    fn customer_read<'a>(&'a self, chat: &'a ChatId, up_to: &'a MessageId) -> DeskFuture<'a, ()> {
        Box::pin(async move {
            let room_id = self.inner.open_room(chat)?;
            // "Receipts": `POST /rooms/{id}/receipt/m.read/{eventId}`; an agent message's id is its event id.
            let path = format!(
                "/rooms/{}/receipt/m.read/{}",
                segment(&room_id),
                segment(up_to.as_str())
            );
            self.inner
                .client
                .call(Method::POST, &path, &[], Some(&json!({})), Policy::SAFE)
                .await
                .map(drop)
                .map_err(|error| desk_error("sending the customer's read receipt", error))
        })
    }

    fn end_chat<'a>(&'a self, chat: &'a ChatId, reason: EndReason) -> DeskFuture<'a, ()> {
        Box::pin(async move {
            let actions = {
                let mut rooms = self.inner.lock();
                let Some(mut open) = rooms.remove(chat.as_str()) else {
                    return Err(DeskError::UnknownChat(chat.clone()));
                };
                let why = match reason {
                    EndReason::Cancelled => "cancelled the request",
                    _ => "left the chat",
                };
                open.close_for_customer(format!("The customer {why}; this chat is closed."))
            };
            self.inner.perform(chat.as_str(), actions).await;
            Ok(())
        })
    }

    fn resume(&self, resume: ChatResume) -> DeskFuture<'_, Chat> {
        Box::pin(async move {
            let inner = &self.inner;
            let room_id = resume.chat.as_str().to_owned();
            let members = inner
                .client
                .call(
                    Method::GET,
                    &format!("/rooms/{}/joined_members", segment(&room_id)),
                    &[],
                    None,
                    Policy::SAFE,
                )
                .await
                .map_err(|error| match error.errcode() {
                    Some("M_FORBIDDEN" | "M_NOT_FOUND") => DeskError::UnknownChat(resume.chat.clone()),
                    _ => desk_error("reading the chat's room", error),
                })?;
            let (sender, events) = mpsc::unbounded_channel();
            let mut open = Room::new(
                room_id.clone(),
                resume.request.routing.queue.clone(),
                customer_label(&resume.request),
                inner.bot.clone(),
                sender,
            );
            if let Some(joined) = members.get("joined").and_then(Value::as_object) {
                for (user, profile) in joined {
                    open.joined.insert(user.clone());
                    if let Some(name) = room::str_at(profile, &["display_name"]) {
                        open.remember_name(user, name);
                    }
                }
            }
            let waiting = resume.agent.is_none();
            if waiting {
                // "Room membership": the invitations still out, to withdraw when one agent joins.
                let path = format!("/rooms/{}/members", segment(&room_id));
                let members = inner
                    .client
                    .call(Method::GET, &path, &[("membership", "invite")], None, Policy::SAFE)
                    .await
                    .unwrap_or_default();
                let invited = members
                    .get("chunk")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|event| room::str_at(event, &["state_key"]))
                    .map(str::to_owned)
                    .collect();
                open.phase = Phase::Waiting { invited };
            }
            if let Some(agent) = &resume.agent {
                open.phase = Phase::Active {
                    agent: agent.as_str().to_owned(),
                };
            }
            open.replaying = Some(Vec::new());
            let generation = open.wait_generation;
            inner.lock().insert(room_id.clone(), open);

            let (missed, floor) = match inner.missed_events(&room_id).await {
                Ok(missed) => missed,
                Err(error) => {
                    tracing::warn!(room = %room_id, %error, "cannot read what the chat missed");
                    (Vec::new(), None)
                }
            };
            let (actions, position) = {
                let mut rooms = inner.lock();
                let Some(open) = rooms.get_mut(&room_id) else {
                    return Err(DeskError::UnknownChat(resume.chat.clone()));
                };
                open.floor = floor;
                let mut incoming: Vec<Incoming> = missed.into_iter().map(Incoming::Timeline).collect();
                incoming.extend(open.replaying.take().unwrap_or_default());
                let mut actions = apply(open, &incoming);
                // The agent may have left while nobody was watching, without a position to replay from.
                if let Phase::Active { agent } = &open.phase
                    && !open.joined.contains(agent)
                {
                    let left = json!({"event_id": "$baton-resume-check", "sender": agent, "type": "m.room.member",
                                      "state_key": agent, "content": {"membership": "leave"}});
                    actions.extend(open.timeline(&left));
                }
                let position = open
                    .last_event
                    .clone()
                    .filter(|event| event.starts_with('$') && !event.starts_with("$baton-"));
                if open.is_ended() {
                    rooms.remove(&room_id);
                }
                (actions, position)
            };
            if let Some(event) = position {
                inner.store_position(&room_id, &event).await;
            }
            inner.perform(&room_id, actions).await;
            if waiting {
                let deadline = resume.queued_at + chrono::TimeDelta::from_std(inner.join_timeout).unwrap_or_default();
                let left = (deadline - chrono::Utc::now()).to_std().unwrap_or_default();
                inner.start_join_timer(&room_id, generation, left);
            }
            tracing::info!(room = %room_id, "matrix chat resumed");
            Ok(Chat {
                id: resume.chat,
                events,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_reads_queues_refuses_unknown_keys_and_hides_secrets() {
        let config: MatrixConfig = serde_json::from_value(json!({
            "homeserver": "https://matrix.example.org",
            "user": "@baton:example.org",
            "password": "hunter2",
            "queues": {
                "billing": {"agents": ["@ann:example.org", "@bob:example.org"]},
                "tech": {"agents_room": "#tech-agents:example.org"},
            },
            "default": {"agents": ["@ann:example.org"]},
            "join_timeout_secs": 60,
        }))
        .unwrap();
        assert_eq!(config.queues["billing"].agents.len(), 2);
        assert_eq!(config.join_timeout_secs, 60);
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2") && shown.contains("[redacted]"), "{shown}");

        let unknown = serde_json::from_value::<MatrixConfig>(json!({
            "homeserver": "https://matrix.example.org", "user": "@baton:example.org", "pasword": "x",
        }));
        assert!(unknown.is_err());
    }

    #[test]
    fn secrets_come_from_exactly_one_source() {
        let dir = std::env::temp_dir().join(format!("baton-matrix-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "syt_token\n").unwrap();
        let mut config = MatrixConfig::new("https://hs", "@baton:hs", "pw");
        config.password = None;
        config.access_token_file = Some(file.display().to_string());
        config.resolve_secrets().unwrap();
        assert_eq!(config.access_token.as_deref(), Some("syt_token"));
        assert!(matches!(config.credential(), Ok(Credential::AccessToken(_))));

        let mut both = MatrixConfig::new("https://hs", "@baton:hs", "pw");
        both.access_token = Some("t".into());
        assert!(matches!(both.resolve_secrets(), Err(DeskError::Config(_))));
        let mut missing = MatrixConfig::new("https://hs", "@baton:hs", "pw");
        missing.password = None;
        missing.password_file = Some(dir.join("absent").display().to_string());
        assert!(matches!(missing.resolve_secrets(), Err(DeskError::Config(_))));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_brief_names_the_customer_reason_variables_and_transcript() {
        let request = baton_desk::contract::sample_request("t-1", QueueName::parse("billing").unwrap());
        let notices = brief_notices(&request, &customer_label(&request)).join("\n");
        for expected in [
            "Robin (customer) asks for an agent (queue billing): fallback (no action matches)",
            "\"blorp\", \"flurb\"",
            "Message for you: The customer could not be understood.",
            "account_type = \"savings\"",
            "[10:00] Robin (customer): blorp",
            "Full transcript: https://baton.example/transcripts/t-1",
            "!handback",
        ] {
            assert!(notices.contains(expected), "{expected:?} missing from:\n{notices}");
        }
        assert_eq!(room_name(&request), "Customer Robin — billing");
    }
}
