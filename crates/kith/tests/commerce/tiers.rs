//! Membership tiers: a merchant defines 会员 and 股东, puts members in them, and the
//! member sees their own tier. Codes and ranks are unique per merchant; a held tier
//! cannot be deleted; only the merchant's own trading staff manage its tiers.

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{TestApp, User};

both_engines!(
    tiers_are_defined_and_listed_by_rank,
    tiers_are_renamed_and_reranked,
    members_hold_one_tier,
    a_held_tier_cannot_be_deleted,
    only_the_merchants_staff_manage_tiers,
    staff_list_tier_members,
    a_missing_tier_code_changes_nothing,
    at_most_twenty_tiers,
);

fn tiers_path(mid: &str) -> String {
    format!("/api/v1/merchants/{mid}/tiers")
}

fn member_tier_path(mid: &str, account: &str) -> String {
    format!("/api/v1/merchants/{mid}/members/{account}/tier")
}

/// Creates a tier as `who`; returns it.
async fn tier(t: &TestApp, who: &User, mid: &str, code: &str, name: &str, rank: i64) -> Value {
    t.post(
        &tiers_path(mid),
        Some(&who.token),
        json!({ "code": code, "name": name, "rank": rank }),
    )
    .await
    .expect(201)
}

/// The codes of the merchant's tiers, in the order the public list gives them.
async fn codes(t: &TestApp, mid: &str) -> Vec<String> {
    let list = t.get(&tiers_path(mid), None).await.expect(200);
    list.as_array()
        .expect("list")
        .iter()
        .map(|t| t["code"].as_str().expect("code").to_owned())
        .collect()
}

async fn my_tier(t: &TestApp, who: &User, mid: &str) -> Value {
    t.get(
        &format!("/api/v1/merchants/{mid}/my-tier"),
        Some(&who.token),
    )
    .await
    .expect(200)
}

async fn tiers_are_defined_and_listed_by_rank(t: TestApp) {
    let (owner, mid) = t.approved_merchant("六盘水刺梨").await;
    // Created out of order on purpose: the list is by rank, not by creation.
    let shareholder = tier(&t, &owner, &mid, "shareholder", "股东", 20).await;
    assert_eq!(
        (
            shareholder["code"].as_str(),
            shareholder["name"].as_str(),
            shareholder["rank"].as_i64()
        ),
        (Some("shareholder"), Some("股东"), Some(20))
    );
    assert_eq!(shareholder["merchant_id"], mid.as_str());
    tier(&t, &owner, &mid, "member", "会员", 10).await;

    // Public, lowest rank first.
    let list = t.get(&tiers_path(&mid), None).await.expect(200);
    assert_eq!(list[0]["name"], "会员");
    assert_eq!(list[1]["id"], shareholder["id"]);
    assert_eq!(codes(&t, &mid).await, ["member", "shareholder"]);

    // Duplicates are conflicts naming the field; bad input is 422 naming the field.
    let tp = tiers_path(&mid);
    let post = |body: Value| t.post(&tp, Some(&owner.token), body);
    post(json!({ "code": "member", "name": "又一个会员", "rank": 30 }))
        .await
        .problem(409, Some("code"));
    post(json!({ "code": "gold", "name": "金卡", "rank": 10 }))
        .await
        .problem(409, Some("rank"));
    post(json!({ "code": "VIP", "name": "贵宾", "rank": 30 }))
        .await
        .problem(422, Some("code"));
    post(json!({ "code": "9lives", "name": "九命", "rank": 30 }))
        .await
        .problem(422, Some("code"));
    post(json!({ "code": "gold", "name": "金卡", "rank": 1001 }))
        .await
        .problem(422, Some("rank"));
    post(json!({ "code": "gold", "name": "金卡", "rank": -1 }))
        .await
        .problem(422, Some("rank"));
    post(json!({ "code": "gold", "name": "", "rank": 30 }))
        .await
        .problem(422, Some("name"));
    post(json!({ "code": "gold", "name": "金卡" }))
        .await
        .problem(422, Some("rank"));
    post(json!({ "code": "gold", "name": "金卡", "rank": "30" }))
        .await
        .problem(422, Some("rank"));
    post(json!({ "code": "gold", "name": "金卡", "rank": 30, "price": 1 }))
        .await
        .problem(422, None);
    // None of it was stored; the boundary rank is fine.
    assert_eq!(codes(&t, &mid).await, ["member", "shareholder"]);
    tier(&t, &owner, &mid, "gold", "金卡", 1000).await;
    assert_eq!(codes(&t, &mid).await, ["member", "shareholder", "gold"]);

    // Another merchant may use the same codes and ranks.
    let (other, other_mid) = t.approved_merchant("毕节土豆").await;
    tier(&t, &other, &other_mid, "member", "会员", 10).await;
}

