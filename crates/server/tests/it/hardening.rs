//! The smaller doors: sign-in only as same-origin JSON, security headers on API answers and
//! the API's documentation, JSON errors for oversized bodies, trailing garbage after a JSON
//! body refused, sequence numbers that would not fit the database refused, and the client's
//! address in the audit log of admin actions.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::json;

use crate::support::{Backend, PASSWORD, TestApp, both_backends};

both_backends!(requests_are_checked_and_answers_hardened);

async fn requests_are_checked_and_answers_hardened(backend: Backend) {
    let mut app = TestApp::new(backend).await;
    let mut settings = (*app.state.settings).clone();
    settings.public_url = Some("https://mon.example.com".into());
    settings.trust_forwarded_for = true;
    app.state.settings = Arc::new(settings);
    app.user(
        "a@example.com",
        &app.org,
        optralis::principal::Role::Admin,
        false,
    )
    .await;
    let login = json!({"email": "a@example.com", "password": PASSWORD}).to_string();
    let post_login = |content_type: &'static str, headers: Vec<(&'static str, &'static str)>| {
        let (app, body) = (&app, login.clone());
        async move {
            let mut req = axum::http::Request::post("/api/v1/auth/login")
                .header("content-type", content_type)
                .header("content-length", body.len())
                .header("host", "mon.example.com");
            for (k, v) in headers {
                req = req.header(k, v);
            }
            app.call_full(req.body(axum::body::Body::from(body)).unwrap())
                .await
        }
    };

    // A page on another origin posting a form, or even JSON: refused.
    let r = post_login("text/plain", vec![("origin", "https://evil.example")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = post_login("text/plain", vec![]).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.body);
    let r = post_login("application/json", vec![("sec-fetch-site", "cross-site")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // The dashboard itself, and a script without a browser.
    let r = post_login(
        "application/json",
        vec![
            ("origin", "https://mon.example.com"),
            ("sec-fetch-site", "same-origin"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = post_login("application/json", vec![]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("cache-control", "no-store"),
        ("strict-transport-security", "max-age=31536000"),
    ] {
        assert_eq!(r.headers.get(name).unwrap(), value, "{name}");
    }
    let docs = app.req("GET", "/api/docs/").send().await;
    assert!(
        docs.headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(docs.headers.get("x-frame-options").unwrap(), "DENY");

    // Oversized: JSON like every other error.
    let big = vec![b' '; 3 * 1024 * 1024];
    let r = app
        .call_full(
            axum::http::Request::post("/api/v1/silences")
                .header("authorization", format!("Bearer {}", app.admin_token))
                .header("content-type", "application/json")
                .body(axum::body::Body::from(big))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.body["error"]["code"], "payload_too_large", "{}", r.body);

    // Trailing garbage after the JSON value.
    let r = app
        .call_full(
            axum::http::Request::post("/api/v1/groups")
                .header("authorization", format!("Bearer {}", app.admin_token))
                .header("content-type", "application/json")
                .header("x-forwarded-for", "203.0.113.7")
                .body(axum::body::Body::from(
                    r##"{"name": "web", "color": "#3b82f6"} {"name": "db"}"##,
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "malformed_json");

    // A sequence number past i64 would be stored as a negative one.
    let (_, token) = app.enroll("big-seq").await;
    let mut report = serde_json::to_value(optralis_proto::sample::report(1, app.now())).unwrap();
    report["seq"] = json!(1u64 << 63);
    let r = app
        .req("POST", "/api/v1/agent/reports")
        .token(&token)
        .json(&json!({"reports": [report]}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["rejected"][0]["field"], "reports[0].seq");

    // The audit log names the address an admin acted from.
    let r = app
        .req("POST", "/api/v1/groups")
        .token(&app.admin_token)
        .json(&json!({"name": "audited", "color": "#3b82f6"}))
        .header("x-forwarded-for", "203.0.113.7")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let (_, audit) = app.get("/api/v1/audit", Some(&app.admin_token)).await;
    let created = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "group.created")
        .unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(created["ip"], "203.0.113.7");
}
