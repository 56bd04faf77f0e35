//! Who reaches a session from a browser, over HTTP: the transcript route serves only an existing
//! session of the assistant in the path, and outside development mode only to an allowed origin
//! (or a client with an API key), as do the routes the widget uses. The preview exists only in
//! development mode. (The event socket's side is in the browser tests.)

use chrono::Utc;
use serde_json::{Value, json};

use baton_server::auth::ApiKey;

use crate::common::{spawn_app, spawn_app_with};

const VERSION: &str = "version=2024-08-25";

async fn get(client: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = client.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("sending a request");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn the_transcript_is_served_only_for_the_session_and_its_assistant() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let created: Value = client
        .post(app.url(&format!("/v2/assistants/bank/sessions?{VERSION}")))
        .send()
        .await
        .expect("creating a session")
        .json()
        .await
        .expect("the session's JSON");
    let session_id = created["session_id"].as_str().expect("a session id").to_owned();
    client
        .post(app.url(&format!("/v2/assistants/bank/sessions/{session_id}/message?{VERSION}")))
        .json(&json!({"input": {"text": "I want to pay my bill"}}))
        .send()
        .await
        .expect("sending a message");

    let (status, body) = get(
        &client,
        &app.url(&format!("/v2/assistants/bank/sessions/{session_id}/transcript")),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let kinds: Vec<&str> = body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|entry| entry["kind"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds[..2], ["customer", "assistant"], "{body}");
    assert!(kinds.contains(&"event"), "{body}");
    // A transfer's details are for the agent: the customer's copy says only that it happened
    // and, for its transitions, the state reached.
    for entry in body["entries"].as_array().expect("entries") {
        if entry["kind"] != "event" {
            continue;
        }
        let fields: Vec<&String> = entry["payload"].as_object().expect("a payload").keys().collect();
        assert!(fields.iter().all(|field| *field == "type" || *field == "to"), "{entry}");
    }

    let env = app.url(&format!(
        "/v2/assistants/bank/environments/live/sessions/{session_id}/transcript"
    ));
    assert_eq!(get(&client, &env, &[]).await.0, 200);
    let unknown = app.url(&format!("/v2/assistants/bank/sessions/{}/transcript", uuid_like()));
    let (status, body) = get(&client, &unknown, &[]).await;
    assert_eq!((status, body["baton_code"].clone()), (404, json!("session_not_found")));
    let other = app.url(&format!("/v2/assistants/telecom/sessions/{session_id}/transcript"));
    let (status, body) = get(&client, &other, &[]).await;
    assert_eq!(
        (status, body["baton_code"].clone()),
        (404, json!("assistant_not_found"))
    );
}

#[tokio::test]
async fn outside_development_mode_a_browser_needs_an_allowed_origin() {
    let app = spawn_app_with(|config| {
        config.dev = false;
        config.cors_origins = vec!["https://shop.example".to_owned()];
    })
    .await;
    let key = ApiKey::generate();
    app.store
        .create_api_key("browser test", &key.hash(), Utc::now())
        .await
        .expect("storing an API key");
    let bearer = format!("Bearer {}", key.expose());
    let client = reqwest::Client::new();
    let created: Value = client
        .post(app.url(&format!("/v2/assistants/bank/sessions?{VERSION}")))
        .header("Authorization", &bearer)
        .send()
        .await
        .expect("creating a session")
        .json()
        .await
        .expect("the session's JSON");
    let session_id = created["session_id"].as_str().expect("a session id").to_owned();
    let transcript = app.url(&format!("/v2/assistants/bank/sessions/{session_id}/transcript"));

    let cases: [(&[(&str, &str)], u16); 5] = [
        (&[], 401),
        (&[("Origin", "https://evil.example")], 401),
        (&[("Origin", "https://shop.example")], 200),
        (&[("Authorization", bearer.as_str())], 200),
        (&[("Authorization", "Bearer baton_not_a_key")], 401),
    ];
    for (headers, expected) in cases {
        let (status, body) = get(&client, &transcript, headers).await;
        assert_eq!(status, expected, "{headers:?}: {body}");
    }
    // The server's own pages (the demo) are an allowed origin.
    let own = format!("http://{}", app.addr);
    assert_eq!(get(&client, &transcript, &[("Origin", own.as_str())]).await.0, 200);

    let (status, _) = get(&client, &app.url("/preview"), &[]).await;
    assert_eq!(status, 404, "the preview is for development mode only");
    let page = client.get(app.url("/")).send().await.expect("the demo page");
    assert_eq!(page.status().as_u16(), 200);
}

/// A well-formed session id that no session has.
fn uuid_like() -> String {
    "00000000-0000-4000-8000-000000000000".to_owned()
}

#[tokio::test]
async fn outside_development_mode_the_widget_needs_no_key_from_an_allowed_origin() {
    let app = spawn_app_with(|config| {
        config.dev = false;
        config.cors_origins = vec!["https://shop.example".to_owned()];
    })
    .await;
    let client = reqwest::Client::new();
    let post = |path: String, origin: Option<&'static str>| {
        let mut request = client
            .post(app.url(&format!("{path}?{VERSION}")))
            .json(&json!({"input": {"text": "I want to pay my bill"}}));
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        request.send()
    };
    let shop = Some("https://shop.example");

    let response = post("/v2/assistants/bank/sessions".to_owned(), None)
        .await
        .expect("a request");
    assert_eq!(response.status().as_u16(), 401, "no key and no origin");
    let response = post("/v2/assistants/bank/sessions".to_owned(), Some("https://evil.example"))
        .await
        .expect("a request");
    assert_eq!(response.status().as_u16(), 401, "an origin not on the list");

    let response = post("/v2/assistants/bank/environments/live/sessions".to_owned(), shop)
        .await
        .expect("a request");
    assert_eq!(response.status().as_u16(), 201);
    let created: Value = response.json().await.expect("the session's JSON");
    let session_id = created["session_id"].as_str().expect("a session id").to_owned();
    let response = post(
        format!("/v2/assistants/bank/environments/live/sessions/{session_id}/message"),
        shop,
    )
    .await
    .expect("a request");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("the reply's JSON");
    assert_eq!(
        body["output"]["generic"][1]["response_type"],
        json!("connect_to_agent"),
        "{body}"
    );

    // What the widget does not do still needs a key.
    let response = post("/v2/assistants/bank/message".to_owned(), shop)
        .await
        .expect("a request");
    assert_eq!(response.status().as_u16(), 401, "the stateless message");
    let response = client
        .delete(app.url(&format!("/v2/assistants/bank/sessions/{session_id}?{VERSION}")))
        .header("Origin", "https://shop.example")
        .send()
        .await
        .expect("a request");
    assert_eq!(response.status().as_u16(), 401, "deleting a session");
}
