//! S.M.A.R.T. through smartctl: discover disks (`--scan-open --json`), read each
//! (`--json -a -d TYPE`), and turn smartctl's JSON into the shared device model.
//! smartctl missing or refused is a state of its own, never an empty success.

mod parse;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use optralis_proto::smart::{DiskError, SmartDevice, SmartSnapshot};
use serde::Serialize;

pub use parse::{ParseError, parse_device, parse_scan};

/// Why there are no S.M.A.R.T. readings, when there are none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SmartState {
    Available,
    Unavailable { reason: String },
}

/// smartctl's file name on this OS.
const SMARTCTL: &str = if cfg!(windows) {
    "smartctl.exe"
} else {
    "smartctl"
};

/// Where smartctl is: the configured path, else (Windows) the one the installer puts beside
/// the agent, else the first on PATH, else the places it is installed to (root's sbin
/// directories are not always on PATH; smartmontools' own Windows installer).
pub fn find_smartctl(configured: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = configured {
        return p.is_file().then(|| p.to_owned());
    }
    let beside_agent = if cfg!(windows) {
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join(SMARTCTL)))
    } else {
        None
    };
    let on_path = || {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(SMARTCTL))
                .find(|p| p.is_file())
        })
    };
    let known: &[&str] = if cfg!(windows) {
        &["C:\\Program Files\\smartmontools\\bin\\smartctl.exe"]
    } else {
        &[
            "/usr/sbin/smartctl",
            "/sbin/smartctl",
            "/usr/local/sbin/smartctl",
        ]
    };
    beside_agent
        .filter(|p| p.is_file())
        .or_else(on_path)
        .or_else(|| known.iter().map(PathBuf::from).find(|p| p.is_file()))
}

/// Longest one smartctl call may take: a dying disk can make it hang, and the agent's
/// collections wait for it.
const SMARTCTL_TIMEOUT: Duration = Duration::from_secs(60);

fn run(smartctl: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    run_with_timeout(smartctl, args, SMARTCTL_TIMEOUT)
}

/// Runs smartctl and returns its stdout, whatever its exit status: that status is a bit mask
/// describing the disk, not plain failure. Killed past `timeout`.
pub fn run_with_timeout(
    smartctl: &Path,
    args: &[&str],
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let mut child = Command::new(smartctl)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", smartctl.display()))?;
    // Read the pipes while waiting, so a large output cannot block the child.
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.read_to_end(&mut buf);
        }
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_end(&mut buf);
        }
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{} {} took longer than {timeout:?}; stopped",
                    smartctl.display(),
                    args.join(" ")
                ));
            }
            Err(e) => return Err(format!("waiting for {}: {e}", smartctl.display())),
        }
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    if stdout.is_empty() {
        return Err(format!(
            "{} printed nothing ({status}): {}",
            smartctl.display(),
            String::from_utf8_lossy(&stderr).trim()
        ));
    }
    Ok(stdout)
}

/// Reads every disk smartctl finds, as the agent sends it.
pub fn read_snapshot(smartctl: Option<&Path>) -> SmartSnapshot {
    let unavailable = |reason: String| SmartSnapshot {
        unavailable: Some(reason),
        devices: Vec::new(),
        errors: Vec::new(),
    };
    let Some(smartctl) = find_smartctl(smartctl) else {
        return unavailable("smartctl not found".into());
    };
    let scan = match run(&smartctl, &["--scan-open", "--json"])
        .and_then(|s| parse_scan(&s).map_err(|e| e.to_string()))
    {
        Ok(devices) => devices,
        Err(reason) => return unavailable(reason),
    };
    let mut snapshot = SmartSnapshot {
        unavailable: None,
        devices: Vec::new(),
        errors: Vec::new(),
    };
    for (name, device_type) in scan {
        // `-n standby`: a spun-down disk is skipped rather than woken up.
        let read = run(
            &smartctl,
            &["--json", "-a", "-n", "standby", "-d", &device_type, &name],
        )
        .and_then(|json| parse_device(&json).map_err(|e| e.to_string()));
        match read {
            Ok(d) => snapshot.devices.push(d),
            Err(error) => snapshot.errors.push(DiskError { name, error }),
        }
    }
    if snapshot.devices.is_empty()
        && !snapshot.errors.is_empty()
        && snapshot
            .errors
            .iter()
            .all(|e| e.error.contains("ermission denied"))
    {
        return unavailable("permission denied (run the agent as root)".into());
    }
    snapshot
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

impl SmartReport {
    pub fn from_snapshot(s: SmartSnapshot) -> Self {
        Self {
            state: match s.unavailable {
                Some(reason) => SmartState::Unavailable { reason },
                None => SmartState::Available,
            },
            devices: s.devices.into_iter().map(JudgedDevice::new).collect(),
            errors: s.errors,
        }
    }

    /// A report from one saved `smartctl --json -a` output.
    pub fn from_saved(json: &[u8]) -> Self {
        let mut snapshot = SmartSnapshot {
            unavailable: None,
            devices: Vec::new(),
            errors: Vec::new(),
        };
        match parse_device(json) {
            Ok(d) => snapshot.devices.push(d),
            Err(e) => snapshot.errors.push(DiskError {
                name: "(saved output)".into(),
                error: e.to_string(),
            }),
        }
        Self::from_snapshot(snapshot)
    }
}
