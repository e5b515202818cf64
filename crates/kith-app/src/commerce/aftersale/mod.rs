//! # After-sales the buyer starts: 仅退款 and 退货退款
//!
//! A buyer opens a request on lines of their order (quantities per line, a reason from the
//! fixed list, a description, up to six of their own uploaded photos); the merchant's staff
//! agree or refuse; a return is shipped back and its receipt confirmed; the platform admin
//! arbitrates a refused request the buyer disputes. Deadlines decide for a silent party
//! ([`Deadline`], the `aftersale.deadline` job). The legal moves are
//! [`kith_domain::aftersale::State`]'s.
//!
//! **Why inside commerce, not a context beside it.** After-sales needs commerce's order
//! rows, its lock, its one refund path and its stock; and commerce's completion
//! (`order.complete`) and the merchant's direct refund must ask whether a request is open
//! on the order ([`holds_order`], [`refuse_if_open`]). A context above commerce would make
//! commerce import it — a cycle the dependency rule forbids — so it is a folder of commerce,
//! owning its own tables.
//!
//! Owns (only writer): `aftersale_terms`, `aftersale_requests`, `aftersale_lines`,
//! `aftersale_events`, and `orders.after_sale_paused_left_ms` (the window's time left while
//! a request holds it paused). Writes through commerce's surface: refunds
//! ([`crate::commerce::refunds::refund`], which moves the money back through the order's
//! provider and reverses commission in proportion) and stock ([`inventory::restock_return`]).
//!
//! Every change locks the order row first, then moves the request by a conditional UPDATE
//! on its state, in one transaction with its timeline row and its `aftersale.*` outbox event.
//!
//! Never: moves money itself, or touches the ledger except through the refund path.

mod store;

use kith_domain::aftersale::{self, Decision, Kind, LineStanding, Receipt, State};
use kith_domain::order::OrderStatus;
use kith_domain::{BoundedText, Fen};
use kith_store::{Conn, args};
use serde::{Deserialize, Serialize};

use crate::commerce::inventory;
use crate::commerce::lifecycle::Lifecycle;
use crate::commerce::orders::{Actor, OrderRow, load_lines, lock_order, lock_own_order};
use crate::commerce::refunds;
use crate::events::jobs::{self, ClaimedJob, Job, JobError, JobRegistry};
use crate::platform::auth::{StaffNeed, require_staff};
use crate::platform::ids::{
    AccountId, AftersaleId, MerchantId, OrderId, RefundId, SkuId, new_id, parse_id,
};
use crate::{App, AppError, AppResult, Principal};

use store::{By, ReqRow, find, lines_of, lock, move_to, release};
pub(crate) use store::{holds_order, relink_refund};

/// A request as its buyer, the merchant's staff and the platform admin see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AftersaleRequest {
    pub id: AftersaleId,
    pub order_id: OrderId,
    pub merchant_id: MerchantId,
    pub buyer_id: AccountId,
    pub kind: Kind,
    pub state: State,
    /// One of the fixed reasons (`not_received`, `damaged`, …).
    pub reason: String,
    pub description: String,
    /// Media ids of the buyer's photos.
    pub photos: Vec<String>,
    pub lines: Vec<RequestLine>,
    /// Times a refused request was revised and sent again (at most 2).
    pub resubmissions: i64,
    pub refuse_reason: Option<String>,
    /// Where to send the goods back, shown once the merchant agreed to a return.
    pub return_address: Option<String>,
    pub return_carrier: Option<String>,
    pub return_tracking_no: Option<String>,
    /// When the carrier delivered the return to the merchant, when a tracking provider
    /// follows it: the merchant's receipt deadline counts from then.
    pub return_delivered_at: Option<String>,
    pub restock_location_id: Option<String>,
    pub dispute_note: Option<String>,
    /// `all`, `part` or `nothing` once the platform decided.
    pub decision: Option<String>,
    pub decision_note: Option<String>,
    pub decided_by: Option<AccountId>,
    pub refund_id: Option<RefundId>,
    #[schema(value_type = i64)]
    pub refunded_fen: Fen,
    /// When the party whose turn it is must act by; silence then decides.
    pub deadline_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub ended_at: Option<String>,
    /// Every move, oldest first.
    pub timeline: Vec<AftersaleEvent>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RequestLine {
    pub line_no: i64,
    pub sku_id: SkuId,
    pub product_name: String,
    pub sku_code: String,
    pub quantity: i64,
    /// What these units paid (quantity × the unit price paid).
    #[schema(value_type = i64)]
    pub amount_fen: Fen,
    pub received: Option<i64>,
    pub damaged: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AftersaleEvent {
    pub from_state: Option<String>,
    pub to_state: String,
    /// `buyer`, `staff`, `admin` or `system` (a deadline).
    pub actor_kind: String,
    pub actor_id: Option<AccountId>,
    pub note: String,
    pub at: String,
}

/// One line of a request: which order line, how many units.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineQuantity {
    #[schema(minimum = 1)]
    pub line_no: i64,
    #[schema(minimum = 1)]
    pub quantity: i64,
}

/// What the buyer sends to open (or revise) a request.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenAftersale {
    /// `refund_only` (仅退款) or `return_refund` (退货退款).
    #[schema(schema_with = aftersale_kinds)]
    pub kind: String,
    #[schema(schema_with = aftersale_reasons)]
    pub reason: String,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub description: String,
    /// Up to 6 media ids the buyer uploaded.
    #[serde(default)]
    #[schema(max_items = 6)]
    pub photos: Vec<String>,
    #[schema(min_items = 1)]
    pub lines: Vec<LineQuantity>,
}

