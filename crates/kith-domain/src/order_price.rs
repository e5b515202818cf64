//! The price of an order, documented once (issue 19): a pure function from the order's
//! lines, the discounts that apply to it and the merchant's shipping rule to what each
//! line and the order pay.
//!
//! The stages, in this order, each working on what the previous one left to pay:
//!
//! 1. **unit price** — the tier price, else the list price ([`crate::pricing::unit_price`]),
//!    or an activity price (秒杀, 拼团) that replaces it; the caller passes the result as
//!    [`PriceLine::unit`];
//! 2. **one 满减 / 满折 activity** — [`Discount::Threshold`]: tiers over the gross of the
//!    lines in its scope, the highest tier reached applies ("满 199 减 20, 满 399 减 50");
//!    an order under every tier or with nothing in scope simply takes nothing. At most one
//!    per order (the caller picks the best of the shop's live activities, [`best_threshold`]);
//! 3. **one coupon** — [`Discount::Coupon`]; at most one per order (coupons do not stack).
//!    It works on what the lines pay after the activity: its minimum spend is checked
//!    against the eligible goods *after* 满减, as the shops members know do;
//! 4. **points** — [`Discount::Points`]: the member offers points, worth
//!    `points_per_yuan` to the yuan; at most `cap_percent` % of what the goods still pay
//!    after the coupon is taken in points (rounded down to the fen), and only the points
//!    that discount costs are spent (`⌈fen · ppy ⁄ 100⌉`, never more than offered). The
//!    points spent are allocated to the lines too (by their points discount), so a line's
//!    refund gives back its points as exactly as its money;
//! 5. **shipping** — on the goods amount actually paid (a coupon can take an order under the
//!    free-shipping threshold), never discounted.
//!
//! Every discount is **allocated to the lines it applies to by largest remainder, to the
//! fen**: line `i` with amount `wᵢ` of an eligible amount `E` takes `⌊D·wᵢ⁄E⌋`, and the fen
//! left over go one each to the lines with the largest remainders (the earlier line on a
//! tie). So the parts sum to exactly `D`, no line takes more than it costs, and a line's
//! *paid* amount is what a refund of the whole line gives back and what commission is
//! computed on (docs/PRODUCT.md §4: the commission base is the goods amount actually paid).

use serde::Serialize;

use crate::{DomainError, Fen, order::DeliveryMethod, pricing::Quantity, pricing::ShippingRule};

/// One line of an order as pricing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceLine {
    /// The product, for a coupon's scope.
    pub product_id: String,
    /// The unit price after stage 1 (tier or activity price).
    pub unit: Fen,
    pub quantity: Quantity,
}

/// What a coupon takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CouponValue {
    /// 满 X 减 Y: `off` fen off (never more than the eligible amount).
    Fixed { off: Fen },
    /// `percent_off` % off the eligible amount (rounded down to the fen), at most `cap`.
    Percent { percent_off: u8, cap: Option<Fen> },
}

impl CouponValue {
    /// A coupon's value from its stored or sent form. A fixed amount is at least 1 fen; a
    /// percentage is 1–99 (100 % would be a gift, not a coupon) with a positive cap if any.
    pub fn parse(
        kind: &str,
        off: Option<i64>,
        percent_off: Option<i64>,
        cap: Option<i64>,
    ) -> Result<Self, DomainError> {
        match kind {
            "fixed" => match off {
                Some(off) if off >= 1 => Ok(Self::Fixed { off: Fen::new(off) }),
                _ => Err(DomainError::invalid("off_fen", "must be at least 1 fen")),
            },
            "percent" => {
                let percent = percent_off
                    .and_then(|p| u8::try_from(p).ok())
                    .filter(|p| (1..=99).contains(p))
                    .ok_or_else(|| DomainError::invalid("percent_off", "must be 1–99"))?;
                if cap.is_some_and(|c| c < 1) {
                    return Err(DomainError::invalid("cap_fen", "must be at least 1 fen"));
                }
                Ok(Self::Percent {
                    percent_off: percent,
                    cap: cap.map(Fen::new),
                })
            }
            _ => Err(DomainError::invalid("kind", "must be fixed or percent")),
        }
    }

    /// The discount on an eligible amount: never more than it, never negative.
    pub fn discount_on(self, eligible: Fen) -> Fen {
        let e = eligible.get().max(0);
        let d = match self {
            Self::Fixed { off } => off.get().min(e),
            Self::Percent { percent_off, cap } => {
                let raw = i64::try_from(i128::from(e) * i128::from(percent_off) / 100)
                    .unwrap_or(i64::MAX);
                cap.map_or(raw, |c| raw.min(c.get()))
            }
        };
        Fen::new(d.clamp(0, e))
    }
}

/// Which lines a coupon applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "scope", content = "product_ids", rename_all = "snake_case")]
pub enum Scope {
    All,
    Products(Vec<String>),
}

impl Scope {
    pub fn covers(&self, product_id: &str) -> bool {
        match self {
            Self::All => true,
            Self::Products(ids) => ids.iter().any(|id| id == product_id),
        }
    }
}

/// A coupon's terms as pricing sees them (who holds it and whether it is still valid are
/// the caller's checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponTerms {
    pub value: CouponValue,
    /// The eligible lines must come to at least this (满 X); zero: no minimum.
    pub min_spend: Fen,
    pub scope: Scope,
}

/// One tier of a 满减 / 满折 activity: once the eligible goods reach `min_spend`, `value`
/// comes off them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ThresholdTier {
    pub min_spend: Fen,
    pub value: CouponValue,
}

/// Most tiers one activity may have.
pub const MAX_TIERS: usize = 5;

