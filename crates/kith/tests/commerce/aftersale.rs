//! After-sales the buyer starts, over HTTP on both engines: 仅退款 agreed and refunded;
//! 退货退款 shipped back, received and restocked; deadlines deciding for a silent merchant or
//! buyer (the clock moved, the jobs run); refusals, revisions and arbitration; the paused
//! after-sale window; commission to the fen at each step and the ledger audit after each;
//! bad input, other people's things, and races against the merchant's direct refund and
//! against the deadline job.

use serde_json::{Value, json};

use crate::both_engines;
use crate::builders::Shop;
use crate::harness::{TestApp, User, id};
use crate::worlds::{
    DAY_SECS, audit_clean, balances, buy_through_sandbox, disputed_request, product_link,
    ship_and_deliver, signup_via, small_png, standard_plan, upload,
};

both_engines!(
    refund_only_agreed_is_refunded_and_reverses_commission,
    return_refund_is_shipped_received_refunded_and_restocked,
    merchant_silence_agrees_and_the_deadline_job_races_the_answer,
    buyer_silence_closes_and_frees_the_line,
    refused_resubmitted_arbitrated_partially,
    arbitrated_part_by_amount_through_the_gateway,
    bad_input_and_other_peoples_requests,
    direct_refund_races_an_open_request,
);

/// A shop with the standard plan, a distributor `b` and a buyer who came through `b`'s
/// link (so `b` earns 10 % of the goods).
async fn world(t: &TestApp) -> (Shop, User, User) {
    let s = t.shop().plan(standard_plan()).build().await;
    let b = t.register_member("分享者").await;
    let (_, code) = product_link(t, &s, &b).await;
    let buyer = signup_via(t, &code, "买家").await;
    (s, b, buyer)
}

fn open_body(kind: &str, qty: i64) -> Value {
    json!({ "kind": kind, "reason": "damaged", "description": "瓶子碎了", "lines": [{ "line_no": 1, "quantity": qty }] })
}

async fn open(t: &TestApp, buyer: &User, oid: &str, body: Value) -> crate::harness::Resp {
    t.post(
        &format!("/api/v1/orders/{oid}/aftersales"),
        Some(&buyer.token),
        body,
    )
    .await
}

fn states(r: &Value) -> Vec<String> {
    r["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_state"].as_str().unwrap().to_owned())
        .collect()
}

async fn order(t: &TestApp, who: &User, oid: &str) -> Value {
    t.get(&format!("/api/v1/orders/{oid}"), Some(&who.token))
        .await
        .expect(200)
}

async fn run_jobs(t: &TestApp) {
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
}

async fn stock(t: &TestApp, s: &Shop) -> Value {
    t.get(
        &format!("/api/v1/merchants/{}/stock?sku_id={}", s.merchant, s.sku),
        Some(&s.owner.token),
    )
    .await
    .expect(200)["items"][0]
        .clone()
}