/// What the merchant says arrived of one line.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineReceipt {
    pub line_no: i64,
    pub received: i64,
    pub damaged: i64,
}

/// Money back on one line of a request, without units.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineAmount {
    #[schema(minimum = 1)]
    pub line_no: i64,
    /// In fen, at least 1.
    #[schema(minimum = 1)]
    pub amount_fen: i64,
}

/// The platform's decision on a dispute.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideAftersale {
    /// `all`, `part` or `nothing`.
    #[schema(schema_with = decision_outcomes)]
    pub outcome: String,
    /// For `part`: the units to refund per line, each at most what the request named.
    #[serde(default)]
    pub lines: Vec<LineQuantity>,
    /// For `part`, instead of `lines`: money back per line without units (the buyer keeps
    /// the goods), each at most what the line has not given back yet; no stock moves.
    #[serde(default)]
    pub amounts: Vec<LineAmount>,
    /// Why; recorded with who decided.
    #[schema(min_length = 1, max_length = 1000)]
    pub note: String,
}

/// The merchant's after-sale terms.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AftersaleTerms {
    /// Hours the merchant has to answer a request before it is agreed (1–720, default 48).
    #[schema(minimum = 1, maximum = 720)]
    pub answer_hours: i64,
    /// Days the buyer has to ship an agreed return before it closes (1–60, default 7).
    #[schema(minimum = 1, maximum = 60)]
    pub ship_days: i64,
    /// Days the merchant has to confirm a return's receipt after its shipment before it
    /// counts as received undamaged (1–60, default 10).
    #[schema(minimum = 1, maximum = 60)]
    pub receive_days: i64,
    /// Where returns go; shown to the buyer once a return is agreed.
    #[schema(max_length = 300)]
    pub return_address: String,
    /// Whether an order's coupon goes back to the buyer when the order is refunded in full
    /// (default true). A partial refund keeps the coupon used.
    #[serde(default = "yes")]
    pub return_coupon: bool,
}

fn yes() -> bool {
    true
}

/// Whether the merchant gives an order's coupon back when the order is refunded in full.
pub(crate) fn returns_coupon(c: &mut dyn Conn, merchant_id: &str) -> AppResult<bool> {
    Ok(store::terms(c, merchant_id)?.return_coupon)
}

/// The deadline of a request in the state it was scheduled for: the merchant's answer
/// (agreed on silence), the buyer's return shipment or answer to a refusal (closed on
/// silence), the merchant's receipt (received undamaged on silence). A no-op when the
/// request moved on or its deadline moved later.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deadline {
    pub request_id: String,
}

impl Job for Deadline {
    const KIND: &'static str = "aftersale.deadline";
    const MAX_ATTEMPTS: i64 = 5;

    async fn run(self, app: &App, _attempt: &ClaimedJob) -> Result<(), JobError> {
        Ok(app.run_aftersale_deadline(&self.request_id).await?)
    }
}

/// Registers this module's jobs (called once when the [`App`] is built).
pub(crate) fn register_jobs(jobs: &mut JobRegistry) {
    jobs.register::<Deadline>();
}

fn schedule_deadline(c: &mut dyn Conn, now: i64, request_id: &str, at: i64) -> AppResult<()> {
    jobs::enqueue(
        c,
        now,
        &Deadline {
            request_id: request_id.to_owned(),
        },
        at,
    )?;
    Ok(())
}

/// The carrier delivered a request's return to the merchant (a tracking provider's 签收 at
/// `at`, called by `commerce::tracking` in the push's transaction): the merchant's receipt
/// deadline becomes `receive_days` after the delivery instead of after the buyer's entry of
/// the tracking number. Once per request; a no-op unless the return is on its way.
pub(crate) fn return_delivered(
    c: &mut dyn Conn,
    now: i64,
    request_id: &str,
    at: i64,
) -> AppResult<()> {
    let (req, _) = match lock(c, request_id) {
        Err(AppError::NotFound(_)) => return Ok(()),
        other => other?,
    };
    if req.state != State::ReturnShipped {
        return Ok(());
    }
    let terms = store::terms(c, &req.merchant_id)?;
    // A carrier's clock ahead of ours counts as now.
    let due = at.min(now) + terms.receive_ms();
    if store::return_delivered(c, now, &req, at.min(now), due)? {
        schedule_deadline(c, now, &req.id, due)?;
    }
    Ok(())
}

/// A merchant's direct refund is refused (409) while a request is open on a line it names
/// (or on any line, for a full refund): the request is answered instead. The caller holds
/// the order's lock, which every after-sale change takes first, so of the two exactly one
/// wins.
pub(crate) fn refuse_if_open(
    c: &mut dyn Conn,
    order_id: &str,
    lines: Option<&[(i64, i64)]>,
) -> AppResult<()> {
    let open = store::open_units(c, order_id)?;
    let clash = match lines {
        None => open.first().map(|(l, _)| *l),
        Some(ls) => ls
            .iter()
            .find(|(l, _)| open.iter().any(|(o, _)| o == l))
            .map(|(l, _)| *l),
    };
    match clash {
        Some(line) => Err(AppError::state(format!(
            "line {line} has an open after-sale request: answer it instead"
        ))),
        None => Ok(()),
    }
}

