//! The members of the current organisation, managed by its admins.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use optralis_proto::api::ErrorBody;
use optralis_proto::identity::AuditAction;
use optralis_proto::identity::{
    CreateUser, CreatedUser, OneTimeLink, PasswordReset, UpdateUser, User, UserList,
};

use super::audit::record_org;
use super::extract::{AdminPrincipal, ApiPrincipal};
use super::responses::{AdminDenied, MemberDenied, NotSignedIn};
use super::{ApiError, AppState, parse_json};
use crate::ids::UserId;
use crate::principal::Principal;
use crate::store::{LinkPurpose, OrgUser, StoreError, normalize_email};

const INVITE_TTL_MS: i64 = 7 * 24 * 3_600_000;
const RESET_TTL_MS: i64 = 24 * 3_600_000;

fn user_out(u: OrgUser) -> User {
    User {
        id: u.id.to_string(),
        email: u.email,
        role: u.role,
        disabled: u.disabled,
        mfa_enabled: u.mfa_enabled,
        pending: u.pending,
        created_ms: u.created_ms,
    }
}

/// A plausible address: something@domain.tld, bounded, no spaces.
fn check_email(email: &str) -> Result<String, ApiError> {
    let email = normalize_email(email);
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        });
    if !valid {
        return Err(ApiError::invalid_field("email", "is not an email address"));
    }
    Ok(email)
}

/// The organisation's members.
#[utoipa::path(get, path = "/users", tag = "users", operation_id = "list_users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Members", body = UserList),
        MemberDenied,
    ))]
pub async fn list(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
) -> Result<Json<UserList>, ApiError> {
    let users = state.store.list_org_users(&who.org_id).await?;
    Ok(Json(UserList {
        users: users.into_iter().map(user_out).collect(),
    }))
}

/// Invites an address. A new account gets a set-password link: by email when the server
/// has a mail server (`[smtp]`), else in the answer, for the admin to pass on. An existing
/// account joins only once it accepts, when it next signs in (`POST /me/invitations/{org}`):
/// until then it is a pending member that grants nothing. With a mail server the answer is
/// the same for both; without one, only a new address's answer carries a link.
#[utoipa::path(post, path = "/users", tag = "users", operation_id = "create_user",
    request_body = CreateUser,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Invited", body = CreatedUser),
        (status = 400, description = "Malformed body or bad email", body = ErrorBody),
        AdminDenied,
        (status = 409, description = "Already a member (or invited) here", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    body: Bytes,
) -> Result<(StatusCode, Json<CreatedUser>), ApiError> {
    let req: CreateUser = parse_json(&body)?;
    let email = check_email(&req.email)?;
    let role = req.role;
    let (user_id, token) = match state.store.user_by_email(&email).await {
        Ok(existing) => {
            // Its owner decides: an admin could otherwise create an account elsewhere,
            // keep its password, and follow it into every organisation that adds it.
            state
                .store
                .invite_membership(&who.org_id, &existing.id, role)
                .await?;
            (existing.id, None)
        }
        Err(StoreError::NotFound) => {
            let id = state.store.create_user(&email, None, false).await?;
            state.store.add_membership(&who.org_id, &id, role).await?;
            let mailed = state.mailer.get().is_some();
            let token = state
                .store
                .create_user_link(&who.org_id, &id, LinkPurpose::Invite, INVITE_TTL_MS, mailed)
                .await?;
            (id, Some(token))
        }
        Err(e) => return Err(e.into()),
    };
    let mut link = token.map(|token| OneTimeLink {
        token,
        expires_ms: state.store.now_ms() + INVITE_TTL_MS,
    });
    let emailed = match state.mailer.get() {
        Some(mailer) => {
            let org = state.store.org_info(&who.org_id).await?;
            let body = match &link {
                Some(l) => format!(
                    "You are invited to the organisation {:?} on Optralis.\n\nSet your password \
                     (the link works once, for 7 days):\n{}\n",
                    org.name,
                    mailer.set_password_link(&l.token)
                ),
                None => format!(
                    "You are invited to the organisation {:?} on Optralis.\n\nSign in to accept \
                     or decline: {}\n",
                    org.name,
                    mailer.dashboard()
                ),
            };
            if let Err(e) = send_to_owner(mailer, &email, "Invitation to Optralis", body).await {
                // Nothing half done: the admin can simply invite again.
                if link.is_some() {
                    state.store.delete_user(&user_id).await?;
                } else {
                    state
                        .store
                        .answer_invitation(&user_id, &who.org_id, false)
                        .await?;
                }
                return Err(e);
            }
            // Only the address's owner sees the link.
            link = None;
            true
        }
        None => false,
    };
    record_org(
        &state,
        &who,
        AuditAction::UserInvited,
        Some(&email),
        Some(serde_json::json!({"role": role.as_str(), "emailed": emailed})),
    )
    .await;
    let user = state.store.org_user(&who.org_id, &user_id).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedUser {
            user: user_out(user),
            link,
            emailed,
        }),
    ))
}