/// A 满减 (fixed amounts) or 满折 (percentages) activity's terms as pricing sees them
/// (whether it is live is the caller's check).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThresholdTerms {
    /// Ascending by `min_spend`, each tier worth more than the one below.
    pub tiers: Vec<ThresholdTier>,
    pub scope: Scope,
}

impl ThresholdTerms {
    /// An activity's tiers from their stored or sent form: `kind` `fixed` (满减: `amount` is
    /// the fen off, at most the threshold) or `percent` (满折: `amount` is the percent off,
    /// 1–99); 1–[`MAX_TIERS`] tiers, thresholds of at least 1 fen strictly rising, each tier
    /// taking more off than the one below (a higher tier worth less would never be chosen
    /// by a buyer who reached it). Errors name `tiers[i].min_spend_fen` / `.amount`.
    pub fn parse(kind: &str, tiers: &[(i64, i64)], scope: Scope) -> Result<Self, DomainError> {
        if !(1..=MAX_TIERS).contains(&tiers.len()) {
            return Err(DomainError::invalid(
                "tiers",
                format!("give 1–{MAX_TIERS} tiers"),
            ));
        }
        let mut out: Vec<ThresholdTier> = Vec::with_capacity(tiers.len());
        for (i, &(min_spend, amount)) in tiers.iter().enumerate() {
            if min_spend < 1 {
                return Err(DomainError::invalid(
                    format!("tiers[{i}].min_spend_fen"),
                    "must be at least 1 fen",
                ));
            }
            let value = match kind {
                "fixed" => {
                    if !(1..=min_spend).contains(&amount) {
                        return Err(DomainError::invalid(
                            format!("tiers[{i}].amount"),
                            "must be 1 fen up to the tier's threshold (满 X 减 Y takes Y ≤ X)",
                        ));
                    }
                    CouponValue::Fixed {
                        off: Fen::new(amount),
                    }
                }
                "percent" => CouponValue::Percent {
                    percent_off: u8::try_from(amount)
                        .ok()
                        .filter(|p| (1..=99).contains(p))
                        .ok_or_else(|| {
                            DomainError::invalid(format!("tiers[{i}].amount"), "must be 1–99")
                        })?,
                    cap: None,
                },
                _ => return Err(DomainError::invalid("kind", "must be fixed or percent")),
            };
            if let Some(prev) = out.last() {
                if min_spend <= prev.min_spend.get() {
                    return Err(DomainError::invalid(
                        format!("tiers[{i}].min_spend_fen"),
                        "must be above the tier before it",
                    ));
                }
                let worth = |v: CouponValue| match v {
                    CouponValue::Fixed { off } => off.get(),
                    CouponValue::Percent { percent_off, .. } => i64::from(percent_off),
                };
                if worth(value) <= worth(prev.value) {
                    return Err(DomainError::invalid(
                        format!("tiers[{i}].amount"),
                        "must take more off than the tier before it",
                    ));
                }
            }
            out.push(ThresholdTier {
                min_spend: Fen::new(min_spend),
                value,
            });
        }
        Ok(Self { tiers: out, scope })
    }

    /// The gross of the lines in scope: what the tiers are measured against.
    pub fn eligible(&self, lines: &[PriceLine]) -> Fen {
        Fen::new(
            lines
                .iter()
                .filter(|l| self.scope.covers(&l.product_id))
                .map(|l| l.unit.get().saturating_mul(i64::from(l.quantity.get())))
                .fold(0i64, i64::saturating_add),
        )
    }

    /// The highest tier `eligible` reaches.
    pub fn reached(&self, eligible: Fen) -> Option<ThresholdTier> {
        self.tiers
            .iter()
            .rev()
            .find(|t| eligible >= t.min_spend)
            .copied()
    }

    /// The next tier above what `eligible` reaches and how much more it takes (凑单: "再买
    /// ¥X 减 ¥Y").
    pub fn next(&self, eligible: Fen) -> Option<(ThresholdTier, Fen)> {
        self.tiers
            .iter()
            .find(|t| eligible < t.min_spend)
            .map(|t| (*t, Fen::new(t.min_spend.get() - eligible.get())))
    }

    /// What the activity takes off `lines` (zero when no tier is reached).
    pub fn discount(&self, lines: &[PriceLine]) -> Fen {
        let eligible = self.eligible(lines);
        self.reached(eligible)
            .map_or(Fen::ZERO, |t| t.value.discount_on(eligible))
    }
}

/// Of the shop's live activities, the one that takes most off `lines` (the earliest given
/// on a tie); `None` when none takes anything.
pub fn best_threshold(lines: &[PriceLine], candidates: &[ThresholdTerms]) -> Option<usize> {
    let mut best: Option<(usize, Fen)> = None;
    for (i, t) in candidates.iter().enumerate() {
        let d = t.discount(lines);
        if d > Fen::ZERO && best.is_none_or(|(_, b)| d > b) {
            best = Some((i, d));
        }
    }
    best.map(|(i, _)| i)
}

/// Points offered at checkout, as pricing sees them (whether the member holds them is the
/// ledger's check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointsTerms {
    /// At most this many points are spent.
    pub offered: i64,
    /// Points worth ¥1 (1–10,000).
    pub points_per_yuan: u32,
    /// At most this share of the goods left after the coupon, 1–100 %.
    pub cap_percent: u8,
}

/// A discount stage of the price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discount {
    /// A 满减 / 满折 activity (stage 2).
    Threshold(ThresholdTerms),
    /// A coupon (stage 3).
    Coupon(CouponTerms),
    /// Points (stage 4).
    Points(PointsTerms),
}

/// A rule of pricing that a discount breaks — a 409 naming the rule at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PriceRule {
    #[error("coupons do not stack: an order takes at most one coupon")]
    OneCoupon,
    #[error("满减 activities do not stack: an order takes at most one")]
    OneActivity,
    #[error("no line of the order is in the coupon's scope")]
    OutOfScope,
    #[error("the eligible goods are under the coupon's minimum spend")]
    UnderMinimumSpend,
    #[error("points are offered once per order")]
    OnePoints,
}

