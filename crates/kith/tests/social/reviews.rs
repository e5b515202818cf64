//! Verified-purchase reviews over HTTP on both engines: only the buyer of a completed
//! order line reviews it, once; the merchant answers once; a product's reviews and rating
//! are public, exact, and leave out hidden reviews and, for each viewer, reviews across a
//! block. Orders are completed the real way: checkout, wallet payment after a sandbox
//! top-up, shipment, the carrier's signed "delivered" callback, and the after-sale window
//! closing under the test clock.

use kith_app::AppError;
use kith_domain::Clock;
use kith_store::args;
use serde_json::{Value, json};

use crate::both_engines;
use crate::builders::Shop;
use crate::harness::{Resp, TestApp, User, address, id};
use crate::worlds::{close_after_sale_window, ship_and_deliver, small_png, upload};

both_engines!(
    reviews_of_completed_order_lines,
    reviews_across_blocks_and_moderation,
);

/// A shop selling 十五年坤沙酱香 in two SKUs: JX15-500 at ¥599 and JX15-100 at ¥129.
async fn two_sizes(t: &TestApp, name: &str) -> Shop {
    t.shop()
        .name(name)
        .product("十五年坤沙酱香")
        .sku("JX15-500", "500ml", 59900)
        .sku("JX15-100", "100ml", 12900)
        .build()
        .await
}

