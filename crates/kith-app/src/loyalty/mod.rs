//! # Loyalty: points (积分, issue 19)
//!
//! Owns a merchant's points rule ([`kith_domain::points::PointsRule`]: points per ¥1
//! earned, points worth ¥1 at checkout, the share of an order points may pay, days until
//! they expire) and every movement of points, which are a non-cash asset **kept on the
//! ledger**: accounts `points:{member}:{merchant}:frozen|available` and the merchant's
//! `points:{merchant}:issued` (negative by what its members hold), balanced entries that
//! never hold money ([`kith_domain::ledger::JournalEntry`] refuses a mix), under
//! idempotency keys, in the transaction of the change that caused them.
//!
//! The life of points:
//! - **earned** when an order starts fulfilment ([`on_paid`]), on the goods actually paid,
//!   **frozen** like commission until the after-sale window closes ([`on_completed`]),
//!   then **available** as a *lot* with its expiry;
//! - **spent** at checkout ([`redeem`]) — one conditional update on the member's available
//!   balance (`ledger::post` with the account guarded against overdraft), so two checkouts
//!   racing for the same points cannot both spend them; pricing is
//!   `kith_domain::order_price` stage 4;
//! - **given back** when the unpaid order is cancelled or expires ([`on_released`]) and, in
//!   proportion to the money, when its lines are refunded ([`on_refund`]), which also takes
//!   back in proportion what the order earned (from the frozen points, or after the window
//!   closed from the available ones, never below zero). Points given back come back as a
//!   new lot with a fresh expiry (simple, and never to the member's loss);
//! - **expired** first in, first out by the [`ExpirePoints`] job scheduled at each lot's
//!   expiry ([`kith_domain::points::expired_due`]).
//!
//! Writes: `points_settings`, `points_lots`, the orders' and lines' `points_*` columns,
//! ledger entries on `points:` accounts. Events: `points_settings.updated`,
//! `points.earned`, `points.available`, `points.expired`.
//!
//! Never: moves money, or touches an order's status.

use kith_domain::ledger::accounts::{self, PointsState};
use kith_domain::ledger::{AccountId, EntryKind, JournalEntry};
use kith_domain::points::{PointsRule, expired_due};
use kith_store::Conn;
use serde::{Deserialize, Serialize};

use crate::events::jobs::{ClaimedJob, Job, JobError, JobRegistry};
use crate::money::ledger::{self, Refs, StatementLine};
use crate::platform::auth::{StaffNeed, merchant_status, require_staff};
use crate::platform::ids::{MerchantId, OrderId};
use crate::platform::page::{Page, PageRequest};
use crate::{App, AppError, AppResult, Principal, platform::outbox, rfc3339};
use kith_domain::Fen;

mod store;
pub(crate) use store::settings;
use store::{lot_sums, order_points};

const DAY_MS: i64 = 86_400_000;

/// A merchant's points rule as the API shows and takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointsSettings {
    /// Whether the shop gives and takes points at all.
    pub enabled: bool,
    /// Points earned per ¥1 of goods actually paid, 0–100.
    #[schema(minimum = 0, maximum = 100)]
    pub earn_per_yuan: i64,
    /// Points worth ¥1 at checkout, 1–10000 (100: "100 积分抵 1 元").
    #[schema(minimum = 1, maximum = 10000)]
    pub points_per_yuan: i64,
    /// At most this share of the goods (after 满减 and the coupon) is paid in points, 1–100 %.
    #[schema(minimum = 1, maximum = 100)]
    pub cap_percent: i64,
    /// Days points stay usable once available: 0 (never expire) or 30–1095.
    #[schema(minimum = 0, maximum = 1095)]
    pub expire_days: i64,
    /// Whether 秒杀 and 拼团 orders, already at an activity price, may take points too
    /// (default false).
    #[serde(default)]
    pub on_activity_orders: bool,
}

