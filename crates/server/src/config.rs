//! [`Config`]: every setting of `baton serve`, from defaults, a TOML file, `BATON_*` environment
//! variables and flags, in that order (later wins).
//!
//! The file and the environment are applied here; flags are applied by the CLI on the result.
//! Tests build a `Config` in code and never touch the process environment.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use baton_desk::own::{AgentConfig, DeskSettings, OwnDeskConfig, QueueConfig};
use baton_desk::{AgentId, QueueName};

/// The server's settings. In a TOML file every key is optional; unknown keys are an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where to listen (`BATON_LISTEN`, `--listen`).
    pub listen: String,
    /// `sqlite://PATH` (default `sqlite://baton.db`) or `memory:` (`BATON_DATABASE_URL`, `--database`).
    pub database_url: String,
    /// Development mode: the API needs no key (`BATON_DEV`, `--dev`).
    pub dev: bool,
    /// Whether `baton serve` reloads an assistant when its folder changes (`BATON_WATCH`,
    /// `--watch`); unset, it does in development mode. SIGHUP reloads them all either way.
    pub watch: Option<bool>,
    /// A session with no message for this long expires (`BATON_SESSION_TIMEOUT_SECS`).
    pub session_timeout_secs: u64,
    /// Largest request body accepted (`BATON_MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
    /// Longest `input.text` accepted, in characters, as IBM (`BATON_MAX_TEXT_CHARS`).
    pub max_text_chars: usize,
    /// Origins allowed to call the API from a browser (`BATON_CORS_ORIGINS`, comma-separated).
    pub cors_origins: Vec<String>,
    /// Per-client token bucket; a client is an API key, or the IP address without one.
    pub rate_limit: RateLimit,
    /// Whether the simulated desk reports agents online: picks the transfer response written to
    /// the transcript (`BATON_AGENTS_ONLINE`). Both are always in `connect_to_agent`.
    pub agents_online: bool,
    /// How long shutdown waits for in-flight turns (`BATON_SHUTDOWN_GRACE_SECS`).
    pub shutdown_grace_secs: u64,
    /// Baton's own service desk: timeouts, queues with business hours and offline policies,
    /// agents (more agents come from the store, `baton agents add`).
    pub desk: DeskConfig,
    /// Agent logins allowed per client address and per username (token bucket).
    pub login_rate_limit: RateLimit,
    /// Service desks besides Baton's own (`[desks.NAME]`, see [`DeskSpec`]).
    pub desks: BTreeMap<String, DeskSpec>,
    /// Per queue, the desks that serve it in failover order (`[routes]`; `"*"` for every queue
    /// not listed; `own` is Baton's own desk). Without routes every transfer goes to `own`.
    pub routes: BTreeMap<String, Vec<String>>,
    /// The address customers and desks reach this server at (`BATON_PUBLIC_URL`), for the
    /// links Baton gives desks (the conversation's history page). Default: `http://` and the
    /// listen address.
    pub public_url: Option<String>,
    /// Hours a history link given to a desk stays valid.
    pub history_link_hours: u64,
    /// The phone channel (`[voice]`, `docs/voice.md`).
    pub voice: VoiceConfig,
}

/// `[voice]`: the carrier webhook `POST /v1/voice/{assistant_id}`. The channel is on when the
/// carrier's auth token is given, as `auth_token_env` (an environment variable's name) or
/// `auth_token_file` (a file holding it), never in this file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VoiceConfig {
    /// The environment variable holding the account's auth token, which signs the carrier's
    /// requests (`X-Twilio-Signature`).
    pub auth_token_env: Option<String>,
    /// A file holding the auth token.
    pub auth_token_file: Option<std::path::PathBuf>,
    /// The address the carrier calls Baton at, when it differs from `public_url` (a reverse
    /// proxy in front, `BATON_VOICE_PUBLIC_URL`): signatures are checked against it and the
    /// TwiML's callback URLs start with it.
    pub public_url: Option<String>,
}

/// One `[desks.NAME]` table. Secrets never sit in the file: a secret key `K` is given as
/// `K_env` (an environment variable's name) or `K_file` (a file holding it).
///
/// ```toml
/// [desks.helpdesk]
/// kind = "webhook"
/// url = "https://desk.example.com/baton"
/// secret_env = "BATON_HELPDESK_SECRET"
/// join_timeout_secs = 120            # no agent by then: the next desk of the route
/// [desks.helpdesk.retry]
/// timeout_secs = 5
/// attempts = 3
///
/// [routes]
/// billing = ["helpdesk", "own"]
/// "*" = ["own"]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DeskSpec {
    /// Baton's own desk (configured in `[desk]`); only one, always named `own` in routes.
    Own {},
    Webhook(WebhookSpec),
    /// `kind = "matrix"`: the keys of `baton_connectors::matrix::MatrixConfig`
    /// (`docs/desks/matrix.md`), checked when the desks are built.
    Matrix(toml::Table),
    Chatwoot(ChatwootSpec),
    Zendesk(ZendeskSpec),
    TwilioFlex(TwilioFlexSpec),
    Salesforce(SalesforceSpec),
    Genesys(GenesysSpec),
}

