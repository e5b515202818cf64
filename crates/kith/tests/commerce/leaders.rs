//! 社区团购 stories: leaders apply and are approved at a level, members choose a leader
//! (ranked by friends, community, then distance), join a 接龙 batch across two leaders'
//! points, the cut-off fixes the orders and produces exact pick lists, consignments are
//! delivered, codes redeemed at the right point only, and the leaders' commission goes
//! pending → frozen → available; a batch below its minimum fails and is refunded; bad
//! input and races are refused with their reason; concurrent joins for the last units
//! never oversell.

use serde_json::{Value, json};

use crate::both_engines;
use crate::builders::{Shop, ShopBuilder};
use crate::harness::{TestApp, User, id};
use crate::worlds::{audit_clean, balances, befriend, close_after_sale_window, community, join};

both_engines!(
    a_batch_goes_from_leaders_to_pickups_and_commission,
    a_batch_below_its_minimum_fails_and_refunds,
    bad_input_and_races_are_refused,
    concurrent_joins_for_the_last_units_never_oversell,
    a_join_is_given_back_once_when_cancel_and_expiry_race,
    helpers_redeem_at_their_leaders_point_only,
    leaders_are_ranked_by_trust_then_distance,
    candidate_leaders_come_from_the_graph,
    unclaimed_orders_follow_the_merchants_rule,
    a_leader_opens_a_batch_within_what_the_merchant_allows,
);

const LIST: i64 = 5_000;
const PRICE: i64 = 3_800;
const HOUR_MS: i64 = 3_600_000;

fn at(t: &TestApp, ms_from_now: i64) -> String {
    use kith_domain::Clock;
    kith_app::rfc3339(t.clock.now_ms() + ms_from_now)
}

fn pickup_date(t: &TestApp, days: i64) -> String {
    use kith_domain::Clock;
    let ms = t.clock.now_ms() + days * 24 * HOUR_MS + 8 * HOUR_MS;
    kith_app::rfc3339(ms)[..10].to_owned()
}

/// The stories' shop: 社区果园, one SKU at ¥50, a plan of L1 10 %, cap 30 %.
fn orchard(t: &TestApp) -> ShopBuilder<'_> {
    t.shop()
        .name("社区果园")
        .price(LIST)
        .plan(json!({ "levels_bp": [1000, 0], "cap_bp": 3000 }))
}

/// `who` applies with a point at (`lat`, `lng`) and the owner approves at `rate_bp`.
async fn leader(
    t: &TestApp,
    s: &Shop,
    who: &User,
    point: &str,
    lat: f64,
    lng: f64,
    rate_bp: i64,
) -> Value {
    let l = t
        .post(
            &format!("/api/v1/merchants/{}/leaders", s.merchant),
            Some(&who.token),
            json!({ "point_name": point, "address": format!("{point}小区门口"), "latitude": lat, "longitude": lng, "capacity": 50 }),
        )
        .await
        .expect(201);
    assert_eq!(l["status"], "applied");
    let l = t
        .post(
            &format!("/api/v1/leaders/{}/approve", id(&l)),
            Some(&s.owner.token),
            json!({ "rate_bp": rate_bp }),
        )
        .await
        .expect(200);
    assert_eq!(l["status"], "approved");
    assert!(l["store_id"].is_string());
    l
}

async fn choose(t: &TestApp, s: &Shop, who: &User, leader: &Value) {
    t.put(
        &format!("/api/v1/merchants/{}/my-leader", s.merchant),
        Some(&who.token),
        json!({ "leader_id": id(leader) }),
    )
    .await
    .expect(200);
}

async fn batch(t: &TestApp, s: &Shop, body: Value) -> Value {
    let mut b = json!({
        "title": "明日鲜桃接龙", "cutoff_at": at(t, 2 * HOUR_MS), "pickup_date": pickup_date(t, 1),
        "items": [{ "sku_id": s.sku, "price_fen": PRICE, "per_member_limit": 3, "quantity_limit": 100 }],
    });
    for (k, v) in body.as_object().expect("object") {
        b[k] = v.clone();
    }
    t.post(
        &format!("/api/v1/merchants/{}/batches", s.merchant),
        Some(&s.owner.token),
        b,
    )
    .await
    .expect(201)
}

async fn try_join(
    t: &TestApp,
    batch: &str,
    who: &User,
    sku: &str,
    qty: i64,
) -> crate::harness::Resp {
    t.post(
        &format!("/api/v1/batches/{batch}/joins"),
        Some(&who.token),
        json!({ "items": [{ "sku_id": sku, "quantity": qty }] }),
    )
    .await
}

async fn pay(t: &TestApp, order: &str, who: &User) {
    t.post(
        &format!("/api/v1/orders/{order}/pay"),
        Some(&who.token),
        json!({ "provider": "wallet" }),
    )
    .await
    .expect(200);
}

async fn order(t: &TestApp, oid: &str, who: &User) -> Value {
    t.get(&format!("/api/v1/orders/{oid}"), Some(&who.token))
        .await
        .expect(200)
}

async fn member(t: &TestApp, name: &str, fen: i64) -> User {
    let u = t.register_member(name).await;
    if fen > 0 {
        t.top_up(&u, fen).await;
    }
    u
}

async fn cut_off(t: &TestApp) {
    t.clock.advance_ms(2 * HOUR_MS + 1000);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
}

#[track_caller]
fn refused(r: crate::harness::Resp, field: Option<&str>, word: &str) {
    let p = r.problem(409, field);
    assert!(
        p["detail"].as_str().unwrap_or_default().contains(word),
        "{word}: {p}"
    );
}

