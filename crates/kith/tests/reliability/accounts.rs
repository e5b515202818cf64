//! Registering, logging in, sessions, throttling, and bad input on the account endpoints.

use serde_json::json;

use crate::both_engines;
use kith_app::platform::challenge::{Challenge, Solution};

use crate::harness::{PASSWORD, TestApp, next_phone};

both_engines!(
    register_login_me_logout,
    registration_refuses_bad_input,
    login_asks_for_a_challenge_instead_of_locking_out,
    sessions_expire,
    csrf_and_cookies
);

async fn register_login_me_logout(t: TestApp) {
    let phone = next_phone();
    let acct = t
        .post("/api/v1/accounts", None, json!({ "phone": format!("+86 {phone}"), "email": "Mei@Example.com", "password": PASSWORD, "display_name": "小美" }))
        .await
        .expect(201);
    assert_eq!(acct["phone"], phone.as_str());
    assert_eq!(acct["email"], "mei@example.com");
    assert!(acct.get("password_hash").is_none());

    // Either login works; the email is case-insensitive.
    let by_email = t.login("MEI@example.com", PASSWORD).await.expect(201);
    let s = t.login(&phone, PASSWORD).await;
    let cookie = s
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        cookie.starts_with("kith_session=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let token = s.expect(201)["token"].as_str().unwrap().to_owned();

    let me = t.get("/api/v1/me", Some(&token)).await.expect(200);
    assert_eq!(me["account"]["id"], acct["id"]);
    assert_eq!(me["staff_of"], json!([]));

    t.delete("/api/v1/sessions/current", Some(&token))
        .await
        .expect(204);
    t.get("/api/v1/me", Some(&token)).await.problem(401, None);
    // The other session is untouched.
    t.get("/api/v1/me", by_email["token"].as_str())
        .await
        .expect(200);
    t.get("/api/v1/me", None).await.problem(401, None);
    t.get("/api/v1/me", Some("kith_s_forged"))
        .await
        .problem(401, None);

    // Same phone again: 409 naming the field, and nothing else written.
    t.post(
        "/api/v1/accounts",
        None,
        json!({ "phone": phone, "password": PASSWORD, "display_name": "别人" }),
    )
    .await
    .problem(409, Some("phone"));
    t.post(
        "/api/v1/accounts",
        None,
        json!({ "email": "mei@example.com", "password": PASSWORD, "display_name": "别人" }),
    )
    .await
    .problem(409, Some("email"));
}

async fn registration_refuses_bad_input(t: TestApp) {
    let p = next_phone();
    let cases = [
        (
            json!({ "phone": "12345", "password": PASSWORD, "display_name": "a" }),
            422,
            "phone",
        ),
        (
            json!({ "phone": "23812345678", "password": PASSWORD, "display_name": "a" }),
            422,
            "phone",
        ),
        (
            json!({ "email": "not-an-email", "password": PASSWORD, "display_name": "a" }),
            422,
            "email",
        ),
        (
            json!({ "password": PASSWORD, "display_name": "a" }),
            422,
            "phone",
        ),
        (
            json!({ "phone": p, "password": "short", "display_name": "a" }),
            422,
            "password",
        ),
        (
            json!({ "phone": p, "password": PASSWORD, "display_name": "" }),
            422,
            "display_name",
        ),
        (
            json!({ "phone": p, "password": PASSWORD, "display_name": "x".repeat(33) }),
            422,
            "display_name",
        ),
        (
            json!({ "phone": p, "password": PASSWORD }),
            422,
            "display_name",
        ),
        (
            json!({ "phone": 13812345678u64, "password": PASSWORD, "display_name": "a" }),
            422,
            "phone",
        ),
        (
            json!({ "phone": p, "password": PASSWORD, "display_name": "a", "role": "admin" }),
            422,
            "body",
        ),
    ];
    for (body, status, field) in cases {
        let r = t.post("/api/v1/accounts", None, body.clone()).await;
        let got = r.problem(status, None);
        assert!(
            got["field"]
                .as_str()
                .is_some_and(|f| f.contains(field) || field == "body"),
            "{body} → {got}"
        );
    }
    // Malformed JSON and the wrong content type.
    let r = t
        .client
        .post(format!("{}/api/v1/accounts", t.base))
        .header("content-type", "application/json")
        .body("{\"phone\":")
        .send()
        .await
        .unwrap();
    TestApp::read(r).await.problem(400, None);
    let r = t
        .client
        .post(format!("{}/api/v1/accounts", t.base))
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();
    TestApp::read(r).await.problem(415, Some("Content-Type"));
    // A body over the limit.
    let big =
        json!({ "phone": p, "password": PASSWORD, "display_name": "x".repeat(2 * 1024 * 1024) });
    // The server answers 413 from the Content-Length, before reading the body, and closes
    // the connection; a client still sending may see the close instead of the answer
    // (hyper's IncompleteMessage). Either way nothing is stored (checked below). Sent on a
    // connection of its own, so the closed one is never handed to the next request.
    let lone = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    match lone
        .post(format!("{}/api/v1/accounts", t.base))
        .json(&big)
        .send()
        .await
    {
        Ok(r) => {
            TestApp::read(r).await.problem(413, None);
        }
        Err(e) => assert!(e.is_request(), "{e:?}"),
    }
    // Nothing of the above was stored: the phone is still free.
    t.post(
        "/api/v1/accounts",
        None,
        json!({ "phone": p, "password": PASSWORD, "display_name": "终于" }),
    )
    .await
    .expect(201);
}

/// Solves the challenge a `challenge-required` answer carries, as a client would.
pub(crate) fn solve(problem: &serde_json::Value) -> serde_json::Value {
    assert_eq!(problem["type"], "/problems/challenge-required", "{problem}");
    let challenge: Challenge =
        serde_json::from_value(problem["challenge"].clone()).expect("a challenge");
    serde_json::to_value(Solution::solve(&challenge).expect("solvable")).unwrap()
}

async fn login_asks_for_a_challenge_instead_of_locking_out(t: TestApp) {
    let u = t.register_member("被猜密码的人").await;
    for _ in 0..10 {
        t.login(&u.login, "wrong password!")
            .await
            .problem(401, None);
    }
    // Past ten failures every attempt must carry a solved challenge…
    let asked = t
        .login(&u.login, "wrong password!")
        .await
        .problem(429, Some("challenge"));
    assert_eq!(asked["challenge"]["algorithm"], "SHA-256");
    // …the right password too: but with one it gets in, where a lock would have shut the
    // owner out for fifteen minutes.
    let asked = t
        .login(&u.login, PASSWORD)
        .await
        .problem(429, Some("challenge"));
    let solution = solve(&asked);
    let login = |password: &str, solution: &serde_json::Value| json!({ "login": u.login, "password": password, "challenge": solution });
    t.post("/api/v1/sessions", None, login(PASSWORD, &solution))
        .await
        .expect(201);
    // The right password cleared the login's failures: no challenge now.
    t.login(&u.login, PASSWORD).await.expect(201);

    // A guesser pays for every guess: one solution buys one attempt, the difficulty grows.
    for _ in 0..10 {
        t.login(&u.login, "wrong password!")
            .await
            .problem(401, None);
    }
    let asked = t
        .login(&u.login, "wrong password!")
        .await
        .problem(429, Some("challenge"));
    let first_difficulty = asked["challenge"]["maxnumber"].as_u64().unwrap();
    let solution = solve(&asked);
    t.post(
        "/api/v1/sessions",
        None,
        login("wrong password!", &solution),
    )
    .await
    .problem(401, None);
    // Spent: the same solution again is asked to solve a new one.
    t.post("/api/v1/sessions", None, login(PASSWORD, &solution))
        .await
        .problem(429, Some("challenge"));
    // A forged one is no better.
    let mut forged = solution.clone();
    forged["number"] = json!(solution["number"].as_u64().unwrap() + 1);
    t.post("/api/v1/sessions", None, login(PASSWORD, &forged))
        .await
        .problem(429, Some("challenge"));
    for _ in 0..10 {
        let asked = t
            .login(&u.login, "wrong password!")
            .await
            .problem(429, Some("challenge"));
        t.post(
            "/api/v1/sessions",
            None,
            login("wrong password!", &solve(&asked)),
        )
        .await
        .problem(401, None);
    }
    let asked = t
        .login(&u.login, PASSWORD)
        .await
        .problem(429, Some("challenge"));
    assert!(asked["challenge"]["maxnumber"].as_u64().unwrap() > first_difficulty);
    // Fifteen minutes later the failures have left the window.
    t.clock.advance_secs(15 * 60 + 1);
    t.login(&u.login, PASSWORD).await.expect(201);
    // Unknown logins fail the same way as wrong passwords.
    t.login(&next_phone(), PASSWORD).await.problem(401, None);
    t.login("not a login", PASSWORD)
        .await
        .problem(422, Some("login"));

    // Per client address: 50 failures in the window, spread over many logins, and the
    // address is asked too — even for a login it never tried; solved, the owner gets in.
    t.clock.advance_secs(15 * 60 + 1);
    for _ in 0..50 {
        t.login(&next_phone(), "wrong password!")
            .await
            .problem(401, None);
    }
    t.login(&next_phone(), "wrong password!")
        .await
        .problem(429, Some("challenge"));
    let asked = t
        .login(&u.login, PASSWORD)
        .await
        .problem(429, Some("challenge"));
    t.post("/api/v1/sessions", None, login(PASSWORD, &solve(&asked)))
        .await
        .expect(201);
}

async fn sessions_expire(t: TestApp) {
    let u = t.register_member("过期").await;
    t.get("/api/v1/me", Some(&u.token)).await.expect(200);
    t.clock.advance_secs(30 * 24 * 3600 + 1);
    t.get("/api/v1/me", Some(&u.token)).await.problem(401, None);
}

async fn csrf_and_cookies(t: TestApp) {
    let u = t.register_member("饼干").await;
    let cookie = format!("kith_session={}", u.token);
    // The cookie authenticates page requests…
    let r = t
        .client
        .get(format!("{}/api/v1/me", t.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    TestApp::read(r).await.expect(200);
    // …but a cross-site POST carrying it is refused before anything happens.
    let r = t
        .client
        .post(format!("{}/api/v1/merchants", t.base))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .json(&json!({ "name": "钓鱼商家" }))
        .send()
        .await
        .unwrap();
    TestApp::read(r).await.problem(403, None);
    let r = t
        .client
        .post(format!("{}/api/v1/merchants", t.base))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .header("host", "kith.example")
        .json(&json!({ "name": "钓鱼商家" }))
        .send()
        .await
        .unwrap();
    TestApp::read(r).await.problem(403, None);
    // Same-origin is fine.
    let r = t
        .client
        .post(format!("{}/api/v1/merchants", t.base))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({ "name": "正经商家" }))
        .send()
        .await
        .unwrap();
    TestApp::read(r).await.expect(201);
}
