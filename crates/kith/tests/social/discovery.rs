//! Trust discovery over HTTP on both engines: social proof on a product (friends who
//! bought it, names only of friends who allow it, friends' reviews first, friends' posts
//! tagging it), products two or more friends recommend, people you may know, and the
//! privacy setting. Orders are bought and completed the real way (wallet payment,
//! shipment, the carrier's signed callback, the after-sale window under the test clock).

use kith_domain::Clock;
use serde_json::{Value, json};

use crate::both_engines;
use crate::builders::Shop;
use crate::harness::{TestApp, User, id};
use crate::search::{enc, search};
use crate::worlds::{befriend, community, follow, join, post, ship_and_deliver, wait_indexed};

both_engines!(
    social_proof_on_a_product,
    friends_bought_is_one_count_in_search_and_social_proof,
    products_two_friends_recommend,
    people_you_may_know,
    discovery_settings_and_bad_input,
);

/// A shop selling `product` at ¥10.
async fn selling(t: &TestApp, shop: &str, product: &str) -> Shop {
    t.shop()
        .name(shop)
        .product(product)
        .price(1000)
        .build()
        .await
}

fn proof_path(s: &Shop) -> String {
    format!(
        "/api/v1/merchants/{}/products/{}/social-proof",
        s.merchant, s.product
    )
}

fn ids(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x[key].as_str().unwrap().to_owned())
        .collect()
}

/// A shop, me, four friends of mine (the second keeps their purchases to themselves) and a
/// stranger.
async fn friends_around_a_shop(t: &TestApp) -> (Shop, User, [User; 4], User) {
    let s = selling(t, "燕麦工坊", "有机燕麦片").await;
    let me = t.register_member("我").await;
    let friends = [
        t.register_member("好友一").await,
        t.register_member("好友二（不公开）").await,
        t.register_member("好友三").await,
        t.register_member("好友四").await,
    ];
    let x = t.register_member("路人").await;
    for f in &friends {
        befriend(t, &me, f).await;
    }
    t.put(
        "/api/v1/me/discovery-settings",
        Some(&friends[1].token),
        json!({ "show_purchases_to_friends": false }),
    )
    .await
    .expect(200);
    (s, me, friends, x)
}

