//! The Linux collectors against a fixture tree of `/proc` and `/sys` (a 4-core server with
//! NVMe, SATA, LVM, bind mounts and container noise), against changing counters, and
//! against this machine.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use optralis_agent::collect::linux::LinuxPlatform;
use optralis_agent::collect::{Collector, Platform, native};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/linux")
}

/// A writable copy of the fixture tree, to move counters between two collections.
fn fixture_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture(), dir.path());
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn edit(root: &Path, rel: &str, from: &str, to: &str) {
    let path = root.join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{rel} has no {from:?}");
    std::fs::write(&path, text.replace(from, to)).unwrap();
}

#[test]
fn fixture_levels_and_facts() {
    let p = LinuxPlatform::new(fixture());
    let mem = p.memory().unwrap();
    assert_eq!(mem.total_bytes, 16_303_412 * 1024);
    assert_eq!(mem.available_bytes, 10_234_567 * 1024);
    assert_eq!(mem.used_bytes, (16_303_412 - 10_234_567) * 1024);
    assert_eq!(mem.swap_used_bytes, (2_097_148 - 1_572_860) * 1024);
    assert_eq!(p.load_average(), Some((0.52, 0.58, 0.59)));
    let up = p.uptime(0).unwrap();
    assert_eq!(up.uptime_s, 350_735);
    assert_eq!(up.boot_time_ms, 1_790_000_000_000);
    assert_eq!(
        p.cpu_temperature(),
        Some(52.0),
        "hottest coretemp sensor, not the NVMe one"
    );

    let f = p.facts();
    assert_eq!(f.hostname, "server-01");
    assert_eq!(
        (f.os_name.as_str(), f.os_version.as_str()),
        ("Debian GNU/Linux", "12")
    );
    assert_eq!(f.kernel_version, "6.1.0-27-amd64");
    assert_eq!(f.cpu_model, "Intel(R) Xeon(R) E-2224 CPU @ 3.40GHz");
    assert_eq!((f.cpu_physical_cores, f.cpu_logical_cores), (Some(4), 4));
    assert_eq!(
        p.machine_id().as_deref(),
        Some("0123456789abcdef0123456789abcdef")
    );
}

#[test]
fn fixture_filesystems_are_real_and_deduplicated() {
    let p = LinuxPlatform::new(fixture());
    let mounts: Vec<String> = p.filesystems().into_iter().map(|f| f.mount).collect();
    // No proc/sys/dev/run, tmpfs, overlay, squashfs snaps or NFS; bind mounts and btrfs
    // subvolumes of the same device once, by their shortest mount point.
    assert_eq!(
        mounts,
        ["/", "/boot/efi", "/home", "/mnt/backup disk", "/srv/data"]
    );
    let fs = p.filesystems();
    let root = &fs[0];
    assert_eq!(
        (root.fs_type.as_str(), root.device.as_str()),
        ("ext4", "/dev/nvme0n1p2")
    );
    assert!(root.total_bytes > 0 && root.used_bytes <= root.total_bytes);
    assert!(root.free_bytes <= root.total_bytes);
}

#[test]
fn fixture_disks_and_interfaces() {
    let p = LinuxPlatform::new(fixture());
    let mut disks: Vec<String> = p.disk_counters().into_iter().map(|d| d.device).collect();
    disks.sort();
    assert_eq!(
        disks,
        ["dm-0", "nvme0n1", "sda"],
        "whole disks only: no partitions, loop or zram"
    );
    let nvme = p
        .disk_counters()
        .into_iter()
        .find(|d| d.device == "nvme0n1")
        .unwrap();
    assert_eq!(nvme.read_bytes, 9_000_000 * 512);
    assert_eq!(nvme.write_ops, 300_000);
    assert_eq!(nvme.busy_ms, 200_000);
    let nets: Vec<String> = p.net_counters().into_iter().map(|n| n.interface).collect();
    assert_eq!(nets, ["eno1", "wlp2s0"], "no loopback, no veth");
    let eno = p
        .net_counters()
        .into_iter()
        .find(|n| n.interface == "eno1")
        .unwrap();
    assert_eq!(
        (eno.rx_bytes, eno.rx_errors, eno.rx_drops, eno.tx_errors),
        (9_876_543_210, 3, 12, 1)
    );
}

