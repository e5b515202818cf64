//! Inventory: every merchant has a default warehouse and a location per offline store;
//! staff adjust stock in and out, never below what is reserved; the history explains every
//! count; and reservations through checkout's internal functions never oversell, however
//! many arrive at once.

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{TestApp, User, id};
use kith_app::AppError;
use kith_app::commerce::inventory;

both_engines!(
    merchants_have_a_warehouse_and_a_location_per_store,
    stock_is_adjusted_and_never_goes_below_zero,
    another_merchants_skus_and_locations_are_not_found,
    concurrent_reservations_never_oversell,
);

fn base(mid: &str) -> String {
    format!("/api/v1/merchants/{mid}")
}

/// A product with one SKU at the merchant: the SKU's id.
async fn a_sku(t: &TestApp, owner: &User, mid: &str, code: &str) -> String {
    let p = t
        .post(
            &format!("{}/products", base(mid)),
            Some(&owner.token),
            json!({ "name": format!("商品 {code}") }),
        )
        .await
        .expect(201);
    let s = t
        .post(
            &format!("{}/products/{}/skus", base(mid), id(&p)),
            Some(&owner.token),
            json!({ "code": code, "list_price_fen": 1000 }),
        )
        .await
        .expect(201);
    id(&s)
}

/// The merchant's locations as staff see them.
async fn locations(t: &TestApp, who: &User, mid: &str) -> Vec<Value> {
    t.get(&format!("{}/locations", base(mid)), Some(&who.token))
        .await
        .expect(200)
        .as_array()
        .expect("list")
        .clone()
}

async fn warehouse(t: &TestApp, who: &User, mid: &str) -> String {
    let list = locations(t, who, mid).await;
    let w = list
        .iter()
        .find(|l| l["name"] == "主仓库")
        .expect("the default warehouse");
    id(w)
}

async fn adjust(
    t: &TestApp,
    who: &User,
    mid: &str,
    sku: &str,
    loc: &str,
    delta: i64,
) -> crate::harness::Resp {
    t.post(
        &format!("{}/stock/adjustments", base(mid)),
        Some(&who.token),
        json!({ "sku_id": sku, "location_id": loc, "delta": delta, "note": "盘点" }),
    )
    .await
}

/// (on_hand, reserved, available) of one SKU at one location, as the stock list shows it.
async fn level(t: &TestApp, who: &User, mid: &str, sku: &str, loc: &str) -> (i64, i64, i64) {
    let page = t
        .get(
            &format!("{}/stock?sku_id={sku}&location_id={loc}", base(mid)),
            Some(&who.token),
        )
        .await
        .expect(200);
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "one row: {page}");
    let r = &items[0];
    (
        r["on_hand"].as_i64().unwrap(),
        r["reserved"].as_i64().unwrap(),
        r["available"].as_i64().unwrap(),
    )
}

