//! The query API on both backends: machines, series, the catalog, errors (tenant isolation
//! is in isolation.rs).

use axum::http::StatusCode;
use optralis_proto::sample;
use serde_json::json;

use crate::support::{Backend, TestApp, both_backends};

both_backends!(machines_and_series_are_served, query_errors_are_clear);

async fn ingest(app: &TestApp, token: &str, n: u64) {
    let agent = app.agent(token).await;
    let reports: Vec<_> = (1..=n)
        .map(|s| sample::report(s, app.now() - (n - s) as i64 * 60_000))
        .collect();
    app.store.ingest_reports(&agent, &reports).await.unwrap();
}

async fn machines_and_series_are_served(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (id, token) = app.enroll("web-1").await;
    ingest(&app, &token, 5).await;

    let (status, body) = app.get("/api/v1/machines", Some(&app.observer_token)).await;
    assert_eq!(status, StatusCode::OK);
    let m = &body["machines"][0];
    assert_eq!(m["id"], json!(id));
    assert_eq!(m["hostname"], "web-1");
    assert_eq!(m["last_seen_ms"], json!(app.now()));
    assert!(m["latest"]["cpu_percent"].as_f64().unwrap() > 0.0);
    assert!(m["latest"]["memory_used_percent"].as_f64().unwrap() > 0.0);

    let (status, one) = app
        .get(&format!("/api/v1/machines/{id}"), Some(&app.admin_token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["facts"]["os_name"], "Debian GNU/Linux");

    for (metric, instance) in [
        ("cpu.percent", ""),
        ("memory.used_percent", ""),
        ("filesystem.used_percent", "/var"),
        ("disk.write_bytes_per_s", "sda"),
        ("network.rx_bytes_per_s", "eth1"),
    ] {
        let url = format!("/api/v1/machines/{id}/series?metric={metric}&instance={instance}");
        let (status, s) = app.get(&url, Some(&app.observer_token)).await;
        assert_eq!(status, StatusCode::OK, "{metric}: {s}");
        assert_eq!(s["points"].as_array().unwrap().len(), 5, "{metric}: {s}");
        let first = &s["points"][0];
        assert!(
            first[0].is_i64() && first[1].is_f64(),
            "[ts, value] pairs: {s}"
        );
    }

    let (status, catalog) = app.get("/api/v1/metrics", Some(&app.observer_token)).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = catalog["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"cpu.percent") && names.contains(&"memory.used_percent"));

    let (status, health) = app.get("/api/v1/health", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        health["database"],
        if backend == Backend::Sqlite {
            "sqlite"
        } else {
            "postgres"
        }
    );
}

async fn query_errors_are_clear(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (id, _) = app.enroll("web-1").await;
    let t = Some(app.admin_token.as_str());
    let base = format!("/api/v1/machines/{id}/series");
    let cases: &[(&str, StatusCode, &str)] = &[
        ("", StatusCode::BAD_REQUEST, "metric"),
        ("?metric=nope", StatusCode::BAD_REQUEST, "metric"),
        (
            "?metric=filesystem.used_percent",
            StatusCode::BAD_REQUEST,
            "instance",
        ),
        (
            "?metric=cpu.percent&instance=sda",
            StatusCode::BAD_REQUEST,
            "instance",
        ),
        (
            "?metric=cpu.percent&from=10&to=5",
            StatusCode::BAD_REQUEST,
            "from",
        ),
        (
            "?metric=cpu.percent&step=0",
            StatusCode::BAD_REQUEST,
            "step",
        ),
        (
            "?metric=cpu.percent&from=yesterday",
            StatusCode::BAD_REQUEST,
            "",
        ),
    ];
    for (query, status, field) in cases {
        let (got, body) = app.get(&format!("{base}{query}"), t).await;
        assert_eq!(got, *status, "{query}: {body}");
        if !field.is_empty() {
            assert_eq!(body["error"]["field"], *field, "{query}: {body}");
        }
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    // Extreme bounds are refused, not overflowed (found by schemathesis).
    for url in [
        format!("{base}?metric=cpu.percent&to=-9223372036854775808"),
        format!("/api/v1/machines/{id}/disks/sda/history?to=-9223372036854775808"),
    ] {
        let (status, body) = app.get(&url, t).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
    }
    let (status, body) = app.get("/api/v1/machines/not-a-machine", t).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, _) = app.get("/api/v1/no/such/route", t).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
