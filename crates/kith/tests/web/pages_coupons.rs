//! The coupon pages over plain HTTP, as a browser without JavaScript uses them, on both
//! engines: the console creates templates (a 满减 whose amount off exceeds its minimum
//! stays on the form with 422, what was typed kept), pauses, resumes and ends them (an
//! illegal move answers 409 on its row); members claim in the shop's 领券中心 (a second
//! claim over the limit and a sold-out coupon answer 409 on the coupon's card), see them in
//! 我的优惠券, and find the best one preselected in the cart; checking out with it takes
//! exactly that off, and a coupon already in another order is refused beside the order
//! button. Visitors see the 领券中心 with a way to log in; members get 403 in the console.

use serde_json::Value;

use crate::both_engines;
use crate::harness::TestApp;
use crate::web::{ADDRESS, Browser};

both_engines!(coupons_run_through_the_pages);

fn template_form<'a>(
    name: &'a str,
    kind: &'a str,
    amount: &'a str,
    min_spend: &'a str,
    total: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let (off, percent, cap) = if kind == "fixed" {
        (amount, "", "")
    } else {
        ("", amount, "15")
    };
    vec![
        ("name", name),
        ("kind", kind),
        ("off", off),
        ("percent", percent),
        ("cap", cap),
        ("min_spend", min_spend),
        ("valid_days", "7"),
        ("valid_until", ""),
        ("total", total),
        ("per_member", "1"),
    ]
}

