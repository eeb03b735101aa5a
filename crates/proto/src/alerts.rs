//! Notification channels and the messages they carry.

use serde::{Deserialize, Serialize};

use crate::metrics::MetricName;
use crate::vocabulary::Language;

names! {
    /// Ordered: `info` < `warning` < `critical`.
    pub enum AlertSeverity("severity") {
        Info = "info",
        Warning = "warning",
        Critical = "critical",
    }
}

names! {
    /// What a rule watches, and so what its alerts are about; channels choose the kinds they
    /// receive.
    pub enum RuleKind("rule kind") {
        Metric = "metric",
        Offline = "offline",
        Health = "health",
        Disk = "disk",
        Events = "events",
        Agent = "agent",
    }
}

/// What a notification is about: an alert's kind, or `test` for a channel's test message.
/// On the wire it is one string, the rule kind's name or `test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationKind {
    Alert(RuleKind),
    Test,
}

impl NotificationKind {
    const TEST: &'static str = "test";

    pub const fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Alert(kind) => kind.as_str(),
            NotificationKind::Test => Self::TEST,
        }
    }
}

impl std::fmt::Display for NotificationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<RuleKind> for NotificationKind {
    fn from(kind: RuleKind) -> Self {
        NotificationKind::Alert(kind)
    }
}

impl Serialize for NotificationKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for NotificationKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        if name == Self::TEST {
            return Ok(NotificationKind::Test);
        }
        name.parse::<RuleKind>()
            .map(NotificationKind::Alert)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for NotificationKind {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "What a notification is about: an alert's kind, or `test` for a channel's test message.",
            ))
            .enum_values(Some(RuleKind::NAMES.iter().copied().chain([Self::TEST])))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for NotificationKind {}

names! {
    /// Which side of a metric rule's threshold fires.
    pub enum ThresholdOp("op") {
        Above = "above",
        Below = "below",
    }
}

names! {
    /// `pending` while the condition holds for less than the rule's `for_s`, `firing`, then
    /// `resolved`.
    pub enum AlertState("alert state") {
        Pending = "pending",
        Firing = "firing",
        Resolved = "resolved",
    }
}

names! {
    /// Where one message to one channel is: `pending` (due now or at `next_attempt_ms`),
    /// `sending` (leased by a sender), `delivered`, or `failed` (no attempt left).
    pub enum DeliveryStatus("delivery status") {
        Pending = "pending",
        Sending = "sending",
        Delivered = "delivered",
        Failed = "failed",
    }
}

names! {
    pub enum ChannelKind("channel kind") {
        Email = "email",
        Teams = "teams",
        Slack = "slack",
        Discord = "discord",
        Webhook = "webhook",
    }
}

/// `POST /api/v1/channels`. `config` depends on `kind`:
/// - `webhook`: `{"url", "secret"}` (each delivery is signed with the secret);
/// - `slack`, `discord`, `teams`: `{"url"}`, the incoming webhook (Teams: a Workflows
///   webhook);
/// - `email`: `{"host", "port"?, "tls": "starttls|tls|none", "username"?, "password"?,
///   "from", "to": [..], "accept_invalid_certs"?}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateChannel {
    pub name: String,
    pub kind: ChannelKind,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config: serde_json::Value,
    /// Alerts below this severity are not sent here (default: info, everything).
    #[serde(default)]
    pub min_severity: Option<AlertSeverity>,
    /// Alert kinds sent here (default: all of them).
    #[serde(default, deserialize_with = "crate::vocabulary::name_list")]
    pub alert_kinds: Vec<RuleKind>,
}

/// `PATCH /api/v1/channels/{id}`: what is given changes. A `config` replaces the old one,
/// except secrets it leaves out (`password`, `secret`, `url`), which are kept.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateChannel {
    pub name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub config: Option<serde_json::Value>,
    pub min_severity: Option<AlertSeverity>,
    #[serde(default, deserialize_with = "crate::vocabulary::optional_name_list")]
    pub alert_kinds: Option<Vec<RuleKind>>,
    pub enabled: Option<bool>,
}

/// A channel as the API shows it: secrets never appear (webhook URLs show their host only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Channel {
    pub id: String,
    pub name: String,
    pub kind: ChannelKind,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config: serde_json::Value,
    pub min_severity: AlertSeverity,
    pub alert_kinds: Vec<RuleKind>,
    pub enabled: bool,
    pub created_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelList {
    pub channels: Vec<Channel>,
}

/// `POST /api/v1/channels/{id}/test`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestOutcome {
    pub delivered: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What happened to one message to one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub id: i64,
    pub channel_id: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub created_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub notification: Notification,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryList {
    pub deliveries: Vec<Delivery>,
}

