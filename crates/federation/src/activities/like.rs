//! `Like` of a local status (remote statuses' favourites are not tracked,
//! as in Mastodon). Verify: the status exists here and the actor may see
//! it. Receive: a favourite (and its notification), once per actor.

use ferrodon_storage::accounts::Account;

use super::refuse;
use crate::Federation;
use crate::error::FedResult;
use crate::wire::Activity;

pub(super) async fn receive(
    fed: &Federation,
    actor: &Account,
    activity: &Activity,
) -> FedResult<()> {
    let object = activity
        .object_id()
        .ok_or_else(|| refuse("a Like without an object"))?;
    let Some(status) = fed.status_by_uri(object).await? else {
        tracing::info!(object, actor = %actor.uri, "Like of an unknown status; dropped");
        return Ok(());
    };
    let like_uri = activity.id.clone().unwrap_or_default();
    fed.services()
        .remote_favourite(actor.id, status, &like_uri)
        .await?;
    Ok(())
}