#[test]
fn rates_between_two_collections_including_wraps_and_resets() {
    let dir = fixture_copy();
    let root = dir.path();
    let mut c = Collector::new(LinuxPlatform::new(root));
    let t0 = Instant::now();
    let first = c.collect(t0, 1_000).unwrap();
    assert_eq!(first.cpu.percent, 0.0, "no rate without a previous reading");
    assert!(first.disks.iter().all(|d| d.read_bytes_per_s == 0.0));

    // Ten seconds later: cpu0 fully busy, the rest idle; nvme read 10 MiB; sda's counters
    // were reset (device re-attached); wlp2s0 wrapped its 32-bit byte counter; eno1 moved on.
    edit(
        root,
        "proc/stat",
        "cpu  10000 500 3000 80000",
        "cpu  11000 500 3000 84000",
    );
    edit(
        root,
        "proc/stat",
        "cpu0 2500 125 750 20000",
        "cpu0 3500 125 750 20000",
    );
    edit(
        root,
        "proc/stat",
        "cpu1 2500 125 750 20000 250 50 75 25 13",
        "cpu1 2500 125 750 21000 250 50 75 25 13",
    );
    edit(
        root,
        "proc/diskstats",
        "nvme0n1 150000 2000 9000000",
        "nvme0n1 150100 2000 9020480",
    );
    edit(
        root,
        "proc/diskstats",
        "8       0 sda 50000 100 4000000 90000 20000 500 1600000 40000 1 80000",
        "8       0 sda 10 0 2048 5 0 0 0 0 0 8",
    );
    edit(root, "proc/diskstats", "0 200000 180000", "0 205000 180000");
    edit(root, "proc/net/dev", "wlp2s0: 4294967000", "wlp2s0: 704");
    edit(
        root,
        "proc/net/dev",
        "eno1: 9876543210 7654321    3   12",
        "eno1: 9876553210 7654321    5   12",
    );
    let second = c.collect(t0 + Duration::from_secs(10), 11_000).unwrap();

    assert!(
        (second.cpu.percent - 1000.0 / 5000.0 * 100.0).abs() < 1e-9,
        "{}",
        second.cpu.percent
    );
    assert_eq!(second.cpu.per_core[0], 100.0);
    assert_eq!(second.cpu.per_core[1], 0.0);
    let disk = |n: &str| second.disks.iter().find(|d| d.device == n).unwrap().clone();
    assert_eq!(disk("nvme0n1").read_bytes_per_s, 20_480.0 * 512.0 / 10.0);
    assert_eq!(disk("nvme0n1").read_ops_per_s, 10.0);
    assert_eq!(disk("nvme0n1").busy_percent, 50.0);
    let sda = disk("sda");
    assert_eq!(
        sda.read_bytes_per_s,
        2048.0 * 512.0 / 10.0,
        "a reset counts from zero, never negative"
    );
    assert!(sda.busy_percent >= 0.0 && sda.busy_percent <= 100.0);
    let net = |n: &str| {
        second
            .networks
            .iter()
            .find(|x| x.interface == n)
            .unwrap()
            .clone()
    };
    assert_eq!(
        net("wlp2s0").rx_bytes_per_s,
        (4_294_967_296.0 - 4_294_967_000.0 + 704.0) / 10.0
    );
    assert_eq!(net("eno1").rx_bytes_per_s, 1000.0);
    assert_eq!(net("eno1").rx_errors, 2, "errors during the interval");
    for d in &second.disks {
        for v in [
            d.read_bytes_per_s,
            d.write_bytes_per_s,
            d.read_ops_per_s,
            d.write_ops_per_s,
        ] {
            assert!(v.is_finite() && v >= 0.0, "{d:?}");
        }
    }
}

#[test]
fn missing_sources_are_absent_not_zero() {
    let dir = fixture_copy();
    std::fs::remove_dir_all(dir.path().join("sys/class")).unwrap();
    std::fs::remove_file(dir.path().join("proc/loadavg")).unwrap();
    let p = LinuxPlatform::new(dir.path());
    assert_eq!(p.cpu_temperature(), None);
    assert_eq!(p.load_average(), None);
    std::fs::remove_file(dir.path().join("proc/stat")).unwrap();
    let err = p.cpu_times().unwrap_err().to_string();
    assert!(err.contains("proc/stat"), "{err}");
}

#[test]
fn this_machine() {
    let mut c = Collector::new(native());
    let t0 = Instant::now();
    c.prime(t0).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let r = c.collect(Instant::now(), 1).unwrap();
    assert!(!r.cpu.per_core.is_empty());
    assert!((0.0..=100.0).contains(&r.cpu.percent));
    assert!(r.memory.total_bytes > 0 && r.memory.used_bytes <= r.memory.total_bytes);
    assert!(!r.filesystems.is_empty(), "at least the root filesystem");
    assert!(r.uptime_s > 0);
    let facts = c.platform().facts();
    assert!(!facts.hostname.is_empty());
    assert_eq!(facts.cpu_logical_cores as usize, r.cpu.per_core.len());
}
