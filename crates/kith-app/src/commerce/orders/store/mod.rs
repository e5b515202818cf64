//! The orders' rows: the order's column list and decoder, the lock every transition takes,
//! its lines and the full view, and the small reads checkout and the rules share (the
//! merchant's terms, the buyer's tier, what a line still holds, the "bought" statuses).

use std::borrow::Cow;
use std::sync::LazyLock;

use super::*;
use crate::commerce::store::member_tier;

pub(in crate::commerce) mod fulfilment;
pub(in crate::commerce) mod payments;
pub(in crate::commerce) mod refunds;

/// Order statuses that mean "bought" (paid, not cancelled or fully refunded), as an SQL list.
pub(crate) const BOUGHT: &str = "('paid', 'awaiting_group', 'fulfilling', 'shipped', 'ready_for_pickup', 'delivered', 'picked_up', 'completed')";

/// The merchant's commerce settings, read inside the transaction that uses them.
pub(crate) struct MerchantTerms {
    pub shipping: ShippingRule,
    pub unpaid_timeout_ms: i64,
    pub auto_confirm_ms: i64,
    pub after_sale_ms: i64,
}

pub(crate) fn merchant_terms(c: &mut dyn Conn, merchant_id: &str) -> AppResult<MerchantTerms> {
    let r = c
        .query_opt(
            "SELECT shipping_fee_fen, free_shipping_over_fen, unpaid_timeout_secs, auto_confirm_days, after_sale_days
             FROM merchants WHERE id = $1",
            args![merchant_id],
        )?
        .ok_or(AppError::NotFound("merchant"))?;
    terms_of(&r)
}

/// What checkout reads first, in one statement: the merchant's status word and terms, the
/// id of its warehouse named `warehouse` (None until first used) and the buyer's tier at
/// the merchant (None: none). None when there is no such merchant.
pub(crate) struct CheckoutStart {
    pub status: String,
    pub terms: MerchantTerms,
    pub warehouse: Option<String>,
    pub tier: Option<String>,
}

pub(crate) fn checkout_start(
    c: &mut dyn Conn,
    merchant_id: &str,
    buyer: &str,
    warehouse: &str,
) -> AppResult<Option<CheckoutStart>> {
    c.query_opt(CHECKOUT_START, args![merchant_id, buyer, warehouse])?
        .map(|r| {
            Ok(CheckoutStart {
                status: r.text(5)?,
                terms: terms_of(&r)?,
                warehouse: r.opt_text(6)?,
                tier: r.opt_text(7)?,
            })
        })
        .transpose()
}

/// The warehouse's look-up is `inventory`'s (`locations (merchant_id, kind, name)`), the
/// tier's `member_tier!`'s (as [`buyer_tier`]'s), each as a subquery of the merchant's row.
const CHECKOUT_START: &str = concat!(
    "SELECT m.shipping_fee_fen, m.free_shipping_over_fen, m.unpaid_timeout_secs, m.auto_confirm_days, m.after_sale_days, m.status,
       (SELECT l.id FROM locations l WHERE l.merchant_id = m.id AND l.kind = 'warehouse' AND l.name = $3), ",
    member_tier!("m.id", "$2"),
    " FROM merchants m WHERE m.id = $1"
);

/// Announces [`checkout_start`] ([`Conn::prefetch`]).
pub(crate) fn announce_checkout_start(
    c: &mut dyn Conn,
    merchant_id: &str,
    buyer: &str,
    warehouse: &str,
) -> AppResult<()> {
    Ok(kith_store::prefetch!(
        c,
        CHECKOUT_START,
        merchant_id,
        buyer,
        warehouse
    )?)
}

fn terms_of(r: &Row) -> AppResult<MerchantTerms> {
    Ok(MerchantTerms {
        shipping: ShippingRule {
            flat_fee: Fen::new(r.int(0)?),
            free_over: r.opt_int(1)?.map(Fen::new),
        },
        unpaid_timeout_ms: r.int(2)? * 1000,
        auto_confirm_ms: r.int(3)? * DAY_MS,
        after_sale_ms: r.int(4)? * DAY_MS,
    })
}

