//! The login page's SMS sign-in, with a cookie browser and no script: 手机验证码登录 comes
//! first; 获取验证码 comes back with the number kept and 已发送, or the reason beside the
//! field; the code signs a new number up and in, and 我的 shows the new member.

use crate::both_engines;
use crate::harness::{TestApp, next_phone};
use crate::web::Browser;

async fn a_visitor_signs_up_and_in_with_a_text_message_code(t: TestApp) {
    let mut b = Browser::new(&t);
    let p = b.get("/login?next=/me").await.expect(200);
    let sms = p.body.find("id=\"sms-login\"").expect("the SMS form");
    let password = p
        .body
        .find("id=\"password-login\"")
        .expect("the password form");
    assert!(sms < password, "手机验证码登录 comes first");
    assert!(p.has("手机验证码登录") && p.has("获取验证码") && p.has("密码登录"));
    assert!(!p.has("sms-demo-hint"), "the demo's hint only with --demo");
    // A number that is not one: said beside the field, what was typed kept.
    let p = b
        .post("/login/sms-code", &[("phone", "1234"), ("next", "/me")])
        .await
        .expect(422);
    assert!(p.has("请输入正确的手机号"), "{}", p.body);
    assert!(p.has("value=\"1234\""));
    let phone = next_phone();
    let p = b
        .post("/login/sms-code", &[("phone", &phone), ("next", "/me")])
        .await
        .expect(200);
    assert!(p.has("验证码已发送"), "{}", p.body);
    assert!(p.has(&format!("value=\"{phone}\"")));
    // Asking again at once: the throttle's words beside the number.
    let p = b
        .post("/login/sms-code", &[("phone", &phone), ("next", "/me")])
        .await
        .expect(429);
    assert!(p.has("请求太频繁"), "{}", p.body);
    let code = t
        .last_sms_code(&phone)
        .expect("the console provider got the code");
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let p = b
        .post(
            "/login/sms",
            &[("phone", &phone), ("code", wrong), ("next", "/me")],
        )
        .await
        .expect(401);
    assert!(p.has("验证码不对或已过期"), "{}", p.body);
    assert!(p.has(&format!("value=\"{phone}\"")));
    assert!(b.cookie.is_none());
    let p = b
        .post(
            "/login/sms",
            &[("phone", &phone), ("code", &code), ("next", "/me")],
        )
        .await
        .expect(303);
    assert_eq!(p.location(), "/me");
    assert!(b.cookie.is_some(), "signed in");
    let me = b.get("/me").await.expect(200);
    assert!(me.has(&format!("用户{}", &phone[7..])), "{}", me.body);
}

/// Registering with a password everyone tries first comes back in the page's words.
async fn the_register_page_refuses_a_weak_password(t: TestApp) {
    let mut b = Browser::new(&t);
    b.get("/register").await.expect(200);
    let phone = next_phone();
    let p = b
        .post(
            "/register",
            &[
                ("phone", &phone),
                ("password", "password123"),
                ("display_name", "小周"),
            ],
        )
        .await
        .expect(422);
    assert!(p.has("密码太容易被猜到"), "{}", p.body);
    assert!(p.has(&format!("value=\"{phone}\"")));
}

both_engines!(
    a_visitor_signs_up_and_in_with_a_text_message_code,
    the_register_page_refuses_a_weak_password,
);
