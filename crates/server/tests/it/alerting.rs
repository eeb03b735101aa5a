//! Alert rules on a test clock, end to end: reports through the agent route, the evaluation,
//! the delivery queue, a real HTTP receiver. Sustain, hysteresis, reminders, acknowledge,
//! silences, grouping, scope by group and selector, channel filters.

use axum::http::StatusCode;
use optralis::notify::deliver_due;
use optralis_proto::agent::Report;
use optralis_proto::sample;
use serde_json::{Value, json};

use crate::support::receiver::Receiver;
use crate::support::{Backend, TestApp, both_backends, test_notifier};

both_backends!(
    a_metric_rule_sustains_fires_reminds_and_resolves_with_hysteresis,
    scope_grouping_silences_and_channel_filters,
    agent_drops_events_disks_and_health_fire_their_rules,
    an_offline_machine_keeps_its_metric_alerts_as_they_were,
);

fn cpu(seq: u64, ts: i64, percent: f64) -> Report {
    let mut r = sample::report(seq, ts);
    r.cpu.percent = percent;
    r
}

async fn report(app: &TestApp, token: &str, r: &Report) {
    let body = json!({"sent_at_ms": app.now(), "reports": [r]});
    let resp = app
        .req("POST", "/api/v1/agent/reports")
        .token(token)
        .json(&body)
        .send()
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.body);
}

async fn admin(app: &TestApp, method: &str, path: &str, body: Value) -> Value {
    let r = app
        .req(method, path)
        .token(&app.admin_token)
        .json(&body)
        .send()
        .await;
    assert!(
        r.status.is_success(),
        "{method} {path}: {} {}",
        r.status,
        r.body
    );
    r.body
}

/// Evaluates, sends what was queued, and returns the notifications received since `seen`.
async fn step(app: &TestApp, rx: &Receiver, seen: &mut usize) -> Vec<Value> {
    app.state.alerting.evaluate_org(&app.org).await.unwrap();
    deliver_due(&app.store, &test_notifier()).await.unwrap();
    let got = rx.received();
    let new = got[*seen..].iter().map(|r| r.json()).collect();
    *seen = got.len();
    new
}

async fn alerts(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, body) = app
        .get(&format!("/api/v1/alerts{query}"), Some(&app.observer_token))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["alerts"].as_array().unwrap().clone()
}

async fn webhook(app: &TestApp, rx: &Receiver, name: &str, extra: Value) {
    let mut body = json!({"name": name, "kind": "webhook",
        "config": {"url": rx.url(&format!("/{name}")), "secret": "0123456789abcdef"}});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    admin(app, "POST", "/api/v1/channels", body).await;
}

