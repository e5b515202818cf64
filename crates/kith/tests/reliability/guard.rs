//! The guards an outside probe found missing (issue 17): throttling keyed on the real
//! client behind a trusted proxy, sign-up floods met by a challenge and then a cap,
//! idempotency keys that cost an anonymous caller nothing, slow headers and bodies cut
//! off, pickup-code guessing throttled, bidi controls dropped from names, idle sessions
//! ended. Each story runs on both engines over HTTP.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::accounts::solve;
use crate::harness::{PASSWORD, TestApp, next_phone};
use crate::{both_engines, both_engines_with};

both_engines!(
    anonymous_idempotency_keys_cost_nothing,
    pickup_code_guessing_is_throttled,
    a_burst_of_concurrent_guesses_gets_the_limit_not_more,
    bidi_controls_are_dropped_from_names
);
both_engines_with!(behind_a_proxy; throttling_keys_on_the_forwarded_client);
both_engines_with!(sign_up_guarded; sign_up_floods_meet_a_challenge_then_a_cap);
both_engines_with!(impatient; slow_headers_and_bodies_are_cut_off);
both_engines_with!(idle_after_an_hour; idle_sessions_end);

fn behind_a_proxy(a: &mut kith::config::ServeArgs) {
    a.trusted_proxies = Some("127.0.0.1, ::1".into());
}

fn sign_up_guarded(a: &mut kith::config::ServeArgs) {
    a.signup_challenge_after = Some(3);
    a.signups_per_hour = Some(6);
    a.signup_device_challenge_after = Some(2);
}

fn impatient(a: &mut kith::config::ServeArgs) {
    a.header_timeout_secs = Some(1);
    a.body_timeout_secs = Some(1);
}

fn idle_after_an_hour(a: &mut kith::config::ServeArgs) {
    a.session_idle_hours = Some(1);
}

