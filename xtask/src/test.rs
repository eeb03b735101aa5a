//! `cargo xtask test`: everything CI checks, in the order that fails fastest.

use anyhow::Result;

use crate::postgres;
use crate::proc;

pub fn test(_args: &[String]) -> Result<()> {
    println!("==> cargo fmt --check");
    proc::status(proc::cargo().args(["fmt", "--all", "--check"]))?;
    println!("==> cargo clippy -D warnings");
    proc::status(proc::cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;

    let pg = postgres::ensure()?;
    println!(
        "==> PostgreSQL for the tests: {}{}",
        pg.url,
        if pg.is_throwaway() {
            " (throw-away)"
        } else {
            ""
        }
    );

    let mut cmd = proc::cargo();
    if proc::which("cargo-nextest").is_some() {
        cmd.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        cmd.args(["test", "--workspace", "--no-fail-fast"]);
    }
    cmd.env(postgres::URL_VAR, &pg.url);
    println!("==> tests (SQLite and PostgreSQL)");
    proc::status(&mut cmd)?;
    crate::schemathesis::run()
}
