//! Acting on an offer: every check that needs no download first (enabled, platform,
//! version, key), then the download in a thread of its own (resumable, capped at the
//! offered size, into a temporary file), then the signature, before anything is staged.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use optralis_proto::release::verify::{signature_key_id, verify_release};
use optralis_proto::release::{AgentStatus, Platform, UpdateOffer, UpdateState, Version};

use super::state::{self, Accepted, Staged, Trial, UpdateFile};
use super::{AGENT_VERSION, UpdateConfig};
use crate::send::client::{Client, SendError};

/// Largest release the agent downloads.
pub const MAX_RELEASE_BYTES: u64 = 64 * 1024 * 1024;
/// Health windows the agent accepts from an offer.
const HEALTH_WINDOW_S: std::ops::RangeInclusive<u32> = 30..=86_400;

/// Why a download did not end staged.
#[derive(Debug)]
enum Failure {
    /// The server or the network failed: the next offer resumes the download.
    Retry(String),
    /// The file is not a release this agent accepts: never fetched again.
    Refuse(String),
}

/// A release verified and staged: the caller hands over to it.
#[derive(Debug)]
pub struct Handover {
    pub version: String,
}

pub struct Updater {
    config: UpdateConfig,
    dir: PathBuf,
    file: UpdateFile,
    platform: Option<Platform>,
    /// The download in progress: its offer, and where its verdict arrives.
    job: Option<(UpdateOffer, mpsc::Receiver<Result<Staged, Failure>>)>,
    /// The offer being worked on or last refused in this process (version, sha256).
    seen: Option<(String, String)>,
}

impl Updater {
    pub fn new(state_dir: &Path, config: UpdateConfig) -> Result<Self, crate::state::StateError> {
        // Absolute: a staged binary is started by path, whatever the working directory.
        let dir = std::path::absolute(state::dir(state_dir))
            .map_err(crate::state::io("resolve", state_dir))?;
        let file = state::load(&dir)?;
        Ok(Self {
            config,
            dir,
            file,
            platform: Platform::current(),
            job: None,
            seen: None,
        })
    }

    /// What this agent runs and how its last update went, for each batch.
    pub fn status(&self) -> AgentStatus {
        let update = match &self.job {
            Some((offer, _)) => Some(optralis_proto::release::UpdateReport {
                version: offer.version.clone(),
                state: UpdateState::Downloading,
                reason: None,
            }),
            None => self.file.last.clone(),
        };
        AgentStatus {
            version: AGENT_VERSION.to_owned(),
            platform: self.platform,
            update,
        }
    }

    /// A download is under way.
    pub fn downloading(&self) -> bool {
        self.job.is_some()
    }

    /// The binary on trial tells its supervisor that a report of its own was acknowledged.
    pub fn reported(&mut self) {
        if let Ok(version) = std::env::var(super::TRIAL_ENV)
            && version == AGENT_VERSION
            && !state::is_marked_healthy(&self.dir, &version)
        {
            match state::mark_healthy(&self.dir, &version) {
                Ok(()) => tracing::info!(version, "reported on trial: healthy"),
                Err(e) => tracing::error!(error = %e, "cannot mark the update healthy"),
            }
        }
    }

    fn refuse(&mut self, offer: &UpdateOffer, reason: String) {
        tracing::warn!(version = %offer.version, %reason, "update refused");
        self.file
            .set_last(&offer.version, UpdateState::Failed, Some(reason));
        self.file.refused = Some((offer.version.clone(), offer.sha256.clone()));
        if let Err(e) = state::save(&self.dir, &self.file) {
            tracing::error!(error = %e, "cannot record the refused update");
        }
    }

    /// Takes the server's offer: refuses it now if a check needs no download, else starts
    /// the download (once per offer).
    pub fn offer(&mut self, offer: UpdateOffer, client: &Client, token: &str) {
        let key = (offer.version.clone(), offer.sha256.clone());
        if self.seen.as_ref() == Some(&key) || self.file.refused.as_ref() == Some(&key) {
            return;
        }
        self.seen = Some(key);
        if let Err(reason) = self.precheck(&offer) {
            return self.refuse(&offer, reason);
        }
        tracing::info!(version = %offer.version, size = offer.size, "update offered: downloading");
        let (tx, rx) = mpsc::channel();
        let client = client.clone();
        let token = token.to_owned();
        let dir = self.dir.clone();
        let keys = self.config.keys.clone();
        let accepted = self.file.accepted.clone();
        let job = offer.clone();
        let spawned = std::thread::Builder::new()
            .name("update-download".into())
            .spawn(move || {
                let _ = tx.send(fetch_and_stage(
                    &client, &token, &dir, &keys, accepted, &job,
                ));
            });
        match spawned {
            Ok(_) => self.job = Some((offer, rx)),
            Err(e) => self.refuse(&offer, format!("cannot start the download: {e}")),
        }
    }

