//! The suite's part for the desk: transfers, agents, agent tokens and tickets.
//!
//! Generic over [`Harness`] like the rest of the suite, so Postgres will reuse it unchanged.

use std::sync::Arc;

use baton_store::{
    AgentRecord, AgentToken, EntryKind, NewEntry, NewTransfer, SessionId, Store, StoreError, Ticket, TransferUpdate,
    TransferWrite,
};
use chrono::{DateTime, Utc};

use crate::suite::{Harness, at, json, new_session, turn};

fn new_transfer(id: &str, session: &str, when: DateTime<Utc>) -> NewTransfer {
    NewTransfer {
        id: id.to_owned(),
        session_id: SessionId::new(session),
        queue: Some("billing".to_owned()),
        state: "requested".to_owned(),
        value: json(&format!(r#"{{"id":"{id}","state":"requested"}}"#)),
        request: json(r#"{"brief":{"reason":"agent_requested"}}"#),
        at: when,
    }
}

fn update(id: &str, state: &str, open: bool, when: DateTime<Utc>, texts: &[&str]) -> TransferUpdate {
    TransferUpdate {
        id: id.to_owned(),
        state: state.to_owned(),
        open,
        agent_id: Some("alice".to_owned()),
        chat_id: Some(format!("chat-{id}")),
        value: json(&format!(r#"{{"id":"{id}","state":"{state}"}}"#)),
        at: when,
        entries: texts
            .iter()
            .map(|text| NewEntry {
                kind: EntryKind::Agent,
                at: when,
                payload: json(&format!(r#"{{"text":"{text}"}}"#)),
            })
            .collect(),
    }
}

fn agent(username: &str, queues: &[&str]) -> AgentRecord {
    AgentRecord {
        username: username.to_owned(),
        display_name: format!("Agent {username}"),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        queues: queues.iter().map(|queue| (*queue).to_owned()).collect(),
        capacity: 3,
        created_at: at(0),
    }
}

fn seqs(entries: &[baton_store::TranscriptEntry]) -> Vec<u64> {
    entries.iter().map(|entry| entry.seq).collect()
}

/// Creates session s1 and commits its first turn, which opens transfer t1.
async fn open_s1_with_transfer_t1(store: &Arc<dyn Store>) -> baton_store::TurnCommitted {
    store.create_session(new_session("s1", at(0))).await.unwrap();
    let mut first = turn("s1", 0, at(1), "a person please");
    first.transfer = Some(TransferWrite::Open(new_transfer("t1", "s1", at(1))));
    store.commit_turn(first).await.unwrap()
}

pub async fn a_session_has_one_open_transfer_at_a_time(harness: &impl Harness) {
    let store = harness.open().await;
    let session = SessionId::new("s1");
    open_s1_with_transfer_t1(&store).await;
    let open = store.open_transfer_of(&session).await.unwrap().expect("opened");
    assert_eq!(
        (open.id.as_str(), open.state.as_str(), open.open),
        ("t1", "requested", true)
    );
    assert_eq!((open.opened_at, open.updated_at), (at(1), at(1)));
    assert_eq!(open.request.get(), r#"{"brief":{"reason":"agent_requested"}}"#);

    // Asking again while one is open: refused, and the turn carrying it is not written either.
    let mut again = turn("s1", 1, at(2), "a person now");
    again.transfer = Some(TransferWrite::Open(new_transfer("t2", "s1", at(2))));
    let refused = store.commit_turn(again).await;
    assert!(
        matches!(&refused, Err(StoreError::TransferAlreadyOpen { session }) if session.as_str() == "s1"),
        "{refused:?}"
    );
    assert_eq!(store.load_session(&session, at(2)).await.unwrap().version, 1);
    assert_eq!(store.transcript(&session).await.unwrap().len(), 2);
    assert!(store.load_transfer("t2").await.unwrap().is_none());

    // Once the first is closed, a second may open; the first may not reopen beside it.
    store
        .update_transfer(update("t1", "ended", false, at(3), &[]))
        .await
        .unwrap();
    let mut second = turn("s1", 1, at(4), "a person again");
    second.transfer = Some(TransferWrite::Open(new_transfer("t2", "s1", at(4))));
    store.commit_turn(second).await.unwrap();
    let reopened = store
        .update_transfer(update("t1", "queued", true, at(5), &["lost"]))
        .await;
    assert!(
        matches!(reopened, Err(StoreError::TransferAlreadyOpen { .. })),
        "{reopened:?}"
    );
    assert_eq!(
        store.transcript(&session).await.unwrap().len(),
        4,
        "a refused update appends nothing"
    );
    let closed = store.load_transfer("t1").await.unwrap().expect("kept");
    assert_eq!(
        (closed.state.as_str(), closed.open, closed.updated_at),
        ("ended", false, at(3))
    );
    assert_eq!(store.open_transfer_of(&session).await.unwrap().expect("open").id, "t2");

    // Other sessions are not affected.
    store.create_session(new_session("s2", at(0))).await.unwrap();
    let mut other = turn("s2", 0, at(1), "me too");
    other.transfer = Some(TransferWrite::Open(new_transfer("t3", "s2", at(1))));
    store.commit_turn(other).await.unwrap();
    let open: Vec<String> = store
        .open_transfers()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(open, ["t2", "t3"]);
}

/// A turn after an agent's message numbers its entries after the agent's, though the writer
/// remembers the session's row from the turn before.
pub async fn a_turn_after_an_agents_message_follows_it(harness: &impl Harness) {
    let store = harness.open().await;
    let session = SessionId::new("s1");
    open_s1_with_transfer_t1(&store).await;
    assert_eq!(
        store
            .commit_turn(turn("s1", 1, at(2), "hello?"))
            .await
            .unwrap()
            .first_seq,
        2
    );
    let agent_seq = store
        .update_transfer(update("t1", "active", true, at(3), &["here"]))
        .await
        .unwrap();
    assert_eq!(agent_seq, 4);
    let next = store.commit_turn(turn("s1", 2, at(4), "thanks")).await.unwrap();
    assert_eq!((next.version, next.first_seq), (3, 5));
    let transcript = store.transcript(&session).await.unwrap();
    assert_eq!(seqs(&transcript), (0..7).collect::<Vec<u64>>());
    assert_eq!(transcript[4].kind, EntryKind::Agent);
    assert_eq!(transcript[5].payload.get(), r#"{"text":"thanks"}"#);
}

pub async fn a_transfer_update_appends_its_entries_without_gaps(harness: &impl Harness) {
    let store = harness.open().await;
    let session = SessionId::new("s1");
    let committed = open_s1_with_transfer_t1(&store).await;
    assert_eq!(committed.first_seq, 0);

    let first_seq = store
        .update_transfer(update("t1", "active", true, at(2), &["hello", "how can I help?"]))
        .await
        .unwrap();
    assert_eq!(first_seq, 2);
    let stored = store.load_transfer("t1").await.unwrap().expect("stored");
    assert_eq!(
        (
            stored.state.as_str(),
            stored.agent_id.as_deref(),
            stored.chat_id.as_deref()
        ),
        ("active", Some("alice"), Some("chat-t1"))
    );
    assert_eq!(stored.value.get(), r#"{"id":"t1","state":"active"}"#);
    assert_eq!(
        store
            .find_transfer_by_chat("chat-t1")
            .await
            .unwrap()
            .expect("by chat")
            .id,
        "t1"
    );
    assert!(store.find_transfer_by_chat("chat-none").await.unwrap().is_none());
    // An update with no entries answers the next sequence number and changes nothing else.
    assert_eq!(
        store
            .update_transfer(update("t1", "active", true, at(3), &[]))
            .await
            .unwrap(),
        4
    );

    // The session's version is untouched, so a turn computed before the update still commits,
    // after the agent's entries.
    let next = store.commit_turn(turn("s1", 1, at(4), "thanks")).await.unwrap();
    assert_eq!((next.version, next.first_seq), (2, 4));

    // A turn's transfer update lands after the turn's own entries.
    let mut with_update = turn("s1", 2, at(5), "bye");
    with_update.transfer = Some(TransferWrite::Update(update("t1", "ended", false, at(5), &["ended"])));
    let committed = store.commit_turn(with_update).await.unwrap();
    assert_eq!(committed.first_seq, 6);
    let transcript = store.transcript(&session).await.unwrap();
    assert_eq!(seqs(&transcript), (0..9).collect::<Vec<u64>>());
    assert_eq!(transcript[8].kind, EntryKind::Agent);
    assert_eq!(transcript[8].payload.get(), r#"{"text":"ended"}"#);
    assert!(store.open_transfer_of(&session).await.unwrap().is_none());

    let after = store.transcript_after(&session, 5).await.unwrap();
    assert_eq!(seqs(&after), [6, 7, 8]);
    // A turn's entries share a row: reading from the middle of one returns only its later entries.
    let after = store.transcript_after(&session, 6).await.unwrap();
    assert_eq!(seqs(&after), [7, 8]);
    assert_eq!(after[0].payload.get(), transcript[7].payload.get());
    assert_eq!(seqs(&store.transcript_after(&session, 4).await.unwrap()), [5, 6, 7, 8]);
    assert!(store.transcript_after(&session, 8).await.unwrap().is_empty());
    assert!(matches!(
        store.transcript_after(&SessionId::new("nobody"), 0).await,
        Err(StoreError::NotFound(_))
    ));

    // Since the customer's last message ("bye", seq 6): what came after it, the same entries a
    // whole read would give from there.
    let since = store
        .transcript_since_last(&session, EntryKind::Customer)
        .await
        .unwrap();
    let last_customer = transcript
        .iter()
        .rposition(|entry| entry.kind == EntryKind::Customer)
        .unwrap();
    assert_eq!(seqs(&since), seqs(&transcript[last_customer + 1..]));
    assert_eq!(since.last().unwrap().payload.get(), r#"{"text":"ended"}"#);
    // The last n entries are the whole read's last n, wherever n falls in a turn's row.
    for n in [0, 1, 2, 3, 5, 9, 50] {
        let tail = store.transcript_tail(&session, n).await.unwrap();
        let start = transcript.len().saturating_sub(n);
        assert_eq!(seqs(&tail), seqs(&transcript[start..]), "last {n}");
    }
    // Whatever the kind, the same entries as a whole read from after its last one (all of them
    // when there is none).
    for kind in [EntryKind::Assistant, EntryKind::Agent, EntryKind::Event] {
        let since = store.transcript_since_last(&session, kind).await.unwrap();
        let start = transcript
            .iter()
            .rposition(|entry| entry.kind == kind)
            .map_or(0, |idx| idx + 1);
        assert_eq!(seqs(&since), seqs(&transcript[start..]), "{kind:?}");
    }
    assert!(matches!(
        store
            .transcript_since_last(&SessionId::new("nobody"), EntryKind::Customer)
            .await,
        Err(StoreError::NotFound(_))
    ));

    let unknown = store
        .update_transfer(update("t9", "active", true, at(6), &["lost"]))
        .await;
    assert!(
        matches!(&unknown, Err(StoreError::UnknownTransfer(id)) if id == "t9"),
        "{unknown:?}"
    );
    assert_eq!(store.transcript(&session).await.unwrap().len(), 9);
}

pub async fn a_turn_refused_writes_neither_turn_nor_transfer(harness: &impl Harness) {
    let store = harness.open().await;
    let session = SessionId::new("s1");
    store.create_session(new_session("s1", at(0))).await.unwrap();
    store.commit_turn(turn("s1", 0, at(1), "hi")).await.unwrap();
    let mut stale = turn("s1", 0, at(2), "a person please");
    stale.transfer = Some(TransferWrite::Open(new_transfer("t1", "s1", at(2))));
    assert!(matches!(store.commit_turn(stale).await, Err(StoreError::Conflict(_))));
    assert!(store.load_transfer("t1").await.unwrap().is_none());
    assert!(store.open_transfer_of(&session).await.unwrap().is_none());

    let mut opening = turn("s1", 1, at(3), "a person please");
    opening.transfer = Some(TransferWrite::Open(new_transfer("t1", "s1", at(3))));
    store.commit_turn(opening).await.unwrap();
    // A stale turn carrying an update: the transfer keeps its state, nothing is appended.
    let mut stale = turn("s1", 1, at(4), "never mind");
    stale.transfer = Some(TransferWrite::Update(update(
        "t1",
        "cancelled",
        false,
        at(4),
        &["cancelled"],
    )));
    assert!(matches!(store.commit_turn(stale).await, Err(StoreError::Conflict(_))));
    let kept = store.load_transfer("t1").await.unwrap().expect("kept");
    assert_eq!((kept.state.as_str(), kept.open), ("requested", true));
    // A turn updating a transfer of another session (or none) is refused whole.
    store.create_session(new_session("s2", at(0))).await.unwrap();
    let mut foreign = turn("s2", 0, at(4), "hijack");
    foreign.transfer = Some(TransferWrite::Update(update("t1", "cancelled", false, at(4), &[])));
    assert!(matches!(
        store.commit_turn(foreign).await,
        Err(StoreError::UnknownTransfer(_))
    ));
    assert_eq!(
        store.load_session(&SessionId::new("s2"), at(4)).await.unwrap().version,
        0
    );
    assert!(store.transcript(&SessionId::new("s2")).await.unwrap().is_empty());
    assert_eq!(store.transcript(&session).await.unwrap().len(), 4);
}

pub async fn concurrent_turns_and_transfer_updates_keep_the_transcript_gapless(harness: &impl Harness) {
    let store = harness.open().await;
    open_s1_with_transfer_t1(&store).await;
    let agent = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            for idx in 0..50 {
                store
                    .update_transfer(update("t1", "active", true, at(2), &[&format!("agent {idx}")]))
                    .await
                    .unwrap();
            }
        })
    };
    let mut version = 1;
    for idx in 0..50 {
        let committed = store
            .commit_turn(turn("s1", version, at(2), &format!("customer {idx}")))
            .await
            .unwrap();
        version = committed.version;
    }
    agent.await.unwrap();
    let transcript = store.transcript(&SessionId::new("s1")).await.unwrap();
    assert_eq!(seqs(&transcript), (0..152).collect::<Vec<u64>>());
}

pub async fn agents_are_upserted_listed_and_removed(harness: &impl Harness) {
    let store = harness.open().await;
    assert!(store.find_agent("alice").await.unwrap().is_none());
    store.upsert_agent(agent("alice", &[])).await.unwrap();
    store.upsert_agent(agent("bob", &["billing", "cards"])).await.unwrap();
    assert_eq!(
        store.find_agent("bob").await.unwrap(),
        Some(agent("bob", &["billing", "cards"]))
    );

    let mut changed = agent("alice", &["billing"]);
    changed.display_name = "Alice".to_owned();
    changed.capacity = 5;
    changed.created_at = at(100);
    store.upsert_agent(changed.clone()).await.unwrap();
    let stored = store.find_agent("alice").await.unwrap().expect("kept");
    assert_eq!((stored.display_name.as_str(), stored.capacity), ("Alice", 5));
    assert_eq!(stored.queues, ["billing"]);
    assert_eq!(stored.created_at, at(0), "re-adding keeps the creation time");
    let names: Vec<String> = store
        .list_agents()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.username)
        .collect();
    assert_eq!(names, ["alice", "bob"]);

    assert!(store.remove_agent("alice").await.unwrap());
    assert!(!store.remove_agent("alice").await.unwrap());
    assert!(store.find_agent("alice").await.unwrap().is_none());
    assert_eq!(store.list_agents().await.unwrap().len(), 1);
}

pub async fn agent_tokens_expire_and_are_revoked(harness: &impl Harness) {
    let store = harness.open().await;
    store.upsert_agent(agent("alice", &[])).await.unwrap();
    let token = AgentToken {
        hash: "hash-1".to_owned(),
        username: "alice".to_owned(),
        created_at: at(0),
        expires_at: at(100),
    };
    store.create_agent_token(token.clone()).await.unwrap();
    assert!(matches!(
        store.create_agent_token(token.clone()).await,
        Err(StoreError::DuplicateAgentToken)
    ));
    assert_eq!(
        store.find_agent_token("hash-1", at(99)).await.unwrap(),
        Some(token.clone())
    );
    assert!(
        store.find_agent_token("hash-1", at(100)).await.unwrap().is_none(),
        "expired"
    );
    assert!(store.find_agent_token("hash-2", at(1)).await.unwrap().is_none());

    store.revoke_agent_token("hash-1").await.unwrap();
    store.revoke_agent_token("hash-1").await.unwrap();
    store.revoke_agent_token("unknown").await.unwrap();
    assert!(
        store.find_agent_token("hash-1", at(1)).await.unwrap().is_none(),
        "revoked"
    );

    // Re-adding the agent with the same password keeps its tokens; a new password ends them.
    let kept = AgentToken {
        hash: "hash-4".to_owned(),
        ..token.clone()
    };
    store.create_agent_token(kept).await.unwrap();
    store.upsert_agent(agent("alice", &["billing", "sales"])).await.unwrap();
    assert!(
        store.find_agent_token("hash-4", at(1)).await.unwrap().is_some(),
        "same password"
    );
    let mut new_password = agent("alice", &["billing"]);
    new_password.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXI$b3RoZXI".to_owned();
    store.upsert_agent(new_password).await.unwrap();
    assert!(
        store.find_agent_token("hash-4", at(1)).await.unwrap().is_none(),
        "new password"
    );

    // Removing the agent ends its tokens.
    let other = AgentToken {
        hash: "hash-3".to_owned(),
        ..token
    };
    store.create_agent_token(other).await.unwrap();
    assert!(store.find_agent_token("hash-3", at(1)).await.unwrap().is_some());
    store.remove_agent("alice").await.unwrap();
    assert!(store.find_agent_token("hash-3", at(1)).await.unwrap().is_none());
}

pub async fn tickets_are_kept_in_order(harness: &impl Harness) {
    let store = harness.open().await;
    let ticket = |id: &str, when| Ticket {
        id: id.to_owned(),
        session_id: SessionId::new("s1"),
        transfer_id: Some("t1".to_owned()),
        queue: None,
        text: format!("call me back ({id})"),
        created_at: when,
    };
    store.create_ticket(ticket("k2", at(2))).await.unwrap();
    store.create_ticket(ticket("k1", at(1))).await.unwrap();
    assert!(matches!(
        store.create_ticket(ticket("k1", at(3))).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.list_tickets().await.unwrap(),
        [ticket("k1", at(1)), ticket("k2", at(2))]
    );
}

/// For backends that keep a database between opens.
pub async fn reopening_keeps_transfers_agents_tokens_and_tickets(harness: &impl Harness) {
    {
        let store = harness.open().await;
        store.create_session(new_session("s1", at(0))).await.unwrap();
        let mut first = turn("s1", 0, at(1), "a person please");
        first.transfer = Some(TransferWrite::Open(new_transfer("t1", "s1", at(1))));
        store.commit_turn(first).await.unwrap();
        store
            .update_transfer(update("t1", "active", true, at(2), &["hello"]))
            .await
            .unwrap();
        store.upsert_agent(agent("alice", &["billing"])).await.unwrap();
        store
            .create_agent_token(AgentToken {
                hash: "hash-1".to_owned(),
                username: "alice".to_owned(),
                created_at: at(0),
                expires_at: at(100),
            })
            .await
            .unwrap();
        store
            .create_ticket(Ticket {
                id: "k1".to_owned(),
                session_id: SessionId::new("s1"),
                transfer_id: None,
                queue: Some("billing".to_owned()),
                text: "call me".to_owned(),
                created_at: at(3),
            })
            .await
            .unwrap();
    }
    let store = harness.open().await;
    let open = store.open_transfers().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].id.as_str(), open[0].state.as_str()), ("t1", "active"));
    assert_eq!(open[0].session_id.as_str(), "s1");
    assert_eq!(seqs(&store.transcript(&SessionId::new("s1")).await.unwrap()), [0, 1, 2]);
    assert_eq!(
        store.find_agent("alice").await.unwrap(),
        Some(agent("alice", &["billing"]))
    );
    assert!(store.find_agent_token("hash-1", at(1)).await.unwrap().is_some());
    assert_eq!(store.list_tickets().await.unwrap().len(), 1);
    // Sequence numbers carry over.
    assert_eq!(
        store
            .update_transfer(update("t1", "ended", false, at(4), &["bye"]))
            .await
            .unwrap(),
        3
    );
}
