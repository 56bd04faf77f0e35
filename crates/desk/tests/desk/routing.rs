//! Routing on the pure desk state: who is offered what, when, and what customers and agents hear.
//! Time is a plain value here; nothing runs.

use std::collections::BTreeMap;

use baton_desk::contract::sample_request;
use baton_desk::own::state::Output;
use baton_desk::own::*;
use baton_desk::*;
use chrono::{DateTime, TimeDelta, TimeZone, Utc, Weekday};

/// Wednesday 2026-11-25, 10:00 UTC.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
}

fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

fn id(raw: &str) -> AgentId {
    AgentId::parse(raw).unwrap()
}

fn chat(raw: &str) -> ChatId {
    ChatId::parse(raw).unwrap()
}

fn queue(raw: &str) -> QueueName {
    QueueName::parse(raw).unwrap()
}

fn agent(name: &str, queues: &[&str], capacity: u32) -> AgentConfig {
    AgentConfig {
        id: id(name),
        name: name.to_uppercase(),
        queues: queues.iter().map(|q| queue(q)).collect(),
        capacity,
    }
}

fn desk(agents: Vec<AgentConfig>, queues: Vec<QueueConfig>) -> DeskState {
    let config = OwnDeskConfig {
        settings: DeskSettings::default(),
        agents,
        queues,
    };
    DeskState::new(config, t0())
}

/// Outputs as short lines: `chat c1: queued #1 300s`, `ada: offer c1`.
fn render(outputs: &[Output]) -> Vec<String> {
    outputs
        .iter()
        .map(|output| match output {
            Output::Chat(chat, event) => format!("{chat}: {}", render_event(event)),
            Output::Agent(agent, event) => format!("{agent}: {}", render_agent_event(event)),
            Output::Closed(chat) => format!("{chat}: closed"),
        })
        .collect()
}

fn render_event(event: &DeskEvent) -> String {
    match event {
        DeskEvent::Queued { position, wait, note } => {
            let mut line = format!("queued #{}", position.unwrap_or(0));
            if let Some(wait) = wait {
                line.push_str(&format!(" {}s", wait.as_secs()));
            }
            if let Some(note) = note {
                line.push_str(&format!(" ({note})"));
            }
            line
        }
        DeskEvent::Offered(agent) => format!("offered {}", agent.id),
        DeskEvent::AgentJoined(agent) => format!("joined {}", agent.id),
        DeskEvent::TransferStarted(agent) => format!("transfer to {}", agent.id),
        DeskEvent::AgentMessage(message) => format!("agent says {:?}", message.text),
        DeskEvent::Ended { by, reason } => format!("ended by {by:?}: {reason:?}"),
        other => format!("{other:?}"),
    }
}

fn render_agent_event(event: &AgentEvent) -> String {
    match event {
        AgentEvent::Offer {
            chat,
            from_agent,
            waiting_messages,
            ..
        } => {
            let mut line = format!("offer {chat}");
            if let Some(from) = from_agent {
                line.push_str(&format!(" from {}", from.id));
            }
            if !waiting_messages.is_empty() {
                line.push_str(&format!(" with {} messages", waiting_messages.len()));
            }
            line
        }
        AgentEvent::OfferWithdrawn { chat, reason } => format!("withdrawn {chat} {reason:?}"),
        AgentEvent::QueueChanged { queue, waiting, .. } => format!("queue {queue} waiting {waiting}"),
        AgentEvent::ChatEnded { chat, by, .. } => format!("ended {chat} by {by:?}"),
        AgentEvent::CustomerMessage { chat, message } => format!("customer in {chat}: {:?}", message.text),
        other => format!("{other:?}"),
    }
}

/// Starts a chat on `queue` and settles; returns everything said.
fn start(state: &mut DeskState, name: &str, on: &str, now: DateTime<Utc>) -> Vec<String> {
    let mut outputs = state
        .start_chat(chat(name), sample_request(name, queue(on)), now)
        .unwrap();
    outputs.extend(state.settle(now));
    render(&outputs)
}

fn online(state: &mut DeskState, name: &str, now: DateTime<Utc>) -> Vec<String> {
    let mut outputs = state.set_presence(&id(name), Presence::Online, now).unwrap();
    outputs.extend(state.settle(now));
    render(&outputs)
}

fn offers(lines: &[String]) -> Vec<&String> {
    lines.iter().filter(|line| line.contains(": offer ")).collect()
}

