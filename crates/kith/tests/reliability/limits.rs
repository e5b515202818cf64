//! Per-member rate limits: placing orders (30 a minute by default) and creating share
//! links (60 a minute). Beyond the limit: 429 with `Retry-After`, nothing written; other
//! members are not affected; the window ends and the member may go on.

use serde_json::json;

use crate::both_engines;
use crate::harness::{TestApp, address};

both_engines!(checkouts_and_share_links_are_limited_per_member);

async fn checkouts_and_share_links_are_limited_per_member(t: TestApp) {
    let shop = t
        .shop()
        .name("限流酒坊")
        .price(100)
        .stock(1000)
        .build()
        .await;
    let checkout = format!("/api/v1/merchants/{}/checkout", shop.merchant);
    let order = json!({ "delivery": "shipping", "address": address(),
                        "items": [{ "sku_id": shop.sku, "quantity": 1 }] });
    let eager = t.register_member("手快").await;
    for _ in 0..30 {
        let o = t
            .post(&checkout, Some(&eager.token), order.clone())
            .await
            .expect(201);
        // Cancelled at once: a member may leave only a few orders unpaid at one shop.
        t.post(
            &format!("/api/v1/orders/{}/cancel", o["id"].as_str().unwrap()),
            Some(&eager.token),
            json!({}),
        )
        .await
        .expect(200);
    }
    let refused = t.post(&checkout, Some(&eager.token), order.clone()).await;
    let retry: i64 = refused
        .headers
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    refused.problem(429, None);
    let mine = t
        .get("/api/v1/me/orders?limit=100", Some(&eager.token))
        .await
        .expect(200);
    assert_eq!(
        mine["items"].as_array().map(Vec::len),
        Some(30),
        "the refused one wrote nothing"
    );
    // Someone else is not held up by it.
    let calm = t.register_member("手慢").await;
    t.post(&checkout, Some(&calm.token), order.clone())
        .await
        .expect(201);
    // A minute later the eager member may order again.
    t.clock.advance_secs(61);
    t.post(&checkout, Some(&eager.token), order.clone())
        .await
        .expect(201);

    // Share links.
    let link = json!({ "kind": "product", "target_id": shop.product });
    for _ in 0..60 {
        t.post("/api/v1/share-links", Some(&eager.token), link.clone())
            .await
            .expect(201);
    }
    t.post("/api/v1/share-links", Some(&eager.token), link.clone())
        .await
        .problem(429, None);
    t.post("/api/v1/share-links", Some(&calm.token), link.clone())
        .await
        .expect(201);
    t.clock.advance_secs(61);
    t.post("/api/v1/share-links", Some(&eager.token), link)
        .await
        .expect(201);
}
