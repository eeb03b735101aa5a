//! The series the API serves, and where each one is stored. Column and table names in SQL
//! come only from this table, never from a request.

use optralis_proto::metrics::{MetricName, MetricScope};

/// Raw table, and for per-instance scopes the `kind` its rows carry there.
pub(crate) fn raw_table(scope: MetricScope) -> (&'static str, Option<&'static str>) {
    match scope {
        MetricScope::Machine => ("metrics_raw", None),
        MetricScope::Filesystem => ("instance_raw", Some("fs")),
        MetricScope::Disk => ("instance_raw", Some("disk")),
        MetricScope::Network => ("instance_raw", Some("net")),
    }
}

#[derive(Debug, Clone, Copy)]
pub struct MetricDef {
    pub name: MetricName,
    pub scope: MetricScope,
    pub(crate) column: &'static str,
    pub unit: &'static str,
    pub description: &'static str,
}

const fn m(
    name: MetricName,
    scope: MetricScope,
    column: &'static str,
    unit: &'static str,
    description: &'static str,
) -> MetricDef {
    MetricDef {
        name,
        scope,
        column,
        unit,
        description,
    }
}

use MetricScope::{Disk, Filesystem, Machine, Network};

pub static METRICS: &[MetricDef] = &[
    m(
        MetricName::CpuPercent,
        Machine,
        "cpu_percent",
        "%",
        "CPU busy, all cores",
    ),
    m(
        MetricName::CpuLoad1,
        Machine,
        "load1",
        "",
        "Load average, 1 minute",
    ),
    m(
        MetricName::CpuLoad5,
        Machine,
        "load5",
        "",
        "Load average, 5 minutes",
    ),
    m(
        MetricName::CpuLoad15,
        Machine,
        "load15",
        "",
        "Load average, 15 minutes",
    ),
    m(
        MetricName::MemoryUsedPercent,
        Machine,
        "mem_used_percent",
        "%",
        "Memory used",
    ),
    m(
        MetricName::MemoryUsedBytes,
        Machine,
        "mem_used_bytes",
        "B",
        "Memory used",
    ),
    m(
        MetricName::MemoryAvailableBytes,
        Machine,
        "mem_available_bytes",
        "B",
        "Memory available",
    ),
    m(
        MetricName::SwapUsedPercent,
        Machine,
        "swap_used_percent",
        "%",
        "Swap used",
    ),
    m(
        MetricName::TemperatureCpuC,
        Machine,
        "cpu_temp_c",
        "°C",
        "CPU temperature (absent without a sensor)",
    ),
    m(
        MetricName::HealthScore,
        Machine,
        "health_score",
        "",
        "Health score, 0-100, at each report",
    ),
    m(
        MetricName::UptimeSeconds,
        Machine,
        "uptime_s",
        "s",
        "Time since boot",
    ),
    m(
        MetricName::FilesystemUsedPercent,
        Filesystem,
        "v1",
        "%",
        "Space used, as df shows it",
    ),
    m(
        MetricName::FilesystemUsedBytes,
        Filesystem,
        "v2",
        "B",
        "Space used",
    ),
    m(
        MetricName::FilesystemFreeBytes,
        Filesystem,
        "v3",
        "B",
        "Space free for ordinary users",
    ),
    m(
        MetricName::FilesystemInodesUsedPercent,
        Filesystem,
        "v4",
        "%",
        "Inodes used",
    ),
    m(
        MetricName::DiskReadBytesPerS,
        Disk,
        "v1",
        "B/s",
        "Bytes read",
    ),
    m(
        MetricName::DiskWriteBytesPerS,
        Disk,
        "v2",
        "B/s",
        "Bytes written",
    ),
    m(
        MetricName::DiskReadOpsPerS,
        Disk,
        "v3",
        "ops/s",
        "Read operations",
    ),
    m(
        MetricName::DiskWriteOpsPerS,
        Disk,
        "v4",
        "ops/s",
        "Write operations",
    ),
    m(
        MetricName::DiskBusyPercent,
        Disk,
        "v5",
        "%",
        "Time with IO in flight",
    ),
    m(
        MetricName::NetworkRxBytesPerS,
        Network,
        "v1",
        "B/s",
        "Bytes received",
    ),
    m(
        MetricName::NetworkTxBytesPerS,
        Network,
        "v2",
        "B/s",
        "Bytes sent",
    ),
    m(
        MetricName::NetworkRxErrors,
        Network,
        "v3",
        "count",
        "Receive errors in the interval",
    ),
    m(
        MetricName::NetworkTxErrors,
        Network,
        "v4",
        "count",
        "Transmit errors in the interval",
    ),
    m(
        MetricName::NetworkRxDrops,
        Network,
        "v5",
        "count",
        "Received packets dropped in the interval",
    ),
    m(
        MetricName::NetworkTxDrops,
        Network,
        "v6",
        "count",
        "Sent packets dropped in the interval",
    ),
];

/// Where `name` is stored; every name has an entry (a test checks).
pub fn find_metric(name: MetricName) -> Option<&'static MetricDef> {
    METRICS.iter().find(|m| m.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_name_is_stored_once() {
        for name in MetricName::ALL {
            assert_eq!(
                METRICS.iter().filter(|m| m.name == *name).count(),
                1,
                "{name}"
            );
        }
        assert_eq!(METRICS.len(), MetricName::ALL.len());
    }
}
