//! Rows of inventory: `locations`, `stock` and `stock_movements`. Every change of a count
//! is one conditional UPDATE whose rows affected say whether it happened.

use kith_store::{Conn, Row, StoreError, Value, args};

use crate::commerce::inventory::{Location, StockLevel, StockMovement};
use crate::platform::ids::{AccountId, MerchantId, OrderId, SkuId, StoreId};
use crate::platform::page::Keyset;
use crate::{AppResult, rfc3339};

kith_store::columns!(LocationCols {
    id,
    merchant_id,
    kind,
    store_id,
    name,
    created_at,
});
const LOCATION_COLS: &str = LocationCols::LIST;

fn location_from_row(r: &Row) -> AppResult<Location> {
    Ok(Location {
        id: r.text(LocationCols::id)?,
        merchant_id: MerchantId::from_row(r.text(LocationCols::merchant_id)?),
        kind: r.text(LocationCols::kind)?,
        store_id: r.opt_text(LocationCols::store_id)?.map(StoreId::from_row),
        name: r.text(LocationCols::name)?,
        created_at: rfc3339(r.int(LocationCols::created_at)?),
    })
}

kith_store::columns!(StockCols {
    "k.sku_id" => sku_id,
    "s.code" => sku_code,
    "k.location_id" => location_id,
    "l.name" => location_name,
    "k.on_hand" => on_hand,
    "k.reserved" => reserved,
    "k.updated_at" => updated_at,
});
/// Stock with its SKU and location, for [`StockCols`].
const STOCK_FROM: &str =
    "stock k JOIN skus s ON s.id = k.sku_id JOIN locations l ON l.id = k.location_id";

fn stock_from_row(r: &Row) -> AppResult<StockLevel> {
    let (on_hand, reserved) = (r.int(StockCols::on_hand)?, r.int(StockCols::reserved)?);
    Ok(StockLevel {
        sku_id: SkuId::from_row(r.text(StockCols::sku_id)?),
        sku_code: r.text(StockCols::sku_code)?,
        location_id: r.text(StockCols::location_id)?,
        location_name: r.text(StockCols::location_name)?,
        on_hand,
        reserved,
        available: on_hand - reserved,
        updated_at: rfc3339(r.int(StockCols::updated_at)?),
    })
}

kith_store::columns!(MovementCols {
    "m.id" => id,
    "m.sku_id" => sku_id,
    "s.code" => sku_code,
    "m.location_id" => location_id,
    "l.name" => location_name,
    "m.on_hand_delta" => on_hand_delta,
    "m.reserved_delta" => reserved_delta,
    "m.reason" => reason,
    "m.actor_id" => actor_id,
    "m.order_id" => order_id,
    "m.note" => note,
    "m.at" => at,
});

fn movement_from_row(r: &Row) -> AppResult<StockMovement> {
    Ok(StockMovement {
        id: r.int(MovementCols::id)?,
        sku_id: SkuId::from_row(r.text(MovementCols::sku_id)?),
        sku_code: r.text(MovementCols::sku_code)?,
        location_id: r.text(MovementCols::location_id)?,
        location_name: r.text(MovementCols::location_name)?,
        on_hand_delta: r.int(MovementCols::on_hand_delta)?,
        reserved_delta: r.int(MovementCols::reserved_delta)?,
        reason: r.text(MovementCols::reason)?,
        actor_id: r.opt_text(MovementCols::actor_id)?.map(AccountId::from_row),
        order_id: r.opt_text(MovementCols::order_id)?.map(OrderId::from_row),
        note: r.text(MovementCols::note)?,
        at: rfc3339(r.int(MovementCols::at)?),
    })
}

/// Where a SKU or location id is looked up by [`is_owned`].
#[derive(Debug, Clone, Copy)]
pub(in crate::commerce) enum Owned {
    Sku,
    Location,
}

/// Whether the SKU or location `id` is the merchant's.
pub(in crate::commerce) fn is_owned(
    c: &mut dyn Conn,
    what: Owned,
    id: &str,
    merchant_id: &str,
) -> AppResult<bool> {
    let table = match what {
        Owned::Sku => "skus",
        Owned::Location => "locations",
    };
    Ok(c.query_opt(
        &format!("SELECT 1 FROM {table} WHERE id = $1 AND merchant_id = $2"),
        args![id, merchant_id],
    )?
    .is_some())
}

