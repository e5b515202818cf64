//! Withdrawals of available commission, approved by a platform admin and paid out
//! through the payment gateway.
//!
//! Requesting moves the amount from the distributor's available balance to `withdrawing`
//! (`withdrawal:{id}:request`) with the overdraft guard, so concurrent requests can never
//! take more than is there (nor anything while a clawback left a debt). The amount must be
//! at least the merchant's minimum, and the member's requests at that merchant in the last
//! 24 hours (not rejected or failed) may not exceed its daily limit.
//!
//! An admin rejects (`withdrawal:{id}:return`: back to available) or approves
//! (`rails::payouts` picks the rail, [`approve_for`] records it): the payout is handed to a
//! rail and the withdrawal is `paying`. The rail is Alipay
//! (`alipay.fund.trans.uni.transfer` to the 支付宝账号 the member named, [`crate::rails::alipay`])
//! when the member named one and the platform has Alipay credentials, otherwise the sandbox
//! gateway. The rail's answer settles it ([`settle_payout`]): `succeeded` pays out
//! (`withdrawal:{id}:payout`: withdrawing → the rail's external account), `failed` returns
//! the money (`withdrawal:{id}:return`). Settlements are idempotent on the rail's event id.

use kith_domain::Fen;
use kith_domain::ledger::accounts::{self, CommissionState};
use kith_domain::ledger::{EntryKind, JournalEntry};
use kith_domain::signature;
use kith_store::Conn;
use serde::{Deserialize, Serialize};

use crate::money::commissions::{self, require_self_or_staff};
use crate::money::ledger::{self, Refs};
use crate::money::store;
use crate::platform::ids::{AccountId, MerchantId, WithdrawalId, new_id};
use crate::{App, AppError, AppResult, Principal, platform::outbox};

const DAY_MS: i64 = 24 * 3600 * 1000;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Withdrawal {
    pub id: WithdrawalId,
    pub account_id: AccountId,
    pub merchant_id: MerchantId,
    #[schema(value_type = i64)]
    pub amount_fen: Fen,
    /// `requested`, `paying`, `paid`, `rejected` or `failed`.
    pub status: String,
    pub requested_at: String,
    pub decided_at: Option<String>,
    pub payout_ref: Option<String>,
    pub note: String,
    /// The 支付宝账号 (phone or e-mail) the member asked to be paid to; empty: the sandbox.
    pub payee_account: String,
    /// The real name registered to that account.
    pub payee_name: String,
}

/// Where a member asks to be paid: an Alipay account (ALIPAY_LOGON_ID) and its real name.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Payee {
    /// 支付宝账号: the phone number or e-mail the account signs in with.
    pub account: String,
    /// The real name (实名) registered to it; Alipay refuses the transfer if it differs.
    pub name: String,
}

impl Payee {
    fn parse(&self) -> AppResult<(String, String)> {
        let account = self.account.trim();
        let phone = account.len() == 11
            && account.starts_with('1')
            && account.bytes().all(|b| b.is_ascii_digit());
        let email = account.len() <= 100
            && account
                .split_once('@')
                .is_some_and(|(u, d)| !u.is_empty() && d.contains('.') && !d.starts_with('.'))
            && !account.chars().any(char::is_whitespace);
        if !phone && !email {
            return Err(AppError::invalid(
                "payee_account",
                "must be the Alipay account's phone number (11 digits) or e-mail",
            ));
        }
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 50 || name.chars().any(char::is_control) {
            return Err(AppError::invalid(
                "payee_name",
                "must be the account's real name, 1–50 characters",
            ));
        }
        Ok((account.to_owned(), name.to_owned()))
    }
}

/// What the gateway reports about a payout (the sandbox's format).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutCallback {
    pub event_id: String,
    pub withdrawal_id: String,
    /// `succeeded` or `failed`.
    pub status: String,
    pub amount_fen: i64,
}

pub(crate) fn load(c: &mut dyn Conn, id: &str, lock: bool) -> AppResult<Withdrawal> {
    store::load_withdrawal(c, id, lock)
}

fn set_status(
    c: &mut dyn Conn,
    id: &str,
    from: &str,
    to: &str,
    extra: (&str, Option<&str>, i64),
) -> AppResult<()> {
    let (note, by, now) = extra;
    if !store::set_withdrawal_status(c, id, from, to, note, by, now)? {
        return Err(AppError::state(
            "the withdrawal changed meanwhile; reload it",
        ));
    }
    Ok(())
}

