//! The agent files this server hands out (`--dist-dir`, as `cargo xtask dist` lays them out)
//! and the install scripts that fetch from this same server and check the SHA-256: install.sh
//! (the Linux binary, then `optralis-agent install`) and install.ps1 (the Windows installer,
//! run silently).

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
const POWERSHELL_SCRIPT: &str = include_str!("install.ps1");

/// What is served: the agent's files, and smartctl for Windows with its source (GPL-2.0:
/// whoever gets the binary from here can get the source from here too).
const SERVED_PREFIXES: [&str; 3] = ["optralis-agent", "smartctl-", "smartmontools_"];

impl Downloads {
    /// The agent's files in `dir` (see [`SERVED_PREFIXES`]), with their digests.
    pub fn scan(dir: &Path) -> std::io::Result<Self> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let served = SERVED_PREFIXES.iter().any(|p| name.starts_with(p));
            if !served || !entry.file_type()?.is_file() {
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

    /// The Windows installer, which install.ps1 runs.
    pub fn windows_installer(&self) -> Option<&Artefact> {
        self.files.iter().find(|f| {
            f.name.starts_with("optralis-agent") && f.name.ends_with("-windows-x86_64-setup.exe")
        })
    }

    /// install.ps1 for clients reaching this server at `server` (`https://host`).
    pub fn powershell_script(&self, server: &str) -> Option<String> {
        let installer = self.windows_installer()?;
        Some(fill(POWERSHELL_SCRIPT, server, "@INSTALLER@", installer))
    }

    /// The install script for clients reaching this server at `server` (`https://host`).
    pub fn install_script(&self, server: &str) -> Option<String> {
        let binary = self.linux_binary()?;
        Some(fill(SCRIPT, server, "@BINARY@", binary))
    }
}

/// A script template with this server, the file it fetches (under `name_placeholder`) and
/// that file's SHA-256 filled in.
fn fill(template: &str, server: &str, name_placeholder: &str, file: &Artefact) -> String {
    template
        .replace("@SERVER@", server.trim_end_matches('/'))
        .replace(name_placeholder, &file.name)
        .replace("@SHA256@", &file.sha256)
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
        assert!(d.powershell_script("https://optralis.example").is_none());
    }

    #[test]
    fn the_powershell_script_names_this_server_and_the_installer_digest() {
        let dir = tempfile::tempdir().unwrap();
        let installer = "optralis-agent-0.1.0-windows-x86_64-setup.exe";
        std::fs::write(dir.path().join(installer), b"setup").unwrap();
        std::fs::write(dir.path().join("smartmontools_7.3.orig.tar.xz"), b"source").unwrap();
        let d = Downloads::scan(dir.path()).unwrap();
        assert!(
            d.find("smartmontools_7.3.orig.tar.xz").is_some(),
            "the GPL source is served"
        );
        let script = d.powershell_script("https://optralis.example/").unwrap();
        assert!(script.contains("$Server = 'https://optralis.example'"));
        assert!(script.contains(&format!("$Installer = '{installer}'")));
        assert!(script.contains(&format!(
            "$Sha256 = '{}'",
            hex::encode(Sha256::digest(b"setup"))
        )));
        for placeholder in ["@SERVER@", "@INSTALLER@", "@SHA256@"] {
            assert!(!script.contains(placeholder), "{placeholder} is left");
        }
        // The key never goes on a command line.
        assert!(!script.contains("/KEY="));
    }
}
