//! Per-organisation and per-caller limits: how many rules, channels and silences an
//! organisation may keep, and how many live streams a caller and an organisation may hold
//! open. They keep one tenant from slowing down or starving the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;

use super::ApiError;

/// Operator-set limits (`[limits]` in the configuration file).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    pub rules_per_org: u32,
    pub channels_per_org: u32,
    pub silences_per_org: u32,
    /// Open event streams (`/api/v1/stream`) per user or API token.
    pub streams_per_caller: u32,
    pub streams_per_org: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            rules_per_org: 500,
            channels_per_org: 200,
            silences_per_org: 1000,
            streams_per_caller: 10,
            streams_per_org: 200,
        }
    }
}

impl Limits {
    /// Refuses to add one more of `what` when the organisation has `count` already.
    pub fn check_room(count: i64, max: u32, what: &str, setting: &str) -> Result<(), ApiError> {
        if count >= i64::from(max) {
            return Err(ApiError::Forbidden {
                code: "limit_reached",
                message: format!(
                    "this organisation has {count} {what}, the most allowed (limits.{setting}); delete some first"
                ),
            });
        }
        Ok(())
    }
}

/// Open streams per caller and per organisation.
#[derive(Debug, Default)]
pub struct StreamSlots {
    open: Mutex<HashMap<String, u32>>,
}

/// Held by an open stream; frees its slots when the stream ends.
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    keys: [String; 2],
}

impl StreamSlots {
    /// Takes a slot for `caller` in `org`, or says which limit is reached.
    pub fn take(
        self: &Arc<Self>,
        caller: &str,
        org: &str,
        limits: &Limits,
    ) -> Result<StreamSlot, ApiError> {
        let keys = [format!("caller:{caller}"), format!("org:{org}")];
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = |k: &str| open.get(k).copied().unwrap_or(0);
        if count(&keys[0]) >= limits.streams_per_caller || count(&keys[1]) >= limits.streams_per_org
        {
            return Err(ApiError::TooManyRequests { retry_after_s: 30 });
        }
        for k in &keys {
            *open.entry(k.clone()).or_default() += 1;
        }
        Ok(StreamSlot {
            slots: self.clone(),
            keys,
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|p| p.into_inner());
        for k in &self.keys {
            if let Some(n) = open.get_mut(k) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    open.remove(k);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_caller_and_per_org_and_freed() {
        let slots = Arc::new(StreamSlots::default());
        let limits = Limits {
            streams_per_caller: 2,
            streams_per_org: 3,
            ..Limits::default()
        };
        let a1 = slots.take("alice", "o", &limits).expect("first");
        let _a2 = slots.take("alice", "o", &limits).expect("second");
        assert!(slots.take("alice", "o", &limits).is_err(), "caller limit");
        let _b1 = slots.take("bob", "o", &limits).expect("bob");
        assert!(slots.take("carol", "o", &limits).is_err(), "org limit");
        assert!(slots.take("dave", "p", &limits).is_ok(), "another org");
        drop(a1);
        assert!(slots.take("carol", "o", &limits).is_ok(), "freed");
    }
}
