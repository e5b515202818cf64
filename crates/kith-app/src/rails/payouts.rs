//! Approving a withdrawal picks its payout rail: Alipay (a transfer to the 支付宝账号 the
//! member named) when the member named one and the platform has Alipay credentials; else
//! WeChat Pay's 商家转账 to the member's 零钱 when the platform has WeChat Pay credentials and
//! the member signed in through its AppID (under 2,000 元, [`super::wechatpay::transfer`]);
//! otherwise the sandbox gateway where it is served. The withdrawal's own rules (state,
//! ledger, settlement) stay in `money::withdrawals`; this module only chooses and sends.

use super::store;
use crate::money::withdrawals::{Withdrawal, approve_for, load};
use crate::platform::ids::WithdrawalId;
use crate::{App, AppError, AppResult, Principal};

impl App {
    /// A platform admin approves: the payout goes to its rail and the withdrawal waits for
    /// the rail's answer (`paying`). An Alipay transfer is sent at once (and followed by a
    /// job until Alipay answers), so the withdrawal may come back already settled.
    pub async fn approve_withdrawal(
        &self,
        who: &Principal,
        id: &WithdrawalId,
    ) -> AppResult<Withdrawal> {
        who.require_platform_admin()?;
        let now = self.now_ms();
        let sandbox = self.config.sandbox_enabled;
        let key = self.config.secret_key.clone();
        let (who, id) = (who.clone(), id.to_owned());
        let w = self
            .db
            .write(move |c| {
                let w = load(c, &id, true)?;
                let alipay = !w.payee_account.is_empty()
                    && store::fingerprints(c, super::PLATFORM, "alipay")?.is_some();
                let wechat = !alipay
                    && w.status == "requested"
                    && super::wechatpay::transfer::can_pay(
                        c,
                        key.as_ref(),
                        &w.account_id,
                        w.amount_fen.get(),
                    )?;
                if w.status == "requested" && !alipay && !wechat && !sandbox {
                    return Err(AppError::state(
                        "no payout rail: the member named no Alipay account the platform can pay, is not signed in with the platform's WeChat, and the sandbox is off",
                    ));
                }
                let rail = if alipay {
                    "alipay"
                } else if wechat {
                    "wechat"
                } else {
                    "sandbox"
                };
                let w = approve_for(c, now, &who, &id, rail)?;
                if alipay {
                    super::alipay::enqueue_payout(c, now, &id)?;
                }
                if wechat {
                    super::wechatpay::transfer::enqueue_payout(c, now, &id)?;
                }
                Ok(w)
            })
            .await?;
        if w.payout_ref
            .as_deref()
            .is_some_and(|r| r.starts_with("alipay:"))
        {
            // The job sends it again if this attempt does not reach Alipay: the transfer
            // is idempotent on out_biz_no.
            if let Err(e) = self.alipay_payout(&w.id).await {
                tracing::warn!(withdrawal = %w.id, error = %e, "Alipay transfer not settled yet");
            }
            let wid = w.id.clone();
            return self.db.read(move |c| load(c, &wid, false)).await;
        }
        if w.payout_ref
            .as_deref()
            .is_some_and(|r| r.starts_with("wechat:"))
        {
            // Sent now; the job asks about it (and sends it again if it never arrived).
            if let Err(e) = self.wechat_payout(&w.id).await {
                tracing::warn!(withdrawal = %w.id, error = %e, "WeChat Pay transfer not sent yet");
            }
        }
        Ok(w)
    }
}
