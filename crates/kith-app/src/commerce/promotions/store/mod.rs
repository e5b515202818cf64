//! The rows of coupons: column lists, row readers and the two conditional statements a
//! claim is made of. Nothing here decides a rule; `mod.rs` does.

pub(super) mod activities;
pub(super) mod flash;

use kith_domain::{CouponState, PromotionStatus};
use kith_store::{Conn, Row, args};

use super::{Coupon, CouponTemplate};
use crate::platform::ids::{CouponId, CouponTemplateId, MerchantId, OrderId};
use crate::{AppError, AppResult, rfc3339};
use kith_domain::Fen;

kith_store::columns!(TemplateCols {
    "id" => id,
    "merchant_id" => merchant_id,
    "name" => name,
    "kind" => kind,
    "off_fen" => off_fen,
    "percent_off" => percent_off,
    "cap_fen" => cap_fen,
    "min_spend_fen" => min_spend_fen,
    "product_ids" => product_ids,
    "valid_from" => valid_from,
    "valid_until" => valid_until,
    "valid_days" => valid_days,
    "total_count" => total_count,
    "remaining" => remaining,
    "per_member_limit" => per_member_limit,
    "allow_group_buy" => allow_group_buy,
    "status" => status,
    // Derived, never counted separately: a claim takes one from `remaining`, and a coupon
    // is used when its row says so — one source of truth each.
    "total_count - remaining" => claimed_count,
    "(SELECT COUNT(*) FROM coupons k WHERE k.template_id = coupon_templates.id AND k.state = 'used')" => used_count,
    "created_at" => created_at,
});
/// The template's columns for `SELECT … FROM coupon_templates`; the claimed and used counts
/// are derived (see [`TemplateCols`]).
pub const TEMPLATE_COLS: &str = TemplateCols::LIST;

pub fn template_from_row(r: &Row) -> AppResult<CouponTemplate> {
    let product_ids = match r.opt_text(TemplateCols::product_ids)? {
        Some(json) => Some(
            serde_json::from_str(&json)
                .map_err(|e| AppError::Internal(format!("stored coupon scope: {e}")))?,
        ),
        None => None,
    };
    Ok(CouponTemplate {
        id: CouponTemplateId::from_row(r.text(TemplateCols::id)?),
        merchant_id: MerchantId::from_row(r.text(TemplateCols::merchant_id)?),
        name: r.text(TemplateCols::name)?,
        kind: r.text(TemplateCols::kind)?,
        off_fen: r.opt_int(TemplateCols::off_fen)?.map(Fen::new),
        percent_off: r.opt_int(TemplateCols::percent_off)?,
        cap_fen: r.opt_int(TemplateCols::cap_fen)?.map(Fen::new),
        min_spend_fen: Fen::new(r.int(TemplateCols::min_spend_fen)?),
        product_ids,
        valid_from: r.opt_int(TemplateCols::valid_from)?.map(rfc3339),
        valid_until: r.opt_int(TemplateCols::valid_until)?.map(rfc3339),
        valid_days: r.opt_int(TemplateCols::valid_days)?,
        total_count: r.int(TemplateCols::total_count)?,
        remaining: r.int(TemplateCols::remaining)?,
        per_member_limit: r.int(TemplateCols::per_member_limit)?,
        allow_group_buy: r.bool(TemplateCols::allow_group_buy)?,
        status: PromotionStatus::from_db(&r.text(TemplateCols::status)?)
            .ok_or_else(|| AppError::Internal("unknown coupon template status".into()))?,
        claimed_count: r.int(TemplateCols::claimed_count)?,
        used_count: r.int(TemplateCols::used_count)?,
        created_at: rfc3339(r.int(TemplateCols::created_at)?),
    })
}

/// The template `id` of `merchant_id`, or 404.
pub fn load_template(c: &mut dyn Conn, merchant_id: &str, id: &str) -> AppResult<CouponTemplate> {
    let r = c
        .query_opt(
            &format!(
                "SELECT {TEMPLATE_COLS} FROM coupon_templates WHERE id = $1 AND merchant_id = $2"
            ),
            args![id, merchant_id],
        )?
        .ok_or(AppError::NotFound("coupon template"))?;
    template_from_row(&r)
}

