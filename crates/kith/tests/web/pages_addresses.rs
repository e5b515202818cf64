//! 我的 → 收货地址 and the cart's address over plain HTTP, as a browser without JavaScript
//! uses them (the region picker's inputs typed), on both engines: a refused field is said in
//! Chinese beside it with what was typed kept; the list adds, edits, makes default and
//! deletes; another member's address is not found; the cart preselects the default, takes a
//! saved address by id, and comes back to a new one added through 新增地址.

use crate::both_engines;
use crate::harness::TestApp;
use crate::web::Browser;

both_engines!(address_book_through_the_pages, cart_chooses_a_saved_address);

const GUIYANG: [(&str, &str); 6] = [
    ("name", "王小丽"),
    ("phone", "13800138000"),
    ("province", "贵州省"),
    ("city", "贵阳市"),
    ("district", "观山湖区"),
    ("detail", "金阳南路 6 号"),
];

/// The form with `key` set to `value`.
fn with<'a>(key: &str, value: &'a str) -> Vec<(&'static str, &'a str)> {
    GUIYANG
        .iter()
        .map(|&(k, v)| (k, if k == key { value } else { v }))
        .collect()
}

/// The id of the first saved address on the list page.
fn first_id(body: &str) -> String {
    let key = "id=\"address-";
    let at = body.find(key).expect("an address") + key.len();
    body[at..].split('"').next().unwrap().to_owned()
}

async fn address_book_through_the_pages(t: TestApp) {
    let u = t.register_member("王小丽").await;
    let mut b = Browser::login(&t, &u.login).await;
    assert!(b.get("/me").await.expect(200).has("href=\"/me/addresses\""));
    let list = b.get("/me/addresses").await.expect(200);
    assert!(list.has("id=\"no-addresses\""), "{}", list.body);
    let form = b.get("/me/addresses/new").await.expect(200);
    // The picker's inputs, its table as a hashed static asset.
    assert!(form.has("data-region=\"district\""));
    let table = form
        .body
        .split("data-regions=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the regions asset")
        .to_owned();
    assert!(
        table.starts_with("/static/regions.") && table.ends_with(".json"),
        "{table}"
    );
    let json = b.get(&table).await.expect(200);
    let regions: serde_json::Value = serde_json::from_str(&json.body).expect("json");
    assert!(
        regions["贵州省"]["贵阳市"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "观山湖区")
    );

    // 西湖区 is not Guiyang's: refused beside the district, in Chinese, what was typed kept.
    let p = b
        .submit(
            "/me/addresses/new",
            "/me/addresses",
            &with("district", "西湖区"),
        )
        .await
        .expect(422);
    assert_eq!(p.text_of("district-error"), "请选择该城市下的区县");
    assert!(
        p.has("value=\"西湖区\"") && p.has("value=\"金阳南路 6 号\"") && p.has("value=\"王小丽\"")
    );
    assert!(!p.has("id=\"city-error\""));
    let p = b
        .submit(
            "/me/addresses/new",
            "/me/addresses",
            &with("phone", "12345"),
        )
        .await
        .expect(422);
    assert_eq!(p.text_of("phone-error"), "请填写正确的 11 位手机号");
    assert!(p.has("value=\"12345\""));
    // In English, the English words.
    let p = b
        .submit(
            "/me/addresses/new?lang=en",
            "/me/addresses?lang=en",
            &with("city", "杭州市"),
        )
        .await
        .expect(422);
    assert_eq!(p.text_of("city-error"), "Choose a city of the province");

    // Saved: the first is the default.
    let p = b
        .submit("/me/addresses/new", "/me/addresses", &GUIYANG)
        .await
        .expect(303);
    assert_eq!(p.location(), "/me/addresses?done=saved");
    let list = b.get("/me/addresses").await.expect(200);
    let first = first_id(&list.body);
    assert!(list.has("class=\"badge ok default-address\""));
    // A second, in Beijing, then made the default from the list.
    let mut bj = with("province", "北京市");
    bj[3] = ("city", "市辖区");
    bj[4] = ("district", "海淀区");
    bj[5] = ("detail", "中关村大街 1 号");
    b.submit("/me/addresses/new", "/me/addresses", &bj)
        .await
        .expect(303);
    let list = b.get("/me/addresses").await.expect(200);
    assert_eq!(first_id(&list.body), first, "the default first");
    let second = list
        .body
        .match_indices("id=\"address-")
        .nth(1)
        .map(|(at, _)| list.body[at + 12..].split('"').next().unwrap().to_owned())
        .expect("two addresses");
    b.submit(
        "/me/addresses",
        &format!("/me/addresses/{second}/default"),
        &[],
    )
    .await
    .expect(303);
    let list = b.get("/me/addresses").await.expect(200);
    assert_eq!(first_id(&list.body), second, "the new default first");

    // Edit: the form is filled in; a refusal keeps the edit; a good one saves it.
    let edit = format!("/me/addresses/{first}/edit");
    assert!(
        b.get(&edit)
            .await
            .expect(200)
            .has("value=\"金阳南路 6 号\"")
    );
    let p = b
        .submit(
            &edit,
            &format!("/me/addresses/{first}"),
            &with("detail", " "),
        )
        .await
        .expect(422);
    assert_eq!(p.text_of("detail-error"), "请填写详细地址（1–200 个字）");
    b.submit(
        &edit,
        &format!("/me/addresses/{first}"),
        &with("detail", "金阳南路 8 号"),
    )
    .await
    .expect(303);
    assert!(
        b.get("/me/addresses")
            .await
            .expect(200)
            .has("金阳南路 8 号")
    );

    // Someone else cannot open, change or delete it.
    let other = t.register_member("张三").await;
    let mut o = Browser::login(&t, &other.login).await;
    o.get(&edit).await.expect(404);
    o.submit("/me", &format!("/me/addresses/{first}/delete"), &[])
        .await
        .expect(404);
    o.submit("/me", &format!("/me/addresses/{first}"), &GUIYANG)
        .await
        .expect(404);

    // Delete (the list's confirmation step posts this).
    let list = b.get("/me/addresses").await.expect(200);
    assert!(list.has("class=\"danger confirm-delete\""));
    let p = b
        .submit(
            "/me/addresses",
            &format!("/me/addresses/{first}/delete"),
            &[],
        )
        .await
        .expect(303);
    assert_eq!(p.location(), "/me/addresses?done=deleted");
    let list = b.get("/me/addresses").await.expect(200);
    assert!(!list.has("金阳南路") && list.has("中关村大街 1 号"));
}

