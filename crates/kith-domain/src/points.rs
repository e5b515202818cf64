//! Points (积分, issue 19): a merchant's loyalty asset. A member earns them on the goods
//! actually paid, frozen like commission until the order's after-sale window closes, and
//! spends them at checkout as a discount ([`crate::order_price`] stage 4). They are kept on
//! the ledger in accounts of their own (`points:…`, [`crate::ledger::accounts`]), in
//! entries that never hold money (a points entry and a money entry are different entries).
//!
//! This module holds the merchant's rule and its arithmetic; who holds what is the
//! ledger's.

use serde::Serialize;

use crate::{DomainError, Fen};

/// A merchant's points rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PointsRule {
    /// Points earned per ¥1 of goods actually paid (0–100; 0: the shop gives none).
    pub earn_per_yuan: u32,
    /// Points worth ¥1 at checkout (1–10,000; 100 is "100 积分抵 1 元").
    pub points_per_yuan: u32,
    /// At most this share of the goods (after 满减 and the coupon) may be paid in points,
    /// 1–100 %.
    pub cap_percent: u8,
    /// Days points stay usable after they become available (30–1,095), or 0: they never
    /// expire.
    pub expire_days: u32,
}

impl PointsRule {
    /// What a new shop starts with: points off until the merchant turns them on.
    pub const OFF: Self = Self {
        earn_per_yuan: 0,
        points_per_yuan: 100,
        cap_percent: 50,
        expire_days: 365,
    };

    /// A rule from its sent or stored form; errors name the field.
    pub fn parse(
        earn_per_yuan: i64,
        points_per_yuan: i64,
        cap_percent: i64,
        expire_days: i64,
    ) -> Result<Self, DomainError> {
        let earn_per_yuan = u32::try_from(earn_per_yuan)
            .ok()
            .filter(|e| *e <= 100)
            .ok_or_else(|| DomainError::invalid("earn_per_yuan", "must be 0–100"))?;
        let points_per_yuan = u32::try_from(points_per_yuan)
            .ok()
            .filter(|p| (1..=10_000).contains(p))
            .ok_or_else(|| DomainError::invalid("points_per_yuan", "must be 1–10000"))?;
        let cap_percent = u8::try_from(cap_percent)
            .ok()
            .filter(|c| (1..=100).contains(c))
            .ok_or_else(|| DomainError::invalid("cap_percent", "must be 1–100"))?;
        let expire_days = u32::try_from(expire_days)
            .ok()
            .filter(|d| *d == 0 || (30..=1_095).contains(d))
            .ok_or_else(|| {
                DomainError::invalid("expire_days", "must be 0 (never) or 30–1095 days")
            })?;
        Ok(Self {
            earn_per_yuan,
            points_per_yuan,
            cap_percent,
            expire_days,
        })
    }

    /// Points earned on `goods_paid`: `⌊fen · earn_per_yuan ⁄ 100⌋`.
    pub fn earned(&self, goods_paid: Fen) -> i64 {
        mul_div_floor(goods_paid.get().max(0), i64::from(self.earn_per_yuan), 100)
    }

    /// What `points` are worth at checkout, rounded down to the fen.
    pub fn worth(&self, points: i64) -> Fen {
        Fen::new(mul_div_floor(
            points.max(0),
            100,
            i64::from(self.points_per_yuan),
        ))
    }
}

/// `⌊a · b ⁄ d⌋` for non-negative `a`, `b` and positive `d`, without overflow.
fn mul_div_floor(a: i64, b: i64, d: i64) -> i64 {
    i64::try_from(i128::from(a) * i128::from(b) / i128::from(d)).unwrap_or(i64::MAX)
}

/// The points that `fen` of discount costs at `points_per_yuan`: `⌈fen · ppy ⁄ 100⌉`.
/// Never more than the points whose [`PointsRule::worth`] gave `fen`.
pub fn cost(fen: Fen, points_per_yuan: u32) -> i64 {
    let n = i128::from(fen.get().max(0)) * i128::from(points_per_yuan);
    i64::try_from((n + 99) / 100).unwrap_or(i64::MAX)
}

