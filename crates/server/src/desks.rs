//! The desks a configuration names, checked and built: secrets read from the environment or
//! files, connectors made, routes resolved. `baton check-config` runs the same checks.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use baton_connectors::chatwoot::{ChatwootConfig, ChatwootDesk};
use baton_connectors::connecting::Connecting;
use baton_connectors::genesys::{GenesysConfig, GenesysDesk};
use baton_connectors::matrix::{MatrixConfig, MatrixDesk};
use baton_connectors::salesforce::{SalesforceConfig, SalesforceDesk};
use baton_connectors::twilio::{TwilioConfig, TwilioDesk};
use baton_connectors::webhook::{WebhookConfig, WebhookDesk};
use baton_connectors::zendesk::{SupportApi, ZendeskConfig, ZendeskDesk};
use baton_desk::{QueueName, ServiceDesk};

use crate::config::{
    ChatwootSpec, Config, DeskSpec, GenesysSpec, SalesforceSpec, TwilioFlexSpec, WebhookSpec, ZendeskSpec,
};

/// Baton's own desk's name in routes.
pub const OWN: &str = "own";

/// A configured desk other than Baton's own.
pub struct NamedDesk {
    pub name: String,
    pub service: Arc<dyn ServiceDesk>,
    /// No agent joined by then: the transfer goes to the next desk of its route.
    pub join_timeout: Option<Duration>,
}

/// Everything wrong with the desks and routes of a configuration, each problem located by its
/// key (`desks.helpdesk.secret_env: …`).
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct DeskConfigError(pub Vec<String>);

/// Reads a secret given as `{key}_env` or `{key}_file`.
pub(crate) fn secret(
    at: &str,
    key: &str,
    (from_env, from_file): (&Option<String>, &Option<std::path::PathBuf>),
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<String, String> {
    let value = match (from_env.as_deref(), from_file.as_deref()) {
        (Some(_), Some(_)) => return Err(format!("{at}: give {key}_env or {key}_file, not both")),
        (None, None) => {
            return Err(format!(
                "{at}: {key} is missing: give {key}_env (an environment variable's name) or {key}_file (a file holding it)"
            ));
        }
        (Some(name), None) => {
            env(name).ok_or_else(|| format!("{at}.{key}_env: environment variable {name} is not set"))?
        }
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|error| format!("{at}.{key}_file: reading {}: {error}", path.display()))?,
    };
    let value = value.trim_end_matches(['\r', '\n']).to_owned();
    if value.is_empty() {
        return Err(format!("{at}: {key} is empty"));
    }
    Ok(value)
}

fn webhook(name: &str, spec: &WebhookSpec, env: &(dyn Fn(&str) -> Option<String> + Sync)) -> Result<NamedDesk, String> {
    let at = format!("desks.{name}");
    let secret = secret(&at, "secret", (&spec.secret_env, &spec.secret_file), env)?;
    let config = WebhookConfig {
        url: spec.url.clone(),
        secret,
        retry: spec.retry.clone(),
    };
    named(name, WebhookDesk::new(name, config), spec.join_timeout_secs)
}

