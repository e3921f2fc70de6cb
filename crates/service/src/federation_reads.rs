//! What federation reads of local state: a status as its author sees it
//! (to serialise), the inboxes of an account's remote followers, the
//! delivery report, and lookups by ActivityPub id. Kept apart from
//! `federate` (the job kinds), which the write paths import, so no module
//! import cycle forms.

use ferrodon_model::{AccountId, StatusId};

impl crate::Services {
    /// A status as its author sees it (any visibility), for federation to
    /// serialise; `None` when it is gone.
    pub async fn status_for_federation(
        &self,
        id: StatusId,
    ) -> crate::Result<Option<crate::views::StatusView>> {
        let Some(status) = ferrodon_storage::statuses::get(self.db(), id).await? else {
            return Ok(None);
        };
        let author = status.account_id;
        Ok(Some(self.hydrate_one(Some(author), status).await?))
    }

    /// The inboxes of an account's remote followers (shared ones where known).
    pub async fn follower_inboxes(&self, account: AccountId) -> crate::Result<Vec<String>> {
        Ok(ferrodon_storage::deliveries::follower_inboxes(self.db(), account).await?)
    }

    /// What was delivered of the activities about a status, per inbox.
    pub async fn deliveries_of(
        &self,
        status: StatusId,
    ) -> crate::Result<Vec<ferrodon_storage::deliveries::Delivery>> {
        Ok(ferrodon_storage::deliveries::for_status(self.db(), status.0).await?)
    }

    /// The status (local or remote) with this ActivityPub id.
    pub async fn status_id_by_uri(&self, uri: &str) -> crate::Result<Option<StatusId>> {
        Ok(ferrodon_storage::remote::status_id_by_uri(self.db(), uri).await?)
    }

    /// `(follower, target)` of the follow request or follow whose `Follow`
    /// activity had this id.
    pub async fn follow_request_by_uri(
        &self,
        uri: &str,
    ) -> crate::Result<Option<(AccountId, AccountId)>> {
        Ok(ferrodon_storage::deliveries::follow_by_uri(self.db(), uri)
            .await?
            .map(|(a, b)| (AccountId(a), AccountId(b))))
    }
}
