//! The `optralis-agent` binary as a user runs it.

use std::process::Command;

use optralis_proto::agent::Report;

fn agent(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_optralis-agent"))
        .args(args)
        .output()
        .expect("run agent")
}

#[test]
fn once_json_prints_a_full_collection() {
    let out = agent(&["once", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Report = serde_json::from_slice(&out.stdout).expect("a report");
    assert!(r.memory.total_bytes > 0);
    // Under Wine (where the Windows build is tested) the agent sees no filesystems.
    #[cfg(unix)]
    assert!(!r.filesystems.is_empty());
    assert!(r.facts.is_some_and(|f| !f.hostname.is_empty()));
}

#[test]
fn run_explains_what_is_missing() {
    let out = agent(&["run"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--server"));
    let out = agent(&["run", "--server", "ftp://x"]);
    assert!(!out.status.success());
    let out = agent(&[
        "run",
        "--server",
        "http://127.0.0.1:9",
        "--interval",
        "soon",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("30s"));
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_optralis-agent"))
        .args(["run", "--server", "http://127.0.0.1:9", "--state-dir"])
        .arg(dir.path())
        .env_remove("OPTRALIS_ENROLL_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("enrollment key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn labels_are_checked_before_starting() {
    let out = agent(&[
        "run",
        "--server",
        "http://127.0.0.1:9",
        "--label",
        "bad key=x",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad key"), "{err}");
    let out = agent(&["run", "--server", "http://127.0.0.1:9", "--label", "env"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("key=value"));
}

#[cfg(target_os = "linux")]
#[test]
fn events_prints_the_last_hour_of_a_journal() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cli.journal");
    let now = crate::journal::now_ms();
    crate::journal::append_journal(
        &file,
        &[
            (
                3,
                "smartd",
                "Device: /dev/sda, 8 Currently unreadable sectors",
                now - 60_000,
            ),
            (
                3,
                "smartd",
                "Device: /dev/sda, 8 Currently unreadable sectors",
                now - 30_000,
            ),
            (4, "old", "two hours ago", now - 7_200_000),
        ],
    );
    let path = file.to_str().unwrap();
    let out = agent(&["events", "--journal-file", path, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let batch: optralis_proto::events::EventBatch = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(batch.events.len(), 1, "{batch:?}");
    assert_eq!(batch.events[0].count, 2);
    let out = agent(&["events", "--journal-file", path]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("error    smartd: Device: /dev/sda, 8 Currently unreadable sectors (×2)"),
        "{text}"
    );
}