async fn social_proof_on_a_product(t: TestApp) {
    let (s, me, [f1, f2, f3, f4], x) = friends_around_a_shop(&t).await;
    let mut orders = Vec::new();
    for (n, buyer) in [&x, &f1, &f2, &f3, &f4].into_iter().enumerate() {
        t.clock.advance_secs(60);
        orders.push((
            buyer,
            id(&t.order(&s, buyer).top_up(10_000).paid().await),
            n,
        ));
    }
    t.post(
        &format!("/api/v1/accounts/{}/block", me.id),
        Some(&f4.token),
        json!({}),
    )
    .await
    .expect(204);
    // The stranger's and friend one's orders complete and are reviewed, the stranger first.
    for (_, oid, _) in &orders[..2] {
        ship_and_deliver(&t, &s, oid).await;
    }
    t.clock.advance_secs(7 * 24 * 3600 + 1);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    for (buyer, oid, _) in &orders[..2] {
        t.clock.advance_secs(60);
        t.post(
            &format!("/api/v1/orders/{oid}/lines/1/review"),
            Some(&buyer.token),
            json!({ "rating": 5, "body": "好吃" }),
        )
        .await
        .expect(201);
    }
    // Posts tagging it: two friends' (one friends-only), a stranger's.
    let p1 = post(
        &t,
        &f1,
        json!({ "body": "早餐燕麦", "visibility": "friends", "tags": [s.sku] }),
    )
    .await;
    t.clock.advance_secs(60);
    let p3 = post(
        &t,
        &f3,
        json!({ "body": "燕麦真不错", "visibility": "public", "tags": [s.sku] }),
    )
    .await;
    post(
        &t,
        &x,
        json!({ "body": "路人种草", "visibility": "public", "tags": [s.sku] }),
    )
    .await;

    let proof = t.get(&proof_path(&s), Some(&me.token)).await.expect(200);
    // Friends one, two and three bought; four blocked me and is not counted.
    assert_eq!(proof["friends_bought"], 3, "{proof}");
    assert_eq!(proof["summary"], "3 位好友买过");
    // Names: only friends who allow it, most recent buyer first.
    assert_eq!(
        ids(&proof["friend_names"], "id"),
        vec![f3.id.clone(), f1.id.clone()]
    );
    // Reviews: friend one's first although the stranger's is older.
    let reviews = proof["reviews"].as_array().unwrap();
    assert_eq!(reviews.len(), 2);
    assert_eq!(reviews[0]["author"]["id"], f1.id.as_str());
    assert_eq!(reviews[0]["by_friend"], true);
    assert_eq!(reviews[1]["author"]["id"], x.id.as_str());
    assert_eq!(reviews[1]["by_friend"], false);
    // Friends' posts tagging it, newest first; not the stranger's.
    assert_eq!(ids(&proof["friend_posts"], "id"), vec![p3, p1]);

    // The stranger sees no friends and all reviews in time order.
    let theirs = t.get(&proof_path(&s), Some(&x.token)).await.expect(200);
    assert_eq!(theirs["friends_bought"], 0);
    assert_eq!(theirs["summary"], "");
    assert_eq!(theirs["friend_names"], json!([]));

    // Not found: another merchant's path, a draft, nonsense; and the anonymous get 401.
    let other = selling(&t, "别家", "别的").await;
    t.get(
        &format!(
            "/api/v1/merchants/{}/products/{}/social-proof",
            other.merchant, s.product
        ),
        Some(&me.token),
    )
    .await
    .problem(404, None);
    let draft = t
        .post(
            &format!("/api/v1/merchants/{}/products", s.merchant),
            Some(&s.owner.token),
            json!({ "name": "草稿", "description": "" }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.get(
        &format!(
            "/api/v1/merchants/{}/products/{draft}/social-proof",
            s.merchant
        ),
        Some(&me.token),
    )
    .await
    .problem(404, None);
    t.get(
        &format!("/api/v1/merchants/{}/products/x/social-proof", s.merchant),
        Some(&me.token),
    )
    .await
    .problem(404, None);
    t.get(&proof_path(&s), None).await.problem(401, None);
}

/// Who counts among "friends who bought it" is one rule, seen alike through product
/// search (`friends_bought`, which ranks) and social proof (the count, the names): a
/// friend who keeps their purchases to themselves is counted but not named; a friend with
/// a block between us, whichever way, is neither.
async fn friends_bought_is_one_count_in_search_and_social_proof(t: TestApp) {
    // Friend three I shall block, friend four shall block me.
    let (s, me, [open, quiet, i_block, blocks_me], x) = friends_around_a_shop(&t).await;
    for buyer in [&x, &open, &quiet, &i_block, &blocks_me] {
        t.clock.advance_secs(60);
        t.order(&s, buyer).top_up(10_000).paid().await;
    }
    // (friends_bought in search, in social proof, the named friends)
    let counts = async || {
        wait_indexed(&t).await;
        let r = search(&t, Some(&me), &format!("q={}&type=products", enc("燕麦"))).await;
        let hit = r["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["product"]["id"] == s.product.as_str())
            .unwrap_or_else(|| panic!("product found: {r}"))
            .clone();
        let proof = t.get(&proof_path(&s), Some(&me.token)).await.expect(200);
        (
            hit["product"]["friends_bought"].clone(),
            proof["friends_bought"].clone(),
            ids(&proof["friend_names"], "id"),
        )
    };
    // Four friends bought; the quiet one counts everywhere but is never named.
    let names = vec![blocks_me.id.clone(), i_block.id.clone(), open.id.clone()];
    assert_eq!(counts().await, (json!(4), json!(4), names));

    // Blocks, one each way, standing beside the friendship: a block ends the follows, but
    // a follow racing it can leave one behind, and the block must still cut both ways.
    let pairs = [
        (me.id.clone(), i_block.id.clone()),
        (blocks_me.id.clone(), me.id.clone()),
    ];
    let now = t.clock.now_ms();
    t.app
        .db
        .write(move |c| {
            for (blocker, blocked) in &pairs {
                c.execute(
                    "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3)",
                    kith_store::args![blocker, blocked, now],
                )?;
            }
            Ok::<_, kith_store::StoreError>(())
        })
        .await
        .unwrap();
    assert_eq!(counts().await, (json!(2), json!(2), vec![open.id.clone()]));

    // Lifted, the friends who bought count again; blocked the ordinary way, through the
    // API, the friendship ends with the follows and they are out of both again.
    let blockers = [(&me, &i_block), (&blocks_me, &me)];
    for (who, whom) in blockers {
        t.delete(
            &format!("/api/v1/accounts/{}/block", whom.id),
            Some(&who.token),
        )
        .await
        .expect(204);
    }
    let names = vec![blocks_me.id.clone(), i_block.id.clone(), open.id.clone()];
    assert_eq!(counts().await, (json!(4), json!(4), names));
    for (who, whom) in blockers {
        t.post(
            &format!("/api/v1/accounts/{}/block", whom.id),
            Some(&who.token),
            json!({}),
        )
        .await
        .expect(204);
    }
    assert_eq!(counts().await, (json!(2), json!(2), vec![open.id.clone()]));
}

async fn products_two_friends_recommend(t: TestApp) {
    let a = selling(&t, "甲店", "三个好友推荐的").await;
    let b = selling(&t, "乙店", "两个好友推荐的").await;
    let c = selling(&t, "丙店", "一个好友推荐的").await;
    let me = t.register_member("我").await;
    let f1 = t.register_member("好友一").await;
    let f2 = t.register_member("好友二").await;
    let f3 = t.register_member("好友三").await;
    let x = t.register_member("路人").await;
    for f in [&f1, &f2, &f3] {
        befriend(&t, &me, f).await;
    }
    let tag = |sku: &str, vis: &str| json!({ "body": "推荐", "visibility": vis, "tags": [sku] });
    // A: three friends post about it.
    for f in [&f1, &f2, &f3] {
        post(&t, f, tag(&a.sku, "public")).await;
    }
    // B: friend one posts, friend two likes a stranger's post tagging it.
    post(&t, &f1, tag(&b.sku, "friends")).await;
    let xp = post(&t, &x, tag(&b.sku, "public")).await;
    t.post(
        &format!("/api/v1/posts/{xp}/like"),
        Some(&f2.token),
        json!({}),
    )
    .await
    .expect(200);
    // C: friend one posts; friend three posts where I cannot see it (a community I am not
    // in), which must not count.
    post(&t, &f1, tag(&c.sku, "public")).await;
    let k = community(&t, &f3, "小圈子").await;
    let mut hidden = tag(&c.sku, "community");
    hidden["community_id"] = json!(k);
    post(&t, &f3, hidden).await;

    let r = t
        .get("/api/v1/recommendations/products", Some(&me.token))
        .await
        .expect(200);
    let items = r["items"].as_array().unwrap();
    assert_eq!(
        ids(&r["items"], "product_id"),
        vec![a.product.clone(), b.product.clone()],
        "{r}"
    );
    assert_eq!(items[0]["friends"], 3);
    assert_eq!(items[0]["reason"], "3 位好友推荐");
    assert_eq!(items[0]["friend_names"].as_array().unwrap().len(), 3);
    assert_eq!(items[1]["reason"], "2 位好友推荐");
    // Once I join the circle, friend three's post counts and C qualifies.
    join(&t, &me, &k).await;
    let r = t
        .get("/api/v1/recommendations/products", Some(&me.token))
        .await
        .expect(200);
    assert!(ids(&r["items"], "product_id").contains(&c.product), "{r}");
    // A blocked friend's signals do not count: friend three blocks me, A drops to 2.
    t.post(
        &format!("/api/v1/accounts/{}/block", me.id),
        Some(&f3.token),
        json!({}),
    )
    .await
    .expect(204);
    let r = t
        .get("/api/v1/recommendations/products", Some(&me.token))
        .await
        .expect(200);
    let a_item = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["product_id"] == a.product.as_str())
        .expect("A still recommended by two");
    assert_eq!(a_item["friends"], 2);
    assert!(!ids(&r["items"], "product_id").contains(&c.product));
    // A stranger has no friends, so no recommendations.
    let r = t
        .get("/api/v1/recommendations/products", Some(&x.token))
        .await
        .expect(200);
    assert_eq!(r["items"], json!([]));
    t.get("/api/v1/recommendations/products", None)
        .await
        .problem(401, None);
}

async fn people_you_may_know(t: TestApp) {
    let me = t.register_member("我").await;
    let a = t.register_member("好友A").await;
    let a2 = t.register_member("好友A2").await;
    let b = t.register_member("B（一位共同好友）").await;
    let c = t.register_member("C（两位共同好友）").await;
    let d = t.register_member("D（同群）").await;
    let e = t.register_member("E（拉黑）").await;
    let f = t.register_member("F（已关注）").await;
    befriend(&t, &me, &a).await;
    befriend(&t, &me, &a2).await;
    befriend(&t, &a, &b).await;
    befriend(&t, &a, &c).await;
    befriend(&t, &a2, &c).await;
    befriend(&t, &a, &e).await;
    befriend(&t, &a, &f).await;
    follow(&t, &me, &f).await;
    let k = community(&t, &d, "跑步群").await;
    join(&t, &me, &k).await;
    join(&t, &c, &k).await;
    t.post(
        &format!("/api/v1/accounts/{}/block", me.id),
        Some(&e.token),
        json!({}),
    )
    .await
    .expect(204);
    let r = t
        .get("/api/v1/recommendations/people", Some(&me.token))
        .await
        .expect(200);
    let got: Vec<String> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["person"]["id"].as_str().unwrap().to_owned())
        .collect();
    // C: 2 mutual + 1 shared community = 5; B: 1 mutual = 2; D: 1 shared = 1.
    assert_eq!(got, vec![c.id.clone(), b.id.clone(), d.id.clone()], "{r}");
    assert_eq!(r["items"][0]["reason"], "2 位共同好友 · 同在 1 个社群");
    assert_eq!(r["items"][1]["mutual_friends"], 1);
    assert_eq!(r["items"][2]["reason"], "同在 1 个社群");
    t.get("/api/v1/recommendations/people", None)
        .await
        .problem(401, None);
}

async fn discovery_settings_and_bad_input(t: TestApp) {
    let me = t.register_member("我").await;
    let r = t
        .get("/api/v1/me/discovery-settings", Some(&me.token))
        .await
        .expect(200);
    assert_eq!(r["show_purchases_to_friends"], true);
    t.put(
        "/api/v1/me/discovery-settings",
        Some(&me.token),
        json!({ "show_purchases_to_friends": "maybe" }),
    )
    .await
    .problem(422, Some("show_purchases_to_friends"));
    t.put(
        "/api/v1/me/discovery-settings",
        Some(&me.token),
        json!({ "show_purchases_to_friends": false, "extra": 1 }),
    )
    .await
    .problem(422, None);
    let r = t
        .put(
            "/api/v1/me/discovery-settings",
            Some(&me.token),
            json!({ "show_purchases_to_friends": false }),
        )
        .await
        .expect(200);
    assert_eq!(r["show_purchases_to_friends"], false);
    let r = t
        .get("/api/v1/me/discovery-settings", Some(&me.token))
        .await
        .expect(200);
    assert_eq!(r["show_purchases_to_friends"], false);
    t.get("/api/v1/me/discovery-settings", None)
        .await
        .problem(401, None);
}
