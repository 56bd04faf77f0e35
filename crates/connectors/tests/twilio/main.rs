//! The Twilio Flex desk against a simulated Twilio (`twilio::sim`, written from the Conversations,
//! Interactions and TaskRouter documentation): the shared desk contract, what a transfer leaves in
//! the conversation and the interaction, and what the real service does to a client (duplicated
//! and reordered webhooks, 429, forged signatures).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use baton_connectors::guard::Policy;
use baton_connectors::simulation::eventually;
use baton_connectors::twilio::sim::{self, Sim};
use baton_connectors::twilio::{TwilioConfig, TwilioDesk};
use baton_desk::contract::{self, Harness, sample_request};
use baton_desk::*;
use chrono::Utc;
use serde_json::json;

const ANN: &str = "ann@acme.example";
const BOB: &str = "bob@acme.example";
const WEBHOOK_URL: &str = "https://baton.example/v1/desks/flex/webhook";

fn config(sim: &Sim) -> TwilioConfig {
    TwilioConfig {
        account_sid: sim::ACCOUNT_SID.into(),
        auth_token: sim::AUTH_TOKEN.into(),
        conversations_service_sid: sim::SERVICE_SID.into(),
        workspace_sid: sim::WORKSPACE_SID.into(),
        workflow_sid: sim::WORKFLOW_SID.into(),
        task_channel: "chat".into(),
        webhook_url: WEBHOOK_URL.into(),
        task_queues: BTreeMap::from([("billing".to_owned(), sim::TASK_QUEUE_SID.to_owned())]),
        conversations_url: sim.url.clone(),
        flex_url: sim.url.clone(),
        taskrouter_url: sim.url.clone(),
        retry: Policy::default(),
    }
}

type Slot = Arc<Mutex<Option<Arc<TwilioDesk>>>>;

struct FlexHarness {
    sim: Arc<Sim>,
    slot: Slot,
    desk: Arc<TwilioDesk>,
    read: BTreeMap<String, usize>,
}

