//! Login sessions. A session is a family of refresh tokens: each refresh spends the current
//! token and issues the next; presenting a spent token means it was stolen (or replayed), so
//! the whole family is revoked.

use super::{Result, Store, StoreError, execute, new_secret, on_reader, on_writer};
use crate::ids::{SessionId, UserId};
use crate::secret::{SecretKind, digest};

/// Where a session was opened from, for the audit log and the session list.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The outcome of presenting a refresh token.
#[derive(Debug)]
pub enum Refresh {
    /// The token was current: here is the next one.
    Rotated {
        session: SessionId,
        user: UserId,
        token: String,
    },
    /// The token was already spent: the session is now revoked.
    Reused { session: SessionId, user: UserId },
}

/// How long a just-spent refresh token still gets its successor (a second tab refreshing at
/// the same moment).
pub const REFRESH_GRACE_MS: i64 = 10_000;

impl Store {
    /// Opens a session for `user` lasting `ttl_ms`; returns it with its first refresh token.
    pub async fn create_session(
        &self,
        user: &UserId,
        ttl_ms: i64,
        client: &ClientInfo,
    ) -> Result<(SessionId, String)> {
        let session = SessionId::new_random();
        let token = new_secret(SecretKind::RefreshToken)?;
        let now = self.now_ms();
        on_writer!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                sqlx::query(
                    "INSERT INTO sessions (id, user_id, created_ms, expires_ms, ip, user_agent) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(session.as_str())
                .bind(user.as_str())
                .bind(now)
                .bind(now.saturating_add(ttl_ms))
                .bind(client.ip.as_deref())
                .bind(client.user_agent.as_deref())
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO refresh_tokens (token_hash, session_id, created_ms) VALUES ($1, $2, $3)",
                )
                .bind(digest(&token))
                .bind(session.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok::<_, StoreError>(())
            }
            .await
        })?;
        Ok((session, token))
    }

    /// Spends a refresh token for `next` (its successor, see `secret::refresh_successor`).
    /// A token spent less than [`REFRESH_GRACE_MS`] ago whose successor is still unused
    /// answers that successor again (two tabs refreshing at once); spent longer ago, or
    /// after its successor was used, it revokes the session. Unknown tokens and tokens of
    /// ended sessions are [`StoreError::NotFound`].
    pub async fn rotate_refresh(&self, token: &str, next: &str) -> Result<Refresh> {
        let hash = digest(token);
        let next = next.to_owned();
        let now = self.now_ms();
        on_writer!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                let row = sqlx::query_as::<_, (String, String, i64, Option<i64>)>(
                    "SELECT s.id, s.user_id, s.expires_ms, s.revoked_ms \
                     FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id \
                     WHERE r.token_hash = $1",
                )
                .bind(&hash)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((session, user, expires_ms, revoked_ms)) = row else {
                    return Err(StoreError::NotFound);
                };
                if revoked_ms.is_some() || expires_ms <= now {
                    return Err(StoreError::NotFound);
                }
                // Spending is one conditional update, so two concurrent uses of one token
                // cannot both succeed.
                let spent = sqlx::query(
                    "UPDATE refresh_tokens SET used_ms = $2 WHERE token_hash = $1 AND used_ms IS NULL",
                )
                .bind(&hash)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if spent == 0 {
                    let successor_unused = sqlx::query_scalar::<_, i64>(
                        "SELECT COUNT(*) FROM refresh_tokens s JOIN refresh_tokens r \
                           ON r.session_id = s.session_id \
                         WHERE r.token_hash = $1 AND r.used_ms >= $3 \
                           AND s.token_hash = $2 AND s.used_ms IS NULL",
                    )
                    .bind(&hash)
                    .bind(digest(&next))
                    .bind(now - REFRESH_GRACE_MS)
                    .fetch_one(&mut *tx)
                    .await?;
                    if successor_unused > 0 {
                        return Ok(Refresh::Rotated {
                            session: SessionId::from_db(session),
                            user: UserId::from_db(user),
                            token: next,
                        });
                    }
                    sqlx::query("UPDATE sessions SET revoked_ms = $2 WHERE id = $1")
                        .bind(&session)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    return Ok(Refresh::Reused {
                        session: SessionId::from_db(session),
                        user: UserId::from_db(user),
                    });
                }
                sqlx::query(
                    "INSERT INTO refresh_tokens (token_hash, session_id, created_ms) VALUES ($1, $2, $3)",
                )
                .bind(digest(&next))
                .bind(&session)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok::<_, StoreError>(Refresh::Rotated {
                    session: SessionId::from_db(session),
                    user: UserId::from_db(user),
                    token: next,
                })
            }
            .await
        })
    }

    /// The addresses `user` opened sessions from within `within_ms` (at most 100).
    pub async fn signed_in_from(&self, user: &str, within_ms: i64) -> Result<Vec<String>> {
        let since = self.now_ms().saturating_sub(within_ms);
        let rows = on_reader!(self, pool => {
            sqlx::query_scalar::<_, String>(
                "SELECT DISTINCT ip FROM sessions \
                 WHERE user_id = $1 AND created_ms >= $2 AND ip IS NOT NULL LIMIT 100",
            )
            .bind(user)
            .bind(since)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows)
    }

    /// The session a refresh token belongs to, without spending it (for logout).
    pub async fn session_for_refresh(&self, token: &str) -> Result<(SessionId, UserId)> {
        let row = on_reader!(self, pool => {
            sqlx::query_as::<_, (String, String)>(
                "SELECT s.id, s.user_id FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id \
                 WHERE r.token_hash = $1",
            )
            .bind(digest(token))
            .fetch_optional(pool)
            .await
        })?;
        let (session, user) = row.ok_or(StoreError::NotFound)?;
        Ok((SessionId::from_db(session), UserId::from_db(user)))
    }

    /// Whether `session` of `user` is open (not revoked, not expired).
    pub async fn session_is_open(&self, session: &SessionId, user: &UserId) -> Result<bool> {
        let now = self.now_ms();
        let row = on_reader!(self, pool => {
            sqlx::query_scalar::<_, i64>(
                "SELECT CAST(1 AS BIGINT) FROM sessions WHERE id = $1 AND user_id = $2 \
                 AND revoked_ms IS NULL AND expires_ms > $3",
            )
            .bind(session.as_str())
            .bind(user.as_str())
            .bind(now)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.is_some())
    }

    pub async fn revoke_session(&self, session: &SessionId) -> Result<()> {
        let now = self.now_ms();
        execute!(
            self,
            "UPDATE sessions SET revoked_ms = COALESCE(revoked_ms, $2) WHERE id = $1",
            session.as_str(),
            now
        )?;
        Ok(())
    }

    /// Ends every session of `user`; returns how many were open.
    pub async fn revoke_user_sessions(&self, user: &UserId) -> Result<u64> {
        let now = self.now_ms();
        let n = execute!(
            self,
            "UPDATE sessions SET revoked_ms = $2 WHERE user_id = $1 AND revoked_ms IS NULL",
            user.as_str(),
            now
        )?;
        Ok(n)
    }

    /// Forgets sessions that ended more than `keep_ms` ago.
    pub async fn purge_sessions(&self, keep_ms: i64) -> Result<u64> {
        let cutoff = self.now_ms().saturating_sub(keep_ms);
        let n = execute!(
            self,
            "DELETE FROM sessions WHERE expires_ms < $1 OR revoked_ms < $1",
            cutoff
        )?;
        Ok(n)
    }

    /// The server secret `name`, stored as `fresh` when there is none yet (the first
    /// replica to start wins; the others read what it stored).
    pub async fn server_secret(&self, name: &str, fresh: &str) -> Result<String> {
        execute!(
            self,
            "INSERT INTO server_secrets (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO NOTHING",
            name,
            fresh
        )?;
        let value = on_writer!(self, pool => {
            sqlx::query_scalar::<_, String>("SELECT value FROM server_secrets WHERE name = $1")
                .bind(name)
                .fetch_one(pool)
                .await
        })?;
        Ok(value)
    }

    pub async fn replace_server_secret(&self, name: &str, value: &str) -> Result<()> {
        execute!(
            self,
            "UPDATE server_secrets SET value = $2 WHERE name = $1",
            name,
            value
        )?;
        Ok(())
    }
}
