//! The audit log: who did what, when, from where. Entries of an organisation are deleted
//! with it; platform entries (organisations created, renamed, deleted) have none.

use super::{Result, Store, StoreError, execute, on_reader};
use crate::ids::OrgId;
use optralis_proto::identity::AuditAction;

/// One thing to record.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    pub org: Option<&'a OrgId>,
    /// `user:EMAIL`, `token:NAME (ID)`, `cli` or, for failed logins, the email tried.
    pub actor: &'a str,
    /// Dotted verb, e.g. `auth.login`, `user.role_changed`.
    pub action: AuditAction,
    pub target: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub detail: Option<serde_json::Value>,
}

#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub id: i64,
    pub ts_ms: i64,
    pub actor: String,
    pub action: AuditAction,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub detail: Option<serde_json::Value>,
}

type AuditRow = (
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// An entry's action, with the names earlier versions wrote for what is now named otherwise
/// (entries are never rewritten).
fn stored_action(name: &str) -> Result<AuditAction> {
    match name {
        "user.added" => Ok(AuditAction::UserInvited),
        "org.fleet_settings" => Ok(AuditAction::OrgSettings),
        other => super::from_name(other),
    }
}

impl Store {
    pub async fn record_audit(&self, event: AuditEvent<'_>) -> Result<()> {
        let now = self.now_ms();
        let detail = event.detail.as_ref().map(serde_json::Value::to_string);
        execute!(
            self,
            "INSERT INTO audit_log (org_id, ts_ms, actor, action, target, ip, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            event.org.map(OrgId::as_str),
            now,
            event.actor,
            event.action.as_str(),
            event.target,
            event.ip,
            detail
        )?;
        Ok(())
    }

    /// Newest first: `limit` entries of `org` (or of the platform when `None`) with ids
    /// below `before`.
    pub async fn list_audit(
        &self,
        org: Option<&OrgId>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>> {
        let before = before.unwrap_or(i64::MAX);
        let rows = on_reader!(self, pool => {
            match org {
                Some(org) => {
                    sqlx::query_as::<_, AuditRow>(
                        "SELECT id, ts_ms, actor, action, target, ip, detail FROM audit_log \
                         WHERE org_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                    )
                    .bind(org.as_str())
                    .bind(before)
                    .bind(limit)
                    .fetch_all(pool)
                    .await
                }
                None => {
                    sqlx::query_as::<_, AuditRow>(
                        "SELECT id, ts_ms, actor, action, target, ip, detail FROM audit_log \
                         WHERE org_id IS NULL AND id < $1 ORDER BY id DESC LIMIT $2",
                    )
                    .bind(before)
                    .bind(limit)
                    .fetch_all(pool)
                    .await
                }
            }
        })?;
        rows.into_iter()
            .map(|(id, ts_ms, actor, action, target, ip, detail)| {
                let detail = detail
                    .map(|d| serde_json::from_str(&d))
                    .transpose()
                    .map_err(|e| StoreError::Corrupt(format!("audit detail: {e}")))?;
                Ok(AuditRecord {
                    id,
                    ts_ms,
                    actor,
                    action: stored_action(&action)?,
                    target,
                    ip,
                    detail,
                })
            })
            .collect()
    }
}
