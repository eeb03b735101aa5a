//! What the agent keeps between runs in its state directory: the enrollment (machine
//! token, mode 0600; on Windows sealed with DPAPI) and, where the OS has no machine id, a
//! generated instance id.

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
    #[error("cannot open the machine token in {path}: {detail}")]
    Sealed { path: PathBuf, detail: String },
}

pub(crate) fn io(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> StateError + use<> {
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
    let Some(stored) = load_enrollment_as_stored(dir)? else {
        return Ok(None);
    };
    let machine_token =
        token_at_rest::open(&stored.machine_token).map_err(|detail| StateError::Sealed {
            path: dir.join(ENROLLMENT_FILE),
            detail,
        })?;
    Ok(Some(Enrollment {
        machine_token,
        ..stored
    }))
}

/// Writes the enrollment atomically, readable by the owner only.
pub fn save_enrollment(dir: &Path, e: &Enrollment) -> Result<(), StateError> {
    let path = dir.join(ENROLLMENT_FILE);
    let stored = Enrollment {
        machine_token: token_at_rest::seal(&e.machine_token).map_err(|detail| {
            StateError::Sealed {
                path: path.clone(),
                detail,
            }
        })?,
        ..e.clone()
    };
    write_enrollment(&path, &stored)
}

/// The enrollment file as it is stored (its token already sealed, or a reference).
fn write_enrollment(path: &Path, stored: &Enrollment) -> Result<(), StateError> {
    let bytes = serde_json::to_vec_pretty(stored).map_err(|source| StateError::Corrupt {
        path: path.to_owned(),
        source,
    })?;
    write_private(path, &bytes)
}

/// Whether the enrollment's token is a systemd credential rather than the token itself.
pub fn token_is_credential(e: &Enrollment) -> bool {
    e.machine_token.starts_with(token_at_rest::CREDENTIAL)
}

/// The enrollment as stored, without opening its token (an installer re-sealing it).
pub fn load_enrollment_as_stored(dir: &Path) -> Result<Option<Enrollment>, StateError> {
    let path = dir.join(ENROLLMENT_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| StateError::Corrupt { path, source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("read", &path)(e)),
    }
}

/// Writes the enrollment with its token replaced by a reference to the systemd credential
/// `name` (which the installer has just encrypted): the file then holds no secret.
pub fn save_enrollment_with_credential(
    dir: &Path,
    e: &Enrollment,
    name: &str,
) -> Result<(), StateError> {
    let path = dir.join(ENROLLMENT_FILE);
    let stored = Enrollment {
        machine_token: format!("{}{name}", token_at_rest::CREDENTIAL),
        ..e.clone()
    };
    write_enrollment(&path, &stored)
}

/// How the machine token is written in the enrollment file. On Windows it is sealed with
/// DPAPI (machine scope) and written `dpapi:HEX`; on Linux, where the installer could seal
/// it as a systemd credential, the file says `systemd-credential:NAME` and systemd hands the
/// service the decrypted token in `$CREDENTIALS_DIRECTORY/NAME`; otherwise the file's mode
/// protects it. A plain token is read everywhere, so a file written before sealing still
/// works (and is sealed on the next save).
mod token_at_rest {
    const SEALED: &str = "dpapi:";
    pub const CREDENTIAL: &str = "systemd-credential:";

    #[cfg(windows)]
    pub fn seal(token: &str) -> Result<String, String> {
        let sealed = crate::win32::dpapi::seal(token.as_bytes()).map_err(|e| e.to_string())?;
        Ok(format!("{SEALED}{}", hex::encode(sealed)))
    }

    #[cfg(not(windows))]
    pub fn seal(token: &str) -> Result<String, String> {
        Ok(token.to_owned())
    }

    pub fn open(stored: &str) -> Result<String, String> {
        if let Some(name) = stored.strip_prefix(CREDENTIAL) {
            return credential(name);
        }
        let Some(sealed) = stored.strip_prefix(SEALED) else {
            return Ok(stored.to_owned());
        };
        let bytes = hex::decode(sealed).map_err(|e| e.to_string())?;
        unseal(&bytes)
    }

    /// What systemd decrypted for the service (`LoadCredentialEncrypted=`).
    fn credential(name: &str) -> Result<String, String> {
        let unavailable = || {
            format!(
                "it is the encrypted systemd credential {name:?}, which only the service \
                 receives: start it with systemctl start optralis-agent (or run \
                 optralis-agent install again)"
            )
        };
        let dir = std::env::var_os("CREDENTIALS_DIRECTORY").ok_or_else(unavailable)?;
        let token = std::fs::read_to_string(std::path::Path::new(&dir).join(name))
            .map_err(|e| format!("{}: {e}", unavailable()))?;
        Ok(token.trim().to_owned())
    }

    #[cfg(windows)]
    fn unseal(bytes: &[u8]) -> Result<String, String> {
        let plain = crate::win32::dpapi::unseal(bytes)
            .map_err(|e| format!("DPAPI cannot open it (sealed on another machine?): {e}"))?;
        String::from_utf8(plain).map_err(|e| e.to_string())
    }

    #[cfg(not(windows))]
    fn unseal(_bytes: &[u8]) -> Result<String, String> {
        Err("the token was sealed with Windows DPAPI".into())
    }
}

/// Writes `path` through a temporary file and a rename, readable by the owner only.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
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

/// Makes a rename in `dir` durable (a no-op where directories cannot be synced).
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StateError> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("sync", dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn enrollment() -> Enrollment {
        Enrollment {
            server: "https://optralis.example".into(),
            machine_id: "m-1".into(),
            machine_token: "omt_secret_token_value".into(),
        }
    }

    #[test]
    fn the_enrollment_reads_back_as_it_was_saved() {
        let dir = tempfile::tempdir().unwrap();
        save_enrollment(dir.path(), &enrollment()).unwrap();
        assert_eq!(load_enrollment(dir.path()).unwrap(), Some(enrollment()));
        let text = std::fs::read_to_string(dir.path().join(ENROLLMENT_FILE)).unwrap();
        // Sealed on Windows; elsewhere the file's mode is what protects it.
        assert_eq!(text.contains("omt_secret_token_value"), cfg!(not(windows)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(ENROLLMENT_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_token_saved_in_the_clear_is_still_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(ENROLLMENT_FILE),
            serde_json::to_vec(&enrollment()).unwrap(),
        )
        .unwrap();
        assert_eq!(load_enrollment(dir.path()).unwrap(), Some(enrollment()));
    }

    #[test]
    fn a_damaged_seal_is_an_error_that_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let damaged = Enrollment {
            machine_token: "dpapi:00ff".into(),
            ..enrollment()
        };
        std::fs::write(
            dir.path().join(ENROLLMENT_FILE),
            serde_json::to_vec(&damaged).unwrap(),
        )
        .unwrap();
        let err = load_enrollment(dir.path()).unwrap_err().to_string();
        assert!(err.contains(ENROLLMENT_FILE), "{err}");
    }
}
