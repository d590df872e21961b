//! How an error looks to a person: a Norwegian page, or the way to the login when
//! logged out. The error type itself (`crate::error`) knows no pages.

use axum::response::{IntoResponse, Response};

use crate::error::{AppError, PageError};

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let error = self.0;
        error.log();
        if matches!(error, AppError::Unauthenticated) {
            return axum::response::Redirect::to("/login").into_response();
        }
        if matches!(error, AppError::PortalUnauthenticated) {
            return axum::response::Redirect::to("/portal/logg-inn").into_response();
        }
        let page = super::layout::bare(
            error.title(),
            maud::html! {
                main.narrow {
                    h1 { (error.title()) }
                    p.error role="alert" { (error.message_nb()) }
                    @if matches!(error, AppError::LoginFailed(_) | AppError::Upstream(_)) {
                        p { a href="/login" { "Tilbake til innlogging" } }
                    } @else {
                        p { a href="/" { "Til forsiden" } }
                    }
                }
            },
        );
        let mut response = (error.status(), page).into_response();
        if let Some((name, value)) = error.retry_after() {
            response.headers_mut().insert(name, value);
        }
        response
    }
}
