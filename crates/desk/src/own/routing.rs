//! Routing decisions of Baton's own desk, a pure function of the desk's state and the time.
//!
//! Rules, in order:
//! 1. a chat whose join deadline passed times out (its pending offer is withdrawn);
//! 2. an offer not accepted in time expires: the chat goes back to its place in line and that agent
//!    is not offered it again;
//! 3. waiting chats, oldest first, are offered to the longest-idle agent who is online, serves the
//!    chat's queue, has room under their capacity and has not passed on this chat — only while the
//!    queue is within its business hours. "Longest idle" means fewest chats first, then the
//!    earliest `idle_since` (came online, or last took or finished a chat);
//! 4. every chat still waiting is told its position and estimated wait when either changed.
//!
//! Timeouts are decided before offers so one round never offers a chat that is about to time out.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::state::{ChatState, DeskState, Phase};
use crate::ids::{AgentId, ChatId, QueueName};

/// One thing routing wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    TimeOut {
        chat: ChatId,
    },
    ExpireOffer {
        chat: ChatId,
    },
    Offer {
        chat: ChatId,
        agent: AgentId,
    },
    PushPosition {
        chat: ChatId,
        position: u32,
        wait: Option<Duration>,
    },
}

/// What routing wants done now. Empty when the desk is settled.
pub fn decide(state: &DeskState, now: DateTime<Utc>) -> Vec<Decision> {
    let mut decisions = Vec::new();
    for (id, chat) in &state.chats {
        match &chat.phase {
            Phase::Active { .. } => {}
            _ if chat.join_deadline <= now => decisions.push(Decision::TimeOut { chat: id.clone() }),
            Phase::Offered { until, .. } if *until <= now => decisions.push(Decision::ExpireOffer { chat: id.clone() }),
            _ => {}
        }
    }
    if !decisions.is_empty() {
        return decisions;
    }

    // Offers, oldest waiting chat first across all queues.
    let mut waiting: Vec<(&ChatId, &ChatState)> = state
        .chats
        .iter()
        .filter(|(_, chat)| chat.phase == Phase::Waiting)
        .collect();
    waiting.sort_by_key(|(id, chat)| (chat.queued_at, (*id).clone()));
    let mut extra_load: BTreeMap<&AgentId, u32> = BTreeMap::new();
    for (id, chat) in &waiting {
        if !state.is_open(&chat.queue, now) {
            continue;
        }
        let candidate = state
            .agents
            .iter()
            .filter(|(agent_id, agent)| {
                let extra = extra_load.get(agent_id).copied().unwrap_or(0);
                agent.can_take(&chat.queue, extra) && !chat.passed.contains(*agent_id)
            })
            .min_by_key(|(agent_id, agent)| {
                let load = agent.load() + extra_load.get(agent_id).copied().unwrap_or(0);
                (load, agent.idle_since, (*agent_id).clone())
            });
        if let Some((agent_id, _)) = candidate {
            *extra_load.entry(agent_id).or_default() += 1;
            decisions.push(Decision::Offer {
                chat: (*id).clone(),
                agent: agent_id.clone(),
            });
        }
    }
    if !decisions.is_empty() {
        // Positions are computed on the next round, once the offers are made.
        return decisions;
    }

    let mut positions: BTreeMap<&QueueName, u32> = BTreeMap::new();
    for (id, chat) in &waiting {
        let position = positions.entry(&chat.queue).or_default();
        *position += 1;
        let wait = state.estimate_wait(&chat.queue, *position, now);
        if chat.last_pushed != Some((*position, wait)) {
            decisions.push(Decision::PushPosition {
                chat: (*id).clone(),
                position: *position,
                wait,
            });
        }
    }
    decisions
}
