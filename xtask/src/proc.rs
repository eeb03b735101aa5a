//! Process helpers: the workspace root, cargo, children that are stopped on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The workspace root. `cargo run` sets CARGO_MANIFEST_DIR for the running program too,
/// which stays right when the checkout has moved since xtask was built.
pub fn root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest.parent().map(Path::to_path_buf).unwrap_or_default()
}

pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

/// Builds the server and the agent with the release profile; returns where they are.
pub fn build_release() -> Result<PathBuf> {
    println!("==> building the server and the agent (release)…");
    status(cargo().args([
        "build",
        "--release",
        "-p",
        "optralis",
        "-p",
        "optralis-agent",
    ]))?;
    Ok(root().join("target/release"))
}

/// What the tasks download once and keep (~/.cache/optralis, shared by clones).
pub fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| root().join("target"))
        .join("optralis")
}

/// Runs a command to completion, failing with its name if it fails.
pub fn status(cmd: &mut Command) -> Result<()> {
    let what = format!("{cmd:?}");
    let st = cmd
        .status()
        .with_context(|| format!("cannot start {what}"))?;
    if !st.success() {
        bail!("{what} failed ({st})");
    }
    Ok(())
}

/// Output of a command that must succeed.
pub fn output(cmd: &mut Command) -> Result<String> {
    let what = format!("{cmd:?}");
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot start {what}"))?;
    if !out.status.success() {
        bail!("{what} failed ({})", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

/// A child process that gets SIGTERM (then SIGKILL) when dropped.
pub struct Guard {
    pub name: &'static str,
    pub child: Child,
}

impl Guard {
    pub fn spawn(name: &'static str, cmd: &mut Command) -> Result<Self> {
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        Ok(Self { name, child })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails if the process has already exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(st) = self.child.try_wait()? {
            bail!("{} exited ({st})", self.name);
        }
        Ok(())
    }

    pub fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `url` until it answers 200 or `timeout` passes.
pub fn wait_http_ok(url: &str, timeout: Duration, guard: &mut Guard) -> Result<()> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(2)))
        .http_status_as_error(false)
        .build()
        .into();
    let deadline = Instant::now() + timeout;
    loop {
        guard.check_alive()?;
        if let Ok(r) = agent.get(url).call()
            && r.status() == 200
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{url} did not answer within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
