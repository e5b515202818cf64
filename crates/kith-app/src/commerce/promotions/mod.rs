//! # Promotions: coupons and 满减 activities (issue 19)
//!
//! Owns a merchant's coupon templates — fixed amount (满 X 减 Y) or a percentage with a
//! cap; scope all or named products; a minimum spend; validity as a fixed window or N days
//! after receipt; a total count and a per-member limit; active, paused or ended — and the
//! coupons members hold (available → locked in an unpaid order → used, or expired).
//! What a coupon takes off an order is `kith_domain::order_price`, not this module.
//!
//! Ways to get one: claimed in the shop (here; the merchant's new-member coupon only by a
//! member with no order there yet), issued by the merchant to members or a tier, and the
//! share coupon a distributor's link offers a friend ([`offers`]).
//!
//! 满减 / 满折 activities, which nobody claims and checkout applies by itself, are
//! [`activities`]; 限时秒杀 flash sales, their own checkout at a flash price, [`flash`].
//!
//! Writes: `coupon_templates`, `coupon_claims`, `coupons`, `promotion_settings`,
//! `threshold_activities`, `flash_sales`, `flash_slots`, `flash_buyers`.
//!
//! Invariants: a claim is **one conditional update** on the template's remaining count
//! (`store::take_one`) plus one conditional upsert of the member's claims
//! (`store::count_claim`) in the same transaction — never read-then-write — so a template
//! of 100 gives exactly 100 coupons however many members ask at once. Every change writes
//! its outbox event (`coupon_template.created`, `coupon_template.paused` / `resumed` /
//! `ended`, `coupon.claimed`) in the same transaction.
//!
//! Never: moves money (a coupon is a price, not a payment) or touches orders' rows.

pub mod activities;
pub mod fit;
pub mod flash;
pub mod offers;
pub mod store;

use crate::platform::ids::{CouponId, CouponTemplateId, MerchantId, OrderId};
use kith_domain::BoundedText;
use kith_domain::order_price::{CouponTerms, CouponValue, PriceError, Scope};
use kith_domain::{CouponState, Fen, PromotionStatus};
use kith_store::Conn;
use serde::{Deserialize, Serialize};

use crate::platform::auth::{StaffNeed, merchant_status, require_staff, require_trading_staff};
use crate::platform::ids::new_id;
use crate::platform::times::parse_time;
use crate::{App, AppError, AppResult, Principal, platform::outbox};
pub use store::{Move, Promotion};

const DAY_MS: i64 = 86_400_000;
/// Most coupons one template may give.
pub const MAX_TOTAL: i64 = 1_000_000;
/// Most coupons of one template one member may hold.
pub const MAX_PER_MEMBER: i64 = 100;
/// Most products a coupon's scope may name.
pub const MAX_SCOPE_PRODUCTS: usize = 100;

/// A merchant's coupon template with its counts.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CouponTemplate {
    pub id: CouponTemplateId,
    pub merchant_id: MerchantId,
    pub name: String,
    /// `fixed` (满 X 减 Y) or `percent`.
    pub kind: String,
    #[schema(value_type = Option<i64>)]
    pub off_fen: Option<Fen>,
    pub percent_off: Option<i64>,
    #[schema(value_type = Option<i64>)]
    pub cap_fen: Option<Fen>,
    /// The goods the coupon applies to must come to at least this (0: no minimum).
    #[schema(value_type = i64)]
    pub min_spend_fen: Fen,
    /// The products the coupon applies to; null: the whole shop.
    pub product_ids: Option<Vec<String>>,
    /// A fixed window (both set), or `valid_days` after receipt.
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
    pub valid_days: Option<i64>,
    pub total_count: i64,
    pub remaining: i64,
    pub per_member_limit: i64,
    /// Whether the coupon may be used on a group-buy (拼团) order.
    pub allow_group_buy: bool,
    /// Active, paused or ended.
    pub status: PromotionStatus,
    pub claimed_count: i64,
    pub used_count: i64,
    pub created_at: String,
}