kith_store::columns!(pub(crate) OrderCols {
    id,
    merchant_id,
    buyer_id,
    status,
    delivery,
    pickup_store_id,
    tier_code,
    address,
    goods_fen,
    shipping_fen,
    total_fen,
    paid_fen,
    refunded_fen,
    payment_provider,
    carrier,
    tracking_no,
    pay_deadline,
    auto_confirm_at,
    after_sale_ends_at,
    created_at,
    paid_at,
    shipped_at,
    delivered_at,
    completed_at,
    cancelled_at,
    location_id,
    coupon_id,
    coupon_fen,
    activity_id,
    activity_fen,
    flash_slot_id,
    points_used,
    points_fen,
    points_returned,
    points_earned,
    points_reversed,
    kind,
});

/// [`OrderCols`] for `format!` strings.
pub(crate) const ORDER_COLS: &str = OrderCols::LIST;

/// An order row as the rules need it: the named fields are kept current by the lifecycle
/// as it moves the order within a transaction; `row` is the row as read, for views.
#[derive(Clone)]
pub(crate) struct OrderRow {
    pub id: String,
    pub merchant_id: String,
    pub buyer_id: String,
    pub status: OrderStatus,
    pub kind: OrderKind,
    pub delivery: DeliveryMethod,
    pub pickup_store_id: Option<String>,
    pub goods_fen: i64,
    pub total_fen: i64,
    pub paid_fen: i64,
    pub refunded_fen: i64,
    pub shipping_fen: i64,
    pub payment_provider: Option<String>,
    pub pay_deadline: i64,
    pub location_id: String,
    pub coupon_id: Option<String>,
    pub(crate) row: Row,
}

pub(crate) fn order_row(r: Row) -> AppResult<OrderRow> {
    Ok(OrderRow {
        id: r.text(OrderCols::id)?,
        merchant_id: r.text(OrderCols::merchant_id)?,
        buyer_id: r.text(OrderCols::buyer_id)?,
        status: OrderStatus::from_db(&r.text(OrderCols::status)?)
            .ok_or_else(|| AppError::Internal("unknown order status".into()))?,
        kind: OrderKind::from_db(&r.text(OrderCols::kind)?)
            .ok_or_else(|| AppError::Internal("unknown order kind".into()))?,
        delivery: DeliveryMethod::from_db(&r.text(OrderCols::delivery)?)
            .ok_or_else(|| AppError::Internal("unknown delivery".into()))?,
        pickup_store_id: r.opt_text(OrderCols::pickup_store_id)?,
        shipping_fen: r.int(OrderCols::shipping_fen)?,
        goods_fen: r.int(OrderCols::goods_fen)?,
        total_fen: r.int(OrderCols::total_fen)?,
        paid_fen: r.int(OrderCols::paid_fen)?,
        refunded_fen: r.int(OrderCols::refunded_fen)?,
        payment_provider: r.opt_text(OrderCols::payment_provider)?,
        pay_deadline: r.int(OrderCols::pay_deadline)?,
        location_id: r.text(OrderCols::location_id)?,
        coupon_id: r.opt_text(OrderCols::coupon_id)?,
        row: r,
    })
}

/// Loads an order, locking it on PostgreSQL so concurrent transitions serialise.
pub(crate) fn lock_order(c: &mut dyn Conn, order_id: &str) -> AppResult<OrderRow> {
    let r = c
        .query_opt(&lock_order_sql(c), args![order_id])?
        .ok_or(AppError::NotFound("order"))?;
    order_row(r)
}

/// The order by id, locked on PostgreSQL; the text is made once (the lock clause appended
/// only where there is one).
fn lock_order_sql(c: &dyn Conn) -> Cow<'static, str> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {ORDER_COLS} FROM orders WHERE id = $1"));
    match c.for_update() {
        "" => Cow::Borrowed(SQL.as_str()),
        lock => Cow::Owned(format!("{}{lock}", *SQL)),
    }
}

