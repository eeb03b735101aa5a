//! Checks and headers around every request, before and after the handlers:
//! - the session routes (`/api/v1/auth/…`) take JSON from the server's own pages only: a
//!   page on another origin cannot post a form (`text/plain`) that signs the browser in to
//!   another account, or use the refresh cookie;
//! - API answers are never cached or sniffed, the API's documentation cannot be framed, HSTS
//!   when the server is reached over https;
//! - a body refused as too large is answered in JSON like every other error.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState};

const AUTH_PREFIX: &str = "/api/v1/auth/";
const DOCS_PREFIX: &str = "/api/docs";
/// Swagger UI's page: its own scripts and styles (the bundle sets some styles inline), no
/// framing, no other origin.
const DOCS_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
     script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if path.starts_with(AUTH_PREFIX)
        && req.method() == Method::POST
        && let Err(e) = same_origin_json(req.headers(), state.settings.public_url.as_deref())
    {
        return e.into_response();
    }
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    if path.starts_with("/api/") {
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if !path.starts_with(DOCS_PREFIX) && !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    if path.starts_with(DOCS_PREFIX) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DOCS_CSP),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    if state
        .settings
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
    {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json(response.headers()) {
        let mut json =
            ApiError::PayloadTooLarge("request body is larger than the server accepts".into())
                .into_response();
        for (name, value) in response.headers() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                json.headers_mut().insert(name.clone(), value.clone());
            }
        }
        return json;
    }
    response
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// A session request must come from the dashboard's origin (or from no browser at all) and,
/// when it has a body, carry JSON: the two things a cross-site form cannot fake.
fn same_origin_json(headers: &HeaderMap, public_url: Option<&str>) -> Result<(), ApiError> {
    let refused = |message: &str| ApiError::Forbidden {
        code: "cross_origin",
        message: message.to_owned(),
    };
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err(refused(
            "sign-in requests are accepted from the dashboard's own pages only",
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
        && !origin_is_ours(origin, headers, public_url)
    {
        return Err(refused(
            "sign-in requests are accepted from the dashboard's own origin only",
        ));
    }
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v != "0");
    if has_body && !is_json(headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    Ok(())
}

/// `Origin` names this server: the host the request was sent to, or the public URL.
fn origin_is_ours(origin: &str, headers: &HeaderMap, public_url: Option<&str>) -> bool {
    let origin_host = origin
        .split_once("://")
        .map_or(origin, |(_, rest)| rest)
        .trim_end_matches('/');
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let public_host = public_url
        .and_then(|u| u.split_once("://"))
        .map(|(_, rest)| rest.split('/').next().unwrap_or(rest));
    host.is_some_and(|h| h.eq_ignore_ascii_case(origin_host))
        || public_host.is_some_and(|h| h.eq_ignore_ascii_case(origin_host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                *k,
                HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")),
            );
        }
        h
    }

    #[test]
    fn session_requests_must_be_same_origin_json() {
        let json = ("content-type", "application/json");
        let host = ("host", "mon.example.com");
        let body = ("content-length", "40");
        assert!(
            same_origin_json(&headers(&[json, body, host]), None).is_ok(),
            "curl"
        );
        assert!(
            same_origin_json(&headers(&[host]), None).is_ok(),
            "a refresh: no body"
        );
        assert!(
            same_origin_json(
                &headers(&[
                    json,
                    host,
                    ("origin", "https://mon.example.com"),
                    ("sec-fetch-site", "same-origin")
                ]),
                None
            )
            .is_ok(),
            "the dashboard"
        );
        assert!(
            same_origin_json(
                &headers(&[json, host, ("origin", "https://evil.example")]),
                None
            )
            .is_err()
        );
        assert!(
            same_origin_json(
                &headers(&[json, host, ("sec-fetch-site", "cross-site")]),
                None
            )
            .is_err()
        );
        assert!(
            same_origin_json(
                &headers(&[("content-type", "text/plain"), body, host]),
                None
            )
            .is_err(),
            "a form post"
        );
        assert!(
            same_origin_json(
                &headers(&[
                    json,
                    ("host", "10.0.0.5:8080"),
                    ("origin", "https://mon.example.com")
                ]),
                Some("https://mon.example.com")
            )
            .is_ok(),
            "behind a proxy that rewrites Host"
        );
    }
}