impl CouponTemplate {
    /// The coupon's value as pricing sees it.
    pub fn value(&self) -> AppResult<CouponValue> {
        Ok(CouponValue::parse(
            &self.kind,
            self.off_fen.map(Fen::get),
            self.percent_off,
            self.cap_fen.map(Fen::get),
        )?)
    }

    /// The products the coupon applies to, as pricing sees them.
    pub fn scope(&self) -> Scope {
        match &self.product_ids {
            Some(ids) => Scope::Products(ids.clone()),
            None => Scope::All,
        }
    }

    /// The coupon's terms as pricing sees them: value, minimum spend and scope.
    pub fn terms(&self) -> AppResult<CouponTerms> {
        Ok(CouponTerms {
            value: self.value()?,
            min_spend: self.min_spend_fen,
            scope: self.scope(),
        })
    }
}

/// A coupon a member holds.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Coupon {
    pub id: CouponId,
    pub template_id: CouponTemplateId,
    pub merchant_id: MerchantId,
    pub name: String,
    /// `claim`, `issued`, `new_member` or `share`.
    pub source: String,
    pub state: CouponState,
    pub order_id: Option<OrderId>,
    pub valid_from: String,
    pub valid_until: String,
    pub claimed_at: String,
    pub template: CouponTemplate,
}

/// A new template, as the merchant sends it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCouponTemplate {
    /// 1–32 characters, e.g. 新人券.
    #[schema(min_length = 1, max_length = 32)]
    pub name: String,
    /// `fixed` or `percent`.
    #[schema(schema_with = coupon_kinds)]
    pub kind: String,
    /// Fixed: the fen off (≥ 1).
    #[schema(minimum = 1)]
    pub off_fen: Option<i64>,
    /// Percent: 1–99.
    #[schema(minimum = 1, maximum = 99)]
    pub percent_off: Option<i64>,
    /// Percent: the most it takes off, in fen (≥ 1); none: no cap.
    #[schema(minimum = 1)]
    pub cap_fen: Option<i64>,
    #[serde(default)]
    #[schema(minimum = 0)]
    pub min_spend_fen: i64,
    /// Products of this merchant the coupon applies to; absent: the whole shop.
    pub product_ids: Option<Vec<String>>,
    /// RFC 3339; with `valid_until`, a fixed window.
    #[schema(format = DateTime)]
    pub valid_from: Option<String>,
    #[schema(format = DateTime)]
    pub valid_until: Option<String>,
    /// 1–365 days after receipt (instead of a window).
    #[schema(minimum = 1, maximum = 365)]
    pub valid_days: Option<i64>,
    /// 1–1,000,000.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub total_count: i64,
    /// 1–100; default 1.
    #[schema(minimum = 1, maximum = 100)]
    pub per_member_limit: Option<i64>,
    #[serde(default)]
    pub allow_group_buy: bool,
}

/// The validity of a new template: `(from, until, days)`.
type Validity = (Option<i64>, Option<i64>, Option<i64>);

fn parse_validity(input: &NewCouponTemplate, now_ms: i64) -> AppResult<Validity> {
    match (&input.valid_from, &input.valid_until, input.valid_days) {
        (None, None, Some(days)) if (1..=365).contains(&days) => Ok((None, None, Some(days))),
        (None, None, Some(_)) => Err(AppError::invalid("valid_days", "must be 1–365")),
        (from, Some(until), None) => {
            let from = from
                .as_deref()
                .map(|f| parse_time("valid_from", f))
                .transpose()?
                .unwrap_or(now_ms);
            let until = parse_time("valid_until", until)?;
            if until <= from {
                return Err(AppError::invalid("valid_until", "must be after valid_from"));
            }
            if until <= now_ms {
                return Err(AppError::invalid("valid_until", "must be in the future"));
            }
            Ok((Some(from), Some(until), None))
        }
        _ => Err(AppError::invalid(
            "valid_days",
            "give either valid_days or a window ending at valid_until",
        )),
    }
}