async fn order_status(t: &TestApp, buyer: &User, oid: &str) -> String {
    t.get(&format!("/api/v1/orders/{oid}"), Some(&buyer.token))
        .await
        .expect(200)["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn review(t: &TestApp, who: &User, oid: &str, line: i64, body: Value) -> Resp {
    t.post(
        &format!("/api/v1/orders/{oid}/lines/{line}/review"),
        Some(&who.token),
        body,
    )
    .await
}

fn reviews_path(s: &Shop) -> String {
    format!(
        "/api/v1/merchants/{}/products/{}/reviews",
        s.merchant, s.product
    )
}

fn rating_path(s: &Shop) -> String {
    format!(
        "/api/v1/merchants/{}/products/{}/rating",
        s.merchant, s.product
    )
}

/// The review ids a viewer sees, newest first.
async fn listed(t: &TestApp, s: &Shop, viewer: Option<&User>) -> Vec<String> {
    let page = t
        .get(&reviews_path(s), viewer.map(|u| u.token.as_str()))
        .await
        .expect(200);
    assert_eq!(page["next_cursor"], Value::Null);
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn outbox_count(t: &TestApp, topic: &str) -> i64 {
    let topic = topic.to_owned();
    t.app
        .db
        .read(move |c| -> Result<i64, AppError> {
            Ok(c.query_one(
                "SELECT COUNT(*) FROM outbox WHERE topic = $1",
                args![&topic],
            )?
            .int(0)?)
        })
        .await
        .unwrap()
}

async fn review_rows(t: &TestApp) -> i64 {
    t.app
        .db
        .read(|c| -> Result<i64, AppError> {
            Ok(c.query_one("SELECT COUNT(*) FROM reviews", args![])?
                .int(0)?)
        })
        .await
        .unwrap()
}

fn distribution(counts: [i64; 5]) -> Value {
    json!({ "1": counts[0], "2": counts[1], "3": counts[2], "4": counts[3], "5": counts[4] })
}

async fn reviews_of_completed_order_lines(t: TestApp) {
    let s = two_sizes(&t, "酱香酒坊").await;
    let (other_owner, other_merchant) = t.approved_merchant("别家酒坊").await;
    let buyer = t.register_member("老王").await;
    let buyer2 = t.register_member("小李").await;
    let stranger = t.register_member("路人").await;
    t.top_up(&buyer, 500_000).await;
    t.top_up(&buyer2, 500_000).await;

    let o1 = id(&t
        .order(&s, &buyer)
        .skus(&[&s.skus[0], &s.skus[1]])
        .no_top_up()
        .paid()
        .await);
    let o2 = id(&t
        .order(&s, &buyer2)
        .skus(&[&s.skus[0], &s.skus[1]])
        .no_top_up()
        .paid()
        .await);
    ship_and_deliver(&t, &s, &o1).await;
    ship_and_deliver(&t, &s, &o2).await;
    assert_eq!(order_status(&t, &buyer, &o1).await, "delivered");

    // Delivered is not enough: the after-sale window is still open.
    let p = review(&t, &buyer, &o1, 1, json!({ "rating": 5, "body": "好酒" }))
        .await
        .problem(409, None);
    assert!(p["detail"].as_str().unwrap().contains("delivered"), "{p}");

    close_after_sale_window(&t).await;
    assert_eq!(order_status(&t, &buyer, &o1).await, "completed");
    assert_eq!(order_status(&t, &buyer2, &o2).await, "completed");

    // A line refunded in full after completion is no purchase any more: 409.
    t.post(
        &format!("/api/v1/merchants/{}/orders/{o2}/refunds", s.merchant),
        Some(&s.owner.token),
        json!({ "lines": [{ "line_no": 2, "quantity": 1 }], "reason": "破损" }),
    )
    .await
    .expect(201);
    assert_eq!(order_status(&t, &buyer2, &o2).await, "completed");
    let p = review(&t, &buyer2, &o2, 2, json!({ "rating": 1 }))
        .await
        .problem(409, None);
    assert!(p["detail"].as_str().unwrap().contains("refunded"), "{p}");

    // An order not completed (a new one, unpaid): 409.
    let unpaid = t
        .post(
            &format!("/api/v1/merchants/{}/checkout", s.merchant),
            Some(&buyer.token),
            json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": s.skus[0], "quantity": 1 }] }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    review(&t, &buyer, &unpaid, 1, json!({ "rating": 5 }))
        .await
        .problem(409, None);

    // Not the buyer: as if the order did not exist. No such line: 404.
    for who in [&stranger, &s.owner, &buyer2] {
        review(&t, who, &o1, 1, json!({ "rating": 1, "body": "差" }))
            .await
            .problem(404, None);
    }
    review(&t, &buyer, &o1, 3, json!({ "rating": 5 }))
        .await
        .problem(404, None);
    review(&t, &buyer, &o1, 0, json!({ "rating": 5 }))
        .await
        .problem(404, None);
    t.post(
        &format!("/api/v1/orders/{o1}/lines/1/review"),
        None,
        json!({ "rating": 5 }),
    )
    .await
    .problem(401, None);

    // Bad input names its field and writes nothing.
    for bad in [
        json!({ "rating": 0 }),
        json!({ "rating": 6 }),
        json!({ "rating": "five" }),
        json!({ "body": "没打分" }),
    ] {
        review(&t, &buyer, &o1, 1, bad)
            .await
            .problem(422, Some("rating"));
    }
    review(
        &t,
        &buyer,
        &o1,
        1,
        json!({ "rating": 5, "body": "长".repeat(1001) }),
    )
    .await
    .problem(422, Some("body"));
    let strangers_image = upload(
        &t,
        Some(&stranger.token),
        small_png(10),
        "image/png",
        "x.png",
    )
    .await
    .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    review(
        &t,
        &buyer,
        &o1,
        1,
        json!({ "rating": 5, "images": [strangers_image] }),
    )
    .await
    .problem(422, Some("images[0]"));
    review(
        &t,
        &buyer,
        &o1,
        1,
        json!({ "rating": 5, "images": ["../../kith.toml"] }),
    )
    .await
    .problem(422, Some("images[0]"));
    let ten: Vec<String> = (0..10).map(|i| format!("{i:064x}")).collect();
    review(&t, &buyer, &o1, 1, json!({ "rating": 5, "images": ten }))
        .await
        .problem(422, Some("images"));
    assert_eq!(review_rows(&t).await, 0);

    // The buyer's review, with an image they uploaded.
    let image = upload(
        &t,
        Some(&buyer.token),
        small_png(11),
        "image/png",
        "wine.png",
    )
    .await
    .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r1 = review(
        &t,
        &buyer,
        &o1,
        1,
        json!({ "rating": 5, "body": "  酱香浓郁，回味悠长  ", "images": [image] }),
    )
    .await
    .expect(201);
    assert_eq!(r1["verified_purchase"], true);
    assert_eq!(r1["rating"], 5);
    assert_eq!(r1["body"], "酱香浓郁，回味悠长");
    assert_eq!(r1["product_id"], s.product.as_str());
    assert_eq!(r1["merchant_id"], s.merchant.as_str());
    assert_eq!(r1["sku_id"], s.skus[0].as_str());
    assert_eq!(r1["sku_code"], "JX15-500");
    assert_eq!(r1["author"]["id"], buyer.id.as_str());
    assert_eq!(r1["author"]["display_name"], "老王");
    assert_eq!(r1["images"][0]["url"], format!("/media/{image}").as_str());
    assert_eq!(
        r1["images"][0]["thumb_url"],
        format!("/media/{image}/thumb").as_str()
    );
    assert_eq!(r1["reply"], Value::Null);
    let r1_id = r1["id"].as_str().unwrap().to_owned();

    // One review per line.
    review(
        &t,
        &buyer,
        &o1,
        1,
        json!({ "rating": 1, "body": "改主意了" }),
    )
    .await
    .problem(409, None);
    let r2 = review(&t, &buyer, &o1, 2, json!({ "rating": 4 }))
        .await
        .expect(201);
    assert_eq!(r2["body"], "");
    let r3 = review(&t, &buyer2, &o2, 1, json!({ "rating": 2, "body": "一般" }))
        .await
        .expect(201);
    assert_eq!(review_rows(&t).await, 3);
    assert_eq!(outbox_count(&t, "review.created").await, 3);

    // The merchant answers, once; nobody else can.
    let reply_path = |m: &str, r: &str| format!("/api/v1/merchants/{m}/reviews/{r}/reply");
    t.post(
        &reply_path(&s.merchant, &r1_id),
        Some(&s.owner.token),
        json!({ "body": "  " }),
    )
    .await
    .problem(422, Some("body"));
    t.post(
        &reply_path(&s.merchant, &r1_id),
        Some(&s.owner.token),
        json!({ "body": "长".repeat(501) }),
    )
    .await
    .problem(422, Some("body"));
    t.post(
        &reply_path(&s.merchant, &r1_id),
        Some(&other_owner.token),
        json!({ "body": "我也来" }),
    )
    .await
    .problem(403, None);
    t.post(
        &reply_path(&s.merchant, &r1_id),
        Some(&buyer.token),
        json!({ "body": "自问自答" }),
    )
    .await
    .problem(403, None);
    t.post(
        &reply_path(&other_merchant, &r1_id),
        Some(&other_owner.token),
        json!({ "body": "不是我家的" }),
    )
    .await
    .problem(404, None);
    let manager = t.manager(&s.owner, &s.merchant).await;
    let replied = t
        .post(
            &reply_path(&s.merchant, &r1_id),
            Some(&manager.token),
            json!({ "body": "感谢支持！" }),
        )
        .await
        .expect(200);
    assert_eq!(replied["reply"]["body"], "感谢支持！");
    assert!(replied["reply"]["replied_at"].is_string());
    t.post(
        &reply_path(&s.merchant, &r1_id),
        Some(&s.owner.token),
        json!({ "body": "再谢一次" }),
    )
    .await
    .problem(409, None);
    assert_eq!(outbox_count(&t, "review.replied").await, 1);

    // Public, newest first, paged.
    let r2_id = r2["id"].as_str().unwrap().to_owned();
    let r3_id = r3["id"].as_str().unwrap().to_owned();
    let all = listed(&t, &s, None).await;
    assert_eq!(all, [r3_id.clone(), r2_id.clone(), r1_id.clone()]);
    let page1 = t
        .get(&format!("{}?limit=2", reviews_path(&s)), None)
        .await
        .expect(200);
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    let cursor = page1["next_cursor"].as_str().expect("a second page");
    let page2 = t
        .get(
            &format!("{}?limit=2&cursor={cursor}", reviews_path(&s)),
            None,
        )
        .await
        .expect(200);
    assert_eq!(page2["items"][0]["id"], r1_id.as_str());
    assert_eq!(page2["items"][0]["reply"]["body"], "感谢支持！");
    assert_eq!(page2["next_cursor"], Value::Null);
    t.get(&format!("{}?limit=0", reviews_path(&s)), None)
        .await
        .problem(422, Some("limit"));

    // Aggregates: (5 + 4 + 2) / 3 = 3.666… → 366.
    let rating = t.get(&rating_path(&s), None).await.expect(200);
    assert_eq!(
        rating,
        json!({ "count": 3, "mean_x100": 366, "distribution": distribution([0, 1, 0, 1, 1]) })
    );
    // A product of another merchant, or no product at all: 404.
    t.get(
        &format!(
            "/api/v1/merchants/{other_merchant}/products/{}/reviews",
            s.product
        ),
        None,
    )
    .await
    .problem(404, None);
    t.get(
        &format!(
            "/api/v1/merchants/{}/products/{}/rating",
            s.merchant, s.skus[0]
        ),
        None,
    )
    .await
    .problem(404, None);
    // A product with no reviews has a zero rating, not an error.
    let empty = t
        .post(
            &format!("/api/v1/merchants/{}/products", s.merchant),
            Some(&s.owner.token),
            json!({ "name": "新品" }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = t
        .get(
            &format!("/api/v1/merchants/{}/products/{empty}/rating", s.merchant),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(
        r,
        json!({ "count": 0, "mean_x100": 0, "distribution": distribution([0; 5]) })
    );
    // A draft is not public: its reviews are not either.
    t.get(
        &format!("/api/v1/merchants/{}/products/{empty}/reviews", s.merchant),
        None,
    )
    .await
    .problem(404, None);
}

async fn reviews_across_blocks_and_moderation(t: TestApp) {
    let s = two_sizes(&t, "茶香小铺").await;
    let author = t.register_member("作者").await;
    let other_author = t.register_member("另一位").await;
    let friend = t.register_member("好友").await;
    let follower = t.register_member("粉丝").await;
    let stranger = t.register_member("路人").await;
    let blocked_by_author = t.register_member("被拉黑").await;
    let blocker = t.register_member("拉黑者").await;
    t.top_up(&author, 200_000).await;
    t.top_up(&other_author, 200_000).await;
    let o1 = id(&t
        .order(&s, &author)
        .skus(&[&s.skus[0]])
        .no_top_up()
        .paid()
        .await);
    let o2 = id(&t
        .order(&s, &other_author)
        .skus(&[&s.skus[1]])
        .no_top_up()
        .paid()
        .await);
    ship_and_deliver(&t, &s, &o1).await;
    ship_and_deliver(&t, &s, &o2).await;
    close_after_sale_window(&t).await;
    let mine = review(&t, &author, &o1, 1, json!({ "rating": 5, "body": "好喝" }))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = review(
        &t,
        &other_author,
        &o2,
        1,
        json!({ "rating": 3, "body": "还行" }),
    )
    .await
    .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let ok = |r: Resp| assert!(r.status.is_success(), "{r:?}");
    for (a, b) in [(&friend, &author), (&author, &friend), (&follower, &author)] {
        ok(t.post(
            &format!("/api/v1/accounts/{}/follow", b.id),
            Some(&a.token),
            json!({}),
        )
        .await);
    }
    // The author blocked one member; another member blocked the author.
    ok(t.post(
        &format!("/api/v1/accounts/{}/block", blocked_by_author.id),
        Some(&author.token),
        json!({}),
    )
    .await);
    ok(t.post(
        &format!("/api/v1/accounts/{}/block", author.id),
        Some(&blocker.token),
        json!({}),
    )
    .await);

    // Reviews are public product information: everyone sees them, except across a block.
    let both = vec![theirs.clone(), mine.clone()];
    let only_theirs = vec![theirs.clone()];
    assert_eq!(listed(&t, &s, None).await, both, "anonymous");
    for (name, viewer, expected) in [
        ("author", &author, &both),
        ("friend", &friend, &both),
        ("follower", &follower, &both),
        ("stranger", &stranger, &both),
        ("merchant", &s.owner, &both),
        ("blocked by the author", &blocked_by_author, &only_theirs),
        ("who blocked the author", &blocker, &only_theirs),
    ] {
        assert_eq!(&listed(&t, &s, Some(viewer)).await, expected, "{name}");
    }
    // The product's rating is the same for everyone.
    let full =
        json!({ "count": 2, "mean_x100": 400, "distribution": distribution([0, 0, 1, 0, 1]) });
    for viewer in [None, Some(&blocked_by_author.token), Some(&blocker.token)] {
        assert_eq!(
            t.get(&rating_path(&s), viewer.map(String::as_str))
                .await
                .expect(200),
            full
        );
    }

    // Lifting the block shows the review again.
    t.delete(
        &format!("/api/v1/accounts/{}/block", blocked_by_author.id),
        Some(&author.token),
    )
    .await;
    assert_eq!(listed(&t, &s, Some(&blocked_by_author)).await, both);

    // A hidden review is left out of the list and the rating, for everyone.
    let now = t.clock.now_ms();
    let hide = theirs.clone();
    t.app
        .db
        .write(move |c| -> Result<u64, AppError> {
            Ok(c.execute(
                "UPDATE reviews SET hidden_at = $1 WHERE id = $2",
                args![now, &hide],
            )?)
        })
        .await
        .unwrap();
    assert_eq!(listed(&t, &s, None).await, vec![mine.clone()]);
    assert_eq!(
        listed(&t, &s, Some(&other_author)).await,
        vec![mine.clone()]
    );
    assert_eq!(
        t.get(&rating_path(&s), None).await.expect(200),
        json!({ "count": 1, "mean_x100": 500, "distribution": distribution([0, 0, 0, 0, 1]) })
    );
}
