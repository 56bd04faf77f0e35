//! The contract test suite every desk implementation must pass (feature `contract-tests`).
//!
//! A desk's tests implement [`Harness`] — how to play the agent's side of that desk — and call
//! [`run_all`] (or each check). Every event a desk sends is fed to a [`Transfer`], so a desk whose
//! event order the state machine would refuse fails here, not in production.
//!
//! Waits use tokio time with generous limits; under `tokio::time::pause()` they cost nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{TimeZone, Utc};

use crate::ids::{AgentId, ChatId, MessageId, QueueName, SessionId, TransferId};
use crate::service_desk::{
    AgentProfile, Brief, BriefReason, Chat, ChatRequest, ChatResume, Customer, CustomerMessage, DeskEvent, EndReason,
    EndedBy, FallbackReason, Online, Routing, ServiceDesk, Speaker, TranscriptLine,
};
use crate::transfer::{Transfer, TransferState};

/// The agent's side of one desk, as the contract needs it.
#[allow(async_fn_in_trait)]
pub trait Harness {
    type Desk: ServiceDesk;

    fn desk(&self) -> &Self::Desk;
    /// The queue the contract routes to.
    fn queue(&self) -> QueueName;
    /// Makes one agent of the queue available.
    async fn agent_available(&mut self);
    /// Makes no agent of the queue available; `false` when the desk cannot be told to.
    async fn no_agent_available(&mut self) -> bool;
    /// Waits until `chat` reaches the agent, accepts it, and returns the agent.
    async fn accept(&mut self, chat: &ChatId) -> AgentProfile;
    /// Waits for the next customer message the agent receives in `chat`.
    async fn next_customer_text(&mut self, chat: &ChatId) -> String;
    async fn agent_says(&mut self, chat: &ChatId, text: &str);
    async fn agent_typing(&mut self, chat: &ChatId, typing: bool);
    /// Waits for the customer's typing signal on the agent's side.
    async fn next_customer_typing(&mut self, chat: &ChatId) -> bool;
    /// The agent ends the chat with `reason` (`Resolved` or `HandBack`).
    async fn agent_ends(&mut self, chat: &ChatId, reason: EndReason);
    /// Replaces the desk with a fresh instance, as after a process restart; the agents log in again.
    async fn restart(&mut self);
}

const WAIT: Duration = Duration::from_secs(20);

/// The time the suite stamps on what it builds; desks keep their own clocks.
fn contract_time() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
}

/// A chat request like the server sends, routed to `queue`.
pub fn sample_request(transfer: &str, queue: QueueName) -> ChatRequest {
    let at = contract_time();
    ChatRequest {
        transfer: TransferId::parse(transfer).unwrap(),
        session: SessionId::parse(&format!("session-{transfer}")).unwrap(),
        customer: Customer {
            user_id: Some("customer-1".into()),
            name: Some("Robin".into()),
            channel: Some("web".into()),
            locale: Some("en".into()),
        },
        brief: Brief {
            summary: "The assistant could not understand the customer.".into(),
            reason: BriefReason::Fallback {
                reason: FallbackReason::NoActionMatches,
                action: None,
                step: None,
                failed_inputs: vec!["blorp".into(), "flurb".into()],
            },
            message_to_agent: "The customer could not be understood.".into(),
            variables: BTreeMap::from([("account_type".to_owned(), serde_json::json!("savings"))]),
        },
        transcript: vec![TranscriptLine {
            at,
            speaker: Speaker::Customer,
            text: "blorp".into(),
        }],
        transcript_url: Some(format!("https://baton.example/transcripts/{transfer}")),
        routing: Routing {
            queue: Some(queue),
            skill: None,
        },
        custom_fields: BTreeMap::new(),
    }
}

/// Follows one chat's events and checks each against the transfer state machine.
pub struct Followed {
    pub chat: ChatId,
    pub transfer: Transfer,
    pub request: ChatRequest,
    events: crate::service_desk::DeskEvents,
    pub seen: Vec<DeskEvent>,
}

impl Followed {
    fn new(chat: Chat, request: ChatRequest) -> Followed {
        let now = contract_time();
        let (mut transfer, _) = Transfer::request(
            request.transfer.clone(),
            request.session.clone(),
            request.routing.queue.clone(),
            now,
        );
        transfer.attach_chat(chat.id.clone());
        Followed {
            chat: chat.id,
            transfer,
            request,
            events: chat.events,
            seen: Vec::new(),
        }
    }

    /// The next event, applied to the transfer. Panics on a timeout, a closed stream, or an
    /// event the state machine refuses.
    pub async fn next(&mut self) -> DeskEvent {
        let event = tokio::time::timeout(WAIT, self.events.recv())
            .await
            .unwrap_or_else(|_| panic!("no desk event within {WAIT:?}; seen so far: {:?}", self.seen))
            .unwrap_or_else(|| panic!("the chat's event stream ended; seen so far: {:?}", self.seen));
        let state = self.transfer.state();
        if let Err(error) = self.transfer.apply(event.clone(), contract_time()) {
            panic!("desk event {event:?} in state {state} is refused: {error}");
        }
        self.seen.push(event.clone());
        event
    }

