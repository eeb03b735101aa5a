//! `cargo xtask dist`: the agent as users install it. Builds the release binary and lays out
//! `target/dist/`: the plain binary, a `.deb` (dpkg-deb) and an `.rpm` (rpmbuild) carrying the
//! binary, the hardened systemd unit and the sysusers file from
//! `crates/agent/packaging/linux/` (and, in the `.deb`, a manual page made by help2man from
//! `--help`), the Windows `.exe`, `smartctl.exe` and installer (dist_windows.rs), and
//! `SHA256SUMS`.
//!
//! x86_64 with the machine's Rust; aarch64 with Debian's Rust and the standard library built
//! from source (cross.rs), linked by gcc-aarch64-linux-gnu. The manual page is made from the
//! x86_64 binary's `--help` (the same text) for both.

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::proc;

const PACKAGE: &str = "optralis-agent";
const SUMMARY: &str = "Optralis monitoring agent: system metrics, S.M.A.R.T. and events";
const DESCRIPTION: &str = "The agent of Optralis, self-hosted infrastructure monitoring. It \
reports CPU, memory, filesystems, disk and network IO, temperatures, S.M.A.R.T. disk health and \
the system journal's warnings and errors to an Optralis server, keeps what it could not send \
on disk until the server is back, and runs as a hardened systemd service. After installing \
the package, enroll the machine with: optralis-agent install --server URL --enroll-key KEY";
const MAINTAINER: &str = "Optralis <packages@optralis.example>";
const HOMEPAGE: &str = "https://optralis.example";

/// One Linux architecture's names in each packaging system.
#[derive(Clone, Copy)]
pub struct Arch {
    /// Debian's (`amd64`, `arm64`).
    pub deb: &'static str,
    /// RPM's and uname's (`x86_64`, `aarch64`).
    pub rpm: &'static str,
}

pub const X86_64: Arch = Arch {
    deb: "amd64",
    rpm: "x86_64",
};
pub const AARCH64: Arch = Arch {
    deb: "arm64",
    rpm: "aarch64",
};

/// The Linux files of one architecture.
pub struct LinuxDist {
    pub arch: Arch,
    pub binary: PathBuf,
    pub deb: PathBuf,
    pub rpm: PathBuf,
}

/// What `dist` made.
pub struct Dist {
    pub dir: PathBuf,
    pub x86_64: LinuxDist,
    pub aarch64: LinuxDist,
    pub windows: crate::dist_windows::WindowsDist,
    /// The server's package (dist_server.rs).
    pub server_deb: PathBuf,
    pub version: String,
}

pub fn dist(args: &[String]) -> Result<()> {
    // Checked before the long build: a bad flag or an undescribed version fails at once.
    let sign_with = crate::sign::SignWith::from_args(args)?;
    if sign_with.is_some() {
        crate::sign::check_changelog(&workspace_version(&proc::root())?)?;
    }
    let windows_exe = crate::windows::build_release()?;
    let aarch64 = crate::cross::build_aarch64_agent("release")?;
    // The server embeds the dashboard's build.
    crate::dashboard::build()?;
    let server = proc::build_release()?.join("optralis");
    let d = build(
        &windows_exe,
        &aarch64,
        &server,
        &proc::root().join("target/dist"),
    )?;
    if args.iter().any(|a| a == "--check") {
        crate::dist_check::check(&d)?;
    }
    let signatures = match &sign_with {
        Some(with) => crate::sign::sign(&d, with)?,
        None => {
            println!("==> not signed (give --sign-key KEY to sign the agent binaries for updates)");
            Vec::new()
        }
    };
    println!("==> {}", d.dir.display());
    for f in d.files() {
        let size = std::fs::metadata(f)?.len();
        println!(
            "    {:<48} {:>6.1} MiB",
            file_name(f),
            size as f64 / 1048576.0
        );
    }
    for sig in &signatures {
        println!("    {}", file_name(sig));
    }
    println!("    SHA256SUMS");
    Ok(())
}

impl Dist {
    /// Everything `SHA256SUMS` lists.
    pub fn files(&self) -> [&PathBuf; 11] {
        [
            &self.x86_64.binary,
            &self.x86_64.deb,
            &self.x86_64.rpm,
            &self.aarch64.binary,
            &self.aarch64.deb,
            &self.aarch64.rpm,
            &self.windows.exe,
            &self.windows.installer,
            &self.windows.smartctl,
            &self.windows.smartmontools_source,
            &self.server_deb,
        ]
    }
}

