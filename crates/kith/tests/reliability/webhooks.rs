//! Webhooks end to end: a merchant registers an endpoint over HTTP, a change in the shop
//! becomes a signed POST to a real (tiny) receiver when the background work runs, and the
//! delivery log shows every attempt. Workers are off in tests, so `run_once` and the
//! manual clock drive delivery and backoff.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::both_engines;
use crate::harness::{Engine, TestApp, User};

both_engines!(
    a_store_event_reaches_the_receiver_signed,
    a_failed_delivery_is_retried_after_backoff,
    a_deleted_endpoint_receives_nothing_more,
    bad_endpoint_input_names_its_field,
    only_the_merchants_trading_staff_manage_webhooks,
    the_attempt_log_shows_a_failure_class_not_the_socket_error,
    a_disabled_endpoint_is_shown_and_re_enabled_by_its_staff,
);

// Issue 17, item 5: on a server that does not allow private targets (production), every
// form of a non-public address is refused at registration, with a 422 naming `url`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_public_targets_are_refused_sqlite() {
    if let Some(t) = TestApp::spawn_with(Engine::Sqlite, strict).await {
        non_public_targets_are_refused(t).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_public_targets_are_refused_postgres() {
    if let Some(t) = TestApp::spawn_with(Engine::Postgres, strict).await {
        non_public_targets_are_refused(t).await;
    }
}

fn strict(args: &mut kith::config::ServeArgs) {
    args.webhook_allow_private = Some(false);
}

// ---------------------------------------------------------------------------------------
// A receiver: raw HTTP/1.1 on 127.0.0.1, answering with queued statuses (then 200) and
// recording what it was sent.

#[derive(Debug, Clone)]
struct Received {
    request_line: String,
    /// Header names in lower case.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(statuses: Vec<u16>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hooks/kith", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let statuses = Arc::new(Mutex::new(std::collections::VecDeque::from(statuses)));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                // One task per connection: a connection that never sends cannot stall the
                // next one.
                let (log, statuses) = (log.clone(), statuses.clone());
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut sock).await else {
                        return;
                    };
                    log.lock().unwrap().push(req);
                    let status = statuses.lock().unwrap().pop_front().unwrap_or(200);
                    let body = if status < 300 {
                        "ok"
                    } else {
                        "receiver says no"
                    };
                    let answer = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(answer.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Self { url, seen, task }
    }

    fn received(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.lines();
    let request_line = lines.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Received {
        request_line,
        headers,
        body: buf[head_end..head_end + len].to_vec(),
    })
}

// ---------------------------------------------------------------------------------------
// Helpers

fn hooks_path(mid: &str) -> String {
    format!("/api/v1/merchants/{mid}/webhooks")
}

/// Registers an endpoint as `who`: (endpoint id, secret).
async fn register(
    t: &TestApp,
    who: &User,
    mid: &str,
    url: &str,
    topics: &[&str],
) -> (String, String) {
    let created = t
        .post(
            &hooks_path(mid),
            Some(&who.token),
            json!({ "url": url, "topics": topics, "description": "订单系统" }),
        )
        .await
        .expect(201);
    (
        created["endpoint"]["id"].as_str().expect("id").to_owned(),
        created["secret"].as_str().expect("secret").to_owned(),
    )
}

/// One round of background work, as the worker would run it: how many jobs ran.
async fn run_jobs(t: &TestApp) -> usize {
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .expect("background round")
}

async fn deliveries(t: &TestApp, who: &User, mid: &str, endpoint: &str) -> Vec<Value> {
    let page = t
        .get(
            &format!("{}/{endpoint}/deliveries", hooks_path(mid)),
            Some(&who.token),
        )
        .await
        .expect(200);
    page["items"].as_array().expect("items").clone()
}

async fn attempts(t: &TestApp, who: &User, mid: &str, delivery: &Value) -> Vec<Value> {
    let path = format!(
        "/api/v1/merchants/{mid}/webhook-deliveries/{}/attempts",
        delivery["id"].as_str().expect("id")
    );
    t.get(&path, Some(&who.token))
        .await
        .expect(200)
        .as_array()
        .expect("attempts")
        .clone()
}

fn now_secs(t: &TestApp) -> i64 {
    t.app.now_ms() / 1000
}

// ---------------------------------------------------------------------------------------
// Stories

