//! `GET /api/v1/stream`: Server-Sent Events for the caller's organisation only.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use optralis_proto::api::ErrorBody;
use tokio::sync::broadcast::error::RecvError;

use super::AppState;
use super::auth::ApiPrincipal;

/// Live updates: `machine` after each report (`{id, status, score, last_seen_ms}`),
/// `status` on a status change (`{id, from, to, score, ts_ms}`), `score` when the health
/// score changes (`{id, score, previous, reasons}`), and `lagged` (`{missed}`) when the client
/// fell too far behind and should reload. A comment every 15 s keeps proxies from closing it.
#[utoipa::path(get, path = "/stream", tag = "fleet",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "An event stream (text/event-stream)", content_type = "text/event-stream", body = String),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "No access", body = ErrorBody),
    ))]
pub async fn stream(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.store.live().subscribe();
    let org = who.org_id;
    let events = futures_util::stream::unfold(rx, move |mut rx| {
        let org = org.clone();
        async move {
            loop {
                let event = match rx.recv().await {
                    Ok(e) if e.org == org => {
                        Event::default().event(e.kind).data(e.data.to_string())
                    }
                    Ok(_) => continue,
                    Err(RecvError::Lagged(missed)) => Event::default()
                        .event("lagged")
                        .data(serde_json::json!({"missed": missed}).to_string()),
                    Err(RecvError::Closed) => return None,
                };
                return Some((Ok(event), rx));
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
