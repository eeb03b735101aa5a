//! The audit log: writing entries for the handlers, and reading them back.

use axum::Json;
use axum::extract::{Query, State};
use optralis_proto::api::ErrorBody;
use optralis_proto::identity::{AuditAction, AuditEntry, AuditList};
use serde::Deserialize;

use super::extract::{AdminPrincipal, PlatformAdmin};
use super::responses::{AdminDenied, PlatformDenied};
use super::{ApiError, AppState};
use crate::ids::{OrgId, UserId};
use crate::principal::Principal;
use crate::store::{AuditEvent, AuditRecord, ClientInfo};

/// Writes one entry. A failure is logged, not returned: the action it describes is done.
pub async fn record(state: &AppState, event: AuditEvent<'_>) {
    let action = event.action.as_str();
    if let Err(e) = state.store.record_audit(event).await {
        tracing::error!(error = %e, action, "could not write the audit log");
    }
}

/// An action of `principal` in its organisation.
pub async fn record_org(
    state: &AppState,
    principal: &Principal,
    action: AuditAction,
    target: Option<&str>,
    detail: Option<serde_json::Value>,
) {
    record(
        state,
        AuditEvent {
            org: Some(&principal.org_id),
            actor: &principal.actor.label(),
            action,
            target,
            ip: principal.ip.as_deref(),
            detail,
        },
    )
    .await;
}

/// An event of a user's account (sign-in, MFA), recorded in each of their organisations so
/// each one's admins see it.
pub async fn record_for_user(
    state: &AppState,
    user: &UserId,
    actor: &str,
    action: AuditAction,
    target: Option<&str>,
    client: &ClientInfo,
    detail: Option<serde_json::Value>,
) {
    let orgs: Vec<OrgId> = match state.store.memberships(user).await {
        Ok(m) => m.into_iter().map(|m| m.org_id).collect(),
        Err(e) => {
            tracing::error!(error = %e, action = action.as_str(), "could not write the audit log");
            return;
        }
    };
    let target = target.unwrap_or(user.as_str());
    for org in &orgs {
        record(
            state,
            AuditEvent {
                org: Some(org),
                actor,
                action,
                target: Some(target),
                ip: client.ip.as_deref(),
                detail: detail.clone(),
            },
        )
        .await;
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Entries with an id below this (from `next_before`).
    before: Option<i64>,
    /// At most this many entries (1–500, default 100).
    limit: Option<i64>,
}

fn page(records: Vec<AuditRecord>, limit: i64) -> AuditList {
    let full = i64::try_from(records.len()).unwrap_or(0) == limit;
    let next_before = if full {
        records.last().map(|r| r.id)
    } else {
        None
    };
    AuditList {
        entries: records
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                ts_ms: r.ts_ms,
                actor: r.actor,
                action: r.action,
                target: r.target,
                ip: r.ip,
                detail: r.detail,
            })
            .collect(),
        next_before,
    }
}

fn limit(params: &AuditParams) -> Result<i64, ApiError> {
    match params.limit {
        None => Ok(100),
        Some(n) if (1..=500).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid_field(
            "limit",
            "must be between 1 and 500",
        )),
    }
}

type QueryResult = Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>;

/// The organisation's audit log, newest first.
#[utoipa::path(get, path = "/audit", tag = "audit", operation_id = "list_audit",
    params(AuditParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Audit entries", body = AuditList),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        AdminDenied,
    ))]
pub async fn list(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    params: QueryResult,
) -> Result<Json<AuditList>, ApiError> {
    let Query(params) =
        params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let limit = limit(&params)?;
    let records = state
        .store
        .list_audit(Some(&who.org_id), params.before, limit)
        .await?;
    Ok(Json(page(records, limit)))
}

/// The platform's audit log (organisations created, renamed, deleted; failed sign-ins of
/// unknown accounts), newest first.
#[utoipa::path(get, path = "/platform/audit", tag = "audit",
    params(AuditParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Audit entries", body = AuditList),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        PlatformDenied,
    ))]
pub async fn list_platform(
    State(state): State<AppState>,
    _admin: PlatformAdmin,
    params: QueryResult,
) -> Result<Json<AuditList>, ApiError> {
    let Query(params) =
        params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let limit = limit(&params)?;
    let records = state.store.list_audit(None, params.before, limit).await?;
    Ok(Json(page(records, limit)))
}