/// Announces [`lock_order`] and the lines [`order_view`] reads, for the view of an order
/// just written ([`Conn::prefetch`]).
pub(crate) fn announce_order_view(c: &mut dyn Conn, order_id: &str) -> AppResult<()> {
    let lock = lock_order_sql(c);
    kith_store::prefetch!(c, &lock, order_id)?;
    Ok(kith_store::prefetch!(c, lines_sql(), order_id)?)
}

/// Locks `order_id` for its buyer: someone else's order answers exactly as an unknown one.
pub(crate) fn lock_own_order(
    c: &mut dyn Conn,
    order_id: &str,
    buyer: &crate::Principal,
) -> AppResult<OrderRow> {
    let o = lock_order(c, order_id)?;
    if o.buyer_id != buyer.account_id {
        return Err(AppError::NotFound("order"));
    }
    Ok(o)
}

kith_store::columns!(LineCols {
    line_no,
    sku_id,
    product_name,
    sku_code,
    attrs,
    quantity,
    unit_price_fen,
    line_total_fen,
    refunded_quantity,
    refunded_fen,
    coupon_fen,
    refunding_quantity,
    refunding_fen,
    activity_fen,
    points_fen,
    points_used,
});

fn lines_sql() -> &'static str {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {} FROM order_lines WHERE order_id = $1 ORDER BY line_no",
            LineCols::LIST
        )
    });
    &SQL
}

pub(crate) fn load_lines(c: &mut dyn Conn, order_id: &str) -> AppResult<Vec<OrderLine>> {
    let fen = |r: &Row, i| r.int(i).map(Fen::new);
    c.query(lines_sql(), args![order_id])?
        .iter()
        .map(|r| {
            Ok(OrderLine {
                line_no: r.int(LineCols::line_no)?,
                sku_id: SkuId::from_row(r.text(LineCols::sku_id)?),
                product_name: r.text(LineCols::product_name)?,
                sku_code: r.text(LineCols::sku_code)?,
                attrs: serde_json::from_str(&r.text(LineCols::attrs)?)
                    .unwrap_or(serde_json::Value::Null),
                quantity: r.int(LineCols::quantity)?,
                unit_price_fen: fen(r, LineCols::unit_price_fen)?,
                line_total_fen: fen(r, LineCols::line_total_fen)?,
                refunded_quantity: r.int(LineCols::refunded_quantity)?,
                refunded_fen: fen(r, LineCols::refunded_fen)?,
                coupon_fen: fen(r, LineCols::coupon_fen)?,
                refunding_quantity: r.int(LineCols::refunding_quantity)?,
                refunding_fen: fen(r, LineCols::refunding_fen)?,
                activity_fen: fen(r, LineCols::activity_fen)?,
                points_fen: fen(r, LineCols::points_fen)?,
                points_used: r.int(LineCols::points_used)?,
            })
        })
        .collect()
}

