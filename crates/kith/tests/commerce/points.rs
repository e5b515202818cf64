//! Points (积分, issue 19): a shop sets its rule; a member earns points on the goods paid,
//! frozen until the after-sale window closes; spends them at checkout under the shop's cap
//! (one conditional update: never more than they hold, however many checkouts race); gets
//! them back when the order is cancelled or refunded; and sees unspent old points expire,
//! oldest first. Points are ledger accounts of their own: the audit sums them apart from
//! money and both come to zero.

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{PASSWORD, TestApp, User, address};
use crate::worlds;

both_engines!(
    points_are_earned_frozen_spent_and_given_back,
    concurrent_checkouts_cannot_spend_the_same_points,
    unspent_old_points_expire_oldest_first,
    bad_points_rules_name_their_field_and_only_staff_set_them,
    activity_orders_take_points_only_when_the_shop_allows,
);

const DAY_SECS: i64 = 86_400;

fn settings_url(mid: &str) -> String {
    format!("/api/v1/merchants/{mid}/points-settings")
}

/// 1 point per ¥1, 100 points to the yuan, at most half the goods, `expire_days`.
async fn turn_on(t: &TestApp, s: &crate::builders::Shop, expire_days: i64) -> Value {
    t.put(
        &settings_url(&s.merchant),
        Some(&s.owner.token),
        json!({ "enabled": true, "earn_per_yuan": 1, "points_per_yuan": 100, "cap_percent": 50, "expire_days": expire_days }),
    )
    .await
    .expect(200)
}

/// (available, frozen) of the caller at the shop.
async fn points(t: &TestApp, who: &User, mid: &str) -> (i64, i64) {
    let v = t
        .get(&format!("/api/v1/me/points/{mid}"), Some(&who.token))
        .await
        .expect(200);
    (
        v["balance"]["available"].as_i64().expect("available"),
        v["balance"]["frozen"].as_i64().expect("frozen"),
    )
}

async fn checkout_with(
    t: &TestApp,
    s: &crate::builders::Shop,
    who: &User,
    qty: i64,
    pts: i64,
) -> crate::harness::Resp {
    t.post(
        &format!("/api/v1/merchants/{}/checkout", s.merchant),
        Some(&who.token),
        json!({ "delivery": "shipping", "address": address(), "points": pts,
                "items": [{ "sku_id": s.sku, "quantity": qty }] }),
    )
    .await
}

async fn pay(t: &TestApp, who: &User, oid: &str) {
    t.post(
        &format!("/api/v1/orders/{oid}/pay"),
        Some(&who.token),
        json!({ "provider": "wallet" }),
    )
    .await
    .expect(200);
}