/// Moves the withdrawal's money back to available (rejected or payout failed).
fn give_back(c: &mut dyn Conn, now: i64, w: &Withdrawal, memo: &str) -> AppResult<()> {
    let entry = JournalEntry::transfer(
        format!("withdrawal:{}:return", w.id),
        EntryKind::Withdrawal,
        accounts::distributor(&w.account_id, &w.merchant_id, CommissionState::Withdrawing)?,
        accounts::distributor(&w.account_id, &w.merchant_id, CommissionState::Available)?,
        w.amount_fen,
    )?;
    ledger::post(
        c,
        now,
        &entry,
        Refs {
            memo,
            ..Default::default()
        },
        &[],
    )?;
    Ok(())
}

impl App {
    /// A member asks to withdraw `amount_fen` of their available commission at a merchant.
    pub async fn request_withdrawal(
        &self,
        who: &Principal,
        member_id: &AccountId,
        merchant_id: &str,
        amount_fen: i64,
    ) -> AppResult<Withdrawal> {
        self.request_withdrawal_to(who, member_id, merchant_id, amount_fen, None)
            .await
    }

    /// [`App::request_withdrawal`], naming the Alipay account to be paid to.
    pub async fn request_withdrawal_to(
        &self,
        who: &Principal,
        member_id: &AccountId,
        merchant_id: &str,
        amount_fen: i64,
        payee: Option<Payee>,
    ) -> AppResult<Withdrawal> {
        if who.account_id != *member_id {
            return Err(AppError::Forbidden(
                "only the member withdraws their commission".into(),
            ));
        }
        let mid = crate::platform::ids::parse_id(merchant_id)
            .ok_or_else(|| AppError::invalid("merchant_id", "is not a merchant id"))?;
        if amount_fen <= 0 {
            return Err(AppError::invalid("amount_fen", "must be more than zero"));
        }
        let (payee_account, payee_name) = match payee {
            Some(p) => p.parse()?,
            None => (String::new(), String::new()),
        };
        let now = self.now_ms();
        let me = who.account_id.clone();
        self.db
            .write(move |c| {
                let plan = commissions::load_plan(c, &mid)?
                    .ok_or_else(|| AppError::invalid("merchant_id", "this merchant has no commission plan"))?;
                if amount_fen < plan.withdraw_min_fen {
                    return Err(AppError::invalid(
                        "amount_fen",
                        format!("the minimum withdrawal is {} fen", plan.withdraw_min_fen),
                    ));
                }
                if amount_fen > plan.withdraw_daily_limit_fen {
                    return Err(AppError::invalid(
                        "amount_fen",
                        format!("over the daily limit of {} fen", plan.withdraw_daily_limit_fen),
                    ));
                }
                let id = new_id();
                store::insert_withdrawal(c, &id, &me, &mid, amount_fen, now, &payee_account, &payee_name)?;
                // The guarded debit first: it takes the balance row's lock on PostgreSQL, so
                // concurrent requests of this member at this merchant queue behind it and the
                // daily sum below sees every one that committed before.
                let available = accounts::distributor(&me, &mid, CommissionState::Available)?;
                let entry = JournalEntry::transfer(
                    format!("withdrawal:{id}:request"),
                    EntryKind::Withdrawal,
                    available.clone(),
                    accounts::distributor(&me, &mid, CommissionState::Withdrawing)?,
                    Fen::new(amount_fen),
                )?;
                ledger::post(c, now, &entry, Refs { memo: "withdrawal requested", ..Default::default() }, &[(&available, "amount_fen")])?;
                let today = store::withdrawn_since(c, &me, &mid, now - DAY_MS)?;
                if today > plan.withdraw_daily_limit_fen {
                    return Err(AppError::conflict(
                        "amount_fen",
                        format!(
                            "over the daily limit of {} fen ({} fen requested in the last 24 hours)",
                            plan.withdraw_daily_limit_fen,
                            today - amount_fen
                        ),
                    ));
                }
                outbox::emit(c, now, "withdrawal.requested", Some(&mid), &id, &serde_json::json!({ "withdrawal_id": id, "amount_fen": amount_fen }))?;
                load(c, &id, false)
            })
            .await
    }

    /// A member's withdrawals, newest first.
    pub async fn member_withdrawals(
        &self,
        who: &Principal,
        member_id: &AccountId,
    ) -> AppResult<Vec<Withdrawal>> {
        let (who, member) = (who.clone(), member_id.to_owned());
        self.db
            .read(move |c| {
                require_self_or_staff(c, &who, &member, None)?;
                store::member_withdrawals(c, &member)
            })
            .await
    }

