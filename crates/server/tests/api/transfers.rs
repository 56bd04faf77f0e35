//! Transfers to human agents end to end: the customer over the message API and the session
//! socket, agents over the agent API and their socket, Baton's own desk in between.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use baton_server::Config;
use baton_store::AgentRecord;

use crate::common::{TestApp, render, spawn_app_with};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a test waits for a frame before failing.
const WAIT: Duration = Duration::from_secs(10);

/// Stores an agent, as `baton agents add` does.
pub async fn add_agent(store: &dyn baton_store::Store, username: &str, name: &str, queues: &[&str]) {
    store
        .upsert_agent(AgentRecord {
            username: username.to_owned(),
            display_name: name.to_owned(),
            password_hash: baton_store::password::hash(&format!("{username}-password")).unwrap(),
            queues: queues.iter().map(|queue| (*queue).to_owned()).collect(),
            capacity: 3,
            created_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
}

/// Reads frames until one of type `kind` arrives (others are skipped).
pub async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} frame within {WAIT:?}"))
            .expect("socket open")
            .expect("frame");
        if let Frame::Text(text) = frame {
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["type"] == kind {
                return value;
            }
        }
    }
}

pub async fn send_frame(socket: &mut Socket, frame: Value) {
    socket.send(Frame::Text(frame.to_string().into())).await.unwrap();
}

/// A logged-in agent with an open console socket.
pub struct AgentClient {
    pub base: String,
    pub token: String,
    pub socket: Socket,
    client: reqwest::Client,
}

