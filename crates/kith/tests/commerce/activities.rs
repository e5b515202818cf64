//! 满减 / 满折 activities (issue 19): a merchant runs tiered order discounts by spend;
//! checkout applies the best live one by itself, before the coupon (whose minimum spend is
//! then measured on what is left); the order and each line keep the activity's part, so a
//! refund returns exactly what a line paid and the sharer earns on the goods actually paid.
//! Bad input is a 422 naming the field, an illegal move a 409 naming the rule, another
//! shop's activity a 404, a member a 403.

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{TestApp, User, address};
use crate::worlds;

both_engines!(
    a_tiered_activity_is_applied_by_checkout_and_refunds_stay_exact,
    bad_activities_name_their_field_and_only_staff_run_them,
    only_a_live_activity_applies,
    the_best_of_two_activities_applies_within_its_scope,
);

const DAY_SECS: i64 = 86_400;

fn activities(mid: &str) -> String {
    format!("/api/v1/merchants/{mid}/threshold-activities")
}

fn in_days(t: &TestApp, days: i64) -> String {
    use kith_domain::Clock;
    kith_app::rfc3339(t.clock.now_ms() + days * DAY_SECS * 1_000)
}

/// 满 199 减 20, 满 299 减 50, for 30 days.
fn tiered(t: &TestApp) -> Value {
    json!({
        "name": "年货节满减",
        "kind": "fixed",
        "tiers": [
            { "min_spend_fen": 19_900, "amount": 2_000 },
            { "min_spend_fen": 29_900, "amount": 5_000 },
        ],
        "ends_at": in_days(t, 30),
    })
}

