//! The adaptive reporting interval, shared so the agent (when it is on its own) and the
//! server (when it answers a report) decide the same way.

use serde::{Deserialize, Serialize};

use crate::agent::Report;

/// Interval while every figure is below its threshold.
pub const HEALTHY_INTERVAL_S: u32 = 60;
/// Interval while any figure is at or above its threshold.
pub const DEGRADED_INTERVAL_S: u32 = 30;

/// Levels at or above which a machine counts as degraded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Thresholds {
    pub cpu_percent: f64,
    pub memory_percent: f64,
    pub filesystem_percent: f64,
    pub cpu_temp_c: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            cpu_percent: 85.0,
            memory_percent: 90.0,
            filesystem_percent: 90.0,
            cpu_temp_c: 85.0,
        }
    }
}

impl Thresholds {
    /// Whether any figure of `report` is at or above its threshold.
    pub fn is_degraded(&self, report: &Report) -> bool {
        report.cpu.percent >= self.cpu_percent
            || report.memory.used_percent() >= self.memory_percent
            || report
                .filesystems
                .iter()
                .any(|f| f.used_percent() >= self.filesystem_percent)
            || report.cpu_temp_c.is_some_and(|t| t >= self.cpu_temp_c)
    }

    pub fn interval_for(&self, report: &Report) -> u32 {
        if self.is_degraded(report) {
            DEGRADED_INTERVAL_S
        } else {
            HEALTHY_INTERVAL_S
        }
    }
}
