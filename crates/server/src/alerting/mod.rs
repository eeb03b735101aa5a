//! Alerting: rules judged against every machine of an organisation (rules.rs, pure), the
//! alert lifecycle pending → firing → resolved with reminders, acknowledgements and
//! silences (below), grouped notifications in the organisation's language (message.rs),
//! queued for the channels that want them (notify).
//!
//! An organisation is evaluated when one of its machines reports (so a threshold crossed is
//! notified within a second) and every few seconds (durations, offline machines, reminders).

pub mod message;
pub mod rules;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use optralis_proto::alerts::{NotificationEvent, NotifiedMachine, Rule, RuleKind, Silence};
use optralis_proto::api::Machine;
use optralis_proto::vocabulary::Language;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::ids::OrgId;
use crate::notify::Notifier;
use crate::store::{AlertChange, Store, StoreError};
use rules::{Extra, in_scope, observe, scope_selector};

/// Every organisation is evaluated at least this often.
const EVALUATE_EVERY: Duration = Duration::from_secs(5);

/// What evaluations need besides the store.
#[derive(Clone)]
pub struct Alerting {
    store: Store,
    notifier: Notifier,
    /// The dashboard's address, for links in messages.
    public_url: Option<String>,
    /// Organisations with new reports since their last evaluation.
    poked: Arc<Mutex<HashSet<OrgId>>>,
    wake: Arc<Notify>,
}

