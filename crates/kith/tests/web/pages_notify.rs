//! The notification pages over plain HTTP, as a browser without JavaScript uses them, on
//! both engines: the badge with the unread count on every page, the inbox (unread in bold,
//! Beijing time, opening one marks it read and goes to its thing, mark all read, the empty
//! state), English words on `?lang=en`, another member's notification answering 404, and
//! the preferences form (the inbox always on, WeChat boxes saved per kind).

use serde_json::json;

use crate::both_engines;
use crate::harness::TestApp;
use crate::web::Browser;

both_engines!(inbox_badge_and_preferences_through_the_pages);

async fn inbox_badge_and_preferences_through_the_pages(t: TestApp) {
    let s = t.shop().plan(json!({ "levels_bp": [1000] })).build().await;
    let buyer = t.register_member("看消息的人").await;
    let other = t.register_member("别人").await;
    let mut b = Browser::login_user(&t, &buyer).await;

    // Nothing yet: no badge, the empty state.
    let p = b.get("/me/notifications").await.expect(200);
    assert!(p.has("id=\"no-notifications\""));
    assert!(!p.has("unread-badge"));

    let o1 = t.order(&s, &buyer).paid().await;
    t.clock.advance_ms(5);
    t.order(&s, &buyer).paid().await;
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .unwrap();

    // The badge on every page, the unread ones in bold, in Beijing time.
    let feed = b.get("/").await.expect(200);
    assert!(
        feed.has("class=\"badge unread-badge\""),
        "{}",
        feed.compact()
    );
    assert!(feed.has(">2</span>"));
    let p = b.get("/me/notifications").await.expect(200);
    assert!(
        p.has("<strong class=\"n-title\">订单已支付</strong>"),
        "{}",
        p.compact()
    );
    assert!(!p.has("id=\"no-notifications\""));
    let created = t
        .get("/api/v1/me/notifications?limit=1", Some(&buyer.token))
        .await
        .expect(200);
    let newest = created["items"][0].clone();
    let when = kith_web::pages::beijing(newest["created_at"].as_str().unwrap());
    assert!(p.has(&when), "Beijing time {when}");
    let en = b.get("/me/notifications?lang=en").await.expect(200);
    assert!(en.has("Order paid"));
    b.get("/me/notifications?lang=zh").await.expect(200);

    // Opening the older one marks it read and goes to its order.
    let oldest = t
        .get("/api/v1/me/notifications?limit=2", Some(&buyer.token))
        .await
        .expect(200)["items"][1]
        .clone();
    let nid = oldest["id"].as_str().unwrap();
    let opened = b
        .submit(
            "/me/notifications",
            &format!("/me/notifications/{nid}/open"),
            &[],
        )
        .await
        .expect(303);
    assert_eq!(
        opened.location(),
        format!("/orders/{}", o1["id"].as_str().unwrap())
    );
    let p = b.get("/me/notifications").await.expect(200);
    assert!(p.has(">1</span>"));
    assert!(p.has("<span class=\"n-title\">订单已支付</span>"));

    // Another member's browser cannot open it.
    let mut ob = Browser::login_user(&t, &other).await;
    ob.submit(
        "/me/notifications",
        &format!("/me/notifications/{nid}/open"),
        &[],
    )
    .await
    .expect(404);
    // A POST without the CSRF token changes nothing.
    b.post("/me/notifications/read-all", &[]).await;
    assert_eq!(
        t.get("/api/v1/me/notifications/unread-count", Some(&buyer.token))
            .await
            .expect(200)["unread"],
        1
    );
    // Mark all read: the badge goes away.
    b.submit("/me/notifications", "/me/notifications/read-all", &[])
        .await
        .expect(303);
    let p = b.get("/me/notifications").await.expect(200);
    assert!(!p.has("unread-badge"));
    assert!(!p.has("id=\"read-all\""));

    // Preferences: the inbox always on; WeChat boxes saved per kind; this server has no
    // WeChat, and says so.
    let set = b.get("/me/notifications/settings").await.expect(200);
    assert!(set.has("id=\"wechat-off\""));
    assert!(set.has("始终"));
    assert!(!set.has("name=\"wechat_order_shipped\" value=\"on\" checked"));
    let saved = b
        .submit(
            "/me/notifications/settings",
            "/me/notifications/settings",
            &[("wechat_order_shipped", "on"), ("sms_group_failed", "on")],
        )
        .await
        .expect(303);
    assert_eq!(saved.location(), "/me/notifications/settings?saved=1");
    let set = b
        .get("/me/notifications/settings?saved=1")
        .await
        .expect(200);
    assert!(set.has("id=\"saved\""));
    assert!(set.has("name=\"wechat_order_shipped\" value=\"on\" checked"));
    assert!(set.has("name=\"sms_group_failed\" value=\"on\" checked"));
    assert!(!set.has("name=\"wechat_order_paid\" value=\"on\" checked"));
    let prefs = t
        .get("/api/v1/me/notification-preferences", Some(&buyer.token))
        .await
        .expect(200);
    let shipped = prefs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "order_shipped")
        .unwrap()
        .clone();
    assert_eq!(shipped["wechat"], true);
    let en = b
        .get("/me/notifications/settings?lang=en")
        .await
        .expect(200);
    assert!(en.has("Order shipped") && en.has("Always"));
}