async fn login_from(t: &TestApp, client: &str, login: &str, password: &str) -> u16 {
    let r = t
        .client
        .post(format!("{}/api/v1/sessions", t.base))
        .header("x-forwarded-for", client)
        .json(&json!({ "login": login, "password": password }))
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

/// Behind a trusted proxy every client shares the proxy's peer address: throttling keys on
/// the address the proxy forwards, so one client's guesses do not challenge the others.
async fn throttling_keys_on_the_forwarded_client(t: TestApp) {
    let u = t.register_member("代理后面").await;
    for _ in 0..50 {
        assert_eq!(
            login_from(&t, "203.0.113.7", &next_phone(), "wrong password!").await,
            401
        );
    }
    // The guesser's address is challenged…
    assert_eq!(login_from(&t, "203.0.113.7", &u.login, PASSWORD).await, 429);
    // …a neighbour behind the same proxy is not; nor is one whose client forged a first
    // entry (the proxy appended the real one).
    assert_eq!(login_from(&t, "203.0.113.8", &u.login, PASSWORD).await, 201);
    assert_eq!(
        login_from(&t, "203.0.113.7, 198.51.100.9", &u.login, PASSWORD).await,
        201
    );
}

/// Sign-ups from one address: the first few go through, then each must carry a solved
/// challenge, then none is taken until the hour is over. Every way of signing up counts.
async fn sign_up_floods_meet_a_challenge_then_a_cap(t: TestApp) {
    let body = |solution: Option<&serde_json::Value>| {
        json!({ "phone": next_phone(), "password": PASSWORD, "display_name": "新人",
                "challenge": solution })
    };
    for _ in 0..3 {
        t.post("/api/v1/accounts", None, body(None))
            .await
            .expect(201);
    }
    let asked = t
        .post("/api/v1/accounts", None, body(None))
        .await
        .problem(429, Some("challenge"));
    let solution = solve(&asked);
    t.post("/api/v1/accounts", None, body(Some(&solution)))
        .await
        .expect(201);
    // One solution, one sign-up.
    t.post("/api/v1/accounts", None, body(Some(&solution)))
        .await
        .problem(429, Some("challenge"));
    // Past six attempts in the hour: refused outright, with the time to wait.
    let capped = t.post("/api/v1/accounts", None, body(None)).await;
    let retry: i64 = capped.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    let capped = capped.problem(429, None);
    assert_eq!(capped["type"], "/problems/too-many-requests");
    // A share link is another way in, not a way around.
    let sharer = {
        t.clock.advance_secs(3600);
        t.register_member("分享人").await
    };
    let shop = t.shop().name("防刷小店").price(100).stock(10).build().await;
    let link = t
        .post(
            "/api/v1/share-links",
            Some(&sharer.token),
            json!({ "kind": "product", "target_id": shop.product }),
        )
        .await
        .expect(201);
    let code = link["code"].as_str().unwrap().to_owned();
    // The sharer's own sign-up and the shop owner's used two of the hour's three.
    t.post(&format!("/api/v1/s/{code}/accounts"), None, body(None))
        .await
        .expect(201);
    t.post(&format!("/api/v1/s/{code}/accounts"), None, body(None))
        .await
        .problem(429, Some("challenge"));

    // The pages: one browser (its device cookie) is asked after two sign-ups a day, and
    // the form comes back with what was typed and the challenge to solve.
    t.clock.advance_secs(3600);
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = browser
        .get(format!("{}/register", t.base))
        .send()
        .await
        .unwrap();
    let set = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set.starts_with("kith_device="), "{set}");
    let device = set.split(';').next().unwrap().to_owned();
    let form = |phone: &str| {
        vec![
            ("display_name", "网页新人".to_owned()),
            ("phone", phone.to_owned()),
            ("password", PASSWORD.to_owned()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        browser
            .post(format!("{}/register", t.base))
            .header("sec-fetch-site", "same-origin")
            .header("cookie", &device)
            .form(&fields)
            .send()
    };
    for _ in 0..2 {
        let r = post(form(&next_phone())).await.unwrap();
        assert_eq!(r.status(), 303);
    }
    let phone = next_phone();
    let r = post(form(&phone)).await.unwrap();
    assert_eq!(r.status(), 429);
    let html = r.text().await.unwrap();
    assert!(html.contains("自动验证"), "{html}");
    assert!(
        html.contains(&format!("value=\"{phone}\"")),
        "typed phone kept"
    );
    assert!(html.contains("/static/challenge.") && html.contains(".js\" defer"));
    let field = |name: &str| {
        let at = html
            .find(&format!("name=\"{name}\" value=\""))
            .unwrap_or_else(|| panic!("{name} in the form"));
        let rest = &html[at + name.len() + 15..];
        rest[..rest.find('"').unwrap()].to_owned()
    };
    let challenge = json!({
        "algorithm": field("challenge_algorithm"),
        "challenge": field("challenge_challenge"),
        "maxnumber": field("challenge_maxnumber").parse::<u64>().unwrap(),
        "salt": field("challenge_salt").replace("&#38;", "&").replace("&amp;", "&"),
        "signature": field("challenge_signature"),
    });
    let solution =
        solve(&json!({ "type": "/problems/challenge-required", "challenge": challenge }));
    let mut fields = form(&phone);
    for key in ["algorithm", "challenge", "salt", "signature"] {
        let name: &'static str = match key {
            "algorithm" => "challenge_algorithm",
            "challenge" => "challenge_challenge",
            "salt" => "challenge_salt",
            _ => "challenge_signature",
        };
        fields.push((name, solution[key].as_str().unwrap().to_owned()));
    }
    fields.push(("challenge_number", solution["number"].to_string()));
    let r = post(fields).await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
}

/// Writes `head` (and maybe part of a body) on a raw connection and reads whatever the
/// server answers until it closes or `within` passes; returns the answer and how long
/// the server took to end it.
async fn raw(t: &TestApp, head: &str, within: Duration) -> (String, Duration) {
    let addr = t.base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(within.saturating_sub(started.elapsed()), s.read(&mut buf)).await
        {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                got.extend_from_slice(&buf[..n]);
                // One whole answer is enough when the server keeps the connection.
                if let Some(end) = find(&got, b"\r\n\r\n") {
                    let headers = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
                    let len = headers
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok());
                    if len.is_some_and(|len| got.len() >= end + 4 + len) {
                        break;
                    }
                }
            }
            Err(_) => panic!(
                "the server neither answered nor closed within {within:?}; got {:?}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
    (
        String::from_utf8_lossy(&got).into_owned(),
        started.elapsed(),
    )
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// An anonymous POST with an `Idempotency-Key` is answered before its body is read (the
/// probe buffered 10 MiB each before routing), and nothing is stored for it; a signed-in
/// caller's key still replays.
async fn anonymous_idempotency_keys_cost_nothing(t: TestApp) {
    let huge = 10 * 1024 * 1024;
    for path in ["/api/v1/no-such-route", "/api/v1/merchants"] {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Idempotency-Key: k-{path}\r\nContent-Length: {huge}\r\n\r\n{{\"a\":"
        );
        let (answer, _) = raw(&t, &head, Duration::from_secs(5)).await;
        let status = if path.ends_with("merchants") {
            "401"
        } else {
            "404"
        };
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{path}: {answer}"
        );
    }
    // A whole anonymous request with a key: served, not stored.
    let r = t
        .client
        .post(format!("{}/api/v1/accounts", t.base))
        .header("idempotency-key", "anon-1")
        .json(&json!({ "phone": next_phone(), "password": PASSWORD, "display_name": "匿名" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let stored = t
        .app
        .db
        .read(|c| {
            c.query_one("SELECT COUNT(*) FROM idempotency_keys", &[])?
                .int(0)
        })
        .await
        .unwrap();
    assert_eq!(stored, 0, "an anonymous key was stored");
    // Signed in: the first answer is replayed, and stored under the account.
    let u = t.register_member("幂等").await;
    let body = json!({ "name": "幂等小店", "description": "", "contact_phone": next_phone() });
    let apply = || {
        t.client
            .post(format!("{}/api/v1/merchants", t.base))
            .bearer_auth(&u.token)
            .header("idempotency-key", "apply-1")
            .json(&body)
            .send()
    };
    let first = apply().await.unwrap();
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let again = apply().await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
}

/// A connection that never finishes its header is closed; a body that stops arriving
/// fails with 408 — in about the configured second, not the probe's 80 s and more.
async fn slow_headers_and_bodies_are_cut_off(t: TestApp) {
    let (answer, took) = raw(
        &t,
        "GET /healthz HTTP/1.1\r\nHost: x\r\n",
        Duration::from_secs(10),
    )
    .await;
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(took < Duration::from_secs(5), "closed after {took:?}");
    let head = "POST /api/v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Content-Length: 100\r\n\r\n{\"phone\":";
    let (answer, took) = raw(&t, head, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("/problems/request-timeout"), "{answer}");
    assert!(took < Duration::from_secs(5), "answered after {took:?}");
    // A prompt client is served as ever.
    t.get("/healthz", None).await.expect(200);
}

/// A clerk who enters ten wrong codes in 15 minutes is stopped; the store's other
/// clerks are not, and someone who is not the store's clerk cannot use up its budget.
async fn pickup_code_guessing_is_throttled(t: TestApp) {
    let (owner, merchant) = t.approved_merchant("自提店").await;
    let store = t.store(&owner, &merchant, "门店一").await;
    let guesser = t.clerk(&owner, &merchant, &store).await;
    let colleague = t.clerk(&owner, &merchant, &store).await;
    let stranger = t.register_member("路人").await;
    let redeem = format!("/api/v1/clerk/stores/{store}/pickups/redeem");
    let guess = |n: u32| json!({ "code": format!("{:08}", 10_000_000 + n) });
    for n in 0..40 {
        let r = t.post(&redeem, Some(&stranger.token), guess(n)).await;
        assert!(matches!(r.status.as_u16(), 403 | 404), "{}", r.status);
    }
    for n in 0..10 {
        t.post(&redeem, Some(&guesser.token), guess(n))
            .await
            .problem(404, None);
    }
    let stopped = t.post(&redeem, Some(&guesser.token), guess(99)).await;
    assert!(stopped.headers.get("retry-after").is_some());
    stopped.problem(429, None);
    t.post(&redeem, Some(&colleague.token), guess(100))
        .await
        .problem(404, None);
    t.clock.advance_secs(15 * 60);
    t.post(&redeem, Some(&guesser.token), guess(101))
        .await
        .problem(404, None);
}

/// Forty wrong codes sent at once by one clerk: ten are tried (404), the rest refused
/// (429). Each attempt is counted before it is made, so a burst cannot slip past a check
/// that all of its requests read before any of them was counted.
async fn a_burst_of_concurrent_guesses_gets_the_limit_not_more(t: TestApp) {
    let (owner, merchant) = t.approved_merchant("自提店").await;
    let store = t.store(&owner, &merchant, "门店一").await;
    let guesser = t.clerk(&owner, &merchant, &store).await;
    let url = format!("{}/api/v1/clerk/stores/{store}/pickups/redeem", t.base);
    let mut tasks = Vec::new();
    for n in 0..40 {
        let (client, url, token) = (t.client.clone(), url.clone(), guesser.token.clone());
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "code": format!("{:08}", 20_000_000 + n) }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    let tried = statuses.iter().filter(|s| **s == 404).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((tried, refused), (10, 30), "{statuses:?}");
}

/// Bidirectional controls cannot make one name read as another.
async fn bidi_controls_are_dropped_from_names(t: TestApp) {
    let acct = t
        .post(
            "/api/v1/accounts",
            None,
            json!({ "phone": next_phone(), "password": PASSWORD,
                    "display_name": "\u{202E}小美\u{2066}客服\u{2069}\u{200F}" }),
        )
        .await
        .expect(201);
    assert_eq!(acct["display_name"], "小美客服");
    t.post(
        "/api/v1/accounts",
        None,
        json!({ "phone": next_phone(), "password": PASSWORD, "display_name": "\u{202E}\u{202C}" }),
    )
    .await
    .problem(422, Some("display_name"));
}

/// A session unused for the idle timeout ends; using it keeps it alive.
async fn idle_sessions_end(t: TestApp) {
    let u = t.register_member("常来").await;
    for _ in 0..3 {
        t.clock.advance_secs(50 * 60);
        t.get("/api/v1/me", Some(&u.token)).await.expect(200);
    }
    t.clock.advance_secs(60 * 60);
    let ended = t.get("/api/v1/me", Some(&u.token)).await.problem(401, None);
    assert!(
        ended["detail"].as_str().unwrap().contains("unused"),
        "{ended}"
    );
}
