//! Field rules for one report. Every failure names the field it is about.

use optralis_proto::agent::{HostFacts, Report};
use optralis_proto::events::{EventBatch, MAX_MESSAGE_BYTES};

#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct IngestLimits {
    /// How far ahead of the server's clock (after skew correction) a sample may be.
    pub max_future_ms: i64,
    /// How old a sample may be: older ones would fall out of raw retention at once.
    pub max_age_ms: i64,
    /// Reports per batch.
    pub max_batch: usize,
    /// Filesystems, disks, interfaces or cores per report.
    pub max_items: usize,
}

impl Default for IngestLimits {
    fn default() -> Self {
        Self {
            max_future_ms: 5 * 60_000,
            max_age_ms: 7 * 24 * 3_600_000,
            max_batch: 500,
            max_items: 1024,
        }
    }
}

/// Rates above this (1 PB/s, 1e12 ops/s) are corrupt counters, not measurements.
const MAX_RATE: f64 = 1e15;
const MAX_NAME: usize = 1024;

type Check = Result<(), FieldError>;

fn finite_range(field: &str, v: f64, lo: f64, hi: f64) -> Check {
    if !v.is_finite() {
        return Err(FieldError::new(field, "must be a finite number"));
    }
    if v < lo || v > hi {
        return Err(FieldError::new(
            field,
            format!("{v} is outside {lo}..={hi}"),
        ));
    }
    Ok(())
}

fn percent(field: &str, v: f64) -> Check {
    finite_range(field, v, 0.0, 100.0)
}

fn rate(field: &str, v: f64) -> Check {
    finite_range(field, v, 0.0, MAX_RATE)
}