fn chatwoot(
    name: &str,
    spec: &ChatwootSpec,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<NamedDesk, String> {
    let at = format!("desks.{name}");
    let token = secret(
        &at,
        "api_access_token",
        (&spec.api_access_token_env, &spec.api_access_token_file),
        env,
    )?;
    let webhook_secret = secret(
        &at,
        "webhook_secret",
        (&spec.webhook_secret_env, &spec.webhook_secret_file),
        env,
    )?;
    let agents_token = match (&spec.agents_token_env, &spec.agents_token_file) {
        (None, None) => None,
        (from_env, from_file) => Some(secret(&at, "agents_token", (from_env, from_file), env)?),
    };
    for queue in spec.teams.keys() {
        if QueueName::parse(queue).is_err() {
            return Err(format!("{at}.teams.{queue}: not a queue name"));
        }
    }
    let config = ChatwootConfig {
        url: spec.url.clone(),
        account_id: spec.account_id,
        inbox_id: spec.inbox_id,
        inbox_identifier: spec.inbox_identifier.clone(),
        api_access_token: token,
        webhook_secret,
        agents_token,
        teams: spec.teams.clone(),
        retry: spec.retry.clone(),
    };
    named(name, ChatwootDesk::new(name, config), spec.join_timeout_secs)
}

fn zendesk(name: &str, spec: &ZendeskSpec, env: &(dyn Fn(&str) -> Option<String> + Sync)) -> Result<NamedDesk, String> {
    let at = format!("desks.{name}");
    let key_secret = secret(&at, "key_secret", (&spec.key_secret_env, &spec.key_secret_file), env)?;
    let webhook_secret = secret(
        &at,
        "webhook_secret",
        (&spec.webhook_secret_env, &spec.webhook_secret_file),
        env,
    )?;
    let support = match (&spec.support_email, &spec.support_token_env, &spec.support_token_file) {
        (None, None, None) => None,
        (None, _, _) => return Err(format!("{at}.support_email: give it with the support token")),
        (Some(email), from_env, from_file) => Some(SupportApi {
            url: spec.url.clone(),
            email: email.clone(),
            token: secret(&at, "support_token", (from_env, from_file), env)?,
        }),
    };
    let config = ZendeskConfig {
        url: format!("{}/sc", spec.url.trim_end_matches('/')),
        app_id: spec.app_id.clone(),
        key_id: spec.key_id.clone(),
        key_secret,
        webhook_secret,
        switchboard_integration: spec
            .switchboard_integration
            .clone()
            .unwrap_or_else(|| baton_connectors::zendesk::AGENT_WORKSPACE.to_owned()),
        summary_field: spec.summary_field,
        support,
        retry: spec.retry.clone(),
    };
    named(name, ZendeskDesk::new(name, config), spec.join_timeout_secs)
}

fn genesys(name: &str, spec: &GenesysSpec, env: &(dyn Fn(&str) -> Option<String> + Sync)) -> Result<NamedDesk, String> {
    let at = format!("desks.{name}");
    let client_secret = secret(
        &at,
        "client_secret",
        (&spec.client_secret_env, &spec.client_secret_file),
        env,
    )?;
    let webhook_secret = secret(
        &at,
        "webhook_secret",
        (&spec.webhook_secret_env, &spec.webhook_secret_file),
        env,
    )?;
    let region = spec.region.trim().trim_matches('/');
    if region.is_empty()
        || !region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(format!(
            "{at}.region: a domain such as \"mypurecloud.com\", not {region:?}"
        ));
    }
    for queue in spec.queues.keys() {
        if queue != "*" && QueueName::parse(queue).is_err() {
            return Err(format!("{at}.queues.{queue}: not a queue name"));
        }
    }
    let config = GenesysConfig {
        api_url: spec.api_url.clone().unwrap_or_else(|| format!("https://api.{region}")),
        login_url: spec
            .login_url
            .clone()
            .unwrap_or_else(|| format!("https://login.{region}")),
        client_id: spec.client_id.clone(),
        client_secret,
        integration_id: spec.integration_id.clone(),
        webhook_secret,
        queues: spec.queues.clone(),
        retry: spec.retry.clone(),
    };
    named(name, GenesysDesk::new(name, config), spec.join_timeout_secs)
}

fn salesforce(name: &str, spec: &SalesforceSpec) -> Result<NamedDesk, String> {
    let config = SalesforceConfig {
        url: spec.url.clone(),
        org_id: spec.org_id.clone(),
        deployment: spec.deployment.clone(),
        fields: spec.fields.clone(),
        post_transcript: spec.post_transcript.unwrap_or(true),
        retry: spec.retry.clone(),
    };
    named(name, SalesforceDesk::new(name, config), spec.join_timeout_secs)
}

