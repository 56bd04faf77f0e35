//! The writer thread: the only connection that writes, with group commit, and the cache of open
//! sessions it keeps.
//!
//! Every write is a message to this one thread, which owns the only read-write connection.
//! The writer takes every write waiting in its queue (up to [`MAX_BATCH`]), applies them all in
//! one transaction, commits, and only then answers each caller through its oneshot channel.
//! Writes arriving while a transaction is open wait for the next one, so under load one commit
//! (and with `synchronous=FULL`, one fsync) carries many turns: this group commit is what makes
//! "acknowledged means committed" affordable.
//! Before it begins, the writer yields the processor a few times while writes keep arriving, so
//! turns finishing in the same instant share a transaction (see [`GATHER_YIELDS`]); under load it
//! also waits a little for as many writes as the last transaction carried (see [`GATHER_WAIT`]).
//! Each write checks everything that could refuse it (version, expiry, duplicate reply) before it
//! writes anything, so a refused write needs no savepoint; an unexpected database error fails the
//! whole batch, and every write in it is answered with that error.
//!
//! The writer keeps an in-memory copy of every open session ([`Cache`]), filled at open and
//! changed only by the writer, after a commit and before it answers the callers.
//! So a session is in the cache exactly when it exists and has not ended, and the cached copy is
//! the last committed one: `load_session` is a hash-map lookup and never waits for the database.
//! The cost is memory for the open sessions (ended ones leave the cache) and the rule that one
//! process at a time may write the database: a lock file (`PATH-lock`) enforces it.
//!
//! An in-memory database cannot be shared between connections, so there reads are handed to the
//! writer too ([`Op::Read`]), which runs them between transactions.

use std::collections::HashMap;
use std::fs::File;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::sessions::{self, SessionRows};
use super::{SqliteOptions, agents, api_keys, connections, tickets, transfers};
use crate::{
    AgentRecord, AgentToken, ApiKey, ApiKeyId, NewSession, SessionId, StoreError, StoredSession, Ticket,
    TransferUpdate, TurnCommitted, TurnRecord,
};

/// The most writes one transaction carries.
const MAX_BATCH: usize = 1024;
/// How many times the writer lets other threads run to gather more writes into a transaction.
const GATHER_YIELDS: usize = 3;
/// Under load (the last transaction carried more than one write), how long the writer waits for
/// as many writes as the last transaction carried before it begins with fewer.
///
/// A transaction's fixed cost (waking the writer, the locks, the WAL header and index, the
/// context switches) was measured at about 27 µs of CPU against 3.5 µs per turn, and without the
/// wait the writer often settled into transactions of two to five turns: with wrk at 64 sessions
/// it then used 19–33% of a core. Waiting up to this long gathers 10–30 turns and the writer uses
/// 16–22% (throughput and p99 moved less than the machine's noise; docs/benchmarks.md). A lone
/// client's transactions carry one write, so it never waits.
const GATHER_WAIT: Duration = Duration::from_micros(150);
/// How long the writer sleeps between looks at its queue while it waits.
const GATHER_STEP: Duration = Duration::from_micros(20);
/// How many writes may wait for the writer before callers wait to hand theirs over.
const QUEUE_CAPACITY: usize = 4096;

pub(super) type Ack<T> = oneshot::Sender<Result<T, StoreError>>;
pub(super) type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// A request to the writer thread.
pub(super) enum Op {
    CreateSession(NewSession, Ack<()>),
    CommitTurn(TurnRecord, Ack<TurnCommitted>),
    EndSession(SessionId, DateTime<Utc>, Ack<()>),
    ExpireIdle(DateTime<Utc>, Ack<Vec<SessionId>>),
    CreateApiKey {
        name: String,
        hash: String,
        now: DateTime<Utc>,
        ack: Ack<ApiKey>,
    },
    RevokeApiKey(ApiKeyId, DateTime<Utc>, Ack<()>),
    UpdateTransfer(TransferUpdate, Ack<u64>),
    UpsertAgent(AgentRecord, Ack<()>),
    RemoveAgent(String, Ack<bool>),
    CreateAgentToken(AgentToken, Ack<()>),
    RevokeAgentToken(String, Ack<()>),
    CreateTicket(Ticket, Ack<()>),
    /// A read for an in-memory database, run after the current transaction commits.
    Read(ReadJob),
}

