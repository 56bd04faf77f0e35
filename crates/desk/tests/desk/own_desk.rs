//! `OwnDesk` through its async shell: the shared contract suite, and timers under paused time.

use std::collections::HashMap;
use std::time::Duration;

use baton_desk::contract::{self, Harness, agent_id, sample_request};
use baton_desk::own::*;
use baton_desk::*;
use chrono::{TimeZone, Utc};
use tokio::sync::mpsc::UnboundedReceiver;

fn config() -> OwnDeskConfig {
    OwnDeskConfig {
        settings: DeskSettings::default(),
        agents: vec![AgentConfig {
            id: agent_id("ada"),
            name: "Ada".into(),
            queues: vec![],
            capacity: 2,
        }],
        queues: vec![],
    }
}

fn clock() -> Clock {
    Clock::starting_at(Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap())
}

struct OwnHarness {
    desk: OwnDesk,
    ada: UnboundedReceiver<AgentEvent>,
    /// Agent events seen while waiting for another one, per chat.
    backlog: HashMap<ChatId, Vec<AgentEvent>>,
}

impl OwnHarness {
    fn new() -> OwnHarness {
        let desk = OwnDesk::start(config(), clock());
        let ada = desk.agent_events(&agent_id("ada")).unwrap();
        OwnHarness {
            desk,
            ada,
            backlog: HashMap::new(),
        }
    }

    async fn next_for(&mut self, chat: &ChatId, wanted: impl Fn(&AgentEvent) -> bool) -> AgentEvent {
        if let Some(backlog) = self.backlog.get_mut(chat)
            && let Some(idx) = backlog.iter().position(&wanted)
        {
            return backlog.remove(idx);
        }
        loop {
            let event = tokio::time::timeout(Duration::from_secs(20), self.ada.recv())
                .await
                .expect("agent event in time")
                .expect("agent stream open");
            let event_chat = match &event {
                AgentEvent::Offer { chat, .. }
                | AgentEvent::OfferWithdrawn { chat, .. }
                | AgentEvent::CustomerMessage { chat, .. }
                | AgentEvent::CustomerTyping { chat, .. }
                | AgentEvent::CustomerRead { chat, .. }
                | AgentEvent::ChatEnded { chat, .. } => Some(chat.clone()),
                AgentEvent::QueueChanged { .. } => None,
            };
            match event_chat {
                Some(event_chat) if &event_chat == chat && wanted(&event) => return event,
                Some(event_chat) => self.backlog.entry(event_chat).or_default().push(event),
                None => {}
            }
        }
    }
}

impl Harness for OwnHarness {
    type Desk = OwnDesk;

    fn desk(&self) -> &OwnDesk {
        &self.desk
    }
    fn queue(&self) -> QueueName {
        QueueName::parse("billing").unwrap()
    }
    async fn agent_available(&mut self) {
        self.desk.set_presence(&agent_id("ada"), Presence::Online).unwrap();
    }
    async fn no_agent_available(&mut self) -> bool {
        self.desk.set_presence(&agent_id("ada"), Presence::Offline).unwrap();
        true
    }
    async fn accept(&mut self, chat: &ChatId) -> AgentProfile {
        self.next_for(chat, |event| matches!(event, AgentEvent::Offer { .. }))
            .await;
        self.desk.accept(&agent_id("ada"), chat).unwrap();
        AgentProfile {
            id: agent_id("ada"),
            name: "Ada".into(),
        }
    }
    async fn next_customer_text(&mut self, chat: &ChatId) -> String {
        match self
            .next_for(chat, |event| matches!(event, AgentEvent::CustomerMessage { .. }))
            .await
        {
            AgentEvent::CustomerMessage { message, .. } => message.text,
            _ => unreachable!(),
        }
    }
    async fn agent_says(&mut self, chat: &ChatId, text: &str) {
        self.desk.agent_message(&agent_id("ada"), chat, text.into()).unwrap();
    }
    async fn agent_typing(&mut self, chat: &ChatId, typing: bool) {
        self.desk.agent_typing(&agent_id("ada"), chat, typing).unwrap();
    }
    async fn next_customer_typing(&mut self, chat: &ChatId) -> bool {
        match self
            .next_for(chat, |event| matches!(event, AgentEvent::CustomerTyping { .. }))
            .await
        {
            AgentEvent::CustomerTyping { typing, .. } => typing,
            _ => unreachable!(),
        }
    }
    async fn agent_ends(&mut self, chat: &ChatId, reason: EndReason) {
        let disposition = match reason {
            EndReason::HandBack { resume, variables } => Disposition::HandBack { resume, variables },
            _ => Disposition::Resolved,
        };
        self.desk.end(&agent_id("ada"), chat, disposition).unwrap();
    }
    async fn restart(&mut self) {
        *self = OwnHarness::new();
        self.agent_available().await;
    }
}

