//! Rollups (5 min from raw, 1 h from 5 min) and retention.
//!
//! Invariant: every raw sample older than `rollup_state.done_until_ms` of a tier is counted in
//! that tier. The job advances the watermark; an ingest that stores samples below it moves it
//! back (to the start of their hour), so backfilled data is rolled up too. On PostgreSQL the
//! job holds an advisory lock that ingest transactions share, so no sample commits unseen
//! while a range is being rolled up; SQLite has one writer, which gives the same guarantee.

use sqlx::Row;

use super::catalog::METRICS;
use super::{Backend, Result, Store, execute, on_reader, on_writer};

pub const MINUTE_MS: i64 = 60_000;
pub const FIVE_MIN_MS: i64 = 5 * MINUTE_MS;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// Advisory lock key shared by ingest (shared) and rollups (exclusive) on PostgreSQL.
pub(super) const ROLLUP_LOCK: i64 = 0x6f70_7472_616c;

/// Samples this recent are left for the next run: their reports may still be in flight.
const GRACE_MS: i64 = 2 * MINUTE_MS;

/// At most this much is rolled up per transaction, so one run never holds the writer long.
const MAX_SPAN_MS: i64 = 6 * HOUR_MS;

/// The storage tiers are proto's [`SeriesTier`]s: the API names the one it read.
pub use optralis_proto::metrics::SeriesTier as Tier;

/// Width of a tier's buckets (0: raw samples, one per report).
pub fn bucket_ms(tier: Tier) -> i64 {
    match tier {
        Tier::Raw => 0,
        Tier::FiveMinutes => FIVE_MIN_MS,
        Tier::Hour => HOUR_MS,
    }
}

pub(super) fn table(tier: Tier) -> &'static str {
    match tier {
        Tier::Raw => "metrics_raw",
        Tier::FiveMinutes => "rollup_5m",
        Tier::Hour => "rollup_1h",
    }
}

/// How long each tier keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub raw_ms: i64,
    pub five_min_ms: i64,
    pub hour_ms: i64,
    /// System events, by their last occurrence.
    pub events_ms: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            raw_ms: 7 * DAY_MS,
            five_min_ms: 90 * DAY_MS,
            hour_ms: 730 * DAY_MS,
            events_ms: 30 * DAY_MS,
        }
    }
}

impl Retention {
    pub fn of(&self, tier: Tier) -> i64 {
        match tier {
            Tier::Raw => self.raw_ms,
            Tier::FiveMinutes => self.five_min_ms,
            Tier::Hour => self.hour_ms,
        }
    }
}

fn floor(ts: i64, bucket: i64) -> i64 {
    ts - ts.rem_euclid(bucket)
}

/// Upserts 5-minute buckets of one metric from raw samples in `[$1, $2)`.
fn five_min_sql(metric: &super::MetricDef) -> String {
    let (table, kind) = super::catalog::raw_table(metric.scope);
    let col = metric.column;
    let (inst_select, inst_group, kind_filter) = match kind {
        Some(k) => ("instance", ", instance", format!(" AND kind = '{k}'")),
        None => ("''", "", String::new()),
    };
    format!(
        "INSERT INTO rollup_5m (machine_id, metric, instance, bucket_ms, min_v, max_v, sum_v, count_v) \
         SELECT machine_id, '{name}', {inst_select}, (ts_ms / {b}) * {b}, \
                MIN({col}), MAX({col}), SUM({col}), COUNT({col}) \
         FROM {table} WHERE ts_ms >= $1 AND ts_ms < $2 AND {col} IS NOT NULL{kind_filter} \
         GROUP BY machine_id{inst_group}, (ts_ms / {b}) * {b} \
         ON CONFLICT (machine_id, metric, instance, bucket_ms) DO UPDATE SET \
           min_v = excluded.min_v, max_v = excluded.max_v, \
           sum_v = excluded.sum_v, count_v = excluded.count_v",
        name = metric.name,
        b = FIVE_MIN_MS,
    )
}

const HOUR_SQL: &str = "INSERT INTO rollup_1h (machine_id, metric, instance, bucket_ms, min_v, max_v, sum_v, count_v) \
     SELECT machine_id, metric, instance, (bucket_ms / 3600000) * 3600000, \
            MIN(min_v), MAX(max_v), SUM(sum_v), SUM(count_v) \
     FROM rollup_5m WHERE bucket_ms >= $1 AND bucket_ms < $2 \
     GROUP BY machine_id, metric, instance, (bucket_ms / 3600000) * 3600000 \
     ON CONFLICT (machine_id, metric, instance, bucket_ms) DO UPDATE SET \
       min_v = excluded.min_v, max_v = excluded.max_v, \
       sum_v = excluded.sum_v, count_v = excluded.count_v";

impl Store {
    /// Brings both rollup tiers up to date. Returns how many transactions it took.
    pub async fn run_rollups(&self) -> Result<usize> {
        let until = self.now_ms() - GRACE_MS;
        let mut steps = 0;
        while self.roll_step(Tier::FiveMinutes, until).await? {
            steps += 1;
        }
        while self.roll_step(Tier::Hour, until).await? {
            steps += 1;
        }
        Ok(steps)
    }

