//! Refunds, in full or per line, back through the provider that took the money. A refund
//! before fulfilment releases the lines' stock; a full refund voids an unused pickup code and
//! releases what the order's kind held (a group-buy seat, through the lifecycle); commission
//! is reversed in proportion ([`crate::money::commissions::on_refund`]).

use kith_domain::ledger::{EntryKind, JournalEntry, accounts};
use kith_domain::order::OrderStatus;
use kith_domain::pricing::{self, LineState};
use kith_domain::{BoundedText, Fen};
use kith_store::{Conn, Row, args};
use serde::Serialize;

use super::orders::{Actor, OrderRow, load_lines, release_all, staff_order, transition};
use crate::commerce::lifecycle::Lifecycle;
use crate::money::ledger::{self, Refs};
use crate::platform::auth::{StaffNeed, require_staff};
use crate::platform::ids::new_id;
use crate::{
    App, AppError, AppResult, Principal, commerce::inventory, money::commissions, platform::outbox,
    rfc3339,
};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Refund {
    pub id: String,
    pub order_id: String,
    pub amount_fen: i64,
    pub includes_shipping: bool,
    /// `[{line_no, quantity, amount_fen}]`
    pub lines: serde_json::Value,
    pub provider: String,
    pub reason: String,
    pub created_at: String,
}

/// Gives back everything an order still holds: the money through its provider (or, for an
/// order that cost nothing, only its stock) — a failed group-buy's orders.
pub(crate) fn refund_everything(
    c: &mut dyn Conn,
    lc: &Lifecycle,
    now: i64,
    o: &OrderRow,
    reason: &str,
    actor: Actor<'_>,
) -> AppResult<()> {
    if o.paid_fen > o.refunded_fen {
        return refund(c, lc, now, o, None, reason, actor).map(|_| ());
    }
    let next = o.status.refund_fully()?;
    if matches!(o.status, OrderStatus::Paid | OrderStatus::AwaitingGroup) {
        release_all(c, now, o)?;
    }
    transition(c, now, o, next, actor, reason)?;
    lc.released(c, now, o)
}

fn refund_from_row(r: &Row) -> AppResult<Refund> {
    Ok(Refund {
        id: r.text(0)?,
        order_id: r.text(1)?,
        amount_fen: r.int(2)?,
        includes_shipping: r.bool(3)?,
        lines: serde_json::from_str(&r.text(4)?).unwrap_or(serde_json::Value::Null),
        provider: r.text(5)?,
        reason: r.text(6)?,
        created_at: rfc3339(r.int(7)?),
    })
}

