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
use crate::runner::AgentError;
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
/// The machine token as an encrypted systemd credential (systemd 250 and later): the file
/// systemd decrypts at each start into the service's `$CREDENTIALS_DIRECTORY`, and the
/// drop-in that tells it to.
pub const CREDENTIAL_NAME: &str = "machine-token";
pub const CREDENTIAL_FILE: &str = "/etc/optralis-agent/machine-token.cred";
pub const CREDENTIAL_DROPIN_DIR: &str = "/etc/systemd/system/optralis-agent.service.d";
pub const CREDENTIAL_DROPIN: &str =
    "/etc/systemd/system/optralis-agent.service.d/machine-token.conf";
/// systemd's host key, which encrypts credentials where there is no TPM2 (with one, both).
const HOST_KEY: &str = "/var/lib/systemd/credential.secret";
const CREDENTIALS_SINCE: u32 = 250;

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
    /// Release keys (base64) updates must be signed by (`[update] public_keys`).
    pub update_keys: Vec<String>,
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
    /// Where the machine token is kept.
    pub token_at_rest: TokenAtRest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAtRest {
    /// Encrypted with systemd-creds in [`CREDENTIAL_FILE`]; enrollment.json holds none.
    Credential,
    /// In enrollment.json, mode 0600 (systemd older than 250, or no systemd-creds).
    File,
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
        config_text(&opts.server, STATE_DIR, &opts.labels, &opts.update_keys).as_bytes(),
        // Root's, readable by the agent: a compromised agent cannot trust a key of its own.
        0o640,
        Some((0, gid)),
    )?;

    // A running agent holds its outbox open: stop it before enrolling here (it is restarted
    // below). Not installed yet is not an error.
    if system && opts.start {
        let _ = systemctl(&["stop", SERVICE]);
    }
    // Enrolled here, as root, so the machine appears at once and the key is never stored.
    let state_dir = under(&opts.root, STATE_DIR);
    open_sealed_token(&opts.root, &state_dir)?;
    let machine_id = super::enroll_for_service(
        &opts.server,
        &opts.enroll_key,
        &state_dir,
        &opts.labels,
        platform,
    )?;
    let token_at_rest = seal_token(&opts.root, &state_dir)?;
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
        token_at_rest,
    })
}

/// The systemd version `systemd-creds` belongs to, if it is there.
fn systemd_creds_version() -> Option<u32> {
    let out = Command::new("systemd-creds")
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().nth(1)?.parse().ok()
}

/// `systemd-creds` for this root: under another root, that root's host key.
fn systemd_creds(root: &Path) -> Command {
    let mut cmd = Command::new("systemd-creds");
    if !is_system_root(root) {
        cmd.env("SYSTEMD_CREDENTIAL_SECRET", under(root, HOST_KEY));
    }
    cmd
}

/// Encrypts the machine token as a systemd credential where systemd can decrypt it for the
/// service (250 and later), and leaves only a reference to it in enrollment.json. Elsewhere
/// the token stays in enrollment.json (0600) and any earlier drop-in goes.
fn seal_token(root: &Path, state_dir: &Path) -> Result<TokenAtRest, InstallError> {
    let dropin = under(root, CREDENTIAL_DROPIN);
    if systemd_creds_version().is_none_or(|v| v < CREDENTIALS_SINCE) {
        let _ = std::fs::remove_file(&dropin);
        return Ok(TokenAtRest::File);
    }
    let Some(enrollment) = crate::state::load_enrollment(state_dir).map_err(AgentError::from)?
    else {
        return Ok(TokenAtRest::File);
    };
    let file = under(root, CREDENTIAL_FILE);
    let partial = file.with_extension("partial");
    let mut cmd = systemd_creds(root);
    cmd.args(["encrypt", "--name", CREDENTIAL_NAME]);
    if !is_system_root(root) {
        // No TPM of the machine building an image belongs in it.
        cmd.arg("--with-key=host");
    }
    cmd.arg("-").arg(&partial);
    run_with_input(&mut cmd, enrollment.machine_token.as_bytes())?;
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o600))
        .map_err(io("set the mode of", &partial))?;
    std::fs::rename(&partial, &file).map_err(io("write", &file))?;
    crate::state::save_enrollment_with_credential(state_dir, &enrollment, CREDENTIAL_NAME)
        .map_err(AgentError::from)?;
    make_dir(&under(root, CREDENTIAL_DROPIN_DIR), 0o755, None)?;
    let text = format!(
        "# Written by `optralis-agent install`: systemd decrypts the machine token for the\n\
         # service at each start (LoadCredentialEncrypted=); enrollment.json holds none.\n\
         [Service]\nLoadCredentialEncrypted={CREDENTIAL_NAME}:{CREDENTIAL_FILE}\n"
    );
    write_file(&dropin, text.as_bytes(), 0o644, None)?;
    Ok(TokenAtRest::Credential)
}

/// Installing again over a sealed token: decrypts it (as root) back into enrollment.json, so
/// the enrollment is kept and then sealed again.
fn open_sealed_token(root: &Path, state_dir: &Path) -> Result<(), InstallError> {
    let Some(stored) =
        crate::state::load_enrollment_as_stored(state_dir).map_err(AgentError::from)?
    else {
        return Ok(());
    };
    if !crate::state::token_is_credential(&stored) {
        return Ok(());
    }
    let file = under(root, CREDENTIAL_FILE);
    let mut cmd = systemd_creds(root);
    cmd.args(["decrypt", "--name", CREDENTIAL_NAME])
        .arg(&file)
        .arg("-");
    let command = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| InstallError::Command {
        command: command.clone(),
        detail: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(InstallError::Command {
            command,
            detail: format!(
                "{} (to enroll again as a new machine, remove {})",
                String::from_utf8_lossy(&out.stderr).trim(),
                state_dir.join("enrollment.json").display()
            ),
        });
    }
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let enrollment = crate::state::Enrollment {
        machine_token: token,
        ..stored
    };
    crate::state::save_enrollment(state_dir, &enrollment).map_err(AgentError::from)?;
    Ok(())
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
    remove(under(root, CREDENTIAL_DROPIN_DIR))?;
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

/// Runs `cmd` with `input` on its standard input (a secret never goes on a command line).
fn run_with_input(cmd: &mut Command, input: &[u8]) -> Result<(), InstallError> {
    use std::io::Write as _;
    use std::process::Stdio;
    let command = format!("{cmd:?}");
    let failed = |detail: String| InstallError::Command {
        command: command.clone(),
        detail,
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input).map_err(|e| failed(e.to_string()))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| failed(e.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(failed(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ))
    }
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
