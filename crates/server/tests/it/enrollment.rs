//! Enrollment: a fingerprint and the shared key no longer take over a known machine (its
//! current token is the proof), and keys can be single-use, limited and expiring.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, both_backends, facts};

both_backends!(
    a_known_fingerprint_without_proof_is_a_new_machine,
    keys_can_be_single_use_limited_and_expiring,
);

async fn enroll(
    app: &TestApp,
    key: &str,
    fingerprint: &str,
    proof: Option<&str>,
) -> (StatusCode, Value) {
    app.post_json(
        "/api/v1/agent/enroll",
        None,
        &json!({"enroll_key": key, "fingerprint": fingerprint, "facts": facts("web-1"),
                "machine_token": proof}),
    )
    .await
}

async fn a_known_fingerprint_without_proof_is_a_new_machine(backend: Backend) {
    let app = TestApp::new(backend).await;
    let fingerprint = "fp-web-1-0123456789abcdef";
    let (status, first) = enroll(&app, &app.enroll_key, fingerprint, None).await;
    assert_eq!(status, StatusCode::OK);
    let token = first["machine_token"].as_str().unwrap();

    // Someone with the key and the machine's fingerprint: a new machine, the real one keeps
    // its token.
    let (_, other) = enroll(&app, &app.enroll_key, fingerprint, None).await;
    assert_ne!(other["machine_id"], first["machine_id"]);
    let (_, wrong) = enroll(&app, &app.enroll_key, fingerprint, Some("omt_forged")).await;
    assert_ne!(wrong["machine_id"], first["machine_id"]);
    let report = json!({"reports": [optralis_proto::sample::report(1, app.now())]});
    assert_eq!(
        app.post_json("/api/v1/agent/reports", Some(token), &report)
            .await
            .0,
        StatusCode::OK
    );

    // The machine itself, with its token: same id, its numbering, a new token.
    let (status, again) = enroll(&app, &app.enroll_key, fingerprint, Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["machine_id"], first["machine_id"]);
    assert_eq!(again["last_seq"], 1);
    assert_ne!(again["machine_token"], first["machine_token"]);
    assert_eq!(
        app.post_json("/api/v1/agent/reports", Some(token), &report)
            .await
            .0,
        StatusCode::UNAUTHORIZED,
        "the old token stopped working"
    );
}

async fn keys_can_be_single_use_limited_and_expiring(backend: Backend) {
    let app = TestApp::new(backend).await;
    let create = |body: Value| {
        let app = &app;
        async move {
            let r = app
                .req("POST", "/api/v1/enroll-keys")
                .token(&app.admin_token)
                .json(&body)
                .send()
                .await;
            (r.status, r.body)
        }
    };
    let (status, single) = create(json!({"max_uses": 1})).await;
    assert_eq!(status, StatusCode::CREATED, "{single}");
    assert_eq!(single["key"]["max_uses"], 1);
    let key = single["secret"].as_str().unwrap();
    let (status, first) = enroll(&app, key, "fp-a-0123456789abcdef", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        enroll(&app, key, "fp-b-0123456789abcdef", None).await.0,
        StatusCode::UNAUTHORIZED,
        "single use"
    );
    // The machine it enrolled may still prove itself with it (its outbox was lost, say).
    let proof = first["machine_token"].as_str().unwrap();
    let (status, again) = enroll(&app, key, "fp-a-0123456789abcdef", Some(proof)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["machine_id"], first["machine_id"]);

    let (_, expiring) = create(json!({"expires_in_s": 3600})).await;
    assert_eq!(expiring["key"]["expires_ms"], app.now() + 3_600_000);
    let key = expiring["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        enroll(&app, &key, "fp-c-0123456789abcdef", None).await.0,
        StatusCode::OK
    );
    app.clock.advance_ms(3_600_001);
    assert_eq!(
        enroll(&app, &key, "fp-d-0123456789abcdef", None).await.0,
        StatusCode::UNAUTHORIZED,
        "expired"
    );

    // Uses are counted and shown; bad limits are refused; no body still works.
    let (_, list) = app.get("/api/v1/enroll-keys", Some(&app.admin_token)).await;
    let uses: Vec<i64> = list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["uses"].as_i64().unwrap())
        .collect();
    assert!(uses.contains(&1), "{list}");
    assert_eq!(
        create(json!({"max_uses": 0})).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        create(json!({"expires_in_s": 5})).await.0,
        StatusCode::BAD_REQUEST
    );
    let r = app
        .req("POST", "/api/v1/enroll-keys")
        .token(&app.admin_token)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}
