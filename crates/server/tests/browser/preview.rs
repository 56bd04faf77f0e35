//! The preview page (`GET /preview`): the chat beside the per-turn debug panel, with transfers
//! simulated and the simulated desk's events reaching the chat over the session's socket.

use crate::support::{Browser, TestServer, run};

#[test]
fn the_preview_shows_the_matched_action_and_a_simulated_transfer() {
    run(|| async {
        let server = TestServer::start().await;
        let browser = Browser::start().await;
        browser.goto(&server.url("/preview")).await;
        // The greeting is turn 1.
        browser.wait_until("document.querySelector('[data-turn=\"1\"]')").await;

        browser.type_into(".baton-wc-input", "I want to pay my bill\n").await;
        browser.wait_until("document.querySelector('[data-turn=\"2\"]')").await;
        let matched = browser
            .text_of("[data-turn=\"2\"] [data-field=\"Action matched\"]")
            .await;
        assert_eq!(matched, "pay_bill");
        let confidence = browser.text_of("[data-turn=\"2\"] [data-field=\"Confidence\"]").await;
        let confidence: f64 = confidence
            .parse()
            .unwrap_or_else(|_| panic!("confidence {confidence:?}"));
        assert!(confidence > 0.45, "{confidence}");

        let transfer = browser.text_of("[data-turn=\"2\"] [data-transfer]").await;
        assert!(transfer.contains("[Connect to an agent]"), "{transfer}");
        assert_eq!(
            browser
                .text_of("[data-turn=\"2\"] [data-transfer] [data-field=\"Queue\"]")
                .await,
            "billing"
        );
        assert_eq!(
            browser
                .text_of("[data-turn=\"2\"] [data-transfer] [data-field=\"Reason\"]")
                .await,
            "planned"
        );
        let message = browser
            .text_of("[data-turn=\"2\"] [data-transfer] [data-field=\"Message to agent\"]")
            .await;
        assert_eq!(message, "Customer wants to pay a bill from their checking account.");

        // The simulated desk's events reach the chat over the session's event socket.
        browser.wait_for_text(".baton-wc-status", "Waiting for an agent").await;
        browser.click("[data-turn=\"2\"] .desk button:nth-of-type(1)").await;
        browser
            .wait_for_text(".baton-wc-status", "You are number 1 in the queue")
            .await;
        browser.click("[data-turn=\"2\"] .desk button:nth-of-type(2)").await;
        browser.wait_for_text(".baton-wc-log", "Sam joined the chat.").await;
        browser.click("[data-turn=\"2\"] .desk button:nth-of-type(3)").await;
        browser
            .wait_for_text(".baton-wc-log", "Hi, I'm Sam from the team.")
            .await;
        browser
            .screenshot(&std::env::temp_dir().join("baton-preview.png"))
            .await;
        browser.close().await;
    });
}
