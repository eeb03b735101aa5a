//! The database's disk filling up under ingest, on a real small filesystem (a tmpfs; for
//! PostgreSQL, a tablespace on one): reports are refused with 503 + Retry-After while it is
//! full, `/api/v1/health` says so, writes resume by themselves once space is freed, and after
//! a restart every acknowledged report is there and nothing else.

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use axum::http::StatusCode;
use std::sync::Arc;

use optralis::clock::{SharedClock, SystemClock};
use optralis::store::Store;
use optralis_proto::sample;
use serde_json::json;
use sqlx::Connection;

use crate::support::{Backend, T0, TestApp, TestDb, both_backends, postgres_admin_url};

both_backends!(acknowledged_reports_survive_a_full_disk);

/// A tmpfs mounted for one test, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `size` like `16m`; `owner` the uid that may write its root.
    fn mount(size: &str, owner: u32) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={size},uid={owner},mode=0700"))
            .arg("tmpfs")
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test fills a real small filesystem and needs root to mount a tmpfs: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the filesystem has no space left.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut f = std::fs::File::create(&path).expect("filler");
        let chunk = vec![0u8; 64 * 1024];
        loop {
            if f.write_all(&chunk).and_then(|()| f.sync_all()).is_err() {
                break;
            }
        }
        // Fill the last partial block too.
        while f.write_all(&[0u8; 512]).and_then(|()| f.sync_all()).is_ok() {}
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// A PostgreSQL server of the test's own: a tablespace that fills up, or that vanishes with
/// its filesystem when a test fails, must never endanger the shared server.
struct PrivatePostgres {
    dir: tempfile::TempDir,
    pg_ctl: PathBuf,
    as_postgres: bool,
    url: String,
}

impl PrivatePostgres {
    fn bin(name: &str) -> PathBuf {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's server in /usr/lib/postgresql (apt-get install postgresql)")
            .flatten()
            .map(|d| d.path().join("bin").join(name))
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        found
            .pop()
            .unwrap_or_else(|| panic!("no {name} in /usr/lib/postgresql/*/bin"))
    }

    /// `program` as the `postgres` user when the tests run as root (PostgreSQL refuses root).
    fn command(&self, program: &Path) -> Command {
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("optralis-pg-full-")
            .tempdir()
            .unwrap();
        let as_postgres = running_as_root();
        if as_postgres {
            let chown = Command::new("chown")
                .arg("postgres")
                .arg(dir.path())
                .status();
            assert!(
                chown.unwrap().success(),
                "chown the data directory to postgres"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pg = Self {
            pg_ctl: Self::bin("pg_ctl"),
            url: format!("postgres://postgres@127.0.0.1:{port}"),
            dir,
            as_postgres,
        };
        let data = pg.dir.path().join("data");
        let run = |cmd: &mut Command, what: &str| {
            let out = cmd.output().unwrap();
            assert!(
                out.status.success(),
                "{what}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(
            pg.command(&Self::bin("initdb")).arg("-D").arg(&data).args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ]),
            "initdb",
        );
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            pg.dir.path().display()
        );
        run(
            pg.command(&pg.pg_ctl)
                .arg("-D")
                .arg(&data)
                .args(["-o", &opts, "-w", "-l"])
                .arg(pg.dir.path().join("log"))
                .arg("start"),
            "pg_ctl start",
        );
        pg
    }

    /// The uid the server runs as: it must own its tablespace's directory.
    fn uid(&self) -> u32 {
        std::fs::metadata(self.dir.path().join("data"))
            .unwrap()
            .uid()
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = self
            .command(&self.pg_ctl)
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The small disk and, for PostgreSQL, the server using it. Fields drop in order: the
/// server stops before its tablespace's filesystem goes.
struct Setup {
    _postgres: Option<PrivatePostgres>,
    disk: SmallDisk,
}

/// Where each backend keeps its data on the small disk.
async fn database_on(backend: Backend, disk_size: &str) -> (Setup, TestDb) {
    match backend {
        Backend::Sqlite => {
            let disk = SmallDisk::mount(disk_size, 0);
            let url = format!("sqlite://{}", disk.path().join("optralis.db").display());
            let setup = Setup {
                _postgres: None,
                disk,
            };
            (setup, TestDb::existing(url))
        }
        Backend::Postgres => {
            let pg = PrivatePostgres::start();
            let disk = SmallDisk::mount(disk_size, pg.uid());
            let mut conn = sqlx::PgConnection::connect(&format!("{}/postgres", pg.url))
                .await
                .unwrap();
            for sql in [
                format!(
                    "CREATE TABLESPACE small LOCATION '{}'",
                    disk.path().display()
                ),
                "CREATE DATABASE optralis TABLESPACE small".to_owned(),
            ] {
                sqlx::query(&sql).execute(&mut conn).await.unwrap();
            }
            let url = format!("{}/optralis", pg.url);
            let setup = Setup {
                _postgres: Some(pg),
                disk,
            };
            (setup, TestDb::existing(url))
        }
    }
}

/// Sends reports `seqs` of one machine; returns the status and Retry-After.
async fn send(
    app: &TestApp,
    token: &str,
    seqs: std::ops::Range<u64>,
) -> (StatusCode, Option<String>) {
    let reports: Vec<_> = seqs
        .map(|s| sample::report(s, T0 - 3_600_000 + s as i64 * 1_000))
        .collect();
    let r = app
        .req("POST", "/api/v1/agent/reports")
        .token(token)
        .json(&json!({"reports": reports}))
        .send()
        .await;
    let retry = r
        .headers
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (r.status, retry)
}

/// The sequence numbers stored for a machine, read from the database itself.
async fn stored_seqs(backend: Backend, url: &str, machine: &str) -> BTreeSet<u64> {
    const SQL: &str = "SELECT seq FROM metrics_raw WHERE machine_id = $1";
    let seqs: Vec<i64> = match backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query_scalar(SQL)
                .bind(machine)
                .fetch_all(&mut conn)
                .await
                .unwrap()
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_scalar(SQL)
                .bind(machine)
                .fetch_all(&mut conn)
                .await
                .unwrap()
        }
    };
    seqs.into_iter().map(|s| s as u64).collect()
}

