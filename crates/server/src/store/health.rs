//! Status and health score of each machine as stored: what an assessment reads (cached per
//! machine), judged by `fleet::assess` and written in the same commit as the report
//! (ingest.rs), and the offline sweep when reports stop. Every change is logged
//! (status_log), kept as the `health.score` series, and published to live subscribers.

use optralis_proto::agent::Report;
use optralis_proto::api::{HealthReason, MachineStatus};
use optralis_proto::smart::Verdict;
use serde_json::json;

use super::corrupt;
use super::disks::counted_verdict;
use super::ingest::HealthWrite;
use super::{AgentIdentity, Result, Store, StoreError, on_reader, on_writer};
use crate::fleet::assess::{
    self, HealthOutcome, Judged, Prior, RECENT_EVENTS_MS, RecentEvent, WindowLows,
};
use crate::fleet::health::{self, Health};
use crate::fleet::labels::{Labels, check_labels};
use crate::ids::{MachineId, OrgId};
use crate::live::LiveEvent;

/// A report's assessment: what to write with it, and what to announce after.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub outcome: HealthOutcome,
    pub old_score: Option<i64>,
    pub write: HealthWrite,
}

/// The deductions as the API shows them.
fn reasons_of(h: &Health) -> Vec<HealthReason> {
    h.reasons
        .iter()
        .map(|r| HealthReason {
            reason: r.reason.clone(),
            weight: r.weight,
        })
        .collect()
}

fn reasons_json(h: &Health) -> String {
    serde_json::to_string(&reasons_of(h)).unwrap_or_else(|_| "[]".into())
}

