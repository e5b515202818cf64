//! The member app's money-sharing and social pages over plain HTTP, as a browser without
//! JavaScript uses them, on both engines: the commission wallet with its statement and
//! withdrawals (a refusal shown on the form), the team and share-link funnels; the share
//! button with the link's QR code and the landing of a share link; content credit from a
//! product tagged in a post; editing and deleting one's own post (refused on another's);
//! threaded replies; community announcements and invite links. Another member never
//! reaches someone's wallet, links or commission.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::both_engines;
use crate::builders::Shop;
use crate::harness::{PASSWORD, TestApp, User};
use crate::web::{Browser, Page};
use crate::worlds::{balances, earn_available, standard_plan};

both_engines!(
    wallet_statement_and_withdrawals_through_the_pages,
    share_button_qr_code_and_landing,
    tagged_product_from_a_post_credits_its_author,
    posts_are_edited_deleted_and_replied_to_through_the_pages,
    community_announcements_and_invite_links_through_the_pages,
    group_buy_links_land_on_their_group,
);

/// The share links of `who` with their funnels, through the API.
async fn funnel(t: &TestApp, who: &User) -> Value {
    t.get(
        &format!("/api/v1/distributors/{}/share-links", who.id),
        Some(&who.token),
    )
    .await
    .expect(200)
}

/// The `<svg …>…</svg>` in a page.
fn svg_of(body: &str) -> &str {
    let from = body.find("<svg").expect("an inline svg");
    let to = body[from..].find("</svg>").expect("a closed svg") + from + "</svg>".len();
    &body[from..to]
}

/// The dark modules an SVG QR code draws (`M{x} {y}h1v1…` per module), as (x, y).
fn drawn_modules(svg: &str) -> BTreeSet<(usize, usize)> {
    let d = svg
        .split(" d=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a path");
    d.split('M')
        .filter(|m| !m.is_empty())
        .map(|m| {
            let mut nums = m
                .split(|ch: char| !ch.is_ascii_digit())
                .filter(|n| !n.is_empty())
                .map(|n| n.parse::<usize>().expect("number"));
            let (x, y) = (nums.next().expect("x"), nums.next().expect("y"));
            assert!(m.contains("h1v1"), "one module per move: {m}");
            (x, y)
        })
        .collect()
}

/// The dark modules of `text`'s QR code, offset by the 4-module quiet zone.
fn expected_modules(text: &str) -> BTreeSet<(usize, usize)> {
    let code = kith_web::qrcode::QrCode::new(text.as_bytes()).expect("qr");
    let w = code.width();
    code.to_colors()
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == kith_web::qrcode::Color::Dark)
        .map(|(i, _)| (i % w + 4, i / w + 4))
        .collect()
}

