//! Organisations: managed by platform admins (`/orgs`); each organisation's own settings
//! (`/org`) by its admins.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use optralis_proto::api::ErrorBody;
use optralis_proto::identity::AuditAction;
use optralis_proto::identity::{CreateOrg, Org, OrgList, UpdateOrg};

use super::audit::{record, record_org};
use super::extract::{AdminPrincipal, ApiPrincipal, PlatformAdmin};
use super::responses::{MemberDenied, NotSignedIn, PlatformDenied};
use super::{ApiError, AppState, parse_json};
use crate::store::{AuditEvent, OrgInfo};

pub fn org_out(org: OrgInfo) -> Org {
    Org {
        id: org.id.to_string(),
        name: org.name,
        created_ms: org.created_ms,
        require_mfa: org.require_mfa,
        offline_after_intervals: org.offline_after_intervals,
        degraded_below_score: org.degraded_below_score,
        language: org.language,
    }
}

/// Checks the fleet settings of an update, before anything of it is applied.
fn check_fleet_settings(req: &UpdateOrg) -> Result<(), ApiError> {
    if req
        .offline_after_intervals
        .is_some_and(|n| !(2..=100).contains(&n))
    {
        return Err(ApiError::invalid_field(
            "offline_after_intervals",
            "must be between 2 and 100",
        ));
    }
    if req
        .degraded_below_score
        .is_some_and(|n| !(0..=100).contains(&n))
    {
        return Err(ApiError::invalid_field(
            "degraded_below_score",
            "must be between 0 and 100",
        ));
    }
    Ok(())
}

/// Applies checked fleet settings and the notification language.
async fn apply_fleet_settings(
    state: &AppState,
    org: &crate::ids::OrgId,
    req: &UpdateOrg,
) -> Result<(), ApiError> {
    if req.offline_after_intervals.is_some() || req.degraded_below_score.is_some() {
        state
            .store
            .set_fleet_settings(org, req.offline_after_intervals, req.degraded_below_score)
            .await?;
    }
    if let Some(language) = req.language {
        state.store.set_language(org, language).await?;
    }
    Ok(())
}

/// Trimmed, 1–100 characters, no control characters.
pub fn check_name(field: &str, name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            field,
            "must be 1 to 100 characters, without control characters",
        ));
    }
    Ok(name.to_owned())
}

pub(super) async fn platform_audit(
    state: &AppState,
    admin: &PlatformAdmin,
    action: AuditAction,
    target: &str,
    detail: serde_json::Value,
) {
    record(
        state,
        AuditEvent {
            org: None,
            actor: &format!("user:{}", admin.0.user.email),
            action,
            target: Some(target),
            ip: admin.0.client.ip.as_deref(),
            detail: Some(detail),
        },
    )
    .await;
}

/// Every organisation on this server.
#[utoipa::path(get, path = "/orgs", tag = "orgs", operation_id = "list_orgs",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Organisations", body = OrgList),
        PlatformDenied,
    ))]
pub async fn list(
    State(state): State<AppState>,
    _admin: PlatformAdmin,
) -> Result<Json<OrgList>, ApiError> {
    let orgs = state.store.list_orgs().await?;
    Ok(Json(OrgList {
        orgs: orgs.into_iter().map(org_out).collect(),
    }))
}

/// Creates an organisation.
#[utoipa::path(post, path = "/orgs", tag = "orgs", operation_id = "create_org",
    request_body = CreateOrg,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Org),
        (status = 400, description = "Malformed body or bad name", body = ErrorBody),
        PlatformDenied,
        (status = 409, description = "The name is taken", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    body: Bytes,
) -> Result<(StatusCode, Json<Org>), ApiError> {
    let req: CreateOrg = parse_json(&body)?;
    let name = check_name("name", &req.name)?;
    let id = state.store.create_org(&name).await?;
    state
        .store
        .seed_rules(&id, &crate::alerting::rules::default_rules())
        .await?;
    let org = state.store.org_info(&id).await?;
    platform_audit(
        &state,
        &admin,
        AuditAction::OrgCreated,
        id.as_str(),
        serde_json::json!({"name": name}),
    )
    .await;
    Ok((StatusCode::CREATED, Json(org_out(org))))
}

