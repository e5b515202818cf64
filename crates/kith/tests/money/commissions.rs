//! Commission plans and the lifecycle of commission through refunds, on both engines:
//! plan validation (a third level, rates over the cap, who may set it), per-product
//! overrides, proportional reversal before settlement, clawback after it carried as a debt
//! and netted against later earnings; the fraud guard's review flag. The ledger audit stays
//! clean throughout.

use serde_json::json;

use crate::both_engines;
use crate::harness::{PASSWORD, TestApp, User};
use crate::worlds::{
    audit_clean, balances, close_after_sale_window, earn_available, product_link, ship_and_deliver,
    signup_via, standard_plan,
};

both_engines!(
    plans_refuse_bad_input,
    refunds_reverse_in_proportion_and_claw_back,
    shared_phone_or_address_flags_for_review,
);

async fn plans_refuse_bad_input(t: TestApp) {
    let s = t.shop().plan(standard_plan()).build().await;
    let url = format!("/api/v1/merchants/{}/commission-plan", s.merchant);
    let plan = t.get(&url, None).await.expect(200);
    assert_eq!(plan["levels_bp"], json!([1000, 500]));
    assert_eq!(plan["cap_bp"], 3000);
    assert_eq!(plan["binding_mode"], "permanent");
    assert_eq!(plan["attribution_window_days"], 7);

    let put = |body| t.put(&url, Some(&s.owner.token), body);
    put(json!({ "levels_bp": [1000, 500, 100] }))
        .await
        .problem(422, Some("levels_bp[2]"));
    put(json!({ "levels_bp": [2000, 900], "rebate_bp": 200 }))
        .await
        .problem(422, Some("levels_bp"));
    put(json!({ "levels_bp": [1000], "cap_bp": 900 }))
        .await
        .problem(422, Some("levels_bp"));
    put(json!({ "levels_bp": [-1] }))
        .await
        .problem(422, Some("levels_bp[0]"));
    put(json!({ "levels_bp": [100], "cap_bp": 10_001 }))
        .await
        .problem(422, Some("cap_bp"));
    put(json!({ "levels_bp": [100], "binding_mode": "forever" }))
        .await
        .problem(422, Some("binding_mode"));
    put(json!({ "levels_bp": [100], "binding_mode": "permanent", "binding_days": 3 }))
        .await
        .problem(422, Some("binding_days"));
    put(json!({ "levels_bp": [100], "attribution_window_days": 0 }))
        .await
        .problem(422, Some("attribution_window_days"));
    put(json!({ "levels_bp": [100], "withdraw_min_fen": 0 }))
        .await
        .problem(422, Some("withdraw_min_fen"));
    put(json!({ "levels_bp": [100], "group_leader_bp": 5000 }))
        .await
        .problem(422, Some("levels_bp"));
    put(json!({ "levels_bp": [100], "surprise": 1 }))
        .await
        .problem(422, None);
    // Nothing changed.
    assert_eq!(
        t.get(&url, None).await.expect(200)["levels_bp"],
        json!([1000, 500])
    );

    // The group-buy hooks are stored for issue 7.
    let p = put(
        json!({ "levels_bp": [1000, 500], "group_buy_commission": true, "group_leader_bp": 300 }),
    )
    .await
    .expect(200);
    assert_eq!(
        (
            p["group_buy_commission"].as_bool(),
            p["group_leader_bp"].as_i64()
        ),
        (Some(true), Some(300))
    );

    // Only the owner sets the plan.
    let member = t.register_member("路人").await;
    t.put(&url, Some(&member.token), json!({ "levels_bp": [100] }))
        .await
        .problem(403, None);
    let manager = t.manager(&s.owner, &s.merchant).await;
    t.put(&url, Some(&manager.token), json!({ "levels_bp": [100] }))
        .await
        .problem(403, None);
    t.put(&url, None, json!({ "levels_bp": [100] }))
        .await
        .problem(401, None);
    t.get(
        "/api/v1/merchants/00000000-0000-0000-0000-000000000001/commission-plan",
        None,
    )
    .await
    .problem(404, None);

    // Per-product overrides within the cap; a lower cap cannot strand an override.
    let ov = format!("{url}/products/{}", s.product);
    t.put(
        &ov,
        Some(&s.owner.token),
        json!({ "levels_bp": [2500, 600] }),
    )
    .await
    .problem(422, Some("levels_bp"));
    t.put(&ov, Some(&s.owner.token), json!({ "levels_bp": [1, 2, 3] }))
        .await
        .problem(422, Some("levels_bp[2]"));
    t.put(&ov, Some(&member.token), json!({ "levels_bp": [2000] }))
        .await
        .problem(403, None);
    let other = t.shop().plan(standard_plan()).build().await;
    t.put(
        &format!("{url}/products/{}", other.product),
        Some(&s.owner.token),
        json!({ "levels_bp": [2000] }),
    )
    .await
    .problem(404, None);
    let p = t
        .put(
            &ov,
            Some(&s.owner.token),
            json!({ "levels_bp": [2000, 500] }),
        )
        .await
        .expect(200);
    assert_eq!(p["overrides"][0]["levels_bp"], json!([2000, 500]));
    put(json!({ "levels_bp": [1000], "cap_bp": 2000 }))
        .await
        .problem(422, Some("cap_bp"));

    // The override applies to that product's lines: L1 20 % on ¥100.
    let a = t.register_member("分享者").await;
    let (_, code) = product_link(&t, &s, &a).await;
    let buyer = signup_via(&t, &code, "买家").await;
    let o = t.order(&s, &buyer).paid().await;
    let oc = t
        .get(
            &format!("/api/v1/orders/{}/commission", o["id"].as_str().unwrap()),
            Some(&a.token),
        )
        .await
        .expect(200);
    assert_eq!(oc["shares"][0]["amount_fen"], 2_000);
    assert_eq!(oc["shares"][0]["rate_bp"], 2_000);
    // The merchant's staff see it too; another merchant's do not.
    t.get(
        &format!("/api/v1/orders/{}/commission", o["id"].as_str().unwrap()),
        Some(&s.owner.token),
    )
    .await
    .expect(200);
    t.get(
        &format!("/api/v1/orders/{}/commission", o["id"].as_str().unwrap()),
        Some(&other.owner.token),
    )
    .await
    .problem(404, None);
}

