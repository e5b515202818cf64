//! Where a merchant's promotion stands — a coupon template, a 满减 activity, a 秒杀 sale or a
//! group-buy campaign — and which of the merchant's moves each standing allows. The pages
//! ask these questions instead of comparing status words.

use serde::{Deserialize, Serialize};

/// A promotion is active, paused by the merchant, or ended for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PromotionStatus {
    /// Running (still subject to its own window and quota).
    Active,
    /// Paused by the merchant; may be resumed.
    Paused,
    /// Ended by the merchant, for good.
    Ended,
}

impl PromotionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Ended => "ended",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "paused" => Some(Self::Paused),
            "ended" => Some(Self::Ended),
            _ => None,
        }
    }

    pub fn is_active(self) -> bool {
        self == Self::Active
    }

    /// Active → paused.
    pub fn can_pause(self) -> bool {
        self == Self::Active
    }

    /// Paused → active.
    pub fn can_resume(self) -> bool {
        self == Self::Paused
    }

    /// Active or paused → ended.
    pub fn can_end(self) -> bool {
        self != Self::Ended
    }
}

impl std::fmt::Display for PromotionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a coupon a member holds stands. Expiry is a fact of time, not a write: a coupon
/// stored `available` whose validity has lapsed reads as `expired` ([`CouponState::at`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CouponState {
    /// Can be spent at checkout.
    Available,
    /// Spent on an order not yet paid; back to available if it is cancelled.
    Locked,
    /// Spent on a paid order.
    Used,
    /// Its validity ended before it was spent.
    Expired,
}

impl CouponState {
    /// Every state, in the order a member's list shows them.
    pub const ALL: [CouponState; 4] = [Self::Available, Self::Locked, Self::Used, Self::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Locked => "locked",
            Self::Used => "used",
            Self::Expired => "expired",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The state as read at a moment: stored `available` but `lapsed` is expired.
    pub fn at(self, lapsed: bool) -> Self {
        if self == Self::Available && lapsed {
            Self::Expired
        } else {
            self
        }
    }

    /// Whether it can be spent now.
    pub fn is_available(self) -> bool {
        self == Self::Available
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn coupon_states_read_back_and_only_an_available_one_lapses() {
        use super::CouponState;
        for st in CouponState::ALL {
            assert_eq!(CouponState::from_db(st.as_str()), Some(st));
            assert_eq!(st.at(false), st);
        }
        assert_eq!(CouponState::from_db("spent"), None);
        assert_eq!(CouponState::Available.at(true), CouponState::Expired);
        assert_eq!(CouponState::Used.at(true), CouponState::Used);
        assert_eq!(CouponState::Locked.at(true), CouponState::Locked);
        assert!(CouponState::Available.is_available() && !CouponState::Locked.is_available());
    }

    use super::PromotionStatus::{self, *};

    #[test]
    fn each_status_reads_back_and_allows_its_moves() {
        for s in [Active, Paused, Ended] {
            assert_eq!(PromotionStatus::from_db(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert_eq!(PromotionStatus::from_db("live"), None);
        assert!(Active.can_pause() && !Active.can_resume() && Active.can_end());
        assert!(!Paused.can_pause() && Paused.can_resume() && Paused.can_end());
        assert!(!Ended.can_pause() && !Ended.can_resume() && !Ended.can_end());
    }
}