impl PointsSettings {
    fn rule(&self) -> AppResult<PointsRule> {
        Ok(PointsRule::parse(
            self.earn_per_yuan,
            self.points_per_yuan,
            self.cap_percent,
            self.expire_days,
        )?)
    }

    fn of(enabled: bool, on_activity_orders: bool, r: PointsRule) -> Self {
        Self {
            enabled,
            on_activity_orders,
            earn_per_yuan: i64::from(r.earn_per_yuan),
            points_per_yuan: i64::from(r.points_per_yuan),
            cap_percent: i64::from(r.cap_percent),
            expire_days: i64::from(r.expire_days),
        }
    }
}

/// A member's points at one merchant.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PointsBalance {
    pub merchant_id: MerchantId,
    pub merchant_name: String,
    /// Usable at checkout now.
    pub available: i64,
    /// Earned on orders whose after-sale window is still open.
    pub frozen: i64,
    /// What the available points are worth at checkout now, in fen (0 when the shop has
    /// turned points off).
    #[schema(value_type = i64)]
    pub worth_fen: Fen,
    /// The next points to expire, and when (none when nothing is due to expire).
    pub expiring: Option<i64>,
    pub expiring_at: Option<String>,
    /// The shop's rule now; null when the shop has turned points off.
    pub settings: Option<PointsSettings>,
}

/// A member's points at one merchant with their statement, newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PointsStatement {
    pub balance: PointsBalance,
    /// Each line moved `frozen` or `available` points (`balance`), by `kind`
    /// (`points_earned`, `points_settled`, `points_redeemed`, `points_returned`,
    /// `points_reversed`, `points_expired`); `amount` is in points.
    pub lines: Page<PointsLine>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PointsLine {
    pub entry_id: String,
    pub kind: String,
    /// `frozen` or `available`.
    pub balance: String,
    /// Points added (negative: taken).
    pub amount: i64,
    pub order_id: Option<OrderId>,
    pub memo: String,
    pub at: String,
}

/// Announces the read [`rule`] makes ([`Conn::prefetch`]).
pub(crate) fn announce_rule(c: &mut dyn Conn, merchant_id: &str) -> AppResult<()> {
    store::announce_settings(c, merchant_id)
}

/// The rule in force: `None` when the shop gives and takes no points.
pub(crate) fn rule(c: &mut dyn Conn, merchant_id: &str) -> AppResult<Option<PointsRule>> {
    settings(c, merchant_id)?
        .filter(|s| s.enabled)
        .map(|s| s.rule())
        .transpose()
}

fn held(member: &str, merchant_id: &str, state: PointsState) -> AppResult<AccountId> {
    Ok(accounts::points(member, merchant_id, state)?)
}

fn issued(merchant_id: &str) -> AppResult<AccountId> {
    Ok(accounts::points_issued(merchant_id)?)
}

/// Posts a transfer of `points` (nothing when zero); whether it was posted now (false: zero,
/// or already posted under its key). `guard`: the account it comes from may not go below
/// zero (409 on `points`).
#[allow(clippy::too_many_arguments)]
fn transfer(
    c: &mut dyn Conn,
    now: i64,
    key: String,
    kind: EntryKind,
    from: AccountId,
    to: AccountId,
    points: i64,
    order_id: Option<&str>,
    memo: &str,
    guard: bool,
) -> AppResult<bool> {
    if points <= 0 {
        return Ok(false);
    }
    let entry = JournalEntry::transfer(key, kind, from.clone(), to, Fen::new(points))?;
    let refs = Refs {
        order_id,
        memo,
        ..Default::default()
    };
    let guarded = [(&from, "points")];
    let posted = ledger::post(c, now, &entry, refs, if guard { &guarded } else { &[] })?;
    Ok(matches!(posted, ledger::Posted::New(_)))
}

