//! Agent releases and their rollout: the platforms, the signed comment every release carries,
//! the update offer in the ingest reply and the agent's update status in each batch.

use serde::{Deserialize, Serialize};

#[cfg(feature = "verify")]
pub mod verify;

names! {
    /// What an agent binary runs on. A release is for exactly one.
    pub enum Platform("platform") {
        LinuxX86_64 = "linux-x86_64",
        LinuxAarch64 = "linux-aarch64",
        WindowsX86_64 = "windows-x86_64",
    }
}

impl Platform {
    /// The platform this code is compiled for, if it is one we release for.
    pub fn current() -> Option<Self> {
        match (std::env::consts::OS, std::env::consts::ARCH) {
            ("linux", "x86_64") => Some(Self::LinuxX86_64),
            ("linux", "aarch64") => Some(Self::LinuxAarch64),
            ("windows", "x86_64") => Some(Self::WindowsX86_64),
            _ => None,
        }
    }
}

names! {
    /// Where one machine stands in a rollout.
    pub enum UpdateState("update state") {
        /// Offered, not yet taken.
        Pending = "pending",
        Downloading = "downloading",
        /// Verified and swapped in; the new version is on trial.
        Applied = "applied",
        /// The new version reported within its health window.
        Healthy = "healthy",
        /// The new version failed its trial; the previous one runs again.
        RolledBack = "rolled_back",
        /// Refused before the swap (bad signature, wrong size, download failed…).
        Failed = "failed",
    }
}

impl UpdateState {
    /// A state a machine leaves only for another rollout.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Healthy | Self::RolledBack | Self::Failed)
    }
    /// Counted against the rollout's failure threshold.
    pub fn is_failure(self) -> bool {
        matches!(self, Self::RolledBack | Self::Failed)
    }
}

names! {
    pub enum RolloutState("rollout state") {
        Running = "running",
        Paused = "paused",
        /// Stopped by the failure threshold; resumes only by hand.
        Halted = "halted",
        /// Every machine in scope is healthy, failed or rolled back.
        Completed = "completed",
        /// Replaced by a newer rollout or cancelled.
        Cancelled = "cancelled",
    }
}

/// The trusted (signed) comment of a release's minisign signature:
/// `optralis-agent version=0.2.0 platform=linux-x86_64 serial=1764979200`.
/// It binds the file to a version, a platform and a serial that only grows, so a release
/// cannot be presented as another version, for another platform, or replayed as new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseComment {
    pub version: String,
    pub platform: Platform,
    pub serial: u64,
}

const COMMENT_PREFIX: &str = "optralis-agent";

impl ReleaseComment {
    pub fn format(&self) -> String {
        format!(
            "{COMMENT_PREFIX} version={} platform={} serial={}",
            self.version,
            self.platform.as_str(),
            self.serial
        )
    }

    pub fn parse(comment: &str) -> Result<Self, String> {
        let mut words = comment.split(' ');
        if words.next() != Some(COMMENT_PREFIX) {
            return Err(format!(
                "trusted comment {comment:?} is not an Optralis agent release's (it starts with {COMMENT_PREFIX:?})"
            ));
        }
        let (mut version, mut platform, mut serial) = (None, None, None);
        for word in words {
            match word.split_once('=') {
                Some(("version", v)) => version = Some(v),
                Some(("platform", p)) => platform = Some(p),
                Some(("serial", s)) => serial = Some(s),
                _ => return Err(format!("trusted comment: unexpected {word:?}")),
            }
        }
        let version = version.ok_or("trusted comment: no version=")?;
        Version::parse(version)?;
        let platform = platform
            .ok_or("trusted comment: no platform=")?
            .parse::<Platform>()
            .map_err(|e| e.to_string())?;
        let serial = serial
            .ok_or("trusted comment: no serial=")?
            .parse::<u64>()
            .map_err(|_| "trusted comment: serial= is not a whole number".to_owned())?;
        Ok(Self {
            version: version.to_owned(),
            platform,
            serial,
        })
    }
}

/// A semantic version (`MAJOR.MINOR.PATCH`, optionally `-PRERELEASE`), ordered as SemVer 2.0
/// orders them; build metadata (`+…`) is refused, since it would not order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    core: [u64; 3],
    pre: Vec<PreId>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum PreId {
    // Declared first: numeric identifiers sort before alphanumeric ones.
    Num(u64),
    Text(String),
}

impl Version {
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a semantic version such as 1.2.3 or 1.3.0-rc.1");
        let (core, pre) = match s.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (s, None),
        };
        let mut parts = [0u64; 3];
        let mut it = core.split('.');
        for part in &mut parts {
            let n = it.next().ok_or_else(bad)?;
            if n.is_empty() || (n.len() > 1 && n.starts_with('0')) {
                return Err(bad());
            }
            *part = n.parse().map_err(|_| bad())?;
        }
        if it.next().is_some() {
            return Err(bad());
        }
        let pre = match pre {
            None => Vec::new(),
            Some(p) => p
                .split('.')
                .map(|id| {
                    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    {
                        Err(bad())
                    } else if id.bytes().all(|b| b.is_ascii_digit()) {
                        id.parse().map(PreId::Num).map_err(|_| bad())
                    } else {
                        Ok(PreId::Text(id.to_owned()))
                    }
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Self { core: parts, pre })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        self.core
            .cmp(&other.core)
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                // A pre-release sorts before its release.
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}

/// In the ingest reply: the release this machine should run. The agent checks everything
/// itself (its own trusted keys, platform, version, serial) before it trusts a byte of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateOffer {
    pub version: String,
    pub platform: Platform,
    /// Bytes of the file; the agent downloads no more.
    pub size: u64,
    /// Hex SHA-256 of the file (the signature is what is trusted; this names the file).
    pub sha256: String,
    /// Path on this server to download it from, with the machine token.
    pub url: String,
    /// The minisign signature file (`.minisig`), text.
    pub signature: String,
    /// How long the new version has to report healthy before the agent goes back to the
    /// previous one, seconds.
    #[serde(default = "default_health_window_s")]
    pub health_window_s: u32,
}

