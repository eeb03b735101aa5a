//! S.M.A.R.T.: parsing smartctl's JSON and judging disks, on the project's own fixtures and,
//! when `../shared/fixtures/smartctl` is present (always in CI), on real drives' outputs.

use std::path::{Path, PathBuf};

use optralis_agent::smart::{SmartReport, SmartState, parse_device, parse_scan, read_snapshot};
use optralis_proto::smart::{Protocol, Verdict};

fn own(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/smartctl")
            .join(name),
    )
    .unwrap()
}

fn shared_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/smartctl");
    if dir.is_dir() {
        Some(dir)
    } else if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI must have ../shared/fixtures/smartctl beside the project");
    } else {
        None
    }
}

#[test]
fn ata_counters_are_decoded_and_warn() {
    let d = parse_device(&own("ata-pending.json")).unwrap();
    assert_eq!(
        (d.protocol, d.model.as_str(), d.serial.as_str()),
        (Protocol::Ata, "ST4000DM004-2CV104", "ZFN0TEST")
    );
    assert_eq!(d.capacity_bytes, Some(4_000_787_030_016));
    assert_eq!(d.rotation_rpm, Some(5425));
    assert_eq!(
        d.attribute(9).unwrap().raw,
        25_812,
        "hours without the packed high bytes"
    );
    assert_eq!(
        d.attribute(194).unwrap().raw,
        38,
        "temperature without min/max"
    );
    assert_eq!(
        d.attribute(188).unwrap().raw,
        1,
        "low counter of the packed three"
    );
    assert_eq!(d.temperature_c, Some(38));
    assert_eq!(d.power_cycles, Some(412));
    assert!(d.exit_status.error_log_has_errors() && !d.exit_status.disk_failing());
    let (verdict, reasons) = d.verdict();
    assert_eq!(verdict, Verdict::Warning);
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("Current_Pending_Sector (197) = 16"))
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("Offline_Uncorrectable (198) = 16"))
    );
}

#[test]
fn nvme_wear_spare_and_critical_warnings() {
    let worn = parse_device(&own("nvme-worn.json")).unwrap();
    assert_eq!(worn.protocol, Protocol::Nvme);
    assert!(worn.is_solid_state());
    let n = worn.nvme.as_ref().unwrap();
    assert_eq!(
        (n.percentage_used, n.media_errors, n.unsafe_shutdowns),
        (93, 2, 31)
    );
    let (verdict, reasons) = worn.verdict();
    assert_eq!(verdict, Verdict::Warning);
    assert!(
        reasons.iter().any(|r| r.contains("wear 93 %")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("2 media errors")),
        "{reasons:?}"
    );

    let spare = parse_device(&own("nvme-spare.json")).unwrap();
    let (verdict, reasons) = spare.verdict();
    assert_eq!(verdict, Verdict::Failing);
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("available spare below threshold")),
        "{reasons:?}"
    );
}

