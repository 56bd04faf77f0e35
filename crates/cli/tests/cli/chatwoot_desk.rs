//! `baton serve` with a Chatwoot desk, against the simulated Chatwoot (`chatwoot::sim`),
//! whose webhooks reach the server's webhook router over HTTP: a customer on the HTTP API and an
//! agent in (simulated) Chatwoot through a whole transfer that goes on after `kill -9` of the
//! server, and ends with the agent resolving the conversation.

use std::sync::{Arc, Mutex};

use baton_connectors::chatwoot::sim;

use crate::served::Server;

/// Waits up to 20 s for `check` to hold.
async fn eventually(what: &str, check: impl Fn() -> bool) {
    assert!(
        sim::within(std::time::Duration::from_secs(20), check).await,
        "never: {what}"
    );
}

const ANN: (u64, &str) = (11, "Ann Agent");

/// Sends the simulated Chatwoot's webhooks to the server at `address` (replaced on a restart).
fn sink_to(address: &Arc<Mutex<String>>) -> sim::Sink {
    let address = address.clone();
    baton_connectors::simulation::http_sink(move || format!("{}/v1/desks/support/webhook", address.lock().unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chatwoot_chat_through_the_server_goes_on_after_kill_9() {
    let sim = sim::Sim::start().await.expect("the simulation starts");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), sim::BOT_TOKEN).unwrap();
    std::fs::write(dir.path().join("webhook-secret"), sim::WEBHOOK_SECRET).unwrap();
    std::fs::write(
        dir.path().join("baton.toml"),
        format!(
            "[desks.support]\nkind = \"chatwoot\"\nurl = \"{}\"\naccount_id = {}\ninbox_id = {}\ninbox_identifier = \"{}\"\n\
             api_access_token_file = {:?}\nwebhook_secret_file = {:?}\n\n[routes]\n\"*\" = [\"support\", \"own\"]\n",
            sim.url,
            sim::ACCOUNT,
            sim::INBOX,
            sim::INBOX_IDENTIFIER,
            dir.path().join("token").display().to_string(),
            dir.path().join("webhook-secret").display().to_string(),
        ),
    )
    .unwrap();
    // Debug logging, the most the server says: its tokens and secret must not be in it.
    let debug = [("RUST_LOG", "debug")];
    let server = Server::start_with(dir.path(), &debug);
    let address = Arc::new(Mutex::new(server.address.clone()));
    sim.set_sink(sink_to(&address));

    let session = server.new_session().await;
    server.say(&session, "I want to talk to a person").await;
    eventually("a conversation is opened for the agents", || {
        sim.conversation_ids()
            .first()
            .is_some_and(|id| sim.conversation(*id, |found| found.status == "open").unwrap_or(false))
    })
    .await;
    let conversation = sim.conversation_ids()[0];
    let customer_said = |text: &'static str| {
        let sim = sim.clone();
        move || {
            sim.conversation(conversation, |found| {
                found
                    .messages
                    .iter()
                    .any(|message| message.message_type == "incoming" && message.content == text)
            })
            .unwrap_or(false)
        }
    };
    sim.assign(conversation, ANN).await;
    sim.agent_says(conversation, ANN, "Hello before the crash").await;
    server
        .say_until_hearing(&session, "hello Ann", "still there?", "Hello before the crash")
        .await;
    eventually("the customer's message reaches Chatwoot", customer_said("hello Ann")).await;

    let before = server.log();
    server.kill();
    let server = Server::start_with(dir.path(), &debug);
    *address.lock().unwrap() = server.address.clone();
    sim.agent_says(conversation, ANN, "Hello after the restart").await;
    server
        .say_until_hearing(&session, "are you still there", "hello?", "Hello after the restart")
        .await;
    eventually(
        "the customer's message reaches Chatwoot after the restart",
        customer_said("are you still there"),
    )
    .await;

    // The agent resolves the conversation: the customer is back with the assistant.
    sim.set_status(conversation, "resolved", serde_json::json!({})).await;
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
        log.contains("chatwoot conversation opened"),
        "the log is the server's:\n{log}"
    );
    for secret in [sim::BOT_TOKEN, sim::WEBHOOK_SECRET] {
        assert!(!log.contains(secret), "{secret:?} is in the log");
    }
    // Deliveries while the server was killed could not connect (599); none was refused.
    let refused: Vec<_> = sim.refused().into_iter().filter(|(status, _)| *status != 599).collect();
    assert_eq!(refused, [], "the server refused webhooks");
}
