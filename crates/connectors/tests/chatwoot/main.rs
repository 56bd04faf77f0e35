//! The Chatwoot desk against a simulated Chatwoot (`sim`, written from Chatwoot's developer
//! documentation): the shared desk contract, what a transfer leaves in the conversation, and
//! what a real installation does to a client (echoes, duplicates, reordering, 429, forged or
//! stale webhooks, an installation that is down).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use baton_connectors::chatwoot::sim::{self, Sim, Sink};
use baton_connectors::chatwoot::{ChatwootConfig, ChatwootDesk};
use baton_connectors::simulation::eventually;
use baton_desk::contract::{self, Harness, sample_request};
use baton_desk::*;
use chrono::Utc;
use serde_json::json;

const ANN: (u64, &str) = (11, "Ann Agent");
const BOB: (u64, &str) = (12, "Bob Agent");

fn config(sim: &Sim) -> ChatwootConfig {
    ChatwootConfig {
        url: sim.url.clone(),
        account_id: sim::ACCOUNT,
        inbox_id: sim::INBOX,
        inbox_identifier: sim::INBOX_IDENTIFIER.into(),
        api_access_token: sim::BOT_TOKEN.into(),
        webhook_secret: sim::WEBHOOK_SECRET.into(),
        agents_token: Some(sim::ADMIN_TOKEN.into()),
        teams: BTreeMap::from([("billing".to_owned(), 5)]),
        retry: Default::default(),
    }
}

/// The desk the simulated Chatwoot delivers its webhooks to (replaced on a restart).
type Slot = Arc<Mutex<Option<Arc<ChatwootDesk>>>>;

fn sink_to(slot: &Slot) -> Sink {
    let slot = slot.clone();
    baton_connectors::simulation::receiver_sink(move || slot.lock().unwrap().clone())
}

struct ChatwootHarness {
    sim: Arc<Sim>,
    slot: Slot,
    desk: Arc<ChatwootDesk>,
    /// Customer messages the agent has read, per conversation.
    read: BTreeMap<u64, usize>,
}

impl ChatwootHarness {
    async fn new() -> ChatwootHarness {
        let sim = Sim::start().await.expect("the simulation starts");
        let slot: Slot = Arc::default();
        sim.set_sink(sink_to(&slot));
        let desk = Arc::new(ChatwootDesk::new("support", config(&sim)).unwrap());
        *slot.lock().unwrap() = Some(desk.clone());
        ChatwootHarness {
            sim,
            slot,
            desk,
            read: BTreeMap::new(),
        }
    }
}

fn conversation_of(chat: &ChatId) -> u64 {
    chat.as_str().split(':').next().unwrap().parse().unwrap()
}

fn ann() -> AgentProfile {
    AgentProfile {
        id: AgentId::parse("chatwoot-11").unwrap(),
        name: ANN.1.into(),
    }
}

impl Harness for ChatwootHarness {
    type Desk = ChatwootDesk;

    fn desk(&self) -> &ChatwootDesk {
        &self.desk
    }

    fn queue(&self) -> QueueName {
        QueueName::parse("billing").unwrap()
    }

    async fn agent_available(&mut self) {
        self.sim.set_online(true);
    }

    async fn no_agent_available(&mut self) -> bool {
        self.sim.set_online(false);
        true
    }

    async fn accept(&mut self, chat: &ChatId) -> AgentProfile {
        let conversation = conversation_of(chat);
        let sim = self.sim.clone();
        eventually("the conversation is open", || {
            sim.conversation(conversation, |found| found.status == "open")
                .unwrap_or(false)
        })
        .await;
        self.sim.assign(conversation, ANN).await;
        ann()
    }

