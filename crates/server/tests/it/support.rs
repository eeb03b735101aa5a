//! The test harness: a fresh database per test on either backend, the app behind `oneshot`
//! or on a real port, and helpers to talk to it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use optralis::auth::password;
use optralis::clock::{Clock, ManualClock, SharedClock, SystemClock};
use optralis::ids::{OrgId, UserId};
use optralis::store::{AgentIdentity, Role, Store};
use optralis::{ApiSettings, AppState, app};
use optralis_proto::agent::HostFacts;
use serde_json::Value;
use sqlx::Connection;
use tokio::sync::watch;
use tower::ServiceExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs one async test body on both backends.
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::support::Backend::Sqlite).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::support::Backend::Postgres).await
                }
            )+
        }
    };
}
pub(crate) use both_backends;

/// Where PostgreSQL tests create their databases. Tests fail, never skip, without it.
pub fn postgres_admin_url() -> String {
    std::env::var("OPTRALIS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database of its own for one test.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A database the test made itself (a PostgreSQL database in a tablespace of its own).
    pub fn existing(url: String) -> Self {
        Self { url, _dir: None }
    }

    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Self {
                    url,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is required for these tests and is not reachable at {admin}: {e}\n\
                         Start it, set OPTRALIS_TEST_POSTGRES_URL, or run `cargo xtask test`, \
                         which starts a throw-away server."
                    )
                });
                let name = format!("optralis_t_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                Self {
                    url: format!("{base}/{name}"),
                    _dir: None,
                }
            }
        }
    }
}

pub fn facts(hostname: &str) -> HostFacts {
    HostFacts {
        hostname: hostname.to_owned(),
        os_name: "Debian GNU/Linux".into(),
        os_version: "12".into(),
        kernel_version: "6.1.0".into(),
        arch: "x86_64".into(),
        cpu_model: "Test CPU".into(),
        cpu_physical_cores: Some(2),
        cpu_logical_cores: 4,
        agent_version: "0.1.0".into(),
    }
}

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

/// The password of every test user.
pub const PASSWORD: &str = "correct horse battery staple";

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

/// The secret key of every test server, so one restarted on the same database can open
/// what the previous one sealed.
/// Its channels may reach this machine (the tests' receivers listen on loopback).
pub fn test_notifier() -> optralis::notify::Notifier {
    optralis::notify::Notifier::new(
        optralis::notify::seal::Sealer::from_bytes(&[7u8; 32]).unwrap(),
        loopback_allowed(),
    )
}

pub fn loopback_allowed() -> optralis::notify::egress::EgressPolicy {
    use optralis::notify::egress::EgressPolicy;
    EgressPolicy::allowing(EgressPolicy::parse_list("127.0.0.0/8,::1").unwrap())
}

/// A moment well after 1970, so retention arithmetic never goes negative.
pub const T0: i64 = 1_790_000_000_000;

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

    /// Any request: `token` as bearer, `body` as JSON, extra headers.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let body = match body {
            Some(b) => {
                req = req.header("Content-Type", "application/json");
                Body::from(serde_json::to_vec(b).unwrap())
            }
            None => Body::empty(),
        };
        self.call_full(req.body(body).unwrap()).await
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
        self.request(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&serde_json::json!({"email": email, "password": password})),
            &[],
        )
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

/// One text column of a query run straight on the database at `url`.
pub async fn raw_texts(url: &str, sql: &str) -> Vec<Option<String>> {
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
    }
}

/// The server on a real port, restartable on the same port and database.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub url: String,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    store: Store,
}

impl RunningServer {
    pub async fn start(db_url: &str, addr: Option<SocketAddr>) -> Self {
        let store = Store::connect(db_url, Arc::new(SystemClock) as SharedClock)
            .await
            .unwrap();
        let listener = match addr {
            Some(a) => {
                // The old socket may linger for a moment after a restart.
                let mut tries = 0;
                loop {
                    match tokio::net::TcpListener::bind(a).await {
                        Ok(l) => break l,
                        Err(e) if tries < 50 => {
                            tries += 1;
                            let _ = e;
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        }
                        Err(e) => panic!("rebind {a}: {e}"),
                    }
                }
            }
            None => tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        };
        let addr = listener.local_addr().unwrap();
        let (stop, mut rx) = watch::channel(false);
        let notifier = test_notifier();
        let state = AppState::new(store.clone(), ApiSettings::default(), notifier.clone())
            .await
            .unwrap();
        let worker = optralis::notify::spawn_worker(store.clone(), notifier, rx.clone());
        let alerting = state.alerting.clone().spawn(rx.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app(state))
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|s| *s).await;
                })
                .await
                .unwrap();
            let _ = worker.await;
            let _ = alerting.await;
        });
        Self {
            addr,
            url: format!("http://{addr}"),
            stop,
            task,
            store,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Stops accepting, finishes in-flight requests, closes the database.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        self.store.close().await;
    }
}
