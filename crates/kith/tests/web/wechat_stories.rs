//! WeChat sign-in (公众号 网页授权) against a local WeChat that checks the protocol
//! strictly (`tests/support/wechat.rs`), over HTTP with the cookie browser, on both
//! engines: a new WeChat user makes an account from 完成登录 and comes back to the same
//! one; forged, foreign, expired and reused states and reused codes change nothing;
//! linking a password account from 完成登录 and from 我的; an identity that belongs to
//! someone else is refused; unlinking asks for the password and never locks an account out.

use kith_store::args;
use serde_json::json;

use crate::harness::{PASSWORD, TestApp};
use crate::web::{Browser, Page};
use crate::wechat::{FakeWeChat, WxUser, configure};

crate::both_engines_with!(configure;
    new_wechat_user_creates_an_account_and_comes_back_to_it,
    forged_foreign_expired_and_reused_states_and_codes_are_refused,
    an_unknown_unionid_never_makes_an_account_by_itself,
    a_password_account_is_linked_from_the_complete_page,
    linking_in_me_and_an_identity_of_someone_else_is_refused,
    unlinking_asks_for_reauthentication_and_never_locks_out,
);
crate::both_engines_with!(with_notify; a_phone_code_continues_a_wechat_sign_in);

/// The fake WeChat for sign-in, and notifications from the same 公众号.
fn with_notify(a: &mut kith::config::ServeArgs) {
    configure(a);
    a.wechat_notify_appid = Some(crate::wechat::APP_ID.into());
    a.wechat_notify_secret = Some(crate::wechat::SECRET.into());
}

fn wx() -> &'static FakeWeChat {
    FakeWeChat::shared()
}

/// 微信登录 from the login page up to kith's callback: the callback's path and query.
async fn authorize(b: &mut Browser<'_>, user: &WxUser) -> String {
    let login = b.get("/login").await.expect(200);
    assert!(
        login.has("id=\"wechat-sign-in\""),
        "the login page offers 微信登录"
    );
    assert!(login.has("微信登录"));
    let go = b.get("/auth/wechat?next=/orders").await.expect(303);
    let set: Vec<&str> = go
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let oauth = set
        .iter()
        .find(|c| c.starts_with("kith_oauth="))
        .expect("the flow's browser cookie");
    assert!(
        oauth.contains("HttpOnly") && oauth.contains("SameSite=Lax"),
        "{oauth}"
    );
    wx().authorize(&go.location(), &b.t.base, user)
}

fn token_of(b: &Browser<'_>) -> String {
    b.cookie
        .as_deref()
        .and_then(|c| c.strip_prefix("kith_session="))
        .expect("signed in")
        .to_owned()
}

async fn account_of(b: &Browser<'_>) -> String {
    b.t.app
        .authenticate(&token_of(b))
        .await
        .expect("a live session")
        .account_id
}

async fn count(t: &TestApp, sql: &'static str) -> i64 {
    t.app
        .db
        .read(move |c| c.query_one(sql, &[])?.int(0))
        .await
        .expect("count")
}

/// A new WeChat user through 完成登录 → 创建新账号: the browser that signed in.
async fn new_wechat_account<'a>(t: &'a TestApp, user: &WxUser) -> Browser<'a> {
    let mut b = Browser::new(t);
    let cb = authorize(&mut b, user).await;
    let p = b.get(&cb).await.expect(303);
    assert_eq!(p.location(), "/auth/wechat/complete");
    assert!(b.cookie.is_none(), "an unknown identity is not signed in");
    let page = b.get("/auth/wechat/complete").await.expect(200);
    assert!(page.has("完成登录") && page.has("创建新账号") && page.has("已有账号？登录后关联"));
    assert_eq!(page.text_of("wechat-nickname"), user.nickname);
    let csrf = page.csrf();
    let done = b
        .post("/auth/wechat/complete/new", &[("csrf", &csrf)])
        .await
        .expect(303);
    assert_eq!(done.location(), "/orders", "back where sign-in started");
    assert!(b.cookie.is_some(), "signed in");
    b
}

