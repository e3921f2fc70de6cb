//! `/api/v2/filters` (with keywords and statuses) and the older `/api/v1/filters`.

use axum::Json;
use axum::extract::{Path, State};
use ferrodon_model::{StatusId, scope};
use ferrodon_service::filters::{Expiry, FilterInput, KeywordChange, V1FilterInput};
use serde::Deserialize;
use serde::de::{Deserializer, Error as _};
use serde_json::{Value, json};

use super::path_id;
use crate::AppState;
use crate::auth::Auth;
use crate::entities;
use crate::error::ApiResult;
use crate::params::{Params, de};

/// `expires_in`: empty or null means "never"; otherwise seconds.
fn expiry<'de, D: Deserializer<'de>>(d: D) -> Result<Expiry, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Expiry::Never),
        Value::Number(n) => n
            .as_f64()
            .map(|f| Expiry::In(f as i64))
            .ok_or_else(|| D::Error::custom("expected a number of seconds")),
        Value::String(s) if s.trim().is_empty() => Ok(Expiry::Never),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .map(|f| Expiry::In(f as i64))
            .map_err(|_| D::Error::custom("expected a number of seconds")),
        _ => Err(D::Error::custom("expected a number of seconds")),
    }
}

/// A list given as `key[]=…` (an array, or an object keyed by index), or one value.
fn opt_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    de::string_list(d).map(Some)
}

#[derive(Debug, Deserialize)]
struct KeywordParam {
    #[serde(default, deserialize_with = "de::opt_id")]
    id: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_string")]
    keyword: Option<String>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    whole_word: Option<bool>,
    #[serde(default, rename = "_destroy", deserialize_with = "de::opt_bool")]
    destroy: Option<bool>,
}

/// `keywords_attributes` as an array or as an object keyed by index.
fn keywords_attributes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<KeywordChange>, D::Error> {
    let mut items: Vec<(String, Value)> = match Value::deserialize(d)? {
        Value::Null => return Ok(Vec::new()),
        Value::Array(list) => list
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("{i:08}"), v))
            .collect(),
        Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| (format!("{:08}", k.parse::<u32>().unwrap_or(u32::MAX)), v))
            .collect(),
        _ => return Err(D::Error::custom("expected a list of keywords")),
    };
    items.sort_by(|a, b| a.0.cmp(&b.0));
    items
        .into_iter()
        .map(|(_, v)| {
            let k: KeywordParam = serde_json::from_value(v).map_err(D::Error::custom)?;
            Ok(KeywordChange {
                id: k.id,
                keyword: k.keyword,
                whole_word: k.whole_word,
                destroy: k.destroy.unwrap_or(false),
            })
        })
        .collect()
}

#[derive(Debug, Deserialize)]
pub struct FilterParams {
    #[serde(default, deserialize_with = "de::opt_string")]
    title: Option<String>,
    #[serde(default, deserialize_with = "opt_list")]
    context: Option<Vec<String>>,
    #[serde(default, deserialize_with = "de::opt_string")]
    filter_action: Option<String>,
    #[serde(default, deserialize_with = "expiry")]
    expires_in: Expiry,
    #[serde(default, deserialize_with = "keywords_attributes")]
    keywords_attributes: Vec<KeywordChange>,
}

impl FilterParams {
    fn input(self) -> FilterInput {
        FilterInput {
            title: self.title,
            context: self.context,
            action: self.filter_action.filter(|a| !a.is_empty()),
            expires_in: self.expires_in,
            keywords: self.keywords_attributes,
        }
    }
}

fn read_scope() -> [ferrodon_model::Scope; 1] {
    [scope!("read:filters")]
}

fn write_scope() -> [ferrodon_model::Scope; 1] {
    [scope!("write:filters")]
}

/// `GET /api/v2/filters`.
pub async fn index(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let user = auth.user(&read_scope())?;
    let list = state.services.filters(user.account_id).await?;
    Ok(Json(Value::Array(
        list.iter().map(entities::filter_view).collect(),
    )))
}

/// `GET /api/v2/filters/:id`.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&read_scope())?;
    let v = state
        .services
        .filter(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(entities::filter_view(&v)))
}

/// `POST /api/v2/filters`.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<FilterParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&write_scope())?;
    let v = state
        .services
        .create_filter(user.account_id, p.input())
        .await?;
    Ok(Json(entities::filter_view(&v)))
}

/// `PUT /api/v2/filters/:id`.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<FilterParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&write_scope())?;
    let v = state
        .services
        .update_filter(user.account_id, path_id(&id)?, p.input())
        .await?;
    Ok(Json(entities::filter_view(&v)))
}

