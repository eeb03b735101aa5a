//! Notifications: channels' configurations (config.rs) sealed at rest (seal.rs), rendered
//! for each service (render.rs), sent (send.rs), and the persistent delivery queue's worker
//! (below): retries with exponential backoff, a receiver's Retry-After honoured, and
//! deliveries left pending by a stopped server sent after it starts again.

pub mod config;
pub mod egress;
pub mod mail;
pub mod render;
pub mod seal;
pub mod send;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use optralis_proto::alerts::{AlertSeverity, Notification, NotificationEvent, NotificationKind};
use optralis_proto::vocabulary::Language;
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::store::{AttemptResult, ClaimedDelivery, Store, StoredChannel};
use config::ChannelConfig;
use seal::{SealError, Sealer};
use send::{SendError, Sender};

/// Attempts per delivery: with the backoff below, about 10 hours of trying.
pub const MAX_ATTEMPTS: i64 = 15;
/// First retry after this; each next one waits twice as long, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(3_600);
/// A Retry-After longer than this is capped (a receiver cannot park a message for days).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3_600);
/// A leased delivery not finished within this is taken for abandoned (its worker died).
pub const LEASE_MS: i64 = 120_000;
/// Even with no wake-up, the queue is looked at this often (retries fall due).
const POLL_EVERY: Duration = Duration::from_secs(1);
/// Deliveries sent at once by one pass of [`deliver_due`].
const BATCH: i64 = 16;
/// Deliveries the worker keeps in flight at once, and at most this many per organisation:
/// one organisation's slow or dead receivers hold a few senders, never all of them.
const MAX_IN_FLIGHT: usize = 16;
const PER_ORG_IN_FLIGHT: usize = 4;

/// What the API and the worker share: the key that opens channel configurations, the HTTP
/// client, and the bell that wakes the worker when something is queued.
#[derive(Clone)]
pub struct Notifier {
    pub sealer: Sealer,
    pub sender: Sender,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Notifier(..)")
    }
}

impl Notifier {
    /// `policy`: where channels may send; every send ends within [`send::DEADLINE`].
    pub fn new(sealer: Sealer, policy: egress::EgressPolicy) -> Self {
        Self::with_deadline(sealer, policy, send::DEADLINE)
    }

    pub fn with_deadline(sealer: Sealer, policy: egress::EgressPolicy, deadline: Duration) -> Self {
        Self {
            sealer,
            sender: Sender::new(policy, deadline),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Tells the worker a delivery was queued.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// What a channel's sealed configuration is bound to.
    pub fn seal_context(channel_id: &str, org: &str) -> String {
        format!("optralis-channel:{org}:{channel_id}")
    }

    pub fn seal_config(
        &self,
        org: &str,
        channel_id: &str,
        config: &ChannelConfig,
    ) -> Result<String, SealError> {
        let plain = serde_json::to_vec(config).map_err(|_| SealError::Open)?;
        self.sealer
            .seal(&Self::seal_context(channel_id, org), &plain)
    }

    pub fn open_config(&self, channel: &StoredChannel) -> Result<ChannelConfig, SealError> {
        let plain = self.sealer.open(
            &Self::seal_context(&channel.id, channel.org_id.as_str()),
            &channel.sealed_config,
        )?;
        serde_json::from_slice(&plain).map_err(|_| SealError::Open)
    }

    /// Sends now, without the queue (test messages, whose outcome the caller waits for).
    pub async fn send_now(
        &self,
        channel: &StoredChannel,
        n: &Notification,
        delivery: i64,
    ) -> Result<(), SendError> {
        let config = self
            .open_config(channel)
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        self.sender.send(&config, n, delivery).await
    }
}

/// The wait before attempt `attempts + 1`, after `attempts` failures.
pub fn backoff(attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    FIRST_BACKOFF
        .saturating_mul(2u32.saturating_pow(doublings))
        .min(MAX_BACKOFF)
}

/// How an attempt's outcome is recorded, given the attempts made before it.
pub fn attempt_result(
    outcome: &Result<(), SendError>,
    attempts_before: i64,
    now_ms: i64,
) -> AttemptResult {
    match outcome {
        Ok(()) => AttemptResult::Delivered,
        Err(SendError::Permanent(error)) => AttemptResult::Failed {
            error: error.clone(),
        },
        Err(SendError::Retry { message, .. }) if attempts_before + 1 >= MAX_ATTEMPTS => {
            AttemptResult::Failed {
                error: format!("{message} (gave up after {MAX_ATTEMPTS} attempts)"),
            }
        }
        Err(SendError::Retry { message, after }) => {
            let wait = after
                .map(|a| a.min(MAX_RETRY_AFTER))
                .unwrap_or_else(|| backoff(attempts_before + 1));
            AttemptResult::RetryAt {
                at_ms: now_ms + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2),
                error: message.clone(),
            }
        }
    }
}

/// A test message in the organisation's language.
pub fn test_notification(organisation: &str, language: Language, now_ms: i64) -> Notification {
    let (title, text) = if language == Language::Fr {
        (
            "Message de test d'Optralis",
            "Ce canal reçoit bien les alertes d'Optralis.",
        )
    } else {
        (
            "Optralis test message",
            "This channel receives Optralis alerts.",
        )
    };
    Notification {
        event: NotificationEvent::Test,
        severity: AlertSeverity::Info,
        kind: NotificationKind::Test,
        title: title.into(),
        text: text.into(),
        language,
        organisation: organisation.into(),
        machines: Vec::new(),
        link: None,
        ts_ms: now_ms,
    }
}

/// Runs the delivery queue until shutdown: due deliveries are leased as senders free up,
/// organisations taking turns, each sent on its own task and its outcome recorded. A slow
/// receiver delays only its own deliveries.
pub fn spawn_worker(
    store: Store,
    notifier: Notifier,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut running: JoinSet<()> = JoinSet::new();
        // Which organisation each send is for, and how many each has in flight. Kept by
        // task id, so a send that panics still gives its organisation's slot back.
        let mut owners: HashMap<tokio::task::Id, String> = HashMap::new();
        let mut per_org: HashMap<String, usize> = HashMap::new();
        let finished = |owners: &mut HashMap<tokio::task::Id, String>,
                        per_org: &mut HashMap<String, usize>,
                        id: tokio::task::Id| {
            if let Some(org) = owners.remove(&id)
                && let Some(n) = per_org.get_mut(&org)
            {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    per_org.remove(&org);
                }
            }
        };
        let id_of = |done: Result<(tokio::task::Id, ()), tokio::task::JoinError>| match done {
            Ok((id, ())) => id,
            Err(e) => {
                tracing::error!(error = %e, "a delivery task failed");
                e.id()
            }
        };
        loop {
            while let Some(done) = running.try_join_next_with_id() {
                finished(&mut owners, &mut per_org, id_of(done));
            }
            let free = MAX_IN_FLIGHT.saturating_sub(running.len());
            if free > 0 {
                let busy: Vec<&str> = per_org
                    .iter()
                    .filter(|(_, n)| **n >= PER_ORG_IN_FLIGHT)
                    .map(|(org, _)| org.as_str())
                    .collect();
                // One per organisation per claim, so each organisation's count is checked
                // before it gets another sender.
                match store
                    .claim_deliveries(LEASE_MS, free as i64, 1, &busy)
                    .await
                {
                    Ok(claimed) if !claimed.is_empty() => {
                        for d in claimed {
                            let org = d.channel.org_id.as_str().to_owned();
                            *per_org.entry(org.clone()).or_default() += 1;
                            let (store, notifier) = (store.clone(), notifier.clone());
                            let task = running.spawn(async move {
                                attempt(&store, &notifier, d).await;
                            });
                            owners.insert(task.id(), org);
                        }
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "delivery queue: cannot read; will retry")
                    }
                }
            }
            tokio::select! {
                Some(done) = running.join_next_with_id(), if !running.is_empty() => {
                    finished(&mut owners, &mut per_org, id_of(done));
                }
                _ = notifier.wake.notified() => {}
                _ = tokio::time::sleep(POLL_EVERY) => {}
                _ = shutdown.changed() => break,
            }
        }
        // Sends in flight end within their deadline; their outcome is recorded.
        while running.join_next().await.is_some() {}
    })
}

