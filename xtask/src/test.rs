//! `cargo xtask test`: everything CI checks, in the order that fails fastest.

use anyhow::{Result, bail};

use crate::dashboard;
use crate::postgres;
use crate::proc;

pub fn test(_args: &[String]) -> Result<()> {
    println!("==> cargo fmt --check");
    proc::status(proc::cargo().args(["fmt", "--all", "--check"]))?;
    require_tools()?;
    dashboard::lint()?;
    // First: the server embeds the dashboard's build, and its unit tests fail fast.
    dashboard::build()?;
    dashboard::unit_tests()?;
    println!("==> cargo clippy -D warnings");
    proc::status(proc::cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;

    // The agent for Windows: clippy for its target, its unit tests under Wine, and the .exe
    // the server's tests run under Wine.
    let windows_exe = crate::windows::check()?;
    // The packages and the Windows installer, which the server's tests install under Wine
    // (in a directory of their own: target/dist keeps what `cargo xtask dist` made).
    let aarch64 = crate::cross::build_aarch64_agent("debug")?;
    proc::status(proc::cargo().args(["build", "-p", "optralis", "--bin", "optralis"]))?;
    let dist = crate::dist::build(
        &windows_exe,
        &aarch64,
        &proc::root().join("target/debug/optralis"),
        &proc::root().join("target/dist-test"),
    )?;

    let pg = postgres::ensure()?;
    println!(
        "==> PostgreSQL for the tests: {}{}",
        pg.url,
        if pg.is_throwaway() {
            " (throw-away)"
        } else {
            ""
        }
    );

    let python = crate::venv::ensure()?;
    let (next_agent, _) = build_next_agent()?;
    let mut cmd = proc::cargo();
    if proc::which("cargo-nextest").is_some() {
        cmd.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        cmd.args(["test", "--workspace", "--no-fail-fast"]);
    }
    cmd.env(postgres::URL_VAR, &pg.url);
    cmd.env("OPTRALIS_TEST_PYTHON", &python);
    cmd.env("OPTRALIS_TEST_AGENT_NEXT", &next_agent);
    cmd.env("OPTRALIS_TEST_WINDOWS_AGENT", &windows_exe);
    cmd.env("OPTRALIS_TEST_WINDOWS_INSTALLER", &dist.windows.installer);
    cmd.env("WINEPREFIX", crate::windows::wine_prefix());
    cmd.env("WINEDEBUG", "-all");
    cmd.env("WINEDLLOVERRIDES", crate::windows::WINE_DLL_OVERRIDES);
    println!("==> tests (SQLite and PostgreSQL)");
    proc::status(&mut cmd)?;
    e2e_with_built_bins()?;
    println!("==> the agent's packages (cargo xtask dist --check)");
    crate::dist_check::check(&dist)?;
    println!(
        "==> the agent's release signatures (cargo xtask dist --sign-key), checked by minisign"
    );
    crate::sign::check(&dist)?;
    crate::schemathesis::run()
}

/// `cargo xtask e2e`: the dashboard's browser tests alone.
pub fn e2e_only() -> Result<()> {
    require_tools()?;
    dashboard::build()?;
    e2e_with_built_bins()
}

fn e2e_with_built_bins() -> Result<()> {
    proc::status(proc::cargo().args([
        "build",
        "-p",
        "optralis",
        "-p",
        "optralis-agent",
        "--bins",
    ]))?;
    let (next_agent, next_version) = build_next_agent()?;
    dashboard::e2e(
        &proc::root().join("target/debug"),
        &next_agent,
        &next_version,
    )
}

/// The version of the "next" agent the update tests roll out: above the workspace's.
const NEXT_AGENT_VERSION_SUFFIX: &str = "next";

/// The agent built again as a newer version (same code, `OPTRALIS_AGENT_VERSION` set), in
/// a profile of its own so that it does not rebuild over the ordinary build.
fn build_next_agent() -> Result<(std::path::PathBuf, String)> {
    let version = next_version(env!("CARGO_PKG_VERSION"))?;
    println!("==> the agent as version {version}, for the update tests");
    proc::status(
        proc::cargo()
            .args(["build", "-p", "optralis-agent", "--profile", "agent-next"])
            .env("OPTRALIS_AGENT_VERSION", &version),
    )?;
    Ok((
        proc::root().join("target/agent-next/optralis-agent"),
        version,
    ))
}

/// `0.1.0` -> `0.1.1-next`: above this version, below the next real patch release.
fn next_version(current: &str) -> Result<String> {
    let core = current.split(['-', '+']).next().unwrap_or(current);
    let parts: Vec<u64> = core
        .split('.')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("workspace version {current:?} is not MAJOR.MINOR.PATCH"))?;
    let [major, minor, patch] = parts[..] else {
        bail!("workspace version {current:?} is not MAJOR.MINOR.PATCH");
    };
    Ok(format!(
        "{major}.{minor}.{}-{NEXT_AGENT_VERSION_SUFFIX}",
        patch + 1
    ))
}

