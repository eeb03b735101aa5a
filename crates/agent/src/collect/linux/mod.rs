//! Linux: `/proc`, `/sys` and `statvfs`, read under a root directory so tests can point the
//! platform at a fixture tree.

pub mod parse;

use std::path::{Path, PathBuf};

use optralis_proto::agent::{FilesystemSample, HostFacts, MemorySample};

use super::{CollectError, CpuTimes, DiskCounters, NetCounters, Platform, Uptime};

pub struct LinuxPlatform {
    root: PathBuf,
}

/// Block devices that are not disks.
const VIRTUAL_DISK_PREFIXES: &[&str] = &["loop", "ram", "zram", "fd"];

/// Hardware monitor drivers that report the CPU package or die temperature.
const CPU_HWMON: &[&str] = &[
    "coretemp",
    "k10temp",
    "zenpower",
    "cpu_thermal",
    "soc_thermal",
];
/// Thermal zone types that are the CPU.
const CPU_ZONES: &[&str] = &["x86_pkg_temp", "cpu-thermal", "cpu_thermal", "soc-thermal"];

impl LinuxPlatform {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    fn read(&self, rel: &str) -> Result<String, CollectError> {
        let path = self.path(rel);
        std::fs::read_to_string(&path).map_err(|source| CollectError::Read {
            path: path.display().to_string(),
            source,
        })
    }

    fn read_opt(&self, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.path(rel)).ok()
    }

    fn is_whole_disk(&self, name: &str) -> bool {
        if VIRTUAL_DISK_PREFIXES.iter().any(|p| name.starts_with(p)) {
            return false;
        }
        let sys_block = self.path("sys/block");
        if sys_block.is_dir() {
            // Partitions are listed under /sys/class/block but not under /sys/block.
            sys_block.join(name).exists()
        } else {
            !looks_like_partition(name)
        }
    }

    fn statvfs(&self, mount: &parse::Mount) -> Option<FilesystemSample> {
        let target = self.path(&mount.mount_point);
        let st = rustix::fs::statvfs(&target).ok()?;
        let frsize = st.f_frsize;
        let total = st.f_blocks.saturating_mul(frsize);
        if total == 0 {
            return None;
        }
        let free_all = st.f_bfree.saturating_mul(frsize);
        let avail = st.f_bavail.saturating_mul(frsize).min(total);
        let (inodes_total, inodes_used) = if st.f_files > 0 {
            (
                Some(st.f_files),
                Some(st.f_files.saturating_sub(st.f_ffree)),
            )
        } else {
            (None, None)
        };
        Some(FilesystemSample {
            mount: mount.mount_point.clone(),
            fs_type: mount.fs_type.clone(),
            device: mount.source.clone(),
            total_bytes: total,
            used_bytes: total.saturating_sub(free_all),
            free_bytes: avail,
            inodes_total,
            inodes_used,
        })
    }

    fn hwmon_temperature(&self) -> Option<f64> {
        let dir = std::fs::read_dir(self.path("sys/class/hwmon")).ok()?;
        let mut best: Option<f64> = None;
        for entry in dir.flatten() {
            let p = entry.path();
            let Ok(name) = std::fs::read_to_string(p.join("name")) else {
                continue;
            };
            if !CPU_HWMON.contains(&name.trim()) {
                continue;
            }
            let Ok(files) = std::fs::read_dir(&p) else {
                continue;
            };
            for f in files.flatten() {
                let fname = f.file_name();
                let fname = fname.to_string_lossy();
                if fname.starts_with("temp")
                    && fname.ends_with("_input")
                    && let Some(c) = read_millidegrees(&f.path())
                {
                    best = Some(best.map_or(c, |b| b.max(c)));
                }
            }
        }
        best
    }

    fn thermal_zone_temperature(&self) -> Option<f64> {
        let dir = std::fs::read_dir(self.path("sys/class/thermal")).ok()?;
        let mut best: Option<f64> = None;
        for entry in dir.flatten() {
            let p = entry.path();
            let Ok(kind) = std::fs::read_to_string(p.join("type")) else {
                continue;
            };
            if CPU_ZONES.contains(&kind.trim())
                && let Some(c) = read_millidegrees(&p.join("temp"))
            {
                best = Some(best.map_or(c, |b| b.max(c)));
            }
        }
        best
    }
}

/// `sda1`, `nvme0n1p2`, `mmcblk0p1`, `vdb3` and the like.
fn looks_like_partition(name: &str) -> bool {
    let has_digit_suffix = name.ends_with(|c: char| c.is_ascii_digit());
    if name.starts_with("nvme") || name.starts_with("mmcblk") {
        return name.contains('p') && has_digit_suffix && name.rfind('p') > name.find('n');
    }
    (name.starts_with("sd")
        || name.starts_with("vd")
        || name.starts_with("hd")
        || name.starts_with("xvd"))
        && has_digit_suffix
}

