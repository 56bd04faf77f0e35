//! `baton serve` with a webhook desk survives `kill -9`: started again on the same SQLite file,
//! it re-attaches the open chat, so the desk's next event reaches the customer and the
//! customer's next message reaches the desk.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use baton_connectors::signing;
use serde_json::{Value, json};

use crate::served::Server;

const SECRET: &str = "whsec_a-test-secret-of-length";

/// Posts a signed desk event for `chat`; the status.
async fn desk_event(server: &Server, client: &reqwest::Client, chat: &str, kind: &str, data: Value) -> u16 {
    let body = serde_json::to_vec(&json!({
        "id": uuid(),
        "version": 1,
        "created_at": chrono::Utc::now().to_rfc3339(),
        "chat_id": chat,
        "type": kind,
        "data": data,
    }))
    .unwrap();
    let signature = signing::sign(SECRET.as_bytes(), chrono::Utc::now().timestamp(), &body);
    let response = client
        .post(format!("{}/v1/desks/helpdesk/webhook", server.address))
        .header(signing::HEADER, signature)
        .body(body)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

/// A fresh event id.
fn uuid() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    format!("evt-{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
}

type Calls = Arc<Mutex<Vec<Value>>>;

async fn record(State(calls): State<Calls>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = headers.get(signing::HEADER).and_then(|value| value.to_str().ok());
    if signing::verify(SECRET.as_bytes(), header, &body, chrono::Utc::now().timestamp()).is_err() {
        return StatusCode::UNAUTHORIZED;
    }
    calls.lock().unwrap().push(serde_json::from_slice(&body).unwrap());
    StatusCode::OK
}

async fn wait_for(calls: &Calls, kind: &str, text: Option<&str>) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = calls
            .lock()
            .unwrap()
            .iter()
            .find(|call| call["type"] == kind && text.is_none_or(|text| call["data"]["text"] == text))
            .cloned();
        if let Some(found) = found {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "no {kind} at the desk: {:#?}",
            calls.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_desk_chat_goes_on_after_the_server_is_killed_and_started_again() {
    let calls: Calls = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let desk_url = format!("http://{}/baton", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/baton", axum::routing::post(record))
        .with_state(calls.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), SECRET).unwrap();
    std::fs::write(
        dir.path().join("baton.toml"),
        format!(
            "[desks.helpdesk]\nkind = \"webhook\"\nurl = \"{desk_url}\"\nsecret_file = {:?}\n\n[routes]\n\"*\" = [\"helpdesk\"]\n",
            dir.path().join("secret").display().to_string()
        ),
    )
    .unwrap();
    let client = reqwest::Client::new();
    let server = Server::start(dir.path());
    let session = server.new_session().await;
    server.say(&session, "I want to talk to a person").await;
    let requested = wait_for(&calls, "chat.requested", None).await;
    let chat = requested["chat_id"].as_str().unwrap().to_owned();
    let agent = json!({"id": "ada", "name": "Agent Ada"});
    assert_eq!(
        desk_event(&server, &client, &chat, "agent.joined", json!({"agent": agent})).await,
        200
    );
    let hello = json!({"message_id": "m1", "text": "Hello before the crash", "agent": agent});
    assert_eq!(desk_event(&server, &client, &chat, "agent.message", hello).await, 200);
    server
        .say_until_hearing(&session, "hello Ada", "still there?", "Hello before the crash")
        .await;
    wait_for(&calls, "customer.message", Some("hello Ada")).await;

    server.kill();
    let server = Server::start(dir.path());

    let after = json!({"message_id": "m2", "text": "Hello after the restart", "agent": agent});
    assert_eq!(
        desk_event(&server, &client, &chat, "agent.message", after).await,
        200,
        "the restarted server knows the chat"
    );
    server
        .say_until_hearing(&session, "are you still there", "hello?", "Hello after the restart")
        .await;
    wait_for(&calls, "customer.message", Some("are you still there")).await;
}
