//! The merchant console: dashboard, products with SKUs, tier prices and stock, orders
//! (ship, mark ready for pickup, refund), stores with their clerks, communities, and the
//! application to open a shop; the analytics dashboard (charts drawn as SVG by
//! [`crate::charts`]), the commission plan with product overrides, membership tiers, the
//! merchant's distributors with their wallets, and each order's commission split. Every
//! action is the use case's, which checks the caller is staff of *this* merchant (and, for
//! the plan, its owner); a member who is not gets 403.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kith_app::commerce::catalog::{NewSku, ProductInput};
use kith_app::commerce::inventory::Adjustment;
use kith_app::money::commissions::PlanView;
use kith_app::platform::ids::{MerchantId, OrderId, RefundId};
use kith_app::platform::merchants::MerchantInput;
use kith_app::platform::page::PageRequest;
use kith_app::{AppError, Principal};
use kith_domain::commission::PlanInput;
use kith_domain::order::OrderStatus;
use serde::Deserialize;

use crate::charts::{self, Datum, Svg};
use crate::pages::{self, Empty, Shop, opt_int, parse_int, parse_percent, parse_yuan};
use crate::{CsrfForm, Ctx, Web, WebResult, render, see};

mod export;
pub(crate) use export::{csv_error, csv_file, defuse};
mod growth;
pub(crate) mod members;
mod payments;
pub(crate) mod reconcile;
pub(crate) mod settlement;

pub(crate) use growth::Split;

pub fn routes() -> Router<Web> {
    Router::new()
        .route("/console", get(home))
        .route("/console/apply", post(apply))
        .route("/console/{mid}", get(dashboard))
        .route(
            "/console/{mid}/products",
            get(products).post(create_product),
        )
        .route("/console/{mid}/products/{pid}", get(product))
        .route("/console/{mid}/products/{pid}/skus", post(add_sku))
        .route("/console/{mid}/products/{pid}/status", post(product_status))
        .route("/console/{mid}/products/{pid}/prices", post(tier_price))
        .route("/console/{mid}/products/{pid}/stock", post(adjust_stock))
        .route("/console/{mid}/orders", get(orders))
        .route("/console/{mid}/orders.csv", get(export::orders_csv))
        .route("/console/{mid}/products.csv", get(export::products_csv))
        .route(
            "/console/{mid}/distributors.csv",
            get(export::distributors_csv),
        )
        .route("/console/{mid}/members", get(members::members))
        .route("/console/{mid}/members.csv", get(export::members_csv))
        .route("/console/{mid}/members/search", get(members::search))
        .route("/console/{mid}/withdrawals", get(members::withdrawals))
        .route(
            "/console/{mid}/withdrawals.csv",
            get(export::withdrawals_csv),
        )
        .route(
            "/console/{mid}/coupons/{tid}/to-member",
            get(members::coupon_to_member),
        )
        .route("/console/{mid}/orders/{oid}", get(order))
        .route("/console/{mid}/orders/{oid}/ship", post(ship))
        .route("/console/{mid}/orders/{oid}/ready", post(ready))
        .route("/console/{mid}/orders/{oid}/refund", post(refund))
        .route(
            "/console/{mid}/orders/{oid}/refunds/{rid}/retry",
            post(retry_refund),
        )
        .route("/console/{mid}/stores", get(stores).post(create_store))
        .route("/console/{mid}/stores/{sid}/clerks", post(invite_clerk))
        .route("/console/{mid}/communities", get(communities))
        .route("/console/{mid}/payments", get(payments::payments))
        .route("/console/{mid}/payments/wechat", post(payments::set_wechat))
        .route(
            "/console/{mid}/reconcile",
            get(reconcile::reconcile).post(reconcile::run),
        )
        .route("/console/{mid}/settlement", get(settlement::settlement))
        .route("/console/{mid}/payments/alipay", post(payments::set_alipay))
        .route("/console/{mid}/webhooks/{eid}/enable", post(enable_webhook))
        .route("/console/{mid}/insight", get(growth::insight))
        .route(
            "/console/{mid}/commissions",
            get(growth::commissions).post(growth::save_plan),
        )
        .route(
            "/console/{mid}/commissions/overrides",
            post(growth::save_override),
        )
        .route(
            "/console/{mid}/tiers",
            get(growth::tiers).post(growth::create_tier),
        )
        .route("/console/{mid}/tiers/{tid}", post(growth::update_tier))
        .route(
            "/console/{mid}/tiers/{tid}/delete",
            post(growth::delete_tier),
        )
        .route("/console/{mid}/member-tiers", post(growth::assign_tier))
        .route("/console/{mid}/distributors", get(growth::distributors))
        .route(
            "/console/{mid}/distributors/{aid}",
            get(growth::distributor),
        )
}

