//! Reconciliation (对账) against the local WeChat Pay server's trade bills, on both engines.
//!
//! The local server (tests/money/wechatpay.rs) answers `GET /v3/bill/tradebill` with a
//! signed `download_url` + SHA-1 and serves the file at `/v3/billdownload/file` only to a
//! correctly signed request, in WeChat Pay's format (a header row, backtick-prefixed
//! fields, a summary). A story plants a bill with one difference of each kind and checks
//! kith finds exactly those; a file that is not the signed one, or a download URL on
//! another host, is refused and changes nothing; the daily job reconciles yesterday on its
//! own and queues the next day once.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use kith_app::rails::wechatpay::bill::COLUMNS;
use serde_json::{Value, json};
use sha1::Digest;

use crate::harness::{Engine, TestApp, User, address};
use crate::wechatpay::{
    MCH_A, Notify, Shared, check_request, notify, shop_with_order, signed, spawn, transaction,
};

/// How a story spoils a bill's download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spoil {
    /// The file served is not the one whose hash the signed answer gave.
    Tampered,
    /// The signed answer's download URL is on another host.
    Elsewhere,
}

#[derive(serde::Deserialize)]
pub(crate) struct BillQuery {
    bill_date: String,
    bill_type: Option<String>,
}

/// The signed answer to a bill application for the file kept under `token` in `bills`:
/// its hash and where to fetch it (or WeChat Pay's refusal).
fn bill_application(
    wx: &Shared,
    uri: &Uri,
    headers: &HeaderMap,
    params_ok: bool,
    token: &str,
) -> Response {
    if let Err(r) = check_request(wx, "GET", uri, headers, "") {
        return r;
    }
    let g = wx.lock().unwrap();
    if !params_ok {
        return signed(
            StatusCode::BAD_REQUEST,
            json!({ "code": "PARAM_ERROR", "message": "bill_date / bill_type / account_type" })
                .to_string(),
        );
    }
    let Some(file) = g.bills.get(token) else {
        return signed(
            StatusCode::BAD_REQUEST,
            json!({ "code": "NO_STATEMENT_EXIST", "message": "账单不存在" }).to_string(),
        );
    };
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let base = if g.bill_spoiled == Some(Spoil::Elsewhere) {
        // The same server under another name: reachable, and serving the right file, so
        // only kith's host check can refuse it.
        let port = host.rsplit(':').next().unwrap_or("80");
        format!("http://localhost:{port}")
    } else {
        format!("http://{host}")
    };
    let hash = hex::encode(sha1::Sha1::digest(file.as_bytes()));
    signed(
        StatusCode::OK,
        json!({
            "hash_type": "SHA1", "hash_value": hash,
            "download_url": format!("{base}/v3/billdownload/file?token={token}"),
        })
        .to_string(),
    )
}

/// `GET /v3/bill/tradebill`: the day's bill (kept in `bills` under its date).
pub(crate) async fn trade_bill(
    State(wx): State<Shared>,
    Query(q): Query<BillQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let ok = q.bill_type.as_deref() == Some("ALL") && q.bill_date.len() == 10;
    bill_application(&wx, &uri, &headers, ok, &q.bill_date)
}

#[derive(serde::Deserialize)]
pub(crate) struct FlowQuery {
    bill_date: String,
    account_type: Option<String>,
}

/// `GET /v3/bill/fundflowbill`: the basic account's fund-flow bill of the day (kept in
/// `bills` under `flow-{date}`).
pub(crate) async fn fund_flow_bill(
    State(wx): State<Shared>,
    Query(q): Query<FlowQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let ok = q.account_type.as_deref() == Some("BASIC") && q.bill_date.len() == 10;
    bill_application(&wx, &uri, &headers, ok, &format!("flow-{}", q.bill_date))
}

