//! Payments (the OTO payment platform side): a provider interface with two real
//! implementations, and the member's wallet.
//!
//! - `wallet`: the member's prepaid balance at kith. Paying is one ledger entry from the
//!   wallet (which may not go negative) to the merchant, in the order's transaction
//!   (see `orders::pay_with_wallet`). Refunds go back to the wallet.
//! - `sandbox`: an external-style gateway served by kith itself for demos and tests. A
//!   payment is created pending with a pay page; when the payer confirms there, the sandbox
//!   calls kith's payment webhook over HTTP with a timestamped HMAC signature — exactly the
//!   path a real gateway's callback takes ([`App::payment_callback`]). Refunds go back to the
//!   gateway's external account (the sandbox settles them at once).
//!
//! Callbacks are authenticated (signature, 300 s tolerance against replay), idempotent on
//! the gateway's event id (a duplicate has no second effect), refused when the amount does
//! not match, and safe out of order: a `failed` after a `succeeded` is ignored, and a
//! success that arrives after the order was cancelled or paid another way is returned at
//! once (the payment is then `returned`).

use kith_domain::Fen;
use kith_domain::ledger::{AccountId, EntryKind, JournalEntry, accounts};
use kith_domain::order::OrderStatus;
use kith_domain::signature;
use kith_store::Conn;
use serde::{Deserialize, Serialize};

use crate::commerce::lifecycle::{Lifecycle, MoneyIn};
use crate::commerce::orders::store::payments::{self as store, payment_view};
use crate::commerce::orders::{self, Actor};
use crate::commerce::orders::{Order, lock_order, lock_own_order, order_view};
use crate::money::ledger::{self, Refs};
use crate::platform::ids::{OrderId, PaymentId, new_id};
use crate::platform::page::{Page, PageRequest};
use crate::{App, AppError, AppResult, Principal, platform::outbox};

/// The providers kith knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Wallet,
    Sandbox,
    /// WeChat Pay API v3 with the merchant's (or, for top-ups, the platform's) own
    /// credentials ([`crate::rails::wechatpay`]).
    Wechat,
    /// Alipay (open platform, RSA2) with the merchant's (or, for top-ups, the platform's)
    /// own app ([`crate::rails::alipay`]).
    Alipay,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Wallet => "wallet",
            Provider::Sandbox => "sandbox",
            Provider::Wechat => "wechat",
            Provider::Alipay => "alipay",
        }
    }

    /// The provider named in a stored row (`orders.payment_provider`, `payments.provider`).
    pub fn parse(s: &str) -> AppResult<Self> {
        match s {
            "wallet" => Ok(Provider::Wallet),
            "sandbox" => Ok(Provider::Sandbox),
            "wechat" => Ok(Provider::Wechat),
            "alipay" => Ok(Provider::Alipay),
            other => Err(AppError::Internal(format!(
                "unknown payment provider {other:?}"
            ))),
        }
    }
}

/// Where a provider's payment for one of `merchant_id`'s orders came from, and so where its
/// refunds go back to. A payment taken with the merchant's own credentials (its WeChat Pay
/// 商户号 or Alipay app: `payments.rail_owner` is the merchant) never reached the platform:
/// it enters through the merchant's direct account and the merchant's own account pays
/// the refund. Any other gateway payment (the sandbox, a top-up to the platform's account)
/// is the platform's money at the gateway.
pub(crate) fn gateway_source(
    provider: &str,
    rail_owner: Option<&str>,
    merchant_id: Option<&str>,
) -> AppResult<AccountId> {
    Ok(match (rail_owner, merchant_id) {
        (Some(owner), Some(merchant)) if owner == merchant => {
            accounts::merchant_direct(merchant, provider)?
        }
        _ => accounts::external_gateway(provider)?,
    })
}

/// The [`gateway_source`] of a stored payment of `merchant_id`'s order.
pub(crate) fn payment_source(
    c: &mut dyn Conn,
    provider: &str,
    payment_id: Option<&str>,
    merchant_id: &str,
) -> AppResult<AccountId> {
    let owner = match payment_id {
        Some(id) => store::rail_owner(c, id)?,
        None => None,
    };
    gateway_source(provider, owner.as_deref(), Some(merchant_id))
}

