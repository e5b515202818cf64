//! Money sharing over HTTP on both engines: share → sign-up → bound → purchase → pending →
//! frozen → available → withdraw → approved; binding rules (never self, never a cycle,
//! never silently moved, expiring bindings); attribution (last link in the window, else the
//! bound referrer; content credit); the distributor centre. The ledger audit stays clean.

use serde_json::{Value, json};

use crate::both_engines;
use crate::builders::Shop;
use crate::harness::{TestApp, User};
use crate::worlds::{
    DAY_SECS, audit_clean, balances, product_link, ship_and_deliver, signup_via, standard_plan,
    visit, wallet,
};

both_engines!(
    share_signup_purchase_settle_withdraw,
    bindings_never_self_never_cycle_never_moved,
    attribution_window_and_content_credit,
    reading_a_tagged_post_credits_its_author,
);

async fn share_signup_purchase_settle_withdraw(t: TestApp) {
    let s = t.shop().plan(standard_plan()).build().await;
    let a = t.register_member("阿芳").await;
    let b = t.register_member("小北").await;

    // A shares the product; B follows the link signed in and is bound to A at the shop.
    let (a_link, a_code) = product_link(&t, &s, &a).await;
    assert_eq!(
        product_link(&t, &s, &a).await.0,
        a_link,
        "sharing again gives the same link"
    );
    let v = visit(&t, Some(&b), &a_code).await;
    assert_eq!(v["bound_at"], json!([s.merchant]));
    assert_eq!(v["link"]["merchants"][0]["channel"], "share");

    // C signs up through B's link: bound to B, counted as B's sign-up.
    let (b_link, b_code) = product_link(&t, &s, &b).await;
    let c = signup_via(&t, &b_code, "小陈").await;
    let refs = t
        .get("/api/v1/me/referrers", Some(&c.token))
        .await
        .expect(200);
    assert_eq!(refs[0]["referrer_id"], b.id);
    assert_eq!(refs[0]["merchant_id"], s.merchant);

    // C buys two: L1 B earns 10 %, L2 A 5 % of the goods (not the shipping).
    let order = t.order(&s, &c).qty(2).paid().await;
    let oid = order["id"].as_str().unwrap().to_owned();
    assert_eq!(order["goods_fen"], 20_000);
    let oc = t
        .get(&format!("/api/v1/orders/{oid}/commission"), Some(&c.token))
        .await
        .expect(200);
    assert_eq!(oc["channel"], "share");
    assert_eq!(oc["beneficiary_id"], b.id);
    assert_eq!(oc["link_id"], b_link);
    let shares: Vec<(String, String, i64, String)> = oc["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["role"].as_str().unwrap().to_owned(),
                s["beneficiary_id"].as_str().unwrap().to_owned(),
                s["amount_fen"].as_i64().unwrap(),
                s["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        shares,
        vec![
            ("l1".into(), b.id.clone(), 2_000, "pending".into()),
            ("l2".into(), a.id.clone(), 1_000, "pending".into()),
        ]
    );
    // A stranger cannot read the order's chain.
    let stranger = t.register_member("路人").await;
    t.get(
        &format!("/api/v1/orders/{oid}/commission"),
        Some(&stranger.token),
    )
    .await
    .problem(404, None);

    assert_eq!(balances(&t, &b, &s.merchant).await, (2_000, 0, 0, 0));
    assert_eq!(balances(&t, &a, &s.merchant).await, (1_000, 0, 0, 0));

    // Delivered: frozen. After the window: available, and the merchant settles the rest.
    ship_and_deliver(&t, &s, &oid).await;
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 2_000, 0, 0));
    t.clock.advance_secs(6 * DAY_SECS);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    assert_eq!(
        balances(&t, &b, &s.merchant).await,
        (0, 2_000, 0, 0),
        "not before the window closes"
    );
    t.clock.advance_secs(DAY_SECS + 1);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 2_000, 0));
    assert_eq!(balances(&t, &a, &s.merchant).await, (0, 0, 1_000, 0));
    audit_clean(&t).await;

    // The statement: one line per posting, each linked to the order.
    let w = wallet(&t, &b, &s.merchant).await;
    let lines = w["lines"]["items"].as_array().unwrap();
    let mut moves: Vec<(&str, i64)> = lines
        .iter()
        .map(|l| {
            (
                l["balance"].as_str().unwrap(),
                l["amount_fen"].as_i64().unwrap(),
            )
        })
        .collect();
    // Newest first: the first posting is the booking's, the last two the settlement's.
    assert_eq!(moves.last(), Some(&("pending", 2_000)));
    moves.sort();
    assert_eq!(
        moves,
        vec![
            ("available", 2_000),
            ("frozen", -2_000),
            ("frozen", 2_000),
            ("pending", -2_000),
            ("pending", 2_000)
        ]
    );
    assert!(lines.iter().all(|l| l["order_id"] == oid.as_str()));
    let all = t
        .get(
            &format!("/api/v1/distributors/{}/wallets", b.id),
            Some(&b.token),
        )
        .await
        .expect(200);
    assert_eq!(all[0]["merchant_id"], s.merchant);
    assert_eq!(all[0]["available_fen"], 2_000);

    // B withdraws ¥15; an admin approves; the sandbox pays out.
    let wd = t
        .post(
            &format!("/api/v1/distributors/{}/withdrawals", b.id),
            Some(&b.token),
            json!({ "merchant_id": s.merchant, "amount_fen": 1_500 }),
        )
        .await
        .expect(201);
    assert_eq!(wd["status"], "requested");
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 500, 1_500));
    let wid = wd["id"].as_str().unwrap().to_owned();
    t.post(
        &format!("/api/v1/admin/withdrawals/{wid}/approve"),
        Some(&b.token),
        json!({}),
    )
    .await
    .problem(403, None);
    let admin = t.admin().await;
    let queue = t
        .get("/api/v1/admin/withdrawals", Some(&admin.token))
        .await
        .expect(200);
    assert!(
        queue
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["id"] == wid.as_str())
    );
    let ok = t
        .post(
            &format!("/api/v1/admin/withdrawals/{wid}/approve"),
            Some(&admin.token),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(ok["status"], "paying");
    let cb = json!({ "event_id": "po-1", "withdrawal_id": wid, "status": "succeeded", "amount_fen": 1_500 });
    assert_eq!(
        t.signed_post("/api/v1/payouts/sandbox/callback", &cb, None)
            .await
            .expect(200)["status"],
        "paid"
    );
    // A duplicate callback changes nothing; a forged one is refused.
    assert_eq!(
        t.signed_post("/api/v1/payouts/sandbox/callback", &cb, None)
            .await
            .expect(200)["status"],
        "paid"
    );
    t.signed_post(
        "/api/v1/payouts/sandbox/callback",
        &cb,
        Some("t=1,v1=00".into()),
    )
    .await
    .problem(401, None);
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 500, 0));
    audit_clean(&t).await;

    // The distributor centre.
    let team = t
        .get(
            &format!(
                "/api/v1/distributors/{}/team?merchant_id={}",
                a.id, s.merchant
            ),
            Some(&a.token),
        )
        .await
        .expect(200);
    assert_eq!(team["total"], 2);
    assert_eq!(team["generations"][0]["nicknames"], json!(["小北"]));
    assert_eq!(team["generations"][1]["nicknames"], json!(["小陈"]));
    t.get(
        &format!(
            "/api/v1/distributors/{}/team?merchant_id={}",
            a.id, s.merchant
        ),
        Some(&b.token),
    )
    .await
    .problem(403, None);
    let earn = t
        .get(
            &format!("/api/v1/distributors/{}/earnings", b.id),
            Some(&b.token),
        )
        .await
        .expect(200);
    assert_eq!(
        (earn["l1_fen"].as_i64(), earn["total_fen"].as_i64()),
        (Some(2_000), Some(2_000))
    );
    let earn = t
        .get(
            &format!("/api/v1/distributors/{}/earnings", a.id),
            Some(&a.token),
        )
        .await
        .expect(200);
    assert_eq!(earn["l2_fen"], 1_000);
    let funnel = t
        .get(
            &format!("/api/v1/distributors/{}/share-links", b.id),
            Some(&b.token),
        )
        .await
        .expect(200);
    let f = &funnel[0];
    assert_eq!(f["link"]["id"], b_link);
    assert_eq!(
        (
            f["visits"].as_i64(),
            f["signups"].as_i64(),
            f["orders"].as_i64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(f["gmv_fen"], order["total_fen"]);
    let funnel = t
        .get(
            &format!("/api/v1/distributors/{}/share-links", a.id),
            Some(&a.token),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            funnel[0]["visits"].as_i64(),
            funnel[0]["signups"].as_i64(),
            funnel[0]["orders"].as_i64()
        ),
        (Some(1), Some(0), Some(0))
    );
}

