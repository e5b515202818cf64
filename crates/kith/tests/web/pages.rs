//! The web pages over plain HTTP, as a browser without JavaScript uses them, on both
//! engines: logging in with the form sets the session cookie; a member shops with their
//! tier price, checks out for pickup and pays; the clerk redeems the code on the clerk
//! page; the merchant ships from the console; the admin approves an application. Cross-site
//! posts and posts without the session's CSRF token are refused and change nothing; a
//! member cannot open the merchant console or the admin page, a clerk only their store.

use reqwest::header::SET_COOKIE;
use serde_json::json;

use crate::both_engines;
use crate::builders::Shop;
use crate::harness::{PASSWORD, TestApp, User};
use crate::web::Browser;

both_engines!(
    member_shops_pays_and_clerk_redeems_through_the_pages,
    merchant_ships_and_admin_approves_through_the_pages,
    forged_and_tokenless_posts_are_refused,
    pages_enforce_who_may_see_what,
    pages_set_security_headers_and_speak_two_languages,
    posts_communities_and_the_catalog_through_the_pages,
    buyer_cancels_and_merchant_refunds_through_the_pages,
    search_and_social_proof_through_the_pages,
    error_pages_keep_the_frame_and_a_way_back,
);

/// The pages' shop: 页面酒坊 with a shareholder tier, 十五年坤沙酱香 (list ¥599, shareholders
/// ¥499) with 20 units in the warehouse and in a store with a clerk.
async fn winery(t: &TestApp) -> Shop {
    t.shop()
        .name("页面酒坊")
        .tier("shareholder", "股东", 20)
        .store()
        .product("十五年坤沙酱香")
        .sku("JX15-500", "500ml", 59900)
        .tier_price("shareholder", 49900)
        .stock(20)
        .build()
        .await
}

/// A member holding the shareholder tier, with ¥3000 in the wallet.
async fn shareholder(t: &TestApp, s: &Shop) -> User {
    let u = t.register_member("王小美").await;
    t.put(
        &format!("/api/v1/merchants/{}/members/{}/tier", s.merchant, u.id),
        Some(&s.owner.token),
        json!({ "tier_code": "shareholder" }),
    )
    .await
    .expect(200);
    t.top_up(&u, 300_000).await;
    u
}

fn sku_of(page: &str) -> String {
    let key = "name=\"sku_id\" value=\"";
    let at = page.find(key).expect("an add-to-cart form") + key.len();
    page[at..].split('"').next().unwrap().to_owned()
}

async fn api_order(t: &TestApp, u: &User, id: &str) -> serde_json::Value {
    t.get(&format!("/api/v1/orders/{id}"), Some(&u.token))
        .await
        .expect(200)
}

