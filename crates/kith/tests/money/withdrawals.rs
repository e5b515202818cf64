//! Withdrawals on both engines: minimum, daily limit and balance checks; only the member
//! withdraws and sees their wallet; only platform admins decide; a rejection or a failed
//! payout returns the money; concurrent requests can never overdraw; the sandbox gateway's
//! payout page pays an approved withdrawal out (or fails it) through the signed webhook.

use serde_json::json;

use crate::both_engines;
use crate::harness::TestApp;
use crate::worlds::{audit_clean, balances, earn_available};

both_engines!(
    withdrawals_refuse_bad_input,
    rejected_and_failed_payouts_return_the_money,
    concurrent_withdrawals_cannot_overdraw,
    the_sandbox_gateway_pays_out_from_its_page,
    the_statement_by_order_is_for_the_member_and_the_shops_staff
);

/// `GET …/wallets/{merchant}/orders`: one line per order earned on, with what it bought and
/// where the money stands; refunds show as reversed; only the member and that shop's staff.
async fn the_statement_by_order_is_for_the_member_and_the_shops_staff(t: TestApp) {
    let s = t.shop().plan(json!({ "levels_bp": [1000] })).build().await;
    let b = t.register_member("分享者").await;
    earn_available(&t, &s, &b, 3_000).await;
    let (_, code) = crate::worlds::product_link(&t, &s, &b).await;
    let buyer = crate::worlds::signup_via(&t, &code, "朋友").await;
    let paid = t.order(&s, &buyer).qty(2).paid().await;
    let unpaid = t.order(&s, &buyer).placed().await;
    let url = format!(
        "/api/v1/distributors/{}/wallets/{}/orders",
        b.id, s.merchant
    );

    let page = t.get(&url, Some(&b.token)).await.expect(200);
    let items = page["items"].as_array().unwrap();
    // The unpaid order books nothing yet; newest first.
    assert_eq!(items.len(), 2, "{page}");
    assert_eq!(items[0]["order_id"], paid["id"]);
    assert_eq!(items[0]["state"], "pending");
    assert_eq!(items[0]["booked_fen"], 2_000);
    assert_eq!(items[0]["reversed_fen"], 0);
    assert_eq!(
        items[0]["goods"],
        json!([{ "product_name": "高山红茶", "quantity": 2 }])
    );
    assert_eq!(items[1]["state"], "available");
    assert_eq!(items[1]["booked_fen"], 3_000);
    assert!(items.iter().all(|i| i["order_id"] != unpaid["id"]));
    // Paged: one a page, the cursor leads to the older one.
    let first = t
        .get(&format!("{url}?limit=1"), Some(&b.token))
        .await
        .expect(200);
    assert_eq!(first["items"][0]["order_id"], paid["id"]);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = t
        .get(&format!("{url}?limit=1&cursor={cursor}"), Some(&b.token))
        .await
        .expect(200);
    assert_eq!(second["items"][0]["booked_fen"], 3_000);
    assert!(second["next_cursor"].is_null(), "{second}");

    // A full refund of the paid order takes the commission back.
    let oid = paid["id"].as_str().unwrap();
    t.post(
        &format!("/api/v1/merchants/{}/orders/{oid}/refunds", s.merchant),
        Some(&s.owner.token),
        json!({ "lines": [{ "line_no": 1, "quantity": 2 }], "reason": "缺货" }),
    )
    .await
    .expect(201);
    let after = t.get(&url, Some(&b.token)).await.expect(200);
    let line = &after["items"][0];
    assert_eq!(line["order_id"], paid["id"]);
    assert_eq!(line["reversed_fen"], 2_000, "{after}");

    // The shop's staff may read it; another member, another shop's owner may not.
    t.get(&url, Some(&s.owner.token)).await.expect(200);
    let x = t.register_member("别人").await;
    t.get(&url, Some(&x.token)).await.problem(403, None);
    let other = t.shop().plan(json!({ "levels_bp": [100] })).build().await;
    t.get(&url, Some(&other.owner.token))
        .await
        .problem(403, None);
    t.get(&url, None).await.problem(401, None);
    // A merchant that does not exist, a malformed id, a bad page size.
    t.get(
        &format!(
            "/api/v1/distributors/{}/wallets/0b6e4c1e-5d0a-4c3b-9f1e-2a7d6c5b4a39/orders",
            b.id
        ),
        Some(&b.token),
    )
    .await
    .problem(404, None);
    t.get(
        &format!("/api/v1/distributors/{}/wallets/not-an-id/orders", b.id),
        Some(&b.token),
    )
    .await
    .problem(404, None);
    t.get(&format!("{url}?limit=0"), Some(&b.token))
        .await
        .problem(422, None);
}

