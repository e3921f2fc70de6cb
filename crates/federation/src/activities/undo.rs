//! `Undo` of a `Follow`, `Like`, `Announce` or `Block`. Verify: the undone
//! activity is the actor's own (embedded with the same actor, or by an id
//! on the actor's host). Receive: the effect is removed (a no-op when it is
//! already gone).

use ferrodon_storage::accounts::Account;

use super::{refuse, same_origin};
use crate::Federation;
use crate::error::FedResult;
use crate::wire::{Activity, ActivityType};

pub(super) async fn receive(
    fed: &Federation,
    actor: &Account,
    activity: &Activity,
) -> FedResult<()> {
    let object = activity
        .object()
        .ok_or_else(|| refuse("an Undo without an object"))?;
    let services = fed.services();
    let Some(inner) = object.as_activity() else {
        // Only an id (bovine sends follows' Undos so): a Follow or an
        // Announce we stored by its id can still be undone, as Mastodon
        // looks both up by their uri.
        let id = object.id().ok_or_else(|| refuse("an Undo of nothing"))?;
        if !same_origin(id, actor) {
            return Err(refuse("an Undo of another server's activity"));
        }
        if let Some((follower, target)) = services.follow_request_by_uri(id).await? {
            if follower != actor.id {
                return Err(refuse("an Undo of someone else's Follow"));
            }
            services.undo_remote_follow(actor.id, target).await?;
            return Ok(());
        }
        services.undo_remote_reblog(id, actor.id).await?;
        return Ok(());
    };
    if inner.actor_id() != Some(actor.uri.as_str()) {
        return Err(refuse("an Undo of someone else's activity"));
    }
    match &inner.kind {
        ActivityType::Follow => {
            let target = inner
                .object_id()
                .ok_or_else(|| refuse("Undo(Follow) of nothing"))?;
            if let Some(local) = fed.local_by_uri(target).await? {
                services.undo_remote_follow(actor.id, local.id).await?;
            }
        }
        ActivityType::Like => {
            let status = inner
                .object_id()
                .ok_or_else(|| refuse("Undo(Like) of nothing"))?;
            if let Some(id) = fed.status_by_uri(status).await? {
                services.undo_remote_favourite(actor.id, id).await?;
            }
        }
        ActivityType::Announce => {
            let id = inner
                .id
                .as_deref()
                .ok_or_else(|| refuse("Undo(Announce) without an id"))?;
            services.undo_remote_reblog(id, actor.id).await?;
        }
        ActivityType::Block => {
            let target = inner
                .object_id()
                .ok_or_else(|| refuse("Undo(Block) of nothing"))?;
            if let Some(local) = fed.local_by_uri(target).await? {
                services.undo_remote_block(actor.id, local.id).await?;
            }
        }
        other => {
            tracing::info!(kind = ?other, actor = %actor.uri, "Undo of an activity kind not handled; dropped");
        }
    }
    Ok(())
}
