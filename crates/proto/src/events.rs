//! System events (journald, Windows Event Log): what the agent sends with each report and
//! what the API answers.

use serde::{Deserialize, Serialize};

names! {
    /// How bad an event is. journald priorities 0–2 (emerg, alert, crit) and Windows level 1
    /// are critical; priority 3 (err) and level 2 are errors; priority 4 (warning) and level 3
    /// are warnings. Less severe entries are not collected. Ordered: `warning` < `error` <
    /// `critical`.
    pub enum EventSeverity("event severity") {
        Warning = "warning",
        Error = "error",
        Critical = "critical",
    }
}

impl EventSeverity {
    /// From a syslog/journald priority; `None` for notice and less severe.
    pub fn from_syslog_priority(p: u8) -> Option<Self> {
        match p {
            0..=2 => Some(EventSeverity::Critical),
            3 => Some(EventSeverity::Error),
            4 => Some(EventSeverity::Warning),
            _ => None,
        }
    }
}

/// One event, or identical ones aggregated: `count` entries with the same source, severity
/// and message between `ts_ms` and `last_ts_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SystemEvent {
    /// First occurrence, epoch milliseconds (the machine's clock).
    pub ts_ms: i64,
    /// Last occurrence; equals `ts_ms` for a single entry.
    pub last_ts_ms: i64,
    pub severity: EventSeverity,
    /// systemd unit or syslog identifier; Windows provider name.
    pub source: String,
    pub message: String,
    pub count: u32,
    /// journald boot id, where the entry has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// Windows log (`System`, `Application`); absent for journald.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// Windows event id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<u32>,
}

/// The events read since the previous report, on every report of an agent that reads them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventBatch {
    /// `journald` or `windows-eventlog`.
    pub source: String,
    /// `None` while events can be read; otherwise why not ("journalctl not found").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    #[serde(default)]
    pub events: Vec<SystemEvent>,
    /// Entries read but not sent because the per-report cap was reached (counted, not lost
    /// silently).
    #[serde(default)]
    pub suppressed: u64,
}

/// Longest message kept, in bytes; longer ones are cut at a character boundary.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// Cuts `s` to at most `max` bytes without splitting a character.
pub fn truncate_utf8(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// Longest source kept, in bytes.
pub const MAX_SOURCE_BYTES: usize = 256;

/// `s` fit for storage: control characters (NUL among them, which PostgreSQL refuses) become
/// U+FFFD (line breaks and tabs stay when `multiline`), cut to `max` bytes.
pub fn clean_text(s: &str, max: usize, multiline: bool) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_control() && !(multiline && (c == '\n' || c == '\t')) {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect();
    truncate_utf8(&mut out, max);
    out
}

impl SystemEvent {
    /// The event with its texts made fit for storage (see [`clean_text`]); an empty source
    /// becomes `unknown`.
    pub fn clean(&mut self) {
        self.message = clean_text(&self.message, MAX_MESSAGE_BYTES, true);
        self.source = clean_text(self.source.trim(), MAX_SOURCE_BYTES, false);
        if self.source.is_empty() {
            self.source = "unknown".into();
        }
        for v in [&mut self.boot_id, &mut self.log].into_iter().flatten() {
            *v = clean_text(v, MAX_SOURCE_BYTES, false);
        }
    }
}

/// An event as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredEvent {
    pub id: i64,
    pub machine_id: String,
    pub hostname: String,
    #[serde(flatten)]
    pub event: SystemEvent,
}

/// A page of events, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventPage {
    pub events: Vec<StoredEvent>,
    /// Events matching the filters, all pages together.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    /// The machine's event source, on a machine's event list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_state: Option<EventSourceState>,
}

/// What a machine says about its event source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventSourceState {
    pub state: crate::vocabulary::SourceState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Entries the agent counted but did not send because of its per-report cap, in all.
    pub suppressed_total: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_map_to_severities() {
        assert_eq!(
            EventSeverity::from_syslog_priority(0),
            Some(EventSeverity::Critical)
        );
        assert_eq!(
            EventSeverity::from_syslog_priority(2),
            Some(EventSeverity::Critical)
        );
        assert_eq!(
            EventSeverity::from_syslog_priority(3),
            Some(EventSeverity::Error)
        );
        assert_eq!(
            EventSeverity::from_syslog_priority(4),
            Some(EventSeverity::Warning)
        );
        assert_eq!(EventSeverity::from_syslog_priority(5), None);
        assert!(EventSeverity::Critical > EventSeverity::Warning);
    }

    #[test]
    fn texts_are_cleaned_for_storage() {
        assert_eq!(clean_text("a\0b\nc", 100, true), "a\u{fffd}b\nc");
        assert_eq!(clean_text("a\nb", 100, false), "a\u{fffd}b");
        assert_eq!(
            clean_text(&"x".repeat(300), MAX_SOURCE_BYTES, false).len(),
            256
        );
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        let mut s = "éé".to_owned(); // 4 bytes
        truncate_utf8(&mut s, 3);
        assert_eq!(s, "é");
        let mut t = "abc".to_owned();
        truncate_utf8(&mut t, 10);
        assert_eq!(t, "abc");
    }
}
