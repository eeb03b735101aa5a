//! Disk health of a machine: current verdicts and each disk's history.

use axum::Json;
use axum::extract::{Path, Query, State};
use optralis_proto::api::ErrorBody;
use optralis_proto::identity::AuditAction;
use serde::{Deserialize, Serialize};

use super::audit::record_org;
use super::responses::{AdminDenied, MemberDenied, NoSuchMachine};
use super::{AdminPrincipal, ApiError, ApiPrincipal, AppState};
use crate::ids::MachineId;
use crate::principal::Principal;
use optralis_proto::smart::{DiskSample, MachineDisks};

/// The machine's disks with their S.M.A.R.T. verdicts.
#[utoipa::path(get, path = "/machines/{id}/disks", tag = "machines", operation_id = "list_disks",
    params(("id" = String, Path, description = "Machine id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Disks", body = MachineDisks),
        MemberDenied,
        NoSuchMachine,
    ))]
pub async fn list(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
    Path(id): Path<String>,
) -> Result<Json<MachineDisks>, ApiError> {
    Ok(Json(
        state
            .store
            .machine_disks(&who.org_id, &MachineId::from_path(&id))
            .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Start, epoch ms (default: 30 days before `to`).
    from: Option<i64>,
    /// End, epoch ms (default: now).
    to: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DiskHistory {
    pub key: String,
    pub points: Vec<DiskSample>,
}

/// Default history: the last 30 days.
const DEFAULT_RANGE_MS: i64 = 30 * 24 * 3_600_000;

/// One disk's S.M.A.R.T. history.
#[utoipa::path(get, path = "/machines/{id}/disks/{key}/history", tag = "machines",
    params(
        ("id" = String, Path, description = "Machine id"),
        ("key" = String, Path, description = "Disk key (from the disk list)"),
        HistoryParams,
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Samples", body = DiskHistory),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        MemberDenied,
        (status = 404, description = "No such machine or disk here", body = ErrorBody),
    ))]
pub async fn history(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
    Path((id, key)): Path<(String, String)>,
    params: Result<Query<HistoryParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<DiskHistory>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let to = p.to.unwrap_or_else(|| state.store.now_ms());
    let from = p.from.unwrap_or(to.saturating_sub(DEFAULT_RANGE_MS));
    if from >= to {
        return Err(ApiError::invalid_field("from", "must be before to"));
    }
    let points = state
        .store
        .disk_history(&who.org_id, &MachineId::from_path(&id), &key, from, to)
        .await?;
    Ok(Json(DiskHistory { key, points }))
}

/// Acknowledges a disk's warning: it stays visible, stops weighing on the health score, and
/// counts again if it worsens (a new or changed reason, or failing).
#[utoipa::path(post, path = "/machines/{id}/disks/{key}/acknowledgement", tag = "machines", operation_id = "acknowledge_disk",
    params(
        ("id" = String, Path, description = "Machine id"),
        ("key" = String, Path, description = "Disk key (from the disk list)"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The machine's disks after the change", body = MachineDisks),
        AdminDenied,
        (status = 404, description = "No such machine or disk here", body = ErrorBody),
        (status = 409, description = "The disk is not in warning", body = ErrorBody),
    ))]
pub async fn acknowledge(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path((id, key)): Path<(String, String)>,
) -> Result<Json<MachineDisks>, ApiError> {
    set_acknowledgement(state, who, id, key, true).await
}

/// Withdraws a disk's acknowledgement: its warning counts again.
#[utoipa::path(delete, path = "/machines/{id}/disks/{key}/acknowledgement", tag = "machines",
    params(
        ("id" = String, Path, description = "Machine id"),
        ("key" = String, Path, description = "Disk key (from the disk list)"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The machine's disks after the change", body = MachineDisks),
        AdminDenied,
        (status = 404, description = "No such machine or disk here", body = ErrorBody),
    ))]
pub async fn unacknowledge(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path((id, key)): Path<(String, String)>,
) -> Result<Json<MachineDisks>, ApiError> {
    set_acknowledgement(state, who, id, key, false).await
}

async fn set_acknowledgement(
    state: AppState,
    who: Principal,
    id: String,
    key: String,
    on: bool,
) -> Result<Json<MachineDisks>, ApiError> {
    let machine = MachineId::from_path(&id);
    state
        .store
        .acknowledge_disk(&who.org_id, &machine, &key, on)
        .await?;
    let action = if on {
        AuditAction::DiskAcknowledged
    } else {
        AuditAction::DiskUnacknowledged
    };
    record_org(&state, &who, action, Some(&format!("{id}/{key}")), None).await;
    Ok(Json(
        state.store.machine_disks(&who.org_id, &machine).await?,
    ))
}
