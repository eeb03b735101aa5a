//! A PostgreSQL for the tests: the one at `OPTRALIS_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) when it answers, else a throw-away
//! server started from the local PostgreSQL binaries and removed afterwards.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::proc;

pub const URL_VAR: &str = "OPTRALIS_TEST_POSTGRES_URL";
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub struct Postgres {
    pub url: String,
    throwaway: Option<Throwaway>,
}

struct Throwaway {
    dir: tempfile::TempDir,
    pg_ctl: PathBuf,
    as_postgres: bool,
}

impl Postgres {
    pub fn is_throwaway(&self) -> bool {
        self.throwaway.is_some()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(t) = &self.throwaway {
            let mut cmd = t.command(&t.pg_ctl);
            cmd.arg("-D")
                .arg(t.dir.path().join("data"))
                .args(["-m", "fast", "stop"]);
            let _ = cmd.output();
        }
    }
}

impl Throwaway {
    fn command(&self, program: &std::path::Path) -> Command {
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }
}

/// `host:port` of a postgres URL.
fn host_port(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let hp = rest.split(['/', '?']).next()?;
    Some(if hp.contains(':') {
        hp.to_owned()
    } else {
        format!("{hp}:5432")
    })
}

fn reachable(url: &str) -> bool {
    host_port(url)
        .and_then(|hp| hp.to_socket_addrs().ok())
        .and_then(|mut a| a.next())
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
}

pub fn ensure() -> Result<Postgres> {
    let url = std::env::var(URL_VAR).unwrap_or_else(|_| DEFAULT_URL.to_owned());
    if reachable(&url) {
        drop_leftover_databases(&url);
        return Ok(Postgres {
            url,
            throwaway: None,
        });
    }
    println!("==> no PostgreSQL at {url}; starting a throw-away one");
    start_throwaway().with_context(|| {
        format!(
            "PostgreSQL is needed by the store tests and none answers at {url}.\n\
             Install the server (Debian/Ubuntu: apt-get install postgresql), start it, or set \
             {URL_VAR} to one you have."
        )
    })
}

fn find_bin(name: &str) -> Option<PathBuf> {
    if let Ok(dirs) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = dirs
            .flatten()
            .map(|d| d.path().join("bin").join(name))
            .filter(|p| p.is_file())
            .collect();
        versions.sort();
        if let Some(p) = versions.pop() {
            return Some(p);
        }
    }
    proc::which(name)
}

fn start_throwaway() -> Result<Postgres> {
    let (Some(initdb), Some(pg_ctl)) = (find_bin("initdb"), find_bin("pg_ctl")) else {
        bail!("no PostgreSQL server binaries (initdb, pg_ctl) found");
    };
    let dir = tempfile::Builder::new().prefix("optralis-pg-").tempdir()?;
    // PostgreSQL refuses to run as root: run it as the `postgres` user then.
    let as_postgres = is_root();
    if as_postgres {
        proc::status(
            Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path()),
        )
        .context("chown the throw-away data directory to postgres")?;
    }
    let t = Throwaway {
        dir,
        pg_ctl: pg_ctl.clone(),
        as_postgres,
    };
    let data = t.dir.path().join("data");
    proc::status(
        t.command(&initdb)
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8"])
            .stdout(std::process::Stdio::null()),
    )?;
    let port = proc::free_port()?;
    let opts = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
        t.dir.path().display()
    );
    proc::status(
        t.command(&pg_ctl)
            .arg("-D")
            .arg(&data)
            .args(["-o", &opts, "-w", "-l"])
            .arg(t.dir.path().join("log"))
            .arg("start")
            .stdout(std::process::Stdio::null()),
    )?;
    Ok(Postgres {
        url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        throwaway: Some(t),
    })
}

fn is_root() -> bool {
    proc::output(Command::new("id").arg("-u")).is_ok_and(|o| o.trim() == "0")
}

/// Test databases left by interrupted runs (each test creates its own `optralis_t_*`).
fn drop_leftover_databases(url: &str) {
    let Some(psql) = proc::which("psql") else {
        return;
    };
    let Ok(out) = Command::new(&psql)
        .args([
            url,
            "-Atc",
            "SELECT datname FROM pg_database WHERE datname LIKE 'optralis_t_%'",
        ])
        .output()
    else {
        return;
    };
    for db in String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
    {
        let _ = Command::new(&psql)
            .args([
                url,
                "-qc",
                &format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"),
            ])
            .output();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_and_port_of_urls() {
        assert_eq!(
            super::host_port("postgres://u:p@db:5433/x").as_deref(),
            Some("db:5433")
        );
        assert_eq!(
            super::host_port("postgres://postgres@127.0.0.1/postgres").as_deref(),
            Some("127.0.0.1:5432")
        );
    }
}
