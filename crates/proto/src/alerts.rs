//! Notification channels and the messages they carry.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AlertSeverity {
    Info,
    Warning,
    Critical,
}

impl AlertSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertSeverity::Info => "info",
            AlertSeverity::Warning => "warning",
            AlertSeverity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "info" => Some(AlertSeverity::Info),
            "warning" => Some(AlertSeverity::Warning),
            "critical" => Some(AlertSeverity::Critical),
            _ => None,
        }
    }
}

/// What an alert is about; channels choose the kinds they receive.
pub const ALERT_KINDS: &[&str] = &["metric", "offline", "health", "disk", "events", "agent"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Email,
    Teams,
    Slack,
    Discord,
    Webhook,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Email => "email",
            ChannelKind::Teams => "teams",
            ChannelKind::Slack => "slack",
            ChannelKind::Discord => "discord",
            ChannelKind::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "email" => Some(ChannelKind::Email),
            "teams" => Some(ChannelKind::Teams),
            "slack" => Some(ChannelKind::Slack),
            "discord" => Some(ChannelKind::Discord),
            "webhook" => Some(ChannelKind::Webhook),
            _ => None,
        }
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
    #[serde(default)]
    pub alert_kinds: Vec<String>,
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
    pub alert_kinds: Option<Vec<String>>,
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
    pub alert_kinds: Vec<String>,
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
    /// `pending`, `sending`, `delivered` or `failed` (no attempt left).
    pub status: String,
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

/// Why a message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum NotificationEvent {
    Firing,
    Resolved,
    Reminder,
    Test,
}

/// One message, whatever the channel: the generic webhook receives exactly this as JSON
/// (signed with `X-Optralis-Signature: sha256=<hex HMAC-SHA256 of the body>`); the other
/// channels render it in their own format. Texts are in the organisation's language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    pub event: NotificationEvent,
    pub severity: AlertSeverity,
    /// `metric`, `offline`, … (see the alert kinds); `test` for a test message.
    pub kind: String,
    pub title: String,
    pub text: String,
    /// `en` or `fr`.
    pub language: String,
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
