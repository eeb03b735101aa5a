//! The offline buffer: every report is written here before it is sent, and removed only
//! once the server has acknowledged it. Bounded by count, bytes and age; over a bound the
//! oldest reports go first and are counted in `dropped_total`, which every report carries.

use std::path::Path;

use optralis_proto::agent::{OutboxStats, Report};
use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};

/// seq -> 8-byte little-endian timestamp followed by the report's JSON.
const REPORTS: TableDefinition<u64, &[u8]> = TableDefinition::new("reports");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Where each event source stopped reading (its cursor or bookmark), committed with the
/// report that carries the events read up to it: a crash leaves both or neither.
const BOOKMARKS: TableDefinition<&str, &str> = TableDefinition::new("bookmarks");

const NEXT_SEQ: &str = "next_seq";
const DROPPED: &str = "dropped_total";
const BYTES: &str = "bytes";

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("outbox database: {0}")]
    Db(Box<redb::Error>),
    #[error("cannot encode report: {0}")]
    Encode(#[from] serde_json::Error),
}

fn dberr<E: Into<redb::Error>>(e: E) -> OutboxError {
    OutboxError::Db(Box::new(e.into()))
}

pub type Result<T> = std::result::Result<T, OutboxError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxLimits {
    pub max_reports: u64,
    pub max_bytes: u64,
    pub max_age_ms: i64,
}

impl Default for OutboxLimits {
    /// A week at the healthy interval, which is also the server's raw retention.
    fn default() -> Self {
        Self {
            max_reports: 7 * 24 * 60,
            max_bytes: 64 * 1024 * 1024,
            max_age_ms: 7 * 24 * 3_600_000,
        }
    }
}

/// A stored report, ready to send as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub seq: u64,
    pub json: Vec<u8>,
}

pub struct Outbox {
    db: Database,
    limits: OutboxLimits,
    created: bool,
}

impl Outbox {
    pub fn open(path: &Path, limits: OutboxLimits) -> Result<Self> {
        let db = Database::create(path).map_err(dberr)?;
        let tx = db.begin_write().map_err(dberr)?;
        let created;
        {
            tx.open_table(REPORTS).map_err(dberr)?;
            let mut meta = tx.open_table(META).map_err(dberr)?;
            created = meta.get(NEXT_SEQ).map_err(dberr)?.is_none();
            if created {
                meta.insert(NEXT_SEQ, 1).map_err(dberr)?;
            }
        }
        tx.commit().map_err(dberr)?;
        Ok(Self {
            db,
            limits,
            created,
        })
    }

    /// Whether this outbox was created by `open` (rather than found), i.e. its sequence
    /// numbers start over.
    pub fn is_new(&self) -> bool {
        self.created
    }

    /// Stores the report `build` makes with the next sequence number, after making room.
    pub fn push(&self, now_ms: i64, build: impl FnOnce(u64, OutboxStats) -> Report) -> Result<u64> {
        self.push_with_bookmark(now_ms, None, build)
    }

    /// [`Outbox::push`], saving `bookmark` (source name, position) in the same transaction.
    pub fn push_with_bookmark(
        &self,
        now_ms: i64,
        bookmark: Option<(&str, &str)>,
        build: impl FnOnce(u64, OutboxStats) -> Report,
    ) -> Result<u64> {
        let tx = self.db.begin_write().map_err(dberr)?;
        let seq;
        {
            if let Some((source, position)) = bookmark {
                let mut bookmarks = tx.open_table(BOOKMARKS).map_err(dberr)?;
                bookmarks.insert(source, position).map_err(dberr)?;
            }
            let mut reports = tx.open_table(REPORTS).map_err(dberr)?;
            let mut meta = tx.open_table(META).map_err(dberr)?;
            let get = |meta: &redb::Table<&str, u64>, k| -> Result<u64> {
                Ok(meta.get(k).map_err(dberr)?.map(|v| v.value()).unwrap_or(0))
            };
            seq = get(&meta, NEXT_SEQ)?.max(1);
            let mut dropped = get(&meta, DROPPED)?;
            let mut bytes = get(&meta, BYTES)?;

            let pending = reports.len().map_err(dberr)?;
            let report = build(
                seq,
                OutboxStats {
                    dropped_total: dropped,
                    pending,
                },
            );
            let mut value = report.ts_ms.to_le_bytes().to_vec();
            serde_json::to_writer(&mut value, &report)?;
            let size = value.len() as u64;

            // Make room: too many, too large, or too old, oldest first.
            loop {
                let count = reports.len().map_err(dberr)?;
                let oldest = reports.first().map_err(dberr)?.map(|(k, v)| {
                    let v = v.value();
                    (k.value(), ts_of(v), v.len() as u64)
                });
                let Some((old_seq, old_ts, old_size)) = oldest else {
                    break;
                };
                let over = count + 1 > self.limits.max_reports
                    || bytes + size > self.limits.max_bytes
                    || old_ts < now_ms - self.limits.max_age_ms;
                if !over {
                    break;
                }
                reports.remove(old_seq).map_err(dberr)?;
                bytes = bytes.saturating_sub(old_size);
                dropped += 1;
            }
            reports.insert(seq, value.as_slice()).map_err(dberr)?;
            meta.insert(NEXT_SEQ, seq + 1).map_err(dberr)?;
            meta.insert(DROPPED, dropped).map_err(dberr)?;
            meta.insert(BYTES, bytes + size).map_err(dberr)?;
        }
        tx.commit().map_err(dberr)?;
        Ok(seq)
    }

