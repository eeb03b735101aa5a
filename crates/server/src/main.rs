//! `optralis`: the server binary. Everything here is the edge: parse flags, set up logs,
//! call the library, report errors with anyhow.

use optralis_proto::identity::AuditAction;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use optralis::clock::SystemClock;
use optralis::config::{self, FileConfig};
use optralis::notify::{self, Notifier, egress::EgressPolicy, mail::Mailer, seal::Sealer};
use optralis::principal::Role;
use optralis::store::{DEFAULT_ORG, Store, StoreError};
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

/// How this server is deployed: behind a reverse proxy, beside other replicas.
#[derive(Args, Clone)]
struct DeploymentArgs {
    /// Where users reach the dashboard (https://optralis.example.com): notifications and
    /// invitation mails link there [default: public_url in the config file].
    #[arg(long, env = "OPTRALIS_PUBLIC_URL", value_name = "URL")]
    public_url: Option<String>,
    /// Behind a reverse proxy (Caddy): take client addresses from X-Forwarded-For, for login
    /// throttling and the audit log. Never when clients reach the server directly.
    #[arg(long, env = "OPTRALIS_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,
    /// Several servers run side by side (Kubernetes replicas): refuse SQLite, which is for
    /// one server.
    #[arg(long, env = "OPTRALIS_REPLICATED")]
    replicated: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, env = "OPTRALIS_LISTEN", value_name = "ADDR")]
        listen: Option<String>,
        /// Networks that notification channels may reach besides public addresses, as a
        /// comma-separated CIDR list (an internal chat or mail server: 10.1.2.0/24)
        /// [default: none].
        #[arg(
            long,
            env = "OPTRALIS_NOTIFY_ALLOWED_NETWORKS",
            value_name = "CIDR,..."
        )]
        notify_allowed_networks: Option<String>,
        /// The agent files to serve (as `cargo xtask dist` makes them): `GET /install.sh`
        /// and `GET /install.ps1` install the Linux and the Windows agent from this server in
        /// one command [default: none].
        #[arg(long, env = "OPTRALIS_DIST_DIR", value_name = "DIR")]
        dist_dir: Option<PathBuf>,
        #[command(flatten)]
        deployment: DeploymentArgs,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Apply the database migrations and exit (a Kubernetes Job before the replicas roll;
    /// `serve` migrates too when it starts, under PostgreSQL's advisory lock).
    Migrate {
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
    /// User accounts: the first admin, and recovery when nobody can sign in.
    #[command(subcommand)]
    User(UserCommand),
    /// Signed agent releases: make the signing key, sign, trust a key, publish.
    #[command(subcommand)]
    Release(ReleaseCommand),
    /// Print the OpenAPI document (JSON) of this server's REST API.
    Openapi,
}

#[derive(Subcommand)]
enum ReleaseCommand {
    /// Make a release signing key pair (minisign format) in DIR: optralis-release.key (the
    /// secret key: keep it offline, never on the server) and optralis-release.pub.
    Keygen {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Encrypt the secret key with the password on this file's first line [default:
        /// asked for on the terminal].
        #[arg(long, value_name = "FILE", conflicts_with = "unencrypted")]
        password_file: Option<PathBuf>,
        /// Leave the secret key unencrypted (for a CI signer that keeps it in a vault).
        #[arg(long)]
        unencrypted: bool,
    },
    /// Sign an agent binary as a release: writes FILE.minisig, whose signed comment binds
    /// the file to its version, platform and serial.
    Sign {
        #[arg(long, value_name = "KEY")]
        secret_key: PathBuf,
        #[arg(long, value_name = "BIN")]
        file: PathBuf,
        /// The agent's version (what `optralis-agent --version` prints), e.g. 0.2.0.
        #[arg(long)]
        version: String,
        #[arg(long, value_parser = ["linux-x86_64", "linux-aarch64", "windows-x86_64"])]
        platform: String,
        /// Replay guard: agents refuse a release whose serial is not above the highest they
        /// accepted [default: the time now, in seconds].
        #[arg(long)]
        serial: Option<u64>,
        /// The secret key's password, on this file's first line [default: asked for].
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Where to write the signature [default: BIN.minisig].
        #[arg(long, value_name = "SIG")]
        out: Option<PathBuf>,
    },
    /// Trust a public key for releases (on the server's host, like the other credential
    /// commands). Add a second key before retiring the first to rotate.
    Trust {
        #[arg(long, value_name = "FILE")]
        public_key: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Store a signed release on the server after checking its signature against the keys
    /// the server trusts (or POST /api/v1/agent-releases as a platform admin).
    Publish {
        #[arg(long, value_name = "BIN")]
        file: PathBuf,
        #[arg(long, value_name = "SIG")]
        signature: PathBuf,
        #[arg(long)]
        version: String,
        #[arg(long, value_parser = ["linux-x86_64", "linux-aarch64", "windows-x86_64"])]
        platform: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user (or add an existing one to an organisation); the password is read from
    /// standard input. The user's id is printed on the last line.
    Create {
        #[arg(long)]
        email: String,
        /// Read the password from standard input (the only way: never on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Organisation to join [default: default].
        #[arg(long)]
        org: Option<String>,
        /// Role in that organisation.
        #[arg(long, value_parser = ["admin", "observer"], default_value = "admin")]
        role: String,
        /// May manage organisations and act in any of them.
        #[arg(long)]
        platform_admin: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Set a new password (read from standard input) and end the user's sessions.
    SetPassword {
        #[arg(long)]
        email: String,
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Turn off a user's second factor (lost phone and recovery codes).
    ResetMfa {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Vouch that an account is held by its address's owner, so it may accept other
    /// organisations' invitations (needed when the server sends no mail).
    Verify {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum EnrollKeyCommand {
    /// Create an enrollment key; the key is printed on the last line.
    Create {
        /// Organisation name.
        #[arg(long, default_value = "default")]
        org: String,
        /// The key stops enrolling machines after this long (e.g. 1h, 7d) [default: never].
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        expires_in: Option<std::time::Duration>,
        /// Machines it may enroll in all; 1 makes a single-use key [default: no limit].
        #[arg(long, value_name = "N")]
        max_uses: Option<i64>,
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

/// The database's URL: the flag, the environment or the config file, else SQLite in the
/// data directory (created).
fn database_url(db: &DbArgs, file: &FileConfig) -> Result<String> {
    if let Some(url) = db.database_url.clone().or(file.database_url.clone()) {
        return Ok(url);
    }
    let data_dir = db
        .data_dir
        .clone()
        .or(file.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from("optralis-data"));
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    Ok(config::default_database_url(&data_dir))
}

/// One server per SQLite database: a lock on `DB.server-lock`, held while the server runs
/// (the CLI's commands may still open the database beside it). Several servers share a
/// PostgreSQL database instead.
fn hold_sqlite_lock(url: &str) -> Result<Option<std::fs::File>> {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Ok(None);
    };
    let path = rest.trim_start_matches("//");
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path == ":memory:" {
        return Ok(None);
    }
    let lock_path = format!("{path}.server-lock");
    let mut lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .with_context(|| format!("cannot open {lock_path}"))?;
    use rustix::fs::{FlockOperation, flock};
    match flock(&lock, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {
            use std::io::{Seek, Write};
            lock.set_len(0)?;
            lock.seek(std::io::SeekFrom::Start(0))?;
            write!(lock, "{}", std::process::id())?;
            Ok(Some(lock))
        }
        Err(rustix::io::Errno::WOULDBLOCK) => {
            let holder = std::fs::read_to_string(&lock_path).unwrap_or_default();
            anyhow::bail!(
                "another optralis server (pid {}) is already using {path}: one server per SQLite database; to run several, give them one PostgreSQL database (--database-url postgres://…)",
                holder.trim()
            )
        }
        Err(e) => Err(std::io::Error::from(e)).with_context(|| format!("cannot lock {lock_path}")),
    }
}

async fn open_store(db: &DbArgs, file: &FileConfig) -> Result<Store> {
    let url = database_url(db, file)?;
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
        Command::Serve {
            listen,
            notify_allowed_networks,
            dist_dir,
            deployment,
            db,
        } => {
            let mut file = file;
            if let Some(url) = deployment.public_url {
                file.public_url = Some(url);
            }
            file.trust_forwarded_for |= deployment.trust_forwarded_for;
            if deployment.replicated {
                let url = database_url(&db, &file)?;
                anyhow::ensure!(
                    !url.starts_with("sqlite:"),
                    "OPTRALIS_REPLICATED is set but the database is SQLite ({url}), which is for one server: give the replicas one PostgreSQL database (OPTRALIS_DATABASE_URL=postgres://…)"
                );
            }
            serve(listen, notify_allowed_networks, dist_dir, db, file).await
        }
        Command::Migrate { db } => {
            let store = open_store(&db, &file).await?;
            println!(
                "The {} database is up to date with this server's migrations.",
                store.backend_name()
            );
            store.close().await;
            Ok(())
        }
        Command::EnrollKey(EnrollKeyCommand::Create {
            org,
            expires_in,
            max_uses,
            db,
        }) => {
            let store = open_store(&db, &file).await?;
            let org_id = store
                .org_by_name(&org)
                .await
                .with_context(|| format!("organisation {org:?}"))?;
            let request = optralis_proto::identity::CreateEnrollKey {
                expires_in_s: expires_in.map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
                max_uses,
            };
            let limits = optralis::api::enroll_key_limits(&request, store.now_ms())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let (_, key) = store.create_enroll_key_info(&org_id, limits).await?;
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
        Command::User(command) => users::run(command, &file).await,
        Command::Release(command) => releases::run(command, &file).await,
        Command::Openapi => {
            let spec = optralis::api::openapi::spec();
            println!(
                "{}",
                spec.to_pretty_json()
                    .context("cannot render the document")?
            );
            Ok(())
        }
    }
}

mod users {
    use super::*;
    use optralis::auth::password;
    use optralis::store::AuditEvent;

    fn read_password(email: &str) -> Result<String> {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        let password = line.trim_end_matches(['\n', '\r']).to_owned();
        password::check_policy(&password, email).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(password)
    }

    async fn cli_audit(
        store: &Store,
        user: &optralis::ids::UserId,
        action: AuditAction,
        email: &str,
    ) {
        let orgs = store.memberships(user).await.unwrap_or_default();
        for m in &orgs {
            let _ = store
                .record_audit(AuditEvent {
                    org: Some(&m.org_id),
                    actor: "cli",
                    action,
                    target: Some(email),
                    ip: None,
                    detail: None,
                })
                .await;
        }
    }

    pub(super) async fn run(command: UserCommand, file: &FileConfig) -> Result<()> {
        match command {
            UserCommand::Create {
                email,
                password_stdin: _,
                org,
                role,
                platform_admin,
                db,
            } => {
                let password = read_password(&email)?;
                let store = open_store(&db, file).await?;
                let id = create_user(
                    &store,
                    &email,
                    &password,
                    org.as_deref(),
                    &role,
                    platform_admin,
                )
                .await?;
                println!("User {email:?} ready; sign in at POST /api/v1/auth/login. Id:");
                println!("{id}");
                Ok(())
            }
            UserCommand::SetPassword {
                email,
                password_stdin: _,
                db,
            } => {
                let password = read_password(&email)?;
                let store = open_store(&db, file).await?;
                let user = store
                    .user_by_email(&email)
                    .await
                    .with_context(|| format!("user {email:?}"))?;
                let hash = password::hash(&password)?;
                store.set_password(&user.id, &hash).await?;
                cli_audit(&store, &user.id, AuditAction::UserPasswordSet, &user.email).await;
                println!(
                    "Password of {:?} set; their sessions have ended.",
                    user.email
                );
                Ok(())
            }
            UserCommand::Verify { email, db } => {
                let store = open_store(&db, file).await?;
                let user = store
                    .user_by_email(&email)
                    .await
                    .with_context(|| format!("user {email:?}"))?;
                store.verify_user(&user.id).await?;
                cli_audit(&store, &user.id, AuditAction::UserVerified, &user.email).await;
                println!(
                    "{:?} is verified: it may accept other organisations' invitations.",
                    user.email
                );
                Ok(())
            }
            UserCommand::ResetMfa { email, db } => {
                let store = open_store(&db, file).await?;
                let user = store
                    .user_by_email(&email)
                    .await
                    .with_context(|| format!("user {email:?}"))?;
                store.disable_totp(&user.id).await?;
                store.revoke_user_sessions(&user.id).await?;
                cli_audit(&store, &user.id, AuditAction::MfaReset, &user.email).await;
                println!(
                    "Second factor of {:?} turned off; their sessions have ended.",
                    user.email
                );
                Ok(())
            }
        }
    }

    /// Creates the account if needed and adds it to the organisation.
    pub(super) async fn create_user(
        store: &Store,
        email: &str,
        password: &str,
        org: Option<&str>,
        role: &str,
        platform_admin: bool,
    ) -> Result<optralis::ids::UserId> {
        let role: Role = role.parse().map_err(anyhow::Error::msg)?;
        let org_name = org.unwrap_or(DEFAULT_ORG);
        let org_id = store
            .org_by_name(org_name)
            .await
            .with_context(|| format!("organisation {org_name:?}"))?;
        let hash = password::hash(password)?;
        let id = match store.user_by_email(email).await {
            Ok(existing) => {
                if existing.password_hash.is_none() {
                    store.set_password(&existing.id, &hash).await?;
                }
                existing.id
            }
            Err(StoreError::NotFound) => {
                store
                    .create_user(email, Some(&hash), platform_admin)
                    .await?
            }
            Err(e) => return Err(e.into()),
        };
        if platform_admin {
            store.set_platform_admin(&id, true).await?;
        }
        match store.add_membership(&org_id, &id, role).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        cli_audit(store, &id, AuditAction::UserCreated, email).await;
        Ok(id)
    }
}

mod releases {
    use super::*;
    use optralis::updates::signing;
    use optralis_proto::release::verify::TrustedKey;
    use optralis_proto::release::{Platform, ReleaseComment, Version};

    fn read_password_file(path: &std::path::Path) -> Result<String> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let password = text.lines().next().unwrap_or("").to_owned();
        anyhow::ensure!(
            !password.is_empty(),
            "{}: the first line is empty",
            path.display()
        );
        Ok(password)
    }

    pub(super) async fn run(command: ReleaseCommand, file: &FileConfig) -> Result<()> {
        match command {
            ReleaseCommand::Keygen {
                out,
                password_file,
                unencrypted,
            } => {
                let password = match (&password_file, unencrypted) {
                    (Some(path), _) => Some(read_password_file(path)?),
                    (None, true) => None,
                    (None, false) => Some(ask_new_password()?),
                };
                let key = signing::keygen(&out, password)?;
                let (secret, public) = signing::key_paths(&out);
                println!(
                    "Secret key: {} (keep it offline; it never goes on the server)",
                    secret.display()
                );
                println!(
                    "Public key: {} (trust it on the server with `optralis release trust --public-key`, and give it to the agents' installers)",
                    public.display()
                );
                println!("Key id {}:", key.id);
                println!("{}", key.base64);
                Ok(())
            }
            ReleaseCommand::Sign {
                secret_key,
                file: bin,
                version,
                platform,
                serial,
                password_file,
                out,
            } => {
                Version::parse(&version).map_err(|e| anyhow::anyhow!("--version: {e}"))?;
                let platform: Platform = platform.parse().map_err(anyhow::Error::msg)?;
                let password = password_file
                    .as_deref()
                    .map(read_password_file)
                    .transpose()?;
                let sk = signing::load_secret_key(&secret_key, password)?;
                let comment = ReleaseComment {
                    version,
                    platform,
                    // The signing time in seconds only grows: a later release, a larger serial.
                    serial: serial.unwrap_or_else(|| {
                        use optralis::clock::Clock;
                        u64::try_from(SystemClock.now_ms() / 1000).unwrap_or(0)
                    }),
                };
                let signature = signing::sign(&sk, &bin, &comment)?;
                let out = out.unwrap_or_else(|| {
                    let mut name = bin.clone().into_os_string();
                    name.push(".minisig");
                    PathBuf::from(name)
                });
                std::fs::write(&out, signature)
                    .with_context(|| format!("cannot write {}", out.display()))?;
                println!("Signed {} as {:?}:", bin.display(), comment.format());
                println!("{}", out.display());
                Ok(())
            }
            ReleaseCommand::Trust { public_key, db } => {
                let text = std::fs::read_to_string(&public_key)
                    .with_context(|| format!("cannot read {}", public_key.display()))?;
                let key =
                    TrustedKey::parse(&text).with_context(|| public_key.display().to_string())?;
                let store = open_store(&db, file).await?;
                let added = store.trust_release_key(&key).await?;
                let _ = store
                    .record_audit(optralis::store::AuditEvent {
                        org: None,
                        actor: "cli",
                        action: AuditAction::ReleaseKeyTrusted,
                        target: Some(&key.id),
                        ip: None,
                        detail: None,
                    })
                    .await;
                let trusted = store.release_keys().await?;
                let ids: Vec<&str> = trusted.iter().map(|k| k.id.as_str()).collect();
                println!(
                    "Key {} {}; releases may be signed by: {}",
                    key.id,
                    if added {
                        "trusted"
                    } else {
                        "was already trusted"
                    },
                    ids.join(", ")
                );
                Ok(())
            }
            ReleaseCommand::Publish {
                file: bin,
                signature,
                version,
                platform,
                db,
            } => {
                let platform: Platform = platform.parse().map_err(anyhow::Error::msg)?;
                let bytes = std::fs::read(&bin)
                    .with_context(|| format!("cannot read {}", bin.display()))?;
                let sig = std::fs::read_to_string(&signature)
                    .with_context(|| format!("cannot read {}", signature.display()))?;
                let store = open_store(&db, file).await?;
                let keys = store.release_keys().await?;
                let checked = optralis::updates::check_release(
                    &keys,
                    &bytes,
                    &sig,
                    Some((&version, platform)),
                )
                .with_context(|| format!("{} refused", bin.display()))?;
                let release = store.publish_release(&checked, &sig, &bytes).await?;
                let _ = store
                    .record_audit(optralis::store::AuditEvent {
                        org: None,
                        actor: "cli",
                        action: AuditAction::ReleasePublished,
                        target: Some(&format!("{} {}", release.version, platform.as_str())),
                        ip: None,
                        detail: None,
                    })
                    .await;
                println!(
                    "Published {} for {} (serial {}, {} bytes, signed by key {}); roll it out with POST /api/v1/rollouts or the dashboard's Updates page.",
                    release.version,
                    platform.as_str(),
                    release.serial,
                    release.size,
                    release.key_id
                );
                Ok(())
            }
        }
    }

    /// A new password, typed twice on the terminal.
    fn ask_new_password() -> Result<String> {
        let first = rpassword::prompt_password("Password for the new secret key: ").context(
            "cannot read a password from the terminal (or pass --password-file or --unencrypted)",
        )?;
        let again = rpassword::prompt_password("Password again: ")
            .context("cannot read a password from the terminal")?;
        anyhow::ensure!(first == again, "the passwords differ");
        anyhow::ensure!(first.len() >= 8, "use a password of at least 8 characters");
        Ok(first)
    }
}

async fn serve(
    listen: Option<String>,
    notify_allowed_networks: Option<String>,
    dist_dir: Option<PathBuf>,
    db: DbArgs,
    file: FileConfig,
) -> Result<()> {
    let listen = listen
        .or(file.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let addr = config::parse_listen(&listen)?;
    let mut settings = file.api_settings()?;
    if let Some(dir) = dist_dir {
        let downloads = optralis::downloads::Downloads::scan(&dir)
            .with_context(|| format!("--dist-dir {}", dir.display()))?;
        let names: Vec<&str> = downloads.files().iter().map(|f| f.name.as_str()).collect();
        tracing::info!(dir = %dir.display(), files = %names.join(","), "serving agent files");
        settings.downloads = Some(std::sync::Arc::new(downloads));
    }
    let _one_server = hold_sqlite_lock(&database_url(&db, &file)?)?;
    let store = open_store(&db, &file).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    tracing::info!(address = %local, database = store.backend_name(), "optralis listening");

    let (stop_tx, stop_rx) = watch::channel(false);
    first_user(&store).await?;
    let maintenance = jobs::spawn_maintenance(store.clone(), settings.retention, stop_rx.clone());
    let allowed = notify_allowed_networks
        .or(file.notify_allowed_networks.clone())
        .unwrap_or_default();
    let allowed = EgressPolicy::parse_list(&allowed)
        .map_err(|e| anyhow::anyhow!("OPTRALIS_NOTIFY_ALLOWED_NETWORKS: {e}"))?;
    if !allowed.is_empty() {
        let list: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        tracing::info!(networks = %list.join(","), "notifications may reach these networks besides public addresses");
    }
    let notifier = Notifier::new(secret_key(&db, &file)?, EgressPolicy::allowing(allowed));
    let deliveries = notify::spawn_worker(store.clone(), notifier.clone(), stop_rx.clone());
    let public_url = settings.public_url.clone();
    let state = AppState::new(store.clone(), settings, notifier).await?;
    match (&file.smtp, public_url) {
        (Some(smtp), Some(url)) => {
            let mailer = Mailer::new(smtp, std::env::var("OPTRALIS_SMTP_PASSWORD").ok(), &url)
                .map_err(|e| anyhow::anyhow!("[smtp]: {e}"))?;
            let _ = state.mailer.set(mailer);
        }
        (Some(_), None) => {
            anyhow::bail!("[smtp] needs public_url: the links it mails point there")
        }
        (None, _) => {}
    }
    let alerting = state.alerting.clone().spawn(stop_rx.clone());
    let mut stop_signal = stop_rx;
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    });
    optralis::serve::serve(listener, app(state), file.http, async move {
        let _ = stop_signal.wait_for(|stop| *stop).await;
    })
    .await;
    let _ = maintenance.await;
    let _ = deliveries.await;
    let _ = alerting.await;
    store.close().await;
    Ok(())
}

/// The key that seals channel secrets: OPTRALIS_SECRET_KEY (64 hex characters; the same on
/// every replica), else `<data_dir>/secret.key`, created on first start. Back it up with the
/// database: without it, channels must be configured again.
fn secret_key(db: &DbArgs, file: &FileConfig) -> Result<Sealer> {
    if let Ok(hex_key) = std::env::var("OPTRALIS_SECRET_KEY") {
        return Sealer::from_hex(&hex_key).context("OPTRALIS_SECRET_KEY");
    }
    let data_dir = db
        .data_dir
        .clone()
        .or(file.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from("optralis-data"));
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    Ok(Sealer::from_key_file(&data_dir.join("secret.key"))?)
}

/// With no user yet, creates the first admin from OPTRALIS_ADMIN_EMAIL /
/// OPTRALIS_ADMIN_PASSWORD, or says how to create one.
async fn first_user(store: &Store) -> Result<()> {
    if store.count_users().await? > 0 {
        return Ok(());
    }
    let email = std::env::var("OPTRALIS_ADMIN_EMAIL")
        .ok()
        .filter(|v| !v.is_empty());
    let password = std::env::var("OPTRALIS_ADMIN_PASSWORD")
        .ok()
        .filter(|v| !v.is_empty());
    match (email, password) {
        (Some(email), Some(password)) => {
            optralis::auth::password::check_policy(&password, &email)
                .map_err(|e| anyhow::anyhow!("OPTRALIS_ADMIN_PASSWORD: {e}"))?;
            users::create_user(store, &email, &password, None, "admin", true).await?;
            tracing::info!(
                email,
                "first admin created from OPTRALIS_ADMIN_EMAIL (platform admin, admin of \"default\")"
            );
        }
        _ => tracing::warn!(
            "no user yet: create the first admin with \
             `optralis user create --email you@example.com --password-stdin --platform-admin` \
             (same --data-dir/--database-url), or start with OPTRALIS_ADMIN_EMAIL and OPTRALIS_ADMIN_PASSWORD set"
        ),
    }
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
