//! Hashtags: `/api/v1/tags/:name` (show, follow, feature), `/followed_tags`,
//! `/featured_tags` and `/api/v1/accounts/:id/featured_tags`.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::Response;
use ferrodon_model::{AccountId, scope};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Paging, list_page, path_id};
use crate::AppState;
use crate::auth::Auth;
use crate::entities;
use crate::error::{ApiError, ApiResult};
use crate::params::{Params, de};

/// `GET /api/v1/tags/:name` (no token needed).
pub async fn show(
    State(state): State<AppState>,
    Path(name): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let viewer = auth.viewer(&[])?.map(|u| u.account_id);
    let view = state.services.tag(viewer, &name).await?;
    Ok(Json(entities::tag(state.services.instance(), &view)))
}

/// A `POST /api/v1/tags/:name/…` action that answers with the tag.
macro_rules! tag_action {
    ($(#[$doc:meta])* $name:ident, $scope:literal, $method:ident, $on:expr) => {
        $(#[$doc])*
        pub async fn $name(
            State(state): State<AppState>,
            Path(name): Path<String>,
            auth: Auth,
        ) -> ApiResult<Json<Value>> {
            let user = auth.user(&[scope!($scope)])?;
            let view = state.services.$method(user.account_id, &name, $on).await?;
            Ok(Json(entities::tag(state.services.instance(), &view)))
        }
    };
}

tag_action!(
    /// `POST /api/v1/tags/:name/follow`.
    follow, "write:follows", follow_tag, true
);
tag_action!(
    /// `POST /api/v1/tags/:name/unfollow`.
    unfollow, "write:follows", follow_tag, false
);
tag_action!(
    /// `POST /api/v1/tags/:name/feature` (Mastodon 4.4).
    feature, "write:accounts", feature_tag_by_name, true
);
tag_action!(
    /// `POST /api/v1/tags/:name/unfeature`.
    unfeature, "write:accounts", feature_tag_by_name, false
);

/// `GET /api/v1/followed_tags`: limit 100 by default, at most 200.
pub async fn followed(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    auth: Auth,
    Params(p): Params<Paging>,
) -> ApiResult<Response> {
    let user = auth.user(&[scope!("read:follows")])?;
    let bounds = p.bounds(100, 200);
    let page = state
        .services
        .followed_tags(user.account_id, &bounds)
        .await?;
    let i = state.services.instance();
    Ok(list_page(&i.base_url, &uri, &page, &bounds, |t| {
        entities::tag(i, t)
    }))
}

async fn featured_of(state: &AppState, account: AccountId) -> ApiResult<Json<Value>> {
    let owner = state.services.account(account).await?;
    let list = state.services.featured_tags(account).await?;
    let i = state.services.instance();
    Ok(Json(Value::Array(
        list.iter()
            .map(|f| entities::featured_tag(i, &owner, f))
            .collect(),
    )))
}

/// `GET /api/v1/featured_tags`: the signed-in user's.
pub async fn featured(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("read:accounts")])?;
    featured_of(&state, user.account_id).await
}

/// `GET /api/v1/accounts/:id/featured_tags`.
pub async fn account_featured(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    auth.viewer(&[scope!("read:accounts")])?;
    featured_of(&state, path_id(&id)?).await
}

#[derive(Debug, Deserialize)]
pub struct FeatureParams {
    #[serde(default, deserialize_with = "de::opt_string")]
    name: Option<String>,
}

/// `POST /api/v1/featured_tags`.
pub async fn create_featured(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<FeatureParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:accounts")])?;
    let name = p.name.ok_or_else(|| {
        ApiError::BadRequest("param is missing or the value is empty: name".into())
    })?;
    let created = state.services.feature_tag(user.account_id, &name).await?;
    let owner = state.services.account(user.account_id).await?;
    Ok(Json(entities::featured_tag(
        state.services.instance(),
        &owner,
        &created,
    )))
}

/// `DELETE /api/v1/featured_tags/:id`: answers `{}`.
pub async fn delete_featured(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:accounts")])?;
    let id: i64 = path_id(&id)?;
    state.services.unfeature_tag(user.account_id, id).await?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/featured_tags/suggestions`: the user's most used hashtags not featured yet.
pub async fn featured_suggestions(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("read:accounts")])?;
    let list = state
        .services
        .featured_tag_suggestions(user.account_id)
        .await?;
    let i = state.services.instance();
    Ok(Json(Value::Array(
        list.iter().map(|t| entities::tag(i, t)).collect(),
    )))
}
