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

/// 我的 → 手机号: the number shown masked; 获取验证码 then 更换手机号 binds the new number
/// (a flash line says so), a wrong code is said beside the code field with the number kept,
/// and another account's number is refused beside the number.
async fn a_member_changes_their_number_on_the_phone_page(t: TestApp) {
    let m = t.register_member("换号的人").await;
    let holder = t.register_member("号主").await;
    let mut b = Browser::login(&t, &m.login).await;
    let me = b.get("/me").await.expect(200);
    assert!(me.has("href=\"/me/phone\""));
    let p = b.get("/me/phone").await.expect(200);
    let masked = format!("{}****{}", &m.login[..3], &m.login[7..]);
    assert!(p.text_of("phone-current").contains(&masked), "{}", p.body);
    assert!(!p.has(&m.login), "the full number is not shown");
    let csrf = p.csrf();
    let new = next_phone();
    let p = b
        .post("/me/phone/code", &[("csrf", &csrf), ("phone", &new)])
        .await
        .expect(200);
    assert!(p.has("验证码已发送") && p.has(&format!("value=\"{new}\"")));
    let code = t.last_sms_code(&new).expect("a bind code");
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let p = b
        .post(
            "/me/phone",
            &[("csrf", &csrf), ("phone", &new), ("code", wrong)],
        )
        .await
        .expect(401);
    assert!(p.has("id=\"sms-code-error\"") && p.has(&format!("value=\"{new}\"")));
    let done = b
        .post(
            "/me/phone",
            &[("csrf", &csrf), ("phone", &new), ("code", &code)],
        )
        .await
        .expect(303);
    assert_eq!(done.location(), "/me/phone?done=phone_bound");
    let p = b.get(&done.location()).await.expect(200);
    assert!(p.has("手机号已绑定"));
    assert!(
        p.text_of("phone-current")
            .contains(&format!("{}****{}", &new[..3], &new[7..]))
    );
    t.clock.advance_secs(61);
    b.post(
        "/me/phone/code",
        &[("csrf", &csrf), ("phone", &holder.login)],
    )
    .await
    .expect(200);
    let code = t.last_sms_code(&holder.login).expect("a bind code");
    let p = b
        .post(
            "/me/phone",
            &[("csrf", &csrf), ("phone", &holder.login), ("code", &code)],
        )
        .await
        .expect(409);
    assert!(p.has("id=\"sms-phone-error\"") && p.has("另一个账号"));
}

fn proven(a: &mut kith::config::ServeArgs) {
    a.signup_phone_code = Some(true);
}

/// On a server that asks sign-ups to prove their number, 注册 has 获取验证码: the form comes
/// back with the name and number kept, a wrong code is said beside the code, and the right
/// one registers and signs in.
async fn the_register_page_proves_the_number(t: TestApp) {
    let mut b = Browser::new(&t);
    let p = b.get("/register").await.expect(200);
    assert!(p.has("id=\"sms-get-code\"") && p.has("formaction=\"/register/code\""));
    let phone = next_phone();
    let p = b
        .post(
            "/register/code",
            &[
                ("phone", &phone),
                ("display_name", "小吴"),
                ("password", ""),
            ],
        )
        .await
        .expect(200);
    assert!(p.has("验证码已发送"));
    assert!(p.has(&format!("value=\"{phone}\"")) && p.has("value=\"小吴\""));
    let code = t.last_sms_code(&phone).expect("a code");
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let form = |code: &str| {
        vec![
            ("phone".to_owned(), phone.clone()),
            ("code".to_owned(), code.to_owned()),
            ("password".to_owned(), crate::harness::PASSWORD.to_owned()),
            ("display_name".to_owned(), "小吴".to_owned()),
        ]
    };
    let pairs = form(wrong);
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let p = b.post("/register", &refs).await.expect(401);
    assert!(p.has("id=\"sms-code-error\"") && p.has("验证码不对或已过期"));
    assert!(b.cookie.is_none());
    let pairs = form(&code);
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let done = b.post("/register", &refs).await.expect(303);
    assert_eq!(done.location(), "/");
    assert!(b.cookie.is_some(), "signed in");
}

both_engines!(
    a_visitor_signs_up_and_in_with_a_text_message_code,
    the_register_page_refuses_a_weak_password,
    a_member_changes_their_number_on_the_phone_page,
);
crate::both_engines_with!(proven; the_register_page_proves_the_number);
