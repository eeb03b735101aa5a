//! Optralis agent: collects this machine's metrics and reports them to the server.
//!
//! `collect` reads the OS, `send` queues and transmits, `runner` is the loop, `state` keeps
//! the enrollment between runs.

pub mod clock;
pub mod collect;
pub mod config;
pub mod events;
pub mod runner;
pub mod send;
pub mod smart;
pub mod state;

pub use runner::{Agent, AgentError, AgentOptions};
