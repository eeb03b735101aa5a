//! Which binary runs, decided at every start of `optralis-agent run` before anything else:
//!
//! - a trial in progress: this process becomes its supervisor. It starts the new binary as
//!   a child and waits. The child reports healthy (a report of its own acknowledged): the
//!   new binary is kept and runs alone. It exits first, or the health window passes: it is
//!   stopped, the previous binary is put back and runs again. The supervisor is the previous
//!   binary (or the installed one), so a broken new binary cannot stop its own rollback.
//! - else a staged release newer than this binary: its signature is checked again with this
//!   machine's keys, then it replaces this process (`exec`, same pid for the service
//!   manager); a package upgraded past it runs itself;
//! - else this binary runs.
//!
//! A process killed at any step restarts (the service manager's `Restart=`) into one of
//! these three cases, so one of the two versions runs, never neither.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use optralis_proto::release::verify::verify_release;
use optralis_proto::release::{Platform, UpdateState};

use super::state::{self, Staged, UpdateFile};
use super::{AGENT_VERSION, INSTALLED_ENV, TRIAL_ENV, UpdateConfig, failpoint};
use crate::service::notify::ServiceNotifier;

/// A trial started this many times without a verdict is not started again.
const MAX_TRIAL_STARTS: u32 = 2;
/// How long a child asked to stop may take before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(20);
/// How often the supervisor looks at its child.
const TICK: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error("cannot start {path}: {source}")]
    Exec {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot set up the trial: {0}")]
    Setup(String),
    #[error("stopped while supervising the trial of {0}")]
    Stopped(String),
}

/// Before `run`: goes on here (`Ok`), or replaces this process and does not return.
pub fn before_run(
    state_dir: &Path,
    config: &UpdateConfig,
    stop: &AtomicBool,
    service: &mut ServiceNotifier,
) -> Result<(), LaunchError> {
    if let Ok(version) = std::env::var(TRIAL_ENV) {
        return on_trial(&version);
    }
    let dir = state::dir(state_dir);
    let file = state::load(&dir)?;
    if file.trial.is_some() {
        return supervise(&dir, file, config, stop, service);
    }
    state::sweep(&dir, &file);
    match &file.current {
        // A package upgraded past the staged release runs itself.
        Some(staged) if newer_than_this(&staged.version) => match check(staged, config) {
            Ok(()) => Err(exec(&staged.binary())),
            Err(reason) => {
                tracing::error!(version = %staged.version, %reason, "the staged release does not verify; running this binary");
                Ok(())
            }
        },
        _ => Ok(()),
    }
}

/// Whether `version` is above this binary's (an unreadable one is not).
fn newer_than_this(version: &str) -> bool {
    use optralis_proto::release::Version;
    match (Version::parse(version), Version::parse(AGENT_VERSION)) {
        (Ok(staged), Ok(this)) => staged > this,
        _ => false,
    }
}

/// Hands over to the release just staged: this binary starts again as its supervisor.
pub fn hand_over() -> LaunchError {
    match std::env::current_exe() {
        Ok(me) => exec(&me),
        Err(source) => LaunchError::Exec {
            path: PathBuf::from("/proc/self/exe"),
            source,
        },
    }
}

/// The binary the service manager started, which runs when no staged release does: every
/// process this module starts is told it, so only the first one finds it as itself.
fn installed() -> Option<PathBuf> {
    std::env::var_os(INSTALLED_ENV)
        .map(PathBuf::from)
        .or_else(|| std::env::current_exe().ok())
}

/// The child on trial dies with its supervisor (a supervisor killed mid-trial leaves no
/// second agent behind).
fn on_trial(version: &str) -> Result<(), LaunchError> {
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .map_err(|e| LaunchError::Setup(e.to_string()))?;
    let expected = std::env::var("OPTRALIS_AGENT_SUPERVISOR_PID").ok();
    let parent = rustix::process::getppid().map(|p| p.as_raw_nonzero().to_string());
    if expected.is_some() && expected != parent {
        return Err(LaunchError::Setup(
            "the supervisor is gone before the trial started".into(),
        ));
    }
    tracing::info!(version, "running on trial");
    Ok(())
}

/// The staged release's signature, checked again with this machine's keys.
fn check(staged: &Staged, config: &UpdateConfig) -> Result<(), String> {
    let signature = std::fs::read_to_string(staged.signature()).map_err(|e| e.to_string())?;
    let file = std::fs::File::open(staged.binary()).map_err(|e| e.to_string())?;
    let verified = verify_release(&config.keys, std::io::BufReader::new(file), &signature)
        .map_err(|e| e.to_string())?;
    if verified.comment.version != staged.version
        || Some(verified.comment.platform) != Platform::current()
    {
        return Err("the signature is for another version or platform".into());
    }
    Ok(())
}

/// Replaces this process with `binary`, same arguments; returns only on failure.
fn exec(binary: &Path) -> LaunchError {
    tracing::info!(binary = %binary.display(), "starting");
    let mut cmd = Command::new(binary);
    cmd.args(std::env::args_os().skip(1));
    if let Some(installed) = installed() {
        cmd.env(INSTALLED_ENV, installed);
    }
    cmd.env_remove(TRIAL_ENV);
    let source = cmd.exec();
    LaunchError::Exec {
        path: binary.to_owned(),
        source,
    }
}

