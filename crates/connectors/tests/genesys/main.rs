//! The Genesys Cloud desk against a simulated Genesys Cloud (`genesys::sim`, written from the Open
//! Messaging, Notifications API and OAuth documentation): the shared desk contract, what a
//! transfer leaves in the conversation, and what the real service does to a client (duplicated
//! webhooks, a message before the agent's notification, sockets that close, tokens that expire,
//! 429, forged signatures).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use baton_connectors::genesys::sim::{self, Sim, Sink};
use baton_connectors::genesys::{GenesysConfig, GenesysDesk};
use baton_connectors::simulation::eventually;
use baton_desk::contract::{self, Harness, agent_texts, drain, sample_request};
use baton_desk::*;
use chrono::Utc;
use serde_json::json;

const ANN: &str = "Ann Agent";

fn config(sim: &Sim) -> GenesysConfig {
    GenesysConfig {
        api_url: sim.url.clone(),
        login_url: sim.url.clone(),
        client_id: sim::CLIENT_ID.into(),
        client_secret: sim::CLIENT_SECRET.into(),
        integration_id: sim::INTEGRATION.into(),
        webhook_secret: sim::WEBHOOK_SECRET.into(),
        queues: BTreeMap::from([("*".to_owned(), sim::QUEUE.to_owned())]),
        retry: Default::default(),
    }
}

type Slot = Arc<Mutex<Option<Arc<GenesysDesk>>>>;

fn sink_to(slot: &Slot) -> Sink {
    let slot = slot.clone();
    baton_connectors::simulation::receiver_sink(move || slot.lock().unwrap().clone())
}

fn agent(name: &str) -> AgentProfile {
    AgentProfile {
        id: AgentId::parse(&format!("genesys-{}", sim::user_of(name))).unwrap(),
        name: name.into(),
    }
}

fn conversation_of(chat: &ChatId) -> String {
    chat.as_str().split_once(':').unwrap().1.to_owned()
}

struct GenesysHarness {
    sim: Arc<Sim>,
    slot: Slot,
    desk: Arc<GenesysDesk>,
    read: BTreeMap<String, usize>,
}

impl GenesysHarness {
    async fn new() -> GenesysHarness {
        let sim = Sim::start().await.expect("the simulation starts");
        let slot: Slot = Arc::default();
        sim.set_sink(sink_to(&slot));
        let desk = Arc::new(GenesysDesk::new("genesys", config(&sim)).unwrap());
        *slot.lock().unwrap() = Some(desk.clone());
        GenesysHarness {
            sim,
            slot,
            desk,
            read: BTreeMap::new(),
        }
    }

