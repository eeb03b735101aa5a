//! Release keys, agent releases, rollouts and each machine's place in one. Releases are
//! platform-wide; rollouts and their machines belong to one organisation.

use optralis_proto::release::verify::TrustedKey;
use optralis_proto::release::{AgentRelease, Platform, RolloutScope, RolloutState, UpdateState};

use super::{
    Result, Store, StoreError, corrupt, execute, from_name, json_text, on_reader, on_writer,
    one_row,
};
use crate::ids::{MachineId, OrgId, RolloutId};
use crate::updates::releases::CheckedRelease;
use crate::updates::rollout::{Slot, Tally, stale_before};

/// A rollout as stored.
#[derive(Debug, Clone)]
pub struct StoredRollout {
    pub id: RolloutId,
    pub version: String,
    pub scope: RolloutScope,
    pub canary_count: u32,
    pub halt_failure_percent: u32,
    pub health_window_s: u32,
    /// Failures accepted by resuming after a halt.
    pub failures_accepted: u32,
    pub state: RolloutState,
    pub reason: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// What a new rollout covers, resolved by the caller.
#[derive(Debug, Clone)]
pub struct NewRollout {
    pub version: String,
    pub scope: RolloutScope,
    pub canaries: Vec<MachineId>,
    pub others: Vec<MachineId>,
    pub halt_failure_percent: u32,
    pub health_window_s: u32,
}

/// One machine's row of a rollout, for listings.
#[derive(Debug, Clone)]
pub struct RolloutMachine {
    pub machine_id: MachineId,
    pub slot: Slot,
    pub reason: Option<String>,
}

super::row! {
    struct RolloutRow {
        id: String,
        version: String,
        scope: String,
        canary_count: i64,
        halt_failure_percent: i64,
        health_window_s: i64,
        failures_accepted: i64,
        state: String,
        reason: Option<String>,
        created_ms: i64,
        updated_ms: i64,
    }
}

/// The states of a rollout that is not over, as an SQL list (`'running', …`): at most one
/// per organisation. Written from the vocabulary's names, which are constants.
static ACTIVE_STATES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    [
        RolloutState::Running,
        RolloutState::Paused,
        RolloutState::Halted,
    ]
    .map(|s| format!("'{}'", s.as_str()))
    .join(", ")
});

const ROLLOUT_COLUMNS: &str = "id, version, scope, canary_count, halt_failure_percent, \
     health_window_s, failures_accepted, state, reason, created_ms, updated_ms";

fn rollout_from_row(r: RolloutRow) -> Result<StoredRollout> {
    let small = |v: i64| u32::try_from(v).map_err(corrupt);
    Ok(StoredRollout {
        id: RolloutId::from_db(r.id),
        version: r.version,
        scope: serde_json::from_str(&r.scope).map_err(corrupt)?,
        canary_count: small(r.canary_count)?,
        halt_failure_percent: small(r.halt_failure_percent)?,
        health_window_s: small(r.health_window_s)?,
        failures_accepted: small(r.failures_accepted)?,
        state: from_name(&r.state)?,
        reason: r.reason,
        created_ms: r.created_ms,
        updated_ms: r.updated_ms,
    })
}

super::row! {
    struct ReleaseRow {
        platform: String,
        version: String,
        serial: i64,
        size: i64,
        sha256: String,
        key_id: String,
        published_ms: i64,
    }
}

const RELEASE_COLUMNS: &str = "platform, version, serial, size, sha256, key_id, published_ms";

fn release_from_row(r: ReleaseRow) -> Result<AgentRelease> {
    Ok(AgentRelease {
        platform: from_name(&r.platform)?,
        version: r.version,
        serial: u64::try_from(r.serial).map_err(corrupt)?,
        size: u64::try_from(r.size).map_err(corrupt)?,
        sha256: r.sha256,
        key_id: r.key_id,
        published_ms: r.published_ms,
    })
}

