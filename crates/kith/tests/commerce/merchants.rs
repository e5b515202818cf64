//! Merchants: a member applies, a platform admin decides, and the merchant's owner runs
//! the profile and its managers. Pending merchants are private; decisions happen once;
//! the review queue pages without gaps or duplicates.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{TestApp, User, id};

both_engines!(
    apply_review_and_approve,
    rejection_needs_a_reason_and_frees_the_name,
    one_open_application_per_member,
    decisions_are_for_admins_and_happen_once,
    pending_merchants_are_private,
    staff_edit_the_profile,
    manager_invitations,
    a_removed_manager_loses_access,
    review_queue_pages_without_duplicates,
    staff_cannot_join_their_own_merchant_again,
);

/// Files an application as `who`; returns the merchant document.
async fn apply(t: &TestApp, who: &User, name: &str) -> Value {
    t.post(
        "/api/v1/merchants",
        Some(&who.token),
        json!({ "name": name, "description": "测试商家" }),
    )
    .await
    .expect(201)
}

/// Accepts an invitation code as `who`.
async fn accept(t: &TestApp, who: &User, code: &Value) -> crate::harness::Resp {
    t.post(
        "/api/v1/invitations/accept",
        Some(&who.token),
        json!({ "code": code }),
    )
    .await
}

/// The ids of one page of `GET /api/v1/merchants?…` as an admin, and its next cursor.
async fn review_page(t: &TestApp, admin: &User, query: &str) -> (Vec<String>, Option<String>) {
    let page = t
        .get(&format!("/api/v1/merchants?{query}"), Some(&admin.token))
        .await
        .expect(200);
    let ids = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(id)
        .collect();
    (ids, page["next_cursor"].as_str().map(str::to_owned))
}

