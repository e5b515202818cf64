//! 限时秒杀 rules (issue 19): a flash sale sells one SKU at a flash price in time slots, each
//! with its own quota apart from the stock; a member buys at most `per_member` units of the
//! sale in all and at most `per_order` in one order; an unpaid flash order lapses sooner
//! than an ordinary one. What is checked here is the shape of a sale; the quota and the
//! member's count are taken by conditional updates in the store, never read-then-write.

use crate::DomainError;

/// Most slots one sale may have.
pub const MAX_SLOTS: usize = 10;
/// Most units one slot may offer.
pub const MAX_QUOTA: i64 = 1_000_000;
/// Most units one member may buy of one sale.
pub const MAX_PER_MEMBER: i64 = 100;
/// The unpaid timeout's range, in minutes (default 5).
pub const TIMEOUT_MINUTES: std::ops::RangeInclusive<i64> = 1..=30;

/// One time slot: `[starts, ends)` in ms, selling at most `quota` units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub starts: i64,
    pub ends: i64,
    pub quota: i64,
}

/// Checks a sale's slots: 1–[`MAX_SLOTS`], each ending after it starts, in time order and
/// not overlapping, each quota 1–[`MAX_QUOTA`]. Errors name `slots[i].<field>`.
pub fn check_slots(slots: &[Slot]) -> Result<(), DomainError> {
    if !(1..=MAX_SLOTS).contains(&slots.len()) {
        return Err(DomainError::invalid(
            "slots",
            format!("give 1–{MAX_SLOTS} time slots"),
        ));
    }
    for (i, s) in slots.iter().enumerate() {
        if s.ends <= s.starts {
            return Err(DomainError::invalid(
                format!("slots[{i}].ends_at"),
                "must be after the slot's start",
            ));
        }
        if !(1..=MAX_QUOTA).contains(&s.quota) {
            return Err(DomainError::invalid(
                format!("slots[{i}].quota"),
                format!("must be 1–{MAX_QUOTA}"),
            ));
        }
        if i > 0 && s.starts < slots[i - 1].ends {
            return Err(DomainError::invalid(
                format!("slots[{i}].starts_at"),
                "must not start before the slot before it ends (slots in time order, not overlapping)",
            ));
        }
    }
    Ok(())
}

/// Checks the limits: per member 1–[`MAX_PER_MEMBER`], per order 1 up to the per-member limit.
pub fn check_limits(per_member: i64, per_order: i64) -> Result<(), DomainError> {
    if !(1..=MAX_PER_MEMBER).contains(&per_member) {
        return Err(DomainError::invalid(
            "per_member_limit",
            format!("must be 1–{MAX_PER_MEMBER}"),
        ));
    }
    if !(1..=per_member).contains(&per_order) {
        return Err(DomainError::invalid(
            "per_order_limit",
            "must be 1 up to the per-member limit",
        ));
    }
    Ok(())
}

/// The slot selling at `now` (`starts ≤ now < ends`).
pub fn live_slot(slots: &[Slot], now: i64) -> Option<usize> {
    slots.iter().position(|s| s.starts <= now && now < s.ends)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn field(r: Result<(), DomainError>) -> String {
        match r {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_slots_and_limits_name_their_field() {
        let s = |starts, ends, quota| Slot {
            starts,
            ends,
            quota,
        };
        assert_eq!(field(check_slots(&[])), "slots");
        assert_eq!(field(check_slots(&[s(10, 10, 1)])), "slots[0].ends_at");
        assert_eq!(field(check_slots(&[s(0, 10, 0)])), "slots[0].quota");
        assert_eq!(
            field(check_slots(&[s(0, 10, 1), s(9, 20, 1)])),
            "slots[1].starts_at"
        );
        assert!(check_slots(&[s(0, 10, 1), s(10, 20, 1)]).is_ok());
        assert_eq!(field(check_limits(0, 1)), "per_member_limit");
        assert_eq!(field(check_limits(2, 3)), "per_order_limit");
        assert!(check_limits(2, 2).is_ok());
    }

    proptest! {
        #[test]
        fn at_most_one_slot_is_live_and_it_holds_now(
            gaps in prop::collection::vec((0i64..100, 1i64..100), 1..MAX_SLOTS),
            now in -10i64..2_000,
        ) {
            let mut at = 0;
            let slots: Vec<Slot> = gaps
                .iter()
                .map(|(gap, len)| {
                    at += gap;
                    let s = Slot { starts: at, ends: at + len, quota: 1 };
                    at += len;
                    s
                })
                .collect();
            prop_assert!(check_slots(&slots).is_ok());
            let holding: Vec<usize> = (0..slots.len())
                .filter(|&i| slots[i].starts <= now && now < slots[i].ends)
                .collect();
            prop_assert!(holding.len() <= 1);
            prop_assert_eq!(live_slot(&slots, now), holding.first().copied());
        }
    }
}
