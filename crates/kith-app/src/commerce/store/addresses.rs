//! Rows of members' address books: `member_addresses` (and the `accounts` row lock that
//! serialises one member's writes).

use kith_store::{Conn, Row, args};

use crate::commerce::addresses::SavedAddress;
use crate::commerce::orders::Address;
use crate::platform::ids::AddressId;
use crate::{AppResult, rfc3339};

kith_store::columns!(AddrCols {
    id,
    name,
    phone,
    province,
    city,
    district,
    detail,
    is_default,
    created_at,
    updated_at,
});

fn from_row(r: &Row) -> AppResult<SavedAddress> {
    Ok(SavedAddress {
        id: AddressId::from_row(r.text(AddrCols::id)?),
        name: r.text(AddrCols::name)?,
        phone: r.text(AddrCols::phone)?,
        province: r.text(AddrCols::province)?,
        city: r.text(AddrCols::city)?,
        district: r.text(AddrCols::district)?,
        detail: r.text(AddrCols::detail)?,
        is_default: r.bool(AddrCols::is_default)?,
        created_at: rfc3339(r.int(AddrCols::created_at)?),
        updated_at: rfc3339(r.int(AddrCols::updated_at)?),
    })
}

/// The member's address `id` (none when another member's).
pub(in crate::commerce) fn address(
    c: &mut dyn Conn,
    account_id: &str,
    id: &str,
) -> AppResult<Option<SavedAddress>> {
    c.query_opt(
        &format!(
            "SELECT {} FROM member_addresses WHERE id = $1 AND account_id = $2",
            AddrCols::LIST
        ),
        args![id, account_id],
    )?
    .map(|r| from_row(&r))
    .transpose()
}

/// The member's addresses, the default first, then the most recently changed.
pub(in crate::commerce) fn addresses(
    c: &mut dyn Conn,
    account_id: &str,
) -> AppResult<Vec<SavedAddress>> {
    c.query(
        &format!(
            "SELECT {} FROM member_addresses WHERE account_id = $1 ORDER BY is_default DESC, updated_at DESC, id",
            AddrCols::LIST
        ),
        args![account_id],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// Serialises one member's address-book writes (the limit's count, the one default).
pub(in crate::commerce) fn lock_member(c: &mut dyn Conn, account_id: &str) -> AppResult<()> {
    // NO KEY UPDATE: rows merely referencing the account are not held up.
    let lock = match c.engine() {
        kith_store::Engine::Postgres => " FOR NO KEY UPDATE",
        kith_store::Engine::Sqlite => "",
    };
    c.query_opt(
        &format!("SELECT id FROM accounts WHERE id = $1{lock}"),
        args![account_id],
    )?;
    Ok(())
}

/// Makes none of the member's addresses the default.
pub(in crate::commerce) fn clear_default(c: &mut dyn Conn, account_id: &str) -> AppResult<()> {
    c.execute(
        "UPDATE member_addresses SET is_default = $1 WHERE account_id = $2 AND is_default",
        args![false, account_id],
    )?;
    Ok(())
}

pub(in crate::commerce) fn count_addresses(c: &mut dyn Conn, account_id: &str) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT COUNT(*) FROM member_addresses WHERE account_id = $1",
        args![account_id],
    )?
    .int(0)?)
}

pub(in crate::commerce) fn insert_address(
    c: &mut dyn Conn,
    id: &str,
    account_id: &str,
    a: &Address,
    is_default: bool,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO member_addresses (id, account_id, name, phone, province, city, district, detail, is_default, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        args![id, account_id, &a.name, &a.phone, &a.province, &a.city, &a.district, &a.detail, is_default, now],
    )?;
    Ok(())
}

pub(in crate::commerce) fn update_address(
    c: &mut dyn Conn,
    id: &AddressId,
    account_id: &str,
    a: &Address,
    is_default: bool,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE member_addresses SET name = $1, phone = $2, province = $3, city = $4, district = $5, detail = $6, \
                     is_default = $7, updated_at = $8 WHERE id = $9 AND account_id = $10",
        args![&a.name, &a.phone, &a.province, &a.city, &a.district, &a.detail,
            is_default, now, id, account_id],
    )?;
    Ok(())
}

pub(in crate::commerce) fn delete_address(
    c: &mut dyn Conn,
    id: &AddressId,
    account_id: &str,
) -> AppResult<()> {
    c.execute(
        "DELETE FROM member_addresses WHERE id = $1 AND account_id = $2",
        args![id, account_id],
    )?;
    Ok(())
}

/// Makes the address the default (the caller has cleared the old one).
pub(in crate::commerce) fn make_default(c: &mut dyn Conn, id: &AddressId) -> AppResult<()> {
    c.execute(
        "UPDATE member_addresses SET is_default = $1 WHERE id = $2",
        args![true, id],
    )?;
    Ok(())
}