async fn activity(t: &TestApp, owner: &User, mid: &str, body: Value) -> Value {
    t.post(&activities(mid), Some(&owner.token), body)
        .await
        .expect(201)
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

async fn set_cart(t: &TestApp, s: &crate::builders::Shop, who: &User, sku: &str, qty: i64) {
    t.put(
        &format!("/api/v1/merchants/{}/cart/items/{sku}", s.merchant),
        Some(&who.token),
        json!({ "quantity": qty }),
    )
    .await
    .expect(200);
}

async fn cart_activity(t: &TestApp, s: &crate::builders::Shop, who: &User) -> Value {
    t.get(
        &format!("/api/v1/merchants/{}/cart/activity", s.merchant),
        Some(&who.token),
    )
    .await
    .expect(200)
}

async fn checkout(t: &TestApp, s: &crate::builders::Shop, who: &User, items: Value) -> Value {
    t.post(
        &format!("/api/v1/merchants/{}/checkout", s.merchant),
        Some(&who.token),
        json!({ "delivery": "shipping", "address": address(), "items": items }),
    )
    .await
    .expect(201)
}

/// The journey to the fen: a friend arrives by a distributor's link, fills the cart past
/// the 满 299 tier (凑单 shows what is missing on the way), claims a 满100减12.34 coupon,
/// and buys three at ¥100: 满减 takes ¥50, the coupon ¥12.34 of what is left, the goods pay
/// ¥237.66, the sharer's 10 % is 2 376 fen, and one unit back returns ⌊23 766 ⁄ 3⌋.
async fn a_tiered_activity_is_applied_by_checkout_and_refunds_stay_exact(t: TestApp) {
    let s = t.shop().plan(worlds::standard_plan()).build().await;
    let a = activity(&t, &s.owner, &s.merchant, tiered(&t)).await;
    assert_eq!(
        (a["status"].as_str(), a["live"].as_bool()),
        (Some("active"), Some(true))
    );
    assert_eq!(a["tiers"][1]["amount"], 5_000);
    // The shop shows it to anyone.
    let public = t
        .get(
            &format!("/api/v1/merchants/{}/activities", s.merchant),
            None,
        )
        .await
        .expect(200);
    assert_eq!(public.as_array().map(Vec::len), Some(1));
    assert_eq!(public[0]["id"], a["id"]);

    let sharer = t.register_member("分享者").await;
    let (_, code) = worlds::product_link(&t, &s, &sharer).await;
    let friend = worlds::signup_via(&t, &code, "凑单的朋友").await;

    // 凑单: ¥100 in the cart is ¥99 short of the first tier; ¥200 takes ¥20 and is ¥99
    // short of the next; ¥300 takes ¥50 and there is no tier above.
    let summary = |v: &Value| {
        (
            v["discount_fen"].as_i64(),
            v["next_tier"]["min_spend_fen"].as_i64(),
            v["more_fen"].as_i64(),
        )
    };
    let empty = cart_activity(&t, &s, &friend).await;
    assert!(empty["activity"].is_null(), "{empty}");
    set_cart(&t, &s, &friend, &s.sku, 1).await;
    assert_eq!(
        summary(&cart_activity(&t, &s, &friend).await),
        (Some(0), Some(19_900), Some(9_900))
    );
    set_cart(&t, &s, &friend, &s.sku, 2).await;
    assert_eq!(
        summary(&cart_activity(&t, &s, &friend).await),
        (Some(2_000), Some(29_900), Some(9_900))
    );
    set_cart(&t, &s, &friend, &s.sku, 3).await;
    let full = cart_activity(&t, &s, &friend).await;
    assert_eq!(summary(&full), (Some(5_000), None, None));
    assert_eq!(full["activity"]["id"], a["id"]);

    // A coupon priced after the activity: 满 250 would not be reached by ¥300 − ¥50 = ¥250?
    // It is (exactly); 满 251 is not.
    let coupon_tpl = |min: i64| {
        json!({ "name": "满减叠券", "kind": "fixed", "off_fen": 1_234, "min_spend_fen": min,
                "valid_days": 7, "total_count": 10 })
    };
    let tpl = |min: i64| {
        let (t, owner, mid) = (&t, &s.owner, s.merchant.clone());
        async move {
            t.post(
                &format!("/api/v1/merchants/{mid}/coupon-templates"),
                Some(&owner.token),
                coupon_tpl(min),
            )
            .await
            .expect(201)
        }
    };
    let high = id(&tpl(25_001).await);
    let exact = id(&tpl(25_000).await);
    let claim = |tid: String| {
        let (t, tok, mid) = (&t, friend.token.clone(), s.merchant.clone());
        async move {
            id(&t
                .post(
                    &format!("/api/v1/merchants/{mid}/coupon-templates/{tid}/claim"),
                    Some(&tok),
                    json!({}),
                )
                .await
                .expect(201))
        }
    };
    let too_high = claim(high).await;
    let coupon = claim(exact).await;
    let fits = t
        .get(
            &format!("/api/v1/merchants/{}/cart/coupons", s.merchant),
            Some(&friend.token),
        )
        .await
        .expect(200);
    let fit_of = |cid: &str| {
        fits.as_array()
            .expect("fits")
            .iter()
            .find(|f| f["coupon"]["id"] == cid)
            .cloned()
            .expect("fit")
    };
    assert_eq!(fit_of(&coupon)["discount_fen"], 1_234);
    assert_eq!(fit_of(&coupon)["best"], true);
    assert_eq!(fit_of(&too_high)["refusal"], "coupon_minimum_spend");
    let refused = t
        .post(
            &format!("/api/v1/merchants/{}/checkout", s.merchant),
            Some(&friend.token),
            json!({ "delivery": "shipping", "address": address(),
                    "items": [{ "sku_id": s.sku, "quantity": 3 }], "coupon_id": too_high }),
        )
        .await;
    refused.problem(409, Some("coupon_minimum_spend"));

    t.top_up(&friend, 40_000).await;
    let order = t
        .post(
            &format!("/api/v1/merchants/{}/checkout", s.merchant),
            Some(&friend.token),
            json!({ "delivery": "shipping", "address": address(),
                    "items": [{ "sku_id": s.sku, "quantity": 3 }], "coupon_id": coupon }),
        )
        .await
        .expect(201);
    assert_eq!(order["activity_id"], a["id"]);
    assert_eq!(
        (
            order["activity_fen"].as_i64(),
            order["coupon_fen"].as_i64(),
            order["goods_fen"].as_i64()
        ),
        (Some(5_000), Some(1_234), Some(23_766))
    );
    let line = &order["lines"][0];
    assert_eq!(
        (
            line["line_total_fen"].as_i64(),
            line["activity_fen"].as_i64(),
            line["coupon_fen"].as_i64()
        ),
        (Some(30_000), Some(5_000), Some(1_234))
    );
    let oid = id(&order);
    // Not counted until paid.
    let listed = t
        .get(&activities(&s.merchant), Some(&s.owner.token))
        .await
        .expect(200);
    assert_eq!(
        (
            listed[0]["paid_orders"].as_i64(),
            listed[0]["discount_fen"].as_i64()
        ),
        (Some(0), Some(0))
    );
    t.post(
        &format!("/api/v1/orders/{oid}/pay"),
        Some(&friend.token),
        json!({ "provider": "wallet" }),
    )
    .await
    .expect(200);
    let listed = t
        .get(&activities(&s.merchant), Some(&s.owner.token))
        .await
        .expect(200);
    assert_eq!(
        (
            listed[0]["paid_orders"].as_i64(),
            listed[0]["discount_fen"].as_i64()
        ),
        (Some(1), Some(5_000))
    );

    // The sharer earns on the goods actually paid.
    assert_eq!(
        worlds::balances(&t, &sharer, &s.merchant).await,
        (2_376, 0, 0, 0)
    );
    // One of three units back: exactly its part of what the line paid, and its commission.
    let refund = t
        .post(
            &format!("/api/v1/merchants/{}/orders/{oid}/refunds", s.merchant),
            Some(&s.owner.token),
            json!({ "lines": [{ "line_no": 1, "quantity": 1 }], "reason": "少发一件" }),
        )
        .await
        .expect(201);
    assert_eq!(refund["amount_fen"], 7_922);
    let reversed = 2_376 * 7_922 / 23_766;
    assert_eq!(
        worlds::balances(&t, &sharer, &s.merchant).await,
        (2_376 - reversed, 0, 0, 0)
    );
    // The rest: everything else that was paid, shipping included.
    let rest = t
        .post(
            &format!("/api/v1/merchants/{}/orders/{oid}/refunds", s.merchant),
            Some(&s.owner.token),
            json!({ "reason": "全部退款" }),
        )
        .await
        .expect(201);
    assert_eq!(
        rest["amount_fen"].as_i64(),
        Some(order["total_fen"].as_i64().expect("total") - 7_922)
    );
    assert_eq!(
        worlds::balances(&t, &sharer, &s.merchant).await,
        (0, 0, 0, 0)
    );
    worlds::audit_clean(&t).await;
}

async fn bad_activities_name_their_field_and_only_staff_run_them(t: TestApp) {
    let s = t.shop().plan(worlds::standard_plan()).build().await;
    let other = t.shop().plan(worlds::standard_plan()).build().await;
    let base = tiered(&t);
    let with = |patch: Value| {
        let mut b = base.clone();
        for (k, v) in patch.as_object().expect("patch") {
            b[k] = v.clone();
        }
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "name": "" }), "name"),
        (json!({ "kind": "gift" }), "kind"),
        (json!({ "tiers": [] }), "tiers"),
        (
            json!({ "tiers": [{ "min_spend_fen": 10_000, "amount": 10_001 }] }),
            "tiers[0].amount",
        ),
        (
            json!({ "tiers": [{ "min_spend_fen": 0, "amount": 1 }] }),
            "tiers[0].min_spend_fen",
        ),
        (
            json!({ "tiers": [{ "min_spend_fen": 10_000, "amount": 500 }, { "min_spend_fen": 10_000, "amount": 900 }] }),
            "tiers[1].min_spend_fen",
        ),
        (
            json!({ "tiers": [{ "min_spend_fen": 10_000, "amount": 500 }, { "min_spend_fen": 20_000, "amount": 500 }] }),
            "tiers[1].amount",
        ),
        (
            json!({ "kind": "percent", "tiers": [{ "min_spend_fen": 10_000, "amount": 100 }] }),
            "tiers[0].amount",
        ),
        (json!({ "ends_at": in_days(&t, -1) }), "ends_at"),
        (
            json!({ "starts_at": in_days(&t, 5), "ends_at": in_days(&t, 4) }),
            "ends_at",
        ),
        (json!({ "ends_at": in_days(&t, 400) }), "ends_at"),
        (json!({ "ends_at": "tomorrow" }), "ends_at"),
        (json!({ "product_ids": [] }), "product_ids"),
        (json!({ "product_ids": [other.product] }), "product_ids[0]"),
    ];
    for (patch, field) in cases {
        t.post(
            &activities(&s.merchant),
            Some(&s.owner.token),
            with(patch.clone()),
        )
        .await
        .problem(422, Some(field));
    }
    // Nothing was made.
    let none = t
        .get(&activities(&s.merchant), Some(&s.owner.token))
        .await
        .expect(200);
    assert_eq!(none.as_array().map(Vec::len), Some(0), "{none}");

    // A member cannot run or read a shop's activities; the public list is open.
    let member = t.register_member("路人").await;
    t.post(&activities(&s.merchant), Some(&member.token), base.clone())
        .await
        .problem(403, None);
    t.get(&activities(&s.merchant), Some(&member.token))
        .await
        .problem(403, None);
    t.post(&activities(&s.merchant), None, base.clone())
        .await
        .problem(401, None);
    let a = id(&activity(&t, &s.owner, &s.merchant, base.clone()).await);
    t.post(
        &format!("{}/{a}/pause", activities(&s.merchant)),
        Some(&member.token),
        json!({}),
    )
    .await
    .problem(403, None);
    // Another shop's owner reaches it through neither shop.
    t.post(
        &format!("{}/{a}/pause", activities(&other.merchant)),
        Some(&other.owner.token),
        json!({}),
    )
    .await
    .problem(404, None);
    t.post(
        &format!("{}/{a}/pause", activities(&s.merchant)),
        Some(&other.owner.token),
        json!({}),
    )
    .await
    .problem(403, None);
    t.post(
        &format!("{}/not-an-id/pause", activities(&s.merchant)),
        Some(&s.owner.token),
        json!({}),
    )
    .await
    .problem(404, None);
    t.get(
        "/api/v1/merchants/00000000-0000-0000-0000-000000000000/activities",
        None,
    )
    .await
    .problem(404, None);
}

