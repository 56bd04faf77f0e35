//! `baton schema`.

use crate::{baton, stdout};

#[test]
fn prints_a_json_schema_of_the_format() {
    let output = baton().arg("schema").output().unwrap();
    assert!(output.status.success());
    let schema: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("the schema is JSON");
    assert!(
        schema["$schema"]
            .as_str()
            .is_some_and(|url| url.contains("json-schema.org")),
        "{schema}"
    );
    let text = schema.to_string();
    for key in ["connect_to_agent", "message_to_agent", "trigger_words", "out_of_range"] {
        assert!(text.contains(key), "the schema mentions `{key}`");
    }
}
