//! `/api/v1/accounts`.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::Response;
use ferrodon_model::{AccountId, scope};
use ferrodon_service::accounts::{CredentialsUpdate, SignUp};
use ferrodon_service::follows::FollowOptions;
use ferrodon_service::timelines::AccountStatusesOptions;
use ferrodon_storage::follows::Direction;
use serde::Deserialize;
use serde_json::Value;

use super::timelines::statuses_page;
use super::{IdsParams, Paging, ids_param, list_page, path_id};
use crate::auth::Auth;
use crate::entities;
use crate::error::{ApiError, ApiResult};
use crate::params::{Params, de};
use crate::{AppState, ClientIp};

#[derive(Debug, Deserialize)]
pub struct CreateAccount {
    #[serde(default, deserialize_with = "de::opt_string")]
    username: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    email: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    password: Option<String>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    agreement: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_string")]
    locale: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    reason: Option<String>,
}

/// `POST /api/v1/accounts`: sign-up with an app token.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ClientIp(ip): ClientIp,
    Params(p): Params<CreateAccount>,
) -> ApiResult<Json<Value>> {
    let principal = auth.token(&[scope!("write:accounts")])?;
    let token = state
        .services
        .sign_up(
            principal,
            SignUp {
                username: p.username,
                email: p.email,
                password: p.password,
                agreement: p.agreement.unwrap_or(false),
                locale: p.locale,
                reason: p.reason,
                ip: Some(ip.to_string()),
            },
        )
        .await?;
    Ok(Json(entities::token(&token)))
}

/// `GET /api/v1/accounts/verify_credentials`.
pub async fn verify_credentials(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("profile"), scope!("read:accounts")])?;
    let view = state.services.credential_account(user.account_id).await?;
    Ok(Json(entities::credential_account(
        state.services.instance(),
        &view,
    )))
}

#[derive(Debug, Default, Deserialize)]
pub struct Source {
    #[serde(default, deserialize_with = "de::opt_string")]
    privacy: Option<String>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    sensitive: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_string")]
    language: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    quote_policy: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct FieldParam {
    #[serde(default, deserialize_with = "de::opt_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    value: Option<String>,
}

/// `fields_attributes` as an array or as an object keyed by index.
fn fields_attributes<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<(String, String)>>, D::Error> {
    use serde::de::Error;
    let value = Value::deserialize(d)?;
    let mut items: Vec<(String, Value)> = match value {
        Value::Null => return Ok(None),
        Value::Array(list) => list
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("{i:08}"), v))
            .collect(),
        Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| (format!("{:08}", k.parse::<u32>().unwrap_or(u32::MAX)), v))
            .collect(),
        _ => return Err(D::Error::custom("expected a list of {name, value}")),
    };
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::new();
    for (_, v) in items {
        let f: FieldParam = serde_json::from_value(v).map_err(D::Error::custom)?;
        out.push((f.name.unwrap_or_default(), f.value.unwrap_or_default()));
    }
    Ok(Some(out))
}

#[derive(Debug, Deserialize)]
pub struct UpdateCredentials {
    #[serde(default, deserialize_with = "de::opt_string")]
    display_name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    note: Option<String>,
    #[serde(default, deserialize_with = "fields_attributes")]
    fields_attributes: Option<Vec<(String, String)>>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    locked: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    bot: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    discoverable: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    indexable: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    hide_collections: Option<bool>,
    #[serde(default)]
    source: Option<Source>,
}