impl AgentClient {
    /// Logs in, opens the socket (reads `hello`) and goes online.
    pub async fn online(base: &str, username: &str) -> AgentClient {
        let client = reqwest::Client::new();
        let login: Value = client
            .post(format!("{base}/v1/agent/login"))
            .json(&json!({"username": username, "password": format!("{username}-password")}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["token"].as_str().unwrap_or_else(|| panic!("{login}")).to_owned();
        AgentClient::reconnect(base, &token).await
    }

    /// Opens the socket with an existing token and goes online.
    pub async fn reconnect(base: &str, token: &str) -> AgentClient {
        let ws = base.replacen("http://", "ws://", 1);
        let (socket, _) = tokio_tungstenite::connect_async(format!("{ws}/v1/agent/events?token={token}"))
            .await
            .unwrap();
        let mut agent = AgentClient {
            base: base.to_owned(),
            token: token.to_owned(),
            socket,
            client: reqwest::Client::new(),
        };
        next_of(&mut agent.socket, "hello").await;
        let reply = agent.put("/v1/agent/presence", json!({"presence": "online"})).await;
        assert_eq!(reply.0, 200, "{}", reply.1);
        agent
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .put(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn next(&mut self, kind: &str) -> Value {
        next_of(&mut self.socket, kind).await
    }

    /// Waits for an offer, accepts it, and returns the transfer id and the offer.
    pub async fn accept_next_offer(&mut self) -> (String, Value) {
        let offer = self.next("offer").await;
        let transfer = offer["transfer"].as_str().unwrap().to_owned();
        let reply = self
            .post(&format!("/v1/agent/transfers/{transfer}/accept"), json!({}))
            .await;
        assert_eq!(reply.0, 200, "{}", reply.1);
        (transfer, offer)
    }

    pub async fn say(&self, transfer: &str, text: &str) -> Value {
        let reply = self
            .post(
                &format!("/v1/agent/transfers/{transfer}/messages"),
                json!({"text": text}),
            )
            .await;
        assert_eq!(reply.0, 201, "{}", reply.1);
        reply.1
    }
}

/// The customer's session socket.
pub async fn customer_socket(base: &str, session: &str) -> Socket {
    let ws = base.replacen("http://", "ws://", 1);
    let url = format!("{ws}/v2/assistants/bank/environments/draft/sessions/{session}/events");
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

/// A server with the agents ann and bob (billing and general), carl (cards only), and the queues
/// `config` adds.
async fn app_with_agents(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let app = spawn_app_with(adjust).await;
    add_agent(&*app.store, "ann", "Ann Smith", &["billing", "general"]).await;
    add_agent(&*app.store, "bob", "Bob Jones", &["billing", "general"]).await;
    add_agent(&*app.store, "carl", "Carl Cards", &["cards"]).await;
    app
}

fn base(app: &TestApp) -> String {
    app.url("")
}

async fn start(app: &TestApp) -> (String, Socket) {
    let session = app.create_session().await;
    app.say(&session, "").await;
    let socket = customer_socket(&base(app), &session).await;
    (session, socket)
}

#[tokio::test]
async fn a_planned_transfer_reaches_an_agent_who_chats_with_the_customer() {
    let app = app_with_agents(|_| {}).await;
    let mut ann = AgentClient::online(&base(&app), "ann").await;
    let (session, mut customer) = start(&app).await;
    app.say(&session, "my card ends in 4321").await;
    let reply = app.say(&session, "I want to pay my bill").await;
    assert_eq!(
        render(&reply),
        [
            "Bill payments are handled by our billing team.",
            "[connect_to_agent: Let's send you to an available agent / queue \"billing\"]"
        ]
    );

    let (transfer, offer) = ann.accept_next_offer().await;
    assert_eq!(offer["queue"], "billing");
    assert_eq!(
        offer["brief"]["reason"],
        json!({"kind": "planned", "action": "pay_bill", "step": "step_1"}),
        "{offer}"
    );
    assert_eq!(
        offer["brief"]["message_to_agent"],
        "Customer wants to pay a bill from their checking account."
    );
    assert!(
        offer["brief"]["variables"].get("preferred_account").is_some(),
        "{offer}"
    );
    assert!(offer["brief"]["variables"].get("card_last_digits").is_none(), "{offer}");
    let joined = next_of(&mut customer, "agent_joined").await;
    assert_eq!(joined["agent_name"], "Ann Smith");

    let sent = ann.say(&transfer, "Hello, I'm Ann. How can I help?").await;
    let message = next_of(&mut customer, "agent_message").await;
    assert_eq!(message["text"], "Hello, I'm Ann. How can I help?");
    assert_eq!(message["id"], sent["id"]);

    // An API-only customer gets the agent's message with their next reply.
    let reply = app.say(&session, "I need to pay my phone bill").await;
    assert_eq!(
        reply["output"]["generic"],
        json!([{"response_type": "text", "text": "Hello, I'm Ann. How can I help?", "agent": {"name": "Ann Smith"}}])
    );
    // A client that starts over while the chat is open is not greeted again.
    let reply = app.say(&session, "").await;
    assert_eq!(reply["output"]["generic"], json!([]), "{reply}");
    let relayed = ann.next("customer_message").await;
    assert_eq!(relayed["transfer"], transfer);
    assert_eq!(relayed["message"]["text"], "I need to pay my phone bill");

    send_frame(&mut customer, json!({"type": "typing", "typing": true})).await;
    let typing = ann.next("customer_typing").await;
    assert_eq!(typing["typing"], true);
    send_frame(
        &mut ann.socket,
        json!({"type": "typing", "transfer": transfer, "typing": true}),
    )
    .await;
    assert_eq!(next_of(&mut customer, "agent_typing").await["typing"], true);
    send_frame(&mut customer, json!({"type": "read", "up_to": sent["id"]})).await;
    assert_eq!(ann.next("customer_read").await["up_to"], sent["id"]);
    let message_id = relayed["message"]["id"].clone();
    send_frame(
        &mut ann.socket,
        json!({"type": "read", "transfer": transfer, "up_to": message_id}),
    )
    .await;
    assert_eq!(next_of(&mut customer, "agent_read").await["up_to"], message_id);
    send_frame(&mut ann.socket, json!({"type": "dance"})).await;
    assert_eq!(ann.next("error").await["baton_code"], "bad_frame");

    let (status, details) = ann.get(&format!("/v1/agent/transfers/{transfer}")).await;
    assert_eq!(status, 200, "{details}");
    assert_eq!(details["state"], "active");
    let kinds: Vec<&str> = details["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"agent"), "{kinds:?}");
    let customer_ids: Vec<&Value> = details["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["kind"] == "customer")
        .map(|entry| &entry["payload"]["id"])
        .collect();
    assert!(customer_ids.contains(&&relayed["message"]["id"]), "{customer_ids:?}");

    let (status, _) = ann
        .post(
            &format!("/v1/agent/transfers/{transfer}/end"),
            json!({"disposition": "resolved"}),
        )
        .await;
    assert_eq!(status, 200);
    let ended = next_of(&mut customer, "ended").await;
    assert_eq!(ended["by"], "agent");

    // Back with the assistant.
    let reply = app.say(&session, "what are your opening hours").await;
    assert!(render(&reply)[0].starts_with("Our branches are open"), "{reply}");
    let transcript = app.transcript(&session).await;
    let states: Vec<String> = transcript
        .iter()
        .filter(|line| line.starts_with("event: {\"type\":\"transfer\""))
        .map(|line| {
            let payload: Value = serde_json::from_str(line.trim_start_matches("event: ")).unwrap();
            payload["to"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(states, ["requested", "queued", "offered", "active", "ended"]);
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("baton_transfers_ended_total{outcome=\"ended\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("baton_transfers_open 0"), "{metrics}");
}

#[tokio::test]
async fn repeated_misses_fall_back_to_an_agent_with_the_failed_inputs() {
    let app = app_with_agents(|_| {}).await;
    let mut ann = AgentClient::online(&base(&app), "ann").await;
    let (session, _customer) = start(&app).await;
    let misses = ["blorp", "zzzq fnord", "wibble wobble", "qqq xxx yyy"];
    let mut reply = Value::Null;
    for miss in misses {
        reply = app.say(&session, miss).await;
    }
    assert!(
        render(&reply).last().unwrap().starts_with("[connect_to_agent"),
        "{reply}"
    );
    let offer = ann.next("offer").await;
    assert_eq!(offer["queue"], "general");
    assert_eq!(offer["brief"]["reason"]["kind"], "fallback");
    assert_eq!(offer["brief"]["reason"]["reason"], "no_action_matches");
    assert_eq!(offer["brief"]["reason"]["failed_inputs"], json!(misses));
}

#[tokio::test]
async fn a_fallback_in_the_middle_of_an_action_tells_the_agent_which_action_and_question() {
    let app = app_with_agents(|_| {}).await;
    let mut ann = AgentClient::online(&base(&app), "ann").await;
    let (session, _customer) = start(&app).await;
    app.say(&session, "I lost my card").await;
    app.say(&session, "I want to talk to a person").await;
    let offer = ann.next("offer").await;
    assert_eq!(offer["brief"]["reason"]["action"], "lost_card", "{offer}");
    assert_eq!(offer["brief"]["reason"]["step"], "card_type", "{offer}");
    let summary = offer["brief"]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.starts_with("Why: the customer asked for a person."),
        "{summary}"
    );
    assert!(
        summary.contains("Where: \"Report a lost or stolen card\", at step card_type."),
        "{summary}"
    );
}

#[tokio::test]
async fn a_customer_who_asks_for_a_human_gets_one_and_no_second_transfer() {
    let app = app_with_agents(|_| {}).await;
    let mut ann = AgentClient::online(&base(&app), "ann").await;
    let (session, _customer) = start(&app).await;
    app.say(&session, "I want to talk to a person").await;
    let offer = ann.next("offer").await;
    assert_eq!(offer["brief"]["reason"]["reason"], "agent_requested");
    // Asking again while waiting says where the customer stands and opens nothing new.
    let reply = app.say(&session, "I want to talk to a person").await;
    let said = render(&reply);
    assert!(
        said.iter()
            .any(|text| text.starts_with("You are already waiting for an agent")),
        "{said:?}"
    );
    let open = app
        .store
        .open_transfer_of(&baton_store::SessionId::new(&session))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(open.id, offer["transfer"].as_str().unwrap());
    // A message that does not ask for a person goes to the queue, and nothing is said.
    let reply = app.say(&session, "I want to order a pizza").await;
    assert_eq!(render(&reply), Vec::<String>::new());
}

/// A console that is not a browser sends its token as `Authorization: Bearer`; the query string
/// stays for browsers. A wrong or missing token is refused before the upgrade.
#[tokio::test]
async fn the_agent_socket_takes_the_token_in_the_authorization_header() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let app = app_with_agents(|_| {}).await;
    let login = app
        .send(
            app.client
                .post(app.url("/v1/agent/login"))
                .json(&json!({"username": "ann", "password": "ann-password"})),
        )
        .await;
    let token = login.body["token"].as_str().unwrap().to_owned();
    let ws = base(&app).replacen("http://", "ws://", 1);
    let request = |authorization: Option<&str>| {
        let mut request = format!("{ws}/v1/agent/events").into_client_request().unwrap();
        if let Some(value) = authorization {
            request.headers_mut().insert("authorization", value.parse().unwrap());
        }
        request
    };
    let (mut socket, _) = tokio_tungstenite::connect_async(request(Some(&format!("Bearer {token}"))))
        .await
        .unwrap();
    let hello = next_of(&mut socket, "hello").await;
    assert_eq!(hello["agent"]["id"], "ann");
    for refused in [
        None,
        Some("Bearer not-a-token"),
        Some(format!("Basic {token}").as_str()),
    ] {
        let error = tokio_tungstenite::connect_async(request(refused)).await.unwrap_err();
        match error {
            tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status(), 401, "{refused:?}"),
            other => panic!("{refused:?}: {other}"),
        }
    }
}

#[tokio::test]
async fn with_agents_offline_the_customer_leaves_a_message_that_becomes_a_ticket() {
    let app = app_with_agents(|config| {
        config.desk.queues =
            toml::from_str::<Config>("[[desk.queues]]\nname = \"billing\"\noffline_policy = \"leave_message\"\n")
                .unwrap()
                .desk
                .queues;
    })
    .await;
    let (session, mut customer) = start(&app).await;
    app.say(&session, "I want to pay my bill").await;
    let offline = next_of(&mut customer, "offline").await;
    assert_eq!(
        offline["message"],
        "Our billing team is offline. You can pay bills any time in the app under Payments."
    );
    let transcript = app.transcript(&session).await;
    assert!(
        transcript
            .iter()
            .any(|line| line.contains("Our billing team is offline.")),
        "{transcript:#?}"
    );
    let reply = app.say(&session, "Please call me back about my invoice 42").await;
    assert_eq!(
        render(&reply),
        ["Thank you, your message has been passed on. Someone will get back to you."]
    );
    // The assistant is back.
    let reply = app.say(&session, "what are your opening hours").await;
    assert!(render(&reply)[0].starts_with("Our branches are open"), "{reply}");

    let ann = AgentClient::online(&base(&app), "ann").await;
    let (status, tickets) = ann.get("/v1/agent/tickets").await;
    assert_eq!(status, 200);
    assert_eq!(tickets["tickets"][0]["text"], "Please call me back about my invoice 42");
    assert_eq!(tickets["tickets"][0]["queue"], "billing");
    let carl = AgentClient::online(&base(&app), "carl").await;
    let (_, tickets) = carl.get("/v1/agent/tickets").await;
    assert_eq!(tickets["tickets"], json!([]));
}

#[tokio::test]
async fn an_agent_passes_the_chat_to_another_agent() {
    let app = app_with_agents(|_| {}).await;
    let mut ann = AgentClient::online(&base(&app), "ann").await;
    let (session, mut customer) = start(&app).await;
    app.say(&session, "I want to pay my bill").await;
    let (transfer, _) = ann.accept_next_offer().await;
    next_of(&mut customer, "agent_joined").await;
    let mut bob = AgentClient::online(&base(&app), "bob").await;
    let (status, body) = ann
        .post(
            &format!("/v1/agent/transfers/{transfer}/transfer"),
            json!({"agent": "bob"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let offer = bob.next("offer").await;
    assert_eq!(offer["transfer"], transfer);
    assert_eq!(offer["from_agent"]["id"], "ann");
    let left = next_of(&mut customer, "agent_left").await;
    assert_eq!(left["agent_name"], "Ann Smith");
    let (status, _) = bob
        .post(&format!("/v1/agent/transfers/{transfer}/accept"), json!({}))
        .await;
    assert_eq!(status, 200);
    let joined = next_of(&mut customer, "agent_joined").await;
    assert_eq!(joined["agent_name"], "Bob Jones");
    // Ann is out of the chat.
    let (status, body) = ann
        .post(
            &format!("/v1/agent/transfers/{transfer}/messages"),
            json!({"text": "still here?"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    bob.say(&transfer, "Bob here.").await;
    assert_eq!(next_of(&mut customer, "agent_message").await["text"], "Bob here.");
}

#[tokio::test]
async fn an_agent_hands_back_and_the_assistant_runs_the_chosen_action() {
    let app = app_with_agents(|_| {}).await;
    let mut ann = AgentClient::online(&base(&app), "ann").await;
    let (session, mut customer) = start(&app).await;
    app.say(&session, "I want to pay my bill").await;
    let (transfer, _) = ann.accept_next_offer().await;
    let (status, body) = ann
        .post(
            &format!("/v1/agent/transfers/{transfer}/end"),
            json!({"disposition": "hand_back", "resume": "branch_hours", "variables": {"is_premium": true}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(next_of(&mut customer, "ended").await["by"], "agent");
    let said = next_of(&mut customer, "assistant").await;
    assert!(
        said["generic"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Our branches are open"),
        "{said}"
    );
    let stored = app.store.load_transfer(&transfer).await.unwrap().unwrap();
    assert_eq!(stored.state, "handed_back");
    assert!(!stored.open);
    // The customer's next turn starts from the session as the hand-back left it, not as the
    // customer's last turn did.
    let reply = app
        .post(
            &app.api(&format!("/sessions/{session}/message")),
            json!({"input": {"text": "what are your opening hours", "options": {"return_context": true}}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body["context"]["skills"]["actions skill"]["skill_variables"]["is_premium"], true,
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn the_customer_cancels_while_waiting() {
    let app = app_with_agents(|_| {}).await;
    let (session, mut customer) = start(&app).await;
    app.say(&session, "I want to pay my bill").await;
    next_of(&mut customer, "queued").await;
    let reply = app
        .post(&app.api(&format!("/sessions/{session}/transfer/cancel")), json!({}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["cancelled"], true);
    assert_eq!(next_of(&mut customer, "ended").await["by"], "customer");
    let reply = app.say(&session, "what are your opening hours").await;
    assert!(render(&reply)[0].starts_with("Our branches are open"), "{reply}");
    let legacy = app.url(&format!(
        "/v2/assistants/bank/sessions/{session}/transfer/cancel?version={}",
        crate::common::VERSION
    ));
    let reply = app.post(&legacy, json!({})).await;
    assert_eq!(reply.body["cancelled"], false);
}

#[tokio::test]
async fn an_agent_of_another_queue_cannot_see_the_transfer() {
    let app = app_with_agents(|_| {}).await;
    let mut ann = AgentClient::online(&base(&app), "ann").await;
    let carl = AgentClient::online(&base(&app), "carl").await;
    let (session, _customer) = start(&app).await;
    app.say(&session, "I want to pay my bill").await;
    let offer = ann.next("offer").await;
    let transfer = offer["transfer"].as_str().unwrap();
    for path in [
        format!("/v1/agent/transfers/{transfer}"),
        "/v1/agent/transfers/no-such-transfer".to_owned(),
    ] {
        let (status, body) = carl.get(&path).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["baton_code"], "not_found");
    }
    let (status, _) = carl
        .post(&format!("/v1/agent/transfers/{transfer}/accept"), json!({}))
        .await;
    assert_eq!(status, 404);
    let (status, queues) = carl.get("/v1/agent/queues").await;
    assert_eq!(status, 200);
    assert_eq!(queues["waiting"], json!([]), "{queues}");
    let (_, queues) = ann.get("/v1/agent/queues").await;
    assert_eq!(queues["waiting"][0]["transfer"], transfer, "{queues}");
    // Without a token nothing is visible.
    let response = reqwest::get(app.url(&format!("/v1/agent/transfers/{transfer}")))
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn agent_logins_are_rate_limited_and_wrong_passwords_refused() {
    let app = app_with_agents(|_| {}).await;
    let login = |password: &str| {
        app.client
            .post(app.url("/v1/agent/login"))
            .json(&json!({"username": "ann", "password": password}))
    };
    let reply = app.send(login("wrong")).await;
    crate::common::assert_error(&reply, 401, "bad_credentials");
    let unknown = app
        .send(
            app.client
                .post(app.url("/v1/agent/login"))
                .json(&json!({"username": "nobody", "password": "x"})),
        )
        .await;
    crate::common::assert_error(&unknown, 401, "bad_credentials");
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(app.send(login("wrong")).await.status);
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let reply = app.send(login("ann-password")).await;
    crate::common::assert_error(&reply, 429, "rate_limited");
}

#[tokio::test]
async fn when_no_agent_joins_in_time_the_assistant_takes_the_customer_back() {
    let app = app_with_agents(|config| {
        config.desk.settings.join_timeout = Duration::from_secs(1);
    })
    .await;
    let (session, mut customer) = start(&app).await;
    app.say(&session, "I want to pay my bill").await;
    assert_eq!(next_of(&mut customer, "ended").await["by"], "desk");
    let said = next_of(&mut customer, "assistant").await;
    assert_eq!(
        said["generic"][0]["text"],
        "Sorry, no agent could join in time. I can still help you here: what do you need?"
    );
    let reply = app.say(&session, "what are your opening hours").await;
    assert!(render(&reply)[0].starts_with("Our branches are open"), "{reply}");
}

#[tokio::test]
async fn a_declined_offer_goes_to_the_next_agent_and_a_reconnecting_console_gets_its_offers() {
    let app = app_with_agents(|_| {}).await;
    let mut ann = AgentClient::online(&base(&app), "ann").await;
    let mut bob = AgentClient::online(&base(&app), "bob").await;
    let (session, _customer) = start(&app).await;
    app.say(&session, "I want to pay my bill").await;
    // Whoever gets it first declines; the other one is offered it next.
    let (first, second) = tokio::select! {
        offer = ann.next("offer") => (offer, "ann"),
        offer = bob.next("offer") => (offer, "bob"),
    };
    let transfer = first["transfer"].as_str().unwrap().to_owned();
    let (decliner, other) = match second {
        "ann" => (&mut ann, &mut bob),
        _ => (&mut bob, &mut ann),
    };
    let (status, _) = decliner
        .post(&format!("/v1/agent/transfers/{transfer}/decline"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(decliner.next("offer_withdrawn").await["reason"], "declined");
    assert_eq!(other.next("offer").await["transfer"], transfer);
    // The other agent's console reconnects and is offered it again from the hello on.
    let mut again = AgentClient::reconnect(&other.base, &other.token).await;
    assert_eq!(again.next("offer").await["transfer"], transfer);
    let (status, _) = again
        .post(&format!("/v1/agent/transfers/{transfer}/accept"), json!({}))
        .await;
    assert_eq!(status, 200);
    let (status, body) = decliner
        .post(&format!("/v1/agent/transfers/{transfer}/accept"), json!({}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["baton_code"], "not_offered");
}

#[tokio::test]
async fn an_agent_passes_the_chat_to_a_queue() {
    let app = app_with_agents(|_| {}).await;
    let mut ann = AgentClient::online(&base(&app), "ann").await;
    let (session, mut customer) = start(&app).await;
    app.say(&session, "I want to pay my bill").await;
    let (transfer, _) = ann.accept_next_offer().await;
    let mut bob = AgentClient::online(&base(&app), "bob").await;
    let (status, body) = ann
        .post(
            &format!("/v1/agent/transfers/{transfer}/transfer"),
            json!({"queue": "general"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(next_of(&mut customer, "agent_left").await["agent_name"], "Ann Smith");
    next_of(&mut customer, "queued").await;
    assert_eq!(bob.next("offer").await["transfer"], transfer);
    let (status, _) = bob
        .post(&format!("/v1/agent/transfers/{transfer}/accept"), json!({}))
        .await;
    assert_eq!(status, 200);
    // Dora serves only `general`: passed on to her queue, the chat is hers to accept though it
    // came from `billing`.
    add_agent(&*app.store, "dora", "Dora General", &["general"]).await;
    let mut dora = AgentClient::online(&base(&app), "dora").await;
    // Ann, idle the longest, would be offered it first.
    assert_eq!(
        ann.put("/v1/agent/presence", json!({"presence": "offline"})).await.0,
        200
    );
    let (status, body) = bob
        .post(
            &format!("/v1/agent/transfers/{transfer}/transfer"),
            json!({"queue": "general"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(dora.next("offer").await["transfer"], transfer);
    let (status, body) = dora
        .post(&format!("/v1/agent/transfers/{transfer}/accept"), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    dora.say(&transfer, "Dora from general here.").await;
    let (status, body) = dora
        .post(
            &format!("/v1/agent/transfers/{transfer}/transfer"),
            json!({"agent": "bob", "queue": "x"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn an_agent_listed_in_the_config_logs_in_and_serves_every_queue() {
    let app = spawn_app_with(|config| {
        config.desk.agents = vec![baton_server::config::ConfiguredAgent {
            id: baton_desk::AgentId::parse("dora").unwrap(),
            name: "Dora Config".to_owned(),
            queues: Vec::new(),
            capacity: 2,
            password_hash: Some(baton_store::password::hash("dora-password").unwrap()),
        }];
    })
    .await;
    let mut dora = AgentClient::online(&base(&app), "dora").await;
    let (session, _customer) = start(&app).await;
    app.say(&session, "I want to pay my bill").await;
    let (transfer, _) = dora.accept_next_offer().await;
    dora.say(&transfer, "Dora here.").await;
    let (status, queues) = dora.get("/v1/agent/queues").await;
    assert_eq!(status, 200);
    assert_eq!(queues["agents"][0]["id"], "dora", "{queues}");
    assert_eq!(queues["agents"][0]["chats"], 1, "{queues}");
    let (status, _) = dora.post("/v1/agent/logout", json!({})).await;
    assert_eq!(status, 200);
    let (status, body) = dora.get("/v1/agent/queues").await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn shutdown_does_not_wait_for_open_agent_and_customer_sockets() {
    let app = app_with_agents(|_| {}).await;
    let mut ann = AgentClient::online(&base(&app), "ann").await;
    let (session, _customer) = start(&app).await;
    app.say(&session, "I want to pay my bill").await;
    ann.accept_next_offer().await;
    tokio::time::timeout(Duration::from_secs(20), app.stop())
        .await
        .expect("the server stopped with sockets open");
}

#[tokio::test]
async fn deleting_the_session_abandons_its_transfer() {
    let app = app_with_agents(|_| {}).await;
    let mut ann = AgentClient::online(&base(&app), "ann").await;
    let (session, _customer) = start(&app).await;
    app.say(&session, "I want to pay my bill").await;
    let offer = ann.next("offer").await;
    let transfer = offer["transfer"].as_str().unwrap();
    let reply = app
        .send(app.client.delete(app.api(&format!("/sessions/{session}"))))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let withdrawn = ann.next("offer_withdrawn").await;
    assert_eq!(withdrawn["transfer"], transfer);
    assert_eq!(withdrawn["reason"], "customer_left");
    let stored = app.store.load_transfer(transfer).await.unwrap().unwrap();
    assert_eq!(stored.state, "abandoned");
    assert!(!stored.open);
}

#[tokio::test]
async fn a_customer_waiting_silently_for_an_agent_does_not_expire() {
    let app = app_with_agents(|config| config.session_timeout_secs = 3).await;
    let (session, mut customer) = start(&app).await;
    app.say(&session, "I want to pay my bill").await;
    next_of(&mut customer, "queued").await;
    // Two seconds of silence, then the chat's keep-alive (every second here) runs.
    app.clock.advance(Duration::from_secs(2));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Four seconds after the customer's last message: past the timeout but for the keep-alive.
    app.clock.advance(Duration::from_secs(2));
    let reply = app.say(&session, "still waiting").await;
    assert_eq!(reply["output"]["generic"], json!([]), "{reply}");
}
