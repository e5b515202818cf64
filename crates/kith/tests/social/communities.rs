//! Communities: created by a member or a merchant's staff, joined openly, on approval or
//! by invite link (which records the inviter: the fission tree's edge), run by owner and
//! admins, and split into sub-communities with their membership history kept.

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{Resp, TestApp, User, id};

both_engines!(
    create_join_leave_an_open_community,
    approval_communities_take_requests,
    invite_only_refuses_a_plain_join_and_writes_nothing,
    invites_record_the_inviter,
    invites_run_out_expire_and_can_be_withdrawn,
    roles_and_moderation,
    announcements_are_for_members,
    split_moves_members_into_a_sub_community,
    bad_community_input,
    merchant_communities_and_covers,
    my_communities_and_members_page_without_gaps,
);

async fn create(t: &TestApp, owner: &User, body: Value) -> Value {
    t.post("/api/v1/communities", Some(&owner.token), body)
        .await
        .expect(201)
}

async fn community(t: &TestApp, owner: &User, name: &str, policy: &str) -> String {
    let c = create(
        t,
        owner,
        json!({ "name": name, "description": "", "tags": [], "join_policy": policy }),
    )
    .await;
    id(&c)
}

async fn join(t: &TestApp, who: &User, cid: &str) -> Resp {
    t.post(
        &format!("/api/v1/communities/{cid}/join"),
        Some(&who.token),
        json!({}),
    )
    .await
}

async fn invite(t: &TestApp, who: &User, cid: &str, body: Value) -> Resp {
    t.post(
        &format!("/api/v1/communities/{cid}/invites"),
        Some(&who.token),
        body,
    )
    .await
}

async fn accept(t: &TestApp, who: &User, code: &str) -> Resp {
    t.post(
        &format!("/api/v1/community-invites/{code}/accept"),
        Some(&who.token),
        json!({}),
    )
    .await
}

fn code(inv: &Value) -> String {
    inv["code"].as_str().expect("code").to_owned()
}

/// Member ids of one members page, and the page.
async fn members(t: &TestApp, viewer: Option<&User>, cid: &str) -> (Vec<String>, Value) {
    let page = t
        .get(
            &format!("/api/v1/communities/{cid}/members?limit=100"),
            viewer.map(|u| u.token.as_str()),
        )
        .await
        .expect(200);
    let ids = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["account_id"].as_str().expect("account_id").to_owned())
        .collect();
    (ids, page)
}

fn member<'a>(page: &'a Value, account_id: &str) -> &'a Value {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|m| m["account_id"] == account_id)
        .expect("member listed")
}

/// Rows in the tables a join could touch: members, their events and the outbox.
async fn row_counts(t: &TestApp) -> (i64, i64, i64) {
    t.app
        .db
        .read(|c| {
            let r = c.query_one(
                "SELECT (SELECT COUNT(*) FROM community_members), (SELECT COUNT(*) FROM community_member_events),
                        (SELECT COUNT(*) FROM outbox)",
                &[],
            )?;
            Ok::<_, kith_store::StoreError>((r.int(0)?, r.int(1)?, r.int(2)?))
        })
        .await
        .expect("counts")
}

async fn get(t: &TestApp, who: Option<&User>, cid: &str) -> Value {
    t.get(
        &format!("/api/v1/communities/{cid}"),
        who.map(|u| u.token.as_str()),
    )
    .await
    .expect(200)
}