/// `PATCH /api/v1/accounts/update_credentials`: form, JSON or multipart
/// (with `avatar` and `header` files).
pub async fn update_credentials(
    State(state): State<AppState>,
    auth: Auth,
    req: axum::extract::Request,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:accounts")])?;
    let rules = crate::params::FileRules {
        dir: state.services.upload_dir().await?,
        fields: &["avatar", "header"],
        max_bytes: ferrodon_service::media::MAX_PROFILE_IMAGE_BYTES,
    };
    let (value, files) =
        crate::params::collect_with_files(req, &state, state.max_body_bytes, &rules).await?;
    let p: UpdateCredentials = crate::params::read(value)?;
    let file = |name: &str| {
        files
            .iter()
            .find(|f| f.field == name)
            .map(|f| f.upload.clone())
    };
    let source = p.source.unwrap_or_default();
    let view = state
        .services
        .update_credentials(
            user.account_id,
            CredentialsUpdate {
                display_name: p.display_name,
                note: p.note,
                fields: p.fields_attributes,
                locked: p.locked,
                bot: p.bot,
                discoverable: p.discoverable,
                indexable: p.indexable,
                hide_collections: p.hide_collections,
                privacy: source.privacy,
                sensitive: source.sensitive,
                language: source.language,
                quote_policy: source.quote_policy.filter(|p| !p.trim().is_empty()),
                avatar: file("avatar"),
                header: file("header"),
            },
        )
        .await?;
    drop(files);
    Ok(Json(entities::credential_account(
        state.services.instance(),
        &view,
    )))
}

/// The body limit of `update_credentials`: both images at their largest.
pub fn update_credentials_body_limit(state: &AppState) -> usize {
    let images =
        usize::try_from(2 * ferrodon_service::media::MAX_PROFILE_IMAGE_BYTES).unwrap_or(usize::MAX);
    images
        .saturating_add(state.max_body_bytes)
        .saturating_add(64 * 1024)
}

async fn delete_profile_image(
    state: AppState,
    auth: Auth,
    which: ferrodon_storage::accounts::ProfileImage,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:accounts")])?;
    let view = state
        .services
        .delete_profile_image(user.account_id, which)
        .await?;
    Ok(Json(entities::credential_account(
        state.services.instance(),
        &view,
    )))
}

/// `DELETE /api/v1/profile/avatar` (Mastodon 4.2): back to the default image.
pub async fn delete_avatar(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    delete_profile_image(
        state,
        auth,
        ferrodon_storage::accounts::ProfileImage::Avatar,
    )
    .await
}

/// `DELETE /api/v1/profile/header`.
pub async fn delete_header(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    delete_profile_image(
        state,
        auth,
        ferrodon_storage::accounts::ProfileImage::Header,
    )
    .await
}

/// `GET /api/v1/accounts?id[]=…` (Mastodon 4.3): up to 40 accounts at once,
/// in the order asked for; unknown ids are left out.
pub async fn index(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<IdsParams>,
) -> ApiResult<Json<Value>> {
    auth.viewer(&[scope!("read:accounts")])?;
    let ids: Vec<AccountId> = ids_param(&p.id, 40)?;
    let found = state.services.accounts_by_ids(&ids).await?;
    let i = state.services.instance();
    Ok(Json(Value::Array(
        found
            .iter()
            .map(|a| serde_json::to_value(entities::account(i, a)).unwrap_or_default())
            .collect(),
    )))
}

/// `GET /api/v1/accounts/:id`.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    auth.viewer(&[scope!("read:accounts")])?;
    let account = state.services.account(path_id(&id)?).await?;
    Ok(Json(
        serde_json::to_value(entities::account(state.services.instance(), &account))
            .unwrap_or_default(),
    ))
}

#[derive(Debug, Deserialize)]
pub struct LookupParams {
    #[serde(default, deserialize_with = "de::opt_string")]
    acct: Option<String>,
}

/// `GET /api/v1/accounts/lookup?acct=…`.
pub async fn lookup(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<LookupParams>,
) -> ApiResult<Json<Value>> {
    auth.viewer(&[scope!("read:accounts")])?;
    let acct = p.acct.filter(|a| !a.trim().is_empty()).ok_or_else(|| {
        ApiError::BadRequest("param is missing or the value is empty: acct".into())
    })?;
    let account = state.services.lookup(&acct).await?;
    Ok(Json(
        serde_json::to_value(entities::account(state.services.instance(), &account))
            .unwrap_or_default(),
    ))
}

#[derive(Debug, Deserialize)]
pub struct StatusesParams {
    #[serde(flatten)]
    paging: Paging,
    #[serde(default, deserialize_with = "de::opt_bool")]
    exclude_replies: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    exclude_reblogs: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    only_media: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    pinned: Option<bool>,
}

