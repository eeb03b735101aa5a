//! Developer entry points: `cargo xtask run | test | bench`.
//!
//! Plain std and a blocking HTTP client: the tasks start processes, wait for them, and
//! report; they own no logic the product needs.

mod bench;
mod bench_alerts;
mod bench_dashboard;
mod cross;
mod dashboard;
mod dist;
mod dist_check;
mod dist_server;
mod dist_windows;
mod postgres;
mod proc;
mod run;
mod schemathesis;
mod sign;
mod test;
mod venv;
mod windows;

use anyhow::{Result, bail};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  run [--port N] [--interval 10s]   build, start the server (SQLite) and an agent for this machine
  test                              formatting, lints, every test (starts PostgreSQL if needed),
                                    the dashboard's unit and browser tests, then schemathesis
  e2e                               only the dashboard's browser tests (builds what they need)
  dist [--check]                    the agent's release binary, .deb, .rpm (x86_64, aarch64), Windows .exe and installer,
       [--sign-key KEY]             smartctl.exe and its source, the server's .deb, SHA256SUMS in target/dist;
       [--sign-password-file F]     --check: lintian, and the .deb installed and purged in a Debian root;
       [--serial N]                 --sign-key: a .minisig beside each agent binary (optralis release
                                    sign; the version must be in CHANGELOG.md)
  server-deb                        the server's .deb alone (debug build, stripped) in target/dist-server,
                                    checked: lintian, installed, upgraded and purged in a Debian root
  windows                           the agent for Windows (x86_64-pc-windows-gnu): clippy, its unit
                                    tests under Wine, the debug .exe (Debian's rustc-web, mingw, Wine)
  installer-screenshot              the Windows installer's wizard under Wine and xvfb, into
                                    docs/windows-installer.png (after dist)
  schemathesis                      only the schemathesis run (installs it into target/ first)
  bench [--agents N] [--seconds S]  ingest throughput/latency (SQLite, PostgreSQL), alert latency,
        [--only ingest|alerts|dashboard|agent] [--machines N]
                                    dashboard figures in Chromium, agent footprint
";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("run") => run::run(rest),
        Some("test") => test::test(rest),
        Some("bench") => bench::bench(rest),
        Some("schemathesis") => schemathesis::run(),
        Some("e2e") => test::e2e_only(),
        Some("dist") => dist::dist(rest),
        Some("server-deb") => dist_check::server_deb_only(),
        Some("installer-screenshot") => dist_windows::screenshot(),
        Some("windows") => windows::check().map(|exe| println!("{}", exe.display())),
        Some("-h" | "--help" | "help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}

/// `--name value` from an argument list.
fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}
