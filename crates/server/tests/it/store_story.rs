//! The store's story, on both backends: enroll, ingest, replay, query, roll up, backfill,
//! expire, and never show one organisation's machines to another.

use optralis::ids::MachineId;
use optralis::store::{Retention, SeriesQuery, StoreError, find_metric};
use optralis_proto::sample;

use crate::support::{Backend, T0, TestApp, both_backends, facts};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

both_backends!(
    enroll_is_stable_per_fingerprint,
    concurrent_ingests_commit_together_exactly_once,
    ingest_is_idempotent_and_keeps_latest,
    series_reads_raw_then_rollups_with_exact_aggregates,
    backfilled_samples_are_rolled_up,
    retention_expires_each_tier,
    machines_are_invisible_across_organisations,
    rows_written_by_earlier_versions_stay_readable,
);

/// What earlier versions stored and the vocabulary enums would refuse: a `metric`/`op` on a
/// rule of another kind (accepted and ignored then), audit actions since renamed. They read
/// back, so an organisation's rules and audit log keep working after an upgrade.
async fn rows_written_by_earlier_versions_stay_readable(backend: Backend) {
    let app = TestApp::new(backend).await;
    let org = app.org.to_string();
    let spec = r#"{"name":"old","kind":"offline","op":"over","metric":"cpu","severity":"critical","for_s":0,"reminder_s":0,"enabled":true}"#;
    crate::support::run_sql(
        app.db_url(),
        &format!(
            "INSERT INTO rules (id, org_id, name, spec, created_ms) VALUES ('r-old', '{org}', 'old', '{spec}', 1)"
        ),
    )
    .await;
    for action in ["user.added", "org.fleet_settings"] {
        crate::support::run_sql(
            app.db_url(),
            &format!(
                "INSERT INTO audit_log (org_id, ts_ms, actor, action) VALUES ('{org}', 2, 'cli', '{action}')"
            ),
        )
        .await;
    }
    let rules = app.store.list_rules(&app.org).await.unwrap();
    let old = rules
        .iter()
        .find(|r| r.id == "r-old")
        .expect("the old rule");
    assert_eq!(old.spec.op, None);
    assert_eq!(old.spec.metric, None);
    let actions: Vec<_> = app
        .store
        .list_audit(Some(&app.org), None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action.as_str())
        .collect();
    assert!(actions.contains(&"user.invited"), "{actions:?}");
    assert!(actions.contains(&"org.settings"), "{actions:?}");
}

async fn enroll_is_stable_per_fingerprint(backend: Backend) {
    let app = TestApp::new(backend).await;
    let org = app.store.org_by_name("default").await.unwrap();
    let first = app
        .store
        .enroll(&org, "fingerprint-aaaaaaaaaaaa", &facts("web-1"))
        .await
        .unwrap();
    // Its fingerprint alone (anyone reading /etc/machine-id has it) makes a new machine and
    // leaves the known one as it was.
    let impostor = app
        .store
        .enroll(&org, "fingerprint-aaaaaaaaaaaa", &facts("web-1"))
        .await
        .unwrap();
    assert_ne!(impostor.machine_id, first.machine_id);
    assert_eq!(
        app.store
            .agent_for_token(&first.token)
            .await
            .unwrap()
            .machine_id,
        first.machine_id,
        "the known machine's token still works"
    );
    app.store
        .delete_machine(&org, &impostor.machine_id)
        .await
        .unwrap();
    // With its current token as proof, the same machine keeps its id.
    let again = app
        .store
        .reenroll(&org, &first.token, &facts("web-1-renamed"))
        .await
        .unwrap()
        .expect("the proof fits");
    assert_eq!(
        first.machine_id, again.machine_id,
        "same machine keeps its id"
    );
    assert_ne!(first.token, again.token);
    // The old token stops working; the new one identifies the machine.
    assert!(matches!(
        app.store.agent_for_token(&first.token).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        app.store
            .agent_for_token(&again.token)
            .await
            .unwrap()
            .machine_id,
        first.machine_id
    );
    let other = app
        .store
        .enroll(&org, "fingerprint-bbbbbbbbbbbb", &facts("web-2"))
        .await
        .unwrap();
    assert_ne!(other.machine_id, first.machine_id);
    let list = app.store.list_machines(&org).await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].hostname, "web-1-renamed");
}

