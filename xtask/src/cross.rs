//! Cross builds with Debian's Rust (rustc-web 1.96 in /usr/bin) and the standard library built
//! from its sources (rust-web-src, `-Z build-std`): no toolchain or target download. The
//! Windows agent (windows.rs) and the aarch64 Linux agent (dist.rs) are built this way, each
//! into a target directory of its own (another compiler and RUSTC_BOOTSTRAP would rebuild the
//! native build's everything).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Result, bail};

use crate::proc;

const DEBIAN_CARGO: &str = "/usr/bin/cargo";
const STD_SOURCES: &str = "/usr/lib/rustlib/src/rust/library/Cargo.lock";

/// One target: its triple, the C toolchain that links it (and builds the C in aws-lc and
/// SQLite), and what runs its programs here.
pub struct Target {
    pub triple: &'static str,
    pub linker: &'static str,
    pub runner: &'static str,
    /// Under target/.
    pub dir: &'static str,
}

impl Target {
    pub fn target_dir(&self) -> PathBuf {
        proc::root().join("target").join(self.dir)
    }

    /// Where cargo leaves `name` built with `profile` ("debug", "release").
    pub fn artefact(&self, profile: &str, name: &str) -> PathBuf {
        self.target_dir().join(self.triple).join(profile).join(name)
    }
}

pub const AARCH64_LINUX: Target = Target {
    triple: "aarch64-unknown-linux-gnu",
    linker: "aarch64-linux-gnu-gcc",
    runner: "qemu-aarch64 -L /usr/aarch64-linux-gnu",
    dir: "aarch64",
};

/// Debian packages the aarch64 build and its check need.
pub const AARCH64_PACKAGES: &str =
    "rustc-web cargo-web rust-web-src gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user";

/// What is missing for Debian's cargo with build-std.
pub fn missing_toolchain() -> Vec<String> {
    let mut missing = Vec::new();
    for (path, what) in [
        (DEBIAN_CARGO, "Debian's cargo (cargo-web)"),
        ("/usr/bin/rustc", "Debian's rustc (rustc-web)"),
        ("/usr/bin/cargo-clippy", "Debian's clippy (rust-web-clippy)"),
        (STD_SOURCES, "the standard library's sources (rust-web-src)"),
    ] {
        if !std::path::Path::new(path).exists() {
            missing.push(format!("{what} at {path}"));
        }
    }
    missing
}

pub fn missing_aarch64() -> Vec<String> {
    let mut missing = missing_toolchain();
    for (tool, package) in [
        ("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"),
        ("qemu-aarch64", "qemu-user"),
    ] {
        if proc::which(tool).is_none() {
            missing.push(format!("{tool} ({package})"));
        }
    }
    if !std::path::Path::new("/usr/aarch64-linux-gnu/lib/libc.so.6").exists() {
        missing.push("the aarch64 C library (libc6-dev-arm64-cross)".to_owned());
    }
    missing
}

/// Debian's cargo, configured for `target`. rustup's cargo and rustc (1.95) cannot build
/// Debian's std sources (1.96), so /usr/bin goes first in PATH and rustup's variables go.
pub fn cargo(target: &Target) -> Command {
    let mut c = Command::new(DEBIAN_CARGO);
    c.current_dir(proc::root());
    for var in [
        "CARGO",
        "RUSTC",
        "RUSTDOC",
        "RUSTC_WRAPPER",
        "RUSTUP_TOOLCHAIN",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
    ] {
        c.env_remove(var);
    }
    let path = std::env::var("PATH").unwrap_or_default();
    c.env("PATH", format!("/usr/bin:{path}"));
    // build-std is unstable; Debian's compiler is a release, so it takes the bootstrap switch.
    c.env("RUSTC_BOOTSTRAP", "1");
    c.env("CARGO_TARGET_DIR", target.target_dir());
    // The cc crate (aws-lc, SQLite) compiles with the target's C compiler.
    c.env(
        format!("CC_{}", target.triple.replace('-', "_")),
        target.linker,
    );
    for setting in [
        format!("build.target=\"{}\"", target.triple),
        "unstable.build-std=[\"std\",\"panic_abort\"]".to_owned(),
        format!("target.{}.linker=\"{}\"", target.triple, target.linker),
        format!("target.{}.runner=\"{}\"", target.triple, target.runner),
    ] {
        c.args(["--config", &setting]);
    }
    c
}

/// The agent for aarch64 Linux with `profile` (debug for the tests, release for a release).
pub fn build_aarch64_agent(profile: &str) -> Result<PathBuf> {
    let missing = missing_aarch64();
    if !missing.is_empty() {
        bail!(
            "the aarch64 build needs {}. On Debian: apt-get install --no-install-recommends {AARCH64_PACKAGES}",
            missing.join(", ")
        );
    }
    println!(
        "==> building optralis-agent for {} ({profile})",
        AARCH64_LINUX.triple
    );
    let mut cmd = cargo(&AARCH64_LINUX);
    cmd.args(["build", "-p", "optralis-agent", "--bin", "optralis-agent"]);
    if profile == "release" {
        cmd.arg("--release");
    }
    proc::status(&mut cmd)?;
    let binary = AARCH64_LINUX.artefact(profile, "optralis-agent");
    if !binary.is_file() {
        bail!("the build did not leave {}", binary.display());
    }
    Ok(binary)
}
