//! Live events for `GET /api/v1/stream`: machine updates, status and score changes, fanned
//! out in process to every subscriber, each of which keeps only its organisation's events.
//! (Replicas will share them through Redis; today each server sees its own.)

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::ids::OrgId;

/// Events a slow subscriber may fall behind by before it is told it lost some.
const CAPACITY: usize = 1024;

#[derive(Debug, Clone)]
pub struct LiveEvent {
    pub org: OrgId,
    /// The SSE event name: `machine`, `status` or `score`.
    pub kind: &'static str,
    pub data: serde_json::Value,
}

#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<Arc<LiveEvent>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(CAPACITY).0,
        }
    }
}

impl Hub {
    /// Sends to whoever listens; nobody listening is fine.
    pub fn publish(&self, event: LiveEvent) {
        let _ = self.tx.send(Arc::new(event));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.tx.subscribe()
    }
}
