use kith_domain::signature;
use kith_store::StoreError;

use super::test_support::{Receiver, TestEnv, test_config};
use super::*;
use crate::AppConfig;
use crate::events::jobs;

/// Runs each scenario as one test on SQLite and one on PostgreSQL (the latter only
/// when `KITH_TEST_POSTGRES_URL` is set), with the given settings.
macro_rules! on_both_engines {
    ($($name:ident => $config:expr;)*) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::TestEnv::sqlite($config).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(env) = super::TestEnv::postgres($config).await {
                        super::$name(env).await;
                    }
                }
            )*
        }
    };
}

on_both_engines! {
    an_event_becomes_one_signed_delivery => super::test_config();
    failures_are_retried_with_backoff_until_delivered => super::test_config();
    the_last_failure_fails_delivery_and_job_together => super::two_attempts();
    an_unreachable_receiver_is_logged_as_an_error => super::test_config();
    unmatched_topics_and_other_merchants_create_no_delivery => super::test_config();
    a_deleted_endpoint_receives_nothing => super::test_config();
    deliveries_page_newest_first => super::test_config();
    only_trading_staff_manage_their_own_endpoints => super::test_config();
    a_failing_endpoint_is_paused_then_disabled_and_re_enabled => super::quick_disable();
    a_redirect_is_a_failed_attempt_not_followed => super::test_config();
    at_most_twenty_active_endpoints => super::test_config();
    bad_input_is_refused_with_its_field => super::AppConfig::default();
}

fn new_endpoint(url: &str, topics: &[&str]) -> NewEndpoint {
    NewEndpoint {
        url: url.to_owned(),
        topics: topics.iter().map(|t| (*t).to_owned()).collect(),
        description: Some("order system".into()),
    }
}

async fn deliveries(
    env: &TestEnv,
    endpoint_id: &crate::platform::ids::EndpointId,
) -> Vec<Delivery> {
    list_deliveries(
        &env.app,
        &env.owner,
        &env.merchant_id,
        endpoint_id,
        PageRequest::first(100),
    )
    .await
    .unwrap()
    .items
}

fn field_of(e: AppError) -> String {
    match e {
        AppError::Invalid { field, .. } => field,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

async fn an_event_becomes_one_signed_delivery(env: TestEnv) {
    let rx = Receiver::start(vec![]).await;
    let (ep, secret) = create_endpoint(
        &env.app,
        &env.owner,
        &env.merchant_id,
        new_endpoint(&rx.url, &["store.*"]),
    )
    .await
    .unwrap();
    assert!(secret.starts_with("whsec_"));
    let shown = serde_json::to_string(&ep).unwrap();
    assert!(
        !shown.contains(&secret) && !shown.contains("secret"),
        "{shown}"
    );

    let event_id = env
        .emit(
            "store.created",
            Some(&env.merchant_id),
            serde_json::json!({ "name": "西湖店" }),
        )
        .await;
    assert_eq!(jobs::run_once(&env.app, "w1").await.unwrap(), 1);

    let got = rx.received();
    assert_eq!(got.len(), 1);
    let req = &got[0];
    let now_secs = env.app.now_ms() / 1000;
    let header = &req.headers["kith-signature"];
    signature::verify(header, secret.as_bytes(), &req.body, now_secs, 300).unwrap();
    assert!(signature::verify(header, b"whsec_other", &req.body, now_secs, 300).is_err());
    assert_eq!(req.headers["content-type"], "application/json");
    assert_eq!(req.headers["kith-event-id"], event_id.to_string());
    assert_eq!(req.headers["kith-topic"], "store.created");
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["id"], event_id.to_string());
    assert_eq!(body["topic"], "store.created");
    assert_eq!(body["merchant_id"], env.merchant_id.as_str());
    assert_eq!(body["created_at"], rfc3339(1_700_000_000_000));
    assert_eq!(body["data"]["name"], "西湖店");

    let ds = deliveries(&env, &ep.id).await;
    assert_eq!(ds.len(), 1, "{ds:?}");
    assert_eq!((ds[0].status.as_str(), ds[0].attempts), ("delivered", 1));
    assert_eq!(ds[0].event_id, event_id.to_string());
    assert!(ds[0].finished_at.is_some() && ds[0].next_attempt_at.is_none());
    let attempts = list_attempts(&env.app, &env.owner, &env.merchant_id, &ds[0].id)
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        (attempts[0].attempt_no, attempts[0].status_code),
        (1, Some(200))
    );
    assert_eq!(attempts[0].response_body.as_deref(), Some("ok"));

    // Nothing is sent twice.
    env.clock.advance_secs(3600);
    assert_eq!(jobs::run_once(&env.app, "w1").await.unwrap(), 0);
    assert_eq!(rx.received().len(), 1);
}