async fn refund_only_agreed_is_refunded_and_reverses_commission(t: TestApp) {
    let (s, b, buyer) = world(&t).await;
    let o = t.order(&s, &buyer).qty(2).paid().await;
    let oid = id(&o);
    assert_eq!(balances(&t, &b, &s.merchant).await, (2_000, 0, 0, 0));
    let before = stock(&t, &s).await;
    assert_eq!(before["reserved"], 2);

    // Paid, not shipped: 仅退款 on one unit.
    let photo = upload(&t, Some(&buyer.token), small_png(3), "image/png", "a.png")
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut body = open_body("refund_only", 1);
    body["reason"] = json!("changed_mind");
    body["photos"] = json!([photo]);
    let r = open(&t, &buyer, &oid, body).await.expect(201);
    assert_eq!(r["state"], "requested");
    assert_eq!(r["lines"][0]["amount_fen"], 10_000);
    assert_eq!(r["photos"][0], photo.as_str());
    assert!(r["deadline_at"].is_string());
    // Nothing moved yet.
    assert_eq!(balances(&t, &b, &s.merchant).await, (2_000, 0, 0, 0));

    // The merchant's queue shows it, with its deadline.
    let q = t
        .get(
            &format!(
                "/api/v1/merchants/{}/aftersales?state=requested",
                s.merchant
            ),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(q.as_array().unwrap().len(), 1);
    let rid = id(&r);

    let r = t
        .post(
            &format!("/api/v1/merchants/{}/aftersales/{rid}/agree", s.merchant),
            Some(&s.owner.token),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(r["state"], "refunded");
    assert_eq!(r["refunded_fen"], 10_000);
    assert_eq!(states(&r), ["requested", "agreed", "refunding", "refunded"]);
    // Exactly what the line paid for that unit; half the commission back; the unit's
    // reservation released (it never shipped).
    let o = order(&t, &buyer, &oid).await;
    assert_eq!(o["refunded_fen"], 10_000);
    assert_eq!(o["status"], "fulfilling");
    assert_eq!(o["lines"][0]["refunded_quantity"], 1);
    assert_eq!(balances(&t, &b, &s.merchant).await, (1_000, 0, 0, 0));
    let after = stock(&t, &s).await;
    assert_eq!(after["reserved"], 1);
    assert_eq!(after["on_hand"], before["on_hand"]);
    // The refund is recorded on the order like any other, through the wallet.
    let refunds = t
        .get(
            &format!("/api/v1/merchants/{}/orders/{oid}/refunds", s.merchant),
            Some(&buyer.token),
        )
        .await
        .expect(200);
    assert_eq!(refunds.as_array().unwrap().len(), 1);
    assert_eq!(refunds[0]["provider"], "wallet");
    assert_eq!(refunds[0]["includes_shipping"], false);
    // Agreeing again is an illegal move.
    t.post(
        &format!("/api/v1/merchants/{}/aftersales/{rid}/agree", s.merchant),
        Some(&s.owner.token),
        json!({}),
    )
    .await
    .problem(409, None);
    audit_clean(&t).await;

    // The rest of the order: the last unit takes the shipping with it and the order is
    // refunded in full.
    let r = open(&t, &buyer, &oid, open_body("refund_only", 1))
        .await
        .expect(201);
    t.post(
        &format!(
            "/api/v1/merchants/{}/aftersales/{}/agree",
            s.merchant,
            id(&r)
        ),
        Some(&s.owner.token),
        json!({}),
    )
    .await
    .expect(200);
    let o = order(&t, &buyer, &oid).await;
    assert_eq!(o["status"], "refunded");
    assert_eq!(o["refunded_fen"], o["paid_fen"]);
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 0, 0));
    audit_clean(&t).await;
}