/// `kind = "genesys"`: Genesys Cloud through an Open Messaging integration
/// (`docs/desks/genesys.md`). The client secret and the webhook secret come from `*_env` or
/// `*_file`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesysSpec {
    /// The org's region domain, `mypurecloud.com`, `mypurecloud.de`, `euw2.pure.cloud`, …: the
    /// API is `https://api.{region}`, the login `https://login.{region}`.
    pub region: String,
    pub client_id: String,
    #[serde(default)]
    pub client_secret_env: Option<String>,
    #[serde(default)]
    pub client_secret_file: Option<std::path::PathBuf>,
    pub integration_id: String,
    /// The integration's outbound notification webhook signature secret.
    #[serde(default)]
    pub webhook_secret_env: Option<String>,
    #[serde(default)]
    pub webhook_secret_file: Option<std::path::PathBuf>,
    /// The Genesys queue id of each Baton queue (`"*"` for the default): agents joining and
    /// leaving are read from these queues' notifications, availability from their observations.
    #[serde(default)]
    pub queues: std::collections::BTreeMap<String, String>,
    /// The API and login bases; only a test or a benchmark sets them.
    #[serde(default)]
    pub api_url: Option<String>,
    #[serde(default)]
    pub login_url: Option<String>,
    #[serde(default)]
    pub join_timeout_secs: Option<u64>,
    #[serde(default)]
    pub retry: baton_connectors::guard::Policy,
}

/// `kind = "salesforce"`: Salesforce Enhanced Chat, through its guest API and event stream
/// (`docs/desks/salesforce.md`). It needs no secret: each chat gets its own guest token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SalesforceSpec {
    /// The deployment's Salesforce Messaging URL, `https://{domain}.my.salesforce-scrt.com`.
    pub url: String,
    /// The org's id (`00D…`).
    pub org_id: String,
    /// The Embedded Service deployment's API name.
    pub deployment: String,
    /// The hidden pre-chat fields the brief goes into (`summary`, `transcript_url`, `session`,
    /// `queue`); defaults `Baton_Summary`, `Baton_Transcript_URL`, `Baton_Session`, `Baton_Queue`.
    #[serde(default)]
    pub fields: baton_connectors::salesforce::PreChatFields,
    /// Post the assistant's transcript as the conversation's first message (default true).
    #[serde(default)]
    pub post_transcript: Option<bool>,
    #[serde(default)]
    pub join_timeout_secs: Option<u64>,
    #[serde(default)]
    pub retry: baton_connectors::guard::Policy,
}

/// `kind = "twilio_flex"`: Twilio Flex through Conversations and the Interactions API
/// (`docs/desks/twilio-flex.md`). The auth token comes from `auth_token_env` or `auth_token_file`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioFlexSpec {
    pub account_sid: String,
    #[serde(default)]
    pub auth_token_env: Option<String>,
    #[serde(default)]
    pub auth_token_file: Option<std::path::PathBuf>,
    /// The Flex Conversations service (`IS…`).
    pub conversations_service_sid: String,
    pub workspace_sid: String,
    pub workflow_sid: String,
    /// Default `chat`.
    #[serde(default)]
    pub task_channel: Option<String>,
    /// The URL configured as the service's post-event webhook; default
    /// `{public_url}/v1/desks/NAME/webhook`.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// Each queue's TaskRouter task queue (`WQ…`), for availability.
    #[serde(default)]
    pub task_queues: std::collections::BTreeMap<String, String>,
    /// The API hosts; only a test or a benchmark changes them.
    #[serde(default)]
    pub api_url: Option<String>,
    #[serde(default)]
    pub join_timeout_secs: Option<u64>,
    #[serde(default)]
    pub retry: baton_connectors::guard::Policy,
}

