//! 社区团购 (neighbourhood group-buying): a merchant's leaders (团长) and their pickup points,
//! each member's chosen leader, and 接龙 batches (rules: `kith_domain::neighbourhood`).
//!
//! - A member **applies** to be a merchant's leader with a pickup point (name, address,
//!   coordinates, opening hours, capacity). The merchant's staff **approve** (the point
//!   becomes a store row of the merchant and the leader its clerk, so pickup orders name
//!   it and the leader redeems codes there through commerce's one redemption path),
//!   **refuse**, set the leader's **level** (commission rate in bp: the plan's levels and
//!   rebate plus the leader's stay within its cap), **suspend** (the clerk row goes: no
//!   redemption, no new joins at the point) and **resume**.
//! - A member **chooses a leader** per merchant among the approved ones, ranked with the
//!   trust graph first (friends — mutual follows — who chose that leader, then members of
//!   the member's communities) and then by distance (haversine). The choice is kept in
//!   `leader_choices`; every choice and change is a row of `leader_choice_history`.
//! - `batches.rs`: 接龙 batches — joins limited by conditional updates, the `batch.cutoff`
//!   job, pick lists per leader, consignments delivered, the leader's commission.
//! - `helpers.rs`: members a leader names to redeem codes at their point (clerk rows of the
//!   point while the leader is approved; `leader_helpers` remembers them).
//! - `statements.rs`: per batch and leader — orders, units, GMV, refunds, pickup rate and
//!   the leader's commission by state (read only).
//!
//! Writes: `leaders`, `leader_choices`, `leader_choice_history`, `batches`, `batch_items`,
//! `batch_member_units`, `batch_orders`, `batch_deliveries`, `leader_helpers`; and, for an approved point,
//! its `stores` / `store_clerks` rows (the point *is* a store). Orders, stock, pickup codes
//! and commission only through commerce's and money's functions (`orders::place`,
//! `cancel`, `refund_everything`, `lifecycle::start_fulfilment`,
//! `fulfilment::ready_for_pickup`, `commissions::plan_group_leader`). Never: an order's
//! state directly, the ledger, another context's tables beyond reading accounts, follows
//! and community members for the ranking.
//!
//! ## Layout
//! - this file: leaders, points and the member's choice;
//! - `store/`: the context's rows and every SQL statement — column lists, decoders, locked
//!   reads in `store/mod.rs`, the statements of each area in `store/{leaders,batches,leader_batches,statements,unclaimed}.rs`;
//! - `batches.rs`: 接龙 batches through an order's life (the hook, the cut-off job).

use kith_domain::neighbourhood::{self, LeaderStatus, PointRank};
use kith_domain::store::OpeningWindow;
use kith_domain::{BoundedText, Coordinates, OpeningHours};
use kith_store::Conn;
use serde::Serialize;

use crate::platform::auth::{StaffNeed, merchant_status, require_staff};
use crate::platform::ids::{AccountId, LeaderId, MerchantId, StoreId};
use crate::platform::ids::{new_id, parse_id};
use crate::{App, AppError, AppResult, Principal, money::commissions, platform::outbox, rfc3339};

mod batches;
mod helpers;
mod leader_batches;
mod statements;
mod store;
mod unclaimed;

pub use batches::{
    Batch, BatchInput, BatchItem, BatchItemInput, BatchLeader, BatchStatus, CutoffBatch, JoinInput,
    JoinLine, JoinListEntry, Joined, PickBuyer, PickLine, PickList, cutoff_batch,
};
pub(crate) use batches::{BatchOrders, register_jobs};
pub use helpers::Helper;
pub use leader_batches::{LeaderProduct, LeaderProductInput};
pub use statements::LeaderStatement;
use store::{load_leader, lock_leader};
pub use unclaimed::{BatchTerms, UnclaimedConsignment, unclaimed_consignment};