async fn return_refund_is_shipped_received_refunded_and_restocked(t: TestApp) {
    let (s, b, buyer) = world(&t).await;
    let m = |p: &str| format!("/api/v1/merchants/{}{p}", s.merchant);
    t.put(
        &m("/aftersale-terms"),
        Some(&s.owner.token),
        json!({ "answer_hours": 48, "ship_days": 7, "receive_days": 10, "return_address": "贵阳市观山湖区退货仓 1 号" }),
    )
    .await
    .expect(200);
    let o = t.order(&s, &buyer).qty(3).paid().await;
    let oid = id(&o);
    ship_and_deliver(&t, &s, &oid).await;
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 3_000, 0, 0));
    let on_hand = stock(&t, &s).await["on_hand"].as_i64().unwrap();

    // One day into the 7-day window the buyer asks to return two bottles.
    t.clock.advance_secs(DAY_SECS);
    let r = open(&t, &buyer, &oid, open_body("return_refund", 2))
        .await
        .expect(201);
    let rid = id(&r);
    assert!(r["return_address"].is_null(), "shown only after agreement");
    let r = t
        .post(
            &m(&format!("/aftersales/{rid}/agree")),
            Some(&s.owner.token),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(r["state"], "awaiting_return");
    assert_eq!(r["return_address"], "贵阳市观山湖区退货仓 1 号");
    // Only the buyer enters the tracking number.
    t.post(
        &format!("/api/v1/aftersales/{rid}/return-shipment"),
        Some(&s.owner.token),
        json!({ "carrier": "sf", "tracking_no": "SF1234567890" }),
    )
    .await
    .problem(404, None);
    t.post(
        &format!("/api/v1/aftersales/{rid}/return-shipment"),
        Some(&buyer.token),
        json!({ "carrier": "顺丰", "tracking_no": "SF1234567890" }),
    )
    .await
    .problem(422, Some("carrier"));
    t.clock.advance_secs(2 * DAY_SECS);
    let r = t
        .post(
            &format!("/api/v1/aftersales/{rid}/return-shipment"),
            Some(&buyer.token),
            json!({ "carrier": "sf", "tracking_no": "SF1234567890" }),
        )
        .await
        .expect(200);
    assert_eq!(r["state"], "return_shipped");
    // Cancelling once the goods are on their way is refused.
    t.post(
        &format!("/api/v1/aftersales/{rid}/cancel"),
        Some(&buyer.token),
        json!({}),
    )
    .await
    .problem(409, None);
    // Still nothing refunded; commission still frozen.
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 3_000, 0, 0));

    // The window would have closed (day 7) — it is paused while the request is open.
    t.clock.advance_secs(5 * DAY_SECS);
    run_jobs(&t).await;
    assert_eq!(order(&t, &buyer, &oid).await["status"], "delivered");
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 3_000, 0, 0));

    // Receipt: two arrived, one broken, back into the warehouse.
    let warehouse = stock(&t, &s).await["location_id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.post(
        &m(&format!("/aftersales/{rid}/receive")),
        Some(&s.owner.token),
        json!({ "lines": [{ "line_no": 1, "received": 2, "damaged": 3 }], "location_id": warehouse }),
    )
    .await
    .problem(422, Some("lines[0].damaged"));
    let r = t
        .post(
            &m(&format!("/aftersales/{rid}/receive")),
            Some(&s.owner.token),
            json!({ "lines": [{ "line_no": 1, "received": 2, "damaged": 1 }], "location_id": warehouse }),
        )
        .await
        .expect(200);
    assert_eq!(r["state"], "refunded");
    assert_eq!(r["refunded_fen"], 20_000);
    assert_eq!(r["lines"][0]["received"], 2);
    assert_eq!(r["lines"][0]["damaged"], 1);
    assert_eq!(
        states(&r),
        [
            "requested",
            "agreed",
            "awaiting_return",
            "return_shipped",
            "returned",
            "refunding",
            "refunded"
        ]
    );
    // Two of three units refunded: two thirds of the commission reversed, the rest frozen.
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 1_000, 0, 0));
    // One undamaged unit back on the shelf, logged as a return.
    assert_eq!(stock(&t, &s).await["on_hand"], on_hand + 1);
    let mv = t
        .get(
            &m(&format!("/stock/movements?sku_id={}", s.sku)),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    let first = &mv["items"][0];
    assert_eq!(first["reason"], "return");
    assert_eq!(first["on_hand_delta"], 1);
    assert_eq!(first["reserved_delta"], 0);
    assert_eq!(first["order_id"], oid.as_str());
    audit_clean(&t).await;

    // The window resumes with the six days it had left when the request was opened.
    t.clock.advance_secs(6 * DAY_SECS - 60);
    run_jobs(&t).await;
    assert_eq!(order(&t, &buyer, &oid).await["status"], "delivered");
    t.clock.advance_secs(120);
    run_jobs(&t).await;
    assert_eq!(order(&t, &buyer, &oid).await["status"], "completed");
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 1_000, 0));
    audit_clean(&t).await;
}