/// The full view of an order. `for_buyer` adds the pickup code.
pub(crate) fn order_view(c: &mut dyn Conn, o: &OrderRow, for_buyer: bool) -> AppResult<Order> {
    let r = &o.row;
    let (pickup_code, pickup_qr) = if for_buyer && o.status == OrderStatus::ReadyForPickup {
        let code = c
            .query_opt(
                "SELECT code FROM pickup_codes WHERE order_id = $1 AND redeemed_at IS NULL AND voided_at IS NULL",
                args![&o.id],
            )?
            .map(|r| r.text(0))
            .transpose()?;
        let qr = code
            .as_ref()
            .map(|code| format!("kith:pickup:{}:{code}", o.id));
        (code, qr)
    } else {
        (None, None)
    };
    Ok(Order {
        id: OrderId::from_row(o.id.clone()),
        merchant_id: MerchantId::from_row(o.merchant_id.clone()),
        buyer_id: AccountId::from_row(o.buyer_id.clone()),
        status: o.status,
        delivery: o.delivery,
        pickup_store_id: o.pickup_store_id.clone().map(StoreId::from_row),
        batch_id: match o.kind {
            OrderKind::Batch => c
                .query_opt(
                    "SELECT batch_id FROM batch_orders WHERE order_id = $1",
                    args![&o.id],
                )?
                .map(|r| r.text(0).map(BatchId::from_row))
                .transpose()?,
            OrderKind::Plain | OrderKind::Group => None,
        },
        tier_code: r.opt_text(OrderCols::tier_code)?,
        address: r
            .opt_text(OrderCols::address)?
            .and_then(|a| serde_json::from_str(&a).ok()),
        lines: load_lines(c, &o.id)?,
        goods_fen: Fen::new(r.int(OrderCols::goods_fen)?),
        coupon_id: r.opt_text(OrderCols::coupon_id)?.map(CouponId::from_row),
        coupon_fen: Fen::new(r.int(OrderCols::coupon_fen)?),
        activity_id: r
            .opt_text(OrderCols::activity_id)?
            .map(ActivityId::from_row),
        activity_fen: Fen::new(r.int(OrderCols::activity_fen)?),
        flash_slot_id: r.opt_text(OrderCols::flash_slot_id)?,
        points_used: r.int(OrderCols::points_used)?,
        points_fen: Fen::new(r.int(OrderCols::points_fen)?),
        points_returned: r.int(OrderCols::points_returned)?,
        points_earned: r.int(OrderCols::points_earned)?,
        points_reversed: r.int(OrderCols::points_reversed)?,
        shipping_fen: Fen::new(o.shipping_fen),
        total_fen: Fen::new(o.total_fen),
        paid_fen: Fen::new(o.paid_fen),
        refunded_fen: Fen::new(o.refunded_fen),
        payment_provider: o.payment_provider.clone(),
        carrier: r.opt_text(OrderCols::carrier)?,
        tracking_no: r.opt_text(OrderCols::tracking_no)?,
        pickup_code,
        pickup_qr,
        pay_deadline: rfc3339(o.pay_deadline),
        auto_confirm_at: r.opt_int(OrderCols::auto_confirm_at)?.map(rfc3339),
        after_sale_ends_at: r.opt_int(OrderCols::after_sale_ends_at)?.map(rfc3339),
        created_at: rfc3339(r.int(OrderCols::created_at)?),
        paid_at: r.opt_int(OrderCols::paid_at)?.map(rfc3339),
        shipped_at: r.opt_int(OrderCols::shipped_at)?.map(rfc3339),
        delivered_at: r.opt_int(OrderCols::delivered_at)?.map(rfc3339),
        completed_at: r.opt_int(OrderCols::completed_at)?.map(rfc3339),
        cancelled_at: r.opt_int(OrderCols::cancelled_at)?.map(rfc3339),
    })
}

pub(crate) fn lines_remaining(c: &mut dyn Conn, order_id: &str) -> AppResult<Vec<(String, i64)>> {
    c.query(
        "SELECT sku_id, quantity - refunded_quantity FROM order_lines WHERE order_id = $1 AND quantity > refunded_quantity ORDER BY line_no",
        args![order_id],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.int(1)?)))
    .collect()
}

pub(crate) fn buyer_tier(
    c: &mut dyn Conn,
    merchant_id: &str,
    buyer: &str,
) -> AppResult<Option<String>> {
    Ok(c.query_one(BUYER_TIER, args![merchant_id, buyer])?
        .opt_text(0)?)
}

const BUYER_TIER: &str = concat!("SELECT ", member_tier!("$1", "$2"));

/// Announces [`buyer_tier`] ([`Conn::prefetch`]).
pub(crate) fn announce_buyer_tier(
    c: &mut dyn Conn,
    merchant_id: &str,
    buyer: &str,
) -> AppResult<()> {
    Ok(kith_store::prefetch!(c, BUYER_TIER, merchant_id, buyer)?)
}

/// Moves the order from `from` to `to`; false when its status is no longer `from`.
pub(crate) fn set_status(
    c: &mut dyn Conn,
    now: i64,
    order_id: &str,
    from: OrderStatus,
    to: OrderStatus,
) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
        args![to.as_str(), now, order_id, from.as_str()],
    )?;
    Ok(n > 0)
}

