//! Optralis server: enrollment, ingest, storage and the REST API.
//!
//! Boundaries (see docs/ARCHITECTURE.md): `api` turns HTTP into store calls and owns every
//! status code; `ingest` checks what agents send; `store` is the only code that speaks SQL;
//! `jobs` runs maintenance in the background.

pub mod alerting;
pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod dashboard;
pub mod fleet;
pub mod ids;
pub mod ingest;
pub mod jobs;
pub mod live;
pub mod notify;
pub mod sealing;
pub mod secret;
pub mod serve;
pub mod store;

pub use api::{ApiSettings, AppState, app};
