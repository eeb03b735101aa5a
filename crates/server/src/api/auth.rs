//! Credentials to identities. Handlers get the caller's organisation only from these
//! extractors, never from the request body.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::{ApiError, AppState};
use crate::store::{AgentIdentity, Principal, StoreError};

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or(ApiError::Unauthorized(
            "missing Authorization: Bearer <token>",
        ))?;
    header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthorized(
            "Authorization must be: Bearer <token>",
        ))
}

fn unknown_credentials(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::Unauthorized("invalid or revoked token"),
        other => other.into(),
    }
}

/// A user or automation calling the REST API with an API token.
pub struct ApiPrincipal(pub Principal);

impl FromRequestParts<AppState> for ApiPrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        let principal = state
            .store
            .principal_for_token(token)
            .await
            .map_err(unknown_credentials)?;
        Ok(ApiPrincipal(principal))
    }
}

/// An enrolled agent calling with its machine token.
pub struct Agent(pub AgentIdentity);

impl FromRequestParts<AppState> for Agent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        let agent = state
            .store
            .agent_for_token(token)
            .await
            .map_err(unknown_credentials)?;
        Ok(Agent(agent))
    }
}
