//! Offline stores and their clerks: staff open and edit stores (public once the merchant
//! trades), bad store input names its field, and a clerk acts only for the one store they
//! work at.

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{TestApp, User};

both_engines!(
    stores_are_opened_listed_and_edited,
    bad_store_input_names_its_field,
    a_clerk_sees_only_their_store,
    a_clerk_works_at_one_store_of_a_merchant,
    a_removed_clerk_loses_the_store,
    only_trading_staff_open_stores,
);

fn stores_path(mid: &str) -> String {
    format!("/api/v1/merchants/{mid}/stores")
}

/// A complete, valid store body.
fn store_body(name: &str) -> Value {
    json!({
        "name": name,
        "address": "贵州省贵阳市云岩区中华北路 1 号",
        "latitude": 26.5783,
        "longitude": 106.7135,
        "opening_hours": [
            { "weekday": 1, "opens": "09:00", "closes": "12:00" },
            { "weekday": 1, "opens": "13:00", "closes": "21:00" },
            { "weekday": 6, "opens": "10:00", "closes": "24:00" }
        ],
        "phone": "0851-85551234"
    })
}

/// `body` with `key` set to `value` (or removed when `value` is `None`).
fn with(mut body: Value, key: &str, value: Option<Value>) -> Value {
    let obj = body.as_object_mut().expect("object");
    match value {
        Some(v) => obj.insert(key.to_owned(), v),
        None => obj.remove(key),
    };
    body
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("list")
        .iter()
        .map(|s| s["name"].as_str().expect("name").to_owned())
        .collect()
}

async fn accept(t: &TestApp, who: &User, invitation: &Value) -> crate::harness::Resp {
    t.post(
        "/api/v1/invitations/accept",
        Some(&who.token),
        json!({ "code": invitation["code"] }),
    )
    .await
}

async fn invite_clerk(t: &TestApp, staff: &User, mid: &str, store: &str) -> Value {
    t.post(
        &format!("{}/{store}/clerk-invitations", stores_path(mid)),
        Some(&staff.token),
        json!({}),
    )
    .await
    .expect(201)
}

async fn clerk_view(t: &TestApp, who: Option<&User>, store: &str) -> crate::harness::Resp {
    t.get(
        &format!("/api/v1/clerk/stores/{store}"),
        who.map(|u| u.token.as_str()),
    )
    .await
}

async fn stores_are_opened_listed_and_edited(t: TestApp) {
    let (owner, mid) = t.approved_merchant("贵阳肠旺面").await;
    let s = t
        .post(
            &stores_path(&mid),
            Some(&owner.token),
            store_body("中华北路店"),
        )
        .await
        .expect(201);
    let sid = s["id"].as_str().unwrap().to_owned();
    assert_eq!(s["merchant_id"], mid.as_str());
    assert_eq!(
        (s["latitude"].as_f64(), s["longitude"].as_f64()),
        (Some(26.5783), Some(106.7135))
    );
    assert_eq!(s["opening_hours"], store_body("x")["opening_hours"]);
    assert_eq!(s["phone"], "0851-85551234");

    // Public: members choose a pickup store without logging in.
    let list = t.get(&stores_path(&mid), None).await.expect(200);
    assert_eq!(names(&list), ["中华北路店"]);
    assert_eq!(list[0]["opening_hours"][2]["closes"], "24:00");
    assert_eq!(
        t.get(&format!("{}/{sid}", stores_path(&mid)), None)
            .await
            .expect(200)["address"],
        "贵州省贵阳市云岩区中华北路 1 号"
    );

    // A full update by a manager.
    let manager = t.manager(&owner, &mid).await;
    t.clock.advance_secs(60);
    let new_hours = json!([{ "weekday": 7, "opens": "08:30", "closes": "20:00" }]);
    let updated = t
        .put(
            &format!("{}/{sid}", stores_path(&mid)),
            Some(&manager.token),
            with(
                with(
                    store_body("中华北路旗舰店"),
                    "opening_hours",
                    Some(new_hours.clone()),
                ),
                "phone",
                None,
            ),
        )
        .await
        .expect(200);
    assert_eq!(
        (updated["name"].as_str(), updated["phone"].clone()),
        (Some("中华北路旗舰店"), Value::Null)
    );
    assert_eq!(updated["opening_hours"], new_hours);
    assert_eq!(updated["created_at"], s["created_at"]);
    assert_ne!(updated["updated_at"], s["updated_at"]);
    assert_eq!(
        names(&t.get(&stores_path(&mid), None).await.expect(200)),
        ["中华北路旗舰店"]
    );

    // Names are unique within the merchant, on create and on update.
    let second = t
        .post(
            &stores_path(&mid),
            Some(&owner.token),
            store_body("花果园店"),
        )
        .await
        .expect(201);
    t.post(
        &stores_path(&mid),
        Some(&owner.token),
        store_body("花果园店"),
    )
    .await
    .problem(409, Some("name"));
    t.put(
        &format!("{}/{}", stores_path(&mid), second["id"].as_str().unwrap()),
        Some(&owner.token),
        store_body("中华北路旗舰店"),
    )
    .await
    .problem(409, Some("name"));
    let mut all = names(&t.get(&stores_path(&mid), None).await.expect(200));
    all.sort();
    assert_eq!(all, ["中华北路旗舰店", "花果园店"]);
    // Another merchant may use the same name.
    let (other, other_mid) = t.approved_merchant("遵义豆花面").await;
    t.post(
        &stores_path(&other_mid),
        Some(&other.token),
        store_body("花果园店"),
    )
    .await
    .expect(201);
    // A store is reached only through its own merchant.
    t.get(&format!("{}/{sid}", stores_path(&other_mid)), None)
        .await
        .problem(404, None);
    t.put(
        &format!("{}/{sid}", stores_path(&other_mid)),
        Some(&other.token),
        store_body("抢来的店"),
    )
    .await
    .problem(404, None);
    t.put(
        &format!(
            "{}/{}",
            stores_path(&mid),
            kith_app::platform::ids::new_id()
        ),
        Some(&owner.token),
        store_body("无此店"),
    )
    .await
    .problem(404, None);
}