async fn failures_are_retried_with_backoff_until_delivered(env: TestEnv) {
    let rx = Receiver::start(vec![500, 500]).await;
    let (ep, _) = create_endpoint(
        &env.app,
        &env.owner,
        &env.merchant_id,
        new_endpoint(&rx.url, &["merchant.*"]),
    )
    .await
    .unwrap();
    env.emit(
        "merchant.updated",
        Some(&env.merchant_id),
        serde_json::json!({}),
    )
    .await;

    assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 1);
    let d = &deliveries(&env, &ep.id).await[0];
    assert_eq!((d.status.as_str(), d.attempts), ("pending", 1));
    assert_eq!(
        d.next_attempt_at.as_deref(),
        Some(rfc3339(env.app.now_ms() + 10_000).as_str())
    );

    // Not due before the backoff has passed.
    env.clock.advance_ms(9_999);
    assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 0);
    env.clock.advance_ms(1);
    assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 1);
    // The second wait is twice the first.
    env.clock.advance_secs(19);
    assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 0);
    env.clock.advance_secs(1);
    assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 1);

    let ds = deliveries(&env, &ep.id).await;
    assert_eq!((ds[0].status.as_str(), ds[0].attempts), ("delivered", 3));
    let attempts = list_attempts(&env.app, &env.owner, &env.merchant_id, &ds[0].id)
        .await
        .unwrap();
    let codes: Vec<_> = attempts
        .iter()
        .map(|a| (a.attempt_no, a.status_code))
        .collect();
    assert_eq!(codes, [(1, Some(500)), (2, Some(500)), (3, Some(200))]);
    // Failing paused the endpoint; one success makes it healthy again.
    let e = endpoint(&env, &ep.id).await;
    assert_eq!(e.consecutive_failures, 0);
    assert!(
        e.paused_until.is_none() && e.failing_since.is_none(),
        "{e:?}"
    );
    assert_eq!(
        attempts[0].response_body.as_deref(),
        Some("receiver says no")
    );
    assert_eq!(rx.received().len(), 3);
    // The job finished with the delivery.
    let open = env
        .app
        .db
        .read(|c| {
            c.query_one("SELECT COUNT(*) FROM jobs WHERE status = 'queued'", &[])?
                .int(0)
        })
        .await
        .unwrap();
    assert_eq!(open, 0);
}

fn two_attempts() -> AppConfig {
    AppConfig {
        webhook_max_attempts: 2,
        ..test_config()
    }
}

async fn the_last_failure_fails_delivery_and_job_together(env: TestEnv) {
    let rx = Receiver::start(vec![503; 10]).await;
    let (ep, _) = create_endpoint(
        &env.app,
        &env.owner,
        &env.merchant_id,
        new_endpoint(&rx.url, &["order.paid"]),
    )
    .await
    .unwrap();
    env.emit(
        "order.paid",
        Some(&env.merchant_id),
        serde_json::json!({ "order": 1 }),
    )
    .await;
    assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 1);
    env.clock.advance_secs(10);
    assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 1);
    env.clock.advance_secs(3600);
    assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 0);
    let d = &deliveries(&env, &ep.id).await[0];
    assert_eq!((d.status.as_str(), d.attempts), ("failed", 2));
    assert!(d.finished_at.is_some() && d.next_attempt_at.is_none());
    let (status, err) = env
        .app
        .db
        .read(|c| {
            let r = c.query_one("SELECT status, last_error FROM jobs", &[])?;
            Ok::<_, StoreError>((r.text(0)?, r.opt_text(1)?))
        })
        .await
        .unwrap();
    assert_eq!(status, "failed");
    assert_eq!(err.as_deref(), Some("receiver answered HTTP 503"));
}

