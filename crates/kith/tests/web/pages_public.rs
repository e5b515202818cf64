//! What a visitor without an account reads (issue 18's public pages), on both engines: the
//! home with the open shops, a shop and a product at the list price with its reviews and a
//! link preview (Open Graph), a friend's share link that shows who shared what and offers
//! to sign up through it to buy; what needs an account (the cart, orders, the composer)
//! still asks for a login and comes back. And the signed-in member's tab bar, whose cart tab
//! opens the one shop's cart or lists the shops with one.

use crate::both_engines;
use crate::harness::{PASSWORD, TestApp};
use crate::web::Browser;
use crate::worlds::{product_link, standard_plan};

both_engines!(
    a_visitor_reads_the_shop_without_an_account,
    a_friends_link_shows_who_shared_what_before_sign_up,
    the_cart_tab_opens_the_cart_or_lists_the_shops,
);

async fn a_visitor_reads_the_shop_without_an_account(t: TestApp) {
    let s = t.shop().plan(standard_plan()).build().await;
    let mut anon = Browser::new(&t);
    // The home says what kith is and lists the open shops; the navigation offers the way in.
    let home = anon.get("/").await.expect(200);
    assert!(
        home.has(&format!("href=\"/shops/{}\"", s.merchant)),
        "{}",
        home.body
    );
    assert!(home.has("id=\"home-register\"") && home.has("id=\"nav-login\""));
    anon.get("/shops").await.expect(200);
    let shop_page = anon
        .get(&format!("/shops/{}", s.merchant))
        .await
        .expect(200);
    assert!(shop_page.has("高山红茶") && shop_page.has("¥100.00"));
    assert!(!shop_page.has("/cart\""), "no cart without an account");
    // A pasted link to the shop previews with its name and its own URL.
    assert!(
        shop_page.has("<meta property=\"og:type\" content=\"website\">")
            && shop_page.has(&format!(
                "<meta property=\"og:url\" content=\"{}/shops/{}\">",
                t.app.config.public_url, s.merchant
            )),
        "{}",
        shop_page.body
    );
    // The product at its list price, with a preview for a pasted link, and a way to buy
    // that signs in first and comes back.
    let path = format!("/shops/{}/products/{}", s.merchant, s.product);
    let p = anon.get(&path).await.expect(200);
    assert!(
        p.has("<meta property=\"og:title\" content=\"高山红茶\">"),
        "{}",
        p.body
    );
    assert!(p.has(&format!(
        "<meta property=\"og:url\" content=\"{}{path}\">",
        t.app.config.public_url
    )));
    assert!(p.has("¥100.00"));
    assert!(
        !p.has("action=\"/shops/") && !p.has("action=\"/share\""),
        "no forms that need an account"
    );
    let login = format!("/login?next={}", path.replace('/', "%2F"));
    assert!(
        p.has(&format!("class=\"button buy-login\" href=\"{login}\"")),
        "{}",
        p.body
    );
    // What needs an account still asks for one, and comes back.
    for (page, next) in [("/orders", "%2Forders"), ("/compose", "%2Fcompose")] {
        let r = anon.get(page).await.expect(303);
        assert_eq!(r.location(), format!("/login?next={next}"));
    }
    let cart = anon
        .get(&format!("/shops/{}/cart", s.merchant))
        .await
        .expect(303);
    assert!(cart.location().starts_with("/login?next="));
    // 点赞 / 评论 / 分享 on a post ask for an account and come back to the post, not to the
    // form's action (which answers no GET).
    let author = t.register_member("发帖的人").await;
    let post = t
        .post(
            "/api/v1/posts",
            Some(&author.token),
            serde_json::json!({ "body": "公开的好茶笔记", "visibility": "public" }),
        )
        .await
        .expect(201);
    let post_path = format!("/posts/{}", post["id"].as_str().expect("post id"));
    anon.get(&post_path).await.expect(200);
    let pid = post_path.trim_start_matches("/posts/").to_owned();
    for (action, form) in [
        (format!("{post_path}/like"), vec![]),
        (format!("{post_path}/comments"), vec![("body", "好")]),
        (
            "/share".to_owned(),
            vec![("kind", "post"), ("target_id", pid.as_str())],
        ),
    ] {
        let r = anon.submit(&post_path, &action, &form).await.expect(303);
        assert_eq!(
            r.location(),
            format!("/login?next={}", post_path.replace('/', "%2F")),
            "{action}"
        );
    }
    // The post previews as an article, with its words and author.
    let read = anon.get(&post_path).await.expect(200);
    assert!(
        read.has("<meta property=\"og:type\" content=\"article\">")
            && read.has("<meta property=\"og:title\" content=\"发帖的人\">")
            && read.has("<meta property=\"og:description\" content=\"公开的好茶笔记\">")
            && read.has(&format!(
                "<meta property=\"og:url\" content=\"{}{post_path}\">",
                t.app.config.public_url
            )),
        "{}",
        read.body
    );
    // Signing in from the product's button lands back on the product, now with a cart.
    let member = t.register_member("路过的人").await;
    anon.get(&login).await.expect(200);
    let back = anon
        .post(
            "/login",
            &[
                ("login", &member.login),
                ("password", PASSWORD),
                ("next", &path),
            ],
        )
        .await
        .expect(303);
    assert_eq!(back.location(), path);
    let signed_in = anon.get(&path).await.expect(200);
    assert!(signed_in.has("class=\"add-to-cart\""));
    // An unknown product is still a 404 page for a visitor.
    anon.get(&format!(
        "/shops/{}/products/00000000-0000-4000-8000-000000000000",
        s.merchant
    ))
    .await
    .expect(404);
}

