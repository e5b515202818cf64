//! WeChat Pay 商家转账 (API v3 batch transfers to a member's 零钱), the payout rail of an
//! approved withdrawal when the member signed in with WeChat through the platform's AppID.
//!
//! One withdrawal is one batch of one detail (`out_batch_no` = `out_detail_no` = the
//! withdrawal id without dashes; `total_amount` = the detail's `transfer_amount` = the
//! withdrawal, in fen; `total_num` 1), sent from the platform's 商户号 with its signature.
//! WeChat Pay sends no notification for a batch: a job asks about the detail
//! (`GET /v3/transfer/batches/out-batch-no/{no}/details/out-detail-no/{no}`) until it is
//! `SUCCESS` (paid) or `FAIL` (returned to the member's available balance), each checked
//! against the withdrawal's amount and the member's openid before
//! [`crate::money::withdrawals::settle_payout`] moves the money. A detail WeChat Pay does
//! not know (the batch never arrived) is sent again; sending is idempotent on the batch
//! number. A transfer of 2,000 元 or more must carry the payee's real name encrypted to the
//! platform certificate, which kith does not hold, so such withdrawals take another rail.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::protocol;
use crate::events::jobs::{ClaimedJob, Job, JobError, JobRegistry, Lane, enqueue};
use crate::platform::ids::parse_id;
use crate::rails::credentials::{WechatPayKeys, load_wechatpay};
use crate::rails::secrets::SecretKey;
use crate::{App, AppError, AppResult};

/// The largest transfer sent without the payee's real name (WeChat Pay: under 2,000 元).
pub const MAX_UNNAMED_FEN: i64 = 200_000;

/// How often a transfer still in progress is asked about.
const QUERY_EVERY_MS: i64 = 60_000;

/// Whether a withdrawal of `amount_fen` by `account_id` can be paid through WeChat Pay: the
/// platform has WeChat Pay credentials, the member signed in through its AppID (so kith
/// knows the member's openid there), and the amount needs no real name.
pub(crate) fn can_pay(
    c: &mut dyn kith_store::Conn,
    key: Option<&SecretKey>,
    account_id: &str,
    amount_fen: i64,
) -> AppResult<bool> {
    if amount_fen >= MAX_UNNAMED_FEN {
        return Ok(false);
    }
    let Some(keys) = load_wechatpay(c, key, crate::rails::PLATFORM)? else {
        return Ok(false);
    };
    Ok(crate::platform::identities::wechat_openid(c, account_id, &keys.app_id)?.is_some())
}

/// Queues the payout job of a withdrawal approved for WeChat Pay (inside the approval's
/// transaction).
pub(crate) fn enqueue_payout(c: &mut dyn kith_store::Conn, now: i64, wid: &str) -> AppResult<()> {
    enqueue(
        c,
        now,
        &WechatPayout {
            withdrawal_id: wid.to_owned(),
        },
        now + QUERY_EVERY_MS,
    )?;
    Ok(())
}

/// What the detail query answers, as far as kith reads it.
#[derive(Debug, Deserialize)]
struct Detail {
    detail_status: String,
    transfer_amount: i64,
    openid: String,
    #[serde(default)]
    detail_id: String,
    #[serde(default)]
    fail_reason: String,
}

/// A withdrawal being paid through WeChat Pay, with what paying it needs.
struct Paying {
    w: crate::money::withdrawals::Withdrawal,
    keys: WechatPayKeys,
    openid: String,
}

impl App {
    async fn wechat_payout_load(&self, withdrawal_id: &str) -> AppResult<Option<Paying>> {
        let wid = parse_id(withdrawal_id).ok_or(AppError::NotFound("withdrawal"))?;
        let key = self.config.secret_key.clone();
        self.db
            .read(move |c| {
                let w = crate::money::withdrawals::load(c, &wid, false)?;
                let ours = w
                    .payout_ref
                    .as_deref()
                    .is_some_and(|r| r.starts_with("wechat:"));
                if w.status != "paying" || !ours {
                    return Ok(None);
                }
                let keys =
                    load_wechatpay(c, key.as_ref(), crate::rails::PLATFORM)?.ok_or_else(|| {
                        AppError::Unavailable(
                            "the platform's WeChat Pay credentials are gone".into(),
                        )
                    })?;
                let openid =
                    crate::platform::identities::wechat_openid(c, &w.account_id, &keys.app_id)?
                        .ok_or_else(|| {
                            AppError::Unavailable("the member's WeChat openid is gone".into())
                        })?;
                Ok(Some(Paying { w, keys, openid }))
            })
            .await
    }

