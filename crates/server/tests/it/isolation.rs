//! Tenant isolation, route by route: every route of the OpenAPI document × every kind of
//! caller × their own organisation's resource or another's. Another organisation's ids must
//! answer exactly like ids that do not exist, and no answer may carry another
//! organisation's ids.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use optralis::ids::OrgId;
use optralis::principal::Role;
use serde_json::{Value, json};

use crate::support::{Backend, Resp, TestApp, both_backends, facts};

both_backends!(isolation_matrix);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// No credentials needed.
    Public,
    /// Machine tokens only.
    Agent,
    /// Any member of the organisation.
    Member,
    /// Admins of the organisation.
    Admin,
    /// A signed-in user (not an API token), any organisation.
    User,
    /// Platform admins.
    Platform,
}

/// What `{id}` in a route stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdKind {
    None,
    Machine,
    User,
    Token,
    Key,
    Group,
    Channel,
    Rule,
    Alert,
    Silence,
    Rollout,
    /// A throw-away organisation (platform routes).
    Org,
}

struct Route {
    method: &'static str,
    path: &'static str,
    access: Access,
    id: IdKind,
    body: Option<fn() -> Value>,
    ok: StatusCode,
}

const fn route(
    method: &'static str,
    path: &'static str,
    access: Access,
    id: IdKind,
    body: Option<fn() -> Value>,
    ok: StatusCode,
) -> Route {
    Route {
        method,
        path,
        access,
        id,
        body,
        ok,
    }
}

fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

