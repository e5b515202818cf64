//! WeChat Pay API v3: orders (JSAPI / H5 / Native), their notifications and the order
//! query, for a merchant's (or the platform's) own 商户号.
//!
//! Every request is signed `WECHATPAY2-SHA256-RSA2048` with the owner's merchant key, and
//! every answer kith acts on is verified with the platform certificate its
//! `Wechatpay-Serial` names — one kith downloaded from WeChat Pay ([`certificates`]), never
//! one the merchant typed. A notification is accepted only when its signature verifies,
//! its timestamp is within `callback_tolerance_secs`, its resource decrypts with the
//! owner's APIv3 key, and the transaction's mch id, app id and amount match the payment;
//! it is then applied through commerce's callback path, idempotent on WeChat's
//! `transaction_id`. Refunds, their notifications and the refund query: [`refunds`].

pub mod bill;
pub mod certificates;
pub mod protocol;
pub mod refunds;
pub mod transfer;

use crate::events::jobs::{ClaimedJob, Job, JobError, JobRegistry, Lane, enqueue};

use serde::{Deserialize, Serialize};

use super::credentials::{WechatPayKeys, load_wechatpay};
use super::store;
use crate::commerce::payments::{CallbackBody, CallbackOutcome, Payment};
use crate::platform::ids::new_id;
use crate::{App, AppError, AppResult, Principal};
use kith_domain::order::OrderStatus;
use protocol::{Notification, Transaction};

/// How the payer pays: a QR code (Native), a mobile browser (H5), or inside WeChat (JSAPI,
/// which needs the member's openid through the merchant's app id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WechatMode {
    #[default]
    Native,
    H5,
    Jsapi,
}

impl WechatMode {
    pub fn as_str(self) -> &'static str {
        match self {
            WechatMode::Native => "native",
            WechatMode::H5 => "h5",
            WechatMode::Jsapi => "jsapi",
        }
    }

    fn path(self) -> &'static str {
        match self {
            WechatMode::Native => "/v3/pay/transactions/native",
            WechatMode::H5 => "/v3/pay/transactions/h5",
            WechatMode::Jsapi => "/v3/pay/transactions/jsapi",
        }
    }
}

/// Why a notification was refused: the HTTP status WeChat Pay gets and the message of its
/// `{"code":"FAIL","message":…}` body.
#[derive(Debug, Clone)]
pub struct NotifyRefusal {
    pub status: u16,
    pub message: String,
}

/// A refusal for an error of kith's own side: 4xx when no retry can change the answer
/// (an unknown payment, a state that has moved on), 5xx only when a retry may help — WeChat
/// Pay retries every 5xx.
fn refuse_app(e: AppError) -> NotifyRefusal {
    let status = match &e {
        AppError::NotFound(_) => 404,
        AppError::Invalid { .. } => 400,
        AppError::Conflict { .. } => 409,
        AppError::Unauthenticated(_) | AppError::Forbidden(_) => 401,
        _ => 500,
    };
    refuse(status, e.to_string())
}

fn refuse(status: u16, message: impl Into<String>) -> NotifyRefusal {
    let message = message.into();
    tracing::warn!(status, %message, "refused WeChat Pay notification");
    NotifyRefusal { status, message }
}

/// The `Wechatpay-*` headers of a signed answer or notification.
#[derive(Debug, Clone, Default)]
pub struct SignedHeaders {
    pub serial: String,
    pub signature: String,
    pub timestamp: String,
    pub nonce: String,
}

impl App {
    fn wechat_http(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_default()
    }