async fn apply_review_and_approve(t: TestApp) {
    let alice = t.register_member("阿丽").await;
    let m = t
        .post(
            "/api/v1/merchants",
            Some(&alice.token),
            json!({ "name": "黔味小铺", "description": "贵州特产\n酸汤、辣子鸡", "contact_phone": "+86 139 0000 1111" }),
        )
        .await
        .expect(201);
    let mid = id(&m);
    assert_eq!(m["status"], "pending");
    assert_eq!(m["name"], "黔味小铺");
    assert_eq!(m["description"], "贵州特产\n酸汤、辣子鸡");
    assert_eq!(m["contact_phone"], "13900001111");
    assert_eq!(m["owner_account_id"], alice.id.as_str());
    assert_eq!(m["decided_at"], Value::Null);

    // The applicant is its owner at once, so their app can show the application.
    let me = t.me(&alice).await;
    assert_eq!(
        me["staff_of"],
        json!([{ "merchant_id": mid, "merchant_name": "黔味小铺", "merchant_status": "pending", "role": "owner" }])
    );

    // The review queue holds exactly this application.
    let admin = t.admin().await;
    assert_eq!(
        review_page(&t, &admin, "status=pending").await,
        (vec![mid.clone()], None)
    );
    assert_eq!(
        review_page(&t, &admin, "status=approved").await,
        (vec![], None)
    );

    let approved = t
        .post(
            &format!("/api/v1/merchants/{mid}/approve"),
            Some(&admin.token),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(approved["status"], "approved");
    assert!(approved["decided_at"].is_string(), "{approved}");
    assert_eq!(approved["decision_reason"], Value::Null);

    // Now public, off the queue, and the owner's view follows.
    let public = t
        .get(&format!("/api/v1/merchants/{mid}"), None)
        .await
        .expect(200);
    assert_eq!(
        (public["status"].as_str(), public["name"].as_str()),
        (Some("approved"), Some("黔味小铺"))
    );
    assert_eq!(
        review_page(&t, &admin, "status=pending").await,
        (vec![], None)
    );
    assert_eq!(
        review_page(&t, &admin, "status=approved").await,
        (vec![mid.clone()], None)
    );
    assert_eq!(
        t.me(&alice).await["staff_of"][0]["merchant_status"],
        "approved"
    );
}

async fn rejection_needs_a_reason_and_frees_the_name(t: TestApp) {
    let admin = t.admin().await;
    let bob = t.register_member("老鲍").await;
    let mid = id(&apply(&t, &bob, "山货铺").await);
    let reject = format!("/api/v1/merchants/{mid}/reject");

    // No reason, or only blanks: refused, and the application is untouched.
    t.post(&reject, Some(&admin.token), json!({}))
        .await
        .problem(422, Some("reason"));
    t.post(&reject, Some(&admin.token), json!({ "reason": "   " }))
        .await
        .problem(422, Some("reason"));
    t.post(
        &reject,
        Some(&admin.token),
        json!({ "reason": "x".repeat(501) }),
    )
    .await
    .problem(422, Some("reason"));
    assert_eq!(
        t.get(&format!("/api/v1/merchants/{mid}"), Some(&admin.token))
            .await
            .expect(200)["status"],
        "pending"
    );

    // While it is pending, the name is taken.
    let carol = t.register_member("卡罗").await;
    t.post(
        "/api/v1/merchants",
        Some(&carol.token),
        json!({ "name": "山货铺" }),
    )
    .await
    .problem(409, Some("name"));

    let rejected = t
        .post(&reject, Some(&admin.token), json!({ "reason": "资质不全" }))
        .await
        .expect(200);
    assert_eq!(
        (
            rejected["status"].as_str(),
            rejected["decision_reason"].as_str()
        ),
        (Some("rejected"), Some("资质不全"))
    );
    // The applicant reads why.
    let seen = t
        .get(&format!("/api/v1/merchants/{mid}"), Some(&bob.token))
        .await
        .expect(200);
    assert_eq!(seen["decision_reason"], "资质不全");

    // A rejected merchant's name is free again, and the rejected applicant may re-apply.
    let again = apply(&t, &carol, "山货铺").await;
    assert_ne!(id(&again), mid);
    assert_eq!(again["status"], "pending");
    let second = apply(&t, &bob, "山货铺二店").await;
    let staff_of = &t.me(&bob).await["staff_of"];
    assert_eq!(staff_of.as_array().map(Vec::len), Some(2), "{staff_of}");
    assert_eq!(
        (
            staff_of[1]["merchant_id"].as_str(),
            staff_of[1]["merchant_status"].as_str()
        ),
        (Some(id(&second).as_str()), Some("pending"))
    );
}

async fn one_open_application_per_member(t: TestApp) {
    let dave = t.register_member("大卫").await;
    let first = apply(&t, &dave, "大卫杂货").await;
    t.post(
        "/api/v1/merchants",
        Some(&dave.token),
        json!({ "name": "大卫二号" }),
    )
    .await
    .problem(409, None);
    // The refused application left nothing behind: its name is still free.
    let erin = t.register_member("艾琳").await;
    apply(&t, &erin, "大卫二号").await;
    let staff_of = &t.me(&dave).await["staff_of"];
    assert_eq!(staff_of.as_array().map(Vec::len), Some(1), "{staff_of}");
    assert_eq!(staff_of[0]["merchant_id"], first["id"]);
    // Bad applications are 422 with the field.
    t.post(
        "/api/v1/merchants",
        Some(&erin.token),
        json!({ "name": "x" }),
    )
    .await
    .problem(422, Some("name"));
    t.post(
        "/api/v1/merchants",
        Some(&erin.token),
        json!({ "name": "好名字", "contact_phone": "123" }),
    )
    .await
    .problem(422, Some("contact_phone"));
    t.post("/api/v1/merchants", None, json!({ "name": "匿名商家" }))
        .await
        .problem(401, None);
}

async fn decisions_are_for_admins_and_happen_once(t: TestApp) {
    let owner = t.register_member("申请人").await;
    let mid = id(&apply(&t, &owner, "一次决定").await);
    let member = t.register_member("路人").await;
    let approve = format!("/api/v1/merchants/{mid}/approve");

    t.post(&approve, Some(&member.token), json!({}))
        .await
        .problem(403, None);
    t.post(&approve, Some(&owner.token), json!({}))
        .await
        .problem(403, None);
    t.post(&approve, None, json!({})).await.problem(401, None);
    t.post(
        &format!("/api/v1/merchants/{mid}/reject"),
        Some(&owner.token),
        json!({ "reason": "自己拒自己" }),
    )
    .await
    .problem(403, None);
    t.get("/api/v1/merchants?status=pending", Some(&member.token))
        .await
        .problem(403, None);
    t.get("/api/v1/merchants", None).await.problem(401, None);

    let admin = t.admin().await;
    t.post(
        &approve,
        Some(&admin.token),
        json!({ "reason": "资料齐全" }),
    )
    .await
    .expect(200);
    // Approving twice, or rejecting an approved merchant, is a conflict.
    t.post(&approve, Some(&admin.token), json!({}))
        .await
        .problem(409, None);
    t.post(
        &format!("/api/v1/merchants/{mid}/reject"),
        Some(&admin.token),
        json!({ "reason": "反悔" }),
    )
    .await
    .problem(409, None);
    let m = t
        .get(&format!("/api/v1/merchants/{mid}"), None)
        .await
        .expect(200);
    assert_eq!(
        (m["status"].as_str(), m["decision_reason"].as_str()),
        (Some("approved"), Some("资料齐全"))
    );

    // Unknown and malformed ids are 404.
    t.post(
        &format!(
            "/api/v1/merchants/{}/approve",
            kith_app::platform::ids::new_id()
        ),
        Some(&admin.token),
        json!({}),
    )
    .await
    .problem(404, None);
    t.post(
        "/api/v1/merchants/not-a-uuid/approve",
        Some(&admin.token),
        json!({}),
    )
    .await
    .problem(404, None);
    t.post(&approve, Some(&admin.token), json!({ "verdict": "yes" }))
        .await
        .problem(422, None);
}

async fn pending_merchants_are_private(t: TestApp) {
    let owner = t.register_member("隐身老板").await;
    let mid = id(&apply(&t, &owner, "尚未开张").await);
    let stranger = t.register_member("陌生人").await;
    let admin = t.admin().await;
    let path = format!("/api/v1/merchants/{mid}");

    // Strangers cannot tell a pending merchant from one that does not exist.
    for token in [None, Some(stranger.token.as_str())] {
        let body = t.get(&path, token).await.problem(404, None);
        assert!(!body.to_string().contains("尚未开张"), "{body}");
        t.get(&format!("{path}/tiers"), token)
            .await
            .problem(404, None);
        t.get(&format!("{path}/stores"), token)
            .await
            .problem(404, None);
    }
    assert_eq!(
        t.get(&path, Some(&owner.token)).await.expect(200)["name"],
        "尚未开张"
    );
    assert_eq!(
        t.get(&path, Some(&admin.token)).await.expect(200)["status"],
        "pending"
    );
    assert_eq!(
        t.get(&format!("{path}/tiers"), Some(&owner.token))
            .await
            .expect(200),
        json!([])
    );

    // Rejected stays private.
    t.post(
        &format!("{path}/reject"),
        Some(&admin.token),
        json!({ "reason": "不符合要求" }),
    )
    .await
    .expect(200);
    t.get(&path, Some(&stranger.token)).await.problem(404, None);
    assert_eq!(
        t.get(&path, Some(&owner.token)).await.expect(200)["status"],
        "rejected"
    );

    // Asking for one's own tier there must not tell a stranger that it exists either.
    t.get(&format!("{path}/my-tier"), Some(&stranger.token))
        .await
        .problem(404, None);
}

async fn staff_edit_the_profile(t: TestApp) {
    let (owner, mid) = t.approved_merchant("花溪米粉").await;
    let manager = t.manager(&owner, &mid).await;
    let stranger = t.register_member("路人甲").await;
    let admin = t.admin().await;
    let path = format!("/api/v1/merchants/{mid}");

    let m = t
        .patch(
            &path,
            Some(&owner.token),
            json!({ "description": "三十年老字号" }),
        )
        .await
        .expect(200);
    assert_eq!(
        (m["name"].as_str(), m["description"].as_str()),
        (Some("花溪米粉"), Some("三十年老字号"))
    );
    // Fields left out stay as they were.
    let m = t
        .patch(
            &path,
            Some(&manager.token),
            json!({ "contact_phone": "13800002222" }),
        )
        .await
        .expect(200);
    assert_eq!(
        (m["description"].as_str(), m["contact_phone"].as_str()),
        (Some("三十年老字号"), Some("13800002222"))
    );

    for who in [&stranger, &admin] {
        let body = t
            .patch(&path, Some(&who.token), json!({ "description": "被改了" }))
            .await
            .problem(403, None);
        assert!(!body.to_string().contains("花溪米粉"), "{body}");
    }
    t.patch(&path, None, json!({ "description": "被改了" }))
        .await
        .problem(401, None);

    // Another merchant's name is taken; bad input names its field. Nothing changes.
    t.approved_merchant("青岩豆腐").await;
    t.patch(&path, Some(&owner.token), json!({ "name": "青岩豆腐" }))
        .await
        .problem(409, Some("name"));
    t.patch(&path, Some(&owner.token), json!({ "name": "花" }))
        .await
        .problem(422, Some("name"));
    t.patch(&path, Some(&owner.token), json!({ "contact_phone": "110" }))
        .await
        .problem(422, Some("contact_phone"));
    t.patch(&path, Some(&owner.token), json!({ "status": "approved" }))
        .await
        .problem(422, None);
    let m = t.get(&path, None).await.expect(200);
    assert_eq!(
        (m["name"].as_str(), m["description"].as_str()),
        (Some("花溪米粉"), Some("三十年老字号"))
    );

    let renamed = t
        .patch(&path, Some(&owner.token), json!({ "name": "花溪牛肉粉" }))
        .await
        .expect(200);
    assert_eq!(renamed["name"], "花溪牛肉粉");
    t.patch(
        &format!("/api/v1/merchants/{}", kith_app::platform::ids::new_id()),
        Some(&owner.token),
        json!({}),
    )
    .await
    .problem(404, None);
}

async fn manager_invitations(t: TestApp) {
    let (owner, mid) = t.approved_merchant("遵义羊肉粉").await;
    let invitations = format!("/api/v1/merchants/{mid}/invitations");

    let inv = t
        .post(&invitations, Some(&owner.token), json!({}))
        .await
        .expect(201);
    let code = inv["code"].clone();
    assert!(
        code.as_str()
            .is_some_and(|c| c.starts_with("kith_i_") && c.len() > 20),
        "{inv}"
    );
    assert_eq!(
        (
            inv["role"].as_str(),
            inv["store_id"].is_null(),
            inv["revoked"].as_bool()
        ),
        (Some("manager"), true, Some(false))
    );

    // The code is shown once: the list has the invitation without it.
    let list = t.get(&invitations, Some(&owner.token)).await.expect(200);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["id"], inv["id"]);
    assert_eq!(list[0]["code"], Value::Null);
    assert!(!list.to_string().contains(code.as_str().unwrap()));

    let manager = t.register_member("新店长").await;
    let accepted = accept(&t, &manager, &code).await.expect(200);
    assert_eq!(accepted["accepted_by"], manager.id.as_str());
    assert_eq!(accepted["code"], Value::Null);
    assert_eq!(t.me(&manager).await["staff_of"][0]["role"], "manager");
    let staff = t
        .get(
            &format!("/api/v1/merchants/{mid}/staff"),
            Some(&manager.token),
        )
        .await
        .expect(200);
    let roles: Vec<_> = staff
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["account_id"].as_str().unwrap().to_owned(),
                s["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            (owner.id.clone(), "owner".to_owned()),
            (manager.id.clone(), "manager".to_owned())
        ]
    );

    // A code works once, for anyone.
    accept(&t, &manager, &code).await.problem(409, None);
    let late = t.register_member("迟到的人").await;
    accept(&t, &late, &code).await.problem(409, None);

    // Managers do not make managers, nor withdraw the owner's invitations.
    t.post(&invitations, Some(&manager.token), json!({}))
        .await
        .problem(403, None);
    let pending = t
        .post(&invitations, Some(&owner.token), json!({}))
        .await
        .expect(201);
    t.post(
        &format!("{invitations}/{}/revoke", id(&pending)),
        Some(&manager.token),
        json!({}),
    )
    .await
    .problem(403, None);

    // Withdrawn: refused, and cannot be withdrawn twice.
    let revoked = t
        .post(
            &format!("{invitations}/{}/revoke", id(&pending)),
            Some(&owner.token),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(revoked["revoked"], true);
    accept(&t, &late, &pending["code"]).await.problem(409, None);
    t.post(
        &format!("{invitations}/{}/revoke", id(&pending)),
        Some(&owner.token),
        json!({}),
    )
    .await
    .problem(409, None);

    // Good for seven days, not a second more.
    let expiring = t
        .post(&invitations, Some(&owner.token), json!({}))
        .await
        .expect(201);
    let in_time = t
        .post(&invitations, Some(&owner.token), json!({}))
        .await
        .expect(201);
    t.clock.advance_secs(7 * 24 * 3600 - 1);
    let punctual = t.register_member("准时的人").await;
    accept(&t, &punctual, &in_time["code"]).await.expect(200);
    t.clock.advance_secs(2);
    accept(&t, &late, &expiring["code"])
        .await
        .problem(409, None);
    assert_eq!(t.me(&late).await["staff_of"], json!([]));

    // Unknown and malformed codes.
    accept(&t, &late, &json!("kith_i_no-such-code"))
        .await
        .problem(404, None);
    accept(&t, &late, &json!(""))
        .await
        .problem(422, Some("code"));
    t.post("/api/v1/invitations/accept", Some(&late.token), json!({}))
        .await
        .problem(422, Some("code"));
    t.post("/api/v1/invitations/accept", None, json!({ "code": code }))
        .await
        .problem(401, None);

    // Four invitations, newest first.
    let list = t.get(&invitations, Some(&owner.token)).await.expect(200);
    let ids: Vec<_> = list.as_array().unwrap().iter().map(id).collect();
    assert_eq!(ids, [id(&in_time), id(&expiring), id(&pending), id(&inv)]);
}

