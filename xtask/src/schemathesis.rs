//! The API fuzzed against its own OpenAPI document: schemathesis (from PyPI, in the test venv,
//! see venv.rs) drives a real server with an admin API token; any 5xx or any response
//! outside the documented schema fails.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::proc::{self, Guard};

pub fn run() -> Result<()> {
    crate::venv::ensure()?;
    let st = crate::venv::dir().join("bin/st");
    proc::status(proc::cargo().args(["build", "-p", "optralis"]))?;
    let server_bin = proc::root().join("target/debug/optralis");
    let data = tempfile_dir()?;
    let token_out = proc::output(
        Command::new(&server_bin)
            .args([
                "token",
                "create",
                "--role",
                "admin",
                "--name",
                "schemathesis",
                "--data-dir",
            ])
            .arg(&data)
            .env_remove("OPTRALIS_DATABASE_URL"),
    )?;
    let token = token_out
        .trim_end()
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let port = proc::free_port()?;
    let url = format!("http://127.0.0.1:{port}");
    let mut server = Guard::spawn(
        "server",
        Command::new(&server_bin)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(&data)
            .env_remove("OPTRALIS_DATABASE_URL")
            .env("RUST_LOG", "warn"),
    )?;
    proc::wait_http_ok(
        &format!("{url}/api/v1/health"),
        Duration::from_secs(30),
        &mut server,
    )?;
    println!("==> schemathesis against {url}/api/v1/openapi.json");
    let result = proc::status(
        Command::new(&st)
            .args(["run", &format!("{url}/api/v1/openapi.json")])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            .args(["--checks", "not_a_server_error,response_schema_conformance"])
            .args(["--max-examples", "25"])
            // Its stateful phase would list the tokens and revoke its own, and every later
            // call would only see 401.
            .args(["--exclude-path", "/api/v1/tokens/{id}"])
            // It would send test messages to whatever hosts it made up.
            .args(["--exclude-path", "/api/v1/channels/{id}/test"])
            .args(["--url", &url])
            .env("SCHEMATHESIS_HOOKS", "")
            .env("NO_COLOR", "1"),
    );
    server.stop();
    let _ = std::fs::remove_dir_all(&data);
    if result.is_err() {
        bail!("schemathesis found responses outside the OpenAPI document or server errors (above)");
    }
    Ok(())
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("optralis-st-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
