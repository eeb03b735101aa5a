//! The web dashboard's side of `run` and `test`: npm packages, the production build the
//! server embeds, the unit tests, and the end-to-end tests in Chromium against a real server
//! and agent.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::proc::{self, Guard};

pub fn dir() -> PathBuf {
    proc::root().join("dashboard")
}

fn npm() -> Result<Command> {
    let Some(npm) = proc::which("npm") else {
        bail!(
            "the dashboard needs Node.js 20.19 or newer with npm (https://nodejs.org, or Debian's nodejs and npm packages when recent enough)"
        );
    };
    let mut cmd = Command::new(npm);
    cmd.current_dir(dir()).env("NO_UPDATE_NOTIFIER", "1");
    Ok(cmd)
}

/// `npm ci` when `node_modules` is missing or older than the lock file.
pub fn ensure_packages() -> Result<()> {
    let lock = dir().join("package-lock.json");
    let installed = dir().join("node_modules/.package-lock.json");
    let fresh = match (modified(&lock), modified(&installed)) {
        (Some(l), Some(i)) => i >= l,
        _ => false,
    };
    if !fresh {
        println!("==> npm ci (dashboard packages)");
        proc::status(npm()?.args(["ci", "--no-audit", "--no-fund"]))?;
    }
    Ok(())
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Type-checks and builds `dashboard/dist`, which the server's build embeds.
pub fn build() -> Result<()> {
    ensure_packages()?;
    println!("==> building the dashboard");
    proc::status(npm()?.args(["run", "build", "--silent"]))
}

/// Prettier and ESLint over the dashboard's sources, like `cargo fmt --check` and clippy.
pub fn lint() -> Result<()> {
    ensure_packages()?;
    println!("==> dashboard formatting (prettier --check) and lint (eslint)");
    proc::status(npm()?.args(["run", "format:check", "--silent"]))?;
    proc::status(npm()?.args(["run", "lint", "--silent"]))
}

pub fn unit_tests() -> Result<()> {
    println!("==> dashboard unit tests (Vitest)");
    proc::status(npm()?.args(["test", "--silent"]))
}

/// The Chromium the end-to-end tests drive: `OPTRALIS_CHROMIUM`, else Debian's.
pub fn chromium() -> Option<PathBuf> {
    std::env::var_os("OPTRALIS_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| proc::which("chromium"))
        .or_else(|| proc::which("chromium-browser"))
}

/// Starts a server (SQLite, fresh data directory) with an admin and a local agent reporting
/// every 2 s, then runs `dashboard/e2e/run.mjs` against it. The server holds `next_agent`
/// as a signed release of `next_version`, whose key the agent trusts: the updates page rolls
/// it out for real. Screenshots land in `dashboard/test-results/`.
pub fn e2e(debug_bin: &Path, next_agent: &Path, next_version: &str) -> Result<()> {
    let chromium = chromium().context(
        "the dashboard's end-to-end tests need Chromium (Debian: apt-get install chromium)",
    )?;
    let work = tempdir()?;
    let data_dir = work.join("server");
    std::fs::create_dir_all(&data_dir)?;
    let port = proc::free_port()?;
    let listen = format!("127.0.0.1:{port}");
    // localhost, not 127.0.0.1: Chromium keeps the Secure refresh cookie on localhost only.
    let url = format!("http://localhost:{port}");
    let (email, password) = ("admin@example.test", "browser-test-passphrase-42");
    let server_bin = debug_bin.join("optralis");
    let mut server = Guard::spawn(
        "server",
        Command::new(&server_bin)
            .args(["serve", "--listen", &listen, "--data-dir"])
            .arg(&data_dir)
            .env("OPTRALIS_ADMIN_EMAIL", email)
            .env("OPTRALIS_ADMIN_PASSWORD", password)
            // The channel test's receiver listens on this machine.
            .env("OPTRALIS_NOTIFY_ALLOWED_NETWORKS", "127.0.0.0/8,::1")
            .env("RUST_LOG", "warn")
            .env_remove("OPTRALIS_DATABASE_URL"),
    )?;
    proc::wait_http_ok(
        &format!("http://{listen}/api/v1/health"),
        Duration::from_secs(30),
        &mut server,
    )?;
    let key = proc::output(
        Command::new(&server_bin)
            .args(["enroll-key", "create", "--data-dir"])
            .arg(&data_dir),
    )?;
    let key = key.lines().last().unwrap_or_default().trim().to_owned();
    let agent_config = publish_release(&server_bin, &data_dir, &work, next_agent, next_version)?;
    let smartctl = fake_smartctl(&work)?;
    let mut agent = Guard::spawn(
        "agent",
        Command::new(debug_bin.join("optralis-agent"))
            .args([
                "run",
                "--server",
                &url,
                "--interval",
                "2s",
                "--enroll-key",
                &key,
            ])
            .args(["--smart-interval", "1h", "--smartctl"])
            .arg(&smartctl)
            .arg("--state-dir")
            .arg(work.join("agent"))
            .arg("--config")
            .arg(&agent_config)
            .env("RUST_LOG", "warn"),
    )?;
    println!(
        "==> dashboard end-to-end tests (Chromium {})",
        chromium.display()
    );
    let result = proc::status(
        npm()?
            .args(["run", "e2e", "--silent"])
            .env("E2E_BASE_URL", &url)
            .env("E2E_ADMIN_EMAIL", email)
            .env("E2E_ADMIN_PASSWORD", password)
            .env("E2E_CHROMIUM", &chromium)
            .env("E2E_AGENT_BIN", debug_bin.join("optralis-agent"))
            .env("E2E_NEXT_VERSION", next_version),
    );
    let alive = server.check_alive().and_then(|()| agent.check_alive());
    agent.stop();
    server.stop();
    let _ = std::fs::remove_dir_all(&work);
    result?;
    alive
}

/// Makes a release key, trusts it on the server, signs and publishes `next_agent` with it (the
/// operator's commands, as the user guide gives them) and writes an agent config trusting it.
fn publish_release(
    server_bin: &Path,
    data_dir: &Path,
    work: &Path,
    next_agent: &Path,
    version: &str,
) -> Result<PathBuf> {
    let keys = work.join("release-keys");
    let release = |args: &[&str]| -> Result<String> {
        let mut cmd = Command::new(server_bin);
        cmd.arg("release").args(args);
        proc::output(&mut cmd)
    };
    let path = |p: &Path| p.to_string_lossy().into_owned();
    release(&["keygen", "--out", &path(&keys), "--unencrypted"])?;
    let public = keys.join("optralis-release.pub");
    release(&[
        "trust",
        "--public-key",
        &path(&public),
        "--data-dir",
        &path(data_dir),
    ])?;
    let signature = work.join("next-agent.minisig");
    let platform = if cfg!(target_arch = "aarch64") {
        "linux-aarch64"
    } else {
        "linux-x86_64"
    };
    release(&[
        "sign",
        "--secret-key",
        &path(&keys.join("optralis-release.key")),
        "--file",
        &path(next_agent),
        "--version",
        version,
        "--platform",
        platform,
        "--out",
        &path(&signature),
    ])?;
    release(&[
        "publish",
        "--file",
        &path(next_agent),
        "--signature",
        &path(&signature),
        "--version",
        version,
        "--platform",
        platform,
        "--data-dir",
        &path(data_dir),
    ])?;
    let key_line = std::fs::read_to_string(&public)?
        .lines()
        .nth(1)
        .context("the public key file has no key line")?
        .trim()
        .to_owned();
    let config = work.join("agent.toml");
    std::fs::write(
        &config,
        format!("[update]\npublic_keys = [\"{key_line}\"]\n"),
    )?;
    Ok(config)
}

/// A stand-in for smartctl (test machines have no disks it can read): one SATA disk, answered
/// with the agent's own test output of a drive with pending sectors, so the machine page has
/// a disk with a warning to show.
fn fake_smartctl(work: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let device = proc::root().join("crates/agent/tests/fixtures/smartctl/ata-pending.json");
    let scan = r#"{"json_format_version": [1, 0], "smartctl": {"version": [7, 3], "exit_status": 0}, "devices": [{"name": "/dev/sda", "info_name": "/dev/sda [SAT]", "type": "sat", "protocol": "ATA"}]}"#;
    let script = format!(
        "#!/bin/sh\ncase \"$*\" in\n  *--scan-open*) echo '{scan}' ;;\n  *) cat '{}' ;;\nesac\n",
        device.display()
    );
    let path = work.join("smartctl");
    std::fs::write(&path, script)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(path)
}

fn tempdir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("optralis-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
