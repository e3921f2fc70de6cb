//! Fetching from other servers, with origin checks: actors (and their
//! keys), objects, WebFinger. Every fetch is a GET signed by the instance
//! actor (so servers in authorized-fetch mode answer), through the guarded
//! client (`ferrodon_fetch`: https, public addresses, redirects re-checked
//! and re-signed, 1 MiB).
//!
//! Origin rules, applied to every document fetched:
//! - the content type must be ActivityPub's (`application/activity+json`,
//!   or `application/ld+json`);
//! - its `id` must be on the host it was finally fetched from (after
//!   redirects); an `id` other than the URL asked for is fetched again from
//!   that `id` once, and must then match exactly;
//! - an actor's key must be owned by the actor (`publicKey.owner`).

use std::time::SystemTime;

use ferrodon_fetch::{Overflow, Request, Url, host};
use ferrodon_service::remote::{RemoteAccount, RemoteEmoji};
use ferrodon_storage::accounts::Account;

use crate::error::{FedResult, FederationError};
use crate::json::ACTIVITY_JSON;
use crate::json::actor::{instance_actor_uri, key_id};
use crate::signatures::{PrivateKey, sign_cavage, sign_rfc9421};
use crate::{Federation, sanitize, wire};

/// Largest document read from another server.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// What `Accept` federation GETs send (Mastodon's).
const ACCEPT: &str = "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

fn fetch_error(e: ferrodon_fetch::FetchError) -> FederationError {
    FederationError::Unprocessable(format!("fetch failed: {e}"))
}

/// How an outgoing request is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// draft-cavage, what every server verifies.
    Cavage,
    /// RFC 9421, for servers that refuse draft-cavage.
    Rfc9421,
}

/// Signs a request with a key.
pub(crate) fn sign(
    request: &mut Request,
    key_id: &str,
    key: &PrivateKey,
    scheme: Scheme,
) -> Result<(), ferrodon_fetch::FetchError> {
    let mut builder = http::Request::builder()
        .method(match request.method {
            ferrodon_fetch::Method::Get => http::Method::GET,
            ferrodon_fetch::Method::Post => http::Method::POST,
        })
        .uri(request.url.as_str());
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let (mut parts, ()) = builder
        .body(())
        .map_err(|e| ferrodon_fetch::FetchError::Header(e.to_string()))?
        .into_parts();
    let body = request.body.as_deref();
    let now = SystemTime::now();
    match scheme {
        Scheme::Cavage => sign_cavage(&mut parts, body, key_id, key, now),
        Scheme::Rfc9421 => sign_rfc9421(&mut parts, body, key_id, key, now),
    }
    .map_err(|e| ferrodon_fetch::FetchError::Header(e.to_string()))?;
    request.headers = parts.headers;
    Ok(())
}

impl Federation {
    /// The instance actor's private key and key id, for signed fetches.
    async fn fetch_key(&self) -> FedResult<(String, PrivateKey)> {
        let keys = self.instance_keys().await?;
        let key = PrivateKey::from_pem(&keys.private_key_pem)
            .map_err(|e| FederationError::Internal(format!("instance key: {e}")))?;
        Ok((key_id(&instance_actor_uri(self.services().instance())), key))
    }

    /// GETs an ActivityPub document, signed; returns the URL it finally came
    /// from and its bytes.
    pub async fn fetch_document(&self, url: &str) -> FedResult<(Url, Vec<u8>)> {
        let url = Url::parse(url)
            .map_err(|e| FederationError::Unprocessable(format!("bad URL {url:?}: {e}")))?;
        let h = host::origin_host(&url);
        if self.host_refused(&h).await? {
            return Err(FederationError::Forbidden(format!("{h} is blocked here")));
        }
        let (key_id, key) = self.fetch_key().await?;
        let request = Request::get(url)
            .header("accept", ACCEPT)
            .map_err(fetch_error)?;
        let response = self
            .services()
            .fetcher()
            .send_following(request, |r| sign(r, &key_id, &key, Scheme::Cavage))
            .await
            .map_err(fetch_error)?;
        let status = response.status();
        if status == 410 {
            return Err(FederationError::Gone);
        }
        if !(200..300).contains(&status) {
            return Err(FederationError::Unprocessable(format!(
                "{} answered {status}",
                response.url()
            )));
        }
        let media = response.mime_type().unwrap_or_default();
        if media != ACTIVITY_JSON && media != "application/ld+json" {
            return Err(FederationError::Unprocessable(format!(
                "{} is {media:?}, not ActivityPub JSON",
                response.url()
            )));
        }
        let final_url = response.url().clone();
        let body = response
            .body(MAX_DOCUMENT_BYTES, Overflow::Fail)
            .await
            .map_err(fetch_error)?;
        Ok((final_url, body.bytes))
    }

