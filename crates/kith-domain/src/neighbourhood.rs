//! 社区团购 rules: a leader's (团长's) legal moves, the distance between two points
//! (haversine), how the pickup points a member may choose are ranked (trust first, then
//! distance), and the terms of a 接龙 batch.

use serde::{Deserialize, Serialize};

use crate::{Coordinates, DomainError};

/// Where a leader stands with the merchant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeaderStatus {
    /// Applied, not decided yet.
    Applied,
    /// Approved: their point takes pickup orders and they redeem codes there.
    Approved,
    /// Refused (final; the member may apply again).
    Refused,
    /// Suspended by the merchant: no new orders at the point, no redemptions.
    Suspended,
}

impl LeaderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Approved => "approved",
            Self::Refused => "refused",
            Self::Suspended => "suspended",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        Some(match s {
            "applied" => Self::Applied,
            "approved" => Self::Approved,
            "refused" => Self::Refused,
            "suspended" => Self::Suspended,
            _ => return None,
        })
    }

    fn refuse(self, action: &'static str) -> DomainError {
        DomainError::IllegalTransition {
            action,
            state: format!("the leader is {}", self.as_str()),
        }
    }

    pub fn approve(self) -> Result<Self, DomainError> {
        match self {
            Self::Applied => Ok(Self::Approved),
            other => Err(other.refuse("approve the leader")),
        }
    }

    pub fn refuse_application(self) -> Result<Self, DomainError> {
        match self {
            Self::Applied => Ok(Self::Refused),
            other => Err(other.refuse("refuse the application")),
        }
    }

    pub fn suspend(self) -> Result<Self, DomainError> {
        match self {
            Self::Approved => Ok(Self::Suspended),
            other => Err(other.refuse("suspend the leader")),
        }
    }

    pub fn resume(self) -> Result<Self, DomainError> {
        match self {
            Self::Suspended => Ok(Self::Approved),
            other => Err(other.refuse("resume the leader")),
        }
    }

    /// Whether members may choose this leader and join batches at their point.
    pub fn takes_orders(self) -> bool {
        self == Self::Approved
    }

    /// Whether the merchant may resume the leader (a suspended one).
    pub fn can_resume(self) -> bool {
        self == Self::Suspended
    }

    /// Whether the merchant may still set the leader's level (rate): not once refused.
    pub fn can_set_level(self) -> bool {
        self != Self::Refused
    }
}

impl std::fmt::Display for LeaderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Mean Earth radius, metres.
const EARTH_M: f64 = 6_371_008.8;

/// Great-circle distance in whole metres (haversine).
pub fn distance_m(a: Coordinates, b: Coordinates) -> i64 {
    let (la1, la2) = (a.lat().to_radians(), b.lat().to_radians());
    let dla = la2 - la1;
    let dlo = (b.lng() - a.lng()).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    let d = 2.0 * EARTH_M * h.sqrt().min(1.0).asin();
    d.round() as i64
}

/// What ranks a pickup point for one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointRank {
    /// Friends (mutual follows) who chose this leader.
    pub friends: i64,
    /// Other members of the member's communities who chose this leader.
    pub community: i64,
    /// Metres from the member; `None` when the member gave no position.
    pub distance_m: Option<i64>,
}

impl PointRank {
    /// The sort key, smallest first: friends there first, then community members, then
    /// the nearest. Trust outranks distance: a point where friends pick up is the one a
    /// neighbour recommends, even if another is a street closer.
    pub fn key(&self) -> (i64, i64, i64) {
        (
            -self.friends,
            -self.community,
            self.distance_m.unwrap_or(i64::MAX),
        )
    }
}

/// The terms of one product of a 接龙 batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemTerms {
    pub price_fen: i64,
    pub per_member_limit: i64,
    pub quantity_limit: i64,
}

/// Most products in one batch.
pub const MAX_ITEMS: usize = 20;