/// The event row of a transition.
#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_event(
    c: &mut dyn Conn,
    now: i64,
    order_id: &str,
    from: OrderStatus,
    to: OrderStatus,
    actor_kind: &str,
    actor_id: Option<&str>,
    note: &str,
) -> AppResult<()> {
    c.execute_deferred(
        "INSERT INTO order_events (order_id, from_status, to_status, actor_kind, actor_id, note, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![order_id, from.as_str(), to.as_str(), actor_kind, actor_id, note, now],
    )?;
    Ok(())
}

/// Several event rows of one order in one statement (moves made together, in order):
/// (from, to, actor kind, actor id) each, with no note.
pub(crate) fn insert_events(
    c: &mut dyn Conn,
    now: i64,
    order_id: &str,
    moves: &[(OrderStatus, OrderStatus, &str, Option<&str>)],
) -> AppResult<()> {
    let mut values = Vec::with_capacity(moves.len());
    let mut params: Vec<kith_store::Value> = vec![order_id.into(), now.into()];
    for (i, (from, to, kind, actor)) in moves.iter().enumerate() {
        let b = 3 + 4 * i;
        values.push(format!(
            "($1, ${b}, ${}, ${}, ${}, '', $2)",
            b + 1,
            b + 2,
            b + 3
        ));
        params.extend([
            from.as_str().into(),
            to.as_str().into(),
            (*kind).into(),
            (*actor).into(),
        ]);
    }
    c.execute_deferred(
        &format!(
            "INSERT INTO order_events (order_id, from_status, to_status, actor_kind, actor_id, note, at) VALUES {}",
            values.join(", ")
        ),
        &params,
    )?;
    Ok(())
}

/// The status of the 团长 whose pickup point `store_id` is, when that 团长 is not approved
/// (read here, not through `neighbourhood`, which depends on commerce).
pub(crate) fn unapproved_leader_status(
    c: &mut dyn Conn,
    store_id: &str,
) -> AppResult<Option<String>> {
    c.query_opt(
        "SELECT status FROM leaders WHERE store_id = $1 AND status <> 'approved'",
        args![store_id],
    )?
    .map(|r| r.text(0))
    .transpose()
    .map_err(Into::into)
}

/// A new order's row, as [`super::place`] priced it.
pub(crate) struct NewOrderRow<'a> {
    pub id: &'a str,
    pub merchant_id: &'a str,
    pub buyer: &'a str,
    pub delivery: DeliveryMethod,
    pub location: &'a str,
    pub pickup_store: Option<&'a str>,
    pub tier: Option<&'a str>,
    pub address_json: Option<&'a str>,
    pub goods_fen: Fen,
    pub shipping_fen: Fen,
    pub total_fen: Fen,
    pub deadline: i64,
    pub activity_id: Option<&'a str>,
    pub activity_fen: Fen,
    pub kind: OrderKind,
}

/// A new order's row, under a fresh id: nothing to conflict with, so it goes with the next
/// statement (deferred), as do its lines, its first event and its cart removals.
pub(crate) fn insert_order(c: &mut dyn Conn, now: i64, o: &NewOrderRow<'_>) -> AppResult<()> {
    c.execute_deferred(
        "INSERT INTO orders (id, merchant_id, buyer_id, status, delivery, location_id, pickup_store_id, tier_code, address,
            goods_fen, shipping_fen, total_fen, pay_deadline, created_at, updated_at, activity_id, activity_fen, kind)
         VALUES ($1, $2, $3, 'pending_payment', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15, $16)",
        args![o.id, o.merchant_id, o.buyer, o.delivery.as_str(), o.location, o.pickup_store, o.tier,
              o.address_json, o.goods_fen.get(), o.shipping_fen.get(), o.total_fen.get(), o.deadline, now,
              o.activity_id, o.activity_fen.get(), o.kind.as_str()],
    )?;
    Ok(())
}

