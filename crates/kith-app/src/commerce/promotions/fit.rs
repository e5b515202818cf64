//! Which of a buyer's coupons fit their cart, and the best one (issue 19): what the checkout
//! shows beside the order button, with the best coupon preselected.
//!
//! Each available coupon the buyer holds at the shop is priced against the cart as it is
//! now by the one pricing function (`kith_domain::order_price::price`), so the discount
//! shown is exactly what checkout will take off; a coupon that does not apply says which
//! rule it breaks (`coupon_out_of_scope`, `coupon_minimum_spend`). The shop's 满减 activity
//! that checkout would apply is priced first, as checkout does, so a coupon's minimum spend
//! is measured on what the activity leaves. The best is the largest discount, the one
//! ending soonest on a tie (use it before it lapses).
//!
//! Reads only.

use crate::platform::ids::MerchantId;
use kith_domain::Fen;
use kith_domain::order::DeliveryMethod;
use kith_domain::order_price::{Discount, PriceError, PriceLine, ThresholdTerms, price};
use kith_domain::pricing::{Quantity, ShippingRule};
use serde::Serialize;

use super::{Coupon, store};
use crate::commerce::cart::{self, CartItem};
use crate::{App, AppResult, Principal};

/// A coupon the buyer holds at a shop, as it fits their cart now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CouponFit {
    pub coupon: Coupon,
    /// What it takes off the cart's goods now, in fen; null when it does not apply.
    #[schema(value_type = Option<i64>)]
    pub discount_fen: Option<Fen>,
    /// Why it does not apply now: `coupon_out_of_scope` (nothing in the cart is in its
    /// scope) or `coupon_minimum_spend` (the eligible goods are under its minimum).
    pub refusal: Option<String>,
    /// The coupon checkout should preselect: the largest discount, soonest-ending on a tie.
    pub best: bool,
}

/// The cart's lines as pricing sees them (lines no longer on sale are left out).
pub(crate) fn price_lines(items: &[CartItem]) -> Vec<PriceLine> {
    items
        .iter()
        .filter(|i| i.available)
        .filter_map(|i| {
            Some(PriceLine {
                product_id: i.product_id.clone(),
                unit: i.unit_price_fen,
                quantity: Quantity::parse(i.quantity).ok()?,
            })
        })
        .collect()
}

/// Ranks `coupons` against `lines` after `activity` (the 满减 checkout would apply): those
/// that apply first, largest discount first (then soonest-ending), the best marked; those
/// that do not after, each with its rule.
pub fn rank(
    lines: &[PriceLine],
    activity: Option<&ThresholdTerms>,
    coupons: Vec<Coupon>,
) -> AppResult<Vec<CouponFit>> {
    // Shipping plays no part in a coupon's discount: price the goods alone.
    let no_shipping = ShippingRule {
        flat_fee: Fen::ZERO,
        free_over: None,
    };
    let mut out = Vec::with_capacity(coupons.len());
    for coupon in coupons.into_iter().filter(|k| k.state.is_available()) {
        let (discount_fen, refusal) = if lines.is_empty() {
            (None, Some("coupon_out_of_scope".to_owned()))
        } else {
            let mut discounts: Vec<Discount> = activity
                .cloned()
                .map(Discount::Threshold)
                .into_iter()
                .collect();
            discounts.push(Discount::Coupon(coupon.template.terms()?));
            match price(lines, &discounts, &no_shipping, DeliveryMethod::Pickup) {
                Ok(p) => (Some(p.coupon.get()), None),
                Err(PriceError::Rule(rule)) => (None, Some(rule.code().to_owned())),
                Err(PriceError::Invalid(e)) => return Err(e.into()),
            }
        };
        out.push(CouponFit {
            coupon,
            discount_fen: discount_fen.map(Fen::new),
            refusal,
            best: false,
        });
    }
    // Largest discount first; the soonest-ending first among equals (RFC 3339 in one zone
    // sorts as time); those that do not apply last.
    out.sort_by(|a, b| {
        b.discount_fen
            .map_or(-1, Fen::get)
            .cmp(&a.discount_fen.map_or(-1, Fen::get))
            .then_with(|| a.coupon.valid_until.cmp(&b.coupon.valid_until))
            .then_with(|| a.coupon.id.cmp(&b.coupon.id))
    });
    if let Some(first) = out.first_mut()
        && first.discount_fen.is_some_and(|d| d > Fen::ZERO)
    {
        first.best = true;
    }
    Ok(out)
}

impl App {
    /// The caller's available coupons at `merchant_id`, priced against their cart there
    /// now, the best first and marked.
    pub async fn cart_coupons(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
    ) -> AppResult<Vec<CouponFit>> {
        let now = self.now_ms();
        let (aid, mid) = (who.account_id.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                let items = cart::cart(c, &aid, &mid)?;
                let coupons = store::coupons_of(c, &aid, Some(&mid), now)?;
                let lines = price_lines(&items);
                let activity = super::activities::best_for(c, &mid, now, &lines)?;
                rank(&lines, activity.as_ref().map(|(_, t)| t), coupons)
            })
            .await
    }
}
