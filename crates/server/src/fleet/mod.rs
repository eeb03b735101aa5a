//! The fleet model without IO: label syntax, selectors, the health score, which machines a
//! list shows, the fleet summary.

pub mod assess;
pub mod disks;
pub mod health;
pub mod listing;
pub use optralis_proto::labels;
pub mod selector;
pub mod summary;
