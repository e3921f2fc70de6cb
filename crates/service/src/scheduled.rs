//! Scheduled statuses: `POST /api/v1/statuses` with `scheduled_at` keeps
//! the post's parameters until then; a delayed job publishes it through
//! the normal posting path.

use chrono::{DateTime, Duration, Utc};
use ferrodon_jobs::{Job, JobError, JobKind};
use ferrodon_model::{AccountId, AppId, Page, PageBounds, StatusId, Visibility};
use ferrodon_storage::scheduled::{self as store, ScheduledStatus};
use ferrodon_storage::{statuses, users};
use serde::{Deserialize, Serialize};

use crate::polls::PollInput;
use crate::statuses::NewPost;
use crate::{Result, ServiceError, Services};

/// The post's parameters, kept as JSON until it is published.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScheduledParams {
    pub text: String,
    pub spoiler_text: String,
    pub sensitive: Option<bool>,
    pub visibility: String,
    pub in_reply_to_id: Option<i64>,
    pub language: Option<String>,
    pub application_id: Option<i64>,
    pub poll: Option<PollInput>,
    pub idempotency: Option<String>,
    /// The status to quote.
    #[serde(default)]
    pub quoted_status_id: Option<i64>,
    /// Who may quote the status once published (`public`, `followers`, `nobody`).
    #[serde(default)]
    pub quote_approval_policy: Option<String>,
}

/// A scheduled status as its author sees it.
#[derive(Debug, Clone)]
pub struct ScheduledView {
    pub scheduled: ScheduledStatus,
    pub params: ScheduledParams,
}

fn view(scheduled: ScheduledStatus) -> Result<ScheduledView> {
    let params: ScheduledParams = serde_json::from_str(&scheduled.params)
        .map_err(|e| ServiceError::Internal(format!("unreadable scheduled status: {e}")))?;
    Ok(ScheduledView { scheduled, params })
}

fn day_of(at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = at
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
        .unwrap_or(at);
    (start, start + Duration::days(1))
}

/// Publishes a scheduled status when its time comes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishScheduledStatus {
    pub id: i64,
    /// The time it was queued for (seconds), so a new time queues a new job.
    pub at: i64,
}

impl JobKind for PublishScheduledStatus {
    const KIND: &'static str = "publish_scheduled_status";
    fn unique_key(&self) -> Option<String> {
        Some(format!("{}:{}", self.id, self.at))
    }
}

impl Job for PublishScheduledStatus {
    type Context = Services;

    async fn run(&self, services: &Services) -> Result<(), JobError> {
        Ok(services.publish_scheduled(self.id).await?)
    }
}

impl Services {
    /// Checks `at` against the offset and the limits (leaving `except` out of the counts).
    async fn check_schedule(
        &self,
        author: AccountId,
        at: DateTime<Utc>,
        except: Option<&ScheduledStatus>,
    ) -> Result<()> {
        let limits = &self.instance().limits;
        crate::time::check_time(at, "Scheduled at")?;
        if at <= ferrodon_storage::now() + Duration::seconds(limits.min_schedule_offset) {
            return Err(ServiceError::invalid(
                "Scheduled at The scheduled date must be in the future",
            ));
        }
        let (from, to) = day_of(at);
        let (mut total, mut that_day) = store::counts(self.db(), author, from, to).await?;
        if let Some(s) = except {
            total -= 1;
            if s.scheduled_at >= from && s.scheduled_at < to {
                that_day -= 1;
            }
        }
        if total >= limits.max_scheduled_total {
            return Err(ServiceError::invalid(format!(
                "You have exceeded the limit of {} scheduled posts",
                limits.max_scheduled_total
            )));
        }
        if that_day >= limits.max_scheduled_daily {
            return Err(ServiceError::invalid(format!(
                "You have exceeded the limit of {} scheduled posts for today",
                limits.max_scheduled_daily
            )));
        }
        Ok(())
    }

