//! The money context's rows and every statement on them: the column lists of its wider
//! read models, read by name, and the commission plan as stored (a merchant's plan and its
//! per-product overrides) here; the statements of each area in its own file — the ledger
//! ([`ledger`]), commissions and attributions ([`commissions`]), share links, visits and
//! bindings ([`sharing`]), withdrawals and payout events ([`withdrawals`]), the
//! distributor centre's reads ([`distributors`]) and a merchant's settlement ([`settlement`]).

mod commissions;
mod distributors;
mod ledger;
mod settlement;
mod sharing;
mod withdrawals;

pub(in crate::money) use commissions::*;
pub(in crate::money) use distributors::*;
pub(in crate::money) use ledger::*;
pub(in crate::money) use settlement::*;
pub(in crate::money) use sharing::*;
pub(in crate::money) use withdrawals::*;

use std::sync::LazyLock;

use kith_domain::Fen;
use kith_domain::commission::Rates;
use kith_store::{Conn, Row, args};

use super::withdrawals::Withdrawal;
use crate::platform::ids::{AccountId, MerchantId, ProductId, WithdrawalId};
use crate::{AppResult, rfc3339};

kith_store::columns!(pub(super) PlanCols {
    "l1_bp" => l1_bp,
    "l2_bp" => l2_bp,
    "rebate_bp" => rebate_bp,
    "group_buy_commission" => group_buy_commission,
    "group_leader_bp" => group_leader_bp,
    "cap_bp" => cap_bp,
    "binding_mode" => binding_mode,
    "binding_days" => binding_days,
    "window_days" => window_days,
    "withdraw_min_fen" => withdraw_min_fen,
    "withdraw_daily_limit_fen" => withdraw_daily_limit_fen,
});

// One beneficiary's share of an order's commission (`order_commissions`).
kith_store::columns!(pub(super) ShareCols {
    "role" => role,
    "beneficiary_id" => beneficiary_id,
    "source" => source,
    "rate_bp" => rate_bp,
    "base_fen" => base_fen,
    "amount_fen" => amount_fen,
    "reversed_fen" => reversed_fen,
    "state" => state,
});

// One posting with its journal entry, for statements.
kith_store::columns!(pub(super) StatementCols {
    "p.id" => posting_id,
    "e.id" => entry_id,
    "e.kind" => kind,
    "p.account_id" => account_id,
    "p.amount_fen" => amount_fen,
    "e.order_id" => order_id,
    "e.memo" => memo,
    "e.created_at" => created_at,
});

kith_store::columns!(pub(super) WithdrawalCols {
    "id" => id,
    "account_id" => account_id,
    "merchant_id" => merchant_id,
    "amount_fen" => amount_fen,
    "status" => status,
    "requested_at" => requested_at,
    "decided_at" => decided_at,
    "payout_ref" => payout_ref,
    "note" => note,
    "payee_account" => payee_account,
    "payee_name" => payee_name,
});

pub(super) fn withdrawal_from_row(r: &Row) -> AppResult<Withdrawal> {
    Ok(Withdrawal {
        id: WithdrawalId::from_row(r.text(WithdrawalCols::id)?),
        account_id: AccountId::from_row(r.text(WithdrawalCols::account_id)?),
        merchant_id: MerchantId::from_row(r.text(WithdrawalCols::merchant_id)?),
        amount_fen: Fen::new(r.int(WithdrawalCols::amount_fen)?),
        status: r.text(WithdrawalCols::status)?,
        requested_at: rfc3339(r.int(WithdrawalCols::requested_at)?),
        decided_at: r.opt_int(WithdrawalCols::decided_at)?.map(rfc3339),
        payout_ref: r.opt_text(WithdrawalCols::payout_ref)?,
        note: r.text(WithdrawalCols::note)?,
        payee_account: r.text(WithdrawalCols::payee_account)?,
        payee_name: r.text(WithdrawalCols::payee_name)?,
    })
}

/// A stored plan.
pub(crate) struct StoredPlan {
    pub rates: Rates,
    pub cap_bp: i64,
    pub group_buy_commission: bool,
    pub binding_mode: String,
    pub binding_days: Option<i64>,
    pub window_days: i64,
    pub withdraw_min_fen: i64,
    pub withdraw_daily_limit_fen: i64,
}

/// Its text made once (a `format!` per use was a copy per order on the SQLite writer).
fn plan_sql() -> &'static str {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {} FROM commission_plans WHERE merchant_id = $1",
            PlanCols::LIST
        )
    });
    &SQL
}

/// Announces [`load_plan`] ([`Conn::prefetch`]).
pub(crate) fn announce_plan(c: &mut dyn Conn, merchant_id: &str) -> AppResult<()> {
    Ok(kith_store::prefetch!(c, plan_sql(), merchant_id)?)
}

pub(crate) fn load_plan(c: &mut dyn Conn, merchant_id: &str) -> AppResult<Option<StoredPlan>> {
    let r = c.query_opt(plan_sql(), args![merchant_id])?;
    r.map(|r| {
        Ok(StoredPlan {
            rates: Rates {
                levels_bp: [r.int(PlanCols::l1_bp)?, r.int(PlanCols::l2_bp)?],
                rebate_bp: r.int(PlanCols::rebate_bp)?,
                group_leader_bp: r.int(PlanCols::group_leader_bp)?,
            },
            group_buy_commission: r.int(PlanCols::group_buy_commission)? != 0,
            cap_bp: r.int(PlanCols::cap_bp)?,
            binding_mode: r.text(PlanCols::binding_mode)?,
            binding_days: r.opt_int(PlanCols::binding_days)?,
            window_days: r.int(PlanCols::window_days)?,
            withdraw_min_fen: r.int(PlanCols::withdraw_min_fen)?,
            withdraw_daily_limit_fen: r.int(PlanCols::withdraw_daily_limit_fen)?,
        })
    })
    .transpose()
}

fn override_from_row(r: &Row) -> AppResult<(ProductId, Rates)> {
    Ok((
        ProductId::from_row(r.text(0)?),
        Rates {
            levels_bp: [r.int(1)?, r.int(2)?],
            rebate_bp: r.int(3)?,
            group_leader_bp: r.int(4)?,
        },
    ))
}

pub(super) fn overrides(c: &mut dyn Conn, merchant_id: &str) -> AppResult<Vec<(ProductId, Rates)>> {
    c.query(
        "SELECT product_id, l1_bp, l2_bp, rebate_bp, group_leader_bp FROM commission_overrides WHERE merchant_id = $1 ORDER BY product_id",
        args![merchant_id],
    )?
    .iter()
    .map(override_from_row)
    .collect()
}
