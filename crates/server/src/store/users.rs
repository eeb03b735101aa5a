//! Users, their memberships (organisation + role), second factors and one-time links.
//! Passwords arrive here already hashed: the store never sees one in clear.

use super::{
    Backend, Result, Store, StoreError, execute, from_name, new_secret, on_reader, on_writer,
    one_row,
};
use crate::ids::{OrgId, UserId};
use crate::principal::Role;
use crate::secret::{SecretKind, digest};

/// What signing in needs to know about an account.
#[derive(Debug, Clone)]
pub struct UserAuth {
    pub id: UserId,
    pub email: String,
    /// `None` until an invitation is accepted.
    pub password_hash: Option<String>,
    pub platform_admin: bool,
    pub totp_secret: Option<String>,
    /// Its owner is known to hold the address (see the 0011 migration): only then may it
    /// accept another organisation's invitation.
    pub verified: bool,
}

/// A user's place in one organisation.
#[derive(Debug, Clone)]
pub struct Membership {
    pub org_id: OrgId,
    pub org_name: String,
    pub role: Role,
    pub disabled: bool,
    pub require_mfa: bool,
}

/// A member as the organisation's admins see them.
#[derive(Debug, Clone)]
pub struct OrgUser {
    pub id: UserId,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    pub mfa_enabled: bool,
    /// Invited and not joined yet: no password set, or an existing account that has not
    /// accepted.
    pub pending: bool,
    pub created_ms: i64,
}

/// What a one-time link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    Invite,
    Reset,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Invite => "invite",
            LinkPurpose::Reset => "reset",
        }
    }
}

/// Emails compare without regard to case or surrounding spaces.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

type UserRow = (String, String, Option<String>, bool, Option<String>, bool);

fn user_from_row(
    (id, email, password_hash, platform_admin, totp_secret, verified): UserRow,
) -> UserAuth {
    UserAuth {
        id: UserId::from_db(id),
        email,
        password_hash,
        platform_admin,
        totp_secret,
        verified,
    }
}

type OrgUserRow = (String, String, String, Option<i64>, bool, bool, i64);

fn org_user_from_row(row: OrgUserRow) -> Result<OrgUser> {
    let (id, email, role, disabled_ms, mfa_enabled, pending, created_ms) = row;
    Ok(OrgUser {
        id: UserId::from_db(id),
        email,
        role: from_name(&role)?,
        disabled: disabled_ms.is_some(),
        mfa_enabled,
        pending,
        created_ms,
    })
}

/// Serialises admin changes within one organisation on PostgreSQL, so two admins demoting
/// each other at once cannot both pass the last-admin check (SQLite has one writer).
const ADMIN_LOCK: &str = "SELECT pg_advisory_xact_lock(1, hashtext($1))";
const OTHER_ADMINS: &str = "SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND user_id <> $2 \
     AND role = 'admin' AND disabled_ms IS NULL AND accepted_ms IS NOT NULL";

enum MembershipChange {
    Update {
        role: Option<Role>,
        disabled: Option<bool>,
        now: i64,
    },
    Remove,
}

fn last_admin() -> StoreError {
    StoreError::Conflict(
        "this is the organisation's last enabled admin; make another admin first".into(),
    )
}

/// An account that has not accepted yet shows nothing of itself (not even whether it has
/// a second factor): to the organisation it is just an invited address.
const ORG_USER_COLUMNS: &str = "SELECT u.id, u.email, m.role, m.disabled_ms, \
     u.totp_secret IS NOT NULL AND m.accepted_ms IS NOT NULL, \
     u.password_hash IS NULL OR m.accepted_ms IS NULL, m.created_ms \
     FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1";

impl Store {
    /// A new account. `password_hash` is `None` for an invited user; one made with a
    /// password (by the operator, on the server's host) counts as verified.
    pub async fn create_user(
        &self,
        email: &str,
        password_hash: Option<&str>,
        platform_admin: bool,
    ) -> Result<UserId> {
        let id = UserId::new_random();
        let email = normalize_email(email);
        let now = self.now_ms();
        let inserted = execute!(
            self,
            "INSERT INTO users (id, email, password_hash, platform_admin, created_ms, verified_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (email) DO NOTHING",
            id.as_str(),
            &email,
            password_hash,
            platform_admin,
            now,
            password_hash.map(|_| now)
        )?;
        one_row(inserted, || {
            StoreError::Conflict(format!("a user with email {email:?} already exists"))
        })?;
        Ok(id)
    }