/// A fund-flow bill in WeChat Pay's format: its header, backtick-prefixed rows of
/// (业务名称, 业务类型, 收支类型, amount in fen, 业务凭证号), then the summary.
pub(crate) fn fund_flow(rows: &[(&str, &str, &str, i64, &str)]) -> String {
    let header = "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,备注,业务凭证号";
    let mut out = vec![header.to_owned()];
    for (n, (name, kind, direction, fen, voucher)) in rows.iter().enumerate() {
        out.push(format!(
            "`2026-12-04 10:0{n}:00,`1000000000{n},`4200000{n},`{name},`{kind},`{direction},`{},`100000.00,`kith,`,`{voucher}",
            yuan(*fen)
        ));
    }
    out.push("资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额".to_owned());
    out.push(format!("`{},`0,`0.00,`0,`0.00", rows.len()));
    out.join("\r\n")
}

#[derive(serde::Deserialize)]
pub(crate) struct FileQuery {
    token: String,
}

/// `GET /v3/billdownload/file`: the file, to a signed request only; not signed itself.
pub(crate) async fn download_bill(
    State(wx): State<Shared>,
    Query(q): Query<FileQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_request(&wx, "GET", &uri, &headers, "") {
        return r;
    }
    let g = wx.lock().unwrap();
    let Some(file) = g.bills.get(&q.token) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let mut body = file.clone();
    if g.bill_spoiled == Some(Spoil::Tampered) {
        body.push_str("\r\n`0.01");
    }
    (StatusCode::OK, Bytes::from(body)).into_response()
}

