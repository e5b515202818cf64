//! Read-only listings the web pages need beyond the API's use cases: the shops a member can
//! browse, the communities they can find, and a merchant's dashboard figures. Nothing here
//! changes state; every listing applies the same access rules as the use cases it sits
//! beside (public listings show only trading merchants and top-level communities; the
//! dashboard is for the merchant's staff).

use kith_domain::Fen;
use serde::Serialize;

use super::store::browse as store;
use crate::platform::auth::{StaffNeed, require_staff};
use crate::platform::ids::{AccountId, CommunityId, MerchantId, ProductId, SkuId};
use crate::{App, AppError, AppResult, Principal};

/// A trading merchant as a shopper sees it in a list.
#[derive(Debug, Clone, Serialize)]
pub struct ShopCard {
    pub id: MerchantId,
    pub name: String,
    pub description: String,
    pub product_count: i64,
    /// The shop's logo, if it has one.
    pub logo: Option<crate::social::media::MediaRef>,
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
/// orders waiting for their buyer, products on sale about to run out, and the requests
/// waiting for the shop's answer (after-sales, returns to receive, 团长 applications).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Todo {
    pub to_ship: i64,
    pub to_pack: i64,
    pub awaiting_pickup: i64,
    pub low_stock: Vec<LowStock>,
    /// After-sale requests waiting for the shop's answer (agree or refuse).
    pub aftersales_to_answer: i64,
    /// Returns the buyer sent back, waiting for the shop to confirm receipt.
    pub returns_to_receive: i64,
    /// 团长 applications waiting for a decision.
    pub leader_applications: i64,
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
            .read(|c| store::trading_merchants(c, MAX_ROWS))
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
                store::active_sku_product(c, &mid, &sid)?.ok_or(crate::AppError::NotFound("sku"))
            })
            .await
    }

    /// Top-level communities, largest first, with the caller's state in each.
    pub async fn browse_communities(&self, who: &Principal) -> AppResult<Vec<CommunityCard>> {
        let me = who.account_id.clone();
        self.db
            .read(move |c| store::top_communities(c, &me, MAX_ROWS))
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
                store::merchant_community_ids(c, &mid)
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
                let orders_by_status = store::orders_by_status(c, &mid)?;
                let (gmv_fen, paying_buyers) = store::gmv_and_buyers(c, &mid)?;
                let active_products = store::count_active_products(c, &mid)?;
                let stores = store::count_stores(c, &mid)?;
                let mut todo = Todo::default();
                for (delivery, n) in store::fulfilling_by_delivery(c, &mid)? {
                    match delivery.as_str() {
                        "pickup" => todo.to_pack = n,
                        _ => todo.to_ship = n,
                    }
                }
                todo.awaiting_pickup = orders_by_status
                    .iter()
                    .find(|(st, _)| st == "ready_for_pickup")
                    .map_or(0, |(_, n)| *n);
                todo.low_stock = store::low_stock(c, &mid, LOW_STOCK)?;
                for (state, n) in store::aftersales_on_merchant(c, &mid)? {
                    match state.as_str() {
                        "requested" => todo.aftersales_to_answer = n,
                        _ => todo.returns_to_receive = n,
                    }
                }
                todo.leader_applications = store::leader_applications(c, &mid)?;
                Ok(Dashboard {
                    orders_by_status,
                    gmv_fen,
                    paying_buyers,
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
                for (id, name, orders) in store::commission_earners(c, &mid)? {
                    let mut d = blank(id.clone(), name);
                    d.orders = orders;
                    by_id.insert(id, d);
                }
                for (id, name, bound) in store::referrers(c, &mid, now)? {
                    by_id
                        .entry(id.clone())
                        .or_insert_with(|| blank(id, name))
                        .bound = bound;
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
                    if let Some(name) = store::display_name(c, id)? {
                        out.push((id.clone(), name));
                    }
                }
                Ok(out)
            })
            .await
    }
}

