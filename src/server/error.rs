//! The one place refusals become HTTP answers: a status, the stable code and the Chinese
//! message; internal failures are logged here, once, with their cause.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use piaojue_core::refusal::{Class, Refusal};

/// A refusal on its way out as an HTTP answer.
#[derive(Debug)]
pub struct ApiError(pub Refusal);

impl From<Refusal> for ApiError {
    fn from(e: Refusal) -> Self {
        ApiError(e)
    }
}

/// The HTTP status of each class of refusal.
pub fn status(class: Class) -> StatusCode {
    match class {
        Class::Invalid => StatusCode::BAD_REQUEST,
        Class::Unauthorized => StatusCode::UNAUTHORIZED,
        Class::Forbidden => StatusCode::FORBIDDEN,
        Class::NotFound => StatusCode::NOT_FOUND,
        Class::Conflict => StatusCode::CONFLICT,
        Class::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Class::TooMany => StatusCode::TOO_MANY_REQUESTS,
        Class::Timeout => StatusCode::REQUEST_TIMEOUT,
        Class::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        if let Refusal::Internal(what, cause) = &e {
            tracing::error!(%cause, "{what}");
        }
        (
            status(e.class()),
            Json(json!({ "error": e.code(), "message": e.message() })),
        )
            .into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
