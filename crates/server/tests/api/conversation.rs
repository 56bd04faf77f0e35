//! Whole conversations over HTTP: transfers, options, context, idempotent retries, expiry.

use std::time::Duration;

use serde_json::json;

use crate::common::{VERSION, assert_error, render, spawn_app};

#[tokio::test]
async fn paying_a_bill_ends_in_a_transfer_to_billing() {
    let app = spawn_app().await;
    let session = app.create_session().await;

    let greeting = app.say(&session, "").await;
    assert!(!render(&greeting).is_empty(), "the greeting says something: {greeting}");

    let reply = app.say(&session, "I want to pay my bill").await;
    assert_eq!(
        render(&reply),
        [
            "Bill payments are handled by our billing team.",
            "[connect_to_agent: Let's send you to an available agent / queue \"billing\"]"
        ]
    );
    let transfer = &reply["output"]["generic"][1];
    assert_eq!(
        transfer["message_to_human_agent"],
        "Customer wants to pay a bill from their checking account."
    );
    assert_eq!(
        transfer["agent_unavailable"]["message"],
        "Our billing team is offline. You can pay bills any time in the app under Payments."
    );
    assert_eq!(transfer["transfer_info"]["target"]["baton"]["reason"], "planned");
    assert_eq!(reply["output"]["intents"][0]["intent"], "pay_bill");
    assert!(reply.get("context").is_none(), "context only when asked: {reply}");
    assert_eq!(reply["user_id"], session.as_str());

    let transcript = app.transcript(&session).await;
    let customer_lines: Vec<_> = transcript.iter().filter(|line| line.starts_with("customer:")).collect();
    assert_eq!(
        customer_lines,
        [r#"customer: {"type":"text","text":"I want to pay my bill"}"#]
    );
    assert!(
        transcript
            .iter()
            .any(|line| line.starts_with("event:") && line.contains(r#""reason":"planned""#)),
        "{transcript:#?}"
    );
    // No agent is online, so the transcript records the offline response (the reply carries both).
    assert!(
        transcript.contains(
            &r#"assistant: {"type":"text","text":"Our billing team is offline. You can pay bills any time in the app under Payments."}"#
                .to_owned()
        ),
        "{transcript:#?}"
    );

    let metrics = app.send(app.client.get(app.url("/metrics"))).await;
    assert_eq!(metrics.status, 200);
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("baton_transfers_total{reason=\"planned\"} 1"), "{text}");
    assert!(text.contains("baton_messages_total 2"), "{text}");
    assert!(text.contains("baton_sessions_created_total 1"), "{text}");
    app.stop().await;
}

#[tokio::test]
async fn the_older_paths_and_both_environments_serve_the_same_assistant() {
    let app = spawn_app().await;
    for environment in ["draft", "live"] {
        let url = app.url(&format!(
            "/v2/assistants/bank/environments/{environment}/sessions?version={VERSION}"
        ));
        let created = app.post(&url, json!({})).await;
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let created = app
        .post(
            &app.url(&format!("/v2/assistants/bank/sessions?version={VERSION}")),
            json!({}),
        )
        .await;
    assert_eq!(created.status, 201);
    let session = created.body["session_id"].as_str().unwrap();
    let url = app.url(&format!(
        "/v2/assistants/bank/sessions/{session}/message?version={VERSION}"
    ));
    let reply = app
        .post(&url, json!({"input": {"text": "I want to pay my bill"}}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let transfer = &reply.body["output"]["generic"][1];
    assert_eq!(transfer["response_type"], "connect_to_agent");
    assert_eq!(
        transfer["message_to_human_agent"], "Customer wants to pay a bill from their checking account.",
        "a first message with text starts the session too (initial values), without the welcome"
    );

    let deleted = app
        .send(
            app.client
                .delete(app.url(&format!("/v2/assistants/bank/sessions/{session}?version={VERSION}"))),
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let after = app.post(&url, json!({"input": {"text": "hello"}})).await;
    assert_error(&after, 404, "session_expired");
    assert_eq!(after.body["error"], "Invalid Session");
}

#[tokio::test]
async fn debug_context_and_alternate_intents_when_asked() {
    let app = spawn_app().await;
    let session = app.create_session().await;
    let url = app.api(&format!("/sessions/{session}/message"));
    let body = json!({
        "input": {
            "text": "I want to pay my bill",
            "options": {"debug": true, "return_context": true, "alternate_intents": true}
        },
        "user_id": "customer-42"
    });
    let reply = app.post(&url, body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let response = reply.body;
    assert_eq!(response["user_id"], "customer-42");

    let events = response["output"]["debug"]["turn_events"].as_array().unwrap();
    let finished = events.iter().find(|event| event["event"] == "action_finished").unwrap();
    assert_eq!(finished["source"]["action"], "pay_bill");
    assert_eq!(finished["source"]["action_title"], "Pay a bill");
    assert_eq!(finished["reason"], "connect_to_agent");
    assert_eq!(response["output"]["debug"]["baton"]["matched_action"], "pay_bill");

    let intents = response["output"]["intents"].as_array().unwrap();
    assert!(intents.len() > 1, "all intents: {intents:?}");
    assert_eq!(intents[0]["intent"], "pay_bill");

    let context = &response["context"];
    assert_eq!(context["global"]["session_id"], session.as_str());
    assert_eq!(context["global"]["system"]["turn_count"], 1);
    assert_eq!(context["global"]["system"]["user_id"], "customer-42");
    let skill = &context["skills"]["actions skill"];
    assert!(skill["skill_variables"].is_object(), "{context}");
    assert!(
        skill["system"]["state"].is_string(),
        "debug with return_context exports the state: {context}"
    );
}

#[tokio::test]
async fn stateless_messages_carry_the_session_in_the_context() {
    let app = spawn_app().await;
    let url = app.api("/message");
    let first = app.post(&url, json!({"input": {"text": ""}})).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let context = first.body["context"].clone();
    assert!(
        context["skills"]["actions skill"]["system"]["state"].is_string(),
        "{context}"
    );

    let second = app
        .post(
            &url,
            json!({"input": {"text": "I want to pay my bill"}, "context": context}),
        )
        .await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.body["output"]["generic"][1]["response_type"], "connect_to_agent");
    assert_eq!(
        second.body["context"]["global"]["session_id"],
        context["global"]["session_id"]
    );
    assert_eq!(second.body["context"]["global"]["system"]["turn_count"], 1);

    let forged = json!({"skills": {"actions skill": {"system": {"state": "bm90IG91cnM"}}}});
    let reply = app
        .post(&url, json!({"input": {"text": "hi"}, "context": forged}))
        .await;
    assert_error(&reply, 400, "invalid_request");
}

#[tokio::test]
async fn a_retried_message_is_answered_once() {
    let app = spawn_app().await;
    let session = app.create_session().await;
    let url = app.api(&format!("/sessions/{session}/message"));
    let send = || {
        app.send(
            app.client
                .post(&url)
                .header("X-Client-Message-Id", "m-1")
                .json(&json!({"input": {"text": "I want to pay my bill"}})),
        )
    };
    let first = send().await;
    let second = send().await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(first.body, second.body);
    let transcript = app.transcript(&session).await;
    let n_customer = transcript.iter().filter(|line| line.starts_with("customer:")).count();
    assert_eq!(n_customer, 1, "{transcript:#?}");

    let third = app
        .send(
            app.client
                .post(&url)
                .header("X-Client-Message-Id", "m-2")
                .json(&json!({"input": {"text": "what time do you open"}})),
        )
        .await;
    assert_eq!(third.status, 200);
    let n_customer = app
        .transcript(&session)
        .await
        .iter()
        .filter(|line| line.starts_with("customer:"))
        .count();
    assert_eq!(n_customer, 2);
}

#[tokio::test]
async fn concurrent_messages_on_one_session_lose_nothing() {
    let app = spawn_app().await;
    let session = app.create_session().await;
    let url = app.api(&format!("/sessions/{session}/message"));
    let mut requests = Vec::new();
    for index in 0..12 {
        let request = app
            .client
            .post(&url)
            .json(&json!({"input": {"text": format!("what are your opening hours {index}")}}));
        requests.push(tokio::spawn(
            async move { request.send().await.unwrap().status().as_u16() },
        ));
    }
    for request in requests {
        assert_eq!(request.await.unwrap(), 200);
    }
    let reply = app
        .post(
            &url,
            json!({"input": {"text": "thanks", "options": {"return_context": true}}}),
        )
        .await;
    assert_eq!(
        reply.body["context"]["global"]["system"]["turn_count"], 13,
        "{}",
        reply.body
    );
    let n_customer = app
        .transcript(&session)
        .await
        .iter()
        .filter(|line| line.starts_with("customer:"))
        .count();
    assert_eq!(n_customer, 13);
}

#[tokio::test]
async fn an_inactive_session_expires_and_keeps_its_transcript() {
    let app = spawn_app().await;
    let session = app.create_session().await;
    app.say(&session, "I want to pay my bill").await;
    app.clock.advance(Duration::from_secs(299));
    app.say(&session, "hello").await;
    app.clock.advance(Duration::from_secs(301));
    let url = app.api(&format!("/sessions/{session}/message"));
    let reply = app.post(&url, json!({"input": {"text": "hello again"}})).await;
    assert_error(&reply, 404, "session_expired");
    assert_eq!(reply.body["error"], "Invalid Session");
    let n_customer = app
        .transcript(&session)
        .await
        .iter()
        .filter(|line| line.starts_with("customer:"))
        .count();
    assert_eq!(n_customer, 2, "the transcript stays, without the refused message");
}
