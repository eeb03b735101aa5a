//! The service's logs: every line to `agent.log` in the service's directory (kept to two
//! files of at most 10 MiB), and information, warnings and errors to the Windows Event Log
//! ("Application", source "Optralis agent"), where Windows administrators and their RMM
//! tools look.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use crate::win32::eventlog::{EventSource, Severity};

const MAX_LOG_BYTES: u64 = 10 * 1024 * 1024;

/// Sets the service's logs up; `filter` as RUST_LOG would give it.
pub fn init(dir: &Path, filter: tracing_subscriber::EnvFilter) -> std::io::Result<()> {
    let path = dir.join(super::windows::LOG_FILE_NAME);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > MAX_LOG_BYTES) {
        std::fs::rename(&path, path.with_extension("log.1"))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    let file_layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(Mutex::new(file));
    // Without the Event Log (a locked-down machine) the file still gets everything.
    let event_log = EventSource::open(super::windows::EVENT_SOURCE)
        .ok()
        .map(EventLogLayer);
    tracing_subscriber::registry()
        .with(filter)
        .with(file_layer)
        .with(event_log)
        .try_init()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

pub struct EventLogLayer(EventSource);

impl<S: Subscriber> Layer<S> for EventLogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let severity = match *event.metadata().level() {
            Level::ERROR => Severity::Error,
            Level::WARN => Severity::Warning,
            Level::INFO => Severity::Information,
            _ => return,
        };
        let mut text = EventText::default();
        event.record(&mut text);
        // Nowhere to report a failure to log; the file has the line anyway.
        let _ = self.0.report(severity, &text.finish());
    }
}

/// "message key=value …", as the file's lines read.
#[derive(Default)]
struct EventText {
    message: String,
    fields: String,
}

impl EventText {
    fn finish(self) -> String {
        if self.fields.is_empty() {
            self.message
        } else {
            format!("{}{}", self.message, self.fields)
        }
    }
}

impl Visit for EventText {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}