/// `GET /api/v1/accounts/:id/statuses`.
pub async fn statuses(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<StatusesParams>,
) -> ApiResult<Response> {
    let viewer = auth
        .viewer(&[scope!("read:statuses")])?
        .map(|u| u.account_id);
    let views = state
        .services
        .account_statuses(
            viewer,
            path_id(&id)?,
            AccountStatusesOptions {
                exclude_replies: p.exclude_replies.unwrap_or(false),
                exclude_reblogs: p.exclude_reblogs.unwrap_or(false),
                only_media: p.only_media.unwrap_or(false),
                pinned: p.pinned.unwrap_or(false),
            },
            &p.paging.bounds(20, 40),
        )
        .await?;
    Ok(statuses_page(
        &state,
        &uri,
        &[
            "limit",
            "only_media",
            "exclude_replies",
            "exclude_reblogs",
            "pinned",
        ],
        &views,
    ))
}

async fn follow_list(
    state: AppState,
    uri: axum::http::Uri,
    id: String,
    auth: Auth,
    paging: Paging,
    direction: Direction,
) -> ApiResult<Response> {
    let viewer = auth
        .viewer(&[scope!("read:accounts")])?
        .map(|u| u.account_id);
    let bounds = paging.bounds(40, 80);
    let page = state
        .services
        .follow_list(viewer, path_id(&id)?, direction, &bounds)
        .await?;
    let i = state.services.instance();
    Ok(list_page(&i.base_url, &uri, &page, &bounds, |a| {
        serde_json::to_value(entities::account(i, a)).unwrap_or_default()
    }))
}

/// `GET /api/v1/accounts/:id/followers`.
pub async fn followers(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<Paging>,
) -> ApiResult<Response> {
    follow_list(state, uri, id, auth, p, Direction::Followers).await
}

/// `GET /api/v1/accounts/:id/following`.
pub async fn following(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<Paging>,
) -> ApiResult<Response> {
    follow_list(state, uri, id, auth, p, Direction::Following).await
}

#[derive(Debug, Deserialize)]
pub struct FollowParams {
    #[serde(default, deserialize_with = "de::opt_bool")]
    reblogs: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    notify: Option<bool>,
    #[serde(default)]
    languages: Option<Value>,
}

/// `POST /api/v1/accounts/:id/follow`.
pub async fn follow(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<FollowParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:follows")])?;
    let languages = match p.languages {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .into_iter()
                .filter_map(|v| {
                    v.as_str()
                        .and_then(ferrodon_service::statuses::normalize_language)
                })
                .collect(),
        ),
        Some(Value::String(s)) => Some(
            ferrodon_service::statuses::normalize_language(&s)
                .into_iter()
                .collect(),
        ),
        Some(_) => return Err(ApiError::BadRequest("Invalid value for `languages`".into())),
    };
    let target: AccountId = path_id(&id)?;
    let rel = state
        .services
        .follow(
            user.account_id,
            target,
            FollowOptions {
                reblogs: p.reblogs,
                notify: p.notify,
                languages,
            },
        )
        .await?;
    Ok(Json(entities::relationship(&rel)))
}

/// `POST /api/v1/accounts/:id/unfollow`.
pub async fn unfollow(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:follows")])?;
    let rel = state
        .services
        .unfollow(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(entities::relationship(&rel)))
}

#[derive(Debug, Deserialize)]
pub struct RelationshipParams {
    #[serde(default, deserialize_with = "de::string_list")]
    id: Vec<String>,
}

/// `GET /api/v1/accounts/relationships?id[]=…` (unknown or malformed ids are left out).
pub async fn relationships(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<RelationshipParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("read:follows")])?;
    let mut ids: Vec<AccountId> = Vec::new();
    for raw in p.id.iter().take(40) {
        if let Ok(id) = path_id::<AccountId>(raw)
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    let found = state.services.existing_accounts(&ids).await?;
    let rels = state
        .services
        .relationships(user.account_id, &found)
        .await?;
    Ok(Json(Value::Array(
        rels.iter().map(entities::relationship).collect(),
    )))
}
