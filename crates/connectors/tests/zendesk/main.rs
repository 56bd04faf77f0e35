//! The Zendesk desk against a simulated Zendesk messaging (`zendesk::sim`, written from the
//! Sunshine Conversations documentation): the shared desk contract, what a transfer leaves in the
//! conversation and the Switchboard, and what the real service does to a client (echoes,
//! duplicated and batched events, 429, a user that already exists, forged webhooks).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use baton_connectors::simulation::eventually;
use baton_connectors::zendesk::sim::{self, Sim, Sink};
use baton_connectors::zendesk::{SupportApi, ZendeskConfig, ZendeskDesk};
use baton_desk::contract::{self, Harness, sample_request};
use baton_desk::*;
use chrono::Utc;
use serde_json::json;

const ANN: &str = "Ann Agent";

fn config(sim: &Sim) -> ZendeskConfig {
    ZendeskConfig {
        url: format!("{}/sc", sim.url),
        app_id: sim::APP.into(),
        key_id: sim::KEY_ID.into(),
        key_secret: sim::KEY_SECRET.into(),
        webhook_secret: sim::WEBHOOK_SECRET.into(),
        switchboard_integration: baton_connectors::zendesk::AGENT_WORKSPACE.into(),
        summary_field: Some(360_001),
        support: Some(SupportApi {
            url: sim.url.clone(),
            email: sim::SUPPORT_EMAIL.into(),
            token: sim::SUPPORT_TOKEN.into(),
        }),
        retry: Default::default(),
    }
}

type Slot = Arc<Mutex<Option<Arc<ZendeskDesk>>>>;

fn sink_to(slot: &Slot) -> Sink {
    let slot = slot.clone();
    baton_connectors::simulation::receiver_sink(move || slot.lock().unwrap().clone())
}

struct ZendeskHarness {
    sim: Arc<Sim>,
    slot: Slot,
    desk: Arc<ZendeskDesk>,
    read: BTreeMap<String, usize>,
}

impl ZendeskHarness {
    async fn new() -> ZendeskHarness {
        let sim = Sim::start().await.expect("the simulation starts");
        let slot: Slot = Arc::default();
        sim.set_sink(sink_to(&slot));
        let desk = Arc::new(ZendeskDesk::new("zendesk", config(&sim)).unwrap());
        *slot.lock().unwrap() = Some(desk.clone());
        ZendeskHarness {
            sim,
            slot,
            desk,
            read: BTreeMap::new(),
        }
    }
}

fn conversation_of(chat: &ChatId) -> String {
    chat.as_str().split(':').next().unwrap().to_owned()
}

fn ann() -> AgentProfile {
    AgentProfile {
        id: AgentId::parse("zendesk-Ann Agent").unwrap(),
        name: ANN.into(),
    }
}

impl Harness for ZendeskHarness {
    type Desk = ZendeskDesk;

    fn desk(&self) -> &ZendeskDesk {
        &self.desk
    }

    fn queue(&self) -> QueueName {
        QueueName::parse("billing").unwrap()
    }

    async fn agent_available(&mut self) {
        self.sim.set_online_agents(2);
    }

    async fn no_agent_available(&mut self) -> bool {
        self.sim.set_online_agents(0);
        true
    }

    /// The agent opens the ticket and reads the conversation: the first sign of them.
    async fn accept(&mut self, chat: &ChatId) -> AgentProfile {
        let conversation = conversation_of(chat);
        let sim = self.sim.clone();
        let id = conversation.clone();
        eventually("control passed to the agent workspace", move || {
            sim.conversation(&id, |found| found.active == baton_connectors::zendesk::AGENT_WORKSPACE)
                .unwrap_or(false)
        })
        .await;
        self.sim.agent_reads(&conversation, ANN).await;
        ann()
    }

