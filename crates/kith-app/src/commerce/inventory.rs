//! Inventory: where stock is kept (warehouses, and one location per offline store) and how
//! much of each SKU is there.
//!
//! `available = on_hand - reserved`, and it never goes below zero (docs/PRODUCT.md §3): every change
//! of a count is **one conditional UPDATE checked by rows affected**, never a read followed
//! by a write, so concurrent checkouts cannot oversell. The schema's CHECK
//! (`reserved >= 0 AND on_hand >= reserved`) is the last line of defence. Every change also
//! writes a `stock_movements` row in the same transaction: the history explains the count.
//!
//! Checkout calls [`reserve`] when an order is placed, [`release`] when it is cancelled and
//! [`commit`] when the goods leave, each inside its own transaction.

use kith_domain::BoundedText;
use kith_store::{Conn, StoreError};
use serde::Serialize;

use super::store::inventory as store;
use crate::platform::auth::{StaffNeed, require_staff, require_trading_staff};
use crate::platform::error::UniqueAs;
use crate::platform::ids::{AccountId, MerchantId, OrderId, SkuId, StoreId, new_id, parse_id};
use crate::platform::page::{Direction, Page, PageRequest, encode_cursor};
use crate::{App, AppError, AppResult, Principal, platform::outbox};

/// The reason of every refusal for stock (a reservation that the location cannot cover),
/// so a face can tell it from other conflicts without matching words.
pub const NOT_ENOUGH_STOCK: &str = "not enough stock";

/// The name of every merchant's default warehouse, created on first use.
pub const DEFAULT_WAREHOUSE: &str = "主仓库";
/// Store locations are named after their store with this prefix, so they cannot collide
/// with a warehouse's name by accident.
pub const STORE_LOCATION_PREFIX: &str = "门店：";
/// Largest change one adjustment may make: a typo should not create a million units.
pub const MAX_ADJUSTMENT: i64 = 1_000_000;
/// Most warehouses one merchant may have (store locations are bounded by stores).
pub const MAX_WAREHOUSES: i64 = 50;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Location {
    pub id: String,
    pub merchant_id: MerchantId,
    /// `warehouse` or `store`.
    pub kind: String,
    /// The offline store this location is, for `kind = store`.
    pub store_id: Option<StoreId>,
    pub name: String,
    pub created_at: String,
}

/// How much of one SKU one location holds.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StockLevel {
    pub sku_id: SkuId,
    pub sku_code: String,
    pub location_id: String,
    pub location_name: String,
    pub on_hand: i64,
    /// Held for placed, unpaid or unshipped orders.
    pub reserved: i64,
    /// `on_hand - reserved`: what can still be sold.
    pub available: i64,
    pub updated_at: String,
}

/// One change of a stock count and why it happened.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StockMovement {
    pub id: i64,
    pub sku_id: SkuId,
    pub sku_code: String,
    pub location_id: String,
    pub location_name: String,
    pub on_hand_delta: i64,
    pub reserved_delta: i64,
    /// `adjustment`, `reservation`, `release`, `commit` or `return` (undamaged units of an
    /// after-sale return put back).
    pub reason: String,
    /// The staff member who adjusted; none for checkout's movements.
    pub actor_id: Option<AccountId>,
    pub order_id: Option<OrderId>,
    pub note: String,
    pub at: String,
}

/// A manual stock change by staff (a delivery in, a count correction, breakage out).
#[derive(Debug, Clone)]
pub struct Adjustment {
    pub sku_id: String,
    pub location_id: String,
    /// Non-zero, at most ±1,000,000.
    pub delta: i64,
    pub note: Option<String>,
}

/// A location or SKU id from a request body or query: anything but one of this merchant's
/// is 404, like a path id.
fn owned_id(
    c: &mut dyn Conn,
    table: store::Owned,
    what: &'static str,
    merchant_id: &str,
    raw: &str,
) -> AppResult<String> {
    let id = parse_id(raw).ok_or(AppError::NotFound(what))?;
    if !store::is_owned(c, table, &id, merchant_id)? {
        return Err(AppError::NotFound(what));
    }
    Ok(id)
}

