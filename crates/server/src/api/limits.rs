//! Per-organisation and per-caller limits: how many rules, channels and silences an
//! organisation may keep, and how many live streams a caller and an organisation may hold
//! open. They keep one tenant from slowing down or starving the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;

use super::ApiError;
use crate::ids::OrgId;
use crate::store::{OrgTable, Store};

/// Operator-set limits (`[limits]` in the configuration file).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    pub rules_per_org: u32,
    pub channels_per_org: u32,
    pub silences_per_org: u32,
    /// Open event streams (`/api/v1/stream`) per user or API token, per organisation, and
    /// in all: kept well under `[http] max_connections`, so streams never take every
    /// connection from agents and API calls.
    pub streams_per_caller: u32,
    pub streams_per_org: u32,
    pub streams_total: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            rules_per_org: 500,
            channels_per_org: 200,
            silences_per_org: 1000,
            streams_per_caller: 10,
            streams_per_org: 100,
            streams_total: 256,
        }
    }
}

impl Limits {
    /// Refuses to add one more row of `table` when the organisation has its limit already.
    pub async fn ensure_room(
        &self,
        store: &Store,
        org: &OrgId,
        table: OrgTable,
    ) -> Result<(), ApiError> {
        let (max, what, setting) = match table {
            OrgTable::Rules => (self.rules_per_org, "rules", "rules_per_org"),
            OrgTable::Channels => (self.channels_per_org, "channels", "channels_per_org"),
            OrgTable::Silences => (self.silences_per_org, "silences", "silences_per_org"),
        };
        let count = store.count_in_org(table, org).await?;
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

/// Open streams per caller, per organisation and in all.
#[derive(Debug, Default)]
pub struct StreamSlots {
    open: Mutex<HashMap<String, u32>>,
}

/// Held by an open stream; frees its slots when the stream ends.
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    keys: [String; 3],
}

impl StreamSlots {
    /// Takes a slot for `caller` in `org`, or says which limit is reached.
    pub fn take(
        self: &Arc<Self>,
        caller: &str,
        org: &str,
        limits: &Limits,
    ) -> Result<StreamSlot, ApiError> {
        let keys = [
            format!("caller:{caller}"),
            format!("org:{org}"),
            "all".to_owned(),
        ];
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = |k: &str| open.get(k).copied().unwrap_or(0);
        let full = [
            (&keys[0], limits.streams_per_caller, "this caller"),
            (&keys[1], limits.streams_per_org, "this organisation"),
            (&keys[2], limits.streams_total, "this server"),
        ]
        .into_iter()
        .find(|(k, max, _)| count(k) >= *max);
        if let Some((_, max, whose)) = full {
            return Err(ApiError::Busy {
                message: format!("{whose} has {max} live streams open, the most allowed"),
                retry_after_s: 30,
            });
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
    fn slots_are_counted_per_caller_per_org_and_in_all_and_freed() {
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
        let d = slots.take("dave", "p", &limits).expect("another org");
        drop(a1);
        let _c = slots.take("carol", "o", &limits).expect("freed");
        drop(d);
        // alice, bob and carol hold three.
        let tight = Limits {
            streams_total: 3,
            ..limits
        };
        assert!(
            slots.take("erin", "q", &tight).is_err(),
            "three open in all"
        );
    }
}
