//! The app behind `oneshot`: a fresh store with an organisation's credentials, and the
//! requests tests send it.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use optralis::auth::password;
use optralis::clock::{Clock, ManualClock, SharedClock};
use optralis::ids::{OrgId, UserId};
use optralis::principal::Role;
use optralis::store::{AgentIdentity, Store};
use optralis::{ApiSettings, AppState, app};
use serde_json::Value;
use tower::ServiceExt;

use super::{Backend, PASSWORD, T0, TestDb, facts, raw_texts, test_notifier};

/// A store with an organisation's credentials ready, and the router over it.
pub struct TestApp {
    /// Kept so the database lives as long as the app.
    _db: TestDb,
    pub store: Store,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
    pub org: OrgId,
    pub admin_token: String,
    pub observer_token: String,
    pub enroll_key: String,
}

/// A response as tests see it.
pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub headers: axum::http::HeaderMap,
}

impl Resp {
    /// The refresh token the response set, if any (empty when it cleared the cookie).
    pub fn refresh_cookie(&self) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("optralis_refresh="))
            .map(|v| v.split(';').next().unwrap_or("").to_owned())
    }
}

impl TestApp {
    pub async fn new(backend: Backend) -> Self {
        Self::on(TestDb::new(backend).await).await
    }

    /// The app over a database made by the test.
    pub async fn on(db: TestDb) -> Self {
        let clock = Arc::new(ManualClock::new(T0));
        let store = Store::connect(&db.url, clock.clone() as SharedClock)
            .await
            .expect("connect store");
        let org = store.org_by_name("default").await.expect("default org");
        let (_, admin_token) = store
            .create_api_token(&org, "admin", Role::Admin)
            .await
            .unwrap();
        let (_, observer_token) = store
            .create_api_token(&org, "observer", Role::Observer)
            .await
            .unwrap();
        let enroll_key = store.create_enroll_key(&org).await.unwrap();
        let settings = ApiSettings {
            stream_recheck: std::time::Duration::from_millis(200),
            // Some suites build hundreds of channels in one organisation; limits.rs tests
            // the limits themselves.
            limits: optralis::api::limits::Limits {
                rules_per_org: u32::MAX,
                channels_per_org: u32::MAX,
                silences_per_org: u32::MAX,
                ..Default::default()
            },
            ..ApiSettings::default()
        };
        let state = AppState::new(store.clone(), settings, test_notifier())
            .await
            .unwrap();
        Self {
            _db: db,
            store,
            clock,
            state,
            org,
            admin_token,
            observer_token,
            enroll_key,
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The database's URL.
    pub fn db_url(&self) -> &str {
        &self._db.url
    }

    /// One text column of a query run straight on the database (to see what is stored).
    pub async fn raw_texts(&self, sql: &str) -> Vec<Option<String>> {
        raw_texts(self.db_url(), sql).await
    }

    fn router(&self) -> axum::Router {
        app(self.state.clone())
    }

    /// Sends one request through the router; returns the status and the JSON body.
    pub async fn call(&self, req: Request<Body>) -> (StatusCode, Value) {
        let r = self.call_full(req).await;
        (r.status, r.body)
    }

    /// Sends one request; returns everything a test may look at.
    pub async fn call_full(&self, req: Request<Body>) -> Resp {
        let resp = self
            .router()
            .oneshot(req)
            .await
            .expect("router never fails");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let is_json = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let json = if bytes.is_empty() {
            Value::Null
        } else if !is_json {
            Value::String(String::from_utf8_lossy(&bytes).into_owned())
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!(
                    "non-JSON body ({status}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        Resp {
            status,
            body: json,
            headers,
        }
    }

    /// A request to build: `app.req("POST", path).token(t).json(&body).send().await`.
    pub fn req<'a>(&'a self, method: &str, path: &str) -> Req<'a> {
        Req {
            app: self,
            builder: Request::builder().method(method).uri(path),
            body: Body::empty(),
        }
    }

    /// A user with [`PASSWORD`], member of `org` with `role`.
    pub async fn user(&self, email: &str, org: &OrgId, role: Role, platform_admin: bool) -> UserId {
        let hash = password::hash(PASSWORD).unwrap();
        let id = self
            .store
            .create_user(email, Some(&hash), platform_admin)
            .await
            .unwrap();
        self.store.add_membership(org, &id, role).await.unwrap();
        id
    }

    /// Signs in; returns the response (access token in the body, refresh cookie set).
    pub async fn login(&self, email: &str, password: &str) -> Resp {
        self.req("POST", "/api/v1/auth/login")
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
    }

    /// Signs in and returns the access token.
    pub async fn access_token(&self, email: &str) -> String {
        let r = self.login(email, PASSWORD).await;
        assert_eq!(r.status, StatusCode::OK, "login {email}: {}", r.body);
        r.body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = Request::get(path);
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        self.call(req.body(Body::empty()).unwrap()).await
    }

    pub async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> (StatusCode, Value) {
        let mut req = Request::post(path).header("Content-Type", "application/json");
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        self.call(
            req.body(Body::from(serde_json::to_vec(body).unwrap()))
                .unwrap(),
        )
        .await
    }

    /// Enrolls a machine through the API; returns (machine id, machine token).
    pub async fn enroll(&self, hostname: &str) -> (String, String) {
        let fingerprint = format!("fp-{hostname}-0123456789abcdef");
        let (status, body) = self
            .post_json(
                "/api/v1/agent/enroll",
                None,
                &serde_json::json!({"enroll_key": self.enroll_key, "fingerprint": fingerprint, "facts": facts(hostname)}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (
            body["machine_id"].as_str().unwrap().to_owned(),
            body["machine_token"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn agent(&self, token: &str) -> AgentIdentity {
        self.store.agent_for_token(token).await.unwrap()
    }
}

/// One request being built; [`Req::send`] runs it through the router.
pub struct Req<'a> {
    app: &'a TestApp,
    builder: axum::http::request::Builder,
    body: Body,
}

impl Req<'_> {
    /// `Authorization: Bearer <token>`.
    pub fn token(mut self, token: &str) -> Self {
        self.builder = self
            .builder
            .header("Authorization", format!("Bearer {token}"));
        self
    }

    /// The token when there is one: for tests that try both.
    pub fn maybe_token(self, token: Option<&str>) -> Self {
        match token {
            Some(t) => self.token(t),
            None => self,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    pub fn headers(self, headers: &[(&str, &str)]) -> Self {
        headers
            .iter()
            .fold(self, |req, (name, value)| req.header(name, value))
    }

    /// `body` as JSON, with its content type.
    pub fn json(mut self, body: &Value) -> Self {
        self.builder = self.builder.header("Content-Type", "application/json");
        self.body = Body::from(serde_json::to_vec(body).unwrap());
        self
    }

    /// `body` as is, with `content_type`.
    pub fn bytes(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.builder = self.builder.header("Content-Type", content_type);
        self.body = Body::from(body);
        self
    }

    /// The body when there is one.
    pub fn maybe_json(self, body: Option<&Value>) -> Self {
        match body {
            Some(b) => self.json(b),
            None => self,
        }
    }

    /// The status and the body's bytes, for answers that are not JSON.
    pub async fn send_raw(self) -> (StatusCode, Vec<u8>) {
        let resp = self
            .app
            .router()
            .oneshot(self.builder.body(self.body).unwrap())
            .await
            .expect("router never fails");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, bytes.to_vec())
    }

    pub async fn send(self) -> Resp {
        self.app
            .call_full(self.builder.body(self.body).unwrap())
            .await
    }
}