/// Takes one coupon of the template: one conditional update, so the remaining count can
/// never go below zero whatever the concurrency. `false`: none left, or not active.
pub fn take_one(c: &mut dyn Conn, template_id: &str) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE coupon_templates SET remaining = remaining - 1 \
         WHERE id = $1 AND status = 'active' AND remaining > 0",
        args![template_id],
    )?;
    Ok(n == 1)
}

/// Counts one more claim by `account_id`, unless they already hold `limit`: one
/// conditional upsert. `false`: at the limit.
pub fn count_claim(
    c: &mut dyn Conn,
    template_id: &str,
    account_id: &str,
    limit: i64,
) -> AppResult<bool> {
    let n = c.execute(
        "INSERT INTO coupon_claims (template_id, account_id, claimed) VALUES ($1, $2, 1) \
         ON CONFLICT (template_id, account_id) DO UPDATE SET claimed = coupon_claims.claimed + 1 \
         WHERE coupon_claims.claimed < $3",
        args![template_id, account_id, limit],
    )?;
    Ok(n == 1)
}

/// A legal move of a promotion's status: `Pause` active → paused, `Resume` paused →
/// active, `End` active or paused → ended (for good).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Pause,
    Resume,
    End,
}

impl Move {
    /// The move as its outbox topics and refusals word it: `paused`, `resumed`, `ended`.
    pub fn verb(self) -> &'static str {
        match self {
            Move::Pause => "paused",
            Move::Resume => "resumed",
            Move::End => "ended",
        }
    }
}

/// The merchant-owned promotions whose `status` moves by [`Move`]: each its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Promotion {
    CouponTemplate,
    Activity,
    FlashSale,
}

impl Promotion {
    fn table(self) -> &'static str {
        match self {
            Promotion::CouponTemplate => "coupon_templates",
            Promotion::Activity => "threshold_activities",
            Promotion::FlashSale => "flash_sales",
        }
    }

    /// (outbox topic prefix, the id's key in the event, the 409's rule, the noun in words).
    fn words(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Promotion::CouponTemplate => (
                "coupon_template",
                "template_id",
                "coupon_template_status",
                "coupon",
            ),
            Promotion::Activity => (
                "threshold_activity",
                "activity_id",
                "activity_status",
                "activity",
            ),
            Promotion::FlashSale => ("flash_sale", "sale_id", "flash_sale_status", "flash sale"),
        }
    }
}

/// Makes `m` on the merchant's promotion `id`, whose status was `before`, in the caller's
/// transaction: one conditional update and its outbox event (`coupon_template.paused`,
/// `threshold_activity.ended`, …); an illegal move is a 409 naming the rule
/// (`coupon_template_status`, `activity_status`, `flash_sale_status`) and writes nothing.
pub fn move_promotion(
    c: &mut dyn Conn,
    now_ms: i64,
    what: Promotion,
    merchant_id: &str,
    id: &str,
    before: PromotionStatus,
    m: Move,
) -> AppResult<()> {
    let (topic, key, rule, noun) = what.words();
    if !set_status(c, what, merchant_id, id, m)? {
        return Err(AppError::conflict(
            rule,
            format!("a {before} {noun} cannot be {}", m.verb()),
        ));
    }
    crate::platform::outbox::emit(
        c,
        now_ms,
        &format!("{topic}.{}", m.verb()),
        Some(merchant_id),
        id,
        &serde_json::json!({ key: id }),
    )?;
    Ok(())
}

/// Makes `m` on the merchant's promotion `id` if its status allows it, as one conditional
/// update; `false` when it does not.
fn set_status(
    c: &mut dyn Conn,
    what: Promotion,
    merchant_id: &str,
    id: &str,
    m: Move,
) -> AppResult<bool> {
    let (to, from) = match m {
        Move::Pause => ("paused", "status = 'active'"),
        Move::Resume => ("active", "status = 'paused'"),
        Move::End => ("ended", "status <> 'ended'"),
    };
    let sql = format!(
        "UPDATE {} SET status = $1 WHERE id = $2 AND merchant_id = $3 AND {from}",
        what.table()
    );
    Ok(c.execute(&sql, args![to, id, merchant_id])? == 1)
}

