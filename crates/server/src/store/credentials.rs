//! Enrollment keys and API tokens: created here, shown once, stored as digests.

use super::{Result, Store, StoreError, new_secret, on_reader, on_writer};
use crate::ids::OrgId;
use crate::secret::{SecretKind, digest};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Observer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Observer => "observer",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "admin" => Ok(Role::Admin),
            "observer" => Ok(Role::Observer),
            other => Err(format!(
                "unknown role {other:?}: expected admin or observer"
            )),
        }
    }
}

/// Who is calling the API, as established from their credentials.
#[derive(Debug, Clone)]
pub struct Principal {
    pub org_id: OrgId,
    pub role: Role,
    pub token_id: String,
}

#[derive(Debug, Clone)]
pub struct ApiTokenInfo {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_ms: i64,
}

impl Store {
    /// A new enrollment key for `org`. The key itself is returned once and never stored.
    pub async fn create_enroll_key(&self, org: &OrgId) -> Result<String> {
        let key = new_secret(SecretKind::EnrollKey)?;
        let id = uuid::Uuid::new_v4().to_string();
        let now = self.now_ms();
        on_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO enroll_keys (id, org_id, key_hash, created_ms) VALUES ($1, $2, $3, $4)",
            )
            .bind(&id)
            .bind(org.as_str())
            .bind(digest(&key))
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(key)
    }

    /// The organisation a valid, unrevoked enrollment key belongs to.
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
        };
        on_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO api_tokens (id, org_id, name, role, token_hash, created_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&info.id)
            .bind(org.as_str())
            .bind(&info.name)
            .bind(role.as_str())
            .bind(digest(&token))
            .bind(info.created_ms)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok((info, token))
    }

    /// The principal behind an API bearer token, if it is valid and not revoked.
    pub async fn principal_for_token(&self, token: &str) -> Result<Principal> {
        let row = on_reader!(self, pool => {
            sqlx::query_as::<_, (String, String, String)>(
                "SELECT id, org_id, role FROM api_tokens WHERE token_hash = $1 AND revoked_ms IS NULL",
            )
            .bind(digest(token))
            .fetch_optional(pool)
            .await
        })?;
        let (token_id, org_id, role) = row.ok_or(StoreError::NotFound)?;
        Ok(Principal {
            org_id: OrgId::from_db(org_id),
            role: role.parse().map_err(StoreError::Corrupt)?,
            token_id,
        })
    }
}