/// One of the shop's members as its console lists them: someone who ordered there, holds
/// one of its tiers, is bound to one of its distributors or is one (bound members or
/// commission earned there), or is an active member of one of its communities. Their phone only as the shop may see it (masked); their money and
/// orders only at this shop.
#[derive(Debug, Clone, Serialize)]
pub struct ShopMember {
    pub account_id: AccountId,
    pub display_name: String,
    /// The account's phone with its middle four digits hidden (`138****5678`); empty for
    /// an account without a phone.
    pub phone_masked: String,
    /// Their tier at this shop.
    pub tier_name: Option<String>,
    /// Orders placed here and not cancelled or left unpaid.
    pub orders: i64,
    /// Paid for those orders less what was refunded.
    pub spent_fen: Fen,
    pub first_order_at: Option<String>,
    pub last_order_at: Option<String>,
    /// Their picture, if they chose one.
    pub avatar: Option<crate::platform::pictures::MediaRef>,
}

/// What a console search of the shop's members looks for. A phone is matched whole, or by
/// its last four digits — the digits the masked number shows anyway —, never by a part
/// that would let staff guess the hidden middle one digit at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberQuery {
    All,
    /// Part of the display name, lower-cased.
    Name(String),
    /// A whole mainland mobile number.
    Phone(String),
    /// The last four digits of the phone.
    PhoneTail(String),
}

/// Longest search text, in characters.
const MAX_QUERY_CHARS: usize = 32;

impl MemberQuery {
    /// The query typed into the console's search box.
    pub fn parse(q: &str) -> AppResult<Self> {
        let q = q.trim();
        if q.is_empty() {
            return Ok(Self::All);
        }
        if q.chars().count() > MAX_QUERY_CHARS || q.chars().any(char::is_control) {
            return Err(AppError::invalid(
                "q",
                format!("search with at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        if q.bytes().all(|b| b.is_ascii_digit()) {
            return match q.len() {
                11 => Ok(Self::Phone(q.to_owned())),
                4 => Ok(Self::PhoneTail(q.to_owned())),
                _ => Err(AppError::invalid(
                    "q",
                    "search a phone by its 11 digits or by its last four",
                )),
            };
        }
        Ok(Self::Name(q.to_lowercase()))
    }
}

/// Most members one console listing returns; the picker asks for fewer.
pub const MAX_MEMBER_ROWS: usize = 10_000;

/// The phone as the shop may see it: the first three and last four digits.
pub(crate) fn mask_phone(phone: Option<&str>) -> String {
    phone.map_or_else(String::new, |p| {
        kith_domain::identity::Phone::parse(p).map_or_else(|_| "****".to_owned(), |p| p.masked())
    })
}

impl App {
    /// Staff: the shop's members matching `q` (see [`MemberQuery`]), those who ordered
    /// most recently first, then by name; at most `limit` (1–[`MAX_MEMBER_ROWS`]). Only
    /// the shop's own members are ever found: a person with no tie to this shop is not
    /// there to search, whatever is typed.
    pub async fn shop_members(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        q: &MemberQuery,
        limit: usize,
    ) -> AppResult<Vec<ShopMember>> {
        let (w, mid, q) = (who.clone(), merchant_id.to_owned(), q.clone());
        let limit = limit.clamp(1, MAX_MEMBER_ROWS) as i64;
        self.db
            .read(move |c| {
                require_staff(c, &w, &mid, StaffNeed::AnyStaff)?;
                store::shop_members(c, &mid, &q, limit)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phone_is_searched_whole_or_by_its_shown_tail() {
        assert_eq!(MemberQuery::parse(" ").unwrap(), MemberQuery::All);
        assert_eq!(
            MemberQuery::parse("13812345678").unwrap(),
            MemberQuery::Phone("13812345678".into())
        );
        assert_eq!(
            MemberQuery::parse("5678").unwrap(),
            MemberQuery::PhoneTail("5678".into())
        );
        assert_eq!(
            MemberQuery::parse("Amy 王").unwrap(),
            MemberQuery::Name("amy 王".into())
        );
        // A middle part of the number would uncover the hidden digits one probe at a time.
        for probe in ["381", "38123", "1234567"] {
            assert!(
                matches!(MemberQuery::parse(probe), Err(AppError::Invalid { .. })),
                "{probe}"
            );
        }
        assert!(MemberQuery::parse(&"长".repeat(33)).is_err());
        assert_eq!(mask_phone(Some("13812345678")), "138****5678");
        assert_eq!(mask_phone(None), "");
    }
}