fn routes() -> Vec<Route> {
    use Access::*;
    use IdKind as K;
    const OK: StatusCode = StatusCode::OK;
    const CREATED: StatusCode = StatusCode::CREATED;
    const GONE: StatusCode = StatusCode::NO_CONTENT;
    vec![
        route("GET", "/api/v1/health", Public, K::None, None, OK),
        route("GET", "/api/v1/metrics", Public, K::None, None, OK),
        route(
            "POST",
            "/api/v1/agent/reports",
            Agent,
            K::None,
            Some(|| json!({"reports": []})),
            OK,
        ),
        route("GET", "/api/v1/machines", Member, K::None, None, OK),
        route("GET", "/api/v1/machines/{id}", Member, K::Machine, None, OK),
        route(
            "GET",
            "/api/v1/machines/{id}/series?metric=cpu.percent",
            Member,
            K::Machine,
            None,
            OK,
        ),
        route(
            "GET",
            "/api/v1/machines/{id}/disks",
            Member,
            K::Machine,
            None,
            OK,
        ),
        route(
            "GET",
            "/api/v1/machines/{id}/disks/ZFN0TEST/history",
            Member,
            K::Machine,
            None,
            OK,
        ),
        route(
            "PATCH",
            "/api/v1/machines/{id}",
            Admin,
            K::Machine,
            Some(|| json!({"notes": "rack 4"})),
            OK,
        ),
        route(
            "DELETE",
            "/api/v1/machines/{id}",
            Admin,
            K::Machine,
            None,
            GONE,
        ),
        route(
            "PUT",
            "/api/v1/machines/{id}/groups",
            Admin,
            K::Machine,
            Some(|| json!({"group_ids": []})),
            OK,
        ),
        route(
            "PUT",
            "/api/v1/machines/{id}/labels",
            Admin,
            K::Machine,
            Some(|| json!({"labels": {"env": "prod"}})),
            OK,
        ),
        route(
            "GET",
            "/api/v1/machines/{id}/status-history",
            Member,
            K::Machine,
            None,
            OK,
        ),
        route(
            "GET",
            "/api/v1/machines/{id}/events",
            Member,
            K::Machine,
            None,
            OK,
        ),
        route("GET", "/api/v1/events", Member, K::None, None, OK),
        route(
            "GET",
            "/api/v1/events?machine={id}",
            Member,
            K::Machine,
            None,
            OK,
        ),
        route("GET", "/api/v1/fleet/summary", Member, K::None, None, OK),
        route("GET", "/api/v1/rules", Member, K::None, None, OK),
        route(
            "POST",
            "/api/v1/rules",
            Admin,
            K::None,
            Some(|| json!({"name": unique(), "kind": "offline", "severity": "critical"})),
            CREATED,
        ),
        route("GET", "/api/v1/rules/{id}", Member, K::Rule, None, OK),
        route(
            "PUT",
            "/api/v1/rules/{id}",
            Admin,
            K::Rule,
            Some(
                || json!({"name": unique(), "kind": "health", "threshold": 40, "severity": "warning"}),
            ),
            OK,
        ),
        route("DELETE", "/api/v1/rules/{id}", Admin, K::Rule, None, GONE),
        route("GET", "/api/v1/alerts", Member, K::None, None, OK),
        route(
            "GET",
            "/api/v1/alerts?machine={id}",
            Member,
            K::Machine,
            None,
            OK,
        ),
        route(
            "POST",
            "/api/v1/alerts/{id}/acknowledgement",
            Admin,
            K::Alert,
            None,
            GONE,
        ),
        route("GET", "/api/v1/silences", Member, K::None, None, OK),
        route(
            "POST",
            "/api/v1/silences",
            Admin,
            K::None,
            Some(|| json!({"ends_ms": 4_000_000_000_000_i64, "reason": "maintenance"})),
            CREATED,
        ),
        route(
            "DELETE",
            "/api/v1/silences/{id}",
            Admin,
            K::Silence,
            None,
            GONE,
        ),
        route("GET", "/api/v1/channels", Member, K::None, None, OK),
        route(
            "POST",
            "/api/v1/channels",
            Admin,
            K::None,
            Some(|| {
                json!({"name": unique(), "kind": "slack",
                       "config": {"url": "http://127.0.0.1:9/hook"}})
            }),
            CREATED,
        ),
        route("GET", "/api/v1/channels/{id}", Member, K::Channel, None, OK),
        route(
            "PATCH",
            "/api/v1/channels/{id}",
            Admin,
            K::Channel,
            Some(|| json!({"min_severity": "critical"})),
            OK,
        ),
        route(
            "DELETE",
            "/api/v1/channels/{id}",
            Admin,
            K::Channel,
            None,
            GONE,
        ),
        route(
            "POST",
            "/api/v1/channels/{id}/test",
            Admin,
            K::Channel,
            None,
            OK,
        ),
        route(
            "GET",
            "/api/v1/channels/{id}/deliveries",
            Member,
            K::Channel,
            None,
            OK,
        ),
        route("GET", "/api/v1/groups", Member, K::None, None, OK),
        route(
            "POST",
            "/api/v1/groups",
            Admin,
            K::None,
            Some(|| json!({"name": unique(), "color": "#3b82f6"})),
            CREATED,
        ),
        route("GET", "/api/v1/groups/{id}", Member, K::Group, None, OK),
        route(
            "PATCH",
            "/api/v1/groups/{id}",
            Admin,
            K::Group,
            Some(|| json!({"color": "#ff0000"})),
            OK,
        ),
        route("DELETE", "/api/v1/groups/{id}", Admin, K::Group, None, GONE),
        route(
            "POST",
            "/api/v1/groups/{id}/machines",
            Admin,
            K::Group,
            Some(|| json!({"add": [], "remove": []})),
            OK,
        ),
        route(
            "POST",
            "/api/v1/machines/{id}/disks/ZFN0TEST/acknowledgement",
            Admin,
            K::Machine,
            None,
            OK,
        ),
        route(
            "DELETE",
            "/api/v1/machines/{id}/disks/ZFN0TEST/acknowledgement",
            Admin,
            K::Machine,
            None,
            OK,
        ),
        route("GET", "/api/v1/org", Member, K::None, None, OK),
        route(
            "PATCH",
            "/api/v1/org",
            Admin,
            K::None,
            Some(|| json!({"require_mfa": false})),
            OK,
        ),
        route("GET", "/api/v1/users", Member, K::None, None, OK),
        route(
            "POST",
            "/api/v1/users",
            Admin,
            K::None,
            Some(|| json!({"email": format!("{}@new.test", unique()), "role": "observer"})),
            CREATED,
        ),
        route("GET", "/api/v1/users/{id}", Member, K::User, None, OK),
        route(
            "PATCH",
            "/api/v1/users/{id}",
            Admin,
            K::User,
            Some(|| json!({"role": "admin"})),
            OK,
        ),
        route("DELETE", "/api/v1/users/{id}", Admin, K::User, None, GONE),
        route(
            "POST",
            "/api/v1/users/{id}/password-reset",
            Admin,
            K::User,
            None,
            OK,
        ),
        route(
            "POST",
            "/api/v1/users/{id}/mfa-reset",
            Admin,
            K::User,
            None,
            GONE,
        ),
        route("GET", "/api/v1/tokens", Admin, K::None, None, OK),
        route(
            "POST",
            "/api/v1/tokens",
            Admin,
            K::None,
            Some(|| json!({"name": "ci", "role": "observer"})),
            CREATED,
        ),
        route("DELETE", "/api/v1/tokens/{id}", Admin, K::Token, None, GONE),
        route("GET", "/api/v1/enroll-keys", Admin, K::None, None, OK),
        route("POST", "/api/v1/enroll-keys", Admin, K::None, None, CREATED),
        route(
            "DELETE",
            "/api/v1/enroll-keys/{id}",
            Admin,
            K::Key,
            None,
            GONE,
        ),
        route("GET", "/api/v1/audit", Admin, K::None, None, OK),
        route("GET", "/api/v1/me", User, K::None, None, OK),
        route("POST", "/api/v1/me/mfa/totp", User, K::None, None, OK),
        route("GET", "/api/v1/orgs", Platform, K::None, None, OK),
        route(
            "POST",
            "/api/v1/orgs",
            Platform,
            K::None,
            Some(|| json!({"name": unique()})),
            CREATED,
        ),
        route(
            "PATCH",
            "/api/v1/orgs/{id}",
            Platform,
            K::Org,
            Some(|| json!({"name": unique()})),
            OK,
        ),
        route("DELETE", "/api/v1/orgs/{id}", Platform, K::Org, None, GONE),
        route("GET", "/api/v1/platform/audit", Platform, K::None, None, OK),
        // Releases are platform-wide: published by platform admins (the matrix sends no
        // signature, so a platform admin's answer is 400; updates.rs publishes for real),
        // listed to every member, downloaded by machines.
        route(
            "POST",
            "/api/v1/agent-releases",
            Platform,
            K::None,
            None,
            StatusCode::BAD_REQUEST,
        ),
        route("GET", "/api/v1/agent-releases", Member, K::None, None, OK),
        route(
            "GET",
            "/api/v1/agent/releases/linux-x86_64/9.9.9",
            Agent,
            K::None,
            None,
            OK,
        ),
        // Rollouts are the organisation's.
        route("GET", "/api/v1/rollouts", Member, K::None, None, OK),
        route(
            "POST",
            "/api/v1/rollouts",
            Admin,
            K::None,
            Some(|| json!({"version": "9.9.9"})),
            CREATED,
        ),
        route("GET", "/api/v1/rollouts/{id}", Member, K::Rollout, None, OK),
        route(
            "PATCH",
            "/api/v1/rollouts/{id}",
            Admin,
            K::Rollout,
            Some(|| json!({"state": "paused"})),
            OK,
        ),
        route(
            "GET",
            "/api/v1/rollouts/{id}/machines",
            Member,
            K::Rollout,
            None,
            OK,
        ),
    ]
}

