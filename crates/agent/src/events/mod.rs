//! System events: an [`EventSource`] reads the OS's log from a saved position (journald
//! cursor, Windows bookmark); [`aggregate`] folds floods of identical entries and caps what
//! one report carries. The position is saved with the report in the outbox (one
//! transaction), so a restart neither loses nor repeats an entry.

#[cfg(target_os = "linux")]
pub mod journald;
pub mod wevtutil;
#[cfg(windows)]
pub mod windows;

use std::collections::HashMap;
use std::path::PathBuf;

use optralis_proto::events::{EventBatch, SystemEvent};

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The source cannot be read on this machine at all (no journal, no journalctl).
    #[error("{0}")]
    Unavailable(String),
    /// This read failed; the next one tries again from the same position.
    #[error("{0}")]
    Read(String),
    /// The saved position is unusable (a corrupt cursor): reading starts over as on a first
    /// start rather than never again.
    #[error("{0}")]
    BadPosition(String),
}

/// Entries read since a position, oldest first, and the position after the last one.
#[derive(Debug, Default)]
pub struct ReadEntries {
    pub entries: Vec<SystemEvent>,
    /// `None` when nothing was read: the saved position stays.
    pub position: Option<String>,
}

/// A system log the agent can read incrementally.
pub trait EventSource: Send {
    /// `journald` or `windows-eventlog`: the name in reports and in the outbox's bookmarks.
    fn name(&self) -> &'static str;
    /// At most `max` entries after `position`; without a position (first start), the entries
    /// of the last hour.
    fn read(
        &mut self,
        position: Option<&str>,
        now_ms: i64,
        max: usize,
    ) -> Result<ReadEntries, EventError>;
}

#[derive(Debug, Clone)]
pub struct EventOptions {
    /// journalctl to run; `None` looks on PATH, then /usr/bin and /bin.
    pub journalctl: Option<PathBuf>,
    /// Read these journal files instead of the system journal (`journalctl --file`).
    pub journal_files: Vec<PathBuf>,
    /// Distinct events one report carries at most; the rest are counted as suppressed.
    pub max_per_report: usize,
}

impl Default for EventOptions {
    fn default() -> Self {
        Self {
            journalctl: None,
            journal_files: Vec::new(),
            max_per_report: DEFAULT_MAX_PER_REPORT,
        }
    }
}

pub const DEFAULT_MAX_PER_REPORT: usize = 100;
/// Entries read per collection at most; more are left for the next one (nothing is skipped).
pub const MAX_READ_PER_REPORT: usize = 10_000;
/// On a first start, entries this old are read.
pub const FIRST_START_LOOKBACK_MS: i64 = 3_600_000;

/// This OS's event source.
pub fn native_source(opts: &EventOptions) -> Box<dyn EventSource> {
    #[cfg(target_os = "linux")]
    {
        Box::new(journald::Journald::new(
            opts.journalctl.as_deref(),
            opts.journal_files.clone(),
        ))
    }
    #[cfg(windows)]
    {
        let _ = opts;
        Box::new(windows::EventLog::new())
    }
}

/// Reads events for one report and remembers whether the source said it was unavailable, so
/// the agent logs a change once instead of every interval.
pub struct EventCollector {
    source: Box<dyn EventSource>,
    max_per_report: usize,
    last_unavailable: Option<String>,
}

impl EventCollector {
    pub fn new(source: Box<dyn EventSource>, max_per_report: usize) -> Self {
        Self {
            source,
            max_per_report: max_per_report.max(1),
            last_unavailable: None,
        }
    }

