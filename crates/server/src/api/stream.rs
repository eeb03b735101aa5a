//! `GET /api/v1/stream`: Server-Sent Events for the caller's organisation only.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use optralis_proto::api::ErrorBody;
use tokio::sync::broadcast::error::RecvError;

use super::extract::{ApiPrincipal, check_membership};
use super::responses::MemberDenied;
use super::{ApiError, AppState};
use crate::principal::{Actor, Principal};

/// Whether `who` may still read its organisation's events.
async fn still_allowed(state: &AppState, who: &Principal) -> bool {
    match &who.actor {
        Actor::Token { id, .. } => state
            .store
            .api_token_active(&who.org_id, id)
            .await
            .unwrap_or(false),
        Actor::User { id, session, .. } => {
            if !state
                .store
                .session_is_open(session, id)
                .await
                .unwrap_or(false)
            {
                return false;
            }
            let Ok(user) = state.store.user_by_id(id).await else {
                return false;
            };
            let Ok(memberships) = state.store.memberships(id).await else {
                return false;
            };
            match memberships.iter().find(|m| m.org_id == who.org_id) {
                Some(m) => check_membership(m, &user).is_ok(),
                None => user.platform_admin && state.store.org_info(&who.org_id).await.is_ok(),
            }
        }
    }
}

/// Live updates: `machine` after each report (`{id, status, score, last_seen_ms}`),
/// `status` on a status change (`{id, from, to, score, ts_ms}`), `score` when the health
/// score changes (`{id, score, previous, reasons}`), and `lagged` (`{missed}`) when the client
/// fell too far behind and should reload. A comment every 15 s keeps proxies from closing it.
/// Access is checked again every 30 s: a revoked token, an ended session, a disabled or
/// removed membership ends the stream.
#[utoipa::path(get, path = "/stream", tag = "fleet",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "An event stream (text/event-stream)", content_type = "text/event-stream", body = String),
        MemberDenied,
        (status = 429, description = "Too many streams open for this caller or organisation", body = ErrorBody),
    ))]
pub async fn stream(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let caller = match &who.actor {
        Actor::User { id, .. } => format!("user:{id}"),
        Actor::Token { id, .. } => format!("token:{id}"),
    };
    // Held by the stream: dropped, and the slots freed, when the client goes away.
    let slot = state
        .streams
        .take(&caller, who.org_id.as_str(), &state.settings.limits)?;
    let rx = state.store.live().subscribe();
    let mut recheck = tokio::time::interval(state.settings.stream_recheck);
    recheck.reset();
    let events =
        futures_util::stream::unfold((rx, recheck, slot), move |(mut rx, mut recheck, slot)| {
            let (state, who) = (state.clone(), who.clone());
            async move {
                loop {
                    let received = tokio::select! {
                        r = rx.recv() => r,
                        _ = recheck.tick() => {
                            if still_allowed(&state, &who).await {
                                continue;
                            }
                            return None;
                        }
                    };
                    let event = match received {
                        Ok(e) if e.org == who.org_id => {
                            Event::default().event(e.kind).data(e.data.to_string())
                        }
                        Ok(_) => continue,
                        Err(RecvError::Lagged(missed)) => Event::default()
                            .event("lagged")
                            .data(serde_json::json!({"missed": missed}).to_string()),
                        Err(RecvError::Closed) => return None,
                    };
                    return Some((Ok(event), (rx, recheck, slot)));
                }
            }
        });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
