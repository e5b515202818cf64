//! The console's CSV exports: what a merchant opens in a spreadsheet — the orders (one row
//! per order line, with the order's money, delivery and address), the products (one row per
//! SKU, with its list and tier prices), the distributors (their commission at the shop),
//! the members (phones masked as on the page) and the withdrawals, in Beijing time and 元,
//! statuses and carriers in words. UTF-8 with a byte-order mark so spreadsheet programs
//! read the Chinese; a cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`)
//! is prefixed with `'`.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kith_app::AppError;
use kith_app::platform::page::PageRequest;
use kith_domain::order::OrderStatus;

use super::{OrdersQuery, shop};
use crate::pages::{beijing, yuan_plain};
use crate::{Ctx, Web, WebResult};

/// Most orders one export holds (newest first).
const MAX_EXPORT_ORDERS: usize = 10_000;

/// `GET /console/{mid}/orders.csv?status=`: the orders the list shows, as CSV.
pub(super) async fn orders_csv(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    Query(q): Query<OrdersQuery>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let mid = shop.id.clone();
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(st) => Some(
            OrderStatus::from_db(st)
                .ok_or_else(|| AppError::invalid("status", "is not an order status"))?,
        ),
    };
    // The rows the page shows: the same buyer search.
    let buyer = kith_app::commerce::browse::MemberQuery::parse(&q.q)?;
    let t = c.t;
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let header_row = if c.lang == crate::i18n::Lang::Zh {
        [
            "订单号",
            "下单时间",
            "状态",
            "商品",
            "规格编码",
            "数量",
            "单价(元)",
            "小计(元)",
            "订单实付(元)",
            "运费(元)",
            "已退款(元)",
            "配送方式",
            "收货人",
            "电话",
            "地址",
            "物流公司",
            "运单号",
        ]
    } else {
        [
            "Order",
            "Placed",
            "Status",
            "Product",
            "SKU",
            "Quantity",
            "Unit price (¥)",
            "Line total (¥)",
            "Order paid (¥)",
            "Shipping (¥)",
            "Refunded (¥)",
            "Delivery",
            "Recipient",
            "Phone",
            "Address",
            "Carrier",
            "Tracking no.",
        ]
    };
    w.write_record(header_row).map_err(csv_error)?;
    let mut cursor: Option<String> = None;
    let mut n = 0;
    loop {
        let page = PageRequest::parse(Some(100), cursor.as_deref())?;
        let p = s
            .app
            .merchant_orders(&who, &mid, status, &buyer, page)
            .await?;
        for o in &p.items {
            let delivery = if o.delivery.is_pickup() {
                t.delivery_pickup
            } else {
                t.delivery_shipping
            };
            let (name, phone, address) = match &o.address {
                Some(a) => (
                    a.name.clone(),
                    a.phone.clone(),
                    format!("{}{}{}{}", a.province, a.city, a.district, a.detail),
                ),
                None => Default::default(),
            };
            let carrier = o.carrier.as_deref().map(|c| t.carrier_name(c));
            for l in &o.lines {
                let row = [
                    o.id.to_string(),
                    beijing(&o.created_at),
                    t.order_status(o.status.as_str()).to_owned(),
                    l.product_name.clone(),
                    l.sku_code.clone(),
                    l.quantity.to_string(),
                    yuan_plain(l.unit_price_fen),
                    yuan_plain(l.line_total_fen),
                    yuan_plain(o.paid_fen),
                    yuan_plain(o.shipping_fen),
                    yuan_plain(o.refunded_fen),
                    delivery.to_owned(),
                    name.clone(),
                    phone.clone(),
                    address.clone(),
                    carrier.clone().unwrap_or_default(),
                    o.tracking_no.clone().unwrap_or_default(),
                ];
                w.write_record(row.iter().map(|c| defuse(c)))
                    .map_err(csv_error)?;
            }
        }
        n += p.items.len();
        cursor = p.next_cursor;
        if cursor.is_none() || n >= MAX_EXPORT_ORDERS {
            break;
        }
    }
    let file = format!("orders-{}.csv", &mid[..8.min(mid.len())]);
    csv_file(w, &file)
}

