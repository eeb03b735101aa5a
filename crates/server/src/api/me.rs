//! The signed-in user's own account: who they are, their password, their second factor.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use data_encoding::BASE64;
use optralis_proto::api::ErrorBody;
use optralis_proto::identity::AuditAction;
use optralis_proto::identity::{
    ChangePasswordRequest, CodeRequest, Invitation, InvitationAnswer, Me, MyOrg, RecoveryCodes,
    TotpEnrollment,
};

use super::audit::{record, record_for_user};
use super::extract::SignedIn;
use super::responses::NotSignedIn;
use super::session::{SecondFactor, check_second_factor, hash_password};
use super::{ApiError, AppState, parse_json};
use crate::auth::throttle::Subject;
use crate::auth::{password, qr, totp};
use crate::secret::digest;
use crate::store::AuditEvent;

const ISSUER: &str = "Optralis";

/// The signed-in user and their organisations.
#[utoipa::path(get, path = "/me", tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed-in user", body = Me),
        NotSignedIn,
        (status = 403, description = "API tokens are not users", body = ErrorBody),
    ))]
pub async fn get(State(state): State<AppState>, who: SignedIn) -> Result<Json<Me>, ApiError> {
    let orgs = state.store.memberships(&who.user.id).await?;
    let invitations = state.store.invitations(&who.user.id).await?;
    Ok(Json(Me {
        id: who.user.id.to_string(),
        email: who.user.email.clone(),
        platform_admin: who.user.platform_admin,
        mfa_enabled: who.user.totp_secret.is_some(),
        recovery_codes_left: state.store.recovery_codes_left(&who.user.id).await?,
        orgs: orgs
            .into_iter()
            .map(|m| MyOrg {
                id: m.org_id.to_string(),
                name: m.org_name,
                role: m.role,
                disabled: m.disabled,
                require_mfa: m.require_mfa,
            })
            .collect(),
        invitations: invitations
            .into_iter()
            .map(|(org_id, org_name, role)| Invitation {
                org_id: org_id.to_string(),
                org_name,
                role,
            })
            .collect(),
    }))
}

/// Accepts or declines an organisation's invitation: this account joins it only now.
#[utoipa::path(post, path = "/me/invitations/{org_id}", tag = "me",
    params(("org_id" = String, Path, description = "The inviting organisation")),
    request_body = InvitationAnswer,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Joined, or declined"),
        (status = 400, description = "Malformed body", body = ErrorBody),
        NotSignedIn,
        (status = 403, description = "API tokens are not users, or the account's address is not verified", body = ErrorBody),
        (status = 404, description = "No invitation from this organisation", body = ErrorBody),
    ))]
pub async fn answer_invitation(
    State(state): State<AppState>,
    who: SignedIn,
    Path(org_id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let req: InvitationAnswer = parse_json(&body)?;
    if req.accept && !who.user.verified {
        return Err(ApiError::Forbidden {
            code: "unverified",
            message: "this account's address is not verified (its password was set through a \
                      link an admin was shown): it cannot join another organisation. A password \
                      reset mailed by the server, or the server's operator \
                      (optralis user verify --email ADDRESS), verifies it"
                .into(),
        });
    }
    let invited = state.store.invitations(&who.user.id).await?;
    let Some((org, _, _)) = invited.into_iter().find(|(id, _, _)| id.as_str() == org_id) else {
        return Err(ApiError::NotFound);
    };
    state
        .store
        .answer_invitation(&who.user.id, &org, req.accept)
        .await?;
    let action = if req.accept {
        AuditAction::UserJoined
    } else {
        AuditAction::UserDeclined
    };
    record(
        &state,
        AuditEvent {
            org: Some(&org),
            actor: &who.actor().label(),
            action,
            target: Some(&who.user.email),
            ip: who.client.ip.as_deref(),
            detail: None,
        },
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the password; every session, this one included, ends.
#[utoipa::path(put, path = "/me/password", tag = "me",
    request_body = ChangePasswordRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Password changed; sign in again"),
        (status = 400, description = "Malformed body or password too weak", body = ErrorBody),
        (status = 401, description = "Not signed in, or the current password is wrong", body = ErrorBody),
        (status = 403, description = "API tokens are not users", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords; see Retry-After", body = ErrorBody),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    who: SignedIn,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let req: ChangePasswordRequest = parse_json(&body)?;
    // Someone holding a stolen session guessing the password: 5 tries, then slower.
    let key = format!("{}|password-change", who.user.email);
    let keys = [(Subject::AccountFrom, key.as_str())];
    state
        .auth
        .throttle
        .attempt(&keys)
        .map_err(|retry_after_s| ApiError::TooManyRequests { retry_after_s })?;
    let stored = who.user.password_hash.clone().unwrap_or_default();
    let current = req.current_password;
    let ok = super::session::hashing(&state, move || password::verify(&current, &stored)).await?;
    if !ok {
        return Err(ApiError::Unauthorized("the current password is wrong"));
    }
    state.auth.throttle.succeed(Subject::AccountFrom, &key);
    password::check_policy(&req.new_password, &who.user.email)
        .map_err(|e| ApiError::invalid_field("new_password", e.to_string()))?;
    let hash = hash_password(&state, req.new_password).await?;
    state.store.set_password(&who.user.id, &hash).await?;
    record_for_user(
        &state,
        &who.user.id,
        &format!("user:{}", who.user.email),
        AuditAction::UserPasswordChanged,
        None,
        &who.client,
        None,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts TOTP enrollment: a new secret to scan. It is not in force until confirmed.
#[utoipa::path(post, path = "/me/mfa/totp", tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Secret, otpauth URI and QR code", body = TotpEnrollment),
        NotSignedIn,
        (status = 403, description = "API tokens are not users", body = ErrorBody),
        (status = 409, description = "A second factor is already on", body = ErrorBody),
    ))]
pub async fn totp_enroll(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Json<TotpEnrollment>, ApiError> {
    if who.user.totp_secret.is_some() {
        return Err(ApiError::Conflict(
            "two-factor authentication is already on; turn it off first to change it".into(),
        ));
    }
    let secret = totp::new_secret().map_err(|_| ApiError::Internal)?;
    let sealed = crate::sealing::seal_totp(&state.notifier.sealer, &who.user.id, &secret)?;
    state.store.set_totp_pending(&who.user.id, &sealed).await?;
    let uri = totp::otpauth_uri(ISSUER, &who.user.email, &secret);
    let png = qr::png(&uri).map_err(|e| {
        tracing::error!(error = %e, "QR code");
        ApiError::Internal
    })?;
    Ok(Json(TotpEnrollment {
        secret,
        otpauth_uri: uri,
        qr_png_base64: BASE64.encode(&png),
    }))
}

/// Confirms TOTP enrollment with a code from the app; returns the recovery codes, once.
#[utoipa::path(post, path = "/me/mfa/totp/confirm", tag = "me",
    request_body = CodeRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Second factor on; keep these codes", body = RecoveryCodes),
        (status = 400, description = "Malformed body or wrong code", body = ErrorBody),
        NotSignedIn,
        (status = 403, description = "API tokens are not users", body = ErrorBody),
        (status = 409, description = "No enrollment in progress", body = ErrorBody),
    ))]
