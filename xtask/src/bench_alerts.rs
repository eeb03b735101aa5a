//! Alert latency: from sending the report that crosses a threshold to a local webhook
//! receiver getting the notification, through the release server (SQLite), its alert
//! evaluation and its delivery queue. Each round crosses the threshold, waits for the
//! "firing" message, then clears it and waits for "resolved".

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use optralis_proto::agent::{EnrollRequest, EnrollResponse, ReportBatch};

use crate::proc;

/// A notification as the receiver saw it: its `event`, its `title`, when it arrived.
type Received = (String, String, Instant);

/// A webhook receiver on a local port.
fn receiver() -> Result<(u16, mpsc::Receiver<Received>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(match stream.try_clone() {
                    Ok(s) => s,
                    Err(_) => return,
                });
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0u8; length];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let at = Instant::now();
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                let event = v["event"].as_str().unwrap_or_default().to_owned();
                let title = v["title"].as_str().unwrap_or_default().to_owned();
                let _ = tx.send((event, title, at));
            });
        }
    });
    Ok((port, rx))
}

fn gzip_json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&serde_json::to_vec(v)?)?;
    Ok(e.finish()?)
}

fn now_ms() -> i64 {
    #[allow(clippy::disallowed_methods)] // a load generator's own clock
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub fn alert_latency(bin: &Path, rounds: usize) -> Result<String> {
    let (mut server, url, dir, _) = crate::bench::start_server(bin, "sqlite")?;
    let dir = dir.context("SQLite data directory")?;
    let data = dir.path().to_owned();
    let cli = |args: &[&str]| -> Result<String> {
        let out = proc::output(
            Command::new(bin.join("optralis"))
                .args(args)
                .arg("--data-dir")
                .arg(&data),
        )?;
        Ok(out.trim_end().lines().last().unwrap_or_default().to_owned())
    };
    let key = cli(&["enroll-key", "create"])?;
    let token = cli(&["token", "create", "--role", "admin", "--name", "bench"])?;
    let http = crate::bench::http();
    let auth = format!("Bearer {token}");
    let mut resp = http
        .post(format!("{url}/api/v1/agent/enroll"))
        .send_json(&EnrollRequest {
            enroll_key: key,
            fingerprint: "bench-alert-latency".into(),
            facts: crate::bench::facts(0),
            machine_token: None,
        })?;
    let enrolled: EnrollResponse = resp.body_mut().read_json()?;
    let (port, events) = receiver()?;

    // Only the rule measured: the default set is removed first.
    let mut rules = http
        .get(format!("{url}/api/v1/rules"))
        .header("Authorization", &auth)
        .call()?;
    let rules: serde_json::Value = rules.body_mut().read_json()?;
    for r in rules["rules"].as_array().into_iter().flatten() {
        http.delete(format!(
            "{url}/api/v1/rules/{}",
            r["id"].as_str().unwrap_or("")
        ))
        .header("Authorization", &auth)
        .call()?;
    }
    for (path, body) in [
        (
            "channels",
            serde_json::json!({"name": "bench", "kind": "webhook",
                "config": {"url": format!("http://127.0.0.1:{port}/hook"), "secret": "bench-secret-0123456789"}}),
        ),
        (
            "rules",
            serde_json::json!({"name": "bench cpu", "kind": "metric", "metric": "cpu.percent",
                "threshold": 90, "clear": 50, "severity": "critical"}),
        ),
    ] {
        let mut r = http
            .post(format!("{url}/api/v1/{path}"))
            .header("Authorization", &auth)
            .send_json(&body)?;
        if r.status() != 201 {
            bail!("POST /{path}: {}", r.body_mut().read_to_string()?);
        }
    }

    let mut seq = 0u64;
    let mut send = |cpu: f64| -> Result<Instant> {
        seq += 1;
        let mut report = optralis_proto::sample::report(seq, now_ms());
        report.cpu.percent = cpu;
        let batch = ReportBatch {
            sent_at_ms: Some(now_ms()),
            reports: vec![report],
            agent: None,
        };
        let started = Instant::now();
        let mut r = http
            .post(format!("{url}/api/v1/agent/reports"))
            .header(
                "Authorization",
                &format!("Bearer {}", enrolled.machine_token),
            )
            .header("Content-Encoding", "gzip")
            .header("Content-Type", "application/json")
            .send(&gzip_json(&batch)?[..])?;
        if r.status() != 200 {
            bail!("report refused: {}", r.body_mut().read_to_string()?);
        }
        Ok(started)
    };
    let wait = |want: &str| -> Result<Instant> {
        loop {
            let (event, title, at) = events
                .recv_timeout(Duration::from_secs(30))
                .with_context(|| format!("no {want} notification within 30 s"))?;
            if event == want && title.contains("bench cpu") {
                return Ok(at);
            }
        }
    };
    let mut firing = Vec::with_capacity(rounds);
    let mut resolved = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let sent = send(97.0)?;
        firing.push(wait("firing")?.duration_since(sent));
        let sent = send(10.0)?;
        resolved.push(wait("resolved")?.duration_since(sent));
    }
    server.stop();
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    let pct = |v: &mut Vec<Duration>, p: f64| {
        v.sort();
        let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
        ms(&v[i])
    };
    Ok(format!(
        "### Alert latency: report crossing a threshold → webhook receiver, {rounds} rounds, SQLite\n\n\
         | notification | p50 | p99 | max |\n|---|---|---|---|\n\
         | firing | {:.0} ms | {:.0} ms | {:.0} ms |\n\
         | resolved | {:.0} ms | {:.0} ms | {:.0} ms |\n\n",
        pct(&mut firing, 0.5),
        pct(&mut firing, 0.99),
        pct(&mut firing, 1.0),
        pct(&mut resolved, 0.5),
        pct(&mut resolved, 0.99),
        pct(&mut resolved, 1.0),
    ))
}
