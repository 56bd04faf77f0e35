//! The webhook protocol's JSON Schemas in `docs/desks/` are generated from its Rust types: this
//! test fails when a file differs from what the types generate (`UPDATE_SCHEMAS=1` rewrites the
//! files), and checks every example event in `docs/desks/webhook.md` against them.

use std::path::{Path, PathBuf};

use baton_connectors::webhook::protocol::{from_desk_schema, to_desk_schema};
use serde_json::Value;

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/desks")
}

fn check_file(name: &str, schema: &Value) {
    let path = docs().join(name);
    let generated = format!("{}\n", serde_json::to_string_pretty(schema).unwrap());
    if std::env::var_os("UPDATE_SCHEMAS").is_some_and(|value| !value.is_empty() && value != "0") {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == generated,
        "{} differs from the schema the protocol's types generate; run UPDATE_SCHEMAS=1 cargo test -p baton-connectors --test webhook_schema",
        path.display()
    );
}

#[test]
fn the_schema_files_are_the_ones_the_types_generate() {
    check_file("webhook-to-desk.schema.json", &to_desk_schema());
    check_file("webhook-from-desk.schema.json", &from_desk_schema());
}

/// The `json` blocks of the protocol document that are events (they have a `type`).
fn documented_events() -> Vec<Value> {
    let text = std::fs::read_to_string(docs().join("webhook.md")).unwrap();
    let mut events = Vec::new();
    let mut block: Option<String> = None;
    for line in text.lines() {
        match (&mut block, line.trim()) {
            (None, "```json") => block = Some(String::new()),
            (Some(body), "```") => {
                let value: Value = serde_json::from_str(body)
                    .unwrap_or_else(|error| panic!("a json block of webhook.md does not parse: {error}\n{body}"));
                if value.get("type").is_some() {
                    events.push(value);
                }
                block = None;
            }
            (Some(body), _) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, _) => {}
        }
    }
    events
}

#[test]
fn every_example_event_in_the_document_is_valid() {
    let to_desk = jsonschema::validator_for(&to_desk_schema()).unwrap();
    let from_desk = jsonschema::validator_for(&from_desk_schema()).unwrap();
    let events = documented_events();
    assert!(events.len() >= 13, "only {} example events found", events.len());
    for event in events {
        let kind = event["type"].as_str().unwrap();
        let baton_sends = kind.starts_with("customer.") || kind == "chat.requested" || kind == "chat.ended_by_customer";
        let validator = if baton_sends { &to_desk } else { &from_desk };
        let errors: Vec<String> = validator.iter_errors(&event).map(|error| error.to_string()).collect();
        assert!(errors.is_empty(), "{kind}: {errors:?}\n{event:#}");
        // The other direction does not take it.
        let other = if baton_sends { &from_desk } else { &to_desk };
        assert!(!other.is_valid(&event), "{kind} is valid both ways");
    }
}
