//! Community insight (docs/PRODUCT.md §5): the measures a merchant reads about its communities and
//! its members, computed from kith's own data over a chosen window.
//!
//! - **Community energy** = Q × M × C², with its factors ([`CommunityEnergy`]).
//! - **Repeat-purchase rate**: buyers with ≥ 2 paid orders in the window ÷ buyers with ≥ 1.
//! - **Fission tree**: the invite tree of a community (`community_members.invited_by`):
//!   generations, branching, K-factor, the members who brought the most people.
//! - **KOL / KOC ranking**: personalised PageRank over the graph snapshot, seeded on the
//!   merchant's private traffic pool (or one community), with three-hop reach beside it.
//! - **Private traffic pool**: members in the merchant's communities, day by day, replayed
//!   from the membership history (`community_member_events`).
//! - **Split suggestion**: Louvain community detection on one community's part of the
//!   graph, shown as proposed sub-communities.
//!
//! ## Layout
//! This file holds the report types, access and the use cases; `community.rs` computes
//! the figures of one community, `merchant.rs` those of a merchant's money sharing, and
//! `graph.rs` builds and caches the graph snapshot, `leaders.rs` the 团长 figures of 接龙
//! batches (GMV, buyers, repeat and pickup rates). Every statement they run is in
//! `store.rs`, named for what it reads.
//!
//! ## The graph snapshot
//! One platform-wide directed weighted graph per window length, in `kith-graph`'s CSR
//! arrays: a node per account; `u → v` when `u` endorses `v` — follows `v` (weight
//! [`W_FOLLOW`], every current follow), liked a post of `v` ([`W_LIKE`]) or commented on
//! one ([`W_COMMENT`]) in the window, joined a community through `v`'s invite in the
//! window ([`W_INVITE`]), followed `v`'s share link ([`W_SHARE_VISIT`]) or bought on
//! `v`'s referral — the order's attributed beneficiary — ([`W_REFERRED_PURCHASE`]) in
//! the window. Parallel edges add up.
//!
//! Snapshots are cached in [`GraphCache`] (an `Arc` per window, swapped whole). A request
//! that finds none waits for the first build; one that finds a snapshot older than
//! [`SNAPSHOT_MAX_AGE_MS`] is answered from it while a rebuild runs in the background;
//! `refresh_insight_graph` rebuilds on demand. Rows are read in one read transaction; the
//! arrays are built and the algorithms run on tokio's blocking pool, never on the async
//! runtime's threads, so requests are not blocked.
//!
//! ## Access
//! Every measure is merchant-scoped: only the merchant's staff (owner or managers) read it
//! (403 for anyone else, 404 for an unknown merchant or a community of another merchant).
//! The CLI (`kith analytics`) reads with [`InsightAccess::Operator`]: whoever runs it has
//! the database already.

mod community;
mod graph;
mod leaders;
mod merchant;
mod store;

use community::{
    community_energy, fission_tree, pool_members, rank_kol, repeat_purchase, suggest_split,
    traffic_pool,
};
use merchant::{binding_tree, gmv_by_channel, referral_rate, share_funnel};
use store::{community_members, is_merchant_community, merchant_community_ids};
#[cfg(test)]
mod tests;

pub use graph::{GraphCache, Snapshot};
pub use leaders::LeaderFigures;

use std::collections::BTreeMap;

use kith_domain::Fen;
use kith_store::Conn;
use serde::Serialize;

use crate::platform::auth::{StaffNeed, require_staff};
use crate::platform::ids::{AccountId, CommunityId, MerchantId};
use crate::{App, AppError, AppResult, Principal, rfc3339};

