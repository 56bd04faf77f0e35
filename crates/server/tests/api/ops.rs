//! Health, readiness, metrics, the OpenAPI document, CORS and graceful shutdown.

use serde_json::json;

use crate::common::{spawn_app, spawn_app_with};

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let health = app.send(app.client.get(app.url("/healthz"))).await;
    assert_eq!((health.status, health.body), (200, json!({"status": "ok"})));
    let ready = app.send(app.client.get(app.url("/readyz"))).await;
    assert_eq!((ready.status, ready.body), (200, json!({"status": "ready"})));
}

/// Every `(path, method)` the server's router serves, read from its source (`.route(PATH,
/// get(…).post(…))` in `serve.rs`, `web.rs`, `events.rs`, `agents.rs` and `voice.rs`), so a new route is checked without
/// being listed by hand.
fn served_routes() -> std::collections::BTreeSet<(String, String)> {
    let mut routes = std::collections::BTreeSet::new();
    for file in ["serve.rs", "web.rs", "events.rs", "agents.rs", "voice.rs"] {
        let source = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(file))
            .expect("the router's source");
        for call in source.split(".route(").skip(1) {
            // The call's text up to the next builder call or the end of the chain.
            let call = call.split("\n        .").next().unwrap_or(call);
            let Some(start) = call.find('"') else { continue };
            let Some(length) = call[start + 1..].find('"') else {
                continue;
            };
            let path = call[start + 1..start + 1 + length]
                .replace("{BASE}", "/v2/assistants/{assistant_id}")
                .replace("{ENV}", "/v2/assistants/{assistant_id}/environments/{environment_id}")
                .replace("{{", "{")
                .replace("}}", "}");
            for method in ["get", "post", "put", "delete", "patch"] {
                let at_start = call.contains(&format!("\n            {method}("))
                    || call.contains(&format!(", {method}("))
                    || call.contains(&format!(".{method}("));
                if at_start {
                    routes.insert((path.clone(), method.to_owned()));
                }
            }
        }
    }
    routes
}

#[tokio::test]
async fn the_openapi_document_has_every_route() {
    let app = spawn_app().await;
    let document = app.send(app.client.get(app.url("/openapi.json"))).await;
    assert_eq!(document.status, 200);
    assert!(document.body["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document.body["paths"].as_object().unwrap();
    let served = served_routes();
    assert!(
        served.len() >= 40,
        "the routes are read from the router's source: {served:?}"
    );
    for (path, method) in &served {
        assert!(
            paths.get(path).and_then(|item| item.get(method)).is_some(),
            "{method} {path} is served but not documented"
        );
    }
    // And nothing is documented that is not served.
    let documented: usize = paths
        .values()
        .map(|item| item.as_object().map_or(0, |item| item.len()))
        .sum();
    assert_eq!(documented, served.len(), "{served:?}");
    let schemas = document.body["components"]["schemas"].as_object().unwrap();
    for schema in [
        "MessageRequest",
        "MessageResponse",
        "GenericItem",
        "ErrorBody",
        "SessionResponse",
    ] {
        assert!(schemas.contains_key(schema), "schema {schema}");
    }
}

#[tokio::test]
async fn cors_allows_only_the_listed_origins() {
    let app = spawn_app_with(|config| config.cors_origins = vec!["https://shop.example".to_owned()]).await;
    let url = app.api("/sessions");
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, &url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,authorization")
            .send()
    };
    let allowed = preflight("https://shop.example").await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://shop.example");
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(!refused.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn the_widget_from_an_allowed_origin_may_cancel_a_wait_but_nobody_else_without_a_key() {
    let app = spawn_app_with(|config| {
        config.dev = false;
        config.cors_origins = vec!["https://shop.example".to_owned()];
    })
    .await;
    let from_shop = |url: &str| app.client.post(url).header("origin", "https://shop.example");
    let created = app.send(from_shop(&app.api("/sessions")).json(&json!({}))).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let session = created.body["session_id"].as_str().unwrap().to_owned();
    let said = app
        .send(
            from_shop(&app.api(&format!("/sessions/{session}/message")))
                .json(&json!({"input": {"text": "I want to talk to a person"}})),
        )
        .await;
    assert_eq!(said.status, 200, "{}", said.body);
    let cancel = app.api(&format!("/sessions/{session}/transfer/cancel"));
    let stranger = app.send(app.client.post(&cancel).json(&json!({}))).await;
    assert_eq!(stranger.status, 401, "{}", stranger.body);
    let widget = app.send(from_shop(&cancel).json(&json!({}))).await;
    assert_eq!(widget.status, 200, "{}", widget.body);
    assert_eq!(widget.body["cancelled"], true, "{}", widget.body);
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let app = spawn_app().await;
    let session = app.create_session().await;
    app.say(&session, "I want to pay my bill").await;
    let addr = app.addr;
    app.stop().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}

/// What schemathesis found: the agent API's message body and the Watson message body both were
/// `MessageRequest`, and the agent's replaced the Watson one in the document; probes without an
/// API key must be documented as needing none; a message's body may be left out.
#[tokio::test]
async fn the_openapi_document_describes_the_message_body_and_the_open_routes() {
    let app = spawn_app().await;
    let document = app.send(app.client.get(app.url("/openapi.json"))).await.body;
    let schemas = &document["components"]["schemas"];
    assert!(
        schemas["MessageRequest"]["properties"]["input"].is_object(),
        "{}",
        schemas["MessageRequest"]
    );
    assert!(schemas["AgentMessageRequest"]["properties"]["text"].is_object());
    let message = &document["paths"]["/v2/assistants/{assistant_id}/environments/{environment_id}/sessions/{session_id}/message"]
        ["post"];
    assert_eq!(message["requestBody"]["required"], false);
    assert_eq!(
        message["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/MessageRequest"
    );
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        assert_eq!(
            document["paths"][path]["get"]["security"],
            serde_json::json!([{}]),
            "{path}"
        );
    }
}
