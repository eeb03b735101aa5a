//! journald through `journalctl -o json`: entries of priority warning and worse, after the
//! saved cursor. journalctl keeps the on-disk format's compatibility our problem no more.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use optralis_proto::events::{EventSeverity, SystemEvent};
use serde_json::Value;

use super::{EventError, EventSource, FIRST_START_LOOKBACK_MS, ReadEntries};

/// Where the system journal lives: without a file in either, journald is not running here.
const JOURNAL_DIRS: &[&str] = &["/var/log/journal", "/run/log/journal"];
/// Longest one journalctl run may take.
const TIMEOUT: Duration = Duration::from_secs(30);

pub struct Journald {
    journalctl: Option<PathBuf>,
    files: Vec<PathBuf>,
}

impl Journald {
    /// `journalctl`: the program to run (`None`: PATH, then /usr/bin and /bin); `files`:
    /// journal files to read instead of the system journal.
    pub fn new(journalctl: Option<&Path>, files: Vec<PathBuf>) -> Self {
        Self {
            journalctl: find_journalctl(journalctl),
            files,
        }
    }

    fn args(&self, position: Option<&str>, now_ms: i64) -> Vec<String> {
        let mut args: Vec<String> = ["-o", "json", "--all", "--no-pager", "-p", "warning"]
            .map(String::from)
            .to_vec();
        for f in &self.files {
            args.push(format!("--file={}", f.display()));
        }
        match position {
            Some(cursor) => args.push(format!("--after-cursor={cursor}")),
            None => args.push(format!(
                "--since=@{}",
                (now_ms - FIRST_START_LOOKBACK_MS).max(0) / 1000
            )),
        }
        args
    }
}

fn find_journalctl(configured: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = configured {
        return p.is_file().then(|| p.to_owned());
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("journalctl"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        ["/usr/bin/journalctl", "/bin/journalctl"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
    })
}

/// Whether a journal directory holds any journal file (in a machine-id subdirectory).
fn system_journal_exists() -> bool {
    JOURNAL_DIRS.iter().any(|dir| {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                std::fs::read_dir(e.path()).is_ok_and(|files| {
                    files
                        .flatten()
                        .any(|f| f.path().extension().is_some_and(|x| x == "journal"))
                })
            })
        })
    })
}

impl EventSource for Journald {
    fn name(&self) -> &'static str {
        "journald"
    }

    fn read(
        &mut self,
        position: Option<&str>,
        now_ms: i64,
        max: usize,
    ) -> Result<ReadEntries, EventError> {
        let Some(journalctl) = &self.journalctl else {
            return Err(EventError::Unavailable("journalctl not found".into()));
        };
        if self.files.is_empty() && !system_journal_exists() {
            return Err(EventError::Unavailable(
                "no journal: journald keeps no files in /var/log/journal or /run/log/journal \
                 (a container or a system without systemd)"
                    .into(),
            ));
        }
        let args = self.args(position, now_ms);
        let mut read = run(journalctl, &args, max)?;
        if position.is_none() {
            // journalctl seeks to --since and then reads on in journal order, which can hold
            // older entries (a clock set back): the first start keeps only the last hour.
            let since = now_ms - FIRST_START_LOOKBACK_MS;
            read.entries.retain(|e| e.last_ts_ms >= since);
        }
        Ok(read)
    }
}

/// Runs journalctl and parses its lines, stopping (and stopping it) after `max` entries.
fn run(journalctl: &Path, args: &[String], max: usize) -> Result<ReadEntries, EventError> {
    let mut child = Command::new(journalctl)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            EventError::Unavailable(format!("cannot run {}: {e}", journalctl.display()))
        })?;
    let mut stderr = child.stderr.take();
    let err_reader = std::thread::spawn(move || {
        let mut buf = String::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_string(&mut buf);
        }
        buf
    });
    let started = Instant::now();
    let mut read = ReadEntries::default();
    let mut stopped_early = false;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| EventError::Read(format!("journalctl output: {e}")))?;
            if line.trim().is_empty() {
                continue;
            }
            let Ok(entry) = serde_json::from_str::<Value>(&line) else {
                tracing::warn!("journalctl printed a line that is not JSON; skipped");
                continue;
            };
            if let Some(cursor) = entry.get("__CURSOR").and_then(Value::as_str) {
                read.position = Some(cursor.to_owned());
            }
            if let Some(e) = parse_entry(&entry) {
                read.entries.push(e);
            }
            if read.entries.len() >= max || started.elapsed() > TIMEOUT {
                stopped_early = true;
                break;
            }
        }
    }
    if stopped_early {
        // The rest is read from the new position next time.
        let _ = child.kill();
    }
    let status = child
        .wait()
        .map_err(|e| EventError::Read(format!("waiting for journalctl: {e}")))?;
    let stderr = err_reader.join().unwrap_or_default();
    if !status.success() && !stopped_early {
        let message = stderr.trim();
        if read.position.is_none() && message.contains("cursor") {
            return Err(EventError::BadPosition(format!(
                "journalctl refused the saved cursor: {message}"
            )));
        }
        if read.position.is_none() {
            return Err(EventError::Read(format!(
                "journalctl failed ({status}): {message}"
            )));
        }
    }
    if stderr.contains("not seeing messages from other users") {
        tracing::warn!(
            "journalctl sees only this user's entries: run the agent as root or in the systemd-journal group"
        );
    }
    Ok(read)
}