/// One line of a new order: what it is, and what it paid.
pub(crate) struct NewLine<'a> {
    pub line_no: i64,
    pub sku: &'a catalog::SkuForCheckout,
    pub quantity: i64,
    pub unit: Fen,
    pub coupon_fen: Fen,
    pub activity_fen: Fen,
    pub points_fen: Fen,
    pub points_used: i64,
}

pub(crate) fn insert_line(c: &mut dyn Conn, order_id: &str, l: &NewLine<'_>) -> AppResult<()> {
    let (sku, q, unit) = (l.sku, l.quantity, l.unit);
    c.execute_deferred(
        "INSERT INTO order_lines (id, order_id, line_no, sku_id, product_name, sku_code, attrs, quantity, unit_price_fen, line_total_fen, coupon_fen, activity_fen, points_fen, points_used)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        args![new_id(), order_id, l.line_no, &sku.sku_id, &sku.product_name, &sku.code, &sku.attrs_json, q, unit.get(), unit.get() * q,
              l.coupon_fen.get(), l.activity_fen.get(), l.points_fen.get(), l.points_used],
    )?;
    Ok(())
}

/// The first event of a new order: placed by its buyer.
pub(crate) fn insert_placed_event(
    c: &mut dyn Conn,
    now: i64,
    order_id: &str,
    buyer: &str,
) -> AppResult<()> {
    c.execute_deferred(
        "INSERT INTO order_events (order_id, from_status, to_status, actor_kind, actor_id, note, at) VALUES ($1, NULL, 'pending_payment', 'buyer', $2, '', $3)",
        args![order_id, buyer, now],
    )?;
    Ok(())
}

/// Locks the buyer's account row on PostgreSQL (NO KEY UPDATE: it does not wait for, or
/// block, rows that merely reference the account).
pub(crate) fn lock_buyer_account(c: &mut dyn Conn, buyer: &str) -> AppResult<()> {
    c.query_opt(LOCK_BUYER_ACCOUNT, args![buyer])?;
    Ok(())
}

const LOCK_BUYER_ACCOUNT: &str = "SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE";

/// Announces [`lock_buyer_account`] then [`unpaid_holdings`] ([`Conn::prefetch`]): sent in
/// that order, the read comes after the lock.
pub(crate) fn announce_locked_holdings(
    c: &mut dyn Conn,
    buyer: &str,
    merchant_id: &str,
) -> AppResult<()> {
    kith_store::prefetch!(c, LOCK_BUYER_ACCOUNT, buyer)?;
    Ok(kith_store::prefetch!(
        c,
        UNPAID_HOLDINGS,
        buyer,
        merchant_id
    )?)
}

/// The buyer's unpaid orders at `merchant_id` and their lines, in one read: (order id,
/// SKU, quantity) per line (an order without lines gives one row with no SKU). Bounded by
/// the unpaid-order limit it serves.
pub(crate) fn unpaid_holdings(
    c: &mut dyn Conn,
    buyer: &str,
    merchant_id: &str,
) -> AppResult<Vec<(String, Option<String>, i64)>> {
    c.query(UNPAID_HOLDINGS, args![buyer, merchant_id])?
        .iter()
        .map(|r| Ok((r.text(0)?, r.opt_text(1)?, r.int(2)?)))
        .collect()
}

const UNPAID_HOLDINGS: &str = "SELECT o.id, l.sku_id, COALESCE(l.quantity, 0) FROM orders o LEFT JOIN order_lines l ON l.order_id = o.id
     WHERE o.buyer_id = $1 AND o.merchant_id = $2 AND o.status = 'pending_payment'";

/// How many unpaid orders `buyer` has at `merchant_id`.
pub(crate) fn unpaid_orders(c: &mut dyn Conn, buyer: &str, merchant_id: &str) -> AppResult<i64> {
    Ok(c
        .query_one(
            "SELECT COUNT(*) FROM orders WHERE buyer_id = $1 AND merchant_id = $2 AND status = 'pending_payment'",
            args![buyer, merchant_id],
        )?
        .int(0)?)
}

