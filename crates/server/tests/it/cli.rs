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

fn optralis_stdin(
    args: &[&str],
    data_dir: &std::path::Path,
    stdin: &str,
) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_optralis"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("OPTRALIS_DATABASE_URL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run optralis");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn users_are_created_and_recovered_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let create = [
        "user",
        "create",
        "--email",
        "Ops@Example.com",
        "--password-stdin",
        "--platform-admin",
    ];
    let (ok, _, err) = optralis_stdin(&create, dir.path(), "short\n");
    assert!(!ok);
    assert!(err.contains("at least 10"), "{err}");
    let (ok, out, err) = optralis_stdin(&create, dir.path(), "a long enough passphrase\n");
    assert!(ok, "{err}");
    let id = last_line(&out).to_owned();
    assert_eq!(id.len(), 36, "an id: {out}");
    let (ok, _, err) = optralis_stdin(
        &[
            "user",
            "create",
            "--email",
            "x@example.com",
            "--password-stdin",
            "--org",
            "nowhere",
        ],
        dir.path(),
        "a long enough passphrase\n",
    );
    assert!(!ok);
    assert!(err.contains("nowhere"), "{err}");
    let (ok, _, err) = optralis_stdin(
        &[
            "user",
            "set-password",
            "--email",
            "ops@example.com",
            "--password-stdin",
        ],
        dir.path(),
        "another long passphrase\n",
    );
    assert!(ok, "{err}");
    let (ok, _, err) = optralis(
        &["user", "reset-mfa", "--email", "ops@example.com"],
        dir.path(),
    );
    assert!(ok, "{err}");

    let url = format!("sqlite://{}", dir.path().join("optralis.db").display());
    let store =
        optralis::store::Store::connect(&url, std::sync::Arc::new(optralis::clock::SystemClock))
            .await
            .unwrap();
    let user = store.user_by_email("ops@example.com").await.unwrap();
    assert_eq!(user.id.as_str(), id);
    assert!(user.platform_admin);
    assert!(optralis::auth::password::verify(
        "another long passphrase",
        user.password_hash.as_deref().unwrap()
    ));
    let orgs = store.memberships(&user.id).await.unwrap();
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0].org_name, "default");
    assert_eq!(orgs[0].role, optralis::principal::Role::Admin);
    let actions: Vec<String> = store
        .list_audit(Some(&orgs[0].org_id), None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action.as_str().to_owned())
        .collect();
    assert!(actions.contains(&"user.created".to_owned()), "{actions:?}");
    assert!(actions.contains(&"mfa.reset".to_owned()), "{actions:?}");
}

/// `optralis serve` on a free port over `data_dir`, once its health answers.
fn serving(data_dir: &std::path::Path) -> (std::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_optralis"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data_dir)
        .env_remove("OPTRALIS_DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not listen"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    (child, port)
}

#[test]
fn a_second_server_on_the_same_sqlite_database_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, _) = serving(dir.path());
    let (ok, _, err) = optralis(&["serve", "--listen", "127.0.0.1:0"], dir.path());
    assert!(!ok, "a second server started on the same SQLite file");
    assert!(
        err.contains("another optralis server")
            && err.contains(&format!("pid {}", first.id()))
            && err.contains("PostgreSQL"),
        "{err}"
    );
    // The CLI's commands still work beside the running server.
    let (ok, _, err) = optralis(&["enroll-key", "create"], dir.path());
    assert!(ok, "{err}");
    // Once the first is gone, a server starts again.
    first.kill().unwrap();
    first.wait().unwrap();
    let (mut again, _) = serving(dir.path());
    again.kill().unwrap();
    again.wait().unwrap();
}

#[test]
fn migrate_brings_the_database_up_to_date_and_replicas_refuse_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = optralis(&["migrate"], dir.path());
    assert!(ok && out.contains("up to date"), "{out}{err}");
    assert!(dir.path().join("optralis.db").is_file());
    let out = Command::new(env!("CARGO_BIN_EXE_optralis"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("OPTRALIS_DATABASE_URL")
        .env("OPTRALIS_REPLICATED", "true")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "replicas started on SQLite");
    assert!(
        err.contains("SQLite") && err.contains("PostgreSQL"),
        "{err}"
    );
}
