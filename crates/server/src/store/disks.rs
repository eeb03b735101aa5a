//! Disk health as stored: each report's S.M.A.R.T. snapshot updates the machine's disks
//! (current state and verdict, judged by `fleet::disks`, never taken from the agent) and
//! appends to their history.

use optralis_proto::agent::Report;
use optralis_proto::smart::{Disk, DiskSample, MachineDisks, SmartDevice, Verdict};
use optralis_proto::vocabulary::SourceState;

use super::{
    Backend, BackendRef, Result, Store, StoreError, corrupt, execute, from_name, json_text,
    on_reader, on_writer, row,
};
use crate::fleet::disks::{self, acknowledgement_holds};
use crate::ids::{MachineId, OrgId};

/// A stored disk's verdict as the health score and alerts count it (an acknowledged warning
/// that has not worsened counts as ok), with the acknowledged reasons; `None` for a verdict
/// this version does not know.
pub(super) fn counted_verdict(
    verdict: &str,
    reasons: &str,
    ack_reasons: Option<&str>,
) -> Result<Option<(Verdict, Option<Vec<String>>)>> {
    let Some(verdict) = Verdict::parse(verdict) else {
        return Ok(None);
    };
    let reasons: Vec<String> = serde_json::from_str(reasons).map_err(super::corrupt)?;
    let acked: Option<Vec<String>> = ack_reasons
        .map(serde_json::from_str)
        .transpose()
        .map_err(super::corrupt)?;
    Ok(Some((
        disks::counted(verdict, &reasons, acked.as_deref()),
        acked,
    )))
}

/// Stores the S.M.A.R.T. snapshots of committed reports (called by the ingest writer before
/// it answers, so an acknowledged report has its disks stored). Idempotent: a replay
/// rewrites the same state and adds no sample twice.
pub(super) async fn write_snapshots(
    backend: &Backend,
    machine: &str,
    reports: &[&Report],
) -> Result<()> {
    let store = BackendRef { backend };
    for r in reports {
        let Some(snapshot) = &r.smart else { continue };
        on_writer!(store, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE machines SET smart_read_ms = $1, smart_unavailable = $2 \
                 WHERE id = $3 AND (smart_read_ms IS NULL OR smart_read_ms <= $1)",
            )
            .bind(r.ts_ms)
            .bind(snapshot.unavailable.as_deref())
            .bind(machine)
            .execute(&mut *tx)
            .await?;
            for d in &snapshot.devices {
                let previous: Option<String> = sqlx::query_scalar(
                    "SELECT device FROM disks WHERE machine_id = $1 AND disk_key = $2 AND last_seen_ms < $3",
                )
                .bind(machine)
                .bind(d.key())
                .bind(r.ts_ms)
                .fetch_optional(&mut *tx)
                .await?;
                let before = previous.and_then(|p| serde_json::from_str::<SmartDevice>(&p).ok());
                let (verdict, reasons) = disks::judge(d, before.as_ref());
                let s = disks::history_point(d, r.ts_ms, verdict);
                sqlx::query(
                    "INSERT INTO disks (machine_id, disk_key, name, device_type, protocol, model, serial, \
                       verdict, reasons, device, first_seen_ms, last_seen_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
                     ON CONFLICT (machine_id, disk_key) DO UPDATE SET \
                       name = excluded.name, device_type = excluded.device_type, \
                       protocol = excluded.protocol, model = excluded.model, serial = excluded.serial, \
                       verdict = excluded.verdict, reasons = excluded.reasons, device = excluded.device, \
                       last_seen_ms = excluded.last_seen_ms \
                     WHERE disks.last_seen_ms < excluded.last_seen_ms",
                )
                .bind(machine)
                .bind(d.key())
                .bind(&d.name)
                .bind(&d.device_type)
                .bind(d.protocol.as_str())
                .bind(&d.model)
                .bind(&d.serial)
                .bind(verdict.as_str())
                .bind(json_text(&reasons)?)
                .bind(json_text(d)?)
                .bind(r.ts_ms)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO disk_samples (machine_id, disk_key, ts_ms, verdict, temperature_c, \
                       power_on_hours, reallocated, pending, uncorrectable, media_errors, \
                       percentage_used, grown_defects) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                     ON CONFLICT (machine_id, disk_key, ts_ms) DO NOTHING",
                )
                .bind(machine)
                .bind(d.key())
                .bind(s.ts_ms)
                .bind(verdict.as_str())
                .bind(s.temperature_c)
                .bind(s.power_on_hours)
                .bind(s.reallocated)
                .bind(s.pending)
                .bind(s.uncorrectable)
                .bind(s.media_errors)
                .bind(s.percentage_used)
                .bind(s.grown_defects)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
    }
    Ok(())
}

row! {
    struct DiskRow {
        /// The latest reading, as JSON.
        device: String,
        verdict: String,
        reasons: String,
        name: String,
        device_type: String,
        protocol: String,
        model: String,
        serial: String,
        disk_key: String,
        first_seen_ms: i64,
        last_seen_ms: i64,
        ack_ms: Option<i64>,
        ack_reasons: Option<String>,
    }
}

