//! Server integration tests: one binary, one module per area. Store and API tests run on
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
//! SQLite and on a real PostgreSQL (see `support::both_backends!`).

mod support;

mod agent_e2e;
mod alerting;
mod api_disks;
mod api_events;
mod api_ingest;
mod api_query;
mod cli;
mod dashboard;
mod deploy;
mod disk_full;
mod egress;
mod enrollment;
mod fleet;
mod hardening;
mod identity;
mod isolation;
mod limits;
mod notify;
mod openapi;
mod replicas;
mod secrets_at_rest;
mod service;
mod store_story;
mod throttle;
mod updates;
mod windows_agent;
