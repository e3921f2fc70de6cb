//! `/api/v1/apps`.

use axum::Json;
use axum::extract::State;
use ferrodon_service::auth::NewApp;
use serde::Deserialize;
use serde_json::Value;

use crate::AppState;
use crate::auth::Auth;
use crate::entities;
use crate::error::ApiResult;
use crate::params::{Params, de};

#[derive(Debug, Deserialize)]
pub struct CreateApp {
    #[serde(default, deserialize_with = "de::opt_string")]
    client_name: Option<String>,
    #[serde(default, deserialize_with = "de::string_list")]
    redirect_uris: Vec<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    scopes: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    website: Option<String>,
}

/// `POST /api/v1/apps`: no token needed.
pub async fn create(
    State(state): State<AppState>,
    Params(p): Params<CreateApp>,
) -> ApiResult<Json<Value>> {
    let app = state
        .services
        .create_app(NewApp {
            name: p.client_name,
            redirect_uris: p.redirect_uris,
            scopes: p.scopes,
            website: p.website,
        })
        .await?;
    Ok(Json(entities::application(&app, true)))
}

/// `GET /api/v1/apps/verify_credentials`: any valid token.
pub async fn verify_credentials(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Value>> {
    let principal = auth.token(&[])?;
    let app = state.services.app(principal.app_id).await?;
    Ok(Json(entities::application(&app, false)))
}
