//! Signed agent updates: which releases the server accepts ([`releases`]), and which machine
//! of a rollout is offered one when ([`rollout`]). Both decide; the store keeps, the API
//! translates, and the agent checks every release again with its own keys.

pub mod offer;
pub mod presence;
pub mod releases;
pub mod rollout;
pub mod signing;

pub use presence::RolloutPresence;
pub use releases::{PublishError, check_release};
pub use rollout::{Slot, Tally, canary_count, decide, in_scope, verdict};
