//! 满减 / 满折 activities (issue 19): a merchant's order-level discounts by spend, tiered
//! ("满 199 减 20, 满 399 减 50" or "满 300 打 9 折"), over the whole shop or named
//! products, live between their start and end while active.
//!
//! Nobody claims an activity: checkout gives every order the live activity that takes most
//! off it (`kith_domain::order_price::best_threshold`; activities never stack), before the
//! coupon, which is then measured on what is left. The order keeps the activity and its
//! discount, each line its part, so refunds and the commission base stay exact. The cart
//! shows what the activity takes now and what is missing to the next tier (凑单).
//! Group-buy seats and 接龙 batch orders carry their own activity price and take none.
//!
//! Writes: `threshold_activities` (the orders' `activity_id` / `activity_fen` are written
//! by `orders::place`). Every change emits its outbox event (`threshold_activity.created`,
//! `.paused`, `.resumed`, `.ended`) in the same transaction.

use crate::platform::ids::{ActivityId, MerchantId};
use kith_domain::order_price::{PriceLine, Scope, ThresholdTerms, best_threshold};
use kith_domain::{BoundedText, Fen, PromotionStatus};
use kith_store::Conn;
use serde::{Deserialize, Serialize};

use super::store::activities::live;
use super::store::activities::{self as store, load};
use super::{MAX_SCOPE_PRODUCTS, Move, Promotion};
use crate::commerce::cart;
use crate::platform::auth::{StaffNeed, merchant_status, require_staff, require_trading_staff};
use crate::platform::ids::{new_id, parse_id};
use crate::platform::times::parse_time;
use crate::{App, AppError, AppResult, Principal, platform::outbox};

/// Longest an activity may run.
pub const MAX_DAYS: i64 = 366;
const DAY_MS: i64 = 86_400_000;

/// One tier: once the goods in scope reach `min_spend_fen`, `amount` comes off — fen
/// (`fixed`, 满减) or percent (`percent`, 满折).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityTier {
    #[schema(minimum = 1)]
    pub min_spend_fen: i64,
    #[schema(minimum = 1)]
    pub amount: i64,
}

/// A merchant's 满减 / 满折 activity with what it has given.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ThresholdActivity {
    pub id: ActivityId,
    pub merchant_id: MerchantId,
    pub name: String,
    /// `fixed` (满减: tiers' amounts in fen) or `percent` (满折: percent off).
    pub kind: String,
    /// Ascending by threshold, each worth more than the one below.
    pub tiers: Vec<ActivityTier>,
    /// The products it applies to; null: the whole shop.
    pub product_ids: Option<Vec<String>>,
    pub starts_at: String,
    pub ends_at: String,
    /// Active, paused or ended (an active one past `ends_at` is no longer live).
    pub status: PromotionStatus,
    /// Whether it applies to orders now: active and within its window.
    pub live: bool,
    /// Paid orders that took it, and what it took off them, in fen.
    pub paid_orders: i64,
    #[schema(value_type = i64)]
    pub discount_fen: Fen,
    pub created_at: String,
}

impl ThresholdActivity {
    /// The products the activity applies to, as pricing sees them.
    pub fn scope(&self) -> Scope {
        match &self.product_ids {
            Some(ids) => Scope::Products(ids.clone()),
            None => Scope::All,
        }
    }

    /// The activity's terms as pricing sees them.
    pub fn terms(&self) -> AppResult<ThresholdTerms> {
        let tiers: Vec<(i64, i64)> = self
            .tiers
            .iter()
            .map(|t| (t.min_spend_fen, t.amount))
            .collect();
        Ok(ThresholdTerms::parse(&self.kind, &tiers, self.scope())?)
    }
}

/// A new activity, as the merchant sends it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewThresholdActivity {
    /// 1–32 characters, e.g. 双十二满减.
    #[schema(min_length = 1, max_length = 32)]
    pub name: String,
    /// `fixed` (满减) or `percent` (满折).
    #[schema(schema_with = activity_kinds)]
    pub kind: String,
    /// 1–5 tiers, thresholds rising, each taking more off than the one below; a fixed
    /// amount at most its threshold, a percentage 1–99.
    #[schema(min_items = 1, max_items = 5)]
    pub tiers: Vec<ActivityTier>,
    /// Products of this merchant it applies to; absent: the whole shop.
    pub product_ids: Option<Vec<String>>,
    /// RFC 3339; absent: now.
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    /// RFC 3339, after the start and in the future, at most 366 days after the start.
    #[schema(format = DateTime)]
    pub ends_at: String,
}

