//! The routes federation serves: discovery, actors, statuses and their
//! collections, with content negotiation on the pages people also open in
//! browsers (`/users/:name`, `/@name`, statuses): ActivityPub JSON for
//! `application/activity+json` or `application/ld+json`, otherwise a page
//! (minimal for now) or a redirect to it, as Mastodon does.
//!
//! Objects are served unsigned to anyone, as Mastodon does by default; only
//! public and unlisted statuses are served (followers-only and direct ones
//! need a signed fetch from an addressed server, not built yet: 404).

use std::collections::HashMap;

use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use ferrodon_api::routing::{Routes, get, post};
use ferrodon_model::{PageBounds, StatusId, Visibility};
use ferrodon_service::timelines::AccountStatusesOptions;
use ferrodon_service::views::StatusView;
use ferrodon_storage::accounts::Account;
use ferrodon_storage::follows::Direction;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{FedResult, FederationError};
use crate::json::{self, actor, note};
use crate::{Federation, discovery, inbox};

/// Items per collection page (Mastodon's outbox and follower pages).
const PAGE_SIZE: u32 = 20;

/// Every route, recorded as it is added.
pub fn routes() -> Routes<Federation> {
    Routes::new()
        .route("/.well-known/webfinger", get(discovery::webfinger))
        .route("/.well-known/host-meta", get(discovery::host_meta))
        .route("/.well-known/nodeinfo", get(discovery::nodeinfo_links))
        .route("/nodeinfo/2.0", get(discovery::nodeinfo_20))
        .route("/nodeinfo/2.1", get(discovery::nodeinfo_21))
        .route("/actor", get(instance_actor))
        .route("/actor/outbox", get(instance_outbox))
        .route("/users/{name}", get(user))
        .route("/@{name}", get(profile))
        .route("/users/{name}/outbox", get(outbox))
        .route("/users/{name}/followers", get(followers))
        .route("/users/{name}/following", get(following))
        .route("/users/{name}/collections/featured", get(featured))
        .route("/users/{name}/collections/tags", get(featured_tags))
        .route("/users/{name}/statuses/{id}", get(status))
        .route("/users/{name}/statuses/{id}/activity", get(status_activity))
        .route("/@{name}/{id}", get(status_page))
        .route(
            "/users/{name}/quote_authorizations/{id}",
            get(quote_authorization),
        )
        .route(
            "/inbox",
            post(inbox::shared_inbox).layer(DefaultBodyLimit::max(inbox::MAX_ACTIVITY_BYTES)),
        )
        .route(
            "/users/{name}/inbox",
            post(inbox::user_inbox).layer(DefaultBodyLimit::max(inbox::MAX_ACTIVITY_BYTES)),
        )
}

/// Every (method, path template) federation serves.
pub fn route_table() -> Vec<(axum::http::Method, &'static str)> {
    routes().table()
}

/// The signer of a GET for an ActivityPub document, when it was signed.
///
/// Authorized-fetch mode (`AUTHORIZED_FETCH`): ActivityPub documents go
/// only to signed requests from servers that are not refused here (401 and
/// 403 otherwise). HTML pages, discovery and the instance actor stay open
/// (the instance actor's key is how servers sign their own fetches).
///
/// Otherwise a signature is optional: a valid one names the account the
/// document is served to (a follower may fetch followers-only statuses, a
/// mentioned account a direct one, as Mastodon); a missing or invalid one
/// leaves the request anonymous, so it sees public documents only.
pub struct SignedFetch(pub Option<Account>);

