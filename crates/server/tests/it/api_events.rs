//! System events through the API, on both backends: stored once per report (replays add
//! nothing), searched per machine and across the organisation, the source's state shown,
//! skew corrected, bad input refused by field, retention, and the health score deduction.
//! Isolation is in the matrix (isolation.rs).

use axum::http::StatusCode;
use optralis::store::Retention;
use optralis_proto::events::{EventBatch, EventSeverity, SystemEvent};
use optralis_proto::sample;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, both_backends};

both_backends!(
    events_are_stored_once_and_searched,
    source_state_skew_and_bad_events,
    critical_events_weigh_on_the_score_for_an_hour,
);

pub(crate) fn event(ts: i64, severity: &str, source: &str, message: &str) -> SystemEvent {
    SystemEvent {
        ts_ms: ts,
        last_ts_ms: ts,
        severity: EventSeverity::parse(severity).unwrap(),
        source: source.into(),
        message: message.into(),
        count: 1,
        boot_id: Some("b00t".into()),
        log: None,
        event_id: None,
    }
}

fn batch(events: Vec<SystemEvent>) -> EventBatch {
    EventBatch {
        source: "journald".into(),
        unavailable: None,
        events,
        suppressed: 0,
    }
}

/// Stores one report carrying `events` (the store's path, as the isolation matrix needs).
pub(crate) async fn send_events(
    app: &TestApp,
    token: &str,
    seq: u64,
    ts: i64,
    events: Vec<SystemEvent>,
) {
    let agent = app.agent(token).await;
    let mut r = sample::report(seq, ts);
    r.events = Some(batch(events));
    app.store.ingest_reports(&agent, &[r]).await.unwrap();
}

/// Posts reports as the agent does; returns the status and body.
async fn post(app: &TestApp, token: &str, body: &Value) -> (StatusCode, Value) {
    let resp = app
        .req("POST", "/api/v1/agent/reports")
        .token(token)
        .json(body)
        .send()
        .await;
    (resp.status, resp.body)
}

fn report_with(seq: u64, ts: i64, b: EventBatch) -> Value {
    let mut r = sample::report(seq, ts);
    r.events = Some(b);
    serde_json::to_value(r).unwrap()
}

fn messages(page: &Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect()
}