async fn new_wechat_user_creates_an_account_and_comes_back_to_it(t: TestApp) {
    let user = WxUser::new("new", true);
    let before = count(&t, "SELECT COUNT(*) FROM accounts").await;
    let b = new_wechat_account(&t, &user).await;
    let id = account_of(&b).await;
    assert_eq!(count(&t, "SELECT COUNT(*) FROM accounts").await, before + 1);
    let me = t.get("/api/v1/me", Some(&token_of(&b))).await.expect(200);
    assert_eq!(me["account"]["display_name"], user.nickname.as_str());
    assert!(me["account"]["phone"].is_null() && me["account"]["email"].is_null());

    // The same person again, in another browser: the same account, no second one.
    let mut again = Browser::new(&t);
    let cb = authorize(&mut again, &user).await;
    let p = again.get(&cb).await.expect(303);
    assert_eq!(p.location(), "/orders");
    assert_eq!(account_of(&again).await, id);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM accounts").await, before + 1);

    // The event says who linked what, and carries no token, openid or unionid.
    let payloads: Vec<String> = t
        .app
        .db
        .read(|c| {
            c.query(
                "SELECT payload FROM outbox WHERE topic = 'account.identity_linked'",
                &[],
            )?
            .iter()
            .map(|r| r.text(0))
            .collect::<Result<Vec<_>, _>>()
        })
        .await
        .expect("events");
    assert_eq!(payloads.len(), 1);
    assert!(payloads[0].contains(&id));
    let unionid = user.unionid.clone().expect("unionid");
    for secret in [
        user.openid.as_str(),
        unionid.as_str(),
        "access_token",
        "at_",
    ] {
        assert!(!payloads[0].contains(secret), "{secret} in {}", payloads[0]);
    }
}

async fn forged_foreign_expired_and_reused_states_and_codes_are_refused(t: TestApp) {
    let user = WxUser::new("st", true);
    let accounts = count(&t, "SELECT COUNT(*) FROM accounts").await;

    // A forged state (never issued): refused before WeChat is asked.
    let mut b = Browser::new(&t);
    authorize(&mut b, &user).await;
    let code = wx().issue_code(&user);
    let p = b
        .get(&format!(
            "/auth/wechat/callback?code={code}&state=forged{}",
            "x".repeat(40)
        ))
        .await
        .expect(422);
    assert!(p.has("微信登录未完成"), "said in the page's language");
    assert_eq!(
        wx().exchanges(&code),
        0,
        "a forged state never reaches WeChat"
    );
    // No state at all.
    b.get(&format!("/auth/wechat/callback?code={code}"))
        .await
        .expect(422);

    // A state from another browser: refused there, and still good in its own browser.
    let mut mine = Browser::new(&t);
    let cb = authorize(&mut mine, &user).await;
    let mut other = Browser::new(&t);
    other.get(&cb).await.expect(422);
    assert!(other.cookie.is_none());
    let mut stolen = Browser::new(&t);
    stolen.jar.push("kith_oauth=not-the-right-secret".into());
    stolen.get(&cb).await.expect(422);
    let used_code = cb
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(wx().exchanges(&used_code), 0);
    mine.get(&cb).await.expect(303);
    assert_eq!(wx().exchanges(&used_code), 1);

    // The same callback again: the state is spent.
    mine.get(&cb).await.expect(422);
    // A fresh state with the code already used: refused by kith, WeChat not asked again.
    let cb2 = authorize(&mut mine, &user).await;
    let state2 = cb2.split("state=").nth(1).unwrap().to_owned();
    mine.get(&format!(
        "/auth/wechat/callback?code={used_code}&state={state2}"
    ))
    .await
    .expect(422);
    assert_eq!(
        wx().exchanges(&used_code),
        1,
        "a replayed code never reaches WeChat"
    );

    // A code WeChat does not know (errcode 40029 with HTTP 200): refused.
    let cb3 = authorize(&mut mine, &user).await;
    let state3 = cb3.split("state=").nth(1).unwrap().to_owned();
    mine.get(&format!(
        "/auth/wechat/callback?code=nosuchcode123&state={state3}"
    ))
    .await
    .expect(422);

    // A state past its ten minutes.
    let cb4 = authorize(&mut mine, &user).await;
    t.clock.advance_ms(11 * 60 * 1000);
    mine.get(&cb4).await.expect(422);
    let code4 = cb4
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(wx().exchanges(&code4), 0);

    assert_eq!(
        count(&t, "SELECT COUNT(*) FROM accounts").await,
        accounts,
        "no account made"
    );
    assert_eq!(
        count(&t, "SELECT COUNT(*) FROM external_identities").await,
        0
    );
}

