//! `baton serve` with a Zendesk desk, against the simulated Zendesk messaging
//! (`zendesk::sim`), whose webhooks reach the server's webhook router over HTTP: a customer on
//! the HTTP API and an agent in (simulated) Agent Workspace through a whole transfer that goes on
//! after `kill -9` of the server and ends with the ticket solved.

use std::sync::{Arc, Mutex};

use baton_connectors::zendesk::sim;

use crate::served::Server;

const ANN: &str = "Ann Agent";

fn sink_to(address: &Arc<Mutex<String>>) -> sim::Sink {
    let address = address.clone();
    baton_connectors::simulation::http_sink(move || format!("{}/v1/desks/zendesk/webhook", address.lock().unwrap()))
}

async fn eventually(what: &str, check: impl Fn() -> bool) {
    assert!(
        sim::within(std::time::Duration::from_secs(20), check).await,
        "never: {what}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zendesk_chat_through_the_server_goes_on_after_kill_9() {
    let sim = sim::Sim::start().await.expect("the simulation starts");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key"), sim::KEY_SECRET).unwrap();
    std::fs::write(dir.path().join("webhook"), sim::WEBHOOK_SECRET).unwrap();
    std::fs::write(
        dir.path().join("baton.toml"),
        format!(
            "[desks.zendesk]\nkind = \"zendesk\"\nurl = \"{}\"\napp_id = \"{}\"\nkey_id = \"{}\"\nkey_secret_file = {:?}\n\
             webhook_secret_file = {:?}\n\n[routes]\n\"*\" = [\"zendesk\", \"own\"]\n",
            sim.url,
            sim::APP,
            sim::KEY_ID,
            dir.path().join("key").display().to_string(),
            dir.path().join("webhook").display().to_string(),
        ),
    )
    .unwrap();
    let debug = [("RUST_LOG", "debug")];
    let server = Server::start_with(dir.path(), &debug);
    let address = Arc::new(Mutex::new(server.address.clone()));
    sim.set_sink(sink_to(&address));

    let session = server.new_session().await;
    server.say(&session, "I want to talk to a person").await;
    eventually("control passes to the agent workspace", || {
        sim.conversation_ids().first().is_some_and(|id| {
            sim.conversation(id, |found| found.active == "zd-agentWorkspace")
                .unwrap_or(false)
        })
    })
    .await;
    let conversation = sim.conversation_ids()[0].clone();
    let customer_said = |text: &'static str| {
        let sim = sim.clone();
        let conversation = conversation.clone();
        move || {
            sim.conversation(&conversation, |found| {
                found
                    .messages
                    .iter()
                    .any(|message| message.author == "user" && message.text == text)
            })
            .unwrap_or(false)
        }
    };
    sim.agent_says(&conversation, ANN, "Hello before the crash").await;
    server
        .say_until_hearing(&session, "hello Ann", "still there?", "Hello before the crash")
        .await;
    eventually("the customer's message reaches Zendesk", customer_said("hello Ann")).await;

    let before = server.log();
    server.kill();
    let server = Server::start_with(dir.path(), &debug);
    *address.lock().unwrap() = server.address.clone();
    sim.agent_says(&conversation, ANN, "Hello after the restart").await;
    server
        .say_until_hearing(&session, "are you still there", "hello?", "Hello after the restart")
        .await;
    eventually(
        "the customer's message reaches Zendesk after the restart",
        customer_said("are you still there"),
    )
    .await;

    sim.solve(&conversation).await;
    server
        .say_until_hearing(
            &session,
            "what are your opening hours",
            "what are your opening hours",
            "Our branches are open",
        )
        .await;
    let log = before + &server.log();
    assert!(
        log.contains("zendesk conversation passed"),
        "the log is the server's:\n{log}"
    );
    for secret in [sim::KEY_SECRET, sim::WEBHOOK_SECRET] {
        assert!(!log.contains(secret), "{secret:?} is in the log");
    }
    let refused: Vec<_> = sim.refused().into_iter().filter(|(status, _)| *status != 599).collect();
    assert_eq!(refused, [], "the server refused webhooks");
}
