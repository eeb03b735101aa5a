//! The web dashboard, embedded at build time (see `build.rs`): files served with their
//! precompressed variant when the browser takes it, ETags, long caching for the hashed
//! assets, and every other path answered with `index.html` so the app's own routes work on
//! reload. `/api/…` paths never fall back: an unknown API route stays a JSON 404.

use axum::body::Body;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG,
    IF_NONE_MATCH, REFERRER_POLICY, VARY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::api::ApiError;

pub struct Asset {
    pub path: &'static str,
    pub etag: &'static str,
    pub raw: &'static [u8],
    pub br: Option<&'static [u8]>,
    pub gzip: Option<&'static [u8]>,
}

include!(concat!(env!("OUT_DIR"), "/dashboard.rs"));

/// Scripts and styles only from the server itself; inline styles for the chart library's
/// element sizing; `data:` images for the MFA QR code.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
                   base-uri 'self'; form-action 'self'";

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Optralis</title>\
<p>The dashboard is not part of this build. Build it with <code>npm ci &amp;&amp; npm run build</code> \
in <code>dashboard/</code> and rebuild the server (<code>cargo xtask run</code> does both). \
The API is at <a href=/api/docs>/api/docs</a>.";

/// True when this binary carries the dashboard.
pub fn embedded() -> bool {
    !ASSETS.is_empty()
}

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS
        .binary_search_by(|a| a.path.cmp(path))
        .ok()
        .and_then(|i| ASSETS.get(i))
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json" | "webmanifest") => "application/json",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether `accept` (an Accept-Encoding value) takes `coding` with a non-zero weight.
fn accepts(accept: &str, coding: &str) -> bool {
    accept.split(',').any(|part| {
        let mut fields = part.split(';').map(str::trim);
        let name = fields.next().unwrap_or_default();
        let q_zero = fields.any(|f| {
            f.strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        name.eq_ignore_ascii_case(coding) && !q_zero
    })
}

fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag
        })
}

/// The router's fallback: dashboard files, the SPA's index for app routes, JSON 404s for
/// the API.
pub async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") {
        return ApiError::NotFound.into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, "method not allowed").into_response();
    }
    if !embedded() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(CONTENT_TYPE, "text/html; charset=utf-8")],
            NOT_BUILT,
        )
            .into_response();
    }
    // A missing file with an extension is a real 404 (a stale asset), not an app route.
    let (asset, is_index) = match find(path) {
        Some(a) => (a, a.path == "/index.html"),
        None if path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.')) =>
        {
            return (StatusCode::NOT_FOUND, "not found").into_response();
        }
        None => match find("/index.html") {
            Some(a) => (a, true),
            None => return (StatusCode::NOT_FOUND, "not found").into_response(),
        },
    };
    respond(asset, is_index, &method, &headers)
}

fn respond(
    asset: &'static Asset,
    is_index: bool,
    method: &Method,
    headers: &HeaderMap,
) -> Response {
    let cache = if asset.path.starts_with("/assets/") {
        // Vite puts a content hash in these names: they never change.
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut out = HeaderMap::new();
    out.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    out.insert(ETAG, HeaderValue::from_static(asset.etag));
    out.insert(VARY, HeaderValue::from_static("accept-encoding"));
    out.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if is_index {
        out.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
        out.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        out.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    }
    if etag_matches(headers, asset.etag) {
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    out.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(content_type(asset.path)),
    );
    let accept = headers
        .get(ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let body: &'static [u8] = match (asset.br, asset.gzip) {
        (Some(br), _) if accepts(accept, "br") => {
            out.insert(CONTENT_ENCODING, HeaderValue::from_static("br"));
            br
        }
        (_, Some(gz)) if accepts(accept, "gzip") => {
            out.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            gz
        }
        _ => asset.raw,
    };
    if *method == Method::HEAD {
        out.insert(
            axum::http::header::CONTENT_LENGTH,
            HeaderValue::from(body.len()),
        );
        return (StatusCode::OK, out).into_response();
    }
    (StatusCode::OK, out, Body::from(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_weights() {
        assert!(accepts("gzip, deflate, br", "br"));
        assert!(accepts("br;q=0.5", "br"));
        assert!(!accepts("br;q=0, gzip", "br"));
        assert!(!accepts("identity", "gzip"));
        assert!(accepts("GZIP", "gzip"));
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("/index.html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("/assets/x.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("/x"), "application/octet-stream");
    }

    #[test]
    fn assets_are_sorted_for_lookup() {
        assert!(ASSETS.windows(2).all(|w| w[0].path < w[1].path));
    }
}
