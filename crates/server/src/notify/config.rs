//! A channel's configuration: checked field by field when it is saved, its secrets masked for
//! display, and kept secrets carried over when an update leaves them out.

use optralis_proto::alerts::ChannelKind;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ChannelConfig {
    Webhook { url: String, secret: String },
    Slack { url: String },
    Discord { url: String },
    Teams { url: String },
    Email(EmailConfig),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (port 587); refused without it.
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same host or a trusted network.
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: String,
    pub to: Vec<String>,
    /// Accept any certificate the relay shows (self-signed internal relays): the connection
    /// is encrypted but not authenticated. Off by default.
    pub accept_invalid_certs: bool,
}

/// A field that is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub field: String,
    pub message: String,
}

fn err(field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field: format!("config.{field}"),
        message: message.into(),
    }
}

const MAX_TEXT: usize = 2048;

fn text(v: &Value, field: &str, required: bool) -> Result<Option<String>, ConfigError> {
    match v.get(field) {
        None | Some(Value::Null) if required => Err(err(field, "is required")),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() && required => {
            Err(err(field, "must not be empty"))
        }
        Some(Value::String(s)) if s.len() > MAX_TEXT => {
            Err(err(field, format!("longer than {MAX_TEXT} bytes")))
        }
        Some(Value::String(s)) if s.chars().any(char::is_control) => {
            Err(err(field, "must not contain control characters"))
        }
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(err(field, "must be a string")),
    }
}

