//! API keys: creation, hashing, and reading them from requests the way IBM's SDKs send them.
//!
//! A key is 256 random bits, shown once at creation; only its SHA-256 is stored. A plain hash
//! (no salt, no slow KDF) is enough because keys are random, not chosen by people, and it lets a
//! request's key be looked up by its hash directly.
//! Clients send it as IBM's `BasicAuthenticator('apikey', KEY)` (HTTP Basic, user `apikey`) or
//! `BearerTokenAuthenticator(KEY)` (`Authorization: Bearer KEY`); `axum-extra`'s typed
//! `Authorization` header reads both schemes.
//!
//! A key found in the database is remembered for [`VERIFIED_FOR`], so a busy client costs one
//! lookup a second rather than one per request (which halved the throughput of authenticated
//! messages in `baton bench http --auth`); a key revoked by `baton apikey revoke` from another
//! process is therefore refused at most that long after. Unknown keys are never remembered: a new
//! key works at once, and failed attempts always reach the database (and the rate limit).

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, header};
use axum_extra::headers::authorization::{Basic, Bearer, Credentials};
use axum_extra::headers::{Authorization, Header as _, HeaderMapExt as _};
use sha2::{Digest, Sha256};

/// The prefix of every key, so a leaked key is recognisable in logs and secret scanners.
pub const KEY_PREFIX: &str = "baton_";

/// A key in clear text; `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// A new random key: the prefix and 64 hex digits from two v4 UUIDs (244 random bits).
    pub fn generate() -> ApiKey {
        let random = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        ApiKey(format!("{KEY_PREFIX}{random}"))
    }

    pub fn from_secret(secret: impl Into<String>) -> ApiKey {
        ApiKey(secret.into())
    }

    /// The clear text, for showing once to the person who created it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the store keeps: hex SHA-256 of the key.
    pub fn hash(&self) -> String {
        hash_key(&self.0)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// Hex SHA-256 of `key`, as the store keeps it.
///
/// The digest's own `LowerHex` writes the 64 digits in one go: formatting byte by byte was half
/// the cost of an authenticated request's key check (7.5k of 15k instructions under callgrind).
pub fn hash_key(key: &str) -> String {
    format!("{:x}", Sha256::digest(key.as_bytes()))
}

/// How long a key found in the database is accepted without looking again.
pub const VERIFIED_FOR: Duration = Duration::from_secs(1);

/// Keys recently found in the database: hash → key id, and when it was found.
#[derive(Default)]
pub(crate) struct VerifiedKeys {
    keys: Mutex<HashMap<String, (String, Instant)>>,
}

impl VerifiedKeys {
    /// The key id for `hash`, if it was found less than [`VERIFIED_FOR`] before `now`.
    pub(crate) fn get(&self, hash: &str, now: Instant) -> Option<String> {
        let keys = self.keys.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        keys.get(hash)
            .filter(|(_, found)| now.saturating_duration_since(*found) < VERIFIED_FOR)
            .map(|(id, _)| id.clone())
    }

    /// Remembers that `hash` belongs to the key `id`, found in the database at `now`.
    pub(crate) fn put(&self, hash: String, id: String, now: Instant) {
        let mut keys = self.keys.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Only real keys get here, so the map stays small; drop the stale ones now and then.
        if keys.len() >= 1024 {
            keys.retain(|_, (_, found)| now.saturating_duration_since(*found) < VERIFIED_FOR);
        }
        keys.insert(hash, (id, now));
    }
}

/// Reads the key from an `Authorization` header value: `Basic base64(apikey:KEY)` or
/// `Bearer KEY`. `None` for anything else, including Basic with another user name.
pub fn key_from_authorization(value: &str) -> Option<ApiKey> {
    // A value read from a request has no surrounding spaces; one built by hand may.
    let value = HeaderValue::from_str(value.trim()).ok()?;
    key_from_header(&value)
}

/// [`key_from_authorization`] for the header as received.
pub fn key_from_header(value: &HeaderValue) -> Option<ApiKey> {
    if let Some(Authorization(bearer)) = credentials::<Bearer>(value) {
        let key = bearer.token().trim_end();
        return (!key.is_empty()).then(|| ApiKey(key.to_owned()));
    }
    let Authorization(basic) = credentials::<Basic>(value)?;
    let valid = basic.username() == "apikey" && !basic.password().is_empty();
    valid.then(|| ApiKey(basic.password().to_owned()))
}

/// The API key of a request's first `Authorization` header, read as [`key_from_authorization`].
pub fn key_from_headers(headers: &HeaderMap) -> Option<ApiKey> {
    key_from_header(headers.get(header::AUTHORIZATION)?)
}

/// The token of `Authorization: Bearer TOKEN` (any case of `Bearer`, surrounding spaces
/// trimmed): how the agent routes and non-browser clients of the agent socket send an agent's
/// token. `None` without the header, with another scheme, or with an empty token.
pub fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let Authorization(bearer) = headers.typed_get::<Authorization<Bearer>>()?;
    let token = bearer.token().trim_end();
    (!token.is_empty()).then(|| token.to_owned())
}

