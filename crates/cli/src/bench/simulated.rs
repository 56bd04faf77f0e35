//! `baton bench transfer --desk chatwoot`, `zendesk`, `twilio-flex`, `salesforce` and `genesys`:
//! the same transfers to a SaaS desk, against its simulation
//! (`baton_connectors::{chatwoot,zendesk,twilio,salesforce,genesys}::sim`) in this process, whose webhooks
//! reach the server's webhook router signed, over loopback HTTP (Salesforce's events come on a
//! server-sent event stream Baton reads instead, so it has no webhook to time). Measured: from each
//! customer's message to their conversation being handed to the agents, and then, on those
//! chats, the overhead Baton adds per forwarded message each way: from a customer's message being
//! sent to it arriving at the desk, and from the desk delivering an agent's message to Baton
//! answering the webhook (verified, deduplicated and handed to the chat, whose task commits it).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::json;

use baton_connectors::simulation::{self, Observed, Sink};
use baton_connectors::{chatwoot, genesys, salesforce, twilio, zendesk};
use baton_dialog::Engine;
use baton_server::Config;
use baton_server::config::{ChatwootSpec, DeskSpec, GenesysSpec, SalesforceSpec, TwilioFlexSpec, ZendeskSpec};

use super::VERSION;
use super::desk::{Arrivals, DeskSide, Measured, Row, measure};
use super::transfer::TransferArgs;

/// The agent's side of a simulated desk, as the bench drives it.
trait SimulatedAgent: Send + Sync + 'static {
    fn set_sink(&self, sink: Sink);
    fn observe(&self) -> tokio::sync::mpsc::UnboundedReceiver<Observed>;
    /// The agent takes the conversation.
    async fn take(&self, conversation: &str);
    async fn say(&self, conversation: &str, text: &str);
    /// Whether the agent's messages reach Baton as webhooks, whose answer can be timed.
    fn webhooks(&self) -> bool {
        true
    }
}

impl SimulatedAgent for genesys::sim::Sim {
    fn set_sink(&self, sink: Sink) {
        genesys::sim::Sim::set_sink(self, sink);
    }
    fn observe(&self) -> tokio::sync::mpsc::UnboundedReceiver<Observed> {
        genesys::sim::Sim::observe(self)
    }
    async fn take(&self, conversation: &str) {
        self.agent_joins(conversation, AGENT_NAME);
    }
    async fn say(&self, conversation: &str, text: &str) {
        self.agent_says(conversation, AGENT_NAME, text).await;
    }
}

impl SimulatedAgent for salesforce::sim::Sim {
    fn set_sink(&self, _sink: Sink) {}
    fn observe(&self) -> tokio::sync::mpsc::UnboundedReceiver<Observed> {
        salesforce::sim::Sim::observe(self)
    }
    async fn take(&self, conversation: &str) {
        self.agent_joins(conversation, AGENT_NAME);
    }
    async fn say(&self, conversation: &str, text: &str) {
        self.agent_says(conversation, AGENT_NAME, text);
    }
    fn webhooks(&self) -> bool {
        false
    }
}

const AGENT_NAME: &str = "Ann Agent";

impl SimulatedAgent for chatwoot::sim::Sim {
    fn set_sink(&self, sink: Sink) {
        chatwoot::sim::Sim::set_sink(self, sink);
    }
    fn observe(&self) -> tokio::sync::mpsc::UnboundedReceiver<Observed> {
        chatwoot::sim::Sim::observe(self)
    }
    async fn take(&self, conversation: &str) {
        if let Ok(id) = conversation.parse() {
            self.assign(id, (11, AGENT_NAME)).await;
        }
    }
    async fn say(&self, conversation: &str, text: &str) {
        if let Ok(id) = conversation.parse() {
            self.agent_says(id, (11, AGENT_NAME), text).await;
        }
    }
}

impl SimulatedAgent for zendesk::sim::Sim {
    fn set_sink(&self, sink: Sink) {
        zendesk::sim::Sim::set_sink(self, sink);
    }
    fn observe(&self) -> tokio::sync::mpsc::UnboundedReceiver<Observed> {
        zendesk::sim::Sim::observe(self)
    }
    async fn take(&self, conversation: &str) {
        self.agent_reads(conversation, AGENT_NAME).await;
    }
    async fn say(&self, conversation: &str, text: &str) {
        self.agent_says(conversation, AGENT_NAME, text).await;
    }
}

/// The URL the simulated Twilio signs its webhooks over (the sink posts them to the server).
const TWILIO_SIGNED_URL: &str = "https://baton.bench.invalid/v1/desks/bench/webhook";

