//! Figures of a merchant's money sharing: referral rate, GMV by channel, the share funnel
//! and the referrer-binding tree — all read from orders' attribution snapshots.

use std::collections::{BTreeMap, HashMap, HashSet};

use kith_store::{Conn, args};

use crate::AppResult;

use super::community::tree_report;
use super::*;

/// Paid orders of the merchant since `since` that are not fully refunded, with their
/// attribution: (channel, beneficiary, link, net GMV). An order without an attribution row
/// (the merchant had no commission plan at checkout) is a group-buy order if it holds a
/// seat, else direct.
pub(super) const ORDERS_WITH_ATTRIBUTION: &str = "SELECT COALESCE(a.channel, CASE WHEN s.order_id IS NULL THEN 'none' ELSE 'group_buy' END),
            a.beneficiary_id, a.link_id, o.paid_fen - o.refunded_fen
     FROM orders o LEFT JOIN order_attributions a ON a.order_id = o.id
     LEFT JOIN group_seats s ON s.order_id = o.id
     WHERE o.merchant_id = $1 AND o.paid_at IS NOT NULL AND o.paid_at >= $2 AND o.status <> 'refunded'";

pub(super) type AttributedOrder = (String, Option<String>, Option<String>, i64);

pub(super) fn attributed_orders(
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
pub(super) fn pool_ids(
    c: &mut dyn Conn,
    merchant_id: &str,
    now: i64,
) -> AppResult<HashSet<String>> {
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

pub(super) fn referral_rate(
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

pub(super) fn gmv_by_channel(
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
                gmv_fen: Fen::new(g),
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
        gmv_fen: Fen::new(total),
        channels,
    })
}

pub(super) fn share_funnel(
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
            gmv_fen: Fen::default(),
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
            row.gmv_fen = Fen::new(row.gmv_fen.get() + gmv);
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
pub(super) fn binding_tree(c: &mut dyn Conn, merchant_id: &str) -> AppResult<FissionTree> {
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
