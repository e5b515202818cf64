//! The commerce journeys over HTTP on both engines: tier prices at checkout, wallet and
//! gateway payments with signed callbacks, shipping with carrier tracking to completion,
//! store pickup with a one-time code, refunds, timeouts, and no oversell under load. After
//! each journey the ledger audit must be clean.

use kith_domain::Clock;
use serde_json::{Value, json};

use crate::both_engines;
use crate::builders::{Shop, ShopBuilder};
use crate::harness::{TestApp, User, address};

both_engines!(
    shipping_journey,
    pickup_journey_with_gateway_payment,
    refunds_go_back_through_the_provider,
    unpaid_orders_expire_and_late_payments_return,
    payment_callbacks_are_authenticated_and_idempotent,
    checkout_refuses_bad_input_and_changes_nothing,
    concurrent_checkouts_never_oversell,
    orders_are_private,
    merchant_settings_shape_orders,
    order_lists_page_without_gaps,
);

/// The journeys' shop: 酱香酒坊 with the member and shareholder tiers, a store with a clerk,
/// 十五年坤沙酱香 in two SKUs (¥599, shareholders ¥499; ¥129), `stock` units of each in the
/// warehouse and of the first in the store.
fn winery(t: &TestApp, stock: i64) -> ShopBuilder<'_> {
    t.shop()
        .name("酱香酒坊")
        .tier("member", "会员", 10)
        .tier("shareholder", "股东", 20)
        .store()
        .product("十五年坤沙酱香")
        .sku("JX15-500", "500ml", 59900)
        .sku("JX15-100", "100ml", 12900)
        .tier_price("shareholder", 49900)
        .stock(stock)
}

async fn stock_row(t: &TestApp, shop: &Shop, sku: &str, location: &str) -> (i64, i64) {
    let rows = t
        .get(
            &format!(
                "/api/v1/merchants/{}/stock?sku_id={sku}&location_id={location}",
                shop.merchant
            ),
            Some(&shop.owner.token),
        )
        .await
        .expect(200);
    let row = rows
        .as_array()
        .and_then(|a| a.first())
        .cloned()
        .or_else(|| rows["items"].as_array().and_then(|a| a.first()).cloned())
        .expect("stock row");
    (
        row["on_hand"].as_i64().unwrap(),
        row["reserved"].as_i64().unwrap(),
    )
}

