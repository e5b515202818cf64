//! Figures of a merchant's money sharing: referral rate, GMV by channel, the share funnel
//! and the referrer-binding tree — all read from orders' attribution snapshots.

use std::collections::{BTreeMap, HashMap, HashSet};

use kith_store::Conn;

use crate::AppResult;

use super::community::tree_report;
use super::store::{
    attributed_orders, binding_edges, merchant_share_links, pool_ids, public_post_label,
    share_signups_since, share_visits_since,
};
use super::*;

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
    let links = merchant_share_links(c, merchant_id)?;
    let mut row_of: HashMap<String, String> = HashMap::new();
    let mut rows: BTreeMap<String, FunnelRow> = BTreeMap::new();
    for (link, sharer, name, kind, target) in links {
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
            // Labelled with its words only when anyone may read it.
            if let Some((author, body)) = public_post_label(c, &row.id)? {
                let body: String = body.chars().take(16).collect();
                row.label = format!("{author}: {body}");
            }
        }
    }
    // Visits (and distinct signed-in visitors per row), sign-ups, orders.
    let mut visitors: HashMap<String, HashSet<String>> = HashMap::new();
    for (link, visitor) in share_visits_since(c, merchant_id, since)? {
        if let Some(key) = row_of.get(&link)
            && let Some(row) = rows.get_mut(key)
        {
            row.visits += 1;
            if let Some(v) = visitor {
                visitors.entry(key.clone()).or_default().insert(v);
            }
        }
    }
    for (key, set) in &visitors {
        if let Some(row) = rows.get_mut(key) {
            row.visitors = set.len() as i64;
        }
    }
    for link in share_signups_since(c, merchant_id, since)? {
        if let Some(row) = row_of.get(&link).and_then(|k| rows.get_mut(k)) {
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
    let rows = binding_edges(c, merchant_id)?;
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
    for (member, member_name, referrer, referrer_name) in rows {
        let m = node(member, member_name, &mut ids, &mut names);
        let p = node(referrer, referrer_name, &mut ids, &mut names);
        links.push((m, p));
    }
    let mut parent = vec![None; ids.len()];
    for (m, p) in links {
        parent[m as usize] = Some(p);
    }
    Ok(tree_report(None, &ids, &names, &parent))
}