async fn create_join_leave_an_open_community(t: TestApp) {
    let owner = t.register_member("群主阿芳").await;
    let c = create(
        &t,
        &owner,
        json!({ "name": "贵阳宝妈群", "description": "育儿经验\n好物分享", "tags": ["育儿", "母婴", "育儿"], "join_policy": "open" }),
    )
    .await;
    let cid = id(&c);
    assert_eq!(c["name"], "贵阳宝妈群");
    assert_eq!(c["description"], "育儿经验\n好物分享");
    assert_eq!(c["tags"], json!(["育儿", "母婴"]), "repeats dropped");
    assert_eq!(c["join_policy"], "open");
    assert_eq!(c["merchant_id"], Value::Null);
    assert_eq!(c["owner_account_id"], owner.id.as_str());
    assert_eq!(c["parent_id"], Value::Null);
    assert_eq!(c["member_count"], 1);
    assert_eq!(
        (&c["my_role"], &c["my_state"]),
        (&json!("owner"), &json!("active"))
    );
    assert!(c["created_at"].is_string());

    // A member joins at once.
    let m = t.register_member("小林").await;
    let joined = join(&t, &m, &cid).await.expect(200);
    assert_eq!(
        (&joined["my_role"], &joined["my_state"]),
        (&json!("member"), &json!("active"))
    );
    assert_eq!(joined["member_count"], 2);
    join(&t, &m, &cid).await.problem(409, None);

    // Anyone sees the profile and, for an open community, its members.
    let anon = get(&t, None, &cid).await;
    assert_eq!(
        (&anon["my_role"], &anon["my_state"], &anon["member_count"]),
        (&Value::Null, &Value::Null, &json!(2))
    );
    let (ids, page) = members(&t, None, &cid).await;
    assert_eq!(ids, vec![owner.id.clone(), m.id.clone()]);
    assert_eq!(member(&page, &owner.id)["role"], "owner");
    assert_eq!(member(&page, &m.id)["invited_by"], Value::Null);

    // My communities.
    let mine = t
        .get("/api/v1/me/communities", Some(&m.token))
        .await
        .expect(200);
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(mine["items"][0]["id"], cid.as_str());

    // Only owner and admins edit it.
    t.patch(
        &format!("/api/v1/communities/{cid}"),
        Some(&m.token),
        json!({ "name": "改名" }),
    )
    .await
    .problem(403, None);
    let edited = t
        .patch(
            &format!("/api/v1/communities/{cid}"),
            Some(&owner.token),
            json!({ "description": "新的介绍", "tags": ["亲子"], "join_policy": "approval" }),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            &edited["name"],
            &edited["description"],
            &edited["tags"],
            &edited["join_policy"]
        ),
        (
            &json!("贵阳宝妈群"),
            &json!("新的介绍"),
            &json!(["亲子"]),
            &json!("approval")
        )
    );

    // Leaving; the owner cannot.
    t.post(
        &format!("/api/v1/communities/{cid}/leave"),
        Some(&m.token),
        json!({}),
    )
    .await
    .expect(204);
    t.post(
        &format!("/api/v1/communities/{cid}/leave"),
        Some(&m.token),
        json!({}),
    )
    .await
    .problem(409, None);
    t.post(
        &format!("/api/v1/communities/{cid}/leave"),
        Some(&owner.token),
        json!({}),
    )
    .await
    .problem(409, None);
    let after = get(&t, Some(&m), &cid).await;
    assert_eq!(
        (
            &after["my_role"],
            &after["my_state"],
            &after["member_count"]
        ),
        (&Value::Null, &json!("left"), &json!(1))
    );
    let mine = t
        .get("/api/v1/me/communities", Some(&m.token))
        .await
        .expect(200);
    assert_eq!(mine["items"], json!([]));
}

async fn approval_communities_take_requests(t: TestApp) {
    let owner = t.register_member("群主").await;
    let cid = community(&t, &owner, "审核群", "approval").await;
    let m = t.register_member("申请人").await;
    let other = t.register_member("旁人").await;

    let asked = join(&t, &m, &cid).await.expect(200);
    assert_eq!(
        (&asked["my_state"], &asked["member_count"]),
        (&json!("pending"), &json!(1))
    );
    join(&t, &m, &cid).await.problem(409, None);
    // Pending members are not members: not listed, cannot see the list.
    let (ids, _) = members(&t, Some(&owner), &cid).await;
    assert_eq!(ids, vec![owner.id.clone()]);
    t.get(
        &format!("/api/v1/communities/{cid}/members"),
        Some(&m.token),
    )
    .await
    .problem(403, None);
    // A pending request shows in my communities.
    let mine = t
        .get("/api/v1/me/communities", Some(&m.token))
        .await
        .expect(200);
    assert_eq!(mine["items"][0]["my_state"], "pending");

    let approve = format!("/api/v1/communities/{cid}/members/{}/approve", m.id);
    t.post(&approve, Some(&other.token), json!({}))
        .await
        .problem(403, None);
    let approved = t
        .post(&approve, Some(&owner.token), json!({}))
        .await
        .expect(200);
    assert_eq!(
        (&approved["account_id"], &approved["role"]),
        (&json!(m.id), &json!("member"))
    );
    t.post(&approve, Some(&owner.token), json!({}))
        .await
        .problem(404, None);
    assert_eq!(get(&t, Some(&m), &cid).await["my_state"], "active");

    // A request can be turned down: it is removed, and may ask again.
    join(&t, &other, &cid).await.expect(200);
    t.post(
        &format!("/api/v1/communities/{cid}/members/{}/remove", other.id),
        Some(&owner.token),
        json!({}),
    )
    .await
    .expect(204);
    assert_eq!(get(&t, Some(&other), &cid).await["my_state"], "removed");
    assert_eq!(
        join(&t, &other, &cid).await.expect(200)["my_state"],
        "pending"
    );

    let history = t
        .get(
            &format!("/api/v1/communities/{cid}/history"),
            Some(&owner.token),
        )
        .await
        .expect(200);
    let events: Vec<&str> = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["event"].as_str().expect("event"))
        .collect();
    assert_eq!(
        events,
        vec![
            "created",
            "requested",
            "approved",
            "requested",
            "rejected",
            "requested"
        ]
    );
    assert_eq!(history["items"][2]["actor_id"], owner.id.as_str());
}