/// Everything, into `dir`, with `windows_exe` and `aarch64_binary` as the Windows and
/// aarch64 agents and `server_binary` as the server (release for a release; the tests give
/// the debug builds they made, and their own directory).
pub fn build(
    windows_exe: &Path,
    aarch64_binary: &Path,
    server_binary: &Path,
    dir: &Path,
) -> Result<Dist> {
    for tool in ["dpkg-deb", "rpmbuild"] {
        if proc::which(tool).is_none() {
            bail!("{tool} is needed to build the packages (Debian: apt-get install dpkg-dev rpm)");
        }
    }
    println!("==> building the agent (release)");
    proc::status(proc::cargo().args(["build", "--release", "-p", PACKAGE]))?;
    let root = proc::root();
    let built = root.join("target/release").join(PACKAGE);
    let version = workspace_version(&root)?;
    let dir = dir.to_owned();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;

    let man = manual_page(&built)?;
    let linux = |arch: Arch, built: &Path| -> Result<LinuxDist> {
        let binary = dir.join(format!("{PACKAGE}-{version}-linux-{}", arch.rpm));
        std::fs::copy(built, &binary)?;
        set_mode(&binary, 0o755)?;
        // Release builds are stripped already; the tests' debug aarch64 build is not, and
        // lintian refuses unstripped binaries.
        proc::status(Command::new(strip_for(arch)).arg(&binary))?;
        Ok(LinuxDist {
            arch,
            deb: deb(&root, &binary, &man, &version, &dir, arch)?,
            rpm: rpm(&root, &binary, &version, &dir, arch)?,
            binary,
        })
    };
    let x86_64 = linux(X86_64, &built)?;
    let aarch64 = linux(AARCH64, aarch64_binary)?;
    let windows = crate::dist_windows::build(&dir, &version, windows_exe)?;
    let server_deb = crate::dist_server::deb(server_binary, &version, &dir)?;

    let d = Dist {
        dir,
        x86_64,
        aarch64,
        windows,
        server_deb,
        version,
    };
    let mut sums = String::new();
    for f in d.files() {
        writeln!(sums, "{}  {}", sha256_hex(f)?, file_name(f))?;
    }
    std::fs::write(d.dir.join("SHA256SUMS"), sums)?;
    Ok(d)
}

pub(crate) fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `version = "…"` of `[workspace.package]`.
pub(crate) fn workspace_version(root: &Path) -> Result<String> {
    let text = std::fs::read_to_string(root.join("Cargo.toml"))?;
    let after = text
        .split("[workspace.package]")
        .nth(1)
        .context("no [workspace.package] in Cargo.toml")?;
    after
        .lines()
        .find_map(|l| l.trim().strip_prefix("version = "))
        .map(|v| v.trim_matches('"').to_owned())
        .context("no version in [workspace.package]")
}

/// The files every package carries, as (path in the package, source, mode).
fn payload(root: &Path, binary: &Path) -> Vec<(&'static str, PathBuf, u32)> {
    let packaging = root.join("crates/agent/packaging/linux");
    vec![
        ("usr/bin/optralis-agent", binary.to_owned(), 0o755),
        (
            "lib/systemd/system/optralis-agent.service",
            packaging.join("optralis-agent.service"),
            0o644,
        ),
        (
            "usr/lib/sysusers.d/optralis-agent.conf",
            packaging.join("optralis-agent.sysusers"),
            0o644,
        ),
    ]
}

/// The system user, created by the package when it is installed: systemd-sysusers where
/// there is systemd, useradd elsewhere (a container's minimal root).
const CREATE_USER: &str = r#"if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers optralis-agent.conf
elif ! getent passwd optralis-agent >/dev/null; then
    useradd --system --home-dir /var/lib/optralis-agent --no-create-home \
        --shell /usr/sbin/nologin --user-group --comment "Optralis monitoring agent" optralis-agent
    for group in disk systemd-journal; do
        if getent group "$group" >/dev/null; then usermod -a -G "$group" optralis-agent; fi
    done
fi"#;