    async fn next_customer_text(&mut self, chat: &ChatId) -> String {
        let conversation = conversation_of(chat);
        let sim = self.sim.clone();
        let id = conversation.clone();
        let from_customer = move || {
            sim.conversation(&id, |found| {
                found
                    .messages
                    .iter()
                    .filter(|message| message.author == "user")
                    .map(|message| message.text.clone())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
        };
        let seen = match self.read.get(&conversation) {
            Some(seen) => *seen,
            None => contract::transcript_lines_first(&from_customer()),
        };
        let check = from_customer.clone();
        eventually("a customer message", move || check().len() > seen).await;
        self.read.insert(conversation, seen + 1);
        from_customer()[seen].clone()
    }

    async fn agent_says(&mut self, chat: &ChatId, text: &str) {
        self.sim.agent_says(&conversation_of(chat), ANN, text).await;
    }

    async fn agent_typing(&mut self, chat: &ChatId, typing: bool) {
        self.sim.agent_typing(&conversation_of(chat), ANN, typing).await;
    }

    async fn next_customer_typing(&mut self, _chat: &ChatId) -> bool {
        unreachable!("the desk declares no customer typing")
    }

    async fn agent_ends(&mut self, chat: &ChatId, reason: EndReason) {
        let conversation = conversation_of(chat);
        match reason {
            EndReason::HandBack { resume, variables } => {
                let mut metadata = serde_json::Map::new();
                if let Some(resume) = resume {
                    metadata.insert("baton_resume".into(), json!(resume));
                }
                for (name, value) in variables {
                    metadata.insert(format!("baton_var_{name}"), value);
                }
                self.sim
                    .hand_back(&conversation, serde_json::Value::Object(metadata))
                    .await;
            }
            _ => self.sim.solve(&conversation).await,
        }
    }

    async fn restart(&mut self) {
        self.desk = Arc::new(ZendeskDesk::new("zendesk", config(&self.sim)).unwrap());
        *self.slot.lock().unwrap() = Some(self.desk.clone());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zendesk_desk_passes_the_desk_contract() {
    let mut harness = ZendeskHarness::new().await;
    contract::run_all(&mut harness).await;
    assert_eq!(harness.sim.refused(), [], "every webhook was taken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_passes_control_with_the_whole_history_and_the_brief() {
    let harness = ZendeskHarness::new().await;
    let request = sample_request("t-history", QueueName::parse("billing").unwrap());
    let chat = harness.desk.start_chat(request.clone()).await.expect("start_chat");
    let conversation = conversation_of(&chat.id);
    harness
        .sim
        .conversation(&conversation, |found| {
            assert_eq!(found.active, "zd-agentWorkspace");
            let posted: Vec<(&str, &str)> = found
                .messages
                .iter()
                .map(|message| (message.author.as_str(), message.text.as_str()))
                .collect();
            let transcript: Vec<(&str, &str)> = request
                .transcript
                .iter()
                .map(|line| {
                    let author = if line.speaker == Speaker::Customer {
                        "user"
                    } else {
                        "business"
                    };
                    (author, line.text.as_str())
                })
                .collect();
            assert_eq!(posted, transcript);
            assert_eq!(
                found.pass_metadata["first_message_id"],
                json!(found.messages[0].id),
                "the ticket shows the history from its first message"
            );
            let summary = found.pass_metadata["dataCapture.ticketField.360001"].as_str().unwrap();
            assert!(summary.contains(request.brief.summary.trim()), "{summary}");
            assert!(
                summary.contains("https://baton.example/transcripts/t-history"),
                "{summary}"
            );
        })
        .expect("the conversation");

    // The same session transferred again: its user exists (409), and is found.
    let again = harness
        .desk
        .start_chat(request)
        .await
        .expect("a second transfer of the session");
    assert_ne!(conversation_of(&again.id), conversation);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoes_duplicates_and_batches_reach_the_customer_once_and_in_order() {
    let harness = ZendeskHarness::new().await;
    harness.sim.duplicate_webhooks(true);
    let request = sample_request("t-unruly", QueueName::parse("billing").unwrap());
    let chat = harness.desk.start_chat(request.clone()).await.expect("start_chat");
    let conversation = conversation_of(&chat.id);
    let mut events = chat.events;
    assert!(matches!(events.recv().await, Some(DeskEvent::Queued { .. })));
    // The transcript the desk posted comes back as events from the API: none is the agent's.
    let quiet = tokio::time::timeout(Duration::from_millis(300), events.recv()).await;
    assert!(quiet.is_err(), "{quiet:?}");

    // One delivery with three events: typing, a message, typing stopped.
    harness
        .sim
        .send(vec![
            sim::event(
                "conversation:typing",
                &conversation,
                json!({"activity": {"type": "typing:start", "author": {"type": "business", "displayName": ANN}}}),
            ),
            sim::event(
                "conversation:message",
                &conversation,
                json!({"message": {"id": "m1", "author": {"type": "business", "displayName": ANN},
                                   "content": {"type": "text", "text": "Hello, Ann here."}, "source": {"type": "zd:agentWorkspace"}}}),
            ),
            sim::event(
                "conversation:typing",
                &conversation,
                json!({"activity": {"type": "typing:stop", "author": {"type": "business", "displayName": ANN}}}),
            ),
        ])
        .await;
    let mut seen = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(300), events.recv()).await {
        seen.push(event);
    }
    assert_eq!(
        seen,
        [
            DeskEvent::AgentJoined(ann()),
            DeskEvent::AgentTyping(true),
            DeskEvent::AgentMessage(AgentMessage {
                id: MessageId::parse("zendesk-m1").unwrap(),
                at: match &seen[2] {
                    DeskEvent::AgentMessage(message) => message.at,
                    other => panic!("{other:?}"),
                },
                agent: ann(),
                text: "Hello, Ann here.".into(),
            }),
            DeskEvent::AgentTyping(false),
        ],
        "each event once, in the delivery's order"
    );
    assert_eq!(harness.sim.refused(), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_without_the_secret_is_refused_and_changes_nothing() {
    let harness = ZendeskHarness::new().await;
    let request = sample_request("t-forged", QueueName::parse("billing").unwrap());
    let chat = harness.desk.start_chat(request).await.expect("start_chat");
    let conversation = conversation_of(&chat.id);
    let mut events = chat.events;
    assert!(matches!(events.recv().await, Some(DeskEvent::Queued { .. })));
    let body =
        serde_json::to_vec(&json!({"events": [sim::event("switchboard:releaseControl", &conversation, json!({}))]}))
            .unwrap();
    for headers in [vec![], vec![("x-api-key".to_owned(), "guessed".to_owned())]] {
        let refused = harness.desk.receive_now(
            WebhookRequest {
                headers: &headers,
                body: &body,
            },
            Utc::now(),
        );
        assert!(matches!(refused, Err(DeskError::Unauthenticated(_))), "{refused:?}");
    }
    let headers = vec![("x-api-key".to_owned(), sim::WEBHOOK_SECRET.to_owned())];
    for bad in [b"{not json".to_vec(), b"{\"events\": [{\"type\": \"x\"}]}".to_vec()] {
        let refused = harness.desk.receive_now(
            WebhookRequest {
                headers: &headers,
                body: &bad,
            },
            Utc::now(),
        );
        assert!(matches!(refused, Err(DeskError::BadEvent(_))), "{refused:?}");
    }
    let quiet = tokio::time::timeout(Duration::from_millis(300), events.recv()).await;
    assert!(quiet.is_err(), "nothing reached the chat: {quiet:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_zendesk_is_waited_for() {
    let harness = ZendeskHarness::new().await;
    harness.sim.throttle(2);
    let started = std::time::Instant::now();
    harness
        .desk
        .start_chat(sample_request("t-throttled", QueueName::parse("billing").unwrap()))
        .await
        .expect("429s are retried after Retry-After");
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zendesk_that_is_down_refuses_the_chat_so_the_route_goes_on() {
    let harness = ZendeskHarness::new().await;
    harness.sim.set_down(true);
    let refused = harness
        .desk
        .start_chat(sample_request("t-down", QueueName::parse("billing").unwrap()))
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert!(harness.sim.conversation_ids().is_empty(), "nothing was made");
    harness.sim.set_down(false);
    harness
        .desk
        .start_chat(sample_request("t-up", QueueName::parse("billing").unwrap()))
        .await
        .expect("back up, the desk takes chats again");
}