async fn a_metric_rule_sustains_fires_reminds_and_resolves_with_hysteresis(backend: Backend) {
    let app = TestApp::new(backend).await;
    let rx = Receiver::start().await;
    webhook(&app, &rx, "ops", json!({})).await;
    let (id, token) = app.enroll("web-1").await;

    // A new organisation has the default set.
    let (_, defaults) = app.get("/api/v1/rules", Some(&app.observer_token)).await;
    let names: Vec<&str> = defaults["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["spec"]["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Machine offline") && names.contains(&"Disk failing"),
        "{names:?}"
    );
    for r in defaults["rules"].as_array().unwrap() {
        let path = format!("/api/v1/rules/{}", r["id"].as_str().unwrap());
        let resp = app
            .req("DELETE", &path)
            .token(&app.admin_token)
            .send()
            .await;
        assert_eq!(resp.status, StatusCode::NO_CONTENT);
    }
    let rule = admin(
        &app,
        "POST",
        "/api/v1/rules",
        json!({"name": "CPU hot", "kind": "metric", "metric": "cpu.percent", "threshold": 90,
               "clear": 80, "for_s": 60, "severity": "critical", "reminder_s": 300}),
    )
    .await;
    assert_eq!(rule["spec"]["op"], "above", "normalised");
    let mut seen = 0;
    let t0 = app.now();

    // Above the threshold, but not for a minute yet: pending, nothing sent.
    report(&app, &token, &cpu(1, t0, 95.0)).await;
    assert!(step(&app, &rx, &mut seen).await.is_empty());
    assert_eq!(alerts(&app, "?state=pending").await.len(), 1);
    app.clock.set(t0 + 30_000);
    report(&app, &token, &cpu(2, t0 + 30_000, 96.0)).await;
    assert!(step(&app, &rx, &mut seen).await.is_empty());

    // A minute on: firing, one notification.
    app.clock.set(t0 + 61_000);
    report(&app, &token, &cpu(3, t0 + 61_000, 97.0)).await;
    let sent = step(&app, &rx, &mut seen).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["event"], "firing");
    assert_eq!(sent[0]["title"], "CRITICAL: CPU hot on web-1");
    assert_eq!(sent[0]["machines"][0]["id"], id.as_str());
    assert_eq!(sent[0]["machines"][0]["detail"], "CPU 97 % (above 90 %)");
    let firing = alerts(&app, "?state=firing").await;
    assert_eq!(firing.len(), 1);
    assert_eq!(firing[0]["notified"], true);

    // Between the clear level and the threshold: still firing, nothing new.
    app.clock.set(t0 + 90_000);
    report(&app, &token, &cpu(4, t0 + 90_000, 85.0)).await;
    assert!(step(&app, &rx, &mut seen).await.is_empty());
    assert_eq!(alerts(&app, "?state=firing").await.len(), 1);

    // Five minutes after the notification: a reminder. Acknowledged: no more.
    app.clock.set(t0 + 361_000);
    report(&app, &token, &cpu(5, t0 + 361_000, 95.0)).await;
    let sent = step(&app, &rx, &mut seen).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["event"], "reminder");
    let alert_id = firing[0]["id"].as_i64().unwrap();
    let r = app
        .req(
            "POST",
            &format!("/api/v1/alerts/{alert_id}/acknowledgement"),
        )
        .token(&app.observer_token)
        .send()
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "observers do not acknowledge"
    );
    let r = app
        .req(
            "POST",
            &format!("/api/v1/alerts/{alert_id}/acknowledgement"),
        )
        .token(&app.admin_token)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    app.clock.set(t0 + 700_000);
    report(&app, &token, &cpu(6, t0 + 700_000, 95.0)).await;
    assert!(
        step(&app, &rx, &mut seen).await.is_empty(),
        "acknowledged: no reminder"
    );

    // Back under the clear level: resolved, one notification.
    app.clock.set(t0 + 760_000);
    report(&app, &token, &cpu(7, t0 + 760_000, 70.0)).await;
    let sent = step(&app, &rx, &mut seen).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["event"], "resolved");
    assert_eq!(sent[0]["title"], "Resolved: CPU hot on web-1");
    let all = alerts(&app, "").await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["state"], "resolved");
    assert!(
        all[0]["acknowledged_by"]
            .as_str()
            .unwrap()
            .starts_with("token:")
    );

    // A spike shorter than the duration never fires and leaves nothing behind.
    app.clock.set(t0 + 800_000);
    report(&app, &token, &cpu(8, t0 + 800_000, 99.0)).await;
    assert!(step(&app, &rx, &mut seen).await.is_empty());
    app.clock.set(t0 + 820_000);
    report(&app, &token, &cpu(9, t0 + 820_000, 20.0)).await;
    assert!(step(&app, &rx, &mut seen).await.is_empty());
    assert_eq!(alerts(&app, "").await.len(), 1);

    // Bad rules are refused by field.
    let r = app
        .req("POST", "/api/v1/rules")
        .token(&app.admin_token)
        .json(
            &json!({"name": "x", "kind": "metric", "metric": "cpu.percent", "threshold": 90,
                         "clear": 95, "severity": "warning"}),
        )
        .send()
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"]["field"], "clear");
    rx.stop();
}

