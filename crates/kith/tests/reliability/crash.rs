//! Crash recovery. A real `kith serve` process takes checkouts, wallet payments, shipments,
//! receipts (which settle: the shop has no after-sale window, so commission becomes
//! available at once) and refunds from concurrent clients, every order attributed to a
//! referrer who earns two-level commission, and is killed with SIGKILL at random moments, then
//! restarted on the same store. After every restart, with the clients paused:
//! - the ledger audit is clean: every journal entry balances, every kept balance equals
//!   the sum of its postings;
//! - every stock count equals its movements, and what is reserved is exactly what open
//!   orders still hold (so stock = initial − committed − reserved);
//! - no order is paid twice, and each member's wallet equals top-ups − payments + refunds;
//! - every acknowledged request's effect is there (an order answered 201 exists, a payment
//!   answered 200 is paid, a shipment is shipped, a refund is refunded).
//!
//! Clients retry a request the crash cut off with the same `Idempotency-Key`, as a real
//! client does. Kills default to 20 per engine; `KITH_CRASH_KILLS=200` runs a long one.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{Mutex, RwLock};

use crate::harness::{TestApp, User, address};

const TOP_UP_FEN: i64 = 5_000_000;
const CLIENTS: usize = 6;
/// Each client places orders as fast as the server takes them, leaving some unpaid: no
/// per-member limit.
const UNLIMITED: &[&str] = &[
    "--checkouts-per-minute",
    "0",
    "--max-unpaid-orders",
    "0",
    "--max-unpaid-units-per-sku",
    "0",
];

/// A small deterministic generator (xorshift), seeded per run and printed, so a failure
/// can be replayed with `KITH_CRASH_SEED`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What a client was told succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ack {
    Created,
    Paid,
    Shipped,
    Received,
    Refunded,
}

struct Shared {
    base: RwLock<String>,
    /// Clients hold it for reading while they work; the checker takes it for writing.
    gate: RwLock<()>,
    acks: Mutex<HashMap<String, (String, Ack)>>,
    stop: AtomicBool,
    requests: AtomicU64,
    retried: AtomicU64,
}

