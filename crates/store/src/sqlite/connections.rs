//! The database file's connections: the writer's (and the lock file that makes it the only
//! writer), the pool of read connections, and the checkpointing thread's.
//!
//! The database is in WAL mode, which lets the readers proceed while the writer commits.
//! With `synchronous=NORMAL` (the default) a commit is in the operating system's hands when the
//! caller is answered: it survives the process being killed (`kill -9`, a panic, an OOM kill) but
//! not the machine losing power.
//! With `synchronous=FULL` (`?synchronous=full` in the URL) each group commit also waits for an
//! fsync, and survives power loss too; on the 2-core development machines that fsync took 2–3 ms,
//! which cut throughput several times over, so NORMAL is the default (figures in
//! `benches/commit.rs`).
//! Checkpoints (copying the WAL into the database file, which fsyncs in either mode) run on a
//! thread of their own every 200 ms, so no commit waits for them; the writer checkpoints itself
//! only if the WAL passes 20,000 pages.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::migrations::migrate;
use super::{SqliteOptions, Synchronous};
use crate::StoreError;
use crate::columns::corrupt;

/// How many idle read connections are kept.
const MAX_IDLE_READERS: usize = 4;
/// How long a reader waits for a lock (only a WAL checkpoint or recovery takes one) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the checkpointing thread copies the WAL into the database file.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(200);
/// WAL size, in pages, past which the writer checkpoints itself.
const FALLBACK_CHECKPOINT_PAGES: i64 = 20_000;

/// Opens the writer's connection, the only read-write one, and brings the schema up to date;
/// with a database file, also takes the lock file that keeps a second process out, which the
/// caller holds as long as it writes.
pub(super) fn open_writer(options: &SqliteOptions) -> Result<(Connection, Option<File>), StoreError> {
    let (mut conn, lock) = match &options.path {
        Some(path) => {
            let lock = lock_database(path)?;
            let conn = Connection::open(path)?;
            let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(corrupt(format!(
                    "could not switch the database to WAL mode (it is in {mode} mode)"
                )));
            }
            (conn, Some(lock))
        }
        None => (Connection::open_in_memory()?, None),
    };
    let synchronous = match options.synchronous {
        Synchronous::Normal => "NORMAL",
        Synchronous::Full => "FULL",
    };
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Checkpoints run on their own thread (see `run_checkpoints`); the writer checkpoints only
    // if that thread falls far behind, so the WAL stays bounded.
    conn.pragma_update(None, "wal_autocheckpoint", FALLBACK_CHECKPOINT_PAGES)?;
    conn.set_prepared_statement_cache_capacity(32);
    migrate(&mut conn)?;
    Ok((conn, lock))
}

fn lock_database(path: &Path) -> Result<File, StoreError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push("-lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|error| StoreError::Database(Box::new(error)))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(TryLockError::WouldBlock) => Err(StoreError::Locked(path.display().to_string())),
        Err(TryLockError::Error(error)) => Err(StoreError::Database(Box::new(error))),
    }
}

/// A pool of read-only connections to a database file, used from the blocking thread pool.
pub(super) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    pub(super) fn new(path: PathBuf) -> ReadPool {
        ReadPool {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    pub(super) fn run<T>(&self, read: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let idle = self.lock_idle().pop();
        let conn = match idle {
            Some(conn) => conn,
            None => open_reader(&self.path)?,
        };
        let result = read(&conn);
        let mut idle = self.lock_idle();
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        result
    }

    fn lock_idle(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Copies committed pages from the WAL into the database file every `CHECKPOINT_INTERVAL` until
/// `stop` closes.
///
/// A checkpoint waits for fsyncs even with `synchronous=NORMAL`; on this thread they delay no
/// commit. A passive checkpoint never blocks the writer or readers: it copies what it can, and
/// the writer starts the WAL over once everything has been copied.
pub(super) fn run_checkpoints(path: &Path, stop: &std::sync::mpsc::Receiver<()>) {
    let Ok(conn) = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE) else {
        // Without this thread the writer's fallback checkpoints still bound the WAL.
        return;
    };
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_INTERVAL) {
        // A failed checkpoint is retried at the next interval; the WAL only grows meanwhile.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.pragma_update(None, "query_only", true)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}