async fn a_store_event_reaches_the_receiver_signed(t: TestApp) {
    let (owner, mid) = t.approved_merchant("贵阳丝娃娃").await;
    let rx = Receiver::start(vec![]).await;
    let created = t
        .post(
            &hooks_path(&mid),
            Some(&owner.token),
            json!({ "url": rx.url, "topics": ["store.*"], "description": "门店系统" }),
        )
        .await
        .expect(201);
    let secret = created["secret"].as_str().unwrap().to_owned();
    let ep = created["endpoint"].clone();
    let eid = ep["id"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 20,
        "{secret}"
    );
    assert_eq!(
        (
            ep["url"].as_str(),
            ep["topics"].clone(),
            ep["active"].as_bool()
        ),
        (Some(rx.url.as_str()), json!(["store.*"]), Some(true))
    );

    // The secret is shown once: never in the list.
    let list = t
        .get(&hooks_path(&mid), Some(&owner.token))
        .await
        .expect(200);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["id"], eid.as_str());
    assert!(
        list[0].get("secret").is_none() && !list.to_string().contains(&secret),
        "{list}"
    );

    // What happened before (applied, approved, endpoint created) is not a store event.
    assert_eq!(run_jobs(&t).await, 0);
    assert!(rx.received().is_empty());

    let store = t.store(&owner, &mid, "南明店").await;
    assert_eq!(run_jobs(&t).await, 1);
    let got = rx.received();
    assert_eq!(got.len(), 1);
    let req = &got[0];
    assert_eq!(req.request_line, "POST /hooks/kith HTTP/1.1");
    assert_eq!(req.header("content-type"), "application/json");
    assert_eq!(req.header("kith-topic"), "store.created");
    kith_domain::signature::verify(
        req.header("kith-signature"),
        secret.as_bytes(),
        &req.body,
        now_secs(&t),
        300,
    )
    .expect("signature verifies");
    assert!(
        kith_domain::signature::verify(
            req.header("kith-signature"),
            b"whsec_not-the-secret",
            &req.body,
            now_secs(&t),
            300
        )
        .is_err()
    );
    let mut tampered = req.body.clone();
    tampered.push(b' ');
    assert!(
        kith_domain::signature::verify(
            req.header("kith-signature"),
            secret.as_bytes(),
            &tampered,
            now_secs(&t),
            300
        )
        .is_err()
    );
    let event = req.json();
    assert_eq!(
        (event["topic"].as_str(), event["merchant_id"].as_str()),
        (Some("store.created"), Some(mid.as_str()))
    );
    assert_eq!(event["data"]["store_id"], store.as_str());
    assert_eq!(event["id"], req.header("kith-event-id"));

    // The log: delivered at the first attempt, which got a 200.
    let ds = deliveries(&t, &owner, &mid, &eid).await;
    assert_eq!(ds.len(), 1, "{ds:?}");
    let d = &ds[0];
    assert_eq!(
        (
            d["status"].as_str(),
            d["attempts"].as_i64(),
            d["topic"].as_str()
        ),
        (Some("delivered"), Some(1), Some("store.created"))
    );
    assert_eq!(
        (d["endpoint_id"].as_str(), d["event_id"].as_str()),
        (Some(eid.as_str()), Some(req.header("kith-event-id")))
    );
    assert_eq!(d["id"], req.header("kith-delivery-id"));
    assert!(
        d["finished_at"].is_string() && d["next_attempt_at"].is_null(),
        "{d}"
    );
    let at = attempts(&t, &owner, &mid, d).await;
    assert_eq!(at.len(), 1);
    assert_eq!(
        (at[0]["attempt_no"].as_i64(), at[0]["status_code"].as_i64()),
        (Some(1), Some(200))
    );
    assert_eq!(
        (at[0]["response_body"].as_str(), at[0]["error"].clone()),
        (Some("ok"), Value::Null)
    );

    // Delivered once, not again.
    t.clock.advance_secs(3600);
    assert_eq!(run_jobs(&t).await, 0);
    assert_eq!(rx.received().len(), 1);
}

