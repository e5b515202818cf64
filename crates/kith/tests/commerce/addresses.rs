//! The member's address book (收货地址) over HTTP: saving, editing and deleting addresses with
//! one default, the limit, another member's address as unknown, regions checked part by part,
//! and checkout taking a saved address by id.

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{TestApp, address, id};

both_engines!(
    address_book_crud_keeps_one_default,
    address_book_is_limited_and_private,
    address_regions_must_fit_together,
    checkout_takes_a_saved_address,
);

const BOOK: &str = "/api/v1/me/addresses";

fn addr(detail: &str) -> Value {
    let mut a = address();
    a["detail"] = json!(detail);
    a
}

fn defaults(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("list")
        .iter()
        .filter(|a| a["is_default"] == true)
        .map(|a| a["detail"].as_str().unwrap().to_owned())
        .collect()
}

async fn address_book_crud_keeps_one_default(t: TestApp) {
    let me = t.register_member("王小美").await;
    let tok = Some(me.token.as_str());
    assert_eq!(t.get(BOOK, tok).await.expect(200), json!([]));
    t.get(BOOK, None).await.problem(401, None);

    // The first address is the default whatever it says.
    let mut first = addr("一号");
    first["is_default"] = json!(false);
    let a = t.post(BOOK, tok, first).await.expect(201);
    assert_eq!(a["is_default"], true);
    assert_eq!(
        (
            a["province"].as_str(),
            a["city"].as_str(),
            a["district"].as_str()
        ),
        (Some("贵州省"), Some("贵阳市"), Some("观山湖区"))
    );
    let b = t.post(BOOK, tok, addr("二号")).await.expect(201);
    assert_eq!(b["is_default"], false);
    // `is_default: true` moves the default.
    let mut c = addr("三号");
    c["is_default"] = json!(true);
    let c = t.post(BOOK, tok, c).await.expect(201);
    let list = t.get(BOOK, tok).await.expect(200);
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert_eq!(defaults(&list), ["三号"]);
    assert_eq!(list[0]["id"], c["id"], "the default first");

    // Edit b into another city and make it the default.
    t.clock.advance_secs(60);
    let mut edit = addr("二号改");
    edit["province"] = json!("浙江省");
    edit["city"] = json!("杭州市");
    edit["district"] = json!("西湖区");
    edit["is_default"] = json!(true);
    let b2 = t
        .put(&format!("{BOOK}/{}", id(&b)), tok, edit)
        .await
        .expect(200);
    assert_eq!(
        (b2["city"].as_str(), b2["is_default"].as_bool()),
        (Some("杭州市"), Some(true))
    );
    assert_eq!(b2["created_at"], b["created_at"]);
    assert_ne!(b2["updated_at"], b["updated_at"]);
    assert_eq!(defaults(&t.get(BOOK, tok).await.expect(200)), ["二号改"]);
    // `false` on the default changes nothing: there is always one.
    let mut keep = addr("二号改");
    keep["province"] = json!("浙江省");
    keep["city"] = json!("杭州市");
    keep["district"] = json!("西湖区");
    keep["is_default"] = json!(false);
    t.put(&format!("{BOOK}/{}", id(&b)), tok, keep)
        .await
        .expect(200);
    assert_eq!(defaults(&t.get(BOOK, tok).await.expect(200)), ["二号改"]);

    // Deleting the default hands it to the most recently changed one left.
    t.clock.advance_secs(60);
    t.put(&format!("{BOOK}/{}", id(&a)), tok, addr("一号改"))
        .await
        .expect(200);
    t.delete(&format!("{BOOK}/{}", id(&b)), tok)
        .await
        .expect(204);
    let list = t.get(BOOK, tok).await.expect(200);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(defaults(&list), ["一号改"]);
    t.delete(&format!("{BOOK}/{}", id(&b)), tok)
        .await
        .problem(404, None);
    t.delete(&format!("{BOOK}/{}", id(&a)), tok)
        .await
        .expect(204);
    t.delete(&format!("{BOOK}/{}", id(&c)), tok)
        .await
        .expect(204);
    assert_eq!(t.get(BOOK, tok).await.expect(200), json!([]));
    // Unknown fields are refused like everywhere.
    let mut zip = addr("x");
    zip["zip"] = json!("550000");
    t.post(BOOK, tok, zip).await.problem(422, None);
}

