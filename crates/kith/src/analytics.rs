//! `kith analytics …`: community insight (docs/PRODUCT.md §5) at the command line, as tables or,
//! with `--json`, as the same JSON the API returns.
//!
//! It reads the database directly, as the operator ([`InsightAccess::Operator`]): whoever
//! runs it holds the data already. Each report names a merchant (`--merchant`); some name
//! one of its communities (`--community`). The graph-based reports (`kol`, `split`) build a
//! fresh graph snapshot for the window.

use clap::{Args, Subcommand};
use kith_app::insight::{
    CommunityEnergy, FissionTree, FunnelBy, GmvByChannel, InsightAccess, KolRanking, ReferralRate,
    RepeatPurchase, ShareFunnel, SplitSuggestion, TrafficPool, Window, parse_limit,
};
use kith_app::platform::ids::{CommunityId, MerchantId};
use kith_app::{App, AppError};

use crate::config::StorageArgs;

#[derive(Debug, Clone, Args)]
pub struct AnalyticsArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(subcommand)]
    pub report: Report,
}

/// What every report takes.
#[derive(Debug, Clone, Args)]
pub struct Scope {
    /// The merchant's id.
    #[arg(long)]
    pub merchant: String,
    /// One of the merchant's communities (required by energy, fission and split).
    #[arg(long)]
    pub community: Option<String>,
    /// Days back from now, 1–365 [default: 30].
    #[arg(long)]
    pub window_days: Option<i64>,
    /// Rows in a ranking or funnel, 1–100 [default: 20].
    #[arg(long)]
    pub limit: Option<i64>,
    /// Share funnel rows: `sharer` [default] or `post`.
    #[arg(long)]
    pub by: Option<String>,
    /// Print JSON (as the API returns it) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Report {
    /// Energy (Q × M × C²) of each of the merchant's communities, highest first.
    Communities(Scope),
    /// One community's energy and its factors (--community).
    Energy(Scope),
    /// Repeat-purchase rate at the merchant, or among a community's members.
    Repeat(Scope),
    /// A community's invite tree: generations, branching, K-factor (--community).
    Fission(Scope),
    /// KOL / KOC ranking: influence (personalised PageRank) and three-hop reach.
    Kol(Scope),
    /// The private traffic pool, day by day.
    Pool(Scope),
    /// Proposed sub-communities of a community (--community).
    Split(Scope),
    /// Referral rate: attributed orders ÷ orders, members who brought one ÷ members.
    Referral(Scope),
    /// Orders and net GMV by channel (direct, share link, content, group-buy, referrer).
    Channels(Scope),
    /// Share funnel per sharer (or --by post): visits → sign-ups → orders → GMV.
    Funnel(Scope),
    /// The merchant's referrer-binding tree: generations, branching, K-factor.
    Bindings(Scope),
}

impl Report {
    pub fn scope(&self) -> &Scope {
        match self {
            Report::Communities(s)
            | Report::Energy(s)
            | Report::Repeat(s)
            | Report::Fission(s)
            | Report::Kol(s)
            | Report::Pool(s)
            | Report::Split(s)
            | Report::Referral(s)
            | Report::Channels(s)
            | Report::Funnel(s)
            | Report::Bindings(s) => s,
        }
    }
}

fn err(e: AppError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

fn community(s: &Scope) -> anyhow::Result<CommunityId> {
    let raw = s
        .community
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("--community: this report is about one community"))?;
    CommunityId::parse_or_404(raw).map_err(err)
}

/// `--community` when given: a malformed id names no community (404).
fn some_community(s: &Scope) -> anyhow::Result<Option<CommunityId>> {
    s.community
        .as_deref()
        .map(CommunityId::parse_or_404)
        .transpose()
        .map_err(err)
}

fn json<T: serde::Serialize>(v: &T) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(v)? + "\n")
}