/// Locks the member's available points row (PostgreSQL takes the row lock; SQLite's writer
/// is serial anyway), so a read of the balance that follows holds until the transaction
/// ends: what a clawback or an expiry computes from it cannot be raced by a checkout.
fn lock_available(c: &mut dyn Conn, account: &AccountId) -> AppResult<i64> {
    store::lock_account(c, account)?;
    ledger::balance(c, account)
}

/// Credits `points` to the member's available points as a new lot, expiring by the shop's
/// rule, and schedules the lot's expiry; nothing when the entry was already posted under
/// its key. Returns whether it credited now.
#[allow(clippy::too_many_arguments)]
fn credit_lot(
    c: &mut dyn Conn,
    now: i64,
    key: String,
    kind: EntryKind,
    from: AccountId,
    member: &str,
    merchant_id: &str,
    order_id: Option<&str>,
    points: i64,
    memo: &str,
) -> AppResult<bool> {
    let to = held(member, merchant_id, PointsState::Available)?;
    if !transfer(c, now, key, kind, from, to, points, order_id, memo, false)? {
        return Ok(false);
    }
    let days = settings(c, merchant_id)?.map_or(0, |s| s.expire_days);
    let expires = (days > 0).then(|| now + days * DAY_MS);
    store::insert_lot(c, now, member, merchant_id, order_id, points, expires)?;
    if let Some(at) = expires {
        let job = ExpirePoints {
            member_id: member.to_owned(),
            merchant_id: merchant_id.to_owned(),
        };
        crate::events::jobs::enqueue(c, now, &job, at)?;
    }
    Ok(true)
}

/// Spends `used` of the buyer's available points on the new order `order_id` (worth
/// `fen`): one conditional update on the balance, a 409 on `points` when it is short.
pub(crate) fn redeem(
    c: &mut dyn Conn,
    now: i64,
    buyer: &str,
    merchant_id: &str,
    order_id: &str,
    used: i64,
    fen: i64,
) -> AppResult<()> {
    if used <= 0 {
        return Ok(());
    }
    transfer(
        c,
        now,
        format!("order:{order_id}:points:redeem"),
        EntryKind::PointsRedeemed,
        held(buyer, merchant_id, PointsState::Available)?,
        issued(merchant_id)?,
        used,
        Some(order_id),
        "points spent at checkout",
        true,
    )
    .map_err(|e| match e {
        AppError::Conflict { .. } => AppError::conflict(
            "points",
            "you do not have that many points available at this shop",
        ),
        other => other,
    })?;
    store::set_order_spent(c, order_id, used, fen)?;
    Ok(())
}

/// The unpaid order was cancelled or expired: the points it spent come back (as a new lot).
pub(crate) fn on_released(c: &mut dyn Conn, now: i64, order_id: &str) -> AppResult<()> {
    let o = order_points(c, order_id)?;
    let back = o.used - o.returned;
    if back <= 0 {
        return Ok(());
    }
    if !store::return_order_points(c, order_id, o.returned)? {
        return Ok(());
    }
    store::return_line_points(c, order_id)?;
    credit_lot(
        c,
        now,
        format!("order:{order_id}:points:release"),
        EntryKind::PointsReturned,
        issued(&o.merchant_id)?,
        &o.buyer,
        &o.merchant_id,
        Some(order_id),
        back,
        "points given back: order cancelled",
    )?;
    Ok(())
}

/// The order starts fulfilment (paid, or its group filled): it earns points on the goods
/// actually paid, frozen until its after-sale window closes.
pub(crate) fn on_paid(
    c: &mut dyn Conn,
    now: i64,
    order_id: &str,
    buyer: &str,
    merchant_id: &str,
    goods: Fen,
) -> AppResult<()> {
    if let Some((_, event)) = earn_on_paid(c, now, order_id, buyer, merchant_id, goods)? {
        outbox::emit_all(c, now, &[event])?;
    }
    Ok(())
}

