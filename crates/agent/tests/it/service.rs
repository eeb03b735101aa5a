//! The agent as a systemd service: the shipped unit as systemd itself judges it (verify and
//! the security exposure score), and the notification protocol as the real binary speaks it.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const UNIT: &str = include_str!("../../packaging/linux/optralis-agent.service");

/// The unit with `ExecStart` on the binary under test (verify checks that it exists).
fn unit_for_this_build(dir: &Path) -> std::path::PathBuf {
    let unit = UNIT.replace(
        "ExecStart=/usr/bin/optralis-agent ",
        &format!("ExecStart={} ", env!("CARGO_BIN_EXE_optralis-agent")),
    );
    assert_ne!(unit, UNIT, "the unit's ExecStart moved");
    let path = dir.join("optralis-agent.service");
    std::fs::write(&path, unit).unwrap();
    path
}

fn systemd_analyze() -> Command {
    // CI installs systemd (the journald tests need it too); missing, the test fails here.
    let probe = Command::new("systemd-analyze").arg("--version").output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "systemd-analyze is needed (Debian: apt-get install systemd)"
    );
    Command::new("systemd-analyze")
}

#[test]
fn the_unit_passes_systemd_verify() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_this_build(dir.path());
    let out = systemd_analyze().arg("verify").arg(&unit).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.trim().is_empty(), "verify warns: {stderr}");
}

#[test]
fn the_unit_scores_at_most_3_for_exposure() {
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

#[test]
fn the_running_agent_tells_systemd_it_is_ready_alive_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // No server answers: the agent waits to enroll, and its loop keeps pinging meanwhile.
    let mut agent = Command::new(env!("CARGO_BIN_EXE_optralis-agent"))
        .args([
            "run",
            "--server",
            "http://127.0.0.1:9",
            "--enroll-key",
            "oek_x",
        ])
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .args(["--smart-interval", "off", "--no-events"])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "300000")
        .env_remove("WATCHDOG_PID")
        .spawn()
        .unwrap();
    let mut buf = [0u8; 512];
    let mut recv = || {
        let n = socket.recv(&mut buf).expect("a notification within 10 s");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let first = recv();
    assert!(first.starts_with("READY=1\n"), "{first}");
    assert!(
        first.contains("STATUS=reporting to http://127.0.0.1:9"),
        "{first}"
    );
    let started = Instant::now();
    let mut pings = 0;
    while pings < 3 {
        let m = recv();
        assert_eq!(m, "WATCHDOG=1");
        pings += 1;
    }
    // Three pings at half the 300 ms watchdog: about 450 ms, well under a second or two.
    assert!(started.elapsed() < Duration::from_secs(5));
    let pid = rustix::process::Pid::from_child(&agent);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let last = loop {
        let m = recv();
        if m != "WATCHDOG=1" {
            break m;
        }
    };
    assert_eq!(last, "STOPPING=1");
    let status = agent.wait().unwrap();
    // A stop asked for is a clean exit, even before the first enrollment.
    assert!(status.success(), "{status}");
}

#[test]
fn install_without_systemd_says_what_to_run_instead() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_optralis-agent"))
        .args([
            "install",
            "--server",
            "https://optralis.example",
            "--enroll-key",
            "oek_x",
        ])
        // As on a machine without systemd, wherever the test runs.
        .env("OPTRALIS_SYSTEMD_PROBE", dir.path().join("no-systemd"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    if rustix::process::geteuid().is_root() {
        assert!(stderr.contains("does not run systemd"), "{stderr}");
        assert!(
            stderr.contains("run --server https://optralis.example --enroll-key KEY"),
            "{stderr}"
        );
    } else {
        assert!(stderr.contains("needs root"), "{stderr}");
    }
}
