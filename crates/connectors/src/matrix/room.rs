//! One chat's room: what the desk knows about it and how each Matrix event changes it.
//!
//! Pure: [`Room::timeline`] and [`Room::ephemeral`] read one event (as JSON, whatever its shape),
//! send the [`DeskEvent`]s it means on the chat's channel, and return the homeserver calls it asks
//! for as [`Action`]s, which the desk performs after letting go of its lock.
//! Nothing here trusts the homeserver: a field that is missing or of the wrong type makes the
//! event ignored, never a panic.
//!
//! The agent's side of the room (Client-Server API v1.11, "Room membership", "Typing
//! notifications", "Receipts", "Instant messaging"):
//!
//! ```text
//! waiting      ─ an invited agent joins ──────────→ active(agent)        AgentJoined; other invites withdrawn
//! active(a)    ─ a (or !transfer) invites b ──────→ transferring(a → b)  TransferStarted(b)
//! transferring ─ b joins ─────────────────────────→ active(b)            AgentJoined(b); a is kicked
//! transferring ─ b declines, a still there ───────→ active(a)            AgentJoined(a)
//! transferring ─ b declines, a gone ──────────────→ waiting              Queued; the queue is invited again
//! active(a)    ─ a leaves ────────────────────────→ ended                AgentLeft, Ended{Agent, Other}
//! active(a)    ─ !end / !handback ────────────────→ ended                Ended{Agent, Resolved | HandBack}
//! waiting      ─ join timeout (the desk's timer) ─→ ended                Ended{Desk, JoinTimedOut}
//! ```

use std::collections::{BTreeSet, HashMap};

use baton_desk::{AgentId, AgentMessage, AgentProfile, DeskEvent, EndReason, EndedBy, MessageId, QueueName};
use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

/// The content key under which the bot's customer messages carry Baton's message id, so a read
/// receipt on a later event can be traced back to it (also after a restart).
pub(crate) const MESSAGE_ID_KEY: &str = "org.baton.message_id";

/// Where the chat stands, from the room's members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Invitations are out; the first to join gets the chat.
    Waiting {
        invited: BTreeSet<String>,
    },
    Active {
        agent: String,
    },
    /// `from` passed the chat to `to`, who has not joined yet.
    Transferring {
        from: String,
        to: String,
    },
    Ended,
}

/// A homeserver call a change asks for, performed by the desk in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// An `m.notice` from the bot, for the agents.
    Notice(String),
    /// Withdraws an invitation or removes an agent (a kick).
    Kick { user: String, reason: String },
    /// Invites the agent an agent passes the chat to; a notice tells the room if it fails.
    TransferInvite(String),
    /// Invites the queue's agents again and restarts the join timer.
    InviteQueue,
    /// The bot leaves and forgets the room; the chat is over.
    Close,
}

impl Action {
    /// The action's name, for logs (a notice's text may quote the customer).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Action::Notice(_) => "notice",
            Action::Kick { .. } => "kick",
            Action::TransferInvite(_) => "transfer invite",
            Action::InviteQueue => "invite queue",
            Action::Close => "close",
        }
    }
}

/// One open chat.
#[derive(Debug)]
pub(crate) struct Room {
    pub id: String,
    pub queue: Option<QueueName>,
    /// How the bot labels the customer's messages ("Robin (customer)").
    pub customer_label: String,
    pub phase: Phase,
    /// Bumped whenever the chat starts waiting, so a join timer of an earlier wait does nothing.
    pub wait_generation: u64,
    /// Users whose membership is `join`, as far as the events seen tell.
    pub joined: BTreeSet<String>,
    events: UnboundedSender<DeskEvent>,
    bot: String,
    /// Every timeline event seen, with its position: duplicates are dropped (resume replays
    /// overlap the sync), and receipts are placed in order.
    positions: HashMap<String, u64>,
    next_position: u64,
    /// The bot's customer messages: (position, Baton's id), in timeline order.
    customer_messages: Vec<(u64, MessageId)>,
    /// The position of the last customer message reported read.
    last_read: Option<u64>,
    agent_typing: bool,
    names: HashMap<String, String>,
    /// The last timeline event processed, the resume point the desk stores in the room.
    pub last_event: Option<String>,
    /// After a resume: events older than the stored position (milliseconds since the epoch)
    /// were handled before the restart and are only recorded.
    pub floor: Option<i64>,
    /// While a resume replays history, sync events for the room wait here.
    pub replaying: Option<Vec<Incoming>>,
}