    /// Rolls up the next span of `tier` in one transaction; false when it is up to date.
    async fn roll_step(&self, tier: Tier, until: i64) -> Result<bool> {
        let bucket = bucket_ms(tier);
        let is_pg = matches!(self.backend, Backend::Postgres(_));
        let five_min: Vec<String> = METRICS.iter().map(five_min_sql).collect();
        on_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            if is_pg {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(ROLLUP_LOCK)
                    .execute(&mut *tx)
                    .await?;
            }
            let done: i64 = sqlx::query("SELECT done_until_ms FROM rollup_state WHERE tier = $1")
                .bind(tier.as_str())
                .fetch_one(&mut *tx)
                .await?
                .try_get("done_until_ms")?;
            // The hour tier reads 5-minute buckets, so it may not pass their watermark.
            let limit = match tier {
                Tier::Hour => {
                    let five: i64 = sqlx::query("SELECT done_until_ms FROM rollup_state WHERE tier = '5m'")
                        .fetch_one(&mut *tx)
                        .await?
                        .try_get("done_until_ms")?;
                    five.min(until)
                }
                _ => until,
            };
            // A fresh database starts at its oldest sample instead of 1970.
            let start = if done == 0 {
                let oldest: Option<i64> = sqlx::query(&format!(
                    "SELECT MIN({}) AS oldest FROM {}",
                    if tier == Tier::Hour { "bucket_ms" } else { "ts_ms" },
                    if tier == Tier::Hour { "rollup_5m" } else { "metrics_raw" },
                ))
                .fetch_one(&mut *tx)
                .await?
                .try_get("oldest")?;
                match oldest {
                    Some(ts) => floor(ts, bucket),
                    None => floor(limit, bucket),
                }
            } else {
                done
            };
            let end = floor(limit, bucket).min(start + MAX_SPAN_MS.max(bucket));
            if end <= start {
                if done == 0 && start > 0 {
                    // Nothing to roll up yet: remember where to begin.
                    sqlx::query("UPDATE rollup_state SET done_until_ms = $1 WHERE tier = $2")
                        .bind(start)
                        .bind(tier.as_str())
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                }
                return Ok(false);
            }
            match tier {
                Tier::FiveMinutes => {
                    for sql in &five_min {
                        sqlx::query(sql).bind(start).bind(end).execute(&mut *tx).await?;
                    }
                }
                Tier::Hour => {
                    sqlx::query(HOUR_SQL).bind(start).bind(end).execute(&mut *tx).await?;
                }
                Tier::Raw => {}
            }
            sqlx::query("UPDATE rollup_state SET done_until_ms = $1 WHERE tier = $2")
                .bind(end)
                .bind(tier.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Deletes what each tier keeps no longer. Returns the number of rows deleted.
    pub async fn apply_retention(&self, retention: &Retention) -> Result<u64> {
        let now = self.now_ms();
        // Raw samples the 5-minute tier has not counted yet (rollups failing or behind) are
        // kept until it has.
        let rolled_until: i64 = on_reader!(self, pool => {
            sqlx::query_scalar("SELECT done_until_ms FROM rollup_state WHERE tier = '5m'")
                .fetch_one(pool)
                .await
        })?;
        let raw_cutoff = (now - retention.raw_ms).min(rolled_until);
        let mut statements: Vec<(String, i64)> = ["metrics_raw", "instance_raw"]
            .iter()
            .map(|t| (format!("DELETE FROM {t} WHERE ts_ms < $1"), raw_cutoff))
            .collect();
        // Disk health history is small (a sample per disk every half hour): kept as long as
        // the hourly tier.
        statements.push((
            "DELETE FROM disk_samples WHERE ts_ms < $1".to_owned(),
            now - retention.hour_ms,
        ));
        // Events, and the alert history, deliveries and silences that are over, are kept
        // as long as events.
        for sql in [
            "DELETE FROM events WHERE last_ts_ms < $1",
            "DELETE FROM alerts WHERE state = 'resolved' AND resolved_ms < $1",
            "DELETE FROM deliveries WHERE status IN ('delivered', 'failed') AND created_ms < $1",
            "DELETE FROM silences WHERE ends_ms < $1",
        ] {
            statements.push((sql.to_owned(), now - retention.events_ms));
        }
        for tier in [Tier::FiveMinutes, Tier::Hour] {
            statements.push((
                format!("DELETE FROM {} WHERE bucket_ms < $1", table(tier)),
                now - retention.of(tier),
            ));
        }
        let mut deleted = 0;
        for (sql, cutoff) in &statements {
            deleted += execute!(self, sql, cutoff)?;
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_handles_negative_and_exact_values() {
        assert_eq!(floor(HOUR_MS + 5, HOUR_MS), HOUR_MS);
        assert_eq!(floor(HOUR_MS, HOUR_MS), HOUR_MS);
        assert_eq!(floor(-1, HOUR_MS), -HOUR_MS);
    }

    #[test]
    fn rollup_sql_groups_by_instance_only_when_there_is_one() {
        let cpu =
            super::super::find_metric(optralis_proto::metrics::MetricName::CpuPercent).unwrap();
        let fs =
            super::super::find_metric(optralis_proto::metrics::MetricName::FilesystemUsedPercent)
                .unwrap();
        assert!(!five_min_sql(cpu).contains("GROUP BY machine_id,  "));
        assert!(five_min_sql(cpu).contains("GROUP BY machine_id, (ts_ms"));
        assert!(five_min_sql(fs).contains("GROUP BY machine_id, instance, (ts_ms"));
        assert!(five_min_sql(fs).contains("AND kind = 'fs'"));
    }
}