/// A member's application, and once approved their leadership and pickup point.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Leader {
    pub id: LeaderId,
    pub merchant_id: MerchantId,
    pub account_id: AccountId,
    pub display_name: String,
    /// Applied, approved, refused or suspended.
    pub status: LeaderStatus,
    pub point_name: String,
    pub address: String,
    pub latitude: f64,
    pub longitude: f64,
    pub opening_hours: Vec<OpeningWindow>,
    pub capacity: i64,
    /// The leader's commission on orders at their point, in basis points.
    pub rate_bp: i64,
    /// The point's store (once approved): pickup orders name it, codes are redeemed there.
    pub store_id: Option<StoreId>,
    pub created_at: String,
    pub decided_at: Option<String>,
}

/// What a member sends to apply.
#[derive(Debug, Clone, Default)]
pub struct LeaderInput {
    pub point_name: Option<String>,
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub opening_hours: Option<Vec<OpeningWindow>>,
    pub capacity: Option<i64>,
}

/// A leader a member may choose, with why it ranks where it does.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NearbyLeader {
    pub leader: Leader,
    /// Metres from the position given; `null` without one.
    pub distance_m: Option<i64>,
    /// Friends (mutual follows) who chose this leader ("3 位好友在这里提货").
    pub friends_here: i64,
    /// Up to three of those friends' display names.
    pub friend_names: Vec<String>,
    /// Other members of the caller's communities who chose this leader.
    pub community_here: i64,
    /// Whether it is the caller's current leader.
    pub chosen: bool,
}

/// A member's current leader at a merchant.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LeaderChoice {
    pub merchant_id: MerchantId,
    pub leader: Leader,
    pub chosen_at: String,
}

/// One choice or change of leader.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LeaderChange {
    pub from_leader_id: Option<LeaderId>,
    pub to_leader_id: LeaderId,
    pub at: String,
}

struct ValidPoint {
    name: BoundedText,
    address: BoundedText,
    coords: Coordinates,
    hours: String,
    capacity: i64,
}

fn validate(input: LeaderInput) -> AppResult<ValidPoint> {
    let name = BoundedText::parse(
        "point_name",
        input.point_name.as_deref().unwrap_or(""),
        1,
        64,
    )?;
    let address = BoundedText::parse("address", input.address.as_deref().unwrap_or(""), 4, 200)?;
    let lat = input
        .latitude
        .ok_or_else(|| AppError::invalid("latitude", "is required"))?;
    let lng = input
        .longitude
        .ok_or_else(|| AppError::invalid("longitude", "is required"))?;
    let coords = Coordinates::parse(lat, lng)?;
    let hours = OpeningHours::parse(input.opening_hours.unwrap_or_default())?;
    let hours =
        serde_json::to_string(hours.windows()).map_err(|e| AppError::Internal(e.to_string()))?;
    let capacity = input.capacity.unwrap_or(100);
    if !(1..=10_000).contains(&capacity) {
        return Err(AppError::invalid("capacity", "must be 1–10000"));
    }
    Ok(ValidPoint {
        name,
        address,
        coords,
        hours,
        capacity,
    })
}

fn emit(c: &mut dyn Conn, now: i64, topic: &str, l: &Leader) -> AppResult<()> {
    outbox::emit(
        c,
        now,
        topic,
        Some(&l.merchant_id),
        &l.id,
        &serde_json::json!({ "leader_id": l.id, "account_id": l.account_id, "status": l.status, "rate_bp": l.rate_bp }),
    )?;
    Ok(())
}

/// The rate must fit the plan: its levels and rebate plus the leader's within its cap.
fn check_rate(c: &mut dyn Conn, merchant_id: &str, rate_bp: i64) -> AppResult<()> {
    if !(0..=10_000).contains(&rate_bp) {
        return Err(AppError::invalid("rate_bp", "must be 0–10000"));
    }
    if rate_bp == 0 {
        return Ok(());
    }
    let plan = commissions::load_plan(c, merchant_id)?
        .ok_or_else(|| AppError::invalid("rate_bp", "set a commission plan first"))?;
    let others: i64 = plan.rates.levels_bp.iter().sum::<i64>() + plan.rates.rebate_bp;
    if others + rate_bp > plan.cap_bp {
        return Err(AppError::invalid(
            "rate_bp",
            format!(
                "the plan's rates ({others} bp) plus the leader's must stay within its cap of {} bp",
                plan.cap_bp
            ),
        ));
    }
    Ok(())
}

