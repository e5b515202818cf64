//! Alipay (支付宝开放平台, RSA2) for a merchant's (or the platform's) own app: paying
//! orders, group-buy seats and wallet top-ups, the asynchronous notification, the trade
//! query, refunds, and payouts by transfer to a member's Alipay account.
//!
//! Every request is signed RSA2 with the owner's app private key ([`protocol`]); every
//! answer kith acts on is verified with the Alipay public key over the answer node's text
//! exactly as sent. A notification (a form POST) is accepted only when its RSA2 signature
//! verifies (sign content without `sign` and `sign_type`), its `app_id` (and `seller_id`,
//! when the owner gave one) is the owner's, its `out_trade_no` is a payment of this owner,
//! and its `total_amount` is the payment's to the fen; `TRADE_SUCCESS` / `TRADE_FINISHED`
//! are applied through commerce's callback path (idempotent on Alipay's `trade_no`), other
//! states are taken and ignored. The reply is `success` when taken, anything else makes
//! Alipay send it again.
//!
//! - Pay: `alipay.trade.wap.pay` (phone) and `alipay.trade.page.pay` (desktop) are signed
//!   redirects to the gateway (the payment's `pay_url`); `alipay.trade.precreate` is a
//!   server call whose `qr_code` is the `pay_url`. A job asks `alipay.trade.query` about a
//!   payment whose notification never comes.
//! - Payouts: `alipay.fund.trans.uni.transfer` (TRANS_ACCOUNT_NO_PWD, DIRECT_TRANSFER,
//!   `out_biz_no` = the withdrawal id, payee ALIPAY_LOGON_ID with the real name) from the
//!   platform's app; SUCCESS pays the withdrawal out, FAIL returns the money, DEALING is
//!   asked about by a job (`alipay.fund.trans.common.query`). Idempotent by `out_biz_no`.
//! - Refunds: `alipay.trade.refund` ([`App::alipay_refund`]; `out_request_no` = the refund
//!   id) — not yet called by `commerce::refunds`.

pub mod bill;
pub mod protocol;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::credentials::{AlipayKeys, load_alipay};
use super::store;
use crate::commerce::payments::{CallbackBody, CallbackOutcome, Payment};
use crate::events::jobs::{ClaimedJob, Job, JobError, JobRegistry, Lane, enqueue};
use crate::platform::ids::{new_id, parse_id};
use crate::{App, AppError, AppResult, Principal};
use kith_domain::order::OrderStatus;

/// Alipay's production gateway.
pub const GATEWAY: &str = "https://openapi.alipay.com/gateway.do";

/// How the payer pays: a phone browser (wap), a desktop browser (page) or a QR code to
/// scan (precreate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlipayMode {
    #[default]
    Wap,
    Page,
    Qr,
}

/// Why a notification was refused: the HTTP status and a message for the log. The body
/// Alipay gets is always `fail`.
#[derive(Debug, Clone)]
pub struct AlipayRefusal {
    pub status: u16,
    pub message: String,
}

fn refuse(status: u16, message: impl Into<String>) -> AlipayRefusal {
    let message = message.into();
    tracing::warn!(status, %message, "refused Alipay notification");
    AlipayRefusal { status, message }
}

fn refuse_app(e: AppError) -> AlipayRefusal {
    let status = match &e {
        AppError::NotFound(_) => 404,
        AppError::Invalid { .. } => 400,
        AppError::Conflict { .. } => 409,
        _ => 500,
    };
    refuse(status, e.to_string())
}

/// What Alipay says about a trade, from a notification or `alipay.trade.query`.
#[derive(Debug, Clone, Default)]
pub struct Trade {
    pub app_id: String,
    pub out_trade_no: String,
    pub trade_no: String,
    pub trade_status: String,
    pub total_amount: String,
    pub seller_id: String,
}

/// What `alipay.trade.refund` answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlipayRefund {
    /// `fund_change`: `Y` when this call moved money (`N` for a repeat of one that did).
    pub fund_change: bool,
    /// `refund_fee`: the trade's total refunded so far, in fen.
    pub refunded_total_fen: i64,
    pub trade_no: String,
}

