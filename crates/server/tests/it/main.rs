//! Server integration tests: one binary, one module per area. Store and API tests run on
//! SQLite and on a real PostgreSQL (see `support::both_backends!`).

mod support;

mod agent_e2e;
mod api_ingest;
mod api_query;
mod cli;
mod store_story;
