//! The update part of a report batch: record what the agent says of its update, then
//! decide whether to offer it its rollout's release.

use optralis_proto::release::{AgentStatus, Platform, RolloutState, UpdateOffer, UpdateState};

use super::rollout::{Decision, decide, verdict, waits_for_canaries};
use crate::store::{AgentIdentity, Result, Store, StoreError, StoredRollout};

/// Where an agent downloads a release from (with its machine token).
pub fn download_path(platform: Platform, version: &str) -> String {
    format!(
        "{}/releases/{}/{version}",
        optralis_proto::AGENT_API_PREFIX,
        platform.as_str()
    )
}

/// Records `status` and returns the offer for the machine's rollout, if any.
pub async fn handle_status(
    store: &Store,
    agent: &AgentIdentity,
    status: &AgentStatus,
) -> Result<Option<UpdateOffer>> {
    let Some((mut rollout, slot)) = store
        .machine_rollout(&agent.org_id, &agent.machine_id)
        .await?
    else {
        return Ok(None);
    };
    let mut state = slot.state;
    // What the agent says of this rollout's version, when it differs from what is recorded.
    if let Some(report) = status
        .update
        .as_ref()
        .filter(|u| u.version == rollout.version)
    {
        let moves = state != Some(report.state) && !state.is_some_and(UpdateState::is_final);
        if moves {
            store
                .set_machine_update(
                    &agent.org_id,
                    &rollout.id,
                    &agent.machine_id,
                    report.state,
                    report.reason.as_deref(),
                )
                .await?;
            tracing::info!(machine = %agent.machine_id, version = %rollout.version, state = report.state.as_str(), reason = report.reason.as_deref().unwrap_or(""), "agent update");
            state = Some(report.state);
            rollout = judge(store, agent, rollout).await?;
        }
    }
    // An update that never reported healthy is judged here too, by whoever asks next (an
    // index lookup; the whole tally only when there is one).
    if rollout.state == RolloutState::Running && store.stale_updates(&rollout).await? > 0 {
        rollout = judge(store, agent, rollout).await?;
    }
    let slot = super::Slot { state, ..slot };
    let canaries_done =
        if waits_for_canaries(rollout.state, &rollout.version, &status.version, &slot) {
            store.unfinished_canaries(&rollout).await? == 0
        } else {
            true
        };
    match decide(
        rollout.state,
        &rollout.version,
        &status.version,
        &slot,
        canaries_done,
    ) {
        Decision::Nothing => Ok(None),
        Decision::AlreadyThere => {
            store
                .set_machine_update(
                    &agent.org_id,
                    &rollout.id,
                    &agent.machine_id,
                    UpdateState::Healthy,
                    None,
                )
                .await?;
            judge(store, agent, rollout).await?;
            Ok(None)
        }
        Decision::Offer => offer(store, agent, &rollout, status, state).await,
    }
}

/// The offer of `rollout`'s release for the agent's platform; a machine whose platform
/// has none fails (and is said why).
async fn offer(
    store: &Store,
    agent: &AgentIdentity,
    rollout: &StoredRollout,
    status: &AgentStatus,
    state: Option<UpdateState>,
) -> Result<Option<UpdateOffer>> {
    let fail = |reason: String| async move {
        store
            .set_machine_update(
                &agent.org_id,
                &rollout.id,
                &agent.machine_id,
                UpdateState::Failed,
                Some(&reason),
            )
            .await?;
        judge(store, agent, rollout.clone()).await?;
        Ok(None)
    };
    let Some(platform) = status.platform else {
        return fail("the agent does not say its platform".into()).await;
    };
    let (release, signature) = match store.release(platform, &rollout.version).await {
        Ok(found) => found,
        Err(StoreError::NotFound) => {
            return fail(format!(
                "no release of {} for {}",
                rollout.version,
                platform.as_str()
            ))
            .await;
        }
        Err(e) => return Err(e),
    };
    if state.is_none() {
        store
            .set_machine_update(
                &agent.org_id,
                &rollout.id,
                &agent.machine_id,
                UpdateState::Pending,
                None,
            )
            .await?;
    }
    Ok(Some(UpdateOffer {
        url: download_path(platform, &release.version),
        version: release.version,
        platform,
        size: release.size,
        sha256: release.sha256,
        signature,
        health_window_s: rollout.health_window_s,
    }))
}

/// Halts or completes a running rollout whose tally says so; the rollout as it now stands.
async fn judge(
    store: &Store,
    agent: &AgentIdentity,
    rollout: StoredRollout,
) -> Result<StoredRollout> {
    if rollout.state != RolloutState::Running {
        return Ok(rollout);
    }
    let tally = store.rollout_tally(&rollout).await?;
    let Some((next, reason)) = verdict(
        &tally,
        rollout.halt_failure_percent,
        rollout.failures_accepted,
    ) else {
        return Ok(rollout);
    };
    if store
        .set_rollout_state(
            &agent.org_id,
            &rollout.id,
            &[RolloutState::Running],
            next,
            Some(&reason),
        )
        .await?
    {
        tracing::warn!(rollout = %rollout.id, version = %rollout.version, state = next.as_str(), %reason, "rollout stopped");
    }
    store.get_rollout(&agent.org_id, &rollout.id).await
}