async fn merchants_have_a_warehouse_and_a_location_per_store(t: TestApp) {
    let (owner, mid) = t.approved_merchant("黔东南银饰").await;
    // The default warehouse exists from the first look, and the internal function agrees.
    let list = locations(&t, &owner, &mid).await;
    assert_eq!(list.len(), 1);
    assert_eq!(
        (
            list[0]["name"].as_str(),
            list[0]["kind"].as_str(),
            list[0]["store_id"].clone()
        ),
        (Some("主仓库"), Some("warehouse"), Value::Null)
    );
    let (m, now) = (mid.clone(), t.app.now_ms());
    let wid = t
        .app
        .db
        .write(move |c| inventory::warehouse_location(c, &m, now))
        .await
        .expect("warehouse");
    assert_eq!(wid, id(&list[0]));

    // A store gets its own location, created on first use (here: the list).
    let store = t.store(&owner, &mid, "西江千户苗寨店").await;
    let list = locations(&t, &owner, &mid).await;
    assert_eq!(list.len(), 2);
    let at_store = list
        .iter()
        .find(|l| l["kind"] == "store")
        .expect("store location");
    assert_eq!(at_store["store_id"], store.as_str());
    let (m, s) = (mid.clone(), store.clone());
    let sloc = t
        .app
        .db
        .write(move |c| inventory::store_location(c, &m, &s, now))
        .await
        .expect("store location");
    assert_eq!(sloc, id(at_store));
    // Asking again gives the same ones.
    assert_eq!(locations(&t, &owner, &mid).await.len(), 2);

    // Another merchant's store is not this merchant's: 404.
    let (other, other_mid) = t.approved_merchant("安顺屯堡").await;
    let other_store = t.store(&other, &other_mid, "屯堡店").await;
    let m = mid.clone();
    let e = t
        .app
        .db
        .write(move |c| inventory::store_location(c, &m, &other_store, now))
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::NotFound("store")), "{e:?}");

    // Extra warehouses: names unique among the merchant's locations, bounded.
    let path = format!("{}/locations", base(&mid));
    let w2 = t
        .post(&path, Some(&owner.token), json!({ "name": "凯里分仓" }))
        .await
        .expect(201);
    assert_eq!(
        (w2["kind"].as_str(), w2["name"].as_str()),
        (Some("warehouse"), Some("凯里分仓"))
    );
    t.post(&path, Some(&owner.token), json!({ "name": "凯里分仓" }))
        .await
        .problem(409, Some("name"));
    t.post(&path, Some(&owner.token), json!({ "name": "主仓库" }))
        .await
        .problem(409, Some("name"));
    t.post(&path, Some(&owner.token), json!({ "name": "" }))
        .await
        .problem(422, Some("name"));
    t.post(
        &path,
        Some(&owner.token),
        json!({ "name": "仓".repeat(33) }),
    )
    .await
    .problem(422, Some("name"));
    let names: Vec<_> = locations(&t, &owner, &mid)
        .await
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 3);
    assert_eq!(names[0], "主仓库");

    // Staff only.
    let member = t.register_member("好奇的顾客").await;
    t.get(&path, Some(&member.token)).await.problem(403, None);
    t.get(&path, Some(&other.token)).await.problem(403, None);
    t.post(&path, Some(&other.token), json!({ "name": "别人的仓" }))
        .await
        .problem(403, None);
    t.get(&path, None).await.problem(401, None);
}

