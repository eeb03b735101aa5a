//! Notification channels and the delivery queue. The store keeps configurations sealed (it
//! never sees a secret in clear: `notify::seal` seals and opens) and leases due deliveries
//! to the worker so that a row is sent by one worker at a time.

use optralis_proto::alerts::{
    AlertSeverity, ChannelKind, Delivery, DeliveryStatus, Notification, RuleKind,
};

use super::{
    Backend, Result, Store, StoreError, corrupt, execute, from_name, json_text, on_reader,
    on_writer, one_row,
};
use crate::ids::OrgId;

/// A channel as stored.
#[derive(Debug, Clone)]
pub struct StoredChannel {
    pub id: String,
    pub org_id: OrgId,
    pub name: String,
    pub kind: ChannelKind,
    pub sealed_config: String,
    pub shown_config: serde_json::Value,
    pub min_severity: AlertSeverity,
    pub alert_kinds: Vec<RuleKind>,
    pub enabled: bool,
    pub created_ms: i64,
}

/// A channel to add, under an id the caller chose (the sealed configuration is bound to it).
#[derive(Debug, Clone, Copy)]
pub struct NewChannel<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub kind: ChannelKind,
    pub sealed_config: &'a str,
    pub shown_config: &'a serde_json::Value,
    pub min_severity: AlertSeverity,
    /// Empty: every kind.
    pub alert_kinds: &'a [RuleKind],
}

/// What an update changes; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct ChannelChange {
    pub name: Option<String>,
    /// Sealed and shown configuration, together.
    pub config: Option<(String, serde_json::Value)>,
    pub min_severity: Option<AlertSeverity>,
    pub alert_kinds: Option<Vec<RuleKind>>,
    pub enabled: Option<bool>,
}

/// A due delivery, leased to the caller until `lease_until_ms`.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub channel: StoredChannel,
    pub notification: Notification,
    /// Attempts before this one.
    pub attempts: i64,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    Delivered,
    /// Try again at `at_ms`.
    RetryAt {
        at_ms: i64,
        error: String,
    },
    /// No attempt left, or a failure a retry cannot fix.
    Failed {
        error: String,
    },
}

type ChannelRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    bool,
    i64,
);

const CHANNEL_COLUMNS: &str = "id, org_id, name, kind, sealed_config, shown_config, min_severity, \
     alert_kinds, enabled, created_ms";

fn channel_of(row: ChannelRow) -> Result<StoredChannel> {
    let (id, org, name, kind, sealed, shown, min, kinds, enabled, created) = row;
    Ok(StoredChannel {
        id,
        org_id: OrgId::from_db(org),
        name,
        kind: from_name(&kind)?,
        sealed_config: sealed,
        shown_config: serde_json::from_str(&shown).map_err(corrupt)?,
        min_severity: from_name(&min)?,
        alert_kinds: serde_json::from_str(&kinds).map_err(corrupt)?,
        enabled,
        created_ms: created,
    })
}

fn name_taken(name: &str) -> StoreError {
    StoreError::Conflict(format!("a channel named {name:?} already exists"))
}

impl Store {
    /// Adds a channel; a name the organisation already uses is a conflict.
    pub async fn create_channel(&self, org: &OrgId, new: NewChannel<'_>) -> Result<StoredChannel> {
        let now = self.now_ms();
        let inserted = execute!(
            self,
            "INSERT INTO channels (id, org_id, name, kind, sealed_config, shown_config, \
                   min_severity, alert_kinds, enabled, created_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9) ON CONFLICT (org_id, name) DO NOTHING",
            new.id,
            org.as_str(),
            new.name,
            new.kind.as_str(),
            new.sealed_config,
            json_text(new.shown_config)?,
            new.min_severity.as_str(),
            json_text(&new.alert_kinds)?,
            now
        )?;
        one_row(inserted, || name_taken(new.name))?;
        self.channel(org, new.id).await
    }

    pub async fn list_channels(&self, org: &OrgId) -> Result<Vec<StoredChannel>> {
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, ChannelRow>(&format!(
                "SELECT {CHANNEL_COLUMNS} FROM channels WHERE org_id = $1 ORDER BY name"
            ))
            .bind(org.as_str())
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter().map(channel_of).collect()
    }

