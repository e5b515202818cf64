//! A GET never changes who earns (issue 17, item 2), on both engines: a share link or a
//! post's product tag fetched as an image — what a browser does for an `<img>` on a product
//! page — only redirects, and records no visit, no binding and no content credit; only a
//! person navigating to it does. And a product image can no longer point at kith itself:
//! only the shop's own uploads or an allowed CDN host. On the member pages, a checkout past
//! the per-member hold limits is refused beside the order button in the page's language,
//! and a draft's SKU link answers like an unknown one.

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{TestApp, User};
use crate::web::Browser;
use crate::worlds::{product_link, small_png, standard_plan, upload};

both_engines!(
    an_image_fetch_of_a_share_link_moves_no_commission,
    hoarding_and_draft_skus_through_the_pages,
);

/// The visits counted on `who`'s links, through the API.
async fn visits(t: &TestApp, who: &User) -> i64 {
    let f: Value = t
        .get(
            &format!("/api/v1/distributors/{}/share-links", who.id),
            Some(&who.token),
        )
        .await
        .expect(200);
    f.as_array()
        .unwrap()
        .iter()
        .map(|l| l["visits"].as_i64().unwrap())
        .sum()
}

async fn an_image_fetch_of_a_share_link_moves_no_commission(t: TestApp) {
    let s = t.shop().plan(standard_plan()).build().await;
    let honest = t.register_member("真推荐人").await;
    let thief = t.register_member("抢佣金的").await;
    let buyer = t.register_member("被截胡的顾客").await;
    let (_, honest_code) = product_link(&t, &s, &honest).await;
    let (_, thief_code) = product_link(&t, &s, &thief).await;

    // The buyer follows the honest member's link: a navigation, counted and bound.
    let mut b = Browser::login_user(&t, &buyer).await;
    b.get(&format!("/s/{honest_code}")).await.expect(303);
    assert_eq!(visits(&t, &honest).await, 1);

    // Another merchant tries to make its product page fetch the thief's link as an image.
    let (evil, evil_mid) = t.approved_merchant("别家小店").await;
    let own_host = t.base.trim_start_matches("http://").to_owned();
    let products = format!("/api/v1/merchants/{evil_mid}/products");
    for image in [
        format!("https://{own_host}/s/{thief_code}"),
        format!(
            "https://{}/s/{thief_code}",
            own_host.split(':').next().unwrap()
        ),
        format!("/s/{thief_code}"),
        format!("https://evil.example.net/s/{thief_code}"),
    ] {
        let p = t
            .post(
                &products,
                Some(&evil.token),
                json!({ "name": "钓鱼商品", "images": [image] }),
            )
            .await
            .problem(422, Some("images[0]"));
        assert!(
            p["detail"].as_str().unwrap().contains("img.example.com"),
            "the answer names the allowed hosts: {p}"
        );
    }
    // What a shop may show: its own staff's upload, or the allowed CDN.
    let media = upload(&t, Some(&evil.token), small_png(3), "image/png", "a.png")
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.post(
        &products,
        Some(&evil.token),
        json!({ "name": "正经商品", "images": [format!("/media/{media}"), "https://img.example.com/ok.jpg"] }),
    )
    .await
    .expect(201);

    // Whatever an old page still carries: the buyer's browser fetching the thief's link as
    // an image (or a frame, or a prefetch) only gets the redirect; nothing is recorded.
    for (dest, mode) in [
        ("image", "no-cors"),
        ("iframe", "navigate"),
        ("empty", "cors"),
    ] {
        let p = b.fetch_as(&format!("/s/{thief_code}"), dest, mode).await;
        assert_eq!(p.status.as_u16(), 303, "{dest}: {}", p.body);
        assert_eq!(
            p.location(),
            format!("/shops/{}/products/{}", s.merchant, s.product)
        );
    }
    assert_eq!(visits(&t, &thief).await, 0, "an image fetch is no visit");
    // A post's product tag fetched as an image credits no one either.
    let post = t
        .post(
            "/api/v1/posts",
            Some(&thief.token),
            json!({ "body": "好茶", "visibility": "public", "tags": [s.sku] }),
        )
        .await
        .expect(201);
    let tag = format!(
        "/shops/{}/skus/{}?post={}",
        s.merchant,
        s.sku,
        post["id"].as_str().unwrap()
    );
    b.fetch_as(&tag, "image", "no-cors").await.expect(303);
    assert_eq!(
        visits(&t, &thief).await,
        0,
        "no content credit for an image"
    );

    // The buyer's order earns for the honest referrer, whose link they really followed.
    let o = t.order(&s, &buyer).paid().await;
    let oc = t
        .get(
            &format!("/api/v1/orders/{}/commission", o["id"].as_str().unwrap()),
            Some(&honest.token),
        )
        .await
        .expect(200);
    assert_eq!(oc["beneficiary_id"], honest.id.as_str(), "{oc}");
    let referrers = t
        .get("/api/v1/me/referrers", Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(referrers[0]["referrer_id"], honest.id.as_str());

    // A person following the same links is counted as before (a link clicked with htmx's
    // boost included).
    b.get(&format!("/s/{thief_code}")).await.expect(303);
    assert_eq!(visits(&t, &thief).await, 1);
    let boosted = b
        .send(
            b.client
                .get(format!("{}{tag}", t.base))
                .header("hx-request", "true")
                .header("hx-boosted", "true")
                .header("sec-fetch-dest", "empty")
                .header("sec-fetch-mode", "cors")
                .header("sec-fetch-site", "same-origin"),
        )
        .await;
    assert_eq!(boosted.status.as_u16(), 303);
    assert_eq!(
        visits(&t, &thief).await,
        2,
        "a boosted click is a navigation"
    );
}

async fn hoarding_and_draft_skus_through_the_pages(t: TestApp) {
    let shop = t
        .shop()
        .name("页面限购")
        .price(1000)
        .stock(100)
        .build()
        .await;
    let hoarder = t.register_member("页面囤货").await;
    let mut b = Browser::login_user(&t, &hoarder).await;
    let product = format!("/shops/{}/products/{}", shop.merchant, shop.product);
    let cart = format!("/shops/{}/cart", shop.merchant);
    b.submit(
        &product,
        &cart,
        &[("sku_id", shop.sku.as_str()), ("quantity", "21")],
    )
    .await
    .expect(303);
    let p = b
        .submit(
            &cart,
            &format!("/shops/{}/checkout", shop.merchant),
            &[
                ("delivery", "shipping"),
                ("name", "囤货人"),
                ("phone", "13800138000"),
                ("province", "贵州省"),
                ("city", "贵阳市"),
                ("district", "云岩区"),
                ("detail", "中华北路 1 号"),
            ],
        )
        .await
        .expect(409);
    let why = p.text_of("checkout-error");
    assert!(why.contains("超出限购") && why.contains("20"), "{why}");
    assert!(p.has("id=\"place-order\""), "the cart is shown again");
    let mine = t
        .get("/api/v1/me/orders", Some(&hoarder.token))
        .await
        .expect(200);
    assert_eq!(mine["items"], json!([]), "nothing was ordered");

    // A draft's SKU link answers exactly like an unknown SKU's.
    let m = |p: &str| format!("/api/v1/merchants/{}{p}", shop.merchant);
    let draft = t
        .post(
            &m("/products"),
            Some(&shop.owner.token),
            json!({ "name": "未上架的新品" }),
        )
        .await
        .expect(201);
    let draft_sku = t
        .post(
            &m(&format!("/products/{}/skus", draft["id"].as_str().unwrap())),
            Some(&shop.owner.token),
            json!({ "code": "HIDDEN-1", "attrs": {}, "list_price_fen": 500 }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = b
        .get(&format!("/shops/{}/skus/{draft_sku}", shop.merchant))
        .await;
    let u = b
        .get(&format!(
            "/shops/{}/skus/0190a000-0000-7000-8000-000000000000",
            shop.merchant
        ))
        .await;
    assert_eq!(a.status, u.status);
    assert_eq!(a.status.as_u16(), 404, "{}", a.body);
    assert!(!a.body.contains(draft["id"].as_str().unwrap()));
}
