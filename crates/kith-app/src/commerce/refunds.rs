//! Refunds, in full or per line, back through the provider that took the money — a refund
//! is `requested → succeeded | failed` ([`RefundStatus`]).
//!
//! At request the refund's per-line plan is fixed and its quantities and amount are *held*
//! (`order_lines.refunding_*`, `orders.refunding_fen`, by conditional update), so no other
//! refund — staff, after-sales, a failed group-buy or 接龙 batch — can exceed what was paid,
//! even while this one is in flight. Nothing else moves until the provider confirms:
//! [`settle`] on `succeeded` books exactly what a refund is (the ledger entry, commission
//! reversed in proportion ([`crate::money::commissions::on_refund`]), the lines' counters,
//! stock back before fulfilment, and on a full refund the pickup code voided, the order
//! refunded and what its kind held released); on `failed` it releases the hold and emits
//! `refund.failed`. Settling is idempotent: a refund that is no longer `requested` is left
//! as it is, so a duplicate or late confirmation changes nothing.
//!
//! Wallet refunds are requested and succeed in one transaction. Sandbox and WeChat Pay
//! refunds are sent by the [`SendRefund`] job after the request commits; the sandbox answers
//! through its signed callback ([`App::refund_callback`]), WeChat Pay through its refund
//! notification or the refund query (`rails::wechatpay::refunds`).

use kith_domain::ledger::{AccountId, EntryKind, JournalEntry, accounts};
use kith_domain::order::OrderStatus;
use kith_domain::pricing::{self, LineState};
use kith_domain::refund::RefundStatus;
use kith_domain::{BoundedText, Fen, signature};
use kith_store::Conn;
use serde::{Deserialize, Serialize};

use super::orders::store::refunds::{self as store, load_refund, refunding_fen};
use super::orders::{
    Actor, OrderRow, load_lines, lock_order, release_all, staff_order, transition,
};
use crate::commerce::lifecycle::Lifecycle;
use crate::events::jobs::{ClaimedJob, Job, JobError, JobRegistry, Lane, enqueue};
use crate::money::ledger::{self, Refs};
use crate::platform::auth::{StaffNeed, require_staff};
use crate::platform::ids::{MerchantId, OrderId, RefundId, new_id};
use crate::{
    App, AppError, AppResult, Principal, commerce::inventory, money::commissions, platform::outbox,
};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Refund {
    pub id: RefundId,
    pub order_id: OrderId,
    #[schema(value_type = i64)]
    pub amount_fen: Fen,
    pub includes_shipping: bool,
    /// `[{line_no, quantity, amount_fen}]`
    pub lines: serde_json::Value,
    pub provider: String,
    pub reason: String,
    /// `requested` (sent to the provider, its lines held), `succeeded` or `failed`.
    pub status: RefundStatus,
    /// Why the provider did not refund (a `failed` refund).
    pub failure_reason: Option<String>,
    /// The provider's own refund id (WeChat Pay's `refund_id`), once it answered.
    pub provider_refund_id: Option<String>,
    pub created_at: String,
    /// When it succeeded or failed.
    pub settled_at: Option<String>,
    /// A failed refund asked again: the refund that replaced it (it is asked once).
    pub retried_by: Option<RefundId>,
}

impl Refund {
    /// It gave back money alone, no units (an arbitration's part: the buyer kept the goods).
    pub fn money_only(&self) -> bool {
        self.lines.as_array().is_some_and(|ls| {
            !ls.is_empty() && ls.iter().all(|l| l["quantity"].as_i64() == Some(0))
        })
    }
}

/// The sandbox gateway fails a refund whose reason contains this marker (as test card
/// numbers do at real gateways), so the demo and the tests can see a refund fail.
pub const SANDBOX_FAIL_MARKER: &str = "[sandbox:fail]";

