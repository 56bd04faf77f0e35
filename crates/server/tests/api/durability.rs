//! `kill -9` loses no acknowledged message: a real server process is killed mid-conversation and
//! restarted on the same database.

use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::common::VERSION;

struct Process {
    child: Child,
    url: String,
}

async fn start(database_url: &str) -> Process {
    let bank = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/bank");
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton-server"))
        .args(["--listen", "127.0.0.1:0", "--database", database_url, "--dev"])
        .arg(&bank)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("the server printed its address");
        if let Some(address) = line.strip_prefix("listening on ") {
            break address.to_owned();
        }
    };
    Process {
        child,
        url: format!("http://{address}"),
    }
}

async fn say(client: &reqwest::Client, process: &Process, session: &str, text: &str) -> Value {
    let url = format!(
        "{}/v2/assistants/bank/environments/draft/sessions/{session}/message?version={VERSION}",
        process.url
    );
    let response = client
        .post(url)
        .json(&json!({"input": {"text": text}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn kill_9_loses_no_acknowledged_message() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("baton.db").display());
    let client = reqwest::Client::new();

    let mut first = start(&database_url).await;
    let created: Value = client
        .post(format!(
            "{}/v2/assistants/bank/environments/draft/sessions?version={VERSION}",
            first.url
        ))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session = created["session_id"].as_str().unwrap().to_owned();
    let said = ["", "what are your opening hours", "when are you open"];
    for text in said {
        say(&client, &first, &session, text).await;
    }
    first.child.start_kill().unwrap();
    first.child.wait().await.unwrap();

    let second = start(&database_url).await;
    let reply = say(&client, &second, &session, "I want to pay my bill").await;
    let generic = reply["output"]["generic"].as_array().unwrap();
    assert_eq!(generic.last().unwrap()["response_type"], "connect_to_agent", "{reply}");
    let mut second = second;
    second.child.start_kill().unwrap();
    second.child.wait().await.unwrap();

    let store = baton_store::open(&database_url).await.unwrap();
    let transcript = store.transcript(&baton_store::SessionId::new(&session)).await.unwrap();
    let customer: Vec<String> = transcript
        .iter()
        .filter(|entry| entry.kind == baton_store::EntryKind::Customer)
        .map(|entry| {
            serde_json::from_str::<Value>(entry.payload.get()).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        customer,
        [
            "what are your opening hours",
            "when are you open",
            "I want to pay my bill"
        ]
    );
}

/// A customer chatting with an agent survives `kill -9`: after a restart the agent's console
/// reconnects with the same token and finds the chat, both sides keep writing, and every
/// acknowledged message is in the transcript.
#[tokio::test]
async fn kill_9_during_an_agent_chat_loses_nothing_acknowledged() {
    use crate::transfers::{AgentClient, add_agent, customer_socket, next_of};

    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("baton.db").display());
    {
        // The store has one writer: add the agent before the server opens the database.
        let store = baton_store::open(&database_url).await.unwrap();
        add_agent(&*store, "ann", "Ann Smith", &["billing"]).await;
    }
    let client = reqwest::Client::new();

    let mut first = start(&database_url).await;
    let created: Value = client
        .post(format!(
            "{}/v2/assistants/bank/environments/draft/sessions?version={VERSION}",
            first.url
        ))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session = created["session_id"].as_str().unwrap().to_owned();
    let mut ann = AgentClient::online(&first.url, "ann").await;
    say(&client, &first, &session, "I want to pay my bill").await;
    let (transfer, _) = ann.accept_next_offer().await;
    let first_id = ann.say(&transfer, "Hi, Ann from billing here.").await["id"].clone();
    say(&client, &first, &session, "Hi Ann, it is invoice 42").await;
    assert_eq!(
        ann.next("customer_message").await["message"]["text"],
        "Hi Ann, it is invoice 42"
    );
    ann.say(&transfer, "Let me look at invoice 42.").await;
    let token = ann.token.clone();
    first.child.start_kill().unwrap();
    first.child.wait().await.unwrap();

    let second = start(&database_url).await;
    let mut ann = AgentClient::reconnect(&second.url, &token).await;
    let chat = ann.next("chat").await;
    assert_eq!(chat["transfer"], transfer);
    let mut customer = customer_socket(&second.url, &session).await;
    // The reply carries what the agent wrote since the customer's previous message.
    let reply = say(&client, &second, &session, "Thanks, still there?").await;
    assert_eq!(
        reply["output"]["generic"][0]["text"], "Let me look at invoice 42.",
        "{reply}"
    );
    assert_eq!(
        ann.next("customer_message").await["message"]["text"],
        "Thanks, still there?"
    );
    let later = ann.say(&transfer, "Yes, it is paid now.").await;
    // The desk numbers its messages per chat from 1 again after a restart; ours stay unique.
    assert_ne!(later["id"], first_id);
    assert_eq!(
        next_of(&mut customer, "agent_message").await["text"],
        "Yes, it is paid now."
    );
    let mut second = second;
    second.child.start_kill().unwrap();
    second.child.wait().await.unwrap();

    let store = baton_store::open(&database_url).await.unwrap();
    let transcript = store.transcript(&baton_store::SessionId::new(&session)).await.unwrap();
    let lines: Vec<String> = transcript
        .iter()
        .filter(|entry| {
            matches!(
                entry.kind,
                baton_store::EntryKind::Customer | baton_store::EntryKind::Agent
            )
        })
        .map(|entry| {
            let payload: Value = serde_json::from_str(entry.payload.get()).unwrap();
            format!("{}: {}", entry.kind.as_str(), payload["text"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        lines,
        [
            "customer: I want to pay my bill",
            "agent: Hi, Ann from billing here.",
            "customer: Hi Ann, it is invoice 42",
            "agent: Let me look at invoice 42.",
            "customer: Thanks, still there?",
            "agent: Yes, it is paid now.",
        ]
    );
}