/// An event for a room, as the sync delivers it.
#[derive(Debug, Clone)]
pub(crate) enum Incoming {
    Timeline(Value),
    Ephemeral(Value),
}

impl Room {
    pub(crate) fn new(
        id: String,
        queue: Option<QueueName>,
        customer_label: String,
        bot: String,
        events: UnboundedSender<DeskEvent>,
    ) -> Room {
        Room {
            id,
            queue,
            customer_label,
            phase: Phase::Waiting {
                invited: BTreeSet::new(),
            },
            wait_generation: 0,
            joined: BTreeSet::new(),
            events,
            bot,
            positions: HashMap::new(),
            next_position: 0,
            customer_messages: Vec::new(),
            last_read: None,
            agent_typing: false,
            names: HashMap::new(),
            last_event: None,
            floor: None,
            replaying: None,
        }
    }

    pub(crate) fn emit(&self, event: DeskEvent) {
        // A dropped receiver means Baton stopped listening; the room still follows its events.
        let _ = self.events.send(event);
    }

    /// Whether this timeline event was already handled.
    pub(crate) fn has_seen(&self, event_id: &str) -> bool {
        self.positions.contains_key(event_id)
    }

    pub(crate) fn is_ended(&self) -> bool {
        self.phase == Phase::Ended
    }

    /// The agent whose messages and signals reach the customer now.
    pub(crate) fn current_agent(&self) -> Option<&str> {
        match &self.phase {
            Phase::Active { agent } => Some(agent),
            Phase::Transferring { from, .. } => Some(from),
            Phase::Waiting { .. } | Phase::Ended => None,
        }
    }

    pub(crate) fn profile(&self, user: &str) -> Option<AgentProfile> {
        let id = AgentId::parse(user).ok()?;
        let name = self
            .names
            .get(user)
            .cloned()
            .unwrap_or_else(|| localpart(user).to_owned());
        Some(AgentProfile { id, name })
    }

    pub(crate) fn remember_name(&mut self, user: &str, name: &str) {
        let name = name.trim();
        if !name.is_empty() && name.chars().count() <= 200 {
            self.names.insert(user.to_owned(), name.to_owned());
        }
    }

    /// Ends the chat from the desk's side (no agent joined in time): the event, a notice, the
    /// invitations withdrawn, the bot gone.
    pub(crate) fn time_out(&mut self, notice: String) -> Vec<Action> {
        let Phase::Waiting { invited } = std::mem::replace(&mut self.phase, Phase::Ended) else {
            return Vec::new();
        };
        self.emit(DeskEvent::Ended {
            by: EndedBy::Desk,
            reason: EndReason::JoinTimedOut,
        });
        let mut actions = vec![Action::Notice(notice)];
        actions.extend(invited.into_iter().map(|user| Action::Kick {
            user,
            reason: "no longer waiting".into(),
        }));
        actions.push(Action::Close);
        actions
    }

    /// The calls that close the chat from the customer's side: a notice, invitations withdrawn,
    /// the bot gone. No event: Baton ended it.
    pub(crate) fn close_for_customer(&mut self, notice: String) -> Vec<Action> {
        let phase = std::mem::replace(&mut self.phase, Phase::Ended);
        let mut actions = vec![Action::Notice(notice)];
        let pending = match phase {
            Phase::Waiting { invited } => invited.into_iter().collect(),
            Phase::Transferring { to, .. } if !self.joined.contains(&to) => vec![to],
            _ => Vec::new(),
        };
        actions.extend(pending.into_iter().map(|user| Action::Kick {
            user,
            reason: "the customer left".into(),
        }));
        actions.push(Action::Close);
        actions
    }