    fn inbound(&self, conversation: &str) -> Vec<String> {
        self.sim
            .conversation(conversation, |found| {
                found
                    .messages
                    .iter()
                    .filter(|message| message.direction == "Inbound")
                    .map(|message| message.text.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Harness for GenesysHarness {
    type Desk = GenesysDesk;

    fn desk(&self) -> &GenesysDesk {
        &self.desk
    }

    fn queue(&self) -> QueueName {
        QueueName::parse("billing").unwrap()
    }

    async fn agent_available(&mut self) {
        self.sim.set_on_queue(2);
    }

    async fn no_agent_available(&mut self) -> bool {
        self.sim.set_on_queue(0);
        true
    }

    async fn accept(&mut self, chat: &ChatId) -> AgentProfile {
        // The desk's notification socket is subscribed shortly after the chat opens.
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.sim.agent_joins(&conversation_of(chat), ANN);
        agent(ANN)
    }

    async fn next_customer_text(&mut self, chat: &ChatId) -> String {
        let conversation = conversation_of(chat);
        // The transcript sent first is not one of the customer's messages.
        let seen = *self.read.entry(conversation.clone()).or_insert(1);
        let sim = self.sim.clone();
        let id = conversation.clone();
        eventually("a customer message", move || {
            sim.conversation(&id, |found| {
                found.messages.iter().filter(|m| m.direction == "Inbound").count() > seen
            })
            .unwrap_or(false)
        })
        .await;
        self.read.insert(conversation.clone(), seen + 1);
        self.inbound(&conversation)[seen].clone()
    }

    async fn agent_says(&mut self, chat: &ChatId, text: &str) {
        self.sim.agent_says(&conversation_of(chat), ANN, text).await;
    }

    async fn agent_typing(&mut self, chat: &ChatId, _typing: bool) {
        self.sim.agent_typing(&conversation_of(chat), ANN).await;
    }

    async fn next_customer_typing(&mut self, chat: &ChatId) -> bool {
        let sim = self.sim.clone();
        let id = conversation_of(chat);
        eventually("the customer's typing", move || {
            sim.conversation(&id, |found| found.customer_typing.is_some())
                .unwrap_or(false)
        })
        .await;
        self.sim
            .conversation(&conversation_of(chat), |found| found.customer_typing == Some(true))
            .unwrap_or(false)
    }

    async fn agent_ends(&mut self, chat: &ChatId, reason: EndReason) {
        let conversation = conversation_of(chat);
        match reason {
            EndReason::HandBack { resume, variables } => {
                let mut command = "!handback".to_owned();
                if let Some(resume) = resume {
                    command.push_str(&format!(" {resume}"));
                }
                for (name, value) in variables {
                    command.push_str(&format!(" {name}={value}"));
                }
                self.sim.agent_says(&conversation, ANN, &command).await;
            }
            _ => self.sim.agent_leaves(&conversation, ANN),
        }
    }

    async fn restart(&mut self) {
        self.desk = Arc::new(GenesysDesk::new("genesys", config(&self.sim)).unwrap());
        *self.slot.lock().unwrap() = Some(self.desk.clone());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genesys_desk_passes_the_desk_contract() {
    let mut harness = GenesysHarness::new().await;
    contract::run_all(&mut harness).await;
    assert_eq!(harness.sim.refused(), [], "every webhook was taken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_sends_the_transcript_with_the_brief_in_custom_attributes() {
    let harness = GenesysHarness::new().await;
    let request = sample_request("t-brief", QueueName::parse("billing").unwrap());
    let chat = harness.desk.start_chat(request.clone()).await.expect("start_chat");
    let conversation = conversation_of(&chat.id);
    harness
        .sim
        .conversation(&conversation, |found| {
            assert_eq!(found.customer, "baton-t-brief");
            let attributes = &found.custom_attributes;
            let summary = attributes["baton_summary"].as_str().unwrap();
            assert!(summary.contains(request.brief.summary.trim()), "{summary}");
            assert!(summary.contains(request.brief.message_to_agent.trim()), "{summary}");
            assert_eq!(
                attributes["baton_transcript_url"],
                "https://baton.example/transcripts/t-brief"
            );
            assert_eq!(attributes["baton_queue"], "billing");
            assert_eq!(attributes["baton_session"], request.session.as_str());
            assert!(
                found.messages[0].text.contains("Customer: blorp"),
                "{}",
                found.messages[0].text
            );
        })
        .expect("the conversation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_webhooks_and_a_message_before_the_notification_reach_the_customer_once() {
    let harness = GenesysHarness::new().await;
    harness.sim.duplicate_webhooks(true);
    let chat = harness
        .desk
        .start_chat(sample_request("t-unruly", QueueName::parse("billing").unwrap()))
        .await
        .expect("start_chat");
    let conversation = conversation_of(&chat.id);
    let mut events = chat.events;
    assert!(matches!(events.recv().await, Some(DeskEvent::Queued { .. })));
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The agent writes before the notification that they answered arrives.
    harness.sim.agent_says(&conversation, ANN, "Hello, Ann here.").await;
    harness.sim.agent_joins(&conversation, ANN);
    harness.sim.agent_typing(&conversation, ANN).await;
    let seen = drain(&mut events, Duration::from_millis(500)).await;
    let joined: Vec<_> = seen
        .iter()
        .filter(|event| matches!(event, DeskEvent::AgentJoined(_) | DeskEvent::TransferStarted(_)))
        .collect();
    assert_eq!(joined.len(), 1, "joined once and no transfer: {seen:?}");
    assert_eq!(agent_texts(&seen), ["Hello, Ann here."]);
    assert!(seen.contains(&DeskEvent::AgentTyping(true)), "{seen:?}");
    assert_eq!(harness.sim.refused(), []);

    // A transfer to another agent is told, then the second agent ends the chat.
    harness.sim.transfer(&conversation, ANN, "Bo Agent");
    let seen = drain(&mut events, Duration::from_millis(500)).await;
    assert!(
        seen.contains(&DeskEvent::TransferStarted(agent("Bo Agent"))),
        "{seen:?}"
    );
    assert!(seen.contains(&DeskEvent::AgentJoined(agent("Bo Agent"))), "{seen:?}");
    harness.sim.agent_leaves(&conversation, "Bo Agent");
    let seen = drain(&mut events, Duration::from_millis(500)).await;
    assert_eq!(
        seen,
        [DeskEvent::Ended {
            by: EndedBy::Agent,
            reason: EndReason::Resolved
        }]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_or_unsigned_webhook_is_refused_and_changes_nothing() {
    let harness = GenesysHarness::new().await;
    let chat = harness
        .desk
        .start_chat(sample_request("t-forged", QueueName::parse("billing").unwrap()))
        .await
        .expect("start_chat");
    let mut events = chat.events;
    assert!(matches!(events.recv().await, Some(DeskEvent::Queued { .. })));
    let body = serde_json::to_vec(&json!({
        "id": "forged-1", "type": "Text", "text": "send me your password", "direction": "Outbound",
        "originatingEntity": "Human",
        "channel": {"to": {"id": "baton-t-forged"}, "from": {"nickname": "Mallory"}},
    }))
    .unwrap();
    let header = baton_connectors::genesys::SIGNATURE_HEADER.to_owned();
    for headers in [
        vec![],
        vec![(header.clone(), "sha256=bm90IHRoZSBzaWduYXR1cmU=".to_owned())],
        vec![(header.clone(), baton_connectors::genesys::sign("another secret", &body))],
    ] {
        let refused = harness.desk.receive_now(
            WebhookRequest {
                headers: &headers,
                body: &body,
            },
            Utc::now(),
        );
        assert!(matches!(refused, Err(DeskError::Unauthenticated(_))), "{refused:?}");
    }
    let signed = vec![(
        header,
        baton_connectors::genesys::sign(sim::WEBHOOK_SECRET, b"{not json"),
    )];
    let refused = harness.desk.receive_now(
        WebhookRequest {
            headers: &signed,
            body: b"{not json",
        },
        Utc::now(),
    );
    assert!(matches!(refused, Err(DeskError::BadEvent(_))), "{refused:?}");
    let quiet = tokio::time::timeout(Duration::from_millis(300), events.recv()).await;
    assert!(quiet.is_err(), "nothing reached the chat: {quiet:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_closed_sockets_and_429s_are_weathered() {
    let harness = GenesysHarness::new().await;
    let chat = harness
        .desk
        .start_chat(sample_request("t-weather", QueueName::parse("billing").unwrap()))
        .await
        .expect("start_chat");
    let conversation = conversation_of(&chat.id);
    let mut events = chat.events;
    drain(&mut events, Duration::from_millis(300)).await;

    // The token expires mid-chat: the next call gets a 401, fetches a new token and goes through.
    let issued = harness.sim.tokens_issued();
    harness.sim.expire_tokens();
    harness
        .desk
        .send_to_agent(
            &chat.id,
            CustomerMessage {
                id: MessageId::parse("c-1").unwrap(),
                at: Utc::now(),
                text: "after the token expired".into(),
            },
        )
        .await
        .unwrap();
    let sim = harness.sim.clone();
    let id = conversation.clone();
    eventually("the message went through", move || {
        sim.conversation(&id, |found| {
            found.messages.iter().any(|m| m.text == "after the token expired")
        })
        .unwrap_or(false)
    })
    .await;
    assert!(harness.sim.tokens_issued() > issued);

    // The notification socket closes (as Genesys closes them every day): a new one follows, and
    // the agent answering is still seen.
    harness.sim.close_sockets();
    tokio::time::sleep(Duration::from_millis(800)).await;
    harness.sim.agent_joins(&conversation, ANN);
    let seen = drain(&mut events, Duration::from_millis(800)).await;
    assert!(seen.contains(&DeskEvent::AgentJoined(agent(ANN))), "{seen:?}");

    harness.sim.throttle(2);
    let started = std::time::Instant::now();
    harness
        .desk
        .start_chat(sample_request("t-throttled", QueueName::parse("billing").unwrap()))
        .await
        .expect("429s are retried after Retry-After");
    assert!(started.elapsed() >= Duration::from_secs(1));

    let before = harness.sim.conversation_ids().len();
    harness.sim.set_down(true);
    let refused = harness
        .desk
        .start_chat(sample_request("t-down", QueueName::parse("billing").unwrap()))
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(harness.sim.conversation_ids().len(), before, "nothing was made");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_that_ended_while_baton_was_down_ends_on_resume() {
    let mut harness = GenesysHarness::new().await;
    let chat = harness
        .desk
        .start_chat(sample_request("t-gone", QueueName::parse("billing").unwrap()))
        .await
        .expect("start_chat");
    let conversation = conversation_of(&chat.id);
    tokio::time::sleep(Duration::from_millis(300)).await;
    harness.sim.agent_joins(&conversation, ANN);
    harness.restart().await;
    harness.sim.agent_leaves(&conversation, ANN);
    let resumed = harness
        .desk
        .resume(ChatResume {
            chat: chat.id.clone(),
            request: sample_request("t-gone", QueueName::parse("billing").unwrap()),
            queued_at: Utc::now(),
            agent: Some(agent(ANN).id),
            state: None,
        })
        .await
        .expect("resume");
    let mut events = resumed.events;
    let seen = drain(&mut events, Duration::from_millis(500)).await;
    assert_eq!(
        seen,
        [DeskEvent::Ended {
            by: EndedBy::Agent,
            reason: EndReason::Resolved
        }]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_message_that_arrives_before_the_conversation_is_answered_reaches_the_customer() {
    let harness = GenesysHarness::new().await;
    harness
        .sim
        .greet_new_conversations(ANN, "Hello, Ann here, how can I help?");
    let chat = harness
        .desk
        .start_chat(sample_request("t-eager", QueueName::parse("billing").unwrap()))
        .await
        .expect("start_chat");
    let mut events = chat.events;
    let seen = drain(&mut events, Duration::from_millis(500)).await;
    assert_eq!(agent_texts(&seen), ["Hello, Ann here, how can I help?"], "{seen:?}");
    assert_eq!(harness.sim.refused(), []);
}
