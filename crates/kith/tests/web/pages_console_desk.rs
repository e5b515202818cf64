//! The console as a merchant at a desk uses it (issue 18), on both engines: the shop's
//! sections down the side with the current one marked, orders as a table, the orders as a
//! CSV file for a spreadsheet (staff only), a refund that asks to be confirmed and a line
//! that says it was done; the products and the distributors as tables with their CSV
//! files too; the members and the withdrawals as tables and files, the member picker (the
//! shop's own members only, a phone found whole or by its shown tail), the fission tree
//! drawn as a tree, and the requests on the to-do list.

use crate::both_engines;
use crate::harness::TestApp;
use crate::web::Browser;
use crate::worlds::{earn_available, product_link, signup_via, standard_plan};

both_engines!(
    orders_table_csv_export_confirmation_and_flash,
    products_and_distributors_as_tables_and_csv,
    members_and_withdrawals_as_tables_and_csv_for_staff_only,
    the_member_picker_finds_only_the_shops_members_and_the_tree_is_drawn
);

/// The CSV body's rows, without the byte-order mark (which must be there).
fn csv_rows(body: &str) -> Vec<String> {
    assert!(body.starts_with('\u{feff}'), "a byte-order mark");
    body.trim_start_matches('\u{feff}')
        .lines()
        .map(str::to_owned)
        .collect()
}

async fn products_and_distributors_as_tables_and_csv(t: TestApp) {
    let s = t
        .shop()
        .plan(standard_plan())
        .tier("gold", "金卡", 10)
        .tier_price("gold", 8800)
        .build()
        .await;
    let sharer = t.register_member("带货的阿杰").await;
    earn_available(&t, &s, &sharer, 2000).await;
    let mut owner = Browser::login(&t, &s.owner.login).await;
    let console = format!("/console/{}", s.merchant);

    // Products: a sortable, filterable table with the export beside it.
    let p = owner.get(&format!("{console}/products")).await.expect(200);
    assert!(
        p.has("id=\"products-table\" data-filter=\"在表中查找")
            && p.has("高山红茶")
            && p.has("table-tools.")
            && p.has(&format!("href=\"{console}/products.csv\"")),
        "{}",
        p.body
    );
    let csv = owner
        .get(&format!("{console}/products.csv"))
        .await
        .expect(200);
    assert!(
        csv.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"products-")
    );
    let rows = csv_rows(&csv.body);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows[0].starts_with("商品,状态,规格编码,规格,售价(元),会员价(元)"),
        "{}",
        rows[0]
    );
    for cell in [
        "高山红茶",
        "在售",
        "TEA-250",
        "100.00",
        "金卡 88.00",
        ",2026-",
    ] {
        assert!(rows[1].contains(cell), "{cell} in {}", rows[1]);
    }

    // Distributors: the sharer's ¥20 available, in the table and in the file.
    let d = owner
        .get(&format!("{console}/distributors"))
        .await
        .expect(200);
    assert!(
        d.has("id=\"distributors-table\"") && d.has("带货的阿杰") && d.has("¥20.00"),
        "{}",
        d.body
    );
    let rows = csv_rows(
        &owner
            .get(&format!("{console}/distributors.csv"))
            .await
            .expect(200)
            .body,
    );
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows[0].starts_with("分销员,待结算(元)"), "{}", rows[0]);
    assert_eq!(rows[1], "带货的阿杰,0.00,0.00,20.00,20.00,1,1");
    let en = owner
        .get(&format!("{console}/distributors.csv?lang=en"))
        .await
        .expect(200);
    assert!(csv_rows(&en.body)[0].starts_with("Distributor,Pending (¥)"));

    // Only the shop's staff get either file.
    let mut member = Browser::login(&t, &sharer.login).await;
    for file in ["products.csv", "distributors.csv"] {
        member.get(&format!("{console}/{file}")).await.expect(403);
        let anon = Browser::new(&t)
            .get(&format!("{console}/{file}"))
            .await
            .expect(303);
        assert!(anon.location().starts_with("/login?next="));
    }
}