async fn health(app: &TestApp) -> (StatusCode, String) {
    let (status, body) = app.get("/api/v1/health", None).await;
    (status, body["status"].as_str().unwrap_or("").to_owned())
}

async fn acknowledged_reports_survive_a_full_disk(backend: Backend) {
    let (setup, db) = database_on(backend, "24m").await;
    let disk = &setup.disk;
    let url = db.url.clone();
    let app = TestApp::on(db).await;
    let mut machines = Vec::new();
    for i in 0..4 {
        let (id, token) = app.enroll(&format!("full-{i}")).await;
        machines.push((id, token, 1u64));
    }
    // What the server acknowledged, per machine.
    let mut acked: Vec<BTreeSet<u64>> = vec![BTreeSet::new(); machines.len()];
    const BATCH: u64 = 20;

    // Healthy: every batch stored.
    for _ in 0..3 {
        for (i, (_, token, next)) in machines.iter_mut().enumerate() {
            let (status, _) = send(&app, token, *next..*next + BATCH).await;
            assert_eq!(status, StatusCode::OK);
            acked[i].extend(*next..*next + BATCH);
            *next += BATCH;
        }
    }

    // Full: refused with 503 and Retry-After, never acknowledged unless stored. Agents keep
    // refused reports and send them again, so a refused batch is retried later.
    let filler = disk.fill();
    let mut refused = 0;
    for _ in 0..10 {
        for (i, (_, token, next)) in machines.iter_mut().enumerate() {
            let (status, retry) = send(&app, token, *next..*next + BATCH).await;
            match status {
                StatusCode::OK => {
                    acked[i].extend(*next..*next + BATCH);
                    *next += BATCH;
                }
                StatusCode::SERVICE_UNAVAILABLE => {
                    refused += 1;
                    assert!(retry.is_some(), "a 503 says when to retry");
                }
                other => panic!("unexpected status {other} while the disk is full"),
            }
        }
    }
    assert!(refused > 0, "the disk filled up but nothing was refused");
    assert_eq!(
        health(&app).await,
        (StatusCode::SERVICE_UNAVAILABLE, "disk full".to_owned())
    );

    // Space again: the same reports are accepted, with no restart.
    std::fs::remove_file(filler).unwrap();
    for (i, (_, token, next)) in machines.iter_mut().enumerate() {
        let (status, _) = send(&app, token, *next..*next + BATCH).await;
        assert_eq!(status, StatusCode::OK, "writes resume once space is freed");
        acked[i].extend(*next..*next + BATCH);
        *next += BATCH;
    }
    assert_eq!(health(&app).await, (StatusCode::OK, "ok".to_owned()));

    // A restart: exactly what was acknowledged is there.
    app.store.close().await;
    drop(app);
    let store = Store::connect(&url, Arc::new(SystemClock) as SharedClock)
        .await
        .unwrap();
    store.close().await;
    for (i, (id, _, _)) in machines.iter().enumerate() {
        let stored = stored_seqs(backend, &url, id).await;
        assert_eq!(
            stored.len(),
            acked[i].len(),
            "machine {i}: {} acknowledged, {} stored",
            acked[i].len(),
            stored.len()
        );
        assert_eq!(stored, acked[i]);
    }
    drop(setup);
}

/// PostgreSQL ends the server's connections (a restart, a failover, an administrator): the
/// requests caught in it get 503, never a hang, and the next ones are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_connections_are_replaced() {
    let app = TestApp::new(Backend::Postgres).await;
    let (id, token) = app.enroll("lost").await;
    assert_eq!(send(&app, &token, 1..11).await.0, StatusCode::OK);
    let url = app.db_url().to_owned();
    let name = url.rsplit('/').next().unwrap().to_owned();
    let mut admin = sqlx::PgConnection::connect(&postgres_admin_url())
        .await
        .unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
    )
    .bind(&name)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!ended.is_empty(), "the server had connections to end");
    let mut acked: BTreeSet<u64> = (1..11).collect();
    let mut next = 11;
    let mut stored_after = 0;
    for _ in 0..5 {
        let sent = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            send(&app, &token, next..next + 10),
        )
        .await
        .expect("an answer, not a hang");
        match sent.0 {
            StatusCode::OK => {
                acked.extend(next..next + 10);
                next += 10;
                stored_after += 1;
            }
            StatusCode::SERVICE_UNAVAILABLE => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert!(stored_after >= 4, "writes resume on new connections");
    assert_eq!(stored_seqs(Backend::Postgres, &url, &id).await, acked);
}
