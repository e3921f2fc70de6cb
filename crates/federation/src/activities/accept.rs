//! `Accept` / `Reject` of a `Follow` we sent. Verify: the Follow (by id, or
//! embedded) is one of ours, from a local account to this actor. Receive:
//! the pending request becomes a follow, or is dropped (a `Reject` of an
//! accepted follow ends it, as Mastodon does).

use ferrodon_storage::accounts::Account;

use super::refuse;
use crate::Federation;
use crate::error::FedResult;
use crate::wire::Activity;

pub(super) async fn receive(
    fed: &Federation,
    actor: &Account,
    activity: &Activity,
    accepted: bool,
) -> FedResult<()> {
    let object = activity
        .object()
        .ok_or_else(|| refuse("an Accept without an object"))?;
    // The local follower: from the embedded Follow's actor, or from the
    // Follow's id (`<base>/…` that we made).
    let follow_uri = object.id().map(str::to_owned);
    let follower = match object.as_activity() {
        Some(follow) => {
            if follow.object_id() != Some(actor.uri.as_str()) {
                return Err(refuse("an Accept of a Follow of someone else"));
            }
            let uri = follow
                .actor_id()
                .ok_or_else(|| refuse("an embedded Follow without an actor"))?;
            fed.local_by_uri(uri).await?
        }
        None => None,
    };
    let services = fed.services();
    let follower = match follower {
        Some(f) => f.id,
        None => {
            let uri = follow_uri
                .as_deref()
                .ok_or_else(|| refuse("an Accept of nothing we know"))?;
            services
                .follow_request_by_uri(uri)
                .await?
                .filter(|(_, target)| *target == actor.id)
                .map(|(follower, _)| follower)
                .ok_or_else(|| refuse(format!("no follow request {uri} to {}", actor.uri)))?
        }
    };
    if accepted {
        services
            .follow_accepted(follower, actor.id, follow_uri.as_deref())
            .await?;
    } else {
        services.follow_rejected(follower, actor.id).await?;
    }
    Ok(())
}
