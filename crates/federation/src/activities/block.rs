//! `Block` of a local account. Verify: the object is a local account.
//! Receive: the block is recorded and follows end both ways, as a local
//! block does (Mastodon does the same; the blocked user is not notified).

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
        .ok_or_else(|| refuse("a Block without an object"))?;
    let Some(local) = fed.local_by_uri(object).await? else {
        tracing::info!(object, actor = %actor.uri, "Block of an account not local here; dropped");
        return Ok(());
    };
    fed.services().remote_block(actor.id, local.id).await?;
    Ok(())
}
