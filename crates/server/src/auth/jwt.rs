//! Access tokens and MFA tickets: JWTs signed with HMAC-SHA256 and a server key. The
//! algorithm is fixed: the header is checked to say HS256 and nothing else is ever tried, so
//! `alg: none` or a key-confusion trick gets nowhere.

use data_encoding::BASE64URL_NOPAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
const ISSUER: &str = "optralis";
/// Tolerated clock difference between replicas, seconds.
const LEEWAY_S: i64 = 30;

/// What a token may be used for. An MFA ticket is not an access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenUse {
    Access,
    MfaTicket,
}

/// Access tokens last this long; a token claiming longer was not made by this server.
pub const ACCESS_TTL_S: i64 = 15 * 60;
/// Between the password and the second factor.
pub const MFA_TICKET_TTL_S: i64 = 5 * 60;

impl TokenUse {
    /// The lifetime this server gives tokens of this use.
    pub const fn lifetime_s(self) -> i64 {
        match self {
            TokenUse::Access => ACCESS_TTL_S,
            TokenUse::MfaTicket => MFA_TICKET_TTL_S,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The user id.
    pub sub: String,
    /// The session id (empty in an MFA ticket: there is no session yet).
    pub sid: String,
    #[serde(rename = "use")]
    pub token_use: TokenUse,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

impl Claims {
    pub fn new(sub: &str, sid: &str, token_use: TokenUse, now_s: i64, ttl_s: i64) -> Self {
        Self {
            iss: ISSUER.to_owned(),
            sub: sub.to_owned(),
            sid: sid.to_owned(),
            token_use,
            iat: now_s,
            nbf: now_s,
            exp: now_s.saturating_add(ttl_s),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("token is not a JWT")]
    Malformed,
    #[error("token algorithm is not HS256")]
    Algorithm,
    #[error("token signature is invalid")]
    Signature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token is not meant for this use")]
    WrongUse,
    #[error("token claims a lifetime this server never gives")]
    Lifetime,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

pub fn encode(key: &[u8], claims: &Claims) -> String {
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    let signing_input = format!(
        "{}.{}",
        BASE64URL_NOPAD.encode(HEADER.as_bytes()),
        BASE64URL_NOPAD.encode(&payload)
    );
    let mut m = mac(key);
    m.update(signing_input.as_bytes());
    let signature = BASE64URL_NOPAD.encode(&m.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

/// Verifies `token` for `expected` use at `now_s` (seconds since the epoch).
pub fn decode(key: &[u8], token: &str, expected: TokenUse, now_s: i64) -> Result<Claims, JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header_json = BASE64URL_NOPAD
        .decode(header.as_bytes())
        .map_err(|_| JwtError::Malformed)?;
    let parsed: Header = serde_json::from_slice(&header_json).map_err(|_| JwtError::Malformed)?;
    if parsed.alg != "HS256" {
        return Err(JwtError::Algorithm);
    }
    let signature = BASE64URL_NOPAD
        .decode(signature.as_bytes())
        .map_err(|_| JwtError::Signature)?;
    let mut m = mac(key);
    m.update(header.as_bytes());
    m.update(b".");
    m.update(payload.as_bytes());
    m.verify_slice(&signature)
        .map_err(|_| JwtError::Signature)?;
    let payload = BASE64URL_NOPAD
        .decode(payload.as_bytes())
        .map_err(|_| JwtError::Malformed)?;
    let claims: Claims = serde_json::from_slice(&payload).map_err(|_| JwtError::Malformed)?;
    if claims.iss != ISSUER {
        return Err(JwtError::Malformed);
    }
    if claims.token_use != expected {
        return Err(JwtError::WrongUse);
    }
    if claims.exp <= now_s - LEEWAY_S {
        return Err(JwtError::Expired);
    }
    if claims.nbf > now_s + LEEWAY_S || claims.iat > now_s + LEEWAY_S {
        return Err(JwtError::NotYetValid);
    }
    // Even a correctly signed token (a leaked key) cannot outlive the configured lifetime.
    if claims.exp.saturating_sub(claims.iat) > expected.lifetime_s()
        || claims.exp > now_s.saturating_add(expected.lifetime_s() + LEEWAY_S)
    {
        return Err(JwtError::Lifetime);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: i64 = 1_800_000_000;

    #[test]
    fn lifetimes_longer_than_issued_are_refused() {
        // Correctly signed, valid until 2100.
        let long = encode(
            KEY,
            &Claims::new("u1", "s1", TokenUse::Access, NOW, 4_102_444_800 - NOW),
        );
        assert_eq!(
            decode(KEY, &long, TokenUse::Access, NOW),
            Err(JwtError::Lifetime)
        );
        // An old iat with a far exp, or an iat in the future, does not get round it.
        let mut c = Claims::new("u1", "s1", TokenUse::Access, NOW, ACCESS_TTL_S);
        c.iat = NOW + 3_600;
        c.nbf = NOW - 10;
        assert_eq!(
            decode(KEY, &encode(KEY, &c), TokenUse::Access, NOW),
            Err(JwtError::NotYetValid)
        );
        let ticket = encode(
            KEY,
            &Claims::new("u1", "", TokenUse::MfaTicket, NOW, ACCESS_TTL_S),
        );
        assert_eq!(
            decode(KEY, &ticket, TokenUse::MfaTicket, NOW),
            Err(JwtError::Lifetime)
        );
    }

    fn token() -> String {
        encode(KEY, &Claims::new("u1", "s1", TokenUse::Access, NOW, 900))
    }

    fn with_part(token: &str, index: usize, value: &str) -> String {
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[index] = value.to_owned();
        parts.join(".")
    }

    #[test]
    fn a_fresh_token_decodes() {
        let claims = decode(KEY, &token(), TokenUse::Access, NOW + 10).unwrap();
        assert_eq!(claims.sub, "u1");
        assert_eq!(claims.sid, "s1");
        assert_eq!(claims.exp, NOW + 900);
    }

    #[test]
    fn tampering_is_refused() {
        let t = token();
        assert_eq!(
            decode(b"another key", &t, TokenUse::Access, NOW),
            Err(JwtError::Signature)
        );
        // alg: none with no signature.
        let none = BASE64URL_NOPAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            decode(
                KEY,
                &format!("{}.", with_part(&t, 0, &none).rsplit_once('.').unwrap().0),
                TokenUse::Access,
                NOW
            ),
            Err(JwtError::Algorithm)
        );
        let hs512 = BASE64URL_NOPAD.encode(br#"{"alg":"HS512","typ":"JWT"}"#);
        assert_eq!(
            decode(KEY, &with_part(&t, 0, &hs512), TokenUse::Access, NOW),
            Err(JwtError::Algorithm)
        );
        // A payload changed after signing (another user id).
        let forged = Claims::new("admin", "s1", TokenUse::Access, NOW, 900);
        let forged = BASE64URL_NOPAD.encode(&serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            decode(KEY, &with_part(&t, 1, &forged), TokenUse::Access, NOW),
            Err(JwtError::Signature)
        );
        assert_eq!(
            decode(KEY, "a.b", TokenUse::Access, NOW),
            Err(JwtError::Malformed)
        );
        assert_eq!(
            decode(KEY, &format!("{t}.x"), TokenUse::Access, NOW),
            Err(JwtError::Malformed)
        );
        assert_eq!(
            decode(KEY, "", TokenUse::Access, NOW),
            Err(JwtError::Malformed)
        );
    }

    #[test]
    fn time_and_use_are_checked() {
        let t = token();
        assert_eq!(
            decode(KEY, &t, TokenUse::Access, NOW + 900 + LEEWAY_S),
            Err(JwtError::Expired)
        );
        assert!(decode(KEY, &t, TokenUse::Access, NOW + 899).is_ok());
        assert_eq!(
            decode(KEY, &t, TokenUse::Access, NOW - LEEWAY_S - 1),
            Err(JwtError::NotYetValid)
        );
        assert_eq!(
            decode(KEY, &t, TokenUse::MfaTicket, NOW),
            Err(JwtError::WrongUse)
        );
    }
}
