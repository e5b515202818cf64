//! The ledger's pooled accounts (a merchant's pending balance, a gateway's, the platform's):
//! on PostgreSQL their balance is kept in one shard row per connection, so two payments to
//! one merchant do not queue on one row lock until the first commits; on SQLite (one
//! writer) it stays one row. Either way the balance read is the sum of the postings and
//! the audit stays clean, and a pooled account can never be guarded against overdraft.

use std::sync::mpsc;
use std::time::Duration;

use kith_app::AppError;
use kith_app::money::ledger::{self, Refs};
use kith_domain::Fen;
use kith_domain::ledger::{AccountId, EntryKind, JournalEntry, accounts};
use kith_store::{Conn, args};

use crate::harness::{Engine, TestApp};

crate::both_engines!(
    pooled_balances_add_up_and_do_not_wait_on_each_other,
    pooled_accounts_cannot_be_guarded
);

fn payment(key: &str, merchant: &str, fen: i64) -> JournalEntry {
    JournalEntry::transfer(
        key,
        EntryKind::Payment,
        accounts::external_gateway("sandbox").unwrap(),
        accounts::merchant_pending(merchant).unwrap(),
        Fen::new(fen),
    )
    .unwrap()
}

fn post(c: &mut dyn Conn, key: &str, merchant: &str, fen: i64) -> Result<(), AppError> {
    let refs = Refs {
        memo: "test payment",
        ..Default::default()
    };
    ledger::post(c, 0, &payment(key, merchant, fen), refs, &[])?;
    Ok(())
}

/// The shard rows kept for `account` and their sum.
async fn shards(t: &TestApp, account: &AccountId) -> (i64, i64) {
    let id = account.as_str().to_owned();
    t.app
        .db
        .read(move |c| {
            let r = c.query_one(
                "SELECT COUNT(*), CAST(COALESCE(SUM(balance_fen), 0) AS bigint)
                 FROM ledger_balance_shards WHERE account_id = $1",
                args![&id],
            )?;
            Ok::<_, kith_store::StoreError>((r.int(0)?, r.int(1)?))
        })
        .await
        .unwrap()
}

async fn balance(t: &TestApp, account: &AccountId) -> i64 {
    let account = account.clone();
    t.app
        .db
        .read(move |c| ledger::balance(c, &account))
        .await
        .unwrap()
}

async fn pooled_balances_add_up_and_do_not_wait_on_each_other(t: TestApp) {
    let pending = accounts::merchant_pending("m-pooled").unwrap();
    let gateway = accounts::external_gateway("sandbox").unwrap();
    // The accounts exist before the race (a first payment opens them: opening one takes
    // its key, which a second opener of the same account would wait for).
    t.app
        .db
        .write(|c| post(c, "pay:0", "m-pooled", 1_000))
        .await
        .unwrap();

    if t.engine == Engine::Postgres {
        // A pays and, before committing, waits for B to pay to the same merchant and
        // commit. With one balance row B would wait for A's row lock and A for B: A gives
        // up after 20 s and the story fails.
        let (posted_tx, posted_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let done_rx = std::sync::Arc::new(std::sync::Mutex::new(done_rx));
        let a = {
            let db = t.app.db.clone();
            let done_rx = done_rx.clone();
            tokio::spawn(async move {
                db.write(move |c| {
                    post(c, "pay:a", "m-pooled", 250)?;
                    // Sent with the next statement: make it reach the server now.
                    c.query("SELECT 1", args![])?;
                    let _ = posted_tx.send(());
                    let b_committed = done_rx
                        .lock()
                        .unwrap()
                        .recv_timeout(Duration::from_secs(20))
                        .is_ok();
                    Ok::<_, AppError>(b_committed)
                })
                .await
                .unwrap()
            })
        };
        let b = {
            let db = t.app.db.clone();
            tokio::spawn(async move {
                tokio::task::spawn_blocking(move || {
                    posted_rx.recv_timeout(Duration::from_secs(20))
                })
                .await
                .unwrap()
                .expect("A posted");
                db.write(|c| post(c, "pay:b", "m-pooled", 4_000))
                    .await
                    .unwrap();
                let _ = done_tx.send(());
            })
        };
        b.await.unwrap();
        assert!(
            a.await.unwrap(),
            "B's payment to the same merchant committed while A's was open"
        );
        let (rows, sum) = shards(&t, &pending).await;
        assert!(rows >= 2, "A and B added to different rows: {rows}");
        assert_eq!(sum, 5_250, "every payment is in a shard");
        let (_, gateway_sum) = shards(&t, &gateway).await;
        assert_eq!(gateway_sum, -5_250);
    } else {
        t.app
            .db
            .write(|c| {
                post(c, "pay:a", "m-pooled", 250)?;
                post(c, "pay:b", "m-pooled", 4_000)
            })
            .await
            .unwrap();
        assert_eq!(
            shards(&t, &pending).await,
            (0, 0),
            "one writer: the balance stays one row"
        );
    }

    assert_eq!(balance(&t, &pending).await, 5_250);
    assert_eq!(balance(&t, &gateway).await, -5_250);
    // Posted again under its key: no second effect, on either row.
    t.app
        .db
        .write(|c| post(c, "pay:b", "m-pooled", 4_000))
        .await
        .unwrap();
    assert_eq!(balance(&t, &pending).await, 5_250);
    let audit = t.app.db.read(|c| ledger::audit(c)).await.unwrap();
    assert!(audit.is_clean(), "{audit:?}");
    assert_eq!(audit.entries, 3);
}

async fn pooled_accounts_cannot_be_guarded(t: TestApp) {
    let pending = accounts::merchant_pending("m-guard").unwrap();
    let gateway = accounts::external_gateway("sandbox").unwrap();
    let err = t
        .app
        .db
        .write(move |c| {
            let entry = payment("pay:guarded", "m-guard", 100);
            ledger::post(c, 0, &entry, Refs::default(), &[(&gateway, "amount_fen")])
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AppError::Internal(m) if m.contains("pooled")),
        "{err:?}"
    );
    // Nothing of it was written.
    assert_eq!(balance(&t, &pending).await, 0);
    let audit = t.app.db.read(|c| ledger::audit(c)).await.unwrap();
    assert_eq!(audit.entries, 0);
}
