//! A merchant's settlement with the platform (结算): who owes whom, and settling up.
//!
//! Money reaches a merchant two ways. A wallet payment (or the sandbox's) is the
//! platform's money: it sits in `merchant:{id}:pending`, then `available`, and the
//! platform owes it to the merchant. A payment through the merchant's own WeChat Pay
//! 商户号 or Alipay app never passes through the platform: it enters through
//! `merchant:{id}:direct:{provider}` (negative by what the merchant holds,
//! [`kith_domain::ledger::accounts::merchant_direct`]) and the merchant's own account pays
//! its refunds. Commission (and the buyer's rebate) on either kind is booked out of the
//! merchant's pending money at payment and paid to distributors by the platform's
//! payouts — so for a direct payment the merchant owes the platform what the platform
//! pays out of money the merchant holds.
//!
//! The **settled balance** nets it out over what no refund can change any more:
//! `available + Σ direct + (direct money of orders still inside their after-sale window)`.
//! Positive: the platform owes the merchant; negative: the merchant owes the platform.
//! Orders inside their window count nowhere (a direct one nets to zero there; the
//! pending total is shown apart). A platform admin records a settling-up made outside
//! kith (a bank transfer, by its reference): one ledger entry between the merchant's
//! available balance and `external:gateway:bank_transfer`, never more than the settled
//! balance in that direction, once per reference.
//!
//! Writes `ledger_accounts`, `journal_entries`, `postings` (through [`ledger::post`]) and
//! the outbox; reads `payments` and `orders` for the direct money still in window.

use kith_domain::Fen;
use kith_domain::ledger::{AccountId, EntryKind, JournalEntry, accounts};
use kith_store::Conn;
use serde::{Deserialize, Serialize};

use crate::money::ledger::{self, Posted, Refs, StatementLine};
use crate::money::store;
use crate::platform::auth::{StaffNeed, merchant_status, require_staff};
use crate::platform::error::fen_sum;
use crate::platform::ids::MerchantId;
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::{App, AppError, AppResult, Principal};

/// The providers whose money can reach a merchant's own account.
const DIRECT_PROVIDERS: [&str; 2] = ["wechat", "alipay"];

/// The account a settling-up made outside kith moves through.
const BANK_TRANSFER: &str = "bank_transfer";

/// Money one provider paid into the merchant's own account, net of the refunds that
/// account paid back.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DirectHeld {
    /// `wechat` or `alipay`.
    pub provider: String,
    #[schema(value_type = i64)]
    pub held_fen: Fen,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MerchantSettlement {
    pub merchant_id: MerchantId,
    /// Paid orders still inside their after-sale window, after the commission booked on
    /// them (a refund can still take it back).
    #[schema(value_type = i64)]
    pub pending_fen: Fen,
    /// Of the money the merchant holds itself, what belongs to orders still in their window.
    #[schema(value_type = i64)]
    pub direct_in_window_fen: Fen,
    /// Money in the merchant's own accounts, per provider (only providers with any).
    pub direct: Vec<DirectHeld>,
    /// What the platform owes the merchant now (positive) or the merchant owes the
    /// platform (negative): see the module's doc.
    #[schema(value_type = i64)]
    pub settled_fen: Fen,
    /// The settled balance's movements, newest first: orders settling, refunds after the
    /// window, commission, and settling-ups (the merchant's available and direct accounts).
    pub lines: Page<StatementLine>,
}

/// One merchant's settled balance, for the platform admin's overview.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SettlementRow {
    pub merchant_id: MerchantId,
    pub name: String,
    #[schema(value_type = i64)]
    pub pending_fen: Fen,
    /// Money in the merchant's own provider accounts (every provider).
    #[schema(value_type = i64)]
    pub direct_held_fen: Fen,
    /// Positive: the platform owes the merchant; negative: the merchant owes the platform.
    #[schema(value_type = i64)]
    pub settled_fen: Fen,
}

/// Who paid whom, outside kith.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettleUpDirection {
    /// The platform paid the merchant what it owed (the settled balance goes down).
    PlatformPaid,
    /// The merchant paid the platform what it owed (the settled balance goes up).
    MerchantPaid,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettleUpInput {
    pub direction: SettleUpDirection,
    /// 1 fen to ¥1,000,000,000, and never more than the settled balance owed that way.
    #[schema(minimum = 1, maximum = 100_000_000_000_i64)]
    pub amount_fen: i64,
    /// The transfer's reference (bank serial number): 1–64 visible characters; a
    /// reference is recorded once per merchant.
    #[schema(min_length = 1, max_length = 64)]
    pub reference: String,
}

fn statement_accounts(merchant_id: &str) -> AppResult<Vec<AccountId>> {
    let mut list = vec![accounts::merchant_available(merchant_id)?];
    for p in DIRECT_PROVIDERS {
        list.push(accounts::merchant_direct(merchant_id, p)?);
    }
    Ok(list)
}

/// The merchant's position without its statement lines: (pending, in window, direct, settled).
fn position(c: &mut dyn Conn, merchant_id: &str) -> AppResult<(Fen, Fen, Vec<DirectHeld>, Fen)> {
    let pending = Fen::new(ledger::balance(
        c,
        &accounts::merchant_pending(merchant_id)?,
    )?);
    let available = Fen::new(ledger::balance(
        c,
        &accounts::merchant_available(merchant_id)?,
    )?);
    let mut direct = Vec::new();
    let mut direct_sum = Fen::ZERO;
    for p in DIRECT_PROVIDERS {
        let b = Fen::new(ledger::balance(
            c,
            &accounts::merchant_direct(merchant_id, p)?,
        )?);
        direct_sum = fen_sum([direct_sum, b])?;
        if b != Fen::ZERO {
            direct.push(DirectHeld {
                provider: p.to_owned(),
                held_fen: b.checked_neg().ok_or_else(AppError::money_overflow)?,
            });
        }
    }
    let in_window = Fen::new(store::direct_in_window(c, merchant_id)?);
    Ok((
        pending,
        in_window,
        direct,
        fen_sum([available, direct_sum, in_window])?,
    ))
}