async fn a_friends_link_shows_who_shared_what_before_sign_up(t: TestApp) {
    let s = t.shop().plan(standard_plan()).build().await;
    let sharer = t.register_member("推荐人小周").await;
    let (_, code) = product_link(&t, &s, &sharer).await;
    let path = format!("/shops/{}/products/{}", s.merchant, s.product);
    let mut anon = Browser::new(&t);
    let landed = anon.get(&format!("/s/{code}")).await.expect(303);
    assert_eq!(landed.location(), format!("{path}?via={code}"));
    let p = anon.get(&landed.location()).await.expect(200);
    assert!(
        p.has("id=\"shared-by\"") && p.has("推荐人小周"),
        "{}",
        p.body
    );
    // Buying means signing up through the link, which binds the newcomer to the sharer.
    let join = format!("/s/{code}/join?next={}", path.replace('/', "%2F"));
    assert!(
        p.has(&format!("class=\"button buy-sign-up\" href=\"{join}\"")),
        "{}",
        p.body
    );
    let landing = anon.get(&join).await.expect(200);
    assert!(landing.has("id=\"shared-preview\"") && landing.has("推荐人小周"));
    assert_eq!(landing.text_of("shared-title"), "高山红茶");
    assert!(landing.text_of("shared-price").contains("¥100.00"));
    let phone = crate::harness::next_phone();
    let done = anon
        .post(
            &format!("/s/{code}/join"),
            &[
                ("display_name", "新朋友"),
                ("phone", &phone),
                ("password", PASSWORD),
                ("next", &path),
            ],
        )
        .await
        .expect(303);
    assert_eq!(done.location(), path);
    let newcomer = t.login(&phone, PASSWORD).await.expect(201);
    let refs = t
        .get("/api/v1/me/referrers", newcomer["token"].as_str())
        .await
        .expect(200);
    assert_eq!(refs[0]["referrer_id"], sharer.id.as_str());
    // A `via` that names another page, or no link, shows no banner.
    let other = t.register_member("别人").await;
    let (_, _) = product_link(&t, &s, &other).await;
    let mut stranger = Browser::new(&t);
    for via in ["nope-nope", "x"] {
        let p = stranger.get(&format!("{path}?via={via}")).await.expect(200);
        assert!(!p.has("id=\"shared-by\""), "{via}");
    }
}

async fn the_cart_tab_opens_the_cart_or_lists_the_shops(t: TestApp) {
    let a = t.shop().plan(standard_plan()).build().await;
    let b = t.shop().plan(standard_plan()).build().await;
    let member = t.register_member("逛街的人").await;
    let mut m = Browser::login_user(&t, &member).await;
    // Nothing in any cart: said so, with the way to the shops; the tab is marked.
    let empty = m.get("/cart").await.expect(200);
    assert!(empty.has("id=\"carts-empty\""), "{}", empty.body);
    assert!(
        empty.has("href=\"/cart\" aria-current=\"page\""),
        "{}",
        empty.body
    );
    assert!(empty.has("<nav class=\"tabbar\""));
    // One shop's cart: the tab opens it.
    let add = |s: &crate::builders::Shop| {
        (
            format!("/shops/{}/products/{}", s.merchant, s.product),
            format!("/shops/{}/cart", s.merchant),
            s.sku.clone(),
        )
    };
    let (page, cart, sku) = add(&a);
    m.submit(&page, &cart, &[("sku_id", &sku), ("quantity", "2")])
        .await
        .expect(303);
    assert_eq!(m.get("/cart").await.expect(303).location(), cart);
    // Two shops: both listed with their units.
    let (page, cart_b, sku) = add(&b);
    m.submit(&page, &cart_b, &[("sku_id", &sku), ("quantity", "1")])
        .await
        .expect(303);
    let list = m.get("/cart").await.expect(200);
    assert_eq!(
        list.body.matches("class=\"card block cart-shop\"").count(),
        2
    );
    assert!(list.has(&format!("href=\"{cart}\"")) && list.has(&format!("href=\"{cart_b}\"")));
    // A visitor has no tab bar, and the cart asks for a login.
    let mut anon = Browser::new(&t);
    assert!(!anon.get("/shops").await.expect(200).has("class=\"tabbar\""));
    assert_eq!(
        anon.get("/cart").await.expect(303).location(),
        "/login?next=%2Fcart"
    );
}