impl Store {
    /// Acknowledges a disk's current warning (`on`), or withdraws the acknowledgement.
    /// Only a warning can be acknowledged: a failing disk always counts.
    pub async fn acknowledge_disk(
        &self,
        org: &OrgId,
        machine: &MachineId,
        key: &str,
        on: bool,
    ) -> Result<()> {
        self.check_machine(org, machine).await?;
        let row = on_reader!(self, pool => {
            sqlx::query_as::<_, (String, String)>(
                "SELECT verdict, reasons FROM disks WHERE machine_id = $1 AND disk_key = $2",
            )
            .bind(machine.as_str())
            .bind(key)
            .fetch_optional(pool)
            .await
        })?;
        let (verdict, reasons) = row.ok_or(StoreError::NotFound)?;
        if on && from_name::<Verdict>(&verdict)? != Verdict::Warning {
            return Err(StoreError::Conflict(format!(
                "only a warning can be acknowledged; this disk is {verdict}"
            )));
        }
        let now = self.now_ms();
        execute!(
            self,
            "UPDATE disks SET ack_ms = $3, ack_reasons = $4 WHERE machine_id = $1 AND disk_key = $2",
            machine.as_str(),
            key,
            on.then_some(now),
            on.then_some(reasons)
        )?;
        self.forget_health_state(Some(machine.as_str()));
        Ok(())
    }
    pub async fn machine_disks(&self, org: &OrgId, machine: &MachineId) -> Result<MachineDisks> {
        let head = on_reader!(self, pool => {
            sqlx::query_as::<_, (Option<i64>, Option<String>)>(
                "SELECT smart_read_ms, smart_unavailable FROM machines WHERE org_id = $1 AND id = $2",
            )
            .bind(org.as_str())
            .bind(machine.as_str())
            .fetch_optional(pool)
            .await
        })?;
        let (read_at_ms, unavailable) = head.ok_or(StoreError::NotFound)?;
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, DiskRow>(
                "SELECT device, verdict, reasons, name, device_type, protocol, model, serial, disk_key, \
                   first_seen_ms, last_seen_ms, ack_ms, ack_reasons FROM disks WHERE machine_id = $1 \
                 ORDER BY name, disk_key",
            )
            .bind(machine.as_str())
            .fetch_all(pool)
            .await
        })?;
        let disks = rows
            .into_iter()
            .map(|r| {
                let verdict: Verdict = from_name(&r.verdict)?;
                let reasons: Vec<String> = serde_json::from_str(&r.reasons).map_err(corrupt)?;
                let acked: Option<Vec<String>> = r
                    .ack_reasons
                    .map(|a| serde_json::from_str(&a))
                    .transpose()
                    .map_err(corrupt)?;
                let acknowledged = acknowledgement_holds(verdict, &reasons, acked.as_deref());
                Ok(Disk {
                    key: r.disk_key,
                    name: r.name,
                    device_type: r.device_type,
                    protocol: from_name(&r.protocol)?,
                    model: r.model,
                    serial: r.serial,
                    verdict,
                    reasons,
                    first_seen_ms: r.first_seen_ms,
                    last_seen_ms: r.last_seen_ms,
                    acknowledged,
                    acknowledged_ms: r.ack_ms.filter(|_| acknowledged),
                    device: serde_json::from_str(&r.device).map_err(corrupt)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(MachineDisks {
            state: SourceState::of(read_at_ms, unavailable.as_ref()),
            reason: unavailable,
            read_at_ms,
            disks,
        })
    }

    /// A disk's history between `from_ms` and `to_ms`, oldest first.
    pub async fn disk_history(
        &self,
        org: &OrgId,
        machine: &MachineId,
        disk_key: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<DiskSample>> {
        self.check_machine(org, machine).await?;
        row! {
            struct Row {
                ts_ms: i64,
                verdict: String,
                temperature_c: Option<f64>,
                power_on_hours: Option<f64>,
                reallocated: Option<f64>,
                pending: Option<f64>,
                uncorrectable: Option<f64>,
                media_errors: Option<f64>,
                percentage_used: Option<f64>,
                grown_defects: Option<f64>,
            }
        }
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, Row>(
                "SELECT ts_ms, verdict, temperature_c, power_on_hours, reallocated, pending, \
                   uncorrectable, media_errors, percentage_used, grown_defects FROM disk_samples \
                 WHERE machine_id = $1 AND disk_key = $2 AND ts_ms >= $3 AND ts_ms <= $4 ORDER BY ts_ms",
            )
            .bind(machine.as_str())
            .bind(disk_key)
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(pool)
            .await
        })?;
        if rows.is_empty() {
            // An unknown disk is a 404, an empty range of a known one is not.
            let known = on_reader!(self, pool => {
                sqlx::query_scalar::<_, String>("SELECT disk_key FROM disks WHERE machine_id = $1 AND disk_key = $2")
                    .bind(machine.as_str())
                    .bind(disk_key)
                    .fetch_optional(pool)
                    .await
            })?;
            known.ok_or(StoreError::NotFound)?;
        }
        rows.into_iter()
            .map(|r| {
                Ok(DiskSample {
                    ts_ms: r.ts_ms,
                    verdict: from_name(&r.verdict)?,
                    temperature_c: r.temperature_c,
                    power_on_hours: r.power_on_hours,
                    reallocated: r.reallocated,
                    pending: r.pending,
                    uncorrectable: r.uncorrectable,
                    media_errors: r.media_errors,
                    percentage_used: r.percentage_used,
                    grown_defects: r.grown_defects,
                })
            })
            .collect()
    }
}
