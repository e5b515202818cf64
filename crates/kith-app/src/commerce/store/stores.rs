//! Rows of offline stores: `stores` and `store_clerks`.

use kith_domain::Coordinates;
use kith_domain::store::OpeningWindow;
use kith_store::{Conn, Row, StoreError, args};

use crate::commerce::stores::{Clerk, Store};
use crate::platform::ids::{AccountId, MerchantId, StoreId};
use crate::{AppError, AppResult, rfc3339};

kith_store::columns!(StoreCols {
    id,
    merchant_id,
    name,
    address,
    lat_e6,
    lng_e6,
    opening_hours,
    phone,
    created_at,
    updated_at,
});
const STORE_COLS: &str = StoreCols::LIST;

fn store_from_row(r: &Row) -> AppResult<Store> {
    let coords = Coordinates {
        lat_e6: r.int(StoreCols::lat_e6)?,
        lng_e6: r.int(StoreCols::lng_e6)?,
    };
    let hours: Vec<OpeningWindow> = serde_json::from_str(&r.text(StoreCols::opening_hours)?)
        .map_err(|e| AppError::Internal(format!("stored opening hours: {e}")))?;
    Ok(Store {
        id: StoreId::from_row(r.text(StoreCols::id)?),
        merchant_id: MerchantId::from_row(r.text(StoreCols::merchant_id)?),
        name: r.text(StoreCols::name)?,
        address: r.text(StoreCols::address)?,
        latitude: coords.lat(),
        longitude: coords.lng(),
        opening_hours: hours,
        phone: r.opt_text(StoreCols::phone)?,
        created_at: rfc3339(r.int(StoreCols::created_at)?),
        updated_at: rfc3339(r.int(StoreCols::updated_at)?),
    })
}

/// A store's fields as written.
pub(in crate::commerce) struct StoreFields<'a> {
    pub(in crate::commerce) name: &'a str,
    pub(in crate::commerce) address: &'a str,
    pub(in crate::commerce) coords: Coordinates,
    /// The opening hours as JSON.
    pub(in crate::commerce) hours: &'a str,
    pub(in crate::commerce) phone: Option<&'a str>,
}

/// A store of `merchant_id` (none when another merchant's).
pub(in crate::commerce) fn store(
    c: &mut dyn Conn,
    merchant_id: &str,
    store_id: &str,
) -> AppResult<Option<Store>> {
    c.query_opt(
        &format!("SELECT {STORE_COLS} FROM stores WHERE id = $1 AND merchant_id = $2"),
        args![store_id, merchant_id],
    )?
    .map(|r| store_from_row(&r))
    .transpose()
}

pub(in crate::commerce) fn count_stores(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT COUNT(*) FROM stores WHERE merchant_id = $1",
        args![merchant_id],
    )?
    .int(0)?)
}

/// A unique violation on (merchant, name) is left for the caller to name.
pub(in crate::commerce) fn insert_store(
    c: &mut dyn Conn,
    id: &str,
    merchant_id: &MerchantId,
    f: &StoreFields<'_>,
    now: i64,
) -> Result<u64, StoreError> {
    c.execute(
        "INSERT INTO stores (id, merchant_id, name, address, lat_e6, lng_e6, opening_hours, phone, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        args![id, merchant_id, f.name, f.address, f.coords.lat_e6, f.coords.lng_e6, f.hours, f.phone, now],
    )
}

/// A unique violation on (merchant, name) is left for the caller to name.
pub(in crate::commerce) fn update_store(
    c: &mut dyn Conn,
    store_id: &StoreId,
    f: &StoreFields<'_>,
    now: i64,
) -> Result<u64, StoreError> {
    c.execute(
        "UPDATE stores SET name = $1, address = $2, lat_e6 = $3, lng_e6 = $4, opening_hours = $5, phone = $6, updated_at = $7
                     WHERE id = $8",
        args![f.name, f.address, f.coords.lat_e6, f.coords.lng_e6, f.hours, f.phone, now, store_id],
    )
}

/// The merchant's stores by name; unless `all`, without the points of 团长 who are not
/// approved.
pub(in crate::commerce) fn merchant_stores(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
    all: bool,
) -> AppResult<Vec<Store>> {
    c.query(
        &format!(
            "SELECT {STORE_COLS} FROM stores WHERE merchant_id = $1
                           AND ($2 = 1 OR NOT EXISTS (SELECT 1 FROM leaders l WHERE l.store_id = stores.id AND l.status <> 'approved'))
                         ORDER BY name, id"
        ),
        args![merchant_id, i64::from(all)],
    )?
    .iter()
    .map(store_from_row)
    .collect()
}

/// The store's clerks, in order of joining.
pub(in crate::commerce) fn clerks(c: &mut dyn Conn, store_id: &StoreId) -> AppResult<Vec<Clerk>> {
    c.query(
        "SELECT k.account_id, a.display_name, k.store_id, k.added_at FROM store_clerks k
                     JOIN accounts a ON a.id = k.account_id WHERE k.store_id = $1 ORDER BY k.added_at, k.account_id",
        args![store_id],
    )?
    .iter()
    .map(|r| {
        Ok(Clerk {
            account_id: AccountId::from_row(r.text(0)?),
            display_name: r.text(1)?,
            store_id: StoreId::from_row(r.text(2)?),
            added_at: rfc3339(r.int(3)?),
        })
    })
    .collect()
}

/// Removes a clerk from the store; false when they were not its clerk.
pub(in crate::commerce) fn delete_clerk(
    c: &mut dyn Conn,
    store_id: &StoreId,
    account_id: &AccountId,
) -> AppResult<bool> {
    let n = c.execute(
        "DELETE FROM store_clerks WHERE store_id = $1 AND account_id = $2",
        args![store_id, account_id],
    )?;
    Ok(n != 0)
}

/// The merchant a store belongs to, if the store exists.
pub(in crate::commerce) fn store_merchant(
    c: &mut dyn Conn,
    store_id: &StoreId,
) -> AppResult<Option<MerchantId>> {
    Ok(c.query_opt(
        "SELECT merchant_id FROM stores WHERE id = $1",
        args![store_id],
    )?
    .map(|r| r.text(0).map(MerchantId::from_row))
    .transpose()?)
}
