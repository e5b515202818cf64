//! The demo world's money sharing, read over HTTP as the logins `kith serve --demo` prints
//! (on SQLite and PostgreSQL): the liquor shop's orders carry commission in every state —
//! planned, pending, frozen, available, reversed in full and in part — through share links,
//! two levels and content credit; the KOL has a paid-out withdrawal and a team two
//! generations deep; the distributor has an available balance and a withdrawal the platform
//! admin can approve; and the ledger audit finds nothing wrong. At the fruit shop the KOL
//! has an after-sale request in every waiting state, a 团长 application waits and the
//! shop's 团长 may sell the oranges.

#[allow(dead_code, unused_macros)]
#[path = "support/harness.rs"]
mod harness;

use std::collections::BTreeSet;

use harness::{TestApp, User};
use kith::demo;
use serde_json::{Value, json};

both_engines!(demo_world_shares_money_in_every_state);

async fn demo_login(t: &TestApp, phone: &str) -> User {
    let s = t.login(phone, demo::DEMO_PASSWORD).await.expect(201);
    User {
        id: s["account"]["id"].as_str().expect("id").to_owned(),
        token: s["token"].as_str().expect("token").to_owned(),
        login: phone.to_owned(),
    }
}

/// Every order of the merchant, following the pages.
async fn all_orders(t: &TestApp, owner: &User, mid: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/merchants/{mid}/orders?limit=100&cursor={c}"),
            None => format!("/api/v1/merchants/{mid}/orders?limit=100"),
        };
        let page = t.get(&path, Some(&owner.token)).await.expect(200);
        out.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

