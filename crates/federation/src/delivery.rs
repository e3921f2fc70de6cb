//! Sending activities: the `Federate` jobs the service layer enqueues
//! become one stored activity (serialised once) and one delivery per
//! distinct inbox (shared inboxes deduplicated), then one `DeliverHost` job
//! per remote host, so each host is worked on apart from the others.
//!
//! A `DeliverHost` job POSTs the activity to that host's inboxes, each
//! request signed (draft-cavage; when the host answers 401 the same request
//! is signed with RFC 9421 and sent again — the "double knock" — and the
//! host is remembered as wanting it). Outcomes are recorded per inbox
//! (`deliveries`: pending, delivered, failed, skipped; attempts; last
//! error). Retries follow Mastodon's delivery rules: 16 attempts, backoff
//! with jitter, no retry on a 4xx other than 401, 408 and 429, and
//! `Retry-After` honoured. A host that fails on 7 distinct days is marked
//! unavailable and skipped until it answers again; within one process a
//! host that just failed is not dialled again for 30 s (the breaker), and
//! each host gets at most 4 requests at once, so a dead or slow host only
//! ever holds its own jobs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use ferrodon_fetch::{Request, Url, host};
use ferrodon_jobs::{JobError, JobKind, Queue};
use ferrodon_model::{AccountId, Visibility};
use ferrodon_service::federate::Federate;
use ferrodon_storage::accounts::Account;
use ferrodon_storage::deliveries::{self, DELIVERED, FAILED, PENDING, SKIPPED};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::error::{FedResult, FederationError};
use crate::json::{ACTIVITY_JSON, PUBLIC, activities, actor, note};
use crate::resolve::Scheme;
use crate::signatures::PrivateKey;
use crate::{Federation, resolve};

/// Attempts per delivery (Mastodon's DeliveryWorker).
pub const MAX_ATTEMPTS: i32 = 16;
/// Distinct days of failures after which a host is marked unavailable.
pub const UNAVAILABLE_AFTER_DAYS: usize = 7;
/// Requests at once to one host, per process.
const PER_HOST: usize = 4;
/// How long a host that just failed is left alone, per process.
const BREAKER_OPEN: Duration = Duration::from_secs(30);

/// Deliver one stored activity to one host's pending inboxes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliverHost {
    pub activity_id: i64,
    pub host: String,
}

impl JobKind for DeliverHost {
    const KIND: &'static str = "deliver_host";
    const QUEUE: Queue = Queue::Push;
    /// Retries are scheduled by the job itself (per inbox); a job that
    /// fails outright (the database) is retried a few times.
    const MAX_ATTEMPTS: i32 = 5;

    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}", self.activity_id, self.host))
    }
}

/// Per-process delivery state: per-host limits, the breaker, and which
/// hosts want RFC 9421 signatures.
#[derive(Default)]
pub(crate) struct Hosts {
    limits: Mutex<HashMap<String, Arc<Semaphore>>>,
    failed_at: Mutex<HashMap<String, Instant>>,
    rfc9421: Mutex<HashSet<String>>,
}

impl Hosts {
    fn limit(&self, host: &str) -> Arc<Semaphore> {
        let mut map = self.limits.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, s| Arc::strong_count(s) > 1);
        }
        map.entry(host.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(PER_HOST)))
            .clone()
    }

    fn open(&self, host: &str) -> bool {
        let map = self.failed_at.lock().unwrap_or_else(|e| e.into_inner());
        map.get(host).is_some_and(|at| at.elapsed() < BREAKER_OPEN)
    }

    fn set_failed(&self, host: &str, failed: bool) {
        let mut map = self.failed_at.lock().unwrap_or_else(|e| e.into_inner());
        if failed {
            if map.len() > 100_000 {
                map.retain(|_, at| at.elapsed() < BREAKER_OPEN);
            }
            map.insert(host.to_owned(), Instant::now());
        } else {
            map.remove(host);
        }
    }

    fn wants_rfc9421(&self, host: &str) -> bool {
        let set = self.rfc9421.lock().unwrap_or_else(|e| e.into_inner());
        set.contains(host)
    }

    fn remember_rfc9421(&self, host: &str) {
        let mut set = self.rfc9421.lock().unwrap_or_else(|e| e.into_inner());
        if set.len() < 100_000 {
            set.insert(host.to_owned());
        }
    }
}

/// What one `Federate` job sends.
struct Outgoing {
    signer: AccountId,
    status_id: Option<i64>,
    kind: &'static str,
    body: Value,
    inboxes: Vec<String>,
}

