//! `optralis-agent install` / `uninstall` on Linux: the agent as a hardened systemd service.
//!
//! Install lays out what the packages lay out (the system user, the unit, the config, the
//! state directory), enrolls the machine once as root, hands the state to the service's user,
//! then enables and starts the unit. Running it again updates the config and the unit and
//! keeps the enrollment. Every path is under `root`, so a test (or an image being built) can
//! install into a directory of its own.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::collect::Platform;
use crate::runner::{Agent, AgentError, AgentOptions};
use crate::send::outbox::OutboxLimits;
use crate::service::config_file::config_text;

/// The unit the packages ship; `install` points its `ExecStart` at the installed binary.
pub const UNIT: &str = include_str!("../../packaging/linux/optralis-agent.service");
/// The system user, for systemd-sysusers.
pub const SYSUSERS: &str = include_str!("../../packaging/linux/optralis-agent.sysusers");

pub const SERVICE: &str = "optralis-agent.service";
pub const USER: &str = "optralis-agent";
/// The binary the packages install, and the one the shipped unit runs.
pub const PACKAGED_BINARY: &str = "/usr/bin/optralis-agent";
/// Where `install` copies itself when it is not the packaged binary.
pub const INSTALLED_BINARY: &str = "/usr/local/bin/optralis-agent";
pub const CONFIG_DIR: &str = "/etc/optralis-agent";
pub const CONFIG_FILE: &str = "/etc/optralis-agent/agent.toml";
pub const STATE_DIR: &str = "/var/lib/optralis-agent";
pub const UNIT_FILE: &str = "/etc/systemd/system/optralis-agent.service";
pub const SYSUSERS_FILE: &str = "/etc/sysusers.d/optralis-agent.conf";
const PACKAGED_SYSUSERS_FILE: &str = "/usr/lib/sysusers.d/optralis-agent.conf";

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("installing a service needs root: run it with sudo")]
    NotRoot,
    #[error(
        "this machine does not run systemd (a container, OpenRC, runit…), so no service was \
         installed. Run the agent under your init system or supervisor instead:\n  \
         {binary} run --server {server} --enroll-key KEY --state-dir {STATE_DIR}\n\
         (it enrolls on its first run, then needs only --server and --state-dir)"
    )]
    NoSystemd { binary: String, server: String },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{command} failed: {detail}")]
    Command { command: String, detail: String },
    #[error("the system user {USER} is missing from {0} after systemd-sysusers")]
    NoUser(PathBuf),
    #[error(transparent)]
    Agent(#[from] AgentError),
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> InstallError + use<> {
    let path = path.to_owned();
    move |source| InstallError::Io {
        action,
        path,
        source,
    }
}

/// What `install` needs.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    pub server: String,
    pub enroll_key: String,
    /// Labels this machine declares (written to the config file's `[labels]`).
    pub labels: BTreeMap<String, String>,
    /// The system's root: `/`, or a directory laid out like one.
    pub root: PathBuf,
    /// Reload systemd, enable and (re)start the service. Only for root `/`.
    pub start: bool,
}

/// What `install` did.
#[derive(Debug, Clone)]
pub struct Installed {
    pub machine_id: String,
    pub binary: PathBuf,
    pub started: bool,
}