/// The shop's active SKUs as a form's choices: (SKU id, "product · code · list price"),
/// for the forms that pick SKUs (a group-buy campaign, a 接龙 batch).
pub(crate) async fn sku_choices(
    s: &Web,
    who: &Principal,
    mid: &str,
) -> WebResult<Vec<(String, String)>> {
    Ok(s.app
        .list_products(
            Some(who),
            &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
            Some("active"),
            PageRequest::first(100),
        )
        .await?
        .items
        .into_iter()
        .flat_map(|p| {
            p.skus
                .into_iter()
                .map(|k| {
                    let label = format!(
                        "{} · {} · {}",
                        p.name,
                        k.code,
                        pages::yuan(k.list_price_fen)
                    );
                    (k.id.to_string(), label)
                })
                .collect::<Vec<_>>()
        })
        .collect())
}

/// The merchant of a console page, if the viewer is its staff (403 otherwise; the use
/// cases check again on the resource).
pub(crate) fn shop(c: &Ctx, mid: &str) -> WebResult<(Principal, Shop)> {
    let who = c.principal()?.clone();
    let m = c
        .viewer
        .as_ref()
        .and_then(|v| v.me.staff_of.iter().find(|s| s.merchant_id == *mid))
        .ok_or_else(|| AppError::Forbidden("you are not staff of this merchant".into()))?;
    Ok((
        who,
        Shop {
            id: m.merchant_id.clone(),
            name: m.merchant_name.clone(),
        },
    ))
}

#[derive(Deserialize, Default)]
pub(super) struct HomeQuery {
    applied: Option<String>,
}

pub(super) async fn home(c: Ctx, Query(q): Query<HomeQuery>) -> WebResult<Response> {
    c.principal()?;
    let staff = c
        .viewer
        .as_ref()
        .map(|v| v.me.staff_of.clone())
        .unwrap_or_default();
    // One shop: go straight to it.
    if let [only] = staff.as_slice()
        && only.is_approved()
    {
        return Ok(see(format!("/console/{}", only.merchant_id)));
    }
    Ok(render(&pages::ConsoleHome {
        c,
        applied: q.applied.is_some(),
    })?
    .into_response())
}

#[derive(Deserialize)]
pub(super) struct ApplyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

pub(super) async fn apply(
    State(s): State<Web>,
    c: Ctx,
    CsrfForm(f): CsrfForm<ApplyForm>,
) -> WebResult<Response> {
    s.app
        .apply_merchant(
            c.principal()?,
            MerchantInput {
                name: Some(f.name),
                description: Some(f.description),
                contact_phone: None,
                ..Default::default()
            },
        )
        .await?;
    Ok(see("/console?applied=1"))
}

pub(super) async fn dashboard(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let d = s.app.merchant_dashboard(&who, &shop.id).await?;
    // An endpoint that kept failing was disabled: the merchant is told here, first thing.
    let disabled = kith_app::events::webhooks::list_endpoints(&s.app, &who, &shop.id)
        .await?
        .into_iter()
        .filter(|e| e.is_disabled())
        .collect();
    Ok(render(&pages::ConsoleDash {
        c,
        shop,
        d,
        disabled,
    })?
    .into_response())
}

/// Turns a disabled webhook endpoint back on (after the receiver is fixed).
pub(super) async fn enable_webhook(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, eid)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let eid = kith_app::platform::ids::EndpointId::parse_or_404(&eid)?;
    kith_app::events::webhooks::enable_endpoint(&s.app, &who, &shop.id, &eid).await?;
    Ok(see(format!("/console/{mid}?done=enabled")))
}

pub(super) async fn products(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let products = s
        .app
        .list_products(Some(&who), &shop.id, None, PageRequest::first(100))
        .await?
        .items;
    Ok(render(&pages::ConsoleProducts { c, shop, products })?.into_response())
}

#[derive(Deserialize)]
pub(super) struct ProductForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

pub(super) async fn create_product(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<ProductForm>,
) -> WebResult<Response> {
    let p = s
        .app
        .create_product(
            c.principal()?,
            &kith_app::platform::ids::MerchantId::parse_or_404(&mid)?,
            ProductInput {
                name: Some(f.name),
                description: Some(f.description),
                ..Default::default()
            },
        )
        .await?;
    Ok(see(format!(
        "/console/{mid}/products/{}?done=created",
        p.id
    )))
}

