//! `Delete` of a status (its id, a `Tombstone`, or the object) or of the
//! actor itself. Verify: what is deleted is on the actor's host and, for a
//! status, the actor's own. Receive: removed as a local deletion is; a
//! Delete that arrives before its Create leaves a tombstone, so the Create
//! that follows is ignored.

use ferrodon_storage::accounts::Account;

use super::{refuse, same_origin};
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
        .ok_or_else(|| refuse("a Delete without an object"))?;
    if !same_origin(object, actor) {
        return Err(refuse(format!("{} may not delete {object}", actor.uri)));
    }
    if object == actor.uri {
        fed.services().delete_remote_account(actor.id).await?;
        return Ok(());
    }
    fed.services()
        .delete_remote_status(object, actor.id)
        .await?;
    Ok(())
}
