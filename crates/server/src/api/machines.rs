//! Fleet queries: machines, their latest values and their series.

use axum::Json;
use axum::extract::{Path, Query, State};
use optralis_proto::api::{ErrorBody, Machine, MachineList, Series};
use serde::Deserialize;

use super::{ApiError, ApiPrincipal, AppState};
use crate::fleet::health::Status;
use crate::fleet::selector;
use crate::ids::MachineId;
use crate::store::{Scope, SeriesQuery, find_metric};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Label selector, Kubernetes style: `env=prod,role!=db,tier in (web,api),!deprecated`.
    selector: Option<String>,
    /// Only machines in this group (id).
    group: Option<String>,
    /// Only machines in these states, comma-separated: online, warning, critical, offline.
    status: Option<String>,
    /// Free text, case-insensitive: hostname, display name, OS, IP address.
    q: Option<String>,
    /// name (default), status, score, last_seen; prefix with `-` to reverse.
    sort: Option<String>,
    /// At most this many (1–1000, default 1000).
    limit: Option<usize>,
    /// Skip this many.
    offset: Option<usize>,
}

fn name_of(m: &Machine) -> String {
    m.display_name
        .as_deref()
        .unwrap_or(&m.hostname)
        .to_lowercase()
}

fn text_matches(m: &Machine, q: &str) -> bool {
    let q = q.to_lowercase();
    [
        Some(m.hostname.as_str()),
        m.display_name.as_deref(),
        Some(m.facts.os_name.as_str()),
        Some(m.facts.os_version.as_str()),
        m.ip.as_deref(),
    ]
    .into_iter()
    .flatten()
    .any(|h| h.to_lowercase().contains(&q))
}

/// The organisation's machines with status, health and latest values; filter by label
/// selector, group, status and free text; sort and page.
#[utoipa::path(get, path = "/machines", tag = "machines",
    params(ListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Machines", body = MachineList),
        (status = 400, description = "Malformed selector (with its position) or parameter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "No access", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<MachineList>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let selector = selector::parse(p.selector.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::invalid_field("selector", e.to_string()))?;
    let statuses: Option<Vec<Status>> = p
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.split(',')
                .map(|one| {
                    Status::parse(one.trim()).ok_or_else(|| {
                        ApiError::invalid_field(
                            "status",
                            format!("unknown status {one:?}: online, warning, critical or offline"),
                        )
                    })
                })
                .collect()
        })
        .transpose()?;
    let (descending, key) = match p.sort.as_deref().unwrap_or("name") {
        s if s.starts_with('-') => (true, &s[1..]),
        s => (false, s),
    };
    if !matches!(key, "name" | "status" | "score" | "last_seen") {
        return Err(ApiError::invalid_field(
            "sort",
            "one of name, status, score, last_seen (prefix - to reverse)",
        ));
    }
    let limit = p.limit.unwrap_or(1000);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            "must be between 1 and 1000",
        ));
    }
    let mut machines: Vec<Machine> = state
        .store
        .list_machines(&who.org_id)
        .await?
        .into_iter()
        .filter(|m| selector.matches(&m.labels))
        .filter(|m| p.group.as_ref().is_none_or(|g| m.groups.contains(g)))
        .filter(|m| {
            statuses
                .as_ref()
                .is_none_or(|wanted| Status::parse(&m.status).is_some_and(|s| wanted.contains(&s)))
        })
        .filter(|m| p.q.as_deref().is_none_or(|q| text_matches(m, q)))
        .collect();
    machines.sort_by(|a, b| {
        let by_name = name_of(a).cmp(&name_of(b));
        let order = match key {
            "status" => Status::parse(&b.status).cmp(&Status::parse(&a.status)),
            "score" => a.health.score.cmp(&b.health.score),
            "last_seen" => b.last_seen_ms.cmp(&a.last_seen_ms),
            _ => std::cmp::Ordering::Equal,
        };
        let order = order.then(by_name);
        if descending { order.reverse() } else { order }
    });
    let total = machines.len();
    let machines = machines
        .into_iter()
        .skip(p.offset.unwrap_or(0))
        .take(limit)
        .collect();
    Ok(Json(MachineList { machines, total }))
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
