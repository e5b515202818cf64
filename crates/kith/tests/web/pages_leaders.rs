//! The 社区团购 pages over plain HTTP, as a browser without JavaScript uses them, on both
//! engines: the console approves a 团长 (a rate beyond the cap stays on the form with 422),
//! opens a 接龙 batch (a bad price stays on the form with 422, what was typed kept); a
//! member must choose a 团长 first, sees the points ranked with "1 位好友在这里提货", chooses
//! one, joins through the 接龙 page (over the limit: 409 on the page, the quantity kept) and
//! lands on the order to pay; after the cut-off the console shows the pick list, exports it
//! as CSV (BOM, 元) and marks the consignment delivered; the 团长's page links to the desk
//! that redeems codes; a member who is not staff gets 403 in the console.

use serde_json::json;

use crate::both_engines;
use crate::builders::Shop;
use crate::harness::{TestApp, User};
use crate::web::Browser;

both_engines!(
    a_batch_runs_through_the_pages,
    a_leader_opens_a_batch_through_the_pages
);

const HOUR_MS: i64 = 3_600_000;

async fn member(t: &TestApp, name: &str, fen: i64) -> User {
    let u = t.register_member(name).await;
    if fen > 0 {
        t.top_up(&u, fen).await;
    }
    u
}

fn local(t: &TestApp, ms_from_now: i64, with_time: bool) -> String {
    use kith_domain::Clock;
    // Beijing wall time, as the pickers send it.
    let s = kith_app::rfc3339(t.clock.now_ms() + ms_from_now + 8 * HOUR_MS);
    if with_time {
        s[..16].to_owned()
    } else {
        s[..10].to_owned()
    }
}

/// A shop (one SKU at ¥50) with a plan of L1 10 %, cap 30 %, and a member who applied to
/// lead it with a point at `address`: (shop, leader, application id).
async fn shop_and_applicant(
    t: &TestApp,
    name: &str,
    point: &str,
    address: &str,
) -> (Shop, User, String) {
    let s = t
        .shop()
        .name("邻里果铺")
        .price(5_000)
        .stock(100)
        .build()
        .await;
    t.put(
        &format!("/api/v1/merchants/{}/commission-plan", s.merchant),
        Some(&s.owner.token),
        json!({ "levels_bp": [1000, 0], "cap_bp": 3000 }),
    )
    .await
    .expect(200);
    let lead = member(t, name, 0).await;
    let l = t
        .post(
            &format!("/api/v1/merchants/{}/leaders", s.merchant),
            Some(&lead.token),
            json!({ "point_name": point, "address": address, "latitude": 26.58, "longitude": 106.71 }),
        )
        .await
        .expect(201);
    let lid = l["id"].as_str().unwrap().to_owned();
    (s, lead, lid)
}

