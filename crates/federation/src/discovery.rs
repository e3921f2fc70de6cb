//! How other servers find this one and its accounts: WebFinger
//! (`/.well-known/webfinger`), host-meta (`/.well-known/host-meta`, the XRD
//! that points at WebFinger) and NodeInfo (`/.well-known/nodeinfo`, then the
//! 2.0 and 2.1 documents with usage figures).
//!
//! WebFinger answers `acct:user@domain` (and bare `user@domain`, as
//! Mastodon does) and the actor's own URLs (`/users/name`, `/@name`); the
//! instance actor is `acct:<domain>@<domain>`. The domain may carry a port
//! (`localhost:3001`) and is compared with it.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{FedResult, FederationError};
use crate::{Federation, json::ACTIVITY_JSON};

#[derive(Debug, Deserialize)]
pub struct WebfingerQuery {
    resource: Option<String>,
}

/// What a WebFinger resource names here.
#[derive(Debug, PartialEq, Eq)]
enum Resource {
    Account(String),
    InstanceActor,
}

/// Reads a resource against this instance's base URL and domain.
fn resource(resource: &str, base_url: &str, domain: &str) -> Option<Resource> {
    let resource = resource.trim();
    let acct = resource
        .strip_prefix("acct:")
        .or_else(|| (!resource.contains("://") && resource.contains('@')).then_some(resource));
    if let Some(acct) = acct {
        // `@user@domain` as well as `user@domain`.
        let acct = match acct.strip_prefix('@') {
            Some(rest) if rest.contains('@') => rest,
            _ => acct,
        };
        let (user, host) = match acct.rsplit_once('@') {
            Some((user, host)) => (user, Some(host)),
            None => (acct, None),
        };
        if let Some(host) = host
            && !host.trim_end_matches('.').eq_ignore_ascii_case(domain)
        {
            return None;
        }
        if user.eq_ignore_ascii_case(domain) {
            return Some(Resource::InstanceActor);
        }
        return (!user.is_empty() && !user.contains('/'))
            .then(|| Resource::Account(user.to_owned()));
    }
    let rest = resource.strip_prefix(base_url)?;
    if rest == "/actor" {
        return Some(Resource::InstanceActor);
    }
    let name = rest
        .strip_prefix("/users/")
        .or_else(|| rest.strip_prefix("/@"))?;
    (!name.is_empty() && !name.contains('/')).then(|| Resource::Account(name.to_owned()))
}

