//! Secrets the server keeps in its database, sealed at rest with the server's secret key
//! (the one that seals channel configurations): the key that signs access tokens, and each
//! user's TOTP secret. A copy of the database alone then forges no token and yields no
//! second factor. Values stored in clear by earlier versions are sealed at start-up.

use crate::ids::UserId;
use crate::notify::seal::{SEALED_PREFIX, Sealer};
use crate::store::{Store, StoreError};

const SIGNING_KEY: &str = "jwt_hs256";

fn signing_context() -> String {
    format!("optralis-server-secret:{SIGNING_KEY}")
}

fn totp_context(user: &UserId) -> String {
    format!("optralis-totp:{user}")
}

fn sealing_failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("cannot seal a server secret: {e}"))
}

/// The token signing key: created on first start (the first replica's wins), sealed.
/// One this secret key cannot open means this server was given another secret key than
/// the one the database was sealed with: it refuses to start (replacing the signing key
/// would sign out the other replicas' users, and the channels and second factors sealed
/// with the old key could not be opened anyway).
pub async fn signing_key(store: &Store, sealer: &Sealer) -> Result<Vec<u8>, StoreError> {
    let context = signing_context();
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh).map_err(|e| StoreError::Random(e.to_string()))?;
    let sealed_fresh = sealer.seal(&context, &fresh).map_err(sealing_failed)?;
    let stored = store.server_secret(SIGNING_KEY, &sealed_fresh).await?;
    if stored.starts_with(SEALED_PREFIX) {
        return sealer.open(&context, &stored).map_err(|_| {
            StoreError::Corrupt(
                "this database was sealed with another secret key: start the server with the \
                 same OPTRALIS_SECRET_KEY (or DATA_DIR/secret.key) as before"
                    .into(),
            )
        });
    }
    // Kept in clear by an earlier version: seal it in place.
    let key = hex::decode(&stored).map_err(|e| StoreError::Corrupt(format!("signing key: {e}")))?;
    let sealed = sealer.seal(&context, &key).map_err(sealing_failed)?;
    store.replace_server_secret(SIGNING_KEY, &sealed).await?;
    tracing::info!("the token signing key is now sealed at rest");
    Ok(key)
}

/// A TOTP secret as stored for `user`.
pub fn seal_totp(sealer: &Sealer, user: &UserId, secret: &str) -> Result<String, StoreError> {
    sealer
        .seal(&totp_context(user), secret.as_bytes())
        .map_err(sealing_failed)
}

/// The TOTP secret stored for `user`, or None when it does not open (another secret key).
pub fn open_totp(sealer: &Sealer, user: &UserId, stored: &str) -> Option<String> {
    if !stored.starts_with(SEALED_PREFIX) {
        // Left in clear by an earlier version and not yet sealed.
        return Some(stored.to_owned());
    }
    let plain = sealer.open(&totp_context(user), stored).ok()?;
    String::from_utf8(plain).ok()
}

/// Seals the TOTP secrets earlier versions stored in clear; returns how many.
pub async fn seal_clear_totp_secrets(store: &Store, sealer: &Sealer) -> Result<usize, StoreError> {
    let clear = store.clear_totp_secrets(SEALED_PREFIX).await?;
    for (user, secret, pending) in &clear {
        let seal =
            |s: &Option<String>| s.as_deref().map(|s| seal_totp(sealer, user, s)).transpose();
        store
            .replace_totp_secrets(user, seal(secret)?.as_deref(), seal(pending)?.as_deref())
            .await?;
    }
    if !clear.is_empty() {
        tracing::info!(users = clear.len(), "TOTP secrets are now sealed at rest");
    }
    Ok(clear.len())
}
