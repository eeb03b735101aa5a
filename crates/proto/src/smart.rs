//! S.M.A.R.T. disk health: the normalised device model the agent sends, and the verdict
//! rules, shared so the agent's `smart` command and the server judge a disk the same way.

use serde::{Deserialize, Serialize};

names! {
    /// How smartctl talks to the device.
    pub enum Protocol("protocol") {
        Ata = "ata",
        Nvme = "nvme",
        Scsi = "scsi",
    }
}

names! {
    /// A disk's health, ordered: `ok` < `warning` < `failing`.
    pub enum Verdict("verdict") {
        Ok = "ok",
        Warning = "warning",
        Failing = "failing",
    }
}

/// One ATA attribute, its raw value already decoded (vendor-packed fields unpacked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AtaAttribute {
    pub id: u8,
    pub name: String,
    pub value: u8,
    pub worst: u8,
    pub threshold: u8,
    pub raw: u64,
    /// Pre-failure attribute (as opposed to old-age).
    pub prefailure: bool,
    /// `now`, `past` or empty, as smartctl reports it.
    #[serde(default)]
    pub when_failed: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NvmeHealth {
    pub critical_warning: u8,
    pub available_spare: u8,
    pub available_spare_threshold: u8,
    pub percentage_used: u8,
    pub media_errors: u64,
    pub num_err_log_entries: u64,
    pub unsafe_shutdowns: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScsiHealth {
    pub grown_defects: u64,
    pub uncorrected_read_errors: u64,
    pub uncorrected_write_errors: u64,
    pub uncorrected_verify_errors: u64,
}

/// What smartctl's exit status says, bit by bit (see smartctl(8), "EXIT STATUS").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExitStatus {
    pub raw: u8,
}

impl ExitStatus {
    pub fn command_line_error(self) -> bool {
        self.raw & 1 != 0
    }
    /// The device could not be opened (missing, or no permission).
    pub fn open_failed(self) -> bool {
        self.raw & 2 != 0
    }
    /// A SMART command failed or a checksum was wrong: some data may be missing.
    pub fn command_failed(self) -> bool {
        self.raw & 4 != 0
    }
    /// SMART status: the disk is failing.
    pub fn disk_failing(self) -> bool {
        self.raw & 8 != 0
    }
    /// Pre-failure attributes at or below their threshold now.
    pub fn prefail_below_threshold(self) -> bool {
        self.raw & 16 != 0
    }
    /// Some attributes were at or below their threshold in the past.
    pub fn past_below_threshold(self) -> bool {
        self.raw & 32 != 0
    }
    pub fn error_log_has_errors(self) -> bool {
        self.raw & 64 != 0
    }
    pub fn self_test_errors(self) -> bool {
        self.raw & 128 != 0
    }
}

