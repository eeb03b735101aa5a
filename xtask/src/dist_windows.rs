//! The Windows half of `cargo xtask dist`: the agent's `.exe`, `smartctl.exe` built from
//! Debian's smartmontools source package with the mingw toolchain (GPL-2.0: its licence, a
//! note naming its source, and the source itself go with it), and the NSIS installer
//! (`crates/agent/packaging/windows/optralis-agent.nsi`) that carries them.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::proc;

/// The Debian release whose smartmontools is built, and where its source comes from.
const SUITE: &str = "bookworm";
const MIRROR: &str = "http://deb.debian.org/debian";

pub struct WindowsDist {
    pub exe: PathBuf,
    pub smartctl: PathBuf,
    pub smartmontools_source: PathBuf,
    pub installer: PathBuf,
}

/// Lays the Windows files into `dir` from the agent `.exe` given (release for a release,
/// the debug one the tests built for the test run).
pub fn build(dir: &Path, version: &str, agent_exe: &Path) -> Result<WindowsDist> {
    for (tool, package) in [
        ("makensis", "nsis"),
        ("x86_64-w64-mingw32-g++", "g++-mingw-w64-x86-64"),
        ("apt-get", "apt"),
    ] {
        if proc::which(tool).is_none() {
            bail!("{tool} is needed for the Windows installer (Debian: apt-get install {package})");
        }
    }
    let exe = dir.join(format!("optralis-agent-{version}-windows-x86_64.exe"));
    std::fs::copy(agent_exe, &exe)?;
    let smart = smartctl()?;
    let smartctl = dir.join(format!("smartctl-{}-windows-x86_64.exe", smart.version));
    std::fs::copy(&smart.exe, &smartctl)?;
    let smartmontools_source = dir.join(file_name(&smart.source));
    std::fs::copy(&smart.source, &smartmontools_source)?;

    let stage = tempfile::tempdir()?;
    let note = stage.path().join("SOURCE.txt");
    std::fs::write(
        &note,
        source_note(&smart, &file_name(&smartmontools_source)),
    )?;
    let installer = dir.join(format!("optralis-agent-{version}-windows-x86_64-setup.exe"));
    let script = proc::root().join("crates/agent/packaging/windows/optralis-agent.nsi");
    println!("==> makensis {}", file_name(&installer));
    let define = |name: &str, value: &Path| format!("-D{name}={}", value.display());
    proc::status(
        Command::new("makensis")
            .args(["-V2", "-INPUTCHARSET", "UTF8"])
            .arg(format!("-DVERSION={version}"))
            .arg(define("AGENT_EXE", &exe))
            .arg(define("SMARTCTL_EXE", &smart.exe))
            .arg(define("SMARTCTL_LICENSE", &smart.licence))
            .arg(define("SMARTCTL_SOURCE", &note))
            .arg(define("OUT_FILE", &installer))
            .arg(&script),
    )?;
    Ok(WindowsDist {
        exe,
        smartctl,
        smartmontools_source,
        installer,
    })
}

struct Smartctl {
    exe: PathBuf,
    licence: PathBuf,
    source: PathBuf,
    /// Debian's version of the source package, e.g. 7.3-1.
    debian_version: String,
    /// Upstream's, e.g. 7.3.
    version: String,
}

/// smartctl.exe, built once per source version and kept in the cache (~25 s to build).
fn smartctl() -> Result<Smartctl> {
    let cache = proc::cache_dir().join(format!("smartmontools-{SUITE}"));
    let source_dir = cache.join("source");
    std::fs::create_dir_all(&source_dir)?;
    let (dsc, orig) = match find_source(&source_dir)? {
        Some(found) => found,
        None => {
            download_source(&cache, &source_dir)?;
            find_source(&source_dir)?.context("apt-get source left no .dsc and .orig tarball")?
        }
    };
    let debian_version = file_name(&dsc)
        .trim_start_matches("smartmontools_")
        .trim_end_matches(".dsc")
        .to_owned();
    let version = debian_version
        .split('-')
        .next()
        .unwrap_or(&debian_version)
        .to_owned();
    let build = cache.join(format!("build-{debian_version}"));
    let tree = build.join(format!("smartmontools-{version}"));
    let stripped = build.join("smartctl.exe");
    if !stripped.is_file() {
        println!("==> building smartctl.exe from smartmontools {debian_version} (mingw)");
        let _ = std::fs::remove_dir_all(&build);
        std::fs::create_dir_all(&build)?;
        proc::status(
            Command::new("tar")
                .arg("-C")
                .arg(&build)
                .arg("-xf")
                .arg(&orig),
        )?;
        proc::status(
            Command::new("./configure")
                .args(["-q", "--host=x86_64-w64-mingw32"])
                .current_dir(&tree),
        )
        .context("configuring smartmontools for Windows")?;
        proc::status(
            Command::new("make")
                .args(["-s", "-j2", "smartctl.exe"])
                .current_dir(&tree),
        )?;
        proc::status(
            Command::new("x86_64-w64-mingw32-strip")
                .arg("-o")
                .arg(&stripped)
                .arg(tree.join("smartctl.exe")),
        )?;
    }
    Ok(Smartctl {
        exe: stripped,
        licence: tree.join("COPYING"),
        source: orig,
        debian_version,
        version,
    })
}

