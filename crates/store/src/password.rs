//! Password hashing for the agents of Baton's own desk: Argon2id with a random salt, stored as a
//! PHC string (`$argon2id$v=19$…`), which carries its own parameters and salt.
//!
//! It lives in the store crate because the store keeps what it produces, but the store itself
//! never hashes: the CLI hashes when an agent is added and the server verifies at login, both
//! outside any database transaction (hashing takes tens of milliseconds on purpose).

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::StoreError;

/// Hashes a password with Argon2id's default parameters and a fresh random salt.
pub fn hash(password: &str) -> Result<String, StoreError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|_| StoreError::PasswordHash)
}

/// Whether `password` matches the PHC string `phc`; a malformed `phc` matches nothing.
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = super::hash("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(super::verify("correct horse", &phc));
        assert!(!super::verify("correct horse ", &phc));
        assert!(!super::verify("correct horse", "not a phc string"));
        assert_ne!(super::hash("correct horse").unwrap(), phc, "salted");
    }
}