    pub async fn user_by_email(&self, email: &str) -> Result<UserAuth> {
        let row = on_reader!(self, pool => {
            sqlx::query_as::<_, UserRow>(
                "SELECT id, email, password_hash, platform_admin, totp_secret, verified_ms IS NOT NULL FROM users \
                 WHERE email = $1",
            )
            .bind(normalize_email(email))
            .fetch_optional(pool)
            .await
        })?;
        Ok(user_from_row(row.ok_or(StoreError::NotFound)?))
    }

    pub async fn user_by_id(&self, id: &UserId) -> Result<UserAuth> {
        let row = on_reader!(self, pool => {
            sqlx::query_as::<_, UserRow>(
                "SELECT id, email, password_hash, platform_admin, totp_secret, verified_ms IS NOT NULL FROM users \
                 WHERE id = $1",
            )
            .bind(id.as_str())
            .fetch_optional(pool)
            .await
        })?;
        Ok(user_from_row(row.ok_or(StoreError::NotFound)?))
    }

    pub async fn count_users(&self) -> Result<i64> {
        let n = on_reader!(self, pool => {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users").fetch_one(pool).await
        })?;
        Ok(n)
    }

    pub async fn set_platform_admin(&self, user: &UserId, on: bool) -> Result<()> {
        let changed = execute!(
            self,
            "UPDATE users SET platform_admin = $2 WHERE id = $1",
            user.as_str(),
            on
        )?;
        one_row(changed, || StoreError::NotFound)
    }

    /// Makes `user` a member of `org`. Already being one is a conflict.
    pub async fn add_membership(&self, org: &OrgId, user: &UserId, role: Role) -> Result<()> {
        self.insert_membership(org, user, role, true).await
    }

    /// Adds `user` to `org` pending the account's consent: it grants nothing until the
    /// account accepts ([`Store::answer_invitation`]).
    pub async fn invite_membership(&self, org: &OrgId, user: &UserId, role: Role) -> Result<()> {
        self.insert_membership(org, user, role, false).await
    }

    async fn insert_membership(
        &self,
        org: &OrgId,
        user: &UserId,
        role: Role,
        accepted: bool,
    ) -> Result<()> {
        let now = self.now_ms();
        let inserted = execute!(
            self,
            "INSERT INTO memberships (user_id, org_id, role, created_ms, accepted_ms) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, org_id) DO NOTHING",
            user.as_str(),
            org.as_str(),
            role.as_str(),
            now,
            accepted.then_some(now)
        )?;
        one_row(inserted, || {
            StoreError::Conflict("the user is already a member of this organisation".into())
        })?;
        Ok(())
    }