/// `kind = "zendesk"`: Zendesk messaging through Sunshine Conversations (`docs/desks/zendesk.md`).
/// Its key secret, webhook secret and Support token come from `*_env` or `*_file`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZendeskSpec {
    /// `https://{subdomain}.zendesk.com` (Sunshine Conversations is under `/sc`).
    pub url: String,
    pub app_id: String,
    /// An app-scoped API key (Admin Center → Apps and integrations → Conversations API).
    pub key_id: String,
    #[serde(default)]
    pub key_secret_env: Option<String>,
    #[serde(default)]
    pub key_secret_file: Option<std::path::PathBuf>,
    /// The conversations integration's shared secret (sent back as `X-API-Key`).
    #[serde(default)]
    pub webhook_secret_env: Option<String>,
    #[serde(default)]
    pub webhook_secret_file: Option<std::path::PathBuf>,
    /// The switchboard integration agents work in; default `zd-agentWorkspace`.
    #[serde(default)]
    pub switchboard_integration: Option<String>,
    /// A ticket field's id that receives the brief's summary.
    #[serde(default)]
    pub summary_field: Option<u64>,
    /// For availability (the Agent Availability API): an agent's email and an API token.
    #[serde(default)]
    pub support_email: Option<String>,
    #[serde(default)]
    pub support_token_env: Option<String>,
    #[serde(default)]
    pub support_token_file: Option<std::path::PathBuf>,
    #[serde(default)]
    pub join_timeout_secs: Option<u64>,
    #[serde(default)]
    pub retry: baton_connectors::guard::Policy,
}

/// `kind = "chatwoot"`: an API-channel inbox of a Chatwoot account (`docs/desks/chatwoot.md`).
/// Its tokens and webhook secret come from `*_env` or `*_file`, never from this file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatwootSpec {
    /// The installation's address, `https://chatwoot.example.com`.
    pub url: String,
    pub account_id: u64,
    /// The API inbox's numeric id, and its identifier (Settings → Inboxes → the inbox).
    pub inbox_id: u64,
    pub inbox_identifier: String,
    /// An Agent Bot's access token; the bot is connected to the inbox.
    #[serde(default)]
    pub api_access_token_env: Option<String>,
    #[serde(default)]
    pub api_access_token_file: Option<std::path::PathBuf>,
    /// The inbox's webhook secret (Chatwoot signs its webhook deliveries with it).
    #[serde(default)]
    pub webhook_secret_env: Option<String>,
    #[serde(default)]
    pub webhook_secret_file: Option<std::path::PathBuf>,
    /// An administrator's access token, to read whether the inbox's agents are online (optional).
    #[serde(default)]
    pub agents_token_env: Option<String>,
    #[serde(default)]
    pub agents_token_file: Option<std::path::PathBuf>,
    /// The team each queue is assigned to: `teams.billing = 4`.
    #[serde(default)]
    pub teams: std::collections::BTreeMap<String, u64>,
    /// Seconds to wait for an agent to take the conversation before the transfer goes to the next
    /// desk.
    #[serde(default)]
    pub join_timeout_secs: Option<u64>,
    #[serde(default)]
    pub retry: baton_connectors::guard::Policy,
}

/// `kind = "webhook"`: the webhook desk protocol (`docs/desks/webhook.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    pub url: String,
    #[serde(default)]
    pub secret_env: Option<String>,
    #[serde(default)]
    pub secret_file: Option<std::path::PathBuf>,
    /// Seconds to wait for an agent to join before the transfer goes to the next desk.
    #[serde(default)]
    pub join_timeout_secs: Option<u64>,
    #[serde(default)]
    pub retry: baton_connectors::guard::Policy,
}

/// The `[desk]` section: `[desk.settings]`, `[[desk.queues]]`, `[[desk.agents]]`.
///
/// ```toml
/// [desk.settings]
/// accept_timeout = 30          # seconds an offered agent has to accept (BATON_DESK_ACCEPT_TIMEOUT_SECS)
/// join_timeout = 900           # seconds a customer waits for an agent (BATON_DESK_JOIN_TIMEOUT_SECS)
/// default_queue = "default"    # BATON_DESK_DEFAULT_QUEUE
///
/// [[desk.queues]]
/// name = "billing"
/// offline_policy = "leave_message"   # wait_in_queue (default) | leave_message | back_to_assistant
/// hours = { time_zone = "Europe/Berlin", weekly = [{ days = ["Mon", "Tue"], open = "09:00", close = "17:30" }] }
///
/// [[desk.agents]]
/// id = "ann"
/// name = "Ann Smith"
/// queues = ["billing"]
/// capacity = 3
/// password_hash = "$argon2id$…"      # an argon2 PHC string; without one the agent cannot log in
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeskConfig {
    pub settings: DeskSettings,
    pub queues: Vec<QueueConfig>,
    pub agents: Vec<ConfiguredAgent>,
}