/// What the live activities do for a buyer's cart at a shop.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CartActivity {
    /// The activity checkout will apply (the one taking most off), or — when none is
    /// reached yet — the one nearest its next tier; null: no live activity touches the cart.
    pub activity: Option<ThresholdActivity>,
    /// What it takes off the cart's goods now, in fen (0: no tier reached).
    #[schema(value_type = i64)]
    pub discount_fen: Fen,
    /// The next tier of that activity and how much more of its goods reach it (凑单).
    pub next_tier: Option<ActivityTier>,
    #[schema(value_type = Option<i64>)]
    pub more_fen: Option<Fen>,
}

/// Announces the read [`best_for`] makes ([`Conn::prefetch`]).
pub(crate) fn announce_best_for(c: &mut dyn Conn, merchant_id: &str, now_ms: i64) -> AppResult<()> {
    store::announce_live(c, merchant_id, now_ms)
}

/// Of the merchant's live activities, the one checkout applies to `lines`: its id and
/// terms. `None`: none takes anything off.
pub(crate) fn best_for(
    c: &mut dyn Conn,
    merchant_id: &str,
    now_ms: i64,
    lines: &[PriceLine],
) -> AppResult<Option<(String, ThresholdTerms)>> {
    let live = live(c, merchant_id, now_ms)?;
    let terms = live
        .iter()
        .map(ThresholdActivity::terms)
        .collect::<AppResult<Vec<_>>>()?;
    Ok(best_threshold(lines, &terms).map(|i| (live[i].id.to_string(), terms[i].clone())))
}

/// What the live activities do for `lines`: the best one and its discount, or the one
/// nearest its next tier; with the next tier and the gap to it.
pub(crate) fn for_lines(
    live: Vec<ThresholdActivity>,
    lines: &[PriceLine],
) -> AppResult<CartActivity> {
    let mut chosen: Option<(ThresholdActivity, ThresholdTerms, Fen)> = None;
    let mut nearest: Option<(ThresholdActivity, ThresholdTerms, Fen)> = None;
    for a in live {
        let terms = a.terms()?;
        if !lines.iter().any(|l| terms.scope.covers(&l.product_id)) {
            continue;
        }
        let discount = terms.discount(lines);
        let gap = terms.next(terms.eligible(lines)).map(|(_, more)| more);
        if discount > Fen::ZERO {
            if chosen.as_ref().is_none_or(|(_, _, d)| discount > *d) {
                chosen = Some((a, terms, discount));
            }
        } else if let Some(more) = gap
            && nearest.as_ref().is_none_or(|(_, _, m)| more < *m)
        {
            nearest = Some((a, terms, more));
        }
    }
    let Some((activity, terms, discount)) =
        chosen.or_else(|| nearest.map(|(a, t, _)| (a, t, Fen::ZERO)))
    else {
        return Ok(CartActivity {
            activity: None,
            discount_fen: Fen::ZERO,
            next_tier: None,
            more_fen: None,
        });
    };
    let next = terms.next(terms.eligible(lines));
    let tier_of = |t: kith_domain::order_price::ThresholdTier| {
        activity
            .tiers
            .iter()
            .find(|x| x.min_spend_fen == t.min_spend.get())
            .copied()
    };
    Ok(CartActivity {
        next_tier: next.and_then(|(t, _)| tier_of(t)),
        more_fen: next.map(|(_, more)| more.get()).map(Fen::new),
        discount_fen: Fen::new(discount.get()),
        activity: Some(activity),
    })
}