async fn an_unknown_unionid_never_makes_an_account_by_itself(t: TestApp) {
    // Known by openid without a unionid first (snsapi_base-like), then WeChat starts
    // sending a unionid: the identity is found by its openid and keeps the account.
    let mut user = WxUser::new("un", false);
    let b = new_wechat_account(&t, &user).await;
    let id = account_of(&b).await;
    user.unionid = Some(format!("u-late-{}", &user.openid[1..12]));
    let mut again = Browser::new(&t);
    let cb = authorize(&mut again, &user).await;
    assert_eq!(again.get(&cb).await.expect(303).location(), "/orders");
    assert_eq!(account_of(&again).await, id);
    let stored = count(
        &t,
        "SELECT COUNT(*) FROM external_identities WHERE unionid IS NOT NULL",
    )
    .await;
    assert_eq!(stored, 1, "the unionid is remembered once WeChat tells it");

    // The same unionid through another 公众号's openid would land here too; a unionid
    // nobody has is a new person: 完成登录, no account made.
    let accounts = count(&t, "SELECT COUNT(*) FROM accounts").await;
    let stranger = WxUser::new("zz", true);
    let mut s = Browser::new(&t);
    let cb = authorize(&mut s, &stranger).await;
    assert_eq!(
        s.get(&cb).await.expect(303).location(),
        "/auth/wechat/complete"
    );
    assert!(s.cookie.is_none());
    assert_eq!(count(&t, "SELECT COUNT(*) FROM accounts").await, accounts);
    // The pending identity is this browser's only.
    let mut other = Browser::new(&t);
    other.get("/auth/wechat/complete").await.expect(422);
}

async fn a_password_account_is_linked_from_the_complete_page(t: TestApp) {
    let member = t.register_member("老王").await;
    let user = WxUser::new("pw", true);
    let accounts = count(&t, "SELECT COUNT(*) FROM accounts").await;
    let mut b = Browser::new(&t);
    let cb = authorize(&mut b, &user).await;
    b.get(&cb).await.expect(303);
    let csrf = b.get("/auth/wechat/complete").await.expect(200).csrf();
    // A wrong password: the form comes back with the error and what was typed.
    let wrong = b
        .post(
            "/auth/wechat/complete/link",
            &[
                ("csrf", &csrf),
                ("login", &member.login),
                ("password", "not-my-password"),
            ],
        )
        .await
        .expect(401);
    assert!(wrong.has("id=\"link-error\""));
    assert!(wrong.has(&format!("value=\"{}\"", member.login)));
    assert!(b.cookie.is_none());
    let ok = b
        .post(
            "/auth/wechat/complete/link",
            &[
                ("csrf", &csrf),
                ("login", &member.login),
                ("password", PASSWORD),
            ],
        )
        .await
        .expect(303);
    assert_eq!(ok.location(), "/orders");
    assert_eq!(account_of(&b).await, member.id);
    assert_eq!(
        count(&t, "SELECT COUNT(*) FROM accounts").await,
        accounts,
        "no second account"
    );

    // Next time WeChat alone signs in to that account.
    let mut again = Browser::new(&t);
    let cb = authorize(&mut again, &user).await;
    assert_eq!(again.get(&cb).await.expect(303).location(), "/orders");
    assert_eq!(account_of(&again).await, member.id);
    let ids = t
        .get("/api/v1/me/identities", Some(&member.token))
        .await
        .expect(200);
    assert_eq!(ids["identities"].as_array().unwrap().len(), 1);
    assert_eq!(ids["identities"][0]["provider"], "wechat");
    assert_eq!(ids["reauth"], "password");
    assert!(
        ids.to_string().find(&user.openid).is_none(),
        "the openid is not shown"
    );
}

