//! The words of alert notifications, in English or French.

use optralis_proto::alerts::{
    AlertSeverity, Notification, NotificationEvent, NotifiedMachine, RuleSpec,
};
use optralis_proto::vocabulary::Language;

fn severity_word(s: AlertSeverity, fr: bool) -> &'static str {
    match (s, fr) {
        (AlertSeverity::Critical, false) => "CRITICAL",
        (AlertSeverity::Critical, true) => "CRITIQUE",
        (AlertSeverity::Warning, false) => "WARNING",
        (AlertSeverity::Warning, true) => "AVERTISSEMENT",
        (AlertSeverity::Info, _) => "INFO",
    }
}

/// One notification for `machines` that changed the same way under the same rule (grouped:
/// 20 machines offline at once make one message).
pub fn notification(
    event: NotificationEvent,
    rule: &RuleSpec,
    machines: Vec<NotifiedMachine>,
    organisation: &str,
    language: Language,
    public_url: Option<&str>,
    now_ms: i64,
) -> Notification {
    let fr = language == Language::Fr;
    let target = match machines.as_slice() {
        [one] => one.hostname.clone(),
        many if fr => format!("{} machines", many.len()),
        many => format!("{} machines", many.len()),
    };
    let on = if fr { "sur" } else { "on" };
    let title = match (event, fr) {
        (NotificationEvent::Resolved, false) => format!("Resolved: {} {on} {target}", rule.name),
        (NotificationEvent::Resolved, true) => format!("Résolu : {} {on} {target}", rule.name),
        (NotificationEvent::Reminder, false) => {
            format!("Still firing: {} {on} {target}", rule.name)
        }
        (NotificationEvent::Reminder, true) => {
            format!("Toujours en cours : {} {on} {target}", rule.name)
        }
        (_, _) => format!(
            "{}{} {} {on} {target}",
            severity_word(rule.severity, fr),
            if fr { " :" } else { ":" },
            rule.name
        ),
    };
    let text = match (event, machines.as_slice()) {
        (NotificationEvent::Resolved, [one]) if fr => {
            format!("{} : revenu à la normale.", one.hostname)
        }
        (NotificationEvent::Resolved, [one]) => format!("{}: back to normal.", one.hostname),
        (NotificationEvent::Resolved, _) if fr => "Revenues à la normale :".to_owned(),
        (NotificationEvent::Resolved, _) => "Back to normal:".to_owned(),
        (_, [one]) => one.detail.clone(),
        (_, many) if fr => format!("{} machines concernées :", many.len()),
        (_, many) => format!("{} machines affected:", many.len()),
    };
    Notification {
        event,
        severity: rule.severity,
        kind: rule.kind.into(),
        title,
        text,
        language,
        organisation: organisation.to_owned(),
        link: public_url.map(|u| format!("{}/alerts", u.trim_end_matches('/'))),
        machines,
        ts_ms: now_ms,
    }
}

/// A machine as a notification names it, linked to its dashboard page when the server
/// knows its public URL.
pub fn machine(
    id: &str,
    hostname: &str,
    detail: &str,
    public_url: Option<&str>,
) -> NotifiedMachine {
    NotifiedMachine {
        id: id.to_owned(),
        hostname: hostname.to_owned(),
        detail: detail.to_owned(),
        link: public_url.map(|u| format!("{}/machines/{id}", u.trim_end_matches('/'))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_in_both_languages_and_grouped() {
        let rule = crate::alerting::rules::default_rules().remove(0);
        let one = vec![machine(
            "m1",
            "web-1",
            "offline",
            Some("https://o.example/"),
        )];
        let n = notification(
            NotificationEvent::Firing,
            &rule,
            one.clone(),
            "acme",
            Language::En,
            None,
            0,
        );
        assert_eq!(n.title, "CRITICAL: Machine offline on web-1");
        assert_eq!(
            n.machines[0].link.as_deref(),
            Some("https://o.example/machines/m1")
        );
        let n = notification(
            NotificationEvent::Resolved,
            &rule,
            one,
            "acme",
            Language::Fr,
            None,
            0,
        );
        assert_eq!(n.title, "Résolu : Machine offline sur web-1");
        let many: Vec<_> = (0..20)
            .map(|i| machine(&format!("m{i}"), &format!("h{i}"), "offline", None))
            .collect();
        let n = notification(
            NotificationEvent::Firing,
            &rule,
            many,
            "acme",
            Language::Fr,
            None,
            0,
        );
        assert_eq!(n.title, "CRITIQUE : Machine offline sur 20 machines");
        assert_eq!(n.text, "20 machines concernées :");
    }
}
