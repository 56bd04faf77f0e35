//! Signatures of webhook calls, both ways: `Baton-Signature: t=UNIX_SECONDS,v1=HEX`, where `HEX`
//! is the HMAC-SHA256 of `"{t}.{body}"` under the shared secret (the scheme Stripe documents for
//! its webhooks). The timestamp is signed with the body, so a captured call cannot be replayed
//! outside [`REPLAY_WINDOW`]; several `v1=` values may be sent while a secret is being rotated.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use baton_desk::DeskError;

/// The header that carries the signature.
pub const HEADER: &str = "baton-signature";

/// How far a call's timestamp may be from the receiver's clock, either way, in seconds.
pub const REPLAY_WINDOW: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value for `body` sent at `timestamp`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    format!("t={timestamp},v1={hex}")
}

/// Checks a received call: the header is present and well formed, its timestamp is within the
/// replay window of `now`, and one of its `v1` signatures is the body's (compared in constant
/// time). The error says which, never what the right signature would have been.
pub fn verify(secret: &[u8], header: Option<&str>, body: &[u8], now: i64) -> Result<(), DeskError> {
    let header = header.ok_or_else(|| DeskError::Unauthenticated(format!("no {HEADER} header")))?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    let timestamp =
        timestamp.ok_or_else(|| DeskError::Unauthenticated(format!("{HEADER} has no valid t= timestamp")))?;
    if (now - timestamp).abs() > REPLAY_WINDOW {
        return Err(DeskError::Unauthenticated(format!(
            "{HEADER} timestamp is {} seconds from this server's clock (at most {REPLAY_WINDOW})",
            now - timestamp
        )));
    }
    if signatures.is_empty() {
        return Err(DeskError::Unauthenticated(format!("{HEADER} has no v1= signature")));
    }
    let matches = signatures.iter().any(|signature| match decode_hex(signature) {
        Some(bytes) => mac(secret, timestamp, body).verify_slice(&bytes).is_ok(),
        None => false,
    });
    if matches {
        Ok(())
    } else {
        Err(DeskError::Unauthenticated(format!("{HEADER} does not match the body")))
    }
}