async fn bindings_never_self_never_cycle_never_moved(t: TestApp) {
    let s = t.shop().plan(standard_plan()).build().await;
    let a = t.register_member("甲").await;
    let b = t.register_member("乙").await;
    let c = t.register_member("丙").await;
    let (_, a_code) = product_link(&t, &s, &a).await;
    let (_, b_code) = product_link(&t, &s, &b).await;
    let (_, c_code) = product_link(&t, &s, &c).await;

    // Never oneself: following one's own link binds nothing; binding by one's own code is refused.
    assert_eq!(visit(&t, Some(&a), &a_code).await["bound_at"], json!([]));
    t.post(
        "/api/v1/me/referrers",
        Some(&a.token),
        json!({ "code": a_code }),
    )
    .await
    .problem(422, Some("code"));

    // B → A, C → B. Then A can be bound neither to B nor to C (below B): a cycle.
    assert_eq!(
        visit(&t, Some(&b), &a_code).await["bound_at"],
        json!([s.merchant])
    );
    t.post(
        "/api/v1/me/referrers",
        Some(&c.token),
        json!({ "code": b_code }),
    )
    .await
    .expect(200);
    assert_eq!(visit(&t, Some(&a), &b_code).await["bound_at"], json!([]));
    t.post(
        "/api/v1/me/referrers",
        Some(&a.token),
        json!({ "code": c_code }),
    )
    .await
    .problem(409, Some("code"));
    assert_eq!(
        t.get("/api/v1/me/referrers", Some(&a.token))
            .await
            .expect(200),
        json!([])
    );

    // Never silently moved: C follows A's link, stays bound to B.
    assert_eq!(visit(&t, Some(&c), &a_code).await["bound_at"], json!([]));
    let refs = t
        .get("/api/v1/me/referrers", Some(&c.token))
        .await
        .expect(200);
    assert_eq!(refs[0]["referrer_id"], b.id);
    assert_eq!(refs.as_array().unwrap().len(), 1);

    // Unknown codes and anonymous visits.
    t.post("/api/v1/s/nosuchcode/visits", None, json!({}))
        .await
        .problem(404, None);
    t.post("/api/v1/s/%20/visits", None, json!({}))
        .await
        .problem(404, None);
    assert_eq!(visit(&t, None, &a_code).await["bound_at"], json!([]));
    t.post(
        "/api/v1/share-links",
        Some(&a.token),
        json!({ "kind": "group_buy", "target_id": s.product }),
    )
    .await
    .problem(422, Some("target_id"));
    t.post(
        "/api/v1/share-links",
        Some(&a.token),
        json!({ "kind": "product", "target_id": "x" }),
    )
    .await
    .problem(422, Some("target_id"));
    t.post(
        "/api/v1/share-links",
        Some(&a.token),
        json!({ "kind": "post", "target_id": s.product }),
    )
    .await
    .problem(422, Some("target_id"));

    // Expiring bindings (2 days): after they expire, a new link may bind again.
    t.put(
        &format!("/api/v1/merchants/{}/commission-plan", s.merchant),
        Some(&s.owner.token),
        json!({ "levels_bp": [1000], "binding_mode": "expiring", "binding_days": 2 }),
    )
    .await
    .expect(200);
    let d = t.register_member("丁").await;
    assert_eq!(
        visit(&t, Some(&d), &a_code).await["bound_at"],
        json!([s.merchant])
    );
    let refs = t
        .get("/api/v1/me/referrers", Some(&d.token))
        .await
        .expect(200);
    assert!(refs[0]["expires_at"].is_string());
    assert_eq!(
        visit(&t, Some(&d), &c_code).await["bound_at"],
        json!([]),
        "still live"
    );
    t.clock.advance_secs(2 * DAY_SECS + 1);
    assert_eq!(
        visit(&t, Some(&d), &c_code).await["bound_at"],
        json!([s.merchant]),
        "expired: bound anew"
    );
    assert_eq!(
        t.get("/api/v1/me/referrers", Some(&d.token))
            .await
            .expect(200)[0]["referrer_id"],
        c.id
    );

    // A community of the merchant: its invite code binds at sign-up too, and a community
    // share link earns at the merchant.
    let community = t
        .post(
            "/api/v1/communities",
            Some(&s.owner.token),
            json!({ "name": "红茶同好会", "merchant_id": s.merchant }),
        )
        .await
        .expect(201);
    let cid = community["id"].as_str().unwrap();
    let invite = t
        .post(
            &format!("/api/v1/communities/{cid}/invites"),
            Some(&s.owner.token),
            json!({}),
        )
        .await
        .expect(201);
    let invited = signup_via(&t, invite["code"].as_str().unwrap(), "受邀者").await;
    let refs = t
        .get("/api/v1/me/referrers", Some(&invited.token))
        .await
        .expect(200);
    assert_eq!(refs[0]["referrer_id"], s.owner.id);
    let cl = t
        .post(
            "/api/v1/share-links",
            Some(&a.token),
            json!({ "kind": "community", "target_id": cid }),
        )
        .await
        .expect(201);
    assert_eq!(cl["merchants"][0]["merchant_id"], s.merchant);

    // Mode none binds no one.
    t.put(
        &format!("/api/v1/merchants/{}/commission-plan", s.merchant),
        Some(&s.owner.token),
        json!({ "levels_bp": [1000], "binding_mode": "none" }),
    )
    .await
    .expect(200);
    let e = t.register_member("戊").await;
    assert_eq!(visit(&t, Some(&e), &a_code).await["bound_at"], json!([]));
}

