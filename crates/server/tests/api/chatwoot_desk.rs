//! The Chatwoot desk through the server, against the simulated Chatwoot: a Chatwoot that is down
//! sends the transfer to the next desk of its route, and a webhook that is not signed by the
//! inbox's secret is refused with `401` and changes nothing.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use baton_connectors::chatwoot::sim::{self, Sim};
use baton_server::config::{ChatwootSpec, DeskSpec};

use crate::common::{TestApp, assert_error, open_transfer, render, settled_transfer, spawn_app_with};

fn spec(dir: &Path, url: &str) -> DeskSpec {
    std::fs::write(dir.join("token"), sim::BOT_TOKEN).unwrap();
    std::fs::write(dir.join("webhook-secret"), sim::WEBHOOK_SECRET).unwrap();
    DeskSpec::Chatwoot(ChatwootSpec {
        url: url.to_owned(),
        account_id: sim::ACCOUNT,
        inbox_id: sim::INBOX,
        inbox_identifier: sim::INBOX_IDENTIFIER.to_owned(),
        api_access_token_env: None,
        api_access_token_file: Some(dir.join("token")),
        webhook_secret_env: None,
        webhook_secret_file: Some(dir.join("webhook-secret")),
        agents_token_env: None,
        agents_token_file: None,
        teams: Default::default(),
        join_timeout_secs: None,
        retry: baton_connectors::guard::Policy {
            attempts: 1,
            ..Default::default()
        },
    })
}

async fn app(sim: &Sim) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let desk = spec(dir.path(), &sim.url);
    let app = spawn_app_with(move |config| {
        config.desks.insert("support".to_owned(), desk);
        config
            .routes
            .insert("*".to_owned(), vec!["support".to_owned(), "own".to_owned()]);
    })
    .await;
    (app, dir)
}

/// The session's open transfer, as stored.
#[tokio::test]
async fn a_chatwoot_that_is_down_sends_the_transfer_to_the_next_desk() {
    let sim = Sim::start().await.unwrap();
    sim.set_down(true);
    let (app, _dir) = app(&sim).await;
    let session = app.create_session().await;
    app.say(&session, "").await;
    let reply = app.say(&session, "I want to talk to a person").await;
    assert!(
        render(&reply).iter().any(|line| line.starts_with("[connect_to_agent")),
        "{reply}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let open = open_transfer(&app, &session).await.expect("an open transfer");
        if !open["chat"].is_null() {
            assert_ne!(open["desk"], "support", "{open}");
            break;
        }
        assert!(Instant::now() < deadline, "no desk took the chat: {open}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        sim.calls().contains(&"create_contact".to_owned()),
        "Chatwoot was tried first"
    );
    assert!(sim.conversation_ids().is_empty());
}

#[tokio::test]
async fn an_unsigned_or_forged_chatwoot_webhook_is_refused_and_changes_nothing() {
    let sim = Sim::start().await.unwrap();
    let (app, _dir) = app(&sim).await;
    let session = app.create_session().await;
    app.say(&session, "").await;
    app.say(&session, "I want to talk to a person").await;
    let opened = sim::within(Duration::from_secs(10), || !sim.conversation_ids().is_empty()).await;
    assert!(opened);
    let conversation = sim.conversation_ids()[0];
    let before = Some(settled_transfer(&app, &session).await);

    let body = serde_json::to_vec(&json!({
        "event": "conversation_status_changed", "id": conversation, "status": "resolved",
    }))
    .unwrap();
    let now = chrono::Utc::now().timestamp();
    let forged = baton_connectors::signing::timestamped_hex(b"guessed", now, &body);
    let url = app.url("/v1/desks/support/webhook");
    for headers in [
        vec![],
        vec![
            ("x-chatwoot-timestamp", now.to_string()),
            ("x-chatwoot-signature", format!("sha256={forged}")),
        ],
    ] {
        let mut request = app.client.post(&url).body(body.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let reply = app.send(request).await;
        assert_error(&reply, 401, "desk_signature_invalid");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(open_transfer(&app, &session).await, before, "nothing changed");
}
