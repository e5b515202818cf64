//! Commerce and social abuse paths from the outside probe (issue 17), over HTTP on both
//! engines: a used-up, withdrawn or expired community invite no longer binds as a referral
//! code (item 6); another member's image is neither a community cover nor a product image
//! (item 7); one member with no money cannot hold a product's stock in unpaid orders, not
//! even with concurrent checkouts (item 9); and a draft product's SKU answers checkout and
//! the cart exactly as an unknown SKU id does (item 11).

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{PASSWORD, TestApp, User, address, id, next_phone};
use crate::worlds::{small_png, upload};

both_engines!(
    a_used_up_invite_binds_no_referral,
    another_members_image_is_no_cover_and_no_product_image,
    one_member_cannot_hoard_stock_in_unpaid_orders,
    a_draft_sku_answers_like_an_unknown_one,
);

async fn a_used_up_invite_binds_no_referral(t: TestApp) {
    let (owner, mid) = t.approved_merchant("邀请码茶庄").await;
    let c = t
        .post(
            "/api/v1/communities",
            Some(&owner.token),
            json!({ "name": "茶友群", "join_policy": "open", "merchant_id": mid }),
        )
        .await
        .expect(201);
    let invites = format!("/api/v1/communities/{}/invites", id(&c));
    let invite = |max_uses: Value| {
        let t = &t;
        let owner = &owner;
        let invites = invites.clone();
        async move {
            t.post(
                &invites,
                Some(&owner.token),
                json!({ "max_uses": max_uses }),
            )
            .await
            .expect(201)
        }
    };

    // A one-use invite, used to join.
    let once = invite(json!(1)).await;
    let code = once["code"].as_str().unwrap().to_owned();
    let joiner = t.register_member("入群者").await;
    t.post(
        &format!("/api/v1/community-invites/{code}/accept"),
        Some(&joiner.token),
        json!({}),
    )
    .await
    .expect(200);

    // Used up, it binds nobody: typed in after sign-up, or used to sign up.
    let late = t.register_member("迟到者").await;
    let p = t
        .post(
            "/api/v1/me/referrers",
            Some(&late.token),
            json!({ "code": code }),
        )
        .await
        .problem(409, None);
    assert!(p["detail"].as_str().unwrap().contains("used up"), "{p}");
    let none = t
        .get("/api/v1/me/referrers", Some(&late.token))
        .await
        .expect(200);
    assert_eq!(none, json!([]));
    let phone = next_phone();
    t.post(
        &format!("/api/v1/s/{code}/accounts"),
        None,
        json!({ "phone": phone, "password": PASSWORD, "display_name": "新人" }),
    )
    .await
    .problem(409, None);
    t.login(&phone, PASSWORD).await.problem(401, None);

    // Withdrawn: the same.
    let withdrawn = invite(Value::Null).await;
    t.post(
        &format!("{invites}/{}/revoke", id(&withdrawn)),
        Some(&owner.token),
        json!({}),
    )
    .await
    .expect(200);
    t.post(
        "/api/v1/me/referrers",
        Some(&late.token),
        json!({ "code": withdrawn["code"] }),
    )
    .await
    .problem(409, None);

    // Expired: the same.
    let expiring = t
        .post(
            &invites,
            Some(&owner.token),
            json!({ "expires_in_hours": 1 }),
        )
        .await
        .expect(201);
    t.clock.advance_secs(3601);
    t.post(
        "/api/v1/me/referrers",
        Some(&late.token),
        json!({ "code": expiring["code"] }),
    )
    .await
    .problem(409, None);

    // A live invite with uses left still binds, to its inviter at the community's shop.
    let live = invite(json!(5)).await;
    let bound = t
        .post(
            "/api/v1/me/referrers",
            Some(&late.token),
            json!({ "code": live["code"] }),
        )
        .await
        .expect(200);
    assert_eq!(bound[0]["referrer_id"], owner.id.as_str());
    assert_eq!(bound[0]["merchant_id"], mid.as_str());
}

async fn media_of(t: &TestApp, who: &User, seed: u8) -> String {
    id(
        &upload(t, Some(&who.token), small_png(seed), "image/png", "p.png")
            .await
            .expect(201),
    )
}

