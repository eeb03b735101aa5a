//! The release manager's side, run on the machine that holds the secret key (never the
//! server): make a key pair, sign a release. Both in minisign's formats, so Debian's
//! `minisign -Vm FILE -p KEY` checks what this signs.

use std::path::{Path, PathBuf};

use minisign::{KeyPair, PublicKey, SecretKey, SecretKeyBox};
use optralis_proto::release::ReleaseComment;
use optralis_proto::release::verify::TrustedKey;

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} exists: refusing to overwrite a key")]
    Exists(PathBuf),
    #[error("minisign: {0}")]
    Minisign(#[from] minisign::PError),
    #[error("the new signature does not verify: {0}")]
    SelfCheck(#[from] optralis_proto::release::verify::VerifyError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SigningError + '_ {
    move |source| SigningError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The files of a key pair in `dir`.
pub fn key_paths(dir: &Path) -> (PathBuf, PathBuf) {
    (
        dir.join("optralis-release.key"),
        dir.join("optralis-release.pub"),
    )
}

/// Makes a key pair in `dir`: the secret key (mode 0600, encrypted with `password` unless
/// it is `None`) and the public key. Returns the public key as the server and agents trust it.
pub fn keygen(dir: &Path, password: Option<String>) -> Result<TrustedKey, SigningError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let (secret, public) = key_paths(dir);
    for path in [&secret, &public] {
        if path.exists() {
            return Err(SigningError::Exists(path.clone()));
        }
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let KeyPair { pk, sk } = match password {
        Some(p) => KeyPair::generate_encrypted_keypair(Some(p))?,
        None => KeyPair::generate_unencrypted_keypair()?,
    };
    let sk_box = sk.to_box(Some("Optralis release signing key (keep offline)"))?;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&secret)
        .and_then(|mut f| f.write_all(sk_box.to_string().as_bytes()))
        .map_err(io(&secret))?;
    let pk_text = pk.to_box()?.to_string();
    std::fs::write(&public, &pk_text).map_err(io(&public))?;
    Ok(TrustedKey::parse(&pk_text)?)
}

/// Reads a secret key: unencrypted as is, else decrypted with `password` (asked for on
/// the terminal when `None`).
pub fn load_secret_key(path: &Path, password: Option<String>) -> Result<SecretKey, SigningError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let sk_box = SecretKeyBox::from_string(&text)?;
    match SecretKey::from_unencrypted_box(sk_box.clone()) {
        Ok(sk) => Ok(sk),
        Err(_) => Ok(SecretKey::from_box(sk_box, password)?),
    }
}

/// Signs `file` as the release `comment` names; returns the `.minisig` text, checked.
pub fn sign(sk: &SecretKey, file: &Path, comment: &ReleaseComment) -> Result<String, SigningError> {
    let pk = PublicKey::from_secret_key(sk)?;
    let reader = std::fs::File::open(file).map_err(io(file))?;
    let signature = minisign::sign(
        Some(&pk),
        sk,
        std::io::BufReader::new(reader),
        Some(&comment.format()),
        Some("signature from optralis release sign"),
    )?
    .to_string();
    let trusted = TrustedKey::parse(&pk.to_box()?.to_string())?;
    let reader = std::fs::File::open(file).map_err(io(file))?;
    optralis_proto::release::verify::verify_release(&[trusted], reader, &signature)?;
    Ok(signature)
}
