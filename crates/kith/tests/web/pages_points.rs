//! Points (积分) over plain HTTP, as a browser without JavaScript uses the pages, on both
//! engines: the console's points rule (a bad number stays on the form with 422 beside its
//! field, what was typed kept; a saved rule says so); 我的积分 shows what a member holds,
//! frozen and available, and the statement in words; the cart offers the points the shop's
//! cap lets the member spend, and the order placed with them shows the discount. Members
//! get 403 in the console.

use serde_json::Value;

use crate::both_engines;
use crate::harness::TestApp;
use crate::web::{ADDRESS, Browser};
use crate::worlds;

both_engines!(points_run_through_the_pages);

fn rule<'a>(earn: &'a str, cap: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("enabled", "on"),
        ("earn_per_yuan", earn),
        ("points_per_yuan", "100"),
        ("cap_percent", cap),
        ("expire_days", "365"),
    ]
}

async fn points_run_through_the_pages(t: TestApp) {
    let s = t.shop().plan(worlds::standard_plan()).build().await;
    let console = format!("/console/{}/points", s.merchant);
    let mut m = Browser::login_user(&t, &s.owner).await;
    let p = m.get(&console).await.expect(200);
    assert!(
        p.has("id=\"points-form\"") && p.has("开启积分"),
        "{}",
        p.body
    );
    // A cap of 0 % is refused beside its field; what was typed stays.
    let p = m
        .submit(&console, &console, &rule("2", "0"))
        .await
        .expect(422);
    assert!(
        p.has("id=\"cap_percent-error\"") && p.has("请填 1–100 的整数") && p.has("value=\"2\""),
        "{}",
        p.body
    );
    let p = m
        .submit(&console, &console, &rule("1", "50"))
        .await
        .expect(303);
    assert!(p.location().ends_with("?done=saved"), "{}", p.location());
    let saved: Value = t
        .get(
            &format!("/api/v1/merchants/{}/points-settings", s.merchant),
            None,
        )
        .await
        .expect(200);
    assert_eq!(
        (saved["enabled"].as_bool(), saved["cap_percent"].as_i64()),
        (Some(true), Some(50))
    );

    // A member earns 200 points on ¥200: frozen, then available after the window.
    let buyer = t.register_member("攒积分").await;
    let first = t.order(&s, &buyer).qty(2).paid().await;
    let mut b = Browser::login_user(&t, &buyer).await;
    let p = b.get("/me/points").await.expect(200);
    assert!(p.has("冻结中 200") && p.has("可用积分 0"), "{}", p.body);
    worlds::ship_and_deliver(&t, &s, first["id"].as_str().expect("id")).await;
    worlds::close_after_sale_window(&t).await;
    let mut b = Browser::login_user(&t, &buyer).await;
    let p = b
        .get(&format!("/me/points/{}", s.merchant))
        .await
        .expect(200);
    assert!(
        p.has("可用积分 200")
            && p.has("可抵 ¥2.00")
            && p.has("售后期结束，到账")
            && p.has("下单获得（冻结）")
            && p.has("每消费 1 元得 1 积分，100 积分抵 1 元，最多抵扣 50%"),
        "{}",
        p.body
    );

    // The cart offers all 200 (under half of ¥100); the order takes them.
    t.top_up(&buyer, 20_000).await;
    let cart = format!("/shops/{}/cart", s.merchant);
    b.submit(&cart, &cart, &[("sku_id", &s.sku), ("quantity", "1")])
        .await
        .expect(303);
    let p = b.get(&cart).await.expect(200);
    assert!(
        p.has("id=\"use-points\"") && p.has("使用 200 积分抵扣 ¥2.00"),
        "{}",
        p.body
    );
    let mut form = ADDRESS.to_vec();
    form.push(("points", "200"));
    let p = b
        .submit(&cart, &format!("/shops/{}/checkout", s.merchant), &form)
        .await
        .expect(303);
    let order_id = p.location().trim_start_matches("/orders/").to_owned();
    let p = b.get(&format!("/orders/{order_id}")).await.expect(200);
    assert!(
        p.has("id=\"order-points\"") && p.has("-¥2.00"),
        "{}",
        p.body
    );
    let p = b.get("/me/points").await.expect(200);
    assert!(p.has("可用积分 0"), "{}", p.body);
    // A member is not staff: the console's points page is 403.
    b.get(&console).await.expect(403);
}