/// Runs one report and returns what to print.
pub async fn report(app: &App, report: &Report) -> anyhow::Result<String> {
    let s = report.scope();
    let window = Window::parse(s.window_days).map_err(err)?;
    let op = InsightAccess::Operator;
    // A malformed merchant id names no merchant: 404, as an unknown one.
    let m = &MerchantId::parse_or_404(&s.merchant).map_err(err)?;
    match report {
        Report::Communities(_) => {
            let v = app.insight_communities(op, m, window).await.map_err(err)?;
            if s.json {
                json(&v)
            } else {
                Ok(communities_table(&v, window))
            }
        }
        Report::Energy(_) => {
            let v = app
                .insight_energy(op, m, &community(s)?, window)
                .await
                .map_err(err)?;
            if s.json {
                json(&v)
            } else {
                Ok(energy_table(&v))
            }
        }
        Report::Repeat(_) => {
            let v = app
                .insight_repeat_purchase(op, m, some_community(s)?.as_ref(), window)
                .await
                .map_err(err)?;
            if s.json {
                json(&v)
            } else {
                Ok(repeat_table(&v))
            }
        }
        Report::Fission(_) => {
            let v = app
                .insight_fission(op, m, &community(s)?)
                .await
                .map_err(err)?;
            if s.json {
                json(&v)
            } else {
                Ok(fission_table(&v))
            }
        }
        Report::Kol(_) => {
            let limit = parse_limit(s.limit).map_err(err)?;
            let v = app
                .insight_kol(op, m, some_community(s)?.as_ref(), window, limit)
                .await
                .map_err(err)?;
            if s.json { json(&v) } else { Ok(kol_table(&v)) }
        }
        Report::Pool(_) => {
            let v = app.insight_traffic_pool(op, m, window).await.map_err(err)?;
            if s.json { json(&v) } else { Ok(pool_table(&v)) }
        }
        Report::Split(_) => {
            let v = app
                .insight_split(op, m, &community(s)?, window)
                .await
                .map_err(err)?;
            if s.json {
                json(&v)
            } else {
                Ok(split_table(&v))
            }
        }
        Report::Referral(_) => {
            let v = app.insight_referral(op, m, window).await.map_err(err)?;
            if s.json {
                json(&v)
            } else {
                Ok(referral_table(&v))
            }
        }
        Report::Channels(_) => {
            let v = app.insight_channels(op, m, window).await.map_err(err)?;
            if s.json {
                json(&v)
            } else {
                Ok(channels_table(&v))
            }
        }
        Report::Funnel(_) => {
            let by = FunnelBy::parse(s.by.as_deref()).map_err(err)?;
            let limit = parse_limit(s.limit).map_err(err)?;
            let v = app
                .insight_share_funnel(op, m, by, window, limit)
                .await
                .map_err(err)?;
            if s.json {
                json(&v)
            } else {
                Ok(funnel_table(&v))
            }
        }
        Report::Bindings(_) => {
            let v = app.insight_binding_tree(op, m).await.map_err(err)?;
            if s.json {
                json(&v)
            } else {
                Ok(fission_table(&v).replacen(
                    "Invite tree (fission)",
                    "Referrer-binding tree (锁客)",
                    1,
                ))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tables

/// Columns on a terminal: East Asian wide characters take two.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let u = c as u32;
            let wide = matches!(u,
                0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
                | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
                | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD);
            if wide { 2 } else { 1 }
        })
        .sum()
}

/// A table: a header row, a rule, the rows. Columns whose header starts with a space are
/// right-aligned (numbers); the space is not printed.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let right: Vec<bool> = headers.iter().map(|h| h.starts_with(' ')).collect();
    let headers: Vec<&str> = headers.iter().map(|h| h.trim_start()).collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| width(h)).collect();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            widths[i] = widths[i].max(width(cell));
        }
    }
    let line = |cells: &[&str]| -> String {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i] - width(cell);
            if i > 0 {
                out.push_str("  ");
            }
            if right[i] {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            } else {
                out.push_str(cell);
                if i + 1 < cells.len() {
                    out.push_str(&" ".repeat(pad));
                }
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(&headers);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&line(&rule.iter().map(String::as_str).collect::<Vec<_>>()));
    for r in rows {
        out.push_str(&line(&r.iter().map(String::as_str).collect::<Vec<_>>()));
    }
    out
}

