//! Live events for `GET /api/v1/stream`: machine updates, status and score changes, fanned
//! out in process to every subscriber, each of which keeps only its organisation's events.
//! On PostgreSQL the hub also relays what it publishes to the other servers sharing the
//! database, and hears theirs (store/live_relay.rs).

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc};

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
    /// Towards the other servers, when there may be some.
    relay: Option<mpsc::Sender<Arc<LiveEvent>>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(CAPACITY).0,
            relay: None,
        }
    }
}

impl Hub {
    /// This hub, also handing what it publishes to `relay`.
    pub fn relayed(self, relay: mpsc::Sender<Arc<LiveEvent>>) -> Self {
        Self {
            relay: Some(relay),
            ..self
        }
    }

    /// Sends to whoever listens, here and on the other servers; nobody listening is fine.
    /// A relay that cannot keep up drops events: the dashboard also refreshes on its own.
    pub fn publish(&self, event: LiveEvent) {
        let event = Arc::new(event);
        if let Some(relay) = &self.relay {
            let _ = relay.try_send(event.clone());
        }
        let _ = self.tx.send(event);
    }

    /// An event another server published, for this server's subscribers.
    pub fn publish_here(&self, event: Arc<LiveEvent>) {
        let _ = self.tx.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.tx.subscribe()
    }
}
