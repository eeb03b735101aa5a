//! Windows: CPU times from the kernel's per-processor counters (`win32::cpu`), the rest
//! through `sysinfo`. Cross-compiled and run under Wine by `cargo xtask windows`; keep it
//! small and keep the logic in the shared collector.

use std::sync::Mutex;

use optralis_proto::agent::{FilesystemSample, HostFacts, MemorySample};
use sysinfo::{Components, Disks, Networks, System};

use super::{CollectError, CpuTicks, CpuTimes, DiskCounters, NetCounters, Platform, Uptime};

pub struct WindowsPlatform {
    networks: Mutex<Networks>,
}

impl WindowsPlatform {
    pub fn new() -> Self {
        Self {
            networks: Mutex::new(Networks::new_with_refreshed_list()),
        }
    }
}

impl Platform for WindowsPlatform {
    fn cpu_times(&self) -> Result<CpuTimes, CollectError> {
        let per_core: Vec<CpuTicks> = crate::win32::cpu::processor_times()
            .map_err(|e| CollectError::Parse {
                what: "cpu",
                detail: e.to_string(),
            })?
            .into_iter()
            .map(|p| CpuTicks {
                busy: p.busy,
                total: p.total,
            })
            .collect();
        let all = per_core
            .iter()
            .fold(CpuTicks::default(), |sum, c| CpuTicks {
                busy: sum.busy + c.busy,
                total: sum.total + c.total,
            });
        Ok(CpuTimes { all, per_core })
    }

    fn load_average(&self) -> Option<(f64, f64, f64)> {
        None
    }

    fn memory(&self) -> Result<MemorySample, CollectError> {
        let mut sys = System::new();
        sys.refresh_memory();
        Ok(MemorySample {
            total_bytes: sys.total_memory(),
            used_bytes: sys.total_memory().saturating_sub(sys.available_memory()),
            available_bytes: sys.available_memory(),
            swap_total_bytes: sys.total_swap(),
            swap_used_bytes: sys.used_swap(),
        })
    }

    fn filesystems(&self) -> Vec<FilesystemSample> {
        Disks::new_with_refreshed_list()
            .iter()
            .filter(|d| d.total_space() > 0)
            .map(|d| FilesystemSample {
                mount: d.mount_point().to_string_lossy().into_owned(),
                fs_type: d.file_system().to_string_lossy().into_owned(),
                device: d.name().to_string_lossy().into_owned(),
                total_bytes: d.total_space(),
                used_bytes: d.total_space().saturating_sub(d.available_space()),
                free_bytes: d.available_space(),
                inodes_total: None,
                inodes_used: None,
            })
            .collect()
    }

    fn disk_counters(&self) -> Vec<DiskCounters> {
        Disks::new_with_refreshed_list()
            .iter()
            .map(|d| {
                let u = d.usage();
                DiskCounters {
                    device: d.name().to_string_lossy().into_owned(),
                    read_bytes: u.total_read_bytes,
                    write_bytes: u.total_written_bytes,
                    ..Default::default()
                }
            })
            .collect()
    }

    fn net_counters(&self) -> Vec<NetCounters> {
        let Ok(mut nets) = self.networks.lock() else {
            return Vec::new();
        };
        nets.refresh(true);
        nets.iter()
            .map(|(name, n)| NetCounters {
                interface: name.clone(),
                rx_bytes: n.total_received(),
                tx_bytes: n.total_transmitted(),
                rx_errors: n.total_errors_on_received(),
                tx_errors: n.total_errors_on_transmitted(),
                rx_drops: 0,
                tx_drops: 0,
            })
            .collect()
    }

    fn uptime(&self, _now_ms: i64) -> Result<Uptime, CollectError> {
        Ok(Uptime {
            uptime_s: System::uptime(),
            boot_time_ms: System::boot_time() as i64 * 1000,
        })
    }

    /// What Windows itself exposes without a kernel driver: the ACPI thermal zones
    /// (`MSAcpi_ThermalZoneTemperature` through WMI, which sysinfo reads as one component,
    /// "Computer"). Most desktops' firmware points them at the CPU package; where there is
    /// none (many laptops, every VM, Wine) the temperature is absent, never made up.
    fn cpu_temperature(&self) -> Option<f64> {
        Components::new_with_refreshed_list()
            .iter()
            .filter_map(|c| c.temperature())
            .filter(|t| t.is_finite() && *t > 0.0)
            .map(f64::from)
            .reduce(f64::max)
    }

    fn facts(&self) -> HostFacts {
        let sys = System::new_with_specifics(
            sysinfo::RefreshKind::nothing().with_cpu(sysinfo::CpuRefreshKind::nothing()),
        );
        HostFacts {
            hostname: System::host_name().unwrap_or_default(),
            os_name: System::name().unwrap_or_else(|| "Windows".into()),
            os_version: System::os_version().unwrap_or_default(),
            kernel_version: System::kernel_version().unwrap_or_default(),
            arch: std::env::consts::ARCH.to_owned(),
            cpu_model: sys
                .cpus()
                .first()
                .map(|c| c.brand().to_owned())
                .unwrap_or_default(),
            cpu_physical_cores: System::physical_core_count().map(|c| c as u32),
            cpu_logical_cores: sys.cpus().len() as u32,
            agent_version: crate::update::AGENT_VERSION.to_owned(),
        }
    }

    fn machine_id(&self) -> Option<String> {
        None
    }
}
