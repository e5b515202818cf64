//! Commission plans and the commission of each order on the ledger.
//!
//! - **Plans** per merchant (`commission_plans`) with per-product overrides
//!   (`commission_overrides`), validated by `kith_domain::commission` (at most two levels,
//!   the sum of all rates within the cap).
//! - **Snapshot at checkout** ([`snapshot`]): the order's attribution (last share link in
//!   the window, else the bound referrer, else none) and its beneficiary chain with each
//!   role's amount, in `order_attributions` / `order_commissions` (state `planned`).
//! - **Lifecycle on the ledger**, each step one balanced entry under its own key, in the
//!   transaction of the order change that causes it:
//!   paid ([`on_paid`], `order:{id}:commission`: merchant pending → distributor pending) →
//!   delivered or picked up ([`on_delivered`], `order:{id}:commission:freeze`: pending →
//!   frozen) → after-sale window closed ([`on_completed`], `order:{id}:commission:settle`:
//!   frozen → available; the merchant's own settlement is what is left after commission).
//!   A refund ([`on_refund`], `refund:{id}:commission`) takes back commission in proportion
//!   to the goods refunded — from pending/frozen back to the merchant's pending money, or,
//!   after settlement, as a clawback from the distributor's available balance, which may go
//!   negative: a debt netted against later earnings (withdrawals need a positive balance).
//! - **Wallets** per merchant: pending / frozen / available / withdrawing, and a statement
//!   line per posting, each linked to its order.

use std::collections::BTreeMap;

use kith_domain::Fen;
use kith_domain::commission::{self, Channel, Plan, PlanInput, Rates, Role, Touch};
use kith_domain::ledger::accounts::{self, CommissionState};
use kith_domain::ledger::{AccountId, EntryKind, JournalEntry, Posting};
use kith_store::Conn;
use serde::Serialize;

use crate::money::ledger::{self, Refs};
use crate::money::sharing;
pub(crate) use crate::money::store::load_plan;
use crate::money::store::{self, overrides};
use crate::platform::auth::{StaffNeed, merchant_status, require_staff};
use crate::platform::ids::{self, MerchantId, OrderId, ProductId};
use crate::platform::page::{Page, PageRequest};
use crate::{App, AppError, AppResult, Principal, platform::outbox};

const DAY_MS: i64 = 24 * 3600 * 1000;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProductOverride {
    pub product_id: ProductId,
    /// `[L1, L2]` in basis points.
    pub levels_bp: Vec<i64>,
    pub rebate_bp: i64,
    pub group_leader_bp: i64,
}

/// A merchant's commission plan as the API shows it. Rates in basis points (100 = 1 %).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanView {
    pub merchant_id: MerchantId,
    /// `[L1, L2]`: at most two levels above the buyer.
    pub levels_bp: Vec<i64>,
    /// Self-purchase rebate for distributors.
    pub rebate_bp: i64,
    /// Whether group-buy orders earn commission.
    pub group_buy_commission: bool,
    pub group_leader_bp: i64,
    /// Cap on the sum of all rates.
    pub cap_bp: i64,
    /// `permanent`, `expiring` or `none`.
    pub binding_mode: String,
    pub binding_days: Option<i64>,
    pub attribution_window_days: i64,
    #[schema(value_type = i64)]
    pub withdraw_min_fen: Fen,
    #[schema(value_type = i64)]
    pub withdraw_daily_limit_fen: Fen,
    pub overrides: Vec<ProductOverride>,
}

fn override_view((product_id, r): (ProductId, Rates)) -> ProductOverride {
    ProductOverride {
        product_id,
        levels_bp: r.levels_bp.to_vec(),
        rebate_bp: r.rebate_bp,
        group_leader_bp: r.group_leader_bp,
    }
}

fn plan_view(c: &mut dyn Conn, merchant_id: &MerchantId) -> AppResult<PlanView> {
    let p = load_plan(c, merchant_id)?.ok_or(AppError::NotFound("commission plan"))?;
    Ok(PlanView {
        merchant_id: merchant_id.to_owned(),
        levels_bp: p.rates.levels_bp.to_vec(),
        rebate_bp: p.rates.rebate_bp,
        group_buy_commission: p.group_buy_commission,
        group_leader_bp: p.rates.group_leader_bp,
        cap_bp: p.cap_bp,
        binding_mode: p.binding_mode,
        binding_days: p.binding_days,
        attribution_window_days: p.window_days,
        withdraw_min_fen: Fen::new(p.withdraw_min_fen),
        withdraw_daily_limit_fen: Fen::new(p.withdraw_daily_limit_fen),
        overrides: overrides(c, merchant_id)?
            .into_iter()
            .map(override_view)
            .collect(),
    })
}

