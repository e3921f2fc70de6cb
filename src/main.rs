//! `ferrodon`: one binary, a subcommand per role.
//!
//! | command | runs |
//! |---|---|
//! | `serve` | every role in one process; migrates on start |
//! | `web` | the REST API, OAuth, WebFinger |
//! | `streaming` | the streaming API |
//! | `worker` | background jobs from the named queues |
//! | `migrate` | schema migrations over the direct database URL |
//! | `admin …`, `config check` | operator commands |

mod roles;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "ferrodon",
    version,
    about = "A Mastodon-compatible, ActivityPub-federating server"
)]
struct Cli {
    /// TOML configuration file (environment variables override it).
    #[arg(long, global = true, env = "FERRODON_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every role in one process (migrates the database first).
    Serve,
    /// The web role: REST API, OAuth, WebFinger.
    Web,
    /// The streaming role.
    Streaming,
    /// A background worker.
    Worker {
        /// Queues to serve, with optional weights: `default:8,push:6,mailers`.
        #[arg(long, value_delimiter = ',')]
        queues: Vec<String>,
        /// Jobs run at once (default: `worker.concurrency`).
        #[arg(long)]
        concurrency: Option<usize>,
    },
    /// Applies database migrations (over DATABASE_DIRECT_URL).
    Migrate,
    /// Operator commands.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Local accounts.
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AccountsCommand {
    /// Creates an approved local account and prints its id.
    Create {
        username: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        /// user, moderator or admin.
        #[arg(long, default_value = "user")]
        role: String,
    },
    /// Approves an account waiting for approval.
    Approve { username: String },
    /// Suspends an account.
    Suspend { username: String },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Prints the effective configuration, secrets redacted.
    Check,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (config, report) =
        match ferrodon_config::load(cli.config.as_deref(), |k| std::env::var(k).ok()) {
            Ok(loaded) => loaded,
            Err(e) => {
                eprintln!("ferrodon: {e}");
                return ExitCode::from(2);
            }
        };
    if let Command::Config {
        command: ConfigCommand::Check,
    } = cli.command
    {
        for (key, value, source) in &report {
            println!("{key} = {value:?}  # {source}");
        }
        return ExitCode::SUCCESS;
    }
    let long_running = matches!(
        cli.command,
        Command::Serve | Command::Web | Command::Streaming | Command::Worker { .. }
    );
    roles::init_logging(&config, !long_running);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferrodon: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve => roles::serve(config).await,
            Command::Web => roles::web(config).await,
            Command::Streaming => roles::streaming(config).await,
            Command::Worker {
                queues,
                concurrency,
            } => roles::worker(config, &queues, concurrency).await,
            Command::Migrate => roles::migrate(config).await,
            Command::Admin {
                command: AdminCommand::Accounts { command },
            } => {
                let action = match command {
                    AccountsCommand::Create {
                        username,
                        email,
                        password,
                        role,
                    } => roles::AccountAction::Create {
                        username,
                        email,
                        password,
                        role,
                    },
                    AccountsCommand::Approve { username } => {
                        roles::AccountAction::Approve(username)
                    }
                    AccountsCommand::Suspend { username } => {
                        roles::AccountAction::Suspend(username)
                    }
                };
                roles::admin_accounts(config, action).await
            }
            Command::Config { .. } => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(roles::RoleError::Config(message)) => {
            eprintln!("ferrodon: {message}");
            ExitCode::from(2)
        }
        Err(e) => {
            tracing::error!(error = %e, "stopped");
            eprintln!("ferrodon: {e}");
            ExitCode::FAILURE
        }
    }
}
