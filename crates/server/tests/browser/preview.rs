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

/// The bank example with one text replaced in one of its files, as an author's edit.
fn edited_bank(file: &str, from: &str, to: &str) -> baton_dialog::Engine {
    let bank = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/bank");
    let copy = tempfile::tempdir().expect("a temporary folder");
    for entry in walk(&bank) {
        let relative = entry.strip_prefix(&bank).unwrap();
        let target = copy.path().join(relative);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        let mut text = std::fs::read_to_string(&entry).unwrap();
        if relative == std::path::Path::new(file) {
            assert!(text.contains(from), "{file} says {from:?}");
            text = text.replace(from, to);
        }
        std::fs::write(target, text).unwrap();
    }
    let loaded = baton_assistant::load_dir(copy.path());
    baton_dialog::Engine::new(loaded.assistant.expect("the edited bank loads"))
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        match path.is_dir() {
            true => files.extend(walk(&path)),
            false => files.push(path),
        }
    }
    files
}

#[test]
fn the_preview_shows_an_edit_that_is_not_served_and_then_the_reload() {
    run(|| async {
        let server = TestServer::start().await;
        let browser = Browser::start().await;
        browser.goto(&server.url("/preview")).await;
        browser.wait_until("document.querySelector('[data-turn=\"1\"]')").await;
        assert!(
            browser
                .script("return document.getElementById('reload').hidden;", vec![])
                .await
                .as_bool()
                .unwrap()
        );

        // A broken edit: the server keeps the previous version and says why; the problem's
        // text is shown as text.
        let problem = "bank/actions/branch_hours.yaml:4:11: error[unknown-key]: unknown key `<b>sya</b>`";
        server.assistants.refuse("bank", vec![problem.to_owned()]).unwrap();
        let shown = browser.wait_for_text("#reload", "is not served").await;
        assert!(shown.contains(problem), "{shown}");
        assert_eq!(
            browser
                .script("return document.querySelectorAll('#reload b').length;", vec![])
                .await,
            0
        );
        browser
            .screenshot(&std::env::temp_dir().join("baton-preview-problems.png"))
            .await;

        // Mended and reloaded: the banner goes, the panel marks the reload, and the next
        // message gets the new wording.
        let edited = edited_bank(
            "actions/branch_hours.yaml",
            "Our branches are open",
            "Our branches now open",
        );
        server.assistants.replace(edited).unwrap();
        browser
            .wait_until("document.querySelector('[data-reloaded=\"1\"]')")
            .await;
        browser.wait_until("document.getElementById('reload').hidden").await;
        browser
            .type_into(".baton-wc-input", "what are your branch hours\n")
            .await;
        browser.wait_for_text(".baton-wc-log", "Our branches now open").await;
        browser.close().await;
    });
}