async fn another_members_image_is_no_cover_and_no_product_image(t: TestApp) {
    let (owner, mid) = t.approved_merchant("封面小铺").await;
    let stranger = t.register_member("摄影爱好者").await;
    let theirs = media_of(&t, &stranger, 41).await;
    let mine = media_of(&t, &owner, 42).await;

    // A community cover: only one's own upload.
    let communities = "/api/v1/communities";
    t.post(
        communities,
        Some(&owner.token),
        json!({ "name": "借图群", "join_policy": "open", "cover_media_id": theirs }),
    )
    .await
    .problem(422, Some("cover_media_id"));
    let c = t
        .post(
            communities,
            Some(&owner.token),
            json!({ "name": "自有图群", "join_policy": "open", "cover_media_id": mine }),
        )
        .await
        .expect(201);
    assert_eq!(c["cover_media_id"], mine.as_str());
    let community = format!("{communities}/{}", id(&c));
    t.patch(
        &community,
        Some(&owner.token),
        json!({ "cover_media_id": theirs }),
    )
    .await
    .problem(422, Some("cover_media_id"));

    // A product image: only an upload of the shop's staff, by id path or its thumbnail.
    let products = format!("/api/v1/merchants/{mid}/products");
    for foreign in [format!("/media/{theirs}"), format!("/media/{theirs}/thumb")] {
        t.post(
            &products,
            Some(&owner.token),
            json!({ "name": "借图商品", "images": [format!("/media/{mine}"), foreign] }),
        )
        .await
        .problem(422, Some("images[1]"));
    }
    let manager = t.manager(&owner, &mid).await;
    let managers = media_of(&t, &manager, 43).await;
    let p = t
        .post(
            &products,
            Some(&owner.token),
            json!({ "name": "自拍商品", "images": [format!("/media/{mine}"), format!("/media/{managers}/thumb")] }),
        )
        .await
        .expect(201);
    t.patch(
        &format!("{products}/{}", id(&p)),
        Some(&owner.token),
        json!({ "images": [format!("/media/{theirs}")] }),
    )
    .await
    .problem(422, Some("images[0]"));
    let still = t
        .get(&format!("{products}/{}", id(&p)), Some(&owner.token))
        .await
        .expect(200);
    assert_eq!(still["images"].as_array().map(Vec::len), Some(2));
}

async fn checkout(t: &TestApp, mid: &str, who: &User, sku: &str, qty: i64) -> crate::harness::Resp {
    t.post(
        &format!("/api/v1/merchants/{mid}/checkout"),
        Some(&who.token),
        json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": sku, "quantity": qty }] }),
    )
    .await
}

async fn unpaid(t: &TestApp, who: &User) -> Vec<Value> {
    let v = t
        .get("/api/v1/me/orders?limit=100", Some(&who.token))
        .await
        .expect(200);
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["status"] == "pending_payment")
        .cloned()
        .collect()
}

