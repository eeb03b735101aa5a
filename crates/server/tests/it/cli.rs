//! The `optralis` binary's commands, as an operator runs them.

use std::process::Command;

fn optralis(args: &[&str], data_dir: &std::path::Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_optralis"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("OPTRALIS_DATABASE_URL")
        .output()
        .expect("run optralis");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn last_line(s: &str) -> &str {
    s.trim_end().lines().last().unwrap_or_default()
}

#[test]
fn credentials_are_printed_last_and_work() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = optralis(&["enroll-key", "create"], dir.path());
    assert!(ok, "{err}");
    assert!(last_line(&out).starts_with("oek_"), "{out}");
    let (ok, out, err) = optralis(&["token", "create", "--role", "observer"], dir.path());
    assert!(ok, "{err}");
    assert!(last_line(&out).starts_with("oat_"), "{out}");
    let (ok, out, _) = optralis(&["org", "create", "acme"], dir.path());
    assert!(ok);
    assert_eq!(last_line(&out).len(), 36, "an id: {out}");
    let (ok, out, _) = optralis(&["enroll-key", "create", "--org", "acme"], dir.path());
    assert!(ok);
    assert!(last_line(&out).starts_with("oek_"));

    // Mistakes get a clear message and a failure status.
    let (ok, _, err) = optralis(&["org", "create", "acme"], dir.path());
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");
    let (ok, _, err) = optralis(&["token", "create", "--role", "root"], dir.path());
    assert!(!ok);
    assert!(err.contains("admin") && err.contains("observer"), "{err}");
    let (ok, _, err) = optralis(&["enroll-key", "create", "--org", "nobody"], dir.path());
    assert!(!ok);
    assert!(err.contains("nobody"), "{err}");
    let (ok, _, err) = optralis(&["serve", "--database-url", "mysql://x"], dir.path());
    assert!(!ok);
    assert!(
        err.contains("sqlite://") && err.contains("postgres://"),
        "{err}"
    );
}
