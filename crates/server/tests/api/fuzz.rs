//! Property test: whatever a client sends as a message body, the answer is a 2xx or an IBM-shaped
//! 4xx with a stable code, never a 5xx and never a dropped connection.

use proptest::prelude::*;
use serde_json::Value;

use crate::common::spawn_app;

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("input".to_owned()),
        Just("text".to_owned()),
        Just("options".to_owned()),
        Just("message_type".to_owned()),
        Just("debug".to_owned()),
        Just("return_context".to_owned()),
        Just("restart".to_owned()),
        Just("context".to_owned()),
        Just("skills".to_owned()),
        Just("actions skill".to_owned()),
        Just("skill_variables".to_owned()),
        Just("system".to_owned()),
        Just("state".to_owned()),
        Just("user_id".to_owned()),
        "[a-z_]{1,8}",
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..5).prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json().prop_map(|value| serde_json::to_vec(&value).unwrap()),
        json().prop_map(|value| serde_json::to_vec(&serde_json::json!({"input": value})).unwrap()),
        any::<Vec<u8>>(),
        ".{0,64}".prop_map(String::into_bytes),
    ]
}

#[test]
fn any_body_gets_a_success_or_an_ibm_error() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(spawn_app());
    let session = runtime.block_on(app.create_session());
    let url = app.api(&format!("/sessions/{session}/message"));
    proptest!(ProptestConfig::with_cases(200), |(body in body())| {
        let request = app.client.post(&url).header("content-type", "application/json").body(body);
        let reply = runtime.block_on(app.send(request));
        prop_assert!(reply.status < 500, "{} {}", reply.status, reply.body);
        if reply.status >= 400 {
            prop_assert_eq!(&reply.body["code"], &Value::from(reply.status));
            prop_assert!(reply.body["baton_code"].is_string(), "{}", reply.body);
            prop_assert!(reply.body["error"].is_string(), "{}", reply.body);
        }
    });
}
