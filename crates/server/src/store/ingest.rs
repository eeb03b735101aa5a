//! The write path of reports: one transaction per batch, idempotent on (machine, seq).

use std::collections::HashSet;

use optralis_proto::agent::Report;
use optralis_proto::api::LatestValues;

use super::rollup::{HOUR_MS, ROLLUP_LOCK};
use super::{AgentIdentity, Backend, Result, Store, StoreError, on_writer};

/// What a committed batch changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    /// Reports stored by this call.
    pub inserted: usize,
    /// Reports the store already had (a replay): acknowledged, not stored twice.
    pub duplicates: usize,
}

/// A value bound into a multi-row insert.
enum Val<'a> {
    Text(&'a str),
    Int(i64),
    Real(f64),
    OptReal(Option<f64>),
}

macro_rules! bind_rows {
    ($query:expr, $rows:expr) => {{
        let mut q = $query;
        for row in $rows {
            for v in row {
                q = match v {
                    Val::Text(s) => q.bind(*s),
                    Val::Int(i) => q.bind(*i),
                    Val::Real(f) => q.bind(*f),
                    Val::OptReal(f) => q.bind(*f),
                };
            }
        }
        q
    }};
}

/// Bind parameters per statement stay under SQLite's 32,766 and PostgreSQL's 65,535.
const MAX_PARAMS: usize = 30_000;

/// `($1, $2), ($3, $4), …` for `rows` rows of `cols` columns.
fn placeholders(rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            s.push('$');
            s.push_str(&(r * cols + c + 1).to_string());
        }
        s.push(')');
    }
    s
}

struct Insert {
    head: &'static str,
    cols: usize,
    tail: &'static str,
}

const WIDE: Insert = Insert {
    head: "INSERT INTO metrics_raw (machine_id, seq, ts_ms, cpu_percent, load1, load5, load15, \
           mem_used_percent, mem_used_bytes, mem_available_bytes, swap_used_percent, cpu_temp_c, \
           uptime_s) VALUES ",
    cols: 13,
    tail: " ON CONFLICT (machine_id, seq) DO NOTHING RETURNING seq",
};
const FS: Insert = Insert {
    head: "INSERT INTO fs_raw (machine_id, mount, ts_ms, used_percent, used_bytes, free_bytes, \
           inodes_used_percent) VALUES ",
    cols: 7,
    tail: " ON CONFLICT (machine_id, mount, ts_ms) DO NOTHING",
};
const DISK: Insert = Insert {
    head: "INSERT INTO disk_raw (machine_id, device, ts_ms, read_bytes_per_s, write_bytes_per_s, \
           read_ops_per_s, write_ops_per_s, busy_percent) VALUES ",
    cols: 8,
    tail: " ON CONFLICT (machine_id, device, ts_ms) DO NOTHING",
};
const NET: Insert = Insert {
    head: "INSERT INTO net_raw (machine_id, interface, ts_ms, rx_bytes_per_s, tx_bytes_per_s, \
           rx_errors, tx_errors, rx_drops, tx_drops) VALUES ",
    cols: 9,
    tail: " ON CONFLICT (machine_id, interface, ts_ms) DO NOTHING",
};

impl Insert {
    fn sql(&self, rows: usize) -> String {
        format!(
            "{}{}{}",
            self.head,
            placeholders(rows, self.cols),
            self.tail
        )
    }
    fn chunk_rows(&self) -> usize {
        MAX_PARAMS / self.cols
    }
}

impl Store {
    /// Stores a batch of validated reports of one machine in one transaction. Reports whose
    /// sequence number is already stored are counted as duplicates and left as they were.
    pub async fn ingest_reports(
        &self,
        agent: &AgentIdentity,
        reports: &[Report],
    ) -> Result<IngestOutcome> {
        if reports.is_empty() {
            return Ok(IngestOutcome::default());
        }
        let machine = agent.machine_id.as_str();
        let now = self.now_ms();
        let wide: Vec<Vec<Val>> = reports.iter().map(|r| wide_row(machine, r)).collect();
        let is_pg = matches!(self.backend, Backend::Postgres(_));

        on_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            if is_pg {
                // Shared with other ingests, exclusive with a running rollup (see rollup.rs).
                sqlx::query("SELECT pg_advisory_xact_lock_shared($1)")
                    .bind(ROLLUP_LOCK)
                    .execute(&mut *tx)
                    .await?;
            }
            let mut new_seqs = HashSet::new();
            for chunk in wide.chunks(WIDE.chunk_rows()) {
                let sql = WIDE.sql(chunk.len());
                let q = bind_rows!(sqlx::query_scalar::<_, i64>(&sql), chunk);
                new_seqs.extend(q.fetch_all(&mut *tx).await?);
            }
            let fresh: Vec<&Report> =
                reports.iter().filter(|r| new_seqs.contains(&(r.seq as i64))).collect();

            for (insert, rows) in [
                (&FS, fs_rows(machine, &fresh)),
                (&DISK, disk_rows(machine, &fresh)),
                (&NET, net_rows(machine, &fresh)),
            ] {
                for chunk in rows.chunks(insert.chunk_rows()) {
                    let sql = insert.sql(chunk.len());
                    bind_rows!(sqlx::query(&sql), chunk).execute(&mut *tx).await?;
                }
            }

            let max_seq = reports.iter().map(|r| r.seq as i64).max().unwrap_or(0);
            sqlx::query(
                "UPDATE machines SET last_seen_ms = $1, \
                 last_seq = CASE WHEN last_seq < $2 THEN $2 ELSE last_seq END WHERE id = $3",
            )
            .bind(now)
            .bind(max_seq)
            .bind(machine)
            .execute(&mut *tx)
            .await?;

            if let Some(newest) = fresh.iter().max_by_key(|r| r.ts_ms) {
                let latest = serde_json::to_string(&latest_values(newest))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                sqlx::query(
                    "UPDATE machines SET latest = $1, latest_ts_ms = $2 \
                     WHERE id = $3 AND (latest_ts_ms IS NULL OR latest_ts_ms <= $2)",
                )
                .bind(latest)
                .bind(newest.ts_ms)
                .bind(machine)
                .execute(&mut *tx)
                .await?;
            }
            if let Some(facts) = fresh.iter().rev().find_map(|r| r.facts.as_ref()) {
                let facts_json = serde_json::to_string(facts)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                sqlx::query("UPDATE machines SET facts = $1, hostname = $2 WHERE id = $3")
                    .bind(facts_json)
                    .bind(&facts.hostname)
                    .bind(machine)
                    .execute(&mut *tx)
                    .await?;
            }
            // Samples older than what the rollups already cover (a backfill) make them
            // recompute from the start of that hour.
            if let Some(oldest) = fresh.iter().map(|r| r.ts_ms).min() {
                sqlx::query("UPDATE rollup_state SET done_until_ms = $1 WHERE done_until_ms > $1")
                    .bind(oldest - oldest.rem_euclid(HOUR_MS))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(IngestOutcome {
                inserted: fresh.len(),
                duplicates: reports.len() - fresh.len(),
            })
        })
    }
}

