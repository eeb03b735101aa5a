//! The write path of reports, idempotent on (machine, seq).
//!
//! Every ingest goes through one writer task that commits whatever requests are waiting in
//! a single transaction (group commit): under load, hundreds of reports share one commit
//! instead of queueing for the single SQLite writer or for a WAL flush each on PostgreSQL.
//! Each request is answered only after the transaction holding its reports has committed.
//!
//! Rows travel to the database as one JSON array per table, expanded there by `json_each`
//! (SQLite) or `jsonb_array_elements` (PostgreSQL): one statement text whatever the number
//! of rows, prepared once, with one parameter.

use std::collections::{HashMap, HashSet};

use optralis_proto::agent::Report;
use optralis_proto::api::LatestValues;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use super::rollup::{HOUR_MS, ROLLUP_LOCK};
use super::{AgentIdentity, Backend, Result, Store, StoreError, on_writer};
use crate::clock::SharedClock;

/// What a committed batch changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    /// Reports stored by this call.
    pub inserted: usize,
    /// Reports the store already had (a replay): acknowledged, not stored twice.
    pub duplicates: usize,
}

/// One request's reports, waiting for the writer.
pub(super) struct IngestJob {
    agent: AgentIdentity,
    reports: Vec<Report>,
    reply: oneshot::Sender<Result<IngestOutcome>>,
}

/// Requests queued beyond this make callers wait before queueing (backpressure).
pub(super) const QUEUE_DEPTH: usize = 1024;
/// Reports per transaction at most.
const GROUP_REPORTS: usize = 2000;

