//! Writes real journal files for tests with Debian's systemd-journal-remote. Shared by the
//! agent's and the server's tests (the server includes this file with `#[path]`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Debian's systemd-journal-remote; the test fails (never skips) without it.
pub fn journal_remote() -> PathBuf {
    [
        "/lib/systemd/systemd-journal-remote",
        "/usr/lib/systemd/systemd-journal-remote",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
    .expect("systemd-journal-remote is missing: apt-get install systemd-journal-remote")
}

/// Appends entries (priority, identifier, message, time in ms) to the journal file `path`.
pub fn append_journal(path: &Path, entries: &[(u8, &str, &str, i64)]) {
    let mut export = String::new();
    for (i, (priority, ident, message, ts_ms)) in entries.iter().enumerate() {
        export.push_str(&format!(
            "__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n_BOOT_ID=0123456789abcdef0123456789abcdef\n\
             PRIORITY={priority}\nSYSLOG_IDENTIFIER={ident}\nMESSAGE={message}\n\n",
            ts_ms * 1000,
            ts_ms * 1000 + i as i64,
        ));
    }
    let mut child = Command::new(journal_remote())
        .arg(format!("--output={}", path.display()))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(export.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "systemd-journal-remote: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The agent's clock, which journal entries must be near to be read on a first start.
pub fn now_ms() -> i64 {
    optralis_agent::clock::now_ms()
}
