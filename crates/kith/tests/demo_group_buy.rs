//! The demo world's group-buys (拼团), read over HTTP as the logins `kith serve --demo`
//! prints (on SQLite and PostgreSQL): a campaign on each shop; a running group at the
//! liquor shop (forming, 2 of 3 seats paid, 21 hours left, joinable, its page readable
//! without logging in); a succeeded group at the baby shop whose orders are fulfilling; a
//! failed group at the fruit shop whose time ran out and whose members were refunded; the
//! fruit shop's 团长 with a point, a helper and an open 接龙 batch of paid joins; and the
//! ledger audit finds nothing wrong.

#[allow(dead_code, unused_macros)]
#[path = "support/harness.rs"]
mod harness;

use harness::{TestApp, User};
use kith::demo;
use kith::demo_group_buy::{FAILED, RUNNING, SUCCEEDED};
use serde_json::{Value, json};

both_engines!(demo_world_has_a_running_a_succeeded_and_a_failed_group);

async fn demo_login(t: &TestApp, phone: &str) -> User {
    let s = t.login(phone, demo::DEMO_PASSWORD).await.expect(201);
    User {
        id: s["account"]["id"].as_str().expect("id").to_owned(),
        token: s["token"].as_str().expect("token").to_owned(),
        login: phone.to_owned(),
    }
}

/// The shop of an owner login.
async fn shop_of(t: &TestApp, owner_phone: &str) -> String {
    let owner = demo_login(t, owner_phone).await;
    t.me(&owner).await["staff_of"][0]["merchant_id"]
        .as_str()
        .expect("merchant id")
        .to_owned()
}

/// Demo member `i`'s only seat: (the group, the order).
async fn only_seat(t: &TestApp, i: usize) -> (Value, Value) {
    let u = demo_login(t, &demo::member_phone(i)).await;
    let seats = t.get("/api/v1/me/groups", Some(&u.token)).await.expect(200);
    let seats = seats.as_array().expect("seats").clone();
    assert_eq!(seats.len(), 1, "member {i}: {seats:?}");
    let order = t
        .get(
            &format!(
                "/api/v1/orders/{}",
                seats[0]["order_id"].as_str().expect("order")
            ),
            Some(&u.token),
        )
        .await
        .expect(200);
    (seats[0]["group"].clone(), order)
}

async fn demo_world_has_a_running_a_succeeded_and_a_failed_group(t: TestApp) {
    demo::ensure(&t.app).await.expect("demo world");

    // One campaign on each shop.
    let mut campaigns = Vec::new();
    for owner in ["13800000001", "13800000002", "13800000006"] {
        let mid = shop_of(&t, owner).await;
        let list = t
            .get(&format!("/api/v1/merchants/{mid}/group-campaigns"), None)
            .await
            .expect(200);
        let list = list.as_array().expect("campaigns").clone();
        assert_eq!(list.len(), 1, "{owner}: {list:?}");
        assert_eq!(list[0]["open_for_groups"], true, "{list:?}");
        campaigns.push(list[0].clone());
    }
    assert_eq!(
        campaigns[0]["leader_price_fen"], 0,
        "团长免单 at the liquor shop"
    );

    // Running: forming, 2 of 3 paid, 21 hours left, joinable, every seat's order waiting.
    let (g, _) = only_seat(&t, RUNNING[0]).await;
    assert_eq!(g["status"], "forming", "{g}");
    assert_eq!(
        (g["paid_seats"].as_i64(), g["size"].as_i64()),
        (Some(2), Some(3))
    );
    assert_eq!(g["seconds_left"], 21 * 3600, "{g}");
    for i in RUNNING {
        let (mine, o) = only_seat(&t, i).await;
        assert_eq!(mine["id"], g["id"]);
        assert_eq!(o["status"], "awaiting_group", "{o}");
    }
    let gid = g["id"].as_str().expect("group id");
    let joinable = t
        .get(
            &format!(
                "/api/v1/group-campaigns/{}/groups",
                campaigns[0]["id"].as_str().expect("id")
            ),
            None,
        )
        .await
        .expect(200);
    assert_eq!(joinable[0]["id"], json!(gid), "{joinable}");
    // Its page reads without logging in.
    let page = t
        .client
        .get(format!("{}/groups/{gid}", t.base))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status().as_u16(), 200);
    let body = page.text().await.expect("body");
    assert!(body.contains("data-status=\"forming\""), "{body}");
    assert!(body.contains("还剩 21 小时 0 分"), "{body}");

    // Succeeded: three paid seats, every order on to fulfilment.
    let (g, _) = only_seat(&t, SUCCEEDED[0]).await;
    assert_eq!(g["status"], "succeeded", "{g}");
    assert_eq!(g["paid_seats"], 3, "{g}");
    for i in SUCCEEDED {
        let (mine, o) = only_seat(&t, i).await;
        assert_eq!(mine["id"], g["id"]);
        assert_eq!(o["status"], "fulfilling", "{o}");
    }

    // Failed: the time ran out; both paid seats were refunded to the members' wallets.
    let (g, _) = only_seat(&t, FAILED[0]).await;
    assert_eq!(g["status"], "failed", "{g}");
    assert!(
        g["fail_reason"]
            .as_str()
            .is_some_and(|r| r.contains("time ran out")),
        "{g}"
    );
    for i in FAILED {
        let (mine, o) = only_seat(&t, i).await;
        assert_eq!(mine["id"], g["id"]);
        assert_eq!(o["status"], "refunded", "{o}");
        let u = demo_login(&t, &demo::member_phone(i)).await;
        let w = t.get("/api/v1/me/wallet", Some(&u.token)).await.expect(200);
        assert_eq!(w["balance_fen"], o["total_fen"], "{w}");
    }

    // 社区团购: the fruit shop's 团长 with a point and a helper, and an open 接龙 batch
    // with five paid joins at that point.
    let fruit = shop_of(&t, "13800000006").await;
    let batches = t
        .get(&format!("/api/v1/merchants/{fruit}/batches"), None)
        .await
        .expect(200);
    let b = batches
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["title"] == kith::demo_leaders::BATCH_TITLE)
        .expect("the open batch");
    assert_eq!(b["open_for_joins"], true, "{b}");
    assert_eq!(b["joins"], 5, "{b}");
    assert_eq!(b["paid_units"], 7, "{b}");
    let list = t
        .get(
            &format!("/api/v1/batches/{}/joins", b["id"].as_str().unwrap()),
            None,
        )
        .await
        .expect(200);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|e| e["paid"] == true && e["point_name"] == "幸福里驿站"),
        "{list}"
    );
    let lead = demo_login(&t, &demo::member_phone(kith::demo_leaders::LEADER)).await;
    let mine = t
        .get("/api/v1/me/leaderships", Some(&lead.token))
        .await
        .expect(200);
    assert_eq!(mine[0]["status"], "approved", "{mine}");
    let helpers = t
        .get(
            &format!(
                "/api/v1/leaders/{}/helpers",
                mine[0]["id"].as_str().unwrap()
            ),
            Some(&lead.token),
        )
        .await
        .expect(200);
    assert_eq!(helpers.as_array().unwrap().len(), 1, "{helpers}");

    let admin = demo_login(&t, "13800000000").await;
    let audit = t
        .get("/api/v1/admin/ledger/audit", Some(&admin.token))
        .await
        .expect(200);
    assert_eq!(audit["unbalanced_entries"], json!([]), "{audit}");
    assert_eq!(audit["mismatched_accounts"], json!([]), "{audit}");
    assert_eq!(audit["total_fen"], 0, "{audit}");
    t.stop().await;
}
