//! Signing in and out: password, second factor, refresh-token rotation, one-time links.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use optralis_proto::api::ErrorBody;
use optralis_proto::identity::AuditAction;
use optralis_proto::identity::{
    AccessToken, LoginRequest, LoginResponse, MfaRequest, SessionsRevoked, SetPasswordRequest,
};

use super::audit::{record, record_for_user};
use super::extract::{Client, SignedIn};
use super::responses::NotSignedIn;
use super::{ApiError, AppState, parse_json};
use crate::auth::jwt::MFA_TICKET_TTL_S;
use crate::auth::jwt::{self, Claims, TokenUse};
use crate::auth::throttle::{Subject, address_key};
use crate::auth::{password, totp};
use crate::ids::UserId;
use crate::store::{AuditEvent, ClientInfo, Refresh, StoreError, UserAuth, normalize_email};

pub use crate::auth::jwt::ACCESS_TTL_S;
pub const SESSION_TTL_MS: i64 = 30 * 24 * 3_600_000;
/// An address the account signed in from within this long counts as one of its own.
const KNOWN_ADDRESS_MS: i64 = 30 * 24 * 3_600_000;
pub const REFRESH_COOKIE: &str = "optralis_refresh";
/// The refresh cookie goes only to the auth routes.
const COOKIE_PATH: &str = "/api/v1/auth";

fn refresh_cookie(token: &str, max_age_s: i64) -> HeaderValue {
    let value = format!(
        "{REFRESH_COOKIE}={token}; Path={COOKIE_PATH}; Max-Age={max_age_s}; HttpOnly; Secure; SameSite=Strict"
    );
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static(""))
}

fn cleared_cookie() -> HeaderValue {
    refresh_cookie("", 0)
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == REFRESH_COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

fn now_s(state: &AppState) -> i64 {
    state.store.now_ms().div_euclid(1000)
}

fn access_token(state: &AppState, user: &UserId, session: &str) -> String {
    let claims = Claims::new(
        user.as_str(),
        session,
        TokenUse::Access,
        now_s(state),
        ACCESS_TTL_S,
    );
    jwt::encode(&state.auth.signing_key, &claims)
}

/// Opens a session: the access token in the body, the refresh token in the cookie.
async fn open_session(
    state: &AppState,
    user: &UserAuth,
    client: &ClientInfo,
) -> Result<Response, ApiError> {
    let (session, refresh) = state
        .store
        .create_session(&user.id, SESSION_TTL_MS, client)
        .await?;
    let body = LoginResponse {
        access_token: Some(access_token(state, &user.id, session.as_str())),
        token_type: Some("Bearer".into()),
        expires_in: Some(ACCESS_TTL_S.unsigned_abs()),
        ..LoginResponse::default()
    };
    record_for_user(
        state,
        &user.id,
        &format!("user:{}", user.email),
        AuditAction::AuthLogin,
        None,
        client,
        None,
    )
    .await;
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(SET_COOKIE, refresh_cookie(&refresh, SESSION_TTL_MS / 1000));
    Ok(response)
}

/// How long a password check may wait for a hashing slot before the server says it is busy.
const HASH_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs password hashing on the blocking pool, a few at a time (see `AuthState::hashing`).
pub async fn hashing<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let _slot = tokio::time::timeout(HASH_QUEUE_WAIT, state.auth.hashing.acquire())
        .await
        .map_err(|_| ApiError::Unavailable("too many sign-ins at once; retry in a moment".into()))?
        .map_err(|_| ApiError::Internal)?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| ApiError::Internal)
}

async fn hash_matches(
    state: &AppState,
    password: String,
    stored: Option<String>,
) -> Result<bool, ApiError> {
    hashing(state, move || {
        let (stored, real) = match stored {
            Some(hash) => (hash, true),
            None => (password::decoy_hash().to_owned(), false),
        };
        password::verify(&password, &stored) && real
    })
    .await
}

pub async fn hash_password(state: &AppState, password: String) -> Result<String, ApiError> {
    hashing(state, move || password::hash(&password))
        .await?
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            ApiError::Internal
        })
}

/// Sign in with email and password.
///
/// Returns an access token (and sets the refresh cookie), or, when the account has a
/// second factor, an MFA ticket for `POST /auth/mfa`. Unknown emails and wrong passwords get
/// the same answer in about the same time; repeated failures are throttled per account and
/// per client address.
#[utoipa::path(post, path = "/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in, or MFA ticket issued", body = LoginResponse),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Invalid email or password", body = ErrorBody),
        (status = 429, description = "Too many failures; see Retry-After", body = ErrorBody),
    ))]
