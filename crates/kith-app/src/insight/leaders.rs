//! Per-leader (团长) figures of a merchant's 接龙 batches over a window: GMV (paid minus
//! refunded, on joins that went ahead), buyers, the repeat rate (buyers with ≥ 2 such orders
//! ÷ buyers) and the pickup rate (orders picked up ÷ orders delivered to the point or
//! beyond). Candidate leaders: the KOL ranking of the merchant's pool (personalised
//! PageRank over the graph snapshot, seeded on the members of its communities) without
//! those who already lead or applied. Reads the neighbourhood's and commerce's tables;
//! writes none.

use std::collections::BTreeMap;

use kith_domain::Fen;
use kith_store::Conn;
use serde::Serialize;

use super::store::{fixed_batch_orders, leading_accounts, merchant_leaders};
use super::{InsightAccess, KolEntry, Window, check_access};
use crate::platform::ids::{LeaderId, MerchantId};
use crate::{App, AppResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LeaderFigures {
    pub leader_id: LeaderId,
    pub display_name: String,
    pub point_name: String,
    /// `approved`, `suspended`, …
    pub status: String,
    /// Orders fixed at a cut-off in the window.
    pub orders: i64,
    #[schema(value_type = i64)]
    pub gmv_fen: Fen,
    pub buyers: i64,
    /// Buyers with at least two such orders ÷ buyers, in basis points.
    pub repeat_rate_bp: i64,
    /// Orders picked up ÷ orders ready at the point or later, in basis points.
    pub pickup_rate_bp: i64,
}

fn rate(n: i64, d: i64) -> i64 {
    if d == 0 { 0 } else { n * 10_000 / d }
}

pub(super) fn leader_figures(
    c: &mut dyn Conn,
    merchant_id: &str,
    since: i64,
) -> AppResult<Vec<LeaderFigures>> {
    let leaders = merchant_leaders(c, merchant_id)?;
    let rows = fixed_batch_orders(c, merchant_id, since)?;
    // leader → (orders, gmv, buyer → orders, at the point or later, picked up)
    type Acc = (i64, i64, BTreeMap<String, i64>, i64, i64);
    let mut per: BTreeMap<String, Acc> = BTreeMap::new();
    for (leader, buyer, gmv, status) in rows {
        let e = per.entry(leader).or_default();
        e.0 += 1;
        e.1 += gmv;
        *e.2.entry(buyer).or_default() += 1;
        if matches!(
            status.as_str(),
            "ready_for_pickup" | "picked_up" | "completed"
        ) {
            e.3 += 1;
        }
        if matches!(status.as_str(), "picked_up" | "completed") {
            e.4 += 1;
        }
    }
    leaders
        .into_iter()
        .map(|(id, display_name, point_name, status)| {
            let (orders, gmv, buyers, ready, picked) = per.remove(&id).unwrap_or_default();
            let repeat = buyers.values().filter(|n| **n >= 2).count() as i64;
            let buyers = buyers.len() as i64;
            Ok(LeaderFigures {
                leader_id: LeaderId::from_row(id),
                display_name,
                point_name,
                status,
                orders,
                gmv_fen: Fen::new(gmv),
                buyers,
                repeat_rate_bp: rate(repeat, buyers),
                pickup_rate_bp: rate(picked, ready),
            })
        })
        .collect()
}

impl App {
    /// Per-leader GMV, buyers, repeat and pickup rates of the merchant's 接龙 batches.
    pub async fn insight_leaders(
        &self,
        who: InsightAccess,
        merchant_id: &MerchantId,
        window: Window,
    ) -> AppResult<Vec<LeaderFigures>> {
        let now = self.now_ms();
        let mid = merchant_id.clone();
        self.db
            .read(move |c| {
                check_access(c, &who, &mid, None)?;
                leader_figures(c, &mid, window.since(now))
            })
            .await
    }
}

impl App {
    /// Members who could lead a pickup point: the most influential of the merchant's pool
    /// who are not leaders (nor applying) yet, best first.
    pub async fn insight_leader_candidates(
        &self,
        who: InsightAccess,
        merchant_id: &MerchantId,
        window: Window,
        limit: usize,
    ) -> AppResult<Vec<KolEntry>> {
        let mid = merchant_id.clone();
        let leading: Vec<String> = {
            let (who, mid) = (who.clone(), mid.clone());
            self.db
                .read(move |c| {
                    check_access(c, &who, &mid, None)?;
                    leading_accounts(c, &mid)
                })
                .await?
        };
        let ranking = self
            .insight_kol(who, &mid, None, window, limit + leading.len())
            .await?;
        Ok(ranking
            .entries
            .into_iter()
            .filter(|e| !leading.iter().any(|l| *l == e.account_id))
            .take(limit)
            .enumerate()
            .map(|(n, e)| KolEntry {
                rank: n as i64 + 1,
                ..e
            })
            .collect())
    }
}