async fn a_batch_goes_from_leaders_to_pickups_and_commission(t: TestApp) {
    let s = orchard(&t).stock(1000).build().await;
    let (la, lb) = (
        member(&t, "东门团长", 0).await,
        member(&t, "西门团长", 0).await,
    );
    let a = leader(&t, &s, &la, "东门驿站", 26.5800, 106.7100, 800).await;
    let b = leader(&t, &s, &lb, "西门驿站", 26.5900, 106.6900, 500).await;
    // The leader's level can be changed later, within the plan's cap.
    let b = t
        .put(
            &format!("/api/v1/leaders/{}/level", id(&b)),
            Some(&s.owner.token),
            json!({ "rate_bp": 600 }),
        )
        .await
        .expect(200);
    assert_eq!(b["rate_bp"], 600);

    let bt = batch(&t, &s, json!({ "min_total_units": 5 })).await;
    let bid = id(&bt);
    assert_eq!(bt["status"], "open");
    assert_eq!(bt["open_for_joins"], true);
    assert_eq!(bt["seconds_to_cutoff"], 2 * 3600);

    // Thirty members across the two points, 1–3 units each; the last of each point's
    // members does not pay (their order is cancelled at the cut-off).
    const MEMBERS: i64 = 30;
    let mut joined = Vec::new();
    for n in 0..MEMBERS {
        let u = member(&t, &format!("邻居{n}"), 20_000).await;
        let l = if n % 2 == 0 { &a } else { &b };
        choose(&t, &s, &u, l).await;
        let qty = n % 3 + 1;
        let j = try_join(&t, &bid, &u, &s.sku, qty).await.expect(201);
        assert_eq!(j["seq"], n + 1, "numbered like a 接龙");
        assert_eq!(j["order"]["total_fen"], PRICE * qty);
        assert_eq!(j["order"]["pickup_store_id"], l["store_id"]);
        let oid = id(&j["order"]);
        let pays = n < MEMBERS - 2;
        if pays {
            pay(&t, &oid, &u).await;
            let o = order(&t, &oid, &u).await;
            assert_eq!(o["status"], "awaiting_group");
            assert_eq!(o["batch_id"], bt["id"], "waiting for the 接龙 cut-off");
        }
        joined.push((u, oid, n % 2 == 0, qty, pays));
    }
    // The 接龙 list: in join order; a stranger sees no names, the merchant sees them all.
    let anon = t
        .get(&format!("/api/v1/batches/{bid}/joins"), None)
        .await
        .expect(200);
    let anon = anon.as_array().unwrap();
    assert_eq!(anon.len(), MEMBERS as usize);
    assert!(anon.iter().all(|e| e["display_name"].is_null()));
    assert_eq!(
        anon.iter()
            .map(|e| e["seq"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        (1..=MEMBERS).collect::<Vec<_>>()
    );
    let staff = t
        .get(
            &format!("/api/v1/batches/{bid}/joins"),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(staff[0]["display_name"], "邻居0");
    let own = t
        .get(
            &format!("/api/v1/batches/{bid}/joins"),
            Some(&joined[3].0.token),
        )
        .await
        .expect(200);
    assert_eq!(own[3]["display_name"], "邻居3");
    assert!(own[2]["display_name"].is_null(), "not a friend: no name");
    // Friends see each other's names, until one blocks the other (as for posts).
    befriend(&t, &joined[3].0, &joined[5].0).await;
    let names = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["display_name"].clone())
            .collect::<Vec<_>>()
    };
    let own = t
        .get(
            &format!("/api/v1/batches/{bid}/joins"),
            Some(&joined[3].0.token),
        )
        .await
        .expect(200);
    assert_eq!(names(&own)[5], "邻居5", "a friend's name is shown");
    t.post(
        &format!("/api/v1/accounts/{}/block", joined[5].0.id),
        Some(&joined[3].0.token),
        json!({}),
    )
    .await
    .expect(204);
    for viewer in [&joined[3].0, &joined[5].0] {
        let list = t
            .get(&format!("/api/v1/batches/{bid}/joins"), Some(&viewer.token))
            .await
            .expect(200);
        let other = if viewer.id == joined[3].0.id { 5 } else { 3 };
        assert!(names(&list)[other].is_null(), "blocked: no name {list}");
    }

    cut_off(&t).await;
    let bt = t
        .get(&format!("/api/v1/batches/{bid}"), None)
        .await
        .expect(200);
    assert_eq!(bt["status"], "fixed", "{bt}");
    let paid_units: i64 = joined.iter().filter(|j| j.4).map(|j| j.3).sum();
    assert_eq!(bt["paid_units"], paid_units);
    for (u, oid, _, _, pays) in &joined {
        let want = if *pays { "fulfilling" } else { "cancelled" };
        assert_eq!(order(&t, oid, u).await["status"], want);
    }
    // Leaders' commission is pending now.
    let (pa, _, _, _) = balances(&t, &la, &s.merchant).await;
    let a_goods: i64 = joined
        .iter()
        .filter(|j| j.4 && j.2)
        .map(|j| j.3 * PRICE)
        .sum();
    let b_goods: i64 = joined
        .iter()
        .filter(|j| j.4 && !j.2)
        .map(|j| j.3 * PRICE)
        .sum();
    assert_eq!(pa, a_goods * 800 / 10_000);

    // Pick lists: exact per point, products × quantities and per buyer.
    let lists = t
        .get(
            &format!("/api/v1/batches/{bid}/pick-lists"),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    let lists = lists.as_array().unwrap();
    assert_eq!(lists.len(), 2);
    for pl in lists {
        let east = pl["leader_id"] == a["id"];
        let want: Vec<(i64, i64)> = joined
            .iter()
            .enumerate()
            .filter(|(_, j)| j.4 && j.2 == east)
            .map(|(n, j)| (n as i64 + 1, j.3))
            .collect();
        let total: i64 = want.iter().map(|w| w.1).sum();
        assert_eq!(pl["lines"][0]["quantity"], total, "{pl}");
        let got: Vec<(i64, i64)> = pl["buyers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["seq"].as_i64().unwrap(),
                    b["lines"][0]["quantity"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, want);
    }
    // The leader sees their own list, not the other's.
    let own = t
        .get(
            &format!("/api/v1/leaders/{}/batches/{bid}/pick-list", id(&a)),
            Some(&la.token),
        )
        .await
        .expect(200);
    assert_eq!(own["leader_id"], a["id"]);
    t.get(
        &format!("/api/v1/leaders/{}/batches/{bid}/pick-list", id(&a)),
        Some(&lb.token),
    )
    .await
    .problem(404, None);

    // Delivered to both points: every paid order is ready with a code.
    for l in [&a, &b] {
        let pl = t
            .post(
                &format!("/api/v1/batches/{bid}/leaders/{}/delivered", id(l)),
                Some(&s.owner.token),
                json!({}),
            )
            .await
            .expect(200);
        assert!(pl["delivered_at"].is_string());
    }
    // Delivering again changes nothing.
    t.post(
        &format!("/api/v1/batches/{bid}/leaders/{}/delivered", id(&a)),
        Some(&s.owner.token),
        json!({}),
    )
    .await
    .expect(200);

    let store_a = a["store_id"].as_str().unwrap();
    let store_b = b["store_id"].as_str().unwrap();
    let mut first = true;
    let mut tried_elsewhere = 0;
    for (u, oid, east, _, pays) in &joined {
        if !pays {
            continue;
        }
        let o = order(&t, oid, u).await;
        assert_eq!(o["status"], "ready_for_pickup");
        let code = o["pickup_code"].as_str().expect("code").to_owned();
        let (mine, other, me, them) = if *east {
            (store_a, store_b, &la, &lb)
        } else {
            (store_b, store_a, &lb, &la)
        };
        // Another leader's point does not know the code, nor may a leader redeem at
        // another's point (tried on a few codes: a wrong code counts against the point's
        // guessing limit, which thirty would reach).
        if tried_elsewhere < 4 {
            tried_elsewhere += 1;
            t.post(
                &format!("/api/v1/clerk/stores/{other}/pickups/redeem"),
                Some(&them.token),
                json!({ "code": code }),
            )
            .await
            .problem(404, None);
            t.post(
                &format!("/api/v1/clerk/stores/{mine}/pickups/redeem"),
                Some(&them.token),
                json!({ "code": code }),
            )
            .await
            .problem(403, None);
        }
        let r = t
            .post(
                &format!("/api/v1/clerk/stores/{mine}/pickups/redeem"),
                Some(&me.token),
                json!({ "code": code }),
            )
            .await
            .expect(200);
        assert_eq!(r["status"], "picked_up");
        if first {
            // The same code twice: refused.
            refused(
                t.post(
                    &format!("/api/v1/clerk/stores/{mine}/pickups/redeem"),
                    Some(&me.token),
                    json!({ "code": code }),
                )
                .await,
                None,
                "already redeemed",
            );
            first = false;
        }
    }
    let (pa, fa, aa, _) = balances(&t, &la, &s.merchant).await;
    assert_eq!(
        (pa, fa, aa),
        (0, a_goods * 800 / 10_000, 0),
        "frozen at pickup"
    );
    // The batch's statements: the staff see both leaders, a leader their own; the
    // commission by state matches the leader's balances to the fen.
    let st = format!("/api/v1/batches/{bid}/statements");
    let all = t.get(&st, Some(&s.owner.token)).await.expect(200);
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    let mine = t.get(&st, Some(&la.token)).await.expect(200);
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    let east_st = &mine[0];
    let paid_east = joined.iter().filter(|j| j.4 && j.2).count() as i64;
    let units_east: i64 = joined.iter().filter(|j| j.4 && j.2).map(|j| j.3).sum();
    assert_eq!(east_st["leader_id"], a["id"]);
    assert_eq!(east_st["orders"], paid_east);
    assert_eq!(east_st["units"], units_east);
    assert_eq!(east_st["gmv_fen"], a_goods);
    assert_eq!(east_st["refunded_fen"], 0);
    assert_eq!(east_st["pickup_rate_bp"], 10_000);
    assert_eq!(
        (
            east_st["commission_pending_fen"].as_i64().unwrap(),
            east_st["commission_frozen_fen"].as_i64().unwrap(),
            east_st["commission_available_fen"].as_i64().unwrap(),
        ),
        (pa, fa, aa),
        "{east_st}"
    );
    let stranger = member(&t, "路人", 0).await;
    t.get(&st, Some(&stranger.token)).await.problem(404, None);
    close_after_sale_window(&t).await;
    let mine = t.get(&st, Some(&lb.token)).await.expect(200);
    let (pb, fb, ab, _) = balances(&t, &lb, &s.merchant).await;
    assert_eq!(mine[0]["leader_id"], b["id"]);
    assert_eq!(mine[0]["commission_available_fen"], ab, "{mine}");
    assert_eq!((pb, fb), (0, 0));
    let (pb, fb, ab, _) = balances(&t, &lb, &s.merchant).await;
    assert_eq!(
        (pb, fb, ab),
        (0, 0, b_goods * 600 / 10_000),
        "available after the window"
    );
    let (_, _, aa, _) = balances(&t, &la, &s.merchant).await;
    assert_eq!(aa, a_goods * 800 / 10_000);

    // Insight per leader: GMV, buyers, repeat and pickup rates.
    let figs = t
        .get(
            &format!("/api/v1/merchants/{}/insight/leaders", s.merchant),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    let east = figs
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["leader_id"] == a["id"])
        .expect("east");
    let paid_east = joined.iter().filter(|j| j.4 && j.2).count() as i64;
    assert_eq!(east["orders"], paid_east);
    assert_eq!(east["gmv_fen"], a_goods);
    assert_eq!(east["buyers"], paid_east);
    assert_eq!(east["repeat_rate_bp"], 0);
    assert_eq!(east["pickup_rate_bp"], 10_000);
    t.get(
        &format!("/api/v1/merchants/{}/insight/leaders", s.merchant),
        Some(&la.token),
    )
    .await
    .problem(403, None);
    audit_clean(&t).await;
}

async fn a_batch_below_its_minimum_fails_and_refunds(t: TestApp) {
    let s = orchard(&t).stock(100).build().await;
    let la = member(&t, "团长", 0).await;
    let a = leader(&t, &s, &la, "南门驿站", 26.58, 106.71, 500).await;
    let bt = batch(&t, &s, json!({ "min_total_units": 10 })).await;
    let bid = id(&bt);
    let mut joined = Vec::new();
    for n in 0..3 {
        let u = member(&t, &format!("买家{n}"), 20_000).await;
        choose(&t, &s, &u, &a).await;
        let j = try_join(&t, &bid, &u, &s.sku, 2).await.expect(201);
        let oid = id(&j["order"]);
        pay(&t, &oid, &u).await;
        joined.push((u, oid));
    }
    cut_off(&t).await;
    let bt = t
        .get(&format!("/api/v1/batches/{bid}"), None)
        .await
        .expect(200);
    assert_eq!(bt["status"], "failed");
    assert!(
        bt["fail_reason"].as_str().unwrap().contains("6 of the 10"),
        "{bt}"
    );
    for (u, oid) in &joined {
        let o = order(&t, oid, u).await;
        assert_eq!(o["status"], "refunded", "{o}");
        let w = t.get("/api/v1/me/wallet", Some(&u.token)).await.expect(200);
        assert_eq!(w["balance_fen"], 20_000, "refunded in full");
    }
    // A second run of the job changes nothing.
    kith_app::neighbourhood::cutoff_batch(&t.app, &bid)
        .await
        .unwrap();
    assert_eq!(balances(&t, &la, &s.merchant).await, (0, 0, 0, 0));
    audit_clean(&t).await;
}

async fn bad_input_and_races_are_refused(t: TestApp) {
    let s = orchard(&t).stock(100).build().await;
    let la = member(&t, "团长", 0).await;
    let a = leader(&t, &s, &la, "北门驿站", 26.58, 106.71, 500).await;
    let m = |p: &str| format!("/api/v1/merchants/{}{p}", s.merchant);

    // Applying: bad fields named; twice refused.
    let u = member(&t, "申请人", 0).await;
    t.post(&m("/leaders"), Some(&u.token), json!({ "point_name": "X", "address": "1号楼下门口", "latitude": 91.0, "longitude": 106.0 }))
        .await
        .problem(422, Some("latitude"));
    t.post(
        &m("/leaders"),
        Some(&la.token),
        json!({ "point_name": "再来", "address": "1号楼下", "latitude": 26.0, "longitude": 106.0 }),
    )
    .await
    .problem(409, None);
    // A rate beyond the plan's cap (10 % + 25 % > 30 %).
    let app = t
        .post(&m("/leaders"), Some(&u.token), json!({ "point_name": "申请点", "address": "2号楼下", "latitude": 26.0, "longitude": 106.0 }))
        .await
        .expect(201);
    t.post(
        &format!("/api/v1/leaders/{}/approve", id(&app)),
        Some(&s.owner.token),
        json!({ "rate_bp": 2500 }),
    )
    .await
    .problem(422, Some("rate_bp"));
    // Another merchant's owner cannot approve (or even see) this application.
    let other = t.shop().name("隔壁店").price(1000).stock(10).build().await;
    t.post(
        &format!("/api/v1/leaders/{}/approve", id(&app)),
        Some(&other.owner.token),
        json!({ "rate_bp": 0 }),
    )
    .await
    .problem(404, None);
    t.post(
        &format!("/api/v1/leaders/{}/suspend", id(&a)),
        Some(&other.owner.token),
        json!({}),
    )
    .await
    .problem(404, None);
    let still = t
        .get(&m("/leaders?status=applied"), Some(&s.owner.token))
        .await
        .expect(200);
    assert_eq!(still.as_array().unwrap().len(), 1);

    // Batches: bad terms are named.
    let bad = |body: Value| {
        let mut b = json!({
            "title": "接龙", "cutoff_at": at(&t, HOUR_MS), "pickup_date": pickup_date(&t, 1),
            "items": [{ "sku_id": s.sku, "price_fen": PRICE, "per_member_limit": 2, "quantity_limit": 10 }],
        });
        for (k, v) in body.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    for (body, field) in [
        (json!({ "cutoff_at": at(&t, -1000) }), "cutoff_at"),
        (json!({ "pickup_date": "2020-01-01" }), "pickup_date"),
        (json!({ "pickup_date": "明天" }), "pickup_date"),
        (
            json!({ "items": [{ "sku_id": s.sku, "price_fen": LIST + 1, "per_member_limit": 2, "quantity_limit": 10 }] }),
            "items[0].price_fen",
        ),
        (
            json!({ "items": [{ "sku_id": other.sku, "price_fen": 100, "per_member_limit": 2, "quantity_limit": 10 }] }),
            "items[0].sku_id",
        ),
        (json!({ "items": [] }), "items"),
    ] {
        t.post(&m("/batches"), Some(&s.owner.token), bad(body))
            .await
            .problem(422, Some(field));
    }
    t.post(&m("/batches"), Some(&la.token), bad(json!({})))
        .await
        .problem(403, None);

    let bt = batch(&t, &s, json!({ "items": [{ "sku_id": s.sku, "price_fen": PRICE, "per_member_limit": 2, "quantity_limit": 5 }] })).await;
    let bid = id(&bt);
    let buyer = member(&t, "买家", 50_000).await;
    // No leader chosen yet.
    refused(
        try_join(&t, &bid, &buyer, &s.sku, 1).await,
        None,
        "choose your leader",
    );
    choose(&t, &s, &buyer, &a).await;
    // Over the member's limit, at once and in two joins.
    refused(
        try_join(&t, &bid, &buyer, &s.sku, 3).await,
        Some("items[0].quantity"),
        "per member",
    );
    try_join(&t, &bid, &buyer, &s.sku, 1).await.expect(201);
    refused(
        try_join(&t, &bid, &buyer, &s.sku, 2).await,
        Some("items[0].quantity"),
        "per member",
    );
    // Over the batch's units.
    let big = member(&t, "大户", 50_000).await;
    choose(&t, &s, &big, &a).await;
    let b2 = batch(&t, &s, json!({ "items": [{ "sku_id": s.sku, "price_fen": PRICE, "per_member_limit": 10, "quantity_limit": 3 }] })).await;
    refused(
        try_join(&t, &id(&b2), &big, &s.sku, 4).await,
        Some("items[0].quantity"),
        "only 3 left",
    );
    // Not a product of the batch; a bad quantity.
    try_join(&t, &bid, &big, &other.sku, 1)
        .await
        .problem(422, Some("items[0].sku_id"));
    try_join(&t, &bid, &big, &s.sku, 0)
        .await
        .problem(422, Some("items[0].quantity"));

    // A suspended leader: their point takes no joins, cannot be chosen, redeems nothing.
    t.post(
        &format!("/api/v1/leaders/{}/suspend", id(&a)),
        Some(&s.owner.token),
        json!({}),
    )
    .await
    .expect(200);
    refused(try_join(&t, &bid, &big, &s.sku, 1).await, None, "suspended");
    // Its point is a store, but an ordinary pickup checkout cannot name it either, and
    // members no longer see it among the merchant's stores (staff still do).
    refused(
        t.post(
            &m("/checkout"),
            Some(&big.token),
            json!({ "delivery": "pickup", "pickup_store_id": a["store_id"], "items": [{ "sku_id": s.sku, "quantity": 1 }] }),
        )
        .await,
        Some("pickup_store_id"),
        "suspended",
    );
    let store_ids = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|st| st["id"].clone())
            .collect::<Vec<_>>()
    };
    let seen = t.get(&m("/stores"), Some(&big.token)).await.expect(200);
    assert!(!store_ids(&seen).contains(&a["store_id"]), "{seen}");
    let seen = t.get(&m("/stores"), None).await.expect(200);
    assert!(!store_ids(&seen).contains(&a["store_id"]), "{seen}");
    let seen = t.get(&m("/stores"), Some(&s.owner.token)).await.expect(200);
    assert!(store_ids(&seen).contains(&a["store_id"]), "{seen}");
    let late = member(&t, "后来者", 0).await;
    t.put(
        &m("/my-leader"),
        Some(&late.token),
        json!({ "leader_id": id(&a) }),
    )
    .await
    .problem(409, Some("leader_id"));
    let store = a["store_id"].as_str().unwrap();
    t.post(
        &format!("/api/v1/clerk/stores/{store}/pickups/redeem"),
        Some(&la.token),
        json!({ "code": "12345678" }),
    )
    .await
    .problem(403, None);
    t.post(
        &format!("/api/v1/leaders/{}/resume", id(&a)),
        Some(&s.owner.token),
        json!({}),
    )
    .await
    .expect(200);
    try_join(&t, &bid, &big, &s.sku, 1).await.expect(201);
    let seen = t.get(&m("/stores"), Some(&big.token)).await.expect(200);
    assert!(
        store_ids(&seen).contains(&a["store_id"]),
        "resumed: shown again"
    );

    // A point full for the batch: its capacity of live joins.
    let tiny = member(&t, "小店主", 0).await;
    let small = t
        .post(&m("/leaders"), Some(&tiny.token), json!({ "point_name": "小卖部", "address": "5号楼小卖部", "latitude": 26.5, "longitude": 106.5, "capacity": 1 }))
        .await
        .expect(201);
    t.post(
        &format!("/api/v1/leaders/{}/approve", id(&small)),
        Some(&s.owner.token),
        json!({ "rate_bp": 0 }),
    )
    .await
    .expect(200);
    let (n1, n2) = (member(&t, "邻居甲", 0).await, member(&t, "邻居乙", 0).await);
    choose(&t, &s, &n1, &small).await;
    choose(&t, &s, &n2, &small).await;
    try_join(&t, &bid, &n1, &s.sku, 1).await.expect(201);
    refused(
        try_join(&t, &bid, &n2, &s.sku, 1).await,
        None,
        "point is full",
    );

    // After the cut-off: closed.
    cut_off(&t).await;
    refused(
        try_join(&t, &bid, &big, &s.sku, 1).await,
        None,
        "cut-off has passed",
    );
    audit_clean(&t).await;
}

async fn concurrent_joins_for_the_last_units_never_oversell(t: TestApp) {
    let s = orchard(&t).stock(100).build().await;
    let la = member(&t, "团长", 0).await;
    let a = leader(&t, &s, &la, "中心驿站", 26.58, 106.71, 0).await;
    let bt = batch(&t, &s, json!({ "items": [{ "sku_id": s.sku, "price_fen": PRICE, "per_member_limit": 2, "quantity_limit": 7 }] })).await;
    let bid = id(&bt);
    let mut members = Vec::new();
    for n in 0..12 {
        let u = member(&t, &format!("抢购{n}"), 0).await;
        choose(&t, &s, &u, &a).await;
        members.push(u);
    }
    // One member also races themself: two joins of 2 against a limit of 2.
    let twice = members[0].clone();
    let mut tasks = Vec::new();
    for (n, u) in members.iter().chain(std::iter::once(&twice)).enumerate() {
        let (client, base, bid, sku, token) = (
            t.client.clone(),
            t.base.clone(),
            bid.clone(),
            s.sku.clone(),
            u.token.clone(),
        );
        let qty = if n == 0 || n == 12 { 2 } else { 1 };
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(format!("{base}/api/v1/batches/{bid}/joins"))
                .bearer_auth(&token)
                .json(&json!({ "items": [{ "sku_id": sku, "quantity": qty }] }))
                .send()
                .await
                .expect("join");
            (r.status().as_u16(), qty)
        }));
    }
    let mut sold = 0;
    let mut ok = 0;
    for task in tasks {
        let (status, qty) = task.await.unwrap();
        match status {
            201 => {
                sold += qty;
                ok += 1;
            }
            409 => {}
            other => panic!("unexpected {other}"),
        }
    }
    let bt = t
        .get(&format!("/api/v1/batches/{bid}"), None)
        .await
        .expect(200);
    assert_eq!(bt["items"][0]["taken"], sold);
    assert_eq!(sold, 7, "every unit sold, none oversold");
    assert_eq!(bt["joins"], ok, "a refused join uses no 接龙 number");
    let list = t
        .get(&format!("/api/v1/batches/{bid}/joins"), None)
        .await
        .expect(200);
    let seqs: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=ok).collect::<Vec<_>>(), "numbered without gaps");
    // The member who raced themself: their units summed over every join they got in
    // (the staff's list names everyone).
    let named = t
        .get(
            &format!("/api/v1/batches/{bid}/joins"),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    let mine: i64 = named
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["display_name"] == "抢购0")
        .map(|e| e["units"].as_i64().unwrap())
        .sum();
    assert!(
        mine <= 2,
        "the member's limit of 2 held under the race: {mine}"
    );
    audit_clean(&t).await;
}

