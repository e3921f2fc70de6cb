//! An axum hello-world returning a small JSON object: the ceiling for the
//! web stack on this machine, measured beside Ferrodon in the same run.

use axum::routing::get;
use axum::{Json, Router};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3901".to_owned());
    let app = Router::new().route("/", get(|| async { Json(serde_json::json!({"hello": "world"})) }));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
