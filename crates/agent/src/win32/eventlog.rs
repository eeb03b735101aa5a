//! Writing to the Windows Event Log ("Application") with `ReportEventW`, where Event Viewer,
//! `Get-WinEvent` and the RMM tools of a Windows administrator look first.

use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::EventLog::{
    DeregisterEventSource, EVENTLOG_ERROR_TYPE, EVENTLOG_INFORMATION_TYPE, EVENTLOG_WARNING_TYPE,
    REPORT_EVENT_TYPE, RegisterEventSourceW, ReportEventW,
};

use super::wide;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Information,
    Warning,
    Error,
}

impl Severity {
    fn event_type(self) -> REPORT_EVENT_TYPE {
        match self {
            Severity::Information => EVENTLOG_INFORMATION_TYPE,
            Severity::Warning => EVENTLOG_WARNING_TYPE,
            Severity::Error => EVENTLOG_ERROR_TYPE,
        }
    }

    /// Event ids by severity, so a filter on the id works without reading the text.
    fn event_id(self) -> u32 {
        match self {
            Severity::Information => 1,
            Severity::Warning => 2,
            Severity::Error => 3,
        }
    }
}

/// A handle on one event source, closed on drop.
pub struct EventSource(HANDLE);

// SAFETY: an event log handle may be used from any thread (ReportEvent is thread-safe).
unsafe impl Send for EventSource {}
// SAFETY: as above; the handle is never mutated after it is opened.
unsafe impl Sync for EventSource {}

impl EventSource {
    pub fn open(name: &str) -> std::io::Result<Self> {
        let name = wide(name);
        // SAFETY: `name` is NUL-terminated and outlives the call; a null server is this machine.
        let handle = unsafe { RegisterEventSourceW(std::ptr::null(), name.as_ptr()) };
        if handle.is_null() {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Self(handle))
    }

    pub fn report(&self, severity: Severity, message: &str) -> std::io::Result<()> {
        let text = wide(message);
        let strings = [text.as_ptr()];
        // SAFETY: the handle is open; `strings` holds one NUL-terminated string that outlives
        // the call; no SID and no binary data.
        let ok = unsafe {
            ReportEventW(
                self.0,
                severity.event_type(),
                0,
                severity.event_id(),
                std::ptr::null_mut(),
                1,
                0,
                strings.as_ptr(),
                std::ptr::null(),
            )
        };
        if ok == 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for EventSource {
    fn drop(&mut self) {
        // SAFETY: opened by RegisterEventSourceW and closed only here.
        unsafe { DeregisterEventSource(self.0) };
    }
}
