//! `baton serve` with a webhook desk survives `kill -9`: started again on the same SQLite file,
//! it re-attaches the open chat, so the desk's next event reaches the customer and the
//! customer's next message reaches the desk.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use baton_connectors::signing;
use serde_json::{Value, json};

use crate::{baton, example};

const SECRET: &str = "whsec_a-test-secret-of-length";
const VERSION: &str = "2024-08-25";

/// `baton serve examples/bank` with `config`, and its address.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let mut child = baton()
            .arg("serve")
            .arg(example("bank"))
            .arg("--config")
            .arg(dir.join("baton.toml"))
            .args(["--listen", "127.0.0.1:0", "--database"])
            .arg(format!("sqlite://{}", dir.join("baton.db").display()))
            .env("BATON_DEV", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("baton serve starts");
        let (found, address) = std::sync::mpsc::channel();
        let lines = BufReader::new(child.stderr.take().expect("stderr is piped"));
        std::thread::spawn(move || {
            for line in lines.lines().map_while(Result::ok) {
                if let Some(at) = line.strip_prefix("baton: serving on ") {
                    let _ = found.send(at.to_owned());
                }
            }
        });
        let address = address
            .recv_timeout(Duration::from_secs(120))
            .expect("the server says where it listens");
        Server { child, address }
    }

    fn api(&self, rest: &str) -> String {
        format!(
            "{}/v2/assistants/bank/environments/draft{rest}?version={VERSION}",
            self.address
        )
    }

    async fn say(&self, client: &reqwest::Client, session: &str, text: &str) -> Value {
        let response = client
            .post(self.api(&format!("/sessions/{session}/message")))
            .json(&json!({"input": {"text": text}}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Posts a signed desk event for `chat`; the status.
    async fn desk_event(&self, client: &reqwest::Client, chat: &str, kind: &str, data: Value) -> u16 {
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
            .post(format!("{}/v1/desks/helpdesk/webhook", self.address))
            .header(signing::HEADER, signature)
            .body(body)
            .send()
            .await
            .unwrap();
        response.status().as_u16()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

/// The texts of a reply's `output.generic`.
fn texts(reply: &Value) -> Vec<String> {
    reply["output"]["generic"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|generic| generic["text"].as_str().map(str::to_owned))
        .collect()
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
    let mut server = Server::start(dir.path());
    let created: Value = client
        .post(server.api("/sessions"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session = created["session_id"].as_str().unwrap().to_owned();
    server.say(&client, &session, "").await;
    server.say(&client, &session, "I want to talk to a person").await;
    let requested = wait_for(&calls, "chat.requested", None).await;
    let chat = requested["chat_id"].as_str().unwrap().to_owned();
    let agent = json!({"id": "ada", "name": "Agent Ada"});
    assert_eq!(
        server
            .desk_event(&client, &chat, "agent.joined", json!({"agent": agent}))
            .await,
        200
    );
    let hello = json!({"message_id": "m1", "text": "Hello before the crash", "agent": agent});
    assert_eq!(server.desk_event(&client, &chat, "agent.message", hello).await, 200);
    // The customer's next reply carries the agent's message once it is committed.
    let reply = server.say(&client, &session, "hello Ada").await;
    let mut said = texts(&reply);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !said.iter().any(|text| text.contains("Hello before the crash")) {
        assert!(Instant::now() < deadline, "{said:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        said = texts(&server.say(&client, &session, "still there?").await);
    }
    wait_for(&calls, "customer.message", Some("hello Ada")).await;

    // kill -9: nothing is shut down gracefully.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let server = Server::start(dir.path());

    let after = json!({"message_id": "m2", "text": "Hello after the restart", "agent": agent});
    assert_eq!(
        server.desk_event(&client, &chat, "agent.message", after).await,
        200,
        "the restarted server knows the chat"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut said = texts(&server.say(&client, &session, "are you still there").await);
    while !said.iter().any(|text| text.contains("Hello after the restart")) {
        assert!(Instant::now() < deadline, "{said:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        said = texts(&server.say(&client, &session, "hello?").await);
    }
    wait_for(&calls, "customer.message", Some("are you still there")).await;
}