/// Checks one product's terms against its list price; `field` prefixes the errors
/// (`items[0]`).
pub fn check_item(field: &str, t: ItemTerms, list_price_fen: i64) -> Result<(), DomainError> {
    if t.price_fen <= 0 || t.price_fen > list_price_fen {
        return Err(DomainError::invalid(
            format!("{field}.price_fen"),
            "must be more than 0 and at most the list price",
        ));
    }
    if !(1..=999).contains(&t.per_member_limit) {
        return Err(DomainError::invalid(
            format!("{field}.per_member_limit"),
            "must be 1–999",
        ));
    }
    if !(1..=100_000).contains(&t.quantity_limit) {
        return Err(DomainError::invalid(
            format!("{field}.quantity_limit"),
            "must be 1–100000",
        ));
    }
    Ok(())
}

/// What a merchant lets its leaders sell in the batches they open themselves: one SKU's
/// lowest batch price and most units per batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub floor_price_fen: i64,
    pub max_quantity: i64,
}

/// Most products a merchant lets its leaders sell.
pub const MAX_ALLOWED: usize = 100;

/// Checks an allowance against the SKU's list price: a floor above 0 and at most the list
/// price (a batch price is never above it), 1–100000 units.
pub fn check_allowance(field: &str, a: Allowance, list_price_fen: i64) -> Result<(), DomainError> {
    if a.floor_price_fen <= 0 || a.floor_price_fen > list_price_fen {
        return Err(DomainError::invalid(
            format!("{field}.floor_price_fen"),
            "must be more than 0 and at most the list price",
        ));
    }
    if !(1..=100_000).contains(&a.max_quantity) {
        return Err(DomainError::invalid(
            format!("{field}.max_quantity"),
            "must be 1–100000",
        ));
    }
    Ok(())
}

/// Checks a leader's batch item against the merchant's allowance (after [`check_item`]):
/// not below the floor price, not more units than allowed.
pub fn check_leader_item(field: &str, t: ItemTerms, a: Allowance) -> Result<(), DomainError> {
    if t.price_fen < a.floor_price_fen {
        return Err(DomainError::invalid(
            format!("{field}.price_fen"),
            format!(
                "is below the merchant's floor price of {}",
                crate::Fen::new(a.floor_price_fen)
            ),
        ));
    }
    if t.quantity_limit > a.max_quantity {
        return Err(DomainError::invalid(
            format!("{field}.quantity_limit"),
            format!(
                "is over the merchant's most of {} units per batch",
                a.max_quantity
            ),
        ));
    }
    Ok(())
}

/// Checks a batch's window: it opens before its cut-off, the cut-off is in the future and
/// the pickup comes on or after the cut-off's day (both in ms; the pickup date as the ms of
/// its day's end, Beijing time).
pub fn check_window(
    now_ms: i64,
    starts_ms: i64,
    cutoff_ms: i64,
    pickup_day_end_ms: i64,
) -> Result<(), DomainError> {
    if cutoff_ms <= now_ms {
        return Err(DomainError::invalid("cutoff_at", "must be in the future"));
    }
    if cutoff_ms <= starts_ms {
        return Err(DomainError::invalid("cutoff_at", "must be after starts_at"));
    }
    if pickup_day_end_ms < cutoff_ms {
        return Err(DomainError::invalid(
            "pickup_date",
            "must be on or after the cut-off's day",
        ));
    }
    Ok(())
}

