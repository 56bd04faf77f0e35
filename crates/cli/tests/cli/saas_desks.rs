//! `baton serve` with each SaaS desk (Chatwoot, Zendesk, Twilio Flex, Salesforce, Genesys), against its
//! simulation (`baton_connectors::{chatwoot,zendesk,twilio,salesforce,genesys}::sim`), whose signed
//! webhooks reach the server's webhook router over HTTP (Salesforce's events come on a stream the
//! server reads): a customer on the HTTP API and an agent in the (simulated) desk
//! through a whole transfer that goes on after `kill -9` of the server and ends from the desk.
//! The server logs at debug level, the most it says: the desk's secrets must not be in it.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use baton_connectors::simulation::{self, Sink};
use baton_connectors::{chatwoot, genesys, salesforce, twilio, zendesk};

use crate::served::Server;

/// The agent's side of a simulated desk, as the scenario drives it.
trait AgentSide {
    /// The conversation the transfer was handed over in, once it is.
    fn handed_over(&self) -> Option<String>;
    async fn take(&self, conversation: &str);
    async fn say(&self, conversation: &str, text: &str);
    fn customer_said(&self, conversation: &str, text: &str) -> bool;
    /// The agent ends the chat from the desk.
    async fn end(&self, conversation: &str);
    fn refused(&self) -> Vec<(u16, String)>;
}

async fn eventually(what: &str, check: impl Fn() -> bool) {
    assert!(
        simulation::within(Duration::from_secs(20), check).await,
        "never: {what}"
    );
}

/// Webhooks to the server whose address `address` holds (it changes when the server restarts).
fn sink_to(address: &Arc<Mutex<String>>, desk: &str) -> Sink {
    let (address, desk) = (address.clone(), desk.to_owned());
    simulation::http_sink(move || format!("{}/v1/desks/{desk}/webhook", address.lock().unwrap()))
}

/// The scenario: `DIR/baton.toml` names the desk `desk`; `connect` points the simulation's
/// webhooks at the server; `log_line` is what the server logs when the desk takes the chat.
async fn chat_survives_kill_9(
    dir: &Path,
    side: &impl AgentSide,
    connect: impl FnOnce(Sink),
    desk: &str,
    (log_line, secrets): (&str, &[&str]),
) -> String {
    let debug = [("RUST_LOG", "debug")];
    let server = Server::start_with(dir, &debug);
    let address = Arc::new(Mutex::new(server.address.clone()));
    connect(sink_to(&address, desk));

    let session = server.new_session().await;
    server.say(&session, "I want to talk to a person").await;
    eventually("the desk gets the conversation", || side.handed_over().is_some()).await;
    let conversation = side.handed_over().unwrap();
    side.take(&conversation).await;
    side.say(&conversation, "Hello before the crash").await;
    server
        .say_until_hearing(&session, "hello Ann", "still there?", "Hello before the crash")
        .await;
    eventually("the customer's message reaches the desk", || {
        side.customer_said(&conversation, "hello Ann")
    })
    .await;

    let before = server.log();
    server.kill();
    let server = Server::start_with(dir, &debug);
    *address.lock().unwrap() = server.address.clone();
    side.say(&conversation, "Hello after the restart").await;
    server
        .say_until_hearing(&session, "are you still there", "hello?", "Hello after the restart")
        .await;
    eventually("the customer's message reaches the desk after the restart", || {
        side.customer_said(&conversation, "are you still there")
    })
    .await;

    // The agent ends the chat: the customer is back with the assistant.
    side.end(&conversation).await;
    server
        .say_until_hearing(
            &session,
            "what are your opening hours",
            "what are your opening hours",
            "Our branches are open",
        )
        .await;
    let log = before + &server.log();
    assert!(log.contains(log_line), "the log is the server's:\n{log}");
    for secret in secrets {
        assert!(!log.contains(secret), "{secret:?} is in the log");
    }
    // Deliveries while the server was killed could not connect (599); none was refused.
    let refused: Vec<_> = side
        .refused()
        .into_iter()
        .filter(|(status, _)| *status != 599)
        .collect();
    assert_eq!(refused, [], "the server refused webhooks");
    log
}

