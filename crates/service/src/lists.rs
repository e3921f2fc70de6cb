//! Lists: named sets of followed accounts with their own timelines.
//!
//! A list's timeline is read by query from its members' statuses (see
//! `storage::lists::timeline`), not kept by fan-out. Exclusive lists keep
//! their members out of the owner's home: fan-out skips the owner, the
//! database rebuild leaves them out, and the home timeline filters them
//! again when read (so it holds on every feed store, whatever a feed holds).

use std::collections::HashSet;

use ferrodon_model::{AccountId, Page, PageBounds, StatusId};
use ferrodon_storage::accounts::{self, Account};
use ferrodon_storage::follows;
use ferrodon_storage::lists::{self, List, RepliesPolicy};

use crate::jobs::MergeIntoHome;
use crate::views::StatusView;
use crate::visibility::Hide;
use crate::{Result, ServiceError, Services};

/// Most lists one account may have (Mastodon's `List::PER_ACCOUNT_LIMIT`).
pub const LISTS_PER_ACCOUNT_LIMIT: i64 = 50;
/// Longest list title, in characters.
pub const TITLE_MAX_CHARS: usize = 256;

/// What `POST /api/v1/lists` and `PUT /api/v1/lists/:id` may set; `None`
/// leaves a value as it is (or at its default when creating).
#[derive(Debug, Clone, Default)]
pub struct ListInput {
    pub title: Option<String>,
    pub replies_policy: Option<String>,
    pub exclusive: Option<bool>,
}

fn check_title(title: &str) -> Result<()> {
    if title.trim().is_empty() {
        return Err(ServiceError::invalid("Title can't be blank"));
    }
    if title.chars().count() > TITLE_MAX_CHARS {
        return Err(ServiceError::invalid(format!(
            "Title is too long (maximum is {TITLE_MAX_CHARS} characters)"
        )));
    }
    Ok(())
}

fn parse_policy(raw: &str) -> Result<RepliesPolicy> {
    RepliesPolicy::parse(raw)
        .ok_or_else(|| ServiceError::invalid("Replies policy is not included in the list"))
}

impl Services {
    /// `GET /api/v1/lists`: the viewer's lists, oldest first.
    pub async fn lists(&self, viewer: AccountId) -> Result<Vec<List>> {
        Ok(lists::of_owner(self.db(), viewer).await?)
    }

    /// `GET /api/v1/lists/:id`: another account's list is not found.
    pub async fn list(&self, viewer: AccountId, id: i64) -> Result<List> {
        lists::get(self.db(), viewer, id)
            .await?
            .ok_or_else(ServiceError::not_found)
    }

    /// `POST /api/v1/lists`.
    pub async fn create_list(&self, viewer: AccountId, input: ListInput) -> Result<List> {
        let title = input.title.unwrap_or_default();
        check_title(&title)?;
        let policy = match input.replies_policy.as_deref() {
            Some(raw) => parse_policy(raw)?,
            None => RepliesPolicy::List,
        };
        if lists::count_of_owner(self.db(), viewer).await? >= LISTS_PER_ACCOUNT_LIMIT {
            return Err(ServiceError::invalid(
                "You have reached the maximum number of lists",
            ));
        }
        let list = List::new(
            self.ids().next().0,
            viewer,
            title,
            policy,
            input.exclusive.unwrap_or(false),
        );
        lists::insert(self.db(), &list).await?;
        Ok(list)
    }

    /// `PUT /api/v1/lists/:id`. A list that stops being exclusive gives its
    /// members' statuses back to the owner's home.
    pub async fn update_list(&self, viewer: AccountId, id: i64, input: ListInput) -> Result<List> {
        let mut list = self.list(viewer, id).await?;
        let was_exclusive = list.exclusive;
        if let Some(title) = input.title {
            check_title(&title)?;
            list.title = title;
        }
        if let Some(raw) = input.replies_policy.as_deref() {
            list.set_replies_policy(parse_policy(raw)?);
        }
        if let Some(exclusive) = input.exclusive {
            list.exclusive = exclusive;
        }
        let mut tx = self.db().begin().await?;
        lists::update(&mut tx, &list).await?;
        if was_exclusive && !list.exclusive {
            let members: Vec<AccountId> = lists::member_ids(&mut tx, list.id)
                .await?
                .into_iter()
                .map(AccountId)
                .collect();
            self.restore_home(&mut tx, viewer, &members).await?;
        }
        tx.commit().await?;
        Ok(list)
    }