    /// Skips events until one matches; returns it.
    pub async fn until(&mut self, wanted: impl Fn(&DeskEvent) -> bool) -> DeskEvent {
        loop {
            let event = self.next().await;
            if wanted(&event) {
                return event;
            }
        }
    }

    /// Whether the stream ends (after any remaining events) within the wait.
    pub async fn ends(&mut self) -> bool {
        loop {
            match tokio::time::timeout(WAIT, self.events.recv()).await {
                Ok(Some(event)) => self.seen.push(event),
                Ok(None) => return true,
                Err(_) => return false,
            }
        }
    }
}

async fn open<H: Harness>(harness: &mut H, transfer: &str) -> Followed {
    let request = sample_request(transfer, harness.queue());
    let chat = harness.desk().start_chat(request.clone()).await.expect("start_chat");
    Followed::new(chat, request)
}

fn customer_message(id: &str, text: &str) -> CustomerMessage {
    CustomerMessage {
        id: MessageId::parse(id).unwrap(),
        at: contract_time(),
        text: text.into(),
    }
}

/// Availability says yes with an agent available and not yes without one.
pub async fn availability_follows_agents<H: Harness>(harness: &mut H) {
    let queue = harness.queue();
    if harness.no_agent_available().await {
        let availability = harness.desk().availability(Some(&queue)).await.expect("availability");
        assert_ne!(
            availability.online,
            Online::Yes,
            "no agent is available: {availability:?}"
        );
    }
    harness.agent_available().await;
    let availability = harness.desk().availability(Some(&queue)).await.expect("availability");
    assert_ne!(
        availability.online,
        Online::No,
        "an agent is available: {availability:?}"
    );
}

/// The whole happy path: queued, joined, messages both ways, ended by the agent as resolved.
pub async fn chat_reaches_an_agent_and_ends_resolved<H: Harness>(harness: &mut H) {
    harness.agent_available().await;
    let mut chat = open(harness, "contract-resolved").await;
    let agent = harness.accept(&chat.chat).await;
    let joined = chat.until(|event| matches!(event, DeskEvent::AgentJoined(_))).await;
    assert_eq!(joined, DeskEvent::AgentJoined(agent.clone()));
    assert_eq!(chat.transfer.state(), TransferState::Active);

    harness
        .desk()
        .send_to_agent(&chat.chat, customer_message("c-1", "my card is blocked"))
        .await
        .expect("send_to_agent");
    assert_eq!(harness.next_customer_text(&chat.chat).await, "my card is blocked");

    harness.agent_says(&chat.chat, "Let me unblock it for you.").await;
    let DeskEvent::AgentMessage(message) = chat.until(|event| matches!(event, DeskEvent::AgentMessage(_))).await else {
        unreachable!()
    };
    assert_eq!(message.text, "Let me unblock it for you.");
    assert_eq!(message.agent.id, agent.id);

    harness.agent_ends(&chat.chat, EndReason::Resolved).await;
    let ended = chat.until(|event| matches!(event, DeskEvent::Ended { .. })).await;
    assert_eq!(
        ended,
        DeskEvent::Ended {
            by: EndedBy::Agent,
            reason: EndReason::Resolved
        }
    );
    assert_eq!(chat.transfer.state(), TransferState::Ended);
    assert!(chat.ends().await, "the event stream ends after the chat ended");
}

/// A hand-back carries the action to resume and the variables.
pub async fn hand_back_carries_resume_and_variables<H: Harness>(harness: &mut H) {
    harness.agent_available().await;
    let mut chat = open(harness, "contract-hand-back").await;
    harness.accept(&chat.chat).await;
    chat.until(|event| matches!(event, DeskEvent::AgentJoined(_))).await;
    let reason = EndReason::HandBack {
        resume: Some("pay_bill".into()),
        variables: BTreeMap::from([("amount".to_owned(), serde_json::json!(42))]),
    };
    harness.agent_ends(&chat.chat, reason.clone()).await;
    let ended = chat.until(|event| matches!(event, DeskEvent::Ended { .. })).await;
    assert_eq!(
        ended,
        DeskEvent::Ended {
            by: EndedBy::Agent,
            reason
        }
    );
    assert_eq!(chat.transfer.state(), TransferState::HandedBack);
}

/// Typing reaches the other side on desks that support it.
pub async fn typing_reaches_both_sides<H: Harness>(harness: &mut H) {
    let capabilities = harness.desk().capabilities();
    if !(capabilities.agent_typing && capabilities.customer_typing) {
        return;
    }
    harness.agent_available().await;
    let mut chat = open(harness, "contract-typing").await;
    harness.accept(&chat.chat).await;
    chat.until(|event| matches!(event, DeskEvent::AgentJoined(_))).await;
    harness
        .desk()
        .customer_typing(&chat.chat, true)
        .await
        .expect("customer_typing");
    assert!(harness.next_customer_typing(&chat.chat).await);
    harness.agent_typing(&chat.chat, true).await;
    assert_eq!(
        chat.until(|event| matches!(event, DeskEvent::AgentTyping(_))).await,
        DeskEvent::AgentTyping(true)
    );
    harness.agent_ends(&chat.chat, EndReason::Resolved).await;
}

