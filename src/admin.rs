//! Operator commands (`ferrodon admin …`, `ferrodon jobs …`): one-shot
//! processes that open the database, call the service layer and print.

use std::time::Duration;

use ferrodon_config::Config;
use ferrodon_jobs::{JobQueue, Queue};
use ferrodon_model::IdGenerator;

use crate::roles::{Result, RoleError, connect, job_queue, require_migrated, services};

/// An operator command on accounts.
pub enum AccountAction {
    Create {
        username: String,
        email: String,
        password: String,
        role: String,
    },
    Approve(String),
    Suspend(String),
    Unsuspend(String),
    /// Silence (true) or lift it (false).
    Silence(String, bool),
    /// Lists another account (`user@domain`, a local name, or an actor
    /// URL) among the account's aliases, so it may move here.
    Alias(String, String),
    /// Moves the account to another that lists it among its aliases.
    Move(String, String),
}

/// `ferrodon admin accounts …`: runs on the configured database (URLs use
/// the configured domain) and prints the result on stdout.
pub async fn admin_accounts(config: Config, action: AccountAction) -> Result<()> {
    let role = match &action {
        AccountAction::Create { role, .. } => Some(role.parse().map_err(|_| {
            RoleError::Config(format!(
                "--role: expected user, moderator or admin, got {role:?}"
            ))
        })?),
        _ => None,
    };
    let db = connect(&config, false).await?;
    require_migrated(&db).await?;
    let services = services(&config, db, config.listen.port()).await?;
    let result = match action {
        AccountAction::Create {
            username,
            email,
            password,
            ..
        } => services
            .admin_create_account(&username, &email, &password, role.unwrap_or_default())
            .await
            .map(|id| id.to_string()),
        AccountAction::Approve(username) => services
            .approve_account(&username)
            .await
            .map(|()| format!("approved {username}")),
        AccountAction::Suspend(username) => services
            .suspend_account(&username)
            .await
            .map(|()| format!("suspended {username}")),
        AccountAction::Unsuspend(username) => services
            .unsuspend_account(&username)
            .await
            .map(|()| format!("unsuspended {username}")),
        AccountAction::Silence(username, on) => services
            .silence_account(&username, on)
            .await
            .map(|()| format!("{} {username}", if on { "silenced" } else { "unsilenced" })),
        AccountAction::Alias(username, other) => {
            let other = find_account(&config, &services, &other).await?;
            services
                .add_alias(&username, other)
                .await
                .map(|aliases| format!("{username} is also known as {}", aliases.join(", ")))
        }
        AccountAction::Move(username, target) => {
            let target = find_account(&config, &services, &target).await?;
            services
                .move_local_account(&username, target)
                .await
                .map(|()| format!("moved {username}"))
        }
    };
    services.db().close().await;
    println!("{}", result?);
    Ok(())
}

/// A local account by name, or a remote one by `user@domain` or actor URL,
/// fetched afresh from its server (so its aliases are current).
async fn find_account(
    config: &Config,
    services: &ferrodon_service::Services,
    who: &str,
) -> Result<ferrodon_model::AccountId> {
    let who = who.trim().trim_start_matches('@');
    let failed = |e: ferrodon_federation::FederationError| RoleError::Config(format!("{who}: {e}"));
    if !who.contains('@') && !who.contains('/') {
        return services
            .local_account(who)
            .await
            .map(|a| a.id)
            .map_err(|e| RoleError::Config(format!("{who}: {e}")));
    }
    let fed = crate::roles::federation(config, services);
    let uri = match who.split_once('@') {
        Some((user, domain)) if !who.contains('/') => {
            fed.resolve_acct(user, domain).await.map_err(failed)?.uri
        }
        _ => who.to_owned(),
    };
    let local_prefix = format!("{}/users/", services.instance().base_url);
    if let Some(name) = uri.strip_prefix(&local_prefix) {
        return services
            .local_account(name)
            .await
            .map(|a| a.id)
            .map_err(|e| RoleError::Config(format!("{who}: {e}")));
    }
    Ok(fed.fetch_actor(&uri).await.map_err(failed)?.id)
}