/// Takes a SKU the order now holds out of the buyer's cart.
pub(crate) fn remove_from_cart(c: &mut dyn Conn, buyer: &str, sku_id: &str) -> AppResult<()> {
    c.execute_deferred(
        "DELETE FROM cart_items WHERE account_id = $1 AND sku_id = $2",
        args![buyer, sku_id],
    )?;
    Ok(())
}

/// An order by id, unlocked.
pub(crate) fn find_order(c: &mut dyn Conn, order_id: &str) -> AppResult<Option<OrderRow>> {
    c.query_opt(
        &format!("SELECT {ORDER_COLS} FROM orders WHERE id = $1"),
        args![order_id],
    )?
    .map(order_row)
    .transpose()
}

/// The order's transitions, oldest first.
pub(crate) fn events(c: &mut dyn Conn, order_id: &str) -> AppResult<Vec<OrderEvent>> {
    c.query(
        "SELECT from_status, to_status, actor_kind, actor_id, note, at FROM order_events WHERE order_id = $1 ORDER BY id",
        args![order_id],
    )?
    .iter()
    .map(|r| {
        Ok(OrderEvent {
            from_status: r.opt_text(0)?,
            to_status: r.text(1)?,
            actor_kind: r.text(2)?,
            actor_id: r.opt_text(3)?.map(AccountId::from_row),
            note: r.text(4)?,
            at: rfc3339(r.int(5)?),
        })
    })
    .collect()
}

/// A page of orders matching `filter` (whose `$1` is `params[0]`; `$2` the status or ''),
/// newest first, with their creation times.
/// The (mode, needle) pair `orders_page` binds as `$7`/`$8` for a buyer search: `''` for
/// none, `name` (part of the display name, `%` and `_` taken literally), `phone` (whole) or
/// `tail` (its last four digits).
pub(crate) fn buyer_search(q: &crate::commerce::browse::MemberQuery) -> (&'static str, String) {
    use crate::commerce::browse::MemberQuery;
    match q {
        MemberQuery::All => ("", String::new()),
        MemberQuery::Name(part) => (
            "name",
            crate::commerce::store::browse::like_containing(part),
        ),
        MemberQuery::Phone(p) => ("phone", p.clone()),
        MemberQuery::PhoneTail(t) => ("tail", format!("%{t}")),
    }
}

pub(crate) fn orders_page(
    c: &mut dyn Conn,
    filter: &str,
    after_sql: &str,
    params: &[kith_store::Value],
) -> AppResult<Vec<(i64, OrderRow)>> {
    let sql = format!(
        "SELECT {ORDER_COLS} FROM orders WHERE {filter} AND ($2 = '' OR status = $2)
                     AND {}
                     AND ($7 = ''
                          OR ($7 = 'name' AND buyer_id IN
                                (SELECT id FROM accounts WHERE LOWER(display_name) LIKE $8 ESCAPE '\\'))
                          OR ($7 = 'phone' AND buyer_id IN (SELECT id FROM accounts WHERE phone = $8))
                          OR ($7 = 'tail' AND buyer_id IN (SELECT id FROM accounts WHERE phone LIKE $8)))
                     ORDER BY created_at DESC, id DESC LIMIT $6",
        after_sql
    );
    let rows = c.query(&sql, params)?;
    rows.into_iter()
        .map(|r| {
            let created = r.int(OrderCols::created_at)?;
            Ok((created, order_row(r)?))
        })
        .collect()
}

pub(crate) fn set_cancelled_at(c: &mut dyn Conn, now: i64, order_id: &str) -> AppResult<()> {
    c.execute(
        "UPDATE orders SET cancelled_at = $1 WHERE id = $2",
        args![now, order_id],
    )?;
    Ok(())
}

/// Cancels the order's payments still pending.
pub(crate) fn cancel_pending_payments(c: &mut dyn Conn, order_id: &str) -> AppResult<()> {
    c.execute(
        "UPDATE payments SET status = 'cancelled' WHERE order_id = $1 AND status = 'pending'",
        args![order_id],
    )?;
    Ok(())
}
