//! smartctl's JSON (`--json`, format version 1) to the shared model. Pure: tests feed it
//! saved outputs of real drives.

use optralis_proto::smart::{
    AtaAttribute, ExitStatus, NvmeHealth, Protocol, ScsiHealth, SmartDevice,
};
use serde::Deserialize;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("not smartctl JSON: {0}")]
    Json(String),
    #[error("smartctl could not read the device: {0}")]
    Device(String),
    #[error("unknown protocol {0:?}")]
    Protocol(String),
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Raw {
    smartctl: Smartctl,
    device: Option<Device>,
    model_name: Option<String>,
    product: Option<String>,
    vendor: Option<String>,
    serial_number: Option<String>,
    firmware_version: Option<String>,
    revision: Option<String>,
    user_capacity: Option<Capacity>,
    rotation_rate: Option<u32>,
    smart_status: Option<Status>,
    temperature: Option<Temperature>,
    power_on_time: Option<PowerOn>,
    power_cycle_count: Option<u64>,
    ata_smart_attributes: Option<AtaTable>,
    nvme_smart_health_information_log: Option<NvmeLog>,
    scsi_grown_defect_list: Option<u64>,
    scsi_error_counter_log: Option<ScsiErrors>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Smartctl {
    exit_status: u8,
    messages: Vec<Message>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Message {
    string: String,
    severity: String,
}

#[derive(Deserialize)]
struct Device {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    protocol: String,
}

#[derive(Deserialize)]
struct Capacity {
    bytes: u64,
}

#[derive(Deserialize)]
struct Status {
    passed: Option<bool>,
}

#[derive(Deserialize)]
struct Temperature {
    current: Option<i32>,
}

#[derive(Deserialize)]
struct PowerOn {
    hours: Option<u64>,
}

#[derive(Deserialize)]
struct AtaTable {
    table: Vec<AtaRow>,
}

#[derive(Deserialize)]
struct AtaRow {
    id: u8,
    name: String,
    value: u8,
    worst: u8,
    #[serde(default)]
    thresh: u8,
    #[serde(default)]
    when_failed: String,
    flags: AtaFlags,
    raw: AtaRaw,
}

#[derive(Deserialize)]
struct AtaFlags {
    #[serde(default)]
    prefailure: bool,
}

#[derive(Deserialize)]
struct AtaRaw {
    value: u64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NvmeLog {
    critical_warning: u8,
    available_spare: u8,
    available_spare_threshold: u8,
    percentage_used: u8,
    media_errors: u64,
    num_err_log_entries: u64,
    unsafe_shutdowns: u64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ScsiErrors {
    read: ScsiCounter,
    write: ScsiCounter,
    verify: ScsiCounter,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ScsiCounter {
    total_uncorrected_errors: u64,
}

/// Decodes an ATA raw value. smartctl's `raw.value` is the whole 48-bit field; several
/// attributes pack more than one number into it.
pub fn decode_raw(id: u8, raw: u64) -> u64 {
    match id {
        // Temperature: current in the low byte, min/max above it.
        190 | 194 => raw & 0xFF,
        // Command timeouts: three 16-bit counters; the low one is the total on most drives.
        188 => raw & 0xFFFF,
        // Power-on hours: some drives keep minutes or milliseconds in the high bytes.
        9 => raw & 0xFFFF_FFFF,
        // Sector counters: the count is in the low 32 bits (vendors use the rest).
        5 | 196 | 197 | 198 => raw & 0xFFFF_FFFF,
        _ => raw,
    }
}

/// `smartctl --scan-open --json`: (device name, `-d` type) pairs.
pub fn parse_scan(json: &[u8]) -> Result<Vec<(String, String)>, ParseError> {
    #[derive(Deserialize)]
    struct Scan {
        #[serde(default)]
        devices: Vec<Device>,
    }
    let scan: Scan = serde_json::from_slice(json).map_err(|e| ParseError::Json(e.to_string()))?;
    Ok(scan.devices.into_iter().map(|d| (d.name, d.kind)).collect())
}

/// `smartctl --json -a` of one device.
pub fn parse_device(json: &[u8]) -> Result<SmartDevice, ParseError> {
    let raw: Raw = serde_json::from_slice(json).map_err(|e| ParseError::Json(e.to_string()))?;
    let exit_status = ExitStatus {
        raw: raw.smartctl.exit_status,
    };
    let Some(device) = raw.device else {
        let why = raw
            .smartctl
            .messages
            .iter()
            .find(|m| m.severity == "error")
            .map(|m| m.string.clone())
            .unwrap_or_else(|| format!("exit status {}", exit_status.raw));
        return Err(ParseError::Device(why));
    };
    let protocol = match device.protocol.as_str() {
        "ATA" => Protocol::Ata,
        "NVMe" => Protocol::Nvme,
        "SCSI" => Protocol::Scsi,
        other => return Err(ParseError::Protocol(other.to_owned())),
    };
    let model = raw
        .model_name
        .or_else(|| {
            let joined = [raw.vendor.as_deref(), raw.product.as_deref()]
                .iter()
                .flatten()
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            (!joined.is_empty()).then_some(joined)
        })
        .unwrap_or_default();
    let ata_attributes: Vec<AtaAttribute> = raw
        .ata_smart_attributes
        .map(|t| t.table)
        .unwrap_or_default()
        .into_iter()
        .map(|a| AtaAttribute {
            raw: decode_raw(a.id, a.raw.value),
            id: a.id,
            name: a.name,
            value: a.value,
            worst: a.worst,
            threshold: a.thresh,
            prefailure: a.flags.prefailure,
            when_failed: a.when_failed,
        })
        .collect();
    let attr = |id: u8| ata_attributes.iter().find(|a| a.id == id).map(|a| a.raw);
    let nvme = raw.nvme_smart_health_information_log.map(|n| NvmeHealth {
        critical_warning: n.critical_warning,
        available_spare: n.available_spare,
        available_spare_threshold: n.available_spare_threshold,
        percentage_used: n.percentage_used,
        media_errors: n.media_errors,
        num_err_log_entries: n.num_err_log_entries,
        unsafe_shutdowns: n.unsafe_shutdowns,
    });
    let scsi = (protocol == Protocol::Scsi).then(|| {
        let errors = raw.scsi_error_counter_log.unwrap_or_default();
        ScsiHealth {
            grown_defects: raw.scsi_grown_defect_list.unwrap_or(0),
            uncorrected_read_errors: errors.read.total_uncorrected_errors,
            uncorrected_write_errors: errors.write.total_uncorrected_errors,
            uncorrected_verify_errors: errors.verify.total_uncorrected_errors,
        }
    });
    Ok(SmartDevice {
        temperature_c: raw
            .temperature
            .and_then(|t| t.current)
            .or_else(|| attr(194).or_else(|| attr(190)).map(|t| t as i32)),
        power_on_hours: raw.power_on_time.and_then(|p| p.hours).or_else(|| attr(9)),
        power_cycles: raw.power_cycle_count.or_else(|| attr(12)),
        rotation_rpm: raw
            .rotation_rate
            .or((protocol == Protocol::Nvme).then_some(0)),
        name: device.name,
        device_type: device.kind,
        protocol,
        model,
        serial: raw.serial_number.unwrap_or_default(),
        firmware: raw.firmware_version.or(raw.revision).unwrap_or_default(),
        capacity_bytes: raw.user_capacity.map(|c| c.bytes),
        smart_passed: raw.smart_status.and_then(|s| s.passed),
        ata_attributes,
        nvme,
        scsi,
        exit_status,
    })
}

#[cfg(test)]
mod tests {
    use super::decode_raw;

    #[test]
    fn packed_raw_values() {
        // "25 (Min/Max 19/39)" as smartctl packs it.
        assert_eq!(decode_raw(194, 167_504_969_753), 25);
        assert_eq!(decode_raw(188, 0x0001_0002_0003), 3);
        assert_eq!(decode_raw(5, 1975), 1975);
        assert_eq!(decode_raw(9, (7u64 << 32) | 65_592), 65_592);
        assert_eq!(decode_raw(1, 0xFFFF_FFFF_FFFF), 0xFFFF_FFFF_FFFF);
    }
}