impl Alerting {
    pub fn new(store: Store, notifier: Notifier, public_url: Option<String>) -> Self {
        Self {
            store,
            notifier,
            public_url,
            poked: Arc::default(),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Asks for `org` to be evaluated now (a machine of it reported).
    pub fn poke(&self, org: &OrgId) {
        if let Ok(mut p) = self.poked.lock() {
            p.insert(org.clone());
        }
        self.wake.notify_one();
    }

    /// Evaluates every rule of `org` against every machine, then applies the changes and
    /// queues the notifications together. Returns how many deliveries were queued.
    pub async fn evaluate_org(&self, org: &OrgId) -> Result<usize, StoreError> {
        // Replicas take turns per organisation: each sees what the previous one did.
        let lock = self.store.lock_org(org).await?;
        let result = self.evaluate_locked(org).await;
        self.store.unlock_org(org, lock).await?;
        result
    }

    async fn evaluate_locked(&self, org: &OrgId) -> Result<usize, StoreError> {
        let store = &self.store;
        let now = store.now_ms();
        let info = store.org_info(org).await?;
        let fr = info.language == Language::Fr;
        let rules = store.list_rules(org).await?;
        let machines = store.list_machines(org).await?;
        let mut open: HashMap<(String, String), crate::store::OpenAlert> = store
            .open_alerts(org)
            .await?
            .into_iter()
            .map(|a| ((a.rule_id.clone(), a.machine_id.clone()), a))
            .collect();
        let silences: Vec<Silence> = store
            .list_silences(org)
            .await?
            .into_iter()
            .filter(|s| s.starts_ms <= now)
            .collect();
        let disks = if rules.iter().any(|r| r.spec.kind == RuleKind::Disk) {
            store.disk_verdicts(org).await?
        } else {
            HashMap::new()
        };
        let drops = if rules.iter().any(|r| r.spec.kind == RuleKind::Agent) {
            store.agent_drops(org).await?
        } else {
            HashMap::new()
        };

        let mut changes = Vec::new();
        // (rule index, event) → machines to tell about.
        let mut outbox: BTreeMap<(usize, NotificationEvent), Vec<NotifiedMachine>> =
            BTreeMap::new();
        for (ri, rule) in rules.iter().enumerate() {
            let spec = &rule.spec;
            let selector = scope_selector(&spec.scope);
            let events = match (spec.kind.as_str(), spec.event_severity) {
                ("events", Some(min)) if spec.enabled => {
                    let since = now - i64::from(spec.window_s.unwrap_or(3_600)) * 1000;
                    store
                        .event_counts(org, min, spec.event_pattern.as_deref(), since)
                        .await?
                }
                _ => HashMap::new(),
            };
            for m in &machines {
                let key = (rule.id.clone(), m.id.clone());
                let existing = open.remove(&key);
                let observation = (spec.enabled && in_scope(&spec.scope, selector.as_ref(), m))
                    .then(|| {
                        let extra = Extra {
                            disks: disks.get(&m.id).cloned().unwrap_or_default(),
                            events: events.get(&m.id).copied().unwrap_or(0),
                            drops: drops.get(&m.id).copied(),
                            now_ms: now,
                        };
                        observe(spec, m, &extra, fr)
                    })
                    .flatten();
                let silenced = is_silenced(&silences, rule, m);
                let mut tell = |event: NotificationEvent, detail: &str| {
                    outbox
                        .entry((ri, event))
                        .or_default()
                        .push(message::machine(
                            &m.id,
                            &m.hostname,
                            detail,
                            self.public_url.as_deref(),
                        ));
                };
                match (existing, observation) {
                    (None, Some(o)) if o.breached => {
                        let firing = spec.for_s == 0;
                        let notify = firing && !silenced;
                        if notify {
                            tell(NotificationEvent::Firing, &o.detail);
                        }
                        changes.push(AlertChange::Open {
                            rule_id: rule.id.clone(),
                            machine_id: m.id.clone(),
                            firing,
                            severity: spec.severity,
                            kind: spec.kind,
                            value: o.value,
                            detail: o.detail,
                            notified: notify,
                        });
                    }
                    (None, _) => {}
                    (Some(a), Some(o)) if !a.firing => {
                        if !o.breached {
                            changes.push(AlertChange::Drop { id: a.id });
                            continue;
                        }
                        let fire = now - a.since_ms >= i64::from(spec.for_s) * 1000;
                        let notify = fire && !silenced;
                        if notify {
                            tell(NotificationEvent::Firing, &o.detail);
                        }
                        changes.push(AlertChange::Update {
                            id: a.id,
                            value: o.value,
                            detail: o.detail,
                            fire,
                            notified: notify,
                        });
                    }
                    (Some(a), Some(o)) if o.cleared => {
                        // Whoever was told it fired is told it resolved, silence or not.
                        if a.notified_ms.is_some() {
                            tell(NotificationEvent::Resolved, &o.detail);
                        }
                        changes.push(AlertChange::Resolve { id: a.id });
                    }
                    (Some(a), Some(o)) => {
                        // Still firing (or between threshold and clear level).
                        let event = match a.notified_ms {
                            _ if silenced => None,
                            // Fired while silenced: told once the silence is over.
                            None => Some(NotificationEvent::Firing),
                            Some(last)
                                if spec.reminder_s > 0
                                    && !a.acked
                                    && now - last >= i64::from(spec.reminder_s) * 1000 =>
                            {
                                Some(NotificationEvent::Reminder)
                            }
                            Some(_) => None,
                        };
                        if let Some(e) = event {
                            tell(e, &o.detail);
                        }
                        if event.is_none() && o.detail.is_empty() {
                            // Nothing seen (an offline machine's stale values): the alert
                            // keeps what it last showed.
                            continue;
                        }
                        changes.push(AlertChange::Update {
                            id: a.id,
                            value: o.value,
                            detail: o.detail,
                            fire: false,
                            notified: event.is_some(),
                        });
                    }
                    (Some(a), None) => {
                        // Out of scope now (rule disabled or changed, machine retired, no data).
                        if a.firing {
                            if a.notified_ms.is_some() {
                                tell(NotificationEvent::Resolved, "");
                            }
                            changes.push(AlertChange::Resolve { id: a.id });
                        } else {
                            changes.push(AlertChange::Drop { id: a.id });
                        }
                    }
                }
            }
        }
        // Open alerts of machines no longer listed (deleted) go with their rows; any other
        // leftover (its rule deleted meanwhile) is resolved quietly.
        for a in open.into_values() {
            changes.push(AlertChange::Resolve { id: a.id });
        }
        let channels = if outbox.is_empty() {
            Vec::new()
        } else {
            store.list_channels(org).await?
        };
        let mut deliveries = Vec::new();
        for ((ri, event), machines) in outbox {
            let rule = &rules[ri].spec;
            let n = message::notification(
                event,
                rule,
                machines,
                &info.name,
                info.language,
                self.public_url.as_deref(),
                now,
            );
            for c in channels.iter().filter(|c| {
                c.enabled
                    && c.min_severity <= rule.severity
                    && (c.alert_kinds.is_empty() || c.alert_kinds.contains(&rule.kind))
            }) {
                deliveries.push((c.id.clone(), n.clone()));
            }
        }
        store
            .apply_alert_changes(org, &changes, &deliveries)
            .await?;
        if !deliveries.is_empty() {
            self.notifier.wake();
        }
        Ok(deliveries.len())
    }

    /// Gives organisations without them the default rules.
    pub async fn seed_defaults(&self) -> Result<(), StoreError> {
        let defaults = rules::default_rules();
        for org in self.store.orgs_without_rules().await? {
            self.store.seed_rules(&org, &defaults).await?;
        }
        Ok(())
    }

    /// Runs until shutdown: poked organisations at once, all of them every few seconds.
    pub fn spawn(self, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(EVALUATE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let all = tokio::select! {
                    _ = tick.tick() => true,
                    _ = self.wake.notified() => false,
                    _ = shutdown.changed() => break,
                };
                let orgs: Vec<OrgId> = if all {
                    if let Err(e) = self.seed_defaults().await {
                        tracing::warn!(error = %e, "cannot give organisations their default rules");
                    }
                    match self.store.list_orgs().await {
                        Ok(orgs) => orgs.into_iter().map(|o| o.id).collect(),
                        Err(e) => {
                            tracing::warn!(error = %e, "alert evaluation: cannot list organisations");
                            continue;
                        }
                    }
                } else {
                    self.poked
                        .lock()
                        .map(|mut p| p.drain().collect())
                        .unwrap_or_default()
                };
                for org in orgs {
                    if let Err(e) = self.evaluate_org(&org).await {
                        tracing::warn!(org = %org, error = %e, "alert evaluation failed; will retry");
                    }
                }
            }
        })
    }
}

fn is_silenced(silences: &[Silence], rule: &Rule, m: &Machine) -> bool {
    silences.iter().any(|s| {
        s.rule_id.as_ref().is_none_or(|r| *r == rule.id)
            && in_scope(&s.scope, scope_selector(&s.scope).as_ref(), m)
    })
}
