//! `cargo xtask bench`: measured figures for BENCHMARKS.md.
//!
//! - Ingest: N simulated agents (each report with 4 filesystems, 2 disks, 2 interfaces,
//!   gzip, one report per request, each agent sending as fast as it is answered) against a
//!   release server on SQLite, then on PostgreSQL: accepted reports/s, latency p50/p99,
//!   server CPU and peak RSS.
//! - Alert latency: a report crossing a threshold to the webhook receiver getting the
//!   notification (bench_alerts.rs).
//! - Dashboard: initial JavaScript, 5,000 machines on the fleet page, a 30-day chart, in
//!   headless Chromium (bench_dashboard.rs and dashboard/bench/run.mjs).
//! - Agent footprint: the release agent reporting every second, beside Prometheus
//!   node_exporter scraped every second, in the same run: RSS, CPU time per collection,
//!   binary size.
//!
//! Load generator and server share this machine's cores; the figures say so.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use optralis_proto::agent::{EnrollRequest, EnrollResponse, HostFacts, ReportBatch};

use crate::proc::{self, Guard};

pub fn bench(args: &[String]) -> Result<()> {
    let agents: usize = crate::flag(args, "--agents")
        .map_or(Ok(64), str::parse)
        .context("--agents")?;
    let seconds: u64 = crate::flag(args, "--seconds")
        .map_or(Ok(20), str::parse)
        .context("--seconds")?;
    let only = crate::flag(args, "--only");
    let batch: usize = crate::flag(args, "--batch")
        .map_or(Ok(1), str::parse)
        .context("--batch")?;

    if only.is_none_or(|o| o == "dashboard") {
        crate::dashboard::build()?;
    }
    let bin = proc::build_release()?;
    let mut out = String::new();
    out.push_str(&format!(
        "Machine: {} cores, {}; load generator on the same machine.\n\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        mem_total()
    ));

    if only.is_none_or(|o| o == "ingest") {
        out.push_str(&format!(
            "### Ingest: {agents} simulated agents, {seconds} s, one gzip report per request\n\n\
             | backend | accepted reports/s | p50 latency | p99 latency | server CPU | server peak RSS | load generator CPU |\n\
             |---|---|---|---|---|---|---|\n"
        ));
        for backend in ["sqlite", "postgres"] {
            let row = ingest(&bin, backend, agents, batch, Duration::from_secs(seconds))?;
            println!("{row}");
            out.push_str(&row);
            out.push('\n');
        }
        out.push('\n');
    }
    if only.is_none_or(|o| o == "alerts") {
        let rounds: usize = crate::flag(args, "--rounds")
            .map_or(Ok(100), str::parse)
            .context("--rounds")?;
        let row = crate::bench_alerts::alert_latency(&bin, rounds)?;
        println!("{row}");
        out.push_str(&row);
    }
    if only.is_none_or(|o| o == "dashboard") {
        let machines: usize = crate::flag(args, "--machines")
            .map_or(Ok(5000), str::parse)
            .context("--machines")?;
        out.push_str(&crate::bench_dashboard::dashboard_bench(&bin, machines)?);
    }
    if only.is_none_or(|o| o == "agent") {
        out.push_str(&footprint(&bin, Duration::from_secs(seconds.max(15)))?);
    }
    let path = proc::root().join("target/bench-results.md");
    std::fs::write(&path, &out)?;
    println!("\n{out}\n(written to {})", path.display());
    Ok(())
}

fn mem_total() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or_else(String::new, |kb| format!("{} GiB RAM", kb / 1024 / 1024))
}

/// CPU seconds (user + system) and peak RSS (bytes) of a process so far.
fn usage(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields after the command: state is 0, utime is 11, stime is 12.
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    (cpu, status_kb(pid, "VmHWM:") * 1024)
}

fn status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

pub fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into()
}

pub fn facts(i: usize) -> HostFacts {
    HostFacts {
        hostname: format!("bench-{i:05}"),
        os_name: "Debian GNU/Linux".into(),
        os_version: "12".into(),
        kernel_version: "6.1.0".into(),
        arch: "x86_64".into(),
        cpu_model: "Bench CPU".into(),
        cpu_physical_cores: Some(4),
        cpu_logical_cores: 4,
        agent_version: "bench".into(),
    }
}

