//! Release signing for tests: a real minisign key pair in a temporary directory, files
//! signed the way `optralis release sign` signs them, published through the store.

use std::path::{Path, PathBuf};

use optralis::store::Store;
use optralis::updates::signing;
use optralis_proto::release::verify::TrustedKey;
use optralis_proto::release::{AgentRelease, Platform, ReleaseComment};
use sqlx::Connection;

pub struct ReleaseKey {
    pub dir: tempfile::TempDir,
    pub public: TrustedKey,
}

impl ReleaseKey {
    /// A fresh unencrypted key pair.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let public = signing::keygen(dir.path(), None).unwrap();
        Self { dir, public }
    }

    pub fn secret_path(&self) -> PathBuf {
        signing::key_paths(self.dir.path()).0
    }

    /// The `.minisig` text of `file` as release `version` for `platform`.
    pub fn sign(&self, file: &Path, version: &str, platform: Platform, serial: u64) -> String {
        let sk = signing::load_secret_key(&self.secret_path(), None).unwrap();
        let comment = ReleaseComment {
            version: version.to_owned(),
            platform,
            serial,
        };
        signing::sign(&sk, file, &comment).unwrap()
    }

    /// Signs `file` and publishes it on `store` (which must trust this key).
    pub async fn publish(
        &self,
        store: &Store,
        file: &Path,
        version: &str,
        platform: Platform,
        serial: u64,
    ) -> AgentRelease {
        let signature = self.sign(file, version, platform, serial);
        let bytes = std::fs::read(file).unwrap();
        let keys = store.release_keys().await.unwrap();
        let checked = optralis::updates::check_release(&keys, &bytes, &signature, None).unwrap();
        store
            .publish_release(&checked, &signature, &bytes)
            .await
            .unwrap()
    }
}

/// An executable shell script standing in for a broken agent build.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Replaces a published release's bytes (and the size the server offers) behind the
/// server's back, as a compromised or broken server would serve them.
pub async fn corrupt_release(url: &str, version: &str, file: &[u8], size: usize) {
    let sql = "UPDATE agent_releases SET file = $1, size = $2 WHERE version = $3";
    let size = size as i64;
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        let q = sqlx::query(sql).bind(file).bind(size).bind(version);
        q.execute(&mut conn).await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        let q = sqlx::query(sql).bind(file).bind(size).bind(version);
        q.execute(&mut conn).await.unwrap();
    }
}

/// The "next" agent the tests update to: the same code built with another version
/// (`cargo xtask test` builds it; see OPTRALIS_TEST_AGENT_NEXT).
pub fn next_agent() -> (PathBuf, String) {
    let path = std::env::var_os("OPTRALIS_TEST_AGENT_NEXT")
        .map(PathBuf::from)
        .expect(
            "OPTRALIS_TEST_AGENT_NEXT is not set: run the tests with `cargo xtask test`, which \
             builds the agent a second time with the next version (or build it with \
             `OPTRALIS_AGENT_VERSION=0.1.1-next cargo build -p optralis-agent --profile agent-next` \
             and set OPTRALIS_TEST_AGENT_NEXT=target/agent-next/optralis-agent)",
        );
    assert!(path.is_file(), "{} is missing", path.display());
    let out = std::process::Command::new(&path)
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let version = text.trim().rsplit(' ').next().unwrap().to_owned();
    (path, version)
}
