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

/// The hand-back an agent typed as a command's words, `[action] [name=value …]` (Matrix's
/// `!handback`, Salesforce's): a value is JSON where it parses as JSON, else text. The word not
/// understood, as an error.
pub fn hand_back_words<'a>(words: impl Iterator<Item = &'a str>) -> Result<baton_desk::EndReason, String> {
    let (resume, variables) = hand_back_parts(words)?;
    Ok(baton_desk::EndReason::HandBack { resume, variables })
}

/// [`hand_back_words`]'s action and variables.
pub(crate) fn hand_back_parts<'a>(
    words: impl Iterator<Item = &'a str>,
) -> Result<(Option<String>, std::collections::BTreeMap<String, serde_json::Value>), String> {
    let mut resume = None;
    let mut variables = std::collections::BTreeMap::new();
    for (idx, word) in words.enumerate() {
        match word.split_once('=') {
            Some((name, value)) if !name.is_empty() => {
                let value = serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.to_owned()));
                variables.insert(name.to_owned(), value);
            }
            _ if idx == 0 => resume = Some(word.to_owned()),
            _ => return Err(word.to_owned()),
        }
    }
    Ok((resume, variables))
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

    #[test]
    fn hand_back_words_read_the_action_and_typed_variables() {
        let reason = hand_back_words("pay_bill amount=42 note=late".split_whitespace()).unwrap();
        let baton_desk::EndReason::HandBack { resume, variables } = reason else {
            unreachable!()
        };
        assert_eq!(resume.as_deref(), Some("pay_bill"));
        assert_eq!(variables["amount"], serde_json::json!(42));
        assert_eq!(variables["note"], serde_json::json!("late"));
        assert_eq!(hand_back_words("a b".split_whitespace()), Err("b".to_owned()));
    }
}
