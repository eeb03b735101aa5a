//! Checking a release: one code path for the server (on publish) and the agent (before it
//! trusts a downloaded byte). A release is good when its minisign signature verifies under
//! one of the caller's trusted keys and its signed comment names an agent release.

use std::io::Read;

use minisign_verify::{PublicKey, Signature};

use super::ReleaseComment;

/// A public key the caller trusts, with the id minisign prints for it.
#[derive(Clone)]
pub struct TrustedKey {
    key: PublicKey,
    /// 16 upper-case hex digits, as `minisign -R`/`-V` print it.
    pub id: String,
    /// The key as base64, the second line of a `minisign.pub` file.
    pub base64: String,
}

impl std::fmt::Debug for TrustedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrustedKey({})", self.id)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("not a minisign public key: {0}")]
    BadKey(String),
    #[error("not a minisign signature: {0}")]
    BadSignature(String),
    #[error("signed by key {0}, which is not trusted here")]
    UntrustedKey(String),
    #[error("the signature does not match the file (altered, truncated or another file)")]
    Mismatch,
    #[error("{0}")]
    Comment(String),
    #[error("cannot read the file: {0}")]
    Read(String),
}

impl TrustedKey {
    /// A key from the base64 line alone or from a whole `minisign.pub` file.
    pub fn parse(text: &str) -> Result<Self, VerifyError> {
        let line = text
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))
            .ok_or_else(|| VerifyError::BadKey("empty".into()))?;
        let key =
            PublicKey::from_base64(line).map_err(|e| VerifyError::BadKey(format!("{e:?}")))?;
        let raw = decode_base64(line).ok_or_else(|| VerifyError::BadKey("not base64".into()))?;
        Ok(Self {
            key,
            id: key_id(raw.get(2..10).unwrap_or_default()),
            base64: line.to_owned(),
        })
    }
}

/// The id minisign prints: the 8-byte key number read as a little-endian integer, in hex.
fn key_id(keynum: &[u8]) -> String {
    keynum.iter().rev().map(|b| format!("{b:02X}")).collect()
}

/// What a good signature vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub comment: ReleaseComment,
    pub key_id: String,
}

/// The key id a signature names, read before anything is checked (to say which key is
/// missing).
pub fn signature_key_id(signature: &str) -> Result<String, VerifyError> {
    let line = signature
        .lines()
        .nth(1)
        .ok_or_else(|| VerifyError::BadSignature("too short".into()))?;
    let raw = decode_base64(line.trim())
        .filter(|raw| raw.len() == 74)
        .ok_or_else(|| VerifyError::BadSignature("second line is not a signature".into()))?;
    Ok(key_id(&raw[2..10]))
}

/// Checks `file` (read to its end) against `signature` (a `.minisig` file's text) under the
/// first of `keys` with the signature's key id.
pub fn verify_release(
    keys: &[TrustedKey],
    mut file: impl Read,
    signature: &str,
) -> Result<Verified, VerifyError> {
    let key_id = signature_key_id(signature)?;
    let key = keys
        .iter()
        .find(|k| k.id == key_id)
        .ok_or_else(|| VerifyError::UntrustedKey(key_id.clone()))?;
    let sig =
        Signature::decode(signature).map_err(|e| VerifyError::BadSignature(format!("{e:?}")))?;
    // Only prehashed signatures (minisign's default since 0.8) can be checked as a stream;
    // the legacy kind is refused.
    let mut verifier = key
        .key
        .verify_stream(&sig)
        .map_err(|e| VerifyError::BadSignature(format!("{e:?}")))?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| VerifyError::Read(e.to_string()))?;
        if n == 0 {
            break;
        }
        verifier.update(&buf[..n]);
    }
    verifier.finalize().map_err(|_| VerifyError::Mismatch)?;
    let comment = ReleaseComment::parse(sig.trusted_comment()).map_err(VerifyError::Comment)?;
    Ok(Verified { comment, key_id })
}

/// Standard base64 with padding, the only kind minisign writes.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let text = text.as_bytes();
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    for chunk in text.chunks(4) {
        let mut n = 0u32;
        let mut pad = 0;
        for (i, &c) in chunk.iter().enumerate() {
            let v = if c == b'=' && i >= 2 {
                pad += 1;
                0
            } else if pad > 0 {
                return None;
            } else {
                ALPHABET.iter().position(|&a| a == c)? as u32
            };
            n = n << 6 | v;
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_as_minisign_writes_it() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
        assert_eq!(decode_base64("YWJj").unwrap(), b"abc");
        assert!(decode_base64("a=bc").is_none());
        assert!(decode_base64("abc").is_none());
    }

    #[test]
    fn key_ids_read_as_minisign_prints_them() {
        // minisign's own example key, whose id it prints as E7620F1842B4E81F.
        let key =
            TrustedKey::parse("RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3").unwrap();
        assert_eq!(key.id, "E7620F1842B4E81F");
        assert!(TrustedKey::parse("untrusted comment: x\n").is_err());
        assert!(TrustedKey::parse("not a key").is_err());
    }
}