kith_store::columns!(CouponCols {
    id,
    template_id,
    merchant_id,
    account_id,
    source,
    state,
    order_id,
    valid_from,
    valid_until,
    claimed_at,
});
pub const COUPON_COLS: &str = CouponCols::LIST;

/// A coupon row with its template's terms; `now_ms` turns a lapsed `available` coupon into
/// `expired` as it is read (expiry is a fact of time, not a write).
pub fn coupon_from_row(r: &Row, template: CouponTemplate, now_ms: i64) -> AppResult<Coupon> {
    let valid_until = r.int(CouponCols::valid_until)?;
    let state = CouponState::from_db(&r.text(CouponCols::state)?)
        .ok_or_else(|| AppError::Internal("unknown coupon state".into()))?
        .at(valid_until <= now_ms);
    Ok(Coupon {
        id: CouponId::from_row(r.text(CouponCols::id)?),
        template_id: CouponTemplateId::from_row(r.text(CouponCols::template_id)?),
        merchant_id: MerchantId::from_row(r.text(CouponCols::merchant_id)?),
        source: r.text(CouponCols::source)?,
        state,
        order_id: r.opt_text(CouponCols::order_id)?.map(OrderId::from_row),
        valid_from: rfc3339(r.int(CouponCols::valid_from)?),
        valid_until: rfc3339(valid_until),
        claimed_at: rfc3339(r.int(CouponCols::claimed_at)?),
        name: template.name.clone(),
        template,
    })
}

/// The coupons `account_id` holds (at one merchant, or everywhere), newest first, each
/// with its template.
pub fn coupons_of(
    c: &mut dyn Conn,
    account_id: &str,
    merchant_id: Option<&str>,
    now_ms: i64,
) -> AppResult<Vec<Coupon>> {
    let rows = match merchant_id {
        Some(mid) => c.query(
            &format!(
                "SELECT {COUPON_COLS} FROM coupons WHERE account_id = $1 AND merchant_id = $2 \
                 ORDER BY claimed_at DESC, id"
            ),
            args![account_id, mid],
        )?,
        None => c.query(
            &format!(
                "SELECT {COUPON_COLS} FROM coupons WHERE account_id = $1 ORDER BY claimed_at DESC, id"
            ),
            args![account_id],
        )?,
    };
    let mut templates: std::collections::HashMap<String, CouponTemplate> = Default::default();
    rows.iter()
        .map(|r| {
            let tid = r.text(CouponCols::template_id)?;
            let mid = r.text(CouponCols::merchant_id)?;
            let t = match templates.get(&tid) {
                Some(t) => t.clone(),
                None => {
                    let t = load_template(c, &mid, &tid)?;
                    templates.insert(tid, t.clone());
                    t
                }
            };
            coupon_from_row(r, t, now_ms)
        })
        .collect()
}

/// One coupon of `account_id`, or 404 (another member's coupon is not theirs to know).
pub fn coupon_of(c: &mut dyn Conn, account_id: &str, id: &str, now_ms: i64) -> AppResult<Coupon> {
    let r = c
        .query_opt(
            &format!("SELECT {COUPON_COLS} FROM coupons WHERE id = $1 AND account_id = $2"),
            args![id, account_id],
        )?
        .ok_or(AppError::NotFound("coupon"))?;
    let t = load_template(
        c,
        &r.text(CouponCols::merchant_id)?,
        &r.text(CouponCols::template_id)?,
    )?;
    coupon_from_row(&r, t, now_ms)
}

