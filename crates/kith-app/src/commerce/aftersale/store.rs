//! The after-sale context's rows: the request's column list and decoder, its lines and its
//! timeline, the merchant's terms, and the small writes every use case shares (a state
//! move with its timeline row and outbox event, closing a request's lines, the order's
//! paused window).

use kith_domain::aftersale::{Kind, State};
use kith_store::{Conn, Row, args};
use serde::Serialize;

use super::{AftersaleEvent, AftersaleRequest, RequestLine};
use crate::commerce::fulfilment::{Timer, schedule};
use crate::commerce::orders::{DAY_MS, OrderRow, lock_order};
use crate::platform::ids::{AccountId, AftersaleId, MerchantId, OrderId, RefundId, SkuId};
use crate::platform::outbox;
use crate::{AppError, AppResult, rfc3339};
use kith_domain::Fen;
use kith_domain::order::OrderStatus;

kith_store::columns!(pub(super) ReqCols {
    id,
    order_id,
    merchant_id,
    buyer_id,
    kind,
    state,
    reason,
    description,
    photos,
    resubmissions,
    refuse_reason,
    return_address,
    return_carrier,
    return_tracking_no,
    restock_location_id,
    dispute_note,
    decision,
    decision_note,
    decided_by,
    refund_id,
    refunded_fen,
    deadline_at,
    created_at,
    updated_at,
    ended_at,
    return_delivered_at,
});
pub(super) const REQ_COLS: &str = ReqCols::LIST;

/// A request row as the rules need it.
pub(super) struct ReqRow {
    pub id: String,
    pub order_id: String,
    pub merchant_id: String,
    pub buyer_id: String,
    pub kind: Kind,
    pub state: State,
    pub resubmissions: u32,
    pub deadline_at: Option<i64>,
    pub row: Row,
}

pub(super) fn req_row(r: Row) -> AppResult<ReqRow> {
    Ok(ReqRow {
        id: r.text(ReqCols::id)?,
        order_id: r.text(ReqCols::order_id)?,
        merchant_id: r.text(ReqCols::merchant_id)?,
        buyer_id: r.text(ReqCols::buyer_id)?,
        kind: Kind::parse(&r.text(ReqCols::kind)?)?,
        state: State::from_db(&r.text(ReqCols::state)?)
            .ok_or_else(|| AppError::Internal("unknown after-sale state".into()))?,
        resubmissions: u32::try_from(r.int(ReqCols::resubmissions)?).unwrap_or(u32::MAX),
        deadline_at: r.opt_int(ReqCols::deadline_at)?,
        row: r,
    })
}

/// The requests `filter` selects (a `WHERE … ORDER BY … LIMIT …` tail over
/// `aftersale_requests` with its parameters), each as its parties see it.
pub(super) fn views_where(
    c: &mut dyn Conn,
    filter: &str,
    params: &[kith_store::Value],
) -> AppResult<Vec<AftersaleRequest>> {
    let rows = c.query(
        &format!("SELECT {REQ_COLS} FROM aftersale_requests WHERE {filter}"),
        params,
    )?;
    rows.into_iter().map(|r| view(c, &req_row(r)?)).collect()
}

/// Reads a request without a lock (to find its order).
pub(super) fn find(c: &mut dyn Conn, id: &str) -> AppResult<ReqRow> {
    let r = c
        .query_opt(
            &format!("SELECT {REQ_COLS} FROM aftersale_requests WHERE id = $1"),
            args![id],
        )?
        .ok_or(AppError::NotFound("after-sale request"))?;
    req_row(r)
}

/// Locks the request's order — every change to a request and every refund of its order
/// takes that lock first, so they serialise — then reads the request as it now stands.
pub(super) fn lock(c: &mut dyn Conn, id: &str) -> AppResult<(ReqRow, OrderRow)> {
    let first = find(c, id)?;
    let o = lock_order(c, &first.order_id)?;
    Ok((find(c, id)?, o))
}

/// One line of a request: `(line_no, quantity, received, damaged)`.
pub(super) type LineRow = (i64, i64, Option<i64>, Option<i64>);

/// The request's lines.
pub(super) fn lines_of(c: &mut dyn Conn, request_id: &str) -> AppResult<Vec<LineRow>> {
    c.query(
        "SELECT line_no, quantity, received, damaged FROM aftersale_lines WHERE request_id = $1 ORDER BY line_no",
        args![request_id],
    )?
    .iter()
    .map(|r| Ok((r.int(0)?, r.int(1)?, r.opt_int(2)?, r.opt_int(3)?)))
    .collect()
}