async fn a_batch_runs_through_the_pages(t: TestApp) {
    let (s, lead, lid) = shop_and_applicant(&t, "张团长", "幸福里驿站", "幸福里 3 栋楼下").await;
    let mid = s.merchant.clone();

    // The console: the application, approved at a rate the cap allows.
    let mut ob = Browser::login_user(&t, &s.owner).await;
    let page = ob.get(&format!("/console/{mid}/leaders")).await.expect(200);
    assert!(page.has("幸福里驿站") && page.has("id=\"nav-leaders\""));
    let approve = format!("/console/{mid}/leaders/{lid}/approve");
    let p = ob
        .submit(
            &format!("/console/{mid}/leaders"),
            &approve,
            &[("rate", "40")],
        )
        .await
        .expect(422);
    assert!(
        p.has("id=\"leader-error\"") && p.has("value=\"40\""),
        "{}",
        p.body
    );
    let p = ob
        .submit(
            &format!("/console/{mid}/leaders"),
            &approve,
            &[("rate", "8")],
        )
        .await
        .expect(303);
    assert_eq!(
        p.location(),
        format!("/console/{mid}/leaders?done=approved")
    );
    let page = ob.get(&p.location()).await.expect(200);
    assert!(page.has("已批准"), "{}", page.body);

    // A batch: a price over the list price stays on the form.
    let form = |price: &'static str| {
        vec![
            ("title", "明日鲜桃接龙".to_owned()),
            ("cutoff", local(&t, 2 * HOUR_MS, true)),
            ("pickup_date", local(&t, 24 * HOUR_MS, false)),
            ("min_total", "0".to_owned()),
            ("sku_id", s.sku.clone()),
            ("price", price.to_owned()),
            ("per_member", "3".to_owned()),
            ("quantity_limit", "50".to_owned()),
        ]
    };
    let bad = form("99");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let console_batches = format!("/console/{mid}/batches");
    let p = ob
        .submit(&console_batches, &console_batches, &bad)
        .await
        .expect(422);
    assert!(p.has("id=\"form-error\""));
    assert!(
        p.text_of("form-error")
            .contains("团购价需大于 0 元，且不高于原价"),
        "the refusal in the page's words: {}",
        p.text_of("form-error")
    );
    assert!(p.has("value=\"明日鲜桃接龙\""), "the title typed stays");
    let good = form("38");
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = ob
        .submit(&console_batches, &console_batches, &good)
        .await
        .expect(303);
    let to = p.location();
    let bid = to
        .strip_prefix(&format!("/console/{mid}/batches/"))
        .and_then(|r| r.strip_suffix("?done=created"))
        .unwrap_or_else(|| panic!("{to}"))
        .to_owned();
    // A second batch, closed at once from its console page (立即截单, behind a confirmation):
    // nobody joined, so it goes ahead empty; closing it again is refused in words.
    let p = ob
        .submit(&console_batches, &console_batches, &good)
        .await
        .expect(303);
    let spare = p.location().replace("?done=created", "");
    let page = ob.get(&spare).await.expect(200);
    assert!(page.has("id=\"cut-off-confirm\""), "{}", page.body);
    let p = ob
        .submit(&spare, &format!("{spare}/cutoff"), &[])
        .await
        .expect(303);
    assert_eq!(p.location(), format!("{spare}?done=cut_off"));
    let page = ob.get(&p.location()).await.expect(200);
    assert!(!page.has("id=\"cut-off-confirm\"") && page.has("已截单"));
    let again = ob
        .post(&format!("{spare}/cutoff"), &[("csrf", &page.csrf())])
        .await
        .expect(409);
    assert!(again.text_of("refusal").contains("这个接龙已经截单了"));

    // A member: the 接龙 page asks for a 团长 first; the ranking shows a friend there.
    let buyer = member(&t, "李阿姨", 50_000).await;
    let friend = member(&t, "王叔叔", 0).await;
    crate::worlds::befriend(&t, &buyer, &friend).await;
    t.put(
        &format!("/api/v1/merchants/{mid}/my-leader"),
        Some(&friend.token),
        json!({ "leader_id": lid }),
    )
    .await
    .expect(200);
    let mut mb = Browser::login_user(&t, &buyer).await;
    let page = mb.get(&format!("/batches/{bid}")).await.expect(200);
    assert!(page.has("id=\"choose-first\"") && page.has("id=\"countdown\""));
    assert!(
        page.text_of("countdown").contains("还剩 1 小时 5"),
        "{}",
        page.body
    );
    let leaders = format!("/shops/{mid}/leaders");
    let page = mb.get(&leaders).await.expect(200);
    assert!(page.has("1 位好友在这里提货：王叔叔"), "{}", page.body);
    let p = mb
        .submit(&leaders, &format!("/shops/{mid}/leaders/{lid}/choose"), &[])
        .await
        .expect(303);
    assert_eq!(p.location(), format!("{leaders}?done=chosen"));
    let page = mb.get(&p.location()).await.expect(200);
    assert!(page.has("id=\"chosen\""));

    // Joining: over the limit is refused on the page, the quantity kept; then 2 units.
    let batch_page = format!("/batches/{bid}");
    let qty = format!("qty.{}", s.sku);
    let join = format!("/batches/{bid}/join");
    let p = mb
        .submit(&batch_page, &join, &[(&qty, "4")])
        .await
        .expect(409);
    assert!(
        p.has("id=\"refusal\"") && p.has("value=\"4\""),
        "{}",
        p.body
    );
    let p = mb
        .submit(&batch_page, &join, &[(&qty, "2")])
        .await
        .expect(303);
    let oid = p
        .location()
        .strip_prefix("/orders/")
        .expect("order")
        .to_owned();
    t.post(
        &format!("/api/v1/orders/{oid}/pay"),
        Some(&buyer.token),
        json!({ "provider": "wallet" }),
    )
    .await
    .expect(200);
    // Paid, the order waits for the cut-off in 接龙 words (not a group-buy's 待成团).
    let page = mb.get(&format!("/orders/{oid}")).await.expect(200);
    assert!(
        page.has("已接龙，等待截单") && !page.has("待成团"),
        "{}",
        page.body
    );
    let page = mb.get("/orders").await.expect(200);
    assert!(page.has("已接龙，等待截单"), "{}", page.body);
    // The 接龙 list: the member sees their own name; a stranger does not.
    let page = mb.get(&batch_page).await.expect(200);
    assert!(page.has("1. 李阿姨 · 2 · 幸福里驿站"), "{}", page.body);
    let anon = Browser::new(&t).get(&batch_page).await.expect(200);
    assert!(anon.has("1. 某位邻居 · 2"), "{}", anon.body);

    // The cut-off; the pick list, its CSV, the consignment delivered.
    t.clock.advance_ms(2 * HOUR_MS + 1000);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();
    let console_batch = format!("/console/{mid}/batches/{bid}");
    let page = ob.get(&console_batch).await.expect(200);
    assert!(page.has("已截单"), "{}", page.body);
    assert!(
        page.compact().contains("<td class=\"qty\">2</td>"),
        "{}",
        page.body
    );
    assert!(page.has("1. 李阿姨"));
    let csv = ob
        .get(&format!("{console_batch}/pick-lists.csv"))
        .await
        .expect(200);
    assert!(csv.body.starts_with('\u{feff}'), "BOM");
    assert!(
        csv.body
            .contains("张团长,幸福里驿站,幸福里 3 栋楼下,1,李阿姨"),
        "{}",
        csv.body
    );
    assert!(csv.body.contains(",2,38.00,76.00,"), "{}", csv.body);
    let p = ob
        .submit(
            &console_batch,
            &format!("{console_batch}/leaders/{lid}/delivered"),
            &[],
        )
        .await
        .expect(303);
    assert_eq!(p.location(), format!("{console_batch}?done=delivered"));
    let page = ob.get(&p.location()).await.expect(200);
    assert!(page.has("送达时间"), "{}", page.body);
    let o = t
        .get(&format!("/api/v1/orders/{oid}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(o["status"], "ready_for_pickup");
    // The batch's statement per 团长: on the page and as CSV, for the merchant and the 团长.
    let page = ob.get(&console_batch).await.expect(200);
    assert!(
        page.has("团长对账") && page.has(&format!("id=\"statement-{lid}\"")) && page.has("¥76.00"),
        "{}",
        page.body
    );
    let csv = ob
        .get(&format!("{console_batch}/statements.csv"))
        .await
        .expect(200);
    assert!(csv.body.starts_with('\u{feff}'), "BOM");
    assert!(
        csv.body.contains("张团长,幸福里驿站,1,2,76.00,0.00,0%"),
        "{}",
        csv.body
    );
    let mut lb0 = Browser::login_user(&t, &lead).await;
    let csv = lb0
        .get(&format!("/me/leader/batches/{bid}/statements.csv"))
        .await
        .expect(200);
    assert!(
        csv.body.contains("张团长,幸福里驿站,1,2,76.00"),
        "{}",
        csv.body
    );
    mb.get(&format!("/me/leader/batches/{bid}/statements.csv"))
        .await
        .expect(404);

    // The console's leaders page carries each leader's figures.
    let page = ob.get(&format!("/console/{mid}/leaders")).await.expect(200);
    // 未提货规则 on the same page: the default shown, a bad number refused beside the field
    // with what was typed, then saved.
    assert!(
        page.has("id=\"batch-terms\"") && page.has("value=\"7\""),
        "{}",
        page.body
    );
    let leaders_url = format!("/console/{mid}/leaders");
    let terms_url = format!("/console/{mid}/batch-terms");
    let p = ob
        .submit(
            &leaders_url,
            &terms_url,
            &[("unclaimed_days", "三天"), ("unclaimed_rule", "keep")],
        )
        .await
        .expect(422);
    assert!(
        p.has("id=\"terms-error\"") && p.has("value=\"三天\""),
        "{}",
        p.body
    );
    ob.submit(
        &leaders_url,
        &terms_url,
        &[("unclaimed_days", "40"), ("unclaimed_rule", "keep")],
    )
    .await
    .expect(422);
    let p = ob
        .submit(
            &leaders_url,
            &terms_url,
            &[("unclaimed_days", "3"), ("unclaimed_rule", "keep")],
        )
        .await
        .expect(303);
    assert!(p.location().ends_with("?done=saved"), "{}", p.location());
    let page = ob.get(&leaders_url).await.expect(200);
    assert!(
        page.has("value=\"3\"") && page.has("<option value=\"keep\" selected>"),
        "{}",
        page.body
    );
    assert!(
        page.has("id=\"leader-figures\"") && page.has("¥76.00"),
        "{}",
        page.body
    );

    // The 团长's page links to the desk that redeems codes at their point.
    let mut lb = Browser::login_user(&t, &lead).await;
    let page = lb.get("/me/leader").await.expect(200);
    let me = t
        .get("/api/v1/me/leaderships", Some(&lead.token))
        .await
        .expect(200);
    let store = me[0]["store_id"]
        .as_str()
        .expect("the point's store")
        .to_owned();
    assert!(
        page.has(&format!("href=\"/clerk/{store}\"")),
        "{}",
        page.body
    );
    lb.get(&format!("/clerk/{store}")).await.expect(200);
    // 我的拣货单: the batch listed on the page, its pick list for this point printable; not
    // another member's to read.
    let pick = format!("/me/leader/{lid}/batches/{bid}");
    assert!(page.has(&format!("href=\"{pick}\"")), "{}", page.body);
    let list = lb.get(&pick).await.expect(200);
    assert!(
        list.has("我的拣货单") && list.has("class=\"pick-buyer\"") && list.has("window.print()"),
        "{}",
        list.body
    );
    assert!(
        !list.has("class=\"mark-delivered\""),
        "the merchant marks delivery, not the leader"
    );
    mb.get(&pick).await.expect(404);
    // 我的自提点: capacity, and helpers named by phone or email (an unknown one stays on
    // the form with 422, as typed), who then have the point's desk; removed, they do not.
    assert!(
        page.has("可存放订单数") && page.has("还没有帮手"),
        "{}",
        page.body
    );
    let helper = member(&t, "帮手小李", 0).await;
    let add = format!("/me/leader/{lid}/helpers");
    let p = lb
        .submit("/me/leader", &add, &[("login", "13900000000")])
        .await
        .expect(422);
    assert!(
        p.has("id=\"helper-error\"") && p.has("value=\"13900000000\""),
        "{}",
        p.body
    );
    let p = lb
        .submit("/me/leader", &add, &[("login", helper.login.as_str())])
        .await
        .expect(303);
    let page = lb.get(&p.location()).await.expect(200);
    assert!(page.has("帮手小李"), "{}", page.body);
    let mut hb = Browser::login_user(&t, &helper).await;
    hb.get(&format!("/clerk/{store}")).await.expect(200);
    lb.submit(
        "/me/leader",
        &format!("/me/leader/{lid}/helpers/{}/remove", helper.id),
        &[],
    )
    .await
    .expect(303);
    let page = lb.get("/me/leader").await.expect(200);
    assert!(!page.has("帮手小李"), "{}", page.body);
    hb.get(&format!("/clerk/{store}")).await.expect(403);
    // Not staff: no console.
    mb.get(&format!("/console/{mid}/leaders")).await.expect(403);
    crate::worlds::audit_clean(&t).await;
}

/// 团长可开团商品 in the console (a floor above the list price refused beside the field,
/// what was typed kept), the leader's 开接龙 form (a price below the floor refused in
/// Chinese, naming the floor), the batch's page saying whose point it is, a member joining
/// there without having chosen a leader, and the product removed again.
async fn a_leader_opens_a_batch_through_the_pages(t: TestApp) {
    let (s, lead, lid) = shop_and_applicant(&t, "李团长", "桂花苑驿站", "桂花苑 2 栋楼下").await;
    let mid = s.merchant.clone();
    t.post(
        &format!("/api/v1/leaders/{lid}/approve"),
        Some(&s.owner.token),
        json!({ "rate_bp": 500 }),
    )
    .await
    .expect(200);
    let mut lb = Browser::login_user(&t, &lead).await;
    let page = lb.get("/me/leader").await.expect(200);
    assert!(
        page.has("no-allowed") && !page.has("open-batch-button"),
        "{}",
        page.body
    );

    // The console names what leaders may sell.
    let mut ob = Browser::login_user(&t, &s.owner).await;
    let leaders = format!("/console/{mid}/leaders");
    let allow = format!("/console/{mid}/leader-products");
    let page = ob.get(&leaders).await.expect(200);
    assert!(
        page.has("id=\"no-allowed\"") && page.has("id=\"allow-form\""),
        "{}",
        page.body
    );
    let p = ob
        .submit(
            &leaders,
            &allow,
            &[("sku_id", &s.sku), ("floor", "60"), ("max", "40")],
        )
        .await
        .expect(422);
    assert!(
        p.has("id=\"floor-error\"")
            && p.has("最低团购价需大于 0 元，且不高于原价")
            && p.has("value=\"60\""),
        "{}",
        p.body
    );
    let p = ob
        .submit(
            &leaders,
            &allow,
            &[("sku_id", &s.sku), ("floor", "35"), ("max", "40")],
        )
        .await
        .expect(303);
    assert!(p.location().ends_with("?done=saved"), "{}", p.location());
    let page = ob.get(&leaders).await.expect(200);
    assert!(
        page.has("id=\"allowed-products\"") && page.has("¥35.00"),
        "{}",
        page.body
    );

    // The leader opens a batch: below the floor is refused in Chinese, the title kept.
    let page = lb.get("/me/leader").await.expect(200);
    assert!(
        page.has("open-batch-button") && page.has("¥35.00"),
        "{}",
        page.body
    );
    let open = format!("/me/leader/{lid}/batches");
    let (cutoff, pickup) = (local(&t, 2 * HOUR_MS, true), local(&t, 24 * HOUR_MS, false));
    let form = |price: &'static str| {
        vec![
            ("title", "桂花苑周末鲜桃".to_owned()),
            ("cutoff", cutoff.clone()),
            ("pickup_date", pickup.clone()),
            ("min_total", "0".to_owned()),
            ("sku_id", s.sku.clone()),
            ("price", price.to_owned()),
            ("per_member", "3".to_owned()),
            ("quantity_limit", "20".to_owned()),
        ]
    };
    let low = form("30");
    let low: Vec<(&str, &str)> = low.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = lb.submit("/me/leader", &open, &low).await.expect(422);
    assert!(
        p.has("id=\"price-error\"")
            && p.has("团购价不能低于商家底价 ¥35.00")
            && p.has("value=\"桂花苑周末鲜桃\""),
        "{}",
        p.body
    );
    let good = form("38");
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = lb.submit("/me/leader", &open, &good).await.expect(303);
    let bid = p
        .location()
        .strip_prefix("/batches/")
        .and_then(|x| x.strip_suffix("?done=created"))
        .expect("the batch's page")
        .to_owned();
    let page = lb.get("/me/leader").await.expect(200);
    assert!(
        page.has("class=\"own-batch\"") && page.has("桂花苑周末鲜桃"),
        "{}",
        page.body
    );

    // A member who chose no leader joins and picks up at this leader's point.
    let buyer = member(&t, "王阿姨", 100_000).await;
    let mut mb = Browser::login_user(&t, &buyer).await;
    let batch_page = format!("/batches/{bid}");
    let page = mb.get(&batch_page).await.expect(200);
    assert!(
        page.has("id=\"opened-by\"")
            && page.has("李团长")
            && page.has("id=\"my-point\">桂花苑驿站")
            && !page.has("choose-first"),
        "{}",
        page.body
    );
    let p = mb
        .submit(
            &batch_page,
            &format!("/batches/{bid}/join"),
            &[(&format!("qty.{}", s.sku), "2")],
        )
        .await
        .expect(303);
    assert!(p.location().starts_with("/orders/"), "{}", p.location());
    let page = ob.get(&format!("/console/{mid}/batches")).await.expect(200);
    assert!(
        page.has("class=\"muted opened-by\"") && page.has("桂花苑驿站"),
        "{}",
        page.body
    );

    // Removed: the leader's form is gone, the open batch keeps its terms.
    let p = ob
        .submit(
            &leaders,
            &format!("/console/{mid}/leader-products/{}/remove", s.sku),
            &[],
        )
        .await
        .expect(303);
    assert!(p.location().ends_with("?done=removed"), "{}", p.location());
    let page = lb.get("/me/leader").await.expect(200);
    assert!(
        page.has("no-allowed") && !page.has("open-batch-button"),
        "{}",
        page.body
    );
    let page = mb.get(&batch_page).await.expect(200);
    assert!(page.has("id=\"join-form\""), "{}", page.body);
    // A member is not staff: the console's form is not theirs.
    mb.submit(
        &batch_page,
        &allow,
        &[("sku_id", &s.sku), ("floor", "1"), ("max", "1")],
    )
    .await
    .expect(403);
}
