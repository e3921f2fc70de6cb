//! What a reader does to a status: favourites, reblogs, bookmarks, pins,
//! and the lists those make (favourites, bookmarks, who favourited or
//! reblogged). An interaction with a reblog is an interaction with its
//! original (as Mastodon's `Favourite` and `Bookmark` models resolve
//! `status.reblog`), allowed only when the reader may see both.

use ferrodon_model::{AccountId, Page, PageBounds, StatusId, Visibility};
use ferrodon_storage::accounts;
use ferrodon_storage::marks::{self, Mark};
use ferrodon_storage::statuses::{self, NewStatus, Status};
use ferrodon_storage::{StorageError, notifications, users};

use crate::jobs::{FanOutStatus, Notify};
use crate::views::StatusView;
use crate::visibility::Hide;
use crate::{Result, ServiceError, Services};

impl Services {
    /// The status an interaction with `id` acts on: the status itself, or
    /// the original of a reblog; 404 unless `viewer` may see both.
    pub(crate) async fn interaction_target(
        &self,
        viewer: AccountId,
        id: StatusId,
    ) -> Result<Status> {
        let status = self.visible_status(Some(viewer), id).await?;
        match status.reblog_of() {
            Some(original) => statuses::get(self.db(), original)
                .await?
                .ok_or_else(ServiceError::not_found),
            None => Ok(status),
        }
    }
}

impl Services {
    /// `POST /api/v1/statuses/:id/favourite` (idempotent).
    pub async fn favourite(&self, viewer: AccountId, id: StatusId) -> Result<StatusView> {
        let status = self.interaction_target(viewer, id).await?;
        if self.blocks(viewer, status.account_id).await? {
            return Err(ServiceError::not_allowed());
        }
        let mut tx = self.db().begin().await?;
        let favourite_id = self.ids().next().0;
        if marks::insert(&mut tx, Mark::Favourite, favourite_id, viewer, status.id).await? {
            statuses::adjust_counts(&mut tx, status.id, 0, 0, 1).await?;
            ferrodon_jobs::enqueue(
                &mut tx,
                self.ids(),
                &Notify {
                    recipient: status.account_id,
                    from: viewer,
                    kind: "favourite".into(),
                    activity_id: favourite_id,
                    status_id: Some(status.id),
                },
            )
            .await?;
            if self.is_remote(&mut tx, status.account_id).await? {
                let job = crate::federate::Federate::Favourite {
                    account_id: viewer,
                    status_id: status.id,
                };
                self.federate(&mut tx, &job).await?;
            }
        }
        tx.commit().await?;
        self.status(Some(viewer), id).await
    }

    /// `POST /api/v1/statuses/:id/unfavourite` (idempotent).
    pub async fn unfavourite(&self, viewer: AccountId, id: StatusId) -> Result<StatusView> {
        let status = self.interaction_target(viewer, id).await?;
        let mut tx = self.db().begin().await?;
        if let Some(favourite_id) =
            marks::delete(&mut tx, Mark::Favourite, viewer, status.id).await?
        {
            statuses::adjust_counts(&mut tx, status.id, 0, 0, -1).await?;
            notifications::delete_for_activity(&mut tx, "favourite", favourite_id).await?;
            if self.is_remote(&mut tx, status.account_id).await? {
                let job = crate::federate::Federate::UndoFavourite {
                    account_id: viewer,
                    status_id: status.id,
                };
                self.federate(&mut tx, &job).await?;
            }
        }
        tx.commit().await?;
        self.status(Some(viewer), id).await
    }

