//! Fair limits: selectors of bounded size in rules and silences, a cap on rules, channels and
//! silences per organisation, on event streams per caller and per organisation, and on the
//! HTTP listener's connections with a deadline for request headers.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use optralis::api::limits::Limits;
use optralis::serve::{HttpLimits, serve};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Backend, TestApp, both_backends};

both_backends!(organisations_have_limits, event_streams_are_capped);

async fn organisations_have_limits(backend: Backend) {
    let mut app = TestApp::new(backend).await;
    let mut settings = (*app.state.settings).clone();
    settings.limits = Limits {
        rules_per_org: 2,
        channels_per_org: 1,
        silences_per_org: 1,
        ..Limits::default()
    };
    app.state.settings = std::sync::Arc::new(settings);
    let token = app.admin_token.clone();
    let post = |path: &'static str, body: serde_json::Value| {
        let (app, token) = (&app, token.clone());
        async move { app.req("POST", path).token(&token).json(&body).send().await }
    };

    // A 20,000-requirement selector is refused in rules and silences alike.
    let huge = (0..20_000)
        .map(|i| format!("k{i}=v"))
        .collect::<Vec<_>>()
        .join(",");
    let rule = |selector: &str| {
        json!({"name": "cpu", "kind": "metric", "metric": "cpu.percent", "threshold": 90,
               "for_s": 60, "severity": "warning", "scope": {"selector": selector}})
    };
    let r = post("/api/v1/rules", rule(&huge)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.body["error"]["field"], "scope.selector");
    let silence = |selector: &str, now: i64| json!({"ends_ms": now + 3_600_000, "reason": "maintenance", "scope": {"selector": selector}});
    let r = post("/api/v1/silences", silence(&huge, app.now())).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    // The organisation's rules: the default set may already fill the limit.
    let existing = app.get("/api/v1/rules", Some(&token)).await.1["rules"]
        .as_array()
        .unwrap()
        .len();
    let r = post("/api/v1/rules", rule("env=prod")).await;
    if existing >= 2 {
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }
    let mut last = r;
    for _ in 0..3 {
        last = post("/api/v1/rules", rule("env=prod")).await;
    }
    assert_eq!(last.status, StatusCode::FORBIDDEN, "{}", last.body);
    assert_eq!(last.body["error"]["code"], "limit_reached");

    let r = post("/api/v1/silences", silence("env=prod", app.now())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = post("/api/v1/silences", silence("env=prod", app.now())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    let hook = |n: u32| json!({"name": format!("hook{n}"), "kind": "slack", "config": {"url": "https://hooks.example.com/x"}});
    assert_eq!(
        post("/api/v1/channels", hook(1)).await.status,
        StatusCode::CREATED
    );
    let r = post("/api/v1/channels", hook(2)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "limit_reached");
}

async fn event_streams_are_capped(backend: Backend) {
    let mut app = TestApp::new(backend).await;
    let mut settings = (*app.state.settings).clone();
    settings.limits.streams_per_caller = 2;
    app.state.settings = std::sync::Arc::new(settings);
    let open = |token: String| {
        let router = optralis::app(app.state.clone());
        async move {
            use tower::ServiceExt;
            router
                .oneshot(
                    axum::http::Request::get("/api/v1/stream")
                        .header("Authorization", format!("Bearer {token}"))
                        .body(axum::body::Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap()
        }
    };
    let first = open(app.admin_token.clone()).await;
    let second = open(app.admin_token.clone()).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(second.status(), StatusCode::OK);
    let third = open(app.admin_token.clone()).await;
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(third.headers().contains_key("retry-after"));
    // Another caller is not held back by this one.
    assert_eq!(
        open(app.observer_token.clone()).await.status(),
        StatusCode::OK
    );
    // A closed stream frees its slot.
    drop(first);
    assert_eq!(open(app.admin_token.clone()).await.status(), StatusCode::OK);
}

/// Clients that trickle their headers are closed after the deadline, and while the
/// connection cap is reached a new client waits, then is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_connections_capped() {
    let app = TestApp::new(Backend::Sqlite).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, mut stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(serve(
        listener,
        optralis::app(app.state.clone()),
        HttpLimits {
            max_connections: 3,
            header_read_timeout_s: 1,
        },
        async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        },
    ));
    let health = "GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

    // Three slow clients take every connection, sending a header line now and then.
    let mut slow = Vec::new();
    for _ in 0..3 {
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET /api/v1/health HTTP/1.1\r\n")
            .await
            .unwrap();
        slow.push(c);
    }
    let trickle = tokio::spawn(async move {
        for i in 0..10 {
            for c in &mut slow {
                let _ = c.write_all(format!("X-Slow-{i}: 1\r\n").as_bytes()).await;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        slow
    });

    // A fourth client waits for a free connection, then is served once the slow ones are
    // cut off (after the 1 s deadline, though they keep sending).
    let started = Instant::now();
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    c.write_all(health.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), c.read_to_string(&mut answer))
        .await
        .expect("served within the deadline")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(700),
        "the cap let a fourth connection in at once ({waited:?})"
    );

    // The slow clients were closed by the server.
    let mut slow = trickle.await.unwrap();
    for c in &mut slow {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(2), c.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "a slow client was still connected");
    }
    let _ = stop.send(true);
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops")
        .unwrap();
}
