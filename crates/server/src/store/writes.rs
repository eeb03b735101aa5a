//! Whether the database takes writes: failures sorted into "retry later" (a full disk, a lost
//! connection) and the rest, the disk-full state that `/api/v1/health` reports, and the pool
//! rule that no connection goes back into service inside a failed transaction.
//!
//! Why the last one matters: when SQLite's COMMIT fails (SQLITE_FULL), sqlx still counts the
//! transaction as open, so the next `begin` on that connection becomes a SAVEPOINT inside a
//! transaction that is never committed, and every later "commit" only releases the savepoint:
//! writes are answered as stored while nothing reaches the file. Such a connection is closed
//! and the pool opens a fresh one.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};

use sqlx::Connection;
use sqlx::pool::PoolConnectionMetadata;

use super::StoreError;

/// What a database error means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// No space left for the database: nothing was written.
    DiskFull,
    /// The database is unreachable or refuses work for now.
    Unavailable,
    /// Anything else (a bug, a constraint, corrupt data).
    Other,
}

/// SQLite's primary result codes (the low byte of an extended code).
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_READONLY: i64 = 8;
const SQLITE_IOERR: i64 = 10;
const SQLITE_FULL: i64 = 13;
const SQLITE_CANTOPEN: i64 = 14;

pub(super) fn classify(e: &sqlx::Error) -> Failure {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Failure::Unavailable,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                postgres_failure(&code)
            } else {
                sqlite_failure(code.parse().unwrap_or(0))
            }
        }
        _ => Failure::Other,
    }
}

/// PostgreSQL SQLSTATEs that a retry can cure: class 53 (insufficient resources; 53100 is
/// disk full), class 08 (connection exception) and 57P01–57P03 (shutting down, starting).
fn postgres_failure(sqlstate: &str) -> Failure {
    match sqlstate {
        "53100" => Failure::DiskFull,
        s if s.starts_with("53") || s.starts_with("08") => Failure::Unavailable,
        "57P01" | "57P02" | "57P03" => Failure::Unavailable,
        _ => Failure::Other,
    }
}

/// SQLite result codes, extended or not (the primary code is the low byte).
fn sqlite_failure(code: i64) -> Failure {
    match code & 0xff {
        SQLITE_FULL => Failure::DiskFull,
        SQLITE_BUSY | SQLITE_LOCKED | SQLITE_READONLY | SQLITE_IOERR | SQLITE_CANTOPEN => {
            Failure::Unavailable
        }
        _ => Failure::Other,
    }
}

/// The disk-full state of the report writer: logged once when it starts and once when it
/// ends, and shown by `/api/v1/health`.
#[derive(Debug, Default)]
pub struct WriteHealth {
    /// When a write last failed for want of space (0: the last write worked).
    full_at_ms: AtomicI64,
}

/// A disk-full failure older than this no longer makes the health check fail: a load
/// balancer that took the server out on it would otherwise keep every report, and so the
/// write that shows the space is back, away for ever.
const FULL_REPORTED_FOR_MS: i64 = 60_000;

impl WriteHealth {
    /// A write failed for want of disk space within the last minute, and none worked since.
    pub fn disk_full(&self, now_ms: i64) -> bool {
        let at = self.full_at_ms.load(Ordering::Relaxed);
        at != 0 && now_ms.saturating_sub(at) < FULL_REPORTED_FOR_MS
    }

    /// Records the outcome of a write at `now_ms`.
    pub(super) fn observe<T>(&self, now_ms: i64, outcome: &Result<T, StoreError>) {
        match outcome {
            Ok(_) => {
                if self.full_at_ms.swap(0, Ordering::Relaxed) != 0 {
                    tracing::info!("the database's disk has space again: reports are stored");
                }
            }
            Err(StoreError::DiskFull(error)) => {
                if self.full_at_ms.swap(now_ms.max(1), Ordering::Relaxed) == 0 {
                    tracing::error!(
                        %error,
                        "the database's disk is full: reports are refused (503, agents keep them) \
                         until space is freed"
                    );
                }
            }
            Err(_) => {}
        }
    }
}

type Verdict<'c> = Pin<Box<dyn Future<Output = Result<bool, sqlx::Error>> + Send + 'c>>;

/// The pools' `after_release`: keeps a connection only when no transaction is left open on
/// it (a failed COMMIT or ROLLBACK leaves one).
pub(super) fn keep_if_clean<C: Connection>(
    conn: &mut C,
    _meta: PoolConnectionMetadata,
) -> Verdict<'_> {
    Box::pin(async move {
        if conn.is_in_transaction() {
            // A dropped transaction's ROLLBACK is queued, not yet run: let it run first.
            conn.ping().await?;
        }
        let clean = !conn.is_in_transaction();
        if !clean {
            tracing::warn!("a database connection was left in a failed transaction; replacing it");
        }
        Ok(clean)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_reported_for_a_minute_after_the_last_failure() {
        let w = WriteHealth::default();
        assert!(!w.disk_full(5_000));
        w.observe::<()>(10_000, &Err(StoreError::DiskFull("full".into())));
        assert!(w.disk_full(10_000 + 59_999));
        assert!(!w.disk_full(10_000 + 60_000), "no write tried for a minute");
        w.observe::<()>(70_000, &Err(StoreError::DiskFull("full".into())));
        assert!(w.disk_full(70_001));
        w.observe(70_002, &Ok(()));
        assert!(!w.disk_full(70_003));
    }

    #[test]
    fn postgres_states_are_sorted() {
        assert_eq!(postgres_failure("53100"), Failure::DiskFull);
        assert_eq!(postgres_failure("53300"), Failure::Unavailable);
        assert_eq!(postgres_failure("08006"), Failure::Unavailable);
        assert_eq!(postgres_failure("57P01"), Failure::Unavailable);
        assert_eq!(postgres_failure("23505"), Failure::Other);
    }

    #[test]
    fn sqlite_codes_are_sorted() {
        assert_eq!(sqlite_failure(13), Failure::DiskFull);
        // SQLITE_IOERR_WRITE (10 | 3 << 8).
        assert_eq!(sqlite_failure(778), Failure::Unavailable);
        // SQLITE_CONSTRAINT_UNIQUE (19 | 8 << 8).
        assert_eq!(sqlite_failure(2067), Failure::Other);
    }
}
