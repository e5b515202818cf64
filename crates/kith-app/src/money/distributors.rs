//! The distributor centre: my team (the binding tree below me at a merchant, counted per
//! generation, nicknames only), my earnings by source, and each of my share links' funnel
//! (visits → sign-ups → orders → GMV). Only the member sees their own centre.

use kith_domain::Fen;
use kith_store::Conn;
use serde::Serialize;

use crate::money::commissions::require_self_or_staff;
use crate::money::store;
use crate::platform::error::fen_sum;
use crate::platform::ids::{AccountId, MerchantId, OrderId};
use crate::platform::page::{Page, PageRequest};
use crate::{App, AppError, AppResult, Principal, money::sharing, rfc3339};

/// Deepest generation counted (a bound against pathological trees).
pub const MAX_GENERATIONS: usize = 20;
/// Most nicknames listed per generation.
pub const MAX_NAMES: i64 = 100;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Generation {
    /// 1 = bound directly to me.
    pub generation: i64,
    pub count: i64,
    /// Display names only (at most 100 per generation), never ids or contacts.
    pub nicknames: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Team {
    pub merchant_id: MerchantId,
    pub total: i64,
    pub generations: Vec<Generation>,
}

/// One line of what an order bought.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GoodsLine {
    pub product_name: String,
    pub quantity: i64,
}

/// An order a member earned commission on at a merchant, as their statement shows it: one
/// line per order, with what was bought, what they earn from it and where that money
/// stands (not the ledger's postings, which move it between balances).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CommissionOrder {
    pub order_id: OrderId,
    /// What the order bought, line by line.
    pub goods: Vec<GoodsLine>,
    /// Booked for the member on this order (all their roles in it), before reversals.
    #[schema(value_type = i64)]
    pub booked_fen: Fen,
    /// Taken back by refunds.
    #[schema(value_type = i64)]
    pub reversed_fen: Fen,
    /// `pending` (the order is paid), `frozen` (delivered, in the after-sale window),
    /// `available` (withdrawable) or `void` (the order was refunded in full before it
    /// settled).
    pub state: String,
    /// When the order was booked (placed).
    pub at: String,
}

impl CommissionOrder {
    /// What the member keeps from the order: booked less reversed.
    pub fn earned_fen(&self) -> Fen {
        Fen::new(self.booked_fen.get() - self.reversed_fen.get())
    }
}

/// Earned commission standing (booked minus reversed) by source, plus what is still
/// planned on unpaid orders left out.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, Default)]
pub struct Earnings {
    pub merchant_id: Option<MerchantId>,
    #[schema(value_type = i64)]
    pub rebate_fen: Fen,
    #[schema(value_type = i64)]
    pub l1_fen: Fen,
    #[schema(value_type = i64)]
    pub l2_fen: Fen,
    #[schema(value_type = i64)]
    pub content_fen: Fen,
    #[schema(value_type = i64)]
    pub group_leader_fen: Fen,
    #[schema(value_type = i64)]
    pub total_fen: Fen,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LinkFunnel {
    pub link: sharing::ShareLink,
    pub visits: i64,
    pub signups: i64,
    /// Paid orders attributed to the link.
    pub orders: i64,
    /// What those orders paid, less refunds.
    #[schema(value_type = i64)]
    pub gmv_fen: Fen,
}

fn team(c: &mut dyn Conn, merchant_id: &MerchantId, root: &str) -> AppResult<Team> {
    let mut frontier = vec![root.to_owned()];
    let mut seen = std::collections::HashSet::from([root.to_owned()]);
    let mut generations = Vec::new();
    let mut total = 0;
    for g in 1..=MAX_GENERATIONS {
        if frontier.is_empty() {
            break;
        }
        let mut next = Vec::new();
        let mut nicknames = Vec::new();
        for parent in &frontier {
            for (id, name) in store::bound_below(c, merchant_id, parent)? {
                if seen.insert(id.clone()) {
                    if (nicknames.len() as i64) < MAX_NAMES {
                        nicknames.push(name);
                    }
                    next.push(id);
                }
            }
        }
        if next.is_empty() {
            break;
        }
        total += next.len() as i64;
        generations.push(Generation {
            generation: g as i64,
            count: next.len() as i64,
            nicknames,
        });
        frontier = next;
    }
    Ok(Team {
        merchant_id: merchant_id.to_owned(),
        total,
        generations,
    })
}

impl App {
    /// The binding tree below `member_id` at a merchant, per generation.
    pub async fn distributor_team(
        &self,
        who: &Principal,
        member_id: &AccountId,
        merchant_id: &MerchantId,
    ) -> AppResult<Team> {
        let (who, member, mid) = (who.clone(), member_id.to_owned(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                require_self_or_staff(c, &who, &member, None)?;
                crate::platform::auth::merchant_status(c, &mid)?;
                team(c, &mid, &member)
            })
            .await
    }