struct Parsed {
    kind: Kind,
    reason: &'static str,
    description: String,
    photos: Vec<String>,
    lines: Vec<(i64, i64)>,
}

fn parse_input(input: &OpenAftersale) -> AppResult<Parsed> {
    let kind = Kind::parse(&input.kind)?;
    let reason = aftersale::parse_reason(&input.reason)?;
    let description =
        BoundedText::parse_multiline("description", &input.description, 0, 1000)?.into_string();
    if input.photos.len() > aftersale::MAX_PHOTOS {
        return Err(AppError::invalid("photos", "at most 6 photos"));
    }
    let mut photos = Vec::with_capacity(input.photos.len());
    for (i, p) in input.photos.iter().enumerate() {
        let ok = p.len() == 64
            && p.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !ok || photos.contains(p) {
            return Err(AppError::invalid(
                format!("photos[{i}]"),
                "is not one of your uploaded images",
            ));
        }
        photos.push(p.clone());
    }
    if input.lines.is_empty() {
        return Err(AppError::invalid("lines", "name at least one line"));
    }
    Ok(Parsed {
        kind,
        reason,
        description,
        photos,
        lines: input
            .lines
            .iter()
            .map(|l| (l.line_no, l.quantity))
            .collect(),
    })
}

/// Checks what a request asks against the order as it stands (locked): its state and
/// window, the lines and what is left of them (not counting `except`'s own lines), the
/// photos' ownership.
fn check_against_order(
    c: &mut dyn Conn,
    now: i64,
    o: &OrderRow,
    p: &Parsed,
    buyer: &str,
    except: Option<&str>,
) -> AppResult<()> {
    let fulfilled = matches!(
        o.status,
        OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::PickedUp
    );
    let unshipped = matches!(
        o.status,
        OrderStatus::Fulfilling | OrderStatus::ReadyForPickup
    );
    match (p.kind, fulfilled, unshipped) {
        (_, true, _) | (Kind::RefundOnly, _, true) => {}
        (Kind::ReturnRefund, _, true) => {
            return Err(AppError::invalid(
                "kind",
                "nothing was handed over yet: ask for 仅退款 (refund_only)",
            ));
        }
        _ => {
            return Err(AppError::state(format!(
                "a {} order takes no after-sale request",
                o.status.as_str()
            )));
        }
    }
    if matches!(o.status, OrderStatus::Delivered | OrderStatus::PickedUp) {
        let (ends, paused) = store::window(c, &o.id)?;
        if paused.is_none() && ends.is_some_and(|e| now >= e) {
            return Err(AppError::state(
                "the after-sale window of this order has closed",
            ));
        }
    }
    let stored = load_lines(c, &o.id)?;
    let open = store::open_units(c, &o.id)?;
    let own: Vec<(i64, i64)> = match except {
        Some(id) => lines_of(c, id)?.into_iter().map(|l| (l.0, l.1)).collect(),
        None => Vec::new(),
    };
    let standing: Vec<LineStanding> = stored
        .iter()
        .map(|l| {
            let held: i64 = open
                .iter()
                .filter(|(n, _)| *n == l.line_no)
                .map(|(_, q)| q)
                .sum::<i64>()
                - own
                    .iter()
                    .filter(|(n, _)| *n == l.line_no)
                    .map(|(_, q)| q)
                    .sum::<i64>();
            LineStanding {
                bought: l.quantity as u32,
                // Units a refund in flight holds are as good as refunded.
                refunded: (l.refunded_quantity + l.refunding_quantity) as u32,
                in_open_requests: held.max(0) as u32,
            }
        })
        .collect();
    let mut request = Vec::with_capacity(p.lines.len());
    for (k, (line_no, qty)) in p.lines.iter().enumerate() {
        let idx = stored
            .iter()
            .position(|l| l.line_no == *line_no)
            .ok_or_else(|| {
                AppError::invalid(format!("lines[{k}].line_no"), "is not a line of this order")
            })?;
        let qty = u32::try_from(*qty)
            .map_err(|_| AppError::invalid(format!("lines[{k}].quantity"), "must be at least 1"))?;
        request.push((idx, qty));
    }
    aftersale::check_request(&standing, &request)?;
    for (i, m) in p.photos.iter().enumerate() {
        if !crate::social::media::uploaded_by(c, m, buyer)? {
            return Err(AppError::invalid(
                format!("photos[{i}]"),
                "is not one of your uploaded images",
            ));
        }
    }
    Ok(())
}

/// The refund of a request: `units` are `(line_no, quantity)`, through the order's one
/// refund path. Returns the amount asked for and whether the refund already succeeded (a
/// wallet refund does at once; a provider's is confirmed later, [`on_refund_settled`]).
fn refund_units(
    c: &mut dyn Conn,
    lc: &Lifecycle,
    now: i64,
    req: &ReqRow,
    units: Vec<(i64, i64)>,
    actor: Actor<'_>,
) -> AppResult<(i64, bool)> {
    if units.is_empty() {
        return Ok((0, true));
    }
    refund_request(c, lc, now, req, refunds::Ask::Units(Some(units)), actor)
}

