//! Agent releases (platform-wide: published by platform admins, listed to every member) and
//! rollouts (per organisation), plus the agents' download of a release.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use optralis_proto::api::ErrorBody;
use optralis_proto::identity::AuditAction;
use optralis_proto::release::{
    AgentReleaseList, CreateRollout, MachineUpdate, MachineUpdateList, Platform, Rollout,
    RolloutList, RolloutState, UpdateRollout, Version,
};

use super::audit::record_org;
use super::extract::{AdminPrincipal, ApiPrincipal, PlatformAdmin};
use super::orgs::platform_audit;
use super::responses::{AdminDenied, MemberDenied, PlatformDenied};
use super::{Agent, ApiError, AppState, parse_json};
use crate::fleet::selector;
use crate::ids::{MachineId, RolloutId};
use crate::store::{NewRollout, StoredRollout};
use crate::updates::{PublishError, canary_count, check_release, in_scope};

/// The header carrying the release's `.minisig` file, base64-encoded (it spans lines).
pub const SIGNATURE_HEADER: &str = "x-optralis-signature";

fn publish_refused(e: PublishError) -> ApiError {
    match e {
        PublishError::TooLarge => ApiError::PayloadTooLarge(e.to_string()),
        e => ApiError::bad_request("release_refused", e.to_string()),
    }
}

/// Publishes an agent release: the body is the file, `X-Optralis-Signature` its minisign
/// signature (base64 of the `.minisig` file). The server keeps it only when the signature
/// verifies under a key it trusts; version and platform are the signed comment's.
#[utoipa::path(post, path = "/agent-releases", tag = "updates",
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The agent binary"),
    params(("x-optralis-signature" = String, Header, description = "Base64 of the .minisig file")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Published", body = optralis_proto::release::AgentRelease),
        (status = 400, description = "No or bad signature, untrusted key, not a release", body = ErrorBody),
        PlatformDenied,
        (status = 409, description = "This version is already published for this platform", body = ErrorBody),
        (status = 413, description = "Larger than 64 MiB", body = ErrorBody),
    ))]
pub async fn publish(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<optralis_proto::release::AgentRelease>), ApiError> {
    let body = body.map_err(ApiError::from_body)?;
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| data_encoding::BASE64.decode(v.trim().as_bytes()).ok())
        .and_then(|v| String::from_utf8(v).ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "release_refused",
                "X-Optralis-Signature must hold the .minisig file, base64-encoded",
            )
        })?;
    let keys = state.store.release_keys().await?;
    let checked = check_release(&keys, &body, &signature, None).map_err(publish_refused)?;
    let release = state
        .store
        .publish_release(&checked, &signature, &body)
        .await?;
    platform_audit(
        &state,
        &admin,
        AuditAction::ReleasePublished,
        &format!("{} {}", release.version, release.platform.as_str()),
        serde_json::json!({"serial": release.serial, "key_id": release.key_id, "sha256": release.sha256}),
    )
    .await;
    Ok((StatusCode::CREATED, Json(release)))
}

/// Every release this server holds, newest first.
#[utoipa::path(get, path = "/agent-releases", tag = "updates",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Releases", body = AgentReleaseList),
        MemberDenied,
    ))]
pub async fn list_releases(
    State(state): State<AppState>,
    ApiPrincipal(_who): ApiPrincipal,
) -> Result<Json<AgentReleaseList>, ApiError> {
    Ok(Json(AgentReleaseList {
        releases: state.store.list_releases().await?,
    }))
}

/// A release's file, for agents (with their machine token). `Range: bytes=N-` resumes.
#[utoipa::path(get, path = "/releases/{platform}/{version}", tag = "agent",
    params(
        ("platform" = String, Path, description = "linux-x86_64, linux-aarch64 or windows-x86_64"),
        ("version" = String, Path, description = "Release version"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "The rest of the file from the range's start", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, description = "Invalid machine token", body = ErrorBody),
        (status = 404, description = "No such release", body = ErrorBody),
        (status = 416, description = "The range starts past the end", body = ErrorBody),
    ))]
