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

mod admin;
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
    /// Background jobs: figures, the dead set, end-to-end probes.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Prints every route of the web role as `METHOD /path/{template}` lines
    /// (for tests: the conformance walk and the adversarial suite).
    #[command(hide = true)]
    Routes,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Local accounts.
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// The server's rules (shown in instance info and used by reports).
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Announcements shown to every signed-in user.
    Announcements {
        #[command(subcommand)]
        command: AnnouncementsCommand,
    },
    /// Reports users filed.
    Reports {
        #[command(subcommand)]
        command: ReportsCommand,
    },
    /// The instance's custom emojis.
    Emojis {
        #[command(subcommand)]
        command: EmojisCommand,
    },
    /// The instance's policy towards other servers' domains.
    Domains {
        #[command(subcommand)]
        command: DomainsCommand,
    },
    /// Federation with other servers.
    Federation {
        #[command(subcommand)]
        command: FederationCommand,
    },
}

#[derive(Debug, Subcommand)]
enum DomainsCommand {
    /// Blocks a domain and its subdomains (or changes its block): `suspend`
    /// refuses everything from it and sends it nothing, `silence` keeps its
    /// accounts out of public timelines, `noop` only sets the flags.
    Block {
        domain: String,
        #[arg(long, default_value = "suspend")]
        severity: String,
        /// Do not store its media.
        #[arg(long)]
        reject_media: bool,
        /// Ignore its reports.
        #[arg(long)]
        reject_reports: bool,
    },
    /// Lifts a domain's block.
    Unblock { domain: String },
    /// Lists the blocks (domain, severity, flags) and the allows.
    List,
    /// Allows a domain (the list limited-federation mode federates with).
    Allow { domain: String },
    /// Removes a domain from the allow list.
    Disallow { domain: String },
}

#[derive(Debug, Subcommand)]
enum FederationCommand {
    /// What was delivered of a status's activities: one line per inbox with
    /// its state (delivered, failed, pending, skipped), attempts and last error.
    Deliveries { status_id: i64 },
}

#[derive(Debug, Subcommand)]
enum EmojisCommand {
    /// Adds `:SHORTCODE:` from a PNG, GIF or WebP file (256 KB at most) and prints its id.
    Add {
        shortcode: String,
        file: std::path::PathBuf,
        /// The picker category.
        #[arg(long)]
        category: Option<String>,
        /// Usable in posts but left out of the picker (/api/v1/custom_emojis).
        #[arg(long)]
        unlisted: bool,
    },
    /// Lists the emojis, one per line: id, shortcode, state, category.
    List,
    /// Stops showing an emoji (it stays stored).
    Disable { shortcode: String },
    /// Shows a disabled emoji again.
    Enable { shortcode: String },
    /// Deletes an emoji and its image.
    Remove { shortcode: String },
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Adds a rule after the others and prints its id.
    Add {
        text: String,
        #[arg(long, default_value = "")]
        hint: String,
    },
    /// Lists the rules, one per line: id, text.
    List,
    /// Removes a rule.
    Remove { id: i64 },
}

#[derive(Debug, Subcommand)]
enum AnnouncementsCommand {
    /// Publishes an announcement and prints its id.
    Create {
        text: String,
        /// RFC 3339 time the announced event starts.
        #[arg(long)]
        starts_at: Option<String>,
        /// RFC 3339 time it ends (the announcement disappears then).
        #[arg(long)]
        ends_at: Option<String>,
        #[arg(long)]
        all_day: bool,
    },
    /// Lists announcements, newest first: id, text.
    List,
    /// Deletes an announcement.
    Delete { id: i64 },
}