/// An activity to one account, or its `Undo`.
fn to_one(
    me: &Account,
    me_uri: &str,
    target: &Account,
    activity: Value,
    kind: &'static str,
    undo: bool,
) -> Outgoing {
    Outgoing {
        signer: me.id,
        status_id: None,
        kind: if undo { "Undo" } else { kind },
        body: if undo {
            activities::undo(me_uri, activity)
        } else {
            activity
        },
        inboxes: inbox_of(target, false).into_iter().collect(),
    }
}

/// An account's inbox: the shared one where `shared` and known.
fn inbox_of(a: &Account, shared: bool) -> Option<String> {
    if a.is_local() {
        return None;
    }
    if shared {
        a.shared_inbox_url.clone().or_else(|| a.inbox_url.clone())
    } else {
        a.inbox_url.clone()
    }
}

impl Federation {
    /// Runs a `Federate` job: builds the activity, stores it with its
    /// deliveries and queues one `DeliverHost` per host.
    pub async fn federate(&self, job: &Federate) -> FedResult<()> {
        let Some(out) = self.outgoing(job).await? else {
            return Ok(());
        };
        let services = self.services();
        let mut inboxes: Vec<(String, String)> = Vec::new();
        let mut seen = HashSet::new();
        for inbox in out.inboxes {
            let Ok(url) = Url::parse(&inbox) else {
                continue;
            };
            let h = host::origin_host(&url);
            if h.is_empty() || h == services.instance().domain || !seen.insert(inbox.clone()) {
                continue;
            }
            inboxes.push((inbox, h));
        }
        if inboxes.is_empty() {
            return Ok(());
        }
        let now = ferrodon_storage::now();
        let activity_id = services.ids().next().0;
        let body = serde_json::to_string(&note::with_context(out.body))
            .map_err(|e| FederationError::Internal(e.to_string()))?;
        let mut tx = services.db().begin().await?;
        deliveries::insert_activity(
            &mut tx,
            &deliveries::Activity {
                id: activity_id,
                account_id: out.signer.0,
                status_id: out.status_id,
                kind: out.kind.to_owned(),
                body,
                created_at: now,
            },
        )
        .await?;
        let mut hosts = BTreeMap::new();
        for (inbox, h) in &inboxes {
            deliveries::insert_delivery(
                &mut tx,
                services.ids().next().0,
                activity_id,
                inbox,
                h,
                now,
            )
            .await?;
            hosts.insert(h.clone(), ());
        }
        tx.commit().await?;
        let jobs: Vec<DeliverHost> = hosts
            .into_keys()
            .map(|host| DeliverHost { activity_id, host })
            .collect();
        services.jobs().push(services.ids(), &jobs).await?;
        Ok(())
    }