fn url(v: &Value) -> Result<String, ConfigError> {
    let u = text(v, "url", true)?.unwrap_or_default();
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .ok_or_else(|| err("url", "must start with https:// (or http://)"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || u.contains(char::is_whitespace) {
        return Err(err("url", "is not a URL"));
    }
    if super::send::has_credentials(&u) {
        return Err(err("url", super::send::CREDENTIALS_REFUSED));
    }
    Ok(u)
}

fn mailbox(field: &str, s: &str) -> Result<(), ConfigError> {
    s.parse::<lettre::message::Mailbox>()
        .map(|_| ())
        .map_err(|e| err(field, format!("{s:?} is not an email address: {e}")))
}

fn only(v: &Value, allowed: &[&str]) -> Result<(), ConfigError> {
    let Some(obj) = v.as_object() else {
        return Err(ConfigError {
            field: "config".into(),
            message: "must be an object".into(),
        });
    };
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(err(
            k,
            format!("unknown field; expected {}", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

impl ChannelConfig {
    pub fn parse(kind: ChannelKind, v: &Value) -> Result<Self, ConfigError> {
        match kind {
            ChannelKind::Webhook => {
                only(v, &["url", "secret"])?;
                let secret = text(v, "secret", true)?.unwrap_or_default();
                if secret.len() < 16 {
                    return Err(err("secret", "must be at least 16 characters"));
                }
                Ok(ChannelConfig::Webhook {
                    url: url(v)?,
                    secret,
                })
            }
            ChannelKind::Slack => {
                only(v, &["url"])?;
                Ok(ChannelConfig::Slack { url: url(v)? })
            }
            ChannelKind::Discord => {
                only(v, &["url"])?;
                Ok(ChannelConfig::Discord { url: url(v)? })
            }
            ChannelKind::Teams => {
                only(v, &["url"])?;
                Ok(ChannelConfig::Teams { url: url(v)? })
            }
            ChannelKind::Email => {
                only(
                    v,
                    &[
                        "host",
                        "port",
                        "tls",
                        "username",
                        "password",
                        "from",
                        "to",
                        "accept_invalid_certs",
                    ],
                )?;
                let host = text(v, "host", true)?.unwrap_or_default();
                let tls = match text(v, "tls", false)?.as_deref() {
                    None | Some("starttls") => SmtpTls::Starttls,
                    Some("tls") => SmtpTls::Tls,
                    Some("none") => SmtpTls::None,
                    Some(_) => return Err(err("tls", "expected starttls, tls or none")),
                };
                let port = match v.get("port") {
                    None | Some(Value::Null) => match tls {
                        SmtpTls::Tls => 465,
                        SmtpTls::Starttls => 587,
                        SmtpTls::None => 25,
                    },
                    Some(p) => p
                        .as_u64()
                        .and_then(|p| u16::try_from(p).ok())
                        .filter(|p| *p > 0)
                        .ok_or_else(|| err("port", "must be a port number"))?,
                };
                let username = text(v, "username", false)?;
                let password = text(v, "password", false)?;
                if password.is_some() && username.is_none() {
                    return Err(err("username", "is required with a password"));
                }
                let from = text(v, "from", true)?.unwrap_or_default();
                mailbox("from", &from)?;
                let to: Vec<String> = match v.get("to") {
                    Some(Value::Array(items)) => items
                        .iter()
                        .map(|i| i.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| err("to", "must be a list of addresses"))?,
                    Some(Value::String(s)) => vec![s.clone()],
                    _ => return Err(err("to", "is required: a list of addresses")),
                };
                if to.is_empty() || to.len() > 50 {
                    return Err(err("to", "must list 1 to 50 addresses"));
                }
                for (i, t) in to.iter().enumerate() {
                    mailbox(&format!("to[{i}]"), t)?;
                }
                let accept_invalid_certs = match v.get("accept_invalid_certs") {
                    None | Some(Value::Null) => false,
                    Some(Value::Bool(b)) => *b,
                    Some(_) => return Err(err("accept_invalid_certs", "must be true or false")),
                };
                Ok(ChannelConfig::Email(EmailConfig {
                    host,
                    port,
                    tls,
                    username,
                    password,
                    from,
                    to,
                    accept_invalid_certs,
                }))
            }
        }
    }

    pub fn kind(&self) -> ChannelKind {
        match self {
            ChannelConfig::Webhook { .. } => ChannelKind::Webhook,
            ChannelConfig::Slack { .. } => ChannelKind::Slack,
            ChannelConfig::Discord { .. } => ChannelKind::Discord,
            ChannelConfig::Teams { .. } => ChannelKind::Teams,
            ChannelConfig::Email(_) => ChannelKind::Email,
        }
    }

    /// The configuration as the API shows it: URLs cut to their host (their path is the
    /// credential), passwords and signing secrets as "set".
    pub fn shown(&self) -> Value {
        match self {
            ChannelConfig::Webhook { url, .. } => json!({"url": url_host(url), "secret": "set"}),
            ChannelConfig::Slack { url }
            | ChannelConfig::Discord { url }
            | ChannelConfig::Teams { url } => json!({"url": url_host(url)}),
            ChannelConfig::Email(e) => {
                let mut v = json!({
                    "host": e.host, "port": e.port, "tls": e.tls, "from": e.from, "to": e.to,
                    "accept_invalid_certs": e.accept_invalid_certs,
                });
                if let Some(u) = &e.username {
                    v["username"] = json!(u);
                }
                if e.password.is_some() {
                    v["password"] = json!("set");
                }
                v
            }
        }
    }

    /// `new` (an update's config) with the secrets it leaves out (or sends back masked, as
    /// the API showed them) taken from `self`. An email password is not carried to another
    /// host: moving the channel to a new relay needs the password again.
    pub fn keep_secrets(&self, mut new: Value) -> Result<Value, ConfigError> {
        let Some(obj) = new.as_object_mut() else {
            return Ok(new);
        };
        obj.retain(|_, v| !is_placeholder(v));
        if let ChannelConfig::Email(e) = self
            && e.password.is_some()
            && !obj.contains_key("password")
            && obj
                .get("host")
                .and_then(Value::as_str)
                .is_some_and(|h| h.trim() != e.host)
        {
            return Err(err(
                "password",
                "give the password again when changing the host",
            ));
        }
        let mut keep = |field: &str, value: Option<&str>| {
            if let Some(value) = value
                && !obj.contains_key(field)
            {
                obj.insert(field.to_owned(), json!(value));
            }
        };
        match self {
            ChannelConfig::Webhook { url, secret } => {
                keep("url", Some(url));
                keep("secret", Some(secret));
            }
            ChannelConfig::Slack { url }
            | ChannelConfig::Discord { url }
            | ChannelConfig::Teams { url } => keep("url", Some(url)),
            ChannelConfig::Email(e) => keep("password", e.password.as_deref()),
        }
        Ok(new)
    }
}

/// `https://hooks.slack.com/…` for `https://hooks.slack.com/services/T0/B0/secret`.
fn url_host(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    format!("{scheme}://{host}/…")
}

/// What the API shows in place of a secret: sent back, it means "keep the current one".
fn is_placeholder(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s == "set" || s.ends_with("/…"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_are_checked_by_field() {
        let bad = |kind, v: Value, field: &str| {
            let e = ChannelConfig::parse(kind, &v).unwrap_err();
            assert_eq!(e.field, field, "{v}: {e:?}");
        };
        bad(
            ChannelKind::Webhook,
            json!({"url": "https://x"}),
            "config.secret",
        );
        bad(
            ChannelKind::Webhook,
            json!({"url": "ftp://x", "secret": "0123456789abcdef"}),
            "config.url",
        );
        bad(ChannelKind::Slack, json!({"url": "https://"}), "config.url");
        bad(
            ChannelKind::Slack,
            json!({"url": "https://x", "extra": 1}),
            "config.extra",
        );
        bad(
            ChannelKind::Email,
            json!({"host": "smtp", "from": "not an address", "to": ["a@b.c"]}),
            "config.from",
        );
        bad(
            ChannelKind::Email,
            json!({"host": "smtp", "from": "a@b.c", "to": ["a@b.c", "nope"]}),
            "config.to[1]",
        );
        bad(
            ChannelKind::Email,
            json!({"host": "smtp", "from": "a@b.c", "to": ["a@b.c"], "port": 70000}),
            "config.port",
        );
        let ok = ChannelConfig::parse(
            ChannelKind::Email,
            &json!({"host": "smtp.example.com", "from": "Optralis <alerts@example.com>",
                    "to": "ops@example.com", "username": "u", "password": "p"}),
        )
        .unwrap();
        let ChannelConfig::Email(e) = &ok else {
            panic!("email")
        };
        assert_eq!((e.port, e.tls), (587, SmtpTls::Starttls));
    }

    #[test]
    fn secrets_are_never_shown_and_kept_when_left_out() {
        let hook = ChannelConfig::parse(
            ChannelKind::Slack,
            &json!({"url": "https://hooks.slack.com/services/T0/B0/XYZ"}),
        )
        .unwrap();
        assert_eq!(hook.shown(), json!({"url": "https://hooks.slack.com/…"}));
        let email = ChannelConfig::parse(
            ChannelKind::Email,
            &json!({"host": "h", "from": "a@b.c", "to": ["a@b.c"], "username": "u", "password": "pw"}),
        )
        .unwrap();
        assert!(!email.shown().to_string().contains("pw"));
        let updated = email
            .keep_secrets(json!({"host": "h", "from": "a@b.c", "to": ["a@b.c"], "username": "u", "password": "set"}))
            .unwrap();
        assert_eq!(
            updated["password"], "pw",
            "the placeholder keeps the secret"
        );
        let moved = email
            .keep_secrets(json!({"host": "h2", "from": "a@b.c", "to": ["a@b.c"], "username": "u"}));
        assert_eq!(moved.unwrap_err().field, "config.password");
        let replaced = email
            .keep_secrets(json!({"host": "h2", "from": "a@b.c", "to": ["a@b.c"], "username": "u", "password": "new"}))
            .unwrap();
        assert_eq!(replaced["password"], "new");
        let kept = hook
            .keep_secrets(json!({"url": "https://hooks.slack.com/…"}))
            .unwrap();
        assert_eq!(kept["url"], "https://hooks.slack.com/services/T0/B0/XYZ");
    }
}