async fn bad_store_input_names_its_field(t: TestApp) {
    let (owner, mid) = t.approved_merchant("安顺裹卷").await;
    let sid = t.store(&owner, &mid, "总店").await;
    let hours = |w: Value| Some(w);
    let cases: Vec<(Value, &str)> = vec![
        (
            with(store_body("新店"), "latitude", Some(json!(91))),
            "latitude",
        ),
        (
            with(store_body("新店"), "longitude", Some(json!(-180.5))),
            "longitude",
        ),
        (with(store_body("新店"), "longitude", None), "longitude"),
        (
            with(store_body("新店"), "latitude", Some(json!("north"))),
            "latitude",
        ),
        (with(store_body("新店"), "name", Some(json!(""))), "name"),
        (with(store_body("新店"), "name", Some(json!(42))), "name"),
        (
            with(store_body("新店"), "address", Some(json!("一号"))),
            "address",
        ),
        (
            with(
                store_body("新店"),
                "opening_hours",
                hours(json!([{ "weekday": 8, "opens": "09:00", "closes": "12:00" }])),
            ),
            "opening_hours[0].weekday",
        ),
        (
            with(
                store_body("新店"),
                "opening_hours",
                hours(json!([{ "weekday": 0, "opens": "09:00", "closes": "12:00" }])),
            ),
            "opening_hours[0].weekday",
        ),
        (
            with(
                store_body("新店"),
                "opening_hours",
                hours(json!([{ "weekday": 300, "opens": "09:00", "closes": "12:00" }])),
            ),
            "opening_hours[0].weekday",
        ),
        (
            with(
                store_body("新店"),
                "opening_hours",
                hours(
                    json!([{ "weekday": 2, "opens": "09:00", "closes": "12:00" }, { "weekday": 2, "opens": "11:00", "closes": "14:00" }]),
                ),
            ),
            "opening_hours[1]",
        ),
        (
            with(
                store_body("新店"),
                "opening_hours",
                hours(json!([{ "weekday": 1, "opens": "9:00", "closes": "12:00" }])),
            ),
            "opening_hours[0].opens",
        ),
        (
            with(
                store_body("新店"),
                "opening_hours",
                hours(json!([{ "weekday": 1, "opens": "09:00", "closes": "08:00" }])),
            ),
            "opening_hours[0].closes",
        ),
        (
            with(
                store_body("新店"),
                "opening_hours",
                hours(json!([{ "weekday": 1, "opens": "09:00" }])),
            ),
            "opening_hours[0].closes",
        ),
        (
            with(
                store_body("新店"),
                "opening_hours",
                hours(json!(vec![
                    json!({ "weekday": 1, "opens": "09:00", "closes": "10:00" });
                    22
                ])),
            ),
            "opening_hours",
        ),
        (
            with(store_body("新店"), "phone", Some(json!("call us"))),
            "phone",
        ),
        (
            with(store_body("新店"), "manager", Some(json!("小王"))),
            "manager",
        ),
    ];
    for (body, field) in &cases {
        let got = t
            .post(&stores_path(&mid), Some(&owner.token), body.clone())
            .await
            .problem(422, None);
        assert_eq!(got["field"], *field, "POST {body} → {got}");
        // The same on update: a full replacement is validated the same way.
        let got = t
            .put(
                &format!("{}/{sid}", stores_path(&mid)),
                Some(&owner.token),
                body.clone(),
            )
            .await
            .problem(422, None);
        assert_eq!(got["field"], *field, "PUT {body} → {got}");
    }
    // Nothing of it was stored or changed.
    let list = t.get(&stores_path(&mid), None).await.expect(200);
    assert_eq!(names(&list), ["总店"]);
    assert_eq!(
        list[0]["opening_hours"],
        json!([{ "weekday": 1, "opens": "09:00", "closes": "21:00" }])
    );
}