async fn wallet_statement_and_withdrawals_through_the_pages(t: TestApp) {
    let s = t.shop().plan(json!({ "levels_bp": [1000, 500], "withdraw_min_fen": 1_000, "withdraw_daily_limit_fen": 1_000_000 })).build().await;
    let b = t.register_member("钱包主人").await;
    earn_available(&t, &s, &b, 5_000).await;
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 5_000, 0));

    let mut br = Browser::login_user(&t, &b).await;
    assert!(br.get("/me").await.expect(200).has("href=\"/me/wallet\""));
    let w = br.get("/me/wallet").await.expect(200);
    assert!(
        w.has(&format!("id=\"wallet-{}\"", s.merchant)),
        "{}",
        w.body
    );
    assert!(w.has("class=\"available price\">¥50.00<"), "{}", w.body);
    assert!(w.has("class=\"pending\">¥0.00<"));
    // The statement is one line per order: what it bought, where the money stands, what the
    // member earns from it; linked to the order's commission.
    assert!(
        w.has("class=\"goods\">高山红茶 ×5</a> <span class=\"badge share-state\">可提现</span>"),
        "{}",
        w.body
    );
    assert!(
        w.has("<span class=\"price\">¥50.00</span></li>"),
        "{}",
        w.body
    );
    let key = "href=\"/me/commissions/";
    let at = w.body.find(key).expect("a line linked to its order") + key.len();
    let oid = w.body[at..].split('"').next().unwrap().to_owned();
    let oc = br.get(&format!("/me/commissions/{oid}")).await.expect(200);
    assert!(oc.has("直接推广") && oc.has("¥50.00"), "{}", oc.body);

    // A withdrawal within the balance: requested, shown with its state.
    let p = br
        .submit(
            "/me/wallet",
            "/me/wallet/withdrawals",
            &[("merchant_id", &s.merchant), ("amount", "20")],
        )
        .await
        .expect(303);
    assert_eq!(p.location(), "/me/wallet");
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 3_000, 2_000));
    let w = br.get("/me/wallet").await.expect(200);
    assert!(w.has("class=\"withdrawing\">¥20.00<"), "{}", w.body);
    assert!(w.has("审核中"));
    let listed = t
        .get(
            &format!("/api/v1/distributors/{}/withdrawals", b.id),
            Some(&b.token),
        )
        .await
        .expect(200);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(w.has(&format!(
        "id=\"withdrawal-{}\"",
        listed[0]["id"].as_str().unwrap()
    )));

    // Refusals are shown beside the form in Chinese, with the shop's own figures, and
    // change nothing.
    let p = br
        .submit(
            "/me/wallet",
            "/me/wallet/withdrawals",
            &[("merchant_id", &s.merchant), ("amount", "5")],
        )
        .await
        .expect(422);
    assert!(p.has("id=\"withdraw-error\""), "{}", p.body);
    assert!(p.has("最低提现金额为 ¥10.00"), "{}", p.body);
    assert!(
        p.has("aria-invalid=\"true\" aria-describedby=\"withdraw-error\""),
        "{}",
        p.body
    );
    assert!(p.has("value=\"5\""), "the amount typed stays in the form");
    let p = br
        .submit(
            "/me/wallet",
            "/me/wallet/withdrawals",
            &[("merchant_id", &s.merchant), ("amount", "1000")],
        )
        .await
        .expect(409);
    assert!(p.has("可提现余额不足"), "{}", p.body);
    let p = br
        .submit(
            "/me/wallet",
            "/me/wallet/withdrawals",
            &[("merchant_id", &s.merchant), ("amount", "abc")],
        )
        .await
        .expect(422);
    assert!(
        p.has("提现金额请填写数字") && p.has("value=\"abc\""),
        "{}",
        p.body
    );
    // Without the session's token: refused.
    br.post(
        "/me/wallet/withdrawals",
        &[("merchant_id", &s.merchant), ("amount", "10")],
    )
    .await
    .expect(403);
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 3_000, 2_000));

    // My team: the customer bound through my link, my earnings, the link's funnel.
    let team = br.get("/me/team").await.expect(200);
    assert!(team.has("顾客"), "{}", team.body);
    assert!(team.has(&format!("id=\"team-{}\"", s.merchant)));
    assert!(team.has("¥50.00"));
    let f = funnel(&t, &b).await;
    let code = f[0]["link"]["code"].as_str().unwrap();
    assert!(team.has(&format!("href=\"/me/links/{code}\"")));
    assert!(team.has("class=\"signups\">1<") && team.has("class=\"orders\">1<"));

    // Someone else sees only their own (empty) wallet, never this one.
    let x = t.register_member("旁人").await;
    let mut xb = Browser::login_user(&t, &x).await;
    let xw = xb.get("/me/wallet").await.expect(200);
    assert!(xw.has("id=\"no-wallets\""));
    assert!(!xw.has(&s.merchant));
    xb.get(&format!("/me/commissions/{oid}")).await.expect(404);
    xb.get(&format!("/me/links/{code}")).await.expect(404);
    assert!(!xb.get("/me/team").await.expect(200).has("顾客"));
    // Withdrawing from someone else's wallet is not possible: the form names no member,
    // and x has nothing there.
    xb.submit(
        "/me/wallet",
        "/me/wallet/withdrawals",
        &[("merchant_id", &s.merchant), ("amount", "10")],
    )
    .await
    .expect(409);
    assert_eq!(balances(&t, &b, &s.merchant).await, (0, 0, 3_000, 2_000));
    // Anonymous: to the login page.
    let mut anon = Browser::new(&t);
    for path in ["/me/wallet", "/me/team", &format!("/me/commissions/{oid}")] {
        let p = anon.get(path).await.expect(303);
        assert!(p.location().starts_with("/login?next="), "{path}");
    }

    // A long statement pages on, ten orders a page: a buyer the member referred orders
    // twelve more times (each paid order books the member's 10 %: pending).
    let (_, code) = crate::worlds::product_link(&t, &s, &b).await;
    let referred = crate::worlds::signup_via(&t, &code, "回头客").await;
    for _ in 0..12 {
        t.order(&s, &referred).paid().await;
    }
    let lines = |p: &Page| {
        p.body
            .matches("<li class=\"row between order-line\">")
            .count()
    };
    let first = br.get("/me/wallet").await.expect(200);
    assert_eq!(lines(&first), 10);
    assert!(
        first
            .has("class=\"goods\">高山红茶 ×1</a> <span class=\"badge share-state\">待确认</span>")
            && first.has("<span class=\"price\">¥10.00</span></li>"),
        "{}",
        first.body
    );
    let key = "class=\"more-lines\" href=\"";
    let at = first.body.find(key).expect("a link to older lines") + key.len();
    let more = first.body[at..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert!(more.starts_with("/me/wallet?merchant="), "{more}");
    let second = br.get(&more).await.expect(200);
    assert_eq!(lines(&second), 3);
    assert!(!second.has("class=\"more-lines\""));
    assert!(
        br.get("/me/wallet?lang=en")
            .await
            .expect(200)
            .has("Commission wallet")
    );
}

