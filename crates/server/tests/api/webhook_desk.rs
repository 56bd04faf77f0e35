//! The webhook desk end to end: a desk of our own on port 0 that records Baton's calls (checking
//! their signatures) and posts signed desk events to `POST /v1/desks/{name}/webhook`, the
//! customer on the message API and the session socket in between.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use baton_connectors::guard::Policy;
use baton_connectors::signing;
use baton_server::Config;
use baton_server::config::{DeskSpec, WebhookSpec};

use crate::common::{Reply, TestApp, assert_error, render, spawn_app_with};
use crate::programs::{self, Missing, Needs};
use crate::transfers::{customer_socket, next_of};

pub const SECRET: &str = "whsec_a-test-secret-of-length";

/// How long a test waits for the desk to receive something.
const WAIT: Duration = Duration::from_secs(10);

/// How the fake desk answers Baton's calls.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Answer {
    Accept,
    Fail,
    /// Never answers: Baton's call times out.
    Hang,
}

#[derive(Default)]
struct Recorded {
    /// Every call whose signature checked out, as its JSON body.
    calls: Vec<Value>,
    /// Calls refused for their signature.
    bad_signatures: usize,
}

struct DeskState {
    answer: Mutex<Answer>,
    recorded: Mutex<Recorded>,
    /// Calls being held by `Answer::Hang`.
    hanging: AtomicUsize,
    join_first: Mutex<Option<String>>,
    early_joins: Mutex<Vec<u16>>,
}

/// A webhook desk on 127.0.0.1:0 that records what Baton sends it.
pub struct FakeDesk {
    pub url: String,
    state: Arc<DeskState>,
}

impl FakeDesk {
    pub async fn start(answer: Answer) -> FakeDesk {
        let state = Arc::new(DeskState {
            answer: Mutex::new(answer),
            recorded: Mutex::new(Recorded::default()),
            hanging: AtomicUsize::new(0),
            join_first: Mutex::new(None),
            early_joins: Mutex::new(Vec::new()),
        });
        let router = axum::Router::new()
            .route("/baton", axum::routing::post(receive))
            .with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/baton", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        FakeDesk { url, state }
    }

    /// From now on the desk posts `agent.joined` to `webhook` (Baton's webhook URL for this
    /// desk) while it handles `chat.requested`, before it answers.
    pub fn join_before_answering(&self, webhook: String) {
        *self.state.join_first.lock().unwrap() = Some(webhook);
    }

    /// The status of each `agent.joined` posted before answering.
    pub fn early_joins(&self) -> Vec<u16> {
        self.state.early_joins.lock().unwrap().clone()
    }

    pub fn calls(&self) -> Vec<Value> {
        self.state.recorded.lock().unwrap().calls.clone()
    }

    pub fn hanging(&self) -> usize {
        self.state.hanging.load(Ordering::SeqCst)
    }