async fn cart_chooses_a_saved_address(t: TestApp) {
    let s = t
        .shop()
        .name("黔味小铺")
        .price(1000)
        .stock(10)
        .build()
        .await;
    let u = t.register_member("王小丽").await;
    t.top_up(&u, 100_000).await;
    let mut b = Browser::login(&t, &u.login).await;
    let cart = format!("/shops/{}/cart", s.merchant);
    let checkout = format!("/shops/{}/checkout", s.merchant);
    let product = format!("/shops/{}/products/{}", s.merchant, s.product);
    b.submit(&product, &cart, &[("sku_id", &s.sku), ("quantity", "1")])
        .await
        .expect(303);

    // No saved address: the typed form, a bad district said beside it, kept.
    let page = b.get(&cart).await.expect(200);
    assert!(!page.has("id=\"saved-addresses\""));
    assert!(page.has("id=\"cart-add-address\""));
    let mut typed = with("district", "西湖区");
    typed.push(("delivery", "shipping"));
    let p = b.submit(&cart, &checkout, &typed).await.expect(422);
    assert_eq!(p.text_of("district-error"), "请选择该城市下的区县");
    assert!(p.has("value=\"西湖区\""));

    // 新增地址 from the cart: saved, and back in the cart with it chosen.
    let add = format!("/me/addresses/new?next={cart}");
    let form = b.get(&add).await.expect(200);
    assert!(form.has(&format!("name=\"next\" value=\"{cart}\"")));
    let mut first: Vec<(&str, &str)> = GUIYANG.to_vec();
    first.push(("next", &cart));
    let p = b.submit(&add, "/me/addresses", &first).await.expect(303);
    let back = p.location();
    assert!(back.starts_with(&format!("{cart}?address=")), "{back}");
    let id = back.rsplit('=').next().unwrap().to_owned();
    let page = b.get(&back).await.expect(200);
    assert!(
        page.has(&format!("name=\"address_id\" value=\"{id}\" checked")),
        "{}",
        page.body
    );
    // A second one, the default: the cart preselects it.
    let mut hz = with("province", "浙江省");
    hz[3] = ("city", "杭州市");
    hz[4] = ("district", "西湖区");
    hz[5] = ("detail", "文三路 1 号");
    hz.push(("is_default", "on"));
    b.submit("/me/addresses/new", "/me/addresses", &hz)
        .await
        .expect(303);
    let page = b.get(&cart).await.expect(200);
    assert!(!page.has(&format!("value=\"{id}\" checked")));
    let default_id = page
        .body
        .split("name=\"address_id\" value=\"")
        .skip(1)
        .find(|r| r.split('>').next().unwrap_or("").contains("checked"))
        .and_then(|r| r.split('"').next())
        .expect("a preselected address")
        .to_owned();
    assert_ne!(default_id, id);

    // Checking out with the chosen saved address (the typed fields left as they were).
    let p = b
        .submit(
            &cart,
            &checkout,
            &[
                ("delivery", "shipping"),
                ("address_id", &default_id),
                ("name", ""),
                ("province", ""),
            ],
        )
        .await
        .expect(303);
    let order_id = p.location().trim_start_matches("/orders/").to_owned();
    let o = t
        .get(&format!("/api/v1/orders/{order_id}"), Some(&u.token))
        .await
        .expect(200);
    assert_eq!(o["address"]["detail"], "文三路 1 号");
    assert_eq!(o["address"]["city"], "杭州市");
    let page = b.get(&format!("/orders/{order_id}")).await.expect(200);
    assert!(page.has("文三路 1 号"));
}
