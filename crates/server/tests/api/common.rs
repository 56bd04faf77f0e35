//! Starting a server for a test, and talking to it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use baton_dialog::Engine;
use baton_server::{Assistants, Clock, Config, Services};
use baton_store::Store;

pub const VERSION: &str = "2024-08-25";

/// The bank example, trained once for the whole test binary.
pub fn bank() -> Engine {
    static BANK: OnceLock<Engine> = OnceLock::new();
    BANK.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/bank");
        let loaded = baton_assistant::load_dir(&dir);
        let assistant = loaded
            .assistant
            .unwrap_or_else(|| panic!("examples/bank does not load: {:?}", loaded.diagnostics));
        Engine::new(assistant)
    })
    .clone()
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub store: Arc<dyn Store>,
    pub clock: Clock,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server for the bank assistant on port 0, with a fresh SQLite file and a hand-moved clock.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests();
    config.database_url = format!("sqlite://{}", dir.path().join("test.db").display());
    adjust(&mut config);
    let store = baton_store::open(&config.database_url).await.unwrap();
    let start = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
    let clock = Clock::Manual(Arc::new(Mutex::new(start)));
    let listener = TcpListener::bind(&config.listen).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let services = Services {
        assistants: Assistants::new([bank()]).expect("one assistant"),
        store: store.clone(),
        clock: clock.clone(),
    };
    let (shutdown, stop) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        baton_server::run(listener, config, services, async {
            let _ = stop.await;
        })
        .await
        .unwrap();
    });
    TestApp {
        addr,
        store,
        clock,
        client: reqwest::Client::new(),
        shutdown: Some(shutdown),
        server: Some(server),
        _dir: dir,
    }
}

/// A response's status and JSON body (`Value::Null` when the body is not JSON).
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `/v2/assistants/bank/environments/draft` + `rest` + `?version=…`.
    pub fn api(&self, rest: &str) -> String {
        self.url(&format!(
            "/v2/assistants/bank/environments/draft{rest}?version={VERSION}"
        ))
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, body }
    }

    pub async fn post(&self, url: &str, body: Value) -> Reply {
        self.send(self.client.post(url).json(&body)).await
    }

    pub async fn create_session(&self) -> String {
        let reply = self.post(&self.api("/sessions"), json!({})).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.body["session_id"].as_str().unwrap().to_owned()
    }

    /// Sends `text` in a session and returns the 200 response.
    pub async fn say(&self, session_id: &str, text: &str) -> Value {
        let url = self.api(&format!("/sessions/{session_id}/message"));
        let reply = self.post(&url, json!({"input": {"text": text}})).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    }

    /// The transcript as `kind: payload` lines.
    pub async fn transcript(&self, session_id: &str) -> Vec<String> {
        let entries = self
            .store
            .transcript(&baton_store::SessionId::new(session_id))
            .await
            .unwrap();
        entries
            .iter()
            .map(|entry| format!("{}: {}", entry.kind.as_str(), entry.payload.get()))
            .collect()
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap();
        }
    }
}

/// The texts of a response's `output.generic` items, with `[connect_to_agent: …]` for transfers.
pub fn render(response: &Value) -> Vec<String> {
    response["output"]["generic"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| match item["response_type"].as_str().unwrap() {
            "text" => item["text"].as_str().unwrap().to_owned(),
            "option" => format!(
                "{} [{}]",
                item["title"].as_str().unwrap(),
                item["options"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|option| option["label"].as_str().unwrap())
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
            "connect_to_agent" => format!(
                "[connect_to_agent: {} / queue {}]",
                item["agent_available"]["message"].as_str().unwrap(),
                item["transfer_info"]["target"]["baton"]["queue"]
            ),
            other => format!("[{other}]"),
        })
        .collect()
}

/// Asserts IBM's error shape with our stable code.
pub fn assert_error(reply: &Reply, status: u16, baton_code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.body["code"], status, "{}", reply.body);
    assert_eq!(reply.body["baton_code"], baton_code, "{}", reply.body);
    assert!(
        reply.body["error"].as_str().is_some_and(|error| !error.is_empty()),
        "{}",
        reply.body
    );
}

/// The session's open transfer as stored (the desk crate's JSON), if it has one.
pub async fn open_transfer(app: &TestApp, session: &str) -> Option<Value> {
    let stored = app
        .store
        .open_transfer_of(&baton_store::SessionId::new(session))
        .await
        .unwrap()?;
    Some(serde_json::from_str(stored.value.get()).unwrap())
}

/// The session's open transfer once a desk holds its chat and nothing has changed it for 300 ms:
/// what a test compares with after sending something that must change nothing.
pub async fn settled_transfer(app: &TestApp, session: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut last: Option<Value> = None;
    loop {
        let now = open_transfer(app, session).await;
        if let Some(open) = &now
            && !open["chat"].is_null()
            && last.as_ref() == Some(open)
        {
            return open.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the transfer never settled with a chat: {now:?}"
        );
        last = now;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}