/// What purging removes besides the package's files: what `optralis-agent install` and the
/// service made (the unit it wrote and its credential drop-in, the config with the encrypted
/// machine token, the state), and the user.
const PURGE: &str = r#"rm -f /etc/systemd/system/optralis-agent.service
rm -rf /etc/systemd/system/optralis-agent.service.d /etc/optralis-agent /var/lib/optralis-agent
if getent passwd optralis-agent >/dev/null; then
    userdel optralis-agent || true
fi
if getent group optralis-agent >/dev/null; then
    groupdel optralis-agent || true
fi"#;

const RELOAD: &str = r#"if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
fi"#;

const STOP: &str = r#"if [ -d /run/systemd/system ]; then
    systemctl disable --now optralis-agent.service >/dev/null 2>&1 || true
fi"#;

fn deb(
    root: &Path,
    binary: &Path,
    man_page: &str,
    version: &str,
    out: &Path,
    arch: Arch,
) -> Result<PathBuf> {
    println!("==> .deb ({})", arch.deb);
    build_deb(
        &DebPackage {
            name: PACKAGE,
            version,
            arch: arch.deb,
            payload: payload(root, binary),
            binary,
            man_page,
            relations: "Depends: libc6 (>= {glibc}), passwd\nRecommends: smartmontools",
            summary: SUMMARY,
            description: DESCRIPTION,
            conffiles: &[],
            postinst: &format!("if [ \"$1\" = configure ]; then\n{CREATE_USER}\nfi\n{RELOAD}"),
            prerm: &format!("if [ \"$1\" = remove ] || [ \"$1\" = purge ]; then\n{STOP}\nfi"),
            postrm: &format!("if [ \"$1\" = purge ]; then\n{PURGE}\nfi\n{RELOAD}"),
        },
        out,
    )
}

/// One native Debian package (the agent's, the server's): its files, manual page, copyright
/// and changelog, control file and maintainer scripts.
pub(crate) struct DebPackage<'a> {
    pub name: &'a str,
    pub version: &'a str,
    /// Debian's architecture name.
    pub arch: &'a str,
    /// (path in the package, source, mode).
    pub payload: Vec<(&'static str, PathBuf, u32)>,
    /// The binary whose C library needs `{glibc}` in `relations` stands for.
    pub binary: &'a Path,
    pub man_page: &'a str,
    /// The control file's Depends/Recommends/Suggests lines.
    pub relations: &'a str,
    pub summary: &'a str,
    pub description: &'a str,
    pub conffiles: &'a [&'a str],
    pub postinst: &'a str,
    pub prerm: &'a str,
    pub postrm: &'a str,
}

/// `NAME_VERSION_ARCH.deb` in `out`, built with dpkg-deb.
pub(crate) fn build_deb(p: &DebPackage, out: &Path) -> Result<PathBuf> {
    let work = tempfile::tempdir()?;
    let stage = work.path().join("pkg");
    for (path, source, mode) in &p.payload {
        let to = stage.join(path);
        std::fs::create_dir_all(to.parent().unwrap_or(&stage))?;
        std::fs::copy(source, &to).with_context(|| format!("copy {}", source.display()))?;
        set_mode(&to, *mode)?;
    }
    let man = stage.join("usr/share/man/man1");
    std::fs::create_dir_all(&man)?;
    gzip(&man.join(format!("{}.1.gz", p.name)), p.man_page.as_bytes())?;
    let doc = stage.join("usr/share/doc").join(p.name);
    std::fs::create_dir_all(&doc)?;
    std::fs::write(doc.join("copyright"), copyright())?;
    gzip(
        // A native package (no Debian revision): its changelog is changelog.gz.
        &doc.join("changelog.gz"),
        format!(
            "{name} ({version}) stable; urgency=medium\n\n  * Release {version}.\n\n -- {MAINTAINER}  Thu, 03 Dec 2026 00:00:00 +0000\n",
            name = p.name,
            version = p.version,
        )
        .as_bytes(),
    )?;
    let control = stage.join("DEBIAN");
    std::fs::create_dir_all(&control)?;
    let installed_kib = dir_size(&stage)? / 1024;
    std::fs::write(
        control.join("control"),
        format!(
            "Package: {name}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: {MAINTAINER}\n\
             Installed-Size: {installed_kib}\n{relations}\nSection: admin\nPriority: optional\n\
             Homepage: {HOMEPAGE}\nDescription: {summary}\n{long}",
            name = p.name,
            version = p.version,
            arch = p.arch,
            relations = p.relations.replace("{glibc}", &glibc_needed(p.binary)?),
            summary = p.summary,
            long = debian_long_description(p.description),
        ),
    )?;
    if !p.conffiles.is_empty() {
        let list: String = p.conffiles.iter().map(|c| format!("{c}\n")).collect();
        std::fs::write(control.join("conffiles"), list)?;
    }
    for (name, body) in [
        ("postinst", p.postinst),
        ("prerm", p.prerm),
        ("postrm", p.postrm),
    ] {
        let path = control.join(name);
        std::fs::write(&path, format!("#!/bin/sh\nset -e\n{body}\n"))?;
        set_mode(&path, 0o755)?;
    }
    std::fs::write(control.join("md5sums"), md5sums(&stage)?)?;
    let deb = out.join(format!("{}_{}_{}.deb", p.name, p.version, p.arch));
    proc::status(
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zxz", "--build"])
            .arg(&stage)
            .arg(&deb),
    )?;
    Ok(deb)
}