/// Asks for the request's refund (units, or money alone) and links it to the request.
fn refund_request(
    c: &mut dyn Conn,
    lc: &Lifecycle,
    now: i64,
    req: &ReqRow,
    ask: refunds::Ask,
    actor: Actor<'_>,
) -> AppResult<(i64, bool)> {
    let o = lock_order(c, &req.order_id)?;
    let refund = refunds::refund_of(
        c,
        lc,
        now,
        &o,
        ask,
        &format!("after-sale request {}", req.id),
        actor,
    )?;
    store::add_refund(c, &req.id, &refund.id, refund.amount_fen)?;
    Ok((
        refund.amount_fen.get(),
        refund.status == kith_domain::refund::RefundStatus::Succeeded,
    ))
}

/// A refund settled at its provider: a request waiting in `refunding` on it is refunded and
/// ends (on success); on failure it stays `refunding` until staff ask again
/// ([`relink_refund`]).
pub(crate) fn on_refund_settled(
    c: &mut dyn Conn,
    now: i64,
    refund_id: &str,
    succeeded: bool,
) -> AppResult<()> {
    let Some(id) = store::waiting_on(c, refund_id)? else {
        return Ok(());
    };
    let (req, _) = lock(c, &id)?;
    if !succeeded || req.state != State::Refunding {
        return Ok(());
    }
    let done = req.state.refunded()?;
    move_to(
        c,
        now,
        &req,
        req.state,
        done,
        By::System,
        "refund confirmed",
        None,
    )?;
    release(c, now, &req)
}

/// Refunds every unit of the request and ends it: `from` (agreed or returned) → refunding
/// → refunded.
fn refund_all_and_finish(
    c: &mut dyn Conn,
    lc: &Lifecycle,
    now: i64,
    req: &ReqRow,
    from: State,
    by: By<'_>,
    actor: Actor<'_>,
) -> AppResult<()> {
    let refunding = match from {
        State::Agreed => from.after_agreement(req.kind)?,
        _ => from.start_refund()?,
    };
    move_to(c, now, req, from, refunding, by, "", None)?;
    let units: Vec<(i64, i64)> = lines_of(c, &req.id)?
        .into_iter()
        .map(|l| (l.0, l.1))
        .collect();
    let (amount, settled) = refund_units(c, lc, now, req, units, actor)?;
    if !settled {
        // Ends when the provider confirms the refund (on_refund_settled).
        return Ok(());
    }
    let done = refunding.refunded()?;
    move_to(
        c,
        now,
        req,
        refunding,
        done,
        By::System,
        &format!("{amount} fen"),
        None,
    )?;
    release(c, now, req)
}

/// The merchant (or its silence) agrees: a 仅退款 is refunded at once; a return waits for
/// the goods, with the return address shown and the buyer's shipping deadline set.
fn agree(
    c: &mut dyn Conn,
    lc: &Lifecycle,
    now: i64,
    req: &ReqRow,
    by: By<'_>,
    actor: Actor<'_>,
    address: Option<String>,
) -> AppResult<()> {
    let agreed = req.state.agree()?;
    move_to(c, now, req, req.state, agreed, by, "", None)?;
    match req.kind {
        Kind::RefundOnly => refund_all_and_finish(c, lc, now, req, agreed, By::System, actor),
        Kind::ReturnRefund => {
            let terms = store::terms(c, &req.merchant_id)?;
            let address = address
                .filter(|a| !a.trim().is_empty())
                .unwrap_or(terms.return_address.clone());
            store::set_return_address(c, &req.id, &address)?;
            let due = now + terms.ship_ms();
            let next = agreed.after_agreement(req.kind)?;
            move_to(c, now, req, agreed, next, By::System, "", Some(due))?;
            schedule_deadline(c, now, &req.id, due)
        }
    }
}

/// The merchant (or its silence) confirms a return's receipt; the undamaged units go back
/// to `location`, then the money goes back.
#[allow(clippy::too_many_arguments)]
fn receive(
    c: &mut dyn Conn,
    lc: &Lifecycle,
    now: i64,
    req: &ReqRow,
    receipts: &[(i64, Receipt)],
    location: &str,
    by: By<'_>,
    actor: Actor<'_>,
) -> AppResult<()> {
    let returned = req.state.receive()?;
    let o = lock_order(c, &req.order_id)?;
    let stored = load_lines(c, &o.id)?;
    for (line_no, r) in receipts {
        store::set_received(
            c,
            &req.id,
            *line_no,
            i64::from(r.received),
            i64::from(r.damaged),
        )?;
        let back = i64::from(r.restock());
        if back > 0 {
            let sku = &stored
                .iter()
                .find(|l| l.line_no == *line_no)
                .ok_or_else(|| AppError::Internal("request line without order line".into()))?
                .sku_id;
            inventory::restock_return(c, location, sku, back, &o.id, by_id(by), now, &req.id)?;
        }
    }
    store::set_restock_location(c, &req.id, location)?;
    let note: Vec<String> = receipts
        .iter()
        .map(|(l, r)| format!("line {l}: {} received, {} damaged", r.received, r.damaged))
        .collect();
    move_to(c, now, req, req.state, returned, by, &note.join("; "), None)?;
    refund_all_and_finish(c, lc, now, req, returned, By::System, actor)
}

fn by_id(by: By<'_>) -> Option<&str> {
    match by {
        By::Staff(id) | By::Admin(id) | By::Buyer(id) => Some(id),
        By::System => None,
    }
}