impl Store {
    /// Stores validated reports of one machine. Reports whose sequence number is already
    /// stored are counted as duplicates and left as they were. Returns once committed.
    pub async fn ingest_reports(
        &self,
        agent: &AgentIdentity,
        reports: &[Report],
    ) -> Result<IngestOutcome> {
        if reports.is_empty() {
            return Ok(IngestOutcome::default());
        }
        let (reply, answer) = oneshot::channel();
        let job = IngestJob {
            agent: agent.clone(),
            reports: reports.to_vec(),
            reply,
        };
        self.writer
            .send(job)
            .await
            .map_err(|_| StoreError::Write("the store is shutting down".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Write("the writer stopped before committing".into()))?
    }
}

/// The writer task: takes the waiting jobs, commits them together, answers each. It ends
/// when every [`Store`] handle is gone.
pub(super) async fn run_writer(
    backend: Backend,
    clock: SharedClock,
    mut jobs: mpsc::Receiver<IngestJob>,
) {
    let sql = Statements::for_backend(&backend);
    while let Some(first) = jobs.recv().await {
        let mut group = vec![first];
        let mut count = group[0].reports.len();
        while count < GROUP_REPORTS {
            match jobs.try_recv() {
                Ok(job) => {
                    count += job.reports.len();
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        let now = clock.now_ms();
        let started = std::time::Instant::now();
        let written = write_group(&backend, &sql, now, &group).await;
        tracing::debug!(
            requests = group.len(),
            reports = count,
            micros = started.elapsed().as_micros() as u64,
            "ingest group committed"
        );
        match written {
            Ok(outcomes) => {
                for (job, outcome) in group.into_iter().zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
            }
            Err(e) if group.len() > 1 => {
                // One request's data must not fail the others: retry each on its own.
                tracing::warn!(error = %e, jobs = group.len(), "group commit failed; writing requests one by one");
                for job in group {
                    let result = write_group(&backend, &sql, now, std::slice::from_ref(&job))
                        .await
                        .map(|mut o| o.pop().unwrap_or_default());
                    let _ = job.reply.send(result);
                }
            }
            Err(e) => {
                for job in group {
                    let _ = job.reply.send(Err(StoreError::Write(e.to_string())));
                }
            }
        }
    }
}

/// Columns of a JSON row: name and PostgreSQL type (SQLite takes JSON values as they are).
type Columns = &'static [(&'static str, &'static str)];

const WIDE_COLS: Columns = &[
    ("machine_id", "text"),
    ("seq", "bigint"),
    ("ts_ms", "bigint"),
    ("cpu_percent", "float8"),
    ("load1", "float8"),
    ("load5", "float8"),
    ("load15", "float8"),
    ("mem_used_percent", "float8"),
    ("mem_used_bytes", "float8"),
    ("mem_available_bytes", "float8"),
    ("swap_used_percent", "float8"),
    ("cpu_temp_c", "float8"),
    ("uptime_s", "float8"),
];
const INSTANCE_COLS: Columns = &[
    ("machine_id", "text"),
    ("ts_ms", "bigint"),
    ("kind", "text"),
    ("instance", "text"),
    ("v1", "float8"),
    ("v2", "float8"),
    ("v3", "float8"),
    ("v4", "float8"),
    ("v5", "float8"),
    ("v6", "float8"),
];
const MACHINE_COLS: Columns = &[
    ("id", "text"),
    ("max_seq", "bigint"),
    ("latest_ts", "bigint"),
    ("latest", "text"),
    ("facts", "text"),
    ("hostname", "text"),
];

/// The rows of parameter `$n` (a JSON array of arrays) as a derived table `v`.
fn json_rows(backend: &Backend, cols: Columns, n: usize) -> String {
    let select: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, (name, pg_type))| match backend {
            Backend::Sqlite { .. } => format!("value ->> {i} AS {name}"),
            Backend::Postgres(_) => format!("(e ->> {i})::{pg_type} AS {name}"),
        })
        .collect();
    match backend {
        Backend::Sqlite { .. } => {
            format!("(SELECT {} FROM json_each(${n})) AS v", select.join(", "))
        }
        Backend::Postgres(_) => {
            format!(
                "(SELECT {} FROM jsonb_array_elements(${n}::jsonb) AS e) AS v",
                select.join(", ")
            )
        }
    }
}

fn insert_sql(backend: &Backend, table: &str, cols: Columns, tail: &str) -> String {
    let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
    let names = names.join(", ");
    format!(
        "INSERT INTO {table} ({names}) SELECT {names} FROM {} WHERE true {tail}",
        json_rows(backend, cols, 1)
    )
}

/// The statement texts of the write path for one backend, built once.
struct Statements {
    wide: String,
    instances: String,
    machines: String,
}

impl Statements {
    fn for_backend(b: &Backend) -> Self {
        Self {
            wide: insert_sql(
                b,
                "metrics_raw",
                WIDE_COLS,
                "ON CONFLICT (machine_id, seq) DO NOTHING RETURNING machine_id, seq",
            ),
            instances: insert_sql(
                b,
                "instance_raw",
                INSTANCE_COLS,
                "ON CONFLICT (machine_id, ts_ms, kind, instance) DO NOTHING",
            ),
            machines: format!(
                "UPDATE machines SET last_seen_ms = $1, \
                 last_seq = CASE WHEN machines.last_seq < v.max_seq THEN v.max_seq ELSE machines.last_seq END, \
                 latest = CASE WHEN v.latest IS NOT NULL \
                   AND (machines.latest_ts_ms IS NULL OR machines.latest_ts_ms <= v.latest_ts) \
                   THEN v.latest ELSE machines.latest END, \
                 latest_ts_ms = CASE WHEN v.latest IS NOT NULL \
                   AND (machines.latest_ts_ms IS NULL OR machines.latest_ts_ms <= v.latest_ts) \
                   THEN v.latest_ts ELSE machines.latest_ts_ms END, \
                 facts = COALESCE(v.facts, machines.facts), \
                 hostname = COALESCE(v.hostname, machines.hostname) \
                 FROM {} WHERE machines.id = v.id",
                json_rows(b, MACHINE_COLS, 2)
            ),
        }
    }
}

fn to_json<T: Serialize>(rows: &T) -> Result<String> {
    serde_json::to_string(rows).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Writes every job's reports in one transaction; one outcome per job, in order.
async fn write_group(
    backend: &Backend,
    sql: &Statements,
    now: i64,
    group: &[IngestJob],
) -> Result<Vec<IngestOutcome>> {
    let wide = to_json(
        &group
            .iter()
            .flat_map(|j| {
                j.reports
                    .iter()
                    .map(|r| wide_row(j.agent.machine_id.as_str(), r))
            })
            .collect::<Vec<_>>(),
    )?;
    let is_pg = matches!(backend, Backend::Postgres(_));
    let store = StoreRef { backend };

    on_writer!(store, pool => {
        let mut tx = pool.begin().await?;
        if is_pg {
            // Shared with other ingests, exclusive with a running rollup (see rollup.rs).
            sqlx::query("SELECT pg_advisory_xact_lock_shared($1)")
                .bind(ROLLUP_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        let mut inserted: HashSet<(String, i64)> = sqlx::query_as::<_, (String, i64)>(&sql.wide)
            .bind(&wide)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();

        // Which reports of which job are new: a (machine, seq) counts once, for the first
        // job that carries it.
        let fresh_by_job: Vec<Vec<&Report>> = group
            .iter()
            .map(|job| {
                let machine = job.agent.machine_id.as_str();
                job.reports
                    .iter()
                    .filter(|r| inserted.remove(&(machine.to_owned(), r.seq as i64)))
                    .collect()
            })
            .collect();
        let fresh = || group.iter().zip(&fresh_by_job).flat_map(|(j, f)| f.iter().map(move |r| (j.agent.machine_id.as_str(), *r)));

        let instances = to_json(&fresh().flat_map(|(m, r)| instance_rows(m, r)).collect::<Vec<_>>())?;
        if instances != "[]" {
            sqlx::query(&sql.instances).bind(instances).execute(&mut *tx).await?;
        }

        let machines = to_json(&machine_updates(group, &fresh_by_job)?)?;
        sqlx::query(&sql.machines).bind(now).bind(machines).execute(&mut *tx).await?;

        // Samples older than what the rollups already cover (a backfill) make them
        // recompute from the start of that hour.
        if let Some(oldest) = fresh().map(|(_, r)| r.ts_ms).min() {
            sqlx::query("UPDATE rollup_state SET done_until_ms = $1 WHERE done_until_ms > $1")
                .bind(oldest - oldest.rem_euclid(HOUR_MS))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(group
            .iter()
            .zip(&fresh_by_job)
            .map(|(j, f)| IngestOutcome { inserted: f.len(), duplicates: j.reports.len() - f.len() })
            .collect())
    })
}

/// Lets the pool macros run on a bare backend.
struct StoreRef<'a> {
    backend: &'a Backend,
}

/// One machine row's changes from a group: id, max seq, newest ts, its latest values,
/// facts and hostname (the last three as JSON text, null when unchanged).
type MachineRow<'a> = (
    &'a str,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<&'a str>,
);

fn machine_updates<'a>(
    group: &'a [IngestJob],
    fresh_by_job: &[Vec<&'a Report>],
) -> Result<Vec<MachineRow<'a>>> {
    // machine -> (max seq, newest fresh report, newest fresh report with facts)
    let mut by_machine: HashMap<&str, (i64, Option<&Report>, Option<&Report>)> = HashMap::new();
    for (job, fresh) in group.iter().zip(fresh_by_job) {
        let entry = by_machine
            .entry(job.agent.machine_id.as_str())
            .or_insert((0, None, None));
        entry.0 = job
            .reports
            .iter()
            .map(|r| r.seq as i64)
            .fold(entry.0, i64::max);
        for r in fresh {
            if entry.1.is_none_or(|n| r.ts_ms >= n.ts_ms) {
                entry.1 = Some(r);
            }
            if r.facts.is_some() && entry.2.is_none_or(|n| r.seq >= n.seq) {
                entry.2 = Some(r);
            }
        }
    }
    by_machine
        .into_iter()
        .map(|(machine, (max_seq, newest, with_facts))| {
            let facts = with_facts.and_then(|r| r.facts.as_ref());
            Ok((
                machine,
                max_seq,
                newest.map(|r| r.ts_ms),
                newest.map(|r| to_json(&latest_values(r))).transpose()?,
                facts.map(to_json).transpose()?,
                facts.map(|f| f.hostname.as_str()),
            ))
        })
        .collect()
}

type WideRow<'a> = (
    &'a str,
    i64,
    i64,
    f64,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    f64,
    f64,
    f64,
    f64,
    Option<f64>,
    f64,
);

fn wide_row<'a>(machine: &'a str, r: &Report) -> WideRow<'a> {
    (
        machine,
        r.seq as i64,
        r.ts_ms,
        r.cpu.percent,
        r.cpu.load1,
        r.cpu.load5,
        r.cpu.load15,
        r.memory.used_percent(),
        r.memory.used_bytes as f64,
        r.memory.available_bytes as f64,
        r.memory.swap_used_percent(),
        r.cpu_temp_c,
        r.uptime_s as f64,
    )
}

