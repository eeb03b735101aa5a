//! The fleet on both backends: groups, labels and selectors through the API; status and
//! health driven by reports and a test clock; the interval directive; machine lifecycle;
//! live events over SSE.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use optralis::principal::Role;
use optralis_proto::agent::Report;
use optralis_proto::sample;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::{Backend, TestApp, both_backends};

both_backends!(
    groups_labels_and_selectors,
    status_and_score_follow_reports_and_silence,
    machines_are_renamed_retired_and_deleted,
    live_events_arrive_fast_and_stay_in_their_organisation,
);

/// Posts one report as the agent; returns the reply.
async fn report(app: &TestApp, token: &str, r: &Report) -> Value {
    let body = json!({"sent_at_ms": app.now(), "reports": [r]});
    let resp = app
        .req("POST", "/api/v1/agent/reports")
        .token(token)
        .json(&body)
        .send()
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.body);
    resp.body
}

fn full_disk(seq: u64, ts: i64, used_percent: u64) -> Report {
    let mut r = sample::report(seq, ts);
    let fs = &mut r.filesystems[0];
    fs.used_bytes = used_percent * 1_000_000_000;
    fs.free_bytes = (100 - used_percent) * 1_000_000_000;
    r
}

async fn machines(app: &TestApp, query: &str) -> (StatusCode, Value) {
    app.get(&format!("/api/v1/machines{query}"), Some(&app.admin_token))
        .await
}

