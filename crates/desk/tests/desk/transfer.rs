//! The transfer state machine: every state × every input, as one reviewed grid, plus the
//! properties the grid cannot show (entries, refusals change nothing, coverage of the diagram).

use std::collections::{BTreeMap, BTreeSet};

use baton_desk::transfer::is_legal;
use baton_desk::*;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use expect_test::expect;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()
}

fn profile(id: &str) -> AgentProfile {
    AgentProfile {
        id: AgentId::parse(id).unwrap(),
        name: id.to_uppercase(),
    }
}

fn queued() -> DeskEvent {
    DeskEvent::Queued {
        position: Some(2),
        wait: None,
        note: None,
    }
}

fn ended(by: EndedBy, reason: EndReason) -> TransferInput {
    DeskEvent::Ended { by, reason }.into()
}

/// Every input the machine knows, with a short column name.
fn inputs() -> Vec<(&'static str, TransferInput)> {
    vec![
        ("queued", queued().into()),
        ("offered", DeskEvent::Offered(profile("ada")).into()),
        ("joined", DeskEvent::AgentJoined(profile("ada")).into()),
        ("joined_other", DeskEvent::AgentJoined(profile("bob")).into()),
        ("transfer_started", DeskEvent::TransferStarted(profile("bob")).into()),
        ("typing", DeskEvent::AgentTyping(true).into()),
        ("left", DeskEvent::AgentLeft.into()),
        ("ended_resolved", ended(EndedBy::Agent, EndReason::Resolved)),
        (
            "ended_hand_back",
            ended(
                EndedBy::Agent,
                EndReason::HandBack {
                    resume: None,
                    variables: BTreeMap::new(),
                },
            ),
        ),
        ("ended_cancelled", ended(EndedBy::Customer, EndReason::Cancelled)),
        ("ended_left", ended(EndedBy::Customer, EndReason::CustomerLeft)),
        ("ended_join_timeout", ended(EndedBy::Desk, EndReason::JoinTimedOut)),
        ("error_connecting", DeskEvent::Error(DeskErrorKind::Connecting).into()),
        (
            "error_disconnected",
            DeskEvent::Error(DeskErrorKind::Disconnected).into(),
        ),
        (
            "unavailable",
            TransferCommand::MarkUnavailable {
                policy: OfflinePolicy::WaitInQueue,
            }
            .into(),
        ),
        (
            "leave_message",
            TransferCommand::LeaveMessage { ticket: "t-1".into() }.into(),
        ),
        ("return", TransferCommand::ReturnToAssistant.into()),
        ("cancel", TransferCommand::Cancel.into()),
        ("abandon", TransferCommand::Abandon.into()),
        ("time_out", TransferCommand::TimeOut.into()),
        ("fail", TransferCommand::Fail { error: "boom".into() }.into()),
    ]
}

fn input(name: &str) -> TransferInput {
    inputs().into_iter().find(|(n, _)| *n == name).unwrap().1
}

/// A transfer driven into `state` along the diagram's arrows.
fn reach(state: TransferState) -> Transfer {
    use TransferState::*;
    let path: &[&str] = match state {
        Requested => &[],
        Queued => &["queued"],
        Offered => &["queued", "offered"],
        Active => &["queued", "offered", "joined"],
        Unavailable => &["unavailable"],
        Ended => &["queued", "offered", "joined", "ended_resolved"],
        HandedBack => &["queued", "offered", "joined", "ended_hand_back"],
        Cancelled => &["queued", "cancel"],
        Abandoned => &["queued", "abandon"],
        TimedOut => &["queued", "time_out"],
        MessageLeft => &["unavailable", "leave_message"],
        Returned => &["unavailable", "return"],
        Failed => &["fail"],
    };
    let (mut transfer, _) = Transfer::request(
        TransferId::parse("t1").unwrap(),
        SessionId::parse("s1").unwrap(),
        None,
        t0(),
    );
    for step in path {
        transfer.apply(input(step), t0()).unwrap();
    }
    assert_eq!(transfer.state(), state);
    transfer
}