/// `DELETE /api/v2/filters/:id`: answers `{}`.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&write_scope())?;
    state
        .services
        .delete_filter(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
pub struct KeywordParams {
    #[serde(default, deserialize_with = "de::opt_string")]
    keyword: Option<String>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    whole_word: Option<bool>,
}

/// `GET /api/v2/filters/:filter_id/keywords`.
pub async fn keywords(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&read_scope())?;
    let list = state
        .services
        .filter_keywords(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(Value::Array(
        list.iter().map(entities::filter_keyword).collect(),
    )))
}

/// `POST /api/v2/filters/:filter_id/keywords`.
pub async fn add_keyword(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<KeywordParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&write_scope())?;
    let k = state
        .services
        .add_filter_keyword(user.account_id, path_id(&id)?, p.keyword, p.whole_word)
        .await?;
    Ok(Json(entities::filter_keyword(&k)))
}

/// `GET /api/v2/filters/keywords/:id`.
pub async fn show_keyword(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&read_scope())?;
    let k = state
        .services
        .filter_keyword(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(entities::filter_keyword(&k)))
}

/// `PUT /api/v2/filters/keywords/:id`.
pub async fn update_keyword(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<KeywordParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&write_scope())?;
    let k = state
        .services
        .update_filter_keyword(user.account_id, path_id(&id)?, p.keyword, p.whole_word)
        .await?;
    Ok(Json(entities::filter_keyword(&k)))
}

/// `DELETE /api/v2/filters/keywords/:id`: answers `{}`.
pub async fn delete_keyword(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&write_scope())?;
    state
        .services
        .delete_filter_keyword(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
pub struct StatusParams {
    #[serde(default, deserialize_with = "de::opt_id")]
    status_id: Option<i64>,
}

/// `GET /api/v2/filters/:filter_id/statuses`.
pub async fn statuses(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&read_scope())?;
    let list = state
        .services
        .filter_statuses(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(Value::Array(
        list.iter().map(entities::filter_status).collect(),
    )))
}

/// `POST /api/v2/filters/:filter_id/statuses`.
pub async fn add_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<StatusParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&write_scope())?;
    let s = state
        .services
        .add_filter_status(user.account_id, path_id(&id)?, p.status_id.map(StatusId))
        .await?;
    Ok(Json(entities::filter_status(&s)))
}

/// `GET /api/v2/filters/statuses/:id`.
pub async fn show_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&read_scope())?;
    let s = state
        .services
        .filter_status(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(entities::filter_status(&s)))
}

/// `DELETE /api/v2/filters/statuses/:id`: answers `{}`.
pub async fn delete_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&write_scope())?;
    state
        .services
        .delete_filter_status(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
pub struct V1Params {
    #[serde(default, deserialize_with = "de::opt_string")]
    phrase: Option<String>,
    #[serde(default, deserialize_with = "opt_list")]
    context: Option<Vec<String>>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    irreversible: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    whole_word: Option<bool>,
    #[serde(default, deserialize_with = "expiry")]
    expires_in: Expiry,
}

impl V1Params {
    fn input(self) -> V1FilterInput {
        V1FilterInput {
            phrase: self.phrase,
            context: self.context,
            irreversible: self.irreversible,
            whole_word: self.whole_word,
            expires_in: self.expires_in,
        }
    }
}

/// `GET /api/v1/filters`.
pub async fn v1_index(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let user = auth.user(&read_scope())?;
    let list = state.services.v1_filters(user.account_id).await?;
    Ok(Json(Value::Array(
        list.iter().map(entities::v1_filter).collect(),
    )))
}

/// `GET /api/v1/filters/:id`.
pub async fn v1_show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&read_scope())?;
    let v = state
        .services
        .v1_filter(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(entities::v1_filter(&v)))
}

/// `POST /api/v1/filters`.
pub async fn v1_create(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<V1Params>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&write_scope())?;
    let v = state
        .services
        .create_v1_filter(user.account_id, p.input())
        .await?;
    Ok(Json(entities::v1_filter(&v)))
}

/// `PUT /api/v1/filters/:id`.
pub async fn v1_update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
    Params(p): Params<V1Params>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&write_scope())?;
    let v = state
        .services
        .update_v1_filter(user.account_id, path_id(&id)?, p.input())
        .await?;
    Ok(Json(entities::v1_filter(&v)))
}

/// `DELETE /api/v1/filters/:id`: answers `{}`.
pub async fn v1_delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&write_scope())?;
    state
        .services
        .delete_v1_filter(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}
