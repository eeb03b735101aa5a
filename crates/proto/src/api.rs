//! What the REST API answers to users and tools.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::agent::{DiskIoSample, FilesystemSample, HostFacts, MemorySample, NetworkSample};
use crate::metrics::{MetricName, MetricScope, SeriesTier};

names! {
    /// A machine's state as the fleet view shows it. Ordered from best to worst.
    #[derive(Default)]
    pub enum MachineStatus("status") {
        Online = "online",
        Warning = "warning",
        Critical = "critical",
        #[default]
        Offline = "offline",
    }
}

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
    /// Machines matching the filters, before `limit`/`offset`.
    #[serde(default)]
    pub total: usize,
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
    /// A name chosen by an admin, shown instead of the hostname.
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub notes: String,
    /// Every label: those set through the API and those the agent declares.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The labels the agent declares (its config file); not editable through the API.
    #[serde(default)]
    pub agent_labels: BTreeMap<String, String>,
    /// Ids of the groups the machine is in.
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub status: MachineStatus,
    #[serde(default)]
    pub status_since_ms: Option<i64>,
    #[serde(default)]
    pub health: MachineHealth,
    /// Retired: kept with its history, never reported offline.
    #[serde(default)]
    pub decommissioned: bool,
    /// The address the last report came from, as the server saw it.
    #[serde(default)]
    pub ip: Option<String>,
    /// The interval the agent reports at, seconds (offline after a few of them without one).
    #[serde(default)]
    pub interval_s: u32,
}

/// The health score and every deduction behind it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MachineHealth {
    /// 0–100.
    pub score: u8,
    pub reasons: Vec<HealthReason>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthReason {
    pub reason: String,
    /// Points taken off the score (negative).
    pub weight: i32,
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
    pub metric: MetricName,
    #[serde(default)]
    pub instance: Option<String>,
    /// Storage tier the points were read from.
    pub tier: SeriesTier,
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
    pub name: MetricName,
    pub unit: String,
    pub scope: MetricScope,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
    pub version: String,
    pub database: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Group {
    pub id: String,
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
    pub description: String,
    pub machine_count: i64,
    pub created_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupList {
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateGroup {
    pub name: String,
    pub color: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateGroup {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// Adds and removes many machines at once.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupMembers {
    #[serde(default)]
    pub add: Vec<String>,
    #[serde(default)]
    pub remove: Vec<String>,
}

/// The whole set of groups of one machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MachineGroups {
    pub group_ids: Vec<String>,
}

/// The whole set of API-set labels of one machine (agent-declared ones are kept).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MachineLabels {
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateMachine {
    /// An empty string goes back to the hostname.
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub decommissioned: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusChange {
    pub ts_ms: i64,
    pub status: MachineStatus,
    pub score: u8,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusHistory {
    /// Oldest first.
    pub changes: Vec<StatusChange>,
}

/// `GET /fleet/summary`: counts by status and the machines in the worst shape.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FleetSummary {
    pub total: usize,
    pub online: usize,
    pub warning: usize,
    pub critical: usize,
    pub offline: usize,
    pub decommissioned: usize,
    /// Up to ten machines, lowest score first (decommissioned ones left out).
    pub worst: Vec<MachineBrief>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MachineBrief {
    pub id: String,
    pub name: String,
    pub status: MachineStatus,
    pub health: MachineHealth,
}