/// The committed state of open sessions, changed only by the writer.
///
/// API keys and agents are deliberately not cached: `baton apikey` and `baton agents` change them
/// from another process (see [`crate::open_admin`]) while the server runs.
#[derive(Default)]
pub(super) struct Cache {
    sessions: Mutex<HashMap<SessionId, StoredSession>>,
}

impl Cache {
    // The maps hold plain data that every change leaves whole, so a poisoned lock is still usable.
    pub(super) fn sessions(&self) -> MutexGuard<'_, HashMap<SessionId, StoredSession>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn apply(&self, change: CacheChange) {
        match change {
            CacheChange::PutSession(session) => {
                self.sessions().insert(session.id.clone(), session);
            }
            CacheChange::RemoveSessions(ids) => {
                let mut sessions = self.sessions();
                for id in &ids {
                    sessions.remove(id);
                }
            }
        }
    }
}

/// What a write changes in the cache once its transaction has committed.
enum CacheChange {
    PutSession(StoredSession),
    RemoveSessions(Vec<SessionId>),
}

/// Answers one caller once the fate of its transaction is known: `None` if it committed, or why
/// it did not.
type Answer = Box<dyn FnOnce(Option<&str>) + Send>;

fn answer<T: Send + 'static>(ack: Ack<T>, result: Result<T, StoreError>) -> Answer {
    Box::new(move |failure| {
        let result = match (failure, result) {
            (Some(why), Ok(_)) => Err(StoreError::Database(Box::new(BatchFailed(why.to_owned())))),
            (_, result) => result,
        };
        // The caller may have stopped waiting; its write stands either way.
        let _ = ack.send(result);
    })
}

#[derive(Debug, thiserror::Error)]
#[error("the transaction holding this write failed: {0}")]
struct BatchFailed(String);

/// Moves the writes waiting in `ops` into `batch`, up to [`MAX_BATCH`] in all.
fn drain(ops: &mut mpsc::Receiver<Op>, batch: &mut Vec<Op>) {
    while batch.len() < MAX_BATCH {
        match ops.try_recv() {
            Ok(op) => batch.push(op),
            Err(_) => break,
        }
    }
}

/// Starts the writer thread on the database `options` name and waits until it has opened and
/// migrated the database and filled `cache`; returns the writer's queue and its thread, which ends
/// once the queue is closed and what it held is committed.
pub(super) async fn start(
    options: &SqliteOptions,
    cache: Arc<Cache>,
) -> Result<(mpsc::Sender<Op>, JoinHandle<()>), StoreError> {
    let (ops_sender, ops_receiver) = mpsc::channel(QUEUE_CAPACITY);
    let (ready_sender, ready_receiver) = oneshot::channel();
    let options = options.clone();
    let writer = std::thread::Builder::new()
        .name("baton-store-writer".to_owned())
        .spawn(move || match Writer::open(&options, cache) {
            Ok(writer) => {
                if ready_sender.send(Ok(())).is_ok() {
                    writer.run(ops_receiver);
                }
            }
            Err(error) => {
                let _ = ready_sender.send(Err(error));
            }
        })
        .map_err(|error| StoreError::Database(Box::new(error)))?;
    match ready_receiver.await {
        Ok(Ok(())) => Ok((ops_sender, writer)),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(StoreError::Closed),
    }
}

struct Writer {
    conn: Connection,
    cache: Arc<Cache>,
    rows: SessionRows,
    /// Held for the writer's life: the lock that keeps a second process out.
    _lock: Option<File>,
}

impl Writer {
    fn open(options: &SqliteOptions, cache: Arc<Cache>) -> Result<Writer, StoreError> {
        let (conn, lock) = connections::open_writer(options)?;
        {
            let mut cached = cache.sessions();
            for session in sessions::read_open(&conn)? {
                cached.insert(session.id.clone(), session);
            }
        }
        Ok(Writer {
            conn,
            cache,
            rows: SessionRows::default(),
            _lock: lock,
        })
    }

