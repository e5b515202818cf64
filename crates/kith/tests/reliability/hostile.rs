//! Hostile callbacks against a real `kith serve` process: for every payment and every
//! shipment, the genuine gateway or carrier event is delivered several times (some at
//! once), out of order with a contrary event, and surrounded by forgeries — a stale
//! signature, one made with the secret the server used before (rotated out), a tampered
//! body under a genuine signature, and garbage. Afterwards: no double effect (each order
//! paid at most once and delivered once, the ledger audit clean), every forgery answered
//! 401, and every refusal in the server's log.

use serde_json::{Value, json};

use crate::harness::{TestApp, address};

const NEW_SECRET: &str = "rotated-sandbox-secret-2026-11";
const PAYMENTS: usize = 16;

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// One callback as it goes over the wire.
#[derive(Clone)]
struct Wire {
    path: String,
    body: Vec<u8>,
    signature: String,
    /// What the server must answer: `Some(401)` for a forgery, `None` for genuine ones.
    forged: bool,
}

fn genuine(path: &str, body: &Value) -> Wire {
    let bytes = serde_json::to_vec(body).unwrap();
    Wire {
        path: path.to_owned(),
        signature: kith_domain::signature::sign(NEW_SECRET.as_bytes(), now_secs(), &bytes),
        body: bytes,
        forged: false,
    }
}

/// The four forgeries of a genuine callback.
fn forgeries(path: &str, body: &Value, old_secret: &str, tamper: impl Fn(&mut Value)) -> Vec<Wire> {
    let bytes = serde_json::to_vec(body).unwrap();
    let mut changed = body.clone();
    tamper(&mut changed);
    let forged = |body: Vec<u8>, signature: String| Wire {
        path: path.to_owned(),
        body,
        signature,
        forged: true,
    };
    vec![
        // Captured an hour ago and replayed.
        forged(
            bytes.clone(),
            kith_domain::signature::sign(NEW_SECRET.as_bytes(), now_secs() - 3600, &bytes),
        ),
        // Signed with the secret before the rotation.
        forged(
            bytes.clone(),
            kith_domain::signature::sign(old_secret.as_bytes(), now_secs(), &bytes),
        ),
        // A genuine signature over a different body.
        forged(
            serde_json::to_vec(&changed).unwrap(),
            kith_domain::signature::sign(NEW_SECRET.as_bytes(), now_secs(), &bytes),
        ),
        forged(bytes, "t=1,v1=0123456789abcdef".to_owned()),
    ]
}