fn hostnames(body: &Value) -> Vec<String> {
    body["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["hostname"].as_str().unwrap().to_owned())
        .collect()
}

async fn groups_labels_and_selectors(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = Some(app.admin_token.as_str());
    let mut ids = Vec::new();
    for host in ["web-1", "web-2", "db-1", "cache-1"] {
        let (id, token) = app.enroll(host).await;
        report(&app, &token, &sample::report(1, app.now())).await;
        ids.push((id, token));
    }

    // Groups: colours checked, names unique, membership one by one or in bulk.
    let r = app
        .req("POST", "/api/v1/groups")
        .maybe_token(admin)
        .json(&json!({"name": "Paris", "color": "blue"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"]["field"], "color");
    let r = app
        .req("POST", "/api/v1/groups")
        .maybe_token(admin)
        .json(&json!({"name": "Paris", "color": "#3B82F6", "description": "DC1"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["color"], "#3b82f6");
    let paris = r.body["id"].as_str().unwrap().to_owned();
    let r = app
        .req("POST", "/api/v1/groups")
        .maybe_token(admin)
        .json(&json!({"name": "Paris", "color": "#000000"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = app
        .req("POST", "/api/v1/groups")
        .token(&app.observer_token)
        .json(&json!({"name": "X", "color": "#000000"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .req("POST", &format!("/api/v1/groups/{paris}/machines"))
        .maybe_token(admin)
        .json(&json!({"add": [ids[0].0, ids[1].0, ids[2].0]}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["machine_count"], 3);
    let r = app
        .req("POST", &format!("/api/v1/groups/{paris}/machines"))
        .maybe_token(admin)
        .json(&json!({"add": ["00000000-0000-0000-0000-000000000000"], "remove": [ids[2].0]}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "all or nothing");
    let (_, g) = app.get(&format!("/api/v1/groups/{paris}"), admin).await;
    assert_eq!(g["machine_count"], 3);
    let r = app
        .req("POST", "/api/v1/groups")
        .maybe_token(admin)
        .json(&json!({"name": "Lyon", "color": "#ff0000"}))
        .send()
        .await;
    let lyon = r.body["id"].as_str().unwrap().to_owned();
    let r = app
        .req("PUT", &format!("/api/v1/machines/{}/groups", ids[2].0))
        .maybe_token(admin)
        .json(&json!({"group_ids": [lyon]}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["groups"], json!([lyon]));

    // Labels: Kubernetes syntax, agent-declared ones read-only.
    for (i, labels) in [
        json!({"env": "prod", "role": "web", "tier": "web"}),
        json!({"env": "prod", "role": "web", "tier": "api"}),
        json!({"env": "prod", "role": "db"}),
        json!({"env": "dev", "deprecated": ""}),
    ]
    .iter()
    .enumerate()
    {
        let r = app
            .req("PUT", &format!("/api/v1/machines/{}/labels", ids[i].0))
            .maybe_token(admin)
            .json(&json!({"labels": labels}))
            .send()
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = app
        .req("PUT", &format!("/api/v1/machines/{}/labels", ids[0].0))
        .maybe_token(admin)
        .json(&json!({"labels": {"bad key": "x"}}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bad key"),
        "{}",
        r.body
    );
    let mut with_labels = sample::report(2, app.now());
    with_labels.labels = Some([("site".to_owned(), "paris-1".to_owned())].into());
    report(&app, &ids[3].1, &with_labels).await;
    let (_, m) = app
        .get(&format!("/api/v1/machines/{}", ids[3].0), admin)
        .await;
    assert_eq!(m["agent_labels"], json!({"site": "paris-1"}));
    assert_eq!(
        m["labels"],
        json!({"env": "dev", "deprecated": "", "site": "paris-1"})
    );
    let r = app
        .req("PUT", &format!("/api/v1/machines/{}/labels", ids[3].0))
        .maybe_token(admin)
        .json(&json!({"labels": {"site": "lyon"}}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);

    // Selectors and the other filters.
    let cases: &[(&str, &[&str])] = &[
        ("", &["cache-1", "db-1", "web-1", "web-2"]),
        ("?selector=env%3Dprod", &["db-1", "web-1", "web-2"]),
        ("?selector=env%3Dprod,role!%3Ddb", &["web-1", "web-2"]),
        ("?selector=tier%20in%20(web,api)", &["web-1", "web-2"]),
        (
            "?selector=tier%20notin%20(web)",
            &["cache-1", "db-1", "web-2"],
        ),
        ("?selector=!deprecated", &["db-1", "web-1", "web-2"]),
        ("?selector=site", &["cache-1"]),
        (&format!("?group={paris}"), &["web-1", "web-2"]),
        (&format!("?group={paris}&selector=tier%3Dapi"), &["web-2"]),
        ("?q=WEB", &["web-1", "web-2"]),
        ("?q=debian", &["cache-1", "db-1", "web-1", "web-2"]),
        ("?status=online", &["cache-1", "db-1", "web-1", "web-2"]),
        ("?status=offline,critical", &[]),
        ("?sort=-name&limit=2", &["web-2", "web-1"]),
        ("?sort=name&offset=3", &["web-2"]),
    ];
    for (query, want) in cases {
        let (status, body) = machines(&app, query).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(hostnames(&body), *want, "{query}");
    }
    let (_, body) = machines(&app, "?sort=name&limit=1").await;
    assert_eq!(body["total"], 4);
    for (query, field, text) in [
        ("?selector=env%3Dprod,", "selector", "position 9"),
        ("?selector=tier%20in%20web", "selector", "position 8"),
        ("?status=sleeping", "status", "sleeping"),
        ("?sort=color", "sort", "name"),
        ("?limit=0", "limit", "1000"),
    ] {
        let (status, body) = machines(&app, query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body["error"]["field"], field, "{query}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(text),
            "{query}: {body}"
        );
    }

    // Deleting a group leaves its machines.
    let r = app
        .req("DELETE", &format!("/api/v1/groups/{paris}"))
        .maybe_token(admin)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(hostnames(&machines(&app, "").await.1).len(), 4);
    let (_, m) = app
        .get(&format!("/api/v1/machines/{}", ids[0].0), admin)
        .await;
    assert_eq!(m["groups"], json!([]));
}

async fn status_and_score_follow_reports_and_silence(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (id, token) = app.enroll("nas-1").await;
    let admin = Some(app.admin_token.as_str());
    let (_, m) = app.get(&format!("/api/v1/machines/{id}"), admin).await;
    assert_eq!(m["status"], "offline", "no report yet");
    assert_eq!(m["health"]["score"], 0);

    let reply = report(&app, &token, &sample::report(1, app.now())).await;
    assert_eq!(reply["next_interval_s"], 60);
    let (_, m) = app.get(&format!("/api/v1/machines/{id}"), admin).await;
    assert_eq!(m["status"], "online");
    assert_eq!(m["health"], json!({"score": 100, "reasons": []}));

    // A filesystem at 96 %: critical, the reason listed, the interval halved.
    app.clock.advance_ms(60_000);
    let reply = report(&app, &token, &full_disk(2, app.now(), 96)).await;
    assert_eq!(reply["next_interval_s"], 30);
    let (_, m) = app.get(&format!("/api/v1/machines/{id}"), admin).await;
    assert_eq!(m["status"], "critical");
    assert_eq!(
        m["health"],
        json!({"score": 70, "reasons": [{"reason": "filesystem / 96 % full", "weight": -30}]})
    );
    assert_eq!(m["status_since_ms"], app.now());

    // A warning with a score over the organisation's threshold (80) keeps 60 s.
    app.clock.advance_ms(30_000);
    let reply = report(&app, &token, &full_disk(3, app.now(), 86)).await;
    assert_eq!(reply["next_interval_s"], 60, "warning, score 90");
    app.clock.advance_ms(30_000);
    report(&app, &token, &sample::report(4, app.now())).await;
    let (_, m) = app.get(&format!("/api/v1/machines/{id}"), admin).await;
    assert_eq!(m["status"], "online");

    // Silence: offline after three of its intervals (60 s), not before.
    let (_, m) = app.get(&format!("/api/v1/machines/{id}"), admin).await;
    let seen = m["last_seen_ms"].as_i64().unwrap();
    app.clock.set(seen + 180_000);
    assert_eq!(app.store.sweep_offline().await.unwrap(), 0);
    app.clock.set(seen + 180_001);
    assert_eq!(app.store.sweep_offline().await.unwrap(), 1);
    assert_eq!(app.store.sweep_offline().await.unwrap(), 0, "once");
    let (_, m) = app.get(&format!("/api/v1/machines/{id}"), admin).await;
    assert_eq!(m["status"], "offline");
    assert_eq!(m["health"]["score"], 0);
    assert_eq!(
        m["health"]["reasons"][0]["reason"],
        "offline: no report for 3 min"
    );

    // Back: online again. A retired machine is never offline.
    report(&app, &token, &sample::report(5, app.now())).await;
    let (_, hist) = app
        .get(&format!("/api/v1/machines/{id}/status-history"), admin)
        .await;
    let statuses: Vec<&str> = hist["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "online", "critical", "warning", "online", "offline", "online"
        ]
    );
    let r = app
        .req("PATCH", &format!("/api/v1/machines/{id}"))
        .maybe_token(admin)
        .json(&json!({"decommissioned": true}))
        .send()
        .await;
    assert_eq!(r.body["decommissioned"], true);
    app.clock.advance_ms(3_600_000);
    assert_eq!(app.store.sweep_offline().await.unwrap(), 0);

    // The organisation's offline factor.
    let r = app
        .req("PATCH", "/api/v1/org")
        .maybe_token(admin)
        .json(&json!({"offline_after_intervals": 1}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app
        .req("PATCH", "/api/v1/org")
        .maybe_token(admin)
        .json(&json!({"offline_after_intervals": 5, "degraded_below_score": 95}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["offline_after_intervals"], 5);

    // The score is a series, and the summary counts by status.
    let (_, series) = app
        .get(
            &format!(
                "/api/v1/machines/{id}/series?metric=health.score&from={}",
                app.now() - 3 * 3_600_000
            ),
            admin,
        )
        .await;
    let values: Vec<f64> = series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .collect();
    assert_eq!(values, [100.0, 70.0, 90.0, 100.0, 100.0]);
    let (other, other_token) = app.enroll("web-9").await;
    report(&app, &other_token, &full_disk(1, app.now(), 91)).await;
    let (_, summary) = app.get("/api/v1/fleet/summary", admin).await;
    assert_eq!(summary["total"], 2);
    assert_eq!(summary["decommissioned"], 1);
    assert_eq!(summary["warning"], 1);
    assert_eq!(summary["worst"][0]["id"], json!(other));
    assert_eq!(summary["worst"][0]["health"]["score"], 80);
    // Score 80 is under the organisation's threshold, now 95: the degraded interval.
    let reply = report(&app, &other_token, &full_disk(2, app.now() + 1, 91)).await;
    assert_eq!(reply["next_interval_s"], 30);
}

async fn machines_are_renamed_retired_and_deleted(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (id, token) = app.enroll("old-box").await;
    report(&app, &token, &sample::report(1, app.now())).await;
    let admin = Some(app.admin_token.as_str());
    let r = app
        .req("PATCH", &format!("/api/v1/machines/{id}"))
        .maybe_token(admin)
        .json(&json!({"display_name": "Accounting server", "notes": "under the stairs"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["display_name"], "Accounting server");
    assert_eq!(r.body["notes"], "under the stairs");
    let (_, body) = machines(&app, "?q=accounting").await;
    assert_eq!(hostnames(&body), ["old-box"]);
    let r = app
        .req("PATCH", &format!("/api/v1/machines/{id}"))
        .maybe_token(admin)
        .json(&json!({"display_name": ""}))
        .send()
        .await;
    assert_eq!(r.body["display_name"], Value::Null);
    let r = app
        .req("PATCH", &format!("/api/v1/machines/{id}"))
        .token(&app.observer_token)
        .json(&json!({"notes": "x"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = app
        .req("DELETE", &format!("/api/v1/machines/{id}"))
        .maybe_token(admin)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/api/v1/machines/{id}"), admin).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, s) = app
        .get(
            &format!("/api/v1/machines/{id}/series?metric=cpu.percent"),
            admin,
        )
        .await;
    assert_eq!(s["error"]["code"], "not_found");
    let body = json!({"reports": [sample::report(2, app.now())]});
    let r = app
        .req("POST", "/api/v1/agent/reports")
        .token(&token)
        .json(&body)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "its token is gone");
    let audit = app
        .store
        .list_audit(Some(&app.org), None, 10)
        .await
        .unwrap();
    assert!(audit.iter().any(|e| e.action == "machine.deleted"));
}

/// Reads SSE frames from a response body until `want` arrives or `wait` passes.
async fn next_event(body: &mut Body, want: &str, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut text = String::new();
    loop {
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .ok()??
            .ok()?;
        if let Ok(data) = frame.into_data() {
            text.push_str(&String::from_utf8_lossy(&data));
        }
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            let name = event.lines().find_map(|l| l.strip_prefix("event: "));
            let data = event.lines().find_map(|l| l.strip_prefix("data: "));
            if name == Some(want) {
                return data.map(|d| serde_json::from_str(d).unwrap());
            }
        }
    }
}

async fn open_stream(app: &TestApp, token: &str) -> Body {
    let req = Request::get("/api/v1/stream")
        .header("Authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let resp = optralis::app(app.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    resp.into_body()
}

async fn live_events_arrive_fast_and_stay_in_their_organisation(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (id, token) = app.enroll("live-1").await;
    report(&app, &token, &sample::report(1, app.now())).await;
    let globex = app.store.create_org("globex").await.unwrap();
    let (_, globex_token) = app
        .store
        .create_api_token(&globex, "g", Role::Admin)
        .await
        .unwrap();

    let mut ours = open_stream(&app, &app.observer_token).await;
    let mut theirs = open_stream(&app, &globex_token).await;
    let r = app.req("GET", "/api/v1/stream").send().await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    app.clock.advance_ms(60_000);
    let sent = std::time::Instant::now();
    report(&app, &token, &full_disk(2, app.now(), 97)).await;
    let change = next_event(&mut ours, "status", Duration::from_secs(1))
        .await
        .expect("a status event within a second of the report");
    assert!(sent.elapsed() < Duration::from_secs(1));
    assert_eq!(change["id"], json!(id));
    assert_eq!(
        (change["from"].as_str(), change["to"].as_str()),
        (Some("online"), Some("critical"))
    );
    let score = next_event(&mut ours, "score", Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(score["score"], 70);
    assert_eq!(score["previous"], 100);

    // Offline, pushed by the sweep.
    app.clock.advance_ms(10 * 60_000);
    app.store.sweep_offline().await.unwrap();
    let change = next_event(&mut ours, "status", Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(change["to"], "offline");

    // A revoked token's stream ends at the next access check.
    let (token_info, secret) = app
        .store
        .create_api_token(&app.org, "watcher", Role::Observer)
        .await
        .unwrap();
    let mut watcher = open_stream(&app, &secret).await;
    app.store
        .revoke_api_token(&app.org, &token_info.id)
        .await
        .unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match watcher.frame().await {
                None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream of a revoked token must end");

    // The other organisation heard nothing of it.
    assert_eq!(
        next_event(&mut theirs, "status", Duration::from_millis(500)).await,
        None
    );
    assert_eq!(
        next_event(&mut theirs, "machine", Duration::from_millis(100)).await,
        None
    );
}