/// Whether a batch at its cut-off goes ahead: its paid units reach the minimum.
pub fn goes_ahead(paid_units: i64, min_total_units: i64) -> bool {
    paid_units >= min_total_units
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(lat: f64, lng: f64) -> Coordinates {
        Coordinates::parse(lat, lng).unwrap()
    }

    #[test]
    fn known_distances() {
        // 贵阳 (26.647, 106.630) to 遵义 (27.725, 106.927): about 124 km.
        let d = distance_m(c(26.647, 106.630), c(27.725, 106.927));
        assert!((123_000..126_000).contains(&d), "{d}");
        // 0.001° of latitude is about 111 m.
        assert_eq!(distance_m(c(26.0, 106.0), c(26.001, 106.0)), 111);
        assert_eq!(distance_m(c(26.0, 106.0), c(26.0, 106.0)), 0);
    }

    #[test]
    fn leader_moves() {
        use LeaderStatus::*;
        assert_eq!(Applied.approve().unwrap(), Approved);
        assert!(Approved.approve().is_err());
        assert_eq!(Approved.suspend().unwrap(), Suspended);
        assert_eq!(Suspended.resume().unwrap(), Approved);
        assert!(Refused.resume().is_err());
        assert!(Applied.suspend().is_err());
        assert!(!Suspended.takes_orders());
        for s in [Applied, Approved, Refused, Suspended] {
            assert_eq!(LeaderStatus::from_db(s.as_str()), Some(s));
        }
    }

    #[test]
    fn a_leaders_item_stays_within_the_allowance() {
        let a = Allowance {
            floor_price_fen: 3_000,
            max_quantity: 50,
        };
        let t = |price_fen, quantity_limit| ItemTerms {
            price_fen,
            per_member_limit: 3,
            quantity_limit,
        };
        assert!(check_leader_item("items[0]", t(3_000, 50), a).is_ok());
        let low = check_leader_item("items[0]", t(2_999, 50), a).unwrap_err();
        assert!(low.to_string().starts_with("items[0].price_fen: "), "{low}");
        assert!(low.to_string().contains("¥30.00"), "{low}");
        let many = check_leader_item("items[1]", t(4_000, 51), a).unwrap_err();
        assert!(
            many.to_string().starts_with("items[1].quantity_limit: "),
            "{many}"
        );
        assert!(check_allowance("items[0]", a, 3_000).is_ok());
        assert!(check_allowance("items[0]", a, 2_999).is_err());
        assert!(
            check_allowance(
                "items[0]",
                Allowance {
                    floor_price_fen: 0,
                    max_quantity: 1
                },
                10
            )
            .is_err()
        );
        assert!(
            check_allowance(
                "items[0]",
                Allowance {
                    floor_price_fen: 1,
                    max_quantity: 100_001
                },
                10
            )
            .is_err()
        );
    }

    fn coords() -> impl Strategy<Value = Coordinates> {
        (-89_000_000i64..89_000_000, -179_000_000i64..179_000_000)
            .prop_map(|(lat_e6, lng_e6)| Coordinates { lat_e6, lng_e6 })
    }

    proptest! {
        #[test]
        fn distance_is_a_metric(a in coords(), b in coords(), x in coords()) {
            let (ab, ba) = (distance_m(a, b), distance_m(b, a));
            prop_assert_eq!(ab, ba);
            prop_assert!(ab >= 0);
            prop_assert!(ab <= 20_015_200, "at most half the circumference: {}", ab);
            prop_assert_eq!(distance_m(a, a), 0);
            // Triangle inequality, up to rounding of each side to a metre.
            prop_assert!(distance_m(a, x) <= ab + distance_m(b, x) + 2);
        }

        #[test]
        fn trust_outranks_distance(
            f1 in 0i64..5, f2 in 0i64..5, c1 in 0i64..5, c2 in 0i64..5,
            d1 in 0i64..100_000, d2 in 0i64..100_000,
        ) {
            let a = PointRank { friends: f1, community: c1, distance_m: Some(d1) };
            let b = PointRank { friends: f2, community: c2, distance_m: Some(d2) };
            if f1 > f2 { prop_assert!(a.key() < b.key()); }
            if f1 == f2 && c1 > c2 { prop_assert!(a.key() < b.key()); }
            if f1 == f2 && c1 == c2 && d1 < d2 { prop_assert!(a.key() < b.key()); }
            let unknown = PointRank { distance_m: None, ..a };
            prop_assert!(a.key() <= unknown.key());
        }

        #[test]
        fn item_terms_hold(price in -10i64..20_000, per in -1i64..1200, qty in -1i64..200_000, list in 1i64..10_000) {
            let t = ItemTerms { price_fen: price, per_member_limit: per, quantity_limit: qty };
            let ok = check_item("items[0]", t, list).is_ok();
            prop_assert_eq!(ok, price > 0 && price <= list && (1..=999).contains(&per) && (1..=100_000).contains(&qty));
        }
    }
}
