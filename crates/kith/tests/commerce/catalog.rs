//! The catalog: a merchant builds categories, products and SKUs with prices per tier, puts
//! a product on sale, and buyers see it with the price of their own tier. Bad input names
//! its field and changes nothing; only the merchant's own staff change its catalog, and
//! nobody else sees its drafts.

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{TestApp, User, id};

both_engines!(
    the_catalog_journey,
    bad_catalog_input_names_its_field_and_changes_nothing,
    only_the_merchants_staff_manage_the_catalog,
    products_are_paged_and_filtered_by_status,
    checkout_reads_a_sku_on_sale,
);

fn base(mid: &str) -> String {
    format!("/api/v1/merchants/{mid}")
}

async fn tier(t: &TestApp, owner: &User, mid: &str, code: &str, name: &str, rank: i64) {
    t.post(
        &format!("{}/tiers", base(mid)),
        Some(&owner.token),
        json!({ "code": code, "name": name, "rank": rank }),
    )
    .await
    .expect(201);
}

async fn assign(t: &TestApp, owner: &User, mid: &str, who: &User, code: &str) {
    t.put(
        &format!("{}/members/{}/tier", base(mid), who.id),
        Some(&owner.token),
        json!({ "tier_code": code }),
    )
    .await
    .expect(200);
}

async fn product(t: &TestApp, who: &User, mid: &str, name: &str) -> Value {
    t.post(
        &format!("{}/products", base(mid)),
        Some(&who.token),
        json!({ "name": name }),
    )
    .await
    .expect(201)
}

async fn sku(t: &TestApp, who: &User, mid: &str, pid: &str, code: &str, price: i64) -> Value {
    t.post(
        &format!("{}/products/{pid}/skus", base(mid)),
        Some(&who.token),
        json!({ "code": code, "list_price_fen": price }),
    )
    .await
    .expect(201)
}

async fn set_status(
    t: &TestApp,
    who: &User,
    mid: &str,
    pid: &str,
    status: &str,
) -> crate::harness::Resp {
    t.put(
        &format!("{}/products/{pid}/status", base(mid)),
        Some(&who.token),
        json!({ "status": status }),
    )
    .await
}

/// The ids of the products listed at `path` as `who`.
async fn listed(t: &TestApp, path: &str, who: Option<&User>) -> Vec<String> {
    let page = t.get(path, who.map(|u| u.token.as_str())).await.expect(200);
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(id)
        .collect()
}

/// A SKU in a product view, by code.
fn sku_by_code<'a>(product: &'a Value, code: &str) -> &'a Value {
    product["skus"]
        .as_array()
        .expect("skus")
        .iter()
        .find(|s| s["code"] == code)
        .unwrap_or_else(|| panic!("no SKU {code} in {product}"))
}

