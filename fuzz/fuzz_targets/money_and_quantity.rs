//! Quantities, prices and refund requests as they arrive in JSON bodies (any i64): each is
//! parsed or refused, arithmetic never wraps or panics, and what is computed adds up:
//! total = goods + shipping, a refund never exceeds what remains.
#![no_main]

use kith_domain::order::DeliveryMethod;
use kith_domain::pricing::{LineState, refund_amount, refund_money, totals};
use kith_domain::{Fen, Quantity, ShippingRule};
use libfuzzer_sys::arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let mut lines = Vec::new();
    for _ in 0..u.int_in_range(0..=6u8).unwrap_or(0) {
        let unit = i64::arbitrary(&mut u).unwrap_or(0);
        let qty = i64::arbitrary(&mut u).unwrap_or(1);
        if let Ok(q) = Quantity::parse(qty) {
            assert!((1..=999).contains(&q.get()));
            lines.push((Fen::new(unit), q));
        }
    }
    let rule = ShippingRule {
        flat_fee: Fen::new(i64::arbitrary(&mut u).unwrap_or(0).rem_euclid(1_000_000)),
        free_over: Option::<i64>::arbitrary(&mut u)
            .unwrap_or(None)
            .map(Fen::new),
    };
    let method = if bool::arbitrary(&mut u).unwrap_or(false) {
        DeliveryMethod::Pickup
    } else {
        DeliveryMethod::Shipping
    };
    let Ok(t) = totals(&lines, &rule, method) else {
        return;
    };
    assert_eq!(
        t.goods.get().checked_add(t.shipping.get()),
        Some(t.total.get())
    );
    assert!(t.goods.get() >= 0 && t.shipping.get() >= 0);

    // Refund some of it.
    let states: Vec<LineState> = lines
        .iter()
        .map(|(unit, q)| {
            let cost = unit.get().saturating_mul(i64::from(q.get())).max(0);
            // The line's part of a coupon: at most what the line costs.
            let discount = u.int_in_range(0..=cost).unwrap_or(0);
            LineState {
                unit: *unit,
                quantity: q.get(),
                refunded_quantity: u.int_in_range(0..=q.get()).unwrap_or(0),
                discount: Fen::new(discount),
                // Money already given back on the line (by units or an amount alone).
                refunded_money: Fen::new(u.int_in_range(0..=cost - discount).unwrap_or(0)),
            }
        })
        .collect();
    let already = Fen::new(u.int_in_range(0..=t.total.get().max(0)).unwrap_or(0));
    let mut request = Vec::new();
    for _ in 0..u.int_in_range(0..=4u8).unwrap_or(0) {
        let idx = usize::arbitrary(&mut u).unwrap_or(0) % (states.len() + 1);
        let qty = u32::arbitrary(&mut u).unwrap_or(1);
        request.push((idx, qty));
    }
    if let Ok(plan) = refund_amount(&states, t.shipping, already, &request) {
        assert!(plan.amount.get() > 0, "a refund moves money: {plan:?}");
        assert!(
            plan.amount.get() <= t.total.get() - already.get(),
            "{plan:?} of {t:?} after {already:?}"
        );
    }
    // The same lines asked for money alone.
    let money: Vec<(usize, Fen)> = request
        .iter()
        .map(|&(idx, qty)| (idx, Fen::new(i64::from(qty))))
        .collect();
    if let Ok(plan) = refund_money(&states, t.shipping, already, &money) {
        assert!(plan.amount.get() > 0 && !plan.includes_shipping, "{plan:?}");
        assert!(plan.amount.get() <= t.total.get() - already.get());
        for &(idx, units, part) in &plan.per_line {
            let l = states[idx];
            assert_eq!(units, 0);
            assert!(
                part.get() <= l.unit.get() * i64::from(l.quantity) - l.discount.get() - l.refunded_money.get(),
                "{plan:?} over line {l:?}"
            );
        }
    }
});