/// Where a refund of an order paid through `provider` goes back to: the buyer's wallet,
/// or the account the payment came from ([`payment_source`]; the provider pays the buyer
/// back).
pub(crate) fn refund_destination(
    c: &mut dyn Conn,
    provider: Provider,
    payment_id: Option<&str>,
    buyer_id: &str,
    merchant_id: &str,
) -> AppResult<AccountId> {
    match provider {
        Provider::Wallet => Ok(accounts::member_wallet(buyer_id)?),
        gateway => payment_source(c, gateway.as_str(), payment_id, merchant_id),
    }
}

/// Largest single top-up, in fen (¥50 000): a bound against typos and abuse.
pub const MAX_TOPUP_FEN: i64 = 5_000_000;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Payment {
    pub id: PaymentId,
    pub purpose: String,
    pub order_id: Option<OrderId>,
    pub provider: String,
    #[schema(value_type = i64)]
    pub amount_fen: Fen,
    pub status: String,
    /// Where the payer pays: the sandbox's page, WeChat Pay's `code_url` (Native, to show
    /// as a QR code), `h5_url` (H5) or `prepay_id` (JSAPI), or Alipay's signed pay page
    /// (wap / page) or `qr_code` (qr).
    pub pay_url: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Wallet {
    #[schema(value_type = i64)]
    pub balance_fen: Fen,
    pub lines: Page<ledger::StatementLine>,
}

/// What a gateway callback carries (the sandbox's format; a real gateway's adapter maps
/// its own into this).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackBody {
    pub event_id: String,
    pub payment_id: String,
    /// `succeeded` or `failed`.
    pub status: String,
    pub amount_fen: i64,
}

/// What kith did with a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallbackOutcome {
    Applied,
    Duplicate,
    Ignored,
    LateRefunded,
    Failed,
}

impl App {
    fn sandbox_on(&self) -> AppResult<()> {
        if self.config.sandbox_enabled {
            Ok(())
        } else {
            Err(AppError::NotFound("payment provider"))
        }
    }

    /// Starts paying an order through the sandbox gateway: a pending payment and the page
    /// to confirm it on. Asking again returns the same pending payment.
    pub async fn pay_with_gateway(
        &self,
        who: &Principal,
        order_id: &OrderId,
    ) -> AppResult<Payment> {
        if !self.config.sandbox_enabled {
            return Err(AppError::invalid(
                "provider",
                "the sandbox gateway is not enabled on this server",
            ));
        }
        let now = self.now_ms();
        let url = self.config.public_url.clone();
        let (who, oid) = (who.clone(), order_id.to_owned());
        self.db
            .write(move |c| {
                let o = orders::lock_own_order(c, &oid, &who)?;
                if o.status != OrderStatus::PendingPayment || now >= o.pay_deadline {
                    return Err(AppError::state("the order is not awaiting payment"));
                }
                if o.total_fen <= 0 {
                    return Err(AppError::state(
                        "a free order is paid with the wallet provider",
                    ));
                }
                let id = match store::pending_sandbox_payment(c, &oid)? {
                    Some(id) => id,
                    None => {
                        let id = new_id();
                        store::insert_sandbox_order_payment(
                            c,
                            now,
                            &id,
                            &oid,
                            &o.buyer_id,
                            o.total_fen,
                        )?;
                        id
                    }
                };
                payment_view(c, &id, &url)
            })
            .await
    }