    /// Waits for the `chat.requested` of `session`.
    pub async fn wait_for_request(&self, session: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let found = self
                .calls()
                .into_iter()
                .find(|call| call["type"] == "chat.requested" && call["data"]["session_id"] == session);
            if let Some(found) = found {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "no chat.requested for {session} within {WAIT:?}; calls: {:#?}",
                self.calls()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the `n`th call (1-based) of type `kind`, optionally for one chat.
    pub async fn wait_for(&self, kind: &str, chat: Option<&str>, n: usize) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let found: Vec<Value> = self
                .calls()
                .into_iter()
                .filter(|call| call["type"] == kind && chat.is_none_or(|chat| call["chat_id"] == chat))
                .collect();
            if found.len() >= n {
                return found[n - 1].clone();
            }
            assert!(
                Instant::now() < deadline,
                "no {n} × {kind} at the desk within {WAIT:?}; calls: {:#?}",
                self.calls()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn receive(State(state): State<Arc<DeskState>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = headers.get(signing::HEADER).and_then(|value| value.to_str().ok());
    if signing::verify(SECRET.as_bytes(), header, &body, chrono::Utc::now().timestamp()).is_err() {
        state.recorded.lock().unwrap().bad_signatures += 1;
        return StatusCode::UNAUTHORIZED;
    }
    let call: Value = serde_json::from_slice(&body).unwrap();
    // The event id travels in a header too, the same as the body's.
    assert_eq!(
        headers.get("baton-event-id").and_then(|value| value.to_str().ok()),
        call["id"].as_str()
    );
    let join_first = state.join_first.lock().unwrap().clone();
    if let (Some(webhook), "chat.requested") = (join_first, call["type"].as_str().unwrap_or_default()) {
        let body = serde_json::to_vec(&event(
            &fresh_id(),
            call["chat_id"].as_str(),
            "agent.joined",
            json!({"agent": agent()}),
        ))
        .unwrap();
        let signature = signing::sign(SECRET.as_bytes(), chrono::Utc::now().timestamp(), &body);
        let response = reqwest::Client::new()
            .post(webhook)
            .header(signing::HEADER, signature)
            .body(body)
            .send()
            .await
            .unwrap();
        state.early_joins.lock().unwrap().push(response.status().as_u16());
    }
    let answer = *state.answer.lock().unwrap();
    match answer {
        Answer::Accept => {
            state.recorded.lock().unwrap().calls.push(call);
            StatusCode::OK
        }
        Answer::Fail => StatusCode::INTERNAL_SERVER_ERROR,
        Answer::Hang => {
            state.hanging.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<()>().await;
            unreachable!()
        }
    }
}

/// A webhook desk's `[desks.NAME]` table, its secret in a file in `dir`.
pub fn webhook_spec(dir: &Path, url: &str, join_timeout_secs: Option<u64>) -> DeskSpec {
    let secret_file = dir.join("desk-secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    DeskSpec::Webhook(WebhookSpec {
        url: url.to_owned(),
        secret_env: None,
        secret_file: Some(secret_file),
        join_timeout_secs,
        retry: Policy {
            timeout_secs: 2.0,
            attempts: 2,
            backoff_secs: 0.05,
            ..Policy::default()
        },
    })
}

/// A signed desk event's body for `chat`.
pub fn event(id: &str, chat: Option<&str>, kind: &str, data: Value) -> Value {
    let mut body = json!({
        "id": id,
        "version": 1,
        "created_at": chrono::Utc::now().to_rfc3339(),
        "type": kind,
        "data": data,
    });
    if let Some(chat) = chat {
        body["chat_id"] = json!(chat);
    }
    body
}

/// POSTs `body` to the desk's webhook, signed at `timestamp` with `secret`.
/// The desk `helpdesk` sends one event for `chat`, which Baton accepts.
async fn desk_says(app: &TestApp, chat: &str, kind: &str, data: Value) -> Reply {
    let reply = post_event(app, "helpdesk", &event(&fresh_id(), Some(chat), kind, data)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply
}

async fn post_raw(app: &TestApp, desk: &str, body: &[u8], signature: Option<String>) -> Reply {
    let mut request = app
        .client
        .post(app.url(&format!("/v1/desks/{desk}/webhook")))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header(signing::HEADER, signature);
    }
    app.send(request).await
}

/// POSTs a desk event, signed now with the right secret.
pub async fn post_event(app: &TestApp, desk: &str, body: &Value) -> Reply {
    let bytes = serde_json::to_vec(body).unwrap();
    let signature = signing::sign(SECRET.as_bytes(), chrono::Utc::now().timestamp(), &bytes);
    post_raw(app, desk, &bytes, Some(signature)).await
}

fn fresh_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn agent() -> Value {
    json!({"id": "ada", "name": "Agent Ada"})
}

/// A server whose transfers go to the desks `route` names, every one a webhook desk of
/// `desks` (name, URL, join timeout) unless it is `own`.
async fn app_with_desks(desks: &[(&str, &str, Option<u64>)], route: &[&str]) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let desks: Vec<(String, String, Option<u64>)> = desks
        .iter()
        .map(|(name, url, timeout)| ((*name).to_owned(), (*url).to_owned(), *timeout))
        .collect();
    let route: Vec<String> = route.iter().map(|desk| (*desk).to_owned()).collect();
    let app = spawn_app_with(move |config: &mut Config| {
        for (name, url, timeout) in &desks {
            config.desks.insert(name.clone(), webhook_spec(&path, url, *timeout));
        }
        config.routes.insert("*".to_owned(), route);
    })
    .await;
    (app, dir)
}

/// A session that has asked for a person; returns it and the desk's `chat.requested`.
async fn transferred(app: &TestApp, desk: &FakeDesk) -> (String, Value) {
    let session = app.create_session().await;
    app.say(&session, "").await;
    let reply = app.say(&session, "I want to talk to a person").await;
    let said = render(&reply);
    assert!(
        said.iter().any(|line| line.starts_with("[connect_to_agent")),
        "{said:?}"
    );
    let requested = desk.wait_for_request(&session).await;
    (session, requested)
}

async fn open_transfer(app: &TestApp, session: &str) -> Option<baton_store::StoredTransfer> {
    app.store
        .open_transfer_of(&baton_store::SessionId::new(session))
        .await
        .unwrap()
}

/// Waits until the session's open transfer is in `state`.
pub async fn wait_for_state(app: &TestApp, session: &str, state: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let open = open_transfer(app, session).await;
        if open.as_ref().is_some_and(|open| open.state == state) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the transfer is not {state}: {:?}",
            open.map(|open| open.state)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the session has no open transfer.
async fn wait_until_closed(app: &TestApp, session: &str) {
    let deadline = Instant::now() + WAIT;
    while open_transfer(app, session).await.is_some() {
        assert!(Instant::now() < deadline, "the transfer is still open");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_transfer_to_a_webhook_desk_runs_from_request_to_hand_back() {
    let desk = FakeDesk::start(Answer::Accept).await;
    let (app, _dir) = app_with_desks(&[("helpdesk", &desk.url, None)], &["helpdesk", "own"]).await;
    let session = app.create_session().await;
    app.say(&session, "").await;
    app.say(&session, "my card <b>x</b> is blocked").await;
    let mut socket = customer_socket(&app.url(""), &session).await;
    app.say(&session, "I want to talk to a person").await;

    let requested = desk.wait_for("chat.requested", None, 1).await;
    assert_eq!(requested["version"], 1);
    let chat = requested["chat_id"].as_str().unwrap().to_owned();
    let data = &requested["data"];
    assert_eq!(data["transfer_id"], chat.as_str());
    assert_eq!(data["session_id"], session.as_str());
    assert_eq!(data["brief"]["reason"], "agent_requested");
    let summary = data["brief"]["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("Why: the customer asked for a person."),
        "{summary}"
    );
    let transcript: Vec<&str> = data["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["text"].as_str().unwrap())
        .collect();
    assert!(transcript.contains(&"my card <b>x</b> is blocked"), "{transcript:?}");
    assert!(transcript.contains(&"I want to talk to a person"), "{transcript:?}");

    // The history link shows the conversation, the customer's markup escaped.
    let history_url = data["history_url"].as_str().unwrap();
    assert!(history_url.starts_with(&app.url("/v1/history/")), "{history_url}");
    let page = app.client.get(history_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("my card &lt;b&gt;x&lt;/b&gt; is blocked"), "{page}");
    assert!(!page.contains("<b>x</b>"), "{page}");

    // The agent joins and greets; the customer sees both on the socket and in the next reply.
    let joined = desk_says(&app, &chat, "agent.joined", json!({"agent": agent()})).await;
    assert_eq!(joined.body["accepted"], 1);
    assert_eq!(next_of(&mut socket, "agent_joined").await["agent_name"], "Agent Ada");
    let greeting = json!({"message_id": "m1", "text": "Hello, Ada here. How can I help?", "agent": agent()});
    desk_says(&app, &chat, "agent.message", greeting).await;
    let message = next_of(&mut socket, "agent_message").await;
    assert_eq!(message["text"], "Hello, Ada here. How can I help?");
    assert_eq!(message["agent_name"], "Agent Ada");

    // The customer's message goes to the desk, not to the assistant.
    let reply = app.say(&session, "my card is blocked, please help").await;
    assert!(
        reply.to_string().contains("Hello, Ada here."),
        "the reply carries the agent's messages since the last one: {reply}"
    );
    let relayed = desk.wait_for("customer.message", Some(&chat), 1).await;
    assert_eq!(relayed["data"]["text"], "my card is blocked, please help");
    assert!(relayed["data"]["message_id"].as_str().is_some_and(|id| !id.is_empty()));

    // Handed back: the transfer closes and the assistant talks again.
    let ended = json!({"disposition": "hand_back"});
    let posted = post_event(&app, "helpdesk", &event(&fresh_id(), Some(&chat), "chat.ended", ended)).await;
    assert_eq!(posted.status, 200, "{}", posted.body);
    assert_eq!(next_of(&mut socket, "ended").await["by"], "agent");
    wait_until_closed(&app, &session).await;
    let calls_before = desk.calls().len();
    let reply = app.say(&session, "what is my balance").await;
    assert!(!render(&reply).is_empty(), "{reply}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(desk.calls().len(), calls_before, "nothing more goes to the desk");
    // The chat is closed: a late event for it is a 404.
    let late = json!({"message_id": "m2", "text": "still there?", "agent": agent()});
    let late = post_event(
        &app,
        "helpdesk",
        &event(&fresh_id(), Some(&chat), "agent.message", late),
    )
    .await;
    assert_error(&late, 404, "chat_not_found");
    let transcript = app.transcript(&session).await.join("\n");
    assert!(transcript.contains("Hello, Ada here."), "{transcript}");
    assert!(!transcript.contains("still there?"), "{transcript}");
}

#[tokio::test]
async fn webhook_calls_with_bad_signatures_or_bad_events_are_refused_and_change_nothing() {
    let desk = FakeDesk::start(Answer::Accept).await;
    let (app, _dir) = app_with_desks(&[("helpdesk", &desk.url, None)], &["helpdesk", "own"]).await;
    let (session, requested) = transferred(&app, &desk).await;
    let chat = requested["chat_id"].as_str().unwrap().to_owned();
    desk_says(&app, &chat, "agent.joined", json!({"agent": agent()})).await;
    // A 200 means accepted: the chat's pump commits the event right after.
    wait_for_state(&app, &session, "active").await;
    let before = app.transcript(&session).await;

    let message = |text: &str| {
        event(
            &fresh_id(),
            Some(&chat),
            "agent.message",
            json!({"message_id": fresh_id(), "text": text, "agent": agent()}),
        )
    };
    let body = serde_json::to_vec(&message("unsigned")).unwrap();
    let now = chrono::Utc::now().timestamp();
    // No signature, a wrong secret, a signature of another body, a timestamp out of the window.
    let cases = [
        ("no signature", None),
        (
            "wrong secret",
            Some(signing::sign(b"another-secret-entirely", now, &body)),
        ),
        ("another body", Some(signing::sign(SECRET.as_bytes(), now, b"{}"))),
        (
            "too old",
            Some(signing::sign(
                SECRET.as_bytes(),
                now - signing::REPLAY_WINDOW - 5,
                &body,
            )),
        ),
        (
            "from the future",
            Some(signing::sign(
                SECRET.as_bytes(),
                now + signing::REPLAY_WINDOW + 5,
                &body,
            )),
        ),
        ("garbage", Some("t=abc,v1=zz".to_owned())),
    ];
    for (case, signature) in cases {
        let reply = post_raw(&app, "helpdesk", &body, signature).await;
        assert_eq!(reply.status, 401, "{case}: {}", reply.body);
        assert_error(&reply, 401, "desk_signature_invalid");
    }

    // Signed, but not a valid event.
    let mut unknown_type = message("x");
    unknown_type["type"] = json!("agent.dances");
    let mut wrong_version = message("x");
    wrong_version["version"] = json!(2);
    let mut no_id = message("x");
    no_id["id"] = json!("");
    let mut empty_text = message("x");
    empty_text["data"]["text"] = json!("   ");
    let mut no_chat = message("x");
    no_chat.as_object_mut().unwrap().remove("chat_id");
    for (case, bytes) in [
        ("malformed JSON", b"{\"id\": ".to_vec()),
        ("not an object", b"[1, 2]".to_vec()),
        ("unknown type", serde_json::to_vec(&unknown_type).unwrap()),
        ("wrong version", serde_json::to_vec(&wrong_version).unwrap()),
        ("empty id", serde_json::to_vec(&no_id).unwrap()),
        ("blank text", serde_json::to_vec(&empty_text).unwrap()),
        ("no chat", serde_json::to_vec(&no_chat).unwrap()),
    ] {
        let signature = signing::sign(SECRET.as_bytes(), chrono::Utc::now().timestamp(), &bytes);
        let reply = post_raw(&app, "helpdesk", &bytes, Some(signature)).await;
        assert_eq!(reply.status, 400, "{case}: {}", reply.body);
        assert_error(&reply, 400, "desk_event_invalid");
    }

    // An unknown chat, an unknown desk.
    let mut elsewhere = message("x");
    elsewhere["chat_id"] = json!(fresh_id());
    assert_error(&post_event(&app, "helpdesk", &elsewhere).await, 404, "chat_not_found");
    assert_error(&post_event(&app, "nodesk", &message("x")).await, 404, "desk_not_found");
    assert_error(&post_event(&app, "own", &message("x")).await, 404, "desk_not_found");

    // Too large for the server's body limit (64 KiB by default).
    let mut large = message("x");
    large["data"]["text"] = json!("y".repeat(70 * 1024));
    assert_error(&post_event(&app, "helpdesk", &large).await, 413, "payload_too_large");

    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        app.transcript(&session).await,
        before,
        "nothing refused reached the transcript"
    );

    // The same event twice: accepted once, the second answered as a duplicate.
    let once = message("only once, please");
    let first = post_event(&app, "helpdesk", &once).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body, json!({"accepted": 1}));
    let again = post_event(&app, "helpdesk", &once).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body, json!({"accepted": 0, "duplicate": true}));
    let deadline = Instant::now() + WAIT;
    loop {
        let transcript = app.transcript(&session).await;
        let count = transcript
            .iter()
            .filter(|line| line.contains("only once, please"))
            .count();
        if count == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "{transcript:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let transcript = app.transcript(&session).await;
    assert_eq!(
        transcript
            .iter()
            .filter(|line| line.contains("only once, please"))
            .count(),
        1,
        "{transcript:#?}"
    );
}

#[tokio::test]
async fn an_agent_message_before_the_agent_joined_is_shown_and_the_chat_goes_on() {
    let desk = FakeDesk::start(Answer::Accept).await;
    let (app, _dir) = app_with_desks(&[("helpdesk", &desk.url, None)], &["helpdesk", "own"]).await;
    let session = app.create_session().await;
    app.say(&session, "").await;
    let mut socket = customer_socket(&app.url(""), &session).await;
    app.say(&session, "I want to talk to a person").await;
    let requested = desk.wait_for("chat.requested", None, 1).await;
    let chat = requested["chat_id"].as_str().unwrap().to_owned();

    // Out of order: the message arrives while the chat still waits for an agent. It is
    // committed and shown (the transfer stays queued); the join that follows makes it active.
    let early = json!({"message_id": "m1", "text": "Early hello", "agent": agent()});
    desk_says(&app, &chat, "agent.message", early).await;
    assert_eq!(next_of(&mut socket, "agent_message").await["text"], "Early hello");
    let open = open_transfer(&app, &session).await.unwrap();
    assert_eq!(open.state, "queued");

    desk_says(&app, &chat, "agent.joined", json!({"agent": agent()})).await;
    next_of(&mut socket, "agent_joined").await;
    // A hand back before anyone joined is not possible any more; a second join by the same agent
    // (a desk reconnecting) changes nothing.
    desk_says(&app, &chat, "agent.joined", json!({"agent": agent()})).await;
    app.say(&session, "are you there").await;
    desk.wait_for("customer.message", Some(&chat), 1).await;
    let transcript = app.transcript(&session).await.join("\n");
    assert!(transcript.contains("Early hello"), "{transcript}");
    assert_eq!(open_transfer(&app, &session).await.unwrap().state, "active");
}

#[tokio::test]
async fn an_agent_who_joins_before_the_desk_has_answered_chat_requested_is_taken() {
    let desk = FakeDesk::start(Answer::Accept).await;
    let (app, _dir) = app_with_desks(&[("helpdesk", &desk.url, None)], &["helpdesk"]).await;
    desk.join_before_answering(app.url("/v1/desks/helpdesk/webhook"));
    let (session, _requested) = transferred(&app, &desk).await;
    // The chat was known before Baton's call went out, so the join was not a 404, and it comes
    // after the chat was queued: the transfer ends up active, not queued again.
    assert_eq!(desk.early_joins(), [200]);
    wait_for_state(&app, &session, "active").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(open_transfer(&app, &session).await.unwrap().state, "active");
}

#[tokio::test]
async fn a_desk_that_fails_passes_the_transfer_to_the_next_desk_of_the_route() {
    let broken = FakeDesk::start(Answer::Fail).await;
    let working = FakeDesk::start(Answer::Accept).await;
    let (app, _dir) = app_with_desks(
        &[("broken", &broken.url, None), ("helpdesk", &working.url, None)],
        &["broken", "helpdesk", "own"],
    )
    .await;
    let (session, requested) = transferred(&app, &working).await;
    assert_eq!(requested["data"]["session_id"], session.as_str());
    assert!(broken.calls().is_empty());
    let open = open_transfer(&app, &session).await.unwrap();
    assert!(open.value.get().contains("\"helpdesk\""), "{}", open.value.get());

    // A desk nobody listens at is the same.
    let (app, _dir) = app_with_desks(
        &[
            ("gone", "http://127.0.0.1:9/baton", None),
            ("helpdesk", &working.url, None),
        ],
        &["gone", "helpdesk"],
    )
    .await;
    let session = app.create_session().await;
    app.say(&session, "").await;
    app.say(&session, "I want to talk to a person").await;
    working.wait_for_request(&session).await;
}

#[tokio::test]
async fn a_desk_where_nobody_joins_in_time_ends_its_chat_and_the_next_desk_gets_it() {
    let slow = FakeDesk::start(Answer::Accept).await;
    let next = FakeDesk::start(Answer::Accept).await;
    let (app, _dir) = app_with_desks(
        &[("slow", &slow.url, Some(1)), ("next", &next.url, None)],
        &["slow", "next"],
    )
    .await;
    let (session, first) = transferred(&app, &slow).await;
    let chat = first["chat_id"].as_str().unwrap().to_owned();
    let ended = slow.wait_for("chat.ended_by_customer", Some(&chat), 1).await;
    assert_eq!(ended["data"]["reason"], "join_timed_out");
    let second = next.wait_for("chat.requested", None, 1).await;
    assert_eq!(second["data"]["session_id"], session.as_str());
    // The first desk's chat is closed on Baton's side: its agent is too late.
    let late = post_event(
        &app,
        "slow",
        &event(&fresh_id(), Some(&chat), "agent.joined", json!({"agent": agent()})),
    )
    .await;
    assert_error(&late, 404, "chat_not_found");
    // The second desk's agent takes it.
    let chat = second["chat_id"].as_str().unwrap();
    let joined = post_event(
        &app,
        "next",
        &event(&fresh_id(), Some(chat), "agent.joined", json!({"agent": agent()})),
    )
    .await;
    assert_eq!(joined.status, 200, "{}", joined.body);
    wait_for_state(&app, &session, "active").await;
}

#[tokio::test]
async fn history_links_that_are_forged_or_expired_are_refused() {
    let desk = FakeDesk::start(Answer::Accept).await;
    let (app, _dir) = app_with_desks(&[("helpdesk", &desk.url, None)], &["helpdesk"]).await;
    let (_session, requested) = transferred(&app, &desk).await;
    let link = requested["data"]["history_url"].as_str().unwrap().to_owned();
    let token = link.rsplit('/').next().unwrap().to_owned();
    let (signed, digest) = token.rsplit_once('.').unwrap();
    let (session, expires) = signed.rsplit_once('.').unwrap();
    let later: i64 = expires.parse::<i64>().unwrap() + 3600;
    let other = uuid::Uuid::new_v4();
    let flipped = format!(
        "{}{}",
        &digest[..digest.len() - 1],
        if digest.ends_with('0') { '1' } else { '0' }
    );
    for forged in [
        format!("{signed}.{flipped}"),
        format!("{session}.{later}.{digest}"),
        format!("{other}.{expires}.{digest}"),
        "nonsense".to_owned(),
        format!("{signed}.zz"),
    ] {
        let reply = app
            .send(app.client.get(app.url(&format!("/v1/history/{forged}"))))
            .await;
        assert_error(&reply, 404, "history_link_invalid");
    }
    assert_eq!(app.client.get(&link).send().await.unwrap().status(), 200);
    // The link works for a day (history_link_hours = 24).
    app.clock.advance(Duration::from_secs(25 * 3600));
    let reply = app.send(app.client.get(&link)).await;
    assert_error(&reply, 404, "history_link_invalid");
}

#[tokio::test]
async fn a_desk_that_hangs_does_not_hold_up_other_sessions() {
    let hanging = FakeDesk::start(Answer::Hang).await;
    let (app, _dir) = app_with_desks(&[("stuck", &hanging.url, None)], &["stuck", "own"]).await;
    let app = Arc::new(app);
    let others: Vec<String> = {
        let mut sessions = Vec::new();
        for _ in 0..3 {
            let session = app.create_session().await;
            app.say(&session, "").await;
            sessions.push(session);
        }
        sessions
    };
    let baseline = {
        let started = Instant::now();
        for session in &others {
            app.say(session, "what is my balance").await;
        }
        started.elapsed()
    };

    let stuck = app.create_session().await;
    app.say(&stuck, "").await;
    let transferring = {
        let app = app.clone();
        let stuck = stuck.clone();
        tokio::spawn(async move { app.say(&stuck, "I want to talk to a person").await })
    };
    let deadline = Instant::now() + WAIT;
    while hanging.hanging() == 0 {
        assert!(Instant::now() < deadline, "the desk was never called");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // While Baton waits for the desk, every other session's turn completes, each about as fast
    // as before.
    let started = Instant::now();
    for session in &others {
        app.say(session, "what is my balance").await;
    }
    let during = started.elapsed();
    assert!(
        during < baseline * 10 + Duration::from_millis(500),
        "turns while a desk hangs took {during:?}, before {baseline:?}"
    );
    // The customer who asked is answered without waiting for the desk either.
    let reply = tokio::time::timeout(Duration::from_secs(1), transferring)
        .await
        .expect("the reply does not wait for the hanging desk")
        .unwrap();
    assert!(
        render(&reply).iter().any(|line| line.starts_with("[connect_to_agent")),
        "{reply}"
    );
    assert_eq!(hanging.hanging(), 1, "the desk still hangs");
    // The hanging desk times out (2 attempts of 2 s) and the transfer goes to Baton's own desk:
    // it gets a chat there.
    let deadline = Instant::now() + WAIT;
    loop {
        let open = open_transfer(&app, &stuck).await.unwrap();
        let value: Value = serde_json::from_str(open.value.get()).unwrap();
        if !value["chat"].is_null() {
            assert!(!open.value.get().contains("\"stuck\""), "{}", open.value.get());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the transfer never reached the next desk: {value}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

static PYTHON: Needs<PathBuf> = Needs::new("reference desk test", "webhook_desk::reference_desk", || {
    programs::on_path("python3").map_err(|reason| Missing {
        reason,
        remedy: "install Python 3".to_owned(),
    })
});

/// The reference desk, `examples/webhook-desk/desk.py`, stopped when dropped.
struct ReferenceDesk(tokio::process::Child);

impl Drop for ReferenceDesk {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

#[tokio::test]
async fn reference_desk_converses_through_a_transfer() {
    let Some(python) = PYTHON.get() else {
        return;
    };
    // desk.py and Baton each need the other's address: the desk's port is chosen first.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let desk_url = format!("http://127.0.0.1:{port}/");
    let (app, _dir) = app_with_desks(&[("helpdesk", &desk_url, None)], &["helpdesk"]).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/webhook-desk/desk.py");
    let mut child = tokio::process::Command::new(python)
        .arg(script)
        .args([
            "--port",
            &port.to_string(),
            "--baton-url",
            &app.url(""),
            "--desk",
            "helpdesk",
        ])
        .env("DESK_SECRET", SECRET)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _desk = ReferenceDesk(child);
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let first = tokio::time::timeout(WAIT, lines.next_line()).await.unwrap().unwrap();
    assert_eq!(
        first.as_deref(),
        Some(format!("desk: listening on {desk_url}").as_str())
    );

    let session = app.create_session().await;
    app.say(&session, "").await;
    let mut socket = customer_socket(&app.url(""), &session).await;
    app.say(&session, "I want to talk to a person").await;
    assert_eq!(next_of(&mut socket, "agent_joined").await["agent_name"], "Agent Ada");
    let greeting = next_of(&mut socket, "agent_message").await;
    assert_eq!(
        greeting["text"],
        "Hello, I'm Ada. I see: Why: the customer asked for a person. How can I help?"
    );
    app.say(&session, "my card is blocked").await;
    let echo = next_of(&mut socket, "agent_message").await;
    assert_eq!(echo["text"], "Agent Ada: you said my card is blocked");
    app.say(&session, "hand back").await;
    next_of(&mut socket, "agent_message").await;
    assert_eq!(next_of(&mut socket, "ended").await["by"], "agent");
    wait_until_closed(&app, &session).await;
    let transcript = app.transcript(&session).await.join("\n");
    assert!(
        transcript.contains("Agent Ada: you said my card is blocked"),
        "{transcript}"
    );
}

#[tokio::test]
async fn a_long_conversation_sends_the_desk_its_last_lines_and_the_history_link_for_the_rest() {
    let desk = FakeDesk::start(Answer::Accept).await;
    let (app, _dir) = app_with_desks(&[("helpdesk", &desk.url, None)], &["helpdesk", "own"]).await;
    let session = app.create_session().await;
    app.say(&session, "").await;
    for n in 0..150 {
        app.say(&session, &format!("what time do you open {n}")).await;
    }
    app.say(&session, "I want to talk to a person").await;
    let requested = desk.wait_for("chat.requested", None, 1).await;
    let transcript = requested["data"]["transcript"].as_array().unwrap();
    assert_eq!(transcript.len(), 200, "at most 200 lines go with the transfer");
    let texts: Vec<&str> = transcript.iter().filter_map(|line| line["text"].as_str()).collect();
    assert!(
        texts.contains(&"I want to talk to a person"),
        "the newest lines are kept"
    );
    assert!(
        !texts.contains(&"what time do you open 0"),
        "the oldest are left to the history link"
    );
    assert!(requested["data"]["history_url"].is_string());
}