    /// One event of the room's timeline.
    pub(crate) fn timeline(&mut self, event: &Value) -> Vec<Action> {
        let mut actions = Vec::new();
        let Some(event_id) = str_at(event, &["event_id"]) else {
            return actions;
        };
        if self.positions.contains_key(event_id) {
            return actions;
        }
        let position = self.next_position;
        self.next_position += 1;
        self.positions.insert(event_id.to_owned(), position);
        self.last_event = Some(event_id.to_owned());
        let old = self
            .floor
            .zip(event.get("origin_server_ts").and_then(Value::as_i64))
            .is_some_and(|(floor, at)| at < floor);
        if self.is_ended() || old {
            return actions;
        }
        let (Some(sender), Some(kind)) = (str_at(event, &["sender"]), str_at(event, &["type"])) else {
            return actions;
        };
        match kind {
            "m.room.member" => {
                let (Some(user), Some(membership)) =
                    (str_at(event, &["state_key"]), str_at(event, &["content", "membership"]))
                else {
                    return actions;
                };
                if let Some(name) = str_at(event, &["content", "displayname"]) {
                    self.remember_name(user, name);
                }
                self.member(sender, user, membership, &mut actions);
            }
            "m.room.message" if sender == self.bot => {
                if let Some(id) = str_at(event, &["content", MESSAGE_ID_KEY]).and_then(|id| MessageId::parse(id).ok()) {
                    self.customer_messages.push((position, id));
                }
            }
            "m.room.message" => {
                let at = event
                    .get("origin_server_ts")
                    .and_then(Value::as_i64)
                    .and_then(DateTime::from_timestamp_millis)
                    .unwrap_or_else(Utc::now);
                self.message(
                    sender,
                    event_id,
                    event.get("content").unwrap_or(&Value::Null),
                    at,
                    &mut actions,
                );
            }
            _ => {}
        }
        actions
    }

    fn member(&mut self, sender: &str, user: &str, membership: &str, actions: &mut Vec<Action>) {
        match membership {
            "join" => {
                self.joined.insert(user.to_owned());
            }
            _ => {
                self.joined.remove(user);
            }
        }
        if user == self.bot {
            if matches!(membership, "leave" | "ban") {
                // Someone removed the bot: nothing more can reach the agents.
                self.phase = Phase::Ended;
                self.emit(DeskEvent::Ended {
                    by: EndedBy::Desk,
                    reason: EndReason::Other {
                        note: "the bot was removed from the Matrix room".into(),
                    },
                });
            }
            return;
        }
        let gone = matches!(membership, "leave" | "ban");
        match (&mut self.phase, membership) {
            (Phase::Waiting { invited }, "invite") => {
                invited.insert(user.to_owned());
            }
            (Phase::Waiting { invited }, "join") => {
                let others: Vec<String> = invited.iter().filter(|other| *other != user).cloned().collect();
                let Some(profile) = self.profile(user) else {
                    return;
                };
                self.phase = Phase::Active { agent: user.to_owned() };
                self.emit(DeskEvent::AgentJoined(profile));
                actions.extend(others.into_iter().map(|other| Action::Kick {
                    user: other,
                    reason: format!("{user} took the chat"),
                }));
            }
            (Phase::Waiting { invited }, _) if gone => {
                invited.remove(user);
            }
            (Phase::Active { agent }, "invite") if user != agent && (sender == agent || sender == self.bot) => {
                let from = agent.clone();
                let Some(profile) = self.profile(user) else {
                    return;
                };
                self.phase = Phase::Transferring {
                    from,
                    to: user.to_owned(),
                };
                self.emit(DeskEvent::TransferStarted(profile));
            }
            (Phase::Active { agent }, _) if gone && user == agent => {
                self.phase = Phase::Ended;
                self.emit(DeskEvent::AgentLeft);
                self.emit(DeskEvent::Ended {
                    by: EndedBy::Agent,
                    reason: EndReason::Other {
                        note: "the agent left the Matrix room".into(),
                    },
                });
                actions.push(Action::Close);
            }
            (Phase::Transferring { from, to }, "join") if user == to => {
                let from = from.clone();
                let Some(profile) = self.profile(user) else {
                    return;
                };
                self.phase = Phase::Active { agent: user.to_owned() };
                self.agent_typing = false;
                self.emit(DeskEvent::AgentJoined(profile));
                if self.joined.contains(&from) {
                    actions.push(Action::Kick {
                        user: from,
                        reason: format!("transferred to {user}"),
                    });
                }
            }
            (Phase::Transferring { from, to }, _) if gone && user == to => {
                let from = from.clone();
                if self.joined.contains(&from) {
                    let Some(profile) = self.profile(&from) else {
                        return;
                    };
                    self.phase = Phase::Active { agent: from };
                    self.emit(DeskEvent::AgentJoined(profile));
                    actions.push(Action::Notice(format!(
                        "{user} did not take the chat; it stays with you."
                    )));
                } else {
                    self.requeue(actions);
                }
            }
            (Phase::Transferring { from, .. }, _) if gone && user == from => {
                // The agent passing the chat on may leave before the next one joins.
                self.agent_typing = false;
            }
            _ => {}
        }
    }

