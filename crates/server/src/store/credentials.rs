//! Enrollment keys and API tokens: created here, shown once, stored as digests.

use super::{
    Result, Store, StoreError, execute, from_name, new_secret, on_reader, on_writer, one_row,
};
use crate::ids::OrgId;
use crate::principal::{Actor, Principal, Role};
use crate::secret::{SecretKind, digest};

#[derive(Debug, Clone)]
pub struct ApiTokenInfo {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_ms: i64,
    pub revoked_ms: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct EnrollKeyInfo {
    pub id: String,
    pub created_ms: i64,
    pub revoked_ms: Option<i64>,
    /// The key enrolls no machine from then on.
    pub expires_ms: Option<i64>,
    /// Machines it may enroll in all (1: single-use).
    pub max_uses: Option<i64>,
    /// Machines it has enrolled.
    pub uses: i64,
}

/// What a new enrollment key allows: unlimited and lasting unless said otherwise.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnrollKeyLimits {
    pub expires_ms: Option<i64>,
    pub max_uses: Option<i64>,
}

impl Store {
    /// A new enrollment key for `org`. The key itself is returned once and never stored.
    pub async fn create_enroll_key(&self, org: &OrgId) -> Result<String> {
        Ok(self
            .create_enroll_key_info(org, EnrollKeyLimits::default())
            .await?
            .1)
    }

    /// A new enrollment key for `org` with its listing entry.
    pub async fn create_enroll_key_info(
        &self,
        org: &OrgId,
        limits: EnrollKeyLimits,
    ) -> Result<(EnrollKeyInfo, String)> {
        let key = new_secret(SecretKind::EnrollKey)?;
        let id = uuid::Uuid::new_v4().to_string();
        let now = self.now_ms();
        execute!(
            self,
            "INSERT INTO enroll_keys (id, org_id, key_hash, created_ms, expires_ms, max_uses) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            &id,
            org.as_str(),
            digest(&key),
            now,
            limits.expires_ms,
            limits.max_uses
        )?;
        let info = EnrollKeyInfo {
            id,
            created_ms: now,
            revoked_ms: None,
            expires_ms: limits.expires_ms,
            max_uses: limits.max_uses,
            uses: 0,
        };
        Ok((info, key))
    }

