//! Organisations (tenants).

use super::{Result, Store, StoreError, on_reader, on_writer};
use crate::ids::OrgId;

/// Name of the organisation that exists from the first start.
pub const DEFAULT_ORG: &str = "default";

impl Store {
    pub(super) async fn ensure_default_org(&self) -> Result<()> {
        let id = OrgId::new_random();
        let now = self.now_ms();
        on_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO orgs (id, name, created_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(id.as_str())
            .bind(DEFAULT_ORG)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
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
        let inserted = on_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO orgs (id, name, created_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(id.as_str())
            .bind(name)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!(
                "an organisation named {name:?} already exists"
            )));
        }
        Ok(id)
    }
}
