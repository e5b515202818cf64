//! WeChat Pay API v3 refunds (退款): asked for with `POST /v3/refund/domestic/refunds`
//! (the payment's `out_trade_no`, `out_refund_no` = kith's refund id without hyphens, the
//! owner's `notify_url`, `amount{refund,total,currency}`), settled by its answer
//! (`SUCCESS` / `CLOSED` / `ABNORMAL`; `PROCESSING` waits), by the refund notification
//! (`REFUND.SUCCESS` / `REFUND.ABNORMAL` / `REFUND.CLOSED`, verified and decrypted like the
//! payment notification), or by the refund query
//! (`GET /v3/refund/domestic/refunds/{out_refund_no}`) that [`QueryWechatRefund`] runs for a
//! refund whose notification never comes. Every path checks the refund is the owner's, its
//! order number and both amounts, and settles through `commerce::refunds::settle`, which is
//! idempotent: whichever word arrives first settles, the others change nothing.

use serde::{Deserialize, Serialize};

use super::protocol::{self, RefundAmount, RefundAnswer, RefundResource};
use super::{NotifyRefusal, refuse, refuse_app};
use crate::commerce::payments::CallbackOutcome;
use crate::commerce::refunds::{SettleOutcome, Settlement};
use crate::events::jobs::{ClaimedJob, Job, JobError, Lane, enqueue};
use crate::rails::credentials::{WechatPayKeys, load_wechatpay};
use crate::rails::store;
use crate::{App, AppError, AppResult};

/// How often a refund still processing at WeChat Pay is asked about, and for how long.
const QUERY_EVERY_MS: i64 = 60_000;
const QUERY_FOR_MS: i64 = 3 * 24 * 3600 * 1000;

/// What WeChat Pay said about a refund, from any of its three paths.
struct RefundWord<'a> {
    mchid: Option<&'a str>,
    out_trade_no: Option<&'a str>,
    out_refund_no: &'a str,
    refund_id: Option<&'a str>,
    status: &'a str,
    amount: &'a RefundAmount,
}

fn outcome(o: SettleOutcome) -> CallbackOutcome {
    match o {
        SettleOutcome::Succeeded => CallbackOutcome::Applied,
        SettleOutcome::Failed => CallbackOutcome::Failed,
        SettleOutcome::Duplicate => CallbackOutcome::Duplicate,
    }
}

impl App {
    /// Asks WeChat Pay for a requested refund (the [`crate::commerce::refunds::SendRefund`]
    /// job) and applies its answer. Asking twice is safe: WeChat Pay refunds one
    /// `out_refund_no` once.
    pub async fn wechat_request_refund(&self, refund_id: &str) -> AppResult<()> {
        let Some((r, keys, owner)) = self.wechat_refund_context(refund_id).await? else {
            return Ok(());
        };
        if r.status != "requested" {
            return Ok(());
        }
        let body = serde_json::json!({
            "out_trade_no": protocol::out_trade_no(&r.payment_id),
            "out_refund_no": protocol::out_trade_no(refund_id),
            "reason": r.reason.chars().take(80).collect::<String>(),
            "notify_url": self.notify_url(&owner),
            "amount": { "refund": r.amount_fen, "total": r.payment_amount_fen, "currency": "CNY" },
        });
        let (status, answer) = self
            .wechat_call(&keys, "POST", protocol::REFUNDS_PATH, Some(&body))
            .await?;
        match status {
            200 => {
                let a: RefundAnswer = serde_json::from_value(answer).map_err(|e| {
                    AppError::Unavailable(format!("WeChat Pay's refund does not parse: {e}"))
                })?;
                if self.wechat_apply_refund_answer(&keys, &owner, &a).await?
                    == CallbackOutcome::Ignored
                {
                    schedule_query(self, refund_id).await?;
                }
            }
            // WeChat Pay's business refusals (余额不足, 订单已全额退款, 参数错误 …): the
            // refund fails with its message and the hold is released; staff may ask again.
            400 | 403 | 404 => {
                let message = format!(
                    "{}: {}",
                    answer
                        .get("code")
                        .and_then(|m| m.as_str())
                        .unwrap_or("FAIL"),
                    answer.get("message").and_then(|m| m.as_str()).unwrap_or("")
                );
                let rid = refund_id.to_owned();
                let lc = self.lifecycle.clone();
                let now = self.now_ms();
                self.db
                    .write(move |c| {
                        crate::commerce::refunds::settle(
                            c,
                            &lc,
                            now,
                            &rid,
                            Settlement::Failed {
                                reason: message.chars().take(200).collect(),
                            },
                        )
                    })
                    .await?;
            }
            other => {
                return Err(AppError::Unavailable(format!(
                    "WeChat Pay's refund API answered {other}"
                )));
            }
        }
        Ok(())
    }

