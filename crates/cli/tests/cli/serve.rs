//! `baton serve` reloads an edited assistant while it runs: on a change to its folder in
//! development mode, and on SIGHUP.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{baton, folder};

const ASSISTANT: &str = "name: Shop\n";
const HOURS: &str = "id: hours\nexamples:\n  - when are you open\n  - opening hours\n  - what time do you open\nsteps:\n  - say: We open at 9.\n";
const ORDER: &str = "id: order\nexamples:\n  - where is my order\n  - track my parcel\n  - my delivery is late\nsteps:\n  - id: number\n    say: What is your order number?\n    question: { type: number }\n  - say: Order ${number} is on its way.\n";

/// A running `baton serve`, its address, and what it has printed on stderr so far.
struct Server {
    child: Child,
    address: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(dir: &Path, env: &[(&str, &str)]) -> Server {
        let database = dir.join("baton.db");
        let mut child = baton()
            .arg("serve")
            .arg(dir.join("shop"))
            .args(["--listen", "127.0.0.1:0", "--database"])
            .arg(format!("sqlite://{}", database.display()))
            .envs(env.iter().copied())
            .env("BATON_DEV", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("baton serve starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (found, address) = std::sync::mpsc::channel();
        let lines = BufReader::new(child.stderr.take().expect("stderr is piped"));
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in lines.lines().map_while(Result::ok) {
                if let Some(at) = line.strip_prefix("baton: serving on ") {
                    let _ = found.send(at.to_owned());
                }
                kept.lock().unwrap().push(line);
            }
        });
        let address = address
            .recv_timeout(Duration::from_secs(60))
            .expect("the server says where it listens");
        Server { child, address, log }
    }