/// One bill row in WeChat Pay's format: every column, each field after a backtick.
fn bill_row(cols: &[(&str, &str)]) -> String {
    COLUMNS
        .iter()
        .map(|c| {
            let v = cols.iter().find(|(n, _)| n == c).map_or("", |(_, v)| *v);
            format!("`{v}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

fn paid_row(out_trade_no: &str, txn: &str, fen: i64) -> String {
    bill_row(&[
        ("交易时间", "2026-12-04 10:00:00"),
        ("商户号", MCH_A),
        ("微信订单号", txn),
        ("商户订单号", out_trade_no),
        ("交易类型", "NATIVE"),
        ("交易状态", "SUCCESS"),
        ("货币种类", "CNY"),
        ("应结订单金额", &yuan(fen)),
        ("订单金额", &yuan(fen)),
        ("商品名称", "测试商品, 一件"),
    ])
}

/// The Beijing day `ms` falls in.
pub(crate) fn beijing_date(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .unwrap()
        .to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap());
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// Pays an order through WeChat Pay (Native + the signed notification): its payment id,
/// WeChat's transaction id and the amount.
async fn pay(t: &TestApp, merchant: &str, buyer: &User, oid: &str, txn: &str) -> (String, i64) {
    let p = t
        .post(
            &format!("/api/v1/orders/{oid}/pay"),
            Some(&buyer.token),
            json!({ "provider": "wechat", "mode": "native" }),
        )
        .await
        .expect(200);
    let pid = p["payment"]["id"].as_str().unwrap().to_owned();
    let amount = p["payment"]["amount_fen"].as_i64().unwrap();
    let (status, body) = notify(
        t,
        merchant,
        "TRANSACTION.SUCCESS",
        transaction(MCH_A, &pid.replace('-', ""), txn, amount, amount),
        Notify::good(),
    )
    .await;
    assert!(status < 300, "{status} {body}");
    (pid, amount)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_sqlite() {
    let (t, wx) = spawn(Engine::Sqlite).await.expect("spawn");
    story(t, wx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_postgres() {
    if let Some((t, wx)) = spawn(Engine::Postgres).await {
        story(t, wx).await;
    }
}

async fn story(t: TestApp, wx: Shared) {
    let (s, buyer, first) = shop_with_order(&t, "对账小铺", 2_300).await;
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
    for (i, oid) in orders.iter().enumerate() {
        paid.push(pay(&t, &s.merchant, &buyer, oid, &format!("42000000{i}")).await);
    }
    let today = beijing_date(t.app.now_ms());
    let no = |pid: &str| pid.replace('-', "");
    // WeChat Pay's bill: the first payment as kith has it, the second for 1 fen less, the
    // third missing, a payment kith never saw, a finished refund kith never asked for, and
    // a refund still processing (not money moved yet, so not a line).
    let stranger = "0190d6e800007000800000000000beef";
    let bill = [
        COLUMNS.join(","),
        paid_row(&no(&paid[0].0), "420000000", paid[0].1),
        paid_row(&no(&paid[1].0), "420000001", paid[1].1 - 1),
        paid_row(stranger, "420000099", 100),
        bill_row(&[
            ("交易状态", "REFUND"),
            ("退款状态", "SUCCESS"),
            ("微信订单号", "420000000"),
            ("商户订单号", &no(&paid[0].0)),
            ("微信退款单号", "50300000001"),
            ("商户退款单号", "R-NOT-KITHS"),
            ("退款金额", "5.00"),
            ("申请退款金额", "5.00"),
        ]),
        bill_row(&[
            ("交易状态", "REFUND"),
            ("退款状态", "PROCESSING"),
            ("商户退款单号", "R-IN-FLIGHT"),
            ("申请退款金额", "1.00"),
        ]),
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额".into(),
        "`3,`46.99,`5.00,`0.00,`0.28,`46.99,`5.00".into(),
    ]
    .join("\r\n");
    wx.lock().unwrap().bills.insert(today.clone(), bill);

    let url = format!("/api/v1/merchants/{}/reconciliations", s.merchant);
    let body = |date: &str| json!({ "provider": "wechat", "date": date });
    // Bad input, named.
    t.post(
        &url,
        Some(&s.owner.token),
        json!({ "provider": "paypal", "date": today }),
    )
    .await
    .problem(422, Some("provider"));
    t.post(&url, Some(&s.owner.token), body("2026-13-40"))
        .await
        .problem(422, Some("date"));
    t.post(&url, Some(&s.owner.token), body("2999-01-01"))
        .await
        .problem(422, Some("date"));
    // Only the merchant's owner runs it; staff of another shop and members read nothing.
    let (other_owner, _) = t.approved_merchant("别家对账店").await;
    t.post(&url, Some(&buyer.token), body(&today))
        .await
        .problem(403, None);
    t.post(&url, Some(&other_owner.token), body(&today))
        .await
        .problem(403, None);
    t.get(&url, Some(&other_owner.token))
        .await
        .problem(403, None);
    t.get(&url, None).await.problem(401, None);

    let run = t
        .post(&url, Some(&s.owner.token), body(&today))
        .await
        .expect(200);
    assert_eq!(run["status"], "mismatched", "{run}");
    assert_eq!(run["bill_date"], today.as_str());
    assert_eq!(run["provider_lines"], 4, "{run}");
    assert_eq!(run["kith_lines"], 3);
    assert_eq!(run["matched"], 1);
    assert_eq!(run["kith_total_fen"], paid.iter().map(|p| p.1).sum::<i64>());
    let got: Vec<(String, String, String, Value, Value)> = run["mismatches"]
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
        .collect();
    let mut want = vec![
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
            "0190d6e8-0000-7000-8000-00000000beef".to_owned(),
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
    want.sort_by(|a, b| (a.1 == "refund", &a.2).cmp(&(b.1 == "refund", &b.2)));
    assert_eq!(got, want, "{run}");
    // The merchant's webhooks hear of it.
    let events = t
        .app
        .db
        .read(|c| {
            let r = c.query_one(
                "SELECT COUNT(*) FROM outbox WHERE topic = 'reconciliation.mismatched'",
                &[],
            )?;
            r.int(0)
        })
        .await
        .unwrap();
    assert_eq!(events, 1);

    // 商户后台 → 对账: the run in words and 元; a refused date is said beside its field,
    // what was typed kept; a member is refused the page.
    let page = format!("/console/{}/reconcile", s.merchant);
    let mut owner = crate::web::Browser::login_user(&t, &s.owner).await;
    let p = owner.get(&page).await.expect(200);
    for words in [
        "有差异",
        "金额不符",
        "本店有、渠道无",
        "渠道有、本店无",
        "R-NOT-KITHS",
    ] {
        assert!(p.has(words), "the page says {words}");
    }
    assert!(
        p.has(&kith_domain::Fen::new(paid[1].1 - 1).to_string()),
        "amounts in 元"
    );
    let bad = owner
        .submit(
            &page,
            &page,
            &[("provider", "wechat"), ("date", "2026-02-31")],
        )
        .await
        .expect(422);
    assert!(bad.has("id=\"date-error\"") && bad.has("格式如 2026-12-01"));
    assert!(bad.has("value=\"2026-02-31\""), "the typed date is kept");
    let done = owner
        .submit(&page, &page, &[("provider", "wechat"), ("date", &today)])
        .await
        .expect(303);
    assert_eq!(done.location(), format!("{page}?done=reconciled"));
    let mut member = crate::web::Browser::login_user(&t, &buyer).await;
    assert_eq!(member.get(&page).await.status.as_u16(), 403);

    // A file that is not the one the signed answer named, or one on another host: 503,
    // and the stored run stays as it was.
    for spoil in [Spoil::Tampered, Spoil::Elsewhere] {
        wx.lock().unwrap().bill_spoiled = Some(spoil);
        t.post(&url, Some(&s.owner.token), body(&today))
            .await
            .problem(503, None);
    }
    wx.lock().unwrap().bill_spoiled = None;
    let list = t.get(&url, Some(&s.owner.token)).await.expect(200);
    let runs = list.as_array().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["id"], run["id"]);
    assert_eq!(runs[0]["mismatches"], run["mismatches"]);
    assert!(
        wx.lock().unwrap().refused.is_empty(),
        "every kith request was signed right: {:?}",
        wx.lock().unwrap().refused
    );

    // `kith reconcile` by hand, with the server's settings: the same differences, exit 2.
    let mut cli = std::process::Command::new(env!("CARGO_BIN_EXE_kith"));
    cli.current_dir(t.data_dir())
        .env_remove("KITH_DATABASE_URL")
        .env_remove("KITH_CONFIG")
        .args(["reconcile", "--provider", "wechat", "--date", &today])
        .arg("--data-dir")
        .arg(t.data_dir())
        .args(["--wechatpay-base-url", &t.app.config.wechatpay_base_url])
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
        printed.contains(&format!("wechat {} {today}: mismatched", s.merchant))
            && printed.contains("AmountDiffers")
            && printed.contains("R-NOT-KITHS"),
        "{printed}"
    );

    // Running the day again replaces its run (one per day).
    let again = t
        .post(&url, Some(&s.owner.token), body(&today))
        .await
        .expect(200);
    assert_eq!(again["id"], run["id"]);

    // The daily job: entering the credentials queued yesterday's run, due 10:30 today
    // (Beijing). Yesterday had no trade (WeChat Pay: NO_STATEMENT_EXIST): matched, empty;
    // the next day is queued once.
    let queued = |t: &TestApp| {
        let db = t.app.db.clone();
        async move {
            db.read(|c| {
                let r = c.query_one(
                    "SELECT COUNT(*) FROM jobs WHERE kind = 'rails.reconcile.day' AND status = 'queued'",
                    &[],
                )?;
                r.int(0)
            })
            .await
            .unwrap()
        }
    };
    assert_eq!(queued(&t).await, 1);
    let (_, day_start, _) = kith_app::rails::reconcile::beijing_day(&today).unwrap();
    let due = day_start + 630 * 60_000;
    let run_at = t
        .app
        .db
        .read(|c| {
            c.query_one(
                "SELECT run_at FROM jobs WHERE kind = 'rails.reconcile.day' AND status = 'queued'",
                &[],
            )?
            .int(0)
        })
        .await
        .unwrap();
    assert!(
        run_at == due || (due < run_at && run_at <= t.app.now_ms()),
        "due at 10:30 Beijing, or at once when that has passed"
    );
    // The morning comes. (The queue's clock, not the server's: the local WeChat Pay checks
    // request times against the wall clock.)
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
    let days: Vec<(&str, &str, i64)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["bill_date"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
                r["provider_lines"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(days.len(), 2, "{days:?}");
    assert_eq!(days[0].0, today.as_str(), "newest day first");
    assert_eq!(days[1].1, "matched");
    assert_eq!(days[1].2, 0);
    assert_eq!(queued(&t).await, 1, "the chain queued the next day, once");
}