fn under(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

fn is_system_root(root: &Path) -> bool {
    root == Path::new("/")
}

/// Whether systemd is the running init system (sd_booted's test). The directory it looks
/// for can be moved with `OPTRALIS_SYSTEMD_PROBE`, so the tests can play a machine without
/// systemd on one that has it.
pub fn systemd_running() -> bool {
    std::env::var_os("OPTRALIS_SYSTEMD_PROBE")
        .map_or_else(|| PathBuf::from("/run/systemd/system"), PathBuf::from)
        .is_dir()
}

pub fn install<P: Platform>(opts: &InstallOptions, platform: P) -> Result<Installed, InstallError> {
    let system = is_system_root(&opts.root);
    if system && !rustix::process::geteuid().is_root() {
        return Err(InstallError::NotRoot);
    }
    if system && !systemd_running() {
        let binary = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("optralis-agent"));
        return Err(InstallError::NoSystemd {
            binary: binary.display().to_string(),
            server: opts.server.clone(),
        });
    }
    let binary = install_binary(&opts.root)?;
    let (uid, gid) = system_user(&opts.root)?;

    let config_dir = under(&opts.root, CONFIG_DIR);
    make_dir(&config_dir, 0o750, Some((0, gid)))?;
    write_file(
        &under(&opts.root, CONFIG_FILE),
        config_text(&opts.server, STATE_DIR, &opts.labels).as_bytes(),
        0o600,
        Some((uid, gid)),
    )?;

    // A running agent holds its outbox open: stop it before enrolling here (it is restarted
    // below). Not installed yet is not an error.
    if system && opts.start {
        let _ = systemctl(&["stop", SERVICE]);
    }
    // Enrolled here, as root, so the machine appears at once and the key is never stored.
    let state_dir = under(&opts.root, STATE_DIR);
    let agent_opts = AgentOptions {
        server: opts.server.clone(),
        enroll_key: Some(opts.enroll_key.clone()),
        state_dir: state_dir.clone(),
        forced_interval: None,
        thresholds: Default::default(),
        outbox: OutboxLimits::default(),
        batch_size: 100,
        smart_interval: None,
        smartctl: None,
        labels: opts.labels.clone(),
        events: None,
    };
    let machine_id = {
        let mut agent = Agent::new(agent_opts, platform)?;
        agent.enroll()?;
        agent.machine_id().unwrap_or_default().to_owned()
    };
    chown_tree(&state_dir, uid, gid)?;

    let unit = UNIT.replace(
        &format!("ExecStart={PACKAGED_BINARY} "),
        &format!("ExecStart={} ", binary.display()),
    );
    let unit_file = under(&opts.root, UNIT_FILE);
    make_dir(unit_file.parent().unwrap_or(&opts.root), 0o755, None)?;
    write_file(&unit_file, unit.as_bytes(), 0o644, None)?;

    let started = system && opts.start;
    if started {
        systemctl(&["daemon-reload"])?;
        systemctl(&["enable", SERVICE])?;
        systemctl(&["restart", SERVICE])?;
    }
    Ok(Installed {
        machine_id,
        binary,
        started,
    })
}

/// Stops and removes the service; `purge` also removes the config, the state (the machine
/// token and the unsent reports) and the system user.
pub fn uninstall(root: &Path, purge: bool) -> Result<Vec<PathBuf>, InstallError> {
    let system = is_system_root(root);
    if system && !rustix::process::geteuid().is_root() {
        return Err(InstallError::NotRoot);
    }
    if system && systemd_running() {
        // Not installed (or already stopped) is not an error here.
        let _ = systemctl(&["disable", "--now", SERVICE]);
    }
    let mut removed = Vec::new();
    let mut remove = |path: PathBuf| -> Result<(), InstallError> {
        let result = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match result {
            Ok(()) => {
                removed.push(path);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("remove", &path)(e)),
        }
    };
    remove(under(root, UNIT_FILE))?;
    remove(under(root, INSTALLED_BINARY))?;
    if purge {
        remove(under(root, CONFIG_DIR))?;
        remove(under(root, STATE_DIR))?;
        remove(under(root, SYSUSERS_FILE))?;
    }
    if system && systemd_running() {
        systemctl(&["daemon-reload"])?;
    }
    if system && purge && user_ids(&under(root, "/etc/passwd"))?.is_some() {
        run(Command::new("userdel").arg(USER))?;
    }
    Ok(removed)
}