/// Gives back everything an order still holds: the money through its provider (or, for an
/// order that cost nothing, only its stock) — a failed group-buy's or 接龙 batch's orders.
/// Money already held by a refund in flight is not asked for twice: that refund finishes
/// the order when it succeeds.
pub(crate) fn refund_everything(
    c: &mut dyn Conn,
    lc: &Lifecycle,
    now: i64,
    o: &OrderRow,
    reason: &str,
    actor: Actor<'_>,
) -> AppResult<()> {
    let in_flight = refunding_fen(c, &o.id)?;
    if o.paid_fen > o.refunded_fen + in_flight {
        return refund(c, lc, now, o, None, reason, actor).map(|_| ());
    }
    if in_flight > 0 {
        return Ok(());
    }
    let next = o.status.refund_fully()?;
    if matches!(o.status, OrderStatus::Paid | OrderStatus::AwaitingGroup) {
        release_all(c, now, o)?;
    }
    transition(c, now, o, next, actor, reason)?;
    lc.released(c, now, o)
}

/// What a refund gives back: units of lines (`None`: everything not yet refunded or held),
/// or an amount of lines' money without units (an arbitration's part: the buyer keeps the
/// goods), as `(line_no, fen)`.
pub(crate) enum Ask {
    Units(Option<Vec<(i64, i64)>>),
    Money(Vec<(i64, i64)>),
}

/// Asks for a refund of `lines` (`None`: everything not yet refunded or held); see
/// [`refund_of`].
pub(crate) fn refund(
    c: &mut dyn Conn,
    lc: &Lifecycle,
    now: i64,
    o: &OrderRow,
    lines: Option<Vec<(i64, i64)>>,
    reason: &str,
    actor: Actor<'_>,
) -> AppResult<Refund> {
    refund_of(c, lc, now, o, Ask::Units(lines), reason, actor)
}

/// Asks for a refund through the provider that took the money: the plan is fixed and held
/// now (units and money per line, by conditional update); a wallet refund also succeeds
/// now, any other is sent to its provider by [`SendRefund`] after the commit.
pub(crate) fn refund_of(
    c: &mut dyn Conn,
    lc: &Lifecycle,
    now: i64,
    o: &OrderRow,
    ask: Ask,
    reason: &str,
    actor: Actor<'_>,
) -> AppResult<Refund> {
    if !o.status.can_refund() || o.paid_fen == 0 {
        return Err(AppError::state(format!(
            "a {} order cannot be refunded",
            o.status.as_str()
        )));
    }
    lc.lock(c, &o.id, o.kind)?;
    let stored = load_lines(c, &o.id)?;
    let held_fen = refunding_fen(c, &o.id)?;
    // Units and money held by refunds in flight count as gone: they are not offered again.
    let states: Vec<LineState> = stored
        .iter()
        .map(|l| LineState {
            unit: l.unit_price_fen,
            quantity: l.quantity as u32,
            refunded_quantity: (l.refunded_quantity + l.refunding_quantity) as u32,
            discount: Fen::new(l.coupon_fen.get() + l.activity_fen.get() + l.points_fen.get()),
            refunded_money: Fen::new(l.refunded_fen.get() + l.refunding_fen.get()),
        })
        .collect();
    let lines = match ask {
        Ask::Units(lines) => lines,
        Ask::Money(amounts) => {
            let mut request = Vec::with_capacity(amounts.len());
            for (k, (line_no, fen)) in amounts.into_iter().enumerate() {
                let idx = stored
                    .iter()
                    .position(|l| l.line_no == line_no)
                    .ok_or_else(|| {
                        AppError::invalid(
                            format!("amounts[{k}].line_no"),
                            "is not a line of this order",
                        )
                    })?;
                request.push((idx, Fen::new(fen)));
            }
            let plan = pricing::refund_money(
                &states,
                Fen::new(o.shipping_fen),
                Fen::new(o.refunded_fen + held_fen),
                &request,
            )?;
            return hold_and_send(c, lc, now, o, &stored, &plan, reason, actor);
        }
    };
    let request: Vec<(usize, u32)> = match lines {
        None => stored
            .iter()
            .enumerate()
            .filter(|(_, l)| l.quantity > l.refunded_quantity + l.refunding_quantity)
            .map(|(i, l)| {
                (
                    i,
                    (l.quantity - l.refunded_quantity - l.refunding_quantity) as u32,
                )
            })
            .collect(),
        Some(req) => {
            let mut out = Vec::with_capacity(req.len());
            for (i, (line_no, qty)) in req.into_iter().enumerate() {
                let idx = stored
                    .iter()
                    .position(|l| l.line_no == line_no)
                    .ok_or_else(|| {
                        AppError::invalid(
                            format!("lines[{i}].line_no"),
                            "is not a line of this order",
                        )
                    })?;
                let qty = u32::try_from(qty).ok().filter(|q| *q >= 1).ok_or_else(|| {
                    AppError::invalid(format!("lines[{i}].quantity"), "must be at least 1")
                })?;
                out.push((idx, qty));
            }
            out
        }
    };
    if request.is_empty() {
        return Err(AppError::state(if held_fen > 0 {
            "nothing is left to refund: the rest is being refunded"
        } else {
            "nothing is left to refund"
        }));
    }
    let plan = pricing::refund_amount(
        &states,
        Fen::new(o.shipping_fen),
        Fen::new(o.refunded_fen + held_fen),
        &request,
    )?;
    hold_and_send(c, lc, now, o, &stored, &plan, reason, actor)
}