impl PriceRule {
    /// A stable name for problem documents and pages.
    pub fn code(self) -> &'static str {
        match self {
            Self::OneCoupon => "coupon_one_per_order",
            Self::OneActivity => "activity_one_per_order",
            Self::OutOfScope => "coupon_out_of_scope",
            Self::UnderMinimumSpend => "coupon_minimum_spend",
            Self::OnePoints => "points_once_per_order",
        }
    }
}

/// Why an order cannot be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error(transparent)]
    Invalid(#[from] DomainError),
    #[error(transparent)]
    Rule(PriceRule),
}

/// What one line pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LinePrice {
    pub quantity: u32,
    /// `unit × quantity`.
    pub gross: Fen,
    /// This line's part of the 满减 activity.
    pub activity: Fen,
    /// This line's part of the coupon.
    pub coupon: Fen,
    /// This line's part of the points discount, and of the points spent on it.
    pub points: Fen,
    pub points_used: i64,
    /// `gross − activity − coupon − points`: what the line paid, what a refund of the whole
    /// line returns and the line's commission base.
    pub paid: Fen,
}

impl LinePrice {
    /// What refunding `quantity` more units gives back when `refunded_before` units were
    /// already refunded: `⌊paid·after⁄n⌋ − ⌊paid·before⁄n⌋`, so the refunds of a line add up
    /// to exactly what it paid whatever the steps. `None` past the line's quantity.
    pub fn refund_of(&self, refunded_before: u32, quantity: u32) -> Option<Fen> {
        let after = refunded_before.checked_add(quantity)?;
        if after > self.quantity || self.quantity == 0 {
            return None;
        }
        let part =
            |k: u32| i128::from(self.paid.get()) * i128::from(k) / i128::from(self.quantity.max(1));
        i64::try_from(part(after) - part(refunded_before))
            .ok()
            .map(Fen::new)
    }
}

/// What an order costs, stage by stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderPrice {
    pub lines: Vec<LinePrice>,
    /// Σ gross: the goods before discounts.
    pub goods: Fen,
    /// The 满减 activity's discount (Σ of the lines' parts).
    pub activity: Fen,
    /// The coupon's discount (Σ of the lines' parts).
    pub coupon: Fen,
    /// The points discount and the points it spent (Σ of the lines' parts).
    pub points: Fen,
    pub points_used: i64,
    /// Σ paid: the goods actually paid, the order's commission base.
    pub goods_paid: Fen,
    pub shipping: Fen,
    /// `goods_paid + shipping`.
    pub total: Fen,
}

fn too_large() -> DomainError {
    DomainError::invalid("lines", "amount is too large")
}

/// Splits `discount` over `weights` by largest remainder: parts sum to `discount` exactly
/// when `0 ≤ discount ≤ Σ weights`, each part is at most its weight, zero weights take
/// nothing. Weights must not be negative.
pub fn allocate(discount: Fen, weights: &[Fen]) -> Vec<Fen> {
    let total: i128 = weights.iter().map(|w| i128::from(w.get().max(0))).sum();
    let d = i128::from(discount.get()).clamp(0, total);
    split(d, weights).into_iter().map(Fen::new).collect()
}

/// Splits `amount` (not negative) over `weights` in proportion, by largest remainder (the
/// earlier on a tie): the parts sum to `amount` exactly whenever some weight is positive;
/// zero weights take nothing. Unlike [`allocate`], the amount may exceed the weights (the
/// points spent on lines whose points discount is the weight).
pub fn split(amount: i128, weights: &[Fen]) -> Vec<i64> {
    let total: i128 = weights.iter().map(|w| i128::from(w.get().max(0))).sum();
    if total == 0 || amount <= 0 {
        return vec![0; weights.len()];
    }
    let mut parts: Vec<i128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let scaled = amount * i128::from(w.get().max(0));
        parts.push(scaled / total);
        remainders.push((scaled % total, i));
    }
    let mut left = amount - parts.iter().sum::<i128>();
    // Largest remainder first; the earlier line on a tie.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (rem, i) in remainders {
        if left == 0 || rem == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
        .into_iter()
        .map(|p| i64::try_from(p).unwrap_or(i64::MAX))
        .collect()
}