/// The binary the unit runs: the packaged one when that is what runs now, else a copy of
/// this one in /usr/local/bin.
fn install_binary(root: &Path) -> Result<PathBuf, InstallError> {
    let exe = std::env::current_exe().map_err(io("find", Path::new("the running binary")))?;
    let packaged = under(root, PACKAGED_BINARY);
    if same_file(&exe, &packaged) {
        return Ok(PathBuf::from(PACKAGED_BINARY));
    }
    let target = under(root, INSTALLED_BINARY);
    if !same_file(&exe, &target) {
        make_dir(target.parent().unwrap_or(root), 0o755, None)?;
        // Copied beside, then renamed: a running service keeps its old file until restarted.
        let partial = target.with_extension("new");
        std::fs::copy(&exe, &partial).map_err(io("copy the agent to", &partial))?;
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755))
            .map_err(io("set the mode of", &partial))?;
        std::fs::rename(&partial, &target).map_err(io("replace", &target))?;
    }
    Ok(PathBuf::from(INSTALLED_BINARY))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Makes sure the system user exists (systemd-sysusers, from the packages' file or ours)
/// and returns its uid and gid.
fn system_user(root: &Path) -> Result<(u32, u32), InstallError> {
    let packaged = under(root, PACKAGED_SYSUSERS_FILE);
    let file = if packaged.is_file() {
        packaged
    } else {
        let ours = under(root, SYSUSERS_FILE);
        make_dir(ours.parent().unwrap_or(root), 0o755, None)?;
        write_file(&ours, SYSUSERS.as_bytes(), 0o644, None)?;
        ours
    };
    let mut cmd = Command::new("systemd-sysusers");
    if !is_system_root(root) {
        // It edits ROOT/etc/passwd and friends, and needs the folder to lock them.
        make_dir(&under(root, "/etc"), 0o755, None)?;
        cmd.arg("--root").arg(root);
    }
    run(cmd.arg(&file))?;
    let passwd = under(root, "/etc/passwd");
    user_ids(&passwd)?.ok_or(InstallError::NoUser(passwd))
}

/// The uid and gid of [`USER`] in a passwd file.
fn user_ids(passwd: &Path) -> Result<Option<(u32, u32)>, InstallError> {
    let text = match std::fs::read_to_string(passwd) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("read", passwd)(e)),
    };
    Ok(text.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == USER).then_some(())?;
        let _password = fields.next()?;
        Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
    }))
}

fn make_dir(path: &Path, mode: u32, owner: Option<(u32, u32)>) -> Result<(), InstallError> {
    std::fs::create_dir_all(path).map_err(io("create", path))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(io("set the mode of", path))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(io("chown", path))?;
    }
    Ok(())
}

/// Writes `path` whole (a temporary file renamed over it), with its mode and owner set
/// before its content is visible.
fn write_file(
    path: &Path,
    content: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> Result<(), InstallError> {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, content).map_err(io("write", &partial))?;
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(mode))
        .map_err(io("set the mode of", &partial))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&partial, Some(uid), Some(gid)).map_err(io("chown", &partial))?;
    }
    std::fs::rename(&partial, path).map_err(io("write", path))
}

fn chown_tree(path: &Path, uid: u32, gid: u32) -> Result<(), InstallError> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(io("chown", path))?;
    if path.is_dir() {
        for entry in std::fs::read_dir(path).map_err(io("read", path))? {
            let entry = entry.map_err(io("read", path))?;
            chown_tree(&entry.path(), uid, gid)?;
        }
    }
    Ok(())
}

fn systemctl(args: &[&str]) -> Result<(), InstallError> {
    run(Command::new("systemctl").args(args))
}

fn run(cmd: &mut Command) -> Result<(), InstallError> {
    let command = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| InstallError::Command {
        command: command.clone(),
        detail: e.to_string(),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(InstallError::Command {
            command,
            detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_is_read_from_passwd() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passwd");
        std::fs::write(
            &path,
            "root:x:0:0:root:/root:/bin/sh\noptralis-agent:x:998:997:Optralis:/var/lib/optralis-agent:/usr/sbin/nologin\n",
        )
        .unwrap();
        assert_eq!(user_ids(&path).unwrap(), Some((998, 997)));
        assert_eq!(user_ids(&dir.path().join("none")).unwrap(), None);
    }

    #[test]
    fn the_shipped_unit_runs_the_packaged_binary() {
        assert!(UNIT.contains(&format!("ExecStart={PACKAGED_BINARY} run ")));
        assert!(UNIT.contains("Type=notify") && UNIT.contains("WatchdogSec="));
        assert!(!UNIT.contains("Environment="), "no secret goes in the unit");
    }
}
