//! Read-only listings the web pages need beyond the API's use cases: the shops a member can
//! browse, the communities they can find, and a merchant's dashboard figures. Nothing here
//! changes state; every listing applies the same access rules as the use cases it sits
//! beside (public listings show only trading merchants and top-level communities; the
//! dashboard is for the merchant's staff).

use kith_domain::Fen;
use kith_store::args;
use serde::Serialize;

use crate::platform::auth::{StaffNeed, require_staff};
use crate::platform::ids::{AccountId, CommunityId, MerchantId, ProductId, SkuId};
use crate::{App, AppResult, Principal};

/// A trading merchant as a shopper sees it in a list.
#[derive(Debug, Clone, Serialize)]
pub struct ShopCard {
    pub id: MerchantId,
    pub name: String,
    pub description: String,
    pub product_count: i64,
}

/// A community as a list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CommunityCard {
    pub id: CommunityId,
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
    pub gmv_fen: Fen,
    pub paying_buyers: i64,
    pub active_products: i64,
    pub stores: i64,
    /// What needs doing now.
    pub todo: Todo,
}

/// The merchant's to-do list (待办): paid orders to ship or to pack for pickup, packed
/// orders waiting for their buyer, and products on sale about to run out.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Todo {
    pub to_ship: i64,
    pub to_pack: i64,
    pub awaiting_pickup: i64,
    pub low_stock: Vec<LowStock>,
}

/// A SKU on sale with at most [`LOW_STOCK`] units available across the merchant's locations.
#[derive(Debug, Clone, Serialize)]
pub struct LowStock {
    pub product_id: ProductId,
    pub product_name: String,
    pub sku_code: String,
    pub available: i64,
}

/// Units available at or under which a SKU on sale is on the to-do list.
pub const LOW_STOCK: i64 = 5;

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
                        id: MerchantId::from_row(r.text(0)?),
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
    pub async fn sku_product(
        &self,
        merchant_id: &MerchantId,
        sku_id: &SkuId,
    ) -> AppResult<ProductId> {
        let (mid, sid) = (merchant_id.to_owned(), sku_id.to_owned());
        self.db
            .read(move |c| {
                // A draft's SKU answers like an unknown one (as at checkout).
                c.query_opt(
                    "SELECT s.product_id FROM skus s JOIN products p ON p.id = s.product_id
                     WHERE s.id = $1 AND s.merchant_id = $2 AND p.status = 'active'",
                    args![&sid, &mid],
                )?
                .ok_or(crate::AppError::NotFound("sku"))?
                .text(0)
                .map(ProductId::from_row)
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
                        id: CommunityId::from_row(r.text(0)?),
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
        merchant_id: &MerchantId,
    ) -> AppResult<Vec<CommunityId>> {
        let (w, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                require_staff(c, &w, &mid, StaffNeed::AnyStaff)?;
                c.query(
                    "SELECT id FROM communities WHERE merchant_id = $1 ORDER BY created_at, id",
                    args![&mid],
                )?
                .iter()
                .map(|r| r.text(0).map(CommunityId::from_row).map_err(Into::into))
                .collect()
            })
            .await
    }

    /// Staff: the merchant's order counts by status, GMV, buyers, products and stores.
    pub async fn merchant_dashboard(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
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
                let mut todo = Todo::default();
                for r in c.query(
                    "SELECT delivery, COUNT(*) FROM orders WHERE merchant_id = $1 AND status = 'fulfilling' GROUP BY delivery",
                    args![&mid],
                )? {
                    match r.text(0)?.as_str() {
                        "pickup" => todo.to_pack = r.int(1)?,
                        _ => todo.to_ship = r.int(1)?,
                    }
                }
                todo.awaiting_pickup = orders_by_status
                    .iter()
                    .find(|(st, _)| st == "ready_for_pickup")
                    .map_or(0, |(_, n)| *n);
                todo.low_stock = c
                    .query(
                        "SELECT p.id, p.name, s.code,
                                CAST(COALESCE(SUM(st.on_hand - st.reserved), 0) AS bigint) AS available
                         FROM skus s JOIN products p ON p.id = s.product_id
                         LEFT JOIN stock st ON st.sku_id = s.id
                         WHERE s.merchant_id = $1 AND p.status = 'active'
                         GROUP BY p.id, p.name, s.code
                         HAVING CAST(COALESCE(SUM(st.on_hand - st.reserved), 0) AS bigint) <= $2
                         ORDER BY available, p.name, s.code LIMIT 10",
                        args![&mid, LOW_STOCK],
                    )?
                    .iter()
                    .map(|r| {
                        Ok(LowStock {
                            product_id: ProductId::from_row(r.text(0)?),
                            product_name: r.text(1)?,
                            sku_code: r.text(2)?,
                            available: r.int(3)?,
                        })
                    })
                    .collect::<AppResult<Vec<_>>>()?;
                Ok(Dashboard {
                    orders_by_status,
                    gmv_fen: Fen::new(money.int(0)?),
                    paying_buyers: money.int(1)?,
                    active_products,
                    stores,
                    todo,
                })
            })
            .await
    }
}

