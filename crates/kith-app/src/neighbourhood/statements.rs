//! Leader statements per batch: for each leader of a batch, its orders, units, GMV,
//! refunds, pickup rate and the leader's commission by state — read from the orders and
//! from `order_commissions`, the rows the ledger's commission entries are posted from, so
//! the figures match each leader's commission balances to the fen.

use kith_domain::Fen;
use kith_store::{Conn, args};
use serde::Serialize;

use super::store::load_leader;
use crate::platform::auth::{StaffNeed, require_staff};
use crate::platform::error::fen_sum;
use crate::platform::ids::parse_id;
use crate::platform::ids::{BatchId, LeaderId};
use crate::{App, AppError, AppResult, Principal};

/// One leader's share of a batch, reconciled.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LeaderStatement {
    pub batch_id: BatchId,
    pub leader_id: LeaderId,
    pub leader_name: String,
    pub point_name: String,
    /// Paid (and fixed) joins at the point.
    pub orders: i64,
    pub units: i64,
    /// The goods paid on those orders.
    #[schema(value_type = i64)]
    pub gmv_fen: Fen,
    /// Refunded on those orders.
    #[schema(value_type = i64)]
    pub refunded_fen: Fen,
    /// Orders picked up (or completed after pickup).
    pub picked_up: i64,
    /// `picked_up / orders` in basis points (0 without orders).
    pub pickup_rate_bp: i64,
    /// The leader's commission on those orders, by state (what is left after reversals).
    #[schema(value_type = i64)]
    pub commission_pending_fen: Fen,
    #[schema(value_type = i64)]
    pub commission_frozen_fen: Fen,
    #[schema(value_type = i64)]
    pub commission_available_fen: Fen,
    /// Taken back by refunds (or voided).
    #[schema(value_type = i64)]
    pub commission_reversed_fen: Fen,
}

fn statement(c: &mut dyn Conn, batch: &str, leader: &str) -> AppResult<LeaderStatement> {
    let l = load_leader(c, leader)?;
    let r = c.query_one(
        "SELECT COUNT(*), CAST(COALESCE(SUM(j.units), 0) AS BIGINT), CAST(COALESCE(SUM(o.goods_fen), 0) AS BIGINT),
                CAST(COALESCE(SUM(o.refunded_fen), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN o.status = 'picked_up' OR (o.status = 'completed' AND o.delivery = 'pickup') THEN 1 ELSE 0 END), 0) AS BIGINT)
         FROM batch_orders j JOIN orders o ON o.id = j.order_id
         WHERE j.batch_id = $1 AND j.leader_id = $2 AND j.state IN ('paid', 'fixed')",
        args![batch, leader],
    )?;
    let (orders, units, gmv, refunded, picked) =
        (r.int(0)?, r.int(1)?, r.int(2)?, r.int(3)?, r.int(4)?);
    let mut by_state = [Fen::ZERO; 4];
    for row in c.query(
        "SELECT oc.state, CAST(SUM(oc.amount_fen - oc.reversed_fen) AS BIGINT), CAST(SUM(oc.reversed_fen) AS BIGINT),
                CAST(SUM(oc.amount_fen) AS BIGINT)
         FROM batch_orders j JOIN order_commissions oc ON oc.order_id = j.order_id AND oc.role = 'group_leader'
         WHERE j.batch_id = $1 AND j.leader_id = $2 AND oc.beneficiary_id = $3
         GROUP BY oc.state",
        args![batch, leader, &l.account_id],
    )? {
        let fen = |i| row.int(i).map(Fen::new);
        let (state, left, reversed, amount) = (row.text(0)?, fen(1)?, fen(2)?, fen(3)?);
        let (slot, add) = match state.as_str() {
            "pending" => (0, left),
            "frozen" => (1, left),
            "available" => (2, left),
            "void" => (3, amount.checked_sub(reversed).ok_or_else(AppError::money_overflow)?),
            _ => (3, Fen::ZERO),
        };
        by_state[slot] = fen_sum([by_state[slot], add])?;
        by_state[3] = fen_sum([by_state[3], reversed])?;
    }
    Ok(LeaderStatement {
        batch_id: BatchId::from_row(batch.to_owned()),
        leader_id: l.id,
        leader_name: l.display_name,
        point_name: l.point_name,
        orders,
        units,
        gmv_fen: Fen::new(gmv),
        refunded_fen: Fen::new(refunded),
        picked_up: picked,
        pickup_rate_bp: if orders > 0 {
            picked * 10_000 / orders
        } else {
            0
        },
        commission_pending_fen: by_state[0],
        commission_frozen_fen: by_state[1],
        commission_available_fen: by_state[2],
        commission_reversed_fen: by_state[3],
    })
}

impl App {
    /// A batch's statements: one per leader for the merchant's staff; the caller's own
    /// only for a leader of the batch's merchant (anyone else: 404).
    pub async fn batch_statements(
        &self,
        who: &Principal,
        batch_id: &BatchId,
    ) -> AppResult<Vec<LeaderStatement>> {
        let id = parse_id(batch_id).ok_or(AppError::NotFound("batch"))?;
        let who = who.clone();
        self.db
            .read(move |c| {
                let mid = c
                    .query_opt("SELECT merchant_id FROM batches WHERE id = $1", args![&id])?
                    .ok_or(AppError::NotFound("batch"))?
                    .text(0)?;
                let staff = require_staff(c, &who, &mid, StaffNeed::AnyStaff).is_ok();
                let leaders = c
                    .query(
                        "SELECT DISTINCT j.leader_id, l.point_name FROM batch_orders j JOIN leaders l ON l.id = j.leader_id
                         WHERE j.batch_id = $1 AND j.state IN ('paid', 'fixed') AND ($2 = 1 OR l.account_id = $3)
                         ORDER BY l.point_name, j.leader_id",
                        args![&id, i64::from(staff), &who.account_id],
                    )?
                    .iter()
                    .map(|r| r.text(0))
                    .collect::<Result<Vec<_>, _>>()?;
                if !staff {
                    let leads = c
                        .query_opt(
                            "SELECT 1 FROM leaders WHERE merchant_id = $1 AND account_id = $2 AND status IN ('approved', 'suspended')",
                            args![&mid, &who.account_id],
                        )?
                        .is_some();
                    if !leads {
                        return Err(AppError::NotFound("batch"));
                    }
                }
                leaders.iter().map(|l| statement(c, &id, l)).collect()
            })
            .await
    }
}