fn jrd(body: Value) -> Response {
    let mut res = Json(body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jrd+json; charset=utf-8"),
    );
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

/// `GET /.well-known/webfinger?resource=…`.
pub async fn webfinger(
    State(fed): State<Federation>,
    Query(q): Query<WebfingerQuery>,
) -> FedResult<Response> {
    let resource_param = q.resource.filter(|r| !r.trim().is_empty()).ok_or_else(|| {
        FederationError::BadRequest("param is missing or the value is empty: resource".into())
    })?;
    let i = fed.services().instance();
    match resource(&resource_param, &i.base_url, &i.domain) {
        None => Err(FederationError::NotFound),
        Some(Resource::InstanceActor) => {
            let actor = format!("{}/actor", i.base_url);
            Ok(jrd(json!({
                "subject": format!("acct:{}@{}", i.domain, i.domain),
                "aliases": [actor],
                "links": [
                    {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": format!("{}/about/more?instance_actor=true", i.base_url)},
                    {"rel": "self", "type": ACTIVITY_JSON, "href": actor},
                ],
            })))
        }
        Some(Resource::Account(username)) => {
            let account = fed.services().local_account(&username).await?;
            if account.suspended_at.is_some() {
                return Err(FederationError::Gone);
            }
            let uri = i.uri_of(&account);
            Ok(jrd(json!({
                "subject": format!("acct:{}@{}", account.username, i.domain),
                "aliases": [i.account_url(&account.username), uri],
                "links": [
                    {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": i.account_url(&account.username)},
                    {"rel": "self", "type": ACTIVITY_JSON, "href": uri},
                    {"rel": "http://ostatus.org/schema/1.0/subscribe", "template": format!("{}/authorize_interaction?uri={{uri}}", i.base_url)},
                ],
            })))
        }
    }
}

/// `GET /.well-known/host-meta`: the XRD naming the WebFinger template.
pub async fn host_meta(State(fed): State<Federation>) -> Response {
    let base = &fed.services().instance().base_url;
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  \
         <Link rel=\"lrdd\" template=\"{}/.well-known/webfinger?resource={{uri}}\"/>\n\
         </XRD>\n",
        ferrodon_service::text::escape(base)
    );
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xrd+xml; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// `GET /.well-known/nodeinfo`: where the NodeInfo documents are.
pub async fn nodeinfo_links(State(fed): State<Federation>) -> Response {
    let base = &fed.services().instance().base_url;
    let mut res = Json(json!({
        "links": [
            {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": format!("{base}/nodeinfo/2.0")},
            {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": format!("{base}/nodeinfo/2.1")},
        ]
    }))
    .into_response();
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

/// `GET /nodeinfo/2.0` and `/nodeinfo/2.1`.
async fn nodeinfo(fed: &Federation, version: &str) -> FedResult<Response> {
    let services = fed.services();
    let i = services.instance();
    let stats = services.instance_stats().await?;
    let mut software = json!({
        "name": "ferrodon",
        "version": env!("CARGO_PKG_VERSION"),
    });
    if version == "2.1" {
        software["repository"] = json!(env!("CARGO_PKG_REPOSITORY"));
        software["homepage"] = json!(env!("CARGO_PKG_REPOSITORY"));
    }
    let body = json!({
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"outbound": [], "inbound": []},
        "usage": {
            "users": {
                "total": stats.users,
                "activeMonth": stats.active_month,
                "activeHalfyear": stats.active_halfyear,
            },
            "localPosts": stats.statuses,
        },
        "openRegistrations": i.registrations != ferrodon_config::RegistrationMode::Closed,
        "metadata": {
            "nodeName": i.title,
            "nodeDescription": i.description,
        },
    });
    let content_type = format!(
        "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/{version}#\""
    );
    let mut res = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        res.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(res)
}

pub async fn nodeinfo_20(State(fed): State<Federation>) -> FedResult<Response> {
    nodeinfo(&fed, "2.0").await
}

pub async fn nodeinfo_21(State(fed): State<Federation>) -> FedResult<Response> {
    nodeinfo(&fed, "2.1").await
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://example.com";
    const DOMAIN: &str = "example.com";

    #[test]
    fn resources() {
        let r = |s| resource(s, BASE, DOMAIN);
        assert_eq!(
            r("acct:alice@example.com"),
            Some(Resource::Account("alice".into()))
        );
        assert_eq!(
            r("acct:alice@EXAMPLE.com."),
            Some(Resource::Account("alice".into()))
        );
        assert_eq!(
            r("alice@example.com"),
            Some(Resource::Account("alice".into()))
        );
        assert_eq!(
            r("@alice@example.com"),
            Some(Resource::Account("alice".into()))
        );
        assert_eq!(r("acct:alice"), Some(Resource::Account("alice".into())));
        assert_eq!(r("acct:alice@other.example"), None);
        assert_eq!(r("acct:alice@example.com.evil.test"), None);
        assert_eq!(
            r("https://example.com/users/alice"),
            Some(Resource::Account("alice".into()))
        );
        assert_eq!(
            r("https://example.com/@alice"),
            Some(Resource::Account("alice".into()))
        );
        assert_eq!(r("https://example.com/users/alice/statuses/1"), None);
        assert_eq!(r("https://example.com.evil.test/users/alice"), None);
        assert_eq!(
            r("https://example.com/actor"),
            Some(Resource::InstanceActor)
        );
        assert_eq!(
            r("acct:example.com@example.com"),
            Some(Resource::InstanceActor)
        );
        assert_eq!(r("acct:@example.com"), None);
    }

    #[test]
    fn ports_are_part_of_the_domain() {
        let r = |s| resource(s, "http://localhost:3001", "localhost:3001");
        assert_eq!(
            r("acct:bob@localhost:3001"),
            Some(Resource::Account("bob".into()))
        );
        assert_eq!(r("acct:bob@localhost:3002"), None);
        assert_eq!(r("acct:bob@localhost"), None);
        assert_eq!(
            r("http://localhost:3001/users/bob"),
            Some(Resource::Account("bob".into()))
        );
        assert_eq!(r("http://localhost:30011/users/bob"), None);
    }
}