/// [`on_paid`] without its outbox event (`points.earned`), which it returns with the points
/// earned (now the order's `points_earned`) for the caller to write with its own in one
/// statement.
pub(crate) fn earn_on_paid<'a>(
    c: &mut dyn Conn,
    now: i64,
    order_id: &'a str,
    buyer: &str,
    merchant_id: &'a str,
    goods: Fen,
) -> AppResult<Option<(i64, outbox::Event<'a>)>> {
    let Some(rule) = rule(c, merchant_id)? else {
        return Ok(None);
    };
    let earned = rule.earned(goods);
    if earned <= 0 {
        return Ok(None);
    }
    if !store::set_order_earned(c, order_id, earned)? {
        return Ok(None);
    }
    transfer(
        c,
        now,
        format!("order:{order_id}:points:earn"),
        EntryKind::PointsEarned,
        issued(merchant_id)?,
        held(buyer, merchant_id, PointsState::Frozen)?,
        earned,
        Some(order_id),
        "points earned: order paid",
        false,
    )?;
    Ok(Some((
        earned,
        outbox::Event {
            topic: "points.earned".into(),
            merchant_id: Some(merchant_id),
            aggregate_id: order_id,
            payload: serde_json::json!({ "order_id": order_id, "member_id": buyer, "points": earned }),
        },
    )))
}

/// The order's after-sale window closed: what it earned (less what refunds took back)
/// becomes available, as a lot with its expiry.
pub(crate) fn on_completed(c: &mut dyn Conn, now: i64, order_id: &str) -> AppResult<()> {
    let o = order_points(c, order_id)?;
    let left = o.earned - o.reversed;
    if left <= 0 {
        return Ok(());
    }
    let credited = credit_lot(
        c,
        now,
        format!("order:{order_id}:points:settle"),
        EntryKind::PointsSettled,
        held(&o.buyer, &o.merchant_id, PointsState::Frozen)?,
        &o.buyer,
        &o.merchant_id,
        Some(order_id),
        left,
        "points available: after-sale window closed",
    )?;
    if !credited {
        return Ok(());
    }
    outbox::emit(
        c,
        now,
        "points.available",
        Some(&o.merchant_id),
        order_id,
        &serde_json::json!({ "order_id": order_id, "member_id": o.buyer, "points": left }),
    )?;
    Ok(())
}

/// One refunded line as points see it: its number, its units and the money it paid in
/// all, and the units and money refunded from it once this refund is done.
pub(crate) struct RefundedLine {
    pub line_no: i64,
    pub quantity: i64,
    pub qty_after: i64,
    pub paid_fen: i64,
    pub after_fen: i64,
}

impl RefundedLine {
    /// Of `used` points spent on the line, how many its refunds so far should have given
    /// back: the larger share by units or by money (a line paid wholly in points gives its
    /// points back by units; a refund of money alone, by money), never more than `used`.
    pub(crate) fn points_due(&self, used: i64) -> i64 {
        let by_units = kith_domain::commission::reversal(used, self.quantity, 0, self.qty_after);
        let by_money = kith_domain::commission::reversal(used, self.paid_fen, 0, self.after_fen);
        by_units.max(by_money).min(used)
    }
}