/// A staff decision on a leader: which move, and the level when approving.
enum Decision {
    Approve(i64),
    Refuse,
    Suspend,
    Resume,
    Level(i64),
}

impl App {
    /// A member applies to be the merchant's leader with a pickup point.
    pub async fn apply_leader(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        input: LeaderInput,
    ) -> AppResult<Leader> {
        let v = validate(input)?;
        let now = self.now_ms();
        let mid = parse_id(merchant_id).ok_or(AppError::NotFound("merchant"))?;
        let me = who.account_id.clone();
        self.db
            .write(move |c| {
                merchant_status(c, &mid)?.ensure_trading()?;
                let id = new_id();
                store::insert_leader(
                    c,
                    &id,
                    &mid,
                    &me,
                    v.name.as_str(),
                    v.address.as_str(),
                    v.coords.lat_e6,
                    v.coords.lng_e6,
                    &v.hours,
                    v.capacity,
                    now,
                )
                .map_err(|e| {
                    if e.is_unique_on("leaders", &["merchant_id", "account_id"]) {
                        AppError::state("you already applied to lead for this merchant")
                    } else {
                        e.into()
                    }
                })?;
                let l = load_leader(c, &id)?;
                emit(c, now, "leader.applied", &l)?;
                Ok(l)
            })
            .await
    }

