//! `Update` of the actor itself (its profile, fetched again from its own
//! origin rather than trusted from the payload) or of one of its statuses
//! (an edit, with history; a poll's counts).

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
        .object()
        .ok_or_else(|| refuse("an Update without an object"))?;
    let id = object.id().ok_or_else(|| refuse("an Update of nothing"))?;
    if !same_origin(id, actor) {
        return Err(refuse(format!("{} may not update {id}", actor.uri)));
    }
    if id == actor.uri {
        fed.fetch_actor(&actor.uri).await?;
        return Ok(());
    }
    let Some(note) = object.as_object() else {
        return Err(refuse("an Update of something that is not an object"));
    };
    let remote = super::note_to_remote(fed, actor, note).await?;
    fed.services().update_remote_status(&remote).await?;
    Ok(())
}
