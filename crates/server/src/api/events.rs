//! System events: a machine's, and a search across the organisation.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use optralis_proto::api::ErrorBody;
use optralis_proto::events::{EventPage, EventSeverity};
use serde::Deserialize;

use super::responses::{MemberDenied, NoSuchMachine};
use super::{ApiError, ApiPrincipal, AppState};
use crate::ids::MachineId;
use crate::store::EventQuery;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// Events at least this severe: `warning` (default), `error` or `critical`.
    severity: Option<String>,
    /// Exact source: systemd unit, syslog identifier, or Windows provider.
    source: Option<String>,
    /// Text in the message or the source, case-insensitive.
    q: Option<String>,
    /// First occurrence at or after, epoch ms (default: 24 hours before `to`).
    from: Option<i64>,
    /// First occurrence before, epoch ms (default: now).
    to: Option<i64>,
    /// Events per page, 1–1000 (default 100).
    limit: Option<i64>,
    /// Events to skip, for the next pages (default 0).
    offset: Option<i64>,
}

/// [`EventParams`] and a machine (serde's flatten would turn the numbers into strings).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Only this machine's events.
    machine: Option<String>,
    /// Events at least this severe: `warning` (default), `error` or `critical`.
    severity: Option<String>,
    /// Exact source: systemd unit, syslog identifier, or Windows provider.
    source: Option<String>,
    /// Text in the message or the source, case-insensitive.
    q: Option<String>,
    /// First occurrence at or after, epoch ms (default: 24 hours before `to`).
    from: Option<i64>,
    /// First occurrence before, epoch ms (default: now).
    to: Option<i64>,
    /// Events per page, 1–1000 (default 100).
    limit: Option<i64>,
    /// Events to skip, for the next pages (default 0).
    offset: Option<i64>,
}

impl SearchParams {
    fn split(self) -> (Option<String>, EventParams) {
        (
            self.machine,
            EventParams {
                severity: self.severity,
                source: self.source,
                q: self.q,
                from: self.from,
                to: self.to,
                limit: self.limit,
                offset: self.offset,
            },
        )
    }
}

const DEFAULT_RANGE_MS: i64 = 24 * 3_600_000;
const MAX_TEXT: usize = 256;

fn query_of(
    p: EventParams,
    now_ms: i64,
    machine: Option<MachineId>,
) -> Result<EventQuery, ApiError> {
    let min_severity = match p.severity.as_deref() {
        None => EventSeverity::Warning,
        Some(s) => EventSeverity::parse(s).ok_or_else(|| {
            ApiError::invalid_field("severity", "expected warning, error or critical")
        })?,
    };
    let to = p.to.unwrap_or(now_ms);
    let from = p.from.unwrap_or(to.saturating_sub(DEFAULT_RANGE_MS));
    if from >= to {
        return Err(ApiError::invalid_field("from", "must be before to"));
    }
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            "must be between 1 and 1000",
        ));
    }
    let offset = p.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::invalid_field("offset", "must not be negative"));
    }
    for (field, v) in [("source", &p.source), ("q", &p.q)] {
        if v.as_ref().is_some_and(|v| v.len() > MAX_TEXT) {
            return Err(ApiError::invalid_field(
                field,
                format!("longer than {MAX_TEXT} bytes"),
            ));
        }
    }
    Ok(EventQuery {
        machine,
        min_severity,
        source: p.source.filter(|s| !s.is_empty()),
        text: p.q.filter(|s| !s.trim().is_empty()),
        from_ms: from,
        to_ms: to,
        limit,
        offset,
    })
}

/// A machine's system events (journald, Windows Event Log), newest first, with what its
/// agent says about its event source.
#[utoipa::path(get, path = "/machines/{id}/events", tag = "events",
    params(("id" = String, Path, description = "Machine id"), EventParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Events", body = EventPage),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        MemberDenied,
        NoSuchMachine,
    ))]
pub async fn machine_events(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
    Path(id): Path<String>,
    params: Result<Query<EventParams>, QueryRejection>,
) -> Result<Json<EventPage>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let machine = MachineId::from_path(&id);
    let q = query_of(p, state.store.now_ms(), Some(machine.clone()))?;
    let mut page = state.store.search_events(&who.org_id, &q).await?;
    page.source_state = Some(
        state
            .store
            .event_source_state(&who.org_id, &machine)
            .await?,
    );
    Ok(Json(page))
}

/// Searches the organisation's system events: by machine, severity, source, text and time.
#[utoipa::path(get, path = "/events", tag = "events",
    params(SearchParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Events", body = EventPage),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        MemberDenied,
        NoSuchMachine,
    ))]
pub async fn search(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<EventPage>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let (machine, p) = p.split();
    let machine = machine.as_deref().map(MachineId::from_path);
    let q = query_of(p, state.store.now_ms(), machine)?;
    Ok(Json(state.store.search_events(&who.org_id, &q).await?))
}