/// A sysfs temperature in millidegrees Celsius; implausible values count as no sensor.
fn read_millidegrees(path: &Path) -> Option<f64> {
    let raw: i64 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    let c = raw as f64 / 1000.0;
    (-40.0..=150.0)
        .contains(&c)
        .then_some(c)
        .filter(|c| *c != 0.0)
}

impl Platform for LinuxPlatform {
    fn cpu_times(&self) -> Result<CpuTimes, CollectError> {
        Ok(parse::proc_stat(&self.read("proc/stat")?)?.0)
    }

    fn load_average(&self) -> Option<(f64, f64, f64)> {
        parse::loadavg(&self.read_opt("proc/loadavg")?)
    }

    fn memory(&self) -> Result<MemorySample, CollectError> {
        parse::meminfo(&self.read("proc/meminfo")?)
    }

    fn filesystems(&self) -> Vec<FilesystemSample> {
        let Some(text) = self.read_opt("proc/self/mountinfo") else {
            return Vec::new();
        };
        parse::real_filesystems(&parse::mountinfo(&text))
            .iter()
            .filter_map(|m| self.statvfs(m))
            .collect()
    }

    fn disk_counters(&self) -> Vec<DiskCounters> {
        let Some(text) = self.read_opt("proc/diskstats") else {
            return Vec::new();
        };
        parse::diskstats(&text)
            .into_iter()
            .filter(|d| self.is_whole_disk(&d.device))
            .collect()
    }

    fn net_counters(&self) -> Vec<NetCounters> {
        let Some(text) = self.read_opt("proc/net/dev") else {
            return Vec::new();
        };
        parse::net_dev(&text)
            .into_iter()
            // Loopback is not the network; veth pairs come and go with containers.
            .filter(|n| n.interface != "lo" && !n.interface.starts_with("veth"))
            .collect()
    }

    fn uptime(&self, now_ms: i64) -> Result<Uptime, CollectError> {
        let up = parse::uptime(&self.read("proc/uptime")?)?;
        let btime = self
            .read_opt("proc/stat")
            .and_then(|s| parse::proc_stat(&s).ok())
            .and_then(|(_, b)| b);
        Ok(Uptime {
            uptime_s: up as u64,
            boot_time_ms: btime.map_or(now_ms - (up * 1000.0) as i64, |b| b * 1000),
        })
    }

    fn cpu_temperature(&self) -> Option<f64> {
        self.hwmon_temperature()
            .or_else(|| self.thermal_zone_temperature())
    }

    fn facts(&self) -> HostFacts {
        let trimmed = |rel: &str| {
            self.read_opt(rel)
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        };
        let (os_name, os_version) = self
            .read_opt("etc/os-release")
            .or_else(|| self.read_opt("usr/lib/os-release"))
            .map(|t| parse::os_release(&t))
            .unwrap_or((None, None));
        let (cpu_model, physical) = self
            .read_opt("proc/cpuinfo")
            .map(|t| parse::cpuinfo(&t))
            .unwrap_or((None, None));
        let logical = self
            .cpu_times()
            .map(|t| t.per_core.len() as u32)
            .unwrap_or(0);
        HostFacts {
            hostname: trimmed("proc/sys/kernel/hostname"),
            os_name: os_name.unwrap_or_else(|| "Linux".to_owned()),
            os_version: os_version.unwrap_or_default(),
            kernel_version: trimmed("proc/sys/kernel/osrelease"),
            arch: std::env::consts::ARCH.to_owned(),
            cpu_model: cpu_model.unwrap_or_default(),
            cpu_physical_cores: physical,
            cpu_logical_cores: logical,
            agent_version: crate::update::AGENT_VERSION.to_owned(),
        }
    }

    fn machine_id(&self) -> Option<String> {
        ["etc/machine-id", "var/lib/dbus/machine-id"]
            .iter()
            .filter_map(|p| self.read_opt(p))
            .map(|s| s.trim().to_owned())
            .find(|s| s.len() >= 16)
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_partition;

    #[test]
    fn partition_names() {
        for p in ["sda1", "vda3", "nvme0n1p2", "mmcblk0p1", "xvda1"] {
            assert!(looks_like_partition(p), "{p}");
        }
        for d in ["sda", "vda", "nvme0n1", "mmcblk0", "dm-0", "md0"] {
            assert!(!looks_like_partition(d), "{d}");
        }
    }
}