async fn shipping_journey(t: TestApp) {
    let s = winery(&t, 10).build().await;
    let buyer = t.register_member("股东老王").await;
    t.put(
        &format!("/api/v1/merchants/{}/members/{}/tier", s.merchant, buyer.id),
        Some(&s.owner.token),
        json!({ "tier_code": "shareholder" }),
    )
    .await
    .expect(200);
    t.top_up(&buyer, 200_000).await;
    assert_eq!(
        t.get("/api/v1/me/wallet", Some(&buyer.token))
            .await
            .expect(200)["balance_fen"],
        200_000
    );

    // Through the cart: the shareholder pays the shareholder price for 500ml, list for 100ml.
    let cart = |sku: &str| format!("/api/v1/merchants/{}/cart/items/{sku}", s.merchant);
    t.put(&cart(&s.sku), Some(&buyer.token), json!({ "quantity": 2 }))
        .await
        .expect(200);
    let items = t
        .put(
            &cart(&s.skus[1]),
            Some(&buyer.token),
            json!({ "quantity": 1 }),
        )
        .await
        .expect(200);
    assert_eq!(items.as_array().unwrap().len(), 2);
    assert_eq!(items[0]["unit_price_fen"], 49900);
    let order = t
        .post(
            &format!("/api/v1/merchants/{}/checkout", s.merchant),
            Some(&buyer.token),
            json!({ "delivery": "shipping", "address": address() }),
        )
        .await
        .expect(201);
    assert_eq!(order["status"], "pending_payment");
    assert_eq!(order["tier_code"], "shareholder");
    assert_eq!(order["goods_fen"], 2 * 49900 + 12900);
    assert_eq!(
        order["total_fen"],
        order["goods_fen"].as_i64().unwrap() + order["shipping_fen"].as_i64().unwrap()
    );
    let oid = order["id"].as_str().unwrap().to_owned();
    let total = order["total_fen"].as_i64().unwrap();
    assert_eq!(
        t.get(
            &format!("/api/v1/merchants/{}/cart", s.merchant),
            Some(&buyer.token)
        )
        .await
        .expect(200),
        json!([]),
        "the cart was bought"
    );
    assert_eq!(stock_row(&t, &s, &s.sku, &s.warehouse).await, (10, 2));

    let paid = t
        .post(
            &format!("/api/v1/orders/{oid}/pay"),
            Some(&buyer.token),
            json!({ "provider": "wallet" }),
        )
        .await
        .expect(200);
    assert_eq!(paid["order"]["status"], "fulfilling");
    assert_eq!(
        t.get("/api/v1/me/wallet", Some(&buyer.token))
            .await
            .expect(200)["balance_fen"],
        200_000 - total
    );
    // Paying twice is refused.
    t.post(
        &format!("/api/v1/orders/{oid}/pay"),
        Some(&buyer.token),
        json!({ "provider": "wallet" }),
    )
    .await
    .problem(409, None);

    let shipped = t
        .post(
            &format!("/api/v1/merchants/{}/orders/{oid}/ship", s.merchant),
            Some(&s.owner.token),
            json!({ "carrier": "sandbox", "tracking_no": "SBX1234567" }),
        )
        .await
        .expect(200);
    assert_eq!(shipped["status"], "shipped");
    assert_eq!(
        stock_row(&t, &s, &s.sku, &s.warehouse).await,
        (8, 0),
        "shipping commits the reservation"
    );

    let tracking = json!({ "event_id": "trk-1", "tracking_no": "SBX1234567", "status": "delivered", "occurred_at": t.clock.now_ms() });
    let r = t
        .signed_post("/api/v1/carriers/sandbox/callback", &tracking, None)
        .await
        .expect(200);
    assert_eq!(r["outcome"], "delivered");
    let r = t
        .signed_post("/api/v1/carriers/sandbox/callback", &tracking, None)
        .await
        .expect(200);
    assert_eq!(r["outcome"], "duplicate");
    t.signed_post(
        "/api/v1/carriers/sandbox/callback",
        &tracking,
        Some("t=1,v1=00".into()),
    )
    .await
    .problem(401, None);
    assert_eq!(
        t.get(&format!("/api/v1/orders/{oid}"), Some(&buyer.token))
            .await
            .expect(200)["status"],
        "delivered"
    );

    // Not before the after-sale window closes…
    t.clock.advance_secs(6 * 24 * 3600);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    assert_eq!(
        t.get(&format!("/api/v1/orders/{oid}"), Some(&buyer.token))
            .await
            .expect(200)["status"],
        "delivered"
    );
    // …then completed, and the merchant's money becomes available.
    t.clock.advance_secs(24 * 3600 + 1);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    let done = t
        .get(&format!("/api/v1/orders/{oid}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(done["status"], "completed");
    let events = t
        .get(&format!("/api/v1/orders/{oid}/events"), Some(&buyer.token))
        .await
        .expect(200);
    let path: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_status"].as_str().unwrap())
        .collect();
    assert_eq!(
        path,
        [
            "pending_payment",
            "paid",
            "fulfilling",
            "shipped",
            "delivered",
            "completed"
        ]
    );
    let audit = crate::worlds::audit_clean(&t).await;
    assert!(
        audit["entries"].as_i64().unwrap() >= 3,
        "top-up, payment, settlement: {audit}"
    );
}

async fn pickup_journey_with_gateway_payment(t: TestApp) {
    let s = winery(&t, 5).build().await;
    let buyer = t.register_member("自提客").await;
    let order = t
        .post(&format!("/api/v1/merchants/{}/checkout", s.merchant), Some(&buyer.token),
              json!({ "delivery": "pickup", "pickup_store_id": s.pickup().store, "items": [{ "sku_id": s.sku, "quantity": 1 }] }))
        .await
        .expect(201);
    assert_eq!(order["shipping_fen"], 0, "no shipping for pickup");
    let oid = order["id"].as_str().unwrap().to_owned();
    assert_eq!(
        stock_row(&t, &s, &s.sku, &s.pickup().location).await,
        (5, 1),
        "reserved at the store"
    );

    let pay = t
        .post(
            &format!("/api/v1/orders/{oid}/pay"),
            Some(&buyer.token),
            json!({ "provider": "sandbox" }),
        )
        .await
        .expect(200);
    let payment = pay["payment"]["id"].as_str().unwrap().to_owned();
    assert_eq!(pay["payment"]["status"], "pending");
    assert!(matches!(
        t.confirm_on_sandbox(&payment, "succeeded").await,
        200 | 303
    ));
    assert_eq!(
        t.get(&format!("/api/v1/payments/{payment}"), Some(&buyer.token))
            .await
            .expect(200)["status"],
        "succeeded"
    );
    assert_eq!(
        t.get(&format!("/api/v1/orders/{oid}"), Some(&buyer.token))
            .await
            .expect(200)["status"],
        "fulfilling"
    );

    // Shipping a pickup order is an illegal move.
    t.post(
        &format!("/api/v1/merchants/{}/orders/{oid}/ship", s.merchant),
        Some(&s.owner.token),
        json!({ "carrier": "sf", "tracking_no": "SF12345678" }),
    )
    .await
    .problem(409, None);
    t.post(
        &format!("/api/v1/merchants/{}/orders/{oid}/ready", s.merchant),
        Some(&s.owner.token),
        json!({}),
    )
    .await
    .expect(200);
    let mine = t
        .get(&format!("/api/v1/orders/{oid}"), Some(&buyer.token))
        .await
        .expect(200);
    let code = mine["pickup_code"]
        .as_str()
        .expect("the buyer sees the code")
        .to_owned();
    assert_eq!(code.len(), 8);
    assert!(mine["pickup_qr"].as_str().unwrap().ends_with(&code));
    assert!(
        t.get(&format!("/api/v1/orders/{oid}"), Some(&s.owner.token))
            .await
            .expect(200)["pickup_code"]
            .is_null(),
        "staff do not see the code"
    );

    // A clerk of another store (same merchant) cannot redeem, nor can a plain member.
    let other_store = t.store(&s.owner, &s.merchant, "遵义店").await;
    let other_clerk = t.clerk(&s.owner, &s.merchant, &other_store).await;
    t.post(
        &format!("/api/v1/clerk/stores/{}/pickups/redeem", s.pickup().store),
        Some(&other_clerk.token),
        json!({ "code": code }),
    )
    .await
    .problem(403, None);
    t.post(
        &format!("/api/v1/clerk/stores/{other_store}/pickups/redeem"),
        Some(&other_clerk.token),
        json!({ "code": code }),
    )
    .await
    .problem(404, None);
    t.post(
        &format!("/api/v1/clerk/stores/{}/pickups/redeem", s.pickup().store),
        Some(&buyer.token),
        json!({ "code": code }),
    )
    .await
    .problem(403, None);
    t.post(
        &format!("/api/v1/clerk/stores/{}/pickups/redeem", s.pickup().store),
        Some(&s.pickup().clerk.token),
        json!({ "code": "12ab" }),
    )
    .await
    .problem(422, Some("code"));

    let waiting = t
        .get(
            &format!("/api/v1/clerk/stores/{}/pickups", s.pickup().store),
            Some(&s.pickup().clerk.token),
        )
        .await
        .expect(200);
    assert_eq!(waiting.as_array().unwrap().len(), 1);
    let done = t
        .post(
            &format!("/api/v1/clerk/stores/{}/pickups/redeem", s.pickup().store),
            Some(&s.pickup().clerk.token),
            json!({ "code": code }),
        )
        .await
        .expect(200);
    assert_eq!(done["status"], "picked_up");
    t.post(
        &format!("/api/v1/clerk/stores/{}/pickups/redeem", s.pickup().store),
        Some(&s.pickup().clerk.token),
        json!({ "code": code }),
    )
    .await
    .problem(409, None);
    assert_eq!(
        stock_row(&t, &s, &s.sku, &s.pickup().location).await,
        (4, 0),
        "pickup commits the store's stock"
    );
    let events = t
        .get(&format!("/api/v1/orders/{oid}/events"), Some(&buyer.token))
        .await
        .expect(200);
    let redeemed = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["to_status"] == "picked_up")
        .unwrap();
    assert_eq!(redeemed["actor_kind"], "clerk");
    assert_eq!(redeemed["actor_id"], s.pickup().clerk.id.as_str());
    crate::worlds::audit_clean(&t).await;
}

async fn refunds_go_back_through_the_provider(t: TestApp) {
    let s = winery(&t, 10).build().await;
    let buyer = t.register_member("退款客").await;
    t.top_up(&buyer, 100_000).await;
    let order = t
        .post(&format!("/api/v1/merchants/{}/checkout", s.merchant), Some(&buyer.token),
              json!({ "delivery": "pickup", "pickup_store_id": s.pickup().store, "items": [{ "sku_id": s.sku, "quantity": 1 }] }))
        .await
        .expect(201);
    let oid = order["id"].as_str().unwrap().to_owned();
    t.post(
        &format!("/api/v1/orders/{oid}/pay"),
        Some(&buyer.token),
        json!({ "provider": "wallet" }),
    )
    .await
    .expect(200);
    t.post(
        &format!("/api/v1/merchants/{}/orders/{oid}/ready", s.merchant),
        Some(&s.owner.token),
        json!({}),
    )
    .await
    .expect(200);
    let code = t
        .get(&format!("/api/v1/orders/{oid}"), Some(&buyer.token))
        .await
        .expect(200)["pickup_code"]
        .as_str()
        .unwrap()
        .to_owned();

    let refunds = format!("/api/v1/merchants/{}/orders/{oid}/refunds", s.merchant);
    t.post(
        &refunds,
        Some(&s.owner.token),
        json!({ "lines": [{ "line_no": 9, "quantity": 1 }], "reason": "x" }),
    )
    .await
    .problem(422, Some("lines[0].line_no"));
    t.post(
        &refunds,
        Some(&s.owner.token),
        json!({ "lines": [{ "line_no": 1, "quantity": 2 }], "reason": "x" }),
    )
    .await
    .problem(422, None);
    t.post(&refunds, Some(&s.owner.token), json!({ "reason": "" }))
        .await
        .problem(422, Some("reason"));
    t.post(&refunds, Some(&buyer.token), json!({ "reason": "自己退" }))
        .await
        .problem(403, None);
    let r = t
        .post(&refunds, Some(&s.owner.token), json!({ "reason": "缺货" }))
        .await
        .expect(201);
    assert_eq!(r["amount_fen"], 59900);
    assert_eq!(r["provider"], "wallet");
    assert_eq!(
        t.get("/api/v1/me/wallet", Some(&buyer.token))
            .await
            .expect(200)["balance_fen"],
        100_000,
        "the wallet is whole again"
    );
    assert_eq!(
        t.get(&format!("/api/v1/orders/{oid}"), Some(&buyer.token))
            .await
            .expect(200)["status"],
        "refunded"
    );
    assert_eq!(
        stock_row(&t, &s, &s.sku, &s.pickup().location).await,
        (10, 0),
        "the reservation is released"
    );
    // The pickup code died with the refund; refunding again is refused.
    t.post(
        &format!("/api/v1/clerk/stores/{}/pickups/redeem", s.pickup().store),
        Some(&s.pickup().clerk.token),
        json!({ "code": code }),
    )
    .await
    .problem(409, None);
    t.post(&refunds, Some(&s.owner.token), json!({ "reason": "again" }))
        .await
        .problem(409, None);

    // A partial refund of a shipped gateway-paid order goes back to the gateway.
    let order = t
        .post(&format!("/api/v1/merchants/{}/checkout", s.merchant), Some(&buyer.token),
              json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": s.sku, "quantity": 2 }, { "sku_id": s.skus[1], "quantity": 1 }] }))
        .await
        .expect(201);
    let oid = order["id"].as_str().unwrap().to_owned();
    let pay = t
        .post(
            &format!("/api/v1/orders/{oid}/pay"),
            Some(&buyer.token),
            json!({ "provider": "sandbox" }),
        )
        .await
        .expect(200);
    t.confirm_on_sandbox(pay["payment"]["id"].as_str().unwrap(), "succeeded")
        .await;
    t.post(
        &format!("/api/v1/merchants/{}/orders/{oid}/ship", s.merchant),
        Some(&s.owner.token),
        json!({ "carrier": "sandbox", "tracking_no": "SBX-777-1" }),
    )
    .await
    .expect(200);
    let refunds = format!("/api/v1/merchants/{}/orders/{oid}/refunds", s.merchant);
    // The gateway refuses the first attempt (the sandbox fails a refund whose reason says
    // so): the hold on the line is released, nothing else moved, and it is asked again.
    let failing = t
        .post(
            &refunds,
            Some(&s.owner.token),
            json!({ "lines": [{ "line_no": 2, "quantity": 1 }], "reason": "破损 [sandbox:fail]" }),
        )
        .await
        .expect(201);
    assert_eq!(failing["status"], "requested");
    // While it is in flight its unit is held: the line's one unit cannot be asked twice.
    t.post(
        &refunds,
        Some(&s.owner.token),
        json!({ "lines": [{ "line_no": 2, "quantity": 1 }], "reason": "再退一次" }),
    )
    .await
    .problem(422, Some("lines[0].quantity"));
    let o = t
        .get(&format!("/api/v1/orders/{oid}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(o["lines"][1]["refunding_quantity"], 1);
    assert_eq!(
        o["refunded_fen"], 0,
        "nothing is booked before the gateway answers"
    );
    let settled = t.settle_refunds(&s.merchant, &oid, &s.owner.token).await;
    assert_eq!(settled[0]["status"], "failed");
    assert!(
        settled[0]["failure_reason"]
            .as_str()
            .unwrap()
            .contains("拒绝")
    );
    let o = t
        .get(&format!("/api/v1/orders/{oid}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(
        o["lines"][1]["refunding_quantity"], 0,
        "the hold is released"
    );
    assert_eq!(
        (o["refunded_fen"].as_i64(), o["status"].as_str()),
        (Some(0), Some("shipped"))
    );
    let fid = failing["id"].as_str().unwrap();
    // Two staff press 重新退款 at the same moment: one new refund, the other is told.
    let retry_url = format!("{refunds}/{fid}/retry");
    let (first, second) = tokio::join!(
        t.post(&retry_url, Some(&s.owner.token), json!({})),
        t.post(&retry_url, Some(&s.owner.token), json!({})),
    );
    let mut answers = [first.status.as_u16(), second.status.as_u16()];
    answers.sort_unstable();
    assert_eq!(answers, [201, 409], "exactly one retry");
    let r = if first.status.as_u16() == 201 {
        first
    } else {
        second
    }
    .expect(201);
    assert_eq!(r["status"], "requested");
    assert_eq!(r["amount_fen"], 12900);
    assert_eq!(r["includes_shipping"], false);
    // A failed refund is asked again once: a second retry would refund the line's other
    // unit.
    t.post(
        &format!("{refunds}/{fid}/retry"),
        Some(&s.owner.token),
        json!({}),
    )
    .await
    .problem(409, None);
    // A refund that did not fail is not asked again.
    let rid = r["id"].as_str().unwrap();
    t.post(
        &format!("{refunds}/{rid}/retry"),
        Some(&s.owner.token),
        json!({}),
    )
    .await
    .problem(409, None);
    let settled = t.settle_refunds(&s.merchant, &oid, &s.owner.token).await;
    assert_eq!(settled[1]["status"], "succeeded");
    assert!(settled[1]["settled_at"].is_string());
    // The confirmation replayed (a gateway retrying its callback) changes nothing.
    let replay = json!({ "event_id": "replayed-1", "refund_id": rid, "status": "failed", "amount_fen": 12900 });
    let answer = t
        .signed_post("/api/v1/refunds/sandbox/callback", &replay, None)
        .await
        .expect(200);
    assert_eq!(answer["outcome"], "duplicate");
    // A forged one is refused.
    t.signed_post(
        "/api/v1/refunds/sandbox/callback",
        &replay,
        Some("t=1,v1=00".into()),
    )
    .await
    .problem(401, None);
    let o = t
        .get(&format!("/api/v1/orders/{oid}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(
        o["status"], "shipped",
        "a partial refund keeps the order moving"
    );
    assert_eq!(o["refunded_fen"], 12900);
    // The rest: everything left, shipping included, so refunds add up to what was paid.
    let r = t
        .post(
            &refunds,
            Some(&s.owner.token),
            json!({ "reason": "整单退" }),
        )
        .await
        .expect(201);
    t.settle_refunds(&s.merchant, &oid, &s.owner.token).await;
    assert_eq!(r["includes_shipping"], true);
    let o = t
        .get(&format!("/api/v1/orders/{oid}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(o["status"], "refunded");
    assert_eq!(o["refunded_fen"], o["paid_fen"]);
    assert_eq!(
        t.get(&refunds, Some(&buyer.token))
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // The route's merchant must be the order's.
    let (other_owner, other) = t.approved_merchant("别家").await;
    t.get(
        &format!("/api/v1/merchants/{other}/orders/{oid}/refunds"),
        Some(&other_owner.token),
    )
    .await
    .problem(404, None);
    t.get(
        &format!("/api/v1/merchants/{other}/orders/{oid}/refunds"),
        Some(&buyer.token),
    )
    .await
    .problem(404, None);
    crate::worlds::audit_clean(&t).await;
}

async fn unpaid_orders_expire_and_late_payments_return(t: TestApp) {
    let s = winery(&t, 3).build().await;
    let buyer = t.register_member("拖延症").await;
    async fn checkout(t: &TestApp, s: &Shop, buyer: &User, n: i64) -> crate::harness::Resp {
        let url = format!("/api/v1/merchants/{}/checkout", s.merchant);
        t.post(&url, Some(&buyer.token), json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": s.sku, "quantity": n }] })).await
    }
    let a = checkout(&t, &s, &buyer, 2).await.expect(201);
    let b = checkout(&t, &s, &buyer, 1).await.expect(201);
    checkout(&t, &s, &buyer, 1)
        .await
        .problem(409, Some("items[0].quantity"));
    let (a, b) = (
        a["id"].as_str().unwrap().to_owned(),
        b["id"].as_str().unwrap().to_owned(),
    );
    // Order b starts a gateway payment but the payer is slow.
    let pay = t
        .post(
            &format!("/api/v1/orders/{b}/pay"),
            Some(&buyer.token),
            json!({ "provider": "sandbox" }),
        )
        .await
        .expect(200);
    let payment = pay["payment"]["id"].as_str().unwrap().to_owned();

    t.clock.advance_secs(29 * 60);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    assert_eq!(
        t.get(&format!("/api/v1/orders/{a}"), Some(&buyer.token))
            .await
            .expect(200)["status"],
        "pending_payment"
    );
    t.clock.advance_secs(60);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    for id in [&a, &b] {
        let o = t
            .get(&format!("/api/v1/orders/{id}"), Some(&buyer.token))
            .await
            .expect(200);
        assert_eq!(o["status"], "cancelled", "{o}");
    }
    assert_eq!(
        stock_row(&t, &s, &s.sku, &s.warehouse).await,
        (3, 0),
        "every reservation released"
    );
    t.post(
        &format!("/api/v1/orders/{a}/pay"),
        Some(&buyer.token),
        json!({ "provider": "wallet" }),
    )
    .await
    .problem(409, None);
    t.post(
        &format!("/api/v1/orders/{a}/cancel"),
        Some(&buyer.token),
        json!({}),
    )
    .await
    .problem(409, None);

    // The gateway page was still open: the late payment is taken and returned at once.
    let body = json!({ "event_id": "late-1", "payment_id": payment, "status": "succeeded", "amount_fen": pay["payment"]["amount_fen"] });
    let r = t
        .signed_post("/api/v1/payments/sandbox/callback", &body, None)
        .await
        .expect(200);
    assert_eq!(r["outcome"], "late_refunded");
    assert_eq!(
        t.get(&format!("/api/v1/orders/{b}"), Some(&buyer.token))
            .await
            .expect(200)["status"],
        "cancelled"
    );
    crate::worlds::audit_clean(&t).await;

    // A buyer may cancel their own unpaid order; it releases stock at once.
    let c = checkout(&t, &s, &buyer, 3).await.expect(201);
    t.post(
        &format!("/api/v1/orders/{}/cancel", c["id"].as_str().unwrap()),
        Some(&buyer.token),
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(stock_row(&t, &s, &s.sku, &s.warehouse).await, (3, 0));
}

async fn payment_callbacks_are_authenticated_and_idempotent(t: TestApp) {
    let s = winery(&t, 5).build().await;
    let buyer = t.register_member("回调").await;
    let o = t
        .post(&format!("/api/v1/merchants/{}/checkout", s.merchant), Some(&buyer.token), json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": s.skus[1], "quantity": 1 }] }))
        .await
        .expect(201);
    let oid = o["id"].as_str().unwrap().to_owned();
    let pay = t
        .post(
            &format!("/api/v1/orders/{oid}/pay"),
            Some(&buyer.token),
            json!({ "provider": "sandbox" }),
        )
        .await
        .expect(200);
    let payment = pay["payment"]["id"].as_str().unwrap().to_owned();
    let amount = pay["payment"]["amount_fen"].as_i64().unwrap();
    let cb = "/api/v1/payments/sandbox/callback";
    let good = json!({ "event_id": "evt-1", "payment_id": payment, "status": "succeeded", "amount_fen": amount });

    // A bad signature, a stale one, a tampered body and a wrong amount change nothing.
    t.signed_post(cb, &good, Some("t=1700000000,v1=deadbeef".into()))
        .await
        .problem(401, None);
    let stale = kith_domain::signature::sign(
        t.app.config.sandbox_secret.as_bytes(),
        t.clock.now_ms() / 1000 - 301,
        &serde_json::to_vec(&good).unwrap(),
    );
    t.signed_post(cb, &good, Some(stale))
        .await
        .problem(401, None);
    let signed_for_good = t.sign(&serde_json::to_vec(&good).unwrap());
    let tampered = json!({ "event_id": "evt-1", "payment_id": payment, "status": "succeeded", "amount_fen": 1 });
    t.signed_post(cb, &tampered, Some(signed_for_good))
        .await
        .problem(401, None);
    let wrong_amount = json!({ "event_id": "evt-2", "payment_id": payment, "status": "succeeded", "amount_fen": amount + 1 });
    t.signed_post(cb, &wrong_amount, None)
        .await
        .problem(422, None);
    assert_eq!(
        t.get(&format!("/api/v1/orders/{oid}"), Some(&buyer.token))
            .await
            .expect(200)["status"],
        "pending_payment"
    );

    // Delivered three times: one payment.
    let outcomes: Vec<Value> = [
        t.signed_post(cb, &good, None).await.expect(200),
        t.signed_post(cb, &good, None).await.expect(200),
        t.signed_post(cb, &good, None).await.expect(200),
    ]
    .into_iter()
    .map(|r| r["outcome"].clone())
    .collect();
    assert_eq!(
        outcomes,
        [json!("applied"), json!("duplicate"), json!("duplicate")]
    );
    // A `failed` arriving after the success (out of order) is ignored.
    let late_fail = json!({ "event_id": "evt-0", "payment_id": payment, "status": "failed", "amount_fen": amount });
    assert_eq!(
        t.signed_post(cb, &late_fail, None).await.expect(200)["outcome"],
        "ignored"
    );
    let order = t
        .get(&format!("/api/v1/orders/{oid}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(order["status"], "fulfilling");
    assert_eq!(order["paid_fen"], amount);
    let audit = crate::worlds::audit_clean(&t).await;
    assert_eq!(audit["entries"], 1, "exactly one payment entry: {audit}");
    // Unknown providers and payments.
    t.signed_post("/api/v1/payments/alipay/callback", &good, None)
        .await
        .problem(404, None);
}

async fn checkout_refuses_bad_input_and_changes_nothing(t: TestApp) {
    let s = winery(&t, 5).build().await;
    let (other_owner, other) = t.approved_merchant("母婴优选").await;
    let _ = other_owner;
    let buyer = t.register_member("乱填").await;
    let url = format!("/api/v1/merchants/{}/checkout", s.merchant);
    let item = |sku: &str, q: i64| json!([{ "sku_id": sku, "quantity": q }]);
    let cases = [
        (
            json!({ "delivery": "shipping", "address": address(), "items": item(&s.sku, 0) }),
            422,
            "items[0].quantity",
        ),
        (
            json!({ "delivery": "shipping", "address": address(), "items": item(&s.sku, -1) }),
            422,
            "items[0].quantity",
        ),
        (
            json!({ "delivery": "shipping", "address": address(), "items": item(&s.sku, 1000) }),
            422,
            "items[0].quantity",
        ),
        (
            json!({ "delivery": "shipping", "address": address(), "items": item(&s.sku, 6) }),
            409,
            "items[0].quantity",
        ),
        (
            json!({ "delivery": "shipping", "address": address(), "items": item("00000000-0000-7000-8000-000000000000", 1) }),
            422,
            "items[0].sku_id",
        ),
        (
            json!({ "delivery": "shipping", "address": address(), "items": item("not-a-uuid", 1) }),
            422,
            "items[0].sku_id",
        ),
        (
            json!({ "delivery": "shipping", "address": address(), "items": [] }),
            422,
            "items",
        ),
        (
            json!({ "delivery": "shipping", "items": item(&s.sku, 1) }),
            422,
            "address",
        ),
        (
            json!({ "delivery": "pickup", "items": item(&s.sku, 1) }),
            422,
            "pickup_store_id",
        ),
        (
            json!({ "delivery": "drone", "items": item(&s.sku, 1) }),
            422,
            "delivery",
        ),
        (
            json!({ "delivery": "shipping", "address": { "name": "x" }, "items": item(&s.sku, 1) }),
            422,
            "address.phone",
        ),
        (
            json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": s.sku, "quantity": 1 }, { "sku_id": s.sku, "quantity": 1 }] }),
            422,
            "items[1].sku_id",
        ),
        (
            json!({ "delivery": "shipping", "address": address() }),
            422,
            "items",
        ),
    ];
    for (body, status, field) in cases {
        let got = t
            .post(&url, Some(&buyer.token), body.clone())
            .await
            .problem(status, None);
        assert!(
            got["field"].as_str().is_some_and(|f| f.starts_with(field)),
            "{body} → {got}"
        );
    }
    // Another merchant's SKU is not this merchant's.
    let theirs = t
        .post(
            &format!("/api/v1/merchants/{other}/checkout"),
            Some(&buyer.token),
            json!({ "delivery": "shipping", "address": address(), "items": item(&s.sku, 1) }),
        )
        .await;
    theirs.problem(422, Some("items[0].sku_id"));
    // Not enough in the wallet: refused, nothing moves.
    let o = t
        .post(
            &url,
            Some(&buyer.token),
            json!({ "delivery": "shipping", "address": address(), "items": item(&s.sku, 1) }),
        )
        .await
        .expect(201);
    t.post(
        &format!("/api/v1/orders/{}/pay", o["id"].as_str().unwrap()),
        Some(&buyer.token),
        json!({ "provider": "wallet" }),
    )
    .await
    .problem(409, Some("wallet"));
    assert_eq!(
        t.get("/api/v1/me/wallet", Some(&buyer.token))
            .await
            .expect(200)["balance_fen"],
        0
    );
    assert_eq!(
        stock_row(&t, &s, &s.sku, &s.warehouse).await,
        (5, 1),
        "only the one good checkout reserved anything"
    );
    assert_eq!(
        t.get(
            &format!("/api/v1/orders/{}", o["id"].as_str().unwrap()),
            Some(&buyer.token)
        )
        .await
        .expect(200)["status"],
        "pending_payment"
    );
    crate::worlds::audit_clean(&t).await;
}

async fn concurrent_checkouts_never_oversell(t: TestApp) {
    let s = winery(&t, 50).build().await;
    let mut buyers = Vec::new();
    for i in 0..20 {
        buyers.push(t.register_member(&format!("抢购{i}")).await);
    }
    let url = format!("{}/api/v1/merchants/{}/checkout", t.base, s.merchant);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let c = t.client.clone();
        let (url, token, sku) = (
            url.clone(),
            buyers[i % buyers.len()].token.clone(),
            s.sku.clone(),
        );
        tasks.push(tokio::spawn(async move {
            c.post(&url)
                .bearer_auth(token)
                .json(&json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": sku, "quantity": 1 }] }))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    let mut created = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            201 => created += 1,
            409 => refused += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((created, refused), (50, 150));
    assert_eq!(
        stock_row(&t, &s, &s.sku, &s.warehouse).await,
        (50, 50),
        "exactly 50 reserved, never more"
    );
}

async fn orders_are_private(t: TestApp) {
    let s = winery(&t, 5).build().await;
    let buyer = t.register_member("隐私").await;
    let stranger = t.register_member("路人").await;
    let (rival, rival_id) = t.approved_merchant("隔壁商家").await;
    let o = t
        .post(&format!("/api/v1/merchants/{}/checkout", s.merchant), Some(&buyer.token), json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": s.sku, "quantity": 1 }] }))
        .await
        .expect(201);
    let oid = o["id"].as_str().unwrap();
    for who in [&stranger, &rival, &s.pickup().clerk] {
        t.get(&format!("/api/v1/orders/{oid}"), Some(&who.token))
            .await
            .problem(404, None);
        t.post(
            &format!("/api/v1/orders/{oid}/pay"),
            Some(&who.token),
            json!({ "provider": "wallet" }),
        )
        .await
        .problem(404, None);
        t.post(
            &format!("/api/v1/orders/{oid}/cancel"),
            Some(&who.token),
            json!({}),
        )
        .await
        .problem(404, None);
    }
    t.get(
        &format!("/api/v1/merchants/{}/orders", s.merchant),
        Some(&rival.token),
    )
    .await
    .problem(403, None);
    // The rival's staff cannot ship this order through their own merchant either.
    t.post(
        &format!("/api/v1/merchants/{rival_id}/orders/{oid}/ship"),
        Some(&rival.token),
        json!({ "carrier": "sf", "tracking_no": "SF00000001" }),
    )
    .await
    .problem(404, None);
    let list = t
        .get(
            &format!("/api/v1/merchants/{}/orders", s.merchant),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let mine = t
        .get("/api/v1/me/orders", Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(mine["items"][0]["id"], oid);
    assert_eq!(
        t.get("/api/v1/me/orders", Some(&stranger.token))
            .await
            .expect(200)["items"],
        json!([])
    );
    t.get("/api/v1/admin/ledger/audit", Some(&buyer.token))
        .await
        .problem(403, None);
}

async fn merchant_settings_shape_orders(t: TestApp) {
    let s = winery(&t, 10).build().await;
    let buyer = t.register_member("包邮党").await;
    let url = format!("/api/v1/merchants/{}/settings", s.merchant);
    let defaults = t.get(&url, Some(&s.owner.token)).await.expect(200);
    assert_eq!(defaults["unpaid_timeout_secs"], 1800);
    assert_eq!(defaults["after_sale_days"], 7);
    let settings = json!({ "shipping_fee_fen": 1000, "free_shipping_over_fen": 100000, "unpaid_timeout_secs": 120, "auto_confirm_days": 10, "after_sale_days": 7 });
    t.put(&url, Some(&buyer.token), settings.clone())
        .await
        .problem(403, None);
    let mut bad = settings.clone();
    bad["unpaid_timeout_secs"] = json!(10);
    t.put(&url, Some(&s.owner.token), bad)
        .await
        .problem(422, Some("unpaid_timeout_secs"));
    let mut bad = settings.clone();
    bad["shipping_fee_fen"] = json!(-1);
    t.put(&url, Some(&s.owner.token), bad)
        .await
        .problem(422, Some("shipping_fee_fen"));
    assert_eq!(
        t.put(&url, Some(&s.owner.token), settings.clone())
            .await
            .expect(200),
        settings
    );

    let checkout_url = format!("/api/v1/merchants/{}/checkout", s.merchant);
    let checkout = |items: Value| {
        t.post(
            &checkout_url,
            Some(&buyer.token),
            json!({ "delivery": "shipping", "address": address(), "items": items }),
        )
    };
    let small = checkout(json!([{ "sku_id": s.skus[1], "quantity": 1 }]))
        .await
        .expect(201);
    assert_eq!(
        (small["goods_fen"].as_i64(), small["shipping_fen"].as_i64()),
        (Some(12900), Some(1000))
    );
    let big = checkout(json!([{ "sku_id": s.sku, "quantity": 2 }]))
        .await
        .expect(201);
    assert_eq!(
        (big["goods_fen"].as_i64(), big["shipping_fen"].as_i64()),
        (Some(119800), Some(0)),
        "free over ¥1000"
    );
    // The shorter payment window applies.
    t.clock.advance_secs(121);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    let o = t
        .get(
            &format!("/api/v1/orders/{}", small["id"].as_str().unwrap()),
            Some(&buyer.token),
        )
        .await
        .expect(200);
    assert_eq!(o["status"], "cancelled");
}

async fn order_lists_page_without_gaps(t: TestApp) {
    let s = t.shop().name("翻页酒坊").price(100).stock(20).build().await;
    let buyer = t.register_member("回头客").await;
    let checkout = format!("/api/v1/merchants/{}/checkout", s.merchant);
    let mut placed = Vec::new();
    for i in 0..5 {
        let o = t
            .post(
                &checkout,
                Some(&buyer.token),
                json!({ "delivery": "shipping", "address": address(),
                        "items": [{ "sku_id": s.sku, "quantity": 1 }] }),
            )
            .await
            .expect(201);
        placed.push(o["id"].as_str().unwrap().to_owned());
        // Pairs share a millisecond, so the id has to break the tie.
        if i % 2 == 1 {
            t.clock.advance_secs(1);
        }
    }
    let mine = t
        .assert_pages_cover("/api/v1/me/orders", Some(&buyer.token), 2, "/id")
        .await;
    assert_eq!(mine.len(), 3);
    let mut listed = mine.concat();
    listed.sort();
    placed.sort();
    assert_eq!(listed, placed);
    let theirs = t
        .assert_pages_cover(
            &format!("/api/v1/merchants/{}/orders", s.merchant),
            Some(&s.owner.token),
            2,
            "/id",
        )
        .await;
    assert_eq!(theirs.concat(), mine.concat());
}