async fn refunds_reverse_in_proportion_and_claw_back(t: TestApp) {
    let s = t.shop().plan(standard_plan()).build().await;
    let a = t.register_member("上线").await;
    let b = t.register_member("分享者").await;
    let (_, a_code) = product_link(&t, &s, &a).await;
    crate::worlds::visit(&t, Some(&b), &a_code).await;
    let (_, b_code) = product_link(&t, &s, &b).await;
    let c = signup_via(&t, &b_code, "买家").await;

    // Two units (¥200): B 2000 (L1), A 1000 (L2).
    let o = t.order(&s, &c).qty(2).paid().await;
    let oid = o["id"].as_str().unwrap().to_owned();
    let refund_url = format!("/api/v1/merchants/{}/orders/{oid}/refunds", s.merchant);
    let refund = |lines: Option<serde_json::Value>| {
        let mut body = json!({ "reason": "不想要了" });
        if let Some(l) = lines {
            body["lines"] = l;
        }
        t.post(&refund_url, Some(&s.owner.token), body)
    };
    // Refund one unit while pending: half of each share goes back to the merchant.
    refund(Some(json!([{ "line_no": 1, "quantity": 1 }])))
        .await
        .expect(201);
    assert_eq!(balances(&t, &b, &s.merchant).await, (1_000, 0, 0, 0));
    assert_eq!(balances(&t, &a, &s.merchant).await, (500, 0, 0, 0));
    audit_clean(&t).await;

    // Delivered and settled: what stands becomes available.
    ship_and_deliver(&t, &s, &oid).await;
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 1_000, 0, 0));
    close_after_sale_window(&t).await;
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 1_000, 0));
    assert_eq!(balances(&t, &a, &s.merchant).await, (0, 0, 500, 0));
    audit_clean(&t).await;

    // B withdraws it all; then the last unit is refunded after settlement: a clawback
    // leaves B with a debt, and withdrawing is refused while in debt.
    t.post(
        &format!("/api/v1/distributors/{}/withdrawals", b.id),
        Some(&b.token),
        json!({ "merchant_id": s.merchant, "amount_fen": 1_000 }),
    )
    .await
    .expect(201);
    refund(None).await.expect(201);
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, -1_000, 1_000));
    assert_eq!(balances(&t, &a, &s.merchant).await, (0, 0, 0, 0));
    let oc = t
        .get(&format!("/api/v1/orders/{oid}/commission"), Some(&b.token))
        .await
        .expect(200);
    assert!(
        oc["shares"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["reversed_fen"] == s["amount_fen"]),
        "{oc}"
    );
    t.post(
        &format!("/api/v1/distributors/{}/withdrawals", b.id),
        Some(&b.token),
        json!({ "merchant_id": s.merchant, "amount_fen": 1_000 }),
    )
    .await
    .problem(409, Some("amount_fen"));
    let earn = t
        .get(
            &format!("/api/v1/distributors/{}/earnings", b.id),
            Some(&b.token),
        )
        .await
        .expect(200);
    assert_eq!(
        earn["total_fen"], 0,
        "a fully refunded order leaves nothing earned"
    );
    audit_clean(&t).await;

    // The debt is netted against the next earnings.
    earn_available(&t, &s, &b, 3_000).await;
    assert_eq!(balances(&t, &b, &s.merchant).await.2, 2_000);

    // A full refund before payment settles reverses everything.
    let o = t.order(&s, &c).paid().await;
    let oid2 = o["id"].as_str().unwrap().to_owned();
    t.post(
        &format!("/api/v1/merchants/{}/orders/{oid2}/refunds", s.merchant),
        Some(&s.owner.token),
        json!({ "reason": "缺货" }),
    )
    .await
    .expect(201);
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 2_000, 1_000));
    audit_clean(&t).await;
}