/// A refund moved the order's refunded goods from `goods_before` to `goods_after`: the
/// points its lines spent come back in proportion to the money (the whole line's on a full
/// refund), and what the order earned is taken back in the same proportion — from the
/// frozen points before the window closed (`settled` false), after it from the available
/// ones, never below zero (points already spent stay spent).
#[allow(clippy::too_many_arguments)]
pub(crate) fn on_refund(
    c: &mut dyn Conn,
    now: i64,
    order_id: &str,
    refund_id: &str,
    goods_before: i64,
    goods_after: i64,
    lines: &[RefundedLine],
    settled: bool,
) -> AppResult<()> {
    let o = order_points(c, order_id)?;
    // Spent points back, line by line.
    if o.used > 0 {
        let mut back_total = 0;
        for l in lines {
            let (used, returned) = store::line_points(c, order_id, l.line_no)?;
            let back = l.points_due(used) - returned;
            if back > 0 {
                store::add_line_returned(c, order_id, l.line_no, back)?;
                back_total += back;
            }
        }
        if back_total > 0 {
            store::add_order_returned(c, order_id, back_total)?;
            credit_lot(
                c,
                now,
                format!("refund:{refund_id}:points:return"),
                EntryKind::PointsReturned,
                issued(&o.merchant_id)?,
                &o.buyer,
                &o.merchant_id,
                Some(order_id),
                back_total,
                "points given back: refund",
            )?;
        }
    }
    // Earned points taken back in proportion to the goods refunded.
    let owed = kith_domain::commission::reversal(o.earned, o.goods_fen, goods_before, goods_after);
    if owed <= 0 {
        return Ok(());
    }
    let from = if settled {
        held(&o.buyer, &o.merchant_id, PointsState::Available)?
    } else {
        held(&o.buyer, &o.merchant_id, PointsState::Frozen)?
    };
    let take = if settled {
        owed.min(lock_available(c, &from)?.max(0))
    } else {
        owed
    };
    store::add_order_reversed(c, order_id, owed)?;
    transfer(
        c,
        now,
        format!("refund:{refund_id}:points:reverse"),
        EntryKind::PointsReversed,
        from,
        issued(&o.merchant_id)?,
        take,
        Some(order_id),
        "points taken back: refund",
        settled,
    )?;
    Ok(())
}

/// The `points.expire` job: at a lot's expiry, the member's unspent points from lots now
/// past their expiry go back to the merchant, oldest first (payload `{"member_id": …,
/// "merchant_id": …}`). Running late or twice expires nothing more.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpirePoints {
    pub member_id: String,
    pub merchant_id: String,
}

impl Job for ExpirePoints {
    const KIND: &'static str = "points.expire";
    const MAX_ATTEMPTS: i64 = 5;

    async fn run(self, app: &App, _attempt: &ClaimedJob) -> Result<(), JobError> {
        let now = app.now_ms();
        app.db
            .write(move |c| expire(c, now, &self.member_id, &self.merchant_id))
            .await?;
        Ok(())
    }
}

/// Registers this context's jobs (called once when the [`App`] is built).
pub(crate) fn register_jobs(jobs: &mut JobRegistry) {
    jobs.register::<ExpirePoints>();
}

fn expire(c: &mut dyn Conn, now: i64, member: &str, merchant_id: &str) -> AppResult<()> {
    let account = held(member, merchant_id, PointsState::Available)?;
    let balance = lock_available(c, &account)?;
    let (old, total) = lot_sums(c, member, merchant_id, now)?;
    let due = expired_due(old, total, balance);
    if due <= 0 {
        return Ok(());
    }
    transfer(
        c,
        now,
        format!("points:{member}:{merchant_id}:expire:{now}"),
        EntryKind::PointsExpired,
        account,
        issued(merchant_id)?,
        due,
        None,
        "points expired",
        true,
    )?;
    outbox::emit(
        c,
        now,
        "points.expired",
        Some(merchant_id),
        member,
        &serde_json::json!({ "member_id": member, "merchant_id": merchant_id, "points": due }),
    )?;
    Ok(())
}

/// The next points to expire from `balance`, and when: walking the lots oldest first,
/// the first one not wholly spent.
fn expiring(
    c: &mut dyn Conn,
    member: &str,
    merchant_id: &str,
    balance: i64,
) -> AppResult<Option<(i64, i64)>> {
    if balance <= 0 {
        return Ok(None);
    }
    let rows = store::lots(c, member, merchant_id)?;
    let total: i64 = rows.iter().map(|(points, _)| points).sum();
    let mut spent = (total - balance).max(0);
    for &(points, expires_at) in &rows {
        let take = spent.min(points);
        spent -= take;
        let left = points - take;
        if left > 0 {
            return Ok(expires_at.map(|at| (left.min(balance), at)));
        }
    }
    Ok(None)
}