    /// The activity and audience of a `Federate` job (`None`: nothing to
    /// send any more, e.g. the status is gone).
    async fn outgoing(&self, job: &Federate) -> FedResult<Option<Outgoing>> {
        let services = self.services();
        let i = services.instance();
        let account_uri = |a: &Account| i.uri_of(a);
        Ok(match job {
            Federate::CreateStatus { status_id } | Federate::UpdateStatus { status_id } => {
                let status = services.status_for_federation(*status_id).await?;
                let Some(view) = status else { return Ok(None) };
                if !view.account.is_local() {
                    return Ok(None);
                }
                let mut inboxes = Vec::new();
                if view.status.visibility() != Visibility::Direct {
                    inboxes.extend(services.follower_inboxes(view.account.id).await?);
                }
                inboxes.extend(view.mentions.iter().filter_map(|m| inbox_of(m, false)));
                let body = if let Some(original) = &view.reblog {
                    inboxes.extend(inbox_of(&original.account, false));
                    note::announce(i, &view, original)
                } else {
                    if let Some(parent_author) = view.status.in_reply_to_account()
                        && let Ok(a) = services.account(parent_author).await
                        && (view.status.visibility() != Visibility::Direct
                            || view.mentions.iter().any(|m| m.id == a.id))
                    {
                        inboxes.extend(inbox_of(&a, false));
                    }
                    let parents = match view.status.in_reply_to() {
                        Some(p) => services.status_uris(&[p]).await?,
                        None => HashMap::new(),
                    };
                    if matches!(job, Federate::UpdateStatus { .. }) {
                        let object = note::object(i, &view, &parents);
                        serde_json::json!({
                            "id": format!("{}#updates/{}", note::uri_of(i, &view), Utc::now().timestamp()),
                            "type": "Update",
                            "actor": account_uri(&view.account),
                            "to": object["to"],
                            "cc": object["cc"],
                            "object": object,
                        })
                    } else {
                        note::create(i, &view, &parents)
                    }
                };
                Some(Outgoing {
                    signer: view.account.id,
                    status_id: Some(view.status.id.0),
                    kind: if view.reblog.is_some() {
                        "Announce"
                    } else if matches!(job, Federate::UpdateStatus { .. }) {
                        "Update"
                    } else {
                        "Create"
                    },
                    body,
                    inboxes,
                })
            }
            Federate::DeleteStatus {
                status_id,
                account_id,
                uri,
                reblog_of_uri,
                mentioned,
            } => {
                let author = services.account(*account_id).await?;
                let actor_uri = account_uri(&author);
                let mut inboxes = services.follower_inboxes(author.id).await?;
                for m in services.accounts_by_ids(mentioned).await? {
                    inboxes.extend(inbox_of(&m, false));
                }
                let body = match reblog_of_uri {
                    Some(original) => activities::undo(
                        &actor_uri,
                        serde_json::json!({
                            "id": format!("{uri}/activity"),
                            "type": "Announce",
                            "actor": actor_uri,
                            "object": original,
                        }),
                    ),
                    None => activities::delete_status(&actor_uri, uri, vec![PUBLIC.to_owned()]),
                };
                Some(Outgoing {
                    signer: author.id,
                    status_id: Some(status_id.0),
                    kind: "Delete",
                    body,
                    inboxes,
                })
            }
            Federate::Follow {
                account_id,
                target_id,
                uri,
            }
            | Federate::UndoFollow {
                account_id,
                target_id,
                uri,
            } => {
                let (me, target) = (
                    services.account(*account_id).await?,
                    services.account(*target_id).await?,
                );
                let me_uri = account_uri(&me);
                let follow = activities::follow(uri, &me_uri, &target.uri);
                let undo = matches!(job, Federate::UndoFollow { .. });
                Some(to_one(&me, &me_uri, &target, follow, "Follow", undo))
            }
            Federate::AcceptFollow {
                account_id,
                follower_id,
                follow_uri,
            }
            | Federate::RejectFollow {
                account_id,
                follower_id,
                follow_uri,
            } => {
                let (me, follower) = (
                    services.account(*account_id).await?,
                    services.account(*follower_id).await?,
                );
                let accept = matches!(job, Federate::AcceptFollow { .. });
                Some(Outgoing {
                    signer: me.id,
                    status_id: None,
                    kind: if accept { "Accept" } else { "Reject" },
                    body: activities::answer_follow(
                        accept,
                        &account_uri(&me),
                        &follower.uri,
                        follow_uri,
                    ),
                    inboxes: inbox_of(&follower, false).into_iter().collect(),
                })
            }
            Federate::Favourite {
                account_id,
                status_id,
            }
            | Federate::UndoFavourite {
                account_id,
                status_id,
            } => {
                let me = services.account(*account_id).await?;
                let Some(view) = services.status_for_federation(*status_id).await? else {
                    return Ok(None);
                };
                let me_uri = account_uri(&me);
                let like = activities::like(&me_uri, &note::uri_of(i, &view), status_id.0);
                let undo = matches!(job, Federate::UndoFavourite { .. });
                Some(to_one(&me, &me_uri, &view.account, like, "Like", undo))
            }
            Federate::Block {
                account_id,
                target_id,
            }
            | Federate::UndoBlock {
                account_id,
                target_id,
            } => {
                let (me, target) = (
                    services.account(*account_id).await?,
                    services.account(*target_id).await?,
                );
                let me_uri = account_uri(&me);
                let block = activities::block(&me_uri, &target.uri, target_id.0);
                let undo = matches!(job, Federate::UndoBlock { .. });
                Some(to_one(&me, &me_uri, &target, block, "Block", undo))
            }
            Federate::Pin {
                account_id,
                status_id,
            }
            | Federate::Unpin {
                account_id,
                status_id,
            } => {
                let me = services.account(*account_id).await?;
                let Some(view) = services.status_for_federation(*status_id).await? else {
                    return Ok(None);
                };
                let add = matches!(job, Federate::Pin { .. });
                Some(Outgoing {
                    signer: me.id,
                    status_id: Some(status_id.0),
                    kind: if add { "Add" } else { "Remove" },
                    body: activities::featured(
                        add,
                        &account_uri(&me),
                        &note::uri_of(i, &view),
                        status_id.0,
                        Utc::now().timestamp(),
                    ),
                    inboxes: services.follower_inboxes(me.id).await?,
                })
            }
            Federate::AnswerQuote {
                account_id,
                requester_id,
                request_uri,
                quote_id,
            } => {
                let me = services.account(*account_id).await?;
                let requester = services.account(*requester_id).await?;
                let me_uri = account_uri(&me);
                Some(Outgoing {
                    signer: me.id,
                    status_id: None,
                    kind: if quote_id.is_some() {
                        "Accept"
                    } else {
                        "Reject"
                    },
                    body: activities::answer_quote(&me_uri, &requester.uri, request_uri, *quote_id),
                    inboxes: inbox_of(&requester, false).into_iter().collect(),
                })
            }
            Federate::Move {
                account_id,
                target_id,
            } => {
                let me = services.account(*account_id).await?;
                let target = services.account(*target_id).await?;
                Some(Outgoing {
                    signer: me.id,
                    status_id: None,
                    kind: "Move",
                    body: activities::moved(&account_uri(&me), &account_uri(&target), target_id.0),
                    inboxes: services.follower_inboxes(me.id).await?,
                })
            }
            Federate::UpdateAccount { account_id } => {
                let mut me = services.account(*account_id).await?;
                let keys = self.account_keys(me.id).await?;
                me.public_key_pem = keys.public_key_pem;
                let uri = account_uri(&me);
                let mut doc = actor::person(i, &me);
                if let Value::Object(map) = &mut doc {
                    map.remove("@context");
                }
                Some(Outgoing {
                    signer: me.id,
                    status_id: None,
                    kind: "Update",
                    body: activities::update_actor(&uri, doc, Utc::now().timestamp()),
                    inboxes: services.follower_inboxes(me.id).await?,
                })
            }
            Federate::Vote {
                account_id,
                status_id,
                choices,
            } => {
                let me = services.account(*account_id).await?;
                let Some(view) = services.status_for_federation(*status_id).await? else {
                    return Ok(None);
                };
                let Some(poll) = &view.poll else {
                    return Ok(None);
                };
                let poll_uri = note::uri_of(i, &view);
                let me_uri = account_uri(&me);
                // One Create(Note) per choice; sent as one activity each.
                let mut first = None;
                for choice in choices {
                    let Some(name) = usize::try_from(*choice)
                        .ok()
                        .and_then(|c| poll.options.get(c))
                    else {
                        continue;
                    };
                    let id = format!("{me_uri}#votes/{}/{choice}", status_id.0);
                    let body = serde_json::json!({
                        "id": format!("{id}/activity"),
                        "type": "Create",
                        "actor": me_uri,
                        "to": [view.account.uri],
                        "object": {
                            "id": id, "type": "Note", "name": name,
                            "attributedTo": me_uri, "inReplyTo": poll_uri, "to": [view.account.uri],
                        },
                    });
                    if first.is_none() {
                        first = Some(body);
                    } else {
                        Box::pin(self.send_now(me.id, body, inbox_of(&view.account, false)))
                            .await?;
                    }
                }
                first.map(|body| Outgoing {
                    signer: me.id,
                    status_id: None,
                    kind: "Create",
                    body,
                    inboxes: inbox_of(&view.account, false).into_iter().collect(),
                })
            }
        })
    }