async fn demo_world_shares_money_in_every_state(t: TestApp) {
    demo::ensure(&t.app).await.expect("demo world");

    // The shop owner reads every order's commission.
    let owner = demo_login(&t, "13800000001").await;
    let me = t.me(&owner).await;
    let mid = me["staff_of"]
        .as_array()
        .expect("staff_of")
        .iter()
        .find(|s| s["merchant_name"] == "茅台镇酱香酒坊")
        .expect("the owner's liquor shop")["merchant_id"]
        .as_str()
        .expect("merchant id")
        .to_owned();
    // Every product of the shop has a picture the demo drew, served as an image.
    let products = t
        .get(&format!("/api/v1/merchants/{mid}/products"), None)
        .await
        .expect(200);
    let products = products["items"].as_array().expect("products");
    assert!(!products.is_empty());
    for p in products {
        let img = p["images"][0].as_str().expect("a picture");
        assert!(img.starts_with("/media/"), "{img}");
        let r = t
            .client
            .get(format!("{}{img}", t.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "image/png");
    }
    // The shop has the logo and banner the demo drew, served as images, and its owner an
    // avatar.
    let shop = t
        .get(&format!("/api/v1/merchants/{mid}"), None)
        .await
        .expect(200);
    for (pic, mime) in [
        (&shop["logo"]["url"], "image/png"),
        (&shop["logo"]["thumb_url"], "image/jpeg"),
        (&shop["banner"]["url"], "image/png"),
        (&me["account"]["avatar"]["thumb_url"], "image/jpeg"),
    ] {
        let url = pic.as_str().expect("a drawn picture");
        assert!(url.starts_with("/media/"), "{url}");
        let r = t
            .client
            .get(format!("{}{url}", t.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{url}");
        assert_eq!(r.headers()["content-type"], mime, "{url}");
    }
    let plan = t
        .get(&format!("/api/v1/merchants/{mid}/commission-plan"), None)
        .await
        .expect(200);
    assert_eq!(plan["levels_bp"], json!([1000, 300]), "{plan}");
    assert_eq!(plan["rebate_bp"], 200, "{plan}");
    assert_eq!(plan["cap_bp"], 2000, "{plan}");
    assert_eq!(plan["binding_mode"], "permanent", "{plan}");
    assert_eq!(plan["withdraw_min_fen"], demo::WITHDRAW_MIN_FEN, "{plan}");

    let kol = demo_login(&t, &demo::member_phone(demo::KOL)).await;
    let dist = demo_login(&t, &demo::member_phone(demo::DISTRIBUTOR)).await;

    let mut states = BTreeSet::new();
    let mut sources = BTreeSet::new();
    let (mut full_reversal, mut partial_reversal) = (false, false);
    let mut planned_on_unpaid = false;
    let mut l2_to_kol_through_distributor = false;
    for o in all_orders(&t, &owner, &mid).await {
        let id = o["id"].as_str().expect("order id");
        let c = t
            .get(
                &format!("/api/v1/orders/{id}/commission"),
                Some(&owner.token),
            )
            .await
            .expect(200);
        let shares = c["shares"].as_array().expect("shares");
        for s in shares {
            let state = s["state"].as_str().expect("state").to_owned();
            let (amount, reversed) = (
                s["amount_fen"].as_i64().expect("amount"),
                s["reversed_fen"].as_i64().expect("reversed"),
            );
            assert!(amount > 0, "{c}");
            if state == "planned" && o["status"] == "pending_payment" {
                planned_on_unpaid = true;
            }
            if reversed == amount {
                full_reversal = true;
            } else if reversed > 0 {
                partial_reversal = true;
            }
            sources.insert(s["source"].as_str().expect("source").to_owned());
            states.insert(state);
        }
        let l1 = shares.iter().find(|s| s["role"] == "l1");
        let l2 = shares.iter().find(|s| s["role"] == "l2");
        if let (Some(l1), Some(l2)) = (l1, l2) {
            l2_to_kol_through_distributor |=
                l1["beneficiary_id"] == dist.id.as_str() && l2["beneficiary_id"] == kol.id.as_str();
        }
    }
    for s in ["planned", "pending", "frozen", "available"] {
        assert!(states.contains(s), "no commission {s}: {states:?}");
    }
    for s in ["l1", "l2", "rebate", "content"] {
        assert!(sources.contains(s), "no {s} commission: {sources:?}");
    }
    assert!(
        planned_on_unpaid,
        "an unpaid order carries planned commission"
    );
    assert!(full_reversal, "a refund took commission back in full");
    assert!(
        partial_reversal,
        "a partial refund took commission back in part"
    );
    assert!(
        l2_to_kol_through_distributor,
        "the KOL earns L2 on the distributor's team"
    );

    // The distributor: an available balance, and a withdrawal waiting for the admin.
    let w = t
        .get(
            &format!("/api/v1/distributors/{}/wallets/{mid}", dist.id),
            Some(&dist.token),
        )
        .await
        .expect(200);
    let b = &w["balances"];
    assert!(b["available_fen"].as_i64().expect("available") > 0, "{w}");
    assert_eq!(b["withdrawing_fen"], demo::PENDING_WITHDRAWAL_FEN, "{w}");
    let mine = t
        .get(
            &format!("/api/v1/distributors/{}/withdrawals", dist.id),
            Some(&dist.token),
        )
        .await
        .expect(200);
    let waiting = mine
        .as_array()
        .expect("withdrawals")
        .iter()
        .find(|w| w["status"] == "requested")
        .unwrap_or_else(|| panic!("a requested withdrawal: {mine}"))
        .clone();
    let team = t
        .get(
            &format!("/api/v1/distributors/{}/team?merchant_id={mid}", dist.id),
            Some(&dist.token),
        )
        .await
        .expect(200);
    assert!(team["total"].as_i64().expect("total") >= 4, "{team}");

    // The KOL: money in every balance, a withdrawal paid out, a team two generations deep.
    let w = t
        .get(
            &format!("/api/v1/distributors/{}/wallets/{mid}", kol.id),
            Some(&kol.token),
        )
        .await
        .expect(200);
    for balance in ["pending_fen", "frozen_fen", "available_fen"] {
        assert!(
            w["balances"][balance].as_i64().expect("balance") > 0,
            "{balance}: {w}"
        );
    }
    let mine = t
        .get(
            &format!("/api/v1/distributors/{}/withdrawals", kol.id),
            Some(&kol.token),
        )
        .await
        .expect(200);
    assert!(
        mine.as_array()
            .expect("withdrawals")
            .iter()
            .any(|w| w["status"] == "paid"),
        "{mine}"
    );
    let team = t
        .get(
            &format!("/api/v1/distributors/{}/team?merchant_id={mid}", kol.id),
            Some(&kol.token),
        )
        .await
        .expect(200);
    assert!(
        team["generations"].as_array().expect("generations").len() >= 2,
        "{team}"
    );

    // The admin sees the waiting withdrawal, the ledger is clean, and approving works.
    let admin = demo_login(&t, "13800000000").await;
    let pending = t
        .get("/api/v1/admin/withdrawals", Some(&admin.token))
        .await
        .expect(200);
    assert!(
        pending
            .as_array()
            .expect("pending")
            .iter()
            .any(|w| w["id"] == waiting["id"]),
        "{pending}"
    );
    let audit = t
        .get("/api/v1/admin/ledger/audit", Some(&admin.token))
        .await
        .expect(200);
    assert_eq!(audit["unbalanced_entries"], json!([]), "{audit}");
    assert_eq!(audit["mismatched_accounts"], json!([]), "{audit}");
    assert_eq!(audit["total_fen"], 0, "{audit}");
    // The liquor shop gives points: its demo buyers hold some, frozen or available, and the
    // points ledger balances apart from money.
    assert_eq!(audit["total_points"], 0, "{audit}");
    let holders = t
        .app
        .db
        .read(|c| {
            c.query_one(
                "SELECT COUNT(*) FROM ledger_accounts WHERE id LIKE 'points:%' AND id NOT LIKE '%:issued' AND balance_fen > 0",
                &[],
            )?
            .int(0)
        })
        .await
        .expect("points holders");
    assert!(holders > 0, "no demo member holds points");
    let approved = t
        .post(
            &format!(
                "/api/v1/admin/withdrawals/{}/approve",
                waiting["id"].as_str().expect("id")
            ),
            Some(&admin.token),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(approved["status"], "paying", "{approved}");

    // After-sales at the fruit shop: the KOL's five requests, one in every state that waits
    // for someone; the shop, the KOL and the admin each see theirs.
    let kol_requests = t
        .get("/api/v1/me/aftersales", Some(&kol.token))
        .await
        .expect(200);
    let mut states: Vec<&str> = kol_requests
        .as_array()
        .expect("requests")
        .iter()
        .map(|r| r["state"].as_str().expect("state"))
        .collect();
    states.sort_unstable();
    assert_eq!(
        states,
        [
            "awaiting_return",
            "disputed",
            "refused",
            "requested",
            "return_shipped"
        ],
        "{kol_requests}"
    );
    let fruit_owner = demo_login(&t, "13800000006").await;
    let fruit = t.me(&fruit_owner).await["staff_of"][0]["merchant_id"]
        .as_str()
        .expect("the fruit shop")
        .to_owned();
    let queue = t
        .get(
            &format!("/api/v1/merchants/{fruit}/aftersales"),
            Some(&fruit_owner.token),
        )
        .await
        .expect(200);
    assert_eq!(queue.as_array().map(Vec::len), Some(5), "{queue}");
    let disputed = t
        .get("/api/v1/admin/aftersales/disputed", Some(&admin.token))
        .await
        .expect(200);
    assert_eq!(disputed.as_array().map(Vec::len), Some(1), "{disputed}");
    // Nobody may read another's: the liquor shop's owner sees none of the fruit shop's.
    t.get(
        &format!("/api/v1/merchants/{fruit}/aftersales"),
        Some(&owner.token),
    )
    .await
    .expect(403);
    // 社区团购: an application waits for the fruit shop, and its 团长 may sell the oranges.
    let applied = t
        .get(
            &format!("/api/v1/merchants/{fruit}/leaders?status=applied"),
            Some(&fruit_owner.token),
        )
        .await
        .expect(200);
    assert_eq!(applied.as_array().map(Vec::len), Some(1), "{applied}");
    let leader = demo_login(&t, &demo::member_phone(kith::demo_leaders::LEADER)).await;
    let allowed = t
        .get(
            &format!("/api/v1/merchants/{fruit}/leader-products"),
            Some(&leader.token),
        )
        .await
        .expect(200);
    assert_eq!(allowed[0]["sku_code"], "ORANGE-5", "{allowed}");
    // Each shop's first product shows a gallery: the main picture and two more views.
    let fruit_products = t
        .get(&format!("/api/v1/merchants/{fruit}/products"), None)
        .await
        .expect(200);
    assert!(
        fruit_products["items"]
            .as_array()
            .expect("products")
            .iter()
            .any(|p| p["images"].as_array().map(Vec::len) == Some(3)),
        "{fruit_products}"
    );
    // One of the KOL's fruit orders is on its way: the sandbox carrier's callbacks gave it
    // a timeline.
    let mine = t
        .get("/api/v1/me/orders?limit=20", Some(&kol.token))
        .await
        .expect(200);
    let on_its_way = mine["items"]
        .as_array()
        .expect("orders")
        .iter()
        .find(|o| o["tracking_no"] == "SBX2026000006")
        .unwrap_or_else(|| panic!("the order on its way: {mine}"));
    let timeline = t
        .get(
            &format!(
                "/api/v1/orders/{}/tracking",
                on_its_way["id"].as_str().expect("id")
            ),
            Some(&kol.token),
        )
        .await
        .expect(200);
    let steps: Vec<&str> = timeline
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["status"].as_str().expect("status"))
        .collect();
    assert_eq!(steps.len(), 2, "{timeline}");
    assert!(
        steps.contains(&"in_transit") && steps.contains(&"out_for_delivery"),
        "{timeline}"
    );
    // And a box of fruit waits in the KOL's cart.
    let cart = t
        .get(&format!("/api/v1/merchants/{fruit}/cart"), Some(&kol.token))
        .await
        .expect(200);
    assert_eq!(cart.as_array().map(Vec::len), Some(1), "{cart}");
    t.stop().await;
}
