//! The HTTP API. `app(state)` is the whole router, so tests drive it with `oneshot` or on a
//! real port alike. Every route is registered through `routes!` from its `#[utoipa::path]`
//! attribute, so a route cannot exist without its OpenAPI description (see openapi.rs).

mod agent;
mod alerts;
mod audit;
mod channels;
mod credentials;
mod disks;
mod downloads;
mod error;
mod events;
mod extract;
mod fleet;
mod guard;
pub mod limits;
mod machines;
mod me;
mod meta;
pub mod openapi;
mod orgs;
mod responses;
mod session;
mod stream;
mod updates;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use credentials::enroll_key_limits;
pub use error::{ApiError, parse_json};
pub use extract::{AdminPrincipal, Agent, ApiPrincipal, AuthState, ORG_HEADER};
pub use session::{ACCESS_TTL_S, REFRESH_COOKIE};

use crate::alerting::Alerting;
use crate::auth::throttle::Throttle;
use crate::ingest::IngestLimits;
use crate::notify::Notifier;
use crate::store::{Retention, Store, StoreError};
use optralis_proto::interval::Thresholds;

/// Settings the handlers need, fixed at start-up.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub retention: Retention,
    pub ingest: IngestLimits,
    /// Largest accepted request body after decompression, bytes.
    pub max_body_bytes: usize,
    /// Levels that switch a machine to the degraded reporting interval.
    pub thresholds: Thresholds,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// How often an open event stream checks that its caller may still read.
    pub stream_recheck: std::time::Duration,
    /// The address users reach the dashboard at, for links in notifications.
    pub public_url: Option<String>,
    pub limits: limits::Limits,
    /// The agent files served at /downloads and the install script (`--dist-dir`).
    pub downloads: Option<Arc<crate::downloads::Downloads>>,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            retention: Retention::default(),
            ingest: IngestLimits::default(),
            max_body_bytes: 8 * 1024 * 1024,
            thresholds: Thresholds::default(),
            trust_forwarded_for: false,
            stream_recheck: std::time::Duration::from_secs(30),
            public_url: None,
            limits: limits::Limits::default(),
            downloads: None,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<ApiSettings>,
    pub auth: Arc<AuthState>,
    pub notifier: Notifier,
    pub alerting: Alerting,
    /// Event streams open now (see limits.rs).
    pub streams: Arc<limits::StreamSlots>,
    /// The server's own mail (invitations, resets), set once at start when `[smtp]` is
    /// configured.
    pub mailer: Arc<std::sync::OnceLock<crate::notify::mail::Mailer>>,
    /// Which organisations' reports need a rollout lookup (see updates/presence.rs).
    pub rollouts: Arc<crate::updates::RolloutPresence>,
}

impl AppState {
    /// Loads (or creates, on first start) the token signing key.
    pub async fn new(
        store: Store,
        settings: ApiSettings,
        notifier: Notifier,
    ) -> Result<Self, StoreError> {
        let signing_key = crate::sealing::signing_key(&store, &notifier.sealer).await?;
        crate::sealing::seal_clear_totp_secrets(&store, &notifier.sealer).await?;
        let throttle = Throttle::new(store.clock());
        let alerting = Alerting::new(store.clone(), notifier.clone(), settings.public_url.clone());
        Ok(Self {
            alerting,
            store,
            settings: Arc::new(settings),
            auth: Arc::new(AuthState {
                signing_key,
                throttle,
                hashing: tokio::sync::Semaphore::new(extract::CONCURRENT_HASHES),
            }),
            notifier,
            streams: Arc::default(),
            mailer: Arc::default(),
            rollouts: Arc::default(),
        })
    }
}

