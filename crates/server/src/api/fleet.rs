//! Fleet organisation: groups, a machine's groups and labels, and the fleet summary.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use optralis_proto::api::{
    CreateGroup, ErrorBody, FleetSummary, Group, GroupList, GroupMembers, Machine, MachineGroups,
    MachineLabels, UpdateGroup,
};
use optralis_proto::identity::AuditAction;

use super::audit::record_org;
use super::extract::{AdminPrincipal, ApiPrincipal};
use super::orgs::check_name;
use super::responses::{AdminDenied, MemberDenied, NoSuchMachine};
use super::{ApiError, AppState, parse_json};
use crate::fleet::labels::check_labels;
use crate::ids::MachineId;
use crate::store::{GroupChange, GroupInfo};

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
        MemberDenied,
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
        AdminDenied,
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
        AuditAction::GroupCreated,
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
        MemberDenied,
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
        AdminDenied,
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
            GroupChange {
                name: name.as_deref(),
                color: color.as_deref(),
                description,
            },
        )
        .await?;
    record_org(&state, &who, AuditAction::GroupUpdated, Some(&id), None).await;
    Ok(Json(group_out(group)))
}

/// Deletes a group (its machines stay).
#[utoipa::path(delete, path = "/groups/{id}", tag = "fleet",
    params(("id" = String, Path, description = "Group id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        AdminDenied,
        (status = 404, description = "No such group here", body = ErrorBody),
    ))]
pub async fn delete_group(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_group(&who.org_id, &id).await?;
    record_org(&state, &who, AuditAction::GroupDeleted, Some(&id), None).await;
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
        AdminDenied,
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
        AuditAction::GroupMembersChanged,
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
        AdminDenied,
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
        AuditAction::MachineGroupsSet,
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
        AdminDenied,
        NoSuchMachine,
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
        AuditAction::MachineLabelsSet,
        Some(&id),
        Some(serde_json::json!({"labels": req.labels})),
    )
    .await;
    Ok(Json(state.store.get_machine(&who.org_id, &machine).await?))
}

/// Counts by status and the ten machines in the worst shape.
#[utoipa::path(get, path = "/fleet/summary", tag = "fleet",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Summary", body = FleetSummary),
        MemberDenied,
    ))]
pub async fn summary(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
) -> Result<Json<FleetSummary>, ApiError> {
    let machines = state.store.list_machines(&who.org_id).await?;
    Ok(Json(crate::fleet::summary::summarize(&machines)))
}
