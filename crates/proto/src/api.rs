//! What the REST API answers to users and tools.

use serde::{Deserialize, Serialize};

use crate::agent::{DiskIoSample, FilesystemSample, HostFacts, MemorySample, NetworkSample};

/// Every error: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MachineList {
    pub machines: Vec<Machine>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Machine {
    pub id: String,
    pub hostname: String,
    pub facts: HostFacts,
    pub enrolled_at_ms: i64,
    #[serde(default)]
    pub last_seen_ms: Option<i64>,
    #[serde(default)]
    pub latest: Option<LatestValues>,
}

/// The newest report of a machine, with the derived figures a list view shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LatestValues {
    pub ts_ms: i64,
    pub interval_s: u32,
    pub cpu_percent: f64,
    #[serde(default)]
    pub cpu_per_core: Vec<f64>,
    #[serde(default)]
    pub load1: Option<f64>,
    #[serde(default)]
    pub load5: Option<f64>,
    #[serde(default)]
    pub load15: Option<f64>,
    pub memory_used_percent: f64,
    pub swap_used_percent: f64,
    pub memory: MemorySample,
    pub uptime_s: u64,
    pub boot_time_ms: i64,
    #[serde(default)]
    pub cpu_temp_c: Option<f64>,
    pub filesystems: Vec<FilesystemSample>,
    pub disks: Vec<DiskIoSample>,
    pub networks: Vec<NetworkSample>,
    pub outbox_dropped_total: u64,
}

/// `GET /api/v1/machines/{id}/series`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Series {
    pub metric: String,
    #[serde(default)]
    pub instance: Option<String>,
    /// Storage tier the points were read from: `raw`, `5m` or `1h`.
    pub tier: String,
    /// Width of each point's bucket, seconds (0 for raw points, one per report).
    pub step_s: u64,
    /// `[ts_ms, value]` pairs, oldest first. Rollup tiers give the bucket average.
    pub points: Vec<(i64, f64)>,
}

/// `GET /api/v1/metrics`: the series names the API serves.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricCatalog {
    pub metrics: Vec<MetricInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricInfo {
    pub name: String,
    pub unit: String,
    /// `machine`, `filesystem` (instance = mount point), `disk` (device) or `network` (interface).
    pub scope: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
    pub version: String,
    pub database: String,
}