fn state_of(s: Option<String>) -> Result<Option<UpdateState>> {
    s.as_deref().map(from_name).transpose()
}

impl Store {
    /// Trusts `key` for releases from now on (again: no change).
    pub async fn trust_release_key(&self, key: &TrustedKey) -> Result<bool> {
        let added = execute!(
            self,
            "INSERT INTO release_keys (key_id, public_key, added_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (key_id) DO NOTHING",
            &key.id,
            &key.base64,
            self.now_ms()
        )?;
        Ok(added > 0)
    }

    pub async fn release_keys(&self) -> Result<Vec<TrustedKey>> {
        let keys = on_reader!(self, pool => {
            sqlx::query_scalar::<_, String>("SELECT public_key FROM release_keys ORDER BY added_ms")
                .fetch_all(pool)
                .await
        })?;
        keys.iter()
            .map(|k| TrustedKey::parse(k).map_err(corrupt))
            .collect()
    }

    /// Stores a checked release; the same version and platform twice is a conflict.
    pub async fn publish_release(
        &self,
        checked: &CheckedRelease,
        signature: &str,
        file: &[u8],
    ) -> Result<AgentRelease> {
        let c = &checked.comment;
        let serial = i64::try_from(c.serial).map_err(corrupt)?;
        let size = i64::try_from(checked.size).map_err(corrupt)?;
        let now = self.now_ms();
        let added = execute!(
            self,
            "INSERT INTO agent_releases (platform, version, serial, size, sha256, signature, \
             key_id, file, published_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (platform, version) DO NOTHING",
            c.platform.as_str(),
            &c.version,
            serial,
            size,
            &checked.sha256,
            signature,
            &checked.key_id,
            file,
            now
        )?;
        one_row(added, || {
            StoreError::Conflict(format!(
                "release {} for {} is already published",
                c.version,
                c.platform.as_str()
            ))
        })?;
        Ok(AgentRelease {
            version: c.version.clone(),
            platform: c.platform,
            serial: c.serial,
            size: checked.size,
            sha256: checked.sha256.clone(),
            key_id: checked.key_id.clone(),
            published_ms: now,
        })
    }