/// An operator command on what the server publishes (rules, announcements) or receives (reports).
pub enum ContentAction {
    AddRule {
        text: String,
        hint: String,
    },
    ListRules,
    RemoveRule(i64),
    Announce {
        text: String,
        starts_at: Option<String>,
        ends_at: Option<String>,
        all_day: bool,
    },
    ListAnnouncements,
    DeleteAnnouncement(i64),
    ListReports(i64),
    Deliveries(i64),
    AddEmoji {
        shortcode: String,
        file: std::path::PathBuf,
        category: Option<String>,
        listed: bool,
    },
    ListEmojis,
    SetEmojiDisabled(String, bool),
    RemoveEmoji(String),
}

/// `ferrodon admin domains …`.
#[derive(Debug)]
pub enum DomainAction {
    Block {
        domain: String,
        severity: String,
        reject_media: bool,
        reject_reports: bool,
    },
    Unblock(String),
    List,
    Allow(String),
    Disallow(String),
}

pub async fn admin_domains(config: Config, action: DomainAction) -> Result<()> {
    use ferrodon_service::domain_policy::Severity;
    let db = connect(&config, false).await?;
    require_migrated(&db).await?;
    let services = services(&config, db, config.listen.port()).await?;
    let result = match action {
        DomainAction::Block {
            domain,
            severity,
            reject_media,
            reject_reports,
        } => {
            let Some(severity) = Severity::parse(&severity) else {
                return Err(RoleError::Config(format!(
                    "--severity must be suspend, silence or noop, not {severity:?}"
                )));
            };
            services
                .admin_block_domain(&domain, severity, reject_media, reject_reports)
                .await
                .map(|n| {
                    format!(
                        "blocked {domain} ({}); {n} known accounts",
                        severity.as_str()
                    )
                })
        }
        DomainAction::Unblock(domain) => {
            services.admin_unblock_domain(&domain).await.map(|found| {
                if found {
                    format!("unblocked {domain}")
                } else {
                    format!("{domain} was not blocked")
                }
            })
        }
        DomainAction::List => match services.domain_blocks().await {
            Ok(blocks) => services.domain_allows().await.map(|allows| {
                blocks
                    .iter()
                    .map(|b| {
                        let mut flags = Vec::new();
                        if b.reject_media {
                            flags.push("reject-media");
                        }
                        if b.reject_reports {
                            flags.push("reject-reports");
                        }
                        format!("block\t{}\t{}\t{}", b.domain, b.severity, flags.join(","))
                    })
                    .chain(allows.iter().map(|a| format!("allow\t{a}")))
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
            Err(e) => Err(e),
        },
        DomainAction::Allow(domain) => services
            .allow_domain(&domain)
            .await
            .map(|()| format!("allowed {domain}")),
        DomainAction::Disallow(domain) => services.disallow_domain(&domain).await.map(|found| {
            if found {
                format!("disallowed {domain}")
            } else {
                format!("{domain} was not allowed")
            }
        }),
    };
    services.db().close().await;
    let text = result?;
    if !text.is_empty() {
        println!("{text}");
    }
    Ok(())
}

fn time_arg(name: &str, raw: Option<String>) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    raw.map(|r| {
        chrono::DateTime::parse_from_rfc3339(&r)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|e| RoleError::Config(format!("--{name}: expected an RFC 3339 time ({e})")))
    })
    .transpose()
}

