//! PageRank as a pull power iteration over the in-edge arrays of a [`Graph`].
//!
//! With damping `d`, teleport distribution `t` (uniform for global PageRank, uniform over
//! the seed nodes for personalised PageRank) and `out_weight(u)` the total weight leaving
//! `u`, one iteration is
//!
//! ```text
//! r'(v) = (1 − d)·t(v) + d·( Σ_{u → v} r(u)·w(u→v) / out_weight(u)  +  D·t(v) )
//! ```
//!
//! where `D` is the rank held by dangling nodes (no out-edges), given back through the
//! teleport so the ranks always sum to 1. Iteration stops when the L1 change falls below
//! the tolerance or after `max_iterations`. Nodes are updated in parallel (rayon): each
//! reads only the previous vector, so the result does not depend on the thread count.

use rayon::prelude::*;

use crate::csr::{Graph, NodeId};

/// Iteration settings.
#[derive(Debug, Clone, Copy)]
pub struct PageRankOptions {
    /// Probability of following an edge (0.85 in the original paper).
    pub damping: f64,
    /// Stop when Σ|r' − r| is below this.
    pub tolerance: f64,
    pub max_iterations: usize,
}

impl Default for PageRankOptions {
    fn default() -> Self {
        Self {
            damping: 0.85,
            tolerance: 1e-9,
            max_iterations: 100,
        }
    }
}

/// Ranks (summing to 1) and how the iteration ended.
#[derive(Debug, Clone)]
pub struct PageRank {
    pub scores: Vec<f64>,
    pub iterations: usize,
    pub converged: bool,
}

/// Nodes per rayon task: below this, splitting costs more than it gives.
const MIN_CHUNK: usize = 2048;

/// Global PageRank when `seeds` is empty; personalised PageRank (teleport uniform over
/// `seeds`) otherwise. Seeds out of range are ignored; an empty graph gives no scores.
pub fn pagerank(g: &Graph, seeds: &[NodeId], opts: PageRankOptions) -> PageRank {
    let n = g.node_count();
    if n == 0 {
        return PageRank {
            scores: Vec::new(),
            iterations: 0,
            converged: true,
        };
    }
    let teleport = teleport(n, seeds);
    let d = opts.damping;
    let mut rank = match &teleport {
        Teleport::Uniform(p) => vec![*p; n],
        Teleport::Dense(t) => t.clone(),
    };
    let mut next = vec![0.0f64; n];
    let mut share = vec![0.0f64; n];
    let inv_out: Vec<f64> = g
        .out_weight
        .iter()
        .map(|&w| if w > 0.0 { 1.0 / w } else { 0.0 })
        .collect();
    let mut iterations = 0;
    let mut converged = false;
    while iterations < opts.max_iterations {
        iterations += 1;
        let delta = step(g, &inv_out, &teleport, d, &rank, &mut share, &mut next);
        std::mem::swap(&mut rank, &mut next);
        if delta < opts.tolerance {
            converged = true;
            break;
        }
    }
    PageRank {
        scores: rank,
        iterations,
        converged,
    }
}

/// The teleport distribution: uniform over all nodes (global PageRank), or dense.
#[derive(Debug, Clone)]
pub enum Teleport {
    Uniform(f64),
    Dense(Vec<f64>),
}

impl Teleport {
    #[inline]
    fn at(&self, v: usize) -> f64 {
        match self {
            Teleport::Uniform(p) => *p,
            Teleport::Dense(t) => t[v],
        }
    }
}

/// Uniform over the valid seeds, or over all nodes when there are none.
fn teleport(n: usize, seeds: &[NodeId]) -> Teleport {
    let mut valid: Vec<usize> = seeds
        .iter()
        .map(|&s| s as usize)
        .filter(|&s| s < n)
        .collect();
    valid.sort_unstable();
    valid.dedup();
    if valid.is_empty() {
        return Teleport::Uniform(1.0 / n as f64);
    }
    let mut t = vec![0.0; n];
    let p = 1.0 / valid.len() as f64;
    for s in valid {
        t[s] = p;
    }
    Teleport::Dense(t)
}

