//! [`Assistants`]: the assistants a server serves, by id, each ready to talk, and replaced when
//! an edited one is reloaded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use baton_dialog::Engine;

/// What replacing or adding an assistant can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AssistantsError {
    #[error("two assistants have the id {0}")]
    DuplicateAssistant(String),
    #[error("no assistant with the id {0} is served (the ids are fixed when the server starts)")]
    UnknownAssistant(String),
}

/// The assistants a server serves, by id, each ready to talk ([`Engine`]).
///
/// An assistant can be replaced while the server runs (`baton serve` reloads an edited folder):
/// a turn takes the engine when it starts and finishes with it, the next turn gets the new one,
/// and sessions carry on (the runtime reads a stored session against whatever assistant it is
/// given). The set of ids is fixed when the server starts. Clones share the same assistants.
#[derive(Clone, Default)]
pub struct Assistants {
    engines: Arc<HashMap<String, Slot>>,
}

/// One assistant: the engine serving it, and how its reloads went (read by the preview page).
struct Slot {
    engine: RwLock<Arc<Engine>>,
    reloads: Mutex<ReloadStatus>,
}

/// How an assistant's reloads went, for the preview page.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReloadStatus {
    /// Versions served since start: 0 until the first reload replaces the assistant.
    pub version: u64,
    /// Why the latest edit is not served (each problem with its file, line and column); empty
    /// when the version served is the latest.
    pub problems: Vec<String>,
}

impl std::fmt::Debug for Assistants {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_set().entries(self.engines.keys()).finish()
    }
}

impl Assistants {
    /// The assistants to serve; two with the same id are an error.
    pub fn new(engines: impl IntoIterator<Item = Engine>) -> Result<Assistants, AssistantsError> {
        let mut map = HashMap::new();
        for engine in engines {
            let id = engine.assistant().id.clone();
            let slot = Slot {
                engine: RwLock::new(Arc::new(engine)),
                reloads: Mutex::default(),
            };
            if map.insert(id.clone(), slot).is_some() {
                return Err(AssistantsError::DuplicateAssistant(id));
            }
        }
        Ok(Assistants { engines: Arc::new(map) })
    }

    /// The engine serving `id` now.
    pub fn get(&self, id: &str) -> Option<Arc<Engine>> {
        let slot = self.engines.get(id)?;
        Some(
            slot.engine
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone(),
        )
    }

    /// How the assistant's reloads went.
    pub fn reload_status(&self, id: &str) -> Option<ReloadStatus> {
        let slot = self.engines.get(id)?;
        Some(
            slot.reloads
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone(),
        )
    }

    /// Records that an edit of the assistant was not served, and why; the next successful
    /// [`Assistants::replace`] clears it.
    pub fn refuse(&self, id: &str, problems: Vec<String>) -> Result<(), AssistantsError> {
        let slot = self
            .engines
            .get(id)
            .ok_or_else(|| AssistantsError::UnknownAssistant(id.to_owned()))?;
        slot.reloads
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .problems = problems;
        Ok(())
    }

    /// Serves `engine` in place of the assistant with its id, from the next turn on. An id that
    /// is not served is refused: the routes and the pages were set up for the ids at start.
    pub fn replace(&self, engine: Engine) -> Result<(), AssistantsError> {
        let id = &engine.assistant().id;
        let Some(slot) = self.engines.get(id) else {
            return Err(AssistantsError::UnknownAssistant(id.clone()));
        };
        *slot.engine.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(engine);
        let mut reloads = slot.reloads.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        reloads.version += 1;
        reloads.problems.clear();
        Ok(())
    }

    /// Whether an assistant has this id.
    pub fn contains(&self, id: &str) -> bool {
        self.engines.contains_key(id)
    }

    /// The ids served, sorted.
    pub fn ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.engines.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids
    }

    pub fn len(&self) -> usize {
        self.engines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.engines.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_dialog::Session;
    use chrono::Utc;

    fn engine(id: &str, says: &str) -> Engine {
        let json = serde_json::json!({
            "id": id,
            "actions": [{"id": "hours", "examples": ["when are you open"], "steps": [{"say": says}]}]
        });
        let loaded = baton_assistant::load::load_str("assistant.json", &json.to_string());
        Engine::new(loaded.assistant.expect("the fixture loads"))
    }

    fn first_say(engine: &Engine) -> String {
        let turn = engine.said(Session::default(), "when are you open", Utc::now());
        format!("{:?}", turn.effects)
    }

    #[test]
    fn an_assistant_is_replaced_for_the_next_turn_and_the_ids_are_fixed() {
        let assistants = Assistants::new([engine("shop", "At 9."), engine("bank", "At 10.")]).unwrap();
        assert_eq!(assistants.ids(), ["bank", "shop"]);
        let running = assistants.get("shop").unwrap();
        assistants.replace(engine("shop", "At 8.")).unwrap();
        // A turn that took the engine before finishes with it; the next one gets the new one.
        assert!(first_say(&running).contains("At 9."));
        assert!(first_say(&assistants.get("shop").unwrap()).contains("At 8."));
        assert!(first_say(&assistants.clone().get("bank").unwrap()).contains("At 10."));
        assert!(matches!(
            assistants.replace(engine("cafe", "At 7.")),
            Err(AssistantsError::UnknownAssistant(id)) if id == "cafe"
        ));
        assert!(assistants.get("cafe").is_none());
        assert_eq!(assistants.reload_status("shop").unwrap().version, 1);
        assert_eq!(assistants.reload_status("bank").unwrap(), ReloadStatus::default());
        assistants
            .refuse("shop", vec!["hours.yaml:4:11: error".into()])
            .unwrap();
        assert_eq!(
            assistants.reload_status("shop").unwrap().problems,
            ["hours.yaml:4:11: error"]
        );
        assistants.replace(engine("shop", "At 6.")).unwrap();
        assert_eq!(
            assistants.reload_status("shop").unwrap(),
            ReloadStatus {
                version: 2,
                problems: Vec::new()
            }
        );
        assert!(matches!(
            Assistants::new([engine("shop", "a"), engine("shop", "b")]),
            Err(AssistantsError::DuplicateAssistant(id)) if id == "shop"
        ));
    }
}