async fn stock_is_adjusted_and_never_goes_below_zero(t: TestApp) {
    let (owner, mid) = t.approved_merchant("赫章核桃").await;
    let manager = t.manager(&owner, &mid).await;
    let sku = a_sku(&t, &owner, &mid, "HT-500").await;
    let wh = warehouse(&t, &owner, &mid).await;

    // +10, −3.
    let after = adjust(&t, &owner, &mid, &sku, &wh, 10).await.expect(201);
    assert_eq!(
        (
            after["on_hand"].as_i64(),
            after["reserved"].as_i64(),
            after["available"].as_i64()
        ),
        (Some(10), Some(0), Some(10))
    );
    assert_eq!(
        (after["sku_code"].as_str(), after["location_name"].as_str()),
        (Some("HT-500"), Some("主仓库"))
    );
    t.clock.advance_secs(1);
    let after = adjust(&t, &manager, &mid, &sku, &wh, -3).await.expect(201);
    assert_eq!(after["on_hand"], 7);

    // −8 is more than there is: 409 on delta, and nothing changes.
    adjust(&t, &owner, &mid, &sku, &wh, -8)
        .await
        .problem(409, Some("delta"));
    assert_eq!(level(&t, &owner, &mid, &sku, &wh).await, (7, 0, 7));

    // Bad input: 422 naming the field, nothing changes.
    adjust(&t, &owner, &mid, &sku, &wh, 0)
        .await
        .problem(422, Some("delta"));
    adjust(&t, &owner, &mid, &sku, &wh, 1_000_001)
        .await
        .problem(422, Some("delta"));
    adjust(&t, &owner, &mid, &sku, &wh, -1_000_001)
        .await
        .problem(422, Some("delta"));
    let adj = format!("{}/stock/adjustments", base(&mid));
    t.post(
        &adj,
        Some(&owner.token),
        json!({ "sku_id": sku, "location_id": wh, "delta": 1, "note": "长".repeat(201) }),
    )
    .await
    .problem(422, Some("note"));
    t.post(
        &adj,
        Some(&owner.token),
        json!({ "sku_id": sku, "location_id": wh }),
    )
    .await
    .problem(422, Some("delta"));
    t.post(
        &adj,
        Some(&owner.token),
        json!({ "sku_id": sku, "location_id": wh, "delta": 1.5 }),
    )
    .await
    .problem(422, Some("delta"));
    assert_eq!(level(&t, &owner, &mid, &sku, &wh).await, (7, 0, 7));

    // A location never stocked: taking out is refused, putting in creates the row.
    let shop = t.store(&owner, &mid, "赫章县城店").await;
    let (m, now) = (mid.clone(), t.app.now_ms());
    let shop_loc = t
        .app
        .db
        .write(move |c| inventory::store_location(c, &m, &shop, now))
        .await
        .expect("store location");
    adjust(&t, &owner, &mid, &sku, &shop_loc, -1)
        .await
        .problem(409, Some("delta"));
    adjust(&t, &owner, &mid, &sku, &shop_loc, 1_000_000)
        .await
        .expect(201);
    let all = t
        .get(
            &format!("{}/stock?sku_id={sku}", base(&mid)),
            Some(&owner.token),
        )
        .await
        .expect(200);
    assert_eq!(all["items"].as_array().map(Vec::len), Some(2));

    // The history, newest first, with who and why.
    let moves = t
        .get(
            &format!("{}/stock/movements?sku_id={sku}", base(&mid)),
            Some(&owner.token),
        )
        .await
        .expect(200);
    let items = moves["items"].as_array().expect("items");
    let deltas: Vec<i64> = items
        .iter()
        .map(|m| m["on_hand_delta"].as_i64().unwrap())
        .collect();
    assert_eq!(deltas, [1_000_000, -3, 10]);
    assert!(items.iter().all(|m| m["reason"] == "adjustment"
        && m["note"] == "盘点"
        && m["reserved_delta"] == 0
        && m["order_id"].is_null()));
    assert_eq!(
        (items[1]["actor_id"].as_str(), items[2]["actor_id"].as_str()),
        (Some(manager.id.as_str()), Some(owner.id.as_str()))
    );
    // In pages.
    let first = t
        .get(
            &format!("{}/stock/movements?sku_id={sku}&limit=2", base(&mid)),
            Some(&owner.token),
        )
        .await
        .expect(200);
    let cursor = first["next_cursor"].as_str().expect("next page").to_owned();
    let second = t
        .get(
            &format!(
                "{}/stock/movements?sku_id={sku}&limit=2&cursor={cursor}",
                base(&mid)
            ),
            Some(&owner.token),
        )
        .await
        .expect(200);
    assert_eq!(second["items"][0]["on_hand_delta"], 10);
    assert_eq!(second["next_cursor"], Value::Null);
    let at_wh = t
        .get(
            &format!("{}/stock/movements?location_id={wh}", base(&mid)),
            Some(&owner.token),
        )
        .await
        .expect(200);
    assert_eq!(at_wh["items"].as_array().map(Vec::len), Some(2));

    // Stock list pages too.
    let sku2 = a_sku(&t, &owner, &mid, "HT-1000").await;
    adjust(&t, &owner, &mid, &sku2, &wh, 5).await.expect(201);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = cursor
            .as_ref()
            .map_or(String::new(), |c| format!("&cursor={c}"));
        let page = t
            .get(
                &format!("{}/stock?limit=1{q}", base(&mid)),
                Some(&owner.token),
            )
            .await
            .expect(200);
        for r in page["items"].as_array().unwrap() {
            seen.push((
                r["sku_id"].as_str().unwrap().to_owned(),
                r["location_id"].as_str().unwrap().to_owned(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 3);
    t.get(
        &format!("{}/stock?cursor=bm90LWEtY3Vyc29y", base(&mid)),
        Some(&owner.token),
    )
    .await
    .problem(422, Some("cursor"));

    // Events went out with the changes.
    let m = mid.clone();
    let events: i64 = t
        .app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT COUNT(*) FROM outbox WHERE topic = 'stock.adjusted' AND merchant_id = $1",
                kith_store::args![&m],
            )?
            .int(0)
        })
        .await
        .expect("count");
    assert_eq!(events, 4);
}

