//! The Python the tests use, in a venv under target/: schemathesis (the API fuzzed against
//! its OpenAPI document) and aiosmtpd (the real SMTP server of the email channel test), both
//! pinned so a new release cannot change what CI checks.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};

use crate::proc;

const PACKAGES: &[&str] = &["schemathesis==4.32.5", "aiosmtpd==1.4.6"];

pub fn dir() -> PathBuf {
    proc::root().join("target/test-venv")
}

/// The venv's python, creating the venv and installing the packages on first use.
pub fn ensure() -> Result<PathBuf> {
    let python = dir().join("bin/python");
    let marker = dir().join(format!("installed-{}", PACKAGES.join("-")));
    if python.exists() && marker.exists() {
        return Ok(python);
    }
    let system_python = proc::which("python3").context(
        "the tests need Python 3 with venv: install python3 and python3-venv (Debian: \
         apt install python3-venv), then run this again",
    )?;
    println!(
        "==> installing {} into {}",
        PACKAGES.join(", "),
        dir().display()
    );
    proc::status(Command::new(system_python).args(["-m", "venv"]).arg(dir()))
        .context("python3 -m venv failed: install python3-venv")?;
    proc::status(
        Command::new(dir().join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(PACKAGES),
    )
    .context("pip install failed (PyPI must be reachable)")?;
    std::fs::write(&marker, "")?;
    Ok(python)
}