async fn scope_grouping_silences_and_channel_filters(backend: Backend) {
    let app = TestApp::new(backend).await;
    let rx = Receiver::start().await;
    webhook(&app, &rx, "all", json!({})).await;
    webhook(
        &app,
        &rx,
        "critical-only",
        json!({"min_severity": "critical"}),
    )
    .await;
    webhook(&app, &rx, "disks-only", json!({"alert_kinds": ["disk"]})).await;
    let mut machines = Vec::new();
    for name in ["web-1", "web-2", "web-3", "db-1"] {
        machines.push(app.enroll(name).await);
    }
    let group = admin(
        &app,
        "POST",
        "/api/v1/groups",
        json!({"name": "web", "color": "#3b82f6"}),
    )
    .await;
    let group_id = group["id"].as_str().unwrap();
    let web: Vec<String> = machines[..3].iter().map(|(id, _)| id.clone()).collect();
    admin(
        &app,
        "POST",
        &format!("/api/v1/groups/{group_id}/machines"),
        json!({"add": web, "remove": []}),
    )
    .await;
    admin(
        &app,
        "PUT",
        &format!("/api/v1/machines/{}/labels", machines[2].0),
        json!({"labels": {"env": "staging"}}),
    )
    .await;
    let t0 = app.now();
    for (i, (_, token)) in machines.iter().enumerate() {
        report(&app, token, &cpu(1, t0 + i as i64, 10.0)).await;
    }
    // Offline in the web group, production only (not staging): web-1 and web-2.
    admin(
        &app,
        "POST",
        "/api/v1/rules",
        json!({"name": "Web down", "kind": "offline", "severity": "critical",
               "scope": {"groups": [group_id], "selector": "env!=staging"}}),
    )
    .await;
    let mut seen = 0;
    assert!(step(&app, &rx, &mut seen).await.is_empty());

    // Everything goes silent; db-1 keeps reporting.
    app.clock.set(t0 + 200_000);
    report(&app, &machines[3].1, &cpu(2, t0 + 200_000, 10.0)).await;
    app.store.sweep_offline().await.unwrap();
    let sent = step(&app, &rx, &mut seen).await;
    // One grouped message per channel that wants it: "all" and "critical-only".
    assert_eq!(sent.len(), 2, "{sent:?}");
    for n in &sent {
        assert_eq!(n["title"], "CRITICAL: Web down on 2 machines");
        let hosts: Vec<&str> = n["machines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["hostname"].as_str().unwrap())
            .collect();
        assert_eq!(hosts, ["web-1", "web-2"]);
    }
    let mut paths: Vec<String> = rx.received().iter().map(|r| r.path.clone()).collect();
    paths.sort();
    assert_eq!(
        paths,
        ["/all", "/critical-only"],
        "sent together, in any order"
    );

    // A warning rule on db-1, silenced for its maintenance: it fires, nobody is told.
    let rule = admin(
        &app,
        "POST",
        "/api/v1/rules",
        json!({"name": "DB CPU", "kind": "metric", "metric": "cpu.percent", "threshold": 50,
               "severity": "warning", "scope": {"machine": machines[3].0}}),
    )
    .await;
    let silence = admin(
        &app,
        "POST",
        "/api/v1/silences",
        json!({"scope": {"machine": machines[3].0}, "ends_ms": t0 + 3_600_000,
               "reason": "reindexing"}),
    )
    .await;
    app.clock.set(t0 + 210_000);
    report(&app, &machines[3].1, &cpu(3, t0 + 210_000, 80.0)).await;
    assert!(step(&app, &rx, &mut seen).await.is_empty());
    let db_alerts = alerts(&app, &format!("?rule={}", rule["id"].as_str().unwrap())).await;
    assert_eq!(
        (
            db_alerts[0]["state"].as_str(),
            db_alerts[0]["notified"].as_bool()
        ),
        (Some("firing"), Some(false))
    );
    // The silence ends early: the still-firing alert is told now, to "all" only (warning).
    let r = app
        .req(
            "DELETE",
            &format!("/api/v1/silences/{}", silence["id"].as_str().unwrap()),
        )
        .token(&app.admin_token)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let sent = step(&app, &rx, &mut seen).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["title"], "WARNING: DB CPU on db-1");
    assert_eq!(rx.received().last().unwrap().path, "/all");

    // Bad silences and alert filters are refused by field.
    for (body, field) in [
        (json!({"ends_ms": t0}), "ends_ms"),
        (
            json!({"ends_ms": t0 + 3_600_000, "scope": {"selector": "env in ("}}),
            "scope.selector",
        ),
        (
            json!({"ends_ms": t0 + 3_600_000, "rule_id": "nope"}),
            "rule_id",
        ),
        (
            json!({"ends_ms": t0 + 3_600_000, "scope": {"groups": ["nope"]}}),
            "scope.groups",
        ),
        (
            json!({"ends_ms": t0 + 3_600_000, "scope": {"machine": "nope"}}),
            "scope.machine",
        ),
    ] {
        let r = app
            .req("POST", "/api/v1/silences")
            .token(&app.admin_token)
            .json(&body)
            .send()
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.body);
        assert_eq!(r.body["error"]["field"], field);
    }
    let (status, _) = app
        .get("/api/v1/alerts?state=burning", Some(&app.observer_token))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    rx.stop();
}