fn text(node: &Value, field: &str) -> String {
    node.get(field)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// A business refusal (`40004`) that no retry changes, rather than Alipay being busy.
fn final_refusal(node: &Value) -> bool {
    text(node, "code") == "40004"
        && !matches!(
            text(node, "sub_code").as_str(),
            "SYSTEM_ERROR" | "ACQ.SYSTEM_ERROR" | "aop.SYSTEM_ERROR"
        )
}

const PAY_QUERY_EVERY_MS: i64 = 60_000;
/// Alipay closes an unpaid trade after its `time_expire` at the latest; kith asks for
/// two hours after the payment was made (an order's pay window is shorter).
const PAY_QUERY_FOR_MS: i64 = 2 * 3600 * 1000;
const PAYOUT_QUERY_EVERY_MS: i64 = 60_000;

impl App {
    fn alipay_http(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_default()
    }

    /// Sends one signed request to the gateway and verifies the answer: the answer node
    /// (its own, or `error_response`) as JSON.
    async fn alipay_call(
        &self,
        keys: &AlipayKeys,
        method: &str,
        biz: &Value,
        notify_url: Option<&str>,
    ) -> AppResult<Value> {
        let mut params =
            protocol::request_params(&keys.app_id, method, biz, self.now_ms(), notify_url, None);
        protocol::sign_request(&mut params, &keys.private_key);
        let res = self
            .alipay_http()
            .post(&self.config.alipay_gateway)
            .header(
                "content-type",
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .header("user-agent", "kith")
            .body(protocol::form_encode(&params))
            .send()
            .await
            .map_err(|e| AppError::Unavailable(format!("Alipay could not be reached: {e}")))?;
        let status = res.status().as_u16();
        let body = res
            .text()
            .await
            .map_err(|e| AppError::Unavailable(format!("Alipay's answer was cut: {e}")))?;
        if status != 200 {
            return Err(AppError::Unavailable(format!(
                "Alipay's gateway answered HTTP {status}"
            )));
        }
        let (node, sign) = protocol::signed_node(&body, method).ok_or_else(|| {
            AppError::Unavailable(format!("Alipay's answer to {method} has no signed node"))
        })?;
        if !protocol::verify(&keys.alipay_public, node, &sign) {
            return Err(AppError::Unavailable(format!(
                "Alipay's answer to {method} does not verify with the Alipay public key"
            )));
        }
        serde_json::from_str(node)
            .map_err(|e| AppError::Unavailable(format!("Alipay's answer is not JSON: {e}")))
    }

    /// Starts paying an order with the merchant's Alipay: a pending payment, then its pay
    /// page (`wap`, `page`) or QR code (`qr`) as the payment's `pay_url`. Asking again
    /// returns the same pending payment with a link for the mode asked.
    pub async fn pay_with_alipay(
        &self,
        who: &Principal,
        order_id: &str,
        mode: AlipayMode,
    ) -> AppResult<Payment> {
        let now = self.now_ms();
        let key = self.config.secret_key.clone();
        let (w, oid) = (who.clone(), order_id.to_owned());
        let (pid, amount, merchant, keys, deadline) = self
            .db
            .write(move |c| {
                let o = crate::commerce::orders::lock_order(c, &oid)?;
                if o.buyer_id != w.account_id {
                    return Err(AppError::NotFound("order"));
                }
                if o.status != OrderStatus::PendingPayment || now >= o.pay_deadline {
                    return Err(AppError::state("the order is not awaiting payment"));
                }
                if o.total_fen <= 0 {
                    return Err(AppError::state(
                        "a free order is paid with the wallet provider",
                    ));
                }
                let keys = load_alipay(c, key.as_ref(), &o.merchant_id)?.ok_or_else(|| {
                    AppError::invalid("provider", "this shop does not take Alipay")
                })?;
                let id = match store::pending_order_payment(
                    c,
                    "alipay",
                    &oid,
                    &o.merchant_id,
                    "",
                    "",
                )? {
                    Some((id, _)) => id,
                    None => {
                        let id = new_id();
                        store::insert_pending(
                            c,
                            "alipay",
                            &id,
                            Some(&oid),
                            &o.buyer_id,
                            o.total_fen,
                            &o.merchant_id,
                            now,
                            "",
                            "",
                        )?;
                        enqueue(
                            c,
                            now,
                            &QueryAlipayPayment {
                                payment_id: id.clone(),
                            },
                            now + PAY_QUERY_EVERY_MS,
                        )?;
                        id
                    }
                };
                Ok((id, o.total_fen, o.merchant_id.clone(), keys, o.pay_deadline))
            })
            .await?;
        let return_url = format!("{}/orders/{order_id}", self.config.public_url);
        self.alipay_link(
            &keys,
            &merchant,
            &pid,
            amount,
            "kith 订单",
            mode,
            Some(deadline),
            Some(&return_url),
        )
        .await?;
        self.get_payment(who, &crate::platform::ids::PaymentId::from_row(pid))
            .await
    }

    /// Tops up the caller's wallet with the platform's Alipay.
    pub async fn start_alipay_topup(
        &self,
        who: &Principal,
        amount_fen: i64,
        mode: AlipayMode,
    ) -> AppResult<Payment> {
        if !(1..=crate::commerce::payments::MAX_TOPUP_FEN).contains(&amount_fen) {
            return Err(AppError::invalid(
                "amount_fen",
                format!("must be 1–{} fen", crate::commerce::payments::MAX_TOPUP_FEN),
            ));
        }
        let now = self.now_ms();
        let key = self.config.secret_key.clone();
        let w = who.clone();
        let (pid, keys) = self
            .db
            .write(move |c| {
                let keys = load_alipay(c, key.as_ref(), super::PLATFORM)?.ok_or_else(|| {
                    AppError::invalid("provider", "the platform does not take Alipay")
                })?;
                let id = new_id();
                store::insert_pending(
                    c,
                    "alipay",
                    &id,
                    None,
                    &w.account_id,
                    amount_fen,
                    super::PLATFORM,
                    now,
                    "",
                    "",
                )?;
                enqueue(
                    c,
                    now,
                    &QueryAlipayPayment {
                        payment_id: id.clone(),
                    },
                    now + PAY_QUERY_EVERY_MS,
                )?;
                Ok::<_, AppError>((id, keys))
            })
            .await?;
        let return_url = format!("{}/me/wallet", self.config.public_url);
        self.alipay_link(
            &keys,
            super::PLATFORM,
            &pid,
            amount_fen,
            "kith 钱包充值",
            mode,
            None,
            Some(&return_url),
        )
        .await?;
        self.get_payment(who, &crate::platform::ids::PaymentId::from_row(pid))
            .await
    }

    /// Makes the payment's `pay_url`: a signed redirect (wap / page) or a precreated QR
    /// code, and stores it.
    #[allow(clippy::too_many_arguments)]
    async fn alipay_link(
        &self,
        keys: &AlipayKeys,
        owner: &str,
        payment_id: &str,
        amount_fen: i64,
        subject: &str,
        mode: AlipayMode,
        expires_ms: Option<i64>,
        return_url: Option<&str>,
    ) -> AppResult<()> {
        let mut biz = json!({
            "out_trade_no": protocol::out_no(payment_id),
            "total_amount": protocol::yuan(amount_fen),
            "subject": subject,
        });
        if let Some(at) = expires_ms {
            biz["time_expire"] = Value::String(protocol::timestamp(at));
        }
        let notify_url = self.alipay_notify_url(owner);
        let link = match mode {
            AlipayMode::Wap | AlipayMode::Page => {
                let (method, product) = if mode == AlipayMode::Wap {
                    ("alipay.trade.wap.pay", "QUICK_WAP_WAY")
                } else {
                    ("alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY")
                };
                biz["product_code"] = Value::String(product.into());
                let mut params = protocol::request_params(
                    &keys.app_id,
                    method,
                    &biz,
                    self.now_ms(),
                    Some(&notify_url),
                    return_url,
                );
                protocol::sign_request(&mut params, &keys.private_key);
                let gw = &self.config.alipay_gateway;
                let sep = if gw.contains('?') { '&' } else { '?' };
                format!("{gw}{sep}{}", protocol::form_encode(&params))
            }
            AlipayMode::Qr => {
                let node = self
                    .alipay_call(keys, "alipay.trade.precreate", &biz, Some(&notify_url))
                    .await?;
                if text(&node, "code") != protocol::CODE_OK {
                    return Err(AppError::Unavailable(format!(
                        "Alipay refused the trade ({} {}): {}",
                        text(&node, "code"),
                        text(&node, "sub_code"),
                        text(&node, "sub_msg")
                    )));
                }
                let qr = text(&node, "qr_code");
                if qr.is_empty() {
                    return Err(AppError::Unavailable(
                        "Alipay's precreate answer has no qr_code".into(),
                    ));
                }
                qr
            }
        };
        let pid = payment_id.to_owned();
        self.db
            .write(move |c| store::set_pay_link(c, &pid, &link))
            .await
    }

    /// An asynchronous notification to `owner`'s notify URL (the raw form body).
    pub async fn alipay_notify(
        &self,
        owner: &str,
        body: &[u8],
    ) -> Result<CallbackOutcome, AlipayRefusal> {
        let owner = if owner == super::PLATFORM {
            owner.to_owned()
        } else {
            parse_id(owner).ok_or_else(|| refuse(404, "unknown merchant"))?
        };
        let key = self.config.secret_key.clone();
        let o = owner.clone();
        let keys = self
            .db
            .read(move |c| load_alipay(c, key.as_ref(), &o))
            .await
            .map_err(|e| refuse(500, e.to_string()))?
            .ok_or_else(|| refuse(404, "no Alipay credentials for this notify URL"))?;
        let params = protocol::form_decode(body).map_err(|e| refuse(400, e))?;
        let get = |k: &str| params.get(k).cloned().unwrap_or_default();
        let sign = get("sign");
        if sign.is_empty() {
            return Err(refuse(401, "the notification has no sign"));
        }
        if !matches!(get("sign_type").as_str(), "" | protocol::SIGN_TYPE) {
            return Err(refuse(401, "sign_type is not RSA2"));
        }
        if !protocol::verify(
            &keys.alipay_public,
            &protocol::notify_content(&params),
            &sign,
        ) {
            return Err(refuse(401, "the signature does not verify"));
        }
        let trade = Trade {
            app_id: get("app_id"),
            out_trade_no: get("out_trade_no"),
            trade_no: get("trade_no"),
            trade_status: get("trade_status"),
            total_amount: get("total_amount"),
            seller_id: get("seller_id"),
        };
        self.alipay_apply_trade(&keys, &owner, &trade, true).await
    }

    /// Applies what Alipay says about a trade through commerce's callback path.
    async fn alipay_apply_trade(
        &self,
        keys: &AlipayKeys,
        owner: &str,
        t: &Trade,
        from_notify: bool,
    ) -> Result<CallbackOutcome, AlipayRefusal> {
        if from_notify && t.app_id != keys.app_id {
            return Err(refuse(400, "app_id is not this notify URL's app"));
        }
        if let Some(seller) = &keys.seller_id
            && (from_notify || !t.seller_id.is_empty())
            && &t.seller_id != seller
        {
            return Err(refuse(
                400,
                "seller_id is not this merchant's Alipay account",
            ));
        }
        let pid = parse_id(&t.out_trade_no)
            .ok_or_else(|| refuse(404, "out_trade_no is not a kith payment"))?;
        let p = {
            let pid = pid.clone();
            self.db
                .read(move |c| store::payment(c, &pid, "alipay"))
                .await
                .map_err(|e| refuse(500, e.to_string()))?
                .ok_or_else(|| refuse(404, "no such Alipay payment"))?
        };
        if p.owner.as_deref() != Some(owner) {
            return Err(refuse(404, "the payment is not this merchant's"));
        }
        if !matches!(t.trade_status.as_str(), "TRADE_SUCCESS" | "TRADE_FINISHED") {
            // WAIT_BUYER_PAY, TRADE_CLOSED: nothing to apply (a closed trade leaves the
            // payment pending until the order's own window closes).
            return Ok(CallbackOutcome::Ignored);
        }
        let trade_no = Some(t.trade_no.clone())
            .filter(|s| !s.is_empty() && s.len() <= 64)
            .ok_or_else(|| refuse(400, "a paid trade has no trade_no"))?;
        // A total that is not the payment's is refused by the callback path's amount
        // check, which records it — under its own event id, so that it does not stand in
        // for a correct word about the same trade.
        let amount = protocol::parse_yuan(&t.total_amount).unwrap_or(-1);
        let raw_total: String = t.total_amount.chars().take(24).collect();
        let now = self.now_ms();
        let lc = self.lifecycle.clone();
        let out = self
            .db
            .write(move |c| {
                let stored = store::payment_amount(c, &pid)?;
                let event_id = if stored == Some(amount) {
                    trade_no.clone()
                } else {
                    format!("{trade_no}:amount:{raw_total}")
                };
                let cb = CallbackBody {
                    event_id,
                    payment_id: pid.clone(),
                    status: "succeeded".to_owned(),
                    amount_fen: amount,
                };
                let out =
                    crate::commerce::payments::apply_callback(c, &lc, now, "alipay", &cb, &pid)?;
                if out.is_ok() {
                    store::set_provider_txn(c, &pid, &trade_no)?;
                }
                Ok::<_, AppError>(out)
            })
            .await
            .map_err(refuse_app)?;
        out.map_err(|reason| refuse(400, reason))
    }

    /// Asks Alipay about a pending payment (`alipay.trade.query`) and applies the answer.
    /// `Ignored` when it is not paid there (yet).
    pub async fn alipay_query_payment(&self, payment_id: &str) -> AppResult<CallbackOutcome> {
        let pid = payment_id.to_owned();
        let key = self.config.secret_key.clone();
        let (p, keys) = self
            .db
            .read(move |c| {
                let p = store::payment(c, &pid, "alipay")?.ok_or(AppError::NotFound("payment"))?;
                let owner = p.owner.clone().ok_or(AppError::NotFound("payment"))?;
                let keys = load_alipay(c, key.as_ref(), &owner)?
                    .ok_or(AppError::NotFound("payment credentials"))?;
                Ok::<_, AppError>((p, keys))
            })
            .await?;
        if p.status != "pending" {
            return Ok(CallbackOutcome::Ignored);
        }
        let owner = p.owner.clone().unwrap_or_default();
        let node = self
            .alipay_call(
                &keys,
                "alipay.trade.query",
                &json!({ "out_trade_no": protocol::out_no(payment_id) }),
                None,
            )
            .await?;
        if text(&node, "code") != protocol::CODE_OK {
            if text(&node, "sub_code") == "ACQ.TRADE_NOT_EXIST" {
                // The payer has not opened the pay page yet: no trade at Alipay.
                return Ok(CallbackOutcome::Ignored);
            }
            return Err(AppError::Unavailable(format!(
                "Alipay's trade query answered {} {}",
                text(&node, "code"),
                text(&node, "sub_code")
            )));
        }
        let t = Trade {
            app_id: keys.app_id.clone(),
            out_trade_no: text(&node, "out_trade_no"),
            trade_no: text(&node, "trade_no"),
            trade_status: text(&node, "trade_status"),
            total_amount: text(&node, "total_amount"),
            seller_id: text(&node, "seller_id"),
        };
        if t.out_trade_no != protocol::out_no(payment_id) {
            return Err(AppError::Unavailable(
                "Alipay's trade query answered about another trade".into(),
            ));
        }
        self.alipay_apply_trade(&keys, &owner, &t, false)
            .await
            .map_err(|r| AppError::Unavailable(r.message))
    }

    /// Refunds `amount_fen` of an Alipay payment (`alipay.trade.refund`, `out_request_no`
    /// = the refund id, so asking again is the same refund). Alipay refunds synchronously:
    /// `code` 10000 means it is done.
    pub async fn alipay_refund(
        &self,
        payment_id: &str,
        refund_id: &str,
        amount_fen: i64,
    ) -> AppResult<AlipayRefund> {
        if amount_fen <= 0 {
            return Err(AppError::invalid("amount_fen", "must be more than zero"));
        }
        let pid = payment_id.to_owned();
        let key = self.config.secret_key.clone();
        let keys = self
            .db
            .read(move |c| {
                let p = store::payment(c, &pid, "alipay")?.ok_or(AppError::NotFound("payment"))?;
                if p.status != "succeeded" && p.status != "returned" {
                    return Err(AppError::state("the payment did not succeed"));
                }
                let owner = p.owner.ok_or(AppError::NotFound("payment"))?;
                load_alipay(c, key.as_ref(), &owner)?
                    .ok_or(AppError::NotFound("payment credentials"))
            })
            .await?;
        let node = self
            .alipay_call(
                &keys,
                "alipay.trade.refund",
                &json!({
                    "out_trade_no": protocol::out_no(payment_id),
                    "refund_amount": protocol::yuan(amount_fen),
                    "out_request_no": protocol::out_no(refund_id),
                }),
                None,
            )
            .await?;
        if text(&node, "code") != protocol::CODE_OK {
            let why = format!(
                "Alipay refused the refund ({} {}): {}",
                text(&node, "code"),
                text(&node, "sub_code"),
                text(&node, "sub_msg")
            );
            return Err(if final_refusal(&node) {
                AppError::state(why)
            } else {
                AppError::Unavailable(why)
            });
        }
        Ok(AlipayRefund {
            fund_change: text(&node, "fund_change") == "Y",
            refunded_total_fen: protocol::parse_yuan(&text(&node, "refund_fee")).unwrap_or(0),
            trade_no: text(&node, "trade_no"),
        })
    }

    /// Sends a requested refund of an Alipay-paid order to Alipay (the
    /// `commerce::refunds::SendRefund` job) and settles it by the answer: Alipay refunds
    /// synchronously, so `10000` is success (a repeat that moved no money too: the same
    /// `out_request_no` was refunded before); a final business refusal fails the refund
    /// (its hold released; staff may ask again); anything else is an error, and the job
    /// asks again with the same refund id.
    pub(crate) async fn alipay_request_refund(&self, refund_id: &str) -> AppResult<()> {
        let rid = refund_id.to_owned();
        let Some(r) = self
            .db
            .read(move |c| store::refund_through(c, &rid, "alipay"))
            .await?
        else {
            return Ok(());
        };
        if r.status != "requested" {
            return Ok(());
        }
        let settlement = match self
            .alipay_refund(&r.payment_id, refund_id, r.amount_fen)
            .await
        {
            Ok(done) => crate::commerce::refunds::Settlement::Succeeded {
                provider_refund_id: Some(done.trade_no),
            },
            Err(AppError::Conflict { reason, .. }) => {
                crate::commerce::refunds::Settlement::Failed {
                    reason: reason.chars().take(200).collect(),
                }
            }
            Err(e) => return Err(e),
        };
        let (lc, now, rid) = (self.lifecycle.clone(), self.now_ms(), refund_id.to_owned());
        self.db
            .write(move |c| crate::commerce::refunds::settle(c, &lc, now, &rid, settlement.clone()))
            .await?;
        Ok(())
    }

    /// Sends an approved withdrawal to the member's Alipay account from the platform's
    /// app (`alipay.fund.trans.uni.transfer`) and settles it by the answer: SUCCESS paid,
    /// FAIL (or a final business refusal) returned; DEALING stays `paying` for the query
    /// job. Idempotent: Alipay answers a repeated `out_biz_no` with the first result.
    pub async fn alipay_payout(&self, withdrawal_id: &str) -> AppResult<()> {
        let Some((w, keys)) = self.alipay_payout_load(withdrawal_id).await? else {
            return Ok(());
        };
        let node = self
            .alipay_call(
                &keys,
                "alipay.fund.trans.uni.transfer",
                &json!({
                    "out_biz_no": protocol::out_no(&w.id),
                    "trans_amount": protocol::yuan(w.amount_fen.get()),
                    "product_code": "TRANS_ACCOUNT_NO_PWD",
                    "biz_scene": "DIRECT_TRANSFER",
                    "order_title": "kith 佣金提现",
                    "payee_info": {
                        "identity": w.payee_account,
                        "identity_type": "ALIPAY_LOGON_ID",
                        "name": w.payee_name,
                    },
                    "remark": "kith 佣金提现",
                }),
                None,
            )
            .await?;
        if text(&node, "code") != protocol::CODE_OK {
            if final_refusal(&node) {
                tracing::warn!(withdrawal = %w.id, sub_code = %text(&node, "sub_code"), "Alipay refused the transfer");
                return self.alipay_settle(&w.id, false).await;
            }
            return Err(AppError::Unavailable(format!(
                "Alipay's transfer answered {} {}",
                text(&node, "code"),
                text(&node, "sub_code")
            )));
        }
        if text(&node, "out_biz_no") != protocol::out_no(&w.id) {
            return Err(AppError::Unavailable(
                "Alipay's transfer answer is about another out_biz_no".into(),
            ));
        }
        match text(&node, "status").as_str() {
            "SUCCESS" => self.alipay_settle(&w.id, true).await,
            "FAIL" => self.alipay_settle(&w.id, false).await,
            _ => Ok(()),
        }
    }

    /// Asks Alipay about a transfer still `paying` (`alipay.fund.trans.common.query`) and
    /// settles it when it is final; one Alipay never received is sent (again). Returns
    /// whether the withdrawal is still `paying`.
    pub async fn alipay_payout_query(&self, withdrawal_id: &str) -> AppResult<bool> {
        let Some((w, keys)) = self.alipay_payout_load(withdrawal_id).await? else {
            return Ok(false);
        };
        let node = self
            .alipay_call(
                &keys,
                "alipay.fund.trans.common.query",
                &json!({
                    "product_code": "TRANS_ACCOUNT_NO_PWD",
                    "biz_scene": "DIRECT_TRANSFER",
                    "out_biz_no": protocol::out_no(&w.id),
                }),
                None,
            )
            .await?;
        if text(&node, "code") != protocol::CODE_OK {
            if text(&node, "sub_code") == "ORDER_NOT_EXIST" {
                self.alipay_payout(&w.id).await?;
            } else {
                return Err(AppError::Unavailable(format!(
                    "Alipay's transfer query answered {} {}",
                    text(&node, "code"),
                    text(&node, "sub_code")
                )));
            }
        } else {
            match text(&node, "status").as_str() {
                "SUCCESS" => self.alipay_settle(&w.id, true).await?,
                "FAIL" | "CLOSED" | "REFUND" => self.alipay_settle(&w.id, false).await?,
                _ => {}
            }
        }
        let wid = w.id.clone();
        let now = self
            .db
            .read(move |c| crate::money::withdrawals::load(c, &wid, false))
            .await?;
        Ok(now.status == "paying")
    }

    /// A withdrawal being paid out through Alipay, and the platform's keys; `None` when it
    /// is no longer `paying` through Alipay.
    async fn alipay_payout_load(
        &self,
        withdrawal_id: &str,
    ) -> AppResult<Option<(crate::money::withdrawals::Withdrawal, AlipayKeys)>> {
        let wid = parse_id(withdrawal_id).ok_or(AppError::NotFound("withdrawal"))?;
        let key = self.config.secret_key.clone();
        self.db
            .read(move |c| {
                let w = crate::money::withdrawals::load(c, &wid, false)?;
                let ours = w
                    .payout_ref
                    .as_deref()
                    .is_some_and(|r| r.starts_with("alipay:"));
                if w.status != "paying" || !ours {
                    return Ok(None);
                }
                let keys = load_alipay(c, key.as_ref(), super::PLATFORM)?.ok_or_else(|| {
                    AppError::Unavailable("the platform's Alipay credentials are gone".into())
                })?;
                Ok(Some((w, keys)))
            })
            .await
    }

    async fn alipay_settle(&self, wid: &str, succeeded: bool) -> AppResult<()> {
        let now = self.now_ms();
        let wid = wid.to_owned();
        self.db
            .write(move |c| {
                let event = format!("transfer:{}", protocol::out_no(&wid));
                crate::money::withdrawals::settle_payout(c, now, "alipay", &event, &wid, succeeded)
                    .map(|_| ())
            })
            .await
    }
}

/// Queues the payout job of a withdrawal approved for Alipay (inside the approval's
/// transaction): it asks about the transfer a minute later, and every minute while Alipay
/// says DEALING, sending it (again) if Alipay never received it.
pub(crate) fn enqueue_payout(c: &mut dyn kith_store::Conn, now: i64, wid: &str) -> AppResult<()> {
    enqueue(
        c,
        now,
        &AlipayPayout {
            withdrawal_id: wid.to_owned(),
        },
        now + PAYOUT_QUERY_EVERY_MS,
    )?;
    Ok(())
}

/// Asks Alipay about a payment still pending a minute after it was made, every minute
/// until it is settled or two hours have passed (the notification may never come).
#[derive(Debug, Serialize, Deserialize)]
pub struct QueryAlipayPayment {
    pub payment_id: String,
}

impl Job for QueryAlipayPayment {
    const KIND: &'static str = "rails.alipay.query";
    const MAX_ATTEMPTS: i64 = 8;
    const LANE: Lane = Lane::Delivery;

    async fn run(self, app: &App, _attempt: &ClaimedJob) -> Result<(), JobError> {
        let outcome = app.alipay_query_payment(&self.payment_id).await?;
        let pid = self.payment_id.clone();
        let p = app
            .db
            .read(move |c| store::payment(c, &pid, "alipay"))
            .await?
            .ok_or(AppError::NotFound("payment"))?;
        let now = app.now_ms();
        if outcome == CallbackOutcome::Ignored
            && p.status == "pending"
            && now - p.created_at < PAY_QUERY_FOR_MS
        {
            return Err(JobError::Later {
                run_at_ms: now + PAY_QUERY_EVERY_MS,
            });
        }
        Ok(())
    }
}

/// Follows an Alipay transfer until it is paid or returned (see [`enqueue_payout`]).
#[derive(Debug, Serialize, Deserialize)]
pub struct AlipayPayout {
    pub withdrawal_id: String,
}

impl Job for AlipayPayout {
    const KIND: &'static str = "rails.alipay.payout";
    const MAX_ATTEMPTS: i64 = 8;
    const LANE: Lane = Lane::Delivery;

    async fn run(self, app: &App, _attempt: &ClaimedJob) -> Result<(), JobError> {
        if app.alipay_payout_query(&self.withdrawal_id).await? {
            return Err(JobError::Later {
                run_at_ms: app.now_ms() + PAYOUT_QUERY_EVERY_MS,
            });
        }
        Ok(())
    }
}

pub(crate) fn register_jobs(jobs: &mut JobRegistry) {
    jobs.register::<QueryAlipayPayment>();
    jobs.register::<AlipayPayout>();
}

/// A notification's parameters as a map (for the tests' local gateway, which builds and
/// signs them): `sign_type` RSA2 and `sign` over the rest.
pub fn signed_notification(
    mut params: BTreeMap<String, String>,
    alipay_key: &rsa::RsaPrivateKey,
) -> BTreeMap<String, String> {
    params.insert("sign_type".into(), protocol::SIGN_TYPE.into());
    let s = protocol::sign(alipay_key, &protocol::notify_content(&params));
    params.insert("sign".into(), s);
    params
}
