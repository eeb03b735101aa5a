//! Identity in the REST API: sign-in, the caller, organisations, users, credentials, audit.

use serde::{Deserialize, Serialize};

use crate::vocabulary::Language;

names! {
    /// A role within one organisation. `admin` manages the organisation: machines, groups,
    /// labels, keys, tokens, channels, rules, users; `observer` reads everything in it and
    /// changes only their own password and MFA.
    pub enum Role("role") {
        Admin = "admin",
        Observer = "observer",
    }
}

names! {
    /// What an audit log entry records.
    pub enum AuditAction("audit action") {
        AuthLogin = "auth.login",
        AuthLoginFailed = "auth.login_failed",
        AuthMfaFailed = "auth.mfa_failed",
        AuthRefreshReuse = "auth.refresh_reuse",
        AuthLogoutAll = "auth.logout_all",
        UserCreated = "user.created",
        UserInvited = "user.invited",
        UserJoined = "user.joined",
        UserDeclined = "user.declined",
        UserRoleChanged = "user.role_changed",
        UserEnabled = "user.enabled",
        UserDisabled = "user.disabled",
        UserRemoved = "user.removed",
        UserPasswordSet = "user.password_set",
        UserPasswordChanged = "user.password_changed",
        UserPasswordReset = "user.password_reset",
        UserVerified = "user.verified",
        MfaEnabled = "mfa.enabled",
        MfaDisabled = "mfa.disabled",
        MfaReset = "mfa.reset",
        OrgCreated = "org.created",
        OrgUpdated = "org.updated",
        OrgDeleted = "org.deleted",
        OrgRequireMfa = "org.require_mfa",
        OrgSettings = "org.settings",
        TokenCreated = "token.created",
        TokenRevoked = "token.revoked",
        EnrollKeyCreated = "enroll_key.created",
        EnrollKeyRevoked = "enroll_key.revoked",
        GroupCreated = "group.created",
        GroupUpdated = "group.updated",
        GroupDeleted = "group.deleted",
        GroupMembersChanged = "group.members_changed",
        MachineGroupsSet = "machine.groups_set",
        MachineLabelsSet = "machine.labels_set",
        MachineDecommissioned = "machine.decommissioned",
        MachineRecommissioned = "machine.recommissioned",
        MachineDeleted = "machine.deleted",
        DiskAcknowledged = "disk.acknowledged",
        DiskUnacknowledged = "disk.unacknowledged",
        ChannelCreated = "channel.created",
        ChannelUpdated = "channel.updated",
        ChannelDeleted = "channel.deleted",
        ChannelTested = "channel.tested",
        RuleCreated = "rule.created",
        RuleUpdated = "rule.updated",
        RuleDeleted = "rule.deleted",
        SilenceCreated = "silence.created",
        SilenceDeleted = "silence.deleted",
        AlertAcknowledged = "alert.acknowledged",
        ReleaseKeyTrusted = "release.key_trusted",
        ReleasePublished = "release.published",
        RolloutCreated = "rollout.created",
        RolloutChanged = "rollout.changed",
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// Either an access token, or (second factor on) an MFA ticket for `POST /auth/mfa`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// `Bearer` when there is an access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Seconds the access token is good for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mfa_required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_ticket: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaRequest {
    pub mfa_ticket: String,
    /// A 6-digit TOTP code, or one of the recovery codes.
    pub code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessToken {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionsRevoked {
    pub sessions_revoked: u64,
}

/// Sets the password of an invited user, or a new one after a reset.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetPasswordRequest {
    /// The one-time token from the invitation or reset link.
    pub token: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// `GET /me`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub id: String,
    pub email: String,
    pub platform_admin: bool,
    pub mfa_enabled: bool,
    pub recovery_codes_left: i64,
    /// The organisations the user belongs to, oldest membership first; requests without
    /// `X-Optralis-Org` act in the first enabled one.
    pub orgs: Vec<MyOrg>,
    /// Organisations that added this account and wait for it to accept.
    #[serde(default)]
    pub invitations: Vec<Invitation>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MyOrg {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub require_mfa: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpEnrollment {
    /// Base32 secret, for apps that cannot scan.
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_png_base64: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CodeRequest {
    pub code: String,
}

/// Shown once; each code signs in once in place of a TOTP code.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Org {
    pub id: String,
    pub name: String,
    pub created_ms: i64,
    pub require_mfa: bool,
    /// A machine is offline after this many of its intervals without a report.
    pub offline_after_intervals: i64,
    /// Below this health score a machine reports every 30 s instead of 60 s.
    pub degraded_below_score: i64,
    /// Language of the organisation's notifications.
    pub language: Language,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgList {
    pub orgs: Vec<Org>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateOrg {
    pub name: String,
}

/// `PATCH /orgs/{id}` (platform admin) and `PATCH /org` (the organisation's admins, who may
/// change only `require_mfa`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateOrg {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub require_mfa: Option<bool>,
    /// 2–100.
    #[serde(default)]
    pub offline_after_intervals: Option<i64>,
    /// 0–100.
    #[serde(default)]
    pub degraded_below_score: Option<i64>,
    /// The language of notifications.
    #[serde(default)]
    pub language: Option<Language>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    pub mfa_enabled: bool,
    /// Invited, password not set yet.
    pub pending: bool,
    pub created_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserList {
    pub users: Vec<User>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateUser {
    pub email: String,
    pub role: Role,
}

/// A new member. An address without an account gets an invitation: `link` is the
/// one-time token to send them (valid until `expires_ms`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedUser {
    pub user: User,
    /// The set-password link of a brand-new account, when the server sends no mail; give
    /// it to the person. An existing account gets none: it accepts the invitation when it
    /// next signs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<OneTimeLink>,
    /// The invitation went to the address by email (the server has `[smtp]` set).
    #[serde(default)]
    pub emailed: bool,
}

/// A password reset: sent to the owner by email, or, for an account that never set a
/// password, the link itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordReset {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<OneTimeLink>,
    #[serde(default)]
    pub emailed: bool,
}

/// An organisation that added this account and waits for its answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invitation {
    pub org_id: String,
    pub org_name: String,
    pub role: Role,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InvitationAnswer {
    /// true joins the organisation; false declines (the invitation is removed).
    pub accept: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OneTimeLink {
    /// For `POST /auth/password` (the dashboard's `/#/set-password?token=…` page).
    pub token: String,
    pub expires_ms: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateUser {
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_ms: i64,
    #[serde(default)]
    pub revoked_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiTokenList {
    pub tokens: Vec<ApiToken>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateApiToken {
    pub name: String,
    pub role: Role,
}

/// The token itself is in `secret`, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedApiToken {
    pub token: ApiToken,
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollKey {
    pub id: String,
    pub created_ms: i64,
    #[serde(default)]
    pub revoked_ms: Option<i64>,
    /// No machine enrolls with it from then on.
    #[serde(default)]
    pub expires_ms: Option<i64>,
    /// Machines it may enroll in all (1: single-use); none: no limit.
    #[serde(default)]
    pub max_uses: Option<i64>,
    /// Machines it has enrolled.
    #[serde(default)]
    pub uses: i64,
}

/// A new enrollment key's limits; both optional (an empty body: unlimited, no expiry).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateEnrollKey {
    /// Seconds until it expires (60 to 31,536,000).
    #[serde(default)]
    pub expires_in_s: Option<i64>,
    /// Machines it may enroll (1 to 100,000); 1 makes a single-use key.
    #[serde(default)]
    pub max_uses: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollKeyList {
    pub keys: Vec<EnrollKey>,
}

/// The key itself is in `secret`, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedEnrollKey {
    pub key: EnrollKey,
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub ts_ms: i64,
    /// `user:EMAIL`, `token:NAME (ID)`, `cli`, or the address a failed login tried.
    pub actor: String,
    pub action: AuditAction,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub detail: Option<serde_json::Value>,
}

/// Newest first; pass `next_before` as `before` for the next page.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditList {
    pub entries: Vec<AuditEntry>,
    #[serde(default)]
    pub next_before: Option<i64>,
}