async fn a_removed_manager_loses_access(t: TestApp) {
    let (owner, mid) = t.approved_merchant("安顺蜡染").await;
    let manager = t.manager(&owner, &mid).await;
    let staff = format!("/api/v1/merchants/{mid}/staff");
    t.get(&staff, Some(&manager.token)).await.expect(200);

    // Only the owner removes, and the owner cannot be removed.
    t.delete(&format!("{staff}/{}", owner.id), Some(&manager.token))
        .await
        .problem(403, None);
    t.delete(&format!("{staff}/{}", manager.id), Some(&manager.token))
        .await
        .problem(403, None);
    t.delete(&format!("{staff}/{}", owner.id), Some(&owner.token))
        .await
        .problem(404, None);

    t.delete(&format!("{staff}/{}", manager.id), Some(&owner.token))
        .await
        .expect(204);
    t.get(&staff, Some(&manager.token)).await.problem(403, None);
    t.patch(
        &format!("/api/v1/merchants/{mid}"),
        Some(&manager.token),
        json!({ "description": "离职前改一下" }),
    )
    .await
    .problem(403, None);
    assert_eq!(t.me(&manager).await["staff_of"], json!([]));
    let left = t.get(&staff, Some(&owner.token)).await.expect(200);
    assert_eq!(left.as_array().map(Vec::len), Some(1));
    t.delete(&format!("{staff}/{}", manager.id), Some(&owner.token))
        .await
        .problem(404, None);
}

