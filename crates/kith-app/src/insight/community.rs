//! Figures of one community: energy and its factors, repeat purchases, the invite (fission)
//! tree, the private traffic pool, the KOL ranking and the split suggestion.

use std::collections::{HashMap, HashSet};

use kith_graph::{NodeId, PageRankOptions, ReachCounter};
use kith_store::Conn;

use super::store::{
    active_members, attributed_gmv, bindings_until, community_name_and_size,
    community_product_ratings, fission_members, interaction_pairs, live_bound_members,
    orders_per_buyer, platform_ratings, pool_membership_events,
};

use crate::{AppResult, rfc3339};

use super::*;

pub(super) fn community_energy(
    c: &mut dyn Conn,
    merchant_id: &str,
    community_id: &str,
    window: Window,
    now: i64,
) -> AppResult<CommunityEnergy> {
    let since = window.since(now);
    let (name, members) = community_name_and_size(c, community_id)?;
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
    let (sum, count) = community_product_ratings(c, community_id, merchant_id)?;
    let (psum, pcount) = platform_ratings(c)?;
    let platform_mean = (pcount > 0).then(|| psum as f64 / pcount as f64);
    let q = kith_graph::quality(sum, count, platform_mean, QUALITY_PRIOR_WEIGHT);
    let e = kith_graph::Energy::new(q, active.len() as u64, cf);
    Ok(CommunityEnergy {
        community_id: CommunityId::from_row(community_id.to_owned()),
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

pub(super) fn repeat_purchase(
    c: &mut dyn Conn,
    merchant_id: &str,
    community_id: Option<&str>,
    window: Window,
    now: i64,
) -> AppResult<RepeatPurchase> {
    let counts = orders_per_buyer(c, merchant_id, community_id, window.since(now))?;
    let (mut orders, mut buyers, mut repeat) = (0i64, 0usize, 0usize);
    for n in counts {
        orders += n;
        buyers += 1;
        if n >= 2 {
            repeat += 1;
        }
    }
    Ok(RepeatPurchase {
        window_days: window.days,
        community_id: community_id.map(|c| CommunityId::from_row(c.to_owned())),
        orders,
        buyers: buyers as i64,
        repeat_buyers: repeat as i64,
        rate: ratio(repeat, buyers),
    })
}

pub(super) fn fission_tree(c: &mut dyn Conn, community_id: &str) -> AppResult<FissionTree> {
    let rows = fission_members(c, community_id)?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut names = Vec::with_capacity(rows.len());
    let mut inviters = Vec::with_capacity(rows.len());
    for (id, inviter, name) in rows {
        ids.push(id);
        inviters.push(inviter);
        names.push(name);
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
pub(super) fn tree_report(
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
    let (drawn, more_roots) = draw_tree(ids, names, &s.parent, &s.descendants);
    FissionTree {
        community_id: community_id.map(|c| CommunityId::from_row(c.to_owned())),
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
                account_id: AccountId::from_row(ids[i].clone()),
                display_name: names[i].clone(),
                invited: children[i],
                descendants: s.descendants[i] as i64,
                generation: s.depth[i] as i64,
            })
            .collect(),
        drawn,
        more_roots,
    }
}

/// The part of a tree a page draws (see [`FissionTree::drawn`]): biggest branches first
/// (then who came first), depth-first, within [`TREE_DEPTH`], [`TREE_BREADTH`],
/// [`TREE_ROOTS`] and [`TREE_NODES`]; and the people in the roots' branches left out.
pub(super) fn draw_tree(
    ids: &[String],
    names: &[String],
    parent: &[Option<u32>],
    descendants: &[usize],
) -> (Vec<TreeNode>, i64) {
    let n = ids.len();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut roots = Vec::new();
    for (i, p) in parent.iter().enumerate() {
        match p {
            Some(p) => children[*p as usize].push(i),
            None => roots.push(i),
        }
    }
    let biggest_first = |v: &mut Vec<usize>| {
        v.sort_by(|&a, &b| descendants[b].cmp(&descendants[a]).then(a.cmp(&b)));
    };
    for c in &mut children {
        biggest_first(c);
    }
    biggest_first(&mut roots);

    struct Walk<'a> {
        ids: &'a [String],
        names: &'a [String],
        children: &'a [Vec<usize>],
        descendants: &'a [usize],
        out: Vec<TreeNode>,
    }
    impl Walk<'_> {
        fn room(&self) -> bool {
            self.out.len() < TREE_NODES
        }
        /// Draws `i` and what fits below it.
        fn draw(&mut self, i: usize, depth: usize) {
            let at = self.out.len();
            self.out.push(TreeNode {
                account_id: AccountId::from_row(self.ids[i].clone()),
                display_name: self.names[i].clone(),
                depth: depth as i64,
                invited: self.children[i].len() as i64,
                descendants: self.descendants[i] as i64,
                more: 0,
            });
            let mut more = 0;
            for (k, &child) in self.children[i].iter().enumerate() {
                if depth + 1 < TREE_DEPTH && k < TREE_BREADTH && self.room() {
                    self.draw(child, depth + 1);
                } else {
                    more += 1 + self.descendants[child] as i64;
                }
            }
            self.out[at].more = more;
        }
    }
    let mut walk = Walk {
        ids,
        names,
        children: &children,
        descendants,
        out: Vec::new(),
    };
    let mut more_roots = 0;
    for (k, &r) in roots.iter().enumerate() {
        if k < TREE_ROOTS && walk.room() {
            walk.draw(r, 0);
        } else {
            more_roots += 1 + descendants[r] as i64;
        }
    }
    (walk.out, more_roots)
}

/// Membership events that put a member into a community, and that take them out.
pub(super) const ENTER_EVENTS: &[&str] = &[
    "created",
    "joined",
    "approved",
    "joined_via_invite",
    "moved_from_parent",
];

pub(super) const EXIT_EVENTS: &[&str] = &["left", "removed", "banned", "moved_to_sub"];

pub(super) fn traffic_pool(
    c: &mut dyn Conn,
    merchant_id: &str,
    window: Window,
    now: i64,
) -> AppResult<TrafficPool> {
    let mut rows = pool_membership_events(c, merchant_id, now)?;
    // A binding to the merchant puts a member in the pool from `bound_at` until it expires.
    for (member, bound_at, expires_at) in bindings_until(c, merchant_id, now)? {
        rows.push((String::new(), member.clone(), "bound".into(), bound_at));
        if let Some(end) = expires_at
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

/// A member of the pool a ranking is over.
#[derive(Debug, Clone)]
pub(super) struct PoolMember {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) opinion_leader: bool,
    pub(super) followers: i64,
    /// Net GMV of the merchant's orders attributed to them in the window.
    pub(super) gmv_fen: i64,
}

/// The members a ranking is over: a community's active members, or the merchant's pool
/// (active members of any of its communities, and members bound to it as referred).
pub(super) fn pool_members(
    c: &mut dyn Conn,
    merchant_id: &str,
    community_id: Option<&str>,
    window: Window,
    now: i64,
) -> AppResult<Vec<PoolMember>> {
    let mut members = community_members(c, merchant_id, community_id)?;
    if community_id.is_none() {
        let known: HashSet<String> = members.iter().map(|m| m.id.clone()).collect();
        for (id, name, followers) in live_bound_members(c, merchant_id, now)? {
            if !known.contains(&id) {
                members.push(PoolMember {
                    id,
                    name,
                    opinion_leader: false,
                    followers,
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

pub(super) fn rank_kol(snap: &Snapshot, pool: &[PoolMember], limit: usize) -> Vec<KolEntry> {
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
                account_id: AccountId::from_row(pool[i].id.clone()),
                display_name: pool[i].name.clone(),
                influence: r4(score * seeds.len() as f64),
                reach: [hops[0] as i64, hops[1] as i64, hops[2] as i64],
                reach_3: hops.iter().sum::<usize>() as i64,
                followers: pool[i].followers,
                opinion_leader: pool[i].opinion_leader,
                attributed_gmv_fen: Fen::new(pool[i].gmv_fen),
            }
        })
        .collect()
}

pub(super) fn suggest_split(
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
                    account_id: AccountId::from_row(id.to_owned()),
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
        community_id: CommunityId::from_row(community_id.to_owned()),
        window_days: window.days,
        members: members.len() as i64,
        suggested,
        reason,
        modularity: r4(q),
        groups: proposed,
        unplaced: unplaced as i64,
    }
}