/// A coupon's validity when received at `now_ms` from a template.
fn coupon_window(t: &CouponTemplate, now_ms: i64) -> AppResult<(i64, i64)> {
    match (t.valid_days, &t.valid_until) {
        (Some(days), _) => Ok((now_ms, now_ms + days * DAY_MS)),
        (None, Some(until)) => {
            let until = parse_time("valid_until", until)?;
            let from = t
                .valid_from
                .as_deref()
                .map(|f| parse_time("valid_from", f))
                .transpose()?
                .unwrap_or(now_ms);
            Ok((from, until))
        }
        (None, None) => Err(AppError::Internal(
            "a coupon template without validity".into(),
        )),
    }
}

/// Gives `account_id` one coupon of template `tid` from `source`, in the caller's
/// transaction: the conditional update on the remaining count, then the per-member limit.
/// Refusals name the rule: `coupon_template_not_active`, `coupon_sold_out`,
/// `coupon_per_member_limit`, `coupon_template_expired`.
pub fn grant(
    c: &mut dyn Conn,
    now_ms: i64,
    merchant_id: &str,
    tid: &str,
    account_id: &str,
    source: &str,
) -> AppResult<String> {
    let t = store::load_template(c, merchant_id, tid)?;
    let (from, until) = coupon_window(&t, now_ms)?;
    if until <= now_ms {
        return Err(AppError::conflict(
            "coupon_template_expired",
            "this coupon's validity has ended",
        ));
    }
    if !store::take_one(c, tid)? {
        // The update took nothing: say why (the status or the count — both read after the
        // fact, only to word the refusal).
        let now = store::load_template(c, merchant_id, tid)?;
        return Err(if !now.status.is_active() {
            AppError::conflict(
                "coupon_template_not_active",
                "this coupon is paused or ended",
            )
        } else {
            AppError::conflict("coupon_sold_out", "all of this coupon has been claimed")
        });
    }
    if !store::count_claim(c, tid, account_id, t.per_member_limit)? {
        return Err(AppError::conflict(
            "coupon_per_member_limit",
            format!(
                "a member may hold at most {} of this coupon",
                t.per_member_limit
            ),
        ));
    }
    let id = new_id();
    store::insert_coupon(
        c,
        now_ms,
        &id,
        tid,
        merchant_id,
        account_id,
        source,
        from,
        until,
    )?;
    outbox::emit(
        c,
        now_ms,
        "coupon.claimed",
        Some(merchant_id),
        &id,
        &serde_json::json!({ "coupon_id": id, "template_id": tid, "account_id": account_id, "source": source }),
    )?;
    Ok(id)
}

/// A pricing refusal as the app answers it: a broken coupon rule is a 409 naming it.
pub fn price_error(e: PriceError) -> AppError {
    match e {
        PriceError::Invalid(d) => d.into(),
        PriceError::Rule(rule) => AppError::conflict(rule.code(), rule.to_string()),
    }
}

/// The buyer's coupon `coupon_id` at `merchant_id`, ready to price a checkout: another
/// member's coupon is a 404, another shop's a 409 (`coupon_other_shop`), a used, locked or
/// expired one a 409 (`coupon_not_available`). On a 拼团 order (`group_buy`) a coupon
/// whose template does not allow it is a 409 (`coupon_not_for_group_buy`): the group price
/// is already the discount unless the merchant says the coupon stacks on it.
pub fn coupon_for_checkout(
    c: &mut dyn Conn,
    now_ms: i64,
    buyer: &str,
    merchant_id: &str,
    coupon_id: &str,
    group_buy: bool,
) -> AppResult<(String, CouponTerms)> {
    if crate::platform::ids::parse_id(coupon_id).is_none() {
        return Err(AppError::NotFound("coupon"));
    }
    let coupon = store::coupon_of(c, buyer, coupon_id, now_ms)?;
    if coupon.merchant_id.as_str() != merchant_id {
        return Err(AppError::conflict(
            "coupon_other_shop",
            "this coupon is for another shop",
        ));
    }
    if !coupon.state.is_available() {
        return Err(AppError::conflict(
            "coupon_not_available",
            format!("this coupon is {}", coupon.state.as_str()),
        ));
    }
    let t = &coupon.template;
    if group_buy && !t.allow_group_buy {
        return Err(AppError::conflict(
            "coupon_not_for_group_buy",
            "this coupon cannot be used on a group-buy (拼团) order",
        ));
    }
    Ok((coupon.id.to_string(), t.terms()?))
}

