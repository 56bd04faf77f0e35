//! The JSON Schema of the definition format, derived from [`crate::spec`].
//!
//! The spec types are the format; these schemas are generated from them with `schemars`, so the
//! schema editors use (`baton schema`) and the one the loader validates against cannot drift apart.

use schemars::generate::SchemaSettings;

use crate::spec::{Action, AssistantFile};

const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The schema of `assistant.yaml` (with optional inline `actions:`).
pub fn assistant_schema() -> serde_json::Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    generator.into_root_schema_for::<AssistantFile>().to_value()
}

/// The schema of one action file under `actions/`.
pub fn action_schema() -> serde_json::Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    generator.into_root_schema_for::<Action>().to_value()
}

/// One document describing both kinds of file (what `baton schema` prints): a file is either an
/// `assistant.yaml` or an action file. `$defs/AssistantFile` and `$defs/Action` name each.
pub fn schema() -> serde_json::Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let assistant = generator.subschema_for::<AssistantFile>().to_value();
    let action = generator.subschema_for::<Action>().to_value();
    let definitions = generator.take_definitions(true);
    serde_json::json!({
        "$schema": DIALECT,
        "title": "Baton assistant definition",
        "description": "An assistant.yaml file, or one action file under actions/.",
        "anyOf": [assistant, action],
        "$defs": definitions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(schema: &serde_json::Value, instance: serde_json::Value) -> bool {
        match jsonschema::validator_for(schema) {
            Ok(validator) => validator.is_valid(&instance),
            Err(error) => panic!("schema does not compile: {error}"),
        }
    }

    #[test]
    fn schemas_accept_good_files_and_reject_bad_ones() {
        let action = serde_json::json!({
            "id": "pay_bill",
            "examples": ["pay my bill"],
            "steps": [
                {"say": "How much?", "question": {"type": "currency", "min": 1}},
                {"say": [{"options": {"choices": ["Card", {"label": "Bank", "value": "bank"}]}}], "then": "end"},
                {"then": {"go_to": {"action": "other", "return": false}}},
                {"then": {"connect_to_agent": {"queue": "billing"}}},
            ]
        });
        let assistant =
            serde_json::json!({"name": "Bank", "actions": [action.clone()], "settings": {"no_match_limit": 2}});
        assert!(valid(&action_schema(), action.clone()));
        assert!(valid(&assistant_schema(), assistant.clone()));
        assert!(valid(&schema(), action));
        assert!(valid(&schema(), assistant));

        let bad_actions = [
            serde_json::json!({"steps": []}),
            serde_json::json!({"id": "x", "steps": [{"sya": "hi"}]}),
            serde_json::json!({"id": "x", "steps": [{"then": "ends"}]}),
            serde_json::json!({"id": "x", "steps": [{"question": {"type": "numbr"}}]}),
            serde_json::json!({"id": "x", "steps": [{"question": {"type": "number", "min": "one"}}]}),
        ];
        for bad in bad_actions {
            assert!(!valid(&action_schema(), bad.clone()), "{bad}");
        }
        assert!(!valid(&assistant_schema(), serde_json::json!({"nmae": "x"})));
    }
}