async fn ingest_is_idempotent_and_keeps_latest(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (id, token) = app.enroll("db-1").await;
    let agent = app.agent(&token).await;
    let now = app.now();
    let reports: Vec<_> = (1..=5)
        .map(|s| sample::report(s, now - (5 - s as i64) * MIN))
        .collect();

    let out = app.store.ingest_reports(&agent, &reports).await.unwrap();
    assert_eq!((out.inserted, out.duplicates), (5, 0));
    // A replay after a lost acknowledgement stores nothing twice.
    let out = app
        .store
        .ingest_reports(&agent, &reports[2..])
        .await
        .unwrap();
    assert_eq!((out.inserted, out.duplicates), (0, 3));

    let org = app.store.org_by_name("default").await.unwrap();
    let m = app
        .store
        .get_machine(&org, &MachineId::from_path(&id))
        .await
        .unwrap();
    let latest = m.latest.expect("latest values");
    assert_eq!(latest.ts_ms, reports[4].ts_ms);
    assert_eq!(latest.cpu_percent, reports[4].cpu.percent);
    assert_eq!(latest.filesystems.len(), 4);
    assert_eq!(m.last_seen_ms, Some(now));

    // An older report arriving late does not replace the latest values.
    let late = sample::report(9, now - 30 * MIN);
    app.store.ingest_reports(&agent, &[late]).await.unwrap();
    let m = app
        .store
        .get_machine(&org, &MachineId::from_path(&id))
        .await
        .unwrap();
    assert_eq!(m.latest.unwrap().ts_ms, reports[4].ts_ms);

    let q = last_hour("cpu.percent", None, now);
    let s = app
        .store
        .series(&org, &MachineId::from_path(&id), &q, &Retention::default())
        .await
        .unwrap();
    assert_eq!(s.tier, "raw");
    assert_eq!(
        s.points.len(),
        6,
        "5 reports + the late one, each once: {:?}",
        s.points
    );
}

