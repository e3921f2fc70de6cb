//! `QuoteRequest` (FEP-044f, as Mastodon 4.5 sends it): another server's
//! account asks to quote a local status; `instrument` is the quoting post
//! (embedded, or its id, fetched from its origin). Verify: the object is a
//! local status, the quoting post is on the actor's host, attributed to the
//! actor, and quotes the object. Receive: the quoting post is stored, the
//! quote accepted when the status's policy approves it automatically, and
//! the answer (`Accept` with a `QuoteAuthorization` as its `result`, or
//! `Reject`) goes back to the actor (`Federate::AnswerQuote`).

use std::borrow::Cow;

use ferrodon_storage::accounts::Account;

use super::{create::note_to_remote, refuse};
use crate::Federation;
use crate::error::{FedResult, FederationError};
use crate::wire::{self, Activity, Object};

pub(super) async fn receive(
    fed: &Federation,
    actor: &Account,
    activity: &Activity,
) -> FedResult<()> {
    let request_uri = activity
        .id
        .as_deref()
        .ok_or_else(|| refuse("a QuoteRequest without an id"))?;
    let object = activity
        .object_id()
        .ok_or_else(|| refuse("a QuoteRequest without an object"))?;
    let Some(quoted) = fed.local_status_by_uri(object).await? else {
        tracing::info!(object, actor = %actor.uri, "QuoteRequest of a status not local here; dropped");
        return Ok(());
    };
    let instrument = activity
        .instrument
        .as_ref()
        .ok_or_else(|| refuse("a QuoteRequest without an instrument"))?;
    let note: Cow<'_, Object> = match instrument.as_object() {
        Some(note) => Cow::Borrowed(note),
        None => {
            let id = instrument
                .id()
                .ok_or_else(|| refuse("a QuoteRequest's instrument without an id"))?;
            let (id, bytes) = fed.fetch_checked(id).await?;
            Cow::Owned(
                wire::parse_object(&bytes)
                    .map_err(|e| FederationError::Unprocessable(format!("{id}: {e}")))?,
            )
        }
    };
    let remote = note_to_remote(fed, actor, &note).await?;
    if remote.quote_uri.as_deref() != Some(object) {
        return Err(refuse(format!("{} does not quote {object}", remote.uri)));
    }
    let answer = fed
        .services()
        .remote_quote_request(actor.id, quoted, &remote, request_uri)
        .await?;
    tracing::info!(request = request_uri, ?answer, "QuoteRequest answered");
    Ok(())
}