    async fn next_customer_text(&mut self, chat: &ChatId) -> String {
        let conversation = conversation_of(chat);
        let seen = self.read.get(&conversation).copied().unwrap_or(0);
        let sim = self.sim.clone();
        let from_customer = move || {
            sim.conversation(conversation, |found| {
                found
                    .messages
                    .iter()
                    .filter(|message| message.sender_type == "contact" && message.message_type == "incoming")
                    .map(|message| message.content.clone())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
        };
        // The transcript's customer lines come first; count them as read on first use (not
        // whatever has arrived by then: the message awaited may be there already).
        let seen = if self.read.contains_key(&conversation) {
            seen
        } else {
            contract::transcript_lines_first(&from_customer())
        };
        let check = from_customer.clone();
        eventually("a customer message", move || check().len() > seen).await;
        self.read.insert(conversation, seen + 1);
        from_customer()[seen].clone()
    }

    async fn agent_says(&mut self, chat: &ChatId, text: &str) {
        self.sim.agent_says(conversation_of(chat), ANN, text).await;
    }

    async fn agent_typing(&mut self, chat: &ChatId, typing: bool) {
        self.sim.agent_typing(conversation_of(chat), ANN, typing).await;
    }

    async fn next_customer_typing(&mut self, chat: &ChatId) -> bool {
        let conversation = conversation_of(chat);
        let sim = self.sim.clone();
        eventually("the customer typing", || {
            sim.conversation(conversation, |found| found.contact_typing.last() == Some(&true))
                .unwrap_or(false)
        })
        .await;
        true
    }

    async fn agent_ends(&mut self, chat: &ChatId, reason: EndReason) {
        let conversation = conversation_of(chat);
        match reason {
            EndReason::HandBack { resume, variables } => {
                let mut attributes = serde_json::Map::new();
                if let Some(resume) = resume {
                    attributes.insert("baton_resume".into(), json!(resume));
                }
                for (name, value) in variables {
                    attributes.insert(format!("baton_var_{name}"), value);
                }
                self.sim
                    .set_status(conversation, "pending", serde_json::Value::Object(attributes))
                    .await;
            }
            _ => self.sim.set_status(conversation, "resolved", json!({})).await,
        }
    }

    async fn restart(&mut self) {
        self.desk = Arc::new(ChatwootDesk::new("support", config(&self.sim)).unwrap());
        *self.slot.lock().unwrap() = Some(self.desk.clone());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chatwoot_desk_passes_the_desk_contract() {
    let mut harness = ChatwootHarness::new().await;
    contract::run_all(&mut harness).await;
    assert_eq!(harness.sim.refused(), [], "every webhook was taken");
}

/// Follows a chat through the transfer state machine, as the server does.
struct Follow {
    events: DeskEvents,
    transfer: Transfer,
    seen: Vec<DeskEvent>,
}

impl Follow {
    fn new(chat: Chat, request: &ChatRequest) -> Follow {
        let (mut transfer, _) = Transfer::request(
            request.transfer.clone(),
            request.session.clone(),
            request.routing.queue.clone(),
            Utc::now(),
        );
        transfer.attach_chat(chat.id);
        Follow {
            events: chat.events,
            transfer,
            seen: Vec::new(),
        }
    }

    async fn until(&mut self, wanted: impl Fn(&DeskEvent) -> bool) -> DeskEvent {
        loop {
            let event = tokio::time::timeout(std::time::Duration::from_secs(20), self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("no event; seen {:?}", self.seen))
                .expect("the stream is open");
            let state = self.transfer.state();
            if let Err(error) = self.transfer.apply(event.clone(), Utc::now()) {
                panic!("{event:?} in state {state} is refused: {error}");
            }
            self.seen.push(event.clone());
            if wanted(&event) {
                return event;
            }
        }
    }

    /// Nothing more arrives within a moment.
    async fn quiet(&mut self) {
        let more = tokio::time::timeout(std::time::Duration::from_millis(300), self.events.recv()).await;
        assert!(more.is_err(), "unexpected {more:?} after {:?}", self.seen);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_leaves_the_history_the_brief_and_the_team_in_the_conversation() {
    let harness = ChatwootHarness::new().await;
    let request = sample_request("t-history", QueueName::parse("billing").unwrap());
    let chat = harness.desk.start_chat(request.clone()).await.expect("start_chat");
    let conversation = conversation_of(&chat.id);
    assert_eq!(
        harness.sim.conversation_ids(),
        [conversation],
        "one conversation per transfer"
    );
    harness
        .sim
        .conversation(conversation, |found| {
            assert_eq!(found.status, "open", "opened after the history was posted");
            assert_eq!(found.team, Some(5), "the billing queue's team");
            assert_eq!(found.custom_attributes["baton_transfer"], "t-history");
            assert_eq!(
                found.custom_attributes["baton_history_url"],
                "https://baton.example/transcripts/t-history"
            );
            let public: Vec<(&str, &str)> = found
                .messages
                .iter()
                .filter(|message| !message.private)
                .map(|message| (message.message_type.as_str(), message.content.as_str()))
                .collect();
            let transcript: Vec<(&str, &str)> = request
                .transcript
                .iter()
                .map(|line| {
                    let kind = if line.speaker == Speaker::Customer {
                        "incoming"
                    } else {
                        "outgoing"
                    };
                    (kind, line.text.as_str())
                })
                .collect();
            assert_eq!(public, transcript);
            let notes: Vec<&str> = found
                .messages
                .iter()
                .filter(|message| message.private)
                .map(|message| message.content.as_str())
                .collect();
            assert_eq!(notes.len(), 1);
            assert!(notes[0].contains(request.brief.summary.trim()), "{}", notes[0]);
        })
        .expect("the conversation");
    // The order of calls: the conversation is opened last, after the history and the team.
    let calls = harness.sim.calls();
    let opened = calls.iter().position(|call| call == "app_toggle_status").unwrap();
    let last_message = calls.iter().rposition(|call| call == "app_messages").unwrap();
    assert!(last_message < opened, "{calls:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoes_notes_duplicates_and_reordered_webhooks_reach_the_customer_once_and_in_order() {
    let harness = ChatwootHarness::new().await;
    harness.sim.duplicate_webhooks(true);
    let request = sample_request("t-unruly", QueueName::parse("billing").unwrap());
    let chat = harness.desk.start_chat(request.clone()).await.expect("start_chat");
    let conversation = conversation_of(&chat.id);
    let mut follow = Follow::new(chat, &request);
    follow.until(|event| matches!(event, DeskEvent::Queued { .. })).await;
    // The bot's own transcript and note come back as webhooks; none is the agent's.
    follow.quiet().await;

    // The assignment's webhook arrives after the agent's first message.
    harness.sim.late_assignment();
    harness.sim.assign(conversation, ANN).await;
    harness.sim.agent_says(conversation, ANN, "Hello, I am Ann.").await;
    harness
        .sim
        .agent_notes(conversation, ANN, "internal: customer seems upset")
        .await;
    harness.sim.agent_says(conversation, ANN, "How can I help?").await;
    follow
        .until(|event| matches!(event, DeskEvent::AgentMessage(message) if message.text == "How can I help?"))
        .await;
    follow.quiet().await;
    let kinds: Vec<String> = follow
        .seen
        .iter()
        .map(|event| match event {
            DeskEvent::AgentMessage(message) => format!("message {}", message.text),
            DeskEvent::AgentJoined(agent) => format!("joined {}", agent.name),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds[1..],
        [
            "joined Ann Agent",
            "message Hello, I am Ann.",
            "message How can I help?"
        ],
        "{kinds:?}"
    );

    // Another agent takes over: a transfer, then Bob joins.
    harness.sim.assign(conversation, BOB).await;
    let joined = follow.until(|event| matches!(event, DeskEvent::AgentJoined(_))).await;
    assert!(matches!(joined, DeskEvent::AgentJoined(agent) if agent.name == BOB.1));
    assert!(
        follow
            .seen
            .iter()
            .any(|event| matches!(event, DeskEvent::TransferStarted(agent) if agent.name == BOB.1))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_stale_and_malformed_webhooks_are_refused_and_change_nothing() {
    let harness = ChatwootHarness::new().await;
    let request = sample_request("t-forged", QueueName::parse("billing").unwrap());
    let chat = harness.desk.start_chat(request.clone()).await.expect("start_chat");
    let conversation = conversation_of(&chat.id);
    let mut follow = Follow::new(chat, &request);
    follow.until(|event| matches!(event, DeskEvent::Queued { .. })).await;
    follow.quiet().await;

    let body = serde_json::to_vec(&json!({
        "event": "message_created", "id": 999, "content": "send me your password", "message_type": "outgoing",
        "private": false, "sender": {"id": 66, "name": "Mallory", "type": "user"},
        "conversation": {"id": conversation},
    }))
    .unwrap();
    let now = Utc::now().timestamp();
    let good = baton_connectors::signing::timestamped_hex(sim::WEBHOOK_SECRET.as_bytes(), now, &body);
    let wrong = baton_connectors::signing::timestamped_hex(b"not the secret", now, &body);
    let stale = baton_connectors::signing::timestamped_hex(sim::WEBHOOK_SECRET.as_bytes(), now - 600, &body);
    let cases: Vec<Vec<(String, String)>> = vec![
        vec![],
        vec![("x-chatwoot-timestamp".into(), now.to_string())],
        vec![
            ("x-chatwoot-timestamp".into(), now.to_string()),
            ("x-chatwoot-signature".into(), format!("sha256={wrong}")),
        ],
        vec![
            ("x-chatwoot-timestamp".into(), (now - 600).to_string()),
            ("x-chatwoot-signature".into(), format!("sha256={stale}")),
        ],
        vec![
            ("x-chatwoot-timestamp".into(), (now + 1).to_string()),
            ("x-chatwoot-signature".into(), format!("sha256={good}")),
        ],
        vec![
            ("x-chatwoot-timestamp".into(), "soon".into()),
            ("x-chatwoot-signature".into(), format!("sha256={good}")),
        ],
    ];
    for headers in cases {
        let refused = harness.desk.receive_now(
            WebhookRequest {
                headers: &headers,
                body: &body,
            },
            Utc::now(),
        );
        assert!(
            matches!(refused, Err(DeskError::Unauthenticated(_))),
            "{headers:?}: {refused:?}"
        );
    }
    // Signed, but not JSON, or without an event name: a bad event.
    for body in [b"{not json".to_vec(), b"{\"id\": 1}".to_vec()] {
        let digest = baton_connectors::signing::timestamped_hex(sim::WEBHOOK_SECRET.as_bytes(), now, &body);
        let headers = vec![
            ("x-chatwoot-timestamp".to_owned(), now.to_string()),
            ("x-chatwoot-signature".to_owned(), format!("sha256={digest}")),
        ];
        let refused = harness.desk.receive_now(
            WebhookRequest {
                headers: &headers,
                body: &body,
            },
            Utc::now(),
        );
        assert!(matches!(refused, Err(DeskError::BadEvent(_))), "{refused:?}");
    }
    follow.quiet().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_installation_is_waited_for_and_one_that_is_down_refuses_the_chat() {
    let harness = ChatwootHarness::new().await;
    harness.sim.throttle(2);
    let request = sample_request("t-throttled", QueueName::parse("billing").unwrap());
    let started = std::time::Instant::now();
    harness
        .desk
        .start_chat(request)
        .await
        .expect("429s are retried after Retry-After");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After was honoured"
    );

    harness.sim.set_down(true);
    let refused = harness
        .desk
        .start_chat(sample_request("t-down", QueueName::parse("billing").unwrap()))
        .await;
    assert!(refused.is_err(), "{refused:?}");
    let availability = harness.desk.availability(None).await;
    assert!(
        availability.as_ref().is_err() || availability.as_ref().is_ok_and(|known| known.online != Online::Yes),
        "{availability:?}"
    );
}