async fn withdrawals_refuse_bad_input(t: TestApp) {
    let s = t.shop().plan(json!({ "levels_bp": [1000, 500], "withdraw_min_fen": 1_000, "withdraw_daily_limit_fen": 3_000 })).build().await;
    let b = t.register_member("分享者").await;
    earn_available(&t, &s, &b, 5_000).await;
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 5_000, 0));
    let url = format!("/api/v1/distributors/{}/withdrawals", b.id);
    let ask = |amount: i64| {
        t.post(
            &url,
            Some(&b.token),
            json!({ "merchant_id": s.merchant, "amount_fen": amount }),
        )
    };

    ask(999).await.problem(422, Some("amount_fen"));
    ask(0).await.problem(422, Some("amount_fen"));
    ask(3_001).await.problem(422, Some("amount_fen"));
    t.post(
        &url,
        Some(&b.token),
        json!({ "merchant_id": "nope", "amount_fen": 1_000 }),
    )
    .await
    .problem(422, Some("merchant_id"));
    t.post(&url, Some(&b.token), json!({ "merchant_id": s.merchant }))
        .await
        .problem(422, None);
    // Within the limit twice, then the day's total would pass it.
    let first = ask(2_000).await.expect(201);
    ask(1_000).await.expect(201);
    ask(1_000).await.problem(409, Some("amount_fen"));
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 2_000, 3_000));
    // A day later the limit is fresh, but the balance is the bound.
    t.clock.advance_secs(24 * 3600 + 1);
    ask(3_000).await.problem(409, Some("amount_fen"));
    ask(2_000).await.expect(201);
    ask(1_000).await.problem(409, Some("amount_fen"));

    // Someone else's wallet and withdrawals.
    let x = t.register_member("别人").await;
    t.get(
        &format!("/api/v1/distributors/{}/wallets/{}", b.id, s.merchant),
        Some(&x.token),
    )
    .await
    .problem(403, None);
    t.get(
        &format!("/api/v1/distributors/{}/wallets", b.id),
        Some(&x.token),
    )
    .await
    .problem(403, None);
    t.get(
        &format!("/api/v1/distributors/{}/withdrawals", b.id),
        Some(&x.token),
    )
    .await
    .problem(403, None);
    t.get(
        &format!("/api/v1/distributors/{}/earnings", b.id),
        Some(&x.token),
    )
    .await
    .problem(403, None);
    t.get(
        &format!("/api/v1/distributors/{}/share-links", b.id),
        Some(&x.token),
    )
    .await
    .problem(403, None);
    t.post(
        &url,
        Some(&x.token),
        json!({ "merchant_id": s.merchant, "amount_fen": 1_000 }),
    )
    .await
    .problem(403, None);
    let wid = first["id"].as_str().unwrap();
    t.get(&format!("/api/v1/withdrawals/{wid}"), Some(&x.token))
        .await
        .problem(404, None);
    assert_eq!(
        t.get(&format!("/api/v1/withdrawals/{wid}"), Some(&b.token))
            .await
            .expect(200)["amount_fen"],
        2_000
    );
    // The merchant's staff see a distributor's wallet at their merchant, not elsewhere.
    t.get(
        &format!("/api/v1/distributors/{}/wallets/{}", b.id, s.merchant),
        Some(&s.owner.token),
    )
    .await
    .expect(200);
    let other = t.shop().plan(json!({ "levels_bp": [100] })).build().await;
    t.get(
        &format!("/api/v1/distributors/{}/wallets/{}", b.id, s.merchant),
        Some(&other.owner.token),
    )
    .await
    .problem(403, None);

    // Only platform admins decide.
    t.get("/api/v1/admin/withdrawals", Some(&b.token))
        .await
        .problem(403, None);
    t.post(
        &format!("/api/v1/admin/withdrawals/{wid}/approve"),
        Some(&s.owner.token),
        json!({}),
    )
    .await
    .problem(403, None);
    t.post(
        &format!("/api/v1/admin/withdrawals/{wid}/reject"),
        Some(&b.token),
        json!({ "reason": "x" }),
    )
    .await
    .problem(403, None);
    let admin = t.admin().await;
    t.post(
        &format!("/api/v1/admin/withdrawals/{wid}/reject"),
        Some(&admin.token),
        json!({ "reason": "" }),
    )
    .await
    .problem(422, Some("reason"));
    t.post(
        "/api/v1/admin/withdrawals/00000000-0000-0000-0000-000000000001/approve",
        Some(&admin.token),
        json!({}),
    )
    .await
    .problem(404, None);
    t.post(
        &format!("/api/v1/admin/withdrawals/{wid}/approve"),
        Some(&admin.token),
        json!({}),
    )
    .await
    .expect(200);
    t.post(
        &format!("/api/v1/admin/withdrawals/{wid}/approve"),
        Some(&admin.token),
        json!({}),
    )
    .await
    .problem(409, None);
    // A payout callback with the wrong amount is refused.
    let cb =
        json!({ "event_id": "po-x", "withdrawal_id": wid, "status": "succeeded", "amount_fen": 1 });
    t.signed_post("/api/v1/payouts/sandbox/callback", &cb, None)
        .await
        .problem(422, Some("amount_fen"));
    audit_clean(&t).await;
}

