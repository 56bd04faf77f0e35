//! Synapse's admin API, for setting up users where Baton is measured or tested against a
//! Synapse of its own (`baton bench transfer --desk matrix`, the live tests); the desk itself
//! needs none of it.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};

/// Registers `name` with the homeserver's registration shared secret ("Shared-Secret
/// Registration": HMAC-SHA1 over nonce, user, password and admin flag); the new Matrix id, or
/// what went wrong.
pub async fn register(
    http: &reqwest::Client,
    homeserver: &str,
    secret: &str,
    (name, password, display_name): (&str, &str, Option<&str>),
) -> Result<String, String> {
    let url = format!("{}/_synapse/admin/v1/register", homeserver.trim_end_matches('/'));
    let nonce: Value = http
        .get(&url)
        .send()
        .await
        .map_err(|error| format!("asking the homeserver for a registration nonce: {error}"))?
        .json()
        .await
        .map_err(|error| format!("reading the registration nonce: {error}"))?;
    let nonce = nonce["nonce"]
        .as_str()
        .ok_or("the homeserver gave no registration nonce (is it Synapse?)")?;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(format!("{nonce}\0{name}\0{password}\0notadmin").as_bytes());
    let mac: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let mut body = json!({"nonce": nonce, "username": name, "password": password, "admin": false, "mac": mac});
    if let Some(display_name) = display_name {
        body["displayname"] = json!(display_name);
    }
    let response = http
        .post(&url)
        .json(&body)
        .send()
        .await
        .map_err(|error| format!("registering {name}: {error}"))?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    match answer["user_id"].as_str() {
        Some(user) if status.is_success() => Ok(user.to_owned()),
        _ => Err(format!(
            "registering {name} answered {status}: {answer} (is the registration secret right?)"
        )),
    }
}
