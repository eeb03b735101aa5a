//! The write path of reports, idempotent on (machine, seq).
//!
//! Every ingest goes through one writer task that commits whatever requests are waiting in
//! a single transaction (group commit): under load, hundreds of reports share one commit
//! instead of queueing for the single SQLite writer or for a WAL flush each on PostgreSQL.
//! Each request is answered only after the transaction holding its reports has committed.
//!
//! Rows travel to the database as one JSON array per table (see `ingest_rows.rs`): one
//! statement text whatever the number of rows, prepared once, with one parameter.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use optralis_proto::agent::Report;
use tokio::sync::{Mutex, mpsc, oneshot};

use super::ingest_rows::{
    EventStateRow, Statements, event_rows, instance_rows, latest_values, to_json, wide_row,
};

use super::rollup::{HOUR_MS, ROLLUP_LOCK};
use super::{
    AgentIdentity, Backend, BackendRef, Result, Store, StoreError, WriteHealth, on_writer,
};
use crate::clock::SharedClock;

/// What a committed batch changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    /// Reports stored by this call.
    pub inserted: usize,
    /// Reports the store already had (a replay): acknowledged, not stored twice.
    pub duplicates: usize,
}

/// The newest report's assessment, written with the reports (see health.rs).
#[derive(Debug, Clone)]
pub struct HealthWrite {
    /// The report that was scored.
    pub seq: u64,
    pub score: u8,
    /// JSON array of `{reason, weight}`.
    pub reasons: String,
    pub status: &'static str,
    /// The interval the agent runs at.
    pub interval_s: u32,
    /// JSON object of the agent's labels, when it sent valid ones.
    pub agent_labels: Option<String>,
    pub ip: Option<String>,
    /// The status differs from the one last known: worth a `status_log` check.
    pub status_changed: bool,
}

