//! Notification channels against real receivers: HTTP servers on local ports for Slack,
//! Discord, Teams and the signed webhook, and a real SMTP server (aiosmtpd, with STARTTLS and
//! authentication) for email. Secrets never come back out of the API; the delivery queue
//! retries with backoff, honours Retry-After, and survives a server restart without sending
//! anything twice.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::http::StatusCode;
use hmac::{Hmac, Mac};
use optralis::notify::{deliver_due, test_notification};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::receiver::Receiver;
use crate::support::{Backend, RunningServer, TestApp, TestDb, both_backends, test_notifier};

both_backends!(
    channels_keep_their_secrets,
    test_messages_reach_each_service_in_its_format,
    retries_back_off_and_honour_retry_after,
    pending_deliveries_survive_a_restart_and_go_once,
);

pub async fn create(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let r = app
        .req("POST", "/api/v1/channels")
        .token(&app.admin_token)
        .json(&body)
        .send()
        .await;
    (r.status, r.body)
}

pub async fn send_test(app: &TestApp, id: &str) -> Value {
    let r = app
        .req("POST", &format!("/api/v1/channels/{id}/test"))
        .token(&app.admin_token)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

const SECRET: &str = "whsec-0123456789abcdef";

async fn channels_keep_their_secrets(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (status, ch) = create(
        &app,
        json!({"name": "ops hook", "kind": "webhook",
               "config": {"url": "https://hooks.example.com/T000/B000/XXXX", "secret": SECRET},
               "min_severity": "warning", "alert_kinds": ["offline", "disk"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    assert_eq!(
        ch["config"],
        json!({"url": "https://hooks.example.com/…", "secret": "set"})
    );
    assert_eq!(ch["min_severity"], "warning");
    assert_eq!(ch["alert_kinds"], json!(["offline", "disk"]));
    let id = ch["id"].as_str().unwrap().to_owned();

    // Nothing the API answers, and nothing stored in clear, holds a secret.
    for path in [
        "/api/v1/channels".to_owned(),
        format!("/api/v1/channels/{id}"),
    ] {
        let (status, body) = app.get(&path, Some(&app.observer_token)).await;
        assert_eq!(status, StatusCode::OK);
        let text = body.to_string();
        assert!(!text.contains(SECRET) && !text.contains("XXXX"), "{text}");
    }
    let stored = app.store.channel(&app.org, &id).await.unwrap();
    assert!(!stored.sealed_config.contains(SECRET));
    assert!(!stored.sealed_config.contains("XXXX"));

    // An update without the secrets keeps them; a bad field is named; names are unique.
    let r = app
        .req("PATCH", &format!("/api/v1/channels/{id}"))
        .token(&app.admin_token)
        .json(&json!({"name": "ops", "config": {}}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let opened = test_notifier()
        .open_config(&app.store.channel(&app.org, &id).await.unwrap())
        .unwrap();
    assert_eq!(
        serde_json::to_value(&opened).unwrap(),
        json!({"kind": "webhook", "url": "https://hooks.example.com/T000/B000/XXXX", "secret": SECRET})
    );
    for (body, field) in [
        (
            json!({"name": "x", "kind": "webhook", "config": {"url": "https://h/x", "secret": "short"}}),
            "config.secret",
        ),
        (
            json!({"name": "x", "kind": "slack", "config": {"url": "hooks.slack.com/x"}}),
            "config.url",
        ),
        (
            json!({"name": "x", "kind": "email", "config": {"host": "smtp", "from": "me", "to": ["a@b.c"]}}),
            "config.from",
        ),
        (
            json!({"name": "x", "kind": "slack", "config": {"url": "https://h/x"}, "alert_kinds": ["cpu"]}),
            "alert_kinds",
        ),
    ] {
        let (status, err) = create(&app, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        assert_eq!(err["error"]["field"], field);
    }
    let (status, _) = create(
        &app,
        json!({"name": "ops", "kind": "slack", "config": {"url": "https://h/x"}}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = create(&app, json!({"name": "y", "kind": "sms", "config": {}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Observers read but do not change; delete removes it.
    let r = app
        .req("POST", &format!("/api/v1/channels/{id}/test"))
        .token(&app.observer_token)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .req("DELETE", &format!("/api/v1/channels/{id}"))
        .token(&app.admin_token)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .get(&format!("/api/v1/channels/{id}"), Some(&app.admin_token))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn verify_signature(body: &[u8], header: &str) {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(header, want, "HMAC-SHA256 of the raw body with the secret");
}

async fn test_messages_reach_each_service_in_its_format(backend: Backend) {
    let app = TestApp::new(backend).await;
    let rx = Receiver::start().await;
    let mut ids = Vec::new();
    for (kind, config) in [
        ("webhook", json!({"url": rx.url("/hook"), "secret": SECRET})),
        ("slack", json!({"url": rx.url("/services/T0/B0/slack")})),
        ("discord", json!({"url": rx.url("/api/webhooks/1/discord")})),
        ("teams", json!({"url": rx.url("/workflows/teams")})),
    ] {
        let (status, ch) =
            create(&app, json!({"name": kind, "kind": kind, "config": config})).await;
        assert_eq!(status, StatusCode::CREATED, "{ch}");
        ids.push(ch["id"].as_str().unwrap().to_owned());
        assert_eq!(
            send_test(&app, ids.last().unwrap()).await,
            json!({"delivered": true})
        );
    }
    let got = rx.received();
    assert_eq!(got.len(), 4);
    for r in &got {
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/json")
        );
        assert!(r.header("x-optralis-delivery").is_some());
    }

    // The generic webhook: the notification itself, signed.
    let hook = &got[0];
    assert_eq!(hook.path, "/hook");
    verify_signature(&hook.body, &hook.header("x-optralis-signature").unwrap());
    let n = hook.json();
    assert_eq!(n["event"], "test");
    assert_eq!(n["title"], "Optralis test message");
    assert_eq!(n["organisation"], "default");
    assert_eq!(n["language"], "en");

    // Slack incoming webhook: `text` fallback and Block Kit blocks.
    let slack = got[1].json();
    assert_eq!(slack["text"], "Optralis test message");
    let blocks = slack["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    assert_eq!(blocks[1]["type"], "section");
    assert_eq!(blocks[1]["text"]["type"], "mrkdwn");
    assert!(got[1].header("x-optralis-signature").is_none());

    // Discord webhook: embeds with title, description, integer colour, ISO 8601 timestamp.
    let discord = got[2].json();
    let embed = &discord["embeds"][0];
    assert_eq!(embed["title"], "Optralis test message");
    assert!(embed["color"].is_u64());
    assert!(embed["timestamp"].as_str().unwrap().ends_with('Z'));

    // Teams: a message with one Adaptive Card attachment.
    let teams = got[3].json();
    assert_eq!(teams["type"], "message");
    let att = &teams["attachments"][0];
    assert_eq!(
        att["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(att["content"]["type"], "AdaptiveCard");
    assert_eq!(att["content"]["version"], "1.4");
    assert_eq!(att["content"]["body"][0]["type"], "TextBlock");

    // In French when the organisation says so.
    let r = app
        .req("PATCH", "/api/v1/org")
        .token(&app.admin_token)
        .json(&json!({"language": "fr"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    send_test(&app, &ids[0]).await;
    assert_eq!(
        rx.received()[4].json()["title"],
        "Message de test d'Optralis"
    );

    // A receiver that refuses: the outcome says why, and the log has it.
    rx.script(&[(404, &[])]);
    let outcome = send_test(&app, &ids[1]).await;
    assert_eq!(outcome["delivered"], false);
    assert!(
        outcome["error"].as_str().unwrap().contains("answered 404"),
        "{outcome}"
    );
    assert!(
        !outcome["error"].as_str().unwrap().contains("/services/"),
        "no URL path in errors"
    );
    let (status, log) = app
        .get(
            &format!("/api/v1/channels/{}/deliveries", ids[1]),
            Some(&app.observer_token),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let log = log["deliveries"].as_array().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(
        (log[0]["status"].as_str(), log[0]["attempts"].as_i64()),
        (Some("failed"), Some(1))
    );
    assert_eq!(log[1]["status"], "delivered");
    rx.stop();
}

/// A webhook channel straight through the store, sealed with the test key.
pub async fn webhook_channel(
    app_store: &optralis::store::Store,
    org: &optralis::ids::OrgId,
    url: &str,
) -> optralis::store::StoredChannel {
    let id = uuid::Uuid::new_v4().to_string();
    let config = optralis::notify::config::ChannelConfig::Webhook {
        url: url.to_owned(),
        secret: SECRET.to_owned(),
    };
    let sealed = test_notifier()
        .seal_config(org.as_str(), &id, &config)
        .unwrap();
    app_store
        .create_channel(
            org,
            optralis::store::NewChannel {
                id: &id,
                name: &format!("hook-{id}"),
                kind: optralis_proto::alerts::ChannelKind::Webhook,
                sealed_config: &sealed,
                shown_config: &config.shown(),
                min_severity: optralis_proto::alerts::AlertSeverity::Info,
                alert_kinds: &[],
            },
        )
        .await
        .unwrap()
}

async fn retries_back_off_and_honour_retry_after(backend: Backend) {
    let app = TestApp::new(backend).await;
    let rx = Receiver::start().await;
    let ch = webhook_channel(&app.store, &app.org, &rx.url("/hook")).await;
    let notifier = test_notifier();
    let n = test_notification(
        "default",
        optralis_proto::vocabulary::Language::En,
        app.now(),
    );
    let id = app
        .store
        .enqueue_delivery(&app.org, &ch.id, &n)
        .await
        .unwrap();
    let status = |app: &TestApp| {
        let store = app.store.clone();
        let org = app.org.clone();
        let ch = ch.id.clone();
        async move {
            let d = store.deliveries(&org, Some(&ch), 10).await.unwrap();
            let d = d.into_iter().find(|d| d.id == id).unwrap();
            (d.status, d.attempts, d.next_attempt_ms, d.last_error)
        }
    };

    // Rate limited: the receiver's Retry-After (30 s) decides the next attempt.
    rx.script(&[(429, &[("Retry-After", "30")]), (503, &[])]);
    assert_eq!(deliver_due(&app.store, &notifier).await.unwrap(), 1);
    let t0 = app.now();
    let (s, attempts, next, error) = status(&app).await;
    assert_eq!(
        (s.as_str(), attempts, next),
        ("pending", 1, Some(t0 + 30_000))
    );
    assert!(error.unwrap().contains("429"));
    app.clock.set(t0 + 29_000);
    assert_eq!(
        deliver_due(&app.store, &notifier).await.unwrap(),
        0,
        "not before it"
    );
    assert_eq!(rx.received().len(), 1);

    // Down: exponential backoff (5 s after the first failure without Retry-After... then 10 s).
    app.clock.set(t0 + 30_000);
    assert_eq!(deliver_due(&app.store, &notifier).await.unwrap(), 1);
    let (s, attempts, next, _) = status(&app).await;
    assert_eq!(
        (s.as_str(), attempts, next),
        ("pending", 2, Some(t0 + 40_000))
    );
    app.clock.set(t0 + 40_000);
    assert_eq!(deliver_due(&app.store, &notifier).await.unwrap(), 1);
    let (s, attempts, _, _) = status(&app).await;
    assert_eq!((s.as_str(), attempts), ("delivered", 3));
    let got = rx.received();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter()
            .all(|r| r.header("x-optralis-delivery") == Some(id.to_string()))
    );
    assert_eq!(
        deliver_due(&app.store, &notifier).await.unwrap(),
        0,
        "delivered once"
    );

    // A receiver that says the message is wrong (400) is not retried.
    let id2 = app
        .store
        .enqueue_delivery(&app.org, &ch.id, &n)
        .await
        .unwrap();
    rx.script(&[(400, &[])]);
    deliver_due(&app.store, &notifier).await.unwrap();
    let d = app
        .store
        .deliveries(&app.org, Some(&ch.id), 10)
        .await
        .unwrap();
    let d2 = d.iter().find(|d| d.id == id2).unwrap();
    assert_eq!((d2.status.as_str(), d2.attempts), ("failed", 1));
    rx.stop();
}

async fn pending_deliveries_survive_a_restart_and_go_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = RunningServer::start(&db.url, None).await;
    let org = server.store().org_by_name("default").await.unwrap();
    let rx = Receiver::start().await;
    let ch = webhook_channel(server.store(), &org, &rx.url("/hook")).await;
    // The receiver is overloaded: every first attempt is told to come back in 1 s.
    let busy: &[(&str, &str)] = &[("Retry-After", "1")];
    rx.script(&[(429, busy), (429, busy), (429, busy)]);
    let now = server.store().now_ms();
    let mut ids = Vec::new();
    for i in 0..3 {
        let n = test_notification(
            &format!("org {i}"),
            optralis_proto::vocabulary::Language::En,
            now,
        );
        ids.push(
            server
                .store()
                .enqueue_delivery(&org, &ch.id, &n)
                .await
                .unwrap(),
        );
    }
    // Wait for the three refusals, then stop the server with all three still pending.
    for _ in 0..100 {
        if rx.received().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(rx.received().len(), 3);
    let addr = server.addr;
    server.stop().await;

    let server = RunningServer::start(&db.url, Some(addr)).await;
    let mut delivered = 0;
    for _ in 0..100 {
        let log = server
            .store()
            .deliveries(&org, Some(&ch.id), 10)
            .await
            .unwrap();
        delivered = log.iter().filter(|d| d.status == "delivered").count();
        if delivered == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        delivered, 3,
        "the restarted server delivered what was pending"
    );
    // A moment more: nothing is sent again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = rx.received();
    let accepted: Vec<String> = got[3..]
        .iter()
        .map(|r| r.header("x-optralis-delivery").unwrap())
        .collect();
    let mut want: Vec<String> = ids.iter().map(i64::to_string).collect();
    let mut sorted = accepted.clone();
    sorted.sort();
    want.sort();
    assert_eq!(
        sorted, want,
        "each pending delivery exactly once after the restart"
    );
    server.stop().await;
    rx.stop();
}

/// The Python that has aiosmtpd: set by `cargo xtask test`. Fails (never skips) without it.
fn python() -> String {
    std::env::var("OPTRALIS_TEST_PYTHON").expect(
        "OPTRALIS_TEST_PYTHON is not set: run the tests with `cargo xtask test`, which installs \
         aiosmtpd into target/test-venv and sets it",
    )
}

/// A real SMTP server (aiosmtpd) requiring STARTTLS and authentication; prints each message
/// it receives as a JSON line.
pub struct SmtpServer {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let ok = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null())
            .status()
            .expect("openssl is needed to make the SMTP server's certificate");
        assert!(ok.success());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/smtp_server.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(&cert)
            .arg(&key)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let ready = lines.recv_timeout(Duration::from_secs(20)).unwrap();
        assert_eq!(ready, "READY");
        Self {
            child,
            lines,
            port,
            _dir: dir,
        }
    }

    pub fn next_message(&self) -> Value {
        let line = self.lines.recv_timeout(Duration::from_secs(20)).unwrap();
        serde_json::from_str(&line).unwrap()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.child.stdin.take() {
            let _ = stdin.write_all(b"");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_goes_through_a_real_smtp_server_with_starttls_and_auth() {
    let app = TestApp::new(Backend::Sqlite).await;
    let smtp = SmtpServer::start();
    let config = |password: &str, accept_invalid_certs: bool| {
        json!({"host": "127.0.0.1", "port": smtp.port, "tls": "starttls",
               "username": "optralis", "password": password,
               "from": "Optralis <alerts@example.com>", "to": ["ops@example.com", "oncall@example.com"],
               "accept_invalid_certs": accept_invalid_certs})
    };
    let (status, ch) = create(
        &app,
        json!({"name": "mail", "kind": "email", "config": config("s3cret", true)}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    assert_eq!(ch["config"]["password"], "set");
    let id = ch["id"].as_str().unwrap();
    assert_eq!(send_test(&app, id).await, json!({"delivered": true}));
    let m = smtp.next_message();
    assert_eq!(m["tls"], true, "sent after STARTTLS");
    assert_eq!(m["auth"], true);
    assert_eq!(m["from"], "alerts@example.com");
    assert_eq!(m["to"], json!(["ops@example.com", "oncall@example.com"]));
    let data = m["data"].as_str().unwrap();
    assert!(
        data.contains("Subject: [Optralis] Optralis test message"),
        "{data}"
    );
    assert!(
        data.contains("This channel receives Optralis alerts."),
        "{data}"
    );

    // A wrong password and an untrusted certificate are reported, not silently dropped.
    let (_, bad) = create(
        &app,
        json!({"name": "bad password", "kind": "email", "config": config("wrong", true)}),
    )
    .await;
    let outcome = send_test(&app, bad["id"].as_str().unwrap()).await;
    assert!(
        outcome["error"].as_str().unwrap().contains("refused"),
        "a permanent refusal: {outcome}"
    );
    assert_eq!(outcome["delivered"], false);
    let (_, strict) = create(
        &app,
        json!({"name": "strict", "kind": "email", "config": config("s3cret", false)}),
    )
    .await;
    let outcome = send_test(&app, strict["id"].as_str().unwrap()).await;
    assert_eq!(outcome["delivered"], false);
    assert!(
        outcome["error"].as_str().unwrap().contains("127.0.0.1"),
        "{outcome}"
    );
}
