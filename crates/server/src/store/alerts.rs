//! Alert rules, alerts and silences, always within one organisation.

use std::collections::HashMap;

use optralis_proto::alerts::{
    Alert, AlertSeverity, AlertState, CreateSilence, Notification, Rule, RuleKind, RuleScope,
    RuleSpec, Silence,
};
use optralis_proto::events::EventSeverity;
use optralis_proto::smart::Verdict;

use super::disks::counted_verdict;
use super::events::like_pattern;
use super::ingest_rows::severity_rank;
use super::{
    Result, Store, StoreError, corrupt, execute, from_name, json_text, on_reader, on_writer,
    one_row, row,
};
use crate::ids::{MachineId, OrgId};

/// An open (pending or firing) alert, as the engine needs it.
#[derive(Debug, Clone)]
pub struct OpenAlert {
    pub id: i64,
    pub rule_id: String,
    pub machine_id: String,
    pub firing: bool,
    pub since_ms: i64,
    pub notified_ms: Option<i64>,
    pub acked: bool,
}

/// Held while an organisation's alerts are evaluated. On PostgreSQL it is a session advisory
/// lock, so replicas take turns and none acts on a state another is changing (SQLite has a
/// single server). Give it back with [`Store::unlock_org`]; dropped instead, its connection
/// is closed rather than pooled, which releases the lock all the same.
pub struct OrgLock(Option<sqlx::pool::PoolConnection<sqlx::Postgres>>);

impl Drop for OrgLock {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            drop(conn.detach());
        }
    }
}

/// Key space of the two-key advisory locks taken per organisation (apart from the one-key
/// rollup lock).
const ALERT_LOCK_SPACE: i32 = 0x0A1E;

/// A change the engine makes to an alert.
#[derive(Debug, Clone)]
pub enum AlertChange {
    /// A new alert, pending or already firing.
    Open {
        rule_id: String,
        machine_id: String,
        firing: bool,
        severity: AlertSeverity,
        kind: RuleKind,
        value: f64,
        detail: String,
        notified: bool,
    },
    /// Still open: new value and detail; `fire` turns a pending one into firing, `notified`
    /// records a notification (firing or reminder) queued now.
    Update {
        id: i64,
        value: f64,
        detail: String,
        fire: bool,
        notified: bool,
    },
    /// A pending alert whose condition ended before it fired: forgotten.
    Drop {
        id: i64,
    },
    Resolve {
        id: i64,
    },
}

/// Filters of the alert list.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    /// `None`: all.
    pub state: Option<AlertState>,
    pub machine: Option<MachineId>,
    pub rule: Option<String>,
    pub limit: i64,
}

row! {
    struct AlertRow {
        id: i64,
        rule_id: String,
        rule_name: String,
        machine_id: String,
        hostname: String,
        state: String,
        severity: String,
        kind: String,
        detail: String,
        since_ms: i64,
        fired_ms: Option<i64>,
        resolved_ms: Option<i64>,
        acked_ms: Option<i64>,
        acked_by: Option<String>,
        notified_ms: Option<i64>,
    }
}

/// A rule's stored specification. Versions before the vocabulary enums accepted any `metric`
/// and `op` on rules of other kinds, where they mean nothing; such values are dropped here
/// rather than make the organisation's rules unreadable.
fn stored_spec(text: &str) -> Result<RuleSpec> {
    let mut value: serde_json::Value = serde_json::from_str(text).map_err(corrupt)?;
    if let Some(spec) = value.as_object_mut()
        && spec.get("kind").and_then(|k| k.as_str()) != Some(RuleKind::Metric.as_str())
    {
        spec.remove("metric");
        spec.remove("op");
    }
    serde_json::from_value(value).map_err(corrupt)
}

