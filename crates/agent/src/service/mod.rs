//! The agent as an installed service: the systemd notification protocol (notify.rs), the
//! config file the installers write (config_file.rs), on Linux the hardened systemd unit
//! (install.rs), on Windows the native service and its logs (windows.rs, windows_log.rs).

pub mod config_file;
#[cfg(target_os = "linux")]
pub mod install;
pub mod notify;
#[cfg(windows)]
pub mod windows;
#[cfg(windows)]
pub mod windows_log;

use std::collections::BTreeMap;
use std::path::Path;

use crate::collect::Platform;
use crate::runner::{Agent, AgentError, AgentOptions};

/// What an installer does before the service starts: enroll this machine once (as root or
/// an administrator, so the key is used here and never stored) into `state_dir`, keeping an
/// enrollment that is already there. Returns the machine id.
pub fn enroll_for_service<P: Platform>(
    server: &str,
    enroll_key: &str,
    state_dir: &Path,
    labels: &BTreeMap<String, String>,
    platform: P,
) -> Result<String, AgentError> {
    let opts = AgentOptions {
        server: server.to_owned(),
        enroll_key: Some(enroll_key.to_owned()),
        state_dir: state_dir.to_owned(),
        forced_interval: None,
        thresholds: Default::default(),
        outbox: crate::send::outbox::OutboxLimits::default(),
        batch_size: 100,
        smart_interval: None,
        smartctl: None,
        labels: labels.clone(),
        events: None,
        update: Default::default(),
    };
    let mut agent = Agent::new(opts, platform)?;
    agent.enroll()?;
    Ok(agent.machine_id().unwrap_or_default().to_owned())
}
