//! Community insight (DESIGN §5): the measures a merchant reads about its communities and
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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use kith_graph::{Graph, GraphBuilder, NodeId, PageRankOptions, ReachCounter};
use kith_store::{Conn, Value, args};
use serde::Serialize;

use crate::platform::auth::{StaffNeed, require_staff};
use crate::{App, AppError, AppResult, Principal, rfc3339};

pub const DAY_MS: i64 = 24 * 3600 * 1000;
/// Default window, and the one DESIGN §5 names for energy.
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
    pub community_id: String,
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
    pub community_id: Option<String>,
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
    pub account_id: String,
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
    pub community_id: Option<String>,
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
}

/// One member in a KOL / KOC ranking.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct KolEntry {
    pub rank: i64,
    pub account_id: String,
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
    pub attributed_gmv_fen: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct KolRanking {
    pub window_days: i64,
    pub community_id: Option<String>,
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
    pub account_id: String,
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
    pub community_id: String,
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

// ---------------------------------------------------------------------------------------
// The graph snapshot and its cache

/// A platform-wide graph at one moment, for one window length.
#[derive(Debug)]
pub struct Snapshot {
    pub window_days: i64,
    pub built_at_ms: i64,
    /// Account id of each node.
    pub ids: Vec<String>,
    pub index: HashMap<String, NodeId>,
    pub graph: Graph,
    pub edges_by_kind: BTreeMap<String, i64>,
    pub build_ms: i64,
}

impl Snapshot {
    pub fn info(&self) -> SnapshotInfo {
        SnapshotInfo {
            window_days: self.window_days,
            built_at: rfc3339(self.built_at_ms),
            nodes: self.ids.len() as i64,
            edges: self.graph.edge_count() as i64,
            edges_by_kind: self.edges_by_kind.clone(),
            build_ms: self.build_ms,
        }
    }

    fn node(&self, id: &str) -> Option<NodeId> {
        self.index.get(id).copied()
    }
}

/// One kind of edge: its name, its weight, and `(from, to)` account ids.
type EdgeKind = (&'static str, f32, Vec<(String, String)>);

/// The rows a snapshot is built from.
struct EdgeRows {
    accounts: Vec<String>,
    kinds: Vec<EdgeKind>,
}

fn load_edge_rows(c: &mut dyn Conn, since: i64) -> AppResult<EdgeRows> {
    let accounts = c
        .query("SELECT id FROM accounts ORDER BY id", &[])?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<Vec<_>, _>>()?;
    let pairs =
        |c: &mut dyn Conn, sql: &str, params: &[Value]| -> AppResult<Vec<(String, String)>> {
            c.query(sql, params)?
                .iter()
                .map(|r| Ok((r.text(0)?, r.text(1)?)))
                .collect()
        };
    let follows = pairs(c, "SELECT follower_id, followee_id FROM follows", &[])?;
    let likes = pairs(
        c,
        "SELECT l.account_id, p.author_id FROM post_likes l JOIN posts p ON p.id = l.post_id
         WHERE l.created_at >= $1 AND p.deleted_at IS NULL",
        args![since],
    )?;
    let comments = pairs(
        c,
        "SELECT c.author_id, p.author_id FROM comments c JOIN posts p ON p.id = c.post_id
         WHERE c.created_at >= $1 AND c.deleted_at IS NULL AND p.deleted_at IS NULL",
        args![since],
    )?;
    let invites = pairs(
        c,
        "SELECT account_id, invited_by FROM community_members
         WHERE invited_by IS NOT NULL AND joined_at >= $1",
        args![since],
    )?;
    let visits = pairs(
        c,
        "SELECT v.visitor_id, l.sharer_id FROM share_visits v JOIN share_links l ON l.id = v.link_id
         WHERE v.visitor_id IS NOT NULL AND v.at >= $1",
        args![since],
    )?;
    let referred = pairs(
        c,
        "SELECT a.buyer_id, a.beneficiary_id FROM order_attributions a JOIN orders o ON o.id = a.order_id
         WHERE a.beneficiary_id IS NOT NULL AND o.paid_at IS NOT NULL AND o.paid_at >= $1",
        args![since],
    )?;
    Ok(EdgeRows {
        accounts,
        kinds: vec![
            ("follow", W_FOLLOW, follows),
            ("like", W_LIKE, likes),
            ("comment", W_COMMENT, comments),
            ("invite", W_INVITE, invites),
            ("share_visit", W_SHARE_VISIT, visits),
            ("referred_purchase", W_REFERRED_PURCHASE, referred),
        ],
    })
}

fn build_snapshot(rows: EdgeRows, window_days: i64, built_at_ms: i64) -> Snapshot {
    let started = std::time::Instant::now();
    let mut index = HashMap::with_capacity(rows.accounts.len());
    for (i, id) in rows.accounts.iter().enumerate() {
        index.insert(id.clone(), i as NodeId);
    }
    let total: usize = rows.kinds.iter().map(|k| k.2.len()).sum();
    let mut b = GraphBuilder::with_capacity(rows.accounts.len(), total);
    let mut edges_by_kind = BTreeMap::new();
    for (kind, w, list) in &rows.kinds {
        edges_by_kind.insert((*kind).to_owned(), list.len() as i64);
        for (u, v) in list {
            if let (Some(&u), Some(&v)) = (index.get(u), index.get(v)) {
                b.add_edge(u, v, *w);
            }
        }
    }
    let graph = b.build();
    Snapshot {
        window_days,
        built_at_ms,
        ids: rows.accounts,
        index,
        graph,
        edges_by_kind,
        build_ms: started.elapsed().as_millis() as i64,
    }
}

/// Snapshots by window length, each swapped whole; and which windows are being rebuilt.
#[derive(Debug, Default)]
pub struct GraphCache {
    snapshots: Mutex<HashMap<i64, Arc<Snapshot>>>,
    building: Mutex<HashSet<i64>>,
    /// Serialises builds, so two requests never build the same graph twice at once.
    build_lock: tokio::sync::Mutex<()>,
}

impl GraphCache {
    fn get(&self, days: i64) -> Option<Arc<Snapshot>> {
        self.snapshots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&days)
            .cloned()
    }

    fn put(&self, s: Arc<Snapshot>) {
        self.snapshots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(s.window_days, s);
    }
}

impl App {
    /// Builds the snapshot for `window` now and swaps it in: rows in one read, arrays on
    /// the blocking pool. Unless `force`, a snapshot another request built while this one
    /// waited for the build lock is taken instead of building a second.
    async fn build_graph(&self, window: Window, force: bool) -> AppResult<Arc<Snapshot>> {
        let _guard = self.insight.build_lock.lock().await;
        if !force && let Some(s) = self.insight.get(window.days) {
            return Ok(s);
        }
        let now = self.now_ms();
        let since = window.since(now);
        let rows = self.db.read(move |c| load_edge_rows(c, since)).await?;
        let snap = tokio::task::spawn_blocking(move || build_snapshot(rows, window.days, now))
            .await
            .map_err(|e| AppError::Internal(format!("graph build: {e}")))?;
        let snap = Arc::new(snap);
        self.insight.put(snap.clone());
        tracing::debug!(
            window_days = window.days,
            nodes = snap.ids.len(),
            edges = snap.graph.edge_count(),
            build_ms = snap.build_ms,
            "insight graph rebuilt"
        );
        Ok(snap)
    }

    /// The snapshot for `window`: the cached one (a stale one starts a background
    /// rebuild), or a fresh build when there is none.
    async fn graph(&self, window: Window) -> AppResult<Arc<Snapshot>> {
        let Some(s) = self.insight.get(window.days) else {
            return self.build_graph(window, false).await;
        };
        if self.now_ms() - s.built_at_ms > SNAPSHOT_MAX_AGE_MS {
            let first = self
                .insight
                .building
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(window.days);
            if first {
                let app = self.clone();
                tokio::spawn(async move {
                    if let Err(e) = app.build_graph(window, true).await {
                        tracing::warn!(error = %e, "insight graph rebuild failed");
                    }
                    app.insight
                        .building
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&window.days);
                });
            }
        }
        Ok(s)
    }

    /// Rebuilds the graph snapshot for `window` now and describes it. Staff of the
    /// merchant (any merchant: the graph is the platform's), or the operator.
    pub async fn refresh_insight_graph(
        &self,
        who: InsightAccess,
        merchant_id: &str,
        window: Window,
    ) -> AppResult<SnapshotInfo> {
        self.check_insight_access(who, merchant_id, None).await?;
        Ok(self.build_graph(window, true).await?.info())
    }
}

