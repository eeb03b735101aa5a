//! The packages as a sysadmin meets them: lintian on each `.deb`, each `.rpm`'s file list and
//! architecture, the x86_64 `.deb` installed into a real Debian root made by debootstrap
//! (files, modes, the system user, the binary running there), then purged: nothing of it may
//! be left behind; and the aarch64 binary run under qemu-user. The server's `.deb` likewise,
//! with its conffile kept across a reinstall.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::dist::Dist;
use crate::proc;

/// The Debian release the packages are tried on, and where debootstrap fetches it from.
const SUITE: &str = "bookworm";
const MIRROR: &str = "http://deb.debian.org/debian";

pub fn check(d: &Dist) -> Result<()> {
    for (tool, package) in [
        ("lintian", "lintian"),
        ("debootstrap", "debootstrap"),
        ("rpm", "rpm"),
    ] {
        if proc::which(tool).is_none() {
            bail!("{tool} is needed to check the packages (Debian: apt-get install {package})");
        }
    }
    for linux in [&d.x86_64, &d.aarch64] {
        lintian(&linux.deb)?;
        rpm_files(&linux.rpm, linux.arch.rpm)?;
    }

    aarch64_runs(&d.aarch64.binary)?;
    let uid = proc::output(Command::new("id").arg("-u"))?;
    if uid.trim() != "0" {
        bail!(
            "checking the .deb installs it into a debootstrap root with chroot, which needs root \
             (CI runs as root): run the tests as root"
        );
    }
    install_in_debian_root(d)?;
    check_server_deb(&d.server_deb, &d.version)
}

/// `cargo xtask server-deb`: the server's package from the debug build, checked.
pub fn server_deb_only() -> Result<()> {
    crate::dashboard::build()?;
    proc::status(proc::cargo().args(["build", "-p", "optralis", "--bin", "optralis"]))?;
    let root = proc::root();
    let out = root.join("target/dist-server");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out)?;
    let version = crate::dist::workspace_version(&root)?;
    let deb = crate::dist_server::deb(&root.join("target/debug/optralis"), &version, &out)?;
    check_server_deb(&deb, &version)?;
    println!("==> {}", deb.display());
    Ok(())
}

/// lintian, then the package in a Debian root (needs root, for chroot).
fn check_server_deb(deb: &Path, version: &str) -> Result<()> {
    lintian(deb)?;
    let uid = proc::output(Command::new("id").arg("-u"))?;
    if uid.trim() != "0" {
        bail!("checking the server's .deb in a debootstrap root needs root (chroot)");
    }
    install_server_in_debian_root(deb, version)
}