/// Fraud guard: an order whose beneficiary shares the shipping address's phone number, or
/// ships their own orders to the same address, is flagged for review — not blocked.
async fn shared_phone_or_address_flags_for_review(t: TestApp) {
    let s = t.shop().plan(standard_plan()).build().await;
    // The sharer's phone is the one on the test shipping address.
    let acct = t
        .post(
            "/api/v1/accounts",
            None,
            json!({ "phone": "13912345678", "password": PASSWORD, "display_name": "同一人" }),
        )
        .await
        .expect(201);
    let login = t.login("13912345678", PASSWORD).await.expect(201);
    let sharer = User {
        id: acct["id"].as_str().unwrap().to_owned(),
        token: login["token"].as_str().unwrap().to_owned(),
        login: "13912345678".into(),
    };
    let (_, code) = product_link(&t, &s, &sharer).await;
    let alt = signup_via(&t, &code, "小号").await;
    let o = t.order(&s, &alt).paid().await;
    let oc = t
        .get(
            &format!("/api/v1/orders/{}/commission", o["id"].as_str().unwrap()),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    assert!(
        oc["review_reason"].as_str().unwrap().contains("phone"),
        "{oc}"
    );
    assert_eq!(oc["shares"][0]["state"], "pending", "flagged, not blocked");

    // Another sharer who ships their own orders to the buyer's address.
    let b = t.register_member("同住").await;
    t.order(&s, &b).paid().await;
    let (_, code) = product_link(&t, &s, &b).await;
    let housemate = signup_via(&t, &code, "室友").await;
    let o = t.order(&s, &housemate).paid().await;
    let oc = t
        .get(
            &format!("/api/v1/orders/{}/commission", o["id"].as_str().unwrap()),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    assert!(
        oc["review_reason"].as_str().unwrap().contains("address"),
        "{oc}"
    );
    // The reason names other members' phone or address links: staff only. The buyer and
    // the beneficiary see the shares, not why the order is held.
    for who in [&housemate, &b] {
        let seen = t
            .get(
                &format!("/api/v1/orders/{}/commission", o["id"].as_str().unwrap()),
                Some(&who.token),
            )
            .await
            .expect(200);
        assert!(seen["review_reason"].is_null(), "{seen}");
    }

    // An ordinary order is not flagged.
    let o = t.order(&s, &b).paid().await;
    let oc = t
        .get(
            &format!("/api/v1/orders/{}/commission", o["id"].as_str().unwrap()),
            Some(&b.token),
        )
        .await
        .expect(200);
    assert!(oc["review_reason"].is_null(), "{oc}");
    audit_clean(&t).await;
}
