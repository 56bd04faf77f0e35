//! A `baton serve` process for the restart and replica tests: started on a folder's `baton.toml` and
//! SQLite file (or a PostgreSQL database), driven as a customer through the v2 API, and killed with SIGKILL.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{baton, example};

const VERSION: &str = "2024-08-25";

/// `baton serve examples/bank` with `DIR/baton.toml` and `DIR/baton.db`, and its address.
pub struct Server {
    child: Child,
    pub address: String,
    client: reqwest::Client,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    pub fn start(dir: &Path) -> Server {
        Server::start_with(dir, &[])
    }

    /// [`Server::start`] with more environment variables (`RUST_LOG`, say).
    pub fn start_with(dir: &Path, env: &[(&str, &str)]) -> Server {
        Server::start_on(dir, &format!("sqlite://{}", dir.join("baton.db").display()), env)
    }

    /// [`Server::start_with`] on the database `database` instead of `DIR/baton.db`.
    pub fn start_on(dir: &Path, database: &str, env: &[(&str, &str)]) -> Server {
        Server::start_serving(&example("bank"), dir, database, env)
    }

    /// [`Server::start_on`] serving the bank assistant from `folder` (a copy to edit, say).
    pub fn start_serving(folder: &Path, dir: &Path, database: &str, env: &[(&str, &str)]) -> Server {
        let mut child = baton()
            .arg("serve")
            .arg(folder)
            .arg("--config")
            .arg(dir.join("baton.toml"))
            .args(["--listen", "127.0.0.1:0", "--database", database])
            .env("BATON_DEV", "true")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("baton serve starts");
        let (found, address) = std::sync::mpsc::channel();
        let lines = BufReader::new(child.stderr.take().expect("stderr is piped"));
        let log = std::sync::Arc::<std::sync::Mutex<String>>::default();
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in lines.lines().map_while(Result::ok) {
                if let Some(at) = line.strip_prefix("baton: serving on ") {
                    let _ = found.send(at.to_owned());
                }
                let mut kept = kept.lock().unwrap();
                kept.push_str(&line);
                kept.push('\n');
            }
        });
        let address = address
            .recv_timeout(Duration::from_secs(120))
            .expect("the server says where it listens");
        Server {
            child,
            address,
            client: reqwest::Client::new(),
            log,
        }
    }

    /// Everything the server wrote to stderr so far (its log).
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// SIGKILL: nothing is shut down gracefully.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A new session of the bank assistant, its welcome said.
    pub async fn new_session(&self) -> String {
        new_session(&self.client, &self.address).await
    }

    /// The customer says `text`; the reply.
    pub async fn say(&self, session: &str, text: &str) -> Value {
        say(&self.client, &self.address, session, text).await
    }

    /// The customer says `first`, then `again` until a reply carries `wanted` (an agent's message
    /// reaches the customer in the reply that follows its commit). Up to a minute: a desk that was
    /// down reconnects on its own schedule, slower on a loaded 2-core machine. The pause between
    /// tries grows from 0.1 to 1 s, as a person's would: every try is a message for the agent.
    pub async fn say_until_hearing(&self, session: &str, first: &str, again: &str, wanted: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut pause = Duration::from_millis(100);
        let mut said = texts(&self.say(session, first).await);
        while !said.iter().any(|text| text.contains(wanted)) {
            assert!(
                Instant::now() < deadline,
                "{wanted:?} never reached the customer: {said:?}\nthe server's log:\n{}",
                self.log()
            );
            tokio::time::sleep(pause).await;
            pause = (pause * 3 / 2).min(Duration::from_secs(1));
            said = texts(&self.say(session, again).await);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The v2 API URL of the bank assistant at `address` (a server or a load balancer).
pub fn api(address: &str, rest: &str) -> String {
    format!("{address}/v2/assistants/bank/environments/draft{rest}?version={VERSION}")
}

/// A new session of the bank assistant at `address`, its welcome said.
pub async fn new_session(client: &reqwest::Client, address: &str) -> String {
    let created: Value = client
        .post(api(address, "/sessions"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session = created["session_id"].as_str().unwrap().to_owned();
    say(client, address, &session, "").await;
    session
}

/// The customer says `text` to the server at `address`; the reply.
pub async fn say(client: &reqwest::Client, address: &str, session: &str, text: &str) -> Value {
    let response = client
        .post(api(address, &format!("/sessions/{session}/message")))
        .json(&json!({"input": {"text": text}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The texts of a reply's `output.generic`.
pub fn texts(reply: &Value) -> Vec<String> {
    reply["output"]["generic"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|generic| generic["text"].as_str().map(str::to_owned))
        .collect()
}