/// One coupon of template `tid` for `account_id`, available from `from` until `until`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_coupon(
    c: &mut dyn Conn,
    now_ms: i64,
    id: &str,
    tid: &str,
    merchant_id: &str,
    account_id: &str,
    source: &str,
    from: i64,
    until: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO coupons (id, template_id, merchant_id, account_id, source, state, order_id, valid_from, valid_until, claimed_at) \
         VALUES ($1, $2, $3, $4, $5, 'available', NULL, $6, $7, $8)",
        args![id, tid, merchant_id, account_id, source, from, until, now_ms],
    )?;
    Ok(())
}

/// Locks the buyer's available coupon to the order; false when it is not available (in
/// another order, used or expired).
pub(crate) fn lock_coupon(
    c: &mut dyn Conn,
    now_ms: i64,
    buyer: &str,
    coupon_id: &str,
    order_id: &str,
) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE coupons SET state = 'locked', order_id = $1 \
         WHERE id = $2 AND account_id = $3 AND state = 'available' AND valid_until > $4",
        args![order_id, coupon_id, buyer, now_ms],
    )?;
    Ok(n == 1)
}

/// The order's coupon and what it took off.
pub(crate) fn set_order_coupon(
    c: &mut dyn Conn,
    order_id: &str,
    coupon_id: &str,
    discount_fen: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE orders SET coupon_id = $1, coupon_fen = $2 WHERE id = $3",
        args![coupon_id, discount_fen, order_id],
    )?;
    Ok(())
}

/// The coupons locked to the order: (coupon, template, merchant).
pub(crate) fn locked_coupons(
    c: &mut dyn Conn,
    order_id: &str,
) -> AppResult<Vec<(String, String, String)>> {
    c.query(
        "SELECT id, template_id, merchant_id FROM coupons WHERE order_id = $1 AND state = 'locked'",
        args![order_id],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.text(1)?, r.text(2)?)))
    .collect()
}

/// The coupon locked to the order is used; false when it was no longer locked to it.
pub(crate) fn use_coupon(c: &mut dyn Conn, id: &str, order_id: &str) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE coupons SET state = 'used' WHERE id = $1 AND order_id = $2 AND state = 'locked'",
        args![id, order_id],
    )?;
    Ok(n == 1)
}

/// The order's coupons in `state`: (coupon, merchant).
pub(crate) fn order_coupons_in(
    c: &mut dyn Conn,
    order_id: &str,
    state: &str,
) -> AppResult<Vec<(String, String)>> {
    c.query(
        "SELECT id, merchant_id FROM coupons WHERE order_id = $1 AND state = $2",
        args![order_id, state],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.text(1)?)))
    .collect()
}

/// The coupon is available again; false when it was no longer the order's in `state`.
pub(crate) fn make_available(
    c: &mut dyn Conn,
    id: &str,
    order_id: &str,
    state: &str,
) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE coupons SET state = 'available', order_id = NULL WHERE id = $1 AND order_id = $2 AND state = $3",
        args![id, order_id, state],
    )?;
    Ok(n == 1)
}

/// Whether `product_id` is a product of `merchant_id`.
pub(crate) fn is_shop_product(
    c: &mut dyn Conn,
    product_id: &str,
    merchant_id: &str,
) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM products WHERE id = $1 AND merchant_id = $2",
        args![product_id, merchant_id],
    )?
    .is_some())
}

/// A coupon template as the merchant sets it up.
pub(crate) struct NewTemplate<'a> {
    pub id: &'a str,
    pub merchant_id: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub off: Option<i64>,
    pub percent: Option<i64>,
    pub cap: Option<i64>,
    pub min_spend: i64,
    pub scope_json: Option<&'a str>,
    pub from: Option<i64>,
    pub until: Option<i64>,
    pub days: Option<i64>,
    pub total: i64,
    pub per_member_limit: i64,
    pub allow_group_buy: bool,
}

pub(crate) fn insert_template(c: &mut dyn Conn, now: i64, t: &NewTemplate<'_>) -> AppResult<()> {
    c.execute(
        "INSERT INTO coupon_templates (id, merchant_id, name, kind, off_fen, percent_off, cap_fen, min_spend_fen, product_ids, \
                     valid_from, valid_until, valid_days, total_count, remaining, per_member_limit, allow_group_buy, status, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15, 'active', $16)",
        args![t.id, t.merchant_id, t.name, t.kind, t.off, t.percent, t.cap, t.min_spend,
            t.scope_json, t.from, t.until, t.days, t.total, t.per_member_limit, t.allow_group_buy, now],
    )?;
    Ok(())
}

