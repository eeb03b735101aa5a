//! Credentials to identities. Handlers get the caller's organisation only from these
//! extractors, never from the request body:
//! - [`ApiPrincipal`]: any member of the current organisation (user session or API token);
//! - [`AdminPrincipal`]: the same, with the admin role;
//! - [`SignedIn`]: a user session, whatever the organisation (`/me`, logout everywhere);
//! - [`PlatformAdmin`]: a user session of an operator of the whole server;
//! - [`Agent`]: an enrolled machine.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::request::Parts;

use super::{ApiError, AppState};
use crate::auth::jwt::{self, TokenUse};
use crate::auth::throttle::Throttle;
use crate::ids::{SessionId, UserId};
use crate::principal::{Actor, Principal, Role};
use crate::store::{AgentIdentity, ClientInfo, Membership, StoreError, UserAuth};

/// The header that picks one of the caller's organisations.
pub const ORG_HEADER: &str = "x-optralis-org";

/// Signing key and brakes, shared by every request.
pub struct AuthState {
    pub signing_key: Vec<u8>,
    pub throttle: Throttle,
    /// Password hashes computed at once: each takes a core for tens of milliseconds, so a
    /// flood of sign-ins queues here instead of starving ingest and the API.
    pub hashing: tokio::sync::Semaphore,
}

/// Password hashes run at most this many at once.
pub const CONCURRENT_HASHES: usize = 2;

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

/// Where a request comes from: the peer address, or the last `X-Forwarded-For` hop (the
/// address the proxy saw) when the server is configured to sit behind one proxy.
pub fn client_info(
    parts_headers: &HeaderMap,
    peer: Option<SocketAddr>,
    state: &AppState,
) -> ClientInfo {
    let forwarded = state
        .settings
        .trust_forwarded_for
        .then(|| parts_headers.get("x-forwarded-for"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        // The last hop is the one our proxy added; earlier ones are the client's say-so.
        .and_then(|v| v.split(',').next_back())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    ClientInfo {
        ip: forwarded.or_else(|| peer.map(|p| p.ip().to_string())),
        user_agent: parts_headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(200).collect()),
    }
}

/// The calling client's address and user agent.
pub struct Client(pub ClientInfo);

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Ok(Client(client_info(&parts.headers, peer, state)))
    }
}

/// A signed-in user: a valid access token of an open session.
pub struct SignedIn {
    pub user: UserAuth,
    pub session: SessionId,
    pub client: ClientInfo,
}

impl SignedIn {
    pub fn actor(&self) -> Actor {
        Actor::User {
            id: self.user.id.clone(),
            email: self.user.email.clone(),
            session: self.session.clone(),
        }
    }
}

async fn signed_in(parts: &mut Parts, state: &AppState, token: &str) -> Result<SignedIn, ApiError> {
    let now_s = state.store.now_ms().div_euclid(1000);
    let claims = jwt::decode(&state.auth.signing_key, token, TokenUse::Access, now_s)
        .map_err(|_| ApiError::Unauthorized("invalid or expired access token"))?;
    let user_id = UserId::from_path(&claims.sub);
    let session = SessionId::from_path(&claims.sid);
    if !state.store.session_is_open(&session, &user_id).await? {
        return Err(ApiError::Unauthorized(
            "the session has ended; sign in again",
        ));
    }
    let user = state
        .store
        .user_by_id(&user_id)
        .await
        .map_err(unknown_credentials)?;
    let Client(client) = Client::from_request_parts(parts, state).await?;
    Ok(SignedIn {
        user,
        session,
        client,
    })
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?.to_owned();
        if token.starts_with("oat_") {
            return Err(ApiError::forbidden(
                "this route is for signed-in users, not API tokens",
            ));
        }
        signed_in(parts, state, &token).await
    }
}

/// A user allowed to manage organisations.
pub struct PlatformAdmin(pub SignedIn);

impl FromRequestParts<AppState> for PlatformAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = SignedIn::from_request_parts(parts, state).await?;
        if !user.user.platform_admin {
            return Err(ApiError::forbidden("only a platform admin may do this"));
        }
        Ok(PlatformAdmin(user))
    }
}

/// A user or automation acting within one organisation.
pub struct ApiPrincipal(pub Principal);

impl FromRequestParts<AppState> for ApiPrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?.to_owned();
        let Client(client) = Client::from_request_parts(parts, state).await?;
        if token.starts_with("oat_") {
            let mut principal = state
                .store
                .principal_for_token(&token)
                .await
                .map_err(unknown_credentials)?;
            principal.ip = client.ip;
            return Ok(ApiPrincipal(principal));
        }
        let user = signed_in(parts, state, &token).await?;
        let wanted = parts
            .headers
            .get(ORG_HEADER)
            .map(|v| {
                v.to_str().map(str::trim).map_err(|_| {
                    ApiError::bad_request("invalid_header", "X-Optralis-Org is not text")
                })
            })
            .transpose()?;
        let membership = choose_org(state, &user, wanted).await?;
        check_membership(&membership, &user.user)?;
        Ok(ApiPrincipal(Principal {
            org_id: membership.org_id,
            role: membership.role,
            actor: user.actor(),
            platform_admin: user.user.platform_admin,
            ip: client.ip,
        }))
    }
}

/// Whether a member may act in the organisation now: not disabled there, and with a second
/// factor if the organisation requires one. Checked on each request and by open streams.
pub fn check_membership(membership: &Membership, user: &UserAuth) -> Result<(), ApiError> {
    if membership.disabled {
        return Err(ApiError::forbidden(
            "your access to this organisation is disabled",
        ));
    }
    if membership.require_mfa && user.totp_secret.is_none() {
        return Err(ApiError::Forbidden {
            code: "mfa_enrollment_required",
            message: "this organisation requires two-factor authentication: turn it on \
                      with POST /api/v1/me/mfa/totp"
                .into(),
        });
    }
    Ok(())
}

/// The organisation a user acts in: the one named by the header if they belong to it (any
/// for a platform admin, as admin), else their first enabled membership.
async fn choose_org(
    state: &AppState,
    user: &SignedIn,
    wanted: Option<&str>,
) -> Result<Membership, ApiError> {
    let memberships = state.store.memberships(&user.user.id).await?;
    match wanted {
        Some(id) => {
            if let Some(m) = memberships.into_iter().find(|m| m.org_id.as_str() == id) {
                return Ok(m);
            }
            if user.user.platform_admin {
                let org = state.store.find_org(id).await?;
                return Ok(Membership {
                    org_id: org.id,
                    org_name: org.name,
                    role: Role::Admin,
                    disabled: false,
                    require_mfa: org.require_mfa,
                });
            }
            // Another organisation's id answers like one that does not exist.
            Err(ApiError::NotFound)
        }
        None => {
            let count = memberships.len();
            memberships
                .into_iter()
                .find(|m| !m.disabled)
                .ok_or_else(|| {
                    if count == 0 {
                        ApiError::forbidden(
                            "you belong to no organisation; name one with X-Optralis-Org",
                        )
                    } else {
                        ApiError::forbidden("your access to your organisations is disabled")
                    }
                })
        }
    }
}

/// A member of the current organisation with the admin role.
pub struct AdminPrincipal(pub Principal);

impl FromRequestParts<AppState> for AdminPrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ApiPrincipal(principal) = ApiPrincipal::from_request_parts(parts, state).await?;
        if principal.role != Role::Admin {
            return Err(ApiError::forbidden("this needs the admin role"));
        }
        Ok(AdminPrincipal(principal))
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
