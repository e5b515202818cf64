//! Community insight over HTTP on both engines: a merchant's community built the real way
//! (joins, an invite chain, follows, posts, likes, comments, paid orders, a review after
//! the after-sale window), then every measure checked against figures worked out by hand;
//! a community of two friend circles is proposed as two sub-communities; only the
//! merchant's staff read its measures, and bad parameters get a 422 naming the field.

use kith_domain::Clock;
use serde_json::{Value, json};

use crate::both_engines;
use crate::builders::Shop;
use crate::harness::{TestApp, User, id};
use crate::worlds as sharing;

both_engines!(
    insight_measures_by_hand,
    insight_of_money_sharing,
    split_suggestion_of_two_circles,
    insight_is_for_the_merchants_staff,
);

async fn community(t: &TestApp, owner: &User, merchant: &str, name: &str) -> String {
    id(&t
        .post(
            "/api/v1/communities",
            Some(&owner.token),
            json!({ "name": name, "join_policy": "open", "merchant_id": merchant }),
        )
        .await
        .expect(201))
}

async fn join(t: &TestApp, who: &User, cid: &str) {
    t.post(
        &format!("/api/v1/communities/{cid}/join"),
        Some(&who.token),
        json!({}),
    )
    .await
    .expect(200);
}

/// `inviter` invites `who` into `cid`; `who` accepts.
async fn invite(t: &TestApp, inviter: &User, who: &User, cid: &str) {
    let inv = t
        .post(
            &format!("/api/v1/communities/{cid}/invites"),
            Some(&inviter.token),
            json!({}),
        )
        .await
        .expect(201);
    let code = inv["code"].as_str().expect("code");
    let r = t
        .post(
            &format!("/api/v1/community-invites/{code}/accept"),
            Some(&who.token),
            json!({}),
        )
        .await;
    assert!(r.status.is_success(), "accept: {r:?}");
}

async fn follow(t: &TestApp, who: &User, whom: &User) {
    let r = t
        .post(
            &format!("/api/v1/accounts/{}/follow", whom.id),
            Some(&who.token),
            json!({}),
        )
        .await;
    assert!(r.status.is_success(), "follow: {r:?}");
}

async fn post(t: &TestApp, who: &User) -> String {
    id(&t
        .post(
            "/api/v1/posts",
            Some(&who.token),
            json!({ "body": "今天开了一瓶酱香", "visibility": "public" }),
        )
        .await
        .expect(201))
}

async fn like(t: &TestApp, who: &User, post: &str) {
    t.post(
        &format!("/api/v1/posts/{post}/like"),
        Some(&who.token),
        json!({}),
    )
    .await
    .expect(200);
}

async fn comment(t: &TestApp, who: &User, post: &str) {
    t.post(
        &format!("/api/v1/posts/{post}/comments"),
        Some(&who.token),
        json!({ "body": "好喝吗" }),
    )
    .await
    .expect(201);
}

async fn register_all(t: &TestApp, names: [&str; 4]) -> Vec<User> {
    let mut us = Vec::new();
    for n in names {
        us.push(t.register_member(n).await);
    }
    us
}

