//! The console as a merchant at a desk uses it (issue 18), on both engines: the shop's
//! sections down the side with the current one marked, orders as a table, the orders as a
//! CSV file for a spreadsheet (staff only), a refund that asks to be confirmed and a line
//! that says it was done; the products and the distributors as tables with their CSV
//! files too.

use crate::both_engines;
use crate::harness::TestApp;
use crate::web::Browser;
use crate::worlds::{earn_available, standard_plan};

both_engines!(
    orders_table_csv_export_confirmation_and_flash,
    products_and_distributors_as_tables_and_csv
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
}
