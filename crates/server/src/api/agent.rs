//! Agent-facing routes: enrollment and report ingest.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use optralis_proto::agent::{EnrollRequest, EnrollResponse, IngestResponse, ReportBatch};
use optralis_proto::api::{ErrorBody, ErrorDetail};
use optralis_proto::release::AgentStatus;
use serde::Serialize;

use super::extract::Client;
use super::{Agent, ApiError, AppState, parse_json};
use crate::ingest::{Ingest, IngestError, RawBatch};
use crate::store::StoreError;

/// An agent joins the organisation of its enrollment key and gets its machine token.
#[utoipa::path(post, path = "/enroll", tag = "agent",
    request_body = EnrollRequest,
    responses(
        (status = 200, description = "Enrolled", body = EnrollResponse),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Invalid, revoked, expired or used-up enrollment key", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
    ))]
pub async fn enroll(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<EnrollResponse>, ApiError> {
    let body = body.map_err(ApiError::from_body)?;
    let req: EnrollRequest = parse_json(&body)?;
    if req.fingerprint.len() < 16 || req.fingerprint.len() > 128 {
        return Err(ApiError::invalid_field(
            "fingerprint",
            "must be 16 to 128 characters",
        ));
    }
    crate::ingest::validate_facts(&req.facts)
        .map_err(|e| ApiError::invalid_field(e.field, e.message))?;
    let refused = |e: StoreError| match e {
        StoreError::NotFound => {
            ApiError::Unauthorized("invalid, revoked, expired or used-up enrollment key")
        }
        e => e.into(),
    };
    // A machine proving who it is (its current token) keeps its identity; anything else is
    // a new machine, which spends one use of the key.
    let org = state
        .store
        .org_for_enroll_key(&req.enroll_key)
        .await
        .map_err(refused)?;
    let known = match &req.machine_token {
        Some(proof) => state.store.reenroll(&org, proof, &req.facts).await?,
        None => None,
    };
    let enrolled = match known {
        Some(machine) => {
            tracing::info!(machine = %machine.machine_id, hostname = %req.facts.hostname, "machine enrolled again");
            machine
        }
        None => {
            let org = state
                .store
                .consume_enroll_key(&req.enroll_key)
                .await
                .map_err(refused)?;
            let machine = state
                .store
                .enroll(&org, &req.fingerprint, &req.facts)
                .await?;
            tracing::info!(machine = %machine.machine_id, hostname = %req.facts.hostname, "machine enrolled");
            machine
        }
    };
    Ok(Json(EnrollResponse {
        machine_id: enrolled.machine_id.to_string(),
        machine_token: enrolled.token,
        last_seq: enrolled.last_seq,
    }))
}

/// The ingest reply: the acknowledgement, plus an error naming the first rejected field.
#[derive(Serialize, utoipa::ToSchema)]
pub struct IngestReply {
    #[serde(flatten)]
    ack: IngestResponse,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorDetail>,
}

/// Stores a batch and acknowledges exactly what was committed. 200 when every report was
/// accepted, 422 when some were rejected (the valid ones are still stored and acknowledged).
#[utoipa::path(post, path = "/reports", tag = "agent",
    request_body(content = ReportBatch, description = "Reports, optionally gzip or zstd encoded"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "All reports stored", body = IngestReply),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Invalid machine token", body = ErrorBody),
        (status = 413, description = "Body or batch too large", body = ErrorBody),
        (status = 422, description = "Some reports rejected; the others are stored", body = IngestReply),
        (status = 503, description = "Database unavailable; retry", body = ErrorBody),
    ))]
pub async fn reports(
    State(state): State<AppState>,
    Agent(agent): Agent,
    Client(client): Client,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<IngestReply>), ApiError> {
    let body = body.map_err(ApiError::from_body)?;
    let batch: RawBatch = parse_json(&body)?;
    let ingest = Ingest {
        store: &state.store,
        alerting: &state.alerting,
        limits: &state.settings.ingest,
        thresholds: &state.settings.thresholds,
    };
    let mut ack = ingest
        .accept(&agent, &batch, client.ip.as_deref())
        .await
        .map_err(|e| match e {
            IngestError::TooManyReports { .. } => ApiError::PayloadTooLarge(e.to_string()),
            IngestError::Store(e) => e.into(),
        })?;
    ack.update = update_offer(&state, &agent, batch.agent).await;
    let error = ack.rejected.first().map(|r| ErrorDetail {
        code: "invalid_report".to_owned(),
        message: format!("{}: {}", r.field, r.message),
        field: Some(r.field.clone()),
    });
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Json(IngestReply { ack, error })))
}

/// The update offer for this batch's agent. The reports are stored whatever happens here:
/// a status that does not parse, or a failure to read the rollout, only costs the offer.
async fn update_offer(
    state: &AppState,
    agent: &crate::store::AgentIdentity,
    status: Option<&serde_json::value::RawValue>,
) -> Option<optralis_proto::release::UpdateOffer> {
    let status: AgentStatus = match serde_json::from_str(status?.get()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(machine = %agent.machine_id, error = %e, "agent status not understood");
            return None;
        }
    };
    match state
        .rollouts
        .may_concern(&state.store, &agent.org_id)
        .await
    {
        Ok(true) => {}
        Ok(false) => return None,
        Err(e) => {
            tracing::warn!(machine = %agent.machine_id, error = %e, "update offer skipped");
            return None;
        }
    }
    match crate::updates::offer::handle_status(&state.store, agent, &status).await {
        Ok(offer) => offer,
        Err(e) => {
            tracing::warn!(machine = %agent.machine_id, error = %e, "update offer skipped");
            None
        }
    }
}
