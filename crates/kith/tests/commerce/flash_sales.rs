//! 限时秒杀 (issue 19): a merchant sells one SKU at a flash price in time slots with a
//! quota apart from the stock. Concurrent buyers never get more than the quota (one
//! conditional update per order), a member never more than the per-member total, an order
//! never more than the per-order cap; orders outside a slot, in a paused sale or over a
//! cap are 409s naming the rule; an unpaid flash order lapses after the sale's shorter
//! timeout and gives its units back. Bad input is a 422 naming the field.

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{TestApp, User, address};
use crate::worlds;

both_engines!(
    concurrent_buyers_get_exactly_the_slot_quota,
    flash_orders_keep_to_their_slots_and_caps,
    bad_flash_sales_name_their_field_and_only_staff_run_them,
    a_flash_order_takes_a_coupon_only_when_the_sale_allows,
);

const MIN_MS: i64 = 60_000;

fn at(t: &TestApp, minutes: i64) -> String {
    use kith_domain::Clock;
    kith_app::rfc3339(t.clock.now_ms() + minutes * MIN_MS)
}

fn sales(mid: &str) -> String {
    format!("/api/v1/merchants/{mid}/flash-sales")
}

/// ¥100 tea at ¥59.90, one slot from now for an hour.
fn sale(
    t: &TestApp,
    s: &crate::builders::Shop,
    quota: i64,
    per_member: i64,
    per_order: i64,
) -> Value {
    json!({
        "name": "整点秒杀",
        "sku_id": s.sku,
        "price_fen": 5_990,
        "per_member_limit": per_member,
        "per_order_limit": per_order,
        "slots": [{ "starts_at": at(t, 0), "ends_at": at(t, 60), "quota": quota }],
    })
}

