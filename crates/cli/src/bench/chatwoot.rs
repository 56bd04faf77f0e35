//! `baton bench transfer --desk chatwoot`: the same transfers to the Chatwoot desk, against the
//! simulated Chatwoot (`baton_connectors::chatwoot::sim`) in this process, whose webhooks reach
//! the server's webhook router over loopback HTTP. Measured: from each customer's message to
//! their conversation being opened for the agents, and then, on those chats, the overhead Baton
//! adds per forwarded message each way: from a customer's message being sent to it arriving in
//! Chatwoot, and from Chatwoot delivering an agent's message to Baton answering the webhook
//! (verified, deduplicated and handed to the chat, whose task commits it right after).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::json;

use baton_connectors::chatwoot::sim::{self, Observed, Sim};
use baton_dialog::Engine;
use baton_server::Config;
use baton_server::config::{ChatwootSpec, DeskSpec};

use super::VERSION;
use super::desk::{Arrivals, DeskSide, Measured, Row, measure};
use super::transfer::TransferArgs;

const AGENT: (u64, &str) = (11, "Ann Agent");

pub async fn bench_chatwoot(args: TransferArgs, engine: Engine, cores: usize) -> anyhow::Result<i32> {
    let sim = Sim::start().await.context("starting the simulated Chatwoot")?;
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let token = dir.path().join("token");
    let secret = dir.path().join("webhook-secret");
    std::fs::write(&token, sim::BOT_TOKEN).context("writing the token")?;
    std::fs::write(&secret, sim::WEBHOOK_SECRET).context("writing the webhook secret")?;
    let mut config = Config::for_tests();
    config.database_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    config.desks.insert(
        "bench".to_owned(),
        DeskSpec::Chatwoot(ChatwootSpec {
            url: sim.url.clone(),
            account_id: sim::ACCOUNT,
            inbox_id: sim::INBOX,
            inbox_identifier: sim::INBOX_IDENTIFIER.to_owned(),
            api_access_token_env: None,
            api_access_token_file: Some(token),
            webhook_secret_env: None,
            webhook_secret_file: Some(secret),
            agents_token_env: None,
            agents_token_file: None,
            teams: Default::default(),
            join_timeout_secs: None,
            retry: Default::default(),
        }),
    );
    config.routes.insert("*".to_owned(), vec!["bench".to_owned()]);

    // The conversations opened for the agents, by session, as the simulation sees them.
    let arrivals: Arrivals = Arc::default();
    let conversations: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
    let mut observed = sim.observe();
    let watcher = {
        let arrivals = arrivals.clone();
        let conversations = conversations.clone();
        let side_messages = Arc::new(Mutex::new(Vec::new()));
        let messages = side_messages.clone();
        let task = tokio::spawn(async move {
            while let Some(seen) = observed.recv().await {
                match seen {
                    Observed::Opened {
                        conversation,
                        session: Some(session),
                        at,
                    } => {
                        if let Ok(mut arrivals) = arrivals.lock() {
                            arrivals.entry(session.clone()).or_insert(at);
                        }
                        if let Ok(mut conversations) = conversations.lock() {
                            conversations.push((session, conversation));
                        }
                    }
                    Observed::CustomerMessage { content, at, .. } => {
                        if let Ok(mut messages) = messages.lock() {
                            messages.push((content, at));
                        }
                    }
                    Observed::Opened { .. } => {}
                }
            }
        });
        (task, side_messages)
    };
    let side = ChatwootSide {
        sim: sim.clone(),
        conversations,
        customer_messages: watcher.1,
    };
    let notes = format!(
        "server, simulated Chatwoot and load generator share one multi-threaded tokio runtime ({cores} worker threads on {cores} cores); \
         the simulation's webhooks reach the server over loopback HTTP, signed; {} customers, one transfer each at {} per second, \
         then on each chat one customer message and one agent message, one chat at a time; {} other sessions having ordinary turns \
         meanwhile; SQLite in a temporary folder, development mode, rate limits off",
        args.customers, args.rate, args.others
    );
    let measured = Measured {
        desk: "chatwoot",
        arrival: "conversation opened in Chatwoot",
        notes,
        extra: json!({}),
    };
    let code = measure(&args, config, engine, arrivals, measured, &side, cores).await;
    watcher.0.abort();
    code
}

struct ChatwootSide {
    sim: Arc<Sim>,
    conversations: Arc<Mutex<Vec<(String, u64)>>>,
    customer_messages: Arc<Mutex<Vec<(String, Instant)>>>,
}

impl DeskSide for ChatwootSide {
    fn started(&self, addr: std::net::SocketAddr) {
        let url = format!("http://{addr}/v1/desks/bench/webhook");
        let client = reqwest::Client::new();
        self.sim.set_sink(Arc::new(move |headers, body| {
            let mut request = client.post(&url).body(body);
            for (name, value) in headers {
                request = request.header(name, value);
            }
            Box::pin(async move { request.send().await.map_or(599, |response| response.status().as_u16()) })
        }));
    }

    async fn after(&self, client: &reqwest::Client, base: &str, _customers: &[String]) -> anyhow::Result<Vec<Row>> {
        let chats = self.conversations.lock().map(|chats| chats.clone()).unwrap_or_default();
        let mut to_desk = Vec::with_capacity(chats.len());
        let mut from_desk = Vec::with_capacity(chats.len());
        for (index, (session, conversation)) in chats.iter().enumerate() {
            self.sim.assign(*conversation, AGENT).await;
            // Agent → customer: Chatwoot delivers the message; Baton answers once it is verified
            // and handed to the chat.
            let started = Instant::now();
            self.sim
                .agent_says(*conversation, AGENT, "Hello, how can I help?")
                .await;
            from_desk.push(started.elapsed());
            // Customer → agent: from the message being sent to it arriving in Chatwoot.
            let text = format!("forwarded message {index}");
            let url = format!("{base}/sessions/{session}/message?version={VERSION}");
            let sent = Instant::now();
            client
                .post(&url)
                .json(&json!({"input": {"text": text}}))
                .send()
                .await
                .context("sending a customer message")?;
            let messages = self.customer_messages.clone();
            let wanted = text.clone();
            let arrived = move || {
                messages
                    .lock()
                    .map(|messages| {
                        messages
                            .iter()
                            .find(|(content, _)| *content == wanted)
                            .map(|(_, at)| *at)
                    })
                    .ok()
                    .flatten()
            };
            let check = arrived.clone();
            if sim::within(Duration::from_secs(10), move || check().is_some()).await
                && let Some(at) = arrived()
            {
                to_desk.push(at.saturating_duration_since(sent));
            }
        }
        Ok(vec![
            Row {
                key: "forward_to_desk",
                label: "customer message → arrives in Chatwoot",
                values: to_desk,
            },
            Row {
                key: "forward_from_desk",
                label: "agent message webhook → answered by Baton",
                values: from_desk,
            },
        ])
    }
}
