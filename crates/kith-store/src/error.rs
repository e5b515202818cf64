//! Storage errors: small on purpose. Business meaning is added by the layer above.

/// What can go wrong below the rules.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A row the caller required was not there.
    #[error("not found")]
    NotFound,
    /// A unique or primary-key constraint refused the write. `constraint` is
    /// `{table}_{col}_{col}_key` on PostgreSQL (rebuilt from the error's table and key
    /// columns, so primary keys read the same) or SQLite's message; use
    /// [`StoreError::is_unique_on`] rather than matching it by hand.
    #[error("unique constraint violated: {constraint}")]
    Unique { constraint: String },
    /// A foreign-key or check constraint refused the write.
    #[error("constraint violated: {detail}")]
    Constraint { detail: String },
    /// The engine asked us to try again (serialization failure, deadlock, busy).
    #[error("transient conflict, retry: {0}")]
    Retryable(String),
    /// The engine could not be reached or the connection broke.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A value did not have the type the code expected: a bug in the SQL or the code.
    #[error("decode: {0}")]
    Decode(String),
    /// Anything else the engine reported.
    #[error("storage: {0}")]
    Other(String),
}

impl StoreError {
    /// Is this a unique violation on `table(columns…)`? Works on both engines: PostgreSQL
    /// names the constraint `{table}_{col}_{col}_key` (our migrations keep that scheme for
    /// unique indexes too), SQLite reports `table.col, table.col`.
    pub fn is_unique_on(&self, table: &str, columns: &[&str]) -> bool {
        let Self::Unique { constraint } = self else {
            return false;
        };
        let pg = format!("{table}_{}_key", columns.join("_"));
        let sqlite = columns
            .iter()
            .map(|c| format!("{table}.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        constraint == &pg
            || constraint
                .strip_prefix("UNIQUE constraint failed: ")
                .is_some_and(|cols| cols == sqlite)
    }
}

/// The error type of a unit of work run by [`crate::Db::write`] or [`crate::Db::read`]: it
/// can hold a storage error, and says whether the whole unit may be run again.
pub trait TxError: From<StoreError> + Send + 'static {
    fn is_retryable(&self) -> bool;
}

impl TxError for StoreError {
    fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Retryable(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_matching_on_both_engines() {
        let pg = StoreError::Unique {
            constraint: "accounts_email_key".into(),
        };
        let lite = StoreError::Unique {
            constraint: "UNIQUE constraint failed: accounts.email".into(),
        };
        let multi = StoreError::Unique {
            constraint: "UNIQUE constraint failed: tiers.merchant_id, tiers.code".into(),
        };
        assert!(pg.is_unique_on("accounts", &["email"]));
        assert!(lite.is_unique_on("accounts", &["email"]));
        assert!(multi.is_unique_on("tiers", &["merchant_id", "code"]));
        assert!(!lite.is_unique_on("accounts", &["phone"]));
        // Only the exact column list matches.
        assert!(!multi.is_unique_on("tiers", &["code"]));
    }
}