async fn merchant_silence_agrees_and_the_deadline_job_races_the_answer(t: TestApp) {
    let (s, b, buyer) = world(&t).await;
    let o = t.order(&s, &buyer).qty(2).paid().await;
    let oid = id(&o);
    ship_and_deliver(&t, &s, &oid).await;
    let r = open(&t, &buyer, &oid, open_body("refund_only", 1))
        .await
        .expect(201);
    let rid = id(&r);
    // 47 hours: not yet.
    t.clock.advance_secs(47 * 3600);
    run_jobs(&t).await;
    let got = t
        .get(&format!("/api/v1/aftersales/{rid}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(got["state"], "requested");
    // Past 48 hours the job and the merchant's answer race: exactly one agreement and one
    // refund, whichever wins.
    t.clock.advance_secs(3600 + 1);
    let agree_url = format!("/api/v1/merchants/{}/aftersales/{rid}/agree", s.merchant);
    let agree = t.post(&agree_url, Some(&s.owner.token), json!({}));
    let job = t.app.run_aftersale_deadline(&rid);
    let (answer, job) = tokio::join!(agree, job);
    job.unwrap();
    let answer = answer.status.as_u16();
    assert!(answer == 200 || answer == 409, "{answer}");
    // Late and twice: nothing more.
    run_jobs(&t).await;
    t.app.run_aftersale_deadline(&rid).await.unwrap();
    let got = t
        .get(&format!("/api/v1/aftersales/{rid}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(got["state"], "refunded");
    assert_eq!(got["refunded_fen"], 10_000);
    let agreed_by: Vec<&Value> = got["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["to_state"] == "agreed")
        .collect();
    assert_eq!(agreed_by.len(), 1, "{got}");
    if answer == 409 {
        assert_eq!(agreed_by[0]["actor_kind"], "system");
    }
    let o = order(&t, &buyer, &oid).await;
    assert_eq!(o["refunded_fen"], 10_000);
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 1_000, 0, 0));
    audit_clean(&t).await;

    // A silent merchant on a second request: agreed by the job alone, actor system.
    let r = open(&t, &buyer, &oid, open_body("refund_only", 1))
        .await
        .expect(201);
    t.clock.advance_secs(48 * 3600 + 1);
    run_jobs(&t).await;
    let got = t
        .get(
            &format!("/api/v1/aftersales/{}", id(&r)),
            Some(&buyer.token),
        )
        .await
        .expect(200);
    assert_eq!(got["state"], "refunded");
    assert_eq!(got["timeline"][1]["actor_kind"], "system");
    assert_eq!(order(&t, &buyer, &oid).await["status"], "refunded");
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 0, 0));
    audit_clean(&t).await;
}

async fn buyer_silence_closes_and_frees_the_line(t: TestApp) {
    let (s, b, buyer) = world(&t).await;
    let o = t.order(&s, &buyer).paid().await;
    let oid = id(&o);
    ship_and_deliver(&t, &s, &oid).await;
    let r = open(&t, &buyer, &oid, open_body("return_refund", 1))
        .await
        .expect(201);
    let rid = id(&r);
    t.post(
        &format!("/api/v1/merchants/{}/aftersales/{rid}/agree", s.merchant),
        Some(&s.owner.token),
        json!({ "return_address": "退货地址：贵阳市" }),
    )
    .await
    .expect(200);
    // The buyer never ships: after 7 days the request closes; no money moved.
    t.clock.advance_secs(7 * DAY_SECS + 1);
    run_jobs(&t).await;
    let got = t
        .get(&format!("/api/v1/aftersales/{rid}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(got["state"], "closed");
    assert_eq!(got["refunded_fen"], 0);
    assert!(got["ended_at"].is_string());
    assert_eq!(order(&t, &buyer, &oid).await["refunded_fen"], 0);
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 1_000, 0, 0));
    // Shipping the return now is too late.
    t.post(
        &format!("/api/v1/aftersales/{rid}/return-shipment"),
        Some(&buyer.token),
        json!({ "carrier": "sf", "tracking_no": "SF1234567890" }),
    )
    .await
    .problem(409, None);
    // The line is free for a new request (the window had 7 days left when paused).
    let r2 = open(&t, &buyer, &oid, open_body("refund_only", 1))
        .await
        .expect(201);
    t.post(
        &format!("/api/v1/aftersales/{}/cancel", id(&r2)),
        Some(&buyer.token),
        json!({}),
    )
    .await
    .expect(200);
    // With every request ended the window runs again and the order completes.
    t.clock.advance_secs(7 * DAY_SECS + 1);
    run_jobs(&t).await;
    assert_eq!(order(&t, &buyer, &oid).await["status"], "completed");
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 1_000, 0));
    audit_clean(&t).await;
    // Outside the window now.
    open(&t, &buyer, &oid, open_body("refund_only", 1))
        .await
        .problem(409, None);
}

