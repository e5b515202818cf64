//! Offline stores (线下实体店) of a merchant and the clerks who work at exactly one of them.

use kith_domain::store::OpeningWindow;
use kith_domain::{BoundedText, Coordinates, OpeningHours, Phone};
use kith_store::Conn;
use serde::Serialize;

use super::store::stores as store;
use crate::platform::auth::{
    StaffNeed, merchant_status, require_clerk_of, require_staff, require_trading_staff,
};
use crate::platform::ids::{AccountId, MerchantId, StoreId, new_id};
use crate::platform::merchants::{Invitation, insert_invitation};
use crate::{App, AppError, AppResult, Principal, platform::outbox};

#[derive(Debug, Clone, Default)]
pub struct StoreInput {
    pub name: Option<String>,
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub opening_hours: Option<Vec<OpeningWindow>>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Store {
    pub id: StoreId,
    pub merchant_id: MerchantId,
    pub name: String,
    pub address: String,
    pub latitude: f64,
    pub longitude: f64,
    pub opening_hours: Vec<OpeningWindow>,
    pub phone: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Clerk {
    pub account_id: AccountId,
    pub display_name: String,
    pub store_id: StoreId,
    pub added_at: String,
}

/// Most stores one merchant may have (a bound, not a business rule; raise it when needed).
pub const MAX_STORES: i64 = 500;

/// A store of `merchant_id`, or 404 (also when it belongs to another merchant).
fn load_store(c: &mut dyn Conn, merchant_id: &str, store_id: &str) -> AppResult<Store> {
    store::store(c, merchant_id, store_id)?.ok_or(AppError::NotFound("store"))
}

/// The parsed, complete form of a store's fields.
struct ValidStore {
    name: BoundedText,
    address: BoundedText,
    coords: Coordinates,
    hours: String,
    phone: Option<String>,
}

impl ValidStore {
    fn fields(&self) -> store::StoreFields<'_> {
        store::StoreFields {
            name: self.name.as_str(),
            address: self.address.as_str(),
            coords: self.coords,
            hours: &self.hours,
            phone: self.phone.as_deref(),
        }
    }
}

fn validate(input: StoreInput) -> AppResult<ValidStore> {
    let name = BoundedText::parse("name", input.name.as_deref().unwrap_or(""), 1, 64)?;
    let address = BoundedText::parse("address", input.address.as_deref().unwrap_or(""), 4, 200)?;
    let (Some(lat), Some(lng)) = (input.latitude, input.longitude) else {
        let field = if input.latitude.is_none() {
            "latitude"
        } else {
            "longitude"
        };
        return Err(AppError::invalid(field, "is required"));
    };
    let coords = Coordinates::parse(lat, lng)?;
    let hours = OpeningHours::parse(input.opening_hours.unwrap_or_default())?;
    let hours =
        serde_json::to_string(hours.windows()).map_err(|e| AppError::Internal(e.to_string()))?;
    let phone = input
        .phone
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            // A store's number may be a landline (0851-2238xxxx): digits, spaces, + and -, 5–20.
            let ok = (5..=20).contains(&p.trim().len())
                && p.trim()
                    .chars()
                    .all(|c| c.is_ascii_digit() || " +-".contains(c));
            if ok {
                Ok(p.trim().to_owned())
            } else {
                Phone::parse(p)
                    .map(|p| p.as_str().to_owned())
                    .map_err(|e| e.for_field("phone"))
            }
        })
        .transpose()?;
    Ok(ValidStore {
        name,
        address,
        coords,
        hours,
        phone,
    })
}

fn map_store_unique(e: kith_store::StoreError) -> AppError {
    if e.is_unique_on("stores", &["merchant_id", "name"]) {
        AppError::conflict("name", "this merchant already has a store with this name")
    } else {
        e.into()
    }
}

