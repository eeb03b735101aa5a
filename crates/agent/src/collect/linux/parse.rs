//! Pure parsers for the text files of `/proc` and `/sys`. No IO here: each takes the file's
//! contents, so tests feed them fixtures.

use optralis_proto::agent::MemorySample;

use super::super::{CollectError, CpuTicks, CpuTimes, DiskCounters, NetCounters};

fn parse_err(what: &'static str, detail: impl Into<String>) -> CollectError {
    CollectError::Parse {
        what,
        detail: detail.into(),
    }
}

/// `/proc/stat`: aggregate and per-CPU ticks, and the boot time (epoch seconds).
pub fn proc_stat(text: &str) -> Result<(CpuTimes, Option<i64>), CollectError> {
    let mut times = CpuTimes::default();
    let mut all = None;
    let mut btime = None;
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let Some(key) = fields.next() else { continue };
        if key == "cpu" {
            all = Some(cpu_ticks(fields)?);
        } else if key.starts_with("cpu") && key[3..].bytes().all(|b| b.is_ascii_digit()) {
            times.per_core.push(cpu_ticks(fields)?);
        } else if key == "btime" {
            btime = fields.next().and_then(|v| v.parse().ok());
        }
    }
    times.all = all.ok_or_else(|| parse_err("/proc/stat", "no aggregate cpu line"))?;
    Ok((times, btime))
}

/// user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is already
/// counted in user and nice, so it is left out of the total.
fn cpu_ticks<'a>(fields: impl Iterator<Item = &'a str>) -> Result<CpuTicks, CollectError> {
    let values: Vec<u64> = fields
        .take(8)
        .map(|f| f.parse::<u64>())
        .collect::<Result<_, _>>()
        .map_err(|e| parse_err("/proc/stat", e.to_string()))?;
    if values.len() < 4 {
        return Err(parse_err("/proc/stat", "cpu line has fewer than 4 fields"));
    }
    let total: u64 = values.iter().sum();
    let idle = values[3] + values.get(4).copied().unwrap_or(0);
    Ok(CpuTicks {
        busy: total.saturating_sub(idle),
        total,
    })
}

/// `/proc/meminfo`. "Used" is what `free` shows: total minus available.
pub fn meminfo(text: &str) -> Result<MemorySample, CollectError> {
    let mut total = None;
    let mut available = None;
    let mut free = None;
    let mut buffers = 0;
    let mut cached = 0;
    let mut swap_total = 0;
    let mut swap_free = 0;
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let kib = rest
            .split_ascii_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok());
        let Some(kib) = kib else { continue };
        let bytes = kib.saturating_mul(1024);
        match key {
            "MemTotal" => total = Some(bytes),
            "MemAvailable" => available = Some(bytes),
            "MemFree" => free = Some(bytes),
            "Buffers" => buffers = bytes,
            "Cached" => cached = bytes,
            "SwapTotal" => swap_total = bytes,
            "SwapFree" => swap_free = bytes,
            _ => {}
        }
    }
    let total = total.ok_or_else(|| parse_err("/proc/meminfo", "no MemTotal"))?;
    // Kernels before 3.14 have no MemAvailable: estimate it as free + buffers + cache.
    let available = available
        .or_else(|| free.map(|f| f + buffers + cached))
        .ok_or_else(|| parse_err("/proc/meminfo", "no MemAvailable or MemFree"))?
        .min(total);
    Ok(MemorySample {
        total_bytes: total,
        used_bytes: total - available,
        available_bytes: available,
        swap_total_bytes: swap_total,
        swap_used_bytes: swap_total.saturating_sub(swap_free),
    })
}

/// `/proc/loadavg`.
pub fn loadavg(text: &str) -> Option<(f64, f64, f64)> {
    let mut f = text.split_ascii_whitespace().map(|v| v.parse::<f64>().ok());
    Some((f.next()??, f.next()??, f.next()??))
}

/// `/proc/uptime`: seconds since boot.
pub fn uptime(text: &str) -> Result<f64, CollectError> {
    text.split_ascii_whitespace()
        .next()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| parse_err("/proc/uptime", text.trim().to_owned()))
}

/// One line of `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub device_id: String,
    pub mount_point: String,
    pub fs_type: String,
    pub source: String,
}