impl FlexHarness {
    async fn new() -> FlexHarness {
        let sim = Sim::start().await.expect("the simulation starts");
        let slot: Slot = Arc::default();
        let target = slot.clone();
        sim.set_sink(
            baton_connectors::simulation::receiver_sink(move || target.lock().unwrap().clone()),
            WEBHOOK_URL,
        );
        let desk = Arc::new(TwilioDesk::new("flex", config(&sim)).unwrap());
        *slot.lock().unwrap() = Some(desk.clone());
        FlexHarness {
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

impl Harness for FlexHarness {
    type Desk = TwilioDesk;

    fn desk(&self) -> &TwilioDesk {
        &self.desk
    }

    fn queue(&self) -> QueueName {
        QueueName::parse("billing").unwrap()
    }

    async fn agent_available(&mut self) {
        self.sim.set_available_workers(1);
    }

    async fn no_agent_available(&mut self) -> bool {
        self.sim.set_available_workers(0);
        true
    }

    async fn accept(&mut self, chat: &ChatId) -> AgentProfile {
        self.sim.agent_joins(&conversation_of(chat), ANN).await;
        AgentProfile {
            id: AgentId::parse(&format!("twilio-{ANN}")).unwrap(),
            name: ANN.into(),
        }
    }

    async fn next_customer_text(&mut self, chat: &ChatId) -> String {
        let conversation = conversation_of(chat);
        let (sim, id) = (self.sim.clone(), conversation.clone());
        let from_customer = move || {
            sim.conversation(&id, |found| {
                found
                    .messages
                    .iter()
                    .filter(|message| message.author.starts_with("baton-"))
                    .map(|message| message.body.clone())
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

    async fn agent_typing(&mut self, _chat: &ChatId, _typing: bool) {
        unreachable!("the desk declares no typing")
    }

    async fn next_customer_typing(&mut self, _chat: &ChatId) -> bool {
        unreachable!("the desk declares no typing")
    }

    async fn agent_ends(&mut self, chat: &ChatId, reason: EndReason) {
        let attributes = match reason {
            EndReason::HandBack { resume, variables } => {
                let mut attributes = serde_json::Map::new();
                if let Some(resume) = resume {
                    attributes.insert("baton_resume".into(), json!(resume));
                }
                for (name, value) in variables {
                    attributes.insert(format!("baton_var_{name}"), value);
                }
                serde_json::Value::Object(attributes)
            }
            _ => json!({}),
        };
        self.sim.close(&conversation_of(chat), attributes).await;
    }

    async fn restart(&mut self) {
        self.desk = Arc::new(TwilioDesk::new("flex", config(&self.sim)).unwrap());
        *self.slot.lock().unwrap() = Some(self.desk.clone());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilio_flex_desk_passes_the_desk_contract() {
    let mut harness = FlexHarness::new().await;
    contract::run_all(&mut harness).await;
    assert_eq!(harness.sim.refused(), [], "every webhook was taken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_routes_an_interaction_with_the_brief_after_the_history() {
    let harness = FlexHarness::new().await;
    let request = sample_request("t-flex", QueueName::parse("billing").unwrap());
    let chat = harness.desk.start_chat(request.clone()).await.expect("start_chat");
    let conversation = conversation_of(&chat.id);
    assert_eq!(chat.id.as_str().split(':').count(), 3, "{}", chat.id);
    harness
        .sim
        .conversation(&conversation, |found| {
            let customer = format!("baton-{}", request.session);
            assert!(found.participants.contains(&customer));
            let posted: Vec<(&str, &str)> = found
                .messages
                .iter()
                .map(|message| (message.author.as_str(), message.body.as_str()))
                .collect();
            let transcript: Vec<(&str, &str)> = request
                .transcript
                .iter()
                .map(|line| {
                    let author = if line.speaker == Speaker::Customer {
                        customer.as_str()
                    } else {
                        "Assistant"
                    };
                    (author, line.text.as_str())
                })
                .collect();
            assert_eq!(posted, transcript);
            assert_eq!(found.task["baton_summary"], json!(request.brief.summary));
            assert_eq!(
                found.task["baton_history_url"],
                "https://baton.example/transcripts/t-flex"
            );
            assert_eq!(found.task["baton_queue"], "billing");
            assert_eq!(found.task["conversationSid"], json!(conversation));
        })
        .expect("the conversation");

    // The customer leaves: the interaction's channel is closed, and the chat is gone.
    harness.desk.end_chat(&chat.id, EndReason::CustomerLeft).await.unwrap();
    let sim = harness.sim.clone();
    eventually("the interaction channel is closed", move || {
        sim.conversation(&conversation, |found| {
            found
                .interaction_channel
                .as_ref()
                .is_some_and(|(_, _, status)| status == "closed")
        })
        .unwrap_or(false)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reordered_and_duplicated_webhooks_reach_the_customer_once_and_make_sense() {
    let harness = FlexHarness::new().await;
    harness.sim.duplicate_webhooks(true);
    let request = sample_request("t-unruly", QueueName::parse("billing").unwrap());
    let chat = harness.desk.start_chat(request).await.expect("start_chat");
    let conversation = conversation_of(&chat.id);
    let mut events = chat.events;
    assert!(matches!(events.recv().await, Some(DeskEvent::Queued { .. })));
    // The agent's first message arrives before the webhook that adds them.
    harness.sim.agent_says(&conversation, ANN, "Hi, Ann here.").await;
    harness.sim.agent_joins(&conversation, ANN).await;
    harness.sim.agent_joins(&conversation, BOB).await;
    harness.sim.agent_leaves(&conversation, ANN).await;
    let mut seen = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(300), events.recv()).await {
        seen.push(match event {
            DeskEvent::AgentJoined(agent) => format!("joined {}", agent.name),
            DeskEvent::AgentMessage(message) => format!("message {}", message.text),
            DeskEvent::TransferStarted(agent) => format!("transfer to {}", agent.name),
            other => format!("{other:?}"),
        });
    }
    assert_eq!(
        seen,
        [
            format!("joined {ANN}"),
            "message Hi, Ann here.".to_owned(),
            format!("transfer to {BOB}"),
            format!("joined {BOB}"),
        ],
        "Ann leaving after Bob took over changes nothing"
    );
    assert_eq!(harness.sim.refused(), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_not_signed_for_this_url_with_this_token_is_refused() {
    let harness = FlexHarness::new().await;
    let request = sample_request("t-forged", QueueName::parse("billing").unwrap());
    let chat = harness.desk.start_chat(request).await.expect("start_chat");
    let conversation = conversation_of(&chat.id);
    let mut events = chat.events;
    assert!(matches!(events.recv().await, Some(DeskEvent::Queued { .. })));
    let params: Vec<(String, String)> = [
        ("EventType", "onConversationUpdated"),
        ("ConversationSid", conversation.as_str()),
        ("State", "closed"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    for signature in [
        None,
        Some(baton_connectors::signing::twilio_signature(
            "another token",
            WEBHOOK_URL,
            &params,
        )),
        Some(baton_connectors::signing::twilio_signature(
            sim::AUTH_TOKEN,
            "https://elsewhere.example/hook",
            &params,
        )),
    ] {
        let headers: Vec<(String, String)> = signature
            .into_iter()
            .map(|signature| ("x-twilio-signature".to_owned(), signature))
            .collect();
        let refused = harness.desk.receive_now(
            WebhookRequest {
                headers: &headers,
                body: body.as_bytes(),
            },
            Utc::now(),
        );
        assert!(matches!(refused, Err(DeskError::Unauthenticated(_))), "{refused:?}");
    }
    let quiet = tokio::time::timeout(Duration::from_millis(300), events.recv()).await;
    assert!(quiet.is_err(), "nothing reached the chat: {quiet:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_twilio_is_retried() {
    let harness = FlexHarness::new().await;
    harness.sim.throttle(2);
    harness
        .desk
        .start_chat(sample_request("t-throttled", QueueName::parse("billing").unwrap()))
        .await
        .expect("429s are retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_twilio_that_is_down_refuses_the_chat_so_the_route_goes_on() {
    let harness = FlexHarness::new().await;
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
