//! The Windows Event Log as `wevtutil qe … /f:RenderedXml /e:Events` prints it: the query
//! that reads each log after its last record id, and the parser of its output. Plain text
//! work, so it is compiled and tested on every platform; running wevtutil is in windows.rs.

use optralis_proto::events::{EventSeverity, SystemEvent};

/// The logs read, in this order.
pub const LOGS: &[&str] = &["System", "Application"];

/// Last record id read per log, kept as `System=12;Application=34`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bookmark(pub Vec<(String, u64)>);

impl Bookmark {
    pub fn parse(s: &str) -> Self {
        Bookmark(
            s.split(';')
                .filter_map(|part| {
                    let (log, id) = part.split_once('=')?;
                    Some((log.to_owned(), id.parse().ok()?))
                })
                .collect(),
        )
    }

    pub fn get(&self, log: &str) -> Option<u64> {
        self.0.iter().find(|(l, _)| l == log).map(|(_, id)| *id)
    }

    pub fn set(&mut self, log: &str, id: u64) {
        match self.0.iter_mut().find(|(l, _)| l == log) {
            Some(entry) => entry.1 = id,
            None => self.0.push((log.to_owned(), id)),
        }
    }
}

impl std::fmt::Display for Bookmark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(l, id)| format!("{l}={id}")).collect();
        f.write_str(&parts.join(";"))
    }
}

/// The XPath query for critical, error and warning records after `after` (a record id), or
/// of the last `lookback_ms` on a first start.
pub fn query(after: Option<u64>, lookback_ms: i64) -> String {
    let levels = "(Level=1 or Level=2 or Level=3)";
    match after {
        Some(id) => format!("*[System[{levels} and EventRecordID>{id}]]"),
        None => {
            format!("*[System[{levels} and TimeCreated[timediff(@SystemTime) <= {lookback_ms}]]]")
        }
    }
}

/// One parsed record: the event and its record id.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub record_id: u64,
    pub event: SystemEvent,
}

/// Every record of `xml` (an `<Events>` document), in document order.
pub fn parse_events(xml: &str, log: &str) -> Vec<Record> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = find_tag(rest, "Event") {
        let Some(end) = rest[start..].find("</Event>") else {
            break;
        };
        let one = &rest[start..start + end];
        if let Some(r) = parse_event(one, log) {
            out.push(r);
        }
        rest = &rest[start + end + "</Event>".len()..];
    }
    out
}

fn parse_event(xml: &str, log: &str) -> Option<Record> {
    let system = section(xml, "System")?;
    let severity = match text(system, "Level")?.trim() {
        "1" => EventSeverity::Critical,
        "2" => EventSeverity::Error,
        "3" => EventSeverity::Warning,
        _ => return None,
    };
    let record_id = text(system, "EventRecordID")?.trim().parse().ok()?;
    let time = attribute(system, "TimeCreated", "SystemTime")?;
    let ts_ms = humantime::parse_rfc3339_weak(time.trim_end_matches('Z'))
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_millis() as i64;
    let source = attribute(system, "Provider", "EventSourceName")
        .or_else(|| attribute(system, "Provider", "Name"))
        .unwrap_or_else(|| log.to_owned());
    let event_id = text(system, "EventID").and_then(|id| id.trim().parse().ok());
    let message = section(xml, "RenderingInfo")
        .and_then(|r| text(r, "Message"))
        .unwrap_or_default()
        .trim()
        .to_owned();
    let mut event = SystemEvent {
        ts_ms,
        last_ts_ms: ts_ms,
        severity,
        source,
        message,
        count: 1,
        boot_id: None,
        log: Some(log.to_owned()),
        event_id,
    };
    event.clean();
    Some(Record { record_id, event })
}

/// Where `<tag>` or `<tag attr…>` starts.
fn find_tag(xml: &str, tag: &str) -> Option<usize> {
    let open = format!("<{tag}");
    let mut from = 0;
    while let Some(i) = xml[from..].find(&open) {
        let at = from + i;
        match xml[at + open.len()..].chars().next() {
            Some('>' | ' ' | '/' | '\t' | '\r' | '\n') => return Some(at),
            _ => from = at + open.len(),
        }
    }
    None
}

/// The inside of the first `<tag …>…</tag>`.
fn section<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let start = find_tag(xml, tag)?;
    let body = start + xml[start..].find('>')? + 1;
    let end = body + xml[body..].find(&format!("</{tag}>"))?;
    Some(&xml[body..end])
}