pub(super) async fn product(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, pid)): Path<(String, String)>,
) -> WebResult<Response> {
    product_page(&s, c, &mid, &pid, None).await
}

/// The console's product page; `image_error` says why a picture was just refused (422).
pub(crate) async fn product_page(
    s: &Web,
    c: Ctx,
    mid: &str,
    pid: &str,
    image_error: Option<String>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, mid)?;
    let pid = kith_app::platform::ids::ProductId::parse_or_404(pid)?;
    let p = s.app.get_product(Some(&who), &shop.id, &pid).await?;
    let tiers = s.app.list_tiers(Some(&who), &shop.id).await?;
    let locations = s.app.list_locations(&who, &shop.id).await?;
    let mut stock = Vec::new();
    for sku in &p.skus {
        let levels = s
            .app
            .list_stock(&who, &shop.id, Some(&sku.id), None, PageRequest::first(100))
            .await?
            .items;
        for l in &locations {
            let level = levels.iter().find(|x| x.location_id == l.id);
            stock.push(pages::StockRow {
                sku_id: sku.id.to_string(),
                location_id: l.id.clone(),
                location_name: l.name.clone(),
                on_hand: level.map_or(0, |x| x.on_hand),
                reserved: level.map_or(0, |x| x.reserved),
            });
        }
    }
    let status = if image_error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    Ok((
        status,
        render(&pages::ConsoleProduct {
            c,
            shop,
            p,
            tiers,
            stock,
            image_error,
        })?,
    )
        .into_response())
}

#[derive(Deserialize)]
pub(super) struct SkuForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    spec: String,
    #[serde(default)]
    price: String,
}

pub(super) async fn add_sku(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, pid)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<SkuForm>,
) -> WebResult<Response> {
    let price = parse_yuan("price", &f.price)?;
    let attrs = (!f.spec.trim().is_empty()).then(|| serde_json::json!({ "规格": f.spec.trim() }));
    s.app
        .add_sku(
            c.principal()?,
            &kith_app::platform::ids::MerchantId::parse_or_404(&mid)?,
            &kith_app::platform::ids::ProductId::parse_or_404(&pid)?,
            NewSku {
                code: f.code,
                attrs,
                weight_g: None,
                list_price_fen: price,
            },
        )
        .await?;
    Ok(see(format!("/console/{mid}/products/{pid}?done=created")))
}

#[derive(Deserialize)]
pub(super) struct StatusForm {
    #[serde(default)]
    status: String,
}

pub(super) async fn product_status(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, pid)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<StatusForm>,
) -> WebResult<Response> {
    s.app
        .set_product_status(
            c.principal()?,
            &kith_app::platform::ids::MerchantId::parse_or_404(&mid)?,
            &kith_app::platform::ids::ProductId::parse_or_404(&pid)?,
            &f.status,
        )
        .await?;
    Ok(see(format!("/console/{mid}/products/{pid}?done=saved")))
}

#[derive(Deserialize)]
pub(super) struct PriceForm {
    #[serde(default)]
    sku_id: String,
    #[serde(default)]
    tier: String,
    #[serde(default)]
    price: String,
}

pub(super) async fn tier_price(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, pid)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<PriceForm>,
) -> WebResult<Response> {
    let price = parse_yuan("price", &f.price)?;
    s.app
        .set_tier_price(
            c.principal()?,
            &kith_app::platform::ids::MerchantId::parse_or_404(&mid)?,
            &kith_app::platform::ids::SkuId::parse_or_404(&f.sku_id)?,
            &f.tier,
            price,
        )
        .await?;
    Ok(see(format!("/console/{mid}/products/{pid}?done=saved")))
}

#[derive(Deserialize)]
pub(super) struct StockForm {
    #[serde(default)]
    sku_id: String,
    #[serde(default)]
    location_id: String,
    #[serde(default)]
    delta: String,
}

pub(super) async fn adjust_stock(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, pid)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<StockForm>,
) -> WebResult<Response> {
    let delta = parse_int("delta", &f.delta)?;
    s.app
        .adjust_stock(
            c.principal()?,
            &kith_app::platform::ids::MerchantId::parse_or_404(&mid)?,
            Adjustment {
                sku_id: f.sku_id,
                location_id: f.location_id,
                delta,
                note: Some("console".into()),
            },
        )
        .await?;
    Ok(see(format!("/console/{mid}/products/{pid}?done=saved")))
}

#[derive(Deserialize, Default)]
pub(super) struct OrdersQuery {
    status: Option<String>,
    cursor: Option<String>,
    /// A buyer's name, whole phone or its last four digits.
    #[serde(default)]
    q: String,
}