pub const DAY_MS: i64 = 24 * 3600 * 1000;
/// Default window, and the one docs/PRODUCT.md §5 names for energy.
pub const DEFAULT_WINDOW_DAYS: i64 = 30;
pub const MAX_WINDOW_DAYS: i64 = 365;
/// A snapshot older than this is rebuilt in the background on the next request.
pub const SNAPSHOT_MAX_AGE_MS: i64 = 10 * 60 * 1000;
/// Edge weights of the graph snapshot.
pub const W_FOLLOW: f32 = 1.0;
pub const W_LIKE: f32 = 1.0;
pub const W_COMMENT: f32 = 2.0;
pub const W_INVITE: f32 = 2.0;
pub const W_SHARE_VISIT: f32 = 1.0;
pub const W_REFERRED_PURCHASE: f32 = 5.0;
/// Pseudo-reviews at the platform mean that smooth a community's Q.
pub const QUALITY_PRIOR_WEIGHT: f64 = 5.0;
/// Most entries in a KOL ranking.
pub const MAX_RANKING: i64 = 100;
/// A proposed sub-community has at least this many members…
pub const SPLIT_MIN_GROUP: usize = 3;
/// …and a split is suggested only when the partition's modularity reaches this.
pub const SPLIT_MIN_MODULARITY: f64 = 0.3;

/// Who reads a measure.
#[derive(Debug, Clone)]
pub enum InsightAccess {
    /// Staff of the merchant (checked on the merchant in the read).
    Staff(Principal),
    /// The operator at the command line, who holds the database.
    Operator,
}

impl From<&Principal> for InsightAccess {
    fn from(p: &Principal) -> Self {
        Self::Staff(p.clone())
    }
}

/// The window a measure covers: the last `days` days up to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub days: i64,
}

impl Window {
    /// `window_days`: 1–365, default 30.
    pub fn parse(days: Option<i64>) -> AppResult<Self> {
        let days = days.unwrap_or(DEFAULT_WINDOW_DAYS);
        if (1..=MAX_WINDOW_DAYS).contains(&days) {
            Ok(Self { days })
        } else {
            Err(AppError::invalid(
                "window_days",
                format!("must be a whole number of days from 1 to {MAX_WINDOW_DAYS}"),
            ))
        }
    }

    pub fn since(self, now: i64) -> i64 {
        now - self.days * DAY_MS
    }
}

/// A ranking length: 1–100, default 20.
pub fn parse_limit(limit: Option<i64>) -> AppResult<usize> {
    let l = limit.unwrap_or(20);
    if (1..=MAX_RANKING).contains(&l) {
        Ok(l as usize)
    } else {
        Err(AppError::invalid(
            "limit",
            format!("must be from 1 to {MAX_RANKING}"),
        ))
    }
}

/// Rounds to 4 decimals, so JSON shows stable figures.
fn r4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        r4(num as f64 / den as f64)
    }
}

// ---------------------------------------------------------------------------------------
// Output types