    /// Sends one signed API v3 request and verifies the answer's signature. An answer
    /// signed under a serial kith does not know yet may cause one download of the
    /// owner's platform certificates (rate-limited, [`certificates`]) before it is refused.
    async fn wechat_call(
        &self,
        keys: &WechatPayKeys,
        method: &str,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
    ) -> AppResult<(u16, serde_json::Value)> {
        let (status, signed, text) = self.wechat_send(keys, method, path_and_query, body).await?;
        let mut verified = self.wechat_verify(keys, &signed, &text);
        if verified.is_err()
            && keys.platform_key(&signed.serial, self.now_ms()).is_none()
            && let Some(fresh) = self.refresh_for_unknown_serial(&keys.owner).await
        {
            verified = self.wechat_verify(&fresh, &signed, &text);
        }
        verified.map_err(|r| {
            AppError::Unavailable(format!("WeChat Pay's answer is not trusted: {}", r.message))
        })?;
        let json = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).map_err(|e| {
                AppError::Unavailable(format!("WeChat Pay's answer is not JSON: {e}"))
            })?
        };
        Ok((status, json))
    }

    /// Sends one signed API v3 request: the answer's status, `Wechatpay-*` headers and
    /// body, not yet verified.
    async fn wechat_send(
        &self,
        keys: &WechatPayKeys,
        method: &str,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
    ) -> AppResult<(u16, SignedHeaders, String)> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let ts = self.now_ms() / 1000;
        let nonce = new_id().replace('-', "").to_ascii_uppercase();
        let auth = protocol::authorization(
            &keys.mch_id,
            &keys.merchant_serial,
            &keys.private_key,
            method,
            path_and_query,
            ts,
            &nonce,
            &body,
        );
        let url = format!("{}{}", self.config.wechatpay_base_url, path_and_query);
        let mut req = self
            .wechat_http()
            .request(
                reqwest::Method::from_bytes(method.as_bytes())
                    .map_err(|e| AppError::Internal(e.to_string()))?,
                &url,
            )
            .header("authorization", auth)
            .header("accept", "application/json")
            .header("user-agent", "kith");
        if method != "GET" {
            req = req.header("content-type", "application/json").body(body);
        }
        let res = req
            .send()
            .await
            .map_err(|e| AppError::Unavailable(format!("WeChat Pay could not be reached: {e}")))?;
        let status = res.status().as_u16();
        let h = |n: &str| {
            res.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let signed = SignedHeaders {
            serial: h("wechatpay-serial"),
            signature: h("wechatpay-signature"),
            timestamp: h("wechatpay-timestamp"),
            nonce: h("wechatpay-nonce"),
        };
        let text = res
            .text()
            .await
            .map_err(|e| AppError::Unavailable(format!("WeChat Pay's answer was cut: {e}")))?;
        Ok((status, signed, text))
    }

    /// Checks a signed answer or notification: known serial, valid signature, fresh timestamp.
    fn wechat_verify(
        &self,
        keys: &WechatPayKeys,
        h: &SignedHeaders,
        body: &str,
    ) -> Result<(), NotifyRefusal> {
        let key = keys.platform_key(&h.serial, self.now_ms()).ok_or_else(|| {
            refuse(
                401,
                format!(
                    "platform certificate serial {:?} is not one WeChat Pay listed (or it expired)",
                    h.serial
                ),
            )
        })?;
        if !protocol::verify(
            key,
            &protocol::response_message(&h.timestamp, &h.nonce, body),
            &h.signature,
        ) {
            return Err(refuse(401, "signature does not verify"));
        }
        let ts: i64 = h
            .timestamp
            .parse()
            .map_err(|_| refuse(401, "Wechatpay-Timestamp is not a number"))?;
        if (self.now_ms() / 1000 - ts).abs() > self.config.callback_tolerance_secs {
            return Err(refuse(
                401,
                "Wechatpay-Timestamp is outside the tolerance window",
            ));
        }
        Ok(())
    }

    /// Starts paying an order with the merchant's WeChat Pay: a pending payment, then the
    /// order at WeChat Pay (its `code_url` / `h5_url` / `prepay_id` is the payment's
    /// `pay_url`). Asking again returns the same pending payment.
    pub async fn pay_with_wechat(
        &self,
        who: &Principal,
        order_id: &str,
        mode: WechatMode,
        client_ip: &str,
    ) -> AppResult<Payment> {
        let now = self.now_ms();
        let key = self.config.secret_key.clone();
        let (w, oid) = (who.clone(), order_id.to_owned());
        let (pid, amount, merchant, keys, link, openid) = self
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
                let keys = load_wechatpay(c, key.as_ref(), &o.merchant_id)?.ok_or_else(|| {
                    AppError::invalid("provider", "this shop does not take WeChat Pay")
                })?;
                let openid = if mode == WechatMode::Jsapi {
                    Some(
                        crate::platform::identities::wechat_openid(c, &w.account_id, &keys.app_id)?
                            .ok_or_else(|| {
                                AppError::invalid(
                                    "mode",
                                    "JSAPI needs a WeChat sign-in through the shop's app id",
                                )
                            })?,
                    )
                } else {
                    None
                };
                let (id, link) = match store::pending_order_payment(
                    c,
                    "wechat",
                    &oid,
                    &o.merchant_id,
                    mode.as_str(),
                    &keys.mch_id,
                )? {
                    Some(found) => found,
                    None => {
                        let id = new_id();
                        store::insert_pending(
                            c,
                            "wechat",
                            &id,
                            Some(&oid),
                            &o.buyer_id,
                            o.total_fen,
                            &o.merchant_id,
                            now,
                            mode.as_str(),
                            &keys.mch_id,
                        )?;
                        enqueue(
                            c,
                            now,
                            &QueryWechatPayment {
                                payment_id: id.clone(),
                            },
                            now + QUERY_EVERY_MS,
                        )?;
                        (id, None)
                    }
                };
                Ok((id, o.total_fen, o.merchant_id.clone(), keys, link, openid))
            })
            .await?;
        if link.is_none() {
            self.wechat_create(
                &keys,
                &merchant,
                &pid,
                amount,
                "kith 订单",
                mode,
                client_ip,
                openid.as_deref(),
            )
            .await?;
        }
        self.get_payment(who, &crate::platform::ids::PaymentId::from_row(pid))
            .await
    }

    /// Tops up the caller's wallet with the platform's WeChat Pay (Native or H5).
    pub async fn start_wechat_topup(
        &self,
        who: &Principal,
        amount_fen: i64,
        mode: WechatMode,
        client_ip: &str,
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
        let (pid, keys, openid) = self
            .db
            .write(move |c| {
                let keys = load_wechatpay(c, key.as_ref(), super::PLATFORM)?.ok_or_else(|| {
                    AppError::invalid("provider", "the platform does not take WeChat Pay")
                })?;
                let openid = if mode == WechatMode::Jsapi {
                    Some(
                        crate::platform::identities::wechat_openid(c, &w.account_id, &keys.app_id)?
                            .ok_or_else(|| {
                                AppError::invalid(
                                    "mode",
                                    "JSAPI needs a WeChat sign-in through the platform's app id",
                                )
                            })?,
                    )
                } else {
                    None
                };
                let id = new_id();
                store::insert_pending(
                    c,
                    "wechat",
                    &id,
                    None,
                    &w.account_id,
                    amount_fen,
                    super::PLATFORM,
                    now,
                    mode.as_str(),
                    &keys.mch_id,
                )?;
                enqueue(
                    c,
                    now,
                    &QueryWechatPayment {
                        payment_id: id.clone(),
                    },
                    now + QUERY_EVERY_MS,
                )?;
                Ok::<_, AppError>((id, keys, openid))
            })
            .await?;
        self.wechat_create(
            &keys,
            super::PLATFORM,
            &pid,
            amount_fen,
            "kith 钱包充值",
            mode,
            client_ip,
            openid.as_deref(),
        )
        .await?;
        self.get_payment(who, &crate::platform::ids::PaymentId::from_row(pid))
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn wechat_create(
        &self,
        keys: &WechatPayKeys,
        owner: &str,
        payment_id: &str,
        amount_fen: i64,
        description: &str,
        mode: WechatMode,
        client_ip: &str,
        openid: Option<&str>,
    ) -> AppResult<()> {
        let mut body = serde_json::json!({
            "appid": keys.app_id,
            "mchid": keys.mch_id,
            "description": description,
            "out_trade_no": protocol::out_trade_no(payment_id),
            "notify_url": self.notify_url(owner),
            "amount": { "total": amount_fen, "currency": "CNY" },
        });
        match mode {
            WechatMode::Native => {}
            WechatMode::H5 => {
                body["scene_info"] = serde_json::json!({
                    "payer_client_ip": client_ip,
                    "h5_info": { "type": "Wap" },
                });
            }
            WechatMode::Jsapi => {
                body["payer"] = serde_json::json!({ "openid": openid.unwrap_or_default() });
            }
        }
        let (status, answer) = self
            .wechat_call(keys, "POST", mode.path(), Some(&body))
            .await?;
        if status != 200 {
            return Err(AppError::Unavailable(format!(
                "WeChat Pay refused the order ({status}): {}",
                answer.get("message").and_then(|m| m.as_str()).unwrap_or("")
            )));
        }
        let field = match mode {
            WechatMode::Native => "code_url",
            WechatMode::H5 => "h5_url",
            WechatMode::Jsapi => "prepay_id",
        };
        let link = answer
            .get(field)
            .and_then(|v| v.as_str())
            .ok_or_else(|| AppError::Unavailable(format!("WeChat Pay's answer has no {field}")))?
            .to_owned();
        let pid = payment_id.to_owned();
        self.db
            .write(move |c| store::set_pay_link(c, &pid, &link))
            .await
    }

    /// A WeChat Pay notification to `owner`'s notify URL (`Wechatpay-*` headers, raw body).
    pub async fn wechatpay_notify(
        &self,
        owner: &str,
        headers: &SignedHeaders,
        body: &[u8],
    ) -> Result<CallbackOutcome, NotifyRefusal> {
        let owner = if owner == super::PLATFORM {
            owner.to_owned()
        } else {
            crate::platform::ids::parse_id(owner).ok_or_else(|| refuse(404, "unknown merchant"))?
        };
        let key = self.config.secret_key.clone();
        let o = owner.clone();
        let mut keys = self
            .db
            .read(move |c| load_wechatpay(c, key.as_ref(), &o))
            .await
            .map_err(|e| refuse(500, e.to_string()))?
            .ok_or_else(|| refuse(404, "no WeChat Pay credentials for this notify URL"))?;
        let text = std::str::from_utf8(body).map_err(|_| refuse(400, "the body is not UTF-8"))?;
        // A serial kith does not know: WeChat Pay may have begun signing with a new
        // certificate. One download (rate-limited per owner) before the notification is
        // refused; whoever signed it cannot add a certificate, only WeChat Pay's list can.
        if keys.platform_key(&headers.serial, self.now_ms()).is_none()
            && let Some(fresh) = self.refresh_for_unknown_serial(&owner).await
        {
            keys = fresh;
        }
        self.wechat_verify(&keys, headers, text)?;
        let n: Notification = serde_json::from_str(text)
            .map_err(|e| refuse(400, format!("the body does not parse: {e}")))?;
        if n.resource.algorithm != "AEAD_AES_256_GCM" {
            return Err(refuse(400, "unknown resource algorithm"));
        }
        let plain = protocol::decrypt_resource(
            &keys.api_v3_key,
            &n.resource.nonce,
            &n.resource.associated_data,
            &n.resource.ciphertext,
        )
        .map_err(|e| refuse(400, e))?;
        match n.event_type.as_str() {
            t if t.starts_with("TRANSACTION.") => {
                let t: Transaction = serde_json::from_slice(&plain)
                    .map_err(|e| refuse(400, format!("the transaction does not parse: {e}")))?;
                self.wechat_apply_transaction(&keys, &owner, &t).await
            }
            "REFUND.SUCCESS" | "REFUND.ABNORMAL" | "REFUND.CLOSED" => {
                self.wechat_apply_refund_notification(&keys, &owner, &plain)
                    .await
            }
            other => Err(refuse(400, format!("unknown event type {other}"))),
        }
    }

    /// Applies what WeChat Pay says about a payment (from a notification or the order
    /// query) through commerce's callback path.
    async fn wechat_apply_transaction(
        &self,
        keys: &WechatPayKeys,
        owner: &str,
        t: &Transaction,
    ) -> Result<CallbackOutcome, NotifyRefusal> {
        if t.mchid != keys.mch_id {
            return Err(refuse(400, "mchid is not this notify URL's merchant id"));
        }
        if t.appid != keys.app_id {
            return Err(refuse(400, "appid is not this merchant's app id"));
        }
        let pid = crate::platform::ids::parse_id(&t.out_trade_no)
            .ok_or_else(|| refuse(404, "out_trade_no is not a kith payment"))?;
        let p = {
            let pid = pid.clone();
            self.db
                .read(move |c| store::payment(c, &pid, "wechat"))
                .await
                .map_err(|e| refuse(500, e.to_string()))?
                .ok_or_else(|| refuse(404, "no such WeChat Pay payment"))?
        };
        if p.owner.as_deref() != Some(owner) {
            return Err(refuse(404, "the payment is not this merchant's"));
        }
        let (status, txn) = match t.trade_state.as_str() {
            "SUCCESS" => {
                let txn = t
                    .transaction_id
                    .clone()
                    .filter(|s| !s.is_empty() && s.len() <= 64)
                    .ok_or_else(|| refuse(400, "a successful transaction has no transaction_id"))?;
                ("succeeded", txn)
            }
            "CLOSED" | "PAYERROR" | "REVOKED" => {
                ("failed", format!("{}:{}", t.out_trade_no, t.trade_state))
            }
            _ => return Ok(CallbackOutcome::Ignored),
        };
        let amount = t.amount.as_ref();
        let total = amount.and_then(|a| a.total).unwrap_or(-1);
        let payer_total = amount.and_then(|a| a.payer_total).unwrap_or(total);
        // A total that is not the payment's (or a payer total above it) is refused by the
        // callback path's amount check, which records the refused event.
        let cb = CallbackBody {
            event_id: txn.clone(),
            payment_id: pid.clone(),
            status: status.to_owned(),
            amount_fen: if payer_total > total || payer_total < 0 {
                -1
            } else {
                total
            },
        };
        let now = self.now_ms();
        let lc = self.lifecycle.clone();
        let txn_store = (status == "succeeded").then_some(txn);
        let out = self
            .db
            .write(move |c| {
                let out =
                    crate::commerce::payments::apply_callback(c, &lc, now, "wechat", &cb, &pid)?;
                if let (Ok(_), Some(txn)) = (&out, &txn_store) {
                    store::set_provider_txn(c, &pid, txn)?;
                }
                Ok::<_, AppError>(out)
            })
            .await
            .map_err(refuse_app)?;
        out.map_err(|reason| refuse(400, reason))
    }

    /// Asks WeChat Pay about a pending payment and applies the answer (for a job to poll
    /// when no notification came). Returns the payment's outcome, `Ignored` when it is
    /// still open at WeChat Pay.
    pub async fn wechat_query_payment(&self, payment_id: &str) -> AppResult<CallbackOutcome> {
        let pid = payment_id.to_owned();
        let key = self.config.secret_key.clone();
        let (p, keys) = self
            .db
            .read(move |c| {
                let p = store::payment(c, &pid, "wechat")?.ok_or(AppError::NotFound("payment"))?;
                let owner = p.owner.clone().ok_or(AppError::NotFound("payment"))?;
                let keys = load_wechatpay(c, key.as_ref(), &owner)?
                    .ok_or(AppError::NotFound("payment credentials"))?;
                Ok::<_, AppError>((p, keys))
            })
            .await?;
        if p.status != "pending" {
            return Ok(CallbackOutcome::Ignored);
        }
        let owner = p.owner.clone().unwrap_or_default();
        let path = format!(
            "/v3/pay/transactions/out-trade-no/{}?mchid={}",
            protocol::out_trade_no(payment_id),
            keys.mch_id
        );
        let (status, answer) = self.wechat_call(&keys, "GET", &path, None).await?;
        if status == 404 {
            return Ok(CallbackOutcome::Ignored);
        }
        if status != 200 {
            return Err(AppError::Unavailable(format!(
                "WeChat Pay's order query answered {status}"
            )));
        }
        let t: Transaction = serde_json::from_value(answer).map_err(|e| {
            AppError::Unavailable(format!("WeChat Pay's transaction does not parse: {e}"))
        })?;
        self.wechat_apply_transaction(&keys, &owner, &t)
            .await
            .map_err(|r| AppError::Unavailable(r.message))
    }
}