/// The buyer cancelling and the unpaid expiry racing for the same joins: each join's
/// units go back exactly once, to the batch and to the member's own count.
async fn a_join_is_given_back_once_when_cancel_and_expiry_race(t: TestApp) {
    let s = orchard(&t).stock(100).build().await;
    let la = member(&t, "团长", 0).await;
    let a = leader(&t, &s, &la, "中心驿站", 26.58, 106.71, 0).await;
    let bt = batch(&t, &s, json!({ "items": [{ "sku_id": s.sku, "price_fen": PRICE, "per_member_limit": 3, "quantity_limit": 50 }] })).await;
    let bid = id(&bt);
    let keeper = member(&t, "付了款的", 20_000).await;
    choose(&t, &s, &keeper, &a).await;
    let kept = try_join(&t, &bid, &keeper, &s.sku, 2).await.expect(201);
    pay(&t, &id(&kept["order"]), &keeper).await;
    let mut racers = Vec::new();
    for n in 0..6 {
        let u = member(&t, &format!("犹豫{n}"), 0).await;
        choose(&t, &s, &u, &a).await;
        let j = try_join(&t, &bid, &u, &s.sku, 3).await.expect(201);
        racers.push((u, id(&j["order"])));
    }
    // Past the unpaid deadline (30 minutes), before the cut-off.
    t.clock.advance_ms(31 * 60_000);
    let mut tasks = Vec::new();
    for (u, oid) in &racers {
        for _ in 0..2 {
            let (client, base, token, oid) = (
                t.client.clone(),
                t.base.clone(),
                u.token.clone(),
                oid.clone(),
            );
            tasks.push(tokio::spawn(async move {
                client
                    .post(format!("{base}/api/v1/orders/{oid}/cancel"))
                    .bearer_auth(&token)
                    .json(&json!({}))
                    .send()
                    .await
                    .expect("cancel")
                    .status()
                    .as_u16()
            }));
        }
    }
    let app = t.app.clone();
    let expiry = tokio::spawn(async move {
        for n in 0..3 {
            kith_app::events::jobs::run_once(&app, &format!("race{n}"))
                .await
                .unwrap();
        }
    });
    for task in tasks {
        let status = task.await.unwrap();
        assert!([200, 409].contains(&status), "cancel: {status}");
    }
    expiry.await.unwrap();
    kith_app::events::jobs::run_once(&t.app, "after")
        .await
        .unwrap();
    for (u, oid) in &racers {
        assert_eq!(order(&t, oid, u).await["status"], "cancelled");
    }
    let bt = t
        .get(&format!("/api/v1/batches/{bid}"), None)
        .await
        .expect(200);
    assert_eq!(
        bt["items"][0]["taken"], 2,
        "each join given back once: {bt}"
    );
    // Each member's own count is back to 0, not below it: 3 fit again, a 4th does not.
    let (u, _) = &racers[0];
    try_join(&t, &bid, u, &s.sku, 3).await.expect(201);
    refused(
        try_join(&t, &bid, u, &s.sku, 1).await,
        Some("items[0].quantity"),
        "per member",
    );
    audit_clean(&t).await;
}

