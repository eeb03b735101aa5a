//! Fleet organisation: groups, labels, a machine's name, notes, retirement and deletion,
//! status history, and the fleet summary.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use optralis_proto::api::{
    CreateGroup, ErrorBody, FleetSummary, Group, GroupList, GroupMembers, Machine, MachineBrief,
    MachineGroups, MachineLabels, StatusHistory, UpdateGroup, UpdateMachine,
};
use serde::Deserialize;

use super::audit::record_org;
use super::auth::{AdminPrincipal, ApiPrincipal};
use super::orgs::check_name;
use super::{ApiError, AppState, parse_json};
use crate::fleet::labels::check_labels;
use crate::ids::MachineId;
use crate::store::{GroupInfo, MachineUpdate};

fn group_out(g: GroupInfo) -> Group {
    Group {
        id: g.id,
        name: g.name,
        color: g.color,
        description: g.description,
        machine_count: g.machine_count,
        created_ms: g.created_ms,
    }
}

/// `#rrggbb`, stored lowercase.
fn check_color(color: &str) -> Result<String, ApiError> {
    let hex = color.strip_prefix('#').unwrap_or("");
    if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(format!("#{}", hex.to_ascii_lowercase()))
    } else {
        Err(ApiError::invalid_field(
            "color",
            "must be a hex colour like #3b82f6",
        ))
    }
}

fn check_description(d: &str) -> Result<&str, ApiError> {
    if d.chars().count() > 500 {
        return Err(ApiError::invalid_field(
            "description",
            "at most 500 characters",
        ));
    }
    Ok(d)
}

/// The organisation's groups with their sizes.
#[utoipa::path(get, path = "/groups", tag = "fleet",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Groups", body = GroupList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "No access", body = ErrorBody),
    ))]
pub async fn list_groups(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
) -> Result<Json<GroupList>, ApiError> {
    let groups = state.store.list_groups(&who.org_id).await?;
    Ok(Json(GroupList {
        groups: groups.into_iter().map(group_out).collect(),
    }))
}

/// Creates a group.
#[utoipa::path(post, path = "/groups", tag = "fleet",
    request_body = CreateGroup,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Group),
        (status = 400, description = "Bad name, colour or description", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    ))]
pub async fn create_group(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    body: Bytes,
) -> Result<(StatusCode, Json<Group>), ApiError> {
    let req: CreateGroup = parse_json(&body)?;
    let name = check_name("name", &req.name)?;
    let color = check_color(&req.color)?;
    let description = check_description(&req.description)?;
    let group = state
        .store
        .create_group(&who.org_id, &name, &color, description)
        .await?;
    record_org(
        &state,
        &who,
        "group.created",
        Some(&group.id),
        Some(serde_json::json!({"name": name})),
    )
    .await;
    Ok((StatusCode::CREATED, Json(group_out(group))))
}

/// One group.
#[utoipa::path(get, path = "/groups/{id}", tag = "fleet",
    params(("id" = String, Path, description = "Group id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The group", body = Group),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "No access", body = ErrorBody),
        (status = 404, description = "No such group here", body = ErrorBody),
    ))]
pub async fn get_group(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
    Path(id): Path<String>,
) -> Result<Json<Group>, ApiError> {
    Ok(Json(group_out(
        state.store.get_group(&who.org_id, &id).await?,
    )))
}

/// Renames, recolours or redescribes a group.
#[utoipa::path(patch, path = "/groups/{id}", tag = "fleet",
    params(("id" = String, Path, description = "Group id")),
    request_body = UpdateGroup,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = Group),
        (status = 400, description = "Bad name, colour or description", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such group here", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    ))]
pub async fn update_group(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Group>, ApiError> {
    let req: UpdateGroup = parse_json(&body)?;
    let name = req
        .name
        .as_deref()
        .map(|n| check_name("name", n))
        .transpose()?;
    let color = req.color.as_deref().map(check_color).transpose()?;
    let description = req
        .description
        .as_deref()
        .map(check_description)
        .transpose()?;
    let group = state
        .store
        .update_group(
            &who.org_id,
            &id,
            name.as_deref(),
            color.as_deref(),
            description,
        )
        .await?;
    record_org(&state, &who, "group.updated", Some(&id), None).await;
    Ok(Json(group_out(group)))
}

/// Deletes a group (its machines stay).
#[utoipa::path(delete, path = "/groups/{id}", tag = "fleet",
    params(("id" = String, Path, description = "Group id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such group here", body = ErrorBody),
    ))]
pub async fn delete_group(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_group(&who.org_id, &id).await?;
    record_org(&state, &who, "group.deleted", Some(&id), None).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds and removes many machines at once (all or nothing).
#[utoipa::path(post, path = "/groups/{id}/machines", tag = "fleet",
    params(("id" = String, Path, description = "Group id")),
    request_body = GroupMembers,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The group after the change", body = Group),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such group, or a machine id that is not one here", body = ErrorBody),
    ))]