fn twilio_flex(
    name: &str,
    spec: &TwilioFlexSpec,
    public_url: Option<&str>,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<NamedDesk, String> {
    use baton_connectors::twilio;
    let at = format!("desks.{name}");
    let auth_token = secret(&at, "auth_token", (&spec.auth_token_env, &spec.auth_token_file), env)?;
    for queue in spec.task_queues.keys() {
        if QueueName::parse(queue).is_err() {
            return Err(format!("{at}.task_queues.{queue}: not a queue name"));
        }
    }
    let host = |default: &str| spec.api_url.clone().unwrap_or_else(|| default.to_owned());
    let config = TwilioConfig {
        account_sid: spec.account_sid.clone(),
        auth_token,
        conversations_service_sid: spec.conversations_service_sid.clone(),
        workspace_sid: spec.workspace_sid.clone(),
        workflow_sid: spec.workflow_sid.clone(),
        task_channel: spec.task_channel.clone().unwrap_or_else(|| "chat".to_owned()),
        // Twilio signs the URL it calls, so the desk must know it exactly.
        webhook_url: match (&spec.webhook_url, public_url) {
            (Some(url), _) => url.clone(),
            (None, Some(public)) => format!("{}/v1/desks/{name}/webhook", public.trim_end_matches('/')),
            (None, None) => {
                return Err(format!(
                    "{at}.webhook_url: give the URL configured on the Conversations service's webhook, or set public_url"
                ));
            }
        },
        task_queues: spec.task_queues.clone(),
        conversations_url: host(twilio::CONVERSATIONS_URL),
        flex_url: host(twilio::FLEX_URL),
        taskrouter_url: host(twilio::TASKROUTER_URL),
        retry: spec.retry.clone(),
    };
    named(name, TwilioDesk::new(name, config), spec.join_timeout_secs)
}

/// A built desk under its name, with its join timeout; a desk's refusal is located at its key.
fn named<D: ServiceDesk + 'static>(
    name: &str,
    desk: Result<D, baton_desk::DeskError>,
    join_timeout_secs: Option<u64>,
) -> Result<NamedDesk, String> {
    let at = format!("desks.{name}");
    let desk = desk.map_err(|error| format!("{at}: {error}"))?;
    Ok(NamedDesk {
        name: name.to_owned(),
        service: Arc::new(desk),
        join_timeout: join_timeout(&at, join_timeout_secs)?,
    })
}

fn join_timeout(at: &str, secs: Option<u64>) -> Result<Option<Duration>, String> {
    match secs {
        Some(0) => Err(format!("{at}.join_timeout_secs: must be at least 1")),
        Some(secs) => Ok(Some(Duration::from_secs(secs))),
        None => Ok(None),
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// A checked desk: built, or (Matrix) ready to log in.
pub enum Checked {
    Ready(NamedDesk),
    Matrix { name: String, config: Box<MatrixConfig> },
}

impl std::fmt::Debug for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Checked::Ready(desk) => f.debug_tuple("Ready").field(&desk.name).finish(),
            Checked::Matrix { name, .. } => f.debug_struct("Matrix").field("name", name).finish_non_exhaustive(),
        }
    }
}

/// The Matrix desk's settings from its table; a secret written in the file is refused.
fn matrix(name: &str, table: &toml::Table) -> Result<MatrixConfig, String> {
    let at = format!("desks.{name}");
    for key in ["password", "access_token"] {
        if table.contains_key(key) {
            return Err(format!(
                "{at}.{key}: secrets are not read from the configuration file; give {key}_env (an environment variable's name) or {key}_file (a file holding it)"
            ));
        }
    }
    let mut config: MatrixConfig = table
        .clone()
        .try_into()
        .map_err(|error: toml::de::Error| format!("{at}: {}", error.message()))?;
    config.resolve_secrets().map_err(|error| format!("{at}: {error}"))?;
    Ok(config)
}