pub async fn download(
    State(state): State<AppState>,
    Agent(_agent): Agent,
    Path((platform, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let platform: Platform = platform.parse().map_err(|_| ApiError::NotFound)?;
    let file = state.store.release_file(platform, &version).await?;
    let total = file.len();
    let start = match headers.get(header::RANGE).map(|v| v.to_str().ok()) {
        None => None,
        Some(range) => Some(range_start(range).ok_or_else(|| {
            ApiError::bad_request("bad_range", "only Range: bytes=N- is supported")
        })?),
    };
    let octets = [(header::CONTENT_TYPE, "application/octet-stream")];
    match start {
        None | Some(0) => Ok((StatusCode::OK, octets, file).into_response()),
        Some(start) if start >= total => Ok((
            StatusCode::RANGE_NOT_SATISFIABLE,
            [(header::CONTENT_RANGE, format!("bytes */{total}"))],
        )
            .into_response()),
        Some(start) => {
            let rest = file[start..].to_vec();
            Ok((
                StatusCode::PARTIAL_CONTENT,
                octets,
                [(
                    header::CONTENT_RANGE,
                    format!("bytes {start}-{}/{total}", total - 1),
                )],
                Body::from(rest),
            )
                .into_response())
        }
    }
}

/// The start of `bytes=N-`.
fn range_start(range: Option<&str>) -> Option<usize> {
    range?
        .trim()
        .strip_prefix("bytes=")?
        .strip_suffix('-')?
        .parse()
        .ok()
}

async fn rollout_out(state: &AppState, r: StoredRollout) -> Result<Rollout, ApiError> {
    let tally = state.store.rollout_tally(&r).await?;
    Ok(Rollout {
        id: r.id.to_string(),
        version: r.version,
        scope: r.scope,
        canary_count: r.canary_count,
        halt_failure_percent: r.halt_failure_percent,
        health_window_s: r.health_window_s,
        state: r.state,
        reason: r.reason,
        progress: tally.progress(),
        created_ms: r.created_ms,
        updated_ms: r.updated_ms,
    })
}

/// Health windows allowed: from 30 s (an agent must start and report) to a day.
const HEALTH_WINDOW_S: std::ops::RangeInclusive<u32> = 30..=86_400;

/// Starts a rollout of a release to the organisation's machines in scope (resolved now);
/// the rollout running before is cancelled.
#[utoipa::path(post, path = "/rollouts", tag = "updates",
    request_body = CreateRollout,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Started", body = Rollout),
        (status = 400, description = "Bad version, scope or settings; no such release; nothing in scope", body = ErrorBody),
        AdminDenied,
    ))]
pub async fn create_rollout(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    body: Bytes,
) -> Result<(StatusCode, Json<Rollout>), ApiError> {
    let req: CreateRollout = parse_json(&body)?;
    Version::parse(&req.version).map_err(|e| ApiError::invalid_field("version", e))?;
    if !state.store.version_released(&req.version).await? {
        return Err(ApiError::invalid_field(
            "version",
            format!("no release of {} is published on this server", req.version),
        ));
    }
    let percent = |field: &str, v: Option<u32>| match v {
        Some(p) if p > 100 => Err(ApiError::invalid_field(field, "must be 0 to 100")),
        _ => Ok(()),
    };
    percent("canary_percent", req.canary_percent)?;
    percent("halt_failure_percent", req.halt_failure_percent)?;
    if req.canary_count.is_some() && req.canary_percent.is_some() {
        return Err(ApiError::invalid_field(
            "canary_count",
            "give canary_count or canary_percent, not both",
        ));
    }
    let health_window_s = req.health_window_s.unwrap_or(120);
    if !HEALTH_WINDOW_S.contains(&health_window_s) {
        return Err(ApiError::invalid_field(
            "health_window_s",
            "must be 30 to 86400 seconds",
        ));
    }
    let selector = req
        .scope
        .selector
        .as_deref()
        .map(selector::parse)
        .transpose()
        .map_err(|e| ApiError::invalid_field("scope.selector", e.to_string()))?;
    let mut machines = state.store.list_machines(&who.org_id).await?;
    if let Some(unknown) = req
        .scope
        .machines
        .iter()
        .find(|id| !machines.iter().any(|m| &m.id == *id))
    {
        return Err(ApiError::invalid_field(
            "scope.machines",
            format!("no machine {unknown} in this organisation"),
        ));
    }
    machines.retain(|m| in_scope(&req.scope, selector.as_ref(), m));
    if machines.is_empty() {
        return Err(ApiError::invalid_field("scope", "no machine is in scope"));
    }
    // Canaries: the machines heard from most recently, likeliest to answer soon.
    machines.sort_by(|a, b| b.last_seen_ms.cmp(&a.last_seen_ms).then(a.id.cmp(&b.id)));
    let canaries = canary_count(req.canary_count, req.canary_percent, machines.len()) as usize;
    let mut ids = machines.into_iter().map(|m| MachineId::from_path(&m.id));
    let new = NewRollout {
        version: req.version.clone(),
        scope: req.scope.clone(),
        canaries: ids.by_ref().take(canaries).collect(),
        others: ids.collect(),
        halt_failure_percent: req.halt_failure_percent.unwrap_or(20),
        health_window_s,
    };
    let rollout = state.store.create_rollout(&who.org_id, &new).await?;
    state.rollouts.changed(&who.org_id);
    record_org(
        &state,
        &who,
        AuditAction::RolloutCreated,
        Some(rollout.id.as_str()),
        Some(serde_json::json!({"version": req.version, "canaries": canaries})),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(rollout_out(&state, rollout).await?),
    ))
}

