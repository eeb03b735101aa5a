//! The config file an installer writes: the server, the state directory and the labels.
//! The enrollment key is never written (the installer enrolls the machine itself).

use std::collections::BTreeMap;

/// The config file: the server and the labels. The state directory is the service's; the
/// enrollment key is not kept (the machine is enrolled already).
pub fn config_text(server: &str, state_dir: &str, labels: &BTreeMap<String, String>) -> String {
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
        let text = config_text("https://optralis.example", STATE_DIR, &labels);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.toml");
        std::fs::write(&path, &text).unwrap();
        let back = crate::config::FileConfig::load(&path).unwrap();
        assert_eq!(back.server.as_deref(), Some("https://optralis.example"));
        assert_eq!(back.state_dir.as_deref(), Some(Path::new(STATE_DIR)));
        assert_eq!(back.labels, labels);
        assert!(back.enroll_key.is_none(), "the key is never written");
    }
}