pub async fn edit_group_members(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Group>, ApiError> {
    let req: GroupMembers = parse_json(&body)?;
    if req.add.len() + req.remove.len() > 10_000 {
        return Err(ApiError::bad_request(
            "too_many",
            "at most 10,000 machines per call",
        ));
    }
    let group = state
        .store
        .edit_group_members(&who.org_id, &id, &req.add, &req.remove)
        .await?;
    record_org(
        &state,
        &who,
        "group.members_changed",
        Some(&id),
        Some(serde_json::json!({"added": req.add.len(), "removed": req.remove.len()})),
    )
    .await;
    Ok(Json(group_out(group)))
}

/// Sets the whole set of groups of one machine.
#[utoipa::path(put, path = "/machines/{id}/groups", tag = "fleet",
    params(("id" = String, Path, description = "Machine id")),
    request_body = MachineGroups,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The machine after the change", body = Machine),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such machine, or a group id that is not one here", body = ErrorBody),
    ))]
pub async fn set_machine_groups(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Machine>, ApiError> {
    let req: MachineGroups = parse_json(&body)?;
    if req.group_ids.len() > 1_000 {
        return Err(ApiError::invalid_field("group_ids", "at most 1,000 groups"));
    }
    let machine = MachineId::from_path(&id);
    state
        .store
        .set_machine_groups(&who.org_id, &machine, &req.group_ids)
        .await?;
    record_org(
        &state,
        &who,
        "machine.groups_set",
        Some(&id),
        Some(serde_json::json!({"groups": req.group_ids})),
    )
    .await;
    Ok(Json(state.store.get_machine(&who.org_id, &machine).await?))
}

/// Sets the whole set of API labels of one machine (the agent's own are kept).
#[utoipa::path(put, path = "/machines/{id}/labels", tag = "fleet",
    params(("id" = String, Path, description = "Machine id")),
    request_body = MachineLabels,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The machine after the change", body = Machine),
        (status = 400, description = "A key or value outside the label syntax", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such machine here", body = ErrorBody),
        (status = 409, description = "A key the agent sets", body = ErrorBody),
    ))]
pub async fn set_machine_labels(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Machine>, ApiError> {
    let req: MachineLabels = parse_json(&body)?;
    check_labels(&req.labels).map_err(|e| ApiError::invalid_field("labels", e.0))?;
    let machine = MachineId::from_path(&id);
    state
        .store
        .set_machine_labels(&who.org_id, &machine, &req.labels)
        .await?;
    record_org(
        &state,
        &who,
        "machine.labels_set",
        Some(&id),
        Some(serde_json::json!({"labels": req.labels})),
    )
    .await;
    Ok(Json(state.store.get_machine(&who.org_id, &machine).await?))
}

/// Sets a machine's display name or notes, or retires it (no offline status or alerts).
#[utoipa::path(patch, path = "/machines/{id}", tag = "machines",
    params(("id" = String, Path, description = "Machine id")),
    request_body = UpdateMachine,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The machine after the change", body = Machine),
        (status = 400, description = "Name or notes too long", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such machine here", body = ErrorBody),
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
                "machine.decommissioned"
            } else {
                "machine.recommissioned"
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
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such machine here", body = ErrorBody),
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
        "machine.deleted",
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
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "No access", body = ErrorBody),
        (status = 404, description = "No such machine here", body = ErrorBody),
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

/// Counts by status and the ten machines in the worst shape.
#[utoipa::path(get, path = "/fleet/summary", tag = "fleet",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Summary", body = FleetSummary),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "No access", body = ErrorBody),
    ))]
pub async fn summary(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
) -> Result<Json<FleetSummary>, ApiError> {
    let machines = state.store.list_machines(&who.org_id).await?;
    let mut s = FleetSummary {
        total: machines.len(),
        online: 0,
        warning: 0,
        critical: 0,
        offline: 0,
        decommissioned: 0,
        worst: Vec::new(),
    };
    let mut active: Vec<&Machine> = Vec::new();
    for m in &machines {
        if m.decommissioned {
            s.decommissioned += 1;
            continue;
        }
        match m.status.as_str() {
            "online" => s.online += 1,
            "warning" => s.warning += 1,
            "critical" => s.critical += 1,
            _ => s.offline += 1,
        }
        active.push(m);
    }
    active.sort_by(|a, b| {
        a.health
            .score
            .cmp(&b.health.score)
            .then_with(|| a.hostname.cmp(&b.hostname))
    });
    s.worst = active
        .into_iter()
        .filter(|m| m.health.score < 100)
        .take(10)
        .map(|m| MachineBrief {
            id: m.id.clone(),
            name: m.display_name.clone().unwrap_or_else(|| m.hostname.clone()),
            status: m.status.clone(),
            health: m.health.clone(),
        })
        .collect();
    Ok(Json(s))
}