/// `n` checkouts of `qty` by `who`, all sent at once: their statuses.
async fn concurrently(
    t: &TestApp,
    mid: &str,
    who: &User,
    sku: &str,
    qty: i64,
    n: usize,
) -> Vec<u16> {
    let url = format!("{}/api/v1/merchants/{mid}/checkout", t.base);
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (c, url, token) = (t.client.clone(), url.clone(), who.token.clone());
            let body = json!({ "delivery": "shipping", "address": address(),
                               "items": [{ "sku_id": sku, "quantity": qty }] });
            tokio::spawn(async move {
                c.post(&url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    let mut codes = Vec::new();
    for task in tasks {
        codes.push(task.await.expect("task").expect("request"));
    }
    codes
}

async fn one_member_cannot_hoard_stock_in_unpaid_orders(t: TestApp) {
    let shop = t
        .shop()
        .name("限购酒坊")
        .price(1000)
        .stock(100)
        .build()
        .await;
    let (mid, sku) = (shop.merchant.as_str(), shop.sku.as_str());

    // One unpaid order for the whole stock: refused, nothing reserved.
    let hoarder = t.register_member("囤货的").await;
    let p = checkout(&t, mid, &hoarder, sku, 100)
        .await
        .problem(409, Some("items[0].quantity"));
    assert!(p["detail"].as_str().unwrap().contains("20"), "{p}");
    assert!(unpaid(&t, &hoarder).await.is_empty());
    // Up to the limit is fine; past it, counting what already waits unpaid, is not.
    checkout(&t, mid, &hoarder, sku, 20).await.expect(201);
    checkout(&t, mid, &hoarder, sku, 1)
        .await
        .problem(409, Some("items[0].quantity"));
    // Someone else still finds the rest in stock.
    let other = t.register_member("正常买家").await;
    checkout(&t, mid, &other, sku, 20).await.expect(201);

    // Unpaid orders: at most five open at one shop.
    let many = t.register_member("下单狂").await;
    let mut orders = Vec::new();
    for _ in 0..5 {
        orders.push(id(&checkout(&t, mid, &many, sku, 1).await.expect(201)));
    }
    let p = checkout(&t, mid, &many, sku, 1)
        .await
        .problem(409, Some("items"));
    assert!(p["detail"].as_str().unwrap().contains("unpaid"), "{p}");
    // Paying one frees a place.
    t.top_up(&many, 5_000).await;
    t.post(
        &format!("/api/v1/orders/{}/pay", orders[0]),
        Some(&many.token),
        json!({ "provider": "wallet" }),
    )
    .await
    .expect(200);
    checkout(&t, mid, &many, sku, 1).await.expect(201);

    // Concurrent checkouts of one member cannot slip past either limit.
    let racer = t.register_member("并发下单").await;
    let codes = concurrently(&t, mid, &racer, sku, 1, 10).await;
    assert_eq!(codes.iter().filter(|c| **c == 201).count(), 5, "{codes:?}");
    assert!(codes.iter().all(|c| matches!(c, 201 | 409)), "{codes:?}");
    assert_eq!(unpaid(&t, &racer).await.len(), 5);
    let bulk = t.register_member("并发囤货").await;
    let codes = concurrently(&t, mid, &bulk, sku, 6, 8).await;
    assert!(codes.iter().all(|c| matches!(c, 201 | 409)), "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 201).count(), 3, "{codes:?}");
    let held: i64 = unpaid(&t, &bulk)
        .await
        .iter()
        .map(|o| o["lines"][0]["quantity"].as_i64().unwrap())
        .sum();
    assert_eq!(held, 18);
}

async fn a_draft_sku_answers_like_an_unknown_one(t: TestApp) {
    let shop = t
        .shop()
        .name("新品酒坊")
        .price(1000)
        .stock(10)
        .build()
        .await;
    let m = |p: &str| format!("/api/v1/merchants/{}{p}", shop.merchant);
    let draft = t
        .post(
            &m("/products"),
            Some(&shop.owner.token),
            json!({ "name": "未发布的新品" }),
        )
        .await
        .expect(201);
    let draft_sku = id(&t
        .post(
            &m(&format!("/products/{}/skus", id(&draft))),
            Some(&shop.owner.token),
            json!({ "code": "SECRET-2027", "attrs": {}, "list_price_fen": 9900 }),
        )
        .await
        .expect(201));
    let unknown = "0190a000-0000-7000-8000-000000000000";
    let buyer = t.register_member("好奇的买家").await;

    // Checkout: the same status and the same problem document.
    let a = checkout(&t, &shop.merchant, &buyer, &draft_sku, 1).await;
    let b = checkout(&t, &shop.merchant, &buyer, unknown, 1).await;
    assert_eq!(a.status, b.status);
    assert_eq!(a.body, b.body);
    assert!(!a.body.to_string().contains("SECRET"), "{}", a.body);
    a.problem(422, Some("items[0].sku_id"));
    // The cart: the same.
    let put = |sku: String| {
        let t = &t;
        let buyer = &buyer;
        let path = m(&format!("/cart/items/{sku}"));
        async move {
            t.put(&path, Some(&buyer.token), json!({ "quantity": 1 }))
                .await
        }
    };
    let a = put(draft_sku.clone()).await;
    let b = put(unknown.to_owned()).await;
    assert_eq!(a.status, b.status);
    assert_eq!(a.body, b.body);
    a.problem(404, None);
    // Once it is on sale, it sells.
    let locations = t
        .get(&m("/locations"), Some(&shop.owner.token))
        .await
        .expect(200);
    let warehouse = locations
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "warehouse")
        .map(id)
        .unwrap();
    t.post(
        &m("/stock/adjustments"),
        Some(&shop.owner.token),
        json!({ "sku_id": draft_sku, "location_id": warehouse, "delta": 5, "note": "入库" }),
    )
    .await
    .expect(201);
    t.put(
        &m(&format!("/products/{}/status", id(&draft))),
        Some(&shop.owner.token),
        json!({ "status": "active" }),
    )
    .await
    .expect(200);
    checkout(&t, &shop.merchant, &buyer, &draft_sku, 1)
        .await
        .expect(201);
}
