//! The Windows Event Log through `wevtutil qe`, after the last record id read per log.
//! UNVERIFIED: this machine has no Windows target, so this file has never been compiled.
//! The query and the parsing it relies on are in wevtutil.rs, tested on every platform.

use std::process::Command;

use super::wevtutil::{Bookmark, LOGS, parse_events, query};
use super::{EventError, EventSource, FIRST_START_LOOKBACK_MS, ReadEntries};

pub struct EventLog;

impl EventLog {
    pub fn new() -> Self {
        EventLog
    }
}

impl EventSource for EventLog {
    fn name(&self) -> &'static str {
        "windows-eventlog"
    }

    fn read(
        &mut self,
        position: Option<&str>,
        _now_ms: i64,
        max: usize,
    ) -> Result<ReadEntries, EventError> {
        let mut bookmark = position.map(Bookmark::parse).unwrap_or_default();
        let mut read = ReadEntries::default();
        for log in LOGS {
            let remaining = max.saturating_sub(read.entries.len());
            if remaining == 0 {
                break;
            }
            let out = Command::new("wevtutil")
                .arg("qe")
                .arg(log)
                .arg(format!(
                    "/q:{}",
                    query(bookmark.get(log), FIRST_START_LOOKBACK_MS)
                ))
                .arg("/f:RenderedXml")
                .arg("/e:Events")
                .arg(format!("/c:{remaining}"))
                .output()
                .map_err(|e| EventError::Unavailable(format!("cannot run wevtutil: {e}")))?;
            if !out.status.success() {
                return Err(EventError::Read(format!(
                    "wevtutil qe {log} failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            for record in parse_events(&String::from_utf8_lossy(&out.stdout), log) {
                bookmark.set(log, record.record_id);
                read.entries.push(record.event);
            }
        }
        if !bookmark.0.is_empty() {
            read.position = Some(bookmark.to_string());
        }
        Ok(read)
    }
}