async fn member_shops_pays_and_clerk_redeems_through_the_pages(t: TestApp) {
    let s = winery(&t).await;
    let u = shareholder(&t, &s).await;
    let mut b = Browser::login(&t, &u.login).await;

    // The feed and the shop list render for the member.
    assert!(b.get("/").await.expect(200).body.contains("王小美"));
    assert!(b.get("/shops").await.expect(200).body.contains("页面酒坊"));

    // The product page shows the member's tier price beside the list price.
    let product_path = format!("/shops/{}/products/{}", s.merchant, s.product);
    let page = b.get(&product_path).await.expect(200);
    assert!(page.body.contains("十五年坤沙酱香"));
    assert!(page.body.contains("¥499.00"), "tier price shown");
    assert!(page.body.contains("¥599.00"), "list price shown");
    let sku = sku_of(&page.body);
    assert!(!page.has("id=\"sold\""), "nothing sold yet, nothing said");
    assert!(page.has("class=\"buy-now\""));
    // One SKU: its form is the buy bar a phone keeps at the bottom, with the price in it.
    assert!(
        page.has("class=\"row buy-bar\" id=\"buy-bar\"") && page.has("class=\"price bar-price\""),
        "{}",
        page.body
    );

    // Add to cart, check out for pickup at the store.
    let cart = format!("/shops/{}/cart", s.merchant);
    let p = b
        .submit(&product_path, &cart, &[("sku_id", &sku), ("quantity", "2")])
        .await
        .expect(303);
    assert_eq!(p.location(), cart);
    let page = b.get(&cart).await.expect(200);
    assert!(
        page.body.contains("¥998.00"),
        "cart total at the tier price"
    );
    // The freight shows before checkout: ¥12 under ¥1,000 of goods, free from it.
    let settings = format!("/api/v1/merchants/{}/settings", s.merchant);
    let mut terms = t.get(&settings, Some(&s.owner.token)).await.expect(200);
    terms["shipping_fee_fen"] = json!(1_200);
    terms["free_shipping_over_fen"] = json!(100_000);
    t.put(&settings, Some(&s.owner.token), terms.clone())
        .await
        .expect(200);
    let page = b.get(&cart).await.expect(200);
    assert_eq!(
        page.text_of("cart-shipping"),
        "运费: ¥12.00（满 ¥1000.00 包邮）"
    );
    assert!(
        page.has("<strong class=\"price\">¥1010.00</strong>"),
        "{}",
        page.body
    );
    terms["shipping_fee_fen"] = json!(0);
    terms["free_shipping_over_fen"] = json!(null);
    t.put(&settings, Some(&s.owner.token), terms)
        .await
        .expect(200);
    assert_eq!(
        b.get(&cart).await.expect(200).text_of("cart-shipping"),
        "运费: 包邮"
    );
    let p = b
        .submit(
            &cart,
            &format!("/shops/{}/checkout", s.merchant),
            &[
                ("delivery", "pickup"),
                ("pickup_store_id", &s.pickup().store),
            ],
        )
        .await
        .expect(303);
    let order_path = p.location();
    let order_id = order_path.trim_start_matches("/orders/").to_owned();
    assert_eq!(
        api_order(&t, &u, &order_id).await["status"],
        "pending_payment"
    );
    assert!(
        !b.get(&cart).await.expect(200).body.contains("¥998.00"),
        "the cart is emptied by checkout"
    );

    // Pay from the wallet on the order page.
    b.submit(
        &order_path,
        &format!("{order_path}/pay"),
        &[("provider", "wallet")],
    )
    .await
    .expect(303);
    let o = api_order(&t, &u, &order_id).await;
    assert_eq!(o["status"], "fulfilling");
    assert_eq!(o["total_fen"], 99800);
    // The product now says how many were sold; 立即购买 goes straight to the checkout.
    let page = b.get(&product_path).await.expect(200);
    assert_eq!(page.text_of("sold"), "已售 2");
    // So do the shop's product card, the merchant's product list and the console's table.
    let shop_page = b.get(&format!("/shops/{}", s.merchant)).await.expect(200);
    assert!(
        shop_page.has("<span class=\"muted sold\">已售 2</span>"),
        "{}",
        shop_page.body
    );
    let listed = t
        .get(&format!("/api/v1/merchants/{}/products", s.merchant), None)
        .await
        .expect(200);
    assert_eq!(listed["items"][0]["sold"], 2, "{listed}");
    let mut desk = Browser::login(&t, &s.owner.login).await;
    let table = desk
        .get(&format!("/console/{}/products", s.merchant))
        .await
        .expect(200);
    assert!(table.has("<td class=\"num sold\">2</td>"), "{}", table.body);
    let p = b
        .submit(
            &product_path,
            &cart,
            &[("sku_id", &sku), ("quantity", "1"), ("then", "checkout")],
        )
        .await
        .expect(303);
    assert_eq!(p.location(), format!("{cart}#checkout"));
    b.submit(&cart, &cart, &[("sku_id", &sku), ("quantity", "0")])
        .await
        .expect(303);
    assert!(
        b.get("/orders")
            .await
            .expect(200)
            .body
            .contains("十五年坤沙酱香")
    );

    // The merchant marks it ready; the member's order page shows the pickup code.
    let mut owner = Browser::login(&t, &s.owner.login).await;
    let console_order = format!("/console/{}/orders/{order_id}", s.merchant);
    owner
        .submit(&console_order, &format!("{console_order}/ready"), &[])
        .await
        .expect(303);
    let page = b.get(&order_path).await.expect(200);
    let code = api_order(&t, &u, &order_id).await["pickup_code"]
        .as_str()
        .expect("pickup code")
        .to_owned();
    assert!(page.body.contains(&code), "the order page shows the code");
    // ... with the store to go to, when it is open, and the code as a QR code to scan.
    assert_eq!(page.text_of("pickup-store-name"), "贵阳店");
    assert!(
        page.text_of("pickup-store-address")
            .contains("林城东路 88 号")
    );
    assert!(page.has("周一 09:00–21:00"), "{}", page.body);
    let qr = page
        .body
        .split("id=\"pickup-qr\"")
        .nth(1)
        .expect("a pickup QR code");
    assert!(
        qr.trim_start_matches(|c| c != '>').starts_with("><svg"),
        "{qr}"
    );

    // The clerk sees it waiting and redeems the code on the clerk page.
    let mut clerk = Browser::login(&t, &s.pickup().clerk.login).await;
    let clerk_path = format!("/clerk/{}", s.pickup().store);
    assert!(
        clerk
            .get(&clerk_path)
            .await
            .expect(200)
            .body
            .contains("十五年坤沙酱香")
    );
    // A scanner types the QR code's whole text into the code field.
    let scanned = format!("kith:pickup:{order_id}:{code}");
    let p = clerk
        .submit(
            &clerk_path,
            &format!("{clerk_path}/redeem"),
            &[("code", &scanned)],
        )
        .await
        .expect(200);
    assert!(p.body.contains("id=\"redeemed\""), "{}", p.body);
    assert_eq!(api_order(&t, &u, &order_id).await["status"], "picked_up");
    // A code works once.
    clerk
        .submit(
            &clerk_path,
            &format!("{clerk_path}/redeem"),
            &[("code", &code)],
        )
        .await
        .expect(409);

    // Paying through the sandbox gateway sends the member to the gateway's page.
    let p = b
        .submit(&product_path, &cart, &[("sku_id", &sku), ("quantity", "1")])
        .await
        .expect(303);
    assert_eq!(p.location(), cart);
    let p = b
        .submit(
            &cart,
            &format!("/shops/{}/checkout", s.merchant),
            &[
                ("delivery", "shipping"),
                ("name", "王小美"),
                ("phone", "13912345678"),
                ("province", "贵州省"),
                ("city", "贵阳市"),
                ("district", "观山湖区"),
                ("detail", "林城东路 88 号"),
            ],
        )
        .await
        .expect(303);
    let order_path = p.location();
    let order_id = order_path.trim_start_matches("/orders/").to_owned();
    let p = b
        .submit(
            &order_path,
            &format!("{order_path}/pay"),
            &[("provider", "sandbox")],
        )
        .await
        .expect(303);
    let pay = p.location();
    assert!(pay.starts_with("/sandbox/pay/"), "{pay}");
    // The gateway's page, in Chinese with the amount in 元, as a cashier page is.
    let cashier = b.get(&pay).await.expect(200);
    assert!(
        cashier.has("订单付款") && cashier.has("确认支付 ¥") && !cashier.has("Pay "),
        "{}",
        cashier.body
    );
    let status = t
        .confirm_on_sandbox(pay.trim_start_matches("/sandbox/pay/"), "succeeded")
        .await;
    assert!(matches!(status, 200 | 303), "{status}");
    assert_eq!(api_order(&t, &u, &order_id).await["status"], "fulfilling");
    // Paid: said in words, with the way back to the order.
    let paid = b.get(&pay).await.expect(200);
    assert_eq!(paid.text_of("sandbox-status"), "状态：");
    assert!(
        paid.has("<b>支付成功</b>") && paid.has(&format!("href=\"/orders/{order_id}\">返回订单")),
        "{}",
        paid.body
    );
}