async fn orders_table_csv_export_confirmation_and_flash(t: TestApp) {
    let s = t.shop().plan(standard_plan()).build().await;
    let buyer = t.register_member("买茶的人").await;
    let o = t.order(&s, &buyer).qty(2).paid().await;
    let oid = o["id"].as_str().unwrap().to_owned();
    let mut owner = Browser::login(&t, &s.owner.login).await;
    let orders = format!("/console/{}/orders", s.merchant);

    // The dashboard's to-do list: the paid order to ship; no stock running out yet.
    let dash = format!("/console/{}", s.merchant);
    let d = owner.get(&dash).await.expect(200);
    assert!(
        d.has("id=\"todo-ship\"") && d.has("待发货订单 <strong>1</strong>"),
        "{}",
        d.body
    );
    assert!(!d.has("class=\"todo-stock\""));
    // Down to 3 available (5 on hand, 2 held by the order): on the list.
    let m = |p: &str| format!("/api/v1/merchants/{}{p}", s.merchant);
    let locations = t
        .get(&m("/locations"), Some(&s.owner.token))
        .await
        .expect(200);
    let warehouse = locations.as_array().unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.post(
        &m("/stock/adjustments"),
        Some(&s.owner.token),
        serde_json::json!({ "sku_id": s.sku, "location_id": warehouse, "delta": -995, "note": "盘点" }),
    )
    .await
    .expect(201);
    let d = owner.get(&dash).await.expect(200);
    assert!(d.has("class=\"todo-stock\""), "{}", d.body);
    assert!(
        d.has("TEA-250") && d.has("可售 <strong>3</strong>"),
        "{}",
        d.body
    );

    // The orders as a table; the side navigation marks where the merchant is.
    let page = owner.get(&orders).await.expect(200);
    assert!(
        page.has("id=\"orders-table\"") && page.has("高山红茶 ×2"),
        "{}",
        page.body
    );
    assert!(
        page.has(&format!("href=\"{orders}\" aria-current=\"page\"")),
        "{}",
        page.body
    );
    assert!(page.has(&format!(
        "href=\"/console/{}/products\" aria-current=\"false\"",
        s.merchant
    )));
    assert!(page.has("¥200.00"));

    // The CSV: a byte-order mark, the header in the page's language, one row per line,
    // amounts in 元 without the sign, Beijing time, statuses in words.
    let csv = owner.get(&format!("{orders}.csv")).await.expect(200);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        csv.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert!(csv.body.starts_with('\u{feff}'), "a byte-order mark");
    let rows: Vec<&str> = csv.body.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows[0].starts_with("订单号,下单时间,状态,商品"),
        "{}",
        rows[0]
    );
    assert!(rows[1].starts_with(&oid), "{}", rows[1]);
    for cell in ["高山红茶", "TEA-250", ",2,", "100.00", "200.00", "待发货"] {
        assert!(rows[1].contains(cell), "{cell} in {}", rows[1]);
    }
    assert!(
        !rows[1].contains('¥') && !rows[1].contains("Z,") && rows[1].contains(",2026-"),
        "{}",
        rows[1]
    );
    // Filtered by status like the list; English headers on an English page.
    let none = owner
        .get(&format!("{orders}.csv?status=refunded"))
        .await
        .expect(200);
    assert_eq!(none.body.trim_start_matches('\u{feff}').lines().count(), 1);
    owner
        .get(&format!("{orders}.csv?status=nonsense"))
        .await
        .expect(422);
    let en = owner
        .get(&format!("{orders}.csv?lang=en"))
        .await
        .expect(200);
    assert!(
        en.body
            .trim_start_matches('\u{feff}')
            .starts_with("Order,Placed,Status")
    );
    // Only the shop's staff get it.
    let mut stranger = Browser::login(&t, &buyer.login).await;
    stranger.get(&format!("{orders}.csv")).await.expect(403);
    let anon = Browser::new(&t)
        .get(&format!("{orders}.csv"))
        .await
        .expect(303);
    assert!(anon.location().starts_with("/login?next="));

    // A refund is a confirmation step, then a line saying it was done.
    let order_page = format!("{orders}/{oid}");
    let p = owner.get(&order_page).await.expect(200);
    assert!(
        p.has("<details class=\"card confirm\" id=\"refund-step\">"),
        "{}",
        p.body
    );
    assert!(p.has("id=\"refund\""));
    let done = owner
        .submit(
            &order_page,
            &format!("{order_page}/refund"),
            &[("reason", "缺货")],
        )
        .await
        .expect(303);
    assert_eq!(done.location(), format!("{order_page}?done=refunded"));
    let p = owner.get(&done.location()).await.expect(200);
    assert_eq!(p.text_of("flash"), "退款已提交，款项按原路退回");
    // An unknown `done` says nothing.
    let p = owner
        .get(&format!("{order_page}?done=whatever"))
        .await
        .expect(200);
    assert!(!p.has("id=\"flash\""));

    // Found by the buyer: part of a name, a whole phone or its last four digits — on the
    // page, in the export and in the API alike; a phone of other lengths cannot be one.
    let other = t.register_member("隔壁买家").await;
    t.order(&s, &other).qty(1).paid().await;
    let found = owner
        .get(&format!("{orders}?q={}", urlencoding("隔壁")))
        .await
        .expect(200);
    assert!(
        found.has("value=\"隔壁\"") && found.body.matches("class=\"console-order\"").count() == 1,
        "{}",
        found.body
    );
    let tail = &other.login[7..];
    let api = |q: &str| format!("/api/v1/merchants/{}/orders?q={q}", s.merchant);
    for q in [tail.to_owned(), other.login.clone()] {
        let page = t.get(&api(&q), Some(&s.owner.token)).await.expect(200);
        let buyers: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["buyer_id"].as_str().unwrap())
            .collect();
        assert_eq!(buyers, [other.id.as_str()], "{q}: {page}");
    }
    t.get(&api("12345"), Some(&s.owner.token))
        .await
        .problem(422, Some("q"));
    let refused = owner.get(&format!("{orders}?q=12345")).await.expect(200);
    assert!(
        refused.has("aria-invalid=\"true\"") && refused.has("id=\"orders-q-hint\""),
        "{}",
        refused.body
    );
    let csv = owner
        .get(&format!("{orders}.csv?q={tail}"))
        .await
        .expect(200);
    assert_eq!(
        csv.body.lines().count(),
        2,
        "a heading and one order: {}",
        csv.body
    );
}