    /// Asks WeChat Pay about a refund still requested and applies the answer. `Ignored`
    /// while it is processing.
    pub async fn wechat_query_refund(&self, refund_id: &str) -> AppResult<CallbackOutcome> {
        let Some((r, keys, owner)) = self.wechat_refund_context(refund_id).await? else {
            return Ok(CallbackOutcome::Ignored);
        };
        if r.status != "requested" {
            return Ok(CallbackOutcome::Ignored);
        }
        let path = format!(
            "{}/{}",
            protocol::REFUNDS_PATH,
            protocol::out_trade_no(refund_id)
        );
        let (status, answer) = self.wechat_call(&keys, "GET", &path, None).await?;
        if status == 404 {
            // Never reached WeChat Pay: ask again.
            let rid = refund_id.to_owned();
            self.wechat_request_refund(&rid).await?;
            return Ok(CallbackOutcome::Ignored);
        }
        if status != 200 {
            return Err(AppError::Unavailable(format!(
                "WeChat Pay's refund query answered {status}"
            )));
        }
        let a: RefundAnswer = serde_json::from_value(answer).map_err(|e| {
            AppError::Unavailable(format!("WeChat Pay's refund does not parse: {e}"))
        })?;
        self.wechat_apply_refund_answer(&keys, &owner, &a).await
    }

    async fn wechat_refund_context(
        &self,
        refund_id: &str,
    ) -> AppResult<Option<(store::RailRefund, WechatPayKeys, String)>> {
        let rid = refund_id.to_owned();
        let key = self.config.secret_key.clone();
        self.db
            .read(move |c| {
                let Some(r) = store::refund(c, &rid)? else {
                    return Ok(None);
                };
                let owner = r.owner.clone().ok_or(AppError::NotFound("refund"))?;
                let keys = load_wechatpay(c, key.as_ref(), &owner)?
                    .ok_or(AppError::NotFound("payment credentials"))?;
                Ok(Some((r, keys, owner)))
            })
            .await
    }

    async fn wechat_apply_refund_answer(
        &self,
        keys: &WechatPayKeys,
        owner: &str,
        a: &RefundAnswer,
    ) -> AppResult<CallbackOutcome> {
        let word = RefundWord {
            mchid: None,
            out_trade_no: a.out_trade_no.as_deref(),
            out_refund_no: &a.out_refund_no,
            refund_id: Some(&a.refund_id),
            status: &a.status,
            amount: &a.amount,
        };
        self.wechat_settle_refund(keys, owner, &word)
            .await
            .map_err(|r| AppError::Unavailable(r.message))
    }

    /// A refund notification's decrypted resource, from `owner`'s notify URL.
    pub(super) async fn wechat_apply_refund_notification(
        &self,
        keys: &WechatPayKeys,
        owner: &str,
        plain: &[u8],
    ) -> Result<CallbackOutcome, NotifyRefusal> {
        let n: RefundResource = serde_json::from_slice(plain)
            .map_err(|e| refuse(400, format!("the refund does not parse: {e}")))?;
        let word = RefundWord {
            mchid: Some(&n.mchid),
            out_trade_no: Some(&n.out_trade_no),
            out_refund_no: &n.out_refund_no,
            refund_id: n.refund_id.as_deref(),
            status: &n.refund_status,
            amount: &n.amount,
        };
        self.wechat_settle_refund(keys, owner, &word).await
    }