    /// `POST /api/v1/statuses/:id/reblog`: answers with the reblog (an
    /// existing one if the viewer already reblogged).
    pub async fn reblog(
        &self,
        viewer: AccountId,
        id: StatusId,
        visibility: Option<String>,
    ) -> Result<StatusView> {
        let original = self.interaction_target(viewer, id).await?;
        if self.blocks(viewer, original.account_id).await? {
            return Err(ServiceError::not_allowed());
        }
        let own = original.account_id == viewer;
        match original.visibility() {
            Visibility::Direct => return Err(ServiceError::not_allowed()),
            Visibility::Private if !own => return Err(ServiceError::not_allowed()),
            _ => {}
        }
        if let Some(existing) = statuses::find_reblog(self.db(), viewer, original.id).await? {
            return self.hydrate_one(Some(viewer), existing).await;
        }
        let account = self.account(viewer).await?;
        let user = users::by_account(self.db(), viewer)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        let visibility = if original.visibility() == Visibility::Private {
            Visibility::Private
        } else {
            match visibility.as_deref().filter(|v| !v.is_empty()) {
                Some(v) => match v.parse::<Visibility>() {
                    Ok(Visibility::Direct) | Err(_) => {
                        return Err(ServiceError::invalid(
                            "Visibility is not included in the list",
                        ));
                    }
                    Ok(v) => v,
                },
                None => match user.default_privacy.parse().unwrap_or(Visibility::Public) {
                    Visibility::Direct => Visibility::Private,
                    v => v,
                },
            }
        };
        let now = ferrodon_storage::now();
        let reblog_id = StatusId::from(self.ids().next());
        let i = self.instance();
        let new = NewStatus {
            id: reblog_id,
            uri: format!("{}/activity", i.status_uri(&account.username, reblog_id.0)),
            url: None,
            account_id: viewer,
            text: String::new(),
            content: String::new(),
            spoiler_text: String::new(),
            sensitive: false,
            visibility,
            language: None,
            in_reply_to_id: None,
            in_reply_to_account_id: None,
            reblog_of_id: Some(original.id),
            application_id: None,
            local: true,
            created_at: now,
            quote_approval_policy: 0,
        };
        let mut tx = self.db().begin().await?;
        match statuses::insert(&mut tx, &new).await {
            // A concurrent reblog by the same account won; answer with it.
            Err(StorageError::Conflict(_)) => {
                drop(tx);
                let existing = statuses::find_reblog(self.db(), viewer, original.id)
                    .await?
                    .ok_or_else(ServiceError::not_found)?;
                return self.hydrate_one(Some(viewer), existing).await;
            }
            other => other?,
        }
        statuses::adjust_counts(&mut tx, original.id, 0, 1, 0).await?;
        accounts::adjust_counts(&mut tx, viewer, 1, 0, 0).await?;
        accounts::set_last_status_at(&mut tx, viewer, now).await?;
        ferrodon_jobs::enqueue(
            &mut tx,
            self.ids(),
            &Notify {
                recipient: original.account_id,
                from: viewer,
                kind: "reblog".into(),
                activity_id: reblog_id.0,
                status_id: Some(original.id),
            },
        )
        .await?;
        ferrodon_jobs::enqueue(
            &mut tx,
            self.ids(),
            &FanOutStatus {
                status_id: reblog_id,
            },
        )
        .await?;
        self.federate_status(&mut tx, reblog_id, false).await?;
        tx.commit().await?;
        let stored = statuses::get(self.db(), reblog_id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        self.hydrate_one(Some(viewer), stored).await
    }

    /// `POST /api/v1/statuses/:id/unreblog`: answers with the original.
    pub async fn unreblog(&self, viewer: AccountId, id: StatusId) -> Result<StatusView> {
        let original = self.interaction_target(viewer, id).await?;
        if let Some(reblog) = statuses::find_reblog(self.db(), viewer, original.id).await? {
            self.remove_status(&reblog).await?;
        }
        self.status(Some(viewer), original.id).await
    }
}

/// Which accounts acted on a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acted {
    Favourited,
    Reblogged,
}

/// Pins an account may have at once (Mastodon's limit).
const MAX_PINS: i64 = 5;

impl Services {
    /// `POST /api/v1/statuses/:id/bookmark` (idempotent).
    pub async fn bookmark(&self, viewer: AccountId, id: StatusId) -> Result<StatusView> {
        let status = self.interaction_target(viewer, id).await?;
        marks::insert(
            self.db(),
            Mark::Bookmark,
            self.ids().next().0,
            viewer,
            status.id,
        )
        .await?;
        self.status(Some(viewer), id).await
    }