    /// Tops up the caller's wallet through the sandbox gateway.
    pub async fn start_topup(&self, who: &Principal, amount_fen: i64) -> AppResult<Payment> {
        if !self.config.sandbox_enabled {
            return Err(AppError::state(
                "top-ups need a payment gateway, and none is enabled on this server",
            ));
        }
        if !(1..=MAX_TOPUP_FEN).contains(&amount_fen) {
            return Err(AppError::invalid(
                "amount_fen",
                format!("must be 1–{MAX_TOPUP_FEN} fen"),
            ));
        }
        let now = self.now_ms();
        let url = self.config.public_url.clone();
        let who = who.clone();
        self.db
            .write(move |c| {
                let id = new_id();
                store::insert_sandbox_topup(c, now, &id, &who.account_id, amount_fen)?;
                payment_view(c, &id, &url)
            })
            .await
    }

    /// The caller's wallet balance and statement, newest first.
    pub async fn wallet(&self, who: &Principal, page: PageRequest) -> AppResult<Wallet> {
        let account = accounts::member_wallet(&who.account_id)?;
        self.db
            .read(move |c| {
                Ok(Wallet {
                    balance_fen: Fen::new(ledger::balance(c, &account)?),
                    lines: ledger::statement(c, std::slice::from_ref(&account), &page)?,
                })
            })
            .await
    }

    /// A payment, to the member who made it.
    pub async fn get_payment(&self, who: &Principal, payment_id: &PaymentId) -> AppResult<Payment> {
        let url = self.config.public_url.clone();
        let (who, pid) = (who.clone(), payment_id.to_owned());
        self.db
            .read(move |c| {
                let owner = store::payment_owner(c, &pid)?.ok_or(AppError::NotFound("payment"))?;
                if owner != who.account_id {
                    return Err(AppError::NotFound("payment"));
                }
                payment_view(c, &pid, &url)
            })
            .await
    }

    /// A payment as the sandbox gateway's page shows it (no login: like a QR code, the
    /// link is the authority, and it can only pay, never take).
    pub async fn sandbox_payment(&self, payment_id: &PaymentId) -> AppResult<Payment> {
        self.sandbox_on()?;
        let url = self.config.public_url.clone();
        let pid = payment_id.to_owned();
        self.db
            .read(move |c| {
                let p = payment_view(c, &pid, &url)?;
                if p.provider != "sandbox" {
                    return Err(AppError::NotFound("payment"));
                }
                Ok(p)
            })
            .await
    }

    /// The sandbox gateway's side of a confirmation: it signs a callback and POSTs it to
    /// this server's payment webhook, as a real gateway would. Returns the webhook's answer.
    pub async fn sandbox_confirm(
        &self,
        payment_id: &PaymentId,
        succeed: bool,
    ) -> AppResult<(u16, String)> {
        let p = self.sandbox_payment(payment_id).await?;
        let body = serde_json::to_vec(&CallbackBody {
            event_id: format!("sbx_{}", new_id()),
            payment_id: p.id.to_string(),
            status: if succeed { "succeeded" } else { "failed" }.to_owned(),
            amount_fen: p.amount_fen.get(),
        })
        .map_err(|e| AppError::Internal(e.to_string()))?;
        self.sandbox_call("/api/v1/payments/sandbox/callback", body)
            .await
    }

    /// A gateway's callback. Authenticated by its signature header over the raw body,
    /// within the tolerance window; idempotent on the event id; the amount must match.
    pub async fn payment_callback(
        &self,
        provider: &str,
        signature_header: &str,
        body: &[u8],
    ) -> AppResult<CallbackOutcome> {
        if provider == "sandbox" {
            self.sandbox_on()?;
        }
        if provider != "sandbox" {
            return Err(AppError::NotFound("payment provider"));
        }
        let now = self.now_ms();
        if let Err(e) = signature::verify(
            signature_header,
            self.config.sandbox_secret.as_bytes(),
            body,
            now / 1000,
            self.config.callback_tolerance_secs,
        ) {
            tracing::warn!(provider, error = %e, "refused payment callback");
            return Err(AppError::Unauthenticated(format!("callback refused: {e}")));
        }
        let cb: CallbackBody =
            serde_json::from_slice(body).map_err(|e| AppError::invalid("body", e.to_string()))?;
        if cb.event_id.is_empty() || cb.event_id.len() > 128 {
            return Err(AppError::invalid("event_id", "must be 1–128 characters"));
        }
        let payment_id = crate::platform::ids::parse_id(&cb.payment_id)
            .ok_or_else(|| AppError::invalid("payment_id", "is not a payment id"))?;
        if cb.status != "succeeded" && cb.status != "failed" {
            return Err(AppError::invalid("status", "must be succeeded or failed"));
        }
        let provider = provider.to_owned();
        let lc = self.lifecycle.clone();
        let outcome = self
            .db
            .write(move |c| apply_callback(c, &lc, now, &provider, &cb, &payment_id))
            .await?;
        match outcome {
            Ok(o) => Ok(o),
            Err(reason) => {
                tracing::warn!(reason = %reason, "refused payment callback");
                Err(AppError::invalid("amount_fen", reason))
            }
        }
    }
}

