//! The notification centre: every kind made exactly once from its event by driving the
//! real use cases; the inbox (paging, unread count, marking read, another member's
//! notification answering 404, words in zh and en); preferences (the inbox cannot be
//! turned off, bad input named); the WeChat channel against a local server that speaks
//! WeChat's token and 订阅通知 endpoints and checks them strictly — a send only when the
//! member chose it and has an openid, one send per notification even when retried, a
//! failed send retried until it goes through once, a stale token refreshed, a refusal
//! (43101) recorded and never retried.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::routing::post;
use kith::config::ServeArgs;
use kith_app::platform::ids::AccountId;
use serde_json::{Value, json};

use crate::harness::{TestApp, User, address, id};
use crate::worlds::{
    DAY_SECS, close_after_sale_window, earn_available, product_link, ship_and_deliver, signup_via,
};

crate::both_engines!(every_kind_is_made_once, the_inbox_is_the_recipients_own);
crate::both_engines!(group_buys_tell_their_members);

/// Runs background work (notifications, jobs) until nothing is left.
async fn settle(t: &TestApp) {
    for _ in 0..5 {
        kith_app::events::jobs::run_once(&t.app, "test")
            .await
            .unwrap();
    }
}

/// `kind → count` of a member's notifications (every page).
async fn kinds(t: &TestApp, u: &User) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/me/notifications?limit=7&cursor={c}"),
            None => "/api/v1/me/notifications?limit=7".to_owned(),
        };
        let page = t.get(&path, Some(&u.token)).await.expect(200);
        for n in page["items"].as_array().unwrap() {
            *out.entry(n["kind"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    out
}

fn want(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

async fn unread(t: &TestApp, u: &User) -> i64 {
    t.get("/api/v1/me/notifications/unread-count", Some(&u.token))
        .await
        .expect(200)["unread"]
        .as_i64()
        .unwrap()
}

/// Rows of `notifications` in storage, all members.
async fn stored(t: &TestApp) -> i64 {
    t.app
        .db
        .read(|c| {
            c.query_one("SELECT COUNT(*) FROM notifications", &[])?
                .int(0)
        })
        .await
        .unwrap()
}

async fn every_kind_is_made_once(t: TestApp) {
    // Applying for a shop and being approved: the owner is told.
    let s = t.shop().plan(json!({ "levels_bp": [1000] })).build().await;
    settle(&t).await;
    assert_eq!(kinds(&t, &s.owner).await, want(&[("merchant_decided", 1)]));
    // A rejected application too.
    let hopeful = t.register_member("想开店").await;
    let m = t
        .post(
            "/api/v1/merchants",
            Some(&hopeful.token),
            json!({ "name": "没通过的店", "description": "" }),
        )
        .await
        .expect(201);
    let admin = t.admin().await;
    t.post(
        &format!("/api/v1/merchants/{}/reject", id(&m)),
        Some(&admin.token),
        json!({ "reason": "资料不全" }),
    )
    .await
    .expect(200);

    // A sharer's link brings a buyer, who buys; shipped, delivered, after-sale window.
    let sharer = t.register_member("分享达人").await;
    let (_, code) = product_link(&t, &s, &sharer).await;
    let buyer = signup_via(&t, &code, "新朋友").await;
    let order = t.order(&s, &buyer).qty(2).paid().await;
    let oid = id(&order);
    ship_and_deliver(&t, &s, &oid).await;
    close_after_sale_window(&t).await;
    settle(&t).await;
    let n = t
        .get("/api/v1/me/notifications", Some(&hopeful.token))
        .await
        .expect(200);
    assert_eq!(n["items"][0]["kind"], "merchant_decided");
    assert_eq!(n["items"][0]["params"]["approved"], false);
    assert!(n["items"][0]["body"].as_str().unwrap().contains("资料不全"));
    assert_eq!(n["items"][0]["link"], "/console/apply");

    assert_eq!(
        kinds(&t, &buyer).await,
        want(&[
            ("order_paid", 1),
            ("order_shipped", 1),
            ("order_delivered", 1)
        ])
    );
    assert_eq!(
        kinds(&t, &sharer).await,
        want(&[
            ("share_joined", 1),
            ("commission_pending", 1),
            ("commission_available", 1)
        ])
    );
    let inbox = t
        .get("/api/v1/me/notifications", Some(&sharer.token))
        .await
        .expect(200);
    let available = &inbox["items"][0];
    assert_eq!(available["kind"], "commission_available");
    assert_eq!(available["params"]["amount_fen"], 2_000);
    assert!(
        available["body"].as_str().unwrap().contains("¥20.00"),
        "{available}"
    );
    assert_eq!(available["link"], format!("/me/commissions/{oid}"));
    let joined = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "share_joined")
        .unwrap();
    assert!(
        joined["body"].as_str().unwrap().contains("新朋友"),
        "{joined}"
    );
    assert_eq!(joined["link"], "/me/team");

    // The buyer reviews the completed order; the shop answers.
    let review = t
        .post(
            &format!("/api/v1/orders/{oid}/lines/1/review"),
            Some(&buyer.token),
            json!({ "rating": 5, "body": "很好喝" }),
        )
        .await
        .expect(201);
    t.post(
        &format!(
            "/api/v1/merchants/{}/reviews/{}/reply",
            s.merchant,
            id(&review)
        ),
        Some(&s.owner.token),
        json!({ "body": "感谢支持！" }),
    )
    .await
    .expect(200);

    // A second order refunded in full by the shop.
    let second = t.order(&s, &buyer).paid().await;
    t.post(
        &format!(
            "/api/v1/merchants/{}/orders/{}/refunds",
            s.merchant,
            id(&second)
        ),
        Some(&s.owner.token),
        json!({ "reason": "缺货" }),
    )
    .await
    .expect(201);

    // A post, a comment on it, a reply to the comment.
    let post = crate::worlds::post(
        &t,
        &buyer,
        json!({ "body": "今天的茶", "visibility": "public" }),
    )
    .await;
    let comment = t
        .post(
            &format!("/api/v1/posts/{post}/comments"),
            Some(&sharer.token),
            json!({ "body": "看着不错" }),
        )
        .await
        .expect(201);
    t.post(
        &format!("/api/v1/posts/{post}/comments"),
        Some(&buyer.token),
        json!({ "body": "一起喝", "parent_id": id(&comment) }),
    )
    .await
    .expect(201);
    // Commenting on one's own post tells nobody.
    t.post(
        &format!("/api/v1/posts/{post}/comments"),
        Some(&buyer.token),
        json!({ "body": "自己说两句" }),
    )
    .await
    .expect(201);

    // A community invite accepted.
    let cid = crate::worlds::community(&t, &sharer, "茶友会").await;
    let inv = t
        .post(
            &format!("/api/v1/communities/{cid}/invites"),
            Some(&sharer.token),
            json!({ "max_uses": 10, "expires_in_hours": 24 }),
        )
        .await
        .expect(201);
    t.post(
        &format!(
            "/api/v1/community-invites/{}/accept",
            inv["code"].as_str().unwrap()
        ),
        Some(&buyer.token),
        json!({}),
    )
    .await
    .expect(200);

    // Withdrawals: one rejected (returned), one paid.
    let earner = t.register_member("提现人").await;
    earn_available(&t, &s, &earner, 4_000).await;
    let url = format!("/api/v1/distributors/{}/withdrawals", earner.id);
    let w1 = t
        .post(
            &url,
            Some(&earner.token),
            json!({ "merchant_id": s.merchant, "amount_fen": 1_500 }),
        )
        .await
        .expect(201);
    let w2 = t
        .post(
            &url,
            Some(&earner.token),
            json!({ "merchant_id": s.merchant, "amount_fen": 2_500 }),
        )
        .await
        .expect(201);
    t.post(
        &format!("/api/v1/admin/withdrawals/{}/reject", id(&w1)),
        Some(&admin.token),
        json!({ "reason": "账户信息不全" }),
    )
    .await
    .expect(200);
    let wid = id(&w2);
    t.post(
        &format!("/api/v1/admin/withdrawals/{wid}/approve"),
        Some(&admin.token),
        json!({}),
    )
    .await
    .expect(200);
    let cb = json!({ "event_id": "po-ok", "withdrawal_id": wid, "status": "succeeded", "amount_fen": 2_500 });
    t.signed_post("/api/v1/payouts/sandbox/callback", &cb, None)
        .await
        .expect(200);

    settle(&t).await;
    let before = stored(&t).await;
    assert_eq!(
        kinds(&t, &buyer).await,
        want(&[
            ("order_paid", 2),
            ("order_shipped", 1),
            ("order_delivered", 1),
            ("refund_done", 1),
            ("review_reply", 1),
            ("comment_reply", 1),
        ])
    );
    assert_eq!(
        kinds(&t, &sharer).await,
        want(&[
            ("share_joined", 1),
            // The refunded second order was paid first: its commission was pending.
            ("commission_pending", 2),
            ("commission_available", 1),
            ("comment_reply", 1),
            ("invite_accepted", 1),
        ])
    );
    let e = kinds(&t, &earner).await;
    assert_eq!(e.get("withdrawal_paid"), Some(&1), "{e:?}");
    assert_eq!(e.get("withdrawal_returned"), Some(&1), "{e:?}");
    let inbox = t
        .get("/api/v1/me/notifications", Some(&buyer.token))
        .await
        .expect(200);
    let reply = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "review_reply")
        .unwrap();
    assert_eq!(
        reply["link"],
        format!("/shops/{}/products/{}", s.merchant, s.product)
    );

    // Running the consumer again, and the whole queue, makes nothing twice; nor does a
    // cursor moved back (an event applied again).
    settle(&t).await;
    t.app
        .db
        .write(|c| {
            c.execute("UPDATE notify_cursor SET last_id = 0", &[])?;
            Ok::<_, kith_store::StoreError>(())
        })
        .await
        .unwrap();
    while kith_app::notify::make_notifications(&t.app).await.unwrap() > 0 {}
    assert_eq!(stored(&t).await, before);
    t.clock.advance_secs(DAY_SECS);
    settle(&t).await;
    assert_eq!(stored(&t).await, before);
}

async fn the_inbox_is_the_recipients_own(t: TestApp) {
    let s = t.shop().plan(json!({ "levels_bp": [1000] })).build().await;
    let buyer = t.register_member("买家").await;
    let other = t.register_member("路人").await;
    for _ in 0..3 {
        t.order(&s, &buyer).paid().await;
        t.clock.advance_ms(5);
    }
    settle(&t).await;
    assert_eq!(unread(&t, &buyer).await, 3);
    assert_eq!(unread(&t, &other).await, 0);

    // Newest first, paged without repeats.
    let p1 = t
        .get("/api/v1/me/notifications?limit=2", Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(p1["items"].as_array().unwrap().len(), 2);
    let c = p1["next_cursor"].as_str().unwrap();
    let p2 = t
        .get(
            &format!("/api/v1/me/notifications?limit=2&cursor={c}"),
            Some(&buyer.token),
        )
        .await
        .expect(200);
    assert_eq!(p2["items"].as_array().unwrap().len(), 1);
    assert_eq!(p2["next_cursor"], Value::Null);
    let first = &p1["items"][0];
    // As times, not strings: RFC 3339 with a trimmed fraction does not sort as text.
    let at = |v: &Value| {
        time::OffsetDateTime::parse(
            v["created_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    assert!(at(first) >= at(&p1["items"][1]), "{p1}");
    assert_eq!(first["title"], "订单已支付");
    assert_eq!(first["read_at"], Value::Null);
    let nid = id(first);

    // English words on request; a language we do not have is named.
    let en = t
        .get(
            "/api/v1/me/notifications?lang=en&limit=1",
            Some(&buyer.token),
        )
        .await
        .expect(200);
    assert_eq!(en["items"][0]["title"], "Order paid");
    t.get("/api/v1/me/notifications?lang=fr", Some(&buyer.token))
        .await
        .problem(422, Some("lang"));
    t.get("/api/v1/me/notifications?limit=0", Some(&buyer.token))
        .await
        .problem(422, Some("limit"));
    t.get("/api/v1/me/notifications", None).await.expect(401);

    // Another member can neither read nor mark it: 404, as for an unknown id.
    let path = format!("/api/v1/me/notifications/{nid}/read");
    t.post(&path, Some(&other.token), json!({}))
        .await
        .problem(404, None);
    t.post(
        "/api/v1/me/notifications/00000000-0000-0000-0000-000000000001/read",
        Some(&buyer.token),
        json!({}),
    )
    .await
    .problem(404, None);
    t.post(
        "/api/v1/me/notifications/not-an-id/read",
        Some(&buyer.token),
        json!({}),
    )
    .await
    .problem(404, None);
    assert_eq!(unread(&t, &buyer).await, 3);
    let other_inbox = t
        .get("/api/v1/me/notifications", Some(&other.token))
        .await
        .expect(200);
    assert_eq!(other_inbox["items"], json!([]));

    // The recipient marks it read; again changes nothing.
    let read = t
        .post(&path, Some(&buyer.token), json!({}))
        .await
        .expect(200);
    assert!(read["read_at"].is_string());
    let again = t
        .post(&path, Some(&buyer.token), json!({}))
        .await
        .expect(200);
    assert_eq!(again["read_at"], read["read_at"]);
    assert_eq!(unread(&t, &buyer).await, 2);
    // Another member's read-all touches only their own.
    assert_eq!(
        t.post(
            "/api/v1/me/notifications/read-all",
            Some(&other.token),
            json!({})
        )
        .await
        .expect(200)["marked"],
        0
    );
    assert_eq!(unread(&t, &buyer).await, 2);
    assert_eq!(
        t.post(
            "/api/v1/me/notifications/read-all",
            Some(&buyer.token),
            json!({})
        )
        .await
        .expect(200)["marked"],
        2
    );
    assert_eq!(unread(&t, &buyer).await, 0);

    // Preferences: the inbox keeps everything; outside channels off until chosen.
    let prefs = t
        .get("/api/v1/me/notification-preferences", Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(prefs["items"].as_array().unwrap().len(), 16);
    assert!(
        prefs["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["in_app"] == true && p["wechat"] == false && p["sms"] == false)
    );
    assert_eq!(prefs["wechat_available"], false);
    let put = |body: Value| {
        let t = &t;
        let token = buyer.token.clone();
        async move {
            t.put("/api/v1/me/notification-preferences", Some(&token), body)
                .await
        }
    };
    put(json!({ "preferences": [{ "kind": "order_paid", "in_app": false }] }))
        .await
        .problem(422, Some("preferences[0].in_app"));
    put(json!({ "preferences": [{ "kind": "order_shipped", "wechat": true }, { "kind": "nonsense", "wechat": true }] }))
        .await
        .problem(422, Some("preferences[1].kind"));
    put(json!({ "preferences": [{ "kind": "order_paid", "email": true }] }))
        .await
        .problem(422, None);
    let changed = put(json!({ "preferences": [{ "kind": "order_shipped", "wechat": true }] }))
        .await
        .expect(200);
    let shipped = changed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "order_shipped")
        .unwrap();
    assert_eq!(
        (shipped["wechat"].as_bool(), shipped["sms"].as_bool()),
        (Some(true), Some(false))
    );
    // Only the caller's choices changed.
    let others = t
        .get("/api/v1/me/notification-preferences", Some(&other.token))
        .await
        .expect(200);
    assert!(
        others["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["wechat"] == false)
    );
    // With no WeChat configured on this server, choosing it queues nothing.
    let o = t.order(&s, &buyer).paid().await;
    ship_and_deliver(&t, &s, &id(&o)).await;
    settle(&t).await;
    let deliveries = t
        .app
        .db
        .read(|c| {
            c.query_one("SELECT COUNT(*) FROM notification_deliveries", &[])?
                .int(0)
        })
        .await
        .unwrap();
    assert_eq!(deliveries, 0);
}

async fn group_buys_tell_their_members(t: TestApp) {
    let s = t
        .shop()
        .name("拼团茶庄")
        .price(10_000)
        .stock(100)
        .build()
        .await;
    let campaign = t
        .post(
            &format!("/api/v1/merchants/{}/group-campaigns", s.merchant),
            Some(&s.owner.token),
            json!({
                "sku_id": s.sku, "group_size": 2, "group_price_fen": 8_000,
                "ends_at": kith_app::rfc3339(kith_domain::Clock::now_ms(&t.clock) + 7 * DAY_SECS * 1000),
                "stock_limit": 30,
            }),
        )
        .await
        .expect(201);
    let cid = id(&campaign);
    let seat = json!({ "delivery": "shipping", "address": address() });
    let member = |name: &'static str| {
        let t = &t;
        async move {
            let u = t.register_member(name).await;
            t.top_up(&u, 50_000).await;
            u
        }
    };
    let pay = |oid: String, u: User| {
        let t = &t;
        async move {
            t.post(
                &format!("/api/v1/orders/{oid}/pay"),
                Some(&u.token),
                json!({ "provider": "wallet" }),
            )
            .await
            .expect(200);
        }
    };
    // A group that fills.
    let leader = member("团长").await;
    let friend = member("团员").await;
    let opened = t
        .post(
            &format!("/api/v1/group-campaigns/{cid}/groups"),
            Some(&leader.token),
            seat.clone(),
        )
        .await
        .expect(201);
    let gid = id(&opened["group"]);
    pay(id(&opened["order"]), leader.clone()).await;
    let joined = t
        .post(
            &format!("/api/v1/groups/{gid}/join"),
            Some(&friend.token),
            seat.clone(),
        )
        .await
        .expect(201);
    pay(id(&joined["order"]), friend.clone()).await;
    settle(&t).await;
    let l = kinds(&t, &leader).await;
    let f = kinds(&t, &friend).await;
    assert_eq!(l.get("group_succeeded"), Some(&1), "{l:?}");
    assert_eq!(f.get("group_succeeded"), Some(&1), "{f:?}");
    assert_eq!(f.get("group_joined"), Some(&1), "{f:?}");
    // The leader hears that someone joined (and of their own seat).
    assert!(l.get("group_joined").copied().unwrap_or(0) >= 1, "{l:?}");
    let inbox = t
        .get("/api/v1/me/notifications", Some(&friend.token))
        .await
        .expect(200);
    let ok = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "group_succeeded")
        .unwrap();
    assert_eq!(ok["link"], format!("/groups/{gid}"));

    // A group nobody joins fails at its deadline: its paid leader is refunded and told.
    let lonely = member("孤单团长").await;
    let opened = t
        .post(
            &format!("/api/v1/group-campaigns/{cid}/groups"),
            Some(&lonely.token),
            seat.clone(),
        )
        .await
        .expect(201);
    pay(id(&opened["order"]), lonely.clone()).await;
    t.clock.advance_secs(3 * DAY_SECS);
    settle(&t).await;
    let k = kinds(&t, &lonely).await;
    assert_eq!(k.get("group_failed"), Some(&1), "{k:?}");
    assert_eq!(k.get("refund_done"), Some(&1), "{k:?}");
    let before = stored(&t).await;
    settle(&t).await;
    assert_eq!(stored(&t).await, before);
}

// ---------------------------------------------------------------------------------------
// The WeChat channel against a local WeChat

const APPID: &str = "wx1234567890abcdef";
const SECRET: &str = "s3cr3t-of-the-gongzhonghao";
const TEMPLATE: &str = "tmpl_ORDER_SHIPPED_01";

/// What the local WeChat saw and how it behaves.
#[derive(Default)]
struct Wechat {
    /// The tokens it handed out; only the last is valid.
    tokens: Vec<String>,
    /// Accepted sends: (openid, template, thing1).
    sent: Vec<(String, String, String)>,
    /// Every send request, accepted or not.
    attempts: usize,
    /// Sends to the opted-in member to refuse with HTTP 500 before taking one.
    fail_next: usize,
    /// Rejected for a bad token or body.
    rejected: Vec<String>,
}

type Shared = Arc<Mutex<Wechat>>;

async fn stable_token(State(w): State<Shared>, body: axum::body::Bytes) -> axum::Json<Value> {
    let mut w = w.lock().unwrap();
    let Ok(b) = serde_json::from_slice::<Value>(&body) else {
        return axum::Json(json!({ "errcode": 47001, "errmsg": "data format error" }));
    };
    if b["grant_type"] != "client_credential" || b["appid"] != APPID {
        return axum::Json(json!({ "errcode": 40013, "errmsg": "invalid appid" }));
    }
    if b["secret"] != SECRET {
        return axum::Json(json!({ "errcode": 40125, "errmsg": "invalid appsecret" }));
    }
    if !b["force_refresh"].is_boolean() {
        return axum::Json(json!({ "errcode": 47001, "errmsg": "force_refresh" }));
    }
    let reuse = !b["force_refresh"].as_bool().unwrap() && !w.tokens.is_empty();
    if !reuse {
        let n = w.tokens.len();
        w.tokens.push(format!(
            "ACCESS_TOKEN_{n}_{}",
            kith_app::platform::ids::new_id()
        ));
    }
    axum::Json(json!({ "access_token": w.tokens.last().unwrap(), "expires_in": 7200 }))
}

async fn bizsend(
    State(w): State<Shared>,
    Query(q): Query<BTreeMap<String, String>>,
    body: axum::body::Bytes,
) -> Result<axum::Json<Value>, axum::http::StatusCode> {
    let mut w = w.lock().unwrap();
    w.attempts += 1;
    let token_ok = q.len() == 1
        && q.get("access_token")
            .is_some_and(|t| Some(t) == w.tokens.last());
    if !token_ok {
        w.rejected.push("token".into());
        return Ok(axum::Json(
            json!({ "errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest" }),
        ));
    }
    let Ok(b) = serde_json::from_slice::<Value>(&body) else {
        w.rejected.push("json".into());
        return Ok(axum::Json(
            json!({ "errcode": 47001, "errmsg": "data format error" }),
        ));
    };
    if w.fail_next > 0 && b["touser"] == "o_opted_in_member" {
        w.fail_next -= 1;
        return Err(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    }
    let touser = b["touser"].as_str().unwrap_or_default().to_owned();
    let template = b["template_id"].as_str().unwrap_or_default().to_owned();
    let thing1 = b["data"]["thing1"]["value"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let thing2 = b["data"]["thing2"]["value"].as_str().unwrap_or_default();
    let time3 = b["data"]["time3"]["value"].as_str().unwrap_or_default();
    if touser.is_empty() {
        return Ok(axum::Json(
            json!({ "errcode": 40003, "errmsg": "invalid openid" }),
        ));
    }
    if template != TEMPLATE {
        return Ok(axum::Json(
            json!({ "errcode": 40037, "errmsg": "invalid template_id" }),
        ));
    }
    if thing1.is_empty()
        || thing1.chars().count() > 20
        || thing2.is_empty()
        || thing2.chars().count() > 20
        || time3.len() != 16
    {
        w.rejected.push(format!("data {b}"));
        return Ok(axum::Json(
            json!({ "errcode": 47003, "errmsg": "argument invalid! data.thing" }),
        ));
    }
    if !b["page"].as_str().unwrap_or_default().starts_with("http") {
        w.rejected.push("page".into());
        return Ok(axum::Json(json!({ "errcode": 47003, "errmsg": "page" })));
    }
    if touser == "o_refused_subscription" {
        return Ok(axum::Json(
            json!({ "errcode": 43101, "errmsg": "user refuse to accept the msg" }),
        ));
    }
    w.sent.push((touser, template, thing1));
    Ok(axum::Json(json!({ "errcode": 0, "errmsg": "ok" })))
}

async fn local_wechat() -> (String, Shared) {
    let shared: Shared = Arc::default();
    let app = axum::Router::new()
        .route("/cgi-bin/stable_token", post(stable_token))
        .route("/cgi-bin/message/subscribe/bizsend", post(bizsend))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), shared)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_sqlite() {
    wechat_story(crate::harness::Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_postgres() {
    wechat_story(crate::harness::Engine::Postgres).await;
}

async fn wechat_story(engine: crate::harness::Engine) {
    let (base, wx) = local_wechat().await;
    let setup = move |a: &mut ServeArgs| {
        a.wechat_notify_appid = Some(APPID.into());
        a.wechat_notify_secret = Some(SECRET.into());
        a.wechat_api_base = Some(base.clone());
        a.wechat_notify_templates = Some(format!("order_shipped={TEMPLATE}"));
    };
    let Some(t) = TestApp::spawn_with(engine, setup).await else {
        return;
    };
    let s = t.shop().plan(json!({ "levels_bp": [1000] })).build().await;
    let opted = t.register_member("开了微信").await;
    let silent = t.register_member("没开微信").await;
    let unlinked = t.register_member("没绑微信").await;
    let refuser = t.register_member("拒收").await;
    t.app
        .set_wechat_openid(&AccountId::parse(&opted.id).unwrap(), "o_opted_in_member")
        .await
        .unwrap();
    t.app
        .set_wechat_openid(&AccountId::parse(&silent.id).unwrap(), "o_silent_member")
        .await
        .unwrap();
    t.app
        .set_wechat_openid(
            &AccountId::parse(&refuser.id).unwrap(),
            "o_refused_subscription",
        )
        .await
        .unwrap();
    assert!(
        t.app
            .set_wechat_openid(&AccountId::parse(&silent.id).unwrap(), "bad openid!")
            .await
            .is_err()
    );
    for u in [&opted, &unlinked, &refuser] {
        let p = t
            .put(
                "/api/v1/me/notification-preferences",
                Some(&u.token),
                json!({ "preferences": [{ "kind": "order_shipped", "wechat": true }, { "kind": "order_paid", "wechat": true }] }),
            )
            .await
            .expect(200);
        assert_eq!(p["wechat_available"], true);
    }
    let prefs = t
        .get("/api/v1/me/notification-preferences", Some(&opted.token))
        .await
        .expect(200);
    assert_eq!(prefs["wechat_linked"], true);

    // The first send fails (HTTP 500): retried with backoff, then taken exactly once.
    wx.lock().unwrap().fail_next = 1;
    let mut orders = Vec::new();
    for u in [&opted, &silent, &unlinked, &refuser] {
        let o = t.order(&s, u).paid().await;
        orders.push(id(&o));
    }
    // Shipping is the kind with a template; paying (chosen too) has none, so it is skipped.
    for oid in &orders {
        let tracking = format!("SBX{}", &oid.replace('-', "")[..12]);
        t.post(
            &format!("/api/v1/merchants/{}/orders/{oid}/ship", s.merchant),
            Some(&s.owner.token),
            json!({ "carrier": "sandbox", "tracking_no": tracking }),
        )
        .await
        .expect(200);
    }
    settle(&t).await;
    {
        let w = wx.lock().unwrap();
        assert!(w.rejected.is_empty(), "{:?}", w.rejected);
        assert_eq!(w.sent.len(), 0, "the failed send is waiting for its retry");
    }
    let mine = t
        .app
        .my_notification_deliveries(&principal(&t, &opted).await)
        .await
        .unwrap();
    let shipped = mine.iter().find(|d| d.kind == "order_shipped").unwrap();
    assert_eq!((shipped.status.as_str(), shipped.attempts), ("pending", 1));
    let paid = mine.iter().find(|d| d.kind == "order_paid").unwrap();
    assert_eq!(paid.status, "skipped");
    let theirs = t
        .app
        .my_notification_deliveries(&principal(&t, &refuser).await)
        .await
        .unwrap();
    let refused = theirs.iter().find(|d| d.kind == "order_shipped").unwrap();
    assert_eq!(
        (refused.status.as_str(), refused.error_code),
        ("refused", Some(43101))
    );
    let nobody = t
        .app
        .my_notification_deliveries(&principal(&t, &unlinked).await)
        .await
        .unwrap();
    assert!(nobody.iter().all(|d| d.status == "skipped"), "{nobody:?}");
    assert!(
        t.app
            .my_notification_deliveries(&principal(&t, &silent).await)
            .await
            .unwrap()
            .is_empty()
    );

    t.clock.advance_secs(3600);
    settle(&t).await;
    let attempts_after_retry;
    {
        let w = wx.lock().unwrap();
        assert_eq!(
            w.sent,
            vec![(
                "o_opted_in_member".to_owned(),
                TEMPLATE.to_owned(),
                "订单已发货".to_owned()
            )]
        );
        assert_eq!(w.tokens.len(), 1, "one token, cached and reused");
        attempts_after_retry = w.attempts;
    }
    let mine = t
        .app
        .my_notification_deliveries(&principal(&t, &opted).await)
        .await
        .unwrap();
    let shipped = mine.iter().find(|d| d.kind == "order_shipped").unwrap();
    assert_eq!((shipped.status.as_str(), shipped.attempts), ("sent", 2));

    // Nothing more goes out, however often the queue runs; the refusal is not retried.
    t.clock.advance_secs(DAY_SECS);
    settle(&t).await;
    assert_eq!(wx.lock().unwrap().attempts, attempts_after_retry);

    // WeChat invalidates the token (another holder forced a refresh): the next send gets
    // 40001, refreshes once and goes through.
    {
        let mut w = wx.lock().unwrap();
        let n = w.tokens.len();
        w.tokens.push(format!("ROTATED_{n}"));
    }
    let o = t.order(&s, &opted).paid().await;
    let oid = id(&o);
    let tracking = format!("SBX{}", &oid.replace('-', "")[..12]);
    t.post(
        &format!("/api/v1/merchants/{}/orders/{oid}/ship", s.merchant),
        Some(&s.owner.token),
        json!({ "carrier": "sandbox", "tracking_no": tracking }),
    )
    .await
    .expect(200);
    settle(&t).await;
    let w = wx.lock().unwrap();
    assert_eq!(w.sent.len(), 2, "{:?}", w.sent);
    assert_eq!(w.rejected, vec!["token".to_owned()]);
    assert_eq!(w.tokens.len(), 3, "one forced refresh after the rotation");
}

/// The member as the application sees them.
async fn principal(t: &TestApp, u: &User) -> kith_app::Principal {
    t.app.authenticate(&u.token).await.unwrap()
}
