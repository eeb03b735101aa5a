//! Secrets at rest (channel webhook URLs, SMTP passwords): sealed with AES-256-GCM under the
//! server's secret key, which lives outside the database (`<data_dir>/secret.key` or
//! `OPTRALIS_SECRET_KEY`), so a copy of the database alone reveals none of them. Each sealed
//! value is bound to what it belongs to (the associated data), so it cannot be moved to
//! another channel or organisation.

use std::io::Write;
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the secret key must be 64 hexadecimal characters (32 bytes)")]
    BadKey,
    #[error("cannot {action} {path}: {source}")]
    KeyFile {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("no randomness available")]
    Random,
    #[error("a sealed secret cannot be opened: wrong secret key, or the data was altered")]
    Open,
}

const VERSION: &str = SEALED_PREFIX;
/// How every sealed value starts (a value without it was stored in clear).
pub const SEALED_PREFIX: &str = "v1:";

#[derive(Clone)]
pub struct Sealer {
    key: std::sync::Arc<LessSafeKey>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, SealError> {
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| SealError::BadKey)?;
        Ok(Self {
            key: std::sync::Arc::new(LessSafeKey::new(key)),
        })
    }

    pub fn from_hex(hex_key: &str) -> Result<Self, SealError> {
        let bytes: [u8; 32] = hex::decode(hex_key.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(SealError::BadKey)?;
        Self::from_bytes(&bytes)
    }

    /// A key that lives only as long as the process (tests).
    pub fn ephemeral() -> Result<Self, SealError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| SealError::Random)?;
        Self::from_bytes(&bytes)
    }

    /// The key in `path`, created (random, mode 0600) on first use.
    pub fn from_key_file(path: &Path) -> Result<Self, SealError> {
        let err = |action, source| SealError::KeyFile {
            action,
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_hex(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes).map_err(|_| SealError::Random)?;
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                let mut f = options.open(path).map_err(|e| err("create", e))?;
                f.write_all(hex::encode(bytes).as_bytes())
                    .and_then(|()| f.sync_all())
                    .map_err(|e| err("write", e))?;
                Self::from_bytes(&bytes)
            }
            Err(e) => Err(err("read", e)),
        }
    }

    /// `plain` sealed and bound to `context`, as text.
    pub fn seal(&self, context: &str, plain: &[u8]) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| SealError::Random)?;
        let mut data = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut data,
            )
            .map_err(|_| SealError::Open)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{VERSION}{}", hex::encode(out)))
    }

    /// What [`Sealer::seal`] sealed with the same `context`.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, SealError> {
        let bytes = sealed
            .strip_prefix(VERSION)
            .and_then(|h| hex::decode(h).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or(SealError::Open)?;
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError::Open)?;
        let mut data = data.to_vec();
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut data,
            )
            .map_err(|_| SealError::Open)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let s = Sealer::ephemeral().unwrap();
        let sealed = s.seal("channel:a", b"hunter2").unwrap();
        assert!(sealed.starts_with("v1:") && !sealed.contains("hunter2"));
        assert_ne!(
            sealed,
            s.seal("channel:a", b"hunter2").unwrap(),
            "fresh nonce"
        );
        assert_eq!(s.open("channel:a", &sealed).unwrap(), b"hunter2");
        assert!(
            s.open("channel:b", &sealed).is_err(),
            "bound to its context"
        );
        assert!(
            Sealer::ephemeral()
                .unwrap()
                .open("channel:a", &sealed)
                .is_err()
        );
        let mut altered = sealed.clone();
        altered.pop();
        altered.push('0');
        assert!(s.open("channel:a", &altered).is_err() || altered == sealed);
        assert!(Sealer::from_hex("abc").is_err());
    }

    #[test]
    fn the_key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let a = Sealer::from_key_file(&path).unwrap();
        let sealed = a.seal("x", b"y").unwrap();
        let b = Sealer::from_key_file(&path).unwrap();
        assert_eq!(b.open("x", &sealed).unwrap(), b"y");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