fn pairs(rows: &[(&str, String)]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(k, v)| vec![(*k).to_owned(), v.clone()])
        .collect();
    table(&["measure", " value"], &rows)
}

fn f2(x: f64) -> String {
    format!("{x:.2}")
}

fn f4(x: f64) -> String {
    format!("{x:.4}")
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Fen as yuan with two decimals: `¥123.45`.
fn yuan(fen: i64) -> String {
    kith_domain::Fen::new(fen).to_string()
}

fn stars(x100: i64) -> String {
    format!("{}.{:02}", x100 / 100, x100 % 100)
}

pub fn communities_table(v: &[CommunityEnergy], window: Window) -> String {
    let rows: Vec<Vec<String>> = v
        .iter()
        .map(|e| {
            vec![
                e.name.clone(),
                f2(e.energy),
                f4(e.q),
                e.m.to_string(),
                f2(e.c),
                e.members.to_string(),
                e.interacting_pairs.to_string(),
                e.reviews.to_string(),
            ]
        })
        .collect();
    format!(
        "Community energy = Q × M × C², last {} days\n{}",
        window.days,
        table(
            &[
                "community",
                " energy",
                " Q",
                " M",
                " C",
                " members",
                " pairs",
                " reviews"
            ],
            &rows
        )
    )
}

pub fn energy_table(e: &CommunityEnergy) -> String {
    format!(
        "{}: community energy, last {} days\n{}",
        e.name,
        e.window_days,
        pairs(&[
            ("energy (Q × M × C²)", f2(e.energy)),
            ("Q product quality", f4(e.q)),
            ("M active members", e.m.to_string()),
            ("C connection", f2(e.c)),
            ("members", e.members.to_string()),
            ("interacting pairs", e.interacting_pairs.to_string()),
            ("reviews", e.reviews.to_string()),
            ("mean rating", stars(e.rating_mean_x100)),
            ("platform mean rating", stars(e.platform_rating_mean_x100)),
        ])
    )
}

pub fn repeat_table(r: &RepeatPurchase) -> String {
    let scope = if r.community_id.is_some() {
        "the community's members"
    } else {
        "all buyers"
    };
    format!(
        "Repeat purchases among {scope}, last {} days\n{}",
        r.window_days,
        pairs(&[
            ("orders", r.orders.to_string()),
            ("buyers", r.buyers.to_string()),
            ("repeat buyers (≥ 2 orders)", r.repeat_buyers.to_string()),
            ("repeat-purchase rate", pct(r.rate)),
        ])
    )
}

pub fn fission_table(t: &FissionTree) -> String {
    let gens = t
        .per_generation
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(" / ");
    let mut out = format!(
        "Invite tree (fission)\n{}",
        pairs(&[
            ("members", t.members.to_string()),
            ("came in directly", t.roots.to_string()),
            ("invited", t.invited.to_string()),
            ("generations", t.generations.to_string()),
            ("per generation", gens),
            ("inviters", t.inviters.to_string()),
            ("branching", f2(t.branching)),
            ("most invited by one", t.max_children.to_string()),
            ("K-factor", f4(t.k_factor)),
        ])
    );
    if !t.top_inviters.is_empty() {
        let rows: Vec<Vec<String>> = t
            .top_inviters
            .iter()
            .map(|i| {
                vec![
                    i.display_name.clone(),
                    i.generation.to_string(),
                    i.invited.to_string(),
                    i.descendants.to_string(),
                ]
            })
            .collect();
        out.push_str("\nTop inviters\n");
        out.push_str(&table(
            &["member", " generation", " invited", " descendants"],
            &rows,
        ));
    }
    out
}

pub fn kol_table(k: &KolRanking) -> String {
    let rows: Vec<Vec<String>> = k
        .entries
        .iter()
        .map(|e| {
            vec![
                e.rank.to_string(),
                e.display_name.clone(),
                f4(e.influence),
                e.reach[0].to_string(),
                e.reach[1].to_string(),
                e.reach[2].to_string(),
                e.reach_3.to_string(),
                e.followers.to_string(),
                yuan(e.attributed_gmv_fen.get()),
                if e.opinion_leader { "yes" } else { "" }.to_owned(),
            ]
        })
        .collect();
    format!(
        "KOL / KOC ranking over {} members, last {} days (graph of {})\n{}",
        k.pool,
        k.window_days,
        k.snapshot_built_at,
        table(
            &[
                " #",
                "member",
                " influence",
                " reach 1",
                " reach 2",
                " reach 3",
                " within 3",
                " followers",
                " GMV",
                "leader"
            ],
            &rows
        )
    )
}

pub fn pool_table(p: &TrafficPool) -> String {
    let rows: Vec<Vec<String>> = p
        .series
        .iter()
        .map(|pt| vec![pt.date.clone(), pt.members.to_string()])
        .collect();
    format!(
        "Private traffic pool: {} members now, {:+} over {} days\n{}",
        p.members,
        p.change,
        p.window_days,
        table(&["date", " members"], &rows)
    )
}

pub fn split_table(s: &SplitSuggestion) -> String {
    let mut out = format!(
        "Split suggestion, last {} days: {}\n{}\n",
        s.window_days,
        if s.suggested {
            "split suggested"
        } else {
            "no split"
        },
        s.reason
    );
    out.push_str(&pairs(&[
        ("members", s.members.to_string()),
        ("modularity", f4(s.modularity)),
        ("proposed groups", s.groups.len().to_string()),
        ("unplaced", s.unplaced.to_string()),
    ]));
    if !s.groups.is_empty() {
        let rows: Vec<Vec<String>> = s
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                vec![
                    (i + 1).to_string(),
                    g.size.to_string(),
                    f2(g.cohesion),
                    g.members
                        .iter()
                        .map(|m| m.display_name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                ]
            })
            .collect();
        out.push('\n');
        out.push_str(&table(&[" group", " size", " cohesion", "members"], &rows));
    }
    out
}

