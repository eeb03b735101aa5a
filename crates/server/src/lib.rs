//! Optralis server: enrollment, ingest, storage and the REST API.
//!
//! Boundaries (see docs/ARCHITECTURE.md): `api` translates HTTP (extractors, bodies, status
//! codes) and calls the domain; `ingest`, `fleet`, `alerting`, `notify` and `updates` decide; `store` is
//! the only code that speaks SQL; `jobs` runs maintenance in the background.

pub mod alerting;
pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod dashboard;
pub mod downloads;
pub mod fleet;
pub mod ids;
pub mod ingest;
pub mod jobs;
pub mod live;
pub mod notify;
pub mod principal;
pub mod sealing;
pub mod secret;
pub mod serve;
pub mod store;
pub mod updates;

pub use api::{ApiSettings, AppState, app};