async fn an_unreachable_receiver_is_logged_as_an_error(env: TestEnv) {
    // A port that was just free: nothing answers there.
    let port = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/gone");
    let (ep, _) = create_endpoint(
        &env.app,
        &env.owner,
        &env.merchant_id,
        new_endpoint(&url, &["order.paid"]),
    )
    .await
    .unwrap();
    env.emit("order.paid", Some(&env.merchant_id), serde_json::json!({}))
        .await;
    assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 1);
    let d = &deliveries(&env, &ep.id).await[0];
    assert_eq!((d.status.as_str(), d.attempts), ("pending", 1));
    let attempts = list_attempts(&env.app, &env.owner, &env.merchant_id, &d.id)
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].status_code, None);
    assert_eq!(attempts[0].response_body, None);
    // The class of failure, never the socket error (which names addresses and ports).
    assert_eq!(attempts[0].error.as_deref(), Some("connection failed"));
}

async fn unmatched_topics_and_other_merchants_create_no_delivery(env: TestEnv) {
    let rx = Receiver::start(vec![]).await;
    let (ep, _) = create_endpoint(
        &env.app,
        &env.owner,
        &env.merchant_id,
        new_endpoint(&rx.url, &["store.*", "order.paid"]),
    )
    .await
    .unwrap();
    let (_, other_merchant) = env.add_merchant("approved").await;
    env.emit(
        "merchant.approved",
        Some(&env.merchant_id),
        serde_json::json!({}),
    )
    .await;
    env.emit(
        "stores.created",
        Some(&env.merchant_id),
        serde_json::json!({}),
    )
    .await;
    env.emit("order.paid", Some(&other_merchant), serde_json::json!({}))
        .await;
    env.emit("order.paid", None, serde_json::json!({})).await;
    assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 0);
    assert!(deliveries(&env, &ep.id).await.is_empty());
    assert!(rx.received().is_empty());
    // Every event was still dispatched, so none is looked at again.
    assert_eq!(dispatch_outbox(&env.app, 100).await.unwrap(), 0);
}

async fn a_deleted_endpoint_receives_nothing(env: TestEnv) {
    let rx = Receiver::start(vec![]).await;
    let (ep, _) = create_endpoint(
        &env.app,
        &env.owner,
        &env.merchant_id,
        new_endpoint(&rx.url, &["store.*"]),
    )
    .await
    .unwrap();
    env.emit(
        "store.updated",
        Some(&env.merchant_id),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(dispatch_outbox(&env.app, 100).await.unwrap(), 2);
    delete_endpoint(&env.app, &env.owner, &env.merchant_id, &ep.id)
        .await
        .unwrap();
    // Deleting twice is fine.
    delete_endpoint(&env.app, &env.owner, &env.merchant_id, &ep.id)
        .await
        .unwrap();
    assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 1);
    assert!(rx.received().is_empty());
    let d = &deliveries(&env, &ep.id).await[0];
    assert_eq!((d.status.as_str(), d.attempts), ("failed", 0));
    assert!(
        list_endpoints(&env.app, &env.owner, &env.merchant_id)
            .await
            .unwrap()
            .is_empty()
    );
    env.emit(
        "store.updated",
        Some(&env.merchant_id),
        serde_json::json!({}),
    )
    .await;
    jobs::run_once(&env.app, "w").await.unwrap();
    assert_eq!(deliveries(&env, &ep.id).await.len(), 1);
}

async fn deliveries_page_newest_first(env: TestEnv) {
    // Nothing listens: deliveries stay pending, which is all this test needs.
    let (ep, _) = create_endpoint(
        &env.app,
        &env.owner,
        &env.merchant_id,
        new_endpoint("http://127.0.0.1:9/unused", &["store.*"]),
    )
    .await
    .unwrap();
    let mut events = Vec::new();
    for _ in 0..3 {
        events.push(
            env.emit(
                "store.updated",
                Some(&env.merchant_id),
                serde_json::json!({}),
            )
            .await,
        );
        dispatch_outbox(&env.app, 100).await.unwrap();
        env.clock.advance_secs(1);
    }
    let first = list_deliveries(
        &env.app,
        &env.owner,
        &env.merchant_id,
        &ep.id,
        PageRequest::first(2),
    )
    .await
    .unwrap();
    let ids: Vec<_> = first.items.iter().map(|d| d.event_id.clone()).collect();
    assert_eq!(ids, [events[2].to_string(), events[1].to_string()]);
    let cursor = first.next_cursor.expect("a second page");
    let page = PageRequest::parse(Some(2), Some(&cursor)).unwrap();
    let second = list_deliveries(&env.app, &env.owner, &env.merchant_id, &ep.id, page)
        .await
        .unwrap();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.items[0].event_id, events[0].to_string());
    assert!(second.next_cursor.is_none());
    // A forged cursor is refused at parsing, before it can reach SQL.
    let forged = crate::platform::page::encode_cursor(i64::MAX, "x");
    let err = PageRequest::parse(Some(2), Some(&forged)).unwrap_err();
    assert_eq!(field_of(err), "cursor");
}