/// Mails an account's owner; a mail server that refuses is the caller's 503.
async fn send_to_owner(
    mailer: &crate::notify::mail::Mailer,
    to: &str,
    subject: &str,
    body: String,
) -> Result<(), ApiError> {
    mailer.send(to, subject, body).await.map_err(|e| {
        tracing::warn!(error = %e, "the server's mail could not be sent");
        ApiError::Unavailable("the mail server did not take the message; try again".into())
    })
}

/// One member.
#[utoipa::path(get, path = "/users/{id}", tag = "users", operation_id = "get_user",
    params(("id" = String, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The member", body = User),
        MemberDenied,
        (status = 404, description = "No such member here", body = ErrorBody),
    ))]
pub async fn get_one(
    State(state): State<AppState>,
    ApiPrincipal(who): ApiPrincipal,
    Path(id): Path<String>,
) -> Result<Json<User>, ApiError> {
    let user = state
        .store
        .org_user(&who.org_id, &UserId::from_path(&id))
        .await?;
    Ok(Json(user_out(user)))
}

/// Changes a member's role, or disables or re-enables them here. The organisation always
/// keeps one enabled admin.
#[utoipa::path(patch, path = "/users/{id}", tag = "users", operation_id = "update_user",
    params(("id" = String, Path, description = "User id")),
    request_body = UpdateUser,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = User),
        (status = 400, description = "Malformed body", body = ErrorBody),
        AdminDenied,
        (status = 404, description = "No such member here", body = ErrorBody),
        (status = 409, description = "Would leave no enabled admin", body = ErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<User>, ApiError> {
    let req: UpdateUser = parse_json(&body)?;
    let user_id = UserId::from_path(&id);
    let before = state.store.org_user(&who.org_id, &user_id).await?;
    let after = state
        .store
        .update_membership(&who.org_id, &user_id, req.role, req.disabled)
        .await?;
    if before.role != after.role {
        record_org(
            &state,
            &who,
            AuditAction::UserRoleChanged,
            Some(&after.email),
            Some(serde_json::json!({"from": before.role.as_str(), "to": after.role.as_str()})),
        )
        .await;
    }
    if before.disabled != after.disabled {
        let action = if after.disabled {
            AuditAction::UserDisabled
        } else {
            AuditAction::UserEnabled
        };
        record_org(&state, &who, action, Some(&after.email), None).await;
    }
    Ok(Json(user_out(after)))
}

/// Removes a member from the organisation (their account stays for other organisations).
#[utoipa::path(delete, path = "/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        AdminDenied,
        (status = 404, description = "No such member here", body = ErrorBody),
        (status = 409, description = "The last enabled admin", body = ErrorBody),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user_id = UserId::from_path(&id);
    let user = state.store.org_user(&who.org_id, &user_id).await?;
    state.store.remove_membership(&who.org_id, &user_id).await?;
    record_org(
        &state,
        &who,
        AuditAction::UserRemoved,
        Some(&user.email),
        None,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// An organisation admin may reset credentials only of accounts that are theirs alone;
/// an account shared with other organisations needs a platform admin.
async fn ensure_account_is_ours(
    state: &AppState,
    who: &Principal,
    user: &UserId,
) -> Result<(), ApiError> {
    if who.platform_admin {
        return Ok(());
    }
    if state.store.user_by_id(user).await?.platform_admin {
        return Err(ApiError::forbidden(
            "this account is a platform admin; only a platform admin may reset it",
        ));
    }
    if state.store.membership_count(user).await? > 1 {
        return Err(ApiError::forbidden(
            "this account belongs to other organisations too; ask a platform admin",
        ));
    }
    Ok(())
}

/// Resets a member's password and ends their sessions. The link goes to the account's owner
/// by email; it is shown to the admin only for an account that has never set a password.
#[utoipa::path(post, path = "/users/{id}/password-reset", tag = "users",
    params(("id" = String, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Sent to the owner, or the link of an account that never signed in", body = PasswordReset),
        NotSignedIn,
        (status = 403, description = "Not an admin, or the account is shared with other organisations", body = ErrorBody),
        (status = 404, description = "No such member here", body = ErrorBody),
        (status = 409, description = "The account has a password and the server sends no mail", body = ErrorBody),
    ))]
pub async fn reset_password(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
) -> Result<Json<PasswordReset>, ApiError> {
    let user_id = UserId::from_path(&id);
    let user = state.store.org_user(&who.org_id, &user_id).await?;
    ensure_account_is_ours(&state, &who, &user_id).await?;
    let has_password = state
        .store
        .user_by_id(&user_id)
        .await?
        .password_hash
        .is_some();
    if has_password && state.mailer.get().is_none() {
        return Err(ApiError::Conflict(
            "this account has a password: its reset link goes to its owner by email, and this \
             server sends no mail ([smtp] in its configuration). On the server's host: \
             optralis user set-password --email ADDRESS --password-stdin"
                .into(),
        ));
    }
    let token = state
        .store
        .create_user_link(
            &who.org_id,
            &user_id,
            LinkPurpose::Reset,
            RESET_TTL_MS,
            state.mailer.get().is_some(),
        )
        .await?;
    let link = OneTimeLink {
        token,
        expires_ms: state.store.now_ms() + RESET_TTL_MS,
    };
    let outcome = match state.mailer.get() {
        Some(mailer) => {
            let body = format!(
                "A password reset was asked for your Optralis account.\n\nSet a new password \
                 (the link works once, for 24 hours):\n{}\n",
                mailer.set_password_link(&link.token)
            );
            send_to_owner(mailer, &user.email, "Optralis password reset", body).await?;
            PasswordReset {
                link: None,
                emailed: true,
            }
        }
        None => PasswordReset {
            link: Some(link),
            emailed: false,
        },
    };
    state.store.revoke_user_sessions(&user_id).await?;
    record_org(
        &state,
        &who,
        AuditAction::UserPasswordReset,
        Some(&user.email),
        Some(serde_json::json!({"emailed": outcome.emailed})),
    )
    .await;
    Ok(Json(outcome))
}

/// Turns a member's second factor off (lost phone and codes) and ends their sessions.
#[utoipa::path(post, path = "/users/{id}/mfa-reset", tag = "users",
    params(("id" = String, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Second factor off"),
        NotSignedIn,
        (status = 403, description = "Not an admin, or the account is shared with other organisations", body = ErrorBody),
        (status = 404, description = "No such member here", body = ErrorBody),
    ))]
pub async fn reset_mfa(
    State(state): State<AppState>,
    AdminPrincipal(who): AdminPrincipal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user_id = UserId::from_path(&id);
    let user = state.store.org_user(&who.org_id, &user_id).await?;
    ensure_account_is_ours(&state, &who, &user_id).await?;
    state.store.disable_totp(&user_id).await?;
    state.store.revoke_user_sessions(&user_id).await?;
    record_org(&state, &who, AuditAction::MfaReset, Some(&user.email), None).await;
    Ok(StatusCode::NO_CONTENT)
}