#[derive(Debug, Subcommand)]
enum ReportsCommand {
    /// The newest reports as JSON lines.
    List {
        #[arg(long, default_value_t = 50)]
        limit: i64,
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
    /// Suspends an account: its statuses disappear from every reader at once.
    Suspend { username: String },
    /// Lifts a suspension.
    Unsuspend { username: String },
    /// Silences (limits) an account: out of public timelines and trends.
    Silence { username: String },
    /// Lifts a silence.
    Unsilence { username: String },
    /// Lists another account (user@domain, a local name or an actor URL)
    /// among the account's aliases (alsoKnownAs), so it may move here.
    Alias { username: String, other: String },
    /// Moves the account to another that lists it among its aliases: its
    /// followers here and elsewhere follow the new account.
    Move { username: String, target: String },
}

#[derive(Debug, Subcommand)]
enum JobsCommand {
    /// Per queue: size, age of the oldest job, busy, scheduled, retries, dead.
    Stats {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Puts dead jobs back to run now, with fresh attempts.
    RetryDead {
        #[arg(long)]
        queue: Option<String>,
    },
    /// Deletes dead jobs.
    ClearDead {
        #[arg(long)]
        queue: Option<String>,
    },
    /// Enqueues probe jobs and waits until workers ran them all.
    Probe {
        #[arg(long, default_value_t = 1)]
        count: u64,
        /// Key prefix of the probes (default: a fresh one).
        #[arg(long)]
        prefix: Option<String>,
        /// Seconds to wait for the probes to run (0: enqueue and return).
        #[arg(long, default_value_t = 60)]
        wait: u64,
        /// How long each probe job takes, in milliseconds.
        #[arg(long, default_value_t = 0)]
        hold_ms: u64,
    },
    /// Measures end-to-end throughput: enqueues no-op jobs, waits until they ran.
    Bench {
        #[arg(long, default_value_t = 10_000)]
        count: u64,
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Prints the effective configuration, secrets redacted.
    Check,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Routes = cli.command {
        let all = ferrodon_api::route_table()
            .into_iter()
            .chain(ferrodon_federation::routes::route_table());
        for (method, path) in all {
            println!("{method} {path}");
        }
        return ExitCode::SUCCESS;
    }
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
                    } => admin::AccountAction::Create {
                        username,
                        email,
                        password,
                        role,
                    },
                    AccountsCommand::Approve { username } => {
                        admin::AccountAction::Approve(username)
                    }
                    AccountsCommand::Suspend { username } => {
                        admin::AccountAction::Suspend(username)
                    }
                    AccountsCommand::Unsuspend { username } => {
                        admin::AccountAction::Unsuspend(username)
                    }
                    AccountsCommand::Silence { username } => {
                        admin::AccountAction::Silence(username, true)
                    }
                    AccountsCommand::Unsilence { username } => {
                        admin::AccountAction::Silence(username, false)
                    }
                    AccountsCommand::Alias { username, other } => {
                        admin::AccountAction::Alias(username, other)
                    }
                    AccountsCommand::Move { username, target } => {
                        admin::AccountAction::Move(username, target)
                    }
                };
                admin::admin_accounts(config, action).await
            }
            Command::Admin {
                command: AdminCommand::Rules { command },
            } => {
                let action = match command {
                    RulesCommand::Add { text, hint } => {
                        admin::ContentAction::AddRule { text, hint }
                    }
                    RulesCommand::List => admin::ContentAction::ListRules,
                    RulesCommand::Remove { id } => admin::ContentAction::RemoveRule(id),
                };
                admin::admin_content(config, action).await
            }
            Command::Admin {
                command: AdminCommand::Announcements { command },
            } => {
                let action = match command {
                    AnnouncementsCommand::Create {
                        text,
                        starts_at,
                        ends_at,
                        all_day,
                    } => admin::ContentAction::Announce {
                        text,
                        starts_at,
                        ends_at,
                        all_day,
                    },
                    AnnouncementsCommand::List => admin::ContentAction::ListAnnouncements,
                    AnnouncementsCommand::Delete { id } => {
                        admin::ContentAction::DeleteAnnouncement(id)
                    }
                };
                admin::admin_content(config, action).await
            }
            Command::Admin {
                command: AdminCommand::Emojis { command },
            } => {
                let action = match command {
                    EmojisCommand::Add {
                        shortcode,
                        file,
                        category,
                        unlisted,
                    } => admin::ContentAction::AddEmoji {
                        shortcode,
                        file,
                        category,
                        listed: !unlisted,
                    },
                    EmojisCommand::List => admin::ContentAction::ListEmojis,
                    EmojisCommand::Disable { shortcode } => {
                        admin::ContentAction::SetEmojiDisabled(shortcode, true)
                    }
                    EmojisCommand::Enable { shortcode } => {
                        admin::ContentAction::SetEmojiDisabled(shortcode, false)
                    }
                    EmojisCommand::Remove { shortcode } => {
                        admin::ContentAction::RemoveEmoji(shortcode)
                    }
                };
                admin::admin_content(config, action).await
            }
            Command::Admin {
                command: AdminCommand::Domains { command },
            } => {
                let action = match command {
                    DomainsCommand::Block {
                        domain,
                        severity,
                        reject_media,
                        reject_reports,
                    } => admin::DomainAction::Block {
                        domain,
                        severity,
                        reject_media,
                        reject_reports,
                    },
                    DomainsCommand::Unblock { domain } => admin::DomainAction::Unblock(domain),
                    DomainsCommand::List => admin::DomainAction::List,
                    DomainsCommand::Allow { domain } => admin::DomainAction::Allow(domain),
                    DomainsCommand::Disallow { domain } => admin::DomainAction::Disallow(domain),
                };
                admin::admin_domains(config, action).await
            }
            Command::Admin {
                command:
                    AdminCommand::Federation {
                        command: FederationCommand::Deliveries { status_id },
                    },
            } => admin::admin_content(config, admin::ContentAction::Deliveries(status_id)).await,
            Command::Admin {
                command: AdminCommand::Reports { command },
            } => {
                let ReportsCommand::List { limit } = command;
                admin::admin_content(config, admin::ContentAction::ListReports(limit)).await
            }
            Command::Jobs { command } => {
                let action = match command {
                    JobsCommand::Stats { json } => admin::JobsAction::Stats { json },
                    JobsCommand::RetryDead { queue } => admin::JobsAction::RetryDead(queue),
                    JobsCommand::ClearDead { queue } => admin::JobsAction::ClearDead(queue),
                    JobsCommand::Probe {
                        count,
                        prefix,
                        wait,
                        hold_ms,
                    } => admin::JobsAction::Probe {
                        count,
                        prefix,
                        wait,
                        hold_ms,
                    },
                    JobsCommand::Bench { count, timeout } => {
                        admin::JobsAction::Bench { count, timeout }
                    }
                };
                admin::jobs(config, action).await
            }
            Command::Config { .. } | Command::Routes => Ok(()),
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
