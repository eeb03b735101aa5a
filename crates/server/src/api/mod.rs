//! The HTTP API. `app(state)` is the whole router, so tests drive it with `oneshot` or on a
//! real port alike.

mod agent;
mod auth;
mod disks;
mod error;
mod machines;
mod meta;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::TraceLayer;

pub use auth::{Agent, ApiPrincipal};
pub use error::{ApiError, parse_json};

use crate::ingest::IngestLimits;
use crate::store::{Retention, Store};
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
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            retention: Retention::default(),
            ingest: IngestLimits::default(),
            max_body_bytes: 8 * 1024 * 1024,
            thresholds: Thresholds::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<ApiSettings>,
}

pub fn app(state: AppState) -> Router {
    let agent_routes = Router::new()
        .route("/enroll", post(agent::enroll))
        .route("/reports", post(agent::reports))
        // The limit applies to the decompressed body, so a small bomb cannot grow past it.
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        .layer(RequestDecompressionLayer::new().gzip(true).zstd(true));

    let api = Router::new()
        .route("/health", get(meta::health))
        .route("/metrics", get(meta::metric_catalog))
        .route("/machines", get(machines::list))
        .route("/machines/{id}", get(machines::get_one))
        .route("/machines/{id}/series", get(machines::series))
        .route("/machines/{id}/disks", get(disks::list))
        .route("/machines/{id}/disks/{key}/history", get(disks::history))
        .nest("/agent", agent_routes)
        .fallback(meta::not_found);

    Router::new()
        .nest("/api/v1", api)
        .fallback(meta::not_found)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