/// Records a planned refund as `requested`, holds its units and money on the lines and
/// the order (conditional updates: two refunds racing past the order lock still cannot
/// take more than a line or the order paid), and settles a wallet refund at once or
/// sends any other to its provider.
#[allow(clippy::too_many_arguments)]
fn hold_and_send(
    c: &mut dyn Conn,
    lc: &Lifecycle,
    now: i64,
    o: &OrderRow,
    stored: &[crate::commerce::orders::OrderLine],
    plan: &pricing::RefundPlan,
    reason: &str,
    actor: Actor<'_>,
) -> AppResult<Refund> {
    let provider = o
        .payment_provider
        .clone()
        .ok_or_else(|| AppError::Internal("paid order without provider".into()))?;
    let payment_id = store::succeeded_payment(c, &o.id, &provider)?;
    let refund_id = new_id();
    let lines_json: Vec<serde_json::Value> = plan
        .per_line
        .iter()
        .map(|(idx, qty, amount)| serde_json::json!({ "line_no": stored[*idx].line_no, "quantity": qty, "amount_fen": amount.get() }))
        .collect();
    if plan.amount.get() <= 0 {
        return Err(AppError::state("nothing is left to refund"));
    }
    store::insert_order_refund(
        c,
        now,
        &store::NewRefund {
            id: &refund_id,
            order_id: &o.id,
            merchant_id: &o.merchant_id,
            amount_fen: plan.amount.get(),
            includes_shipping: plan.includes_shipping,
            lines_json: &serde_json::Value::Array(lines_json).to_string(),
            provider: &provider,
            reason,
            actor_kind: actor.kind(),
            actor_id: actor.id(),
            payment_id: payment_id.as_deref(),
        },
    )?;
    // The hold: each line's units and the order's money, by conditional update, so two
    // refunds racing past the order lock still cannot take more than was paid.
    for (idx, qty, amount) in &plan.per_line {
        if !store::hold_line(
            c,
            &o.id,
            stored[*idx].line_no,
            i64::from(*qty),
            amount.get(),
        )? {
            return Err(AppError::state(
                "the order's refunds changed meanwhile; reload it",
            ));
        }
    }
    if !store::hold_order(c, now, &o.id, plan.amount.get())? {
        return Err(AppError::state(
            "the order's refunds changed meanwhile; reload it",
        ));
    }
    outbox::emit(
        c,
        now,
        "refund.requested",
        Some(&o.merchant_id),
        &o.id,
        &serde_json::json!({
            "order_id": o.id, "refund_id": refund_id, "amount_fen": plan.amount.get(), "provider": provider, "buyer_id": o.buyer_id,
        }),
    )?;
    if provider == "wallet" {
        settle(
            c,
            lc,
            now,
            &refund_id,
            Settlement::Succeeded {
                provider_refund_id: None,
            },
        )?;
    } else {
        enqueue(
            c,
            now,
            &SendRefund {
                refund_id: refund_id.clone(),
            },
            now,
        )?;
    }
    load_refund(c, &refund_id)
}

/// What a provider said about a refund.
#[derive(Debug, Clone)]
pub enum Settlement {
    Succeeded { provider_refund_id: Option<String> },
    Failed { reason: String },
}

/// What [`settle`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettleOutcome {
    Succeeded,
    Failed,
    /// The refund was already settled: nothing changed.
    Duplicate,
}

