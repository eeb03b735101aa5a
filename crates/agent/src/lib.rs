//! Optralis agent: collects this machine's metrics and reports them to the server.
//!
//! `collect` reads the OS, `send` queues and transmits, `runner` is the loop, `state` keeps
//! the enrollment between runs, `service` installs it as a system service and talks to the
//! service manager, `update` takes signed releases from the server.

pub mod clock;
pub mod collect;
pub mod config;
pub mod events;
pub mod runner;
pub mod send;
pub mod service;
pub mod smart;
pub mod state;
pub mod update;
#[cfg(windows)]
pub mod win32;

pub use runner::{Agent, AgentError, AgentOptions};