pub(super) const STATUSES: [&str; 9] = [
    "pending_payment",
    "fulfilling",
    "shipped",
    "ready_for_pickup",
    "delivered",
    "picked_up",
    "completed",
    "cancelled",
    "refunded",
];

pub(super) async fn orders(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    Query(q): Query<OrdersQuery>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let status_text = q.status.unwrap_or_default();
    let status = if status_text.is_empty() {
        None
    } else {
        Some(
            OrderStatus::from_db(&status_text)
                .ok_or_else(|| AppError::invalid("status", "is not an order status"))?,
        )
    };
    let page = PageRequest::parse(Some(30), q.cursor.as_deref().filter(|c| !c.is_empty()))?;
    // A search that cannot be one (a phone of 7 digits) is said beside the box, no rows.
    let buyer = kith_app::commerce::browse::MemberQuery::parse(&q.q).ok();
    let refused = buyer.is_none();
    let p = match &buyer {
        None => kith_app::platform::page::Page {
            items: Vec::new(),
            next_cursor: None,
        },
        Some(buyer) => {
            s.app
                .merchant_orders(&who, &shop.id, status, buyer, page)
                .await?
        }
    };
    Ok(render(&pages::ConsoleOrders {
        c,
        shop,
        q: q.q,
        refused,
        status: status_text,
        statuses: STATUSES.to_vec(),
        orders: p.items,
        next: p.next_cursor,
    })?
    .into_response())
}

pub(super) async fn order(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, oid)): Path<(String, String)>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let (mid, oid) = (shop.id.clone(), OrderId::parse_or_404(&oid)?);
    let o = s.app.get_order(&who, &oid).await?;
    if o.merchant_id != mid {
        return Err(AppError::NotFound("order").into());
    }
    let events = s.app.order_events(&who, &oid).await?;
    let split = Some(growth::order_split(&s, &who, &oid).await?);
    let refunds = pages::refund_rows(s.app.list_refunds(&who, &mid, &oid).await?);
    Ok(render(&pages::ConsoleOrder {
        c,
        shop,
        o,
        events,
        split,
        refunds,
    })?
    .into_response())
}

/// Staff ask a failed refund again (same money, same way back), after a confirmation step.
pub(super) async fn retry_refund(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, oid, rid)): Path<(String, String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let who = c.principal()?;
    let (mid, oid, rid) = (
        MerchantId::parse_or_404(&mid)?,
        OrderId::parse_or_404(&oid)?,
        RefundId::parse_or_404(&rid)?,
    );
    s.app.retry_refund(who, &mid, &oid, &rid).await?;
    Ok(see(format!(
        "/console/{mid}/orders/{oid}?done=refund_retried"
    )))
}

#[derive(Deserialize)]
pub(super) struct ShipForm {
    #[serde(default)]
    carrier: String,
    #[serde(default)]
    tracking_no: String,
}

pub(super) async fn ship(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, oid)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<ShipForm>,
) -> WebResult<Response> {
    let who = c.principal()?;
    let (mid, oid) = (
        MerchantId::parse_or_404(&mid)?,
        OrderId::parse_or_404(&oid)?,
    );
    s.app
        .ship_order(who, &mid, &oid, &f.carrier, &f.tracking_no)
        .await?;
    Ok(see(format!("/console/{mid}/orders/{oid}?done=shipped")))
}

pub(super) async fn ready(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, oid)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let who = c.principal()?;
    let (mid, oid) = (
        MerchantId::parse_or_404(&mid)?,
        OrderId::parse_or_404(&oid)?,
    );
    s.app.mark_ready_for_pickup(who, &mid, &oid).await?;
    Ok(see(format!("/console/{mid}/orders/{oid}?done=ready")))
}

#[derive(Deserialize)]
pub(super) struct RefundForm {
    #[serde(default)]
    reason: String,
}

pub(super) async fn refund(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, oid)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<RefundForm>,
) -> WebResult<Response> {
    let who = c.principal()?;
    let (mid, oid) = (
        MerchantId::parse_or_404(&mid)?,
        OrderId::parse_or_404(&oid)?,
    );
    s.app.refund_order(who, &mid, &oid, None, &f.reason).await?;
    Ok(see(format!("/console/{mid}/orders/{oid}?done=refunded")))
}

pub(super) async fn stores(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
) -> WebResult<Response> {
    stores_page(&s, c, &mid, None).await
}