/// `/proc/self/mountinfo`: `id parent major:minor root mount opts [optional…] - type source superopts`.
pub fn mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let mut right = right.split(' ');
            Some(Mount {
                device_id: left.get(2)?.to_string(),
                mount_point: unescape_octal(left.get(4)?),
                fs_type: right.next()?.to_owned(),
                source: unescape_octal(right.next()?),
            })
        })
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_octal(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() {
            let oct = &bytes[i + 1..i + 4];
            if oct.iter().all(|b| (b'0'..=b'7').contains(b)) {
                let v = oct
                    .iter()
                    .fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
                if let Ok(v) = u8::try_from(v) {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Filesystem types that hold no user data of their own.
const PSEUDO_FS: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "fusectl",
    "hugetlbfs",
    "mqueue",
    "nsfs",
    "overlay",
    "proc",
    "pstore",
    "ramfs",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
    "fuse.lxcfs",
    "fuse.gvfsd-fuse",
    "fuse.portal",
    "iso9660",
    "nfsd",
    "zram",
];

/// Network filesystems: a dead server would hang `statvfs`, so they are left out.
const NETWORK_FS: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "fuse.sshfs",
    "9p",
    "ceph",
];

/// Mount points under which only the system's own machinery lives.
const PSEUDO_PREFIXES: &[&str] = &[
    "/proc",
    "/sys",
    "/dev",
    "/run",
    "/snap",
    "/var/lib/docker/",
    "/var/lib/containers/",
    "/mnt/sandboxing",
];

/// The mounts worth reporting: real filesystems, each device once (bind mounts and
/// subvolumes mounted twice are the same space), by their shortest mount point.
pub fn real_filesystems(mounts: &[Mount]) -> Vec<Mount> {
    let mut keep: Vec<Mount> = Vec::new();
    for m in mounts {
        if PSEUDO_FS.contains(&m.fs_type.as_str()) || NETWORK_FS.contains(&m.fs_type.as_str()) {
            continue;
        }
        let under_pseudo = PSEUDO_PREFIXES.iter().any(|p| {
            let p = p.trim_end_matches('/');
            m.mount_point == p || m.mount_point.starts_with(&format!("{p}/"))
        });
        if under_pseudo {
            continue;
        }
        match keep.iter_mut().find(|k| k.device_id == m.device_id) {
            Some(k) if m.mount_point.len() < k.mount_point.len() => *k = m.clone(),
            Some(_) => {}
            None => keep.push(m.clone()),
        }
    }
    keep.sort_by(|a, b| a.mount_point.cmp(&b.mount_point));
    keep
}

/// `/proc/diskstats`. Sectors here are always 512 bytes, whatever the device's own size.
pub fn diskstats(text: &str) -> Vec<DiskCounters> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_ascii_whitespace().collect();
            if f.len() < 14 {
                return None;
            }
            let n = |i: usize| f[i].parse::<u64>().ok();
            Some(DiskCounters {
                device: f[2].to_owned(),
                read_ops: n(3)?,
                read_bytes: n(5)?.saturating_mul(512),
                write_ops: n(7)?,
                write_bytes: n(9)?.saturating_mul(512),
                busy_ms: n(12)?,
            })
        })
        .collect()
}

/// `/proc/net/dev`.
pub fn net_dev(text: &str) -> Vec<NetCounters> {
    text.lines()
        .skip(2)
        .filter_map(|line| {
            let (name, rest) = line.split_once(':')?;
            let f: Vec<u64> = rest
                .split_ascii_whitespace()
                .map(|v| v.parse().ok())
                .collect::<Option<_>>()?;
            if f.len() < 12 {
                return None;
            }
            Some(NetCounters {
                interface: name.trim().to_owned(),
                rx_bytes: f[0],
                rx_errors: f[2],
                rx_drops: f[3],
                tx_bytes: f[8],
                tx_errors: f[10],
                tx_drops: f[11],
            })
        })
        .collect()
}

/// `/etc/os-release`: (NAME, VERSION_ID or VERSION).
pub fn os_release(text: &str) -> (Option<String>, Option<String>) {
    let mut name = None;
    let mut version_id = None;
    let mut version = None;
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').trim_matches('\'').to_owned();
        match k.trim() {
            "NAME" => name = Some(v),
            "VERSION_ID" => version_id = Some(v),
            "VERSION" => version = Some(v),
            _ => {}
        }
    }
    (name, version_id.or(version))
}

/// `/proc/cpuinfo`: model name and physical core count (distinct package/core pairs).
pub fn cpuinfo(text: &str) -> (Option<String>, Option<u32>) {
    let mut model = None;
    let mut cores = std::collections::HashSet::new();
    let mut package = None;
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            package = None;
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        match k {
            // x86 "model name"; ARM "Model" or "Hardware" when there is no model name.
            "model name" | "Model" | "Hardware" if model.is_none() && !v.is_empty() => {
                model = Some(v.to_owned());
            }
            "physical id" => package = Some(v.to_owned()),
            "core id" => {
                cores.insert((package.clone().unwrap_or_default(), v.to_owned()));
            }
            _ => {}
        }
    }
    let physical = (!cores.is_empty()).then_some(cores.len() as u32);
    (model, physical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_escapes_in_mount_points() {
        assert_eq!(unescape_octal(r"/mnt/my\040disk"), "/mnt/my disk");
        assert_eq!(unescape_octal(r"/a\134b"), r"/a\b");
        assert_eq!(unescape_octal(r"/trailing\04"), r"/trailing\04");
        assert_eq!(unescape_octal("/plain"), "/plain");
    }

    #[test]
    fn loadavg_needs_three_numbers() {
        assert_eq!(
            loadavg("0.49 0.29 0.14 1/132 10688\n"),
            Some((0.49, 0.29, 0.14))
        );
        assert_eq!(loadavg("0.49 x"), None);
    }
}
