//! The config file an installer writes: the server, the state directory, the labels and
//! the release keys updates must be signed by. The enrollment key is never written (the
//! installer enrolls the machine itself).

use std::collections::BTreeMap;

/// The config file: the server, the labels and the release keys. The state directory is
/// the service's; the enrollment key is not kept (the machine is enrolled already).
pub fn config_text(
    server: &str,
    state_dir: &str,
    labels: &BTreeMap<String, String>,
    update_keys: &[String],
) -> String {
    let mut out =
        String::from("# Written by the agent's installer; installing again rewrites it.\n");
    out += &format!("server = {}\n", toml_string(server));
    out += &format!("state_dir = {}\n", toml_string(state_dir));
    if !labels.is_empty() {
        out += "\n[labels]\n";
        for (k, v) in labels {
            out += &format!("{} = {}\n", toml_key(k), toml_string(v));
        }
    }
    if !update_keys.is_empty() {
        let keys: Vec<String> = update_keys.iter().map(|k| toml_string(k)).collect();
        out += "\n# Updates from the server run only when signed by one of these keys.\n";
        out += &format!("[update]\npublic_keys = [{}]\n", keys.join(", "));
    }
    out
}

/// A TOML key: bare when it can be (`env`), quoted otherwise (`app.example/tier`).
fn toml_key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare { k.to_owned() } else { toml_string(k) }
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out += "\\\"",
            '\\' => out += "\\\\",
            c if c.is_control() => out += &format!("\\u{:04X}", u32::from(c)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const STATE_DIR: &str = "C:\\ProgramData\\Optralis\\agent";

    #[test]
    fn the_config_is_toml_the_agent_reads_back() {
        let labels = BTreeMap::from([
            ("env".to_owned(), "prod".to_owned()),
            ("note".to_owned(), "a \"quoted\" \\ value".to_owned()),
            ("app.example/tier".to_owned(), "web".to_owned()),
        ]);
        let key = "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3".to_owned();
        let text = config_text("https://optralis.example", STATE_DIR, &labels, &[key]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.toml");
        std::fs::write(&path, &text).unwrap();
        let back = crate::config::FileConfig::load(&path).unwrap();
        assert_eq!(back.server.as_deref(), Some("https://optralis.example"));
        assert_eq!(back.state_dir.as_deref(), Some(Path::new(STATE_DIR)));
        assert_eq!(back.labels, labels);
        assert!(back.enroll_key.is_none(), "the key is never written");
        let update = back.update_config().unwrap();
        assert!(update.enabled);
        assert_eq!(update.keys[0].id, "E7620F1842B4E81F");
    }
}