/// Links `user` to the signed-in browser's account from 我的: the page the callback lands on.
async fn link_in_me(b: &mut Browser<'_>, user: &WxUser) -> Page {
    let csrf = b.get("/me/wechat").await.expect(200).csrf();
    let go = b
        .post("/me/wechat/link", &[("csrf", &csrf)])
        .await
        .expect(303);
    let cb = wx().authorize(&go.location(), &b.t.base, user);
    b.get(&cb).await
}

async fn linking_in_me_and_an_identity_of_someone_else_is_refused(t: TestApp) {
    let a = t.register_member("阿甲").await;
    let bob = t.register_member("阿乙").await;
    let user = WxUser::new("me", true);
    let mut ba = Browser::login_user(&t, &a).await;
    let me = ba.get("/me").await.expect(200);
    assert!(me.has("href=\"/me/wechat\""));
    let landed = link_in_me(&mut ba, &user).await.expect(303);
    assert_eq!(landed.location(), "/me/wechat?linked=1");
    let page = ba.get("/me/wechat?linked=1").await.expect(200);
    assert!(page.has("已关联微信") && page.has(&user.nickname) && page.has("解除关联"));
    assert!(page.has("解除关联需要输入当前密码"));

    // Bob tries to link the same WeChat: refused in Chinese, nothing moves.
    let mut bb = Browser::login_user(&t, &bob).await;
    let refused = link_in_me(&mut bb, &user).await.expect(409);
    assert!(refused.has("这个微信已关联另一个账号"), "{}", refused.body);
    let bob_ids = t
        .get("/api/v1/me/identities", Some(&bob.token))
        .await
        .expect(200);
    assert_eq!(bob_ids["identities"].as_array().unwrap().len(), 0);
    let a_ids = t
        .get("/api/v1/me/identities", Some(&a.token))
        .await
        .expect(200);
    assert_eq!(a_ids["identities"].as_array().unwrap().len(), 1);

    // A link flow finished in a browser signed in as someone else is refused.
    let csrf = ba.get("/me/wechat").await.expect(200).csrf();
    let go = ba
        .post("/me/wechat/link", &[("csrf", &csrf)])
        .await
        .expect(303);
    let other = WxUser::new("m2", true);
    let cb = wx().authorize(&go.location(), &t.base, &other);
    let oauth = ba.jar.clone();
    let mut bc = Browser::login_user(&t, &bob).await;
    bc.jar = oauth;
    bc.get(&cb).await.expect(422);
    assert_eq!(
        count(&t, "SELECT COUNT(*) FROM external_identities").await,
        1
    );
}

