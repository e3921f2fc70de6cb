//! `Announce` (a boost). Verify: the announce's id is the actor's (checked
//! by the dispatcher) and the boosted status is known here or fetched from
//! its own origin. Receive: a reblog by the actor, fanned out as a local
//! one, once per announce id.

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
    let announce_uri = activity
        .id
        .clone()
        .ok_or_else(|| refuse("an Announce without an id"))?;
    let object = activity
        .object_id()
        .ok_or_else(|| refuse("an Announce without an object"))?;
    // Embedded objects are not trusted: the status is looked up or fetched
    // from its own origin.
    let original = match fed.status_by_uri(object).await? {
        Some(id) => id,
        None => match fed.fetch_status(object).await? {
            Some(id) => id,
            None => return Ok(()),
        },
    };
    fed.services()
        .remote_reblog(
            actor.id,
            original,
            &announce_uri,
            activity.published.unwrap_or_else(ferrodon_storage::now),
        )
        .await?;
    Ok(())
}