async fn review_queue_pages_without_duplicates(t: TestApp) {
    let admin = t.admin().await;
    let mut applied = Vec::new();
    for i in 0..5 {
        let who = t.register_member(&format!("申请人{i}")).await;
        applied.push(id(&apply(&t, &who, &format!("排队商家{i}")).await));
        // Some share a millisecond (the id breaks the tie), some do not.
        if i % 2 == 1 {
            t.clock.advance_ms(1);
        }
    }

    // limit=1 walks every page, each application once, oldest first.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let q = match &cursor {
            Some(c) => format!("status=pending&limit=1&cursor={c}"),
            None => "status=pending&limit=1".to_owned(),
        };
        let (ids, next) = review_page(&t, &admin, &q).await;
        assert_eq!(ids.len(), 1, "page {}", seen.len());
        seen.extend(ids);
        cursor = next;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        5,
        "duplicates: {seen:?}"
    );
    assert_eq!(
        seen.iter().collect::<HashSet<_>>(),
        applied.iter().collect::<HashSet<_>>()
    );

    // Without a status filter, decided merchants are listed too.
    for m in &applied[..2] {
        t.post(
            &format!("/api/v1/merchants/{m}/approve"),
            Some(&admin.token),
            json!({}),
        )
        .await
        .expect(200);
    }
    let (first, next) = review_page(&t, &admin, "limit=3").await;
    let (rest, end) = review_page(
        &t,
        &admin,
        &format!("limit=3&cursor={}", next.expect("a second page")),
    )
    .await;
    assert_eq!((first.len(), rest.len(), end), (3, 2, None));
    assert_eq!(
        review_page(&t, &admin, "status=pending&limit=100")
            .await
            .0
            .len(),
        3
    );

    // Bad parameters are 422 naming the parameter.
    for (q, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("status=weird", "status"),
        ("cursor=!!", "cursor"),
    ] {
        t.get(&format!("/api/v1/merchants?{q}"), Some(&admin.token))
            .await
            .problem(422, Some(field));
    }
    t.get("/api/v1/merchants?sort=name", Some(&admin.token))
        .await
        .problem(422, None);
    // A well-formed cursor that this API did not make (its id is no id) is bad input,
    // never a 500.
    let forged = "MTAwMHxub3QtYW4taWQ"; // base64url("1000|not-an-id")
    let r = t
        .get(
            &format!("/api/v1/merchants?cursor={forged}"),
            Some(&admin.token),
        )
        .await;
    assert!(
        matches!(r.status.as_u16(), 200 | 422),
        "forged cursor: {r:?}"
    );
}

/// Someone who is already staff cannot use a manager invitation; the refusal names the
/// code and leaves the invitation for the person it was meant for.
async fn staff_cannot_join_their_own_merchant_again(t: TestApp) {
    let (owner, mid) = t.approved_merchant("正安吉他").await;
    let manager = t.manager(&owner, &mid).await;
    let invitations = format!("/api/v1/merchants/{mid}/invitations");
    let inv = t
        .post(&invitations, Some(&owner.token), json!({}))
        .await
        .expect(201);

    accept(&t, &owner, &inv["code"])
        .await
        .problem(409, Some("code"));
    accept(&t, &manager, &inv["code"])
        .await
        .problem(409, Some("code"));
    assert_eq!(t.me(&owner).await["staff_of"][0]["role"], "owner");

    let newcomer = t.register_member("新经理").await;
    accept(&t, &newcomer, &inv["code"]).await.expect(200);
    let staff = t
        .get(
            &format!("/api/v1/merchants/{mid}/staff"),
            Some(&owner.token),
        )
        .await
        .expect(200);
    assert_eq!(staff.as_array().map(Vec::len), Some(3));
}
