//! `Flag`: a report from another server about local accounts and their
//! statuses. Verify: only local accounts and local statuses of those
//! accounts are taken from the objects (the rest is ignored). Receive: a
//! report, as one filed here, with the comment as plain text; dropped when
//! a domain block of the sender's domain rejects its reports.

use ferrodon_storage::accounts::Account;

use super::refuse;
use crate::error::FedResult;
use crate::wire::Activity;
use crate::{Federation, sanitize};

pub(super) async fn receive(
    fed: &Federation,
    actor: &Account,
    activity: &Activity,
) -> FedResult<()> {
    if let Some(domain) = actor.domain.as_deref()
        && fed.services().reports_rejected(domain).await?
    {
        return Err(refuse(format!("reports from {domain} are rejected")));
    }
    let mut targets = Vec::new();
    let mut statuses = Vec::new();
    for item in &activity.object {
        let Some(id) = item.id() else { continue };
        if let Some(local) = fed.local_by_uri(id).await? {
            targets.push(local.id);
        } else if let Some(status) = fed.status_by_uri(id).await? {
            statuses.push(status);
        }
    }
    targets.sort_unstable_by_key(|a| a.0);
    targets.dedup();
    if targets.is_empty() {
        return Err(refuse("a Flag of no local account"));
    }
    let comment: String = sanitize::plain_text(activity.content.as_deref().unwrap_or(""))
        .chars()
        .take(1000)
        .collect();
    fed.services()
        .remote_report(actor.id, &targets, &statuses, &comment)
        .await?;
    Ok(())
}
