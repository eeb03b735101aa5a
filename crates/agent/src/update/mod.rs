//! Signed self-update. The server offers a release in its reply to a report batch; the
//! agent checks it with its own trusted keys (never the server's), downloads it beside the
//! running binary, and hands over to it on trial: the previous binary watches the new one
//! and comes back if it does not report healthy within the health window.
//!
//! - [`state`]: what is on disk (`STATE_DIR/update/`): the staged binaries, which one runs,
//!   the trial in progress, the highest release accepted, the last outcome;
//! - [`fetch`]: checking an offer, the resumable download and the verification;
//! - [`launch`]: at start, run the binary the state names (or supervise its trial), and the
//!   trial supervisor itself (Linux).

pub mod fetch;
#[cfg(unix)]
pub mod launch;
pub mod state;

use optralis_proto::release::verify::TrustedKey;

pub use fetch::Updater;

/// This build's version: the workspace's, unless the build set `OPTRALIS_AGENT_VERSION`
/// (the tests build a "next" agent that way).
pub const AGENT_VERSION: &str = match option_env!("OPTRALIS_AGENT_VERSION") {
    Some(v) => v,
    None => env!("CARGO_PKG_VERSION"),
};

/// Set by the trial supervisor in the new binary's environment: the version on trial.
pub const TRIAL_ENV: &str = "OPTRALIS_AGENT_TRIAL";
/// The binary the service manager started (the package's), kept across handovers: what
/// runs when no staged release does.
pub const INSTALLED_ENV: &str = "OPTRALIS_AGENT_INSTALLED";

/// How updates are handled on this machine (`[update]` in the config file).
#[derive(Debug, Clone, Default)]
pub struct UpdateConfig {
    /// Off: offers are refused (and the server is told why).
    pub enabled: bool,
    /// The keys a release must be signed by, fixed at install.
    pub keys: Vec<TrustedKey>,
}

/// Test builds only: `OPTRALIS_AGENT_FAILPOINT=<step>` kills the process with SIGKILL at
/// that step of an update, as a power cut would. Release builds have no such hook.
pub fn failpoint(step: &str) {
    #[cfg(all(debug_assertions, unix))]
    if std::env::var("OPTRALIS_AGENT_FAILPOINT").is_ok_and(|s| s == step) {
        tracing::warn!(step, "failpoint: killing the agent");
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    }
    #[cfg(not(all(debug_assertions, unix)))]
    let _ = step;
}