pub fn referral_table(r: &ReferralRate) -> String {
    format!(
        "Referral rate, last {} days\n{}",
        r.window_days,
        pairs(&[
            ("orders", r.orders.to_string()),
            ("attributed orders", r.attributed_orders.to_string()),
            ("order referral rate", pct(r.order_rate)),
            ("members", r.members.to_string()),
            ("members who brought an order", r.referrers.to_string()),
            ("member referral rate", pct(r.member_rate)),
        ])
    )
}

pub fn channels_table(g: &GmvByChannel) -> String {
    let rows: Vec<Vec<String>> = g
        .channels
        .iter()
        .map(|c| {
            vec![
                c.channel.clone(),
                c.orders.to_string(),
                yuan(c.gmv_fen.get()),
                pct(c.share),
            ]
        })
        .collect();
    format!(
        "GMV by channel, last {} days: {} orders, {}\n{}",
        g.window_days,
        g.orders,
        yuan(g.gmv_fen.get()),
        table(&["channel", " orders", " GMV", " share"], &rows)
    )
}

pub fn funnel_table(f: &ShareFunnel) -> String {
    let rows: Vec<Vec<String>> = f
        .rows
        .iter()
        .map(|r| {
            vec![
                r.label.clone(),
                r.links.to_string(),
                r.visits.to_string(),
                r.visitors.to_string(),
                r.signups.to_string(),
                r.orders.to_string(),
                yuan(r.gmv_fen.get()),
            ]
        })
        .collect();
    format!(
        "Share funnel by {}, last {} days\n{}",
        f.by,
        f.window_days,
        table(
            &[
                f.by.as_str(),
                " links",
                " visits",
                " visitors",
                " sign-ups",
                " orders",
                " GMV"
            ],
            &rows
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_align() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("酱香"), 4);
        let t = table(
            &["name", " n"],
            &[
                vec!["酱香".into(), "1".into()],
                vec!["ab".into(), "10".into()],
            ],
        );
        assert_eq!(t, "name   n\n----  --\n酱香   1\nab    10\n");
    }
}