    pub async fn list_enroll_keys(&self, org: &OrgId) -> Result<Vec<EnrollKeyInfo>> {
        type Row = (String, i64, Option<i64>, Option<i64>, Option<i64>, i64);
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, Row>(
                "SELECT id, created_ms, revoked_ms, expires_ms, max_uses, uses FROM enroll_keys \
                 WHERE org_id = $1 ORDER BY created_ms, id",
            )
            .bind(org.as_str())
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(
                |(id, created_ms, revoked_ms, expires_ms, max_uses, uses)| EnrollKeyInfo {
                    id,
                    created_ms,
                    revoked_ms,
                    expires_ms,
                    max_uses,
                    uses,
                },
            )
            .collect())
    }

    /// Revokes one of `org`'s enrollment keys; machines already enrolled keep working.
    pub async fn revoke_enroll_key(&self, org: &OrgId, id: &str) -> Result<()> {
        self.revoke_credential("enroll_keys", org, id).await
    }

    pub async fn list_api_tokens(&self, org: &OrgId) -> Result<Vec<ApiTokenInfo>> {
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, (String, String, String, i64, Option<i64>)>(
                "SELECT id, name, role, created_ms, revoked_ms FROM api_tokens WHERE org_id = $1 \
                 ORDER BY created_ms, id",
            )
            .bind(org.as_str())
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|(id, name, role, created_ms, revoked_ms)| {
                Ok(ApiTokenInfo {
                    id,
                    name,
                    role: from_name(&role)?,
                    created_ms,
                    revoked_ms,
                })
            })
            .collect()
    }

    /// Whether API token `id` of `org` is still valid.
    pub async fn api_token_active(&self, org: &OrgId, id: &str) -> Result<bool> {
        let row = on_reader!(self, pool => {
            sqlx::query_scalar::<_, String>(
                "SELECT id FROM api_tokens WHERE org_id = $1 AND id = $2 AND revoked_ms IS NULL",
            )
            .bind(org.as_str())
            .bind(id)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.is_some())
    }

    /// Revokes one of `org`'s API tokens: it stops working at once.
    pub async fn revoke_api_token(&self, org: &OrgId, id: &str) -> Result<()> {
        self.revoke_credential("api_tokens", org, id).await
    }

    /// Marks a credential revoked. Revoking twice is fine; another organisation's id is
    /// [`StoreError::NotFound`], exactly like an unknown one.
    async fn revoke_credential(&self, table: &'static str, org: &OrgId, id: &str) -> Result<()> {
        let now = self.now_ms();
        let sql = format!(
            "UPDATE {table} SET revoked_ms = COALESCE(revoked_ms, $3) WHERE org_id = $1 AND id = $2"
        );
        let changed = execute!(self, &sql, org.as_str(), id, now)?;
        one_row(changed, || StoreError::NotFound)
    }

    /// Spends one use of an enrollment key (not revoked, not expired, uses left); returns its
    /// organisation. One conditional update, so two machines cannot share a single use.
    pub async fn consume_enroll_key(&self, key: &str) -> Result<OrgId> {
        let now = self.now_ms();
        let row = on_writer!(self, pool => {
            sqlx::query_scalar::<_, String>(
                "UPDATE enroll_keys SET uses = uses + 1 \
                 WHERE key_hash = $1 AND revoked_ms IS NULL \
                   AND (expires_ms IS NULL OR expires_ms > $2) \
                   AND (max_uses IS NULL OR uses < max_uses) \
                 RETURNING org_id",
            )
            .bind(digest(key))
            .bind(now)
            .fetch_optional(pool)
            .await
        })?;
        Ok(OrgId::from_db(row.ok_or(StoreError::NotFound)?))
    }

    /// The organisation an unrevoked enrollment key belongs to, whether or not it has uses
    /// left or has expired (a machine proving who it is re-enrolls with a spent single-use
    /// key); new machines go through [`Store::consume_enroll_key`].
    pub async fn org_for_enroll_key(&self, key: &str) -> Result<OrgId> {
        let row = on_reader!(self, pool => {
            sqlx::query_scalar::<_, String>(
                "SELECT org_id FROM enroll_keys WHERE key_hash = $1 AND revoked_ms IS NULL",
            )
            .bind(digest(key))
            .fetch_optional(pool)
            .await
        })?;
        Ok(OrgId::from_db(row.ok_or(StoreError::NotFound)?))
    }

    /// A new API bearer token. The token itself is returned once and never stored.
    pub async fn create_api_token(
        &self,
        org: &OrgId,
        name: &str,
        role: Role,
    ) -> Result<(ApiTokenInfo, String)> {
        let token = new_secret(SecretKind::ApiToken)?;
        let info = ApiTokenInfo {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.to_owned(),
            role,
            created_ms: self.now_ms(),
            revoked_ms: None,
        };
        execute!(
            self,
            "INSERT INTO api_tokens (id, org_id, name, role, token_hash, created_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            &info.id,
            org.as_str(),
            &info.name,
            role.as_str(),
            digest(&token),
            info.created_ms
        )?;
        Ok((info, token))
    }

    /// The principal behind an API bearer token, if it is valid and not revoked.
    pub async fn principal_for_token(&self, token: &str) -> Result<Principal> {
        let row = on_reader!(self, pool => {
            sqlx::query_as::<_, (String, String, String, String)>(
                "SELECT id, org_id, role, name FROM api_tokens \
                 WHERE token_hash = $1 AND revoked_ms IS NULL",
            )
            .bind(digest(token))
            .fetch_optional(pool)
            .await
        })?;
        let (id, org_id, role, name) = row.ok_or(StoreError::NotFound)?;
        Ok(Principal {
            org_id: OrgId::from_db(org_id),
            role: from_name(&role)?,
            actor: Actor::Token { id, name },
            platform_admin: false,
            ip: None,
        })
    }
}
