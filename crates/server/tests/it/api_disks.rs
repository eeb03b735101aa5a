//! Disk health through the API, on both backends: readings carried by reports become disks
//! with server-computed verdicts and a history; no smartctl is a state; isolation holds.

use axum::http::StatusCode;
use optralis::principal::Role;
use optralis_agent::smart::parse_device;
use optralis_proto::sample;
use optralis_proto::smart::SmartSnapshot;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, both_backends};

both_backends!(
    disks_get_verdicts_and_history,
    smart_unavailable_is_shown,
    disks_are_isolated,
    acknowledged_warnings_stop_weighing_until_they_worsen,
);

pub(crate) fn fixture(name: &str) -> optralis_proto::smart::SmartDevice {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../agent/tests/fixtures/smartctl")
        .join(name);
    parse_device(&std::fs::read(path).unwrap()).unwrap()
}

pub(crate) async fn send_smart(
    app: &TestApp,
    token: &str,
    seq: u64,
    ts: i64,
    snapshot: SmartSnapshot,
) {
    let agent = app.agent(token).await;
    let mut r = sample::report(seq, ts);
    r.smart = Some(snapshot);
    app.store.ingest_reports(&agent, &[r]).await.unwrap();
}

async fn disks_get_verdicts_and_history(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (id, token) = app.enroll("nas-1").await;
    let (status, body) = app
        .get(
            &format!("/api/v1/machines/{id}/disks"),
            Some(&app.observer_token),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"state": "unknown", "disks": []}));

    let t0 = app.now() - 3_600_000;
    let hdd = fixture("ata-pending.json");
    let mut spare = fixture("nvme-spare.json");
    let snapshot = SmartSnapshot {
        unavailable: None,
        devices: vec![hdd.clone(), spare.clone()],
        errors: vec![],
    };
    send_smart(&app, &token, 1, t0, snapshot.clone()).await;
    // A replay stores nothing twice.
    send_smart(&app, &token, 1, t0, snapshot).await;

    let (_, body) = app
        .get(
            &format!("/api/v1/machines/{id}/disks"),
            Some(&app.observer_token),
        )
        .await;
    assert_eq!(body["state"], "available");
    let disks = body["disks"].as_array().unwrap();
    assert_eq!(disks.len(), 2);
    let by_key = |k: &str| disks.iter().find(|d| d["key"] == k).unwrap().clone();
    let h = by_key("ZFN0TEST");
    assert_eq!(h["verdict"], "warning");
    assert!(
        h["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains("Current_Pending_Sector"))
    );
    assert_eq!(h["device"]["model"], "ST4000DM004-2CV104");
    // Failing when first seen: the verdict is there at once.
    assert_eq!(by_key("SPARE0001")["verdict"], "failing");

    // Half an hour later the spare has been replaced by a healthy reading.
    spare.smart_passed = Some(true);
    spare.exit_status.raw = 0;
    spare.nvme.as_mut().unwrap().critical_warning = 0;
    spare.nvme.as_mut().unwrap().available_spare = 100;
    let snapshot = SmartSnapshot {
        unavailable: None,
        devices: vec![hdd, spare],
        errors: vec![],
    };
    send_smart(&app, &token, 2, t0 + 1_800_000, snapshot).await;
    let (_, body) = app
        .get(
            &format!("/api/v1/machines/{id}/disks"),
            Some(&app.observer_token),
        )
        .await;
    let spare_now = body["disks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["key"] == "SPARE0001")
        .unwrap()
        .clone();
    assert_eq!(spare_now["verdict"], "ok");

    let (status, hist) = app
        .get(
            &format!("/api/v1/machines/{id}/disks/SPARE0001/history"),
            Some(&app.observer_token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{hist}");
    let points = hist["points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    assert_eq!(
        (points[0]["verdict"].clone(), points[1]["verdict"].clone()),
        (json!("failing"), json!("ok"))
    );
    let (_, hist) = app
        .get(
            &format!("/api/v1/machines/{id}/disks/ZFN0TEST/history"),
            Some(&app.observer_token),
        )
        .await;
    assert_eq!(hist["points"][0]["pending"], 16.0);
    assert_eq!(hist["points"][0]["temperature_c"], 38.0);

    let (status, _) = app
        .get(
            &format!("/api/v1/machines/{id}/disks/NOSUCHDISK/history"),
            Some(&app.observer_token),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn smart_unavailable_is_shown(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (id, token) = app.enroll("vm-1").await;
    let snapshot = SmartSnapshot {
        unavailable: Some("smartctl not found".into()),
        devices: vec![],
        errors: vec![],
    };
    send_smart(&app, &token, 1, app.now(), snapshot).await;
    let (_, body) = app
        .get(
            &format!("/api/v1/machines/{id}/disks"),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(body["state"], "unavailable");
    assert_eq!(body["reason"], "smartctl not found");
}

async fn disks_are_isolated(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (id, token) = app.enroll("own-1").await;
    let snapshot = SmartSnapshot {
        unavailable: None,
        devices: vec![fixture("ata-pending.json")],
        errors: vec![],
    };
    send_smart(&app, &token, 1, app.now(), snapshot).await;
    let globex = app.store.create_org("globex").await.unwrap();
    let (_, other) = app
        .store
        .create_api_token(&globex, "a", Role::Observer)
        .await
        .unwrap();
    for path in [
        format!("/api/v1/machines/{id}/disks"),
        format!("/api/v1/machines/{id}/disks/ZFN0TEST/history"),
    ] {
        let (status, body) = app.get(&path, Some(&other)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        let missing = path.replace(&id, "00000000-0000-0000-0000-000000000000");
        assert_eq!(
            app.get(&missing, Some(&other)).await,
            (status, body),
            "{path}: same as a missing machine"
        );
        let (status, _) = app.get(&path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _) = app.get(&path, Some(&app.observer_token)).await;
        assert_eq!(status, StatusCode::OK);
    }
}

async fn report_smart(
    app: &TestApp,
    token: &str,
    seq: u64,
    device: optralis_proto::smart::SmartDevice,
) {
    let mut r = sample::report(seq, app.now());
    r.smart = Some(SmartSnapshot {
        unavailable: None,
        devices: vec![device],
        errors: vec![],
    });
    let body = json!({"sent_at_ms": app.now(), "reports": [r]});
    let resp = app
        .req("POST", "/api/v1/agent/reports")
        .token(token)
        .json(&body)
        .send()
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.body);
}

async fn health(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/v1/machines/{id}"), Some(&app.admin_token))
        .await
        .1["health"]
        .clone()
}

async fn acknowledged_warnings_stop_weighing_until_they_worsen(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (id, token) = app.enroll("nas-2").await;
    let mut disk = fixture("ata-pending.json");
    report_smart(&app, &token, 1, disk.clone()).await;
    let h = health(&app, &id).await;
    assert_eq!(h["score"], 85, "{h}");
    assert!(
        h["reasons"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("warning (S.M.A.R.T.)")
    );

    let path = format!("/api/v1/machines/{id}/disks/ZFN0TEST/acknowledgement");
    let r = app
        .req("POST", &path)
        .token(&app.observer_token)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.req("POST", &path).token(&app.admin_token).send().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let d = &r.body["disks"][0];
    assert_eq!(
        (d["verdict"].as_str(), d["acknowledged"].as_bool()),
        (Some("warning"), Some(true))
    );

    // Still shown, no longer counted.
    app.clock.advance_ms(60_000);
    let body = json!({"sent_at_ms": app.now(), "reports": [sample::report(2, app.now())]});
    app.req("POST", "/api/v1/agent/reports")
        .token(&token)
        .json(&body)
        .send()
        .await;
    assert_eq!(
        health(&app, &id).await,
        json!({"score": 100, "reasons": []})
    );
    app.clock.advance_ms(60_000);
    report_smart(&app, &token, 3, disk.clone()).await;
    assert_eq!(
        health(&app, &id).await["score"],
        100,
        "the same warning stays acknowledged"
    );

    // Worse: more pending sectors. It counts again and is no longer acknowledged.
    for a in &mut disk.ata_attributes {
        if a.id == 197 {
            a.raw += 8;
        }
    }
    app.clock.advance_ms(60_000);
    report_smart(&app, &token, 4, disk.clone()).await;
    assert_eq!(health(&app, &id).await["score"], 85);
    let (_, disks) = app
        .get(
            &format!("/api/v1/machines/{id}/disks"),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(disks["disks"][0]["acknowledged"], false);
    let reasons = disks["disks"][0]["reasons"].to_string();
    assert!(
        reasons.contains("Current_Pending_Sector (197) rising: "),
        "growth since the previous reading is named: {reasons}"
    );

    // Withdrawn explicitly; a failing disk cannot be acknowledged.
    let r = app
        .req("DELETE", &path)
        .token(&app.admin_token)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let mut failing = disk.clone();
    failing.smart_passed = Some(false);
    app.clock.advance_ms(60_000);
    report_smart(&app, &token, 5, failing).await;
    let r = app.req("POST", &path).token(&app.admin_token).send().await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = app
        .req(
            "POST",
            &format!("/api/v1/machines/{id}/disks/NOPE/acknowledgement"),
        )
        .token(&app.admin_token)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