async fn a_failed_delivery_is_retried_after_backoff(t: TestApp) {
    let (owner, mid) = t.approved_merchant("遵义虾子羊肉粉").await;
    let rx = Receiver::start(vec![500]).await;
    let (eid, secret) = register(&t, &owner, &mid, &rx.url, &["store.created"]).await;
    t.store(&owner, &mid, "虾子镇店").await;

    assert_eq!(run_jobs(&t).await, 1);
    let d = deliveries(&t, &owner, &mid, &eid).await.remove(0);
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64()),
        (Some("pending"), Some(1))
    );
    assert!(
        d["next_attempt_at"].is_string() && d["finished_at"].is_null(),
        "{d}"
    );

    // Not before the backoff (10 s for the first retry) has passed.
    t.clock.advance_secs(9);
    assert_eq!(run_jobs(&t).await, 0);
    assert_eq!(rx.received().len(), 1);
    t.clock.advance_secs(2);
    assert_eq!(run_jobs(&t).await, 1);

    let got = rx.received();
    assert_eq!(got.len(), 2);
    // The same event and delivery both times (receivers deduplicate on the event id),
    // each signed afresh.
    assert_eq!(
        got[0].header("kith-event-id"),
        got[1].header("kith-event-id")
    );
    assert_eq!(
        got[0].header("kith-delivery-id"),
        got[1].header("kith-delivery-id")
    );
    assert_eq!(got[0].body, got[1].body);
    kith_domain::signature::verify(
        got[1].header("kith-signature"),
        secret.as_bytes(),
        &got[1].body,
        now_secs(&t),
        300,
    )
    .expect("retry is signed");

    let d = deliveries(&t, &owner, &mid, &eid).await.remove(0);
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64()),
        (Some("delivered"), Some(2))
    );
    let at = attempts(&t, &owner, &mid, &d).await;
    let codes: Vec<_> = at
        .iter()
        .map(|a| (a["attempt_no"].as_i64(), a["status_code"].as_i64()))
        .collect();
    assert_eq!(codes, [(Some(1), Some(500)), (Some(2), Some(200))]);
    assert_eq!(at[0]["response_body"], "receiver says no");
}

async fn a_deleted_endpoint_receives_nothing_more(t: TestApp) {
    let (owner, mid) = t.approved_merchant("黔东南银饰").await;
    let rx = Receiver::start(vec![]).await;
    let (eid, _) = register(&t, &owner, &mid, &rx.url, &["store.*"]).await;
    let s1 = t.store(&owner, &mid, "西江店").await;
    assert_eq!(run_jobs(&t).await, 1);
    assert_eq!(rx.received().len(), 1);

    t.delete(&format!("{}/{eid}", hooks_path(&mid)), Some(&owner.token))
        .await
        .expect(204);
    assert_eq!(
        t.get(&hooks_path(&mid), Some(&owner.token))
            .await
            .expect(200),
        json!([])
    );
    // Deleting again changes nothing; the history stays readable.
    t.delete(&format!("{}/{eid}", hooks_path(&mid)), Some(&owner.token))
        .await
        .expect(204);
    assert_eq!(deliveries(&t, &owner, &mid, &eid).await.len(), 1);

    t.store(&owner, &mid, "肇兴店").await;
    let body = json!({ "name": "西江千户苗寨店", "address": "贵州省黔东南州雷山县西江镇", "latitude": 26.49, "longitude": 108.18 });
    t.put(
        &format!("/api/v1/merchants/{mid}/stores/{s1}"),
        Some(&owner.token),
        body,
    )
    .await
    .expect(200);
    assert_eq!(run_jobs(&t).await, 0);
    t.clock.advance_secs(3600);
    assert_eq!(run_jobs(&t).await, 0);
    assert_eq!(rx.received().len(), 1);
    assert_eq!(deliveries(&t, &owner, &mid, &eid).await.len(), 1);

    // A delivery still waiting for its retry when the endpoint goes is given up, unsent.
    let flaky = Receiver::start(vec![503]).await;
    let (eid2, _) = register(&t, &owner, &mid, &flaky.url, &["store.*"]).await;
    t.store(&owner, &mid, "榕江店").await;
    assert_eq!(run_jobs(&t).await, 1);
    t.delete(&format!("{}/{eid2}", hooks_path(&mid)), Some(&owner.token))
        .await
        .expect(204);
    t.clock.advance_secs(60);
    run_jobs(&t).await;
    assert_eq!(flaky.received().len(), 1);
    let d = deliveries(&t, &owner, &mid, &eid2).await.remove(0);
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64()),
        (Some("failed"), Some(1))
    );
}