async fn only_trading_staff_manage_their_own_endpoints(env: TestEnv) {
    let stranger = env.add_account().await;
    let url = "http://127.0.0.1:9/hook";
    let err = create_endpoint(
        &env.app,
        &stranger,
        &env.merchant_id,
        new_endpoint(url, &["*"]),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");
    let err = list_endpoints(&env.app, &stranger, &env.merchant_id)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");

    // Another merchant's staff cannot reach this merchant's endpoint or deliveries
    // through their own merchant either.
    let (ep, _) = create_endpoint(
        &env.app,
        &env.owner,
        &env.merchant_id,
        new_endpoint(url, &["*"]),
    )
    .await
    .unwrap();
    let (other_owner, other_merchant) = env.add_merchant("approved").await;
    let err = delete_endpoint(&env.app, &other_owner, &other_merchant, &ep.id)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::NotFound(_)), "{err:?}");
    let err = list_deliveries(
        &env.app,
        &other_owner,
        &other_merchant,
        &ep.id,
        PageRequest::first(10),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::NotFound(_)), "{err:?}");
    dispatch_outbox(&env.app, 100).await.unwrap();
    let d = &deliveries(&env, &ep.id).await[0];
    let err = list_attempts(&env.app, &other_owner, &other_merchant, &d.id)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::NotFound(_)), "{err:?}");

    // A merchant that is not approved cannot set up webhooks.
    let (pending_owner, pending) = env.add_merchant("pending").await;
    let err = create_endpoint(
        &env.app,
        &pending_owner,
        &pending,
        new_endpoint(url, &["*"]),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Conflict { .. }), "{err:?}");
    let err = list_endpoints(
        &env.app,
        &env.owner,
        &crate::platform::ids::MerchantId::new(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::NotFound(_)), "{err:?}");
}

async fn at_most_twenty_active_endpoints(env: TestEnv) {
    let url = "https://hooks.example.com/kith";
    let mut first = None;
    for _ in 0..MAX_ACTIVE_ENDPOINTS {
        let (ep, _) = create_endpoint(
            &env.app,
            &env.owner,
            &env.merchant_id,
            new_endpoint(url, &["*"]),
        )
        .await
        .unwrap();
        first.get_or_insert(ep.id);
    }
    let err = create_endpoint(
        &env.app,
        &env.owner,
        &env.merchant_id,
        new_endpoint(url, &["*"]),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Conflict { .. }), "{err:?}");
    assert_eq!(
        list_endpoints(&env.app, &env.owner, &env.merchant_id)
            .await
            .unwrap()
            .len(),
        20
    );
    delete_endpoint(&env.app, &env.owner, &env.merchant_id, &first.unwrap())
        .await
        .unwrap();
    create_endpoint(
        &env.app,
        &env.owner,
        &env.merchant_id,
        new_endpoint(url, &["*"]),
    )
    .await
    .unwrap();
}

