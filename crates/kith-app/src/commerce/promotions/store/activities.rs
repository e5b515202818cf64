//! 满减's rows: `threshold_activities`, with what each gave read from the orders.

use std::sync::LazyLock;

use kith_domain::{Fen, PromotionStatus};
use kith_store::{Conn, Row, args};

use super::super::activities::{ActivityTier, ThresholdActivity};
use crate::platform::ids::{ActivityId, MerchantId, parse_id};
use crate::{AppError, AppResult, rfc3339};

kith_store::columns!(ActivityCols {
    "id" => id,
    "merchant_id" => merchant_id,
    "name" => name,
    "kind" => kind,
    "tiers" => tiers,
    "product_ids" => product_ids,
    "starts_at" => starts_at,
    "ends_at" => ends_at,
    "status" => status,
    "created_at" => created_at,
    // Derived from the orders, never counted separately: one source of truth.
    "(SELECT COUNT(*) FROM orders o WHERE o.activity_id = threshold_activities.id AND o.paid_at IS NOT NULL)" => paid_orders,
    "(SELECT CAST(COALESCE(SUM(o.activity_fen), 0) AS BIGINT) FROM orders o WHERE o.activity_id = threshold_activities.id AND o.paid_at IS NOT NULL)" => discount_fen,
});

fn from_row(r: &Row, now_ms: i64) -> AppResult<ThresholdActivity> {
    fn json<T: serde::de::DeserializeOwned>(what: &str, s: String) -> AppResult<T> {
        serde_json::from_str(&s).map_err(|e| AppError::Internal(format!("stored {what}: {e}")))
    }
    let tiers: Vec<ActivityTier> = json("activity tiers", r.text(ActivityCols::tiers)?)?;
    let product_ids = match r.opt_text(ActivityCols::product_ids)? {
        Some(s) => Some(json("activity scope", s)?),
        None => None,
    };
    let (starts, ends) = (
        r.int(ActivityCols::starts_at)?,
        r.int(ActivityCols::ends_at)?,
    );
    let status = PromotionStatus::from_db(&r.text(ActivityCols::status)?)
        .ok_or_else(|| AppError::Internal("unknown activity status".into()))?;
    Ok(ThresholdActivity {
        id: ActivityId::from_row(r.text(ActivityCols::id)?),
        merchant_id: MerchantId::from_row(r.text(ActivityCols::merchant_id)?),
        name: r.text(ActivityCols::name)?,
        kind: r.text(ActivityCols::kind)?,
        tiers,
        product_ids,
        starts_at: rfc3339(starts),
        ends_at: rfc3339(ends),
        live: status.is_active() && starts <= now_ms && now_ms < ends,
        status,
        paid_orders: r.int(ActivityCols::paid_orders)?,
        discount_fen: Fen::new(r.int(ActivityCols::discount_fen)?),
        created_at: rfc3339(r.int(ActivityCols::created_at)?),
    })
}

pub(crate) fn load(
    c: &mut dyn Conn,
    merchant_id: &str,
    id: &str,
    now_ms: i64,
) -> AppResult<ThresholdActivity> {
    if parse_id(id).is_none() {
        return Err(AppError::NotFound("activity"));
    }
    let r = c
        .query_opt(
            &format!(
                "SELECT {} FROM threshold_activities WHERE id = $1 AND merchant_id = $2",
                ActivityCols::LIST
            ),
            args![id, merchant_id],
        )?
        .ok_or(AppError::NotFound("activity"))?;
    from_row(&r, now_ms)
}

/// The merchant's activities live at `now_ms`, oldest first (the earlier wins a tie).
pub(crate) fn live(
    c: &mut dyn Conn,
    merchant_id: &str,
    now_ms: i64,
) -> AppResult<Vec<ThresholdActivity>> {
    c.query(live_sql(), args![merchant_id, now_ms])?
        .iter()
        .map(|r| from_row(r, now_ms))
        .collect()
}

fn live_sql() -> &'static str {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {} FROM threshold_activities WHERE merchant_id = $1 AND status = 'active' \
             AND starts_at <= $2 AND ends_at > $2 ORDER BY created_at, id",
            ActivityCols::LIST
        )
    });
    &SQL
}

/// Announces [`live`] ([`Conn::prefetch`]).
pub(crate) fn announce_live(c: &mut dyn Conn, merchant_id: &str, now_ms: i64) -> AppResult<()> {
    Ok(kith_store::prefetch!(c, live_sql(), merchant_id, now_ms)?)
}

/// An activity as the merchant sets it up (tiers and scope as JSON).
pub(crate) struct NewActivity<'a> {
    pub id: &'a str,
    pub merchant_id: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub tiers_json: &'a str,
    pub scope_json: Option<&'a str>,
    pub starts: i64,
    pub ends: i64,
}

pub(crate) fn insert_activity(c: &mut dyn Conn, now: i64, a: &NewActivity<'_>) -> AppResult<()> {
    c.execute(
        "INSERT INTO threshold_activities (id, merchant_id, name, kind, tiers, product_ids, starts_at, ends_at, status, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9)",
        args![a.id, a.merchant_id, a.name, a.kind, a.tiers_json, a.scope_json, a.starts, a.ends, now],
    )?;
    Ok(())
}

/// The merchant's activities, newest first.
pub(crate) fn merchant_activities(
    c: &mut dyn Conn,
    merchant_id: &str,
    now: i64,
) -> AppResult<Vec<ThresholdActivity>> {
    c.query(
        &format!(
            "SELECT {} FROM threshold_activities WHERE merchant_id = $1 ORDER BY created_at DESC, id",
            ActivityCols::LIST
        ),
        args![merchant_id],
    )?
    .iter()
    .map(|r| from_row(r, now))
    .collect()
}