impl SimulatedAgent for twilio::sim::Sim {
    fn set_sink(&self, sink: Sink) {
        twilio::sim::Sim::set_sink(self, sink, TWILIO_SIGNED_URL);
    }
    fn observe(&self) -> tokio::sync::mpsc::UnboundedReceiver<Observed> {
        twilio::sim::Sim::observe(self)
    }
    async fn take(&self, conversation: &str) {
        self.agent_joins(conversation, "ann@acme.example").await;
    }
    async fn say(&self, conversation: &str, text: &str) {
        self.agent_says(conversation, "ann@acme.example", text).await;
    }
}

pub async fn bench_twilio_flex(args: TransferArgs, engine: Engine, cores: usize) -> anyhow::Result<i32> {
    use twilio::sim;
    let desk = sim::Sim::start().await.context("starting the simulated Twilio")?;
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let token = write(&dir, "auth-token", sim::AUTH_TOKEN)?;
    let spec = DeskSpec::TwilioFlex(TwilioFlexSpec {
        account_sid: sim::ACCOUNT_SID.to_owned(),
        auth_token_env: None,
        auth_token_file: Some(token),
        conversations_service_sid: sim::SERVICE_SID.to_owned(),
        workspace_sid: sim::WORKSPACE_SID.to_owned(),
        workflow_sid: sim::WORKFLOW_SID.to_owned(),
        task_channel: None,
        webhook_url: Some(TWILIO_SIGNED_URL.to_owned()),
        task_queues: Default::default(),
        api_url: Some(desk.url.clone()),
        join_timeout_secs: None,
        retry: Default::default(),
    });
    run(
        args,
        engine,
        cores,
        &dir,
        spec,
        desk,
        ("twilio_flex", "interaction created in Flex"),
    )
    .await
}

pub async fn bench_chatwoot(args: TransferArgs, engine: Engine, cores: usize) -> anyhow::Result<i32> {
    use chatwoot::sim;
    let desk = sim::Sim::start().await.context("starting the simulated Chatwoot")?;
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let token = write(&dir, "token", sim::BOT_TOKEN)?;
    let secret = write(&dir, "webhook-secret", sim::WEBHOOK_SECRET)?;
    let spec = DeskSpec::Chatwoot(ChatwootSpec {
        url: desk.url.clone(),
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
    });
    run(
        args,
        engine,
        cores,
        &dir,
        spec,
        desk,
        ("chatwoot", "conversation opened in Chatwoot"),
    )
    .await
}

pub async fn bench_zendesk(args: TransferArgs, engine: Engine, cores: usize) -> anyhow::Result<i32> {
    use zendesk::sim;
    let desk = sim::Sim::start().await.context("starting the simulated Zendesk")?;
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let key = write(&dir, "key", sim::KEY_SECRET)?;
    let secret = write(&dir, "webhook-secret", sim::WEBHOOK_SECRET)?;
    let spec = DeskSpec::Zendesk(ZendeskSpec {
        url: desk.url.clone(),
        app_id: sim::APP.to_owned(),
        key_id: sim::KEY_ID.to_owned(),
        key_secret_env: None,
        key_secret_file: Some(key),
        webhook_secret_env: None,
        webhook_secret_file: Some(secret),
        switchboard_integration: None,
        summary_field: Some(360_001),
        support_email: None,
        support_token_env: None,
        support_token_file: None,
        join_timeout_secs: None,
        retry: Default::default(),
    });
    run(
        args,
        engine,
        cores,
        &dir,
        spec,
        desk,
        ("zendesk", "control passed to the Agent Workspace"),
    )
    .await
}

pub async fn bench_genesys(args: TransferArgs, engine: Engine, cores: usize) -> anyhow::Result<i32> {
    use genesys::sim;
    let desk = sim::Sim::start()
        .await
        .context("starting the simulated Genesys Cloud")?;
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let client = write(&dir, "client-secret", sim::CLIENT_SECRET)?;
    let secret = write(&dir, "webhook-secret", sim::WEBHOOK_SECRET)?;
    let spec = DeskSpec::Genesys(GenesysSpec {
        region: "mypurecloud.com".to_owned(),
        client_id: sim::CLIENT_ID.to_owned(),
        client_secret_env: None,
        client_secret_file: Some(client),
        integration_id: sim::INTEGRATION.to_owned(),
        webhook_secret_env: None,
        webhook_secret_file: Some(secret),
        queues: [("*".to_owned(), sim::QUEUE.to_owned())].into(),
        api_url: Some(desk.url.clone()),
        login_url: Some(desk.url.clone()),
        join_timeout_secs: None,
        retry: Default::default(),
    });
    run(
        args,
        engine,
        cores,
        &dir,
        spec,
        desk,
        ("genesys", "conversation started in Genesys Cloud"),
    )
    .await
}

