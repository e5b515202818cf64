//! Phones proven by SMS code, over HTTP on both engines: binding or replacing a member's
//! number (`PUT /me/phone` with a `bind` code), a password sign-up that must prove its
//! number first — so sign-up tells nobody but the number's holder that it is registered —
//! also through a share link, and notifications sent by SMS through the provider with a
//! template per kind, only to members who chose it.

use kith::config::ServeArgs;
use serde_json::json;

use crate::harness::{PASSWORD, TestApp, id, next_phone};
use crate::{both_engines, both_engines_with};

both_engines!(a_member_binds_and_replaces_their_number);
both_engines_with!(proven; sign_up_proves_the_number_and_tells_only_its_holder);
both_engines_with!(sms_notices; notifications_go_by_sms_to_who_chose_it);

async fn bind_code(t: &TestApp, token: &str, phone: &str) -> String {
    t.post(
        "/api/v1/auth/sms-codes",
        Some(token),
        json!({ "phone": phone, "purpose": "bind" }),
    )
    .await
    .expect(202);
    t.last_sms_code(phone).expect("a bind code was sent")
}

fn other(code: &str) -> &'static str {
    if code == "000000" { "000001" } else { "000000" }
}

/// A member replaces their number with one proven by a `bind` code; a wrong code, a code
/// asked for `login`, another account's number and a caller without a session are each
/// refused and change nothing.
async fn a_member_binds_and_replaces_their_number(t: TestApp) {
    let m = t.register_member("换号").await;
    let holder = t.register_member("号主").await;
    let new = next_phone();
    // Asking for a bind code needs a session; binding needs one too.
    t.post(
        "/api/v1/auth/sms-codes",
        None,
        json!({ "phone": new, "purpose": "bind" }),
    )
    .await
    .problem(401, None);
    t.put(
        "/api/v1/me/phone",
        None,
        json!({ "phone": new, "code": "123456" }),
    )
    .await
    .problem(401, None);

    let code = bind_code(&t, &m.token, &new).await;
    t.put(
        "/api/v1/me/phone",
        Some(&m.token),
        json!({ "phone": new, "code": other(&code) }),
    )
    .await
    .problem(401, None);
    t.put(
        "/api/v1/me/phone",
        Some(&m.token),
        json!({ "phone": "12345", "code": code }),
    )
    .await
    .problem(422, Some("phone"));
    t.put(
        "/api/v1/me/phone",
        Some(&m.token),
        json!({ "phone": new, "code": "12ab" }),
    )
    .await
    .problem(422, Some("code"));
    let me = t.get("/api/v1/me", Some(&m.token)).await.expect(200);
    assert_eq!(me["account"]["phone"], m.login.as_str(), "nothing changed");

    // A `login` code does not bind (one code a minute per number).
    t.clock.advance_secs(61);
    t.post(
        "/api/v1/auth/sms-codes",
        None,
        json!({ "phone": new, "purpose": "login" }),
    )
    .await
    .expect(202);
    let login_code = t.last_sms_code(&new).expect("code");
    t.put(
        "/api/v1/me/phone",
        Some(&m.token),
        json!({ "phone": new, "code": login_code }),
    )
    .await
    .problem(401, None);

    t.clock.advance_secs(61);
    let code = bind_code(&t, &m.token, &new).await;
    let a = t
        .put(
            "/api/v1/me/phone",
            Some(&m.token),
            json!({ "phone": new, "code": code }),
        )
        .await
        .expect(200);
    assert_eq!(a["phone"], new.as_str());
    // The new number signs in with the password; the old one no longer does.
    t.login(&new, PASSWORD).await.expect(201);
    t.login(&m.login, PASSWORD).await.problem(401, None);
    let events = t
        .app
        .db
        .read(|c| {
            c.query_one(
                "SELECT COUNT(*) FROM outbox WHERE topic = 'account.phone_bound'",
                &[],
            )?
            .int(0)
        })
        .await
        .unwrap();
    assert_eq!(events, 1);

    // Another account's number, proven: 409 on phone, said only to its holder.
    t.clock.advance_secs(61);
    let code = bind_code(&t, &m.token, &holder.login).await;
    t.put(
        "/api/v1/me/phone",
        Some(&m.token),
        json!({ "phone": holder.login, "code": code }),
    )
    .await
    .problem(409, Some("phone"));
    let me = t.get("/api/v1/me", Some(&holder.token)).await.expect(200);
    assert_eq!(me["account"]["phone"], holder.login.as_str());
}

fn proven(a: &mut ServeArgs) {
    a.signup_phone_code = Some(true);
}

async fn login_code(t: &TestApp, phone: &str) -> String {
    t.post(
        "/api/v1/auth/sms-codes",
        None,
        json!({ "phone": phone, "purpose": "login" }),
    )
    .await
    .expect(202);
    t.last_sms_code(phone).expect("code")
}

