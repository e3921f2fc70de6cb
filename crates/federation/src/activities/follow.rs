//! `Follow`: a remote account follows a local one. Verify: the object is a
//! local account. Receive: a follow (unlocked: accepted at once, the
//! service queues our `Accept`) or a follow request (locked: `Accept` or
//! `Reject` when the person decides).

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
    let target_uri = activity
        .object_id()
        .ok_or_else(|| refuse("a Follow without an object"))?;
    let Some(target) = fed.local_by_uri(target_uri).await? else {
        return Err(refuse(format!(
            "Follow of {target_uri}, not a local account"
        )));
    };
    let follow_uri = activity
        .id
        .clone()
        .ok_or_else(|| refuse("a Follow without an id"))?;
    fed.services()
        .remote_follow(actor.id, target.id, &follow_uri)
        .await?;
    Ok(())
}
