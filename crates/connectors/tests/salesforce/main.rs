//! The Salesforce desk against a simulated Enhanced Chat (`salesforce::sim`, written from
//! Salesforce's Messaging for In-App and Web API guide): the shared desk contract, what a
//! transfer leaves in the conversation, and what the real service does to a client (echoes,
//! duplicated events, an event before the agent's join, streams that drop, tokens that expire,
//! 429, a failed routing, a resume after a restart that replays only what Baton missed).

use std::sync::Arc;
use std::time::Duration;

use baton_connectors::salesforce::sim::{self, Sim};
use baton_connectors::salesforce::{PreChatFields, SalesforceConfig, SalesforceDesk};
use baton_connectors::simulation::eventually;
use baton_desk::contract::{self, Harness, agent_texts, drain, sample_request};
use baton_desk::*;

const ANN: &str = "Ann Agent";

fn config(sim: &Sim) -> SalesforceConfig {
    SalesforceConfig {
        url: sim.url.clone(),
        org_id: sim::ORG_ID.into(),
        deployment: sim::DEPLOYMENT.into(),
        fields: PreChatFields::default(),
        post_transcript: true,
        retry: Default::default(),
    }
}

fn ann() -> AgentProfile {
    AgentProfile {
        id: AgentId::parse(&format!("salesforce-{}", sim::agent_subject(ANN))).unwrap(),
        name: ANN.into(),
    }
}

struct SalesforceHarness {
    sim: Arc<Sim>,
    desk: SalesforceDesk,
    /// Customer messages already read, per conversation.
    read: std::collections::BTreeMap<String, usize>,
}

impl SalesforceHarness {
    async fn new() -> SalesforceHarness {
        let sim = Sim::start().await.expect("the simulation starts");
        let desk = SalesforceDesk::new("salesforce", config(&sim)).unwrap();
        SalesforceHarness {
            sim,
            desk,
            read: Default::default(),
        }
    }

