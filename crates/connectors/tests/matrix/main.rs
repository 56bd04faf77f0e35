//! The Matrix desk against a real Synapse (installed with pip on first use, see `synapse`): the
//! shared desk contract, a whole transfer between agents, a homeserver restart mid-chat, and
//! events the desk does not expect. The live tests are named `matrix_…` (the skip message
//! counts them); the others need no homeserver.

mod agent;
mod synapse;

use std::collections::BTreeMap;
use std::time::Duration;

use agent::{Agent, Seen};
use baton_connectors::matrix::{MatrixConfig, MatrixDesk, QueueAgents};
use baton_desk::contract::{self, Harness, sample_request};
use baton_desk::*;
use chrono::Utc;
use serde_json::json;
use synapse::Synapse;

const PASSWORD: &str = "correct horse battery staple";
const WAIT: Duration = Duration::from_secs(30);

struct MatrixHarness {
    config: MatrixConfig,
    desk: Option<MatrixDesk>,
    ann: Agent,
}

impl MatrixHarness {
    async fn new(synapse: &Synapse) -> MatrixHarness {
        let bot = synapse.register("contract_bot", PASSWORD, "Baton").await;
        let ann = synapse.register("contract_ann", PASSWORD, "Ann").await;
        let mut ann = Agent::login(&synapse.url, &ann, PASSWORD, "Ann").await;
        // The queue's agents are the members of a room the bot shares with them, which also
        // lets the bot see their presence.
        let agents_room = ann.create_room(&[&bot]).await;
        let mut config = MatrixConfig::new(&synapse.url, &bot, PASSWORD);
        config.queues.insert(
            "contract".into(),
            QueueAgents {
                agents: Vec::new(),
                agents_room: Some(agents_room),
            },
        );
        let desk = MatrixDesk::connect(config.clone()).await.expect("connect");
        MatrixHarness {
            config,
            desk: Some(desk),
            ann,
        }
    }
}

impl Harness for MatrixHarness {
    type Desk = MatrixDesk;

    fn desk(&self) -> &MatrixDesk {
        self.desk.as_ref().expect("a desk")
    }

    fn queue(&self) -> QueueName {
        QueueName::parse("contract").unwrap()
    }

    async fn agent_available(&mut self) {
        self.ann.set_presence("online").await;
    }

    async fn no_agent_available(&mut self) -> bool {
        self.ann.set_presence("offline").await;
        true
    }

    async fn accept(&mut self, chat: &ChatId) -> AgentProfile {
        self.ann.wait_for_invite(chat.as_str()).await;
        self.ann.join(chat.as_str()).await;
        AgentProfile {
            id: AgentId::parse(&self.ann.user).unwrap(),
            name: self.ann.name.clone(),
        }
    }

    async fn next_customer_text(&mut self, chat: &ChatId) -> String {
        let bot = self.desk().bot().to_owned();
        let (body, _) = self.ann.next_text_from(chat.as_str(), &bot, "m.text").await;
        body.split_once(": ").map(|(_, text)| text.to_owned()).unwrap_or(body)
    }

    async fn agent_says(&mut self, chat: &ChatId, text: &str) {
        self.ann.say(chat.as_str(), text).await;
    }

    async fn agent_typing(&mut self, chat: &ChatId, typing: bool) {
        self.ann.typing(chat.as_str(), typing).await;
    }

    async fn next_customer_typing(&mut self, chat: &ChatId) -> bool {
        let bot = self.desk().bot().to_owned();
        self.ann
            .wait_for(chat.as_str(), "the customer typing", |seen| {
                matches!(seen, Seen::Ephemeral { event, .. } if event["type"] == "m.typing"
                    && event["content"]["user_ids"].as_array().is_some_and(|users| users.iter().any(|user| user == &bot)))
            })
            .await;
        true
    }

    async fn agent_ends(&mut self, chat: &ChatId, reason: EndReason) {
        let command = match reason {
            EndReason::HandBack { resume, variables } => {
                let mut command = "!handback".to_owned();
                if let Some(resume) = resume {
                    command.push_str(&format!(" {resume}"));
                }
                for (name, value) in variables {
                    command.push_str(&format!(" {name}={value}"));
                }
                command
            }
            _ => "!end".to_owned(),
        };
        self.ann.say(chat.as_str(), &command).await;
    }