/// A distributor's balances at one merchant.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq, Eq)]
pub struct WalletBalances {
    pub merchant_id: MerchantId,
    pub merchant_name: String,
    #[schema(value_type = i64)]
    pub pending_fen: Fen,
    #[schema(value_type = i64)]
    pub frozen_fen: Fen,
    /// Negative when a clawback after settlement left a debt.
    #[schema(value_type = i64)]
    pub available_fen: Fen,
    #[schema(value_type = i64)]
    pub withdrawing_fen: Fen,
}

/// One posting on a distributor's accounts at a merchant.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CommissionLine {
    pub entry_id: String,
    /// `commission`, `commission_reversal` or `withdrawal`.
    pub kind: String,
    /// Which balance moved: `pending`, `frozen`, `available` or `withdrawing`.
    pub balance: String,
    #[schema(value_type = i64)]
    pub amount_fen: Fen,
    pub order_id: Option<OrderId>,
    pub memo: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CommissionWallet {
    pub balances: WalletBalances,
    pub lines: Page<CommissionLine>,
}

/// An order's attribution and beneficiary chain, as snapshotted at checkout.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderCommission {
    pub order_id: OrderId,
    pub channel: Channel,
    pub beneficiary_id: Option<ids::AccountId>,
    pub link_id: Option<String>,
    /// Why the order is flagged for review (a beneficiary shares the buyer's phone number
    /// or shipping address); commission is not blocked.
    pub review_reason: Option<String>,
    pub shares: Vec<CommissionShare>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CommissionShare {
    pub role: Role,
    pub beneficiary_id: ids::AccountId,
    /// `rebate`, `l1`, `l2`, `content` or `group_leader`.
    pub source: String,
    pub rate_bp: i64,
    #[schema(value_type = i64)]
    pub base_fen: Fen,
    #[schema(value_type = i64)]
    pub amount_fen: Fen,
    #[schema(value_type = i64)]
    pub reversed_fen: Fen,
    /// `planned`, `pending`, `frozen` or `available`.
    pub state: String,
}

fn dist(member: &str, merchant: &str, s: CommissionState) -> AppResult<AccountId> {
    Ok(accounts::distributor(member, merchant, s)?)
}

/// Adds `amount` to `account` in a postings map (one net posting per account).
fn add(map: &mut BTreeMap<AccountId, i64>, account: AccountId, amount: i64) {
    *map.entry(account).or_insert(0) += amount;
}

/// Posts the net of `map` as one entry (nothing when every amount nets to zero).
fn post_map(
    c: &mut dyn Conn,
    now: i64,
    key: String,
    kind: EntryKind,
    map: BTreeMap<AccountId, i64>,
    refs: Refs<'_>,
) -> AppResult<()> {
    let postings: Vec<Posting> = map
        .into_iter()
        .filter(|(_, v)| *v != 0)
        .map(|(a, v)| Posting::new(a, v))
        .collect();
    if postings.is_empty() {
        return Ok(());
    }
    let entry = JournalEntry::new(key, kind, postings)?;
    ledger::post(c, now, &entry, refs, &[])?;
    Ok(())
}

