//! API keys: required without `dev`, accepted as IBM's Basic (`apikey`) and Bearer forms.

use base64::Engine as _;
use serde_json::json;

use baton_server::auth::ApiKey;

use crate::common::{assert_error, spawn_app_with};

#[tokio::test]
async fn the_api_needs_a_key_unless_in_development_mode() {
    let app = spawn_app_with(|config| config.dev = false).await;
    let key = ApiKey::generate();
    app.store
        .create_api_key("test", &key.hash(), chrono::Utc::now())
        .await
        .unwrap();
    let url = app.api("/sessions");

    let missing = app.post(&url, json!({})).await;
    assert_error(&missing, 401, "unauthorized");

    let wrong = app
        .send(app.client.post(&url).bearer_auth("baton_wrong").json(&json!({})))
        .await;
    assert_error(&wrong, 401, "unauthorized");

    let other_user = base64::engine::general_purpose::STANDARD.encode(format!("admin:{}", key.expose()));
    let wrong_user = app
        .send(
            app.client
                .post(&url)
                .header("authorization", format!("Basic {other_user}"))
                .json(&json!({})),
        )
        .await;
    assert_error(&wrong_user, 401, "unauthorized");

    let basic = app
        .send(
            app.client
                .post(&url)
                .basic_auth("apikey", Some(key.expose()))
                .json(&json!({})),
        )
        .await;
    assert_eq!(basic.status, 201, "{}", basic.body);

    let bearer = app
        .send(app.client.post(&url).bearer_auth(key.expose()).json(&json!({})))
        .await;
    assert_eq!(bearer.status, 201, "{}", bearer.body);

    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        let reply = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(reply.status(), 200, "{path} needs no key");
    }
}

/// A key found once is remembered for a second (so busy clients cost one lookup a second), and a
/// revoked key is refused once that second has passed.
#[tokio::test]
async fn a_revoked_key_is_refused_within_a_second() {
    let app = spawn_app_with(|config| config.dev = false).await;
    let key = ApiKey::generate();
    let record = app
        .store
        .create_api_key("soon revoked", &key.hash(), chrono::Utc::now())
        .await
        .unwrap();
    let url = app.api("/sessions");
    let before = app
        .send(app.client.post(&url).bearer_auth(key.expose()).json(&json!({})))
        .await;
    assert_eq!(before.status, 201, "{}", before.body);

    app.store.revoke_api_key(record.id, chrono::Utc::now()).await.unwrap();
    tokio::time::sleep(baton_server::auth::VERIFIED_FOR + std::time::Duration::from_millis(100)).await;
    let after = app
        .send(app.client.post(&url).bearer_auth(key.expose()).json(&json!({})))
        .await;
    assert_error(&after, 401, "unauthorized");
}