/// One request's reports, waiting for the writer.
pub(super) struct IngestJob {
    agent: AgentIdentity,
    reports: Vec<Report>,
    health: Option<HealthWrite>,
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
        self.ingest_assessed(agent, reports, None).await
    }

    /// [`Store::ingest_reports`], writing the newest report's health in the same commit.
    pub async fn ingest_assessed(
        &self,
        agent: &AgentIdentity,
        reports: &[Report],
        health: Option<HealthWrite>,
    ) -> Result<IngestOutcome> {
        if reports.is_empty() {
            return Ok(IngestOutcome::default());
        }
        let (reply, answer) = oneshot::channel();
        let job = IngestJob {
            agent: agent.clone(),
            reports: reports.to_vec(),
            health,
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

/// Runs the writer task and starts it again whenever it panics: the requests it held get an
/// error (503 for their agents, which send again), the queued ones are written by the next.
/// Ends when every [`Store`] handle is gone.
pub(super) async fn supervise_writer(
    backend: Backend,
    clock: SharedClock,
    writes: Arc<WriteHealth>,
    jobs: mpsc::Receiver<IngestJob>,
) {
    let jobs = Arc::new(Mutex::new(jobs));
    loop {
        let writer = tokio::spawn(run_writer(
            backend.clone(),
            clock.clone(),
            writes.clone(),
            jobs.clone(),
        ));
        match writer.await {
            Ok(()) => return,
            Err(e) if e.is_panic() => {
                tracing::error!(error = %e, "the ingest writer panicked; restarting it");
                tokio::time::sleep(RESTART_AFTER).await;
            }
            Err(_) => return,
        }
    }
}

/// A panicking writer is started again after this pause (a report that makes it panic
/// every time must not spin a core).
const RESTART_AFTER: std::time::Duration = std::time::Duration::from_millis(200);

/// The writer task: takes the waiting jobs, commits them together, answers each.
async fn run_writer(
    backend: Backend,
    clock: SharedClock,
    writes: Arc<WriteHealth>,
    jobs: Arc<Mutex<mpsc::Receiver<IngestJob>>>,
) {
    let mut jobs = jobs.lock().await;
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
        #[cfg(test)]
        tests::panic_on_request(&group);
        let now = clock.now_ms();
        let started = std::time::Instant::now();
        let written = write_group(&backend, &sql, now, &group).await;
        writes.observe(now, &written);
        tracing::debug!(
            requests = group.len(),
            reports = count,
            micros = started.elapsed().as_micros() as u64,
            "ingest group committed"
        );
        match written {
            Ok(outcomes) => {
                for (job, outcome) in group.into_iter().zip(outcomes) {
                    answer(&backend, job, Ok(outcome)).await;
                }
            }
            Err(e) if group.len() > 1 && !e.is_retryable() => {
                // One request's data must not fail the others: retry each on its own.
                tracing::warn!(error = %e, jobs = group.len(), "group commit failed; writing requests one by one");
                for job in group {
                    let result = write_group(&backend, &sql, now, std::slice::from_ref(&job))
                        .await
                        .map(|mut o| o.pop().unwrap_or_default());
                    writes.observe(now, &result);
                    answer(&backend, job, result).await;
                }
            }
            Err(e) => {
                for job in group {
                    let _ = job.reply.send(Err(e.for_another()));
                }
            }
        }
    }
}

/// Answers a job once its reports are committed. Disk readings, which come with a report
/// every half hour or so, are stored first, in a transaction of their own: idempotent, so
/// if that fails the agent resends and nothing is lost.
async fn answer(backend: &Backend, job: IngestJob, written: Result<IngestOutcome>) {
    let result = match written {
        Ok(outcome) => {
            let with_smart: Vec<&Report> =
                job.reports.iter().filter(|r| r.smart.is_some()).collect();
            super::disks::write_snapshots(backend, job.agent.machine_id.as_str(), &with_smart)
                .await
                .map(|()| outcome)
        }
        Err(e) => Err(e),
    };
    let _ = job.reply.send(result);
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
                j.reports.iter().map(|r| {
                    let score = j
                        .health
                        .as_ref()
                        .filter(|h| h.seq == r.seq)
                        .map(|h| f64::from(h.score));
                    wide_row(j.agent.machine_id.as_str(), r, score)
                })
            })
            .collect::<Vec<_>>(),
    )?;
    let is_pg = matches!(backend, Backend::Postgres(_));
    let store = BackendRef { backend };

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

        let events = to_json(&group.iter().zip(&fresh_by_job).flat_map(|(j, f)| {
            f.iter().flat_map(move |r| event_rows(j.agent.org_id.as_str(), j.agent.machine_id.as_str(), r))
        }).collect::<Vec<_>>())?;
        if events != "[]" {
            sqlx::query(&sql.events).bind(events).execute(&mut *tx).await?;
        }
        let event_states = event_states(group, &fresh_by_job);
        if !event_states.is_empty() {
            sqlx::query(&sql.events_state).bind(to_json(&event_states)?).execute(&mut *tx).await?;
        }

        let machines = to_json(&machine_updates(group, &fresh_by_job)?)?;
        if group.iter().any(|j| j.health.as_ref().is_some_and(|h| h.status_changed)) {
            sqlx::query(&sql.status_log).bind(now).bind(&machines).execute(&mut *tx).await?;
        }
        sqlx::query(&sql.machines).bind(now).bind(machines).execute(&mut *tx).await?;

        // Samples older than what the rollups already cover (a backfill) make them
        // recompute from the start of that hour.
        if let Some(oldest) = fresh().map(|(_, r)| r.ts_ms).min() {
            sqlx::query("UPDATE rollup_state SET done_until_ms = $1 WHERE done_until_ms > $2")
                .bind(oldest - oldest.rem_euclid(HOUR_MS))
                .bind(oldest)
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

/// Per machine with fresh reports carrying events: the newest report's source and
/// availability, and the entries suppressed by all of them.
fn event_states<'a>(
    group: &'a [IngestJob],
    fresh_by_job: &[Vec<&'a Report>],
) -> Vec<EventStateRow<'a>> {
    let mut by_machine: HashMap<&str, (i64, EventStateRow<'a>)> = HashMap::new();
    for (job, fresh) in group.iter().zip(fresh_by_job) {
        let machine = job.agent.machine_id.as_str();
        for r in fresh {
            let Some(b) = &r.events else { continue };
            let suppressed = i64::try_from(b.suppressed).unwrap_or(i64::MAX);
            let row = (
                machine,
                b.source.as_str(),
                b.unavailable.as_deref(),
                suppressed,
            );
            by_machine
                .entry(machine)
                .and_modify(|(ts, current)| {
                    let total = current.3.saturating_add(suppressed);
                    if r.ts_ms >= *ts {
                        *ts = r.ts_ms;
                        *current = row;
                    }
                    current.3 = total;
                })
                .or_insert((r.ts_ms, row));
        }
    }
    by_machine.into_values().map(|(_, row)| row).collect()
}

/// One machine row's changes from a group: id, max seq, newest ts, its latest values,
/// facts and hostname (the last three as JSON text, null when unchanged), then its health
/// (score, reasons, status, interval, agent labels, address; null without an assessment),
/// then the newest report's count of reports the agent dropped.
type MachineRow<'a> = (
    &'a str,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<&'a str>,
    Option<i64>,
    Option<&'a str>,
    Option<&'a str>,
    Option<i64>,
    Option<&'a str>,
    Option<&'a str>,
    Option<i64>,
);