/// How many points expire now, first in first out. Every credit to a member's available
/// points at one merchant is a *lot* with its own expiry; spending takes the oldest first.
/// So of `lots_total` ever credited, `lots_total − balance` were spent (or expired) and
/// came out of the oldest lots; of the lots already past their expiry (`lots_expired` in
/// all) what is left unspent expires: `lots_expired − (lots_total − balance)`, never less
/// than zero nor more than the balance. Lots are credited in expiry order while the shop's
/// `expire_days` stays put; a shop that shortens it may see a newer lot expire before an
/// older one, and the first-in-first-out reading is then approximate.
pub fn expired_due(lots_expired: i64, lots_total: i64, balance: i64) -> i64 {
    let spent = (lots_total - balance).max(0);
    (lots_expired - spent).clamp(0, balance.max(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rules_parse_and_name_their_field() {
        assert!(PointsRule::parse(1, 100, 50, 365).is_ok());
        assert!(PointsRule::parse(0, 1, 100, 0).is_ok());
        for (args, field) in [
            ((101, 100, 50, 365), "earn_per_yuan"),
            ((-1, 100, 50, 365), "earn_per_yuan"),
            ((1, 0, 50, 365), "points_per_yuan"),
            ((1, 10_001, 50, 365), "points_per_yuan"),
            ((1, 100, 0, 365), "cap_percent"),
            ((1, 100, 101, 365), "cap_percent"),
            ((1, 100, 50, 29), "expire_days"),
            ((1, 100, 50, 1_096), "expire_days"),
        ] {
            match PointsRule::parse(args.0, args.1, args.2, args.3) {
                Err(DomainError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{args:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn earning_and_worth_round_down() {
        let r = PointsRule::parse(2, 100, 50, 365).unwrap();
        // ¥123.45 of goods at 2 points per yuan: 246 points (246.9 rounded down).
        assert_eq!(r.earned(Fen::new(12_345)), 246);
        assert_eq!(r.worth(250), Fen::new(250));
        let r = PointsRule::parse(1, 30, 50, 0).unwrap();
        // 30 points per yuan: 10 points are worth 33 fen, and 33 fen cost 10 points.
        assert_eq!(r.worth(10), Fen::new(33));
        assert_eq!(cost(Fen::new(33), 30), 10);
        assert_eq!(cost(Fen::new(100), 30), 30);
    }

    #[test]
    fn the_oldest_points_expire_first() {
        // 100 then 50 credited; 30 spent (from the first lot); the first lot expires: 70.
        assert_eq!(expired_due(100, 150, 120), 70);
        // Run again after expiring them: nothing more.
        assert_eq!(expired_due(100, 150, 50), 0);
        // Everything of the old lot was spent: nothing expires.
        assert_eq!(expired_due(100, 150, 40), 0);
    }

    proptest! {
        #[test]
        fn points_spent_never_buy_more_than_they_are_worth(
            points in 0i64..10_000_000, ppy in 1u32..=10_000,
        ) {
            let r = PointsRule { points_per_yuan: ppy, ..PointsRule::OFF };
            let fen = r.worth(points);
            let c = cost(fen, ppy);
            prop_assert!(c <= points);
            // And the cost is enough: those points are worth at least the fen.
            prop_assert!(r.worth(c) >= fen);
        }

        #[test]
        fn fifo_expiry_matches_a_lot_by_lot_simulation(
            lots in proptest::collection::vec((1i64..1_000, any::<bool>()), 1..12),
            spends in proptest::collection::vec(0i64..1_500, 0..12),
        ) {
            // Credit the lots in order, spending between them oldest first; then the lots
            // marked expired lose what is left of them.
            let mut left: Vec<i64> = Vec::new();
            let mut balance = 0;
            for (i, (amount, _)) in lots.iter().enumerate() {
                left.push(*amount);
                balance += amount;
                let mut s = spends.get(i).copied().unwrap_or(0).min(balance);
                balance -= s;
                for l in left.iter_mut() {
                    let take = s.min(*l);
                    *l -= take;
                    s -= take;
                }
            }
            // Expired lots are a prefix (lots are credited in expiry order).
            let cut = lots.iter().take_while(|(_, expired)| *expired).count();
            let want: i64 = left[..cut].iter().sum();
            let total: i64 = lots.iter().map(|(a, _)| a).sum();
            let expired: i64 = lots[..cut].iter().map(|(a, _)| a).sum();
            prop_assert_eq!(expired_due(expired, total, balance), want);
        }
    }
}