/// A month on, the session has lapsed: the member logs in again.
async fn relogin(t: &TestApp, m: User) -> User {
    let token = t.login(&m.login, PASSWORD).await.expect(201)["token"]
        .as_str()
        .expect("token")
        .to_owned();
    User { token, ..m }
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// The whole life of points, to the point: 200 earned frozen on ¥200, available after the
/// window; 500 asked with 200 held is a 409 writing nothing; 150 spent and given back on
/// cancel; 200 spent on a paid order whose full refund gives them back and takes back what
/// it earned.
async fn points_are_earned_frozen_spent_and_given_back(t: TestApp) {
    let s = t.shop().plan(worlds::standard_plan()).build().await;
    let on = turn_on(&t, &s, 365).await;
    assert_eq!(on["enabled"], true);
    let m = t.register_member("攒积分的会员").await;

    let first = t.order(&s, &m).qty(2).paid().await;
    assert_eq!(first["points_earned"], 200);
    assert_eq!(points(&t, &m, &s.merchant).await, (0, 200));
    worlds::ship_and_deliver(&t, &s, &id(&first)).await;
    worlds::close_after_sale_window(&t).await;
    assert_eq!(points(&t, &m, &s.merchant).await, (200, 0));
    let mine = t.get("/api/v1/me/points", Some(&m.token)).await.expect(200);
    assert_eq!(mine[0]["merchant_id"], s.merchant.as_str());
    assert_eq!(
        (mine[0]["available"].as_i64(), mine[0]["worth_fen"].as_i64()),
        (Some(200), Some(200))
    );
    assert_eq!(mine[0]["expiring"], 200);
    assert!(mine[0]["expiring_at"].is_string(), "{mine}");

    // More than held: refused, nothing written (no order, the balance untouched).
    t.top_up(&m, 50_000).await;
    checkout_with(&t, &s, &m, 1, 500)
        .await
        .problem(409, Some("points"));
    assert_eq!(points(&t, &m, &s.merchant).await, (200, 0));
    let orders = t.get("/api/v1/me/orders", Some(&m.token)).await.expect(200);
    assert_eq!(orders["items"].as_array().map(Vec::len), Some(1));

    // 150 spent on an unpaid order, back when it is cancelled.
    let o = checkout_with(&t, &s, &m, 1, 150).await.expect(201);
    assert_eq!(
        (
            o["points_used"].as_i64(),
            o["points_fen"].as_i64(),
            o["goods_fen"].as_i64()
        ),
        (Some(150), Some(150), Some(9_850))
    );
    assert_eq!(o["lines"][0]["points_fen"], 150);
    assert_eq!(points(&t, &m, &s.merchant).await, (50, 0));
    let cancelled = t
        .post(
            &format!("/api/v1/orders/{}/cancel", id(&o)),
            Some(&m.token),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(cancelled["points_returned"], 150);
    assert_eq!(points(&t, &m, &s.merchant).await, (200, 0));

    // Offering more than held is refused even under the cap; all 200 held (¥2, under the
    // cap of half of ¥100) are spent on a paid order.
    checkout_with(&t, &s, &m, 1, 201)
        .await
        .problem(409, Some("points"));
    let o = checkout_with(&t, &s, &m, 1, 200).await.expect(201);
    assert_eq!(
        (o["points_used"].as_i64(), o["goods_fen"].as_i64()),
        (Some(200), Some(9_800))
    );
    let oid = id(&o);
    pay(&t, &m, &oid).await;
    assert_eq!(points(&t, &m, &s.merchant).await, (0, 98));
    // A full refund: the money paid back, the points spent back, the points earned gone.
    let r = t
        .post(
            &format!("/api/v1/merchants/{}/orders/{oid}/refunds", s.merchant),
            Some(&s.owner.token),
            json!({ "reason": "缺货" }),
        )
        .await
        .expect(201);
    assert_eq!(
        r["amount_fen"].as_i64(),
        Some(o["total_fen"].as_i64().expect("total"))
    );
    assert_eq!(points(&t, &m, &s.merchant).await, (200, 0));
    let after = t
        .get(&format!("/api/v1/orders/{oid}"), Some(&m.token))
        .await
        .expect(200);
    assert_eq!(
        (
            after["points_returned"].as_i64(),
            after["points_reversed"].as_i64()
        ),
        (Some(200), Some(98))
    );

    // The statement: every movement, newest first, in points.
    let st = t
        .get(&format!("/api/v1/me/points/{}", s.merchant), Some(&m.token))
        .await
        .expect(200);
    let kinds: Vec<&str> = st["lines"]["items"]
        .as_array()
        .expect("lines")
        .iter()
        .filter_map(|l| l["kind"].as_str())
        .collect();
    for k in [
        "points_earned",
        "points_settled",
        "points_redeemed",
        "points_returned",
        "points_reversed",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    let audit = worlds::audit_clean(&t).await;
    assert_eq!(audit["total_points"], 0);
}

/// 200 points held, four checkouts at once each spending 150: exactly one wins, the others
/// are 409 on `points`, and the balance is 50.
async fn concurrent_checkouts_cannot_spend_the_same_points(t: TestApp) {
    let s = t.shop().plan(worlds::standard_plan()).build().await;
    turn_on(&t, &s, 0).await;
    let m = t.register_member("抢积分的会员").await;
    let first = t.order(&s, &m).qty(2).paid().await;
    worlds::ship_and_deliver(&t, &s, &id(&first)).await;
    worlds::close_after_sale_window(&t).await;
    assert_eq!(points(&t, &m, &s.merchant).await, (200, 0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (client, url, token) = (
            t.client.clone(),
            format!("{}/api/v1/merchants/{}/checkout", t.base, s.merchant),
            m.token.clone(),
        );
        let body = json!({ "delivery": "shipping", "address": address(), "points": 150,
                           "items": [{ "sku_id": s.sku, "quantity": 1 }] });
        tasks.spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("send");
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.expect("json"))
        });
    }
    let mut won = 0;
    while let Some(done) = tasks.join_next().await {
        match done.expect("task") {
            (201, _) => won += 1,
            (409, body) => assert_eq!(body["field"], "points", "{body}"),
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(points(&t, &m, &s.merchant).await, (50, 0));
    worlds::audit_clean(&t).await;
}

/// Points last 30 days once available: 200 become available on day 7; 50 are spent; on
/// day 38 the 150 left of that lot expire, and the points earned meanwhile (frozen on an
/// order still inside its window) are untouched. Running the job again expires nothing.
async fn unspent_old_points_expire_oldest_first(t: TestApp) {
    let s = t.shop().plan(worlds::standard_plan()).build().await;
    turn_on(&t, &s, 30).await;
    let m = t.register_member("积分会过期的会员").await;
    let first = t.order(&s, &m).qty(2).paid().await;
    worlds::ship_and_deliver(&t, &s, &id(&first)).await;
    worlds::close_after_sale_window(&t).await;
    t.top_up(&m, 20_000).await;
    let o = checkout_with(&t, &s, &m, 1, 50).await.expect(201);
    pay(&t, &m, &id(&o)).await;
    assert_eq!(points(&t, &m, &s.merchant).await, (150, 99));
    t.clock.advance_secs(29 * DAY_SECS);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    let m = relogin(&t, m).await;
    assert_eq!(points(&t, &m, &s.merchant).await, (150, 99), "not yet");
    t.clock.advance_secs(2 * DAY_SECS);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    let m = relogin(&t, m).await;
    assert_eq!(points(&t, &m, &s.merchant).await, (0, 99));
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    assert_eq!(points(&t, &m, &s.merchant).await, (0, 99));
    let st = t
        .get(&format!("/api/v1/me/points/{}", s.merchant), Some(&m.token))
        .await
        .expect(200);
    let expired = &st["lines"]["items"][0];
    assert_eq!(
        (expired["kind"].as_str(), expired["amount"].as_i64()),
        (Some("points_expired"), Some(-150))
    );
    worlds::audit_clean(&t).await;
}

async fn bad_points_rules_name_their_field_and_only_staff_set_them(t: TestApp) {
    let s = t.shop().plan(worlds::standard_plan()).build().await;
    // Off until the shop turns them on; anyone may read the rule.
    let off = t.get(&settings_url(&s.merchant), None).await.expect(200);
    assert_eq!(off["enabled"], false);
    let m = t.register_member("会员").await;
    t.top_up(&m, 20_000).await;
    checkout_with(&t, &s, &m, 1, 10)
        .await
        .problem(409, Some("points_not_taken"));
    checkout_with(&t, &s, &m, 1, -1)
        .await
        .problem(422, Some("points"));

    let good = json!({ "enabled": true, "earn_per_yuan": 1, "points_per_yuan": 100, "cap_percent": 50, "expire_days": 365 });
    for (field, bad) in [
        ("earn_per_yuan", json!(101)),
        ("points_per_yuan", json!(0)),
        ("cap_percent", json!(0)),
        ("expire_days", json!(10)),
    ] {
        let mut b = good.clone();
        b[field] = bad;
        t.put(&settings_url(&s.merchant), Some(&s.owner.token), b)
            .await
            .problem(422, Some(field));
    }
    t.put(&settings_url(&s.merchant), Some(&m.token), good.clone())
        .await
        .problem(403, None);
    t.put(&settings_url(&s.merchant), None, good.clone())
        .await
        .problem(401, None);
    t.put(
        &settings_url("00000000-0000-7000-8000-000000000000"),
        Some(&s.owner.token),
        good.clone(),
    )
    .await
    .problem(404, None);
    t.get(&settings_url("not-a-shop"), None)
        .await
        .problem(404, None);
    // Nothing was saved by the refusals.
    assert_eq!(
        t.get(&settings_url(&s.merchant), None).await.expect(200)["enabled"],
        false
    );
    // Another member's statement is not readable: /me is always the caller's own.
    t.get("/api/v1/me/points", None).await.problem(401, None);
}

/// A 秒杀 order is already at an activity price: it takes points only once the shop says
/// so (409 `points_not_for_activity` before, nothing written), then like any checkout.
async fn activity_orders_take_points_only_when_the_shop_allows(t: TestApp) {
    let s = t.shop().plan(worlds::standard_plan()).build().await;
    turn_on(&t, &s, 0).await;
    let m = t.register_member("秒杀也想用积分").await;
    let first = t.order(&s, &m).qty(2).paid().await;
    worlds::ship_and_deliver(&t, &s, &id(&first)).await;
    worlds::close_after_sale_window(&t).await;
    let now = {
        use kith_domain::Clock;
        t.clock.now_ms()
    };
    let sale = t
        .post(
            &format!("/api/v1/merchants/{}/flash-sales", s.merchant),
            Some(&s.owner.token),
            json!({ "name": "整点秒杀", "sku_id": s.sku, "price_fen": 5_990,
                    "slots": [{ "starts_at": kith_app::rfc3339(now), "ends_at": kith_app::rfc3339(now + 3_600_000), "quota": 10 }] }),
        )
        .await
        .expect(201);
    let buy = |pts: i64| {
        let (t, tok, sid) = (&t, m.token.clone(), id(&sale));
        async move {
            t.post(
                &format!("/api/v1/flash-sales/{sid}/orders"),
                Some(&tok),
                json!({ "quantity": 1, "delivery": "shipping", "address": address(), "points": pts }),
            )
            .await
        }
    };
    buy(100).await.problem(409, Some("points_not_for_activity"));
    assert_eq!(points(&t, &m, &s.merchant).await, (200, 0));
    t.put(
        &settings_url(&s.merchant),
        Some(&s.owner.token),
        json!({ "enabled": true, "earn_per_yuan": 1, "points_per_yuan": 100, "cap_percent": 50,
                "expire_days": 0, "on_activity_orders": true }),
    )
    .await
    .expect(200);
    let o = buy(100).await.expect(201);
    assert_eq!(
        (o["points_used"].as_i64(), o["goods_fen"].as_i64()),
        (Some(100), Some(5_890))
    );
    assert_eq!(points(&t, &m, &s.merchant).await, (100, 0));
    worlds::audit_clean(&t).await;
}