/// Locks the coupon to a new order: one conditional update from `available`, so of two
/// checkouts with one coupon exactly one wins (the other is a 409 and writes nothing).
pub fn lock_for_order(
    c: &mut dyn Conn,
    now_ms: i64,
    buyer: &str,
    coupon_id: &str,
    order_id: &str,
    discount_fen: i64,
) -> AppResult<()> {
    if !store::lock_coupon(c, now_ms, buyer, coupon_id, order_id)? {
        return Err(AppError::conflict(
            "coupon_not_available",
            "this coupon is already in another order, used or expired",
        ));
    }
    store::set_order_coupon(c, order_id, coupon_id, discount_fen)?;
    Ok(())
}

/// The order was paid: its coupon is used. Only a coupon still `locked` to this order
/// moves (one conditional update each), so a second call — a replayed payment
/// notification — changes nothing and emits nothing; the template's used count is the
/// count of its `used` coupons, never a separate counter.
pub fn on_order_paid(c: &mut dyn Conn, now_ms: i64, order_id: &str) -> AppResult<()> {
    for (id, tid, mid) in store::locked_coupons(c, order_id)? {
        if !store::use_coupon(c, &id, order_id)? {
            continue;
        }
        outbox::emit(
            c,
            now_ms,
            "coupon.used",
            Some(&mid),
            &id,
            &serde_json::json!({ "coupon_id": id, "template_id": tid, "order_id": order_id }),
        )?;
    }
    Ok(())
}

/// The paid order was refunded in full and its merchant gives coupons back
/// ([`crate::commerce::aftersale::returns_coupon`]): its used coupon is available again.
pub fn on_order_refunded(c: &mut dyn Conn, now_ms: i64, order_id: &str) -> AppResult<()> {
    give_back(c, now_ms, order_id, "used", "refunded")
}

/// The unpaid order was cancelled or expired: its coupon is available again.
pub fn on_order_released(c: &mut dyn Conn, now_ms: i64, order_id: &str) -> AppResult<()> {
    give_back(c, now_ms, order_id, "locked", "released")
}

/// Makes the order's coupons in `state` available again, one conditional update each (a
/// replay changes nothing and emits nothing), with a `coupon.returned` event saying `why`.
fn give_back(
    c: &mut dyn Conn,
    now_ms: i64,
    order_id: &str,
    state: &str,
    why: &str,
) -> AppResult<()> {
    for (id, mid) in store::order_coupons_in(c, order_id, state)? {
        if !store::make_available(c, &id, order_id, state)? {
            continue;
        }
        outbox::emit(
            c,
            now_ms,
            "coupon.returned",
            Some(&mid),
            &id,
            &serde_json::json!({ "coupon_id": id, "order_id": order_id, "why": why }),
        )?;
    }
    Ok(())
}