async fn unlinking_asks_for_reauthentication_and_never_locks_out(t: TestApp) {
    // A password account with WeChat linked.
    let a = t.register_member("阿丙").await;
    let user = WxUser::new("ul", true);
    let mut ba = Browser::login_user(&t, &a).await;
    link_in_me(&mut ba, &user).await.expect(303);
    let ids = t
        .get("/api/v1/me/identities", Some(&a.token))
        .await
        .expect(200);
    let iid = ids["identities"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/me/identities/{iid}");

    // Someone else cannot see or remove it.
    let c = t.register_member("路人").await;
    t.request(
        reqwest::Method::DELETE,
        &path,
        Some(&c.token),
        Some(json!({ "password": PASSWORD })),
    )
    .await
    .problem(404, None);
    // No password, a wrong one: 422 naming the field; the page says it beside the form.
    t.request(
        reqwest::Method::DELETE,
        &path,
        Some(&a.token),
        Some(json!({})),
    )
    .await
    .problem(422, Some("password"));
    t.request(
        reqwest::Method::DELETE,
        &path,
        Some(&a.token),
        Some(json!({ "password": "wrong-password" })),
    )
    .await
    .problem(422, Some("password"));
    let csrf = ba.get("/me/wechat").await.expect(200).csrf();
    let p = ba
        .post(
            &format!("/me/wechat/{iid}/unlink"),
            &[("csrf", &csrf), ("password", "wrong-password")],
        )
        .await
        .expect(422);
    assert!(p.has("密码不正确"));
    assert_eq!(
        count(&t, "SELECT COUNT(*) FROM external_identities").await,
        1
    );
    // The right password unlinks.
    t.request(
        reqwest::Method::DELETE,
        &path,
        Some(&a.token),
        Some(json!({ "password": PASSWORD })),
    )
    .await
    .expect(204);
    assert_eq!(
        count(&t, "SELECT COUNT(*) FROM external_identities").await,
        0
    );
    let events = count(
        &t,
        "SELECT COUNT(*) FROM outbox WHERE topic = 'account.identity_unlinked'",
    )
    .await;
    assert_eq!(events, 1);

    // A WeChat-only account: WeChat is its only way in, so it cannot be unlinked.
    let solo = WxUser::new("so", true);
    let mut bs = new_wechat_account(&t, &solo).await;
    let token = token_of(&bs);
    let ids = t
        .get("/api/v1/me/identities", Some(&token))
        .await
        .expect(200);
    assert_eq!(ids["reauth"], "recent_wechat_sign_in");
    assert_eq!(ids["recent_wechat_sign_in"], true);
    let sid = ids["identities"][0]["id"].as_str().unwrap().to_owned();
    let spath = format!("/api/v1/me/identities/{sid}");
    // No body at all: an account without a password has nothing to send.
    t.delete(&spath, Some(&token))
        .await
        .problem(409, Some("identity"));
    let page = bs.get("/me/wechat").await.expect(200);
    assert!(page.has("你的账号没有密码") || page.has("10 分钟内用微信登录过"));
    let csrf = page.csrf();
    let p = bs
        .post(&format!("/me/wechat/{sid}/unlink"), &[("csrf", &csrf)])
        .await
        .expect(409);
    assert!(p.has("唯一方式"));
    // Give it a second identity; past ten minutes without a WeChat sign-in, unlinking
    // asks for a fresh one (403), and after one it works.
    let second = WxUser::new("s2", false);
    link_in_me(&mut bs, &second).await.expect(303);
    t.clock.advance_ms(11 * 60 * 1000);
    t.request(
        reqwest::Method::DELETE,
        &spath,
        Some(&token),
        Some(json!({})),
    )
    .await
    .problem(403, None);
    let mut fresh = Browser::new(&t);
    let cb = authorize(&mut fresh, &solo).await;
    fresh.get(&cb).await.expect(303);
    t.request(
        reqwest::Method::DELETE,
        &spath,
        Some(&token),
        Some(json!({})),
    )
    .await
    .expect(204);
    let left = t
        .app
        .db
        .read(|c| {
            c.query_one(
                "SELECT COUNT(*) FROM external_identities WHERE openid LIKE $1",
                args!["os2%"],
            )?
            .int(0)
        })
        .await
        .expect("count");
    assert_eq!(left, 1, "the second identity stays");
}

/// A new WeChat user up to 完成登录: the browser and the page.
async fn pending<'a>(t: &'a TestApp, user: &WxUser) -> (Browser<'a>, Page) {
    let mut b = Browser::new(t);
    let cb = authorize(&mut b, user).await;
    b.get(&cb).await.expect(303);
    let page = b.get("/auth/wechat/complete").await.expect(200);
    (b, page)
}