async fn invite_only_refuses_a_plain_join_and_writes_nothing(t: TestApp) {
    let owner = t.register_member("群主").await;
    let cid = community(&t, &owner, "私密群", "invite_only").await;
    let m = t.register_member("路人").await;

    let before = row_counts(&t).await;
    let p = join(&t, &m, &cid).await.problem(403, None);
    assert!(
        p["detail"]
            .as_str()
            .is_some_and(|d| d.contains("needs an invite")),
        "{p}"
    );
    assert_eq!(row_counts(&t).await, before, "nothing written");
    assert_eq!(get(&t, Some(&m), &cid).await["my_state"], Value::Null);
    // Its members are private.
    t.get(
        &format!("/api/v1/communities/{cid}/members"),
        Some(&m.token),
    )
    .await
    .problem(403, None);
    t.get(&format!("/api/v1/communities/{cid}/members"), None)
        .await
        .problem(403, None);

    // With the owner's invite they are in.
    let inv = invite(&t, &owner, &cid, json!({})).await.expect(201);
    let joined = accept(&t, &m, &code(&inv)).await.expect(200);
    assert_eq!(
        (&joined["my_state"], &joined["member_count"]),
        (&json!("active"), &json!(2))
    );
    // Plain members of an invite-only community do not invite.
    invite(&t, &m, &cid, json!({})).await.problem(403, None);
}

async fn invites_record_the_inviter(t: TestApp) {
    let owner = t.register_member("群主").await;
    let cid = community(&t, &owner, "裂变群", "approval").await;
    let a = t.register_member("一代").await;
    let b = t.register_member("二代").await;

    // The owner invites a; the link bypasses approval.
    let inv = invite(
        &t,
        &owner,
        &cid,
        json!({ "max_uses": 10, "expires_in_hours": 24 }),
    )
    .await
    .expect(201);
    let code_a = code(&inv);
    assert_eq!(inv["url_path"], format!("/c/join/{code_a}"));
    assert_eq!(
        (&inv["inviter_id"], &inv["uses"], &inv["max_uses"]),
        (&json!(owner.id), &json!(0), &json!(10))
    );
    assert!(inv["expires_at"].is_string());
    assert_eq!(
        accept(&t, &a, &code_a).await.expect(200)["my_state"],
        "active"
    );
    accept(&t, &a, &code_a).await.problem(409, None);

    // a, now a member, invites b: b asked to join first, the invite takes them past approval.
    assert_eq!(join(&t, &b, &cid).await.expect(200)["my_state"], "pending");
    let inv_b = invite(&t, &a, &cid, json!({})).await.expect(201);
    assert_eq!(
        accept(&t, &b, &code(&inv_b)).await.expect(200)["my_state"],
        "active"
    );

    // The tree shows in the member list…
    let (_, page) = members(&t, Some(&b), &cid).await;
    assert_eq!(member(&page, &owner.id)["invited_by"], Value::Null);
    assert_eq!(member(&page, &a.id)["invited_by"], owner.id.as_str());
    assert_eq!(member(&page, &a.id)["invite_id"], inv["id"]);
    assert_eq!(member(&page, &b.id)["invited_by"], a.id.as_str());
    assert_eq!(member(&page, &b.id)["invite_id"], inv_b["id"]);

    // …and in storage: one edge per membership, and the link's use counted.
    let cid2 = cid.clone();
    let (edges, uses) = t
        .app
        .db
        .read(move |c| {
            let edges = c
                .query(
                    "SELECT account_id, invited_by, invite_id FROM community_members WHERE community_id = $1 AND invited_by IS NOT NULL ORDER BY joined_at, account_id",
                    kith_store::args![&cid2],
                )?
                .iter()
                .map(|r| Ok((r.text(0)?, r.text(1)?, r.text(2)?)))
                .collect::<Result<Vec<_>, kith_store::StoreError>>()?;
            let uses = c
                .query(
                    "SELECT inviter_id, uses FROM community_invites WHERE community_id = $1 ORDER BY created_at, id",
                    kith_store::args![&cid2],
                )?
                .iter()
                .map(|r| Ok((r.text(0)?, r.int(1)?)))
                .collect::<Result<Vec<_>, kith_store::StoreError>>()?;
            Ok::<_, kith_store::StoreError>((edges, uses))
        })
        .await
        .expect("read");
    let mut edges = edges;
    edges.sort();
    let mut want = vec![
        (a.id.clone(), owner.id.clone(), id(&inv)),
        (b.id.clone(), a.id.clone(), id(&inv_b)),
    ];
    want.sort();
    assert_eq!(edges, want);
    assert_eq!(uses, vec![(owner.id.clone(), 1), (a.id.clone(), 1)]);

    // The code itself is not stored, only its hash.
    let code_a2 = code_a.clone();
    let stored: i64 = t
        .app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT COUNT(*) FROM community_invites WHERE code_hash = $1",
                kith_store::args![&code_a2],
            )?
            .int(0)
        })
        .await
        .expect("read");
    assert_eq!(stored, 0);

    // Joins by invite are announced with the inviter.
    let payload: String = t
        .app
        .db
        .read(|c| {
            c.query_one("SELECT payload FROM outbox WHERE topic = 'community.joined' ORDER BY id DESC LIMIT 1", &[])?
                .text(0)
        })
        .await
        .expect("outbox");
    let payload: Value = serde_json::from_str(&payload).expect("json");
    assert_eq!(
        (&payload["via"], &payload["invited_by"]),
        (&json!("invite"), &json!(a.id))
    );

    // Members see their own invites, the owner all (never the codes again).
    let own = t
        .get(
            &format!("/api/v1/communities/{cid}/invites"),
            Some(&a.token),
        )
        .await
        .expect(200);
    assert_eq!(own.as_array().map(Vec::len), Some(1));
    assert_eq!(own[0]["code"], Value::Null);
    let all = t
        .get(
            &format!("/api/v1/communities/{cid}/invites"),
            Some(&owner.token),
        )
        .await
        .expect(200);
    assert_eq!(all.as_array().map(Vec::len), Some(2));
}