fn write(dir: &Path, name: &str, secret: &str) -> String {
    std::fs::write(dir.join(name), secret).unwrap();
    dir.join(name).display().to_string()
}

impl AgentSide for chatwoot::sim::Sim {
    fn handed_over(&self) -> Option<String> {
        let id = *self.conversation_ids().first()?;
        let open = self.conversation(id, |found| found.status == "open")?;
        open.then(|| id.to_string())
    }
    async fn take(&self, conversation: &str) {
        self.assign(conversation.parse().unwrap(), (11, "Ann Agent")).await;
    }
    async fn say(&self, conversation: &str, text: &str) {
        self.agent_says(conversation.parse().unwrap(), (11, "Ann Agent"), text)
            .await;
    }
    fn customer_said(&self, conversation: &str, text: &str) -> bool {
        self.conversation(conversation.parse().unwrap(), |found| {
            found
                .messages
                .iter()
                .any(|message| message.message_type == "incoming" && message.content == text)
        })
        .unwrap_or(false)
    }
    async fn end(&self, conversation: &str) {
        self.set_status(conversation.parse().unwrap(), "resolved", serde_json::json!({}))
            .await;
    }
    fn refused(&self) -> Vec<(u16, String)> {
        chatwoot::sim::Sim::refused(self)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chatwoot_chat_through_the_server_goes_on_after_kill_9() {
    use chatwoot::sim;
    let sim = sim::Sim::start().await.expect("the simulation starts");
    let dir = tempfile::tempdir().unwrap();
    let (token, secret) = (
        write(dir.path(), "token", sim::BOT_TOKEN),
        write(dir.path(), "webhook-secret", sim::WEBHOOK_SECRET),
    );
    let config = format!(
        "[desks.support]\nkind = \"chatwoot\"\nurl = \"{}\"\naccount_id = {}\ninbox_id = {}\ninbox_identifier = \"{}\"\n\
         api_access_token_file = {token:?}\nwebhook_secret_file = {secret:?}\n\n[routes]\n\"*\" = [\"support\", \"own\"]\n",
        sim.url,
        sim::ACCOUNT,
        sim::INBOX,
        sim::INBOX_IDENTIFIER,
    );
    std::fs::write(dir.path().join("baton.toml"), config).unwrap();
    let secrets = [sim::BOT_TOKEN, sim::WEBHOOK_SECRET];
    chat_survives_kill_9(
        dir.path(),
        &*sim,
        |sink| sim.set_sink(sink),
        "support",
        ("chatwoot conversation opened", &secrets),
    )
    .await;
}

impl AgentSide for zendesk::sim::Sim {
    fn handed_over(&self) -> Option<String> {
        let id = self.conversation_ids().into_iter().next()?;
        let passed = self.conversation(&id, |found| found.active == zendesk::AGENT_WORKSPACE)?;
        passed.then_some(id)
    }
    async fn take(&self, conversation: &str) {
        self.agent_reads(conversation, "Ann Agent").await;
    }
    async fn say(&self, conversation: &str, text: &str) {
        self.agent_says(conversation, "Ann Agent", text).await;
    }
    fn customer_said(&self, conversation: &str, text: &str) -> bool {
        self.conversation(conversation, |found| {
            found
                .messages
                .iter()
                .any(|message| message.author == "user" && message.text == text)
        })
        .unwrap_or(false)
    }
    async fn end(&self, conversation: &str) {
        self.solve(conversation).await;
    }
    fn refused(&self) -> Vec<(u16, String)> {
        zendesk::sim::Sim::refused(self)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zendesk_chat_through_the_server_goes_on_after_kill_9() {
    use zendesk::sim;
    let sim = sim::Sim::start().await.expect("the simulation starts");
    let dir = tempfile::tempdir().unwrap();
    let (key, secret) = (
        write(dir.path(), "key", sim::KEY_SECRET),
        write(dir.path(), "webhook", sim::WEBHOOK_SECRET),
    );
    let config = format!(
        "[desks.zendesk]\nkind = \"zendesk\"\nurl = \"{}\"\napp_id = \"{}\"\nkey_id = \"{}\"\nkey_secret_file = {key:?}\n\
         webhook_secret_file = {secret:?}\n\n[routes]\n\"*\" = [\"zendesk\", \"own\"]\n",
        sim.url,
        sim::APP,
        sim::KEY_ID,
    );
    std::fs::write(dir.path().join("baton.toml"), config).unwrap();
    let secrets = [sim::KEY_SECRET, sim::WEBHOOK_SECRET];
    chat_survives_kill_9(
        dir.path(),
        &*sim,
        |sink| sim.set_sink(sink),
        "zendesk",
        ("zendesk conversation passed", &secrets),
    )
    .await;
}

impl AgentSide for twilio::sim::Sim {
    fn handed_over(&self) -> Option<String> {
        let id = self.conversation_ids().into_iter().next()?;
        let routed = self.conversation(&id, |found| found.interaction_channel.is_some())?;
        routed.then_some(id)
    }
    async fn take(&self, conversation: &str) {
        self.agent_joins(conversation, "ann@acme.example").await;
    }
    async fn say(&self, conversation: &str, text: &str) {
        self.agent_says(conversation, "ann@acme.example", text).await;
    }
    fn customer_said(&self, conversation: &str, text: &str) -> bool {
        self.conversation(conversation, |found| {
            found
                .messages
                .iter()
                .any(|message| message.author.starts_with("baton-") && message.body == text)
        })
        .unwrap_or(false)
    }
    async fn end(&self, conversation: &str) {
        self.close(conversation, serde_json::json!({})).await;
    }
    fn refused(&self) -> Vec<(u16, String)> {
        twilio::sim::Sim::refused(self)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_twilio_flex_chat_through_the_server_goes_on_after_kill_9() {
    use twilio::sim;
    // The URL the service's webhook is configured with, which Twilio signs.
    const SIGNED_URL: &str = "https://baton.example.com/v1/desks/flex/webhook";
    let sim = sim::Sim::start().await.expect("the simulation starts");
    let dir = tempfile::tempdir().unwrap();
    let token = write(dir.path(), "token", sim::AUTH_TOKEN);
    let config = format!(
        "public_url = \"https://baton.example.com\"\n\n[desks.flex]\nkind = \"twilio_flex\"\naccount_sid = \"{}\"\n\
         auth_token_file = {token:?}\nconversations_service_sid = \"{}\"\nworkspace_sid = \"{}\"\nworkflow_sid = \"{}\"\n\
         api_url = \"{}\"\n\n[routes]\n\"*\" = [\"flex\", \"own\"]\n",
        sim::ACCOUNT_SID,
        sim::SERVICE_SID,
        sim::WORKSPACE_SID,
        sim::WORKFLOW_SID,
        sim.url,
    );
    std::fs::write(dir.path().join("baton.toml"), config).unwrap();
    chat_survives_kill_9(
        dir.path(),
        &*sim,
        |sink| sim.set_sink(sink, SIGNED_URL),
        "flex",
        ("twilio flex interaction created", &[sim::AUTH_TOKEN]),
    )
    .await;
}

impl AgentSide for salesforce::sim::Sim {
    fn handed_over(&self) -> Option<String> {
        self.conversation_ids().into_iter().next()
    }
    async fn take(&self, conversation: &str) {
        self.agent_joins(conversation, "Ann Agent");
    }
    async fn say(&self, conversation: &str, text: &str) {
        self.agent_says(conversation, "Ann Agent", text);
    }
    fn customer_said(&self, conversation: &str, text: &str) -> bool {
        self.conversation(conversation, |found| {
            found
                .messages
                .iter()
                .any(|message| message.role == "EndUser" && message.text == text)
        })
        .unwrap_or(false)
    }
    async fn end(&self, conversation: &str) {
        self.close(conversation);
    }
    fn refused(&self) -> Vec<(u16, String)> {
        Vec::new()
    }
}

/// Salesforce keeps no secret in the configuration; the chat's guest token is kept in the
/// database to resume after `kill -9`, and never logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_salesforce_chat_through_the_server_goes_on_after_kill_9() {
    use salesforce::sim;
    let sim = sim::Sim::start().await.expect("the simulation starts");
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[desks.salesforce]\nkind = \"salesforce\"\nurl = \"{}\"\norg_id = \"{}\"\ndeployment = \"{}\"\n\n\
         [routes]\n\"*\" = [\"salesforce\", \"own\"]\n",
        sim.url,
        sim::ORG_ID,
        sim::DEPLOYMENT,
    );
    std::fs::write(dir.path().join("baton.toml"), config).unwrap();
    let log = chat_survives_kill_9(
        dir.path(),
        &*sim,
        |_| {},
        "salesforce",
        ("salesforce conversation started", &[]),
    )
    .await;
    let tokens = sim.issued_tokens();
    assert!(!tokens.is_empty());
    for token in tokens {
        assert!(!log.contains(&token), "a guest token is in the log");
    }
    // The transcript went first, then the customer's messages, each once.
    let conversation = sim.conversation_ids().remove(0);
    let customer: Vec<String> = sim
        .conversation(&conversation, |found| {
            found
                .messages
                .iter()
                .filter(|message| message.role == "EndUser")
                .map(|message| message.text.clone())
                .collect()
        })
        .unwrap();
    assert!(customer[0].contains("I want to talk to a person"), "{customer:?}");
    assert_eq!(
        customer.iter().filter(|text| *text == "are you still there").count(),
        1,
        "{customer:?}"
    );
}

impl AgentSide for genesys::sim::Sim {
    fn handed_over(&self) -> Option<String> {
        self.conversation_ids().into_iter().next()
    }
    async fn take(&self, conversation: &str) {
        self.agent_joins(conversation, "Ann Agent");
    }
    async fn say(&self, conversation: &str, text: &str) {
        self.agent_says(conversation, "Ann Agent", text).await;
    }
    fn customer_said(&self, conversation: &str, text: &str) -> bool {
        self.conversation(conversation, |found| {
            found
                .messages
                .iter()
                .any(|message| message.direction == "Inbound" && message.text == text)
        })
        .unwrap_or(false)
    }
    async fn end(&self, conversation: &str) {
        self.agent_leaves(conversation, "Ann Agent");
    }
    fn refused(&self) -> Vec<(u16, String)> {
        genesys::sim::Sim::refused(self)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_genesys_chat_through_the_server_goes_on_after_kill_9() {
    use genesys::sim;
    let sim = sim::Sim::start().await.expect("the simulation starts");
    let dir = tempfile::tempdir().unwrap();
    let (client, webhook) = (
        write(dir.path(), "client", sim::CLIENT_SECRET),
        write(dir.path(), "webhook", sim::WEBHOOK_SECRET),
    );
    let config = format!(
        "[desks.genesys]\nkind = \"genesys\"\nregion = \"mypurecloud.com\"\napi_url = \"{url}\"\nlogin_url = \"{url}\"\n\
         client_id = \"{}\"\nclient_secret_file = {client:?}\nintegration_id = \"{}\"\nwebhook_secret_file = {webhook:?}\n\
         queues = {{ \"*\" = \"{}\" }}\n\n[routes]\n\"*\" = [\"genesys\", \"own\"]\n",
        sim::CLIENT_ID,
        sim::INTEGRATION,
        sim::QUEUE,
        url = sim.url,
    );
    std::fs::write(dir.path().join("baton.toml"), config).unwrap();
    let secrets = [sim::CLIENT_SECRET, sim::WEBHOOK_SECRET];
    chat_survives_kill_9(
        dir.path(),
        &*sim,
        |sink| sim.set_sink(sink),
        "genesys",
        ("genesys conversation started", &secrets),
    )
    .await;
}