/// One change of a stock count, for the history.
pub(in crate::commerce) struct Movement<'a> {
    pub(in crate::commerce) merchant_id: &'a str,
    pub(in crate::commerce) location_id: &'a str,
    pub(in crate::commerce) sku_id: &'a str,
    pub(in crate::commerce) on_hand_delta: i64,
    pub(in crate::commerce) reserved_delta: i64,
    pub(in crate::commerce) reason: &'a str,
    pub(in crate::commerce) actor_id: Option<&'a str>,
    pub(in crate::commerce) order_id: Option<&'a str>,
    pub(in crate::commerce) note: &'a str,
    pub(in crate::commerce) at: i64,
}

pub(in crate::commerce) fn insert_movement(
    c: &mut dyn Conn,
    m: &Movement<'_>,
) -> Result<(), StoreError> {
    // The log of a change already made: an append, sent with the next statement.
    c.execute_deferred(
        "INSERT INTO stock_movements (sku_id, location_id, merchant_id, on_hand_delta, reserved_delta, reason, actor_id, order_id, note, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        args![m.sku_id, m.location_id, m.merchant_id, m.on_hand_delta, m.reserved_delta, m.reason, m.actor_id, m.order_id, m.note, m.at],
    )?;
    Ok(())
}

/// The id of the merchant's warehouse with this name, if any.
pub(in crate::commerce) fn warehouse_id(
    c: &mut dyn Conn,
    merchant_id: &str,
    name: &str,
) -> AppResult<Option<String>> {
    Ok(c.query_opt(WAREHOUSE_ID, args![merchant_id, name])?
        .map(|r| r.text(0))
        .transpose()?)
}

const WAREHOUSE_ID: &str =
    "SELECT id FROM locations WHERE merchant_id = $1 AND kind = 'warehouse' AND name = $2";

/// Whether the merchant has a warehouse with this name.
pub(in crate::commerce) fn has_warehouse(
    c: &mut dyn Conn,
    merchant_id: &str,
    name: &str,
) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM locations WHERE merchant_id = $1 AND kind = 'warehouse' AND name = $2",
        args![merchant_id, name],
    )?
    .is_some())
}

/// A warehouse; false when a location of that name exists already (left as it is).
pub(in crate::commerce) fn insert_warehouse_if_absent(
    c: &mut dyn Conn,
    id: &str,
    merchant_id: &str,
    name: &str,
    now: i64,
) -> AppResult<bool> {
    let n = c.execute(
        "INSERT INTO locations (id, merchant_id, kind, store_id, name, created_at)
         VALUES ($1, $2, 'warehouse', NULL, $3, $4) ON CONFLICT DO NOTHING",
        args![id, merchant_id, name, now],
    )?;
    Ok(n == 1)
}

/// The name of the merchant's store, if it is the merchant's.
pub(in crate::commerce) fn store_name(
    c: &mut dyn Conn,
    store_id: &str,
    merchant_id: &str,
) -> AppResult<Option<String>> {
    Ok(c.query_opt(
        "SELECT name FROM stores WHERE id = $1 AND merchant_id = $2",
        args![store_id, merchant_id],
    )?
    .map(|r| r.text(0))
    .transpose()?)
}

/// The id of the store's location, if it has one yet.
pub(in crate::commerce) fn store_location_id(
    c: &mut dyn Conn,
    store_id: &str,
) -> AppResult<Option<String>> {
    Ok(c.query_opt(
        "SELECT id FROM locations WHERE store_id = $1",
        args![store_id],
    )?
    .map(|r| r.text(0))
    .transpose()?)
}

/// The store's location; false when the store has one already or the name is taken.
pub(in crate::commerce) fn insert_store_location_if_absent(
    c: &mut dyn Conn,
    id: &str,
    merchant_id: &str,
    store_id: &str,
    name: &str,
    now: i64,
) -> AppResult<bool> {
    let n = c.execute(
        "INSERT INTO locations (id, merchant_id, kind, store_id, name, created_at)
             VALUES ($1, $2, 'store', $3, $4, $5) ON CONFLICT DO NOTHING",
        args![id, merchant_id, store_id, name, now],
    )?;
    Ok(n == 1)
}

/// Holds `qty` if that many are available at the location; false (nothing changed) if not.
pub(in crate::commerce) fn take_reservation(
    c: &mut dyn Conn,
    merchant_id: &str,
    location_id: &str,
    sku_id: &str,
    qty: i64,
    now: i64,
) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE stock SET reserved = reserved + $1, updated_at = $2
         WHERE sku_id = $3 AND location_id = $4 AND merchant_id = $5 AND on_hand - reserved >= $1",
        args![qty, now, sku_id, location_id, merchant_id],
    )?;
    Ok(n != 0)
}

