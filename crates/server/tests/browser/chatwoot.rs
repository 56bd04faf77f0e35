//! The web chat through a whole transfer to the Chatwoot desk, the agent's side played by the
//! simulated Chatwoot (`baton_connectors::chatwoot::sim`), whose signed webhooks reach the
//! server over HTTP: the customer asks for a person, an agent takes the conversation, types,
//! writes, reads the customer's answer, and resolves it; the customer is back with the assistant.

use std::time::Duration;

use baton_connectors::chatwoot::sim::{self, Sim};
use baton_server::config::{ChatwootSpec, DeskSpec};

use crate::support::{Browser, TestServer, run};

const LOG: &str = ".baton-wc-log";
const ANN: (u64, &str) = (11, "Ann Agent");

#[test]
fn a_customer_chats_with_a_chatwoot_agent_in_the_widget() {
    run(|| async {
        let sim = Sim::start().await.expect("the simulation starts");
        let secrets = tempfile::tempdir().unwrap();
        let token = secrets.path().join("token");
        let secret = secrets.path().join("webhook-secret");
        std::fs::write(&token, sim::BOT_TOKEN).unwrap();
        std::fs::write(&secret, sim::WEBHOOK_SECRET).unwrap();
        let url = sim.url.clone();
        let server = TestServer::start_with(move |config| {
            config.desks.insert(
                "support".to_owned(),
                DeskSpec::Chatwoot(ChatwootSpec {
                    url,
                    account_id: sim::ACCOUNT,
                    inbox_id: sim::INBOX,
                    inbox_identifier: sim::INBOX_IDENTIFIER.to_owned(),
                    api_access_token_env: None,
                    api_access_token_file: Some(token),
                    webhook_secret_env: None,
                    webhook_secret_file: Some(secret),
                    agents_token_env: None,
                    agents_token_file: None,
                    teams: Default::default(),
                    join_timeout_secs: None,
                    retry: Default::default(),
                }),
            );
            config.routes.insert("*".to_owned(), vec!["support".to_owned()]);
        })
        .await;
        let webhook = server.url("/v1/desks/support/webhook");
        sim.set_sink(baton_connectors::simulation::http_sink(move || webhook.clone()));

        let browser = Browser::start().await;
        browser.goto(&server.url("/")).await;
        browser.click(".baton-wc-launcher").await;
        browser
            .wait_until("document.querySelector('.baton-wc-log .baton-wc-assistant')")
            .await;
        browser
            .type_into(".baton-wc-input", "I want to talk to a person\n")
            .await;
        let opened = sim::within(Duration::from_secs(20), || {
            sim.conversation_ids()
                .first()
                .is_some_and(|id| sim.conversation(*id, |found| found.status == "open").unwrap_or(false))
        })
        .await;
        assert!(opened, "the conversation was opened in Chatwoot");
        let conversation = sim.conversation_ids()[0];

        sim.assign(conversation, ANN).await;
        browser.wait_for_text(LOG, "Ann Agent joined the chat.").await;
        sim.agent_typing(conversation, ANN, true).await;
        browser
            .wait_until("!document.querySelector('.baton-wc-typing').hidden")
            .await;
        sim.agent_says(
            conversation,
            ANN,
            "Hello, I'm Ann from Chatwoot. <b>How</b> can I help?",
        )
        .await;
        let log = browser.wait_for_text(LOG, "Hello, I'm Ann from Chatwoot.").await;
        assert!(
            log.contains("<b>How</b> can I help?"),
            "the agent's markup is shown as text: {log}"
        );
        browser
            .wait_until("document.querySelector('.baton-wc-typing').hidden")
            .await;

        browser
            .type_into(".baton-wc-input", "My card was swallowed by an ATM\n")
            .await;
        let arrived = sim::within(Duration::from_secs(20), || {
            sim.conversation(conversation, |found| {
                found.messages.iter().any(|message| {
                    message.message_type == "incoming" && message.content == "My card was swallowed by an ATM"
                })
            })
            .unwrap_or(false)
        })
        .await;
        assert!(arrived, "the customer's message reached Chatwoot");

        sim.set_status(conversation, "resolved", serde_json::json!({})).await;
        browser
            .wait_for_text(
                LOG,
                "The chat with the agent has ended. You're back with the assistant.",
            )
            .await;
        assert_eq!(sim.refused(), [], "the server took every webhook");
        browser.close().await;
    });
}
