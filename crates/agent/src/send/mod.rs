//! Getting reports to the server: the on-disk outbox they wait in, and the HTTP client.

pub mod client;
pub mod outbox;
