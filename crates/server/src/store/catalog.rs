//! The series the API serves, and where each one is stored. Column and table names in SQL
//! come only from this table, never from a request.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One value per report.
    Machine,
    /// One value per mount point (`instance` = mount).
    Filesystem,
    /// One value per block device (`instance` = device name).
    Disk,
    /// One value per interface (`instance` = interface name).
    Network,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Machine => "machine",
            Scope::Filesystem => "filesystem",
            Scope::Disk => "disk",
            Scope::Network => "network",
        }
    }

    /// Raw table, and for per-instance scopes the `kind` its rows carry there.
    pub(crate) fn raw(self) -> (&'static str, Option<&'static str>) {
        match self {
            Scope::Machine => ("metrics_raw", None),
            Scope::Filesystem => ("instance_raw", Some("fs")),
            Scope::Disk => ("instance_raw", Some("disk")),
            Scope::Network => ("instance_raw", Some("net")),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct MetricDef {
    pub name: &'static str,
    pub scope: Scope,
    pub(crate) column: &'static str,
    pub unit: &'static str,
    pub description: &'static str,
}

const fn m(
    name: &'static str,
    scope: Scope,
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

use Scope::{Disk, Filesystem, Machine, Network};

pub static METRICS: &[MetricDef] = &[
    m(
        "cpu.percent",
        Machine,
        "cpu_percent",
        "%",
        "CPU busy, all cores",
    ),
    m("cpu.load1", Machine, "load1", "", "Load average, 1 minute"),
    m("cpu.load5", Machine, "load5", "", "Load average, 5 minutes"),
    m(
        "cpu.load15",
        Machine,
        "load15",
        "",
        "Load average, 15 minutes",
    ),
    m(
        "memory.used_percent",
        Machine,
        "mem_used_percent",
        "%",
        "Memory used",
    ),
    m(
        "memory.used_bytes",
        Machine,
        "mem_used_bytes",
        "B",
        "Memory used",
    ),
    m(
        "memory.available_bytes",
        Machine,
        "mem_available_bytes",
        "B",
        "Memory available",
    ),
    m(
        "swap.used_percent",
        Machine,
        "swap_used_percent",
        "%",
        "Swap used",
    ),
    m(
        "temperature.cpu_c",
        Machine,
        "cpu_temp_c",
        "°C",
        "CPU temperature (absent without a sensor)",
    ),
    m(
        "health.score",
        Machine,
        "health_score",
        "",
        "Health score, 0-100, at each report",
    ),
    m(
        "uptime.seconds",
        Machine,
        "uptime_s",
        "s",
        "Time since boot",
    ),
    m(
        "filesystem.used_percent",
        Filesystem,
        "v1",
        "%",
        "Space used, as df shows it",
    ),
    m("filesystem.used_bytes", Filesystem, "v2", "B", "Space used"),
    m(
        "filesystem.free_bytes",
        Filesystem,
        "v3",
        "B",
        "Space free for ordinary users",
    ),
    m(
        "filesystem.inodes_used_percent",
        Filesystem,
        "v4",
        "%",
        "Inodes used",
    ),
    m("disk.read_bytes_per_s", Disk, "v1", "B/s", "Bytes read"),
    m("disk.write_bytes_per_s", Disk, "v2", "B/s", "Bytes written"),
    m(
        "disk.read_ops_per_s",
        Disk,
        "v3",
        "ops/s",
        "Read operations",
    ),
    m(
        "disk.write_ops_per_s",
        Disk,
        "v4",
        "ops/s",
        "Write operations",
    ),
    m(
        "disk.busy_percent",
        Disk,
        "v5",
        "%",
        "Time with IO in flight",
    ),
    m(
        "network.rx_bytes_per_s",
        Network,
        "v1",
        "B/s",
        "Bytes received",
    ),
    m("network.tx_bytes_per_s", Network, "v2", "B/s", "Bytes sent"),
    m(
        "network.rx_errors",
        Network,
        "v3",
        "count",
        "Receive errors in the interval",
    ),
    m(
        "network.tx_errors",
        Network,
        "v4",
        "count",
        "Transmit errors in the interval",
    ),
    m(
        "network.rx_drops",
        Network,
        "v5",
        "count",
        "Received packets dropped in the interval",
    ),
    m(
        "network.tx_drops",
        Network,
        "v6",
        "count",
        "Sent packets dropped in the interval",
    ),
];

pub fn find_metric(name: &str) -> Option<&'static MetricDef> {
    METRICS.iter().find(|m| m.name == name)
}
