//! S.M.A.R.T. through smartctl: discover disks (`--scan-open --json`), read each
//! (`--json -a -d TYPE`), and turn smartctl's JSON into the shared device model.
//! smartctl missing or refused is a state of its own, never an empty success.

mod parse;

use std::path::{Path, PathBuf};
use std::process::Command;

use optralis_proto::smart::SmartDevice;
use serde::Serialize;

pub use parse::{ParseError, parse_device, parse_scan};

/// Why there are no S.M.A.R.T. readings, when there are none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SmartState {
    Available,
    Unavailable { reason: String },
}

/// One disk smartctl was asked about: its reading, or why there is none.
#[derive(Debug, Clone, Serialize)]
pub struct DiskReading {
    pub name: String,
    pub device_type: String,
    #[serde(flatten)]
    pub result: Reading,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Reading {
    Device(Box<SmartDevice>),
    Error { error: String },
}

/// Where smartctl is: the configured path, else the first `smartctl` on PATH, else the
/// places distributions install it to (root's sbin directories are not always on PATH).
pub fn find_smartctl(configured: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = configured {
        return p.is_file().then(|| p.to_owned());
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("smartctl"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        [
            "/usr/sbin/smartctl",
            "/sbin/smartctl",
            "/usr/local/sbin/smartctl",
        ]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
    })
}

fn run(smartctl: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    // smartctl's exit status is a bit mask describing the disk, not plain failure: the
    // JSON on stdout is read whatever it is.
    let out = Command::new(smartctl)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", smartctl.display()))?;
    if out.stdout.is_empty() {
        return Err(format!(
            "{} printed nothing ({}): {}",
            smartctl.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}

/// Reads every disk smartctl finds. `Err` is the machine-wide state when nothing can be read.
pub fn read_all(smartctl: Option<&Path>) -> Result<Vec<DiskReading>, SmartState> {
    let Some(smartctl) = find_smartctl(smartctl) else {
        return Err(SmartState::Unavailable {
            reason: "smartctl not found".into(),
        });
    };
    let scan = run(&smartctl, &["--scan-open", "--json"])
        .map_err(|reason| SmartState::Unavailable { reason })?;
    let devices = parse_scan(&scan).map_err(|e| SmartState::Unavailable {
        reason: e.to_string(),
    })?;
    let mut readings = Vec::new();
    for (name, device_type) in devices {
        let result = match run(&smartctl, &["--json", "-a", "-d", &device_type, &name]) {
            Ok(json) => match parse_device(&json) {
                Ok(d) => Reading::Device(Box::new(d)),
                Err(e) => Reading::Error {
                    error: e.to_string(),
                },
            },
            Err(e) => Reading::Error { error: e },
        };
        readings.push(DiskReading {
            name,
            device_type,
            result,
        });
    }
    if !readings.is_empty()
        && readings
            .iter()
            .all(|r| matches!(&r.result, Reading::Error { error } if error.contains("ermission")))
    {
        return Err(SmartState::Unavailable {
            reason: "permission denied (run the agent as root)".into(),
        });
    }
    Ok(readings)
}

/// A device with the verdict the shared rules give it: what `optralis-agent smart` prints
/// and what the agent will send.
#[derive(Debug, Clone, Serialize)]
pub struct JudgedDevice {
    #[serde(flatten)]
    pub device: SmartDevice,
    pub verdict: optralis_proto::smart::Verdict,
    pub reasons: Vec<String>,
}

impl JudgedDevice {
    pub fn new(device: SmartDevice) -> Self {
        let (verdict, reasons) = device.verdict();
        Self {
            device,
            verdict,
            reasons,
        }
    }
}

/// The whole picture for one machine: the state, the devices read, the disks that failed.
#[derive(Debug, Clone, Serialize)]
pub struct SmartReport {
    #[serde(flatten)]
    pub state: SmartState,
    pub devices: Vec<JudgedDevice>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<DiskError>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiskError {
    pub name: String,
    pub error: String,
}

impl SmartReport {
    pub fn from_readings(readings: Result<Vec<DiskReading>, SmartState>) -> Self {
        match readings {
            Err(state) => Self {
                state,
                devices: Vec::new(),
                errors: Vec::new(),
            },
            Ok(readings) => {
                let mut devices = Vec::new();
                let mut errors = Vec::new();
                for r in readings {
                    match r.result {
                        Reading::Device(d) => devices.push(JudgedDevice::new(*d)),
                        Reading::Error { error } => errors.push(DiskError {
                            name: r.name,
                            error,
                        }),
                    }
                }
                Self {
                    state: SmartState::Available,
                    devices,
                    errors,
                }
            }
        }
    }

    /// A report from one saved `smartctl --json -a` output.
    pub fn from_saved(json: &[u8]) -> Self {
        match parse_device(json) {
            Ok(d) => Self {
                state: SmartState::Available,
                devices: vec![JudgedDevice::new(d)],
                errors: Vec::new(),
            },
            Err(e) => Self {
                state: SmartState::Available,
                devices: Vec::new(),
                errors: vec![DiskError {
                    name: "(saved output)".into(),
                    error: e.to_string(),
                }],
            },
        }
    }
}
