//! Fleet organisation: groups and their members, labels, a machine's name, notes,
//! retirement and deletion, its status history, and the organisation's fleet settings.

use std::collections::HashMap;

use optralis_proto::api::StatusChange;

use super::{Result, Store, StoreError, execute, from_name, on_reader, on_writer, one_row};
use crate::fleet::labels::Labels;
use crate::ids::{MachineId, OrgId};

#[derive(Debug, Clone)]
pub struct GroupInfo {
    pub id: String,
    pub name: String,
    pub color: String,
    pub description: String,
    pub machine_count: i64,
    pub created_ms: i64,
}

/// What an admin may change on a machine; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct MachineUpdate {
    /// `Some(None)` goes back to the hostname.
    pub display_name: Option<Option<String>>,
    pub notes: Option<String>,
    pub decommissioned: Option<bool>,
}

type GroupRow = (String, String, String, String, i64, i64);

const GROUP_SELECT: &str = "SELECT g.id, g.name, g.color, g.description, \
     (SELECT COUNT(*) FROM machine_groups mg WHERE mg.group_id = g.id), g.created_ms \
     FROM groups g WHERE g.org_id = $1";

fn group_from_row(
    (id, name, color, description, machine_count, created_ms): GroupRow,
) -> GroupInfo {
    GroupInfo {
        id,
        name,
        color,
        description,
        machine_count,
        created_ms,
    }
}

fn name_taken(name: &str) -> StoreError {
    StoreError::Conflict(format!("a group named {name:?} already exists"))
}

/// Tables of per-machine samples without a foreign key (see 0001_init.sql).
pub(super) const SAMPLE_TABLES: [&str; 5] = [
    "metrics_raw",
    "instance_raw",
    "rollup_5m",
    "rollup_1h",
    "disk_samples",
];

/// What a group update changes; `None` keeps the current value.
#[derive(Debug, Clone, Copy, Default)]
pub struct GroupChange<'a> {
    pub name: Option<&'a str>,
    /// `#rrggbb`.
    pub color: Option<&'a str>,
    pub description: Option<&'a str>,
}