    pub async fn channel(&self, org: &OrgId, id: &str) -> Result<StoredChannel> {
        let row = on_reader!(self, pool => {
            sqlx::query_as::<_, ChannelRow>(&format!(
                "SELECT {CHANNEL_COLUMNS} FROM channels WHERE org_id = $1 AND id = $2"
            ))
            .bind(org.as_str())
            .bind(id)
            .fetch_optional(pool)
            .await
        })?;
        channel_of(row.ok_or(StoreError::NotFound)?)
    }

    pub async fn update_channel(
        &self,
        org: &OrgId,
        id: &str,
        change: ChannelChange,
    ) -> Result<StoredChannel> {
        let current = self.channel(org, id).await?;
        if let Some(name) = &change.name
            && *name != current.name
            && self
                .list_channels(org)
                .await?
                .iter()
                .any(|c| c.name == *name)
        {
            return Err(name_taken(name));
        }
        let (sealed, shown) = change
            .config
            .unwrap_or((current.sealed_config, current.shown_config));
        execute!(
            self,
            "UPDATE channels SET name = $3, sealed_config = $4, shown_config = $5, \
                   min_severity = $6, alert_kinds = $7, enabled = $8 WHERE org_id = $1 AND id = $2",
            org.as_str(),
            id,
            change.name.unwrap_or(current.name),
            sealed,
            json_text(&shown)?,
            change.min_severity.unwrap_or(current.min_severity).as_str(),
            json_text(&change.alert_kinds.unwrap_or(current.alert_kinds))?,
            change.enabled.unwrap_or(current.enabled)
        )?;
        self.channel(org, id).await
    }

    /// Deletes a channel and its delivery log (pending deliveries are dropped with it).
    pub async fn delete_channel(&self, org: &OrgId, id: &str) -> Result<()> {
        self.delete_in_org("channels", org, id).await
    }

    /// Queues `notification` for `channel`, due now. Returns the delivery id.
    pub async fn enqueue_delivery(
        &self,
        org: &OrgId,
        channel: &str,
        notification: &Notification,
    ) -> Result<i64> {
        self.insert_delivery(org, channel, notification, DeliveryStatus::Pending, 0, None)
            .await
    }

    /// Logs a delivery the caller attempts itself, now (a test message whose outcome it
    /// waits for); [`Store::finish_delivery`] records the outcome. Leased like a claimed one:
    /// if the caller dies mid-send, the worker retries it.
    pub async fn begin_delivery(
        &self,
        org: &OrgId,
        channel: &str,
        notification: &Notification,
        lease_ms: i64,
    ) -> Result<i64> {
        let id = self
            .insert_delivery(org, channel, notification, DeliveryStatus::Sending, 0, None)
            .await?;
        let until = self.now_ms() + lease_ms;
        execute!(
            self,
            "UPDATE deliveries SET lease_until_ms = $2 WHERE id = $1",
            id,
            until
        )?;
        Ok(id)
    }