/// The price of an order of `lines` with `discounts` (at most one activity, at most one
/// coupon, in any order: stages run in the module doc's order), shipped by
/// `method` under `rule`. See the module doc for the stages.
pub fn price(
    lines: &[PriceLine],
    discounts: &[Discount],
    rule: &ShippingRule,
    method: DeliveryMethod,
) -> Result<OrderPrice, PriceError> {
    if lines.is_empty() {
        return Err(DomainError::invalid("lines", "an order needs at least one line").into());
    }
    let mut out = Vec::with_capacity(lines.len());
    let mut goods = Fen::ZERO;
    for (i, line) in lines.iter().enumerate() {
        if line.unit < Fen::ZERO {
            return Err(
                DomainError::invalid(format!("lines[{i}].unit"), "must not be negative").into(),
            );
        }
        let gross = line
            .unit
            .get()
            .checked_mul(i64::from(line.quantity.get()))
            .map(Fen::new)
            .ok_or_else(too_large)?;
        goods = goods.checked_add(gross).ok_or_else(too_large)?;
        out.push(LinePrice {
            quantity: line.quantity.get(),
            gross,
            activity: Fen::ZERO,
            coupon: Fen::ZERO,
            points: Fen::ZERO,
            points_used: 0,
            paid: gross,
        });
    }

    let activities: Vec<&ThresholdTerms> = discounts
        .iter()
        .filter_map(|d| match d {
            Discount::Threshold(t) => Some(t),
            _ => None,
        })
        .collect();
    if activities.len() > 1 {
        return Err(PriceError::Rule(PriceRule::OneActivity));
    }
    let mut activity_total = Fen::ZERO;
    if let Some(terms) = activities.first() {
        activity_total = terms.discount(lines);
        let weights: Vec<Fen> = lines
            .iter()
            .zip(&out)
            .map(|(line, priced)| {
                if terms.scope.covers(&line.product_id) {
                    priced.paid
                } else {
                    Fen::ZERO
                }
            })
            .collect();
        for (priced, part) in out.iter_mut().zip(allocate(activity_total, &weights)) {
            priced.activity = part;
            priced.paid = Fen::new(priced.paid.get() - part.get());
        }
    }

    let coupons: Vec<&CouponTerms> = discounts
        .iter()
        .filter_map(|d| match d {
            Discount::Coupon(t) => Some(t),
            _ => None,
        })
        .collect();
    if coupons.len() > 1 {
        return Err(PriceError::Rule(PriceRule::OneCoupon));
    }
    let mut coupon_total = Fen::ZERO;
    if let Some(terms) = coupons.first() {
        let weights: Vec<Fen> = lines
            .iter()
            .zip(&out)
            .map(|(line, priced)| {
                if terms.scope.covers(&line.product_id) {
                    priced.paid
                } else {
                    Fen::ZERO
                }
            })
            .collect();
        if !lines.iter().any(|l| terms.scope.covers(&l.product_id)) {
            return Err(PriceError::Rule(PriceRule::OutOfScope));
        }
        let eligible = weights
            .iter()
            .try_fold(Fen::ZERO, |acc, w| acc.checked_add(*w))
            .ok_or_else(too_large)?;
        if eligible < terms.min_spend {
            return Err(PriceError::Rule(PriceRule::UnderMinimumSpend));
        }
        coupon_total = terms.value.discount_on(eligible);
        for (priced, part) in out.iter_mut().zip(allocate(coupon_total, &weights)) {
            priced.coupon = part;
            priced.paid = Fen::new(priced.paid.get() - part.get());
        }
    }

    let offers: Vec<&PointsTerms> = discounts
        .iter()
        .filter_map(|d| match d {
            Discount::Points(p) => Some(p),
            _ => None,
        })
        .collect();
    if offers.len() > 1 {
        return Err(PriceError::Rule(PriceRule::OnePoints));
    }
    let (mut points_total, mut points_used) = (Fen::ZERO, 0i64);
    if let Some(p) = offers.first() {
        if p.offered < 0 {
            return Err(DomainError::invalid("points", "must not be negative").into());
        }
        if !(1..=10_000).contains(&p.points_per_yuan) || !(1..=100).contains(&p.cap_percent) {
            return Err(
                DomainError::invalid("points", "the shop's points rule is not valid").into(),
            );
        }
        let left: i128 = out.iter().map(|l| i128::from(l.paid.get())).sum();
        let cap = left * i128::from(p.cap_percent) / 100;
        let worth = i128::from(p.offered) * 100 / i128::from(p.points_per_yuan);
        points_total = Fen::new(i64::try_from(cap.min(worth)).map_err(|_| too_large())?);
        points_used = crate::points::cost(points_total, p.points_per_yuan);
        let weights: Vec<Fen> = out.iter().map(|l| l.paid).collect();
        let parts = allocate(points_total, &weights);
        let used = split(i128::from(points_used), &parts);
        for ((priced, part), spent) in out.iter_mut().zip(parts).zip(used) {
            priced.points = part;
            priced.points_used = spent;
            priced.paid = Fen::new(priced.paid.get() - part.get());
        }
    }

    let goods_paid =
        Fen::new(goods.get() - activity_total.get() - coupon_total.get() - points_total.get());
    let shipping = rule.fee(goods_paid, method);
    let total = goods_paid.checked_add(shipping).ok_or_else(too_large)?;
    Ok(OrderPrice {
        lines: out,
        goods,
        activity: activity_total,
        coupon: coupon_total,
        points: points_total,
        points_used,
        goods_paid,
        shipping,
        total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commission::{self, Chain, Rates};
    use proptest::prelude::*;

    const RULE: ShippingRule = ShippingRule {
        flat_fee: Fen::new(800),
        free_over: Some(Fen::new(9_900)),
    };

    fn line(product_id: i64, unit: i64, quantity: i64) -> PriceLine {
        PriceLine {
            product_id: product_id.to_string(),
            unit: Fen::new(unit),
            quantity: Quantity::parse(quantity).unwrap(),
        }
    }

    fn coupon(value: CouponValue, min_spend: i64, scope: Scope) -> Discount {
        Discount::Coupon(CouponTerms {
            value,
            min_spend: Fen::new(min_spend),
            scope,
        })
    }

    #[test]
    fn a_fixed_coupon_is_split_by_largest_remainder() {
        // 10 off 3 lines of 1.00, 1.00, 1.00: 3.33 each, the first takes the odd fen.
        let lines = [line(1, 100, 1), line(2, 100, 1), line(3, 100, 1)];
        let c = coupon(CouponValue::Fixed { off: Fen::new(10) }, 0, Scope::All);
        let p = price(&lines, &[c], &RULE, DeliveryMethod::Shipping).unwrap();
        let parts: Vec<i64> = p.lines.iter().map(|l| l.coupon.get()).collect();
        assert_eq!(parts, vec![4, 3, 3]);
        assert_eq!(p.goods, Fen::new(300));
        assert_eq!(p.goods_paid, Fen::new(290));
        assert_eq!(p.shipping, Fen::new(800));
        assert_eq!(p.total, Fen::new(1_090));
    }

    #[test]
    fn a_percent_coupon_is_capped_and_only_touches_its_products() {
        let lines = [line(1, 5_000, 2), line(2, 3_000, 1)];
        let c = coupon(
            CouponValue::Percent {
                percent_off: 20,
                cap: Some(Fen::new(1_500)),
            },
            0,
            Scope::Products(vec!["1".into()]),
        );
        let p = price(&lines, &[c], &RULE, DeliveryMethod::Pickup).unwrap();
        // 20 % of 100.00 is 20.00, capped at 15.00, all on line 0.
        assert_eq!(p.coupon, Fen::new(1_500));
        assert_eq!(p.lines[0].paid, Fen::new(8_500));
        assert_eq!(p.lines[1].paid, Fen::new(3_000));
        assert_eq!(p.total, Fen::new(11_500));
    }

    #[test]
    fn a_coupon_can_take_an_order_under_free_shipping() {
        let lines = [line(1, 10_000, 1)];
        let c = coupon(CouponValue::Fixed { off: Fen::new(500) }, 0, Scope::All);
        let p = price(&lines, &[c], &RULE, DeliveryMethod::Shipping).unwrap();
        assert_eq!(p.goods_paid, Fen::new(9_500));
        assert_eq!(p.shipping, Fen::new(800));
    }

    #[test]
    fn the_rules_a_coupon_can_break() {
        let lines = [line(1, 1_000, 1)];
        let fixed = CouponValue::Fixed { off: Fen::new(100) };
        let rule_of = |d: &[Discount]| match price(&lines, d, &RULE, DeliveryMethod::Pickup) {
            Err(PriceError::Rule(r)) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            rule_of(&[coupon(fixed, 1_001, Scope::All)]),
            PriceRule::UnderMinimumSpend
        );
        assert_eq!(
            rule_of(&[coupon(fixed, 0, Scope::Products(vec!["9".into()]))]),
            PriceRule::OutOfScope
        );
        assert_eq!(
            rule_of(&[coupon(fixed, 0, Scope::All), coupon(fixed, 0, Scope::All)]),
            PriceRule::OneCoupon
        );
        // Exactly the minimum spend is enough (满 10 减 1 on 10.00).
        assert!(
            price(
                &lines,
                &[coupon(fixed, 1_000, Scope::All)],
                &RULE,
                DeliveryMethod::Pickup
            )
            .is_ok()
        );
    }

    #[test]
    fn coupon_values_parse() {
        assert!(CouponValue::parse("fixed", Some(0), None, None).is_err());
        assert!(CouponValue::parse("percent", None, Some(100), None).is_err());
        assert!(CouponValue::parse("percent", None, Some(0), None).is_err());
        assert!(CouponValue::parse("percent", None, Some(10), Some(0)).is_err());
        assert!(CouponValue::parse("gift", Some(1), None, None).is_err());
        assert_eq!(
            CouponValue::parse("percent", None, Some(15), None),
            Ok(CouponValue::Percent {
                percent_off: 15,
                cap: None
            })
        );
    }

    fn tiers(kind: &str, t: &[(i64, i64)], scope: Scope) -> ThresholdTerms {
        ThresholdTerms::parse(kind, t, scope).unwrap()
    }

    #[test]
    fn a_tiered_activity_takes_the_highest_tier_reached() {
        // 满 199 减 20, 满 399 减 50.
        let a = tiers("fixed", &[(19_900, 2_000), (39_900, 5_000)], Scope::All);
        let at = |unit: i64| {
            price(
                &[line(1, unit, 1)],
                &[Discount::Threshold(a.clone())],
                &RULE,
                DeliveryMethod::Pickup,
            )
            .unwrap()
            .activity
            .get()
        };
        assert_eq!(at(19_899), 0);
        assert_eq!(at(19_900), 2_000);
        assert_eq!(at(39_899), 2_000);
        assert_eq!(at(39_900), 5_000);
        assert_eq!(
            a.next(Fen::new(15_000))
                .map(|(t, more)| (t.min_spend.get(), more.get())),
            Some((19_900, 4_900))
        );
        assert_eq!(a.next(Fen::new(40_000)), None);
    }

    #[test]
    fn a_coupon_is_measured_after_the_activity() {
        // 满 100 打 9 折 on product 1 only, then 满 95 减 5 over the whole order.
        let a = tiers(
            "percent",
            &[(10_000, 10)],
            Scope::Products(vec!["1".into()]),
        );
        let lines = [line(1, 5_000, 2), line(2, 300, 1)];
        let c = coupon(
            CouponValue::Fixed { off: Fen::new(500) },
            10_000,
            Scope::All,
        );
        // 103.00 gross, 10.00 off product 1: 93.00 is under the coupon's 100.00.
        let refused = price(
            &lines,
            &[Discount::Threshold(a.clone()), c.clone()],
            &RULE,
            DeliveryMethod::Pickup,
        );
        assert_eq!(refused, Err(PriceError::Rule(PriceRule::UnderMinimumSpend)));
        let c = coupon(CouponValue::Fixed { off: Fen::new(500) }, 9_300, Scope::All);
        let p = price(
            &lines,
            &[c, Discount::Threshold(a)],
            &RULE,
            DeliveryMethod::Pickup,
        )
        .unwrap();
        assert_eq!((p.activity.get(), p.coupon.get()), (1_000, 500));
        assert_eq!(p.lines[0].activity, Fen::new(1_000));
        assert_eq!(p.lines[1].activity, Fen::ZERO);
        // The coupon splits 500 over 90.00 and 3.00: 484 and 16 (largest remainder).
        assert_eq!(
            (p.lines[0].coupon.get(), p.lines[1].coupon.get()),
            (484, 16)
        );
        assert_eq!(p.goods_paid, Fen::new(10_300 - 1_500));
        let two = tiers("fixed", &[(1, 1)], Scope::All);
        assert_eq!(
            price(
                &lines,
                &[Discount::Threshold(two.clone()), Discount::Threshold(two)],
                &RULE,
                DeliveryMethod::Pickup
            ),
            Err(PriceError::Rule(PriceRule::OneActivity))
        );
    }

    #[test]
    fn activity_tiers_parse() {
        let field = |kind: &str, t: &[(i64, i64)]| match ThresholdTerms::parse(kind, t, Scope::All)
        {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field("fixed", &[]), "tiers");
        assert_eq!(field("fixed", &[(100, 101)]), "tiers[0].amount");
        assert_eq!(field("fixed", &[(0, 0)]), "tiers[0].min_spend_fen");
        assert_eq!(
            field("fixed", &[(100, 10), (100, 20)]),
            "tiers[1].min_spend_fen"
        );
        assert_eq!(field("fixed", &[(100, 10), (200, 10)]), "tiers[1].amount");
        assert_eq!(field("percent", &[(100, 100)]), "tiers[0].amount");
        assert_eq!(field("gift", &[(100, 1)]), "kind");
        assert_eq!(field("fixed", &[(1, 1); 6]), "tiers");
        assert!(ThresholdTerms::parse("percent", &[(100, 5), (200, 10)], Scope::All).is_ok());
    }

    fn arb_lines() -> impl Strategy<Value = Vec<PriceLine>> {
        prop::collection::vec((0i64..6, 0i64..200_000, 1i64..=999), 1..8).prop_map(|v| {
            v.into_iter()
                .map(|(p, u, q)| line(p, u, q))
                .collect::<Vec<_>>()
        })
    }

    fn arb_coupon() -> impl Strategy<Value = Discount> {
        let value = prop_oneof![
            (1i64..2_000_000).prop_map(|off| CouponValue::Fixed { off: Fen::new(off) }),
            (1u8..=99, prop::option::of(1i64..500_000)).prop_map(|(p, cap)| {
                CouponValue::Percent {
                    percent_off: p,
                    cap: cap.map(Fen::new),
                }
            }),
        ];
        // A named scope is never empty (a template refuses one), and the minimum spend is
        // mostly within reach of the generated carts, so most cases price and assert.
        let scope = prop_oneof![
            Just(Scope::All),
            prop::collection::vec((0i64..6).prop_map(|p| p.to_string()), 1..4)
                .prop_map(Scope::Products),
        ];
        let min_spend = prop_oneof![3 => Just(0i64), 2 => 0i64..20_000];
        (value, min_spend, scope).prop_map(|(v, m, s)| coupon(v, m, s))
    }

    fn arb_activity() -> impl Strategy<Value = ThresholdTerms> {
        let scope = prop_oneof![
            Just(Scope::All),
            prop::collection::vec((0i64..6).prop_map(|p| p.to_string()), 1..4)
                .prop_map(Scope::Products),
        ];
        // Rising thresholds and rising amounts, as a merchant's form must give them.
        let tiers = (
            any::<bool>(),
            prop::collection::vec((1i64..50_000, 1i64..20), 1..=MAX_TIERS),
        )
            .prop_map(|(fixed, steps)| {
                let (mut at, mut amount) = (0i64, 0i64);
                let tiers: Vec<(i64, i64)> = steps
                    .into_iter()
                    .map(|(gap, more)| {
                        at += gap;
                        amount += more;
                        (
                            at,
                            if fixed {
                                amount.min(at)
                            } else {
                                amount.min(99)
                            },
                        )
                    })
                    .collect();
                (if fixed { "fixed" } else { "percent" }, tiers)
            });
        (tiers, scope).prop_filter_map("tiers must rise", |((kind, tiers), scope)| {
            ThresholdTerms::parse(kind, &tiers, scope).ok()
        })
    }

    /// What an activity takes off `lines`, worked out apart from `price`: the highest tier
    /// whose threshold the gross of the lines in scope reaches.
    fn arb_points() -> impl Strategy<Value = PointsTerms> {
        (0i64..2_000_000, 1u32..=10_000, 1u8..=100).prop_map(|(offered, ppy, cap)| PointsTerms {
            offered,
            points_per_yuan: ppy,
            cap_percent: cap,
        })
    }

    #[test]
    fn points_take_at_most_their_cap_and_spend_only_what_they_buy() {
        let lines = [line(1, 10_000, 1), line(2, 5_000, 2)];
        // 100 points to the yuan, at most 50 %: 30,000 points offered on ¥200 of goods
        // buy ¥100, which costs 10,000 points.
        let t = PointsTerms {
            offered: 30_000,
            points_per_yuan: 100,
            cap_percent: 50,
        };
        let p = price(
            &lines,
            &[Discount::Points(t)],
            &RULE,
            DeliveryMethod::Pickup,
        )
        .unwrap();
        assert_eq!((p.points, p.points_used), (Fen::new(10_000), 10_000));
        assert_eq!(p.goods_paid, Fen::new(10_000));
        assert_eq!(p.lines[0].points, Fen::new(5_000));
        assert_eq!(p.lines[1].points_used, 5_000);
        // Few points: all of them, worth what they are.
        let few = PointsTerms { offered: 250, ..t };
        let p = price(
            &lines,
            &[Discount::Points(few)],
            &RULE,
            DeliveryMethod::Pickup,
        )
        .unwrap();
        assert_eq!((p.points, p.points_used), (Fen::new(250), 250));
        // 1,000 points to the yuan: 999 points are worth 99 fen and spend 990.
        let dear = PointsTerms {
            offered: 999,
            points_per_yuan: 1_000,
            cap_percent: 100,
        };
        let p = price(
            &lines,
            &[Discount::Points(dear)],
            &RULE,
            DeliveryMethod::Pickup,
        )
        .unwrap();
        assert_eq!((p.points, p.points_used), (Fen::new(99), 990));
        let twice = [Discount::Points(t), Discount::Points(few)];
        assert_eq!(
            price(&lines, &twice, &RULE, DeliveryMethod::Pickup),
            Err(PriceError::Rule(PriceRule::OnePoints))
        );
    }

    fn activity_oracle(lines: &[PriceLine], a: &ThresholdTerms) -> i64 {
        let eligible: i64 = lines
            .iter()
            .filter(|l| a.scope.covers(&l.product_id))
            .map(|l| l.unit.get() * i64::from(l.quantity.get()))
            .sum();
        let tier = a.tiers.iter().rfind(|t| eligible >= t.min_spend.get());
        match tier.map(|t| t.value) {
            None => 0,
            Some(CouponValue::Fixed { off }) => off.get().min(eligible),
            Some(CouponValue::Percent { percent_off, .. }) => {
                eligible * i64::from(percent_off) / 100
            }
        }
    }

    /// What the coupon's rules say about `lines` after `activity`: `None` when it applies.
    fn refusal(
        lines: &[PriceLine],
        activity: Option<&ThresholdTerms>,
        terms: &CouponTerms,
    ) -> Option<PriceRule> {
        // The coupon's minimum spend is measured after the activity's parts.
        let after: Vec<i64> = match activity {
            None => lines
                .iter()
                .map(|l| l.unit.get() * i64::from(l.quantity.get()))
                .collect(),
            Some(a) => price(
                lines,
                &[Discount::Threshold(a.clone())],
                &RULE,
                DeliveryMethod::Pickup,
            )
            .map(|p| p.lines.iter().map(|l| l.paid.get()).collect())
            .unwrap_or_default(),
        };
        let eligible: i64 = lines
            .iter()
            .zip(&after)
            .filter(|(l, _)| terms.scope.covers(&l.product_id))
            .map(|(_, paid)| *paid)
            .sum();
        if !lines.iter().any(|l| terms.scope.covers(&l.product_id)) {
            Some(PriceRule::OutOfScope)
        } else if eligible < terms.min_spend.get() {
            Some(PriceRule::UnderMinimumSpend)
        } else {
            None
        }
    }

    fn terms_of(c: &Discount) -> &CouponTerms {
        match c {
            Discount::Coupon(t) => t,
            _ => unreachable!("arb_coupon gives coupons"),
        }
    }

    proptest! {
        #[test]
        fn allocation_sums_exactly_and_stays_within_each_weight(
            d in 0i64..10_000_000,
            weights in prop::collection::vec(0i64..5_000_000, 1..10),
        ) {
            let ws: Vec<Fen> = weights.iter().copied().map(Fen::new).collect();
            let total: i64 = weights.iter().sum();
            let parts = allocate(Fen::new(d), &ws);
            let sum: i64 = parts.iter().map(|p| p.get()).sum();
            prop_assert_eq!(sum, d.min(total));
            for (p, w) in parts.iter().zip(&ws) {
                prop_assert!(p.get() >= 0 && p.get() <= w.get());
            }
        }

        #[test]
        fn pricing_refuses_a_coupon_exactly_when_its_rules_say_so(
            lines in arb_lines(),
            a in prop::option::of(arb_activity()),
            c in arb_coupon(),
        ) {
            let mut discounts: Vec<Discount> = a.iter().cloned().map(Discount::Threshold).collect();
            discounts.push(c.clone());
            let got = match price(&lines, &discounts, &RULE, DeliveryMethod::Pickup) {
                Ok(_) => None,
                Err(PriceError::Rule(r)) => Some(r),
                Err(e) => return Err(TestCaseError::fail(format!("{e:?}"))),
            };
            prop_assert_eq!(got, refusal(&lines, a.as_ref(), terms_of(&c)));
        }

        #[test]
        fn an_activity_takes_its_highest_reached_tier_and_never_refuses(
            lines in arb_lines(),
            a in arb_activity(),
        ) {
            let p = price(&lines, &[Discount::Threshold(a.clone())], &RULE, DeliveryMethod::Pickup)
                .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            prop_assert_eq!(p.activity.get(), activity_oracle(&lines, &a));
            prop_assert_eq!(p.coupon, Fen::ZERO);
            for (line, lp) in lines.iter().zip(&p.lines) {
                if !a.scope.covers(&line.product_id) {
                    prop_assert_eq!(lp.activity, Fen::ZERO);
                }
            }
            // 凑单: the next tier is above what the cart reaches, by exactly the gap.
            let eligible = a.eligible(&lines);
            if let Some((tier, more)) = a.next(eligible) {
                prop_assert!(tier.min_spend > eligible);
                prop_assert_eq!(more.get(), tier.min_spend.get() - eligible.get());
            }
        }

        #[test]
        fn the_best_activity_takes_the_most(
            lines in arb_lines(),
            candidates in prop::collection::vec(arb_activity(), 0..4),
        ) {
            let best = best_threshold(&lines, &candidates);
            let most = candidates.iter().map(|a| activity_oracle(&lines, a)).max().unwrap_or(0);
            match best {
                None => prop_assert_eq!(most, 0),
                Some(i) => prop_assert_eq!(activity_oracle(&lines, &candidates[i]), most),
            }
        }

        #[test]
        fn a_priced_order_adds_up(
            lines in arb_lines(),
            a in prop::option::of(arb_activity()),
            c in prop::option::of(arb_coupon()),
            pts in prop::option::of(arb_points()),
            pickup in any::<bool>(),
        ) {
            let method = if pickup { DeliveryMethod::Pickup } else { DeliveryMethod::Shipping };
            if let Some(c) = &c {
                prop_assume!(refusal(&lines, a.as_ref(), terms_of(c)).is_none());
            }
            // Stages run in their own order whatever order the discounts come in.
            let mut discounts: Vec<Discount> = pts.iter().copied().map(Discount::Points).collect();
            discounts.extend(c);
            discounts.extend(a.iter().cloned().map(Discount::Threshold));
            let p = price(&lines, &discounts, &RULE, method)
                .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            if let Some(a) = &a {
                prop_assert_eq!(p.activity.get(), activity_oracle(&lines, a));
            }
            // Points: what the goods left after the coupon allow (the cap) or the points
            // offered are worth, whichever is less; the points spent buy no more than that
            // and never exceed the offer; both are allocated exactly.
            match &pts {
                None => prop_assert_eq!((p.points, p.points_used), (Fen::ZERO, 0)),
                Some(t) => {
                    let left = p.goods.get() - p.activity.get() - p.coupon.get();
                    let cap = left * i64::from(t.cap_percent) / 100;
                    let worth = t.offered * 100 / i64::from(t.points_per_yuan);
                    prop_assert_eq!(p.points.get(), cap.min(worth));
                    prop_assert!(p.points_used <= t.offered);
                    prop_assert!(p.points_used * 100 / i64::from(t.points_per_yuan) >= p.points.get());
                }
            }
            let points_sum: i64 = p.lines.iter().map(|l| l.points.get()).sum();
            prop_assert_eq!(points_sum, p.points.get());
            let used_sum: i64 = p.lines.iter().map(|l| l.points_used).sum();
            prop_assert_eq!(used_sum, p.points_used);
            // Each allocation sums exactly to its discount.
            let coupon_sum: i64 = p.lines.iter().map(|l| l.coupon.get()).sum();
            prop_assert_eq!(coupon_sum, p.coupon.get());
            let activity_sum: i64 = p.lines.iter().map(|l| l.activity.get()).sum();
            prop_assert_eq!(activity_sum, p.activity.get());
            // No line below zero; discounts never make the goods negative.
            for l in &p.lines {
                prop_assert!(l.paid >= Fen::ZERO);
                prop_assert_eq!(
                    l.paid.get(),
                    l.gross.get() - l.activity.get() - l.coupon.get() - l.points.get()
                );
            }
            prop_assert!(p.goods_paid >= Fen::ZERO && p.goods_paid <= p.goods);
            let paid_sum: i64 = p.lines.iter().map(|l| l.paid.get()).sum();
            prop_assert_eq!(paid_sum, p.goods_paid.get());
            prop_assert_eq!(p.total.get(), p.goods_paid.get() + p.shipping.get());
            // Out-of-scope lines take nothing of the coupon.
            if let Some(Discount::Coupon(terms)) = discounts.iter().find(|d| matches!(d, Discount::Coupon(_))) {
                for (line, lp) in lines.iter().zip(&p.lines) {
                    if !terms.scope.covers(&line.product_id) {
                        prop_assert_eq!(lp.coupon, Fen::ZERO);
                    }
                }
            }
        }

        #[test]
        fn refunding_any_subset_of_lines_returns_what_they_paid(
            lines in arb_lines(),
            a in prop::option::of(arb_activity()),
            c in arb_coupon(),
            pts in prop::option::of(arb_points()),
            subset in prop::collection::vec(any::<bool>(), 8),
            steps in prop::collection::vec(1u32..400, 1..6),
        ) {
            prop_assume!(refusal(&lines, a.as_ref(), terms_of(&c)).is_none());
            let mut discounts: Vec<Discount> = a.into_iter().map(Discount::Threshold).collect();
            discounts.push(c);
            discounts.extend(pts.map(Discount::Points));
            let p = price(&lines, &discounts, &RULE, DeliveryMethod::Pickup)
                .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            let mut returned = 0i64;
            let mut expected = 0i64;
            for (i, lp) in p.lines.iter().enumerate() {
                if !subset[i] { continue; }
                expected += lp.paid.get();
                // The line is refunded in several steps, then its last units.
                let mut done = 0u32;
                for step in &steps {
                    let take = (*step).min(lp.quantity - done);
                    if take == 0 { break; }
                    let part = lp.refund_of(done, take).unwrap();
                    prop_assert!(part >= Fen::ZERO);
                    returned += part.get();
                    done += take;
                }
                if done < lp.quantity {
                    returned += lp.refund_of(done, lp.quantity - done).unwrap().get();
                }
                prop_assert!(lp.refund_of(lp.quantity, 1).is_none());
            }
            prop_assert_eq!(returned, expected);
        }

        #[test]
        fn commission_is_computed_on_the_goods_actually_paid(
            lines in arb_lines(),
            a in prop::option::of(arb_activity()),
            c in arb_coupon(),
            pts in prop::option::of(arb_points()),
            l1_bp in 0i64..3_000,
        ) {
            prop_assume!(refusal(&lines, a.as_ref(), terms_of(&c)).is_none());
            let mut discounts: Vec<Discount> = a.into_iter().map(Discount::Threshold).collect();
            discounts.push(c);
            discounts.extend(pts.map(Discount::Points));
            let p = price(&lines, &discounts, &RULE, DeliveryMethod::Shipping)
                .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            let rates = Rates { levels_bp: [l1_bp, 0], ..Rates::default() };
            let chain = Chain { rebate: None, l1: Some("sharer".into()), l2: None };
            let bases: Vec<(Fen, Rates)> = p.lines.iter().map(|l| (l.paid, rates)).collect();
            let shares = commission::split(&bases, &chain);
            let expected = i128::from(p.goods_paid.get()) * i128::from(l1_bp) / 10_000;
            let got = shares.first().map_or(0, |s| s.amount.get());
            prop_assert_eq!(i128::from(got), expected);
            if let Some(s) = shares.first() {
                prop_assert_eq!(s.base, p.goods_paid);
            }
        }
    }
}