fn machine_updates<'a>(
    group: &'a [IngestJob],
    fresh_by_job: &[Vec<&'a Report>],
) -> Result<Vec<MachineRow<'a>>> {
    // machine -> (max seq, newest fresh report, newest fresh report with facts, health)
    type Acc<'a> = (
        i64,
        Option<&'a Report>,
        Option<&'a Report>,
        Option<&'a HealthWrite>,
    );
    let mut by_machine: HashMap<&str, Acc<'a>> = HashMap::new();
    for (job, fresh) in group.iter().zip(fresh_by_job) {
        let entry = by_machine
            .entry(job.agent.machine_id.as_str())
            .or_insert((0, None, None, None));
        if let Some(h) = &job.health
            && entry.3.is_none_or(|old| h.seq >= old.seq)
        {
            entry.3 = Some(h);
        }
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
        .map(|(machine, (max_seq, newest, with_facts, health))| {
            let facts = with_facts.and_then(|r| r.facts.as_ref());
            Ok((
                machine,
                max_seq,
                newest.map(|r| r.ts_ms),
                newest.map(|r| to_json(&latest_values(r))).transpose()?,
                facts.map(to_json).transpose()?,
                facts.map(|f| f.hostname.as_str()),
                health.map(|h| i64::from(h.score)),
                health.map(|h| h.reasons.as_str()),
                health.map(|h| h.status),
                health.map(|h| i64::from(h.interval_s)),
                health.and_then(|h| h.agent_labels.as_deref()),
                health.and_then(|h| h.ip.as_deref()),
                newest.map(|r| i64::try_from(r.outbox.dropped_total).unwrap_or(i64::MAX)),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    /// A request for this machine makes the writer panic (a stand-in for a bug).
    const PANIC_MACHINE: &str = "writer-panics";

    pub(super) fn panic_on_request(group: &[IngestJob]) {
        if group
            .iter()
            .any(|j| j.agent.machine_id.as_str() == PANIC_MACHINE)
        {
            panic!("the test asked the writer to panic");
        }
    }

    fn report(seq: u64) -> Report {
        optralis_proto::sample::report(seq, 1_000 + seq as i64)
    }

    #[tokio::test]
    async fn a_panicking_writer_answers_its_requests_and_is_restarted() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::connect(&url, Arc::new(ManualClock::new(10_000)))
            .await
            .expect("store");
        let org = store.org_by_name("default").await.expect("org");
        let facts = serde_json::from_value(serde_json::json!({
            "hostname": "h", "os_name": "", "os_version": "", "kernel_version": "",
            "arch": "", "cpu_model": "", "cpu_logical_cores": 1, "agent_version": ""
        }))
        .expect("facts");
        let enrolled = store
            .enroll(&org, "fingerprint-0123456789", &facts)
            .await
            .expect("enroll");
        let agent = store.agent_for_token(&enrolled.token).await.expect("agent");
        let mut doomed = agent.clone();
        doomed.machine_id = crate::ids::MachineId::from_path(PANIC_MACHINE);

        let failed = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            store.ingest_reports(&doomed, &[report(1)]),
        )
        .await
        .expect("an answer, not a hang");
        assert!(
            matches!(failed, Err(ref e) if e.is_retryable()),
            "{failed:?}"
        );
        let stored = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            store.ingest_reports(&agent, &[report(1)]),
        )
        .await
        .expect("the restarted writer answers")
        .expect("stored");
        assert_eq!(stored.inserted, 1);
    }
}
