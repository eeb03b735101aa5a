//! The agent files this server hands out (`--dist-dir`, as `cargo xtask dist` lays them out)
//! and the install script that fetches the Linux binary from this same server, checks its
//! SHA-256 and runs `optralis-agent install`.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// One file of the dist directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artefact {
    pub name: String,
    pub sha256: String,
    pub size: u64,
    pub path: PathBuf,
}

/// The dist directory as it was at start-up.
#[derive(Debug, Clone, Default)]
pub struct Downloads {
    files: Vec<Artefact>,
}

const SCRIPT: &str = include_str!("install.sh");

impl Downloads {
    /// The agent's files in `dir` (names starting `optralis-agent`), with their digests.
    pub fn scan(dir: &Path) -> std::io::Result<Self> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with("optralis-agent") || !entry.file_type()?.is_file() {
                continue;
            }
            let bytes = std::fs::read(entry.path())?;
            files.push(Artefact {
                sha256: hex::encode(Sha256::digest(&bytes)),
                size: bytes.len() as u64,
                name,
                path: entry.path(),
            });
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self { files })
    }

    pub fn files(&self) -> &[Artefact] {
        &self.files
    }

    /// A file by its exact name (never a path: names come from the directory listing).
    pub fn find(&self, name: &str) -> Option<&Artefact> {
        self.files.iter().find(|f| f.name == name)
    }

    /// The plain Linux x86_64 binary, which the script installs.
    pub fn linux_binary(&self) -> Option<&Artefact> {
        self.files
            .iter()
            .find(|f| f.name.ends_with("-linux-x86_64"))
    }

    /// The install script for clients reaching this server at `server` (`https://host`).
    pub fn install_script(&self, server: &str) -> Option<String> {
        let binary = self.linux_binary()?;
        Some(
            SCRIPT
                .replace("@SERVER@", server.trim_end_matches('/'))
                .replace("@BINARY@", &binary.name)
                .replace("@SHA256@", &binary.sha256),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_names_this_server_and_the_binary_digest() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("optralis-agent-0.1.0-linux-x86_64"),
            b"agent",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"not served").unwrap();
        let d = Downloads::scan(dir.path()).unwrap();
        assert_eq!(d.files().len(), 1);
        assert!(d.find("notes.txt").is_none());
        let script = d.install_script("https://optralis.example/").unwrap();
        assert!(script.contains("server='https://optralis.example'"));
        assert!(script.contains(&format!(
            "sha256='{}'",
            hex::encode(Sha256::digest(b"agent"))
        )));
        for placeholder in ["@SERVER@", "@BINARY@", "@SHA256@"] {
            assert!(!script.contains(placeholder), "{placeholder} is left");
        }
    }
}
