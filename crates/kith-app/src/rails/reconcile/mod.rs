//! Reconciliation (对账): every day, each owner's statement at each outside provider is
//! matched line by line with what kith booked, and what differs is reported.
//!
//! For a Beijing calendar day, the provider's lines (WeChat Pay's trade bill,
//! [`crate::rails::wechatpay::bill`]; Alipay's trade bill, [`crate::rails::alipay::bill`])
//! are matched with kith's own by kith's number for the line (a payment's id is the
//! provider's `out_trade_no`, a refund's id WeChat's `out_refund_no` or Alipay's
//! `out_request_no`):
//! - `missing_in_kith`: the provider moved money kith has no record of that day;
//! - `missing_at_provider`: kith booked money the provider does not state;
//! - `amount_differs`: both have it, with different amounts.
//!
//! The platform's Alipay run also matches its payouts: withdrawals kith paid out through
//! Alipay that day (by `payout_events`, keyed by the withdrawal id, Alipay's `out_biz_no`)
//! with the 转账 lines of Alipay's 账务明细 ([`crate::rails::alipay::bill`]); the platform's
//! WeChat Pay run likewise, with the 商家转账 lines of its fund-flow bill (资金账单,
//! [`crate::rails::wechatpay::bill::parse_fund_flow`], keyed by the 业务凭证号: kith's
//! batch and detail numbers, both the withdrawal id without dashes).
//!
//! A run is stored once per provider, owner and day (running it again replaces it), a
//! run with a mismatch emits `reconciliation.mismatched` (the merchant's webhooks and the
//! console hear it), and the console shows the runs. The daily job starts when an owner
//! first enters its credentials and chains itself from day to day through
//! `reconcile_schedule` (one conditional update decides the next day, so the chain never
//! forks); a day whose statement cannot be had after every retry is stored as `failed`
//! and the chain goes on. `kith reconcile --provider wechat|alipay --date …` runs a day by hand.
//!
//! Writes `reconciliations`, `reconciliation_mismatches`, `reconcile_schedule`; reads
//! `payments`, `refunds`, and `withdrawals` with their `payout_events`; never touches the ledger (a mismatch is for a person to
//! look into, not for kith to book).

mod store;

use kith_domain::Fen;
use serde::{Deserialize, Serialize};

use super::alipay::bill::{PayoutLine, TradeLine};
use super::credentials::{load_alipay, load_wechatpay};
use super::wechatpay::bill::FlowLine;
use super::wechatpay::bill::{BillEntry, BillLine};
use crate::events::jobs::{ClaimedJob, Job, JobError, JobRegistry, Lane, enqueue};
use crate::platform::auth::{StaffNeed, require_staff};
use crate::platform::ids::{MerchantId, parse_id};
use crate::platform::outbox;
use crate::{App, AppError, AppResult, Principal};

/// Providers kith reconciles with.
pub const PROVIDERS: &[&str] = &["wechat", "alipay"];

/// What one line is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    Payment,
    Refund,
    /// A withdrawal paid out through the provider (the platform's runs).
    Payout,
}

impl Entry {
    pub fn as_str(self) -> &'static str {
        match self {
            Entry::Payment => "payment",
            Entry::Refund => "refund",
            Entry::Payout => "payout",
        }
    }

    fn parse(s: &str) -> AppResult<Self> {
        match s {
            "payment" => Ok(Entry::Payment),
            "refund" => Ok(Entry::Refund),
            "payout" => Ok(Entry::Payout),
            o => Err(AppError::Internal(format!(
                "unknown reconciliation entry {o:?}"
            ))),
        }
    }
}

/// How a line differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MismatchKind {
    MissingInKith,
    MissingAtProvider,
    AmountDiffers,
}