/// The binary to go back to: the previous staged release, else the installed binary.
fn previous_binary(file: &UpdateFile) -> Option<PathBuf> {
    match &file.current {
        Some(staged) => Some(staged.binary()),
        None => installed(),
    }
}

fn supervise(
    dir: &Path,
    mut file: UpdateFile,
    config: &UpdateConfig,
    stop: &AtomicBool,
    service: &mut ServiceNotifier,
) -> Result<(), LaunchError> {
    let Some(mut trial) = file.trial.clone() else {
        return Ok(());
    };
    let version = trial.version.clone();
    trial.starts += 1;
    file.trial = Some(trial.clone());
    state::save(dir, &file)?;
    service.ready(&format!("trying {version}"));
    let Some(staged) = file.current.clone().filter(|s| s.version == version) else {
        return roll_back(dir, file, "the release on trial is not staged".into());
    };
    if trial.starts > MAX_TRIAL_STARTS {
        return roll_back(
            dir,
            file,
            format!(
                "{version} was interrupted {MAX_TRIAL_STARTS} times before it reported healthy"
            ),
        );
    }
    if let Err(reason) = check(&staged, config) {
        return roll_back(
            dir,
            file,
            format!("the staged {version} does not verify: {reason}"),
        );
    }
    let deadline_in = Duration::from_millis(
        u64::try_from(trial.deadline_ms - crate::clock::now_ms()).unwrap_or(0),
    );
    if deadline_in.is_zero() {
        return roll_back(dir, file, too_late(&trial));
    }
    state::clear_healthy(dir);
    let mut child = match start_child(&staged, &version) {
        Ok(child) => child,
        Err(e) => return roll_back(dir, file, format!("{version} could not start: {e}")),
    };
    failpoint("child-started");
    tracing::info!(%version, pid = child.id(), window_s = trial.health_window_s, "new version on trial");
    let deadline = Instant::now() + deadline_in;
    loop {
        service.alive();
        if stop.load(Ordering::Relaxed) {
            stop_child(&mut child);
            return Err(LaunchError::Stopped(version));
        }
        match child.try_wait() {
            Ok(Some(status)) => {
                return roll_back(
                    dir,
                    file,
                    format!("{version} exited ({status}) before it reported healthy"),
                );
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot look at the child"),
        }
        if state::is_marked_healthy(dir, &version) {
            file.trial = None;
            file.set_last(&version, UpdateState::Healthy, None);
            state::save(dir, &file)?;
            state::clear_healthy(dir);
            tracing::info!(%version, "the new version reported healthy; it runs from now on");
            failpoint("healthy-recorded");
            // The child ran under this supervisor; from now on it runs alone, as the service.
            stop_child(&mut child);
            return Err(exec(&staged.binary()));
        }
        if Instant::now() >= deadline {
            stop_child(&mut child);
            return roll_back(dir, file, too_late(&trial));
        }
        std::thread::sleep(TICK);
    }
}

/// Why a trial that ran out of time is rolled back.
fn too_late(trial: &state::Trial) -> String {
    format!(
        "{} did not report healthy within {} s",
        trial.version, trial.health_window_s
    )
}

fn start_child(staged: &Staged, version: &str) -> std::io::Result<Child> {
    let mut cmd = Command::new(staged.binary());
    cmd.args(std::env::args_os().skip(1))
        .env(TRIAL_ENV, version)
        .env(
            "OPTRALIS_AGENT_SUPERVISOR_PID",
            std::process::id().to_string(),
        )
        // The supervisor talks to systemd; the child's messages would not be its main pid's.
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID");
    if let Some(installed) = installed() {
        cmd.env(INSTALLED_ENV, installed);
    }
    cmd.spawn()
}

/// SIGTERM, then SIGKILL after the grace period.
fn stop_child(child: &mut Child) {
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
    let until = Instant::now() + STOP_GRACE;
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Puts the previous binary back, records why, and runs it.
fn roll_back(dir: &Path, mut file: UpdateFile, reason: String) -> Result<(), LaunchError> {
    let version = file.trial.take().map(|t| t.version).unwrap_or_default();
    tracing::error!(%version, %reason, "update rolled back");
    let failed = file.current.take();
    file.current = file.previous.take();
    file.set_last(&version, UpdateState::RolledBack, Some(reason));
    state::save(dir, &file)?;
    if let Some(failed) = failed {
        let _ = std::fs::remove_dir_all(&failed.dir);
    }
    failpoint("rolled-back");
    match previous_binary(&file) {
        Some(binary) => Err(exec(&binary)),
        // No installed binary known: this one is it.
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_newer_staged_release_replaces_this_binary() {
        assert!(super::newer_than_this("999.0.0"));
        assert!(!super::newer_than_this(super::AGENT_VERSION));
        assert!(
            !super::newer_than_this("0.0.1"),
            "a package upgraded past it runs itself"
        );
        assert!(!super::newer_than_this("not a version"));
    }
}