    /// Stores and queues one more activity (a poll's second choice).
    async fn send_now(
        &self,
        signer: AccountId,
        body: Value,
        inbox: Option<String>,
    ) -> FedResult<()> {
        let Some(inbox) = inbox else { return Ok(()) };
        let Ok(url) = Url::parse(&inbox) else {
            return Ok(());
        };
        let services = self.services();
        let now = ferrodon_storage::now();
        let id = services.ids().next().0;
        let body = serde_json::to_string(&note::with_context(body))
            .map_err(|e| FederationError::Internal(e.to_string()))?;
        let h = host::origin_host(&url);
        let mut tx = services.db().begin().await?;
        deliveries::insert_activity(
            &mut tx,
            &deliveries::Activity {
                id,
                account_id: signer.0,
                status_id: None,
                kind: "Create".into(),
                body,
                created_at: now,
            },
        )
        .await?;
        deliveries::insert_delivery(&mut tx, services.ids().next().0, id, &inbox, &h, now).await?;
        tx.commit().await?;
        services
            .jobs()
            .push(
                services.ids(),
                &[DeliverHost {
                    activity_id: id,
                    host: h,
                }],
            )
            .await?;
        Ok(())
    }

    /// Runs a `DeliverHost` job.
    pub async fn deliver_host(&self, job: &DeliverHost) -> FedResult<()> {
        let services = self.services();
        let db = services.db();
        let pending = deliveries::pending_for_host(db, job.activity_id, &job.host).await?;
        if pending.is_empty() {
            return Ok(());
        }
        let Some(activity) = deliveries::activity(db, job.activity_id).await? else {
            return Ok(());
        };
        let now = ferrodon_storage::now();
        if self.host_refused(&job.host).await? {
            for d in &pending {
                deliveries::record(
                    db,
                    d.id,
                    SKIPPED,
                    false,
                    Some("domain blocked or not allowed"),
                    now,
                )
                .await?;
            }
            return Ok(());
        }
        let health = deliveries::host(db, &job.host).await?;
        if health
            .as_ref()
            .is_some_and(|h| h.unavailable_since.is_some())
        {
            for d in &pending {
                deliveries::record(
                    db,
                    d.id,
                    SKIPPED,
                    false,
                    Some("host marked unavailable"),
                    now,
                )
                .await?;
            }
            return Ok(());
        }
        if self.hosts().open(&job.host) {
            // The host failed moments ago: try again later, not now.
            self.retry_later(job, Duration::from_secs(60)).await?;
            return Ok(());
        }
        let keys = self.account_keys(AccountId(activity.account_id)).await?;
        let key = PrivateKey::from_pem(&keys.private_key_pem)
            .map_err(|e| FederationError::Internal(format!("signing key: {e}")))?;
        let signer = services.account(AccountId(activity.account_id)).await?;
        let key_id = actor::key_id(&services.instance().uri_of(&signer));
        let limit = self.hosts().limit(&job.host);
        let mut retry_after: Option<Duration> = None;
        let mut any_failed = false;
        let mut any_delivered = false;
        for d in pending {
            let Ok(_permit) = limit.acquire().await else {
                break;
            };
            let attempt = d.attempts + 1;
            let outcome = self
                .post(&d.inbox_url, &activity.body, &key_id, &key, &job.host)
                .await;
            let at = ferrodon_storage::now();
            match outcome {
                Ok(()) => {
                    any_delivered = true;
                    deliveries::record(db, d.id, DELIVERED, true, None, at).await?;
                }
                Err(Failure {
                    message,
                    retry,
                    wait,
                    host_down,
                }) => {
                    if host_down {
                        any_failed = true;
                    } else {
                        any_delivered = true;
                    }
                    let give_up = !retry || attempt >= MAX_ATTEMPTS;
                    let state = if give_up { FAILED } else { PENDING };
                    deliveries::record(db, d.id, state, true, Some(&message), at).await?;
                    if !give_up {
                        let backoff = wait.unwrap_or_else(|| backoff(attempt));
                        retry_after = Some(retry_after.map_or(backoff, |r| r.min(backoff)));
                    }
                }
            }
        }
        self.record_host(&job.host, any_delivered, any_failed)
            .await?;
        if let Some(wait) = retry_after {
            self.retry_later(job, wait).await?;
        }
        Ok(())
    }

