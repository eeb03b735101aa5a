//! The server's `.deb` (x86_64): the binary, the hardened unit, the sysusers file and the
//! configuration from `crates/server/packaging/linux/`, a manual page from `--help`. The
//! configuration is a conffile (an upgrade keeps the operator's edits); purging removes the
//! data directory and the user.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, bail};

use crate::dist::{DebPackage, build_deb};
use crate::proc;

pub const PACKAGE: &str = "optralis";
const SUMMARY: &str = "self-hosted infrastructure monitoring server, with its dashboard";
const DESCRIPTION: &str = "The server of Optralis, self-hosted infrastructure monitoring. It \
enrolls agents, stores their metrics, disk health and system events (embedded SQLite or \
PostgreSQL), scores and alerts on them, sends notifications and serves the web dashboard and \
the REST API. The package runs it as a hardened systemd service; configure it in \
/etc/optralis/optralis.toml and start it with: systemctl enable --now optralis";

/// The files the package carries, as (path in the package, source, mode).
fn payload(root: &Path, binary: &Path) -> Vec<(&'static str, PathBuf, u32)> {
    let packaging = root.join("crates/server/packaging/linux");
    vec![
        ("usr/bin/optralis", binary.to_owned(), 0o755),
        (
            "lib/systemd/system/optralis.service",
            packaging.join("optralis.service"),
            0o644,
        ),
        (
            "usr/lib/sysusers.d/optralis.conf",
            packaging.join("optralis.sysusers"),
            0o644,
        ),
        (
            // 0640 once its group exists (postinst): it may come to hold a database URL.
            "etc/optralis/optralis.toml",
            packaging.join("optralis.toml"),
            0o644,
        ),
    ]
}

/// The user, the configuration readable by it (root's, group optralis), its data directory.
const CONFIGURE: &str = r#"if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers optralis.conf
elif ! getent passwd optralis >/dev/null; then
    useradd --system --home-dir /var/lib/optralis --no-create-home \
        --shell /usr/sbin/nologin --user-group --comment "Optralis monitoring server" optralis
fi
chown root:optralis /etc/optralis /etc/optralis/optralis.toml
chmod 0750 /etc/optralis
chmod 0640 /etc/optralis/optralis.toml
# The state directory before the first start, for the CLI (systemd keeps it as it is).
install -d -o optralis -g optralis -m 0700 /var/lib/optralis"#;

const PURGE: &str = r#"rm -rf /etc/optralis /var/lib/optralis
if getent passwd optralis >/dev/null; then
    userdel optralis || true
fi
if getent group optralis >/dev/null; then
    groupdel optralis || true
fi"#;

const RELOAD: &str = r#"if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
fi"#;

/// An upgrade ($2: the version before) restarts a running server on the new binary, which
/// migrates the database.
const RESTART_ON_UPGRADE: &str = r#"if [ -n "$2" ] && [ -d /run/systemd/system ]; then
    systemctl try-restart optralis.service || true
fi"#;

const STOP: &str = r#"if [ -d /run/systemd/system ]; then
    systemctl disable --now optralis.service >/dev/null 2>&1 || true
fi"#;

/// `optralis_VERSION_amd64.deb` in `out`, around `binary` (a stripped copy).
pub fn deb(binary: &Path, version: &str, out: &Path) -> Result<PathBuf> {
    println!("==> the server's .deb (amd64)");
    let work = tempfile::tempdir()?;
    let stripped = work.path().join("optralis");
    std::fs::copy(binary, &stripped)?;
    proc::status(Command::new("strip").arg(&stripped))?;
    build_deb(
        &DebPackage {
            name: PACKAGE,
            version,
            arch: "amd64",
            payload: payload(&proc::root(), &stripped),
            binary: &stripped,
            man_page: &manual_page(&stripped)?,
            relations: "Depends: libc6 (>= {glibc}), passwd\nSuggests: postgresql, caddy",
            summary: SUMMARY,
            description: DESCRIPTION,
            conffiles: &["/etc/optralis/optralis.toml"],
            postinst: &format!(
                "if [ \"$1\" = configure ]; then\n{CONFIGURE}\nfi\n{RELOAD}\nif [ \"$1\" = configure ]; then\n{RESTART_ON_UPGRADE}\nfi"
            ),
            prerm: &format!("if [ \"$1\" = remove ] || [ \"$1\" = purge ]; then\n{STOP}\nfi"),
            postrm: &format!("if [ \"$1\" = purge ]; then\n{PURGE}\nfi\n{RELOAD}"),
        },
        out,
    )
}

/// help2man over `--help`, with the files the service uses.
fn manual_page(binary: &Path) -> Result<String> {
    if proc::which("help2man").is_none() {
        bail!("help2man is needed to write the manual page (Debian: apt-get install help2man)");
    }
    let include = "[FILES]\n.TP\n.I /etc/optralis/optralis.toml\nThe service's configuration \
        (root's, group optralis, mode 0640).\n.TP\n.I /etc/optralis/optralis.env\nSecrets as \
        variables, read by the service when present.\n.TP\n.I /var/lib/optralis\nThe embedded \
        database and secret.key.\n.TP\n.I /lib/systemd/system/optralis.service\nThe hardened \
        unit.\n[SEE ALSO]\n.BR optralis-agent (1),\n.BR systemctl (1)\n";
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