/// Gives back `qty` of a reservation; the stock's merchant, or none when less is reserved.
pub(in crate::commerce) fn give_back_reservation(
    c: &mut dyn Conn,
    location_id: &str,
    sku_id: &str,
    qty: i64,
    now: i64,
) -> AppResult<Option<String>> {
    let rows = c.query(
        "UPDATE stock SET reserved = reserved - $1, updated_at = $2
         WHERE sku_id = $3 AND location_id = $4 AND reserved >= $1 RETURNING merchant_id",
        args![qty, now, sku_id, location_id],
    )?;
    Ok(rows.first().map(|r| r.text(0)).transpose()?)
}

/// Turns `qty` of a reservation into goods gone; the stock's merchant, or none when less
/// is reserved.
pub(in crate::commerce) fn commit_reservation(
    c: &mut dyn Conn,
    location_id: &str,
    sku_id: &str,
    qty: i64,
    now: i64,
) -> AppResult<Option<String>> {
    let rows = c.query(
        "UPDATE stock SET on_hand = on_hand - $1, reserved = reserved - $1, updated_at = $2
         WHERE sku_id = $3 AND location_id = $4 AND reserved >= $1 RETURNING merchant_id",
        args![qty, now, sku_id, location_id],
    )?;
    Ok(rows.first().map(|r| r.text(0)).transpose()?)
}

/// The merchant of a location (which must exist).
pub(in crate::commerce) fn location_merchant(
    c: &mut dyn Conn,
    location_id: &str,
) -> AppResult<String> {
    Ok(c.query_one(
        "SELECT merchant_id FROM locations WHERE id = $1",
        args![location_id],
    )?
    .text(0)?)
}

/// Puts `qty` more on hand (creating the stock row on first use).
pub(in crate::commerce) fn add_on_hand(
    c: &mut dyn Conn,
    sku_id: &str,
    location_id: &str,
    merchant_id: &str,
    qty: i64,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO stock (sku_id, location_id, merchant_id, on_hand, reserved, updated_at)
         VALUES ($1, $2, $3, $4, 0, $5)
         ON CONFLICT (sku_id, location_id) DO UPDATE
         SET on_hand = stock.on_hand + excluded.on_hand, updated_at = excluded.updated_at",
        args![sku_id, location_id, merchant_id, qty, now],
    )?;
    Ok(())
}

/// Takes `-delta` off hand if that many are on hand and unreserved; false (nothing
/// changed) if not.
pub(in crate::commerce) fn take_on_hand(
    c: &mut dyn Conn,
    sku_id: &str,
    location_id: &str,
    delta: i64,
    now: i64,
) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE stock SET on_hand = on_hand + $1, updated_at = $2
                         WHERE sku_id = $3 AND location_id = $4 AND on_hand - reserved + $1 >= 0",
        args![delta, now, sku_id, location_id],
    )?;
    Ok(n != 0)
}

/// What can be sold of a SKU at a location, if it was ever stocked there.
pub(in crate::commerce) fn available(
    c: &mut dyn Conn,
    location_id: &str,
    sku_id: &str,
) -> AppResult<Option<i64>> {
    Ok(c.query_opt(
        "SELECT on_hand - reserved FROM stock WHERE sku_id = $1 AND location_id = $2",
        args![sku_id, location_id],
    )?
    .map(|r| r.int(0))
    .transpose()?)
}

/// The merchant's stores that have no location yet, oldest first.
pub(in crate::commerce) fn stores_without_location(
    c: &mut dyn Conn,
    merchant_id: &str,
) -> AppResult<Vec<String>> {
    Ok(c.query(
        "SELECT s.id FROM stores s LEFT JOIN locations l ON l.store_id = s.id
             WHERE s.merchant_id = $1 AND l.id IS NULL ORDER BY s.created_at, s.id",
        args![merchant_id],
    )?
    .iter()
    .map(|r| r.text(0))
    .collect::<Result<Vec<_>, _>>()?)
}

