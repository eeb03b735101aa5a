//! Machines: enrollment, agent identity, and the fleet listing.

use optralis_proto::agent::HostFacts;
use optralis_proto::api::{HealthReason, LatestValues, Machine, MachineHealth};

use super::{Result, Store, StoreError, corrupt, from_name, new_secret, on_reader, on_writer, row};
use crate::fleet::labels::Labels;
use crate::ids::{MachineId, OrgId};
use crate::secret::{SecretKind, digest};

#[derive(Debug, Clone)]
pub struct EnrolledMachine {
    pub machine_id: MachineId,
    pub token: String,
    pub last_seq: u64,
}

/// An agent, as established from its machine token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentIdentity {
    pub org_id: OrgId,
    pub machine_id: MachineId,
}

const MACHINE_COLUMNS: &str = "id, hostname, facts, enrolled_ms, last_seen_ms, latest, \
     display_name, notes, labels, agent_labels, decommissioned_ms, status, status_since_ms, \
     health_score, health_reasons, interval_s, last_ip FROM machines WHERE org_id = $1";

impl Store {
    /// Enrolls a new machine. A fingerprint is only a hint (anyone who reads a machine's
    /// `/etc/machine-id` can send it): one already taken in this organisation gets a new
    /// machine beside the known one, never its identity. See [`Store::reenroll`].
    pub async fn enroll(
        &self,
        org: &OrgId,
        fingerprint: &str,
        facts: &HostFacts,
    ) -> Result<EnrolledMachine> {
        let token = new_secret(SecretKind::MachineToken)?;
        let facts_json =
            serde_json::to_string(facts).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let new_id = MachineId::new_random();
        let now = self.now_ms();
        // The fingerprint as given, or made unique when another machine has it.
        let unique = format!("{fingerprint}:{new_id}");
        for fingerprint in [fingerprint, unique.as_str()] {
            let inserted = on_writer!(self, pool => {
                sqlx::query_scalar::<_, String>(
                    "INSERT INTO machines (id, org_id, fingerprint, hostname, facts, token_hash, enrolled_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (org_id, fingerprint) DO NOTHING RETURNING id",
                )
                .bind(new_id.as_str())
                .bind(org.as_str())
                .bind(fingerprint)
                .bind(&facts.hostname)
                .bind(&facts_json)
                .bind(digest(&token))
                .bind(now)
                .fetch_optional(pool)
                .await
            })?;
            if inserted.is_some() {
                return Ok(EnrolledMachine {
                    machine_id: new_id,
                    token,
                    last_seq: 0,
                });
            }
        }
        Err(StoreError::Conflict(
            "the machine's fingerprint is taken".into(),
        ))
    }

    /// Re-enrolls the machine of `org` whose current token is `proof`: same id and history,
    /// a fresh token (the old one stops working for reports). The token before it is also
    /// accepted as proof, so an agent that never got this answer can enrol again with the
    /// token it still holds. `None` when the proof fits no machine.
    pub async fn reenroll(
        &self,
        org: &OrgId,
        proof: &str,
        facts: &HostFacts,
    ) -> Result<Option<EnrolledMachine>> {
        let token = new_secret(SecretKind::MachineToken)?;
        let facts_json =
            serde_json::to_string(facts).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let row = on_writer!(self, pool => {
            sqlx::query_as::<_, (String, i64)>(
                "UPDATE machines SET hostname = $3, facts = $4, token_hash = $5, \
                   prev_token_hash = CASE WHEN token_hash = $2 THEN token_hash ELSE prev_token_hash END \
                 WHERE org_id = $1 AND (token_hash = $2 OR prev_token_hash = $2) \
                 RETURNING id, last_seq",
            )
            .bind(org.as_str())
            .bind(digest(proof))
            .bind(&facts.hostname)
            .bind(&facts_json)
            .bind(digest(&token))
            .fetch_optional(pool)
            .await
        })?;
        let Some((id, last_seq)) = row else {
            return Ok(None);
        };
        // The machine's previous token stops working now, on every server, not when its
        // cache entries expire.
        self.forget_agents(super::live_relay::Forget::Machine(id.clone()));
        Ok(Some(EnrolledMachine {
            machine_id: MachineId::from_db(id),
            token,
            last_seq: u64::try_from(last_seq).unwrap_or(0),
        }))
    }

    /// The machine a token belongs to, if the token is current. Every report asks, so
    /// answers are cached for a minute (see [`AgentCache`]).
    pub async fn agent_for_token(&self, token: &str) -> Result<AgentIdentity> {
        let hash = digest(token);
        let now = self.now_ms();
        if let Some(agent) = self.agents.get(&hash, now) {
            return Ok(agent);
        }
        let generation = self.agents.generation();
        let row = on_reader!(self, pool => {
            sqlx::query_as::<_, (String, String)>("SELECT id, org_id FROM machines WHERE token_hash = $1")
                .bind(&hash)
                .fetch_optional(pool)
                .await
        })?;
        let (id, org_id) = row.ok_or(StoreError::NotFound)?;
        let agent = AgentIdentity {
            org_id: OrgId::from_db(org_id),
            machine_id: MachineId::from_db(id),
        };
        self.agents.put(hash, agent.clone(), now, generation);
        Ok(agent)
    }