async fn invites_run_out_expire_and_can_be_withdrawn(t: TestApp) {
    let owner = t.register_member("群主").await;
    let cid = community(&t, &owner, "限量群", "open").await;
    let (x, y, z) = (
        t.register_member("甲").await,
        t.register_member("乙").await,
        t.register_member("丙").await,
    );

    // One use only: the second person is refused, and nothing changes for them.
    let once = invite(&t, &owner, &cid, json!({ "max_uses": 1 }))
        .await
        .expect(201);
    accept(&t, &x, &code(&once)).await.expect(200);
    let before = row_counts(&t).await;
    accept(&t, &y, &code(&once)).await.problem(409, None);
    assert_eq!(row_counts(&t).await, before);

    // Expired after its hours.
    let short = invite(&t, &owner, &cid, json!({ "expires_in_hours": 1 }))
        .await
        .expect(201);
    t.clock.advance_secs(3601);
    accept(&t, &y, &code(&short)).await.problem(409, None);

    // Withdrawn.
    let inv = invite(&t, &owner, &cid, json!({})).await.expect(201);
    let revoke = format!("/api/v1/communities/{cid}/invites/{}/revoke", id(&inv));
    t.post(&revoke, Some(&x.token), json!({}))
        .await
        .problem(403, None);
    assert_eq!(
        t.post(&revoke, Some(&owner.token), json!({}))
            .await
            .expect(200)["revoked"],
        true
    );
    t.post(&revoke, Some(&owner.token), json!({}))
        .await
        .problem(409, None);
    accept(&t, &y, &code(&inv)).await.problem(409, None);

    // Banned accounts cannot come back by invite.
    let open = invite(&t, &owner, &cid, json!({})).await.expect(201);
    t.post(
        &format!("/api/v1/communities/{cid}/members/{}/ban", z.id),
        Some(&owner.token),
        json!({}),
    )
    .await
    .expect(204);
    accept(&t, &z, &code(&open)).await.problem(403, None);

    // Unknown codes; bad limits name their field.
    accept(&t, &y, "no-such-code").await.problem(404, None);
    invite(&t, &owner, &cid, json!({ "max_uses": 0 }))
        .await
        .problem(422, Some("max_uses"));
    invite(&t, &owner, &cid, json!({ "max_uses": 1001 }))
        .await
        .problem(422, Some("max_uses"));
    invite(&t, &owner, &cid, json!({ "expires_in_hours": 721 }))
        .await
        .problem(422, Some("expires_in_hours"));
    invite(&t, &owner, &cid, json!({ "uses": 3 }))
        .await
        .problem(422, None);
    invite(&t, &y, &cid, json!({})).await.problem(403, None);

    // y was never let in by any of it; a good link still works.
    assert_eq!(get(&t, Some(&y), &cid).await["my_state"], Value::Null);
    accept(&t, &y, &code(&open)).await.expect(200);
}