/// Units of each line of an order held by open requests: `(line_no, quantity)`.
pub(super) fn open_units(c: &mut dyn Conn, order_id: &str) -> AppResult<Vec<(i64, i64)>> {
    c.query(
        "SELECT line_no, quantity FROM aftersale_lines WHERE order_id = $1 AND open_slot = 1",
        args![order_id],
    )?
    .iter()
    .map(|r| Ok((r.int(0)?, r.int(1)?)))
    .collect()
}

/// Whether any request on the order is open.
pub(crate) fn holds_order(c: &mut dyn Conn, order_id: &str) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM aftersale_lines WHERE order_id = $1 AND open_slot = 1 LIMIT 1",
        args![order_id],
    )?
    .is_some())
}

/// Who moved a request, for its timeline.
#[derive(Debug, Clone, Copy)]
pub(super) enum By<'a> {
    Buyer(&'a str),
    Staff(&'a str),
    Admin(&'a str),
    System,
}

impl By<'_> {
    fn kind(self) -> &'static str {
        match self {
            By::Buyer(_) => "buyer",
            By::Staff(_) => "staff",
            By::Admin(_) => "admin",
            By::System => "system",
        }
    }
    fn id(self) -> Option<String> {
        match self {
            By::Buyer(id) | By::Staff(id) | By::Admin(id) => Some(id.to_owned()),
            By::System => None,
        }
    }
}

/// The outbox topic a move to `to` writes.
fn topic(from: Option<State>, to: State) -> Option<&'static str> {
    Some(match to {
        State::Requested if from.is_none() => "aftersale.requested",
        // A revised request sent again is a new request for the merchant's queue.
        State::Requested => "aftersale.requested",
        State::Agreed => "aftersale.agreed",
        State::Refused => "aftersale.refused",
        State::ReturnShipped => "aftersale.return_shipped",
        State::Returned => "aftersale.returned",
        State::Refunded => "aftersale.refunded",
        State::Cancelled => "aftersale.cancelled",
        // Closed by a deadline (the buyer never shipped the return or answered): not the
        // buyer's withdrawal, so not `cancelled`.
        State::Closed => "aftersale.closed",
        State::Disputed => "aftersale.disputed",
        State::Decided => "aftersale.decided",
        State::AwaitingReturn | State::Refunding => return None,
    })
}

/// Moves a request from `from` to `to`, conditionally on it still being in `from` (so of
/// two racing moves exactly one wins), with its timeline row and outbox event.
#[allow(clippy::too_many_arguments)]
pub(super) fn move_to(
    c: &mut dyn Conn,
    now: i64,
    req: &ReqRow,
    from: State,
    to: State,
    by: By<'_>,
    note: &str,
    deadline: Option<i64>,
) -> AppResult<()> {
    let n = c.execute(
        "UPDATE aftersale_requests SET state = $1, deadline_at = $2, updated_at = $3, ended_at = $4
         WHERE id = $5 AND state = $6",
        args![
            to.as_str(),
            deadline,
            now,
            to.is_final().then_some(now),
            &req.id,
            from.as_str()
        ],
    )?;
    if n == 0 {
        return Err(AppError::state(
            "the after-sale request changed meanwhile; reload it",
        ));
    }
    c.execute(
        "INSERT INTO aftersale_events (request_id, from_state, to_state, actor_kind, actor_id, note, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![&req.id, from.as_str(), to.as_str(), by.kind(), by.id(), note, now],
    )?;
    if let Some(topic) = topic(Some(from), to) {
        emit(c, now, topic, req, to, note)?;
    }
    Ok(())
}

/// The carrier delivered the return (a tracking provider's 签收, at `at`): recorded once,
/// with a timeline row, and the receipt deadline moved to `due`. `false` when the request
/// is no longer waiting for its return or the delivery was recorded before.
pub(super) fn return_delivered(
    c: &mut dyn Conn,
    now: i64,
    req: &ReqRow,
    at: i64,
    due: i64,
) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE aftersale_requests SET return_delivered_at = $2, deadline_at = $3, updated_at = $4
         WHERE id = $1 AND state = $5 AND return_delivered_at IS NULL",
        args![&req.id, at, due, now, State::ReturnShipped.as_str()],
    )?;
    if n == 0 {
        return Ok(false);
    }
    c.execute(
        "INSERT INTO aftersale_events (request_id, from_state, to_state, actor_kind, actor_id, note, at)
         VALUES ($1, $2, $2, 'system', NULL, $3, $4)",
        args![&req.id, State::ReturnShipped.as_str(), "return delivered to the merchant", now],
    )?;
    Ok(true)
}