/// Settles a requested refund, in the caller's transaction. A refund already settled is
/// left as it is (`Duplicate`), so every confirmation path may call this any number of
/// times, in any order.
pub(crate) fn settle(
    c: &mut dyn Conn,
    lc: &Lifecycle,
    now: i64,
    refund_id: &str,
    outcome: Settlement,
) -> AppResult<SettleOutcome> {
    let store::SettleRow {
        order_id,
        merchant_id,
        amount_fen: amount,
        lines_json,
        provider,
        reason,
        actor_kind,
        actor_id,
        status,
        kind,
        payment_id,
        order_kind,
    } = store::refund_to_settle(c, refund_id)?;
    // Locks in the order every refund path takes them: the order's kind, then the order.
    lc.lock(c, &order_id, order_kind)?;
    let o = lock_order(c, &order_id)?;
    let next = match &outcome {
        Settlement::Succeeded { .. } => status.succeed(),
        Settlement::Failed { .. } => status.fail(),
    };
    let Ok(next) = next else {
        return Ok(SettleOutcome::Duplicate);
    };
    let (provider_refund_id, failure) = match &outcome {
        Settlement::Succeeded { provider_refund_id } => (provider_refund_id.as_deref(), None),
        Settlement::Failed { reason } => (None, Some(reason.as_str())),
    };
    if !store::settle_refund(c, now, refund_id, next, provider_refund_id, failure)? {
        return Ok(SettleOutcome::Duplicate);
    }
    let lines: Vec<(i64, i64, i64)> = serde_json::from_str::<Vec<serde_json::Value>>(&lines_json)
        .unwrap_or_default()
        .iter()
        .map(|l| {
            (
                l["line_no"].as_i64().unwrap_or(0),
                l["quantity"].as_i64().unwrap_or(0),
                l["amount_fen"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    if kind == "late_payment" {
        return settle_late_payment(c, now, refund_id, &o, &provider, amount, payment_id, next);
    }
    // The hold is released either way; on success it becomes refunded.
    for (line_no, qty, a) in &lines {
        store::release_line_hold(c, &order_id, *line_no, *qty, *a)?;
    }
    store::release_order_hold(c, now, &order_id, amount)?;
    if next == RefundStatus::Failed {
        outbox::emit(
            c,
            now,
            "refund.failed",
            Some(&merchant_id),
            &order_id,
            &serde_json::json!({
                "order_id": order_id, "refund_id": refund_id, "amount_fen": amount, "reason": failure, "buyer_id": o.buyer_id,
            }),
        )?;
        crate::commerce::aftersale::on_refund_settled(c, now, refund_id, false)?;
        return Ok(SettleOutcome::Failed);
    }
    let actor = match actor_kind.as_str() {
        "staff" => Actor::Staff(actor_id.as_deref().unwrap_or_default()),
        "buyer" => Actor::Buyer(actor_id.as_deref().unwrap_or_default()),
        "clerk" => Actor::Clerk(actor_id.as_deref().unwrap_or_default()),
        "gateway" => Actor::Gateway,
        _ => Actor::System,
    };
    book_success(
        c,
        lc,
        now,
        refund_id,
        &o,
        (&provider, payment_id.as_deref()),
        amount,
        &lines,
        &reason,
        actor,
    )?;
    crate::commerce::aftersale::on_refund_settled(c, now, refund_id, true)?;
    Ok(SettleOutcome::Succeeded)
}

/// Everything a confirmed refund moves (what a refund did at once before refunds were
/// asynchronous).
#[allow(clippy::too_many_arguments)]
fn book_success(
    c: &mut dyn Conn,
    lc: &Lifecycle,
    now: i64,
    refund_id: &str,
    o: &OrderRow,
    (provider, payment_id): (&str, Option<&str>),
    amount: i64,
    lines: &[(i64, i64, i64)],
    reason: &str,
    actor: Actor<'_>,
) -> AppResult<()> {
    let stored = load_lines(c, &o.id)?;
    // After completion the money sits in the merchant's available balance: the refund is a
    // clawback from there, as a new entry.
    let from = if o.status == OrderStatus::Completed {
        accounts::merchant_available(&o.merchant_id)?
    } else {
        accounts::merchant_pending(&o.merchant_id)?
    };
    let to = crate::commerce::payments::refund_destination(
        c,
        crate::commerce::payments::Provider::parse(provider)?,
        payment_id,
        &o.buyer_id,
        &o.merchant_id,
    )?;
    let entry = JournalEntry::transfer(
        format!("refund:{refund_id}"),
        EntryKind::Refund,
        from,
        to,
        Fen::new(amount),
    )?;
    ledger::post(
        c,
        now,
        &entry,
        Refs {
            order_id: Some(&o.id),
            payment_id: None,
            refund_id: Some(refund_id),
            memo: reason,
        },
        &[],
    )?;
    let goods_before: i64 = stored.iter().map(|l| l.refunded_fen.get()).sum();
    let goods_now: i64 = lines.iter().map(|(_, _, a)| a).sum();
    commissions::on_refund(
        c,
        now,
        &o.id,
        &o.merchant_id,
        refund_id,
        goods_before,
        goods_before + goods_now,
    )?;
    let refunded: Vec<crate::loyalty::RefundedLine> = lines
        .iter()
        .filter_map(|(line_no, qty, a)| {
            let l = stored.iter().find(|l| l.line_no == *line_no)?;
            Some(crate::loyalty::RefundedLine {
                line_no: *line_no,
                quantity: l.quantity,
                qty_after: l.refunded_quantity + qty,
                paid_fen: l.line_total_fen.get()
                    - l.coupon_fen.get()
                    - l.activity_fen.get()
                    - l.points_fen.get(),
                after_fen: l.refunded_fen.get() + a,
            })
        })
        .collect();
    crate::loyalty::on_refund(
        c,
        now,
        &o.id,
        refund_id,
        goods_before,
        goods_before + goods_now,
        &refunded,
        o.status == OrderStatus::Completed,
    )?;
    let before_fulfilment = matches!(
        o.status,
        OrderStatus::Paid
            | OrderStatus::AwaitingGroup
            | OrderStatus::Fulfilling
            | OrderStatus::ReadyForPickup
    );
    for (line_no, qty, a) in lines {
        let Some(line) = stored.iter().find(|l| l.line_no == *line_no) else {
            return Err(AppError::Internal(
                "refund of a line the order lacks".into(),
            ));
        };
        store::add_line_refunded(c, &o.id, *line_no, *qty, *a)?;
        // A refund of money alone (`qty` 0) returns no goods: no stock moves.
        if before_fulfilment && *qty > 0 {
            inventory::release(c, &o.location_id, &line.sku_id, *qty, &o.id, now)?;
        }
    }
    store::add_order_refunded(c, now, &o.id, amount)?;
    outbox::emit(
        c,
        now,
        "refund.succeeded",
        Some(&o.merchant_id),
        &o.id,
        &serde_json::json!({
            "order_id": o.id, "refund_id": refund_id, "amount_fen": amount, "buyer_id": o.buyer_id,
        }),
    )?;
    let everything = o.refunded_fen + amount >= o.paid_fen;
    if everything && crate::commerce::aftersale::returns_coupon(c, &o.merchant_id)? {
        crate::commerce::promotions::on_order_refunded(c, now, &o.id)?;
    }
    if everything {
        store::void_pickup_code(c, now, &o.id)?;
        let next = o.status.refund_fully()?;
        transition(c, now, o, next, actor, reason)?;
        lc.released(c, now, o)?;
    } else {
        outbox::emit(
            c,
            now,
            "order.partially_refunded",
            Some(&o.merchant_id),
            &o.id,
            &serde_json::json!({
                "order_id": o.id, "refund_id": refund_id, "amount_fen": amount, "buyer_id": o.buyer_id,
            }),
        )?;
    }
    Ok(())
}

/// The in-transit account a late payment waits in while its refund is at the provider.
fn refunds_in_transit(provider: &str) -> AppResult<AccountId> {
    Ok(accounts::external_gateway(&format!(
        "{provider}_refunding"
    ))?)
}

/// Books a payment that came after its order stopped taking payments: the money is held in
/// transit and a refund of the whole payment is requested from its provider (a wallet or
/// sandbox payment is given back at once, as before). The payment is `returned` (not
/// taken for the order); the refund row says whether the money has gone back yet.
pub(crate) fn request_late_refund(
    c: &mut dyn Conn,
    lc: &Lifecycle,
    now: i64,
    o: &OrderRow,
    provider: &str,
    payment_id: &str,
    amount: i64,
) -> AppResult<String> {
    let refund_id = new_id();
    store::insert_late_refund(
        c,
        now,
        &refund_id,
        &o.id,
        &o.merchant_id,
        amount,
        provider,
        payment_id,
    )?;
    let entry = JournalEntry::transfer(
        format!("payment:{payment_id}:late_refund"),
        EntryKind::Refund,
        accounts::merchant_pending(&o.merchant_id)?,
        refunds_in_transit(provider)?,
        Fen::new(amount),
    )?;
    ledger::post(
        c,
        now,
        &entry,
        Refs {
            order_id: Some(&o.id),
            payment_id: Some(payment_id),
            refund_id: Some(&refund_id),
            memo: "late payment: refund requested",
        },
        &[],
    )?;
    if matches!(provider, "wechat" | "alipay") {
        enqueue(
            c,
            now,
            &SendRefund {
                refund_id: refund_id.clone(),
            },
            now,
        )?;
    } else {
        settle(
            c,
            lc,
            now,
            &refund_id,
            Settlement::Succeeded {
                provider_refund_id: None,
            },
        )?;
    }
    Ok(refund_id)
}

#[allow(clippy::too_many_arguments)]
fn settle_late_payment(
    c: &mut dyn Conn,
    now: i64,
    refund_id: &str,
    o: &OrderRow,
    provider: &str,
    amount: i64,
    payment_id: Option<String>,
    next: RefundStatus,
) -> AppResult<SettleOutcome> {
    let payment_id = payment_id.unwrap_or_default();
    if next == RefundStatus::Failed {
        // The money stays in transit for the merchant to return by hand; it is never
        // booked back as the merchant's.
        outbox::emit(
            c,
            now,
            "refund.failed",
            Some(&o.merchant_id),
            &o.id,
            &serde_json::json!({ "order_id": o.id, "refund_id": refund_id, "payment_id": payment_id, "amount_fen": amount }),
        )?;
        return Ok(SettleOutcome::Failed);
    }
    let entry = JournalEntry::transfer(
        format!("refund:{refund_id}"),
        EntryKind::Refund,
        refunds_in_transit(provider)?,
        crate::commerce::payments::payment_source(c, provider, Some(&payment_id), &o.merchant_id)?,
        Fen::new(amount),
    )?;
    ledger::post(
        c,
        now,
        &entry,
        Refs {
            order_id: Some(&o.id),
            payment_id: Some(&payment_id),
            refund_id: Some(refund_id),
            memo: "late payment returned",
        },
        &[],
    )?;
    outbox::emit(
        c,
        now,
        "payment.late_refunded",
        Some(&o.merchant_id),
        &o.id,
        &serde_json::json!({ "order_id": o.id, "payment_id": payment_id }),
    )?;
    Ok(SettleOutcome::Succeeded)
}

/// Sends a requested refund to its provider, right after the request commits: the sandbox
/// answers through its signed callback; WeChat Pay is asked through its refund API
/// (`rails::wechatpay::refunds`); Alipay through `alipay.trade.refund`, which answers at
/// once (`rails::alipay`). A no-op once the refund is settled.
#[derive(Debug, Serialize, Deserialize)]
pub struct SendRefund {
    pub refund_id: String,
}

impl Job for SendRefund {
    const KIND: &'static str = "commerce.refund.send";
    const MAX_ATTEMPTS: i64 = 8;
    const LANE: Lane = Lane::Delivery;

    async fn run(self, app: &App, _attempt: &ClaimedJob) -> Result<(), JobError> {
        let id = self.refund_id.clone();
        let r = app.db.read(move |c| load_refund(c, &id)).await?;
        if r.status != RefundStatus::Requested {
            return Ok(());
        }
        match r.provider.as_str() {
            "sandbox" => {
                let (status, answer) = app.sandbox_answer_refund(&r).await?;
                if !(200..300).contains(&status) {
                    return Err(JobError::Outside(format!(
                        "the refund callback answered {status}: {answer}"
                    )));
                }
                Ok(())
            }
            "wechat" => Ok(app.wechat_request_refund(&r.id).await?),
            "alipay" => Ok(app.alipay_request_refund(&r.id).await?),
            other => Err(JobError::App(AppError::Internal(format!(
                "no refund rail for provider {other:?}"
            )))),
        }
    }
}

pub(crate) fn register_jobs(jobs: &mut JobRegistry) {
    jobs.register::<SendRefund>();
}

/// What the sandbox gateway's refund callback carries.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundCallbackBody {
    pub event_id: String,
    pub refund_id: String,
    /// `succeeded` or `failed`.
    pub status: String,
    pub amount_fen: i64,
    /// Why a `failed` refund failed.
    #[serde(default)]
    pub reason: Option<String>,
}

impl App {
    /// Staff refund an order fully (`lines = None`) or per line, back through the provider
    /// that took the money. Before fulfilment the refunded quantities' reservations are
    /// released; once every line is refunded the order is `refunded` and any pickup code is
    /// voided. Refused (409) while a buyer's after-sale request is open on a line it names
    /// (any line, for a full refund): the request is answered instead.
    pub async fn refund_order(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        order_id: &OrderId,
        lines: Option<Vec<(i64, i64)>>,
        reason: &str,
    ) -> AppResult<Refund> {
        let reason = BoundedText::parse("reason", reason, 1, 200)?.into_string();
        let now = self.now_ms();
        let (who, mid, oid) = (who.clone(), merchant_id.to_owned(), order_id.to_owned());
        let lc = self.lifecycle.clone();
        self.db
            .write(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let o = staff_order(c, &mid, &oid)?;
                crate::commerce::aftersale::refuse_if_open(c, &o.id, lines.as_deref())?;
                refund(
                    c,
                    &lc,
                    now,
                    &o,
                    lines.clone(),
                    &reason,
                    Actor::Staff(&who.account_id),
                )
            })
            .await
    }

    /// An order's refunds, to its buyer or its merchant's staff; the order must be
    /// `merchant_id`'s (404 otherwise), so the route's merchant is checked too.
    pub async fn list_refunds(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        order_id: &OrderId,
    ) -> AppResult<Vec<Refund>> {
        if self.get_order(who, order_id).await?.merchant_id != *merchant_id {
            return Err(AppError::NotFound("order"));
        }
        let oid = order_id.to_owned();
        self.db.read(move |c| store::order_refunds(c, &oid)).await
    }

    /// Staff ask again for a refund that failed: the same lines (what of them is still
    /// unrefunded) and reason, as a new refund. 409 unless `refund_id` is this order's and
    /// `failed`.
    pub async fn retry_refund(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        order_id: &OrderId,
        refund_id: &RefundId,
    ) -> AppResult<Refund> {
        let now = self.now_ms();
        let (who, mid, oid, rid) = (
            who.clone(),
            merchant_id.to_owned(),
            order_id.to_owned(),
            refund_id.to_owned(),
        );
        let lc = self.lifecycle.clone();
        self.db
            .write(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let o = staff_order(c, &mid, &oid)?;
                let old = load_refund(c, &rid)?;
                if old.order_id != o.id {
                    return Err(AppError::NotFound("refund"));
                }
                if old.retried_by.is_some() {
                    return Err(AppError::state("this refund was already asked again"));
                }
                if old.status != RefundStatus::Failed {
                    return Err(AppError::state(format!(
                        "the refund is {}, only a failed refund is asked for again",
                        old.status.as_str()
                    )));
                }
                let items: Vec<(i64, i64, i64)> = old
                    .lines
                    .as_array()
                    .map(|ls| {
                        ls.iter()
                            .map(|l| {
                                (
                                    l["line_no"].as_i64().unwrap_or(0),
                                    l["quantity"].as_i64().unwrap_or(0),
                                    l["amount_fen"].as_i64().unwrap_or(0),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                // A refund of money alone (no units) is asked again for the same money.
                let ask = if old.money_only() {
                    Ask::Money(items.iter().map(|(l, _, fen)| (*l, *fen)).collect())
                } else {
                    Ask::Units(Some(items.iter().map(|(l, qty, _)| (*l, *qty)).collect()))
                };
                // The sandbox's failure marker is not carried over: asked again, it pays.
                let reason = old.reason.replace(SANDBOX_FAIL_MARKER, "");
                let reason = match reason.trim() {
                    "" => "重新退款",
                    r => r,
                };
                let new = refund_of(c, &lc, now, &o, ask, reason, Actor::Staff(&who.account_id))?;
                // Once: two staff pressing 重新退款 together make one new refund (the other
                // transaction rolls back with its refund).
                if !store::set_retried_by(c, &old.id, &new.id)? {
                    return Err(AppError::state("this refund was already asked again"));
                }
                crate::commerce::aftersale::relink_refund(c, &old.id, &new.id)?;
                Ok(new)
            })
            .await
    }

    fn sandbox_refunds_on(&self) -> AppResult<()> {
        if self.config.sandbox_enabled {
            Ok(())
        } else {
            Err(AppError::NotFound("refund provider"))
        }
    }

    /// The sandbox gateway's answer to a refund sent to it: a signed callback POSTed to this
    /// server's refund webhook, `failed` when the reason carries [`SANDBOX_FAIL_MARKER`].
    pub(crate) async fn sandbox_answer_refund(&self, r: &Refund) -> AppResult<(u16, String)> {
        self.sandbox_refunds_on()?;
        let fail = r.reason.contains(SANDBOX_FAIL_MARKER);
        let body = serde_json::to_vec(&RefundCallbackBody {
            event_id: format!("sbx_{}", new_id()),
            refund_id: r.id.to_string(),
            status: if fail { "failed" } else { "succeeded" }.to_owned(),
            amount_fen: r.amount_fen.get(),
            reason: fail.then(|| "沙箱网关拒绝了这笔退款".to_owned()),
        })
        .map_err(|e| AppError::Internal(e.to_string()))?;
        // The sandbox is this server's own gateway: its signed callback goes straight to the
        // callback's handler (the same signature check as over HTTP), so a refund settles
        // on a server that is not listening where `public_url` says too (a worker, a test).
        let ts = self.now_ms() / 1000;
        let sig = signature::sign(self.config.sandbox_secret.as_bytes(), ts, &body);
        self.refund_callback("sandbox", &sig, &body).await?;
        Ok((204, String::new()))
    }

    /// A gateway's refund callback (the sandbox's): authenticated by its signature over the
    /// raw body within the tolerance window; the amount must be the refund's; settling is
    /// idempotent (a replay or duplicate finds the refund settled and changes nothing).
    pub async fn refund_callback(
        &self,
        provider: &str,
        signature_header: &str,
        body: &[u8],
    ) -> AppResult<SettleOutcome> {
        if provider != "sandbox" {
            return Err(AppError::NotFound("refund provider"));
        }
        self.sandbox_refunds_on()?;
        let now = self.now_ms();
        if let Err(e) = signature::verify(
            signature_header,
            self.config.sandbox_secret.as_bytes(),
            body,
            now / 1000,
            self.config.callback_tolerance_secs,
        ) {
            tracing::warn!(provider, error = %e, "refused refund callback");
            return Err(AppError::Unauthenticated(format!("callback refused: {e}")));
        }
        let cb: RefundCallbackBody =
            serde_json::from_slice(body).map_err(|e| AppError::invalid("body", e.to_string()))?;
        if cb.event_id.is_empty() || cb.event_id.len() > 128 {
            return Err(AppError::invalid("event_id", "must be 1–128 characters"));
        }
        let rid = crate::platform::ids::parse_id(&cb.refund_id)
            .ok_or_else(|| AppError::invalid("refund_id", "is not a refund id"))?;
        let outcome = match cb.status.as_str() {
            "succeeded" => Settlement::Succeeded {
                provider_refund_id: Some(cb.event_id.clone()),
            },
            "failed" => Settlement::Failed {
                reason: cb
                    .reason
                    .clone()
                    .filter(|r| !r.trim().is_empty())
                    .unwrap_or_else(|| "the gateway refused the refund".to_owned())
                    .chars()
                    .take(200)
                    .collect(),
            },
            _ => return Err(AppError::invalid("status", "must be succeeded or failed")),
        };
        let lc = self.lifecycle.clone();
        let provider = provider.to_owned();
        self.db
            .write(move |c| {
                let r = load_refund(c, &rid)?;
                if r.provider != provider {
                    return Err(AppError::NotFound("refund"));
                }
                if r.amount_fen.get() != cb.amount_fen {
                    return Err(AppError::invalid(
                        "amount_fen",
                        format!("the refund is {} fen", r.amount_fen),
                    ));
                }
                settle(c, &lc, now, &rid, outcome.clone())
            })
            .await
    }
}
