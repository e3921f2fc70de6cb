//! Threads and direct-message conversations: muting a thread's
//! notifications, and the conversation list each participant of a direct
//! message sees.

use std::collections::HashMap;

use ferrodon_model::{AccountId, Page, PageBounds, StatusId, Visibility};
use ferrodon_storage::accounts::{self, Account};
use ferrodon_storage::conversations::{self, AccountConversation};
use ferrodon_storage::statuses::{self, Status};

use crate::views::StatusView;
use crate::visibility::Hide;
use crate::{Result, ServiceError, Services};

/// A direct-message conversation as its owner sees it.
#[derive(Debug, Clone)]
pub struct ConversationView {
    pub id: i64,
    pub unread: bool,
    /// The other participants.
    pub accounts: Vec<Account>,
    pub last_status: Option<StatusView>,
}

impl Services {
    /// `POST /api/v1/statuses/:id/mute` and `/unmute`: no more notifications
    /// from the status's thread (for any status the viewer can see).
    async fn mute_thread(
        &self,
        viewer: AccountId,
        id: StatusId,
        muted: bool,
    ) -> Result<StatusView> {
        let status = self.visible_status(Some(viewer), id).await?;
        let thread = conversations::conversation_of(self.db(), status.id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        conversations::set_muted(self.db(), viewer, thread, muted).await?;
        self.hydrate_one(Some(viewer), status).await
    }

    /// `POST /api/v1/statuses/:id/mute`.
    pub async fn mute_conversation(&self, viewer: AccountId, id: StatusId) -> Result<StatusView> {
        self.mute_thread(viewer, id, true).await
    }

    /// `POST /api/v1/statuses/:id/unmute`.
    pub async fn unmute_conversation(&self, viewer: AccountId, id: StatusId) -> Result<StatusView> {
        self.mute_thread(viewer, id, false).await
    }

    /// Whether `account` muted the thread of `status`.
    pub(crate) async fn thread_muted(&self, account: AccountId, status: StatusId) -> Result<bool> {
        Ok(!conversations::muted_among(self.db(), account, &[status])
            .await?
            .is_empty())
    }

    /// Files a new direct status in the conversations of its local
    /// participants (unread for everyone but the author).
    pub(crate) async fn record_direct(&self, status: &Status) -> Result<()> {
        if status.visibility() != Visibility::Direct || status.reblog_of_id.is_some() {
            return Ok(());
        }
        let db = self.db();
        let thread = conversations::conversation_of(db, status.id)
            .await?
            .unwrap_or(status.id.0);
        let mut everyone: Vec<AccountId> = statuses::mentions_of(db, &[status.id])
            .await?
            .into_iter()
            .map(|(_, a)| AccountId(a))
            .collect();
        everyone.push(status.account_id);
        everyone.sort_unstable_by_key(|a| a.0);
        everyone.dedup();
        let locals: Vec<AccountId> = accounts::get_many(db, &everyone)
            .await?
            .into_iter()
            .filter(|a| a.is_local())
            .map(|a| a.id)
            .collect();
        for owner in locals {
            let others: Vec<AccountId> = everyone.iter().copied().filter(|a| *a != owner).collect();
            conversations::add_status(
                db,
                self.ids().next().0,
                owner,
                thread,
                &others,
                status.id,
                owner != status.account_id,
            )
            .await?;
        }
        Ok(())
    }

    async fn conversation_views(
        &self,
        viewer: AccountId,
        rows: Vec<AccountConversation>,
    ) -> Result<Vec<ConversationView>> {
        let db = self.db();
        let status_ids: Vec<StatusId> = rows.iter().map(|r| StatusId(r.last_status_id)).collect();
        let views = self.hydrate_ids(Some(viewer), &status_ids).await?;
        let statuses: HashMap<StatusId, StatusView> = self
            .visible(Some(viewer), views, Hide::Nothing)
            .await?
            .into_iter()
            .map(|v| (v.status.id, v))
            .collect();
        let mut ids: Vec<AccountId> = rows.iter().flat_map(|r| r.participants()).collect();
        ids.sort_unstable_by_key(|a| a.0);
        ids.dedup();
        let people: HashMap<AccountId, Account> = accounts::get_many(db, &ids)
            .await?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
        // A conversation whose last status the owner may no longer see (its
        // author suspended or blocking them) is left out until a newer one
        // arrives: showing it would show the hidden status.
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let last_status = statuses.get(&StatusId(r.last_status_id))?.clone();
                Some(ConversationView {
                    id: r.id,
                    unread: r.unread,
                    accounts: r
                        .participants()
                        .iter()
                        .filter_map(|p| people.get(p))
                        .filter(|a| a.suspended_at.is_none())
                        .cloned()
                        .collect(),
                    last_status: Some(last_status),
                })
            })
            .collect())
    }

    /// `GET /api/v1/conversations`: most recent first, paged by the last status id.
    pub async fn conversations(
        &self,
        viewer: AccountId,
        bounds: &PageBounds,
    ) -> Result<Page<ConversationView>> {
        let rows = conversations::list(self.db(), viewer, bounds).await?;
        let page = Page::from_items(rows, |r| r.last_status_id);
        let views = self.conversation_views(viewer, page.items).await?;
        Ok(Page {
            items: views,
            next_max_id: page.next_max_id,
            prev_min_id: page.prev_min_id,
        })
    }

    /// `POST /api/v1/conversations/:id/read`.
    pub async fn read_conversation(&self, viewer: AccountId, id: i64) -> Result<ConversationView> {
        if !conversations::mark_read(self.db(), viewer, id).await? {
            return Err(ServiceError::not_found());
        }
        let row = conversations::get(self.db(), viewer, id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        self.conversation_views(viewer, vec![row])
            .await?
            .pop()
            .ok_or_else(ServiceError::not_found)
    }

    /// `DELETE /api/v1/conversations/:id`: hides it until the next message.
    pub async fn delete_conversation(&self, viewer: AccountId, id: i64) -> Result<()> {
        if !conversations::delete(self.db(), viewer, id).await? {
            return Err(ServiceError::not_found());
        }
        Ok(())
    }
}