/// Enrolls simulated machine `i` as an agent would; its machine token.
pub fn enroll(
    client: &ureq::Agent,
    url: &str,
    key: &str,
    fingerprint: &str,
    i: usize,
) -> Result<String> {
    let req = EnrollRequest {
        enroll_key: key.to_owned(),
        fingerprint: fingerprint.to_owned(),
        facts: facts(i),
        machine_token: None,
    };
    let mut resp = client
        .post(format!("{url}/api/v1/agent/enroll"))
        .send_json(&req)?;
    if resp.status() != 200 {
        bail!("enroll failed: {}", resp.body_mut().read_to_string()?);
    }
    Ok(resp.body_mut().read_json::<EnrollResponse>()?.machine_token)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = e.write_all(bytes);
    e.finish().unwrap_or_default()
}

pub fn start_server(
    bin: &Path,
    backend: &str,
) -> Result<(Guard, String, Option<tempfile::TempDir>, Option<String>)> {
    let port = proc::free_port()?;
    let listen = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(bin.join("optralis"));
    cmd.args(["serve", "--listen", &listen])
        .env(
            "RUST_LOG",
            std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
        )
        // The alert bench's webhook receiver listens on this machine.
        .env("OPTRALIS_NOTIFY_ALLOWED_NETWORKS", "127.0.0.0/8,::1")
        .stdout(Stdio::null());
    let (dir, db) = match backend {
        "sqlite" => {
            let dir = tempfile::tempdir()?;
            cmd.arg("--data-dir").arg(dir.path());
            (Some(dir), None)
        }
        _ => {
            let pg = crate::postgres::ensure()?;
            if pg.is_throwaway() {
                bail!(
                    "the PostgreSQL benchmark needs a running server (set {})",
                    crate::postgres::URL_VAR
                );
            }
            let name = format!("optralis_bench_{}", std::process::id());
            let psql =
                proc::which("psql").context("psql is needed to create the benchmark database")?;
            proc::status(Command::new(&psql).args([
                &pg.url,
                "-qc",
                &format!("DROP DATABASE IF EXISTS {name}"),
            ]))?;
            proc::status(Command::new(&psql).args([
                &pg.url,
                "-qc",
                &format!("CREATE DATABASE {name}"),
            ]))?;
            let base = pg
                .url
                .rsplit_once('/')
                .map_or(pg.url.as_str(), |(b, _)| b)
                .to_owned();
            cmd.args(["--database-url", &format!("{base}/{name}")]);
            (None, Some(name))
        }
    };
    let mut guard = Guard::spawn("server", &mut cmd)?;
    let url = format!("http://{listen}");
    proc::wait_http_ok(
        &format!("{url}/api/v1/health"),
        Duration::from_secs(30),
        &mut guard,
    )?;
    Ok((guard, url, dir, db))
}

pub fn enroll_key(
    bin: &Path,
    backend: &str,
    dir: Option<&tempfile::TempDir>,
    db: Option<&str>,
) -> Result<String> {
    let mut cmd = Command::new(bin.join("optralis"));
    cmd.args(["enroll-key", "create"]);
    match (backend, dir, db) {
        ("sqlite", Some(d), _) => {
            cmd.arg("--data-dir").arg(d.path());
        }
        (_, _, Some(name)) => {
            let url = std::env::var(crate::postgres::URL_VAR)
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let base = url
                .rsplit_once('/')
                .map_or(url.as_str(), |(b, _)| b)
                .to_owned();
            cmd.args(["--database-url", &format!("{base}/{name}")]);
        }
        _ => bail!("no database for {backend}"),
    }
    Ok(proc::output(&mut cmd)?
        .trim_end()
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned())
}