impl Store {
    /// Waits for, then takes, the organisation's evaluation lock (PostgreSQL).
    pub async fn lock_org(&self, org: &OrgId) -> Result<OrgLock> {
        match &self.backend {
            super::Backend::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                sqlx::query("SELECT pg_advisory_lock($1, hashtext($2))")
                    .bind(ALERT_LOCK_SPACE)
                    .bind(org.as_str())
                    .execute(&mut *conn)
                    .await?;
                Ok(OrgLock(Some(conn)))
            }
            super::Backend::Sqlite { .. } => Ok(OrgLock(None)),
        }
    }

    pub async fn unlock_org(&self, org: &OrgId, mut lock: OrgLock) -> Result<()> {
        if let Some(mut conn) = lock.0.take() {
            let unlocked = sqlx::query("SELECT pg_advisory_unlock($1, hashtext($2))")
                .bind(ALERT_LOCK_SPACE)
                .bind(org.as_str())
                .execute(&mut *conn)
                .await;
            if let Err(e) = unlocked {
                // Never pool a connection that may still hold the lock.
                drop(conn.detach());
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// Gives the organisation the default rules, once (they are its to change afterwards).
    pub async fn seed_rules(&self, org: &OrgId, rules: &[RuleSpec]) -> Result<()> {
        let now = self.now_ms();
        on_writer!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                let claimed = sqlx::query(
                    "UPDATE orgs SET rules_seeded = TRUE WHERE id = $1 AND rules_seeded = FALSE",
                )
                .bind(org.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if claimed == 1 {
                    for r in rules {
                        sqlx::query(
                            "INSERT INTO rules (id, org_id, name, spec, created_ms) VALUES ($1, $2, $3, $4, $5) \
                             ON CONFLICT (org_id, name) DO NOTHING",
                        )
                        .bind(uuid::Uuid::new_v4().to_string())
                        .bind(org.as_str())
                        .bind(&r.name)
                        .bind(json_text(r)?)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                tx.commit().await?;
                Ok::<_, StoreError>(())
            }
            .await
        })
    }

    /// Ids of organisations not yet given the default rules.
    pub async fn orgs_without_rules(&self) -> Result<Vec<OrgId>> {
        let ids = on_reader!(self, pool => {
            sqlx::query_scalar::<_, String>("SELECT id FROM orgs WHERE rules_seeded = FALSE")
                .fetch_all(pool)
                .await
        })?;
        Ok(ids.into_iter().map(OrgId::from_db).collect())
    }

    pub async fn create_rule(&self, org: &OrgId, spec: &RuleSpec) -> Result<Rule> {
        let id = uuid::Uuid::new_v4().to_string();
        let now = self.now_ms();
        let inserted = execute!(
            self,
            "INSERT INTO rules (id, org_id, name, spec, created_ms) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (org_id, name) DO NOTHING",
            &id,
            org.as_str(),
            &spec.name,
            json_text(spec)?,
            now
        )?;
        one_row(inserted, || {
            StoreError::Conflict(format!("a rule named {:?} already exists", spec.name))
        })?;
        self.rule(org, &id).await
    }

    pub async fn list_rules(&self, org: &OrgId) -> Result<Vec<Rule>> {
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, (String, String, i64)>(
                "SELECT id, spec, created_ms FROM rules WHERE org_id = $1 ORDER BY name",
            )
            .bind(org.as_str())
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|(id, spec, created_ms)| {
                Ok(Rule {
                    id,
                    spec: stored_spec(&spec)?,
                    created_ms,
                })
            })
            .collect()
    }

    pub async fn rule(&self, org: &OrgId, id: &str) -> Result<Rule> {
        let row = on_reader!(self, pool => {
            sqlx::query_as::<_, (String, String, i64)>(
                "SELECT id, spec, created_ms FROM rules WHERE org_id = $1 AND id = $2",
            )
            .bind(org.as_str())
            .bind(id)
            .fetch_optional(pool)
            .await
        })?;
        let (id, spec, created_ms) = row.ok_or(StoreError::NotFound)?;
        Ok(Rule {
            id,
            spec: stored_spec(&spec)?,
            created_ms,
        })
    }

    pub async fn update_rule(&self, org: &OrgId, id: &str, spec: &RuleSpec) -> Result<Rule> {
        let current = self.rule(org, id).await?;
        if spec.name != current.spec.name
            && self
                .list_rules(org)
                .await?
                .iter()
                .any(|r| r.spec.name == spec.name)
        {
            return Err(StoreError::Conflict(format!(
                "a rule named {:?} already exists",
                spec.name
            )));
        }
        execute!(
            self,
            "UPDATE rules SET name = $3, spec = $4 WHERE org_id = $1 AND id = $2",
            org.as_str(),
            id,
            &spec.name,
            json_text(spec)?
        )?;
        self.rule(org, id).await
    }

    /// Deletes a rule and its alerts.
    pub async fn delete_rule(&self, org: &OrgId, id: &str) -> Result<()> {
        self.delete_in_org("rules", org, id).await
    }

    pub async fn open_alerts(&self, org: &OrgId) -> Result<Vec<OpenAlert>> {
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, (i64, String, String, String, i64, Option<i64>, Option<i64>)>(
                "SELECT id, rule_id, machine_id, state, since_ms, notified_ms, acked_ms FROM alerts \
                 WHERE org_id = $1 AND state <> 'resolved'",
            )
            .bind(org.as_str())
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(
                |(id, rule_id, machine_id, state, since_ms, notified_ms, acked)| OpenAlert {
                    id,
                    rule_id,
                    machine_id,
                    firing: state == AlertState::Firing.as_str(),
                    since_ms,
                    notified_ms,
                    acked: acked.is_some(),
                },
            )
            .collect())
    }

    /// Applies the engine's changes and queues the notifications they cause (channel id,
    /// notification), in one transaction: an alert is never marked notified without its
    /// deliveries queued.
    pub async fn apply_alert_changes(
        &self,
        org: &OrgId,
        changes: &[AlertChange],
        deliveries: &[(String, Notification)],
    ) -> Result<()> {
        if changes.is_empty() && deliveries.is_empty() {
            return Ok(());
        }
        let now = self.now_ms();
        on_writer!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                for c in changes {
                    match c {
                        AlertChange::Open { rule_id, machine_id, firing, severity, kind, value, detail, notified } => {
                            sqlx::query(
                                "INSERT INTO alerts (org_id, rule_id, machine_id, state, severity, kind, value, \
                                   detail, since_ms, fired_ms, notified_ms) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                            )
                            .bind(org.as_str())
                            .bind(rule_id)
                            .bind(machine_id)
                            .bind(if *firing { AlertState::Firing } else { AlertState::Pending }.as_str())
                            .bind(severity.as_str())
                            .bind(kind.as_str())
                            .bind(value)
                            .bind(detail)
                            .bind(now)
                            .bind(firing.then_some(now))
                            .bind(notified.then_some(now))
                            .execute(&mut *tx)
                            .await?;
                        }
                        AlertChange::Update { id, value, detail, fire, notified } => {
                            sqlx::query(
                                "UPDATE alerts SET value = $3, detail = $4, \
                                   state = CASE WHEN $5 THEN 'firing' ELSE state END, \
                                   fired_ms = CASE WHEN $5 THEN $6 ELSE fired_ms END, \
                                   notified_ms = CASE WHEN $7 THEN $6 ELSE notified_ms END \
                                 WHERE org_id = $1 AND id = $2",
                            )
                            .bind(org.as_str())
                            .bind(id)
                            .bind(value)
                            .bind(detail)
                            .bind(fire)
                            .bind(now)
                            .bind(notified)
                            .execute(&mut *tx)
                            .await?;
                        }
                        AlertChange::Drop { id } => {
                            sqlx::query("DELETE FROM alerts WHERE org_id = $1 AND id = $2 AND state = 'pending'")
                                .bind(org.as_str())
                                .bind(id)
                                .execute(&mut *tx)
                                .await?;
                        }
                        AlertChange::Resolve { id } => {
                            sqlx::query(
                                "UPDATE alerts SET state = 'resolved', resolved_ms = $3 WHERE org_id = $1 AND id = $2",
                            )
                            .bind(org.as_str())
                            .bind(id)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                }
                for (channel, n) in deliveries {
                    sqlx::query(
                        "INSERT INTO deliveries (org_id, channel_id, notification, status, attempts, \
                           next_attempt_ms, created_ms) VALUES ($1, $2, $3, 'pending', 0, $4, $4)",
                    )
                    .bind(org.as_str())
                    .bind(channel)
                    .bind(json_text(n)?)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok::<_, StoreError>(())
            }
            .await
        })
    }

    pub async fn list_alerts(&self, org: &OrgId, q: &AlertQuery) -> Result<Vec<Alert>> {
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, AlertRow>(
                "SELECT a.id, a.rule_id, r.name AS rule_name, a.machine_id, m.hostname, a.state, a.severity, a.kind, \
                   a.detail, a.since_ms, a.fired_ms, a.resolved_ms, a.acked_ms, a.acked_by, a.notified_ms \
                 FROM alerts a JOIN rules r ON r.id = a.rule_id JOIN machines m ON m.id = a.machine_id \
                 WHERE a.org_id = $1 AND (CAST($2 AS TEXT) IS NULL OR a.state = $2) \
                   AND (CAST($3 AS TEXT) IS NULL OR a.machine_id = $3) \
                   AND (CAST($4 AS TEXT) IS NULL OR a.rule_id = $4) \
                 ORDER BY a.since_ms DESC, a.id DESC LIMIT $5",
            )
            .bind(org.as_str())
            .bind(q.state.map(AlertState::as_str))
            .bind(q.machine.as_ref().map(|m| m.as_str().to_owned()))
            .bind(&q.rule)
            .bind(q.limit)
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|r| {
                Ok(Alert {
                    state: from_name(&r.state)?,
                    severity: from_name(&r.severity)?,
                    kind: from_name(&r.kind)?,
                    notified: r.notified_ms.is_some(),
                    id: r.id,
                    rule_id: r.rule_id,
                    rule_name: r.rule_name,
                    machine_id: r.machine_id,
                    hostname: r.hostname,
                    detail: r.detail,
                    since_ms: r.since_ms,
                    fired_ms: r.fired_ms,
                    resolved_ms: r.resolved_ms,
                    acknowledged_ms: r.acked_ms,
                    acknowledged_by: r.acked_by,
                })
            })
            .collect()
    }

    /// Acknowledges a firing alert: no more reminders.
    pub async fn acknowledge_alert(&self, org: &OrgId, id: i64, by: &str) -> Result<()> {
        let now = self.now_ms();
        let n = execute!(
            self,
            "UPDATE alerts SET acked_ms = COALESCE(acked_ms, $3), acked_by = COALESCE(acked_by, $4) \
                 WHERE org_id = $1 AND id = $2 AND state <> 'resolved'",
            org.as_str(),
            id,
            now,
            by
        )?;
        one_row(n, || StoreError::NotFound)
    }

    pub async fn create_silence(
        &self,
        org: &OrgId,
        s: &CreateSilence,
        by: &str,
    ) -> Result<Silence> {
        let id = uuid::Uuid::new_v4().to_string();
        let now = self.now_ms();
        let starts = s.starts_ms.unwrap_or(now);
        execute!(
            self,
            "INSERT INTO silences (id, org_id, scope, rule_id, starts_ms, ends_ms, reason, created_by, created_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &id,
            org.as_str(),
            json_text(&s.scope)?,
            &s.rule_id,
            starts,
            s.ends_ms,
            &s.reason,
            by,
            now
        )?;
        Ok(Silence {
            id,
            scope: s.scope.clone(),
            rule_id: s.rule_id.clone(),
            starts_ms: starts,
            ends_ms: s.ends_ms,
            reason: s.reason.clone(),
            created_by: by.to_owned(),
        })
    }

    /// Silences not yet ended (active or to come), soonest first.
    pub async fn list_silences(&self, org: &OrgId) -> Result<Vec<Silence>> {
        let now = self.now_ms();
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, (String, String, Option<String>, i64, i64, String, String)>(
                "SELECT id, scope, rule_id, starts_ms, ends_ms, reason, created_by FROM silences \
                 WHERE org_id = $1 AND ends_ms > $2 ORDER BY starts_ms",
            )
            .bind(org.as_str())
            .bind(now)
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(
                |(id, scope, rule_id, starts_ms, ends_ms, reason, created_by)| {
                    Ok(Silence {
                        id,
                        scope: serde_json::from_str::<RuleScope>(&scope).map_err(corrupt)?,
                        rule_id,
                        starts_ms,
                        ends_ms,
                        reason,
                        created_by,
                    })
                },
            )
            .collect()
    }

    pub async fn delete_silence(&self, org: &OrgId, id: &str) -> Result<()> {
        self.delete_in_org("silences", org, id).await
    }

    /// Per machine of `org`: each disk's name and verdict, acknowledged warnings as ok.
    pub async fn disk_verdicts(
        &self,
        org: &OrgId,
    ) -> Result<HashMap<String, Vec<(String, Verdict)>>> {
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, (String, String, String, String, Option<String>)>(
                "SELECT d.machine_id, d.name, d.verdict, d.reasons, d.ack_reasons FROM disks d \
                 JOIN machines m ON m.id = d.machine_id WHERE m.org_id = $1",
            )
            .bind(org.as_str())
            .fetch_all(pool)
            .await
        })?;
        let mut out: HashMap<String, Vec<(String, Verdict)>> = HashMap::new();
        for (machine, name, verdict, reasons, ack) in rows {
            if let Some((v, _)) = counted_verdict(&verdict, &reasons, ack.as_deref())? {
                out.entry(machine).or_default().push((name, v));
            }
        }
        Ok(out)
    }

    /// Per machine of `org` whose agent has dropped reports: how many in all (as of its
    /// newest report) and when that count last grew.
    pub async fn agent_drops(&self, org: &OrgId) -> Result<HashMap<String, (i64, Option<i64>)>> {
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, (String, i64, Option<i64>)>(
                "SELECT id, dropped_total, dropped_ms FROM machines \
                 WHERE org_id = $1 AND dropped_total > 0",
            )
            .bind(org.as_str())
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(m, total, ms)| (m, (total, ms)))
            .collect())
    }

    /// Per machine of `org`: event entries at least `min` severe, last seen after
    /// `since_ms`, whose message or source contains `pattern` (any case).
    pub async fn event_counts(
        &self,
        org: &OrgId,
        min: EventSeverity,
        pattern: Option<&str>,
        since_ms: i64,
    ) -> Result<HashMap<String, u64>> {
        let like = pattern.map(like_pattern);
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, (String, i64)>(
                "SELECT machine_id, CAST(SUM(count) AS BIGINT) FROM events \
                 WHERE org_id = $1 AND severity >= $2 AND last_ts_ms > $3 \
                   AND (CAST($4 AS TEXT) IS NULL OR LOWER(message) LIKE $4 ESCAPE '\\' \
                        OR LOWER(source) LIKE $4 ESCAPE '\\') \
                 GROUP BY machine_id",
            )
            .bind(org.as_str())
            .bind(severity_rank(min))
            .bind(since_ms)
            .bind(&like)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(m, n)| (m, u64::try_from(n).unwrap_or(0)))
            .collect())
    }
}
