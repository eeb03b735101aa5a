//! Collection: a [`Platform`] reads raw counters and levels from the OS; the [`Collector`]
//! turns two consecutive readings into rates and one [`Report`].
//!
//! Linux reads `/proc` and `/sys` directly (small, testable against fixture trees);
//! Windows uses `sysinfo` behind `cfg(windows)`.

mod counters;
#[cfg(target_os = "linux")]
pub mod linux;
#[cfg(windows)]
pub mod windows;

use std::collections::HashMap;
use std::time::Instant;

use optralis_proto::agent::{
    CpuSample, DiskIoSample, FilesystemSample, HostFacts, MemorySample, NetworkSample, Report,
};

pub use counters::{counter_delta, per_second};

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot parse {what}: {detail}")]
    Parse { what: &'static str, detail: String },
}

/// Cumulative CPU time of one CPU (or all), in the OS's ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTicks {
    pub busy: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuTimes {
    pub all: CpuTicks,
    pub per_core: Vec<CpuTicks>,
}

/// Cumulative IO counters of one block device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskCounters {
    pub device: String,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub read_ops: u64,
    pub write_ops: u64,
    /// Milliseconds with IO in flight.
    pub busy_ms: u64,
}

/// Cumulative counters of one network interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetCounters {
    pub interface: String,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
    pub rx_drops: u64,
    pub tx_drops: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Uptime {
    pub uptime_s: u64,
    pub boot_time_ms: i64,
}

/// What each operating system must be able to read. Levels are read as they are;
/// counters are cumulative and turned into rates by the [`Collector`].
pub trait Platform {
    fn cpu_times(&self) -> Result<CpuTimes, CollectError>;
    /// 1, 5 and 15 minute load averages, where the OS has them.
    fn load_average(&self) -> Option<(f64, f64, f64)>;
    fn memory(&self) -> Result<MemorySample, CollectError>;
    /// Real filesystems only: no pseudo, in-memory or overlay filesystems, no bind duplicates.
    fn filesystems(&self) -> Vec<FilesystemSample>;
    /// Whole disks (no partitions, loop or RAM devices).
    fn disk_counters(&self) -> Vec<DiskCounters>;
    /// Interfaces other than loopback.
    fn net_counters(&self) -> Vec<NetCounters>;
    fn uptime(&self, now_ms: i64) -> Result<Uptime, CollectError>;
    /// `None` when the machine has no usable CPU sensor.
    fn cpu_temperature(&self) -> Option<f64>;
    fn facts(&self) -> HostFacts;
    /// A stable identifier of this OS installation, if the OS has one.
    fn machine_id(&self) -> Option<String>;
}

/// The platform of the machine the agent runs on.
#[cfg(target_os = "linux")]
pub fn native() -> linux::LinuxPlatform {
    linux::LinuxPlatform::new("/")
}

#[cfg(windows)]
pub fn native() -> windows::WindowsPlatform {
    windows::WindowsPlatform::new()
}

struct Previous {
    at: Instant,
    cpu: CpuTimes,
    disks: HashMap<String, DiskCounters>,
    nets: HashMap<String, NetCounters>,
}

/// Keeps the previous reading so each collection reports rates over the interval.
pub struct Collector<P> {
    platform: P,
    previous: Option<Previous>,
}

impl<P: Platform> Collector<P> {
    pub fn new(platform: P) -> Self {
        Self {
            platform,
            previous: None,
        }
    }

    pub fn platform(&self) -> &P {
        &self.platform
    }

    /// Whether a previous reading exists, i.e. whether the next collection has rates.
    pub fn is_primed(&self) -> bool {
        self.previous.is_some()
    }

    /// Takes the readings that rates are computed against, without producing a report.
    pub fn prime(&mut self, at: Instant) -> Result<(), CollectError> {
        let cpu = self.platform.cpu_times()?;
        self.previous = Some(Previous {
            at,
            cpu,
            disks: by_name(self.platform.disk_counters(), |d| &d.device),
            nets: by_name(self.platform.net_counters(), |n| &n.interface),
        });
        Ok(())
    }