fn lintian(deb: &Path) -> Result<()> {
    println!("==> lintian {}", deb.display());
    let out = Command::new("lintian")
        .args(["--fail-on", "error", "--tag-display-limit", "0"])
        .arg(deb)
        .output()
        .context("cannot run lintian")?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    if !out.status.success() {
        bail!(
            "lintian reports errors on {}:\n{}",
            deb.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// The aarch64 binary, run by qemu-user with Debian's aarch64 C library: `--version` and one
/// collection of this machine.
fn aarch64_runs(binary: &Path) -> Result<()> {
    let qemu = |args: &[&str]| {
        proc::output(
            Command::new("qemu-aarch64")
                .args(["-L", "/usr/aarch64-linux-gnu"])
                .arg(binary)
                .args(args),
        )
    };
    let version = qemu(&["--version"])?;
    let report = qemu(&["once", "--json"])?;
    if !version.starts_with("optralis-agent ") || !report.contains("\"memory\"") {
        bail!("the aarch64 agent under qemu said:\n{version}\n{report}");
    }
    println!("    aarch64: `{}` runs under qemu-user", version.trim());
    Ok(())
}

fn rpm_files(rpm: &Path, arch: &str) -> Result<()> {
    let built_for = proc::output(
        Command::new("rpm")
            .args(["-qp", "--queryformat", "%{ARCH}"])
            .arg(rpm),
    )?;
    if built_for.trim() != arch {
        bail!("{} is for {built_for}, not {arch}", rpm.display());
    }
    let list = proc::output(Command::new("rpm").arg("-qpl").arg(rpm))?;
    for wanted in [
        "/usr/bin/optralis-agent",
        "/usr/lib/systemd/system/optralis-agent.service",
        "/usr/lib/sysusers.d/optralis-agent.conf",
    ] {
        if !list.lines().any(|l| l == wanted) {
            bail!("{} lacks {wanted}:\n{list}", rpm.display());
        }
    }
    Ok(())
}

/// A minimal Debian root, made once (a few minutes, from the Debian mirror) and kept as a
/// tarball in the user's cache (~/.cache/optralis, shared by clones), unpacked afresh for
/// each check.
fn debian_root() -> Result<(tempfile::TempDir, PathBuf)> {
    let cache = proc::cache_dir().join(format!("debootstrap-{SUITE}-minbase.tar"));
    if !cache.is_file() {
        println!(
            "==> debootstrap {SUITE} (minbase, once; kept in {})",
            cache.display()
        );
        let build = tempfile::tempdir()?;
        proc::status(
            Command::new("debootstrap")
                .args(["--variant=minbase", SUITE])
                .arg(build.path())
                .arg(MIRROR),
        )?;
        std::fs::create_dir_all(cache.parent().unwrap_or(Path::new(".")))?;
        let partial = cache.with_extension("partial");
        proc::status(
            Command::new("tar")
                .arg("-C")
                .arg(build.path())
                .arg("-cf")
                .arg(&partial)
                .arg("."),
        )?;
        std::fs::rename(&partial, &cache)?;
    }
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("root");
    std::fs::create_dir_all(&root)?;
    proc::status(
        Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-xf")
            .arg(&cache),
    )?;
    Ok((dir, root))
}

/// Every file and folder under `root` with its mode, owner and size, but dpkg's own records
/// and the logs (they rightly remember the package came and went).
fn snapshot(root: &Path) -> Result<BTreeMap<PathBuf, (u32, u32, u64)>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            let rel = path.strip_prefix(root)?.to_owned();
            let ignored = ["var/lib/dpkg", "var/log", "var/cache", "tmp", "proc", "sys", "dev"]
                .iter()
                .any(|p| rel.starts_with(p))
                // useradd and userdel keep the previous passwd/group as `passwd-` and the like.
                || rel.to_string_lossy().ends_with('-');
            if ignored {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path)?;
            let size = if meta.is_file() { meta.len() } else { 0 };
            out.insert(rel, (meta.mode(), meta.uid(), size));
            if meta.is_dir() {
                stack.push(path);
            }
        }
    }
    Ok(out)
}

/// `dpkg --purge PACKAGE`, then the root as it was `before` the package came.
fn purge_leaves_nothing(
    root: &Path,
    package: &str,
    before: &BTreeMap<PathBuf, (u32, u32, u64)>,
) -> Result<()> {
    chroot(root, &["dpkg", "--purge", package])?;
    let after = snapshot(root)?;
    let left: Vec<_> = after.keys().filter(|p| !before.contains_key(*p)).collect();
    let changed: Vec<_> = before
        .iter()
        .filter(|(p, v)| after.get(*p).is_some_and(|a| a != *v))
        .map(|(p, _)| p)
        .collect();
    if !left.is_empty() || !changed.is_empty() {
        bail!("dpkg --purge {package} left {left:?} behind and changed {changed:?}");
    }
    println!("    purged: nothing left behind");
    Ok(())
}

/// Each path under `root` has its mode.
fn modes_are(root: &Path, want: &[(&str, u32)]) -> Result<()> {
    for (path, mode) in want {
        let got = std::fs::metadata(root.join(path))
            .with_context(|| format!("{path} is missing"))?
            .mode()
            & 0o7777;
        if got != *mode {
            bail!("{path}: mode {got:o}, expected {mode:o}");
        }
    }
    Ok(())
}

