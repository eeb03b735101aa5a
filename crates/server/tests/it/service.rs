//! The server's systemd unit (packaging/linux/optralis.service, shipped in the .deb) as
//! systemd itself judges it: verify, and the security exposure score.

use std::path::Path;
use std::process::Command;

const UNIT: &str = include_str!("../../packaging/linux/optralis.service");

/// The unit with `ExecStart` on the binary under test (verify checks that it exists).
fn unit_for_this_build(dir: &Path) -> std::path::PathBuf {
    let unit = UNIT.replace(
        "ExecStart=/usr/bin/optralis ",
        &format!("ExecStart={} ", env!("CARGO_BIN_EXE_optralis")),
    );
    assert_ne!(unit, UNIT, "the unit's ExecStart moved");
    let path = dir.join("optralis.service");
    std::fs::write(&path, unit).unwrap();
    path
}

fn systemd_analyze() -> Command {
    let probe = Command::new("systemd-analyze").arg("--version").output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "systemd-analyze is needed (Debian: apt-get install systemd)"
    );
    Command::new("systemd-analyze")
}

#[test]
fn the_server_unit_passes_systemd_verify() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_this_build(dir.path());
    let out = systemd_analyze().arg("verify").arg(&unit).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.trim().is_empty(), "verify warns: {stderr}");
}

#[test]
fn the_server_unit_scores_at_most_3_for_exposure() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_this_build(dir.path());
    let out = systemd_analyze()
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&unit)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| {
            panic!(
                "no score in: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let score: f64 = line
        .rsplit_once(": ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unreadable score: {line}"));
    assert!(score <= 3.0, "{line}");
}

/// The configuration the package installs is one the server accepts.
#[test]
fn the_packaged_configuration_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/linux/optralis.toml");
    let file = optralis::config::FileConfig::load(&path).unwrap();
    assert_eq!(file.listen.as_deref(), Some("127.0.0.1:8080"));
    file.api_settings().unwrap();
}