/// machine, ts, kind, instance, v1…v6: the kind's figures in the catalog's order.
type InstanceRow<'a> = (
    &'a str,
    i64,
    &'static str,
    &'a str,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
);

fn row<'a>(
    machine: &'a str,
    ts: i64,
    kind: &'static str,
    instance: &'a str,
    v: [Option<f64>; 6],
) -> InstanceRow<'a> {
    (
        machine, ts, kind, instance, v[0], v[1], v[2], v[3], v[4], v[5],
    )
}

fn instance_rows<'a>(machine: &'a str, r: &'a Report) -> impl Iterator<Item = InstanceRow<'a>> {
    let ts = r.ts_ms;
    let fs = r.filesystems.iter().map(move |f| {
        let v = [
            Some(f.used_percent()),
            Some(f.used_bytes as f64),
            Some(f.free_bytes as f64),
            f.inodes_used_percent(),
            None,
            None,
        ];
        row(machine, ts, "fs", f.mount.as_str(), v)
    });
    let disks = r.disks.iter().map(move |d| {
        let v = [
            Some(d.read_bytes_per_s),
            Some(d.write_bytes_per_s),
            Some(d.read_ops_per_s),
            Some(d.write_ops_per_s),
            Some(d.busy_percent),
            None,
        ];
        row(machine, ts, "disk", d.device.as_str(), v)
    });
    let nets = r.networks.iter().map(move |n| {
        let v = [
            Some(n.rx_bytes_per_s),
            Some(n.tx_bytes_per_s),
            Some(n.rx_errors as f64),
            Some(n.tx_errors as f64),
            Some(n.rx_drops as f64),
            Some(n.tx_drops as f64),
        ];
        row(machine, ts, "net", n.interface.as_str(), v)
    });
    fs.chain(disks).chain(nets)
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