#[allow(clippy::too_many_arguments)]
fn record_movement(
    c: &mut dyn Conn,
    merchant_id: &str,
    location_id: &str,
    sku_id: &str,
    on_hand_delta: i64,
    reserved_delta: i64,
    reason: &str,
    actor_id: Option<&str>,
    order_id: Option<&str>,
    note: &str,
    now: i64,
) -> Result<(), StoreError> {
    store::insert_movement(
        c,
        &store::Movement {
            merchant_id,
            location_id,
            sku_id,
            on_hand_delta,
            reserved_delta,
            reason,
            actor_id,
            order_id,
            note,
            at: now,
        },
    )
}

fn check_qty(qty: i64) -> AppResult<()> {
    if qty > 0 {
        Ok(())
    } else {
        Err(AppError::invalid("quantity", "must be positive"))
    }
}

fn emit_location_created(
    c: &mut dyn Conn,
    now: i64,
    merchant_id: &str,
    id: &str,
    kind: &str,
    name: &str,
) -> AppResult<()> {
    outbox::emit(
        c,
        now,
        "location.created",
        Some(merchant_id),
        id,
        &serde_json::json!({ "location_id": id, "kind": kind, "name": name }),
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Internal, for checkout and the use cases below. Each runs inside the caller's
// transaction.

/// The id of the merchant's default warehouse (`主仓库`), created on first use.
pub fn warehouse_location(c: &mut dyn Conn, merchant_id: &str, now: i64) -> AppResult<String> {
    if let Some(id) = store::warehouse_id(c, merchant_id, DEFAULT_WAREHOUSE)? {
        return Ok(id);
    }
    let id = new_id();
    // ON CONFLICT: a concurrent first use may have created it meanwhile; then we use theirs.
    if store::insert_warehouse_if_absent(c, &id, merchant_id, DEFAULT_WAREHOUSE, now)? {
        emit_location_created(c, now, merchant_id, &id, "warehouse", DEFAULT_WAREHOUSE)?;
        return Ok(id);
    }
    store::warehouse_id(c, merchant_id, DEFAULT_WAREHOUSE)?.ok_or_else(|| {
        AppError::Internal("the default warehouse name is taken by a store location".into())
    })
}

/// The id of the location of one of the merchant's offline stores (404 `store` when the
/// store is not the merchant's), created on first use.
pub fn store_location(
    c: &mut dyn Conn,
    merchant_id: &str,
    store_id: &str,
    now: i64,
) -> AppResult<String> {
    let sid = parse_id(store_id).ok_or(AppError::NotFound("store"))?;
    let mid = parse_id(merchant_id).ok_or(AppError::NotFound("store"))?;
    let store_name = store::store_name(c, &sid, &mid)?.ok_or(AppError::NotFound("store"))?;
    if let Some(id) = store::store_location_id(c, &sid)? {
        return Ok(id);
    }
    // The location keeps the name the store had when it was first used; a warehouse that
    // happens to carry that name makes us add the store id to it.
    let names = [
        format!("{STORE_LOCATION_PREFIX}{store_name}"),
        format!("{STORE_LOCATION_PREFIX}{store_name} ({})", &sid[..8]),
    ];
    for name in names {
        let id = new_id();
        if store::insert_store_location_if_absent(c, &id, &mid, &sid, &name, now)? {
            emit_location_created(c, now, &mid, &id, "store", &name)?;
            return Ok(id);
        }
        // Either a concurrent first use created it, or the name is taken.
        if let Some(id) = store::store_location_id(c, &sid)? {
            return Ok(id);
        }
    }
    Err(AppError::Internal(format!(
        "no free location name for store {sid}"
    )))
}

/// Holds `qty` of a SKU at a location for an order: one conditional UPDATE, so it either
/// finds `qty` available and takes it, or changes nothing (409 on `quantity`).
pub fn reserve(
    c: &mut dyn Conn,
    merchant_id: &str,
    location_id: &str,
    sku_id: &str,
    qty: i64,
    order_id: &str,
    now: i64,
) -> AppResult<()> {
    check_qty(qty)?;
    if !store::take_reservation(c, merchant_id, location_id, sku_id, qty, now)? {
        return Err(AppError::conflict("quantity", NOT_ENOUGH_STOCK));
    }
    record_movement(
        c,
        merchant_id,
        location_id,
        sku_id,
        0,
        qty,
        "reservation",
        None,
        Some(order_id),
        "",
        now,
    )?;
    Ok(())
}

/// Gives back a reservation (an order cancelled before it shipped). A release of more than
/// is reserved is a bug in the caller, not a user error: 500.
pub fn release(
    c: &mut dyn Conn,
    location_id: &str,
    sku_id: &str,
    qty: i64,
    order_id: &str,
    now: i64,
) -> AppResult<()> {
    check_qty(qty)?;
    let Some(merchant_id) = store::give_back_reservation(c, location_id, sku_id, qty, now)? else {
        return Err(AppError::Internal(format!(
            "release of {qty} × sku {sku_id} at {location_id} for order {order_id} without a reservation"
        )));
    };
    record_movement(
        c,
        &merchant_id,
        location_id,
        sku_id,
        0,
        -qty,
        "release",
        None,
        Some(order_id),
        "",
        now,
    )?;
    Ok(())
}

/// Turns a reservation into goods gone (handed over or shipped): on hand and reserved both
/// drop by `qty`. Without a reservation to commit it is a bug in the caller: 500.
pub fn commit(
    c: &mut dyn Conn,
    location_id: &str,
    sku_id: &str,
    qty: i64,
    order_id: &str,
    now: i64,
) -> AppResult<()> {
    check_qty(qty)?;
    let Some(merchant_id) = store::commit_reservation(c, location_id, sku_id, qty, now)? else {
        return Err(AppError::Internal(format!(
            "commit of {qty} × sku {sku_id} at {location_id} for order {order_id} without a reservation"
        )));
    };
    record_movement(
        c,
        &merchant_id,
        location_id,
        sku_id,
        -qty,
        -qty,
        "commit",
        None,
        Some(order_id),
        "",
        now,
    )?;
    Ok(())
}

/// Puts returned goods back on the shelf at `location_id` (an after-sale return received
/// undamaged): on hand grows by `qty`, logged as a `return` movement naming the order and
/// the request.
#[allow(clippy::too_many_arguments)]
pub(crate) fn restock_return(
    c: &mut dyn Conn,
    location_id: &str,
    sku_id: &str,
    qty: i64,
    order_id: &str,
    actor_id: Option<&str>,
    now: i64,
    request_id: &str,
) -> AppResult<()> {
    check_qty(qty)?;
    let merchant_id = store::location_merchant(c, location_id)?;
    store::add_on_hand(c, sku_id, location_id, &merchant_id, qty, now)?;
    record_movement(
        c,
        &merchant_id,
        location_id,
        sku_id,
        qty,
        0,
        "return",
        actor_id,
        Some(order_id),
        &format!("after-sale request {request_id}"),
        now,
    )?;
    Ok(())
}

/// What can still be sold of a SKU at a location (0 when it was never stocked there).
/// For display only: deciding on it and then writing would be read-then-write; reserve
/// with [`reserve`].
pub fn available(c: &mut dyn Conn, location_id: &str, sku_id: &str) -> AppResult<i64> {
    Ok(store::available(c, location_id, sku_id)?.unwrap_or(0))
}

/// Does the merchant lack its default warehouse or a location for one of its stores?
fn locations_missing(c: &mut dyn Conn, merchant_id: &str) -> AppResult<Vec<String>> {
    store::stores_without_location(c, merchant_id)
}

fn has_default_warehouse(c: &mut dyn Conn, merchant_id: &str) -> AppResult<bool> {
    store::has_warehouse(c, merchant_id, DEFAULT_WAREHOUSE)
}

fn list_locations_in(c: &mut dyn Conn, merchant_id: &str) -> AppResult<Vec<Location>> {
    store::merchant_locations(c, merchant_id)
}

/// Cursor of the stock list: the (sku, location) key of the last row, as 64 hex digits.
fn stock_cursor(sku_id: &str, location_id: &str) -> String {
    let simple = |id: &str| id.replace('-', "");
    encode_cursor(0, &format!("{}{}", simple(sku_id), simple(location_id)))
}

fn parse_stock_after(after: Option<(i64, String)>) -> AppResult<(String, String)> {
    let nil = uuid::Uuid::nil().hyphenated().to_string();
    let Some((_, key)) = after else {
        return Ok((nil.clone(), nil));
    };
    let bad = || AppError::invalid("cursor", "is not a cursor from this API");
    if key.len() != 64 || !key.is_ascii() {
        return Err(bad());
    }
    let (a, b) = key.split_at(32);
    Ok((parse_id(a).ok_or_else(bad)?, parse_id(b).ok_or_else(bad)?))
}

// ---------------------------------------------------------------------------------------
// Use cases

impl App {
    /// Staff: where the merchant keeps stock — the default warehouse and one location per
    /// offline store always among them (created here if this is their first use), then any
    /// extra warehouses.
    pub async fn list_locations(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
    ) -> AppResult<Vec<Location>> {
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        let (w, m) = (who.clone(), mid.clone());
        let complete = self
            .db
            .read(move |c| {
                require_staff(c, &w, &m, StaffNeed::AnyStaff)?;
                if has_default_warehouse(c, &m)? && locations_missing(c, &m)?.is_empty() {
                    list_locations_in(c, &m).map(Some)
                } else {
                    Ok(None)
                }
            })
            .await?;
        if let Some(list) = complete {
            return Ok(list);
        }
        let now = self.now_ms();
        self.db
            .write(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                warehouse_location(c, &mid, now)?;
                for sid in locations_missing(c, &mid)? {
                    store_location(c, &mid, &sid, now)?;
                }
                list_locations_in(c, &mid)
            })
            .await
    }

    /// Staff: another warehouse (name 1–32, unique among the merchant's locations).
    pub async fn create_warehouse(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        name: &str,
    ) -> AppResult<Location> {
        let name = BoundedText::parse("name", name, 1, 32)?;
        let now = self.now_ms();
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let n = store::count_warehouses(c, &mid)?;
                if n >= MAX_WAREHOUSES {
                    return Err(AppError::state(format!(
                        "a merchant has at most {MAX_WAREHOUSES} warehouses"
                    )));
                }
                let id = new_id();
                store::insert_warehouse(c, &id, &mid, name.as_str(), now).unique_as(
                    "locations",
                    &["merchant_id", "name"],
                    "name",
                    "this merchant already has a location with this name",
                )?;
                emit_location_created(c, now, &mid, &id, "warehouse", name.as_str())?;
                store::location(c, &id)
            })
            .await
    }

    /// Staff: a delivery in (positive delta) or stock out (negative). Taking out more than
    /// is on hand and not reserved is refused with 409 and changes nothing.
    pub async fn adjust_stock(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        adj: Adjustment,
    ) -> AppResult<StockLevel> {
        if adj.delta == 0 {
            return Err(AppError::invalid("delta", "must not be zero"));
        }
        if adj.delta.unsigned_abs() > MAX_ADJUSTMENT as u64 {
            return Err(AppError::invalid(
                "delta",
                format!("must be between -{MAX_ADJUSTMENT} and {MAX_ADJUSTMENT}"),
            ));
        }
        let note = BoundedText::parse_multiline("note", adj.note.as_deref().unwrap_or(""), 0, 200)?
            .into_string();
        let delta = adj.delta;
        let now = self.now_ms();
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        let (raw_sku, raw_loc) = (adj.sku_id, adj.location_id);
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let sku = owned_id(c, store::Owned::Sku, "sku", &mid, &raw_sku)?;
                let loc = owned_id(c, store::Owned::Location, "location", &mid, &raw_loc)?;
                if delta > 0 {
                    store::add_on_hand(c, &sku, &loc, &mid, delta, now)?;
                } else {
                    // One conditional UPDATE: it takes the units only if that many are on hand
                    // and unreserved at the moment it runs.
                    if !store::take_on_hand(c, &sku, &loc, delta, now)? {
                        return Err(AppError::conflict("delta", "not enough unreserved stock"));
                    }
                }
                record_movement(c, &mid, &loc, &sku, delta, 0, "adjustment", Some(&who.account_id), None, &note, now)?;
                let level = store::stock_level(c, &sku, &loc)?;
                outbox::emit(
                    c,
                    now,
                    "stock.adjusted",
                    Some(&mid),
                    &sku,
                    &serde_json::json!({
                        "sku_id": sku, "location_id": loc, "delta": delta,
                        "on_hand": level.on_hand, "reserved": level.reserved, "available": level.available,
                    }),
                )?;
                Ok(level)
            })
            .await
    }

    /// Staff: stock rows, optionally of one SKU and/or one location, by SKU then location.
    pub async fn list_stock(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        sku_id: Option<&str>,
        location_id: Option<&str>,
        page: PageRequest,
    ) -> AppResult<Page<StockLevel>> {
        let (after_sku, after_loc) = parse_stock_after(page.after.clone())?;
        let limit = page.limit;
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        let (sku, loc) = (sku_id.map(str::to_owned), location_id.map(str::to_owned));
        self.db
            .read(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let sku = sku
                    .as_deref()
                    .map(|raw| owned_id(c, store::Owned::Sku, "sku", &mid, raw))
                    .transpose()?;
                let loc = loc
                    .as_deref()
                    .map(|raw| owned_id(c, store::Owned::Location, "location", &mid, raw))
                    .transpose()?;
                let rows = store::stock_page(
                    c,
                    &mid,
                    (&after_sku, &after_loc),
                    sku.as_deref(),
                    loc.as_deref(),
                    limit + 1,
                )?;
                let more = rows.len() as i64 > limit;
                let mut items = rows;
                items.truncate(limit as usize);
                let next_cursor = if more {
                    items
                        .last()
                        .map(|s| stock_cursor(&s.sku_id, &s.location_id))
                } else {
                    None
                };
                Ok(Page { items, next_cursor })
            })
            .await
    }

    /// Staff: the history of stock changes, newest first, optionally of one SKU and/or one
    /// location.
    pub async fn list_stock_movements(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        sku_id: Option<&str>,
        location_id: Option<&str>,
        page: PageRequest,
    ) -> AppResult<Page<StockMovement>> {
        // Keyed by the movement's number alone.
        let after = page.keyset(Direction::NewestFirst, "m.id", "", 2);
        let fetch = page.fetch();
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        let (sku, loc) = (sku_id.map(str::to_owned), location_id.map(str::to_owned));
        let rows = self
            .db
            .read(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let sku = sku
                    .as_deref()
                    .map(|raw| owned_id(c, store::Owned::Sku, "sku", &mid, raw))
                    .transpose()?;
                let loc = loc
                    .as_deref()
                    .map(|raw| owned_id(c, store::Owned::Location, "location", &mid, raw))
                    .transpose()?;
                store::movement_page(c, &mid, &after, sku.as_deref(), loc.as_deref(), fetch)
            })
            .await?;
        Ok(Page::from_keyed(rows, page.limit, |_| ""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_cursors_round_trip() {
        let (a, b) = (new_id(), new_id());
        let c = stock_cursor(&a, &b);
        let p = PageRequest::parse(Some(10), Some(&c)).unwrap();
        assert_eq!(parse_stock_after(p.after).unwrap(), (a, b));
        assert!(parse_stock_after(Some((0, "x".repeat(64)))).is_err());
        assert!(parse_stock_after(Some((0, "abc".into()))).is_err());
        let nil = uuid::Uuid::nil().hyphenated().to_string();
        assert_eq!(parse_stock_after(None).unwrap(), (nil.clone(), nil));
    }

    #[test]
    fn quantities_must_be_positive() {
        assert!(check_qty(1).is_ok());
        assert!(check_qty(0).is_err());
        assert!(check_qty(-1).is_err());
    }
}