// ---------------------------------------------------------------------------------------
// Access

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
    if let Some(cid) = community_id {
        c.query_opt(
            "SELECT 1 FROM communities WHERE id = $1 AND merchant_id = $2",
            args![cid, merchant_id],
        )?
        .ok_or(AppError::NotFound("community"))?;
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

/// Active members of a community who did something on the platform since `since`: wrote
/// a post, liked, commented, shared, followed a share link, or placed an order.
fn active_members(c: &mut dyn Conn, community_id: &str, since: i64) -> AppResult<Vec<String>> {
    Ok(c.query(
        "SELECT m.account_id FROM community_members m
         WHERE m.community_id = $1 AND m.state = 'active' AND (
               EXISTS (SELECT 1 FROM posts p WHERE p.author_id = m.account_id AND p.created_at >= $2 AND p.deleted_at IS NULL)
            OR EXISTS (SELECT 1 FROM post_likes l WHERE l.account_id = m.account_id AND l.created_at >= $2)
            OR EXISTS (SELECT 1 FROM comments x WHERE x.author_id = m.account_id AND x.created_at >= $2 AND x.deleted_at IS NULL)
            OR EXISTS (SELECT 1 FROM post_shares s WHERE s.account_id = m.account_id AND s.created_at >= $2)
            OR EXISTS (SELECT 1 FROM share_visits v WHERE v.visitor_id = m.account_id AND v.at >= $2)
            OR EXISTS (SELECT 1 FROM orders o WHERE o.buyer_id = m.account_id AND o.created_at >= $2))
         ORDER BY m.account_id",
        args![community_id, since],
    )?
    .iter()
    .map(|r| r.text(0))
    .collect::<Result<_, _>>()?)
}

/// Who interacted with whom among the community's active members since `since` (likes and
/// comments on each other's posts, visits of each other's share links, purchases one made
/// on the other's referral), as unordered distinct pairs.
fn interaction_pairs(
    c: &mut dyn Conn,
    community_id: &str,
    since: i64,
) -> AppResult<HashSet<(String, String)>> {
    let rows = c.query(
        "SELECT l.account_id, p.author_id FROM post_likes l
           JOIN posts p ON p.id = l.post_id
           JOIN community_members a ON a.community_id = $1 AND a.account_id = l.account_id AND a.state = 'active'
           JOIN community_members b ON b.community_id = $1 AND b.account_id = p.author_id AND b.state = 'active'
         WHERE l.created_at >= $2 AND l.account_id <> p.author_id AND p.deleted_at IS NULL
         UNION ALL
         SELECT x.author_id, p.author_id FROM comments x
           JOIN posts p ON p.id = x.post_id
           JOIN community_members a ON a.community_id = $1 AND a.account_id = x.author_id AND a.state = 'active'
           JOIN community_members b ON b.community_id = $1 AND b.account_id = p.author_id AND b.state = 'active'
         WHERE x.created_at >= $2 AND x.author_id <> p.author_id AND x.deleted_at IS NULL AND p.deleted_at IS NULL
         UNION ALL
         SELECT v.visitor_id, l.sharer_id FROM share_visits v
           JOIN share_links l ON l.id = v.link_id
           JOIN community_members a ON a.community_id = $1 AND a.account_id = v.visitor_id AND a.state = 'active'
           JOIN community_members b ON b.community_id = $1 AND b.account_id = l.sharer_id AND b.state = 'active'
         WHERE v.at >= $2 AND v.visitor_id <> l.sharer_id
         UNION ALL
         SELECT r.buyer_id, r.beneficiary_id FROM order_attributions r
           JOIN orders o ON o.id = r.order_id
           JOIN community_members a ON a.community_id = $1 AND a.account_id = r.buyer_id AND a.state = 'active'
           JOIN community_members b ON b.community_id = $1 AND b.account_id = r.beneficiary_id AND b.state = 'active'
         WHERE o.paid_at IS NOT NULL AND o.paid_at >= $2 AND r.buyer_id <> r.beneficiary_id",
        args![community_id, since],
    )?;
    let mut pairs = HashSet::new();
    for r in rows {
        let (a, b) = (r.text(0)?, r.text(1)?);
        pairs.insert(if a < b { (a, b) } else { (b, a) });
    }
    Ok(pairs)
}

fn community_energy(
    c: &mut dyn Conn,
    merchant_id: &str,
    community_id: &str,
    window: Window,
    now: i64,
) -> AppResult<CommunityEnergy> {
    let since = window.since(now);
    let row = c.query_one(
        "SELECT name, (SELECT COUNT(*) FROM community_members m WHERE m.community_id = $1 AND m.state = 'active')
         FROM communities WHERE id = $1",
        args![community_id],
    )?;
    let (name, members) = (row.text(0)?, row.int(1)?);
    let active = active_members(c, community_id, since)?;
    let pairs = interaction_pairs(c, community_id, since)?;
    let mut partners: HashMap<&str, usize> = active.iter().map(|a| (a.as_str(), 0)).collect();
    for (a, b) in &pairs {
        for x in [a, b] {
            if let Some(n) = partners.get_mut(x.as_str()) {
                *n += 1;
            }
        }
    }
    let counts: Vec<usize> = active.iter().map(|a| partners[a.as_str()]).collect();
    let cf = kith_graph::connection(&counts);
    let r = c.query_one(
        "SELECT CAST(COALESCE(SUM(r.rating), 0) AS bigint), COUNT(*) FROM reviews r
         WHERE r.hidden_at IS NULL AND r.product_id IN (
             SELECT s.product_id FROM order_lines l
               JOIN orders o ON o.id = l.order_id
               JOIN skus s ON s.id = l.sku_id
               JOIN community_members m ON m.community_id = $1 AND m.account_id = o.buyer_id AND m.state = 'active'
             WHERE o.merchant_id = $2 AND o.paid_at IS NOT NULL)",
        args![community_id, merchant_id],
    )?;
    let (sum, count) = (r.int(0)?, r.int(1)?);
    let p = c.query_one(
        "SELECT CAST(COALESCE(SUM(rating), 0) AS bigint), COUNT(*) FROM reviews WHERE hidden_at IS NULL",
        &[],
    )?;
    let (psum, pcount) = (p.int(0)?, p.int(1)?);
    let platform_mean = (pcount > 0).then(|| psum as f64 / pcount as f64);
    let q = kith_graph::quality(sum, count, platform_mean, QUALITY_PRIOR_WEIGHT);
    let e = kith_graph::Energy::new(q, active.len() as u64, cf);
    Ok(CommunityEnergy {
        community_id: community_id.to_owned(),
        name,
        window_days: window.days,
        energy: r4(e.energy),
        q: r4(e.q),
        m: active.len() as i64,
        c: r4(e.c),
        members,
        reviews: count,
        rating_mean_x100: if count == 0 { 0 } else { sum * 100 / count },
        platform_rating_mean_x100: if pcount == 0 { 0 } else { psum * 100 / pcount },
        interacting_pairs: pairs.len() as i64,
    })
}

// ---------------------------------------------------------------------------------------
// Repeat purchase, fission, pool

fn repeat_purchase(
    c: &mut dyn Conn,
    merchant_id: &str,
    community_id: Option<&str>,
    window: Window,
    now: i64,
) -> AppResult<RepeatPurchase> {
    let mut params = args![merchant_id, window.since(now)].to_vec();
    let scope = match community_id {
        Some(cid) => {
            params.push(Value::from(cid));
            " AND o.buyer_id IN (SELECT account_id FROM community_members WHERE community_id = $3 AND state = 'active')"
        }
        None => "",
    };
    let rows = c.query(
        &format!(
            "SELECT o.buyer_id, COUNT(*) FROM orders o
             WHERE o.merchant_id = $1 AND o.paid_at IS NOT NULL AND o.paid_at >= $2 AND o.status <> 'refunded'{scope}
             GROUP BY o.buyer_id"
        ),
        &params,
    )?;
    let (mut orders, mut buyers, mut repeat) = (0i64, 0usize, 0usize);
    for r in rows {
        let n = r.int(1)?;
        orders += n;
        buyers += 1;
        if n >= 2 {
            repeat += 1;
        }
    }
    Ok(RepeatPurchase {
        window_days: window.days,
        community_id: community_id.map(str::to_owned),
        orders,
        buyers: buyers as i64,
        repeat_buyers: repeat as i64,
        rate: ratio(repeat, buyers),
    })
}

fn fission_tree(c: &mut dyn Conn, community_id: &str) -> AppResult<FissionTree> {
    let rows = c.query(
        "SELECT m.account_id, m.invited_by, a.display_name FROM community_members m
           JOIN accounts a ON a.id = m.account_id
         WHERE m.community_id = $1 AND m.state IN ('active', 'left', 'removed', 'banned')
         ORDER BY m.joined_at, m.account_id",
        args![community_id],
    )?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut names = Vec::with_capacity(rows.len());
    let mut inviters = Vec::with_capacity(rows.len());
    for r in &rows {
        ids.push(r.text(0)?);
        inviters.push(r.opt_text(1)?);
        names.push(r.text(2)?);
    }
    let index: HashMap<&str, u32> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i as u32))
        .collect();
    let parent: Vec<Option<u32>> = inviters
        .iter()
        .map(|p| p.as_deref().and_then(|p| index.get(p).copied()))
        .collect();
    Ok(tree_report(Some(community_id), &ids, &names, &parent))
}