impl App {
    pub async fn create_store(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        input: StoreInput,
    ) -> AppResult<Store> {
        let v = validate(input)?;
        let now = self.now_ms();
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let n = store::count_stores(c, &mid)?;
                if n >= MAX_STORES {
                    return Err(AppError::state(format!(
                        "a merchant has at most {MAX_STORES} stores"
                    )));
                }
                let id = new_id();
                store::insert_store(c, &id, &mid, &v.fields(), now).map_err(map_store_unique)?;
                outbox::emit(
                    c,
                    now,
                    "store.created",
                    Some(&mid),
                    &id,
                    &serde_json::json!({ "store_id": id, "name": v.name.as_str() }),
                )?;
                load_store(c, &mid, &id)
            })
            .await
    }

    /// Replaces a store's details (a full update: the client sends every field).
    pub async fn update_store(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        store_id: &StoreId,
        input: StoreInput,
    ) -> AppResult<Store> {
        let v = validate(input)?;
        let now = self.now_ms();
        let (who, mid, sid) = (who.clone(), merchant_id.to_owned(), store_id.to_owned());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                load_store(c, &mid, &sid)?;
                store::update_store(c, &sid, &v.fields(), now).map_err(map_store_unique)?;
                outbox::emit(
                    c,
                    now,
                    "store.updated",
                    Some(&mid),
                    &sid,
                    &serde_json::json!({ "store_id": sid }),
                )?;
                load_store(c, &mid, &sid)
            })
            .await
    }

    /// A merchant's stores, by name. Public for an approved merchant (members choose a
    /// pickup store); otherwise staff only.
    pub async fn list_stores(
        &self,
        who: Option<&Principal>,
        merchant_id: &MerchantId,
    ) -> AppResult<Vec<Store>> {
        let (who, mid) = (who.cloned(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                let staff = match &who {
                    Some(p) => require_staff(c, p, &mid, StaffNeed::AnyStaff).is_ok(),
                    None => false,
                };
                if !staff && merchant_status(c, &mid)?.ensure_trading().is_err() {
                    return Err(AppError::NotFound("merchant"));
                }
                // Members are not shown a suspended 团长's point (it takes no orders).
                store::merchant_stores(c, &mid, staff)
            })
            .await
    }

    pub async fn get_store(
        &self,
        who: Option<&Principal>,
        merchant_id: &MerchantId,
        store_id: &StoreId,
    ) -> AppResult<Store> {
        let (who, mid, sid) = (who.cloned(), merchant_id.to_owned(), store_id.to_owned());
        self.db
            .read(move |c| {
                if merchant_status(c, &mid)?.ensure_trading().is_err() {
                    match &who {
                        Some(p) if require_staff(c, p, &mid, StaffNeed::AnyStaff).is_ok() => {}
                        _ => return Err(AppError::NotFound("merchant")),
                    }
                }
                load_store(c, &mid, &sid)
            })
            .await
    }

    /// Staff invite a clerk to one store; the code is shown once.
    pub async fn invite_clerk(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        store_id: &StoreId,
    ) -> AppResult<Invitation> {
        let now = self.now_ms();
        let ttl = self.config.invitation_ttl_secs;
        let (who, mid, sid) = (who.clone(), merchant_id.to_owned(), store_id.to_owned());
        self.db
            .write(move |c| {
                require_trading_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                load_store(c, &mid, &sid)?;
                insert_invitation(c, now, ttl, &mid, "clerk", Some(&sid), &who)
            })
            .await
    }

    pub async fn list_clerks(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        store_id: &StoreId,
    ) -> AppResult<Vec<Clerk>> {
        let (who, mid, sid) = (who.clone(), merchant_id.to_owned(), store_id.to_owned());
        self.db
            .read(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                load_store(c, &mid, &sid)?;
                store::clerks(c, &sid)
            })
            .await
    }

    pub async fn remove_clerk(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        store_id: &StoreId,
        account_id: &AccountId,
    ) -> AppResult<()> {
        let now = self.now_ms();
        let (who, mid, sid, aid) = (
            who.clone(),
            merchant_id.to_owned(),
            store_id.to_owned(),
            account_id.to_owned(),
        );
        self.db
            .write(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                load_store(c, &mid, &sid)?;
                if !store::delete_clerk(c, &sid, &aid)? {
                    return Err(AppError::NotFound("clerk"));
                }
                outbox::emit(
                    c,
                    now,
                    "clerk.removed",
                    Some(&mid),
                    &sid,
                    &serde_json::json!({ "store_id": sid, "account_id": aid }),
                )?;
                Ok(())
            })
            .await
    }

    /// The clerk's own view of their store. A clerk of another store (even of the same
    /// merchant) is refused: clerks act only for their store.
    pub async fn clerk_store(&self, who: &Principal, store_id: &StoreId) -> AppResult<Store> {
        let (who, sid) = (who.clone(), store_id.to_owned());
        self.db
            .read(move |c| {
                let mid = store::store_merchant(c, &sid)?.ok_or(AppError::NotFound("store"))?;
                require_clerk_of(c, &who, &sid)?;
                load_store(c, &mid, &sid)
            })
            .await
    }
}
