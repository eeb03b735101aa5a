//! Users and sessions through the API on both backends: login, refresh rotation and reuse
//! detection, logout, TOTP, organisation-enforced MFA, throttling, token tampering,
//! invitations, the audit log.

use axum::http::StatusCode;
use data_encoding::{BASE32_NOPAD, BASE64};
use optralis::auth::jwt::{self, Claims, TokenUse};
use optralis::auth::totp;
use optralis::principal::Role;
use serde_json::json;

use crate::support::{Backend, PASSWORD, Resp, TestApp, both_backends};

both_backends!(
    login_refresh_rotation_and_reuse,
    logout_and_logout_everywhere,
    tampered_and_expired_tokens_are_refused,
    totp_enrollment_login_replay_and_recovery,
    organisation_can_require_mfa,
    logins_are_throttled_alike_for_unknown_and_known_accounts,
    invitations_resets_and_admin_guards,
    account_takeover_paths_are_closed,
);

async fn refresh(app: &TestApp, cookie: &str) -> Resp {
    let c = format!("optralis_refresh={cookie}");
    app.req("POST", "/api/v1/auth/refresh")
        .header("Cookie", c.as_str())
        .send()
        .await
}

async fn me(app: &TestApp, token: &str) -> StatusCode {
    app.req("GET", "/api/v1/me")
        .token(token)
        .send()
        .await
        .status
}

async fn login_refresh_rotation_and_reuse(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.user("alice@acme.test", &app.org, Role::Admin, false)
        .await;

    let r = app.login("Alice@Acme.test ", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(
        r.body["expires_in"], 900,
        "access tokens live at most 15 minutes"
    );
    let cookie_header = r
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1/auth"] {
        assert!(cookie_header.contains(attr), "{cookie_header}");
    }
    let access = r.body["access_token"].as_str().unwrap().to_owned();
    let c1 = r.refresh_cookie().unwrap();
    assert_eq!(me(&app, &access).await, StatusCode::OK);
    let (_, body) = app.get("/api/v1/me", Some(&access)).await;
    assert_eq!(body["email"], "alice@acme.test");
    assert_eq!(body["orgs"][0]["role"], "admin");

    // Rotation: a new refresh token each time, the old one spent.
    let r = refresh(&app, &c1).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let c2 = r.refresh_cookie().unwrap();
    assert_ne!(c1, c2);
    let access2 = r.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me(&app, &access2).await, StatusCode::OK);

    // Two tabs refreshing at once: the one that lost the race gets the same new token.
    let r = refresh(&app, &c1).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.refresh_cookie().unwrap(), c2, "the same successor");

    // Replaying the spent token after that grace window revokes the whole family: the
    // current refresh token and the session's access tokens stop working.
    app.clock
        .advance_ms(optralis::store::REFRESH_GRACE_MS + 1_000);
    let r = refresh(&app, &c1).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already used")
    );
    assert_eq!(r.refresh_cookie().as_deref(), Some(""), "cookie cleared");
    assert_eq!(refresh(&app, &c2).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &access2).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &access).await, StatusCode::UNAUTHORIZED);

    // Within the grace window too, once the successor was used the old token is a theft.
    let r = app.login("alice@acme.test", PASSWORD).await;
    let d1 = r.refresh_cookie().unwrap();
    let d2 = refresh(&app, &d1).await.refresh_cookie().unwrap();
    assert_eq!(refresh(&app, &d2).await.status, StatusCode::OK);
    assert_eq!(refresh(&app, &d1).await.status, StatusCode::UNAUTHORIZED);

    // No cookie, or garbage.
    let r = app.req("POST", "/api/v1/auth/refresh").send().await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refresh(&app, "ort_nope").await.status,
        StatusCode::UNAUTHORIZED
    );

    // Sessions end after 30 days even with refreshes.
    let r = app.login("alice@acme.test", PASSWORD).await;
    let c = r.refresh_cookie().unwrap();
    app.clock.advance_ms(30 * 24 * 3_600_000 + 1);
    assert_eq!(refresh(&app, &c).await.status, StatusCode::UNAUTHORIZED);
    // Ended sessions are purged after a while; their tokens stay refused.
    app.clock.advance_ms(8 * 24 * 3_600_000);
    assert!(app.store.purge_sessions(7 * 24 * 3_600_000).await.unwrap() >= 2);
    assert_eq!(refresh(&app, &c).await.status, StatusCode::UNAUTHORIZED);

    let audit = app
        .store
        .list_audit(Some(&app.org), None, 100)
        .await
        .unwrap();
    assert!(audit.iter().any(|e| e.action == "auth.refresh_reuse"));
}