/// Renames an organisation or changes its MFA requirement.
#[utoipa::path(patch, path = "/orgs/{id}", tag = "orgs", operation_id = "update_org",
    params(("id" = String, Path, description = "Organisation id")),
    request_body = UpdateOrg,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = Org),
        (status = 400, description = "Malformed body or bad name", body = ErrorBody),
        PlatformDenied,
        (status = 404, description = "No such organisation", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Org>, ApiError> {
    let req: UpdateOrg = parse_json(&body)?;
    check_fleet_settings(&req)?;
    let name = req
        .name
        .as_deref()
        .map(|n| check_name("name", n))
        .transpose()?;
    let mut org = state.store.find_org(&id).await?;
    if let Some(name) = &name {
        org = state.store.rename_org(&org.id, name).await?;
    }
    if let Some(on) = req.require_mfa {
        org = state.store.set_require_mfa(&org.id, on).await?;
    }
    apply_fleet_settings(&state, &org.id, &req).await?;
    let org = state.store.org_info(&org.id).await?;
    platform_audit(
        &state,
        &admin,
        AuditAction::OrgUpdated,
        &id,
        serde_json::to_value(&req).unwrap_or_default(),
    )
    .await;
    Ok(Json(org_out(org)))
}

/// Deletes an organisation and everything it owns (machines and their data, keys, tokens,
/// memberships, audit log). User accounts stay for their other organisations.
#[utoipa::path(delete, path = "/orgs/{id}", tag = "orgs", operation_id = "delete_org",
    params(("id" = String, Path, description = "Organisation id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        PlatformDenied,
        (status = 404, description = "No such organisation", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let org = state.store.find_org(&id).await?;
    state.store.delete_org(&org.id).await?;
    platform_audit(
        &state,
        &admin,
        AuditAction::OrgDeleted,
        &id,
        serde_json::json!({"name": org.name}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// The organisation the request acts in.
#[utoipa::path(get, path = "/org", tag = "orgs",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The current organisation", body = Org),
        MemberDenied,
    ))]
pub async fn current(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
) -> Result<Json<Org>, ApiError> {
    Ok(Json(org_out(state.store.org_info(&who.org_id).await?)))
}

/// The organisation's own settings: whether its members must use a second factor, after
/// how many intervals without a report a machine is offline, below which health score
/// machines report every 30 s, and the language of its notifications.
#[utoipa::path(patch, path = "/org", tag = "orgs",
    request_body = UpdateOrg,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = Org),
        (status = 400, description = "Malformed body", body = ErrorBody),
        NotSignedIn,
        (status = 403, description = "Not an admin, or renaming (platform admins only)", body = ErrorBody),
        (status = 409, description = "Requiring MFA without having it on yourself", body = ErrorBody),
    ))]
pub async fn update_current(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    body: Bytes,
) -> Result<Json<Org>, ApiError> {
    let req: UpdateOrg = parse_json(&body)?;
    if req.name.is_some() {
        return Err(ApiError::forbidden(
            "only a platform admin renames organisations (PATCH /api/v1/orgs/{id})",
        ));
    }
    check_fleet_settings(&req)?;
    let mut org = state.store.org_info(&who.org_id).await?;
    if let Some(on) = req.require_mfa {
        if on
            && let crate::principal::Actor::User { id, .. } = &who.actor
            && state.store.user_by_id(id).await?.totp_secret.is_none()
        {
            return Err(ApiError::Conflict(
                "turn on your own second factor before requiring it of everyone".into(),
            ));
        }
        org = state.store.set_require_mfa(&who.org_id, on).await?;
        record_org(
            &state,
            &who,
            AuditAction::OrgRequireMfa,
            None,
            Some(serde_json::json!({"require_mfa": on})),
        )
        .await;
    }
    if req.offline_after_intervals.is_some()
        || req.degraded_below_score.is_some()
        || req.language.is_some()
    {
        apply_fleet_settings(&state, &who.org_id, &req).await?;
        let detail = serde_json::to_value(&req).ok();
        record_org(&state, &who, AuditAction::OrgSettings, None, detail).await;
        org = state.store.org_info(&who.org_id).await?;
    }
    Ok(Json(org_out(org)))
}