/// A distributor at a merchant, as its console lists them: their commission balances by
/// state from the ledger (net of reversals, clawbacks and withdrawals, as their own wallet
/// shows them) and the members bound to them now.
#[derive(Debug, Clone, Serialize)]
pub struct DistributorRow {
    pub account_id: AccountId,
    pub display_name: String,
    pub pending_fen: Fen,
    pub frozen_fen: Fen,
    pub available_fen: Fen,
    /// Orders they earned on.
    pub orders: i64,
    /// Members bound to them directly (live bindings).
    pub bound: i64,
}

impl DistributorRow {
    pub fn total_fen(&self) -> Fen {
        Fen::new(self.pending_fen.get() + self.frozen_fen.get() + self.available_fen.get())
    }
}

impl App {
    /// Staff: the merchant's distributors (who earned commission there or has members
    /// bound to them), highest earnings first, at most 100.
    pub async fn merchant_distributors(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
    ) -> AppResult<Vec<DistributorRow>> {
        let now = self.now_ms();
        let (w, mid) = (who.clone(), merchant_id.to_owned());
        let mut rows = self
            .db
            .read(move |c| {
                require_staff(c, &w, &mid, StaffNeed::AnyStaff)?;
                let mut by_id: std::collections::BTreeMap<AccountId, DistributorRow> =
                    std::collections::BTreeMap::new();
                let blank = |id: AccountId, name: String| DistributorRow {
                    account_id: id,
                    display_name: name,
                    pending_fen: Fen::ZERO,
                    frozen_fen: Fen::ZERO,
                    available_fen: Fen::ZERO,
                    orders: 0,
                    bound: 0,
                };
                for r in c.query(
                    "SELECT oc.beneficiary_id, a.display_name, COUNT(DISTINCT oc.order_id)
                     FROM order_commissions oc JOIN accounts a ON a.id = oc.beneficiary_id
                     WHERE oc.merchant_id = $1 AND oc.state IN ('pending', 'frozen', 'available')
                     GROUP BY oc.beneficiary_id, a.display_name",
                    args![&mid],
                )? {
                    let id = AccountId::from_row(r.text(0)?);
                    let mut d = blank(id.clone(), r.text(1)?);
                    d.orders = r.int(2)?;
                    by_id.insert(id, d);
                }
                for r in c.query(
                    "SELECT b.referrer_id, a.display_name, COUNT(*)
                     FROM referrer_bindings b JOIN accounts a ON a.id = b.referrer_id
                     WHERE b.merchant_id = $1 AND (b.expires_at IS NULL OR b.expires_at > $2)
                     GROUP BY b.referrer_id, a.display_name",
                    args![&mid, now],
                )? {
                    let id = AccountId::from_row(r.text(0)?);
                    let name = r.text(1)?;
                    by_id
                        .entry(id.clone())
                        .or_insert_with(|| blank(id, name))
                        .bound = r.int(2)?;
                }
                // Balances from the ledger, as the distributor's own wallet shows them (net of
                // reversals and withdrawals), never re-derived from the commission rows.
                for d in by_id.values_mut() {
                    let b = crate::money::commissions::balances(c, &d.account_id, &mid)?;
                    (d.pending_fen, d.frozen_fen, d.available_fen) =
                        (b.pending_fen, b.frozen_fen, b.available_fen);
                }
                Ok::<_, crate::AppError>(by_id.into_values().collect::<Vec<_>>())
            })
            .await?;
        rows.sort_by(|a, b| {
            b.total_fen()
                .cmp(&a.total_fen())
                .then(b.bound.cmp(&a.bound))
                .then(a.account_id.cmp(&b.account_id))
        });
        rows.truncate(MAX_ROWS as usize);
        Ok(rows)
    }

    /// The display names of some accounts (public, as on their profiles), in the order
    /// asked; an unknown id is left out.
    pub async fn display_names(&self, ids: &[String]) -> AppResult<Vec<(String, String)>> {
        let ids: Vec<String> = ids.iter().take(200).cloned().collect();
        self.db
            .read(move |c| {
                let mut out = Vec::with_capacity(ids.len());
                for id in &ids {
                    if let Some(r) =
                        c.query_opt("SELECT display_name FROM accounts WHERE id = $1", args![id])?
                    {
                        out.push((id.clone(), r.text(0)?));
                    }
                }
                Ok(out)
            })
            .await
    }
}