/// One iteration, `next` from `rank`, in two parallel passes: each node's share of its
/// rank per unit of out-weight (summing the dangling rank on the way), then the pull over
/// in-edges (summing the L1 change on the way). Returns Σ|next − rank|.
pub fn step(
    g: &Graph,
    inv_out: &[f64],
    teleport: &Teleport,
    d: f64,
    rank: &[f64],
    share: &mut [f64],
    next: &mut [f64],
) -> f64 {
    let dangling: f64 = share
        .par_iter_mut()
        .with_min_len(MIN_CHUNK)
        .zip(rank.par_iter())
        .zip(inv_out.par_iter())
        .map(|((s, r), i)| {
            *s = r * i;
            if *i == 0.0 { *r } else { 0.0 }
        })
        .sum();
    let inc = &g.inc;
    next.par_iter_mut()
        .with_min_len(MIN_CHUNK)
        .enumerate()
        .map(|(v, out)| {
            let (a, b) = (inc.offsets[v], inc.offsets[v + 1]);
            let mut sum = 0.0;
            for (t, w) in inc.targets[a..b].iter().zip(&inc.weights[a..b]) {
                sum += share[*t as usize] * f64::from(*w);
            }
            let tv = teleport.at(v);
            *out = (1.0 - d) * tv + d * (sum + dangling * tv);
            (*out - rank[v]).abs()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::GraphBuilder;
    use proptest::prelude::*;

    #[test]
    fn the_centre_of_a_star_outranks_its_leaves() {
        // Leaves 1..=6 all point at the centre 0 (follow it, like its posts).
        let mut b = GraphBuilder::new(7);
        for leaf in 1..7 {
            b.add_edge(leaf, 0, 1.0);
        }
        let g = b.build();
        let pr = pagerank(&g, &[], PageRankOptions::default());
        assert!(pr.converged);
        for leaf in 1..7 {
            assert!(pr.scores[0] > 3.0 * pr.scores[leaf]);
            assert!((pr.scores[leaf] - pr.scores[1]).abs() < 1e-12);
        }
        // By hand: leaves get (1-d)/n + d·D/n with D = r0; the centre gets that plus d·6·leaf.
        let (d, n) = (0.85, 7.0);
        let leaf = pr.scores[1];
        let centre = pr.scores[0];
        assert!((leaf - ((1.0 - d) / n + d * centre / n)).abs() < 1e-9);
        assert!((centre - ((1.0 - d) / n + d * centre / n + d * 6.0 * leaf)).abs() < 1e-9);
    }

    #[test]
    fn personalised_rank_stays_near_the_seeds() {
        // Two separate chains 0→1→2 and 3→4→5; seeds on the first chain.
        let mut b = GraphBuilder::new(6);
        b.add_edge(0, 1, 1.0);
        b.add_edge(1, 2, 1.0);
        b.add_edge(3, 4, 1.0);
        b.add_edge(4, 5, 1.0);
        let g = b.build();
        let pr = pagerank(&g, &[0], PageRankOptions::default());
        assert!(pr.scores[3..].iter().all(|&s| s == 0.0));
        assert!(pr.scores[2] > 0.0 && pr.scores[1] > 0.0);
        let total: f64 = pr.scores.iter().sum();
        assert!((total - 1.0).abs() < 1e-9);
    }

    fn arb_graph() -> impl Strategy<Value = (usize, Vec<(u32, u32, f32)>)> {
        (1usize..40).prop_flat_map(|n| {
            // Weights in tenths, 0.1..=10.0: proptest's f32 range sampler can trip its own
            // assertion (float_samplers.rs "self.low - result < initial.step"), so the
            // weights come from integers.
            let w = (1u32..=100).prop_map(|t| t as f32 / 10.0);
            let e = (0..n as u32, 0..n as u32, w);
            (Just(n), proptest::collection::vec(e, 0..200))
        })
    }

    proptest! {
        #[test]
        fn ranks_are_a_distribution((n, edges) in arb_graph(), seeds in proptest::collection::vec(0u32..50, 0..4)) {
            let mut b = GraphBuilder::new(n);
            for (u, v, w) in edges {
                b.add_edge(u, v, w);
            }
            let g = b.build();
            let pr = pagerank(&g, &seeds, PageRankOptions::default());
            prop_assert_eq!(pr.scores.len(), n);
            prop_assert!(pr.scores.iter().all(|&s| s >= 0.0 && s.is_finite()));
            let total: f64 = pr.scores.iter().sum();
            prop_assert!((total - 1.0).abs() < 1e-9, "sum {}", total);
        }
    }
}
