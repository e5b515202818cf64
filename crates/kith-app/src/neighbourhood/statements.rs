//! Leader statements per batch: for each leader of a batch, its orders, units, GMV,
//! refunds, pickup rate and the leader's commission by state — read from the orders and
//! from `order_commissions`, the rows the ledger's commission entries are posted from, so
//! the figures match each leader's commission balances to the fen.

use kith_domain::Fen;
use kith_store::Conn;
use serde::Serialize;

use super::store::{self, load_leader};
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
    let (orders, units, gmv, refunded, picked) = store::join_totals(c, batch, leader)?;
    let mut by_state = [Fen::ZERO; 4];
    for (state, left, reversed, amount) in
        store::leader_commission_by_state(c, batch, leader, &l.account_id)?
    {
        let (left, reversed, amount) = (Fen::new(left), Fen::new(reversed), Fen::new(amount));
        let (slot, add) = match state.as_str() {
            "pending" => (0, left),
            "frozen" => (1, left),
            "available" => (2, left),
            "void" => (
                3,
                amount
                    .checked_sub(reversed)
                    .ok_or_else(AppError::money_overflow)?,
            ),
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
                let mid = store::batch_merchant(c, &id)?.ok_or(AppError::NotFound("batch"))?;
                let staff = require_staff(c, &who, &mid, StaffNeed::AnyStaff).is_ok();
                let leaders = store::statement_leaders(c, &id, staff, &who.account_id)?;
                if !staff {
                    let leads = store::leads_for(c, &mid, &who.account_id)?;
                    if !leads {
                        return Err(AppError::NotFound("batch"));
                    }
                }
                leaders.iter().map(|l| statement(c, &id, l)).collect()
            })
            .await
    }
}