async fn refused_resubmitted_arbitrated_partially(t: TestApp) {
    let (s, b, buyer) = world(&t).await;
    let o = t.order(&s, &buyer).qty(3).paid().await;
    let oid = id(&o);
    ship_and_deliver(&t, &s, &oid).await;
    let r = open(&t, &buyer, &oid, open_body("refund_only", 3))
        .await
        .expect(201);
    let rid = id(&r);
    let refuse_url = format!("/api/v1/merchants/{}/aftersales/{rid}/refuse", s.merchant);
    let refuse =
        |why: &'static str| t.post(&refuse_url, Some(&s.owner.token), json!({ "reason": why }));
    let revise_url = format!("/api/v1/aftersales/{rid}/revise");
    let revise = || t.post(&revise_url, Some(&buyer.token), open_body("refund_only", 3));
    refuse("").await.problem(422, Some("reason"));
    let r = refuse("照片看不出破损").await.expect(200);
    assert_eq!(r["state"], "refused");
    assert_eq!(r["refuse_reason"], "照片看不出破损");
    let r = revise().await.expect(200);
    assert_eq!(r["state"], "requested");
    assert_eq!(r["resubmissions"], 1);
    refuse("仍然看不出").await.expect(200);
    revise().await.expect(200);
    refuse("第三次拒绝").await.expect(200);
    // Twice revised: a third is refused; arbitration is the way.
    revise().await.problem(409, None);
    t.post(
        &format!("/api/v1/aftersales/{rid}/dispute"),
        Some(&buyer.token),
        json!({ "note": "" }),
    )
    .await
    .problem(422, Some("note"));
    let r = t
        .post(
            &format!("/api/v1/aftersales/{rid}/dispute"),
            Some(&buyer.token),
            json!({ "note": "三瓶都漏了，商家不认" }),
        )
        .await
        .expect(200);
    assert_eq!(r["state"], "disputed");
    // The window stays paused while disputed.
    t.clock.advance_secs(20 * DAY_SECS);
    run_jobs(&t).await;
    assert_eq!(order(&t, &buyer, &oid).await["status"], "delivered");
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 3_000, 0, 0));

    // The admin sees both sides' words.
    let admin = t.admin().await;
    t.get("/api/v1/admin/aftersales/disputed", Some(&buyer.token))
        .await
        .problem(403, None);
    let list = t
        .get("/api/v1/admin/aftersales/disputed", Some(&admin.token))
        .await
        .expect(200);
    let d = list
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == rid.as_str())
        .expect("listed");
    assert_eq!(d["dispute_note"], "三瓶都漏了，商家不认");
    assert_eq!(d["refuse_reason"], "第三次拒绝");
    assert_eq!(d["description"], "瓶子碎了");
    let decide_url = format!("/api/v1/admin/aftersales/{rid}/decide");
    let decide = |body: Value, who: &'static str| {
        let token = if who == "admin" {
            &admin.token
        } else {
            &s.owner.token
        };
        t.post(&decide_url, Some(token), body)
    };
    decide(json!({ "outcome": "all", "note": "x" }), "owner")
        .await
        .problem(403, None);
    decide(
        json!({ "outcome": "part", "lines": [{ "line_no": 1, "quantity": 4 }], "note": "一瓶" }),
        "admin",
    )
    .await
    .problem(422, Some("lines[0].quantity"));
    decide(json!({ "outcome": "some", "note": "一瓶" }), "admin")
        .await
        .problem(422, Some("outcome"));
    let r = decide(
        json!({ "outcome": "part", "lines": [{ "line_no": 1, "quantity": 1 }], "note": "只有一瓶有破损证据" }),
        "admin",
    )
    .await
    .expect(200);
    assert_eq!(r["state"], "decided");
    assert_eq!(r["decision"], "part");
    assert_eq!(r["decided_by"], admin.id.as_str());
    assert_eq!(r["refunded_fen"], 10_000);
    let last = r["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["actor_kind"], "admin");
    assert_eq!(last["actor_id"], admin.id.as_str());
    // Final.
    decide(json!({ "outcome": "all", "note": "改判" }), "admin")
        .await
        .problem(409, None);
    let o = order(&t, &buyer, &oid).await;
    assert_eq!(o["refunded_fen"], 10_000);
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 2_000, 0, 0));
    audit_clean(&t).await;
    // The window resumed with the time it had left: the order completes 7 days on.
    t.clock.advance_secs(7 * DAY_SECS + 1);
    run_jobs(&t).await;
    assert_eq!(order(&t, &buyer, &oid).await["status"], "completed");
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 2_000, 0));
    audit_clean(&t).await;
}