/// The hour before `now` of one series, at its finest resolution.
fn last_hour(metric: &str, instance: Option<&'static str>, now: i64) -> SeriesQuery<'static> {
    SeriesQuery {
        metric: find_metric(optralis_proto::metrics::MetricName::parse(metric).unwrap()).unwrap(),
        instance,
        from_ms: now - HOUR,
        to_ms: now,
        step_s: None,
    }
}

/// One report a minute for three hours, with cpu = minute of the hour; returns the
/// machine's token and id.
async fn three_hours(app: &TestApp, start: i64) -> (String, MachineId) {
    let (id, token) = app.enroll("rollup-1").await;
    let agent = app.agent(&token).await;
    let reports: Vec<_> = (0..180)
        .map(|i| {
            let mut r = sample::report(i + 1, start + i as i64 * MIN);
            r.cpu.percent = (i % 60) as f64;
            r
        })
        .collect();
    app.store.ingest_reports(&agent, &reports).await.unwrap();
    (token, MachineId::from_path(&id))
}

async fn series_reads_raw_then_rollups_with_exact_aggregates(backend: Backend) {
    let app = TestApp::new(backend).await;
    let start = T0 - T0.rem_euclid(HOUR) - 3 * HOUR;
    let (token, machine) = three_hours(&app, start).await;
    let org = app.store.org_by_name("default").await.unwrap();
    app.store.run_rollups().await.unwrap();

    let cpu =
        find_metric(optralis_proto::metrics::MetricName::parse("cpu.percent").unwrap()).unwrap();
    let r = Retention::default();
    // 5-minute buckets: minutes 0..4 of each hour average to 2.
    let q = SeriesQuery {
        metric: cpu,
        instance: None,
        from_ms: start,
        to_ms: start + 3 * HOUR,
        step_s: Some(300),
    };
    let s = app.store.series(&org, &machine, &q, &r).await.unwrap();
    assert_eq!(s.tier, "5m");
    assert_eq!(s.step_s, 300);
    assert_eq!(s.points.len(), 36, "{:?}", s.points);
    assert_eq!(s.points[0], (start, 2.0));
    assert_eq!(s.points[11], (start + 55 * MIN, 57.0));

    // Hourly buckets: the mean of 0..59 is 29.5.
    let q = SeriesQuery {
        step_s: Some(3600),
        ..q
    };
    let s = app.store.series(&org, &machine, &q, &r).await.unwrap();
    assert_eq!(s.tier, "1h");
    assert_eq!(
        s.points,
        vec![
            (start, 29.5),
            (start + HOUR, 29.5),
            (start + 2 * HOUR, 29.5)
        ]
    );

    // Per-filesystem series roll up per instance.
    let fs =
        find_metric(optralis_proto::metrics::MetricName::parse("filesystem.used_bytes").unwrap())
            .unwrap();
    let q = SeriesQuery {
        metric: fs,
        instance: Some("/home"),
        from_ms: start,
        to_ms: start + HOUR,
        step_s: Some(3600),
    };
    let s = app.store.series(&org, &machine, &q, &r).await.unwrap();
    assert_eq!(s.points.len(), 1);
    let expected = 30.0 * 1024f64.powi(3) + (1..=60).sum::<i64>() as f64 / 60.0;
    assert!(
        (s.points[0].1 - expected).abs() < 1e-3,
        "{} vs {expected}",
        s.points[0].1
    );

    // A range that ends past the rollups reads the tail from raw samples, and the switch
    // between the two never yields the same bucket twice.
    let agent = app.agent(&token).await;
    let tail: Vec<_> = (0..3)
        .map(|i| sample::report(500 + i, app.now() - 60_000 + i as i64 * 10_000))
        .collect();
    app.store.ingest_reports(&agent, &tail).await.unwrap();
    let q = SeriesQuery {
        metric: cpu,
        instance: None,
        from_ms: app.now() - 8 * 24 * HOUR,
        to_ms: app.now(),
        step_s: None,
    };
    let s = app.store.series(&org, &machine, &q, &r).await.unwrap();
    assert_eq!(s.tier, "5m");
    assert!(
        s.points.windows(2).all(|w| w[0].0 < w[1].0),
        "{:?}",
        s.points
    );
    assert!(
        s.points.last().unwrap().0 >= app.now() - 15 * MIN,
        "the raw tail is there: {:?}",
        s.points.last()
    );

    // 30 days read from rollups stay around a thousand points.
    app.clock.set(start + 30 * 24 * HOUR);
    let q = SeriesQuery {
        metric: cpu,
        instance: None,
        from_ms: app.now() - 30 * 24 * HOUR,
        to_ms: app.now(),
        step_s: None,
    };
    let s = app.store.series(&org, &machine, &q, &r).await.unwrap();
    assert_eq!(s.tier, "5m");
    assert!(s.points.len() <= 1001);
}

async fn backfilled_samples_are_rolled_up(backend: Backend) {
    let app = TestApp::new(backend).await;
    let start = T0 - T0.rem_euclid(HOUR) - 3 * HOUR;
    let (_, machine) = three_hours(&app, start).await;
    let org = app.store.org_by_name("default").await.unwrap();
    app.store.run_rollups().await.unwrap();

    // A second machine comes back from an outage and backfills the first hour.
    let (_, token) = app.enroll("late-1").await;
    let agent = app.agent(&token).await;
    let late: Vec<_> = (0..60)
        .map(|i| {
            let mut r = sample::report(i + 1, start + i as i64 * MIN);
            r.cpu.percent = 80.0;
            r
        })
        .collect();
    app.store.ingest_reports(&agent, &late).await.unwrap();
    assert!(
        app.store.run_rollups().await.unwrap() > 0,
        "the backfill is rolled up again"
    );
    // A current report does not move the watermark back: nothing to redo.
    let now_report = sample::report(1000, app.now() - MIN);
    app.store
        .ingest_reports(&agent, &[now_report])
        .await
        .unwrap();
    assert_eq!(app.store.run_rollups().await.unwrap(), 0);

    let q = SeriesQuery {
        metric: find_metric(optralis_proto::metrics::MetricName::parse("cpu.percent").unwrap())
            .unwrap(),
        instance: None,
        from_ms: start,
        to_ms: start + HOUR,
        step_s: Some(3600),
    };
    let r = Retention::default();
    let late_machine = optralis::ids::MachineId::from_path(
        &app.store
            .list_machines(&org)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.hostname == "late-1")
            .unwrap()
            .id,
    );
    let s = app.store.series(&org, &late_machine, &q, &r).await.unwrap();
    assert_eq!(s.points, vec![(start, 80.0)]);
    // The first machine's rollups are untouched by the recomputation.
    let s = app.store.series(&org, &machine, &q, &r).await.unwrap();
    assert_eq!(s.points, vec![(start, 29.5)]);
}

