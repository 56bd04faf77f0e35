//! API keys: creation, hashing, and reading them from requests the way IBM's SDKs send them.
//!
//! A key is 256 random bits, shown once at creation; only its SHA-256 is stored. A plain hash
//! (no salt, no slow KDF) is enough because keys are random, not chosen by people, and it lets a
//! request's key be looked up by its hash directly.
//! Clients send it as IBM's `BasicAuthenticator('apikey', KEY)` (HTTP Basic, user `apikey`) or
//! `BearerTokenAuthenticator(KEY)` (`Authorization: Bearer KEY`).
//!
//! A key found in the database is remembered for [`VERIFIED_FOR`], so a busy client costs one
//! lookup a second rather than one per request (which halved the throughput of authenticated
//! messages in `baton bench http --auth`); a key revoked by `baton apikey revoke` from another
//! process is therefore refused at most that long after. Unknown keys are never remembered: a new
//! key works at once, and failed attempts always reach the database (and the rate limit).

use std::collections::HashMap;
use std::fmt;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
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

pub fn hash_key(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut hex = String::with_capacity(2 * digest.len());
    for byte in digest {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
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
    let (scheme, credentials) = value.trim().split_once(' ')?;
    let credentials = credentials.trim();
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" if !credentials.is_empty() => Some(ApiKey(credentials.to_owned())),
        "basic" => {
            let decoded = base64::engine::general_purpose::STANDARD.decode(credentials).ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (user, key) = decoded.split_once(':')?;
            let valid = user == "apikey" && !key.is_empty();
            valid.then(|| ApiKey(key.to_owned()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_basic_and_bearer() {
        let basic = base64::engine::general_purpose::STANDARD.encode("apikey:baton_abc");
        let cases = [
            (format!("Basic {basic}"), Some("baton_abc")),
            ("Bearer baton_abc".to_owned(), Some("baton_abc")),
            ("bearer  baton_abc ".to_owned(), Some("baton_abc")),
            (
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode("admin:baton_abc")
                ),
                None,
            ),
            ("Basic !!!".to_owned(), None),
            ("Bearer".to_owned(), None),
            ("Token baton_abc".to_owned(), None),
        ];
        for (header, expected) in cases {
            let key = key_from_authorization(&header);
            assert_eq!(key.as_ref().map(ApiKey::expose), expected, "{header}");
        }
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
