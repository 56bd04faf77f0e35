//! What reaches a customer between turns: the [`EventHub`] of each session's [`SessionEvent`]s.
//!
//! Anything in the conversation publishes an event for a session; every socket open on that
//! session receives it (the HTTP side, `events.rs`, turns it into a frame). The hub keeps the
//! last [`REPLAY`] events of each session, numbered from 1, so a client that reconnects with
//! `?after=N` gets what it missed (resume after reconnect) within this process.
//! With several replicas on one PostgreSQL database, a customer's socket may be open on another
//! replica than the one where an event happens: every event published here is also handed to the
//! relay ([`EventHub::relay_to`]), which broadcasts it to the other replicas (`Store::broadcast`,
//! `LISTEN`/`NOTIFY`), and an event from another replica is delivered here to the sessions this
//! replica has a socket or stream for ([`EventHub::deliver_relayed`]). Numbers are per replica: a
//! client that reconnects to another replica is replayed what that replica kept.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use baton_dialog::Message;

/// Events kept per session for clients that reconnect.
pub const REPLAY: usize = 32;
/// Events a slow socket may fall behind before it is told to reconnect: as many as are kept for
/// the reconnection to replay (more could not be replayed anyway). Every open socket's session
/// holds this many slots, about 85 bytes each (`baton bench sockets`).
const CHANNEL_CAPACITY: usize = REPLAY;

/// Something that happened in a session outside a turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SessionEvent {
    /// A desk opened the chat: what it supports, so a client offers only that (typing and read
    /// receipts each way, queue position, wait time, agent-to-agent transfer, ending from the
    /// customer's side).
    Desk {
        capabilities: baton_desk::Capabilities,
    },
    /// Waiting for a human agent: place in the queue (1 is next) and the estimate, if known.
    Queued {
        position: Option<u32>,
        estimated_wait_secs: Option<u64>,
    },
    AgentJoined {
        agent_name: String,
    },
    AgentTyping {
        typing: bool,
    },
    AgentMessage {
        agent_name: String,
        text: String,
        /// The message's id, for read receipts (`read` frames).
        #[serde(default)]
        id: Option<String>,
    },
    /// The agent has read the customer's messages up to and including this one.
    AgentRead {
        up_to: String,
    },
    AgentLeft {
        agent_name: String,
    },
    /// The chat with the human agent ended; the customer is back with the assistant.
    Ended {
        by: String,
    },
    /// No agent can be reached now: the offline response.
    Offline {
        message: String,
    },
    /// What the assistant says without a customer message (after the chat ended or the agent
    /// handed the customer back).
    Assistant {
        messages: Vec<Message>,
    },
}

/// An event with its number in the session's stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Numbered {
    pub seq: u64,
    pub event: SessionEvent,
}

/// Routes events to the sockets of each session.
#[derive(Debug, Default)]
pub struct EventHub {
    sessions: Mutex<HashMap<String, Stream>>,
    /// Where events published here go to reach the other replicas, once relaying has started.
    relay: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<(String, SessionEvent)>>,
}

/// An event on its way between replicas.
#[derive(Debug, Serialize, Deserialize)]
pub struct Relayed {
    /// The replica that published it, which ignores it when it comes back.
    pub from: String,
    pub session: String,
    pub event: SessionEvent,
}

#[derive(Debug)]
struct Stream {
    sender: broadcast::Sender<Numbered>,
    recent: VecDeque<Numbered>,
    last_seq: u64,
}

impl EventHub {
    /// Sends `event` to every socket of the session and keeps it for replay; returns its number.
    /// With replicas, the other replicas' sockets of the session get it too.
    pub fn publish(&self, session_id: &str, event: SessionEvent) -> u64 {
        if let Some(relay) = self.relay.get() {
            // Unbounded, so publishing never waits; the relay task drains it at once.
            let _ = relay.send((session_id.to_owned(), event.clone()));
        }
        let mut sessions = self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let stream = sessions.entry(session_id.to_owned()).or_insert_with(Stream::new);
        stream.push(event)
    }

