//! SMS one-time codes over HTTP: sign-up and sign-in by code, the code's life (5 minutes,
//! 5 tries, once), the throttles (one a minute and ten a day per number, a cap per client
//! address), answers that never say whether a number has an account, and passwords that
//! are too easy to guess. The console provider keeps what it "sent" for the story to read.

use kith::config::ServeArgs;
use kith_app::platform::sms::CodePurpose;
use kith_domain::Phone;
use serde_json::json;

use crate::harness::{PASSWORD, TestApp, next_phone};
use crate::{both_engines, both_engines_with};

async fn ask(t: &TestApp, phone: &str) -> crate::harness::Resp {
    t.post(
        "/api/v1/auth/sms-codes",
        None,
        json!({ "phone": phone, "purpose": "login" }),
    )
    .await
}

async fn sign_in(t: &TestApp, phone: &str, code: &str) -> crate::harness::Resp {
    t.post(
        "/api/v1/auth/sms-login",
        None,
        json!({ "phone": phone, "code": code }),
    )
    .await
}

fn retry_after(r: &crate::harness::Resp) -> i64 {
    r.headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After")
}

/// A new number registers with a code in one step, has no password (password login
/// refuses it like a wrong one), sets one (a weak one refused), and signs in again by
/// code into the same account.
async fn a_new_number_registers_and_signs_in_by_code(t: TestApp) {
    let phone = next_phone();
    let sent = ask(&t, &phone).await.expect(202);
    assert_eq!(sent["accepted"], true);
    let code = t.last_sms_code(&phone).expect("a code was sent");
    assert_eq!(code.len(), 6);
    let s = t
        .post(
            "/api/v1/auth/sms-login",
            None,
            json!({ "phone": phone, "code": code, "display_name": "小林" }),
        )
        .await
        .expect(201);
    let token = s["token"].as_str().expect("token").to_owned();
    let id = s["account"]["id"].as_str().expect("id").to_owned();
    assert_eq!(s["account"]["phone"], phone.as_str());
    assert_eq!(s["account"]["display_name"], "小林");
    let me = t.get("/api/v1/me", Some(&token)).await.expect(200);
    assert_eq!(me["account"]["id"], id.as_str());
    // A code works once.
    sign_in(&t, &phone, &code).await.problem(401, None);
    // No password yet: any password is refused like a wrong one.
    t.login(&phone, "").await.problem(422, Some("password"));
    t.login(&phone, "anything at all").await.problem(401, None);
    // Setting one: too easy to guess is refused, a good one taken without the (absent)
    // current password.
    t.put(
        "/api/v1/me/password",
        Some(&token),
        json!({ "new_password": "password123" }),
    )
    .await
    .problem(422, Some("new_password"));
    t.put(
        "/api/v1/me/password",
        Some(&token),
        json!({ "new_password": PASSWORD }),
    )
    .await
    .expect(204);
    t.login(&phone, PASSWORD).await.expect(201);
    // Changing it now needs the current one.
    t.put(
        "/api/v1/me/password",
        Some(&token),
        json!({ "new_password": "another long secret 2026" }),
    )
    .await
    .problem(401, None);
    // Signing in by code again (a minute later) finds the same account.
    t.clock.advance_secs(61);
    ask(&t, &phone).await.expect(202);
    let code = t.last_sms_code(&phone).expect("code");
    let again = sign_in(&t, &phone, &code).await.expect(201);
    assert_eq!(again["account"]["id"], id.as_str());
    assert_eq!(again["account"]["display_name"], "小林");
}

/// A member registered with a password signs in by code too; a new number without a
/// display name gets 用户 and its last four digits.
async fn a_password_member_signs_in_by_code(t: TestApp) {
    let member = t.register_member("老王").await;
    ask(&t, &member.login).await.expect(202);
    let code = t.last_sms_code(&member.login).expect("code");
    let s = sign_in(&t, &member.login, &code).await.expect(201);
    assert_eq!(s["account"]["id"], member.id.as_str());
    let phone = next_phone();
    ask(&t, &phone).await.expect(202);
    let s = sign_in(&t, &phone, &t.last_sms_code(&phone).expect("code"))
        .await
        .expect(201);
    assert_eq!(
        s["account"]["display_name"],
        format!("用户{}", &phone[7..]).as_str()
    );
}

/// Five minutes, then the code is gone; a fresh one works.
async fn a_code_expires_after_five_minutes(t: TestApp) {
    let phone = next_phone();
    ask(&t, &phone).await.expect(202);
    let code = t.last_sms_code(&phone).expect("code");
    t.clock.advance_secs(5 * 60);
    sign_in(&t, &phone, &code).await.problem(401, None);
    ask(&t, &phone).await.expect(202);
    let fresh = t.last_sms_code(&phone).expect("code");
    t.clock.advance_secs(4 * 60 + 59);
    sign_in(&t, &phone, &fresh).await.expect(201);
}