pub async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: LoginRequest = parse_json(&body)?;
    if req.email.len() > 254 || req.password.len() > password::MAX_LENGTH * 4 {
        return Err(ApiError::Unauthorized("invalid email or password"));
    }
    let email = normalize_email(&req.email);
    let ip = client.ip.clone().unwrap_or_default();
    let address = address_key(&ip);
    let user = match state.store.user_by_email(&email).await {
        Ok(user) => Some(user),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    // The account's own addresses are spared the account-wide brake, so guesses from
    // elsewhere cannot lock its owner out. Asked for unknown accounts too (same cost).
    let known = state
        .store
        .signed_in_from(
            user.as_ref().map_or("", |u| u.id.as_str()),
            KNOWN_ADDRESS_MS,
        )
        .await?
        .iter()
        .any(|seen| !address.is_empty() && address_key(seen) == address);
    let account_from = format!("{email}|{address}");
    let mut keys = vec![
        (Subject::AccountFrom, account_from.as_str()),
        (Subject::Address, address.as_str()),
    ];
    if !known {
        keys.push((Subject::Account, email.as_str()));
    }
    state
        .auth
        .throttle
        .attempt(&keys)
        .map_err(|retry_after_s| ApiError::TooManyRequests { retry_after_s })?;
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let matches = hash_matches(&state, req.password, stored).await?;
    if !matches {
        failed_login(&state, user.as_ref(), &email, &client).await;
        return Err(ApiError::Unauthorized("invalid email or password"));
    }
    let Some(user) = user else {
        return Err(ApiError::Unauthorized("invalid email or password"));
    };
    state
        .auth
        .throttle
        .succeed(Subject::AccountFrom, &account_from);
    state.auth.throttle.succeed(Subject::Account, &email);
    state.auth.throttle.succeed(Subject::Address, &address);
    if user.totp_secret.is_some() {
        let claims = Claims::new(
            user.id.as_str(),
            "",
            TokenUse::MfaTicket,
            now_s(&state),
            MFA_TICKET_TTL_S,
        );
        return Ok(Json(LoginResponse {
            mfa_required: true,
            mfa_ticket: Some(jwt::encode(&state.auth.signing_key, &claims)),
            ..LoginResponse::default()
        })
        .into_response());
    }
    open_session(&state, &user, &client).await
}

/// Records a failed sign-in in the organisations of the account tried, if it exists.
async fn failed_login(state: &AppState, user: Option<&UserAuth>, email: &str, client: &ClientInfo) {
    let action = AuditAction::AuthLoginFailed;
    match user {
        Some(user) => record_for_user(state, &user.id, email, action, None, client, None).await,
        None => {
            record(
                state,
                AuditEvent {
                    org: None,
                    actor: email,
                    action,
                    target: None,
                    ip: client.ip.as_deref(),
                    detail: Some(serde_json::json!({"reason": "unknown account"})),
                },
            )
            .await;
        }
    }
}

/// Second step of sign-in: the MFA ticket and a TOTP code or a recovery code.
#[utoipa::path(post, path = "/auth/mfa", tag = "auth",
    request_body = MfaRequest,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Invalid or expired ticket, or wrong or reused code", body = ErrorBody),
        (status = 429, description = "Too many failures; see Retry-After", body = ErrorBody),
    ))]
pub async fn mfa(
    State(state): State<AppState>,
    Client(client): Client,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: MfaRequest = parse_json(&body)?;
    let claims = jwt::decode(
        &state.auth.signing_key,
        &req.mfa_ticket,
        TokenUse::MfaTicket,
        now_s(&state),
    )
    .map_err(|_| ApiError::Unauthorized("invalid or expired MFA ticket; sign in again"))?;
    let user = state
        .store
        .user_by_id(&UserId::from_path(&claims.sub))
        .await
        .map_err(|_| ApiError::Unauthorized("invalid or expired MFA ticket; sign in again"))?;
    let ip = client.ip.clone().unwrap_or_default();
    let keys = [
        (Subject::Mfa, user.id.as_str()),
        (Subject::Address, ip.as_str()),
    ];
    state
        .auth
        .throttle
        .attempt(&keys)
        .map_err(|retry_after_s| ApiError::TooManyRequests { retry_after_s })?;
    match check_second_factor(&state, &user, &req.code).await? {
        SecondFactor::Accepted => {
            state.auth.throttle.succeed(Subject::Mfa, user.id.as_str());
            state.auth.throttle.succeed(Subject::Address, &ip);
            open_session(&state, &user, &client).await
        }
        outcome => {
            record_for_user(
                &state,
                &user.id,
                &user.email,
                AuditAction::AuthMfaFailed,
                None,
                &client,
                None,
            )
            .await;
            Err(ApiError::Unauthorized(match outcome {
                SecondFactor::Reused => "this code was already used; wait for the next one",
                _ => "wrong code",
            }))
        }
    }
}

pub enum SecondFactor {
    Accepted,
    Reused,
    Wrong,
}