async fn another_merchants_skus_and_locations_are_not_found(t: TestApp) {
    let (owner_a, a) = t.approved_merchant("盘州火腿").await;
    let (owner_b, b) = t.approved_merchant("水城猕猴桃").await;
    let sku_a = a_sku(&t, &owner_a, &a, "PZ-1").await;
    let sku_b = a_sku(&t, &owner_b, &b, "SC-1").await;
    let wh_a = warehouse(&t, &owner_a, &a).await;
    let wh_b = warehouse(&t, &owner_b, &b).await;
    adjust(&t, &owner_a, &a, &sku_a, &wh_a, 5).await.expect(201);

    // A's staff with B's SKU or B's location: 404, whatever the mix.
    adjust(&t, &owner_a, &a, &sku_b, &wh_a, 5)
        .await
        .problem(404, None);
    adjust(&t, &owner_a, &a, &sku_a, &wh_b, 5)
        .await
        .problem(404, None);
    adjust(&t, &owner_a, &a, &sku_b, &wh_b, 5)
        .await
        .problem(404, None);
    adjust(&t, &owner_a, &a, "not-a-uuid", &wh_a, 5)
        .await
        .problem(404, None);
    adjust(
        &t,
        &owner_a,
        &a,
        &sku_a,
        &kith_app::platform::ids::new_id(),
        5,
    )
    .await
    .problem(404, None);
    t.get(
        &format!("{}/stock?sku_id={sku_b}", base(&a)),
        Some(&owner_a.token),
    )
    .await
    .problem(404, None);
    t.get(
        &format!("{}/stock/movements?location_id={wh_b}", base(&a)),
        Some(&owner_a.token),
    )
    .await
    .problem(404, None);

    // B's staff and a member at A: 403 on everything.
    let member = t.register_member("顾客").await;
    for who in [&owner_b, &member] {
        adjust(&t, who, &a, &sku_a, &wh_a, 5)
            .await
            .problem(403, None);
        adjust(&t, who, &a, &sku_a, &wh_a, -5)
            .await
            .problem(403, None);
        t.get(&format!("{}/stock", base(&a)), Some(&who.token))
            .await
            .problem(403, None);
        t.get(&format!("{}/stock/movements", base(&a)), Some(&who.token))
            .await
            .problem(403, None);
    }
    t.post(
        &format!("{}/stock/adjustments", base(&a)),
        None,
        json!({ "sku_id": sku_a, "location_id": wh_a, "delta": 1 }),
    )
    .await
    .problem(401, None);

    // Nothing moved at either.
    assert_eq!(level(&t, &owner_a, &a, &sku_a, &wh_a).await, (5, 0, 5));
    let b_stock = t
        .get(&format!("{}/stock", base(&b)), Some(&owner_b.token))
        .await
        .expect(200);
    assert_eq!(b_stock["items"], json!([]));
    let a_moves = t
        .get(
            &format!("{}/stock/movements", base(&a)),
            Some(&owner_a.token),
        )
        .await
        .expect(200);
    assert_eq!(a_moves["items"].as_array().map(Vec::len), Some(1));
}