/// The callback's effect, inside one transaction. The inner `Err` is a refusal that is
/// still recorded (the transaction commits the event row), e.g. an amount mismatch.
pub(crate) fn apply_callback(
    c: &mut dyn Conn,
    lc: &Lifecycle,
    now: i64,
    provider: &str,
    cb: &CallbackBody,
    payment_id: &str,
) -> AppResult<Result<CallbackOutcome, String>> {
    let p = store::lock_callback_payment(c, payment_id, provider)?;
    let record = |c: &mut dyn Conn, outcome: &str| -> AppResult<bool> {
        store::record_gateway_event(
            c,
            now,
            provider,
            &cb.event_id,
            payment_id,
            &cb.status,
            outcome,
        )
    };
    let Some(p) = p else {
        record(c, "unknown_payment")?;
        return Err(AppError::NotFound("payment"));
    };
    let store::CallbackPayment {
        purpose,
        order_id,
        account_id,
        amount_fen: amount,
        status,
        rail_owner,
    } = p;
    if amount != cb.amount_fen {
        return Ok(if record(c, "refused_amount_mismatch")? {
            Err(format!(
                "the callback says {} fen, the payment is {amount} fen",
                cb.amount_fen
            ))
        } else {
            Ok(CallbackOutcome::Duplicate)
        });
    }
    let outcome = match (cb.status.as_str(), status.as_str()) {
        (_, "succeeded" | "returned") | ("failed", "failed" | "cancelled") => {
            CallbackOutcome::Ignored
        }
        ("failed", _) => CallbackOutcome::Failed,
        ("succeeded", _) => CallbackOutcome::Applied,
        _ => CallbackOutcome::Ignored,
    };
    if !record(
        c,
        match outcome {
            CallbackOutcome::Applied => "applied",
            CallbackOutcome::Failed => "failed",
            _ => "ignored",
        },
    )? {
        return Ok(Ok(CallbackOutcome::Duplicate));
    }
    match outcome {
        CallbackOutcome::Failed => {
            store::set_failed(c, payment_id)?;
            Ok(Ok(outcome))
        }
        CallbackOutcome::Applied => {
            if purpose == "topup" {
                let gateway = gateway_source(provider, rail_owner.as_deref(), None)?;
                store::set_succeeded(c, now, payment_id)?;
                let entry = JournalEntry::transfer(
                    format!("payment:{payment_id}"),
                    EntryKind::WalletTopUp,
                    gateway,
                    accounts::member_wallet(&account_id)?,
                    Fen::new(amount),
                )?;
                ledger::post(
                    c,
                    now,
                    &entry,
                    Refs {
                        payment_id: Some(payment_id),
                        memo: "wallet top-up",
                        ..Default::default()
                    },
                    &[],
                )?;
                outbox::emit(
                    c,
                    now,
                    "wallet.topped_up",
                    None,
                    &account_id,
                    &serde_json::json!({ "account_id": account_id, "amount_fen": amount }),
                )?;
                return Ok(Ok(outcome));
            }
            let oid =
                order_id.ok_or_else(|| AppError::Internal("order payment without order".into()))?;
            let o = orders::lock_order(c, &oid)?;
            let gateway = gateway_source(provider, rail_owner.as_deref(), Some(&o.merchant_id))?;
            // Taken for this order only while it awaits payment. Otherwise (cancelled by
            // timeout, or already paid another way) the money came in and goes straight
            // back, and the payment is `returned` — never a second `succeeded` one.
            let applies =
                o.status == OrderStatus::PendingPayment && lc.takes_payment(c, now, &o)?;
            store::set_taken(
                c,
                now,
                payment_id,
                if applies { "succeeded" } else { "returned" },
            )?;
            let into = accounts::merchant_pending(&o.merchant_id)?;
            let entry = JournalEntry::transfer(
                format!("payment:{payment_id}"),
                EntryKind::Payment,
                gateway,
                into,
                Fen::new(amount),
            )?;
            let refs = Refs {
                order_id: Some(&oid),
                payment_id: Some(payment_id),
                refund_id: None,
                memo: "order paid through the gateway",
            };
            if applies {
                let money = MoneyIn {
                    entry: Some((entry, refs)),
                    guard: None,
                };
                lc.paid(c, now, &o, provider, Actor::Gateway, money)?;
                Ok(Ok(outcome))
            } else {
                ledger::post(c, now, &entry, refs, &[])?;
                // The money came in for an order that no longer takes it: held in transit
                // and a refund of the whole payment asked of its provider — booked as
                // returned only when the provider confirms (at once for the sandbox).
                crate::commerce::refunds::request_late_refund(
                    c, lc, now, &o, provider, payment_id, amount,
                )?;
                Ok(Ok(CallbackOutcome::LateRefunded))
            }
        }
        _ => Ok(Ok(outcome)),
    }
}