async fn logout_and_logout_everywhere(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.user("bob@acme.test", &app.org, Role::Observer, false)
        .await;
    let laptop = app.login("bob@acme.test", PASSWORD).await;
    let phone = app.login("bob@acme.test", PASSWORD).await;
    let laptop_access = laptop.body["access_token"].as_str().unwrap();
    let phone_access = phone.body["access_token"].as_str().unwrap();

    let cookie = format!("optralis_refresh={}", laptop.refresh_cookie().unwrap());
    let r = app
        .req("POST", "/api/v1/auth/logout")
        .header("Cookie", cookie.as_str())
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.refresh_cookie().as_deref(), Some(""));
    assert_eq!(me(&app, laptop_access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refresh(&app, &laptop.refresh_cookie().unwrap())
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        me(&app, phone_access).await,
        StatusCode::OK,
        "other sessions go on"
    );

    let tablet = app.login("bob@acme.test", PASSWORD).await;
    let r = app
        .req("POST", "/api/v1/auth/logout-all")
        .token(phone_access)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["sessions_revoked"], 2);
    assert_eq!(me(&app, phone_access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        me(&app, tablet.body["access_token"].as_str().unwrap()).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refresh(&app, &tablet.refresh_cookie().unwrap())
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // API tokens have no session to end.
    let r = app
        .req("POST", "/api/v1/auth/logout-all")
        .token(&app.admin_token)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

async fn tampered_and_expired_tokens_are_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.user("carol@acme.test", &app.org, Role::Admin, false)
        .await;
    let access = app.access_token("carol@acme.test").await;
    let key = app.state.auth.signing_key.clone();
    let now_s = app.now() / 1000;
    let claims = jwt::decode(&key, &access, TokenUse::Access, now_s).unwrap();

    let b64 = data_encoding::BASE64URL_NOPAD;
    let payload = access.split('.').nth(1).unwrap();
    let none = format!(
        "{}.{payload}.",
        b64.encode(br#"{"alg":"none","typ":"JWT"}"#)
    );
    let wrong_key = jwt::encode(b"not the server key at all, 32 b!", &claims);
    let mut other_user = claims.clone();
    other_user.sub = "someone-else".into();
    let forged_payload = format!(
        "{}.{}.{}",
        access.split('.').next().unwrap(),
        b64.encode(&serde_json::to_vec(&other_user).unwrap()),
        access.split('.').nth(2).unwrap()
    );
    let future = jwt::encode(
        &key,
        &Claims {
            nbf: now_s + 3_600,
            iat: now_s + 3_600,
            exp: now_s + 4_000,
            ..claims.clone()
        },
    );
    let ticket = jwt::encode(
        &key,
        &Claims {
            token_use: TokenUse::MfaTicket,
            ..claims.clone()
        },
    );
    for (what, token) in [
        ("alg none", none.as_str()),
        ("wrong key", wrong_key.as_str()),
        ("payload changed", forged_payload.as_str()),
        ("not yet valid", future.as_str()),
        ("an MFA ticket", ticket.as_str()),
        ("garbage", "abc.def.ghi"),
    ] {
        let r = app.req("GET", "/api/v1/machines").token(token).send().await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.body);
        assert_eq!(me(&app, token).await, StatusCode::UNAUTHORIZED, "{what}");
    }
    assert_eq!(me(&app, &access).await, StatusCode::OK);
    app.clock.advance_ms(15 * 60_000 + 31_000);
    assert_eq!(me(&app, &access).await, StatusCode::UNAUTHORIZED, "expired");
}

/// A real SMTP server, and the app's mailer sending through it.
pub fn mailing(app: &TestApp) -> crate::notify::SmtpServer {
    let smtp = crate::notify::SmtpServer::start();
    let settings: optralis::notify::mail::SmtpSettings = serde_json::from_value(json!({
        "host": "127.0.0.1", "port": smtp.port, "tls": "starttls", "username": "optralis",
        "password": "s3cret", "from": "Optralis <optralis@example.com>",
        "accept_invalid_certs": true
    }))
    .unwrap();
    let mailer =
        optralis::notify::mail::Mailer::new(&settings, None, "https://mon.example.com").unwrap();
    assert!(app.state.mailer.set(mailer).is_ok());
    smtp
}

/// The one-time token in a mailed link, and who it went to.
pub fn mailed_token(smtp: &crate::notify::SmtpServer) -> (String, String) {
    let m = smtp.next_message();
    // Long lines travel quoted-printable: undo the soft breaks and the escaped '='.
    let data = m["data"]
        .as_str()
        .unwrap()
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let at = data
        .find("token=oul_")
        .unwrap_or_else(|| panic!("no link in {data}"))
        + "token=".len();
    // `oul_` and 64 hexadecimal digits.
    let token = data[at..at + 4 + 64].to_owned();
    (token, m["to"][0].as_str().unwrap().to_owned())
}

/// The code an authenticator app shows now.
pub fn code(app: &TestApp, secret: &str) -> String {
    let bytes = BASE32_NOPAD.decode(secret.as_bytes()).unwrap();
    format!(
        "{:06}",
        totp::code_at(&bytes, app.now() / 1000 / totp::STEP_S)
    )
}

pub async fn mfa_step(app: &TestApp, ticket: &str, code: &str) -> Resp {
    app.req("POST", "/api/v1/auth/mfa")
        .json(&json!({"mfa_ticket": ticket, "code": code}))
        .send()
        .await
}

/// Turns TOTP on for a signed-in user; returns (secret, recovery codes).
pub async fn enroll_totp(app: &TestApp, access: &str) -> (String, Vec<String>) {
    let r = app
        .req("POST", "/api/v1/me/mfa/totp")
        .token(access)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let secret = r.body["secret"].as_str().unwrap().to_owned();
    let r = app
        .req("POST", "/api/v1/me/mfa/totp/confirm")
        .token(access)
        .json(&json!({"code": code(app, &secret)}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let codes = r.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes)
}

async fn totp_enrollment_login_replay_and_recovery(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.user("dave@acme.test", &app.org, Role::Observer, false)
        .await;
    let access = app.access_token("dave@acme.test").await;

    let r = app
        .req("POST", "/api/v1/me/mfa/totp")
        .token(&access)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let secret = r.body["secret"].as_str().unwrap().to_owned();
    let uri = r.body["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Optralis:dave@acme.test?secret="),
        "{uri}"
    );
    assert!(uri.contains(&secret));
    let png = BASE64
        .decode(r.body["qr_png_base64"].as_str().unwrap().as_bytes())
        .unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    // Not in force until confirmed; a wrong code does not confirm.
    let (_, body) = app.get("/api/v1/me", Some(&access)).await;
    assert_eq!(body["mfa_enabled"], false);
    let r = app
        .req("POST", "/api/v1/me/mfa/totp/confirm")
        .token(&access)
        .json(&json!({"code": "000000"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"]["field"], "code");
    let first_code = code(&app, &secret);
    let r = app
        .req("POST", "/api/v1/me/mfa/totp/confirm")
        .token(&access)
        .json(&json!({"code": first_code}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let recovery: Vec<String> = serde_json::from_value(r.body["recovery_codes"].clone()).unwrap();
    assert_eq!(recovery.len(), 10);
    let (_, body) = app.get("/api/v1/me", Some(&access)).await;
    assert_eq!(body["mfa_enabled"], true);
    assert_eq!(body["recovery_codes_left"], 10);

    // Login now stops at the second factor: a ticket, no token, no cookie.
    let r = app.login("dave@acme.test", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["mfa_required"], true);
    assert!(r.body.get("access_token").is_none());
    assert!(r.refresh_cookie().is_none());
    let ticket = r.body["mfa_ticket"].as_str().unwrap().to_owned();
    assert_eq!(
        me(&app, &ticket).await,
        StatusCode::UNAUTHORIZED,
        "a ticket is not an access token"
    );

    // The code used to confirm is spent for its time step.
    let r = mfa_step(&app, &ticket, &first_code).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{}",
        r.body
    );
    assert_eq!(
        mfa_step(&app, &ticket, "123456").await.status,
        StatusCode::UNAUTHORIZED
    );
    app.clock.advance_ms(30_000);
    let next = code(&app, &secret);
    let r = mfa_step(&app, &ticket, &next).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.refresh_cookie().is_some_and(|c| !c.is_empty()));
    assert_eq!(
        me(&app, r.body["access_token"].as_str().unwrap()).await,
        StatusCode::OK
    );
    assert_eq!(
        mfa_step(&app, &ticket, &next).await.status,
        StatusCode::UNAUTHORIZED,
        "replay"
    );

    // A recovery code works once, in any case and spacing.
    let typed = recovery[0].to_uppercase().replace('-', " ");
    let r = mfa_step(&app, &ticket, &typed).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        mfa_step(&app, &ticket, &recovery[0]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let (_, body) = app.get("/api/v1/me", Some(&access)).await;
    assert_eq!(body["recovery_codes_left"], 9);

    // Tickets expire.
    app.clock.advance_ms(5 * 60_000 + 31_000);
    assert_eq!(
        mfa_step(&app, &ticket, &recovery[1]).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Turning it off needs a code; then login is one step again.
    let access = {
        let r = app.login("dave@acme.test", PASSWORD).await;
        let t = r.body["mfa_ticket"].as_str().unwrap().to_owned();
        let r = mfa_step(&app, &t, &recovery[2]).await;
        r.body["access_token"].as_str().unwrap().to_owned()
    };
    let r = app
        .req("POST", "/api/v1/me/mfa/totp/disable")
        .token(&access)
        .json(&json!({"code": "000000"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app
        .req("POST", "/api/v1/me/mfa/totp/disable")
        .token(&access)
        .json(&json!({"code": recovery[3]}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(app.login("dave@acme.test", PASSWORD).await.body["access_token"].is_string());

    let actions: Vec<String> = app
        .store
        .list_audit(Some(&app.org), None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action.as_str().to_owned())
        .collect();
    for a in [
        "mfa.enabled",
        "auth.mfa_failed",
        "mfa.disabled",
        "auth.login",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

async fn organisation_can_require_mfa(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.user("erin@acme.test", &app.org, Role::Admin, false)
        .await;
    app.user("frank@acme.test", &app.org, Role::Observer, false)
        .await;
    let admin = app.access_token("erin@acme.test").await;
    let observer = app.access_token("frank@acme.test").await;

    let r = app
        .req("PATCH", "/api/v1/org")
        .token(&admin)
        .json(&json!({"require_mfa": true}))
        .send()
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "the admin has no second factor yet: {}",
        r.body
    );
    enroll_totp(&app, &admin).await;
    let r = app
        .req("PATCH", "/api/v1/org")
        .token(&admin)
        .json(&json!({"require_mfa": true}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["require_mfa"], true);
    let r = app
        .req("PATCH", "/api/v1/org")
        .token(&observer)
        .json(&json!({"require_mfa": false}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Members without a second factor can reach only their own account until they add one.
    let r = app
        .req("GET", "/api/v1/machines")
        .token(&observer)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["error"]["code"], "mfa_enrollment_required");
    assert_eq!(me(&app, &observer).await, StatusCode::OK);
    enroll_totp(&app, &observer).await;
    let r = app
        .req("GET", "/api/v1/machines")
        .token(&observer)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        app.get("/api/v1/machines", Some(&admin)).await.0,
        StatusCode::OK
    );
}

async fn logins_are_throttled_alike_for_unknown_and_known_accounts(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.user("gina@acme.test", &app.org, Role::Observer, false)
        .await;

    let unknown = app.login("nobody@acme.test", PASSWORD).await;
    let wrong = app.login("gina@acme.test", "wrong password here").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        (unknown.status, &unknown.body),
        (wrong.status, &wrong.body),
        "same answer"
    );

    // Four more failures are free (five in all); the sixth locks for a second, then two...
    for _ in 0..5 {
        assert_eq!(
            app.login("gina@acme.test", "wrong password here")
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    let r = app.login("gina@acme.test", PASSWORD).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "locked even with the right password: {}",
        r.body
    );
    assert_eq!(r.headers.get("retry-after").unwrap(), "1");
    app.clock.advance_ms(1_000);
    assert_eq!(
        app.login("gina@acme.test", "wrong password here")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let r = app.login("gina@acme.test", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers.get("retry-after").unwrap(), "2");
    app.clock.advance_ms(2_000);
    let r = app.login("gina@acme.test", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // An unknown account is throttled just the same.
    for _ in 0..6 {
        app.login("nobody@acme.test", PASSWORD).await;
    }
    assert_eq!(
        app.login("nobody@acme.test", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    let failures = app
        .store
        .list_audit(Some(&app.org), None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "auth.login_failed")
        .count();
    assert!(failures >= 7, "{failures}");
}

async fn invitations_resets_and_admin_guards(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin_id = app
        .user("hank@acme.test", &app.org, Role::Admin, false)
        .await;
    let admin = app.access_token("hank@acme.test").await;

    let r = app
        .req("POST", "/api/v1/users")
        .token(&admin)
        .json(&json!({"email": "Ivy@Acme.test", "role": "observer"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["user"]["email"], "ivy@acme.test");
    assert_eq!(r.body["user"]["pending"], true);
    let ivy = r.body["user"]["id"].as_str().unwrap().to_owned();
    let token = r.body["link"]["token"].as_str().unwrap().to_owned();
    let r = app
        .req("POST", "/api/v1/users")
        .token(&admin)
        .json(&json!({"email": "ivy@acme.test", "role": "admin"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = app
        .req("POST", "/api/v1/users")
        .token(&admin)
        .json(&json!({"email": "not an email", "role": "admin"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"]["field"], "email");

    assert_eq!(
        app.login("ivy@acme.test", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    let set = |token: String, password: &'static str| {
        let app = &app;
        async move {
            app.req("POST", "/api/v1/auth/password")
                .json(&json!({"token": token, "password": password}))
                .send()
                .await
        }
    };
    let r = set(token.clone(), "short").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"]["field"], "password");
    let r = set(token.clone(), "password123").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "too common");
    let r = set(token.clone(), PASSWORD).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(
        set(token, PASSWORD).await.status,
        StatusCode::NOT_FOUND,
        "one time only"
    );
    let ivy_access = app.access_token("ivy@acme.test").await;

    // Disabling takes effect at once; re-enabling restores access.
    let r = app
        .req("PATCH", &format!("/api/v1/users/{ivy}"))
        .token(&admin)
        .json(&json!({"disabled": true}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        app.get("/api/v1/machines", Some(&ivy_access)).await.0,
        StatusCode::FORBIDDEN
    );
    app.req("PATCH", &format!("/api/v1/users/{ivy}"))
        .token(&admin)
        .json(&json!({"disabled": false}))
        .send()
        .await;
    assert_eq!(
        app.get("/api/v1/machines", Some(&ivy_access)).await.0,
        StatusCode::OK
    );

    // Without a mail server, the reset of an account that has a password is refused: its
    // link would reach the admin, not the owner.
    let reset_ivy = || {
        let (app, admin, ivy) = (&app, admin.clone(), ivy.clone());
        async move {
            app.req("POST", &format!("/api/v1/users/{ivy}/password-reset"))
                .token(&admin)
                .send()
                .await
        }
    };
    let r = reset_ivy().await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);

    // With one, the link goes to the owner; it ends the sessions and expires after a day.
    let smtp = mailing(&app);
    let r = reset_ivy().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, json!({"emailed": true}), "no link for the admin");
    let (reset, to) = mailed_token(&smtp);
    assert_eq!(to, "ivy@acme.test");
    assert_eq!(me(&app, &ivy_access).await, StatusCode::UNAUTHORIZED);
    app.clock.advance_ms(24 * 3_600_000 + 1);
    assert_eq!(
        set(reset, "a brand new passphrase").await.status,
        StatusCode::NOT_FOUND
    );

    // Access tokens are short-lived: the day has ended the admin's.
    assert_eq!(me(&app, &admin).await, StatusCode::UNAUTHORIZED);
    let admin = app.access_token("hank@acme.test").await;

    // An account shared with another organisation is reset only by a platform admin.
    let globex = app.store.create_org("globex").await.unwrap();
    app.store
        .add_membership(
            &globex,
            &optralis::ids::UserId::from_path(&ivy),
            Role::Observer,
        )
        .await
        .unwrap();
    let r = app
        .req("POST", &format!("/api/v1/users/{ivy}/password-reset"))
        .token(&admin)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // The organisation keeps an enabled admin.
    let r = app
        .req("PATCH", &format!("/api/v1/users/{admin_id}"))
        .token(&admin)
        .json(&json!({"role": "observer"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = app
        .req("DELETE", &format!("/api/v1/users/{admin_id}"))
        .token(&admin)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // API tokens: listed without secrets, revoked at once.
    let r = app
        .req("POST", "/api/v1/tokens")
        .token(&admin)
        .json(&json!({"name": "grafana", "role": "observer"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let secret = r.body["secret"].as_str().unwrap().to_owned();
    let id = r.body["token"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("/api/v1/machines", Some(&secret)).await.0,
        StatusCode::OK
    );
    let (_, list) = app.get("/api/v1/tokens", Some(&admin)).await;
    assert!(!list.to_string().contains(&secret));
    assert!(
        list["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "grafana")
    );
    let r = app
        .req("DELETE", &format!("/api/v1/tokens/{id}"))
        .token(&admin)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/machines", Some(&secret)).await.0,
        StatusCode::UNAUTHORIZED
    );

    let (status, audit) = app.get("/api/v1/audit?limit=500", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "user.invited",
        "user.password_set",
        "user.disabled",
        "user.enabled",
        "user.password_reset",
        "token.created",
        "token.revoked",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    let entry = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "token.created")
        .unwrap();
    assert_eq!(entry["actor"], "user:hank@acme.test");
    let (status, _) = app.get("/api/v1/audit?limit=0", Some(&admin)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn account_takeover_paths_are_closed(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.user("hank@acme.test", &app.org, Role::Admin, false)
        .await;
    let root = app
        .user("root@acme.test", &app.org, Role::Admin, true)
        .await;
    let admin = app.access_token("hank@acme.test").await;

    // An organisation admin cannot reset a platform admin.
    for action in ["password-reset", "mfa-reset"] {
        let r = app
            .req("POST", &format!("/api/v1/users/{root}/{action}"))
            .token(&admin)
            .send()
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{action}: {}", r.body);
    }

    // Knowing the password does not reset the count of wrong second-factor codes.
    app.user("erin@acme.test", &app.org, Role::Observer, false)
        .await;
    let erin_access = app.access_token("erin@acme.test").await;
    enroll_totp(&app, &erin_access).await;
    let t = erin_ticket(&app).await;
    for _ in 0..6 {
        assert_eq!(
            mfa_step(&app, &t, "000000").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let t = erin_ticket(&app).await;
    let r = mfa_step(&app, &t, "000000").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);

    // Another organisation's account joins only with its owner's consent, and the answer
    // to its admin is the one a new address gets.
    let globex = app.store.create_org("globex").await.unwrap();
    let (_, globex_admin) = app
        .store
        .create_api_token(&globex, "g", Role::Admin)
        .await
        .unwrap();
    let invite = |email: &'static str| {
        let (app, token) = (&app, globex_admin.clone());
        async move {
            app.req("POST", "/api/v1/users")
                .token(&token)
                .json(&json!({"email": email, "role": "observer"}))
                .send()
                .await
        }
    };
    let existing = invite("hank@acme.test").await;
    let new = invite("nobody-yet@acme.test").await;
    assert_eq!(existing.status, StatusCode::CREATED, "{}", existing.body);
    assert_eq!(new.status, StatusCode::CREATED);
    for field in ["pending", "mfa_enabled", "disabled", "role"] {
        assert_eq!(
            existing.body["user"][field], new.body["user"][field],
            "{field}"
        );
    }
    // Until hank accepts, globex is not his.
    let in_globex = |token: String| {
        let (app, org) = (&app, globex.to_string());
        async move {
            app.req("GET", "/api/v1/machines")
                .token(&token)
                .header("X-Optralis-Org", org.as_str())
                .send()
                .await
                .status
        }
    };
    assert_eq!(in_globex(admin.clone()).await, StatusCode::NOT_FOUND);
    let (_, me_now) = app.get("/api/v1/me", Some(&admin)).await;
    assert_eq!(me_now["invitations"][0]["org_name"], "globex", "{me_now}");
    let answer = |accept: bool| {
        let (app, token, org) = (&app, admin.clone(), globex.to_string());
        async move {
            app.req("POST", &format!("/api/v1/me/invitations/{org}"))
                .token(&token)
                .json(&json!({"accept": accept}))
                .send()
                .await
                .status
        }
    };
    // Nobody else can answer for hank.
    let r = app
        .req("POST", &format!("/api/v1/me/invitations/{globex}"))
        .token(&erin_access)
        .json(&json!({"accept": true}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(in_globex(erin_access.clone()).await, StatusCode::NOT_FOUND);
    assert_eq!(answer(true).await, StatusCode::NO_CONTENT);
    assert_eq!(in_globex(admin.clone()).await, StatusCode::OK);
    assert_eq!(answer(true).await, StatusCode::NOT_FOUND, "answered once");

    // An account whose password was set through a link its admin was shown may be held by
    // that admin: it cannot accept another organisation's invitation.
    let link = new.body["link"]["token"].as_str().unwrap().to_owned();
    let set = app
        .req("POST", "/api/v1/auth/password")
        .json(&json!({"token": link, "password": PASSWORD}))
        .send()
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT);
    let r = invite_as(&app, &admin, "nobody-yet@acme.test").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let held = app.access_token("nobody-yet@acme.test").await;
    let acme = app.org.to_string();
    let r = app
        .req("POST", &format!("/api/v1/me/invitations/{acme}"))
        .token(&held)
        .json(&json!({"accept": true}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "unverified");

    // A reset link stops working once the account belongs to another organisation too.
    let r = app
        .req("POST", "/api/v1/users")
        .token(&admin)
        .json(&json!({"email": "ivy@acme.test", "role": "observer"}))
        .send()
        .await;
    let ivy = r.body["user"]["id"].as_str().unwrap().to_owned();
    let invite = r.body["link"]["token"].as_str().unwrap().to_owned();
    let r = app
        .req("POST", "/api/v1/auth/password")
        .json(&json!({"token": invite, "password": PASSWORD}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let smtp = mailing(&app);
    let r = app
        .req("POST", &format!("/api/v1/users/{ivy}/password-reset"))
        .token(&admin)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (reset, _) = mailed_token(&smtp);
    app.store
        .add_membership(
            &globex,
            &optralis::ids::UserId::from_path(&ivy),
            Role::Observer,
        )
        .await
        .unwrap();
    let r = app
        .req("POST", "/api/v1/auth/password")
        .json(&json!({"token": reset, "password": "a brand new passphrase"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // With a mail server, invitations go to their address: new and existing alike get
    // no link, only "emailed".
    let r = invite_as(&app, &admin, "erin@acme.test").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "already a member");
    let r = invite_as(&app, &globex_admin, "erin@acme.test").await;
    let (_, to) = mailed_invitation(&smtp);
    assert_eq!(to, "erin@acme.test");
    let fresh = invite_as(&app, &globex_admin, "fresh@acme.test").await;
    let (token, _) = mailed_token(&smtp);
    assert!(token.starts_with("oul_"));
    assert_eq!(r.body["emailed"], true);
    assert_eq!(r.body["link"], fresh.body["link"], "no link either way");

    // A password set through a mailed link proves the address: that account may join.
    let set = app
        .req("POST", "/api/v1/auth/password")
        .json(&json!({"token": token, "password": PASSWORD}))
        .send()
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT);
    invite_as(&app, &admin, "fresh@acme.test").await;
    let _ = mailed_invitation(&smtp);
    let fresh_access = app.access_token("fresh@acme.test").await;
    let r = app
        .req("POST", &format!("/api/v1/me/invitations/{}", app.org))
        .token(&fresh_access)
        .json(&json!({"accept": true}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
}

/// A mail server that does not answer: the invitation is undone, so it can be tried again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_that_cannot_be_mailed_is_undone() {
    let app = TestApp::new(Backend::Sqlite).await;
    let settings: optralis::notify::mail::SmtpSettings = serde_json::from_value(json!({
        "host": "127.0.0.1", "port": 9, "tls": "none", "from": "optralis@example.com"
    }))
    .unwrap();
    let mailer =
        optralis::notify::mail::Mailer::new(&settings, None, "https://mon.example.com").unwrap();
    assert!(app.state.mailer.set(mailer).is_ok());
    let r = invite_as(&app, &app.admin_token, "later@acme.test").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    let (_, users) = app.get("/api/v1/users", Some(&app.admin_token)).await;
    assert!(!users.to_string().contains("later@acme.test"), "{users}");
    assert!(app.store.user_by_email("later@acme.test").await.is_err());
}

async fn invite_as(app: &TestApp, token: &str, email: &str) -> Resp {
    app.req("POST", "/api/v1/users")
        .token(token)
        .json(&json!({"email": email, "role": "observer"}))
        .send()
        .await
}

/// An invitation to an existing account: no link, a word to sign in; returns (body, to).
fn mailed_invitation(smtp: &crate::notify::SmtpServer) -> (String, String) {
    let m = smtp.next_message();
    let data = m["data"].as_str().unwrap().to_owned();
    assert!(data.contains("Sign in to accept"), "{data}");
    assert!(!data.contains("token="), "{data}");
    (data, m["to"][0].as_str().unwrap().to_owned())
}

async fn erin_ticket(app: &TestApp) -> String {
    let r = app.login("erin@acme.test", PASSWORD).await;
    r.body["mfa_ticket"].as_str().unwrap().to_owned()
}