/// Moves a refund's money back through the provider that took it.
pub(crate) fn refund(
    c: &mut dyn Conn,
    lc: &Lifecycle,
    now: i64,
    o: &OrderRow,
    lines: Option<Vec<(i64, i64)>>,
    reason: &str,
    actor: Actor<'_>,
) -> AppResult<Refund> {
    if !o.status.can_refund() || o.paid_fen == 0 {
        return Err(AppError::state(format!(
            "a {} order cannot be refunded",
            o.status.as_str()
        )));
    }
    lc.lock(c, &o.id)?;
    let stored = load_lines(c, &o.id)?;
    let states: Vec<LineState> = stored
        .iter()
        .map(|l| LineState {
            unit: Fen::new(l.unit_price_fen),
            quantity: l.quantity as u32,
            refunded_quantity: l.refunded_quantity as u32,
            discount: Fen::new(l.coupon_fen),
        })
        .collect();
    let request: Vec<(usize, u32)> = match lines {
        None => stored
            .iter()
            .enumerate()
            .filter(|(_, l)| l.quantity > l.refunded_quantity)
            .map(|(i, l)| (i, (l.quantity - l.refunded_quantity) as u32))
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
        return Err(AppError::state("nothing is left to refund"));
    }
    let plan = pricing::refund_amount(
        &states,
        Fen::new(o.shipping_fen),
        Fen::new(o.refunded_fen),
        &request,
    )?;
    let provider = o
        .payment_provider
        .clone()
        .ok_or_else(|| AppError::Internal("paid order without provider".into()))?;
    if provider == "wechat" || provider == "alipay" {
        // WeChat Pay and Alipay refunds are asynchronous (requested → succeeded | failed
        // on the provider's word); until that path exists, none is settled here without
        // the provider.
        return Err(AppError::state(
            "refunds of orders paid with WeChat Pay or Alipay are not available yet",
        ));
    }
    let refund_id = new_id();
    let lines_json: Vec<serde_json::Value> = plan
        .per_line
        .iter()
        .map(|(idx, qty, amount)| serde_json::json!({ "line_no": stored[*idx].line_no, "quantity": qty, "amount_fen": amount.get() }))
        .collect();
    c.execute(
        "INSERT INTO refunds (id, order_id, merchant_id, amount_fen, includes_shipping, lines, provider, reason, actor_kind, actor_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        args![&refund_id, &o.id, &o.merchant_id, plan.amount.get(), plan.includes_shipping, serde_json::Value::Array(lines_json).to_string(),
              &provider, reason, actor.kind(), actor.id(), now],
    )?;
    // After completion the money sits in the merchant's available balance: the refund is a
    // clawback from there, as a new entry.
    let from = if o.status == OrderStatus::Completed {
        accounts::merchant_available(&o.merchant_id)?
    } else {
        accounts::merchant_pending(&o.merchant_id)?
    };
    let to = crate::commerce::payments::refund_destination(
        crate::commerce::payments::Provider::parse(&provider)?,
        &o.buyer_id,
    )?;
    if plan.amount.get() > 0 {
        let entry = JournalEntry::transfer(
            format!("refund:{refund_id}"),
            EntryKind::Refund,
            from,
            to,
            plan.amount,
        )?;
        ledger::post(
            c,
            now,
            &entry,
            Refs {
                order_id: Some(&o.id),
                payment_id: None,
                refund_id: Some(&refund_id),
                memo: reason,
            },
            &[],
        )?;
    }
    let goods_before: i64 = stored.iter().map(|l| l.refunded_fen).sum();
    let goods_now: i64 = plan.per_line.iter().map(|(_, _, a)| a.get()).sum();
    commissions::on_refund(
        c,
        now,
        &o.id,
        &o.merchant_id,
        &refund_id,
        goods_before,
        goods_before + goods_now,
    )?;
    let before_fulfilment = matches!(
        o.status,
        OrderStatus::Paid
            | OrderStatus::AwaitingGroup
            | OrderStatus::Fulfilling
            | OrderStatus::ReadyForPickup
    );
    for (idx, qty, amount) in &plan.per_line {
        let line = &stored[*idx];
        c.execute(
            "UPDATE order_lines SET refunded_quantity = refunded_quantity + $1, refunded_fen = refunded_fen + $2 WHERE order_id = $3 AND line_no = $4",
            args![i64::from(*qty), amount.get(), &o.id, line.line_no],
        )?;
        if before_fulfilment {
            inventory::release(c, &o.location_id, &line.sku_id, i64::from(*qty), &o.id, now)?;
        }
    }
    c.execute(
        "UPDATE orders SET refunded_fen = refunded_fen + $1, updated_at = $2 WHERE id = $3",
        args![plan.amount.get(), now, &o.id],
    )?;
    let everything = o.refunded_fen + plan.amount.get() >= o.paid_fen;
    if everything {
        c.execute("UPDATE pickup_codes SET voided_at = $1 WHERE order_id = $2 AND redeemed_at IS NULL AND voided_at IS NULL", args![now, &o.id])?;
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
                "order_id": o.id, "refund_id": refund_id, "amount_fen": plan.amount.get(), "buyer_id": o.buyer_id,
            }),
        )?;
    }
    let r = c.query_one(
        "SELECT id, order_id, amount_fen, includes_shipping, lines, provider, reason, created_at FROM refunds WHERE id = $1",
        args![&refund_id],
    )?;
    refund_from_row(&r)
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
        merchant_id: &str,
        order_id: &str,
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
        merchant_id: &str,
        order_id: &str,
    ) -> AppResult<Vec<Refund>> {
        if self.get_order(who, order_id).await?.merchant_id != merchant_id {
            return Err(AppError::NotFound("order"));
        }
        let oid = order_id.to_owned();
        self.db
            .read(move |c| {
                c.query(
                    "SELECT id, order_id, amount_fen, includes_shipping, lines, provider, reason, created_at FROM refunds WHERE order_id = $1 ORDER BY created_at, id",
                    args![&oid],
                )?
                .iter()
                .map(refund_from_row)
                .collect()
            })
            .await
    }
}
