//! The web chat on the Northwind Bank demo page (`GET /`).

use std::path::PathBuf;

use serde_json::json;

use crate::support::{Browser, TestServer, run};

const LOG: &str = ".baton-wc-log";
/// With no agent signed in, a transfer gets the queue's offline response (and waits in the queue).
const OFFLINE: &str = "Our billing team is offline. You can pay bills any time in the app under Payments.";

/// Opens the demo page and the chat with the keyboard's entry point, and waits for the greeting.
async fn open_chat(browser: &Browser, server: &TestServer) {
    browser.goto(&server.url("/")).await;
    browser.click(".baton-wc-launcher").await;
    browser
        .wait_until("document.querySelector('.baton-wc-log .baton-wc-assistant')")
        .await;
}

#[test]
fn a_customer_converses_through_to_a_transfer() {
    run(|| async {
        let server = TestServer::start().await;
        let browser = Browser::start().await;
        open_chat(&browser, &server).await;
        // Opening the chat moves focus to the message field, and the launcher says it is open.
        let focused = browser
            .script(
                "return document.activeElement && document.activeElement.className;",
                Vec::new(),
            )
            .await;
        assert_eq!(focused, json!("baton-wc-input"));
        assert_eq!(
            browser
                .script(
                    "return document.querySelector('.baton-wc-launcher').getAttribute('aria-expanded');",
                    Vec::new()
                )
                .await,
            json!("true")
        );

        browser.type_into(".baton-wc-input", "I want to pay my bill\n").await;
        let log = browser.wait_for_text(LOG, OFFLINE).await;
        assert!(log.contains("Bill payments are handled by our billing team."), "{log}");
        assert!(log.contains("I want to pay my bill"), "{log}");
        browser.wait_for_text(".baton-wc-status", "Waiting for an agent").await;

        // Escape closes the chat and gives focus back to the launcher.
        browser.type_into(".baton-wc-input", "\u{E00C}").await;
        browser
            .wait_until("document.querySelector('.baton-wc-panel').hidden")
            .await;
        let focused = browser
            .script(
                "return document.activeElement && document.activeElement.className;",
                Vec::new(),
            )
            .await;
        assert_eq!(focused, json!("baton-wc-launcher"));
        browser.close().await;
    });
}

#[test]
fn a_reload_restores_the_transcript() {
    run(|| async {
        let server = TestServer::start().await;
        let browser = Browser::start().await;
        open_chat(&browser, &server).await;
        browser.type_into(".baton-wc-input", "I want to pay my bill\n").await;
        browser.wait_for_text(LOG, OFFLINE).await;
        let before = browser.text_of(LOG).await;

        browser.client.refresh().await.expect("reloading the page");
        // The chat reopens by itself (it was open) and shows the same conversation from the server.
        let after = browser.wait_for_text(LOG, OFFLINE).await;
        assert_eq!(after, before);
        assert_eq!(after.matches("I want to pay my bill").count(), 1, "{after}");
        browser.wait_for_text(".baton-wc-status", "Waiting for an agent").await;

        // The conversation goes on in the same session.
        browser.type_into(".baton-wc-input", "thanks\n").await;
        browser
            .wait_until("document.querySelectorAll('.baton-wc-log .baton-wc-customer').length === 2")
            .await;
        browser.close().await;
    });
}

#[test]
fn markup_in_a_message_is_shown_as_text() {
    run(|| async {
        let server = TestServer::start().await;
        let browser = Browser::start().await;
        open_chat(&browser, &server).await;
        let attack = "<img src=x onerror=alert(1)>";
        browser.type_into(".baton-wc-input", &format!("{attack}\n")).await;
        browser
            .wait_until("document.querySelectorAll('.baton-wc-log .baton-wc-assistant').length >= 2")
            .await;
        let customer = browser
            .text_of(".baton-wc-log .baton-wc-customer .baton-wc-bubble")
            .await;
        assert!(customer.ends_with(attack), "{customer:?}");
        assert!(
            browser.client.get_alert_text().await.is_err(),
            "an alert is open: the message ran as markup"
        );
        let images = browser
            .script("return document.querySelectorAll('.baton-wc img').length;", Vec::new())
            .await;
        assert_eq!(images, json!(0));

        // And after a reload, when it comes back from the server.
        browser.client.refresh().await.expect("reloading the page");
        browser.wait_for_text(LOG, attack).await;
        assert!(
            browser.client.get_alert_text().await.is_err(),
            "an alert is open after the reload"
        );
        let images = browser
            .script("return document.querySelectorAll('.baton-wc img').length;", Vec::new())
            .await;
        assert_eq!(images, json!(0));
        browser.close().await;
    });
}