async fn a_clerk_sees_only_their_store(t: TestApp) {
    let (owner, mid) = t.approved_merchant("都匀毛尖").await;
    let manager = t.manager(&owner, &mid).await;
    let s1 = t.store(&owner, &mid, "一号店").await;
    let s2 = t.store(&owner, &mid, "二号店").await;

    // Staff (here a manager) invite; a member accepts and becomes the store's clerk.
    let inv = invite_clerk(&t, &manager, &mid, &s1).await;
    assert_eq!(
        (inv["role"].as_str(), inv["store_id"].as_str()),
        (Some("clerk"), Some(s1.as_str()))
    );
    let clerk = t.register_member("一号店店员").await;
    accept(&t, &clerk, &inv).await.expect(200);
    let me = t.me(&clerk).await;
    assert_eq!(
        me["clerk_of"],
        json!([{ "store_id": s1, "store_name": "一号店", "merchant_id": mid }])
    );
    assert_eq!(me["staff_of"], json!([]));

    let view = clerk_view(&t, Some(&clerk), &s1).await.expect(200);
    assert_eq!(
        (view["id"].as_str(), view["name"].as_str()),
        (Some(s1.as_str()), Some("一号店"))
    );

    // Everyone else is refused: the other store's clerk, a member, the staff themselves
    // (they are not clerks), and a clerk of another merchant.
    let other_clerk = t.clerk(&owner, &mid, &s2).await;
    clerk_view(&t, Some(&other_clerk), &s1)
        .await
        .problem(403, None);
    clerk_view(&t, Some(&clerk), &s2).await.problem(403, None);
    let member = t.register_member("顾客").await;
    let body = clerk_view(&t, Some(&member), &s1).await.problem(403, None);
    assert!(!body.to_string().contains("一号店"), "{body}");
    clerk_view(&t, Some(&owner), &s1).await.problem(403, None);
    let (other_owner, other_mid) = t.approved_merchant("湄潭翠芽").await;
    let elsewhere = t.store(&other_owner, &other_mid, "湄潭店").await;
    let foreign_clerk = t.clerk(&other_owner, &other_mid, &elsewhere).await;
    clerk_view(&t, Some(&foreign_clerk), &s1)
        .await
        .problem(403, None);
    // Staff invite only to their own merchant's stores.
    t.post(
        &format!("{}/{elsewhere}/clerk-invitations", stores_path(&mid)),
        Some(&owner.token),
        json!({}),
    )
    .await
    .problem(404, None);
    t.post(
        &format!("{}/{elsewhere}/clerk-invitations", stores_path(&other_mid)),
        Some(&owner.token),
        json!({}),
    )
    .await
    .problem(403, None);
    clerk_view(&t, None, &s1).await.problem(401, None);
    clerk_view(&t, Some(&clerk), &kith_app::platform::ids::new_id())
        .await
        .problem(404, None);

    // A clerk is not staff: the staff endpoints refuse them.
    let clerks = format!("{}/{s1}/clerks", stores_path(&mid));
    t.get(&clerks, Some(&clerk.token)).await.problem(403, None);
    t.post(
        &format!("{}/{s1}/clerk-invitations", stores_path(&mid)),
        Some(&clerk.token),
        json!({}),
    )
    .await
    .problem(403, None);
    t.put(
        &format!("{}/{s1}", stores_path(&mid)),
        Some(&clerk.token),
        store_body("店员改名"),
    )
    .await
    .problem(403, None);
    let listed = t.get(&clerks, Some(&owner.token)).await.expect(200);
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(
        (
            listed[0]["account_id"].as_str(),
            listed[0]["store_id"].as_str()
        ),
        (Some(clerk.id.as_str()), Some(s1.as_str()))
    );
}

