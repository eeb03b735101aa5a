//! Organisations (tenants).

use super::fleet::SAMPLE_TABLES;
use optralis_proto::vocabulary::Language;

use super::{Result, Store, StoreError, execute, from_name, on_reader, on_writer, one_row};
use crate::ids::OrgId;

/// Name of the organisation that exists from the first start.
pub const DEFAULT_ORG: &str = "default";

impl Store {
    pub(super) async fn ensure_default_org(&self) -> Result<()> {
        let id = OrgId::new_random();
        let now = self.now_ms();
        execute!(
            self,
            "INSERT INTO orgs (id, name, created_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO NOTHING",
            id.as_str(),
            DEFAULT_ORG,
            now
        )?;
        Ok(())
    }

    /// The organisation called `name`, for the CLI (an operator on the server's own host).
    pub async fn org_by_name(&self, name: &str) -> Result<OrgId> {
        let row = on_reader!(self, pool => {
            sqlx::query_scalar::<_, String>("SELECT id FROM orgs WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await
        })?;
        Ok(OrgId::from_db(row.ok_or(StoreError::NotFound)?))
    }

    pub async fn create_org(&self, name: &str) -> Result<OrgId> {
        let id = OrgId::new_random();
        let now = self.now_ms();
        let inserted = execute!(
            self,
            "INSERT INTO orgs (id, name, created_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO NOTHING",
            id.as_str(),
            name,
            now
        )?;
        one_row(inserted, || {
            StoreError::Conflict(format!("an organisation named {name:?} already exists"))
        })?;
        Ok(id)
    }
}

#[derive(Debug, Clone)]
pub struct OrgInfo {
    pub id: OrgId,
    pub name: String,
    pub created_ms: i64,
    /// Members must have a second factor on to use the organisation.
    pub require_mfa: bool,
    /// A machine is offline after this many of its intervals without a report.
    pub offline_after_intervals: i64,
    /// Below this score a machine is asked to report every 30 s.
    pub degraded_below_score: i64,
    /// Notifications' language.
    pub language: Language,
}

type OrgRow = (String, String, i64, bool, i64, i64, String);

const ORG_COLUMNS: &str = "id, name, created_ms, require_mfa, offline_after_intervals, \
     degraded_below_score, language FROM orgs";

fn org_from_row(row: OrgRow) -> Result<OrgInfo> {
    let (
        id,
        name,
        created_ms,
        require_mfa,
        offline_after_intervals,
        degraded_below_score,
        language,
    ) = row;
    Ok(OrgInfo {
        id: OrgId::from_db(id),
        name,
        created_ms,
        require_mfa,
        offline_after_intervals,
        degraded_below_score,
        language: from_name(&language)?,
    })
}

impl Store {
    pub async fn list_orgs(&self) -> Result<Vec<OrgInfo>> {
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, OrgRow>(&format!("SELECT {ORG_COLUMNS} ORDER BY name"))
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter().map(org_from_row).collect()
    }

    pub async fn org_info(&self, org: &OrgId) -> Result<OrgInfo> {
        self.find_org(org.as_str()).await
    }

    /// An organisation by an id taken from a request; only platform admins and membership
    /// checks may turn an outside id into an [`OrgId`] this way.
    pub async fn find_org(&self, id: &str) -> Result<OrgInfo> {
        let row = on_reader!(self, pool => {
            sqlx::query_as::<_, OrgRow>(&format!("SELECT {ORG_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await
        })?;
        org_from_row(row.ok_or(StoreError::NotFound)?)
    }

    pub async fn rename_org(&self, org: &OrgId, name: &str) -> Result<OrgInfo> {
        let taken = on_reader!(self, pool => {
            sqlx::query_scalar::<_, String>("SELECT id FROM orgs WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await
        })?;
        if taken.is_some_and(|id| id != org.as_str()) {
            return Err(StoreError::Conflict(format!(
                "an organisation named {name:?} already exists"
            )));
        }
        let changed = execute!(
            self,
            "UPDATE orgs SET name = $2 WHERE id = $1",
            org.as_str(),
            name
        )?;
        one_row(changed, || StoreError::NotFound)?;
        self.org_info(org).await
    }

    pub async fn set_language(&self, org: &OrgId, language: Language) -> Result<OrgInfo> {
        execute!(
            self,
            "UPDATE orgs SET language = $2 WHERE id = $1",
            org.as_str(),
            language.as_str()
        )?;
        self.org_info(org).await
    }

    pub async fn set_require_mfa(&self, org: &OrgId, on: bool) -> Result<OrgInfo> {
        execute!(
            self,
            "UPDATE orgs SET require_mfa = $2 WHERE id = $1",
            org.as_str(),
            on
        )?;
        self.org_info(org).await
    }

    /// Deletes an organisation and everything it owns: machines and all their samples,
    /// keys, tokens, memberships, links, audit entries. Users stay (they may belong elsewhere).
    pub async fn delete_org(&self, org: &OrgId) -> Result<()> {
        on_writer!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                for table in SAMPLE_TABLES {
                    sqlx::query(&format!(
                        "DELETE FROM {table} WHERE machine_id IN \
                         (SELECT id FROM machines WHERE org_id = $1)"
                    ))
                    .bind(org.as_str())
                    .execute(&mut *tx)
                    .await?;
                }
                let deleted = sqlx::query("DELETE FROM orgs WHERE id = $1")
                    .bind(org.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                one_row(deleted, || StoreError::NotFound)?;
                tx.commit().await?;
                Ok::<_, StoreError>(())
            }
            .await
        })?;
        self.forget_agents(super::live_relay::Forget::Org(org.as_str().to_owned()));
        Ok(())
    }
}