/// The customer's side ends a waiting chat: the stream ends, and the chat is gone.
pub async fn customer_cancel_closes_the_chat<H: Harness>(harness: &mut H) {
    harness.agent_available().await;
    let mut chat = open(harness, "contract-cancel").await;
    harness
        .desk()
        .end_chat(&chat.chat, EndReason::Cancelled)
        .await
        .expect("end_chat");
    assert!(chat.ends().await, "the event stream ends after end_chat");
    let late = harness
        .desk()
        .send_to_agent(&chat.chat, customer_message("c-9", "hello?"))
        .await;
    assert!(late.is_err(), "a message to an ended chat is refused: {late:?}");
}

/// Calls naming a chat the desk never opened are errors, not panics.
pub async fn unknown_chats_are_refused<H: Harness>(harness: &mut H) {
    let chat = ChatId::parse("no-such-chat").unwrap();
    let desk = harness.desk();
    assert!(desk.send_to_agent(&chat, customer_message("c-1", "hi")).await.is_err());
    assert!(desk.end_chat(&chat, EndReason::Cancelled).await.is_err());
}

/// After a restart, `resume` re-attaches an active chat: messages flow both ways again.
pub async fn resume_after_restart_continues_the_chat<H: Harness>(harness: &mut H) {
    if !harness.desk().capabilities().resume {
        return;
    }
    harness.agent_available().await;
    let mut chat = open(harness, "contract-resume").await;
    let agent = harness.accept(&chat.chat).await;
    chat.until(|event| matches!(event, DeskEvent::AgentJoined(_))).await;

    harness.restart().await;
    let resumed = harness
        .desk()
        .resume(ChatResume {
            chat: chat.chat.clone(),
            request: chat.request.clone(),
            queued_at: chat.transfer.opened_at(),
            agent: Some(agent.id.clone()),
            state: chat.transfer.desk_state().cloned(),
        })
        .await
        .expect("resume");
    assert_eq!(resumed.id, chat.chat);
    let mut chat = Followed {
        events: resumed.events,
        ..chat
    };

    harness
        .desk()
        .send_to_agent(&chat.chat, customer_message("c-2", "still there?"))
        .await
        .expect("send_to_agent");
    assert_eq!(harness.next_customer_text(&chat.chat).await, "still there?");
    harness.agent_says(&chat.chat, "Yes, still here.").await;
    let DeskEvent::AgentMessage(message) = chat.until(|event| matches!(event, DeskEvent::AgentMessage(_))).await else {
        unreachable!()
    };
    assert_eq!(message.text, "Yes, still here.");
    harness.agent_ends(&chat.chat, EndReason::Resolved).await;
    chat.until(|event| matches!(event, DeskEvent::Ended { .. })).await;
    assert_eq!(chat.transfer.state(), TransferState::Ended);
}

/// Every check, in order, on one harness.
pub async fn run_all<H: Harness>(harness: &mut H) {
    availability_follows_agents(harness).await;
    chat_reaches_an_agent_and_ends_resolved(harness).await;
    hand_back_carries_resume_and_variables(harness).await;
    typing_reaches_both_sides(harness).await;
    customer_cancel_closes_the_chat(harness).await;
    unknown_chats_are_refused(harness).await;
    resume_after_restart_continues_the_chat(harness).await;
}

/// How many of `sent` (the customer's messages as a desk holds them, oldest first) are the
/// [`sample_request`] transcript's customer lines, which a desk that copies the transcript sends
/// first: a harness counts those as read, and not whatever else has arrived by then.
pub fn transcript_lines_first(sent: &[String]) -> usize {
    let transcript = sample_request("any", QueueName::parse("any").unwrap())
        .transcript
        .into_iter()
        .filter(|line| line.speaker == Speaker::Customer);
    sent.iter()
        .zip(transcript)
        .take_while(|(sent, line)| **sent == line.text)
        .count()
}

/// Every event of `events` that arrives within `quiet` of the one before.
pub async fn drain(events: &mut crate::service_desk::DeskEvents, quiet: Duration) -> Vec<DeskEvent> {
    let mut seen = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout(quiet, events.recv()).await {
        seen.push(event);
    }
    seen
}

/// The texts of the agent's messages among `events`, in order.
pub fn agent_texts(events: &[DeskEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|event| match event {
            DeskEvent::AgentMessage(message) => Some(message.text.clone()),
            _ => None,
        })
        .collect()
}

/// An agent id for harnesses.
pub fn agent_id(raw: &str) -> AgentId {
    AgentId::parse(raw).unwrap()
}
