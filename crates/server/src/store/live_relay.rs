//! What the servers sharing a PostgreSQL database tell each other, on one NOTIFY channel:
//! the live events each publishes (in batches; a lost one costs a dashboard a moment of
//! freshness, as it refreshes on its own too), and the machine tokens each stopped accepting
//! (a replaced or deleted machine's, an organisation's), which the others forget from their
//! caches at once instead of when the entries expire.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::mpsc;

use super::machines::AgentCache;
use crate::ids::OrgId;
use crate::live::{Hub, LiveEvent};

const CHANNEL: &str = "optralis_live";
/// PostgreSQL refuses payloads of 8,000 bytes and more.
const MAX_PAYLOAD: usize = 7_500;
/// Events waiting for the relay; past this, new ones are not relayed.
pub(super) const QUEUE: usize = 8_192;

#[derive(Serialize, Deserialize)]
struct WireEvent {
    org: String,
    kind: String,
    data: serde_json::Value,
}

/// Machine tokens a server stopped accepting.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Forget {
    Machine(String),
    Org(String),
}

#[derive(Deserialize)]
struct Wire {
    /// The sending server, which ignores its own.
    from: String,
    #[serde(default)]
    events: Vec<WireEvent>,
    #[serde(default)]
    forget: Vec<Forget>,
}

/// Starts the senders (`events` and `forgets` out) and the listener (the others' events
/// into `hub`, their forgotten tokens out of `agents`).
pub(super) fn start(
    pool: PgPool,
    hub: Hub,
    events: mpsc::Receiver<Arc<LiveEvent>>,
    forgets: mpsc::Receiver<Forget>,
    agents: Arc<AgentCache>,
) {
    let me = uuid::Uuid::new_v4().to_string();
    tokio::spawn(send(pool.clone(), me.clone(), events));
    tokio::spawn(send_forgets(pool.clone(), me.clone(), forgets));
    tokio::spawn(listen(pool, me, hub, agents));
}

async fn notify(pool: &PgPool, payload: &str) -> bool {
    match sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(payload)
        .execute(pool)
        .await
    {
        Ok(_) => true,
        Err(sqlx::Error::PoolClosed) => false,
        Err(e) => {
            tracing::warn!(error = %e, "could not tell the other servers");
            true
        }
    }
}

/// One notification per forgotten token (rare: a re-enrollment, a deletion), retried: the
/// other servers would trust the token until their cache entries expire.
async fn send_forgets(pool: PgPool, me: String, mut rx: mpsc::Receiver<Forget>) {
    while let Some(forget) = rx.recv().await {
        let payload = serde_json::json!({"from": me, "forget": [forget]}).to_string();
        for attempt in 0..5u32 {
            match sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(&payload)
                .execute(&pool)
                .await
            {
                Ok(_) => break,
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "could not tell the other servers of a replaced token; retrying");
                    tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                }
            }
        }
    }
}

async fn send(pool: PgPool, me: String, mut rx: mpsc::Receiver<Arc<LiveEvent>>) {
    let head = format!("{{\"from\":{},\"events\":[", serde_json::json!(me));
    while let Some(first) = rx.recv().await {
        let mut events = vec![first];
        while events.len() < 512 {
            match rx.try_recv() {
                Ok(e) => events.push(e),
                Err(_) => break,
            }
        }
        for payload in payloads(&head, &events) {
            if !notify(&pool, &payload).await {
                return;
            }
        }
    }
}

/// The events as notification payloads, each under [`MAX_PAYLOAD`]; one too large alone is
/// left out.
fn payloads(head: &str, events: &[Arc<LiveEvent>]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::from(head);
    let mut count = 0;
    for e in events {
        let wire = WireEvent {
            org: e.org.as_str().to_owned(),
            kind: e.kind.to_owned(),
            data: e.data.clone(),
        };
        let Ok(text) = serde_json::to_string(&wire) else {
            continue;
        };
        if head.len() + text.len() + 2 > MAX_PAYLOAD {
            tracing::debug!(
                kind = e.kind,
                bytes = text.len(),
                "a live event too large to relay"
            );
            continue;
        }
        if current.len() + text.len() + 2 > MAX_PAYLOAD {
            current.push_str("]}");
            out.push(std::mem::replace(&mut current, String::from(head)));
            count = 0;
        }
        if count > 0 {
            current.push(',');
        }
        current.push_str(&text);
        count += 1;
    }
    if count > 0 {
        current.push_str("]}");
        out.push(current);
    }
    out
}

async fn listen(pool: PgPool, me: String, hub: Hub, agents: Arc<AgentCache>) {
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen to the other servers; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "cannot listen to the other servers; retrying");
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        }
        // Whatever was said while this server was not listening is unknown.
        agents.forget_all();
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => deliver(&hub, &agents, &me, n.payload()),
                // The connection was lost and made again: notices in between are lost.
                Ok(None) => {
                    tracing::warn!(
                        "lost the connection to the other servers' notices for a moment"
                    );
                    agents.forget_all();
                }
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen to the other servers; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
    }
}

fn deliver(hub: &Hub, agents: &AgentCache, me: &str, payload: &str) {
    let Ok(wire) = serde_json::from_str::<Wire>(payload) else {
        tracing::debug!("a live notification that is not ours");
        return;
    };
    if wire.from == me {
        return;
    }
    for forget in wire.forget {
        match forget {
            Forget::Machine(id) => agents.forget_machine(&id),
            Forget::Org(id) => agents.forget_org(&OrgId::from_db(id)),
        }
    }
    for e in wire.events {
        // The stream's event names, as live.rs publishes them.
        let kind = match e.kind.as_str() {
            "machine" => "machine",
            "status" => "status",
            "score" => "score",
            _ => continue,
        };
        hub.publish_here(Arc::new(LiveEvent {
            org: OrgId::from_db(e.org),
            kind,
            data: e.data,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: usize) -> Arc<LiveEvent> {
        Arc::new(LiveEvent {
            org: OrgId::from_db("org".into()),
            kind: "machine",
            data: serde_json::json!({"id": format!("m{n}"), "pad": "x".repeat(90)}),
        })
    }

    #[test]
    fn batches_stay_under_postgres_payload_limit_and_keep_every_event() {
        let head = "{\"from\":\"me\",\"events\":[";
        let events: Vec<_> = (0..300).map(event).collect();
        let out = payloads(head, &events);
        assert!(
            out.len() > 1,
            "300 events of ~130 bytes need several payloads"
        );
        let mut seen = 0;
        for p in &out {
            assert!(p.len() <= MAX_PAYLOAD, "{}", p.len());
            let wire: Wire = serde_json::from_str(p).unwrap();
            seen += wire.events.len();
        }
        assert_eq!(seen, 300);
        let huge = Arc::new(LiveEvent {
            org: OrgId::from_db("org".into()),
            kind: "score",
            data: serde_json::json!({"reasons": "x".repeat(MAX_PAYLOAD)}),
        });
        assert!(
            payloads(head, &[huge]).is_empty(),
            "too large alone: left out"
        );
    }
}