/// Writes an `aftersale.*` event carrying the buyer and the merchant.
pub(super) fn emit(
    c: &mut dyn Conn,
    now: i64,
    topic: &str,
    req: &ReqRow,
    state: State,
    note: &str,
) -> AppResult<()> {
    #[derive(Serialize)]
    struct Payload<'a> {
        request_id: &'a str,
        order_id: &'a str,
        merchant_id: &'a str,
        buyer_id: &'a str,
        kind: &'a str,
        state: &'a str,
        note: &'a str,
    }
    outbox::emit(
        c,
        now,
        topic,
        Some(&req.merchant_id),
        &req.id,
        &Payload {
            request_id: &req.id,
            order_id: &req.order_id,
            merchant_id: &req.merchant_id,
            buyer_id: &req.buyer_id,
            kind: req.kind.as_str(),
            state: state.as_str(),
            note,
        },
    )?;
    Ok(())
}

/// The first timeline row of a new request.
pub(super) fn record_opened(
    c: &mut dyn Conn,
    now: i64,
    req: &ReqRow,
    buyer: &str,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO aftersale_events (request_id, from_state, to_state, actor_kind, actor_id, note, at)
         VALUES ($1, NULL, 'requested', 'buyer', $2, '', $3)",
        args![&req.id, buyer, now],
    )?;
    if let Some(topic) = topic(None, State::Requested) {
        emit(c, now, topic, req, State::Requested, "")?;
    }
    Ok(())
}

/// The merchant's after-sale terms, with the defaults when it set none.
pub(super) struct Terms {
    pub(super) answer_hours: i64,
    pub(super) ship_days: i64,
    pub(super) receive_days: i64,
    pub(super) return_address: String,
    pub(super) return_coupon: bool,
}

impl Terms {
    pub(super) const DEFAULT: (i64, i64, i64) = (48, 7, 10);

    pub(super) fn answer_ms(&self) -> i64 {
        self.answer_hours * 3600 * 1000
    }
    pub(super) fn ship_ms(&self) -> i64 {
        self.ship_days * DAY_MS
    }
    pub(super) fn receive_ms(&self) -> i64 {
        self.receive_days * DAY_MS
    }
}

pub(super) fn terms(c: &mut dyn Conn, merchant_id: &str) -> AppResult<Terms> {
    let (a, s, r) = Terms::DEFAULT;
    Ok(c.query_opt(
        "SELECT answer_hours, ship_days, receive_days, return_address, return_coupon FROM aftersale_terms WHERE merchant_id = $1",
        args![merchant_id],
    )?
    .map(|row| -> AppResult<Terms> {
        Ok(Terms {
            answer_hours: row.int(0)?,
            ship_days: row.int(1)?,
            receive_days: row.int(2)?,
            return_address: row.text(3)?,
            return_coupon: row.bool(4)?,
        })
    })
    .transpose()?
    .unwrap_or(Terms {
        answer_hours: a,
        ship_days: s,
        receive_days: r,
        return_address: String::new(),
        return_coupon: true,
    }))
}

/// A request opened on an order inside its after-sale window pauses the window: the time
/// left is kept on the order until the last open request ends.
pub(super) fn pause_window(c: &mut dyn Conn, now: i64, o: &OrderRow) -> AppResult<()> {
    if !matches!(o.status, OrderStatus::Delivered | OrderStatus::PickedUp) {
        return Ok(());
    }
    let r = c.query_one(
        "SELECT after_sale_paused_left_ms, after_sale_ends_at FROM orders WHERE id = $1",
        args![&o.id],
    )?;
    if let (None, Some(ends)) = (r.opt_int(0)?, r.opt_int(1)?) {
        c.execute(
            "UPDATE orders SET after_sale_paused_left_ms = $1 WHERE id = $2",
            args![(ends - now).max(0), &o.id],
        )?;
    }
    Ok(())
}