async fn a_clerk_works_at_one_store_of_a_merchant(t: TestApp) {
    let (owner, mid) = t.approved_merchant("织金竹荪").await;
    let s1 = t.store(&owner, &mid, "东门店").await;
    let s2 = t.store(&owner, &mid, "西门店").await;
    let clerk = t.clerk(&owner, &mid, &s1).await;

    // A second store of the same merchant: refused, and the invitation stays unused.
    let inv = invite_clerk(&t, &owner, &mid, &s2).await;
    accept(&t, &clerk, &inv).await.problem(409, Some("code"));
    assert_eq!(
        t.me(&clerk).await["clerk_of"].as_array().map(Vec::len),
        Some(1)
    );
    clerk_view(&t, Some(&clerk), &s2).await.problem(403, None);
    // Someone else can still use the refused invitation.
    let newcomer = t.register_member("新店员").await;
    accept(&t, &newcomer, &inv).await.expect(200);
    clerk_view(&t, Some(&newcomer), &s2).await.expect(200);

    // A store of another merchant is fine.
    let (other_owner, other_mid) = t.approved_merchant("威宁荞麦").await;
    let other_store = t.store(&other_owner, &other_mid, "威宁店").await;
    accept(
        &t,
        &clerk,
        &invite_clerk(&t, &other_owner, &other_mid, &other_store).await,
    )
    .await
    .expect(200);
    let me = t.me(&clerk).await;
    let stores: Vec<_> = me["clerk_of"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["store_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stores, [s1.clone(), other_store]);

    // The same store twice: refused the same way.
    let again = invite_clerk(&t, &owner, &mid, &s1).await;
    accept(&t, &clerk, &again).await.problem(409, Some("code"));
}

async fn a_removed_clerk_loses_the_store(t: TestApp) {
    let (owner, mid) = t.approved_merchant("青岩猪蹄").await;
    let s1 = t.store(&owner, &mid, "古镇店").await;
    let s2 = t.store(&owner, &mid, "新区店").await;
    let clerk = t.clerk(&owner, &mid, &s1).await;
    clerk_view(&t, Some(&clerk), &s1).await.expect(200);
    let clerks = format!("{}/{s1}/clerks", stores_path(&mid));

    // Removing them through the other store is not removing them.
    t.delete(
        &format!("{}/{s2}/clerks/{}", stores_path(&mid), clerk.id),
        Some(&owner.token),
    )
    .await
    .problem(404, None);
    clerk_view(&t, Some(&clerk), &s1).await.expect(200);

    t.delete(&format!("{clerks}/{}", clerk.id), Some(&owner.token))
        .await
        .expect(204);
    clerk_view(&t, Some(&clerk), &s1).await.problem(403, None);
    assert_eq!(t.me(&clerk).await["clerk_of"], json!([]));
    assert_eq!(
        t.get(&clerks, Some(&owner.token)).await.expect(200),
        json!([])
    );
    t.delete(&format!("{clerks}/{}", clerk.id), Some(&owner.token))
        .await
        .problem(404, None);

    // Free to work at the merchant's other store now.
    accept(&t, &clerk, &invite_clerk(&t, &owner, &mid, &s2).await)
        .await
        .expect(200);
    clerk_view(&t, Some(&clerk), &s2).await.expect(200);
    clerk_view(&t, Some(&clerk), &s1).await.problem(403, None);
}

async fn only_trading_staff_open_stores(t: TestApp) {
    let applicant = t.register_member("待审老板").await;
    let pending = t
        .post(
            "/api/v1/merchants",
            Some(&applicant.token),
            json!({ "name": "还没批的店" }),
        )
        .await
        .expect(201);
    let pid = pending["id"].as_str().unwrap();
    t.post(
        &stores_path(pid),
        Some(&applicant.token),
        store_body("抢跑店"),
    )
    .await
    .problem(409, None);
    assert_eq!(
        t.get(&stores_path(pid), Some(&applicant.token))
            .await
            .expect(200),
        json!([])
    );

    let (owner, mid) = t.approved_merchant("正式商家").await;
    let member = t.register_member("路人").await;
    let (other_owner, _) = t.approved_merchant("隔壁商家").await;
    for who in [&member, &other_owner] {
        t.post(
            &stores_path(&mid),
            Some(&who.token),
            store_body("别人开的店"),
        )
        .await
        .problem(403, None);
    }
    t.post(&stores_path(&mid), None, store_body("匿名店"))
        .await
        .problem(401, None);
    assert_eq!(
        t.get(&stores_path(&mid), Some(&owner.token))
            .await
            .expect(200),
        json!([])
    );
}