    async fn retry_later(&self, job: &DeliverHost, wait: Duration) -> FedResult<()> {
        let services = self.services();
        let at = ferrodon_storage::now()
            + chrono::Duration::from_std(wait).unwrap_or_else(|_| chrono::Duration::hours(1));
        // A new job (this one is finishing): the unique key is free again
        // once this one is acknowledged, so push it under another key.
        services
            .jobs()
            .push_at(services.ids(), &[RetryHost(job.clone())], at)
            .await?;
        Ok(())
    }

    async fn record_host(&self, h: &str, delivered: bool, failed: bool) -> FedResult<()> {
        let db = self.services().db();
        let now = ferrodon_storage::now();
        let mut health = deliveries::host(db, h).await?.unwrap_or(deliveries::Host {
            host: h.to_owned(),
            failure_days: String::new(),
            unavailable_since: None,
            last_success_at: None,
        });
        if delivered {
            self.hosts().set_failed(h, false);
            health.failure_days.clear();
            health.unavailable_since = None;
            health.last_success_at = Some(now);
        } else if failed {
            self.hosts().set_failed(h, true);
            let today = now.format("%Y-%m-%d").to_string();
            let mut days: Vec<&str> = health
                .failure_days
                .split(',')
                .filter(|d| !d.is_empty())
                .collect();
            if !days.contains(&today.as_str()) {
                days.push(&today);
            }
            let keep = days.len().saturating_sub(UNAVAILABLE_AFTER_DAYS);
            let days: Vec<&str> = days.into_iter().skip(keep).collect();
            if days.len() >= UNAVAILABLE_AFTER_DAYS && health.unavailable_since.is_none() {
                health.unavailable_since = Some(now);
            }
            health.failure_days = days.join(",");
        } else {
            return Ok(());
        }
        deliveries::set_host(db, &health, now).await?;
        Ok(())
    }