async fn bad_input_is_refused_with_its_field(env: TestEnv) {
    let create = |url: &str, topics: &[&str], description: Option<String>| {
        let mut input = new_endpoint(url, topics);
        input.description = description;
        create_endpoint(&env.app, &env.owner, &env.merchant_id, input)
    };
    let ok = "https://hooks.example.com/kith";
    assert_eq!(
        field_of(
            create("http://hooks.example.com/", &["*"], None)
                .await
                .unwrap_err()
        ),
        "url"
    );
    assert_eq!(
        field_of(
            create("https://127.0.0.1/", &["*"], None)
                .await
                .unwrap_err()
        ),
        "url"
    );
    assert_eq!(field_of(create(ok, &[], None).await.unwrap_err()), "topics");
    assert_eq!(
        field_of(create(ok, &["store.*", "Bad"], None).await.unwrap_err()),
        "topics[1]"
    );
    assert_eq!(
        field_of(create(ok, &["*"], Some("x".repeat(201))).await.unwrap_err()),
        "description"
    );
    let (ep, _) = create(ok, &["store.*", "store.*", "*"], Some("  crm ".into()))
        .await
        .unwrap();
    assert_eq!(ep.topics, ["store.*", "*"]);
    assert_eq!(ep.description, "crm");
    assert_eq!(
        list_endpoints(&env.app, &env.owner, &env.merchant_id)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn urls_are_checked() {
    for good in [
        "https://hooks.example.com/kith?x=1",
        "https://8.8.8.8:8443/h",
        "https://[2606:4700:4700::1111]/h",
        // NAT64 and 6to4 forms of a public address reach that address.
        "https://[64:ff9b::808:808]/h",
        "https://[2002:808:808::1]/h",
    ] {
        assert!(validate_url(good, false).is_ok(), "{good}");
    }
    for bad in [
        "",
        "not a url",
        "/relative",
        "ftp://example.com/",
        "http://example.com/",
        "https://localhost/",
        "https://api.localhost/",
        "https://127.0.0.1/",
        "https://0x7f.1/",
        "https://2130706433/",
        "https://10.0.0.8/",
        "https://172.16.5.5/",
        "https://192.168.1.1/",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/",
        "https://0.0.0.0/",
        "https://[::1]/",
        "https://[fd00::1]/",
        "https://[fe80::1]/",
        "https://[::ffff:127.0.0.1]/",
        // Issue 17's probe, and their neighbours.
        "https://[::127.0.0.1]/",
        "https://[::ffff:8.8.8.8]/",
        "https://[64:ff9b::7f00:1]/",
        "https://[64:ff9b::a00:1]/",
        "https://[64:ff9b:1::808:808]/",
        "https://[2002:7f00:1::1]/",
        "https://[2001::1]/",
        "https://[2001:db8::1]/",
        "https://[fec0::1]/",
        "https://[ff02::1]/",
        "https://198.18.0.1/",
        "https://198.19.255.255/",
        "https://240.0.0.1/",
        "https://255.255.255.255/",
        "https://224.0.0.1/",
        "https://192.0.0.8/",
        "https://192.0.2.1/",
        "https://198.51.100.1/",
        "https://203.0.113.7/",
        "https://127.0.0.1./",
        "https://localhost./",
        "https://LOCALHOST/",
        "https://ip6-localhost/",
        "https://ip6-loopback/",
        "https://localhost.localdomain/",
    ] {
        let err = validate_url(bad, false).unwrap_err();
        assert_eq!(field_of(err), "url", "{bad}");
    }
    let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
    assert!(validate_url(&long, false).is_err());
    assert!(validate_url("http://127.0.0.1:8080/h", true).is_ok());
    assert!(validate_url("ftp://127.0.0.1/", true).is_err());
}

#[test]
fn topics_are_checked_and_matched() {
    let t = |v: &[&str]| validate_topics(&v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
    assert!(t(&["*", "merchant.approved", "store.*", "order_v2.paid"]).is_ok());
    for (bad, field) in [
        (vec!["Store.x"], "topics[0]"),
        (vec!["*", "store..x"], "topics[1]"),
        (vec!["*.created"], "topics[0]"),
        (vec!["st*re"], "topics[0]"),
        (vec!["store.*.x"], "topics[0]"),
        (vec![".store"], "topics[0]"),
        (vec!["store-x"], "topics[0]"),
        (vec![""], "topics[0]"),
    ] {
        assert_eq!(field_of(t(&bad).unwrap_err()), field, "{bad:?}");
    }
    let long = "a".repeat(MAX_TOPIC_LEN + 1);
    assert_eq!(field_of(t(&[long.as_str()]).unwrap_err()), "topics[0]");
    let many = vec!["a"; MAX_TOPICS + 1];
    assert_eq!(field_of(t(&many).unwrap_err()), "topics");

    assert!(topic_matches("*", "anything.at.all"));
    assert!(topic_matches("store.*", "store.created"));
    assert!(topic_matches("store.*", "store.clerk.added"));
    assert!(!topic_matches("store.*", "store"));
    assert!(!topic_matches("store.*", "stores.created"));
    assert!(topic_matches("merchant.approved", "merchant.approved"));
    assert!(!topic_matches(
        "merchant.approved",
        "merchant.approved.late"
    ));
}

fn quick_disable() -> AppConfig {
    AppConfig {
        webhook_disable_after_failures: 3,
        webhook_disable_after_secs: 60,
        webhook_max_attempts: 10,
        ..test_config()
    }
}

async fn endpoint(env: &TestEnv, id: &str) -> Endpoint {
    list_endpoints(&env.app, &env.owner, &env.merchant_id)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.id == *id)
        .expect("listed")
}

async fn a_failing_endpoint_is_paused_then_disabled_and_re_enabled(env: TestEnv) {
    let rx = Receiver::start(vec![500; 100]).await;
    let (ep, _) = create_endpoint(
        &env.app,
        &env.owner,
        &env.merchant_id,
        new_endpoint(&rx.url, &["store.*"]),
    )
    .await
    .unwrap();
    let listener = Receiver::start(vec![]).await;
    let (watcher, _) = create_endpoint(
        &env.app,
        &env.owner,
        &env.merchant_id,
        new_endpoint(&listener.url, &["webhook_endpoint.*"]),
    )
    .await
    .unwrap();
    // Drop the creation events' deliveries to the watcher.
    jobs::run_once(&env.app, "w").await.unwrap();
    let seen_before = listener.received().len();

    // One failure pauses the whole endpoint: of five queued deliveries only the first is
    // tried; the others wait for the pause instead of each calling a dead receiver.
    let one_at_a_time = AppConfig {
        webhook_max_in_flight_per_endpoint: 1,
        ..(*env.app.config).clone()
    };
    let app = crate::App::new(env.app.db.clone(), env.app.clock.clone(), one_at_a_time);
    for _ in 0..5 {
        env.emit(
            "store.updated",
            Some(&env.merchant_id),
            serde_json::json!({}),
        )
        .await;
    }
    jobs::run_once(&app, "w").await.unwrap();
    assert_eq!(rx.received().len(), 1);
    let e = endpoint(&env, &ep.id).await;
    assert_eq!((e.status.as_str(), e.consecutive_failures), ("active", 1));
    let pause = rfc3339(env.app.now_ms() + 10_000);
    assert_eq!(e.paused_until.as_deref(), Some(pause.as_str()));
    for d in deliveries(&env, &ep.id).await {
        assert_eq!(d.next_attempt_at.as_deref(), Some(pause.as_str()), "{d:?}");
    }
    // Nothing is tried during the pause, however often the worker looks.
    for _ in 0..3 {
        jobs::run_once(&app, "w").await.unwrap();
    }
    assert_eq!(rx.received().len(), 1);

    // Failing on: after 3 failures in a row over at least 60 s the endpoint is disabled,
    // its pending deliveries fail, and the merchant is told.
    env.clock.advance_secs(10);
    jobs::run_once(&app, "w").await.unwrap();
    assert_eq!(rx.received().len(), 2);
    assert_eq!(endpoint(&env, &ep.id).await.consecutive_failures, 2);
    env.clock.advance_secs(60);
    jobs::run_once(&app, "w").await.unwrap();
    assert_eq!(rx.received().len(), 3);
    let e = endpoint(&env, &ep.id).await;
    assert_eq!((e.status.as_str(), e.active), ("disabled", false));
    assert_eq!(e.consecutive_failures, 3);
    assert!(e.disabled_at.is_some());
    assert!(
        e.disabled_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("3 deliveries failed in a row since")),
        "{e:?}"
    );
    assert!(
        deliveries(&env, &ep.id)
            .await
            .iter()
            .all(|d| d.status == "failed" && d.next_attempt_at.is_none())
    );
    jobs::run_once(&env.app, "w").await.unwrap();
    let told: Vec<_> = listener.received()[seen_before..]
        .iter()
        .map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap())
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["topic"], "webhook_endpoint.disabled");
    assert_eq!(told[0]["data"]["id"], ep.id.as_str());
    assert_eq!(told[0]["data"]["consecutive_failures"], 3);

    // A disabled endpoint receives nothing new.
    env.emit(
        "store.updated",
        Some(&env.merchant_id),
        serde_json::json!({}),
    )
    .await;
    env.clock.advance_secs(3600);
    jobs::run_once(&env.app, "w").await.unwrap();
    assert_eq!(rx.received().len(), 3);
    assert_eq!(deliveries(&env, &ep.id).await.len(), 5);

    // Only the merchant's staff re-enable it; then it receives events again, counted afresh.
    let stranger = env.add_account().await;
    let err = enable_endpoint(&env.app, &stranger, &env.merchant_id, &ep.id)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");
    let e = enable_endpoint(&env.app, &env.owner, &env.merchant_id, &ep.id)
        .await
        .unwrap();
    assert_eq!((e.status.as_str(), e.active), ("active", true));
    assert_eq!((e.consecutive_failures, e.disabled_reason), (0, None));
    // Enabling twice changes nothing.
    enable_endpoint(&env.app, &env.owner, &env.merchant_id, &ep.id)
        .await
        .unwrap();
    env.emit(
        "store.updated",
        Some(&env.merchant_id),
        serde_json::json!({}),
    )
    .await;
    jobs::run_once(&env.app, "w").await.unwrap();
    assert_eq!(rx.received().len(), 4);
    let _ = watcher;
}