impl Store {
    /// Scores a machine from its newest report (`latest`, about to be stored), its last ten
    /// minutes and its disks. Reads only: the result is written with the reports
    /// ([`Store::ingest_assessed`]) and announced after ([`Store::announce`]). `None` when
    /// a newer report has already been scored.
    pub async fn assess(
        &self,
        agent: &AgentIdentity,
        latest: &Report,
        batch: &[Report],
        client_ip: Option<&str>,
    ) -> Result<Option<Assessment>> {
        let m = agent.machine_id.as_str();
        let now = self.now_ms();
        let state = match self.health_states.get(m, now) {
            Some(state) => state,
            None => self.read_health_state(m).await?,
        };
        if state.latest_ts.is_some_and(|t| t > latest.ts_ms) {
            return Ok(None);
        }
        let previous = state.status;
        let old_score = state.score;
        let degraded_below_score = state.degraded_below_score;
        let lows = if assess::needs_window(latest) {
            let (memory_percent, cpu_percent, first_ts_ms) = on_reader!(self, pool => {
                sqlx::query_as::<_, (Option<f64>, Option<f64>, Option<i64>)>(
                    "SELECT MIN(mem_used_percent), MIN(cpu_percent), MIN(ts_ms) FROM metrics_raw \
                     WHERE machine_id = $1 AND ts_ms > $2 AND ts_ms < $3",
                )
                .bind(m)
                .bind(latest.ts_ms - assess::SUSTAINED_MS)
                .bind(latest.ts_ms)
                .fetch_one(pool)
                .await
            })?;
            WindowLows {
                memory_percent,
                cpu_percent,
                first_ts_ms,
            }
        } else {
            WindowLows::default()
        };
        let prior = Prior {
            latest_ts: state.latest_ts,
            disks: &state.disks,
            acks: &state.acks,
            recent_events: &state.recent_events,
        };
        let Judged {
            health,
            disks,
            recent_events,
        } = assess::judge(prior, latest, batch, lows);
        self.health_states.put(
            m,
            HealthState {
                latest_ts: Some(latest.ts_ms),
                status: health.status,
                score: Some(i64::from(health.score)),
                degraded_below_score,
                disks,
                acks: state.acks.clone(),
                recent_events,
            },
            now,
        );
        let agent_labels = latest
            .labels
            .as_ref()
            .filter(|l| match check_labels(l) {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(machine = m, error = %e, "agent labels ignored");
                    false
                }
            })
            .map(|l: &Labels| serde_json::to_string(l))
            .transpose()
            .map_err(corrupt)?;
        let write = HealthWrite {
            seq: latest.seq,
            score: health.score,
            reasons: reasons_json(&health),
            status: health.status.as_str(),
            interval_s: latest.interval_s,
            agent_labels,
            ip: client_ip.map(str::to_owned),
            status_changed: health.status != previous,
        };
        Ok(Some(Assessment {
            outcome: HealthOutcome {
                health,
                previous,
                degraded_below_score,
            },
            old_score,
            write,
        }))
    }

    /// What assessing needs besides the report, from the database.
    async fn read_health_state(&self, machine: &str) -> Result<HealthState> {
        let row = on_reader!(self, pool => {
            sqlx::query_as::<_, (Option<i64>, String, Option<i64>, i64)>(
                "SELECT m.latest_ts_ms, m.status, m.health_score, o.degraded_below_score \
                 FROM machines m JOIN orgs o ON o.id = m.org_id WHERE m.id = $1",
            )
            .bind(machine)
            .fetch_optional(pool)
            .await
        })?;
        let (latest_ts, status, score, degraded_below_score) = row.ok_or(StoreError::NotFound)?;
        let disks = on_reader!(self, pool => {
            sqlx::query_as::<_, (String, String, String, String, Option<String>)>(
                "SELECT disk_key, name, verdict, reasons, ack_reasons FROM disks \
                 WHERE machine_id = $1 ORDER BY name",
            )
            .bind(machine)
            .fetch_all(pool)
            .await
        })?;
        let mut acks = Vec::new();
        let mut verdicts = Vec::new();
        for (key, name, verdict, reasons, ack_reasons) in disks {
            let Some((counted, acked)) =
                counted_verdict(&verdict, &reasons, ack_reasons.as_deref())?
            else {
                continue;
            };
            verdicts.push((name, counted));
            if let Some(a) = acked {
                acks.push((key, a));
            }
        }
        let since = latest_ts.unwrap_or_else(|| self.now_ms()) - RECENT_EVENTS_MS;
        Ok(HealthState {
            latest_ts,
            status: MachineStatus::parse(&status).unwrap_or(MachineStatus::Offline),
            score,
            degraded_below_score,
            disks: verdicts,
            acks,
            recent_events: self.recent_events(machine, since).await?,
        })
    }

    /// Forgets an assessment whose reports were not stored.
    pub fn discard_assessment(&self, agent: &AgentIdentity) {
        self.health_states.forget(Some(agent.machine_id.as_str()));
    }

    /// Forgets cached assessment inputs: all of them, or one machine's.
    pub(super) fn forget_health_state(&self, machine: Option<&str>) {
        self.health_states.forget(machine);
    }

    /// Tells live subscribers what a stored assessment changed.
    pub fn announce(&self, agent: &AgentIdentity, a: &Assessment) {
        self.publish_changes(
            &agent.org_id,
            &agent.machine_id,
            &a.outcome.health,
            a.outcome.previous,
            a.old_score,
            true,
        );
    }

    /// Writes a silent machine's offline health, logs the change, publishes it.
    async fn save_offline(
        &self,
        org: &OrgId,
        machine: &MachineId,
        health: &Health,
        previous: MachineStatus,
        old_score: Option<i64>,
        last_seen_ms: i64,
    ) -> Result<bool> {
        let now = self.now_ms();
        let changed = health.status != previous;
        let reasons = reasons_json(health);
        let score = i64::from(health.score);
        on_writer!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                // Only if no report arrived since the sweep looked.
                let updated = sqlx::query(
                    "UPDATE machines SET health_score = $2, health_reasons = $3, status = $4, \
                     status_since_ms = $5 WHERE id = $1 AND last_seen_ms = $6 AND status <> $4",
                )
                .bind(machine.as_str())
                .bind(score)
                .bind(&reasons)
                .bind(health.status.as_str())
                .bind(now)
                .bind(last_seen_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    return Ok(false);
                }
                if changed {
                    sqlx::query(
                        "INSERT INTO status_log (machine_id, ts_ms, status, score) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(machine.as_str())
                    .bind(now)
                    .bind(health.status.as_str())
                    .bind(score)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok::<_, StoreError>(true)
            }
            .await
        })
        .map(|saved| {
            if saved {
                self.publish_changes(org, machine, health, previous, old_score, false);
            }
            saved
        })
    }

    fn publish_changes(
        &self,
        org: &OrgId,
        machine: &MachineId,
        health: &Health,
        previous: MachineStatus,
        old_score: Option<i64>,
        reported: bool,
    ) {
        let now = self.now_ms();
        let score = i64::from(health.score);
        if health.status != previous {
            self.live.publish(LiveEvent {
                org: org.clone(),
                kind: "status",
                data: json!({
                    "id": machine.as_str(), "from": previous.as_str(), "to": health.status.as_str(),
                    "score": health.score, "ts_ms": now,
                }),
            });
        }
        if old_score != Some(score) {
            self.live.publish(LiveEvent {
                org: org.clone(),
                kind: "score",
                data: json!({
                    "id": machine.as_str(), "score": health.score, "previous": old_score,
                    "reasons": reasons_of(health),
                }),
            });
        }
        if reported {
            self.live.publish(LiveEvent {
                org: org.clone(),
                kind: "machine",
                data: json!({
                    "id": machine.as_str(), "status": health.status.as_str(),
                    "score": health.score, "last_seen_ms": now,
                }),
            });
        }
    }

    /// Marks offline every machine silent for longer than its organisation's number of its
    /// intervals (decommissioned machines excepted). Returns how many changed.
    pub async fn sweep_offline(&self) -> Result<usize> {
        let now = self.now_ms();
        let silent = on_reader!(self, pool => {
            sqlx::query_as::<_, (String, String, i64, String, Option<i64>)>(
                "SELECT m.id, m.org_id, m.last_seen_ms, m.status, m.health_score \
                 FROM machines m JOIN orgs o ON o.id = m.org_id \
                 WHERE m.status <> 'offline' AND m.decommissioned_ms IS NULL \
                 AND m.last_seen_ms IS NOT NULL \
                 AND m.last_seen_ms < $1 - m.interval_s * 1000 * o.offline_after_intervals",
            )
            .bind(now)
            .fetch_all(pool)
            .await
        })?;
        let mut changed = 0;
        for (id, org, last_seen, status, old_score) in silent {
            self.health_states.forget(Some(&id));
            let health = health::offline((now - last_seen) / 1000);
            let previous = MachineStatus::parse(&status).unwrap_or(MachineStatus::Online);
            let saved = self
                .save_offline(
                    &OrgId::from_db(org),
                    &MachineId::from_db(id),
                    &health,
                    previous,
                    old_score,
                    last_seen,
                )
                .await?;
            if saved {
                changed += 1;
            }
        }
        Ok(changed)
    }
}