    /// Earnings by source (rebate, L1, L2, content, group leader) on paid orders, net of
    /// reversals; at one merchant or all.
    pub async fn distributor_earnings(
        &self,
        who: &Principal,
        member_id: &AccountId,
        merchant_id: Option<&MerchantId>,
    ) -> AppResult<Earnings> {
        let (who, member, mid) = (who.clone(), member_id.to_owned(), merchant_id.cloned());
        self.db
            .read(move |c| {
                require_self_or_staff(c, &who, &member, None)?;
                let rows = store::earnings_by_source(c, &member, mid.as_ref())?;
                let mut e = Earnings {
                    merchant_id: mid.clone(),
                    ..Default::default()
                };
                for (source, fen) in rows {
                    let v = Fen::new(fen);
                    match source.as_str() {
                        "rebate" => e.rebate_fen = v,
                        "l1" => e.l1_fen = v,
                        "l2" => e.l2_fen = v,
                        "content" => e.content_fen = v,
                        "group_leader" => e.group_leader_fen = v,
                        other => {
                            return Err(AppError::Internal(format!(
                                "unknown commission source {other}"
                            )));
                        }
                    }
                    e.total_fen = fen_sum([e.total_fen, v])?;
                }
                Ok(e)
            })
            .await
    }

    /// The orders `member_id` earned commission on at a merchant, newest first, each with
    /// what it bought: the statement a member reads. To the member, or that merchant's staff.
    pub async fn commission_orders(
        &self,
        who: &Principal,
        member_id: &AccountId,
        merchant_id: &MerchantId,
        page: PageRequest,
    ) -> AppResult<Page<CommissionOrder>> {
        let (who, member, mid) = (who.clone(), member_id.to_owned(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                crate::platform::auth::merchant_status(c, &mid)?;
                require_self_or_staff(c, &who, &member, Some(&mid))?;
                let rows = store::commission_orders(c, &member, &mid, &page)?;
                let ids: Vec<String> = rows.iter().map(|r| r.order_id.clone()).collect();
                let goods = store::goods_of(c, &ids)?;
                let items = rows
                    .into_iter()
                    .map(|r| {
                        let line = CommissionOrder {
                            goods: goods
                                .iter()
                                .filter(|(o, _, _)| *o == r.order_id)
                                .map(|(_, name, qty)| GoodsLine {
                                    product_name: name.clone(),
                                    quantity: *qty,
                                })
                                .collect(),
                            order_id: OrderId::from_row(r.order_id),
                            booked_fen: Fen::new(r.amount_fen),
                            reversed_fen: Fen::new(r.reversed_fen),
                            state: r.state,
                            at: rfc3339(r.at_ms),
                        };
                        (r.at_ms, line)
                    })
                    .collect();
                Ok(Page::from_keyed(items, page.limit, |o| o.order_id.as_str()))
            })
            .await
    }

    /// Each of the member's share links: visits → sign-ups → paid orders → GMV.
    pub async fn distributor_links(
        &self,
        who: &Principal,
        member_id: &AccountId,
    ) -> AppResult<Vec<LinkFunnel>> {
        require_self_only(who, member_id)?;
        let links = self.my_share_links(who).await?;
        self.db
            .read(move |c| {
                links
                    .iter()
                    .cloned()
                    .map(|link| {
                        let (visits, signups, orders, gmv) = store::link_funnel(c, &link.id)?;
                        Ok(LinkFunnel {
                            visits,
                            signups,
                            orders,
                            gmv_fen: Fen::new(gmv),
                            link,
                        })
                    })
                    .collect()
            })
            .await
    }
}

fn require_self_only(who: &Principal, member: &str) -> AppResult<()> {
    if who.account_id == member {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only the member sees their share links".into(),
        ))
    }
}