async fn the_catalog_journey(t: TestApp) {
    let (owner, mid) = t.approved_merchant("茅台镇酱香酒坊").await;
    tier(&t, &owner, &mid, "member", "会员", 10).await;
    tier(&t, &owner, &mid, "shareholder", "股东", 20).await;

    // A category, and a product in it: a draft, with images (the allowed CDN's, and one
    // the owner uploaded).
    let photo = crate::worlds::upload(
        &t,
        Some(&owner.token),
        crate::worlds::small_png(7),
        "image/png",
        "jiu.png",
    )
    .await
    .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cat = t
        .post(
            &format!("{}/categories", base(&mid)),
            Some(&owner.token),
            json!({ "name": "白酒" }),
        )
        .await
        .expect(201);
    assert_eq!(cat["name"], "白酒");
    let cats = t
        .get(&format!("{}/categories", base(&mid)), None)
        .await
        .expect(200);
    assert_eq!(cats[0]["id"], cat["id"]);
    let p = t
        .post(
            &format!("{}/products", base(&mid)),
            Some(&owner.token),
            json!({
                "name": "酱香型白酒 53度",
                "description": "坤沙工艺，\n窖藏五年。",
                "category_id": cat["id"],
                "images": ["https://img.example.com/jiu/1.jpg", format!("/media/{photo}")]
            }),
        )
        .await
        .expect(201);
    let pid = id(&p);
    assert_eq!(
        (
            p["status"].as_str(),
            p["category_id"].as_str(),
            p["merchant_id"].as_str()
        ),
        (Some("draft"), cat["id"].as_str(), Some(mid.as_str()))
    );
    assert_eq!(p["description"], "坤沙工艺，\n窖藏五年。");
    assert_eq!(p["images"].as_array().map(Vec::len), Some(2));
    assert_eq!(p["skus"], json!([]));

    // Two SKUs with attributes, and tier prices.
    let bottle = t
        .post(
            &format!("{}/products/{pid}/skus", base(&mid)),
            Some(&owner.token),
            json!({ "code": "MT-500", "attrs": { "规格": "500ml", "颜色": "红" }, "weight_g": 1200, "list_price_fen": 49900 }),
        )
        .await
        .expect(201);
    assert_eq!(bottle["attrs"], json!({ "规格": "500ml", "颜色": "红" }));
    assert_eq!(
        (
            bottle["list_price_fen"].as_i64(),
            bottle["weight_g"].as_i64()
        ),
        (Some(49900), Some(1200))
    );
    let gift = sku(&t, &owner, &mid, &pid, "MT-GIFT_2", 99900).await;
    let bottle_path = format!("{}/skus/{}", base(&mid), id(&bottle));
    let priced = t
        .put(
            &format!("{bottle_path}/tier-prices/shareholder"),
            Some(&owner.token),
            json!({ "price_fen": 39900 }),
        )
        .await
        .expect(200);
    assert_eq!(
        priced["tier_prices"],
        json!([{ "tier_code": "shareholder", "tier_name": "股东", "price_fen": 39900 }])
    );
    t.put(
        &format!("{bottle_path}/tier-prices/member"),
        Some(&owner.token),
        json!({ "price_fen": 45900 }),
    )
    .await
    .expect(200);
    // Setting it again replaces it.
    let priced = t
        .put(
            &format!("{bottle_path}/tier-prices/member"),
            Some(&owner.token),
            json!({ "price_fen": 44900 }),
        )
        .await
        .expect(200);
    assert_eq!(
        priced["tier_prices"],
        json!([{ "tier_code": "member", "tier_name": "会员", "price_fen": 44900 }, { "tier_code": "shareholder", "tier_name": "股东", "price_fen": 39900 }])
    );
    t.put(
        &format!("{}/skus/{}/tier-prices/shareholder", base(&mid), id(&gift)),
        Some(&owner.token),
        json!({ "price_fen": 79900 }),
    )
    .await
    .expect(200);

    // A draft is the staff's alone.
    let product_path = format!("{}/products/{pid}", base(&mid));
    let stranger = t.register_member("路人").await;
    t.get(&product_path, None).await.problem(404, None);
    t.get(&product_path, Some(&stranger.token))
        .await
        .problem(404, None);
    assert!(
        listed(&t, &format!("{}/products", base(&mid)), None)
            .await
            .is_empty()
    );
    assert_eq!(
        listed(&t, &format!("{}/products", base(&mid)), Some(&owner)).await,
        std::slice::from_ref(&pid)
    );

    // On sale: the public sees it with list and tier prices.
    let active = set_status(&t, &owner, &mid, &pid, "active")
        .await
        .expect(200);
    assert_eq!(active["status"], "active");
    let public = t.get(&product_path, None).await.expect(200);
    assert_eq!(public["name"], "酱香型白酒 53度");
    assert_eq!(public["skus"].as_array().map(Vec::len), Some(2));
    let b = sku_by_code(&public, "MT-500");
    assert_eq!(b["list_price_fen"], 49900);
    assert_eq!(b["tier_prices"].as_array().map(Vec::len), Some(2));
    assert!(
        b.get("your_price_fen").is_none(),
        "anonymous readers have no price of their own: {b}"
    );
    assert_eq!(
        listed(&t, &format!("{}/products", base(&mid)), None).await,
        std::slice::from_ref(&pid)
    );

    // A shareholder pays the shareholder price; a member the member price, or the list
    // price where their tier has none; a stranger the list price.
    let gu = t.register_member("股东老顾").await;
    assign(&t, &owner, &mid, &gu, "shareholder").await;
    let mei = t.register_member("会员小美").await;
    assign(&t, &owner, &mid, &mei, "member").await;
    let seen = t.get(&product_path, Some(&gu.token)).await.expect(200);
    assert_eq!(sku_by_code(&seen, "MT-500")["your_price_fen"], 39900);
    assert_eq!(sku_by_code(&seen, "MT-GIFT_2")["your_price_fen"], 79900);
    let seen = t.get(&product_path, Some(&mei.token)).await.expect(200);
    assert_eq!(sku_by_code(&seen, "MT-500")["your_price_fen"], 44900);
    assert_eq!(sku_by_code(&seen, "MT-GIFT_2")["your_price_fen"], 99900);
    let seen = t
        .get(&product_path, Some(&stranger.token))
        .await
        .expect(200);
    assert_eq!(sku_by_code(&seen, "MT-500")["your_price_fen"], 49900);
    // The list shows the same prices.
    let page = t
        .get(&format!("{}/products", base(&mid)), Some(&gu.token))
        .await
        .expect(200);
    assert_eq!(
        sku_by_code(&page["items"][0], "MT-500")["your_price_fen"],
        39900
    );

    // Prices change: a new list price, and the shareholder price removed → list price.
    let updated = t
        .patch(
            &bottle_path,
            Some(&owner.token),
            json!({ "list_price_fen": 46900, "attrs": { "规格": "500ml" } }),
        )
        .await
        .expect(200);
    assert_eq!(
        (updated["list_price_fen"].as_i64(), updated["code"].as_str()),
        (Some(46900), Some("MT-500"))
    );
    assert_eq!(updated["attrs"], json!({ "规格": "500ml" }));
    t.delete(
        &format!("{bottle_path}/tier-prices/shareholder"),
        Some(&owner.token),
    )
    .await
    .expect(204);
    t.delete(
        &format!("{bottle_path}/tier-prices/shareholder"),
        Some(&owner.token),
    )
    .await
    .problem(404, None);
    let seen = t.get(&product_path, Some(&gu.token)).await.expect(200);
    assert_eq!(sku_by_code(&seen, "MT-500")["your_price_fen"], 46900);

    // The product is edited field by field; null takes it out of its category.
    let edited = t
        .patch(
            &product_path,
            Some(&owner.token),
            json!({ "name": "酱香型白酒 53度 珍藏" }),
        )
        .await
        .expect(200);
    assert_eq!(
        (edited["name"].as_str(), edited["category_id"].as_str()),
        (Some("酱香型白酒 53度 珍藏"), cat["id"].as_str())
    );
    assert_eq!(edited["images"].as_array().map(Vec::len), Some(2));
    let edited = t
        .patch(
            &product_path,
            Some(&owner.token),
            json!({ "category_id": null, "images": [] }),
        )
        .await
        .expect(200);
    assert_eq!(
        (edited["category_id"].clone(), edited["images"].clone()),
        (Value::Null, json!([]))
    );
    assert_eq!(edited["status"], "active");

    // Archived: gone from the public, still the staff's.
    set_status(&t, &owner, &mid, &pid, "archived")
        .await
        .expect(200);
    t.get(&product_path, None).await.problem(404, None);
    t.get(&product_path, Some(&gu.token))
        .await
        .problem(404, None);
    assert!(
        listed(&t, &format!("{}/products", base(&mid)), Some(&gu))
            .await
            .is_empty()
    );
    assert_eq!(
        t.get(&product_path, Some(&owner.token)).await.expect(200)["status"],
        "archived"
    );
    assert_eq!(
        listed(
            &t,
            &format!("{}/products?status=archived", base(&mid)),
            Some(&owner)
        )
        .await,
        std::slice::from_ref(&pid)
    );
}

