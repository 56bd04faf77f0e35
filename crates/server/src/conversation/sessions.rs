//! What this process keeps about sessions besides the store: one lock per session with a turn in
//! progress, and the sessions it served recently (for the active gauge, and the session its last
//! turn left, so the next turn need not parse the stored state again).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::OwnedMutexGuard;

use baton_dialog::Session;

/// One async mutex per session with a turn in progress, so turns (and every change to the
/// session's transfer) run one at a time in this process; entries are removed when nobody holds
/// or waits for them.
#[derive(Default)]
pub(crate) struct SessionLocks {
    locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

/// A held session lock; dropping it lets the next waiter in and forgets an unused entry. It owns
/// what it needs, so a turn can hand it to a task that finishes the turn's work after the reply
/// (opening a chat) with no other turn of the session in between.
pub(crate) struct SessionGuard {
    locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    session_id: String,
    lock: Arc<tokio::sync::Mutex<()>>,
    guard: Option<OwnedMutexGuard<()>>,
}

impl SessionLocks {
    /// Waits for the session's lock.
    pub async fn lock(&self, session_id: &str) -> SessionGuard {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            locks.entry(session_id.to_owned()).or_default().clone()
        };
        let guard = lock.clone().lock_owned().await;
        SessionGuard {
            locks: self.locks.clone(),
            session_id: session_id.to_owned(),
            lock,
            guard: Some(guard),
        }
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut locks = self.locks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Two references: the map's and ours. More means another task holds or waits for it.
        if Arc::strong_count(&self.lock) == 2 {
            locks.remove(&self.session_id);
        }
    }
}

/// Sessions this process created or answered, by last activity.
#[derive(Default)]
pub(crate) struct ActiveSessions {
    sessions: Mutex<HashMap<String, Active>>,
}

/// A session this process has served recently.
struct Active {
    last: DateTime<Utc>,
    /// The session as its last turn here left it, with the version that turn committed: the
    /// next turn takes it instead of parsing the stored state (JSON) again, about 5% of a
    /// message's instructions. Keyed by version, it is never stale: every change to a session's
    /// state raises its version. Ended and expired sessions leave the map with their entry.
    /// Boxed: a `Session` is some hundreds of bytes, and most entries (idle sessions) hold none.
    session: Option<Box<(u64, Session)>>,
}

impl ActiveSessions {
    pub fn touch(&self, session_id: &str, now: DateTime<Utc>) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        entry(&mut sessions, session_id).last = now;
    }

    /// Like [`ActiveSessions::touch`], keeping the session as the turn just committed at
    /// `version` left it.
    pub fn keep(&self, session_id: &str, now: DateTime<Utc>, version: u64, session: Session) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let known = entry(&mut sessions, session_id);
        known.last = now;
        known.session = Some(Box::new((version, session)));
    }

    /// The session kept by the last turn here, if the stored one is still at its `version`.
    pub fn take(&self, session_id: &str, version: u64) -> Option<Session> {
        let mut sessions = self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let known = sessions.get_mut(session_id)?;
        match known.session.take().map(|kept| *kept) {
            Some((kept_version, session)) if kept_version == version => Some(session),
            _ => None,
        }
    }

    pub fn forget(&self, session_id: &str) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        sessions.remove(session_id);
    }

    /// Sessions active since `since`, as seen by this process; forgets the others.
    pub fn count_since(&self, since: DateTime<Utc>) -> usize {
        let mut sessions = self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        sessions.retain(|_, known| known.last >= since);
        sessions.len()
    }
}

/// The entry of a session, made (and its id copied) only when it is missing; the caller sets
/// `last`.
fn entry<'a>(sessions: &'a mut HashMap<String, Active>, session_id: &str) -> &'a mut Active {
    if !sessions.contains_key(session_id) {
        let fresh = Active {
            last: DateTime::<Utc>::MIN_UTC,
            session: None,
        };
        sessions.insert(session_id.to_owned(), fresh);
    }
    sessions.get_mut(session_id).expect("inserted above")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lock_is_forgotten_once_nobody_holds_or_waits_for_it() {
        let locks = SessionLocks::default();
        let first = locks.lock("s").await;
        let mut waiting = Box::pin(locks.lock("s"));
        let held = tokio::time::timeout(std::time::Duration::from_millis(20), &mut waiting).await;
        assert!(held.is_err(), "the second turn waits for the first");
        drop(first);
        // The waiting turn keeps the entry.
        assert_eq!(locks.locks.lock().unwrap().len(), 1);
        let second = waiting.await;
        drop(second);
        assert!(locks.locks.lock().unwrap().is_empty());
    }

    #[test]
    fn a_kept_session_is_given_back_only_at_its_version() {
        let active = ActiveSessions::default();
        let now = DateTime::<Utc>::UNIX_EPOCH;
        active.keep("s", now, 3, Session::default());
        assert!(active.take("s", 4).is_none());
        active.keep("s", now, 3, Session::default());
        assert!(active.take("s", 3).is_some());
        assert!(active.take("s", 3).is_none(), "taken once");
        assert_eq!(active.count_since(now), 1);
        active.forget("s");
        assert_eq!(active.count_since(now), 0);
    }
}
