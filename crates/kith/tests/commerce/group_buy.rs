//! Group-buy (拼团) stories: a group that fills by sharing and proceeds to fulfilment with
//! the leader's commission; a group whose time runs out and whose paid seats are refunded
//! through their providers; a leader refunded before success handing over; every bad input
//! and race refused with its reason; and a thousand concurrent joins that never overfill a
//! group, never oversell, and leave every paid seat succeeded or refunded with a balanced
//! ledger.

use serde_json::{Value, json};

use crate::both_engines;
use crate::builders::{Shop, ShopBuilder};
use crate::harness::{TestApp, User, address, id};

both_engines!(
    a_group_fills_by_sharing_and_proceeds,
    time_runs_out_and_paid_seats_are_refunded,
    a_refunded_leader_hands_over_to_the_earliest_payer,
    bad_input_and_races_are_refused,
    a_thousand_concurrent_joins_never_overfill,
);

const LIST: i64 = 12_800;
const GROUP: i64 = 9_900;
const HOUR: i64 = 3600;

fn ends_in_days(t: &TestApp, days: i64) -> String {
    use kith_domain::Clock;
    kith_app::rfc3339(t.clock.now_ms() + days * 24 * HOUR * 1000)
}

/// The stories' shop: 拼团酒坊, one SKU at ¥128, a plan of L1 10 %, cap 30 %, group
/// leaders 5 %.
fn winery(t: &TestApp) -> ShopBuilder<'_> {
    t.shop()
        .name("拼团酒坊")
        .price(LIST)
        .plan(json!({ "levels_bp": [1000, 0], "cap_bp": 3000, "group_buy_commission": true, "group_leader_bp": 500 }))
}

async fn campaign(t: &TestApp, s: &Shop, body: Value) -> Value {
    let mut b = json!({
        "sku_id": s.sku, "group_size": 3, "group_price_fen": GROUP, "ends_at": ends_in_days(t, 7), "stock_limit": 30,
    });
    for (k, v) in body.as_object().expect("object") {
        b[k] = v.clone();
    }
    t.post(
        &format!("/api/v1/merchants/{}/group-campaigns", s.merchant),
        Some(&s.owner.token),
        b,
    )
    .await
    .expect(201)
}

fn seat_body() -> Value {
    json!({ "delivery": "shipping", "address": address() })
}

async fn try_open(t: &TestApp, campaign: &str, u: &User) -> crate::harness::Resp {
    t.post(
        &format!("/api/v1/group-campaigns/{campaign}/groups"),
        Some(&u.token),
        seat_body(),
    )
    .await
}

async fn open(t: &TestApp, campaign: &str, u: &User) -> Value {
    try_open(t, campaign, u).await.expect(201)
}

/// A 409 whose detail gives the reason (`word` in it).
#[track_caller]
fn refused(r: crate::harness::Resp, word: &str) {
    let p = r.problem(409, None);
    assert!(
        p["detail"].as_str().unwrap_or_default().contains(word),
        "{word}: {p}"
    );
}

async fn join(t: &TestApp, group: &str, u: &User) -> crate::harness::Resp {
    t.post(
        &format!("/api/v1/groups/{group}/join"),
        Some(&u.token),
        seat_body(),
    )
    .await
}

async fn pay_wallet(t: &TestApp, order: &str, u: &User) -> crate::harness::Resp {
    t.post(
        &format!("/api/v1/orders/{order}/pay"),
        Some(&u.token),
        json!({ "provider": "wallet" }),
    )
    .await
}

async fn group(t: &TestApp, gid: &str) -> Value {
    t.get(&format!("/api/v1/groups/{gid}"), None)
        .await
        .expect(200)
}

async fn order(t: &TestApp, oid: &str, u: &User) -> Value {
    t.get(&format!("/api/v1/orders/{oid}"), Some(&u.token))
        .await
        .expect(200)
}