fn balance_view(c: &mut dyn Conn, member: &str, merchant_id: &str) -> AppResult<PointsBalance> {
    let name = store::merchant_name(c, merchant_id)?;
    let available = ledger::balance(c, &held(member, merchant_id, PointsState::Available)?)?;
    let frozen = ledger::balance(c, &held(member, merchant_id, PointsState::Frozen)?)?;
    let current = settings(c, merchant_id)?.filter(|s| s.enabled);
    let worth_fen = match &current {
        Some(s) => s.rule()?.worth(available).get(),
        None => 0,
    };
    let next = expiring(c, member, merchant_id, available)?;
    Ok(PointsBalance {
        merchant_id: MerchantId::from_row(merchant_id.to_owned()),
        merchant_name: name,
        available,
        frozen,
        worth_fen: Fen::new(worth_fen),
        expiring: next.map(|(p, _)| p),
        expiring_at: next.map(|(_, at)| rfc3339(at)),
        settings: current,
    })
}

impl App {
    /// The shop's points rule, for anyone (the shop page says what a purchase earns).
    /// `enabled` false and the defaults when the shop never set one.
    pub async fn points_settings(&self, merchant_id: &MerchantId) -> AppResult<PointsSettings> {
        crate::platform::ids::parse_id(merchant_id).ok_or(AppError::NotFound("merchant"))?;
        let mid = merchant_id.to_owned();
        self.db
            .read(move |c| {
                merchant_status(c, &mid)?;
                Ok(settings(c, &mid)?.unwrap_or(PointsSettings::of(false, false, PointsRule::OFF)))
            })
            .await
    }

    /// Sets the shop's points rule (owner or manager). Turning points off stops earning
    /// and spending; points members hold stay theirs, and come back into use when the
    /// shop turns them on again.
    pub async fn set_points_settings(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        input: PointsSettings,
    ) -> AppResult<PointsSettings> {
        crate::platform::ids::parse_id(merchant_id).ok_or(AppError::NotFound("merchant"))?;
        let (asker, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| require_staff(c, &asker, &mid, StaffNeed::AnyStaff))
            .await?;
        let rule = input.rule()?;
        let saved = PointsSettings::of(input.enabled, input.on_activity_orders, rule);
        let now = self.now_ms();
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .write(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                store::upsert_settings(c, now, &mid, &saved)?;
                outbox::emit(
                    c,
                    now,
                    "points_settings.updated",
                    Some(&mid),
                    &mid,
                    &serde_json::json!({ "merchant_id": mid, "by": who.account_id, "settings": saved }),
                )?;
                Ok(saved)
            })
            .await
    }

    /// The caller's points at every shop where they have any, largest balance first.
    pub async fn my_points(&self, who: &Principal) -> AppResult<Vec<PointsBalance>> {
        let member = who.account_id.clone();
        self.db
            .read(move |c| {
                let prefix = format!("points:{member}:%");
                let rows = store::accounts_like(c, &prefix)?;
                let mut shops: Vec<String> = Vec::new();
                for r in rows {
                    let id = AccountId::parse(&r)?;
                    let shop = id.as_str().split(':').nth(2).unwrap_or_default().to_owned();
                    if !shops.contains(&shop) {
                        shops.push(shop);
                    }
                }
                let mut out = shops
                    .iter()
                    .map(|shop| balance_view(c, &member, shop))
                    .collect::<AppResult<Vec<_>>>()?;
                out.sort_by_key(|b| std::cmp::Reverse(b.available + b.frozen));
                Ok(out)
            })
            .await
    }

    /// The caller's points at one shop and their statement, newest first.
    pub async fn my_points_at(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        page: PageRequest,
    ) -> AppResult<PointsStatement> {
        crate::platform::ids::parse_id(merchant_id).ok_or(AppError::NotFound("merchant"))?;
        let (member, mid) = (who.account_id.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                merchant_status(c, &mid)?;
                let balance = balance_view(c, &member, &mid)?;
                let accts = [
                    held(&member, &mid, PointsState::Frozen)?,
                    held(&member, &mid, PointsState::Available)?,
                ];
                let statement = ledger::statement(c, &accts, &page)?;
                let items = statement
                    .items
                    .into_iter()
                    .map(|l: StatementLine| PointsLine {
                        balance: if l.account == accts[0] {
                            "frozen"
                        } else {
                            "available"
                        }
                        .to_owned(),
                        entry_id: l.entry_id,
                        kind: l.kind,
                        amount: l.amount_fen.get(),
                        order_id: l.order_id,
                        memo: l.memo,
                        at: l.at,
                    })
                    .collect();
                Ok(PointsStatement {
                    balance,
                    lines: Page {
                        items,
                        next_cursor: statement.next_cursor,
                    },
                })
            })
            .await
    }
}