async fn tiers_are_renamed_and_reranked(t: TestApp) {
    let (owner, mid) = t.approved_merchant("铜仁抹茶").await;
    tier(&t, &owner, &mid, "member", "会员", 10).await;
    let sh = tier(&t, &owner, &mid, "shareholder", "股东", 20).await;
    let path = format!("{}/{}", tiers_path(&mid), sh["id"].as_str().unwrap());

    let renamed = t
        .patch(&path, Some(&owner.token), json!({ "name": "大股东" }))
        .await
        .expect(200);
    assert_eq!(
        (
            renamed["name"].as_str(),
            renamed["rank"].as_i64(),
            renamed["code"].as_str()
        ),
        (Some("大股东"), Some(20), Some("shareholder"))
    );
    // Re-ranked below 会员, the list order follows.
    t.patch(&path, Some(&owner.token), json!({ "rank": 5 }))
        .await
        .expect(200);
    assert_eq!(codes(&t, &mid).await, ["shareholder", "member"]);

    t.patch(&path, Some(&owner.token), json!({ "rank": 10 }))
        .await
        .problem(409, Some("rank"));
    t.patch(&path, Some(&owner.token), json!({ "rank": 5000 }))
        .await
        .problem(422, Some("rank"));
    // The code is permanent.
    t.patch(&path, Some(&owner.token), json!({ "code": "boss" }))
        .await
        .problem(422, None);
    let list = t.get(&tiers_path(&mid), None).await.expect(200);
    assert_eq!(
        (list[0]["name"].as_str(), list[0]["rank"].as_i64()),
        (Some("大股东"), Some(5))
    );

    t.patch(
        &format!("{}/{}", tiers_path(&mid), kith_app::platform::ids::new_id()),
        Some(&owner.token),
        json!({ "name": "无" }),
    )
    .await
    .problem(404, None);
}

async fn members_hold_one_tier(t: TestApp) {
    let (owner, mid) = t.approved_merchant("凯里酸汤").await;
    tier(&t, &owner, &mid, "member", "会员", 10).await;
    tier(&t, &owner, &mid, "shareholder", "股东", 20).await;
    let mei = t.register_member("小美").await;
    let path = member_tier_path(&mid, &mei.id);
    assert_eq!(my_tier(&t, &mei, &mid).await, Value::Null);

    let held = t
        .put(&path, Some(&owner.token), json!({ "tier_code": "member" }))
        .await
        .expect(200);
    assert_eq!(
        (
            held["account_id"].as_str(),
            held["display_name"].as_str(),
            held["tier_code"].as_str(),
            held["tier_name"].as_str()
        ),
        (
            Some(mei.id.as_str()),
            Some("小美"),
            Some("member"),
            Some("会员")
        )
    );
    assert_eq!(my_tier(&t, &mei, &mid).await["tier_code"], "member");

    // Promoted: one tier at a time.
    t.put(
        &path,
        Some(&owner.token),
        json!({ "tier_code": "shareholder" }),
    )
    .await
    .expect(200);
    let mine = my_tier(&t, &mei, &mid).await;
    assert_eq!(
        (mine["tier_code"].as_str(), mine["tier_name"].as_str()),
        (Some("shareholder"), Some("股东"))
    );

    // An unknown or malformed code is refused and changes nothing: she is still 股东.
    t.put(&path, Some(&owner.token), json!({ "tier_code": "gold" }))
        .await
        .problem(422, Some("tier_code"));
    t.put(&path, Some(&owner.token), json!({ "tier_code": "VIP" }))
        .await
        .problem(422, Some("tier_code"));
    assert_eq!(my_tier(&t, &mei, &mid).await["tier_code"], "shareholder");

    // Unknown account: 404.
    t.put(
        &member_tier_path(&mid, &kith_app::platform::ids::new_id()),
        Some(&owner.token),
        json!({ "tier_code": "member" }),
    )
    .await
    .problem(404, None);

    // null takes her out: back to list prices.
    assert_eq!(
        t.put(&path, Some(&owner.token), json!({ "tier_code": null }))
            .await
            .expect(200),
        Value::Null
    );
    assert_eq!(my_tier(&t, &mei, &mid).await, Value::Null);

    // Tiers are per merchant: at another merchant she holds nothing.
    let (_, other) = t.approved_merchant("镇远陈年道菜").await;
    t.put(&path, Some(&owner.token), json!({ "tier_code": "member" }))
        .await
        .expect(200);
    assert_eq!(my_tier(&t, &mei, &other).await, Value::Null);
    t.get(&format!("/api/v1/merchants/{mid}/my-tier"), None)
        .await
        .problem(401, None);
}

