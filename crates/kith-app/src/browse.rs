//! Read-only listings the web pages need beyond the API's use cases: the shops a member can
//! browse, the communities they can find, and a merchant's dashboard figures. Nothing here
//! changes state; every listing applies the same access rules as the use cases it sits
//! beside (public listings show only trading merchants and top-level communities; the
//! dashboard is for the merchant's staff).

use kith_store::args;
use serde::Serialize;

use crate::auth::{StaffNeed, require_staff};
use crate::{App, AppResult, Principal};

/// A trading merchant as a shopper sees it in a list.
#[derive(Debug, Clone, Serialize)]
pub struct ShopCard {
    pub id: String,
    pub name: String,
    pub description: String,
    pub product_count: i64,
}

/// A community as a list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CommunityCard {
    pub id: String,
    pub name: String,
    pub description: String,
    pub join_policy: String,
    pub member_count: i64,
    /// The caller's membership state (`active`, `pending`, …), if any.
    pub my_state: Option<String>,
}

/// A merchant's figures at a glance.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    /// (status, number of orders) for every status that has orders.
    pub orders_by_status: Vec<(String, i64)>,
    /// Money paid for orders, minus refunds, in fen.
    pub gmv_fen: i64,
    pub paying_buyers: i64,
    pub active_products: i64,
    pub stores: i64,
}

/// Most rows a browse list returns.
const MAX_ROWS: i64 = 100;

impl App {
    /// Approved merchants, by name, with their number of active products.
    pub async fn trading_merchants(&self) -> AppResult<Vec<ShopCard>> {
        self.db
            .read(|c| {
                c.query(
                    "SELECT m.id, m.name, m.description,
                            (SELECT COUNT(*) FROM products p WHERE p.merchant_id = m.id AND p.status = 'active')
                     FROM merchants m WHERE m.status = 'approved' ORDER BY m.name, m.id LIMIT $1",
                    args![MAX_ROWS],
                )?
                .iter()
                .map(|r| {
                    Ok(ShopCard {
                        id: r.text(0)?,
                        name: r.text(1)?,
                        description: r.text(2)?,
                        product_count: r.int(3)?,
                    })
                })
                .collect()
            })
            .await
    }

    /// The product a SKU belongs to (for links from tagged posts). The product page then
    /// applies the catalog's own visibility rule.
    pub async fn sku_product(&self, merchant_id: &str, sku_id: &str) -> AppResult<String> {
        let (mid, sid) = (merchant_id.to_owned(), sku_id.to_owned());
        self.db
            .read(move |c| {
                c.query_opt(
                    "SELECT product_id FROM skus WHERE id = $1 AND merchant_id = $2",
                    args![&sid, &mid],
                )?
                .ok_or(crate::AppError::NotFound("sku"))?
                .text(0)
                .map_err(Into::into)
            })
            .await
    }

    /// Top-level communities, largest first, with the caller's state in each.
    pub async fn browse_communities(&self, who: &Principal) -> AppResult<Vec<CommunityCard>> {
        let me = who.account_id.clone();
        self.db
            .read(move |c| {
                c.query(
                    "SELECT c.id, c.name, c.description, c.join_policy,
                            (SELECT COUNT(*) FROM community_members m WHERE m.community_id = c.id AND m.state = 'active') AS n,
                            (SELECT m.state FROM community_members m WHERE m.community_id = c.id AND m.account_id = $1)
                     FROM communities c WHERE c.parent_id IS NULL
                     ORDER BY n DESC, c.created_at, c.id LIMIT $2",
                    args![&me, MAX_ROWS],
                )?
                .iter()
                .map(|r| {
                    Ok(CommunityCard {
                        id: r.text(0)?,
                        name: r.text(1)?,
                        description: r.text(2)?,
                        join_policy: r.text(3)?,
                        member_count: r.int(4)?,
                        my_state: r.opt_text(5)?,
                    })
                })
                .collect()
            })
            .await
    }

    /// Staff: the ids of the communities the merchant runs.
    pub async fn merchant_community_ids(
        &self,
        who: &Principal,
        merchant_id: &str,
    ) -> AppResult<Vec<String>> {
        let (w, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                require_staff(c, &w, &mid, StaffNeed::AnyStaff)?;
                c.query(
                    "SELECT id FROM communities WHERE merchant_id = $1 ORDER BY created_at, id",
                    args![&mid],
                )?
                .iter()
                .map(|r| r.text(0).map_err(Into::into))
                .collect()
            })
            .await
    }

    /// Staff: the merchant's order counts by status, GMV, buyers, products and stores.
    pub async fn merchant_dashboard(
        &self,
        who: &Principal,
        merchant_id: &str,
    ) -> AppResult<Dashboard> {
        let (w, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                require_staff(c, &w, &mid, StaffNeed::AnyStaff)?;
                let orders_by_status = c
                    .query(
                        "SELECT status, COUNT(*) FROM orders WHERE merchant_id = $1 GROUP BY status ORDER BY status",
                        args![&mid],
                    )?
                    .iter()
                    .map(|r| Ok((r.text(0)?, r.int(1)?)))
                    .collect::<AppResult<Vec<_>>>()?;
                let money = c.query_one(
                    "SELECT CAST(COALESCE(SUM(paid_fen - refunded_fen), 0) AS bigint),
                            COUNT(DISTINCT CASE WHEN paid_fen > 0 THEN buyer_id END)
                     FROM orders WHERE merchant_id = $1",
                    args![&mid],
                )?;
                let active_products = c
                    .query_one(
                        "SELECT COUNT(*) FROM products WHERE merchant_id = $1 AND status = 'active'",
                        args![&mid],
                    )?
                    .int(0)?;
                let stores = c
                    .query_one("SELECT COUNT(*) FROM stores WHERE merchant_id = $1", args![&mid])?
                    .int(0)?;
                Ok(Dashboard {
                    orders_by_status,
                    gmv_fen: money.int(0)?,
                    paying_buyers: money.int(1)?,
                    active_products,
                    stores,
                })
            })
            .await
    }
}
