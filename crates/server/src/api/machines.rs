//! Fleet queries: machines, their latest values and their series.

use axum::Json;
use axum::extract::{Path, Query, State};
use optralis_proto::api::{ErrorBody, Machine, MachineList, Series};
use serde::Deserialize;

use super::{ApiError, ApiPrincipal, AppState};
use crate::ids::MachineId;
use crate::store::{Scope, SeriesQuery, find_metric};

/// The organisation's machines with their latest values.
#[utoipa::path(get, path = "/machines", tag = "machines",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Machines", body = MachineList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "No access", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
) -> Result<Json<MachineList>, ApiError> {
    let machines = state.store.list_machines(&who.org_id).await?;
    Ok(Json(MachineList { machines }))
}

/// One machine with its latest values.
#[utoipa::path(get, path = "/machines/{id}", tag = "machines",
    params(("id" = String, Path, description = "Machine id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The machine", body = Machine),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "No access", body = ErrorBody),
        (status = 404, description = "No such machine here", body = ErrorBody),
    ))]
pub async fn get_one(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
    Path(id): Path<String>,
) -> Result<Json<Machine>, ApiError> {
    let machine = state
        .store
        .get_machine(&who.org_id, &MachineId::from_path(&id))
        .await?;
    Ok(Json(machine))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesParams {
    /// Metric name (required; `GET /metrics` lists them).
    metric: Option<String>,
    /// Filesystem mount point, disk device or interface, for per-instance metrics.
    instance: Option<String>,
    /// Start, epoch ms (default: an hour before `to`).
    from: Option<i64>,
    /// End, epoch ms (default: now).
    to: Option<i64>,
    /// Wanted point spacing in seconds (default: about 1,000 points over the range).
    step: Option<u64>,
}

/// Longest range one query may span.
const MAX_RANGE_MS: i64 = 3 * 365 * 24 * 3_600_000;

/// A metric's points over a time range, from the finest tier that covers it.
#[utoipa::path(get, path = "/machines/{id}/series", tag = "machines",
    params(("id" = String, Path, description = "Machine id"), SeriesParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Points", body = Series),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "No access", body = ErrorBody),
        (status = 404, description = "No such machine here", body = ErrorBody),
    ))]
pub async fn series(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
    Path(id): Path<String>,
    params: Result<Query<SeriesParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Series>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let name = p
        .metric
        .ok_or_else(|| ApiError::invalid_field("metric", "is required"))?;
    let metric = find_metric(&name).ok_or_else(|| {
        ApiError::invalid_field(
            "metric",
            format!("unknown metric {name:?}; GET /api/v1/metrics lists them"),
        )
    })?;
    let instance = p.instance.as_deref().filter(|i| !i.is_empty());
    match (metric.scope, instance) {
        (Scope::Machine, Some(_)) => {
            return Err(ApiError::invalid_field(
                "instance",
                format!("{name} has no instances"),
            ));
        }
        (scope, None) if scope != Scope::Machine => {
            return Err(ApiError::invalid_field(
                "instance",
                format!("{name} needs instance= (the {} name)", scope.as_str()),
            ));
        }
        _ => {}
    }
    let to = p.to.unwrap_or_else(|| state.store.now_ms());
    let from = p.from.unwrap_or(to.saturating_sub(3_600_000));
    if from >= to {
        return Err(ApiError::invalid_field("from", "must be before to"));
    }
    if to.saturating_sub(from) > MAX_RANGE_MS {
        return Err(ApiError::invalid_field(
            "from",
            "range is longer than 3 years",
        ));
    }
    if p.step == Some(0) {
        return Err(ApiError::invalid_field("step", "must be 1 or more seconds"));
    }
    if p.step.is_some_and(|s| s > (MAX_RANGE_MS / 1000) as u64) {
        return Err(ApiError::invalid_field(
            "step",
            "is longer than the longest range",
        ));
    }
    let query = SeriesQuery {
        metric,
        instance,
        from_ms: from,
        to_ms: to,
        step_s: p.step,
    };
    let series = state
        .store
        .series(
            &who.org_id,
            &MachineId::from_path(&id),
            &query,
            &state.settings.retention,
        )
        .await?;
    Ok(Json(series))
}
