//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps) as every
//! authenticator app implements them, and the recovery codes that stand in for a lost phone.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use sha1::Sha1;

pub const STEP_S: i64 = 30;
const DIGITS: u32 = 6;
/// Codes from one step before or after are accepted, for phones whose clock drifts.
const DRIFT_STEPS: i64 = 1;
pub const RECOVERY_CODES: usize = 10;

#[derive(Debug, thiserror::Error)]
#[error("no randomness available: {0}")]
pub struct RandomError(String);

/// A new 160-bit secret, base32 as authenticator apps take it.
pub fn new_secret() -> Result<String, RandomError> {
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).map_err(|e| RandomError(e.to_string()))?;
    Ok(BASE32_NOPAD.encode(&bytes))
}

/// The code for time step `step` (RFC 4226 dynamic truncation).
pub fn code_at(secret: &[u8], step: i64) -> u32 {
    let Ok(mut mac) = <Hmac<Sha1> as Mac>::new_from_slice(secret) else {
        unreachable!("HMAC takes keys of any length")
    };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 10u32.pow(DIGITS)
}

/// The time step `code` belongs to, if it is right for `secret` at `now_s` (give or take
/// the drift). The caller must still refuse a step already used.
pub fn verify(secret_b32: &str, code: &str, now_s: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wanted: u32 = code.parse().ok()?;
    let secret = BASE32_NOPAD.decode(secret_b32.as_bytes()).ok()?;
    let current = now_s.div_euclid(STEP_S);
    // Latest step first, so a code valid for two steps claims the later one.
    (current - DRIFT_STEPS..=current + DRIFT_STEPS)
        .rev()
        .find(|&step| code_at(&secret, step) == wanted)
}

/// The `otpauth://` URI an authenticator app scans.
pub fn otpauth_uri(issuer: &str, account: &str, secret_b32: &str) -> String {
    let issuer_enc = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer_enc}:{}?secret={secret_b32}&issuer={issuer_enc}&algorithm=SHA1&digits={DIGITS}&period={STEP_S}",
        percent_encode(account)
    )
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Ten codes like `k3vq-7rma-2xpd-wb5n` (80 random bits each), shown once.
pub fn new_recovery_codes() -> Result<Vec<String>, RandomError> {
    const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 16];
            getrandom::fill(&mut bytes).map_err(|e| RandomError(e.to_string()))?;
            let chars: Vec<char> = bytes
                .iter()
                .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
                .collect();
            Ok(chars
                .chunks(4)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-"))
        })
        .collect()
}

/// The form recovery codes are stored and compared in: lowercase, no spaces or dashes.
pub fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1 column, last six digits.
        let secret = b"12345678901234567890";
        for (time, expected) in [
            (59, 287_082),
            (1_111_111_109, 81_804),
            (1_111_111_111, 50_471),
            (1_234_567_890, 5_924),
            (2_000_000_000, 279_037),
            (20_000_000_000, 353_130),
        ] {
            assert_eq!(code_at(secret, time / STEP_S), expected, "t={time}");
        }
    }

    #[test]
    fn verify_accepts_drift_and_nothing_else() {
        let secret = BASE32_NOPAD.encode(b"12345678901234567890");
        let now = 1_111_111_111;
        assert_eq!(verify(&secret, "050471", now), Some(now / STEP_S));
        assert_eq!(verify(&secret, " 050471 ", now), Some(now / STEP_S));
        let next = format!("{:06}", code_at(b"12345678901234567890", now / STEP_S + 1));
        assert_eq!(verify(&secret, &next, now), Some(now / STEP_S + 1));
        let far = format!("{:06}", code_at(b"12345678901234567890", now / STEP_S + 2));
        assert_eq!(verify(&secret, &far, now), None);
        assert_eq!(verify(&secret, "50471", now), None);
        assert_eq!(verify(&secret, "05047a", now), None);
        assert_eq!(verify("not base32!", "050471", now), None);
    }

    #[test]
    fn uri_and_recovery_codes() {
        let uri = otpauth_uri("Optralis", "a b@example.com", "ABC");
        assert_eq!(
            uri,
            "otpauth://totp/Optralis:a%20b@example.com?secret=ABC&issuer=Optralis&algorithm=SHA1&digits=6&period=30"
        );
        let codes = new_recovery_codes().unwrap();
        assert_eq!(codes.len(), 10);
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 19 && c.matches('-').count() == 3)
        );
        assert_eq!(
            normalize_recovery_code(" K3VQ-7rma 2xpd-wb5n"),
            "k3vq7rma2xpdwb5n"
        );
        assert_eq!(new_secret().unwrap().len(), 32);
    }
}