/// Community energy and its three factors.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct CommunityEnergy {
    pub community_id: CommunityId,
    pub name: String,
    pub window_days: i64,
    /// Q × M × C².
    pub energy: f64,
    /// Product quality: the smoothed mean rating of products the members bought, ÷ 5.
    pub q: f64,
    /// Members active in the window.
    pub m: i64,
    /// Mean distinct fellow members each active member interacted with in the window.
    pub c: f64,
    /// Active members now.
    pub members: i64,
    /// Reviews behind Q and their mean ×100 (0 with none); the platform mean ×100.
    pub reviews: i64,
    pub rating_mean_x100: i64,
    pub platform_rating_mean_x100: i64,
    /// Distinct pairs of members who interacted in the window.
    pub interacting_pairs: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct RepeatPurchase {
    pub window_days: i64,
    /// Set when the measure covers one community's members only.
    pub community_id: Option<CommunityId>,
    /// Paid orders in the window (not fully refunded).
    pub orders: i64,
    /// Buyers with ≥ 1 such order, and with ≥ 2.
    pub buyers: i64,
    pub repeat_buyers: i64,
    /// repeat_buyers ÷ buyers (0 with no buyers).
    pub rate: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct Inviter {
    pub account_id: AccountId,
    pub display_name: String,
    /// People this member invited directly.
    pub invited: i64,
    /// Everyone below them in the tree.
    pub descendants: i64,
    /// Their own generation (0 = came in directly).
    pub generation: i64,
}

/// An invite tree (a community's, from `community_members.invited_by`) or a referrer-binding
/// tree (a merchant's, from `referrer_bindings`; `community_id` is then null).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct FissionTree {
    pub community_id: Option<CommunityId>,
    /// Everyone in the tree: who ever joined the community (active, left, removed or
    /// banned); or every bound member and every referrer.
    pub members: i64,
    /// Came in directly (the owner, open or approved joins; referrers nobody referred).
    pub roots: i64,
    /// Came in through a member's invite (or were bound to a referrer).
    pub invited: i64,
    /// Levels of the tree (a lone owner: 1).
    pub generations: i64,
    /// Members per generation, from 0.
    pub per_generation: Vec<i64>,
    /// Members who brought at least one other; mean people brought per such member.
    pub inviters: i64,
    pub branching: f64,
    pub max_children: i64,
    /// Accepted invites per member: invited ÷ members.
    pub k_factor: f64,
    /// The members who brought the most people (by descendants), at most 10.
    pub top_inviters: Vec<Inviter>,
    /// The tree itself as far as a page can draw it: its biggest branches first, in
    /// depth-first order, [`TREE_DEPTH`] generations deep, [`TREE_BREADTH`] children per
    /// member and [`TREE_ROOTS`] roots at most, [`TREE_NODES`] people in all. Whoever is
    /// left out is counted at their nearest drawn ancestor (`TreeNode::more`) or, for a
    /// left-out root's branch, in `more_roots`, so everyone is drawn or counted once.
    pub drawn: Vec<TreeNode>,
    /// People in the branches of roots not drawn.
    pub more_roots: i64,
}

/// Generations a drawn tree goes down (0 = the roots).
pub const TREE_DEPTH: usize = 4;
/// Children drawn under one member.
pub const TREE_BREADTH: usize = 6;
/// Roots drawn.
pub const TREE_ROOTS: usize = 8;
/// People drawn in all.
pub const TREE_NODES: usize = 80;

/// One member where a drawn tree shows them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct TreeNode {
    pub account_id: AccountId,
    pub display_name: String,
    /// Generation: 0 for a root; a node's children follow it with `depth + 1`.
    pub depth: i64,
    /// People this member brought directly.
    pub invited: i64,
    /// Everyone below them.
    pub descendants: i64,
    /// People below them who are not drawn (and not counted under a drawn child).
    pub more: i64,
}

/// One member in a KOL / KOC ranking.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct KolEntry {
    pub rank: i64,
    pub account_id: AccountId,
    pub display_name: String,
    /// Personalised PageRank on the pool, ×pool size: 1.0 is an average member.
    pub influence: f64,
    /// Distinct accounts whose endorsements reach this member in 1, 2 and 3 hops
    /// (followers, their followers, …), and the total within three hops (三度影响力).
    pub reach: [i64; 3],
    pub reach_3: i64,
    /// Followers now.
    pub followers: i64,
    /// Flagged as an opinion leader in one of the merchant's communities.
    pub opinion_leader: bool,
    /// Net GMV (paid − refunded, fen) of the merchant's orders attributed to this member
    /// (share link, content, or as bound referrer) in the window.
    #[schema(value_type = i64)]
    pub attributed_gmv_fen: Fen,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct KolRanking {
    pub window_days: i64,
    pub community_id: Option<CommunityId>,
    /// Members the ranking is over (the pool or the community).
    pub pool: i64,
    /// When the graph snapshot it reads was built.
    pub snapshot_built_at: String,
    pub entries: Vec<KolEntry>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct PoolPoint {
    /// The day (UTC) the count is taken at, at the same time of day as now.
    pub date: String,
    pub members: i64,
}

/// The merchant's private traffic pool: distinct members in its communities or bound to it
/// (referrer binding, until it expires), over time.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct TrafficPool {
    pub window_days: i64,
    /// Members now.
    pub members: i64,
    /// Change since the window's start.
    pub change: i64,
    /// One point per day, oldest first; the last is now.
    pub series: Vec<PoolPoint>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct GroupMember {
    pub account_id: AccountId,
    pub display_name: String,
}

/// A proposed sub-community.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct ProposedGroup {
    pub size: i64,
    /// Share of the group's interaction weight that stays inside it (0–1).
    pub cohesion: f64,
    pub members: Vec<GroupMember>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct SplitSuggestion {
    pub community_id: CommunityId,
    pub window_days: i64,
    pub members: i64,
    /// Whether splitting is suggested: at least two groups of ≥ 3 members and a
    /// modularity of at least 0.3.
    pub suggested: bool,
    pub reason: String,
    /// Modularity of the proposed partition (−0.5–1; higher is a clearer split).
    pub modularity: f64,
    /// Groups of at least 3 members, largest first.
    pub groups: Vec<ProposedGroup>,
    /// Members in smaller groups or with no interaction inside the community.
    pub unplaced: i64,
}

/// What the current snapshot is.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct SnapshotInfo {
    pub window_days: i64,
    pub built_at: String,
    pub nodes: i64,
    pub edges: i64,
    /// Raw edges read, per kind, before merging.
    pub edges_by_kind: BTreeMap<String, i64>,
    pub build_ms: i64,
}

