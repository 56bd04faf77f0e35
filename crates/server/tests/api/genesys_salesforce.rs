//! Salesforce and Genesys Cloud through the server, against their simulations: a Salesforce
//! routing that fails sends the transfer to the next desk of its route, a Salesforce that is down
//! does too, and a Genesys webhook not signed with the integration's secret is refused with `401`
//! and changes nothing.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use baton_connectors::{genesys, salesforce};
use baton_server::config::{DeskSpec, GenesysSpec, SalesforceSpec};

use crate::common::{TestApp, assert_error, open_transfer, settled_transfer, spawn_app_with};

fn one_attempt() -> baton_connectors::guard::Policy {
    baton_connectors::guard::Policy {
        attempts: 1,
        ..Default::default()
    }
}

async fn app_with(desk: DeskSpec) -> TestApp {
    spawn_app_with(move |config| {
        config.desks.insert("support".to_owned(), desk);
        config
            .routes
            .insert("*".to_owned(), vec!["support".to_owned(), "own".to_owned()]);
    })
    .await
}

/// The session's open transfer, as stored.
/// Waits until the session's transfer is held by a desk other than `support`.
async fn moves_on(app: &TestApp, session: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let open = open_transfer(app, session).await.expect("an open transfer");
        if !open["chat"].is_null() && open["desk"] != "support" {
            return open;
        }
        assert!(Instant::now() < deadline, "the transfer stayed with support: {open}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn salesforce_spec(url: &str) -> DeskSpec {
    DeskSpec::Salesforce(SalesforceSpec {
        url: url.to_owned(),
        org_id: salesforce::sim::ORG_ID.to_owned(),
        deployment: salesforce::sim::DEPLOYMENT.to_owned(),
        fields: Default::default(),
        post_transcript: None,
        join_timeout_secs: None,
        retry: one_attempt(),
    })
}

#[tokio::test]
async fn a_salesforce_routing_that_fails_or_a_salesforce_that_is_down_sends_the_transfer_on() {
    let sim = salesforce::sim::Sim::start().await.unwrap();
    sim.fail_routing(true);
    let app = app_with(salesforce_spec(&sim.url)).await;
    let session = app.create_session().await;
    app.say(&session, "").await;
    app.say(&session, "I want to talk to a person").await;
    let open = moves_on(&app, &session).await;
    assert_eq!(sim.conversation_ids().len(), 1, "Salesforce was tried first: {open}");
    // The kept token never leaves the server's database: not in the transfer's public fields.
    assert!(
        open.get("desk_state").is_none(),
        "the failed chat's state was dropped: {open}"
    );

    sim.fail_routing(false);
    sim.set_down(true);
    let session = app.create_session().await;
    app.say(&session, "").await;
    app.say(&session, "I want to talk to a person").await;
    moves_on(&app, &session).await;
    assert_eq!(sim.conversation_ids().len(), 1, "nothing was made while down");
}

#[tokio::test]
async fn an_unsigned_or_forged_genesys_webhook_is_refused_and_changes_nothing() {
    let sim = genesys::sim::Sim::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("client"), genesys::sim::CLIENT_SECRET).unwrap();
    std::fs::write(dir.path().join("webhook"), genesys::sim::WEBHOOK_SECRET).unwrap();
    let app = app_with(DeskSpec::Genesys(GenesysSpec {
        region: "mypurecloud.com".to_owned(),
        client_id: genesys::sim::CLIENT_ID.to_owned(),
        client_secret_env: None,
        client_secret_file: Some(dir.path().join("client")),
        integration_id: genesys::sim::INTEGRATION.to_owned(),
        webhook_secret_env: None,
        webhook_secret_file: Some(dir.path().join("webhook")),
        queues: [("*".to_owned(), genesys::sim::QUEUE.to_owned())].into(),
        api_url: Some(sim.url.clone()),
        login_url: Some(sim.url.clone()),
        join_timeout_secs: None,
        retry: one_attempt(),
    }))
    .await;
    let session = app.create_session().await;
    app.say(&session, "").await;
    app.say(&session, "I want to talk to a person").await;
    assert!(genesys::sim::within(Duration::from_secs(10), || !sim.conversation_ids().is_empty()).await);
    let conversation = sim.conversation_ids().remove(0);
    let customer = sim.conversation(&conversation, |found| found.customer.clone()).unwrap();
    let before = Some(settled_transfer(&app, &session).await);

    let body = serde_json::to_vec(&json!({
        "id": "forged-1", "type": "Text", "text": "send me your card number", "direction": "Outbound",
        "originatingEntity": "Human", "channel": {"to": {"id": customer}, "from": {"nickname": "Mallory"}},
    }))
    .unwrap();
    let url = app.url("/v1/desks/support/webhook");
    for signature in [None, Some(genesys::sign("guessed", &body))] {
        let mut request = app.client.post(&url).body(body.clone());
        if let Some(signature) = signature {
            request = request.header(genesys::SIGNATURE_HEADER, signature);
        }
        let reply = app.send(request).await;
        assert_error(&reply, 401, "desk_signature_invalid");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(open_transfer(&app, &session).await, before, "nothing changed");
}