    /// Fetches `url` and checks the document's `id` against where it came
    /// from; an `id` elsewhere on the same host is fetched again once.
    pub async fn fetch_checked(&self, url: &str) -> FedResult<(String, Vec<u8>)> {
        let (final_url, bytes) = self.fetch_document(url).await?;
        let id = document_id(&bytes)?;
        let id_url = Url::parse(&id)
            .map_err(|_| FederationError::Unprocessable(format!("bad id {id:?}")))?;
        if !host::same_url_host(&id_url, &final_url) {
            return Err(FederationError::Unprocessable(format!(
                "{final_url} served a document whose id {id} is on another host"
            )));
        }
        if id == url || id == final_url.as_str() {
            return Ok((id, bytes));
        }
        // Same host, another id: the id is the authority.
        let (again_url, again) = self.fetch_document(&id).await?;
        let again_id = document_id(&again)?;
        if again_id != id || !host::same_url_host(&again_url, &id_url) {
            return Err(FederationError::Unprocessable(format!(
                "{id} does not serve itself"
            )));
        }
        Ok((id, again))
    }

    /// The stored account of an actor, fetched (and stored) if unknown or
    /// when `refresh` is set.
    pub async fn actor(&self, uri: &str, refresh: bool) -> FedResult<Account> {
        if !refresh && let Some(a) = self.services().remote_account_by_uri(uri).await? {
            return Ok(a);
        }
        self.fetch_actor(uri).await
    }

    /// Fetches an actor, checks it and stores it.
    pub async fn fetch_actor(&self, uri: &str) -> FedResult<Account> {
        let (id, bytes) = self.fetch_checked(uri).await?;
        let actor = wire::parse_actor(&bytes)
            .map_err(|e| FederationError::Unprocessable(format!("{id}: {e}")))?;
        let remote = remote_account(&id, &actor)?;
        let account = self.services().upsert_remote_account(&remote).await?;
        self.services().apply_domain_policy(&account).await?;
        Ok(account)
    }

    /// The account owning `key_id` and its public key (PEM): from the
    /// database when known and `refresh` is not set, else fetched.
    pub async fn key_owner(&self, key_id: &str, refresh: bool) -> FedResult<Account> {
        if !refresh && let Some(a) = self.services().account_by_key_id(key_id).await? {
            return Ok(a);
        }
        // A key id is the actor with a fragment (Mastodon), or a document
        // of its own (GoToSocial's `/main-key`, which serves the actor).
        let doc_url = key_id.split('#').next().unwrap_or(key_id);
        let (id, bytes) = self.fetch_checked(doc_url).await?;
        let owner = match wire::parse_actor(&bytes) {
            Ok(actor) => {
                let remote = remote_account(&id, &actor)?;
                let account = self.services().upsert_remote_account(&remote).await?;
                self.services().apply_domain_policy(&account).await?;
                account
            }
            Err(_) => {
                let key: wire::PublicKey = serde_json::from_slice(&bytes)
                    .map_err(|e| FederationError::Unprocessable(format!("{id}: {e}")))?;
                let owner = key.owner.ok_or_else(|| {
                    FederationError::Unprocessable(format!("{id}: a key without an owner"))
                })?;
                self.fetch_actor(&owner).await?
            }
        };
        // The stored owner of the key must be the actor just stored.
        match self.services().account_by_key_id(key_id).await? {
            Some(a) if a.id == owner.id => Ok(a),
            _ => Err(FederationError::Unauthorized(format!(
                "{key_id} is not the key of {}",
                owner.uri
            ))),
        }
    }