/// 完成登录 → 用手机验证码继续: a wrong code comes back beside the field with the number
/// kept; the code of a registered number links the WeChat identity to that account (one
/// person, one account); a new number makes one account with the number and the identity.
/// The notification centre then knows the member's openid through the sign-in identity of
/// the same 公众号 (`wechat_linked`), with nothing recorded by hand.
async fn a_phone_code_continues_a_wechat_sign_in(t: TestApp) {
    let member = t.register_member("老会员").await;
    let before = t
        .get("/api/v1/me/notification-preferences", Some(&member.token))
        .await
        .expect(200);
    assert_eq!(before["wechat_linked"], false);

    let user = WxUser::new("phone", true);
    let (mut b, page) = pending(&t, &user).await;
    assert!(page.has("id=\"wechat-phone\"") && page.has("用手机验证码继续"));
    let csrf = page.csrf();
    let sent = b
        .post(
            "/auth/wechat/complete/phone-code",
            &[("csrf", &csrf), ("phone", &member.login)],
        )
        .await
        .expect(200);
    assert!(sent.has("id=\"sms-sent\""));
    assert!(
        sent.has(&format!("value=\"{}\"", member.login)),
        "the number is kept"
    );
    let code = t.last_sms_code(&member.login).expect("a code");
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let refused = b
        .post(
            "/auth/wechat/complete/phone",
            &[("csrf", &csrf), ("phone", &member.login), ("code", wrong)],
        )
        .await
        .expect(401);
    assert!(refused.has("id=\"sms-code-error\""));
    assert!(refused.has("验证码不对或已过期"));
    assert!(refused.has(&format!("value=\"{}\"", member.login)));
    assert!(b.cookie.is_none(), "not signed in");
    let done = b
        .post(
            "/auth/wechat/complete/phone",
            &[("csrf", &csrf), ("phone", &member.login), ("code", &code)],
        )
        .await
        .expect(303);
    assert_eq!(done.location(), "/orders");
    assert_eq!(
        account_of(&b).await,
        member.id,
        "linked to the number's account"
    );
    // The same WeChat user signs in straight into it next time.
    let mut again = Browser::new(&t);
    let cb = authorize(&mut again, &user).await;
    again.get(&cb).await.expect(303);
    assert_eq!(account_of(&again).await, member.id);
    let after = t
        .get("/api/v1/me/notification-preferences", Some(&member.token))
        .await
        .expect(200);
    assert_eq!(
        after["wechat_linked"], true,
        "the sign-in openid serves notifications"
    );

    // A new number: one new account, with the number bound and the identity linked.
    let accounts = count(&t, "SELECT COUNT(*) FROM accounts").await;
    let newcomer = WxUser::new("phone-new", false);
    let (mut b, page) = pending(&t, &newcomer).await;
    let csrf = page.csrf();
    let phone = crate::harness::next_phone();
    b.post(
        "/auth/wechat/complete/phone-code",
        &[("csrf", &csrf), ("phone", &phone)],
    )
    .await
    .expect(200);
    let code = t.last_sms_code(&phone).expect("a code");
    b.post(
        "/auth/wechat/complete/phone",
        &[("csrf", &csrf), ("phone", &phone), ("code", &code)],
    )
    .await
    .expect(303);
    assert_eq!(
        count(&t, "SELECT COUNT(*) FROM accounts").await,
        accounts + 1
    );
    let me = t.get("/api/v1/me", Some(&token_of(&b))).await.expect(200);
    assert_eq!(me["account"]["phone"], phone.as_str());
    assert_eq!(me["account"]["display_name"], newcomer.nickname.as_str());
    let ids = t
        .get("/api/v1/me/identities", Some(&token_of(&b)))
        .await
        .expect(200);
    assert_eq!(ids["identities"].as_array().unwrap().len(), 1);
}
