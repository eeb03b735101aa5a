//! The one API error type: `{"error": {"code", "message", "field"?}}` with the right status,
//! and nothing internal in the message.

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use optralis_proto::api::{ErrorBody, ErrorDetail};

use crate::store::StoreError;

/// What a 503 asks clients to wait: agents keep their reports meanwhile.
const UNAVAILABLE_RETRY_AFTER_S: u64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("the body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("too many attempts; retry in {retry_after_s} s")]
    TooManyRequests { retry_after_s: u64 },
    /// A limit on what is open at once (not a failed attempt).
    #[error("{message}; retry in {retry_after_s} s")]
    Busy { message: String, retry_after_s: u64 },
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal,
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        ApiError::BadRequest {
            code: "invalid_field",
            message: format!("{field}: {message}"),
            field: Some(field),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden { code, .. } => (StatusCode::FORBIDDEN, code),
            ApiError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
            }
            ApiError::Busy { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_open"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    pub fn detail(&self) -> ErrorDetail {
        let (_, code) = self.status_and_code();
        ErrorDetail {
            code: code.to_owned(),
            message: self.to_string(),
            field: match self {
                ApiError::BadRequest { field, .. } => field.clone(),
                _ => None,
            },
        }
    }

    /// The caller is known but may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::Forbidden {
            code: "forbidden",
            message: message.into(),
        }
    }

    /// Maps a failure to read the request body (too large, bad compression, cut short).
    pub fn from_body(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge("request body is larger than the server accepts".into())
        } else {
            ApiError::bad_request(
                "unreadable_body",
                "request body could not be read (truncated, or not valid for its Content-Encoding)",
            )
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict(m) => ApiError::Conflict(m),
            // Logged once by the store when it starts and ends (see store/writes.rs).
            StoreError::DiskFull(_) => ApiError::Unavailable(
                "the server's disk is full: nothing was stored; retry later".into(),
            ),
            StoreError::Write(_) | StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::Unavailable("the database is unavailable; retry later".into())
            }
            other => {
                tracing::error!(error = %other, "store error");
                ApiError::Internal
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, _) = self.status_and_code();
        let mut response = (
            status,
            Json(ErrorBody {
                error: self.detail(),
            }),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        let retry_after_s = match self {
            ApiError::TooManyRequests { retry_after_s } | ApiError::Busy { retry_after_s, .. } => {
                Some(retry_after_s)
            }
            ApiError::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_S),
            _ => None,
        };
        if let Some(seconds) = retry_after_s {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        response
    }
}

/// Parses a JSON body, naming the offending field on failure.
pub fn parse_json<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() || path == "." {
            ApiError::bad_request(
                "malformed_json",
                format!("body is not the expected JSON: {inner}"),
            )
        } else {
            ApiError::invalid_field(path, inner.to_string())
        }
    })?;
    // Anything after the value (a second object, garbage) is refused, not ignored.
    de.end().map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            format!("body is not the expected JSON: {e}"),
        )
    })?;
    Ok(value)
}