    /// From now on every event published here is also sent on `relay`, for the other replicas.
    pub fn relay_to(&self, relay: tokio::sync::mpsc::UnboundedSender<(String, SessionEvent)>) {
        let _ = self.relay.set(relay);
    }

    /// An event another replica published: delivered to this replica's sockets and kept for
    /// replay, if this replica follows the session (a socket is or was open on it here); other
    /// sessions are left alone, so a replica does not keep every session's events.
    pub fn deliver_relayed(&self, session_id: &str, event: SessionEvent) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(stream) = sessions.get_mut(session_id) {
            stream.push(event);
        }
    }

    /// A receiver for new events and the kept ones numbered above `after`, taken under one lock
    /// so none falls between them.
    pub fn subscribe(&self, session_id: &str, after: u64) -> (Vec<Numbered>, broadcast::Receiver<Numbered>) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let stream = sessions.entry(session_id.to_owned()).or_insert_with(Stream::new);
        let missed = stream
            .recent
            .iter()
            .filter(|event| event.seq > after)
            .cloned()
            .collect();
        (missed, stream.sender.subscribe())
    }

    /// Forgets a session nobody listens to and nothing was published for, after a socket closed,
    /// so idle sockets that came and went leave nothing behind.
    pub fn release(&self, session_id: &str) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let unused = sessions
            .get(session_id)
            .is_some_and(|stream| stream.sender.receiver_count() == 0 && stream.recent.is_empty());
        if unused {
            sessions.remove(session_id);
        }
    }
}

impl Stream {
    fn new() -> Stream {
        Stream {
            sender: broadcast::channel(CHANNEL_CAPACITY).0,
            recent: VecDeque::with_capacity(4),
            last_seq: 0,
        }
    }

    /// Numbers `event`, keeps it for replay and sends it to the sockets; returns its number.
    fn push(&mut self, event: SessionEvent) -> u64 {
        self.last_seq += 1;
        let numbered = Numbered {
            seq: self.last_seq,
            event,
        };
        if self.recent.len() == REPLAY {
            self.recent.pop_front();
        }
        self.recent.push_back(numbered.clone());
        // No receiver is fine: the event waits in `recent` for the next connection.
        let _ = self.sender.send(numbered);
        self.last_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_what_a_reconnecting_client_missed() {
        let hub = EventHub::default();
        hub.publish(
            "s",
            SessionEvent::Queued {
                position: Some(2),
                estimated_wait_secs: None,
            },
        );
        hub.publish(
            "s",
            SessionEvent::Queued {
                position: Some(1),
                estimated_wait_secs: None,
            },
        );
        let (missed, _receiver) = hub.subscribe("s", 1);
        assert_eq!(missed.iter().map(|event| event.seq).collect::<Vec<_>>(), [2]);
        assert_eq!(
            missed[0].event,
            SessionEvent::Queued {
                position: Some(1),
                estimated_wait_secs: None
            }
        );
    }

    #[test]
    fn forgets_sessions_left_without_listeners_or_events() {
        let hub = EventHub::default();
        let (_, receiver) = hub.subscribe("quiet", 0);
        drop(receiver);
        hub.release("quiet");
        let (_, receiver) = hub.subscribe("busy", 0);
        hub.publish("busy", SessionEvent::AgentTyping { typing: true });
        drop(receiver);
        hub.release("busy");
        let sessions = hub.sessions.lock().unwrap();
        assert_eq!(sessions.keys().collect::<Vec<_>>(), ["busy"]);
    }

    #[test]
    fn keeps_only_the_last_events() {
        let hub = EventHub::default();
        for _ in 0..(REPLAY + 5) {
            hub.publish("s", SessionEvent::AgentTyping { typing: true });
        }
        let (missed, _receiver) = hub.subscribe("s", 0);
        assert_eq!(missed.len(), REPLAY);
        assert_eq!(missed[0].seq, 6);
    }
}
