//! Alert rules, alerts (acknowledge) and silences.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use optralis_proto::alerts::{
    AlertList, AlertState, CreateSilence, Rule, RuleList, RuleSpec, Silence, SilenceList,
};
use optralis_proto::api::ErrorBody;
use optralis_proto::identity::AuditAction;
use serde::Deserialize;

use super::audit::record_org;
use super::responses::{AdminDenied, MemberDenied, NoSuchMachine, NotSignedIn};
use super::{AdminPrincipal, ApiError, ApiPrincipal, AppState, parse_json};
use crate::alerting::rules::{self, RuleError};
use crate::ids::MachineId;
use crate::store::{AlertQuery, OrgTable};

fn rule_error(e: RuleError) -> ApiError {
    ApiError::invalid_field(e.field, e.message)
}

/// The machine and groups a scope names must be the organisation's.
async fn check_scope_ids(
    state: &AppState,
    org: &crate::ids::OrgId,
    field: &str,
    scope: &optralis_proto::alerts::RuleScope,
) -> Result<(), ApiError> {
    if let Some(m) = &scope.machine {
        state
            .store
            .check_machine(org, &MachineId::from_path(m))
            .await
            .map_err(|_| {
                ApiError::invalid_field(format!("{field}.machine"), "no such machine here")
            })?;
    }
    for g in &scope.groups {
        state.store.get_group(org, g).await.map_err(|_| {
            ApiError::invalid_field(format!("{field}.groups"), format!("no group {g:?} here"))
        })?;
    }
    Ok(())
}

/// The organisation's rules (a new organisation starts with a default set).
#[utoipa::path(get, path = "/rules", tag = "alerts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Rules", body = RuleList),
        MemberDenied,
    ))]
pub async fn list_rules(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
) -> Result<Json<RuleList>, ApiError> {
    state
        .store
        .seed_rules(&who.org_id, &rules::default_rules())
        .await?;
    Ok(Json(RuleList {
        rules: state.store.list_rules(&who.org_id).await?,
    }))
}

/// Adds a rule.
#[utoipa::path(post, path = "/rules", tag = "alerts",
    request_body = RuleSpec,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Rule),
        (status = 400, description = "A field is wrong (named in the error)", body = ErrorBody),
        NotSignedIn,
        (status = 403, description = "Not an admin, or the organisation's limit is reached", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    ))]
pub async fn create_rule(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    body: Bytes,
) -> Result<(StatusCode, Json<Rule>), ApiError> {
    let spec = rules::check(parse_json(&body)?).map_err(rule_error)?;
    check_scope_ids(&state, &who.org_id, "scope", &spec.scope).await?;
    state
        .settings
        .limits
        .ensure_room(&state.store, &who.org_id, OrgTable::Rules)
        .await?;
    let rule = state.store.create_rule(&who.org_id, &spec).await?;
    record_org(&state, &who, AuditAction::RuleCreated, Some(&rule.id), None).await;
    state.alerting.poke(&who.org_id);
    Ok((StatusCode::CREATED, Json(rule)))
}

/// One rule.
#[utoipa::path(get, path = "/rules/{id}", tag = "alerts",
    params(("id" = String, Path, description = "Rule id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The rule", body = Rule),
        MemberDenied,
        (status = 404, description = "No such rule here", body = ErrorBody),
    ))]
pub async fn get_rule(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
    Path(id): Path<String>,
) -> Result<Json<Rule>, ApiError> {
    Ok(Json(state.store.rule(&who.org_id, &id).await?))
}

/// Replaces a rule's specification.
#[utoipa::path(put, path = "/rules/{id}", tag = "alerts",
    params(("id" = String, Path, description = "Rule id")),
    request_body = RuleSpec,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The rule", body = Rule),
        (status = 400, description = "A field is wrong (named in the error)", body = ErrorBody),
        AdminDenied,
        (status = 404, description = "No such rule here", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    ))]
pub async fn update_rule(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Rule>, ApiError> {
    let spec = rules::check(parse_json(&body)?).map_err(rule_error)?;
    state.store.rule(&who.org_id, &id).await?;
    check_scope_ids(&state, &who.org_id, "scope", &spec.scope).await?;
    let rule = state.store.update_rule(&who.org_id, &id, &spec).await?;
    record_org(&state, &who, AuditAction::RuleUpdated, Some(&id), None).await;
    state.alerting.poke(&who.org_id);
    Ok(Json(rule))
}

/// Deletes a rule and its alerts.
#[utoipa::path(delete, path = "/rules/{id}", tag = "alerts",
    params(("id" = String, Path, description = "Rule id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        AdminDenied,
        (status = 404, description = "No such rule here", body = ErrorBody),
    ))]
