//! Who is offered a release, and when a rollout stops. No IO: the store hands over the
//! rollout, a tally of its machines and the asking machine's slot; these functions decide.
//!
//! A rollout's machines are fixed when it is made. The canaries go first, alone; the others
//! are offered the release once every canary has finished (healthy, failed or rolled back)
//! without halting the rollout. It halts as soon as more than its threshold of the machines
//! offered the release failed; an applied release that has not reported healthy within its
//! health window (plus a minute of slack) counts as failed.

use optralis_proto::api::Machine;
use optralis_proto::release::{RolloutProgress, RolloutScope, RolloutState, UpdateState};

use crate::fleet::selector::Selector;

/// Slack past the health window before the server itself counts an update as failed: the
/// agent reports its own verdict first when it can.
pub const VERDICT_SLACK_MS: i64 = 60_000;

/// One machine's place in a rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub canary: bool,
    /// `None` until the machine is offered the release.
    pub state: Option<UpdateState>,
    pub updated_ms: Option<i64>,
}

/// How many machines of a rollout stand where (stale applied updates already counted as
/// failed by the store's query, see [`stale_before`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub canaries: u32,
    /// Canaries that finished (healthy, failed or rolled back).
    pub canaries_done: u32,
    pub waiting: u32,
    pub pending: u32,
    pub downloading: u32,
    pub applied: u32,
    pub healthy: u32,
    pub rolled_back: u32,
    pub failed: u32,
}

impl Tally {
    /// Adds `count` machines in `state` (`stale`: applied but past its window).
    pub fn add(&mut self, canary: bool, state: Option<UpdateState>, stale: bool, count: u32) {
        let state = match state {
            Some(UpdateState::Applied) if stale => Some(UpdateState::Failed),
            s => s,
        };
        if canary {
            self.canaries += count;
            if state.is_some_and(UpdateState::is_final) {
                self.canaries_done += count;
            }
        }
        let slot = match state {
            None => &mut self.waiting,
            Some(UpdateState::Pending) => &mut self.pending,
            Some(UpdateState::Downloading) => &mut self.downloading,
            Some(UpdateState::Applied) => &mut self.applied,
            Some(UpdateState::Healthy) => &mut self.healthy,
            Some(UpdateState::RolledBack) => &mut self.rolled_back,
            Some(UpdateState::Failed) => &mut self.failed,
        };
        *slot += count;
    }

    pub fn total(&self) -> u32 {
        self.waiting + self.offered()
    }

    /// Machines offered the release so far.
    pub fn offered(&self) -> u32 {
        self.pending
            + self.downloading
            + self.applied
            + self.healthy
            + self.rolled_back
            + self.failed
    }

    pub fn failures(&self) -> u32 {
        self.rolled_back + self.failed
    }

    pub fn progress(&self) -> RolloutProgress {
        RolloutProgress {
            total: self.total(),
            waiting: self.waiting,
            pending: self.pending,
            downloading: self.downloading,
            applied: self.applied,
            healthy: self.healthy,
            rolled_back: self.rolled_back,
            failed: self.failed,
        }
    }
}

/// Applied updates last heard of before this instant count as failed.
pub fn stale_before(now_ms: i64, health_window_s: u32) -> i64 {
    now_ms - i64::from(health_window_s) * 1000 - VERDICT_SLACK_MS
}

/// The state a running rollout moves to after a change of its tally, with the reason:
/// halted past the failure threshold (not counting the `accepted` failures an admin resumed
/// after), completed when every machine finished.
pub fn verdict(
    tally: &Tally,
    halt_failure_percent: u32,
    accepted: u32,
) -> Option<(RolloutState, String)> {
    let offered = tally.offered();
    let failures = tally.failures().saturating_sub(accepted);
    if failures > 0
        && u64::from(failures) * 100 > u64::from(halt_failure_percent) * u64::from(offered)
    {
        return Some((
            RolloutState::Halted,
            format!(
                "{failures} of the {offered} machines offered the release failed or rolled \
                 back (threshold {halt_failure_percent} %)"
            ),
        ));
    }
    let unfinished = tally.waiting + tally.pending + tally.downloading + tally.applied;
    (tally.total() > 0 && unfinished == 0).then(|| {
        (
            RolloutState::Completed,
            format!(
                "{} healthy, {} failed or rolled back",
                tally.healthy,
                tally.failures()
            ),
        )
    })
}

