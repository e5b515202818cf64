//! Withdrawals paid out by WeChat Pay 商家转账 against the local WeChat Pay server, on both
//! engines: the server takes a batch only when kith's request is signed right and the batch
//! adds up (total = its details, one detail to the member's openid under the platform's
//! AppID); the detail query's SUCCESS pays the withdrawal out, FAIL returns the money, an
//! answer that does not match the withdrawal settles nothing, a batch WeChat Pay never
//! received is sent again; a member without the platform's WeChat takes the sandbox.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use kith_domain::clock::{Clock, SystemClock};
use serde_json::{Value, json};

use crate::harness::{Engine, TestApp, User};
use crate::wechatpay::{APP_ID, MCH_A, Shared, check_request, credentials, signed, spawn};
use crate::worlds::{audit_clean, balances, earn_available};

const OPENID: &str = "oPlatformMember000000000001";

/// `POST /v3/transfer/batches`: a batch of details to members' 零钱, checked strictly.
pub(crate) async fn create_batch(
    State(wx): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = String::from_utf8_lossy(&body).to_string();
    if let Err(r) = check_request(&wx, "POST", &uri, &headers, &text) {
        return r;
    }
    let b: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let details = b["transfer_detail_list"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let alnum = |v: &Value, max: usize| {
        v.as_str().is_some_and(|s| {
            (5..=max).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_alphanumeric())
        })
    };
    let sum: i64 = details
        .iter()
        .filter_map(|d| d["transfer_amount"].as_i64())
        .sum();
    let ok = b["appid"] == APP_ID
        && alnum(&b["out_batch_no"], 32)
        && b["batch_name"].as_str().is_some_and(|s| !s.is_empty())
        && b["batch_remark"].as_str().is_some_and(|s| !s.is_empty())
        && b["total_num"].as_i64() == Some(details.len() as i64)
        && !details.is_empty()
        && b["total_amount"].as_i64() == Some(sum)
        && details.iter().all(|d| {
            alnum(&d["out_detail_no"], 32)
                && d["transfer_amount"]
                    .as_i64()
                    .is_some_and(|a| (1..200_000).contains(&a))
                && d["transfer_remark"].as_str().is_some_and(|s| !s.is_empty())
                && d["openid"].as_str().is_some_and(|s| !s.is_empty())
        });
    if !ok {
        return signed(
            StatusCode::BAD_REQUEST,
            json!({ "code": "PARAM_ERROR", "message": "bad batch" }).to_string(),
        );
    }
    let no = b["out_batch_no"].as_str().unwrap().to_owned();
    // A batch number sent again is the same batch (idempotent).
    wx.lock().unwrap().batches.entry(no.clone()).or_insert(b);
    signed(
        StatusCode::OK,
        json!({ "out_batch_no": no, "batch_id": format!("1030000{no}"), "create_time": "2026-12-04T10:00:00+08:00", "batch_status": "ACCEPTED" })
            .to_string(),
    )
}