    /// Back to waiting for the queue's agents.
    fn requeue(&mut self, actions: &mut Vec<Action>) {
        self.phase = Phase::Waiting {
            invited: BTreeSet::new(),
        };
        self.wait_generation += 1;
        self.agent_typing = false;
        self.emit(DeskEvent::AgentLeft);
        self.emit(DeskEvent::Queued {
            position: None,
            wait: None,
            note: None,
        });
        actions.push(Action::InviteQueue);
    }

    fn message(&mut self, sender: &str, event_id: &str, content: &Value, at: DateTime<Utc>, actions: &mut Vec<Action>) {
        if self.current_agent() != Some(sender) {
            return;
        }
        let Some(body) = str_at(content, &["body"]) else {
            return;
        };
        let text_like = matches!(str_at(content, &["msgtype"]), Some("m.text" | "m.emote" | "m.notice"));
        if !text_like {
            actions.push(Action::Notice(
                "Only text messages reach the customer; that one was not sent.".into(),
            ));
            return;
        }
        if let Some(command) = body.trim_start().strip_prefix('!') {
            self.command(sender, command, actions);
            return;
        }
        let (Ok(id), Some(agent)) = (MessageId::parse(event_id), self.profile(sender)) else {
            return;
        };
        // Matrix keeps a typing notification on after a message until it times out; the
        // customer sees the message instead.
        self.agent_typing = false;
        self.emit(DeskEvent::AgentMessage(AgentMessage {
            id,
            at,
            agent,
            text: body.to_owned(),
        }));
    }

    fn command(&mut self, sender: &str, command: &str, actions: &mut Vec<Action>) {
        let mut words = command.split_whitespace();
        let name = words.next().unwrap_or_default();
        match name {
            "end" => self.end_by_agent(EndReason::Resolved, "Chat ended as resolved.", actions),
            "handback" => {
                let (resume, variables) = match crate::dedup::hand_back_parts(words) {
                    Ok(parts) => parts,
                    Err(word) => {
                        actions.push(Action::Notice(format!(
                            "Not understood: {word:?}. Usage: !handback [action] [name=value …]"
                        )));
                        return;
                    }
                };
                let notice = match &resume {
                    Some(action) => format!("Handed back to the assistant, which resumes with {action}."),
                    None => "Handed back to the assistant.".to_owned(),
                };
                self.end_by_agent(EndReason::HandBack { resume, variables }, &notice, actions);
            }
            "transfer" => {
                let target = words.next().unwrap_or_default();
                let valid = target.starts_with('@') && target.contains(':') && AgentId::parse(target).is_ok();
                if !valid || words.next().is_some() {
                    actions.push(Action::Notice(
                        "Usage: !transfer @user:server (the agent who takes the chat over)".into(),
                    ));
                } else if matches!(self.phase, Phase::Transferring { .. }) {
                    actions.push(Action::Notice("A transfer is already under way.".into()));
                } else if target == sender || target == self.bot {
                    actions.push(Action::Notice("Transfer to another agent.".into()));
                } else {
                    actions.push(Action::TransferInvite(target.to_owned()));
                }
            }
            _ => actions.push(Action::Notice(HELP.into())),
        }
    }

