//! Community detection on an undirected weighted graph (a symmetric [`Csr`], e.g.
//! [`Graph::undirected`](crate::Graph::undirected)), for split suggestions.
//!
//! - [`label_propagation`]: every node starts in its own community and repeatedly adopts
//!   the community with the greatest total edge weight among its neighbours, visiting
//!   nodes in a seeded random order (ties: keep the current label, else the smallest).
//!   Near-linear per sweep; the same seed gives the same answer.
//! - [`louvain`]: greedy modularity optimisation (Blondel et al. 2008): local moves until
//!   no move raises modularity, then communities become nodes, repeated until nothing
//!   moves. Deterministic (nodes in index order). Slower, steadier on small graphs.
//!
//! Both return one label per node, numbered `0..k` in order of each community's first
//! node, so equal partitions compare equal.

use std::collections::HashMap;

use crate::SplitMix64;
use crate::csr::{Csr, NodeId};

/// Renumbers labels `0..k` in order of first appearance.
pub fn normalise(labels: &[u32]) -> Vec<u32> {
    let mut map = HashMap::new();
    labels
        .iter()
        .map(|&l| {
            let k = map.len() as u32;
            *map.entry(l).or_insert(k)
        })
        .collect()
}

/// Label propagation with a seeded visiting order; stops when a sweep changes nothing or
/// after `max_sweeps`.
pub fn label_propagation(g: &Csr, seed: u64, max_sweeps: usize) -> Vec<u32> {
    let n = g.node_count();
    let mut labels: Vec<u32> = (0..n as u32).collect();
    let mut order: Vec<NodeId> = (0..n as u32).collect();
    let mut rng = SplitMix64::new(seed);
    // Weight per candidate label, reset after each node (only touched entries).
    let mut acc = vec![0.0f64; n];
    let mut touched: Vec<u32> = Vec::new();
    for _ in 0..max_sweeps {
        rng.shuffle(&mut order);
        let mut changed = 0usize;
        for &v in &order {
            touched.clear();
            for (u, w) in g.row(v) {
                if u == v {
                    continue;
                }
                let l = labels[u as usize];
                if acc[l as usize] == 0.0 {
                    touched.push(l);
                }
                acc[l as usize] += f64::from(w);
            }
            if touched.is_empty() {
                continue;
            }
            let current = labels[v as usize];
            let mut best = current;
            let mut best_w = acc[current as usize];
            for &l in &touched {
                let w = acc[l as usize];
                if w > best_w || (w == best_w && best != current && l < best) {
                    best = l;
                    best_w = w;
                }
            }
            for &l in &touched {
                acc[l as usize] = 0.0;
            }
            if best != current {
                labels[v as usize] = best;
                changed += 1;
            }
        }
        if changed == 0 {
            break;
        }
    }
    normalise(&labels)
}

/// Modularity of a partition of a symmetric weighted graph:
/// `Q = Σ_c (in_c / 2m − (tot_c / 2m)²)`, `in_c` the weight of row entries inside `c`
/// (each undirected edge counted from both ends), `tot_c` the summed degrees.
pub fn modularity(g: &Csr, labels: &[u32]) -> f64 {
    let m2: f64 = g.weights.iter().map(|&w| f64::from(w)).sum();
    if m2 == 0.0 {
        return 0.0;
    }
    let k = labels.iter().copied().max().map_or(0, |m| m as usize + 1);
    let (mut inside, mut tot) = (vec![0.0; k], vec![0.0; k]);
    for v in 0..g.node_count() as NodeId {
        let c = labels[v as usize] as usize;
        for (u, w) in g.row(v) {
            tot[c] += f64::from(w);
            if labels[u as usize] as usize == c {
                inside[c] += f64::from(w);
            }
        }
    }
    (0..k).map(|c| inside[c] / m2 - (tot[c] / m2).powi(2)).sum()
}

/// Louvain community detection (see the module docs).
pub fn louvain(g: &Csr) -> Vec<u32> {
    let n = g.node_count();
    let mut of_original: Vec<u32> = (0..n as u32).collect();
    let mut level = g.clone();
    loop {
        let (labels, moved) = local_moves(&level);
        if !moved {
            break;
        }
        let labels = normalise(&labels);
        for c in of_original.iter_mut() {
            *c = labels[*c as usize];
        }
        let k = labels.iter().copied().max().map_or(0, |m| m as usize + 1);
        if k == level.node_count() {
            break;
        }
        level = aggregate(&level, &labels, k);
    }
    normalise(&of_original)
}