    /// One full collection at `at` (monotonic) / `ts_ms` (wall clock). Rates cover the time
    /// since the previous call; the first call reports zero rates. The caller sets `seq`,
    /// `interval_s` and `outbox`.
    pub fn collect(&mut self, at: Instant, ts_ms: i64) -> Result<Report, CollectError> {
        let cpu_now = self.platform.cpu_times()?;
        let disks_now = self.platform.disk_counters();
        let nets_now = self.platform.net_counters();
        let memory = self.platform.memory()?;
        let uptime = self.platform.uptime(ts_ms)?;
        let load = self.platform.load_average();

        let (cpu_percent, per_core, disks, networks) = match &self.previous {
            Some(prev) => {
                let secs = at.saturating_duration_since(prev.at).as_secs_f64();
                (
                    busy_percent(prev.cpu.all, cpu_now.all),
                    cpu_now
                        .per_core
                        .iter()
                        .enumerate()
                        .map(|(i, now)| {
                            prev.cpu
                                .per_core
                                .get(i)
                                .map_or(0.0, |p| busy_percent(*p, *now))
                        })
                        .collect(),
                    disk_rates(&prev.disks, &disks_now, secs),
                    net_rates(&prev.nets, &nets_now, secs),
                )
            }
            None => (
                0.0,
                vec![0.0; cpu_now.per_core.len()],
                disk_rates(&HashMap::new(), &disks_now, 0.0),
                net_rates(&HashMap::new(), &nets_now, 0.0),
            ),
        };
        self.previous = Some(Previous {
            at,
            cpu: cpu_now,
            disks: by_name(disks_now, |d| &d.device),
            nets: by_name(nets_now, |n| &n.interface),
        });

        Ok(Report {
            seq: 0,
            ts_ms,
            interval_s: 0,
            cpu: CpuSample {
                percent: cpu_percent,
                per_core,
                load1: load.map(|l| l.0),
                load5: load.map(|l| l.1),
                load15: load.map(|l| l.2),
            },
            memory,
            filesystems: self.platform.filesystems(),
            disks,
            networks,
            uptime_s: uptime.uptime_s,
            boot_time_ms: uptime.boot_time_ms,
            cpu_temp_c: self.platform.cpu_temperature(),
            facts: None,
            outbox: Default::default(),
            smart: None,
            labels: None,
            events: None,
        })
    }
}

fn by_name<T>(items: Vec<T>, name: impl Fn(&T) -> &String) -> HashMap<String, T> {
    items.into_iter().map(|i| (name(&i).clone(), i)).collect()
}

/// Busy share between two readings, 0–100. A reset (fewer ticks than before) gives 0.
fn busy_percent(prev: CpuTicks, now: CpuTicks) -> f64 {
    let total = now.total.saturating_sub(prev.total);
    let busy = now.busy.saturating_sub(prev.busy);
    if total == 0 {
        0.0
    } else {
        (busy as f64 / total as f64 * 100.0).clamp(0.0, 100.0)
    }
}

fn disk_rates(
    prev: &HashMap<String, DiskCounters>,
    now: &[DiskCounters],
    secs: f64,
) -> Vec<DiskIoSample> {
    let mut out: Vec<DiskIoSample> = now
        .iter()
        .map(|d| {
            let p = prev.get(&d.device);
            let rate = |f: fn(&DiskCounters) -> u64| {
                p.map_or(0.0, |p| per_second(counter_delta(f(p), f(d)), secs))
            };
            let busy_ms = p.map_or(0, |p| counter_delta(p.busy_ms, d.busy_ms));
            DiskIoSample {
                device: d.device.clone(),
                read_bytes_per_s: rate(|c| c.read_bytes),
                write_bytes_per_s: rate(|c| c.write_bytes),
                read_ops_per_s: rate(|c| c.read_ops),
                write_ops_per_s: rate(|c| c.write_ops),
                busy_percent: if secs > 0.0 {
                    (busy_ms as f64 / (secs * 1000.0) * 100.0).clamp(0.0, 100.0)
                } else {
                    0.0
                },
            }
        })
        .collect();
    out.sort_by(|a, b| a.device.cmp(&b.device));
    out
}

fn net_rates(
    prev: &HashMap<String, NetCounters>,
    now: &[NetCounters],
    secs: f64,
) -> Vec<NetworkSample> {
    let mut out: Vec<NetworkSample> = now
        .iter()
        .map(|n| {
            let p = prev.get(&n.interface);
            let delta = |f: fn(&NetCounters) -> u64| p.map_or(0, |p| counter_delta(f(p), f(n)));
            NetworkSample {
                interface: n.interface.clone(),
                rx_bytes_per_s: per_second(delta(|c| c.rx_bytes), secs),
                tx_bytes_per_s: per_second(delta(|c| c.tx_bytes), secs),
                rx_errors: delta(|c| c.rx_errors),
                tx_errors: delta(|c| c.tx_errors),
                rx_drops: delta(|c| c.rx_drops),
                tx_drops: delta(|c| c.tx_drops),
            }
        })
        .collect();
    out.sort_by(|a, b| a.interface.cmp(&b.interface));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_percent_is_bounded_and_survives_resets() {
        let a = CpuTicks {
            busy: 100,
            total: 1000,
        };
        let b = CpuTicks {
            busy: 150,
            total: 1100,
        };
        assert_eq!(busy_percent(a, b), 50.0);
        assert_eq!(busy_percent(b, a), 0.0);
        assert_eq!(busy_percent(a, a), 0.0);
    }
}