/// Builds the configured desks, logging the Matrix ones in. A Matrix desk whose homeserver
/// cannot be reached now keeps trying in the background ([`Connecting`]): until it connects, its
/// routes go to their next desk; every other problem stops the server.
pub async fn build(
    config: &Config,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<Vec<NamedDesk>, DeskConfigError> {
    let mut desks = Vec::new();
    for checked in check(config, env)? {
        match checked {
            Checked::Ready(desk) => desks.push(desk),
            Checked::Matrix { name, config } => {
                // The Matrix desk ends a chat nobody joined itself; the server's timer is a
                // second line behind it.
                let join_timeout = Some(Duration::from_secs(config.join_timeout_secs.max(1)) + Duration::from_secs(5));
                let service: Arc<dyn ServiceDesk> = match MatrixDesk::connect((*config).clone()).await {
                    Ok(desk) => Arc::new(desk),
                    Err(error) => {
                        tracing::error!(desk = %name, %error, "the Matrix desk could not log in; its routes skip it until it does");
                        Arc::new(Connecting::spawn(&name, MatrixDesk::CAPABILITIES, move || {
                            MatrixDesk::connect((*config).clone())
                        }))
                    }
                };
                desks.push(NamedDesk {
                    name,
                    service,
                    join_timeout,
                });
            }
        }
    }
    Ok(desks)
}

/// Checks the configured desks and routes without contacting any desk; every problem found,
/// not only the first.
pub fn check(config: &Config, env: &(dyn Fn(&str) -> Option<String> + Sync)) -> Result<Vec<Checked>, DeskConfigError> {
    let mut problems = Vec::new();
    let mut desks = Vec::new();
    for (name, spec) in &config.desks {
        if !valid_name(name) {
            problems.push(format!(
                "desks.{name}: a desk's name is 1 to 64 lower-case letters, digits, '-' or '_'"
            ));
            continue;
        }
        match spec {
            DeskSpec::Own {} if name == OWN => {}
            DeskSpec::Own {} => problems.push(format!(
                "desks.{name}: kind \"own\" is Baton's own desk, which is named \"{OWN}\" (configure it in [desk])"
            )),
            _ if name == OWN => problems.push(format!(
                "desks.{OWN}: the name \"{OWN}\" is Baton's own desk; give this desk another name"
            )),
            DeskSpec::Webhook(spec) => match webhook(name, spec, env) {
                Ok(desk) => desks.push(Checked::Ready(desk)),
                Err(problem) => problems.push(problem),
            },
            DeskSpec::TwilioFlex(spec) => match twilio_flex(name, spec, config.public_url.as_deref(), env) {
                Ok(desk) => desks.push(Checked::Ready(desk)),
                Err(problem) => problems.push(problem),
            },
            DeskSpec::Genesys(spec) => match genesys(name, spec, env) {
                Ok(desk) => desks.push(Checked::Ready(desk)),
                Err(problem) => problems.push(problem),
            },
            DeskSpec::Salesforce(spec) => match salesforce(name, spec) {
                Ok(desk) => desks.push(Checked::Ready(desk)),
                Err(problem) => problems.push(problem),
            },
            DeskSpec::Zendesk(spec) => match zendesk(name, spec, env) {
                Ok(desk) => desks.push(Checked::Ready(desk)),
                Err(problem) => problems.push(problem),
            },
            DeskSpec::Chatwoot(spec) => match chatwoot(name, spec, env) {
                Ok(desk) => desks.push(Checked::Ready(desk)),
                Err(problem) => problems.push(problem),
            },
            DeskSpec::Matrix(table) => match matrix(name, table) {
                Ok(config) => desks.push(Checked::Matrix {
                    name: name.clone(),
                    config: Box::new(config),
                }),
                Err(problem) => problems.push(problem),
            },
        }
    }
    for (queue, route) in &config.routes {
        let at = format!("routes.{queue:?}");
        if queue != "*" && QueueName::parse(queue).is_err() {
            problems.push(format!("{at}: not a queue name"));
        }
        if route.is_empty() {
            problems.push(format!("{at}: name at least one desk"));
        }
        for (index, desk) in route.iter().enumerate() {
            if desk != OWN && !config.desks.contains_key(desk) {
                let known: Vec<&str> = std::iter::once(OWN)
                    .chain(config.desks.keys().map(String::as_str))
                    .collect();
                problems.push(format!(
                    "{at}[{index}]: no desk named {desk:?} (configured: {})",
                    known.join(", ")
                ));
            }
            if route[..index].contains(desk) {
                problems.push(format!("{at}[{index}]: {desk:?} is already in this route"));
            }
        }
    }
    if let Some(url) = &config.public_url
        && !is_web_address(url)
    {
        problems.push(format!("public_url: {url:?} is not an http:// or https:// address"));
    }
    // The phone channel's auth token is read the same way (`baton serve` reads it in `state`).
    let voice = &config.voice;
    let voice_on = voice.auth_token_env.is_some() || voice.auth_token_file.is_some();
    if voice_on
        && let Err(problem) = secret(
            "voice",
            "auth_token",
            (&voice.auth_token_env, &voice.auth_token_file),
            env,
        )
    {
        problems.push(problem);
    }
    if let Some(url) = &voice.public_url
        && !is_web_address(url)
    {
        problems.push(format!(
            "voice.public_url: {url:?} is not an http:// or https:// address"
        ));
    }
    if problems.is_empty() {
        Ok(desks)
    } else {
        Err(DeskConfigError(problems))
    }
}

/// An absolute `http://` or `https://` address with a host.
fn is_web_address(url: &str) -> bool {
    url.parse::<axum::http::Uri>().is_ok_and(|uri| {
        matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some_and(|host| !host.is_empty())
    })
}

/// The route of `queue`: its own, else `"*"`'s, else Baton's own desk alone.
pub fn route_of(routes: &BTreeMap<String, Vec<String>>, queue: &str) -> Vec<String> {
    routes
        .get(queue)
        .or_else(|| routes.get("*"))
        .cloned()
        .unwrap_or_else(|| vec![OWN.to_owned()])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        toml::from_str(text).unwrap()
    }

    fn env(name: &str) -> Option<String> {
        (name == "HELPDESK_SECRET").then(|| "a-secret-of-enough-length".to_owned())
    }

    #[test]
    fn a_webhook_desk_with_its_secret_in_the_environment_is_built() {
        let config = config(
            r#"
[desks.helpdesk]
kind = "webhook"
url = "http://127.0.0.1:9/baton"
secret_env = "HELPDESK_SECRET"
join_timeout_secs = 30

[routes]
billing = ["helpdesk", "own"]
"#,
        );
        let desks = check(&config, &env).unwrap();
        assert_eq!(desks.len(), 1);
        let Checked::Ready(desk) = &desks[0] else {
            panic!("a webhook desk is ready without contacting it");
        };
        assert_eq!(desk.name, "helpdesk");
        assert_eq!(desk.join_timeout, Some(Duration::from_secs(30)));
        assert!(desk.service.webhook().is_some());
        assert_eq!(route_of(&config.routes, "billing"), ["helpdesk", "own"]);
        assert_eq!(route_of(&config.routes, "sales"), ["own"]);
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let config = config(
            r#"
[desks.helpdesk]
kind = "webhook"
url = "ftp://example.com"
secret_env = "UNSET_SECRET"

[desks.plain]
kind = "webhook"
url = "http://127.0.0.1:9/"

[routes]
billing = ["helpdesk", "nowhere", "helpdesk"]
"Bad Queue" = []
"#,
        );
        let error = check(&config, &env).unwrap_err().to_string();
        for expected in [
            "desks.helpdesk.secret_env: environment variable UNSET_SECRET is not set",
            "desks.plain: secret is missing: give secret_env",
            r#"routes."billing"[1]: no desk named "nowhere" (configured: own, helpdesk, plain)"#,
            r#"routes."billing"[2]: "helpdesk" is already in this route"#,
            r#"routes."Bad Queue": name at least one desk"#,
        ] {
            assert!(error.contains(expected), "missing {expected:?} in:\n{error}");
        }
    }

    #[test]
    fn a_secret_written_in_the_file_is_refused() {
        let error = toml::from_str::<Config>(
            "[desks.helpdesk]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\nsecret = \"in the file\"\n",
        )
        .unwrap_err();
        assert!(error.to_string().contains("unknown field `secret`"), "{error}");
    }

    #[test]
    fn a_chatwoot_desk_takes_its_tokens_from_the_environment_and_checks_its_teams() {
        let env = |name: &str| match name {
            "CW_TOKEN" => Some("bot-token".to_owned()),
            "CW_SECRET" => Some("webhook-secret".to_owned()),
            _ => None,
        };
        let ready = config(
            r#"
[desks.support]
kind = "chatwoot"
url = "https://chatwoot.example.com"
account_id = 1
inbox_id = 3
inbox_identifier = "abc"
api_access_token_env = "CW_TOKEN"
webhook_secret_env = "CW_SECRET"
teams.billing = 4

[routes]
"*" = ["support", "own"]
"#,
        );
        let desks = check(&ready, &env).unwrap();
        let Checked::Ready(desk) = &desks[0] else {
            panic!("a chatwoot desk is ready without contacting it");
        };
        assert!(desk.service.webhook().is_some(), "its webhooks are received");
        assert!(desk.service.capabilities().customer_end);

        let broken = config(
            r#"
[desks.support]
kind = "chatwoot"
url = "https://chatwoot.example.com"
account_id = 1
inbox_id = 3
inbox_identifier = "abc"
api_access_token_env = "CW_TOKEN"
teams."Bad Queue" = 4
"#,
        );
        let error = check(&broken, &env).unwrap_err().to_string();
        assert!(error.contains("desks.support: webhook_secret is missing"), "{error}");
        let error = toml::from_str::<Config>(
            "[desks.s]\nkind = \"chatwoot\"\nurl = \"http://x\"\naccount_id = 1\ninbox_id = 1\ninbox_identifier = \"a\"\napi_access_token = \"in the file\"\n",
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("unknown field `api_access_token`"),
            "{error}"
        );
    }

    #[test]
    fn a_zendesk_desk_reads_its_secrets_and_needs_an_email_with_a_support_token() {
        let env = |name: &str| (name.starts_with("ZD_")).then(|| format!("{name}-value"));
        let ready = config(
            r#"
[desks.zendesk]
kind = "zendesk"
url = "https://acme.zendesk.com"
app_id = "5e4af71a81966cfff3ef6550"
key_id = "app_5e4af7"
key_secret_env = "ZD_KEY"
webhook_secret_env = "ZD_WEBHOOK"
summary_field = 360001
"#,
        );
        let desks = check(&ready, &env).unwrap();
        let Checked::Ready(desk) = &desks[0] else {
            panic!("a zendesk desk is ready without contacting it");
        };
        assert!(desk.service.webhook().is_some());
        assert!(
            !desk.service.capabilities().customer_typing,
            "Zendesk takes no typing from a user"
        );

        let broken = config(
            r#"
[desks.zendesk]
kind = "zendesk"
url = "https://acme.zendesk.com"
app_id = "5e4af71a81966cfff3ef6550"
key_id = "app_5e4af7"
key_secret_env = "ZD_KEY"
webhook_secret_env = "ZD_WEBHOOK"
support_token_env = "ZD_SUPPORT"
"#,
        );
        let error = check(&broken, &env).unwrap_err().to_string();
        assert!(error.contains("desks.zendesk.support_email"), "{error}");
    }

    #[test]
    fn a_twilio_flex_desk_signs_over_the_public_url_unless_told_its_webhook_url() {
        let env = |name: &str| (name == "TWILIO_TOKEN").then(|| "token".to_owned());
        let text = r#"
public_url = "https://baton.example.com"

[desks.flex]
kind = "twilio_flex"
account_sid = "AC00000000000000000000000000000001"
auth_token_env = "TWILIO_TOKEN"
conversations_service_sid = "IS00000000000000000000000000000001"
workspace_sid = "WS00000000000000000000000000000001"
workflow_sid = "WW00000000000000000000000000000001"
task_queues.billing = "WQ00000000000000000000000000000001"
"#;
        let desks = check(&config(text), &env).unwrap();
        assert!(matches!(&desks[0], Checked::Ready(desk) if desk.service.webhook().is_some()));
        let without_public = text.replace("public_url = \"https://baton.example.com\"", "");
        let error = check(&config(&without_public), &env).unwrap_err().to_string();
        assert!(error.contains("desks.flex.webhook_url"), "{error}");
        let bad_sid = text.replace("AC00000000000000000000000000000001", "not/a/sid");
        let error = check(&config(&bad_sid), &env).unwrap_err().to_string();
        assert!(error.contains("account_sid"), "{error}");
    }

    #[test]
    fn a_matrix_desk_is_checked_without_logging_in_and_its_password_must_not_be_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let password = dir.path().join("password");
        std::fs::write(&password, "correct horse\n").unwrap();
        let text = format!(
            r#"
[desks.team]
kind = "matrix"
homeserver = "http://127.0.0.1:9"
user = "@baton:example.org"
password_file = {:?}
[desks.team.queues.billing]
agents = ["@ann:example.org"]
"#,
            password.display().to_string()
        );
        let text = text.as_str();
        let checked = check(&config(text), &env).unwrap();
        assert!(matches!(&checked[0], Checked::Matrix { name, .. } if name == "team"));
        let in_file = text.replace("password_file =", "password =");
        let error = check(&config(&in_file), &env).unwrap_err().to_string();
        assert!(
            error.contains("desks.team.password: secrets are not read from the configuration file"),
            "{error}"
        );
        let typo = text.replace("user =", "usr =");
        let error = check(&config(&typo), &env).unwrap_err().to_string();
        assert!(error.contains("desks.team: unknown field `usr`"), "{error}");
    }

    #[test]
    fn a_secret_file_is_read_without_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "a-secret-of-enough-length\n").unwrap();
        let text = format!(
            "[desks.helpdesk]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\nsecret_file = {:?}\n",
            path.display().to_string()
        );
        assert_eq!(check(&config(&text), &|_| None).unwrap().len(), 1);
        let short = dir.path().join("short");
        std::fs::write(&short, "short\n").unwrap();
        let text = text.replace(&path.display().to_string(), &short.display().to_string());
        let error = check(&config(&text), &|_| None).unwrap_err().to_string();
        assert!(error.contains("at least 16 characters"), "{error}");
    }
}