/// What the agent found when it last read the disks: attached to a report every
/// `smart_interval` (30 min by default), not to every report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SmartSnapshot {
    /// `None` when smartctl could be used; otherwise why not ("smartctl not found",
    /// "permission denied …").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    #[serde(default)]
    pub devices: Vec<SmartDevice>,
    /// Disks smartctl listed but could not read, with its message.
    #[serde(default)]
    pub errors: Vec<DiskError>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiskError {
    pub name: String,
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SmartDevice {
    /// Device path and smartctl type, e.g. `/dev/sda` and `sat` or `megaraid,0`.
    pub name: String,
    pub device_type: String,
    pub protocol: Protocol,
    pub model: String,
    pub serial: String,
    pub firmware: String,
    pub capacity_bytes: Option<u64>,
    /// Spindle speed; `Some(0)` for a solid-state device.
    pub rotation_rpm: Option<u32>,
    /// smartctl's overall self-assessment; `None` when it could not tell.
    pub smart_passed: Option<bool>,
    pub temperature_c: Option<i32>,
    pub power_on_hours: Option<u64>,
    pub power_cycles: Option<u64>,
    #[serde(default)]
    pub ata_attributes: Vec<AtaAttribute>,
    #[serde(default)]
    pub nvme: Option<NvmeHealth>,
    #[serde(default)]
    pub scsi: Option<ScsiHealth>,
    pub exit_status: ExitStatus,
}

/// ATA attributes whose raw value counts trouble: any non-zero raw value is a warning.
/// 5 reallocated, 10 spin retries, 184 end-to-end errors, 187 reported uncorrectable,
/// 188 command timeouts, 196 reallocation events, 197 pending, 198 offline uncorrectable,
/// 199 UDMA CRC errors (usually the cable).
pub const ATA_COUNTERS: &[u8] = &[5, 10, 184, 187, 188, 196, 197, 198, 199];

/// Wear (NVMe percentage used) from which a disk is a warning.
pub const WEAR_WARNING_PERCENT: u8 = 90;

/// Temperatures from which a disk is a warning, °C.
pub const HOT_ROTATING_C: i32 = 60;
pub const HOT_SOLID_STATE_C: i32 = 70;

impl SmartDevice {
    /// The disk's identity across reports: its serial number, or its path without one.
    pub fn key(&self) -> &str {
        if self.serial.trim().is_empty() {
            &self.name
        } else {
            self.serial.trim()
        }
    }

    pub fn is_solid_state(&self) -> bool {
        self.protocol == Protocol::Nvme || self.rotation_rpm == Some(0)
    }

    pub fn attribute(&self, id: u8) -> Option<&AtaAttribute> {
        self.ata_attributes.iter().find(|a| a.id == id)
    }

    /// The verdict and every reason for it, worst first.
    pub fn verdict(&self) -> (Verdict, Vec<String>) {
        let mut reasons: Vec<(Verdict, String)> = Vec::new();
        let mut say = |v: Verdict, r: String| reasons.push((v, r));

        if self.smart_passed == Some(false) || self.exit_status.disk_failing() {
            say(
                Verdict::Failing,
                "SMART overall self-assessment: FAILED".into(),
            );
        }
        let mut failed_attributes = 0;
        for a in &self.ata_attributes {
            if a.when_failed == "now" && a.prefailure {
                failed_attributes += 1;
                say(
                    Verdict::Failing,
                    format!(
                        "attribute {} {} at or below its threshold ({} ≤ {})",
                        a.id, a.name, a.value, a.threshold
                    ),
                );
            }
        }
        if self.exit_status.prefail_below_threshold() && failed_attributes == 0 {
            say(
                Verdict::Failing,
                "a pre-failure attribute is at or below its threshold".into(),
            );
        }
        for id in ATA_COUNTERS {
            if let Some(a) = self.attribute(*id).filter(|a| a.raw > 0) {
                say(
                    Verdict::Warning,
                    format!("{} ({}) = {}", a.name, a.id, a.raw),
                );
            }
        }
        if let Some(n) = &self.nvme {
            let bits = [
                (1, Verdict::Failing, "available spare below threshold"),
                (2, Verdict::Warning, "temperature outside its limits"),
                (
                    4,
                    Verdict::Failing,
                    "reliability degraded by media or internal errors",
                ),
                (8, Verdict::Failing, "media placed in read-only mode"),
                (16, Verdict::Failing, "volatile memory backup failed"),
            ];
            for (bit, v, text) in bits {
                if n.critical_warning & bit != 0 {
                    say(v, format!("NVMe critical warning: {text}"));
                }
            }
            if n.available_spare < n.available_spare_threshold && n.critical_warning & 1 == 0 {
                say(
                    Verdict::Failing,
                    format!(
                        "available spare {} % below its threshold {} %",
                        n.available_spare, n.available_spare_threshold
                    ),
                );
            }
            if n.percentage_used >= 100 {
                say(
                    Verdict::Failing,
                    format!("rated endurance used up ({} %)", n.percentage_used),
                );
            } else if n.percentage_used >= WEAR_WARNING_PERCENT {
                say(
                    Verdict::Warning,
                    format!("wear {} % of rated endurance", n.percentage_used),
                );
            }
            if n.media_errors > 0 {
                say(Verdict::Warning, format!("{} media errors", n.media_errors));
            }
        }
        if let Some(s) = &self.scsi {
            if s.grown_defects > 0 {
                say(
                    Verdict::Warning,
                    format!("{} grown defects", s.grown_defects),
                );
            }
            let uncorrected = s
                .uncorrected_read_errors
                .saturating_add(s.uncorrected_write_errors)
                .saturating_add(s.uncorrected_verify_errors);
            if uncorrected > 0 {
                say(
                    Verdict::Warning,
                    format!("{uncorrected} uncorrected read/write/verify errors"),
                );
            }
        }
        if let Some(t) = self.temperature_c {
            let limit = if self.is_solid_state() {
                HOT_SOLID_STATE_C
            } else {
                HOT_ROTATING_C
            };
            if t >= limit {
                say(
                    Verdict::Warning,
                    format!("temperature {t} °C (≥ {limit} °C)"),
                );
            }
        }
        if self.exit_status.self_test_errors() {
            say(Verdict::Warning, "the self-test log records errors".into());
        }

        reasons.sort_by_key(|r| std::cmp::Reverse(r.0));
        let verdict = reasons.first().map_or(Verdict::Ok, |r| r.0);
        (verdict, reasons.into_iter().map(|r| r.1).collect())
    }
}

/// Counters whose growth between two readings of the same disk is worth its own reason:
/// sectors being reallocated, pending or lost are the best predictors of failure.
pub const RISING_ATA_COUNTERS: &[u8] = &[5, 187, 196, 197, 198];

/// What grew since `before`, a previous reading of the same disk: one reason per counter
/// ("Reallocated_Sector_Ct (5) rising: 8 → 12"). Needs history, so the server adds these to
/// the verdict's reasons; the verdict itself is unchanged (those counters already warn).
pub fn rising_reasons(before: &SmartDevice, now: &SmartDevice) -> Vec<String> {
    let mut out = Vec::new();
    for id in RISING_ATA_COUNTERS {
        if let (Some(b), Some(n)) = (before.attribute(*id), now.attribute(*id))
            && n.raw > b.raw
        {
            out.push(format!(
                "{} ({}) rising: {} → {}",
                n.name, n.id, b.raw, n.raw
            ));
        }
    }
    if let (Some(b), Some(n)) = (&before.nvme, &now.nvme)
        && n.media_errors > b.media_errors
    {
        out.push(format!(
            "NVMe media errors rising: {} → {}",
            b.media_errors, n.media_errors
        ));
    }
    if let (Some(b), Some(n)) = (&before.scsi, &now.scsi)
        && n.grown_defects > b.grown_defects
    {
        out.push(format!(
            "grown defects rising: {} → {}",
            b.grown_defects, n.grown_defects
        ));
    }
    out
}

// What the API answers about a machine's disks.

/// A disk as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Disk {
    pub key: String,
    pub name: String,
    pub device_type: String,
    pub protocol: Protocol,
    pub model: String,
    pub serial: String,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    /// A warning an admin has acknowledged: still shown, no longer counted in the health
    /// score, until it worsens (a new or changed reason, or failing).
    pub acknowledged: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_ms: Option<i64>,
    /// The latest normalised reading.
    pub device: SmartDevice,
}