/// A leader names a helper, who redeems codes at the leader's point and nowhere else; a
/// suspension stops them too, a resume brings them back, a removal ends it; a leader's own
/// code redeemed twice is refused.
async fn helpers_redeem_at_their_leaders_point_only(t: TestApp) {
    let s = orchard(&t).stock(100).build().await;
    let (la, lb) = (
        member(&t, "东门团长", 20_000).await,
        member(&t, "西门团长", 0).await,
    );
    let a = leader(&t, &s, &la, "东门驿站", 26.58, 106.71, 500).await;
    let b = leader(&t, &s, &lb, "西门驿站", 26.59, 106.69, 500).await;
    let helper = member(&t, "帮手小王", 0).await;
    let helpers = |l: &Value| format!("/api/v1/leaders/{}/helpers", id(l));
    let added = t
        .post(
            &helpers(&a),
            Some(&la.token),
            json!({ "account_id": helper.id }),
        )
        .await
        .expect(200);
    assert_eq!(added[0]["display_name"], "帮手小王");
    // Again: nothing changes.
    let again = t
        .post(
            &helpers(&a),
            Some(&la.token),
            json!({ "account_id": helper.id }),
        )
        .await
        .expect(200);
    assert_eq!(again.as_array().unwrap().len(), 1);
    // Only the leader names their helpers; not themself; one point per helper.
    t.post(
        &helpers(&a),
        Some(&lb.token),
        json!({ "account_id": helper.id }),
    )
    .await
    .problem(404, None);
    t.post(
        &helpers(&a),
        Some(&la.token),
        json!({ "account_id": la.id }),
    )
    .await
    .problem(422, Some("account_id"));
    t.post(
        &helpers(&a),
        Some(&la.token),
        json!({ "account_id": "nobody" }),
    )
    .await
    .problem(422, Some("account_id"));
    t.post(
        &helpers(&b),
        Some(&lb.token),
        json!({ "account_id": helper.id }),
    )
    .await
    .problem(409, Some("account_id"));
    let seen = t.get(&helpers(&a), Some(&s.owner.token)).await.expect(200);
    assert_eq!(seen.as_array().unwrap().len(), 1, "staff see them");
    t.get(&helpers(&a), Some(&lb.token))
        .await
        .problem(404, None);

    // Four buyers at the east point (the leader one of them), one at the west.
    let bt = batch(&t, &s, json!({})).await;
    let bid = id(&bt);
    let mut east = Vec::new();
    for n in 0..3 {
        let u = member(&t, &format!("东门邻居{n}"), 20_000).await;
        choose(&t, &s, &u, &a).await;
        let j = try_join(&t, &bid, &u, &s.sku, 1).await.expect(201);
        pay(&t, &id(&j["order"]), &u).await;
        east.push((u, id(&j["order"])));
    }
    choose(&t, &s, &la, &a).await;
    let own = try_join(&t, &bid, &la, &s.sku, 1).await.expect(201);
    let own = id(&own["order"]);
    pay(&t, &own, &la).await;
    let w = member(&t, "西门邻居", 20_000).await;
    choose(&t, &s, &w, &b).await;
    let j = try_join(&t, &bid, &w, &s.sku, 1).await.expect(201);
    let west = id(&j["order"]);
    pay(&t, &west, &w).await;
    cut_off(&t).await;
    for l in [&a, &b] {
        t.post(
            &format!("/api/v1/batches/{bid}/leaders/{}/delivered", id(l)),
            Some(&s.owner.token),
            json!({}),
        )
        .await
        .expect(200);
    }
    let code = |o: Value| o["pickup_code"].as_str().expect("code").to_owned();
    let (sa, sb) = (&a["store_id"], &b["store_id"]);
    let redeem = |store: &Value, who: &User, code: &str| {
        let (path, token, body) = (
            format!(
                "/api/v1/clerk/stores/{}/pickups/redeem",
                store.as_str().unwrap()
            ),
            who.token.clone(),
            json!({ "code": code }),
        );
        let t = &t;
        async move { t.post(&path, Some(&token), body).await }
    };
    // The helper redeems at the leader's point…
    let c0 = code(order(&t, &east[0].1, &east[0].0).await);
    let r = redeem(sa, &helper, &c0).await.expect(200);
    assert_eq!(r["status"], "picked_up");
    // …but not at another leader's point.
    let cw = code(order(&t, &west, &w).await);
    redeem(sb, &helper, &cw).await.problem(403, None);
    // A suspended leader's helpers redeem nothing; resumed, they do again.
    let c1 = code(order(&t, &east[1].1, &east[1].0).await);
    t.post(
        &format!("/api/v1/leaders/{}/suspend", id(&a)),
        Some(&s.owner.token),
        json!({}),
    )
    .await
    .expect(200);
    redeem(sa, &helper, &c1).await.problem(403, None);
    t.post(
        &format!("/api/v1/leaders/{}/resume", id(&a)),
        Some(&s.owner.token),
        json!({}),
    )
    .await
    .expect(200);
    redeem(sa, &helper, &c1).await.expect(200);
    // Removed: no more.
    let left = t
        .delete(&format!("{}/{}", helpers(&a), helper.id), Some(&la.token))
        .await
        .expect(200);
    assert_eq!(left, json!([]));
    let c2 = code(order(&t, &east[2].1, &east[2].0).await);
    redeem(sa, &helper, &c2).await.problem(403, None);
    redeem(sa, &la, &c2).await.expect(200);
    // The leader's own order: redeemed once, refused the second time.
    let co = code(order(&t, &own, &la).await);
    redeem(sa, &la, &co).await.expect(200);
    refused(redeem(sa, &la, &co).await, None, "already redeemed");
    redeem(sb, &lb, &cw).await.expect(200);
    audit_clean(&t).await;
}

