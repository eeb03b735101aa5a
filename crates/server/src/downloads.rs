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

    /// The plain Linux binary for `arch` (`x86_64`, `aarch64`), which the script installs.
    pub fn linux_binary(&self, arch: &str) -> Option<&Artefact> {
        let suffix = format!("-linux-{arch}");
        self.files
            .iter()
            .find(|f| f.name.starts_with("optralis-agent") && f.name.ends_with(&suffix))
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
        Some(
            POWERSHELL_SCRIPT
                .replace("@SERVER@", server.trim_end_matches('/'))
                .replace("@INSTALLER@", &installer.name)
                .replace("@SHA256@", &installer.sha256),
        )
    }

    /// The install script for clients reaching this server at `server` (`https://host`).
    pub fn install_script(&self, server: &str) -> Option<String> {
        let x86_64 = self.linux_binary("x86_64");
        let aarch64 = self.linux_binary("aarch64");
        if x86_64.is_none() && aarch64.is_none() {
            return None;
        }
        let name = |a: Option<&Artefact>| a.map_or("", |a| a.name.as_str()).to_owned();
        let sha = |a: Option<&Artefact>| a.map_or("", |a| a.sha256.as_str()).to_owned();
        Some(
            SCRIPT
                .replace("@SERVER@", server.trim_end_matches('/'))
                .replace("@BINARY_X86_64@", &name(x86_64))
                .replace("@SHA256_X86_64@", &sha(x86_64))
                .replace("@BINARY_AARCH64@", &name(aarch64))
                .replace("@SHA256_AARCH64@", &sha(aarch64)),
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
            "sha256_x86_64='{}'",
            hex::encode(Sha256::digest(b"agent"))
        )));
        // No aarch64 build here: the script says so on such a machine.
        assert!(script.contains("binary_aarch64=''"));
        for placeholder in [
            "@SERVER@",
            "@BINARY_X86_64@",
            "@SHA256_X86_64@",
            "@BINARY_AARCH64@",
            "@SHA256_AARCH64@",
        ] {
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