/// With the proof on, a password sign-up needs its number's code: without one it is 422
/// on `code`; a wrong code answers the same for a registered number and a new one; the
/// right code registers a new number, and tells the holder of a registered one (409). A
/// share-link sign-up asks for the same proof. An email-only sign-up needs a phone.
async fn sign_up_proves_the_number_and_tells_only_its_holder(t: TestApp) {
    let known = t
        .app
        .register_unproven(kith_app::platform::accounts::Registration {
            phone: Some(next_phone()),
            password: PASSWORD.into(),
            display_name: "老用户".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let known = known.phone.unwrap();
    let fresh = next_phone();
    let body = |phone: &str, code: Option<&str>| json!({ "phone": phone, "password": PASSWORD, "display_name": "新人", "code": code });
    t.post("/api/v1/accounts", None, body(&fresh, None))
        .await
        .problem(422, Some("code"));
    t.post(
        "/api/v1/accounts",
        None,
        json!({ "email": "only@example.com", "password": PASSWORD, "display_name": "邮箱" }),
    )
    .await
    .problem(422, Some("phone"));

    let (ck, cf) = (login_code(&t, &known).await, login_code(&t, &fresh).await);
    let a = t
        .post("/api/v1/accounts", None, body(&known, Some(other(&ck))))
        .await;
    let b = t
        .post("/api/v1/accounts", None, body(&fresh, Some(other(&cf))))
        .await;
    assert_eq!(a.status, 401);
    assert_eq!(
        (a.status, &a.body),
        (b.status, &b.body),
        "a wrong code says nothing about the number"
    );

    // The holder of the registered number learns it; nothing is made.
    t.post("/api/v1/accounts", None, body(&known, Some(&ck)))
        .await
        .problem(409, Some("phone"));
    // The new number registers with its code, once.
    let acct = t
        .post("/api/v1/accounts", None, body(&fresh, Some(&cf)))
        .await
        .expect(201);
    assert_eq!(acct["phone"], fresh.as_str());
    t.login(&fresh, PASSWORD).await.expect(201);

    // Through a share link: the same proof.
    let s = t.shop().plan(json!({ "levels_bp": [1000] })).build().await;
    let sharer = t.register_member("分享人").await;
    let (_, link) = crate::worlds::product_link(&t, &s, &sharer).await;
    let via = next_phone();
    t.post(
        &format!("/api/v1/s/{link}/accounts"),
        None,
        body(&via, None),
    )
    .await
    .problem(422, Some("code"));
    let code = login_code(&t, &via).await;
    t.post(
        &format!("/api/v1/s/{link}/accounts"),
        None,
        body(&via, Some(other(&code))),
    )
    .await
    .problem(401, None);
    let made = t
        .post(
            &format!("/api/v1/s/{link}/accounts"),
            None,
            body(&via, Some(&code)),
        )
        .await
        .expect(201);
    assert_eq!(made["phone"], via.as_str());
}

const SHIP_TEMPLATE: &str = "SMS_480001";

fn sms_notices(a: &mut ServeArgs) {
    a.sms_notify_templates = Some(format!("order_shipped={SHIP_TEMPLATE}"));
}

/// Runs background work (notifications, deliveries) until nothing is left.
async fn settle(t: &TestApp) {
    for _ in 0..5 {
        kith_app::events::jobs::run_once(&t.app, "test")
            .await
            .unwrap();
    }
}

/// SMS notifications: offered once a provider and a template exist; sent through the
/// provider with the kind's template and its two variables to the member's own number,
/// only for the kinds they turned on; a kind without a template is skipped, never sent.
async fn notifications_go_by_sms_to_who_chose_it(t: TestApp) {
    let s = t.shop().plan(json!({ "levels_bp": [1000] })).build().await;
    let opted = t.register_member("要短信").await;
    let quiet = t.register_member("不要短信").await;
    let prefs = t
        .put(
            "/api/v1/me/notification-preferences",
            Some(&opted.token),
            json!({ "preferences": [{ "kind": "order_shipped", "sms": true }, { "kind": "order_paid", "sms": true }] }),
        )
        .await
        .expect(200);
    assert_eq!(prefs["sms_available"], true);
    let mut orders = Vec::new();
    for u in [&opted, &quiet] {
        orders.push(id(&t.order(&s, u).paid().await));
    }
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
    settle(&t).await;
    let sent: Vec<_> = t
        .app
        .sms
        .recent()
        .into_iter()
        .filter(|m| m.message.template != "SMS_LOGIN_CODE")
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].to, opted.login);
    assert_eq!(sent[0].message.template, SHIP_TEMPLATE);
    let params: Vec<&str> = sent[0]
        .message
        .params
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(params, ["title", "detail"]);
    assert_eq!(sent[0].message.params[0].1, "订单已发货");
    assert!(
        !sent[0].message.params[1].1.is_empty()
            && sent[0].message.params[1].1.chars().count() <= 35
    );
    let who = t.app.authenticate(&opted.token).await.unwrap();
    let mine = t.app.my_notification_deliveries(&who).await.unwrap();
    let shipped = mine.iter().find(|d| d.kind == "order_shipped").unwrap();
    assert_eq!(
        (shipped.channel.as_str(), shipped.status.as_str()),
        ("sms", "sent")
    );
    let paid = mine.iter().find(|d| d.kind == "order_paid").unwrap();
    assert_eq!(paid.status, "skipped", "order_paid has no template");
    // Run again: nothing more goes out.
    t.clock.advance_secs(3600);
    settle(&t).await;
    let again = t
        .app
        .sms
        .recent()
        .into_iter()
        .filter(|m| m.message.template == SHIP_TEMPLATE)
        .count();
    assert_eq!(again, 1);
}
