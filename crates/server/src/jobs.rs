//! Background maintenance: the offline sweep every 10 s, rollups every minute, retention and
//! the purge of ended sessions every ten. Each run is leased (store/leases.rs): with several
//! servers on one PostgreSQL database, one of them does it. Ends on shutdown.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::store::{Job, Retention, Store};

const ROLLUP_EVERY: Duration = Duration::from_secs(60);
/// How often silent machines are looked for: a machine is seen offline at most this late.
const OFFLINE_SWEEP_EVERY: Duration = Duration::from_secs(10);
/// Retention runs once every this many rollup ticks.
const RETENTION_EVERY_TICKS: u32 = 10;
/// Ended sessions are kept this long (a replayed refresh token of theirs is still reported
/// as reuse), then forgotten.
const KEEP_ENDED_SESSIONS_MS: i64 = 7 * 24 * 3_600_000;

pub fn spawn_maintenance(
    store: Store,
    retention: Retention,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(ROLLUP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sweep = tokio::time::interval(OFFLINE_SWEEP_EVERY);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ticks: u32 = 0;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = sweep.tick() => {
                    leased(&store, Job::OfflineSweep, async {
                        match store.sweep_offline().await {
                            Ok(0) => {}
                            Ok(n) => tracing::info!(machines = n, "machines went offline"),
                            Err(e) => tracing::warn!(error = %e, "offline sweep failed; will retry"),
                        }
                    })
                    .await;
                    continue;
                }
                _ = shutdown.changed() => break,
            }
            leased(&store, Job::Rollups, async {
                match store.run_rollups().await {
                    Ok(steps) if steps > 0 => tracing::debug!(steps, "rollups updated"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "rollup failed; will retry"),
                }
            })
            .await;
            if ticks.is_multiple_of(RETENTION_EVERY_TICKS) {
                leased(&store, Job::Retention, async {
                    match store.apply_retention(&retention).await {
                        Ok(0) => {}
                        Ok(rows) => tracing::info!(rows, "retention removed expired samples"),
                        Err(e) => tracing::warn!(error = %e, "retention failed; will retry"),
                    }
                })
                .await;
                leased(&store, Job::SessionPurge, async {
                    if let Err(e) = store.purge_sessions(KEEP_ENDED_SESSIONS_MS).await {
                        tracing::warn!(error = %e, "purging ended sessions failed; will retry");
                    }
                })
                .await;
            }
            ticks = ticks.wrapping_add(1);
        }
        tracing::debug!("maintenance stopped");
    })
}

/// Runs `work` if this server holds `job`'s lease; another server holding it skips the run.
async fn leased(store: &Store, job: Job, work: impl std::future::Future<Output = ()>) {
    match store.try_lease(job).await {
        Ok(Some(lease)) => {
            work.await;
            if let Err(e) = lease.release().await {
                tracing::warn!(job = job.name(), error = %e, "could not release the job's lease");
            }
        }
        Ok(None) => tracing::debug!(job = job.name(), "another server runs it now"),
        Err(e) => {
            tracing::warn!(job = job.name(), error = %e, "could not take the job's lease; will retry")
        }
    }
}