async fn rejected_and_failed_payouts_return_the_money(t: TestApp) {
    let s = t.shop().plan(json!({ "levels_bp": [1000] })).build().await;
    let b = t.register_member("分享者").await;
    earn_available(&t, &s, &b, 4_000).await;
    let url = format!("/api/v1/distributors/{}/withdrawals", b.id);
    let admin = t.admin().await;

    let w1 = t
        .post(
            &url,
            Some(&b.token),
            json!({ "merchant_id": s.merchant, "amount_fen": 1_500 }),
        )
        .await
        .expect(201);
    let w2 = t
        .post(
            &url,
            Some(&b.token),
            json!({ "merchant_id": s.merchant, "amount_fen": 2_500 }),
        )
        .await
        .expect(201);
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 0, 4_000));

    // Rejected: back to available.
    let r = t
        .post(
            &format!(
                "/api/v1/admin/withdrawals/{}/reject",
                w1["id"].as_str().unwrap()
            ),
            Some(&admin.token),
            json!({ "reason": "账户信息不全" }),
        )
        .await
        .expect(200);
    assert_eq!(r["status"], "rejected");
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 1_500, 2_500));

    // Approved, but the payout fails: back to available.
    let wid = w2["id"].as_str().unwrap();
    t.post(
        &format!("/api/v1/admin/withdrawals/{wid}/approve"),
        Some(&admin.token),
        json!({}),
    )
    .await
    .expect(200);
    let cb = json!({ "event_id": "po-fail", "withdrawal_id": wid, "status": "failed", "amount_fen": 2_500 });
    assert_eq!(
        t.signed_post("/api/v1/payouts/sandbox/callback", &cb, None)
            .await
            .expect(200)["status"],
        "failed"
    );
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 4_000, 0));
    // A late success for a failed payout has no effect.
    let late = json!({ "event_id": "po-late", "withdrawal_id": wid, "status": "succeeded", "amount_fen": 2_500 });
    assert_eq!(
        t.signed_post("/api/v1/payouts/sandbox/callback", &late, None)
            .await
            .expect(200)["status"],
        "failed"
    );
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 4_000, 0));
    let list = t.get(&url, Some(&b.token)).await.expect(200);
    assert_eq!(list.as_array().unwrap().len(), 2);
    let w = crate::worlds::wallet(&t, &b, &s.merchant).await;
    assert!(
        w["lines"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["kind"] == "withdrawal")
    );
    audit_clean(&t).await;
}

