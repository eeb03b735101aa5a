//! What the agent sends and what the server answers on `/api/v1/agent/*`.

use serde::{Deserialize, Serialize};

/// Facts about the host that change rarely (sent at enrollment and on change).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostFacts {
    pub hostname: String,
    pub os_name: String,
    pub os_version: String,
    pub kernel_version: String,
    pub arch: String,
    pub cpu_model: String,
    #[serde(default)]
    pub cpu_physical_cores: Option<u32>,
    pub cpu_logical_cores: u32,
    pub agent_version: String,
}

/// `POST /api/v1/agent/enroll`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollRequest {
    pub enroll_key: String,
    /// Stable, hashed machine identity. Only a hint: it does not prove anything.
    pub fingerprint: String,
    pub facts: HostFacts,
    /// The machine token the agent holds, if any: the proof that lets a known machine
    /// enroll again as itself (same id and history). Without it, a new machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollResponse {
    pub machine_id: String,
    pub machine_token: String,
    /// Highest report sequence number the server holds for this machine, so an agent that lost
    /// its state continues after it instead of having its new reports taken for duplicates.
    pub last_seq: u64,
}

/// One collection: every sample taken at `ts_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    /// Per-machine sequence number, strictly increasing; ingest is idempotent on it.
    pub seq: u64,
    /// Collection time, epoch milliseconds (agent clock).
    pub ts_ms: i64,
    /// Interval the agent was running at when it took this sample, seconds.
    pub interval_s: u32,
    pub cpu: CpuSample,
    pub memory: MemorySample,
    #[serde(default)]
    pub filesystems: Vec<FilesystemSample>,
    #[serde(default)]
    pub disks: Vec<DiskIoSample>,
    #[serde(default)]
    pub networks: Vec<NetworkSample>,
    pub uptime_s: u64,
    pub boot_time_ms: i64,
    /// Absent (not 0) when the machine has no usable sensor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_temp_c: Option<f64>,
    /// Present when the facts changed since the last report (and on the first after start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<HostFacts>,
    #[serde(default)]
    pub outbox: OutboxStats,
    /// Disk health, on the reports that follow a S.M.A.R.T. reading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smart: Option<crate::smart::SmartSnapshot>,
    /// Labels declared in the agent's configuration (`key = "value"`), on every report;
    /// absent from agents that declare none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<std::collections::BTreeMap<String, String>>,
    /// System events read since the previous report; absent from agents that read none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<crate::events::EventBatch>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CpuSample {
    /// Busy share of all cores over the last interval, 0–100.
    pub percent: f64,
    #[serde(default)]
    pub per_core: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load1: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load5: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load15: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemorySample {
    pub total_bytes: u64,
    pub used_bytes: u64,
    pub available_bytes: u64,
    pub swap_total_bytes: u64,
    pub swap_used_bytes: u64,
}

impl MemorySample {
    pub fn used_percent(&self) -> f64 {
        percent(self.used_bytes, self.total_bytes)
    }
    pub fn swap_used_percent(&self) -> f64 {
        percent(self.swap_used_bytes, self.swap_total_bytes)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FilesystemSample {
    pub mount: String,
    pub fs_type: String,
    pub device: String,
    pub total_bytes: u64,
    pub used_bytes: u64,
    pub free_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inodes_total: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inodes_used: Option<u64>,
}

impl FilesystemSample {
    /// Share of the space usable by ordinary users that is used, as `df` shows it.
    pub fn used_percent(&self) -> f64 {
        percent(
            self.used_bytes,
            self.used_bytes.saturating_add(self.free_bytes),
        )
    }
    pub fn inodes_used_percent(&self) -> Option<f64> {
        match (self.inodes_used, self.inodes_total) {
            (Some(used), Some(total)) if total > 0 => Some(percent(used, total)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiskIoSample {
    pub device: String,
    pub read_bytes_per_s: f64,
    pub write_bytes_per_s: f64,
    pub read_ops_per_s: f64,
    pub write_ops_per_s: f64,
    /// Share of the interval the device had IO in flight, 0–100.
    pub busy_percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NetworkSample {
    pub interface: String,
    pub rx_bytes_per_s: f64,
    pub tx_bytes_per_s: f64,
    /// Errors and drops counted during the interval.
    pub rx_errors: u64,
    pub tx_errors: u64,
    pub rx_drops: u64,
    pub tx_drops: u64,
}

/// The agent's offline buffer, as seen when the report was taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutboxStats {
    /// Reports discarded since the agent's state was created because the buffer was full.
    pub dropped_total: u64,
    /// Reports waiting to be sent.
    pub pending: u64,
}

/// `POST /api/v1/agent/reports` body (gzip or zstd compressed).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportBatch {
    /// Agent clock when the batch was sent: the server corrects clock skew with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at_ms: Option<i64>,
    pub reports: Vec<Report>,
    /// What the agent runs and how its last update went; absent from older agents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<crate::release::AgentStatus>,
}

/// Reply to a report batch. `accepted` lists sequence numbers the server has committed
/// (including ones it already had); `rejected` ones will never be accepted as sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestResponse {
    pub accepted: Vec<u64>,
    #[serde(default)]
    pub rejected: Vec<RejectedReport>,
    /// Interval the server wants the agent to use, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_interval_s: Option<u32>,
    pub server_time_ms: i64,
    /// The release this machine should run, while a rollout offers it one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<crate::release::UpdateOffer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RejectedReport {
    /// Position in the batch.
    pub index: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Path of the offending field, e.g. `reports[0].cpu.percent`.
    pub field: String,
    pub message: String,
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 / whole as f64 * 100.0).clamp(0.0, 100.0)
    }
}
