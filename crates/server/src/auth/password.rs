//! Passwords: the policy a new one must meet, and argon2id hashing. Hashing is deliberately
//! slow (~19 MiB, 2 passes), so callers run it on a blocking thread.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 1024;

/// Passwords too common to accept whatever their length: the top of published breach lists
/// that reach the minimum length, plus the product's own name.
const COMMON: &[&str] = &[
    "1234567890",
    "12345678910",
    "123456789a",
    "1234567890a",
    "0123456789",
    "1q2w3e4r5t",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "qwertyuiop",
    "qwertyuiop123",
    "qwerty1234",
    "qwerty12345",
    "qwerty123456",
    "azertyuiop",
    "azerty1234",
    "azerty123456",
    "password12",
    "password123",
    "password1234",
    "password!",
    "passw0rd123",
    "p@ssw0rd123",
    "p@ssword123",
    "motdepasse",
    "motdepasse1",
    "motdepasse123",
    "iloveyou123",
    "abcdefghij",
    "abc1234567",
    "abcd123456",
    "aaaaaaaaaa",
    "1111111111",
    "0000000000",
    "9876543210",
    "letmein123",
    "welcome123",
    "welcome1234",
    "bienvenue1",
    "bienvenue123",
    "administrator",
    "admin12345",
    "admin123456",
    "changeme123",
    "football123",
    "baseball123",
    "sunshine123",
    "princess123",
    "superman123",
    "dragon1234",
    "monkey1234",
    "trustno1234",
    "optralis123",
    "optralis2026",
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("password must be at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("password must be at most {MAX_LENGTH} characters")]
    TooLong,
    #[error("password is too common; choose a less guessable one")]
    Common,
    #[error("password must not contain the email address")]
    ContainsEmail,
}

/// Checks a new password for `email`.
pub fn check_policy(password: &str, email: &str) -> Result<(), PolicyError> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(PolicyError::TooShort);
    }
    if length > MAX_LENGTH {
        return Err(PolicyError::TooLong);
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) || lower.chars().all(|c| lower.starts_with(c)) {
        return Err(PolicyError::Common);
    }
    let local = email.split('@').next().unwrap_or("").to_lowercase();
    if local.len() >= 4 && lower.contains(&local) {
        return Err(PolicyError::ContainsEmail);
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

fn hasher() -> Argon2<'static> {
    // OWASP's argon2id baseline: 19 MiB, 2 iterations, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// An argon2id PHC string for `password` with a fresh random salt.
pub fn hash(password: &str) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| HashError(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| HashError(e.to_string()))?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches `stored`. A malformed stored hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            hasher()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of nothing anyone knows, verified against when the account does not exist so an
/// unknown email costs the same time as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash("decoy password nobody has").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names_what_is_wrong() {
        let email = "alice.martin@example.com";
        assert_eq!(check_policy("short", email), Err(PolicyError::TooShort));
        assert_eq!(
            check_policy(&"x".repeat(2000), email),
            Err(PolicyError::TooLong)
        );
        assert_eq!(check_policy("Password123", email), Err(PolicyError::Common));
        assert_eq!(
            check_policy("zzzzzzzzzzzz", email),
            Err(PolicyError::Common)
        );
        assert_eq!(
            check_policy("alice.martin-2026", email),
            Err(PolicyError::ContainsEmail)
        );
        assert_eq!(check_policy("correct horse battery", email), Ok(()));
        // Length counts characters, not bytes.
        assert_eq!(check_policy("éééééééé", email), Err(PolicyError::TooShort));
    }

    #[test]
    fn hashes_verify_only_their_password() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert_ne!(h, hash("correct horse battery").unwrap(), "salted");
        assert!(!verify("anything", "not a hash"));
        assert!(!verify("decoy password nobody has ", decoy_hash()));
    }
}