    /// Waits until a line of the log contains `text`, at most 30 s; returns how many lines had
    /// that text.
    fn wait_for_log(&self, text: &str, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let log = self.log.lock().unwrap();
            if log.iter().filter(|line| line.contains(text)).count() >= count {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no {count} × {text:?} in the log:\n{}",
                log.join("\n")
            );
            drop(log);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    async fn session(&self, client: &reqwest::Client) -> String {
        let url = format!("{}/v2/assistants/shop/sessions?version=2021-11-27", self.address);
        let created: Value = client.post(url).send().await.unwrap().json().await.unwrap();
        created["session_id"].as_str().expect("a session id").to_owned()
    }

    /// What the preview page reads about the assistant: its version and the latest problems.
    async fn preview_status(&self, client: &reqwest::Client) -> Value {
        let url = format!("{}/preview/assistants", self.address);
        let list: Value = client.get(url).send().await.unwrap().json().await.unwrap();
        list.as_array().expect("a list").first().expect("the shop").clone()
    }

    /// The texts of the reply to `text`.
    async fn say(&self, client: &reqwest::Client, session: &str, text: &str) -> Vec<String> {
        let url = format!(
            "{}/v2/assistants/shop/sessions/{session}/message?version=2021-11-27",
            self.address
        );
        let response = client
            .post(url)
            .json(&json!({"input": {"text": text}}))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        let reply: Value = response.json().await.unwrap();
        reply["output"]["generic"]
            .as_array()
            .expect("output.generic")
            .iter()
            .filter_map(|generic| generic["text"].as_str().map(str::to_owned))
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn shop() -> tempfile::TempDir {
    folder(&[
        ("shop/assistant.yaml", ASSISTANT),
        ("shop/actions/hours.yaml", HOURS),
        ("shop/actions/order.yaml", ORDER),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_development_an_edit_is_served_and_a_broken_one_is_not() {
    let dir = shop();
    let server = Server::start(dir.path(), &[]);
    server.wait_for_log("watching the assistant folders", 1);
    let client = reqwest::Client::new();
    let session = server.session(&client).await;
    assert_eq!(
        server.say(&client, &session, "when are you open").await,
        ["We open at 9."]
    );
    // Mid-question, the author edits the wording and deletes the order action.
    assert_eq!(
        server.say(&client, &session, "where is my order").await,
        ["What is your order number?"]
    );
    let hours = dir.path().join("shop/actions/hours.yaml");
    std::fs::write(&hours, HOURS.replace("We open at 9.", "We open at 8 now.")).unwrap();
    std::fs::remove_file(dir.path().join("shop/actions/order.yaml")).unwrap();
    server.wait_for_log("reloaded shop: 1 action,", 1);
    // The waiting question is gone: the answer is read as a new message, in the same session.
    assert_eq!(
        server.say(&client, &session, "opening hours").await,
        ["We open at 8 now."]
    );

    // A broken edit is reported with its place and changes nothing.
    std::fs::write(&hours, "id: hours\nsteps:\n  - say: Broken.\n    then: sideways\n").unwrap();
    server.wait_for_log("not reloaded: the folder has errors", 1);
    let log = server.log.lock().unwrap().join("\n");
    assert!(log.contains("hours.yaml:4:"), "the problem's place is printed:\n{log}");
    drop(log);
    assert_eq!(
        server.say(&client, &session, "opening hours").await,
        ["We open at 8 now."]
    );
    // The preview page shows the same problems.
    let status = server.preview_status(&client).await;
    assert_eq!(status["version"], 1);
    let problems = status["problems"].as_array().expect("problems");
    assert!(
        problems
            .iter()
            .any(|problem| problem.as_str().unwrap().contains("hours.yaml:4:")),
        "{status}"
    );

    // Mended, it is served.
    std::fs::write(&hours, HOURS.replace("We open at 9.", "We open at 10.")).unwrap();
    server.wait_for_log("reloaded shop", 2);
    assert_eq!(
        server.say(&client, &session, "what time do you open").await,
        ["We open at 10."]
    );
    let status = server.preview_status(&client).await;
    assert_eq!(
        (status["version"].as_u64(), status["problems"].as_array().map(Vec::len)),
        (Some(2), Some(0))
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_watching_sighup_reloads() {
    let dir = shop();
    let server = Server::start(dir.path(), &[("BATON_WATCH", "false")]);
    let client = reqwest::Client::new();
    let session = server.session(&client).await;
    std::fs::write(
        dir.path().join("shop/actions/hours.yaml"),
        HOURS.replace("We open at 9.", "We open at 7."),
    )
    .unwrap();
    // Unwatched, the edit waits for the signal.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        server.say(&client, &session, "when are you open").await,
        ["We open at 9."]
    );
    let pid = i32::try_from(server.child.id()).expect("a process id fits an i32");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGHUP)
        .expect("sending SIGHUP to baton serve");
    server.wait_for_log("reloaded shop", 1);
    assert_eq!(
        server.say(&client, &session, "when are you open").await,
        ["We open at 7."]
    );
    let log = server.log.lock().unwrap().join("\n");
    assert!(!log.contains("watching the assistant folders"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_deleted_and_created_again_is_watched_again() {
    let dir = shop();
    let server = Server::start(dir.path(), &[]);
    server.wait_for_log("watching the assistant folders", 1);
    let client = reqwest::Client::new();
    let session = server.session(&client).await;
    let shop = dir.path().join("shop");
    // As `rm -rf` then a copy: while the folder is gone, the previous version answers.
    std::fs::remove_dir_all(&shop).unwrap();
    server.wait_for_log("not reloaded: the folder has errors", 1);
    assert_eq!(
        server.say(&client, &session, "when are you open").await,
        ["We open at 9."]
    );
    let copy = dir.path().join("shop.new");
    std::fs::create_dir_all(copy.join("actions")).unwrap();
    std::fs::write(copy.join("assistant.yaml"), ASSISTANT).unwrap();
    std::fs::write(
        copy.join("actions/hours.yaml"),
        HOURS.replace("We open at 9.", "We open at 11."),
    )
    .unwrap();
    // Moved into place whole, as tools that write a new folder do.
    std::fs::rename(&copy, &shop).unwrap();
    server.wait_for_log("reloaded shop: 1 action,", 1);
    assert_eq!(
        server.say(&client, &session, "when are you open").await,
        ["We open at 11."]
    );
    // The new folder's files are watched: an edit in it is served.
    std::fs::write(
        shop.join("actions/hours.yaml"),
        HOURS.replace("We open at 9.", "We open at 12."),
    )
    .unwrap();
    server.wait_for_log("reloaded shop", 2);
    assert_eq!(
        server.say(&client, &session, "when are you open").await,
        ["We open at 12."]
    );
    // And so is a folder created in place, file by file.
    std::fs::remove_dir_all(&shop).unwrap();
    server.wait_for_log("not reloaded: the folder has errors", 2);
    std::fs::create_dir_all(shop.join("actions")).unwrap();
    std::fs::write(shop.join("assistant.yaml"), ASSISTANT).unwrap();
    std::fs::write(
        shop.join("actions/hours.yaml"),
        HOURS.replace("We open at 9.", "We open at 13."),
    )
    .unwrap();
    server.wait_for_log("reloaded shop", 3);
    assert_eq!(
        server.say(&client, &session, "when are you open").await,
        ["We open at 13."]
    );
}
