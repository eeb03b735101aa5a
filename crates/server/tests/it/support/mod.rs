//! The test harness: a fresh database per test on either backend (db.rs), the app behind
//! `oneshot` with a request builder (app.rs) or on a real port (server.rs), and a real HTTP
//! receiver for notifications (receiver.rs).

mod app;
mod db;
pub mod receiver;
pub mod releases;
mod server;
pub mod stream;

pub use app::{Resp, TestApp};
pub use db::{TestDb, postgres_admin_url, raw_texts, run_sql};
pub use server::RunningServer;

use optralis_proto::agent::HostFacts;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs one async test body on both backends.
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::support::Backend::Sqlite).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::support::Backend::Postgres).await
                }
            )+
        }
    };
}
pub(crate) use both_backends;

/// The password of every test user.
pub const PASSWORD: &str = "correct horse battery staple";

/// A moment well after 1970, so retention arithmetic never goes negative.
pub const T0: i64 = 1_790_000_000_000;

pub fn facts(hostname: &str) -> HostFacts {
    HostFacts {
        hostname: hostname.to_owned(),
        os_name: "Debian GNU/Linux".into(),
        os_version: "12".into(),
        kernel_version: "6.1.0".into(),
        arch: "x86_64".into(),
        cpu_model: "Test CPU".into(),
        cpu_physical_cores: Some(2),
        cpu_logical_cores: 4,
        agent_version: "0.1.0".into(),
    }
}

/// The notifier of every test server: one secret key, so a server restarted on the same
/// database can open what the previous one sealed, and channels that may reach this machine
/// (the tests' receivers listen on loopback).
pub fn test_notifier() -> optralis::notify::Notifier {
    optralis::notify::Notifier::new(
        optralis::notify::seal::Sealer::from_bytes(&[7u8; 32]).unwrap(),
        loopback_allowed(),
    )
}

pub fn loopback_allowed() -> optralis::notify::egress::EgressPolicy {
    use optralis::notify::egress::EgressPolicy;
    EgressPolicy::allowing(EgressPolicy::parse_list("127.0.0.0/8,::1").unwrap())
}