/// An agent listed in the configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfiguredAgent {
    pub id: AgentId,
    pub name: String,
    /// The queues the agent serves; none = every queue.
    #[serde(default)]
    pub queues: Vec<QueueName>,
    #[serde(default = "default_capacity")]
    pub capacity: u32,
    /// An argon2 PHC string (`baton_store::password::hash`).
    #[serde(default)]
    pub password_hash: Option<String>,
}

fn default_capacity() -> u32 {
    3
}

impl ConfiguredAgent {
    pub fn desk_agent(&self) -> AgentConfig {
        AgentConfig {
            id: self.id.clone(),
            name: self.name.clone(),
            queues: self.queues.clone(),
            capacity: self.capacity,
        }
    }
}

impl DeskConfig {
    /// What Baton's own desk starts with.
    pub fn own_desk(&self) -> OwnDeskConfig {
        OwnDeskConfig {
            settings: self.settings.clone(),
            agents: self.agents.iter().map(ConfiguredAgent::desk_agent).collect(),
            queues: self.queues.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimit {
    /// Sustained requests per second per client; 0 turns the limit off
    /// (`BATON_RATE_LIMIT_PER_SECOND`).
    pub per_second: f64,
    /// Requests a client may send at once above the sustained rate (`BATON_RATE_LIMIT_BURST`).
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> RateLimit {
        RateLimit {
            per_second: 50.0,
            burst: 100,
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: "127.0.0.1:8080".to_owned(),
            database_url: "sqlite://baton.db".to_owned(),
            dev: false,
            watch: None,
            session_timeout_secs: 300,
            max_body_bytes: 64 * 1024,
            max_text_chars: 2048,
            cors_origins: Vec::new(),
            rate_limit: RateLimit::default(),
            agents_online: true,
            shutdown_grace_secs: 10,
            desk: DeskConfig::default(),
            login_rate_limit: RateLimit {
                per_second: 0.1,
                burst: 5,
            },
            desks: BTreeMap::new(),
            routes: BTreeMap::new(),
            public_url: None,
            history_link_hours: 24,
            voice: VoiceConfig::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config file {path}: {source}")]
    Parse { path: String, source: Box<toml::de::Error> },
    #[error("environment variable {name}: {message}")]
    Env { name: String, message: String },
}

impl Config {
    /// Defaults, then the file (if any), then the `BATON_*` variables among `env`.
    pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Config, ConfigError> {
        let mut config = match file {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        config.apply_env(env)?;
        Ok(config)
    }

    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: display.clone(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: display,
            source: Box::new(source),
        })
    }

    /// Applies the `BATON_*` variables in `env`; others are ignored.
    pub fn apply_env(&mut self, env: impl IntoIterator<Item = (String, String)>) -> Result<(), ConfigError> {
        for (name, value) in env {
            let invalid = |message: &str| ConfigError::Env {
                name: name.clone(),
                message: message.to_owned(),
            };
            match name.as_str() {
                "BATON_LISTEN" => self.listen = value,
                "BATON_PUBLIC_URL" => self.public_url = Some(value.trim_end_matches('/').to_owned()),
                "BATON_VOICE_PUBLIC_URL" => self.voice.public_url = Some(value.trim_end_matches('/').to_owned()),
                "BATON_DATABASE_URL" => self.database_url = value,
                "BATON_DEV" => self.dev = parse_bool(&value).ok_or_else(|| invalid("expected true or false"))?,
                "BATON_WATCH" => {
                    self.watch = Some(parse_bool(&value).ok_or_else(|| invalid("expected true or false"))?)
                }
                "BATON_SESSION_TIMEOUT_SECS" => {
                    self.session_timeout_secs = value.parse().map_err(|_| invalid("expected whole seconds"))?
                }
                "BATON_MAX_BODY_BYTES" => self.max_body_bytes = value.parse().map_err(|_| invalid("expected bytes"))?,
                "BATON_MAX_TEXT_CHARS" => {
                    self.max_text_chars = value.parse().map_err(|_| invalid("expected a character count"))?
                }
                "BATON_CORS_ORIGINS" => {
                    self.cors_origins = value
                        .split(',')
                        .map(str::trim)
                        .filter(|origin| !origin.is_empty())
                        .map(str::to_owned)
                        .collect()
                }
                "BATON_RATE_LIMIT_PER_SECOND" => {
                    self.rate_limit.per_second = value.parse().map_err(|_| invalid("expected a number"))?
                }
                "BATON_RATE_LIMIT_BURST" => {
                    self.rate_limit.burst = value.parse().map_err(|_| invalid("expected a whole number"))?
                }
                "BATON_AGENTS_ONLINE" => {
                    self.agents_online = parse_bool(&value).ok_or_else(|| invalid("expected true or false"))?
                }
                "BATON_SHUTDOWN_GRACE_SECS" => {
                    self.shutdown_grace_secs = value.parse().map_err(|_| invalid("expected whole seconds"))?
                }
                "BATON_DESK_ACCEPT_TIMEOUT_SECS" => {
                    let secs = value.parse().map_err(|_| invalid("expected whole seconds"))?;
                    self.desk.settings.accept_timeout = Duration::from_secs(secs);
                }
                "BATON_DESK_JOIN_TIMEOUT_SECS" => {
                    let secs = value.parse().map_err(|_| invalid("expected whole seconds"))?;
                    self.desk.settings.join_timeout = Duration::from_secs(secs);
                }
                "BATON_DESK_DEFAULT_QUEUE" => {
                    self.desk.settings.default_queue =
                        QueueName::parse(value.trim()).map_err(|error| invalid(&error.to_string()))?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Whether assistant folders are watched for changes: as set, else in development mode.
    pub fn watches(&self) -> bool {
        self.watch.unwrap_or(self.dev)
    }

    /// A configuration for tests: development mode, in-memory store, no rate limit.
    pub fn for_tests() -> Config {
        Config {
            listen: "127.0.0.1:0".to_owned(),
            database_url: "memory:".to_owned(),
            dev: true,
            rate_limit: RateLimit {
                per_second: 0.0,
                burst: 0,
            },
            ..Config::default()
        }
    }

    pub fn session_timeout(&self) -> Duration {
        Duration::from_secs(self.session_timeout_secs)
    }
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("baton.toml");
        std::fs::write(
            &path,
            "listen = \"0.0.0.0:9000\"\ndev = true\n[rate_limit]\nburst = 5\n",
        )
        .unwrap();
        let env = [
            ("BATON_DEV".to_owned(), "false".to_owned()),
            ("HOME".to_owned(), "/root".to_owned()),
        ];
        let config = Config::load(Some(&path), env).unwrap();
        assert_eq!(config.listen, "0.0.0.0:9000");
        assert!(!config.dev);
        assert_eq!(config.rate_limit.burst, 5);
        assert_eq!(config.session_timeout_secs, 300);
    }

    #[test]
    fn watching_follows_development_mode_unless_set() {
        let mut config = Config::default();
        assert!(!config.watches());
        config.dev = true;
        assert!(config.watches());
        config
            .apply_env([("BATON_WATCH".to_owned(), "false".to_owned())])
            .unwrap();
        assert!(!config.watches());
        let from_file: Config = toml::from_str("watch = true").unwrap();
        assert!(from_file.watches() && !from_file.dev);
        assert!(
            config
                .apply_env([("BATON_WATCH".to_owned(), "sometimes".to_owned())])
                .is_err()
        );
    }

    #[test]
    fn desk_section() {
        let text = r#"
[desk.settings]
accept_timeout = 10
default_queue = "general"

[[desk.queues]]
name = "billing"
offline_policy = "leave_message"
hours = { time_zone = "Europe/Berlin", weekly = [{ days = ["Mon", "Fri"], open = "09:00", close = "17:30" }] }

[[desk.agents]]
id = "ann"
name = "Ann Smith"
queues = ["billing"]
"#;
        let mut config: Config = toml::from_str(text).unwrap();
        config
            .apply_env([("BATON_DESK_JOIN_TIMEOUT_SECS".to_owned(), "60".to_owned())])
            .unwrap();
        let desk = config.desk.own_desk();
        assert_eq!(desk.settings.accept_timeout, Duration::from_secs(10));
        assert_eq!(desk.settings.join_timeout, Duration::from_secs(60));
        assert_eq!(desk.settings.default_queue.as_str(), "general");
        assert_eq!(desk.queues[0].offline_policy, baton_desk::OfflinePolicy::LeaveMessage);
        assert!(desk.queues[0].hours.is_some());
        assert_eq!(desk.agents[0].capacity, 3);
        assert!(toml::from_str::<Config>("[desk.queues]\nname = 1").is_err());
    }

    #[test]
    fn unknown_keys_are_errors() {
        let error = toml::from_str::<Config>("lisen = \"x\"").unwrap_err();
        assert!(error.to_string().contains("unknown field `lisen`"), "{error}");
    }

    #[test]
    fn bad_environment_values_are_named() {
        let error = Config::default()
            .apply_env([("BATON_DEV".to_owned(), "maybe".to_owned())])
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "environment variable BATON_DEV: expected true or false"
        );
    }
}
