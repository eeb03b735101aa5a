//! Synthetic reports shaped like a typical server's (4 filesystems, 2 disks, 2 interfaces),
//! for tests and the load generator. Values vary with `seq` so series are not flat.

use crate::agent::{
    CpuSample, DiskIoSample, FilesystemSample, MemorySample, NetworkSample, OutboxStats, Report,
};

const GIB: u64 = 1024 * 1024 * 1024;

pub fn report(seq: u64, ts_ms: i64) -> Report {
    let wave = (seq % 60) as f64;
    Report {
        seq,
        ts_ms,
        interval_s: 60,
        cpu: CpuSample {
            percent: 10.0 + wave,
            per_core: vec![5.0 + wave, 15.0 + wave, 10.0, 12.0],
            load1: Some(0.5 + wave / 100.0),
            load5: Some(0.4),
            load15: Some(0.3),
        },
        memory: MemorySample {
            total_bytes: 16 * GIB,
            used_bytes: 4 * GIB + seq % 1024 * 1024 * 1024,
            available_bytes: 12 * GIB - seq % 1024 * 1024 * 1024,
            swap_total_bytes: 2 * GIB,
            swap_used_bytes: 0,
        },
        filesystems: ["/", "/home", "/var", "/boot"]
            .iter()
            .enumerate()
            .map(|(i, m)| FilesystemSample {
                mount: (*m).to_owned(),
                fs_type: "ext4".to_owned(),
                device: format!("/dev/sda{}", i + 1),
                total_bytes: 100 * GIB,
                used_bytes: (20 + i as u64 * 10) * GIB + seq,
                free_bytes: (75 - i as u64 * 10) * GIB - seq,
                inodes_total: Some(6_553_600),
                inodes_used: Some(100_000 + seq),
            })
            .collect(),
        disks: ["nvme0n1", "sda"]
            .iter()
            .map(|d| DiskIoSample {
                device: (*d).to_owned(),
                read_bytes_per_s: 1000.0 * wave,
                write_bytes_per_s: 2000.0 * wave,
                read_ops_per_s: wave,
                write_ops_per_s: 2.0 * wave,
                busy_percent: wave,
            })
            .collect(),
        networks: ["eth0", "eth1"]
            .iter()
            .map(|n| NetworkSample {
                interface: (*n).to_owned(),
                rx_bytes_per_s: 5000.0 + wave,
                tx_bytes_per_s: 3000.0 + wave,
                rx_errors: 0,
                tx_errors: 0,
                rx_drops: 0,
                tx_drops: 0,
            })
            .collect(),
        uptime_s: 86_400 + seq * 60,
        boot_time_ms: ts_ms - 86_400_000,
        cpu_temp_c: Some(45.0),
        facts: None,
        outbox: OutboxStats::default(),
        smart: None,
        labels: None,
        events: None,
    }
}