    async fn insert_delivery(
        &self,
        org: &OrgId,
        channel: &str,
        notification: &Notification,
        status: DeliveryStatus,
        attempts: i64,
        error: Option<&str>,
    ) -> Result<i64> {
        let now = self.now_ms();
        let delivered = (status == DeliveryStatus::Delivered).then_some(now);
        on_writer!(self, pool => {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO deliveries (org_id, channel_id, notification, status, attempts, \
                   next_attempt_ms, last_error, created_ms, delivered_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $8) RETURNING id",
            )
            .bind(org.as_str())
            .bind(channel)
            .bind(json_text(notification)?)
            .bind(status.as_str())
            .bind(attempts)
            .bind(now)
            .bind(error)
            .bind(delivered)
            .fetch_one(pool)
            .await
        })
        .map_err(Into::into)
    }

    /// Leases up to `limit` due deliveries (pending and due, or sending with an expired
    /// lease: a worker died mid-send) until `now + lease_ms`: at most `per_org` of each
    /// organisation, organisations taking turns (each one's oldest first), none of those in
    /// `busy` (their share of the senders is in use).
    pub async fn claim_deliveries(
        &self,
        lease_ms: i64,
        limit: i64,
        per_org: i64,
        busy: &[&str],
    ) -> Result<Vec<ClaimedDelivery>> {
        let now = self.now_ms();
        let find = match &self.backend {
            Backend::Postgres(_) => "strpos",
            Backend::Sqlite { .. } => "instr",
        };
        let busy = format!("|{}|", busy.join("|"));
        // The rows chosen are updated only if still due: on PostgreSQL a replica that
        // claimed one first has changed it, and the update (which waits for that replica's
        // commit, then looks again) leaves it out. Only the claimed rows are locked.
        const DUE: &str = "((status = 'pending' AND next_attempt_ms <= $1) \
             OR (status = 'sending' AND lease_until_ms < $1))";
        let sql = format!(
            "UPDATE deliveries SET status = 'sending', lease_until_ms = $2 WHERE {DUE} AND id IN ( \
               SELECT id FROM ( \
                 SELECT id, next_attempt_ms, \
                   ROW_NUMBER() OVER (PARTITION BY org_id ORDER BY next_attempt_ms, id) AS turn \
                 FROM deliveries WHERE {DUE} AND {find}($5, '|' || org_id || '|') = 0 \
               ) ranked WHERE turn <= $4 ORDER BY turn, next_attempt_ms LIMIT $3) \
             RETURNING id, channel_id, notification, attempts"
        );
        let rows = on_writer!(self, pool => {
            sqlx::query_as::<_, (i64, String, String, i64)>(&sql)
                .bind(now)
                .bind(now + lease_ms)
                .bind(limit)
                .bind(per_org)
                .bind(&busy)
                .fetch_all(pool)
                .await
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, channel_id, notification, attempts) in rows {
            let row = on_reader!(self, pool => {
                sqlx::query_as::<_, ChannelRow>(&format!(
                    "SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1"
                ))
                .bind(&channel_id)
                .fetch_optional(pool)
                .await
            })?;
            let Some(row) = row else { continue };
            // One unreadable row fails alone rather than holding the others back.
            let claimed = channel_of(row).and_then(|channel| {
                Ok(ClaimedDelivery {
                    id,
                    channel,
                    notification: serde_json::from_str(&notification).map_err(corrupt)?,
                    attempts,
                })
            });
            match claimed {
                Ok(c) => out.push(c),
                Err(e) => {
                    tracing::error!(delivery = id, error = %e, "unreadable delivery; marked failed");
                    self.finish_delivery(
                        id,
                        &AttemptResult::Failed {
                            error: e.to_string(),
                        },
                    )
                    .await?;
                }
            }
        }
        Ok(out)
    }

    /// Records how a leased attempt ended.
    pub async fn finish_delivery(&self, id: i64, result: &AttemptResult) -> Result<()> {
        let now = self.now_ms();
        let (status, next, error, delivered) = match result {
            AttemptResult::Delivered => (DeliveryStatus::Delivered, now, None, Some(now)),
            AttemptResult::RetryAt { at_ms, error } => {
                (DeliveryStatus::Pending, *at_ms, Some(error.as_str()), None)
            }
            AttemptResult::Failed { error } => {
                (DeliveryStatus::Failed, now, Some(error.as_str()), None)
            }
        };
        execute!(
            self,
            "UPDATE deliveries SET status = $2, attempts = attempts + 1, next_attempt_ms = $3, \
                   last_error = $4, delivered_ms = $5, lease_until_ms = NULL WHERE id = $1",
            id,
            status.as_str(),
            next,
            error,
            delivered
        )?;
        Ok(())
    }

    /// The organisation's newest deliveries, optionally one channel's.
    pub async fn deliveries(
        &self,
        org: &OrgId,
        channel: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Delivery>> {
        let rows = on_reader!(self, pool => {
            sqlx::query_as::<_, (i64, String, String, i64, i64, i64, Option<i64>, Option<String>, String)>(
                "SELECT id, channel_id, status, attempts, created_ms, next_attempt_ms, delivered_ms, \
                   last_error, notification FROM deliveries \
                 WHERE org_id = $1 AND (CAST($2 AS TEXT) IS NULL OR channel_id = $2) \
                 ORDER BY id DESC LIMIT $3",
            )
            .bind(org.as_str())
            .bind(channel)
            .bind(limit)
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(
                |(
                    id,
                    channel_id,
                    status,
                    attempts,
                    created_ms,
                    next,
                    delivered_ms,
                    last_error,
                    n,
                )| {
                    let status: DeliveryStatus = from_name(&status)?;
                    Ok(Delivery {
                        id,
                        channel_id,
                        status,
                        next_attempt_ms: (status == DeliveryStatus::Pending).then_some(next),
                        attempts,
                        created_ms,
                        delivered_ms,
                        last_error,
                        notification: serde_json::from_str(&n).map_err(corrupt)?,
                    })
                },
            )
            .collect()
    }
}