    fn end_by_agent(&mut self, reason: EndReason, notice: &str, actions: &mut Vec<Action>) {
        let pending = match &self.phase {
            Phase::Transferring { to, .. } if !self.joined.contains(to) => Some(to.clone()),
            _ => None,
        };
        self.phase = Phase::Ended;
        self.emit(DeskEvent::Ended {
            by: EndedBy::Agent,
            reason,
        });
        actions.push(Action::Notice(format!(
            "{notice} The customer is back with the assistant."
        )));
        actions.extend(pending.map(|user| Action::Kick {
            user,
            reason: "the chat ended".into(),
        }));
        actions.push(Action::Close);
    }

    /// One ephemeral event of the room (typing, receipts).
    pub(crate) fn ephemeral(&mut self, event: &Value) {
        let Some(agent) = self.current_agent().map(str::to_owned) else {
            return;
        };
        match str_at(event, &["type"]) {
            Some("m.typing") => {
                let typing = event
                    .get("content")
                    .and_then(|content| content.get("user_ids"))
                    .and_then(Value::as_array)
                    .is_some_and(|users| users.iter().any(|user| user.as_str() == Some(agent.as_str())));
                if typing != self.agent_typing {
                    self.agent_typing = typing;
                    self.emit(DeskEvent::AgentTyping(typing));
                }
            }
            Some("m.receipt") => {
                let Some(receipts) = event.get("content").and_then(Value::as_object) else {
                    return;
                };
                let read_up_to = receipts
                    .iter()
                    .filter(|(_, kinds)| {
                        kinds
                            .get("m.read")
                            .and_then(Value::as_object)
                            .is_some_and(|readers| readers.contains_key(&agent))
                    })
                    .filter_map(|(event_id, _)| self.positions.get(event_id).copied())
                    .max();
                let Some(read_up_to) = read_up_to else {
                    return;
                };
                let newest_read = self
                    .customer_messages
                    .iter()
                    .rev()
                    .find(|(position, _)| *position <= read_up_to)
                    .cloned();
                if let Some((position, id)) = newest_read
                    && self.last_read.is_none_or(|last| position > last)
                {
                    self.last_read = Some(position);
                    self.emit(DeskEvent::AgentRead { up_to: id });
                }
            }
            _ => {}
        }
    }
}

/// What the bot answers to an unknown command.
pub(crate) const HELP: &str = "Commands: !transfer @user:server (pass the chat to another agent), \
!handback [action] [name=value …] (give the customer back to the assistant), \
!end (the chat is resolved). Anything else you write reaches the customer.";

/// The string at `path` in `value`, if every step is there and it is a string.
pub(crate) fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut current = value;
    for key in path {
        current = current.get(key)?;
    }
    current.as_str()
}