fn rpm(root: &Path, binary: &Path, version: &str, out: &Path, arch: Arch) -> Result<PathBuf> {
    println!("==> .rpm ({})", arch.rpm);
    let top = tempfile::tempdir()?;
    let mut install = String::new();
    let mut files = String::new();
    for (path, source, mode) in payload(root, binary) {
        let path = path.replace("lib/systemd/system", "usr/lib/systemd/system");
        writeln!(
            install,
            "install -D -m {mode:o} {} %{{buildroot}}/{path}",
            source.display()
        )?;
        writeln!(files, "/{path}")?;
    }
    let spec = format!(
        "Name: {PACKAGE}\nVersion: {version}\nRelease: 1\nSummary: {SUMMARY}\nLicense: AGPL-3.0-only\n\
         URL: {HOMEPAGE}\nRecommends: smartmontools\nRequires(pre): shadow-utils\n\n\
         %description\n{DESCRIPTION}\n\n%install\n{install}\n\
         %post\n{CREATE_USER}\n{RELOAD}\n\n\
         %preun\nif [ $1 -eq 0 ]; then\n{STOP}\nfi\n\n\
         %postun\nif [ $1 -eq 0 ]; then\n{PURGE}\nfi\n{RELOAD}\n\n\
         %files\n%defattr(-,root,root,-)\n{files}"
    );
    let spec_path = top.path().join("optralis-agent.spec");
    std::fs::write(&spec_path, spec)?;
    proc::status(
        Command::new("rpmbuild")
            .arg("--define")
            .arg(format!("_topdir {}", top.path().display()))
            .args([
                "--define",
                "_build_id_links none",
                "--define",
                "debug_package %{nil}",
            ])
            // rpmbuild strips with the host's strip, which cannot read another architecture.
            .arg("--define")
            .arg(format!("__strip {}", strip_for(arch)))
            .args(["--target", arch.rpm, "-bb"])
            .arg(&spec_path),
    )?;
    let name = format!("{PACKAGE}-{version}-1.{}.rpm", arch.rpm);
    let built = top.path().join("RPMS").join(arch.rpm).join(&name);
    let rpm = out.join(name);
    std::fs::copy(&built, &rpm).with_context(|| format!("no {}", built.display()))?;
    Ok(rpm)
}

fn strip_for(arch: Arch) -> &'static str {
    if arch.rpm == AARCH64.rpm {
        "aarch64-linux-gnu-strip"
    } else {
        "strip"
    }
}