/// Programs the tests run, checked first so a missing one is named rather than failing a
/// test halfway. (PostgreSQL is handled by `postgres::ensure`.)
fn require_tools() -> Result<()> {
    let journal_remote = [
        "/lib/systemd/systemd-journal-remote",
        "/usr/lib/systemd/systemd-journal-remote",
    ]
    .iter()
    .any(|p| std::path::Path::new(p).is_file());
    let mut missing = Vec::new();
    if proc::which("journalctl").is_none() {
        missing.push("journalctl (Debian package systemd)");
    }
    if proc::which("openssl").is_none() {
        missing.push("openssl (Debian package openssl)");
    }
    if !journal_remote {
        missing.push("systemd-journal-remote (Debian package systemd-journal-remote)");
    }
    if proc::which("minisign").is_none() {
        missing.push("minisign (Debian package minisign, to verify release signatures by hand)");
    }
    if proc::which("npm").is_none() {
        missing.push("Node.js 20.19+ with npm (for the dashboard)");
    }
    // deploy/: checked offline (no Docker engine, no cluster) with the real tools.
    for (tool, what) in [
        (
            "docker-compose",
            "docker-compose (Debian package docker-compose, checks deploy/docker-compose.yml)",
        ),
        (
            "caddy",
            "caddy (Debian package caddy, runs deploy/Caddyfile)",
        ),
        ("yamllint", "yamllint (Debian package yamllint)"),
        (
            "kubectl",
            "kubectl (Debian package kubernetes-client, renders deploy/kubernetes with kustomize)",
        ),
    ] {
        if proc::which(tool).is_none() {
            missing.push(what);
        }
    }
    // The agent's service and packages: systemd's tools judge the unit and make the user;
    // the packages are built, linted and installed into a debootstrap root.
    for (tool, package) in [
        ("systemd-analyze", "systemd"),
        ("systemd-sysusers", "systemd"),
        ("dpkg-deb", "dpkg"),
        ("lintian", "lintian"),
        ("debootstrap", "debootstrap"),
        ("rpmbuild", "rpm"),
        ("help2man", "help2man"),
        ("shellcheck", "shellcheck"),
        ("curl", "curl"),
    ] {
        if proc::which(tool).is_none() {
            missing.push(match package {
                "systemd" => "systemd-analyze and systemd-sysusers (Debian package systemd)",
                "lintian" => "lintian (Debian package lintian)",
                "debootstrap" => "debootstrap (Debian package debootstrap)",
                "rpm" => "rpmbuild (Debian package rpm)",
                "help2man" => "help2man (Debian package help2man, the agent's manual page)",
                "shellcheck" => "shellcheck (Debian package shellcheck, for the install script)",
                "curl" => "curl (Debian package curl, the install script's download)",
                _ => "dpkg-deb (Debian package dpkg)",
            });
        }
    }
    if dashboard::chromium().is_none() {
        missing.push("chromium (Debian package chromium, for the dashboard's browser tests)");
    }
    let mut windows = crate::windows::missing_tools();
    windows.extend(crate::cross::missing_aarch64());
    windows.sort();
    windows.dedup();
    if !missing.is_empty() || !windows.is_empty() {
        let names: Vec<&str> = missing
            .iter()
            .copied()
            .chain(windows.iter().map(String::as_str))
            .collect();
        bail!(
            "the tests need: {}. On Debian: apt-get install systemd systemd-journal-remote openssl chromium nodejs npm lintian debootstrap rpm help2man shellcheck curl, and for the Windows and aarch64 agents: apt-get install --no-install-recommends {} {}",
            names.join(", "),
            crate::windows::PACKAGES,
            crate::cross::AARCH64_PACKAGES
        );
    }
    Ok(())
}