/// A request ended: its lines are free again, and when no other request on the order is
/// open the after-sale window resumes with the time it had left (its completion job is
/// scheduled again; the one that ran while it was paused did nothing).
pub(super) fn release(c: &mut dyn Conn, now: i64, req: &ReqRow) -> AppResult<()> {
    c.execute(
        "UPDATE aftersale_lines SET open_slot = NULL WHERE request_id = $1",
        args![&req.id],
    )?;
    if holds_order(c, &req.order_id)? {
        return Ok(());
    }
    let o = lock_order(c, &req.order_id)?;
    let r = c.query_one(
        "SELECT after_sale_paused_left_ms, after_sale_ends_at FROM orders WHERE id = $1",
        args![&o.id],
    )?;
    let (left, ends) = (r.opt_int(0)?, r.opt_int(1)?);
    c.execute(
        "UPDATE orders SET after_sale_paused_left_ms = NULL WHERE id = $1",
        args![&o.id],
    )?;
    if !matches!(o.status, OrderStatus::Delivered | OrderStatus::PickedUp) {
        return Ok(());
    }
    let ends = match (left, ends) {
        (Some(left), _) => now + left,
        (None, Some(ends)) => ends.max(now),
        (None, None) => return Ok(()),
    };
    c.execute(
        "UPDATE orders SET after_sale_ends_at = $1 WHERE id = $2",
        args![ends, &o.id],
    )?;
    schedule(c, now, Timer::Complete, &o.id, ends)
}

