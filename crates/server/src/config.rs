//! Server configuration: defaults < TOML file (`--config`) < `OPTRALIS_*` environment <
//! command-line flags. Flags and environment are read by clap in `main.rs`; this module
//! owns the file format and the merge.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use optralis_proto::interval::Thresholds;
use serde::Deserialize;

use crate::api::ApiSettings;
use crate::store::DAY_MS;
use crate::store::Retention;

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
    #[error("{0}")]
    Invalid(String),
}

/// The TOML file. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub log_format: Option<String>,
    pub max_body_bytes: Option<usize>,
    #[serde(default)]
    pub retention: RetentionDays,
    pub thresholds: Option<Thresholds>,
    /// Behind a reverse proxy (Caddy): take client addresses from X-Forwarded-For, for
    /// login throttling and the audit log. Never set it when clients reach the server directly.
    #[serde(default)]
    pub trust_forwarded_for: bool,
    /// Where users reach the dashboard (`https://optralis.example.com`): notifications link
    /// to it.
    pub public_url: Option<String>,
    /// Networks notification channels may reach besides public addresses (comma-separated
    /// CIDR list); `OPTRALIS_NOTIFY_ALLOWED_NETWORKS` overrides it.
    pub notify_allowed_networks: Option<String>,
    /// Per-organisation and per-caller limits, and the HTTP listener's.
    #[serde(default)]
    pub limits: crate::api::limits::Limits,
    #[serde(default)]
    pub http: crate::serve::HttpLimits,
    /// The mail server for invitations and password resets (needs `public_url`).
    pub smtp: Option<crate::notify::mail::SmtpSettings>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionDays {
    pub raw_days: Option<u32>,
    pub five_min_days: Option<u32>,
    pub hour_days: Option<u32>,
    /// System events [default: 30].
    pub events_days: Option<u32>,
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

    pub fn retention(&self) -> Result<Retention, ConfigError> {
        let d = Retention::default();
        let days =
            |v: Option<u32>, default_ms: i64| v.map_or(default_ms, |d| i64::from(d) * DAY_MS);
        let r = Retention {
            raw_ms: days(self.retention.raw_days, d.raw_ms),
            five_min_ms: days(self.retention.five_min_days, d.five_min_ms),
            hour_ms: days(self.retention.hour_days, d.hour_ms),
            events_ms: days(self.retention.events_days, d.events_ms),
        };
        if r.raw_ms < DAY_MS || r.five_min_ms < r.raw_ms || r.hour_ms < r.five_min_ms {
            return Err(ConfigError::Invalid(
                "retention: need 1 <= raw_days <= five_min_days <= hour_days".into(),
            ));
        }
        if r.events_ms < DAY_MS {
            return Err(ConfigError::Invalid(
                "retention: events_days must be at least 1".into(),
            ));
        }
        Ok(r)
    }

    pub fn api_settings(&self) -> Result<ApiSettings, ConfigError> {
        let mut s = ApiSettings {
            retention: self.retention()?,
            ..ApiSettings::default()
        };
        s.ingest.max_age_ms = s.retention.raw_ms;
        if let Some(max) = self.max_body_bytes {
            s.max_body_bytes = max;
        }
        if let Some(t) = self.thresholds {
            s.thresholds = t;
        }
        s.trust_forwarded_for = self.trust_forwarded_for;
        s.limits = self.limits;
        if let Some(url) = &self.public_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError::Invalid(format!(
                    "public_url {url:?}: expected https://host[:port]"
                )));
            }
            s.public_url = Some(url.trim_end_matches('/').to_owned());
        }
        Ok(s)
    }
}

/// `sqlite://DATA_DIR/optralis.db`, the embedded default.
pub fn default_database_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("optralis.db").display())
}

pub fn parse_listen(s: &str) -> Result<SocketAddr, ConfigError> {
    s.parse().map_err(|_| {
        ConfigError::Invalid(format!(
            "listen: {s:?} is not an address like 127.0.0.1:8080"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_retention_overrides_defaults_and_is_checked() {
        let f: FileConfig = toml::from_str("[retention]\nraw_days = 3\n").unwrap();
        assert_eq!(f.retention().unwrap().raw_ms, 3 * DAY_MS);
        assert_eq!(f.retention().unwrap().hour_ms, Retention::default().hour_ms);
        let bad: FileConfig = toml::from_str("[retention]\nraw_days = 100\n").unwrap();
        assert!(bad.retention().is_err());
        assert!(toml::from_str::<FileConfig>("nonsense = 1").is_err());
    }
}
