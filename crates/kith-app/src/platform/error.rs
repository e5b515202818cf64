//! The application layer's one error type. The HTTP edge maps each variant once to a
//! problem document; nothing else in kith decides status codes.

use kith_domain::DomainError;
use kith_store::{StoreError, TxError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input failed a rule; `field` names the offending input. → 422
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// No credentials, or they are not valid (expired, revoked, wrong password). → 401
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated, but this principal may not do this to this resource. → 403
    #[error("{0}")]
    Forbidden(String),
    /// The resource does not exist, or the caller may not know it exists. → 404
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the current state (taken name, illegal move, duplicate).
    /// `field` names the input at fault when there is one. → 409
    #[error("{reason}")]
    Conflict {
        field: Option<String>,
        reason: String,
    },
    /// Too many attempts; try again after `retry_after_secs`. → 429
    #[error("too many attempts; retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: i64 },
    /// The request looks automated (too many failed logins, too many sign-ups from one
    /// address): it is taken only with this challenge solved. → 429 carrying the challenge
    #[error("solve the challenge and send the request again with its solution")]
    ChallengeRequired(Box<crate::platform::challenge::Challenge>),
    /// A service kith depends on is not there (no SMS provider configured, the provider
    /// failed). → 503
    #[error("{0}")]
    Unavailable(String),
    /// Storage failed below us. Unavailable → 503, anything else → opaque 500, logged.
    #[error(transparent)]
    Store(StoreError),
    /// A bug or a broken invariant: logged with its cause, answered with an opaque 500.
    #[error("internal: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

/// The sum of amounts of money, checked: an overflow means the stored figures are broken.
pub fn fen_sum(amounts: impl IntoIterator<Item = kith_domain::Fen>) -> AppResult<kith_domain::Fen> {
    kith_domain::Fen::checked_sum(amounts).ok_or_else(AppError::money_overflow)
}

impl AppError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn conflict(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Conflict {
            field: Some(field.into()),
            reason: reason.into(),
        }
    }

    /// A sum of money that does not fit an i64 of fen: the stored figures are broken.
    pub fn money_overflow() -> Self {
        Self::Internal("money overflow".into())
    }

    pub fn state(reason: impl Into<String>) -> Self {
        Self::Conflict {
            field: None,
            reason: reason.into(),
        }
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid { field, reason } => Self::Invalid { field, reason },
            e @ DomainError::IllegalTransition { .. } => Self::state(e.to_string()),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound("resource"),
            // Constraint names are the schema's business; use cases map the ones they
            // expect to a named field before this fallback is reached.
            StoreError::Unique { .. } => Self::state("this already exists"),
            other => Self::Store(other),
        }
    }
}

impl TxError for AppError {
    fn is_retryable(&self) -> bool {
        matches!(self, Self::Store(StoreError::Retryable(_)))
    }
}

/// Maps a unique violation on `table(columns)` to a conflict on `field`; passes anything
/// else through. `e.unique_as("accounts", &["email"], "email", "is already registered")`.
pub trait UniqueAs<T> {
    fn unique_as(self, table: &str, columns: &[&str], field: &str, reason: &str) -> AppResult<T>;
}

impl<T> UniqueAs<T> for Result<T, StoreError> {
    fn unique_as(self, table: &str, columns: &[&str], field: &str, reason: &str) -> AppResult<T> {
        self.map_err(|e| {
            if e.is_unique_on(table, columns) {
                AppError::conflict(field, reason)
            } else {
                e.into()
            }
        })
    }
}
