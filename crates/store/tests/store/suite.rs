//! The behaviour every `Store` backend must have, written once as generic functions.
//!
//! A backend's test module implements [`Harness`], the constructor of its store, and instantiates
//! the functions with `store_suite!`; Postgres will reuse them unchanged.
//! The functions see the store only as `Arc<dyn Store>`, the way the server holds it.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use baton_store::{EntryKind, Json, NewEntry, NewSession, SessionId, Store, StoreError, StoredReply, TurnRecord};
use chrono::{DateTime, TimeDelta, Utc};

// The desk's part of the suite, reachable through `store_suite!` like the rest.
pub use crate::desk::*;

/// Opens a backend's store; every call reaches the same database.
pub trait Harness {
    fn open(&self) -> impl Future<Output = Arc<dyn Store>>;
}

pub fn json(text: &str) -> Json {
    serde_json::value::RawValue::from_string(text.to_owned()).expect("test json is valid")
}

/// A fixed instant plus `seconds`.
pub fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 0).expect("valid time") + TimeDelta::seconds(seconds)
}

pub fn new_session(id: &str, created: DateTime<Utc>) -> NewSession {
    NewSession {
        id: SessionId::new(id),
        assistant_id: "billing".to_owned(),
        state: json(r#"{"step":"greet"}"#),
        created_at: created,
        idle_timeout: Duration::from_secs(300),
    }
}

/// A turn of one customer message and one assistant reply.
pub fn turn(id: &str, version: u64, when: DateTime<Utc>, text: &str) -> TurnRecord {
    TurnRecord {
        session_id: SessionId::new(id),
        expected_version: version,
        state: json(&format!(r#"{{"last":"{text}"}}"#)),
        at: when,
        entries: vec![
            NewEntry {
                kind: EntryKind::Customer,
                at: when,
                payload: json(&format!(r#"{{"text":"{text}"}}"#)),
            },
            NewEntry {
                kind: EntryKind::Assistant,
                at: when,
                payload: json(&format!(r#"{{"text":"re: {text}"}}"#)),
            },
        ],
        reply: None,
        transfer: None,
    }
}

fn texts(entries: &[baton_store::TranscriptEntry]) -> Vec<String> {
    entries
        .iter()
        .map(|entry| format!("{} {} {}", entry.seq, entry.kind.as_str(), entry.payload.get()))
        .collect()
}

pub async fn create_load_commit_and_transcript_in_order(harness: &impl Harness) {
    let store = harness.open().await;
    store.create_session(new_session("s1", at(0))).await.unwrap();
    let loaded = store.load_session(&SessionId::new("s1"), at(1)).await.unwrap();
    assert_eq!(loaded.version, 0);
    assert_eq!(loaded.assistant_id, "billing");
    assert_eq!(loaded.state.get(), r#"{"step":"greet"}"#);
    assert_eq!(loaded.last_active, at(0));

    let first = store.commit_turn(turn("s1", 0, at(10), "hi")).await.unwrap();
    assert_eq!((first.version, first.first_seq), (1, 0));
    let mut event = turn("s1", 1, at(20), "bye");
    event.entries.push(NewEntry {
        kind: EntryKind::Event,
        at: at(21),
        payload: json(r#"{"transfer":"requested"}"#),
    });
    let second = store.commit_turn(event).await.unwrap();
    assert_eq!((second.version, second.first_seq), (2, 2));

    let loaded = store.load_session(&SessionId::new("s1"), at(30)).await.unwrap();
    assert_eq!(loaded.version, 2);
    assert_eq!(loaded.state.get(), r#"{"last":"bye"}"#);
    assert_eq!(loaded.last_active, at(20));
    assert_eq!(loaded.created_at, at(0));

    let transcript = store.transcript(&SessionId::new("s1")).await.unwrap();
    assert_eq!(
        texts(&transcript),
        [
            r#"0 customer {"text":"hi"}"#,
            r#"1 assistant {"text":"re: hi"}"#,
            r#"2 customer {"text":"bye"}"#,
            r#"3 assistant {"text":"re: bye"}"#,
            r#"4 event {"transfer":"requested"}"#,
        ]
    );
    assert_eq!(transcript[4].at, at(21));
    assert!(transcript.iter().all(|entry| entry.session_id.as_str() == "s1"));
}

pub async fn unknown_sessions_are_not_found(harness: &impl Harness) {
    let store = harness.open().await;
    let missing = SessionId::new("missing");
    let loaded = store.load_session(&missing, at(0)).await;
    assert!(matches!(loaded, Err(StoreError::NotFound(id)) if id == missing));
    let committed = store.commit_turn(turn("missing", 0, at(0), "hi")).await;
    assert!(matches!(committed, Err(StoreError::NotFound(_))));
    assert!(matches!(store.transcript(&missing).await, Err(StoreError::NotFound(_))));
    assert!(matches!(
        store.end_session(&missing, at(0)).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.find_reply(&missing, "m1").await.unwrap().is_none());
}

pub async fn creating_a_taken_id_conflicts(harness: &impl Harness) {
    let store = harness.open().await;
    store.create_session(new_session("s1", at(0))).await.unwrap();
    let mut again = new_session("s1", at(5));
    again.state = json(r#"{"step":"other"}"#);
    let created = store.create_session(again).await;
    assert!(matches!(created, Err(StoreError::Conflict(_))));
    let loaded = store.load_session(&SessionId::new("s1"), at(6)).await.unwrap();
    assert_eq!(loaded.state.get(), r#"{"step":"greet"}"#);
}

pub async fn a_stale_version_conflicts_and_writes_nothing(harness: &impl Harness) {
    let store = harness.open().await;
    store.create_session(new_session("s1", at(0))).await.unwrap();
    store.commit_turn(turn("s1", 0, at(1), "first")).await.unwrap();
    let mut stale = turn("s1", 0, at(2), "lost");
    stale.reply = Some(StoredReply {
        client_message_id: "m-lost".to_owned(),
        response: json(r#"{"output":"lost"}"#),
    });
    let committed = store.commit_turn(stale).await;
    assert!(matches!(committed, Err(StoreError::Conflict(id)) if id.as_str() == "s1"));

    let loaded = store.load_session(&SessionId::new("s1"), at(3)).await.unwrap();
    assert_eq!((loaded.version, loaded.state.get()), (1, r#"{"last":"first"}"#));
    assert_eq!(loaded.last_active, at(1));
    assert_eq!(store.transcript(&SessionId::new("s1")).await.unwrap().len(), 2);
    let reply = store.find_reply(&SessionId::new("s1"), "m-lost").await.unwrap();
    assert!(reply.is_none());
    // A version from the future conflicts too.
    let ahead = store.commit_turn(turn("s1", 7, at(4), "ahead")).await;
    assert!(matches!(ahead, Err(StoreError::Conflict(_))));
}

pub async fn a_reply_is_kept_so_a_retry_is_answered_once(harness: &impl Harness) {
    let store = harness.open().await;
    let id = SessionId::new("s1");
    store.create_session(new_session("s1", at(0))).await.unwrap();
    let mut first = turn("s1", 0, at(1), "hi");
    first.reply = Some(StoredReply {
        client_message_id: "m1".to_owned(),
        response: json(r#"{"output":{"generic":[{"text":"Hello"}]}}"#),
    });
    store.commit_turn(first).await.unwrap();
    let reply = store.find_reply(&id, "m1").await.unwrap().expect("reply stored");
    assert_eq!(reply.get(), r#"{"output":{"generic":[{"text":"Hello"}]}}"#);
    assert!(store.find_reply(&id, "m2").await.unwrap().is_none());

    // A retry that slipped past find_reply (it raced the first) is refused, even at the current
    // version, and writes nothing.
    let mut retry = turn("s1", 1, at(2), "hi");
    retry.reply = Some(StoredReply {
        client_message_id: "m1".to_owned(),
        response: json(r#"{"output":"twice"}"#),
    });
    let committed = store.commit_turn(retry).await;
    assert!(matches!(committed, Err(StoreError::Conflict(_))));
    assert_eq!(store.transcript(&id).await.unwrap().len(), 2);
    let reply = store.find_reply(&id, "m1").await.unwrap().expect("reply stored");
    assert_eq!(reply.get(), r#"{"output":{"generic":[{"text":"Hello"}]}}"#);

    // Later messages do not hide an earlier one: a retry of any of the session's latest messages
    // is caught, and each finds its own reply.
    for (version, message_id) in [(1, "m2"), (2, "m3")] {
        let mut later = turn("s1", version, at(2 + version as i64), "more");
        later.reply = Some(StoredReply {
            client_message_id: message_id.to_owned(),
            response: json(&format!(r#"{{"output":"{message_id}"}}"#)),
        });
        store.commit_turn(later).await.unwrap();
    }
    let mut late_retry = turn("s1", 3, at(6), "hi");
    late_retry.reply = Some(StoredReply {
        client_message_id: "m1".to_owned(),
        response: json(r#"{"output":"twice"}"#),
    });
    assert!(matches!(
        store.commit_turn(late_retry).await,
        Err(StoreError::Conflict(_))
    ));
    let reply = store.find_reply(&id, "m1").await.unwrap().expect("reply stored");
    assert_eq!(reply.get(), r#"{"output":{"generic":[{"text":"Hello"}]}}"#);
    let reply = store.find_reply(&id, "m2").await.unwrap().expect("reply stored");
    assert_eq!(reply.get(), r#"{"output":"m2"}"#);

    // The same client message id in another session is another message.
    store.create_session(new_session("s2", at(0))).await.unwrap();
    let mut other = turn("s2", 0, at(3), "hi");
    other.reply = Some(StoredReply {
        client_message_id: "m1".to_owned(),
        response: json(r#"{"output":"s2"}"#),
    });
    store.commit_turn(other).await.unwrap();
    let reply = store.find_reply(&SessionId::new("s2"), "m1").await.unwrap();
    assert_eq!(reply.expect("reply stored").get(), r#"{"output":"s2"}"#);
}

pub async fn idle_sessions_expire_and_keep_their_transcript(harness: &impl Harness) {
    let store = harness.open().await;
    let idle = SessionId::new("idle");
    let busy = SessionId::new("busy");
    store.create_session(new_session("idle", at(0))).await.unwrap();
    store.create_session(new_session("busy", at(0))).await.unwrap();
    store.commit_turn(turn("idle", 0, at(10), "hi")).await.unwrap();
    store.commit_turn(turn("busy", 0, at(200), "hi")).await.unwrap();

    // The timeout is 300 s from the last turn: at exactly 300 s the session is still open.
    assert!(store.load_session(&idle, at(310)).await.is_ok());
    let loaded = store.load_session(&idle, at(311)).await;
    assert!(matches!(loaded, Err(StoreError::Expired(id)) if id == idle));
    let committed = store.commit_turn(turn("idle", 1, at(311), "late")).await;
    assert!(matches!(committed, Err(StoreError::Expired(_))));

    let ended = store.expire_idle(at(311)).await.unwrap();
    assert_eq!(ended, std::slice::from_ref(&idle));
    assert!(store.expire_idle(at(311)).await.unwrap().is_empty());
    // Ended for good: even a clock that reads earlier cannot message it.
    assert!(matches!(
        store.load_session(&idle, at(20)).await,
        Err(StoreError::Expired(_))
    ));
    let committed = store.commit_turn(turn("idle", 1, at(20), "late")).await;
    assert!(matches!(committed, Err(StoreError::Expired(_))));
    assert_eq!(store.transcript(&idle).await.unwrap().len(), 2);

    let loaded = store.load_session(&busy, at(311)).await.unwrap();
    assert_eq!(loaded.version, 1);
}

pub async fn an_ended_session_keeps_its_transcript(harness: &impl Harness) {
    let store = harness.open().await;
    let id = SessionId::new("s1");
    store.create_session(new_session("s1", at(0))).await.unwrap();
    store.commit_turn(turn("s1", 0, at(1), "hi")).await.unwrap();
    store.end_session(&id, at(2)).await.unwrap();

    assert!(matches!(
        store.load_session(&id, at(3)).await,
        Err(StoreError::Expired(_))
    ));
    let committed = store.commit_turn(turn("s1", 1, at(3), "again")).await;
    assert!(matches!(committed, Err(StoreError::Expired(_))));
    let transcript = store.transcript(&id).await.unwrap();
    assert_eq!(
        texts(&transcript),
        [r#"0 customer {"text":"hi"}"#, r#"1 assistant {"text":"re: hi"}"#]
    );
    // Ending twice is harmless; the id stays taken.
    store.end_session(&id, at(4)).await.unwrap();
    assert!(matches!(
        store.create_session(new_session("s1", at(5))).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store.expire_idle(at(10_000)).await.unwrap().is_empty());
}

pub async fn concurrent_commits_on_many_sessions_all_land(harness: &impl Harness) {
    const N_SESSIONS: usize = 48;
    const N_TURNS: u64 = 40;
    let store = harness.open().await;
    let mut tasks = Vec::new();
    for session_idx in 0..N_SESSIONS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let id = format!("s{session_idx}");
            store.create_session(new_session(&id, at(0))).await.unwrap();
            for version in 0..N_TURNS {
                let when = at(i64::try_from(version).unwrap());
                let committed = store
                    .commit_turn(turn(&id, version, when, &format!("m{version}")))
                    .await;
                assert_eq!(committed.unwrap().version, version + 1);
            }
        }));
    }
    // Several tasks racing on one session: each retries on conflict until its turn lands.
    store.create_session(new_session("shared", at(0))).await.unwrap();
    for task_idx in 0..8 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let id = SessionId::new("shared");
            for message_idx in 0..10 {
                loop {
                    let version = store.load_session(&id, at(1)).await.unwrap().version;
                    let text = format!("t{task_idx}m{message_idx}");
                    match store.commit_turn(turn("shared", version, at(1), &text)).await {
                        Ok(_) => break,
                        Err(StoreError::Conflict(_)) => tokio::task::yield_now().await,
                        Err(error) => panic!("commit failed: {error}"),
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    for session_idx in 0..N_SESSIONS {
        let id = SessionId::new(format!("s{session_idx}"));
        let transcript = store.transcript(&id).await.unwrap();
        let expected: Vec<String> = (0..N_TURNS)
            .flat_map(|version| {
                [
                    format!(r#"{} customer {{"text":"m{version}"}}"#, 2 * version),
                    format!(r#"{} assistant {{"text":"re: m{version}"}}"#, 2 * version + 1),
                ]
            })
            .collect();
        assert_eq!(texts(&transcript), expected, "session {id}");
    }
    let shared = store.transcript(&SessionId::new("shared")).await.unwrap();
    assert_eq!(shared.len(), 160);
    let distinct: HashSet<&str> = shared.iter().map(|entry| entry.payload.get()).collect();
    assert_eq!(distinct.len(), 160, "no message was written twice or lost");
    let loaded = store.load_session(&SessionId::new("shared"), at(2)).await.unwrap();
    assert_eq!(loaded.version, 80);
}

pub async fn api_keys_are_found_by_hash_until_revoked(harness: &impl Harness) {
    let store = harness.open().await;
    let ci = store.create_api_key("ci", "hash-ci", at(0)).await.unwrap();
    let ops = store.create_api_key("ops", "hash-ops", at(1)).await.unwrap();
    assert_ne!(ci.id, ops.id);
    assert!(matches!(
        store.create_api_key("again", "hash-ci", at(2)).await,
        Err(StoreError::DuplicateApiKey)
    ));
    assert_eq!(store.find_api_key_by_hash("hash-ci").await.unwrap(), Some(ci.clone()));
    assert_eq!(store.find_api_key_by_hash("nope").await.unwrap(), None);

    store.revoke_api_key(ci.id, at(3)).await.unwrap();
    store.revoke_api_key(ci.id, at(4)).await.unwrap();
    assert_eq!(store.find_api_key_by_hash("hash-ci").await.unwrap(), None);
    let keys = store.list_api_keys().await.unwrap();
    let listed: Vec<(&str, Option<DateTime<Utc>>)> =
        keys.iter().map(|key| (key.name.as_str(), key.revoked_at)).collect();
    assert_eq!(listed, [("ci", Some(at(3))), ("ops", None)]);
    assert_eq!(keys[1], ops);
    let missing = baton_store::ApiKeyId(9_999);
    assert!(matches!(
        store.revoke_api_key(missing, at(5)).await,
        Err(StoreError::ApiKeyNotFound(id)) if id == missing
    ));
}

pub async fn reopening_shows_everything_committed(harness: &impl Harness) {
    {
        let store = harness.open().await;
        store.create_session(new_session("open", at(0))).await.unwrap();
        store.create_session(new_session("ended", at(0))).await.unwrap();
        let mut first = turn("open", 0, at(1), "hi");
        first.reply = Some(StoredReply {
            client_message_id: "m1".to_owned(),
            response: json(r#"{"ok":true}"#),
        });
        store.commit_turn(first).await.unwrap();
        store.commit_turn(turn("open", 1, at(2), "again")).await.unwrap();
        store.commit_turn(turn("ended", 0, at(1), "bye")).await.unwrap();
        store.end_session(&SessionId::new("ended"), at(3)).await.unwrap();
        let key = store.create_api_key("ci", "hash-ci", at(0)).await.unwrap();
        store.create_api_key("old", "hash-old", at(0)).await.unwrap();
        store
            .revoke_api_key(baton_store::ApiKeyId(key.id.0 + 1), at(1))
            .await
            .unwrap();
    }
    let store = harness.open().await;
    let open = SessionId::new("open");
    let loaded = store.load_session(&open, at(4)).await.unwrap();
    assert_eq!((loaded.version, loaded.state.get()), (2, r#"{"last":"again"}"#));
    assert_eq!(
        (loaded.last_active, loaded.idle_timeout),
        (at(2), Duration::from_secs(300))
    );
    assert_eq!(store.transcript(&open).await.unwrap().len(), 4);
    assert_eq!(
        store.find_reply(&open, "m1").await.unwrap().expect("kept").get(),
        r#"{"ok":true}"#
    );
    let ended = SessionId::new("ended");
    assert!(matches!(
        store.load_session(&ended, at(4)).await,
        Err(StoreError::Expired(_))
    ));
    assert_eq!(store.transcript(&ended).await.unwrap().len(), 2);
    assert!(store.find_api_key_by_hash("hash-ci").await.unwrap().is_some());
    assert!(store.find_api_key_by_hash("hash-old").await.unwrap().is_none());
    assert_eq!(store.list_api_keys().await.unwrap().len(), 2);
    // The versions carried over: the next turn continues the sequence.
    let committed = store.commit_turn(turn("open", 2, at(5), "back")).await.unwrap();
    assert_eq!((committed.version, committed.first_seq), (3, 4));
}

/// Instantiates suite functions as tests of one harness.
#[macro_export]
macro_rules! store_suite {
    ($harness:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let harness = $harness;
                $crate::suite::$name(&harness).await;
            }
        )*
    };
}

/// Every test of the suite that opens its store once, for any backend (an in-memory one too).
#[macro_export]
macro_rules! every_store_suite {
    ($harness:expr) => {
        $crate::store_suite!($harness;
            create_load_commit_and_transcript_in_order,
            unknown_sessions_are_not_found,
            creating_a_taken_id_conflicts,
            a_stale_version_conflicts_and_writes_nothing,
            a_reply_is_kept_so_a_retry_is_answered_once,
            idle_sessions_expire_and_keep_their_transcript,
            an_ended_session_keeps_its_transcript,
            concurrent_commits_on_many_sessions_all_land,
            api_keys_are_found_by_hash_until_revoked,
            a_session_has_one_open_transfer_at_a_time,
            a_transfer_update_appends_its_entries_without_gaps,
            a_turn_after_an_agents_message_follows_it,
            a_turn_refused_writes_neither_turn_nor_transfer,
            concurrent_turns_and_transfer_updates_keep_the_transcript_gapless,
            agents_are_upserted_listed_and_removed,
            agent_tokens_expire_and_are_revoked,
            tickets_are_kept_in_order,
        );
    };
}

/// Every test of the suite, for a backend whose `open` reaches the same database each time (the
/// reopening tests need that).
#[macro_export]
macro_rules! durable_store_suite {
    ($harness:expr) => {
        $crate::every_store_suite!($harness);
        $crate::store_suite!($harness;
            reopening_shows_everything_committed,
            reopening_keeps_transfers_agents_tokens_and_tickets,
        );
    };
}
