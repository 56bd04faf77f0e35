//! `baton bench transfer --desk matrix --homeserver URL --registration-secret-file FILE`: the
//! same transfers to the Matrix desk on a homeserver the caller runs (a local Synapse). The bench
//! registers a bot and an agent with the homeserver's registration shared secret (Synapse admin
//! API, "Shared-Secret Registration"), puts them in one agents' room with the agent online, and
//! measures from each customer's message to the invitation to that customer's room appearing in
//! the agent's `/sync` (the room's name carries the session id). Server, agent client and load
//! generator share one runtime; the homeserver runs in its own process.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use baton_dialog::Engine;
use baton_server::Config;
use baton_server::config::DeskSpec;

use super::desk::{Arrivals, Measured, TransfersOnly, measure};
use super::transfer::TransferArgs;

/// Where the Matrix desk's bench finds its homeserver.
#[derive(Debug, clap::Args)]
pub struct MatrixBenchArgs {
    /// With `--desk matrix`: the homeserver's base URL (a local Synapse).
    #[arg(long)]
    pub homeserver: Option<String>,
    /// With `--desk matrix`: a file holding the homeserver's `registration_shared_secret`, to
    /// register the bench's bot and agent.
    #[arg(long)]
    pub registration_secret_file: Option<PathBuf>,
}

const PASSWORD: &str = "baton-bench-password";

pub async fn bench_matrix(args: TransferArgs, engine: Engine, cores: usize) -> anyhow::Result<i32> {
    let (Some(homeserver), Some(secret_file)) = (&args.matrix.homeserver, &args.matrix.registration_secret_file) else {
        bail!("--desk matrix needs --homeserver URL and --registration-secret-file FILE (a Synapse you run)");
    };
    let homeserver = homeserver.trim_end_matches('/').to_owned();
    let secret = std::fs::read_to_string(secret_file)
        .with_context(|| format!("reading {}", secret_file.display()))?
        .trim_end()
        .to_owned();
    let http = reqwest::Client::new();
    let run = format!("{:x}", std::process::id() ^ chrono::Utc::now().timestamp_subsec_nanos());
    let bot = register(&http, &homeserver, &secret, &format!("bench_bot_{run}")).await?;
    let agent = register(&http, &homeserver, &secret, &format!("bench_agent_{run}")).await?;
    let token = login(&http, &homeserver, &agent).await?;
    let client = Client {
        http: http.clone(),
        base: format!("{homeserver}/_matrix/client/v3"),
        token,
    };
    let agents_room = client
        .call(
            reqwest::Method::POST,
            "/createRoom",
            json!({"preset": "private_chat", "name": "Bench agents", "invite": [bot]}),
        )
        .await?["room_id"]
        .as_str()
        .context("createRoom answered without room_id")?
        .to_owned();
    client
        .call(
            reqwest::Method::PUT,
            &format!("/presence/{}/status", baton_connectors::matrix::segment(&agent)),
            json!({"presence": "online"}),
        )
        .await?;

    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let password_file = dir.path().join("bot-password");
    std::fs::write(&password_file, PASSWORD).context("writing the bot's password")?;
    let table: toml::Table = toml::from_str(&format!(
        "homeserver = {homeserver:?}\nuser = {bot:?}\npassword_file = {:?}\njoin_timeout_secs = 600\n\
         [default]\nagents_room = {agents_room:?}\n",
        password_file.display().to_string()
    ))
    .context("the Matrix desk's settings")?;
    let mut config = Config::for_tests();
    config.database_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    config.desks.insert("bench".to_owned(), DeskSpec::Matrix(table));
    config.routes.insert("*".to_owned(), vec!["bench".to_owned()]);

    // The agent's client: long-polls /sync and notes when each customer's invitation arrives.
    let arrivals: Arrivals = Arc::default();
    let watcher = tokio::spawn(watch_invites(client, arrivals.clone()));
    let notes = format!(
        "server, agent client and load generator share one multi-threaded tokio runtime ({cores} worker threads on {cores} cores); \
         the homeserver ({homeserver}) runs in its own process on the same machine; {} customers, one transfer each at {} per second, \
         one agent online in the queue's agents room; {} other sessions having ordinary turns meanwhile; \
         SQLite in a temporary folder, development mode, rate limits off",
        args.customers, args.rate, args.others
    );
    let measured = Measured {
        desk: "matrix",
        arrival: "invitation in the agent's client",
        notes,
        extra: json!({"homeserver": homeserver}),
    };
    let code = measure(&args, config, engine, arrivals, measured, &TransfersOnly, cores).await;
    watcher.abort();
    code
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("calling {path}"))?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{path} answered {status}: {answer}");
        }
        Ok(answer)
    }
}

async fn register(http: &reqwest::Client, homeserver: &str, secret: &str, name: &str) -> anyhow::Result<String> {
    baton_connectors::matrix::admin::register(http, homeserver, secret, (name, PASSWORD, None))
        .await
        .map_err(anyhow::Error::msg)
}

async fn login(http: &reqwest::Client, homeserver: &str, user: &str) -> anyhow::Result<String> {
    let body = json!({"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
                      "password": PASSWORD});
    let answer: Value = http
        .post(format!("{homeserver}/_matrix/client/v3/login"))
        .json(&body)
        .send()
        .await
        .context("logging the agent in")?
        .json()
        .await
        .context("reading the login")?;
    answer["access_token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("the agent's login answered {answer}"))
}

/// Follows the agent's `/sync`; each invitation's room name is "Customer {session} — {queue}".
async fn watch_invites(client: Client, arrivals: Arrivals) {
    let mut since: Option<String> = None;
    loop {
        let mut query = vec![("timeout", "1000".to_owned()), ("set_presence", "offline".to_owned())];
        if let Some(since) = &since {
            query.push(("since", since.clone()));
        }
        let answer = client
            .http
            .get(format!("{}/sync", client.base))
            .bearer_auth(&client.token)
            .query(&query)
            .timeout(Duration::from_secs(30))
            .send()
            .await;
        let Ok(answer) = answer else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let Ok(answer) = answer.json::<Value>().await else {
            continue;
        };
        let seen = Instant::now();
        since = answer["next_batch"].as_str().map(str::to_owned).or(since);
        let invites = answer["rooms"]["invite"].as_object().into_iter().flatten();
        for (_, invite) in invites {
            let events = invite["invite_state"]["events"].as_array().into_iter().flatten();
            let session = events
                .filter(|event| event["type"] == "m.room.name")
                .filter_map(|event| event["content"]["name"].as_str())
                .find_map(|name| name.strip_prefix("Customer "))
                .map(|rest| rest.split(" — ").next().unwrap_or(rest).to_owned());
            if let (Some(session), Ok(mut arrivals)) = (session, arrivals.lock()) {
                arrivals.entry(session).or_insert(seen);
            }
        }
    }
}