async fn attribution_window_and_content_credit(t: TestApp) {
    let s = t.shop().plan(standard_plan()).build().await;
    let a = t.register_member("引荐人").await;
    let k = t.register_member("种草达人").await;
    let buyer = t.register_member("买家").await;
    let (_, a_code) = product_link(&t, &s, &a).await;
    visit(&t, Some(&buyer), &a_code).await; // bound to A

    // K writes a note tagging the product and shares it: content credit.
    let post = t
        .post(
            "/api/v1/posts",
            Some(&k.token),
            json!({ "body": "这款红茶回甘很好", "visibility": "public", "tags": [s.sku] }),
        )
        .await
        .expect(201);
    let pl = t
        .post(
            "/api/v1/share-links",
            Some(&k.token),
            json!({ "kind": "post", "target_id": post["id"] }),
        )
        .await
        .expect(201);
    assert_eq!(pl["merchants"][0]["channel"], "content");
    t.clock.advance_secs(DAY_SECS);
    visit(&t, Some(&buyer), pl["code"].as_str().unwrap()).await;

    // Inside the window the last link wins: K earns as content, L2 is K's referrer (none).
    let o = t.order(&s, &buyer).paid().await;
    let oc = t
        .get(
            &format!("/api/v1/orders/{}/commission", o["id"].as_str().unwrap()),
            Some(&k.token),
        )
        .await
        .expect(200);
    assert_eq!(oc["channel"], "content");
    assert_eq!(oc["shares"].as_array().unwrap().len(), 1);
    assert_eq!(oc["shares"][0]["source"], "content");
    assert_eq!(oc["shares"][0]["amount_fen"], 1_000);

    // After the 7-day window: the bound referrer.
    t.clock.advance_secs(8 * DAY_SECS);
    let o = t.order(&s, &buyer).paid().await;
    let oc = t
        .get(
            &format!("/api/v1/orders/{}/commission", o["id"].as_str().unwrap()),
            Some(&buyer.token),
        )
        .await
        .expect(200);
    assert_eq!(oc["channel"], "referrer");
    assert_eq!(oc["beneficiary_id"], a.id);

    // A distributor buying: the rebate only for them (their referrer A still earns L1).
    let o = t.order(&s, &k).paid().await;
    let oc = t
        .get(
            &format!("/api/v1/orders/{}/commission", o["id"].as_str().unwrap()),
            Some(&k.token),
        )
        .await
        .expect(200);
    let roles: Vec<(&str, &str)> = oc["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["role"].as_str().unwrap(),
                s["beneficiary_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        roles.iter().all(|(r, who)| *r == "rebate" || *who != k.id),
        "{roles:?}"
    );
    assert!(roles.contains(&("rebate", k.id.as_str())), "{roles:?}");

    let earn = t
        .get(
            &format!(
                "/api/v1/distributors/{}/earnings?merchant_id={}",
                k.id, s.merchant
            ),
            Some(&k.token),
        )
        .await
        .expect(200);
    assert_eq!(earn["content_fen"], 1_000);
    assert_eq!(earn["rebate_fen"], 200);
    audit_clean(&t).await;
}

/// docs/PRODUCT.md §4: a post that tags products acts as its author's share link. A reader who opens
/// the product from the post (never from a link the author shared) credits the author.
async fn reading_a_tagged_post_credits_its_author(t: TestApp) {
    let s = t.shop().plan(standard_plan()).build().await;
    let author = t.register_member("笔记作者").await;
    let reader = t.register_member("读者").await;
    let post = t
        .post(
            "/api/v1/posts",
            Some(&author.token),
            json!({ "body": "这款红茶回甘很好", "visibility": "public", "tags": [s.sku] }),
        )
        .await
        .expect(201);
    let pid = post["id"].as_str().unwrap().to_owned();
    let v = t
        .post(
            &format!("/api/v1/posts/{pid}/tag-visits"),
            Some(&reader.token),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(v["link"]["sharer_id"], author.id.as_str());
    assert_eq!(v["link"]["merchants"][0]["channel"], "content");
    // Twice: the same link, another visit.
    let again = t
        .post(
            &format!("/api/v1/posts/{pid}/tag-visits"),
            Some(&reader.token),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(again["link"]["id"], v["link"]["id"]);

    let o = t.order(&s, &reader).paid().await;
    let oc = t
        .get(
            &format!("/api/v1/orders/{}/commission", o["id"].as_str().unwrap()),
            Some(&author.token),
        )
        .await
        .expect(200);
    assert_eq!(oc["channel"], "content");
    assert_eq!(oc["beneficiary_id"], author.id.as_str());
    assert_eq!(oc["shares"][0]["source"], "content");

    // The author reading their own post credits no one; anonymous callers, posts the
    // reader cannot see and posts tagging nothing are refused.
    let own = buy_after_own_read(&t, &s, &author, &pid).await;
    assert_ne!(own["channel"], "content", "{own}");
    t.post(&format!("/api/v1/posts/{pid}/tag-visits"), None, json!({}))
        .await
        .problem(401, None);
    let private = t
        .post(
            "/api/v1/posts",
            Some(&author.token),
            json!({ "body": "只给好友看", "visibility": "friends", "tags": [s.sku] }),
        )
        .await
        .expect(201);
    t.post(
        &format!(
            "/api/v1/posts/{}/tag-visits",
            private["id"].as_str().unwrap()
        ),
        Some(&reader.token),
        json!({}),
    )
    .await
    .problem(404, None);
    let plain = t
        .post(
            "/api/v1/posts",
            Some(&author.token),
            json!({ "body": "今天天气好", "visibility": "public" }),
        )
        .await
        .expect(201);
    t.post(
        &format!("/api/v1/posts/{}/tag-visits", plain["id"].as_str().unwrap()),
        Some(&reader.token),
        json!({}),
    )
    .await
    .problem(422, Some("post_id"));
    t.post(
        "/api/v1/posts/not-an-id/tag-visits",
        Some(&reader.token),
        json!({}),
    )
    .await
    .problem(404, None);
    audit_clean(&t).await;
}

/// The author opens their own post's product and buys: the commission view of the order.
async fn buy_after_own_read(t: &TestApp, s: &Shop, author: &User, pid: &str) -> Value {
    t.post(
        &format!("/api/v1/posts/{pid}/tag-visits"),
        Some(&author.token),
        json!({}),
    )
    .await
    .expect(200);
    let o = t.order(s, author).paid().await;
    t.get(
        &format!("/api/v1/orders/{}/commission", o["id"].as_str().unwrap()),
        Some(&author.token),
    )
    .await
    .expect(200)
}