    pub async fn list_machines(&self, org: &OrgId) -> Result<Vec<Machine>> {
        let sql = format!("SELECT {MACHINE_COLUMNS} ORDER BY hostname, id");
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, MachineRow>(&sql).bind(org.as_str()).fetch_all(pool).await
        })?;
        let mut groups = self.group_ids_by_machine(org, None).await?;
        rows.into_iter()
            .map(|row| {
                let mut m = machine_from_row(row)?;
                m.groups = groups.remove(&m.id).unwrap_or_default();
                Ok(m)
            })
            .collect()
    }

    /// One machine of `org`; another organisation's machine is [`StoreError::NotFound`].
    pub async fn get_machine(&self, org: &OrgId, id: &MachineId) -> Result<Machine> {
        let sql = format!("SELECT {MACHINE_COLUMNS} AND id = $2");
        let row = on_reader!(self, pool => {
            sqlx::query_as::<_, MachineRow>(&sql)
                .bind(org.as_str())
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
        })?;
        let mut m = machine_from_row(row.ok_or(StoreError::NotFound)?)?;
        m.groups = self
            .group_ids_by_machine(org, Some(id))
            .await?
            .remove(&m.id)
            .unwrap_or_default();
        Ok(m)
    }

    /// Fails with [`StoreError::NotFound`] unless `id` is a machine of `org`.
    pub(crate) async fn check_machine(&self, org: &OrgId, id: &MachineId) -> Result<()> {
        let row = on_reader!(self, pool => {
            sqlx::query_scalar::<_, String>("SELECT id FROM machines WHERE org_id = $1 AND id = $2")
                .bind(org.as_str())
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
        })?;
        row.map(|_| ()).ok_or(StoreError::NotFound)
    }
}

row! {
    /// The columns of [`MACHINE_COLUMNS`].
    struct MachineRow {
        id: String,
        hostname: String,
        facts: String,
        enrolled_ms: i64,
        last_seen_ms: Option<i64>,
        latest: Option<String>,
        display_name: Option<String>,
        notes: String,
        labels: String,
        agent_labels: String,
        decommissioned_ms: Option<i64>,
        status: String,
        status_since_ms: Option<i64>,
        health_score: Option<i64>,
        health_reasons: String,
        interval_s: i64,
        last_ip: Option<String>,
    }
}

fn machine_from_row(row: MachineRow) -> Result<Machine> {
    let mut all: Labels = serde_json::from_str(&row.labels).map_err(corrupt)?;
    let agent_labels: Labels = serde_json::from_str(&row.agent_labels).map_err(corrupt)?;
    all.extend(agent_labels.clone());
    let health = match row.health_score {
        Some(score) => MachineHealth {
            score: u8::try_from(score.clamp(0, 100)).unwrap_or(0),
            reasons: serde_json::from_str(&row.health_reasons).map_err(corrupt)?,
        },
        None => MachineHealth {
            score: 0,
            reasons: vec![HealthReason {
                reason: "offline: never reported".into(),
                weight: -100,
            }],
        },
    };
    Ok(Machine {
        facts: serde_json::from_str(&row.facts).map_err(corrupt)?,
        latest: row
            .latest
            .map(|l| serde_json::from_str::<LatestValues>(&l))
            .transpose()
            .map_err(corrupt)?,
        labels: all,
        agent_labels,
        groups: Vec::new(),
        status: from_name(&row.status)?,
        health,
        decommissioned: row.decommissioned_ms.is_some(),
        interval_s: u32::try_from(row.interval_s).unwrap_or(60),
        id: row.id,
        hostname: row.hostname,
        enrolled_at_ms: row.enrolled_ms,
        last_seen_ms: row.last_seen_ms,
        display_name: row.display_name,
        notes: row.notes,
        status_since_ms: row.status_since_ms,
        ip: row.last_ip,
    })
}

/// Machine tokens recently seen, so a report costs no database read for its credentials.
///
/// Entries live [`AGENT_CACHE_TTL_MS`]; a machine's entries are forgotten as soon as it
/// re-enrolls or is deleted, here and (PostgreSQL) on the other servers (live_relay.rs).
#[derive(Default)]
pub(super) struct AgentCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (AgentIdentity, i64)>>,
    /// Bumped by every forget: a row read before one is not cached after it.
    generation: std::sync::atomic::AtomicU64,
}

pub(super) const AGENT_CACHE_TTL_MS: i64 = 60_000;
/// Past this many entries the cache starts over rather than grow without bound.
const AGENT_CACHE_MAX: usize = 500_000;

impl AgentCache {
    fn get(&self, hash: &str, now: i64) -> Option<AgentIdentity> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(hash)
            .filter(|(_, expires)| *expires > now)
            .map(|(agent, _)| agent.clone())
    }

    fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Caches `agent`, read from the database when the cache was at `read_at`; not if
    /// something was forgotten since (the row may be the one forgotten).
    fn put(&self, hash: String, agent: AgentIdentity, now: i64, read_at: u64) {
        if let Ok(mut entries) = self.entries.lock() {
            if self.generation() != read_at {
                return;
            }
            if entries.len() >= AGENT_CACHE_MAX {
                entries.clear();
            }
            entries.insert(hash, (agent, now + AGENT_CACHE_TTL_MS));
        }
    }

    pub(super) fn forget_org(&self, org: &OrgId) {
        self.forget(|agent| &agent.org_id == org);
    }

    pub(super) fn forget_machine(&self, machine_id: &str) {
        self.forget(|agent| agent.machine_id.as_str() == machine_id);
    }

    /// Everything: notices from the other servers may have been missed.
    pub(super) fn forget_all(&self) {
        self.forget(|_| true);
    }

    fn forget(&self, gone: impl Fn(&AgentIdentity) -> bool) {
        if let Ok(mut entries) = self.entries.lock() {
            self.generation
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            entries.retain(|_, (agent, _)| !gone(agent));
        }
    }
}