/// Ends a request without money (cancelled by the buyer, closed by silence).
fn end_without_refund(
    c: &mut dyn Conn,
    now: i64,
    req: &ReqRow,
    to: State,
    by: By<'_>,
    note: &str,
) -> AppResult<()> {
    move_to(c, now, req, req.state, to, by, note, None)?;
    release(c, now, req)
}

/// A request of the merchant's, or 404.
fn staff_request(
    c: &mut dyn Conn,
    who: &Principal,
    mid: &str,
    id: &str,
) -> AppResult<(ReqRow, OrderRow)> {
    require_staff(c, who, mid, StaffNeed::AnyStaff)?;
    let (req, o) = lock(c, id)?;
    if req.merchant_id != mid {
        return Err(AppError::NotFound("after-sale request"));
    }
    Ok((req, o))
}

/// A request of the buyer's, or 404.
fn buyer_request(c: &mut dyn Conn, who: &Principal, id: &str) -> AppResult<(ReqRow, OrderRow)> {
    let (req, o) = lock(c, id)?;
    if req.buyer_id != who.account_id {
        return Err(AppError::NotFound("after-sale request"));
    }
    Ok((req, o))
}

fn reload(c: &mut dyn Conn, id: &str) -> AppResult<AftersaleRequest> {
    let req = find(c, id)?;
    store::view(c, &req)
}

fn parse_tracking(carrier: &str, tracking_no: &str) -> AppResult<(String, String)> {
    let ok = (2..=16).contains(&carrier.len())
        && carrier
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        return Err(AppError::invalid(
            "carrier",
            "must be a carrier code like sf, zto, sandbox",
        ));
    }
    let t = BoundedText::parse("tracking_no", tracking_no, 4, 40)?.into_string();
    if !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(AppError::invalid(
            "tracking_no",
            "must be letters, digits and -",
        ));
    }
    Ok((carrier.to_owned(), t))
}

impl App {
    /// The buyer opens a request on lines of their order. 404 for another member's order.
    pub async fn open_aftersale(
        &self,
        who: &Principal,
        order_id: &OrderId,
        input: OpenAftersale,
    ) -> AppResult<AftersaleRequest> {
        let oid = order_id.to_string();
        let now = self.now_ms();
        let who = who.clone();
        self.db
            .write(move |c| {
                let o = lock_own_order(c, &oid, &who)?;
                let p = parse_input(&input)?;
                check_against_order(c, now, &o, &p, &who.account_id, None)?;
                let terms = store::terms(c, &o.merchant_id)?;
                let id = new_id();
                let due = now + terms.answer_ms();
                store::insert_request(
                    c,
                    now,
                    &store::NewRequest {
                        id: &id,
                        order_id: &o.id,
                        merchant_id: &o.merchant_id,
                        buyer_id: &who.account_id,
                        kind: p.kind,
                        reason: p.reason,
                        description: &p.description,
                        photos_json: &serde_json::to_string(&p.photos).unwrap_or_default(),
                        deadline: due,
                    },
                )?;
                store::insert_lines(c, &id, &o.id, &p.lines)?;
                store::pause_window(c, now, &o)?;
                let req = find(c, &id)?;
                store::record_opened(c, now, &req, &who.account_id)?;
                schedule_deadline(c, now, &id, due)?;
                store::view(c, &req)
            })
            .await
    }

    /// The buyer revises a refused request and sends it again (at most twice).
    pub async fn revise_aftersale(
        &self,
        who: &Principal,
        request_id: &AftersaleId,
        input: OpenAftersale,
    ) -> AppResult<AftersaleRequest> {
        let id = request_id.to_string();
        let now = self.now_ms();
        let who = who.clone();
        self.db
            .write(move |c| {
                let (req, o) = buyer_request(c, &who, &id)?;
                let p = parse_input(&input)?;
                let next = req.state.resubmit(req.resubmissions)?;
                if p.kind != req.kind {
                    return Err(AppError::invalid(
                        "kind",
                        "a revision keeps the request's kind",
                    ));
                }
                check_against_order(c, now, &o, &p, &who.account_id, Some(&id))?;
                store::delete_lines(c, &id)?;
                store::insert_lines(c, &id, &o.id, &p.lines)?;
                store::revise(
                    c,
                    &id,
                    p.reason,
                    &p.description,
                    &serde_json::to_string(&p.photos).unwrap_or_default(),
                )?;
                let terms = store::terms(c, &req.merchant_id)?;
                let due = now + terms.answer_ms();
                move_to(
                    c,
                    now,
                    &req,
                    req.state,
                    next,
                    By::Buyer(&who.account_id),
                    "revised",
                    Some(due),
                )?;
                schedule_deadline(c, now, &id, due)?;
                reload(c, &id)
            })
            .await
    }

    /// The buyer withdraws a request before the goods or the money moved.
    pub async fn cancel_aftersale(
        &self,
        who: &Principal,
        request_id: &AftersaleId,
    ) -> AppResult<AftersaleRequest> {
        let id = request_id.to_string();
        let now = self.now_ms();
        let who = who.clone();
        self.db
            .write(move |c| {
                let (req, _) = buyer_request(c, &who, &id)?;
                let next = req.state.cancel()?;
                end_without_refund(c, now, &req, next, By::Buyer(&who.account_id), "")?;
                reload(c, &id)
            })
            .await
    }

