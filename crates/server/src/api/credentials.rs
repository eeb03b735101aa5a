//! API tokens and enrollment keys of the current organisation, managed by its admins.
//! Secrets are shown once, at creation; listings show only ids and names.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use optralis_proto::api::ErrorBody;
use optralis_proto::identity::AuditAction;
use optralis_proto::identity::{
    ApiToken, ApiTokenList, CreateApiToken, CreateEnrollKey, CreatedApiToken, CreatedEnrollKey,
    EnrollKey, EnrollKeyList,
};

use super::audit::record_org;
use super::extract::AdminPrincipal;
use super::orgs::check_name;
use super::responses::AdminDenied;
use super::{ApiError, AppState, parse_json};
use crate::store::{ApiTokenInfo, EnrollKeyInfo, EnrollKeyLimits};

fn token_out(t: ApiTokenInfo) -> ApiToken {
    ApiToken {
        id: t.id,
        name: t.name,
        role: t.role,
        created_ms: t.created_ms,
        revoked_ms: t.revoked_ms,
    }
}

fn key_out(k: EnrollKeyInfo) -> EnrollKey {
    EnrollKey {
        id: k.id,
        created_ms: k.created_ms,
        revoked_ms: k.revoked_ms,
        expires_ms: k.expires_ms,
        max_uses: k.max_uses,
        uses: k.uses,
    }
}

/// A key's limits as asked, checked.
pub fn enroll_key_limits(req: &CreateEnrollKey, now_ms: i64) -> Result<EnrollKeyLimits, ApiError> {
    if let Some(s) = req.expires_in_s
        && !(60..=31_536_000).contains(&s)
    {
        return Err(ApiError::invalid_field(
            "expires_in_s",
            "must be 60 s to 365 days",
        ));
    }
    if let Some(n) = req.max_uses
        && !(1..=100_000).contains(&n)
    {
        return Err(ApiError::invalid_field("max_uses", "must be 1 to 100,000"));
    }
    Ok(EnrollKeyLimits {
        expires_ms: req.expires_in_s.map(|s| now_ms.saturating_add(s * 1000)),
        max_uses: req.max_uses,
    })
}

/// The organisation's API tokens (never their secrets).
#[utoipa::path(get, path = "/tokens", tag = "credentials",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "API tokens", body = ApiTokenList),
        AdminDenied,
    ))]
pub async fn list_tokens(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
) -> Result<Json<ApiTokenList>, ApiError> {
    let tokens = state.store.list_api_tokens(&who.org_id).await?;
    Ok(Json(ApiTokenList {
        tokens: tokens.into_iter().map(token_out).collect(),
    }))
}

/// Creates an API token for automation; `secret` is shown this once.
#[utoipa::path(post, path = "/tokens", tag = "credentials",
    request_body = CreateApiToken,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = CreatedApiToken),
        (status = 400, description = "Malformed body or bad name", body = ErrorBody),
        AdminDenied,
    ))]
pub async fn create_token(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    body: Bytes,
) -> Result<(StatusCode, Json<CreatedApiToken>), ApiError> {
    let req: CreateApiToken = parse_json(&body)?;
    let name = check_name("name", &req.name)?;
    let (info, secret) = state
        .store
        .create_api_token(&who.org_id, &name, req.role)
        .await?;
    record_org(
        &state,
        &who,
        AuditAction::TokenCreated,
        Some(&info.id),
        Some(serde_json::json!({"name": name, "role": info.role.as_str()})),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiToken {
            token: token_out(info),
            secret,
        }),
    ))
}

/// Revokes an API token: it stops working at once.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "credentials",
    params(("id" = String, Path, description = "Token id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        AdminDenied,
        (status = 404, description = "No such token here", body = ErrorBody),
    ))]
pub async fn revoke_token(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.revoke_api_token(&who.org_id, &id).await?;
    record_org(&state, &who, AuditAction::TokenRevoked, Some(&id), None).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The organisation's enrollment keys (never the keys themselves).
#[utoipa::path(get, path = "/enroll-keys", tag = "credentials",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Enrollment keys", body = EnrollKeyList),
        AdminDenied,
    ))]
pub async fn list_keys(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
) -> Result<Json<EnrollKeyList>, ApiError> {
    let keys = state.store.list_enroll_keys(&who.org_id).await?;
    Ok(Json(EnrollKeyList {
        keys: keys.into_iter().map(key_out).collect(),
    }))
}

/// Creates an enrollment key for agents (`optralis-agent run --enroll-key`); `secret` is
/// shown this once. Optionally single-use or limited in uses, and expiring.
#[utoipa::path(post, path = "/enroll-keys", tag = "credentials",
    request_body(content = CreateEnrollKey, description = "Optional limits (an empty body: none)"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = CreatedEnrollKey),
        (status = 400, description = "Malformed body or limits", body = ErrorBody),
        AdminDenied,
    ))]
pub async fn create_key(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    body: Bytes,
) -> Result<(StatusCode, Json<CreatedEnrollKey>), ApiError> {
    let req: CreateEnrollKey = if body.iter().all(u8::is_ascii_whitespace) {
        CreateEnrollKey::default()
    } else {
        parse_json(&body)?
    };
    let limits = enroll_key_limits(&req, state.store.now_ms())?;
    let (info, secret) = state
        .store
        .create_enroll_key_info(&who.org_id, limits)
        .await?;
    record_org(
        &state,
        &who,
        AuditAction::EnrollKeyCreated,
        Some(&info.id),
        None,
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(CreatedEnrollKey {
            key: key_out(info),
            secret,
        }),
    ))
}

/// Revokes an enrollment key: no new machine can join with it (enrolled ones keep working).
#[utoipa::path(delete, path = "/enroll-keys/{id}", tag = "credentials",
    params(("id" = String, Path, description = "Enrollment key id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        AdminDenied,
        (status = 404, description = "No such key here", body = ErrorBody),
    ))]
pub async fn revoke_key(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.revoke_enroll_key(&who.org_id, &id).await?;
    record_org(&state, &who, AuditAction::EnrollKeyRevoked, Some(&id), None).await;
    Ok(StatusCode::NO_CONTENT)
}