/// One pass over the queue: returns how many deliveries were attempted.
pub async fn deliver_due(
    store: &Store,
    notifier: &Notifier,
) -> Result<usize, crate::store::StoreError> {
    let claimed = store.claim_deliveries(LEASE_MS, BATCH, BATCH, &[]).await?;
    let count = claimed.len();
    let attempts = claimed.into_iter().map(|d| attempt(store, notifier, d));
    futures_util::future::join_all(attempts).await;
    Ok(count)
}

async fn attempt(store: &Store, notifier: &Notifier, d: ClaimedDelivery) {
    let outcome = if d.channel.enabled {
        notifier.send_now(&d.channel, &d.notification, d.id).await
    } else {
        Err(SendError::Permanent("the channel is disabled".into()))
    };
    let result = attempt_result(&outcome, d.attempts, store.now_ms());
    match &result {
        AttemptResult::Delivered => {
            tracing::info!(delivery = d.id, channel = %d.channel.id, "notification delivered")
        }
        AttemptResult::RetryAt { error, .. } => {
            tracing::warn!(delivery = d.id, channel = %d.channel.id, %error, "delivery failed; will retry")
        }
        AttemptResult::Failed { error } => {
            tracing::error!(delivery = d.id, channel = %d.channel.id, %error, "delivery failed for good")
        }
    }
    if let Err(e) = store.finish_delivery(d.id, &result).await {
        // The lease expires and the delivery is attempted again: a duplicate rather than a loss.
        tracing::warn!(delivery = d.id, error = %e, "cannot record a delivery's outcome");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), Duration::from_secs(5));
        assert_eq!(backoff(2), Duration::from_secs(10));
        assert_eq!(backoff(5), Duration::from_secs(80));
        assert_eq!(backoff(14), Duration::from_secs(3_600));
    }

    #[test]
    fn outcomes_become_retries_or_failures() {
        let retry = |after| {
            Err(SendError::Retry {
                message: "busy".into(),
                after,
            })
        };
        assert_eq!(
            attempt_result(&retry(None), 0, 1_000),
            AttemptResult::RetryAt {
                at_ms: 6_000,
                error: "busy".into()
            }
        );
        assert_eq!(
            attempt_result(&retry(Some(Duration::from_secs(7))), 3, 1_000),
            AttemptResult::RetryAt {
                at_ms: 8_000,
                error: "busy".into()
            },
            "Retry-After wins over the backoff"
        );
        assert!(matches!(
            attempt_result(&retry(None), MAX_ATTEMPTS - 1, 0),
            AttemptResult::Failed { .. }
        ));
        assert!(matches!(
            attempt_result(&Err(SendError::Permanent("gone".into())), 0, 0),
            AttemptResult::Failed { .. }
        ));
        assert_eq!(attempt_result(&Ok(()), 4, 0), AttemptResult::Delivered);
    }
}