    /// The buyer enters the return's carrier and tracking number; the merchant then has
    /// `receive_days` to confirm receipt — counted from the carrier's delivery instead when
    /// a tracking provider follows the parcel (`commerce::tracking`).
    pub async fn ship_aftersale_return(
        &self,
        who: &Principal,
        request_id: &AftersaleId,
        carrier: &str,
        tracking_no: &str,
    ) -> AppResult<AftersaleRequest> {
        let (carrier_in, tracking_in) = (carrier.to_owned(), tracking_no.to_owned());
        let id = request_id.to_string();
        let now = self.now_ms();
        let who = who.clone();
        let config = self.config.clone();
        self.db
            .write(move |c| {
                let (req, _) = buyer_request(c, &who, &id)?;
                let (carrier, tracking) = parse_tracking(&carrier_in, &tracking_in)?;
                let next = req.state.ship_return()?;
                store::set_return_shipment(c, &id, &carrier, &tracking)?;
                let terms = store::terms(c, &req.merchant_id)?;
                let due = now + terms.receive_ms();
                move_to(
                    c,
                    now,
                    &req,
                    req.state,
                    next,
                    By::Buyer(&who.account_id),
                    &format!("{carrier} {tracking}"),
                    Some(due),
                )?;
                schedule_deadline(c, now, &id, due)?;
                crate::commerce::tracking::follow_return(
                    c,
                    now,
                    &config,
                    &req.order_id,
                    &id,
                    &carrier,
                    &tracking,
                )?;
                reload(c, &id)
            })
            .await
    }

    /// The buyer asks the platform to arbitrate a refusal.
    pub async fn dispute_aftersale(
        &self,
        who: &Principal,
        request_id: &AftersaleId,
        note: &str,
    ) -> AppResult<AftersaleRequest> {
        let note_in = note.to_owned();
        let id = request_id.to_string();
        let now = self.now_ms();
        let who = who.clone();
        self.db
            .write(move |c| {
                let (req, _) = buyer_request(c, &who, &id)?;
                let note = BoundedText::parse_multiline("note", &note_in, 1, 1000)?.into_string();
                let next = req.state.dispute()?;
                store::set_dispute_note(c, &id, &note)?;
                move_to(
                    c,
                    now,
                    &req,
                    req.state,
                    next,
                    By::Buyer(&who.account_id),
                    &note,
                    None,
                )?;
                reload(c, &id)
            })
            .await
    }

    /// The buyer's requests, newest first (at most 200).
    pub async fn my_aftersales(&self, who: &Principal) -> AppResult<Vec<AftersaleRequest>> {
        let who = who.clone();
        self.db
            .read(move |c| {
                store::views_where(
                    c,
                    "buyer_id = $1 ORDER BY created_at DESC, id LIMIT 200",
                    args![&who.account_id],
                )
            })
            .await
    }

    /// The requests on one order, to its buyer or the merchant's staff.
    pub async fn order_aftersales(
        &self,
        who: &Principal,
        order_id: &OrderId,
    ) -> AppResult<Vec<AftersaleRequest>> {
        let order = self.get_order(who, order_id).await?;
        self.db
            .read(move |c| {
                store::views_where(c, "order_id = $1 ORDER BY created_at, id", args![&order.id])
            })
            .await
    }

    /// One request with its timeline: to its buyer, the merchant's staff or a platform
    /// admin; 404 to anyone else.
    pub async fn get_aftersale(
        &self,
        who: &Principal,
        request_id: &AftersaleId,
    ) -> AppResult<AftersaleRequest> {
        let id = request_id.to_string();
        let who = who.clone();
        self.db
            .read(move |c| {
                let req = find(c, &id)?;
                let allowed = req.buyer_id == who.account_id
                    || who.is_platform_admin
                    || require_staff(c, &who, &req.merchant_id, StaffNeed::AnyStaff).is_ok();
                if !allowed {
                    return Err(AppError::NotFound("after-sale request"));
                }
                store::view(c, &req)
            })
            .await
    }

