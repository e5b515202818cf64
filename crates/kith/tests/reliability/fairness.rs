//! Fair background work (issue 17, item 1): one merchant's webhook receiver that accepts
//! connections and never answers, under a steady stream of that merchant's events, must
//! not delay another merchant's order timer. The server runs its real background worker
//! (`--workers`), on both engines; the manual clock only makes the timer due.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Engine, TestApp, address};

/// How long the other merchant's timer may take once due. Without fairness it waits for
/// the hung deliveries' timeout (10 s) at least, and longer as the backlog grows.
const TIMER_BOUND: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_receiver_does_not_delay_another_merchants_timer_sqlite() {
    if let Some(t) = TestApp::spawn_with(Engine::Sqlite, |a| a.workers = Some(true)).await {
        a_hung_receiver_does_not_delay_another_merchants_timer(t).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_receiver_does_not_delay_another_merchants_timer_postgres() {
    if let Some(t) = TestApp::spawn_with(Engine::Postgres, |a| a.workers = Some(true)).await {
        a_hung_receiver_does_not_delay_another_merchants_timer(t).await;
    }
}

/// A receiver that accepts every connection and never answers, holding the sockets open
/// until it is dropped.
struct Hung {
    url: String,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Hung {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hooks", listener.local_addr().expect("addr"));
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((sock, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                held.push(sock);
            }
        });
        Self {
            url,
            accepted,
            task,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Hung {
    fn drop(&mut self) {
        // Dropping the task drops the held sockets: the hung requests end at once.
        self.task.abort();
    }
}

async fn a_hung_receiver_does_not_delay_another_merchants_timer(t: TestApp) {
    // Merchant A: every store event goes to a receiver that never answers.
    let (owner_a, mid_a) = t.approved_merchant("卡死的接收端").await;
    let hung = Hung::start().await;
    t.post(
        &format!("/api/v1/merchants/{mid_a}/webhooks"),
        Some(&owner_a.token),
        json!({ "url": hung.url, "topics": ["store.*"] }),
    )
    .await
    .expect(201);

    // Merchant B: an unpaid order whose payment deadline (30 min) will come due.
    let shop_b = t
        .shop()
        .name("准时的商家")
        .price(1000)
        .stock(10)
        .build()
        .await;
    let buyer = t.register_member("买家").await;
    let order = t
        .post(
            &format!("/api/v1/merchants/{}/checkout", shop_b.merchant),
            Some(&buyer.token),
            json!({ "delivery": "shipping", "address": address(),
                    "items": [{ "sku_id": shop_b.sku, "quantity": 1 }] }),
        )
        .await
        .expect(201);
    let order_path = format!("/api/v1/orders/{}", order["id"].as_str().expect("id"));

    // Load: about ten of A's events a second, for the rest of the story.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (client, base, token, mid) = (
            t.client.clone(),
            t.base.clone(),
            owner_a.token.clone(),
            mid_a.clone(),
        );
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let created = client
                    .post(format!("{base}/api/v1/merchants/{mid}/stores"))
                    .bearer_auth(&token)
                    .json(&json!({ "name": format!("分店{n}"), "address": "贵州省贵阳市云岩区中华北路 1 号",
                                   "latitude": 26.58, "longitude": 106.71 }))
                    .send()
                    .await
                    .expect("create a store");
                assert_eq!(created.status().as_u16(), 201);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            n
        })
    };

    // Wait until A's deliveries are hanging, with a backlog behind them.
    let waiting = Instant::now();
    while hung.accepted() == 0 {
        assert!(
            waiting.elapsed() < Duration::from_secs(20),
            "no delivery reached the receiver"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Only the per-endpoint limit of A's deliveries is in flight (4 by default), the rest
    // queued behind them; the first ones hang in their 10 s timeout.
    assert!(hung.accepted() <= 4, "{} connections", hung.accepted());
    assert_eq!(
        t.get(&order_path, Some(&buyer.token)).await.expect(200)["status"],
        "pending_payment"
    );

    // B's deadline passes: the worker must cancel the order within the bound, while A's
    // deliveries still hang.
    t.clock.advance_secs(31 * 60);
    let due = Instant::now();
    loop {
        let o = t.get(&order_path, Some(&buyer.token)).await.expect(200);
        if o["status"] == "cancelled" {
            break;
        }
        assert!(
            due.elapsed() < TIMER_BOUND,
            "B's unpaid order was still {} {:?} after its deadline, behind A's hung deliveries \
             ({} connections held)",
            o["status"],
            due.elapsed(),
            hung.accepted()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = due.elapsed();
    // (Moving the manual clock 31 minutes also expired the hung deliveries' leases, so
    // A's lane may have taken more of them since; real time never jumps like that.)
    eprintln!(
        "B's order cancelled {took:?} after its deadline; A's receiver holds {} connections",
        hung.accepted()
    );

    stop.store(true, Ordering::SeqCst);
    let sent = load.await.expect("load task");
    assert!(sent >= 20, "only {sent} events of load");
    drop(hung);
    t.stop().await;
}