/// Sends one logical request until a server answers it, reusing its idempotency key
/// across crashes. Returns the status and body of the answer.
async fn send(
    shared: &Shared,
    client: &reqwest::Client,
    path: &str,
    token: &str,
    body: &Value,
    key: &str,
) -> (u16, Value) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut attempt = 0;
    loop {
        let base = shared.base.read().await.clone();
        let res = client
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(body)
            .timeout(Duration::from_secs(20))
            .send()
            .await;
        shared.requests.fetch_add(1, Ordering::Relaxed);
        if let Ok(r) = res {
            let status = r.status().as_u16();
            if let Ok(bytes) = r.bytes().await {
                let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                // 503 while starting or shutting down: try again like any client.
                if status != 503 {
                    return (status, v);
                }
            }
        }
        attempt += 1;
        if attempt == 1 {
            shared.retried.fetch_add(1, Ordering::Relaxed);
        }
        assert!(
            Instant::now() < deadline,
            "no answer to POST {path} for 120 s"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn client_loop(
    shared: Arc<Shared>,
    buyer: User,
    owner: User,
    merchant: String,
    sku: String,
    seed: u64,
) {
    let client = reqwest::Client::new();
    let mut rng = Rng(seed);
    let mut n = 0u64;
    while !shared.stop.load(Ordering::Relaxed) {
        let _working = shared.gate.read().await;
        n += 1;
        let key = |what: &str| format!("{}-{seed}-{n}-{what}", buyer.id);
        let (status, order) = send(
            &shared,
            &client,
            &format!("/api/v1/merchants/{merchant}/checkout"),
            &buyer.token,
            &json!({ "delivery": "shipping", "address": address(),
                     "items": [{ "sku_id": sku, "quantity": 1 + rng.below(2) }] }),
            &key("checkout"),
        )
        .await;
        if status != 201 {
            assert!(matches!(status, 409 | 422), "checkout: {status} {order}");
            continue;
        }
        let oid = order["id"].as_str().expect("order id").to_owned();
        let record = |ack| {
            let (shared, oid, buyer) = (shared.clone(), oid.clone(), buyer.id.clone());
            async move {
                shared.acks.lock().await.insert(oid, (buyer, ack));
            }
        };
        record(Ack::Created).await;
        if rng.below(5) == 0 {
            continue; // left unpaid
        }
        let (status, body) = send(
            &shared,
            &client,
            &format!("/api/v1/orders/{oid}/pay"),
            &buyer.token,
            &json!({ "provider": "wallet" }),
            &key("pay"),
        )
        .await;
        match status {
            200 => record(Ack::Paid).await,
            // A retry whose first attempt committed before the kill but whose stored
            // answer did not survive: the order is paid, the client was never told.
            409 => continue,
            _ => panic!("pay: {status} {body}"),
        }
        let (path, body, ack) = match rng.below(3) {
            0 => (
                format!("/api/v1/merchants/{merchant}/orders/{oid}/ship"),
                json!({ "carrier": "sandbox", "tracking_no": format!("SBX{n:07}") }),
                Ack::Shipped,
            ),
            1 => (
                format!("/api/v1/merchants/{merchant}/orders/{oid}/refunds"),
                json!({ "reason": "崩溃测试退款" }),
                Ack::Refunded,
            ),
            _ => continue,
        };
        let (status, answer) =
            send(&shared, &client, &path, &owner.token, &body, &key("after")).await;
        match status {
            200 | 201 => record(ack).await,
            409 => continue,
            _ => panic!("{path}: {status} {answer}"),
        }
        if ack == Ack::Shipped && rng.below(2) == 0 {
            let (status, answer) = send(
                &shared,
                &client,
                &format!("/api/v1/orders/{oid}/confirm-receipt"),
                &buyer.token,
                &json!({}),
                &key("receipt"),
            )
            .await;
            match status {
                200 => record(Ack::Received).await,
                409 => {}
                _ => panic!("confirm-receipt: {status} {answer}"),
            }
        }
    }
}

/// Every invariant of the module doc, read from storage in one read transaction.
async fn check(t: &TestApp, acks: &HashMap<String, (String, Ack)>, members: &[User]) {
    let audit = t
        .app
        .db
        .read(|c| kith_app::money::ledger::audit(c))
        .await
        .expect("audit");
    assert!(audit.is_clean(), "ledger audit after restart: {audit:?}");

    let acks = acks.clone();
    let member_ids: Vec<String> = members.iter().map(|m| m.id.clone()).collect();
    t.app
        .db
        .read(move |c| {
            // Stock: counts equal their movements.
            for r in c.query(
                "SELECT s.sku_id, s.location_id, s.on_hand, s.reserved,
                        CAST(COALESCE((SELECT SUM(m.on_hand_delta) FROM stock_movements m WHERE m.sku_id = s.sku_id AND m.location_id = s.location_id), 0) AS BIGINT),
                        CAST(COALESCE((SELECT SUM(m.reserved_delta) FROM stock_movements m WHERE m.sku_id = s.sku_id AND m.location_id = s.location_id), 0) AS BIGINT)
                 FROM stock s",
                &[],
            )? {
                let (on_hand, reserved) = (r.int(2)?, r.int(3)?);
                assert_eq!(on_hand, r.int(4)?, "on_hand of {} vs its movements", r.text(0)?);
                assert_eq!(reserved, r.int(5)?, "reserved of {} vs its movements", r.text(0)?);
            }
            // What each order still reserves is what an open order holds, and nothing
            // once it has shipped, been cancelled or been refunded.
            for r in c.query(
                "SELECT o.id, o.status,
                        CAST(COALESCE((SELECT SUM(m.reserved_delta) FROM stock_movements m WHERE m.order_id = o.id), 0) AS BIGINT),
                        CAST((SELECT SUM(l.quantity - l.refunded_quantity) FROM order_lines l WHERE l.order_id = o.id) AS BIGINT)
                 FROM orders o",
                &[],
            )? {
                let (id, status, held, remaining) = (r.text(0)?, r.text(1)?, r.int(2)?, r.int(3)?);
                let open = matches!(status.as_str(), "pending_payment" | "paid" | "fulfilling");
                assert_eq!(held, if open { remaining } else { 0 }, "order {id} ({status}) holds {held}");
            }
            // No order paid twice; amounts within bounds.
            let twice = c.query(
                "SELECT order_id FROM payments WHERE status = 'succeeded' AND order_id IS NOT NULL
                 GROUP BY order_id HAVING COUNT(*) > 1",
                &[],
            )?;
            assert!(twice.is_empty(), "orders paid twice: {}", twice.len());
            let bad = c.query(
                "SELECT id FROM orders WHERE paid_fen NOT IN (0, total_fen) OR refunded_fen > paid_fen",
                &[],
            )?;
            assert!(bad.is_empty(), "orders with impossible amounts: {}", bad.len());
            // Each wallet: top-ups − what it paid + what came back.
            for id in &member_ids {
                let r = c.query_one(
                    "SELECT CAST(COALESCE(SUM(paid_fen), 0) AS BIGINT), CAST(COALESCE(SUM(refunded_fen), 0) AS BIGINT) FROM orders WHERE buyer_id = $1",
                    kith_store::args![id],
                )?;
                let want = TOP_UP_FEN - r.int(0)? + r.int(1)?;
                let wallet = c.query_opt(
                    "SELECT balance_fen FROM ledger_accounts WHERE id = $1",
                    kith_store::args![kith_domain::ledger::accounts::member_wallet(id).unwrap().as_str()],
                )?;
                let have = wallet.map(|w| w.int(0)).transpose()?.unwrap_or(0);
                assert_eq!(have, want, "wallet of {id}");
            }
            // Every acknowledged effect is there.
            for (oid, (buyer, ack)) in &acks {
                let r = c
                    .query_opt("SELECT buyer_id, status, paid_fen, total_fen, refunded_fen FROM orders WHERE id = $1", kith_store::args![oid])?
                    .unwrap_or_else(|| panic!("acknowledged order {oid} is missing"));
                assert_eq!(&r.text(0)?, buyer);
                let status = r.text(1)?;
                match ack {
                    Ack::Created => {}
                    Ack::Paid => assert_eq!(r.int(2)?, r.int(3)?, "acknowledged payment of {oid} ({status})"),
                    Ack::Shipped => assert!(matches!(status.as_str(), "shipped" | "delivered" | "completed"), "acknowledged shipment of {oid}: {status}"),
                    Ack::Received => assert!(
                        matches!(status.as_str(), "delivered" | "completed"),
                        "acknowledged receipt of {oid}: {status}"
                    ),
                    Ack::Refunded => {
                        assert_eq!(status, "refunded", "acknowledged refund of {oid}");
                        assert_eq!(r.int(4)?, r.int(2)?);
                    }
                }
            }
            Ok::<_, kith_store::StoreError>(())
        })
        .await
        .expect("invariant queries");
}

/// Notifications after a crash: each is one its event makes (nothing extra), none twice
/// (the unique key), and every event the cursor has passed has made all of its own.
/// Returns (the cursor, the last outbox id).
async fn check_notifications(t: &TestApp) -> (i64, i64) {
    t.app
        .db
        .read(|c| {
            let cursor = c
                .query_one(
                    "SELECT last_id FROM notify_cursor WHERE name = 'notifications'",
                    &[],
                )?
                .int(0)?;
            let last = c
                .query_one("SELECT COALESCE(MAX(id), 0) FROM outbox", &[])?
                .int(0)?;
            let mut have = std::collections::HashSet::new();
            for r in c.query("SELECT outbox_id, account_id, kind FROM notifications", &[])? {
                let key = (r.int(0)?, r.text(1)?, r.text(2)?);
                assert!(have.insert(key.clone()), "notification {key:?} twice");
            }
            let mut expected = std::collections::HashSet::new();
            for r in c.query(
                "SELECT id, topic, merchant_id, payload FROM outbox ORDER BY id",
                &[],
            )? {
                let (id, topic) = (r.int(0)?, r.text(1)?);
                let payload: Value = serde_json::from_str(&r.text(3)?).unwrap();
                for m in kith_app::notify::made_from(&topic, r.opt_text(2)?.as_deref(), &payload) {
                    let key = (id, m.account_id.clone(), m.kind.as_str().to_owned());
                    if id <= cursor {
                        assert!(have.contains(&key), "event {id} ({topic}) made no {key:?}");
                    }
                    expected.insert(key);
                }
            }
            let extra: Vec<_> = have.difference(&expected).collect();
            assert!(extra.is_empty(), "notifications no event makes: {extra:?}");
            Ok::<_, kith_store::StoreError>((cursor, last))
        })
        .await
        .expect("notification queries")
}

async fn survives_sigkill(mut t: TestApp) {
    let kills: u32 = std::env::var("KITH_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("KITH_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("crash test: {kills} kills, KITH_CRASH_SEED={seed}");

    // The shop and its customers, made through the in-process server.
    let shop = t
        .shop()
        .name("崩溃测试酒坊")
        .price(12_900)
        .stock(100_000)
        .build()
        .await;
    let (owner, merchant, sku) = (shop.owner, shop.merchant, shop.sku);
    // Two levels of commission, and no after-sale window: a received order completes and
    // its commission settles (becomes available) in the same request.
    let m = |p: &str| format!("/api/v1/merchants/{merchant}{p}");
    t.put(
        &m("/commission-plan"),
        Some(&owner.token),
        json!({ "levels_bp": [1000, 500], "rebate_bp": 0, "group_buy_commission": false,
                "group_leader_bp": 0, "binding_mode": "permanent" }),
    )
    .await
    .expect(200);
    t.put(
        &m("/settings"),
        Some(&owner.token),
        json!({ "shipping_fee_fen": 0, "free_shipping_over_fen": null, "unpaid_timeout_secs": 3600,
                "auto_confirm_days": 10, "after_sale_days": 0 }),
    )
    .await
    .expect(200);
    let link = |u: &User| {
        let (t, product, token) = (&t, shop.product.clone(), u.token.clone());
        async move {
            t.post(
                "/api/v1/share-links",
                Some(&token),
                json!({ "kind": "product", "target_id": product }),
            )
            .await
            .expect(201)["code"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let upper = t.register_member("上线").await;
    let sharer = t.register_member("分享人").await;
    let upper_code = link(&upper).await;
    t.post(
        "/api/v1/me/referrers",
        Some(&sharer.token),
        json!({ "code": upper_code }),
    )
    .await
    .expect(200);
    let sharer_code = link(&sharer).await;
    let mut members = Vec::new();
    for i in 0..CLIENTS {
        let u = t.register_member(&format!("顾客{i}")).await;
        t.top_up(&u, TOP_UP_FEN).await;
        t.post(
            "/api/v1/me/referrers",
            Some(&u.token),
            json!({ "code": sharer_code }),
        )
        .await
        .expect(200);
        members.push(u);
    }
    t.halt().await;

    // Outside the store's directory, so a failure leaves the server logs to read.
    let logs = std::env::temp_dir().join(format!(
        "kith-crash-{}-{}",
        std::process::id(),
        if t.database_url().is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    ));
    eprintln!("crash test: server logs in {}", logs.display());
    std::fs::create_dir_all(&logs).unwrap();
    let mut server = t.serve_process(&logs, "0", UNLIMITED);
    let shared = Arc::new(Shared {
        base: RwLock::new(server.base.clone()),
        gate: RwLock::new(()),
        acks: Mutex::new(HashMap::new()),
        stop: AtomicBool::new(false),
        requests: AtomicU64::new(0),
        retried: AtomicU64::new(0),
    });
    let clients: Vec<_> = members
        .iter()
        .enumerate()
        .map(|(i, buyer)| {
            tokio::spawn(client_loop(
                shared.clone(),
                buyer.clone(),
                owner.clone(),
                merchant.clone(),
                sku.clone(),
                seed.wrapping_mul(i as u64 + 3) | 1,
            ))
        })
        .collect();

    let mut rng = Rng(seed);
    for run in 1..=kills {
        tokio::time::sleep(Duration::from_millis(150 + rng.below(450))).await;
        server.child.kill().expect("SIGKILL");
        let _ = server.child.wait();
        let t2 = &t;
        let logs2 = logs.clone();
        server =
            tokio::task::block_in_place(|| t2.serve_process(&logs2, &run.to_string(), UNLIMITED));
        *shared.base.write().await = server.base.clone();
        // Pause the clients (they finish the request they are retrying first) and check.
        let pause = shared.gate.write().await;
        let acks = shared.acks.lock().await.clone();
        check(&t, &acks, &members).await;
        check_notifications(&t).await;
        drop(pause);
    }
    shared.stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.expect("client");
    }
    let acks = shared.acks.lock().await.clone();
    check(&t, &acks, &members).await;
    let paid = acks.values().filter(|(_, a)| *a >= Ack::Paid).count();
    eprintln!(
        "crash test: survived {kills} SIGKILLs; {} requests ({} retried after a kill), {} orders acknowledged, {paid} paid or beyond",
        shared.requests.load(Ordering::Relaxed),
        shared.retried.load(Ordering::Relaxed),
        acks.len()
    );
    assert!(
        paid > kills as usize,
        "the load did real work between kills"
    );
    // Commission moved through its states under the kills: some settled to available.
    let (pending, available): (i64, i64) = t
        .app
        .db
        .read(|c| {
            let r = c.query_one(
                "SELECT CAST(COALESCE(SUM(CASE WHEN id LIKE '%:pending' THEN balance_fen ELSE 0 END), 0) AS BIGINT),
                        CAST(COALESCE(SUM(CASE WHEN id LIKE '%:available' THEN balance_fen ELSE 0 END), 0) AS BIGINT)
                 FROM ledger_balances WHERE id LIKE 'distributor:%'",
                &[],
            )?;
            Ok::<_, kith_store::StoreError>((r.int(0)?, r.int(1)?))
        })
        .await
        .expect("commission balances");
    let received = acks.values().filter(|(_, a)| *a == Ack::Received).count();
    // A receipt completes its order by a job the worker runs soon after (at once here: no
    // after-sale window), so receipts in the last moments, or whose job a killed server
    // had leased, may not have completed yet: the rule is about completed orders.
    let completed = t
        .app
        .db
        .read(|c| {
            c.query_one(
                "SELECT COUNT(*) FROM orders WHERE status = 'completed'",
                &[],
            )?
            .int(0)
        })
        .await
        .expect("completed orders");
    eprintln!(
        "crash test: {received} receipts, {completed} orders completed; distributors hold {pending} fen pending, {available} fen available"
    );
    assert!(
        completed == 0 || available > 0,
        "completed orders paid out commission"
    );
    assert!(pending >= 0 && available >= 0);
    server.child.kill().expect("SIGKILL");
    let _ = server.child.wait();
    // With every server gone, the notifications catch up to the last event (a hole left
    // by a transaction the kill rolled back is passed after its wait) and each event's
    // notifications exist exactly once. A server killed within the 10 s a hole is waited
    // for never passes it, so the catch-up can be most of the run's events; it passes the
    // holes of one read (500 events) per wait, so it may take several waits: the cursor
    // must move at least every 20 s, however many it takes.
    let mut seen = (0, Instant::now());
    loop {
        kith_app::notify::make_notifications(&t.app)
            .await
            .expect("make notifications");
        let (cursor, last) = check_notifications(&t).await;
        if cursor == last {
            break;
        }
        if cursor != seen.0 {
            seen = (cursor, Instant::now());
        }
        assert!(
            seen.1.elapsed() < Duration::from_secs(20),
            "the notification cursor stuck at {cursor} of {last}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let made = t
        .app
        .db
        .read(|c| {
            c.query_one("SELECT COUNT(*) FROM notifications", &[])?
                .int(0)
        })
        .await
        .expect("count");
    eprintln!("crash test: {made} notifications, each made once");
    assert!(made > 0, "orders made notifications");
    let _ = std::fs::remove_dir_all(&logs);
}

crate::both_engines!(survives_sigkill);