/// Tree statistics with the ten members who brought the most people.
fn tree_report(
    community_id: Option<&str>,
    ids: &[String],
    names: &[String],
    parent: &[Option<u32>],
) -> FissionTree {
    let s = kith_graph::tree_stats(parent);
    let mut children = vec![0i64; ids.len()];
    for p in s.parent.iter().flatten() {
        children[*p as usize] += 1;
    }
    let mut top: Vec<usize> = (0..ids.len()).filter(|&i| children[i] > 0).collect();
    top.sort_by(|&a, &b| {
        s.descendants[b]
            .cmp(&s.descendants[a])
            .then(children[b].cmp(&children[a]))
            .then(a.cmp(&b))
    });
    top.truncate(10);
    FissionTree {
        community_id: community_id.map(str::to_owned),
        members: s.members as i64,
        roots: s.roots as i64,
        invited: s.invited as i64,
        generations: s.generations as i64,
        per_generation: s.per_generation.iter().map(|&n| n as i64).collect(),
        inviters: s.inviters as i64,
        branching: r4(s.branching),
        max_children: s.max_children as i64,
        k_factor: r4(s.k_factor),
        top_inviters: top
            .into_iter()
            .map(|i| Inviter {
                account_id: ids[i].clone(),
                display_name: names[i].clone(),
                invited: children[i],
                descendants: s.descendants[i] as i64,
                generation: s.depth[i] as i64,
            })
            .collect(),
    }
}

