//! The cart: what a member means to buy at one merchant, before checkout turns it into an
//! order (at most [`MAX_CART_ITEMS`] lines, quantities checked against the SKU).

use kith_domain::Fen;
use kith_domain::pricing::{self, Quantity};
use kith_store::{Conn, args};
use serde::Serialize;

use super::orders::buyer_tier;
use crate::platform::auth::merchant_status;
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
    let tier = buyer_tier(c, merchant_id, account_id)?;
    let rows = c.query(
        "SELECT sku_id, quantity FROM cart_items WHERE account_id = $1 AND merchant_id = $2 ORDER BY added_at, sku_id",
        args![account_id, merchant_id],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let (sku_id, quantity) = (SkuId::from_row(r.text(0)?), r.int(1)?);
        match catalog::sku_for_checkout(c, merchant_id, &sku_id) {
            Ok(sku) => {
                let tiers: Vec<(&str, Fen)> = sku
                    .tier_prices
                    .iter()
                    .map(|(c, p)| (c.as_str(), Fen::new(*p)))
                    .collect();
                let unit =
                    pricing::unit_price(Fen::new(sku.list_price_fen), &tiers, tier.as_deref());
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
                merchant_status(c, &mid)?.ensure_trading()?;
                match qty {
                    None => {
                        c.execute("DELETE FROM cart_items WHERE account_id = $1 AND sku_id = $2 AND merchant_id = $3", args![&w.account_id, &sid, &mid])?;
                    }
                    Some(q) => {
                        // A draft's SKU answers like an unknown one (404).
                        catalog::sku_for_buyer(c, &mid, &sid)?;
                        let n = c.query_one("SELECT COUNT(*) FROM cart_items WHERE account_id = $1", args![&w.account_id])?.int(0)?;
                        let present = c.query_opt("SELECT 1 FROM cart_items WHERE account_id = $1 AND sku_id = $2", args![&w.account_id, &sid])?.is_some();
                        if !present && n >= MAX_CART_ITEMS {
                            return Err(AppError::state(format!("a cart holds at most {MAX_CART_ITEMS} items")));
                        }
                        c.execute(
                            "INSERT INTO cart_items (account_id, merchant_id, sku_id, quantity, added_at) VALUES ($1, $2, $3, $4, $5)
                             ON CONFLICT (account_id, sku_id) DO UPDATE SET quantity = excluded.quantity",
                            args![&w.account_id, &mid, &sid, i64::from(q.get()), now],
                        )?;
                    }
                }
                cart(c, &w.account_id, &mid)
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
        self.db
            .read(move |c| {
                c.query(
                    "SELECT m.id, m.name, CAST(SUM(ci.quantity) AS bigint), MAX(ci.added_at) AS last
                     FROM cart_items ci JOIN merchants m ON m.id = ci.merchant_id
                     WHERE ci.account_id = $1
                     GROUP BY m.id, m.name ORDER BY last DESC, m.id LIMIT 100",
                    args![&aid],
                )?
                .iter()
                .map(|r| {
                    Ok(CartShop {
                        merchant_id: MerchantId::from_row(r.text(0)?),
                        merchant_name: r.text(1)?,
                        units: r.int(2)?,
                    })
                })
                .collect()
            })
            .await
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