    /// The merchant's queue: requests (optionally in one state), those whose deadline comes
    /// first at the top, then the newest.
    pub async fn merchant_aftersales(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        state: Option<&str>,
    ) -> AppResult<Vec<AftersaleRequest>> {
        let state = match state {
            None | Some("") => None,
            Some(s) => Some(
                State::from_db(s)
                    .ok_or_else(|| AppError::invalid("state", "is not an after-sale state"))?
                    .as_str(),
            ),
        };
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                store::views_where(
                    c,
                    "merchant_id = $1 AND ($2 = '' OR state = $2)
                     ORDER BY CASE WHEN deadline_at IS NULL THEN 1 ELSE 0 END, deadline_at, created_at DESC, id LIMIT 200",
                    args![&mid, state.unwrap_or("")],
                )
            })
            .await
    }

    /// Staff agree. A 仅退款 is refunded at once through the order's provider; a return
    /// waits for the goods (`return_address` defaults to the merchant's terms).
    pub async fn agree_aftersale(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        request_id: &AftersaleId,
        return_address: Option<String>,
    ) -> AppResult<AftersaleRequest> {
        let id = request_id.to_string();
        let now = self.now_ms();
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        let lc = self.lifecycle.clone();
        self.db
            .write(move |c| {
                let (req, _) = staff_request(c, &who, &mid, &id)?;
                let address = return_address
                    .as_deref()
                    .map(|a| {
                        BoundedText::parse_multiline("return_address", a, 0, 300)
                            .map(BoundedText::into_string)
                    })
                    .transpose()?;
                agree(
                    c,
                    &lc,
                    now,
                    &req,
                    By::Staff(&who.account_id),
                    Actor::Staff(&who.account_id),
                    address,
                )?;
                reload(c, &id)
            })
            .await
    }

    /// Staff refuse, with a reason the buyer sees.
    pub async fn refuse_aftersale(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        request_id: &AftersaleId,
        reason: &str,
    ) -> AppResult<AftersaleRequest> {
        let reason_in = reason.to_owned();
        let id = request_id.to_string();
        let now = self.now_ms();
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .write(move |c| {
                let (req, _) = staff_request(c, &who, &mid, &id)?;
                let reason =
                    BoundedText::parse_multiline("reason", &reason_in, 1, 500)?.into_string();
                let next = req.state.refuse_request()?;
                store::set_refuse_reason(c, &id, &reason)?;
                // The buyer has the shipping days to revise, dispute or cancel; silence closes it.
                let due = now + store::terms(c, &mid)?.ship_ms();
                move_to(
                    c,
                    now,
                    &req,
                    req.state,
                    next,
                    By::Staff(&who.account_id),
                    &reason,
                    Some(due),
                )?;
                schedule_deadline(c, now, &id, due)?;
                reload(c, &id)
            })
            .await
    }

    /// Staff confirm a return's receipt: per line the units received and damaged, and the
    /// location the undamaged ones go back to. Then the money goes back.
    pub async fn receive_aftersale_return(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        request_id: &AftersaleId,
        lines: Vec<LineReceipt>,
        location_id: &str,
    ) -> AppResult<AftersaleRequest> {
        let id = request_id.to_string();
        let loc_in = location_id.to_owned();
        let now = self.now_ms();
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        let lc = self.lifecycle.clone();
        self.db
            .write(move |c| {
                let (req, _) = staff_request(c, &who, &mid, &id)?;
                let loc = parse_id(&loc_in).ok_or_else(|| {
                    AppError::invalid("location_id", "is not a location of this merchant")
                })?;
                req.state.receive()?;
                if !store::is_merchant_location(c, &loc, &mid)? {
                    return Err(AppError::invalid(
                        "location_id",
                        "is not a location of this merchant",
                    ));
                }
                let asked = lines_of(c, &id)?;
                let mut receipts = Vec::with_capacity(asked.len());
                for (k, l) in lines.iter().enumerate() {
                    let (_, qty, _, _) =
                        asked.iter().find(|a| a.0 == l.line_no).ok_or_else(|| {
                            AppError::invalid(
                                format!("lines[{k}].line_no"),
                                "is not a line of this request",
                            )
                        })?;
                    if receipts.iter().any(|(n, _)| *n == l.line_no) {
                        return Err(AppError::invalid(
                            format!("lines[{k}].line_no"),
                            "names a line twice",
                        ));
                    }
                    receipts.push((
                        l.line_no,
                        Receipt::parse(k, *qty as u32, l.received, l.damaged)?,
                    ));
                }
                if receipts.len() != asked.len() {
                    return Err(AppError::invalid("lines", "give every line of the request"));
                }
                receive(
                    c,
                    &lc,
                    now,
                    &req,
                    &receipts,
                    &loc,
                    By::Staff(&who.account_id),
                    Actor::Staff(&who.account_id),
                )?;
                reload(c, &id)
            })
            .await
    }

    /// Platform admins: disputed requests waiting for a decision, oldest first.
    pub async fn disputed_aftersales(&self, who: &Principal) -> AppResult<Vec<AftersaleRequest>> {
        who.require_platform_admin()?;
        self.db
            .read(move |c| {
                store::views_where(
                    c,
                    "state = 'disputed' ORDER BY updated_at, id LIMIT 200",
                    args![],
                )
            })
            .await
    }

    /// A platform admin decides a dispute: refund all, part (units per line, or an amount
    /// per line without units) or nothing. Final; recorded with who and why.
    pub async fn decide_aftersale(
        &self,
        who: &Principal,
        request_id: &AftersaleId,
        input: DecideAftersale,
    ) -> AppResult<AftersaleRequest> {
        who.require_platform_admin()?;
        let note = BoundedText::parse_multiline("note", &input.note, 1, 1000)?.into_string();
        let outcome = input.outcome.clone();
        let decision_lines: Vec<(i64, i64)> = input
            .lines
            .iter()
            .map(|l| (l.line_no, l.quantity))
            .collect();
        if !matches!(outcome.as_str(), "all" | "part" | "nothing") {
            return Err(AppError::invalid("outcome", "must be all, part or nothing"));
        }
        let amounts: Vec<(i64, i64)> = input
            .amounts
            .iter()
            .map(|a| (a.line_no, a.amount_fen))
            .collect();
        if !amounts.is_empty() && (outcome != "part" || !decision_lines.is_empty()) {
            return Err(AppError::invalid(
                "amounts",
                "an amount per line is a part decision's, instead of units",
            ));
        }
        let id = request_id.to_string();
        let now = self.now_ms();
        let who = who.clone();
        let lc = self.lifecycle.clone();
        self.db
            .write(move |c| {
                let (req, _) = lock(c, &id)?;
                let next = req.state.decide()?;
                let asked: Vec<(i64, i64)> =
                    lines_of(c, &id)?.into_iter().map(|l| (l.0, l.1)).collect();
                let idx: Vec<(usize, u32)> = asked
                    .iter()
                    .enumerate()
                    .map(|(i, l)| (i, l.1 as u32))
                    .collect();
                let decision = match outcome.as_str() {
                    "all" => Decision::All,
                    "nothing" => Decision::Nothing,
                    _ => {
                        let mut items = Vec::with_capacity(decision_lines.len());
                        for (k, (line_no, qty)) in decision_lines.iter().enumerate() {
                            let i =
                                asked.iter().position(|a| a.0 == *line_no).ok_or_else(|| {
                                    AppError::invalid(
                                        format!("lines[{k}].line_no"),
                                        "is not a line of this request",
                                    )
                                })?;
                            let q = u32::try_from(*qty).map_err(|_| {
                                AppError::invalid(
                                    format!("lines[{k}].quantity"),
                                    "must be at least 1",
                                )
                            })?;
                            items.push((i, q));
                        }
                        Decision::Part(items)
                    }
                };
                store::set_decision(c, &id, &outcome, &note, &who.account_id)?;
                let (amount, _) = if amounts.is_empty() {
                    let units: Vec<(i64, i64)> = decision
                        .units(&idx)?
                        .into_iter()
                        .map(|(i, q)| (asked[i].0, i64::from(q)))
                        .collect();
                    refund_units(c, &lc, now, &req, units, Actor::System)?
                } else {
                    // Money alone, on lines the request named.
                    for (k, (line_no, _)) in amounts.iter().enumerate() {
                        if !asked.iter().any(|a| a.0 == *line_no) {
                            return Err(AppError::invalid(
                                format!("amounts[{k}].line_no"),
                                "is not a line of this request",
                            ));
                        }
                    }
                    refund_request(
                        c,
                        &lc,
                        now,
                        &req,
                        refunds::Ask::Money(amounts.clone()),
                        Actor::System,
                    )?
                };
                move_to(
                    c,
                    now,
                    &req,
                    req.state,
                    next,
                    By::Admin(&who.account_id),
                    &format!("{outcome}: {note} ({amount} fen)"),
                    None,
                )?;
                release(c, now, &req)?;
                reload(c, &id)
            })
            .await
    }

    /// The merchant's after-sale terms (defaults when never set), to its staff.
    pub async fn aftersale_terms(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
    ) -> AppResult<AftersaleTerms> {
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                let t = store::terms(c, &mid)?;
                Ok(AftersaleTerms {
                    answer_hours: t.answer_hours,
                    ship_days: t.ship_days,
                    receive_days: t.receive_days,
                    return_address: t.return_address,
                    return_coupon: t.return_coupon,
                })
            })
            .await
    }

    /// The merchant's staff set its's after-sale terms.
    pub async fn set_aftersale_terms(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        terms: AftersaleTerms,
    ) -> AppResult<AftersaleTerms> {
        let now = self.now_ms();
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .write(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                if !(1..=720).contains(&terms.answer_hours) {
                    return Err(AppError::invalid("answer_hours", "must be 1–720"));
                }
                if !(1..=60).contains(&terms.ship_days) {
                    return Err(AppError::invalid("ship_days", "must be 1–60"));
                }
                if !(1..=60).contains(&terms.receive_days) {
                    return Err(AppError::invalid("receive_days", "must be 1–60"));
                }
                let address =
                    BoundedText::parse_multiline("return_address", &terms.return_address, 0, 300)?
                        .into_string();
                store::upsert_terms(c, now, &mid, &terms, &address)?;
                Ok(AftersaleTerms {
                    return_address: address.clone(),
                    ..terms.clone()
                })
            })
            .await
    }

    /// The `aftersale.deadline` job: silence decides for the party whose turn it was.
    /// Re-checks the state and the deadline under the order's lock, so running late, twice,
    /// or racing the answer it stands in for changes nothing more than once.
    pub async fn run_aftersale_deadline(&self, request_id: &str) -> AppResult<()> {
        let now = self.now_ms();
        let id = request_id.to_owned();
        let lc = self.lifecycle.clone();
        self.db
            .write(move |c| {
                let (req, o) = match lock(c, &id) {
                    Err(AppError::NotFound(_)) => return Ok(()),
                    other => other?,
                };
                if req.deadline_at.is_none_or(|d| now < d) {
                    return Ok(());
                }
                match req.state {
                    State::Requested => agree(c, &lc, now, &req, By::System, Actor::System, None),
                    State::AwaitingReturn | State::Refused => end_without_refund(
                        c,
                        now,
                        &req,
                        req.state.close()?,
                        By::System,
                        "the buyer did not act in time",
                    ),
                    State::ReturnShipped => {
                        let receipts: Vec<(i64, Receipt)> = lines_of(c, &id)?
                            .into_iter()
                            .map(|l| (l.0, Receipt::silent(l.1 as u32)))
                            .collect();
                        receive(
                            c,
                            &lc,
                            now,
                            &req,
                            &receipts,
                            &o.location_id,
                            By::System,
                            Actor::System,
                        )
                    }
                    _ => Ok(()),
                }
            })
            .await
    }
}

fn aftersale_kinds() -> utoipa::openapi::Object {
    crate::platform::schema::one_of(&["refund_only", "return_refund"])
}

fn aftersale_reasons() -> utoipa::openapi::Object {
    crate::platform::schema::one_of(&kith_domain::aftersale::REASONS)
}

fn decision_outcomes() -> utoipa::openapi::Object {
    crate::platform::schema::one_of(&["all", "part", "nothing"])
}