/// `GET …/out-batch-no/{batch}/details/out-detail-no/{detail}`.
pub(crate) async fn query_detail(
    State(wx): State<Shared>,
    Path((batch, detail)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_request(&wx, "GET", &uri, &headers, "") {
        return r;
    }
    let g = wx.lock().unwrap();
    let Some(d) = g.batches.get(&batch).and_then(|b| {
        b["transfer_detail_list"]
            .as_array()
            .and_then(|l| l.iter().find(|d| d["out_detail_no"] == detail.as_str()))
    }) else {
        return signed(
            StatusCode::NOT_FOUND,
            json!({ "code": "NOT_FOUND", "message": "记录不存在" }).to_string(),
        );
    };
    let state = g
        .detail_states
        .get(&detail)
        .cloned()
        .unwrap_or_else(|| "PROCESSING".into());
    signed(
        StatusCode::OK,
        json!({
            "mchid": MCH_A, "out_batch_no": batch, "batch_id": format!("1030000{batch}"),
            "appid": APP_ID, "out_detail_no": detail, "detail_id": format!("1040000{detail}"),
            "detail_status": state,
            "transfer_amount": g.detail_amount_lie.unwrap_or(d["transfer_amount"].as_i64().unwrap()),
            "transfer_remark": d["transfer_remark"], "fail_reason": if state == "FAIL" { "ACCOUNT_FROZEN" } else { "" },
            "openid": d["openid"], "initiate_time": "2026-12-04T10:00:00+08:00", "update_time": "2026-12-04T10:00:05+08:00",
        })
        .to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_sqlite() {
    let (t, wx) = spawn(Engine::Sqlite).await.expect("spawn");
    story(t, wx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_postgres() {
    if let Some((t, wx)) = spawn(Engine::Postgres).await {
        story(t, wx).await;
    }
}

/// The minute until the payout job asks again passes — for the queue only: the local
/// WeChat Pay checks request times against the wall clock, so the server's clock stays.
async fn settle(t: &TestApp) {
    let now = t.app.now_ms();
    t.app
        .db
        .write(move |c| {
            c.execute(
                "UPDATE jobs SET run_at = $1 WHERE kind = 'rails.wechatpay.payout' AND status = 'queued'",
                kith_store::args![now],
            )
        })
        .await
        .unwrap();
    for _ in 0..2 {
        kith_app::events::jobs::run_once(&t.app, "test")
            .await
            .unwrap();
    }
}

async fn withdraw(t: &TestApp, b: &User, merchant: &str, fen: i64) -> String {
    let w = t
        .post(
            &format!("/api/v1/distributors/{}/withdrawals", b.id),
            Some(&b.token),
            json!({ "merchant_id": merchant, "amount_fen": fen }),
        )
        .await
        .expect(201);
    w["id"].as_str().unwrap().to_owned()
}

async fn status(t: &TestApp, b: &User, wid: &str) -> Value {
    t.get(&format!("/api/v1/withdrawals/{wid}"), Some(&b.token))
        .await
        .expect(200)
}

async fn story(t: TestApp, wx: Shared) {
    let admin = t.admin().await;
    let s = t.shop().plan(json!({ "levels_bp": [1000], "withdraw_min_fen": 100, "withdraw_daily_limit_fen": 100_000 })).build().await;
    let b = t.register_member("微信提现者").await;
    let other = t.register_member("没绑微信的人").await;
    earn_available(&t, &s, &b, 9_000).await;
    earn_available(&t, &s, &other, 2_000).await;
    // Earning moved the server's clock through the after-sale window; the local WeChat Pay
    // checks request times against the wall clock, so the server's clock comes back to it.
    t.clock.advance_ms(SystemClock.now_ms() - t.clock.now_ms());
    t.put(
        "/api/v1/admin/payment-credentials/wechat",
        Some(&admin.token),
        credentials(MCH_A),
    )
    .await
    .expect(200);
    // The member signed in with WeChat through the platform's AppID (the sign-in flow has
    // its own stories): kith knows their openid there.
    let (bid, now) = (b.id.clone(), t.app.now_ms());
    t.app
        .db
        .write(move |c| {
            c.execute(
                "INSERT INTO external_identities (id, provider, app_id, openid, account_id, nickname, created_at)
                 VALUES ($1, 'wechat', $2, $3, $4, '微信提现者', $5)",
                kith_store::args![uuid::Uuid::now_v7().to_string(), APP_ID, OPENID, &bid, now],
            )
        })
        .await
        .unwrap();
    let (_, _, available, _) = balances(&t, &b, &s.merchant).await;
    assert_eq!(available, 9_000);

    // Approved: sent to WeChat Pay as a batch of one, to the member's openid.
    let paid = withdraw(&t, &b, &s.merchant, 5_000).await;
    let w = t
        .post(
            &format!("/api/v1/admin/withdrawals/{paid}/approve"),
            Some(&admin.token),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(w["status"], "paying");
    assert!(
        w["payout_ref"].as_str().unwrap().starts_with("wechat:"),
        "{w}"
    );
    let no = paid.replace('-', "");
    {
        let g = wx.lock().unwrap();
        let batch = &g.batches[&no];
        assert_eq!(batch["total_amount"], 5_000);
        assert_eq!(batch["transfer_detail_list"][0]["openid"], OPENID);
        assert_eq!(
            batch["transfer_detail_list"][0]["out_detail_no"],
            no.as_str()
        );
    }
    // Still processing at WeChat Pay: nothing moves.
    settle(&t).await;
    assert_eq!(status(&t, &b, &paid).await["status"], "paying");
    // An answer that does not match the withdrawal settles nothing.
    wx.lock()
        .unwrap()
        .detail_states
        .insert(no.clone(), "SUCCESS".into());
    wx.lock().unwrap().detail_amount_lie = Some(50_000);
    settle(&t).await;
    assert_eq!(status(&t, &b, &paid).await["status"], "paying");
    wx.lock().unwrap().detail_amount_lie = None;
    settle(&t).await;
    assert_eq!(status(&t, &b, &paid).await["status"], "paid");
    assert_eq!(balances(&t, &b, &s.merchant).await.2, 4_000);

    // FAIL at WeChat Pay: the money comes back to the member's available balance.
    let failed = withdraw(&t, &b, &s.merchant, 3_000).await;
    t.post(
        &format!("/api/v1/admin/withdrawals/{failed}/approve"),
        Some(&admin.token),
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(balances(&t, &b, &s.merchant).await.2, 1_000);
    wx.lock()
        .unwrap()
        .detail_states
        .insert(failed.replace('-', ""), "FAIL".into());
    settle(&t).await;
    assert_eq!(status(&t, &b, &failed).await["status"], "failed");
    assert_eq!(balances(&t, &b, &s.merchant).await.2, 4_000);

    // A batch WeChat Pay never received (it was down when the admin approved) is sent by
    // the job and then followed.
    let lost = withdraw(&t, &b, &s.merchant, 2_000).await;
    t.post(
        &format!("/api/v1/admin/withdrawals/{lost}/approve"),
        Some(&admin.token),
        json!({}),
    )
    .await
    .expect(200);
    let lost_no = lost.replace('-', "");
    wx.lock().unwrap().batches.remove(&lost_no);
    wx.lock()
        .unwrap()
        .detail_states
        .insert(lost_no.clone(), "SUCCESS".into());
    settle(&t).await;
    settle(&t).await;
    assert!(
        wx.lock().unwrap().batches.contains_key(&lost_no),
        "sent again"
    );
    assert_eq!(status(&t, &b, &lost).await["status"], "paid");

    // A member kith knows no openid of is paid through the sandbox instead.
    let sandboxed = withdraw(&t, &other, &s.merchant, 1_500).await;
    let w = t
        .post(
            &format!("/api/v1/admin/withdrawals/{sandboxed}/approve"),
            Some(&admin.token),
            json!({}),
        )
        .await
        .expect(200);
    assert!(
        w["payout_ref"].as_str().unwrap().starts_with("sandbox:"),
        "{w}"
    );

    // 对账 of the day's payouts with the platform's fund-flow bill (资金账单): the transfer
    // lines are found by their 业务凭证号 (kith's batch and detail number); a payment in and
    // a refund out are not payouts. One difference of each kind, then a clean day.
    let date = crate::reconcile::beijing_date(t.clock.now_ms());
    let stranger = "0190aaaa-0000-7000-8000-00000000beef";
    let stranger_no = stranger.replace('-', "");
    let day = |rows: &[(&str, &str, &str, i64, &str)]| {
        wx.lock()
            .unwrap()
            .bills
            .insert(format!("flow-{date}"), crate::reconcile::fund_flow(rows));
    };
    day(&[
        ("商家转账", "商家转账", "支出", 5_100, &no),
        ("商家转账", "商家转账", "支出", 1_000, &stranger_no),
        (
            "交易",
            "交易",
            "收入",
            9_900,
            "0190aaaa00007000800000000000cafe",
        ),
        (
            "退款",
            "退款",
            "支出",
            700,
            "0190aaaa00007000800000000000f00d",
        ),
    ]);
    let run = t
        .app
        .reconcile_day("wechat", "platform", &date)
        .await
        .expect("reconciled");
    assert_eq!(run.status, "mismatched");
    let got: Vec<_> = run
        .mismatches
        .iter()
        .map(|m| {
            (
                m.kind.as_str(),
                m.entry.as_str(),
                m.reference.clone(),
                m.provider_fen.map(kith_domain::Fen::get),
                m.kith_fen.map(kith_domain::Fen::get),
            )
        })
        .collect();
    let mut want = vec![
        (
            "amount_differs",
            "payout",
            paid.clone(),
            Some(5_100),
            Some(5_000),
        ),
        (
            "missing_in_kith",
            "payout",
            stranger.to_owned(),
            Some(1_000),
            None,
        ),
        (
            "missing_at_provider",
            "payout",
            lost.clone(),
            None,
            Some(2_000),
        ),
    ];
    want.sort_by(|a, b| a.2.cmp(&b.2));
    assert_eq!(got, want);
    day(&[
        ("商家转账", "商家转账", "支出", 5_000, &no),
        ("商家转账", "商家转账", "支出", 2_000, &lost_no),
    ]);
    let run = t
        .app
        .reconcile_day("wechat", "platform", &date)
        .await
        .expect("reconciled");
    assert_eq!(
        (run.status.as_str(), run.matched),
        ("matched", 2),
        "{run:?}"
    );

    assert!(
        wx.lock().unwrap().refused.is_empty(),
        "every kith request was signed right: {:?}",
        wx.lock().unwrap().refused
    );
    audit_clean(&t).await;
}
