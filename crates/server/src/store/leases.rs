//! Background jobs that run on one server at a time when several share a PostgreSQL
//! database: a session-level advisory lock held for one run, taken without waiting, so a
//! replica that finds it held skips that run. A server that dies mid-run loses its connection
//! and so its lock. SQLite has one server (the `serve` command locks the file), so there the
//! lease is always granted.

use sqlx::Postgres;
use sqlx::pool::PoolConnection;

use super::{Backend, Result, Store};

/// The jobs leased, each with its advisory lock key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Rollups,
    Retention,
    OfflineSweep,
    SessionPurge,
}

impl Job {
    /// "OPTR" and the job's number: keys no other application is likely to take.
    fn key(self) -> i64 {
        let n = match self {
            Job::Rollups => 1,
            Job::Retention => 2,
            Job::OfflineSweep => 3,
            Job::SessionPurge => 4,
        };
        0x4f50_5452_0000_0000 + n
    }

    pub fn name(self) -> &'static str {
        match self {
            Job::Rollups => "rollups",
            Job::Retention => "retention",
            Job::OfflineSweep => "offline sweep",
            Job::SessionPurge => "session purge",
        }
    }
}

/// The right to run one job once; [`Lease::release`] when done.
#[must_use = "a lease not released holds its job until its connection closes"]
pub struct Lease {
    job: Job,
    /// The connection holding the lock (none on SQLite).
    conn: Option<PoolConnection<Postgres>>,
}

impl Store {
    /// This server's turn at `job`, or None while another holds it.
    pub async fn try_lease(&self, job: Job) -> Result<Option<Lease>> {
        let Backend::Postgres(pool) = &self.backend else {
            return Ok(Some(Lease { job, conn: None }));
        };
        let mut conn = pool.acquire().await?;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(job.key())
            .fetch_one(&mut *conn)
            .await?;
        Ok(got.then_some(Lease {
            job,
            conn: Some(conn),
        }))
    }
}

impl Lease {
    /// Unlocks and returns the connection to the pool; when the unlock fails, the lease is
    /// dropped and its connection closed, which unlocks too.
    pub async fn release(mut self) -> Result<()> {
        if let Some(conn) = self.conn.as_mut() {
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(self.job.key())
                .execute(&mut **conn)
                .await?;
        }
        drop(self.conn.take());
        Ok(())
    }
}

impl Drop for Lease {
    /// Not released (an error or a cancelled task): the connection is closed rather than
    /// returned to the pool still holding the lock.
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            drop(conn.detach());
        }
    }
}