/// Five wrong codes kill the code: the right one is refused after them. Malformed codes
/// are 422 on `code` and do not count.
async fn five_wrong_codes_kill_the_code(t: TestApp) {
    let phone = next_phone();
    ask(&t, &phone).await.expect(202);
    let code = t.last_sms_code(&phone).expect("code");
    sign_in(&t, &phone, "12ab56")
        .await
        .problem(422, Some("code"));
    sign_in(&t, &phone, "1234567")
        .await
        .problem(422, Some("code"));
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..5 {
        sign_in(&t, &phone, wrong).await.problem(401, None);
    }
    sign_in(&t, &phone, &code).await.problem(401, None);
    // Asking again (after the minute) gives a live code.
    t.clock.advance_secs(60);
    ask(&t, &phone).await.expect(202);
    let fresh = t.last_sms_code(&phone).expect("code");
    for _ in 0..4 {
        let wrong = if fresh == "999999" {
            "999998"
        } else {
            "999999"
        };
        sign_in(&t, &phone, wrong).await.problem(401, None);
    }
    sign_in(&t, &phone, &fresh).await.expect(201);
}

/// A new code ends the one before it; a code for `login` never passes for `bind`.
async fn only_the_newest_code_for_its_purpose_works(t: TestApp) {
    let phone = next_phone();
    ask(&t, &phone).await.expect(202);
    let first = t.last_sms_code(&phone).expect("code");
    t.clock.advance_secs(60);
    ask(&t, &phone).await.expect(202);
    let second = t.last_sms_code(&phone).expect("code");
    if first != second {
        sign_in(&t, &phone, &first).await.problem(401, None);
    }
    let p = Phone::parse(&phone).expect("phone");
    assert!(
        t.app
            .verify_phone_code(&p, &second, CodePurpose::Bind)
            .await
            .is_err(),
        "a login code passed for bind"
    );
    // bind needs a signed-in caller.
    t.post(
        "/api/v1/auth/sms-codes",
        None,
        json!({ "phone": phone, "purpose": "bind" }),
    )
    .await
    .problem(401, None);
    let member = t.register_member("绑定").await;
    let other = next_phone();
    t.post(
        "/api/v1/auth/sms-codes",
        Some(&member.token),
        json!({ "phone": other, "purpose": "bind" }),
    )
    .await
    .expect(202);
    let bind_code = t.last_sms_code(&other).expect("code");
    let o = Phone::parse(&other).expect("phone");
    t.app
        .verify_phone_code(&o, &bind_code, CodePurpose::Bind)
        .await
        .expect("the bind code proves the number");
    assert!(
        t.app
            .verify_phone_code(&o, &bind_code, CodePurpose::Bind)
            .await
            .is_err(),
        "a bind code worked twice"
    );
    sign_in(&t, &phone, &second).await.expect(201);
}

/// One code a minute per number, ten a day; refused asks send nothing.
async fn codes_are_throttled_per_number(t: TestApp) {
    let phone = next_phone();
    ask(&t, &phone).await.expect(202);
    let r = ask(&t, &phone).await;
    let wait = retry_after(&r);
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    r.problem(429, None);
    assert_eq!(
        t.app.sms.recent().iter().filter(|m| m.to == phone).count(),
        1,
        "a refused ask sent a message"
    );
    // Another number is not held up.
    ask(&t, &next_phone()).await.expect(202);
    for _ in 1..10 {
        t.clock.advance_secs(60);
        ask(&t, &phone).await.expect(202);
    }
    t.clock.advance_secs(60);
    let r = ask(&t, &phone).await;
    assert!(retry_after(&r) > 3600, "the day's window holds");
    r.problem(429, None);
    t.clock.advance_secs(24 * 3600);
    ask(&t, &phone).await.expect(202);
    assert_eq!(
        t.app.sms.recent().iter().filter(|m| m.to == phone).count(),
        11
    );
}

fn three_per_address(a: &mut ServeArgs) {
    a.sms_codes_per_address_hour = Some(3);
}

/// One client address asks for at most `sms_codes_per_address_hour` codes an hour, for
/// whatever numbers.
async fn codes_are_throttled_per_address(t: TestApp) {
    for _ in 0..3 {
        ask(&t, &next_phone()).await.expect(202);
    }
    let phone = next_phone();
    ask(&t, &phone).await.problem(429, None);
    assert!(t.last_sms_code(&phone).is_none());
    t.clock.advance_secs(3600);
    ask(&t, &phone).await.expect(202);
}