/// What assessing a machine's report needs besides the report.
#[derive(Debug, Clone)]
pub(super) struct HealthState {
    latest_ts: Option<i64>,
    status: MachineStatus,
    score: Option<i64>,
    degraded_below_score: i64,
    /// Name and verdict per disk, acknowledged warnings counted as ok.
    disks: Vec<(String, Verdict)>,
    /// Disk key and acknowledged reasons, for disks with an acknowledgement.
    acks: Vec<(String, Vec<String>)>,
    /// Critical and error events of about the last hour.
    recent_events: Vec<RecentEvent>,
}

/// [`HealthState`]s of machines seen in the last minute, so a report costs no database
/// read to assess. This process keeps it current (assessments, sweeps, settings, disk
/// readings); another replica's changes reach it within [`HEALTH_CACHE_TTL_MS`].
#[derive(Default)]
pub(super) struct HealthCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (HealthState, i64)>>,
}

const HEALTH_CACHE_TTL_MS: i64 = 60_000;
/// Past this many entries the cache starts over rather than grow without bound.
const HEALTH_CACHE_MAX: usize = 500_000;

impl HealthCache {
    fn get(&self, machine: &str, now: i64) -> Option<HealthState> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(machine)
            .filter(|(_, expires)| *expires > now)
            .map(|(s, _)| s.clone())
    }

    fn put(&self, machine: &str, state: HealthState, now: i64) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= HEALTH_CACHE_MAX {
                entries.clear();
            }
            let expires = entries
                .get(machine)
                .map_or(now + HEALTH_CACHE_TTL_MS, |(_, e)| *e);
            entries.insert(machine.to_owned(), (state, expires));
        }
    }

    fn forget(&self, machine: Option<&str>) {
        if let Ok(mut entries) = self.entries.lock() {
            match machine {
                Some(m) => {
                    entries.remove(m);
                }
                None => entries.clear(),
            }
        }
    }
}