    fn run(mut self, mut ops: mpsc::Receiver<Op>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut last_batch = 0;
        while let Some(op) = ops.blocking_recv() {
            // Group commit: everything that queued up while the last transaction was open goes
            // into this one.
            batch.push(op);
            drain(&mut ops, &mut batch);
            // Callers still working on their turns would miss this transaction by microseconds
            // and each pay for one of their own: give them the processor a few times first.
            // A transaction's fixed cost (locks, commit, WAL index) is several turns' worth; at 64
            // sessions in `baton bench http` a transaction carries four times as many turns.
            // With nothing else runnable a yield returns at once, so a lone turn is not held up.
            for _ in 0..GATHER_YIELDS {
                if batch.len() >= MAX_BATCH {
                    break;
                }
                std::thread::yield_now();
                if ops.is_empty() {
                    break;
                }
                drain(&mut ops, &mut batch);
            }
            if last_batch > 1 {
                let started = Instant::now();
                while batch.len() < last_batch && started.elapsed() < GATHER_WAIT {
                    std::thread::sleep(GATHER_STEP);
                    drain(&mut ops, &mut batch);
                }
            }
            last_batch = batch.len();
            self.write_batch(&mut batch);
        }
    }

    fn write_batch(&mut self, batch: &mut Vec<Op>) {
        let mut answers: Vec<Answer> = Vec::with_capacity(batch.len());
        let mut changes: Vec<CacheChange> = Vec::with_capacity(batch.len());
        let mut reads: Vec<ReadJob> = Vec::new();
        let failure = self.apply_batch(batch, &mut answers, &mut changes, &mut reads);
        if failure.is_some() {
            // The rows as this transaction left them were never committed.
            self.rows.forget_all();
        }
        // The cache changes before anyone is answered, so a caller that saw its write acknowledged
        // loads what it wrote.
        if failure.is_none() {
            for change in changes {
                self.cache.apply(change);
            }
        }
        for answer in answers {
            answer(failure.as_deref());
        }
        for read in reads {
            read(&self.conn);
        }
    }

    /// Applies the batch in one transaction; returns why it did not commit, if it did not.
    fn apply_batch(
        &mut self,
        batch: &mut Vec<Op>,
        answers: &mut Vec<Answer>,
        changes: &mut Vec<CacheChange>,
        reads: &mut Vec<ReadJob>,
    ) -> Option<String> {
        let tx = match begin(&self.conn) {
            Ok(()) => &self.conn,
            Err(error) => {
                let why = error.to_string();
                for op in batch.drain(..) {
                    fail(op, &why, answers, reads);
                }
                return Some(why);
            }
        };
        let mut failure: Option<String> = None;
        for op in batch.drain(..) {
            if let Some(why) = &failure {
                fail(op, why, answers, reads);
                continue;
            }
            let database_error = match op {
                Op::CreateSession(session, ack) => {
                    let result =
                        sessions::create(tx, session).map(|stored| changes.push(CacheChange::PutSession(stored)));
                    settle(ack, result, answers)
                }
                Op::CommitTurn(turn, ack) => {
                    let result = sessions::commit_turn(tx, &mut self.rows, turn).map(|(committed, stored)| {
                        changes.push(CacheChange::PutSession(stored));
                        committed
                    });
                    settle(ack, result, answers)
                }
                Op::EndSession(id, now, ack) => {
                    self.rows.forget(&id);
                    let result =
                        sessions::end(tx, &id, now).map(|()| changes.push(CacheChange::RemoveSessions(vec![id])));
                    settle(ack, result, answers)
                }
                Op::ExpireIdle(now, ack) => {
                    let candidates: Vec<SessionId> = self
                        .cache
                        .sessions()
                        .values()
                        .filter(|session| session.is_idle(now))
                        .map(|session| session.id.clone())
                        .collect();
                    let result = sessions::expire_idle(tx, candidates, now).inspect(|ended| {
                        for id in ended {
                            self.rows.forget(id);
                        }
                        changes.push(CacheChange::RemoveSessions(ended.clone()));
                    });
                    settle(ack, result, answers)
                }
                Op::CreateApiKey { name, hash, now, ack } => {
                    settle(ack, api_keys::create(tx, name, hash, now), answers)
                }
                Op::RevokeApiKey(id, now, ack) => settle(ack, api_keys::revoke(tx, id, now), answers),
                Op::UpdateTransfer(update, ack) => {
                    settle(ack, transfers::update(tx, &mut self.rows, update, None), answers)
                }
                Op::UpsertAgent(agent, ack) => settle(ack, agents::upsert(tx, &agent), answers),
                Op::RemoveAgent(username, ack) => settle(ack, agents::remove(tx, &username), answers),
                Op::CreateAgentToken(token, ack) => settle(ack, agents::create_token(tx, &token), answers),
                Op::RevokeAgentToken(hash, ack) => settle(ack, agents::revoke_token(tx, &hash), answers),
                Op::CreateTicket(ticket, ack) => settle(ack, tickets::create(tx, &ticket), answers),
                Op::Read(job) => {
                    reads.push(job);
                    None
                }
            };
            failure = database_error;
        }
        if let Some(why) = failure {
            rollback(tx);
            return Some(why);
        }
        match tx.prepare_cached("COMMIT").and_then(|mut commit| commit.execute([])) {
            Ok(_) => None,
            Err(error) => {
                // A commit that failed may leave the transaction open (busy, full disk).
                rollback(tx);
                Some(error.to_string())
            }
        }
    }
}