    /// Checks what WeChat Pay said against kith's refund and settles it.
    async fn wechat_settle_refund(
        &self,
        keys: &WechatPayKeys,
        owner: &str,
        w: &RefundWord<'_>,
    ) -> Result<CallbackOutcome, NotifyRefusal> {
        if w.mchid.is_some_and(|m| m != keys.mch_id) {
            return Err(refuse(400, "mchid is not this notify URL's merchant id"));
        }
        let rid = crate::platform::ids::parse_id(w.out_refund_no)
            .ok_or_else(|| refuse(404, "out_refund_no is not a kith refund"))?;
        let r = {
            let rid = rid.clone();
            self.db
                .read(move |c| store::refund(c, &rid))
                .await
                .map_err(refuse_app)?
                .ok_or_else(|| refuse(404, "no such WeChat Pay refund"))?
        };
        if r.owner.as_deref() != Some(owner) {
            return Err(refuse(404, "the refund is not this merchant's"));
        }
        if w.out_trade_no
            .is_some_and(|n| n != protocol::out_trade_no(&r.payment_id))
        {
            return Err(refuse(400, "out_trade_no is not the refunded payment's"));
        }
        if w.amount.refund != r.amount_fen || w.amount.total != r.payment_amount_fen {
            return Err(refuse(
                400,
                format!(
                    "the amounts say {} of {} fen, the refund is {} of {} fen",
                    w.amount.refund, w.amount.total, r.amount_fen, r.payment_amount_fen
                ),
            ));
        }
        let provider_id = w
            .refund_id
            .filter(|s| !s.is_empty() && s.len() <= 64)
            .map(str::to_owned);
        let settlement = match w.status {
            "SUCCESS" => Settlement::Succeeded {
                provider_refund_id: provider_id.clone(),
            },
            "CLOSED" => Settlement::Failed {
                reason: "微信支付关闭了这笔退款 (CLOSED)".to_owned(),
            },
            "ABNORMAL" => Settlement::Failed {
                reason: "微信支付退款异常 (ABNORMAL)：买家的收款账户不可用".to_owned(),
            },
            "PROCESSING" => {
                if let Some(id) = provider_id {
                    self.db
                        .write(move |c| store::set_provider_refund_id(c, &rid, &id))
                        .await
                        .map_err(refuse_app)?;
                }
                return Ok(CallbackOutcome::Ignored);
            }
            other => return Err(refuse(400, format!("unknown refund status {other}"))),
        };
        let now = self.now_ms();
        let lc = self.lifecycle.clone();
        let done = self
            .db
            .write(move |c| {
                if let Some(id) = &provider_id {
                    store::set_provider_refund_id(c, &rid, id)?;
                }
                crate::commerce::refunds::settle(c, &lc, now, &rid, settlement.clone())
            })
            .await
            .map_err(refuse_app)?;
        Ok(outcome(done))
    }
}

/// Asks WeChat Pay about a refund still requested, every minute for three days (its
/// notification may never come), and ends once it is settled.
#[derive(Debug, Serialize, Deserialize)]
pub struct QueryWechatRefund {
    pub refund_id: String,
}

impl Job for QueryWechatRefund {
    const KIND: &'static str = "rails.wechatpay.refund_query";
    const MAX_ATTEMPTS: i64 = 8;
    const LANE: Lane = Lane::Delivery;

    async fn run(self, app: &App, _attempt: &ClaimedJob) -> Result<(), JobError> {
        app.wechat_query_refund(&self.refund_id).await?;
        let rid = self.refund_id.clone();
        let Some(r) = app.db.read(move |c| store::refund(c, &rid)).await? else {
            return Ok(());
        };
        let now = app.now_ms();
        if r.status == "requested" && now - r.created_at < QUERY_FOR_MS {
            return Err(JobError::Later {
                run_at_ms: now + QUERY_EVERY_MS,
            });
        }
        Ok(())
    }
}

/// Schedules the refund query a minute after a refund was sent (the job ends at once when
/// the refund settles first).
pub(crate) async fn schedule_query(app: &App, refund_id: &str) -> AppResult<()> {
    let now = app.now_ms();
    let job = QueryWechatRefund {
        refund_id: refund_id.to_owned(),
    };
    app.db
        .write(move |c| enqueue(c, now, &job, now + QUERY_EVERY_MS).map_err(Into::into))
        .await
        .map(|_| ())
}