async fn bad_endpoint_input_names_its_field(t: TestApp) {
    let (owner, mid) = t.approved_merchant("罗甸火龙果").await;
    let ok = "http://127.0.0.1:9/hooks";
    let cases = [
        (json!({ "url": "ftp://x", "topics": ["store.*"] }), "url"),
        (json!({ "url": "not a url", "topics": ["store.*"] }), "url"),
        (
            json!({ "url": format!("https://example.com/{}", "a".repeat(2100)), "topics": ["store.*"] }),
            "url",
        ),
        (json!({ "topics": ["store.*"] }), "url"),
        (json!({ "url": ok, "topics": [] }), "topics"),
        (json!({ "url": ok }), "topics"),
        (json!({ "url": ok, "topics": "store.*" }), "topics"),
        (json!({ "url": ok, "topics": ["Bad Topic"] }), "topics[0]"),
        (
            json!({ "url": ok, "topics": ["store.*", "store..created"] }),
            "topics[1]",
        ),
        (json!({ "url": ok, "topics": ["*.created"] }), "topics[0]"),
        (
            json!({ "url": ok, "topics": ["store.*"], "description": "长".repeat(201) }),
            "description",
        ),
        (
            json!({ "url": ok, "topics": ["store.*"], "secret": "mine" }),
            "secret",
        ),
    ];
    for (body, field) in cases {
        let got = t
            .post(&hooks_path(&mid), Some(&owner.token), body.clone())
            .await
            .problem(422, None);
        assert_eq!(got["field"], field, "{body} → {got}");
    }
    // Nothing was registered.
    assert_eq!(
        t.get(&hooks_path(&mid), Some(&owner.token))
            .await
            .expect(200),
        json!([])
    );
    // Duplicate topics are kept once.
    let created = t
        .post(
            &hooks_path(&mid),
            Some(&owner.token),
            json!({ "url": ok, "topics": ["store.*", "store.*", "*"] }),
        )
        .await
        .expect(201);
    assert_eq!(created["endpoint"]["topics"], json!(["store.*", "*"]));
}

async fn only_the_merchants_trading_staff_manage_webhooks(t: TestApp) {
    let (owner, mid) = t.approved_merchant("都匀茶商").await;
    let manager = t.manager(&owner, &mid).await;
    let (other_owner, other_mid) = t.approved_merchant("隔壁茶商").await;
    let member = t.register_member("路人").await;
    let admin = t.admin().await;
    let url = "http://127.0.0.1:9/hooks/secret-token-in-url";

    // A manager may register; the secret goes to whoever registered it.
    let (eid, _) = register(&t, &manager, &mid, url, &["*"]).await;
    for who in [&other_owner, &member, &admin] {
        let body = t
            .post(
                &hooks_path(&mid),
                Some(&who.token),
                json!({ "url": url, "topics": ["*"] }),
            )
            .await
            .problem(403, None);
        assert!(!body.to_string().contains("都匀茶商"), "{body}");
        let body = t
            .get(&hooks_path(&mid), Some(&who.token))
            .await
            .problem(403, None);
        assert!(!body.to_string().contains("secret-token-in-url"), "{body}");
        t.delete(&format!("{}/{eid}", hooks_path(&mid)), Some(&who.token))
            .await
            .problem(403, None);
        t.get(
            &format!("{}/{eid}/deliveries", hooks_path(&mid)),
            Some(&who.token),
        )
        .await
        .problem(403, None);
    }
    t.get(&hooks_path(&mid), None).await.problem(401, None);
    // Through their own merchant, another merchant's endpoint does not exist.
    t.delete(
        &format!("{}/{eid}", hooks_path(&other_mid)),
        Some(&other_owner.token),
    )
    .await
    .problem(404, None);
    t.get(
        &format!("{}/{eid}/deliveries", hooks_path(&other_mid)),
        Some(&other_owner.token),
    )
    .await
    .problem(404, None);
    // Deliveries are reached only through their own merchant as well.
    kith_app::events::webhooks::dispatch_outbox(&t.app, 100)
        .await
        .expect("route the outbox");
    let d = deliveries(&t, &owner, &mid, &eid)
        .await
        .first()
        .cloned()
        .expect("a delivery of the endpoint's own creation");
    let did = d["id"].as_str().unwrap();
    t.get(
        &format!("/api/v1/merchants/{other_mid}/webhook-deliveries/{did}/attempts"),
        Some(&other_owner.token),
    )
    .await
    .problem(404, None);
    t.get(
        &format!("/api/v1/merchants/{mid}/webhook-deliveries/{did}/attempts"),
        Some(&other_owner.token),
    )
    .await
    .problem(403, None);
    assert_eq!(attempts(&t, &manager, &mid, &d).await, Vec::<Value>::new());
    // Still there, still active.
    let list = t
        .get(&hooks_path(&mid), Some(&owner.token))
        .await
        .expect(200);
    assert_eq!(
        (list[0]["id"].as_str(), list[0]["active"].as_bool()),
        (Some(eid.as_str()), Some(true))
    );

    // A pending merchant does not trade, so it has no webhooks yet.
    let applicant = t.register_member("待审老板").await;
    let pending = t
        .post(
            "/api/v1/merchants",
            Some(&applicant.token),
            json!({ "name": "待审茶商" }),
        )
        .await
        .expect(201);
    t.post(
        &hooks_path(pending["id"].as_str().unwrap()),
        Some(&applicant.token),
        json!({ "url": url, "topics": ["*"] }),
    )
    .await
    .problem(409, None);
}

