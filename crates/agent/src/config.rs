//! Agent configuration: defaults < TOML file (`--config`) < `OPTRALIS_*` environment <
//! flags. Flags and environment are read by clap in `main.rs`.

use std::path::{Path, PathBuf};

use optralis_proto::interval::Thresholds;
use serde::Deserialize;

use crate::send::outbox::OutboxLimits;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub server: Option<String>,
    pub enroll_key: Option<String>,
    pub state_dir: Option<PathBuf>,
    /// Forced interval, e.g. "30s".
    pub interval: Option<String>,
    pub log_format: Option<String>,
    /// How often disks are read with smartctl, e.g. "30m", or "off".
    pub smart_interval: Option<String>,
    pub smartctl: Option<PathBuf>,
    /// Labels this machine declares (`[labels]` table: `env = "prod"`), read-only in the API.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub thresholds: Thresholds,
    #[serde(default)]
    pub outbox: OutboxFile,
    #[serde(default)]
    pub events: EventsFile,
    #[serde(default)]
    pub update: UpdateFileConfig,
}

/// `[update]`: signed self-update from the server.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateFileConfig {
    /// `false` refuses every offer [default: true when a key is trusted].
    pub enabled: Option<bool>,
    /// The minisign public keys (base64, the second line of a `.pub` file) a release must be
    /// signed by. Set at install; never taken from the server.
    #[serde(default)]
    pub public_keys: Vec<String>,
}

/// `[events]`: system events (journald, Windows Event Log).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsFile {
    /// `false` stops reading events [default: true].
    pub enabled: Option<bool>,
    pub journalctl: Option<PathBuf>,
    /// Journal files to read instead of the system journal.
    #[serde(default)]
    pub journal_files: Vec<PathBuf>,
    /// Distinct events per report at most; the rest are counted as suppressed [default: 100].
    pub max_per_report: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxFile {
    pub max_reports: Option<u64>,
    pub max_megabytes: Option<u64>,
    pub max_age_hours: Option<u64>,
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// The update settings; a key that does not parse is an error, not a silent "off".
    pub fn update_config(&self) -> Result<crate::update::UpdateConfig, String> {
        let keys = self
            .update
            .public_keys
            .iter()
            .map(|k| {
                optralis_proto::release::verify::TrustedKey::parse(k)
                    .map_err(|e| format!("[update] public_keys: {k:?}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(crate::update::UpdateConfig {
            enabled: self.update.enabled.unwrap_or(true),
            keys,
        })
    }

    pub fn outbox_limits(&self) -> OutboxLimits {
        let d = OutboxLimits::default();
        OutboxLimits {
            max_reports: self.outbox.max_reports.unwrap_or(d.max_reports).max(1),
            max_bytes: self
                .outbox
                .max_megabytes
                .map_or(d.max_bytes, |m| m * 1024 * 1024),
            max_age_ms: self
                .outbox
                .max_age_hours
                .map_or(d.max_age_ms, |h| h as i64 * 3_600_000),
        }
    }
}

/// Parses "30s", "2m", "1m30s".
pub fn parse_interval(s: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e} (try 30s or 2m)"))?;
    if d < std::time::Duration::from_secs(1) || d > std::time::Duration::from_secs(86_400) {
        return Err(format!("{s:?}: the interval must be between 1s and 24h"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("2s").unwrap().as_secs(), 2);
        assert_eq!(parse_interval("1m30s").unwrap().as_secs(), 90);
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("soon").is_err());
    }

    #[test]
    fn file_config_reads_thresholds_and_outbox() {
        let f: FileConfig = toml::from_str(
            "server = \"http://x\"\n[thresholds]\ncpu_percent = 50\n[outbox]\nmax_reports = 10\n",
        )
        .unwrap();
        assert_eq!(f.thresholds.cpu_percent, 50.0);
        assert_eq!(f.thresholds.memory_percent, 90.0);
        assert_eq!(f.outbox_limits().max_reports, 10);
        assert!(toml::from_str::<FileConfig>("unknown = 1").is_err());
    }
}