/// Membership events that put a member into a community, and that take them out.
const ENTER_EVENTS: &[&str] = &[
    "created",
    "joined",
    "approved",
    "joined_via_invite",
    "moved_from_parent",
];
const EXIT_EVENTS: &[&str] = &["left", "removed", "banned", "moved_to_sub"];

fn traffic_pool(
    c: &mut dyn Conn,
    merchant_id: &str,
    window: Window,
    now: i64,
) -> AppResult<TrafficPool> {
    let mut rows: Vec<(String, String, String, i64)> = Vec::new();
    for r in c.query(
        "SELECT e.community_id, e.account_id, e.event, e.at FROM community_member_events e
           JOIN communities k ON k.id = e.community_id
         WHERE k.merchant_id = $1 AND e.at <= $2
         ORDER BY e.at, e.id",
        args![merchant_id, now],
    )? {
        rows.push((r.text(0)?, r.text(1)?, r.text(2)?, r.int(3)?));
    }
    // A binding to the merchant puts a member in the pool from `bound_at` until it expires.
    for r in c.query(
        "SELECT member_id, bound_at, expires_at FROM referrer_bindings WHERE merchant_id = $1 AND bound_at <= $2",
        args![merchant_id, now],
    )? {
        let member = r.text(0)?;
        rows.push((String::new(), member.clone(), "bound".into(), r.int(1)?));
        if let Some(end) = r.opt_int(2)?
            && end <= now
        {
            rows.push((String::new(), member, "unbound".into(), end));
        }
    }
    // Stable: community events keep their order within one instant.
    rows.sort_by_key(|r| r.3);
    // Replay the history; count distinct members in at least one community at each point.
    let points: Vec<i64> = (0..=window.days).rev().map(|d| now - d * DAY_MS).collect();
    let mut inside: HashSet<(String, String)> = HashSet::new();
    let mut per_account: HashMap<String, usize> = HashMap::new();
    let mut series = Vec::with_capacity(points.len());
    let mut next = 0;
    let take = |series: &mut Vec<PoolPoint>, at: i64, per_account: &HashMap<String, usize>| {
        series.push(PoolPoint {
            date: rfc3339(at)[..10].to_owned(),
            members: per_account.len() as i64,
        });
    };
    for (community, account, event, at) in rows {
        while next < points.len() && points[next] < at {
            take(&mut series, points[next], &per_account);
            next += 1;
        }
        let key = (community, account);
        if event == "bound" || ENTER_EVENTS.contains(&event.as_str()) {
            if inside.insert(key.clone()) {
                *per_account.entry(key.1).or_insert(0) += 1;
            }
        } else if (event == "unbound" || EXIT_EVENTS.contains(&event.as_str()))
            && inside.remove(&key)
            && let Some(n) = per_account.get_mut(&key.1)
        {
            *n -= 1;
            if *n == 0 {
                per_account.remove(&key.1);
            }
        }
    }
    while next < points.len() {
        take(&mut series, points[next], &per_account);
        next += 1;
    }
    // The first point is the window's start, kept only to compute the change.
    let start = series.remove(0).members;
    let members = series.last().map_or(0, |p| p.members);
    Ok(TrafficPool {
        window_days: window.days,
        members,
        change: members - start,
        series,
    })
}

// ---------------------------------------------------------------------------------------
// KOL ranking and split suggestions (on the snapshot)

/// A member of the pool a ranking is over.
#[derive(Debug, Clone)]
struct PoolMember {
    id: String,
    name: String,
    opinion_leader: bool,
    followers: i64,
    /// Net GMV of the merchant's orders attributed to them in the window.
    gmv_fen: i64,
}

/// Net GMV (paid − refunded) per beneficiary of the merchant's orders paid since `since`.
fn attributed_gmv(
    c: &mut dyn Conn,
    merchant_id: &str,
    since: i64,
) -> AppResult<HashMap<String, i64>> {
    c.query(
        "SELECT a.beneficiary_id, CAST(COALESCE(SUM(o.paid_fen - o.refunded_fen), 0) AS bigint)
         FROM order_attributions a JOIN orders o ON o.id = a.order_id
         WHERE a.merchant_id = $1 AND a.beneficiary_id IS NOT NULL AND o.paid_at IS NOT NULL
           AND o.paid_at >= $2 AND o.status <> 'refunded'
         GROUP BY a.beneficiary_id",
        args![merchant_id, since],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.int(1)?)))
    .collect()
}