pub async fn delete_rule(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_rule(&who.org_id, &id).await?;
    record_org(&state, &who, AuditAction::RuleDeleted, Some(&id), None).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertParams {
    /// `pending`, `firing` or `resolved` (default: all).
    state: Option<String>,
    /// Only this machine's alerts.
    machine: Option<String>,
    /// Only this rule's alerts.
    rule: Option<String>,
    /// Newest alerts to return, 1–1000 (default 200).
    limit: Option<i64>,
}

/// Alerts, newest first.
#[utoipa::path(get, path = "/alerts", tag = "alerts",
    params(AlertParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Alerts", body = AlertList),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        MemberDenied,
        NoSuchMachine,
    ))]
pub async fn list_alerts(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
    params: Result<Query<AlertParams>, QueryRejection>,
) -> Result<Json<AlertList>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let alert_state = p
        .state
        .as_deref()
        .map(|s| {
            AlertState::parse(s).ok_or_else(|| {
                ApiError::invalid_field("state", "expected pending, firing or resolved")
            })
        })
        .transpose()?;
    let limit = p.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            "must be between 1 and 1000",
        ));
    }
    let machine = p.machine.as_deref().map(MachineId::from_path);
    if let Some(m) = &machine {
        state.store.check_machine(&who.org_id, m).await?;
    }
    let q = AlertQuery {
        state: alert_state,
        machine,
        rule: p.rule,
        limit,
    };
    Ok(Json(AlertList {
        alerts: state.store.list_alerts(&who.org_id, &q).await?,
    }))
}

/// Acknowledges an open alert: it stays open, and no reminder is sent for it.
#[utoipa::path(post, path = "/alerts/{id}/acknowledgement", tag = "alerts", operation_id = "acknowledge_alert",
    params(("id" = i64, Path, description = "Alert id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Acknowledged"),
        AdminDenied,
        (status = 404, description = "No such open alert here", body = ErrorBody),
    ))]
pub async fn acknowledge(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    // Ids are numbers: anything else names no alert.
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound)?;
    let by = who.actor.label();
    state.store.acknowledge_alert(&who.org_id, id, &by).await?;
    record_org(
        &state,
        &who,
        AuditAction::AlertAcknowledged,
        Some(&id.to_string()),
        None,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Silences that have not ended.
#[utoipa::path(get, path = "/silences", tag = "alerts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Silences", body = SilenceList),
        MemberDenied,
    ))]
pub async fn list_silences(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
) -> Result<Json<SilenceList>, ApiError> {
    Ok(Json(SilenceList {
        silences: state.store.list_silences(&who.org_id).await?,
    }))
}

/// Adds a silence (a maintenance window): alerts it covers still fire but notify no one
/// until it ends.
#[utoipa::path(post, path = "/silences", tag = "alerts",
    request_body = CreateSilence,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Silence),
        (status = 400, description = "A field is wrong (named in the error)", body = ErrorBody),
        NotSignedIn,
        (status = 403, description = "Not an admin, or the organisation's limit is reached", body = ErrorBody),
    ))]
pub async fn create_silence(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    body: Bytes,
) -> Result<(StatusCode, Json<Silence>), ApiError> {
    let req: CreateSilence = parse_json(&body)?;
    rules::check_scope("scope", &req.scope).map_err(rule_error)?;
    check_scope_ids(&state, &who.org_id, "scope", &req.scope).await?;
    let now = state.store.now_ms();
    let starts = req.starts_ms.unwrap_or(now);
    if req.ends_ms <= starts.max(now) {
        return Err(ApiError::invalid_field(
            "ends_ms",
            "must be after the start and in the future",
        ));
    }
    if req.reason.chars().count() > 500 {
        return Err(ApiError::invalid_field("reason", "at most 500 characters"));
    }
    if let Some(rule) = &req.rule_id {
        state
            .store
            .rule(&who.org_id, rule)
            .await
            .map_err(|_| ApiError::invalid_field("rule_id", "no such rule in this organisation"))?;
    }
    state
        .settings
        .limits
        .ensure_room(&state.store, &who.org_id, OrgTable::Silences)
        .await?;
    let silence = state
        .store
        .create_silence(&who.org_id, &req, &who.actor.label())
        .await?;
    record_org(
        &state,
        &who,
        AuditAction::SilenceCreated,
        Some(&silence.id),
        None,
    )
    .await;
    Ok((StatusCode::CREATED, Json(silence)))
}

/// Ends a silence now.
#[utoipa::path(delete, path = "/silences/{id}", tag = "alerts",
    params(("id" = String, Path, description = "Silence id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        AdminDenied,
        (status = 404, description = "No such silence here", body = ErrorBody),
    ))]
pub async fn delete_silence(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_silence(&who.org_id, &id).await?;
    record_org(&state, &who, AuditAction::SilenceDeleted, Some(&id), None).await;
    state.alerting.poke(&who.org_id);
    Ok(StatusCode::NO_CONTENT)
}