async fn address_book_is_limited_and_private(t: TestApp) {
    let me = t.register_member("李大").await;
    let other = t.register_member("张三").await;
    let tok = Some(me.token.as_str());
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(id(&t
            .post(BOOK, tok, addr(&format!("{i} 号")))
            .await
            .expect(201)));
    }
    // The 21st is refused, naming the rule; nothing is written.
    t.post(BOOK, tok, addr("21 号"))
        .await
        .problem(409, Some("addresses"));
    assert_eq!(
        t.get(BOOK, tok).await.expect(200).as_array().unwrap().len(),
        20
    );

    // Another member neither sees nor changes them: 404 as for an unknown id.
    assert_eq!(t.get(BOOK, Some(&other.token)).await.expect(200), json!([]));
    let path = format!("{BOOK}/{}", ids[3]);
    t.put(&path, Some(&other.token), addr("抢走"))
        .await
        .problem(404, None);
    t.delete(&path, Some(&other.token)).await.problem(404, None);
    t.put(&format!("{BOOK}/not-an-id"), tok, addr("x"))
        .await
        .problem(404, None);
    // Nor may they check out with it.
    let shop = t.shop().name("黔味小铺").price(1000).stock(5).build().await;
    t.post(
        &format!("/api/v1/merchants/{}/checkout", shop.merchant),
        Some(&other.token),
        json!({ "delivery": "shipping", "address_id": ids[3], "items": [{ "sku_id": shop.sku, "quantity": 1 }] }),
    )
    .await
    .problem(422, Some("address_id"));
    // Still the owner's, unchanged.
    let list = t.get(BOOK, tok).await.expect(200);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == ids[3].as_str() && a["detail"] == "3 号")
    );

    // After deleting one, one more fits.
    t.delete(&path, tok).await.expect(204);
    t.post(BOOK, tok, addr("新的")).await.expect(201);
}

async fn address_regions_must_fit_together(t: TestApp) {
    let me = t.register_member("赵四").await;
    let tok = Some(me.token.as_str());
    let bad = |k: &str, v: &str| {
        let mut a = addr("x");
        a[k] = json!(v);
        a
    };
    // A province that is not one.
    t.post(BOOK, tok, bad("province", "贵州"))
        .await
        .problem(422, Some("province"));
    // 杭州市 is Zhejiang's, not Guizhou's.
    t.post(BOOK, tok, bad("city", "杭州市"))
        .await
        .problem(422, Some("city"));
    // 西湖区 is Hangzhou's, not Guiyang's.
    t.post(BOOK, tok, bad("district", "西湖区"))
        .await
        .problem(422, Some("district"));
    t.post(BOOK, tok, bad("phone", "12345"))
        .await
        .problem(422, Some("phone"));
    t.post(BOOK, tok, bad("name", " "))
        .await
        .problem(422, Some("name"));
    assert_eq!(t.get(BOOK, tok).await.expect(200), json!([]));
    // Municipalities: 市辖区 is the city.
    let mut bj = addr("x");
    bj["province"] = json!("北京市");
    bj["city"] = json!("市辖区");
    bj["district"] = json!("海淀区");
    let saved = t.post(BOOK, tok, bj).await.expect(201);
    // An edit is checked the same way, and changes nothing when refused.
    t.put(
        &format!("{BOOK}/{}", id(&saved)),
        tok,
        bad("district", "海淀区"),
    )
    .await
    .problem(422, Some("district"));
    assert_eq!(t.get(BOOK, tok).await.expect(200)[0]["city"], "市辖区");
    // Checkout's typed address follows the same rule, its fields under `address.`.
    let shop = t.shop().name("黔味小铺").price(1000).stock(5).build().await;
    let mut typed = address();
    typed["district"] = json!("西湖区");
    t.post(
        &format!("/api/v1/merchants/{}/checkout", shop.merchant),
        tok,
        json!({ "delivery": "shipping", "address": typed, "items": [{ "sku_id": shop.sku, "quantity": 1 }] }),
    )
    .await
    .problem(422, Some("address.district"));
}

async fn checkout_takes_a_saved_address(t: TestApp) {
    let shop = t.shop().name("黔味小铺").price(1000).stock(5).build().await;
    let me = t.register_member("王小美").await;
    let tok = Some(me.token.as_str());
    let mut home = addr("林城东路 1 号");
    home["name"] = json!("王小美");
    let saved = t.post(BOOK, tok, home).await.expect(201);
    let url = format!("/api/v1/merchants/{}/checkout", shop.merchant);
    let items = json!([{ "sku_id": shop.sku, "quantity": 1 }]);

    // Both an address and an address id: refused, naming the field, nothing ordered.
    t.post(
        &url,
        tok,
        json!({ "delivery": "shipping", "address": address(), "address_id": id(&saved), "items": items }),
    )
    .await
    .problem(422, Some("address_id"));
    // An unknown id.
    t.post(
        &url,
        tok,
        json!({ "delivery": "shipping", "address_id": "3f1c2a58-0000-4000-8000-000000000000", "items": items }),
    )
    .await
    .problem(422, Some("address_id"));
    assert_eq!(
        t.get("/api/v1/me/orders", tok).await.expect(200)["items"],
        json!([])
    );

    let order = t
        .post(
            &url,
            tok,
            json!({ "delivery": "shipping", "address_id": id(&saved), "items": items }),
        )
        .await
        .expect(201);
    assert_eq!(order["address"]["detail"], "林城东路 1 号");
    assert_eq!(order["address"]["name"], "王小美");
    assert_eq!(order["address"]["district"], "观山湖区");

    // The order keeps its copy: editing or deleting the saved one does not change it.
    t.put(&format!("{BOOK}/{}", id(&saved)), tok, addr("别处"))
        .await
        .expect(200);
    t.delete(&format!("{BOOK}/{}", id(&saved)), tok)
        .await
        .expect(204);
    let again = t
        .get(&format!("/api/v1/orders/{}", id(&order)), tok)
        .await
        .expect(200);
    assert_eq!(again["address"]["detail"], "林城东路 1 号");
}