async fn deliver(client: &reqwest::Client, base: &str, w: &Wire) -> (u16, Value) {
    let r = client
        .post(format!("{base}{}", w.path))
        .header("content-type", "application/json")
        .header("kith-signature", &w.signature)
        .body(w.body.clone())
        .send()
        .await
        .expect("callback");
    let status = r.status().as_u16();
    let body = r.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// Delivers everything, shuffled deterministically, eight at a time; returns the answers
/// in the order of `wires`.
async fn storm(base: &str, wires: &[Wire], seed: u64) -> Vec<(u16, Value)> {
    let client = reqwest::Client::new();
    let mut order: Vec<usize> = (0..wires.len()).collect();
    let mut x = seed | 1;
    for i in (1..order.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        order.swap(i, (x % (i as u64 + 1)) as usize);
    }
    let mut answers = vec![(0, Value::Null); wires.len()];
    for chunk in order.chunks(8) {
        let sent = chunk.iter().map(|&i| {
            let (client, base, w) = (client.clone(), base.to_owned(), wires[i].clone());
            tokio::spawn(async move { (i, deliver(&client, &base, &w).await) })
        });
        for h in sent.collect::<Vec<_>>() {
            let (i, a) = h.await.unwrap();
            answers[i] = a;
        }
    }
    answers
}

fn count_lines(log: &std::path::Path, needle: &str) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

async fn hostile_callbacks_have_no_double_effect(mut t: TestApp) {
    let old_secret = t.app.config.sandbox_secret.clone();
    let shop = t
        .shop()
        .name("回调风暴")
        .price(8_800)
        .stock(1000)
        .build()
        .await;
    let (owner, merchant, sku) = (shop.owner, shop.merchant, shop.sku);
    let m = |p: &str| format!("/api/v1/merchants/{merchant}{p}");
    // Orders waiting at the gateway, four buyers' (a member may leave only so many unpaid
    // at one shop).
    let mut buyers = Vec::new();
    for i in 0..4 {
        buyers.push(t.register_member(&format!("风暴买家{i}")).await);
    }
    let mut pending = Vec::new();
    for n in 0..PAYMENTS {
        let buyer = &buyers[n % buyers.len()];
        let o = t
            .post(&m("/checkout"), Some(&buyer.token), json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": sku, "quantity": 1 }] }))
            .await
            .expect(201);
        let oid = o["id"].as_str().unwrap().to_owned();
        let pay = t
            .post(
                &format!("/api/v1/orders/{oid}/pay"),
                Some(&buyer.token),
                json!({ "provider": "sandbox" }),
            )
            .await
            .expect(200);
        pending.push((
            oid,
            pay["payment"]["id"].as_str().unwrap().to_owned(),
            pay["payment"]["amount_fen"].as_i64().unwrap(),
        ));
    }
    t.halt().await;
    let logs = std::env::temp_dir().join(format!(
        "kith-hostile-{}-{}",
        std::process::id(),
        if t.database_url().is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    ));
    std::fs::create_dir_all(&logs).unwrap();
    let server = t.serve_process(&logs, "0", &["--sandbox-secret", NEW_SECRET]);
    let base = server.base.clone();

    // Payments: the success 1–3 times, a contrary `failed` (before the success for every
    // fourth payment), and the four forgeries.
    let cb = "/api/v1/payments/sandbox/callback";
    let mut wires = Vec::new();
    let mut owner_of = Vec::new();
    for (i, (_, payment, amount)) in pending.iter().enumerate() {
        let ok = json!({ "event_id": format!("evt-{i}-ok"), "payment_id": payment, "status": "succeeded", "amount_fen": amount });
        let failed = json!({ "event_id": format!("evt-{i}-failed"), "payment_id": payment, "status": "failed", "amount_fen": amount });
        if i % 4 == 0 {
            let (status, _) = deliver(&reqwest::Client::new(), &base, &genuine(cb, &failed)).await;
            assert_eq!(status, 200);
        } else {
            wires.push(genuine(cb, &failed));
            owner_of.push(i);
        }
        for _ in 0..=(i % 3) {
            wires.push(genuine(cb, &ok));
            owner_of.push(i);
        }
        for f in forgeries(cb, &ok, &old_secret, |v| v["amount_fen"] = json!(1)) {
            wires.push(f);
            owner_of.push(i);
        }
    }
    let answers = storm(&base, &wires, 0x5eed).await;
    let mut applied = [0; PAYMENTS];
    let mut refused = 0;
    for ((w, (status, body)), &i) in wires.iter().zip(&answers).zip(&owner_of) {
        if w.forged {
            assert_eq!(*status, 401, "a forged payment callback: {body}");
            refused += 1;
        } else {
            assert_eq!(*status, 200, "a genuine payment callback: {body}");
            if body["outcome"] == "applied" {
                applied[i] += 1;
            }
        }
    }
    let app = t.app.clone();
    let audit = app
        .db
        .read(|c| kith_app::money::ledger::audit(c))
        .await
        .unwrap();
    assert!(audit.is_clean(), "{audit:?}");
    let mut paid_orders = Vec::new();
    for (i, (oid, payment, amount)) in pending.iter().enumerate() {
        let (p, o) = (payment.clone(), oid.clone());
        let (payment_status, order_status, paid_fen) = app
            .db
            .read(move |c| {
                let pay = c.query_one(
                    "SELECT status FROM payments WHERE id = $1",
                    kith_store::args![&p],
                )?;
                let ord = c.query_one(
                    "SELECT status, paid_fen FROM orders WHERE id = $1",
                    kith_store::args![&o],
                )?;
                Ok::<_, kith_store::StoreError>((pay.text(0)?, ord.text(0)?, ord.int(1)?))
            })
            .await
            .unwrap();
        assert!(applied[i] <= 1, "payment {i} applied {} times", applied[i]);
        if payment_status == "succeeded" {
            assert_eq!(applied[i], 1, "payment {i}");
            assert_eq!(
                (order_status.as_str(), paid_fen),
                ("fulfilling", *amount),
                "order {i}"
            );
            paid_orders.push(oid.clone());
        } else {
            // A failure the gateway reported first stands; the later success is not
            // applied a second way.
            assert_eq!(i % 4, 0, "payment {i} ended {payment_status}");
            assert_eq!(paid_fen, 0, "order {i}");
        }
    }
    assert!(paid_orders.len() >= PAYMENTS * 3 / 4);
    let twice = app
        .db
        .read(|c| c.query("SELECT order_id FROM payments WHERE status = 'succeeded' GROUP BY order_id HAVING COUNT(*) > 1", &[]))
        .await
        .unwrap();
    assert!(twice.is_empty());
    let logged = count_lines(&server.log, "refused payment callback");
    assert_eq!(
        logged,
        refused,
        "every refusal logged ({})",
        server.log.display()
    );
    let (payment_calls, payment_refusals) = (wires.len() + PAYMENTS / 4, refused);

    // Shipments: `delivered` twice (at once), an `in_transit` that arrives after it, and
    // the forgeries.
    let client = reqwest::Client::new();
    for (n, oid) in paid_orders.iter().enumerate() {
        let r = client
            .post(format!(
                "{base}/api/v1/merchants/{merchant}/orders/{oid}/ship"
            ))
            .bearer_auth(&owner.token)
            .json(&json!({ "carrier": "sandbox", "tracking_no": format!("SBXH{n:06}") }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }
    let cb = "/api/v1/carriers/sandbox/callback";
    let mut wires = Vec::new();
    for n in 0..paid_orders.len() {
        let delivered = json!({ "event_id": format!("trk-{n}-d"), "tracking_no": format!("SBXH{n:06}"), "status": "delivered", "occurred_at": now_secs() * 1000 });
        let transit = json!({ "event_id": format!("trk-{n}-t"), "tracking_no": format!("SBXH{n:06}"), "status": "in_transit", "occurred_at": now_secs() * 1000 - 60_000 });
        wires.push(genuine(cb, &delivered));
        wires.push(genuine(cb, &delivered));
        wires.extend(forgeries(cb, &delivered, &old_secret, |v| {
            v["tracking_no"] = json!("SBX-OTHER")
        }));
        let (status, _) = deliver(&client, &base, &genuine(cb, &delivered)).await;
        assert_eq!(status, 200);
        wires.push(genuine(cb, &transit));
    }
    let answers = storm(&base, &wires, 0xca771e5).await;
    let mut refused = 0;
    for (w, (status, body)) in wires.iter().zip(&answers) {
        if w.forged {
            assert_eq!(*status, 401, "a forged carrier callback: {body}");
            refused += 1;
        } else {
            assert_eq!(*status, 200, "a genuine carrier callback: {body}");
            assert_ne!(
                body["outcome"], "delivered",
                "delivered once, before the storm: {body}"
            );
        }
    }
    for oid in &paid_orders {
        let o = oid.clone();
        let (status, times) = app
            .db
            .read(move |c| {
                let s = c.query_one("SELECT status FROM orders WHERE id = $1", kith_store::args![&o])?;
                let n = c.query_one(
                    "SELECT COUNT(*) FROM order_events WHERE order_id = $1 AND to_status = 'delivered'",
                    kith_store::args![&o],
                )?;
                Ok::<_, kith_store::StoreError>((s.text(0)?, n.int(0)?))
            })
            .await
            .unwrap();
        assert_eq!((status.as_str(), times), ("delivered", 1), "order {oid}");
    }
    let logged = count_lines(&server.log, "refused carrier callback");
    assert_eq!(
        logged,
        refused,
        "every refusal logged ({})",
        server.log.display()
    );
    let audit = app
        .db
        .read(|c| kith_app::money::ledger::audit(c))
        .await
        .unwrap();
    assert!(audit.is_clean(), "{audit:?}");
    eprintln!(
        "hostile callbacks: {payment_calls} payment callbacks ({payment_refusals} forged) and {} carrier callbacks ({refused} forged); every forgery refused and logged, no double effect",
        wires.len() + paid_orders.len()
    );
    let mut server = server;
    server.child.kill().unwrap();
    let _ = server.child.wait();
    let _ = std::fs::remove_dir_all(&logs);
}

crate::both_engines!(hostile_callbacks_have_no_double_effect);

/// One hostile path: (method, route template, path sent, token, body, 404 detail, field).
type PathCase<'a> = (
    &'a str,
    &'a str,
    String,
    Option<&'a str>,
    Option<Value>,
    &'a str,
    Option<&'a str>,
);

/// Hostile paths: an id that is not a UUID, and a segment that is not even UTF-8 once
/// percent-decoded (`%FF%FE`), answer the 404 problem document the operation documents —
/// naming the object, or the parameter when it is not an id — before anything is looked
/// up; authentication is still asked first.
async fn hostile_paths_are_problem_documents(t: TestApp) {
    let shop = t.shop().name("路径").price(1_000).stock(10).build().await;
    let (owner, merchant) = (shop.owner, shop.merchant);
    let member = t.register_member("路人").await;
    let doc = t.get("/api/openapi.json", None).await.expect(200);
    let ship = json!({ "carrier": "sandbox", "tracking_no": "SB1" });
    #[rustfmt::skip]
    let cases: Vec<PathCase<'_>> = vec![
        // (method, template, path, token, body, detail, field)
        ("get", "/api/v1/merchants/{merchant_id}", "/api/v1/merchants/not-a-uuid".into(), None, None, "merchant not found", None),
        ("get", "/api/v1/merchants/{merchant_id}", "/api/v1/merchants/%FF%FE".into(), None, None, "merchant not found", None),
        ("get", "/api/v1/orders/{order_id}", "/api/v1/orders/not-a-uuid".into(), Some(&member.token), None, "order not found", None),
        ("get", "/api/v1/orders/{order_id}", "/api/v1/orders/%FF%FE".into(), Some(&member.token), None, "order not found", None),
        ("post", "/api/v1/merchants/{merchant_id}/orders/{order_id}/ship",
            format!("/api/v1/merchants/{merchant}/orders/%FF%FE/ship"), Some(&owner.token), Some(ship.clone()), "order not found", None),
        ("post", "/api/v1/merchants/{merchant_id}/orders/{order_id}/ship",
            "/api/v1/merchants/not-a-uuid/orders/%FF%FE/ship".into(), Some(&owner.token), Some(ship.clone()), "merchant not found", None),
        ("post", "/api/v1/s/{code}/visits", "/api/v1/s/%FF%FE/visits".into(), None, Some(json!({})), "code not found", Some("code")),
    ];
    for (method, template, path, token, body, detail, field) in cases {
        assert!(
            doc["paths"][template][method]["responses"]["404"].is_object(),
            "{method} {template} documents its 404"
        );
        let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let p = t.request(m, &path, token, body).await.problem(404, field);
        assert_eq!(p["type"], "/problems/not-found", "{method} {path}: {p}");
        assert_eq!(p["title"], "Not found", "{method} {path}: {p}");
        assert_eq!(p["detail"], detail, "{method} {path}: {p}");
    }
    // The document says what an id is.
    let params = &doc["paths"]["/api/v1/orders/{order_id}"]["get"]["parameters"];
    assert_eq!(params[0]["name"], "order_id");
    assert_eq!(params[0]["schema"]["format"], "uuid");
    // Who is asking is settled before what they ask about.
    t.get("/api/v1/orders/%FF%FE", None)
        .await
        .problem(401, None);
}

crate::both_engines!(hostile_paths_are_problem_documents);
