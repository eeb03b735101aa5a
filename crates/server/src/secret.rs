//! Bearer secrets (enrollment keys, API tokens, machine tokens, refresh tokens, links): random, prefixed by kind so
//! a leaked one is recognisable, and stored only as a SHA-256 digest. They carry 256 bits of
//! entropy, so a fast hash is the right tool here (passwords are another matter).

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    EnrollKey,
    ApiToken,
    MachineToken,
    /// A refresh token (sent only as an httpOnly cookie).
    RefreshToken,
    /// A one-time invitation or password-reset link.
    UserLink,
}

impl SecretKind {
    fn prefix(self) -> &'static str {
        match self {
            SecretKind::EnrollKey => "oek_",
            SecretKind::ApiToken => "oat_",
            SecretKind::MachineToken => "omt_",
            SecretKind::RefreshToken => "ort_",
            SecretKind::UserLink => "oul_",
        }
    }
}

/// A new secret of the given kind. Fails only if the OS has no randomness to give.
pub fn generate(kind: SecretKind) -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{}{}", kind.prefix(), hex::encode(bytes)))
}

/// The refresh token that follows `spent`: derived (HMAC-SHA256 under the server's key), so
/// a second tab presenting the same spent token moments later is given the same successor
/// instead of ending the session.
pub fn refresh_successor(key: &[u8], spent: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(b"optralis-refresh-successor:");
    mac.update(spent.as_bytes());
    format!(
        "{}{}",
        SecretKind::RefreshToken.prefix(),
        hex::encode(mac.finalize().into_bytes())
    )
}

/// The digest stored and looked up in place of the secret.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_hashed() {
        let a = generate(SecretKind::ApiToken).unwrap();
        let b = generate(SecretKind::ApiToken).unwrap();
        assert!(a.starts_with("oat_") && a.len() == 4 + 64);
        assert_ne!(a, b);
        assert_eq!(digest(&a), digest(&a));
        assert_ne!(digest(&a), digest(&b));
        assert!(!digest(&a).contains(&a[4..]));
    }
}