impl MismatchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MismatchKind::MissingInKith => "missing_in_kith",
            MismatchKind::MissingAtProvider => "missing_at_provider",
            MismatchKind::AmountDiffers => "amount_differs",
        }
    }

    fn parse(s: &str) -> AppResult<Self> {
        match s {
            "missing_in_kith" => Ok(MismatchKind::MissingInKith),
            "missing_at_provider" => Ok(MismatchKind::MissingAtProvider),
            "amount_differs" => Ok(MismatchKind::AmountDiffers),
            o => Err(AppError::Internal(format!("unknown mismatch kind {o:?}"))),
        }
    }
}

/// One line on one side, keyed by kith's id for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub(crate) entry: Entry,
    /// kith's payment or refund id (or, for a provider line that names no kith id, the
    /// provider's `out_*_no` as written).
    pub(crate) key: String,
    pub(crate) provider_no: Option<String>,
    pub(crate) amount_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Mismatch {
    pub kind: MismatchKind,
    pub entry: Entry,
    /// kith's payment or refund id (or the provider's number for it, when kith has none).
    pub reference: String,
    /// The provider's own number for the line (WeChat's 微信订单号 / 微信退款单号).
    pub provider_no: Option<String>,
    #[schema(value_type = Option<i64>)]
    pub provider_fen: Option<Fen>,
    #[schema(value_type = Option<i64>)]
    pub kith_fen: Option<Fen>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Reconciliation {
    pub id: String,
    pub provider: String,
    /// A merchant id, or `platform`.
    pub owner: String,
    /// The Beijing calendar day, `YYYY-MM-DD`.
    pub bill_date: String,
    /// `matched`, `mismatched`, or `failed` (the statement could not be had; `detail` says why).
    pub status: String,
    pub provider_lines: i64,
    pub kith_lines: i64,
    pub matched: i64,
    #[schema(value_type = i64)]
    pub provider_total_fen: Fen,
    #[schema(value_type = i64)]
    pub kith_total_fen: Fen,
    pub detail: Option<String>,
    pub mismatches: Vec<Mismatch>,
    pub created_at: String,
}

/// Matches the provider's lines with kith's: what matched, and every difference, in a
/// stable order (payments first, then by reference).
pub(crate) fn compare(provider: &[Line], kith: &[Line]) -> (i64, Vec<Mismatch>) {
    use std::collections::BTreeMap;
    let index = |lines: &[Line]| {
        lines
            .iter()
            .map(|l| ((l.entry, l.key.clone()), l.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    let (theirs, ours) = (index(provider), index(kith));
    let mut matched = 0;
    let mut out = Vec::new();
    for (k, p) in &theirs {
        match ours.get(k) {
            Some(o) if o.amount_fen == p.amount_fen => matched += 1,
            Some(o) => out.push(Mismatch {
                kind: MismatchKind::AmountDiffers,
                entry: p.entry,
                reference: p.key.clone(),
                provider_no: p.provider_no.clone(),
                provider_fen: Some(Fen::new(p.amount_fen)),
                kith_fen: Some(Fen::new(o.amount_fen)),
            }),
            None => out.push(Mismatch {
                kind: MismatchKind::MissingInKith,
                entry: p.entry,
                reference: p.key.clone(),
                provider_no: p.provider_no.clone(),
                provider_fen: Some(Fen::new(p.amount_fen)),
                kith_fen: None,
            }),
        }
    }
    for (k, o) in &ours {
        if !theirs.contains_key(k) {
            out.push(Mismatch {
                kind: MismatchKind::MissingAtProvider,
                entry: o.entry,
                reference: o.key.clone(),
                provider_no: o.provider_no.clone(),
                provider_fen: None,
                kith_fen: Some(Fen::new(o.amount_fen)),
            });
        }
    }
    out.sort_by(|a, b| (a.entry, &a.reference).cmp(&(b.entry, &b.reference)));
    (matched, out)
}

/// A WeChat Pay bill line as a reconciliation line: its `out_*_no` read back as kith's id
/// (kith writes ids without their dashes, [`crate::rails::wechatpay::protocol::out_trade_no`]).
fn wechat_line(l: &BillLine) -> Line {
    Line {
        entry: match l.entry {
            BillEntry::Payment => Entry::Payment,
            BillEntry::Refund => Entry::Refund,
        },
        key: parse_id(&l.out_no).unwrap_or_else(|| l.out_no.clone()),
        provider_no: Some(l.provider_no.clone()),
        amount_fen: l.amount_fen,
    }
}

/// An Alipay bill line as a reconciliation line: its 商户订单号 / 退款批次号 read back as
/// kith's id (kith writes ids without their dashes, [`crate::rails::alipay::protocol::out_no`]).
fn alipay_line(l: &TradeLine) -> Line {
    Line {
        entry: if l.refund {
            Entry::Refund
        } else {
            Entry::Payment
        },
        key: parse_id(&l.out_no).unwrap_or_else(|| l.out_no.clone()),
        provider_no: Some(l.trade_no.clone()).filter(|n| !n.is_empty()),
        amount_fen: l.amount_fen,
    }
}

/// An Alipay 转账 line as a reconciliation line: its 商户订单号 read back as the withdrawal id.
fn alipay_payout(l: &PayoutLine) -> Line {
    Line {
        entry: Entry::Payout,
        key: parse_id(&l.out_no).unwrap_or_else(|| l.out_no.clone()),
        provider_no: Some(l.flow_no.clone()).filter(|n| !n.is_empty()),
        amount_fen: l.amount_fen,
    }
}

/// A WeChat Pay fund-flow 商家转账 line as a reconciliation line: its 业务凭证号 read back
/// as the withdrawal id.
fn wechat_payout(l: &FlowLine) -> Line {
    Line {
        entry: Entry::Payout,
        key: parse_id(&l.out_no).unwrap_or_else(|| l.out_no.clone()),
        provider_no: Some(l.flow_no.clone()).filter(|n| !n.is_empty()),
        amount_fen: l.amount_fen,
    }
}

/// Whether a run of `provider` for `owner` matches payouts too: the platform's runs, which
/// pay withdrawals out (Alipay transfers, WeChat Pay 商家转账).
pub(crate) fn with_payouts(provider: &str, owner: &str) -> bool {
    matches!(provider, "alipay" | "wechat") && owner == super::PLATFORM
}

const BEIJING_SECS: i32 = 8 * 3600;

fn beijing() -> time::UtcOffset {
    time::UtcOffset::from_whole_seconds(BEIJING_SECS).unwrap_or(time::UtcOffset::UTC)
}

/// A Beijing calendar day (`YYYY-MM-DD`) as its first millisecond and the next day's.
pub fn beijing_day(date: &str) -> AppResult<(time::Date, i64, i64)> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(date.trim(), &format)
        .map_err(|_| AppError::invalid("date", "must be a day as YYYY-MM-DD"))?;
    let start = d.midnight().assume_offset(beijing()).unix_timestamp() * 1000;
    Ok((d, start, start + 86_400_000))
}

fn day_text(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The Beijing day before the one `now_ms` falls in.
pub fn yesterday(now_ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(beijing());
    day_text(t.date().previous_day().unwrap_or(t.date()))
}

/// When a day's statement is due: 10:30 Beijing the next day (WeChat Pay and Alipay make
/// their bills by about 10:00), or now if that has passed.
fn due_ms(date: &str, now_ms: i64) -> AppResult<i64> {
    let (_, _, next_day) = beijing_day(date)?;
    Ok((next_day + 630 * 60_000).max(now_ms))
}

/// Starts the daily chain for `provider` and `owner` if it is not running yet (called in
/// the transaction that stores the owner's credentials): the first day reconciled is
/// yesterday.
pub(crate) fn start_daily(
    c: &mut dyn kith_store::Conn,
    now_ms: i64,
    provider: &str,
    owner: &str,
) -> AppResult<()> {
    let date = yesterday(now_ms);
    if store::start_schedule(c, provider, owner, &date)? {
        enqueue(
            c,
            now_ms,
            &ReconcileDay {
                provider: provider.to_owned(),
                owner: owner.to_owned(),
                date: date.clone(),
            },
            due_ms(&date, now_ms)?,
        )?;
    }
    Ok(())
}

fn owner_id(owner: &str) -> AppResult<String> {
    if owner == super::PLATFORM {
        Ok(owner.to_owned())
    } else {
        parse_id(owner).ok_or(AppError::NotFound("merchant"))
    }
}

fn check_provider(provider: &str) -> AppResult<()> {
    if PROVIDERS.contains(&provider) {
        Ok(())
    } else {
        Err(AppError::invalid("provider", "must be wechat or alipay"))
    }
}

impl App {
    /// The provider's statement of `owner` for a Beijing day, as reconciliation lines.
    async fn provider_lines(
        &self,
        provider: &str,
        owner: &str,
        date: &str,
    ) -> AppResult<Vec<Line>> {
        check_provider(provider)?;
        let (o, key) = (owner.to_owned(), self.config.secret_key.clone());
        if provider == "alipay" {
            let keys = self
                .db
                .read(move |c| load_alipay(c, key.as_ref(), &o))
                .await?
                .ok_or_else(|| AppError::state("no Alipay credentials are set for this owner"))?;
            let bill = self.alipay_trade_bill(&keys, date).await?;
            let mut lines: Vec<Line> = bill.iter().map(alipay_line).collect();
            if with_payouts(provider, owner) {
                let payouts = self.alipay_payout_bill(&keys, date).await?;
                lines.extend(payouts.iter().map(alipay_payout));
            }
            return Ok(lines);
        }
        let keys = self
            .db
            .read(move |c| load_wechatpay(c, key.as_ref(), &o))
            .await?
            .ok_or_else(|| AppError::state("no WeChat Pay credentials are set for this owner"))?;
        let bill = self.wechat_trade_bill(&keys, date).await?;
        let mut lines: Vec<Line> = bill.iter().map(wechat_line).collect();
        if with_payouts(provider, owner) {
            let payouts = self.wechat_payout_bill(&keys, date).await?;
            lines.extend(payouts.iter().map(wechat_payout));
        }
        Ok(lines)
    }

    /// Reconciles one owner's day with one provider and stores the run (replacing an
    /// earlier run of the same day); emits `reconciliation.mismatched` when lines differ.
    pub async fn reconcile_day(
        &self,
        provider: &str,
        owner: &str,
        date: &str,
    ) -> AppResult<Reconciliation> {
        let owner = owner_id(owner)?;
        let (day, start, end) = beijing_day(date)?;
        let date = day_text(day);
        let theirs = self.provider_lines(provider, &owner, &date).await?;
        let (p, o, d) = (provider.to_owned(), owner.clone(), date.clone());
        let now = self.now_ms();
        self.db
            .write(move |c| {
                let ours = store::kith_lines(c, &p, &o, start, end)?;
                let (matched, mismatches) = compare(&theirs, &ours);
                let total = |l: &[Line]| l.iter().map(|x| x.amount_fen).sum::<i64>();
                let run = store::Run {
                    provider: &p,
                    owner: &o,
                    bill_date: &d,
                    status: if mismatches.is_empty() {
                        "matched"
                    } else {
                        "mismatched"
                    },
                    provider_lines: theirs.len() as i64,
                    kith_lines: ours.len() as i64,
                    matched,
                    provider_total_fen: total(&theirs),
                    kith_total_fen: total(&ours),
                    detail: None,
                };
                let id = store::save(c, now, &run, &mismatches)?;
                if !mismatches.is_empty() {
                    emit_mismatched(c, now, &run, &id, mismatches.len())?;
                }
                store::load(c, &id)
            })
            .await
    }

    /// Records that a day's statement could not be had (after every retry), so the
    /// console shows the gap instead of nothing.
    async fn reconcile_failed(
        &self,
        provider: &str,
        owner: &str,
        date: &str,
        why: &str,
    ) -> AppResult<()> {
        let (p, o, d, why) = (
            provider.to_owned(),
            owner.to_owned(),
            date.to_owned(),
            why.to_owned(),
        );
        let now = self.now_ms();
        self.db
            .write(move |c| {
                let run = store::Run {
                    provider: &p,
                    owner: &o,
                    bill_date: &d,
                    status: "failed",
                    provider_lines: 0,
                    kith_lines: 0,
                    matched: 0,
                    provider_total_fen: 0,
                    kith_total_fen: 0,
                    detail: Some(&why),
                };
                let id = store::save(c, now, &run, &[])?;
                emit_mismatched(c, now, &run, &id, 0)
            })
            .await
    }

    /// A merchant's reconciliations, newest day first (its owner and managers), at most 60.
    pub async fn merchant_reconciliations(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
    ) -> AppResult<Vec<Reconciliation>> {
        let (who, mid) = (who.clone(), merchant_id.clone());
        self.db
            .read(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                store::list(c, &mid, 60)
            })
            .await
    }

    /// The merchant's owner reconciles a day now (a day the daily job did, again).
    pub async fn reconcile_merchant_day(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        provider: &str,
        date: &str,
    ) -> AppResult<Reconciliation> {
        let (w, mid) = (who.clone(), merchant_id.clone());
        self.db
            .read(move |c| require_staff(c, &w, &mid, StaffNeed::Owner).map(|_| ()))
            .await?;
        let (_, start, _) = beijing_day(date)?;
        if start >= self.now_ms() {
            return Err(AppError::invalid("date", "must be a day that has begun"));
        }
        self.reconcile_day(provider, merchant_id, date).await
    }

    /// The platform's reconciliations (its payments and payouts), newest day first, at
    /// most 60: platform admins only.
    pub async fn platform_reconciliations(
        &self,
        who: &Principal,
    ) -> AppResult<Vec<Reconciliation>> {
        who.require_platform_admin()?;
        self.db
            .read(move |c| store::list(c, super::PLATFORM, 60))
            .await
    }

    /// A platform admin reconciles one of the platform's days now (replacing its run).
    pub async fn reconcile_platform_day(
        &self,
        who: &Principal,
        provider: &str,
        date: &str,
    ) -> AppResult<Reconciliation> {
        who.require_platform_admin()?;
        let (_, start, _) = beijing_day(date)?;
        if start >= self.now_ms() {
            return Err(AppError::invalid("date", "must be a day that has begun"));
        }
        self.reconcile_day(provider, super::PLATFORM, date).await
    }

    /// Every owner with credentials at `provider` (for `kith reconcile` without `--owner`).
    pub async fn reconcile_owners(&self, provider: &str) -> AppResult<Vec<String>> {
        check_provider(provider)?;
        let p = provider.to_owned();
        self.db.read(move |c| store::owners(c, &p)).await
    }
}

fn emit_mismatched(
    c: &mut dyn kith_store::Conn,
    now: i64,
    run: &store::Run<'_>,
    id: &str,
    mismatches: usize,
) -> AppResult<()> {
    let merchant = (run.owner != super::PLATFORM).then_some(run.owner);
    outbox::emit(
        c,
        now,
        "reconciliation.mismatched",
        merchant,
        id,
        &serde_json::json!({
            "reconciliation_id": id, "provider": run.provider, "owner": run.owner,
            "bill_date": run.bill_date, "status": run.status, "mismatches": mismatches,
            "detail": run.detail,
        }),
    )?;
    Ok(())
}

/// Reconciles one owner's day with one provider, then queues the next day (once: the
/// schedule's conditional update decides). Retried while the statement is not ready; on
/// the last attempt the day is stored as `failed` and the chain goes on.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReconcileDay {
    pub provider: String,
    pub owner: String,
    pub date: String,
}

impl Job for ReconcileDay {
    const KIND: &'static str = "rails.reconcile.day";
    const MAX_ATTEMPTS: i64 = 10;
    const LANE: Lane = Lane::Delivery;

    async fn run(self, app: &App, attempt: &ClaimedJob) -> Result<(), JobError> {
        match app
            .reconcile_day(&self.provider, &self.owner, &self.date)
            .await
        {
            Ok(_) => {}
            // Credentials removed: the chain ends here.
            Err(AppError::Conflict { .. }) => return Ok(()),
            Err(e) if !attempt.is_last_attempt() => return Err(e.into()),
            Err(e) => {
                app.reconcile_failed(&self.provider, &self.owner, &self.date, &e.to_string())
                    .await?
            }
        }
        let now = app.now_ms();
        let (_, _, next_start) = beijing_day(&self.date)?;
        let next = yesterday(next_start + 86_400_000);
        app.db
            .write(move |c| {
                if store::advance_schedule(c, &self.provider, &self.owner, &self.date, &next)? {
                    enqueue(
                        c,
                        now,
                        &ReconcileDay {
                            provider: self.provider.clone(),
                            owner: self.owner.clone(),
                            date: next.clone(),
                        },
                        due_ms(&next, now)?,
                    )?;
                }
                Ok::<_, AppError>(())
            })
            .await?;
        Ok(())
    }
}

pub(crate) fn register_jobs(jobs: &mut JobRegistry) {
    jobs.register::<ReconcileDay>();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(entry: Entry, key: &str, fen: i64) -> Line {
        Line {
            entry,
            key: key.into(),
            provider_no: None,
            amount_fen: fen,
        }
    }

    #[test]
    fn each_kind_of_difference_is_found_once() {
        let theirs = [
            line(Entry::Payment, "p1", 100),
            line(Entry::Payment, "p2", 250),
            line(Entry::Payment, "p9", 70),
            line(Entry::Refund, "r1", 50),
        ];
        let ours = [
            line(Entry::Payment, "p1", 100),
            line(Entry::Payment, "p2", 200),
            line(Entry::Payment, "p3", 30),
            line(Entry::Refund, "r1", 50),
        ];
        let (matched, diff) = compare(&theirs, &ours);
        assert_eq!(matched, 2);
        let got: Vec<_> = diff
            .iter()
            .map(|m| {
                (
                    m.kind,
                    m.reference.as_str(),
                    m.provider_fen.map(Fen::get),
                    m.kith_fen.map(Fen::get),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (MismatchKind::AmountDiffers, "p2", Some(250), Some(200)),
                (MismatchKind::MissingAtProvider, "p3", None, Some(30)),
                (MismatchKind::MissingInKith, "p9", Some(70), None),
            ]
        );
    }

    #[test]
    fn a_refund_and_a_payment_with_one_id_are_different_lines() {
        let (matched, diff) = compare(
            &[line(Entry::Payment, "x", 1)],
            &[line(Entry::Refund, "x", 1)],
        );
        assert_eq!(matched, 0);
        assert_eq!(diff.len(), 2);
    }

    #[test]
    fn days_are_beijing_days() {
        let (_, start, end) = beijing_day("2026-12-01").unwrap();
        // 2026-12-01T00:00+08:00 = 2026-11-30T16:00Z
        assert_eq!(start, 1_796_054_400_000);
        assert_eq!(end - start, 86_400_000);
        assert_eq!(yesterday(start), "2026-11-30");
        assert_eq!(yesterday(end - 1), "2026-11-30");
        assert_eq!(yesterday(end), "2026-12-01");
        assert!(beijing_day("2026-13-01").is_err());
        assert!(beijing_day("yesterday").is_err());
        // Due at 10:30 the next day.
        assert_eq!(due_ms("2026-12-01", 0).unwrap(), end + 630 * 60_000);
    }
}