    /// Where `source` stopped reading, as saved by the last push that carried its events.
    pub fn bookmark(&self, source: &str) -> Result<Option<String>> {
        let tx = self.db.begin_read().map_err(dberr)?;
        let bookmarks = match tx.open_table(BOOKMARKS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(dberr(e)),
        };
        Ok(bookmarks
            .get(source)
            .map_err(dberr)?
            .map(|v| v.value().to_owned()))
    }

    /// Up to `max` of the oldest reports, oldest first.
    pub fn peek(&self, max: usize) -> Result<Vec<Queued>> {
        let tx = self.db.begin_read().map_err(dberr)?;
        let reports = tx.open_table(REPORTS).map_err(dberr)?;
        let mut out = Vec::new();
        for item in reports.iter().map_err(dberr)?.take(max) {
            let (k, v) = item.map_err(dberr)?;
            out.push(Queued {
                seq: k.value(),
                json: v.value().get(8..).unwrap_or_default().to_vec(),
            });
        }
        Ok(out)
    }

    /// Removes acknowledged reports. Returns how many were removed.
    pub fn ack(&self, seqs: &[u64]) -> Result<usize> {
        if seqs.is_empty() {
            return Ok(0);
        }
        let tx = self.db.begin_write().map_err(dberr)?;
        let mut removed = 0;
        {
            let mut reports = tx.open_table(REPORTS).map_err(dberr)?;
            let mut meta = tx.open_table(META).map_err(dberr)?;
            let mut freed = 0u64;
            for seq in seqs {
                if let Some(v) = reports.remove(*seq).map_err(dberr)? {
                    freed += v.value().len() as u64;
                    removed += 1;
                }
            }
            let bytes = meta
                .get(BYTES)
                .map_err(dberr)?
                .map(|v| v.value())
                .unwrap_or(0);
            meta.insert(BYTES, bytes.saturating_sub(freed))
                .map_err(dberr)?;
        }
        tx.commit().map_err(dberr)?;
        Ok(removed)
    }

    pub fn stats(&self) -> Result<OutboxStats> {
        let tx = self.db.begin_read().map_err(dberr)?;
        let reports = tx.open_table(REPORTS).map_err(dberr)?;
        let meta = tx.open_table(META).map_err(dberr)?;
        Ok(OutboxStats {
            dropped_total: meta
                .get(DROPPED)
                .map_err(dberr)?
                .map(|v| v.value())
                .unwrap_or(0),
            pending: reports.len().map_err(dberr)?,
        })
    }

    /// Makes the next sequence number follow `last_seq`: after enrollment the server says
    /// what it already holds, so an agent whose state was lost does not reuse numbers.
    pub fn continue_after(&self, last_seq: u64) -> Result<()> {
        let tx = self.db.begin_write().map_err(dberr)?;
        {
            let mut meta = tx.open_table(META).map_err(dberr)?;
            let next = meta
                .get(NEXT_SEQ)
                .map_err(dberr)?
                .map(|v| v.value())
                .unwrap_or(1);
            if next <= last_seq {
                meta.insert(NEXT_SEQ, last_seq + 1).map_err(dberr)?;
            }
        }
        tx.commit().map_err(dberr)?;
        Ok(())
    }
}

fn ts_of(value: &[u8]) -> i64 {
    value
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(i64::from_le_bytes)
        .unwrap_or(i64::MIN)
}
