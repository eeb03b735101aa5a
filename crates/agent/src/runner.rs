//! The agent's loop: collect, queue, send what is queued, wait for the next interval.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use optralis_proto::agent::EnrollRequest;
use optralis_proto::interval::{HEALTHY_INTERVAL_S, Thresholds};

use crate::clock;
use crate::collect::{CollectError, Collector, Platform};
use crate::events::{EventCollector, EventOptions, native_source};
use crate::send::client::{Client, SendError};
use crate::send::outbox::{Outbox, OutboxError, OutboxLimits};
use crate::state::{self, Enrollment, StateError};
use crate::update::{UpdateConfig, Updater, fetch::Handover};

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error(transparent)]
    Collect(#[from] CollectError),
    #[error("not enrolled with {0}: give an enrollment key (--enroll-key or OPTRALIS_ENROLL_KEY)")]
    NeedEnrollKey(String),
    #[error("enrollment refused: {0}")]
    EnrollRefused(String),
    #[error("server unavailable: {0}")]
    ServerUnavailable(String),
    #[error("stopped before enrollment completed")]
    Stopped,
}

#[derive(Debug, Clone)]
pub struct AgentOptions {
    pub server: String,
    pub enroll_key: Option<String>,
    pub state_dir: PathBuf,
    /// Overrides both the adaptive interval and the server's directive.
    pub forced_interval: Option<Duration>,
    pub thresholds: Thresholds,
    pub outbox: OutboxLimits,
    /// Reports per request when catching up.
    pub batch_size: usize,
    /// How often disks are read with smartctl; `None` never.
    pub smart_interval: Option<Duration>,
    /// smartctl to run; `None` looks for it on PATH and in /usr/sbin.
    pub smartctl: Option<PathBuf>,
    /// Labels the machine declares, sent with every report.
    pub labels: std::collections::BTreeMap<String, String>,
    /// System events to read; `None` reads none.
    pub events: Option<EventOptions>,
    /// Signed self-update: the trusted keys, on or off.
    pub update: UpdateConfig,
}

/// What one flush achieved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flushed {
    pub acknowledged: usize,
    pub rejected: usize,
}

pub struct Agent<P> {
    opts: AgentOptions,
    collector: Collector<P>,
    outbox: Outbox,
    client: Client,
    enrollment: Option<Enrollment>,
    facts_pending: bool,
    server_interval: Option<u32>,
    local_interval: u32,
    batch_size: usize,
    /// When the collector took its first reading; rates need some time after it.
    primed_at: Option<Instant>,
    /// When the disks were last read with smartctl.
    smart_read_at: Option<Instant>,
    events: Option<EventCollector>,
    /// The last machine token this agent held for this server (see `reenroll`).
    proof: Option<String>,
    updater: Updater,
}

/// Shortest span the first report's rates may cover.
const FIRST_RATE_SPAN: Duration = Duration::from_secs(1);

