//! Coupons (issue 19): a merchant defines coupon templates, members claim them in the
//! shop's 领券中心 and see them in 我的优惠券. A claim is one conditional update on the
//! template's remaining count, so concurrent claims never give more than the count, and
//! the per-member limit holds under concurrency too. Bad input is a 422 naming the field,
//! a broken rule a 409 naming it, another member's coupon a 404.

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{TestApp, User, address};
use crate::worlds;

both_engines!(
    a_template_is_offered_claimed_and_held,
    bad_templates_name_their_field,
    concurrent_claims_give_exactly_the_count,
    the_per_member_limit_holds_under_concurrency,
    paused_and_ended_templates_cannot_be_claimed,
    coupons_of_others_and_other_shops_are_not_found,
    a_coupon_expires_with_its_window,
    a_friend_by_a_share_link_buys_with_a_coupon_and_the_sharer_earns_on_what_was_paid,
    a_checkout_refuses_a_coupon_that_does_not_apply_and_writes_nothing,
    concurrent_checkouts_with_one_coupon_have_one_winner,
    a_group_buy_seat_takes_a_coupon_only_when_its_template_allows_it,
    the_merchant_issues_coupons_to_members_or_a_tier_all_or_nothing,
    the_share_coupon_travels_with_the_link_and_the_sharer_earns_on_the_discounted_base,
    the_cart_prices_each_coupon_and_marks_the_best,
    the_new_member_coupon_is_only_for_members_new_to_the_shop,
    of_two_equal_coupons_the_one_ending_sooner_is_best,
);

const DAY_SECS: i64 = 86_400;

fn templates(mid: &str) -> String {
    format!("/api/v1/merchants/{mid}/coupon-templates")
}

async fn template(t: &TestApp, owner: &User, mid: &str, body: Value) -> Value {
    t.post(&templates(mid), Some(&owner.token), body)
        .await
        .expect(201)
}

/// 满 100 减 10, valid 7 days after receipt.
fn ten_off(total: i64, per_member: i64) -> Value {
    json!({
        "name": "满100减10",
        "kind": "fixed",
        "off_fen": 1_000,
        "min_spend_fen": 10_000,
        "valid_days": 7,
        "total_count": total,
        "per_member_limit": per_member,
    })
}

async fn claim(t: &TestApp, who: &User, mid: &str, tid: &str) -> crate::harness::Resp {
    t.post(
        &format!("{}/{tid}/claim", templates(mid)),
        Some(&who.token),
        json!({}),
    )
    .await
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

async fn a_template_is_offered_claimed_and_held(t: TestApp) {
    let (owner, mid) = t.approved_merchant("遵义羊肉粉").await;
    let tpl = template(&t, &owner, &mid, ten_off(50, 1)).await;
    assert_eq!(
        (
            tpl["kind"].as_str(),
            tpl["remaining"].as_i64(),
            tpl["status"].as_str()
        ),
        (Some("fixed"), Some(50), Some("active"))
    );
    let tid = id(&tpl);

    // The shop offers it to anyone (领券中心).
    let offered = t
        .get(&format!("/api/v1/merchants/{mid}/coupons"), None)
        .await
        .expect(200);
    assert_eq!(offered.as_array().map(Vec::len), Some(1));
    assert_eq!(offered[0]["id"], tid.as_str());

    let member = t.register_member("小黔").await;
    let coupon = claim(&t, &member, &mid, &tid).await.expect(201);
    assert_eq!(coupon["state"], "available");
    assert_eq!(coupon["source"], "claim");
    assert_eq!(coupon["template"]["off_fen"], 1_000);

    // 我的优惠券, by shop and by state.
    let mine = t
        .get(
            &format!("/api/v1/me/coupons?merchant_id={mid}&state=available"),
            Some(&member.token),
        )
        .await
        .expect(200);
    assert_eq!(mine.as_array().map(Vec::len), Some(1));
    assert_eq!(mine[0]["id"], coupon["id"]);
    let used = t
        .get("/api/v1/me/coupons?state=used", Some(&member.token))
        .await
        .expect(200);
    assert_eq!(used.as_array().map(Vec::len), Some(0));
    t.get("/api/v1/me/coupons?state=lost", Some(&member.token))
        .await
        .problem(422, Some("state"));

    // One per member: the second claim is refused naming the rule, and nothing is taken.
    claim(&t, &member, &mid, &tid)
        .await
        .problem(409, Some("coupon_per_member_limit"));
    let list = t
        .get(&templates(&mid), Some(&owner.token))
        .await
        .expect(200);
    assert_eq!(
        (
            list[0]["claimed_count"].as_i64(),
            list[0]["remaining"].as_i64()
        ),
        (Some(1), Some(49))
    );
    worlds::audit_clean(&t).await;
}

async fn bad_templates_name_their_field(t: TestApp) {
    let (owner, mid) = t.approved_merchant("凯里酸汤鱼").await;
    let (_, other_mid) = t.approved_merchant("都匀毛尖").await;
    let other = t
        .shop()
        .name("安顺蜡染")
        .price(1_000)
        .stock(5)
        .build()
        .await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "kind": "fixed", "off_fen": 0 }), "off_fen"),
        (
            json!({ "kind": "percent", "percent_off": 100 }),
            "percent_off",
        ),
        (
            json!({ "kind": "percent", "percent_off": 10, "cap_fen": 0 }),
            "cap_fen",
        ),
        (json!({ "kind": "gift" }), "kind"),
        (
            json!({ "off_fen": 20_000, "min_spend_fen": 10_000 }),
            "off_fen",
        ),
        (json!({ "min_spend_fen": -1 }), "min_spend_fen"),
        (json!({ "total_count": 0 }), "total_count"),
        (json!({ "total_count": 1_000_001 }), "total_count"),
        (json!({ "per_member_limit": 101 }), "per_member_limit"),
        (json!({ "valid_days": 0 }), "valid_days"),
        (
            json!({ "valid_days": null, "valid_until": "2000-01-01T00:00:00Z" }),
            "valid_until",
        ),
        (
            json!({ "valid_days": null, "valid_until": "soon" }),
            "valid_until",
        ),
        (json!({ "product_ids": [] }), "product_ids"),
        (json!({ "product_ids": [other.product] }), "product_ids[0]"),
        (json!({ "name": "" }), "name"),
    ];
    for (patch, field) in cases {
        let mut body = ten_off(10, 1);
        for (k, v) in patch.as_object().expect("patch") {
            body[k] = v.clone();
        }
        t.post(&templates(&mid), Some(&owner.token), body)
            .await
            .problem(422, Some(field));
    }
    // Nothing was written.
    let list = t
        .get(&templates(&mid), Some(&owner.token))
        .await
        .expect(200);
    assert_eq!(list.as_array().map(Vec::len), Some(0));
    // Another merchant's owner cannot make or see this shop's templates.
    t.post(&templates(&other_mid), Some(&owner.token), ten_off(10, 1))
        .await
        .expect(403);
    t.get(&templates(&other_mid), Some(&owner.token))
        .await
        .expect(403);
}