/// The members a ranking is over: a community's active members, or the merchant's pool
/// (active members of any of its communities, and members bound to it as referred).
fn pool_members(
    c: &mut dyn Conn,
    merchant_id: &str,
    community_id: Option<&str>,
    window: Window,
    now: i64,
) -> AppResult<Vec<PoolMember>> {
    let mut members = community_members(c, merchant_id, community_id)?;
    if community_id.is_none() {
        let known: HashSet<String> = members.iter().map(|m| m.id.clone()).collect();
        let bound = c.query(
            "SELECT b.member_id, a.display_name,
                    (SELECT COUNT(*) FROM follows f WHERE f.followee_id = b.member_id)
             FROM referrer_bindings b JOIN accounts a ON a.id = b.member_id
             WHERE b.merchant_id = $1 AND (b.expires_at IS NULL OR b.expires_at > $2)
             ORDER BY b.member_id",
            args![merchant_id, now],
        )?;
        for r in bound {
            let id = r.text(0)?;
            if !known.contains(&id) {
                members.push(PoolMember {
                    id,
                    name: r.text(1)?,
                    opinion_leader: false,
                    followers: r.int(2)?,
                    gmv_fen: 0,
                });
            }
        }
        members.sort_by(|a, b| a.id.cmp(&b.id));
    }
    let gmv = attributed_gmv(c, merchant_id, window.since(now))?;
    for m in &mut members {
        m.gmv_fen = gmv.get(&m.id).copied().unwrap_or(0);
    }
    Ok(members)
}

fn community_members(
    c: &mut dyn Conn,
    merchant_id: &str,
    community_id: Option<&str>,
) -> AppResult<Vec<PoolMember>> {
    let (filter, params) = match community_id {
        Some(cid) => ("m.community_id = $1", args![cid].to_vec()),
        None => (
            "m.community_id IN (SELECT id FROM communities WHERE merchant_id = $1)",
            args![merchant_id].to_vec(),
        ),
    };
    c.query(
        &format!(
            "SELECT m.account_id, a.display_name,
                    CAST(MAX(CASE WHEN m.opinion_leader THEN 1 ELSE 0 END) AS bigint),
                    (SELECT COUNT(*) FROM follows f WHERE f.followee_id = m.account_id)
             FROM community_members m JOIN accounts a ON a.id = m.account_id
             WHERE {filter} AND m.state = 'active'
             GROUP BY m.account_id, a.display_name
             ORDER BY m.account_id"
        ),
        &params,
    )?
    .iter()
    .map(|r| {
        Ok(PoolMember {
            id: r.text(0)?,
            name: r.text(1)?,
            opinion_leader: r.int(2)? != 0,
            followers: r.int(3)?,
            gmv_fen: 0,
        })
    })
    .collect()
}

fn rank_kol(snap: &Snapshot, pool: &[PoolMember], limit: usize) -> Vec<KolEntry> {
    let seeds: Vec<NodeId> = pool.iter().filter_map(|m| snap.node(&m.id)).collect();
    if seeds.is_empty() {
        return Vec::new();
    }
    let pr = kith_graph::pagerank(&snap.graph, &seeds, PageRankOptions::default());
    let mut scored: Vec<(usize, f64)> = pool
        .iter()
        .enumerate()
        .filter_map(|(i, m)| snap.node(&m.id).map(|v| (i, pr.scores[v as usize])))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(pool[a.0].id.cmp(&pool[b.0].id)));
    scored.truncate(limit);
    let mut reach = ReachCounter::new(snap.graph.node_count());
    scored
        .into_iter()
        .enumerate()
        .map(|(rank, (i, score))| {
            let v = snap.node(&pool[i].id).expect("scored members are nodes");
            let hops = reach.count(&snap.graph.inc, v, 3);
            KolEntry {
                rank: rank as i64 + 1,
                account_id: pool[i].id.clone(),
                display_name: pool[i].name.clone(),
                influence: r4(score * seeds.len() as f64),
                reach: [hops[0] as i64, hops[1] as i64, hops[2] as i64],
                reach_3: hops.iter().sum::<usize>() as i64,
                followers: pool[i].followers,
                opinion_leader: pool[i].opinion_leader,
                attributed_gmv_fen: pool[i].gmv_fen,
            }
        })
        .collect()
}