/// Snapshots the attribution and beneficiary chain of a new order (checkout's
/// transaction). `lines` are (product id, goods paid for the line); `shipping` is the
/// order's (address phone, address as stored), for the fraud guard. Nothing is recorded
/// when the merchant has no commission plan; with `earns` false (a group-buy campaign
/// without commission) only the attribution is. A group-buy seat's order (`group_buy`) is
/// attributed to the 拼团 channel ([`kith_domain::commission::Attribution::through_group_buy`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn snapshot(
    c: &mut dyn Conn,
    now: i64,
    merchant_id: &str,
    buyer: &str,
    order_id: &str,
    lines: &[(String, i64)],
    shipping: Option<(&str, &str)>,
    earns: bool,
    group_buy: bool,
) -> AppResult<()> {
    // The plan and the buyer's referrer in one round trip on PostgreSQL
    // (`Conn::prefetch`); the last share visit needs the plan's window.
    crate::money::store::announce_plan(c, merchant_id)?;
    sharing::announce_live_referrer(c, merchant_id, buyer)?;
    let Some(plan) = load_plan(c, merchant_id)? else {
        return Ok(());
    };
    let referrer = sharing::live_referrer(c, merchant_id, buyer, now)?;
    let window_ms = plan.window_days * DAY_MS;
    let touch = store::last_touch(c, buyer, merchant_id, now - window_ms)?.map(
        |(sharer, channel, at_ms, link_id)| Touch {
            sharer,
            channel: Channel::from_db(&channel).unwrap_or(Channel::Share),
            at_ms,
            link_id: Some(link_id),
        },
    );
    let touches: Vec<Touch> = touch.into_iter().collect();
    let attribution = commission::attribute(buyer, now, window_ms, &touches, referrer.as_deref());
    let attribution = if group_buy {
        attribution.through_group_buy()
    } else {
        attribution
    };
    // The beneficiary's referrer and whether the buyer is a distributor: one round trip.
    if let Some(b) = &attribution.beneficiary {
        sharing::announce_live_referrer(c, merchant_id, b)?;
    }
    if plan.rates.rebate_bp > 0 {
        store::announce_is_distributor(c, merchant_id, buyer)?;
    }
    let l1_referrer = match &attribution.beneficiary {
        Some(b) => sharing::live_referrer(c, merchant_id, b, now)?,
        None => None,
    };
    let is_distributor = plan.rates.rebate_bp > 0 && store::is_distributor(c, merchant_id, buyer)?;
    let chain = commission::chain(
        buyer,
        is_distributor,
        attribution.beneficiary.as_deref(),
        l1_referrer.as_deref(),
    );
    let review_reason = match shipping {
        Some((phone, address)) => review_reason(
            c,
            &[chain.l1.as_deref(), chain.l2.as_deref()],
            phone,
            address,
        )?,
        None => None,
    };
    store::insert_attribution(
        c,
        order_id,
        merchant_id,
        buyer,
        attribution.channel.as_str(),
        attribution.beneficiary.as_deref(),
        attribution.link_id.as_deref(),
        review_reason.as_deref(),
        now,
    )?;
    if let Some(reason) = &review_reason {
        outbox::emit(
            c,
            now,
            "commission.flagged",
            Some(merchant_id),
            order_id,
            &serde_json::json!({
                "order_id": order_id, "reason": reason,
            }),
        )?;
    }
    if !earns || (chain.rebate.is_none() && chain.l1.is_none()) {
        return Ok(());
    }
    let ov = overrides(c, merchant_id)?;
    let priced: Vec<(Fen, Rates)> = lines
        .iter()
        .map(|(product, goods)| {
            let rates = ov
                .iter()
                .find(|(p, _)| p == product)
                .map_or(plan.rates, |(_, r)| *r);
            (Fen::new(*goods), rates)
        })
        .collect();
    let shares = commission::split(&priced, &chain);
    let planned: Vec<store::PlannedShare<'_>> = shares
        .iter()
        .map(|share| store::PlannedShare {
            role: share.role.as_str(),
            source: match (share.role, attribution.channel) {
                (Role::L1, Channel::Content) => "content",
                (role, _) => role.as_str(),
            },
            beneficiary: &share.beneficiary,
            rate_bp: share.rate_bp,
            base_fen: share.base.get(),
            amount_fen: share.amount.get(),
        })
        .collect();
    store::insert_planned_shares(c, order_id, merchant_id, &planned, now)
}

/// Fraud guard: why an order should be reviewed (never blocked) — a beneficiary above the
/// buyer whose phone number is the shipping address's, or who shipped an order of their own
/// to the same address.
fn review_reason(
    c: &mut dyn Conn,
    beneficiaries: &[Option<&str>],
    phone: &str,
    address: &str,
) -> AppResult<Option<String>> {
    let who: Vec<&str> = beneficiaries.iter().flatten().copied().collect();
    if who.is_empty() {
        return Ok(None);
    }
    // Both questions for every beneficiary in one statement; the answer is read in the
    // beneficiaries' order, the phone before the address, as the reason names the first.
    let found = store::phone_and_address_matches(c, &who, phone, address)?;
    for w in who {
        let Some((_, same_phone, same_address)) = found.iter().find(|(id, ..)| id == w) else {
            continue;
        };
        if *same_phone {
            return Ok(Some(format!(
                "beneficiary {w} has the shipping address's phone number"
            )));
        }
        if *same_address {
            return Ok(Some(format!("beneficiary {w} ships to the same address")));
        }
    }
    Ok(None)
}