impl App {
    /// Staff: a new coupon template.
    pub async fn create_coupon_template(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        input: NewCouponTemplate,
    ) -> AppResult<CouponTemplate> {
        // Who asks is decided before what they sent: an outsider learns nothing of the rules.
        let (asker, shop) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| require_trading_staff(c, &asker, &shop, StaffNeed::AnyStaff))
            .await?;
        let name = BoundedText::parse("name", &input.name, 1, 32)?;
        let value =
            CouponValue::parse(&input.kind, input.off_fen, input.percent_off, input.cap_fen)?;
        let (off, percent, cap) = match value {
            CouponValue::Fixed { off } => (Some(off.get()), None, None),
            CouponValue::Percent { percent_off, cap } => {
                (None, Some(i64::from(percent_off)), cap.map(|c| c.get()))
            }
        };
        if input.min_spend_fen < 0 {
            return Err(AppError::invalid("min_spend_fen", "must not be negative"));
        }
        if let Some(off) = off
            && input.min_spend_fen > 0
            && off > input.min_spend_fen
        {
            return Err(AppError::invalid(
                "off_fen",
                "must not exceed the minimum spend (满 X 减 Y takes Y ≤ X)",
            ));
        }
        if !(1..=MAX_TOTAL).contains(&input.total_count) {
            return Err(AppError::invalid(
                "total_count",
                format!("must be 1–{MAX_TOTAL}"),
            ));
        }
        let limit = input.per_member_limit.unwrap_or(1);
        if !(1..=MAX_PER_MEMBER).contains(&limit) {
            return Err(AppError::invalid(
                "per_member_limit",
                format!("must be 1–{MAX_PER_MEMBER}"),
            ));
        }
        if let Some(ids) = &input.product_ids
            && (ids.is_empty() || ids.len() > MAX_SCOPE_PRODUCTS)
        {
            return Err(AppError::invalid(
                "product_ids",
                format!("name 1–{MAX_SCOPE_PRODUCTS} products, or leave it out for the whole shop"),
            ));
        }
        let now = self.now_ms();
        let (from, until, days) = parse_validity(&input, now)?;
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        let scope = input.product_ids.clone();
        let allow_group_buy = input.allow_group_buy;
        let min_spend = input.min_spend_fen;
        let total = input.total_count;
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                if let Some(ids) = &scope {
                    for (i, pid) in ids.iter().enumerate() {
                        // A store failure is not the merchant's mistake: it propagates
                        // (retried, or a 503/500), only a missing product is a 422.
                        if !store::is_shop_product(c, pid.as_str(), mid.as_str())? {
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
                store::insert_template(
                    c,
                    now,
                    &store::NewTemplate {
                        id: &id,
                        merchant_id: &mid,
                        name: name.as_str(),
                        kind: if off.is_some() { "fixed" } else { "percent" },
                        off,
                        percent,
                        cap,
                        min_spend,
                        scope_json: scope_json.as_deref(),
                        from,
                        until,
                        days,
                        total,
                        per_member_limit: limit,
                        allow_group_buy,
                    },
                )?;
                outbox::emit(
                    c,
                    now,
                    "coupon_template.created",
                    Some(&mid),
                    &id,
                    &serde_json::json!({ "template_id": id }),
                )?;
                store::load_template(c, &mid, &id)
            })
            .await
    }

