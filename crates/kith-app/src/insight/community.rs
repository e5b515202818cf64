//! Figures of one community: energy and its factors, repeat purchases, the invite (fission)
//! tree, the private traffic pool, the KOL ranking and the split suggestion.

use std::collections::{HashMap, HashSet};

use kith_graph::{NodeId, PageRankOptions, ReachCounter};
use kith_store::{Conn, Value, args};

use crate::{AppResult, rfc3339};

use super::*;

/// Active members of a community who did something on the platform since `since`: wrote
/// a post, liked, commented, shared, followed a share link, or placed an order.
pub(super) fn active_members(
    c: &mut dyn Conn,
    community_id: &str,
    since: i64,
) -> AppResult<Vec<String>> {
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
pub(super) fn interaction_pairs(
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

pub(super) fn community_energy(
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
        community_id: community_id.map(|c| CommunityId::from_row(c.to_owned())),
        orders,
        buyers: buyers as i64,
        repeat_buyers: repeat as i64,
        rate: ratio(repeat, buyers),
    })
}

pub(super) fn fission_tree(c: &mut dyn Conn, community_id: &str) -> AppResult<FissionTree> {
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
    }
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

/// Net GMV (paid − refunded) per beneficiary of the merchant's orders paid since `since`.
pub(super) fn attributed_gmv(
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

pub(super) fn community_members(
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