fn find_source(dir: &Path) -> Result<Option<(PathBuf, PathBuf)>> {
    let mut dsc = None;
    let mut orig = None;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = file_name(&path);
        if name.ends_with(".dsc") {
            dsc = Some(path);
        } else if name.contains(".orig.tar.") {
            orig = Some(path);
        }
    }
    Ok(dsc.zip(orig))
}

/// `apt-get source --download-only` with apt's lists and sources kept in the cache, so the
/// machine's own apt configuration is neither needed nor touched. apt checks the files
/// against the archive's signed index.
fn download_source(cache: &Path, into: &Path) -> Result<()> {
    println!("==> fetching Debian's smartmontools source ({SUITE})");
    let apt = cache.join("apt");
    for d in ["lists/partial", "cache/archives/partial"] {
        std::fs::create_dir_all(apt.join(d))?;
    }
    let sources = apt.join("sources.list");
    std::fs::write(&sources, format!("deb-src {MIRROR} {SUITE} main\n"))?;
    let options = [
        format!("Dir::Etc::SourceList={}", sources.display()),
        "Dir::Etc::SourceParts=/nonexistent".to_owned(),
        // Its files are ours, not the _apt user's: no sandbox to drop into.
        "APT::Sandbox::User=root".to_owned(),
        format!("Dir::State::Lists={}", apt.join("lists").display()),
        format!("Dir::Cache={}", apt.join("cache").display()),
    ];
    let apt_get = |args: &[&str]| {
        let mut c = Command::new("apt-get");
        c.arg("-qq");
        for o in &options {
            c.args(["-o", o]);
        }
        c.args(args).current_dir(into);
        c
    };
    proc::status(&mut apt_get(&["update"]))?;
    proc::status(&mut apt_get(&[
        "source",
        "--download-only",
        "smartmontools",
    ]))
}

fn source_note(s: &Smartctl, served_as: &str) -> String {
    format!(
        "smartctl.exe (smartmontools {version}) is free software under the GNU General Public\r\n\
         License, version 2 or later: see COPYING.txt beside this file.\r\n\
         \r\n\
         It was built without changes from Debian's source package smartmontools {debian}\r\n\
         ({served_as}) with the MinGW-w64 cross compiler:\r\n\
         ./configure --host=x86_64-w64-mingw32 && make smartctl.exe\r\n\
         \r\n\
         The same source is served by the Optralis server this agent was downloaded from, at\r\n\
         /downloads/{served_as}, and is in Debian's archive: https://sources.debian.org/src/smartmontools/{debian}/\r\n",
        version = s.version,
        debian = s.debian_version,
    )
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `cargo xtask installer-screenshot`: the installer's first page under Wine on a virtual
/// display (xvfb), saved as `docs/windows-installer.png` for the user guide. Needs the
/// installer (`cargo xtask dist`) and Debian's xvfb, x11-apps (xwd) and netpbm.
pub fn screenshot() -> Result<()> {
    for (tool, package) in [
        ("xvfb-run", "xvfb"),
        ("xwd", "x11-apps"),
        ("xwdtopnm", "netpbm"),
    ] {
        if proc::which(tool).is_none() {
            bail!("{tool} is needed for the screenshot (Debian: apt-get install {package})");
        }
    }
    let dist = proc::root().join("target/dist");
    let installer = std::fs::read_dir(&dist)
        .with_context(|| format!("{}: run cargo xtask dist first", dist.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| file_name(p).ends_with("-windows-x86_64-setup.exe"))
        .context("no installer in target/dist: run cargo xtask dist first")?;
    crate::windows::prepare_wine()?;
    let out = proc::root().join("docs/windows-installer.png");
    // The wizard opens in a few seconds; the display is captured, then everything stops.
    let script = format!(
        "/usr/lib/wine/wine '{}' & sleep 12; xwd -root -silent | xwdtopnm 2>/dev/null | pnmtopng > '{}'; \
         WINEPREFIX='{}' /usr/lib/wine/wineserver64 -k",
        installer.display(),
        out.display(),
        crate::windows::wine_prefix().display()
    );
    proc::status(
        Command::new("xvfb-run")
            .args(["-a", "-s", "-screen 0 640x480x24", "sh", "-c", &script])
            .env("WINEPREFIX", crate::windows::wine_prefix())
            .env("WINEDEBUG", "-all")
            .env("LANG", "en_US.UTF-8"),
    )?;
    println!("==> {}", out.display());
    Ok(())
}