    /// Staff: the merchant's templates with their claimed and used counts, newest first.
    pub async fn list_coupon_templates(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
    ) -> AppResult<Vec<CouponTemplate>> {
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                store::merchant_templates(c, &mid)
            })
            .await
    }

    /// Staff: pause, resume or end a template. An illegal move (resuming an ended
    /// template) is a 409 naming the rule.
    pub async fn move_coupon_template(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        template_id: &CouponTemplateId,
        m: Move,
    ) -> AppResult<CouponTemplate> {
        let now = self.now_ms();
        let (who, mid, tid) = (who.clone(), merchant_id.to_owned(), template_id.to_owned());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let before = store::load_template(c, &mid, &tid)?;
                store::move_promotion(
                    c,
                    now,
                    Promotion::CouponTemplate,
                    &mid,
                    &tid,
                    before.status,
                    m,
                )?;
                store::load_template(c, &mid, &tid)
            })
            .await
    }

    /// 领券中心: the templates a shop offers now (active, some left, not lapsed; not the share
    /// coupon, which only a share link offers). Public for a trading merchant.
    pub async fn shop_coupon_templates(
        &self,
        merchant_id: &MerchantId,
    ) -> AppResult<Vec<CouponTemplate>> {
        let now = self.now_ms();
        let mid = merchant_id.to_owned();
        self.db
            .read(move |c| {
                if merchant_status(c, &mid)?.ensure_trading().is_err() {
                    return Err(AppError::NotFound("merchant"));
                }
                // The share coupon is for friends arriving through a share link: the shop
                // does not offer it to everyone.
                let share = offers::slot_template_id(c, &mid, offers::Slot::Share)?;
                store::claimable_templates(c, &mid, now)?
                    .into_iter()
                    .filter(|t| {
                        t.as_ref()
                            .map_or(true, |t| share.as_deref() != Some(t.id.as_str()))
                    })
                    .collect()
            })
            .await
    }

    /// A member claims one coupon of a template in the shop. The merchant's new-member
    /// coupon (source `new_member`) only while the member has no order at the shop but
    /// cancelled ones: otherwise 409 `coupon_not_new_member`. The share coupon only through
    /// a share link: here 409 `coupon_share_only`.
    pub async fn claim_coupon(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        template_id: &CouponTemplateId,
    ) -> AppResult<Coupon> {
        let now = self.now_ms();
        let (who, mid, tid) = (who.clone(), merchant_id.to_owned(), template_id.to_owned());
        self.db
            .write(move |c| {
                if merchant_status(c, &mid)?.ensure_trading().is_err() {
                    return Err(AppError::NotFound("merchant"));
                }
                if offers::slot_template_id(c, &mid, offers::Slot::Share)?
                    .is_some_and(|id| id == tid)
                {
                    return Err(AppError::conflict(
                        "coupon_share_only",
                        "this coupon is for friends arriving through a share link: claim it there",
                    ));
                }
                let new_member_only = offers::slot_template_id(c, &mid, offers::Slot::NewMember)?
                    .is_some_and(|id| id == tid);
                let source = if new_member_only {
                    // Any order at the shop but a cancelled one makes a member not new.
                    if store::has_ordered(c, &who.account_id, &mid)? {
                        return Err(AppError::conflict(
                            "coupon_not_new_member",
                            "this coupon is for members who have not ordered at this shop yet",
                        ));
                    }
                    "new_member"
                } else {
                    "claim"
                };
                let id = grant(c, now, &mid, &tid, &who.account_id, source)?;
                store::coupon_of(c, &who.account_id, &id, now)
            })
            .await
    }

    /// The caller's coupons (at one shop, or all), optionally only those in `state`.
    pub async fn my_coupons(
        &self,
        who: &Principal,
        merchant_id: Option<&str>,
        state: Option<&str>,
    ) -> AppResult<Vec<Coupon>> {
        if let Some(s) = state
            && CouponState::from_db(s).is_none()
        {
            return Err(AppError::invalid(
                "state",
                "must be available, locked, used or expired",
            ));
        }
        let now = self.now_ms();
        let (who, mid, state) = (
            who.clone(),
            merchant_id.map(str::to_owned),
            state.map(str::to_owned),
        );
        self.db
            .read(move |c| {
                let all = store::coupons_of(c, &who.account_id, mid.as_deref(), now)?;
                Ok(all
                    .into_iter()
                    .filter(|k| state.as_deref().is_none_or(|s| k.state.as_str() == s))
                    .collect())
            })
            .await
    }

    /// One of the caller's coupons; another member's is a 404.
    pub async fn my_coupon(&self, who: &Principal, coupon_id: &CouponId) -> AppResult<Coupon> {
        let now = self.now_ms();
        let (who, id) = (who.clone(), coupon_id.to_owned());
        self.db
            .read(move |c| store::coupon_of(c, &who.account_id, &id, now))
            .await
    }
}

fn coupon_kinds() -> utoipa::openapi::Object {
    crate::platform::schema::one_of(&["fixed", "percent"])
}