fn suggest_split(
    snap: &Snapshot,
    community_id: &str,
    members: &[PoolMember],
    window: Window,
) -> SplitSuggestion {
    let nodes: Vec<NodeId> = members.iter().filter_map(|m| snap.node(&m.id)).collect();
    let names: HashMap<NodeId, (&str, &str)> = members
        .iter()
        .filter_map(|m| {
            snap.node(&m.id)
                .map(|v| (v, (m.id.as_str(), m.name.as_str())))
        })
        .collect();
    let sub = snap.graph.induced(&nodes).undirected();
    let labels = kith_graph::louvain(&sub);
    let q = kith_graph::modularity(&sub, &labels);
    let k = labels.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &l) in labels.iter().enumerate() {
        groups[l as usize].push(i);
    }
    let degree = sub.row_sums();
    let mut proposed: Vec<ProposedGroup> = Vec::new();
    let mut unplaced = 0usize;
    for g in groups {
        let connected = g.iter().any(|&i| degree[i] > 0.0);
        if g.len() < SPLIT_MIN_GROUP || !connected {
            unplaced += g.len();
            continue;
        }
        let set: HashSet<usize> = g.iter().copied().collect();
        let (mut inside, mut total) = (0.0f64, 0.0f64);
        for &i in &g {
            for (j, w) in sub.row(i as NodeId) {
                total += f64::from(w);
                if set.contains(&(j as usize)) {
                    inside += f64::from(w);
                }
            }
        }
        let mut ms: Vec<GroupMember> = g
            .iter()
            .map(|&i| {
                let (id, name) = names[&nodes[i]];
                GroupMember {
                    account_id: id.to_owned(),
                    display_name: name.to_owned(),
                }
            })
            .collect();
        ms.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        proposed.push(ProposedGroup {
            size: g.len() as i64,
            cohesion: if total == 0.0 {
                0.0
            } else {
                r4(inside / total)
            },
            members: ms,
        });
    }
    unplaced += members.len() - nodes.len();
    proposed.sort_by(|a, b| {
        b.size
            .cmp(&a.size)
            .then(a.members[0].account_id.cmp(&b.members[0].account_id))
    });
    let suggested = proposed.len() >= 2 && q >= SPLIT_MIN_MODULARITY;
    let reason = if suggested {
        format!(
            "{} groups of at least {SPLIT_MIN_GROUP} members interact mostly among themselves (modularity {:.2})",
            proposed.len(),
            q
        )
    } else if proposed.len() < 2 {
        format!(
            "no two groups of at least {SPLIT_MIN_GROUP} members stand apart in the community's interactions"
        )
    } else {
        format!("the groups are not separate enough (modularity {q:.2} < {SPLIT_MIN_MODULARITY})")
    };
    SplitSuggestion {
        community_id: community_id.to_owned(),
        window_days: window.days,
        members: members.len() as i64,
        suggested,
        reason,
        modularity: r4(q),
        groups: proposed,
        unplaced: unplaced as i64,
    }
}

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
    pub gmv_fen: i64,
    /// This channel's part of the total GMV (0–1).
    pub share: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct GmvByChannel {
    pub window_days: i64,
    pub orders: i64,
    pub gmv_fen: i64,
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
    pub gmv_fen: i64,
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

/// Paid orders of the merchant since `since` that are not fully refunded, with their
/// attribution: (channel, beneficiary, link, net GMV).
const ORDERS_WITH_ATTRIBUTION: &str = "SELECT COALESCE(a.channel, 'none'), a.beneficiary_id, a.link_id, o.paid_fen - o.refunded_fen
     FROM orders o LEFT JOIN order_attributions a ON a.order_id = o.id
     WHERE o.merchant_id = $1 AND o.paid_at IS NOT NULL AND o.paid_at >= $2 AND o.status <> 'refunded'";

type AttributedOrder = (String, Option<String>, Option<String>, i64);

fn attributed_orders(
    c: &mut dyn Conn,
    merchant_id: &str,
    since: i64,
) -> AppResult<Vec<AttributedOrder>> {
    c.query(ORDERS_WITH_ATTRIBUTION, args![merchant_id, since])?
        .iter()
        .map(|r| Ok((r.text(0)?, r.opt_text(1)?, r.opt_text(2)?, r.int(3)?)))
        .collect()
}

/// The merchant's pool now: active members of its communities and live bindings.
fn pool_ids(c: &mut dyn Conn, merchant_id: &str, now: i64) -> AppResult<HashSet<String>> {
    c.query(
        "SELECT account_id FROM community_members
         WHERE state = 'active' AND community_id IN (SELECT id FROM communities WHERE merchant_id = $1)
         UNION
         SELECT member_id FROM referrer_bindings
         WHERE merchant_id = $1 AND (expires_at IS NULL OR expires_at > $2)",
        args![merchant_id, now],
    )?
    .iter()
    .map(|r| Ok(r.text(0)?))
    .collect()
}

fn referral_rate(
    c: &mut dyn Conn,
    merchant_id: &str,
    window: Window,
    now: i64,
) -> AppResult<ReferralRate> {
    let orders = attributed_orders(c, merchant_id, window.since(now))?;
    let pool = pool_ids(c, merchant_id, now)?;
    let attributed = orders.iter().filter(|o| o.1.is_some()).count();
    let referrers: HashSet<&str> = orders
        .iter()
        .filter_map(|o| o.1.as_deref())
        .filter(|b| pool.contains(*b))
        .collect();
    Ok(ReferralRate {
        window_days: window.days,
        orders: orders.len() as i64,
        attributed_orders: attributed as i64,
        order_rate: ratio(attributed, orders.len()),
        members: pool.len() as i64,
        referrers: referrers.len() as i64,
        member_rate: ratio(referrers.len(), pool.len()),
    })
}

fn gmv_by_channel(
    c: &mut dyn Conn,
    merchant_id: &str,
    window: Window,
    now: i64,
) -> AppResult<GmvByChannel> {
    let orders = attributed_orders(c, merchant_id, window.since(now))?;
    let mut per: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for (channel, _, _, gmv) in &orders {
        let ch = if channel == "none" {
            "direct"
        } else {
            channel.as_str()
        };
        let e = per.entry(ch).or_insert((0, 0));
        e.0 += 1;
        e.1 += gmv;
    }
    let total: i64 = orders.iter().map(|o| o.3).sum();
    let channels = CHANNELS
        .iter()
        .map(|ch| {
            let (n, g) = per.get(ch).copied().unwrap_or((0, 0));
            ChannelGmv {
                channel: (*ch).to_owned(),
                orders: n,
                gmv_fen: g,
                share: if total > 0 {
                    r4(g as f64 / total as f64)
                } else {
                    0.0
                },
            }
        })
        .collect();
    Ok(GmvByChannel {
        window_days: window.days,
        orders: orders.len() as i64,
        gmv_fen: total,
        channels,
    })
}

fn share_funnel(
    c: &mut dyn Conn,
    merchant_id: &str,
    by: FunnelBy,
    window: Window,
    now: i64,
    limit: usize,
) -> AppResult<ShareFunnel> {
    let since = window.since(now);
    // The merchant's links and the row each belongs to.
    let links = c.query(
        "SELECT l.id, l.sharer_id, a.display_name, l.kind, l.target_id
         FROM share_links l
           JOIN share_link_merchants lm ON lm.link_id = l.id AND lm.merchant_id = $1
           JOIN accounts a ON a.id = l.sharer_id",
        args![merchant_id],
    )?;
    let mut row_of: HashMap<String, String> = HashMap::new();
    let mut rows: BTreeMap<String, FunnelRow> = BTreeMap::new();
    for r in &links {
        let (link, sharer, name, kind, target) =
            (r.text(0)?, r.text(1)?, r.text(2)?, r.text(3)?, r.text(4)?);
        let key = match by {
            FunnelBy::Sharer => sharer.clone(),
            FunnelBy::Post if kind == "post" => target.clone(),
            FunnelBy::Post => continue,
        };
        row_of.insert(link, key.clone());
        let row = rows.entry(key.clone()).or_insert_with(|| FunnelRow {
            id: key,
            label: name,
            links: 0,
            visits: 0,
            visitors: 0,
            signups: 0,
            orders: 0,
            gmv_fen: 0,
        });
        row.links += 1;
    }
    if by == FunnelBy::Post {
        for row in rows.values_mut() {
            if let Some(p) = c.query_opt(
                // Labelled with its words only when anyone may read it: a report must not
                // show staff a friends-only, hidden or deleted post.
                "SELECT a.display_name, p.body FROM posts p JOIN accounts a ON a.id = p.author_id
                 WHERE p.id = $1 AND p.visibility = 'public' AND p.hidden_at IS NULL AND p.deleted_at IS NULL",
                args![&row.id],
            )? {
                let body: String = p.text(1)?.chars().take(16).collect();
                row.label = format!("{}: {body}", p.text(0)?);
            }
        }
    }
    // Visits (and distinct signed-in visitors per row), sign-ups, orders.
    let mut visitors: HashMap<String, HashSet<String>> = HashMap::new();
    for r in c.query(
        "SELECT v.link_id, v.visitor_id FROM share_visits v
           JOIN share_link_merchants lm ON lm.link_id = v.link_id AND lm.merchant_id = $1
         WHERE v.at >= $2",
        args![merchant_id, since],
    )? {
        if let Some(key) = row_of.get(&r.text(0)?)
            && let Some(row) = rows.get_mut(key)
        {
            row.visits += 1;
            if let Some(v) = r.opt_text(1)? {
                visitors.entry(key.clone()).or_default().insert(v);
            }
        }
    }
    for (key, set) in &visitors {
        if let Some(row) = rows.get_mut(key) {
            row.visitors = set.len() as i64;
        }
    }
    for r in c.query(
        "SELECT s.link_id FROM share_signups s
           JOIN share_link_merchants lm ON lm.link_id = s.link_id AND lm.merchant_id = $1
         WHERE s.at >= $2",
        args![merchant_id, since],
    )? {
        if let Some(row) = row_of.get(&r.text(0)?).and_then(|k| rows.get_mut(k)) {
            row.signups += 1;
        }
    }
    for (_, _, link, gmv) in attributed_orders(c, merchant_id, since)? {
        if let Some(row) = link
            .as_ref()
            .and_then(|l| row_of.get(l))
            .and_then(|k| rows.get_mut(k))
        {
            row.orders += 1;
            row.gmv_fen += gmv;
        }
    }
    let mut rows: Vec<FunnelRow> = rows.into_values().collect();
    rows.sort_by(|a, b| {
        b.gmv_fen
            .cmp(&a.gmv_fen)
            .then(b.visits.cmp(&a.visits))
            .then(a.id.cmp(&b.id))
    });
    rows.truncate(limit);
    Ok(ShareFunnel {
        window_days: window.days,
        by: by.as_str().to_owned(),
        rows,
    })
}

/// The referrer-binding tree at a merchant (锁客): each bound member under their referrer.
fn binding_tree(c: &mut dyn Conn, merchant_id: &str) -> AppResult<FissionTree> {
    let rows = c.query(
        "SELECT b.member_id, m.display_name, b.referrer_id, r.display_name
         FROM referrer_bindings b
           JOIN accounts m ON m.id = b.member_id
           JOIN accounts r ON r.id = b.referrer_id
         WHERE b.merchant_id = $1
         ORDER BY b.bound_at, b.member_id",
        args![merchant_id],
    )?;
    let mut ids: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut index: HashMap<String, u32> = HashMap::new();
    let mut node = |id: String, name: String, ids: &mut Vec<String>, names: &mut Vec<String>| {
        *index.entry(id.clone()).or_insert_with(|| {
            ids.push(id);
            names.push(name);
            (ids.len() - 1) as u32
        })
    };
    let mut links = Vec::with_capacity(rows.len());
    for r in &rows {
        let m = node(r.text(0)?, r.text(1)?, &mut ids, &mut names);
        let p = node(r.text(2)?, r.text(3)?, &mut ids, &mut names);
        links.push((m, p));
    }
    let mut parent = vec![None; ids.len()];
    for (m, p) in links {
        parent[m as usize] = Some(p);
    }
    Ok(tree_report(None, &ids, &names, &parent))
}

// ---------------------------------------------------------------------------------------
// Use cases (reads)

impl App {
    /// Energy of every community of the merchant, highest first.
    pub async fn insight_communities(
        &self,
        who: InsightAccess,
        merchant_id: &str,
        window: Window,
    ) -> AppResult<Vec<CommunityEnergy>> {
        let now = self.now_ms();
        let mid = merchant_id.to_owned();
        let mut list = self
            .db
            .read(move |c| {
                check_access(c, &who, &mid, None)?;
                let ids = c
                    .query(
                        "SELECT id FROM communities WHERE merchant_id = $1 ORDER BY created_at, id",
                        args![&mid],
                    )?
                    .iter()
                    .map(|r| r.text(0))
                    .collect::<Result<Vec<_>, _>>()?;
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
        merchant_id: &str,
        community_id: &str,
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
        merchant_id: &str,
        community_id: Option<&str>,
        window: Window,
    ) -> AppResult<RepeatPurchase> {
        let now = self.now_ms();
        let (mid, cid) = (merchant_id.to_owned(), community_id.map(str::to_owned));
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
        merchant_id: &str,
        community_id: &str,
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
        merchant_id: &str,
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
        merchant_id: &str,
        community_id: Option<&str>,
        window: Window,
        limit: usize,
    ) -> AppResult<KolRanking> {
        let now = self.now_ms();
        let (mid, cid) = (merchant_id.to_owned(), community_id.map(str::to_owned));
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
        merchant_id: &str,
        community_id: &str,
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
        merchant_id: &str,
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
        merchant_id: &str,
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
        merchant_id: &str,
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
        merchant_id: &str,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_limits() {
        assert_eq!(Window::parse(None).unwrap().days, 30);
        assert_eq!(Window::parse(Some(1)).unwrap().days, 1);
        assert_eq!(Window::parse(Some(365)).unwrap().days, 365);
        for bad in [0, -1, 366, i64::MAX] {
            assert!(
                matches!(Window::parse(Some(bad)), Err(AppError::Invalid { field, .. }) if field == "window_days")
            );
        }
        assert_eq!(parse_limit(None).unwrap(), 20);
        assert!(
            matches!(parse_limit(Some(0)), Err(AppError::Invalid { field, .. }) if field == "limit")
        );
        assert!(parse_limit(Some(101)).is_err());
        assert_eq!(Window::parse(Some(2)).unwrap().since(3 * DAY_MS), DAY_MS);
        assert_eq!(ratio(1, 3), 0.3333);
        assert_eq!(ratio(1, 0), 0.0);
    }

    type Kinds = Vec<(&'static str, f32, Vec<(usize, usize)>)>;

    fn rows(accounts: usize, kinds: Kinds) -> EdgeRows {
        let id = |i: usize| format!("a{i:02}");
        EdgeRows {
            accounts: (0..accounts).map(id).collect(),
            kinds: kinds
                .into_iter()
                .map(|(k, w, e)| (k, w, e.into_iter().map(|(u, v)| (id(u), id(v))).collect()))
                .collect(),
        }
    }

    fn member(i: usize) -> PoolMember {
        PoolMember {
            id: format!("a{i:02}"),
            name: format!("m{i}"),
            opinion_leader: false,
            followers: 0,
            gmv_fen: 0,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stale_snapshot_answers_while_one_rebuild_runs_in_the_background() {
        let env = crate::events::webhooks::test_support::TestEnv::new().await;
        let app = &env.app;
        let w = Window { days: 30 };
        let first = app.graph(w).await.unwrap();
        // Fresh: the same Arc comes back, nothing is rebuilt.
        assert!(Arc::ptr_eq(&first, &app.graph(w).await.unwrap()));
        // Stale: the old snapshot answers at once; a newer one replaces it shortly.
        env.clock.advance_ms(SNAPSHOT_MAX_AGE_MS + 1);
        let served = app.graph(w).await.unwrap();
        assert!(Arc::ptr_eq(&first, &served));
        let mut newer = None;
        for _ in 0..200 {
            let now = app.insight.get(w.days).unwrap();
            if !Arc::ptr_eq(&now, &first) {
                newer = Some(now);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let newer = newer.expect("a background rebuild");
        assert!(newer.built_at_ms > first.built_at_ms);
        // Each window has its own snapshot; an explicit refresh swaps in a new one.
        let info = app
            .refresh_insight_graph(
                InsightAccess::Operator,
                &env.merchant_id,
                Window { days: 7 },
            )
            .await
            .unwrap();
        assert_eq!(info.window_days, 7);
        assert_eq!(info.nodes, newer.ids.len() as i64);
        assert!(Arc::ptr_eq(&newer, &app.insight.get(30).unwrap()));
    }

    #[test]
    fn kol_ranking_puts_the_star_centre_first() {
        // Five members follow a03; a04 also likes a03's posts; a99 is unknown.
        let follows = (0..6).filter(|&i| i != 3).map(|i| (i, 3)).collect();
        let snap = build_snapshot(
            rows(
                6,
                vec![
                    ("follow", W_FOLLOW, follows),
                    ("like", W_LIKE, vec![(4, 3)]),
                ],
            ),
            30,
            0,
        );
        assert_eq!(snap.edges_by_kind["follow"], 5);
        let pool: Vec<_> = (0..6).map(member).collect();
        let ranked = rank_kol(&snap, &pool, 3);
        assert_eq!(ranked.len(), 3);
        assert_eq!(ranked[0].account_id, "a03");
        assert_eq!(ranked[0].reach, [5, 0, 0]);
        assert!(ranked[0].influence > 1.0 && ranked[1].influence < 1.0);
    }

    #[test]
    fn split_finds_two_cliques() {
        // a00–a04 all follow each other, a05–a09 likewise, one follow across; a10 alone.
        let mut e = Vec::new();
        for base in [0, 5] {
            for i in 0..5 {
                for j in 0..5 {
                    if i != j {
                        e.push((base + i, base + j));
                    }
                }
            }
        }
        e.push((4, 5));
        let snap = build_snapshot(rows(11, vec![("follow", W_FOLLOW, e)]), 30, 0);
        let members: Vec<_> = (0..11).map(member).collect();
        let s = suggest_split(&snap, "c", &members, Window { days: 30 });
        assert!(s.suggested, "{s:?}");
        assert_eq!(s.groups.len(), 2);
        let ids = |g: &ProposedGroup| {
            g.members
                .iter()
                .map(|m| m.account_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&s.groups[0]), ["a00", "a01", "a02", "a03", "a04"]);
        assert_eq!(ids(&s.groups[1]), ["a05", "a06", "a07", "a08", "a09"]);
        assert_eq!(s.unplaced, 1);
        assert!(s.groups[0].cohesion > 0.9);
    }
}
