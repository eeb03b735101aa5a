//! `optralis`: the server binary. Everything here is the edge: parse flags, set up logs,
//! call the library, report errors with anyhow.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use optralis::clock::SystemClock;
use optralis::config::{self, FileConfig};
use optralis::store::{Role, Store};
use optralis::{AppState, app, jobs};
use tokio::sync::watch;

/// Optralis monitoring server.
///
/// Settings come from (lowest first) built-in defaults, the TOML file given with --config,
/// OPTRALIS_* environment variables, then flags.
#[derive(Parser)]
#[command(name = "optralis", version)]
struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, env = "OPTRALIS_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log output: text or json. Filter with RUST_LOG (default: info).
    #[arg(long, global = true, env = "OPTRALIS_LOG_FORMAT", value_parser = ["text", "json"])]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct DbArgs {
    /// Directory for the embedded database [default: ./optralis-data].
    #[arg(long, env = "OPTRALIS_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST/DB [default: sqlite://DATA_DIR/optralis.db].
    #[arg(long, env = "OPTRALIS_DATABASE_URL", value_name = "URL")]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, env = "OPTRALIS_LISTEN", value_name = "ADDR")]
        listen: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Enrollment keys, which agents use to join an organisation.
    #[command(subcommand)]
    EnrollKey(EnrollKeyCommand),
    /// API bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Organisations.
    #[command(subcommand)]
    Org(OrgCommand),
}

#[derive(Subcommand)]
enum EnrollKeyCommand {
    /// Create an enrollment key; the key is printed on the last line.
    Create {
        /// Organisation name.
        #[arg(long, default_value = "default")]
        org: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token; the token is printed on the last line, and only there.
    Create {
        #[arg(long, value_parser = ["admin", "observer"])]
        role: String,
        /// Organisation name.
        #[arg(long, default_value = "default")]
        org: String,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create an organisation; its id is printed on the last line.
    Create {
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let file = match &cli.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let log_format = cli.log_format.clone().or(file.log_format.clone());
    init_logs(log_format.as_deref());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run(cli.command, file))
}

fn init_logs(format: Option<&str>) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if format == Some("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn open_store(db: &DbArgs, file: &FileConfig) -> Result<Store> {
    let data_dir = db
        .data_dir
        .clone()
        .or(file.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from("optralis-data"));
    let url = match db.database_url.clone().or(file.database_url.clone()) {
        Some(url) => url,
        None => {
            std::fs::create_dir_all(&data_dir)
                .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
            config::default_database_url(&data_dir)
        }
    };
    Store::connect(&url, Arc::new(SystemClock))
        .await
        .with_context(|| format!("cannot open the database at {}", redact(&url)))
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}@{}", &url[..scheme + 3], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

async fn run(command: Command, file: FileConfig) -> Result<()> {
    match command {
        Command::Serve { listen, db } => serve(listen, db, file).await,
        Command::EnrollKey(EnrollKeyCommand::Create { org, db }) => {
            let store = open_store(&db, &file).await?;
            let org_id = store
                .org_by_name(&org)
                .await
                .with_context(|| format!("organisation {org:?}"))?;
            let key = store.create_enroll_key(&org_id).await?;
            println!(
                "Enrollment key for organisation {org:?} (shown once; agents use it with --enroll-key):"
            );
            println!("{key}");
            Ok(())
        }
        Command::Token(TokenCommand::Create {
            role,
            org,
            name,
            db,
        }) => {
            let store = open_store(&db, &file).await?;
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let org_id = store
                .org_by_name(&org)
                .await
                .with_context(|| format!("organisation {org:?}"))?;
            let (info, token) = store.create_api_token(&org_id, &name, role).await?;
            println!(
                "API token {:?} ({}, organisation {org:?}; shown once, use as Authorization: Bearer <token>):",
                info.name,
                role.as_str()
            );
            println!("{token}");
            Ok(())
        }
        Command::Org(OrgCommand::Create { name, db }) => {
            let store = open_store(&db, &file).await?;
            let id = store.create_org(&name).await?;
            println!("Organisation {name:?} created:");
            println!("{id}");
            Ok(())
        }
    }
}

async fn serve(listen: Option<String>, db: DbArgs, file: FileConfig) -> Result<()> {
    let listen = listen
        .or(file.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let addr = config::parse_listen(&listen)?;
    let settings = file.api_settings()?;
    let store = open_store(&db, &file).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    tracing::info!(address = %local, database = store.backend_name(), "optralis listening");

    let (stop_tx, stop_rx) = watch::channel(false);
    let maintenance = jobs::spawn_maintenance(store.clone(), settings.retention, stop_rx.clone());
    let state = AppState {
        store: store.clone(),
        settings: Arc::new(settings),
    };
    let mut stop_signal = stop_rx;
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    });
    axum::serve(listener, app(state))
        .with_graceful_shutdown(async move {
            let _ = stop_signal.wait_for(|stop| *stop).await;
        })
        .await
        .context("server failed")?;
    let _ = maintenance.await;
    store.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM; only Ctrl-C stops the server");
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redact_hides_the_password() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u@h/db"
        );
        assert_eq!(super::redact("sqlite://x.db"), "sqlite://x.db");
    }
}