async fn member_with(t: &TestApp, name: &str, fen: i64) -> User {
    let u = t.register_member(name).await;
    if fen > 0 {
        t.top_up(&u, fen).await;
    }
    u
}

async fn wallet_balance(t: &TestApp, u: &User) -> i64 {
    t.get("/api/v1/me/wallet", Some(&u.token)).await.expect(200)["balance_fen"]
        .as_i64()
        .expect("balance")
}

/// The outbox topics about one group, oldest first.
async fn group_events(t: &TestApp, gid: &str) -> Vec<String> {
    let gid = gid.to_owned();
    t.app
        .db
        .read(move |c| {
            c.query(
                "SELECT topic FROM outbox WHERE aggregate_id = $1 AND topic LIKE 'group.%' ORDER BY id",
                kith_store::args![&gid],
            )?
            .iter()
            .map(|r| r.text(0))
            .collect::<Result<Vec<_>, _>>()
        })
        .await
        .expect("outbox")
}

/// (on hand, reserved) of the shop's SKU in its warehouse.
async fn stock(t: &TestApp, s: &Shop) -> (i64, i64) {
    let rows = t
        .get(
            &format!("/api/v1/merchants/{}/stock?sku_id={}", s.merchant, s.sku),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    let rows = rows
        .as_array()
        .cloned()
        .or_else(|| rows["items"].as_array().cloned())
        .expect("stock rows");
    rows.iter().fold((0, 0), |(h, r), row| {
        (
            h + row["on_hand"].as_i64().unwrap(),
            r + row["reserved"].as_i64().unwrap(),
        )
    })
}

async fn a_group_fills_by_sharing_and_proceeds(t: TestApp) {
    let s = winery(&t).stock(10).build().await;
    // 团长免单: the leader pays nothing.
    let c = campaign(
        &t,
        &s,
        json!({ "leader_price_fen": 0, "title": "三人团 · 酱香" }),
    )
    .await;
    assert_eq!(c["open_for_groups"], true);
    assert_eq!(c["leader_bp"], 500, "the plan's leader rate by default");
    assert_eq!(c["commission"], true);
    let cid = id(&c);

    let leader = member_with(&t, "团长", 0).await;
    let seat = open(&t, &cid, &leader).await;
    let gid = id(&seat["group"]);
    assert_eq!(seat["group"]["status"], "opening");
    assert_eq!(seat["group"]["expires_at"], Value::Null);
    assert_eq!(seat["order"]["total_fen"], 0);
    let leader_order = id(&seat["order"]);

    // Not joinable before the leader has paid.
    let early = member_with(&t, "心急", 0).await;
    let not_yet = join(&t, &gid, &early).await.problem(409, None);
    assert!(
        not_yet["detail"]
            .as_str()
            .unwrap()
            .contains("leader has paid"),
        "{not_yet}"
    );
    pay_wallet(&t, &leader_order, &leader).await.expect(200);
    let g = group(&t, &gid).await;
    assert_eq!(g["status"], "forming");
    assert_eq!(
        (g["paid_seats"].as_i64(), g["seats_left"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(g["seconds_left"], 24 * HOUR);
    assert_eq!(
        order(&t, &leader_order, &leader).await["status"],
        "awaiting_group"
    );

    // The leader shares the group; a friend follows the link and joins through it.
    let link = t
        .post(
            "/api/v1/share-links",
            Some(&leader.token),
            json!({ "kind": "group_buy", "target_id": gid }),
        )
        .await
        .expect(201);
    assert_eq!(link["merchants"][0]["channel"], "group_buy");
    let friend = member_with(&t, "好友", 20_000).await;
    t.post(
        &format!("/api/v1/s/{}/visits", link["code"].as_str().unwrap()),
        Some(&friend.token),
        json!({}),
    )
    .await
    .expect(200);
    let f = join(&t, &gid, &friend).await.expect(201);
    let friend_order = id(&f["order"]);
    assert_eq!(f["order"]["total_fen"], GROUP);
    assert_eq!(f["group"]["held_seats"], 2);
    pay_wallet(&t, &friend_order, &friend).await.expect(200);
    assert_eq!(
        order(&t, &friend_order, &friend).await["status"],
        "awaiting_group"
    );

    // A stranger finds the group among the joinable ones (closest to completion first) and
    // takes the last seat, paying through the gateway.
    let joinable = t
        .get(&format!("/api/v1/group-campaigns/{cid}/groups"), None)
        .await
        .expect(200);
    assert_eq!(joinable[0]["id"], json!(gid));
    assert_eq!(joinable[0]["seats_left"], 1);
    let stranger = member_with(&t, "路人", 0).await;
    let st = join(&t, &gid, &stranger).await.expect(201);
    let stranger_order = id(&st["order"]);
    let p = t
        .post(
            &format!("/api/v1/orders/{stranger_order}/pay"),
            Some(&stranger.token),
            json!({ "provider": "sandbox" }),
        )
        .await
        .expect(200);
    let status = t
        .confirm_on_sandbox(p["payment"]["id"].as_str().unwrap(), "succeeded")
        .await;
    assert!(matches!(status, 200 | 303), "{status}");

    // The last seat paid: the group succeeded and every order went on to fulfilment.
    let g = group(&t, &gid).await;
    assert_eq!(g["status"], "succeeded");
    assert_eq!(
        (g["paid_seats"].as_i64(), g["seats_left"].as_i64()),
        (Some(3), Some(0))
    );
    let names: Vec<&str> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["团长", "好友", "路人"]);
    for (o, u) in [
        (&leader_order, &leader),
        (&friend_order, &friend),
        (&stranger_order, &stranger),
    ] {
        assert_eq!(order(&t, o, u).await["status"], "fulfilling");
    }
    assert!(
        t.get(&format!("/api/v1/group-campaigns/{cid}/groups"), None)
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The friend came through the leader's group link: the leader is their L1 (10 %) and
    // earns the group leader's 5 % on both members' orders.
    let split = t
        .get(
            &format!("/api/v1/orders/{friend_order}/commission"),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(split["channel"], "group_buy");
    let mut shares: Vec<(String, i64, String)> = split["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["source"].as_str().unwrap().to_owned(),
                x["amount_fen"].as_i64().unwrap(),
                x["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    shares.sort();
    assert_eq!(
        shares,
        [
            (
                "group_leader".to_owned(),
                GROUP * 5 / 100,
                "pending".to_owned()
            ),
            ("l1".to_owned(), GROUP / 10, "pending".to_owned()),
        ]
    );
    let stranger_split = t
        .get(
            &format!("/api/v1/orders/{stranger_order}/commission"),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    let leader_only: Vec<&str> = stranger_split["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["source"].as_str().unwrap())
        .collect();
    assert_eq!(leader_only, ["group_leader"]);
    // Every seat's order came through 拼团: the friend's by the group link, the stranger's
    // and the leader's without any link — none of them is a direct purchase.
    assert_eq!(stranger_split["channel"], "group_buy", "{stranger_split}");
    let channels = t
        .get(
            &format!("/api/v1/merchants/{}/insight/channels", s.merchant),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    let gmv = |name: &str| {
        channels["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["channel"] == name)
            .map(|c| {
                (
                    c["orders"].as_i64().unwrap(),
                    c["gmv_fen"].as_i64().unwrap(),
                )
            })
            .unwrap()
    };
    assert_eq!(gmv("group_buy"), (3, 2 * GROUP), "{channels}");
    assert_eq!(gmv("direct"), (0, 0), "{channels}");
    let wallet = t
        .get(
            &format!("/api/v1/distributors/{}/wallets/{}", leader.id, s.merchant),
            Some(&leader.token),
        )
        .await
        .expect(200);
    assert_eq!(
        wallet["balances"]["pending_fen"],
        GROUP / 10 + 2 * (GROUP * 5 / 100),
        "{wallet}"
    );
    assert_eq!(stock(&t, &s).await, (10, 3));
    assert_eq!(
        group_events(&t, &gid).await,
        [
            "group.opened",
            "group.joined",
            "group.joined",
            "group.succeeded"
        ]
    );
    let mine = t
        .get("/api/v1/me/groups", Some(&friend.token))
        .await
        .expect(200);
    assert_eq!(mine[0]["group"]["id"], json!(gid));
    assert_eq!(mine[0]["seat"], "paid");
    // Refunded after success: the seat was sold (the group stays succeeded), the commission
    // is taken back, and the seat no longer counts toward the friend's limit of one.
    t.post(
        &format!(
            "/api/v1/merchants/{}/orders/{friend_order}/refunds",
            s.merchant
        ),
        Some(&s.owner.token),
        json!({ "reason": "不想要了" }),
    )
    .await
    .expect(201);
    assert_eq!(group(&t, &gid).await["status"], "succeeded");
    let mine = t
        .get("/api/v1/me/groups", Some(&friend.token))
        .await
        .expect(200);
    assert_eq!(mine[0]["seat"], "refunded");
    assert_eq!(wallet_balance(&t, &friend).await, 20_000);
    open(&t, &cid, &friend).await;
    crate::worlds::audit_clean(&t).await;
}

async fn time_runs_out_and_paid_seats_are_refunded(t: TestApp) {
    let s = winery(&t).stock(10).build().await;
    let c = campaign(&t, &s, json!({ "duration_secs": 2 * HOUR })).await;
    let cid = id(&c);
    let leader = member_with(&t, "团长", 20_000).await;
    let seat = open(&t, &cid, &leader).await;
    let gid = id(&seat["group"]);
    let leader_order = id(&seat["order"]);
    pay_wallet(&t, &leader_order, &leader).await.expect(200);
    assert_eq!(wallet_balance(&t, &leader).await, 20_000 - GROUP);

    // One member pays through the gateway; another holds a seat and never pays.
    let gw = member_with(&t, "网关", 0).await;
    let gw_order = id(&join(&t, &gid, &gw).await.expect(201)["order"]);
    let p = t
        .post(
            &format!("/api/v1/orders/{gw_order}/pay"),
            Some(&gw.token),
            json!({ "provider": "sandbox" }),
        )
        .await
        .expect(200);
    t.confirm_on_sandbox(p["payment"]["id"].as_str().unwrap(), "succeeded")
        .await;
    assert_eq!(order(&t, &gw_order, &gw).await["status"], "awaiting_group");
    let idle = member_with(&t, "犹豫", 0).await;
    let idle_order = id(&join(&t, &gid, &idle).await.expect(201)["order"]);
    let idle_pay = t
        .post(
            &format!("/api/v1/orders/{idle_order}/pay"),
            Some(&idle.token),
            json!({ "provider": "sandbox" }),
        )
        .await
        .expect(200);
    // The group is full (every seat held) but not paid.
    let g = group(&t, &gid).await;
    assert_eq!(
        (g["held_seats"].as_i64(), g["paid_seats"].as_i64()),
        (Some(3), Some(2))
    );
    let stranger = member_with(&t, "路人", 0).await;
    join(&t, &gid, &stranger).await.problem(409, None);
    assert_eq!(stock(&t, &s).await, (10, 3));

    // The unpaid order lapses after the merchant's 30 minutes: its seat is free again.
    t.clock.advance_secs(30 * 60 + 1);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    assert_eq!(order(&t, &idle_order, &idle).await["status"], "cancelled");
    let idle_payment = idle_pay["payment"]["id"].as_str().unwrap();
    assert_eq!(
        t.get(
            &format!("/api/v1/payments/{idle_payment}"),
            Some(&idle.token)
        )
        .await
        .expect(200)["status"],
        "cancelled"
    );
    let g = group(&t, &gid).await;
    assert_eq!(
        (g["held_seats"].as_i64(), g["seats_left"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(stock(&t, &s).await, (10, 2));

    // A minute before the end someone takes the free seat and opens the gateway's page.
    t.clock.advance_secs(HOUR + 29 * 60 - 1);
    let late = member_with(&t, "晚到", 0).await;
    let late_order = id(&join(&t, &gid, &late).await.expect(201)["order"]);
    let late_pay = t
        .post(
            &format!("/api/v1/orders/{late_order}/pay"),
            Some(&late.token),
            json!({ "provider": "sandbox" }),
        )
        .await
        .expect(200);

    // Time runs out: the group fails, the paid seats are refunded through their own
    // providers, the unpaid order is cancelled, stock and campaign seats come back.
    t.clock.advance_secs(61);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    let g = group(&t, &gid).await;
    assert_eq!(g["status"], "failed");
    assert!(g["fail_reason"].as_str().unwrap().contains("time"));
    assert_eq!(
        order(&t, &leader_order, &leader).await["status"],
        "refunded"
    );
    // The gateway's refund is asynchronous: it is requested with the group's failure and
    // the order is refunded when the sandbox's callback confirms it.
    let refunds = t
        .settle_refunds(&s.merchant, &gw_order, &s.owner.token)
        .await;
    assert_eq!(refunds[0]["status"], "succeeded");
    assert_eq!(order(&t, &gw_order, &gw).await["status"], "refunded");
    assert_eq!(order(&t, &late_order, &late).await["status"], "cancelled");
    assert_eq!(wallet_balance(&t, &leader).await, 20_000);
    let refunds = t
        .get(
            &format!("/api/v1/merchants/{}/orders/{gw_order}/refunds", s.merchant),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(refunds[0]["provider"], "sandbox");
    assert_eq!(refunds[0]["amount_fen"], GROUP);
    assert_eq!(stock(&t, &s).await, (10, 0));
    let c = t
        .get(&format!("/api/v1/group-campaigns/{cid}"), None)
        .await
        .expect(200);
    assert_eq!(c["seats_taken"], 0);
    // The late payer confirms on the gateway after the group failed: the payment is taken
    // and returned at once, and the order stays cancelled.
    let payment = late_pay["payment"]["id"].as_str().unwrap();
    let body = json!({ "event_id": "late-group-1", "payment_id": payment, "status": "succeeded", "amount_fen": GROUP });
    let r = t
        .signed_post("/api/v1/payments/sandbox/callback", &body, None)
        .await
        .expect(200);
    assert_eq!(r["outcome"], "late_refunded");
    assert_eq!(
        t.get(&format!("/api/v1/payments/{payment}"), Some(&late.token))
            .await
            .expect(200)["status"],
        "returned"
    );
    assert_eq!(order(&t, &late_order, &late).await["status"], "cancelled");
    join(&t, &gid, &stranger).await.problem(409, None);
    // Events: opened, a paid join, the seats that lapsed (the late one's order may lapse by
    // its own deadline just before the group fails, or with it), then failed.
    let events = group_events(&t, &gid).await;
    assert_eq!(events[..2], ["group.opened", "group.joined"], "{events:?}");
    assert_eq!(
        events.last().map(String::as_str),
        Some("group.failed"),
        "{events:?}"
    );
    let released = events
        .iter()
        .filter(|e| *e == "group.seat_released")
        .count();
    assert!((1..=2).contains(&released), "{events:?}");
    crate::worlds::audit_clean(&t).await;
}

async fn a_refunded_leader_hands_over_to_the_earliest_payer(t: TestApp) {
    let s = winery(&t).stock(10).build().await;
    let cid = id(&campaign(&t, &s, json!({ "group_size": 4 })).await);
    let leader = member_with(&t, "团长", 20_000).await;
    let seat = open(&t, &cid, &leader).await;
    let gid = id(&seat["group"]);
    let leader_order = id(&seat["order"]);
    pay_wallet(&t, &leader_order, &leader).await.expect(200);
    let first = member_with(&t, "先付", 20_000).await;
    let second = member_with(&t, "后付", 20_000).await;
    let o2 = id(&join(&t, &gid, &second).await.expect(201)["order"]);
    let o1 = id(&join(&t, &gid, &first).await.expect(201)["order"]);
    pay_wallet(&t, &o1, &first).await.expect(200);
    t.clock.advance_secs(5);
    pay_wallet(&t, &o2, &second).await.expect(200);

    // The merchant ends the campaign: no new groups, but this one may still fill.
    t.post(
        &format!("/api/v1/group-campaigns/{cid}/end"),
        Some(&s.owner.token),
        json!({}),
    )
    .await
    .expect(200);
    // The merchant refunds the leader's order before the group filled.
    t.post(
        &format!(
            "/api/v1/merchants/{}/orders/{leader_order}/refunds",
            s.merchant
        ),
        Some(&s.owner.token),
        json!({ "reason": "团长退出" }),
    )
    .await
    .expect(201);
    let g = group(&t, &gid).await;
    assert_eq!(g["status"], "forming");
    assert_eq!(g["leader_id"], json!(first.id), "the earliest payer leads");
    assert_eq!(
        (g["paid_seats"].as_i64(), g["held_seats"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(wallet_balance(&t, &leader).await, 20_000);
    // The old leader may join again as a member; the new leader may not join their own group.
    join(&t, &gid, &first).await.problem(409, None);
    let back = join(&t, &gid, &leader).await.expect(201);
    pay_wallet(&t, &id(&back["order"]), &leader)
        .await
        .expect(200);
    let last = member_with(&t, "压轴", 20_000).await;
    let o4 = id(&join(&t, &gid, &last).await.expect(201)["order"]);
    pay_wallet(&t, &o4, &last).await.expect(200);
    assert_eq!(group(&t, &gid).await["status"], "succeeded");
    let events = group_events(&t, &gid).await;
    assert!(
        events.contains(&"group.leader_changed".to_owned()),
        "{events:?}"
    );
    crate::worlds::audit_clean(&t).await;
}

async fn bad_input_and_races_are_refused(t: TestApp) {
    let s = winery(&t).stock(10).build().await;
    let url = format!("/api/v1/merchants/{}/group-campaigns", s.merchant);
    let base = json!({ "sku_id": s.sku, "group_size": 3, "group_price_fen": GROUP, "ends_at": ends_in_days(&t, 7), "stock_limit": 30 });
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, field) in [
        (with("group_size", json!(1)), "group_size"),
        (with("group_size", json!(101)), "group_size"),
        (with("group_price_fen", json!(LIST + 1)), "group_price_fen"),
        (
            with("leader_price_fen", json!(GROUP + 1)),
            "leader_price_fen",
        ),
        (with("duration_secs", json!(10)), "duration_secs"),
        (with("ends_at", json!("tomorrow")), "ends_at"),
        (with("stock_limit", json!(2)), "stock_limit"),
        (with("per_member_limit", json!(0)), "per_member_limit"),
        (with("leader_bp", json!(2500)), "leader_bp"),
        (
            with("sku_id", json!("00000000-0000-0000-0000-000000000001")),
            "sku_id",
        ),
    ] {
        t.post(&url, Some(&s.owner.token), body)
            .await
            .problem(422, Some(field));
    }
    // Only the merchant's staff start campaigns.
    let member = t.register_member("路人").await;
    t.post(&url, Some(&member.token), base.clone())
        .await
        .problem(403, None);
    t.post(&url, None, base.clone()).await.problem(401, None);
    let (rival, _) = t.approved_merchant("隔壁").await;
    t.post(&url, Some(&rival.token), base.clone())
        .await
        .problem(403, None);

    let c = campaign(
        &t,
        &s,
        json!({ "duration_secs": 600, "stock_limit": 6, "per_member_limit": 1 }),
    )
    .await;
    let cid = id(&c);
    t.post(
        &format!("/api/v1/group-campaigns/{cid}/end"),
        Some(&member.token),
        json!({}),
    )
    .await
    .problem(403, None);
    for missing in [
        "/api/v1/groups/00000000-0000-0000-0000-000000000001",
        "/api/v1/groups/not-an-id",
        "/api/v1/group-campaigns/00000000-0000-0000-0000-000000000001",
    ] {
        t.get(missing, None).await.problem(404, None);
    }
    join(&t, "00000000-0000-0000-0000-000000000001", &member)
        .await
        .problem(404, None);
    t.post(
        &format!("/api/v1/group-campaigns/{cid}/groups"),
        Some(&member.token),
        json!({ "delivery": "shipping" }),
    )
    .await
    .problem(422, Some("address"));

    let leader = member_with(&t, "团长", 50_000).await;
    let seat = open(&t, &cid, &leader).await;
    let gid = id(&seat["group"]);
    pay_wallet(&t, &id(&seat["order"]), &leader)
        .await
        .expect(200);
    // The leader cannot join their own group; nor open a second (limit 1 per member).
    refused(join(&t, &gid, &leader).await, "lead");
    refused(try_open(&t, &cid, &leader).await, "limit");
    let a = member_with(&t, "甲", 50_000).await;
    let a_order = id(&join(&t, &gid, &a).await.expect(201)["order"]);
    refused(join(&t, &gid, &a).await, "already");
    let b = member_with(&t, "乙", 50_000).await;
    let b_order = id(&join(&t, &gid, &b).await.expect(201)["order"]);
    refused(join(&t, &gid, &member).await, "full");
    // A member who cancels frees the seat for someone else.
    t.post(
        &format!("/api/v1/orders/{b_order}/cancel"),
        Some(&b.token),
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(group(&t, &gid).await["seats_left"], 1);
    pay_wallet(&t, &a_order, &a).await.expect(200);
    // The campaign's stock limit: 6 seats, all taken once 路人 opens a second group (a group
    // takes all its seats when it opens, so every group opened can fill).
    let c2 = member_with(&t, "丙", 50_000).await;
    let c2_order = id(&join(&t, &gid, &c2).await.expect(201)["order"]);
    open(&t, &cid, &member).await;
    refused(try_open(&t, &cid, &b).await, "sold out");
    // Paying after the group expired is refused; the group fails and refunds.
    t.clock.advance_secs(601);
    pay_wallet(&t, &c2_order, &c2).await.problem(409, None);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    assert_eq!(group(&t, &gid).await["status"], "failed");
    refused(join(&t, &gid, &member).await, "failed");
    assert_eq!(wallet_balance(&t, &a).await, 50_000);
    // An ended campaign opens no new groups.
    t.post(
        &format!("/api/v1/group-campaigns/{cid}/end"),
        Some(&s.owner.token),
        json!({}),
    )
    .await
    .expect(200);
    refused(try_open(&t, &cid, &member).await, "ended");
    crate::worlds::audit_clean(&t).await;
}

async fn a_thousand_concurrent_joins_never_overfill(t: TestApp) {
    const GROUPS: usize = 100;
    const MEMBERS: usize = 60;
    let s = winery(&t).stock(300).build().await;
    let cid = id(&campaign(
        &t,
        &s,
        json!({ "stock_limit": 300, "per_member_limit": 100, "leader_price_fen": 5_000, "duration_secs": HOUR }),
    )
    .await);
    let mut members = Vec::new();
    for i in 0..MEMBERS {
        members.push(member_with(&t, &format!("团员{i}"), 2_000_000).await);
    }
    // 100 groups opened and paid by their leaders.
    let mut groups = Vec::new();
    for g in 0..GROUPS {
        let leader = &members[g % MEMBERS];
        let seat = open(&t, &cid, leader).await;
        pay_wallet(&t, &id(&seat["order"]), leader)
            .await
            .expect(200);
        groups.push(id(&seat["group"]));
    }
    // 1,000 concurrent attempts to join (and pay at once) over HTTP.
    let mut tasks = Vec::new();
    for i in 0..1000usize {
        let client = t.client.clone();
        let base = t.base.clone();
        let m = &members[(i * 7) % MEMBERS];
        let token = m.token.clone();
        let gid = groups[(i * 13) % GROUPS].clone();
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(format!("{base}/api/v1/groups/{gid}/join"))
                .bearer_auth(&token)
                .json(&seat_body())
                .send()
                .await
                .expect("join");
            let status = r.status().as_u16();
            if status != 201 {
                return (status, 0u16);
            }
            let seat: Value = r.json().await.expect("seat");
            let oid = seat["order"]["id"].as_str().unwrap().to_owned();
            let paid = client
                .post(format!("{base}/api/v1/orders/{oid}/pay"))
                .bearer_auth(&token)
                .json(&json!({ "provider": "wallet" }))
                .send()
                .await
                .expect("pay")
                .status()
                .as_u16();
            (status, paid)
        }));
    }
    let (mut joined, mut refused, mut paid) = (0, 0, 0);
    for task in tasks {
        match task.await.unwrap() {
            (201, 200) => {
                joined += 1;
                paid += 1;
            }
            (201, other) => panic!("a seat taken could not be paid: {other}"),
            (409 | 429, _) => refused += 1,
            (other, _) => panic!("unexpected join status {other}"),
        }
    }
    assert_eq!(joined + refused, 1000);
    assert!(joined <= 200, "only 200 seats were left: {joined}");
    assert!(joined > 0);
    // No group ever holds more than 3 paid seats; a full group has succeeded.
    let mut succeeded = 0;
    let mut paid_seats = 0;
    for gid in &groups {
        let g = group(&t, gid).await;
        let p = g["paid_seats"].as_i64().unwrap();
        assert!(p <= 3 && g["held_seats"].as_i64().unwrap() <= 3, "{g}");
        assert_eq!(g["status"] == "succeeded", p == 3, "{g}");
        succeeded += i64::from(p == 3);
        paid_seats += p;
    }
    assert_eq!(paid_seats, GROUPS as i64 + paid);
    let (on_hand, reserved) = stock(&t, &s).await;
    assert_eq!(on_hand, 300);
    assert_eq!(
        reserved, paid_seats,
        "stock reserved = seats paid; never oversold"
    );

    // After the clock passes every expiry, every paid seat is in a succeeded group or
    // refunded, and the ledger balances.
    t.clock.advance_secs(HOUR + 1);
    while kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap()
        > 0
    {}
    let mut refunded = 0;
    let mut in_success = 0;
    for m in &members {
        let mine = t.get("/api/v1/me/groups", Some(&m.token)).await.expect(200);
        for seat in mine.as_array().unwrap() {
            let o = order(&t, seat["order_id"].as_str().unwrap(), m).await;
            match (
                seat["group"]["status"].as_str().unwrap(),
                o["status"].as_str().unwrap(),
            ) {
                ("succeeded", "fulfilling") => in_success += 1,
                ("failed", "refunded") => refunded += 1,
                other => panic!("a paid seat neither succeeded nor refunded: {other:?}"),
            }
        }
    }
    assert_eq!(in_success, succeeded * 3);
    assert_eq!(in_success + refunded, paid_seats);
    assert_eq!(stock(&t, &s).await, (300, succeeded * 3));
    crate::worlds::audit_clean(&t).await;
}