/// One journal entry as an event; `None` for entries less severe than warning.
pub fn parse_entry(entry: &Value) -> Option<SystemEvent> {
    let field = |name: &str| -> Option<String> {
        match entry.get(name)? {
            Value::String(s) => Some(s.clone()),
            // Fields that are not valid UTF-8 come as arrays of bytes.
            Value::Array(bytes) => {
                let bytes: Vec<u8> = bytes
                    .iter()
                    .filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                    .collect();
                Some(String::from_utf8_lossy(&bytes).into_owned())
            }
            _ => None,
        }
    };
    let priority: u8 = field("PRIORITY")?.trim().parse().ok()?;
    let severity = EventSeverity::from_syslog_priority(priority)?;
    let ts_ms = field("__REALTIME_TIMESTAMP")?.parse::<i64>().ok()? / 1000;
    let unit = field("_SYSTEMD_UNIT").filter(|u| !u.ends_with(".scope"));
    let source = unit
        .or_else(|| field("SYSLOG_IDENTIFIER"))
        .or_else(|| field("_COMM"))
        .unwrap_or_else(|| "journal".into());
    let message = field("MESSAGE").unwrap_or_default();
    let mut event = SystemEvent {
        ts_ms,
        last_ts_ms: ts_ms,
        severity,
        source,
        message,
        count: 1,
        boot_id: field("_BOOT_ID"),
        log: None,
        event_id: None,
    };
    // Any local user can log anything: long or binary texts must not cost the report.
    event.clean();
    Some(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use optralis_proto::events::MAX_MESSAGE_BYTES;
    use serde_json::json;

    #[test]
    fn entries_become_events() {
        let e = parse_entry(&json!({
            "__CURSOR": "s=1;i=2",
            "__REALTIME_TIMESTAMP": "1700000000123456",
            "PRIORITY": "3",
            "_SYSTEMD_UNIT": "ssh.service",
            "SYSLOG_IDENTIFIER": "sshd",
            "MESSAGE": "error: kex failed",
            "_BOOT_ID": "abc",
        }))
        .unwrap();
        assert_eq!(e.ts_ms, 1_700_000_000_123);
        assert_eq!(e.severity, EventSeverity::Error);
        assert_eq!(e.source, "ssh.service");
        assert_eq!(e.boot_id.as_deref(), Some("abc"));
    }

    #[test]
    fn sources_fall_back_and_bytes_decode() {
        let e = parse_entry(&json!({
            "__REALTIME_TIMESTAMP": "1700000000000000",
            "PRIORITY": "2",
            "_SYSTEMD_UNIT": "session-4.scope",
            "SYSLOG_IDENTIFIER": "sudo",
            "MESSAGE": [104, 105, 255],
        }))
        .unwrap();
        assert_eq!(e.source, "sudo");
        assert_eq!(e.message, "hi\u{fffd}");
        assert_eq!(e.severity, EventSeverity::Critical);
        let kernel = parse_entry(&json!({
            "__REALTIME_TIMESTAMP": "1", "PRIORITY": "4", "MESSAGE": "x", "_COMM": "kworker"
        }))
        .unwrap();
        assert_eq!(kernel.source, "kworker");
    }

    #[test]
    fn less_severe_and_malformed_entries_are_skipped() {
        let info = json!({"__REALTIME_TIMESTAMP": "1", "PRIORITY": "6", "MESSAGE": "x"});
        assert!(parse_entry(&info).is_none());
        assert!(parse_entry(&json!({"PRIORITY": "3", "MESSAGE": "no time"})).is_none());
        assert!(parse_entry(&json!({"__REALTIME_TIMESTAMP": "1", "MESSAGE": "x"})).is_none());
    }

    #[test]
    fn long_messages_are_cut() {
        let long = "é".repeat(MAX_MESSAGE_BYTES);
        let e = parse_entry(&json!({
            "__REALTIME_TIMESTAMP": "1", "PRIORITY": "4", "MESSAGE": long,
        }))
        .unwrap();
        assert!(e.message.len() <= MAX_MESSAGE_BYTES);
    }

    #[test]
    fn first_start_reads_the_last_hour_then_follows_the_cursor() {
        let j = Journald {
            journalctl: None,
            files: vec![PathBuf::from("/tmp/a.journal")],
        };
        let first = j.args(None, 7_200_000);
        assert!(first.contains(&"--since=@3600".to_owned()));
        assert!(first.contains(&"--file=/tmp/a.journal".to_owned()));
        let next = j.args(Some("s=1;i=9"), 7_200_000);
        assert!(next.contains(&"--after-cursor=s=1;i=9".to_owned()));
    }
}