/// The manual page: help2man over `--help` and `--version`, with each command's own
/// `--help` and the files the agent uses as further sections.
fn manual_page(binary: &Path) -> Result<String> {
    if proc::which("help2man").is_none() {
        bail!("help2man is needed to write the manual page (Debian: apt-get install help2man)");
    }
    let mut include = String::from("[COMMAND OPTIONS]\n");
    for command in ["run", "install", "uninstall", "once", "smart", "events"] {
        let help = proc::output(Command::new(binary).args([command, "--help"]))?;
        writeln!(include, ".SS \"optralis-agent {command}\"\n.nf")?;
        for line in help.lines() {
            let line = line.replace('\\', "\\\\");
            if line.starts_with('.') || line.starts_with('\'') {
                writeln!(include, "\\&{line}")?;
            } else {
                writeln!(include, "{line}")?;
            }
        }
        writeln!(include, ".fi")?;
    }
    include.push_str(
        "[FILES]\n.TP\n.I /etc/optralis-agent/agent.toml\nThe configuration `install` writes \
         (server, labels, the release keys updates must be signed by; root's, mode \
         0640).\n.TP\n.I /var/lib/optralis-agent\nThe state: the enrollment and machine token \
         (mode 0600), the outbox of reports not yet sent, and update/ (staged releases).\n.TP\n\
         .I /lib/systemd/system/optralis-agent.service\nThe hardened unit.\n\
         [SEE ALSO]\n.BR systemctl (1),\n.BR journalctl (1),\n.BR smartctl (8)\n",
    );
    let file = tempfile::NamedTempFile::new()?;
    std::fs::write(file.path(), include)?;
    proc::output(
        Command::new("help2man")
            .args([
                "--no-info",
                "--section",
                "1",
                "--name",
                SUMMARY,
                "--include",
            ])
            .arg(file.path())
            .arg(binary),
    )
}

/// Debian's long description: each line indented by one space, empty lines as " .".
fn debian_long_description(text: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + word.len() + 1 > 79 {
            writeln!(out, " {line}").ok();
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        writeln!(out, " {line}").ok();
    }
    out
}

fn copyright() -> String {
    format!(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
         Upstream-Name: optralis\nSource: {HOMEPAGE}\n\n\
         Files: *\nCopyright: 2026 Optralis contributors\nLicense: AGPL-3.0-only\n \
         This program is free software: you can redistribute it and/or modify it under the\n \
         terms of the GNU Affero General Public License as published by the Free Software\n \
         Foundation, version 3.\n .\n \
         This program is distributed in the hope that it will be useful, but WITHOUT ANY\n \
         WARRANTY; without even the implied warranty of MERCHANTABILITY or FITNESS FOR A\n \
         PARTICULAR PURPOSE. See the GNU Affero General Public License for more details.\n .\n \
         You should have received a copy of the GNU Affero General Public License along with\n \
         this program. If not, see <https://www.gnu.org/licenses/>.\n"
    )
}

/// The highest `GLIBC_2.N` symbol version the binary asks for.
fn glibc_needed(binary: &Path) -> Result<String> {
    let bytes = std::fs::read(binary)?;
    let mut best = (2u32, 17u32);
    let needle = b"GLIBC_2.";
    let mut i = 0;
    while let Some(pos) = bytes[i..].windows(needle.len()).position(|w| w == needle) {
        let start = i + pos + needle.len();
        let digits: String = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .map(|&b| char::from(b))
            .collect();
        if let Ok(minor) = digits.parse::<u32>() {
            best = best.max((2, minor));
        }
        i = start;
    }
    Ok(format!("{}.{}", best.0, best.1))
}

fn md5sums(stage: &Path) -> Result<String> {
    let mut out = String::new();
    let mut files = Vec::new();
    walk(stage, &mut files)?;
    files.sort();
    for f in files {
        let rel = f.strip_prefix(stage)?;
        if rel.starts_with("DEBIAN") {
            continue;
        }
        let sum = proc::output(Command::new("md5sum").arg(&f))?;
        let hash = sum.split_whitespace().next().unwrap_or_default();
        writeln!(out, "{hash}  {}", rel.display())?;
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn dir_size(dir: &Path) -> Result<u64> {
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.iter().map(|f| Ok(std::fs::metadata(f)?.len())).sum()
}

fn gzip(path: &Path, content: &[u8]) -> Result<()> {
    // No name or time in the header, as `gzip -9n` (lintian checks).
    let file = std::fs::File::create(path)?;
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(file, flate2::Compression::best());
    gz.write_all(content)?;
    gz.finish()?;
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn sha256_hex(path: &Path) -> Result<String> {
    let out = proc::output(Command::new("sha256sum").arg(path))?;
    Ok(out.split_whitespace().next().unwrap_or_default().to_owned())
}