/// A phone as the shop may see it.
fn masked(phone: &str) -> String {
    format!("{}****{}", &phone[..3], &phone[7..])
}

async fn members_and_withdrawals_as_tables_and_csv_for_staff_only(t: TestApp) {
    let s = t
        .shop()
        .plan(standard_plan())
        .tier("gold", "金卡", 10)
        .build()
        .await;
    let other = t.shop().name("隔壁小铺").build().await;
    let buyer = t.register_member("买茶的人").await;
    t.order(&s, &buyer).qty(2).paid().await;
    let sharer = t.register_member("带货的阿杰").await;
    earn_available(&t, &s, &sharer, 2000).await;
    // Someone with no tie to this shop (a buyer of the other one).
    let stranger = t.register_member("隔壁的老王").await;
    t.order(&other, &stranger).paid().await;
    let w = t
        .post(
            &format!("/api/v1/distributors/{}/withdrawals", sharer.id),
            Some(&sharer.token),
            serde_json::json!({ "merchant_id": s.merchant, "amount_fen": 1500 }),
        )
        .await
        .expect(201);
    let console = format!("/console/{}", s.merchant);
    let mut owner = Browser::login(&t, &s.owner.login).await;

    // The members: the buyer, the distributor and the member bound to them; the phone
    // masked, never whole; the stranger nowhere.
    let p = owner
        .get(&format!("{console}/members"))
        .await
        .expect(200)
        .compact();
    assert!(
        p.contains("id=\"members-table\" data-filter=\"在表中查找")
            && p.contains(&format!("href=\"{console}/members\" aria-current=\"page\""))
            && p.contains(&format!("href=\"{console}/members.csv\"")),
        "{p}"
    );
    assert!(
        p.contains(&format!(
            ">买</span>买茶的人</span></td><td class=\"code\">{}</td>",
            masked(&buyer.login)
        )),
        "{p}"
    );
    assert!(
        p.contains("<td class=\"num\">1</td><td class=\"num\" data-sort=\"20000\">¥200.00</td>"),
        "{p}"
    );
    assert!(
        p.contains(">带</span>带货的阿杰</span></td>") && p.contains(">顾</span>顾客</span></td>"),
        "{p}"
    );
    assert!(
        !p.contains(&buyer.login) && !p.contains("隔壁的老王"),
        "{p}"
    );

    // Searched by part of a name, by the whole number, by its last four digits.
    for q in ["茶的", buyer.login.as_str(), &buyer.login[7..]] {
        let p = owner
            .get(&format!("{console}/members?q={}", urlencoding(q)))
            .await
            .expect(200);
        assert!(p.has("买茶的人") && !p.has("带货的阿杰"), "{q}: {}", p.body);
    }
    // A middle part of the number would uncover the hidden digits: refused beside the box.
    let p = owner
        .get(&format!("{console}/members?q={}", &buyer.login[2..9]))
        .await
        .expect(422);
    assert!(
        p.has("aria-invalid=\"true\"") && p.has("id=\"members-q-hint\"") && p.has("尾号 4 位"),
        "{}",
        p.body
    );
    // The stranger's whole number finds nobody here.
    let p = owner
        .get(&format!("{console}/members?q={}", stranger.login))
        .await
        .expect(200);
    assert!(
        p.has("id=\"no-members\"") && !p.has("隔壁的老王"),
        "{}",
        p.body
    );

    // The file: every member, the phone masked as on the page, 元 and Beijing time.
    let rows = csv_rows(
        &owner
            .get(&format!("{console}/members.csv"))
            .await
            .expect(200)
            .body,
    );
    assert!(
        rows[0].starts_with("会员,手机,等级,订单数,消费(元),首次下单,最近下单"),
        "{}",
        rows[0]
    );
    let row = rows
        .iter()
        .find(|r| r.starts_with("买茶的人,"))
        .expect("the buyer's row");
    assert!(
        row.starts_with(&format!(
            "买茶的人,{},,1,200.00,2026-",
            masked(&buyer.login)
        )),
        "{row}"
    );
    assert_eq!(
        rows.len(),
        4,
        "header, buyer, distributor, bound member: {rows:?}"
    );

    // The withdrawals asked for at this shop.
    let p = owner
        .get(&format!("{console}/withdrawals"))
        .await
        .expect(200)
        .compact();
    assert!(
        p.contains("id=\"withdrawals-table\"")
            && p.contains("带货的阿杰")
            && p.contains("¥15.00")
            && p.contains("审核中"),
        "{p}"
    );
    let rows = csv_rows(
        &owner
            .get(&format!("{console}/withdrawals.csv"))
            .await
            .expect(200)
            .body,
    );
    assert!(
        rows[0].starts_with("会员,金额(元),状态,申请时间"),
        "{}",
        rows[0]
    );
    assert!(
        rows[1].starts_with("带货的阿杰,15.00,审核中,2026-"),
        "{}",
        rows[1]
    );
    assert_eq!(rows.len(), 2);
    // The admin's waiting withdrawals as a file too.
    let admin = t.admin().await;
    let mut a = Browser::login(&t, &admin.login).await;
    let p = a.get("/admin").await.expect(200);
    assert!(
        p.has(&format!("id=\"wd-{}\"", w["id"].as_str().unwrap())),
        "{}",
        p.body
    );
    let rows = csv_rows(&a.get("/admin/withdrawals.csv").await.expect(200).body);
    assert!(
        rows[0].starts_with("会员,商家,金额(元),申请时间")
            && rows[1].starts_with("带货的阿杰,")
            && rows[1].contains(",15.00,2026-"),
        "{rows:?}"
    );
    owner.get("/admin/withdrawals.csv").await.expect(403);

    // Only this shop's staff: not a member, not another shop's owner; a visitor signs in.
    let mut member = Browser::login(&t, &buyer.login).await;
    let mut neighbour = Browser::login(&t, &other.owner.login).await;
    for page in [
        "members",
        "members.csv",
        "members/search?q=买",
        "withdrawals",
        "withdrawals.csv",
    ] {
        let url = format!("{console}/{page}");
        member.get(&url).await.expect(403);
        neighbour.get(&url).await.expect(403);
        let anon = Browser::new(&t).get(&url).await.expect(303);
        assert!(anon.location().starts_with("/login?next="), "{page}");
    }
}

