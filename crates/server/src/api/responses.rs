//! Answers that many routes share, named once for their `#[utoipa::path(responses(…))]`:
//! `responses((status = 200, …), AdminDenied)`. Each set documents; none is constructed.
#![allow(dead_code)] // Types for the document only: the answers themselves are `ApiError`s.

use optralis_proto::api::ErrorBody;

/// A route for any member of the organisation (or an API token).
#[derive(utoipa::IntoResponses)]
pub enum MemberDenied {
    #[response(status = 401, description = "Not signed in")]
    NotSignedIn(ErrorBody),
    #[response(status = 403, description = "No access")]
    NoAccess(ErrorBody),
}

/// A route for the organisation's admins.
#[derive(utoipa::IntoResponses)]
pub enum AdminDenied {
    #[response(status = 401, description = "Not signed in")]
    NotSignedIn(ErrorBody),
    #[response(status = 403, description = "Not an admin")]
    NotAnAdmin(ErrorBody),
}

/// A route for platform admins.
#[derive(utoipa::IntoResponses)]
pub enum PlatformDenied {
    #[response(status = 401, description = "Not signed in")]
    NotSignedIn(ErrorBody),
    #[response(status = 403, description = "Not a platform admin")]
    NotAPlatformAdmin(ErrorBody),
}

/// A route for signed-in users whose other refusals are their own.
#[derive(utoipa::IntoResponses)]
#[response(status = 401, description = "Not signed in")]
pub struct NotSignedIn(ErrorBody);

/// A route on one of the caller's machines: another organisation's answers the same.
#[derive(utoipa::IntoResponses)]
#[response(status = 404, description = "No such machine here")]
pub struct NoSuchMachine(ErrorBody);
