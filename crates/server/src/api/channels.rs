//! Notification channels: email, Teams, Slack, Discord, signed webhooks. Secrets go in and
//! never come out; `…/test` sends a message and says how it went; `…/deliveries` is the log.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use optralis_proto::alerts::{
    AlertSeverity, Channel, ChannelList, CreateChannel, DeliveryList, RuleKind, TestOutcome,
    UpdateChannel,
};
use optralis_proto::api::ErrorBody;
use optralis_proto::identity::AuditAction;
use serde::Deserialize;
use serde_json::json;

use super::audit::record_org;
use super::orgs::check_name;
use super::responses::{AdminDenied, MemberDenied, NotSignedIn};
use super::{AdminPrincipal, ApiError, ApiPrincipal, AppState, parse_json};
use crate::notify::config::{ChannelConfig, ConfigError};
use crate::notify::test_notification;
use crate::store::{AttemptResult, ChannelChange, NewChannel, OrgTable, StoredChannel};

fn channel_out(c: StoredChannel) -> Channel {
    Channel {
        id: c.id,
        name: c.name,
        kind: c.kind,
        config: c.shown_config,
        min_severity: c.min_severity,
        alert_kinds: c.alert_kinds,
        enabled: c.enabled,
        created_ms: c.created_ms,
    }
}

fn seal_failed(e: crate::notify::seal::SealError) -> ApiError {
    tracing::error!(error = %e, "cannot seal a channel configuration");
    ApiError::Internal
}

fn config_error(e: ConfigError) -> ApiError {
    ApiError::invalid_field(e.field, e.message)
}

/// The kinds in the order given, each once.
fn distinct_kinds(kinds: &[RuleKind]) -> Vec<RuleKind> {
    let mut out: Vec<RuleKind> = Vec::new();
    for k in kinds {
        if !out.contains(k) {
            out.push(*k);
        }
    }
    out
}

/// The organisation's channels.
#[utoipa::path(get, path = "/channels", tag = "alerts", operation_id = "list_channels",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Channels", body = ChannelList),
        MemberDenied,
    ))]
pub async fn list(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
) -> Result<Json<ChannelList>, ApiError> {
    let channels = state.store.list_channels(&who.org_id).await?;
    Ok(Json(ChannelList {
        channels: channels.into_iter().map(channel_out).collect(),
    }))
}

/// Adds a channel. Its configuration is checked, sealed at rest, and never shown again
/// (webhook URLs appear as their host only).
#[utoipa::path(post, path = "/channels", tag = "alerts", operation_id = "create_channel",
    request_body = CreateChannel,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Channel),
        (status = 400, description = "A field is wrong (named in the error)", body = ErrorBody),
        NotSignedIn,
        (status = 403, description = "Not an admin, or the organisation's limit is reached", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    body: Bytes,
) -> Result<(StatusCode, Json<Channel>), ApiError> {
    let req: CreateChannel = parse_json(&body)?;
    let name = check_name("name", &req.name)?;
    let config = ChannelConfig::parse(req.kind, &req.config).map_err(config_error)?;
    let kinds = distinct_kinds(&req.alert_kinds);
    state
        .settings
        .limits
        .ensure_room(&state.store, &who.org_id, OrgTable::Channels)
        .await?;
    let id = uuid::Uuid::new_v4().to_string();
    let sealed = state
        .notifier
        .seal_config(who.org_id.as_str(), &id, &config)
        .map_err(seal_failed)?;
    let channel = state
        .store
        .create_channel(
            &who.org_id,
            NewChannel {
                id: &id,
                name: &name,
                kind: req.kind,
                sealed_config: &sealed,
                shown_config: &config.shown(),
                min_severity: req.min_severity.unwrap_or(AlertSeverity::Info),
                alert_kinds: &kinds,
            },
        )
        .await?;
    record_org(
        &state,
        &who,
        AuditAction::ChannelCreated,
        Some(&channel.id),
        Some(json!({"name": name, "kind": req.kind.as_str()})),
    )
    .await;
    Ok((StatusCode::CREATED, Json(channel_out(channel))))
}

/// One channel.
#[utoipa::path(get, path = "/channels/{id}", tag = "alerts", operation_id = "get_channel",
    params(("id" = String, Path, description = "Channel id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The channel", body = Channel),
        MemberDenied,
        (status = 404, description = "No such channel here", body = ErrorBody),
    ))]
pub async fn get_one(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
    Path(id): Path<String>,
) -> Result<Json<Channel>, ApiError> {
    Ok(Json(channel_out(
        state.store.channel(&who.org_id, &id).await?,
    )))
}