/// Routes left out of the matrix, and where they are tested instead.
const ELSEWHERE: &[(&str, &str)] = &[
    (
        "POST /api/v1/agent/enroll",
        "api_ingest: takes an enrollment key, no caller identity",
    ),
    ("POST /api/v1/auth/login", "identity: login, throttling"),
    ("POST /api/v1/auth/mfa", "identity: TOTP"),
    (
        "POST /api/v1/auth/refresh",
        "identity: refresh rotation (cookie, no bearer)",
    ),
    ("POST /api/v1/auth/logout", "identity: logout (cookie)"),
    (
        "POST /api/v1/auth/logout-all",
        "identity: ends every session, so the matrix's own",
    ),
    (
        "POST /api/v1/auth/password",
        "identity: invitations (one-time token)",
    ),
    ("PUT /api/v1/me/password", "identity: ends every session"),
    ("POST /api/v1/me/mfa/totp/confirm", "identity: TOTP"),
    ("POST /api/v1/me/mfa/totp/disable", "identity: TOTP"),
    (
        "POST /api/v1/me/invitations/{org_id}",
        "identity: only the invited account answers (404 for any other)",
    ),
    (
        "GET /api/v1/stream",
        "fleet: an endless event stream, isolation tested there",
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Anonymous,
    User(Role),
    Token(Role),
    Platform,
}

struct Caller {
    name: &'static str,
    kind: Kind,
    token: Option<String>,
    /// The organisation the caller acts in.
    home: OrgId,
    headers: Vec<(&'static str, String)>,
}

/// One organisation's resources of each kind, fresh for each call.
struct Resources {
    machine: String,
    user: String,
    user_email: String,
    token: String,
    key: String,
    group: String,
    group_name: String,
    channel: String,
    rule: String,
    alert: String,
    silence: String,
    rollout: String,
}

/// An admin API token of `org`, to create what has no store shortcut.
async fn admin_token_of(app: &TestApp, org: &OrgId) -> String {
    app.store
        .create_api_token(org, &format!("admin-{}", unique()), Role::Admin)
        .await
        .unwrap()
        .1
}

async fn resources(app: &TestApp, org: &OrgId) -> Resources {
    let tag = unique();
    let enrolled = app
        .store
        .enroll(
            org,
            &format!("fingerprint-{tag}"),
            &facts(&format!("host-{tag}")),
        )
        .await
        .unwrap();
    let snapshot = optralis_proto::smart::SmartSnapshot {
        unavailable: None,
        devices: vec![crate::api_disks::fixture("ata-pending.json")],
        errors: vec![],
    };
    crate::api_disks::send_smart(app, &enrolled.token, 1, app.now(), snapshot).await;
    crate::api_events::send_events(
        app,
        &enrolled.token,
        2,
        app.now(),
        vec![crate::api_events::event(
            app.now(),
            "critical",
            &format!("kernel-{tag}"),
            "oops",
        )],
    )
    .await;
    let machine = enrolled.machine_id.to_string();
    let user_email = format!("member-{tag}@example.com");
    let user = app
        .store
        .create_user(&user_email, None, false)
        .await
        .unwrap();
    app.store
        .add_membership(org, &user, Role::Observer)
        .await
        .unwrap();
    let (token, _) = app
        .store
        .create_api_token(org, &format!("token-{tag}"), Role::Observer)
        .await
        .unwrap();
    let (key, _) = app
        .store
        .create_enroll_key_info(org, Default::default())
        .await
        .unwrap();
    let group_name = format!("group-{tag}");
    let group = app
        .store
        .create_group(org, &group_name, "#00ff00", "")
        .await
        .unwrap();
    app.store
        .edit_group_members(org, &group.id, std::slice::from_ref(&machine), &[])
        .await
        .unwrap();
    let (status, channel) = {
        let r = app
            .req("POST", "/api/v1/channels")
            .token(&admin_token_of(app, org).await)
            .json(&json!({"name": format!("channel-{tag}"), "kind": "webhook",
                    "config": {"url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef"}}))
            .send()
            .await;
        (r.status, r.body)
    };
    assert_eq!(status, StatusCode::CREATED, "{channel}");
    let rule = app
        .store
        .create_rule(
            org,
            &optralis::alerting::rules::check(
                serde_json::from_value(json!({
                    "name": format!("rule-{tag}"), "kind": "offline", "severity": "critical"
                }))
                .unwrap(),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    app.store
        .apply_alert_changes(
            org,
            &[optralis::store::AlertChange::Open {
                rule_id: rule.id.clone(),
                machine_id: enrolled.machine_id.to_string(),
                firing: true,
                severity: optralis_proto::alerts::AlertSeverity::Critical,
                kind: optralis_proto::alerts::RuleKind::Offline,
                value: 1.0,
                detail: "offline".into(),
                notified: false,
            }],
            &[],
        )
        .await
        .unwrap();
    let alert = app
        .store
        .open_alerts(org)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.rule_id == rule.id)
        .unwrap()
        .id
        .to_string();
    let silence = app
        .store
        .create_silence(
            org,
            &serde_json::from_value(json!({"ends_ms": 4_000_000_000_000_i64})).unwrap(),
            "test",
        )
        .await
        .unwrap()
        .id;
    let rollout = app
        .store
        .create_rollout(
            org,
            &optralis::store::NewRollout {
                version: "9.9.9".into(),
                scope: Default::default(),
                canaries: vec![enrolled.machine_id.clone()],
                others: vec![],
                halt_failure_percent: 20,
                health_window_s: 120,
            },
        )
        .await
        .unwrap()
        .id
        .to_string();
    Resources {
        rollout,
        rule: rule.id,
        alert,
        silence,
        channel: channel["id"].as_str().unwrap().to_owned(),
        machine,
        user: user.to_string(),
        user_email,
        token: token.id,
        key: key.id,
        group: group.id,
        group_name,
    }
}

fn id_of(r: &Resources, kind: IdKind) -> &str {
    match kind {
        IdKind::Machine => &r.machine,
        IdKind::User => &r.user,
        IdKind::Token => &r.token,
        IdKind::Key => &r.key,
        IdKind::Group => &r.group,
        IdKind::Channel => &r.channel,
        IdKind::Rule => &r.rule,
        IdKind::Alert => &r.alert,
        IdKind::Silence => &r.silence,
        IdKind::Rollout => &r.rollout,
        IdKind::None | IdKind::Org => "",
    }
}

fn expected(route: &Route, caller: &Caller, foreign_id: bool) -> StatusCode {
    use StatusCode as S;
    match (route.access, caller.kind) {
        (Access::Public, _) => route.ok,
        (Access::Agent, _) | (_, Kind::Anonymous) => S::UNAUTHORIZED,
        (Access::User, Kind::Token(_)) | (Access::Platform, Kind::Token(_)) => S::FORBIDDEN,
        (Access::User, _) => route.ok,
        (Access::Platform, Kind::Platform) => route.ok,
        (Access::Platform, _) => S::FORBIDDEN,
        (Access::Admin, Kind::User(Role::Observer) | Kind::Token(Role::Observer)) => S::FORBIDDEN,
        (Access::Member | Access::Admin, _) if foreign_id => S::NOT_FOUND,
        (Access::Member | Access::Admin, _) => route.ok,
    }
}

async fn call(app: &TestApp, route: &Route, path: &str, caller: &Caller) -> Resp {
    let headers: Vec<(&str, &str)> = caller
        .headers
        .iter()
        .map(|(n, v)| (*n, v.as_str()))
        .collect();
    let body = route.body.map(|b| b());
    app.req(route.method, path)
        .maybe_token(caller.token.as_deref())
        .maybe_json(body.as_ref())
        .headers(&headers)
        .send()
        .await
}

async fn isolation_matrix(backend: Backend) {
    let app = TestApp::new(backend).await;
    let acme = app.org.clone();
    let globex = app.store.create_org("globex").await.unwrap();
    app.user("admin@acme.test", &acme, Role::Admin, false).await;
    app.user("observer@acme.test", &acme, Role::Observer, false)
        .await;
    app.user("admin@globex.test", &globex, Role::Admin, false)
        .await;
    app.store
        .create_user(
            "root@ops.test",
            Some(&optralis::auth::password::hash(crate::support::PASSWORD).unwrap()),
            true,
        )
        .await
        .unwrap();
    // A release every organisation may roll out (releases are platform-wide).
    let release_key = crate::support::releases::ReleaseKey::new();
    app.store
        .trust_release_key(&release_key.public)
        .await
        .unwrap();
    let file = release_key.dir.path().join("agent");
    std::fs::write(&file, b"#!/bin/sh\nexit 0\n").unwrap();
    release_key
        .publish(
            &app.store,
            &file,
            "9.9.9",
            optralis_proto::release::Platform::LinuxX86_64,
            1,
        )
        .await;

    let caller = |name, kind, token: Option<String>, home: &OrgId, headers| Caller {
        name,
        kind,
        token,
        home: home.clone(),
        headers,
    };
    let callers = vec![
        caller("anonymous", Kind::Anonymous, None, &acme, vec![]),
        caller(
            "observer",
            Kind::User(Role::Observer),
            Some(app.access_token("observer@acme.test").await),
            &acme,
            vec![],
        ),
        caller(
            "observer token",
            Kind::Token(Role::Observer),
            Some(app.observer_token.clone()),
            &acme,
            vec![],
        ),
        caller(
            "admin",
            Kind::User(Role::Admin),
            Some(app.access_token("admin@acme.test").await),
            &acme,
            vec![],
        ),
        caller(
            "admin token",
            Kind::Token(Role::Admin),
            Some(app.admin_token.clone()),
            &acme,
            vec![],
        ),
        caller(
            "other org's admin",
            Kind::User(Role::Admin),
            Some(app.access_token("admin@globex.test").await),
            &globex,
            vec![],
        ),
        caller(
            "platform admin",
            Kind::Platform,
            Some(app.access_token("root@ops.test").await),
            &acme,
            vec![("X-Optralis-Org", acme.to_string())],
        ),
    ];

    // Every route of the document is either in the matrix or named as tested elsewhere.
    let spec: Value = serde_json::to_value(optralis::api::openapi::spec()).unwrap();
    let documented: BTreeSet<String> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    let table = routes();
    let covered: BTreeSet<String> = table
        .iter()
        .map(|r| {
            let path = r
                .path
                .split('?')
                .next()
                .unwrap()
                .replace("/ZFN0TEST/", "/{key}/")
                .replace("/linux-x86_64/9.9.9", "/{platform}/{version}");
            format!("{} {path}", r.method)
        })
        .chain(ELSEWHERE.iter().map(|(r, _)| (*r).to_owned()))
        .collect();
    assert_eq!(
        documented, covered,
        "routes missing from the isolation matrix (or stale entries)"
    );

    let missing_id = "00000000-0000-0000-0000-000000000000";
    for route in &table {
        for caller in &callers {
            let (home, away) = if caller.home == acme {
                (&acme, &globex)
            } else {
                (&globex, &acme)
            };
            let whose: &[bool] = if matches!(route.id, IdKind::None | IdKind::Org) {
                &[false]
            } else {
                &[false, true]
            };
            for &foreign in whose {
                let own = resources(&app, home).await;
                let theirs = resources(&app, away).await;
                let away_name = app.store.org_info(away).await.unwrap().name;
                let path = match route.id {
                    IdKind::None => route.path.to_owned(),
                    IdKind::Org => {
                        let scratch = app.store.create_org(&unique()).await.unwrap();
                        route.path.replace("{id}", scratch.as_str())
                    }
                    kind => route
                        .path
                        .replace("{id}", id_of(if foreign { &theirs } else { &own }, kind)),
                };
                let what = format!(
                    "{} {path} as {} ({})",
                    route.method,
                    caller.name,
                    if foreign { "theirs" } else { "own" }
                );
                let resp = call(&app, route, &path, caller).await;
                let want = expected(route, caller, foreign);
                assert_eq!(resp.status, want, "{what}: {}", resp.body);
                if foreign && want == StatusCode::NOT_FOUND {
                    let kind = route.id;
                    let missing_path = route.path.replace("{id}", missing_id);
                    let missing = call(&app, route, &missing_path, caller).await;
                    assert_eq!(
                        (missing.status, &missing.body),
                        (resp.status, &resp.body),
                        "{what}: another organisation's {kind:?} must look like a missing one"
                    );
                }
                if route.access != Access::Platform {
                    let text = resp.body.to_string();
                    for leaked in [
                        theirs.machine.as_str(),
                        theirs.user.as_str(),
                        theirs.user_email.as_str(),
                        theirs.token.as_str(),
                        theirs.key.as_str(),
                        theirs.group.as_str(),
                        theirs.group_name.as_str(),
                        theirs.channel.as_str(),
                        theirs.rule.as_str(),
                        theirs.silence.as_str(),
                        theirs.rollout.as_str(),
                        away.as_str(),
                        away_name.as_str(),
                    ] {
                        assert!(
                            !text.contains(leaked),
                            "{what}: the answer leaks {leaked:?}: {text}"
                        );
                    }
                }
            }
        }
    }

    // A member naming an organisation they are not in gets a 404, as for one that does not
    // exist; a platform admin can act in any.
    let observer = callers[1].token.clone().unwrap();
    for org in [globex.as_str(), missing_id] {
        let r = app
            .req("GET", "/api/v1/machines")
            .token(&observer)
            .header("X-Optralis-Org", org)
            .send()
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{org}: {}", r.body);
    }
    let root_token = callers[6].token.clone().unwrap();
    let r = app
        .req("GET", "/api/v1/org")
        .token(&root_token)
        .header("X-Optralis-Org", globex.as_str())
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["name"], "globex");
    let r = app
        .req("GET", "/api/v1/org")
        .token(&root_token)
        .send()
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a platform admin in no organisation must name one: {}",
        r.body
    );
}