pub async fn bench_salesforce(args: TransferArgs, engine: Engine, cores: usize) -> anyhow::Result<i32> {
    use salesforce::sim;
    let desk = sim::Sim::start().await.context("starting the simulated Salesforce")?;
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let spec = DeskSpec::Salesforce(SalesforceSpec {
        url: desk.url.clone(),
        org_id: sim::ORG_ID.to_owned(),
        deployment: sim::DEPLOYMENT.to_owned(),
        fields: Default::default(),
        post_transcript: None,
        join_timeout_secs: None,
        retry: Default::default(),
    });
    run(
        args,
        engine,
        cores,
        &dir,
        spec,
        desk,
        ("salesforce", "conversation routed in Salesforce"),
    )
    .await
}

fn write(dir: &tempfile::TempDir, name: &str, secret: &str) -> anyhow::Result<std::path::PathBuf> {
    let path = dir.path().join(name);
    std::fs::write(&path, secret).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

async fn run<A: SimulatedAgent>(
    args: TransferArgs,
    engine: Engine,
    cores: usize,
    dir: &tempfile::TempDir,
    spec: DeskSpec,
    agent: Arc<A>,
    (desk, arrival): (&'static str, &'static str),
) -> anyhow::Result<i32> {
    let mut config = Config::for_tests();
    config.database_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    config.desks.insert("bench".to_owned(), spec);
    config.routes.insert("*".to_owned(), vec!["bench".to_owned()]);

    // What the simulation sees, with its own clock: conversations handed to the agents, by
    // session, and the customers' messages arriving.
    let arrivals: Arrivals = Arc::default();
    let conversations: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let customer_messages: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let mut observed = agent.observe();
    let watcher = {
        let (arrivals, conversations, messages) = (arrivals.clone(), conversations.clone(), customer_messages.clone());
        tokio::spawn(async move {
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
        })
    };
    let side = SimulatedSide {
        agent,
        conversations,
        customer_messages,
    };
    let notes = format!(
        "server, simulated {desk} and load generator share one multi-threaded tokio runtime ({cores} worker threads on {cores} cores); \
         the simulation's webhooks reach the server over loopback HTTP; {} customers, one transfer each at {} per second, \
         then on each chat one agent message and one customer message, one chat at a time; {} other sessions having ordinary \
         turns meanwhile; SQLite in a temporary folder, development mode, rate limits off",
        args.customers, args.rate, args.others
    );
    let measured = Measured {
        desk,
        arrival,
        notes,
        extra: json!({}),
    };
    let code = measure(&args, config, engine, arrivals, measured, &side, cores).await;
    watcher.abort();
    code
}

struct SimulatedSide<A> {
    agent: Arc<A>,
    conversations: Arc<Mutex<Vec<(String, String)>>>,
    customer_messages: Arc<Mutex<Vec<(String, Instant)>>>,
}

impl<A: SimulatedAgent> DeskSide for SimulatedSide<A> {
    fn started(&self, addr: std::net::SocketAddr) {
        let url = format!("http://{addr}/v1/desks/bench/webhook");
        self.agent.set_sink(simulation::http_sink(move || url.clone()));
    }

    async fn after(&self, client: &reqwest::Client, base: &str, _customers: &[String]) -> anyhow::Result<Vec<Row>> {
        let chats = self.conversations.lock().map(|chats| chats.clone()).unwrap_or_default();
        let mut to_desk = Vec::with_capacity(chats.len());
        let mut from_desk = Vec::with_capacity(chats.len());
        for (index, (session, conversation)) in chats.iter().enumerate() {
            self.agent.take(conversation).await;
            // Agent → customer: the desk delivers the message; Baton answers once it is verified
            // and handed to the chat.
            let started = Instant::now();
            self.agent.say(conversation, "Hello, how can I help?").await;
            from_desk.push(started.elapsed());
            // Customer → agent: from the message being sent to it arriving at the desk.
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
            let arrived = move || {
                messages
                    .lock()
                    .ok()
                    .and_then(|messages| messages.iter().find(|(content, _)| *content == text).map(|(_, at)| *at))
            };
            let check = arrived.clone();
            if simulation::within(Duration::from_secs(10), move || check().is_some()).await
                && let Some(at) = arrived()
            {
                to_desk.push(at.saturating_duration_since(sent));
            }
        }
        let mut rows = vec![Row {
            key: "forward_to_desk",
            label: "customer message → arrives at the desk",
            values: to_desk,
        }];
        if self.agent.webhooks() {
            rows.push(Row {
                key: "forward_from_desk",
                label: "agent message webhook → answered by Baton",
                values: from_desk,
            });
        }
        Ok(rows)
    }
}
