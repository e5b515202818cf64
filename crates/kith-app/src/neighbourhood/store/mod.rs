//! The neighbourhood context's rows and every statement on them: here the column lists
//! and decoders of leaders and batches, and their locked reads; the statements of each
//! area in its own file — leaders, points, choices and helpers ([`leaders`]), 接龙 batches
//! and their joins ([`batches`]), what leaders may sell and their batches
//! ([`leader_batches`]), statements per leader ([`statements`]) and the unclaimed rule
//! ([`unclaimed`]). Locks are taken in the order a join takes them: the batch, then
//! (in commerce) the order's stock.

mod batches;
mod leader_batches;
mod leaders;
mod statements;
mod unclaimed;

pub(super) use batches::*;
pub(super) use leader_batches::*;
pub(super) use leaders::*;
pub(super) use statements::*;
pub(super) use unclaimed::*;

use kith_domain::Coordinates;
use kith_domain::neighbourhood::LeaderStatus;
use kith_store::{Conn, Row, args};

use super::{Batch, BatchItem, BatchLeader, BatchStatus, Leader};
use crate::platform::ids::{
    AccountId, BatchId, LeaderId, MerchantId, ProductId, SkuId, StoreId, parse_id,
};
use crate::{AppError, AppResult, rfc3339};
use kith_domain::Fen;

kith_store::columns!(LeaderCols {
    "l.id" => id,
    "l.merchant_id" => merchant_id,
    "l.account_id" => account_id,
    "a.display_name" => display_name,
    "l.status" => status,
    "l.point_name" => point_name,
    "l.address" => address,
    "l.lat_e6" => lat_e6,
    "l.lng_e6" => lng_e6,
    "l.opening_hours" => opening_hours,
    "l.capacity" => capacity,
    "l.rate_bp" => rate_bp,
    "l.store_id" => store_id,
    "l.created_at" => created_at,
    "l.decided_at" => decided_at,
});
pub(super) const LEADER_COLS: &str = LeaderCols::LIST;
pub(super) const LEADER_FROM: &str = "leaders l JOIN accounts a ON a.id = l.account_id";

pub(super) fn leader_view(r: &Row) -> AppResult<Leader> {
    let coords = Coordinates {
        lat_e6: r.int(LeaderCols::lat_e6)?,
        lng_e6: r.int(LeaderCols::lng_e6)?,
    };
    let status = r.text(LeaderCols::status)?;
    Ok(Leader {
        id: LeaderId::from_row(r.text(LeaderCols::id)?),
        merchant_id: MerchantId::from_row(r.text(LeaderCols::merchant_id)?),
        account_id: AccountId::from_row(r.text(LeaderCols::account_id)?),
        display_name: r.text(LeaderCols::display_name)?,
        status: LeaderStatus::from_db(&status)
            .ok_or_else(|| AppError::Internal("unknown leader status".into()))?,
        point_name: r.text(LeaderCols::point_name)?,
        address: r.text(LeaderCols::address)?,
        latitude: coords.lat(),
        longitude: coords.lng(),
        opening_hours: serde_json::from_str(&r.text(LeaderCols::opening_hours)?)
            .map_err(|e| AppError::Internal(format!("stored opening hours: {e}")))?,
        capacity: r.int(LeaderCols::capacity)?,
        rate_bp: r.int(LeaderCols::rate_bp)?,
        store_id: r.opt_text(LeaderCols::store_id)?.map(StoreId::from_row),
        created_at: rfc3339(r.int(LeaderCols::created_at)?),
        decided_at: r.opt_int(LeaderCols::decided_at)?.map(rfc3339),
    })
}

/// A leader, locked on PostgreSQL (decisions on one leader serialise on its row).
pub(super) fn lock_leader(c: &mut dyn Conn, leader_id: &str) -> AppResult<Leader> {
    let id = parse_id(leader_id).ok_or(AppError::NotFound("leader"))?;
    let sql = format!("SELECT id FROM leaders WHERE id = $1{}", c.for_update());
    c.query_opt(&sql, args![&id])?
        .ok_or(AppError::NotFound("leader"))?;
    load_leader(c, &id)
}

pub(super) fn load_leader(c: &mut dyn Conn, leader_id: &str) -> AppResult<Leader> {
    let id = parse_id(leader_id).ok_or(AppError::NotFound("leader"))?;
    let r = c
        .query_opt(
            &format!("SELECT {LEADER_COLS} FROM {LEADER_FROM} WHERE l.id = $1"),
            args![&id],
        )?
        .ok_or(AppError::NotFound("leader"))?;
    leader_view(&r)
}

kith_store::columns!(BatchCols {
    id,
    merchant_id,
    title,
    starts_at,
    cutoff_at,
    pickup_date,
    min_total_units,
    join_seq,
    status,
    fail_reason,
    created_at,
    closed_at,
    leader_id,
});
pub(super) const BATCH_COLS: &str = BatchCols::LIST;