    /// `DELETE /api/v1/lists/:id`: its memberships go with it.
    pub async fn delete_list(&self, viewer: AccountId, id: i64) -> Result<()> {
        let list = self.list(viewer, id).await?;
        let mut tx = self.db().begin().await?;
        let members: Vec<AccountId> = if list.exclusive {
            lists::member_ids(&mut tx, list.id)
                .await?
                .into_iter()
                .map(AccountId)
                .collect()
        } else {
            Vec::new()
        };
        if !lists::delete(&mut tx, viewer, id).await? {
            return Err(ServiceError::not_found());
        }
        self.restore_home(&mut tx, viewer, &members).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `GET /api/v1/lists/:id/accounts`: members (not suspended), paged by
    /// account id; `None` bounds (`limit=0`) gives all of them.
    pub async fn list_members(
        &self,
        viewer: AccountId,
        id: i64,
        bounds: Option<&PageBounds>,
    ) -> Result<Page<Account>> {
        let list = self.list(viewer, id).await?;
        let rows = lists::members(self.db(), list.id, bounds).await?;
        Ok(Page::from_items(rows, |a| a.id.0))
    }

    /// `POST /api/v1/lists/:id/accounts`: all or nothing. Unknown accounts
    /// are 404; each must be followed by the owner and not on the list yet.
    pub async fn add_to_list(
        &self,
        viewer: AccountId,
        id: i64,
        accounts: &[AccountId],
    ) -> Result<()> {
        let list = self.list(viewer, id).await?;
        let mut wanted: Vec<AccountId> = Vec::new();
        for a in accounts {
            if !wanted.contains(a) {
                wanted.push(*a);
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let db = self.db();
        if accounts::get_many(db, &wanted).await?.len() != wanted.len() {
            return Err(ServiceError::not_found());
        }
        let followed: HashSet<AccountId> =
            follows::between(db, follows::Kind::Follow, viewer, &wanted)
                .await?
                .into_iter()
                .filter(|f| f.account_id == viewer)
                .map(|f| f.target_account_id)
                .collect();
        if wanted.iter().any(|a| !followed.contains(a)) {
            return Err(ServiceError::invalid("Account must be a followed account"));
        }
        if !lists::members_among(db, list.id, &wanted).await?.is_empty() {
            return Err(ServiceError::invalid("Account is already on the list"));
        }
        let mut tx = db.begin().await?;
        for a in &wanted {
            lists::add_member(&mut tx, list.id, *a).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `DELETE /api/v1/lists/:id/accounts`: accounts not on the list are
    /// ignored. Leaving an exclusive list gives an account's statuses back
    /// to the owner's home.
    pub async fn remove_from_list(
        &self,
        viewer: AccountId,
        id: i64,
        accounts: &[AccountId],
    ) -> Result<()> {
        let list = self.list(viewer, id).await?;
        let mut tx = self.db().begin().await?;
        let removed: Vec<AccountId> = lists::remove_members(&mut tx, list.id, accounts)
            .await?
            .into_iter()
            .map(AccountId)
            .collect();
        if list.exclusive {
            self.restore_home(&mut tx, viewer, &removed).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `GET /api/v1/accounts/:id/lists`: the viewer's lists containing the account.
    pub async fn lists_with_account(
        &self,
        viewer: AccountId,
        account: AccountId,
    ) -> Result<Vec<List>> {
        let target = self.account(account).await?;
        if target.suspended_at.is_some() {
            return Ok(Vec::new());
        }
        Ok(lists::containing(self.db(), viewer, account).await?)
    }

    /// `GET /api/v1/timelines/list/:list_id`: members' statuses the owner
    /// may see, without suspended authors or those the owner hides.
    pub async fn list_timeline(
        &self,
        viewer: AccountId,
        id: i64,
        bounds: &PageBounds,
    ) -> Result<Vec<StatusView>> {
        let list = self.list(viewer, id).await?;
        let ids: Vec<StatusId> = lists::timeline(self.db(), &list, bounds)
            .await?
            .into_iter()
            .map(StatusId)
            .collect();
        let views = self.hydrate_ids(Some(viewer), &ids).await?;
        self.visible(Some(viewer), views, Hide::HiddenAuthors).await
    }

    /// Leaves out statuses (and reblogs) by members of `owner`'s exclusive
    /// lists, for the owner's home timeline.
    pub(crate) async fn drop_exclusive(
        &self,
        owner: AccountId,
        views: Vec<StatusView>,
    ) -> Result<Vec<StatusView>> {
        let authors: Vec<AccountId> = views
            .iter()
            .map(|v| v.account.id)
            .filter(|a| *a != owner)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let excluded: HashSet<i64> = lists::exclusive_among(self.db(), owner, &authors)
            .await?
            .into_iter()
            .collect();
        if excluded.is_empty() {
            return Ok(views);
        }
        Ok(views
            .into_iter()
            .filter(|v| !excluded.contains(&v.account.id.0))
            .collect())
    }

    /// Members no longer on an exclusive list: their recent statuses join
    /// the owner's home again (a job per account; it checks the follow).
    async fn restore_home(
        &self,
        tx: &mut ferrodon_storage::Tx,
        owner: AccountId,
        members: &[AccountId],
    ) -> Result<()> {
        for member in members {
            ferrodon_jobs::enqueue(
                &mut *tx,
                self.ids(),
                &MergeIntoHome {
                    account_id: owner,
                    target_account_id: *member,
                },
            )
            .await?;
        }
        Ok(())
    }
}