/// Checks a TOTP code (each good once) or spends a recovery code.
pub async fn check_second_factor(
    state: &AppState,
    user: &UserAuth,
    code: &str,
) -> Result<SecondFactor, ApiError> {
    let Some(stored) = &user.totp_secret else {
        return Ok(SecondFactor::Wrong);
    };
    // A secret sealed under another server key opens to nothing: only a recovery code helps.
    let secret = crate::sealing::open_totp(&state.notifier.sealer, &user.id, stored);
    if let Some(step) = secret
        .as_deref()
        .and_then(|s| totp::verify(s, code, now_s(state)))
    {
        return Ok(if state.store.claim_totp_step(&user.id, step).await? {
            SecondFactor::Accepted
        } else {
            SecondFactor::Reused
        });
    }
    let recovery = totp::normalize_recovery_code(code);
    if recovery.len() == 16 && state.store.use_recovery_code(&user.id, &recovery).await? {
        return Ok(SecondFactor::Accepted);
    }
    Ok(SecondFactor::Wrong)
}

/// A new access token for the refresh cookie, which is rotated.
///
/// Presenting a refresh token that was already used revokes its whole session: someone
/// else has a copy.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth",
    responses(
        (status = 200, description = "New access token; the cookie holds the next refresh token", body = AccessToken),
        (status = 401, description = "No, unknown, spent or expired refresh token", body = ErrorBody),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let refused = |message: &'static str| {
        let mut response = ApiError::Unauthorized(message).into_response();
        response.headers_mut().insert(SET_COOKIE, cleared_cookie());
        Ok(response)
    };
    let Some(token) = cookie_token(&headers) else {
        return refused("no refresh cookie; sign in");
    };
    let next = crate::secret::refresh_successor(&state.auth.signing_key, &token);
    match state.store.rotate_refresh(&token, &next).await {
        Ok(Refresh::Rotated {
            session,
            user,
            token,
        }) => {
            let body = AccessToken {
                access_token: access_token(&state, &user, session.as_str()),
                token_type: "Bearer".into(),
                expires_in: ACCESS_TTL_S.unsigned_abs(),
            };
            let mut response = Json(body).into_response();
            response
                .headers_mut()
                .insert(SET_COOKIE, refresh_cookie(&token, SESSION_TTL_MS / 1000));
            Ok(response)
        }
        Ok(Refresh::Reused { session, user }) => {
            let actor = match state.store.user_by_id(&user).await {
                Ok(u) => format!("user:{}", u.email),
                Err(_) => "unknown".into(),
            };
            tracing::warn!(session = %session, "a spent refresh token was presented; session revoked");
            record_for_user(
                &state,
                &user,
                &actor,
                AuditAction::AuthRefreshReuse,
                Some(session.as_str()),
                &client,
                Some(serde_json::json!({"session_revoked": true})),
            )
            .await;
            refused("this refresh token was already used; the session is revoked, sign in again")
        }
        Err(StoreError::NotFound) => refused("invalid or expired refresh token; sign in"),
        Err(e) => Err(e.into()),
    }
}

/// Ends this session: the refresh cookie's (and the access token's, if sent).
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out; the refresh cookie is cleared")))]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = cookie_token(&headers) {
        match state.store.session_for_refresh(&token).await {
            Ok((session, _)) => state.store.revoke_session(&session).await?,
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(token) = bearer
        && let Ok(claims) = jwt::decode(
            &state.auth.signing_key,
            token.trim(),
            TokenUse::Access,
            now_s(&state),
        )
    {
        state
            .store
            .revoke_session(&crate::ids::SessionId::from_path(&claims.sid))
            .await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(SET_COOKIE, cleared_cookie());
    Ok(response)
}

/// Ends every session of the signed-in user, on every device.
#[utoipa::path(post, path = "/auth/logout-all", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Sessions ended", body = SessionsRevoked),
        NotSignedIn,
        (status = 403, description = "API tokens have no sessions", body = ErrorBody),
    ))]
pub async fn logout_all(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Response, ApiError> {
    let n = state.store.revoke_user_sessions(&who.user.id).await?;
    record_for_user(
        &state,
        &who.user.id,
        &format!("user:{}", who.user.email),
        AuditAction::AuthLogoutAll,
        None,
        &who.client,
        Some(serde_json::json!({"sessions": n})),
    )
    .await;
    let mut response = Json(SessionsRevoked {
        sessions_revoked: n,
    })
    .into_response();
    response.headers_mut().insert(SET_COOKIE, cleared_cookie());
    Ok(response)
}

/// Sets a password with a one-time token from an invitation or a reset.
#[utoipa::path(post, path = "/auth/password", tag = "auth",
    request_body = SetPasswordRequest,
    responses(
        (status = 204, description = "Password set; sign in with it"),
        (status = 400, description = "Malformed body or password too weak", body = ErrorBody),
        (status = 404, description = "Unknown, used or expired token", body = ErrorBody),
    ))]
pub async fn set_password(
    State(state): State<AppState>,
    Client(client): Client,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let req: SetPasswordRequest = parse_json(&body)?;
    let owner = state.store.user_link_owner(&req.token).await?;
    password::check_policy(&req.password, &owner.email)
        .map_err(|e| ApiError::invalid_field("password", e.to_string()))?;
    let hash = hash_password(&state, req.password).await?;
    let (user, _) = state.store.accept_user_link(&req.token, &hash).await?;
    record_for_user(
        &state,
        &user,
        &owner.email,
        AuditAction::UserPasswordSet,
        None,
        &client,
        None,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
