//! Batches a 团长 opens: the merchant names the products its leaders may sell in their own
//! 接龙 — for each SKU the lowest batch price and the most units one batch may sell
//! (`leader_products`) — and an approved leader opens a batch of those products. Its joins
//! go to that leader's point whichever leader a member chose; from there it runs like the
//! merchant's own batch: the same cut-off, pick list, delivery, unclaimed rule and the
//! leader's commission at their level, inside the plan's cap.
//!
//! Writes `leader_products`; `batches` and `batch_items` through [`super::batches`].

use kith_domain::Fen;
use kith_domain::neighbourhood::{self, Allowance};
use serde::{Deserialize, Serialize};

use super::batches::{Batch, BatchInput, insert_batch, parse_batch};
use super::store::{self, load_leader};
use crate::commerce::catalog;
use crate::platform::auth::{StaffNeed, merchant_status, require_staff};
use crate::platform::ids::parse_id;
use crate::platform::ids::{LeaderId, MerchantId, ProductId, SkuId};
use crate::{App, AppError, AppResult, Principal};

/// One product a merchant lets its leaders sell, as the merchant sets it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaderProductInput {
    pub sku_id: String,
    /// The lowest batch price a leader may set, in fen: more than 0, at most the list price.
    #[schema(minimum = 1)]
    pub floor_price_fen: i64,
    /// The most units one of a leader's batches may sell, 1–100000.
    #[schema(minimum = 1, maximum = 100000)]
    pub max_quantity: i64,
}

/// One product a merchant lets its leaders sell, with what a leader's form shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LeaderProduct {
    pub sku_id: SkuId,
    pub product_id: ProductId,
    pub product_name: String,
    pub sku_code: String,
    #[schema(value_type = i64)]
    pub list_price_fen: Fen,
    #[schema(value_type = i64)]
    pub floor_price_fen: Fen,
    pub max_quantity: i64,
}

impl App {
    /// What the merchant lets its leaders sell: for its staff and its approved leaders.
    pub async fn leader_products(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
    ) -> AppResult<Vec<LeaderProduct>> {
        let mid = parse_id(merchant_id).ok_or(AppError::NotFound("merchant"))?;
        let who = who.clone();
        self.db
            .read(move |c| {
                merchant_status(c, &mid)?;
                if require_staff(c, &who, &mid, StaffNeed::AnyStaff).is_err()
                    && !store::is_approved_leader(c, &mid, &who.account_id)?
                {
                    return Err(AppError::Forbidden(
                        "only the merchant's staff and its leaders see what leaders may sell"
                            .into(),
                    ));
                }
                store::leader_products(c, &mid)
            })
            .await
    }

    /// Staff: sets the whole list of what leaders may sell (an empty list: leaders open no
    /// batches). Batches already open keep their terms.
    pub async fn set_leader_products(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        items: Vec<LeaderProductInput>,
    ) -> AppResult<Vec<LeaderProduct>> {
        let mid = parse_id(merchant_id).ok_or(AppError::NotFound("merchant"))?;
        {
            let (who, mid) = (who.clone(), mid.clone());
            self.db
                .read(move |c| require_staff(c, &who, &mid, StaffNeed::AnyStaff).map(|_| ()))
                .await?;
        }
        if items.len() > neighbourhood::MAX_ALLOWED {
            return Err(AppError::invalid(
                "items",
                format!("must list at most {} products", neighbourhood::MAX_ALLOWED),
            ));
        }
        let mut parsed: Vec<(String, Allowance)> = Vec::new();
        for (n, i) in items.iter().enumerate() {
            let sku = parse_id(&i.sku_id).ok_or_else(|| {
                AppError::invalid(format!("items[{n}].sku_id"), "is not a SKU id")
            })?;
            if parsed.iter().any(|(s, _)| *s == sku) {
                return Err(AppError::invalid(
                    format!("items[{n}].sku_id"),
                    "is listed twice",
                ));
            }
            parsed.push((
                sku,
                Allowance {
                    floor_price_fen: i.floor_price_fen,
                    max_quantity: i.max_quantity,
                },
            ));
        }
        let now = self.now_ms();
        let who = who.clone();
        self.db
            .write(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                store::clear_leader_products(c, &mid)?;
                for (n, (sku_id, a)) in parsed.iter().enumerate() {
                    let field = format!("items[{n}]");
                    let sku = catalog::sku_for_checkout(c, &mid, sku_id).map_err(|e| match e {
                        AppError::NotFound(_) => AppError::invalid(
                            format!("{field}.sku_id"),
                            "is not a SKU of this merchant",
                        ),
                        AppError::Conflict { .. } => AppError::invalid(
                            format!("{field}.sku_id"),
                            "its product is not on sale",
                        ),
                        other => other,
                    })?;
                    neighbourhood::check_allowance(&field, *a, sku.list_price_fen)?;
                    store::insert_leader_product(c, &mid, &sku.sku_id, n as i64, a)?;
                }
                crate::platform::outbox::emit(
                    c,
                    now,
                    "leader_products.set",
                    Some(&mid),
                    &mid,
                    &serde_json::json!({ "merchant_id": mid, "products": parsed.len() }),
                )?;
                store::leader_products(c, &mid)
            })
            .await
    }

    /// A leader opens a 接龙 at their own point, of products the merchant allows, at or
    /// above each floor price and within each most-units. Refused to anyone but the leader
    /// (404), at a point that is not approved (409).
    pub async fn leader_open_batch(
        &self,
        who: &Principal,
        leader_id: &LeaderId,
        input: BatchInput,
    ) -> AppResult<Batch> {
        let now = self.now_ms();
        let lid = parse_id(leader_id).ok_or(AppError::NotFound("leader"))?;
        // Whose point first: nobody else learns anything from the body's checks.
        {
            let (who, lid) = (who.clone(), lid.clone());
            self.db
                .read(move |c| {
                    let l = load_leader(c, &lid)?;
                    (l.account_id == who.account_id)
                        .then_some(())
                        .ok_or(AppError::NotFound("leader"))
                })
                .await?;
        }
        let parsed = parse_batch(now, &input)?;
        let who = who.clone();
        self.db
            .write(move |c| {
                let l = load_leader(c, &lid)?;
                if l.account_id != who.account_id {
                    return Err(AppError::NotFound("leader"));
                }
                if !l.status.takes_orders() {
                    return Err(AppError::state(format!(
                        "your pickup point is {} and cannot open a batch",
                        l.status
                    )));
                }
                merchant_status(c, &l.merchant_id)?.ensure_trading()?;
                insert_batch(c, now, &l.merchant_id, Some(&l.id), &parsed)
            })
            .await
    }

    /// The batches a leader opened, newest first: for the leader and the merchant's staff.
    pub async fn leader_batches(
        &self,
        who: &Principal,
        leader_id: &LeaderId,
    ) -> AppResult<Vec<Batch>> {
        let now = self.now_ms();
        let lid = parse_id(leader_id).ok_or(AppError::NotFound("leader"))?;
        let who = who.clone();
        self.db
            .read(move |c| {
                let l = load_leader(c, &lid)?;
                if l.account_id != who.account_id {
                    require_staff(c, &who, &l.merchant_id, StaffNeed::AnyStaff)
                        .map_err(|_| AppError::NotFound("leader"))?;
                }
                store::leader_opened_batches(c, &lid, now)
            })
            .await
    }
}
