//! The member's address book (收货地址): saved shipping addresses, one of them the default,
//! chosen at checkout by id (`CheckoutInput::address_id`) instead of typed. Each is checked
//! by the one rule of an address, [`Address::validate_as`] (checkout's), region included.
//!
//! Only the owner reads or changes an address: another member's id answers exactly as an
//! unknown one (404). A member keeps at most [`MAX_ADDRESSES`]; while they keep any, exactly
//! one is the default — the first saved becomes it, `is_default` moves it, deleting it moves
//! it to the most recently changed one left. Writes go under the member's `accounts` row
//! lock, so concurrent saves cannot pass the limit or leave two defaults.

use kith_store::{Conn, Row, args};
use serde::Serialize;

use crate::commerce::orders::Address;
use crate::platform::ids::{AddressId, new_id, parse_id};
use crate::{App, AppError, AppResult, Principal, rfc3339};

/// Most addresses one member keeps.
pub const MAX_ADDRESSES: i64 = 20;

/// A saved address: an [`Address`]'s fields (spelled out, not flattened: `Address` takes no
/// unknown fields, so its schema could not be extended), its id and whether it is the default.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SavedAddress {
    pub id: AddressId,
    pub name: String,
    pub phone: String,
    pub province: String,
    pub city: String,
    pub district: String,
    pub detail: String,
    /// The one preselected at checkout.
    pub is_default: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// An address to save: the address, and whether it becomes the default (`true` makes it the
/// default; `false` or nothing leaves the default where it is — the first address is the
/// default whatever it says).
#[derive(Debug, Clone)]
pub struct AddressInput {
    pub address: Address,
    pub is_default: Option<bool>,
}

impl SavedAddress {
    /// The address itself, as checkout copies it onto an order.
    pub fn address(&self) -> Address {
        Address {
            name: self.name.clone(),
            phone: self.phone.clone(),
            province: self.province.clone(),
            city: self.city.clone(),
            district: self.district.clone(),
            detail: self.detail.clone(),
        }
    }
}

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

/// The member's address `id`, or 404 (also another member's, or a malformed id).
pub(crate) fn load(c: &mut dyn Conn, account_id: &str, id: &str) -> AppResult<SavedAddress> {
    let id = parse_id(id).ok_or(AppError::NotFound("address"))?;
    let r = c
        .query_opt(
            &format!(
                "SELECT {} FROM member_addresses WHERE id = $1 AND account_id = $2",
                AddrCols::LIST
            ),
            args![&id, account_id],
        )?
        .ok_or(AppError::NotFound("address"))?;
    from_row(&r)
}

/// Checkout's address by id: the caller's saved address, or 422 naming `address_id`.
pub(crate) fn for_checkout(c: &mut dyn Conn, account_id: &str, id: &str) -> AppResult<Address> {
    match load(c, account_id, id) {
        Ok(a) => Ok(a.address()),
        Err(AppError::NotFound(_)) => Err(AppError::invalid(
            "address_id",
            "is not one of your saved addresses",
        )),
        Err(e) => Err(e),
    }
}

fn list(c: &mut dyn Conn, account_id: &str) -> AppResult<Vec<SavedAddress>> {
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
fn lock_member(c: &mut dyn Conn, account_id: &str) -> AppResult<()> {
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

fn clear_default(c: &mut dyn Conn, account_id: &str) -> AppResult<()> {
    c.execute(
        "UPDATE member_addresses SET is_default = $1 WHERE account_id = $2 AND is_default",
        args![false, account_id],
    )?;
    Ok(())
}

impl App {
    /// The caller's saved addresses, the default first, then the most recently changed.
    pub async fn my_addresses(&self, who: &Principal) -> AppResult<Vec<SavedAddress>> {
        let me = who.account_id.clone();
        self.db.read(move |c| list(c, &me)).await
    }

    /// One of the caller's addresses (404 for anyone else's).
    pub async fn my_address(&self, who: &Principal, id: &AddressId) -> AppResult<SavedAddress> {
        let (me, id) = (who.account_id.clone(), id.to_owned());
        self.db.read(move |c| load(c, &me, &id)).await
    }

    /// Saves a new address (422 naming the field; 409 `addresses` past [`MAX_ADDRESSES`]).
    pub async fn add_address(
        &self,
        who: &Principal,
        input: AddressInput,
    ) -> AppResult<SavedAddress> {
        let a = input.address.validate_as("")?;
        let make_default = input.is_default == Some(true);
        let me = who.account_id.clone();
        let now = self.now_ms();
        self.db
            .write(move |c| {
                lock_member(c, &me)?;
                let held = c
                    .query_one(
                        "SELECT COUNT(*) FROM member_addresses WHERE account_id = $1",
                        args![&me],
                    )?
                    .int(0)?;
                if held >= MAX_ADDRESSES {
                    return Err(AppError::conflict(
                        "addresses",
                        format!("at most {MAX_ADDRESSES} saved addresses; delete one first"),
                    ));
                }
                let is_default = make_default || held == 0;
                if is_default {
                    clear_default(c, &me)?;
                }
                let id = new_id();
                c.execute(
                    "INSERT INTO member_addresses (id, account_id, name, phone, province, city, district, detail, is_default, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
                    args![&id, &me, &a.name, &a.phone, &a.province, &a.city, &a.district, &a.detail, is_default, now],
                )?;
                load(c, &me, &id)
            })
            .await
    }

    /// Replaces one of the caller's addresses (404 for anyone else's).
    pub async fn update_address(
        &self,
        who: &Principal,
        id: &AddressId,
        input: AddressInput,
    ) -> AppResult<SavedAddress> {
        let a = input.address.validate_as("")?;
        let make_default = input.is_default == Some(true);
        let (me, id) = (who.account_id.clone(), id.to_owned());
        let now = self.now_ms();
        self.db
            .write(move |c| {
                lock_member(c, &me)?;
                let old = load(c, &me, &id)?;
                if make_default && !old.is_default {
                    clear_default(c, &me)?;
                }
                c.execute(
                    "UPDATE member_addresses SET name = $1, phone = $2, province = $3, city = $4, district = $5, detail = $6, \
                     is_default = $7, updated_at = $8 WHERE id = $9 AND account_id = $10",
                    args![&a.name, &a.phone, &a.province, &a.city, &a.district, &a.detail,
                        make_default || old.is_default, now, &old.id, &me],
                )?;
                load(c, &me, &old.id)
            })
            .await
    }

    /// Deletes one of the caller's addresses (404 for anyone else's); deleting the default
    /// makes the most recently changed one left the default. Orders keep their own copy.
    pub async fn delete_address(&self, who: &Principal, id: &AddressId) -> AppResult<()> {
        let (me, id) = (who.account_id.clone(), id.to_owned());
        self.db
            .write(move |c| {
                lock_member(c, &me)?;
                let old = load(c, &me, &id)?;
                c.execute(
                    "DELETE FROM member_addresses WHERE id = $1 AND account_id = $2",
                    args![&old.id, &me],
                )?;
                if old.is_default
                    && let Some(next) = list(c, &me)?.into_iter().next()
                {
                    c.execute(
                        "UPDATE member_addresses SET is_default = $1 WHERE id = $2",
                        args![true, &next.id],
                    )?;
                }
                Ok(())
            })
            .await
    }
}