fn chroot(root: &Path, args: &[&str]) -> Result<String> {
    proc::output(
        Command::new("chroot")
            .arg(root)
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn install_in_debian_root(d: &Dist) -> Result<()> {
    let (_dir, root) = debian_root()?;
    let before = snapshot(&root)?;
    std::fs::copy(&d.x86_64.deb, root.join("tmp/agent.deb"))?;
    println!("==> dpkg -i in a {SUITE} root");
    chroot(&root, &["dpkg", "-i", "/tmp/agent.deb"])?;

    modes_are(
        &root,
        &[
            ("usr/bin/optralis-agent", 0o755),
            ("lib/systemd/system/optralis-agent.service", 0o644),
            ("usr/lib/sysusers.d/optralis-agent.conf", 0o644),
            ("usr/share/doc/optralis-agent/copyright", 0o644),
            ("usr/share/man/man1/optralis-agent.1.gz", 0o644),
        ],
    )?;
    let passwd = std::fs::read_to_string(root.join("etc/passwd"))?;
    let user = passwd
        .lines()
        .find(|l| l.starts_with("optralis-agent:"))
        .context("the package did not create the optralis-agent user")?;
    if !user.ends_with(":/var/lib/optralis-agent:/usr/sbin/nologin") {
        bail!("the system user is not a system account without login: {user}");
    }
    let group = std::fs::read_to_string(root.join("etc/group"))?;
    if !group.lines().any(|l| {
        l.starts_with("disk:")
            && l.split(':')
                .nth(3)
                .is_some_and(|m| m.split(',').any(|u| u == "optralis-agent"))
    }) {
        bail!("optralis-agent is not in the disk group:\n{group}");
    }
    let version = chroot(&root, &["/usr/bin/optralis-agent", "--version"])?;
    if !version.contains(&d.version) {
        bail!("optralis-agent --version in the {SUITE} root says {version:?}");
    }
    println!(
        "    installed: files, modes, user and `{}` are right",
        version.trim()
    );

    std::fs::remove_file(root.join("tmp/agent.deb"))?;
    purge_leaves_nothing(&root, "optralis-agent", &before)
}

/// The server's `.deb` in a fresh Debian root: its files and modes, its user, a conffile
/// readable by that user only, the binary running there (it migrates a database), an
/// upgrade keeping an edited configuration, and a purge leaving nothing.
fn install_server_in_debian_root(deb: &Path, version: &str) -> Result<()> {
    let (_dir, root) = debian_root()?;
    let before = snapshot(&root)?;
    std::fs::copy(deb, root.join("tmp/server.deb"))?;
    println!("==> dpkg -i the server in a {SUITE} root");
    chroot(&root, &["dpkg", "-i", "/tmp/server.deb"])?;
    modes_are(
        &root,
        &[
            ("usr/bin/optralis", 0o755),
            ("lib/systemd/system/optralis.service", 0o644),
            ("usr/lib/sysusers.d/optralis.conf", 0o644),
            ("etc/optralis/optralis.toml", 0o640),
            ("etc/optralis", 0o750),
            ("var/lib/optralis", 0o700),
            ("usr/share/man/man1/optralis.1.gz", 0o644),
        ],
    )?;
    let passwd = std::fs::read_to_string(root.join("etc/passwd"))?;
    let user = passwd
        .lines()
        .find(|l| l.starts_with("optralis:"))
        .context("the package did not create the optralis user")?;
    if !user.ends_with(":/var/lib/optralis:/usr/sbin/nologin") {
        bail!("the system user is not a system account without login: {user}");
    }
    let gid: u32 = user.split(':').nth(3).unwrap_or_default().parse()?;
    let config = std::fs::metadata(root.join("etc/optralis/optralis.toml"))?;
    if config.uid() != 0 || config.gid() != gid {
        bail!("optralis.toml is not root's with group optralis");
    }
    let out = chroot(
        &root,
        &[
            "/usr/bin/optralis",
            "migrate",
            "--config",
            "/etc/optralis/optralis.toml",
            "--data-dir",
            "/tmp/optralis-data",
        ],
    )?;
    if !out.contains("up to date") {
        bail!("optralis migrate in the {SUITE} root said {out:?}");
    }
    std::fs::remove_dir_all(root.join("tmp/optralis-data"))?;
    let said = chroot(&root, &["/usr/bin/optralis", "--version"])?;
    if !said.contains(version) {
        bail!("optralis --version in the {SUITE} root says {said:?}");
    }
    // An operator's edit survives reinstalling the package (a conffile).
    let edited = root.join("etc/optralis/optralis.toml");
    let mut text = std::fs::read_to_string(&edited)?;
    text.push_str("public_url = \"https://ops.example\"\n");
    std::fs::write(&edited, &text)?;
    chroot(&root, &["dpkg", "--force-confold", "-i", "/tmp/server.deb"])?;
    if std::fs::read_to_string(&edited)? != text {
        bail!("reinstalling the package replaced the edited optralis.toml");
    }
    println!("    installed: files, modes, user, conffile and `optralis migrate` are right");

    std::fs::remove_file(root.join("tmp/server.deb"))?;
    purge_leaves_nothing(&root, "optralis", &before)
}