/// The points a checkout offers (`asked`, at most: pricing spends only what the shop's cap
/// lets them buy) as the price's stage 4 sees them; `None` when none are offered, a 409
/// (`points_not_taken`) when the shop takes no points, or on an order at an activity price
/// (`activity_order`: 秒杀, 拼团) unless the shop allows it (`points_not_for_activity`).
/// Whether the buyer holds them is [`redeem`]'s check.
pub(crate) fn offer(
    c: &mut dyn Conn,
    merchant_id: &str,
    asked: i64,
    activity_order: bool,
) -> AppResult<Option<kith_domain::order_price::PointsTerms>> {
    if asked < 0 {
        return Err(AppError::invalid("points", "must not be negative"));
    }
    if asked == 0 {
        return Ok(None);
    }
    let Some(s) = settings(c, merchant_id)?.filter(|s| s.enabled) else {
        return Err(AppError::conflict(
            "points_not_taken",
            "this shop does not take points",
        ));
    };
    if activity_order && !s.on_activity_orders {
        return Err(AppError::conflict(
            "points_not_for_activity",
            "this shop takes no points on 秒杀 or 拼团 orders",
        ));
    }
    let rule = s.rule()?;
    Ok(Some(kith_domain::order_price::PointsTerms {
        offered: asked,
        points_per_yuan: rule.points_per_yuan,
        cap_percent: rule.cap_percent,
    }))
}

#[cfg(test)]
mod tests {
    use super::RefundedLine;
    use proptest::prelude::*;

    fn line(quantity: i64, qty_after: i64, paid_fen: i64, after_fen: i64) -> RefundedLine {
        RefundedLine {
            line_no: 1,
            quantity,
            qty_after,
            paid_fen,
            after_fen,
        }
    }

    #[test]
    fn a_line_paid_wholly_in_points_gives_them_back_by_units() {
        assert_eq!(line(2, 1, 0, 0).points_due(300), 150);
        assert_eq!(line(2, 2, 0, 0).points_due(300), 300);
        // Money alone (no units): by money.
        assert_eq!(line(3, 0, 9_000, 3_000).points_due(300), 100);
    }

    proptest! {
        /// Whatever steps a line is refunded in, by units or by money, what is due never
        /// shrinks, never passes what was spent, and is all of it once the line is wholly
        /// refunded.
        #[test]
        fn points_due_rise_to_exactly_what_was_spent(
            used in 0i64..100_000,
            quantity in 1i64..20,
            paid in 0i64..1_000_000,
            steps in proptest::collection::vec((0i64..5, 0i64..300_000), 1..8),
        ) {
            let (mut q, mut m, mut due) = (0, 0, 0);
            for (dq, dm) in steps {
                q = (q + dq).min(quantity);
                m = (m + dm).min(paid);
                let now = line(quantity, q, paid, m).points_due(used);
                prop_assert!(now >= due && now <= used);
                due = now;
            }
            prop_assert_eq!(line(quantity, quantity, paid, paid).points_due(used), used);
        }
    }
}