impl axum::extract::FromRequestParts<Federation> for SignedFetch {
    type Rejection = FederationError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        fed: &Federation,
    ) -> Result<Self, Self::Rejection> {
        if !wants_json(&parts.headers) {
            return Ok(SignedFetch(None));
        }
        let required = fed.options().authorized_fetch;
        let signed = parts.headers.contains_key("signature")
            || parts.headers.contains_key("signature-input");
        if !required && !signed {
            return Ok(SignedFetch(None));
        }
        let signer = match fed
            .verify_signature(&parts.method, &parts.uri, &parts.headers, &[])
            .await
        {
            Ok(signer) => signer,
            Err(e) if !required && e.is_client_error() => {
                tracing::debug!(error = %e, "GET signature not verified; served as anonymous");
                return Ok(SignedFetch(None));
            }
            Err(e) => return Err(e),
        };
        if let Some(domain) = &signer.domain
            && fed.host_refused(domain).await?
        {
            if required {
                return Err(FederationError::Forbidden(format!(
                    "{domain} is blocked here"
                )));
            }
            return Ok(SignedFetch(None));
        }
        Ok(SignedFetch(Some(signer)))
    }
}

/// A JSON-LD document with ActivityPub's media type.
fn activity_json(body: Value) -> Response {
    let mut res = axum::Json(body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/activity+json; charset=utf-8"),
    );
    res.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept, Origin"));
    res
}

fn wants_json(headers: &HeaderMap) -> bool {
    json::wants_activity_json(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()))
}

/// A local account by name; suspended accounts are served as suspended
/// actors only, their collections are gone.
async fn local(fed: &Federation, name: &str) -> FedResult<Account> {
    if name.is_empty() || name.len() > 255 {
        return Err(FederationError::NotFound);
    }
    Ok(fed.services().local_account(name).await?)
}

async fn local_active(fed: &Federation, name: &str) -> FedResult<Account> {
    let account = local(fed, name).await?;
    if account.suspended_at.is_some() {
        return Err(FederationError::Gone);
    }
    Ok(account)
}

async fn actor_document(fed: &Federation, mut account: Account) -> FedResult<Response> {
    let keys = fed.account_keys(account.id).await?;
    account.public_key_pem = keys.public_key_pem;
    Ok(activity_json(actor::person(
        fed.services().instance(),
        &account,
    )))
}

async fn instance_actor(State(fed): State<Federation>, headers: HeaderMap) -> FedResult<Response> {
    let i = fed.services().instance();
    if !wants_json(&headers) {
        return Ok(
            Redirect::to(&format!("{}/about/more?instance_actor=true", i.base_url)).into_response(),
        );
    }
    let keys = fed.instance_keys().await?;
    Ok(activity_json(actor::instance_actor(
        i,
        &keys.public_key_pem,
    )))
}

async fn instance_outbox(State(fed): State<Federation>) -> Response {
    let uri = format!(
        "{}/outbox",
        actor::instance_actor_uri(fed.services().instance())
    );
    activity_json(note::with_context(json!({
        "id": uri,
        "type": "OrderedCollection",
        "totalItems": 0,
        "orderedItems": [],
    })))
}

