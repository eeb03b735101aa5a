//! What a copy of the database gives away: the token signing key and TOTP secrets are
//! sealed with the server's secret key (also when an earlier version stored them in clear),
//! the SQLite files are readable by the server's user only, and a token signed with the real
//! key still cannot claim a longer life than the server gives.

use std::sync::Arc;

use axum::http::StatusCode;
use optralis::auth::jwt::{self, Claims, TokenUse};
use optralis::clock::SharedClock;
use optralis::principal::Role;
use optralis::store::Store;
use optralis::{ApiSettings, AppState};

use crate::identity::{code, enroll_totp, mfa_step};
use crate::support::{Backend, PASSWORD, TestApp, TestDb, both_backends, raw_texts, test_notifier};

both_backends!(
    signing_key_and_totp_secrets_are_sealed,
    clear_secrets_of_an_earlier_version_are_sealed_in_place,
);

async fn signing_key_and_totp_secrets_are_sealed(backend: Backend) {
    let app = TestApp::new(backend).await;
    let stored = app
        .raw_texts("SELECT value FROM server_secrets WHERE name = 'jwt_hs256'")
        .await;
    let stored = stored[0].clone().unwrap();
    assert!(stored.starts_with("v1:"), "{stored}");
    assert!(!stored.contains(&hex::encode(&app.state.auth.signing_key)));

    app.user("sealed@example.com", &app.org, Role::Admin, false)
        .await;
    let access = app.access_token("sealed@example.com").await;
    let (secret, _) = enroll_totp(&app, &access).await;
    let stored = app
        .raw_texts("SELECT totp_secret FROM users WHERE email = 'sealed@example.com'")
        .await;
    let stored = stored[0].clone().unwrap();
    assert!(
        stored.starts_with("v1:") && !stored.contains(&secret),
        "{stored}"
    );

    // Signed with the real key, valid until 2100: refused.
    let now_s = app.now() / 1000;
    let genuine = jwt::decode(
        &app.state.auth.signing_key,
        &access,
        TokenUse::Access,
        now_s,
    )
    .unwrap();
    let forever = Claims::new(
        &genuine.sub,
        &genuine.sid,
        TokenUse::Access,
        now_s,
        4_102_444_800 - now_s,
    );
    let token = jwt::encode(&app.state.auth.signing_key, &forever);
    let r = app.req("GET", "/api/v1/me").token(&token).send().await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);

    if backend == Backend::Sqlite {
        use std::os::unix::fs::PermissionsExt;
        let path = app.db_url().trim_start_matches("sqlite://").to_owned();
        for file in [path.clone(), format!("{path}-wal")] {
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{file}");
        }
    }
}

async fn clear_secrets_of_an_earlier_version_are_sealed_in_place(backend: Backend) {
    let db = TestDb::new(backend).await;
    let clock = Arc::new(optralis::clock::ManualClock::new(crate::support::T0));
    let store = Store::connect(&db.url, clock.clone() as SharedClock)
        .await
        .unwrap();
    // What an earlier version left: a key and a TOTP secret in clear.
    let key = [42u8; 32];
    let totp_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let hash = optralis::auth::password::hash(PASSWORD).unwrap();
    let user = store
        .create_user("old@example.com", Some(&hash), false)
        .await
        .unwrap();
    let org = store.org_by_name("default").await.unwrap();
    store
        .add_membership(&org, &user, Role::Admin)
        .await
        .unwrap();
    let exec = |sql: String| {
        let url = db.url.clone();
        async move {
            use sqlx::Connection;
            if url.starts_with("sqlite:") {
                let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::query(&sql).execute(&mut c).await.unwrap();
            } else {
                let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
                sqlx::query(&sql).execute(&mut c).await.unwrap();
            }
        }
    };
    exec(format!(
        "INSERT INTO server_secrets (name, value) VALUES ('jwt_hs256', '{}')",
        hex::encode(key)
    ))
    .await;
    exec(format!(
        "UPDATE users SET totp_secret = '{totp_secret}' WHERE email = 'old@example.com'"
    ))
    .await;

    let state = AppState::new(store.clone(), ApiSettings::default(), test_notifier())
        .await
        .unwrap();
    assert_eq!(
        state.auth.signing_key,
        key.to_vec(),
        "the same key, so sessions go on"
    );
    let stored = raw_texts(&db.url, "SELECT value FROM server_secrets").await;
    assert!(stored[0].as_deref().unwrap().starts_with("v1:"));
    let stored = raw_texts(
        &db.url,
        "SELECT totp_secret FROM users WHERE email = 'old@example.com'",
    )
    .await;
    assert!(stored[0].as_deref().unwrap().starts_with("v1:"));

    // The user still signs in with the same authenticator.
    drop(state);
    store.close().await;
    let app = TestApp::on(db).await;
    let r = app.login("old@example.com", PASSWORD).await;
    let ticket = r.body["mfa_ticket"].as_str().unwrap().to_owned();
    let r = mfa_step(&app, &ticket, &code(&app, totp_secret)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}