impl App {
    /// Pays a pending order from the buyer's wallet: one ledger entry moving the total from
    /// the wallet (which may not go negative) to the merchant, and the order moves to
    /// fulfilment — all in one transaction.
    pub async fn pay_with_wallet(&self, who: &Principal, order_id: &OrderId) -> AppResult<Order> {
        let now = self.now_ms();
        let (who, oid) = (who.clone(), order_id.to_owned());
        let lc = self.lifecycle.clone();
        self.db
            .write(move |c| {
                let o = lock_own_order(c, &oid, &who)?;
                if o.status != OrderStatus::PendingPayment {
                    return Err(AppError::state(format!(
                        "the order is {}, not awaiting payment",
                        o.status.as_str()
                    )));
                }
                if now >= o.pay_deadline {
                    return Err(AppError::state("the payment window has closed"));
                }
                if !lc.takes_payment(c, now, &o)? {
                    return Err(AppError::state(
                        "the group-buy group is no longer gathering payments",
                    ));
                }
                // The payment's row first (the entry names it); the money moves with the
                // lifecycle's own entries, last.
                let payment_id = new_id();
                let mut money = MoneyIn::default();
                if o.total_fen > 0 {
                    let wallet = accounts::member_wallet(&o.buyer_id)?;
                    let entry = JournalEntry::transfer(
                        format!("order:{}:pay", o.id),
                        EntryKind::Payment,
                        wallet.clone(),
                        accounts::merchant_pending(&o.merchant_id)?,
                        Fen::new(o.total_fen),
                    )?;
                    store::insert_wallet_payment(
                        c,
                        now,
                        &payment_id,
                        &o.id,
                        &o.buyer_id,
                        o.total_fen,
                    )?;
                    let refs = Refs {
                        order_id: Some(&o.id),
                        payment_id: Some(&payment_id),
                        refund_id: None,
                        memo: "order paid from wallet",
                    };
                    money = MoneyIn {
                        entry: Some((entry, refs)),
                        guard: Some((wallet, "wallet")),
                    };
                }
                let known = lc.paid(c, now, &o, "wallet", Actor::Buyer(&who.account_id), money)?;
                // The order as paid: known without reading it again when the lifecycle
                // could tell (a plain order), else read back.
                let o = match known {
                    Some(o) => o,
                    None => lock_order(c, &oid)?,
                };
                order_view(c, &o, true)
            })
            .await
    }
}
