//! The query API on both backends: machines, series, the catalog, errors, and the
//! tenant-isolation matrix over every route.

use axum::http::StatusCode;
use optralis::store::Role;
use optralis_proto::sample;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, both_backends};

both_backends!(
    machines_and_series_are_served,
    query_errors_are_clear,
    isolation_matrix
);

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
    let (status, body) = app.get("/api/v1/machines/not-a-machine", t).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, _) = app.get("/api/v1/no/such/route", t).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Every route × every kind of caller × own or another organisation's resource. Another
/// organisation's machine must answer exactly like a machine that does not exist.
async fn isolation_matrix(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (own, token) = app.enroll("own-1").await;
    ingest(&app, &token, 2).await;
    let globex = app.store.create_org("globex").await.unwrap();
    let (_, globex_admin) = app
        .store
        .create_api_token(&globex, "a", Role::Admin)
        .await
        .unwrap();
    let theirs = app
        .store
        .enroll(
            &globex,
            "globex-fingerprint-0001",
            &crate::support::facts("globex-1"),
        )
        .await
        .unwrap();
    let theirs = theirs.machine_id.to_string();

    let callers: [(&str, Option<&str>); 4] = [
        ("anonymous", None),
        ("observer", Some(&app.observer_token)),
        ("admin", Some(&app.admin_token)),
        ("other org admin", Some(&globex_admin)),
    ];
    let routes = [
        "/api/v1/machines/{id}",
        "/api/v1/machines/{id}/series?metric=cpu.percent",
    ];
    let missing = "00000000-0000-0000-0000-000000000000";
    for route in routes {
        for (who, token) in callers {
            for (whose, id) in [("own", own.as_str()), ("other", theirs.as_str())] {
                let (status, body) = app.get(&route.replace("{id}", id), token).await;
                let visible = match who {
                    "anonymous" => None,
                    "other org admin" => Some(whose == "other"),
                    _ => Some(whose == "own"),
                };
                match visible {
                    None => assert_eq!(status, StatusCode::UNAUTHORIZED, "{route} {who} {whose}"),
                    Some(true) => {
                        assert_eq!(status, StatusCode::OK, "{route} {who} {whose}: {body}")
                    }
                    Some(false) => {
                        let (missing_status, missing_body) =
                            app.get(&route.replace("{id}", missing), token).await;
                        assert_eq!(status, StatusCode::NOT_FOUND, "{route} {who} {whose}");
                        assert_eq!(
                            (status, &body),
                            (missing_status, &missing_body),
                            "{route} {who} {whose}: indistinguishable from missing"
                        );
                    }
                }
            }
        }
    }
    // The list shows each caller its own organisation's machines only.
    for (token, expected) in [
        (&app.admin_token, own.as_str()),
        (&globex_admin, theirs.as_str()),
    ] {
        let (_, body) = app.get("/api/v1/machines", Some(token)).await;
        let ids: Vec<&Value> = body["machines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| &m["id"])
            .collect();
        assert_eq!(ids, vec![&json!(expected)]);
    }
    let (status, _) = app.get("/api/v1/machines", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