fn check_access(
    c: &mut dyn Conn,
    who: &InsightAccess,
    merchant_id: &str,
    community_id: Option<&str>,
) -> AppResult<()> {
    match who {
        InsightAccess::Staff(p) => {
            require_staff(c, p, merchant_id, StaffNeed::AnyStaff)?;
        }
        InsightAccess::Operator => {
            crate::platform::auth::merchant_status(c, merchant_id)?;
        }
    }
    if let Some(cid) = community_id
        && !is_merchant_community(c, cid, merchant_id)?
    {
        return Err(AppError::NotFound("community"));
    }
    Ok(())
}

impl App {
    async fn check_insight_access(
        &self,
        who: InsightAccess,
        merchant_id: &str,
        community_id: Option<&str>,
    ) -> AppResult<()> {
        let (mid, cid) = (merchant_id.to_owned(), community_id.map(str::to_owned));
        self.db
            .read(move |c| check_access(c, &who, &mid, cid.as_deref()))
            .await
    }
}

// ---------------------------------------------------------------------------------------
// Energy

// ---------------------------------------------------------------------------------------
// Repeat purchase, fission, pool

// ---------------------------------------------------------------------------------------
// KOL ranking and split suggestions (on the snapshot)

// ---------------------------------------------------------------------------------------
// Money sharing: referral rate, GMV by channel, share funnel, binding tree

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct ReferralRate {
    pub window_days: i64,
    /// Paid orders in the window (not fully refunded), and those attributed to a member.
    pub orders: i64,
    pub attributed_orders: i64,
    /// attributed_orders ÷ orders.
    pub order_rate: f64,
    /// Members of the pool (in the merchant's communities or bound to it).
    pub members: i64,
    /// Pool members who brought at least one of those orders.
    pub referrers: i64,
    /// referrers ÷ members.
    pub member_rate: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct ChannelGmv {
    /// `direct` (no attribution), `share` (a share link), `content` (a post with product
    /// tags shared by its author), `group_buy`, or `referrer` (the buyer's bound referrer).
    pub channel: String,
    pub orders: i64,
    /// Net GMV: paid − refunded, in fen.
    #[schema(value_type = i64)]
    pub gmv_fen: Fen,
    /// This channel's part of the total GMV (0–1).
    pub share: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct GmvByChannel {
    pub window_days: i64,
    pub orders: i64,
    #[schema(value_type = i64)]
    pub gmv_fen: Fen,
    /// Every channel, in the order above, also those with no orders.
    pub channels: Vec<ChannelGmv>,
}

/// Channels in display order; `none` in storage is `direct` here.
pub const CHANNELS: &[&str] = &["direct", "share", "content", "group_buy", "referrer"];

/// One row of a share funnel: visits → sign-ups → orders → GMV.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct FunnelRow {
    /// The sharer's account id (by sharer) or the post's id (by post).
    pub id: String,
    /// The sharer's name, or the post's author and the start of its text.
    pub label: String,
    /// Share links earning at this merchant.
    pub links: i64,
    /// Link visits in the window, and the distinct signed-in visitors among them.
    pub visits: i64,
    pub visitors: i64,
    /// Accounts created through the links in the window.
    pub signups: i64,
    /// Paid orders attributed through the links in the window, and their net GMV.
    pub orders: i64,
    #[schema(value_type = i64)]
    pub gmv_fen: Fen,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct ShareFunnel {
    pub window_days: i64,
    /// `sharer` or `post`.
    pub by: String,
    /// Rows by GMV, then visits, highest first.
    pub rows: Vec<FunnelRow>,
}

/// How a share funnel is grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunnelBy {
    Sharer,
    Post,
}

impl FunnelBy {
    /// `by`: `sharer` (default) or `post`.
    pub fn parse(raw: Option<&str>) -> AppResult<Self> {
        match raw.map(str::trim) {
            None | Some("sharer") => Ok(Self::Sharer),
            Some("post") => Ok(Self::Post),
            Some(_) => Err(AppError::invalid("by", "must be `sharer` or `post`")),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Sharer => "sharer",
            Self::Post => "post",
        }
    }
}

// ---------------------------------------------------------------------------------------
// Use cases (reads)

impl App {
    /// Energy of every community of the merchant, highest first.
    pub async fn insight_communities(
        &self,
        who: InsightAccess,
        merchant_id: &MerchantId,
        window: Window,
    ) -> AppResult<Vec<CommunityEnergy>> {
        let now = self.now_ms();
        let mid = merchant_id.to_owned();
        let mut list = self
            .db
            .read(move |c| {
                check_access(c, &who, &mid, None)?;
                let ids = merchant_community_ids(c, &mid)?;
                ids.iter()
                    .map(|cid| community_energy(c, &mid, cid, window, now))
                    .collect::<AppResult<Vec<_>>>()
            })
            .await?;
        list.sort_by(|a, b| {
            b.energy
                .total_cmp(&a.energy)
                .then(a.community_id.cmp(&b.community_id))
        });
        Ok(list)
    }

    /// One community's energy and its factors.
    pub async fn insight_energy(
        &self,
        who: InsightAccess,
        merchant_id: &MerchantId,
        community_id: &CommunityId,
        window: Window,
    ) -> AppResult<CommunityEnergy> {
        let now = self.now_ms();
        let (mid, cid) = (merchant_id.to_owned(), community_id.to_owned());
        self.db
            .read(move |c| {
                check_access(c, &who, &mid, Some(&cid))?;
                community_energy(c, &mid, &cid, window, now)
            })
            .await
    }

    /// Repeat-purchase rate at the merchant, or among one community's members.
    pub async fn insight_repeat_purchase(
        &self,
        who: InsightAccess,
        merchant_id: &MerchantId,
        community_id: Option<&CommunityId>,
        window: Window,
    ) -> AppResult<RepeatPurchase> {
        let now = self.now_ms();
        let (mid, cid) = (merchant_id.to_owned(), community_id.cloned());
        self.db
            .read(move |c| {
                check_access(c, &who, &mid, cid.as_deref())?;
                repeat_purchase(c, &mid, cid.as_deref(), window, now)
            })
            .await
    }

    /// The invite tree of one community.
    pub async fn insight_fission(
        &self,
        who: InsightAccess,
        merchant_id: &MerchantId,
        community_id: &CommunityId,
    ) -> AppResult<FissionTree> {
        let (mid, cid) = (merchant_id.to_owned(), community_id.to_owned());
        self.db
            .read(move |c| {
                check_access(c, &who, &mid, Some(&cid))?;
                fission_tree(c, &cid)
            })
            .await
    }

    /// The merchant's private traffic pool, day by day over the window.
    pub async fn insight_traffic_pool(
        &self,
        who: InsightAccess,
        merchant_id: &MerchantId,
        window: Window,
    ) -> AppResult<TrafficPool> {
        let now = self.now_ms();
        let mid = merchant_id.to_owned();
        self.db
            .read(move |c| {
                check_access(c, &who, &mid, None)?;
                traffic_pool(c, &mid, window, now)
            })
            .await
    }

    /// KOL / KOC ranking over the merchant's pool, or one community's members.
    pub async fn insight_kol(
        &self,
        who: InsightAccess,
        merchant_id: &MerchantId,
        community_id: Option<&CommunityId>,
        window: Window,
        limit: usize,
    ) -> AppResult<KolRanking> {
        let now = self.now_ms();
        let (mid, cid) = (merchant_id.to_owned(), community_id.cloned());
        let cid2 = cid.clone();
        let pool = self
            .db
            .read(move |c| {
                check_access(c, &who, &mid, cid.as_deref())?;
                pool_members(c, &mid, cid.as_deref(), window, now)
            })
            .await?;
        let snap = self.graph(window).await?;
        let built = snap.built_at_ms;
        let n = pool.len();
        let entries = tokio::task::spawn_blocking(move || rank_kol(&snap, &pool, limit))
            .await
            .map_err(|e| AppError::Internal(format!("ranking: {e}")))?;
        Ok(KolRanking {
            window_days: window.days,
            community_id: cid2,
            pool: n as i64,
            snapshot_built_at: rfc3339(built),
            entries,
        })
    }

    /// Proposed sub-communities of one community, from its members' interactions.
    pub async fn insight_split(
        &self,
        who: InsightAccess,
        merchant_id: &MerchantId,
        community_id: &CommunityId,
        window: Window,
    ) -> AppResult<SplitSuggestion> {
        let (mid, cid) = (merchant_id.to_owned(), community_id.to_owned());
        let members = self
            .db
            .read(move |c| {
                check_access(c, &who, &mid, Some(&cid))?;
                community_members(c, &mid, Some(&cid))
            })
            .await?;
        let snap = self.graph(window).await?;
        let cid = community_id.to_owned();
        tokio::task::spawn_blocking(move || suggest_split(&snap, &cid, &members, window))
            .await
            .map_err(|e| AppError::Internal(format!("split: {e}")))
    }
}

impl App {
    /// Referral rate: attributed orders ÷ orders, members who brought one ÷ members.
    pub async fn insight_referral(
        &self,
        who: InsightAccess,
        merchant_id: &MerchantId,
        window: Window,
    ) -> AppResult<ReferralRate> {
        let now = self.now_ms();
        let mid = merchant_id.to_owned();
        self.db
            .read(move |c| {
                check_access(c, &who, &mid, None)?;
                referral_rate(c, &mid, window, now)
            })
            .await
    }

    /// Orders and net GMV by channel: direct, share link, content, group-buy, referrer.
    pub async fn insight_channels(
        &self,
        who: InsightAccess,
        merchant_id: &MerchantId,
        window: Window,
    ) -> AppResult<GmvByChannel> {
        let now = self.now_ms();
        let mid = merchant_id.to_owned();
        self.db
            .read(move |c| {
                check_access(c, &who, &mid, None)?;
                gmv_by_channel(c, &mid, window, now)
            })
            .await
    }

    /// Share funnel per sharer or per post: visits → sign-ups → orders → GMV.
    pub async fn insight_share_funnel(
        &self,
        who: InsightAccess,
        merchant_id: &MerchantId,
        by: FunnelBy,
        window: Window,
        limit: usize,
    ) -> AppResult<ShareFunnel> {
        let now = self.now_ms();
        let mid = merchant_id.to_owned();
        self.db
            .read(move |c| {
                check_access(c, &who, &mid, None)?;
                share_funnel(c, &mid, by, window, now, limit)
            })
            .await
    }

    /// The merchant's referrer-binding tree: generations, branching, K-factor.
    pub async fn insight_binding_tree(
        &self,
        who: InsightAccess,
        merchant_id: &MerchantId,
    ) -> AppResult<FissionTree> {
        let mid = merchant_id.to_owned();
        self.db
            .read(move |c| {
                check_access(c, &who, &mid, None)?;
                binding_tree(c, &mid)
            })
            .await
    }
}