/// `ferrodon admin rules|announcements|reports|emojis …`: prints the result on stdout.
pub async fn admin_content(config: Config, action: ContentAction) -> Result<()> {
    let db = connect(&config, false).await?;
    require_migrated(&db).await?;
    let services = services(&config, db, config.listen.port()).await?;
    let result = match action {
        ContentAction::AddRule { text, hint } => services
            .admin_add_rule(&text, &hint)
            .await
            .map(|id| id.to_string()),
        ContentAction::ListRules => services.rules().await.map(|rules| {
            rules
                .iter()
                .map(|r| format!("{}\t{}", r.id, r.text))
                .collect::<Vec<_>>()
                .join("\n")
        }),
        ContentAction::RemoveRule(id) => services
            .admin_remove_rule(id)
            .await
            .map(|()| format!("removed rule {id}")),
        ContentAction::Announce {
            text,
            starts_at,
            ends_at,
            all_day,
        } => {
            let starts_at = time_arg("starts-at", starts_at)?;
            let ends_at = time_arg("ends-at", ends_at)?;
            services
                .admin_create_announcement(&text, starts_at, ends_at, all_day)
                .await
                .map(|id| id.to_string())
        }
        ContentAction::ListAnnouncements => services.admin_announcements().await.map(|list| {
            list.iter()
                .map(|a| format!("{}\t{}", a.id, a.text))
                .collect::<Vec<_>>()
                .join("\n")
        }),
        ContentAction::DeleteAnnouncement(id) => services
            .admin_delete_announcement(id)
            .await
            .map(|()| format!("deleted announcement {id}")),
        ContentAction::AddEmoji {
            shortcode,
            file,
            category,
            listed,
        } => services
            .admin_add_emoji(&shortcode, &file, category.as_deref(), listed)
            .await
            .map(|id| id.to_string()),
        ContentAction::ListEmojis => services.admin_emojis().await.map(|list| {
            list.iter()
                .map(|e| {
                    let state = match (e.disabled, e.visible_in_picker) {
                        (true, _) => "disabled",
                        (false, true) => "listed",
                        (false, false) => "unlisted",
                    };
                    let category = e.category.as_deref().unwrap_or("");
                    format!("{}\t{}\t{state}\t{category}", e.id, e.shortcode)
                })
                .collect::<Vec<_>>()
                .join("\n")
        }),
        ContentAction::SetEmojiDisabled(shortcode, disabled) => services
            .admin_set_emoji_disabled(&shortcode, disabled)
            .await
            .map(|()| {
                let done = if disabled { "disabled" } else { "enabled" };
                format!("{done} :{shortcode}:")
            }),
        ContentAction::Deliveries(status_id) => services
            .deliveries_of(ferrodon_model::StatusId(status_id))
            .await
            .map(|list| {
                list.iter()
                    .map(|d| {
                        format!(
                            "{}\t{}\t{}\t{}",
                            d.inbox_url,
                            d.state,
                            d.attempts,
                            d.last_error.as_deref().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
        ContentAction::RemoveEmoji(shortcode) => services
            .admin_remove_emoji(&shortcode)
            .await
            .map(|()| format!("removed :{shortcode}:")),
        ContentAction::ListReports(limit) => services.admin_reports(limit).await.map(|list| {
            list.iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id.to_string(),
                        "account_id": r.account_id.to_string(),
                        "target_account_id": r.target_account_id.to_string(),
                        "category": r.category,
                        "comment": r.comment,
                        "status_ids": r.status_ids,
                        "rule_ids": r.rule_ids,
                        "created_at": r.created_at.to_rfc3339(),
                    })
                    .to_string()
                })
                .collect::<Vec<_>>()
                .join("\n")
        }),
    };
    services.db().close().await;
    println!("{}", result?);
    Ok(())
}

/// An operator command on the job queues.
pub enum JobsAction {
    Stats {
        json: bool,
    },
    RetryDead(Option<String>),
    ClearDead(Option<String>),
    Probe {
        count: u64,
        prefix: Option<String>,
        wait: u64,
        hold_ms: u64,
    },
    Bench {
        count: u64,
        timeout: u64,
    },
}

fn queue_arg(queue: Option<String>) -> Result<Option<Queue>> {
    queue
        .map(|q| {
            q.parse::<Queue>()
                .map_err(|e| RoleError::Config(format!("--queue: {e}")))
        })
        .transpose()
}

/// Whether every queue is empty (nothing ready, running or scheduled).
async fn drained(queue: &JobQueue) -> Result<bool> {
    let stats = queue.stats(ferrodon_storage::now()).await?;
    Ok(stats.outbox == 0
        && stats
            .queues
            .iter()
            .all(|q| q.size == 0 && q.busy == 0 && q.scheduled == 0 && q.retries == 0))
}

/// `ferrodon jobs …`.
pub async fn jobs(config: Config, action: JobsAction) -> Result<()> {
    let db = connect(&config, false).await?;
    require_migrated(&db).await?;
    let queue = job_queue(&config, &db).await?;
    let ids = IdGenerator::new();
    match action {
        JobsAction::Stats { json } => {
            let stats = queue.stats(ferrodon_storage::now()).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&stats).unwrap_or_default()
                );
            } else {
                println!("backend: {}   outbox: {}", stats.backend, stats.outbox);
                println!(
                    "{:<10} {:>8} {:>10} {:>6} {:>10} {:>8} {:>6}",
                    "queue", "size", "latency_s", "busy", "scheduled", "retries", "dead"
                );
                for q in &stats.queues {
                    println!(
                        "{:<10} {:>8} {:>10.1} {:>6} {:>10} {:>8} {:>6}",
                        q.queue, q.size, q.latency_seconds, q.busy, q.scheduled, q.retries, q.dead
                    );
                }
            }
        }
        JobsAction::RetryDead(q) => {
            let n = queue
                .retry_dead(queue_arg(q)?, ferrodon_storage::now())
                .await?;
            println!("{n} dead job(s) queued again");
        }
        JobsAction::ClearDead(q) => {
            let n = queue.clear_dead(queue_arg(q)?).await?;
            println!("{n} dead job(s) deleted");
        }
        JobsAction::Probe {
            count,
            prefix,
            wait,
            hold_ms,
        } => {
            let prefix = prefix.unwrap_or_else(|| format!("probe-{:016x}-", rand::random::<u64>()));
            let started = std::time::Instant::now();
            for chunk in (0..count).collect::<Vec<_>>().chunks(1000) {
                let probes: Vec<ferrodon_service::jobs::Probe> = chunk
                    .iter()
                    .map(|i| ferrodon_service::jobs::Probe {
                        key: format!("{prefix}{i}"),
                        hold_ms,
                    })
                    .collect();
                let added = queue.push(&ids, &probes).await?;
                if added != probes.len() as u64 {
                    return Err(RoleError::Config(format!(
                        "only {added} of {} probe jobs were enqueued",
                        probes.len()
                    )));
                }
            }
            println!("enqueued {count} probe job(s) with prefix {prefix}");
            if wait > 0 {
                let deadline = started + Duration::from_secs(wait);
                loop {
                    let (ran, repeated) =
                        ferrodon_storage::jobs::probe_counts(&db, &prefix).await?;
                    if u64::try_from(ran).unwrap_or(0) >= count {
                        println!(
                            "all {ran} probe(s) ran in {:.3} s; {repeated} ran more than once",
                            started.elapsed().as_secs_f64()
                        );
                        break;
                    }
                    if std::time::Instant::now() > deadline {
                        return Err(RoleError::Config(format!(
                            "only {ran} of {count} probe(s) ran within {wait} s: are workers running?"
                        )));
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        JobsAction::Bench { count, timeout } => {
            if !drained(&queue).await? {
                return Err(RoleError::Config(
                    "the queues are not empty; run the benchmark on an idle instance".to_owned(),
                ));
            }
            let started = std::time::Instant::now();
            let all: Vec<ferrodon_service::jobs::Noop> =
                (0..count).map(|_| ferrodon_service::jobs::Noop).collect();
            for chunk in all.chunks(1000) {
                let added = queue.push(&ids, chunk).await?;
                if added != chunk.len() as u64 {
                    return Err(RoleError::Config(format!(
                        "only {added} of {} jobs were enqueued",
                        chunk.len()
                    )));
                }
            }
            let enqueued = started.elapsed();
            let deadline = started + Duration::from_secs(timeout);
            while !drained(&queue).await? {
                if std::time::Instant::now() > deadline {
                    return Err(RoleError::Config(format!(
                        "the jobs did not finish within {timeout} s"
                    )));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let total = started.elapsed().as_secs_f64();
            println!(
                "{count} no-op jobs on {}: enqueued in {:.3} s, all done in {total:.3} s: {:.0} jobs/s",
                queue.backend_name(),
                enqueued.as_secs_f64(),
                count as f64 / total
            );
        }
    }
    db.close().await;
    Ok(())
}
