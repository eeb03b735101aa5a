//! A [`Notification`] in each service's own format: Slack Block Kit, Discord embeds, a
//! Teams Adaptive Card, plain-text email; the generic webhook gets the notification itself.

use optralis_proto::alerts::{AlertSeverity, Notification, NotificationEvent};
use optralis_proto::vocabulary::Language;
use serde_json::{Value, json};

/// Sidebar colours: green when resolved, else by severity.
fn colour(n: &Notification) -> u32 {
    match (n.event, n.severity) {
        (NotificationEvent::Resolved, _) => 0x16a34a,
        (_, AlertSeverity::Critical) => 0xdc2626,
        (_, AlertSeverity::Warning) => 0xf59e0b,
        (_, AlertSeverity::Info) => 0x3b82f6,
    }
}

fn open_label(n: &Notification) -> &'static str {
    if n.language == Language::Fr {
        "Ouvrir dans Optralis"
    } else {
        "Open in Optralis"
    }
}

/// Cuts `s` to `max` characters, with an ellipsis when cut (services reject longer texts).
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Machines shown one per line, at most this many (the rest counted).
const MAX_LINES: usize = 20;

fn machine_lines(n: &Notification, link: impl Fn(&str, &str) -> String) -> Vec<String> {
    let mut lines: Vec<String> = n
        .machines
        .iter()
        .take(MAX_LINES)
        .map(|m| {
            let name = match &m.link {
                Some(url) => link(&m.hostname, url),
                None => m.hostname.clone(),
            };
            if m.detail.is_empty() {
                name
            } else {
                format!("{name}: {}", m.detail)
            }
        })
        .collect();
    if n.machines.len() > MAX_LINES {
        let more = n.machines.len() - MAX_LINES;
        lines.push(if n.language == Language::Fr {
            format!("… et {more} autres")
        } else {
            format!("… and {more} more")
        });
    }
    lines
}

/// Slack incoming webhook body (Block Kit), with `text` as the notification fallback.
pub fn slack(n: &Notification) -> Value {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut body = escape(&n.text);
    let lines = machine_lines(n, |name, url| format!("<{url}|{}>", escape(name)));
    if !lines.is_empty() {
        body.push_str("\n• ");
        body.push_str(&lines.join("\n• "));
    }
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": cut(&n.title, 150), "emoji": true}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&body, 3000)}}),
        json!({"type": "context", "elements": [
            {"type": "mrkdwn", "text": format!("{} · {} · {}", n.organisation, n.severity.as_str(), n.kind)}
        ]}),
    ];
    if let Some(url) = &n.link {
        blocks.push(json!({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": open_label(n)}, "url": url}
        ]}));
    }
    json!({"text": cut(&n.title, 3000), "blocks": blocks})
}

/// Discord webhook body: one embed.
pub fn discord(n: &Notification) -> Value {
    let lines = machine_lines(n, |name, url| format!("[{name}]({url})"));
    let mut description = n.text.clone();
    if !lines.is_empty() {
        description.push_str("\n\n");
        description.push_str(&lines.join("\n"));
    }
    let mut embed = json!({
        "title": cut(&n.title, 256),
        "description": cut(&description, 4096),
        "color": colour(n),
        "footer": {"text": cut(&format!("Optralis · {}", n.organisation), 2048)},
        "timestamp": rfc3339(n.ts_ms),
    });
    if let Some(url) = &n.link {
        embed["url"] = json!(url);
    }
    json!({"username": "Optralis", "embeds": [embed]})
}

/// Teams (Workflows or incoming webhook) body: a message carrying one Adaptive Card.
pub fn teams(n: &Notification) -> Value {
    let mut body = vec![
        json!({"type": "TextBlock", "text": n.title, "weight": "Bolder", "size": "Medium", "wrap": true,
        "color": match (n.event, n.severity) {
            (NotificationEvent::Resolved, _) => "Good",
            (_, AlertSeverity::Critical) => "Attention",
            (_, AlertSeverity::Warning) => "Warning",
            _ => "Default",
        }}),
        json!({"type": "TextBlock", "text": n.text, "wrap": true}),
    ];
    if !n.machines.is_empty() {
        let facts: Vec<Value> = n
            .machines
            .iter()
            .take(MAX_LINES)
            .map(|m| json!({"title": m.hostname, "value": m.detail}))
            .collect();
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    });
    if let Some(url) = &n.link {
        card["actions"] = json!([{"type": "Action.OpenUrl", "title": open_label(n), "url": url}]);
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

/// Email subject and plain-text body.
pub fn email(n: &Notification) -> (String, String) {
    let mut body = format!("{}\n\n{}\n", n.title, n.text);
    for line in machine_lines(n, |name, url| format!("{name} <{url}>")) {
        body.push_str(&format!("\n- {line}"));
    }
    if let Some(url) = &n.link {
        body.push_str(&format!("\n\n{}: {url}\n", open_label(n)));
    }
    body.push_str(&format!("\n-- \nOptralis · {}\n", n.organisation));
    (format!("[Optralis] {}", n.title), body)
}

fn rfc3339(ts_ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ts_ms.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use optralis_proto::alerts::NotifiedMachine;

    fn note(machines: usize) -> Notification {
        Notification {
            event: NotificationEvent::Firing,
            severity: AlertSeverity::Critical,
            kind: optralis_proto::alerts::RuleKind::Offline.into(),
            title: "3 machines offline".into(),
            text: "No report for 3 minutes <b>".into(),
            language: Language::En,
            organisation: "acme".into(),
            machines: (0..machines)
                .map(|i| NotifiedMachine {
                    id: format!("m{i}"),
                    hostname: format!("web-{i}"),
                    detail: "offline".into(),
                    link: Some(format!("https://optralis.example/machines/m{i}")),
                })
                .collect(),
            link: Some("https://optralis.example/alerts".into()),
            ts_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn slack_escapes_and_counts_what_it_leaves_out() {
        let v = slack(&note(25));
        let section = v["blocks"][1]["text"]["text"].as_str().unwrap();
        assert!(section.contains("&lt;b&gt;"));
        assert!(section.contains("<https://optralis.example/machines/m0|web-0>"));
        assert!(section.ends_with("… and 5 more"));
        assert_eq!(
            v["blocks"][3]["elements"][0]["url"],
            "https://optralis.example/alerts"
        );
    }

    #[test]
    fn discord_and_teams_carry_colour_and_link() {
        let d = discord(&note(1));
        assert_eq!(d["embeds"][0]["color"], 0xdc2626);
        assert_eq!(d["embeds"][0]["timestamp"], "2023-11-14T22:13:20.000Z");
        let t = teams(&note(2));
        let card = &t["attachments"][0]["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["body"][2]["facts"][1]["title"], "web-1");
        assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
    }

    #[test]
    fn long_texts_are_cut_to_the_services_limits() {
        let mut n = note(0);
        n.title = "x".repeat(400);
        assert_eq!(
            discord(&n)["embeds"][0]["title"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            256
        );
        assert_eq!(
            slack(&n)["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            150
        );
    }
}
