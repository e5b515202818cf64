//! What an order costs and what a refund gives back: the buyer's unit price, goods and
//! shipping totals, and the amount of a per-line refund. All money is [`Fen`] with checked
//! arithmetic — an overflow is an error, never a wrap — and never a float.

use serde::Serialize;

use crate::{DomainError, Fen, order::DeliveryMethod};

/// How many of one SKU a line holds: 1 to 999. The cap keeps a typo from reserving a
/// warehouse and keeps `unit × quantity` far from overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Quantity(u32);

impl Quantity {
    pub const MAX: u32 = 999;

    pub fn parse(input: i64) -> Result<Self, DomainError> {
        match u32::try_from(input) {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err(DomainError::invalid("quantity", "must be 1–999")),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// The price one buyer pays for one unit: the SKU's price for the buyer's tier at this
/// merchant if it has one, else the list price (docs/PRODUCT.md §4, Prices).
pub fn unit_price(list: Fen, tier_prices: &[(&str, Fen)], buyer_tier: Option<&str>) -> Fen {
    buyer_tier
        .and_then(|tier| tier_prices.iter().find(|(code, _)| *code == tier))
        .map_or(list, |(_, price)| *price)
}

/// A merchant's shipping fee: a flat fee, waived from a goods amount on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ShippingRule {
    pub flat_fee: Fen,
    /// Goods of at least this amount ship free; `None`: never free.
    pub free_over: Option<Fen>,
}

impl ShippingRule {
    pub fn fee(&self, goods: Fen, method: DeliveryMethod) -> Fen {
        match (method, self.free_over) {
            (DeliveryMethod::Pickup, _) => Fen::ZERO,
            (DeliveryMethod::Shipping, Some(threshold)) if goods >= threshold => Fen::ZERO,
            (DeliveryMethod::Shipping, _) => self.flat_fee,
        }
    }
}

/// What an order costs: `total = goods + shipping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub goods: Fen,
    pub shipping: Fen,
    pub total: Fen,
}

/// `unit × quantity`, checked.
fn line_amount(unit: Fen, quantity: u32) -> Option<Fen> {
    unit.get().checked_mul(i64::from(quantity)).map(Fen::new)
}

fn too_large(field: &str) -> DomainError {
    DomainError::invalid(field, "amount is too large")
}

/// The totals of an order of `lines` (unit price, quantity). An order has at least one
/// line; a negative unit price is refused (it would let one line pay for another).
pub fn totals(
    lines: &[(Fen, Quantity)],
    rule: &ShippingRule,
    method: DeliveryMethod,
) -> Result<Totals, DomainError> {
    if lines.is_empty() {
        return Err(DomainError::invalid(
            "lines",
            "an order needs at least one line",
        ));
    }
    let mut goods = Fen::ZERO;
    for (i, &(unit, quantity)) in lines.iter().enumerate() {
        if unit < Fen::ZERO {
            return Err(DomainError::invalid(
                format!("lines[{i}].unit"),
                "must not be negative",
            ));
        }
        goods = line_amount(unit, quantity.get())
            .and_then(|amount| goods.checked_add(amount))
            .ok_or_else(|| too_large("lines"))?;
    }
    let shipping = rule.fee(goods, method);
    let total = goods
        .checked_add(shipping)
        .ok_or_else(|| too_large("lines"))?;
    Ok(Totals {
        goods,
        shipping,
        total,
    })
}

/// One line of a paid order as a refund sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineState {
    /// What the buyer paid per unit.
    pub unit: Fen,
    pub quantity: u32,
    /// Units already refunded by earlier refunds.
    pub refunded_quantity: u32,
    /// The line's part of the order's discounts (a coupon): the line paid
    /// `unit × quantity − discount`.
    pub discount: Fen,
    /// Money of this line already given back or held by refunds in flight — by units or
    /// by an amount alone (an arbitration's "part": money back, the goods kept). A line
    /// never gives back more than it paid, whatever mix of the two.
    pub refunded_money: Fen,
}

