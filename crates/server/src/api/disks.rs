//! Disk health of a machine: current verdicts and each disk's history.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiPrincipal, AppState};
use crate::ids::MachineId;
use crate::store::{DiskSample, MachineDisks};

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

#[derive(Debug, Deserialize)]
pub struct HistoryParams {
    from: Option<i64>,
    to: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct DiskHistory {
    pub key: String,
    pub points: Vec<DiskSample>,
}

/// Default history: the last 30 days.
const DEFAULT_RANGE_MS: i64 = 30 * 24 * 3_600_000;

pub async fn history(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
    Path((id, key)): Path<(String, String)>,
    params: Result<Query<HistoryParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<DiskHistory>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let to = p.to.unwrap_or_else(|| state.store.now_ms());
    let from = p.from.unwrap_or(to - DEFAULT_RANGE_MS);
    if from >= to {
        return Err(ApiError::invalid_field("from", "must be before to"));
    }
    let points = state
        .store
        .disk_history(&who.org_id, &MachineId::from_path(&id), &key, from, to)
        .await?;
    Ok(Json(DiskHistory { key, points }))
}
