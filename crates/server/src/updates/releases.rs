//! Publishing a release: the server keeps only what verifies under a key it trusts, and
//! what the signed comment says is the release's version and platform.

use optralis_proto::release::verify::{TrustedKey, VerifyError, verify_release};
use optralis_proto::release::{Platform, ReleaseComment};
use sha2::{Digest, Sha256};

/// Largest agent file the server accepts (today's builds are ~10 MB).
pub const MAX_RELEASE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PublishError {
    #[error("the server trusts no release key yet: add one with `optralis release trust`")]
    NoTrustedKey,
    #[error(transparent)]
    Refused(#[from] VerifyError),
    #[error("the signature is for {signed}, not {claimed}")]
    Mislabelled { signed: String, claimed: String },
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than {MAX_RELEASE_BYTES} bytes")]
    TooLarge,
}

/// A release that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedRelease {
    pub comment: ReleaseComment,
    pub key_id: String,
    pub sha256: String,
    pub size: u64,
}

/// Checks `file` and its `signature` under `keys`; `claimed` (version, platform), when
/// given, must be what the signature says.
pub fn check_release(
    keys: &[TrustedKey],
    file: &[u8],
    signature: &str,
    claimed: Option<(&str, Platform)>,
) -> Result<CheckedRelease, PublishError> {
    if keys.is_empty() {
        return Err(PublishError::NoTrustedKey);
    }
    if file.is_empty() {
        return Err(PublishError::Empty);
    }
    if file.len() > MAX_RELEASE_BYTES {
        return Err(PublishError::TooLarge);
    }
    let verified = verify_release(keys, file, signature)?;
    if let Some((version, platform)) = claimed {
        let c = &verified.comment;
        if c.version != version || c.platform != platform {
            return Err(PublishError::Mislabelled {
                signed: format!("{} {}", c.version, c.platform.as_str()),
                claimed: format!("{version} {}", platform.as_str()),
            });
        }
    }
    Ok(CheckedRelease {
        comment: verified.comment,
        key_id: verified.key_id,
        sha256: hex::encode(Sha256::digest(file)),
        size: file.len() as u64,
    })
}
