//! Inbound activities: one file per kind, each a *verify* step (origin,
//! authority: may this actor do this to this object?) kept apart from a
//! *receive* step (plain calls into `service::remote`). The inbox checked
//! the signature and that the signer is the actor; [`Federation::ingest`]
//! runs on the `ingress` queue and dispatches by type. Every receive step
//! is idempotent (the service layer keys its effects on activity and
//! object ids), so a redelivered or replayed activity has one effect.
//!
//! Activities refused here are dropped with a logged reason (the sender got
//! its 202 before processing; the reason is for operators).

mod accept;
mod announce;
mod block;
mod create;
mod delete;
mod featured;
mod flag;
mod follow;
mod like;
mod moved;
mod quote_request;
mod undo;
mod update;

use ferrodon_fetch::{Url, host};
use ferrodon_storage::accounts::Account;

use crate::error::{FedResult, FederationError};
use crate::inbox::Ingest;
use crate::{Federation, wire};

pub(crate) use create::note_to_remote;

/// Why an activity was not acted on.
fn refuse(reason: impl Into<String>) -> FederationError {
    FederationError::Forbidden(reason.into())
}

/// Whether `uri` is on the same host as `account` (its actor URI).
pub(crate) fn same_origin(uri: &str, account: &Account) -> bool {
    match (Url::parse(uri), Url::parse(&account.uri)) {
        (Ok(a), Ok(b)) => host::same_url_host(&a, &b),
        _ => false,
    }
}

impl Federation {
    /// Runs a verified activity (the `Ingest` job).
    pub async fn ingest(&self, job: &Ingest) -> FedResult<()> {
        let activity = wire::parse_activity(job.body.as_bytes())
            .map_err(|e| FederationError::BadRequest(e.to_string()))?;
        let actor = self.services().account(job.signer).await?;
        if actor.suspended_at.is_some() {
            return Err(refuse("the actor is suspended here"));
        }
        // The activity's own id, when it has one, is the actor's.
        if let Some(id) = activity.id.as_deref()
            && !same_origin(id, &actor)
        {
            return Err(refuse(format!(
                "activity {id} is not on {}'s host",
                actor.uri
            )));
        }
        use wire::ActivityType as T;
        match &activity.kind {
            T::Follow => follow::receive(self, &actor, &activity).await,
            T::Accept => accept::receive(self, &actor, &activity, true).await,
            T::Reject => accept::receive(self, &actor, &activity, false).await,
            T::Undo => undo::receive(self, &actor, &activity).await,
            T::Create => create::receive(self, &actor, &activity).await,
            T::Update => update::receive(self, &actor, &activity).await,
            T::Delete => delete::receive(self, &actor, &activity).await,
            T::Like => like::receive(self, &actor, &activity).await,
            T::Announce => announce::receive(self, &actor, &activity).await,
            T::Block => block::receive(self, &actor, &activity).await,
            T::Add => featured::receive(self, &actor, &activity, true).await,
            T::Remove => featured::receive(self, &actor, &activity, false).await,
            T::Move => moved::receive(self, &actor, &activity).await,
            T::Flag => flag::receive(self, &actor, &activity).await,
            T::QuoteRequest => quote_request::receive(self, &actor, &activity).await,
            other => {
                tracing::info!(kind = ?other, actor = %actor.uri, "activity kind not handled; dropped");
                Ok(())
            }
        }
    }

    /// A local account named by its ActivityPub id (`<base>/users/name`).
    pub(crate) async fn local_by_uri(&self, uri: &str) -> FedResult<Option<Account>> {
        let prefix = format!("{}/users/", self.services().instance().base_url);
        let Some(name) = uri.strip_prefix(&prefix) else {
            return Ok(None);
        };
        if name.is_empty() || name.contains('/') {
            return Ok(None);
        }
        match self.services().local_account(name).await {
            Ok(a) => Ok(Some(a)),
            Err(ferrodon_service::ServiceError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A status (local or remote) named by its ActivityPub id.
    /// A local status by its ActivityPub id.
    pub(crate) async fn local_status_by_uri(
        &self,
        uri: &str,
    ) -> FedResult<Option<ferrodon_model::StatusId>> {
        let Some(id) = self.status_by_uri(uri).await? else {
            return Ok(None);
        };
        Ok(self
            .services()
            .status_for_federation(id)
            .await?
            .filter(|v| v.status.local && v.status.reblog_of_id.is_none())
            .map(|v| v.status.id))
    }

    pub(crate) async fn status_by_uri(
        &self,
        uri: &str,
    ) -> FedResult<Option<ferrodon_model::StatusId>> {
        Ok(self.services().status_id_by_uri(uri).await?)
    }
}