impl<P: Platform> Agent<P> {
    pub fn new(opts: AgentOptions, platform: P) -> Result<Self, AgentError> {
        state::ensure_dir(&opts.state_dir)?;
        let outbox = Outbox::open(&opts.state_dir.join("outbox.redb"), opts.outbox)?;
        // A new outbox numbers from 1 again: enroll again (same machine) so the server says
        // where its numbering stands, or fresh reports would be taken for replays.
        let saved = state::load_enrollment(&opts.state_dir)?.filter(|e| e.server == opts.server);
        // The token proves who this machine is when it enrolls again.
        let proof = saved.as_ref().map(|e| e.machine_token.clone());
        let enrollment = saved.filter(|_| !outbox.is_new());
        let updater = Updater::new(&opts.state_dir, opts.update.clone())?;
        let mut collector = Collector::new(platform);
        let primed_at = Instant::now();
        collector.prime(primed_at)?;
        Ok(Self {
            client: Client::new(&opts.server),
            batch_size: opts.batch_size.max(1),
            collector,
            outbox,
            enrollment,
            proof,
            updater,
            facts_pending: true,
            server_interval: None,
            local_interval: HEALTHY_INTERVAL_S,
            primed_at: Some(primed_at),
            smart_read_at: None,
            events: opts
                .events
                .as_ref()
                .map(|e| EventCollector::new(native_source(e), e.max_per_report)),
            opts,
        })
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub fn machine_id(&self) -> Option<&str> {
        self.enrollment.as_ref().map(|e| e.machine_id.as_str())
    }

    /// Enrolls unless already enrolled with this server. Same machine, same identity.
    pub fn enroll(&mut self) -> Result<(), AgentError> {
        if self.enrollment.is_some() {
            return Ok(());
        }
        self.reenroll()
    }

    /// Enrolls now; the current enrollment is replaced only if this one succeeds.
    fn reenroll(&mut self) -> Result<(), AgentError> {
        let key = self
            .opts
            .enroll_key
            .clone()
            .ok_or_else(|| AgentError::NeedEnrollKey(self.opts.server.clone()))?;
        let platform = self.collector.platform();
        let req = EnrollRequest {
            enroll_key: key,
            fingerprint: state::fingerprint(platform.machine_id(), &self.opts.state_dir)?,
            facts: platform.facts(),
            machine_token: self
                .enrollment
                .as_ref()
                .map(|e| e.machine_token.clone())
                .or_else(|| self.proof.clone()),
        };
        let resp = match self.client.enroll(&req) {
            Ok(r) => r,
            Err(SendError::Unavailable(m)) => return Err(AgentError::ServerUnavailable(m)),
            Err(e) => return Err(AgentError::EnrollRefused(e.to_string())),
        };
        self.outbox.continue_after(resp.last_seq)?;
        let enrollment = Enrollment {
            server: self.opts.server.clone(),
            machine_id: resp.machine_id,
            machine_token: resp.machine_token,
        };
        state::save_enrollment(&self.opts.state_dir, &enrollment)?;
        if std::env::var_os("CREDENTIALS_DIRECTORY").is_some() {
            // The service cannot encrypt a systemd credential itself (that takes root).
            tracing::warn!(
                "the new machine token is kept in enrollment.json (0600); run optralis-agent install again to seal it as a systemd credential"
            );
        }
        self.proof = Some(enrollment.machine_token.clone());
        tracing::info!(machine_id = %enrollment.machine_id, server = %self.opts.server, "enrolled");
        self.enrollment = Some(enrollment);
        Ok(())
    }

    /// Collects one report and queues it. The queue is on disk before anything is sent.
    pub fn collect(&mut self) -> Result<u64, AgentError> {
        if let Some(primed) = self.primed_at.take() {
            // A CPU percentage over a few milliseconds says nothing: let a second pass.
            std::thread::sleep(FIRST_RATE_SPAN.saturating_sub(primed.elapsed()));
        }
        let interval = self.current_interval().as_secs() as u32;
        let mut report = self.collector.collect(Instant::now(), clock::now_ms())?;
        report.interval_s = interval.max(1);
        if self.facts_pending {
            report.facts = Some(self.collector.platform().facts());
        }
        if !self.opts.labels.is_empty() {
            report.labels = Some(self.opts.labels.clone());
        }
        if let Some(every) = self.opts.smart_interval
            && self.smart_read_at.is_none_or(|at| at.elapsed() >= every)
        {
            report.smart = Some(crate::smart::read_snapshot(self.opts.smartctl.as_deref()));
            self.smart_read_at = Some(Instant::now());
        }
        // Events read after the saved position; the new position is saved with the report.
        let mut position = None;
        if let Some(events) = &mut self.events {
            let saved = self.outbox.bookmark(events.name())?;
            let (batch, next) = events.collect(saved.as_deref(), clock::now_ms());
            report.events = Some(batch);
            position = next.map(|p| (events.name(), p));
        }
        self.local_interval = self.opts.thresholds.interval_for(&report);
        let bookmark = position.as_ref().map(|(name, p)| (*name, p.as_str()));
        let seq = self
            .outbox
            .push_with_bookmark(report.ts_ms, bookmark, |seq, stats| {
                report.seq = seq;
                report.outbox = stats;
                report
            })?;
        Ok(seq)
    }

    /// Sends everything queued, oldest first, in batches. Stops at the first failure and
    /// leaves the rest queued for the next attempt.
    pub fn flush(&mut self) -> Result<Flushed, SendError> {
        let mut done = Flushed::default();
        loop {
            if self.enrollment.is_none() {
                self.enroll()
                    .map_err(|e| SendError::Unauthorized(format!("not enrolled: {e}")))?;
            }
            let Some(enrollment) = self.enrollment.clone() else {
                return Err(SendError::Unauthorized("not enrolled".into()));
            };
            let batch = self
                .outbox
                .peek(self.batch_size)
                .map_err(|e| SendError::Unavailable(format!("outbox: {e}")))?;
            if batch.is_empty() {
                return Ok(done);
            }
            let status = self.updater.status();
            match self.client.send_reports(
                &enrollment.machine_token,
                &batch,
                clock::now_ms(),
                Some(&status),
            ) {
                Ok(reply) => {
                    if let Some(offer) = reply.update.clone() {
                        self.updater
                            .offer(offer, &self.client, &enrollment.machine_token);
                    }
                    if !reply.accepted.is_empty() {
                        self.updater.reported();
                    }
                    for r in &reply.rejected {
                        tracing::error!(seq = ?r.seq, field = %r.field, message = %r.message, "server rejected a report; dropping it");
                    }
                    let mut settled = reply.accepted.clone();
                    settled.extend(reply.rejected.iter().filter_map(|r| r.seq));
                    self.outbox
                        .ack(&settled)
                        .map_err(|e| SendError::Unavailable(format!("outbox: {e}")))?;
                    done.acknowledged += reply.accepted.len();
                    done.rejected += reply.rejected.len();
                    self.facts_pending = false;
                    if reply.next_interval_s.is_some() {
                        self.server_interval = reply.next_interval_s;
                    }
                    // Back towards the configured batch size after a success.
                    self.batch_size = (self.batch_size * 2).min(self.opts.batch_size.max(1));
                    if settled.is_empty() {
                        // Nothing settled: sending the same batch again would loop.
                        return Err(SendError::Refused {
                            status: 200,
                            message: "server acknowledged nothing".into(),
                        });
                    }
                }
                Err(SendError::TooLarge(m)) if self.batch_size > 1 => {
                    self.batch_size = (self.batch_size / 2).max(1);
                    tracing::warn!(batch_size = self.batch_size, message = %m, "batch too large; sending fewer at a time");
                }
                Err(SendError::Unauthorized(m)) => {
                    // The machine was deleted, or re-enrolled elsewhere: enroll again.
                    tracing::warn!(message = %m, "machine token refused; enrolling again");
                    // Keep the current enrollment until a new one succeeds: the next flush
                    // tries again if this one fails.
                    if let Err(e) = self.reenroll() {
                        return Err(SendError::Unauthorized(e.to_string()));
                    }
                }
                Err(SendError::Refused { status, message }) if batch.len() == 1 => {
                    // The server will never take this one report as it is: drop it rather
                    // than let it block everything queued behind it.
                    tracing::error!(seq = batch[0].seq, status, message = %message, "report refused; dropping it");
                    self.outbox
                        .ack(&[batch[0].seq])
                        .map_err(|e| SendError::Unavailable(format!("outbox: {e}")))?;
                    done.rejected += 1;
                }
                Err(SendError::Refused { .. }) => {
                    // Find the culprit one report at a time.
                    self.batch_size = 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The interval to wait before the next collection.
    pub fn current_interval(&self) -> Duration {
        self.opts.forced_interval.unwrap_or_else(|| {
            Duration::from_secs(u64::from(
                self.server_interval.unwrap_or(self.local_interval).max(1),
            ))
        })
    }

    /// Runs until `stop` is set: enroll (retrying while the server is unreachable), then
    /// collect and send every interval. Also ends once an update is staged (see
    /// [`Agent::run_with`]).
    pub fn run(&mut self, stop: &AtomicBool) -> Result<(), AgentError> {
        self.run_with(stop, &mut || {}).map(|_| ())
    }

    /// [`Agent::run`], calling `alive` from the loop at least every 100 ms while it waits and
    /// after each report (a service manager's watchdog: a hung loop stops calling it).
    /// Returns the staged update to hand over to, or `None` once stopped.
    pub fn run_with(
        &mut self,
        stop: &AtomicBool,
        alive: &mut dyn FnMut(),
    ) -> Result<Option<Handover>, AgentError> {
        let mut backoff = Duration::from_secs(2);
        while let Err(e) = self.enroll() {
            match e {
                AgentError::ServerUnavailable(_) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "cannot enroll yet");
                    if !sleep_unless_stopped(backoff, stop, alive) {
                        return Err(AgentError::Stopped);
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
                other => return Err(other),
            }
        }
        loop {
            let started = Instant::now();
            match self.collect() {
                Ok(seq) => tracing::debug!(seq, "report queued"),
                Err(e) => tracing::error!(error = %e, "collection failed"),
            }
            match self.flush() {
                Ok(f) if f.acknowledged > 1 => {
                    tracing::info!(reports = f.acknowledged, "backlog sent")
                }
                Ok(_) => {}
                Err(e) => {
                    let pending = self.outbox.stats().map(|s| s.pending).unwrap_or(0);
                    tracing::warn!(error = %e, pending, "send failed; reports stay queued");
                }
            }
            alive();
            let mut wait = self.current_interval().saturating_sub(started.elapsed());
            // While a download runs, look in on it every second.
            while self.updater.downloading() && !wait.is_zero() {
                let step = wait.min(Duration::from_secs(1));
                if !sleep_unless_stopped(step, stop, alive) {
                    tracing::info!("stopping");
                    return Ok(None);
                }
                wait -= step;
                if let Some(handover) = self.updater.poll() {
                    return Ok(Some(handover));
                }
            }
            if let Some(handover) = self.updater.poll() {
                return Ok(Some(handover));
            }
            if !sleep_unless_stopped(wait, stop, alive) {
                tracing::info!("stopping");
                return Ok(None);
            }
        }
    }
}

/// Sleeps for `d` in short steps, calling `alive` at each; false if `stop` was set meanwhile.
fn sleep_unless_stopped(d: Duration, stop: &AtomicBool, alive: &mut dyn FnMut()) -> bool {
    let deadline = Instant::now() + d;
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        alive();
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(100)));
    }
}