/// A machine's disks and whether they can be read at all.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MachineDisks {
    /// `unknown` until the agent has sent a reading, then `available` or `unavailable`.
    pub state: crate::vocabulary::SourceState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at_ms: Option<i64>,
    pub disks: Vec<Disk>,
}

/// One point of a disk's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiskSample {
    pub ts_ms: i64,
    pub verdict: Verdict,
    pub temperature_c: Option<f64>,
    pub power_on_hours: Option<f64>,
    pub reallocated: Option<f64>,
    pub pending: Option<f64>,
    pub uncorrectable: Option<f64>,
    pub media_errors: Option<f64>,
    pub percentage_used: Option<f64>,
    pub grown_defects: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rising_counters_get_their_own_reason() {
        let mut before = disk(Protocol::Ata);
        before.ata_attributes = vec![attr(5, 8, ""), attr(197, 2, ""), attr(199, 1, "")];
        let mut now = before.clone();
        now.ata_attributes = vec![attr(5, 12, ""), attr(197, 0, ""), attr(199, 9, "")];
        assert_eq!(
            rising_reasons(&before, &now),
            ["attr5 (5) rising: 8 → 12"],
            "pending going down and CRC errors (cabling) are not sector loss"
        );
        assert!(rising_reasons(&now, &now).is_empty());
        let mut nvme_before = disk(Protocol::Nvme);
        nvme_before.nvme.as_mut().unwrap().media_errors = 1;
        let mut nvme_now = nvme_before.clone();
        nvme_now.nvme.as_mut().unwrap().media_errors = 3;
        assert_eq!(
            rising_reasons(&nvme_before, &nvme_now),
            ["NVMe media errors rising: 1 → 3"]
        );
    }

    fn disk(protocol: Protocol) -> SmartDevice {
        SmartDevice {
            name: "/dev/x".into(),
            device_type: "sat".into(),
            protocol,
            model: "m".into(),
            serial: "s".into(),
            firmware: "f".into(),
            capacity_bytes: None,
            rotation_rpm: Some(7200),
            smart_passed: Some(true),
            temperature_c: Some(35),
            power_on_hours: Some(1),
            power_cycles: Some(1),
            ata_attributes: Vec::new(),
            nvme: (protocol == Protocol::Nvme).then(|| NvmeHealth {
                available_spare: 100,
                available_spare_threshold: 10,
                ..NvmeHealth::default()
            }),
            scsi: None,
            exit_status: ExitStatus::default(),
        }
    }

    fn attr(id: u8, raw: u64, when_failed: &str) -> AtaAttribute {
        AtaAttribute {
            id,
            name: format!("attr{id}"),
            value: 100,
            worst: 100,
            threshold: 10,
            raw,
            prefailure: true,
            when_failed: when_failed.into(),
        }
    }

    #[test]
    fn verdict_rules() {
        let ata = disk(Protocol::Ata);
        let nvme = disk(Protocol::Nvme);
        let cases: Vec<(&str, SmartDevice, Verdict)> = vec![
            ("healthy", ata.clone(), Verdict::Ok),
            (
                "self-assessment failed",
                SmartDevice {
                    smart_passed: Some(false),
                    ..ata.clone()
                },
                Verdict::Failing,
            ),
            (
                "exit bit 3",
                SmartDevice {
                    exit_status: ExitStatus { raw: 8 },
                    ..ata.clone()
                },
                Verdict::Failing,
            ),
            (
                "prefail attribute failing now",
                SmartDevice {
                    ata_attributes: vec![attr(1, 0, "now")],
                    ..ata.clone()
                },
                Verdict::Failing,
            ),
            (
                "failed in the past only",
                SmartDevice {
                    ata_attributes: vec![attr(1, 0, "past")],
                    ..ata.clone()
                },
                Verdict::Ok,
            ),
            (
                "one pending sector",
                SmartDevice {
                    ata_attributes: vec![attr(197, 1, "")],
                    ..ata.clone()
                },
                Verdict::Warning,
            ),
            (
                "CRC errors",
                SmartDevice {
                    ata_attributes: vec![attr(199, 3, "")],
                    ..ata.clone()
                },
                Verdict::Warning,
            ),
            (
                "raw read errors are not a counter",
                SmartDevice {
                    ata_attributes: vec![attr(1, 123_456, "")],
                    ..ata.clone()
                },
                Verdict::Ok,
            ),
            (
                "hot hard disk",
                SmartDevice {
                    temperature_c: Some(61),
                    ..ata.clone()
                },
                Verdict::Warning,
            ),
            (
                "warm SSD",
                SmartDevice {
                    temperature_c: Some(65),
                    rotation_rpm: Some(0),
                    ..ata.clone()
                },
                Verdict::Ok,
            ),
            (
                "self-test errors",
                SmartDevice {
                    exit_status: ExitStatus { raw: 128 },
                    ..ata.clone()
                },
                Verdict::Warning,
            ),
            ("nvme healthy", nvme.clone(), Verdict::Ok),
            (
                "nvme 90 % worn",
                SmartDevice {
                    nvme: Some(NvmeHealth {
                        percentage_used: 90,
                        ..nvme.nvme.clone().unwrap()
                    }),
                    ..nvme.clone()
                },
                Verdict::Warning,
            ),
            (
                "nvme worn out",
                SmartDevice {
                    nvme: Some(NvmeHealth {
                        percentage_used: 100,
                        ..nvme.nvme.clone().unwrap()
                    }),
                    ..nvme.clone()
                },
                Verdict::Failing,
            ),
            (
                "nvme spare low",
                SmartDevice {
                    nvme: Some(NvmeHealth {
                        available_spare: 5,
                        ..nvme.nvme.clone().unwrap()
                    }),
                    ..nvme.clone()
                },
                Verdict::Failing,
            ),
            (
                "nvme read-only",
                SmartDevice {
                    nvme: Some(NvmeHealth {
                        critical_warning: 8,
                        ..nvme.nvme.clone().unwrap()
                    }),
                    ..nvme.clone()
                },
                Verdict::Failing,
            ),
            (
                "nvme media errors",
                SmartDevice {
                    nvme: Some(NvmeHealth {
                        media_errors: 1,
                        ..nvme.nvme.clone().unwrap()
                    }),
                    ..nvme.clone()
                },
                Verdict::Warning,
            ),
            (
                "scsi defects",
                SmartDevice {
                    protocol: Protocol::Scsi,
                    scsi: Some(ScsiHealth {
                        grown_defects: 1,
                        ..ScsiHealth::default()
                    }),
                    ..ata.clone()
                },
                Verdict::Warning,
            ),
        ];
        for (name, device, expected) in cases {
            let (verdict, reasons) = device.verdict();
            assert_eq!(verdict, expected, "{name}: {reasons:?}");
            assert_eq!(
                reasons.is_empty(),
                expected == Verdict::Ok,
                "{name}: every deduction has a reason"
            );
        }
    }
}