    /// The merchant's leaders and applications, newest first (staff); `status` filters.
    pub async fn merchant_leaders(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        status: Option<&str>,
    ) -> AppResult<Vec<Leader>> {
        let status = status
            .map(|s| {
                LeaderStatus::from_db(s)
                    .map(|s| s.as_str())
                    .ok_or_else(|| AppError::invalid("status", "is not a leader status"))
            })
            .transpose()?;
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                store::merchant_leaders(c, &mid, status.unwrap_or(""))
            })
            .await
    }

    /// The caller's own applications and leaderships, at every merchant.
    pub async fn my_leaderships(&self, who: &Principal) -> AppResult<Vec<Leader>> {
        let me = who.account_id.clone();
        self.db
            .read(move |c| store::account_leaderships(c, &me))
            .await
    }

    /// Approves an application at `rate_bp`: the point becomes a store of the merchant and
    /// the leader its clerk.
    pub async fn approve_leader(
        &self,
        who: &Principal,
        leader_id: &LeaderId,
        rate_bp: i64,
    ) -> AppResult<Leader> {
        self.decide_leader(who, leader_id, Decision::Approve(rate_bp))
            .await
    }

    pub async fn refuse_leader(&self, who: &Principal, leader_id: &LeaderId) -> AppResult<Leader> {
        self.decide_leader(who, leader_id, Decision::Refuse).await
    }

    /// Suspends a leader: their point takes no joins and they redeem no codes.
    pub async fn suspend_leader(&self, who: &Principal, leader_id: &LeaderId) -> AppResult<Leader> {
        self.decide_leader(who, leader_id, Decision::Suspend).await
    }

    pub async fn resume_leader(&self, who: &Principal, leader_id: &LeaderId) -> AppResult<Leader> {
        self.decide_leader(who, leader_id, Decision::Resume).await
    }

    /// Sets an approved (or suspended) leader's level: their commission rate.
    pub async fn set_leader_level(
        &self,
        who: &Principal,
        leader_id: &LeaderId,
        rate_bp: i64,
    ) -> AppResult<Leader> {
        self.decide_leader(who, leader_id, Decision::Level(rate_bp))
            .await
    }

    async fn decide_leader(
        &self,
        who: &Principal,
        leader_id: &str,
        d: Decision,
    ) -> AppResult<Leader> {
        let now = self.now_ms();
        let (who, lid) = (who.clone(), leader_id.to_owned());
        self.db
            .write(move |c| {
                let l = lock_leader(c, &lid)?;
                // Another merchant's staff learn nothing about this leader.
                require_staff(c, &who, &l.merchant_id, StaffNeed::AnyStaff).map_err(
                    |e| match e {
                        AppError::Forbidden(_) => AppError::NotFound("leader"),
                        other => other,
                    },
                )?;
                let status = l.status;
                let topic = match d {
                    Decision::Approve(rate) => {
                        status.approve()?;
                        merchant_status(c, &l.merchant_id)?.ensure_trading()?;
                        check_rate(c, &l.merchant_id, rate)?;
                        let store = new_id();
                        let (name, address, lat_e6, lng_e6, hours) = store::leader_point(c, &l.id)?;
                        store::insert_point_store(
                            c,
                            &store,
                            &l.merchant_id,
                            &name,
                            &address,
                            lat_e6,
                            lng_e6,
                            &hours,
                            now,
                        )
                        .map_err(|e| {
                            if e.is_unique_on("stores", &["merchant_id", "name"]) {
                                AppError::conflict(
                                    "point_name",
                                    "the merchant already has a store or point with this name",
                                )
                            } else {
                                e.into()
                            }
                        })?;
                        add_clerk(c, now, &l, &store)?;
                        store::set_leader_approved(c, &l.id, rate, &store, now)?;
                        "leader.approved"
                    }
                    Decision::Refuse => {
                        status.refuse_application()?;
                        store::set_leader_refused(c, &l.id, now)?;
                        "leader.refused"
                    }
                    Decision::Suspend => {
                        status.suspend()?;
                        // Nobody redeems at a suspended point: the leader's and the
                        // helpers' clerk rows go (the helpers stay listed for a resume).
                        store::delete_point_clerks(c, l.store_id.as_deref())?;
                        store::set_leader_suspended(c, &l.id, now)?;
                        "leader.suspended"
                    }
                    Decision::Resume => {
                        status.resume()?;
                        let store = l.store_id.clone().ok_or_else(|| {
                            AppError::Internal("approved leader without a point".into())
                        })?;
                        add_clerk(c, now, &l, &store)?;
                        helpers::restore_helpers(c, now, &l, &store)?;
                        store::set_leader_resumed(c, &l.id, now)?;
                        "leader.resumed"
                    }
                    Decision::Level(rate) => {
                        if !matches!(status, LeaderStatus::Approved | LeaderStatus::Suspended) {
                            return Err(AppError::state(format!(
                                "a leader who is {} has no level",
                                status.as_str()
                            )));
                        }
                        check_rate(c, &l.merchant_id, rate)?;
                        store::set_leader_rate(c, &l.id, rate, now)?;
                        "leader.level_set"
                    }
                };
                let l = load_leader(c, &l.id)?;
                emit(c, now, topic, &l)?;
                Ok(l)
            })
            .await
    }

    /// The merchant's approved leaders a member may choose, ranked for the caller: friends
    /// who pick up there first, then members of the caller's communities, then the nearest
    /// to (`lat`, `lng`) when given.
    pub async fn nearby_leaders(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        position: Option<(f64, f64)>,
    ) -> AppResult<Vec<NearbyLeader>> {
        let here = position
            .map(|(lat, lng)| Coordinates::parse(lat, lng))
            .transpose()?;
        let mid = parse_id(merchant_id).ok_or(AppError::NotFound("merchant"))?;
        let me = who.account_id.clone();
        self.db
            .read(move |c| {
                merchant_status(c, &mid)?.ensure_trading()?;
                let chosen = store::chosen_leader(c, &mid, &me)?;
                let leaders = store::approved_leaders(c, &mid)?;
                let mut out = Vec::with_capacity(leaders.len());
                for leader in leaders {
                    let friend_names = store::friends_at_leader(c, &leader.id, &me)?;
                    let community_here = store::community_at_leader(c, &leader.id, &me)?;
                    let point = Coordinates::parse(leader.latitude, leader.longitude)?;
                    out.push(NearbyLeader {
                        distance_m: here.map(|h| neighbourhood::distance_m(h, point)),
                        friends_here: friend_names.len() as i64,
                        friend_names: friend_names.into_iter().take(3).collect(),
                        community_here,
                        chosen: chosen.as_deref() == Some(leader.id.as_str()),
                        leader,
                    });
                }
                out.sort_by_key(|n| {
                    (
                        PointRank {
                            friends: n.friends_here,
                            community: n.community_here,
                            distance_m: n.distance_m,
                        }
                        .key(),
                        n.leader.id.clone(),
                    )
                });
                Ok(out)
            })
            .await
    }

    /// Chooses (or changes) the caller's leader at a merchant; every change is recorded.
    pub async fn choose_leader(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        leader_id: &str,
    ) -> AppResult<LeaderChoice> {
        let now = self.now_ms();
        let mid = parse_id(merchant_id).ok_or(AppError::NotFound("merchant"))?;
        let lid = parse_id(leader_id)
            .ok_or_else(|| AppError::invalid("leader_id", "is not a leader id"))?;
        let me = who.account_id.clone();
        self.db
            .write(move |c| {
                merchant_status(c, &mid)?;
                let l = load_leader(c, &lid).map_err(|_| {
                    AppError::invalid("leader_id", "is not a leader of this merchant")
                })?;
                if l.merchant_id != mid {
                    return Err(AppError::invalid(
                        "leader_id",
                        "is not a leader of this merchant",
                    ));
                }
                if !l.status.takes_orders() {
                    return Err(AppError::conflict(
                        "leader_id",
                        format!("this leader is {} and takes no orders", l.status),
                    ));
                }
                let before = store::lock_choice(c, &mid, &me)?;
                if before.as_deref() != Some(l.id.as_str()) {
                    match &before {
                        Some(_) => store::change_choice(c, &mid, &me, &l.id, now)?,
                        None => store::insert_choice(c, &mid, &me, &l.id, now)?,
                    };
                    store::insert_choice_history(
                        c,
                        &new_id(),
                        &mid,
                        &me,
                        before.as_deref(),
                        &l.id,
                        now,
                    )?;
                    outbox::emit(
                        c,
                        now,
                        "leader.chosen",
                        Some(&mid),
                        &l.id,
                        &serde_json::json!({
                            "leader_id": l.id, "member_id": me, "previous_leader_id": before,
                        }),
                    )?;
                }
                my_choice(c, &mid, &me)?.ok_or(AppError::NotFound("leader"))
            })
            .await
    }

    /// The caller's leader at a merchant (`None`: not chosen yet).
    pub async fn my_leader(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
    ) -> AppResult<Option<LeaderChoice>> {
        let mid = parse_id(merchant_id).ok_or(AppError::NotFound("merchant"))?;
        let me = who.account_id.clone();
        self.db.read(move |c| my_choice(c, &mid, &me)).await
    }

    /// Every choice and change of the caller's leader at a merchant, oldest first.
    pub async fn my_leader_history(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
    ) -> AppResult<Vec<LeaderChange>> {
        let mid = parse_id(merchant_id).ok_or(AppError::NotFound("merchant"))?;
        let me = who.account_id.clone();
        self.db
            .read(move |c| store::choice_history(c, &mid, &me))
            .await
    }
}

fn add_clerk(c: &mut dyn Conn, now: i64, l: &Leader, store: &str) -> AppResult<()> {
    store::insert_clerk(c, store, &l.merchant_id, &l.account_id, now).map_err(|e| {
        if e.is_unique_on("store_clerks", &["merchant_id", "account_id"]) {
            AppError::state("the applicant is a clerk of another of the merchant's stores")
        } else {
            e.into()
        }
    })?;
    Ok(())
}

fn my_choice(c: &mut dyn Conn, mid: &str, me: &str) -> AppResult<Option<LeaderChoice>> {
    let Some((leader_id, chosen_at)) = store::choice(c, mid, me)? else {
        return Ok(None);
    };
    Ok(Some(LeaderChoice {
        merchant_id: MerchantId::from_row(mid.to_owned()),
        leader: load_leader(c, &leader_id)?,
        chosen_at: rfc3339(chosen_at),
    }))
}