    pub fn name(&self) -> &'static str {
        self.source.name()
    }

    /// The batch for the next report and the position to save with it.
    pub fn collect(&mut self, position: Option<&str>, now_ms: i64) -> (EventBatch, Option<String>) {
        let mut batch = EventBatch {
            source: self.source.name().to_owned(),
            ..EventBatch::default()
        };
        let mut result = self.source.read(position, now_ms, MAX_READ_PER_REPORT);
        if let Err(EventError::BadPosition(e)) = &result {
            tracing::warn!(source = self.source.name(), error = %e, "saved position unusable; reading the last hour");
            result = self.source.read(None, now_ms, MAX_READ_PER_REPORT);
        }
        match result {
            Ok(read) => {
                if self.last_unavailable.take().is_some() {
                    tracing::info!(source = self.source.name(), "system events readable again");
                }
                let (events, suppressed) = aggregate(read.entries, self.max_per_report);
                batch.events = events;
                batch.suppressed = suppressed;
                (batch, read.position)
            }
            Err(EventError::Unavailable(reason)) => {
                if self.last_unavailable.as_deref() != Some(reason.as_str()) {
                    tracing::warn!(source = self.source.name(), %reason, "system events unavailable");
                    self.last_unavailable = Some(reason.clone());
                }
                batch.unavailable = Some(reason);
                (batch, None)
            }
            Err(EventError::Read(e) | EventError::BadPosition(e)) => {
                // The position stays: the next collection reads the same entries again.
                tracing::warn!(source = self.source.name(), error = %e, "reading system events failed");
                (batch, None)
            }
        }
    }
}

/// Folds identical entries (same severity, source and message) into one with a count, then
/// keeps at most `max` of them, most severe first: returns them in time order with the
/// number of entries left out.
pub fn aggregate(entries: Vec<SystemEvent>, max: usize) -> (Vec<SystemEvent>, u64) {
    let mut folded: Vec<SystemEvent> = Vec::new();
    let mut index: HashMap<(u8, String, String), usize> = HashMap::new();
    for e in entries {
        let key = (e.severity as u8, e.source.clone(), e.message.clone());
        match index.get(&key) {
            Some(&i) => {
                let f = &mut folded[i];
                f.count = f.count.saturating_add(e.count.max(1));
                f.ts_ms = f.ts_ms.min(e.ts_ms);
                f.last_ts_ms = f.last_ts_ms.max(e.last_ts_ms);
            }
            None => {
                index.insert(key, folded.len());
                folded.push(e);
            }
        }
    }
    if folded.len() <= max {
        return (folded, 0);
    }
    // Most severe first, then oldest: a flood of warnings cannot hide a critical entry.
    folded.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.ts_ms.cmp(&b.ts_ms)));
    let dropped = folded.split_off(max);
    folded.sort_by_key(|e| e.ts_ms);
    let suppressed = dropped.iter().map(|e| u64::from(e.count.max(1))).sum();
    (folded, suppressed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use optralis_proto::events::EventSeverity;

    fn event(ts: i64, severity: EventSeverity, source: &str, message: &str) -> SystemEvent {
        SystemEvent {
            ts_ms: ts,
            last_ts_ms: ts,
            severity,
            source: source.into(),
            message: message.into(),
            count: 1,
            boot_id: None,
            log: None,
            event_id: None,
        }
    }

    #[test]
    fn identical_entries_fold_with_a_count_and_their_time_span() {
        let w = EventSeverity::Warning;
        let entries = vec![
            event(1, w, "sshd", "bad login"),
            event(2, w, "cron", "job failed"),
            event(3, w, "sshd", "bad login"),
            event(4, EventSeverity::Error, "sshd", "bad login"),
            event(5, w, "sshd", "bad login"),
        ];
        let (events, suppressed) = aggregate(entries, 10);
        assert_eq!(suppressed, 0);
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].count, 3);
        assert_eq!((events[0].ts_ms, events[0].last_ts_ms), (1, 5));
        assert_eq!(events[1].message, "job failed");
        assert_eq!(events[2].severity, EventSeverity::Error);
    }

    #[test]
    fn the_cap_keeps_the_most_severe_and_counts_the_rest() {
        let mut entries: Vec<SystemEvent> = (0..50)
            .map(|i| event(i, EventSeverity::Warning, "app", &format!("warning {i}")))
            .collect();
        entries.push(event(60, EventSeverity::Critical, "kernel", "oops"));
        entries.push(event(61, EventSeverity::Warning, "app", "warning 0"));
        let (events, suppressed) = aggregate(entries, 5);
        assert_eq!(events.len(), 5);
        assert!(events.iter().any(|e| e.message == "oops"));
        // The critical entry and the four oldest warnings are kept; 46 warnings are not.
        assert_eq!(suppressed, 46);
        assert!(events.windows(2).all(|w| w[0].ts_ms <= w[1].ts_ms));
    }
}