/// A broken bottle, the goods kept: the platform decides money alone ("part" by amount),
/// refunded through the gateway that took the payment, asynchronously; commission reversed
/// in proportion to the fen, no stock moves, and the line can never give back more than it
/// paid afterwards.
async fn arbitrated_part_by_amount_through_the_gateway(t: TestApp) {
    let (s, b, buyer) = world(&t).await;
    let o = buy_through_sandbox(&t, &s, &buyer, 3).await;
    let oid = id(&o);
    let paid_fen = o["total_fen"].as_i64().unwrap();
    ship_and_deliver(&t, &s, &oid).await;
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 3_000, 0, 0));
    let stock_before = stock(&t, &s).await;

    let rid = disputed_request(&t, &s, &buyer, &oid, 3).await;

    let admin = t.admin().await;
    let decide_url = format!("/api/v1/admin/aftersales/{rid}/decide");
    let decide = |body: Value| t.post(&decide_url, Some(&admin.token), body);
    // Refusals name the field: no money, more than the line paid, a line the request
    // does not name, units and money at once, money on another outcome.
    for (body, field) in [
        (
            json!({ "outcome": "part", "amounts": [{ "line_no": 1, "amount_fen": 0 }], "note": "x" }),
            "amounts[0].amount_fen",
        ),
        (
            json!({ "outcome": "part", "amounts": [{ "line_no": 1, "amount_fen": 30_001 }], "note": "x" }),
            "amounts[0].amount_fen",
        ),
        (
            json!({ "outcome": "part", "amounts": [{ "line_no": 9, "amount_fen": 100 }], "note": "x" }),
            "amounts[0].line_no",
        ),
        (
            json!({ "outcome": "part", "lines": [{ "line_no": 1, "quantity": 1 }], "amounts": [{ "line_no": 1, "amount_fen": 100 }], "note": "x" }),
            "amounts",
        ),
        (
            json!({ "outcome": "all", "amounts": [{ "line_no": 1, "amount_fen": 100 }], "note": "x" }),
            "amounts",
        ),
    ] {
        decide(body).await.problem(422, Some(field));
    }
    let r = decide(json!({ "outcome": "part", "amounts": [{ "line_no": 1, "amount_fen": 3_050 }], "note": "一瓶碎了：退 30.50 元，商品不退回" }))
        .await
        .expect(200);
    assert_eq!(
        (r["state"].as_str(), r["decision"].as_str()),
        (Some("decided"), Some("part"))
    );
    assert_eq!(r["refunded_fen"], 3_050);
    // Nothing is booked before the gateway answers.
    assert_eq!(order(&t, &buyer, &oid).await["refunded_fen"], 0);
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 3_000, 0, 0));
    let settled = t.settle_refunds(&s.merchant, &oid, &s.owner.token).await;
    let refund = &settled.as_array().unwrap()[0];
    assert_eq!(
        (refund["status"].as_str(), refund["amount_fen"].as_i64()),
        (Some("succeeded"), Some(3_050))
    );
    assert_eq!(
        refund["lines"],
        json!([{ "line_no": 1, "quantity": 0, "amount_fen": 3_050 }])
    );
    let o = order(&t, &buyer, &oid).await;
    assert_eq!(
        (o["refunded_fen"].as_i64(), o["status"].as_str()),
        (Some(3_050), Some("delivered"))
    );
    assert_eq!(
        o["lines"][0]["refunded_quantity"], 0,
        "the goods stay with the buyer"
    );
    // 10 % of 30.50 元 is 3.05 元 of the distributor's commission.
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 2_695, 0, 0));
    assert_eq!(
        stock(&t, &s).await,
        stock_before,
        "money alone moves no stock"
    );
    audit_clean(&t).await;

    // The rest by the merchant: everything left, shipping included — the line gives back
    // what it paid minus the 30.50 元, never more, and the order's refunds add up to what
    // was paid.
    let refunds = format!("/api/v1/merchants/{}/orders/{oid}/refunds", s.merchant);
    let rest = t
        .post(
            &refunds,
            Some(&s.owner.token),
            json!({ "reason": "全部退款" }),
        )
        .await
        .expect(201);
    assert_eq!(rest["amount_fen"].as_i64(), Some(paid_fen - 3_050));
    t.settle_refunds(&s.merchant, &oid, &s.owner.token).await;
    let o = order(&t, &buyer, &oid).await;
    assert_eq!(
        (o["refunded_fen"].as_i64(), o["status"].as_str()),
        (Some(paid_fen), Some("refunded"))
    );
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 0, 0));
    t.post(&refunds, Some(&s.owner.token), json!({ "reason": "再退" }))
        .await
        .problem(409, None);
    audit_clean(&t).await;
}