/// A group-buy order's group succeeded: its group leader earns `leader_bp` of the order's
/// goods (planned now, booked with the rest by [`on_paid`]), within what the plan's cap
/// leaves after the order's other shares.
pub(crate) fn plan_group_leader(
    c: &mut dyn Conn,
    now: i64,
    order_id: &str,
    merchant_id: &str,
    leader: &str,
    leader_bp: i64,
) -> AppResult<()> {
    let Some(plan) = load_plan(c, merchant_id)? else {
        return Ok(());
    };
    let base = store::order_goods(c, order_id)?;
    let others = store::order_commission_total(c, order_id)?;
    let rate = leader_bp.min(commission::FULL_BP);
    let wanted =
        i64::try_from(i128::from(base) * i128::from(rate) / i128::from(commission::FULL_BP))
            .unwrap_or(0);
    let cap =
        i64::try_from(i128::from(base) * i128::from(plan.cap_bp) / i128::from(commission::FULL_BP))
            .unwrap_or(0);
    let amount = wanted.min(cap - others);
    if amount <= 0 {
        return Ok(());
    }
    store::insert_group_leader_share(c, order_id, merchant_id, leader, rate, base, amount, now)?;
    Ok(())
}

/// `[{member_id, amount_fen}]`: who earns how much on an order, as its commission events
/// carry it.
fn beneficiaries(earners: &BTreeMap<String, i64>) -> serde_json::Value {
    earners
        .iter()
        .map(|(who, fen)| serde_json::json!({ "member_id": who, "amount_fen": fen }))
        .collect()
}

/// The order was paid: its planned commission becomes pending, out of the merchant's
/// pending money (only paid orders ever earn).
pub(crate) fn on_paid(
    c: &mut dyn Conn,
    now: i64,
    order_id: &str,
    merchant_id: &str,
) -> AppResult<()> {
    let (entry, event) = book_paid(c, now, order_id, merchant_id)?;
    if let Some((entry, refs)) = entry {
        ledger::post(c, now, &entry, refs, &[])?;
    }
    if let Some(event) = event {
        outbox::emit_all(c, now, &[event])?;
    }
    Ok(())
}

/// Announces the read [`book_paid`] starts with ([`Conn::prefetch`]).
pub(crate) fn announce_book_paid(c: &mut dyn Conn, order_id: &str) -> AppResult<()> {
    store::announce_shares(c, order_id)
}