/// `ann` for `@ann:example.org`; the whole id when it has no such shape.
pub(crate) fn localpart(user: &str) -> &str {
    user.strip_prefix('@')
        .and_then(|rest| rest.split(':').next())
        .filter(|local| !local.is_empty())
        .unwrap_or(user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;
    use tokio::sync::mpsc;

    const BOT: &str = "@baton:hs";

    fn room() -> (Room, mpsc::UnboundedReceiver<DeskEvent>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let room = Room::new("!room".into(), None, "Robin (customer)".into(), BOT.into(), sender);
        (room, receiver)
    }

    fn member(id: &str, sender: &str, user: &str, membership: &str) -> Value {
        json!({"event_id": id, "sender": sender, "type": "m.room.member", "state_key": user,
               "content": {"membership": membership, "displayname": "Ann"}})
    }

    fn drain(receiver: &mut mpsc::UnboundedReceiver<DeskEvent>) -> Vec<DeskEvent> {
        std::iter::from_fn(|| receiver.try_recv().ok()).collect()
    }

    #[test]
    fn malformed_events_are_ignored() {
        let (mut room, mut events) = room();
        let garbage = [
            json!(null),
            json!(42),
            json!("text"),
            json!([1, 2]),
            json!({}),
            json!({"event_id": 7}),
            json!({"event_id": "$1"}),
            json!({"event_id": "$2", "sender": "@ann:hs", "type": "m.room.member"}),
            json!({"event_id": "$3", "sender": "@ann:hs", "type": "m.room.member", "state_key": "@ann:hs", "content": {"membership": ["join"]}}),
            json!({"event_id": "$4", "sender": "@ann:hs", "type": "m.room.message", "content": "hi"}),
            json!({"event_id": "$5", "sender": BOT, "type": "m.room.message", "content": {MESSAGE_ID_KEY: 3}}),
        ];
        for event in &garbage {
            assert!(room.timeline(event).is_empty());
            room.ephemeral(event);
        }
        for event in [
            json!({"type": "m.typing", "content": {"user_ids": "@ann:hs"}}),
            json!({"type": "m.receipt", "content": {"$x": {"m.read": []}}}),
            json!({"type": "m.receipt", "content": []}),
        ] {
            room.ephemeral(&event);
        }
        assert_eq!(drain(&mut events), Vec::new());
        assert_eq!(
            room.phase,
            Phase::Waiting {
                invited: BTreeSet::new()
            }
        );
    }

    #[test]
    fn the_first_agent_to_join_gets_the_chat_and_the_other_invitations_are_withdrawn() {
        let (mut room, mut events) = room();
        room.timeline(&member("$1", BOT, "@ann:hs", "invite"));
        room.timeline(&member("$2", BOT, "@bob:hs", "invite"));
        let actions = room.timeline(&member("$3", "@ann:hs", "@ann:hs", "join"));
        assert_eq!(
            actions,
            vec![Action::Kick {
                user: "@bob:hs".into(),
                reason: "@ann:hs took the chat".into()
            }]
        );
        let joined = drain(&mut events);
        assert!(matches!(&joined[..], [DeskEvent::AgentJoined(profile)] if profile.name == "Ann"));
        // The same event again (a resume's replay) changes nothing.
        assert!(room.timeline(&member("$3", "@ann:hs", "@ann:hs", "join")).is_empty());
        assert_eq!(drain(&mut events), Vec::new());
    }

    #[test]
    fn handback_reads_the_action_and_variables() {
        let (mut room, mut events) = room();
        room.timeline(&member("$1", "@ann:hs", "@ann:hs", "join"));
        drain(&mut events);
        let command = json!({"event_id": "$2", "sender": "@ann:hs", "type": "m.room.message",
                             "content": {"msgtype": "m.text", "body": "!handback pay_bill amount=42 note=late"}});
        let actions = room.timeline(&command);
        assert_eq!(actions.last(), Some(&Action::Close));
        assert_eq!(
            drain(&mut events),
            vec![DeskEvent::Ended {
                by: EndedBy::Agent,
                reason: EndReason::HandBack {
                    resume: Some("pay_bill".into()),
                    variables: BTreeMap::from([("amount".to_owned(), json!(42)), ("note".to_owned(), json!("late"))]),
                }
            }]
        );
    }

    #[test]
    fn a_receipt_reads_the_customer_messages_before_it() {
        let (mut room, mut events) = room();
        room.timeline(&member("$1", "@ann:hs", "@ann:hs", "join"));
        room.timeline(&json!({"event_id": "$c1", "sender": BOT, "type": "m.room.message",
                              "content": {"msgtype": "m.text", "body": "Robin: a", MESSAGE_ID_KEY: "c-1"}}));
        room.timeline(
            &json!({"event_id": "$a1", "sender": "@ann:hs", "type": "m.room.message",
                              "content": {"msgtype": "m.text", "body": "hello"}}),
        );
        drain(&mut events);
        room.ephemeral(&json!({"type": "m.receipt", "content": {"$a1": {"m.read": {"@ann:hs": {"ts": 1}}}}}));
        assert_eq!(
            drain(&mut events),
            vec![DeskEvent::AgentRead {
                up_to: MessageId::parse("c-1").unwrap()
            }]
        );
        room.ephemeral(&json!({"type": "m.receipt", "content": {"$c1": {"m.read": {"@ann:hs": {"ts": 1}}}}}));
        assert_eq!(drain(&mut events), Vec::new(), "no receipt twice for the same message");
    }
}