/// How often a pending WeChat Pay payment is asked about when no notification came, and
/// for how long (WeChat Pay closes an unpaid order after two hours by default).
const QUERY_EVERY_MS: i64 = 60_000;
const QUERY_FOR_MS: i64 = 2 * 3600 * 1000;

/// Asks WeChat Pay about a payment still pending a minute after it was made, every minute
/// until it is settled or two hours have passed (the notification may never come).
#[derive(Debug, Serialize, Deserialize)]
pub struct QueryWechatPayment {
    pub payment_id: String,
}

impl Job for QueryWechatPayment {
    const KIND: &'static str = "rails.wechatpay.query";
    const MAX_ATTEMPTS: i64 = 8;
    const LANE: Lane = Lane::Delivery;

    async fn run(self, app: &App, _attempt: &ClaimedJob) -> Result<(), JobError> {
        let outcome = app.wechat_query_payment(&self.payment_id).await?;
        let pid = self.payment_id.clone();
        let p = app
            .db
            .read(move |c| store::payment(c, &pid, "wechat"))
            .await?
            .ok_or(AppError::NotFound("payment"))?;
        let now = app.now_ms();
        if outcome == CallbackOutcome::Ignored
            && p.status == "pending"
            && now - p.created_at < QUERY_FOR_MS
        {
            return Err(JobError::Later {
                run_at_ms: now + QUERY_EVERY_MS,
            });
        }
        Ok(())
    }
}

pub(crate) fn register_jobs(jobs: &mut JobRegistry) {
    jobs.register::<QueryWechatPayment>();
    jobs.register::<certificates::RefreshPlatformCertificates>();
    transfer::register_jobs(jobs);
    jobs.register::<refunds::QueryWechatRefund>();
}