/// Asking for a code, and a wrong code, answer the same for a number with an account and
/// one without: same status, same body, and no slower for one than the other.
async fn answers_do_not_tell_which_numbers_have_accounts(t: TestApp) {
    let known = t.register_member("有账号").await.login;
    let unknown = next_phone();
    let a = ask(&t, &known).await;
    let b = ask(&t, &unknown).await;
    assert_eq!(a.status, b.status);
    assert_eq!(a.body, b.body);
    let wrong = |p: &str| {
        let c = t.last_sms_code(p).expect("code");
        if c == "000000" { "000001" } else { "000000" }.to_owned()
    };
    let (wk, wu) = (wrong(&known), wrong(&unknown));
    let a = sign_in(&t, &known, &wk).await;
    let b = sign_in(&t, &unknown, &wu).await;
    assert_eq!(a.status, b.status);
    assert_eq!(a.body, b.body);
    // Timing: the same work for both (medians of a few asks, each a minute apart).
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..5 {
        t.clock.advance_secs(61);
        for (i, p) in [&known, &unknown].into_iter().enumerate() {
            let start = std::time::Instant::now();
            ask(&t, p).await.expect(202);
            times[i].push(start.elapsed());
        }
    }
    for v in &mut times {
        v.sort();
    }
    let (k, u) = (times[0][2], times[1][2]);
    let (fast, slow) = if k < u { (k, u) } else { (u, k) };
    assert!(
        slow <= fast * 4 + std::time::Duration::from_millis(20),
        "known {k:?} vs unknown {u:?}"
    );
}

/// Registration refuses the passwords everyone tries first, on `password`.
async fn registration_refuses_weak_passwords(t: TestApp) {
    for weak in ["password123", "12345678", "qwertyuiop", "iloveyou1"] {
        let r = t
            .post(
                "/api/v1/accounts",
                None,
                json!({ "phone": next_phone(), "password": weak, "display_name": "弱" }),
            )
            .await
            .problem(422, Some("password"));
        assert!(
            r["detail"].as_str().unwrap_or("").contains("weak password"),
            "{r}"
        );
    }
    // A password built from the member's own phone number is weak too.
    let phone = next_phone();
    t.post(
        "/api/v1/accounts",
        None,
        json!({ "phone": phone, "password": format!("{phone}a"), "display_name": "号码" }),
    )
    .await
    .problem(422, Some("password"));
    t.post(
        "/api/v1/accounts",
        None,
        json!({ "phone": next_phone(), "password": PASSWORD, "display_name": "强" }),
    )
    .await
    .expect(201);
}

/// Bad input names its field; an unknown purpose is 422 on `purpose`.
async fn bad_input_names_the_field(t: TestApp) {
    t.post(
        "/api/v1/auth/sms-codes",
        None,
        json!({ "phone": "12345", "purpose": "login" }),
    )
    .await
    .problem(422, Some("phone"));
    t.post(
        "/api/v1/auth/sms-codes",
        None,
        json!({ "phone": next_phone(), "purpose": "reset" }),
    )
    .await
    .problem(422, Some("purpose"));
    let phone = next_phone();
    ask(&t, &phone).await.expect(202);
    let code = t.last_sms_code(&phone).expect("code");
    t.post(
        "/api/v1/auth/sms-login",
        None,
        json!({ "phone": phone, "code": code, "display_name": "x".repeat(40) }),
    )
    .await
    .problem(422, Some("display_name"));
    // The name was checked before the code was spent.
    sign_in(&t, &phone, &code).await.expect(201);
}

fn no_sms(a: &mut ServeArgs) {
    a.sms_provider = Some("none".into());
}

/// A server without an SMS provider says so (503) and keeps no code.
async fn without_a_provider_codes_cannot_be_asked(t: TestApp) {
    let phone = next_phone();
    ask(&t, &phone).await.problem(503, None);
}

fn gated(a: &mut ServeArgs) {
    a.signups_per_hour = Some(1);
}

/// A new number comes through the sign-up gate: past the address's cap it is refused
/// (429) and the code is given back, so the same code works once the gate opens.
async fn sign_up_by_code_goes_through_the_gate(t: TestApp) {
    let first = next_phone();
    ask(&t, &first).await.expect(202);
    sign_in(&t, &first, &t.last_sms_code(&first).expect("code"))
        .await
        .expect(201);
    t.clock.advance_secs(58 * 60);
    let second = next_phone();
    ask(&t, &second).await.expect(202);
    let code = t.last_sms_code(&second).expect("code");
    sign_in(&t, &second, &code).await.problem(429, None);
    // The hour of the first sign-up ends; the code (three minutes old) still works.
    t.clock.advance_secs(3 * 60);
    sign_in(&t, &second, &code).await.expect(201);
}

both_engines!(
    a_new_number_registers_and_signs_in_by_code,
    a_password_member_signs_in_by_code,
    a_code_expires_after_five_minutes,
    five_wrong_codes_kill_the_code,
    only_the_newest_code_for_its_purpose_works,
    codes_are_throttled_per_number,
    answers_do_not_tell_which_numbers_have_accounts,
    registration_refuses_weak_passwords,
    bad_input_names_the_field,
);
both_engines_with!(three_per_address; codes_are_throttled_per_address);
both_engines_with!(no_sms; without_a_provider_codes_cannot_be_asked);
both_engines_with!(gated; sign_up_by_code_goes_through_the_gate);