/// Begins the batch's transaction, taking the write lock at once.
///
/// `BEGIN IMMEDIATE` and `COMMIT` are prepared once and kept with the other statements: through
/// rusqlite's `Transaction` each was parsed again every time, 2% of a message's instructions.
fn begin(conn: &Connection) -> rusqlite::Result<()> {
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    Ok(())
}

/// Rolls back the open transaction, if there is one. As when rusqlite's `Transaction` is dropped,
/// a rollback that fails is not reported: the batch's callers are already told it failed.
fn rollback(conn: &Connection) {
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
}

/// Queues the answer to a write; returns the error text if the write hit a database error, which
/// dooms its whole transaction.
fn settle<T: Send + 'static>(ack: Ack<T>, result: Result<T, StoreError>, answers: &mut Vec<Answer>) -> Option<String> {
    let database_error = match &result {
        Err(error @ StoreError::Database(_)) => Some(error_chain(error)),
        _ => None,
    };
    answers.push(answer(ack, result));
    database_error
}

/// Answers a write that never ran because its transaction was already doomed.
fn fail(op: Op, why: &str, answers: &mut Vec<Answer>, reads: &mut Vec<ReadJob>) {
    let doomed = || StoreError::Database(Box::new(BatchFailed(why.to_owned())));
    let answer: Answer = match op {
        Op::CreateSession(_, ack) => answer(ack, Err(doomed())),
        Op::CommitTurn(_, ack) => answer(ack, Err(doomed())),
        Op::EndSession(_, _, ack) => answer(ack, Err(doomed())),
        Op::ExpireIdle(_, ack) => answer(ack, Err(doomed())),
        Op::CreateApiKey { ack, .. } => answer(ack, Err(doomed())),
        Op::RevokeApiKey(_, _, ack) => answer(ack, Err(doomed())),
        Op::UpdateTransfer(_, ack) => answer(ack, Err(doomed())),
        Op::UpsertAgent(_, ack) => answer(ack, Err(doomed())),
        Op::RemoveAgent(_, ack) => answer(ack, Err(doomed())),
        Op::CreateAgentToken(_, ack) => answer(ack, Err(doomed())),
        Op::RevokeAgentToken(_, ack) => answer(ack, Err(doomed())),
        Op::CreateTicket(_, ack) => answer(ack, Err(doomed())),
        Op::Read(job) => {
            reads.push(job);
            return;
        }
    };
    answers.push(answer);
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