/// The merchant's locations: warehouses first, then by creation.
pub(in crate::commerce) fn merchant_locations(
    c: &mut dyn Conn,
    merchant_id: &str,
) -> AppResult<Vec<Location>> {
    c.query(
        &format!(
            "SELECT {LOCATION_COLS} FROM locations WHERE merchant_id = $1
             ORDER BY CASE kind WHEN 'warehouse' THEN 0 ELSE 1 END, created_at, id"
        ),
        args![merchant_id],
    )?
    .iter()
    .map(location_from_row)
    .collect()
}

pub(in crate::commerce) fn count_warehouses(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT COUNT(*) FROM locations WHERE merchant_id = $1 AND kind = 'warehouse'",
        args![merchant_id],
    )?
    .int(0)?)
}

/// A unique violation on (merchant, name) is left for the caller to name.
pub(in crate::commerce) fn insert_warehouse(
    c: &mut dyn Conn,
    id: &str,
    merchant_id: &MerchantId,
    name: &str,
    now: i64,
) -> Result<u64, StoreError> {
    c.execute(
        "INSERT INTO locations (id, merchant_id, kind, store_id, name, created_at) VALUES ($1, $2, 'warehouse', NULL, $3, $4)",
        args![id, merchant_id, name, now],
    )
}

/// A location (which must exist).
pub(in crate::commerce) fn location(c: &mut dyn Conn, id: &str) -> AppResult<Location> {
    let r = c.query_one(
        &format!("SELECT {LOCATION_COLS} FROM locations WHERE id = $1"),
        args![id],
    )?;
    location_from_row(&r)
}

/// The stock of a SKU at a location (which must exist).
pub(in crate::commerce) fn stock_level(
    c: &mut dyn Conn,
    sku_id: &str,
    location_id: &str,
) -> AppResult<StockLevel> {
    stock_from_row(&c.query_one(
        &format!(
            "SELECT {} FROM {STOCK_FROM} WHERE k.sku_id = $1 AND k.location_id = $2",
            StockCols::LIST
        ),
        args![sku_id, location_id],
    )?)
}

/// Up to `fetch` stock rows of the merchant after the (sku, location) key `after`, of one
/// SKU and/or location when given, by SKU then location.
pub(in crate::commerce) fn stock_page(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
    after: (&str, &str),
    sku_id: Option<&str>,
    location_id: Option<&str>,
    fetch: i64,
) -> AppResult<Vec<StockLevel>> {
    let mut sql = format!(
        "SELECT {} FROM {STOCK_FROM} WHERE k.merchant_id = $1 AND (k.sku_id > $2 OR (k.sku_id = $2 AND k.location_id > $3))",
        StockCols::LIST
    );
    let mut params: Vec<Value> = args![merchant_id, after.0, after.1].to_vec();
    if let Some(sku) = sku_id {
        params.push(sku.into());
        sql.push_str(&format!(" AND k.sku_id = ${}", params.len()));
    }
    if let Some(loc) = location_id {
        params.push(loc.into());
        sql.push_str(&format!(" AND k.location_id = ${}", params.len()));
    }
    params.push(fetch.into());
    sql.push_str(&format!(
        " ORDER BY k.sku_id, k.location_id LIMIT ${}",
        params.len()
    ));
    c.query(&sql, &params)?.iter().map(stock_from_row).collect()
}

/// Up to `fetch` stock movements of the merchant after `after`, newest first, of one SKU
/// and/or location when given, each with its number.
pub(in crate::commerce) fn movement_page(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
    after: &Keyset,
    sku_id: Option<&str>,
    location_id: Option<&str>,
    fetch: i64,
) -> AppResult<Vec<(i64, StockMovement)>> {
    let mut sql = format!(
        "SELECT {} FROM stock_movements m JOIN skus s ON s.id = m.sku_id JOIN locations l ON l.id = m.location_id
                     WHERE m.merchant_id = $1 AND {}",
        MovementCols::LIST,
        after.sql
    );
    let mut params: Vec<Value> = args![merchant_id].to_vec();
    params.extend(after.args.iter().cloned());
    if let Some(sku) = sku_id {
        params.push(sku.into());
        sql.push_str(&format!(" AND m.sku_id = ${}", params.len()));
    }
    if let Some(loc) = location_id {
        params.push(loc.into());
        sql.push_str(&format!(" AND m.location_id = ${}", params.len()));
    }
    params.push(fetch.into());
    sql.push_str(&format!(" ORDER BY m.id DESC LIMIT ${}", params.len()));
    c.query(&sql, &params)?
        .iter()
        .map(|r| movement_from_row(r).map(|m| (m.id, m)))
        .collect()
}