/// The grid: for each state (row) and input (column), the state after, `=` for "accepted, no
/// transition", or `✗` for refused. Reviewed by hand against the diagram and the extra arrows in
/// the documentation of `baton_desk::transfer`.
#[test]
fn every_state_and_input() {
    let mut grid = String::new();
    for state in TransferState::ALL {
        grid.push_str(&format!("{}:\n", state.as_str()));
        let mut cells = Vec::new();
        for (name, input) in inputs() {
            let mut transfer = reach(state);
            let cell = match transfer.apply(input, t0()) {
                Ok(entries) if entries.is_empty() => "=".to_owned(),
                Ok(_) => transfer.state().as_str().to_owned(),
                Err(_) => "✗".to_owned(),
            };
            cells.push(format!("{name}→{cell}"));
        }
        for chunk in cells.chunks(4) {
            grid.push_str(&format!("  {}\n", chunk.join("  ")));
        }
    }
    expect![[r#"
        requested:
          queued→queued  offered→offered  joined→active  joined_other→active
          transfer_started→✗  typing→=  left→=  ended_resolved→✗
          ended_hand_back→✗  ended_cancelled→cancelled  ended_left→abandoned  ended_join_timeout→✗
          error_connecting→failed  error_disconnected→=  unavailable→unavailable  leave_message→✗
          return→✗  cancel→cancelled  abandon→abandoned  time_out→✗
          fail→failed
        queued:
          queued→=  offered→offered  joined→active  joined_other→active
          transfer_started→✗  typing→=  left→=  ended_resolved→ended
          ended_hand_back→ended  ended_cancelled→cancelled  ended_left→abandoned  ended_join_timeout→timed_out
          error_connecting→failed  error_disconnected→=  unavailable→✗  leave_message→✗
          return→✗  cancel→cancelled  abandon→abandoned  time_out→timed_out
          fail→failed
        offered:
          queued→queued  offered→✗  joined→active  joined_other→active
          transfer_started→✗  typing→=  left→=  ended_resolved→ended
          ended_hand_back→ended  ended_cancelled→cancelled  ended_left→abandoned  ended_join_timeout→timed_out
          error_connecting→failed  error_disconnected→=  unavailable→✗  leave_message→✗
          return→✗  cancel→cancelled  abandon→abandoned  time_out→timed_out
          fail→failed
        active:
          queued→queued  offered→offered  joined→=  joined_other→active
          transfer_started→offered  typing→=  left→=  ended_resolved→ended
          ended_hand_back→handed_back  ended_cancelled→ended  ended_left→ended  ended_join_timeout→ended
          error_connecting→failed  error_disconnected→=  unavailable→✗  leave_message→✗
          return→✗  cancel→ended  abandon→ended  time_out→✗
          fail→failed
        unavailable:
          queued→queued  offered→✗  joined→✗  joined_other→✗
          transfer_started→✗  typing→=  left→=  ended_resolved→✗
          ended_hand_back→✗  ended_cancelled→cancelled  ended_left→abandoned  ended_join_timeout→✗
          error_connecting→failed  error_disconnected→=  unavailable→✗  leave_message→message_left
          return→returned  cancel→cancelled  abandon→abandoned  time_out→✗
          fail→failed
        ended:
          queued→✗  offered→✗  joined→✗  joined_other→✗
          transfer_started→✗  typing→✗  left→✗  ended_resolved→✗
          ended_hand_back→✗  ended_cancelled→✗  ended_left→✗  ended_join_timeout→✗
          error_connecting→✗  error_disconnected→✗  unavailable→✗  leave_message→✗
          return→✗  cancel→✗  abandon→✗  time_out→✗
          fail→✗
        handed_back:
          queued→✗  offered→✗  joined→✗  joined_other→✗
          transfer_started→✗  typing→✗  left→✗  ended_resolved→✗
          ended_hand_back→✗  ended_cancelled→✗  ended_left→✗  ended_join_timeout→✗
          error_connecting→✗  error_disconnected→✗  unavailable→✗  leave_message→✗
          return→✗  cancel→✗  abandon→✗  time_out→✗
          fail→✗
        cancelled:
          queued→✗  offered→✗  joined→✗  joined_other→✗
          transfer_started→✗  typing→✗  left→✗  ended_resolved→✗
          ended_hand_back→✗  ended_cancelled→✗  ended_left→✗  ended_join_timeout→✗
          error_connecting→✗  error_disconnected→✗  unavailable→✗  leave_message→✗
          return→✗  cancel→✗  abandon→✗  time_out→✗
          fail→✗
        abandoned:
          queued→✗  offered→✗  joined→✗  joined_other→✗
          transfer_started→✗  typing→✗  left→✗  ended_resolved→✗
          ended_hand_back→✗  ended_cancelled→✗  ended_left→✗  ended_join_timeout→✗
          error_connecting→✗  error_disconnected→✗  unavailable→✗  leave_message→✗
          return→✗  cancel→✗  abandon→✗  time_out→✗
          fail→✗
        timed_out:
          queued→✗  offered→✗  joined→✗  joined_other→✗
          transfer_started→✗  typing→✗  left→✗  ended_resolved→✗
          ended_hand_back→✗  ended_cancelled→✗  ended_left→✗  ended_join_timeout→✗
          error_connecting→✗  error_disconnected→✗  unavailable→✗  leave_message→✗
          return→✗  cancel→✗  abandon→✗  time_out→✗
          fail→✗
        message_left:
          queued→✗  offered→✗  joined→✗  joined_other→✗
          transfer_started→✗  typing→✗  left→✗  ended_resolved→✗
          ended_hand_back→✗  ended_cancelled→✗  ended_left→✗  ended_join_timeout→✗
          error_connecting→✗  error_disconnected→✗  unavailable→✗  leave_message→✗
          return→✗  cancel→✗  abandon→✗  time_out→✗
          fail→✗
        returned:
          queued→✗  offered→✗  joined→✗  joined_other→✗
          transfer_started→✗  typing→✗  left→✗  ended_resolved→✗
          ended_hand_back→✗  ended_cancelled→✗  ended_left→✗  ended_join_timeout→✗
          error_connecting→✗  error_disconnected→✗  unavailable→✗  leave_message→✗
          return→✗  cancel→✗  abandon→✗  time_out→✗
          fail→✗
        failed:
          queued→✗  offered→✗  joined→✗  joined_other→✗
          transfer_started→✗  typing→✗  left→✗  ended_resolved→✗
          ended_hand_back→✗  ended_cancelled→✗  ended_left→✗  ended_join_timeout→✗
          error_connecting→✗  error_disconnected→✗  unavailable→✗  leave_message→✗
          return→✗  cancel→✗  abandon→✗  time_out→✗
          fail→✗
    "#]]
    .assert_eq(&grid);
}

#[test]
fn every_legal_transition_is_reachable_by_some_input() {
    let mut reached = BTreeSet::new();
    for from in TransferState::ALL {
        for (_, input) in inputs() {
            let mut transfer = reach(from);
            if let Ok(entries) = transfer.apply(input, t0()) {
                for entry in entries {
                    reached.insert((entry.from.unwrap().as_str(), entry.to.as_str()));
                }
            }
        }
    }
    for from in TransferState::ALL {
        for to in TransferState::ALL {
            let legal = is_legal(from, to);
            assert_eq!(
                reached.contains(&(from.as_str(), to.as_str())),
                legal,
                "{from} → {to} legal={legal}"
            );
        }
    }
}

#[test]
fn each_transition_is_one_timestamped_entry() {
    let (mut transfer, opened) = Transfer::request(
        TransferId::parse("t1").unwrap(),
        SessionId::parse("s1").unwrap(),
        Some(QueueName::parse("billing").unwrap()),
        t0(),
    );
    assert_eq!(
        (opened.from, opened.to, opened.at),
        (None, TransferState::Requested, t0())
    );
    let later = t0() + TimeDelta::seconds(42);
    let entries = transfer.apply(queued(), later).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].from, entries[0].to, entries[0].at),
        (Some(TransferState::Requested), TransferState::Queued, later)
    );
    assert_eq!(transfer.position(), Some(2));
    assert_eq!(transfer.updated_at(), later);

    // A new position is an update, not a transition.
    let entries = transfer
        .apply(
            DeskEvent::Queued {
                position: Some(1),
                wait: None,
                note: None,
            },
            later,
        )
        .unwrap();
    assert!(entries.is_empty());
    assert_eq!(transfer.position(), Some(1));

    transfer.apply(DeskEvent::Offered(profile("ada")), later).unwrap();
    let entries = transfer.apply(DeskEvent::AgentJoined(profile("ada")), later).unwrap();
    assert_eq!(entries[0].cause, TransferCause::AgentJoined { agent: profile("ada") });
    assert_eq!(transfer.agent(), Some(&profile("ada")));
    assert_eq!(transfer.position(), None, "position is cleared once an agent joined");
    // The same join repeated after a reconnect changes nothing.
    assert!(
        transfer
            .apply(DeskEvent::AgentJoined(profile("ada")), later)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_desk_that_skips_the_queue_still_passes_through_it() {
    let (mut transfer, _) = Transfer::request(
        TransferId::parse("t1").unwrap(),
        SessionId::parse("s1").unwrap(),
        None,
        t0(),
    );
    let entries = transfer.apply(DeskEvent::AgentJoined(profile("ada")), t0()).unwrap();
    let steps: Vec<_> = entries.iter().map(|entry| (entry.from, entry.to)).collect();
    assert_eq!(
        steps,
        [
            (Some(TransferState::Requested), TransferState::Queued),
            (Some(TransferState::Queued), TransferState::Active)
        ]
    );
}

#[test]
fn a_refused_input_changes_nothing() {
    for state in TransferState::ALL {
        for (name, input) in inputs() {
            let before = reach(state);
            let mut transfer = before.clone();
            if let Err(error) = transfer.apply(input, t0() + TimeDelta::seconds(1)) {
                assert_eq!(
                    transfer, before,
                    "{state} + {name} was refused ({error}) but changed the transfer"
                );
                assert!(
                    error.to_string().contains("t1"),
                    "the error names the transfer: {error}"
                );
            }
        }
    }
}

#[test]
fn closed_transfers_take_no_input() {
    for state in TransferState::ALL.into_iter().filter(|state| !state.is_open()) {
        let mut transfer = reach(state);
        let error = transfer.apply(input("typing"), t0()).unwrap_err();
        assert!(matches!(error, TransitionError::Closed { .. }), "{state}: {error}");
    }
}

#[test]
fn transfers_and_entries_survive_serialisation() {
    let mut transfer = reach(TransferState::Active);
    transfer.attach_chat(ChatId::parse("own-t1-1").unwrap());
    let json = serde_json::to_string(&transfer).unwrap();
    let back: Transfer = serde_json::from_str(&json).unwrap();
    assert_eq!(back, transfer);
    let entries = transfer.apply(input("ended_hand_back"), t0()).unwrap();
    let json = serde_json::to_string(&entries).unwrap();
    let back: Vec<TransferEntry> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, entries);
    assert!(json.contains(r#""to":"handed_back""#), "{json}");
}
