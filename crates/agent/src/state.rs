//! What the agent keeps between runs in its state directory: the enrollment (machine
//! token, mode 0600) and, where the OS has no machine id, a generated instance id.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is corrupt: {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StateError + use<> {
    let path = path.to_owned();
    move |source| StateError::Io {
        action,
        path,
        source,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    pub server: String,
    pub machine_id: String,
    pub machine_token: String,
}

const ENROLLMENT_FILE: &str = "enrollment.json";
const INSTANCE_FILE: &str = "instance-id";

/// The state directory a service or a user gets when none is given.
pub fn default_state_dir() -> PathBuf {
    #[cfg(unix)]
    {
        if rustix::process::geteuid().is_root() {
            return PathBuf::from("/var/lib/optralis-agent");
        }
        if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir).join("optralis-agent");
        }
        if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
            return PathBuf::from(home).join(".local/state/optralis-agent");
        }
        PathBuf::from("optralis-agent-state")
    }
    #[cfg(windows)]
    {
        let base = std::env::var_os("ProgramData").unwrap_or_else(|| "C:\\ProgramData".into());
        PathBuf::from(base).join("Optralis").join("agent")
    }
}

pub fn ensure_dir(dir: &Path) -> Result<(), StateError> {
    std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io("restrict", dir))?;
    }
    Ok(())
}

pub fn load_enrollment(dir: &Path) -> Result<Option<Enrollment>, StateError> {
    let path = dir.join(ENROLLMENT_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| StateError::Corrupt { path, source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("read", &path)(e)),
    }
}

/// Writes the enrollment atomically, readable by the owner only.
pub fn save_enrollment(dir: &Path, e: &Enrollment) -> Result<(), StateError> {
    let bytes = serde_json::to_vec_pretty(e).map_err(|source| StateError::Corrupt {
        path: dir.join(ENROLLMENT_FILE),
        source,
    })?;
    write_private(&dir.join(ENROLLMENT_FILE), &bytes)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp).map_err(io("create", &tmp))?;
    f.write_all(bytes).map_err(io("write", &tmp))?;
    f.sync_all().map_err(io("sync", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("replace", path))
}

/// A stable, hashed identity for this machine: from the OS's machine id when it has one,
/// else from an id generated once and kept in the state directory. Hashed so the raw
/// machine id never leaves the host.
pub fn fingerprint(os_machine_id: Option<String>, dir: &Path) -> Result<String, StateError> {
    let source = match os_machine_id {
        Some(id) => id,
        None => {
            let path = dir.join(INSTANCE_FILE);
            match std::fs::read_to_string(&path) {
                Ok(id) if id.trim().len() >= 16 => id.trim().to_owned(),
                _ => {
                    let mut bytes = [0u8; 16];
                    getrandom::fill(&mut bytes).map_err(|e| StateError::Io {
                        action: "generate an id for",
                        path: path.clone(),
                        source: std::io::Error::other(e.to_string()),
                    })?;
                    let id = hex::encode(bytes);
                    write_private(&path, id.as_bytes())?;
                    id
                }
            }
        }
    };
    Ok(hex::encode(Sha256::digest(
        format!("optralis-machine:{source}").as_bytes(),
    )))
}
