//! The agent for Windows, cross-built and run on this Debian machine: Debian's cargo with
//! build-std (cross.rs) for `x86_64-pc-windows-gnu` into `target/windows`, linked by the mingw
//! gcc, its tests and the server's Windows test run by Wine in a prefix of the project's own.
//! `../shared/WINDOWS.md` in the design notes has the measurements behind this.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::proc;

pub const TARGET: &str = "x86_64-pc-windows-gnu";
const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";
pub const WINE: &str = "/usr/lib/wine/wine64";
const WINESERVER: &str = "/usr/lib/wine/wineserver64";

/// Debian packages that provide what this module and the Windows installer need, named when
/// one is missing. wine32 (for the installer, a 32-bit NSIS program) needs the i386
/// architecture: `dpkg --add-architecture i386 && apt-get update` first.
pub const PACKAGES: &str = "rustc-web cargo-web rust-web-src rust-web-clippy gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 wine64 wine32:i386 nsis";
const WINE32: &str = "/usr/lib/wine/wine";

pub fn target_dir() -> PathBuf {
    WINDOWS.target_dir()
}

/// Names what is missing, or nothing.
pub fn missing_tools() -> Vec<String> {
    let mut missing = crate::cross::missing_toolchain();
    for (path, what) in [
        (WINE, "Wine (wine64)"),
        (
            WINE32,
            "Wine's 32-bit loader, for the installer (wine32:i386)",
        ),
        (WINESERVER, "Wine's server (wine64)"),
    ] {
        if !Path::new(path).exists() {
            missing.push(format!("{what} at {path}"));
        }
    }
    for (tool, package) in [
        (MINGW_GCC, "gcc-mingw-w64-x86-64"),
        (
            "x86_64-w64-mingw32-g++",
            "g++-mingw-w64-x86-64, for smartctl.exe",
        ),
        ("makensis", "nsis, for the installer"),
    ] {
        if proc::which(tool).is_none() {
            missing.push(format!("{tool} ({package})"));
        }
    }
    missing
}

fn require_tools() -> Result<()> {
    let missing = missing_tools();
    if !missing.is_empty() {
        bail!(
            "the Windows build needs {}. On Debian: apt-get install --no-install-recommends {PACKAGES}",
            missing.join(", ")
        );
    }
    Ok(())
}

const WINDOWS: crate::cross::Target = crate::cross::Target {
    triple: TARGET,
    linker: MINGW_GCC,
    runner: WINE,
    dir: "windows",
};

/// Debian's cargo for the Windows target, its programs run by Wine in the project's prefix.
pub fn cargo() -> Result<Command> {
    require_tools()?;
    let mut c = crate::cross::cargo(&WINDOWS);
    c.env("WINEPREFIX", wine_prefix());
    c.env("WINEDEBUG", "-all");
    c.env("WINEDLLOVERRIDES", WINE_DLL_OVERRIDES);
    Ok(c)
}

/// `cargo xtask windows`: clippy for the target, the debug `.exe` and the agent's tests, run
/// under Wine. Returns the `.exe`.
pub fn check() -> Result<PathBuf> {
    println!("==> the agent for Windows: clippy -D warnings ({TARGET})");
    proc::status(cargo()?.args([
        "clippy",
        "-p",
        "optralis-agent",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    // All targets in one build: the tests' dependencies unify features with the binary's,
    // so the test run below reuses everything instead of building a second variant.
    println!("==> building optralis-agent.exe and its tests ({TARGET}, debug)");
    proc::status(cargo()?.args(["build", "-p", "optralis-agent", "--all-targets"]))?;
    prepare_wine()?;
    println!(
        "==> the agent's tests under Wine (unit, and the integration tests that are not Linux's)"
    );
    proc::status(cargo()?.args(["test", "-p", "optralis-agent"]))?;
    debug_exe()
}

/// The release `.exe`, for `cargo xtask dist`.
pub fn build_release() -> Result<PathBuf> {
    println!("==> building optralis-agent.exe ({TARGET}, release)");
    proc::status(cargo()?.args([
        "build",
        "--release",
        "-p",
        "optralis-agent",
        "--bin",
        "optralis-agent",
    ]))?;
    let exe = target_dir().join(TARGET).join("release/optralis-agent.exe");
    if !exe.is_file() {
        bail!("the build did not leave {}", exe.display());
    }
    Ok(exe)
}

/// The debug `.exe` the last build left.
pub fn debug_exe() -> Result<PathBuf> {
    let exe = target_dir().join(TARGET).join("debug/optralis-agent.exe");
    if !exe.is_file() {
        bail!("the build did not leave {}", exe.display());
    }
    Ok(exe)
}

pub fn wine_prefix() -> PathBuf {
    target_dir().join("wine")
}

/// Wine 8 lacks `bcryptprimitives!ProcessPrng`, which Rust's std imports for randomness:
/// without it every Rust `.exe` exits with status 53 before `main`. The stand-in (built here
/// from `xtask/wine/processprng.c`) is loaded instead of Wine's own. It exists for Wine only;
/// nothing shipped carries it.
pub const WINE_DLL_OVERRIDES: &str = "bcryptprimitives=n,b";

/// A Wine prefix of the project's own with the stand-in DLL in its `system32`. Idempotent.
pub fn prepare_wine() -> Result<()> {
    let prefix = wine_prefix();
    let system32 = prefix.join("drive_c/windows/system32");
    // A prefix made before wine32 was installed has no 32-bit half, which the installer (a
    // 32-bit NSIS program) needs, and `wineboot -u` does not add it: make it again.
    let wow64 = prefix.join("drive_c/windows/syswow64/kernel32.dll");
    if system32.join("kernel32.dll").exists() && !wow64.exists() {
        println!("==> the Wine prefix has no 32-bit half: making it again");
        std::fs::remove_dir_all(&prefix)?;
    }
    if !system32.join("kernel32.dll").exists() {
        println!("==> creating a Wine prefix in {}", prefix.display());
        std::fs::create_dir_all(&prefix)?;
        proc::status(
            Command::new(WINE)
                .args(["wineboot", "-i"])
                .env("WINEPREFIX", &prefix)
                .env("WINEDEBUG", "-all")
                .env("WINEDLLOVERRIDES", "mscoree,mshtml="),
        )?;
        proc::status(
            Command::new(WINESERVER)
                .arg("-w")
                .env("WINEPREFIX", &prefix),
        )?;
    }
    let dll = system32.join("bcryptprimitives.dll");
    let source = proc::root().join("xtask/wine/processprng.c");
    let fresh = match (std::fs::metadata(&dll), std::fs::metadata(&source)) {
        (Ok(d), Ok(s)) => d.modified()? >= s.modified()?,
        _ => false,
    };
    if !fresh {
        proc::status(
            Command::new(MINGW_GCC)
                .args(["-shared", "-O2", "-s", "-o"])
                .arg(&dll)
                .arg(&source)
                .arg("-ladvapi32"),
        )
        .context("building the ProcessPrng stand-in for Wine")?;
    }
    Ok(())
}