async fn leaders_are_ranked_by_trust_then_distance(t: TestApp) {
    let s = orchard(&t).stock(100).build().await;
    let me = member(&t, "我", 0).await;
    // Three points: near (≈110 m), middle (≈1.1 km), far (≈5.5 km) from (26.58, 106.71).
    let (ln, lm, lf) = (
        member(&t, "近", 0).await,
        member(&t, "中", 0).await,
        member(&t, "远", 0).await,
    );
    let near = leader(&t, &s, &ln, "近点", 26.581, 106.71, 0).await;
    let mid = leader(&t, &s, &lm, "中点", 26.59, 106.71, 0).await;
    let far = leader(&t, &s, &lf, "远点", 26.63, 106.71, 0).await;
    let q = format!(
        "/api/v1/merchants/{}/leaders/nearby?latitude=26.58&longitude=106.71",
        s.merchant
    );
    let names = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|n| n["leader"]["point_name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let r = t.get(&q, Some(&me.token)).await.expect(200);
    assert_eq!(
        names(&r),
        ["近点", "中点", "远点"],
        "nobody there yet: nearest first"
    );
    assert_eq!(r[0]["distance_m"], 111);

    // Two friends pick up at the far point; a member of my community at the middle one;
    // someone I follow who does not follow back (not a friend) at the near one.
    let (f1, f2) = (member(&t, "好友甲", 0).await, member(&t, "好友乙", 0).await);
    befriend(&t, &me, &f1).await;
    befriend(&t, &me, &f2).await;
    choose(&t, &s, &f1, &far).await;
    choose(&t, &s, &f2, &far).await;
    let c = community(&t, &me, "幸福里业主群").await;
    let neighbour = member(&t, "楼下邻居", 0).await;
    join(&t, &neighbour, &c).await;
    choose(&t, &s, &neighbour, &mid).await;
    let idol = member(&t, "网红", 0).await;
    crate::worlds::follow(&t, &me, &idol).await;
    choose(&t, &s, &idol, &near).await;

    let r = t.get(&q, Some(&me.token)).await.expect(200);
    assert_eq!(names(&r), ["远点", "中点", "近点"], "{r}");
    assert_eq!(r[0]["friends_here"], 2);
    assert_eq!(r[0]["friend_names"], json!(["好友甲", "好友乙"]));
    assert_eq!(r[1]["friends_here"], 0);
    assert_eq!(r[1]["community_here"], 1);
    assert_eq!(r[2]["friends_here"], 0);
    assert_eq!(r[2]["community_here"], 0);

    // Choosing, then changing: remembered and recorded.
    choose(&t, &s, &me, &near).await;
    choose(&t, &s, &me, &far).await;
    choose(&t, &s, &me, &far).await;
    let mine = t
        .get(
            &format!("/api/v1/merchants/{}/my-leader", s.merchant),
            Some(&me.token),
        )
        .await
        .expect(200);
    assert_eq!(mine["leader"]["id"], far["id"]);
    let h = t
        .get(
            &format!("/api/v1/merchants/{}/my-leader/history", s.merchant),
            Some(&me.token),
        )
        .await
        .expect(200);
    assert_eq!(
        h.as_array().unwrap().len(),
        2,
        "choosing the same leader again is no change"
    );
    assert_eq!(h[0]["from_leader_id"], Value::Null);
    assert_eq!(h[1]["from_leader_id"], near["id"]);
    assert_eq!(h[1]["to_leader_id"], far["id"]);
    let r = t.get(&q, Some(&me.token)).await.expect(200);
    assert_eq!(r[0]["chosen"], true);
    // Half a position is bad input.
    t.get(
        &format!(
            "/api/v1/merchants/{}/leaders/nearby?latitude=26.58",
            s.merchant
        ),
        Some(&me.token),
    )
    .await
    .problem(422, Some("longitude"));
}

async fn candidate_leaders_come_from_the_graph(t: TestApp) {
    let s = orchard(&t).stock(10).build().await;
    let c = id(&t
        .post(
            "/api/v1/communities",
            Some(&s.owner.token),
            json!({ "name": "果园业主群", "description": "", "tags": [], "join_policy": "open", "merchant_id": s.merchant }),
        )
        .await
        .expect(201));
    let lead = member(&t, "现任团长", 0).await;
    let star = member(&t, "热心邻居", 0).await;
    let (x, y) = (member(&t, "住户甲", 0).await, member(&t, "住户乙", 0).await);
    for u in [&lead, &star, &x, &y] {
        join(&t, u, &c).await;
    }
    // Everyone follows the neighbour, and the current leader too.
    for u in [&lead, &x, &y] {
        crate::worlds::follow(&t, u, &star).await;
    }
    for u in [&star, &x, &y] {
        crate::worlds::follow(&t, u, &lead).await;
    }
    leader(&t, &s, &lead, "老驿站", 26.58, 106.71, 0).await;
    let r = t
        .get(
            &format!("/api/v1/merchants/{}/insight/leader-candidates", s.merchant),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    let names: Vec<&str> = r
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(names.first(), Some(&"热心邻居"), "{r}");
    assert!(
        !names.contains(&"现任团长"),
        "who leads already is no candidate: {r}"
    );
    assert_eq!(r[0]["rank"], 1);
    t.get(
        &format!("/api/v1/merchants/{}/insight/leader-candidates", s.merchant),
        Some(&star.token),
    )
    .await
    .problem(403, None);
}

/// Orders nobody picked up N days after delivery to the point: refunded with the code voided
/// (the default rule), a pickup racing the deadline wins or loses whole, and a merchant that
/// keeps them leaves them waiting; the rule's bad input is refused by field.
async fn unclaimed_orders_follow_the_merchants_rule(t: TestApp) {
    const DAY_MS: i64 = 24 * HOUR_MS;
    let s = orchard(&t).stock(100).build().await;
    let lead = member(&t, "北门团长", 0).await;
    let l = leader(&t, &s, &lead, "北门驿站", 26.58, 106.71, 800).await;
    let store = l["store_id"].as_str().unwrap().to_owned();
    let terms = format!("/api/v1/merchants/{}/batch-terms", s.merchant);
    let got = t.get(&terms, Some(&s.owner.token)).await.expect(200);
    assert_eq!(
        got,
        json!({ "unclaimed_days": 7, "unclaimed_rule": "refund" })
    );
    t.put(
        &terms,
        Some(&s.owner.token),
        json!({ "unclaimed_days": 0, "unclaimed_rule": "refund" }),
    )
    .await
    .problem(422, Some("unclaimed_days"));
    t.put(
        &terms,
        Some(&s.owner.token),
        json!({ "unclaimed_days": 7, "unclaimed_rule": "burn" }),
    )
    .await
    .problem(422, Some("unclaimed_rule"));
    t.put(
        &terms,
        Some(&lead.token),
        json!({ "unclaimed_days": 7, "unclaimed_rule": "keep" }),
    )
    .await
    .problem(403, None);

    // A batch of three buyers, delivered to the point.
    let run = |bid: String, buyers: Vec<User>| {
        let (t, s, l) = (&t, &s, &l);
        async move {
            let mut orders = Vec::new();
            for u in &buyers {
                choose(t, s, u, l).await;
                let j = try_join(t, &bid, u, &s.sku, 1).await.expect(201);
                let oid = id(&j["order"]);
                pay(t, &oid, u).await;
                orders.push(oid);
            }
            cut_off(t).await;
            t.post(
                &format!("/api/v1/batches/{bid}/leaders/{}/delivered", id(l)),
                Some(&s.owner.token),
                json!({}),
            )
            .await
            .expect(200);
            orders
        }
    };
    let buyers = vec![
        member(&t, "取了的", 10_000).await,
        member(&t, "没来的", 10_000).await,
        member(&t, "赶在最后的", 10_000).await,
    ];
    let bid = id(&batch(&t, &s, json!({})).await);
    let orders = run(bid, buyers.clone()).await;
    let code = |n: usize| {
        let (t, oid, u) = (&t, orders[n].clone(), &buyers[n]);
        async move {
            order(t, &oid, u).await["pickup_code"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let redeem = |code: String| {
        let (t, store, lead) = (&t, store.clone(), &lead);
        async move {
            t.post(
                &format!("/api/v1/clerk/stores/{store}/pickups/redeem"),
                Some(&lead.token),
                json!({ "code": code }),
            )
            .await
        }
    };
    redeem(code(0).await).await.expect(200);
    let (late_code, slow_code) = (code(1).await, code(2).await);

    // Day 7: the rule applies; the last buyer's pickup races the job.
    t.clock.advance_ms(7 * DAY_MS + 1_000);
    let (raced, ran) = tokio::join!(
        redeem(slow_code.clone()),
        kith_app::events::jobs::run_once(&t.app, "test")
    );
    ran.unwrap();
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    let taken = order(&t, &orders[0], &buyers[0]).await;
    assert!(
        matches!(taken["status"].as_str(), Some("picked_up" | "completed"))
            && taken["refunded_fen"] == 0,
        "a picked-up order is not touched: {taken}"
    );
    let late = order(&t, &orders[1], &buyers[1]).await;
    assert_eq!(late["status"], "refunded", "{late}");
    assert_eq!(late["refunded_fen"], late["paid_fen"]);
    assert!(late["pickup_code"].is_null(), "the code died with it");
    redeem(late_code).await.problem(409, None);
    let slow = order(&t, &orders[2], &buyers[2]).await;
    if raced.status.as_u16() == 200 {
        assert_eq!(slow["status"], "picked_up", "the pickup won: {slow}");
        assert_eq!(slow["refunded_fen"], 0);
    } else {
        assert_eq!(slow["status"], "refunded", "the deadline won: {slow}");
        assert_eq!(slow["refunded_fen"], slow["paid_fen"]);
    }
    audit_clean(&t).await;

    // A merchant that keeps unclaimed orders: they wait at the point, still redeemable.
    t.put(
        &terms,
        Some(&s.owner.token),
        json!({ "unclaimed_days": 3, "unclaimed_rule": "keep" }),
    )
    .await
    .expect(200);
    let keeper = member(&t, "晚来的", 10_000).await;
    let bid = id(&batch(
        &t,
        &s,
        json!({ "cutoff_at": at(&t, 2 * HOUR_MS), "pickup_date": pickup_date(&t, 1) }),
    )
    .await);
    let kept = run(bid, vec![keeper.clone()]).await;
    t.clock.advance_ms(3 * DAY_MS + 1_000);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    let o = order(&t, &kept[0], &keeper).await;
    assert_eq!(o["status"], "ready_for_pickup", "{o}");
    redeem(o["pickup_code"].as_str().unwrap().to_owned())
        .await
        .expect(200);
    audit_clean(&t).await;
}

async fn a_leader_opens_a_batch_within_what_the_merchant_allows(t: TestApp) {
    let s = orchard(&t).stock(1000).build().await;
    let (la, lb) = (
        member(&t, "东门团长", 0).await,
        member(&t, "西门团长", 0).await,
    );
    let a = leader(&t, &s, &la, "东门驿站", 26.58, 106.71, 1000).await;
    let b = leader(&t, &s, &lb, "西门驿站", 26.60, 106.70, 500).await;
    let products = format!("/api/v1/merchants/{}/leader-products", s.merchant);
    let open = |l: &Value| format!("/api/v1/leaders/{}/batches", id(l));
    let body = |price: i64, qty: i64| {
        json!({
            "title": "东门自营鲜桃", "cutoff_at": at(&t, 2 * HOUR_MS), "pickup_date": pickup_date(&t, 1),
            "items": [{ "sku_id": s.sku, "price_fen": price, "per_member_limit": 3, "quantity_limit": qty }],
        })
    };

    // Nothing allowed yet: a leader's batch names a product they may not sell.
    t.post(&open(&a), Some(&la.token), body(PRICE, 40))
        .await
        .problem(422, Some("items[0].sku_id"));
    // Only staff set the list; staff and the merchant's leaders read it, nobody else.
    t.put(&products, Some(&la.token), json!({ "items": [] }))
        .await
        .problem(403, None);
    let stranger = member(&t, "路人", 0).await;
    t.get(&products, Some(&stranger.token))
        .await
        .problem(403, None);
    assert_eq!(
        t.get(&products, Some(&la.token)).await.expect(200),
        json!([])
    );
    // Bad allowances are named: a floor above the list price, no units, a SKU twice.
    let allow = |floor: i64, max: i64| json!({ "items": [{ "sku_id": s.sku, "floor_price_fen": floor, "max_quantity": max }] });
    t.put(&products, Some(&s.owner.token), allow(LIST + 1, 40))
        .await
        .problem(422, Some("items[0].floor_price_fen"));
    t.put(&products, Some(&s.owner.token), allow(3_500, 0))
        .await
        .problem(422, Some("items[0].max_quantity"));
    let twice = json!({ "items": [
        { "sku_id": s.sku, "floor_price_fen": 3_500, "max_quantity": 40 },
        { "sku_id": s.sku, "floor_price_fen": 3_600, "max_quantity": 40 },
    ] });
    t.put(&products, Some(&s.owner.token), twice)
        .await
        .problem(422, Some("items[1].sku_id"));
    let other = t.shop().name("隔壁店").price(1000).stock(10).build().await;
    t.put(
        &products,
        Some(&s.owner.token),
        json!({ "items": [{ "sku_id": other.sku, "floor_price_fen": 500, "max_quantity": 5 }] }),
    )
    .await
    .problem(422, Some("items[0].sku_id"));
    let list = t
        .put(&products, Some(&s.owner.token), allow(3_500, 40))
        .await
        .expect(200);
    assert_eq!(list[0]["floor_price_fen"], 3_500);
    assert_eq!(list[0]["list_price_fen"], LIST);
    assert!(list[0]["product_name"].is_string());
    assert_eq!(t.get(&products, Some(&lb.token)).await.expect(200), list);

    // Below the floor, over the most units, another leader's point: refused with reasons.
    let low = t
        .post(&open(&a), Some(&la.token), body(3_400, 40))
        .await
        .problem(422, Some("items[0].price_fen"));
    assert!(
        low["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("¥35.00"),
        "{low}"
    );
    t.post(&open(&a), Some(&la.token), body(PRICE, 41))
        .await
        .problem(422, Some("items[0].quantity_limit"));
    t.post(&open(&a), Some(&lb.token), body(PRICE, 40))
        .await
        .problem(404, None);
    t.post(&open(&a), Some(&s.owner.token), body(PRICE, 40))
        .await
        .problem(404, None);

    let batch = t
        .post(&open(&a), Some(&la.token), body(PRICE, 40))
        .await
        .expect(201);
    let bid = id(&batch);
    assert_eq!(batch["opened_by"]["leader_id"], id(&a));
    assert_eq!(batch["opened_by"]["point_name"], "东门驿站");
    // The merchant's own batches say no leader opened them.
    let own = self::batch(&t, &s, json!({})).await;
    assert!(own["opened_by"].is_null());
    // It is listed for the leader and the staff, with the merchant's batches for members.
    for who in [&la, &s.owner] {
        let mine = t.get(&open(&a), Some(&who.token)).await.expect(200);
        assert_eq!(mine.as_array().map(Vec::len), Some(1));
        assert_eq!(mine[0]["id"], bid.as_str());
    }
    t.get(&open(&a), Some(&lb.token)).await.problem(404, None);
    let public = t
        .get(&format!("/api/v1/merchants/{}/batches", s.merchant), None)
        .await
        .expect(200);
    assert!(
        public
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == bid.as_str())
    );

    // Members join at the leader's point whichever leader they chose (or none).
    let (m1, m2) = (
        member(&t, "买家一", 100_000).await,
        member(&t, "买家二", 100_000).await,
    );
    choose(&t, &s, &m1, &b).await;
    let store_a = a["store_id"].as_str().unwrap().to_owned();
    let mut orders = Vec::new();
    for (m, q) in [(&m1, 2), (&m2, 3)] {
        let j = try_join(&t, &bid, m, &s.sku, q).await.expect(201);
        assert_eq!(j["leader_id"], id(&a));
        assert_eq!(j["order"]["pickup_store_id"], store_a.as_str());
        pay(&t, j["order"]["id"].as_str().unwrap(), m).await;
        orders.push(j["order"]["id"].as_str().unwrap().to_owned());
    }
    // m1's own choice is untouched.
    let mine = t
        .get(
            &format!("/api/v1/merchants/{}/my-leader", s.merchant),
            Some(&m1.token),
        )
        .await
        .expect(200);
    assert_eq!(mine["leader"]["id"], id(&b));

    // A second batch, then the leader is suspended: no new batch, no join at the point.
    let second = t
        .post(&open(&a), Some(&la.token), body(PRICE, 10))
        .await
        .expect(201);
    t.post(
        &format!("/api/v1/leaders/{}/suspend", id(&a)),
        Some(&s.owner.token),
        json!({}),
    )
    .await
    .expect(200);
    t.post(&open(&a), Some(&la.token), body(PRICE, 10))
        .await
        .problem(409, None);
    refused(
        try_join(&t, &id(&second), &m2, &s.sku, 1).await,
        None,
        "takes no orders",
    );
    t.post(
        &format!("/api/v1/leaders/{}/resume", id(&a)),
        Some(&s.owner.token),
        json!({}),
    )
    .await
    .expect(200);

    // The leader closes their batch early (立即截单): fixed at once, as at its cut-off. Only
    // they and the shop's staff may; a leader may not close the merchant's own batch.
    let close = |b: &str| format!("/api/v1/batches/{b}/cutoff");
    for who in [&lb, &m1] {
        t.post(&close(&bid), Some(&who.token), json!({}))
            .await
            .problem(404, None);
    }
    t.post(&close(&id(&own)), Some(&la.token), json!({}))
        .await
        .problem(404, None);
    let closed = t
        .post(&close(&bid), Some(&la.token), json!({}))
        .await
        .expect(200);
    assert_eq!(closed["status"], "fixed", "{closed}");
    assert!(!closed["open_for_joins"].as_bool().unwrap());
    t.post(&close(&bid), Some(&la.token), json!({}))
        .await
        .problem(409, None);
    try_join(&t, &bid, &m2, &s.sku, 1).await.problem(409, None);
    // The staff close the shop's own batch, even one not started yet (it starts and
    // closes now: nobody joined, so with no minimum it goes ahead empty).
    let later = self::batch(&t, &s, json!({ "starts_at": at(&t, HOUR_MS) })).await;
    for b in [&own, &later] {
        let shut = t
            .post(&close(&id(b)), Some(&s.owner.token), json!({}))
            .await
            .expect(200);
        assert_ne!(shut["status"], "open", "{shut}");
        // As instants: RFC 3339 text with a trimmed fraction does not sort as a string.
        let instant = |k: &str| {
            time::OffsetDateTime::parse(
                shut[k].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        };
        assert!(instant("starts_at") < instant("cutoff_at"), "{shut}");
    }

    // The cut-off job, when it comes, changes nothing: one pick list, at the leader's
    // point, exact.
    cut_off(&t).await;
    let fixed = t
        .get(&format!("/api/v1/batches/{bid}"), None)
        .await
        .expect(200);
    assert_eq!(fixed["status"], "fixed");
    let lists = t
        .get(
            &format!("/api/v1/batches/{bid}/pick-lists"),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(lists.as_array().map(Vec::len), Some(1));
    assert_eq!(lists[0]["leader_id"], id(&a));
    assert_eq!(lists[0]["lines"][0]["quantity"], 5);
    assert_eq!(lists[0]["buyers"].as_array().map(Vec::len), Some(2));
    // The leader's commission is planned at their level on both orders.
    let st = t
        .get(
            &format!("/api/v1/batches/{bid}/statements"),
            Some(&la.token),
        )
        .await
        .expect(200);
    assert_eq!(st.as_array().map(Vec::len), Some(1));
    assert_eq!(st[0]["orders"], 2);
    assert_eq!(st[0]["gmv_fen"], 5 * PRICE);
    assert_eq!(st[0]["commission_pending_fen"], 5 * PRICE / 10);
    for o in &orders {
        assert_eq!(
            order(&t, o, if o == &orders[0] { &m1 } else { &m2 }).await["status"],
            "fulfilling"
        );
    }
    audit_clean(&t).await;
}