    /// `POST /api/v1/statuses` with `scheduled_at` in the future: checks the
    /// post as far as it can now, and keeps it for `at`.
    pub async fn schedule_post(
        &self,
        author: AccountId,
        input: NewPost,
        at: DateTime<Utc>,
    ) -> Result<ScheduledView> {
        self.check_schedule(author, at, None).await?;
        let db = self.db();
        let user = users::by_account(db, author)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        let text = input.text.unwrap_or_default().trim().to_owned();
        let spoiler_text = input.spoiler_text.unwrap_or_default().trim().to_owned();
        if text.is_empty() && input.quoted_status_id.is_none() {
            return Err(ServiceError::invalid("Text can't be blank"));
        }
        self.check_length(&text, &spoiler_text)?;
        if let Some(p) = &input.poll {
            crate::polls::validate(p, &self.instance().limits, at)?;
        }
        let mut visibility = match input.visibility.as_deref().filter(|v| !v.is_empty()) {
            Some(v) => v
                .parse::<Visibility>()
                .map_err(|_| ServiceError::invalid("Visibility is not included in the list"))?,
            None => user.default_privacy.parse().unwrap_or(Visibility::Public),
        };
        // The quote is checked now, and again when it is published.
        if let Some(id) = input.quoted_status_id {
            let quoted = self.quotable(author, id).await?;
            if quoted.visibility() == Visibility::Private && visibility.is_public_ish() {
                visibility = Visibility::Private;
            }
        }
        let quote_approval_policy = input
            .quote_approval_policy
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .unwrap_or(user.default_quote_policy);
        if crate::quote_policy::policy_bits(&quote_approval_policy).is_none() {
            return Err(crate::quote_policy::record_invalid());
        }
        if let Some(parent) = input.in_reply_to_id {
            let visible = match statuses::get(db, parent).await? {
                Some(p) => p.reblog_of_id.is_none() && self.can_see(Some(author), &p).await?,
                None => false,
            };
            if !visible {
                return Err(ServiceError::NotFound(
                    "The post you are trying to reply to does not appear to exist.",
                ));
            }
        }
        let params = ScheduledParams {
            text,
            spoiler_text,
            sensitive: input.sensitive,
            visibility: visibility.as_str().to_owned(),
            in_reply_to_id: input.in_reply_to_id.map(|s| s.0),
            language: input.language,
            application_id: input.application.map(|a| a.0),
            poll: input.poll,
            idempotency: input.idempotency_key,
            quoted_status_id: input.quoted_status_id.map(|s| s.0),
            quote_approval_policy: Some(quote_approval_policy),
        };
        let scheduled = ScheduledStatus {
            id: self.ids().next().0,
            account_id: author,
            scheduled_at: at,
            params: serde_json::to_string(&params)
                .map_err(|e| ServiceError::Internal(e.to_string()))?,
            created_at: ferrodon_storage::now(),
        };
        let mut tx = db.begin().await?;
        store::insert(&mut tx, &scheduled).await?;
        ferrodon_jobs::enqueue_at(
            &mut tx,
            self.ids(),
            &PublishScheduledStatus {
                id: scheduled.id,
                at: at.timestamp(),
            },
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(ScheduledView { scheduled, params })
    }

    /// `GET /api/v1/scheduled_statuses`.
    pub async fn scheduled_statuses(
        &self,
        viewer: AccountId,
        bounds: &PageBounds,
    ) -> Result<Page<ScheduledView>> {
        let rows = store::list(self.db(), viewer, bounds).await?;
        let page = Page::from_items(rows, |s| s.id);
        let items = page
            .items
            .into_iter()
            .map(view)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page {
            items,
            next_max_id: page.next_max_id,
            prev_min_id: page.prev_min_id,
        })
    }

    /// `GET /api/v1/scheduled_statuses/:id`.
    pub async fn scheduled_status(&self, viewer: AccountId, id: i64) -> Result<ScheduledView> {
        let s = store::get(self.db(), viewer, id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        view(s)
    }

    /// `PUT /api/v1/scheduled_statuses/:id`: a new time (same rules as scheduling).
    pub async fn reschedule(
        &self,
        viewer: AccountId,
        id: i64,
        at: Option<DateTime<Utc>>,
    ) -> Result<ScheduledView> {
        let current = store::get(self.db(), viewer, id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        let Some(at) = at else {
            return view(current);
        };
        self.check_schedule(viewer, at, Some(&current)).await?;
        let mut tx = self.db().begin().await?;
        store::reschedule(&mut tx, id, at).await?;
        ferrodon_jobs::enqueue_at(
            &mut tx,
            self.ids(),
            &PublishScheduledStatus {
                id,
                at: at.timestamp(),
            },
            at,
        )
        .await?;
        tx.commit().await?;
        self.scheduled_status(viewer, id).await
    }

    /// `DELETE /api/v1/scheduled_statuses/:id`.
    pub async fn cancel_scheduled(&self, viewer: AccountId, id: i64) -> Result<()> {
        store::get(self.db(), viewer, id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        store::delete(self.db(), id).await?;
        Ok(())
    }

    /// Publishes scheduled status `id` if its time has come (a job queued
    /// for an earlier time, before a reschedule, finds it later and leaves
    /// it). Publishing twice is prevented by an idempotency key per
    /// scheduled status.
    pub(crate) async fn publish_scheduled(&self, id: i64) -> Result<()> {
        let Some(scheduled) = store::get_any(self.db(), id).await? else {
            return Ok(());
        };
        if scheduled.scheduled_at > ferrodon_storage::now() + Duration::seconds(1) {
            return Ok(());
        }
        let author = scheduled.account_id;
        let v = view(scheduled)?;
        let p = v.params;
        let posted = self
            .post(
                author,
                NewPost {
                    text: Some(p.text),
                    spoiler_text: Some(p.spoiler_text),
                    sensitive: p.sensitive,
                    visibility: Some(p.visibility),
                    in_reply_to_id: p.in_reply_to_id.map(StatusId),
                    language: p.language,
                    idempotency_key: Some(format!("scheduled-{id}")),
                    application: p.application_id.map(AppId),
                    poll: p.poll,
                    media_ids: Vec::new(),
                    quoted_status_id: p.quoted_status_id.map(StatusId),
                    quote_approval_policy: p.quote_approval_policy,
                },
            )
            .await;
        match posted {
            Ok(_) => {}
            // What can no longer be posted (the replied-to status is gone,
            // the account was suspended…) is dropped, as Mastodon does.
            Err(e @ (ServiceError::NotFound(_) | ServiceError::Unprocessable { .. })) => {
                tracing::warn!(scheduled_status = id, error = %e, "a scheduled status cannot be published");
            }
            Err(e) => return Err(e),
        }
        store::delete(self.db(), id).await?;
        Ok(())
    }
}