async fn merchant_ships_and_admin_approves_through_the_pages(t: TestApp) {
    let s = winery(&t).await;
    let u = shareholder(&t, &s).await;
    let mut b = Browser::login(&t, &u.login).await;
    let product_path = format!("/shops/{}/products/{}", s.merchant, s.product);
    let sku = sku_of(&b.get(&product_path).await.expect(200).body);
    let cart = format!("/shops/{}/cart", s.merchant);
    b.submit(&product_path, &cart, &[("sku_id", &sku), ("quantity", "1")])
        .await
        .expect(303);
    // A shipping checkout without an address is refused beside the order button, in the
    // page's words, what was typed kept.
    let p = b
        .submit(
            &cart,
            &format!("/shops/{}/checkout", s.merchant),
            &[
                ("delivery", "shipping"),
                ("name", "王小美"),
                ("phone", "123"),
            ],
        )
        .await
        .expect(422);
    assert!(
        p.has("id=\"checkout-error\"")
            && (p.has("请填写完整的收货地址") || p.has("请填写正确的 11 位手机号"))
            && p.has("value=\"王小美\""),
        "{}",
        p.body
    );
    let p = b
        .submit(
            &cart,
            &format!("/shops/{}/checkout", s.merchant),
            &[
                ("delivery", "shipping"),
                ("name", "王小美"),
                ("phone", "13912345678"),
                ("province", "贵州省"),
                ("city", "贵阳市"),
                ("district", "观山湖区"),
                ("detail", "林城东路 88 号"),
            ],
        )
        .await
        .expect(303);
    let order_path = p.location();
    let order_id = order_path.trim_start_matches("/orders/").to_owned();
    b.submit(
        &order_path,
        &format!("{order_path}/pay"),
        &[("provider", "wallet")],
    )
    .await
    .expect(303);

    // The console: dashboard, the order in the list, shipped with a carrier and number.
    let mut owner = Browser::login(&t, &s.owner.login).await;
    let dash = owner
        .get(&format!("/console/{}", s.merchant))
        .await
        .expect(200);
    assert!(dash.body.contains("¥499.00"), "GMV on the dashboard");
    let list = owner
        .get(&format!("/console/{}/orders?status=fulfilling", s.merchant))
        .await
        .expect(200);
    assert!(list.body.contains(&order_id));
    let console_order = format!("/console/{}/orders/{order_id}", s.merchant);
    owner
        .submit(
            &console_order,
            &format!("{console_order}/ship"),
            &[("carrier", "sf"), ("tracking_no", "SF1234567890")],
        )
        .await
        .expect(303);
    let o = api_order(&t, &u, &order_id).await;
    assert_eq!(o["status"], "shipped");
    assert_eq!(o["tracking_no"], "SF1234567890");
    let page = b.get(&order_path).await.expect(200);
    assert!(page.has("SF1234567890"));
    // The carrier by its name, not its code; who moved the order, in words.
    assert!(page.has("顺丰速运"), "{}", page.body);
    let console = owner.get(&console_order).await.expect(200);
    assert!(
        console.has("顺丰速运") && console.has("商家"),
        "{}",
        console.body
    );
    assert!(
        !console.has(">staff ") && !console.has("buyer "),
        "{}",
        console.body
    );
    // The member confirms receipt on the order page.
    b.submit(&order_path, &format!("{order_path}/confirm"), &[])
        .await
        .expect(303);
    assert_eq!(api_order(&t, &u, &order_id).await["status"], "delivered");

    // Someone applies to open a shop in the console; the admin approves it on the admin page.
    let applicant = t.register_member("茶农").await;
    let mut a = Browser::login(&t, &applicant.login).await;
    a.submit(
        "/console",
        "/console/apply",
        &[("name", "山野茶舍"), ("description", "高山云雾茶")],
    )
    .await
    .expect(303);
    let me = t.me(&applicant).await;
    let mid = me["staff_of"][0]["merchant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(me["staff_of"][0]["merchant_status"], "pending");
    let admin = t.admin().await;
    let mut adm = Browser::login(&t, &admin.login).await;
    assert!(
        adm.get("/admin")
            .await
            .expect(200)
            .body
            .contains("山野茶舍")
    );
    adm.submit("/admin", &format!("/admin/merchants/{mid}/approve"), &[])
        .await
        .expect(303);
    assert_eq!(
        t.me(&applicant).await["staff_of"][0]["merchant_status"],
        "approved"
    );
    // The approved shop now opens in the console.
    a.get(&format!("/console/{mid}")).await.expect(200);
}

async fn forged_and_tokenless_posts_are_refused(t: TestApp) {
    let s = winery(&t).await;
    let u = shareholder(&t, &s).await;
    let mut b = Browser::login(&t, &u.login).await;
    let product_path = format!("/shops/{}/products/{}", s.merchant, s.product);
    let page = b.get(&product_path).await.expect(200);
    let (sku, csrf) = (sku_of(&page.body), page.csrf());
    let cart = format!("/shops/{}/cart", s.merchant);

    // A cross-site form, even with the right token: refused.
    b.post_from(
        &cart,
        &[("sku_id", &sku), ("quantity", "1"), ("csrf", &csrf)],
        "cross-site",
    )
    .await
    .expect(403);
    // Same site, but no token, or another session's token: refused.
    b.post(&cart, &[("sku_id", &sku), ("quantity", "1")])
        .await
        .expect(403);
    let other = Browser::login(&t, &t.register_member("路人").await.login).await;
    let other_csrf = kith_web::csrf_token(
        other
            .cookie
            .as_deref()
            .unwrap()
            .trim_start_matches("kith_session="),
    );
    b.post(
        &cart,
        &[("sku_id", &sku), ("quantity", "1"), ("csrf", &other_csrf)],
    )
    .await
    .expect(403);
    // An old browser: Origin names another site.
    let req = b
        .client
        .post(format!("{}{cart}", t.base))
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("sku_id={sku}&quantity=1&csrf={csrf}"));
    b.send(req).await.expect(403);
    // Nothing reached the cart.
    let items = t
        .get(
            &format!("/api/v1/merchants/{}/cart", s.merchant),
            Some(&u.token),
        )
        .await
        .expect(200);
    assert_eq!(items.as_array().map_or(usize::MAX, Vec::len), 0, "{items}");
    // Logging out needs the token too; with it the session ends.
    b.post("/logout", &[]).await.expect(403);
    let p = b.submit("/", "/logout", &[]).await.expect(303);
    assert_eq!(p.location(), "/login");
    assert!(b.cookie.is_none());
    let p = b.get("/orders").await.expect(303);
    assert!(p.location().starts_with("/login?next="), "{}", p.location());
    // A wrong password re-renders the form with 401 and sets no cookie.
    let mut anon = Browser::new(&t);
    let p = anon
        .post(
            "/login",
            &[("login", &u.login), ("password", "wrong password!")],
        )
        .await
        .expect(401);
    assert!(p.body.contains("手机号、邮箱或密码不正确"), "{}", p.body);
    assert!(anon.cookie.is_none());
}

