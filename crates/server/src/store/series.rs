//! Reading a series: raw samples for short ranges, rollups for long ones, so a chart gets
//! about a thousand points whatever its range.

use optralis_proto::api::Series;

use super::catalog::MetricDef;
use super::rollup::{FIVE_MIN_MS, HOUR_MS, Retention};
use super::{Result, Store, Tier, on_reader};
use crate::ids::{MachineId, OrgId};

/// Points a chart gets when it does not ask for a step.
const TARGET_POINTS: i64 = 1000;

#[derive(Debug, Clone)]
pub struct SeriesQuery<'a> {
    pub metric: &'static MetricDef,
    /// Mount point, device or interface for per-instance metrics.
    pub instance: Option<&'a str>,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Bucket width; `None` picks one that gives about [`TARGET_POINTS`] points.
    pub step_s: Option<u64>,
}

/// Chooses the tier and bucket width for a range: the finest tier that still holds `from`
/// and is no finer than needed.
pub fn plan(q: &SeriesQuery<'_>, now_ms: i64, retention: &Retention) -> (Tier, i64) {
    let range = q.to_ms.saturating_sub(q.from_ms).max(1);
    let step_ms = match q.step_s {
        Some(s) => (s as i64).saturating_mul(1000),
        None => {
            let auto = range / TARGET_POINTS;
            // Under ~17 hours every raw sample is returned as is (a thousand at the default
            // interval); beyond, buckets of whole seconds.
            if auto < 60_000 { 0 } else { auto - auto % 1000 }
        }
    };
    let tier = if step_ms < FIVE_MIN_MS && q.from_ms >= now_ms - retention.raw_ms {
        Tier::Raw
    } else if step_ms < HOUR_MS && q.from_ms >= now_ms - retention.five_min_ms {
        Tier::FiveMinutes
    } else {
        Tier::Hour
    };
    // Rollup points are whole buckets: a step is a multiple of the tier's bucket, so the
    // switch from rollups to the raw tail falls on a step boundary and no point is doubled.
    let bucket = super::rollup::bucket_ms(tier);
    let step_ms = if bucket > 0 {
        (step_ms.max(bucket) + bucket - 1) / bucket * bucket
    } else {
        step_ms
    };
    (tier, step_ms)
}

impl Store {
    pub async fn series(
        &self,
        org: &OrgId,
        machine: &MachineId,
        q: &SeriesQuery<'_>,
        retention: &Retention,
    ) -> Result<Series> {
        self.check_machine(org, machine).await?;
        let (tier, step_ms) = plan(q, self.now_ms(), retention);
        let instance = q.instance.unwrap_or("");
        let mut points = Vec::new();
        let mut raw_from = q.from_ms;
        if tier != Tier::Raw {
            // Rolled-up part of the range, then raw samples for the tail not yet rolled up.
            let done: i64 = on_reader!(self, pool => {
                sqlx::query_scalar("SELECT done_until_ms FROM rollup_state WHERE tier = $1")
                    .bind(tier.as_str())
                    .fetch_one(pool)
                    .await
            })?;
            let sql = format!(
                "SELECT (bucket_ms / $5) * $5 AS b, SUM(sum_v) / CAST(SUM(count_v) AS DOUBLE PRECISION) AS v \
                 FROM {} WHERE machine_id = $1 AND metric = $2 AND instance = $3 \
                 AND bucket_ms >= $4 AND bucket_ms < $6 GROUP BY b ORDER BY b",
                super::rollup::table(tier)
            );
            let switch = done - done.rem_euclid(step_ms);
            let until = q.to_ms.min(switch);
            let rows: Vec<(i64, f64)> = on_reader!(self, pool => {
                sqlx::query_as(&sql)
                    .bind(machine.as_str())
                    .bind(q.metric.name.as_str())
                    .bind(instance)
                    .bind(q.from_ms)
                    .bind(step_ms)
                    .bind(until)
                    .fetch_all(pool)
                    .await
            })?;
            points = rows;
            raw_from = raw_from.max(switch);
        }
        if raw_from < q.to_ms {
            points.extend(self.raw_points(machine, q, raw_from, step_ms).await?);
        }
        Ok(Series {
            metric: q.metric.name,
            instance: q.instance.map(str::to_owned),
            tier,
            step_s: (step_ms / 1000) as u64,
            points,
        })
    }

    async fn raw_points(
        &self,
        machine: &MachineId,
        q: &SeriesQuery<'_>,
        from_ms: i64,
        step_ms: i64,
    ) -> Result<Vec<(i64, f64)>> {
        let (table, kind) = super::catalog::raw_table(q.metric.scope);
        let col = q.metric.column;
        let instance_filter = match kind {
            Some(k) => format!("AND kind = '{k}' AND instance = $5"),
            // Keeps the parameter list the same shape for every scope.
            None => "AND $5 = $5".to_owned(),
        };
        let sql = if step_ms > 0 {
            format!(
                "SELECT (ts_ms / $4) * $4 AS b, AVG({col}) AS v FROM {table} \
                 WHERE machine_id = $1 AND ts_ms >= $2 AND ts_ms <= $3 {instance_filter} \
                 AND {col} IS NOT NULL GROUP BY b ORDER BY b"
            )
        } else {
            format!(
                "SELECT ts_ms AS b, {col} AS v FROM {table} \
                 WHERE machine_id = $1 AND ts_ms >= $2 AND ts_ms <= $3 AND $4 = $4 {instance_filter} \
                 AND {col} IS NOT NULL ORDER BY ts_ms"
            )
        };
        let instance = q.instance.unwrap_or("");
        let rows: Vec<(i64, f64)> = on_reader!(self, pool => {
            sqlx::query_as(&sql)
                .bind(machine.as_str())
                .bind(from_ms)
                .bind(q.to_ms)
                .bind(step_ms.max(1))
                .bind(instance)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::find_metric;
    use crate::store::rollup::DAY_MS;

    fn query(range_ms: i64, now: i64, step_s: Option<u64>) -> SeriesQuery<'static> {
        SeriesQuery {
            metric: find_metric(optralis_proto::metrics::MetricName::CpuPercent).unwrap(),
            instance: None,
            from_ms: now - range_ms,
            to_ms: now,
            step_s,
        }
    }

    #[test]
    fn ranges_pick_the_tier_that_gives_about_a_thousand_points() {
        let now = 1_000 * DAY_MS;
        let r = Retention::default();
        let cases = [
            (HOUR_MS, None, Tier::Raw, 0),
            (24 * HOUR_MS, None, Tier::Raw, 86_000),
            (7 * DAY_MS - 1, None, Tier::FiveMinutes, 900_000),
            (30 * DAY_MS, None, Tier::FiveMinutes, 2_700_000),
            (365 * DAY_MS, None, Tier::Hour, 32_400_000),
            (HOUR_MS, Some(3600), Tier::Hour, 3_600_000),
            (10 * DAY_MS, Some(60), Tier::FiveMinutes, FIVE_MIN_MS),
            (100 * DAY_MS, Some(300), Tier::Hour, HOUR_MS),
            (10 * 60_000, None, Tier::Raw, 0),
        ];
        for (range, step, tier, step_ms) in cases {
            assert_eq!(
                plan(&query(range, now, step), now, &r),
                (tier, step_ms),
                "range {range} step {step:?}"
            );
        }
    }
}