    /// The checks that need no download.
    fn precheck(&self, offer: &UpdateOffer) -> Result<(), String> {
        if !self.config.enabled {
            return Err("updates are turned off on this machine".into());
        }
        if self.config.keys.is_empty() {
            return Err(
                "this agent trusts no release key ([update] public_keys in its config)".into(),
            );
        }
        if !cfg!(unix) {
            return Err("self-update is not available on Windows yet".into());
        }
        let Some(platform) = self.platform else {
            return Err("this agent's platform has no releases".into());
        };
        if offer.platform != platform {
            return Err(format!(
                "the release is for {}, this agent runs on {}",
                offer.platform.as_str(),
                platform.as_str()
            ));
        }
        let version = Version::parse(&offer.version)?;
        let running = Version::parse(AGENT_VERSION)?;
        if version <= running {
            return Err(format!(
                "{} is not newer than the running {AGENT_VERSION}",
                offer.version
            ));
        }
        if let Some(a) = &self.file.accepted
            && Version::parse(&a.version).is_ok_and(|accepted| version <= accepted)
        {
            return Err(format!(
                "{} is not above {}, the highest release this agent accepted",
                offer.version, a.version
            ));
        }
        if offer.size == 0 || offer.size > MAX_RELEASE_BYTES {
            return Err(format!(
                "the release's size ({} bytes) is not between 1 byte and {MAX_RELEASE_BYTES}",
                offer.size
            ));
        }
        let key_id = signature_key_id(&offer.signature).map_err(|e| e.to_string())?;
        if !self.config.keys.iter().any(|k| k.id == key_id) {
            return Err(format!(
                "signed by key {key_id}, which this agent does not trust"
            ));
        }
        Ok(())
    }

    /// A finished download: refused, or staged and put on trial (the caller hands over).
    pub fn poll(&mut self) -> Option<Handover> {
        let (offer, rx) = self.job.as_ref()?;
        let verdict = match rx.try_recv() {
            Ok(v) => v,
            Err(mpsc::TryRecvError::Empty) => return None,
            Err(mpsc::TryRecvError::Disconnected) => {
                Err(Failure::Retry("the download stopped".into()))
            }
        };
        let offer = offer.clone();
        self.job = None;
        let staged = match verdict {
            Ok(staged) => staged,
            Err(Failure::Retry(reason)) => {
                tracing::warn!(version = %offer.version, %reason, "update download failed; it resumes at the next offer");
                self.seen = None;
                return None;
            }
            Err(Failure::Refuse(reason)) => {
                self.refuse(&offer, reason);
                return None;
            }
        };
        super::failpoint("staged");
        let window = offer
            .health_window_s
            .clamp(*HEALTH_WINDOW_S.start(), *HEALTH_WINDOW_S.end());
        let mut next = self.file.clone();
        next.accepted = Some(Accepted {
            version: staged.version.clone(),
            serial: staged.serial,
        });
        next.previous = next.current.take();
        next.current = Some(staged);
        next.trial = Some(Trial {
            version: offer.version.clone(),
            deadline_ms: crate::clock::now_ms() + i64::from(window) * 1000,
            health_window_s: window,
            starts: 0,
        });
        next.set_last(&offer.version, UpdateState::Applied, None);
        next.refused = None;
        state::clear_healthy(&self.dir);
        if let Err(e) = state::save(&self.dir, &next) {
            self.refuse(&offer, format!("cannot record the update: {e}"));
            return None;
        }
        self.file = next;
        tracing::info!(version = %offer.version, window_s = window, "update staged; handing over on trial");
        super::failpoint("trial-recorded");
        Some(Handover {
            version: offer.version,
        })
    }
}

/// Downloads, verifies and stages an offer (in the download thread).
fn fetch_and_stage(
    client: &Client,
    token: &str,
    dir: &Path,
    keys: &[optralis_proto::release::verify::TrustedKey],
    accepted: Option<Accepted>,
    offer: &UpdateOffer,
) -> Result<Staged, Failure> {
    use Failure::{Refuse, Retry};
    let downloads = dir.join("downloads");
    crate::state::ensure_dir(&downloads).map_err(|e| Retry(e.to_string()))?;
    // One temporary file per file offered: a download cut short resumes where it stopped.
    let name: String = offer
        .sha256
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(64)
        .collect();
    let part = downloads.join(format!("{name}.part"));
    match client.download(token, &offer.url, &part, offer.size) {
        Ok(()) => {}
        Err(SendError::Refused { message, .. }) => {
            let _ = std::fs::remove_file(&part);
            return Err(Refuse(message));
        }
        Err(e) => return Err(Retry(format!("download failed: {e}"))),
    }
    super::failpoint("downloaded");
    // From here on, a file that does not pass is not resumed either.
    let refuse = |reason: String| {
        let _ = std::fs::remove_file(&part);
        Refuse(reason)
    };
    let file =
        std::fs::File::open(&part).map_err(|e| Retry(format!("cannot read the download: {e}")))?;
    let verified = verify_release(keys, std::io::BufReader::new(file), &offer.signature)
        .map_err(|e| refuse(e.to_string()))?;
    let c = &verified.comment;
    if c.version != offer.version || Some(c.platform) != Platform::current() {
        return Err(refuse(format!(
            "the signature is for {} {}, not for {} on this agent's platform",
            c.version,
            c.platform.as_str(),
            offer.version
        )));
    }
    if let Some(a) = &accepted
        && c.serial <= a.serial
    {
        return Err(refuse(format!(
            "serial {} is not above {}, that of {} (a replayed release)",
            c.serial, a.serial, a.version
        )));
    }
    stage(dir, offer, c.serial, &part).map_err(Retry)
}

/// Moves a verified download into its release directory, beside its signature.
fn stage(dir: &Path, offer: &UpdateOffer, serial: u64, part: &Path) -> Result<Staged, String> {
    let target = state::release_dir(dir, &offer.version);
    let _ = std::fs::remove_dir_all(&target);
    crate::state::ensure_dir(&target).map_err(|e| e.to_string())?;
    let staged = Staged {
        version: offer.version.clone(),
        serial,
        dir: target,
    };
    std::fs::write(staged.signature(), &offer.signature)
        .map_err(|e| format!("cannot stage the signature: {e}"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(part, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot make the release executable: {e}"))?;
    }
    std::fs::rename(part, staged.binary()).map_err(|e| format!("cannot stage the release: {e}"))?;
    crate::state::sync_dir(&staged.dir).map_err(|e| e.to_string())?;
    Ok(staged)
}