async fn pages_enforce_who_may_see_what(t: TestApp) {
    let s = winery(&t).await;
    let member = t.register_member("普通会员").await;
    let mut b = Browser::login(&t, &member.login).await;
    // Not staff: the console of the merchant is refused, and so are its actions.
    b.get(&format!("/console/{}", s.merchant)).await.expect(403);
    b.get(&format!("/console/{}/orders", s.merchant))
        .await
        .expect(403);
    b.submit(
        "/",
        &format!("/console/{}/products", s.merchant),
        &[("name", "偷偷上架")],
    )
    .await
    .expect(403);
    // Not an admin.
    b.get("/admin").await.expect(403);
    b.submit(
        "/",
        &format!("/admin/merchants/{}/reject", s.merchant),
        &[("reason", "x")],
    )
    .await
    .expect(403);
    // Not a clerk of the store.
    b.get(&format!("/clerk/{}", s.pickup().store))
        .await
        .expect(403);
    // A clerk of another store of the same merchant cannot open this one.
    let other_store = t.store(&s.owner, &s.merchant, "遵义店").await;
    let mut clerk = Browser::login(&t, &s.pickup().clerk.login).await;
    clerk
        .get(&format!("/clerk/{}", s.pickup().store))
        .await
        .expect(200);
    clerk
        .get(&format!("/clerk/{other_store}"))
        .await
        .expect(403);
    clerk
        .submit(
            &format!("/clerk/{}", s.pickup().store),
            &format!("/clerk/{other_store}/redeem"),
            &[("code", "12345678")],
        )
        .await
        .expect(403);
    // Someone else's order is not found.
    let u = shareholder(&t, &s).await;
    let order = t
        .post(
            &format!("/api/v1/merchants/{}/checkout", s.merchant),
            Some(&u.token),
            json!({ "delivery": "pickup", "pickup_store_id": s.pickup().store,
                    "items": [{ "sku_id": sku_of(&b.get(&format!("/shops/{}/products/{}", s.merchant, s.product)).await.expect(200).body), "quantity": 1 }] }),
        )
        .await
        .expect(201);
    b.get(&format!("/orders/{}", order["id"].as_str().unwrap()))
        .await
        .expect(404);
    // Ids that are not ids are not found either, on both engines (never a 500).
    for path in [
        "/orders/not-an-id".to_owned(),
        "/posts/not-an-id".to_owned(),
        format!("/shops/{}/products/not-an-id", s.merchant),
        "/shops/not-an-id".to_owned(),
    ] {
        let status = b.get(&path).await.status.as_u16();
        assert_eq!(status, 404, "{path}");
    }
    // Anonymous: pages that need a login send to it, coming back afterwards.
    let mut anon = Browser::new(&t);
    let p = anon.get("/orders").await.expect(303);
    assert_eq!(p.location(), "/login?next=%2Forders");
    let p = anon.get("/console").await.expect(303);
    assert_eq!(p.location(), "/login?next=%2Fconsole");
    // After login the member goes back where they wanted; an off-site `next` is ignored.
    anon.get("/login").await.expect(200);
    let p = anon
        .post(
            "/login",
            &[
                ("login", &member.login),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await
        .expect(303);
    assert_eq!(p.location(), "/");
}

async fn pages_set_security_headers_and_speak_two_languages(t: TestApp) {
    let mut b = Browser::new(&t);
    // A mistyped address is a page with the way home, not a JSON document; the API's
    // unknown paths stay problem documents.
    let lost = b.get("/shopz/nothing-here").await.expect(404);
    assert!(
        lost.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        lost.has("页面不存在") && lost.has("href=\"/\""),
        "{}",
        lost.body
    );
    let api = b.get("/api/v1/nothing-here").await.expect(404);
    assert_eq!(api.headers["content-type"], "application/problem+json");
    t.get("/shopz/nothing-here", None).await.problem(404, None);
    let p = b.get("/login").await.expect(200);
    let h = |n: &str| {
        p.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let csp = h("content-security-policy");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h("x-frame-options"), "DENY");
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert_eq!(h("referrer-policy"), "same-origin");
    assert!(h("content-type").starts_with("text/html"));
    // No inline script or style anywhere on the page.
    assert!(!p.body.contains("<script>") && !p.body.contains("style="));
    // Chinese by default; ?lang=en switches and remembers it in a cookie.
    assert!(p.body.contains("<html lang=\"zh-CN\">") && p.body.contains("登录"));
    let p = b.get("/login?lang=en").await.expect(200);
    assert!(p.body.contains("<html lang=\"en\">") && p.body.contains("Log in"));
    let set = p
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("kith_lang="))
        .expect("language cookie")
        .to_owned();
    assert!(set.starts_with("kith_lang=en;"), "{set}");
    b.cookie = Some("kith_lang=en".into());
    assert!(
        b.get("/register")
            .await
            .expect(200)
            .body
            .contains("Sign up")
    );
    // htmx and the stylesheet are served from the binary.
    let js = b.get("/static/htmx.min.js").await.expect(200);
    assert!(
        js.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(js.body.contains("htmx"));
    b.get("/static/kith.css").await.expect(200);
    // Pages link the static files by a content-hashed name, served compressed and cached
    // for a year; the plain name is cached briefly; a revalidation answers 304.
    let page = b.get("/login").await.expect(200);
    let at = page
        .body
        .find("/static/kith.")
        .expect("the stylesheet's link");
    let css = page.body[at..].split('"').next().unwrap().to_owned();
    assert!(
        css.ends_with(".css") && css.len() == "/static/kith..css".len() + 10,
        "{css}"
    );
    let get = |path: &str, enc: &str| {
        t.client
            .get(format!("{}{path}", t.base))
            .header("accept-encoding", enc)
            .send()
    };
    let plain = get(&css, "identity").await.unwrap();
    assert_eq!(plain.status(), 200);
    assert_eq!(
        plain.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = plain.headers()["etag"].clone();
    let plain = plain.bytes().await.unwrap();
    let zipped = get(&css, "gzip, deflate").await.unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_eq!(zipped.headers()["vary"], "Accept-Encoding");
    let zipped = zipped.bytes().await.unwrap();
    assert_eq!(&zipped[..2], &[0x1f, 0x8b], "a gzip stream");
    assert!(
        zipped.len() * 2 < plain.len(),
        "{} of {}",
        zipped.len(),
        plain.len()
    );
    // A browser's own header: brotli first, smaller still, and the same stylesheet.
    let br = get(&css, "gzip, deflate, br, zstd").await.unwrap();
    assert_eq!(br.headers()["content-encoding"], "br");
    assert_eq!(br.headers()["vary"], "Accept-Encoding");
    let br = br.bytes().await.unwrap();
    assert!(
        br.len() < zipped.len(),
        "{} vs gzip {}",
        br.len(),
        zipped.len()
    );
    let mut back = Vec::new();
    std::io::Read::read_to_end(&mut brotli::Decompressor::new(&br[..], 4096), &mut back).unwrap();
    assert_eq!(back, plain);
    let refused = get(&css, "gzip, br;q=0").await.unwrap();
    assert_eq!(refused.headers()["content-encoding"], "gzip");
    let again = t
        .client
        .get(format!("{}{css}", t.base))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let short = get("/static/kith.css", "identity").await.unwrap();
    assert_eq!(short.headers()["cache-control"], "public, max-age=3600");
    assert_eq!(short.bytes().await.unwrap(), plain);
    let stale = get("/static/kith.0000000000.css", "identity")
        .await
        .unwrap();
    assert_eq!(stale.status(), 404);
    // An unknown page is the error page in the page's words (checked at the top).
    assert!(b.get("/no-such-page").await.expect(404).has("页面不存在"));
}

/// An error is a page of the site, not a dead end: a signed-in member who opens an order
/// that does not exist, or mistypes an address, still sees the header with their name and
/// the tab bar, the reason in Chinese, and a link back to the page they came from.
async fn error_pages_keep_the_frame_and_a_way_back(t: TestApp) {
    let member = t.register_member("迷路的小周").await;
    let mut b = Browser::login(&t, &member.login).await;
    let from = format!("{}/orders", t.base);
    let missing = format!(
        "{}/orders/{}",
        t.base, "0b6e4c1e-5d0a-4c3b-9f1e-2a7d6c5b4a39"
    );
    for (url, words) in [
        (missing.as_str(), "订单不存在"),
        (&format!("{}/shopz/nothing-here", t.base), "页面不存在"),
    ] {
        let page = b
            .send(
                b.client
                    .get(url)
                    .header("accept", "text/html")
                    .header("referer", &from),
            )
            .await
            .expect(404);
        assert!(page.has(words), "{}", page.body);
        assert_eq!(page.text_of("who"), "迷路的小周", "{}", page.body);
        assert!(page.has("class=\"tabbar\""), "{}", page.body);
        assert!(
            page.has("href=\"/orders\" id=\"error-back\""),
            "{}",
            page.body
        );
        assert!(page.has("id=\"error-home\""), "{}", page.body);
    }
    // A form's address opened as a page: the framed page, not the router's bare 405.
    let opened = b
        .send(
            b.client
                .get(format!(
                    "{}/posts/{}/like",
                    t.base, "0b6e4c1e-5d0a-4c3b-9f1e-2a7d6c5b4a39"
                ))
                .header("accept", "text/html")
                .header("referer", &from),
        )
        .await
        .expect(405);
    assert!(
        opened.has("只接受页面上的表单提交") && opened.has("id=\"error-back\""),
        "{}",
        opened.body
    );
    assert_eq!(opened.text_of("who"), "迷路的小周");
    // A referer from elsewhere is no way back; a visitor's error page has the sign-in link.
    let mut anon = Browser::new(&t);
    let page = anon
        .send(
            anon.client
                .get(&missing)
                .header("referer", "https://evil.example/orders"),
        )
        .await;
    assert!(page.status == 404 || page.status == 303, "{}", page.status);
    let lost = anon
        .send(
            anon.client
                .get(format!("{}/shopz/x", t.base))
                .header("accept", "text/html")
                .header("referer", "https://evil.example/orders"),
        )
        .await
        .expect(404);
    assert!(!lost.has("error-back"), "{}", lost.body);
    assert!(lost.has("id=\"nav-login\""), "{}", lost.body);
}

async fn posts_communities_and_the_catalog_through_the_pages(t: TestApp) {
    let s = winery(&t).await;
    let mut owner = Browser::login(&t, &s.owner.login).await;

    // The merchant builds a product in the console: create, add a SKU, set the tier price,
    // stock the warehouse, put it on sale.
    let products = format!("/console/{}/products", s.merchant);
    let p = owner
        .submit(
            &products,
            &products,
            &[("name", "品鉴小酒"), ("description", "100ml 小瓶")],
        )
        .await
        .expect(303);
    // The product's page, saying it was created.
    let (product_page, done) = p
        .location()
        .split_once('?')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .unwrap();
    assert_eq!(done, "done=created");
    let pid = product_page.rsplit('/').next().unwrap().to_owned();
    owner
        .submit(
            &product_page,
            &format!("{product_page}/skus"),
            &[("code", "JX-MINI"), ("spec", "100ml"), ("price", "39")],
        )
        .await
        .expect(303);
    // A price that is not money is refused, naming the field.
    let bad = owner
        .submit(
            &product_page,
            &format!("{product_page}/skus"),
            &[("code", "JX-MINI2"), ("price", "3.999")],
        )
        .await
        .expect(422);
    // Drawn again on the product page, beside the price field, in words without its name.
    let said = bad.text_of("refusal-msg");
    assert!(
        said.contains("请填写金额（元），最多两位小数") && !said.contains("price"),
        "{}",
        bad.body
    );
    let page = owner.get(&product_page).await.expect(200);
    let sku = sku_of(&page.body);
    let loc_key = "name=\"location_id\" value=\"";
    let at = page.body.find(loc_key).expect("a stock row") + loc_key.len();
    let location = page.body[at..].split('"').next().unwrap().to_owned();
    owner
        .submit(
            &product_page,
            &format!("{product_page}/prices"),
            &[
                ("sku_id", &sku),
                ("tier", "shareholder"),
                ("price", "32.50"),
            ],
        )
        .await
        .expect(303);
    owner
        .submit(
            &product_page,
            &format!("{product_page}/stock"),
            &[
                ("sku_id", &sku),
                ("location_id", &location),
                ("delta", "12"),
            ],
        )
        .await
        .expect(303);
    owner
        .submit(
            &product_page,
            &format!("{product_page}/status"),
            &[("status", "active")],
        )
        .await
        .expect(303);
    let api = t
        .get(
            &format!("/api/v1/merchants/{}/products/{pid}", s.merchant),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(api["status"], "active");
    assert_eq!(api["skus"][0]["list_price_fen"], 3900);
    assert_eq!(api["skus"][0]["tier_prices"][0]["price_fen"], 3250);
    let page = owner.get(&product_page).await.expect(200);
    assert!(
        page.body.contains("<td>12</td>"),
        "stock shown: {}",
        page.body
    );

    // The shareholder sees ¥32.50 on the product page.
    let u = shareholder(&t, &s).await;
    let mut b = Browser::login(&t, &u.login).await;
    let page = b
        .get(&format!("/shops/{}/products/{pid}", s.merchant))
        .await
        .expect(200);
    assert!(page.body.contains("¥32.50") && page.body.contains("¥39.00"));
    // One SKU: its own form is the buy bar. A second SKU: the bar chooses between them.
    assert!(page.has("id=\"buy-bar\"") && !page.has("buy-bar-multi"));
    owner
        .submit(
            &product_page,
            &format!("{product_page}/skus"),
            &[("code", "JX-MAXI"), ("spec", "1L"), ("price", "299")],
        )
        .await
        .expect(303);
    let page = b
        .get(&format!("/shops/{}/products/{pid}", s.merchant))
        .await
        .expect(200);
    let bar = &page.body[page.body.find("id=\"buy-bar\"").expect("the bar")..];
    let bar = &bar[..bar.find("</form>").expect("its end")];
    assert!(
        page.has("buy-bar-multi") && bar.contains("100ml · ¥32.50") && bar.contains("1L · ¥299.00"),
        "{bar}"
    );

    // Topping up on the member's page goes through the sandbox gateway's page.
    let p = b
        .submit("/me", "/me/topup", &[("amount", "100.50")])
        .await
        .expect(303);
    let pay = p.location();
    assert!(pay.starts_with("/sandbox/pay/"), "{pay}");
    let status = t
        .confirm_on_sandbox(pay.trim_start_matches("/sandbox/pay/"), "succeeded")
        .await;
    assert!(matches!(status, 200 | 303), "{status}");
    let wallet = t.get("/api/v1/me/wallet", Some(&u.token)).await.expect(200);
    assert_eq!(wallet["balance_fen"], 300_000 + 10_050);
    assert!(b.get("/me").await.expect(200).body.contains("¥3100.50"));
    b.submit("/me", "/me/topup", &[("amount", "abc")])
        .await
        .expect(422);

    // The merchant's community: joined from the communities page.
    let community = t
        .post(
            "/api/v1/communities",
            Some(&s.owner.token),
            json!({ "name": "酱香品鉴群", "description": "品鉴", "tags": ["白酒"], "join_policy": "open", "merchant_id": s.merchant }),
        )
        .await
        .expect(201);
    let cid = community["id"].as_str().unwrap().to_owned();
    assert!(
        b.get("/communities")
            .await
            .expect(200)
            .body
            .contains("酱香品鉴群")
    );
    b.submit("/communities", &format!("/communities/{cid}/join"), &[])
        .await
        .expect(303);
    assert!(
        b.get(&format!("/communities/{cid}"))
            .await
            .expect(200)
            .body
            .contains("酱香品鉴群")
    );
    assert!(
        owner
            .get(&format!("/console/{}/communities", s.merchant))
            .await
            .expect(200)
            .body
            .contains("酱香品鉴群")
    );

    // The composer: a post with an image and the tagged product, into the community.
    let csrf = b.get("/compose").await.expect(200).csrf();
    let png = crate::worlds::small_png(7);
    let p = b
        .post_multipart(
            "/compose",
            &[
                ("csrf", &csrf),
                ("body", "第一次喝酱香，小酒版刚好"),
                ("visibility", "community"),
                ("community_id", &cid),
                ("tag", &sku),
            ],
            Some(("image", &png)),
        )
        .await
        .expect(303);
    let post_path = p.location();
    let post_id = post_path.trim_start_matches("/posts/").to_owned();
    let post = t
        .get(&format!("/api/v1/posts/{post_id}"), Some(&u.token))
        .await
        .expect(200);
    assert_eq!(post["images"].as_array().unwrap().len(), 1);
    assert_eq!(post["tags"][0]["sku_id"], sku.as_str());
    assert_eq!(post["community_id"], cid.as_str());
    // Without the token the composer refuses, and nothing is posted.
    b.post_multipart("/compose", &[("body", "伪造")], None)
        .await
        .expect(403);
    // The post page: like it, comment on it; the tag links to the product.
    let page = b.get(&post_path).await.expect(200);
    assert!(
        page.body
            .contains(&format!("/shops/{}/skus/{sku}", s.merchant))
    );
    let p = b
        .get(&format!("/shops/{}/skus/{sku}", s.merchant))
        .await
        .expect(303);
    assert_eq!(
        p.location(),
        format!("/shops/{}/products/{pid}", s.merchant)
    );
    b.submit(
        &post_path,
        &format!("{post_path}/like"),
        &[("back", "//evil.example/")],
    )
    .await
    .expect(303);
    b.submit(
        &post_path,
        &format!("{post_path}/comments"),
        &[("body", "好喝！")],
    )
    .await
    .expect(303);
    let page = b.get(&post_path).await.expect(200);
    assert!(page.body.contains("好喝！"));
    let post = t
        .get(&format!("/api/v1/posts/{post_id}"), Some(&u.token))
        .await
        .expect(200);
    assert_eq!(post["like_count"], 1);
    assert_eq!(post["comment_count"], 1);
    // An empty comment is refused, naming the field.
    let p = b
        .submit(
            &post_path,
            &format!("{post_path}/comments"),
            &[("body", "")],
        )
        .await
        .expect(422);
    assert!(p.body.contains("body"));

    // A new store from the stores page; a latitude that is not a number is refused.
    let stores = format!("/console/{}/stores", s.merchant);
    owner
        .submit(
            &stores,
            &stores,
            &[
                ("name", "仁怀旗舰店"),
                ("address", "贵州省遵义市仁怀市茅台镇国酒路 6 号"),
                ("latitude", "27.849"),
                ("longitude", "106.376"),
                ("opens", "09:00"),
                ("closes", "20:00"),
            ],
        )
        .await
        .expect(303);
    let p = owner
        .submit(
            &stores,
            &stores,
            &[
                ("name", "坏店"),
                ("address", "某处"),
                ("latitude", "north"),
                ("longitude", "1"),
            ],
        )
        .await
        .expect(422);
    // Said beside the latitude field, in words without its name.
    let said = p.text_of("refusal-msg");
    assert!(!said.is_empty() && !said.contains("latitude"), "{}", p.body);
    let list = t
        .get(
            &format!("/api/v1/merchants/{}/stores", s.merchant),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    let made = list
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["name"] == "仁怀旗舰店")
        .expect("the new store");
    assert_eq!(made["opening_hours"].as_array().unwrap().len(), 7);

    // A new clerk: invited on the stores page, accepted on their own page.
    let page = owner.get(&stores).await.expect(200);
    let key = format!("action=\"/console/{}/stores/", s.merchant);
    let at = page.body.find(&key).expect("invite form") + key.len();
    let store_id = page.body[at..].split('/').next().unwrap().to_owned();
    let p = owner
        .submit(&stores, &format!("{stores}/{store_id}/clerks"), &[])
        .await
        .expect(200);
    let key = "id=\"invite-code\">";
    let at = p.body.find(key).expect("the code is shown once") + key.len();
    let code = p.body[at..].split('<').next().unwrap().to_owned();
    let newbie = t.register_member("新店员").await;
    let mut c = Browser::login(&t, &newbie.login).await;
    let p = c
        .submit("/me", "/me/invitations", &[("code", &code)])
        .await
        .expect(303);
    assert_eq!(p.location(), format!("/clerk/{store_id}"));
    c.get(&p.location()).await.expect(200);
}

async fn buyer_cancels_and_merchant_refunds_through_the_pages(t: TestApp) {
    let s = winery(&t).await;
    let u = shareholder(&t, &s).await;
    let mut b = Browser::login(&t, &u.login).await;
    let product_path = format!("/shops/{}/products/{}", s.merchant, s.product);
    let sku = sku_of(&b.get(&product_path).await.expect(200).body);
    // The buyer cancels an unpaid order from its page.
    let first = pickup_order(&mut b, &s, &product_path, &sku).await;
    b.submit(&first, &format!("{first}/cancel"), &[])
        .await
        .expect(303);
    let id = first.trim_start_matches("/orders/");
    assert_eq!(api_order(&t, &u, id).await["status"], "cancelled");
    // Paying a cancelled order is refused with the order's state.
    b.submit(&first, &format!("{first}/pay"), &[("provider", "wallet")])
        .await
        .expect(409);

    // The merchant refunds a paid order in full from the console; the money is back.
    let second = pickup_order(&mut b, &s, &product_path, &sku).await;
    b.submit(&second, &format!("{second}/pay"), &[("provider", "wallet")])
        .await
        .expect(303);
    let id = second.trim_start_matches("/orders/").to_owned();
    let mut owner = Browser::login(&t, &s.owner.login).await;
    let console_order = format!("/console/{}/orders/{id}", s.merchant);
    // A refund needs a reason.
    owner
        .submit(
            &console_order,
            &format!("{console_order}/refund"),
            &[("reason", "")],
        )
        .await
        .expect(422);
    owner
        .submit(
            &console_order,
            &format!("{console_order}/refund"),
            &[("reason", "买家拍错了")],
        )
        .await
        .expect(303);
    let o = api_order(&t, &u, &id).await;
    assert_eq!(o["status"], "refunded");
    assert_eq!(o["refunded_fen"], 49900);
    let wallet = t.get("/api/v1/me/wallet", Some(&u.token)).await.expect(200);
    assert_eq!(wallet["balance_fen"], 300_000);
    assert!(b.get(&second).await.expect(200).body.contains("已退款"));
    // The console of a merchant one is not staff of is refused.
    let other = t.approved_merchant("别家").await;
    owner
        .get(&format!("/console/{}/orders/{id}", other.1))
        .await
        .expect(403);
}

/// Puts one of `sku` in the cart and checks out for pickup: the new order's path.
async fn pickup_order(b: &mut Browser<'_>, s: &Shop, product_path: &str, sku: &str) -> String {
    let cart = format!("/shops/{}/cart", s.merchant);
    b.submit(product_path, &cart, &[("sku_id", sku), ("quantity", "1")])
        .await
        .expect(303);
    b.submit(
        &cart,
        &format!("/shops/{}/checkout", s.merchant),
        &[
            ("delivery", "pickup"),
            ("pickup_store_id", &s.pickup().store),
        ],
    )
    .await
    .expect(303)
    .location()
}

async fn search_and_social_proof_through_the_pages(t: TestApp) {
    let s = winery(&t).await;
    let me = shareholder(&t, &s).await;
    let friend = shareholder(&t, &s).await;
    for (a, b) in [(&me, &friend), (&friend, &me)] {
        t.post(
            &format!("/api/v1/accounts/{}/follow", b.id),
            Some(&a.token),
            json!({}),
        )
        .await
        .expect(204);
    }
    // The friend buys the product and writes about dieting.
    let mut fb = Browser::login(&t, &friend.login).await;
    let product_path = format!("/shops/{}/products/{}", s.merchant, s.product);
    let sku = sku_of(&fb.get(&product_path).await.expect(200).body);
    let order = pickup_order(&mut fb, &s, &product_path, &sku).await;
    fb.submit(&order, &format!("{order}/pay"), &[("provider", "wallet")])
        .await
        .expect(303);
    t.post(
        "/api/v1/posts",
        Some(&friend.token),
        json!({ "body": "减肥第十天，晚饭只吃沙拉", "visibility": "friends" }),
    )
    .await
    .expect(201);

    // The product page shows that a friend bought it.
    let mut b = Browser::login(&t, &me.login).await;
    let page = b.get(&product_path).await.expect(200);
    assert!(page.body.contains("1 位好友买过"), "{}", page.body);
    let page = b.get(&format!("{product_path}?lang=en")).await.expect(200);
    assert!(page.body.contains("1 friend bought this"));
    b.get("/?lang=zh").await.expect(200);

    // Search among friends finds the post (the index catches up from the outbox) and the
    // "who" view names the friend.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let page = loop {
        let p = b
            .get("/search?q=%E5%87%8F%E8%82%A5&scope=friends&type=posts")
            .await
            .expect(200);
        if p.body.contains("晚饭只吃沙拉") {
            break p;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not indexed in time: {}",
            p.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let at = page.body.find("id=\"who-view\"").expect("the who view");
    let who = page.body[at..].split("</div>").next().unwrap();
    assert!(
        who.contains("王小美") && who.contains("好友") && who.contains("晚饭只吃沙拉"),
        "{who}"
    );
    // The empty search shows just the form; a bad scope is refused naming it.
    let p = b.get("/search").await.expect(200);
    assert!(p.body.contains("name=\"q\""));
    let p = b.get("/search?q=x&scope=galaxy").await.expect(422);
    assert!(p.body.contains("请从给出的选项中选择"), "{}", p.body);
}
