//! Health, the metric catalog, and the JSON 404.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use optralis_proto::api::{Health, MetricCatalog, MetricInfo};

use super::AppState;
use crate::store::METRICS;

/// Liveness and readiness: 200 once the database answers, 503 otherwise (status says why:
/// `database unavailable`, or `disk full` while reports cannot be stored). No credentials.
#[utoipa::path(get, path = "/health", tag = "meta",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database does not answer, or its disk is full", body = Health),
    ))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let (status, text) = match state.store.ping().await {
        // Reads work, but reports are refused until space is freed.
        Ok(()) if state.store.disk_full() => (StatusCode::SERVICE_UNAVAILABLE, "disk full"),
        Ok(()) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    };
    let body = Health {
        status: text.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        database: state.store.backend_name().to_owned(),
    };
    (status, Json(body))
}

/// The metrics the series API serves, with units and scopes.
#[utoipa::path(get, path = "/metrics", tag = "meta",
    responses((status = 200, description = "Metric catalog", body = MetricCatalog)))]
pub async fn metric_catalog() -> Json<MetricCatalog> {
    Json(MetricCatalog {
        metrics: METRICS
            .iter()
            .map(|m| MetricInfo {
                name: m.name,
                unit: m.unit.to_owned(),
                scope: m.scope,
                description: m.description.to_owned(),
            })
            .collect(),
    })
}
