//! Bad input: each case gets IBM's error shape with a stable code, and changes nothing.

use serde_json::json;

use crate::common::{VERSION, assert_error, spawn_app, spawn_app_with};

#[tokio::test]
async fn bad_requests_get_ibm_errors_with_stable_codes() {
    let app = spawn_app().await;
    let session = app.create_session().await;
    let message = app.api(&format!("/sessions/{session}/message"));
    let json = "application/json";
    let long_text = "a".repeat(2049);
    let too_long = serde_json::to_vec(&json!({"input": {"text": long_text}})).unwrap();
    // (name, url, content type, body, status, baton_code)
    type Case<'a> = (&'a str, String, Option<&'a str>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "malformed json",
            message.clone(),
            Some(json),
            b"{\"input\": ".to_vec(),
            400,
            "invalid_json",
        ),
        (
            "trailing garbage",
            message.clone(),
            Some(json),
            b"{} x".to_vec(),
            400,
            "invalid_json",
        ),
        (
            "wrong type",
            message.clone(),
            Some(json),
            br#"{"input": {"text": 5}}"#.to_vec(),
            400,
            "invalid_request",
        ),
        (
            "not an object",
            message.clone(),
            Some(json),
            b"[1, 2]".to_vec(),
            400,
            "invalid_request",
        ),
        (
            // serde would read it as a message with no input (schemathesis found it).
            "an array serde could read as the struct",
            message.clone(),
            Some(json),
            b"[null, null]".to_vec(),
            400,
            "invalid_request",
        ),
        (
            "invalid utf-8",
            message.clone(),
            Some(json),
            b"{\"input\": {\"text\": \"\xff\xfe\"}}".to_vec(),
            400,
            "invalid_utf8",
        ),
        (
            "text content type",
            message.clone(),
            Some("text/plain"),
            b"{}".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "no content type",
            message.clone(),
            None,
            b"{}".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "text too long",
            message.clone(),
            Some(json),
            too_long,
            400,
            "text_too_long",
        ),
        (
            "body over the limit",
            message.clone(),
            Some(json),
            vec![b' '; 70 * 1024],
            413,
            "payload_too_large",
        ),
        (
            "unsupported message type",
            message.clone(),
            Some(json),
            br#"{"input": {"message_type": "search"}}"#.to_vec(),
            400,
            "unsupported_message_type",
        ),
        (
            "unknown session",
            app.api("/sessions/00000000-0000-0000-0000-000000000000/message"),
            Some(json),
            b"{}".to_vec(),
            404,
            "session_not_found",
        ),
        (
            "missing version",
            app.url(&format!(
                "/v2/assistants/bank/environments/draft/sessions/{session}/message"
            )),
            Some(json),
            b"{}".to_vec(),
            400,
            "missing_version",
        ),
        (
            "blank version among other parameters",
            app.url(&format!(
                "/v2/assistants/bank/environments/draft/sessions/{session}/message?x=1&version=%20&y"
            )),
            Some(json),
            b"{}".to_vec(),
            400,
            "missing_version",
        ),
        (
            "a parameter named like version",
            app.url(&format!(
                "/v2/assistants/bank/environments/draft/sessions/{session}/message?versions=1&_version=2"
            )),
            Some(json),
            b"{}".to_vec(),
            400,
            "missing_version",
        ),
        (
            "unknown assistant",
            app.url(&format!(
                "/v2/assistants/nope/environments/draft/sessions?version={VERSION}"
            )),
            Some(json),
            b"{}".to_vec(),
            404,
            "assistant_not_found",
        ),
        (
            "unknown environment",
            app.url(&format!(
                "/v2/assistants/bank/environments/staging/sessions?version={VERSION}"
            )),
            Some(json),
            b"{}".to_vec(),
            404,
            "environment_not_found",
        ),
        (
            "unknown route",
            app.url("/v2/nothing"),
            Some(json),
            b"{}".to_vec(),
            404,
            "not_found",
        ),
        (
            "wrong method",
            app.url("/healthz"),
            Some(json),
            b"{}".to_vec(),
            405,
            "method_not_allowed",
        ),
    ];
    for (name, url, content_type, body, status, code) in cases {
        let mut request = app.client.post(&url).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let reply = app.send(request).await;
        assert_eq!(reply.status, status, "{name}: {}", reply.body);
        assert_error(&reply, status, code);
    }
    let transcript = app.transcript(&session).await;
    assert!(
        transcript.iter().all(|line| !line.starts_with("customer:")),
        "bad requests change nothing: {transcript:#?}"
    );
}

