//! The agent's wall clock, read in one place.

#[allow(clippy::disallowed_methods)] // the one place that reads the real clock
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
