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

    /// Raw table and the column naming the instance, if any.
    pub(crate) fn table(self) -> (&'static str, Option<&'static str>) {
        match self {
            Scope::Machine => ("metrics_raw", None),
            Scope::Filesystem => ("fs_raw", Some("mount")),
            Scope::Disk => ("disk_raw", Some("device")),
            Scope::Network => ("net_raw", Some("interface")),
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
        "uptime.seconds",
        Machine,
        "uptime_s",
        "s",
        "Time since boot",
    ),
    m(
        "filesystem.used_percent",
        Filesystem,
        "used_percent",
        "%",
        "Space used, as df shows it",
    ),
    m(
        "filesystem.used_bytes",
        Filesystem,
        "used_bytes",
        "B",
        "Space used",
    ),
    m(
        "filesystem.free_bytes",
        Filesystem,
        "free_bytes",
        "B",
        "Space free for ordinary users",
    ),
    m(
        "filesystem.inodes_used_percent",
        Filesystem,
        "inodes_used_percent",
        "%",
        "Inodes used",
    ),
    m(
        "disk.read_bytes_per_s",
        Disk,
        "read_bytes_per_s",
        "B/s",
        "Bytes read",
    ),
    m(
        "disk.write_bytes_per_s",
        Disk,
        "write_bytes_per_s",
        "B/s",
        "Bytes written",
    ),
    m(
        "disk.read_ops_per_s",
        Disk,
        "read_ops_per_s",
        "ops/s",
        "Read operations",
    ),
    m(
        "disk.write_ops_per_s",
        Disk,
        "write_ops_per_s",
        "ops/s",
        "Write operations",
    ),
    m(
        "disk.busy_percent",
        Disk,
        "busy_percent",
        "%",
        "Time with IO in flight",
    ),
    m(
        "network.rx_bytes_per_s",
        Network,
        "rx_bytes_per_s",
        "B/s",
        "Bytes received",
    ),
    m(
        "network.tx_bytes_per_s",
        Network,
        "tx_bytes_per_s",
        "B/s",
        "Bytes sent",
    ),
    m(
        "network.rx_errors",
        Network,
        "rx_errors",
        "count",
        "Receive errors in the interval",
    ),
    m(
        "network.tx_errors",
        Network,
        "tx_errors",
        "count",
        "Transmit errors in the interval",
    ),
    m(
        "network.rx_drops",
        Network,
        "rx_drops",
        "count",
        "Received packets dropped in the interval",
    ),
    m(
        "network.tx_drops",
        Network,
        "tx_drops",
        "count",
        "Sent packets dropped in the interval",
    ),
];

pub fn find_metric(name: &str) -> Option<&'static MetricDef> {
    METRICS.iter().find(|m| m.name == name)
}