/// 200 orders race for 50 units through `inventory::reserve`, each in its own transaction:
/// exactly 50 win, the rest are told there is not enough stock, and no count ever goes
/// negative. Then 10 are released and 40 committed.
async fn concurrent_reservations_never_oversell(t: TestApp) {
    let (owner, mid) = t.approved_merchant("罗甸火龙果").await;
    let sku = a_sku(&t, &owner, &mid, "HLG-5").await;
    let wh = warehouse(&t, &owner, &mid).await;
    adjust(&t, &owner, &mid, &sku, &wh, 50).await.expect(201);

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let app = t.app.clone();
        let (m, l, s, order) = (
            mid.clone(),
            wh.clone(),
            sku.clone(),
            kith_app::platform::ids::new_id(),
        );
        tasks.spawn(async move {
            let now = app.now_ms();
            let o = order.clone();
            let res = app
                .db
                .write(move |c| inventory::reserve(c, &m, &l, &s, 1, &o, now))
                .await;
            (order, res)
        });
    }
    let mut won = Vec::new();
    let mut lost = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("task") {
            (order, Ok(())) => won.push(order),
            (_, Err(AppError::Conflict { field, .. })) => {
                assert_eq!(field.as_deref(), Some("quantity"));
                lost += 1;
            }
            (_, Err(e)) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!((won.len(), lost), (50, 150));
    assert_eq!(level(&t, &owner, &mid, &sku, &wh).await, (50, 50, 0));
    let (l, s) = (wh.clone(), sku.clone());
    assert_eq!(
        t.app
            .db
            .read(move |c| inventory::available(c, &l, &s))
            .await
            .expect("available"),
        0
    );
    // One more is refused; staff cannot take out reserved units either.
    let (m, l, s, o, now) = (
        mid.clone(),
        wh.clone(),
        sku.clone(),
        kith_app::platform::ids::new_id(),
        t.app.now_ms(),
    );
    let e = t
        .app
        .db
        .write(move |c| inventory::reserve(c, &m, &l, &s, 1, &o, now))
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Conflict { .. }), "{e:?}");
    adjust(&t, &owner, &mid, &sku, &wh, -1)
        .await
        .problem(409, Some("delta"));

    // Ten orders are cancelled, forty ship.
    for (i, order) in won.iter().enumerate() {
        let (l, s, o, now) = (wh.clone(), sku.clone(), order.clone(), t.app.now_ms());
        if i < 10 {
            t.app
                .db
                .write(move |c| inventory::release(c, &l, &s, 1, &o, now))
                .await
                .expect("release");
        } else {
            t.app
                .db
                .write(move |c| inventory::commit(c, &l, &s, 1, &o, now))
                .await
                .expect("commit");
        }
    }
    assert_eq!(level(&t, &owner, &mid, &sku, &wh).await, (10, 0, 10));
    // Nothing left reserved: a release or commit now is a caller's bug, and changes nothing.
    let (l, s, o, now) = (wh.clone(), sku.clone(), won[0].clone(), t.app.now_ms());
    let e = t
        .app
        .db
        .write(move |c| inventory::release(c, &l, &s, 1, &o, now))
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Internal(_)), "{e:?}");
    let (l, s, o, now) = (wh.clone(), sku.clone(), won[0].clone(), t.app.now_ms());
    let e = t
        .app
        .db
        .write(move |c| inventory::commit(c, &l, &s, 1, &o, now))
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Internal(_)), "{e:?}");
    assert_eq!(level(&t, &owner, &mid, &sku, &wh).await, (10, 0, 10));

    // Every change is in the history: 1 adjustment, 50 reservations, 10 releases, 40 commits.
    let m = mid.clone();
    let counts: Vec<(String, i64, i64, i64)> = t
        .app
        .db
        .read(move |c| {
            c.query(
                "SELECT reason, COUNT(*), CAST(SUM(on_hand_delta) AS bigint), CAST(SUM(reserved_delta) AS bigint)
                 FROM stock_movements WHERE merchant_id = $1 GROUP BY reason ORDER BY reason",
                kith_store::args![&m],
            )?
            .iter()
            .map(|r| Ok((r.text(0)?, r.int(1)?, r.int(2)?, r.int(3)?)))
            .collect::<Result<Vec<_>, kith_store::StoreError>>()
        })
        .await
        .expect("movements");
    assert_eq!(
        counts,
        [
            ("adjustment".to_owned(), 1, 50, 0),
            ("commit".to_owned(), 40, -40, -40),
            ("release".to_owned(), 10, 0, -10),
            ("reservation".to_owned(), 50, 0, 50),
        ]
    );
    let with_orders = t
        .get(
            &format!("{}/stock/movements?sku_id={sku}&limit=1", base(&mid)),
            Some(&owner.token),
        )
        .await
        .expect(200);
    let newest = &with_orders["items"][0];
    assert!(
        newest["order_id"].is_string() && newest["actor_id"].is_null(),
        "{newest}"
    );
}