    /// Sends an approved withdrawal to the member's 零钱 as a batch of one. A refusal no
    /// retry can change (a parameter, the account, the openid) returns the money; a
    /// refusal that may pass later (the platform's balance, a busy system) is an error,
    /// so the job tries again.
    pub async fn wechat_payout(&self, withdrawal_id: &str) -> AppResult<()> {
        let Some(p) = self.wechat_payout_load(withdrawal_id).await? else {
            return Ok(());
        };
        let no = protocol::out_trade_no(&p.w.id);
        let body = json!({
            "appid": p.keys.app_id,
            "out_batch_no": no,
            "batch_name": "佣金提现",
            "batch_remark": "kith 佣金提现",
            "total_amount": p.w.amount_fen,
            "total_num": 1,
            "transfer_detail_list": [{
                "out_detail_no": no,
                "transfer_amount": p.w.amount_fen,
                "transfer_remark": "佣金提现",
                "openid": p.openid,
            }],
        });
        let (status, answer) = self
            .wechat_call(&p.keys, "POST", "/v3/transfer/batches", Some(&body))
            .await?;
        if status == 200 {
            if answer.get("out_batch_no").and_then(|v| v.as_str()) != Some(no.as_str()) {
                return Err(AppError::Unavailable(
                    "WeChat Pay's transfer answer is about another batch".into(),
                ));
            }
            return Ok(());
        }
        let code = answer.get("code").and_then(|c| c.as_str()).unwrap_or("");
        match code {
            // Not now: the platform's balance, the rate, WeChat Pay itself.
            "NOT_ENOUGH" | "FREQUENCY_LIMITED" | "SYSTEM_ERROR" => Err(AppError::Unavailable(
                format!("WeChat Pay did not take the transfer yet ({status} {code})"),
            )),
            _ if status >= 500 => Err(AppError::Unavailable(format!(
                "WeChat Pay answered {status} {code}"
            ))),
            _ => {
                tracing::warn!(withdrawal = %p.w.id, status, code, "WeChat Pay refused the transfer");
                self.wechat_payout_settle(&p.w.id, &format!("refused:{no}"), false)
                    .await
            }
        }
    }

    /// Asks WeChat Pay about a transfer still `paying` and settles it when it is final; one
    /// WeChat Pay never received is sent (again). Returns whether it is still `paying`.
    pub async fn wechat_payout_query(&self, withdrawal_id: &str) -> AppResult<bool> {
        let Some(p) = self.wechat_payout_load(withdrawal_id).await? else {
            return Ok(false);
        };
        let no = protocol::out_trade_no(&p.w.id);
        let path = format!("/v3/transfer/batches/out-batch-no/{no}/details/out-detail-no/{no}");
        let (status, answer) = self.wechat_call(&p.keys, "GET", &path, None).await?;
        match status {
            200 => {
                let d: Detail = serde_json::from_value(answer).map_err(|e| {
                    AppError::Unavailable(format!(
                        "WeChat Pay's transfer detail does not parse: {e}"
                    ))
                })?;
                if d.transfer_amount != p.w.amount_fen.get() || d.openid != p.openid {
                    return Err(AppError::Unavailable(format!(
                        "WeChat Pay's transfer detail does not match the withdrawal ({} fen to {})",
                        d.transfer_amount, d.openid
                    )));
                }
                match d.detail_status.as_str() {
                    "SUCCESS" => {
                        self.wechat_payout_settle(&p.w.id, &format!("detail:{}", d.detail_id), true)
                            .await?
                    }
                    "FAIL" => {
                        tracing::warn!(withdrawal = %p.w.id, reason = %d.fail_reason, "WeChat Pay transfer failed");
                        self.wechat_payout_settle(
                            &p.w.id,
                            &format!("detail:{}", d.detail_id),
                            false,
                        )
                        .await?
                    }
                    _ => {}
                }
            }
            404 => self.wechat_payout(&p.w.id).await?,
            _ => {
                return Err(AppError::Unavailable(format!(
                    "WeChat Pay's transfer query answered {status}"
                )));
            }
        }
        let wid = p.w.id.clone();
        let now = self
            .db
            .read(move |c| crate::money::withdrawals::load(c, &wid, false))
            .await?;
        Ok(now.status == "paying")
    }

    async fn wechat_payout_settle(&self, wid: &str, event: &str, succeeded: bool) -> AppResult<()> {
        let now = self.now_ms();
        let (wid, event) = (wid.to_owned(), format!("transfer:{event}"));
        self.db
            .write(move |c| {
                crate::money::withdrawals::settle_payout(c, now, "wechat", &event, &wid, succeeded)
                    .map(|_| ())
            })
            .await
    }
}

/// Follows a WeChat Pay transfer until it is paid or returned (see [`enqueue_payout`]).
#[derive(Debug, Serialize, Deserialize)]
pub struct WechatPayout {
    pub withdrawal_id: String,
}

impl Job for WechatPayout {
    const KIND: &'static str = "rails.wechatpay.payout";
    const MAX_ATTEMPTS: i64 = 8;
    const LANE: Lane = Lane::Delivery;

    async fn run(self, app: &App, _attempt: &ClaimedJob) -> Result<(), JobError> {
        if app.wechat_payout_query(&self.withdrawal_id).await? {
            return Err(JobError::Later {
                run_at_ms: app.now_ms() + QUERY_EVERY_MS,
            });
        }
        Ok(())
    }
}

pub(crate) fn register_jobs(jobs: &mut JobRegistry) {
    jobs.register::<WechatPayout>();
}