    /// `user@domain` through WebFinger, then the actor.
    pub async fn resolve_acct(&self, username: &str, domain: &str) -> FedResult<Account> {
        let domain = host::normalize_host(domain)
            .map_err(|e| FederationError::Unprocessable(e.to_string()))?;
        if let Some(a) = self
            .services()
            .account_by_acct(username, Some(&domain))
            .await?
        {
            return Ok(a);
        }
        let url = Url::parse_with_params(
            &format!("https://{domain}/.well-known/webfinger"),
            [("resource", format!("acct:{username}@{domain}"))],
        )
        .map_err(|e| FederationError::Unprocessable(e.to_string()))?;
        let mut url = url;
        if self.services().fetcher().allows_http() {
            // Development and loopback tests: try the instance's own scheme.
            let _ = url.set_scheme(self.scheme_for(&domain));
        }
        let request = Request::get(url)
            .header("accept", "application/jrd+json, application/json")
            .map_err(fetch_error)?;
        let response = self
            .services()
            .fetcher()
            .send_following(request, |_| Ok(()))
            .await
            .map_err(fetch_error)?;
        if response.status() != 200 {
            return Err(FederationError::NotFound);
        }
        let body = response
            .body(MAX_DOCUMENT_BYTES, Overflow::Fail)
            .await
            .map_err(fetch_error)?;
        let jrd = wire::parse_webfinger(&body.bytes)
            .map_err(|e| FederationError::Unprocessable(format!("WebFinger: {e}")))?;
        let actor_url = jrd
            .actor_url()
            .ok_or_else(|| FederationError::Unprocessable("WebFinger names no actor".into()))?
            .to_owned();
        let account = self.actor(&actor_url, false).await?;
        Ok(account)
    }

    /// `http` for hosts reached over plain http in development (only
    /// when `FERRODON_FEDERATION_ALLOW_HTTP` is on), else `https`.
    fn scheme_for(&self, _domain: &str) -> &'static str {
        if self.services().instance().base_url.starts_with("http://") {
            "http"
        } else {
            "https"
        }
    }
}

/// The `id` of a JSON document.
fn document_id(bytes: &[u8]) -> FedResult<String> {
    #[derive(serde::Deserialize)]
    struct WithId {
        id: Option<String>,
    }
    let doc: WithId = serde_json::from_slice(bytes).map_err(|e| {
        FederationError::Unprocessable(format!("not a JSON object with an id: {e}"))
    })?;
    doc.id
        .ok_or_else(|| FederationError::Unprocessable("a document without an id".into()))
}