/// The full view of a request: its lines (with what each paid per unit) and its timeline.
pub(super) fn view(c: &mut dyn Conn, req: &ReqRow) -> AppResult<AftersaleRequest> {
    let r = &req.row;
    kith_store::columns!(LineCols {
        "a.line_no" => line_no,
        "l.sku_id" => sku_id,
        "l.product_name" => product_name,
        "l.sku_code" => sku_code,
        "a.quantity" => quantity,
        "l.unit_price_fen" => unit_price_fen,
        "a.received" => received,
        "a.damaged" => damaged,
    });
    let lines = c
        .query(
            &format!(
                "SELECT {} FROM aftersale_lines a JOIN order_lines l ON l.order_id = a.order_id AND l.line_no = a.line_no
                 WHERE a.request_id = $1 ORDER BY a.line_no",
                LineCols::LIST
            ),
            args![&req.id],
        )?
        .iter()
        .map(|l| {
            let quantity = l.int(LineCols::quantity)?;
            Ok(RequestLine {
                line_no: l.int(LineCols::line_no)?,
                sku_id: SkuId::from_row(l.text(LineCols::sku_id)?),
                product_name: l.text(LineCols::product_name)?,
                sku_code: l.text(LineCols::sku_code)?,
                quantity,
                amount_fen: Fen::new(quantity * l.int(LineCols::unit_price_fen)?),
                received: l.opt_int(LineCols::received)?,
                damaged: l.opt_int(LineCols::damaged)?,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let timeline = c
        .query(
            "SELECT from_state, to_state, actor_kind, actor_id, note, at FROM aftersale_events WHERE request_id = $1 ORDER BY id",
            args![&req.id],
        )?
        .iter()
        .map(|e| {
            Ok(AftersaleEvent {
                from_state: e.opt_text(0)?,
                to_state: e.text(1)?,
                actor_kind: e.text(2)?,
                actor_id: e.opt_text(3)?.map(AccountId::from_row),
                note: e.text(4)?,
                at: rfc3339(e.int(5)?),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(AftersaleRequest {
        id: AftersaleId::from_row(req.id.clone()),
        order_id: OrderId::from_row(req.order_id.clone()),
        merchant_id: MerchantId::from_row(req.merchant_id.clone()),
        buyer_id: AccountId::from_row(req.buyer_id.clone()),
        kind: req.kind,
        state: req.state,
        reason: r.text(ReqCols::reason)?,
        description: r.text(ReqCols::description)?,
        photos: serde_json::from_str(&r.text(ReqCols::photos)?).unwrap_or_default(),
        lines,
        resubmissions: i64::from(req.resubmissions),
        refuse_reason: r.opt_text(ReqCols::refuse_reason)?,
        return_address: r.opt_text(ReqCols::return_address)?,
        return_carrier: r.opt_text(ReqCols::return_carrier)?,
        return_tracking_no: r.opt_text(ReqCols::return_tracking_no)?,
        return_delivered_at: r.opt_int(ReqCols::return_delivered_at)?.map(rfc3339),
        restock_location_id: r.opt_text(ReqCols::restock_location_id)?,
        dispute_note: r.opt_text(ReqCols::dispute_note)?,
        decision: r.opt_text(ReqCols::decision)?,
        decision_note: r.opt_text(ReqCols::decision_note)?,
        decided_by: r.opt_text(ReqCols::decided_by)?.map(AccountId::from_row),
        refund_id: r.opt_text(ReqCols::refund_id)?.map(RefundId::from_row),
        refunded_fen: Fen::new(r.int(ReqCols::refunded_fen)?),
        deadline_at: req.deadline_at.map(rfc3339),
        created_at: rfc3339(r.int(ReqCols::created_at)?),
        updated_at: rfc3339(r.int(ReqCols::updated_at)?),
        ended_at: r.opt_int(ReqCols::ended_at)?.map(rfc3339),
        timeline,
    })
}

/// When the order's after-sale window ends, and what was left of it if it is paused.
pub(super) fn window(c: &mut dyn Conn, order_id: &str) -> AppResult<(Option<i64>, Option<i64>)> {
    let r = c.query_one(
        "SELECT after_sale_ends_at, after_sale_paused_left_ms FROM orders WHERE id = $1",
        args![order_id],
    )?;
    Ok((r.opt_int(0)?, r.opt_int(1)?))
}

/// The request's lines (line, units), each taking the line's one open slot: 409 when a line
/// already has an open request.
pub(super) fn insert_lines(
    c: &mut dyn Conn,
    req_id: &str,
    order_id: &str,
    lines: &[(i64, i64)],
) -> AppResult<()> {
    for (line_no, qty) in lines {
        c.execute(
            "INSERT INTO aftersale_lines (request_id, order_id, line_no, quantity, open_slot) VALUES ($1, $2, $3, $4, 1)",
            args![req_id, order_id, *line_no, *qty],
        )
        .map_err(|e| {
            if e.is_unique_on("aftersale_lines", &["order_id", "line_no", "open_slot"]) {
                AppError::conflict("lines", "a line already has an open after-sale request")
            } else {
                e.into()
            }
        })?;
    }
    Ok(())
}

/// The request waits on `refund_id`, which gives back `amount` more.
pub(super) fn add_refund(
    c: &mut dyn Conn,
    id: &str,
    refund_id: &str,
    amount: Fen,
) -> AppResult<()> {
    c.execute(
        "UPDATE aftersale_requests SET refund_id = $1, refunded_fen = refunded_fen + $2 WHERE id = $3",
        args![refund_id, amount.get(), id],
    )?;
    Ok(())
}

/// The request waiting on `refund_id`, if any.
pub(super) fn waiting_on(c: &mut dyn Conn, refund_id: &str) -> AppResult<Option<String>> {
    c.query_opt(
        "SELECT id FROM aftersale_requests WHERE refund_id = $1",
        args![refund_id],
    )?
    .map(|r| r.text(0))
    .transpose()
    .map_err(Into::into)
}

/// Requests waiting on the refund `old` wait on `new` instead.
pub(crate) fn relink_refund(c: &mut dyn Conn, old: &str, new: &str) -> AppResult<()> {
    c.execute(
        "UPDATE aftersale_requests SET refund_id = $1 WHERE refund_id = $2",
        args![new, old],
    )?;
    Ok(())
}

pub(super) fn set_return_address(c: &mut dyn Conn, id: &str, address: &str) -> AppResult<()> {
    c.execute(
        "UPDATE aftersale_requests SET return_address = $1 WHERE id = $2",
        args![address, id],
    )?;
    Ok(())
}

/// What arrived of a line and how much of it was damaged.
pub(super) fn set_received(
    c: &mut dyn Conn,
    id: &str,
    line_no: i64,
    received: i64,
    damaged: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE aftersale_lines SET received = $1, damaged = $2 WHERE request_id = $3 AND line_no = $4",
        args![received, damaged, id, line_no],
    )?;
    Ok(())
}

pub(super) fn set_restock_location(c: &mut dyn Conn, id: &str, location: &str) -> AppResult<()> {
    c.execute(
        "UPDATE aftersale_requests SET restock_location_id = $1 WHERE id = $2",
        args![location, id],
    )?;
    Ok(())
}

/// A request as the buyer opens it.
pub(super) struct NewRequest<'a> {
    pub id: &'a str,
    pub order_id: &'a str,
    pub merchant_id: &'a str,
    pub buyer_id: &'a str,
    pub kind: Kind,
    pub reason: &'a str,
    pub description: &'a str,
    pub photos_json: &'a str,
    pub deadline: i64,
}

pub(super) fn insert_request(c: &mut dyn Conn, now: i64, r: &NewRequest<'_>) -> AppResult<()> {
    c.execute(
        "INSERT INTO aftersale_requests (id, order_id, merchant_id, buyer_id, kind, state, reason, description, photos, deadline_at, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, 'requested', $6, $7, $8, $9, $10, $10)",
        args![r.id, r.order_id, r.merchant_id, r.buyer_id, r.kind.as_str(), r.reason, r.description,
              r.photos_json, r.deadline, now],
    )?;
    Ok(())
}

pub(super) fn delete_lines(c: &mut dyn Conn, id: &str) -> AppResult<()> {
    c.execute(
        "DELETE FROM aftersale_lines WHERE request_id = $1",
        args![id],
    )?;
    Ok(())
}

/// The buyer's revision of the request's words and photos; clears the refusal.
pub(super) fn revise(
    c: &mut dyn Conn,
    id: &str,
    reason: &str,
    description: &str,
    photos_json: &str,
) -> AppResult<()> {
    c.execute(
        "UPDATE aftersale_requests SET reason = $1, description = $2, photos = $3, resubmissions = resubmissions + 1, refuse_reason = NULL WHERE id = $4",
        args![reason, description, photos_json, id],
    )?;
    Ok(())
}

pub(super) fn set_return_shipment(
    c: &mut dyn Conn,
    id: &str,
    carrier: &str,
    tracking_no: &str,
) -> AppResult<()> {
    c.execute(
        "UPDATE aftersale_requests SET return_carrier = $1, return_tracking_no = $2 WHERE id = $3",
        args![carrier, tracking_no, id],
    )?;
    Ok(())
}

pub(super) fn set_dispute_note(c: &mut dyn Conn, id: &str, note: &str) -> AppResult<()> {
    c.execute(
        "UPDATE aftersale_requests SET dispute_note = $1 WHERE id = $2",
        args![note, id],
    )?;
    Ok(())
}

pub(super) fn set_refuse_reason(c: &mut dyn Conn, id: &str, reason: &str) -> AppResult<()> {
    c.execute(
        "UPDATE aftersale_requests SET refuse_reason = $1 WHERE id = $2",
        args![reason, id],
    )?;
    Ok(())
}

/// Whether `location_id` is a location of `merchant_id`.
pub(super) fn is_merchant_location(
    c: &mut dyn Conn,
    location_id: &str,
    merchant_id: &str,
) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM locations WHERE id = $1 AND merchant_id = $2",
        args![location_id, merchant_id],
    )?
    .is_some())
}

/// The arbitration's outcome, its note and who decided.
pub(super) fn set_decision(
    c: &mut dyn Conn,
    id: &str,
    outcome: &str,
    note: &str,
    decided_by: &str,
) -> AppResult<()> {
    c.execute(
        "UPDATE aftersale_requests SET decision = $1, decision_note = $2, decided_by = $3 WHERE id = $4",
        args![outcome, note, decided_by, id],
    )?;
    Ok(())
}

/// Sets the merchant's after-sale terms (`return_address` as checked).
pub(super) fn upsert_terms(
    c: &mut dyn Conn,
    now: i64,
    merchant_id: &str,
    t: &super::AftersaleTerms,
    return_address: &str,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO aftersale_terms (merchant_id, answer_hours, ship_days, receive_days, return_address, return_coupon, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (merchant_id) DO UPDATE SET answer_hours = excluded.answer_hours, ship_days = excluded.ship_days,
                     receive_days = excluded.receive_days, return_address = excluded.return_address, return_coupon = excluded.return_coupon,
                     updated_at = excluded.updated_at",
        args![merchant_id, t.answer_hours, t.ship_days, t.receive_days, return_address, t.return_coupon, now],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{State, topic};

    #[test]
    fn each_end_has_the_event_of_its_own_name() {
        assert_eq!(
            topic(Some(State::Requested), State::Cancelled),
            Some("aftersale.cancelled")
        );
        assert_eq!(
            topic(Some(State::AwaitingReturn), State::Closed),
            Some("aftersale.closed")
        );
        assert_eq!(topic(None, State::Requested), Some("aftersale.requested"));
        assert_eq!(topic(Some(State::Agreed), State::Refunding), None);
    }
}