fn check_reference(reference: &str) -> AppResult<String> {
    let r = reference.trim();
    let ok = !r.is_empty()
        && r.chars().count() <= 64
        && r.chars().all(|ch| !ch.is_control() && !ch.is_whitespace());
    if ok {
        Ok(r.to_owned())
    } else {
        Err(AppError::invalid(
            "reference",
            "must be 1–64 characters without spaces",
        ))
    }
}

impl App {
    /// The merchant's settlement with the platform (its owner and managers).
    pub async fn merchant_settlement(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        page: PageRequest,
    ) -> AppResult<MerchantSettlement> {
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                settlement(c, &mid, &page)
            })
            .await
    }

    /// Platform admin: every approved merchant's settled balance, by name (at most 500).
    pub async fn settlement_overview(&self, who: &Principal) -> AppResult<Vec<SettlementRow>> {
        who.require_platform_admin()?;
        self.db
            .read(|c| {
                let merchants = store::approved_merchants(c)?;
                let mut rows = Vec::with_capacity(merchants.len());
                for (id, name) in merchants {
                    let (pending, _, direct, settled) = position(c, &id)?;
                    rows.push(SettlementRow {
                        merchant_id: MerchantId::from_row(id),
                        name,
                        pending_fen: pending,
                        direct_held_fen: fen_sum(direct.iter().map(|d| d.held_fen))?,
                        settled_fen: settled,
                    });
                }
                Ok(rows)
            })
            .await
    }

    /// A platform admin records a settling-up made outside kith (see the module's doc).
    /// 409 when it would pay more than is owed that way, or the reference is recorded.
    pub async fn record_settle_up(
        &self,
        who: &Principal,
        // The platform admin's form names the merchant: a malformed id is checked inside,
        // after the input, as an unknown merchant.
        merchant_id: &str,
        input: SettleUpInput,
    ) -> AppResult<MerchantSettlement> {
        who.require_platform_admin()?;
        if !(1..=100_000_000_000).contains(&input.amount_fen) {
            return Err(AppError::invalid(
                "amount_fen",
                "must be 1 fen to ¥1,000,000,000",
            ));
        }
        let reference = check_reference(&input.reference)?;
        let (who, mid, now) = (who.clone(), merchant_id.to_owned(), self.now_ms());
        self.db
            .write(move |c| {
                let mid = MerchantId::parse_or_404(&mid)?;
                merchant_status(c, &mid)?;
                // One settling-up of a merchant at a time: its row is the lock, so two
                // admins cannot both pay the same debt.
                store::lock_merchant(c, &mid)?;
                let (_, _, _, settled) = position(c, &mid)?;
                let owed = match input.direction {
                    SettleUpDirection::PlatformPaid => settled,
                    SettleUpDirection::MerchantPaid => {
                        settled.checked_neg().ok_or_else(AppError::money_overflow)?
                    }
                };
                if Fen::new(input.amount_fen) > owed {
                    return Err(AppError::conflict(
                        "amount_fen",
                        format!(
                            "only {} fen is owed that way",
                            owed.max(Fen::ZERO).get()
                        ),
                    ));
                }
                let (bank, available) = (
                    accounts::external_gateway(BANK_TRANSFER)?,
                    accounts::merchant_available(&mid)?,
                );
                let (from, to) = match input.direction {
                    SettleUpDirection::PlatformPaid => (available, bank),
                    SettleUpDirection::MerchantPaid => (bank, available),
                };
                let entry = JournalEntry::transfer(
                    format!("settle_up:{mid}:{reference}"),
                    EntryKind::SettledUp,
                    from,
                    to,
                    Fen::new(input.amount_fen),
                )?;
                let memo = format!("bank transfer {reference}");
                let posted = ledger::post(
                    c,
                    now,
                    &entry,
                    Refs {
                        memo: &memo,
                        ..Default::default()
                    },
                    &[],
                )?;
                if !matches!(posted, Posted::New(_)) {
                    return Err(AppError::conflict(
                        "reference",
                        "a settling-up with this reference is already recorded",
                    ));
                }
                outbox::emit(
                    c,
                    now,
                    "settlement.recorded",
                    Some(&mid),
                    &mid,
                    &serde_json::json!({
                        "merchant_id": mid, "direction": input.direction, "amount_fen": input.amount_fen,
                        "reference": reference, "recorded_by": who.account_id,
                    }),
                )?;
                settlement(c, &mid, &PageRequest::first(20))
            })
            .await
    }
}

fn settlement(
    c: &mut dyn Conn,
    merchant_id: &MerchantId,
    page: &PageRequest,
) -> AppResult<MerchantSettlement> {
    let (pending, in_window, direct, settled) = position(c, merchant_id)?;
    let lines = ledger::statement(c, &statement_accounts(merchant_id)?, page)?;
    Ok(MerchantSettlement {
        merchant_id: merchant_id.to_owned(),
        pending_fen: pending,
        direct_in_window_fen: in_window,
        direct,
        settled_fen: settled,
        lines,
    })
}