    /// One withdrawal, to its member or a platform admin (404 to anyone else).
    pub async fn get_withdrawal(
        &self,
        who: &Principal,
        id: &WithdrawalId,
    ) -> AppResult<Withdrawal> {
        let (who, id) = (who.clone(), id.to_owned());
        self.db
            .read(move |c| {
                let w = load(c, &id, false)?;
                if w.account_id != who.account_id && !who.is_platform_admin {
                    return Err(AppError::NotFound("withdrawal"));
                }
                Ok(w)
            })
            .await
    }

    /// Staff: the withdrawals members asked for from their commission at this merchant,
    /// newest first, at most 500 (the console's table and its CSV file).
    pub async fn merchant_withdrawals(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
    ) -> AppResult<Vec<Withdrawal>> {
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                crate::platform::auth::require_staff(
                    c,
                    &who,
                    &mid,
                    crate::platform::auth::StaffNeed::AnyStaff,
                )?;
                store::merchant_withdrawals(c, &mid, 500)
            })
            .await
    }

    /// Withdrawals waiting for a decision (platform admins), oldest first.
    pub async fn pending_withdrawals(&self, who: &Principal) -> AppResult<Vec<Withdrawal>> {
        who.require_platform_admin()?;
        self.db.read(move |c| store::requested_withdrawals(c)).await
    }

    /// A platform admin rejects: the money goes back to the member's available balance.
    pub async fn reject_withdrawal(
        &self,
        who: &Principal,
        id: &WithdrawalId,
        reason: &str,
    ) -> AppResult<Withdrawal> {
        who.require_platform_admin()?;
        let reason = kith_domain::BoundedText::parse("reason", reason, 1, 200)?.into_string();
        let now = self.now_ms();
        let (who, id) = (who.clone(), id.to_owned());
        self.db
            .write(move |c| {
                let w = load(c, &id, true)?;
                if w.status != "requested" {
                    return Err(AppError::state(format!("the withdrawal is {}", w.status)));
                }
                set_status(
                    c,
                    &id,
                    "requested",
                    "rejected",
                    (&reason, Some(&who.account_id), now),
                )?;
                give_back(c, now, &w, "withdrawal rejected")?;
                outbox::emit(
                    c,
                    now,
                    "withdrawal.rejected",
                    Some(&w.merchant_id),
                    &id,
                    &serde_json::json!({ "withdrawal_id": id, "member_id": w.account_id, "amount_fen": w.amount_fen }),
                )?;
                load(c, &id, false)
            })
            .await
    }

    fn sandbox_payouts_on(&self) -> AppResult<()> {
        if self.config.sandbox_enabled {
            Ok(())
        } else {
            Err(AppError::state(
                "no payout gateway is configured (the sandbox is off)",
            ))
        }
    }

    /// A payout as the sandbox gateway's page shows it (no login: like its pay page, the
    /// link is the authority; the sandbox only exists on demo and test servers, and all it
    /// can do is settle a payout an admin already approved).
    pub async fn sandbox_payout(&self, withdrawal_id: &str) -> AppResult<Withdrawal> {
        self.sandbox_payouts_on()?;
        let id =
            crate::platform::ids::parse_id(withdrawal_id).ok_or(AppError::NotFound("payout"))?;
        self.db
            .read(move |c| {
                let w = load(c, &id, false)?;
                let sandbox = w
                    .payout_ref
                    .as_deref()
                    .is_some_and(|r| r.starts_with("sandbox:"));
                if !sandbox {
                    return Err(AppError::NotFound("payout"));
                }
                Ok(w)
            })
            .await
    }

    /// The sandbox gateway's side of a payout: it signs a callback and POSTs it to this
    /// server's payout webhook, as a real gateway would, so the demo's approved withdrawal
    /// reaches 已到账 (or comes back, when `succeed` is false). Returns the webhook's answer.
    pub async fn sandbox_settle_payout(
        &self,
        withdrawal_id: &str,
        succeed: bool,
    ) -> AppResult<(u16, String)> {
        let w = self.sandbox_payout(withdrawal_id).await?;
        let body = serde_json::to_vec(&PayoutCallback {
            event_id: format!("sbx_{}", new_id()),
            withdrawal_id: w.id.to_string(),
            status: if succeed { "succeeded" } else { "failed" }.to_owned(),
            amount_fen: w.amount_fen.get(),
        })
        .map_err(|e| AppError::Internal(e.to_string()))?;
        self.sandbox_call("/api/v1/payouts/sandbox/callback", body)
            .await
    }

    /// The gateway reports a payout: verified (signature, tolerance), idempotent on its
    /// event id. `succeeded` pays the money out; `failed` returns it to the member.
    pub async fn payout_callback(
        &self,
        provider: &str,
        signature_header: &str,
        body: &[u8],
    ) -> AppResult<Withdrawal> {
        if provider != "sandbox" {
            return Err(AppError::NotFound("payout provider"));
        }
        self.sandbox_payouts_on()?;
        let now = self.now_ms();
        if let Err(e) = signature::verify(
            signature_header,
            self.config.sandbox_secret.as_bytes(),
            body,
            now / 1000,
            self.config.callback_tolerance_secs,
        ) {
            return Err(AppError::Unauthenticated(format!("callback refused: {e}")));
        }
        let cb: PayoutCallback =
            serde_json::from_slice(body).map_err(|e| AppError::invalid("body", e.to_string()))?;
        if cb.event_id.is_empty() || cb.event_id.len() > 128 {
            return Err(AppError::invalid("event_id", "must be 1–128 characters"));
        }
        let wid = crate::platform::ids::parse_id(&cb.withdrawal_id)
            .ok_or_else(|| AppError::invalid("withdrawal_id", "is not a withdrawal id"))?;
        if cb.status != "succeeded" && cb.status != "failed" {
            return Err(AppError::invalid("status", "must be succeeded or failed"));
        }
        let provider = provider.to_owned();
        self.db
            .write(move |c| {
                let w = load(c, &wid, true)?;
                if w.amount_fen != Fen::new(cb.amount_fen) {
                    return Err(AppError::invalid(
                        "amount_fen",
                        format!("the withdrawal is {} fen", w.amount_fen.get()),
                    ));
                }
                settle_payout(
                    c,
                    now,
                    &provider,
                    &cb.event_id,
                    &wid,
                    cb.status == "succeeded",
                )
            })
            .await
    }
}