impl Store {
    pub async fn list_groups(&self, org: &OrgId) -> Result<Vec<GroupInfo>> {
        let sql = format!("{GROUP_SELECT} ORDER BY g.name");
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, GroupRow>(&sql).bind(org.as_str()).fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(group_from_row).collect())
    }

    pub async fn get_group(&self, org: &OrgId, id: &str) -> Result<GroupInfo> {
        let sql = format!("{GROUP_SELECT} AND g.id = $2");
        let row = on_reader!(self, pool => {
            sqlx::query_as::<_, GroupRow>(&sql)
                .bind(org.as_str())
                .bind(id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(group_from_row(row.ok_or(StoreError::NotFound)?))
    }

    pub async fn create_group(
        &self,
        org: &OrgId,
        name: &str,
        color: &str,
        description: &str,
    ) -> Result<GroupInfo> {
        let id = uuid::Uuid::new_v4().to_string();
        let now = self.now_ms();
        let inserted = execute!(
            self,
            "INSERT INTO groups (id, org_id, name, color, description, created_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id, name) DO NOTHING",
            &id,
            org.as_str(),
            name,
            color,
            description,
            now
        )?;
        one_row(inserted, || name_taken(name))?;
        self.get_group(org, &id).await
    }

    pub async fn update_group(
        &self,
        org: &OrgId,
        id: &str,
        change: GroupChange<'_>,
    ) -> Result<GroupInfo> {
        let current = self.get_group(org, id).await?;
        if let Some(name) = change.name
            && name != current.name
            && self.list_groups(org).await?.iter().any(|g| g.name == name)
        {
            return Err(name_taken(name));
        }
        execute!(
            self,
            "UPDATE groups SET name = COALESCE($3, name), color = COALESCE($4, color), \
                 description = COALESCE($5, description) WHERE org_id = $1 AND id = $2",
            org.as_str(),
            id,
            change.name,
            change.color,
            change.description
        )?;
        self.get_group(org, id).await
    }

    pub async fn delete_group(&self, org: &OrgId, id: &str) -> Result<()> {
        self.delete_in_org("groups", org, id).await
    }

    /// Fails with [`StoreError::NotFound`] naming the first id that is not a machine (or a
    /// group) of `org`.
    async fn check_ids(&self, org: &OrgId, table: &'static str, ids: &[String]) -> Result<()> {
        let sql = format!("SELECT id FROM {table} WHERE org_id = $1");
        let known: std::collections::HashSet<String> = on_reader!(self, pool => {
            sqlx::query_scalar::<_, String>(&sql).bind(org.as_str()).fetch_all(pool).await
        })?
        .into_iter()
        .collect();
        match ids.iter().find(|id| !known.contains(id.as_str())) {
            Some(_) => Err(StoreError::NotFound),
            None => Ok(()),
        }
    }

    /// Adds and removes machines of a group, all or nothing.
    pub async fn edit_group_members(
        &self,
        org: &OrgId,
        group: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<GroupInfo> {
        self.get_group(org, group).await?;
        self.check_ids(org, "machines", add).await?;
        self.check_ids(org, "machines", remove).await?;
        on_writer!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                for m in add {
                    sqlx::query(
                        "INSERT INTO machine_groups (machine_id, group_id) VALUES ($1, $2) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(m)
                    .bind(group)
                    .execute(&mut *tx)
                    .await?;
                }
                for m in remove {
                    sqlx::query("DELETE FROM machine_groups WHERE machine_id = $1 AND group_id = $2")
                        .bind(m)
                        .bind(group)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok::<_, StoreError>(())
            }
            .await
        })?;
        self.get_group(org, group).await
    }

    /// Replaces the groups of one machine.
    pub async fn set_machine_groups(
        &self,
        org: &OrgId,
        machine: &MachineId,
        groups: &[String],
    ) -> Result<()> {
        self.check_machine(org, machine).await?;
        self.check_ids(org, "groups", groups).await?;
        on_writer!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                sqlx::query("DELETE FROM machine_groups WHERE machine_id = $1")
                    .bind(machine.as_str())
                    .execute(&mut *tx)
                    .await?;
                for g in groups {
                    sqlx::query(
                        "INSERT INTO machine_groups (machine_id, group_id) VALUES ($1, $2) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(machine.as_str())
                    .bind(g)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok::<_, StoreError>(())
            }
            .await
        })
    }

    /// Group ids per machine id, for the machines of `org` (or one of them).
    pub(super) async fn group_ids_by_machine(
        &self,
        org: &OrgId,
        machine: Option<&MachineId>,
    ) -> Result<HashMap<String, Vec<String>>> {
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, (String, String)>(
                "SELECT mg.machine_id, mg.group_id FROM machine_groups mg \
                 JOIN groups g ON g.id = mg.group_id \
                 WHERE g.org_id = $1 AND ($2 IS NULL OR mg.machine_id = $2) \
                 ORDER BY g.name",
            )
            .bind(org.as_str())
            .bind(machine.map(MachineId::as_str))
            .fetch_all(pool)
            .await
        })?;
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (m, g) in rows {
            map.entry(m).or_default().push(g);
        }
        Ok(map)
    }

    /// Replaces the API-set labels of a machine. Keys the agent declares are refused:
    /// they belong to the machine's own configuration.
    pub async fn set_machine_labels(
        &self,
        org: &OrgId,
        machine: &MachineId,
        labels: &Labels,
    ) -> Result<()> {
        let agent_labels = on_reader!(self, pool => {
            sqlx::query_scalar::<_, String>(
                "SELECT agent_labels FROM machines WHERE org_id = $1 AND id = $2",
            )
            .bind(org.as_str())
            .bind(machine.as_str())
            .fetch_optional(pool)
            .await
        })?
        .ok_or(StoreError::NotFound)?;
        let agent: Labels =
            serde_json::from_str(&agent_labels).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if let Some(key) = labels.keys().find(|k| agent.contains_key(*k)) {
            return Err(StoreError::Conflict(format!(
                "label {key:?} is set by the agent's configuration and cannot be changed here"
            )));
        }
        let json = serde_json::to_string(labels).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        execute!(
            self,
            "UPDATE machines SET labels = $3 WHERE org_id = $1 AND id = $2",
            org.as_str(),
            machine.as_str(),
            &json
        )?;
        Ok(())
    }

    pub async fn update_machine(
        &self,
        org: &OrgId,
        machine: &MachineId,
        update: &MachineUpdate,
    ) -> Result<()> {
        self.check_machine(org, machine).await?;
        let now = self.now_ms();
        let set_name = update.display_name.is_some();
        let name = update.display_name.clone().flatten();
        execute!(
            self,
            "UPDATE machines SET \
                 display_name = CASE WHEN $3 THEN $4 ELSE display_name END, \
                 notes = COALESCE($5, notes), \
                 decommissioned_ms = CASE WHEN $6 IS NULL THEN decommissioned_ms \
                                          WHEN $6 THEN COALESCE(decommissioned_ms, $7) ELSE NULL END \
                 WHERE org_id = $1 AND id = $2",
            org.as_str(),
            machine.as_str(),
            set_name,
            name,
            update.notes.as_deref(),
            update.decommissioned,
            now
        )?;
        Ok(())
    }

    /// Deletes a machine with all its data. Its token stops working at once.
    pub async fn delete_machine(&self, org: &OrgId, machine: &MachineId) -> Result<()> {
        self.check_machine(org, machine).await?;
        on_writer!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                for table in SAMPLE_TABLES {
                    sqlx::query(&format!("DELETE FROM {table} WHERE machine_id = $1"))
                        .bind(machine.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("DELETE FROM machines WHERE org_id = $1 AND id = $2")
                    .bind(org.as_str())
                    .bind(machine.as_str())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok::<_, StoreError>(())
            }
            .await
        })?;
        self.forget_agents(super::live_relay::Forget::Machine(
            machine.as_str().to_owned(),
        ));
        self.forget_health_state(Some(machine.as_str()));
        Ok(())
    }

    /// A machine's status changes, oldest first, within `[from, to]`.
    pub async fn status_history(
        &self,
        org: &OrgId,
        machine: &MachineId,
        from: i64,
        to: i64,
    ) -> Result<Vec<StatusChange>> {
        self.check_machine(org, machine).await?;
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, (i64, String, i64)>(
                "SELECT ts_ms, status, score FROM status_log \
                 WHERE machine_id = $1 AND ts_ms >= $2 AND ts_ms <= $3 ORDER BY ts_ms",
            )
            .bind(machine.as_str())
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|(ts_ms, status, score)| {
                Ok(StatusChange {
                    ts_ms,
                    status: from_name(&status)?,
                    score: u8::try_from(score.clamp(0, 100)).unwrap_or(0),
                })
            })
            .collect()
    }

    /// Sets the organisation's offline factor and degraded-score threshold.
    pub async fn set_fleet_settings(
        &self,
        org: &OrgId,
        offline_after_intervals: Option<i64>,
        degraded_below_score: Option<i64>,
    ) -> Result<()> {
        execute!(
            self,
            "UPDATE orgs SET offline_after_intervals = COALESCE($2, offline_after_intervals), \
                 degraded_below_score = COALESCE($3, degraded_below_score) WHERE id = $1",
            org.as_str(),
            offline_after_intervals,
            degraded_below_score
        )?;
        self.forget_health_state(None);
        Ok(())
    }
}
