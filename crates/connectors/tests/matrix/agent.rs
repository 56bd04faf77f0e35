//! A small Matrix client that plays a human agent: logs in, follows `/sync`, joins on invite,
//! writes, types, sends receipts, leaves. Events it sees while waiting for another one are kept,
//! so a test can wait for them in any order.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One thing the agent's client saw.
#[derive(Debug, Clone)]
pub enum Seen {
    Invite {
        room: String,
    },
    /// The agent's own membership became `leave` (kicked, invitation withdrawn).
    Left {
        room: String,
    },
    Timeline {
        room: String,
        event: Value,
    },
    Ephemeral {
        room: String,
        event: Value,
    },
}

impl Seen {
    pub fn room(&self) -> &str {
        match self {
            Seen::Invite { room }
            | Seen::Left { room }
            | Seen::Timeline { room, .. }
            | Seen::Ephemeral { room, .. } => room,
        }
    }
}

pub struct Agent {
    pub user: String,
    pub name: String,
    http: reqwest::Client,
    base: String,
    token: String,
    since: Option<String>,
    backlog: Vec<Seen>,
    txn: u64,
}

const WAIT: Duration = Duration::from_secs(30);

impl Agent {
    pub async fn login(base: &str, user: &str, password: &str, name: &str) -> Agent {
        let http = reqwest::Client::new();
        let body = json!({"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
                          "password": password, "device_id": "AGENTDEVICE"});
        let answer: Value = http
            .post(format!("{base}/_matrix/client/v3/login"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = answer["access_token"].as_str().expect("agent login").to_owned();
        let mut agent = Agent {
            user: user.to_owned(),
            name: name.to_owned(),
            http,
            base: base.to_owned(),
            token,
            since: None,
            backlog: Vec::new(),
            txn: 0,
        };
        agent.sync(0).await;
        agent
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let response = self
            .http
            .request(method, format!("{}/_matrix/client/v3{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{} {path}: {status} {answer}", self.user);
        answer
    }

    /// One `/sync` (with `set_presence=offline`, so presence stays what the test set).
    async fn sync(&mut self, timeout_ms: u64) {
        // A room's timeline in a sync holds its last 10 events unless told otherwise, and is
        // then marked `limited`; a test that lets more pile up between syncs would miss some.
        let mut query = vec![
            ("timeout", timeout_ms.to_string()),
            ("set_presence", "offline".to_owned()),
            ("filter", r#"{"room":{"timeline":{"limit":1000}}}"#.to_owned()),
        ];
        if let Some(since) = &self.since {
            query.push(("since", since.clone()));
        }
        let answer: Value = self
            .http
            .get(format!("{}/_matrix/client/v3/sync", self.base))
            .bearer_auth(&self.token)
            .query(&query)
            .timeout(Duration::from_millis(timeout_ms) + Duration::from_secs(10))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let first = self.since.is_none();
        self.since = answer["next_batch"].as_str().map(str::to_owned);
        if first {
            return;
        }
        let rooms = &answer["rooms"];
        for (room, _) in rooms["invite"].as_object().into_iter().flatten() {
            self.backlog.push(Seen::Invite { room: room.clone() });
        }
        for section in ["join", "leave"] {
            for (room, entry) in rooms[section].as_object().into_iter().flatten() {
                for event in entry["timeline"]["events"].as_array().into_iter().flatten() {
                    self.backlog.push(Seen::Timeline {
                        room: room.clone(),
                        event: event.clone(),
                    });
                }
                for event in entry["ephemeral"]["events"].as_array().into_iter().flatten() {
                    self.backlog.push(Seen::Ephemeral {
                        room: room.clone(),
                        event: event.clone(),
                    });
                }
                if section == "leave" {
                    self.backlog.push(Seen::Left { room: room.clone() });
                }
            }
        }
    }

    /// Waits for the first thing seen in `room` that `wanted` picks, and takes it from the backlog.
    pub async fn wait_for(&mut self, room: &str, what: &str, wanted: impl Fn(&Seen) -> bool) -> Seen {
        let started = Instant::now();
        loop {
            if let Some(idx) = self.backlog.iter().position(|seen| seen.room() == room && wanted(seen)) {
                return self.backlog.remove(idx);
            }
            assert!(
                started.elapsed() < WAIT,
                "{} did not see {what} in {room} within {WAIT:?}",
                self.user
            );
            self.sync(2_000).await;
        }
    }

    /// The next invitation to any room: its id.
    pub async fn next_invite(&mut self) -> String {
        let started = Instant::now();
        loop {
            if let Some(idx) = self.backlog.iter().position(|seen| matches!(seen, Seen::Invite { .. })) {
                return self.backlog.remove(idx).room().to_owned();
            }
            assert!(
                started.elapsed() < WAIT,
                "{} was invited nowhere within {WAIT:?}",
                self.user
            );
            self.sync(2_000).await;
        }
    }

    pub async fn wait_for_invite(&mut self, room: &str) {
        self.wait_for(room, "an invitation", |seen| matches!(seen, Seen::Invite { .. }))
            .await;
    }

    pub async fn wait_for_leave(&mut self, room: &str) {
        self.wait_for(room, "being removed", |seen| matches!(seen, Seen::Left { .. }))
            .await;
    }

    /// The next text message from `sender` in `room`: its body and event id.
    pub async fn next_text_from(&mut self, room: &str, sender: &str, msgtype: &str) -> (String, String) {
        let seen = self
            .wait_for(room, "a message", |seen| {
                matches!(seen, Seen::Timeline { event, .. }
                    if event["type"] == "m.room.message" && event["sender"] == sender && event["content"]["msgtype"] == msgtype)
            })
            .await;
        let Seen::Timeline { event, .. } = seen else {
            unreachable!()
        };
        (
            event["content"]["body"].as_str().unwrap_or_default().to_owned(),
            event["event_id"].as_str().unwrap_or_default().to_owned(),
        )
    }

    pub async fn join(&mut self, room: &str) {
        self.call(
            reqwest::Method::POST,
            &format!("/join/{}", baton_connectors::matrix::segment(room)),
            json!({}),
        )
        .await;
    }

    pub async fn leave(&mut self, room: &str) {
        self.call(
            reqwest::Method::POST,
            &format!("/rooms/{}/leave", baton_connectors::matrix::segment(room)),
            json!({}),
        )
        .await;
    }

    pub async fn send(&mut self, room: &str, content: Value) -> String {
        self.txn += 1;
        let path = format!(
            "/rooms/{}/send/m.room.message/agent{}",
            baton_connectors::matrix::segment(room),
            self.txn
        );
        let answer = self.call(reqwest::Method::PUT, &path, content).await;
        answer["event_id"].as_str().unwrap().to_owned()
    }

    pub async fn say(&mut self, room: &str, text: &str) -> String {
        self.send(room, json!({"msgtype": "m.text", "body": text})).await
    }

    /// Sends any event; whether the homeserver took it (it refuses some malformed messages).
    pub async fn send_event(&mut self, room: &str, kind: &str, content: Value) -> bool {
        self.txn += 1;
        let path = format!(
            "/rooms/{}/send/{}/agent{}",
            baton_connectors::matrix::segment(room),
            baton_connectors::matrix::segment(kind),
            self.txn
        );
        let response = self
            .http
            .put(format!("{}/_matrix/client/v3{path}", self.base))
            .bearer_auth(&self.token)
            .json(&content)
            .send()
            .await
            .unwrap();
        response.status().is_success()
    }

    pub async fn typing(&mut self, room: &str, typing: bool) {
        let path = format!(
            "/rooms/{}/typing/{}",
            baton_connectors::matrix::segment(room),
            baton_connectors::matrix::segment(&self.user)
        );
        self.call(
            reqwest::Method::PUT,
            &path,
            json!({"typing": typing, "timeout": 30_000}),
        )
        .await;
    }

    pub async fn read(&mut self, room: &str, event: &str) {
        let path = format!(
            "/rooms/{}/receipt/m.read/{}",
            baton_connectors::matrix::segment(room),
            baton_connectors::matrix::segment(event)
        );
        self.call(reqwest::Method::POST, &path, json!({})).await;
    }

    pub async fn set_presence(&mut self, presence: &str) {
        let path = format!("/presence/{}/status", baton_connectors::matrix::segment(&self.user));
        self.call(reqwest::Method::PUT, &path, json!({"presence": presence}))
            .await;
    }

    /// Creates a room and invites `users` (the agents' room of a queue).
    pub async fn create_room(&mut self, invite: &[&str]) -> String {
        let answer = self
            .call(
                reqwest::Method::POST,
                "/createRoom",
                json!({"preset": "private_chat", "name": "Agents", "invite": invite}),
            )
            .await;
        answer["room_id"].as_str().unwrap().to_owned()
    }
}
