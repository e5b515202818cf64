//! The 秒杀 pages over plain HTTP, on both engines: the console creates a flash sale (a
//! flash price at the list price stays on the form with 422 beside the price, what was
//! typed kept; overlapping slots beside the slots), lists it with sold/quota per slot and
//! pauses it (pausing again answers 409 on its row); the shop shows it with a countdown;
//! the sale's page shows the flash price, what is left and the buy form; buying lands on
//! the order at the flash price; over the per-member limit the refusal comes back beside
//! the button in Chinese with the typed address kept. Visitors are asked to log in;
//! members get 403 in the console.

use serde_json::Value;

use crate::both_engines;
use crate::harness::TestApp;
use crate::web::Browser;

both_engines!(flash_sales_run_through_the_pages);

/// `YYYY-MM-DDTHH:MM` in Beijing time, `minutes` from the test clock's now.
fn local(t: &TestApp, minutes: i64) -> String {
    use kith_domain::Clock;
    let ms = t.clock.now_ms() + minutes * 60_000 + 8 * 3_600_000;
    kith_app::rfc3339(ms)[..16].to_owned()
}

async fn flash_sales_run_through_the_pages(t: TestApp) {
    let s = t
        .shop()
        .name("秒杀小铺")
        .price(10_000)
        .stock(100)
        .build()
        .await;
    let console = format!("/console/{}/flash-sales", s.merchant);
    let mut m = Browser::login_user(&t, &s.owner).await;
    let p = m.get(&console).await.expect(200);
    assert!(p.has("id=\"no-flash\"") && p.has(&s.sku), "{}", p.body);
    let (start, end) = (local(&t, -1), local(&t, 60));
    let form = |price: &'static str, start2: &str, end2: &str| -> Vec<(String, String)> {
        [
            ("name", "整点秒杀"),
            ("sku_id", s.sku.as_str()),
            ("price", price),
            ("per_member", "1"),
            ("per_order", "1"),
            ("timeout", "5"),
            ("start_1", start.as_str()),
            ("end_1", end.as_str()),
            ("quota_1", "5"),
            ("start_2", start2),
            ("end_2", end2),
            ("quota_2", if start2.is_empty() { "" } else { "5" }),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    };
    fn pairs(f: &[(String, String)]) -> Vec<(&str, &str)> {
        f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }
    // At the list price: refused beside the price, what was typed kept.
    let f = form("100", "", "");
    let p = m.submit(&console, &console, &pairs(&f)).await.expect(422);
    assert!(
        p.has("id=\"price-error\"")
            && p.has("秒杀价需大于 0 且低于原价")
            && p.has("value=\"整点秒杀\""),
        "{}",
        p.body
    );
    // A second slot overlapping the first: beside the slots.
    let (o1, o2) = (local(&t, 30), local(&t, 90));
    let f = form("59.90", &o1, &o2);
    let p = m.submit(&console, &console, &pairs(&f)).await.expect(422);
    assert!(
        p.has("id=\"slots-error\"") && p.has(&format!("value=\"{o1}\"")),
        "{}",
        p.body
    );
    let f = form("59.90", "", "");
    let p = m.submit(&console, &console, &pairs(&f)).await.expect(303);
    assert!(p.location().ends_with("?done=created"), "{}", p.location());
    let p = m.get(&console).await.expect(200);
    assert!(
        p.has("¥59.90") && p.has("class=\"slot-sold\">0</span> / 5") && p.has("抢购中"),
        "{}",
        p.body
    );
    let sales = t
        .get(
            &format!("/api/v1/merchants/{}/flash-sales", s.merchant),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    let sid = sales[0]["id"].as_str().expect("id").to_owned();

    // A visitor sees it on the shop with a countdown, and its page asks for a login.
    let mut v = Browser::new(&t);
    let shop = v.get(&format!("/shops/{}", s.merchant)).await.expect(200);
    assert!(
        shop.has("id=\"shop-flash\"")
            && shop.has("data-until")
            && shop.has(&format!("/flash/{sid}")),
        "{}",
        shop.body
    );
    let page = format!("/flash/{sid}");
    let p = v.get(&page).await.expect(200);
    assert!(
        p.has("id=\"flash-price\">¥59.90") && p.has("id=\"flash-login\"") && p.has("剩 5 / 5"),
        "{}",
        p.body
    );

    // A member buys one: the order at the flash price.
    let buyer = t.register_member("抢到了").await;
    let mut b = Browser::login_user(&t, &buyer).await;
    let p = b.get(&page).await.expect(200);
    assert!(
        p.has("id=\"flash-form\"") && p.has("id=\"countdown\""),
        "{}",
        p.body
    );
    let address = [
        ("quantity", "1"),
        ("delivery", "shipping"),
        ("name", "王小丽"),
        ("phone", "13800138000"),
        ("province", "贵州省"),
        ("city", "贵阳市"),
        ("district", "观山湖区"),
        ("detail", "金阳南路 6 号"),
    ];
    let p = b
        .submit(&page, &format!("{page}/buy"), &address)
        .await
        .expect(303);
    let order_id = p.location().trim_start_matches("/orders/").to_owned();
    let order: Value = t
        .get(&format!("/api/v1/orders/{order_id}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(order["lines"][0]["unit_price_fen"], 5_990, "{order}");
    // A second is over the per-member limit: beside the button, the address kept.
    let p = b
        .submit(&page, &format!("{page}/buy"), &address)
        .await
        .expect(409);
    assert!(
        p.has("id=\"flash-error\"")
            && p.has("你已买到每人限购的件数")
            && p.has("value=\"金阳南路 6 号\""),
        "{}",
        p.body
    );
    let p = b.get(&page).await.expect(200);
    assert!(p.has("剩 4 / 5"), "{}", p.body);

    // Paused; pausing again is refused on its row.
    let act = |verb: &str| format!("{console}/{sid}/{verb}");
    let p = m.submit(&console, &act("pause"), &[]).await.expect(303);
    assert!(
        p.location().ends_with("?done=flash_paused"),
        "{}",
        p.location()
    );
    let p = m.submit(&console, &act("pause"), &[]).await.expect(409);
    assert!(p.has("id=\"row-error\""), "{}", p.body);
    let p = b.get(&page).await.expect(200);
    assert!(p.has("已暂停") && !p.has("id=\"flash-form\""), "{}", p.body);

    // A member is not staff here.
    b.get(&console).await.expect(403);
}