    /// `POST /api/v1/statuses/:id/unbookmark` (idempotent).
    pub async fn unbookmark(&self, viewer: AccountId, id: StatusId) -> Result<StatusView> {
        let status = self.interaction_target(viewer, id).await?;
        marks::delete(self.db(), Mark::Bookmark, viewer, status.id).await?;
        self.status(Some(viewer), id).await
    }

    /// `POST /api/v1/statuses/:id/pin`: own statuses, not reblogs or direct, five at most.
    pub async fn pin(&self, viewer: AccountId, id: StatusId) -> Result<StatusView> {
        let status = self.visible_status(Some(viewer), id).await?;
        if status.reblog_of_id.is_some() {
            return Err(ServiceError::invalid("Boosts cannot be pinned"));
        }
        if status.account_id != viewer {
            return Err(ServiceError::invalid(
                "Someone else's post cannot be pinned",
            ));
        }
        if status.visibility() == Visibility::Direct {
            return Err(ServiceError::invalid(
                "Posts that are only visible to mentioned users cannot be pinned",
            ));
        }
        let mut tx = self.db().begin().await?;
        let pinned = marks::among(&mut tx, Mark::Pin, viewer, &[status.id]).await?;
        if pinned.is_empty() {
            if marks::count(&mut tx, Mark::Pin, viewer).await? >= MAX_PINS {
                return Err(ServiceError::invalid(
                    "You have already pinned the maximum number of posts",
                ));
            }
            marks::insert(&mut tx, Mark::Pin, self.ids().next().0, viewer, status.id).await?;
            if ferrodon_storage::remote::has_remote_followers(&mut tx, viewer).await? {
                let job = crate::federate::Federate::Pin {
                    account_id: viewer,
                    status_id: status.id,
                };
                self.federate(&mut tx, &job).await?;
            }
        }
        tx.commit().await?;
        self.hydrate_one(Some(viewer), status).await
    }

    /// `POST /api/v1/statuses/:id/unpin`.
    pub async fn unpin(&self, viewer: AccountId, id: StatusId) -> Result<StatusView> {
        let status = self.visible_status(Some(viewer), id).await?;
        let mut tx = self.db().begin().await?;
        let was_pinned = marks::delete(&mut tx, Mark::Pin, viewer, status.id)
            .await?
            .is_some();
        if was_pinned && ferrodon_storage::remote::has_remote_followers(&mut tx, viewer).await? {
            let job = crate::federate::Federate::Unpin {
                account_id: viewer,
                status_id: status.id,
            };
            self.federate(&mut tx, &job).await?;
        }
        tx.commit().await?;
        self.hydrate_one(Some(viewer), status).await
    }

    /// `GET /api/v1/favourites`, `/api/v1/bookmarks` (and an account's pins):
    /// statuses `account` marked that `viewer` may see, newest mark first,
    /// with the mark ids as cursors.
    pub async fn marked_statuses(
        &self,
        viewer: Option<AccountId>,
        account: AccountId,
        mark: Mark,
        bounds: &PageBounds,
    ) -> Result<Page<StatusView>> {
        let rows = marks::statuses(self.db(), mark, account, bounds).await?;
        let newest = rows.first().map(|(m, _)| *m);
        let oldest = rows.last().map(|(m, _)| *m);
        let ids: Vec<StatusId> = rows.iter().map(|(_, s)| StatusId(*s)).collect();
        let views = self.hydrate_ids(viewer, &ids).await?;
        Ok(Page {
            items: self.visible(viewer, views, Hide::Nothing).await?,
            next_max_id: oldest,
            prev_min_id: newest,
        })
    }

    /// `GET /api/v1/statuses/:id/favourited_by` and `/reblogged_by`.
    pub async fn acted_on_by(
        &self,
        viewer: Option<AccountId>,
        id: StatusId,
        acted: Acted,
        bounds: &PageBounds,
    ) -> Result<Page<ferrodon_storage::accounts::Account>> {
        let status = self.visible_status(viewer, id).await?;
        let rows = match acted {
            Acted::Favourited => {
                marks::accounts(self.db(), Mark::Favourite, status.id, bounds).await?
            }
            Acted::Reblogged => marks::rebloggers(self.db(), status.id, bounds).await?,
        };
        Ok(Page::from_items(rows, |r| r.follow_id).map(|r| r.account))
    }
}