/// What an order of `items` takes off now; the order is cancelled again (a member may
/// hold only a few unpaid orders).
async fn taken(t: &TestApp, s: &crate::builders::Shop, who: &User, items: Value) -> i64 {
    let o = checkout(t, s, who, items).await;
    t.post(
        &format!("/api/v1/orders/{}/cancel", id(&o)),
        Some(&who.token),
        json!({}),
    )
    .await
    .expect(200);
    o["activity_fen"].as_i64().expect("activity_fen")
}

/// How many activities the shop shows anyone now.
async fn live_count(t: &TestApp, s: &crate::builders::Shop) -> Option<usize> {
    t.get(
        &format!("/api/v1/merchants/{}/activities", s.merchant),
        None,
    )
    .await
    .expect(200)
    .as_array()
    .map(Vec::len)
}

async fn only_a_live_activity_applies(t: TestApp) {
    let s = t.shop().plan(worlds::standard_plan()).build().await;
    let buyer = t.register_member("看时机").await;
    let items = json!([{ "sku_id": s.sku, "quantity": 2 }]);
    let a = id(&activity(&t, &s.owner, &s.merchant, tiered(&t)).await);
    let at = |verb: &str| format!("{}/{a}/{verb}", activities(&s.merchant));
    assert_eq!(taken(&t, &s, &buyer, items.clone()).await, 2_000);

    // Paused: orders do not take it; resumed: they do again.
    let paused = t
        .post(&at("pause"), Some(&s.owner.token), json!({}))
        .await
        .expect(200);
    assert_eq!(
        (paused["status"].as_str(), paused["live"].as_bool()),
        (Some("paused"), Some(false))
    );
    assert_eq!(taken(&t, &s, &buyer, items.clone()).await, 0);
    t.post(&at("pause"), Some(&s.owner.token), json!({}))
        .await
        .problem(409, Some("activity_status"));
    t.post(&at("resume"), Some(&s.owner.token), json!({}))
        .await
        .expect(200);
    assert_eq!(taken(&t, &s, &buyer, items.clone()).await, 2_000);
    // Ended for good.
    t.post(&at("end"), Some(&s.owner.token), json!({}))
        .await
        .expect(200);
    t.post(&at("resume"), Some(&s.owner.token), json!({}))
        .await
        .problem(409, Some("activity_status"));
    assert_eq!(taken(&t, &s, &buyer, items.clone()).await, 0);

    // One that starts in two days applies only from then, and no more after its end.
    let mut later = tiered(&t);
    later["starts_at"] = json!(in_days(&t, 2));
    later["ends_at"] = json!(in_days(&t, 4));
    let later = activity(&t, &s.owner, &s.merchant, later).await;
    assert_eq!(later["live"], false);

    assert_eq!(live_count(&t, &s).await, Some(0));
    assert_eq!(taken(&t, &s, &buyer, items.clone()).await, 0);
    t.clock.advance_secs(2 * DAY_SECS);
    assert_eq!(live_count(&t, &s).await, Some(1));
    assert_eq!(taken(&t, &s, &buyer, items.clone()).await, 2_000);
    t.clock.advance_secs(2 * DAY_SECS);
    assert_eq!(live_count(&t, &s).await, Some(0));
    assert_eq!(taken(&t, &s, &buyer, items).await, 0);
}

