//! The step function (filled in by the runtime work).

use chrono::{DateTime, Utc};

use baton_assistant::Assistant;

use crate::{Event, Session, Turn, TurnDebug};

pub(crate) fn step(_assistant: &Assistant, session: Session, _event: Event, _now: DateTime<Utc>) -> Turn {
    Turn {
        session,
        effects: Vec::new(),
        debug: TurnDebug::default(),
    }
}