impl LineState {
    /// What the line paid in all, `unit × quantity − discount`.
    fn paid(&self) -> Option<Fen> {
        line_amount(self.unit, self.quantity)?.checked_sub(self.discount)
    }

    /// What the line may still give back.
    fn money_left(&self) -> Option<Fen> {
        self.paid()?.checked_sub(self.refunded_money)
    }

    /// What refunding `quantity` more units returns: `⌊paid·after⁄n⌋ − ⌊paid·before⁄n⌋`
    /// (exactly `unit × quantity` for a line without a discount), so a line's refunds add
    /// up to what it paid (`order_price::LinePrice::refund_of`).
    fn refund_of(&self, quantity: u32) -> Option<Fen> {
        let paid = self.paid()?;
        let n = i128::from(self.quantity.max(1));
        let part = |k: u32| i128::from(paid.get()) * i128::from(k) / n;
        let before = self.refunded_quantity;
        let after = before.checked_add(quantity)?;
        i64::try_from(part(after) - part(before)).ok().map(Fen::new)
    }
}

/// What one refund gives back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundPlan {
    /// The money to return now.
    pub amount: Fen,
    /// `(line index, quantity, quantity × unit)` for each requested line, in request order.
    pub per_line: Vec<(usize, u32, Fen)>,
    /// This refund takes the last units of the order, so the shipping fee goes back too.
    pub includes_shipping: bool,
}

/// The amount of a refund of `request` — `(line index, quantity)` pairs — against an order
/// whose lines stand as `lines`, that paid `shipping` for delivery and has had
/// `already_refunded` given back so far.
///
/// Each requested quantity is at least 1 and at most what remains of its line; a line is
/// named at most once; errors name the offending request item as `lines[k]` (its position
/// in `request`, which is how the client sent it).
///
/// The amount is Σ quantity × unit. When the request takes everything that remains, it is
/// instead everything not yet given back — `goods + shipping − already_refunded` — so the
/// shipping fee is returned with the last units and the refunds of an order always add up
/// to exactly what was paid. A refund never gives back more than remains.
pub fn refund_amount(
    lines: &[LineState],
    shipping: Fen,
    already_refunded: Fen,
    request: &[(usize, u32)],
) -> Result<RefundPlan, DomainError> {
    if request.is_empty() {
        return Err(DomainError::invalid(
            "lines",
            "a refund needs at least one line",
        ));
    }
    let remaining_money = money_remaining(lines, shipping, already_refunded)?;

    let mut refunded_after: Vec<u32> = lines.iter().map(|l| l.refunded_quantity).collect();
    let mut per_line = Vec::with_capacity(request.len());
    let mut amount = Fen::ZERO;
    for (k, &(index, quantity)) in request.iter().enumerate() {
        let earlier = request[..k].iter().map(|&(other, _)| other);
        let line = named_line(lines, earlier, index, format!("lines[{k}].line"))?;
        let remaining = line.quantity - line.refunded_quantity;
        if quantity < 1 || quantity > remaining {
            return Err(DomainError::invalid(
                format!("lines[{k}].quantity"),
                format!("must be 1–{remaining}, the units of the line not yet refunded"),
            ));
        }
        // Units of a line that already gave money back by an amount return at most what
        // the line has left.
        let line_refund = line
            .refund_of(quantity)
            .zip(line.money_left())
            .map(|(units, left)| units.min(left))
            .ok_or_else(|| too_large("lines"))?;
        amount = amount
            .checked_add(line_refund)
            .ok_or_else(|| too_large("lines"))?;
        refunded_after[index] += quantity;
        per_line.push((index, quantity, line_refund));
    }

    let includes_shipping = lines
        .iter()
        .zip(&refunded_after)
        .all(|(line, refunded)| *refunded == line.quantity);
    let amount = if includes_shipping {
        // The last refund closes the account exactly, whatever earlier refunds returned.
        remaining_money
    } else if amount > remaining_money {
        return Err(DomainError::invalid(
            "lines",
            "the refund would exceed what remains of the payment",
        ));
    } else {
        amount
    };
    if amount == Fen::ZERO {
        // Free units (a gift SKU at 0) or an order already given back in full: there is
        // no money to return, and a refund is a movement of money.
        return Err(DomainError::invalid(
            "lines",
            "these units cost nothing, so there is no money to give back",
        ));
    }
    Ok(RefundPlan {
        amount,
        per_line,
        includes_shipping,
    })
}

