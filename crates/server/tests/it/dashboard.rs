//! The embedded dashboard: files with their compressed variants and cache headers, the app's
//! routes answered with index.html, and API paths never swallowed by the fallback.

use axum::body::Body;
use axum::http::{Request, StatusCode};

use crate::support::{Backend, TestApp};

fn get(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut req = Request::get(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.body(Body::empty()).unwrap()
}

fn header<'a>(r: &'a crate::support::Resp, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn api_paths_stay_json_404s() {
    let app = TestApp::new(Backend::Sqlite).await;
    for path in ["/api/v1/nope", "/api/nothing", "/api"] {
        let (status, body) = app.call(get(path, &[])).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
}

#[tokio::test]
async fn dashboard_is_served_with_spa_fallback_compression_and_caching() {
    let app = TestApp::new(Backend::Sqlite).await;
    if !optralis::dashboard::embedded() {
        // A build without `npm run build`: the page says how to get one. CI always builds it.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must build the dashboard before the server (cargo xtask test does)"
        );
        let r = app.call_full(get("/", &[])).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.body.as_str().unwrap().contains("npm run build"));
        return;
    }

    let index = app.call_full(get("/", &[])).await;
    assert_eq!(index.status, StatusCode::OK);
    assert_eq!(header(&index, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&index, "cache-control"), "no-cache");
    assert!(header(&index, "content-security-policy").contains("script-src 'self'"));
    let html = index.body.as_str().unwrap().to_owned();
    assert!(html.contains("<div id=\"root\">"), "{html}");

    // An app route on reload gets the same page; a missing asset does not.
    let deep = app.call_full(get("/machines/abc?x=1", &[])).await;
    assert_eq!(deep.status, StatusCode::OK);
    assert_eq!(deep.body.as_str().unwrap(), html);
    let missing = app.call_full(get("/assets/missing-0000.js", &[])).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // The entry script: hashed name, cached for good, sent compressed when accepted.
    let script = html
        .split('"')
        .find(|s| s.starts_with("/assets/") && s.ends_with(".js"))
        .expect("index.html names its script");
    let plain = app.call_full(get(script, &[])).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(header(&plain, "content-encoding"), "");
    assert!(header(&plain, "cache-control").contains("immutable"));
    assert!(header(&plain, "content-type").starts_with("text/javascript"));
    let br = app
        .call_full(get(script, &[("accept-encoding", "gzip, deflate, br")]))
        .await;
    assert_eq!(header(&br, "content-encoding"), "br");
    let gz = app
        .call_full(get(script, &[("accept-encoding", "gzip")]))
        .await;
    assert_eq!(header(&gz, "content-encoding"), "gzip");
    assert_eq!(header(&gz, "vary"), "accept-encoding");

    // Revalidation: the same ETag answers 304 with no body.
    let etag = header(&plain, "etag").to_owned();
    assert!(etag.starts_with('"'), "{etag}");
    let again = app
        .call_full(get(script, &[("if-none-match", &etag)]))
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.body, serde_json::Value::Null);

    // Writes to app routes are not pages.
    let post = app
        .call_full(Request::post("/machines").body(Body::empty()).unwrap())
        .await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
}