    async fn restart(&mut self) {
        self.desk = None;
        self.desk = Some(MatrixDesk::connect(self.config.clone()).await.expect("reconnect"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_desk_passes_the_desk_contract() {
    let Some(synapse) = synapse::shared() else {
        return;
    };
    let mut harness = MatrixHarness::new(synapse).await;
    contract::run_all(&mut harness).await;
}

/// Follows a chat's events through the transfer state machine, as the server does.
struct Follow {
    events: DeskEvents,
    transfer: Transfer,
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
        }
    }

    async fn until(&mut self, what: &str, wanted: impl Fn(&DeskEvent) -> bool) -> DeskEvent {
        loop {
            let event = tokio::time::timeout(WAIT, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("no {what} within {WAIT:?}"))
                .unwrap_or_else(|| panic!("the stream ended before {what}"));
            let state = self.transfer.state();
            if let Err(error) = self.transfer.apply(event.clone(), Utc::now()) {
                panic!("{event:?} in state {state} is refused: {error}");
            }
            if wanted(&event) {
                return event;
            }
        }
    }
}

fn customer_message(id: &str, text: &str) -> CustomerMessage {
    CustomerMessage {
        id: MessageId::parse(id).unwrap(),
        at: Utc::now(),
        text: text.into(),
    }
}

/// Registers a bot and agents with this prefix and connects a desk whose `billing` queue is
/// the first two agents.
async fn billing_desk(synapse: &Synapse, prefix: &str, names: &[&str]) -> (MatrixDesk, Vec<Agent>) {
    let bot = synapse.register(&format!("{prefix}_bot"), PASSWORD, "Baton").await;
    let mut agents = Vec::new();
    for name in names {
        let user = synapse
            .register(&format!("{prefix}_{}", name.to_lowercase()), PASSWORD, name)
            .await;
        agents.push(Agent::login(&synapse.url, &user, PASSWORD, name).await);
    }
    let mut config = MatrixConfig::new(&synapse.url, &bot, PASSWORD);
    config.queues.insert(
        "billing".into(),
        QueueAgents {
            agents: agents.iter().take(2).map(|agent| agent.user.clone()).collect(),
            agents_room: None,
        },
    );
    (MatrixDesk::connect(config).await.expect("connect"), agents)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_whole_transfer_between_agents_and_back_to_the_assistant() {
    let Some(synapse) = synapse::shared() else {
        return;
    };
    let (desk, agents) = billing_desk(synapse, "whole", &["Ann", "Bob", "Carol"]).await;
    let [mut ann, mut bob, mut carol] = <[Agent; 3]>::try_from(agents).ok().unwrap();
    let request = sample_request("whole-1", QueueName::parse("billing").unwrap());
    let chat = desk.start_chat(request.clone()).await.expect("start_chat");
    let id = chat.id.clone();
    let room = id.as_str().to_owned();
    let mut follow = Follow::new(chat, &request);
    assert!(matches!(
        follow.until("queued", |_| true).await,
        DeskEvent::Queued { .. }
    ));

    // Both agents are invited and read the brief; the first to join gets the chat.
    ann.wait_for_invite(&room).await;
    bob.wait_for_invite(&room).await;
    ann.join(&room).await;
    let (brief, _) = ann.next_text_from(&room, desk.bot(), "m.notice").await;
    assert!(brief.contains("Robin") && brief.contains("billing"), "{brief}");
    let joined = follow
        .until("joined", |event| matches!(event, DeskEvent::AgentJoined(_)))
        .await;
    assert_eq!(
        joined,
        DeskEvent::AgentJoined(AgentProfile {
            id: AgentId::parse(&ann.user).unwrap(),
            name: "Ann".into()
        })
    );
    bob.wait_for_leave(&room).await;

    // Messages, typing and read receipts both ways.
    desk.send_to_agent(&id, customer_message("c-1", "my card is blocked"))
        .await
        .unwrap();
    let (body, customer_event) = ann.next_text_from(&room, desk.bot(), "m.text").await;
    assert_eq!(body, "Robin (customer): my card is blocked");
    ann.read(&room, &customer_event).await;
    let read = follow
        .until("read", |event| matches!(event, DeskEvent::AgentRead { .. }))
        .await;
    assert_eq!(
        read,
        DeskEvent::AgentRead {
            up_to: MessageId::parse("c-1").unwrap()
        }
    );
    ann.typing(&room, true).await;
    follow
        .until("typing", |event| event == &DeskEvent::AgentTyping(true))
        .await;
    let said = ann.say(&room, "Let me look.").await;
    let DeskEvent::AgentMessage(message) = follow
        .until("message", |event| matches!(event, DeskEvent::AgentMessage(_)))
        .await
    else {
        unreachable!()
    };
    assert_eq!(
        (message.text.as_str(), message.id.as_str()),
        ("Let me look.", said.as_str())
    );
    desk.customer_typing(&id, true).await.unwrap();
    let bot = desk.bot().to_owned();
    ann.wait_for(&room, "customer typing", |seen| {
        matches!(seen, Seen::Ephemeral { event, .. } if event["type"] == "m.typing"
            && event["content"]["user_ids"].as_array().is_some_and(|users| users.iter().any(|user| user == &bot)))
    })
    .await;
    desk.customer_read(&id, &message.id).await.unwrap();
    ann.wait_for(&room, "customer read", |seen| {
        matches!(seen, Seen::Ephemeral { event, .. } if event["type"] == "m.receipt"
            && event["content"][&said]["m.read"].get(&bot).is_some())
    })
    .await;

    // Ann passes the chat to Carol, who joins; Ann is removed.
    ann.say(&room, &format!("!transfer {}", carol.user)).await;
    let started = follow
        .until("transfer", |event| matches!(event, DeskEvent::TransferStarted(_)))
        .await;
    assert!(matches!(&started, DeskEvent::TransferStarted(profile) if profile.id.as_str() == carol.user));
    assert_eq!(follow.transfer.state(), TransferState::Offered);
    carol.wait_for_invite(&room).await;
    carol.join(&room).await;
    let joined = follow
        .until("joined", |event| matches!(event, DeskEvent::AgentJoined(_)))
        .await;
    assert!(matches!(&joined, DeskEvent::AgentJoined(profile) if profile.name == "Carol"));
    ann.wait_for_leave(&room).await;
    carol.say(&room, "Carol here, I can help.").await;
    let DeskEvent::AgentMessage(message) = follow
        .until("message", |event| matches!(event, DeskEvent::AgentMessage(_)))
        .await
    else {
        unreachable!()
    };
    assert_eq!(message.agent.id.as_str(), carol.user);

    // Carol hands the customer back to the assistant's billing action.
    carol.say(&room, "!handback billing").await;
    let ended = follow
        .until("ended", |event| matches!(event, DeskEvent::Ended { .. }))
        .await;
    assert_eq!(
        ended,
        DeskEvent::Ended {
            by: EndedBy::Agent,
            reason: EndReason::HandBack {
                resume: Some("billing".into()),
                variables: BTreeMap::new()
            }
        }
    );
    assert_eq!(follow.transfer.state(), TransferState::HandedBack);
    let end = tokio::time::timeout(WAIT, follow.events.recv())
        .await
        .expect("the stream ends");
    assert_eq!(end, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_chat_times_out_when_no_agent_joins() {
    let Some(synapse) = synapse::shared() else {
        return;
    };
    let bot = synapse.register("timeout_bot", PASSWORD, "Baton").await;
    let ann = synapse.register("timeout_ann", PASSWORD, "Ann").await;
    let mut ann = Agent::login(&synapse.url, &ann, PASSWORD, "Ann").await;
    let mut config = MatrixConfig::new(&synapse.url, &bot, PASSWORD);
    config.default = Some(QueueAgents {
        agents: vec![ann.user.clone()],
        agents_room: None,
    });
    config.join_timeout_secs = 2;
    let desk = MatrixDesk::connect(config).await.expect("connect");
    let request = sample_request("timeout-1", QueueName::parse("elsewhere").unwrap());
    let chat = desk.start_chat(request.clone()).await.expect("start_chat");
    let room = chat.id.as_str().to_owned();
    let mut follow = Follow::new(chat, &request);
    let ended = follow
        .until("ended", |event| matches!(event, DeskEvent::Ended { .. }))
        .await;
    assert_eq!(
        ended,
        DeskEvent::Ended {
            by: EndedBy::Desk,
            reason: EndReason::JoinTimedOut
        }
    );
    assert_eq!(follow.transfer.state(), TransferState::TimedOut);
    assert_eq!(ann.next_invite().await, room, "the only invitation is the chat's");
    ann.wait_for_leave(&room).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_chat_survives_a_homeserver_restart() {
    let Some(synapse) = synapse::own() else {
        return;
    };
    let (desk, agents) = billing_desk(&synapse, "restart", &["Ann"]).await;
    let [mut ann] = <[Agent; 1]>::try_from(agents).ok().unwrap();
    let request = sample_request("restart-1", QueueName::parse("billing").unwrap());
    let chat = desk.start_chat(request.clone()).await.expect("start_chat");
    let id = chat.id.clone();
    let room = id.as_str().to_owned();
    let mut follow = Follow::new(chat, &request);
    ann.wait_for_invite(&room).await;
    ann.join(&room).await;
    follow
        .until("joined", |event| matches!(event, DeskEvent::AgentJoined(_)))
        .await;

    synapse.stop();
    follow
        .until("disconnected", |event| {
            event == &DeskEvent::Error(DeskErrorKind::Disconnected)
        })
        .await;
    // What the customer writes while the homeserver is down waits for it, in order.
    desk.send_to_agent(&id, customer_message("c-1", "hello?"))
        .await
        .expect("held while the homeserver is down");
    desk.send_to_agent(&id, customer_message("c-2", "anyone?"))
        .await
        .expect("held behind the first");
    synapse.run();

    desk.send_to_agent(&id, customer_message("c-3", "are you there?"))
        .await
        .expect("send after the restart");
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let (body, _) = ann.next_text_from(&room, desk.bot(), "m.text").await;
        bodies.push(body);
    }
    assert_eq!(
        bodies,
        [
            "Robin (customer): hello?",
            "Robin (customer): anyone?",
            "Robin (customer): are you there?"
        ]
    );
    ann.say(&room, "Still here.").await;
    let DeskEvent::AgentMessage(message) = follow
        .until("message", |event| matches!(event, DeskEvent::AgentMessage(_)))
        .await
    else {
        unreachable!()
    };
    assert_eq!(message.text, "Still here.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_messages_sent_while_baton_was_down_arrive_once_after_resume() {
    let Some(synapse) = synapse::shared() else {
        return;
    };
    let bot = synapse.register("resume_bot", PASSWORD, "Baton").await;
    let ann = synapse.register("resume_ann", PASSWORD, "Ann").await;
    let mut ann = Agent::login(&synapse.url, &ann, PASSWORD, "Ann").await;
    let mut config = MatrixConfig::new(&synapse.url, &bot, PASSWORD);
    config.default = Some(QueueAgents {
        agents: vec![ann.user.clone()],
        agents_room: None,
    });
    let desk = MatrixDesk::connect(config.clone()).await.expect("connect");
    let request = sample_request("resume-1", QueueName::parse("billing").unwrap());
    let chat = desk.start_chat(request.clone()).await.expect("start_chat");
    let id = chat.id.clone();
    let room = id.as_str().to_owned();
    let mut follow = Follow::new(chat, &request);
    ann.wait_for_invite(&room).await;
    ann.join(&room).await;
    follow
        .until("joined", |event| matches!(event, DeskEvent::AgentJoined(_)))
        .await;
    ann.say(&room, "before").await;
    follow
        .until("message", |event| matches!(event, DeskEvent::AgentMessage(_)))
        .await;
    // Lets the desk store its position after the batch it delivered.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    drop(desk);
    ann.say(&room, "while you were away").await;
    ann.say(&room, "and again").await;
    let desk = MatrixDesk::connect(config).await.expect("reconnect");
    let resumed = desk
        .resume(ChatResume {
            chat: id.clone(),
            request: request.clone(),
            queued_at: follow.transfer.opened_at(),
            agent: Some(AgentId::parse(&ann.user).unwrap()),
            state: None,
        })
        .await
        .expect("resume");
    follow.events = resumed.events;
    let mut texts = Vec::new();
    for _ in 0..2 {
        let DeskEvent::AgentMessage(message) = follow
            .until("message", |event| matches!(event, DeskEvent::AgentMessage(_)))
            .await
        else {
            unreachable!()
        };
        texts.push(message.text);
    }
    assert_eq!(texts, ["while you were away", "and again"]);
    ann.say(&room, "after").await;
    let DeskEvent::AgentMessage(message) = follow
        .until("message", |event| matches!(event, DeskEvent::AgentMessage(_)))
        .await
    else {
        unreachable!()
    };
    assert_eq!(message.text, "after", "nothing delivered twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_unexpected_events_and_commands_do_not_break_the_chat() {
    let Some(synapse) = synapse::shared() else {
        return;
    };
    let (desk, agents) = billing_desk(synapse, "odd", &["Ann"]).await;
    let [mut ann] = <[Agent; 1]>::try_from(agents).ok().unwrap();
    let request = sample_request("odd-1", QueueName::parse("billing").unwrap());
    let chat = desk.start_chat(request.clone()).await.expect("start_chat");
    let id = chat.id.clone();
    let room = id.as_str().to_owned();
    let mut follow = Follow::new(chat, &request);
    ann.wait_for_invite(&room).await;
    ann.join(&room).await;
    follow
        .until("joined", |event| matches!(event, DeskEvent::AgentJoined(_)))
        .await;

    for content in [
        json!({}),
        json!({"msgtype": "m.text"}),
        json!({"msgtype": "m.text", "body": 42}),
        json!({"msgtype": "m.image", "body": "cat.png", "url": "mxc://nowhere/x"}),
        json!({"msgtype": ["m.text"], "body": "odd"}),
        json!({"msgtype": "m.text", "body": "!transfer"}),
        json!({"msgtype": "m.text", "body": "!transfer not-a-user"}),
        json!({"msgtype": "m.text", "body": "!handback a b c"}),
        json!({"msgtype": "m.text", "body": "!frobnicate"}),
        json!({"msgtype": "m.text", "body": "!"}),
    ] {
        ann.send_event(&room, "m.room.message", content).await;
    }
    assert!(
        ann.send_event(&room, "org.example.custom", json!({"anything": [1, 2, 3]}))
            .await
    );
    ann.read(&room, "$not-an-event-here").await;
    let invalid = desk
        .customer_read(&id, &MessageId::parse("not-an-event").unwrap())
        .await;
    assert!(invalid.is_err(), "{invalid:?}");

    // The chat still works, and none of the above reached the customer.
    ann.say(&room, "a real message").await;
    let DeskEvent::AgentMessage(message) = follow
        .until("message", |event| matches!(event, DeskEvent::AgentMessage(_)))
        .await
    else {
        unreachable!()
    };
    assert_eq!(message.text, "a real message");
    let (help, _) = ann.next_text_from(&room, desk.bot(), "m.notice").await;
    assert!(!help.is_empty());
    desk.end_chat(&id, EndReason::CustomerLeft).await.expect("end_chat");
    let end = tokio::time::timeout(WAIT, follow.events.recv())
        .await
        .expect("the stream ends");
    assert_eq!(end, None);
    let closed = ann
        .wait_for(&room, "the customer-left notice", |seen| {
            matches!(seen, Seen::Timeline { event, .. } if event["content"]["body"].as_str().is_some_and(|body| body.starts_with("The customer left")))
        })
        .await;
    assert!(matches!(closed, Seen::Timeline { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_agent_leaving_the_room_ends_the_chat() {
    let Some(synapse) = synapse::shared() else {
        return;
    };
    let (desk, agents) = billing_desk(synapse, "leave", &["Ann"]).await;
    let [mut ann] = <[Agent; 1]>::try_from(agents).ok().unwrap();
    let request = sample_request("leave-1", QueueName::parse("billing").unwrap());
    let chat = desk.start_chat(request.clone()).await.expect("start_chat");
    let room = chat.id.as_str().to_owned();
    let mut follow = Follow::new(chat, &request);
    ann.wait_for_invite(&room).await;
    ann.join(&room).await;
    follow
        .until("joined", |event| matches!(event, DeskEvent::AgentJoined(_)))
        .await;
    ann.leave(&room).await;
    follow.until("left", |event| event == &DeskEvent::AgentLeft).await;
    let ended = follow
        .until("ended", |event| matches!(event, DeskEvent::Ended { .. }))
        .await;
    assert!(matches!(
        ended,
        DeskEvent::Ended {
            by: EndedBy::Agent,
            reason: EndReason::Other { .. }
        }
    ));
    assert_eq!(follow.transfer.state(), TransferState::Ended);
}

/// A homeserver that answers every request with `body` and `status`.
async fn fake_homeserver(status: u16, body: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buffer = vec![0; 64 * 1024];
                let _ = stream.read(&mut buffer).await;
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    url
}

#[tokio::test]
async fn connect_fails_cleanly_on_odd_homeserver_answers() {
    let cases = [
        (200, "not json"),
        (200, "[1, 2, 3]"),
        (200, "{}"),
        (200, r#"{"access_token": 42}"#),
        (403, r#"{"errcode": "M_FORBIDDEN", "error": "no"}"#),
        (500, "<html>oops</html>"),
        (429, r#"{"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 1}"#),
    ];
    for (status, body) in cases {
        let url = fake_homeserver(status, body).await;
        let mut config = MatrixConfig::new(&url, "@baton:hs", "pw");
        config.default = Some(QueueAgents::default());
        let connected = MatrixDesk::connect(config).await;
        assert!(connected.is_err(), "{status} {body}");
    }
    let unreachable = MatrixConfig::new("http://127.0.0.1:9", "@baton:hs", "pw");
    assert!(MatrixDesk::connect(unreachable).await.is_err());
    let mut no_secret = MatrixConfig::new("http://127.0.0.1:9", "@baton:hs", "pw");
    no_secret.password = None;
    assert!(matches!(
        MatrixDesk::connect(no_secret).await,
        Err(DeskError::Config(_))
    ));
}
