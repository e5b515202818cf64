//! Merchants: the application a member files, the staff roles inside a merchant, and the
//! codes of its membership tiers.

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// Where a merchant application stands. `pending → approved | rejected`; a rejected
/// applicant may re-apply, which starts a new pending application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MerchantStatus {
    Pending,
    Approved,
    Rejected,
}

impl MerchantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "approved" => Some(Self::Approved),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }

    /// A platform admin approves a pending application.
    pub fn approve(self) -> Result<Self, DomainError> {
        match self {
            Self::Pending => Ok(Self::Approved),
            other => Err(DomainError::IllegalTransition {
                action: "approve",
                state: other.as_str().to_owned(),
            }),
        }
    }

    /// A platform admin rejects a pending application (the reason is kept beside it).
    pub fn reject(self) -> Result<Self, DomainError> {
        match self {
            Self::Pending => Ok(Self::Rejected),
            other => Err(DomainError::IllegalTransition {
                action: "reject",
                state: other.as_str().to_owned(),
            }),
        }
    }

    /// Only an approved merchant trades: sets up tiers, stores, staff, webhooks.
    pub fn ensure_trading(self) -> Result<(), DomainError> {
        match self {
            Self::Approved => Ok(()),
            other => Err(DomainError::IllegalTransition {
                action: "operate the merchant",
                state: other.as_str().to_owned(),
            }),
        }
    }
}

/// A member's role inside one merchant. The owner is the applicant; the owner invites
/// managers. Clerks are not staff of the whole merchant: they belong to one store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    Owner,
    Manager,
}

impl StaffRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Manager => "manager",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Self::Owner),
            "manager" => Some(Self::Manager),
            _ => None,
        }
    }
}

/// The code of a membership tier, unique within a merchant: `member`, `shareholder`, or a
/// merchant's own (`gold`, `vip_2`). Lower-case ASCII letters, digits and `_`, 1–32 long,
/// starting with a letter, so it is safe in URLs and price tables.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TierCode(String);

impl TierCode {
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let ok = !input.is_empty()
            && input.len() <= 32
            && input.as_bytes()[0].is_ascii_lowercase()
            && input
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            return Err(DomainError::invalid(
                "code",
                "must be 1–32 of a-z, 0-9 and _, starting with a letter",
            ));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_moves() {
        use MerchantStatus::*;
        assert_eq!(Pending.approve(), Ok(Approved));
        assert_eq!(Pending.reject(), Ok(Rejected));
        assert!(Approved.approve().is_err());
        assert!(Rejected.approve().is_err());
        assert!(Approved.reject().is_err());
        assert!(Approved.ensure_trading().is_ok());
        assert!(Pending.ensure_trading().is_err());
        for s in [Pending, Approved, Rejected] {
            assert_eq!(MerchantStatus::from_db(s.as_str()), Some(s));
        }
    }

    #[test]
    fn tier_codes() {
        assert!(TierCode::parse("shareholder").is_ok());
        assert!(TierCode::parse("vip_2").is_ok());
        for bad in ["", "2vip", "VIP", "vip-2", "会员", &"a".repeat(33)] {
            assert!(TierCode::parse(bad).is_err(), "{bad}");
        }
    }
}