/// The hex HMAC-SHA256 of `"{timestamp}.{body}"`: the same MAC as [`sign`], for desks that send
/// the timestamp and the digest in headers of their own (Chatwoot: `X-Chatwoot-Timestamp` and
/// `X-Chatwoot-Signature: sha256=HEX`).
pub fn timestamped_hex(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    mac(secret, timestamp, body)
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Checks a [`timestamped_hex`] signature whose timestamp and digest came in separate headers
/// (`headers` names them, for the error): both present, the timestamp within the replay window
/// of `now`, the digest the body's (compared in constant time).
pub fn verify_timestamped(
    secret: &[u8],
    timestamp: Option<&str>,
    hex: Option<&str>,
    body: &[u8],
    now: i64,
    headers: (&str, &str),
) -> Result<(), DeskError> {
    let (timestamp_header, signature_header) = headers;
    let timestamp = timestamp
        .ok_or_else(|| DeskError::Unauthenticated(format!("no {timestamp_header} header")))?
        .trim()
        .parse::<i64>()
        .map_err(|_| DeskError::Unauthenticated(format!("{timestamp_header} is not a number of seconds")))?;
    if (now - timestamp).abs() > REPLAY_WINDOW {
        return Err(DeskError::Unauthenticated(format!(
            "{timestamp_header} is {} seconds from this server's clock (at most {REPLAY_WINDOW})",
            now - timestamp
        )));
    }
    let hex = hex.ok_or_else(|| DeskError::Unauthenticated(format!("no {signature_header} header")))?;
    let bytes = decode_hex(hex.trim())
        .ok_or_else(|| DeskError::Unauthenticated(format!("{signature_header} is not a hex digest")))?;
    mac(secret, timestamp, body)
        .verify_slice(&bytes)
        .map_err(|_| DeskError::Unauthenticated(format!("{signature_header} does not match the body")))
}

/// Twilio's request signature (`X-Twilio-Signature`, "Webhooks security"): the Base64 of the
/// HMAC-SHA1, under the account's auth token, of the full URL Twilio called followed by each POST
/// parameter's name and value, sorted by name.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    use base64::Engine as _;
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks an `X-Twilio-Signature`, compared in constant time.
pub fn verify_twilio(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    signature: Option<&str>,
) -> Result<(), DeskError> {
    let given = signature.ok_or_else(|| DeskError::Unauthenticated("no X-Twilio-Signature header".to_owned()))?;
    if same_secret(given.trim(), &twilio_signature(auth_token, url, params)) {
        Ok(())
    } else {
        Err(DeskError::Unauthenticated(
            "X-Twilio-Signature does not match the request".to_owned(),
        ))
    }
}

/// Whether two secrets (or signatures) are the same, compared in time that does not depend on
/// where they differ.
pub fn same_secret(given: &str, expected: &str) -> bool {
    let (given, expected) = (given.as_bytes(), expected.as_bytes());
    given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

/// HMAC-SHA256 of `message` under `secret`.
pub fn digest(secret: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// HMAC-SHA256 of `message` as hex, for tokens Baton signs for itself (history links).
pub fn digest_hex(secret: &[u8], message: &[u8]) -> String {
    digest(secret, message)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Whether `hex` is [`digest_hex`] of `message`, compared in constant time.
pub fn digest_matches(secret: &[u8], message: &[u8], hex: &str) -> bool {
    let Some(bytes) = decode_hex(hex) else {
        return false;
    };
    let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(message);
    mac.verify_slice(&bytes).is_ok()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 256 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";

    #[test]
    fn a_signed_body_verifies_and_any_change_does_not() {
        let body = br#"{"id":"evt_1","type":"agent.message"}"#;
        let header = sign(SECRET, 1_700_000_000, body);
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(verify(SECRET, Some(&header), body, 1_700_000_100), Ok(()));
        let tampered = br#"{"id":"evt_2","type":"agent.message"}"#;
        assert!(matches!(
            verify(SECRET, Some(&header), tampered, 1_700_000_100),
            Err(DeskError::Unauthenticated(_))
        ));
        assert!(verify(b"another secret", Some(&header), body, 1_700_000_100).is_err());
        // The timestamp is signed too.
        let moved = header.replace("t=1700000000", "t=1700000050");
        assert!(verify(SECRET, Some(&moved), body, 1_700_000_100).is_err());
    }

    #[test]
    fn old_missing_and_malformed_signatures_are_refused_with_a_reason() {
        let body = b"{}";
        let header = sign(SECRET, 1_700_000_000, body);
        let error = verify(SECRET, Some(&header), body, 1_700_000_000 + REPLAY_WINDOW + 1).unwrap_err();
        assert!(
            error.to_string().contains("seconds from this server's clock"),
            "{error}"
        );
        assert!(
            verify(SECRET, None, body, 0)
                .unwrap_err()
                .to_string()
                .contains("no baton-signature")
        );
        for header in [
            "",
            "t=abc,v1=00",
            "v1=00",
            "t=1700000000",
            "t=1700000000,v1=zz",
            "t=1700000000,v1=0",
        ] {
            assert!(verify(SECRET, Some(header), body, 1_700_000_000).is_err(), "{header}");
        }
    }

    #[test]
    fn a_rotated_secret_verifies_while_both_signatures_are_sent() {
        let body = b"{}";
        let old = sign(b"old", 1_700_000_000, body);
        let new = sign(b"new", 1_700_000_000, body);
        let both = format!("{old},v1={}", new.split("v1=").nth(1).unwrap());
        assert_eq!(verify(b"new", Some(&both), body, 1_700_000_000), Ok(()));
        assert_eq!(verify(b"old", Some(&both), body, 1_700_000_000), Ok(()));
    }

    #[test]
    fn the_twilio_signature_matches_twilio_s_documented_example() {
        // "Webhooks security", the validation example: auth token 12345, this URL and these
        // parameters sign to this value.
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(twilio_signature("12345", url, &params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(verify_twilio("12345", url, &params, Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ=")).is_ok());
        assert!(verify_twilio("12345", url, &params, Some("0/KCTR6DLpKmkAf8muzZqo1nDgX")).is_err());
        assert!(verify_twilio("12345", url, &params, None).is_err());
    }

    #[test]
    fn secrets_are_compared_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abd", "abc"));
        assert!(!same_secret("ab", "abc"));
        assert!(!same_secret("", "abc"));
    }
}
