//! Health, readiness, metrics, the OpenAPI document and its reference page, request ids,
//! security headers, idempotency keys and graceful shutdown.

use serde_json::json;

use crate::both_engines;
use crate::harness::{PASSWORD, TestApp, next_phone};

both_engines!(health_metrics_and_docs, idempotency_keys, graceful_shutdown);

async fn health_metrics_and_docs(t: TestApp) {
    let h = t.get("/healthz", None).await.expect(200);
    assert_eq!(h["status"], "ok");
    let r = t.get("/readyz", None).await;
    assert!(r.headers.get("x-request-id").is_some(), "request id header");
    assert_eq!(r.headers.get("x-content-type-options").unwrap(), "nosniff");
    let ready = r.expect(200);
    assert_eq!(
        ready["engine"],
        match t.engine {
            crate::harness::Engine::Sqlite => "sqlite",
            crate::harness::Engine::Postgres => "postgres",
        }
    );

    // A client's request id is echoed back.
    let r = t
        .client
        .get(format!("{}/healthz", t.base))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers().get("x-request-id").unwrap(), "abc-123");

    let m = t
        .client
        .get(format!("{}/metrics", t.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("kith_http_requests_total"), "{m}");

    let spec = t.get("/api/openapi.json", None).await.expect(200);
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = spec["paths"].as_object().unwrap();
    for p in [
        "/api/v1/accounts",
        "/api/v1/sessions",
        "/api/v1/sessions/current",
        "/api/v1/me",
        "/api/v1/merchants",
        "/api/v1/merchants/{merchant_id}",
        "/api/v1/merchants/{merchant_id}/approve",
        "/api/v1/merchants/{merchant_id}/reject",
        "/api/v1/merchants/{merchant_id}/staff",
        "/api/v1/merchants/{merchant_id}/invitations",
        "/api/v1/invitations/accept",
        "/api/v1/merchants/{merchant_id}/tiers",
        "/api/v1/merchants/{merchant_id}/tiers/{tier_id}",
        "/api/v1/merchants/{merchant_id}/members/{account_id}/tier",
        "/api/v1/merchants/{merchant_id}/stores",
        "/api/v1/merchants/{merchant_id}/stores/{store_id}",
        "/api/v1/merchants/{merchant_id}/stores/{store_id}/clerk-invitations",
        "/api/v1/clerk/stores/{store_id}",
        "/api/v1/merchants/{merchant_id}/webhooks",
        "/api/v1/merchants/{merchant_id}/webhooks/{endpoint_id}/deliveries",
        "/api/v1/merchants/{merchant_id}/webhook-deliveries/{delivery_id}/attempts",
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/openapi.json",
        "/api/docs",
    ] {
        assert!(paths.contains_key(p), "OpenAPI lacks {p}");
    }
    // Every `$ref` names a schema the document defines (typed ids and nested views are
    // components of their own; a dangling one breaks every client generator).
    fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                    out.push(r.to_owned());
                }
                m.values().for_each(|v| refs(v, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&spec, &mut found);
    assert!(!found.is_empty());
    for r in found {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(
            spec["components"]["schemas"].get(name).is_some(),
            "$ref {r} names no schema"
        );
    }
    let html = t
        .client
        .get(format!("{}/api/docs", t.base))
        .send()
        .await
        .unwrap();
    assert!(
        html.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = html.text().await.unwrap();
    assert!(
        html.contains("/api/v1/merchants/{merchant_id}/approve") && !html.contains("<script"),
        "reference page"
    );

    // Unknown routes and non-UUID ids are problem documents too.
    t.get("/api/v1/nope", None).await.problem(404, None);
    t.get("/api/v1/merchants/not-a-uuid", None)
        .await
        .problem(404, None);
}

async fn idempotency_keys(t: TestApp) {
    let u = t.register_member("一次").await;
    let send = |who: &str, b: serde_json::Value, key: &'static str| {
        let c = t
            .client
            .post(format!("{}/api/v1/merchants", t.base))
            .bearer_auth(who)
            .header("idempotency-key", key)
            .json(&b);
        async move { TestApp::read(c.send().await.unwrap()).await }
    };
    let body = json!({ "name": "一次小店", "description": "幂等" });
    let first = send(&u.token, body.clone(), "apply-1").await;
    assert!(first.headers.get("idempotent-replayed").is_none());
    let first = first.expect(201);
    let again = send(&u.token, body.clone(), "apply-1").await;
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(
        again.expect(201),
        first,
        "the replay is the stored response"
    );
    // Same key, different body: refused, nothing created.
    let other = json!({ "name": "二次小店", "description": "幂等" });
    send(&u.token, other.clone(), "apply-1")
        .await
        .problem(422, Some("Idempotency-Key"));
    // Keys belong to the account: another member's same key is their own request.
    let v = t.register_member("另一个").await;
    let theirs = send(
        &v.token,
        json!({ "name": "另一家店", "description": "幂等" }),
        "apply-1",
    )
    .await;
    assert!(theirs.headers.get("idempotent-replayed").is_none());
    assert_ne!(theirs.expect(201)["id"], first["id"]);
    // After 24 h the key is forgotten: the other body runs for real (and meets the
    // application already waiting), where it was refused as a key reuse before.
    t.clock.advance_secs(24 * 3600 + 1);
    let later = send(&u.token, other, "apply-1").await;
    assert!(later.headers.get("idempotent-replayed").is_none());
    later.problem(409, None);

    // Anonymous callers' keys are ignored (nothing is stored for them): a repeated sign-up
    // is the real conflict it is.
    let phone = next_phone();
    let reg = json!({ "phone": phone, "password": PASSWORD, "display_name": "匿名" });
    for expected in [201, 409] {
        let r = t
            .client
            .post(format!("{}/api/v1/accounts", t.base))
            .header("idempotency-key", "reg-1")
            .json(&reg)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), expected);
        assert!(r.headers().get("idempotent-replayed").is_none());
    }
}

async fn graceful_shutdown(t: TestApp) {
    let u = t.register_member("最后一个").await;
    // A request in flight when shutdown starts still completes.
    let slow = {
        let c = t
            .client
            .post(format!("{}/api/v1/sessions", t.base))
            .json(&json!({ "login": u.login, "password": PASSWORD }));
        tokio::spawn(async move { c.send().await.map(|r| r.status().as_u16()) })
    };
    // Wait until the server is inside the request: login records the attempt before it
    // checks the password (argon2, tens of milliseconds), so the row is the sign.
    let login = u.login.clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let key = login.clone();
        let in_flight = t
            .app
            .db
            .read(move |c| {
                c.query_one(
                    "SELECT COUNT(*) FROM login_failures WHERE login_key = $1",
                    kith_store::args![&key],
                )?
                .int(0)
            })
            .await
            .unwrap_or(0);
        if in_flight > 0 || slow.is_finished() || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let base = t.base.clone();
    t.stop().await;
    assert_eq!(slow.await.unwrap().unwrap(), 201);
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "no longer listening"
    );
}