/// The organisation's rollouts, newest first (the last 100).
#[utoipa::path(get, path = "/rollouts", tag = "updates",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Rollouts", body = RolloutList),
        MemberDenied,
    ))]
pub async fn list_rollouts(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
) -> Result<Json<RolloutList>, ApiError> {
    let mut rollouts = Vec::new();
    for r in state.store.list_rollouts(&who.org_id).await? {
        rollouts.push(rollout_out(&state, r).await?);
    }
    Ok(Json(RolloutList { rollouts }))
}

/// One rollout with its progress.
#[utoipa::path(get, path = "/rollouts/{id}", tag = "updates",
    params(("id" = String, Path, description = "Rollout id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The rollout", body = Rollout),
        MemberDenied,
        (status = 404, description = "No such rollout here", body = ErrorBody),
    ))]
pub async fn get_rollout(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
    Path(id): Path<String>,
) -> Result<Json<Rollout>, ApiError> {
    let r = state
        .store
        .get_rollout(&who.org_id, &RolloutId::from_path(&id))
        .await?;
    Ok(Json(rollout_out(&state, r).await?))
}

/// Pauses (no new offers), resumes (also after a halt) or cancels a rollout.
#[utoipa::path(patch, path = "/rollouts/{id}", tag = "updates",
    params(("id" = String, Path, description = "Rollout id")),
    request_body = UpdateRollout,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = Rollout),
        (status = 400, description = "Not a state one may ask for", body = ErrorBody),
        AdminDenied,
        (status = 404, description = "No such rollout here", body = ErrorBody),
        (status = 409, description = "The rollout is finished", body = ErrorBody),
    ))]
pub async fn update_rollout(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Rollout>, ApiError> {
    let req: UpdateRollout = parse_json(&body)?;
    let id = RolloutId::from_path(&id);
    let current = state.store.get_rollout(&who.org_id, &id).await?;
    use RolloutState::{Cancelled, Halted, Paused, Running};
    let from: &[RolloutState] = match req.state {
        Paused => &[Running],
        Running => &[Paused, Halted],
        Cancelled => &[Running, Paused, Halted],
        _ => {
            return Err(ApiError::invalid_field(
                "state",
                "must be paused, running or cancelled",
            ));
        }
    };
    let reason = format!("{} by {}", req.state.as_str(), who.actor.label());
    let changed = if req.state == Running && current.state == Halted {
        // Resuming after a halt accepts the failures so far: the threshold counts new ones.
        let failures = state.store.rollout_tally(&current).await?.failures();
        state
            .store
            .resume_halted_rollout(&who.org_id, &id, failures, &reason)
            .await?
    } else {
        state
            .store
            .set_rollout_state(&who.org_id, &id, from, req.state, Some(&reason))
            .await?
    };
    state.rollouts.changed(&who.org_id);
    if !changed {
        return Err(ApiError::Conflict(format!(
            "the rollout is {}; it cannot become {}",
            current.state.as_str(),
            req.state.as_str()
        )));
    }
    record_org(
        &state,
        &who,
        AuditAction::RolloutChanged,
        Some(id.as_str()),
        Some(serde_json::json!({"state": req.state.as_str()})),
    )
    .await;
    let r = state.store.get_rollout(&who.org_id, &id).await?;
    Ok(Json(rollout_out(&state, r).await?))
}

/// Each machine of a rollout: its agent version and where its update stands.
#[utoipa::path(get, path = "/rollouts/{id}/machines", tag = "updates",
    params(("id" = String, Path, description = "Rollout id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Machines", body = MachineUpdateList),
        MemberDenied,
        (status = 404, description = "No such rollout here", body = ErrorBody),
    ))]
pub async fn rollout_machines(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
    Path(id): Path<String>,
) -> Result<Json<MachineUpdateList>, ApiError> {
    let id = RolloutId::from_path(&id);
    state.store.get_rollout(&who.org_id, &id).await?;
    let rows = state.store.rollout_machines(&who.org_id, &id).await?;
    let machines: std::collections::HashMap<String, optralis_proto::api::Machine> = state
        .store
        .list_machines(&who.org_id)
        .await?
        .into_iter()
        .map(|m| (m.id.clone(), m))
        .collect();
    let out = rows
        .into_iter()
        .map(|row| {
            let m = machines.get(row.machine_id.as_str());
            MachineUpdate {
                machine_id: row.machine_id.to_string(),
                hostname: m.map(|m| m.hostname.clone()).unwrap_or_default(),
                agent_version: m.map(|m| m.facts.agent_version.clone()).unwrap_or_default(),
                state: row.slot.state,
                reason: row.reason,
                canary: row.slot.canary,
                updated_ms: row.slot.updated_ms,
            }
        })
        .collect();
    Ok(Json(MachineUpdateList { machines: out }))
}
