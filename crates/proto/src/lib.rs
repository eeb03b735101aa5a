//! Wire and API types shared by the Optralis agent, server and tests.
//!
//! Serde only, no IO: this crate is the contract. A field renamed here is a breaking change
//! for agents already deployed, so new fields are added with `#[serde(default)]`.

// First: the `names!` macro the other modules use.
#[macro_use]
pub mod vocabulary;

pub mod agent;
pub mod alerts;
pub mod api;
pub mod events;
pub mod identity;

/// Path prefix of every agent-facing route.
pub const AGENT_API_PREFIX: &str = "/api/v1/agent";
pub mod interval;
pub mod labels;
pub mod metrics;
pub mod release;
pub mod sample;
pub mod smart;
