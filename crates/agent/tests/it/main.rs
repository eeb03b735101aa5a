//! Agent integration tests: one binary, one module per area.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod cli;
mod collectors;
mod events;
mod journal;
mod outbox;
#[cfg(target_os = "linux")]
mod service;
mod smart;
mod state;
