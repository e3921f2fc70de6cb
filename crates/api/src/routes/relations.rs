//! Blocks, mutes, follow requests, endorsements, notes and domain blocks:
//! `/api/v1/accounts/:id/{block,mute,endorse,note,…}`, `/api/v1/blocks`,
//! `/mutes`, `/endorsements`, `/follow_requests` and `/domain_blocks`.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::Response;
use ferrodon_model::scope;
use ferrodon_service::relations::MuteOptions;
use ferrodon_storage::relations::Relation;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Paging, list_page, path_id};
use crate::AppState;
use crate::auth::Auth;
use crate::entities;
use crate::error::{ApiError, ApiResult};
use crate::params::{Params, de};

/// A `POST /api/v1/accounts/:id/…` or `/follow_requests/:id/…` action that
/// answers with the relationship.
macro_rules! relation_action {
    ($(#[$doc:meta])* $name:ident, $scope:literal, $method:ident) => {
        $(#[$doc])*
        pub async fn $name(
            State(state): State<AppState>,
            Path(id): Path<String>,
            auth: Auth,
        ) -> ApiResult<Json<Value>> {
            let user = auth.user(&[scope!($scope)])?;
            let rel = state.services.$method(user.account_id, path_id(&id)?).await?;
            Ok(Json(entities::relationship(&rel)))
        }
    };
}

relation_action!(
    /// `POST /api/v1/accounts/:id/block`.
    block, "write:blocks", block
);
relation_action!(
    /// `POST /api/v1/accounts/:id/unblock`.
    unblock, "write:blocks", unblock
);
relation_action!(
    /// `POST /api/v1/accounts/:id/unmute`.
    unmute, "write:mutes", unmute
);
relation_action!(
    /// `POST /api/v1/accounts/:id/endorse` and its older name `/pin`.
    endorse, "write:accounts", endorse
);
relation_action!(
    /// `POST /api/v1/accounts/:id/unendorse` and `/unpin`.
    unendorse, "write:accounts", unendorse
);
relation_action!(
    /// `POST /api/v1/accounts/:id/remove_from_followers`.
    remove_from_followers, "write:follows", remove_from_followers
);
relation_action!(
    /// `POST /api/v1/follow_requests/:account_id/authorize`.
    authorize, "write:follows", authorize_follow_request
);
relation_action!(
    /// `POST /api/v1/follow_requests/:account_id/reject`.
    reject, "write:follows", reject_follow_request
);

#[derive(Debug, Deserialize)]
pub struct MuteParams {
    #[serde(default, deserialize_with = "de::opt_bool")]
    notifications: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_i64_lenient")]
    duration: Option<i64>,
}

/// `POST /api/v1/accounts/:id/mute`.
pub async fn mute(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<MuteParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:mutes")])?;
    let defaults = MuteOptions::default();
    let options = MuteOptions {
        notifications: p.notifications.unwrap_or(defaults.notifications),
        duration: p.duration.unwrap_or(defaults.duration),
    };
    let rel = state
        .services
        .mute(user.account_id, path_id(&id)?, options)
        .await?;
    Ok(Json(entities::relationship(&rel)))
}

#[derive(Debug, Deserialize)]
pub struct NoteParams {
    #[serde(default, deserialize_with = "de::opt_string")]
    comment: Option<String>,
}

/// `POST /api/v1/accounts/:id/note`: no or an empty comment removes the note.
pub async fn note(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<NoteParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:accounts")])?;
    let rel = state
        .services
        .set_note(
            user.account_id,
            path_id(&id)?,
            p.comment.as_deref().unwrap_or(""),
        )
        .await?;
    Ok(Json(entities::relationship(&rel)))
}

/// An account list of the signed-in user (blocks, endorsements, follow requests).
async fn own_list(
    state: &AppState,
    uri: &axum::http::Uri,
    auth: &Auth,
    paging: &Paging,
    scope: ferrodon_model::Scope,
    rel: Option<Relation>,
) -> ApiResult<Response> {
    let user = auth.user(&[scope])?;
    let bounds = paging.bounds(40, 80);
    let services = &state.services;
    let page = match rel {
        Some(rel) => {
            services
                .relation_list(user.account_id, rel, &bounds)
                .await?
        }
        None => services.follow_requests(user.account_id, &bounds).await?,
    };
    let i = services.instance();
    Ok(list_page(&i.base_url, uri, &page, &bounds, |a| {
        serde_json::to_value(entities::account(i, a)).unwrap_or_default()
    }))
}

/// `GET /api/v1/blocks`.
pub async fn blocks(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    Params(p): Params<Paging>,
) -> ApiResult<Response> {
    own_list(
        &state,
        &uri,
        &auth,
        &p,
        scope!("read:blocks"),
        Some(Relation::Block),
    )
    .await
}

/// `GET /api/v1/endorsements`.
pub async fn endorsements(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    Params(p): Params<Paging>,
) -> ApiResult<Response> {
    own_list(
        &state,
        &uri,
        &auth,
        &p,
        scope!("read:accounts"),
        Some(Relation::Endorse),
    )
    .await
}

/// `GET /api/v1/follow_requests`.
pub async fn follow_requests(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    Params(p): Params<Paging>,
) -> ApiResult<Response> {
    own_list(&state, &uri, &auth, &p, scope!("read:follows"), None).await
}

/// `GET /api/v1/mutes`: accounts with `mute_expires_at`.
pub async fn mutes(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    Params(p): Params<Paging>,
) -> ApiResult<Response> {
    let user = auth.user(&[scope!("read:mutes")])?;
    let bounds = p.bounds(40, 80);
    let page = state.services.mutes(user.account_id, &bounds).await?;
    let i = state.services.instance();
    Ok(list_page(&i.base_url, &uri, &page, &bounds, |(a, ends)| {
        let mut v = serde_json::to_value(entities::account(i, a)).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.insert(
                "mute_expires_at".into(),
                ends.map(entities::time).map_or(Value::Null, Value::String),
            );
        }
        v
    }))
}

/// `GET /api/v1/accounts/:id/endorsements`: anyone may see whom an account features.
pub async fn account_endorsements(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<Paging>,
) -> ApiResult<Response> {
    auth.viewer(&[scope!("read:accounts")])?;
    let bounds = p.bounds(40, 80);
    let page = state
        .services
        .endorsements_of(path_id(&id)?, &bounds)
        .await?;
    let i = state.services.instance();
    Ok(list_page(&i.base_url, &uri, &page, &bounds, |a| {
        serde_json::to_value(entities::account(i, a)).unwrap_or_default()
    }))
}

#[derive(Debug, Deserialize)]
pub struct DomainParams {
    #[serde(default, deserialize_with = "de::opt_string")]
    domain: Option<String>,
}

impl DomainParams {
    fn domain(&self) -> Result<&str, ApiError> {
        self.domain.as_deref().ok_or_else(|| {
            ApiError::BadRequest("param is missing or the value is empty: domain".into())
        })
    }
}

/// `GET /api/v1/domain_blocks`: domain names, newest first.
pub async fn domain_blocks(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    Params(p): Params<Paging>,
) -> ApiResult<Response> {
    let user = auth.user(&[scope!("read:blocks")])?;
    let bounds = p.bounds(100, 200);
    let page = state
        .services
        .blocked_domains(user.account_id, &bounds)
        .await?;
    let base = &state.services.instance().base_url;
    Ok(list_page(base, &uri, &page, &bounds, |d| {
        Value::String(d.clone())
    }))
}

/// `POST /api/v1/domain_blocks`.
pub async fn block_domain(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<DomainParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:blocks")])?;
    state
        .services
        .block_domain(user.account_id, p.domain()?)
        .await?;
    Ok(Json(json!({})))
}

/// `DELETE /api/v1/domain_blocks`.
pub async fn unblock_domain(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<DomainParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:blocks")])?;
    state
        .services
        .unblock_domain(user.account_id, p.domain()?)
        .await?;
    Ok(Json(json!({})))
}
