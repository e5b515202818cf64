//! The rows of coupons: column lists, row readers and the two conditional statements a
//! claim is made of. Nothing here decides a rule; `mod.rs` does.

pub(super) mod activities;
pub(super) mod flash;

use kith_domain::PromotionStatus;
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
    let mut state = r.text(CouponCols::state)?;
    if state == "available" && valid_until <= now_ms {
        state = "expired".into();
    }
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
