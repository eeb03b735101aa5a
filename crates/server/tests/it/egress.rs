//! Where notifications may go and how long they may take: internal addresses refused in every
//! spelling unless the operator allows them, no credentials in URLs, nothing of a receiver's
//! answer shown, a deadline on every send (a peer that accepts and never answers), and one
//! organisation's dead receiver never holding back another organisation's deliveries.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use optralis::notify::egress::EgressPolicy;
use optralis::notify::seal::Sealer;
use optralis::notify::{Notifier, spawn_worker, test_notification};
use serde_json::{Value, json};

use crate::notify::send_test;
use crate::support::receiver::{ANSWER_BODY, Receiver};
use crate::support::{Backend, TestApp, both_backends, loopback_allowed};

both_backends!(
    internal_destinations_are_refused_in_every_spelling,
    a_silent_peer_costs_the_deadline_and_no_more,
    a_dead_receiver_does_not_hold_back_other_organisations,
);

/// The test key with `policy`, and a short deadline.
fn notifier(policy: EgressPolicy) -> Notifier {
    Notifier::with_deadline(
        Sealer::from_bytes(&[7u8; 32]).unwrap(),
        policy,
        Duration::from_secs(2),
    )
}

async fn create(app: &TestApp, kind: &str, config: Value) -> (StatusCode, Value) {
    let name = format!("{kind}-{}", uuid::Uuid::new_v4());
    crate::notify::create(app, json!({"name": name, "kind": kind, "config": config})).await
}

/// A TCP port that accepts connections and never says a word.
async fn silent_peer() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    (addr, task)
}

async fn internal_destinations_are_refused_in_every_spelling(backend: Backend) {
    let mut app = TestApp::new(backend).await;
    app.state.notifier = notifier(EgressPolicy::default());
    let rx = Receiver::start().await;
    let port = rx.addr.port();
    for url in [
        rx.url("/hook"),
        format!("http://127.1:{port}/hook"),
        format!("http://0x7f000001:{port}/hook"),
        format!("http://2130706433:{port}/hook"),
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
        format!("http://localhost:{port}/hook"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[::1]:9/hook".to_owned(),
    ] {
        let (status, ch) = create(&app, "slack", json!({"url": url})).await;
        assert_eq!(status, StatusCode::CREATED, "{ch}");
        let outcome = send_test(&app, ch["id"].as_str().unwrap()).await;
        assert_eq!(outcome["delivered"], false, "{url}");
        let error = outcome["error"].as_str().unwrap();
        assert!(error.contains("not allowed"), "{url}: {error}");
    }
    let (status, ch) = create(
        &app,
        "email",
        json!({"host": "127.0.0.1", "port": port, "tls": "none", "from": "a@example.com", "to": ["b@example.com"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    let outcome = send_test(&app, ch["id"].as_str().unwrap()).await;
    assert!(
        outcome["error"].as_str().unwrap().contains("not allowed"),
        "{outcome}"
    );
    assert!(
        rx.received().is_empty(),
        "nothing reached the internal service"
    );

    // Credentials in a URL would go out as Basic authentication.
    let (status, body) = create(
        &app,
        "webhook",
        json!({"url": "https://user:pw@hooks.example.com/x", "secret": "0123456789abcdef0123"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["field"], "config.url");

    // Allowed by the operator: it is reached, and its answer is not repeated.
    app.state.notifier = notifier(loopback_allowed());
    rx.script(&[(500, &[])]);
    let (_, ch) = create(&app, "slack", json!({"url": rx.url("/internal")})).await;
    let outcome = send_test(&app, ch["id"].as_str().unwrap()).await;
    let error = outcome["error"].as_str().unwrap();
    assert!(error.ends_with("answered 500"), "{error}");
    assert!(!error.contains("receiver-body-must-not-leak") && !ANSWER_BODY.is_empty());
    assert_eq!(rx.received().len(), 1);
    rx.stop();
}

async fn a_silent_peer_costs_the_deadline_and_no_more(backend: Backend) {
    let mut app = TestApp::new(backend).await;
    app.state.notifier = notifier(loopback_allowed());
    let (addr, peer) = silent_peer().await;
    let (_, email) = create(
        &app,
        "email",
        json!({"host": "127.0.0.1", "port": addr.port(), "tls": "none", "from": "a@example.com", "to": ["b@example.com"]}),
    )
    .await;
    let (_, hook) = create(&app, "slack", json!({"url": format!("http://{addr}/hook")})).await;
    for ch in [email, hook] {
        let started = Instant::now();
        let outcome = send_test(&app, ch["id"].as_str().unwrap()).await;
        let took = started.elapsed();
        assert_eq!(outcome["delivered"], false);
        let error = outcome["error"].as_str().unwrap();
        assert!(error.contains("did not answer"), "{error}");
        assert!(took < Duration::from_secs(6), "answered after {took:?}");
    }
    peer.abort();
}

async fn a_dead_receiver_does_not_hold_back_other_organisations(backend: Backend) {
    let app = TestApp::new(backend).await;
    let notifier = notifier(loopback_allowed());
    let (addr, peer) = silent_peer().await;
    let rx = Receiver::start().await;
    let other = app.store.create_org("other").await.unwrap();

    // The default organisation: 40 alerts queued for a receiver that never answers.
    let dead =
        crate::notify::webhook_channel(&app.store, &app.org, &format!("http://{addr}/")).await;
    let n = test_notification(
        "default",
        optralis_proto::vocabulary::Language::En,
        app.now(),
    );
    for _ in 0..40 {
        app.store
            .enqueue_delivery(&app.org, &dead.id, &n)
            .await
            .unwrap();
    }
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let worker = spawn_worker(app.store.clone(), notifier.clone(), stop_rx);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Another organisation's alert goes out at once, not after the dead receiver's deadlines.
    let alive = crate::notify::webhook_channel(&app.store, &other, &rx.url("/alive")).await;
    app.store
        .enqueue_delivery(&other, &alive.id, &n)
        .await
        .unwrap();
    notifier.wake();
    let started = Instant::now();
    while rx.received().is_empty() {
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "the other organisation's delivery waited behind the dead receiver"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(true);
    worker.await.unwrap();
    peer.abort();
    rx.stop();
}
