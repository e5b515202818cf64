//! The domain's one error type. Each variant has a business meaning; the HTTP edge maps
//! them to problem documents (invalid → 422 naming the field, illegal move → 409).

/// What the domain refuses, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A value from outside failed to parse. `field` names the offending input as the
    /// client sent it, so the problem document can point at it.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// A state machine was asked for a move it does not allow from its current state.
    #[error("cannot {action} while {state}")]
    IllegalTransition { action: &'static str, state: String },
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The same error with its field renamed: parsers name a generic field (`"text"`), the
    /// caller knows the real one (`"name"`, `"address"`).
    pub fn for_field(self, name: &str) -> Self {
        match self {
            Self::Invalid { reason, .. } => Self::Invalid {
                field: name.to_owned(),
                reason,
            },
            other => other,
        }
    }
}
