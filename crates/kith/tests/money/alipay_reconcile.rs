//! Reconciliation (对账) against the local Alipay gateway's trade bills, on both engines.
//!
//! The local gateway (tests/money/alipay.rs) answers
//! `alipay.data.dataservice.bill.downloadurl.query` with a signed `bill_download_url` and
//! serves, at that URL, a zip of two GBK CSV files in Alipay's format (`#` comment lines,
//! a header row, padded fields; 业务明细 and 业务明细(汇总)), built here from the payments
//! the story made. One bill plants a difference of each kind; a clean bill matches; an
//! answer not signed by Alipay, a URL on another host and a malformed amount are each
//! refused and never stored; the daily chain started when the credentials were saved.

use kith_app::rails::alipay::bill::{ACCOUNT_COLUMNS, COLUMNS, zip};
use kith_app::rails::alipay::protocol;
use serde_json::{Value, json};

use crate::alipay::{
    APP_A, APP_P, BillSpoil, Shared, credentials, notify, shop_with_order, signed, spawn, trade,
};
use crate::harness::{Engine, TestApp, User, address};
use crate::reconcile::beijing_date;
use crate::worlds::{audit_clean, earn_available};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_reconciliation_sqlite() {
    let (t, gw) = spawn(Engine::Sqlite).await.expect("spawn");
    story(t, gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_reconciliation_postgres() {
    if let Some((t, gw)) = spawn(Engine::Postgres).await {
        story(t, gw).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_payout_reconciliation_sqlite() {
    let (t, gw) = spawn(Engine::Sqlite).await.expect("spawn");
    payouts(t, gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_payout_reconciliation_postgres() {
    if let Some((t, gw)) = spawn(Engine::Postgres).await {
        payouts(t, gw).await;
    }
}

/// One 业务明细 row: every column, each field padded as Alipay pads them.
fn row(values: &[(&str, &str)]) -> String {
    COLUMNS
        .iter()
        .map(|c| {
            let v = values.iter().find(|(n, _)| n == c).map_or("", |(_, v)| *v);
            format!("{v}\t")
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn paid_row(out_trade_no: &str, amount: &str) -> String {
    row(&[
        ("支付宝交易号", &format!("2026120422001{out_trade_no}")),
        ("商户订单号", out_trade_no),
        ("业务类型", "交易"),
        ("商品名称", "kith 订单"),
        ("创建时间", "2026-12-04 19:59:50"),
        ("完成时间", "2026-12-04 20:00:04"),
        ("对方账户", "159****5620"),
        ("订单金额（元）", amount),
        ("商家实收（元）", amount),
        ("服务费（元）", "-0.14"),
    ])
}

/// The day's bill as Alipay packs it: a zip (GBK names) of the 业务明细 and its 汇总, GBK.
fn bill_zip(rows: &[String]) -> Vec<u8> {
    let gbk = |s: &str| encoding_rs::GBK.encode(s).0.into_owned();
    let mut lines = vec![
        "#支付宝业务明细查询".to_owned(),
        "#账号:[20880000000001010156]".into(),
        "#起始日期:[2026年12月04日 00:00:00]   终止日期:[2026年12月05日 00:00:00]".into(),
        "#-----------------------------------------业务明细列表----------------------------------------".into(),
        COLUMNS.join(","),
    ];
    lines.extend(rows.iter().cloned());
    lines.extend([
        "#-----------------------------------------业务明细列表结束------------------------------------".to_owned(),
        "#交易合计：0笔，商家实收共0.00元，支付宝优惠共0.00元，服务费共0.00元".into(),
        "#导出时间：[2026年12月05日 10:00:00]".into(),
    ]);
    let details = gbk(&lines.join("\r\n"));
    // The summary's rows would read as details if kith took the wrong file.
    let summary = gbk(&format!(
        "#支付宝业务汇总查询\r\n{}\r\n{}\r\n",
        COLUMNS.join(","),
        paid_row("SUMMARY-NOT-A-LINE", "999.00")
    ));
    zip(&[
        (
            &gbk("20880000000001010156_20261204_业务明细(汇总).csv"),
            &summary,
            true,
        ),
        (
            &gbk("20880000000001010156_20261204_业务明细.csv"),
            &details,
            true,
        ),
    ])
}

/// Pays an order through Alipay (QR + the signed notification): the payment id and amount.
async fn pay(t: &TestApp, merchant: &str, buyer: &User, oid: &str) -> (String, i64) {
    let p = t
        .post(
            &format!("/api/v1/orders/{oid}/pay"),
            Some(&buyer.token),
            json!({ "provider": "alipay", "alipay_mode": "qr" }),
        )
        .await
        .expect(200);
    let pid = p["payment"]["id"].as_str().unwrap().to_owned();
    let amount = p["payment"]["amount_fen"].as_i64().unwrap();
    let (status, body) = notify(
        t,
        merchant,
        signed(trade(
            APP_A,
            &pid.replace('-', ""),
            "TRADE_SUCCESS",
            &protocol::yuan(amount),
        )),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "success"));
    (pid, amount)
}

fn diffs(run: &Value) -> Vec<(String, String, String, Value, Value)> {
    run["mismatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["kind"].as_str().unwrap().to_owned(),
                m["entry"].as_str().unwrap().to_owned(),
                m["reference"].as_str().unwrap().to_owned(),
                m["provider_fen"].clone(),
                m["kith_fen"].clone(),
            )
        })
        .collect()
}

async fn story(t: TestApp, gw: Shared) {
    let (s, buyer, first) = shop_with_order(&t, "支付宝对账铺", 2_300, APP_A).await;
    let mut orders = vec![first];
    for _ in 0..2 {
        let o = t
            .post(
                &format!("/api/v1/merchants/{}/checkout", s.merchant),
                Some(&buyer.token),
                json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": s.sku, "quantity": 1 }] }),
            )
            .await
            .expect(201);
        orders.push(o["id"].as_str().unwrap().to_owned());
    }
    let mut paid = Vec::new();
    for oid in &orders {
        paid.push(pay(&t, &s.merchant, &buyer, oid).await);
    }
    let today = beijing_date(t.app.now_ms());
    let no = |pid: &str| pid.replace('-', "");
    // Alipay's bill: the first payment as kith has it, the second for 1 fen less, the
    // third missing, a payment kith never saw, a refund kith never asked for (written
    // negative, as Alipay does), and a line of another business type (not money of a
    // trade, so not a line).
    let stranger = "0190d6e800007000800000000000cafe";
    let planted = vec![
        paid_row(&no(&paid[0].0), &protocol::yuan(paid[0].1)),
        paid_row(&no(&paid[1].0), &protocol::yuan(paid[1].1 - 1)),
        paid_row(stranger, "1.00"),
        row(&[
            ("支付宝交易号", &format!("2026120422001{}", no(&paid[0].0))),
            ("商户订单号", &no(&paid[0].0)),
            ("业务类型", "退款"),
            ("订单金额（元）", "-5.00"),
            ("商家实收（元）", "-5.00"),
            ("退款批次号/请求号", "R-NOT-KITHS"),
        ]),
        row(&[
            ("商户订单号", "FROZEN-1"),
            ("业务类型", "冻结"),
            ("订单金额（元）", "3.00"),
        ]),
    ];
    gw.lock()
        .unwrap()
        .bills
        .insert(today.clone(), bill_zip(&planted));

    let url = format!("/api/v1/merchants/{}/reconciliations", s.merchant);
    let body = |date: &str| json!({ "provider": "alipay", "date": date });
    // Only the merchant's owner runs it.
    t.post(&url, Some(&buyer.token), body(&today))
        .await
        .problem(403, None);
    // WeChat Pay is not set up here: named as such.
    t.post(
        &url,
        Some(&s.owner.token),
        json!({ "provider": "wechat", "date": today }),
    )
    .await
    .problem(409, None);

    let run = t
        .post(&url, Some(&s.owner.token), body(&today))
        .await
        .expect(200);
    assert_eq!(run["provider"], "alipay");
    assert_eq!(run["status"], "mismatched", "{run}");
    assert_eq!(run["provider_lines"], 4, "{run}");
    assert_eq!(run["kith_lines"], 3);
    assert_eq!(run["matched"], 1);
    assert_eq!(run["kith_total_fen"], paid.iter().map(|p| p.1).sum::<i64>());
    let want = vec![
        (
            "amount_differs".to_owned(),
            "payment".to_owned(),
            paid[1].0.clone(),
            json!(paid[1].1 - 1),
            json!(paid[1].1),
        ),
        (
            "missing_at_provider".to_owned(),
            "payment".to_owned(),
            paid[2].0.clone(),
            Value::Null,
            json!(paid[2].1),
        ),
        (
            "missing_in_kith".to_owned(),
            "payment".to_owned(),
            "0190d6e8-0000-7000-8000-00000000cafe".to_owned(),
            json!(100),
            Value::Null,
        ),
        (
            "missing_in_kith".to_owned(),
            "refund".to_owned(),
            "R-NOT-KITHS".to_owned(),
            json!(500),
            Value::Null,
        ),
    ];
    let mut want = want;
    want.sort_by(|a, b| (a.1 == "refund", &a.2).cmp(&(b.1 == "refund", &b.2)));
    assert_eq!(diffs(&run), want, "{run}");
    let events = |t: &TestApp| {
        let db = t.app.db.clone();
        async move {
            db.read(|c| {
                c.query_one(
                    "SELECT COUNT(*) FROM outbox WHERE topic = 'reconciliation.mismatched'",
                    &[],
                )?
                .int(0)
            })
            .await
            .unwrap()
        }
    };
    assert_eq!(events(&t).await, 1, "the merchant's webhooks hear of it");

    // An answer not signed by Alipay, a URL on another host, a malformed amount: 503, and
    // the stored run stays as it was (never `matched`).
    for spoil in [BillSpoil::Forged, BillSpoil::Elsewhere] {
        gw.lock().unwrap().bill_spoiled = Some(spoil);
        t.post(&url, Some(&s.owner.token), body(&today))
            .await
            .problem(503, None);
    }
    gw.lock().unwrap().bill_spoiled = None;
    {
        let g = gw.lock().unwrap();
        let elsewhere = g.elsewhere.trim_start_matches("http://").to_owned();
        assert!(
            !g.bill_fetches.contains(&elsewhere),
            "never fetched from another host: {:?}",
            g.bill_fetches
        );
        assert_eq!(
            g.bill_fetches.len(),
            1,
            "only the first run's bill was fetched"
        );
    }
    let clean: Vec<String> = paid
        .iter()
        .map(|(pid, fen)| paid_row(&no(pid), &protocol::yuan(*fen)))
        .collect();
    for bad in ["23.001", "", "1e3", "-23.00"] {
        let mut rows = clean.clone();
        rows[0] = paid_row(&no(&paid[0].0), bad);
        gw.lock()
            .unwrap()
            .bills
            .insert(today.clone(), bill_zip(&rows));
        t.post(&url, Some(&s.owner.token), body(&today))
            .await
            .problem(503, None);
    }
    let list = t.get(&url, Some(&s.owner.token)).await.expect(200);
    let runs = list.as_array().unwrap();
    assert_eq!(runs.len(), 1, "{list}");
    assert_eq!(runs[0]["id"], run["id"]);
    assert_eq!(runs[0]["status"], "mismatched");
    assert_eq!(runs[0]["mismatches"], run["mismatches"]);
    assert_eq!(events(&t).await, 1);

    // A clean day: every line matches; the day's run is replaced, no event.
    gw.lock()
        .unwrap()
        .bills
        .insert(today.clone(), bill_zip(&clean));
    let ok = t
        .post(&url, Some(&s.owner.token), body(&today))
        .await
        .expect(200);
    assert_eq!(ok["id"], run["id"]);
    assert_eq!(ok["status"], "matched", "{ok}");
    assert_eq!(
        (ok["matched"].as_i64(), ok["provider_lines"].as_i64()),
        (Some(3), Some(3))
    );
    assert_eq!(ok["mismatches"], json!([]));
    assert_eq!(events(&t).await, 1);

    // 商户后台 → 对账: Alipay is offered and named.
    gw.lock()
        .unwrap()
        .bills
        .insert(today.clone(), bill_zip(&planted));
    let page = format!("/console/{}/reconcile", s.merchant);
    let mut owner = crate::web::Browser::login_user(&t, &s.owner).await;
    let done = owner
        .submit(&page, &page, &[("provider", "alipay"), ("date", &today)])
        .await
        .expect(303);
    assert_eq!(done.location(), format!("{page}?done=reconciled"));
    let p = owner.get(&page).await.expect(200);
    for words in [
        "<option value=\"alipay\" selected>支付宝</option>",
        "<td>支付宝</td>",
        "金额不符",
        "R-NOT-KITHS",
    ] {
        assert!(p.has(words), "the page says {words}");
    }
    assert!(
        gw.lock().unwrap().refused.is_empty(),
        "every kith request was signed right: {:?}",
        gw.lock().unwrap().refused
    );

    // `kith reconcile --provider alipay` by hand, with the server's settings: exit 2.
    let mut cli = std::process::Command::new(env!("CARGO_BIN_EXE_kith"));
    cli.current_dir(t.data_dir())
        .env_remove("KITH_DATABASE_URL")
        .env_remove("KITH_CONFIG")
        .args(["reconcile", "--provider", "alipay", "--date", &today])
        .arg("--data-dir")
        .arg(t.data_dir())
        .args(["--alipay-gateway", &t.app.config.alipay_gateway])
        .env(
            "KITH_SECRET_KEY",
            t.app.config.secret_key.as_ref().unwrap().to_hex(),
        );
    if let Some(url) = t.database_url() {
        cli.args(["--database-url", url]);
    }
    let out = cli.output().expect("kith reconcile");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        printed.contains(&format!("alipay {} {today}: mismatched", s.merchant))
            && printed.contains("AmountDiffers")
            && printed.contains("R-NOT-KITHS"),
        "{printed}"
    );

    // The daily job: saving the Alipay credentials queued yesterday's run. Yesterday has
    // no bill (isp.bill_not_exist): matched, empty; the next day is queued once.
    let queued = |t: &TestApp| {
        let db = t.app.db.clone();
        async move {
            db.read(|c| {
                c.query_one(
                    "SELECT COUNT(*) FROM jobs WHERE kind = 'rails.reconcile.day' AND status = 'queued'",
                    &[],
                )?
                .int(0)
            })
            .await
            .unwrap()
        }
    };
    assert_eq!(queued(&t).await, 1);
    let now = t.app.now_ms();
    t.app
        .db
        .write(move |c| {
            c.execute(
                "UPDATE jobs SET run_at = $1 WHERE kind = 'rails.reconcile.day'",
                kith_store::args![now],
            )
        })
        .await
        .unwrap();
    for _ in 0..3 {
        kith_app::events::jobs::run_once(&t.app, "test")
            .await
            .unwrap();
    }
    let list = t.get(&url, Some(&s.owner.token)).await.expect(200);
    let days: Vec<(&str, &str, &str, i64)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["provider"].as_str().unwrap(),
                r["bill_date"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
                r["provider_lines"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(days.len(), 2, "{days:?}");
    assert_eq!(days[0].1, today.as_str(), "newest day first");
    assert_eq!((days[1].0, days[1].2, days[1].3), ("alipay", "matched", 0));
    assert_eq!(queued(&t).await, 1, "the chain queued the next day, once");
    assert!(gw.lock().unwrap().refused.is_empty());
}

/// One 账务明细 row: every column, padded.
fn account_row(values: &[(&str, &str)]) -> String {
    ACCOUNT_COLUMNS
        .iter()
        .map(|c| {
            let v = values.iter().find(|(n, _)| n == c).map_or("", |(_, v)| *v);
            format!("{v}\t")
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn transfer_row(seq: usize, out_biz_no: &str, out: &str) -> String {
    account_row(&[
        ("账务流水号", &format!("2026120400{seq}")),
        ("业务流水号", &format!("20261204110070000006{seq}")),
        ("商户订单号", out_biz_no),
        ("商品名称", "提现"),
        ("发生时间", "2026-12-04 20:00:00"),
        ("对方账号", "138****0000"),
        ("收入金额（+元）", "0.00"),
        ("支出金额（-元）", out),
        ("账户余额（元）", "1000.00"),
        ("交易渠道", "支付宝"),
        ("业务类型", "转账"),
    ])
}

/// The platform's 账务明细 of the day as Alipay packs it (GBK zip, details and 汇总).
fn account_zip(rows: &[String]) -> Vec<u8> {
    let gbk = |s: &str| encoding_rs::GBK.encode(s).0.into_owned();
    let mut lines = vec![
        "#支付宝账务明细查询".to_owned(),
        "#账号:[20880000000009990156]".into(),
        "#起始日期:[2026年12月04日 00:00:00]   终止日期:[2026年12月05日 00:00:00]".into(),
        "#-----------------------------------------账务明细列表----------------------------------------".into(),
        ACCOUNT_COLUMNS.join(","),
    ];
    lines.extend(rows.iter().cloned());
    // Not payouts: money in from a trade, and the transfer's fee.
    lines.push(account_row(&[
        ("账务流水号", "2026120499"),
        ("商户订单号", "SOME-TRADE"),
        ("收入金额（+元）", "23.00"),
        ("支出金额（-元）", "0.00"),
        ("业务类型", "在线支付"),
    ]));
    lines.push(account_row(&[
        ("账务流水号", "2026120498"),
        ("商户订单号", "SOME-FEE"),
        ("支出金额（-元）", "-0.20"),
        ("业务类型", "收费"),
    ]));
    lines.push("#-----------------------------------------账务明细列表结束------------------------------------".into());
    zip(&[
        (
            &gbk("20880000000009990156_20261204_账务明细(汇总).csv"),
            &gbk("#支付宝账务汇总查询\r\n"),
            true,
        ),
        (
            &gbk("20880000000009990156_20261204_账务明细.csv"),
            &gbk(&lines.join("\r\n")),
            true,
        ),
    ])
}

/// The platform's payouts through Alipay, matched with its 账务明细: one difference of each
/// kind, a malformed amount refused without a run, a clean day matched.
async fn payouts(t: TestApp, gw: Shared) {
    let s = t.shop().plan(json!({ "levels_bp": [1000, 500], "withdraw_min_fen": 1_000, "withdraw_daily_limit_fen": 100_000 })).build().await;
    let b = t.register_member("对账分享者").await;
    earn_available(&t, &s, &b, 9_000).await;
    let admin = t.admin().await;
    t.put(
        "/api/v1/admin/payment-credentials/alipay",
        Some(&admin.token),
        credentials(APP_P, ""),
    )
    .await
    .expect(200);
    let url = format!("/api/v1/distributors/{}/withdrawals", b.id);
    let mut paid = Vec::new();
    for fen in [2_000, 1_500, 1_000] {
        let w = t
            .post(&url, Some(&b.token), json!({ "merchant_id": s.merchant, "amount_fen": fen, "payee": { "account": "13800000000", "name": "张三" } }))
            .await
            .expect(201);
        let wid = w["id"].as_str().unwrap().to_owned();
        let w = t
            .post(
                &format!("/api/v1/admin/withdrawals/{wid}/approve"),
                Some(&admin.token),
                json!({}),
            )
            .await
            .expect(200);
        assert_eq!(w["status"], "paid", "{w}");
        paid.push((wid, fen));
    }
    let before = audit_clean(&t).await;
    let today = beijing_date(t.app.now_ms());
    let no = |id: &str| id.replace('-', "");
    let stranger = "0190d6e800007000800000000000f00d";
    gw.lock().unwrap().account_bills.insert(
        today.clone(),
        account_zip(&[
            transfer_row(1, &no(&paid[0].0), "-20.00"),
            transfer_row(2, &no(&paid[1].0), "-14.99"),
            transfer_row(3, stranger, "-8.00"),
        ]),
    );
    // Platform admins only.
    let admin_url = "/api/v1/admin/reconciliations";
    let body = json!({ "provider": "alipay", "date": today });
    t.post(admin_url, Some(&b.token), body.clone())
        .await
        .problem(403, None);
    t.get(admin_url, Some(&b.token)).await.problem(403, None);
    t.post(admin_url, Some(&admin.token), body.clone())
        .await
        .expect(200);
    let listed = t.get(admin_url, Some(&admin.token)).await.expect(200);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["owner"], "platform");
    assert_eq!(listed[0]["mismatches"][0]["entry"], "payout", "{listed}");
    let run = t
        .app
        .reconcile_day("alipay", "platform", &today)
        .await
        .expect("reconciled");
    assert_eq!(run.status, "mismatched", "{run:?}");
    assert_eq!((run.provider_lines, run.kith_lines, run.matched), (3, 3, 1));
    type Diff<'a> = (&'a str, &'a str, &'a str, Option<i64>, Option<i64>);
    let got: Vec<Diff<'_>> = run
        .mismatches
        .iter()
        .map(|m| {
            (
                m.kind.as_str(),
                m.entry.as_str(),
                m.reference.as_str(),
                m.provider_fen.map(kith_domain::Fen::get),
                m.kith_fen.map(kith_domain::Fen::get),
            )
        })
        .collect();
    let mut want = vec![
        (
            "amount_differs",
            "payout",
            paid[1].0.as_str(),
            Some(1_499),
            Some(1_500),
        ),
        (
            "missing_at_provider",
            "payout",
            paid[2].0.as_str(),
            None,
            Some(1_000),
        ),
        (
            "missing_in_kith",
            "payout",
            "0190d6e8-0000-7000-8000-00000000f00d",
            Some(800),
            None,
        ),
    ];
    want.sort_by(|a, b| a.2.cmp(b.2));
    assert_eq!(got, want);
    let events = t
        .app
        .db
        .read(|c| {
            c.query_one(
                "SELECT COUNT(*) FROM outbox WHERE topic = 'reconciliation.mismatched'",
                &[],
            )?
            .int(0)
        })
        .await
        .unwrap();
    assert_eq!(events, 2, "each mismatched run is heard of");
    // The admin page shows the platform's run in words.
    let mut page = crate::web::Browser::login_user(&t, &admin).await;
    let p = page.get("/admin").await.expect(200);
    for words in [
        "平台对账",
        "提现打款",
        "金额不符",
        "本店有、渠道无",
        "渠道有、本店无",
        "支付宝",
    ] {
        assert!(p.has(words), "the admin page says {words}");
    }

    // A malformed amount: refused, the stored run as it was.
    gw.lock().unwrap().account_bills.insert(
        today.clone(),
        account_zip(&[transfer_row(1, &no(&paid[0].0), "-20.001")]),
    );
    assert!(matches!(
        t.app.reconcile_day("alipay", "platform", &today).await,
        Err(kith_app::AppError::Unavailable(_))
    ));
    let list = t
        .app
        .db
        .read(|c| {
            c.query_one(
                "SELECT COUNT(*), MIN(status) FROM reconciliations WHERE owner = 'platform'",
                &[],
            )
            .and_then(|r| Ok((r.int(0)?, r.text(1)?)))
        })
        .await
        .unwrap();
    assert_eq!(list, (1, "mismatched".to_owned()));

    // A clean day: every payout matched.
    let clean: Vec<String> = paid
        .iter()
        .enumerate()
        .map(|(i, (wid, fen))| transfer_row(i, &no(wid), &format!("-{}", protocol::yuan(*fen))))
        .collect();
    gw.lock()
        .unwrap()
        .account_bills
        .insert(today.clone(), account_zip(&clean));
    let ok = t
        .app
        .reconcile_day("alipay", "platform", &today)
        .await
        .expect("reconciled");
    assert_eq!(ok.id, run.id);
    assert_eq!((ok.status.as_str(), ok.matched), ("matched", 3), "{ok:?}");
    assert!(ok.mismatches.is_empty());
    assert_eq!(audit_clean(&t).await, before, "reconciling books nothing");
    assert!(
        gw.lock().unwrap().refused.is_empty(),
        "{:?}",
        gw.lock().unwrap().refused
    );
}