async fn a_held_tier_cannot_be_deleted(t: TestApp) {
    let (owner, mid) = t.approved_merchant("赤水竹笋").await;
    let member = tier(&t, &owner, &mid, "member", "会员", 10).await;
    let path = format!("{}/{}", tiers_path(&mid), member["id"].as_str().unwrap());
    let lin = t.register_member("小林").await;
    t.put(
        &member_tier_path(&mid, &lin.id),
        Some(&owner.token),
        json!({ "tier_code": "member" }),
    )
    .await
    .expect(200);

    t.delete(&path, Some(&owner.token)).await.problem(409, None);
    assert_eq!(codes(&t, &mid).await, ["member"]);
    assert_eq!(my_tier(&t, &lin, &mid).await["tier_code"], "member");

    t.put(
        &member_tier_path(&mid, &lin.id),
        Some(&owner.token),
        json!({ "tier_code": null }),
    )
    .await
    .expect(200);
    t.delete(&path, Some(&owner.token)).await.expect(204);
    assert!(codes(&t, &mid).await.is_empty());
    t.delete(&path, Some(&owner.token)).await.problem(404, None);
    // The code is free for a new tier.
    tier(&t, &owner, &mid, "member", "新会员", 10).await;
}

async fn only_the_merchants_staff_manage_tiers(t: TestApp) {
    let (owner_a, a) = t.approved_merchant("甲商家").await;
    let (owner_b, b) = t.approved_merchant("乙商家").await;
    let a_tier = tier(&t, &owner_a, &a, "member", "会员", 10).await;
    let a_tier_path = format!("{}/{}", tiers_path(&a), a_tier["id"].as_str().unwrap());
    let member = t.register_member("普通会员").await;
    let manager_a = t.manager(&owner_a, &a).await;

    // A manager may; a member and the staff of another merchant may not.
    tier(&t, &manager_a, &a, "shareholder", "股东", 20).await;
    for who in [&member, &owner_b] {
        t.post(
            &tiers_path(&a),
            Some(&who.token),
            json!({ "code": "gold", "name": "金卡", "rank": 30 }),
        )
        .await
        .problem(403, None);
        t.patch(&a_tier_path, Some(&who.token), json!({ "name": "被改了" }))
            .await
            .problem(403, None);
        t.delete(&a_tier_path, Some(&who.token))
            .await
            .problem(403, None);
        t.put(
            &member_tier_path(&a, &member.id),
            Some(&who.token),
            json!({ "tier_code": "member" }),
        )
        .await
        .problem(403, None);
    }
    t.post(
        &tiers_path(&a),
        None,
        json!({ "code": "gold", "name": "金卡", "rank": 30 }),
    )
    .await
    .problem(401, None);
    // B's staff cannot reach A's tier through B's own path either.
    let through_b = format!("{}/{}", tiers_path(&b), a_tier["id"].as_str().unwrap());
    t.patch(
        &through_b,
        Some(&owner_b.token),
        json!({ "name": "偷梁换柱" }),
    )
    .await
    .problem(404, None);
    t.delete(&through_b, Some(&owner_b.token))
        .await
        .problem(404, None);
    // Nothing changed at A.
    let list = t.get(&tiers_path(&a), None).await.expect(200);
    assert_eq!(
        (list[0]["name"].as_str(), list.as_array().map(Vec::len)),
        (Some("会员"), Some(2))
    );
    assert_eq!(my_tier(&t, &member, &a).await, Value::Null);

    // A pending merchant does not trade: its owner cannot define tiers yet.
    let applicant = t.register_member("待审商家老板").await;
    let pending = t
        .post(
            "/api/v1/merchants",
            Some(&applicant.token),
            json!({ "name": "待审商家" }),
        )
        .await
        .expect(201);
    let pending_id = pending["id"].as_str().unwrap();
    t.post(
        &tiers_path(pending_id),
        Some(&applicant.token),
        json!({ "code": "member", "name": "会员", "rank": 10 }),
    )
    .await
    .problem(409, None);
    assert_eq!(
        t.get(&tiers_path(pending_id), Some(&applicant.token))
            .await
            .expect(200),
        json!([])
    );
    t.post(
        &tiers_path(&kith_app::platform::ids::new_id()),
        Some(&owner_a.token),
        json!({ "code": "member", "name": "会员", "rank": 10 }),
    )
    .await
    .problem(404, None);
}

