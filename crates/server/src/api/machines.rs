//! The machine routes: the list, one machine with its latest values, its series and status
//! history, its name, notes and retirement, and its deletion. (Its disks, events, groups and
//! labels are in disks.rs, events.rs and fleet.rs.)

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use optralis_proto::api::{
    ErrorBody, Machine, MachineList, MachineStatus, Series, StatusHistory, UpdateMachine,
};
use optralis_proto::identity::AuditAction;
use optralis_proto::metrics::{MetricName, MetricScope};
use serde::Deserialize;

use super::audit::record_org;
use super::orgs::check_name;
use super::responses::{AdminDenied, MemberDenied, NoSuchMachine};
use super::{AdminPrincipal, ApiError, ApiPrincipal, AppState, parse_json};
use crate::fleet::listing::{self, MachineFilter, SortKey};
use crate::fleet::selector;
use crate::ids::MachineId;
use crate::store::{MachineUpdate, SeriesQuery, find_metric};

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

/// The organisation's machines with status, health and latest values; filter by label
/// selector, group, status and free text; sort and page.
#[utoipa::path(get, path = "/machines", tag = "machines", operation_id = "list_machines",
    params(ListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Machines", body = MachineList),
        (status = 400, description = "Malformed selector (with its position) or parameter", body = ErrorBody),
        MemberDenied,
    ))]
pub async fn list(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<MachineList>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let selector = selector::parse(p.selector.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::invalid_field("selector", e.to_string()))?;
    let statuses: Option<Vec<MachineStatus>> = p
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.split(',')
                .map(|one| {
                    MachineStatus::parse(one.trim()).ok_or_else(|| {
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
    let key = SortKey::parse(key).ok_or_else(|| {
        ApiError::invalid_field(
            "sort",
            "one of name, status, score, last_seen (prefix - to reverse)",
        )
    })?;
    let limit = p.limit.unwrap_or(1000);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            "must be between 1 and 1000",
        ));
    }
    let filter = MachineFilter {
        selector: Some(selector),
        group: p.group.as_deref(),
        statuses,
        text: p.q.as_deref(),
    };
    let machines = listing::select(
        state.store.list_machines(&who.org_id).await?,
        &filter,
        key,
        descending,
    );
    let total = machines.len();
    let machines = machines
        .into_iter()
        .skip(p.offset.unwrap_or(0))
        .take(limit)
        .collect();
    Ok(Json(MachineList { machines, total }))
}

/// One machine with its latest values.
#[utoipa::path(get, path = "/machines/{id}", tag = "machines", operation_id = "get_machine",
    params(("id" = String, Path, description = "Machine id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The machine", body = Machine),
        MemberDenied,
        NoSuchMachine,
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
        MemberDenied,
        NoSuchMachine,
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
    let metric = MetricName::parse(&name)
        .and_then(find_metric)
        .ok_or_else(|| {
            ApiError::invalid_field(
                "metric",
                format!("unknown metric {name:?}; GET /api/v1/metrics lists them"),
            )
        })?;
    let instance = p.instance.as_deref().filter(|i| !i.is_empty());
    match (metric.scope, instance) {
        (MetricScope::Machine, Some(_)) => {
            return Err(ApiError::invalid_field(
                "instance",
                format!("{name} has no instances"),
            ));
        }
        (scope, None) if scope != MetricScope::Machine => {
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

/// Sets a machine's display name or notes, or retires it (no offline status or alerts).
#[utoipa::path(patch, path = "/machines/{id}", tag = "machines",
    params(("id" = String, Path, description = "Machine id")),
    request_body = UpdateMachine,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The machine after the change", body = Machine),
        (status = 400, description = "Name or notes too long", body = ErrorBody),
        AdminDenied,
        NoSuchMachine,
    ))]
pub async fn update_machine(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Machine>, ApiError> {
    let req: UpdateMachine = parse_json(&body)?;
    let display_name = match req.display_name.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(name) => Some(Some(check_name("display_name", name)?)),
    };
    if req
        .notes
        .as_ref()
        .is_some_and(|n| n.chars().count() > 10_000)
    {
        return Err(ApiError::invalid_field(
            "notes",
            "at most 10,000 characters",
        ));
    }
    let machine = MachineId::from_path(&id);
    let update = MachineUpdate {
        display_name,
        notes: req.notes.clone(),
        decommissioned: req.decommissioned,
    };
    state
        .store
        .update_machine(&who.org_id, &machine, &update)
        .await?;
    if let Some(d) = req.decommissioned {
        record_org(
            &state,
            &who,
            if d {
                AuditAction::MachineDecommissioned
            } else {
                AuditAction::MachineRecommissioned
            },
            Some(&id),
            None,
        )
        .await;
    }
    Ok(Json(state.store.get_machine(&who.org_id, &machine).await?))
}

/// Deletes a machine and all its data. Revoke the enrollment key or stop its agent first,
/// or it enrolls again as a new machine.
#[utoipa::path(delete, path = "/machines/{id}", tag = "machines",
    params(("id" = String, Path, description = "Machine id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        AdminDenied,
        NoSuchMachine,
    ))]
pub async fn delete_machine(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let machine = MachineId::from_path(&id);
    let hostname = state
        .store
        .get_machine(&who.org_id, &machine)
        .await?
        .hostname;
    state.store.delete_machine(&who.org_id, &machine).await?;
    record_org(
        &state,
        &who,
        AuditAction::MachineDeleted,
        Some(&id),
        Some(serde_json::json!({"hostname": hostname})),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeParams {
    /// Start, epoch ms (default: 30 days before `to`).
    from: Option<i64>,
    /// End, epoch ms (default: now).
    to: Option<i64>,
}

/// A machine's status changes over a time range, oldest first.
#[utoipa::path(get, path = "/machines/{id}/status-history", tag = "machines",
    params(("id" = String, Path, description = "Machine id"), RangeParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Status changes", body = StatusHistory),
        (status = 400, description = "Bad range", body = ErrorBody),
        MemberDenied,
        NoSuchMachine,
    ))]
pub async fn status_history(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
    Path(id): Path<String>,
    params: Result<Query<RangeParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<StatusHistory>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let to = p.to.unwrap_or_else(|| state.store.now_ms());
    let from = p.from.unwrap_or(to.saturating_sub(30 * 24 * 3_600_000));
    if from >= to {
        return Err(ApiError::invalid_field("from", "must be before to"));
    }
    let changes = state
        .store
        .status_history(&who.org_id, &MachineId::from_path(&id), from, to)
        .await?;
    Ok(Json(StatusHistory { changes }))
}