#[tokio::test(start_paused = true)]
async fn own_desk_passes_the_contract() {
    contract::run_all(&mut OwnHarness::new()).await;
}

#[tokio::test(start_paused = true)]
async fn the_accept_timeout_fires_on_its_own() {
    let mut config = config();
    config.agents.push(AgentConfig {
        id: agent_id("bob"),
        name: "Bob".into(),
        queues: vec![],
        capacity: 1,
    });
    let desk = OwnDesk::start(config, clock());
    let mut ada = desk.agent_events(&agent_id("ada")).unwrap();
    let mut bob = desk.agent_events(&agent_id("bob")).unwrap();
    desk.set_presence(&agent_id("ada"), Presence::Online).unwrap();
    tokio::time::advance(Duration::from_secs(1)).await;
    desk.set_presence(&agent_id("bob"), Presence::Online).unwrap();
    let mut chat = desk
        .start_chat(sample_request("t1", QueueName::parse("billing").unwrap()))
        .await
        .unwrap();

    let next_offer = |events: &mut UnboundedReceiver<AgentEvent>| {
        let mut offer = None;
        while let Ok(event) = events.try_recv() {
            if let AgentEvent::Offer { chat, expires_at, .. } = event {
                offer = Some((chat, expires_at));
            }
        }
        offer
    };
    let (offered, expires_at) = next_offer(&mut ada).expect("Ada, idle longest, is offered the chat");
    assert_eq!(offered, chat.id);
    assert_eq!(expires_at, desk.now() + chrono::TimeDelta::seconds(30));

    // No one calls the desk: its own timer moves the offer on when the 30 seconds are up.
    tokio::time::sleep(Duration::from_secs(29)).await;
    assert!(next_offer(&mut bob).is_none());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(next_offer(&mut bob).map(|(chat, _)| chat), Some(chat.id.clone()));

    let mut seen = Vec::new();
    while let Ok(event) = chat.events.try_recv() {
        seen.push(event);
    }
    let kinds: Vec<&str> = seen
        .iter()
        .map(|event| match event {
            DeskEvent::Queued { .. } => "queued",
            DeskEvent::Offered(_) => "offered",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["queued", "offered", "queued", "offered"]);
}

#[tokio::test(start_paused = true)]
async fn the_join_timeout_ends_a_waiting_chat_on_its_own() {
    let desk = OwnDesk::start(config(), clock());
    let mut chat = desk
        .start_chat(sample_request("t1", QueueName::parse("billing").unwrap()))
        .await
        .unwrap();
    let first = chat.events.recv().await.unwrap();
    assert!(matches!(first, DeskEvent::Queued { note: Some(_), .. }), "{first:?}");
    tokio::time::sleep(DeskSettings::default().join_timeout).await;
    let ended = chat.events.recv().await.unwrap();
    assert_eq!(
        ended,
        DeskEvent::Ended {
            by: EndedBy::Desk,
            reason: EndReason::JoinTimedOut
        }
    );
    assert!(chat.events.recv().await.is_none(), "the stream ends");
}

#[tokio::test(start_paused = true)]
async fn a_queued_chat_resumes_at_its_place_in_line() {
    let desk = OwnDesk::start(config(), clock());
    let queue = QueueName::parse("billing").unwrap();
    let first = sample_request("t1", queue.clone());
    let second = sample_request("t2", queue.clone());
    let earlier = desk.now() - chrono::TimeDelta::seconds(60);
    let mut late = desk.start_chat(second).await.unwrap();
    let mut resumed = desk
        .resume(ChatResume {
            chat: ChatId::parse("own-t1-1").unwrap(),
            request: first,
            queued_at: earlier,
            agent: None,
            state: None,
        })
        .await
        .unwrap();
    assert!(matches!(
        resumed.events.recv().await.unwrap(),
        DeskEvent::Queued { position: Some(1), .. }
    ));
    assert!(matches!(
        late.events.recv().await.unwrap(),
        DeskEvent::Queued { position: Some(1), .. }
    ));
    assert!(
        matches!(
            late.events.recv().await.unwrap(),
            DeskEvent::Queued { position: Some(2), .. }
        ),
        "pushed back behind the older chat"
    );
}

#[tokio::test(start_paused = true)]
async fn the_server_can_hold_any_desk_behind_dyn() {
    let desk: std::sync::Arc<dyn ServiceDesk> = std::sync::Arc::new(OwnDesk::start(config(), clock()));
    assert!(desk.capabilities().resume);
    let availability = desk.availability(None).await.unwrap();
    assert_eq!(availability.online, Online::No);
    assert_eq!(availability.offline_policy, Some(OfflinePolicy::WaitInQueue));
}