/// What to do for a machine that asks (each report batch) while in a rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to offer.
    Nothing,
    /// It already runs the version: it is healthy for this rollout.
    AlreadyThere,
    /// Offer the release (and mark it pending if it was waiting).
    Offer,
}

/// Whether a waiting machine's offer depends on the canaries: the one case [`decide`]
/// needs to know whether they are all done (the caller asks the store only then).
pub fn waits_for_canaries(state: RolloutState, target: &str, running: &str, slot: &Slot) -> bool {
    state == RolloutState::Running && running != target && slot.state.is_none() && !slot.canary
}

/// Whether `slot`'s machine, running `running`, is offered `target` now; `canaries_done`:
/// every canary finished (see [`waits_for_canaries`]).
pub fn decide(
    state: RolloutState,
    target: &str,
    running: &str,
    slot: &Slot,
    canaries_done: bool,
) -> Decision {
    if slot.state.is_some_and(UpdateState::is_final) {
        return Decision::Nothing;
    }
    if running == target {
        // Offered and on trial: the agent's own verdict decides. Never offered: it was
        // there before the rollout.
        return if slot.state.is_none() {
            Decision::AlreadyThere
        } else {
            Decision::Nothing
        };
    }
    if state != RolloutState::Running {
        return Decision::Nothing;
    }
    if slot.state.is_some() || slot.canary || canaries_done {
        Decision::Offer
    } else {
        Decision::Nothing
    }
}

/// Canary machines for a rollout over `in_scope` machines: the count, or the share rounded
/// up; at least one unless asked for none, never more than there are.
pub fn canary_count(count: Option<u32>, percent: Option<u32>, in_scope: usize) -> u32 {
    let in_scope = u32::try_from(in_scope).unwrap_or(u32::MAX);
    let wanted = match (count, percent) {
        (Some(n), _) => n,
        (None, Some(p)) => (u64::from(in_scope) * u64::from(p)).div_ceil(100) as u32,
        (None, None) => 1,
    };
    wanted.min(in_scope)
}