fn name(field: &str, v: &str) -> Check {
    if v.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if v.len() > MAX_NAME {
        return Err(FieldError::new(
            field,
            format!("longer than {MAX_NAME} bytes"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(FieldError::new(field, "contains control characters"));
    }
    Ok(())
}

/// Free text: bounded, and without control characters (PostgreSQL refuses NUL in text).
fn text(field: &str, v: &str) -> Check {
    if v.len() > MAX_NAME {
        return Err(FieldError::new(
            field,
            format!("longer than {MAX_NAME} bytes"),
        ));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(FieldError::new(field, "contains control characters"));
    }
    Ok(())
}

fn not_above(field: &str, part: u64, whole_field: &str, whole: u64) -> Check {
    if part > whole {
        return Err(FieldError::new(
            field,
            format!("{part} is larger than {whole_field} ({whole})"),
        ));
    }
    Ok(())
}

fn count(field: &str, len: usize, limits: &IngestLimits) -> Check {
    if len > limits.max_items {
        return Err(FieldError::new(
            field,
            format!("more than {} entries", limits.max_items),
        ));
    }
    Ok(())
}

fn unique<'a>(field: &str, names: impl Iterator<Item = &'a str>) -> Check {
    let mut seen = std::collections::HashSet::new();
    for (i, n) in names.enumerate() {
        if !seen.insert(n) {
            return Err(FieldError::new(
                format!("{field}[{i}]"),
                format!("{n:?} appears twice"),
            ));
        }
    }
    Ok(())
}

pub fn validate_report(r: &Report, now_ms: i64, limits: &IngestLimits) -> Check {
    if r.seq == 0 {
        return Err(FieldError::new("seq", "must be 1 or more"));
    }
    // Stored as a signed 64-bit integer: larger ones would come back negative.
    if i64::try_from(r.seq).is_err() {
        return Err(FieldError::new("seq", "must be below 2^63"));
    }
    if r.ts_ms > now_ms + limits.max_future_ms {
        return Err(FieldError::new(
            "ts_ms",
            format!(
                "{} ms in the future (server time {now_ms})",
                r.ts_ms - now_ms
            ),
        ));
    }
    if r.ts_ms < now_ms - limits.max_age_ms {
        return Err(FieldError::new(
            "ts_ms",
            format!("older than the raw retention ({} ms)", limits.max_age_ms),
        ));
    }
    if !(1..=86_400).contains(&r.interval_s) {
        return Err(FieldError::new("interval_s", "must be within 1..=86400"));
    }

    percent("cpu.percent", r.cpu.percent)?;
    count("cpu.per_core", r.cpu.per_core.len(), limits)?;
    for (i, c) in r.cpu.per_core.iter().enumerate() {
        percent(&format!("cpu.per_core[{i}]"), *c)?;
    }
    for (field, load) in [
        ("cpu.load1", r.cpu.load1),
        ("cpu.load5", r.cpu.load5),
        ("cpu.load15", r.cpu.load15),
    ] {
        if let Some(l) = load {
            finite_range(field, l, 0.0, 1e6)?;
        }
    }

    let m = &r.memory;
    not_above(
        "memory.used_bytes",
        m.used_bytes,
        "memory.total_bytes",
        m.total_bytes,
    )?;
    not_above(
        "memory.available_bytes",
        m.available_bytes,
        "memory.total_bytes",
        m.total_bytes,
    )?;
    not_above(
        "memory.swap_used_bytes",
        m.swap_used_bytes,
        "memory.swap_total_bytes",
        m.swap_total_bytes,
    )?;

    count("filesystems", r.filesystems.len(), limits)?;
    unique(
        "filesystems",
        r.filesystems.iter().map(|f| f.mount.as_str()),
    )?;
    for (i, f) in r.filesystems.iter().enumerate() {
        let at = |s: &str| format!("filesystems[{i}].{s}");
        name(&at("mount"), &f.mount)?;
        name(&at("fs_type"), &f.fs_type)?;
        if f.device.len() > MAX_NAME {
            return Err(FieldError::new(
                at("device"),
                format!("longer than {MAX_NAME} bytes"),
            ));
        }
        not_above(
            &at("used_bytes"),
            f.used_bytes,
            &at("total_bytes"),
            f.total_bytes,
        )?;
        not_above(
            &at("free_bytes"),
            f.free_bytes,
            &at("total_bytes"),
            f.total_bytes,
        )?;
        if let (Some(used), Some(total)) = (f.inodes_used, f.inodes_total) {
            not_above(&at("inodes_used"), used, &at("inodes_total"), total)?;
        }
    }

    count("disks", r.disks.len(), limits)?;
    unique("disks", r.disks.iter().map(|d| d.device.as_str()))?;
    for (i, d) in r.disks.iter().enumerate() {
        let at = |s: &str| format!("disks[{i}].{s}");
        name(&at("device"), &d.device)?;
        rate(&at("read_bytes_per_s"), d.read_bytes_per_s)?;
        rate(&at("write_bytes_per_s"), d.write_bytes_per_s)?;
        rate(&at("read_ops_per_s"), d.read_ops_per_s)?;
        rate(&at("write_ops_per_s"), d.write_ops_per_s)?;
        percent(&at("busy_percent"), d.busy_percent)?;
    }

    count("networks", r.networks.len(), limits)?;
    unique("networks", r.networks.iter().map(|n| n.interface.as_str()))?;
    for (i, n) in r.networks.iter().enumerate() {
        let at = |s: &str| format!("networks[{i}].{s}");
        name(&at("interface"), &n.interface)?;
        rate(&at("rx_bytes_per_s"), n.rx_bytes_per_s)?;
        rate(&at("tx_bytes_per_s"), n.tx_bytes_per_s)?;
    }

    if let Some(t) = r.cpu_temp_c {
        finite_range("cpu_temp_c", t, -60.0, 200.0)?;
    }
    if r.boot_time_ms < 0 {
        return Err(FieldError::new("boot_time_ms", "must not be negative"));
    }
    if let Some(f) = &r.facts {
        validate_facts(f)?;
    }
    if let Some(events) = &r.events {
        validate_events(events, now_ms, limits)?;
    }
    if let Some(smart) = &r.smart {
        count("smart.devices", smart.devices.len(), limits)?;
        count("smart.errors", smart.errors.len(), limits)?;
        if let Some(reason) = &smart.unavailable {
            text("smart.unavailable", reason)?;
        }
        for (i, e) in smart.errors.iter().enumerate() {
            text(&format!("smart.errors[{i}].name"), &e.name)?;
            text(&format!("smart.errors[{i}].error"), &e.error)?;
        }
        for (i, d) in smart.devices.iter().enumerate() {
            let at = |s: &str| format!("smart.devices[{i}].{s}");
            name(&at("name"), &d.name)?;
            for (field, v) in [
                ("model", &d.model),
                ("serial", &d.serial),
                ("firmware", &d.firmware),
                ("device_type", &d.device_type),
            ] {
                text(&at(field), v)?;
            }
            count(&at("ata_attributes"), d.ata_attributes.len(), limits)?;
            for (j, a) in d.ata_attributes.iter().enumerate() {
                text(&at(&format!("ata_attributes[{j}].name")), &a.name)?;
                text(
                    &at(&format!("ata_attributes[{j}].when_failed")),
                    &a.when_failed,
                )?;
            }
        }
    }
    Ok(())
}

fn validate_events(b: &EventBatch, now_ms: i64, limits: &IngestLimits) -> Check {
    name("events.source", &b.source)?;
    if let Some(reason) = &b.unavailable {
        text("events.unavailable", reason)?;
    }
    count("events.events", b.events.len(), limits)?;
    for (i, e) in b.events.iter().enumerate() {
        let at = |s: &str| format!("events.events[{i}].{s}");
        name(&at("source"), &e.source)?;
        if e.message.len() > MAX_MESSAGE_BYTES {
            return Err(FieldError::new(
                at("message"),
                format!("longer than {MAX_MESSAGE_BYTES} bytes"),
            ));
        }
        if e.count == 0 {
            return Err(FieldError::new(at("count"), "must be at least 1"));
        }
        if e.ts_ms < 0 {
            return Err(FieldError::new(at("ts_ms"), "must not be negative"));
        }
        if e.last_ts_ms < e.ts_ms {
            return Err(FieldError::new(
                at("last_ts_ms"),
                "must not be before ts_ms",
            ));
        }
        if e.last_ts_ms > now_ms.saturating_add(limits.max_future_ms) {
            return Err(FieldError::new(
                at("last_ts_ms"),
                "is in the future (check the machine's clock)",
            ));
        }
        for (field, v) in [("boot_id", &e.boot_id), ("log", &e.log)] {
            if let Some(v) = v {
                text(&at(field), v)?;
            }
        }
    }
    Ok(())
}

pub fn validate_facts(f: &HostFacts) -> Check {
    name("facts.hostname", &f.hostname)?;
    for (field, v) in [
        ("facts.os_name", &f.os_name),
        ("facts.os_version", &f.os_version),
        ("facts.kernel_version", &f.kernel_version),
        ("facts.arch", &f.arch),
        ("facts.cpu_model", &f.cpu_model),
        ("facts.agent_version", &f.agent_version),
    ] {
        if v.len() > MAX_NAME {
            return Err(FieldError::new(
                field,
                format!("longer than {MAX_NAME} bytes"),
            ));
        }
    }
    Ok(())
}