/// Changes a channel. A new `config` keeps the secrets it leaves out.
#[utoipa::path(patch, path = "/channels/{id}", tag = "alerts", operation_id = "update_channel",
    params(("id" = String, Path, description = "Channel id")),
    request_body = UpdateChannel,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The channel", body = Channel),
        (status = 400, description = "A field is wrong (named in the error)", body = ErrorBody),
        AdminDenied,
        (status = 404, description = "No such channel here", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Channel>, ApiError> {
    let req: UpdateChannel = parse_json(&body)?;
    let current = state.store.channel(&who.org_id, &id).await?;
    let name = req
        .name
        .as_deref()
        .map(|n| check_name("name", n))
        .transpose()?;
    let alert_kinds = req.alert_kinds.as_deref().map(distinct_kinds);
    let config = match req.config {
        Some(new) => {
            let old = state.notifier.open_config(&current).map_err(|e| {
                ApiError::Conflict(format!(
                    "{e}: give the whole configuration again, secrets included, with a new channel"
                ))
            })?;
            let merged = old.keep_secrets(new).map_err(config_error)?;
            let config = ChannelConfig::parse(current.kind, &merged).map_err(config_error)?;
            let sealed = state
                .notifier
                .seal_config(who.org_id.as_str(), &id, &config)
                .map_err(seal_failed)?;
            Some((sealed, config.shown()))
        }
        None => None,
    };
    let channel = state
        .store
        .update_channel(
            &who.org_id,
            &id,
            ChannelChange {
                name,
                config,
                min_severity: req.min_severity,
                alert_kinds,
                enabled: req.enabled,
            },
        )
        .await?;
    record_org(&state, &who, AuditAction::ChannelUpdated, Some(&id), None).await;
    Ok(Json(channel_out(channel)))
}

/// Deletes a channel and its delivery log.
#[utoipa::path(delete, path = "/channels/{id}", tag = "alerts", operation_id = "delete_channel",
    params(("id" = String, Path, description = "Channel id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        AdminDenied,
        (status = 404, description = "No such channel here", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_channel(&who.org_id, &id).await?;
    record_org(&state, &who, AuditAction::ChannelDeleted, Some(&id), None).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test message now and answers how it went (the attempt is also in the log).
#[utoipa::path(post, path = "/channels/{id}/test", tag = "alerts",
    params(("id" = String, Path, description = "Channel id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The outcome: delivered, or the receiver's error", body = TestOutcome),
        AdminDenied,
        (status = 404, description = "No such channel here", body = ErrorBody),
    ))]
pub async fn test(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
) -> Result<Json<TestOutcome>, ApiError> {
    let channel = state.store.channel(&who.org_id, &id).await?;
    let org = state.store.org_info(&who.org_id).await?;
    let n = test_notification(&org.name, org.language, state.store.now_ms());
    // The log row first, so the receiver can match the delivery id it is sent with.
    let delivery = state
        .store
        .begin_delivery(&who.org_id, &id, &n, crate::notify::LEASE_MS)
        .await?;
    let outcome = state.notifier.send_now(&channel, &n, delivery).await;
    let error = outcome.err().map(|e| e.to_string());
    let result = match &error {
        None => AttemptResult::Delivered,
        Some(e) => AttemptResult::Failed { error: e.clone() },
    };
    state.store.finish_delivery(delivery, &result).await?;
    record_org(
        &state,
        &who,
        AuditAction::ChannelTested,
        Some(&id),
        Some(json!({"delivered": error.is_none()})),
    )
    .await;
    Ok(Json(TestOutcome {
        delivered: error.is_none(),
        error,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// Newest deliveries to return, 1–500 (default 100).
    limit: Option<i64>,
}

/// A channel's delivery log, newest first: status, attempts, last error.
#[utoipa::path(get, path = "/channels/{id}/deliveries", tag = "alerts",
    params(("id" = String, Path, description = "Channel id"), DeliveryParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Deliveries", body = DeliveryList),
        (status = 400, description = "Bad parameters", body = ErrorBody),
        MemberDenied,
        (status = 404, description = "No such channel here", body = ErrorBody),
    ))]
pub async fn deliveries(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
    Path(id): Path<String>,
    params: Result<Query<DeliveryParams>, QueryRejection>,
) -> Result<Json<DeliveryList>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let limit = p.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            "must be between 1 and 500",
        ));
    }
    state.store.channel(&who.org_id, &id).await?;
    Ok(Json(DeliveryList {
        deliveries: state
            .store
            .deliveries(&who.org_id, Some(&id), limit)
            .await?,
    }))
}
