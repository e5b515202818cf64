//! The cart: what a member means to buy at one merchant, before checkout turns it into an
//! order (at most [`MAX_CART_ITEMS`] lines, quantities checked against the SKU).

use kith_domain::Fen;
use kith_domain::pricing::{self, Quantity};
use kith_store::Conn;
use serde::Serialize;

use super::orders::buyer_tier;
use super::store::cart as store;
use crate::platform::auth::merchant_status_of;
use crate::platform::ids::{MerchantId, SkuId};
use crate::{App, AppError, AppResult, Principal, commerce::catalog};

/// One line of a cart, priced for the member now (prices are fixed only at checkout).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CartItem {
    pub sku_id: SkuId,
    /// The SKU's product (empty when it is no longer on sale), for a coupon's scope: a
    /// string, not a `ProductId`, because of that empty value.
    pub product_id: String,
    pub quantity: i64,
    pub product_name: String,
    pub sku_code: String,
    #[schema(value_type = i64)]
    pub unit_price_fen: Fen,
    /// False when the product was archived since it was added.
    pub available: bool,
    /// The product's main picture, small (`null` when it has none).
    pub image: Option<String>,
}

/// Most distinct SKUs in one cart.
pub const MAX_CART_ITEMS: i64 = 100;

pub(crate) fn cart(
    c: &mut dyn Conn,
    account_id: &str,
    merchant_id: &str,
) -> AppResult<Vec<CartItem>> {
    super::orders::store::announce_buyer_tier(c, merchant_id, account_id)?;
    store::announce_cart_lines(c, account_id, merchant_id)?;
    let tier = buyer_tier(c, merchant_id, account_id)?;
    cart_priced(c, account_id, merchant_id, None, tier.as_deref())
}

/// [`cart`], priced for the member's `tier` the transaction has read, with one SKU it has
/// just read (`known`, on sale): its line is priced from it instead of reading it again.
fn cart_priced(
    c: &mut dyn Conn,
    account_id: &str,
    merchant_id: &str,
    mut known: Option<catalog::SkuForCheckout>,
    tier: Option<&str>,
) -> AppResult<Vec<CartItem>> {
    let rows = store::cart_lines(c, account_id, merchant_id)?;
    let mut out = Vec::with_capacity(rows.len());
    for (sku_id, quantity) in rows {
        let sku = match known.take_if(|k| k.sku_id == sku_id.as_str()) {
            Some(k) => Ok(k),
            None => catalog::sku_for_checkout(c, merchant_id, &sku_id),
        };
        match sku {
            Ok(sku) => {
                let tiers: Vec<(&str, Fen)> = sku
                    .tier_prices
                    .iter()
                    .map(|(c, p)| (c.as_str(), Fen::new(*p)))
                    .collect();
                let unit = pricing::unit_price(Fen::new(sku.list_price_fen), &tiers, tier);
                out.push(CartItem {
                    sku_id,
                    product_id: sku.product_id,
                    quantity,
                    product_name: sku.product_name,
                    sku_code: sku.code,
                    unit_price_fen: unit,
                    available: true,
                    image: sku.image,
                });
            }
            Err(AppError::Conflict { .. }) => {
                out.push(CartItem {
                    sku_id,
                    product_id: String::new(),
                    quantity,
                    product_name: String::new(),
                    sku_code: String::new(),
                    unit_price_fen: Fen::ZERO,
                    available: false,
                    image: None,
                });
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

impl App {
    /// Sets a SKU's quantity in the caller's cart at a merchant (0 removes it).
    pub async fn set_cart_item(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        sku_id: &SkuId,
        quantity: i64,
    ) -> AppResult<Vec<CartItem>> {
        let qty = if quantity == 0 {
            None
        } else {
            Some(Quantity::parse(quantity)?)
        };
        let now = self.now_ms();
        let (w, mid, sid) = (who.clone(), merchant_id.to_owned(), sku_id.to_owned());
        self.db
            .write(move |c| {
                // The merchant with the member's tier, the SKU and the cart's size in one
                // round trip on PostgreSQL (`Conn::prefetch`).
                store::announce_merchant_status_and_tier(c, &mid, &w.account_id)?;
                if qty.is_some() {
                    catalog::announce_sku_for_checkout(c, &mid, &sid)?;
                    store::announce_cart_size_and_has(c, &w.account_id, &sid)?;
                }
                let (word, tier) = store::merchant_status_and_tier(c, &mid, &w.account_id)?
                    .ok_or(AppError::NotFound("merchant"))?;
                merchant_status_of(&word)?.ensure_trading()?;
                match qty {
                    None => {
                        store::delete_cart_item(c, &w.account_id, &sid, &mid)?;
                    }
                    Some(q) => {
                        // A draft's SKU answers like an unknown one (404).
                        let sku = catalog::sku_for_buyer(c, &mid, &sid)?;
                        let (n, present) = store::cart_size_and_has(c, &w.account_id, &sid)?;
                        if !present && n >= MAX_CART_ITEMS {
                            return Err(AppError::state(format!(
                                "a cart holds at most {MAX_CART_ITEMS} items"
                            )));
                        }
                        store::upsert_cart_item(
                            c,
                            &w.account_id,
                            &mid,
                            &sid,
                            i64::from(q.get()),
                            now,
                        )?;
                        return cart_priced(c, &w.account_id, &mid, Some(sku), tier.as_deref());
                    }
                }
                cart_priced(c, &w.account_id, &mid, None, tier.as_deref())
            })
            .await
    }

    /// The caller's cart at a merchant.
    pub async fn cart(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
    ) -> AppResult<Vec<CartItem>> {
        let (aid, mid) = (who.account_id.clone(), merchant_id.to_owned());
        self.db.read(move |c| cart(c, &aid, &mid)).await
    }

    /// The shops where the caller has something in the cart (a cart is per shop), with the
    /// units in each, most recently added to first.
    pub async fn carts(&self, who: &Principal) -> AppResult<Vec<CartShop>> {
        let aid = who.account_id.clone();
        self.db.read(move |c| store::cart_shops(c, &aid)).await
    }
}

/// A shop where a member has a cart.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CartShop {
    pub merchant_id: MerchantId,
    pub merchant_name: String,
    /// Units in that cart.
    pub units: i64,
}
