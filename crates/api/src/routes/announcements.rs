//! `/api/v1/announcements` (with dismissals and reactions) and `/api/v1/reports`.

use axum::Json;
use axum::extract::{Path, State};
use ferrodon_model::{AccountId, StatusId, scope};
use ferrodon_service::server_content::{AnnouncementView, NewReport};
use ferrodon_storage::server_content::Report;
use serde::Deserialize;
use serde_json::{Value, json};

use super::path_id;
use crate::AppState;
use crate::auth::Auth;
use crate::entities::{self, time};
use crate::error::ApiResult;
use crate::params::{Params, de};
use ferrodon_service::Instance;

fn announcement(i: &Instance, a: &AnnouncementView) -> Value {
    let an = &a.announcement;
    json!({
        "id": an.id.to_string(),
        "content": a.content,
        "starts_at": an.starts_at.map(time),
        "ends_at": an.ends_at.map(time),
        "all_day": an.all_day,
        "published": true,
        "published_at": time(an.published_at),
        "updated_at": time(an.updated_at),
        "read": a.read,
        "mentions": [],
        "statuses": [],
        "tags": [],
        "emojis": entities::emojis_json(i, &[an.text.as_str()]),
        "reactions": a.reactions.iter().map(|r| {
            let mut out = json!({"name": r.name, "count": r.count, "me": r.me});
            if let Some(e) = i.emojis.get(&r.name) {
                let emoji = entities::custom_emoji(i, &e);
                out["url"] = emoji["url"].clone();
                out["static_url"] = emoji["static_url"].clone();
            }
            out
        }).collect::<Vec<_>>(),
    })
}

#[derive(Debug, Deserialize)]
pub struct IndexParams {
    #[serde(default, deserialize_with = "de::opt_bool")]
    with_dismissed: Option<bool>,
}

/// `GET /api/v1/announcements`.
pub async fn index(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<IndexParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("read")])?;
    let list = state
        .services
        .announcements(user.account_id, p.with_dismissed.unwrap_or(false))
        .await?;
    let i = state.services.instance();
    Ok(Json(Value::Array(
        list.iter().map(|a| announcement(i, a)).collect(),
    )))
}

/// `POST /api/v1/announcements/:id/dismiss`: answers `{}`.
pub async fn dismiss(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:accounts")])?;
    state
        .services
        .dismiss_announcement(user.account_id, path_id(&id)?)
        .await?;
    Ok(Json(json!({})))
}

/// `PUT /api/v1/announcements/:id/reactions/:name`: answers `{}`.
pub async fn react(
    State(state): State<AppState>,
    Path((id, name)): Path<(String, String)>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:favourites")])?;
    state
        .services
        .react_to_announcement(user.account_id, path_id(&id)?, &name)
        .await?;
    Ok(Json(json!({})))
}

/// `DELETE /api/v1/announcements/:id/reactions/:name`: answers `{}`.
pub async fn unreact(
    State(state): State<AppState>,
    Path((id, name)): Path<(String, String)>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:favourites")])?;
    state
        .services
        .unreact_to_announcement(user.account_id, path_id(&id)?, &name)
        .await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
pub struct ReportParams {
    #[serde(default, deserialize_with = "de::opt_string")]
    account_id: Option<String>,
    #[serde(default, deserialize_with = "de::string_list")]
    status_ids: Vec<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    comment: Option<String>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    forward: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_string")]
    category: Option<String>,
    #[serde(default, deserialize_with = "de::string_list")]
    rule_ids: Vec<String>,
}

fn report_json(
    state: &AppState,
    r: &Report,
    target: &ferrodon_storage::accounts::Account,
) -> Value {
    let ids = |raw: &str| serde_json::from_str::<Vec<String>>(raw).unwrap_or_default();
    let status_ids = ids(&r.status_ids);
    let rule_ids = ids(&r.rule_ids);
    json!({
        "id": r.id.to_string(),
        "action_taken": r.action_taken_at.is_some(),
        "action_taken_at": r.action_taken_at.map(time),
        "category": r.category,
        "comment": r.comment,
        "forwarded": r.forward,
        "created_at": time(r.created_at),
        "status_ids": if status_ids.is_empty() { Value::Null } else { json!(status_ids) },
        "rule_ids": if rule_ids.is_empty() { Value::Null } else { json!(rule_ids) },
        "target_account": entities::account(state.services.instance(), target),
    })
}

/// `POST /api/v1/reports`.
pub async fn report(
    State(state): State<AppState>,
    auth: Auth,
    Params(p): Params<ReportParams>,
) -> ApiResult<Json<Value>> {
    let user = auth.user(&[scope!("write:reports")])?;
    let account_id = match p.account_id.as_deref() {
        Some(raw) => Some(path_id::<AccountId>(raw)?),
        None => None,
    };
    let mut status_ids = Vec::new();
    for raw in &p.status_ids {
        status_ids.push(path_id::<StatusId>(raw)?);
    }
    let mut rule_ids = Vec::new();
    for raw in &p.rule_ids {
        rule_ids.push(path_id::<i64>(raw)?);
    }
    let r = state
        .services
        .report(
            user.account_id,
            NewReport {
                account_id,
                status_ids,
                comment: p.comment.unwrap_or_default(),
                forward: p.forward.unwrap_or(false),
                category: p.category,
                rule_ids,
            },
        )
        .await?;
    let target = state
        .services
        .account(AccountId(r.target_account_id))
        .await?;
    Ok(Json(report_json(&state, &r, &target)))
}