    pub async fn list_releases(&self) -> Result<Vec<AgentRelease>> {
        let sql = format!(
            "SELECT {RELEASE_COLUMNS} FROM agent_releases ORDER BY published_ms DESC, platform"
        );
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, ReleaseRow>(&sql).fetch_all(pool).await
        })?;
        rows.into_iter().map(release_from_row).collect()
    }

    /// One release with its signature.
    pub async fn release(
        &self,
        platform: Platform,
        version: &str,
    ) -> Result<(AgentRelease, String)> {
        super::row! {
            struct SignedRow {
                platform: String,
                version: String,
                serial: i64,
                size: i64,
                sha256: String,
                key_id: String,
                published_ms: i64,
                signature: String,
            }
        }
        let sql = format!(
            "SELECT {RELEASE_COLUMNS}, signature FROM agent_releases \
             WHERE platform = $1 AND version = $2"
        );
        let r = on_reader!(self, pool => {
            sqlx::query_as::<_, SignedRow>(&sql)
                .bind(platform.as_str())
                .bind(version)
                .fetch_optional(pool)
                .await
        })?
        .ok_or(StoreError::NotFound)?;
        let release = release_from_row(ReleaseRow {
            platform: r.platform,
            version: r.version,
            serial: r.serial,
            size: r.size,
            sha256: r.sha256,
            key_id: r.key_id,
            published_ms: r.published_ms,
        })?;
        Ok((release, r.signature))
    }

    /// The bytes of a release's file.
    pub async fn release_file(&self, platform: Platform, version: &str) -> Result<Vec<u8>> {
        on_reader!(self, pool => {
            sqlx::query_scalar::<_, Vec<u8>>(
                "SELECT file FROM agent_releases WHERE platform = $1 AND version = $2",
            )
            .bind(platform.as_str())
            .bind(version)
            .fetch_optional(pool)
            .await
        })?
        .ok_or(StoreError::NotFound)
    }

    /// Whether any platform has a release of `version`.
    pub async fn version_released(&self, version: &str) -> Result<bool> {
        let n = on_reader!(self, pool => {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM agent_releases WHERE version = $1")
                .bind(version)
                .fetch_one(pool)
                .await
        })?;
        Ok(n > 0)
    }

    /// Makes `new` the organisation's rollout; one that was running or paused is cancelled.
    pub async fn create_rollout(&self, org: &OrgId, new: &NewRollout) -> Result<StoredRollout> {
        let id = RolloutId::new_random();
        let now = self.now_ms();
        let scope = json_text(&new.scope)?;
        let canaries = i64::try_from(new.canaries.len()).map_err(corrupt)?;
        let cancel = format!(
            "UPDATE rollouts SET state = $1, reason = $2, updated_ms = $3 \
             WHERE org_id = $4 AND state IN ({})",
            *ACTIVE_STATES
        );
        on_writer!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                sqlx::query(&cancel)
                    .bind(RolloutState::Cancelled.as_str())
                    .bind(format!("replaced by the rollout of {}", new.version))
                    .bind(now)
                    .bind(org.as_str())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO rollouts (id, org_id, version, scope, canary_count, \
                     halt_failure_percent, health_window_s, state, created_ms, updated_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                )
                .bind(id.as_str())
                .bind(org.as_str())
                .bind(&new.version)
                .bind(&scope)
                .bind(canaries)
                .bind(i64::from(new.halt_failure_percent))
                .bind(i64::from(new.health_window_s))
                .bind(RolloutState::Running.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let all = new.canaries.iter().map(|m| (m, true))
                    .chain(new.others.iter().map(|m| (m, false)));
                for (machine, canary) in all {
                    // The machine must be the organisation's: the insert selects it there.
                    sqlx::query(
                        "INSERT INTO rollout_machines (rollout_id, machine_id, canary) \
                         SELECT $1, id, $2 FROM machines WHERE org_id = $3 AND id = $4",
                    )
                    .bind(id.as_str())
                    .bind(canary)
                    .bind(org.as_str())
                    .bind(machine.as_str())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok::<_, StoreError>(())
            }
            .await
        })?;
        self.get_rollout(org, &id).await
    }

    pub async fn list_rollouts(&self, org: &OrgId) -> Result<Vec<StoredRollout>> {
        // The active one first (two made in the same millisecond would tie).
        let sql = format!(
            "SELECT {ROLLOUT_COLUMNS} FROM rollouts WHERE org_id = $1 \
             ORDER BY CASE WHEN state IN ({}) THEN 0 ELSE 1 END, created_ms DESC, id LIMIT 100",
            *ACTIVE_STATES
        );
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, RolloutRow>(&sql).bind(org.as_str()).fetch_all(pool).await
        })?;
        rows.into_iter().map(rollout_from_row).collect()
    }

    pub async fn get_rollout(&self, org: &OrgId, id: &RolloutId) -> Result<StoredRollout> {
        let sql = format!("SELECT {ROLLOUT_COLUMNS} FROM rollouts WHERE org_id = $1 AND id = $2");
        let row = on_reader!(self, pool => {
            sqlx::query_as::<_, RolloutRow>(&sql)
                .bind(org.as_str())
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
        })?;
        rollout_from_row(row.ok_or(StoreError::NotFound)?)
    }

    /// Moves a rollout from one of `from` to `to`; false when it was in none of them.
    pub async fn set_rollout_state(
        &self,
        org: &OrgId,
        id: &RolloutId,
        from: &[RolloutState],
        to: RolloutState,
        reason: Option<&str>,
    ) -> Result<bool> {
        let mut changed = 0;
        for f in from {
            changed += execute!(
                self,
                "UPDATE rollouts SET state = $1, reason = $2, updated_ms = $3 \
                 WHERE org_id = $4 AND id = $5 AND state = $6",
                to.as_str(),
                reason,
                self.now_ms(),
                org.as_str(),
                id.as_str(),
                f.as_str()
            )?;
        }
        Ok(changed > 0)
    }

    /// Resumes a halted rollout, its failures so far accepted; false if it was not halted.
    pub async fn resume_halted_rollout(
        &self,
        org: &OrgId,
        id: &RolloutId,
        failures_accepted: u32,
        reason: &str,
    ) -> Result<bool> {
        let changed = execute!(
            self,
            "UPDATE rollouts SET state = $1, reason = $2, updated_ms = $3, failures_accepted = $4 \
             WHERE org_id = $5 AND id = $6 AND state = $7",
            RolloutState::Running.as_str(),
            reason,
            self.now_ms(),
            i64::from(failures_accepted),
            org.as_str(),
            id.as_str(),
            RolloutState::Halted.as_str()
        )?;
        Ok(changed > 0)
    }

    /// How a rollout's machines stand.
    pub async fn rollout_tally(&self, rollout: &StoredRollout) -> Result<Tally> {
        let stale = stale_before(self.now_ms(), rollout.health_window_s);
        type Row = (bool, Option<String>, bool, i64);
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, Row>(
                "SELECT canary, state, COALESCE(updated_ms < $2, FALSE), COUNT(*) \
                 FROM rollout_machines WHERE rollout_id = $1 \
                 GROUP BY canary, state, COALESCE(updated_ms < $2, FALSE)",
            )
            .bind(rollout.id.as_str())
            .bind(stale)
            .fetch_all(pool)
            .await
        })?;
        let mut tally = Tally::default();
        for (canary, state, stale, count) in rows {
            tally.add(
                canary,
                state_of(state)?,
                stale,
                u32::try_from(count).map_err(corrupt)?,
            );
        }
        Ok(tally)
    }

    /// Applied updates of `rollout` silent past its health window (see [`stale_before`]).
    pub async fn stale_updates(&self, rollout: &StoredRollout) -> Result<u32> {
        let stale = stale_before(self.now_ms(), rollout.health_window_s);
        let n = on_reader!(self, pool => {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM rollout_machines \
                 WHERE rollout_id = $1 AND state = $2 AND updated_ms < $3",
            )
            .bind(rollout.id.as_str())
            .bind(UpdateState::Applied.as_str())
            .bind(stale)
            .fetch_one(pool)
            .await
        })?;
        u32::try_from(n).map_err(corrupt)
    }

    /// Canaries of `rollout` not finished yet (waiting, pending, downloading or applied and
    /// within their window).
    pub async fn unfinished_canaries(&self, rollout: &StoredRollout) -> Result<u32> {
        let stale = stale_before(self.now_ms(), rollout.health_window_s);
        let n = on_reader!(self, pool => {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM rollout_machines WHERE rollout_id = $1 AND canary \
                 AND (state IS NULL OR state IN ($2, $3) OR (state = $4 AND updated_ms >= $5))",
            )
            .bind(rollout.id.as_str())
            .bind(UpdateState::Pending.as_str())
            .bind(UpdateState::Downloading.as_str())
            .bind(UpdateState::Applied.as_str())
            .bind(stale)
            .fetch_one(pool)
            .await
        })?;
        u32::try_from(n).map_err(corrupt)
    }

    pub async fn rollout_machines(
        &self,
        org: &OrgId,
        id: &RolloutId,
    ) -> Result<Vec<RolloutMachine>> {
        type Row = (String, bool, Option<String>, Option<String>, Option<i64>);
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, Row>(
                "SELECT rm.machine_id, rm.canary, rm.state, rm.reason, rm.updated_ms \
                 FROM rollout_machines rm JOIN rollouts r ON r.id = rm.rollout_id \
                 WHERE r.org_id = $1 AND r.id = $2 ORDER BY rm.canary DESC, rm.machine_id",
            )
            .bind(org.as_str())
            .bind(id.as_str())
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|(machine, canary, state, reason, updated_ms)| {
                Ok(RolloutMachine {
                    machine_id: MachineId::from_db(machine),
                    slot: Slot {
                        canary,
                        state: state_of(state)?,
                        updated_ms,
                    },
                    reason,
                })
            })
            .collect()
    }

    /// Whether `org` has a rollout under way, or a machine mid-update in a finished one and
    /// heard from within its health window (its last word is still worth recording; one
    /// silent longer counts as failed anyway): when not, no report needs a rollout lookup.
    pub async fn org_has_open_rollout(&self, org: &OrgId) -> Result<bool> {
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM rollouts WHERE org_id = $1 AND state IN ({})) \
             OR EXISTS (SELECT 1 FROM rollout_machines rm JOIN rollouts r ON r.id = rm.rollout_id \
                        WHERE r.org_id = $1 AND rm.state IN ($2, $3, $4) \
                        AND rm.updated_ms >= $5 - r.health_window_s * 1000)",
            *ACTIVE_STATES
        );
        // stale_before(now, 0): the slack, the window subtracted per rollout in SQL.
        let stale = stale_before(self.now_ms(), 0);
        let open = on_reader!(self, pool => {
            sqlx::query_scalar::<_, bool>(&sql)
                .bind(org.as_str())
                .bind(UpdateState::Pending.as_str())
                .bind(UpdateState::Downloading.as_str())
                .bind(UpdateState::Applied.as_str())
                .bind(stale)
                .fetch_one(pool)
                .await
        })?;
        Ok(open)
    }

    /// The rollout `machine` is part of that is still active (one per organisation), else
    /// the newest, with its slot there.
    pub async fn machine_rollout(
        &self,
        org: &OrgId,
        machine: &MachineId,
    ) -> Result<Option<(StoredRollout, Slot)>> {
        super::row! {
            struct SlotRow {
                id: String,
                canary: bool,
                slot_state: Option<String>,
                slot_updated_ms: Option<i64>,
            }
        }
        let sql = format!(
            "SELECT r.id, rm.canary, rm.state AS slot_state, rm.updated_ms AS slot_updated_ms \
             FROM rollout_machines rm JOIN rollouts r ON r.id = rm.rollout_id \
             WHERE r.org_id = $1 AND rm.machine_id = $2 \
             ORDER BY CASE WHEN r.state IN ({}) THEN 0 ELSE 1 END, r.created_ms DESC LIMIT 1",
            *ACTIVE_STATES
        );
        let row = on_reader!(self, pool => {
            sqlx::query_as::<_, SlotRow>(&sql)
                .bind(org.as_str())
                .bind(machine.as_str())
                .fetch_optional(pool)
                .await
        })?;
        let Some(row) = row else { return Ok(None) };
        let rollout = self.get_rollout(org, &RolloutId::from_db(row.id)).await?;
        let slot = Slot {
            canary: row.canary,
            state: state_of(row.slot_state)?,
            updated_ms: row.slot_updated_ms,
        };
        Ok(Some((rollout, slot)))
    }

    /// Records where `machine` stands in `rollout`.
    pub async fn set_machine_update(
        &self,
        org: &OrgId,
        rollout: &RolloutId,
        machine: &MachineId,
        state: UpdateState,
        reason: Option<&str>,
    ) -> Result<()> {
        let changed = execute!(
            self,
            "UPDATE rollout_machines SET state = $1, reason = $2, updated_ms = $3 \
             WHERE rollout_id = (SELECT id FROM rollouts WHERE org_id = $4 AND id = $5) \
             AND machine_id = $6",
            state.as_str(),
            reason,
            self.now_ms(),
            org.as_str(),
            rollout.as_str(),
            machine.as_str()
        )?;
        one_row(changed, || StoreError::NotFound)
    }
}