async fn bad_catalog_input_names_its_field_and_changes_nothing(t: TestApp) {
    let (owner, mid) = t.approved_merchant("遵义羊肉粉").await;
    let (other, other_mid) = t.approved_merchant("安顺蜡染").await;
    tier(&t, &owner, &mid, "member", "会员", 10).await;
    tier(&t, &other, &other_mid, "shareholder", "股东", 20).await;
    let other_cat = t
        .post(
            &format!("{}/categories", base(&other_mid)),
            Some(&other.token),
            json!({ "name": "布艺" }),
        )
        .await
        .expect(201);

    // Categories.
    let cats = format!("{}/categories", base(&mid));
    t.post(&cats, Some(&owner.token), json!({ "name": "米粉" }))
        .await
        .expect(201);
    t.post(&cats, Some(&owner.token), json!({ "name": "米粉" }))
        .await
        .problem(409, Some("name"));
    t.post(&cats, Some(&owner.token), json!({ "name": "" }))
        .await
        .problem(422, Some("name"));
    t.post(
        &cats,
        Some(&owner.token),
        json!({ "name": "一".repeat(33) }),
    )
    .await
    .problem(422, Some("name"));
    assert_eq!(
        t.get(&cats, None)
            .await
            .expect(200)
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // Products.
    let products = format!("{}/products", base(&mid));
    let post = |body: Value| t.post(&products, Some(&owner.token), body);
    post(json!({ "name": "粉" }))
        .await
        .problem(422, Some("name"));
    post(json!({})).await.problem(422, Some("name"));
    post(json!({ "name": "羊肉粉", "description": "长".repeat(5001) }))
        .await
        .problem(422, Some("description"));
    post(json!({ "name": "羊肉粉", "images": vec!["https://img.example.com/a.jpg"; 11] }))
        .await
        .problem(422, Some("images"));
    post(json!({ "name": "羊肉粉", "images": ["https://img.example.com/a.jpg", "http://img.example.com/b.jpg"] })).await.problem(422, Some("images[1]"));
    post(json!({ "name": "羊肉粉", "images": [format!("https://img.example.com/{}", "a".repeat(512))] })).await.problem(422, Some("images[0]"));
    post(json!({ "name": "羊肉粉", "category_id": other_cat["id"] }))
        .await
        .problem(422, Some("category_id"));
    post(json!({ "name": "羊肉粉", "category_id": "not-a-uuid" }))
        .await
        .problem(422, Some("category_id"));
    post(json!({ "name": "羊肉粉", "status": "active" }))
        .await
        .problem(422, None);
    // Images only from the shop's uploads or an allowed host.
    post(json!({ "name": "羊肉粉", "images": ["/media/a.jpg"] }))
        .await
        .problem(422, Some("images[0]"));
    post(json!({ "name": "羊肉粉", "images": ["https://elsewhere.example.org/a.jpg"] }))
        .await
        .problem(422, Some("images[0]"));
    // The main picture and nine more are fine.
    let p = post(json!({ "name": "羊肉粉", "images": vec!["https://img.example.com/a.jpg"; 10] }))
        .await
        .expect(201);
    let pid = id(&p);
    assert_eq!(
        listed(&t, &products, Some(&owner)).await,
        std::slice::from_ref(&pid)
    );

    // A product with no SKU cannot go on sale; an unknown status is refused.
    set_status(&t, &owner, &mid, &pid, "active")
        .await
        .problem(409, None);
    set_status(&t, &owner, &mid, &pid, "deleted")
        .await
        .problem(422, Some("status"));
    let product_path = format!("{products}/{pid}");
    t.patch(
        &product_path,
        Some(&owner.token),
        json!({ "category_id": other_cat["id"] }),
    )
    .await
    .problem(422, Some("category_id"));
    t.patch(
        &product_path,
        Some(&owner.token),
        json!({ "images": vec!["https://img.example.com/a.jpg"; 11] }),
    )
    .await
    .problem(422, Some("images"));
    let still = t.get(&product_path, Some(&owner.token)).await.expect(200);
    assert_eq!(
        (
            still["status"].as_str(),
            still["category_id"].clone(),
            still["images"].as_array().map(Vec::len)
        ),
        (Some("draft"), Value::Null, Some(10))
    );

    // SKUs.
    let skus = format!("{products}/{pid}/skus");
    let post = |body: Value| t.post(&skus, Some(&owner.token), body);
    post(json!({ "code": "YRF-1", "list_price_fen": -1 }))
        .await
        .problem(422, Some("list_price_fen"));
    post(json!({ "code": "YRF 1", "list_price_fen": 1500 }))
        .await
        .problem(422, Some("code"));
    post(json!({ "code": "羊肉粉", "list_price_fen": 1500 }))
        .await
        .problem(422, Some("code"));
    post(json!({ "code": "", "list_price_fen": 1500 }))
        .await
        .problem(422, Some("code"));
    post(json!({ "code": "YRF-1", "list_price_fen": 1500, "attrs": ["大碗"] }))
        .await
        .problem(422, Some("attrs"));
    post(json!({ "code": "YRF-1", "list_price_fen": 1500, "attrs": "大碗" }))
        .await
        .problem(422, Some("attrs"));
    post(json!({ "code": "YRF-1", "list_price_fen": 1500, "attrs": { "份量": 2 } }))
        .await
        .problem(422, Some("attrs"));
    let eleven: serde_json::Map<String, Value> =
        (0..11).map(|i| (format!("属性{i}"), json!("值"))).collect();
    post(json!({ "code": "YRF-1", "list_price_fen": 1500, "attrs": eleven }))
        .await
        .problem(422, Some("attrs"));
    post(json!({ "code": "YRF-1", "list_price_fen": 1500, "weight_g": -5 }))
        .await
        .problem(422, Some("weight_g"));
    post(json!({ "code": "YRF-1", "list_price_fen": 15.5 }))
        .await
        .problem(422, Some("list_price_fen"));
    post(json!({ "code": "YRF-1" }))
        .await
        .problem(422, Some("list_price_fen"));
    assert_eq!(
        t.get(&product_path, Some(&owner.token)).await.expect(200)["skus"],
        json!([])
    );
    let s = post(json!({ "code": "YRF-1", "list_price_fen": 1500, "attrs": { "份量": "大碗" } }))
        .await
        .expect(201);
    // Codes are unique across the merchant, not only the product; another merchant may
    // use the same code.
    post(json!({ "code": "YRF-1", "list_price_fen": 1800 }))
        .await
        .problem(409, Some("code"));
    let p2 = product(&t, &owner, &mid, "牛肉粉").await;
    t.post(
        &format!("{products}/{}/skus", id(&p2)),
        Some(&owner.token),
        json!({ "code": "YRF-1", "list_price_fen": 1800 }),
    )
    .await
    .problem(409, Some("code"));
    let op = product(&t, &other, &other_mid, "蜡染方巾").await;
    sku(&t, &other, &other_mid, &id(&op), "YRF-1", 8800).await;

    // SKU changes and tier prices.
    let sku_path = format!("{}/skus/{}", base(&mid), id(&s));
    t.patch(
        &sku_path,
        Some(&owner.token),
        json!({ "list_price_fen": -100 }),
    )
    .await
    .problem(422, Some("list_price_fen"));
    t.patch(&sku_path, Some(&owner.token), json!({ "attrs": [1, 2] }))
        .await
        .problem(422, Some("attrs"));
    t.patch(&sku_path, Some(&owner.token), json!({ "code": "NEW" }))
        .await
        .problem(422, None);
    t.put(
        &format!("{sku_path}/tier-prices/gold"),
        Some(&owner.token),
        json!({ "price_fen": 1000 }),
    )
    .await
    .problem(422, Some("tier_code"));
    // The other merchant's tier is not this merchant's.
    t.put(
        &format!("{sku_path}/tier-prices/shareholder"),
        Some(&owner.token),
        json!({ "price_fen": 1000 }),
    )
    .await
    .problem(422, Some("tier_code"));
    t.put(
        &format!("{sku_path}/tier-prices/VIP"),
        Some(&owner.token),
        json!({ "price_fen": 1000 }),
    )
    .await
    .problem(422, Some("tier_code"));
    t.put(
        &format!("{sku_path}/tier-prices/member"),
        Some(&owner.token),
        json!({ "price_fen": -1 }),
    )
    .await
    .problem(422, Some("price_fen"));
    t.put(
        &format!("{sku_path}/tier-prices/member"),
        Some(&owner.token),
        json!({}),
    )
    .await
    .problem(422, Some("price_fen"));
    let unchanged = t.get(&product_path, Some(&owner.token)).await.expect(200);
    let only = &unchanged["skus"][0];
    assert_eq!(unchanged["skus"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        (
            only["list_price_fen"].as_i64(),
            only["tier_prices"].clone(),
            only["attrs"].clone()
        ),
        (Some(1500), json!([]), json!({ "份量": "大碗" }))
    );

    // Unknown ids are 404.
    t.post(
        &format!("{products}/{}/skus", kith_app::platform::ids::new_id()),
        Some(&owner.token),
        json!({ "code": "X", "list_price_fen": 1 }),
    )
    .await
    .problem(404, None);
    t.patch(
        &format!("{}/skus/{}", base(&mid), kith_app::platform::ids::new_id()),
        Some(&owner.token),
        json!({ "list_price_fen": 1 }),
    )
    .await
    .problem(404, None);
    t.get(&format!("{products}/nope"), Some(&owner.token))
        .await
        .problem(404, None);
    t.get(&format!("{products}?status=deleted"), Some(&owner.token))
        .await
        .problem(422, Some("status"));
}

async fn only_the_merchants_staff_manage_the_catalog(t: TestApp) {
    let (owner_a, a) = t.approved_merchant("甲茶庄").await;
    let (owner_b, b) = t.approved_merchant("乙茶庄").await;
    tier(&t, &owner_a, &a, "member", "会员", 10).await;
    let manager_a = t.manager(&owner_a, &a).await;
    let member = t.register_member("茶客").await;

    // A manager builds the catalog like the owner.
    let cat = t
        .post(
            &format!("{}/categories", base(&a)),
            Some(&manager_a.token),
            json!({ "name": "绿茶" }),
        )
        .await
        .expect(201);
    let p = product(&t, &manager_a, &a, "都匀毛尖").await;
    let pid = id(&p);
    let s = sku(&t, &manager_a, &a, &pid, "DYMJ-250", 12800).await;
    let sid = id(&s);
    let draft = product(&t, &owner_a, &a, "湄潭翠芽").await;

    let product_path = format!("{}/products/{pid}", base(&a));
    let sku_path = format!("{}/skus/{sid}", base(&a));
    for who in [&member, &owner_b] {
        let tok = Some(who.token.as_str());
        t.post(
            &format!("{}/categories", base(&a)),
            tok,
            json!({ "name": "红茶" }),
        )
        .await
        .problem(403, None);
        t.post(
            &format!("{}/products", base(&a)),
            tok,
            json!({ "name": "假茶" }),
        )
        .await
        .problem(403, None);
        t.patch(&product_path, tok, json!({ "name": "被改了" }))
            .await
            .problem(403, None);
        t.put(
            &format!("{product_path}/status"),
            tok,
            json!({ "status": "active" }),
        )
        .await
        .problem(403, None);
        t.post(
            &format!("{product_path}/skus"),
            tok,
            json!({ "code": "FAKE", "list_price_fen": 1 }),
        )
        .await
        .problem(403, None);
        t.patch(&sku_path, tok, json!({ "list_price_fen": 1 }))
            .await
            .problem(403, None);
        t.put(
            &format!("{sku_path}/tier-prices/member"),
            tok,
            json!({ "price_fen": 1 }),
        )
        .await
        .problem(403, None);
        t.delete(&format!("{sku_path}/tier-prices/member"), tok)
            .await
            .problem(403, None);
        // Nor can they read A's drafts.
        t.get(&product_path, tok).await.problem(404, None);
        t.get(&format!("{}/products/{}", base(&a), id(&draft)), tok)
            .await
            .problem(404, None);
        assert!(
            listed(&t, &format!("{}/products", base(&a)), Some(who))
                .await
                .is_empty()
        );
        assert!(
            listed(
                &t,
                &format!("{}/products?status=draft", base(&a)),
                Some(who)
            )
            .await
            .is_empty()
        );
    }
    t.post(
        &format!("{}/products", base(&a)),
        None,
        json!({ "name": "匿名茶" }),
    )
    .await
    .problem(401, None);
    // B's staff cannot reach A's product or SKU through B's own paths either.
    t.patch(
        &format!("{}/products/{pid}", base(&b)),
        Some(&owner_b.token),
        json!({ "name": "偷梁换柱" }),
    )
    .await
    .problem(404, None);
    t.post(
        &format!("{}/products/{pid}/skus", base(&b)),
        Some(&owner_b.token),
        json!({ "code": "B-1", "list_price_fen": 1 }),
    )
    .await
    .problem(404, None);
    t.patch(
        &format!("{}/skus/{sid}", base(&b)),
        Some(&owner_b.token),
        json!({ "list_price_fen": 1 }),
    )
    .await
    .problem(404, None);
    t.get(
        &format!("{}/products/{pid}", base(&b)),
        Some(&owner_b.token),
    )
    .await
    .problem(404, None);
    // B's category cannot hold A's product, nor A's category B's.
    let b_product = product(&t, &owner_b, &b, "乙家红茶").await;
    t.patch(
        &format!("{}/products/{}", base(&b), id(&b_product)),
        Some(&owner_b.token),
        json!({ "category_id": cat["id"] }),
    )
    .await
    .problem(422, Some("category_id"));

    // Nothing changed at A.
    let seen = t.get(&product_path, Some(&owner_a.token)).await.expect(200);
    assert_eq!(
        (seen["name"].as_str(), seen["status"].as_str()),
        (Some("都匀毛尖"), Some("draft"))
    );
    assert_eq!(
        (
            seen["skus"][0]["list_price_fen"].as_i64(),
            seen["skus"][0]["tier_prices"].clone()
        ),
        (Some(12800), json!([]))
    );
    assert_eq!(
        t.get(&format!("{}/categories", base(&a)), None)
            .await
            .expect(200)
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // A pending merchant does not trade: its owner cannot build a catalog yet, and the
    // public cannot see it.
    let applicant = t.register_member("待审茶庄老板").await;
    let pending = t
        .post(
            "/api/v1/merchants",
            Some(&applicant.token),
            json!({ "name": "待审茶庄" }),
        )
        .await
        .expect(201);
    let pending_id = id(&pending);
    t.post(
        &format!("{}/products", base(&pending_id)),
        Some(&applicant.token),
        json!({ "name": "未审之茶" }),
    )
    .await
    .problem(409, None);
    t.get(&format!("{}/products", base(&pending_id)), None)
        .await
        .problem(404, None);
    assert!(
        listed(
            &t,
            &format!("{}/products", base(&pending_id)),
            Some(&applicant)
        )
        .await
        .is_empty()
    );
}

async fn products_are_paged_and_filtered_by_status(t: TestApp) {
    let (owner, mid) = t.approved_merchant("威宁火腿").await;
    let mut ids = Vec::new();
    for name in ["火腿一号", "火腿二号", "火腿三号"] {
        let p = product(&t, &owner, &mid, name).await;
        sku(
            &t,
            &owner,
            &mid,
            &id(&p),
            &format!("HT-{}", ids.len()),
            5000,
        )
        .await;
        ids.push(id(&p));
        t.clock.advance_secs(1);
    }
    set_status(&t, &owner, &mid, &ids[1], "active")
        .await
        .expect(200);
    let products = format!("{}/products", base(&mid));

    // Staff: everything, oldest first, in pages.
    assert_eq!(listed(&t, &products, Some(&owner)).await, ids);
    let first = t
        .get(&format!("{products}?limit=2"), Some(&owner.token))
        .await
        .expect(200);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let second = t
        .get(
            &format!("{products}?limit=2&cursor={cursor}"),
            Some(&owner.token),
        )
        .await
        .expect(200);
    let got: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(id)
        .collect();
    assert_eq!(got, ids);
    assert_eq!(second["next_cursor"], Value::Null);
    assert_eq!(first["items"][0]["skus"][0]["code"], "HT-0");

    // By status.
    assert_eq!(
        listed(&t, &format!("{products}?status=active"), Some(&owner)).await,
        [ids[1].clone()]
    );
    assert_eq!(
        listed(&t, &format!("{products}?status=draft"), Some(&owner)).await,
        [ids[0].clone(), ids[2].clone()]
    );
    assert!(
        listed(&t, &format!("{products}?status=archived"), Some(&owner))
            .await
            .is_empty()
    );
    // The public: active only, whatever it asks for.
    assert_eq!(listed(&t, &products, None).await, [ids[1].clone()]);
    assert!(
        listed(&t, &format!("{products}?status=draft"), None)
            .await
            .is_empty()
    );
    t.get(&format!("{products}?limit=0"), None)
        .await
        .problem(422, Some("limit"));
    t.get(&format!("{products}?cursor=%21%21"), None)
        .await
        .problem(422, Some("cursor"));
}

/// Checkout reads a SKU through `kith_app::commerce::catalog::sku_for_checkout` inside its own
/// transaction: only the merchant's SKUs, only while the product is on sale.
async fn checkout_reads_a_sku_on_sale(t: TestApp) {
    let (owner, mid) = t.approved_merchant("织金竹荪").await;
    let (_, other_mid) = t.approved_merchant("纳雍土鸡").await;
    tier(&t, &owner, &mid, "member", "会员", 10).await;
    let p = product(&t, &owner, &mid, "织金竹荪 干货").await;
    let pid = id(&p);
    let s = t
        .post(
            &format!("{}/products/{pid}/skus", base(&mid)),
            Some(&owner.token),
            json!({ "code": "ZS-100", "attrs": { "规格": "100g" }, "list_price_fen": 6800 }),
        )
        .await
        .expect(201);
    let sid = id(&s);
    t.put(
        &format!("{}/skus/{sid}/tier-prices/member", base(&mid)),
        Some(&owner.token),
        json!({ "price_fen": 5800 }),
    )
    .await
    .expect(200);

    let read = |m: String, s: String| {
        t.app
            .db
            .read(move |c| kith_app::commerce::catalog::sku_for_checkout(c, &m, &s))
    };
    // A draft is not for sale: 409.
    let e = read(mid.clone(), sid.clone()).await.unwrap_err();
    assert!(matches!(e, kith_app::AppError::Conflict { .. }), "{e:?}");

    set_status(&t, &owner, &mid, &pid, "active")
        .await
        .expect(200);
    let got = read(mid.clone(), sid.clone()).await.expect("on sale");
    assert_eq!(
        (
            got.sku_id.as_str(),
            got.product_id.as_str(),
            got.product_name.as_str(),
            got.code.as_str()
        ),
        (sid.as_str(), pid.as_str(), "织金竹荪 干货", "ZS-100")
    );
    assert_eq!(
        serde_json::from_str::<Value>(&got.attrs_json).unwrap(),
        json!({ "规格": "100g" })
    );
    assert_eq!(
        (got.list_price_fen, got.tier_prices.clone()),
        (6800, vec![("member".to_owned(), 5800)])
    );

    // Not this merchant's, or not a SKU at all: 404.
    for (m, s) in [
        (other_mid.clone(), sid.clone()),
        (mid.clone(), kith_app::platform::ids::new_id()),
        (mid.clone(), "junk".to_owned()),
    ] {
        let e = read(m, s).await.unwrap_err();
        assert!(matches!(e, kith_app::AppError::NotFound("sku")), "{e:?}");
    }

    set_status(&t, &owner, &mid, &pid, "archived")
        .await
        .expect(200);
    let e = read(mid.clone(), sid.clone()).await.unwrap_err();
    assert!(matches!(e, kith_app::AppError::Conflict { .. }), "{e:?}");
}
