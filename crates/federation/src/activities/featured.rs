//! `Add` and `Remove` of a status on the actor's featured collection (its
//! pinned statuses, as Mastodon sends them). Verify: the target is the
//! actor's own `featured` collection and the status is the actor's (an
//! unknown one is fetched from its origin, which checks its author).
//! Receive: the pin is recorded or dropped. Other targets (featured tags,
//! collections this server does not keep) are dropped with a logged reason.

use ferrodon_storage::accounts::Account;

use super::{refuse, same_origin};
use crate::Federation;
use crate::error::FedResult;
use crate::wire::Activity;

pub(super) async fn receive(
    fed: &Federation,
    actor: &Account,
    activity: &Activity,
    add: bool,
) -> FedResult<()> {
    let target = activity
        .target
        .as_ref()
        .and_then(|t| t.id())
        .ok_or_else(|| refuse("an Add/Remove without a target"))?;
    if actor.featured_url.as_deref() != Some(target) {
        tracing::info!(target, actor = %actor.uri, "Add/Remove on a collection not kept here; dropped");
        return Ok(());
    }
    let object = activity
        .object_id()
        .ok_or_else(|| refuse("an Add/Remove without an object"))?;
    if !same_origin(object, actor) {
        return Err(refuse(format!("{object} is not on {}'s host", actor.uri)));
    }
    let known = fed.status_by_uri(object).await?;
    let services = fed.services();
    if !add {
        if let Some(status) = known {
            services.remote_unpin(actor.id, status).await?;
        }
        return Ok(());
    }
    let status = match known {
        Some(status) => status,
        None => match fed.fetch_status(object).await? {
            Some(status) => status,
            None => return Err(refuse(format!("{object} is gone"))),
        },
    };
    services.remote_pin(actor.id, status).await?;
    Ok(())
}