async fn staff_list_tier_members(t: TestApp) {
    let (owner, mid) = t.approved_merchant("荔波蜂蜜").await;
    tier(&t, &owner, &mid, "member", "会员", 10).await;
    let mut ids = Vec::new();
    for name in ["一号", "二号", "三号"] {
        let m = t.register_member(name).await;
        t.put(
            &member_tier_path(&mid, &m.id),
            Some(&owner.token),
            json!({ "tier_code": "member" }),
        )
        .await
        .expect(200);
        ids.push(m.id);
    }
    let members = format!("/api/v1/merchants/{mid}/members");
    let page = t.get(&members, Some(&owner.token)).await.expect(200);
    let listed: Vec<_> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["account_id"].as_str().unwrap().to_owned())
        .collect();
    let mut want = ids.clone();
    want.sort();
    let mut got = listed.clone();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(page["next_cursor"], Value::Null);

    // Two pages of two and one.
    let first = t
        .get(&format!("{members}?limit=2"), Some(&owner.token))
        .await
        .expect(200);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let second = t
        .get(
            &format!("{members}?limit=2&cursor={cursor}"),
            Some(&owner.token),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            first["items"].as_array().unwrap().len(),
            second["items"].as_array().unwrap().len()
        ),
        (2, 1)
    );
    assert_eq!(second["next_cursor"], Value::Null);
    t.get(&format!("{members}?limit=0"), Some(&owner.token))
        .await
        .problem(422, Some("limit"));
    let member = t.register_member("好奇的会员").await;
    t.get(&members, Some(&member.token))
        .await
        .problem(403, None);
}

/// `null` takes a member out of their tier; a body that says nothing about the tier is
/// bad input and must not do the same by accident.
async fn a_missing_tier_code_changes_nothing(t: TestApp) {
    let (owner, mid) = t.approved_merchant("黄果树山货").await;
    tier(&t, &owner, &mid, "member", "会员", 10).await;
    let mei = t.register_member("小美").await;
    let path = member_tier_path(&mid, &mei.id);
    t.put(&path, Some(&owner.token), json!({ "tier_code": "member" }))
        .await
        .expect(200);
    t.put(&path, Some(&owner.token), json!({}))
        .await
        .problem(422, Some("tier_code"));
    assert_eq!(my_tier(&t, &mei, &mid).await["tier_code"], "member");
}

async fn at_most_twenty_tiers(t: TestApp) {
    let (owner, mid) = t.approved_merchant("贵州茅台镇酒坊").await;
    for i in 0..20 {
        tier(
            &t,
            &owner,
            &mid,
            &format!("level{i}"),
            &format!("{i} 级"),
            i,
        )
        .await;
    }
    t.post(
        &tiers_path(&mid),
        Some(&owner.token),
        json!({ "code": "level20", "name": "20 级", "rank": 20 }),
    )
    .await
    .problem(409, None);
    assert_eq!(codes(&t, &mid).await.len(), 20);
}
