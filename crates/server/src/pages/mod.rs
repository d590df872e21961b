//! The web UI: server-rendered pages in Norwegian bokmål. Each handler parses the
//! request, calls `service`, and renders with maud. Forms show each error next to
//! its field and keep what was typed.

pub mod layout;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/static/style.css", get(stylesheet))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        layout::STYLESHEET,
    )
}