async fn the_best_of_two_activities_applies_within_its_scope(t: TestApp) {
    let s = t.shop().plan(worlds::standard_plan()).build().await;
    let buyer = t.register_member("比价").await;
    // 满 100 减 5 over the shop, and 满 200 打 9 折 on the tea only.
    let small = activity(
        &t,
        &s.owner,
        &s.merchant,
        json!({ "name": "全店满减", "kind": "fixed",
                "tiers": [{ "min_spend_fen": 10_000, "amount": 500 }], "ends_at": in_days(&t, 10) }),
    )
    .await;
    let tea = activity(
        &t,
        &s.owner,
        &s.merchant,
        json!({ "name": "红茶满折", "kind": "percent", "product_ids": [s.product],
                "tiers": [{ "min_spend_fen": 20_000, "amount": 10 }], "ends_at": in_days(&t, 10) }),
    )
    .await;
    // ¥100: only the shop-wide one is reached.
    let one = checkout(&t, &s, &buyer, json!([{ "sku_id": s.sku, "quantity": 1 }])).await;
    assert_eq!(
        (one["activity_id"].clone(), one["activity_fen"].as_i64()),
        (small["id"].clone(), Some(500))
    );
    // ¥300: 10 % of the tea (¥30) beats ¥5.
    let three = checkout(&t, &s, &buyer, json!([{ "sku_id": s.sku, "quantity": 3 }])).await;
    assert_eq!(
        (three["activity_id"].clone(), three["activity_fen"].as_i64()),
        (tea["id"].clone(), Some(3_000))
    );
    set_cart(&t, &s, &buyer, &s.sku, 3).await;
    let fit = cart_activity(&t, &s, &buyer).await;
    assert_eq!(
        (fit["activity"]["id"].clone(), fit["discount_fen"].as_i64()),
        (tea["id"].clone(), Some(3_000))
    );
}