/// The decoded text of the first `<tag>`; `None` if absent or empty (`<tag/>`).
fn text(xml: &str, tag: &str) -> Option<String> {
    let start = find_tag(xml, tag)?;
    let head_end = start + xml[start..].find('>')?;
    if xml[..head_end].ends_with('/') {
        return None;
    }
    section(xml, tag).map(decode)
}

/// The decoded value of `attr` on the first `<tag …>`.
fn attribute(xml: &str, tag: &str, attr: &str) -> Option<String> {
    let start = find_tag(xml, tag)?;
    let head = &xml[start..start + xml[start..].find('>')?];
    let key = format!(" {attr}=");
    let at = head.find(&key)? + key.len();
    let quote = head[at..].chars().next()?;
    if quote != '\'' && quote != '"' {
        return None;
    }
    let value = &head[at + 1..];
    Some(decode(&value[..value.find(quote)?]))
}

fn decode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let decoded = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shaped as `wevtutil qe System /f:RenderedXml /e:Events` prints records (one per line,
    /// single-quoted attributes), written for this test.
    const SAMPLE: &str = "<Events><Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Service Control Manager' Guid='{555908d1-a6d7-4695-8e1e-26931d2012f4}' EventSourceName='Service Control Manager'/><EventID Qualifiers='49152'>7000</EventID><Version>0</Version><Level>2</Level><Task>0</Task><Opcode>0</Opcode><Keywords>0x8080000000000000</Keywords><TimeCreated SystemTime='2026-11-24T10:15:30.1234567Z'/><EventRecordID>4521</EventRecordID><Correlation/><Execution ProcessID='712' ThreadID='2040'/><Channel>System</Channel><Computer>SRV01</Computer><Security/></System><EventData><Data Name='param1'>Spooler</Data></EventData><RenderingInfo Culture='en-US'><Message>The Print Spooler service failed to start &amp; said &lt;access denied&gt;.</Message><Level>Error</Level><Task></Task><Provider>Microsoft-Windows-Service Control Manager</Provider></RenderingInfo></Event>
<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='disk'/><EventID>153</EventID><Level>3</Level><TimeCreated SystemTime='2026-11-24T10:16:00.0000000Z'/><EventRecordID>4522</EventRecordID><Channel>System</Channel></System><RenderingInfo Culture='en-US'><Message>The IO operation at logical block address 0x1a2b was retried.</Message></RenderingInfo></Event>
<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Kernel-Power'/><EventID>41</EventID><Level>4</Level><TimeCreated SystemTime='2026-11-24T10:17:00Z'/><EventRecordID>4523</EventRecordID></System></Event></Events>";

    #[test]
    fn records_parse_with_levels_times_and_decoded_messages() {
        let records = parse_events(SAMPLE, "System");
        assert_eq!(records.len(), 2, "level 4 (information) is left out");
        let first = &records[0];
        assert_eq!(first.record_id, 4521);
        assert_eq!(first.event.severity, EventSeverity::Error);
        assert_eq!(first.event.source, "Service Control Manager");
        assert_eq!(first.event.event_id, Some(7000));
        assert_eq!(first.event.ts_ms, 1_795_515_330_123);
        assert_eq!(
            first.event.message,
            "The Print Spooler service failed to start & said <access denied>."
        );
        assert_eq!(first.event.log.as_deref(), Some("System"));
        assert_eq!(records[1].event.severity, EventSeverity::Warning);
        assert_eq!(records[1].event.source, "disk");
    }

    #[test]
    fn bookmarks_round_trip_and_queries_follow_them() {
        let mut b = Bookmark::parse("System=12;Application=34");
        assert_eq!(b.get("System"), Some(12));
        b.set("System", 40);
        b.set("Setup", 1);
        assert_eq!(b.to_string(), "System=40;Application=34;Setup=1");
        assert_eq!(Bookmark::parse("garbage"), Bookmark::default());
        assert!(query(Some(40), 0).contains("EventRecordID>40"));
        assert!(query(None, 3_600_000).contains("timediff(@SystemTime) <= 3600000"));
    }

    #[test]
    fn entities_decode() {
        assert_eq!(
            decode("a &#x41;&#66; &unknown; &amp"),
            "a AB &unknown; &amp"
        );
    }
}