/// One level of local moves. Returns labels and whether any node moved.
fn local_moves(g: &Csr) -> (Vec<u32>, bool) {
    let n = g.node_count();
    let m2: f64 = g.weights.iter().map(|&w| f64::from(w)).sum();
    let mut labels: Vec<u32> = (0..n as u32).collect();
    if m2 == 0.0 {
        return (labels, false);
    }
    let degree: Vec<f64> = g.row_sums();
    let mut tot = degree.clone();
    let mut acc = vec![0.0f64; n];
    let mut touched: Vec<u32> = Vec::new();
    let mut any = false;
    loop {
        let mut moved = 0usize;
        for v in 0..n {
            let own = labels[v];
            touched.clear();
            touched.push(own);
            for (u, w) in g.row(v as NodeId) {
                if u as usize == v {
                    continue;
                }
                let l = labels[u as usize];
                if acc[l as usize] == 0.0 && l != own {
                    touched.push(l);
                }
                acc[l as usize] += f64::from(w);
            }
            let kv = degree[v];
            tot[own as usize] -= kv;
            // Gain of joining c, up to a constant factor: w(v, c) − tot(c)·k_v / 2m.
            let gain =
                |c: u32, acc: &[f64], tot: &[f64]| acc[c as usize] - tot[c as usize] * kv / m2;
            let mut best = own;
            let mut best_gain = gain(own, &acc, &tot);
            for &c in &touched[1..] {
                let gc = gain(c, &acc, &tot);
                if gc > best_gain + 1e-12
                    || (gc > best_gain - 1e-12 && gc >= best_gain && c < best && best != own)
                {
                    best = c;
                    best_gain = gc;
                }
            }
            tot[best as usize] += kv;
            for &c in &touched {
                acc[c as usize] = 0.0;
            }
            if best != own {
                labels[v] = best;
                moved += 1;
            }
        }
        if moved == 0 {
            break;
        }
        any = true;
    }
    (labels, any)
}

/// The graph of communities: an edge between two communities weighs the sum of the edges
/// between their members; a community's inner weight becomes a self-loop entry.
fn aggregate(g: &Csr, labels: &[u32], k: usize) -> Csr {
    let mut rows: Vec<HashMap<u32, f64>> = vec![HashMap::new(); k];
    for v in 0..g.node_count() as NodeId {
        let cv = labels[v as usize];
        for (u, w) in g.row(v) {
            *rows[cv as usize].entry(labels[u as usize]).or_insert(0.0) += f64::from(w);
        }
    }
    let mut offsets = Vec::with_capacity(k + 1);
    let mut targets = Vec::new();
    let mut weights = Vec::new();
    offsets.push(0);
    for row in rows {
        let mut row: Vec<(u32, f64)> = row.into_iter().collect();
        row.sort_unstable_by_key(|p| p.0);
        for (t, w) in row {
            targets.push(t);
            weights.push(w as f32);
        }
        offsets.push(targets.len());
    }
    Csr {
        offsets,
        targets,
        weights,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::GraphBuilder;
    use proptest::prelude::*;

    /// Two cliques of `k` nodes (0..k and k..2k), joined by one edge k-1 — k.
    fn two_cliques(k: u32) -> Csr {
        let mut b = GraphBuilder::new(2 * k as usize);
        for base in [0, k] {
            for i in 0..k {
                for j in 0..k {
                    b.add_edge(base + i, base + j, 1.0);
                }
            }
        }
        b.add_edge(k - 1, k, 1.0);
        b.build().undirected()
    }

    fn expected(k: u32) -> Vec<u32> {
        (0..2 * k).map(|v| u32::from(v >= k)).collect()
    }

    #[test]
    fn louvain_splits_two_cliques_joined_by_one_edge() {
        for k in 3..8 {
            let g = two_cliques(k);
            let labels = louvain(&g);
            assert_eq!(labels, expected(k), "k = {k}");
            assert!(modularity(&g, &labels) > 0.3);
        }
    }

    #[test]
    fn label_propagation_splits_two_cliques_joined_by_one_edge() {
        let g = two_cliques(6);
        for seed in 0..200 {
            assert_eq!(label_propagation(&g, seed, 100), expected(6), "seed {seed}");
        }
    }

    #[test]
    fn modularity_by_hand() {
        // A single edge split in two: Q = 0 − (1/2)² · 2 = −0.5; together: 1 − 1 = 0.
        let mut b = GraphBuilder::new(2);
        b.add_edge(0, 1, 1.0);
        let g = b.build().undirected();
        assert!((modularity(&g, &[0, 1]) + 0.5).abs() < 1e-12);
        assert!(modularity(&g, &[0, 0]).abs() < 1e-12);
    }

    fn arb_undirected() -> impl Strategy<Value = Csr> {
        (1usize..30).prop_flat_map(|n| {
            // Weights in tenths from integers (proptest's f32 range sampler can panic).
            let w = (5u32..30).prop_map(|t| t as f32 / 10.0);
            proptest::collection::vec((0..n as u32, 0..n as u32, w), 0..120).prop_map(
                move |edges| {
                    let mut b = GraphBuilder::new(n);
                    for (u, v, w) in edges {
                        b.add_edge(u, v, w);
                    }
                    b.build().undirected()
                },
            )
        })
    }

    proptest! {
        #[test]
        fn label_propagation_is_deterministic_for_a_seed(g in arb_undirected(), seed in any::<u64>()) {
            let a = label_propagation(&g, seed, 50);
            let b = label_propagation(&g, seed, 50);
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(a.len(), g.node_count());
            // Labels are 0..k in order of first appearance.
            let mut next = 0;
            for &l in &a {
                prop_assert!(l <= next);
                if l == next { next += 1; }
            }
        }

        #[test]
        fn louvain_never_does_worse_than_singletons(g in arb_undirected()) {
            let labels = louvain(&g);
            let singletons: Vec<u32> = (0..g.node_count() as u32).collect();
            prop_assert!(modularity(&g, &labels) >= modularity(&g, &singletons) - 1e-9);
        }
    }
}
