//! The fleet model without IO: label syntax, selectors, the health score.

pub mod health;
pub use optralis_proto::labels;
pub mod selector;
