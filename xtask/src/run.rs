//! `cargo xtask run`: the product on this machine in one command. Builds the server and the
//! agent, starts the server on the embedded SQLite database, enrolls an agent for this
//! machine, prints where to look, and stops both on Ctrl-C.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::proc::{self, Guard};

pub fn run(args: &[String]) -> Result<()> {
    let port: u16 = crate::flag(args, "--port")
        .map_or(Ok(8080), str::parse)
        .context("--port")?;
    let interval = crate::flag(args, "--interval").unwrap_or("10s");
    let root = proc::root();
    let home = root.join(".optralis");
    let data_dir = home.join("server");
    let state_dir = home.join("agent");
    std::fs::create_dir_all(&data_dir)?;

    crate::dashboard::build()?;
    let bin = proc::build_release()?;
    let server_bin = bin.join("optralis");
    let agent_bin = bin.join("optralis-agent");
    // The agent the server hands out with /install.sh (what `cargo xtask dist` would place).
    let dist_dir = home.join("dist");
    std::fs::create_dir_all(&dist_dir)?;
    std::fs::copy(
        &agent_bin,
        dist_dir.join(format!(
            "optralis-agent-{}-linux-x86_64",
            env!("CARGO_PKG_VERSION")
        )),
    )?;

    let listen = format!("127.0.0.1:{port}");
    let url = format!("http://{listen}");
    if std::net::TcpListener::bind(&listen).is_err() {
        anyhow::bail!(
            "port {port} is busy: stop what uses it, or run `cargo xtask run --port 8081`"
        );
    }
    println!(
        "==> starting the server on {url} (data in {})",
        data_dir.display()
    );
    let mut server = Guard::spawn(
        "server",
        Command::new(&server_bin)
            .args(["serve", "--listen", &listen, "--data-dir"])
            .arg(&data_dir)
            .arg("--dist-dir")
            .arg(&dist_dir)
            .env_remove("OPTRALIS_DATABASE_URL"),
    )?;
    proc::wait_http_ok(
        &format!("{url}/api/v1/health"),
        Duration::from_secs(30),
        &mut server,
    )?;

    let token = admin_token(&server_bin, &data_dir, &home)?;
    let login = first_login(&server_bin, &data_dir, &home)?;
    let enrolled = state_dir.join("enrollment.json").exists();
    let mut agent_cmd = Command::new(&agent_bin);
    agent_cmd
        .args([
            "run",
            "--server",
            &url,
            "--interval",
            interval,
            "--state-dir",
        ])
        .arg(&state_dir);
    if !enrolled {
        let key = last_line(&proc::output(
            Command::new(&server_bin)
                .args(["enroll-key", "create", "--data-dir"])
                .arg(&data_dir),
        )?);
        agent_cmd.args(["--enroll-key", &key]);
    }
    println!("==> starting the agent for this machine (every {interval})");
    let mut agent = Guard::spawn("agent", &mut agent_cmd)?;

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    print_welcome(port, &url, &token, &login);
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
        // Ctrl-C reaches the children too; their exit is only an error if we were not told.
        if let Err(e) = server.check_alive().and_then(|()| agent.check_alive())
            && !stop.load(Ordering::Relaxed)
        {
            return Err(e);
        }
    }
    println!("\n==> stopping");
    agent.stop();
    server.stop();
    Ok(())
}

/// The demo's admin API token: created once, kept in `.optralis/admin-token` (mode 0600)
/// so every run prints the same one.
fn admin_token(server_bin: &Path, data_dir: &Path, home: &Path) -> Result<String> {
    let path = home.join("admin-token");
    if let Ok(t) = std::fs::read_to_string(&path)
        && !t.trim().is_empty()
    {
        return Ok(t.trim().to_owned());
    }
    let token = last_line(&proc::output(
        Command::new(server_bin)
            .args([
                "token",
                "create",
                "--role",
                "admin",
                "--name",
                "xtask-run",
                "--data-dir",
            ])
            .arg(data_dir),
    )?);
    std::fs::write(&path, &token)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(token)
}

/// The first sign-in: a platform admin who is also admin of "default", with a random
/// password, created once and kept in `.optralis/admin-login` (mode 0600).
fn first_login(server_bin: &Path, data_dir: &Path, home: &Path) -> Result<(String, String)> {
    const EMAIL: &str = "admin@optralis.local";
    let path = home.join("admin-login");
    if let Ok(saved) = std::fs::read_to_string(&path)
        && let Some((email, password)) = saved.trim().split_once(' ')
    {
        return Ok((email.to_owned(), password.to_owned()));
    }
    let mut bytes = [0u8; 12];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut bytes)?;
    let password: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut child = Command::new(server_bin)
        .args([
            "user",
            "create",
            "--email",
            EMAIL,
            "--password-stdin",
            "--platform-admin",
            "--data-dir",
        ])
        .arg(data_dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .context("optralis user create")?;
    if let Some(mut stdin) = child.stdin.take() {
        std::io::Write::write_all(&mut stdin, format!("{password}\n").as_bytes())?;
    }
    if !child.wait()?.success() {
        anyhow::bail!("`optralis user create` failed (see above)");
    }
    std::fs::write(&path, format!("{EMAIL} {password}\n"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok((EMAIL.to_owned(), password))
}

fn last_line(s: &str) -> String {
    s.trim_end()
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn print_welcome(port: u16, url: &str, token: &str, (email, password): &(String, String)) {
    println!(
        r#"
Optralis is running.

  dashboard  http://localhost:{port}/
  login      {email}
  password   {password}
             (platform admin, admin of the "default" organisation; kept in .optralis/admin-login)

  API        {url}/api/v1   (reference: {url}/api/docs)
  token      {token}
             (API token, admin of "default"; kept in .optralis/admin-token)

This machine appears in the dashboard within seconds. Another Linux machine that reaches
this address joins with the one-line install its "Add machines" page shows
(curl -fsSL {url}/install.sh | sudo sh -s -- --key oek_…). From a shell:

  export OPTRALIS_TOKEN={token}
  curl -s -H "Authorization: Bearer $OPTRALIS_TOKEN" {url}/api/v1/machines
  curl -s -H "Authorization: Bearer $OPTRALIS_TOKEN" {url}/api/v1/metrics

Open the dashboard at localhost (not 127.0.0.1): browsers keep the session cookie, which is
marked Secure, only on https or localhost.
Press Ctrl-C to stop the server and the agent (data stays in .optralis/)."#
    );
}