async fn concurrent_withdrawals_cannot_overdraw(t: TestApp) {
    let s = t.shop().plan(json!({ "levels_bp": [1000], "withdraw_min_fen": 1_000, "withdraw_daily_limit_fen": 100_000 })).build().await;
    let b = t.register_member("分享者").await;
    earn_available(&t, &s, &b, 3_000).await;
    let url = format!("/api/v1/distributors/{}/withdrawals", b.id);
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (client, base, token, url, mid) = (
            t.client.clone(),
            t.base.clone(),
            b.token.clone(),
            url.clone(),
            s.merchant.clone(),
        );
        tasks.push(tokio::spawn(async move {
            client
                .post(format!("{base}{url}"))
                .bearer_auth(token)
                .json(&json!({ "merchant_id": mid, "amount_fen": 1_000 }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        3,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 0, 3_000));
    audit_clean(&t).await;
}

/// The demo's payout gateway: after the admin approves, the sandbox page pays the
/// withdrawal out through kith's signed payout webhook (已到账), or fails it (the money goes
/// back); a settled payout is not paid twice; only sandbox payouts in progress have a page.
async fn the_sandbox_gateway_pays_out_from_its_page(t: TestApp) {
    let s = t.shop().plan(json!({ "levels_bp": [1000] })).build().await;
    let b = t.register_member("提现人").await;
    earn_available(&t, &s, &b, 3_000).await;
    let url = format!("/api/v1/distributors/{}/withdrawals", b.id);
    let admin = t.admin().await;
    let mut ids = Vec::new();
    for amount in [1_000, 2_000] {
        let w = t
            .post(
                &url,
                Some(&b.token),
                json!({ "merchant_id": s.merchant, "amount_fen": amount }),
            )
            .await
            .expect(201);
        ids.push(w["id"].as_str().unwrap().to_owned());
    }
    // Not approved yet: the gateway has nothing to pay.
    let page = t.get(&format!("/sandbox/payouts/{}", ids[0]), None).await;
    assert_eq!(page.status, 404);
    for wid in &ids {
        t.post(
            &format!("/api/v1/admin/withdrawals/{wid}/approve"),
            Some(&admin.token),
            json!({}),
        )
        .await
        .expect(200);
    }
    let page = t.get(&format!("/sandbox/payouts/{}", ids[0]), None).await;
    assert_eq!(page.status, 200);
    let html = page.body.as_str().unwrap_or_default().to_owned();
    assert!(
        html.contains("确认到账") && html.contains("¥10.00"),
        "{html}"
    );

    let form = |outcome: &str| {
        t.client
            .post(format!("{}/sandbox/payouts/{}/confirm", t.base, ids[0]))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("outcome={outcome}"))
    };
    let bad = form("maybe").send().await.unwrap();
    assert_eq!(bad.status(), 422);
    let paid = form("succeeded").send().await.unwrap();
    assert!(
        paid.status().is_success() || paid.status().is_redirection(),
        "{}",
        paid.status()
    );
    let w = t.get(&url, Some(&b.token)).await.expect(200);
    let status_of = |w: &serde_json::Value, id: &str| {
        w.as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .map(|x| x["status"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(status_of(&w, &ids[0]), "paid");
    // Settled: the page says so and a second confirmation pays nothing more.
    let again = t.get(&format!("/sandbox/payouts/{}", ids[0]), None).await;
    assert!(again.body.as_str().unwrap_or_default().contains("已到账"));
    form("succeeded").send().await.unwrap();
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 0, 2_000));

    // The second fails at the gateway: its money is available again.
    let failed = t
        .client
        .post(format!("{}/sandbox/payouts/{}/confirm", t.base, ids[1]))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("outcome=failed")
        .send()
        .await
        .unwrap();
    // The client follows the gateway's redirect back to its page.
    assert!(failed.status().is_success(), "{}", failed.status());
    let w = t.get(&url, Some(&b.token)).await.expect(200);
    assert_eq!(status_of(&w, &ids[1]), "failed");
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 2_000, 0));
    t.get("/sandbox/payouts/not-an-id", None)
        .await
        .problem(404, None);
    audit_clean(&t).await;
}