/// `GET /users/:name`: the actor, or a redirect to the profile page.
async fn user(
    _signed: SignedFetch,
    State(fed): State<Federation>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> FedResult<Response> {
    let account = local(&fed, &name).await?;
    if wants_json(&headers) {
        return actor_document(&fed, account).await;
    }
    Ok(Redirect::to(&fed.services().instance().account_url(&account.username)).into_response())
}

/// `GET /@name`: the profile page, or the actor.
async fn profile(
    _signed: SignedFetch,
    State(fed): State<Federation>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> FedResult<Response> {
    let account = local(&fed, &name).await?;
    if wants_json(&headers) {
        return actor_document(&fed, account).await;
    }
    if account.suspended_at.is_some() {
        return Err(FederationError::Gone);
    }
    let i = fed.services().instance();
    let name = ferrodon_service::text::escape(if account.display_name.is_empty() {
        &account.username
    } else {
        &account.display_name
    });
    let uri = ferrodon_service::text::escape(&i.uri_of(&account));
    let acct = ferrodon_service::text::escape(&format!("@{}@{}", account.username, i.domain));
    Ok(html(format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{name} ({acct})</title>\
         <link rel=\"alternate\" type=\"application/activity+json\" href=\"{uri}\"></head>\
         <body><main class=\"h-card\"><h1 class=\"p-name\">{name}</h1><p>{acct}</p>\
         <div class=\"p-note\">{note}</div></main></body></html>\n",
        note = account.note
    )))
}

fn html(body: String) -> Response {
    let mut res = (StatusCode::OK, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept, Origin"));
    res
}

#[derive(Debug, Deserialize, Default)]
struct PageQuery {
    page: Option<String>,
    max_id: Option<String>,
    min_id: Option<String>,
}

impl PageQuery {
    fn is_page(&self) -> bool {
        self.page
            .as_deref()
            .is_some_and(|p| p == "true" || p == "1")
            || self.max_id.is_some()
            || self.min_id.is_some()
    }

    fn bounds(&self) -> PageBounds {
        let id = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<i64>().ok());
        PageBounds::new(
            id(&self.max_id),
            None,
            id(&self.min_id),
            None,
            PAGE_SIZE,
            PAGE_SIZE,
        )
    }
}

/// Parents' URIs of these statuses, for `inReplyTo`.
async fn parents(fed: &Federation, views: &[&StatusView]) -> FedResult<HashMap<StatusId, String>> {
    let ids: Vec<StatusId> = views
        .iter()
        .filter_map(|v| v.status.in_reply_to())
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(fed.services().status_uris(&ids).await?)
}

/// `GET /users/:name/outbox`: public and unlisted posts and boosts, newest
/// first, as `Create` and `Announce` activities.
async fn outbox(
    _signed: SignedFetch,
    State(fed): State<Federation>,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
) -> FedResult<Response> {
    let account = local_active(&fed, &name).await?;
    let i = fed.services().instance();
    let uri = format!("{}/outbox", i.uri_of(&account));
    if !q.is_page() {
        return Ok(activity_json(note::with_context(json!({
            "id": uri,
            "type": "OrderedCollection",
            "totalItems": account.statuses_count,
            "first": format!("{uri}?page=true"),
            "last": format!("{uri}?min_id=0&page=true"),
        }))));
    }
    let views = fed
        .services()
        .account_statuses(
            None,
            account.id,
            AccountStatusesOptions::default(),
            &q.bounds(),
        )
        .await?;
    let refs: Vec<&StatusView> = views.iter().collect();
    let parents = parents(&fed, &refs).await?;
    let items: Vec<Value> = views
        .iter()
        .filter(|v| {
            matches!(
                v.status.visibility(),
                Visibility::Public | Visibility::Unlisted
            )
        })
        .map(|v| match &v.reblog {
            Some(original) => note::announce(i, v, original),
            None => note::create(i, v, &parents),
        })
        .collect();
    let mut page = json!({
        // The page's own id names the cursor as parsed, never the raw input.
        "id": format!("{uri}?page=true{}", q.bounds().max_id.map(|m| format!("&max_id={m}")).unwrap_or_default()),
        "type": "OrderedCollectionPage",
        "partOf": uri,
        "orderedItems": items,
    });
    if let (Some(first), Some(last)) = (views.first(), views.last()) {
        page["next"] = json!(format!("{uri}?max_id={}&page=true", last.status.id.0));
        page["prev"] = json!(format!("{uri}?min_id={}&page=true", first.status.id.0));
    }
    Ok(activity_json(note::with_context(page)))
}

async fn follow_collection(
    fed: &Federation,
    name: &str,
    q: &PageQuery,
    direction: Direction,
) -> FedResult<Response> {
    let account = local_active(fed, name).await?;
    let i = fed.services().instance();
    let (path, total) = match direction {
        Direction::Followers => ("followers", account.followers_count),
        Direction::Following => ("following", account.following_count),
    };
    let uri = format!("{}/{path}", i.uri_of(&account));
    // A hidden collection shows its size only, as Mastodon's.
    if !q.is_page() || account.hide_collections {
        let mut doc = json!({"id": uri, "type": "OrderedCollection", "totalItems": total});
        if !account.hide_collections {
            doc["first"] = json!(format!("{uri}?page=1"));
        }
        return Ok(activity_json(note::with_context(doc)));
    }
    let page = fed
        .services()
        .follow_list(None, account.id, direction, &q.bounds())
        .await?;
    let items: Vec<String> = page.items.iter().map(|a| i.uri_of(a)).collect();
    let mut doc = json!({
        "id": format!("{uri}?page=1"),
        "type": "OrderedCollectionPage",
        "totalItems": total,
        "partOf": uri,
        "orderedItems": items,
    });
    if let Some(next) = page
        .next_max_id
        .filter(|_| page.items.len() as u32 >= PAGE_SIZE)
    {
        doc["next"] = json!(format!("{uri}?page=1&max_id={next}"));
    }
    Ok(activity_json(note::with_context(doc)))
}

async fn followers(
    _signed: SignedFetch,
    State(fed): State<Federation>,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
) -> FedResult<Response> {
    follow_collection(&fed, &name, &q, Direction::Followers).await
}

async fn following(
    _signed: SignedFetch,
    State(fed): State<Federation>,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
) -> FedResult<Response> {
    follow_collection(&fed, &name, &q, Direction::Following).await
}

/// `GET /users/:name/collections/featured`: pinned posts, as objects.
async fn featured(
    _signed: SignedFetch,
    State(fed): State<Federation>,
    Path(name): Path<String>,
) -> FedResult<Response> {
    let account = local_active(&fed, &name).await?;
    let i = fed.services().instance();
    let pinned = fed
        .services()
        .account_statuses(
            None,
            account.id,
            AccountStatusesOptions {
                pinned: true,
                ..Default::default()
            },
            &PageBounds::first(PAGE_SIZE),
        )
        .await?;
    let refs: Vec<&StatusView> = pinned.iter().collect();
    let parents = parents(&fed, &refs).await?;
    let items: Vec<Value> = pinned
        .iter()
        .filter(|v| {
            matches!(
                v.status.visibility(),
                Visibility::Public | Visibility::Unlisted
            )
        })
        .map(|v| note::object(i, v, &parents))
        .collect();
    Ok(activity_json(note::with_context(json!({
        "id": format!("{}/collections/featured", i.uri_of(&account)),
        "type": "OrderedCollection",
        "totalItems": items.len(),
        "orderedItems": items,
    }))))
}

/// `GET /users/:name/collections/tags`: featured hashtags.
async fn featured_tags(
    _signed: SignedFetch,
    State(fed): State<Federation>,
    Path(name): Path<String>,
) -> FedResult<Response> {
    let account = local_active(&fed, &name).await?;
    let i = fed.services().instance();
    let tags = fed.services().featured_tags(account.id).await?;
    let items: Vec<Value> = tags
        .iter()
        .map(|t| json!({"type": "Hashtag", "href": i.tag_url(&t.name), "name": format!("#{}", t.name)}))
        .collect();
    Ok(activity_json(note::with_context(json!({
        "id": format!("{}/collections/tags", i.uri_of(&account)),
        "type": "Collection",
        "totalItems": items.len(),
        "items": items,
    }))))
}

/// A status of `name` by id: public and unlisted ones for anyone, others
/// only for a signer who may see them (the client API's visibility rules:
/// a follower for followers-only, a mentioned account for direct); 404
/// otherwise, as for an id that does not exist.
async fn served_status(
    fed: &Federation,
    signer: Option<&Account>,
    name: &str,
    id: &str,
) -> FedResult<StatusView> {
    let account = local_active(fed, name).await?;
    let id = id
        .parse::<i64>()
        .map(StatusId)
        .map_err(|_| FederationError::NotFound)?;
    let view = fed.services().status(signer.map(|a| a.id), id).await?;
    if view.account.id != account.id
        || (signer.is_none()
            && !matches!(
                view.status.visibility(),
                Visibility::Public | Visibility::Unlisted
            ))
    {
        return Err(FederationError::NotFound);
    }
    Ok(view)
}

async fn status_document(
    fed: &Federation,
    view: &StatusView,
    activity: bool,
) -> FedResult<Response> {
    let i = fed.services().instance();
    if let Some(original) = &view.reblog {
        return Ok(activity_json(note::with_context(note::announce(
            i, view, original,
        ))));
    }
    let parents = parents(fed, &[view]).await?;
    let body = if activity {
        note::create(i, view, &parents)
    } else {
        note::object(i, view, &parents)
    };
    Ok(activity_json(note::with_context(body)))
}

/// `GET /users/:name/statuses/:id`: the object, or a redirect to its page.
async fn status(
    SignedFetch(signer): SignedFetch,
    State(fed): State<Federation>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> FedResult<Response> {
    let view = served_status(&fed, signer.as_ref(), &name, &id).await?;
    if wants_json(&headers) {
        return status_document(&fed, &view, false).await;
    }
    let i = fed.services().instance();
    Ok(Redirect::to(&i.status_url(&view.account.username, view.status.id.0)).into_response())
}

/// `GET /users/:name/statuses/:id/activity`: its `Create` (or `Announce`).
async fn status_activity(
    SignedFetch(signer): SignedFetch,
    State(fed): State<Federation>,
    Path((name, id)): Path<(String, String)>,
) -> FedResult<Response> {
    let view = served_status(&fed, signer.as_ref(), &name, &id).await?;
    status_document(&fed, &view, true).await
}

/// `GET /users/:name/quote_authorizations/:id`: the approval of an accepted
/// quote of one of `name`'s statuses (FEP-044f); 404 for anything else,
/// including a quote since revoked.
async fn quote_authorization(
    _signed: SignedFetch,
    State(fed): State<Federation>,
    Path((name, id)): Path<(String, String)>,
) -> FedResult<Response> {
    let account = local_active(&fed, &name).await?;
    let id = id.parse::<i64>().map_err(|_| FederationError::NotFound)?;
    let services = fed.services();
    let Some((_, quoting, quoted)) = services.quote_authorization(account.id, id).await? else {
        return Err(FederationError::NotFound);
    };
    let (Some(quoting), Some(quoted)) = (
        services.status_for_federation(quoting).await?,
        services.status_for_federation(quoted).await?,
    ) else {
        return Err(FederationError::NotFound);
    };
    let i = services.instance();
    Ok(activity_json(note::quote_authorization(
        &i.uri_of(&account),
        id,
        &note::uri_of(i, &quoting),
        &note::uri_of(i, &quoted),
    )))
}

/// `GET /@name/:id`: the status's page, or the object.
async fn status_page(
    SignedFetch(signer): SignedFetch,
    State(fed): State<Federation>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> FedResult<Response> {
    let view = served_status(&fed, signer.as_ref(), &name, &id).await?;
    if wants_json(&headers) {
        return status_document(&fed, &view, false).await;
    }
    let i = fed.services().instance();
    let author = ferrodon_service::text::escape(&view.account.username);
    let uri = ferrodon_service::text::escape(&note::uri_of(i, &view));
    Ok(html(format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>@{author}</title>\
         <link rel=\"alternate\" type=\"application/activity+json\" href=\"{uri}\"></head>\
         <body><article class=\"h-entry\"><p class=\"p-author\">@{author}</p>\
         <div class=\"e-content\">{content}</div></article></body></html>\n",
        content = if view.status.spoiler_text.is_empty() {
            view.status.content.clone()
        } else {
            ferrodon_service::text::escape(&view.status.spoiler_text)
        }
    )))
}
