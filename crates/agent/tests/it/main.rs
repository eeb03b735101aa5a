//! Agent integration tests: one binary, one module per area.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod cli;
#[cfg(target_os = "linux")]
mod collectors;
#[cfg(target_os = "linux")]
mod events;
#[cfg(target_os = "linux")]
mod journal;
mod outbox;
#[cfg(target_os = "linux")]
mod service;
mod smart;
mod state;