fn insight(merchant: &str, rest: &str) -> String {
    format!("/api/v1/merchants/{merchant}/insight{rest}")
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

async fn insight_measures_by_hand(t: TestApp) {
    let Shop {
        owner: boss,
        merchant: mid,
        sku,
        ..
    } = t.shop().name("酱香酒坊").build().await;
    let cid = community(&t, &boss, &mid, "酱香爱好者").await;
    let mut people = Vec::new();
    for name in [
        "阿美", "小白", "老陈", "大卫", "一号", "二号", "三号", "路人",
    ] {
        people.push(t.register_member(name).await);
    }
    let [a, b, c, d, x1, x2, x3, e]: [User; 8] = people.try_into().unwrap();
    for m in [&a, &b, &c, &d] {
        join(&t, m, &cid).await;
    }
    // The invite chain boss → x1 → x2 → x3.
    invite(&t, &boss, &x1, &cid).await;
    invite(&t, &x1, &x2, &cid).await;
    invite(&t, &x2, &x3, &cid).await;
    // Interactions: b likes, c and boss comment on a's post; boss also posts.
    let pa = post(&t, &a).await;
    let _boss_post = post(&t, &boss).await;
    like(&t, &b, &pa).await;
    comment(&t, &c, &pa).await;
    comment(&t, &boss, &pa).await;
    for m in [&b, &c, &d, &x1] {
        follow(&t, m, &a).await;
    }
    // Orders: d twice, a once, e (not a member) once.
    for m in [&a, &d, &e] {
        t.top_up(m, 100_000).await;
    }
    let first = id(&t.order_at(&mid, &sku, &d).no_top_up().paid().await);
    t.order_at(&mid, &sku, &d).no_top_up().paid().await;
    t.order_at(&mid, &sku, &a).no_top_up().paid().await;
    t.order_at(&mid, &sku, &e).no_top_up().paid().await;
    // d's first order is delivered, completed after the after-sale window, and reviewed 4★.
    t.post(
        &format!("/api/v1/merchants/{mid}/orders/{first}/ship"),
        Some(&boss.token),
        json!({ "carrier": "sandbox", "tracking_no": "SBX0000001" }),
    )
    .await
    .expect(200);
    let body = json!({ "event_id": "trk-1", "tracking_no": "SBX0000001", "status": "delivered", "occurred_at": t.clock.now_ms() });
    t.signed_post("/api/v1/carriers/sandbox/callback", &body, None)
        .await
        .expect(200);
    t.clock.advance_secs(7 * 24 * 3600 + 1);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    t.post(
        &format!("/api/v1/orders/{first}/lines/1/review"),
        Some(&d.token),
        json!({ "rating": 4, "body": "不错" }),
    )
    .await
    .expect(201);

    // Energy. Active in 30 days: boss (post, comment), a (post, order), b (like), c (comment),
    // d (orders) → M = 5; the invitees only joined. Pairs: a–b, a–c, a–boss → partners
    // a 3, b 1, c 1, boss 1, d 0 → C = 6/5. One review (4★), platform mean 4, prior weight
    // 5 → Q = (4 + 5·4) / 6 / 5 = 0.8. Energy = 0.8 · 5 · 1.44 = 5.76.
    let en = t
        .get(
            &insight(&mid, &format!("/communities/{cid}/energy")),
            Some(&boss.token),
        )
        .await
        .expect(200);
    assert_eq!(en["m"], 5, "{en}");
    assert_eq!(en["members"], 8, "{en}");
    assert_eq!(en["interacting_pairs"], 3, "{en}");
    assert!((f(&en["c"]) - 1.2).abs() < 1e-9, "{en}");
    assert!((f(&en["q"]) - 0.8).abs() < 1e-9, "{en}");
    assert!((f(&en["energy"]) - 5.76).abs() < 1e-9, "{en}");
    assert_eq!(en["reviews"], 1);
    assert_eq!(en["rating_mean_x100"], 400);
    assert_eq!(en["window_days"], 30);
    // The merchant's list has the same figures.
    let list = t
        .get(&insight(&mid, "/communities"), Some(&boss.token))
        .await
        .expect(200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0], en);
    // A one-day window now (8 days later) sees no activity: M = 0, energy 0.
    let quiet = t
        .get(
            &insight(&mid, &format!("/communities/{cid}/energy?window_days=1")),
            Some(&boss.token),
        )
        .await
        .expect(200);
    assert_eq!(quiet["m"], 0);
    assert_eq!(f(&quiet["energy"]), 0.0);

    // Repeat purchase: buyers a, d, e; d bought twice → 1/3. Among members: a, d → 1/2.
    let rp = t
        .get(&insight(&mid, "/repeat-purchase"), Some(&boss.token))
        .await
        .expect(200);
    assert_eq!(
        (
            rp["orders"].as_i64(),
            rp["buyers"].as_i64(),
            rp["repeat_buyers"].as_i64()
        ),
        (Some(4), Some(3), Some(1)),
        "{rp}"
    );
    assert!((f(&rp["rate"]) - 0.3333).abs() < 1e-9);
    let rp = t
        .get(
            &insight(&mid, &format!("/repeat-purchase?community_id={cid}")),
            Some(&boss.token),
        )
        .await
        .expect(200);
    assert_eq!(
        (rp["buyers"].as_i64(), rp["repeat_buyers"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(f(&rp["rate"]), 0.5);
    assert_eq!(rp["community_id"], cid.as_str());

    // Fission: 8 members; boss, a, b, c, d came directly; x1, x2, x3 are a chain under boss
    // → 4 generations [5, 1, 1, 1], K = 3/8, branching 1.
    let fi = t
        .get(
            &insight(&mid, &format!("/communities/{cid}/fission")),
            Some(&boss.token),
        )
        .await
        .expect(200);
    assert_eq!(fi["members"], 8, "{fi}");
    assert_eq!(fi["generations"], 4);
    assert_eq!(fi["per_generation"], json!([5, 1, 1, 1]));
    assert_eq!(
        (
            fi["roots"].as_i64(),
            fi["invited"].as_i64(),
            fi["inviters"].as_i64()
        ),
        (Some(5), Some(3), Some(3))
    );
    assert_eq!(f(&fi["k_factor"]), 0.375);
    assert_eq!(f(&fi["branching"]), 1.0);
    assert_eq!(fi["top_inviters"][0]["account_id"], boss.id.as_str());
    assert_eq!(fi["top_inviters"][0]["descendants"], 3);
    assert_eq!(fi["top_inviters"][1]["account_id"], x1.id.as_str());
    assert_eq!(fi["top_inviters"][1]["generation"], 1);

    // KOL: after a refresh of the 30-day graph, a leads. a is endorsed by b, c, d, x1, boss
    // (one hop), x2 invited through x1 (two), x3 through x2 (three).
    let info = t
        .post(&insight(&mid, "/refresh"), Some(&boss.token), json!({}))
        .await
        .expect(200);
    assert!(info["edges"].as_i64().unwrap() >= 8, "{info}");
    assert_eq!(info["edges_by_kind"]["follow"], 4);
    assert_eq!(info["edges_by_kind"]["like"], 1);
    assert_eq!(info["edges_by_kind"]["comment"], 2);
    assert_eq!(info["edges_by_kind"]["invite"], 3);
    let kol = t
        .get(&insight(&mid, "/kol?limit=3"), Some(&boss.token))
        .await
        .expect(200);
    assert_eq!(kol["pool"], 8, "{kol}");
    let entries = kol["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["account_id"], a.id.as_str(), "{kol}");
    assert_eq!(entries[0]["rank"], 1);
    assert_eq!(entries[0]["reach"], json!([5, 1, 1]));
    assert_eq!(entries[0]["reach_3"], 7);
    assert_eq!(entries[0]["followers"], 4);
    assert!(f(&entries[0]["influence"]) > 1.0);
    assert!(f(&entries[0]["influence"]) > f(&entries[1]["influence"]));
    let kol_c = t
        .get(
            &insight(&mid, &format!("/kol?community_id={cid}")),
            Some(&boss.token),
        )
        .await
        .expect(200);
    assert_eq!(kol_c["entries"][0]["account_id"], a.id.as_str());
    assert_eq!(kol_c["entries"].as_array().unwrap().len(), 8);

    // Traffic pool: 8 members joined 7 days ago; c leaves now → 7. Over 3 days the series
    // is flat at 8 until today.
    t.post(
        &format!("/api/v1/communities/{cid}/leave"),
        Some(&c.token),
        json!({}),
    )
    .await
    .expect(204);
    let pool = t
        .get(
            &insight(&mid, "/traffic-pool?window_days=3"),
            Some(&boss.token),
        )
        .await
        .expect(200);
    assert_eq!(pool["members"], 7, "{pool}");
    assert_eq!(pool["change"], -1);
    let series: Vec<i64> = pool["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["members"].as_i64().unwrap())
        .collect();
    assert_eq!(series, [8, 8, 7]);
    let pool = t
        .get(
            &insight(&mid, "/traffic-pool?window_days=30"),
            Some(&boss.token),
        )
        .await
        .expect(200);
    assert_eq!(pool["series"].as_array().unwrap().len(), 30);
    assert_eq!(pool["change"], 7);
    assert_eq!(pool["series"][0]["members"], 0);
}

async fn split_suggestion_of_two_circles(t: TestApp) {
    let Shop {
        owner: boss,
        merchant: mid,
        ..
    } = t.shop().name("宝宝辅食铺").build().await;
    let cid = community(&t, &boss, &mid, "辅食妈妈群").await;
    let left = register_all(&t, ["甲一", "甲二", "甲三", "甲四"]).await;
    let right = register_all(&t, ["乙一", "乙二", "乙三", "乙四"]).await;
    for u in left.iter().chain(&right) {
        join(&t, u, &cid).await;
    }
    for side in [&left, &right] {
        for x in side.iter() {
            for y in side.iter() {
                if x.id != y.id {
                    follow(&t, x, y).await;
                }
            }
        }
    }
    follow(&t, &left[3], &right[0]).await;

    t.post(&insight(&mid, "/refresh"), Some(&boss.token), json!({}))
        .await
        .expect(200);
    let s = t
        .get(
            &insight(&mid, &format!("/communities/{cid}/split")),
            Some(&boss.token),
        )
        .await
        .expect(200);
    assert_eq!(s["suggested"], true, "{s}");
    assert_eq!(s["members"], 9);
    // The owner follows no one and is followed by no one: unplaced.
    assert_eq!(s["unplaced"], 1);
    let groups = s["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    let mut got: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            let mut ids: Vec<String> = g["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["account_id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        })
        .collect();
    got.sort();
    let mut want: Vec<Vec<String>> = [&left, &right]
        .iter()
        .map(|side| {
            let mut ids: Vec<String> = side.iter().map(|u| u.id.clone()).collect();
            ids.sort();
            ids
        })
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert!(f(&s["modularity"]) >= 0.3);

    // A community with no interactions is not split.
    let quiet = community(&t, &boss, &mid, "安静的群").await;
    let s = t
        .get(
            &insight(&mid, &format!("/communities/{quiet}/split")),
            Some(&boss.token),
        )
        .await
        .expect(200);
    assert_eq!(s["suggested"], false);
    assert_eq!(s["groups"], json!([]));
}

async fn insight_is_for_the_merchants_staff(t: TestApp) {
    let Shop {
        owner: boss,
        merchant: mid,
        ..
    } = t.shop().name("黔味小铺").build().await;
    let Shop {
        owner: other_boss,
        merchant: other_mid,
        ..
    } = t.shop().name("别家小铺").build().await;
    let manager = t.manager(&boss, &mid).await;
    let member = t.register_member("路人").await;
    let cid = community(&t, &boss, &mid, "小铺粉丝群").await;
    let other_cid = community(&t, &other_boss, &other_mid, "别家粉丝群").await;
    join(&t, &member, &cid).await;

    let paths = [
        insight(&mid, "/referral"),
        insight(&mid, "/channels"),
        insight(&mid, "/share-funnel"),
        insight(&mid, "/binding-tree"),
        insight(&mid, "/communities"),
        insight(&mid, &format!("/communities/{cid}/energy")),
        insight(&mid, &format!("/communities/{cid}/fission")),
        insight(&mid, &format!("/communities/{cid}/split")),
        insight(&mid, "/repeat-purchase"),
        insight(&mid, "/kol"),
        insight(&mid, "/traffic-pool"),
    ];
    for p in &paths {
        t.get(p, Some(&boss.token)).await.expect(200);
        t.get(p, Some(&manager.token)).await.expect(200);
        // A member of the community, and another merchant's owner, are not its staff.
        t.get(p, Some(&member.token)).await.problem(403, None);
        t.get(p, Some(&other_boss.token)).await.problem(403, None);
        t.get(p, None).await.problem(401, None);
    }
    t.post(&insight(&mid, "/refresh"), Some(&member.token), json!({}))
        .await
        .problem(403, None);
    // Another merchant's community, through this merchant: 404; unknown ids: 404.
    for rest in ["energy", "fission", "split"] {
        t.get(
            &insight(&mid, &format!("/communities/{other_cid}/{rest}")),
            Some(&boss.token),
        )
        .await
        .problem(404, None);
        t.get(
            &insight(&mid, &format!("/communities/not-an-id/{rest}")),
            Some(&boss.token),
        )
        .await
        .problem(404, None);
    }
    t.get(
        &insight(&mid, &format!("/kol?community_id={other_cid}")),
        Some(&boss.token),
    )
    .await
    .problem(404, None);
    t.get(
        &insight("0190a0b0-0000-7000-8000-000000000000", "/communities"),
        Some(&boss.token),
    )
    .await
    .problem(404, None);
    // Bad parameters: 422 naming the field.
    for (q, field) in [
        ("/communities?window_days=0", "window_days"),
        ("/communities?window_days=366", "window_days"),
        ("/communities?window_days=abc", "window_days"),
        ("/communities?days=3", "days"),
        ("/kol?limit=0", "limit"),
        ("/kol?limit=101", "limit"),
        ("/kol?community_id=nope", "community_id"),
        ("/repeat-purchase?community_id=nope", "community_id"),
        ("/repeat-purchase?limit=5", "limit"),
        ("/traffic-pool?window_days=-1", "window_days"),
    ] {
        t.get(&insight(&mid, q), Some(&boss.token))
            .await
            .problem(422, Some(field));
    }
}

async fn insight_of_money_sharing(t: TestApp) {
    let s = t.shop().plan(sharing::standard_plan()).build().await;
    let mid = s.merchant.clone();
    let cid = community(&t, &s.owner, &mid, "红茶分享群").await;
    let sharer = t.register_member("分享达人").await;
    let visitor = t.register_member("访客").await;
    let direct = t.register_member("直购客").await;
    for m in [&sharer, &visitor] {
        join(&t, m, &cid).await;
    }
    // The sharer's product link and a post tagging the product, shared as content.
    let (_, product_code) = sharing::product_link(&t, &s, &sharer).await;
    let post_id = id(&t
        .post(
            "/api/v1/posts",
            Some(&sharer.token),
            json!({ "body": "明前红茶，回甘很长", "visibility": "public", "tags": [s.sku] }),
        )
        .await
        .expect(201));
    let post_link = t
        .post(
            "/api/v1/share-links",
            Some(&sharer.token),
            json!({ "kind": "post", "target_id": post_id }),
        )
        .await
        .expect(201);
    let post_code = post_link["code"].as_str().unwrap();
    // The visitor follows the product link (and is bound to the sharer) and buys one; an
    // anonymous visit; a newcomer signs up through the post link and buys two; another
    // member buys one directly.
    sharing::visit(&t, Some(&visitor), &product_code).await;
    sharing::visit(&t, None, &product_code).await;
    t.order(&s, &visitor).paid().await;
    let newcomer = sharing::signup_via(&t, post_code, "新客").await;
    t.order(&s, &newcomer).qty(2).paid().await;
    t.order(&s, &direct).paid().await;
    let get = async |rest: &str| t.get(&insight(&mid, rest), Some(&s.owner.token)).await;

    // Referral: 2 of 3 orders attributed; the pool is the owner, the sharer, the visitor
    // (community) and the newcomer (bound): 1 of 4 brought an order.
    let r = get("/referral").await.expect(200);
    assert_eq!(
        (
            r["orders"].as_i64(),
            r["attributed_orders"].as_i64(),
            r["members"].as_i64(),
            r["referrers"].as_i64()
        ),
        (Some(3), Some(2), Some(4), Some(1)),
        "{r}"
    );
    assert_eq!(f(&r["order_rate"]), 0.6667);
    assert_eq!(f(&r["member_rate"]), 0.25);

    // GMV by channel: ¥100 direct, ¥100 through the share link, ¥200 through content.
    let ch = get("/channels").await.expect(200);
    assert_eq!(ch["gmv_fen"], 40000, "{ch}");
    let by: Vec<(String, i64, i64)> = ch["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["channel"].as_str().unwrap().to_owned(),
                c["orders"].as_i64().unwrap(),
                c["gmv_fen"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by,
        [
            ("direct".to_owned(), 1, 10000),
            ("share".to_owned(), 1, 10000),
            ("content".to_owned(), 1, 20000),
            ("group_buy".to_owned(), 0, 0),
            ("referrer".to_owned(), 0, 0),
        ]
    );
    assert_eq!(f(&ch["channels"][2]["share"]), 0.5);

    // Share funnel per sharer: 2 links, 3 visits (one anonymous, one with the sign-up) by
    // 2 signed-in visitors, 1 sign-up, 2 orders, ¥300.
    let fu = get("/share-funnel").await.expect(200);
    assert_eq!(fu["by"], "sharer");
    assert_eq!(fu["rows"].as_array().unwrap().len(), 1, "{fu}");
    let row = &fu["rows"][0];
    assert_eq!(row["id"], sharer.id.as_str());
    assert_eq!(row["label"], "分享达人");
    let figures = |row: &Value| {
        [
            "links", "visits", "visitors", "signups", "orders", "gmv_fen",
        ]
        .map(|k| row[k].as_i64().unwrap())
    };
    assert_eq!(figures(row), [2, 3, 2, 1, 2, 30000]);
    // Per post: only the post link.
    let fu = get("/share-funnel?by=post").await.expect(200);
    let row = &fu["rows"][0];
    assert_eq!(row["id"], post_id.as_str());
    assert_eq!(row["label"], "分享达人: 明前红茶，回甘很长");
    assert_eq!(figures(row), [1, 1, 1, 1, 1, 20000]);

    // The binding tree: the sharer with the visitor and the newcomer under them.
    let bt = get("/binding-tree").await.expect(200);
    assert_eq!(bt["community_id"], Value::Null);
    assert_eq!(bt["members"], 3, "{bt}");
    assert_eq!(bt["generations"], 2);
    assert_eq!(bt["per_generation"], json!([1, 2]));
    assert_eq!(f(&bt["k_factor"]), 0.6667);
    assert_eq!(bt["top_inviters"][0]["account_id"], sharer.id.as_str());
    assert_eq!(bt["top_inviters"][0]["descendants"], 2);

    // KOL: the sharer leads, with the GMV attributed to them.
    t.post(&insight(&mid, "/refresh"), Some(&s.owner.token), json!({}))
        .await
        .expect(200);
    let kol = get("/kol").await.expect(200);
    assert_eq!(kol["pool"], 4, "{kol}");
    assert_eq!(kol["entries"][0]["account_id"], sharer.id.as_str(), "{kol}");
    assert_eq!(kol["entries"][0]["attributed_gmv_fen"], 30000);
    // The traffic pool counts the bound newcomer beside the community's three.
    let pool = get("/traffic-pool?window_days=2").await.expect(200);
    assert_eq!(pool["members"], 4, "{pool}");
    // Energy: the sharer (post) and the visitor (order) are active; the visit and the
    // referred purchase connect them: M = 2, C = 1, Q = 0.6 (no reviews) → 1.2.
    let en = get(&format!("/communities/{cid}/energy")).await.expect(200);
    assert_eq!(en["m"], 2, "{en}");
    assert_eq!(f(&en["c"]), 1.0);
    assert!((f(&en["energy"]) - 1.2).abs() < 1e-9, "{en}");
    // Bad parameters.
    get("/share-funnel?by=visitor")
        .await
        .problem(422, Some("by"));
    get("/share-funnel?limit=0")
        .await
        .problem(422, Some("limit"));
    get("/referral?window_days=0")
        .await
        .problem(422, Some("window_days"));
}