async fn create(t: &TestApp, s: &crate::builders::Shop, body: Value) -> Value {
    t.post(&sales(&s.merchant), Some(&s.owner.token), body)
        .await
        .expect(201)
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

async fn buy(t: &TestApp, who: &User, sale: &str, quantity: i64) -> crate::harness::Resp {
    t.post(
        &format!("/api/v1/flash-sales/{sale}/orders"),
        Some(&who.token),
        json!({ "quantity": quantity, "delivery": "shipping", "address": address() }),
    )
    .await
}

async fn left(t: &TestApp, sale: &str) -> i64 {
    t.get(&format!("/api/v1/flash-sales/{sale}"), None)
        .await
        .expect(200)["slots"][0]["left"]
        .as_i64()
        .expect("left")
}

/// 30 members race for a slot of 10: exactly 10 orders, 20 refusals naming the rule; a
/// cancelled order gives its unit back to the next buyer.
async fn concurrent_buyers_get_exactly_the_slot_quota(t: TestApp) {
    let s = t.shop().plan(worlds::standard_plan()).build().await;
    let sale = id(&create(&t, &s, sale(&t, &s, 10, 1, 1)).await);
    let mut members = Vec::new();
    for n in 0..30 {
        members.push(t.register_member(&format!("抢购{n}")).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for m in &members {
        let (client, url, token) = (
            t.client.clone(),
            format!("{}/api/v1/flash-sales/{sale}/orders", t.base),
            m.token.clone(),
        );
        tasks.spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "quantity": 1, "delivery": "shipping", "address": address() }))
                .send()
                .await
                .expect("send");
            let status = r.status().as_u16();
            let body: Value = r.json().await.expect("json");
            (status, body)
        });
    }
    let (mut won, mut refused) = (Vec::new(), 0);
    while let Some(r) = tasks.join_next().await {
        let (status, body) = r.expect("task");
        match status {
            201 => won.push(body),
            409 => {
                assert_eq!(body["field"], "flash_sold_out", "{body}");
                refused += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!((won.len(), refused), (10, 20));
    assert_eq!(left(&t, &sale).await, 0);
    // Each order is at the flash price, with the sale's 5-minute timeout.
    let o = &won[0];
    assert_eq!(o["lines"][0]["unit_price_fen"], 5_990);
    assert_eq!(o["activity_fen"], 0);
    assert!(o["flash_slot_id"].is_string(), "{o}");
    let deadline =
        kith_app::platform::times::parse_time("t", o["pay_deadline"].as_str().unwrap()).unwrap();
    let created =
        kith_app::platform::times::parse_time("t", o["created_at"].as_str().unwrap()).unwrap();
    assert_eq!(deadline - created, 5 * MIN_MS);

    // A winner cancels: the unit goes back, and a refused member now gets it.
    let buyer = o["buyer_id"].as_str().unwrap();
    let canceller = members.iter().find(|m| m.id == buyer).expect("winner");
    t.post(
        &format!("/api/v1/orders/{}/cancel", id(o)),
        Some(&canceller.token),
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(left(&t, &sale).await, 1);
    let won_ids: Vec<&str> = won
        .iter()
        .map(|w| w["buyer_id"].as_str().unwrap())
        .collect();
    let late = members
        .iter()
        .find(|m| !won_ids.contains(&m.id.as_str()))
        .expect("a refused member");
    buy(&t, late, &sale, 1).await.expect(201);
    assert_eq!(left(&t, &sale).await, 0);
    buy(&t, canceller, &sale, 1)
        .await
        .problem(409, Some("flash_sold_out"));
    let listed = t
        .get(&sales(&s.merchant), Some(&s.owner.token))
        .await
        .expect(200);
    assert_eq!(listed[0]["slots"][0]["sold"], 10);
    worlds::audit_clean(&t).await;
}

async fn flash_orders_keep_to_their_slots_and_caps(t: TestApp) {
    let s = t.shop().plan(worlds::standard_plan()).build().await;
    // Slots from +10 to +20 minutes and +30 to +40; 3 per member, 2 per order.
    let mut body = sale(&t, &s, 100, 3, 2);
    body["slots"] = json!([
        { "starts_at": at(&t, 10), "ends_at": at(&t, 20), "quota": 50 },
        { "starts_at": at(&t, 30), "ends_at": at(&t, 40), "quota": 50 },
    ]);
    let created = create(&t, &s, body).await;
    let sale = id(&created);
    assert!(created["live_slot_id"].is_null());
    assert_eq!(
        created["next_starts_at"].as_str(),
        Some(at(&t, 10).as_str())
    );
    let buyer = t.register_member("秒杀客").await;
    t.top_up(&buyer, 100_000).await;
    // Before its slot.
    buy(&t, &buyer, &sale, 1)
        .await
        .problem(409, Some("flash_not_live"));
    t.clock.advance_secs(10 * 60);
    // Over the per-order cap, then two and two more than the member's total.
    buy(&t, &buyer, &sale, 3)
        .await
        .problem(409, Some("flash_per_order_limit"));
    let o = buy(&t, &buyer, &sale, 2).await.expect(201);
    assert_eq!(
        o["total_fen"].as_i64(),
        Some(2 * 5_990 + o["shipping_fen"].as_i64().unwrap())
    );
    buy(&t, &buyer, &sale, 2)
        .await
        .problem(409, Some("flash_member_limit"));
    // Paid, the order earns and is a paid order like any other.
    t.post(
        &format!("/api/v1/orders/{}/pay", id(&o)),
        Some(&buyer.token),
        json!({ "provider": "wallet" }),
    )
    .await
    .expect(200);
    // A second, unpaid order of one lapses after 5 minutes and gives its unit back.
    let unpaid = buy(&t, &buyer, &sale, 1).await.expect(201);
    assert_eq!(left(&t, &sale).await, 47);
    t.clock.advance_secs(5 * 60 + 1);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    let lapsed = t
        .get(
            &format!("/api/v1/orders/{}", id(&unpaid)),
            Some(&buyer.token),
        )
        .await
        .expect(200);
    assert_eq!(lapsed["status"], "cancelled", "{lapsed}");
    assert_eq!(left(&t, &sale).await, 48);
    // Between the slots, then paused, then in the second slot, then after the last.
    t.clock.advance_secs(10 * 60);
    buy(&t, &buyer, &sale, 1)
        .await
        .problem(409, Some("flash_not_live"));
    t.clock.advance_secs(10 * 60);
    let pause = format!("{}/{sale}/pause", sales(&s.merchant));
    t.post(&pause, Some(&s.owner.token), json!({}))
        .await
        .expect(200);
    buy(&t, &buyer, &sale, 1)
        .await
        .problem(409, Some("flash_not_active"));
    t.post(&pause, Some(&s.owner.token), json!({}))
        .await
        .problem(409, Some("flash_sale_status"));
    t.post(
        &format!("{}/{sale}/resume", sales(&s.merchant)),
        Some(&s.owner.token),
        json!({}),
    )
    .await
    .expect(200);
    // The lapsed unit came back to the member's count too: one more is allowed.
    buy(&t, &buyer, &sale, 1).await.expect(201);
    buy(&t, &buyer, &sale, 1)
        .await
        .problem(409, Some("flash_member_limit"));
    let shop_list = format!("/api/v1/flash-sales?merchant_id={}", s.merchant);
    assert_eq!(
        t.get(&shop_list, None)
            .await
            .expect(200)
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    t.get("/api/v1/flash-sales?merchant_id=not-a-shop", None)
        .await
        .problem(404, None);
    t.clock.advance_secs(11 * 60);
    let other = t.register_member("迟到的人").await;
    buy(&t, &other, &sale, 1)
        .await
        .problem(409, Some("flash_not_live"));
    assert_eq!(
        t.get(&shop_list, None)
            .await
            .expect(200)
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    // Bad order input names its field.
    buy(&t, &other, &sale, 0)
        .await
        .problem(422, Some("quantity"));
    buy(&t, &other, "not-an-id", 1).await.problem(404, None);
}

async fn bad_flash_sales_name_their_field_and_only_staff_run_them(t: TestApp) {
    let s = t.shop().plan(worlds::standard_plan()).build().await;
    let other = t.shop().plan(worlds::standard_plan()).build().await;
    let base = sale(&t, &s, 10, 2, 1);
    let with = |patch: Value| {
        let mut b = base.clone();
        for (k, v) in patch.as_object().expect("patch") {
            b[k] = v.clone();
        }
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "name": "" }), "name"),
        (json!({ "price_fen": 10_000 }), "price_fen"),
        (json!({ "price_fen": 0 }), "price_fen"),
        (json!({ "sku_id": other.sku }), "sku_id"),
        (json!({ "per_member_limit": 101 }), "per_member_limit"),
        (json!({ "per_order_limit": 3 }), "per_order_limit"),
        (
            json!({ "unpaid_timeout_minutes": 31 }),
            "unpaid_timeout_minutes",
        ),
        (json!({ "slots": [] }), "slots"),
        (
            json!({ "slots": [{ "starts_at": at(&t, 10), "ends_at": at(&t, 5), "quota": 1 }] }),
            "slots[0].ends_at",
        ),
        (
            json!({ "slots": [{ "starts_at": at(&t, 0), "ends_at": at(&t, 5), "quota": 0 }] }),
            "slots[0].quota",
        ),
        (
            json!({ "slots": [
                { "starts_at": at(&t, 0), "ends_at": at(&t, 10), "quota": 1 },
                { "starts_at": at(&t, 5), "ends_at": at(&t, 20), "quota": 1 },
            ] }),
            "slots[1].starts_at",
        ),
        (
            json!({ "slots": [{ "starts_at": at(&t, -20), "ends_at": at(&t, -10), "quota": 1 }] }),
            "slots[0].ends_at",
        ),
    ];
    for (patch, field) in cases {
        t.post(
            &sales(&s.merchant),
            Some(&s.owner.token),
            with(patch.clone()),
        )
        .await
        .problem(422, Some(field));
    }
    let none = t
        .get(&sales(&s.merchant), Some(&s.owner.token))
        .await
        .expect(200);
    assert_eq!(none.as_array().map(Vec::len), Some(0), "{none}");

    let member = t.register_member("路人").await;
    t.post(&sales(&s.merchant), Some(&member.token), base.clone())
        .await
        .problem(403, None);
    t.get(&sales(&s.merchant), Some(&member.token))
        .await
        .problem(403, None);
    let sale = id(&create(&t, &s, base).await);
    t.post(
        &format!("{}/{sale}/pause", sales(&other.merchant)),
        Some(&other.owner.token),
        json!({}),
    )
    .await
    .problem(404, None);
    t.post(
        &format!("{}/{sale}/end", sales(&s.merchant)),
        Some(&member.token),
        json!({}),
    )
    .await
    .problem(403, None);
    t.post(
        &format!("{}/{sale}/end", sales(&s.merchant)),
        Some(&s.owner.token),
        json!({}),
    )
    .await
    .expect(200);
    t.post(
        &format!("{}/{sale}/resume", sales(&s.merchant)),
        Some(&s.owner.token),
        json!({}),
    )
    .await
    .problem(409, Some("flash_sale_status"));
    buy(&t, &member, &sale, 1)
        .await
        .problem(409, Some("flash_not_active"));
    t.post(
        &format!("/api/v1/flash-sales/{sale}/orders"),
        None,
        json!({ "quantity": 1, "delivery": "shipping", "address": address() }),
    )
    .await
    .problem(401, None);
}

/// The flash price is the discount: a coupon on a flash order is 409
/// `coupon_not_for_flash_sale` (nothing written, the coupon still available) unless the
/// merchant's sale allows coupons; then the coupon comes off the flash price.
async fn a_flash_order_takes_a_coupon_only_when_the_sale_allows(t: TestApp) {
    let s = t.shop().plan(worlds::standard_plan()).build().await;
    let m = t.register_member("秒杀用券").await;
    let tpl = t
        .post(
            &format!("/api/v1/merchants/{}/coupon-templates", s.merchant),
            Some(&s.owner.token),
            json!({ "name": "满50减5", "kind": "fixed", "off_fen": 500, "min_spend_fen": 5_000,
                    "valid_days": 7, "total_count": 10 }),
        )
        .await
        .expect(201);
    let coupon = id(&t
        .post(
            &format!(
                "/api/v1/merchants/{}/coupon-templates/{}/claim",
                s.merchant,
                id(&tpl)
            ),
            Some(&m.token),
            json!({}),
        )
        .await
        .expect(201));
    let strict = create(&t, &s, sale(&t, &s, 10, 2, 1)).await;
    let with_coupon = |sid: String| {
        let (t, tok, cid) = (&t, m.token.clone(), coupon.clone());
        async move {
            t.post(
                &format!("/api/v1/flash-sales/{sid}/orders"),
                Some(&tok),
                json!({ "quantity": 1, "delivery": "shipping", "address": address(), "coupon_id": cid }),
            )
            .await
        }
    };
    with_coupon(id(&strict))
        .await
        .problem(409, Some("coupon_not_for_flash_sale"));
    assert_eq!(left(&t, &id(&strict)).await, 10);
    let mut body = sale(&t, &s, 10, 2, 1);
    body["allow_coupons"] = json!(true);
    let open = create(&t, &s, body).await;
    assert_eq!(open["allow_coupons"], true);
    let o = with_coupon(id(&open)).await.expect(201);
    assert_eq!(
        (o["coupon_fen"].as_i64(), o["goods_fen"].as_i64()),
        (Some(500), Some(5_490))
    );
}