async fn roles_and_moderation(t: TestApp) {
    let owner = t.register_member("群主").await;
    let cid = community(&t, &owner, "管理群", "open").await;
    let (a1, a2, m1, m2) = (
        t.register_member("管理一").await,
        t.register_member("管理二").await,
        t.register_member("成员一").await,
        t.register_member("成员二").await,
    );
    for u in [&a1, &a2, &m1, &m2] {
        join(&t, u, &cid).await.expect(200);
    }
    let role = |u: &User| format!("/api/v1/communities/{cid}/members/{}/role", u.id);
    let act = |u: &User, what: &str| format!("/api/v1/communities/{cid}/members/{}/{what}", u.id);

    // Only the owner gives roles.
    t.put(&role(&m1), Some(&a1.token), json!({ "role": "admin" }))
        .await
        .problem(403, None);
    for a in [&a1, &a2] {
        let r = t
            .put(&role(a), Some(&owner.token), json!({ "role": "admin" }))
            .await
            .expect(200);
        assert_eq!(r["role"], "admin");
    }
    t.put(&role(&m1), Some(&owner.token), json!({ "role": "owner" }))
        .await
        .problem(422, Some("role"));
    t.put(&role(&m1), Some(&owner.token), json!({ "role": "boss" }))
        .await
        .problem(422, Some("role"));
    t.put(
        &role(&owner),
        Some(&owner.token),
        json!({ "role": "member" }),
    )
    .await
    .problem(409, None);

    // Opinion-leader badge: owner or admins.
    let ol = t
        .put(
            &act(&m1, "opinion-leader"),
            Some(&a1.token),
            json!({ "value": true }),
        )
        .await
        .expect(200);
    assert_eq!(ol["opinion_leader"], true);
    t.put(
        &act(&m2, "opinion-leader"),
        Some(&m1.token),
        json!({ "value": true }),
    )
    .await
    .problem(403, None);
    t.put(
        &act(&m2, "opinion-leader"),
        Some(&a1.token),
        json!({ "value": "yes" }),
    )
    .await
    .problem(422, Some("value"));

    // An admin cannot remove or ban another admin; nobody removes the owner; members moderate nothing.
    t.post(&act(&a2, "remove"), Some(&a1.token), json!({}))
        .await
        .problem(403, None);
    t.post(&act(&a2, "ban"), Some(&a1.token), json!({}))
        .await
        .problem(403, None);
    t.post(&act(&owner, "remove"), Some(&a1.token), json!({}))
        .await
        .problem(403, None);
    t.post(&act(&owner, "remove"), Some(&owner.token), json!({}))
        .await
        .problem(403, None);
    t.post(&act(&owner, "ban"), Some(&a1.token), json!({}))
        .await
        .problem(403, None);
    t.post(&act(&m2, "remove"), Some(&m1.token), json!({}))
        .await
        .problem(403, None);

    // An admin removes a member; the owner removes an admin.
    t.post(&act(&m2, "remove"), Some(&a1.token), json!({}))
        .await
        .expect(204);
    t.post(&act(&m2, "remove"), Some(&a1.token), json!({}))
        .await
        .problem(404, None);
    t.post(&act(&a2, "remove"), Some(&owner.token), json!({}))
        .await
        .expect(204);
    let (ids, page) = members(&t, Some(&owner), &cid).await;
    assert_eq!(ids, vec![owner.id.clone(), a1.id.clone(), m1.id.clone()]);
    assert_eq!(member(&page, &m1.id)["opinion_leader"], true);
    // A removed member may join again (as a plain member).
    let back = join(&t, &a2, &cid).await.expect(200);
    assert_eq!(back["my_role"], "member");

    // Bans: the banned account cannot join; a second ban conflicts; unban lets them back.
    t.post(&act(&m1, "ban"), Some(&a1.token), json!({}))
        .await
        .expect(204);
    t.post(&act(&m1, "ban"), Some(&a1.token), json!({}))
        .await
        .problem(409, None);
    join(&t, &m1, &cid).await.problem(403, None);
    assert_eq!(get(&t, Some(&m1), &cid).await["my_state"], "banned");
    // Someone who never joined can be banned ahead.
    let troll = t.register_member("捣乱").await;
    t.post(&act(&troll, "ban"), Some(&owner.token), json!({}))
        .await
        .expect(204);
    join(&t, &troll, &cid).await.problem(403, None);
    t.post(&act(&m1, "unban"), Some(&owner.token), json!({}))
        .await
        .expect(204);
    t.post(&act(&m1, "unban"), Some(&owner.token), json!({}))
        .await
        .problem(404, None);
    assert_eq!(join(&t, &m1, &cid).await.expect(200)["my_state"], "active");

    // The history names each change and who made it.
    let history = t
        .get(
            &format!("/api/v1/communities/{cid}/history?limit=100"),
            Some(&a1.token),
        )
        .await
        .expect(200);
    let events: Vec<(String, String)> = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap_or("").to_owned(),
                e["account_id"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    for want in [
        ("made_admin", &a1.id),
        ("opinion_leader_on", &m1.id),
        ("removed", &m2.id),
        ("removed", &a2.id),
        ("banned", &m1.id),
        ("banned", &troll.id),
        ("unbanned", &m1.id),
    ] {
        assert!(
            events.contains(&(want.0.to_owned(), want.1.clone())),
            "{want:?} in {events:?}"
        );
    }
    t.get(
        &format!("/api/v1/communities/{cid}/history"),
        Some(&m1.token),
    )
    .await
    .problem(403, None);

    // Paging the history: two at a time covers it all once.
    let mut n = 0;
    let mut cursor = String::new();
    loop {
        let page = t
            .get(
                &format!("/api/v1/communities/{cid}/history?limit=2&cursor={cursor}"),
                Some(&owner.token),
            )
            .await
            .expect(200);
        n += page["items"].as_array().map_or(0, Vec::len);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(n, events.len());
}

async fn announcements_are_for_members(t: TestApp) {
    let owner = t.register_member("群主").await;
    let cid = community(&t, &owner, "公告群", "open").await;
    let m = t.register_member("成员").await;
    let outsider = t.register_member("外人").await;
    join(&t, &m, &cid).await.expect(200);
    let url = format!("/api/v1/communities/{cid}/announcements");

    let first = t
        .post(
            &url,
            Some(&owner.token),
            json!({ "body": "周六团购酸汤鱼" }),
        )
        .await
        .expect(201);
    assert_eq!(
        (&first["author_id"], &first["body"]),
        (&json!(owner.id), &json!("周六团购酸汤鱼"))
    );
    t.clock.advance_secs(1);
    t.post(
        &url,
        Some(&owner.token),
        json!({ "body": "下周二到货\n请留意" }),
    )
    .await
    .expect(201);
    t.post(&url, Some(&m.token), json!({ "body": "我也想发" }))
        .await
        .problem(403, None);
    t.post(&url, Some(&owner.token), json!({ "body": "  " }))
        .await
        .problem(422, Some("body"));
    t.post(
        &url,
        Some(&owner.token),
        json!({ "body": "长".repeat(1001) }),
    )
    .await
    .problem(422, Some("body"));

    let page = t
        .get(&format!("{url}?limit=1"), Some(&m.token))
        .await
        .expect(200);
    assert_eq!(page["items"][0]["body"], "下周二到货\n请留意");
    let next = page["next_cursor"].as_str().expect("more").to_owned();
    let page = t
        .get(&format!("{url}?limit=1&cursor={next}"), Some(&m.token))
        .await
        .expect(200);
    assert_eq!(page["items"][0]["body"], "周六团购酸汤鱼");
    assert_eq!(page["next_cursor"], Value::Null);
    t.get(&url, Some(&outsider.token)).await.problem(403, None);
}

async fn split_moves_members_into_a_sub_community(t: TestApp) {
    let owner = t.register_member("大群主").await;
    let cid = community(&t, &owner, "贵阳吃货群", "approval").await;
    let admin = t.register_member("管理员").await;
    let (a, b, c) = (
        t.register_member("阿一").await,
        t.register_member("阿二").await,
        t.register_member("阿三").await,
    );
    let outsider = t.register_member("外人").await;
    // a comes by the owner's invite, a invites b, the admin and c are approved.
    let inv = invite(&t, &owner, &cid, json!({})).await.expect(201);
    accept(&t, &a, &code(&inv)).await.expect(200);
    let inv_b = invite(&t, &a, &cid, json!({})).await.expect(201);
    accept(&t, &b, &code(&inv_b)).await.expect(200);
    for u in [&admin, &c] {
        join(&t, u, &cid).await.expect(200);
        t.post(
            &format!("/api/v1/communities/{cid}/members/{}/approve", u.id),
            Some(&owner.token),
            json!({}),
        )
        .await
        .expect(200);
    }
    t.put(
        &format!("/api/v1/communities/{cid}/members/{}/role", admin.id),
        Some(&owner.token),
        json!({ "role": "admin" }),
    )
    .await
    .expect(200);
    t.put(
        &format!("/api/v1/communities/{cid}/members/{}/opinion-leader", a.id),
        Some(&owner.token),
        json!({ "value": true }),
    )
    .await
    .expect(200);
    let split = format!("/api/v1/communities/{cid}/split");

    // Refusals change nothing.
    let before = row_counts(&t).await;
    t.post(
        &split,
        Some(&admin.token),
        json!({ "name": "花溪分群", "member_ids": [a.id] }),
    )
    .await
    .problem(403, None);
    t.post(
        &split,
        Some(&owner.token),
        json!({ "name": "花溪分群", "member_ids": [] }),
    )
    .await
    .problem(422, Some("member_ids"));
    t.post(
        &split,
        Some(&owner.token),
        json!({ "name": "花溪分群", "member_ids": [a.id, owner.id] }),
    )
    .await
    .problem(422, Some("member_ids[1]"));
    t.post(
        &split,
        Some(&owner.token),
        json!({ "name": "花溪分群", "member_ids": [outsider.id] }),
    )
    .await
    .problem(422, Some("member_ids[0]"));
    t.post(
        &split,
        Some(&owner.token),
        json!({ "name": "花溪分群", "member_ids": [a.id, a.id] }),
    )
    .await
    .problem(422, Some("member_ids[1]"));
    t.post(
        &split,
        Some(&owner.token),
        json!({ "name": "花溪分群", "member_ids": ["x"] }),
    )
    .await
    .problem(422, Some("member_ids[0]"));
    t.post(
        &split,
        Some(&owner.token),
        json!({ "name": "花", "member_ids": [a.id] }),
    )
    .await
    .problem(422, Some("name"));
    t.post(&split, Some(&owner.token), json!({ "member_ids": [a.id] }))
        .await
        .problem(422, Some("name"));
    let too_many: Vec<String> = (0..501).map(|_| a.id.clone()).collect();
    t.post(
        &split,
        Some(&owner.token),
        json!({ "name": "花溪分群", "member_ids": too_many }),
    )
    .await
    .problem(422, Some("member_ids"));
    assert_eq!(row_counts(&t).await, before);

    // The split: a and b move into the sub-community.
    let sub = t
        .post(&split, Some(&owner.token), json!({ "name": "花溪分群", "description": "花溪区的朋友", "member_ids": [a.id, b.id] }))
        .await
        .expect(201);
    let sid = id(&sub);
    assert_eq!(
        (
            &sub["parent_id"],
            &sub["owner_account_id"],
            &sub["member_count"]
        ),
        (&json!(cid), &json!(owner.id), &json!(3))
    );
    assert_eq!(
        (&sub["name"], &sub["join_policy"], &sub["my_role"]),
        (&json!("花溪分群"), &json!("approval"), &json!("owner"))
    );

    let (parent_ids, _) = members(&t, Some(&owner), &cid).await;
    assert_eq!(
        parent_ids,
        vec![owner.id.clone(), admin.id.clone(), c.id.clone()]
    );
    let (sub_ids, sub_page) = members(&t, Some(&a), &sid).await;
    let mut sorted = sub_ids.clone();
    sorted.sort();
    let mut want = vec![owner.id.clone(), a.id.clone(), b.id.clone()];
    want.sort();
    assert_eq!(sorted, want);
    // The fission edges come along; so does the badge.
    assert_eq!(member(&sub_page, &a.id)["invited_by"], owner.id.as_str());
    assert_eq!(member(&sub_page, &b.id)["invited_by"], a.id.as_str());
    assert_eq!(member(&sub_page, &a.id)["opinion_leader"], true);
    assert_eq!(get(&t, Some(&a), &cid).await["my_state"], "left");

    // Membership history on both sides.
    let h = t
        .get(
            &format!("/api/v1/communities/{cid}/history?limit=100"),
            Some(&admin.token),
        )
        .await
        .expect(200);
    let moved: Vec<(&str, &str)> = h["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["event"] == "moved_to_sub")
        .map(|e| {
            (
                e["account_id"].as_str().expect("a"),
                e["related_community_id"].as_str().expect("r"),
            )
        })
        .collect();
    let mut moved = moved;
    moved.sort();
    let mut want = vec![(a.id.as_str(), sid.as_str()), (b.id.as_str(), sid.as_str())];
    want.sort();
    assert_eq!(moved, want);
    let h = t
        .get(
            &format!("/api/v1/communities/{sid}/history"),
            Some(&owner.token),
        )
        .await
        .expect(200);
    let events: Vec<(&str, &str)> = h["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            (
                e["event"].as_str().expect("e"),
                e["related_community_id"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(events[0], ("created", cid.as_str()));
    assert_eq!(
        events[1..]
            .iter()
            .filter(|e| **e == ("moved_from_parent", cid.as_str()))
            .count(),
        2
    );

    // The parent lists it; an outsider sees the list too.
    let subs = t
        .get(
            &format!("/api/v1/communities/{cid}/subcommunities"),
            Some(&outsider.token),
        )
        .await
        .expect(200);
    assert_eq!(subs.as_array().map(Vec::len), Some(1));
    assert_eq!(
        (
            &subs[0]["id"],
            &subs[0]["member_count"],
            &subs[0]["my_role"]
        ),
        (&json!(sid), &json!(3), &Value::Null)
    );
    // Moving someone who already left is refused.
    t.post(
        &split,
        Some(&owner.token),
        json!({ "name": "又一个", "member_ids": [a.id] }),
    )
    .await
    .problem(422, Some("member_ids[0]"));

    // The split was announced once.
    let n: i64 = t
        .app
        .db
        .read(|c| {
            c.query_one(
                "SELECT COUNT(*) FROM outbox WHERE topic = 'community.split'",
                &[],
            )?
            .int(0)
        })
        .await
        .expect("outbox");
    assert_eq!(n, 1);
}

async fn bad_community_input(t: TestApp) {
    let u = t.register_member("建群人").await;
    let before = row_counts(&t).await;
    let post = |body: Value| t.post("/api/v1/communities", Some(&u.token), body);
    post(json!({ "name": "群", "join_policy": "open" }))
        .await
        .problem(422, Some("name"));
    post(json!({ "name": "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三", "join_policy": "open" })).await.problem(422, Some("name"));
    post(json!({ "name": "好群", "description": "长".repeat(501), "join_policy": "open" }))
        .await
        .problem(422, Some("description"));
    post(json!({ "name": "好群", "tags": ["a","b","c","d","e","f","g","h","i","j","k"], "join_policy": "open" })).await.problem(422, Some("tags"));
    post(json!({ "name": "好群", "tags": ["好", "一二三四五六七八九十一二三四五六七"], "join_policy": "open" })).await.problem(422, Some("tags[1]"));
    post(json!({ "name": "好群", "tags": [""], "join_policy": "open" }))
        .await
        .problem(422, Some("tags[0]"));
    post(json!({ "name": "好群", "join_policy": "closed" }))
        .await
        .problem(422, Some("join_policy"));
    post(json!({ "name": "好群", "join_policy": "open", "merchant_id": "nope" }))
        .await
        .problem(422, Some("merchant_id"));
    post(json!({ "name": "好群", "join_policy": "open", "merchant_id": "0190a0b0-0000-7000-8000-000000000000" })).await.problem(422, Some("merchant_id"));
    post(json!({ "name": "好群", "join_policy": "open", "cover_media_id": "no-such-image" }))
        .await
        .problem(422, Some("cover_media_id"));
    post(json!({ "name": "好群", "join_policy": "open", "colour": "red" }))
        .await
        .problem(422, None);
    t.post(
        "/api/v1/communities",
        None,
        json!({ "name": "好群", "join_policy": "open" }),
    )
    .await
    .problem(401, None);
    assert_eq!(row_counts(&t).await, before, "nothing written");

    let cid = community(&t, &u, "好群", "open").await;
    t.patch(
        &format!("/api/v1/communities/{cid}"),
        Some(&u.token),
        json!({ "join_policy": "secret" }),
    )
    .await
    .problem(422, Some("join_policy"));
    t.patch(
        &format!("/api/v1/communities/{cid}"),
        Some(&u.token),
        json!({ "tags": vec!["x"; 11] }),
    )
    .await
    .problem(422, Some("tags"));
    t.get("/api/v1/communities/not-an-id", None)
        .await
        .problem(404, None);
    t.get(
        "/api/v1/communities/0190a0b0-0000-7000-8000-000000000000",
        None,
    )
    .await
    .problem(404, None);
    join(&t, &u, "0190a0b0-0000-7000-8000-000000000000")
        .await
        .problem(404, None);
    t.get(
        &format!("/api/v1/communities/{cid}/members?limit=101"),
        None,
    )
    .await
    .problem(422, Some("limit"));
}

async fn merchant_communities_and_covers(t: TestApp) {
    let (boss, mid) = t.approved_merchant("黔味小铺").await;
    let stranger = t.register_member("路人").await;

    // Only the merchant's staff create its communities.
    t.post(
        "/api/v1/communities",
        Some(&stranger.token),
        json!({ "name": "小铺粉丝群", "join_policy": "open", "merchant_id": mid }),
    )
    .await
    .problem(403, None);
    let c = create(
        &t,
        &boss,
        json!({ "name": "小铺粉丝群", "join_policy": "open", "merchant_id": mid }),
    )
    .await;
    assert_eq!(c["merchant_id"], mid.as_str());
    // Its events are routed to the merchant's webhooks.
    let cid = id(&c);
    let routed: Option<String> = t
        .app
        .db
        .read(move |c| {
            c.query_one("SELECT merchant_id FROM outbox WHERE topic = 'community.created' AND aggregate_id = $1", kith_store::args![&cid])?
                .opt_text(0)
        })
        .await
        .expect("outbox");
    assert_eq!(routed.as_deref(), Some(mid.as_str()));

    // A cover must be an image the member uploaded.
    use kith_domain::Clock as _;
    let owner_id = boss.id.clone();
    let now = t.clock.now_ms();
    t.app
        .db
        .write(move |c| {
            c.execute(
                "INSERT INTO media (id, owner_id, mime, width, height, bytes, created_at) VALUES ($1, $2, 'image/png', 10, 10, 100, $3)",
                kith_store::args!["ab".repeat(32), &owner_id, now],
            )?;
            c.execute(
                "INSERT INTO media_uploads (media_id, account_id, created_at) VALUES ($1, $2, $3)",
                kith_store::args!["ab".repeat(32), &owner_id, now],
            )
        })
        .await
        .expect("media row");
    let with_cover = create(
        &t,
        &boss,
        json!({ "name": "有封面的群", "join_policy": "open", "cover_media_id": "ab".repeat(32) }),
    )
    .await;
    assert_eq!(with_cover["cover_media_id"], "ab".repeat(32));
    let cleared = t
        .patch(
            &format!("/api/v1/communities/{}", id(&with_cover)),
            Some(&boss.token),
            json!({ "cover_media_id": "" }),
        )
        .await
        .expect(200);
    assert_eq!(cleared["cover_media_id"], Value::Null);
}

async fn my_communities_and_members_page_without_gaps(t: TestApp) {
    let owner = t.register_member("翻页群主").await;
    let m = t.register_member("翻页成员").await;
    let mut cids = Vec::new();
    for i in 0..3 {
        cids.push(community(&t, &owner, &format!("翻页群{i}"), "open").await);
    }
    // The first two joined in the same millisecond.
    for (i, cid) in cids.iter().enumerate() {
        join(&t, &m, cid).await.expect(200);
        if i == 1 {
            t.clock.advance_secs(1);
        }
    }
    let mine = t
        .assert_pages_cover("/api/v1/me/communities", Some(&m.token), 2, "/id")
        .await;
    assert_eq!(mine.concat(), cids, "in the order joined");

    let mut members = vec![owner.id.clone(), m.id.clone()];
    for i in 0..3 {
        let u = t.register_member(&format!("新人{i}")).await;
        join(&t, &u, &cids[0]).await.expect(200);
        members.push(u.id);
    }
    let pages = t
        .assert_pages_cover(
            &format!("/api/v1/communities/{}/members", cids[0]),
            None,
            2,
            "/account_id",
        )
        .await;
    assert_eq!(pages.len(), 3);
    let mut listed = pages.concat();
    listed.sort();
    members.sort();
    assert_eq!(listed, members);
}