/// Whether `m` is covered by `scope` (`selector` parsed from it).
pub fn in_scope(scope: &RolloutScope, selector: Option<&Selector>, m: &Machine) -> bool {
    if m.decommissioned {
        return false;
    }
    if !scope.machines.is_empty() && !scope.machines.contains(&m.id) {
        return false;
    }
    if !scope.groups.is_empty() && !scope.groups.iter().any(|g| m.groups.contains(g)) {
        return false;
    }
    selector.is_none_or(|s| s.matches(&m.labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(canary: bool, state: Option<UpdateState>) -> Slot {
        Slot {
            canary,
            state,
            updated_ms: None,
        }
    }

    /// What the store answers for a tally: every canary finished.
    fn done(t: &Tally) -> bool {
        t.canaries_done == t.canaries
    }

    fn tally(rows: &[(bool, Option<UpdateState>)]) -> Tally {
        let mut t = Tally::default();
        for &(c, s) in rows {
            t.add(c, s, false, 1);
        }
        t
    }

    #[test]
    fn only_a_waiting_machine_of_a_running_rollout_waits_for_the_canaries() {
        let run = RolloutState::Running;
        assert!(waits_for_canaries(
            run,
            "0.2.0",
            "0.1.0",
            &slot(false, None)
        ));
        assert!(!waits_for_canaries(
            run,
            "0.2.0",
            "0.1.0",
            &slot(true, None)
        ));
        let pending = slot(false, Some(UpdateState::Pending));
        assert!(!waits_for_canaries(run, "0.2.0", "0.1.0", &pending));
        assert!(!waits_for_canaries(
            run,
            "0.2.0",
            "0.2.0",
            &slot(false, None)
        ));
        let paused = RolloutState::Paused;
        assert!(!waits_for_canaries(
            paused,
            "0.2.0",
            "0.1.0",
            &slot(false, None)
        ));
    }

    #[test]
    fn canaries_go_first_and_alone() {
        let t = tally(&[(true, None), (true, None), (false, None)]);
        let run = RolloutState::Running;
        assert_eq!(
            decide(run, "0.2.0", "0.1.0", &slot(true, None), done(&t)),
            Decision::Offer
        );
        assert_eq!(
            decide(run, "0.2.0", "0.1.0", &slot(false, None), done(&t)),
            Decision::Nothing
        );
        let t = tally(&[
            (true, Some(UpdateState::Healthy)),
            (true, Some(UpdateState::Healthy)),
            (false, None),
        ]);
        assert_eq!(
            decide(run, "0.2.0", "0.1.0", &slot(false, None), done(&t)),
            Decision::Offer
        );
    }

    #[test]
    fn only_running_rollouts_offer_and_finished_machines_are_left_alone() {
        let t = tally(&[(true, Some(UpdateState::Pending))]);
        let pending = slot(true, Some(UpdateState::Pending));
        for state in [
            RolloutState::Paused,
            RolloutState::Halted,
            RolloutState::Cancelled,
        ] {
            assert_eq!(
                decide(state, "0.2.0", "0.1.0", &pending, done(&t)),
                Decision::Nothing
            );
        }
        let failed = slot(true, Some(UpdateState::RolledBack));
        assert_eq!(
            decide(RolloutState::Running, "0.2.0", "0.1.0", &failed, done(&t)),
            Decision::Nothing
        );
        assert_eq!(
            decide(
                RolloutState::Running,
                "0.2.0",
                "0.2.0",
                &slot(false, None),
                done(&t)
            ),
            Decision::AlreadyThere
        );
        // On trial: the new version runs, but only the agent's report makes it healthy.
        let applied = slot(true, Some(UpdateState::Applied));
        assert_eq!(
            decide(RolloutState::Running, "0.2.0", "0.2.0", &applied, done(&t)),
            Decision::Nothing
        );
    }

    #[test]
    fn halts_past_the_threshold_and_completes_when_all_finished() {
        let t = tally(&[
            (true, Some(UpdateState::RolledBack)),
            (true, Some(UpdateState::Downloading)),
            (false, None),
        ]);
        let (state, reason) = verdict(&t, 20, 0).unwrap();
        assert_eq!(state, RolloutState::Halted);
        assert!(reason.contains("1 of the 2"), "{reason}");
        // 1 failure in 10 offered is 10 %: under a 20 % threshold, the rollout goes on.
        let mut t = tally(&[(false, Some(UpdateState::Failed))]);
        t.add(false, Some(UpdateState::Healthy), false, 9);
        assert_eq!(
            verdict(&t, 20, 0).map(|v| v.0),
            Some(RolloutState::Completed)
        );
        t.add(false, Some(UpdateState::Pending), false, 1);
        assert_eq!(verdict(&t, 20, 0), None);
        assert_eq!(verdict(&Tally::default(), 20, 0), None);
        // Resumed after a halt, the failures accepted then no longer count.
        let mut t = tally(&[
            (true, Some(UpdateState::RolledBack)),
            (false, Some(UpdateState::Pending)),
        ]);
        assert_eq!(verdict(&t, 20, 0).map(|v| v.0), Some(RolloutState::Halted));
        assert_eq!(verdict(&t, 20, 1), None);
        t.add(false, Some(UpdateState::Failed), false, 1);
        assert_eq!(verdict(&t, 20, 1).map(|v| v.0), Some(RolloutState::Halted));
    }

    #[test]
    fn an_applied_update_past_its_window_counts_as_failed() {
        let mut t = Tally::default();
        t.add(true, Some(UpdateState::Applied), true, 1);
        assert_eq!((t.failed, t.applied, t.canaries_done), (1, 0, 1));
        assert_eq!(stale_before(1_000_000, 120), 1_000_000 - 180_000);
    }

    #[test]
    fn canary_counts_round_up_and_fit() {
        assert_eq!(canary_count(Some(2), None, 20), 2);
        assert_eq!(canary_count(Some(5), None, 3), 3);
        assert_eq!(canary_count(None, Some(10), 21), 3);
        assert_eq!(canary_count(None, None, 20), 1);
        assert_eq!(canary_count(Some(0), None, 20), 0);
        assert_eq!(canary_count(None, None, 0), 0);
    }
}