kith_store::columns!(BatchItemCols {
    "i.sku_id" => sku_id,
    "i.product_id" => product_id,
    "p.name" => product_name,
    "s.code" => sku_code,
    "s.list_price_fen" => list_price_fen,
    "i.price_fen" => price_fen,
    "i.per_member_limit" => per_member_limit,
    "i.quantity_limit" => quantity_limit,
    "i.taken" => taken,
});

pub(super) fn batch_view(c: &mut dyn Conn, r: &Row, now: i64) -> AppResult<Batch> {
    let id = r.text(BatchCols::id)?;
    let cutoff = r.int(BatchCols::cutoff_at)?;
    let starts = r.int(BatchCols::starts_at)?;
    let status = BatchStatus::from_db(&r.text(BatchCols::status)?)
        .ok_or_else(|| AppError::Internal("unknown batch status".into()))?;
    let items = c
        .query(
            &format!(
                "SELECT {} FROM batch_items i JOIN products p ON p.id = i.product_id JOIN skus s ON s.id = i.sku_id
                 WHERE i.batch_id = $1 ORDER BY i.position",
                BatchItemCols::LIST
            ),
            args![&id],
        )?
        .iter()
        .map(|i| {
            let (limit, taken) = (
                i.int(BatchItemCols::quantity_limit)?,
                i.int(BatchItemCols::taken)?,
            );
            Ok(BatchItem {
                sku_id: SkuId::from_row(i.text(BatchItemCols::sku_id)?),
                product_id: ProductId::from_row(i.text(BatchItemCols::product_id)?),
                product_name: i.text(BatchItemCols::product_name)?,
                sku_code: i.text(BatchItemCols::sku_code)?,
                list_price_fen: Fen::new(i.int(BatchItemCols::list_price_fen)?),
                price_fen: Fen::new(i.int(BatchItemCols::price_fen)?),
                per_member_limit: i.int(BatchItemCols::per_member_limit)?,
                quantity_limit: limit,
                taken,
                left: limit - taken,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let paid_units = c
        .query_one(
            "SELECT CAST(COALESCE(SUM(units), 0) AS BIGINT) FROM batch_orders WHERE batch_id = $1 AND state IN ('paid', 'fixed')",
            args![&id],
        )?
        .int(0)?;
    let opened_by = match r.opt_text(BatchCols::leader_id)? {
        Some(lid) => {
            let l = load_leader(c, &lid)?;
            Some(BatchLeader {
                leader_id: l.id,
                display_name: l.display_name,
                point_name: l.point_name,
                address: l.address,
            })
        }
        None => None,
    };
    Ok(Batch {
        opened_by,
        id: BatchId::from_row(id),
        merchant_id: MerchantId::from_row(r.text(BatchCols::merchant_id)?),
        title: r.text(BatchCols::title)?,
        starts_at: rfc3339(starts),
        cutoff_at: rfc3339(cutoff),
        seconds_to_cutoff: ((cutoff - now) / 1000).max(0),
        pickup_date: r.text(BatchCols::pickup_date)?,
        min_total_units: r.int(BatchCols::min_total_units)?,
        paid_units,
        joins: r.int(BatchCols::join_seq)?,
        open_for_joins: status == BatchStatus::Open && starts <= now && now < cutoff,
        status,
        fail_reason: r.opt_text(BatchCols::fail_reason)?,
        items,
        created_at: rfc3339(r.int(BatchCols::created_at)?),
        closed_at: r.opt_int(BatchCols::closed_at)?.map(rfc3339),
    })
}

pub(super) fn load_batch(c: &mut dyn Conn, batch_id: &str, now: i64) -> AppResult<Batch> {
    let id = parse_id(batch_id).ok_or(AppError::NotFound("batch"))?;
    let r = c
        .query_opt(
            &format!("SELECT {BATCH_COLS} FROM batches WHERE id = $1"),
            args![&id],
        )?
        .ok_or(AppError::NotFound("batch"))?;
    batch_view(c, &r, now)
}

/// Locks a batch's row (on PostgreSQL; SQLite has one writer): every join, payment,
/// release and the cut-off of one batch serialise on it.
pub(super) fn lock_batch(c: &mut dyn Conn, batch_id: &str) -> AppResult<(String, BatchStatus)> {
    let r = c
        .query_opt(
            &format!(
                "SELECT merchant_id, status FROM batches WHERE id = $1{}",
                c.for_update()
            ),
            args![batch_id],
        )?
        .ok_or(AppError::NotFound("batch"))?;
    Ok((
        r.text(0)?,
        BatchStatus::from_db(&r.text(1)?)
            .ok_or_else(|| AppError::Internal("unknown batch status".into()))?,
    ))
}

/// The join of an order: (batch id, leader id, state), if it is a 接龙 order.
pub(super) fn join_of(
    c: &mut dyn Conn,
    order_id: &str,
) -> AppResult<Option<(String, String, String)>> {
    c.query_opt(
        "SELECT batch_id, leader_id, state FROM batch_orders WHERE order_id = $1",
        args![order_id],
    )?
    .map(|r| Ok((r.text(0)?, r.text(1)?, r.text(2)?)))
    .transpose()
}