/// Far more claims than coupons, all at once over HTTP: exactly the count is given, the
/// rest are told it is sold out, and the counts agree with the coupons held.
async fn concurrent_claims_give_exactly_the_count(t: TestApp) {
    let (owner, mid) = t.approved_merchant("茅台镇").await;
    let tid = id(&template(&t, &owner, &mid, ten_off(100, 100)).await);
    let mut members = Vec::new();
    for i in 0..8 {
        members.push(t.register_member(&format!("抢券{i}")).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        for m in &members {
            let (client, url, token) = (
                t.client.clone(),
                format!("{}{}/{tid}/claim", t.base, templates(&mid)),
                m.token.clone(),
            );
            tasks.spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({}))
                    .send()
                    .await
                    .expect("send")
                    .status()
                    .as_u16()
            });
        }
    }
    let (mut won, mut sold_out) = (0, 0);
    while let Some(status) = tasks.join_next().await {
        match status.expect("task") {
            201 => won += 1,
            409 => sold_out += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((won, sold_out), (100, 300));
    let mut held = 0;
    for m in &members {
        let mine = t
            .get(
                &format!("/api/v1/me/coupons?merchant_id={mid}"),
                Some(&m.token),
            )
            .await
            .expect(200);
        held += mine.as_array().map_or(0, Vec::len);
    }
    assert_eq!(held, 100);
    let list = t
        .get(&templates(&mid), Some(&owner.token))
        .await
        .expect(200);
    assert_eq!(
        (
            list[0]["claimed_count"].as_i64(),
            list[0]["remaining"].as_i64()
        ),
        (Some(100), Some(0))
    );
    // Sold out: the shop no longer offers it, and one more claim names the rule.
    let offered = t
        .get(&format!("/api/v1/merchants/{mid}/coupons"), None)
        .await
        .expect(200);
    assert_eq!(offered.as_array().map(Vec::len), Some(0));
    claim(&t, &members[0], &mid, &tid)
        .await
        .problem(409, Some("coupon_sold_out"));
    worlds::audit_clean(&t).await;
}

/// One member asks 30 times at once for a coupon limited to 2 per member: 2 are given,
/// and the template keeps the rest for others.
async fn the_per_member_limit_holds_under_concurrency(t: TestApp) {
    let (owner, mid) = t.approved_merchant("花溪牛肉粉").await;
    let tid = id(&template(&t, &owner, &mid, ten_off(50, 2)).await);
    let member = t.register_member("手快").await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let (client, url, token) = (
            t.client.clone(),
            format!("{}{}/{tid}/claim", t.base, templates(&mid)),
            member.token.clone(),
        );
        tasks.spawn(async move {
            let res = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({}))
                .send()
                .await
                .expect("send");
            let status = res.status().as_u16();
            let body: Value = res.json().await.expect("json");
            (status, body)
        });
    }
    let mut won = 0;
    while let Some(joined) = tasks.join_next().await {
        let (status, body) = joined.expect("task");
        match status {
            201 => won += 1,
            409 => assert_eq!(body["field"], "coupon_per_member_limit", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(won, 2);
    let list = t
        .get(&templates(&mid), Some(&owner.token))
        .await
        .expect(200);
    assert_eq!(
        (
            list[0]["claimed_count"].as_i64(),
            list[0]["remaining"].as_i64()
        ),
        (Some(2), Some(48))
    );
}

async fn paused_and_ended_templates_cannot_be_claimed(t: TestApp) {
    let (owner, mid) = t.approved_merchant("青岩古镇").await;
    let tid = id(&template(&t, &owner, &mid, ten_off(10, 5)).await);
    let member = t.register_member("游客").await;
    let step = |s: &str| format!("{}/{tid}/{s}", templates(&mid));

    let paused = t
        .post(&step("pause"), Some(&owner.token), json!({}))
        .await
        .expect(200);
    assert_eq!(paused["status"], "paused");
    claim(&t, &member, &mid, &tid)
        .await
        .problem(409, Some("coupon_template_not_active"));
    t.post(&step("pause"), Some(&owner.token), json!({}))
        .await
        .problem(409, Some("coupon_template_status"));
    t.post(&step("resume"), Some(&owner.token), json!({}))
        .await
        .expect(200);
    claim(&t, &member, &mid, &tid).await.expect(201);

    let ended = t
        .post(&step("end"), Some(&owner.token), json!({}))
        .await
        .expect(200);
    assert_eq!(ended["status"], "ended");
    claim(&t, &member, &mid, &tid)
        .await
        .problem(409, Some("coupon_template_not_active"));
    t.post(&step("resume"), Some(&owner.token), json!({}))
        .await
        .problem(409, Some("coupon_template_status"));
    // A member cannot pause a shop's template.
    t.post(&step("end"), Some(&member.token), json!({}))
        .await
        .expect(403);
    // The coupon already claimed is still held.
    let mine = t
        .get("/api/v1/me/coupons?state=available", Some(&member.token))
        .await
        .expect(200);
    assert_eq!(mine.as_array().map(Vec::len), Some(1));
}

async fn coupons_of_others_and_other_shops_are_not_found(t: TestApp) {
    let (owner, mid) = t.approved_merchant("黄果树").await;
    let (_, other_mid) = t.approved_merchant("梵净山").await;
    let tid = id(&template(&t, &owner, &mid, ten_off(10, 1)).await);
    let a = t.register_member("甲").await;
    let b = t.register_member("乙").await;
    let coupon = claim(&t, &a, &mid, &tid).await.expect(201);
    let path = format!("/api/v1/me/coupons/{}", id(&coupon));
    t.get(&path, Some(&a.token)).await.expect(200);
    t.get(&path, Some(&b.token)).await.problem(404, None);
    // A template claimed through another shop's address is not found.
    claim(&t, &b, &other_mid, &tid).await.problem(404, None);
    claim(&t, &b, &mid, "not-an-id").await.problem(404, None);
}

async fn a_coupon_expires_with_its_window(t: TestApp) {
    let (owner, mid) = t.approved_merchant("西江苗寨").await;
    let tid = id(&template(&t, &owner, &mid, ten_off(10, 1)).await);
    let member = t.register_member("苗家").await;
    claim(&t, &member, &mid, &tid).await.expect(201);
    t.clock.advance_secs(8 * DAY_SECS);
    let mine = t
        .get("/api/v1/me/coupons", Some(&member.token))
        .await
        .expect(200);
    assert_eq!(mine[0]["state"], "expired");
    let expired = t
        .get("/api/v1/me/coupons?state=expired", Some(&member.token))
        .await
        .expect(200);
    assert_eq!(expired.as_array().map(Vec::len), Some(1));
}

async fn checkout_with(
    t: &TestApp,
    s: &crate::builders::Shop,
    buyer: &User,
    qty: i64,
    coupon: &str,
) -> crate::harness::Resp {
    t.post(
        &format!("/api/v1/merchants/{}/checkout", s.merchant),
        Some(&buyer.token),
        json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": s.sku, "quantity": qty }], "coupon_id": coupon }),
    )
    .await
}

/// A second product of the shop (a draft), for coupons scoped away from the one on sale.
async fn another_product(t: &TestApp, s: &crate::builders::Shop) -> Value {
    t.post(
        &format!("/api/v1/merchants/{}/products", s.merchant),
        Some(&s.owner.token),
        json!({ "name": "另一种茶", "description": "" }),
    )
    .await
    .expect(201)
}

async fn coupon_state(t: &TestApp, who: &User, coupon: &str) -> String {
    t.get(&format!("/api/v1/me/coupons/{coupon}"), Some(&who.token))
        .await
        .expect(200)["state"]
        .as_str()
        .expect("state")
        .to_owned()
}

/// The share-coupon journey to the fen: a friend arrives by a distributor's link, claims
/// the shop's 满100减12.34, buys three at ¥100 with it; the order and its line pay
/// ¥287.66 for the goods, the sharer's L1 (10 %) is ⌊28 766 × 10 %⌋ = 2 876 fen, and a
/// refund of one unit returns ⌊28 766 ⁄ 3⌋ = 9 588 fen and takes back its share of the
/// commission.
async fn a_friend_by_a_share_link_buys_with_a_coupon_and_the_sharer_earns_on_what_was_paid(
    t: TestApp,
) {
    let s = t.shop().plan(worlds::standard_plan()).build().await;
    let sharer = t.register_member("分享者").await;
    let (_, code) = worlds::product_link(&t, &s, &sharer).await;
    let friend = worlds::signup_via(&t, &code, "朋友").await;
    let mut body = ten_off(10, 1);
    body["off_fen"] = json!(1_234);
    let tid = id(&template(&t, &s.owner, &s.merchant, body).await);
    let coupon = id(&claim(&t, &friend, &s.merchant, &tid).await.expect(201));

    t.top_up(&friend, 40_000).await;
    let order = checkout_with(&t, &s, &friend, 3, &coupon).await.expect(201);
    assert_eq!(order["coupon_id"], coupon.as_str());
    assert_eq!(order["coupon_fen"], 1_234);
    assert_eq!(order["goods_fen"], 28_766);
    assert_eq!(order["lines"][0]["line_total_fen"], 30_000);
    assert_eq!(order["lines"][0]["coupon_fen"], 1_234);
    assert_eq!(
        order["total_fen"].as_i64(),
        Some(28_766 + order["shipping_fen"].as_i64().expect("shipping"))
    );
    assert_eq!(coupon_state(&t, &friend, &coupon).await, "locked");
    let oid = id(&order);
    let paid = t
        .post(
            &format!("/api/v1/orders/{oid}/pay"),
            Some(&friend.token),
            json!({ "provider": "wallet" }),
        )
        .await
        .expect(200);
    assert_eq!(paid["order"]["paid_fen"], order["total_fen"]);
    assert_eq!(coupon_state(&t, &friend, &coupon).await, "used");
    let list = t
        .get(&templates(&s.merchant), Some(&s.owner.token))
        .await
        .expect(200);
    assert_eq!(list[0]["used_count"], 1);

    // The sharer earns on the goods actually paid.
    assert_eq!(
        worlds::balances(&t, &sharer, &s.merchant).await,
        (2_876, 0, 0, 0)
    );

    // One of three units back: exactly its part of what the line paid.
    let refund = t
        .post(
            &format!("/api/v1/merchants/{}/orders/{oid}/refunds", s.merchant),
            Some(&s.owner.token),
            json!({ "lines": [{ "line_no": 1, "quantity": 1 }], "reason": "少发一件" }),
        )
        .await
        .expect(201);
    assert_eq!(refund["amount_fen"], 9_588);
    assert_eq!(
        coupon_state(&t, &friend, &coupon).await,
        "used",
        "a partial refund keeps the coupon used"
    );
    let reversed = 2_876 * 9_588 / 28_766;
    assert_eq!(
        worlds::balances(&t, &sharer, &s.merchant).await,
        (2_876 - reversed, 0, 0, 0)
    );
    // The rest: what remains of the payment, shipping included.
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
        Some(order["total_fen"].as_i64().expect("total") - 9_588)
    );
    assert_eq!(
        worlds::balances(&t, &sharer, &s.merchant).await,
        (0, 0, 0, 0)
    );
    // Refunded in full: the coupon goes back to the friend (the shop's default term).
    assert_eq!(coupon_state(&t, &friend, &coupon).await, "available");
    let list = t
        .get(&templates(&s.merchant), Some(&s.owner.token))
        .await
        .expect(200);
    assert_eq!(list[0]["used_count"], 0);

    // A shop that keeps coupons on refunds (its after-sale term): used it stays.
    let terms = format!("/api/v1/merchants/{}/aftersale-terms", s.merchant);
    let mut kept = t.get(&terms, Some(&s.owner.token)).await.expect(200);
    assert_eq!(kept["return_coupon"], true);
    kept["return_coupon"] = json!(false);
    t.put(&terms, Some(&s.owner.token), kept).await.expect(200);
    let order = checkout_with(&t, &s, &friend, 2, &coupon).await.expect(201);
    let oid = id(&order);
    t.post(
        &format!("/api/v1/orders/{oid}/pay"),
        Some(&friend.token),
        json!({ "provider": "wallet" }),
    )
    .await
    .expect(200);
    t.post(
        &format!("/api/v1/merchants/{}/orders/{oid}/refunds", s.merchant),
        Some(&s.owner.token),
        json!({ "reason": "全部退款" }),
    )
    .await
    .expect(201);
    assert_eq!(coupon_state(&t, &friend, &coupon).await, "used");
    worlds::audit_clean(&t).await;
}

async fn a_checkout_refuses_a_coupon_that_does_not_apply_and_writes_nothing(t: TestApp) {
    let s = t.shop().plan(worlds::standard_plan()).build().await;
    let other = t.shop().plan(worlds::standard_plan()).build().await;
    let buyer = t.register_member("买家").await;
    let stranger = t.register_member("路人").await;
    // 满100减10 on ¥100 goods: one unit is exactly enough; 满300 is not.
    let mut big = ten_off(10, 1);
    big["min_spend_fen"] = json!(30_000);
    let big = id(&template(&t, &s.owner, &s.merchant, big).await);
    let big = id(&claim(&t, &buyer, &s.merchant, &big).await.expect(201));
    checkout_with(&t, &s, &buyer, 2, &big)
        .await
        .problem(409, Some("coupon_minimum_spend"));
    // Scoped to another product of the shop.
    let other_product = another_product(&t, &s).await;
    let mut scoped = ten_off(10, 1);
    scoped["product_ids"] = json!([id(&other_product)]);
    let scoped = id(&template(&t, &s.owner, &s.merchant, scoped).await);
    let scoped = id(&claim(&t, &buyer, &s.merchant, &scoped).await.expect(201));
    checkout_with(&t, &s, &buyer, 2, &scoped)
        .await
        .problem(409, Some("coupon_out_of_scope"));
    // Another shop's coupon; another member's coupon.
    let foreign = id(&template(&t, &other.owner, &other.merchant, ten_off(10, 1)).await);
    let foreign = id(&claim(&t, &buyer, &other.merchant, &foreign)
        .await
        .expect(201));
    checkout_with(&t, &s, &buyer, 2, &foreign)
        .await
        .problem(409, Some("coupon_other_shop"));
    let tid = id(&template(&t, &s.owner, &s.merchant, ten_off(10, 1)).await);
    let theirs = id(&claim(&t, &stranger, &s.merchant, &tid).await.expect(201));
    checkout_with(&t, &s, &buyer, 2, &theirs)
        .await
        .problem(404, None);
    checkout_with(&t, &s, &buyer, 2, "nonsense")
        .await
        .problem(404, None);
    // Nothing was written: no order, every coupon still available.
    let orders = t
        .get("/api/v1/me/orders", Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(
        orders["items"].as_array().map(Vec::len),
        Some(0),
        "{orders}"
    );
    for c in [&big, &scoped, &foreign] {
        assert_eq!(coupon_state(&t, &buyer, c).await, "available");
    }

    // A good one: locked in the unpaid order, back when it is cancelled, then usable once.
    let mine = id(&claim(&t, &buyer, &s.merchant, &tid).await.expect(201));
    let order = checkout_with(&t, &s, &buyer, 1, &mine).await.expect(201);
    assert_eq!(order["coupon_fen"], 1_000);
    checkout_with(&t, &s, &buyer, 1, &mine)
        .await
        .problem(409, Some("coupon_not_available"));
    t.post(
        &format!("/api/v1/orders/{}/cancel", id(&order)),
        Some(&buyer.token),
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(coupon_state(&t, &buyer, &mine).await, "available");
    // Expired: the window passes.
    t.clock.advance_secs(8 * DAY_SECS);
    checkout_with(&t, &s, &buyer, 1, &mine)
        .await
        .problem(409, Some("coupon_not_available"));
    worlds::audit_clean(&t).await;
}

/// Four checkouts race with one coupon: one order takes it, the others are refused and
/// leave no order behind.
async fn concurrent_checkouts_with_one_coupon_have_one_winner(t: TestApp) {
    let s = t.shop().plan(worlds::standard_plan()).build().await;
    let buyer = t.register_member("抢单").await;
    let tid = id(&template(&t, &s.owner, &s.merchant, ten_off(10, 1)).await);
    let coupon = id(&claim(&t, &buyer, &s.merchant, &tid).await.expect(201));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (client, url, token, sku, coupon) = (
            t.client.clone(),
            format!("{}/api/v1/merchants/{}/checkout", t.base, s.merchant),
            buyer.token.clone(),
            s.sku.clone(),
            coupon.clone(),
        );
        tasks.spawn(async move {
            let res = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": sku, "quantity": 1 }], "coupon_id": coupon }))
                .send()
                .await
                .expect("send");
            let status = res.status().as_u16();
            let body: Value = res.json().await.expect("json");
            (status, body)
        });
    }
    let mut won = 0;
    while let Some(joined) = tasks.join_next().await {
        let (status, body) = joined.expect("task");
        match status {
            201 => won += 1,
            409 => assert_eq!(body["field"], "coupon_not_available", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(won, 1);
    let orders = t
        .get("/api/v1/me/orders", Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(orders["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(coupon_state(&t, &buyer, &coupon).await, "locked");
}

/// 拼团 and coupons: the group price is already a discount, so a seat refuses a coupon
/// whose template does not allow group buys (409 naming the rule, the coupon untouched,
/// no seat taken) and takes one that does, on the group price.
async fn a_group_buy_seat_takes_a_coupon_only_when_its_template_allows_it(t: TestApp) {
    use kith_domain::Clock;
    let s = t
        .shop()
        .name("拼团券坊")
        .price(12_800)
        .stock(10)
        .build()
        .await;
    let ends = kith_app::rfc3339(t.clock.now_ms() + 7 * DAY_SECS * 1000);
    let campaign = id(&t
        .post(
            &format!("/api/v1/merchants/{}/group-campaigns", s.merchant),
            Some(&s.owner.token),
            json!({ "sku_id": s.sku, "group_size": 2, "group_price_fen": 9_900, "ends_at": ends, "stock_limit": 10 }),
        )
        .await
        .expect(201));
    let five_off = |allow: bool| {
        json!({ "name": if allow { "拼团可用" } else { "拼团不可用" }, "kind": "fixed", "off_fen": 500,
                "valid_days": 7, "total_count": 10, "allow_group_buy": allow })
    };
    let no = id(&template(&t, &s.owner, &s.merchant, five_off(false)).await);
    let yes = id(&template(&t, &s.owner, &s.merchant, five_off(true)).await);
    let leader = t.register_member("团长").await;
    let refused = id(&claim(&t, &leader, &s.merchant, &no).await.expect(201));
    let allowed = id(&claim(&t, &leader, &s.merchant, &yes).await.expect(201));

    let open = |coupon: String| {
        let t = &t;
        let token = leader.token.clone();
        let campaign = campaign.clone();
        async move {
            t.post(
                &format!("/api/v1/group-campaigns/{campaign}/groups"),
                Some(&token),
                json!({ "delivery": "shipping", "address": address(), "coupon_id": coupon }),
            )
            .await
        }
    };
    open(refused.clone())
        .await
        .problem(409, Some("coupon_not_for_group_buy"));
    assert_eq!(coupon_state(&t, &leader, &refused).await, "available");
    let seats = t
        .get("/api/v1/me/groups", Some(&leader.token))
        .await
        .expect(200);
    assert_eq!(seats.as_array().map(Vec::len), Some(0), "{seats}");

    let seat = open(allowed.clone()).await.expect(201);
    assert_eq!(seat["order"]["coupon_id"], allowed.as_str());
    assert_eq!(seat["order"]["coupon_fen"], 500);
    assert_eq!(seat["order"]["goods_fen"], 9_400);
    assert_eq!(coupon_state(&t, &leader, &allowed).await, "locked");
    assert_eq!(coupon_state(&t, &leader, &refused).await, "available");
    worlds::audit_clean(&t).await;
}

async fn issue(
    t: &TestApp,
    owner: &User,
    mid: &str,
    tid: &str,
    body: Value,
) -> crate::harness::Resp {
    t.post(
        &format!("{}/{tid}/issue", templates(mid)),
        Some(&owner.token),
        body,
    )
    .await
}

/// Issuing: to named members or to everyone in a tier (source `issued`), each through the
/// same count and per-member limit as a claim; one member at the limit or too few coupons
/// left refuses the whole issue and nothing is written.
async fn the_merchant_issues_coupons_to_members_or_a_tier_all_or_nothing(t: TestApp) {
    let (owner, mid) = t.approved_merchant("赤水晒醋").await;
    let tid = id(&template(&t, &owner, &mid, ten_off(4, 1)).await);
    let (a, b, c) = (
        t.register_member("阿甲").await,
        t.register_member("阿乙").await,
        t.register_member("阿丙").await,
    );
    // Coupons go to the shop's own members only: a stranger reads as no such member, the
    // same answer as an id that is no account at all.
    issue(&t, &owner, &mid, &tid, json!({ "account_ids": [a.id] }))
        .await
        .problem(422, Some("account_ids[0]"));
    // They become members by holding one of its tiers (as by buying, a binding or its
    // communities).
    t.post(
        &format!("/api/v1/merchants/{mid}/tiers"),
        Some(&owner.token),
        json!({ "code": "fan", "name": "粉丝", "rank": 0 }),
    )
    .await
    .expect(201);
    for u in [&a, &b, &c] {
        t.put(
            &format!("/api/v1/merchants/{mid}/members/{}/tier", u.id),
            Some(&owner.token),
            json!({ "tier_code": "fan" }),
        )
        .await
        .expect(200);
    }

    let given = issue(
        &t,
        &owner,
        &mid,
        &tid,
        json!({ "account_ids": [a.id, b.id] }),
    )
    .await
    .expect(201);
    assert_eq!(given.as_array().map(Vec::len), Some(2));
    let mine = t
        .get("/api/v1/me/coupons", Some(&a.token))
        .await
        .expect(200);
    assert_eq!(
        (mine[0]["source"].as_str(), mine[0]["state"].as_str()),
        (Some("issued"), Some("available"))
    );

    // b already holds one (limit 1): issuing to c and b refuses both, c gets nothing.
    issue(
        &t,
        &owner,
        &mid,
        &tid,
        json!({ "account_ids": [c.id, b.id] }),
    )
    .await
    .problem(409, Some("coupon_per_member_limit"));
    let none = t
        .get("/api/v1/me/coupons", Some(&c.token))
        .await
        .expect(200);
    assert_eq!(none.as_array().map(Vec::len), Some(0));
    let list = t
        .get(&templates(&mid), Some(&owner.token))
        .await
        .expect(200);
    assert_eq!(
        (
            list[0]["claimed_count"].as_i64(),
            list[0]["remaining"].as_i64()
        ),
        (Some(2), Some(2))
    );

    // Bad input names its field; a member may not issue.
    issue(&t, &owner, &mid, &tid, json!({ "account_ids": [] }))
        .await
        .problem(422, Some("account_ids"));
    issue(
        &t,
        &owner,
        &mid,
        &tid,
        json!({ "account_ids": [c.id, c.id] }),
    )
    .await
    .problem(422, Some("account_ids[1]"));
    issue(&t, &owner, &mid, &tid, json!({ "account_ids": ["nobody"] }))
        .await
        .problem(422, Some("account_ids[0]"));
    issue(&t, &owner, &mid, &tid, json!({ "tier_code": "vip" }))
        .await
        .problem(422, Some("tier_code"));
    issue(
        &t,
        &owner,
        &mid,
        &tid,
        json!({ "account_ids": [c.id], "tier_code": "vip" }),
    )
    .await
    .problem(422, Some("account_ids"));
    issue(&t, &a, &mid, &tid, json!({ "account_ids": [c.id] }))
        .await
        .problem(403, None);

    // A tier: everyone in it, through a template with enough left.
    t.post(
        &format!("/api/v1/merchants/{mid}/tiers"),
        Some(&owner.token),
        json!({ "code": "vip", "name": "会员", "rank": 1 }),
    )
    .await
    .expect(201);
    for u in [&a, &c] {
        t.put(
            &format!("/api/v1/merchants/{mid}/members/{}/tier", u.id),
            Some(&owner.token),
            json!({ "tier_code": "vip" }),
        )
        .await
        .expect(200);
    }
    // a already holds the first template's coupon; a template of one is too few for two.
    issue(&t, &owner, &mid, &tid, json!({ "tier_code": "vip" }))
        .await
        .problem(409, Some("coupon_per_member_limit"));
    let one = id(&template(&t, &owner, &mid, ten_off(1, 1)).await);
    issue(&t, &owner, &mid, &one, json!({ "tier_code": "vip" }))
        .await
        .problem(409, Some("coupon_sold_out"));
    let none = t
        .get("/api/v1/me/coupons", Some(&c.token))
        .await
        .expect(200);
    assert_eq!(
        none.as_array().map(Vec::len),
        Some(0),
        "nothing issued: {none}"
    );
    let vip = id(&template(&t, &owner, &mid, ten_off(10, 1)).await);
    let given = issue(&t, &owner, &mid, &vip, json!({ "tier_code": "vip" }))
        .await
        .expect(201);
    let mut got: Vec<&str> = given
        .as_array()
        .expect("list")
        .iter()
        .map(|g| g["account_id"].as_str().expect("id"))
        .collect();
    got.sort_unstable();
    let mut want = vec![a.id.as_str(), c.id.as_str()];
    want.sort_unstable();
    assert_eq!(got, want);
    worlds::audit_clean(&t).await;
}

/// The share coupon journey, to the fen: the merchant chooses 满100减12.34 as its share
/// coupon; a friend arrives by a distributor's link, sees it offered, claims it through the
/// link (bound to the sharer as the visit binds), buys three at ¥100 with it; the goods
/// paid are ¥287.66 and the sharer's L1 (10 %) is ⌊28 766 × 10 %⌋ = 2 876 fen.
async fn the_share_coupon_travels_with_the_link_and_the_sharer_earns_on_the_discounted_base(
    t: TestApp,
) {
    let s = t.shop().plan(worlds::standard_plan()).build().await;
    let sharer = t.register_member("分享达人").await;
    let (_, code) = worlds::product_link(&t, &s, &sharer).await;

    // No share coupon yet: the link offers nothing.
    let offered = t
        .get(&format!("/api/v1/s/{code}/coupons"), None)
        .await
        .expect(200);
    assert_eq!(offered.as_array().map(Vec::len), Some(0));

    let mut body = ten_off(10, 1);
    body["off_fen"] = json!(1_234);
    let tid = id(&template(&t, &s.owner, &s.merchant, body).await);
    let set_path = format!("/api/v1/merchants/{}/share-coupon", s.merchant);
    t.put(
        &set_path,
        Some(&s.owner.token),
        json!({ "template_id": "nope" }),
    )
    .await
    .problem(422, Some("template_id"));
    let set = t
        .put(
            &set_path,
            Some(&s.owner.token),
            json!({ "template_id": tid }),
        )
        .await
        .expect(200);
    assert_eq!(set["template"]["id"], tid.as_str());
    assert_eq!(
        t.get(&set_path, Some(&s.owner.token)).await.expect(200)["template"]["id"],
        tid.as_str()
    );
    t.put(
        &set_path,
        Some(&sharer.token),
        json!({ "template_id": tid }),
    )
    .await
    .problem(403, None);

    let offered = t
        .get(&format!("/api/v1/s/{code}/coupons"), None)
        .await
        .expect(200);
    assert_eq!(offered.as_array().map(Vec::len), Some(1));
    assert_eq!(offered[0]["id"], tid.as_str());
    // Only the link offers it: not the shop's 领券中心, and a direct claim is refused.
    let center = t
        .get(&format!("/api/v1/merchants/{}/coupons", s.merchant), None)
        .await
        .expect(200);
    assert!(
        center
            .as_array()
            .expect("list")
            .iter()
            .all(|o| o["id"] != tid.as_str()),
        "{center}"
    );
    claim(&t, &sharer, &s.merchant, &tid)
        .await
        .problem(409, Some("coupon_share_only"));

    // The sharer cannot take the friend's coupon; an unrelated template is not offered.
    let claim_path = format!("/api/v1/s/{code}/coupons/{tid}/claim");
    t.post(&claim_path, Some(&sharer.token), json!({}))
        .await
        .problem(409, Some("coupon_own_share"));
    let other = id(&template(&t, &s.owner, &s.merchant, ten_off(10, 1)).await);
    let friend = t.register_member("新朋友").await;
    t.post(
        &format!("/api/v1/s/{code}/coupons/{other}/claim"),
        Some(&friend.token),
        json!({}),
    )
    .await
    .problem(404, None);

    let coupon = t
        .post(&claim_path, Some(&friend.token), json!({}))
        .await
        .expect(201);
    assert_eq!(coupon["source"], "share");
    // Claiming followed the link: the friend is bound to the sharer at the shop.
    let refs = t
        .get("/api/v1/me/referrers", Some(&friend.token))
        .await
        .expect(200);
    assert_eq!(refs[0]["referrer_id"], sharer.id.as_str(), "{refs}");
    t.post(&claim_path, Some(&friend.token), json!({}))
        .await
        .problem(409, Some("coupon_per_member_limit"));

    t.top_up(&friend, 40_000).await;
    let order = checkout_with(&t, &s, &friend, 3, &id(&coupon))
        .await
        .expect(201);
    assert_eq!(order["coupon_fen"], 1_234);
    assert_eq!(order["goods_fen"], 28_766);
    t.post(
        &format!("/api/v1/orders/{}/pay", id(&order)),
        Some(&friend.token),
        json!({ "provider": "wallet" }),
    )
    .await
    .expect(200);
    assert_eq!(
        worlds::balances(&t, &sharer, &s.merchant).await,
        (2_876, 0, 0, 0)
    );

    // Choosing none stops the offer.
    t.put(
        &set_path,
        Some(&s.owner.token),
        json!({ "template_id": null }),
    )
    .await
    .expect(200);
    let offered = t
        .get(&format!("/api/v1/s/{code}/coupons"), None)
        .await
        .expect(200);
    assert_eq!(offered.as_array().map(Vec::len), Some(0));
    worlds::audit_clean(&t).await;
}

/// The cart's coupons: each available coupon priced against the cart as it is now, the
/// rule named for those that do not apply, the best first; the best changes as the cart
/// grows, and checkout with it takes exactly what was shown.
async fn the_cart_prices_each_coupon_and_marks_the_best(t: TestApp) {
    let s = t.shop().plan(worlds::standard_plan()).build().await;
    let other = t.shop().plan(worlds::standard_plan()).build().await;
    let buyer = t.register_member("挑券").await;
    let fits = |who: &User| {
        let (t, who, mid) = (&t, who.token.clone(), s.merchant.clone());
        async move {
            t.get(&format!("/api/v1/merchants/{mid}/cart/coupons"), Some(&who))
                .await
                .expect(200)
        }
    };
    // 满100减10; 20 % off at most ¥15; 满300减50; 满100减10 on another product only.
    let ten = id(&template(&t, &s.owner, &s.merchant, ten_off(10, 1)).await);
    let pct = id(&template(
        &t,
        &s.owner,
        &s.merchant,
        json!({ "name": "八折券", "kind": "percent", "percent_off": 20, "cap_fen": 1_500,
                "valid_days": 7, "total_count": 10 }),
    )
    .await);
    let mut big = ten_off(10, 1);
    big["off_fen"] = json!(5_000);
    big["min_spend_fen"] = json!(30_000);
    let big = id(&template(&t, &s.owner, &s.merchant, big).await);
    let elsewhere = another_product(&t, &s).await;
    let mut scoped = ten_off(10, 1);
    scoped["product_ids"] = json!([id(&elsewhere)]);
    let scoped = id(&template(&t, &s.owner, &s.merchant, scoped).await);
    let foreign = id(&template(&t, &other.owner, &other.merchant, ten_off(10, 1)).await);
    let mut mine = std::collections::HashMap::new();
    for (name, tid) in [
        ("ten", &ten),
        ("pct", &pct),
        ("big", &big),
        ("scoped", &scoped),
    ] {
        let k = id(&claim(&t, &buyer, &s.merchant, tid).await.expect(201));
        mine.insert(k, name);
    }
    claim(&t, &buyer, &other.merchant, &foreign)
        .await
        .expect(201);

    let summary = |v: &Value| -> Vec<(String, Value, Value, bool)> {
        v.as_array()
            .expect("list")
            .iter()
            .map(|f| {
                (
                    mine.get(f["coupon"]["id"].as_str().expect("id"))
                        .copied()
                        .unwrap_or("foreign")
                        .to_owned(),
                    f["discount_fen"].clone(),
                    f["refusal"].clone(),
                    f["best"].as_bool().expect("best"),
                )
            })
            .collect()
    };
    let cart = |qty: i64| {
        let (t, tok, mid, sku) = (&t, buyer.token.clone(), s.merchant.clone(), s.sku.clone());
        async move {
            t.put(
                &format!("/api/v1/merchants/{mid}/cart/items/{sku}"),
                Some(&tok),
                json!({ "quantity": qty }),
            )
            .await
            .expect(200);
        }
    };
    // An empty cart: nothing applies, nothing is best.
    let empty = summary(&fits(&buyer).await);
    assert_eq!(empty.len(), 4, "{empty:?}");
    assert!(
        empty.iter().all(|(_, d, _, best)| d.is_null() && !best),
        "{empty:?}"
    );

    // ¥200: 20 % would be ¥40, capped at ¥15 — the best; ¥10 next; 满300 and the other
    // product's coupon say why not.
    cart(2).await;
    let two = summary(&fits(&buyer).await);
    assert_eq!(
        two,
        vec![
            ("pct".into(), json!(1_500), Value::Null, true),
            ("ten".into(), json!(1_000), Value::Null, false),
            (
                "big".into(),
                Value::Null,
                json!("coupon_minimum_spend"),
                false
            ),
            (
                "scoped".into(),
                Value::Null,
                json!("coupon_out_of_scope"),
                false
            ),
        ]
    );
    // ¥300: 满300减50 is now the best.
    cart(3).await;
    let three = fits(&buyer).await;
    let first = &three[0];
    assert_eq!(
        (
            mine[first["coupon"]["id"].as_str().unwrap()],
            first["discount_fen"].as_i64(),
            first["best"].as_bool()
        ),
        ("big", Some(5_000), Some(true)),
        "{three}"
    );
    // Checkout with the best takes exactly what was shown; the coupon leaves the list.
    let best = first["coupon"]["id"].as_str().unwrap().to_owned();
    let order = checkout_with(&t, &s, &buyer, 3, &best).await.expect(201);
    assert_eq!(order["coupon_fen"], 5_000);
    let after = summary(&fits(&buyer).await);
    assert_eq!(after.len(), 3, "{after:?}");
    assert!(after.iter().all(|(name, ..)| name != "big"), "{after:?}");

    // Only the caller's own coupons, and only signed in.
    let stranger = t.register_member("路人").await;
    assert_eq!(fits(&stranger).await, json!([]));
    t.get(
        &format!("/api/v1/merchants/{}/cart/coupons", s.merchant),
        None,
    )
    .await
    .problem(401, None);
}

/// The new-member coupon: chosen by staff (a stranger is refused, a bad id named), claimed
/// through the usual claim by a member with no order at the shop (source `new_member`),
/// refused with `coupon_not_new_member` to one who has ordered — a cancelled order does
/// not count — and an ordinary coupon again once the merchant unsets it.
async fn the_new_member_coupon_is_only_for_members_new_to_the_shop(t: TestApp) {
    let s = t.shop().plan(worlds::standard_plan()).build().await;
    let tid = id(&template(&t, &s.owner, &s.merchant, ten_off(10, 1)).await);
    let setting = format!("/api/v1/merchants/{}/new-member-coupon", s.merchant);
    let stranger = t.register_member("路人").await;
    t.put(
        &setting,
        Some(&stranger.token),
        json!({ "template_id": tid }),
    )
    .await
    .problem(403, None);
    t.put(
        &setting,
        Some(&s.owner.token),
        json!({ "template_id": "nonsense" }),
    )
    .await
    .problem(422, Some("template_id"));
    let none = t.get(&setting, Some(&s.owner.token)).await.expect(200);
    assert!(none["template"].is_null(), "{none}");
    let set = t
        .put(
            &setting,
            Some(&s.owner.token),
            json!({ "template_id": tid }),
        )
        .await
        .expect(200);
    assert_eq!(set["template"]["id"].as_str(), Some(tid.as_str()));

    let order = |who: &User| {
        let (t, tok, mid, sku) = (&t, who.token.clone(), s.merchant.clone(), s.sku.clone());
        async move {
            t.post(
                &format!("/api/v1/merchants/{mid}/checkout"),
                Some(&tok),
                json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": sku, "quantity": 1 }] }),
            )
            .await
            .expect(201)
        }
    };
    // An unpaid order is an order: not new any more.
    let veteran = t.register_member("老顾客").await;
    order(&veteran).await;
    claim(&t, &veteran, &s.merchant, &tid)
        .await
        .problem(409, Some("coupon_not_new_member"));
    // A cancelled order does not count.
    let hesitant = t.register_member("犹豫").await;
    let cancelled = order(&hesitant).await;
    t.post(
        &format!("/api/v1/orders/{}/cancel", id(&cancelled)),
        Some(&hesitant.token),
        json!({}),
    )
    .await
    .expect(200);
    let k = claim(&t, &hesitant, &s.merchant, &tid).await.expect(201);
    assert_eq!(k["source"], "new_member");
    let newbie = t.register_member("新人").await;
    let k = claim(&t, &newbie, &s.merchant, &tid).await.expect(201);
    assert_eq!(k["source"], "new_member");

    // Unset: an ordinary coupon, claimable by anyone.
    t.put(
        &setting,
        Some(&s.owner.token),
        json!({ "template_id": null }),
    )
    .await
    .expect(200);
    let k = claim(&t, &veteran, &s.merchant, &tid).await.expect(201);
    assert_eq!(k["source"], "claim");
}

/// Two coupons worth the same on the cart: the one that ends sooner is marked best (and
/// comes first), whichever was claimed first — the member keeps the longer one for later.
async fn of_two_equal_coupons_the_one_ending_sooner_is_best(t: TestApp) {
    let s = t.shop().plan(worlds::standard_plan()).build().await;
    let buyer = t.register_member("先用快过期的").await;
    let mut long = ten_off(10, 1);
    long["valid_days"] = json!(30);
    let long = id(&template(&t, &s.owner, &s.merchant, long).await);
    let short = id(&template(&t, &s.owner, &s.merchant, ten_off(10, 1)).await);
    let long_coupon = id(&claim(&t, &buyer, &s.merchant, &long).await.expect(201));
    let short_coupon = id(&claim(&t, &buyer, &s.merchant, &short).await.expect(201));
    t.put(
        &format!("/api/v1/merchants/{}/cart/items/{}", s.merchant, s.sku),
        Some(&buyer.token),
        json!({ "quantity": 2 }),
    )
    .await
    .expect(200);
    let fits = t
        .get(
            &format!("/api/v1/merchants/{}/cart/coupons", s.merchant),
            Some(&buyer.token),
        )
        .await
        .expect(200);
    let order: Vec<(String, i64, bool)> = fits
        .as_array()
        .expect("fits")
        .iter()
        .map(|f| {
            (
                f["coupon"]["id"].as_str().expect("id").to_owned(),
                f["discount_fen"].as_i64().expect("applies"),
                f["best"].as_bool().expect("best"),
            )
        })
        .collect();
    assert_eq!(
        order,
        vec![(short_coupon, 1_000, true), (long_coupon, 1_000, false)]
    );
}