/// A platform admin's approval, inside the caller's transaction: the withdrawal goes from
/// `requested` to `paying`, its payout handed to `rail` (`sandbox` or `alipay`; the rail is
/// chosen by `rails::payouts`, which owns the public `approve_withdrawal`).
pub(crate) fn approve_for(
    c: &mut dyn Conn,
    now: i64,
    who: &Principal,
    id: &str,
    rail: &str,
) -> AppResult<Withdrawal> {
    who.require_platform_admin()?;
    let w = load(c, id, true)?;
    if w.status != "requested" {
        return Err(AppError::state(format!("the withdrawal is {}", w.status)));
    }
    set_status(
        c,
        id,
        "requested",
        "paying",
        ("", Some(&who.account_id), now),
    )?;
    store::set_payout_ref(c, id, &format!("{rail}:{id}"))?;
    outbox::emit(
        c,
        now,
        "withdrawal.approved",
        Some(&w.merchant_id),
        id,
        &serde_json::json!({ "withdrawal_id": id }),
    )?;
    load(c, id, false)
}

/// A rail's final word on a payout, inside the caller's transaction: recorded once by
/// `(provider, event_id)`; a duplicate, or news about a payout no longer `paying`, has no
/// effect. `succeeded` pays the money out to the rail's external account; otherwise it goes
/// back to the member's available balance.
pub(crate) fn settle_payout(
    c: &mut dyn Conn,
    now: i64,
    provider: &str,
    event_id: &str,
    wid: &str,
    succeeded: bool,
) -> AppResult<Withdrawal> {
    let w = load(c, wid, true)?;
    let status = if succeeded { "succeeded" } else { "failed" };
    let fresh = store::insert_payout_event(c, provider, event_id, wid, status, now)?;
    if !fresh || w.status != "paying" {
        // A duplicate, or news about a payout already settled: no second effect.
        return Ok(w);
    }
    if succeeded {
        set_status(c, wid, "paying", "paid", ("", None, now))?;
        let entry = JournalEntry::transfer(
            format!("withdrawal:{wid}:payout"),
            EntryKind::Withdrawal,
            accounts::distributor(&w.account_id, &w.merchant_id, CommissionState::Withdrawing)?,
            accounts::external_gateway(provider)?,
            w.amount_fen,
        )?;
        ledger::post(
            c,
            now,
            &entry,
            Refs {
                memo: "withdrawal paid out",
                ..Default::default()
            },
            &[],
        )?;
        outbox::emit(
            c,
            now,
            "withdrawal.paid",
            Some(&w.merchant_id),
            wid,
            &serde_json::json!({ "withdrawal_id": wid, "member_id": w.account_id, "amount_fen": w.amount_fen }),
        )?;
    } else {
        set_status(c, wid, "paying", "failed", ("payout failed", None, now))?;
        give_back(c, now, &w, "payout failed: money returned")?;
        outbox::emit(
            c,
            now,
            "withdrawal.failed",
            Some(&w.merchant_id),
            wid,
            &serde_json::json!({ "withdrawal_id": wid, "member_id": w.account_id, "amount_fen": w.amount_fen }),
        )?;
    }
    load(c, wid, false)
}