async fn bad_input_and_other_peoples_requests(t: TestApp) {
    let (s, _b, buyer) = world(&t).await;
    let stranger = t.register_member("路人").await;
    let (other_owner, other_merchant) = t.approved_merchant("别家").await;
    let o = t.order(&s, &buyer).qty(2).paid().await;
    let oid = id(&o);

    // Another member's order does not exist for them.
    open(&t, &stranger, &oid, open_body("refund_only", 1))
        .await
        .problem(404, None);
    // The fields, each named.
    let mut b = open_body("refund_only", 1);
    b["kind"] = json!("exchange");
    open(&t, &buyer, &oid, b).await.problem(422, Some("kind"));
    let mut b = open_body("refund_only", 1);
    b["reason"] = json!("because");
    open(&t, &buyer, &oid, b).await.problem(422, Some("reason"));
    open(&t, &buyer, &oid, open_body("refund_only", 3))
        .await
        .problem(422, Some("lines[0].quantity"));
    open(&t, &buyer, &oid, open_body("refund_only", 0))
        .await
        .problem(422, Some("lines[0].quantity"));
    let mut b = open_body("refund_only", 1);
    b["lines"] = json!([{ "line_no": 9, "quantity": 1 }]);
    open(&t, &buyer, &oid, b)
        .await
        .problem(422, Some("lines[0].line_no"));
    // Not shipped yet: only 仅退款.
    open(&t, &buyer, &oid, open_body("return_refund", 1))
        .await
        .problem(422, Some("kind"));
    // Photos: at most six, and only the buyer's own uploads.
    let theirs = upload(
        &t,
        Some(&stranger.token),
        small_png(9),
        "image/png",
        "x.png",
    )
    .await
    .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut b = open_body("refund_only", 1);
    b["photos"] = json!([theirs]);
    open(&t, &buyer, &oid, b)
        .await
        .problem(422, Some("photos[0]"));
    let mut b = open_body("refund_only", 1);
    b["photos"] = json!(vec![theirs.clone(); 7]);
    open(&t, &buyer, &oid, b).await.problem(422, Some("photos"));

    // One open request per line.
    let r = open(&t, &buyer, &oid, open_body("refund_only", 1))
        .await
        .expect(201);
    let rid = id(&r);
    open(&t, &buyer, &oid, open_body("refund_only", 1))
        .await
        .problem(422, Some("lines[0].line_no"));

    // Who may see and answer it.
    t.get(&format!("/api/v1/aftersales/{rid}"), Some(&stranger.token))
        .await
        .problem(404, None);
    t.get(
        &format!("/api/v1/aftersales/{rid}"),
        Some(&other_owner.token),
    )
    .await
    .problem(404, None);
    t.get(&format!("/api/v1/aftersales/{rid}"), Some(&s.owner.token))
        .await
        .expect(200);
    let admin = t.admin().await;
    t.get(&format!("/api/v1/aftersales/{rid}"), Some(&admin.token))
        .await
        .expect(200);
    t.post(
        &format!("/api/v1/merchants/{other_merchant}/aftersales/{rid}/agree"),
        Some(&other_owner.token),
        json!({}),
    )
    .await
    .problem(404, None);
    t.post(
        &format!("/api/v1/merchants/{}/aftersales/{rid}/agree", s.merchant),
        Some(&other_owner.token),
        json!({}),
    )
    .await
    .problem(403, None);
    t.post(
        &format!("/api/v1/aftersales/{rid}/cancel"),
        Some(&stranger.token),
        json!({}),
    )
    .await
    .problem(404, None);
    t.get(
        &format!("/api/v1/merchants/{}/aftersales?state=nope", s.merchant),
        Some(&s.owner.token),
    )
    .await
    .problem(422, Some("state"));
    t.get("/api/v1/aftersales/not-a-uuid", Some(&buyer.token))
        .await
        .problem(404, None);
    // Disputing an unrefused request is an illegal move.
    t.post(
        &format!("/api/v1/aftersales/{rid}/dispute"),
        Some(&buyer.token),
        json!({ "note": "现在就仲裁" }),
    )
    .await
    .problem(409, None);
    let r = t
        .post(
            &format!("/api/v1/aftersales/{rid}/cancel"),
            Some(&buyer.token),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(r["state"], "cancelled");

    // A line refunded in full by the merchant takes no request.
    t.post(
        &format!("/api/v1/merchants/{}/orders/{oid}/refunds", s.merchant),
        Some(&s.owner.token),
        json!({ "reason": "缺货", "lines": [{ "line_no": 1, "quantity": 1 }] }),
    )
    .await
    .expect(201);
    open(&t, &buyer, &oid, open_body("refund_only", 2))
        .await
        .problem(422, Some("lines[0].quantity"));
    t.post(
        &format!("/api/v1/merchants/{}/orders/{oid}/refunds", s.merchant),
        Some(&s.owner.token),
        json!({ "reason": "缺货" }),
    )
    .await
    .expect(201);
    open(&t, &buyer, &oid, open_body("refund_only", 1))
        .await
        .problem(409, None);
    // Terms are the merchant's, bounded.
    t.put(
        &format!("/api/v1/merchants/{}/aftersale-terms", s.merchant),
        Some(&s.owner.token),
        json!({ "answer_hours": 0, "ship_days": 7, "receive_days": 10, "return_address": "" }),
    )
    .await
    .problem(422, Some("answer_hours"));
    t.get(
        &format!("/api/v1/merchants/{}/aftersale-terms", s.merchant),
        Some(&stranger.token),
    )
    .await
    .problem(403, None);
    audit_clean(&t).await;
}

async fn direct_refund_races_an_open_request(t: TestApp) {
    let (s, b, buyer) = world(&t).await;
    // With a request open on the line, the merchant's direct refund is told to answer it.
    let o = t.order(&s, &buyer).paid().await;
    let oid = id(&o);
    let refund_url = format!("/api/v1/merchants/{}/orders/{oid}/refunds", s.merchant);
    let r = open(&t, &buyer, &oid, open_body("refund_only", 1))
        .await
        .expect(201);
    t.post(
        &refund_url,
        Some(&s.owner.token),
        json!({ "reason": "直接退" }),
    )
    .await
    .problem(409, None);
    t.post(
        &format!("/api/v1/aftersales/{}/cancel", id(&r)),
        Some(&buyer.token),
        json!({}),
    )
    .await
    .expect(200);

    // Real concurrent requests: the buyer opens while the merchant refunds. One wins; the
    // other is told; the money moves once.
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        let o = t.order(&s, &buyer).paid().await;
        let oid = id(&o);
        let refund_url = format!("/api/v1/merchants/{}/orders/{oid}/refunds", s.merchant);
        let (req, refund) = tokio::join!(
            open(&t, &buyer, &oid, open_body("refund_only", 1)),
            t.post(
                &refund_url,
                Some(&s.owner.token),
                json!({ "reason": "直接退" })
            ),
        );
        match (req.status.as_u16(), refund.status.as_u16()) {
            (201, 409) => {
                // The request won: the merchant answers it.
                let r = t
                    .post(
                        &format!(
                            "/api/v1/merchants/{}/aftersales/{}/agree",
                            s.merchant,
                            id(&req.body)
                        ),
                        Some(&s.owner.token),
                        json!({}),
                    )
                    .await
                    .expect(200);
                assert_eq!(r["state"], "refunded");
                outcomes.push("request");
            }
            (409 | 422, 201) => outcomes.push("refund"),
            other => panic!("both or neither won: {other:?} {req:?} {refund:?}"),
        }
        let o = order(&t, &buyer, &oid).await;
        assert_eq!(o["status"], "refunded");
        assert_eq!(o["refunded_fen"], o["paid_fen"]);
        let refunds = t.get(&refund_url, Some(&s.owner.token)).await.expect(200);
        assert_eq!(refunds.as_array().unwrap().len(), 1, "{refunds}");
    }
    assert_eq!(outcomes.len(), 4);
    // Only the first order (its request cancelled, never refunded) still earns.
    assert_eq!(balances(&t, &b, &s.merchant).await, (1_000, 0, 0, 0));
    audit_clean(&t).await;
}