#[test]
fn offers_go_to_the_longest_idle_available_agent() {
    struct Case {
        name: &'static str,
        agents: Vec<AgentConfig>,
        /// (agent, presence, seconds after t0 it was set)
        presence: Vec<(&'static str, Presence, i64)>,
        /// Chats already running: (chat, agent).
        busy: Vec<(&'static str, &'static str)>,
        expected: &'static str,
    }
    let cases = [
        Case {
            name: "longest idle first",
            agents: vec![agent("ada", &[], 1), agent("bob", &[], 1)],
            presence: vec![("bob", Presence::Online, 1), ("ada", Presence::Online, 2)],
            busy: vec![],
            expected: "bob",
        },
        Case {
            name: "away agents are skipped",
            agents: vec![agent("ada", &[], 1), agent("bob", &[], 1)],
            presence: vec![
                ("ada", Presence::Online, 1),
                ("bob", Presence::Online, 2),
                ("ada", Presence::Away, 3),
            ],
            busy: vec![],
            expected: "bob",
        },
        Case {
            name: "agents at capacity are skipped",
            agents: vec![agent("ada", &[], 1), agent("bob", &[], 1)],
            presence: vec![("ada", Presence::Online, 1), ("bob", Presence::Online, 2)],
            busy: vec![("x1", "ada")],
            expected: "bob",
        },
        Case {
            name: "below capacity, a busy agent still takes chats",
            agents: vec![agent("ada", &[], 2)],
            presence: vec![("ada", Presence::Online, 1)],
            busy: vec![("x1", "ada")],
            expected: "ada",
        },
        Case {
            name: "an idle agent before a busy one with room",
            agents: vec![agent("ada", &[], 3), agent("bob", &[], 3)],
            presence: vec![("ada", Presence::Online, 1), ("bob", Presence::Online, 2)],
            busy: vec![("x1", "ada")],
            expected: "bob",
        },
        Case {
            name: "agents of other queues are skipped",
            agents: vec![agent("ada", &["sales"], 1), agent("bob", &["billing"], 1)],
            presence: vec![("ada", Presence::Online, 1), ("bob", Presence::Online, 2)],
            busy: vec![],
            expected: "bob",
        },
        Case {
            name: "an agent without queues serves every queue",
            agents: vec![agent("ada", &["sales"], 1), agent("cy", &[], 1)],
            presence: vec![("ada", Presence::Online, 1), ("cy", Presence::Online, 2)],
            busy: vec![],
            expected: "cy",
        },
        Case {
            name: "nobody online: nobody offered",
            agents: vec![agent("ada", &[], 1)],
            presence: vec![("ada", Presence::Online, 1), ("ada", Presence::Offline, 2)],
            busy: vec![],
            expected: "",
        },
    ];
    for case in cases {
        let mut state = desk(case.agents, vec![]);
        for (name, presence, at) in &case.presence {
            state.set_presence(&id(name), *presence, t0() + secs(*at)).unwrap();
            state.settle(t0() + secs(*at));
        }
        for (busy_chat, busy_agent) in &case.busy {
            // Resume puts a chat straight into the agent's hands, as after a restart.
            let resume = ChatResume {
                chat: chat(busy_chat),
                request: sample_request(busy_chat, queue("billing")),
                queued_at: t0(),
                agent: Some(id(busy_agent)),
                state: None,
            };
            state.resume(resume, t0() + secs(5)).unwrap();
        }
        let lines = start(&mut state, "c1", "billing", t0() + secs(10));
        let offered: Vec<String> = offers(&lines)
            .iter()
            .map(|line| line.split(':').next().unwrap().to_owned())
            .collect();
        assert_eq!(offered.join(","), case.expected, "{}: {lines:#?}", case.name);
    }
}

#[test]
fn one_round_of_offers_respects_capacity() {
    // Three customers wait; Ada (two chats at once) comes online: two offers, one still waits.
    let mut state = desk(vec![agent("ada", &[], 2)], vec![]);
    for name in ["c1", "c2", "c3"] {
        start(&mut state, name, "billing", t0());
    }
    let lines = online(&mut state, "ada", t0() + secs(1));
    assert_eq!(offers(&lines), ["ada: offer c1", "ada: offer c2"]);
    assert!(lines.contains(&"c3: queued #1 150s".to_owned()), "{lines:#?}");
    let pending: Vec<String> = state
        .pending_offers(&id("ada"))
        .iter()
        .map(|event| match event {
            AgentEvent::Offer { chat, .. } => chat.to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(pending, ["c1", "c2"]);
}

#[test]
fn resuming_a_chat_twice_changes_nothing() {
    let mut state = desk(vec![agent("ada", &[], 1)], vec![]);
    let resume = ChatResume {
        chat: chat("c1"),
        request: sample_request("c1", queue("billing")),
        queued_at: t0(),
        agent: Some(id("ada")),
        state: None,
    };
    state.resume(resume.clone(), t0()).unwrap();
    assert!(state.resume(resume, t0()).unwrap().is_empty());
    assert_eq!(state.active_chats(&id("ada")), [chat("c1")]);
}

#[test]
fn an_offer_not_accepted_in_time_goes_to_the_next_agent() {
    let mut state = desk(vec![agent("ada", &[], 1), agent("bob", &[], 1)], vec![]);
    online(&mut state, "ada", t0());
    online(&mut state, "bob", t0() + secs(1));
    let lines = start(&mut state, "c1", "billing", t0() + secs(2));
    assert_eq!(offers(&lines), ["ada: offer c1"]);
    let accept_timeout = DeskSettings::default().accept_timeout.as_secs() as i64;

    // Nothing is due before the deadline.
    let deadline = state.next_deadline(t0() + secs(3)).unwrap();
    assert_eq!(deadline, t0() + secs(2 + accept_timeout));
    assert!(state.settle(deadline - secs(1)).is_empty());

    let lines = render(&state.settle(deadline));
    assert_eq!(
        lines,
        [
            "ada: withdrawn c1 TimedOut",
            "c1: queued #1 150s (the agent did not answer in time; offering the next agent)",
            "bob: offer c1",
            "c1: offered bob",
        ]
    );
    // Bob lets it expire too: nobody else is left, the chat waits in line.
    let lines = render(&state.settle(deadline + secs(accept_timeout)));
    assert_eq!(
        lines,
        [
            "bob: withdrawn c1 TimedOut",
            "c1: queued #1 150s (the agent did not answer in time; offering the next agent)",
            "ada: queue billing waiting 1",
            "bob: queue billing waiting 1",
        ]
    );
}

#[test]
fn a_declined_offer_goes_to_the_next_agent_and_accept_joins() {
    let mut state = desk(vec![agent("ada", &[], 1), agent("bob", &[], 1)], vec![]);
    online(&mut state, "ada", t0());
    online(&mut state, "bob", t0() + secs(1));
    start(&mut state, "c1", "billing", t0() + secs(2));
    let now = t0() + secs(3);
    let mut outputs = state.decline(&id("ada"), &chat("c1"), now).unwrap();
    outputs.extend(state.settle(now));
    assert_eq!(offers(&render(&outputs)), ["bob: offer c1"]);
    assert!(matches!(
        state.accept(&id("ada"), &chat("c1"), now),
        Err(DeskError::NotOffered { .. })
    ));
    let lines = render(&state.accept(&id("bob"), &chat("c1"), now).unwrap());
    assert_eq!(lines, ["c1: joined bob"]);
    assert_eq!(state.active_chats(&id("bob")), [chat("c1")]);
}

#[test]
fn queue_positions_and_waits_are_pushed_as_they_change() {
    let mut state = desk(vec![agent("ada", &[], 1)], vec![]);
    online(&mut state, "ada", t0());
    start(&mut state, "c1", "billing", t0() + secs(1));
    let lines = start(&mut state, "c2", "billing", t0() + secs(2));
    assert_eq!(lines, ["c2: queued #1 300s", "ada: queue billing waiting 1"]);
    let lines = start(&mut state, "c3", "billing", t0() + secs(3));
    assert_eq!(lines, ["c3: queued #2 600s", "ada: queue billing waiting 2"]);

    // A second agent halves the wait; c2 is offered to her at once.
    state.upsert_agent(agent("bob", &[], 1), t0());
    let lines = online(&mut state, "bob", t0() + secs(4));
    assert_eq!(
        lines,
        [
            "bob: queue billing waiting 2",
            "bob: queue default waiting 0",
            "bob: offer c2",
            "c2: offered bob",
            "c3: queued #1 150s",
            "ada: queue billing waiting 1",
            "bob: queue billing waiting 1"
        ]
    );

    // The customer in front cancels: the one behind moves up.
    let now = t0() + secs(5);
    state.accept(&id("ada"), &chat("c1"), now).unwrap();
    state.accept(&id("bob"), &chat("c2"), now).unwrap();
    start(&mut state, "c4", "billing", now);
    let mut outputs = state.end_chat(&chat("c3"), EndReason::Cancelled, now).unwrap();
    outputs.extend(state.settle(now));
    assert_eq!(
        render(&outputs),
        [
            "c3: closed",
            "c4: queued #1 150s",
            "ada: queue billing waiting 1",
            "bob: queue billing waiting 1"
        ]
    );

    // Ada finishes: c4 is hers; the measured chat length (a few seconds) now drives the estimate.
    let mut outputs = state
        .end(&id("ada"), &chat("c1"), Disposition::Resolved, now + secs(60))
        .unwrap();
    outputs.extend(state.settle(now + secs(60)));
    assert_eq!(
        render(&outputs)[..3],
        ["c1: ended by Agent: Resolved", "c1: closed", "ada: offer c4"]
    );
}

#[test]
fn messages_sent_while_waiting_travel_with_the_offer() {
    let mut state = desk(vec![agent("ada", &[], 1)], vec![]);
    start(&mut state, "c1", "billing", t0());
    let message = CustomerMessage {
        id: MessageId::parse("m1").unwrap(),
        at: t0(),
        text: "hello?".into(),
    };
    assert!(state.customer_message(&chat("c1"), message).unwrap().is_empty());
    let lines = online(&mut state, "ada", t0() + secs(1));
    assert!(
        lines.contains(&"ada: offer c1 with 1 messages".to_owned()),
        "{lines:#?}"
    );
}

#[test]
fn an_offer_carries_only_the_last_of_many_messages_sent_while_waiting() {
    let mut state = desk(vec![agent("ada", &[], 1)], vec![]);
    start(&mut state, "c1", "billing", t0());
    let n_sent = baton_desk::own::state::MAX_WAITING_MESSAGES + 50;
    for n in 0..n_sent {
        let message = CustomerMessage {
            id: MessageId::parse(&format!("m{n}")).unwrap(),
            at: t0(),
            text: format!("hello {n}?"),
        };
        state.customer_message(&chat("c1"), message).unwrap();
    }
    let outputs = state
        .set_presence(&id("ada"), Presence::Online, t0() + secs(1))
        .unwrap();
    let mut outputs = outputs;
    outputs.extend(state.settle(t0() + secs(1)));
    let offered = outputs.iter().find_map(|output| match output {
        Output::Agent(_, AgentEvent::Offer { waiting_messages, .. }) => Some(waiting_messages.clone()),
        _ => None,
    });
    let offered = offered.expect("an offer");
    assert_eq!(offered.len(), baton_desk::own::state::MAX_WAITING_MESSAGES);
    assert_eq!(
        offered.last().unwrap().text,
        format!("hello {}?", n_sent - 1),
        "the newest are kept"
    );
    assert_eq!(offered[0].text, "hello 50?");
}

fn office_hours(policy: OfflinePolicy) -> QueueConfig {
    QueueConfig {
        name: queue("billing"),
        hours: Some(
            BusinessHours::parse(BusinessHoursSpec {
                time_zone: "Europe/Berlin".into(),
                weekly: vec![OpeningSpec {
                    days: vec![Weekday::Mon, Weekday::Wed],
                    open: "09:00".into(),
                    close: "17:00".into(),
                }],
            })
            .unwrap(),
        ),
        offline_policy: policy,
    }
}

#[test]
fn availability_follows_agents_and_business_hours() {
    // 10:00 UTC is 11:00 in Berlin, a Wednesday: open. 18:00 UTC is 19:00: closed.
    let evening = t0() + TimeDelta::hours(8);
    struct Case {
        name: &'static str,
        ada_online: bool,
        at: DateTime<Utc>,
        online: Online,
    }
    let cases = [
        Case {
            name: "open, agent online",
            ada_online: true,
            at: t0(),
            online: Online::Yes,
        },
        Case {
            name: "open, nobody online",
            ada_online: false,
            at: t0(),
            online: Online::No,
        },
        Case {
            name: "closed, agent online",
            ada_online: true,
            at: evening,
            online: Online::No,
        },
    ];
    for case in cases {
        let mut state = desk(
            vec![agent("ada", &[], 2)],
            vec![office_hours(OfflinePolicy::LeaveMessage)],
        );
        if case.ada_online {
            online(&mut state, "ada", t0());
        }
        let availability = state.availability(&queue("billing"), case.at);
        assert_eq!(availability.online, case.online, "{}", case.name);
        let expected_policy = (case.online == Online::No).then_some(OfflinePolicy::LeaveMessage);
        assert_eq!(availability.offline_policy, expected_policy, "{}", case.name);
        assert_eq!(availability.position, Some(1));
        assert_eq!(
            availability.estimated_wait.is_some(),
            case.online == Online::Yes,
            "{}",
            case.name
        );
    }
}

#[test]
fn offline_policies_decide_what_start_chat_does() {
    let evening = t0() + TimeDelta::hours(8);
    for policy in [
        OfflinePolicy::WaitInQueue,
        OfflinePolicy::LeaveMessage,
        OfflinePolicy::BackToAssistant,
    ] {
        let mut state = desk(vec![agent("ada", &[], 2)], vec![office_hours(policy)]);
        online(&mut state, "ada", t0());
        let result = state.start_chat(chat("c1"), sample_request("c1", queue("billing")), evening);
        match policy {
            OfflinePolicy::WaitInQueue => {
                let lines = render(&result.unwrap());
                assert_eq!(lines, ["c1: queued #1 (no agent is available yet)"]);
                // Closed: no offer although Ada is online; the desk re-checks the hours.
                assert!(offers(&render(&state.settle(evening))).is_empty());
                assert_eq!(state.next_deadline(evening), Some(evening + secs(60)));
            }
            _ => assert_eq!(
                result.unwrap_err(),
                DeskError::Unavailable {
                    queue: queue("billing"),
                    policy
                }
            ),
        }
    }
}

#[test]
fn a_waiting_queue_is_offered_when_business_hours_begin() {
    let settings = DeskSettings {
        join_timeout: std::time::Duration::from_secs(24 * 3600),
        ..DeskSettings::default()
    };
    let config = OwnDeskConfig {
        settings,
        agents: vec![agent("ada", &[], 1)],
        queues: vec![office_hours(OfflinePolicy::WaitInQueue)],
    };
    // Wednesday 07:30 UTC = 08:30 Berlin: closed for another half hour.
    let early = Utc.with_ymd_and_hms(2026, 11, 25, 7, 30, 0).unwrap();
    let mut state = DeskState::new(config, early);
    online(&mut state, "ada", early);
    start(&mut state, "c1", "billing", early);
    assert!(offers(&render(&state.settle(early + TimeDelta::minutes(29)))).is_empty());
    assert_eq!(
        offers(&render(&state.settle(early + TimeDelta::minutes(30)))),
        ["ada: offer c1"]
    );
}

#[test]
fn no_agent_joining_in_time_ends_the_chat() {
    let mut state = desk(vec![agent("ada", &[], 1)], vec![]);
    online(&mut state, "ada", t0());
    start(&mut state, "c1", "billing", t0());
    let join_timeout = DeskSettings::default().join_timeout.as_secs() as i64;
    // Ada keeps letting offers expire; the join deadline is what ends it.
    let lines = render(&state.settle(t0() + secs(join_timeout)));
    assert_eq!(
        lines,
        [
            "ada: withdrawn c1 TimedOut",
            "c1: ended by Desk: JoinTimedOut",
            "c1: closed"
        ]
    );
}

#[test]
fn agents_pass_chats_to_an_agent_or_a_queue() {
    let mut state = desk(
        vec![agent("ada", &[], 1), agent("bob", &[], 1), agent("cy", &["sales"], 1)],
        vec![],
    );
    online(&mut state, "ada", t0());
    start(&mut state, "c1", "billing", t0());
    state.accept(&id("ada"), &chat("c1"), t0()).unwrap();

    // To an agent who is offline: refused, nothing changes.
    let error = state
        .transfer(&id("ada"), &chat("c1"), TransferTarget::Agent(id("bob")), t0())
        .unwrap_err();
    assert_eq!(error, DeskError::AgentBusy(id("bob")));

    online(&mut state, "bob", t0());
    let now = t0() + secs(5);
    let mut outputs = state
        .transfer(&id("ada"), &chat("c1"), TransferTarget::Agent(id("bob")), now)
        .unwrap();
    outputs.extend(state.settle(now));
    assert_eq!(render(&outputs), ["c1: transfer to bob", "bob: offer c1 from ada"]);
    assert!(state.active_chats(&id("ada")).is_empty());
    assert_eq!(
        render(&state.accept(&id("bob"), &chat("c1"), now).unwrap()),
        ["c1: joined bob"]
    );

    // To a queue: back in line there, offered to that queue's agents.
    // Not to the agent who passed it on, nor to one who is away; to the sales agent.
    online(&mut state, "cy", now);
    state.set_presence(&id("ada"), Presence::Away, now).unwrap();
    let mut outputs = state
        .transfer(&id("bob"), &chat("c1"), TransferTarget::Queue(queue("sales")), now)
        .unwrap();
    outputs.extend(state.settle(now));
    let lines = render(&outputs);
    assert_eq!(lines[0], "c1: queued #1 150s (transferred to queue sales)");
    assert!(lines.contains(&"cy: offer c1".to_owned()), "{lines:#?}");
    let offer = outputs.iter().find_map(|output| match output {
        Output::Agent(_, AgentEvent::Offer { request, .. }) => Some(request),
        _ => None,
    });
    assert_eq!(
        offer.unwrap().routing.queue,
        Some(queue("sales")),
        "the offer names the new queue"
    );
}

#[test]
fn only_the_agent_in_the_chat_may_act_in_it() {
    let mut state = desk(vec![agent("ada", &[], 1), agent("bob", &[], 1)], vec![]);
    online(&mut state, "ada", t0());
    start(&mut state, "c1", "billing", t0());
    state.accept(&id("ada"), &chat("c1"), t0()).unwrap();
    let not_in_chat = DeskError::NotInChat {
        chat: chat("c1"),
        agent: id("bob"),
    };
    assert_eq!(
        state
            .agent_message(&id("bob"), &chat("c1"), "hi".into(), t0())
            .unwrap_err(),
        not_in_chat
    );
    assert_eq!(
        state
            .end(&id("bob"), &chat("c1"), Disposition::Resolved, t0())
            .unwrap_err(),
        not_in_chat
    );
    let (message, _) = state.agent_message(&id("ada"), &chat("c1"), "hi".into(), t0()).unwrap();
    assert_eq!(message.agent.id, id("ada"));
    let variables = BTreeMap::from([("paid".to_owned(), serde_json::json!(true))]);
    let lines = render(
        &state
            .end(
                &id("ada"),
                &chat("c1"),
                Disposition::HandBack {
                    resume: Some("pay_bill".into()),
                    variables,
                },
                t0(),
            )
            .unwrap(),
    );
    assert!(lines[0].starts_with("c1: ended by Agent: HandBack"), "{lines:#?}");
}

#[test]
fn configuration_reads_from_json_with_defaults() {
    let json = r#"{
        "settings": { "accept_timeout": 20 },
        "agents": [{ "id": "ada", "name": "Ada" }],
        "queues": [{ "name": "billing", "offline_policy": "leave_message",
                     "hours": { "time_zone": "Europe/Berlin", "weekly": [{ "days": ["mon", "fri"], "open": "09:00", "close": "17:00" }] } }]
    }"#;
    let config: OwnDeskConfig = serde_json::from_str(json).unwrap();
    assert_eq!(config.settings.accept_timeout.as_secs(), 20);
    assert_eq!(config.settings.join_timeout, DeskSettings::default().join_timeout);
    assert_eq!(config.agents[0].capacity, 3);
    assert!(config.agents[0].queues.is_empty());
    assert_eq!(config.queues[0].offline_policy, OfflinePolicy::LeaveMessage);
    let bad = r#"{ "queues": [{ "name": "billing", "hours": { "time_zone": "Nowhere/Land", "weekly": [] } }] }"#;
    let error = serde_json::from_str::<OwnDeskConfig>(bad).unwrap_err().to_string();
    assert!(error.contains("unknown time zone"), "{error}");
}

#[test]
fn stepping_away_or_a_leaving_customer_withdraws_an_offer() {
    let mut state = desk(vec![agent("ada", &[], 1), agent("bob", &[], 1)], vec![]);
    online(&mut state, "ada", t0());
    online(&mut state, "bob", t0() + secs(1));
    start(&mut state, "c1", "billing", t0() + secs(2));
    let now = t0() + secs(3);
    let mut outputs = state.set_presence(&id("ada"), Presence::Away, now).unwrap();
    outputs.extend(state.settle(now));
    let lines = render(&outputs);
    assert_eq!(lines[0], "ada: withdrawn c1 AgentOffline");
    assert_eq!(offers(&lines), ["bob: offer c1"]);

    let lines = render(&state.end_chat(&chat("c1"), EndReason::Cancelled, now).unwrap());
    assert_eq!(lines, ["bob: withdrawn c1 CustomerLeft", "c1: closed"]);
    assert!(state.pending_offers(&id("bob")).is_empty());
}