#[test]
fn bold_and_italic_in_the_assistants_text_are_shown_as_emphasis() {
    run(|| async {
        let server = TestServer::start().await;
        let browser = Browser::start().await;
        open_chat(&browser, &server).await;
        browser.type_into(".baton-wc-input", "what can you do\n").await;
        let log = browser.wait_for_text(LOG, "Ask in your own words").await;
        assert!(
            log.contains("I can help with balances, transfers, cards, bills, loans and branch hours."),
            "the asterisks are not shown: {log}"
        );
        let bold = browser
            .script(
                "return [...document.querySelectorAll('.baton-wc-log .baton-wc-assistant strong')].map(node => node.textContent);",
                Vec::new(),
            )
            .await;
        assert_eq!(
            bold,
            json!(["balances, transfers, cards, bills, loans and branch hours"])
        );
        // What the customer types stays as typed.
        browser.type_into(".baton-wc-input", "a **b** c\n").await;
        browser.wait_for_text(LOG, "a **b** c").await;
        let customer = browser
            .script(
                "const bubbles = document.querySelectorAll('.baton-wc-log .baton-wc-customer .baton-wc-bubble'); \
                 const last = bubbles[bubbles.length - 1]; return [last.textContent, last.querySelectorAll('strong').length];",
                Vec::new(),
            )
            .await;
        assert_eq!(customer, json!(["You said: a **b** c", 0]));
        browser.close().await;
    });
}

/// Screenshots at desktop and phone widths in the temporary directory, for people to look at;
/// on a phone the open chat fills the screen.
#[test]
fn the_chat_fits_desktop_and_phone_screens() {
    run(|| async {
        let server = TestServer::start().await;
        let browser = Browser::start().await;
        open_chat(&browser, &server).await;
        browser.type_into(".baton-wc-input", "I want to pay my bill\n").await;
        browser.wait_for_text(LOG, OFFLINE).await;
        let dir = std::env::temp_dir();
        browser.screenshot(&dir.join("baton-webchat-desktop.png")).await;

        browser
            .client
            .set_window_size(390, 844)
            .await
            .expect("resizing the window");
        browser.wait_until("window.innerWidth <= 480").await;
        let fills = browser
            .script(
                "const r = document.querySelector('.baton-wc-panel').getBoundingClientRect();
                 const page = document.documentElement;
                 return r.left === 0 && r.top === 0 && Math.round(r.width) === page.clientWidth && Math.round(r.height) === page.clientHeight;",
                Vec::new(),
            )
            .await;
        assert_eq!(fills, json!(true), "the chat should fill a phone screen");
        let phone: PathBuf = dir.join("baton-webchat-phone.png");
        browser.screenshot(&phone).await;
        browser.close().await;
    });
}

/// Outside development mode the demo page's chat works without an API key (it is the server's
/// own origin) and still restores after a reload.
#[test]
fn outside_development_mode_the_demo_page_chat_works_and_restores() {
    run(|| async {
        let server = TestServer::start_with(|config| config.dev = false).await;
        let browser = Browser::start().await;
        open_chat(&browser, &server).await;
        browser.type_into(".baton-wc-input", "I want to pay my bill\n").await;
        let before = browser.wait_for_text(LOG, OFFLINE).await;
        browser.client.refresh().await.expect("reloading the page");
        let after = browser.wait_for_text(LOG, OFFLINE).await;
        assert_eq!(after, before);
        browser.close().await;
    });
}
