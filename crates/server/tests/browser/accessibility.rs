//! Accessibility, checked by axe-core (see `axe`) in every state a person meets: the demo page
//! with the web chat closed, open, offering options, waiting for an agent, with the agent in the
//! chat and after the agent ended it; the agent console signed out, online with an offer, in a
//! chat, on the tickets and the supervisor views; and the preview page before and after a turn.

use baton_server::Config;

use crate::axe::assert_accessible;
use crate::support::{Browser, PASSWORD, TestServer, agent, run};

const LOG: &str = ".baton-wc-log";

fn one_agent(config: &mut Config) {
    config.desk.agents = vec![agent("ann", "Ann Smith", &[])];
}

#[test]
fn the_demo_page_and_the_console_pass_axe_in_every_state() {
    run(|| async {
        let server = TestServer::start_with(one_agent).await;
        let ann = Browser::start().await;
        ann.goto(&server.url("/agent")).await;
        ann.wait_until("!document.querySelector('#login-view').hidden").await;
        assert_accessible(&ann, "the console, signed out").await;
        ann.type_into("#username", "ann").await;
        ann.type_into("#password", &format!("{PASSWORD}\n")).await;
        ann.wait_until("document.body.dataset.presence === 'online'").await;

        let customer = Browser::start().await;
        customer.goto(&server.url("/")).await;
        customer
            .wait_until("document.querySelector('.baton-wc-launcher')")
            .await;
        assert_accessible(&customer, "the demo page, chat closed").await;
        customer.click(".baton-wc-launcher").await;
        customer
            .wait_until("document.querySelector('.baton-wc-log .baton-wc-assistant')")
            .await;
        assert_accessible(&customer, "the demo page, chat open").await;
        customer.type_into(".baton-wc-input", "What's my balance?\n").await;
        customer.wait_until("document.querySelector('.baton-wc-option')").await;
        assert_accessible(&customer, "the demo page, a question with options").await;

        customer.type_into(".baton-wc-input", "I want to pay my bill\n").await;
        customer.wait_for_text(".baton-wc-status", "Waiting for an agent").await;
        customer
            .wait_until("!document.querySelector('.baton-wc-cancel').hidden")
            .await;
        assert_accessible(&customer, "the demo page, waiting for an agent").await;

        ann.wait_until("document.querySelector('#offers [data-offer]')").await;
        assert_accessible(&ann, "the console, online with an offer").await;
        ann.click("#offers [data-offer] .accept").await;
        ann.wait_until("!document.querySelector('#chat').hidden").await;
        ann.wait_for_text("#transcript", "I want to pay my bill").await;
        ann.type_into("#message", "Hi, I'm Ann. How can I help?\n").await;
        customer.wait_for_text(LOG, "Hi, I'm Ann. How can I help?").await;
        assert_accessible(&customer, "the demo page, chatting with an agent").await;
        assert_accessible(&ann, "the console, in a chat").await;

        ann.click("#tabs a[data-view='tickets']").await;
        ann.wait_until("!document.querySelector('#tickets-view').hidden").await;
        assert_accessible(&ann, "the console, tickets").await;
        ann.click("#tabs a[data-view='supervisor']").await;
        ann.wait_until("document.querySelector('#sv-agents [data-agent]')")
            .await;
        assert_accessible(&ann, "the console, supervisor").await;

        ann.click("#tabs a[data-view='chats']").await;
        ann.click("#resolve").await;
        ann.wait_for_text("#chat-state", "Ended").await;
        assert_accessible(&ann, "the console, a chat that ended").await;
        customer.wait_for_text(LOG, "You're back with the assistant.").await;
        assert_accessible(&customer, "the demo page, after the agent ended the chat").await;
        customer.close().await;
        ann.close().await;
    });
}

#[test]
fn the_preview_passes_axe_before_and_after_a_transfer() {
    run(|| async {
        let server = TestServer::start().await;
        let browser = Browser::start().await;
        browser.goto(&server.url("/preview")).await;
        browser.wait_until("document.querySelector('[data-turn=\"1\"]')").await;
        assert_accessible(&browser, "the preview, at the greeting").await;
        browser.type_into(".baton-wc-input", "I want to pay my bill\n").await;
        browser
            .wait_until("document.querySelector('[data-turn=\"2\"] [data-transfer]')")
            .await;
        browser.wait_for_text(".baton-wc-status", "Waiting for an agent").await;
        assert_accessible(&browser, "the preview, a simulated transfer").await;
        browser.close().await;
    });
}