async fn non_public_targets_are_refused(t: TestApp) {
    let (owner, mid) = t.approved_merchant("严格的商家").await;
    let rx = Receiver::start(vec![]).await;
    let port = rx
        .url
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    for url in [
        // The probe's forms.
        "https://[::127.0.0.1]/h".to_owned(),
        "https://[64:ff9b::7f00:1]/h".to_owned(),
        "https://198.18.0.1/h".to_owned(),
        "https://240.0.0.1/h".to_owned(),
        "https://localhost./h".to_owned(),
        "https://ip6-localhost/h".to_owned(),
        // Their neighbours.
        "https://[::ffff:127.0.0.1]/h".to_owned(),
        "https://[64:ff9b:1::a00:1]/h".to_owned(),
        "https://[2002:a00:1::1]/h".to_owned(),
        "https://[fd00::1]/h".to_owned(),
        "https://100.64.0.1/h".to_owned(),
        "https://169.254.169.254/latest/meta-data".to_owned(),
        "https://203.0.113.9/h".to_owned(),
        "https://255.255.255.255/h".to_owned(),
        "https://0x7f.1/h".to_owned(),
        // A name that resolves to loopback, on the receiver's real port.
        format!("https://localhost:{port}/hooks/kith"),
        format!("http://127.0.0.1:{port}/hooks/kith"),
    ] {
        let got = t
            .post(
                &hooks_path(&mid),
                Some(&owner.token),
                json!({ "url": url, "topics": ["store.*"] }),
            )
            .await
            .problem(422, Some("url"));
        assert!(!got.to_string().contains("Connection"), "{got}");
    }
    assert_eq!(
        t.get(&hooks_path(&mid), Some(&owner.token))
            .await
            .expect(200),
        json!([])
    );

    // A URL that is no longer allowed when the delivery runs (settings changed, or the row
    // was altered) is refused before any connection, and logged as a class.
    let (eid, _) = register(&t, &owner, &mid, "https://8.8.8.8/h", &["store.*"]).await;
    let target = format!("https://127.0.0.1:{port}/hooks/kith");
    let endpoint = eid.clone();
    t.app
        .db
        .write(move |c| {
            c.execute(
                "UPDATE webhook_endpoints SET url = $2 WHERE id = $1",
                kith_store::args![&endpoint, &target],
            )
        })
        .await
        .expect("point the endpoint inside");
    t.store(&owner, &mid, "内网店").await;
    assert_eq!(run_jobs(&t).await, 1);
    assert!(rx.received().is_empty());
    let d = deliveries(&t, &owner, &mid, &eid).await.remove(0);
    let at = attempts(&t, &owner, &mid, &d).await;
    assert_eq!(at[0]["error"], "address not allowed", "{at:?}");
    assert_eq!(at[0]["status_code"], Value::Null);
}

async fn the_attempt_log_shows_a_failure_class_not_the_socket_error(t: TestApp) {
    let (owner, mid) = t.approved_merchant("端口扫描者").await;
    // A port that was just free: nothing answers there.
    let port = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        l.local_addr().expect("addr").port()
    };
    let url = format!("http://127.0.0.1:{port}/probe");
    let (eid, _) = register(&t, &owner, &mid, &url, &["store.*"]).await;
    t.store(&owner, &mid, "探测店").await;
    assert_eq!(run_jobs(&t).await, 1);
    let d = deliveries(&t, &owner, &mid, &eid).await.remove(0);
    let at = attempts(&t, &owner, &mid, &d).await;
    assert_eq!(at.len(), 1);
    // Refused, closed and filtered ports look alike: no socket error, address or port.
    assert_eq!(at[0]["error"], "connection failed", "{at:?}");
    let shown = at[0].to_string();
    for leak in ["refused", "tcp", &port.to_string(), "127.0.0.1", "os error"] {
        assert!(!shown.contains(leak), "{leak} in {shown}");
    }
}

