//! `Move`: an account moved to another. Verify: the moved object is the
//! actor itself, and the new account (fetched again from its own origin)
//! lists the old one in `alsoKnownAs` (checked by the service). Receive:
//! local followers of the old account follow the new one.

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
    if activity.object_id() != Some(actor.uri.as_str()) {
        return Err(refuse("a Move of someone else"));
    }
    let target = activity
        .target
        .as_ref()
        .and_then(|t| t.id())
        .ok_or_else(|| refuse("a Move without a target"))?;
    // The new account's own document decides, not the payload.
    let new = fed.fetch_actor(target).await?;
    fed.services().move_account(actor.id, new.id).await?;
    Ok(())
}
