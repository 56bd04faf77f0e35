//! `baton serve` with a Twilio Flex desk, against the simulated Twilio (`twilio::sim`), whose
//! signed webhooks reach the server's webhook router over HTTP: a customer on the HTTP API and an
//! agent in (simulated) Flex through a whole transfer that goes on after `kill -9` of the server
//! and ends with the conversation closed.

use std::sync::{Arc, Mutex};

use baton_connectors::twilio::sim;

use crate::served::Server;

const ANN: &str = "ann@acme.example";
/// The URL the service's webhook is configured with, which Twilio signs.
const SIGNED_URL: &str = "https://baton.example.com/v1/desks/flex/webhook";

async fn eventually(what: &str, check: impl Fn() -> bool) {
    assert!(
        sim::within(std::time::Duration::from_secs(20), check).await,
        "never: {what}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_twilio_flex_chat_through_the_server_goes_on_after_kill_9() {
    let sim = sim::Sim::start().await.expect("the simulation starts");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), sim::AUTH_TOKEN).unwrap();
    std::fs::write(
        dir.path().join("baton.toml"),
        format!(
            "public_url = \"https://baton.example.com\"\n\n[desks.flex]\nkind = \"twilio_flex\"\naccount_sid = \"{}\"\n\
             auth_token_file = {:?}\nconversations_service_sid = \"{}\"\nworkspace_sid = \"{}\"\nworkflow_sid = \"{}\"\n\
             api_url = \"{}\"\n\n[routes]\n\"*\" = [\"flex\", \"own\"]\n",
            sim::ACCOUNT_SID,
            dir.path().join("token").display().to_string(),
            sim::SERVICE_SID,
            sim::WORKSPACE_SID,
            sim::WORKFLOW_SID,
            sim.url,
        ),
    )
    .unwrap();
    let debug = [("RUST_LOG", "debug")];
    let server = Server::start_with(dir.path(), &debug);
    let address = Arc::new(Mutex::new(server.address.clone()));
    let target = address.clone();
    sim.set_sink(
        baton_connectors::simulation::http_sink(move || format!("{}/v1/desks/flex/webhook", target.lock().unwrap())),
        SIGNED_URL,
    );

    let session = server.new_session().await;
    server.say(&session, "I want to talk to a person").await;
    eventually("an interaction routes the conversation", || {
        sim.conversation_ids().first().is_some_and(|id| {
            sim.conversation(id, |found| found.interaction_channel.is_some())
                .unwrap_or(false)
        })
    })
    .await;
    let conversation = sim.conversation_ids()[0].clone();
    let customer_said = |text: &'static str| {
        let (sim, conversation) = (sim.clone(), conversation.clone());
        move || {
            sim.conversation(&conversation, |found| {
                found
                    .messages
                    .iter()
                    .any(|message| message.author.starts_with("baton-") && message.body == text)
            })
            .unwrap_or(false)
        }
    };
    sim.agent_joins(&conversation, ANN).await;
    sim.agent_says(&conversation, ANN, "Hello before the crash").await;
    server
        .say_until_hearing(&session, "hello Ann", "still there?", "Hello before the crash")
        .await;
    eventually("the customer's message reaches Flex", customer_said("hello Ann")).await;

    let before = server.log();
    server.kill();
    let server = Server::start_with(dir.path(), &debug);
    *address.lock().unwrap() = server.address.clone();
    sim.agent_says(&conversation, ANN, "Hello after the restart").await;
    server
        .say_until_hearing(&session, "are you still there", "hello?", "Hello after the restart")
        .await;
    eventually(
        "the customer's message reaches Flex after the restart",
        customer_said("are you still there"),
    )
    .await;

    sim.close(&conversation, serde_json::json!({})).await;
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
        log.contains("twilio flex interaction created"),
        "the log is the server's:\n{log}"
    );
    assert!(!log.contains(sim::AUTH_TOKEN), "the auth token is in the log");
    let refused: Vec<_> = sim.refused().into_iter().filter(|(status, _)| *status != 599).collect();
    assert_eq!(refused, [], "the server refused webhooks");
}
