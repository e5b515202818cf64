use std::sync::Arc;

use super::community::PoolMember;
use super::graph::{EdgeRows, build_snapshot};
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
            &MerchantId::parse(&env.merchant_id).unwrap(),
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
    assert_eq!(ranked[0].account_id.as_str(), "a03");
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
            .map(|m| m.account_id.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&s.groups[0]), ["a00", "a01", "a02", "a03", "a04"]);
    assert_eq!(ids(&s.groups[1]), ["a05", "a06", "a07", "a08", "a09"]);
    assert_eq!(s.unplaced, 1);
    assert!(s.groups[0].cohesion > 0.9);
}

#[test]
fn a_drawn_tree_counts_everyone_it_leaves_out_once() {
    // One root with 10 children; the first child has a chain 6 deep below it; 12 lone roots.
    let mut parent: Vec<Option<u32>> = vec![None];
    parent.extend((0..10).map(|_| Some(0)));
    let mut above = 1;
    for _ in 0..6 {
        parent.push(Some(above));
        above = (parent.len() - 1) as u32;
    }
    parent.extend((0..12).map(|_| None));
    let ids: Vec<String> = (0..parent.len()).map(|i| format!("a{i:02}")).collect();
    let names: Vec<String> = (0..parent.len()).map(|i| format!("m{i}")).collect();
    let s = kith_graph::tree_stats(&parent);
    let (drawn, more_roots) = super::community::draw_tree(&ids, &names, &s.parent, &s.descendants);
    // The big root first, its biggest branch first, then the rest of its children.
    assert_eq!(drawn[0].display_name, "m0");
    assert_eq!((drawn[0].invited, drawn[0].descendants), (10, 16));
    assert_eq!(drawn[1].display_name, "m1");
    assert_eq!(drawn[1].depth, 1);
    assert!(drawn.iter().all(|d| (d.depth as usize) < TREE_DEPTH));
    // Breadth: six of the root's ten children; the four others counted on the root.
    assert_eq!(drawn.iter().filter(|d| d.depth == 1).count(), TREE_BREADTH);
    assert_eq!(drawn[0].more, 4);
    // Depth: the chain stops at generation 3; the 4 below it are counted there.
    let last_in_chain = drawn.iter().find(|d| d.depth == 3).unwrap();
    assert_eq!(last_in_chain.more, 4);
    // Roots: eight drawn (the big one and seven lone ones), five left out.
    assert_eq!(drawn.iter().filter(|d| d.depth == 0).count(), TREE_ROOTS);
    assert_eq!(more_roots, 5);
    let counted: i64 = drawn.len() as i64 + drawn.iter().map(|d| d.more).sum::<i64>() + more_roots;
    assert_eq!(counted, parent.len() as i64);
}