pub async fn totp_confirm(
    State(state): State<AppState>,
    who: SignedIn,
    body: Bytes,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let req: CodeRequest = parse_json(&body)?;
    let no_enrollment =
        || ApiError::Conflict("no enrollment in progress; POST /api/v1/me/mfa/totp first".into());
    let Some(pending) = state.store.totp_pending(&who.user.id).await? else {
        return Err(no_enrollment());
    };
    let secret = crate::sealing::open_totp(&state.notifier.sealer, &who.user.id, &pending)
        .ok_or_else(no_enrollment)?;
    let now_s = state.store.now_ms().div_euclid(1000);
    let step = totp::verify(&secret, &req.code, now_s)
        .ok_or_else(|| ApiError::invalid_field("code", "wrong code; check the phone's clock"))?;
    let codes = totp::new_recovery_codes().map_err(|_| ApiError::Internal)?;
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| digest(&totp::normalize_recovery_code(c)))
        .collect();
    state
        .store
        .enable_totp(&who.user.id, &pending, step, &hashes)
        .await?;
    record_for_user(
        &state,
        &who.user.id,
        &format!("user:{}", who.user.email),
        AuditAction::MfaEnabled,
        None,
        &who.client,
        None,
    )
    .await;
    Ok(Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// Turns the second factor off, proven with a current code or a recovery code.
#[utoipa::path(post, path = "/me/mfa/totp/disable", tag = "me",
    request_body = CodeRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Second factor off"),
        (status = 400, description = "Malformed body or wrong code", body = ErrorBody),
        NotSignedIn,
        (status = 403, description = "API tokens are not users", body = ErrorBody),
        (status = 409, description = "No second factor is on", body = ErrorBody),
        (status = 429, description = "Too many wrong codes; see Retry-After", body = ErrorBody),
    ))]
pub async fn totp_disable(
    State(state): State<AppState>,
    who: SignedIn,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let req: CodeRequest = parse_json(&body)?;
    if who.user.totp_secret.is_none() {
        return Err(ApiError::Conflict(
            "two-factor authentication is off".into(),
        ));
    }
    let keys = [(Subject::Mfa, who.user.id.as_str())];
    state
        .auth
        .throttle
        .attempt(&keys)
        .map_err(|retry_after_s| ApiError::TooManyRequests { retry_after_s })?;
    match check_second_factor(&state, &who.user, &req.code).await? {
        SecondFactor::Accepted => state
            .auth
            .throttle
            .succeed(Subject::Mfa, who.user.id.as_str()),
        SecondFactor::Reused => {
            return Err(ApiError::invalid_field(
                "code",
                "this code was already used",
            ));
        }
        SecondFactor::Wrong => return Err(ApiError::invalid_field("code", "wrong code")),
    }
    state.store.disable_totp(&who.user.id).await?;
    record_for_user(
        &state,
        &who.user.id,
        &format!("user:{}", who.user.email),
        AuditAction::MfaDisabled,
        None,
        &who.client,
        None,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