async fn retention_expires_each_tier(backend: Backend) {
    let app = TestApp::new(backend).await;
    let start = T0 - T0.rem_euclid(HOUR) - 3 * HOUR;
    let (_, machine) = three_hours(&app, start).await;
    let org = app.store.org_by_name("default").await.unwrap();
    app.store.run_rollups().await.unwrap();
    let r = Retention {
        raw_ms: 24 * HOUR,
        five_min_ms: 48 * HOUR,
        hour_ms: 72 * HOUR,
        events_ms: 24 * HOUR,
    };
    let cpu =
        find_metric(optralis_proto::metrics::MetricName::parse("cpu.percent").unwrap()).unwrap();
    let count = |tier_step: Option<u64>, from: i64, to: i64| {
        let store = app.store.clone();
        let machine = machine.clone();
        let org = org.clone();
        async move {
            let q = SeriesQuery {
                metric: cpu,
                instance: None,
                from_ms: from,
                to_ms: to,
                step_s: tier_step,
            };
            store
                .series(
                    &org,
                    &machine,
                    &q,
                    &Retention {
                        raw_ms: i64::MAX / 4,
                        five_min_ms: i64::MAX / 4,
                        hour_ms: i64::MAX / 4,
                        events_ms: i64::MAX / 4,
                    },
                )
                .await
                .unwrap()
                .points
                .len()
        }
    };
    // 30 hours later: raw gone, rollups kept.
    app.clock.set(start + 30 * HOUR);
    assert!(app.store.apply_retention(&r).await.unwrap() > 0);
    assert_eq!(count(None, start, start + 3 * HOUR).await, 0, "raw expired");
    assert_eq!(count(Some(300), start, start + 3 * HOUR).await, 36);
    // 60 hours later: 5-minute buckets gone too, hourly kept.
    app.clock.set(start + 60 * HOUR);
    app.store.apply_retention(&r).await.unwrap();
    assert_eq!(count(Some(300), start, start + 3 * HOUR).await, 0);
    assert_eq!(count(Some(3600), start, start + 3 * HOUR).await, 3);
    app.clock.set(start + 100 * HOUR);
    app.store.apply_retention(&r).await.unwrap();
    assert_eq!(count(Some(3600), start, start + 3 * HOUR).await, 0);
}

async fn machines_are_invisible_across_organisations(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (id, _) = app.enroll("acme-web").await;
    let other = app.store.create_org("globex").await.unwrap();
    let machine = MachineId::from_path(&id);
    assert!(app.store.list_machines(&other).await.unwrap().is_empty());
    assert!(matches!(
        app.store.get_machine(&other, &machine).await,
        Err(StoreError::NotFound)
    ));
    let q = last_hour("cpu.percent", None, app.now());
    assert!(matches!(
        app.store
            .series(&other, &machine, &q, &Retention::default())
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        app.store.create_org("globex").await,
        Err(StoreError::Conflict(_))
    ));
}

/// Many machines at once, some sending the same reports twice concurrently: the writer
/// groups them into shared transactions, and every report is stored exactly once.
async fn concurrent_ingests_commit_together_exactly_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let now = app.now();
    let mut tasks = Vec::new();
    let mut ids = Vec::new();
    for m in 0..12 {
        let (id, token) = app.enroll(&format!("burst-{m}")).await;
        ids.push(id);
        let agent = app.agent(&token).await;
        for copy in 0..2 {
            let store = app.store.clone();
            let agent = agent.clone();
            tasks.push(tokio::spawn(async move {
                let reports: Vec<_> = (1..=5)
                    .map(|s| sample::report(s, now - (10 - s as i64) * MIN))
                    .collect();
                let out = store.ingest_reports(&agent, &reports).await.unwrap();
                (copy, out)
            }));
        }
    }
    let mut inserted = 0;
    for t in tasks {
        let (_, out) = t.await.unwrap();
        assert_eq!(out.inserted + out.duplicates, 5);
        inserted += out.inserted;
    }
    assert_eq!(
        inserted,
        12 * 5,
        "each report stored by exactly one of its two senders"
    );
    let org = app.store.org_by_name("default").await.unwrap();
    for id in ids {
        let q = last_hour("disk.busy_percent", Some("sda"), now);
        let s = app
            .store
            .series(&org, &MachineId::from_path(&id), &q, &Retention::default())
            .await
            .unwrap();
        assert_eq!(s.points.len(), 5);
    }
}