/// The stores with their clerks; `code` is a clerk invitation just made, shown once.
pub(super) async fn stores_page(
    s: &Web,
    c: Ctx,
    mid: &str,
    code: Option<String>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, mid)?;
    let mut stores = Vec::new();
    for st in s.app.list_stores(Some(&who), &shop.id).await? {
        let clerks = s.app.list_clerks(&who, &shop.id, &st.id).await?;
        stores.push((st, clerks));
    }
    Ok(render(&pages::ConsoleStores {
        c,
        shop,
        stores,
        code,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub(super) struct StoreForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    latitude: String,
    #[serde(default)]
    longitude: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    opens: String,
    #[serde(default)]
    closes: String,
}

pub(super) fn parse_degrees(field: &str, s: &str) -> Result<f64, AppError> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| AppError::invalid(field, "must be a number of degrees, e.g. 26.647"))
}

/// A new store; opening hours, when given, are the same every day of the week.
pub(super) async fn create_store(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<StoreForm>,
) -> WebResult<Response> {
    let hours = match (f.opens.trim(), f.closes.trim()) {
        ("", "") => None,
        (o, cl) => Some(
            (1..=7)
                .map(|d| kith_domain::store::OpeningWindow {
                    weekday: d,
                    opens: o.to_owned(),
                    closes: cl.to_owned(),
                })
                .collect(),
        ),
    };
    s.app
        .create_store(
            c.principal()?,
            &kith_app::platform::ids::MerchantId::parse_or_404(&mid)?,
            kith_app::commerce::stores::StoreInput {
                name: Some(f.name),
                address: Some(f.address),
                latitude: Some(parse_degrees("latitude", &f.latitude)?),
                longitude: Some(parse_degrees("longitude", &f.longitude)?),
                opening_hours: hours,
                phone: Some(f.phone).filter(|p| !p.trim().is_empty()),
            },
        )
        .await?;
    Ok(see(format!("/console/{mid}/stores?done=created")))
}

pub(super) async fn invite_clerk(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, sid)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let inv = s
        .app
        .invite_clerk(
            c.principal()?,
            &kith_app::platform::ids::MerchantId::parse_or_404(&mid)?,
            &kith_app::platform::ids::StoreId::parse_or_404(&sid)?,
        )
        .await?;
    stores_page(&s, c, &mid, inv.code).await
}

pub(super) async fn communities(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let all = s.app.browse_communities(&who).await?;
    let own: Vec<kith_app::platform::ids::CommunityId> =
        s.app.merchant_community_ids(&who, &shop.id).await?;
    let list = all.into_iter().filter(|cm| own.contains(&cm.id)).collect();
    Ok(render(&pages::ConsoleCommunities { c, shop, list })?.into_response())
}

#[cfg(test)]
mod tests {
    use super::growth::*;
    use super::*;

    #[test]
    fn percentages_read_and_print_as_basis_points() {
        assert_eq!(parse_percent("l1", "10").unwrap(), 1000);
        assert_eq!(parse_percent("l1", "2.5").unwrap(), 250);
        assert_eq!(parse_percent("l1", " 0.25 % ").unwrap(), 25);
        assert_eq!(parse_percent("l1", "").unwrap(), 0);
        for bad in ["-1", "1.234", "abc", "1e2"] {
            let e = parse_percent("l1", bad).unwrap_err();
            assert!(e.to_string().starts_with("l1:"), "{bad}: {e}");
        }
        for bp in [0, 5, 25, 250, 1000, 1050, 10_000] {
            assert_eq!(parse_percent("x", &bp_percent(bp)).unwrap(), bp);
        }
        assert_eq!(bp_percent(1050), "10.5");
        assert_eq!(bp_percent(5), "0.05");
    }

    #[test]
    fn ratios_and_measures_print_without_noise() {
        assert_eq!(pct(0.3333), "33.33 %");
        assert_eq!(pct(0.5), "50 %");
        assert_eq!(pct(f64::NAN), "—");
        assert_eq!(dec(1.25), "1.25");
        assert_eq!(dec(0.76431), "0.76");
        assert_eq!(dec(2.0), "2");
        assert_eq!(dec(-0.00001), "0");
        assert_eq!(dec(f64::INFINITY), "—");
    }

    #[test]
    fn use_case_fields_map_to_the_plan_form() {
        assert_eq!(plan_field("levels_bp"), "l1");
        assert_eq!(plan_field("levels_bp[0]"), "l1");
        assert_eq!(plan_field("levels_bp[2]"), "l1");
        assert_eq!(plan_field("levels_bp[1]"), "l2");
        assert_eq!(plan_field("cap_bp"), "cap");
        assert_eq!(plan_field("withdraw_daily_limit_fen"), "withdraw_daily");
        assert_eq!(plan_field("form"), "");
    }
}