async fn a_disabled_endpoint_is_shown_and_re_enabled_by_its_staff(t: TestApp) {
    let (owner, mid) = t.approved_merchant("总失败的商家").await;
    let manager = t.manager(&owner, &mid).await;
    let (other_owner, other_mid) = t.approved_merchant("旁观商家").await;
    let rx = Receiver::start(vec![500; 1000]).await;
    let (eid, _) = register(&t, &owner, &mid, &rx.url, &["store.*"]).await;
    let ep = |list: Value| {
        list.as_array()
            .expect("endpoints")
            .iter()
            .find(|e| e["id"] == eid.as_str())
            .cloned()
            .expect("listed")
    };

    // It fails: paused as a whole, counted; then, after 20 failures in a row over 72 h
    // (the defaults), disabled.
    t.store(&owner, &mid, "一号店").await;
    assert_eq!(run_jobs(&t).await, 1);
    let e = ep(t
        .get(&hooks_path(&mid), Some(&owner.token))
        .await
        .expect(200));
    assert_eq!(
        (e["status"].as_str(), e["consecutive_failures"].as_i64()),
        (Some("active"), Some(1))
    );
    assert!(
        e["paused_until"].is_string() && e["failing_since"].is_string(),
        "{e}"
    );
    for n in 0..40 {
        t.clock.advance_secs(6 * 3600);
        t.store(&owner, &mid, &format!("{n}号分店")).await;
        run_jobs(&t).await;
    }
    let e = ep(t
        .get(&hooks_path(&mid), Some(&owner.token))
        .await
        .expect(200));
    assert_eq!(
        (e["status"].as_str(), e["active"].as_bool()),
        (Some("disabled"), Some(false)),
        "{e}"
    );
    assert!(e["disabled_at"].is_string(), "{e}");
    assert!(
        e["disabled_reason"]
            .as_str()
            .is_some_and(|r| r.contains("deliveries failed in a row")),
        "{e}"
    );
    let tried = rx.received().len();
    assert!((20..=60).contains(&tried), "{tried} requests");
    t.store(&owner, &mid, "停用后的店").await;
    t.clock.advance_secs(24 * 3600);
    run_jobs(&t).await;
    assert_eq!(rx.received().len(), tried);

    // The console tells the merchant on its first page, with the way back.
    let console = |who: &str| {
        let req = t
            .client
            .get(format!("{}/console/{mid}", t.base))
            .header("cookie", format!("kith_session={who}"));
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    let page = console(&owner.token).await;
    assert!(page.contains("id=\"webhook-disabled\""), "{page}");
    assert!(page.contains(&rx.url) && page.contains("已停用"), "{page}");
    assert!(page.contains(&format!("/console/{mid}/webhooks/{eid}/enable")));

    // Only the merchant's owner or manager re-enables it; elsewhere it does not exist.
    let enable = format!("{}/{eid}/enable", hooks_path(&mid));
    let member = t.register_member("路人").await;
    for who in [&other_owner, &member] {
        t.post(&enable, Some(&who.token), json!({}))
            .await
            .problem(403, None);
    }
    t.post(&enable, None, json!({})).await.problem(401, None);
    t.post(
        &format!("{}/{eid}/enable", hooks_path(&other_mid)),
        Some(&other_owner.token),
        json!({}),
    )
    .await
    .problem(404, None);
    let e = t
        .post(&enable, Some(&manager.token), json!({}))
        .await
        .expect(200);
    assert_eq!(
        (
            e["status"].as_str(),
            e["consecutive_failures"].as_i64(),
            e["disabled_reason"].clone()
        ),
        (Some("active"), Some(0), Value::Null)
    );
    assert!(!console(&owner.token).await.contains("webhook-disabled"));
    t.store(&owner, &mid, "恢复后的店").await;
    assert_eq!(run_jobs(&t).await, 1);
    assert_eq!(rx.received().len(), tried + 1);

    // A deleted endpoint cannot be enabled.
    t.delete(&format!("{}/{eid}", hooks_path(&mid)), Some(&owner.token))
        .await
        .expect(204);
    t.post(&enable, Some(&owner.token), json!({}))
        .await
        .problem(404, None);
}