/// An actor document as the plain type the service layer stores.
pub fn remote_account(id: &str, actor: &wire::Actor) -> FedResult<RemoteAccount> {
    let id_url =
        Url::parse(id).map_err(|_| FederationError::Unprocessable(format!("bad id {id:?}")))?;
    let domain = host::origin_host(&id_url);
    if domain.is_empty() {
        return Err(FederationError::Unprocessable(format!("{id}: no host")));
    }
    let username = actor
        .preferred_username
        .clone()
        .filter(|u| !u.is_empty() && u.len() <= 255 && !u.contains(['@', '/', ' ']))
        .ok_or_else(|| {
            FederationError::Unprocessable(format!("{id}: no usable preferredUsername"))
        })?;
    let key = actor
        .public_key
        .iter()
        .find(|k| k.owner.as_deref().is_none_or(|o| o == id) && k.public_key_pem.is_some())
        .ok_or_else(|| FederationError::Unprocessable(format!("{id}: no public key")))?;
    let public_key_id = key
        .id
        .clone()
        .ok_or_else(|| FederationError::Unprocessable(format!("{id}: a key without an id")))?;
    let same_host = |u: &str| {
        Url::parse(u)
            .ok()
            .is_some_and(|u| host::same_url_host(&u, &id_url))
    };
    if !same_host(&public_key_id) {
        return Err(FederationError::Unprocessable(format!(
            "{id}: its key {public_key_id} is on another host"
        )));
    }
    let inbox = actor
        .inbox
        .clone()
        .filter(|u| same_host(u))
        .ok_or_else(|| FederationError::Unprocessable(format!("{id}: no inbox on its host")))?;
    let text = |s: &Option<String>, max: usize| -> String {
        let plain = sanitize::plain_text(s.as_deref().unwrap_or(""));
        plain.chars().take(max).collect()
    };
    Ok(RemoteAccount {
        uri: id.to_owned(),
        username,
        domain,
        display_name: text(&actor.name, 100),
        note_html: sanitize::sanitize_html(actor.summary.as_deref().unwrap_or("")),
        fields: actor
            .fields()
            .take(16)
            .map(|(n, v)| (sanitize::plain_text(n), sanitize::sanitize_html(v)))
            .collect(),
        locked: actor.manually_approves_followers.unwrap_or(false),
        bot: actor.is_bot(),
        discoverable: actor.discoverable.unwrap_or(false),
        indexable: actor.indexable.unwrap_or(false),
        url: actor.url.first().map(str::to_owned),
        inbox_url: inbox,
        shared_inbox_url: actor
            .shared_inbox()
            .filter(|u| same_host(u))
            .map(str::to_owned),
        outbox_url: actor.outbox.clone().unwrap_or_default(),
        followers_url: actor.followers.clone().unwrap_or_default(),
        following_url: actor.following.clone().unwrap_or_default(),
        featured_url: actor.featured.clone(),
        public_key_id,
        public_key_pem: key.public_key_pem.clone().unwrap_or_default(),
        avatar_remote_url: actor.avatar().map(str::to_owned),
        header_remote_url: actor.header().map(str::to_owned),
        also_known_as: actor.also_known_as.clone(),
        moved_to_uri: actor.moved_to.clone(),
        memorial: actor.memorial.unwrap_or(false),
        suspended: actor.suspended.unwrap_or(false),
        created_at: actor.published,
        emojis: actor
            .emojis()
            .map(|e| RemoteEmoji {
                shortcode: e.shortcode.to_owned(),
                image_url: e.url.to_owned(),
            })
            .collect(),
    })
}

impl ferrodon_service::federate::Resolver for Federation {
    fn resolve_account<'a>(
        &'a self,
        username: &'a str,
        domain: &'a str,
    ) -> ferrodon_service::federate::Resolving<'a, Option<ferrodon_model::AccountId>> {
        Box::pin(async move {
            match self.resolve_acct(username, domain).await {
                Ok(a) => Ok(Some(a.id)),
                Err(e) => {
                    tracing::info!(username, domain, error = %e, "account not resolved");
                    Ok(None)
                }
            }
        })
    }

    fn resolve_url<'a>(
        &'a self,
        url: &'a str,
    ) -> ferrodon_service::federate::Resolving<'a, Option<ferrodon_service::federate::Resolved>>
    {
        use ferrodon_service::federate::Resolved;
        Box::pin(async move {
            let found = async {
                let (id, bytes) = self.fetch_checked(url).await?;
                if let Ok(actor) = wire::parse_actor(&bytes) {
                    let remote = remote_account(&id, &actor)?;
                    let account = self.services().upsert_remote_account(&remote).await?;
                    return Ok::<_, FederationError>(Some(Resolved::Account(account.id)));
                }
                let note = wire::parse_object(&bytes)
                    .map_err(|e| FederationError::Unprocessable(format!("{id}: {e}")))?;
                let author = note
                    .attributed_to()
                    .ok_or_else(|| FederationError::Unprocessable(format!("{id} has no author")))?
                    .to_owned();
                let actor = self.actor(&author, false).await?;
                let remote = crate::activities::note_to_remote(self, &actor, &note).await?;
                Ok(self
                    .services()
                    .create_remote_status(&remote)
                    .await?
                    .map(Resolved::Status))
            }
            .await;
            match found {
                Ok(r) => Ok(r),
                Err(e) => {
                    tracing::info!(url, error = %e, "address not resolved");
                    Ok(None)
                }
            }
        })
    }
}