/// The health window when a rollout sets none: two minutes.
pub const DEFAULT_HEALTH_WINDOW_S: u32 = 120;

fn default_health_window_s() -> u32 {
    DEFAULT_HEALTH_WINDOW_S
}

/// In each report batch: what the agent runs and where its last update stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentStatus {
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// The last offered release the agent acted on, and how it went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateReport {
    pub version: String,
    pub state: UpdateState,
    /// Why it failed or was rolled back, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A release the server holds. Releases are platform-wide (every organisation may roll them
/// out); their signatures were checked against the server's trusted keys when published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentRelease {
    pub version: String,
    pub platform: Platform,
    pub serial: u64,
    pub size: u64,
    pub sha256: String,
    /// The signing key's id, as minisign prints it (16 hex digits).
    pub key_id: String,
    pub published_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentReleaseList {
    pub releases: Vec<AgentRelease>,
}

/// Which machines a rollout covers: every machine of the organisation when empty; otherwise
/// those matching every given part.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RolloutScope {
    /// Machines in any of these groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// A label selector, e.g. `env=prod,tier in (web,api)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// Only these machines (ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub machines: Vec<String>,
}

/// `POST /api/v1/rollouts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateRollout {
    /// The version to run; a release of it must exist for each machine's platform.
    pub version: String,
    #[serde(default)]
    pub scope: RolloutScope,
    /// Machines updated first, alone, before any other (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_count: Option<u32>,
    /// Or a share of the machines in scope, 0–100, rounded up (instead of `canary_count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_percent: Option<u32>,
    /// Halt once more than this share of the updated machines failed, 0–100 (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halt_failure_percent: Option<u32>,
    /// How long a new version has to report healthy, seconds (default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_window_s: Option<u32>,
}

/// How many machines of a rollout stand where.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolloutProgress {
    /// Machines in scope.
    pub total: u32,
    /// Not offered yet.
    pub waiting: u32,
    pub pending: u32,
    pub downloading: u32,
    pub applied: u32,
    pub healthy: u32,
    pub rolled_back: u32,
    pub failed: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rollout {
    pub id: String,
    pub version: String,
    pub scope: RolloutScope,
    /// Canary machines, resolved from the count or the share when the rollout was made.
    pub canary_count: u32,
    pub halt_failure_percent: u32,
    pub health_window_s: u32,
    pub state: RolloutState,
    /// Why it halted, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub progress: RolloutProgress,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolloutList {
    pub rollouts: Vec<Rollout>,
}

/// `PATCH /api/v1/rollouts/{id}`: pause, resume or cancel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateRollout {
    /// `paused`, `running` (resume, also after a halt) or `cancelled`.
    pub state: RolloutState,
}

/// One machine of a rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MachineUpdate {
    pub machine_id: String,
    pub hostname: String,
    /// What the machine's agent last said it runs.
    pub agent_version: String,
    /// Absent while the machine waits for its turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<UpdateState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub canary: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MachineUpdateList {
    pub machines: Vec<MachineUpdate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_round_trips_and_refuses_others() {
        let c = ReleaseComment {
            version: "0.2.0".into(),
            platform: Platform::LinuxAarch64,
            serial: 7,
        };
        assert_eq!(
            c.format(),
            "optralis-agent version=0.2.0 platform=linux-aarch64 serial=7"
        );
        assert_eq!(ReleaseComment::parse(&c.format()).unwrap(), c);
        assert!(ReleaseComment::parse("timestamp:1700000000").is_err());
        assert!(
            ReleaseComment::parse("optralis-agent version=0.2 platform=linux-x86_64 serial=1")
                .is_err()
        );
        assert!(
            ReleaseComment::parse("optralis-agent version=0.2.0 platform=macos serial=1").is_err()
        );
        assert!(
            ReleaseComment::parse("optralis-agent version=0.2.0 platform=linux-x86_64").is_err()
        );
    }

    #[test]
    fn versions_order_as_semver() {
        let v = |s| Version::parse(s).unwrap();
        let ordered = [
            "0.1.0",
            "0.1.1-alpha",
            "0.1.1-alpha.1",
            "0.1.1-alpha.beta",
            "0.1.1-beta.2",
            "0.1.1-beta.11",
            "0.1.1-rc.1",
            "0.1.1",
            "0.2.0",
            "1.0.0",
            "10.0.0",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        for bad in [
            "1.2",
            "1.2.3.4",
            "01.2.3",
            "1.2.3+build",
            "1.2.3-",
            "a.b.c",
            "",
        ] {
            assert!(Version::parse(bad).is_err(), "{bad}");
        }
    }
}