impl App {
    /// Staff: a new 满减 / 满折 activity.
    pub async fn create_threshold_activity(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        input: NewThresholdActivity,
    ) -> AppResult<ThresholdActivity> {
        // Who asks is decided before what they sent: an outsider learns nothing of the rules.
        let (asker, shop) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| require_trading_staff(c, &asker, &shop, StaffNeed::AnyStaff))
            .await?;
        let name = BoundedText::parse("name", &input.name, 1, 32)?;
        let pairs: Vec<(i64, i64)> = input
            .tiers
            .iter()
            .map(|t| (t.min_spend_fen, t.amount))
            .collect();
        ThresholdTerms::parse(&input.kind, &pairs, Scope::All)?;
        if let Some(ids) = &input.product_ids
            && (ids.is_empty() || ids.len() > MAX_SCOPE_PRODUCTS)
        {
            return Err(AppError::invalid(
                "product_ids",
                format!("name 1–{MAX_SCOPE_PRODUCTS} products, or leave it out for the whole shop"),
            ));
        }
        let now = self.now_ms();
        let starts = input
            .starts_at
            .as_deref()
            .map(|s| parse_time("starts_at", s))
            .transpose()?
            .unwrap_or(now);
        let ends = parse_time("ends_at", &input.ends_at)?;
        if ends <= starts {
            return Err(AppError::invalid("ends_at", "must be after starts_at"));
        }
        if ends <= now {
            return Err(AppError::invalid("ends_at", "must be in the future"));
        }
        if ends - starts > MAX_DAYS * DAY_MS {
            return Err(AppError::invalid(
                "ends_at",
                format!("an activity runs at most {MAX_DAYS} days"),
            ));
        }
        let tiers_json = serde_json::to_string(&input.tiers).unwrap_or_default();
        let (who, mid, kind, scope) = (
            who.clone(),
            merchant_id.to_owned(),
            input.kind.clone(),
            input.product_ids.clone(),
        );
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                if let Some(ids) = &scope {
                    for (i, pid) in ids.iter().enumerate() {
                        let found = parse_id(pid).is_some()
                            && super::store::is_shop_product(c, pid.as_str(), mid.as_str())?;
                        if !found {
                            return Err(AppError::invalid(
                                format!("product_ids[{i}]"),
                                "no such product in this shop",
                            ));
                        }
                    }
                }
                let scope_json = scope
                    .as_ref()
                    .map(|ids| serde_json::to_string(ids).unwrap_or_default());
                let id = new_id();
                store::insert_activity(
                    c,
                    now,
                    &store::NewActivity {
                        id: &id,
                        merchant_id: &mid,
                        name: name.as_str(),
                        kind: &kind,
                        tiers_json: &tiers_json,
                        scope_json: scope_json.as_deref(),
                        starts,
                        ends,
                    },
                )?;
                outbox::emit(
                    c,
                    now,
                    "threshold_activity.created",
                    Some(&mid),
                    &id,
                    &serde_json::json!({ "activity_id": id }),
                )?;
                load(c, &mid, &id, now)
            })
            .await
    }

    /// Staff: the merchant's activities with what they gave, newest first.
    pub async fn list_threshold_activities(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
    ) -> AppResult<Vec<ThresholdActivity>> {
        let now = self.now_ms();
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                store::merchant_activities(c, &mid, now)
            })
            .await
    }

    /// Staff: pause, resume or end an activity (one conditional update; an illegal move is
    /// a 409 `activity_status`). Orders already placed keep their discount.
    pub async fn move_threshold_activity(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        activity_id: &ActivityId,
        m: Move,
    ) -> AppResult<ThresholdActivity> {
        let now = self.now_ms();
        let (who, mid, aid) = (who.clone(), merchant_id.to_owned(), activity_id.to_owned());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let before = load(c, &mid, &aid, now)?;
                super::store::move_promotion(
                    c,
                    now,
                    Promotion::Activity,
                    &mid,
                    &aid,
                    before.status,
                    m,
                )?;
                load(c, &mid, &aid, now)
            })
            .await
    }

    /// The activities a shop runs now. Public for a trading merchant.
    pub async fn shop_threshold_activities(
        &self,
        merchant_id: &MerchantId,
    ) -> AppResult<Vec<ThresholdActivity>> {
        let now = self.now_ms();
        let mid = merchant_id.to_owned();
        self.db
            .read(move |c| {
                if merchant_status(c, &mid)?.ensure_trading().is_err() {
                    return Err(AppError::NotFound("merchant"));
                }
                live(c, &mid, now)
            })
            .await
    }

    /// What the shop's live activities do for the caller's cart there now.
    pub async fn cart_activity(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
    ) -> AppResult<CartActivity> {
        let now = self.now_ms();
        let (aid, mid) = (who.account_id.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                let items = cart::cart(c, &aid, &mid)?;
                let lines = super::fit::price_lines(&items);
                for_lines(live(c, &mid, now)?, &lines)
            })
            .await
    }
}

fn activity_kinds() -> utoipa::openapi::Object {
    crate::platform::schema::one_of(&["fixed", "percent"])
}
