//! The money context's rows: the column lists of its wider read models, read by name.

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