/// What an order whose lines stand as `lines`, that paid `shipping` and gave back
/// `already_refunded`, has left to give back; checks the lines are consistent.
fn money_remaining(
    lines: &[LineState],
    shipping: Fen,
    already_refunded: Fen,
) -> Result<Fen, DomainError> {
    if shipping < Fen::ZERO {
        return Err(DomainError::invalid("shipping", "must not be negative"));
    }

    // What the order paid, from the lines; also checks the lines are consistent.
    let mut paid = shipping;
    for (j, line) in lines.iter().enumerate() {
        if line.unit < Fen::ZERO
            || line.refunded_quantity > line.quantity
            || line.discount < Fen::ZERO
            || line.paid().is_none_or(|p| p < Fen::ZERO)
            || line.refunded_money < Fen::ZERO
            || line.money_left().is_none_or(|m| m < Fen::ZERO)
        {
            return Err(DomainError::invalid(
                "lines",
                format!("line {j} is inconsistent: negative price or over-refunded"),
            ));
        }
        paid = line
            .paid()
            .and_then(|amount| paid.checked_add(amount))
            .ok_or_else(|| too_large("lines"))?;
    }
    paid.checked_sub(already_refunded)
        .filter(|rest| already_refunded >= Fen::ZERO && *rest >= Fen::ZERO)
        .ok_or_else(|| {
            DomainError::invalid("already_refunded", "must be between zero and what was paid")
        })
}

/// The line a refund's request item names, refused (naming `field`) when the order has no
/// such line or an earlier item of the same refund named it.
fn named_line(
    lines: &[LineState],
    mut earlier: impl Iterator<Item = usize>,
    index: usize,
    field: String,
) -> Result<&LineState, DomainError> {
    let line = lines
        .get(index)
        .ok_or_else(|| DomainError::invalid(field.clone(), "no such line in the order"))?;
    if earlier.any(|other| other == index) {
        return Err(DomainError::invalid(
            field,
            "names a line already in this refund",
        ));
    }
    Ok(line)
}