/// The merchant's templates, newest first.
pub(crate) fn merchant_templates(
    c: &mut dyn Conn,
    merchant_id: &str,
) -> AppResult<Vec<CouponTemplate>> {
    c.query(
        &format!(
            "SELECT {} FROM coupon_templates WHERE merchant_id = $1 ORDER BY created_at DESC, id",
            TEMPLATE_COLS
        ),
        args![merchant_id],
    )?
    .iter()
    .map(template_from_row)
    .collect()
}

/// The merchant's templates that can be claimed now, newest first (each decoded
/// separately: a row that does not decode is its own error).
pub(crate) fn claimable_templates(
    c: &mut dyn Conn,
    merchant_id: &str,
    now: i64,
) -> AppResult<Vec<AppResult<CouponTemplate>>> {
    Ok(c
        .query(
            &format!(
                "SELECT {} FROM coupon_templates WHERE merchant_id = $1 AND status = 'active' AND remaining > 0 \
                         AND (valid_until IS NULL OR valid_until > $2) ORDER BY created_at DESC, id",
                TEMPLATE_COLS
            ),
            args![merchant_id, now],
        )?
        .iter()
        .map(template_from_row)
        .collect())
}

/// Whether the member has an order at the shop that was not cancelled.
pub(crate) fn has_ordered(
    c: &mut dyn Conn,
    account_id: &str,
    merchant_id: &str,
) -> AppResult<bool> {
    Ok(c
        .query_opt(
            "SELECT 1 FROM orders WHERE buyer_id = $1 AND merchant_id = $2 AND status <> 'cancelled' LIMIT 1",
            args![account_id, merchant_id],
        )?
        .is_some())
}

/// The id of the merchant's tier `code`, if there is one.
pub(crate) fn tier_id(
    c: &mut dyn Conn,
    merchant_id: &str,
    code: &str,
) -> AppResult<Option<String>> {
    c.query_opt(
        "SELECT id FROM tiers WHERE merchant_id = $1 AND code = $2",
        args![merchant_id, code],
    )?
    .map(|r| r.text(0))
    .transpose()
    .map_err(Into::into)
}

/// The members of the merchant's tier, by id.
pub(crate) fn tier_members(
    c: &mut dyn Conn,
    merchant_id: &str,
    tier_id: &str,
) -> AppResult<Vec<String>> {
    Ok(c
        .query(
            "SELECT account_id FROM member_tiers WHERE merchant_id = $1 AND tier_id = $2 ORDER BY account_id",
            args![merchant_id, tier_id],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_, _>>()?)
}

/// The template chosen for `slot` at `merchant_id`, if any.
pub(crate) fn slot_template_id(
    c: &mut dyn Conn,
    merchant_id: &str,
    slot: super::offers::Slot,
) -> AppResult<Option<String>> {
    c.query_opt(
        &format!(
            "SELECT {col} FROM promotion_settings WHERE merchant_id = $1 AND {col} IS NOT NULL",
            col = slot.column()
        ),
        args![merchant_id],
    )?
    .map(|r| r.text(0))
    .transpose()
    .map_err(Into::into)
}

/// Chooses `template_id` (or none) for `slot` at `merchant_id`.
pub(crate) fn set_slot_template(
    c: &mut dyn Conn,
    now: i64,
    merchant_id: &str,
    slot: super::offers::Slot,
    template_id: Option<&str>,
) -> AppResult<()> {
    let col = slot.column();
    c.execute(
        &format!(
            "INSERT INTO promotion_settings (merchant_id, {col}, updated_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (merchant_id) DO UPDATE SET {col} = $2, updated_at = $3"
        ),
        args![merchant_id, template_id, now],
    )?;
    Ok(())
}