fn ingest(
    bin: &Path,
    backend: &str,
    agents: usize,
    batch: usize,
    duration: Duration,
) -> Result<String> {
    let (mut server, url, dir, db) = start_server(bin, backend)?;
    let key = enroll_key(bin, backend, dir.as_ref(), db.as_deref())?;
    let client = http();
    let mut tokens = Vec::new();
    for i in 0..agents {
        tokens.push(enroll(
            &client,
            &url,
            &key,
            &format!("bench-fingerprint-{i:08}"),
            i,
        )?);
    }

    // Bodies are made before the clock starts, so the load generator spends its CPU on
    // sending, not on JSON and gzip. Enough for 12,000 reports/s; an agent that runs out
    // stops early, which would show as a rate at that ceiling.
    let per_agent = (20_000 * duration.as_secs() as usize / agents.max(1) / batch).max(200);
    let base_ts =
        i64::try_from(std::time::UNIX_EPOCH.elapsed().map_or(0, |d| d.as_millis())).unwrap_or(0);
    println!(
        "==> {backend}: preparing {} report bodies",
        per_agent * agents
    );
    let make = |agent_range: std::ops::Range<usize>| -> Vec<Vec<Vec<u8>>> {
        agent_range
            .map(|_| {
                (0..per_agent as u64)
                    .map(|i| {
                        let reports = (1..=batch as u64)
                            .map(|k| {
                                let seq = i * batch as u64 + k;
                                optralis_proto::sample::report(seq, base_ts - 600_000 + seq as i64)
                            })
                            .collect();
                        // As today's agents send them: with their version and update
                        // status, which costs the server a rollout lookup per batch.
                        let batch = ReportBatch {
                            sent_at_ms: None,
                            reports,
                            agent: Some(optralis_proto::release::AgentStatus {
                                version: "0.1.0".into(),
                                platform: Some(optralis_proto::release::Platform::LinuxX86_64),
                                update: None,
                            }),
                        };
                        gzip(&serde_json::to_vec(&batch).unwrap_or_default())
                    })
                    .collect()
            })
            .collect()
    };
    let half = agents / 2;
    let bodies: Vec<Vec<Vec<u8>>> = std::thread::scope(|s| {
        let second = s.spawn(|| make(half..agents));
        let mut all = make(0..half);
        all.extend(second.join().unwrap_or_default());
        all
    });

    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<u32>::new()));
    let (cpu0, _) = usage(server.pid());
    let (self0, _) = usage(std::process::id());
    let started = Instant::now();
    let threads: Vec<_> = tokens
        .into_iter()
        .zip(bodies)
        .map(|(token, bodies)| {
            let (stop, accepted, errors, latencies, url) = (
                stop.clone(),
                accepted.clone(),
                errors.clone(),
                latencies.clone(),
                url.clone(),
            );
            std::thread::spawn(move || {
                let client = http();
                let mut local = Vec::new();
                for body in &bodies {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let t = Instant::now();
                    let resp = client
                        .post(format!("{url}/api/v1/agent/reports"))
                        .header("Authorization", format!("Bearer {token}"))
                        .header("Content-Type", "application/json")
                        .header("Content-Encoding", "gzip")
                        .send(&body[..]);
                    // Reading the reply to its end returns the connection to the pool.
                    let status = resp
                        .ok()
                        .map(|mut r| (r.status().as_u16(), r.body_mut().read_to_vec().is_ok()));
                    let micros = u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX);
                    match status {
                        Some((200, true)) => {
                            accepted.fetch_add(batch as u64, Ordering::Relaxed);
                            local.push(micros);
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                if let Ok(mut l) = latencies.lock() {
                    l.extend(local);
                }
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (cpu1, peak) = usage(server.pid());
    let (self1, _) = usage(std::process::id());
    server.check_alive()?;
    server.stop();
    drop(dir);
    if let Some(name) = db
        && let Some(psql) = proc::which("psql")
    {
        let url = std::env::var(crate::postgres::URL_VAR)
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let _ = Command::new(psql)
            .args([
                url.as_str(),
                "-qc",
                &format!("DROP DATABASE IF EXISTS {name}"),
            ])
            .output();
    }
    let mut lat = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let n = accepted.load(Ordering::Relaxed);
    let errs = errors.load(Ordering::Relaxed);
    Ok(format!(
        "| {backend} | {:.0}{} | {:.1} ms | {:.1} ms | {:.0} % of one core | {:.0} MiB | {:.0} % |",
        n as f64 / elapsed,
        if errs > 0 {
            format!(" ({errs} errors)")
        } else {
            String::new()
        },
        f64::from(pct(0.50)) / 1000.0,
        f64::from(pct(0.99)) / 1000.0,
        (cpu1 - cpu0) / elapsed * 100.0,
        peak as f64 / 1024.0 / 1024.0,
        (self1 - self0) / elapsed * 100.0,
    ))
}

fn file_size(p: &Path) -> String {
    std::fs::metadata(p).map_or_else(
        |_| "?".into(),
        |m| format!("{:.1} MiB", m.len() as f64 / 1024.0 / 1024.0),
    )
}

/// The agent reporting every second vs node_exporter scraped every second.
fn footprint(bin: &Path, duration: Duration) -> Result<String> {
    let (mut server, url, dir, _) = start_server(bin, "sqlite")?;
    let key = enroll_key(bin, "sqlite", dir.as_ref(), None)?;
    let state = tempfile::tempdir()?;
    let agent_bin = bin.join("optralis-agent");
    let mut agent = Guard::spawn(
        "agent",
        Command::new(&agent_bin)
            .args([
                "run",
                "--server",
                &url,
                "--enroll-key",
                &key,
                "--interval",
                "1s",
                "--state-dir",
            ])
            .arg(state.path())
            .env("RUST_LOG", "warn"),
    )?;

    let node_exporter = node_exporter_binary();
    let port = proc::free_port()?;
    let mut exporter = match &node_exporter {
        Some(p) => Some(Guard::spawn(
            "node_exporter",
            Command::new(p)
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )?),
        None => None,
    };
    if let Some(e) = exporter.as_mut() {
        proc::wait_http_ok(
            &format!("http://127.0.0.1:{port}/metrics"),
            Duration::from_secs(20),
            e,
        )?;
    }
    // Let the agent enroll and settle before measuring.
    std::thread::sleep(Duration::from_secs(3));
    let (agent_cpu0, _) = usage(agent.pid());
    let exporter_cpu0 = exporter.as_ref().map(|e| usage(e.pid()).0);
    let client = http();
    let started = Instant::now();
    let mut scrapes = 0u32;
    while started.elapsed() < duration {
        if exporter.is_some()
            && let Ok(mut r) = client
                .get(format!("http://127.0.0.1:{port}/metrics"))
                .call()
        {
            let _ = r.body_mut().read_to_vec();
            scrapes += 1;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let secs = started.elapsed().as_secs_f64();
    agent.check_alive()?;
    let (agent_cpu1, agent_peak) = usage(agent.pid());
    let agent_rss = status_kb(agent.pid(), "VmRSS:") * 1024;
    let collections = secs.floor().max(1.0);
    let mut table = format!(
        "### Agent footprint: one collection a second for {secs:.0} s\n\n\
         | program | RSS now | peak RSS | CPU per collection | binary size |\n|---|---|---|---|---|\n\
         | optralis-agent | {:.1} MiB | {:.1} MiB | {:.2} ms | {} |\n",
        agent_rss as f64 / 1048576.0,
        agent_peak as f64 / 1048576.0,
        (agent_cpu1 - agent_cpu0) * 1000.0 / collections,
        file_size(&agent_bin),
    );
    match (&exporter, node_exporter, exporter_cpu0) {
        (Some(e), Some(path), Some(c0)) => {
            let (c1, peak) = usage(e.pid());
            let rss = status_kb(e.pid(), "VmRSS:") * 1024;
            table.push_str(&format!(
                "| node_exporter ({}) | {:.1} MiB | {:.1} MiB | {:.2} ms | {} |\n",
                node_exporter_version(&path),
                rss as f64 / 1048576.0,
                peak as f64 / 1048576.0,
                (c1 - c0) * 1000.0 / f64::from(scrapes.max(1)),
                file_size(&path),
            ));
        }
        _ => table.push_str(
            "| node_exporter | not installed (apt-get install prometheus-node-exporter) | | | |\n",
        ),
    }
    agent.stop();
    server.stop();
    Ok(table)
}

fn node_exporter_binary() -> Option<PathBuf> {
    [
        "/usr/bin/prometheus-node-exporter",
        "/usr/sbin/prometheus-node-exporter",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
    .or_else(|| proc::which("node_exporter"))
}

fn node_exporter_version(path: &Path) -> String {
    Command::new(path)
        .arg("--version")
        .output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            })
            .into_owned()
        })
        .and_then(|s| s.split_whitespace().nth(2).map(str::to_owned))
        .unwrap_or_else(|| "version ?".into())
}
