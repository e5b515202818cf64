//! The member's address book (收货地址): saved shipping addresses, one of them the default,
//! chosen at checkout by id (`CheckoutInput::address_id`) instead of typed. Each is checked
//! by the one rule of an address, [`Address::validate_as`] (checkout's), region included.
//!
//! Only the owner reads or changes an address: another member's id answers exactly as an
//! unknown one (404). A member keeps at most [`MAX_ADDRESSES`]; while they keep any, exactly
//! one is the default — the first saved becomes it, `is_default` moves it, deleting it moves
//! it to the most recently changed one left. Writes go under the member's `accounts` row
//! lock, so concurrent saves cannot pass the limit or leave two defaults.

use kith_store::Conn;
use serde::Serialize;

use super::store::addresses as store;
use crate::commerce::orders::Address;
use crate::platform::ids::{AddressId, new_id, parse_id};
use crate::{App, AppError, AppResult, Principal};

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

/// The member's address `id`, or 404 (also another member's, or a malformed id).
pub(crate) fn load(c: &mut dyn Conn, account_id: &str, id: &str) -> AppResult<SavedAddress> {
    let id = parse_id(id).ok_or(AppError::NotFound("address"))?;
    store::address(c, account_id, &id)?.ok_or(AppError::NotFound("address"))
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

impl App {
    /// The caller's saved addresses, the default first, then the most recently changed.
    pub async fn my_addresses(&self, who: &Principal) -> AppResult<Vec<SavedAddress>> {
        let me = who.account_id.clone();
        self.db.read(move |c| store::addresses(c, &me)).await
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
                store::lock_member(c, &me)?;
                let held = store::count_addresses(c, &me)?;
                if held >= MAX_ADDRESSES {
                    return Err(AppError::conflict(
                        "addresses",
                        format!("at most {MAX_ADDRESSES} saved addresses; delete one first"),
                    ));
                }
                let is_default = make_default || held == 0;
                if is_default {
                    store::clear_default(c, &me)?;
                }
                let id = new_id();
                store::insert_address(c, &id, &me, &a, is_default, now)?;
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
                store::lock_member(c, &me)?;
                let old = load(c, &me, &id)?;
                if make_default && !old.is_default {
                    store::clear_default(c, &me)?;
                }
                store::update_address(c, &old.id, &me, &a, make_default || old.is_default, now)?;
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
                store::lock_member(c, &me)?;
                let old = load(c, &me, &id)?;
                store::delete_address(c, &old.id, &me)?;
                if old.is_default
                    && let Some(next) = store::addresses(c, &me)?.into_iter().next()
                {
                    store::make_default(c, &next.id)?;
                }
                Ok(())
            })
            .await
    }
}
