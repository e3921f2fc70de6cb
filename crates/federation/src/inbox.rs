//! `POST /inbox` and `POST /users/:name/inbox`: everything that can be
//! checked at once is checked before answering, cheapest first — size
//! (1 MiB), JSON shape (`wire::parse_activity`), the HTTP signature's
//! form, clock and digest (no key needed), then the key (fetched and
//! cached; fetched again once if it does not verify: keys rotate) and
//! that the signer is the activity's actor. A request that fails any of
//! these is answered 400/401 with the reason at once and leaves nothing
//! behind. What passes is queued on `ingress` (`Ingest`) and answered 202.

use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use ferrodon_jobs::{JobKind, Queue};
use ferrodon_model::AccountId;
use serde::{Deserialize, Serialize};

use crate::error::{FedResult, FederationError};
use crate::signatures::{self, PublicKey};
use crate::{Federation, wire};

/// Largest activity accepted (Mastodon's limit is also 1 MiB).
pub const MAX_ACTIVITY_BYTES: usize = 1024 * 1024;

/// A verified activity waiting to be processed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ingest {
    /// The activity as received.
    pub body: String,
    /// The account whose key signed it (its actor).
    pub signer: AccountId,
}

impl JobKind for Ingest {
    const KIND: &'static str = "ingest";
    const QUEUE: Queue = Queue::Ingress;
    const MAX_ATTEMPTS: i32 = 8;
}

pub async fn shared_inbox(
    State(fed): State<Federation>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> FedResult<StatusCode> {
    fed.accept_post(&method, &uri, &headers, &body).await
}

pub async fn user_inbox(
    State(fed): State<Federation>,
    Path(name): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> FedResult<StatusCode> {
    let account = fed.services().local_account(&name).await?;
    if account.suspended_at.is_some() {
        return Err(FederationError::Gone);
    }
    fed.accept_post(&method, &uri, &headers, &body).await
}

impl Federation {
    /// Verifies an inbox POST and queues it.
    async fn accept_post(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> FedResult<StatusCode> {
        if body.len() > MAX_ACTIVITY_BYTES {
            return Err(FederationError::PayloadTooLarge(
                "activities are limited to 1 MiB".into(),
            ));
        }
        let activity = wire::parse_activity(body)
            .map_err(|e| FederationError::BadRequest(format!("not an activity: {e}")))?;
        let actor = activity
            .actor_id()
            .ok_or_else(|| FederationError::BadRequest("an activity without an actor".into()))?
            .to_owned();
        if let Ok(actor_url) = ferrodon_fetch::Url::parse(&actor) {
            let h = ferrodon_fetch::host::origin_host(&actor_url);
            if self.host_refused(&h).await? {
                return Err(FederationError::Forbidden(format!("{h} is blocked here")));
            }
        }
        let signer = self.verify_signature(method, uri, headers, body).await?;
        if signer.uri != actor {
            return Err(FederationError::Unauthorized(format!(
                "signed by {}, not by the actor {actor}",
                signer.uri
            )));
        }
        let body = String::from_utf8(body.to_vec())
            .map_err(|_| FederationError::BadRequest("the body is not UTF-8".into()))?;
        self.services()
            .jobs()
            .push(
                self.services().ids(),
                &[Ingest {
                    body,
                    signer: signer.id,
                }],
            )
            .await?;
        Ok(StatusCode::ACCEPTED)
    }

    /// Checks a request's signature; returns the signing account.
    pub async fn verify_signature(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> FedResult<ferrodon_storage::accounts::Account> {
        let base = &self.services().instance().base_url;
        let target: Uri = format!("{base}{}", uri.path_and_query().map_or("/", |p| p.as_str()))
            .parse()
            .map_err(|_| FederationError::BadRequest("bad request target".into()))?;
        let body = (!body.is_empty() || *method == Method::POST).then_some(body);
        let pending = signatures::verify_request(method, &target, headers, body, SystemTime::now())
            .map_err(|e| FederationError::Unauthorized(format!("signature: {e}")))?;
        let key_id = pending.key_id.clone();
        let key_url = ferrodon_fetch::Url::parse(&key_id)
            .map_err(|_| FederationError::Unauthorized(format!("keyId {key_id:?} is not a URL")))?;
        if !matches!(key_url.scheme(), "https" | "http") {
            return Err(FederationError::Unauthorized(format!(
                "keyId {key_id:?} is not an http(s) URL"
            )));
        }
        // Nothing from a suspended domain is looked at, not even its key.
        if self
            .host_refused(&ferrodon_fetch::host::origin_host(&key_url))
            .await?
        {
            return Err(FederationError::Forbidden(format!(
                "{} is blocked here",
                ferrodon_fetch::host::origin_host(&key_url)
            )));
        }
        let verify = |account: &ferrodon_storage::accounts::Account| -> bool {
            PublicKey::from_pem(&account.public_key_pem)
                .ok()
                .is_some_and(|k| pending.verify(&k).is_ok())
        };
        let known = self
            .key_owner(&key_id, false)
            .await
            .map_err(|e| key_error(&key_id, e))?;
        if verify(&known) {
            return Ok(known);
        }
        // Keys rotate: fetch it again once before refusing.
        let fresh = self
            .key_owner(&key_id, true)
            .await
            .map_err(|e| key_error(&key_id, e))?;
        if verify(&fresh) {
            return Ok(fresh);
        }
        Err(FederationError::Unauthorized(format!(
            "the signature does not verify with {key_id}"
        )))
    }
}

/// A key that cannot be had is the sender's problem (401); our own
/// database or a bug is not (503 / 500, as anywhere else).
fn key_error(key_id: &str, e: FederationError) -> FederationError {
    match e {
        FederationError::Service(_) | FederationError::Internal(_) => e,
        other => FederationError::Unauthorized(format!("key {key_id}: {other}")),
    }
}