fn wide_row<'a>(machine: &'a str, r: &Report) -> Vec<Val<'a>> {
    vec![
        Val::Text(machine),
        Val::Int(r.seq as i64),
        Val::Int(r.ts_ms),
        Val::Real(r.cpu.percent),
        Val::OptReal(r.cpu.load1),
        Val::OptReal(r.cpu.load5),
        Val::OptReal(r.cpu.load15),
        Val::Real(r.memory.used_percent()),
        Val::Real(r.memory.used_bytes as f64),
        Val::Real(r.memory.available_bytes as f64),
        Val::Real(r.memory.swap_used_percent()),
        Val::OptReal(r.cpu_temp_c),
        Val::Real(r.uptime_s as f64),
    ]
}

fn fs_rows<'a>(machine: &'a str, reports: &[&'a Report]) -> Vec<Vec<Val<'a>>> {
    reports
        .iter()
        .flat_map(|r| {
            r.filesystems.iter().map(move |f| {
                vec![
                    Val::Text(machine),
                    Val::Text(&f.mount),
                    Val::Int(r.ts_ms),
                    Val::Real(f.used_percent()),
                    Val::Real(f.used_bytes as f64),
                    Val::Real(f.free_bytes as f64),
                    Val::OptReal(f.inodes_used_percent()),
                ]
            })
        })
        .collect()
}

fn disk_rows<'a>(machine: &'a str, reports: &[&'a Report]) -> Vec<Vec<Val<'a>>> {
    reports
        .iter()
        .flat_map(|r| {
            r.disks.iter().map(move |d| {
                vec![
                    Val::Text(machine),
                    Val::Text(&d.device),
                    Val::Int(r.ts_ms),
                    Val::Real(d.read_bytes_per_s),
                    Val::Real(d.write_bytes_per_s),
                    Val::Real(d.read_ops_per_s),
                    Val::Real(d.write_ops_per_s),
                    Val::Real(d.busy_percent),
                ]
            })
        })
        .collect()
}

fn net_rows<'a>(machine: &'a str, reports: &[&'a Report]) -> Vec<Vec<Val<'a>>> {
    reports
        .iter()
        .flat_map(|r| {
            r.networks.iter().map(move |n| {
                vec![
                    Val::Text(machine),
                    Val::Text(&n.interface),
                    Val::Int(r.ts_ms),
                    Val::Real(n.rx_bytes_per_s),
                    Val::Real(n.tx_bytes_per_s),
                    Val::Real(n.rx_errors as f64),
                    Val::Real(n.tx_errors as f64),
                    Val::Real(n.rx_drops as f64),
                    Val::Real(n.tx_drops as f64),
                ]
            })
        })
        .collect()
}

fn latest_values(r: &Report) -> LatestValues {
    LatestValues {
        ts_ms: r.ts_ms,
        interval_s: r.interval_s,
        cpu_percent: r.cpu.percent,
        cpu_per_core: r.cpu.per_core.clone(),
        load1: r.cpu.load1,
        load5: r.cpu.load5,
        load15: r.cpu.load15,
        memory_used_percent: r.memory.used_percent(),
        swap_used_percent: r.memory.swap_used_percent(),
        memory: r.memory.clone(),
        uptime_s: r.uptime_s,
        boot_time_ms: r.boot_time_ms,
        cpu_temp_c: r.cpu_temp_c,
        filesystems: r.filesystems.clone(),
        disks: r.disks.clone(),
        networks: r.networks.clone(),
        outbox_dropped_total: r.outbox.dropped_total,
    }
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn placeholders_number_rows_then_columns() {
        assert_eq!(placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(placeholders(1, 1), "($1)");
    }
}
