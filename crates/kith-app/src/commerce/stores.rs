//! Offline stores (线下实体店) of a merchant and the clerks who work at exactly one of them.

use kith_domain::store::OpeningWindow;
use kith_domain::{BoundedText, Coordinates, OpeningHours, Phone};
use kith_store::{Conn, Row, args};
use serde::Serialize;

use crate::platform::auth::{
    StaffNeed, merchant_status, require_clerk_of, require_staff, require_trading_staff,
};
use crate::platform::ids::{AccountId, MerchantId, StoreId, new_id};
use crate::platform::merchants::{Invitation, insert_invitation};
use crate::{App, AppError, AppResult, Principal, platform::outbox, rfc3339};

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

/// A store of `merchant_id`, or 404 (also when it belongs to another merchant).
fn load_store(c: &mut dyn Conn, merchant_id: &str, store_id: &str) -> AppResult<Store> {
    let r = c
        .query_opt(
            &format!("SELECT {STORE_COLS} FROM stores WHERE id = $1 AND merchant_id = $2"),
            args![store_id, merchant_id],
        )?
        .ok_or(AppError::NotFound("store"))?;
    store_from_row(&r)
}

/// The parsed, complete form of a store's fields.
struct ValidStore {
    name: BoundedText,
    address: BoundedText,
    coords: Coordinates,
    hours: String,
    phone: Option<String>,
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
                let n = c.query_one("SELECT COUNT(*) FROM stores WHERE merchant_id = $1", args![&mid])?.int(0)?;
                if n >= MAX_STORES {
                    return Err(AppError::state(format!("a merchant has at most {MAX_STORES} stores")));
                }
                let id = new_id();
                c.execute(
                    "INSERT INTO stores (id, merchant_id, name, address, lat_e6, lng_e6, opening_hours, phone, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                    args![&id, &mid, v.name.as_str(), v.address.as_str(), v.coords.lat_e6, v.coords.lng_e6, &v.hours, v.phone.as_deref(), now],
                )
                .map_err(map_store_unique)?;
                outbox::emit(c, now, "store.created", Some(&mid), &id, &serde_json::json!({ "store_id": id, "name": v.name.as_str() }))?;
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
                c.execute(
                    "UPDATE stores SET name = $1, address = $2, lat_e6 = $3, lng_e6 = $4, opening_hours = $5, phone = $6, updated_at = $7
                     WHERE id = $8",
                    args![v.name.as_str(), v.address.as_str(), v.coords.lat_e6, v.coords.lng_e6, &v.hours, v.phone.as_deref(), now, &sid],
                )
                .map_err(map_store_unique)?;
                outbox::emit(c, now, "store.updated", Some(&mid), &sid, &serde_json::json!({ "store_id": sid }))?;
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
                c.query(
                    &format!(
                        "SELECT {STORE_COLS} FROM stores WHERE merchant_id = $1
                           AND ($2 = 1 OR NOT EXISTS (SELECT 1 FROM leaders l WHERE l.store_id = stores.id AND l.status <> 'approved'))
                         ORDER BY name, id"
                    ),
                    args![&mid, i64::from(staff)],
                )?
                .iter()
                .map(store_from_row)
                .collect()
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
                c.query(
                    "SELECT k.account_id, a.display_name, k.store_id, k.added_at FROM store_clerks k
                     JOIN accounts a ON a.id = k.account_id WHERE k.store_id = $1 ORDER BY k.added_at, k.account_id",
                    args![&sid],
                )?
                .iter()
                .map(|r| Ok(Clerk { account_id: AccountId::from_row(r.text(0)?), display_name: r.text(1)?, store_id: StoreId::from_row(r.text(2)?), added_at: rfc3339(r.int(3)?) }))
                .collect()
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
                let n = c.execute(
                    "DELETE FROM store_clerks WHERE store_id = $1 AND account_id = $2",
                    args![&sid, &aid],
                )?;
                if n == 0 {
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
                let mid = c
                    .query_opt("SELECT merchant_id FROM stores WHERE id = $1", args![&sid])?
                    .ok_or(AppError::NotFound("store"))?
                    .text(0)?;
                require_clerk_of(c, &who, &sid)?;
                load_store(c, &mid, &sid)
            })
            .await
    }
}