async fn share_button_qr_code_and_landing(t: TestApp) {
    let s: Shop = t.shop().plan(standard_plan()).build().await;
    let a = t.register_member("分享达人").await;
    let mut ab = Browser::login_user(&t, &a).await;
    let product_page = format!("/shops/{}/products/{}", s.merchant, s.product);
    assert!(
        ab.get(&product_page)
            .await
            .expect(200)
            .has("action=\"/share\"")
    );
    let p = ab
        .submit(
            &product_page,
            "/share",
            &[("kind", "product"), ("target_id", &s.product)],
        )
        .await
        .expect(303);
    let share_page = p.location();
    let code = share_page
        .strip_prefix("/me/links/")
        .expect("the share page")
        .to_owned();
    // Sharing again re-uses the link.
    let again = ab
        .submit(
            &product_page,
            "/share",
            &[("kind", "product"), ("target_id", &s.product)],
        )
        .await
        .expect(303);
    assert_eq!(again.location(), share_page);
    assert_eq!(funnel(&t, &a).await.as_array().unwrap().len(), 1);

    // The page shows the absolute link and its QR code, drawn from exactly that link.
    let page = ab.get(&share_page).await.expect(200);
    let url = format!("{}/s/{code}", t.base);
    assert!(page.has(&format!("value=\"{url}\"")), "{}", page.body);
    let svg = svg_of(&page.body);
    assert!(!svg.contains("style="), "the CSP allows no inline style");
    let drawn = drawn_modules(svg);
    assert!(!drawn.is_empty());
    assert_eq!(
        drawn,
        expected_modules(&url),
        "the QR code encodes the link"
    );
    assert_ne!(drawn, expected_modules(&format!("{url}x")));
    assert!(page.has(&format!("href=\"{product_page}\"")));
    // The product's poster (分享海报): its name and price over the sharer and the same QR
    // code, to save and post.
    let poster = &page.body[page.body.find("id=\"share-poster\"").expect("a poster")..];
    assert!(
        poster.contains("高山红茶")
            && poster.contains("¥100.00")
            && poster.contains("长按识别二维码"),
        "{poster}"
    );
    assert_eq!(drawn_modules(svg_of(poster)), expected_modules(&url));

    // An anonymous visitor lands: the visit is counted, and they read the product with
    // who shared it, offered to sign up through the link (or log in) to buy.
    let mut anon = Browser::new(&t);
    let p = anon.get(&format!("/s/{code}")).await.expect(303);
    assert_eq!(p.location(), format!("{product_page}?via={code}"));
    assert_eq!(funnel(&t, &a).await[0]["visits"], 1);
    let join = format!("/s/{code}/join?next={}", product_page.replace('/', "%2F"));
    let read = anon.get(&p.location()).await.expect(200);
    assert!(
        read.has("id=\"shared-by\"") && read.has("分享达人"),
        "{}",
        read.body
    );
    assert!(read.has(&format!("href=\"{join}\"")), "{}", read.body);
    assert!(read.has(&format!("href=\"/login?next=/s/{code}\"")));
    // A signed-in visitor lands, and is bound to the sharer at the shop.
    let b = t.register_member("朋友").await;
    let mut bb = Browser::login_user(&t, &b).await;
    assert_eq!(
        bb.get(&format!("/s/{code}")).await.expect(303).location(),
        product_page
    );
    assert_eq!(funnel(&t, &a).await[0]["visits"], 2);
    let refs = t
        .get("/api/v1/me/referrers", Some(&b.token))
        .await
        .expect(200);
    assert_eq!(refs[0]["referrer_id"], a.id.as_str());
    assert_eq!(refs[0]["merchant_id"], s.merchant.as_str());
    // The team page counts the visits.
    assert!(
        ab.get("/me/team")
            .await
            .expect(200)
            .has("class=\"visits\">2<")
    );
    // The newcomer signs up through the link: signed in, bound to the sharer, counted.
    let mut newcomer = Browser::new(&t);
    let landing = newcomer.get(&join).await.expect(200);
    assert!(landing.has(&format!("action=\"/s/{code}/join\"")));
    assert!(landing.has(&format!("href=\"/login?next=%2Fs%2F{code}\"")));
    // The landing shows what was shared and by whom.
    assert!(
        landing.has("id=\"shared-preview\"") && landing.has("分享达人"),
        "{}",
        landing.body
    );
    let phone = crate::harness::next_phone();
    let p = newcomer
        .post(
            &format!("/s/{code}/join"),
            &[
                ("display_name", "新来的"),
                ("phone", &phone),
                ("password", PASSWORD),
                ("next", &product_page),
            ],
        )
        .await
        .expect(303);
    assert_eq!(p.location(), product_page);
    assert!(newcomer.cookie.is_some(), "signed in");
    newcomer.get(&product_page).await.expect(200);
    let f = funnel(&t, &a).await;
    assert_eq!(
        (f[0]["visits"].as_i64(), f[0]["signups"].as_i64()),
        (Some(3), Some(1))
    );
    let s2 = t.login(&phone, PASSWORD).await.expect(201);
    let refs = t
        .get("/api/v1/me/referrers", s2["token"].as_str())
        .await
        .expect(200);
    assert_eq!(refs[0]["referrer_id"], a.id.as_str());
    // A taken phone number is refused on the landing, beside the number, in the page's
    // words (409: on this server sign-ups do not prove their number first).
    let again = Browser::new(&t)
        .post(
            &format!("/s/{code}/join"),
            &[
                ("display_name", "重复的"),
                ("phone", &phone),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await
        .expect(409);
    assert!(again.has("id=\"phone-error\""), "{}", again.body);
    assert!(again.has("这个手机号已注册"), "{}", again.body);
    assert!(again.has("value=\"重复的\""), "what was typed is kept");
    assert_eq!(funnel(&t, &a).await[0]["signups"], 1);

    // Another member cannot open my share page; an unknown code lands nowhere.
    bb.get(&share_page).await.expect(404);
    anon.get("/s/zzzzzzzzzz").await.expect(404);
    anon.get(&share_page).await.expect(303);

    // Posts and communities are shared the same way and land on themselves.
    let post = t
        .post(
            "/api/v1/posts",
            Some(&a.token),
            json!({ "body": "红茶冲泡心得", "visibility": "public" }),
        )
        .await
        .expect(201);
    let pid = post["id"].as_str().unwrap().to_owned();
    let post_page = format!("/posts/{pid}");
    let p = ab
        .submit(
            &post_page,
            "/share",
            &[("kind", "post"), ("target_id", &pid)],
        )
        .await
        .expect(303);
    let post_code = p.location().trim_start_matches("/me/links/").to_owned();
    assert_ne!(post_code, code);
    assert_eq!(
        anon.get(&format!("/s/{post_code}"))
            .await
            .expect(303)
            .location(),
        post_page
    );
    let cm = t
        .post(
            "/api/v1/communities",
            Some(&s.owner.token),
            json!({ "name": "红茶爱好者", "description": "", "tags": [], "join_policy": "open", "merchant_id": s.merchant }),
        )
        .await
        .expect(201);
    let cid = cm["id"].as_str().unwrap().to_owned();
    let p = ab
        .submit(
            &format!("/communities/{cid}"),
            "/share",
            &[("kind", "community"), ("target_id", &cid)],
        )
        .await
        .expect(303);
    let cm_code = p.location().trim_start_matches("/me/links/").to_owned();
    assert_eq!(
        bb.get(&format!("/s/{cm_code}"))
            .await
            .expect(303)
            .location(),
        format!("/communities/{cid}")
    );
    assert!(
        anon.get(&format!("/s/{cm_code}"))
            .await
            .expect(303)
            .location()
            .starts_with(&format!("/s/{cm_code}/join?next="))
    );
    // Bad shares are refused and make nothing.
    ab.submit(
        &product_page,
        "/share",
        &[("kind", "group_buy"), ("target_id", &s.product)],
    )
    .await
    .expect(422);
    ab.submit(
        &product_page,
        "/share",
        &[("kind", "product"), ("target_id", "nope")],
    )
    .await
    .expect(422);
    assert_eq!(funnel(&t, &a).await.as_array().unwrap().len(), 3);
}

async fn tagged_product_from_a_post_credits_its_author(t: TestApp) {
    let s = t.shop().plan(standard_plan()).build().await;
    let author = t.register_member("种草作者").await;
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
    assert_eq!(funnel(&t, &author).await.as_array().unwrap().len(), 0);

    let mut rb = Browser::login_user(&t, &reader).await;
    let tag = format!("/shops/{}/skus/{}?post={pid}", s.merchant, s.sku);
    let page = rb.get(&format!("/posts/{pid}")).await.expect(200);
    assert!(page.has(&format!("href=\"{tag}\"")), "{}", page.body);
    // The feed's card links the same way.
    let p = rb.get(&tag).await.expect(303);
    assert_eq!(
        p.location(),
        format!("/shops/{}/products/{}", s.merchant, s.product)
    );
    // The author's post now acts as their link, with the reader's visit counted.
    let f = funnel(&t, &author).await;
    assert_eq!(f[0]["link"]["kind"], "post");
    assert_eq!(f[0]["link"]["target_id"], pid.as_str());
    assert_eq!(f[0]["link"]["merchants"][0]["channel"], "content");
    assert_eq!(f[0]["visits"], 1);

    // The reader buys: the order is the author's content credit.
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
    assert_eq!(funnel(&t, &author).await[0]["orders"], 1);
    // The author's wallet page shows the pending commission.
    let mut ab = Browser::login_user(&t, &author).await;
    assert!(
        ab.get("/me/wallet")
            .await
            .expect(200)
            .has("class=\"pending\">¥10.00<")
    );
    // A post the reader cannot see credits no one: the reader still reaches the product
    // (exactly as for a post that does not exist), and nothing is counted.
    let hidden = t
        .post(
            "/api/v1/posts",
            Some(&author.token),
            json!({ "body": "只给好友看", "visibility": "friends", "tags": [s.sku] }),
        )
        .await
        .expect(201);
    let hid = hidden["id"].as_str().unwrap();
    let p = rb
        .get(&format!("/shops/{}/skus/{}?post={hid}", s.merchant, s.sku))
        .await
        .expect(303);
    assert_eq!(
        p.location(),
        format!("/shops/{}/products/{}", s.merchant, s.product)
    );
    assert_eq!(funnel(&t, &author).await.as_array().unwrap().len(), 1);
}

async fn posts_are_edited_deleted_and_replied_to_through_the_pages(t: TestApp) {
    let a = t.register_member("作者阿杰").await;
    let b = t.register_member("读者小白").await;
    let post = t
        .post(
            "/api/v1/posts",
            Some(&a.token),
            json!({ "body": "第一次写笔记", "visibility": "public" }),
        )
        .await
        .expect(201);
    let pid = post["id"].as_str().unwrap().to_owned();
    let post_page = format!("/posts/{pid}");
    let edit_page = format!("{post_page}/edit");

    let mut ab = Browser::login_user(&t, &a).await;
    assert!(ab.get(&post_page).await.expect(200).has("id=\"edit-post\""));
    let form = ab.get(&edit_page).await.expect(200);
    assert!(form.has("第一次写笔记"));
    let p = ab
        .submit(
            &edit_page,
            &format!("{post_page}/edit"),
            &[
                ("body", "改过的笔记：红茶要用 90 度水"),
                ("visibility", "public"),
            ],
        )
        .await
        .expect(303);
    assert_eq!(p.location(), post_page);
    let got = t
        .get(&format!("/api/v1/posts/{pid}"), Some(&b.token))
        .await
        .expect(200);
    assert_eq!(got["body"], "改过的笔记：红茶要用 90 度水");
    assert_eq!(got["edited"], true);
    assert!(ab.get(&post_page).await.expect(200).has("90 度水"));
    ab.submit(
        &edit_page,
        &format!("{post_page}/edit"),
        &[("body", ""), ("visibility", "public")],
    )
    .await
    .expect(422);

    // Someone else's post: no edit link, the edit page and both actions refused.
    let mut bb = Browser::login_user(&t, &b).await;
    assert!(!bb.get(&post_page).await.expect(200).has("id=\"edit-post\""));
    bb.get(&edit_page).await.expect(403);
    bb.submit(
        &post_page,
        &format!("{post_page}/edit"),
        &[("body", "被改了"), ("visibility", "public")],
    )
    .await
    .expect(403);
    bb.submit(&post_page, &format!("{post_page}/delete"), &[])
        .await
        .expect(403);
    assert_eq!(
        t.get(&format!("/api/v1/posts/{pid}"), Some(&b.token))
            .await
            .expect(200)["body"],
        "改过的笔记：红茶要用 90 度水"
    );

    // Threaded replies: B comments, A replies to it; the reply renders under its parent.
    bb.submit(
        &post_page,
        &format!("{post_page}/comments"),
        &[("body", "水温这么讲究吗")],
    )
    .await
    .expect(303);
    ab.submit(
        &post_page,
        &format!("{post_page}/comments"),
        &[("body", "另起一条")],
    )
    .await
    .expect(303);
    let comments = t
        .get(&format!("/api/v1/posts/{pid}/comments"), Some(&a.token))
        .await
        .expect(200);
    let parent = comments["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["body"] == "水温这么讲究吗")
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .expect("the comment");
    let page = ab.get(&post_page).await.expect(200);
    assert!(page.has(&format!("name=\"parent_id\" value=\"{parent}\"")));
    let p = ab
        .submit(
            &post_page,
            &format!("{post_page}/comments"),
            &[("body", "是的，90 度刚好"), ("parent_id", &parent)],
        )
        .await
        .expect(303);
    assert_eq!(p.location(), format!("{post_page}#comment-{parent}"));
    let page = bb.get(&post_page).await.expect(200);
    let parent_at = page
        .body
        .find(&format!("id=\"comment-{parent}\""))
        .expect("the parent");
    let reply_at = page.body.find("是的，90 度刚好").expect("the reply");
    let other_at = page.body.find("另起一条").expect("the other comment");
    let parent_card = &page.body[parent_at..];
    let parent_end = parent_card.find("class=\"reply-form\"").unwrap() + parent_at;
    assert!(
        parent_at < reply_at && reply_at < parent_end,
        "the reply is inside its parent's card"
    );
    assert!(
        !(parent_at..parent_end).contains(&other_at),
        "a top-level comment is not nested"
    );
    assert!(page.body[parent_at..reply_at].contains("class=\"replies\""));
    let comments = t
        .get(&format!("/api/v1/posts/{pid}/comments"), Some(&b.token))
        .await
        .expect(200);
    let with_reply = comments["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == parent.as_str())
        .unwrap()
        .clone();
    assert_eq!(with_reply["replies"][0]["body"], "是的，90 度刚好");

    // The author deletes it: gone for everyone.
    let p = ab
        .submit(&edit_page, &format!("{post_page}/delete"), &[])
        .await
        .expect(303);
    assert_eq!(p.location(), "/me");
    bb.get(&post_page).await.expect(404);
    t.get(&format!("/api/v1/posts/{pid}"), Some(&a.token))
        .await
        .problem(404, None);
}

async fn community_announcements_and_invite_links_through_the_pages(t: TestApp) {
    let owner = t.register_member("群主老王").await;
    let cm = t
        .post(
            "/api/v1/communities",
            Some(&owner.token),
            json!({ "name": "周末品茶会", "description": "只接受邀请", "tags": [], "join_policy": "invite_only" }),
        )
        .await
        .expect(201);
    let cid = cm["id"].as_str().unwrap().to_owned();
    let page = format!("/communities/{cid}");

    let mut ob = Browser::login_user(&t, &owner).await;
    assert!(
        ob.get(&page)
            .await
            .expect(200)
            .has(&format!("action=\"{page}/announcements\""))
    );
    let p = ob
        .submit(
            &page,
            &format!("{page}/announcements"),
            &[("body", "周六下午三点品鉴新茶")],
        )
        .await
        .expect(303);
    assert_eq!(p.location(), page);
    assert!(ob.get(&page).await.expect(200).has("周六下午三点品鉴新茶"));

    // An invite link for one use: its URL is shown once.
    let made = ob
        .submit(&page, &format!("{page}/invites"), &[("max_uses", "1")])
        .await
        .expect(200);
    let key = format!("value=\"{}/c/join/", t.base);
    let at = made.body.find(&key).expect("the new invite link") + key.len();
    let code = made.body[at..].split('"').next().unwrap().to_owned();
    assert!(!ob.get(&page).await.expect(200).has(&code), "shown once");
    ob.submit(&page, &format!("{page}/invites"), &[("max_uses", "lots")])
        .await
        .expect(422);

    // A stranger sees neither the announcements nor the forms; accepting joins them.
    let joiner = t.register_member("新朋友").await;
    let mut jb = Browser::login_user(&t, &joiner).await;
    let before = jb.get(&page).await.expect(200);
    assert!(!before.has("周六下午三点品鉴新茶"));
    assert!(!before.has(&format!("action=\"{page}/invites\"")));
    let join = format!("/c/join/{code}");
    assert!(jb.get(&join).await.expect(200).has("id=\"accept-invite\""));
    let p = jb.submit(&join, &join, &[]).await.expect(303);
    assert_eq!(p.location(), page);
    let after = jb.get(&page).await.expect(200);
    assert!(after.has("周六下午三点品鉴新茶"));
    // A plain member of an invite-only community neither announces nor invites.
    assert!(!after.has(&format!("action=\"{page}/announcements\"")));
    jb.submit(&page, &format!("{page}/announcements"), &[("body", "广告")])
        .await
        .expect(403);
    jb.submit(&page, &format!("{page}/invites"), &[])
        .await
        .expect(403);
    let members = t
        .get(
            &format!("/api/v1/{}/members", &page[1..]),
            Some(&owner.token),
        )
        .await
        .expect(200);
    let m = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["account_id"] == joiner.id.as_str())
        .expect("the joiner is a member")
        .clone();
    assert_eq!(m["invited_by"], owner.id.as_str());
    // The owner's page lists the link as used.
    assert!(ob.get(&page).await.expect(200).has("1/1"));

    // A second link, withdrawn on the page, no longer works; only once.
    let made = ob
        .submit(&page, &format!("{page}/invites"), &[])
        .await
        .expect(200);
    let at = made.body.find(&key).expect("the new invite link") + key.len();
    let code2 = made.body[at..].split('"').next().unwrap().to_owned();
    let invites = t
        .get(
            &format!("/api/v1/communities/{cid}/invites"),
            Some(&owner.token),
        )
        .await
        .expect(200);
    let iid = invites[0]["id"].as_str().unwrap().to_owned();
    let revoke = format!("{page}/invites/{iid}/revoke");
    assert!(
        ob.get(&page)
            .await
            .expect(200)
            .has(&format!("action=\"{revoke}\""))
    );
    let p = ob.submit(&page, &revoke, &[]).await.expect(303);
    assert_eq!(p.location(), page);
    ob.submit(&page, &revoke, &[]).await.expect(409);
    // A plain member cannot withdraw the owner's link.
    jb.submit(&page, &format!("{page}/invites/{iid}/revoke"), &[])
        .await
        .expect(403);

    // The link is used up; a made-up code names no invite; anonymous must log in.
    let late = t.register_member("迟到的人").await;
    let mut lb = Browser::login_user(&t, &late).await;
    lb.submit(&join, &join, &[]).await.expect(409);
    let join2 = format!("/c/join/{code2}");
    lb.submit(&join2, &join2, &[]).await.expect(409);
    lb.get("/c/join/not*a*code").await.expect(404);
    let p = Browser::new(&t).get(&join).await.expect(303);
    assert!(p.location().starts_with("/login?next="));
}

async fn group_buy_links_land_on_their_group(t: TestApp) {
    let s = t.shop().plan(standard_plan()).build().await;
    let c = t
        .post(
            &format!("/api/v1/merchants/{}/group-campaigns", s.merchant),
            Some(&s.owner.token),
            json!({
                "sku_id": s.sku, "group_size": 3, "group_price_fen": 8_000, "stock_limit": 30,
                "ends_at": kith_app::rfc3339(kith_domain::Clock::now_ms(&t.clock) + 7 * 24 * 3_600_000),
            }),
        )
        .await
        .expect(201);
    let leader = t.register_member("团长").await;
    let seat = t
        .post(
            &format!(
                "/api/v1/group-campaigns/{}/groups",
                c["id"].as_str().unwrap()
            ),
            Some(&leader.token),
            json!({ "delivery": "shipping", "address": crate::harness::address() }),
        )
        .await
        .expect(201);
    let gid = seat["group"]["id"].as_str().unwrap().to_owned();
    let link = t
        .post(
            "/api/v1/share-links",
            Some(&leader.token),
            json!({ "kind": "group_buy", "target_id": gid }),
        )
        .await
        .expect(201);
    let code = link["code"].as_str().unwrap();
    let b = t.register_member("拼友").await;
    let mut bb = Browser::login_user(&t, &b).await;
    assert_eq!(
        bb.get(&format!("/s/{code}")).await.expect(303).location(),
        format!("/groups/{gid}")
    );
    assert_eq!(
        Browser::new(&t)
            .get(&format!("/s/{code}"))
            .await
            .expect(303)
            .location(),
        format!("/s/{code}/join?next=%2Fgroups%2F{gid}")
    );
    assert_eq!(funnel(&t, &leader).await[0]["visits"], 2);
}