#[test]
fn unreadable_devices_and_scans() {
    let err = parse_device(&own("open-failed.json"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("Permission denied"), "{err}");
    assert!(parse_device(b"not json").is_err());
    let devices = parse_scan(&own("scan.json")).unwrap();
    assert_eq!(
        devices,
        [
            ("/dev/sda".to_owned(), "sat".to_owned()),
            ("/dev/bus/0".to_owned(), "megaraid,0".to_owned()),
            ("/dev/nvme0".to_owned(), "nvme".to_owned())
        ]
    );
}

#[test]
fn no_smartctl_is_a_state_not_silence() {
    let snapshot = read_snapshot(Some(Path::new("/nonexistent/smartctl")));
    assert_eq!(snapshot.unavailable.as_deref(), Some("smartctl not found"));
    let report = SmartReport::from_snapshot(snapshot);
    assert_eq!(
        report.state,
        SmartState::Unavailable {
            reason: "smartctl not found".into()
        }
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["state"], "unavailable");
    assert_eq!(json["reason"], "smartctl not found");
    assert_eq!(json["devices"], serde_json::json!([]));
}

#[test]
fn cli_prints_the_contract() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smartctl/ata-pending.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_optralis-agent"))
        .args(["smart", "--json", "--from"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &v["devices"][0];
    for key in [
        "model",
        "serial",
        "protocol",
        "temperature_c",
        "power_on_hours",
        "verdict",
        "reasons",
    ] {
        assert!(!d[key].is_null(), "{key} missing: {d}");
    }
    assert_eq!(d["protocol"], "ata");
    assert_eq!(d["verdict"], "warning");
    assert_eq!(d["power_on_hours"], 25_812);
}

/// Real drives (Scrutiny's public test data): identity, key attributes and verdicts.
#[test]
fn conformance_with_real_drives() {
    let Some(dir) = shared_dir() else { return };
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();

    let ata = parse_device(&read("smart-ata.json")).unwrap();
    assert_eq!(
        (ata.model.as_str(), ata.serial.as_str()),
        ("WDC WD140EDFZ-11A0VA0", "9RK1XXXX")
    );
    assert_eq!(
        (ata.protocol, ata.temperature_c, ata.power_on_hours),
        (Protocol::Ata, Some(32), Some(1730))
    );
    assert_eq!(ata.verdict().0, Verdict::Ok);

    let ssd = parse_device(&read("smart-ata-full.json")).unwrap();
    assert_eq!(ssd.model, "Samsung SSD 860 EVO 500GB");
    assert_eq!(ssd.rotation_rpm, Some(0));
    assert_eq!(
        (ssd.temperature_c, ssd.power_on_hours),
        (Some(36), Some(14_551))
    );
    assert_eq!(ssd.verdict().0, Verdict::Ok);

    let nvme = parse_device(&read("smart-nvme.json")).unwrap();
    assert_eq!(
        (nvme.model.as_str(), nvme.protocol),
        ("INTEL SSDPEKNW010T8", Protocol::Nvme)
    );
    assert_eq!(
        (nvme.temperature_c, nvme.power_on_hours, nvme.power_cycles),
        (Some(36), Some(2401), Some(266))
    );
    assert_eq!(nvme.nvme.as_ref().unwrap().unsafe_shutdowns, 43);
    assert_eq!(nvme.verdict().0, Verdict::Ok);

    let scsi = parse_device(&read("smart-scsi.json")).unwrap();
    assert_eq!(
        (scsi.model.as_str(), scsi.protocol),
        ("SEAGATE ST4000NM0043", Protocol::Scsi)
    );
    assert_eq!(scsi.scsi.as_ref().unwrap().grown_defects, 56);
    assert_eq!(
        (scsi.temperature_c, scsi.power_on_hours, scsi.rotation_rpm),
        (Some(34), Some(43_549), Some(7200))
    );
    let (verdict, reasons) = scsi.verdict();
    assert_eq!(verdict, Verdict::Warning);
    assert_eq!(reasons, ["56 grown defects"]);

    // A failed drive behind a USB bridge: smartctl says FAILED (exit bits 3, 4, 6, 7).
    let failed = parse_device(&read("smart-fail2.json")).unwrap();
    assert_eq!(
        (failed.device_type.as_str(), failed.model.as_str()),
        ("usbjmicron", "Hitachi HDS721050DLE630")
    );
    assert!(failed.exit_status.disk_failing() && failed.exit_status.prefail_below_threshold());
    assert_eq!(failed.attribute(5).unwrap().raw, 1975);
    assert_eq!(failed.attribute(197).unwrap().raw, 8);
    assert_eq!(failed.temperature_c, Some(25), "packed min/max stripped");
    let (verdict, reasons) = failed.verdict();
    assert_eq!(verdict, Verdict::Failing);
    assert!(reasons[0].contains("FAILED"), "{reasons:?}");

    // A USB/SAT drive with only attributes.
    let sat = parse_device(&read("smart-sat.json")).unwrap();
    assert_eq!(
        (sat.temperature_c, sat.power_on_hours),
        (Some(29), Some(2725))
    );
    assert_eq!(sat.smart_passed, None, "no self-assessment: not invented");

    // An error run: no device, the reason kept.
    let err = parse_device(&read("smart-fail.json"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("Open failed"), "{err}");

    for scan in [
        "smartctl_scan_simple.json",
        "smartctl_scan_megaraid.json",
        "smartctl_scan_nvme.json",
    ] {
        let devices = parse_scan(&read(scan)).unwrap();
        assert!(!devices.is_empty(), "{scan}");
    }
    let megaraid = parse_scan(&read("smartctl_scan_megaraid.json")).unwrap();
    assert!(
        megaraid.iter().any(|(_, t)| t.starts_with("megaraid,")),
        "{megaraid:?}"
    );
}

#[cfg(unix)]
#[test]
fn a_hanging_smartctl_is_stopped() {
    // `sleep` stands in for a smartctl stuck on a dying disk: what matters is that the call
    // returns, with a reason, instead of stalling the agent's collections.
    let err = optralis_agent::smart::run_with_timeout(
        Path::new("/bin/sleep"),
        &["30"],
        std::time::Duration::from_millis(300),
    )
    .unwrap_err();
    assert!(err.contains("took longer"), "{err}");
    let out = optralis_agent::smart::run_with_timeout(
        Path::new("/bin/echo"),
        &["{}"],
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(out, b"{}\n");
}
