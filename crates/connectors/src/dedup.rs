//! The ids of the last events a desk delivered, so a delivery repeated by the desk (every desk's
//! webhooks may arrive twice) is dropped while the process runs.

use std::collections::{HashSet, VecDeque};

/// The last `capacity` ids, oldest forgotten first.
#[derive(Debug)]
pub struct SeenIds {
    capacity: usize,
    order: VecDeque<String>,
    ids: HashSet<String>,
}

impl SeenIds {
    pub fn new(capacity: usize) -> SeenIds {
        SeenIds {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            ids: HashSet::new(),
        }
    }

    /// Remembers `id`; `false` when it was already there.
    pub fn insert(&mut self, id: &str) -> bool {
        if !self.ids.insert(id.to_owned()) {
            return false;
        }
        self.order.push_back(id.to_owned());
        if self.order.len() > self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.ids.remove(&oldest);
        }
        true
    }
}

/// The hand-back an agent set up in a desk's key-value fields (custom attributes, metadata):
/// `baton_resume` names the action to resume, each `baton_var_NAME` becomes the variable `NAME`.
pub fn hand_back(fields: Option<&serde_json::Map<String, serde_json::Value>>) -> baton_desk::EndReason {
    let resume = fields
        .and_then(|fields| fields.get(RESUME_KEY))
        .and_then(serde_json::Value::as_str)
        .map(str::trim)
        .filter(|action| !action.is_empty())
        .map(str::to_owned);
    let variables = fields
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| Some((key.strip_prefix(VARIABLE_PREFIX)?.to_owned(), value.clone())))
        .filter(|(name, _)| !name.is_empty())
        .collect();
    baton_desk::EndReason::HandBack { resume, variables }
}

/// The field an agent sets to name the action the assistant resumes on hand-back.
pub const RESUME_KEY: &str = "baton_resume";
/// Fields named `baton_var_NAME` become the variable `NAME` on hand-back.
pub const VARIABLE_PREFIX: &str = "baton_var_";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_id_is_seen_and_the_oldest_are_forgotten() {
        let mut seen = SeenIds::new(2);
        assert!(seen.insert("a"));
        assert!(!seen.insert("a"));
        assert!(seen.insert("b"));
        assert!(seen.insert("c"));
        assert!(seen.insert("a"), "the oldest was forgotten");
        assert!(!seen.insert("c"));
    }
}