/// [`on_paid`] without its ledger entry and outbox event, which it returns for the caller
/// to write with its own (one INSERT each): the entry moving the planned commission out of
/// the merchant's pending money (none when nothing was planned) and `commission.pending`
/// (when the order has shares at all). The shares are marked pending here.
#[allow(clippy::type_complexity)]
pub(crate) fn book_paid<'a>(
    c: &mut dyn Conn,
    _now: i64,
    order_id: &'a str,
    merchant_id: &'a str,
) -> AppResult<(Option<(JournalEntry, Refs<'a>)>, Option<outbox::Event<'a>>)> {
    let rows = store::shares(c, order_id)?;
    if rows.is_empty() {
        return Ok((None, None));
    }
    let mut map = BTreeMap::new();
    // Who earns what, for the event (the notification centre tells each of them).
    let mut earners: BTreeMap<String, i64> = BTreeMap::new();
    for (_, who, amount, _, state) in &rows {
        if state == "planned" {
            *earners.entry(who.clone()).or_default() += *amount;
            add(
                &mut map,
                dist(who, merchant_id, CommissionState::Pending)?,
                *amount,
            );
            add(&mut map, accounts::merchant_pending(merchant_id)?, -amount);
        }
    }
    let postings: Vec<Posting> = map
        .into_iter()
        .filter(|(_, v)| *v != 0)
        .map(|(a, v)| Posting::new(a, v))
        .collect();
    let entry = if postings.is_empty() {
        None
    } else {
        Some((
            JournalEntry::new(
                format!("order:{order_id}:commission"),
                EntryKind::Commission,
                postings,
            )?,
            Refs {
                order_id: Some(order_id),
                memo: "commission booked: order paid",
                ..Default::default()
            },
        ))
    };
    store::mark_shares_pending(c, order_id)?;
    Ok((
        entry,
        Some(outbox::Event {
            topic: "commission.pending".into(),
            merchant_id: Some(merchant_id),
            aggregate_id: order_id,
            payload: serde_json::json!({ "order_id": order_id, "beneficiaries": beneficiaries(&earners) }),
        }),
    ))
}

/// Delivered or picked up: pending commission is frozen until the after-sale window closes.
pub(crate) fn on_delivered(
    c: &mut dyn Conn,
    now: i64,
    order_id: &str,
    merchant_id: &str,
) -> AppResult<()> {
    let mut map = BTreeMap::new();
    let mut any = false;
    for (_, who, amount, reversed, state) in store::shares(c, order_id)? {
        if state == "pending" {
            any = true;
            let left = amount - reversed;
            add(
                &mut map,
                dist(&who, merchant_id, CommissionState::Pending)?,
                -left,
            );
            add(
                &mut map,
                dist(&who, merchant_id, CommissionState::Frozen)?,
                left,
            );
        }
    }
    if !any {
        return Ok(());
    }
    post_map(
        c,
        now,
        format!("order:{order_id}:commission:freeze"),
        EntryKind::Commission,
        map,
        Refs {
            order_id: Some(order_id),
            memo: "commission frozen: delivered",
            ..Default::default()
        },
    )?;
    store::mark_shares_frozen(c, order_id)?;
    Ok(())
}

/// The after-sale window closed: frozen commission becomes available. Returns the
/// commission still standing on the order (booked minus reversed), which the merchant's
/// own settlement leaves out.
pub(crate) fn on_completed(
    c: &mut dyn Conn,
    now: i64,
    order_id: &str,
    merchant_id: &str,
) -> AppResult<i64> {
    let mut map = BTreeMap::new();
    let mut standing = 0;
    let mut any = false;
    let mut earners: BTreeMap<String, i64> = BTreeMap::new();
    for (_, who, amount, reversed, state) in store::shares(c, order_id)? {
        if state == "planned" || state == "void" {
            continue;
        }
        let left = amount - reversed;
        standing += left;
        let from = match state.as_str() {
            "pending" => CommissionState::Pending,
            "frozen" => CommissionState::Frozen,
            _ => continue,
        };
        any = true;
        if left > 0 {
            *earners.entry(who.clone()).or_default() += left;
        }
        add(&mut map, dist(&who, merchant_id, from)?, -left);
        add(
            &mut map,
            dist(&who, merchant_id, CommissionState::Available)?,
            left,
        );
    }
    if any {
        post_map(
            c,
            now,
            format!("order:{order_id}:commission:settle"),
            EntryKind::Commission,
            map,
            Refs {
                order_id: Some(order_id),
                memo: "commission available: after-sale window closed",
                ..Default::default()
            },
        )?;
        store::mark_shares_available(c, order_id)?;
        outbox::emit(
            c,
            now,
            "commission.available",
            Some(merchant_id),
            order_id,
            &serde_json::json!({ "order_id": order_id, "beneficiaries": beneficiaries(&earners) }),
        )?;
    }
    Ok(standing)
}

/// A refund moved the goods refunded on the order from `goods_before` to `goods_after`:
/// commission is taken back in proportion — before settlement back into the merchant's
/// pending money, after it as a clawback from the distributor's available balance (which
/// may go negative: a debt netted against later earnings).
pub(crate) fn on_refund(
    c: &mut dyn Conn,
    now: i64,
    order_id: &str,
    merchant_id: &str,
    refund_id: &str,
    goods_before: i64,
    goods_after: i64,
) -> AppResult<()> {
    let rows = store::shares_with_base(c, order_id)?;
    let mut map = BTreeMap::new();
    for (role, who, amount, state, base) in rows {
        let (from, to) = match state.as_str() {
            "pending" => (
                CommissionState::Pending,
                accounts::merchant_pending(merchant_id)?,
            ),
            "frozen" => (
                CommissionState::Frozen,
                accounts::merchant_pending(merchant_id)?,
            ),
            "available" => (
                CommissionState::Available,
                accounts::merchant_available(merchant_id)?,
            ),
            _ => continue,
        };
        let back = commission::reversal(amount, base, goods_before, goods_after);
        if back == 0 {
            continue;
        }
        add(&mut map, dist(&who, merchant_id, from)?, -back);
        add(&mut map, to, back);
        store::add_reversed(c, order_id, &role, back)?;
    }
    post_map(
        c,
        now,
        format!("refund:{refund_id}:commission"),
        EntryKind::CommissionReversal,
        map,
        Refs {
            order_id: Some(order_id),
            refund_id: Some(refund_id),
            memo: "commission taken back: refund",
            ..Default::default()
        },
    )
}

pub(crate) fn balances(
    c: &mut dyn Conn,
    member: &str,
    merchant_id: &str,
) -> AppResult<WalletBalances> {
    let name = store::merchant_name(c, merchant_id)?.ok_or(AppError::NotFound("merchant"))?;
    let mut b = WalletBalances {
        merchant_id: MerchantId::from_row(merchant_id.to_owned()),
        merchant_name: name,
        pending_fen: Fen::ZERO,
        frozen_fen: Fen::ZERO,
        available_fen: Fen::ZERO,
        withdrawing_fen: Fen::ZERO,
    };
    for s in CommissionState::ALL {
        let v = Fen::new(ledger::balance(c, &dist(member, merchant_id, s)?)?);
        match s {
            CommissionState::Pending => b.pending_fen = v,
            CommissionState::Frozen => b.frozen_fen = v,
            CommissionState::Available => b.available_fen = v,
            CommissionState::Withdrawing => b.withdrawing_fen = v,
        }
    }
    Ok(b)
}

/// The caller may see `member`'s commission: they are the member (or, for one merchant,
/// that merchant's staff). Others get 403.
pub(crate) fn require_self_or_staff(
    c: &mut dyn Conn,
    who: &Principal,
    member: &str,
    merchant_id: Option<&str>,
) -> AppResult<()> {
    if who.account_id == member {
        return Ok(());
    }
    if let Some(m) = merchant_id {
        require_staff(c, who, m, StaffNeed::AnyStaff)?;
        return Ok(());
    }
    Err(AppError::Forbidden(
        "only the member sees their commission".into(),
    ))
}

impl App {
    /// Sets the merchant's commission plan (owner only). Existing product overrides must
    /// fit under the new cap.
    pub async fn set_commission_plan(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        input: PlanInput,
    ) -> AppResult<PlanView> {
        let plan = Plan::parse(&input)?;
        let now = self.now_ms();
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .write(move |c| {
                require_staff(c, &who, &mid, StaffNeed::Owner)?;
                for (product, r) in overrides(c, &mid)? {
                    if r.sum_bp() > plan.cap_bp {
                        return Err(AppError::invalid(
                            "cap_bp",
                            format!(
                                "the override of product {product} sums to {} bp, over this cap",
                                r.sum_bp()
                            ),
                        ));
                    }
                }
                store::upsert_plan(c, &mid, &plan, now)?;
                let view = plan_view(c, &mid)?;
                outbox::emit(
                    c,
                    now,
                    "commission_plan.updated",
                    Some(&mid),
                    &mid,
                    &view_json(&view),
                )?;
                Ok(view)
            })
            .await
    }

    /// The merchant's plan: public, so a member knows what sharing earns.
    pub async fn commission_plan(&self, merchant_id: &MerchantId) -> AppResult<PlanView> {
        let mid = merchant_id.to_owned();
        self.db
            .read(move |c| {
                merchant_status(c, &mid)?;
                plan_view(c, &mid)
            })
            .await
    }

    /// Sets a product's own rates (owner only), within the plan's cap.
    pub async fn set_commission_override(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        // A form field on the pages, checked inside (after who may set it): a malformed
        // one is a product that is not there.
        product_id: &str,
        levels_bp: Vec<i64>,
        rebate_bp: i64,
        group_leader_bp: i64,
    ) -> AppResult<PlanView> {
        let now = self.now_ms();
        let (who, mid, pid) = (who.clone(), merchant_id.to_owned(), product_id.to_owned());
        self.db
            .write(move |c| {
                require_staff(c, &who, &mid, StaffNeed::Owner)?;
                let plan = load_plan(c, &mid)?.ok_or_else(|| {
                    AppError::state("set the commission plan before product overrides")
                })?;
                let rates = Rates::parse("", &levels_bp, rebate_bp, group_leader_bp, plan.cap_bp)?;
                if !store::merchant_has_product(c, &mid, &pid)? {
                    return Err(AppError::NotFound("product"));
                }
                store::upsert_override(c, &mid, &pid, &rates)?;
                let view = plan_view(c, &mid)?;
                outbox::emit(
                    c,
                    now,
                    "commission_plan.updated",
                    Some(&mid),
                    &mid,
                    &view_json(&view),
                )?;
                Ok(view)
            })
            .await
    }

    /// An order's attribution and commission shares: to its buyer, its merchant's staff,
    /// and its beneficiaries (each sees the whole chain of the order they earn on).
    pub async fn order_commission(
        &self,
        who: &Principal,
        order_id: &OrderId,
    ) -> AppResult<OrderCommission> {
        let (who, oid) = (who.clone(), order_id.to_owned());
        self.db
            .read(move |c| {
                let (mid, buyer) =
                    store::order_parties(c, &oid)?.ok_or(AppError::NotFound("order"))?;
                let shares = store::order_shares(c, &oid)?;
                let me = who.account_id.as_str();
                let staff = require_staff(c, &who, &mid, StaffNeed::AnyStaff).is_ok();
                let allowed =
                    buyer == me || shares.iter().any(|s| s.beneficiary_id == *me) || staff;
                if !allowed {
                    return Err(AppError::NotFound("order"));
                }
                let (channel, beneficiary_id, link_id, review_reason) =
                    match store::attribution(c, &oid)? {
                        Some((channel, beneficiary, link_id, reason)) => (
                            Channel::from_db(&channel).unwrap_or(Channel::None),
                            beneficiary.map(ids::AccountId::from_row),
                            link_id,
                            reason,
                        ),
                        None => (Channel::None, None, None, None),
                    };
                // Why an order is held for review names other members' phone or address
                // links: the merchant's staff see it, the beneficiaries do not.
                let review_reason = review_reason.filter(|_| staff);
                Ok(OrderCommission {
                    order_id: oid.clone(),
                    channel,
                    beneficiary_id,
                    link_id,
                    review_reason,
                    shares,
                })
            })
            .await
    }

    /// A member's commission wallets: one per merchant they have earned at.
    pub async fn commission_wallets(
        &self,
        who: &Principal,
        member_id: &ids::AccountId,
    ) -> AppResult<Vec<WalletBalances>> {
        let (who, member) = (who.clone(), member_id.to_owned());
        self.db
            .read(move |c| {
                require_self_or_staff(c, &who, &member, None)?;
                let merchants = store::earning_merchants(c, &member)?;
                merchants.iter().map(|m| balances(c, &member, m)).collect()
            })
            .await
    }

    /// A member's wallet at one merchant: balances and a statement line per posting,
    /// newest first. To the member, or that merchant's staff.
    pub async fn commission_wallet(
        &self,
        who: &Principal,
        member_id: &ids::AccountId,
        merchant_id: &MerchantId,
        page: PageRequest,
    ) -> AppResult<CommissionWallet> {
        let (who, member, mid) = (who.clone(), member_id.to_owned(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                merchant_status(c, &mid)?;
                require_self_or_staff(c, &who, &member, Some(&mid))?;
                let b = balances(c, &member, &mid)?;
                let states = CommissionState::ALL;
                let accts = states
                    .into_iter()
                    .map(|s| dist(&member, &mid, s))
                    .collect::<AppResult<Vec<_>>>()?;
                let statement = ledger::statement(c, &accts, &page)?;
                // Which of the four balances each posting moved, by its account.
                let balance = |a: &AccountId| {
                    accts
                        .iter()
                        .zip(states)
                        .find(|(x, _)| *x == a)
                        .map_or("", |(_, s)| s.as_str())
                };
                let items = statement
                    .items
                    .into_iter()
                    .map(|l| CommissionLine {
                        balance: balance(&l.account).to_owned(),
                        entry_id: l.entry_id,
                        kind: l.kind,
                        amount_fen: l.amount_fen,
                        order_id: l.order_id,
                        memo: l.memo,
                        at: l.at,
                    })
                    .collect();
                Ok(CommissionWallet {
                    balances: b,
                    lines: Page {
                        items,
                        next_cursor: statement.next_cursor,
                    },
                })
            })
            .await
    }
}

fn view_json(v: &PlanView) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}
