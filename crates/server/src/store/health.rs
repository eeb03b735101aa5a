//! Status and health score of each machine: recomputed after each committed report, and by
//! the offline sweep when reports stop. Every change is logged (status_log), kept as the
//! `health.score` series, and published to live subscribers.

use optralis_proto::agent::Report;
use optralis_proto::api::HealthReason;
use optralis_proto::smart::Verdict;
use serde_json::json;

use super::{AgentIdentity, Result, Store, StoreError, on_reader, on_writer};
use crate::fleet::health::{self, Facts, Health, Status};
use crate::fleet::labels::{Labels, check_labels};
use crate::ids::{MachineId, OrgId};
use crate::live::LiveEvent;

/// Reports this far back are read to judge "for 10 min" rules.
const SUSTAINED_MS: i64 = 10 * 60_000;

/// The result of rescoring a machine after a report.
#[derive(Debug, Clone)]
pub struct HealthOutcome {
    pub health: Health,
    pub previous: Status,
    /// Below this score the organisation wants the degraded interval.
    pub degraded_below_score: i64,
}

impl HealthOutcome {
    /// The interval the machine should report at: 30 s while warning, critical or under
    /// the organisation's score threshold, 60 s otherwise.
    pub fn interval_s(&self) -> u32 {
        let degraded = matches!(self.health.status, Status::Warning | Status::Critical)
            || i64::from(self.health.score) < self.degraded_below_score;
        if degraded { 30 } else { 60 }
    }
}

fn reasons_json(h: &Health) -> String {
    let reasons: Vec<HealthReason> = h
        .reasons
        .iter()
        .map(|r| HealthReason {
            reason: r.reason.clone(),
            weight: r.weight,
        })
        .collect();
    serde_json::to_string(&reasons).unwrap_or_else(|_| "[]".into())
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl Store {
    /// Rescores a machine from its newest report (`latest`, just committed), its last ten
    /// minutes and its disks; records a status change; stores the agent's labels.
    /// `None` when a newer report has already been scored.
    pub async fn refresh_health(
        &self,
        agent: &AgentIdentity,
        latest: &Report,
        client_ip: Option<&str>,
    ) -> Result<Option<HealthOutcome>> {
        let m = agent.machine_id.as_str();
        let row = on_reader!(self, pool => {
            sqlx::query_as::<_, (Option<i64>, String, Option<i64>, i64)>(
                "SELECT m.latest_ts_ms, m.status, m.health_score, o.degraded_below_score \
                 FROM machines m JOIN orgs o ON o.id = m.org_id WHERE m.id = $1",
            )
            .bind(m)
            .fetch_optional(pool)
            .await
        })?;
        let Some((latest_ts, status, old_score, degraded_below_score)) = row else {
            return Err(StoreError::NotFound);
        };
        if latest_ts.is_some_and(|t| t > latest.ts_ms) {
            return Ok(None);
        }
        let previous = Status::parse(&status).unwrap_or(Status::Offline);
        let window = on_reader!(self, pool => {
            sqlx::query_as::<_, (Option<f64>, Option<f64>, Option<i64>)>(
                "SELECT MIN(mem_used_percent), MIN(cpu_percent), MIN(ts_ms) FROM metrics_raw \
                 WHERE machine_id = $1 AND ts_ms > $2 AND ts_ms <= $3",
            )
            .bind(m)
            .bind(latest.ts_ms - SUSTAINED_MS)
            .bind(latest.ts_ms)
            .fetch_one(pool)
            .await
        })?;
        // The window counts only when reports cover (nearly) all of it.
        let covered = window
            .2
            .is_some_and(|first| first <= latest.ts_ms - SUSTAINED_MS + 90_000);
        let disks = on_reader!(self, pool => {
            sqlx::query_as::<_, (String, String)>(
                "SELECT name, verdict FROM disks WHERE machine_id = $1 ORDER BY name",
            )
            .bind(m)
            .fetch_all(pool)
            .await
        })?;
        let facts = Facts {
            filesystems: latest
                .filesystems
                .iter()
                .map(|f| (f.mount.clone(), f.used_percent()))
                .collect(),
            swap_used_percent: latest.memory.swap_used_percent(),
            cpu_temp_c: latest.cpu_temp_c,
            memory_low_10min: window.0.filter(|_| covered),
            cpu_low_10min: window.1.filter(|_| covered),
            disks: disks
                .into_iter()
                .filter_map(|(name, verdict)| {
                    serde_json::from_value::<Verdict>(json!(verdict))
                        .ok()
                        .map(|v| (name, v))
                })
                .collect(),
        };
        let health = health::score(&facts);
        let outcome = HealthOutcome {
            health,
            previous,
            degraded_below_score,
        };
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
        self.save_health(
            &agent.org_id,
            &agent.machine_id,
            &outcome.health,
            previous,
            old_score,
            Some((latest.seq, latest.interval_s)),
            agent_labels.as_deref(),
            client_ip,
        )
        .await?;
        Ok(Some(outcome))
    }

    /// Writes a machine's new health, logs a status change, publishes what changed.
    /// `report` is the scored report's seq and the interval the agent runs at.
    #[allow(clippy::too_many_arguments)]
    async fn save_health(
        &self,
        org: &OrgId,
        machine: &MachineId,
        health: &Health,
        previous: Status,
        old_score: Option<i64>,
        report: Option<(u64, u32)>,
        agent_labels: Option<&str>,
        client_ip: Option<&str>,
    ) -> Result<()> {
        let now = self.now_ms();
        let changed = health.status != previous;
        let reasons = reasons_json(health);
        let score = i64::from(health.score);
        on_writer!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                sqlx::query(
                    "UPDATE machines SET health_score = $2, health_reasons = $3, status = $4, \
                     status_since_ms = CASE WHEN status <> $4 OR status_since_ms IS NULL THEN $5 \
                                            ELSE status_since_ms END, \
                     interval_s = COALESCE($6, interval_s), \
                     agent_labels = COALESCE($7, agent_labels), last_ip = COALESCE($8, last_ip) \
                     WHERE id = $1",
                )
                .bind(machine.as_str())
                .bind(score)
                .bind(&reasons)
                .bind(health.status.as_str())
                .bind(now)
                .bind(report.map(|(_, interval)| i64::from(interval)))
                .bind(agent_labels)
                .bind(client_ip)
                .execute(&mut *tx)
                .await?;
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
                if let Some((seq, _)) = report {
                    sqlx::query(
                        "UPDATE metrics_raw SET health_score = $3 WHERE machine_id = $1 AND seq = $2",
                    )
                    .bind(machine.as_str())
                    .bind(i64::try_from(seq).unwrap_or(i64::MAX))
                    .bind(f64::from(health.score))
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok::<_, StoreError>(())
            }
            .await
        })?;
        let reasons_value: serde_json::Value = serde_json::from_str(&reasons).unwrap_or_default();
        if changed {
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
                    "reasons": reasons_value,
                }),
            });
        }
        if report.is_some() {
            self.live.publish(LiveEvent {
                org: org.clone(),
                kind: "machine",
                data: json!({
                    "id": machine.as_str(), "status": health.status.as_str(),
                    "score": health.score, "last_seen_ms": now,
                }),
            });
        }
        Ok(())
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
            let health = health::offline((now - last_seen) / 1000);
            let previous = Status::parse(&status).unwrap_or(Status::Online);
            self.save_health(
                &OrgId::from_db(org),
                &MachineId::from_db(id),
                &health,
                previous,
                old_score,
                None,
                None,
                None,
            )
            .await?;
            changed += 1;
        }
        Ok(changed)
    }
}