async fn coupons_run_through_the_pages(t: TestApp) {
    let s = t
        .shop()
        .name("券小铺")
        .price(10_000)
        .stock(100)
        .build()
        .await;
    let console = format!("/console/{}/coupons", s.merchant);
    let mut m = Browser::login_user(&t, &s.owner).await;
    let p = m.get(&console).await.expect(200);
    assert!(p.has("id=\"no-templates\""), "{}", p.body);

    // 满 199 减 250 cannot be: the amount off stays beside its field, all typed kept.
    let p = m
        .submit(
            &console,
            &console,
            &template_form("满199减20", "fixed", "250", "199", "2"),
        )
        .await
        .expect(422);
    assert!(
        p.has("id=\"off-error\"") && p.has("value=\"250\"") && p.has("value=\"满199减20\""),
        "{}",
        p.body
    );
    assert!(p.has("减免金额不能超过使用门槛"), "{}", p.body);
    let p = m
        .submit(
            &console,
            &console,
            &template_form("满199减20", "fixed", "20", "199", "2"),
        )
        .await
        .expect(303);
    assert!(p.location().ends_with("?done=created"), "{}", p.location());
    m.submit(
        &console,
        &console,
        &template_form("八折券", "percent", "20", "0", "10"),
    )
    .await
    .expect(303);
    let p = m.get(&format!("{console}?done=created")).await.expect(200);
    assert!(p.has("id=\"flash\""));
    assert!(
        p.has("减 ¥20.00") && p.has("满 ¥199.00 可用") && p.has("0 / 2"),
        "{}",
        p.body
    );
    assert!(p.has("8 折（最多减 ¥15.00）"), "{}", p.body);
    let templates = t
        .get(
            &format!("/api/v1/merchants/{}/coupon-templates", s.merchant),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    let tid = |name: &str| -> String {
        templates
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .and_then(|t| t["id"].as_str())
            .expect("template")
            .to_owned()
    };
    let (full, pct) = (tid("满199减20"), tid("八折券"));
    // 八折券 becomes the new-member coupon: marked in the console and in the 领券中心.
    let p = m
        .submit(
            &console,
            &format!("/console/{}/coupons/new-member", s.merchant),
            &[("template_id", &pct)],
        )
        .await
        .expect(303);
    assert!(p.location().ends_with("?done=saved"));
    let p = m.get(&console).await.expect(200);
    assert!(
        p.has(&format!("<option value=\"{pct}\" selected>")),
        "{}",
        p.body
    );

    // A visitor sees the 领券中心 and a way to log in.
    let center = format!("/shops/{}/coupons", s.merchant);
    let mut v = Browser::new(&t);
    let p = v.get(&center).await.expect(200);
    assert!(p.has("满199减20") && p.has("登录后领取"), "{}", p.body);
    assert!(p.has("class=\"badge ok new-member\""), "{}", p.body);
    assert!(
        v.get("/me/coupons")
            .await
            .expect(303)
            .location()
            .starts_with("/login")
    );

    // Members claim: once each; the third finds it gone.
    let buyer = t.register_member("小丽").await;
    let mut b = Browser::login_user(&t, &buyer).await;
    let shop = b.get(&format!("/shops/{}", s.merchant)).await.expect(200);
    assert!(shop.has("id=\"shop-coupons\""), "{}", shop.body);
    let claim = |tid: &str| format!("/shops/{}/coupons/{tid}/claim", s.merchant);
    let p = b.submit(&center, &claim(&full), &[]).await.expect(303);
    assert!(p.location().ends_with("?done=claimed"));
    let p = b.submit(&center, &claim(&full), &[]).await.expect(409);
    assert!(
        p.has("id=\"claim-error\"") && p.has("你已领到每人限领的张数"),
        "{}",
        p.body
    );
    b.submit(&center, &claim(&pct), &[]).await.expect(303);
    let second = t.register_member("小张").await;
    let mut b2 = Browser::login_user(&t, &second).await;
    b2.submit(&center, &claim(&full), &[]).await.expect(303);
    let third = t.register_member("小赵").await;
    let mut b3 = Browser::login_user(&t, &third).await;
    let p = b3.get(&center).await.expect(200);
    assert!(
        !p.has(&format!("id=\"offer-{full}\"")),
        "sold out is no longer offered"
    );
    let p = b3.submit(&center, &claim(&full), &[]).await.expect(409);
    assert!(p.has("这张券已经被领完了"), "{}", p.body);

    // 我的优惠券: both available.
    let p = b.get("/me/coupons").await.expect(200);
    assert!(
        p.has("可使用 2") && p.has("满199减20") && p.has("八折券"),
        "{}",
        p.body
    );
    let mine = t
        .get("/api/v1/me/coupons", Some(&buyer.token))
        .await
        .expect(200);
    let coupon_of = |tid: &str| -> String {
        mine.as_array()
            .unwrap()
            .iter()
            .find(|k| k["template_id"] == tid)
            .and_then(|k| k["id"].as_str())
            .expect("coupon")
            .to_owned()
    };
    let (full_coupon, pct_coupon) = (coupon_of(&full), coupon_of(&pct));

    // ¥200 in the cart: ¥20 off beats 20 % capped at ¥15, so it is preselected.
    let cart = format!("/shops/{}/cart", s.merchant);
    b.submit(&cart, &cart, &[("sku_id", &s.sku), ("quantity", "2")])
        .await
        .expect(303);
    let p = b.get(&cart).await.expect(200);
    let best = format!(
        "id=\"choice-{full_coupon}\"><input type=\"radio\" name=\"coupon_id\" value=\"{full_coupon}\" checked>"
    );
    assert!(p.has(&best), "{}", p.body);
    assert!(
        p.has("可省 ¥20.00") && p.has("可省 ¥15.00") && p.has("best-coupon"),
        "{}",
        p.body
    );
    let mut form = ADDRESS.to_vec();
    form.push(("coupon_id", &full_coupon));
    let p = b
        .submit(&cart, &format!("/shops/{}/checkout", s.merchant), &form)
        .await
        .expect(303);
    let order_id = p.location().trim_start_matches("/orders/").to_owned();
    let order: Value = t
        .get(&format!("/api/v1/orders/{order_id}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(
        (order["coupon_fen"].as_i64(), order["coupon_id"].as_str()),
        (Some(2_000), Some(full_coupon.as_str())),
        "{order}"
    );
    // The order page shows the coupon on the order and on its line.
    let p = b.get(&format!("/orders/{order_id}")).await.expect(200);
    assert!(
        p.has("id=\"order-coupon\"") && p.has("-¥20.00") && p.has("line-coupon"),
        "{}",
        p.body
    );
    let p = m
        .get(&format!("/console/{}/orders/{order_id}", s.merchant))
        .await
        .expect(200);
    assert!(
        p.has("id=\"order-coupon\"") && p.has("-¥20.00"),
        "{}",
        p.body
    );
    let p = b.get("/me/coupons?state=locked").await.expect(200);
    assert!(p.has(&format!("id=\"coupon-{full_coupon}\"")), "{}", p.body);

    // The coupon in that unpaid order cannot go into another: refused beside the button.
    b.submit(&cart, &cart, &[("sku_id", &s.sku), ("quantity", "1")])
        .await
        .expect(303);
    let mut form = ADDRESS.to_vec();
    form.push(("coupon_id", &full_coupon));
    let p = b
        .submit(&cart, &format!("/shops/{}/checkout", s.merchant), &form)
        .await
        .expect(409);
    assert!(
        p.has("id=\"checkout-error\"") && p.has("这张券已被其他订单占用"),
        "{}",
        p.body
    );
    // What was typed is kept; a bad phone number is refused the same way.
    assert!(
        p.has("value=\"金阳南路 6 号\"") && p.has("value=\"王小丽\""),
        "{}",
        p.body
    );
    let mut form = ADDRESS.to_vec();
    form.retain(|(k, _)| *k != "phone");
    form.push(("phone", "12345"));
    let p = b
        .submit(&cart, &format!("/shops/{}/checkout", s.merchant), &form)
        .await
        .expect(422);
    assert!(
        p.has("请填写正确的 11 位手机号")
            && p.has("value=\"12345\"")
            && p.has("value=\"观山湖区\""),
        "{}",
        p.body
    );
    // Having ordered, the buyer is no longer new to the shop.
    let p = b.submit(&center, &claim(&pct), &[]).await.expect(409);
    assert!(p.has("这是新人券"), "{}", p.body);
    // The locked coupon is not offered again: the 20 % coupon is the one preselected now.
    let p = b.get(&cart).await.expect(200);
    assert!(
        p.has(&format!("value=\"{pct_coupon}\" checked>"))
            && !p.has(&format!("id=\"choice-{full_coupon}\"")),
        "{}",
        p.body
    );

    // The console: pause, resume, end; an ended coupon cannot be resumed.
    let act = |tid: &str, a: &str| format!("/console/{}/coupons/{tid}/{a}", s.merchant);
    let p = m
        .submit(&console, &act(&pct, "pause"), &[])
        .await
        .expect(303);
    assert!(p.location().ends_with("?done=paused"));
    assert!(!b.get(&center).await.expect(200).has("八折券"));
    m.submit(&console, &act(&pct, "resume"), &[])
        .await
        .expect(303);
    m.submit(&console, &act(&pct, "end"), &[]).await.expect(303);
    let p = m
        .submit(&console, &act(&pct, "resume"), &[])
        .await
        .expect(409);
    assert!(p.has("id=\"row-error\""), "{}", p.body);
    m.submit(&console, &act(&pct, "launch"), &[])
        .await
        .expect(404);
    let p = m.get(&console).await.expect(200);
    assert!(p.has("已停止") && p.has("1 / 10"), "{}", p.body);

    // A member is not staff; the pages speak English on request.
    b.get(&console).await.expect(403);
    let p = b.get(&format!("{center}?lang=en")).await.expect(200);
    assert!(p.has("Coupons"), "{}", p.body);
}
