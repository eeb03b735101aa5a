//! The OpenAPI document: complete (every operation described, with its errors and security),
//! served, and identical to the committed docs/openapi.json.

use axum::http::StatusCode;
use serde_json::Value;

use crate::support::{Backend, TestApp};

fn spec() -> Value {
    serde_json::to_value(optralis::api::openapi::spec()).unwrap()
}

const PUBLIC: &[&str] = &[
    "GET /api/v1/health",
    "GET /api/v1/metrics",
    "POST /api/v1/agent/enroll",
    "POST /api/v1/auth/login",
    "POST /api/v1/auth/mfa",
    "POST /api/v1/auth/refresh",
    "POST /api/v1/auth/logout",
    "POST /api/v1/auth/password",
];

#[test]
fn every_operation_is_documented() {
    let spec = spec();
    let mut problems = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let name = format!("{} {path}", method.to_uppercase());
            if op["summary"].as_str().is_none_or(str::is_empty) {
                problems.push(format!("{name}: no summary (doc comment)"));
            }
            if op["tags"].as_array().is_none_or(Vec::is_empty) {
                problems.push(format!("{name}: no tag"));
            }
            let responses = op["responses"].as_object().unwrap();
            if !responses.keys().any(|s| s.starts_with('2')) {
                problems.push(format!("{name}: no success response"));
            }
            let secured = op.get("security").is_some();
            if PUBLIC.contains(&name.as_str()) {
                continue;
            }
            if !secured {
                problems.push(format!("{name}: no security requirement"));
            }
            if !responses.contains_key("401") {
                problems.push(format!("{name}: 401 not documented"));
            }
            if path.contains('{')
                && !path.starts_with("/api/v1/agent")
                && !responses.contains_key("404")
            {
                problems.push(format!("{name}: 404 not documented"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Clients generate one function or type per operation id: two operations with one id make
/// one of them wrong (openapi-typescript keeps the first).
#[test]
fn operation_ids_are_unique() {
    let spec = spec();
    let mut seen = std::collections::HashMap::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            let name = format!("{} {path}", method.to_uppercase());
            if let Some(other) = seen.insert(id.clone(), name.clone()) {
                panic!("operation id {id:?} is used by {other} and {name}");
            }
        }
    }
}

/// Regenerate with `OPTRALIS_UPDATE_OPENAPI=1 cargo nextest run -p optralis openapi`
/// (or `cargo run -p optralis -- openapi > docs/openapi.json`).
#[test]
fn committed_document_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let generated = format!("{}\n", serde_json::to_string_pretty(&spec()).unwrap());
    if std::env::var_os("OPTRALIS_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json differs from the API in the code; regenerate it with \
         `OPTRALIS_UPDATE_OPENAPI=1 cargo nextest run -p optralis openapi` and commit it"
    );
}

#[tokio::test]
async fn document_and_docs_page_are_served() {
    let app = TestApp::new(Backend::Sqlite).await;
    let (status, served) = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(served, spec());
    let r = app
        .call_full(
            axum::http::Request::get("/api/docs/")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}