/// The refund of an amount per line without units — `(line index, amount)` pairs — the
/// part an arbitration decides when the buyer keeps the goods (a broken bottle: 30 元 of
/// its line back). Each amount is at least 1 fen and at most what its line has left
/// (`paid − refunded_money`), a line is named once, the sum stays within what the order
/// has left; no unit is returned, so no stock moves and the shipping fee stays paid.
/// Errors name the request item as `amounts[k]`.
pub fn refund_money(
    lines: &[LineState],
    shipping: Fen,
    already_refunded: Fen,
    request: &[(usize, Fen)],
) -> Result<RefundPlan, DomainError> {
    if request.is_empty() {
        return Err(DomainError::invalid(
            "amounts",
            "a refund needs at least one line",
        ));
    }
    let remaining_money = money_remaining(lines, shipping, already_refunded)?;
    let mut per_line = Vec::with_capacity(request.len());
    let mut amount = Fen::ZERO;
    for (k, &(index, money)) in request.iter().enumerate() {
        let earlier = request[..k].iter().map(|&(other, _)| other);
        let line = named_line(lines, earlier, index, format!("amounts[{k}].line_no"))?;
        let left = line.money_left().ok_or_else(|| too_large("lines"))?;
        if money < Fen::new(1) || money > left {
            return Err(DomainError::invalid(
                format!("amounts[{k}].amount_fen"),
                format!(
                    "must be 1–{} fen, what the line has not given back yet",
                    left.get()
                ),
            ));
        }
        amount = amount
            .checked_add(money)
            .ok_or_else(|| too_large("amounts"))?;
        per_line.push((index, 0, money));
    }
    if amount > remaining_money {
        return Err(DomainError::invalid(
            "amounts",
            "the refund would exceed what remains of the payment",
        ));
    }
    Ok(RefundPlan {
        amount,
        per_line,
        includes_shipping: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_refund_of_free_units_is_refused_not_zero() {
        let lines = [
            LineState {
                unit: Fen::new(0),
                quantity: 1,
                refunded_quantity: 0,
                discount: Fen::ZERO,
                refunded_money: Fen::ZERO,
            },
            LineState {
                unit: Fen::new(500),
                quantity: 1,
                refunded_quantity: 0,
                discount: Fen::ZERO,
                refunded_money: Fen::ZERO,
            },
        ];
        // Found by the money_and_quantity fuzz target: a zero refund would break the
        // refunds table's `amount_fen > 0` rule deep in storage.
        assert!(refund_amount(&lines, Fen::ZERO, Fen::ZERO, &[(0, 1)]).is_err());
        assert_eq!(
            refund_amount(&lines, Fen::ZERO, Fen::ZERO, &[(1, 1)]).map(|p| p.amount),
            Ok(Fen::new(500))
        );
    }

    fn field_of<T: std::fmt::Debug>(r: Result<T, DomainError>) -> String {
        match r {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    fn q(n: i64) -> Quantity {
        Quantity::parse(n).unwrap()
    }

    const RULE: ShippingRule = ShippingRule {
        flat_fee: Fen::new(800),
        free_over: Some(Fen::new(9_900)),
    };

    #[test]
    fn quantities() {
        assert_eq!(q(1).get(), 1);
        assert_eq!(q(999).get(), 999);
        for bad in [0, -1, 1000, i64::MAX, i64::MIN, i64::from(u32::MAX) + 1] {
            assert_eq!(field_of(Quantity::parse(bad)), "quantity", "{bad}");
        }
    }

    #[test]
    fn tier_price_else_list_price() {
        let list = Fen::new(1_000);
        let tiers = [("member", Fen::new(900)), ("shareholder", Fen::new(800))];
        assert_eq!(unit_price(list, &tiers, Some("shareholder")), Fen::new(800));
        assert_eq!(unit_price(list, &tiers, Some("member")), Fen::new(900));
        assert_eq!(unit_price(list, &tiers, Some("gold")), list);
        assert_eq!(unit_price(list, &tiers, None), list);
        assert_eq!(unit_price(list, &[], Some("member")), list);
    }

    #[test]
    fn shipping_fees() {
        use DeliveryMethod::*;
        assert_eq!(RULE.fee(Fen::new(100), Pickup), Fen::ZERO);
        assert_eq!(RULE.fee(Fen::new(9_899), Shipping), Fen::new(800));
        assert_eq!(RULE.fee(Fen::new(9_900), Shipping), Fen::ZERO);
        let never_free = ShippingRule {
            flat_fee: Fen::new(500),
            free_over: None,
        };
        assert_eq!(never_free.fee(Fen::new(1_000_000), Shipping), Fen::new(500));
    }

    #[test]
    fn order_totals() {
        let t = totals(
            &[(Fen::new(1_250), q(2)), (Fen::new(3_000), q(1))],
            &RULE,
            DeliveryMethod::Shipping,
        )
        .unwrap();
        assert_eq!(
            t,
            Totals {
                goods: Fen::new(5_500),
                shipping: Fen::new(800),
                total: Fen::new(6_300),
            }
        );
        let t = totals(&[(Fen::new(5_000), q(2))], &RULE, DeliveryMethod::Shipping).unwrap();
        assert_eq!((t.shipping, t.total), (Fen::ZERO, Fen::new(10_000)));
        let t = totals(&[(Fen::new(100), q(1))], &RULE, DeliveryMethod::Pickup).unwrap();
        assert_eq!(t.total, Fen::new(100));

        assert_eq!(
            field_of(totals(&[], &RULE, DeliveryMethod::Pickup)),
            "lines"
        );
        assert_eq!(
            field_of(totals(
                &[(Fen::new(1), q(1)), (Fen::new(-1), q(1))],
                &RULE,
                DeliveryMethod::Pickup
            )),
            "lines[1].unit"
        );
        assert_eq!(
            field_of(totals(
                &[(Fen::new(i64::MAX / 2), q(3))],
                &RULE,
                DeliveryMethod::Pickup
            )),
            "lines"
        );
        let huge = ShippingRule {
            flat_fee: Fen::new(i64::MAX),
            free_over: None,
        };
        assert_eq!(
            field_of(totals(
                &[(Fen::new(1), q(1))],
                &huge,
                DeliveryMethod::Shipping
            )),
            "lines"
        );
    }

    fn order() -> Vec<LineState> {
        vec![
            LineState {
                unit: Fen::new(1_000),
                quantity: 3,
                refunded_quantity: 0,
                discount: Fen::ZERO,
                refunded_money: Fen::ZERO,
            },
            LineState {
                unit: Fen::new(250),
                quantity: 2,
                refunded_quantity: 0,
                discount: Fen::ZERO,
                refunded_money: Fen::ZERO,
            },
        ]
    }

    #[test]
    fn partial_then_final_refund_returns_shipping_last() {
        let mut lines = order();
        let shipping = Fen::new(800);
        let first = refund_amount(&lines, shipping, Fen::ZERO, &[(0, 1), (1, 2)]).unwrap();
        assert_eq!(
            first,
            RefundPlan {
                amount: Fen::new(1_500),
                per_line: vec![(0, 1, Fen::new(1_000)), (1, 2, Fen::new(500))],
                includes_shipping: false,
            }
        );
        lines[0].refunded_quantity = 1;
        lines[1].refunded_quantity = 2;
        let last = refund_amount(&lines, shipping, first.amount, &[(0, 2)]).unwrap();
        assert!(last.includes_shipping);
        assert_eq!(last.amount, Fen::new(2_800));
        assert_eq!(first.amount.get() + last.amount.get(), 3_500 + 800);
    }

    #[test]
    fn refunding_everything_at_once_includes_shipping() {
        let plan = refund_amount(&order(), Fen::new(800), Fen::ZERO, &[(1, 2), (0, 3)]).unwrap();
        assert!(plan.includes_shipping);
        assert_eq!(plan.amount, Fen::new(4_300));
    }

    #[test]
    fn bad_refund_requests_name_the_item() {
        let lines = order();
        let s = Fen::new(800);
        let r = |req: &[(usize, u32)]| refund_amount(&lines, s, Fen::ZERO, req);
        assert_eq!(field_of(r(&[])), "lines");
        assert_eq!(field_of(r(&[(0, 1), (2, 1)])), "lines[1].line");
        assert_eq!(field_of(r(&[(0, 1), (0, 1)])), "lines[1].line");
        assert_eq!(field_of(r(&[(1, 0)])), "lines[0].quantity");
        assert_eq!(field_of(r(&[(0, 1), (1, 3)])), "lines[1].quantity");

        let mut partly = order();
        partly[0].refunded_quantity = 2;
        assert_eq!(
            field_of(refund_amount(&partly, s, Fen::new(2_000), &[(0, 2)])),
            "lines[0].quantity"
        );
        // Earlier refunds recorded as more than was paid, or negative.
        assert_eq!(
            field_of(refund_amount(&partly, s, Fen::new(4_301), &[(0, 1)])),
            "already_refunded"
        );
        assert_eq!(
            field_of(refund_amount(&partly, s, Fen::new(-1), &[(0, 1)])),
            "already_refunded"
        );
        // Money already given back (say, by hand) leaves too little for this line.
        assert_eq!(
            field_of(refund_amount(&partly, s, Fen::new(4_100), &[(1, 1)])),
            "lines"
        );
        let mut broken = order();
        broken[1].refunded_quantity = 3;
        assert_eq!(
            field_of(refund_amount(&broken, s, Fen::ZERO, &[(0, 1)])),
            "lines"
        );
    }

    /// An order of 1–6 priced lines (unit, quantity) and its shipping fee. Free units are
    /// refused a refund by design (`a_refund_of_free_units_is_refused_not_zero`), so they
    /// have no place in the add-up property: a refund of only free units, or of the rest of
    /// a free order, is no movement of money.
    fn an_order() -> impl Strategy<Value = (Vec<(Fen, Quantity)>, Fen)> {
        (
            proptest::collection::vec(
                (1i64..=100_000, 1i64..=20).prop_map(|(u, n)| (Fen::new(u), q(n))),
                1..=6,
            ),
            0i64..=2_000,
        )
            .prop_map(|(lines, fee)| (lines, Fen::new(fee)))
    }

    proptest! {
        /// Valid partial refunds in any order never return more than was paid, and once the
        /// last unit is refunded the refunds add up to exactly goods + shipping.
        #[test]
        fn refunds_add_up_to_what_was_paid(
            (order_lines, fee) in an_order(),
            picks in proptest::collection::vec(
                proptest::collection::vec((any::<prop::sample::Index>(), any::<u32>()), 1..4),
                0..12,
            ),
        ) {
            let rule = ShippingRule { flat_fee: fee, free_over: None };
            let t = totals(&order_lines, &rule, DeliveryMethod::Shipping).unwrap();
            let mut lines: Vec<LineState> = order_lines
                .iter()
                .map(|&(unit, n)| LineState { unit, quantity: n.get(), refunded_quantity: 0, discount: Fen::ZERO, refunded_money: Fen::ZERO })
                .collect();
            let mut refunded = Fen::ZERO;
            let mut apply = |lines: &mut Vec<LineState>, request: &[(usize, u32)]| -> Result<bool, TestCaseError> {
                let plan = refund_amount(lines, t.shipping, refunded, request).unwrap();
                for &(i, n, part) in &plan.per_line {
                    prop_assert_eq!(part.get(), lines[i].unit.get() * i64::from(n));
                    lines[i].refunded_quantity += n;
                }
                refunded = refunded.checked_add(plan.amount).unwrap();
                prop_assert!(refunded <= t.total);
                let all_gone = lines.iter().all(|l| l.refunded_quantity == l.quantity);
                prop_assert_eq!(plan.includes_shipping, all_gone);
                if !all_gone {
                    let goods_back: i64 = lines.iter().map(|l| l.unit.get() * i64::from(l.refunded_quantity)).sum();
                    prop_assert_eq!(refunded.get(), goods_back);
                }
                Ok(all_gone)
            };

            let mut finished = false;
            for pick in picks {
                // Turn arbitrary picks into a valid request: open lines only, each once,
                // 1..=remaining units.
                let mut request: Vec<(usize, u32)> = Vec::new();
                for (which, n) in pick {
                    let i = which.index(lines.len());
                    let left = lines[i].quantity - lines[i].refunded_quantity;
                    if left > 0 && !request.iter().any(|&(j, _)| j == i) {
                        request.push((i, 1 + n % left));
                    }
                }
                if request.is_empty() {
                    continue;
                }
                finished = apply(&mut lines, &request)?;
                if finished {
                    break;
                }
            }
            if !finished {
                let rest: Vec<(usize, u32)> = lines
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.refunded_quantity < l.quantity)
                    .map(|(i, l)| (i, l.quantity - l.refunded_quantity))
                    .collect();
                prop_assert!(apply(&mut lines, &rest)?);
            }
            prop_assert_eq!(refunded, t.total);
            prop_assert_eq!(t.total.get(), t.goods.get() + t.shipping.get());
            // Nothing is left to refund.
            prop_assert!(refund_amount(&lines, t.shipping, refunded, &[(0, 1)]).is_err());
        }

        /// Refunds by units and by an amount alone (an arbitration's part), mixed in any
        /// order: no line ever gives back more than it paid, the order never more than
        /// goods + shipping, an amount over what its line has left is refused, and the
        /// last units close the order's account exactly.
        #[test]
        fn unit_and_money_refunds_never_exceed_a_line(
            (order_lines, fee) in an_order(),
            steps in proptest::collection::vec((any::<bool>(), any::<prop::sample::Index>(), any::<u32>()), 1..16),
        ) {
            let rule = ShippingRule { flat_fee: fee, free_over: None };
            let t = totals(&order_lines, &rule, DeliveryMethod::Shipping).unwrap();
            let mut lines: Vec<LineState> = order_lines
                .iter()
                .map(|&(unit, n)| LineState { unit, quantity: n.get(), refunded_quantity: 0, discount: Fen::ZERO, refunded_money: Fen::ZERO })
                .collect();
            let mut refunded = Fen::ZERO;
            let mut closed = false;
            for (by_money, which, n) in steps {
                let i = which.index(lines.len());
                let l = lines[i];
                let paid = l.unit.get() * i64::from(l.quantity);
                let left = paid - l.refunded_money.get();
                if by_money {
                    let ask = 1 + i64::from(n) % (paid + 2).max(1);
                    let plan = refund_money(&lines, t.shipping, refunded, &[(i, Fen::new(ask))]);
                    if ask > left {
                        prop_assert!(plan.is_err(), "{} fen accepted with {} left", ask, left);
                        continue;
                    }
                    let plan = plan.unwrap();
                    prop_assert_eq!(plan.amount.get(), ask);
                    prop_assert!(!plan.includes_shipping);
                    prop_assert_eq!(&plan.per_line, &vec![(i, 0, Fen::new(ask))]);
                    lines[i].refunded_money = Fen::new(l.refunded_money.get() + ask);
                    refunded = refunded.checked_add(plan.amount).unwrap();
                } else {
                    let units_left = l.quantity - l.refunded_quantity;
                    if units_left == 0 {
                        continue;
                    }
                    let q = 1 + n % units_left;
                    let Ok(plan) = refund_amount(&lines, t.shipping, refunded, &[(i, q)]) else {
                        // Only a line whose money is gone (and no shipping closes) refuses.
                        prop_assert!(left == 0 || l.unit == Fen::ZERO);
                        continue;
                    };
                    for &(j, k, part) in &plan.per_line {
                        prop_assert!(part.get() <= left);
                        lines[j].refunded_quantity += k;
                        lines[j].refunded_money = Fen::new(lines[j].refunded_money.get() + part.get());
                    }
                    refunded = refunded.checked_add(plan.amount).unwrap();
                    if plan.includes_shipping {
                        prop_assert_eq!(refunded, t.total);
                        closed = true;
                    }
                }
                for l in &lines {
                    prop_assert!(l.refunded_money.get() <= l.unit.get() * i64::from(l.quantity));
                }
                prop_assert!(refunded <= t.total);
                if closed {
                    break;
                }
            }
        }

        /// Arbitrary (often invalid) requests never panic, and anything accepted stays within
        /// what the lines allow.
        #[test]
        fn arbitrary_requests_are_safe(
            (order_lines, fee) in an_order(),
            request in proptest::collection::vec((0usize..8, 0u32..25), 0..6),
        ) {
            let lines: Vec<LineState> = order_lines
                .iter()
                .map(|&(unit, n)| LineState { unit, quantity: n.get(), refunded_quantity: 0, discount: Fen::ZERO, refunded_money: Fen::ZERO })
                .collect();
            let paid: i64 = lines.iter().map(|l| l.unit.get() * i64::from(l.quantity)).sum::<i64>() + fee.get();
            if let Ok(plan) = refund_amount(&lines, fee, Fen::ZERO, &request) {
                prop_assert!(plan.amount >= Fen::ZERO && plan.amount.get() <= paid);
                for &(i, n, _) in &plan.per_line {
                    prop_assert!(n >= 1 && n <= lines[i].quantity);
                }
            }
        }
    }
}