    /// Organisations that added `user` and wait for its answer: (id, name, role).
    pub async fn invitations(&self, user: &UserId) -> Result<Vec<(OrgId, String, Role)>> {
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, (String, String, String)>(
                "SELECT o.id, o.name, m.role FROM memberships m JOIN orgs o ON o.id = m.org_id \
                 WHERE m.user_id = $1 AND m.accepted_ms IS NULL ORDER BY m.created_ms, o.name",
            )
            .bind(user.as_str())
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|(id, name, role)| Ok((OrgId::from_db(id), name, from_name(&role)?)))
            .collect()
    }

    /// Marks an account as held by its address's owner (the operator vouches for it).
    pub async fn verify_user(&self, user: &UserId) -> Result<()> {
        let now = self.now_ms();
        execute!(
            self,
            "UPDATE users SET verified_ms = COALESCE(verified_ms, $2) WHERE id = $1",
            user.as_str(),
            now
        )?;
        Ok(())
    }

    /// Deletes an account and everything that is only its (memberships, links, sessions).
    pub async fn delete_user(&self, user: &UserId) -> Result<()> {
        execute!(self, "DELETE FROM users WHERE id = $1", user.as_str())?;
        Ok(())
    }

    /// The account's answer to an organisation's invitation: joined, or the pending
    /// membership removed. [`StoreError::NotFound`] when there is none pending.
    pub async fn answer_invitation(&self, user: &UserId, org: &OrgId, accept: bool) -> Result<()> {
        let now = self.now_ms();
        let changed = on_writer!(self, pool => {
            let query = if accept {
                sqlx::query(
                    "UPDATE memberships SET accepted_ms = $3 \
                     WHERE user_id = $1 AND org_id = $2 AND accepted_ms IS NULL",
                )
                .bind(user.as_str())
                .bind(org.as_str())
                .bind(now)
            } else {
                sqlx::query(
                    "DELETE FROM memberships \
                     WHERE user_id = $1 AND org_id = $2 AND accepted_ms IS NULL",
                )
                .bind(user.as_str())
                .bind(org.as_str())
            };
            query.execute(pool).await.map(|r| r.rows_affected())
        })?;
        one_row(changed, || StoreError::NotFound)
    }

    /// The organisations `user` belongs to (invitations it has not accepted are not
    /// memberships yet), oldest membership first.
    pub async fn memberships(&self, user: &UserId) -> Result<Vec<Membership>> {
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, (String, String, String, Option<i64>, bool)>(
                "SELECT o.id, o.name, m.role, m.disabled_ms, o.require_mfa \
                 FROM memberships m JOIN orgs o ON o.id = m.org_id \
                 WHERE m.user_id = $1 AND m.accepted_ms IS NOT NULL ORDER BY m.created_ms, o.name",
            )
            .bind(user.as_str())
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|(org_id, org_name, role, disabled_ms, require_mfa)| {
                Ok(Membership {
                    org_id: OrgId::from_db(org_id),
                    org_name,
                    role: from_name(&role)?,
                    disabled: disabled_ms.is_some(),
                    require_mfa,
                })
            })
            .collect()
    }

    pub async fn list_org_users(&self, org: &OrgId) -> Result<Vec<OrgUser>> {
        let sql = format!("{ORG_USER_COLUMNS} ORDER BY u.email");
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, OrgUserRow>(&sql)
                .bind(org.as_str())
                .fetch_all(pool)
                .await
        })?;
        rows.into_iter().map(org_user_from_row).collect()
    }

    /// One member of `org`; a user outside it is [`StoreError::NotFound`].
    pub async fn org_user(&self, org: &OrgId, user: &UserId) -> Result<OrgUser> {
        let sql = format!("{ORG_USER_COLUMNS} AND m.user_id = $2");
        let row = on_reader!(self, pool => {
            sqlx::query_as::<_, OrgUserRow>(&sql)
                .bind(org.as_str())
                .bind(user.as_str())
                .fetch_optional(pool)
                .await
        })?;
        org_user_from_row(row.ok_or(StoreError::NotFound)?)
    }

    /// Changes a member's role and/or disables them in `org`, refusing to leave the
    /// organisation without an enabled admin.
    pub async fn update_membership(
        &self,
        org: &OrgId,
        user: &UserId,
        role: Option<Role>,
        disabled: Option<bool>,
    ) -> Result<OrgUser> {
        let current = self.org_user(org, user).await?;
        let stays_admin =
            role.unwrap_or(current.role) == Role::Admin && !disabled.unwrap_or(current.disabled);
        let change = MembershipChange::Update {
            role,
            disabled,
            now: self.now_ms(),
        };
        self.change_membership(org, user, &current, !stays_admin, change)
            .await?;
        self.org_user(org, user).await
    }

    /// Removes `user` from `org` (the account stays, with its other memberships), refusing
    /// to remove the last enabled admin.
    pub async fn remove_membership(&self, org: &OrgId, user: &UserId) -> Result<()> {
        let current = self.org_user(org, user).await?;
        self.change_membership(org, user, &current, true, MembershipChange::Remove)
            .await
    }

    /// Applies a membership change; when it takes away an enabled admin (`leaves_admin` of
    /// an admin), first checks, in the same transaction, that another enabled admin remains.
    async fn change_membership(
        &self,
        org: &OrgId,
        user: &UserId,
        current: &OrgUser,
        leaves_admin: bool,
        change: MembershipChange,
    ) -> Result<()> {
        let loses_admin = current.role == Role::Admin && !current.disabled && leaves_admin;
        let is_pg = matches!(self.backend, Backend::Postgres(_));
        on_writer!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                if is_pg {
                    sqlx::query(ADMIN_LOCK).bind(org.as_str()).execute(&mut *tx).await?;
                }
                if loses_admin {
                    let others: i64 = sqlx::query_scalar(OTHER_ADMINS)
                        .bind(org.as_str())
                        .bind(user.as_str())
                        .fetch_one(&mut *tx)
                        .await?;
                    if others == 0 {
                        return Err(last_admin());
                    }
                }
                match change {
                    MembershipChange::Update { role, disabled, now } => {
                        sqlx::query(
                            "UPDATE memberships SET role = COALESCE($3, role), \
                             disabled_ms = CASE WHEN $4 IS NULL THEN disabled_ms \
                                                WHEN $4 THEN COALESCE(disabled_ms, $5) ELSE NULL END \
                             WHERE org_id = $1 AND user_id = $2",
                        )
                        .bind(org.as_str())
                        .bind(user.as_str())
                        .bind(role.map(Role::as_str))
                        .bind(disabled)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    MembershipChange::Remove => {
                        sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
                            .bind(org.as_str())
                            .bind(user.as_str())
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

    /// How many organisations `user` belongs to.
    pub async fn membership_count(&self, user: &UserId) -> Result<i64> {
        let n = on_reader!(self, pool => {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM memberships WHERE user_id = $1")
                .bind(user.as_str())
                .fetch_one(pool)
                .await
        })?;
        Ok(n)
    }

    /// Sets a new password hash and ends every session of the user.
    pub async fn set_password(&self, user: &UserId, password_hash: &str) -> Result<()> {
        let changed = execute!(
            self,
            "UPDATE users SET password_hash = $2 WHERE id = $1",
            user.as_str(),
            password_hash
        )?;
        one_row(changed, || StoreError::NotFound)?;
        self.revoke_user_sessions(user).await?;
        Ok(())
    }

    /// Users whose TOTP secret or pending secret does not start with `sealed_prefix`.
    pub async fn clear_totp_secrets(
        &self,
        sealed_prefix: &str,
    ) -> Result<Vec<(UserId, Option<String>, Option<String>)>> {
        let pattern = format!("{sealed_prefix}%");
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, (String, Option<String>, Option<String>)>(
                "SELECT id, totp_secret, totp_pending FROM users \
                 WHERE totp_secret NOT LIKE $1 OR totp_pending NOT LIKE $1",
            )
            .bind(&pattern)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(id, secret, pending)| {
                let clear = |v: Option<String>| v.filter(|v| !v.starts_with(sealed_prefix));
                (UserId::from_db(id), clear(secret), clear(pending))
            })
            .collect())
    }

    /// Rewrites a user's TOTP secret and pending secret where a new value is given.
    pub async fn replace_totp_secrets(
        &self,
        user: &UserId,
        secret: Option<&str>,
        pending: Option<&str>,
    ) -> Result<()> {
        execute!(
            self,
            "UPDATE users SET totp_secret = COALESCE($2, totp_secret), \
                 totp_pending = COALESCE($3, totp_pending) WHERE id = $1",
            user.as_str(),
            secret,
            pending
        )?;
        Ok(())
    }

    /// Keeps a TOTP secret aside until a code proves the user's app has it.
    pub async fn set_totp_pending(&self, user: &UserId, secret: &str) -> Result<()> {
        execute!(
            self,
            "UPDATE users SET totp_pending = $2 WHERE id = $1",
            user.as_str(),
            secret
        )?;
        Ok(())
    }

    pub async fn totp_pending(&self, user: &UserId) -> Result<Option<String>> {
        let row = on_reader!(self, pool => {
            sqlx::query_scalar::<_, Option<String>>("SELECT totp_pending FROM users WHERE id = $1")
                .bind(user.as_str())
                .fetch_optional(pool)
                .await
        })?;
        row.ok_or(StoreError::NotFound)
    }

    /// Turns the pending secret on, remembering `step` as used, and replaces the recovery
    /// codes with `code_hashes`. Fails if the pending secret changed meanwhile.
    pub async fn enable_totp(
        &self,
        user: &UserId,
        secret: &str,
        step: i64,
        code_hashes: &[String],
    ) -> Result<()> {
        on_writer!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                let changed = sqlx::query(
                    "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, \
                     totp_last_step = $3 WHERE id = $1 AND totp_pending = $2",
                )
                .bind(user.as_str())
                .bind(secret)
                .bind(step)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                one_row(changed, || StoreError::Conflict(
                        "the TOTP enrollment changed; start again".into(),
                    ))?;
                sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                    .bind(user.as_str())
                    .execute(&mut *tx)
                    .await?;
                for hash in code_hashes {
                    sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                        .bind(user.as_str())
                        .bind(hash)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok::<_, StoreError>(())
            }
            .await
        })
    }

    /// Records `step` as used if no later or equal step was: a TOTP code is good once.
    pub async fn claim_totp_step(&self, user: &UserId, step: i64) -> Result<bool> {
        let changed = execute!(
            self,
            "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2 \
                 AND totp_secret IS NOT NULL",
            user.as_str(),
            step
        )?;
        Ok(changed == 1)
    }

    /// Spends a recovery code; false if it is unknown or already spent.
    pub async fn use_recovery_code(&self, user: &UserId, code: &str) -> Result<bool> {
        let now = self.now_ms();
        let changed = execute!(
            self,
            "UPDATE recovery_codes SET used_ms = $3 \
                 WHERE user_id = $1 AND code_hash = $2 AND used_ms IS NULL",
            user.as_str(),
            digest(code),
            now
        )?;
        Ok(changed == 1)
    }

    pub async fn recovery_codes_left(&self, user: &UserId) -> Result<i64> {
        let n = on_reader!(self, pool => {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_ms IS NULL",
            )
            .bind(user.as_str())
            .fetch_one(pool)
            .await
        })?;
        Ok(n)
    }

    /// Turns the second factor off and forgets its recovery codes.
    pub async fn disable_totp(&self, user: &UserId) -> Result<()> {
        on_writer!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                sqlx::query(
                    "UPDATE users SET totp_secret = NULL, totp_pending = NULL WHERE id = $1",
                )
                .bind(user.as_str())
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                    .bind(user.as_str())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok::<_, StoreError>(())
            }
            .await
        })
    }

    /// A one-time link token for `user` in `org`, valid for `ttl_ms`. Earlier unused links
    /// of the user stop working.
    pub async fn create_user_link(
        &self,
        org: &OrgId,
        user: &UserId,
        purpose: LinkPurpose,
        ttl_ms: i64,
        mailed: bool,
    ) -> Result<String> {
        let token = new_secret(SecretKind::UserLink)?;
        let now = self.now_ms();
        on_writer!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                sqlx::query(
                    "UPDATE user_links SET used_ms = $2 WHERE user_id = $1 AND used_ms IS NULL",
                )
                .bind(user.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO user_links (token_hash, user_id, org_id, purpose, created_ms, expires_ms, mailed) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(digest(&token))
                .bind(user.as_str())
                .bind(org.as_str())
                .bind(purpose.as_str())
                .bind(now)
                .bind(now.saturating_add(ttl_ms))
                .bind(mailed)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok::<_, StoreError>(())
            }
            .await
        })?;
        Ok(token)
    }

    /// The account a link token is for, while the token is good.
    pub async fn user_link_owner(&self, token: &str) -> Result<UserAuth> {
        let now = self.now_ms();
        let user = on_reader!(self, pool => {
            sqlx::query_scalar::<_, String>(
                "SELECT user_id FROM user_links \
                 WHERE token_hash = $1 AND used_ms IS NULL AND expires_ms > $2",
            )
            .bind(digest(token))
            .bind(now)
            .fetch_optional(pool)
            .await
        })?;
        self.user_by_id(&UserId::from_db(user.ok_or(StoreError::NotFound)?))
            .await
    }

    /// Spends a link token and sets the password it was for, in one step; ends the user's
    /// sessions. An unknown, spent or expired token is [`StoreError::NotFound`].
    pub async fn accept_user_link(
        &self,
        token: &str,
        password_hash: &str,
    ) -> Result<(UserId, OrgId)> {
        let now = self.now_ms();
        let row = on_writer!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                let row = sqlx::query_as::<_, (String, String, String, bool)>(
                    "UPDATE user_links SET used_ms = $2 \
                     WHERE token_hash = $1 AND used_ms IS NULL AND expires_ms > $2 \
                     RETURNING user_id, org_id, purpose, mailed",
                )
                .bind(digest(token))
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((user_id, org_id, purpose, mailed)) = row else {
                    return Err(StoreError::NotFound);
                };
                // Checked again now, not only when the link was issued: the account may have
                // joined another organisation or become a platform admin since, and a reset
                // link from one organisation's admin must not reach those.
                let (member_here, memberships, platform_admin) =
                    sqlx::query_as::<_, (i64, i64, bool)>(
                        "SELECT (SELECT COUNT(*) FROM memberships WHERE user_id = $1 AND org_id = $2), \
                                (SELECT COUNT(*) FROM memberships WHERE user_id = $1), \
                                platform_admin FROM users WHERE id = $1",
                    )
                    .bind(&user_id)
                    .bind(&org_id)
                    .fetch_one(&mut *tx)
                    .await?;
                let reset = purpose == LinkPurpose::Reset.as_str();
                if member_here == 0 || (reset && (memberships > 1 || platform_admin)) {
                    return Err(StoreError::NotFound);
                }
                // A link that only the address's owner received proves the address.
                sqlx::query(
                    "UPDATE users SET password_hash = $2, \
                     verified_ms = CASE WHEN $3 THEN COALESCE(verified_ms, $4) ELSE verified_ms END \
                     WHERE id = $1",
                )
                .bind(&user_id)
                .bind(password_hash)
                .bind(mailed)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok::<_, StoreError>((user_id, org_id))
            }
            .await
        })?;
        let user = UserId::from_db(row.0);
        self.revoke_user_sessions(&user).await?;
        Ok((user, OrgId::from_db(row.1)))
    }
}