/// `GET /console/{mid}/products.csv`: the products the list shows, one row per SKU, with
/// its list price and each tier's price in 元.
pub(super) async fn products_csv(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let zh = c.lang == crate::i18n::Lang::Zh;
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let header_row = if zh {
        [
            "商品",
            "状态",
            "规格编码",
            "规格",
            "售价(元)",
            "会员价(元)",
            "创建时间",
        ]
    } else {
        [
            "Product",
            "Status",
            "SKU",
            "Options",
            "Price (¥)",
            "Tier prices (¥)",
            "Created",
        ]
    };
    w.write_record(header_row).map_err(csv_error)?;
    let mut cursor: Option<String> = None;
    loop {
        let page = PageRequest::parse(Some(100), cursor.as_deref())?;
        let p = s
            .app
            .list_products(Some(&who), &shop.id, None, page)
            .await?;
        for product in &p.items {
            let status = c.t.product_status(product.status.as_str()).to_owned();
            let created = beijing(&product.created_at);
            // A product without SKUs still has its row.
            let skus: Vec<Option<&_>> = if product.skus.is_empty() {
                vec![None]
            } else {
                product.skus.iter().map(Some).collect()
            };
            for sku in skus {
                let (code, options, price, tiers) = match sku {
                    Some(s) => (
                        s.code.clone(),
                        s.attrs
                            .iter()
                            .map(|(k, v)| format!("{k}: {v}"))
                            .collect::<Vec<_>>()
                            .join("; "),
                        yuan_plain(s.list_price_fen),
                        s.tier_prices
                            .iter()
                            .map(|t| format!("{} {}", t.tier_name, yuan_plain(t.price_fen)))
                            .collect::<Vec<_>>()
                            .join("; "),
                    ),
                    None => Default::default(),
                };
                let row = [
                    product.name.clone(),
                    status.clone(),
                    code,
                    options,
                    price,
                    tiers,
                    created.clone(),
                ];
                w.write_record(row.iter().map(|c| defuse(c)))
                    .map_err(csv_error)?;
            }
        }
        cursor = p.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    let id = shop.id.to_string();
    csv_file(w, &format!("products-{}.csv", &id[..8.min(id.len())]))
}

/// `GET /console/{mid}/distributors.csv`: every distributor's commission at this shop, in 元.
pub(super) async fn distributors_csv(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let rows = s.app.merchant_distributors(&who, &shop.id).await?;
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let header_row = if c.lang == crate::i18n::Lang::Zh {
        [
            "分销员",
            "待结算(元)",
            "冻结中(元)",
            "可提现(元)",
            "合计(元)",
            "带来订单",
            "绑定会员",
        ]
    } else {
        [
            "Distributor",
            "Pending (¥)",
            "Frozen (¥)",
            "Available (¥)",
            "Total (¥)",
            "Orders",
            "Members bound",
        ]
    };
    w.write_record(header_row).map_err(csv_error)?;
    for r in &rows {
        let row = [
            r.display_name.clone(),
            yuan_plain(r.pending_fen),
            yuan_plain(r.frozen_fen),
            yuan_plain(r.available_fen),
            yuan_plain(r.total_fen()),
            r.orders.to_string(),
            r.bound.to_string(),
        ];
        w.write_record(row.iter().map(|c| defuse(c)))
            .map_err(csv_error)?;
    }
    let id = shop.id.to_string();
    csv_file(w, &format!("distributors-{}.csv", &id[..8.min(id.len())]))
}

/// `GET /console/{mid}/members.csv?q=`: the shop's members the page finds (all of them,
/// up to 10,000), the phone masked as on the page.
pub(super) async fn members_csv(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    Query(q): Query<super::members::SearchQuery>,
) -> WebResult<Response> {
    use kith_app::commerce::browse::{MAX_MEMBER_ROWS, MemberQuery};
    let (who, shop) = shop(&c, &mid)?;
    let query = MemberQuery::parse(&q.q)?;
    let rows = s
        .app
        .shop_members(&who, &shop.id, &query, MAX_MEMBER_ROWS)
        .await?;
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let header_row = if c.lang == crate::i18n::Lang::Zh {
        [
            "会员",
            "手机",
            "等级",
            "订单数",
            "消费(元)",
            "首次下单",
            "最近下单",
        ]
    } else {
        [
            "Member",
            "Phone",
            "Tier",
            "Orders",
            "Spent (¥)",
            "First order",
            "Last order",
        ]
    };
    w.write_record(header_row).map_err(csv_error)?;
    for m in &rows {
        let row = [
            m.display_name.clone(),
            m.phone_masked.clone(),
            m.tier_name.clone().unwrap_or_default(),
            m.orders.to_string(),
            yuan_plain(m.spent_fen),
            m.first_order_at.as_deref().map(beijing).unwrap_or_default(),
            m.last_order_at.as_deref().map(beijing).unwrap_or_default(),
        ];
        w.write_record(row.iter().map(|c| defuse(c)))
            .map_err(csv_error)?;
    }
    let id = shop.id.to_string();
    csv_file(w, &format!("members-{}.csv", &id[..8.min(id.len())]))
}

/// `GET /console/{mid}/withdrawals.csv`: the withdrawals the page lists.
pub(super) async fn withdrawals_csv(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let list = s.app.merchant_withdrawals(&who, &shop.id).await?;
    let rows = super::members::named(&s, list).await?;
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let header_row = if c.lang == crate::i18n::Lang::Zh {
        ["会员", "金额(元)", "状态", "申请时间", "处理时间", "备注"]
    } else {
        [
            "Member",
            "Amount (¥)",
            "Status",
            "Requested",
            "Decided",
            "Note",
        ]
    };
    w.write_record(header_row).map_err(csv_error)?;
    for r in &rows {
        let row = [
            r.member.clone(),
            yuan_plain(r.w.amount_fen),
            c.t.withdrawal_status(&r.w.status).to_owned(),
            beijing(&r.w.requested_at),
            r.w.decided_at.as_deref().map(beijing).unwrap_or_default(),
            r.w.note.clone(),
        ];
        w.write_record(row.iter().map(|c| defuse(c)))
            .map_err(csv_error)?;
    }
    let id = shop.id.to_string();
    csv_file(w, &format!("withdrawals-{}.csv", &id[..8.min(id.len())]))
}

/// The CSV written into `w` as a download named `file`.
pub(crate) fn csv_file(w: csv::Writer<Vec<u8>>, file: &str) -> WebResult<Response> {
    let body = w
        .into_inner()
        .map_err(|e| AppError::Internal(format!("csv: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// A cell a spreadsheet would evaluate as a formula, made plain text.
pub(crate) fn defuse(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

pub(crate) fn csv_error(e: csv::Error) -> AppError {
    AppError::Internal(format!("csv: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_money_is_plain() {
        assert_eq!(defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse("高山红茶"), "高山红茶");
        assert_eq!(yuan_plain(1250), "12.50");
        assert_eq!(yuan_plain(-5), "-0.05");
    }
}