/// The header's credentials if they are of scheme `C`.
fn credentials<C: Credentials>(value: &HeaderValue) -> Option<Authorization<C>> {
    Authorization::<C>::decode(&mut std::iter::once(value)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(credentials: &str) -> String {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    }

    #[test]
    fn reads_basic_and_bearer() {
        let cases = [
            (basic("apikey:baton_abc"), Some("baton_abc")),
            (basic("apikey:with:colons"), Some("with:colons")),
            (basic("apikey:"), None),
            (basic("admin:baton_abc"), None),
            (basic("apikey"), None),
            (format!("basic  {}", &basic("apikey:baton_abc")[6..]), Some("baton_abc")),
            ("Basic !!!".to_owned(), None),
            ("Basic".to_owned(), None),
            ("Bearer baton_abc".to_owned(), Some("baton_abc")),
            ("bearer  baton_abc ".to_owned(), Some("baton_abc")),
            ("BEARER baton_abc".to_owned(), Some("baton_abc")),
            ("Bearer".to_owned(), None),
            ("Bearer    ".to_owned(), None),
            ("Bearerbaton_abc".to_owned(), None),
            ("Token baton_abc".to_owned(), None),
            ("baton_abc".to_owned(), None),
            ("Bearer caf\u{e9}".to_owned(), None),
            (String::new(), None),
        ];
        for (header, expected) in cases {
            let key = key_from_authorization(&header);
            assert_eq!(key.as_ref().map(ApiKey::expose), expected, "{header}");
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_str(header.trim()) {
                headers.insert(header::AUTHORIZATION, value);
            }
            let key = key_from_headers(&headers);
            assert_eq!(key.as_ref().map(ApiKey::expose), expected, "{header} in a request");
        }
    }

    #[test]
    fn a_bearer_token_is_read_from_the_first_authorization_header() {
        let token = |values: &[&str]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            }
            bearer_token(&headers)
        };
        assert_eq!(token(&["Bearer abc123"]), Some("abc123".to_owned()));
        assert_eq!(token(&["bearer   abc123  "]), Some("abc123".to_owned()));
        assert_eq!(token(&["Bearer abc", "Bearer other"]), Some("abc".to_owned()));
        assert_eq!(token(&[]), None);
        assert_eq!(token(&["Bearer"]), None);
        assert_eq!(token(&["Bearer   "]), None);
        assert_eq!(token(&[&basic("apikey:abc")]), None);
        assert_eq!(token(&["Token abc"]), None);
    }

    #[test]
    fn a_verified_key_is_remembered_for_a_second_only() {
        let keys = VerifiedKeys::default();
        let start = Instant::now();
        assert_eq!(keys.get("h", start), None);
        keys.put("h".to_owned(), "7".to_owned(), start);
        assert_eq!(keys.get("h", start + Duration::from_millis(999)), Some("7".to_owned()));
        assert_eq!(keys.get("h", start + VERIFIED_FOR), None);
        assert_eq!(keys.get("other", start), None);
    }

    #[test]
    fn hashes_are_sha256_in_hex() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn keys_are_random_and_redacted() {
        let (first, second) = (ApiKey::generate(), ApiKey::generate());
        assert_ne!(first, second);
        assert_eq!(first.expose().len(), KEY_PREFIX.len() + 64);
        assert_eq!(format!("{first:?}"), "ApiKey([redacted])");
        assert_eq!(first.hash().len(), 64);
    }
}
