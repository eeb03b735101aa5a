//! `POST /api/v1/agent/*` on both backends: compression, limits, validation that names the
//! field, partial acceptance, idempotence, clock skew, the interval directive.

use std::io::Write;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use optralis_proto::agent::Report;
use optralis_proto::sample;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, both_backends};

both_backends!(
    gzip_and_zstd_bodies_are_accepted,
    oversized_and_bomb_bodies_get_413,
    malformed_batches_get_400,
    bad_fields_are_named_and_good_reports_kept,
    replayed_batches_are_acknowledged_not_duplicated,
    clock_skew_is_corrected,
    reply_sets_the_interval,
    credentials_are_checked,
);

fn batch(reports: &[Report], sent_at_ms: Option<i64>) -> Value {
    json!({"sent_at_ms": sent_at_ms, "reports": reports})
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

async fn post_reports(
    app: &TestApp,
    token: &str,
    body: Vec<u8>,
    encoding: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = Request::post("/api/v1/agent/reports")
        .header("Content-Type", "application/json")
        .header("Authorization", format!("Bearer {token}"));
    if let Some(e) = encoding {
        req = req.header("Content-Encoding", e);
    }
    app.call(req.body(Body::from(body)).unwrap()).await
}

async fn send(app: &TestApp, token: &str, body: &Value) -> (StatusCode, Value) {
    post_reports(
        app,
        token,
        gzip(&serde_json::to_vec(body).unwrap()),
        Some("gzip"),
    )
    .await
}

async fn stored_points(app: &TestApp, id: &str) -> usize {
    let (status, body) = app
        .get(
            &format!(
                "/api/v1/machines/{id}/series?metric=cpu.percent&from={}&to={}",
                app.now() - 3 * 3_600_000,
                app.now() + 600_000
            ),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["points"].as_array().unwrap().len()
}

async fn gzip_and_zstd_bodies_are_accepted(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (id, token) = app.enroll("enc-1").await;
    let now = app.now();
    let json = serde_json::to_vec(&batch(&[sample::report(1, now)], None)).unwrap();
    let (status, body) = post_reports(&app, &token, gzip(&json), Some("gzip")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["accepted"], json!([1]));
    let json = serde_json::to_vec(&batch(&[sample::report(2, now)], None)).unwrap();
    let (status, body) = post_reports(
        &app,
        &token,
        zstd::encode_all(&json[..], 3).unwrap(),
        Some("zstd"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json = serde_json::to_vec(&batch(&[sample::report(3, now)], None)).unwrap();
    let (status, _) = post_reports(&app, &token, json, None).await;
    assert_eq!(status, StatusCode::OK, "uncompressed bodies are fine too");
    assert_eq!(stored_points(&app, &id).await, 3);
    // A body that claims gzip but is not is refused without storing anything.
    let (status, body) =
        post_reports(&app, &token, b"definitely not gzip".to_vec(), Some("gzip")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "unreadable_body");
}

async fn oversized_and_bomb_bodies_get_413(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, token) = app.enroll("big-1").await;
    // 9 MiB of JSON whitespace: over the 8 MiB limit once decompressed, tiny on the wire.
    let mut bomb = b"{\"reports\":[".to_vec();
    bomb.extend(std::iter::repeat_n(b' ', 9 * 1024 * 1024));
    bomb.extend(b"]}");
    let wire = gzip(&bomb);
    assert!(wire.len() < 100_000);
    let (status, body) = post_reports(&app, &token, wire, Some("gzip")).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");
    // Too many reports in one batch.
    let reports: Vec<_> = (1..=501).map(|s| sample::report(s, app.now())).collect();
    let (status, _) = send(&app, &token, &batch(&reports, None)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

async fn malformed_batches_get_400(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (id, token) = app.enroll("bad-1").await;
    let (status, body) = post_reports(&app, &token, gzip(b"{not json"), Some("gzip")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "malformed_json");
    let (status, body) = send(&app, &token, &json!({"reports": 5})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "reports");
    assert_eq!(stored_points(&app, &id).await, 0);
}

async fn bad_fields_are_named_and_good_reports_kept(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (id, token) = app.enroll("val-1").await;
    let now = app.now();
    let good = |s: u64| serde_json::to_value(sample::report(s, now - 60_000 * s as i64)).unwrap();
    let with = |s, path: &[&str], v: Value| {
        let mut r = good(s);
        let mut at = &mut r;
        for p in &path[..path.len() - 1] {
            at = if let Ok(i) = p.parse::<usize>() {
                &mut at[i]
            } else {
                &mut at[*p]
            };
        }
        at[path[path.len() - 1]] = v;
        r
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            with(2, &["cpu", "percent"], json!(150.0)),
            "reports[1].cpu.percent",
        ),
        (
            with(2, &["cpu", "percent"], Value::Null),
            "reports[1].cpu.percent",
        ),
        (
            with(2, &["memory", "total_bytes"], json!(-5)),
            "reports[1].memory.total_bytes",
        ),
        (
            with(2, &["memory", "used_bytes"], json!(u64::MAX)),
            "reports[1].memory.used_bytes",
        ),
        (
            with(2, &["filesystems", "0", "free_bytes"], json!(-1)),
            "reports[1].filesystems[0].free_bytes",
        ),
        (
            with(2, &["disks", "1", "busy_percent"], json!(-0.5)),
            "reports[1].disks[1].busy_percent",
        ),
        (
            with(2, &["networks", "0", "rx_bytes_per_s"], json!(1e300)),
            "reports[1].networks[0].rx_bytes_per_s",
        ),
        (
            with(2, &["ts_ms"], json!(now + 3_600_000)),
            "reports[1].ts_ms",
        ),
        (
            with(2, &["ts_ms"], json!(now - 30 * 86_400_000i64)),
            "reports[1].ts_ms",
        ),
        (
            with(2, &["cpu_temp_c"], json!(900)),
            "reports[1].cpu_temp_c",
        ),
        (with(2, &["seq"], json!(0)), "reports[1].seq"),
        (
            with(2, &["filesystems", "1", "mount"], json!("/")),
            "reports[1].filesystems[1]",
        ),
    ];
    for (i, (bad, field)) in cases.into_iter().enumerate() {
        let base = 10 * i as u64;
        let reports = json!([good(base + 1), bad.clone(), good(base + 3)]);
        // The middle report gets its own seq so each case is new to the store.
        let mut reports = reports;
        reports[1]["seq"] = if field.ends_with(".seq") {
            json!(0)
        } else {
            json!(base + 2)
        };
        reports[0]["seq"] = json!(base + 1);
        reports[2]["seq"] = json!(base + 3);
        let (status, body) = send(&app, &token, &json!({"reports": reports})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {body}");
        assert_eq!(body["error"]["field"], field, "{body}");
        assert_eq!(
            body["accepted"],
            json!([base + 1, base + 3]),
            "{field}: {body}"
        );
        assert_eq!(body["rejected"][0]["index"], 1);
    }
    assert_eq!(
        stored_points(&app, &id).await,
        24,
        "the good reports of every batch are stored"
    );
}

async fn replayed_batches_are_acknowledged_not_duplicated(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (id, token) = app.enroll("replay-1").await;
    let reports: Vec<_> = (1..=10)
        .map(|s| sample::report(s, app.now() - (10 - s as i64) * 1000))
        .collect();
    let b = batch(&reports, None);
    for _ in 0..3 {
        let (status, body) = send(&app, &token, &b).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["accepted"].as_array().unwrap().len(), 10);
    }
    assert_eq!(stored_points(&app, &id).await, 10);
}

async fn clock_skew_is_corrected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (id, token) = app.enroll("skew-1").await;
    // The agent's clock is an hour fast: its reports look like they come from the future.
    let agent_now = app.now() + 3_600_000;
    let (status, body) = send(
        &app,
        &token,
        &batch(&[sample::report(1, agent_now - 1000)], Some(agent_now)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, m) = app
        .get(&format!("/api/v1/machines/{id}"), Some(&app.admin_token))
        .await;
    assert_eq!(
        m["latest"]["ts_ms"],
        json!(app.now() - 1000),
        "moved onto the server's clock"
    );
}

async fn reply_sets_the_interval(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, token) = app.enroll("busy-1").await;
    let mut calm = sample::report(1, app.now());
    calm.cpu.percent = 10.0;
    let (_, body) = send(&app, &token, &batch(&[calm], None)).await;
    assert_eq!(body["next_interval_s"], 60);
    let mut busy = sample::report(2, app.now());
    busy.cpu.percent = 97.0;
    let (_, body) = send(&app, &token, &batch(&[busy], None)).await;
    assert_eq!(body["next_interval_s"], 30);
}

async fn credentials_are_checked(backend: Backend) {
    let app = TestApp::new(backend).await;
    let b = batch(&[sample::report(1, app.now())], None);
    let (status, body) = send(&app, "omt_wrong", &b).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
    // An API token is not a machine token.
    let (status, _) = send(&app, &app.admin_token.clone(), &b).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = app
        .post_json("/api/v1/agent/enroll", None, &json!({"enroll_key": "oek_nope", "fingerprint": "0123456789abcdef0123", "facts": crate::support::facts("x")}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = app
        .post_json("/api/v1/agent/enroll", None, &json!({"enroll_key": app.enroll_key, "fingerprint": "short", "facts": crate::support::facts("x")}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "fingerprint");
    let (status, body) = app
        .post_json(
            "/api/v1/agent/enroll",
            None,
            &json!({"enroll_key": app.enroll_key, "fingerprint": "0123456789abcdef0123"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}