async fn agent_drops_events_disks_and_health_fire_their_rules(backend: Backend) {
    let app = TestApp::new(backend).await;
    let rx = Receiver::start().await;
    webhook(&app, &rx, "ops", json!({})).await;
    let (_, token) = app.enroll("nas-1").await;
    for body in [
        json!({"name": "drops", "kind": "agent", "window_s": 600, "severity": "warning"}),
        json!({"name": "kernel", "kind": "events", "event_severity": "critical",
               "event_pattern": "I/O ERROR", "threshold": 2, "window_s": 600, "severity": "critical"}),
        json!({"name": "disks", "kind": "disk", "disk_verdict": "failing", "severity": "critical"}),
        json!({"name": "score", "kind": "health", "threshold": 70, "clear": 72, "severity": "warning"}),
    ] {
        admin(&app, "POST", "/api/v1/rules", body).await;
    }
    let mut seen = 0;
    let t0 = app.now();
    report(&app, &token, &cpu(1, t0, 10.0)).await;
    assert!(step(&app, &rx, &mut seen).await.is_empty());

    // The agent's buffer overflowed (4 reports dropped); two matching critical kernel
    // entries; a failing disk (which also takes the score to 60).
    let mut r = cpu(2, t0 + 60_000, 10.0);
    r.outbox.dropped_total = 4;
    let entry = |ts: i64, message: &str| optralis_proto::events::SystemEvent {
        ts_ms: ts,
        last_ts_ms: ts,
        severity: optralis_proto::events::EventSeverity::Critical,
        source: "kernel".into(),
        message: message.into(),
        count: 1,
        boot_id: None,
        log: None,
        event_id: None,
    };
    r.events = Some(optralis_proto::events::EventBatch {
        source: "journald".into(),
        unavailable: None,
        events: vec![
            entry(t0 + 50_000, "blk_update_request: I/O error, dev sda"),
            entry(t0 + 55_000, "Buffer I/O error on dev sda1"),
            entry(t0 + 56_000, "unrelated critical thing"),
        ],
        suppressed: 0,
    });
    let mut failing = crate::api_disks::fixture("ata-pending.json");
    failing.smart_passed = Some(false);
    r.smart = Some(optralis_proto::smart::SmartSnapshot {
        unavailable: None,
        devices: vec![failing],
        errors: vec![],
    });
    app.clock.set(t0 + 60_000);
    report(&app, &token, &r).await;
    let sent = step(&app, &rx, &mut seen).await;
    let mut titles: Vec<String> = sent
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_owned())
        .collect();
    titles.sort();
    assert_eq!(
        titles,
        [
            "CRITICAL: disks on nas-1",
            "CRITICAL: kernel on nas-1",
            "WARNING: drops on nas-1",
            "WARNING: score on nas-1",
        ]
    );
    let detail = |rule: &str| {
        sent.iter()
            .find(|n| n["title"].as_str().unwrap().contains(rule))
            .map(|n| n["machines"][0]["detail"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(detail("kernel"), "2 events in 10 min");
    assert!(detail("drops").contains("4 in all"));
    assert!(detail("disks").contains("failing"));

    // Ten quiet minutes later (no new drops, the entries out of the window, the disk
    // replaced): all resolve.
    app.clock.set(t0 + 720_000);
    let mut r = cpu(3, t0 + 720_000, 10.0);
    r.outbox.dropped_total = 4;
    let mut healthy = crate::api_disks::fixture("ata-pending.json");
    healthy
        .ata_attributes
        .retain(|a| a.id != 197 && a.id != 198);
    healthy.smart_passed = Some(true);
    healthy.exit_status.raw = 0;
    r.smart = Some(optralis_proto::smart::SmartSnapshot {
        unavailable: None,
        devices: vec![healthy],
        errors: vec![],
    });
    report(&app, &token, &r).await;
    let sent = step(&app, &rx, &mut seen).await;
    let events: Vec<&str> = sent.iter().map(|n| n["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["resolved"; 4], "{sent:?}");
    rx.stop();
}

/// Two servers on one PostgreSQL database (replicas) evaluating the same organisation at the
/// same moment: the alert fires once and is notified once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_on_postgresql_notify_once() {
    use optralis::clock::{Clock, ManualClock, SharedClock};
    use optralis::store::Store;
    use std::sync::Arc;

    let db = crate::support::TestDb::new(Backend::Postgres).await;
    let clock = Arc::new(ManualClock::new(crate::support::T0));
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let store = Store::connect(&db.url, clock.clone() as SharedClock)
            .await
            .unwrap();
        replicas.push((
            store.clone(),
            optralis::alerting::Alerting::new(store, test_notifier(), None),
        ));
    }
    let store = &replicas[0].0;
    let org = store.org_by_name("default").await.unwrap();
    let enrolled = store
        .enroll(&org, "replica-test", &crate::support::facts("web-1"))
        .await
        .unwrap();
    let agent = store.agent_for_token(&enrolled.token).await.unwrap();
    let rule: optralis_proto::alerts::RuleSpec = serde_json::from_value(json!({
        "name": "CPU hot", "kind": "metric", "metric": "cpu.percent", "threshold": 90,
        "for_s": 60, "severity": "critical"}))
    .unwrap();
    store
        .create_rule(&org, &optralis::alerting::rules::check(rule).unwrap())
        .await
        .unwrap();
    let id = uuid::Uuid::new_v4().to_string();
    let config = optralis::notify::config::ChannelConfig::Slack {
        url: "http://127.0.0.1:9/hook".into(),
    };
    let sealed = test_notifier()
        .seal_config(org.as_str(), &id, &config)
        .unwrap();
    store
        .create_channel(
            &org,
            optralis::store::NewChannel {
                id: &id,
                name: "ops",
                kind: optralis_proto::alerts::ChannelKind::Slack,
                sealed_config: &sealed,
                shown_config: &config.shown(),
                min_severity: optralis_proto::alerts::AlertSeverity::Info,
                alert_kinds: &[],
            },
        )
        .await
        .unwrap();

    // Reports as the ingest route stores them: scored, so the machine is online.
    let ingest = |r: Report| {
        let store = store.clone();
        let agent = agent.clone();
        async move {
            let a = store
                .assess(&agent, &r, std::slice::from_ref(&r), None)
                .await
                .unwrap();
            store
                .ingest_assessed(&agent, &[r], a.map(|a| a.write))
                .await
                .unwrap();
        }
    };
    let t0 = clock.now_ms();
    ingest(cpu(1, t0, 95.0)).await;
    assert_eq!(
        replicas[0].1.evaluate_org(&org).await.unwrap(),
        0,
        "pending"
    );
    clock.set(t0 + 61_000);
    ingest(cpu(2, t0 + 61_000, 96.0)).await;
    // Both replicas see the pending alert due to fire, at once.
    for _ in 0..5 {
        let (a, b) = tokio::join!(
            replicas[0].1.evaluate_org(&org),
            replicas[1].1.evaluate_org(&org)
        );
        let queued = a.unwrap() + b.unwrap();
        let log = store.deliveries(&org, Some(&id), 10).await.unwrap();
        assert_eq!(log.len(), 1, "queued {queued} now; one notification in all");
    }
    for (s, _) in replicas {
        s.close().await;
    }
}

async fn an_offline_machine_keeps_its_metric_alerts_as_they_were(backend: Backend) {
    let app = TestApp::new(backend).await;
    let rx = Receiver::start().await;
    webhook(&app, &rx, "ops", json!({})).await;
    let (_, token) = app.enroll("web-1").await;
    admin(
        &app,
        "POST",
        "/api/v1/rules",
        json!({"name": "CPU hot", "kind": "metric", "metric": "cpu.percent", "threshold": 90,
               "severity": "critical"}),
    )
    .await;
    let mut seen = 0;
    let t0 = app.now();
    report(&app, &token, &cpu(1, t0, 97.0)).await;
    assert_eq!(step(&app, &rx, &mut seen).await.len(), 1);
    // Silent: offline. Its last values are stale: no change, nothing sent.
    app.clock.set(t0 + 600_000);
    app.store.sweep_offline().await.unwrap();
    assert!(step(&app, &rx, &mut seen).await.is_empty());
    let firing = alerts(&app, "?state=firing").await;
    assert_eq!(firing.len(), 1);
    assert_eq!(firing[0]["detail"], "CPU 97 % (above 90 %)");
    // Back, and cool: resolved.
    report(&app, &token, &cpu(2, t0 + 600_000, 20.0)).await;
    let sent = step(&app, &rx, &mut seen).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["event"], "resolved");
    rx.stop();
}
