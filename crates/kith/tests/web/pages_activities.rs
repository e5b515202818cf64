//! The 满减 activity pages over plain HTTP, as a browser without JavaScript uses them, on
//! both engines: the console creates an activity (tiers that do not rise stay on the form
//! with 422 beside the tiers, what was typed kept), lists it with its tiers in words and
//! Beijing dates, pauses and ends it (resuming an ended one answers 409 on its row); the
//! shop and product pages show it to anyone; the cart shows the discount checkout will
//! take and what is missing to the next tier (凑单); the order pages show it per order and
//! per line. Members get 403 in the console.

use serde_json::Value;

use crate::both_engines;
use crate::harness::TestApp;
use crate::web::{ADDRESS, Browser};

both_engines!(activities_run_through_the_pages);

fn form<'a>(
    name: &'a str,
    tiers: [(&'a str, &'a str); 3],
    ends: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("name", name),
        ("kind", "fixed"),
        ("starts", ""),
        ("ends", ends),
    ];
    for (n, (min, amount)) in tiers.iter().enumerate() {
        let (mk, ak) = [
            ("min_1", "amount_1"),
            ("min_2", "amount_2"),
            ("min_3", "amount_3"),
        ][n];
        f.push((mk, min));
        f.push((ak, amount));
    }
    f
}

async fn activities_run_through_the_pages(t: TestApp) {
    let s = t
        .shop()
        .name("满减小铺")
        .price(10_000)
        .stock(100)
        .build()
        .await;
    let console = format!("/console/{}/activities", s.merchant);
    let mut m = Browser::login_user(&t, &s.owner).await;
    let p = m.get(&console).await.expect(200);
    assert!(
        p.has("id=\"no-activities\"") && p.has("满减活动"),
        "{}",
        p.body
    );
    let ends = {
        use kith_domain::Clock;
        let ms = t.clock.now_ms() + 30 * 86_400_000;
        kith_app::rfc3339(ms)[..10].to_owned()
    };

    // 满 299 减 50 then 满 199 减 20: thresholds must rise; the tiers stay as typed.
    let p = m
        .submit(
            &console,
            &console,
            &form(
                "年货节满减",
                [("299", "50"), ("199", "20"), ("", "")],
                &ends,
            ),
        )
        .await
        .expect(422);
    assert!(
        p.has("id=\"tiers-error\"")
            && p.has("每一档的门槛要高于上一档")
            && p.has("value=\"299\"")
            && p.has("value=\"年货节满减\""),
        "{}",
        p.body
    );
    // No end date: beside the window.
    let p = m
        .submit(
            &console,
            &console,
            &form("年货节满减", [("199", "20"), ("", ""), ("", "")], ""),
        )
        .await
        .expect(422);
    assert!(p.has("id=\"window-error\""), "{}", p.body);
    let p = m
        .submit(
            &console,
            &console,
            &form(
                "年货节满减",
                [("199", "20"), ("299", "50"), ("", "")],
                &ends,
            ),
        )
        .await
        .expect(303);
    assert!(p.location().ends_with("?done=created"), "{}", p.location());
    let p = m.get(&format!("{console}?done=created")).await.expect(200);
    assert!(
        p.has("id=\"flash\"")
            && p.has("满 ¥199.00 减 ¥20.00，满 ¥299.00 减 ¥50.00")
            && p.has("进行中"),
        "{}",
        p.body
    );
    assert!(
        p.has(&format!("{ends} 23:59")),
        "the end in Beijing time: {}",
        p.body
    );

    // Anyone sees it on the shop and the product.
    let mut v = Browser::new(&t);
    let shop = v.get(&format!("/shops/{}", s.merchant)).await.expect(200);
    assert!(
        shop.has("id=\"shop-activities\"") && shop.has("满 ¥199.00 减 ¥20.00"),
        "{}",
        shop.body
    );
    let product = v
        .get(&format!("/shops/{}/products/{}", s.merchant, s.product))
        .await
        .expect(200);
    assert!(product.has("id=\"product-activities\""), "{}", product.body);

    // The cart: ¥100 is ¥99 short of 满 199; ¥200 takes ¥20 and is ¥99 short of 满 299.
    let buyer = t.register_member("凑单王").await;
    t.top_up(&buyer, 50_000).await;
    let mut b = Browser::login_user(&t, &buyer).await;
    let cart = format!("/shops/{}/cart", s.merchant);
    b.submit(&cart, &cart, &[("sku_id", &s.sku), ("quantity", "1")])
        .await
        .expect(303);
    let p = b.get(&cart).await.expect(200);
    assert!(
        !p.has("id=\"cart-activity\"") && p.has("再买 ¥99.00 可享 满 ¥199.00 减 ¥20.00"),
        "{}",
        p.body
    );
    b.submit(&cart, &cart, &[("sku_id", &s.sku), ("quantity", "2")])
        .await
        .expect(303);
    let p = b.get(&cart).await.expect(200);
    assert!(
        p.has("id=\"cart-activity\"")
            && p.has("-¥20.00")
            && p.has("再买 ¥99.00 可享 满 ¥299.00 减 ¥50.00")
            && p.has("优惠后商品金额: <span class=\"price\">¥180.00"),
        "{}",
        p.body
    );
    let p = b
        .submit(&cart, &format!("/shops/{}/checkout", s.merchant), &ADDRESS)
        .await
        .expect(303);
    let order_id = p.location().trim_start_matches("/orders/").to_owned();
    let order: Value = t
        .get(&format!("/api/v1/orders/{order_id}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(order["activity_fen"], 2_000, "{order}");
    let p = b.get(&format!("/orders/{order_id}")).await.expect(200);
    assert!(
        p.has("id=\"order-activity\"") && p.has("line-activity") && p.has("-¥20.00"),
        "{}",
        p.body
    );
    let p = m
        .get(&format!("/console/{}/orders/{order_id}", s.merchant))
        .await
        .expect(200);
    assert!(p.has("id=\"order-activity\""), "{}", p.body);

    // Pause, end; an ended one cannot resume (409 on its row).
    let list = t
        .get(
            &format!("/api/v1/merchants/{}/threshold-activities", s.merchant),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    let aid = list[0]["id"].as_str().expect("id").to_owned();
    let act = |verb: &str| format!("{console}/{aid}/{verb}");
    let p = m.submit(&console, &act("pause"), &[]).await.expect(303);
    assert!(
        p.location().ends_with("?done=activity_paused"),
        "{}",
        p.location()
    );
    let p = m.get(&console).await.expect(200);
    assert!(p.has("已暂停"), "{}", p.body);
    m.submit(&console, &act("end"), &[]).await.expect(303);
    let p = m.submit(&console, &act("resume"), &[]).await.expect(409);
    assert!(p.has("id=\"row-error\"") && p.has("已停止"), "{}", p.body);
    let shop = v.get(&format!("/shops/{}", s.merchant)).await.expect(200);
    assert!(!shop.has("id=\"shop-activities\""), "{}", shop.body);

    // A member is not staff here.
    b.get(&console).await.expect(403);
}
