//! Password guessing cannot lock an account's owner out: one address guessing is braked on
//! its own, a spread guess locks the account only for addresses it never signed in from,
//! and IPv6 addresses count by their /64.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::json;

use crate::support::{Backend, PASSWORD, Resp, TestApp, both_backends};

both_backends!(guesses_do_not_lock_the_owner_out);

async fn login_from(app: &TestApp, address: &str, password: &str) -> Resp {
    app.req("POST", "/api/v1/auth/login")
        .json(&json!({"email": "gina@acme.test", "password": password}))
        .header("x-forwarded-for", address)
        .send()
        .await
}

async fn guesses_do_not_lock_the_owner_out(backend: Backend) {
    let mut app = TestApp::new(backend).await;
    let mut settings = (*app.state.settings).clone();
    settings.trust_forwarded_for = true;
    app.state.settings = Arc::new(settings);
    app.user(
        "gina@acme.test",
        &app.org,
        optralis::principal::Role::Admin,
        false,
    )
    .await;
    let home = "198.51.100.1";
    assert_eq!(
        login_from(&app, home, PASSWORD).await.status,
        StatusCode::OK
    );

    // One address guessing: braked there, with the right password too.
    for _ in 0..8 {
        login_from(&app, "203.0.113.9", "wrong password here").await;
    }
    assert_eq!(
        login_from(&app, "203.0.113.9", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The owner, at home or somewhere new, is not.
    assert_eq!(
        login_from(&app, home, PASSWORD).await.status,
        StatusCode::OK
    );
    assert_eq!(
        login_from(&app, "192.0.2.50", PASSWORD).await.status,
        StatusCode::OK
    );

    // Guesses from 60 addresses: the account is locked for addresses it never used...
    for i in 0..60 {
        login_from(&app, &format!("203.0.114.{i}"), "wrong password here").await;
    }
    assert_eq!(
        login_from(&app, "192.0.2.77", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // ...and not for the owner's own.
    assert_eq!(
        login_from(&app, home, PASSWORD).await.status,
        StatusCode::OK
    );

    // One IPv6 subscriber (a /64) is one address.
    for i in 0..6 {
        login_from(&app, &format!("2001:db8:1:2::{i}"), "wrong password here").await;
    }
    assert_eq!(
        login_from(&app, "2001:db8:1:2::99", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}