/// Longest a request body may take to arrive.
const REQUEST_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Every `/api/v1` route, one `routes!` per path.
fn v1_routes(max_body_bytes: usize) -> OpenApiRouter<AppState> {
    let agent = OpenApiRouter::new()
        .routes(routes!(agent::enroll))
        .routes(routes!(agent::reports))
        .routes(routes!(updates::download))
        // The limit applies to the decompressed body, so a small bomb cannot grow past it.
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(RequestDecompressionLayer::new().gzip(true).zstd(true));
    OpenApiRouter::new()
        .routes(routes!(meta::health))
        .routes(routes!(meta::metric_catalog))
        .routes(routes!(session::login))
        .routes(routes!(session::mfa))
        .routes(routes!(session::refresh))
        .routes(routes!(session::logout))
        .routes(routes!(session::logout_all))
        .routes(routes!(session::set_password))
        .routes(routes!(me::get))
        .routes(routes!(me::change_password))
        .routes(routes!(me::totp_enroll))
        .routes(routes!(me::totp_confirm))
        .routes(routes!(me::totp_disable))
        .routes(routes!(me::answer_invitation))
        .routes(routes!(orgs::list, orgs::create))
        .routes(routes!(orgs::update, orgs::delete))
        .routes(routes!(orgs::current, orgs::update_current))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get_one, users::update, users::remove))
        .routes(routes!(users::reset_password))
        .routes(routes!(users::reset_mfa))
        .routes(routes!(credentials::list_tokens, credentials::create_token))
        .routes(routes!(credentials::revoke_token))
        .routes(routes!(credentials::list_keys, credentials::create_key))
        .routes(routes!(credentials::revoke_key))
        .routes(routes!(audit::list))
        .routes(routes!(audit::list_platform))
        .routes(routes!(machines::list))
        .routes(routes!(
            machines::get_one,
            machines::update_machine,
            machines::delete_machine
        ))
        .routes(routes!(fleet::set_machine_groups))
        .routes(routes!(fleet::set_machine_labels))
        .routes(routes!(machines::status_history))
        .routes(routes!(fleet::list_groups, fleet::create_group))
        .routes(routes!(
            fleet::get_group,
            fleet::update_group,
            fleet::delete_group
        ))
        .routes(routes!(fleet::edit_group_members))
        .routes(routes!(fleet::summary))
        .routes(routes!(stream::stream))
        .routes(routes!(machines::series))
        .routes(routes!(disks::list))
        .routes(routes!(disks::history))
        .routes(routes!(disks::acknowledge, disks::unacknowledge))
        .routes(routes!(events::machine_events))
        .routes(routes!(events::search))
        .routes(routes!(channels::list, channels::create))
        .routes(routes!(
            channels::get_one,
            channels::update,
            channels::delete
        ))
        .routes(routes!(channels::test))
        .routes(routes!(channels::deliveries))
        .routes(routes!(alerts::list_rules, alerts::create_rule))
        .routes(routes!(
            alerts::get_rule,
            alerts::update_rule,
            alerts::delete_rule
        ))
        .routes(routes!(alerts::list_alerts))
        .routes(routes!(alerts::acknowledge))
        .routes(routes!(alerts::list_silences, alerts::create_silence))
        .routes(routes!(alerts::delete_silence))
        .routes(routes!(updates::list_rollouts, updates::create_rollout))
        .routes(routes!(updates::get_rollout, updates::update_rollout))
        .routes(routes!(updates::rollout_machines))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(updates::list_releases, updates::publish))
                .layer(DefaultBodyLimit::max(
                    crate::updates::releases::MAX_RELEASE_BYTES,
                )),
        )
        .nest("/agent", agent)
}

/// The router and the OpenAPI document it serves.
pub fn router_and_spec(max_body_bytes: usize) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(openapi::base())
        .nest("/api/v1", v1_routes(max_body_bytes))
        .split_for_parts()
}

pub fn app(state: AppState) -> Router {
    let (router, spec) = router_and_spec(state.settings.max_body_bytes);
    router
        .merge(openapi::docs(spec))
        .route("/install.sh", axum::routing::get(downloads::install_script))
        .route(
            "/install.ps1",
            axum::routing::get(downloads::powershell_script),
        )
        .route("/downloads/{name}", axum::routing::get(downloads::file))
        .fallback(crate::dashboard::serve)
        // A client that sends its headers, then trickles its body, holds a connection; the
        // listener bounds the headers (serve.rs), this the body.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            REQUEST_BODY_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
