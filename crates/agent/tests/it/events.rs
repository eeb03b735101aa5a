//! journald events from a real journal file, written during the test by Debian's
//! systemd-journal-remote and read back by journalctl: severity filter, flood folding, and
//! the cursor kept across an agent restart (nothing lost, nothing read twice).

use std::path::Path;
use std::time::Duration;

use optralis_agent::collect::native;
use optralis_agent::events::{DEFAULT_MAX_PER_REPORT, EventOptions};
use optralis_agent::send::outbox::OutboxLimits;
use optralis_agent::{Agent, AgentOptions};
use optralis_proto::agent::Report;
use optralis_proto::events::{EventBatch, EventSeverity};
use optralis_proto::interval::Thresholds;

use crate::journal::{append_journal, now_ms};

fn options(dir: &Path, events: Option<EventOptions>) -> AgentOptions {
    AgentOptions {
        server: "http://127.0.0.1:9".into(),
        enroll_key: None,
        state_dir: dir.to_owned(),
        forced_interval: Some(Duration::from_secs(60)),
        thresholds: Thresholds::default(),
        outbox: OutboxLimits::default(),
        batch_size: 10,
        smart_interval: None,
        smartctl: None,
        labels: Default::default(),
        events,
        update: Default::default(),
    }
}

fn journal_options(file: &Path) -> EventOptions {
    EventOptions {
        journalctl: None,
        journal_files: vec![file.to_owned()],
        max_per_report: DEFAULT_MAX_PER_REPORT,
    }
}

/// Collects one report with a fresh agent on `dir` (as after a restart) and returns its events.
fn collect_once(dir: &Path, events: EventOptions) -> EventBatch {
    let mut agent = Agent::new(options(dir, Some(events)), native()).unwrap();
    let seq = agent.collect().unwrap();
    let queued = agent.outbox().peek(usize::MAX).unwrap();
    let q = queued.iter().find(|q| q.seq == seq).unwrap();
    let report: Report = serde_json::from_slice(&q.json).unwrap();
    report.events.expect("every report carries the event batch")
}

fn messages(b: &EventBatch) -> Vec<(EventSeverity, String, u32)> {
    b.events
        .iter()
        .map(|e| (e.severity, e.message.clone(), e.count))
        .collect()
}

#[test]
fn journal_cursor_survives_a_restart_without_loss_or_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("test.journal");
    let state = dir.path().join("state");
    let t = now_ms() - 600_000;
    append_journal(
        &journal,
        &[
            (3, "kernel", "I/O error, dev sda, sector 42", t),
            (4, "sshd", "invalid user admin", t + 1),
            (6, "cron", "job started", t + 2),
            (4, "sshd", "invalid user admin", t + 3),
            (7, "app", "debug noise", t + 4),
        ],
    );

    let first = collect_once(&state, journal_options(&journal));
    assert_eq!(first.source, "journald");
    assert_eq!(first.unavailable, None);
    assert_eq!(first.suppressed, 0);
    assert_eq!(
        messages(&first),
        [
            (
                EventSeverity::Error,
                "I/O error, dev sda, sector 42".into(),
                1
            ),
            (EventSeverity::Warning, "invalid user admin".into(), 2),
        ]
    );
    let sshd = &first.events[1];
    assert_eq!((sshd.ts_ms, sshd.last_ts_ms), (t + 1, t + 3));
    assert_eq!(sshd.source, "sshd");
    assert_eq!(
        sshd.boot_id.as_deref(),
        Some("0123456789abcdef0123456789abcdef")
    );

    // New entries while the agent is stopped; the restarted agent reads only those.
    append_journal(
        &journal,
        &[
            (2, "kernel", "CPU 0 machine check", t + 10),
            (3, "kernel", "I/O error, dev sda, sector 42", t + 11),
        ],
    );
    let second = collect_once(&state, journal_options(&journal));
    assert_eq!(
        messages(&second),
        [
            (EventSeverity::Critical, "CPU 0 machine check".into(), 1),
            (
                EventSeverity::Error,
                "I/O error, dev sda, sector 42".into(),
                1
            ),
        ]
    );
    let third = collect_once(&state, journal_options(&journal));
    assert!(third.events.is_empty(), "nothing new: {:?}", third.events);
}

#[test]
fn floods_are_capped_with_a_count_of_what_was_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("flood.journal");
    let t = now_ms() - 60_000;
    let lines: Vec<String> = (0..30).map(|i| format!("distinct warning {i}")).collect();
    let mut entries: Vec<(u8, &str, &str, i64)> = lines
        .iter()
        .enumerate()
        .map(|(i, m)| (4, "app", m.as_str(), t + i as i64))
        .collect();
    entries.push((0, "kernel", "panic imminent", t + 100));
    append_journal(&journal, &entries);
    let batch = collect_once(
        &dir.path().join("state"),
        EventOptions {
            max_per_report: 10,
            ..journal_options(&journal)
        },
    );
    assert_eq!(batch.events.len(), 10);
    assert_eq!(batch.suppressed, 21);
    assert!(
        batch
            .events
            .iter()
            .any(|e| e.severity == EventSeverity::Critical)
    );
}

#[test]
fn no_journalctl_is_a_state_not_silence() {
    let dir = tempfile::tempdir().unwrap();
    let batch = collect_once(
        dir.path(),
        EventOptions {
            journalctl: Some(dir.path().join("no-such-journalctl")),
            ..EventOptions::default()
        },
    );
    assert_eq!(batch.unavailable.as_deref(), Some("journalctl not found"));
    assert!(batch.events.is_empty());
}
