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
