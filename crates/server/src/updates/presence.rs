//! Whether an organisation has a rollout that a report could concern, remembered for a few
//! seconds. Nearly every batch comes from an organisation with none; without this, each would
//! pay a query for its update offer. A rollout made or changed on this server is seen at
//! once ([`RolloutPresence::changed`]); one made on another replica within [`TTL`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::ids::OrgId;
use crate::store::{Result, Store};

/// How long an answer is trusted: well under an agent's report interval.
pub const TTL: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct RolloutPresence {
    known: Mutex<HashMap<OrgId, (Instant, bool)>>,
    /// When each organisation's rollouts last changed here: an answer asked for before
    /// that is not kept.
    changed: Mutex<HashMap<OrgId, Instant>>,
}

impl RolloutPresence {
    /// Whether `org` has a rollout under way or a machine mid-update (the store's answer,
    /// or one at most [`TTL`] old).
    pub async fn may_concern(&self, store: &Store, org: &OrgId) -> Result<bool> {
        if let Some(known) = self.recall(org) {
            return Ok(known);
        }
        let asked = Instant::now();
        let open = store.org_has_open_rollout(org).await?;
        let stale = self
            .changed
            .lock()
            .ok()
            .and_then(|c| c.get(org).copied())
            .is_some_and(|at| at >= asked);
        if !stale && let Ok(mut known) = self.known.lock() {
            known.insert(org.clone(), (Instant::now(), open));
        }
        Ok(open)
    }

    /// A rollout of `org` was made or changed here: ask the store next time.
    pub fn changed(&self, org: &OrgId) {
        if let Ok(mut changed) = self.changed.lock() {
            changed.insert(org.clone(), Instant::now());
        }
        if let Ok(mut known) = self.known.lock() {
            known.remove(org);
        }
    }

    fn recall(&self, org: &OrgId) -> Option<bool> {
        let known = self.known.lock().ok()?;
        let (at, open) = known.get(org)?;
        (at.elapsed() < TTL).then_some(*open)
    }
}
