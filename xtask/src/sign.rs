//! Signing what `cargo xtask dist` built (`--sign-key KEY`): each agent binary gets a
//! `.minisig` beside it, made by `optralis release sign` (one signing code path), for the
//! workspace's version, which CHANGELOG.md must describe.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::dist::Dist;
use crate::proc;

/// How to sign: the secret key, its password file (else asked for), the serial (else the
/// time).
pub struct SignWith {
    pub secret_key: PathBuf,
    pub password_file: Option<PathBuf>,
    pub serial: Option<u64>,
}

impl SignWith {
    pub fn from_args(args: &[String]) -> Result<Option<Self>> {
        let Some(key) = crate::flag(args, "--sign-key") else {
            return Ok(None);
        };
        let serial = crate::flag(args, "--serial")
            .map(|s| s.parse::<u64>().context("--serial: a whole number"))
            .transpose()?;
        Ok(Some(Self {
            secret_key: PathBuf::from(key),
            password_file: crate::flag(args, "--sign-password-file").map(PathBuf::from),
            serial,
        }))
    }
}

/// Whether `changelog` (Keep a Changelog) has a section for `version`: `## [0.2.0] - DATE`.
pub fn changelog_describes(changelog: &str, version: &str) -> bool {
    let heading = format!("## [{version}]");
    changelog.lines().any(|l| {
        l.strip_prefix(&heading)
            .is_some_and(|rest| rest.trim_start().starts_with("- ") && rest.len() > 3)
    })
}

/// Refuses a version CHANGELOG.md does not describe.
pub fn check_changelog(version: &str) -> Result<()> {
    let changelog =
        std::fs::read_to_string(proc::root().join("CHANGELOG.md")).context("CHANGELOG.md")?;
    if !changelog_describes(&changelog, version) {
        bail!(
            "CHANGELOG.md does not describe {version}: add a \"## [{version}] - YYYY-MM-DD\" \
             section with what changed before signing it"
        );
    }
    Ok(())
}

/// Signs the three agent binaries of `dist`; the signatures' paths.
pub fn sign(dist: &Dist, with: &SignWith) -> Result<Vec<PathBuf>> {
    check_changelog(&dist.version)?;
    println!(
        "==> signing {} with {}",
        dist.version,
        with.secret_key.display()
    );
    proc::status(proc::cargo().args(["build", "-p", "optralis", "--bin", "optralis"]))?;
    let optralis = proc::root().join("target/debug/optralis");
    let mut signed = Vec::new();
    for (binary, platform) in [
        (&dist.x86_64.binary, "linux-x86_64"),
        (&dist.aarch64.binary, "linux-aarch64"),
        (&dist.windows.exe, "windows-x86_64"),
    ] {
        let sig = signature_path(binary);
        let mut cmd = std::process::Command::new(&optralis);
        cmd.args(["release", "sign", "--secret-key"])
            .arg(&with.secret_key)
            .arg("--file")
            .arg(binary)
            .args(["--version", &dist.version, "--platform", platform, "--out"])
            .arg(&sig);
        if let Some(p) = &with.password_file {
            cmd.arg("--password-file").arg(p);
        }
        if let Some(s) = with.serial {
            cmd.args(["--serial", &s.to_string()]);
        }
        proc::status(&mut cmd)?;
        signed.push(sig);
    }
    Ok(signed)
}

/// For `cargo xtask test`: signs `dist` with a throw-away key as `dist --sign-key` would,
/// and has Debian's minisign verify each signature.
pub fn check(dist: &Dist) -> Result<()> {
    let dir = proc::root().join("target/dist-test-key");
    let _ = std::fs::remove_dir_all(&dir);
    proc::status(proc::cargo().args(["build", "-p", "optralis", "--bin", "optralis"]))?;
    let optralis = proc::root().join("target/debug/optralis");
    proc::status(
        std::process::Command::new(&optralis)
            .args(["release", "keygen", "--unencrypted", "--out"])
            .arg(&dir),
    )?;
    let with = SignWith {
        secret_key: dir.join("optralis-release.key"),
        password_file: None,
        serial: Some(1),
    };
    for sig in sign(dist, &with)? {
        let binary = PathBuf::from(sig.to_string_lossy().trim_end_matches(".minisig"));
        let out = proc::output(
            std::process::Command::new("minisign")
                .args(["-V", "-p"])
                .arg(dir.join("optralis-release.pub"))
                .arg("-m")
                .arg(&binary)
                .arg("-x")
                .arg(&sig),
        )?;
        let expected = format!("version={} platform=", dist.version);
        if !out.contains(&expected) {
            bail!("{}: minisign says {out:?}", sig.display());
        }
        println!(
            "    {}: {}",
            file_name(&sig),
            out.lines().last().unwrap_or("")
        );
    }
    Ok(())
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub fn signature_path(binary: &Path) -> PathBuf {
    let mut name = binary.as_os_str().to_owned();
    name.push(".minisig");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_described_only_by_its_own_dated_section() {
        let log = "# Changelog\n\n## [Unreleased]\n\n## [0.2.0] - 2026-12-07\n\n### Added\n- x\n\n\
                   ## [0.1.0] - 2026-11-24\n";
        assert!(changelog_describes(log, "0.2.0"));
        assert!(changelog_describes(log, "0.1.0"));
        assert!(!changelog_describes(log, "0.2.1"));
        assert!(!changelog_describes(log, "0.2"));
        assert!(
            !changelog_describes("## [0.3.0]\n", "0.3.0"),
            "a release has a date"
        );
        assert!(!changelog_describes(log, "Unreleased"));
    }

    #[test]
    fn the_workspace_version_is_in_the_changelog() {
        let log = std::fs::read_to_string(proc::root().join("CHANGELOG.md")).unwrap();
        assert!(changelog_describes(&log, env!("CARGO_PKG_VERSION")));
    }
}
