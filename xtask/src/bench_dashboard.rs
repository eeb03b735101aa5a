//! The dashboard's figures: initial JavaScript size, the fleet page with 5,000 machines
//! (time to show them, rows in the page, frame times while scrolling) and a 30-day chart's
//! render time, measured in headless Chromium against a release server on SQLite.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use optralis_proto::agent::ReportBatch;

use crate::bench::{enroll, enroll_key, http, start_server};
use crate::dashboard;

const EMAIL: &str = "bench@example.test";
const PASSWORD: &str = "orchid-lantern-meadow-9";

pub fn dashboard_bench(bin: &Path, machines: usize) -> Result<String> {
    let chromium = dashboard::chromium().context("the dashboard bench needs Chromium")?;
    let (mut server, url, dir, _) = start_server(bin, "sqlite")?;
    let data_dir = dir
        .as_ref()
        .context("a SQLite server has a data directory")?;
    let mut user = Command::new(bin.join("optralis"))
        .args(["user", "create", "--email", EMAIL, "--password-stdin"])
        .arg("--platform-admin")
        .arg("--data-dir")
        .arg(data_dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    user.stdin
        .take()
        .context("stdin")?
        .write_all(PASSWORD.as_bytes())?;
    if !user.wait()?.success() {
        bail!("could not create the bench user");
    }
    let key = enroll_key(bin, "sqlite", dir.as_ref(), None)?;

    println!("==> dashboard: enrolling {machines} machines, one report each");
    let client = http();
    let now = i64::try_from(std::time::UNIX_EPOCH.elapsed()?.as_millis())?;
    for i in 0..machines {
        let token = enroll(&client, &url, &key, &format!("dashboard-bench-{i:08}"), i)?;
        let batch = ReportBatch {
            sent_at_ms: None,
            reports: vec![optralis_proto::sample::report(1, now - (i as i64 % 50))],
            agent: None,
        };
        let resp = client
            .post(format!("{url}/api/v1/agent/reports"))
            .header("Authorization", format!("Bearer {token}"))
            .send_json(&batch)?;
        if resp.status() != 200 {
            bail!("report failed: {}", resp.status());
        }
    }
    server.check_alive()?;
    // localhost: the session cookie is Secure, which Chromium keeps on localhost only.
    let base = url.replace("127.0.0.1", "localhost");
    let out = crate::proc::output(
        Command::new("node")
            .arg("bench/run.mjs")
            .current_dir(dashboard::dir())
            .env("BENCH_BASE_URL", &base)
            .env("BENCH_EMAIL", EMAIL)
            .env("BENCH_PASSWORD", PASSWORD)
            .env("BENCH_MACHINES", machines.to_string())
            .env("E2E_CHROMIUM", &chromium),
    )?;
    server.stop();
    Ok(out)
}
