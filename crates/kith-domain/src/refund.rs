//! A refund's life: `requested → succeeded | failed`. A refund through an outside provider
//! is asked for first and settled when the provider confirms; a wallet refund is requested
//! and succeeds in one transaction. Settled refunds never move again: a duplicate or late
//! confirmation finds the refund settled and changes nothing.

use serde::{Deserialize, Serialize};

use crate::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Asked of the provider; its lines' quantities and amount are held, nothing else moved.
    Requested,
    /// The provider paid the buyer back; the ledger, commission, lines and stock moved.
    Succeeded,
    /// The provider refused or gave up; the hold was released, nothing else moved.
    Failed,
}

impl RefundStatus {
    pub const ALL: [Self; 3] = [Self::Requested, Self::Succeeded, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The provider confirmed the refund.
    pub fn succeed(self) -> Result<Self, DomainError> {
        match self {
            Self::Requested => Ok(Self::Succeeded),
            other => Err(other.refuse("confirm a refund")),
        }
    }

    /// The provider refused the refund or closed it.
    pub fn fail(self) -> Result<Self, DomainError> {
        match self {
            Self::Requested => Ok(Self::Failed),
            other => Err(other.refuse("fail a refund")),
        }
    }

    /// Whether staff may try a new refund for it: it failed at the provider.
    pub fn can_retry(self) -> bool {
        self == Self::Failed
    }

    /// Whether the refund still holds its lines' quantities and amount.
    pub fn holds(self) -> bool {
        self == Self::Requested
    }

    fn refuse(self, action: &'static str) -> DomainError {
        DomainError::IllegalTransition {
            action,
            state: self.as_str().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_requested_refund_settles_and_a_settled_one_never_moves_again() {
        use RefundStatus::*;
        assert_eq!(Requested.succeed(), Ok(Succeeded));
        assert_eq!(Requested.fail(), Ok(Failed));
        for settled in [Succeeded, Failed] {
            assert!(settled.succeed().is_err());
            assert!(settled.fail().is_err());
            assert!(!settled.holds());
        }
        assert!(Requested.holds());
        for s in RefundStatus::ALL {
            assert_eq!(RefundStatus::from_db(s.as_str()), Some(s));
        }
        assert_eq!(RefundStatus::from_db("pending"), None);
    }
}