async fn events_are_stored_once_and_searched(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (web, web_token) = app.enroll("web-1").await;
    let (db, db_token) = app.enroll("db-1").await;
    let t = app.now() - 600_000;
    let mut flood = event(t + 2, "warning", "sshd", "Invalid user admin from 10.0.0.9");
    flood.count = 40;
    flood.last_ts_ms = t + 300_000;
    let web_events = vec![
        event(t, "error", "nginx.service", "upstream timed out (110%_x)"),
        event(
            t + 1,
            "critical",
            "kernel",
            "Out of memory: Killed process 4242",
        ),
        flood,
    ];
    let body = json!({"reports": [report_with(1, t + 1000, batch(web_events))]});
    let (status, reply) = post(&app, &web_token, &body).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    // The agent resends (it never saw the answer): nothing is stored twice.
    let (status, _) = post(&app, &web_token, &body).await;
    assert_eq!(status, StatusCode::OK);
    send_events(
        &app,
        &db_token,
        1,
        t + 5000,
        vec![event(
            t + 5,
            "error",
            "postgresql.service",
            "could not write block",
        )],
    )
    .await;

    let get = |path: String| {
        let app = &app;
        async move {
            let (status, body) = app.get(&path, Some(&app.observer_token)).await;
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            body
        }
    };
    let page = get(format!("/api/v1/machines/{web}/events")).await;
    assert_eq!(page["total"], 3);
    assert_eq!(
        messages(&page),
        [
            "Invalid user admin from 10.0.0.9",
            "Out of memory: Killed process 4242",
            "upstream timed out (110%_x)",
        ],
        "newest first"
    );
    let sshd = &page["events"][0];
    assert_eq!(sshd["count"], 40);
    assert_eq!(sshd["last_ts_ms"], t + 300_000);
    assert_eq!(sshd["severity"], "warning");
    assert_eq!(sshd["machine_id"], web.as_str());
    assert_eq!(sshd["hostname"], "web-1");
    assert_eq!(sshd["boot_id"], "b00t");
    assert_eq!(
        page["source_state"],
        json!({"state": "available", "source": "journald", "suppressed_total": 0})
    );

    // Filters: severity at least, exact source, text (case-insensitive, wildcards literal).
    let page = get(format!("/api/v1/machines/{web}/events?severity=error")).await;
    assert_eq!(page["total"], 2);
    let page = get(format!("/api/v1/machines/{web}/events?severity=critical")).await;
    assert_eq!(messages(&page), ["Out of memory: Killed process 4242"]);
    let page = get(format!("/api/v1/machines/{web}/events?source=kernel")).await;
    assert_eq!(page["total"], 1);
    let page = get(format!("/api/v1/machines/{web}/events?q=KILLED")).await;
    assert_eq!(messages(&page), ["Out of memory: Killed process 4242"]);
    let page = get(format!("/api/v1/machines/{web}/events?q=110%25_x")).await;
    assert_eq!(messages(&page), ["upstream timed out (110%_x)"]);
    let page = get(format!("/api/v1/machines/{web}/events?q=0%25")).await;
    assert_eq!(page["total"], 1, "% is a character, not a wildcard");
    // Time range and pages.
    let page = get(format!(
        "/api/v1/machines/{web}/events?from={}&to={}",
        t + 1,
        t + 2
    ))
    .await;
    assert_eq!(messages(&page), ["Out of memory: Killed process 4242"]);
    let page = get(format!("/api/v1/machines/{web}/events?limit=2&offset=2")).await;
    assert_eq!(
        (page["total"].clone(), messages(&page)),
        (json!(3), vec!["upstream timed out (110%_x)".to_owned()])
    );

    // Across the organisation, and narrowed to one machine.
    let page = get("/api/v1/events?severity=error".into()).await;
    assert_eq!(page["total"], 3);
    let hosts: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["hostname"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["db-1", "web-1", "web-1"]);
    assert!(page.get("source_state").is_none());
    let page = get(format!("/api/v1/events?machine={db}")).await;
    assert_eq!(messages(&page), ["could not write block"]);
    let page = get("/api/v1/events?q=block&source=postgresql.service".into()).await;
    assert_eq!(page["total"], 1);

    // Bad parameters name the field.
    for (query, field) in [
        ("severity=bad", "severity"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("offset=-1", "offset"),
        ("from=10&to=5", "from"),
    ] {
        let (status, body) = app
            .get(
                &format!("/api/v1/events?{query}"),
                Some(&app.observer_token),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"]["field"], field, "{query}");
    }
    let (status, _) = app
        .get("/api/v1/events?limit=many", Some(&app.observer_token))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Retention removes events by their last occurrence.
    app.clock
        .set(t + 300_000 + Retention::default().events_ms - 1_000);
    app.store
        .apply_retention(&Retention::default())
        .await
        .unwrap();
    let page = get(format!(
        "/api/v1/machines/{web}/events?from=0&to={}",
        app.now()
    ))
    .await;
    assert_eq!(messages(&page), ["Invalid user admin from 10.0.0.9"]);
}

async fn source_state_skew_and_bad_events(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (id, token) = app.enroll("box").await;
    let now = app.now();
    // An agent whose clock is 10 minutes behind: its events move with its reports.
    let skew = 600_000;
    let mut b = batch(vec![event(
        now - skew - 5_000,
        "error",
        "app",
        "late clock",
    )]);
    b.suppressed = 7;
    let body = json!({"sent_at_ms": now - skew, "reports": [report_with(1, now - skew, b)]});
    let (status, reply) = post(&app, &token, &body).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let (_, page) = app
        .get(
            &format!("/api/v1/machines/{id}/events"),
            Some(&app.observer_token),
        )
        .await;
    assert_eq!(page["events"][0]["ts_ms"], now - 5_000);
    assert_eq!(page["source_state"]["suppressed_total"], 7);

    // No journal on the machine: a state with its reason, not silence.
    let unavailable = EventBatch {
        source: "journald".into(),
        unavailable: Some("journalctl not found".into()),
        events: vec![],
        suppressed: 3,
    };
    let body = json!({"reports": [report_with(2, now + 1, unavailable)]});
    let (status, _) = post(&app, &token, &body).await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = app
        .get(
            &format!("/api/v1/machines/{id}/events"),
            Some(&app.observer_token),
        )
        .await;
    assert_eq!(
        page["source_state"],
        json!({"state": "unavailable", "source": "journald",
               "reason": "journalctl not found", "suppressed_total": 10})
    );

    // Malformed events are refused with the field that is wrong.
    let mut zero = event(now, "warning", "app", "x");
    zero.count = 0;
    let mut backwards = event(now, "warning", "app", "x");
    backwards.last_ts_ms = now - 1;
    let mut future = event(now, "warning", "app", "x");
    future.last_ts_ms = now + 3_600_000;
    for (seq, e, field) in [
        (3, zero, "count"),
        (4, backwards, "last_ts_ms"),
        (6, future, "last_ts_ms"),
    ] {
        let body = json!({"reports": [report_with(seq, now + 10, batch(vec![e]))]});
        let (status, reply) = post(&app, &token, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {reply}");
        assert_eq!(
            reply["error"]["field"],
            format!("reports[0].events.events[0].{field}")
        );
    }
    let body = json!({"reports": [report_with(7, now + 10, EventBatch::default())]});
    let (status, reply) = post(&app, &token, &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    assert_eq!(reply["error"]["field"], "reports[0].events.source");

    // What any local program can write (NUL, a huge message, a control character in the
    // source) is cleaned, not a reason to lose the report.
    let mut odd = event(now + 20, "error", "bad\u{1b}tag", "NUL\u{0} here ");
    odd.message.push_str(&"x".repeat(5000));
    let body = json!({"reports": [report_with(8, now + 20, batch(vec![odd]))]});
    let (status, reply) = post(&app, &token, &body).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let (_, page) = app
        .get(
            &format!(
                "/api/v1/machines/{id}/events?source=bad%EF%BF%BDtag&from=0&to={}",
                now + 60_000
            ),
            Some(&app.observer_token),
        )
        .await;
    let stored = page["events"][0]["message"].as_str().unwrap();
    assert!(stored.starts_with("NUL\u{fffd} here "), "{stored:?}");
    assert_eq!(stored.len(), optralis_proto::events::MAX_MESSAGE_BYTES);
}

async fn critical_events_weigh_on_the_score_for_an_hour(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (id, token) = app.enroll("flaky").await;
    let t = app.now();
    let health = || {
        let app = &app;
        let id = id.clone();
        async move {
            let (_, m) = app
                .get(&format!("/api/v1/machines/{id}"), Some(&app.observer_token))
                .await;
            m["health"].clone()
        }
    };
    // Two reports in one batch: the older one's events count too.
    let mut twice = event(t - 20_000, "critical", "kernel", "MCE: hardware error");
    twice.count = 2;
    let body = json!({"reports": [
        report_with(1, t - 30_000, batch(vec![twice])),
        report_with(2, t, batch(vec![event(t - 1_000, "critical", "kernel", "EDAC: UE")])),
    ]});
    let (status, reply) = post(&app, &token, &body).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(
        health().await,
        json!({"score": 90, "reasons": [
            {"reason": "3 critical events in the last hour", "weight": -10}]})
    );
    // A replay adds no count.
    let (status, _) = post(&app, &token, &body).await;
    assert_eq!(status, StatusCode::OK);
    // A later report without events still counts the last hour's.
    app.clock.set(t + 60_000);
    let body = json!({"reports": [report_with(3, t + 60_000, batch(vec![]))]});
    post(&app, &token, &body).await;
    assert_eq!(health().await["score"], 90);
    // The same once the cached inputs have expired (a minute without a report; another
    // replica's view): counted from the database.
    app.clock.set(t + 200_000);
    let body = json!({"reports": [report_with(4, t + 200_000, batch(vec![]))]});
    let (status, _) = post(&app, &token, &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health().await["score"], 90);
    // An hour after the last one, they no longer weigh.
    app.clock.set(t + 3_600_000);
    let body = json!({"reports": [report_with(5, t + 3_600_000, batch(vec![]))]});
    post(&app, &token, &body).await;
    assert_eq!(health().await, json!({"score": 100, "reasons": []}));
}