names! {
    /// Why a message is sent.
    pub enum NotificationEvent("notification event") {
        Firing = "firing",
        Resolved = "resolved",
        Reminder = "reminder",
        Test = "test",
    }
}

/// One message, whatever the channel: the generic webhook receives exactly this as JSON
/// (signed with `X-Optralis-Signature: sha256=<hex HMAC-SHA256 of the body>`); the other
/// channels render it in their own format. Texts are in the organisation's language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    pub event: NotificationEvent,
    pub severity: AlertSeverity,
    pub kind: NotificationKind,
    pub title: String,
    pub text: String,
    pub language: Language,
    pub organisation: String,
    /// The machines concerned (several when alerts fired together are grouped).
    #[serde(default)]
    pub machines: Vec<NotifiedMachine>,
    /// The dashboard page to open, when the server knows its public URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    pub ts_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotifiedMachine {
    pub id: String,
    pub hostname: String,
    /// What was seen, e.g. "CPU 97 % (threshold 90 %)".
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// What a rule watches. `metric` rules compare one of [`RULE_METRICS`] (the worst instance
/// for filesystems, disks and interfaces); `offline` fires for offline machines; `health` when
/// the score is below `threshold`; `disk` for S.M.A.R.T. verdicts (`disk_verdict`: `warning`
/// also catches failing disks); `events` when `threshold` or more entries at least
/// `event_severity` (matching `event_pattern`, if given) arrived within `window_s`; `agent`
/// when the agent's full offline buffer dropped reports within `window_s`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    pub kind: RuleKind,
    /// One of [`RULE_METRICS`], for metric rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<MetricName>,
    /// `above` (default) or `below`, for metric rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<ThresholdOp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Hysteresis: a firing alert resolves only once the value is back past this (default:
    /// the threshold itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear: Option<f64>,
    /// How long the condition must hold before the alert fires, seconds (default 0).
    #[serde(default)]
    pub for_s: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_verdict: Option<crate::smart::Verdict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_severity: Option<crate::events::EventSeverity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_s: Option<u32>,
    #[serde(default)]
    pub scope: RuleScope,
    pub severity: AlertSeverity,
    /// Repeat the notification this often while firing and not acknowledged; 0: never.
    #[serde(default)]
    pub reminder_s: u32,
    #[serde(default = "enabled")]
    pub enabled: bool,
}

fn enabled() -> bool {
    true
}

/// Which machines a rule (or a silence) covers: all of the organisation's when empty;
/// otherwise those matching every given part. Decommissioned machines are never covered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RuleScope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    /// Machines in any of these groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// A label selector, e.g. `env=prod,tier in (web,api)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
}

/// The metrics a `metric` rule can watch.
pub const RULE_METRICS: &[MetricName] = &[
    MetricName::CpuPercent,
    MetricName::MemoryUsedPercent,
    MetricName::SwapUsedPercent,
    MetricName::FilesystemUsedPercent,
    MetricName::TemperatureCpuC,
    MetricName::DiskBusyPercent,
    MetricName::NetworkRxBytesPerS,
    MetricName::NetworkTxBytesPerS,
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rule {
    pub id: String,
    pub spec: RuleSpec,
    pub created_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleList {
    pub rules: Vec<Rule>,
}

/// One rule on one machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    pub id: i64,
    pub rule_id: String,
    pub rule_name: String,
    pub machine_id: String,
    pub hostname: String,
    pub state: AlertState,
    pub severity: AlertSeverity,
    pub kind: RuleKind,
    /// What was last seen, e.g. "CPU 97 % (above 90 %)".
    pub detail: String,
    pub since_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fired_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_by: Option<String>,
    /// Whether a notification went out for it (not while silenced).
    pub notified: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertList {
    pub alerts: Vec<Alert>,
}

/// `POST /api/v1/silences`: no notification for alerts in `scope` (and of `rule_id`, if
/// given) between `starts_ms` (default now) and `ends_ms`. Alerts still fire and show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateSilence {
    #[serde(default)]
    pub scope: RuleScope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_ms: Option<i64>,
    pub ends_ms: i64,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Silence {
    pub id: String,
    pub scope: RuleScope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    pub starts_ms: i64,
    pub ends_ms: i64,
    pub reason: String,
    pub created_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SilenceList {
    pub silences: Vec<Silence>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_kinds_are_one_string_on_the_wire() {
        for (kind, text) in [
            (NotificationKind::Test, "\"test\""),
            (RuleKind::Disk.into(), "\"disk\""),
        ] {
            assert_eq!(serde_json::to_string(&kind).unwrap(), text);
            assert_eq!(
                serde_json::from_str::<NotificationKind>(text).unwrap(),
                kind
            );
        }
        assert!(serde_json::from_str::<NotificationKind>("\"sms\"").is_err());
    }
}