    fn customer_texts(&self, conversation: &str) -> Vec<String> {
        self.sim
            .conversation(conversation, |found| {
                found
                    .messages
                    .iter()
                    .filter(|message| message.role == "EndUser")
                    .map(|message| message.text.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Harness for SalesforceHarness {
    type Desk = SalesforceDesk;

    fn desk(&self) -> &SalesforceDesk {
        &self.desk
    }

    fn queue(&self) -> QueueName {
        QueueName::parse("billing").unwrap()
    }

    async fn agent_available(&mut self) {}

    /// The guest API tells nothing of agents' presence.
    async fn no_agent_available(&mut self) -> bool {
        false
    }

    async fn accept(&mut self, chat: &ChatId) -> AgentProfile {
        self.sim.agent_joins(chat.as_str(), ANN);
        ann()
    }

    async fn next_customer_text(&mut self, chat: &ChatId) -> String {
        let conversation = chat.as_str().to_owned();
        // The transcript posted at the start is not one of the customer's messages.
        let seen = *self.read.entry(conversation.clone()).or_insert(1);
        let sim = self.sim.clone();
        let id = conversation.clone();
        eventually("a customer message", move || {
            sim.conversation(&id, |found| {
                found.messages.iter().filter(|m| m.role == "EndUser").count() > seen
            })
            .unwrap_or(false)
        })
        .await;
        self.read.insert(conversation.clone(), seen + 1);
        self.customer_texts(&conversation)[seen].clone()
    }

    async fn agent_says(&mut self, chat: &ChatId, text: &str) {
        self.sim.agent_says(chat.as_str(), ANN, text);
    }

    async fn agent_typing(&mut self, chat: &ChatId, typing: bool) {
        self.sim.agent_typing(chat.as_str(), ANN, typing);
    }

    async fn next_customer_typing(&mut self, chat: &ChatId) -> bool {
        let sim = self.sim.clone();
        let id = chat.as_str().to_owned();
        eventually("the customer's typing", move || {
            sim.conversation(&id, |found| found.customer_typing.is_some())
                .unwrap_or(false)
        })
        .await;
        self.sim
            .conversation(chat.as_str(), |found| found.customer_typing == Some(true))
            .unwrap_or(false)
    }

    async fn agent_ends(&mut self, chat: &ChatId, reason: EndReason) {
        match reason {
            EndReason::HandBack { resume, variables } => {
                let mut command = "!handback".to_owned();
                if let Some(resume) = resume {
                    command.push_str(&format!(" {resume}"));
                }
                for (name, value) in variables {
                    command.push_str(&format!(" {name}={value}"));
                }
                self.sim.agent_says(chat.as_str(), ANN, &command);
            }
            _ => self.sim.close(chat.as_str()),
        }
    }

    async fn restart(&mut self) {
        self.desk = SalesforceDesk::new("salesforce", config(&self.sim)).unwrap();
    }
}

fn without_state(events: Vec<DeskEvent>) -> Vec<DeskEvent> {
    events
        .into_iter()
        .filter(|event| !matches!(event, DeskEvent::Resumable(_)))
        .collect()
}

fn last_state(events: &[DeskEvent]) -> Option<ChatState> {
    events.iter().rev().find_map(|event| match event {
        DeskEvent::Resumable(state) => Some(state.clone()),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_desk_passes_the_desk_contract() {
    let mut harness = SalesforceHarness::new().await;
    contract::run_all(&mut harness).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_carries_the_brief_in_routing_attributes_and_the_transcript_first() {
    let harness = SalesforceHarness::new().await;
    let request = sample_request("t-brief", QueueName::parse("billing").unwrap());
    let chat = harness.desk.start_chat(request.clone()).await.expect("start_chat");
    harness
        .sim
        .conversation(chat.id.as_str(), |found| {
            let attributes = &found.routing_attributes;
            let summary = attributes["Baton_Summary"].as_str().unwrap();
            assert!(summary.contains(request.brief.summary.trim()), "{summary}");
            assert!(summary.contains(request.brief.message_to_agent.trim()), "{summary}");
            assert_eq!(attributes["Baton_Session"], request.session.as_str());
            assert_eq!(attributes["Baton_Queue"], "billing");
            assert_eq!(
                attributes["Baton_Transcript_URL"],
                "https://baton.example/transcripts/t-brief"
            );
            let first = &found.messages[0];
            assert_eq!(first.role, "EndUser");
            assert!(first.text.contains("Customer: blorp"), "{}", first.text);
            assert!(
                first.text.contains("https://baton.example/transcripts/t-brief"),
                "{}",
                first.text
            );
        })
        .expect("the conversation");
    let mut events = chat.events;
    let seen = drain(&mut events, Duration::from_millis(300)).await;
    assert!(
        last_state(&seen).is_some(),
        "the token is given to Baton to keep: {seen:?}"
    );
    let seen = without_state(seen);
    // Queued, then the routing result's estimated wait; the echo of the transcript is no event.
    assert_eq!(
        seen.first(),
        Some(&DeskEvent::Queued {
            position: None,
            wait: None,
            note: None
        })
    );
    assert!(
        seen.contains(&DeskEvent::Queued {
            position: None,
            wait: Some(Duration::from_secs(45)),
            note: None
        }),
        "{seen:?}"
    );
    assert!(
        !seen.iter().any(|event| matches!(event, DeskEvent::AgentMessage(_))),
        "{seen:?}"
    );
    assert!(format!("{seen:?}").len() < 10_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_drops_and_a_message_before_the_join_reach_the_customer_once() {
    let harness = SalesforceHarness::new().await;
    let request = sample_request("t-unruly", QueueName::parse("billing").unwrap());
    let chat = harness.desk.start_chat(request).await.expect("start_chat");
    let conversation = chat.id.as_str().to_owned();
    let mut events = chat.events;
    drain(&mut events, Duration::from_millis(300)).await;

    harness.sim.duplicate_events(true);
    // The agent's first message arrives before the participant change that adds them.
    harness.sim.agent_says(&conversation, ANN, "Hello, Ann here.");
    harness.sim.agent_joins(&conversation, ANN);
    harness.sim.agent_typing(&conversation, ANN, true);
    harness.sim.drop_streams();
    // While the stream is down: the desk reconnects with Last-Event-ID and misses nothing.
    harness.sim.agent_says(&conversation, ANN, "Are you there?");
    let seen = without_state(drain(&mut events, Duration::from_secs(2)).await);
    assert_eq!(
        seen.iter()
            .filter(|event| !matches!(event, DeskEvent::AgentMessage(_)))
            .cloned()
            .collect::<Vec<_>>(),
        [DeskEvent::AgentJoined(ann()), DeskEvent::AgentTyping(true)],
        "joined once, from the message, and nothing repeated: {seen:?}"
    );
    assert_eq!(agent_texts(&seen), ["Hello, Ann here.", "Are you there?"]);
    assert!(harness.sim.connections() >= 2, "the stream was opened again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_expires_mid_chat_is_renewed_and_the_chat_goes_on() {
    let harness = SalesforceHarness::new().await;
    harness.sim.set_token_lifetime(Duration::from_secs(3));
    let chat = harness
        .desk
        .start_chat(sample_request("t-expiry", QueueName::parse("billing").unwrap()))
        .await
        .expect("start_chat");
    let conversation = chat.id.as_str().to_owned();
    let mut events = chat.events;
    harness.sim.agent_joins(&conversation, ANN);
    let mut all = Vec::new();
    for n in 0..4 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        harness.sim.agent_says(&conversation, ANN, &format!("message {n}"));
        harness
            .desk
            .send_to_agent(
                &chat.id,
                CustomerMessage {
                    id: MessageId::parse(&format!("c-{n}")).unwrap(),
                    at: chrono::Utc::now(),
                    text: format!("answer {n}"),
                },
            )
            .await
            .unwrap();
        all.extend(drain(&mut events, Duration::from_millis(500)).await);
    }
    assert!(
        harness.sim.renewals() >= 2,
        "the token was renewed: {}",
        harness.sim.renewals()
    );
    assert_eq!(agent_texts(&all), ["message 0", "message 1", "message 2", "message 3"]);
    let sim = harness.sim.clone();
    let id = conversation.clone();
    eventually("every customer message arrived", move || {
        sim.conversation(&id, |found| {
            found.messages.iter().filter(|m| m.role == "EndUser").count() == 5
        })
        .unwrap_or(false)
    })
    .await;
    assert!(
        !all.iter()
            .any(|event| matches!(event, DeskEvent::Ended { .. } | DeskEvent::Error(_))),
        "{all:?}"
    );

    // A token revoked outright (not renewed in time) is renewed on the 401, if Salesforce still
    // takes it for a continuation; here it does not, and the chat ends, said plainly.
    harness.sim.expire_tokens();
    let seen = drain(&mut events, Duration::from_secs(3)).await;
    assert!(
        seen.iter()
            .any(|event| matches!(event, DeskEvent::Ended { by: EndedBy::Desk, .. })),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_only_what_was_missed_is_replayed() {
    let mut harness = SalesforceHarness::new().await;
    let chat = harness
        .desk
        .start_chat(sample_request("t-restart", QueueName::parse("billing").unwrap()))
        .await
        .expect("start_chat");
    let conversation = chat.id.as_str().to_owned();
    let mut events = chat.events;
    harness.sim.agent_joins(&conversation, ANN);
    harness.sim.agent_says(&conversation, ANN, "before the restart");
    let before = drain(&mut events, Duration::from_millis(500)).await;
    assert_eq!(agent_texts(&before), ["before the restart"]);
    let state = last_state(&before).expect("a state to resume with");
    assert!(
        !format!("{state:?}").contains('.'),
        "the token stays out of Debug: {state:?}"
    );

    harness.restart().await;
    drop(events);
    // The agent writes while Baton is down.
    harness.sim.agent_says(&conversation, ANN, "while you were away");
    let resumed = harness
        .desk
        .resume(ChatResume {
            chat: chat.id.clone(),
            request: sample_request("t-restart", QueueName::parse("billing").unwrap()),
            queued_at: chrono::Utc::now(),
            agent: Some(ann().id),
            state: Some(state),
        })
        .await
        .expect("resume");
    let mut events = resumed.events;
    harness.sim.agent_says(&conversation, ANN, "after the restart");
    let after = drain(&mut events, Duration::from_millis(800)).await;
    assert_eq!(
        agent_texts(&after),
        ["while you were away", "after the restart"],
        "{after:?}"
    );
    assert!(
        !after.iter().any(|event| matches!(event, DeskEvent::AgentJoined(_))),
        "{after:?}"
    );

    // Without the kept state there is nothing to resume with: refused, plainly.
    let refused = harness
        .desk
        .resume(ChatResume {
            chat: chat.id.clone(),
            request: sample_request("t-restart", QueueName::parse("billing").unwrap()),
            queued_at: chrono::Utc::now(),
            agent: None,
            state: None,
        })
        .await;
    assert!(refused.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_routing_fails_the_chat_over_and_a_throttled_or_down_salesforce_is_handled() {
    let harness = SalesforceHarness::new().await;
    harness.sim.fail_routing(true);
    let chat = harness
        .desk
        .start_chat(sample_request("t-unrouted", QueueName::parse("billing").unwrap()))
        .await
        .expect("start_chat");
    let mut events = chat.events;
    let seen = drain(&mut events, Duration::from_millis(500)).await;
    assert!(seen.contains(&DeskEvent::Error(DeskErrorKind::Connecting)), "{seen:?}");
    harness.sim.fail_routing(false);

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
    harness.sim.set_down(false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_both_ways_and_a_transfer_between_agents_is_told() {
    let harness = SalesforceHarness::new().await;
    let chat = harness
        .desk
        .start_chat(sample_request("t-reads", QueueName::parse("billing").unwrap()))
        .await
        .expect("start_chat");
    let conversation = chat.id.as_str().to_owned();
    let mut events = chat.events;
    harness.sim.agent_joins(&conversation, ANN);
    harness
        .desk
        .send_to_agent(
            &chat.id,
            CustomerMessage {
                id: MessageId::parse("c-read").unwrap(),
                at: chrono::Utc::now(),
                text: "please read me".into(),
            },
        )
        .await
        .unwrap();
    let sim = harness.sim.clone();
    let id = conversation.clone();
    eventually("the message arrived", move || {
        sim.conversation(&id, |found| found.messages.iter().any(|m| m.text == "please read me"))
            .unwrap_or(false)
    })
    .await;
    harness.sim.agent_reads(&conversation, ANN);
    harness.sim.agent_says(&conversation, ANN, "Read it.");
    harness.sim.transfer(&conversation, ANN, "Bo Agent");
    let seen = without_state(drain(&mut events, Duration::from_millis(500)).await);
    assert!(
        seen.contains(&DeskEvent::AgentRead {
            up_to: MessageId::parse("c-read").unwrap()
        }),
        "{seen:?}"
    );
    let bo = AgentProfile {
        id: AgentId::parse(&format!("salesforce-{}", sim::agent_subject("Bo Agent"))).unwrap(),
        name: "Bo Agent".into(),
    };
    assert!(seen.contains(&DeskEvent::TransferStarted(bo.clone())), "{seen:?}");
    assert!(seen.contains(&DeskEvent::AgentJoined(bo)), "{seen:?}");

    // The customer reads the agent's message: acknowledged by its entry id.
    let DeskEvent::AgentMessage(message) = seen
        .iter()
        .find(|event| matches!(event, DeskEvent::AgentMessage(_)))
        .unwrap()
        .clone()
    else {
        unreachable!()
    };
    harness.desk.customer_read(&chat.id, &message.id).await.unwrap();
    let entry = message.id.as_str().trim_start_matches("salesforce-").to_owned();
    let sim = harness.sim.clone();
    eventually("the read acknowledged", move || {
        sim.conversation(&conversation, |found| found.reads.contains(&entry))
            .unwrap_or(false)
    })
    .await;
}