/// A query string value, percent-encoded.
fn urlencoding(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn the_member_picker_finds_only_the_shops_members_and_the_tree_is_drawn(t: TestApp) {
    let s = t
        .shop()
        .plan(standard_plan())
        .tier("gold", "金卡", 10)
        .build()
        .await;
    let other = t.shop().name("隔壁小铺").build().await;
    // 阿美 brings two people through her link; one of them brings a third.
    let amy = t.register_member("阿美").await;
    let (_, code) = product_link(&t, &s, &amy).await;
    let first = signup_via(&t, &code, "一号").await;
    let second = signup_via(&t, &code, "二号").await;
    t.order(&s, &first).paid().await;
    let (_, code) = product_link(&t, &s, &first).await;
    let third = signup_via(&t, &code, "三号").await;
    t.order(&s, &third).paid().await;
    let stranger = t.register_member("一号的邻居").await;
    t.order(&other, &stranger).paid().await;
    let console = format!("/console/{}", s.merchant);
    let mut owner = Browser::login(&t, &s.owner.login).await;

    // The picker's suggestions: the shop's members only, the phone masked.
    let found = owner
        .get(&format!(
            "{console}/members/search?q={}",
            urlencoding("一号")
        ))
        .await
        .expect(200);
    let picks: serde_json::Value = serde_json::from_str(&found.body).expect("JSON");
    assert_eq!(picks.as_array().map(Vec::len), Some(1), "{picks}");
    assert_eq!(picks[0]["id"], first.id.as_str());
    assert_eq!(picks[0]["name"], "一号");
    assert_eq!(picks[0]["phone"], masked(&first.login).as_str());
    let none = owner
        .get(&format!("{console}/members/search?q={}", stranger.login))
        .await
        .expect(200);
    assert_eq!(none.body.trim(), "[]");
    owner
        .get(&format!("{console}/members/search?q=12345"))
        .await
        .expect(422);
    // Another shop's owner cannot search this shop's members, nor a member.
    let mut neighbour = Browser::login(&t, &other.owner.login).await;
    neighbour
        .get(&format!(
            "{console}/members/search?q={}",
            urlencoding("一号")
        ))
        .await
        .expect(403);

    // Without JavaScript the tier form's search lists the matches as choices; the one
    // chosen gets the tier.
    let tiers = format!("{console}/tiers");
    let p = owner
        .get(&format!("{tiers}?q={}", &second.login[7..]))
        .await
        .expect(200);
    assert!(
        p.has(&format!(
            "name=\"account_id\" value=\"{}\" required checked",
            second.id
        )) && p.has("member-picker.")
            && p.has("form=\"tier-pick-search\""),
        "{}",
        p.body
    );
    assert!(!p.has("value=\"{}\"".replace("{}", first.id.as_str()).as_str()));
    let done = owner
        .submit(
            &tiers,
            &format!("{console}/member-tiers"),
            &[("account_id", second.id.as_str()), ("tier_code", "gold")],
        )
        .await
        .expect(303);
    assert_eq!(done.location(), format!("{tiers}?done=saved"));
    let p = owner
        .get(&format!("{console}/members?q={}", urlencoding("二号")))
        .await
        .expect(200)
        .compact();
    assert!(
        p.contains(">二</span>二号</span></td>") && p.contains("<td>金卡</td>"),
        "{p}"
    );

    // One coupon to one member, chosen the same way.
    let tpl = t
        .post(
            &format!("/api/v1/merchants/{}/coupon-templates", s.merchant),
            Some(&s.owner.token),
            serde_json::json!({ "name": "见面礼", "kind": "fixed", "off_fen": 500, "total_count": 10, "valid_days": 30 }),
        )
        .await
        .expect(201);
    let tid = tpl["id"].as_str().unwrap().to_owned();
    let coupons = owner.get(&format!("{console}/coupons")).await.expect(200);
    let to_member = format!("{console}/coupons/{tid}/to-member");
    assert!(
        coupons.has(&format!("href=\"{to_member}\"")),
        "{}",
        coupons.body
    );
    let p = owner
        .get(&format!("{to_member}?q={}", urlencoding("三号")))
        .await
        .expect(200);
    assert!(
        p.has(&format!("value=\"{}\"", third.id)) && p.has("见面礼"),
        "{}",
        p.body
    );
    let done = owner
        .submit(
            &to_member,
            &format!("{console}/coupons/{tid}/issue"),
            &[("account_id", third.id.as_str())],
        )
        .await
        .expect(303);
    assert!(
        done.location().ends_with("?done=issued"),
        "{}",
        done.location()
    );
    let mine = t
        .get("/api/v1/me/coupons", Some(&third.token))
        .await
        .expect(200);
    assert_eq!(mine.as_array().map(Vec::len), Some(1), "{mine}");
    neighbour.get(&to_member).await.expect(403);

    // The binding tree drawn as a tree: 阿美 above 一号 and 二号, 三号 under 一号.
    let p = owner
        .get(&format!("{console}/insight"))
        .await
        .expect(200)
        .compact();
    assert!(
        p.contains(
            "<ul class=\"tree\"><li><span class=\"node\">阿美 <small>带来 2 人</small></span><ul>\
             <li><span class=\"node\">一号 <small>带来 1 人</small></span><ul><li><span class=\"node\">三号</span></li></ul></li>\
             <li><span class=\"node\">二号</span></li></ul></li></ul>"
        ),
        "{p}"
    );

    // The to-do list names the requests waiting for the shop: an after-sale request.
    let order = t.order(&s, &second).paid().await;
    let oid = order["id"].as_str().unwrap();
    t.post(
        &format!("/api/v1/orders/{oid}/aftersales"),
        Some(&second.token),
        serde_json::json!({ "kind": "refund_only", "reason": "damaged", "lines": [{ "line_no": 1, "quantity": 1 }] }),
    )
    .await
    .expect(201);
    let d = owner.get(&console).await.expect(200);
    assert!(
        d.has("id=\"todo-aftersales\"") && d.has("售后申请待处理 <strong>1</strong>"),
        "{}",
        d.body
    );
    // Refusing it is a confirmation step.
    let q = owner
        .get(&format!("{console}/aftersales"))
        .await
        .expect(200);
    assert!(
        q.has("<details class=\"confirm\"><summary class=\"button secondary refuse\">"),
        "{}",
        q.body
    );
}
