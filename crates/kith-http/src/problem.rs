//! The one place errors become HTTP: RFC 9457 problem documents
//! (`application/problem+json`). Application errors map by variant; edge errors (bad
//! JSON, missing auth, oversized bodies) are built here too. A 500 says nothing about its
//! cause to the client; the cause is logged with the request id.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kith_app::AppError;
use kith_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem document, with kith's extension members.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem, e.g. `/problems/validation`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request input at fault (a JSON field path, a query parameter or a header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds to wait before retrying (429 only; also sent as `Retry-After`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<i64>,
    /// A proof-of-work challenge to solve (`challenge-required` only): send the request
    /// again with the solution in its `challenge` field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<Box<kith_app::platform::challenge::Challenge>>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("/problems/{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            retry_after: None,
            challenge: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry = self.retry_after;
        let mut res = (status, axum::Json(self)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = retry
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

/// What handlers return on failure (boxed: a problem is a few strings, and the happy
/// path should not carry their size in every `Result`).
#[derive(Debug)]
pub struct ApiError(pub Box<Problem>);

pub type ApiResult<T> = Result<T, ApiError>;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        Self(Box::new(p))
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        use StatusCode as S;
        let p = match e {
            AppError::Invalid { field, reason } => Problem::new(
                S::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid input",
                format!("{field}: {reason}"),
            )
            .with_field(field),
            AppError::Unauthenticated(d) => Problem::new(
                S::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
                d,
            ),
            AppError::Forbidden(d) => Problem::new(S::FORBIDDEN, "forbidden", "Forbidden", d),
            AppError::NotFound(what) => Problem::new(
                S::NOT_FOUND,
                "not-found",
                "Not found",
                format!("{what} not found"),
            ),
            AppError::Conflict { field, reason } => {
                let p = Problem::new(
                    S::CONFLICT,
                    "conflict",
                    "Conflict",
                    match &field {
                        Some(f) => format!("{f}: {reason}"),
                        None => reason,
                    },
                );
                match field {
                    Some(f) => p.with_field(f),
                    None => p,
                }
            }
            AppError::TooManyRequests { retry_after_secs } => {
                let mut p = Problem::new(
                    S::TOO_MANY_REQUESTS,
                    "too-many-requests",
                    "Too many requests",
                    format!("too many attempts; retry after {retry_after_secs} s"),
                );
                p.retry_after = Some(retry_after_secs);
                p
            }
            AppError::ChallengeRequired(challenge) => {
                let mut p = Problem::new(
                    S::TOO_MANY_REQUESTS,
                    "challenge-required",
                    "Challenge required",
                    "this looks automated: solve the challenge and send the request again with its solution in `challenge`",
                )
                .with_field("challenge");
                p.challenge = Some(challenge);
                p
            }
            AppError::Unavailable(d) => Problem::new(
                S::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
                d,
            ),
            AppError::Store(StoreError::Unavailable(cause)) => {
                tracing::error!(%cause, "storage unavailable");
                Problem::new(
                    S::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service unavailable",
                    "storage is unavailable; try again shortly",
                )
            }
            AppError::Store(cause) => internal(&cause),
            AppError::Internal(cause) => internal(&cause),
        };
        Self(Box::new(p))
    }
}

/// Logs the cause (with the request id from the current span) and answers opaquely.
pub fn internal(cause: &dyn std::fmt::Display) -> Problem {
    tracing::error!(%cause, "internal error");
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Internal error",
        "something went wrong on our side; it has been logged",
    )
}
