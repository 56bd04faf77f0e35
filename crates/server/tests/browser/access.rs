//! Who reaches a session from a browser: the transcript route and the event socket serve only an
//! existing session of the assistant in the path, and outside development mode only to an
//! allowed origin (or a client with an API key). The preview exists only in development mode.

use chrono::Utc;
use serde_json::{Value, json};

use baton_server::auth::ApiKey;

use crate::support::{Browser, TestServer, run};

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

#[test]
fn the_transcript_is_served_only_for_the_session_and_its_assistant() {
    run(|| async {
        let server = TestServer::start().await;
        let client = reqwest::Client::new();
        let created: Value = client
            .post(server.url(&format!("/v2/assistants/bank/sessions?{VERSION}")))
            .send()
            .await
            .expect("creating a session")
            .json()
            .await
            .expect("the session's JSON");
        let session_id = created["session_id"].as_str().expect("a session id").to_owned();
        client
            .post(server.url(&format!("/v2/assistants/bank/sessions/{session_id}/message?{VERSION}")))
            .json(&json!({"input": {"text": "I want to pay my bill"}}))
            .send()
            .await
            .expect("sending a message");

        let (status, body) = get(
            &client,
            &server.url(&format!("/v2/assistants/bank/sessions/{session_id}/transcript")),
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

        let env = server.url(&format!(
            "/v2/assistants/bank/environments/live/sessions/{session_id}/transcript"
        ));
        assert_eq!(get(&client, &env, &[]).await.0, 200);
        let unknown = server.url(&format!("/v2/assistants/bank/sessions/{}/transcript", uuid_like()));
        let (status, body) = get(&client, &unknown, &[]).await;
        assert_eq!((status, body["baton_code"].clone()), (404, json!("session_not_found")));
        let other = server.url(&format!("/v2/assistants/telecom/sessions/{session_id}/transcript"));
        let (status, body) = get(&client, &other, &[]).await;
        assert_eq!(
            (status, body["baton_code"].clone()),
            (404, json!("assistant_not_found"))
        );
    });
}

#[test]
fn outside_development_mode_a_browser_needs_an_allowed_origin() {
    run(|| async {
        let server = TestServer::start_with(|config| {
            config.dev = false;
            config.cors_origins = vec!["https://shop.example".to_owned()];
        })
        .await;
        let key = ApiKey::generate();
        server
            .store
            .create_api_key("browser test", &key.hash(), Utc::now())
            .await
            .expect("storing an API key");
        let bearer = format!("Bearer {}", key.expose());
        let client = reqwest::Client::new();
        let created: Value = client
            .post(server.url(&format!("/v2/assistants/bank/sessions?{VERSION}")))
            .header("Authorization", &bearer)
            .send()
            .await
            .expect("creating a session")
            .json()
            .await
            .expect("the session's JSON");
        let session_id = created["session_id"].as_str().expect("a session id").to_owned();
        let transcript = server.url(&format!("/v2/assistants/bank/sessions/{session_id}/transcript"));

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
        let own = format!("http://{}", server.addr);
        assert_eq!(get(&client, &transcript, &[("Origin", own.as_str())]).await.0, 200);

        let (status, _) = get(&client, &server.url("/preview"), &[]).await;
        assert_eq!(status, 404, "the preview is for development mode only");
        let page = client.get(server.url("/")).send().await.expect("the demo page");
        assert_eq!(page.status().as_u16(), 200);
    });
}

#[test]
fn the_event_socket_answers_pings_rejects_bad_frames_and_unknown_sessions() {
    run(|| async {
        let server = TestServer::start().await;
        let browser = Browser::start().await;
        browser.goto(&server.url("/preview")).await;
        browser.wait_until("document.querySelector('[data-turn=\"1\"]')").await;
        let session_id = browser
            .script(
                "for (const key of Object.keys(sessionStorage)) {
                   if (key.endsWith(':session')) return sessionStorage.getItem(key);
                 }
                 return null;",
                Vec::new(),
            )
            .await;
        let session_id = session_id.as_str().expect("the widget keeps its session id").to_owned();
        let probe = "const [url, done] = [arguments[0], arguments[arguments.length - 1]];
            const socket = new WebSocket(url);
            const seen = [];
            socket.onopen = () => { socket.send('{\"type\":\"ping\"}'); socket.send('not json'); };
            socket.onmessage = (message) => {
              seen.push(JSON.parse(message.data));
              if (seen.length === 2) { socket.close(); done({opened: true, seen}); }
            };
            socket.onerror = () => done({opened: false, seen});
            setTimeout(() => done({opened: 'timeout', seen}), 10000);";
        let base = format!("ws://{}/v2/assistants/bank/sessions", server.addr);
        let answer = browser
            .client
            .execute_async(probe, vec![json!(format!("{base}/{session_id}/events"))])
            .await
            .expect("probing the event socket");
        assert_eq!(answer["opened"], json!(true), "{answer}");
        assert_eq!(answer["seen"][0], json!({"type": "pong"}));
        assert_eq!(answer["seen"][1]["baton_code"], json!("invalid_frame"));

        let answer = browser
            .client
            .execute_async(probe, vec![json!(format!("{base}/{}/events", uuid_like()))])
            .await
            .expect("probing the event socket of an unknown session");
        assert_eq!(answer["opened"], json!(false), "{answer}");
        browser.close().await;
    });
}

/// A well-formed session id that no session has.
fn uuid_like() -> String {
    "00000000-0000-4000-8000-000000000000".to_owned()
}

#[test]
fn outside_development_mode_the_widget_needs_no_key_from_an_allowed_origin() {
    run(|| async {
        let server = TestServer::start_with(|config| {
            config.dev = false;
            config.cors_origins = vec!["https://shop.example".to_owned()];
        })
        .await;
        let client = reqwest::Client::new();
        let post = |path: String, origin: Option<&'static str>| {
            let mut request = client
                .post(server.url(&format!("{path}?{VERSION}")))
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
            .delete(server.url(&format!("/v2/assistants/bank/sessions/{session_id}?{VERSION}")))
            .header("Origin", "https://shop.example")
            .send()
            .await
            .expect("a request");
        assert_eq!(response.status().as_u16(), 401, "deleting a session");
    });
}