    /// POSTs one activity to one inbox.
    async fn post(
        &self,
        inbox: &str,
        body: &str,
        key_id: &str,
        key: &PrivateKey,
        h: &str,
    ) -> Result<(), Failure> {
        let url = Url::parse(inbox).map_err(|e| Failure::fatal(format!("bad inbox URL: {e}")))?;
        let request = Request::post(url, body.as_bytes().to_vec())
            .header("content-type", ACTIVITY_JSON)
            .and_then(|r| r.header("accept", ACTIVITY_JSON))
            .map_err(|e| Failure::fatal(e.to_string()))?;
        let fetcher = self.services().fetcher();
        let rfc9421 = self.hosts().wants_rfc9421(h);
        let send = |request: Request, rfc: bool| async move {
            fetcher
                .send_following(request, |r| {
                    let scheme = if rfc { Scheme::Rfc9421 } else { Scheme::Cavage };
                    resolve::sign(r, key_id, key, scheme)
                })
                .await
        };
        let mut response = send(request.clone(), rfc9421)
            .await
            .map_err(Failure::network)?;
        if response.status() == 401 && !rfc9421 {
            // The double knock: some servers want RFC 9421 only.
            let again = send(request, true).await.map_err(Failure::network)?;
            if (200..300).contains(&again.status()) {
                self.hosts().remember_rfc9421(h);
            }
            response = again;
        }
        let status = response.status();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let wait = response.retry_after_secs().map(Duration::from_secs);
        let retry = !(400..500).contains(&status) || matches!(status, 401 | 408 | 429);
        Err(Failure {
            message: format!("{inbox} answered {status}"),
            retry,
            wait: wait.map(|w| w.min(Duration::from_secs(24 * 3600))),
            host_down: status >= 500 || matches!(status, 408 | 429),
        })
    }

    pub(crate) fn hosts(&self) -> &Hosts {
        &self.inner.hosts
    }
}

/// Why one POST failed, and whether to try again.
struct Failure {
    message: String,
    retry: bool,
    wait: Option<Duration>,
    /// The host did not answer, or answered 5xx/408/429: it counts against
    /// the host's health (a 4xx answer shows the host is up).
    host_down: bool,
}

impl Failure {
    fn fatal(message: String) -> Failure {
        Failure {
            message,
            retry: false,
            wait: None,
            host_down: false,
        }
    }

    fn network(e: ferrodon_fetch::FetchError) -> Failure {
        // Refused addresses and bad URLs will not get better.
        let retry = !matches!(
            e,
            ferrodon_fetch::FetchError::PrivateAddress(_)
                | ferrodon_fetch::FetchError::InvalidUrl(_)
                | ferrodon_fetch::FetchError::Scheme(_)
        );
        Failure {
            message: e.to_string(),
            retry,
            wait: None,
            host_down: retry,
        }
    }
}

/// Mastodon's delivery backoff: `attempt⁴ + 15 + rand(30) × (attempt + 1)` s.
fn backoff(attempt: i32) -> Duration {
    let n = u64::try_from(attempt.max(1)).unwrap_or(1);
    let jitter = rand::random_range(0..30u64) * (n + 1);
    Duration::from_secs(n.pow(4) + 15 + jitter)
}

/// A delayed retry of a `DeliverHost` (a separate kind, so its unique key
/// does not collide with the job that schedules it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RetryHost(pub DeliverHost);

impl JobKind for RetryHost {
    const KIND: &'static str = "deliver_host_retry";
    const QUEUE: Queue = Queue::Push;
    const MAX_ATTEMPTS: i32 = 5;
}

/// A `JobError` for a federation failure.
pub(crate) fn job_error(e: FederationError) -> JobError {
    JobError::new(e.to_string())
}
