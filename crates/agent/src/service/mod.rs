//! The agent as an installed service: the systemd notification protocol (notify.rs) and, on
//! Linux, installing and removing the hardened unit (install.rs).

#[cfg(target_os = "linux")]
pub mod install;
pub mod notify;
