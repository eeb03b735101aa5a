//! The update state on disk: `STATE_DIR/update/state.json`, replaced atomically, plus one
//! directory per staged release holding its binary and signature.
//!
//! Every step of an update changes this file once, so a process killed at any point leaves
//! either the old state (the previous binary runs) or the new one (the new binary runs, or
//! its trial resumes): never a state naming a file that is not there.

use std::path::{Path, PathBuf};

use optralis_proto::release::{UpdateReport, UpdateState as Outcome};
use serde::{Deserialize, Serialize};

use crate::state::StateError;

const FILE: &str = "state.json";
/// Written by the binary on trial once a report of its own was acknowledged.
const HEALTHY_FILE: &str = "healthy";

/// A release on disk, verified when it was staged (and again before it is run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staged {
    pub version: String,
    pub serial: u64,
    /// The directory holding `optralis-agent` and `optralis-agent.minisig`.
    pub dir: PathBuf,
}

impl Staged {
    pub fn binary(&self) -> PathBuf {
        self.dir.join(BINARY)
    }
    pub fn signature(&self) -> PathBuf {
        self.dir.join(SIGNATURE)
    }
}

#[cfg(unix)]
pub const BINARY: &str = "optralis-agent";
#[cfg(windows)]
pub const BINARY: &str = "optralis-agent.exe";
pub const SIGNATURE: &str = "optralis-agent.minisig";

/// The release the agent accepted with the highest version; nothing lower or older (by
/// serial) is accepted again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    pub version: String,
    pub serial: u64,
}

/// A new binary on trial: it must report healthy before the deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trial {
    pub version: String,
    pub deadline_ms: i64,
    pub health_window_s: u32,
    /// Times a supervisor started it: a trial interrupted twice is not tried a third time.
    pub starts: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateFile {
    /// The staged release to run; `None`: the installed binary.
    #[serde(default)]
    pub current: Option<Staged>,
    /// What `current` replaced, to come back to; `None`: the installed binary.
    #[serde(default)]
    pub previous: Option<Staged>,
    #[serde(default)]
    pub trial: Option<Trial>,
    #[serde(default)]
    pub accepted: Option<Accepted>,
    /// The last offer acted on and how it went, as the server is told.
    #[serde(default)]
    pub last: Option<UpdateReport>,
    /// The last offer refused (version, SHA-256), so the same one is not fetched again.
    #[serde(default)]
    pub refused: Option<(String, String)>,
}

impl UpdateFile {
    pub fn set_last(&mut self, version: &str, state: Outcome, reason: Option<String>) {
        self.last = Some(UpdateReport {
            version: version.to_owned(),
            state,
            reason,
        });
    }
}

/// `STATE_DIR/update`.
pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("update")
}

pub fn load(update_dir: &Path) -> Result<UpdateFile, StateError> {
    let path = update_dir.join(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).map_err(|source| StateError::Corrupt { path, source })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(UpdateFile::default()),
        Err(source) => Err(StateError::Io {
            action: "read",
            path,
            source,
        }),
    }
}

pub fn save(update_dir: &Path, file: &UpdateFile) -> Result<(), StateError> {
    crate::state::ensure_dir(update_dir)?;
    let path = update_dir.join(FILE);
    let bytes = serde_json::to_vec_pretty(file).map_err(|source| StateError::Corrupt {
        path: path.clone(),
        source,
    })?;
    crate::state::write_private(&path, &bytes)?;
    crate::state::sync_dir(update_dir)
}

/// Marks `version` healthy (by the binary on trial).
pub fn mark_healthy(update_dir: &Path, version: &str) -> Result<(), StateError> {
    crate::state::write_private(&update_dir.join(HEALTHY_FILE), version.as_bytes())
}

/// Whether the binary on trial said it is healthy.
pub fn is_marked_healthy(update_dir: &Path, version: &str) -> bool {
    std::fs::read_to_string(update_dir.join(HEALTHY_FILE)).is_ok_and(|v| v == version)
}

pub fn clear_healthy(update_dir: &Path) {
    let _ = std::fs::remove_file(update_dir.join(HEALTHY_FILE));
}

/// Where a release of `version` is staged.
pub fn release_dir(update_dir: &Path, version: &str) -> PathBuf {
    update_dir.join("releases").join(version)
}

/// Removes staged releases the state no longer names (left by a process killed between
/// saving the state and removing them): at most two are kept, the current and the previous.
pub fn sweep(update_dir: &Path, file: &UpdateFile) {
    let Ok(entries) = std::fs::read_dir(update_dir.join("releases")) else {
        return;
    };
    let kept: Vec<&Path> = [&file.current, &file.previous]
        .into_iter()
        .flatten()
        .map(|s| s.dir.as_path())
        .collect();
    for entry in entries.flatten() {
        let path = entry.path();
        if !kept.contains(&path.as_path()) {
            tracing::info!(path = %path.display(), "removing a release no longer used");
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}