#[tokio::test]
async fn a_wrong_type_names_the_field() {
    let app = spawn_app().await;
    let session = app.create_session().await;
    let url = app.api(&format!("/sessions/{session}/message"));
    let reply = app.post(&url, json!({"input": {"options": {"debug": "yes"}}})).await;
    assert_error(&reply, 400, "invalid_request");
    let error = reply.body["error"].as_str().unwrap();
    assert!(error.contains("input.options.debug"), "{error}");
}

#[tokio::test]
async fn an_array_given_for_an_object_is_refused_where_it_is() {
    let app = spawn_app().await;
    let session = app.create_session().await;
    let url = app.api(&format!("/sessions/{session}/message"));
    for (body, place) in [
        (json!({"input": [null, null]}), "input:"),
        (json!({"input": {"options": [true]}}), "input.options:"),
        (json!({"context": {"global": [null, null]}}), "context.global:"),
        (
            json!({"context": {"global": {"system": ["ann"]}}}),
            "context.global.system:",
        ),
    ] {
        let reply = app.post(&url, body.clone()).await;
        assert_error(&reply, 400, "invalid_request");
        let error = reply.body["error"].as_str().unwrap();
        assert!(error.contains(&format!("body: {place}")), "{body}: {error}");
    }
    // Nothing was said in the session: the refused messages changed nothing.
    assert!(app.transcript(&session).await.is_empty());
    // Brackets inside a text, and arrays where the request has them, are fine.
    let reply = app.say(&session, "[urgent] my card [ending 1234] was stolen").await;
    assert!(
        reply["output"]["generic"]
            .as_array()
            .is_some_and(|generic| !generic.is_empty()),
        "{reply}"
    );
    let skills = json!({"input": {"text": "hello"}, "context": {"skills": {"actions skill": {"skill_variables": {"list": [1, 2]}}}}});
    assert_eq!(app.post(&url, skills).await.status, 200);
}

#[tokio::test]
async fn an_event_number_beyond_the_documented_range_is_refused() {
    let app = spawn_app().await;
    let session = app.create_session().await;
    let events = app.url(&format!(
        "/v2/assistants/bank/environments/draft/sessions/{session}/events"
    ));
    for (after, code) in [
        ("9223372036854775808", "invalid_query"),
        ("-1", "invalid_query"),
        ("x", "invalid_query"),
        // In range, the query passes and a plain GET is refused for not being a WebSocket handshake.
        ("9223372036854775807", "invalid_request"),
    ] {
        let reply = app.send(app.client.get(format!("{events}?after={after}"))).await;
        assert_error(&reply, 400, code);
    }
}

#[tokio::test]
async fn a_flood_from_one_client_is_rate_limited() {
    let app = spawn_app_with(|config| {
        config.rate_limit.per_second = 0.5;
        config.rate_limit.burst = 3;
    })
    .await;
    let url = app.api("/sessions");
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(app.post(&url, json!({})).await);
    }
    assert_eq!(
        statuses.iter().map(|reply| reply.status).collect::<Vec<_>>(),
        [201, 201, 201, 429, 429]
    );
    assert_error(&statuses[3], 429, "rate_limited");
    let response = app.client.post(&url).json(&json!({})).send().await.unwrap();
    assert!(response.headers().contains_key("retry-after"));
    let health = app.send(app.client.get(app.url("/healthz"))).await;
    assert_eq!(health.status, 200, "operations routes are not limited");
}