/// The production client resolves a name and refuses to connect when it leads to a
/// non-public address, even when the URL itself passed every literal check.
#[tokio::test]
async fn the_production_client_refuses_names_that_resolve_to_loopback() {
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
    let url = format!("http://localhost:{port}/hooks/kith");
    let req = delivery::Request {
        url: &url,
        event_id: "1",
        topic: "t",
        delivery_id: "d",
        signature: "s",
    };
    let timeout = std::time::Duration::from_secs(5);
    match delivery::send(false, timeout, &req, b"{}".to_vec()).await {
        delivery::Outcome::NoAnswer(class) => assert_eq!(class, "address not allowed"),
        delivery::Outcome::Answered { status, .. } => panic!("connected: HTTP {status}"),
    }
    assert!(rx.received().is_empty());
    // The same request with private targets allowed reaches the receiver.
    match delivery::send(true, timeout, &req, b"{}".to_vec()).await {
        delivery::Outcome::Answered { status, .. } => assert_eq!(status, 200),
        delivery::Outcome::NoAnswer(class) => panic!("not delivered: {class}"),
    }
    assert_eq!(rx.received().len(), 1);
}

#[tokio::test]
async fn registration_refuses_names_that_resolve_to_private_addresses() {
    // `localhost` resolves to loopback everywhere; a literal check alone would pass a name.
    for url in ["https://localhost:8443/h", "https://LocalHost/h"] {
        let err = check_resolved(url, false).await.unwrap_err();
        assert_eq!(field_of(err), "url", "{url}");
    }
    assert!(check_resolved("https://localhost/h", true).await.is_ok());
    assert!(check_resolved("https://8.8.8.8/h", false).await.is_ok());
    // A name that does not resolve (yet) is accepted; delivery checks it again.
    assert!(
        check_resolved("https://no-such-host.invalid/h", false)
            .await
            .is_ok()
    );
}

async fn a_redirect_is_a_failed_attempt_not_followed(env: TestEnv) {
    // The endpoint answers 307 towards an inside address; kith must not go there.
    let inside = Receiver::start(vec![]).await;
    let rx = Receiver::start_with_location(vec![307], Some(inside.url.clone())).await;
    let (ep, _) = create_endpoint(
        &env.app,
        &env.owner,
        &env.merchant_id,
        new_endpoint(&rx.url, &["store.*"]),
    )
    .await
    .unwrap();
    env.emit(
        "store.updated",
        Some(&env.merchant_id),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(jobs::run_once(&env.app, "w").await.unwrap(), 1);
    assert_eq!(rx.received().len(), 1);
    assert!(inside.received().is_empty());
    let d = &deliveries(&env, &ep.id).await[0];
    assert_eq!((d.status.as_str(), d.attempts), ("pending", 1));
    let attempts = list_attempts(&env.app, &env.owner, &env.merchant_id, &d.id)
        .await
        .unwrap();
    assert_eq!(attempts[0].status_code, Some(307));
}
