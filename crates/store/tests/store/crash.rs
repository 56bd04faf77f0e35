//! Acknowledged means durable: a child process commits turns and prints each acknowledged one,
//! the test kills it with SIGKILL mid-run, reopens the database and finds every acknowledged entry.
//! Each session also has an open transfer whose updates (an agent's message each) are
//! acknowledged the same way.
//!
//! The child is this same test binary, re-run with `child_writer` selected and the database path
//! in `CHILD_DB_ENV`; in an ordinary run `child_writer` sees no path and returns at once.
//! (Re-running the test binary needs no other target to be built first, unlike an example.)

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

use baton_store::{
    EntryKind, NewEntry, NewTransfer, SessionId, SqliteOptions, SqliteStore, Store, TransferUpdate, TransferWrite,
};

use crate::suite::{at, json, new_session, turn};

const CHILD_DB_ENV: &str = "BATON_STORE_CRASH_CHILD_DB";
const N_SESSIONS: usize = 8;
/// Acknowledgements to see before the kill; the child keeps writing until it is killed.
const ACKS_BEFORE_KILL: usize = 3_000;

#[test]
fn acknowledged_turns_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash::child_writer", "--nocapture", "--test-threads=1"])
        .env(CHILD_DB_ENV, &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the child writer");
    let stdout = child.stdout.take().unwrap();
    // The highest acknowledged sequence number per session.
    let mut acknowledged: HashMap<String, u64> = HashMap::new();
    let mut n_acks = 0;
    let mut killed = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let Some(ack) = line.strip_prefix("ack ") else { continue };
        let (session, seq) = ack.split_once(' ').unwrap();
        let seq: u64 = seq.parse().unwrap();
        let highest = acknowledged.entry(session.to_owned()).or_default();
        *highest = (*highest).max(seq);
        n_acks += 1;
        if n_acks == ACKS_BEFORE_KILL {
            // Child::kill sends SIGKILL: no destructor, no flush, no checkpoint runs in the child.
            child.kill().unwrap();
            killed = true;
        }
        // Lines already in the pipe when the child died were acknowledged too: keep reading.
    }
    child.wait().unwrap();
    assert!(killed, "the child stopped on its own after {n_acks} acknowledgements");
    assert_eq!(acknowledged.len(), N_SESSIONS);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(SqliteOptions::file(&db))
            .await
            .expect("reopen after the crash");
        for (session, highest) in &acknowledged {
            let transcript = store.transcript(&SessionId::new(session.as_str())).await.unwrap();
            let seqs: Vec<u64> = transcript.iter().map(|entry| entry.seq).collect();
            assert!(
                seqs.len() as u64 > *highest,
                "session {session}: entry {highest} was acknowledged, only {} survived",
                seqs.len()
            );
            assert_eq!(
                seqs,
                (0..seqs.len() as u64).collect::<Vec<_>>(),
                "session {session} has gaps"
            );
        }
        assert_eq!(store.open_transfers().await.unwrap().len(), N_SESSIONS);
    });
}

/// The child's side of `acknowledged_turns_survive_kill_9`; does nothing in an ordinary run.
#[test]
fn child_writer() {
    let Some(db) = std::env::var_os(CHILD_DB_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async move {
        let store = Arc::new(SqliteStore::open(SqliteOptions::file(db)).await.unwrap());
        let mut tasks = Vec::new();
        for session_idx in 0..N_SESSIONS {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                let id = format!("s{session_idx}");
                store.create_session(new_session(&id, at(0))).await.unwrap();
                let transfer_id = format!("t{session_idx}");
                for version in 0.. {
                    let mut record = turn(&id, version, at(1), "hi");
                    if version == 0 {
                        record.transfer = Some(TransferWrite::Open(NewTransfer {
                            id: transfer_id.clone(),
                            session_id: SessionId::new(id.as_str()),
                            queue: None,
                            state: "requested".to_owned(),
                            value: json("{}"),
                            request: json("{}"),
                            at: at(1),
                        }));
                    }
                    let committed = store.commit_turn(record).await.unwrap();
                    // The turn's last entry is the one printed: all before it are in the same
                    // transaction.
                    print_ack(&id, committed.first_seq + 1);
                    let update = TransferUpdate {
                        id: transfer_id.clone(),
                        state: "active".to_owned(),
                        open: true,
                        agent_id: Some("alice".to_owned()),
                        chat_id: None,
                        value: json("{}"),
                        at: at(1),
                        entries: vec![NewEntry {
                            kind: EntryKind::Agent,
                            at: at(1),
                            payload: json(r#"{"text":"hello"}"#),
                        }],
                    };
                    print_ack(&id, store.update_transfer(update).await.unwrap());
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
}

fn print_ack(session: &str, seq: u64) {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "ack {session} {seq}").unwrap();
    stdout.flush().unwrap();
}
