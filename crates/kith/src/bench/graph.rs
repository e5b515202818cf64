//! `kith bench graph`: the insight graph's algorithms on a generated social graph.
//!
//! The graph has `members` nodes and about `edges` weighted directed edges, made by a
//! seeded generator (the same graph for the same scale on every run): a third of the edges
//! go to popular members (targets drawn with a heavy skew towards low ids, like follows of
//! KOLs), the rest stay inside circles of 64 neighbouring ids (friends, community
//! interactions), with weights 1–3 like follows, likes and comments. It measures, in one
//! run:
//!
//! 1. **snapshot build**: `GraphBuilder` from the edge arrays to the CSR arrays (out-edges,
//!    in-edges, out-weights; duplicates merged) — what `insight` does after loading rows;
//! 2. **PageRank**: `kith_graph::pagerank`, a fixed number of iterations, time per
//!    iteration and edges per second;
//! 3. **the limit**: a minimal hand-written sequential power iteration over the same CSR
//!    arrays (one loop computing each node's share, one pull loop over the in-edges), same
//!    maths; its result must agree with ours to 1e-9;
//! 4. **label propagation** on the undirected view (and the time to build that view).
//!
//! The last line is `ratio pagerank_vs_minimal_csr <limit time per iteration ÷ ours>`
//! (1.0 = as fast as the minimal loop; above 1 when rayon's threads beat one core).

use std::time::Instant;

use clap::Args;
use kith_graph::{Graph, GraphBuilder, NodeId, PageRankOptions, SplitMix64};

use super::Scale;

#[derive(Debug, Clone, Args)]
pub struct GraphArgs {
    /// small: 20 000 members / 200 000 edges; reference: 100 000 / 1 000 000; large:
    /// 1 000 000 / 10 000 000.
    #[arg(long, value_enum, default_value = "small")]
    pub scale: Scale,
    /// PageRank iterations timed (each implementation).
    #[arg(long, default_value_t = 20)]
    pub iterations: usize,
    /// Also print the figures as one JSON object (before the ratio line).
    #[arg(long)]
    pub json: bool,
}

fn sizes(scale: Scale) -> (usize, usize) {
    match scale {
        Scale::Tiny => (2_000, 20_000),
        Scale::Small => (20_000, 200_000),
        Scale::Reference => (100_000, 1_000_000),
        Scale::Large => (1_000_000, 10_000_000),
    }
}

/// Circle size for local edges.
const CIRCLE: u64 = 64;
const DAMPING: f64 = 0.85;

/// The generated edges, as parallel arrays.
pub struct Edges {
    pub src: Vec<NodeId>,
    pub dst: Vec<NodeId>,
    pub w: Vec<f32>,
}

/// A seeded social graph of `n` members and `m` edges (self-loops are redrawn).
pub fn generate(n: usize, m: usize, seed: u64) -> Edges {
    let mut rng = SplitMix64::new(seed);
    let (mut src, mut dst, mut w) = (
        Vec::with_capacity(m),
        Vec::with_capacity(m),
        Vec::with_capacity(m),
    );
    let nn = n as u64;
    while src.len() < m {
        let u = rng.below(n) as u64;
        let v = if rng.below(3) == 0 {
            // Popular members: u³ skew towards low ids.
            let x = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            ((x * x * x) * n as f64) as u64
        } else {
            let base = u - u % CIRCLE;
            (base + rng.below(CIRCLE as usize) as u64).min(nn - 1)
        };
        if u == v {
            continue;
        }
        src.push(u as NodeId);
        dst.push(v as NodeId);
        w.push(1.0 + rng.below(3) as f32);
    }
    Edges { src, dst, w }
}

/// The limit: the plainest sequential power iteration over the CSR arrays.
fn minimal_iteration(
    g: &Graph,
    inv_out: &[f64],
    rank: &[f64],
    share: &mut [f64],
    next: &mut [f64],
) {
    let n = rank.len();
    let mut dangling = 0.0;
    for u in 0..n {
        share[u] = rank[u] * inv_out[u];
        if inv_out[u] == 0.0 {
            dangling += rank[u];
        }
    }
    let base = (1.0 - DAMPING) / n as f64 + DAMPING * dangling / n as f64;
    let (offsets, targets, weights) = (&g.inc.offsets, &g.inc.targets, &g.inc.weights);
    for v in 0..n {
        let mut s = 0.0;
        for i in offsets[v]..offsets[v + 1] {
            s += share[targets[i] as usize] * f64::from(weights[i]);
        }
        next[v] = base + DAMPING * s;
    }
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

pub fn run(args: GraphArgs) -> anyhow::Result<()> {
    let (n, m) = sizes(args.scale);
    let iterations = args.iterations.max(1);
    println!(
        "kith bench graph --scale {}: {n} members, {m} edges, {iterations} PageRank iterations, {} threads",
        args.scale.name(),
        kith_graph::threads()
    );
    let t = Instant::now();
    let edges = generate(n, m, 0x6b69_7468);
    eprintln!("  generated in {:.2} s", secs(t));

    // 1. Snapshot build.
    let t = Instant::now();
    let mut b = GraphBuilder::with_capacity(n, m);
    for i in 0..edges.src.len() {
        b.add_edge(edges.src[i], edges.dst[i], edges.w[i]);
    }
    let g = b.build();
    let build_s = secs(t);
    drop(edges);
    println!(
        "snapshot build: {:.3} s ({} edges after merging, {:.0} edges/s)",
        build_s,
        g.edge_count(),
        m as f64 / build_s
    );

    // 2. Ours.
    let opts = PageRankOptions {
        damping: DAMPING,
        tolerance: 0.0,
        max_iterations: iterations,
    };
    let _ = kith_graph::pagerank(
        &g,
        &[],
        PageRankOptions {
            max_iterations: 1,
            ..opts
        },
    );
    let t = Instant::now();
    let ours = kith_graph::pagerank(&g, &[], opts);
    let ours_s = secs(t) / iterations as f64;
    let e = g.edge_count() as f64;
    println!(
        "pagerank (kith-graph, rayon): {:.3} ms/iteration, {:.0} edges/s",
        ours_s * 1e3,
        e / ours_s
    );

    // 3. The limit, over the same arrays.
    let inv_out: Vec<f64> = g
        .out_weight
        .iter()
        .map(|&w| if w > 0.0 { 1.0 / w } else { 0.0 })
        .collect();
    let mut rank = vec![1.0 / n as f64; n];
    let (mut share, mut next) = (vec![0.0; n], vec![0.0; n]);
    let t = Instant::now();
    for _ in 0..iterations {
        minimal_iteration(&g, &inv_out, &rank, &mut share, &mut next);
        std::mem::swap(&mut rank, &mut next);
    }
    let limit_s = secs(t) / iterations as f64;
    println!(
        "pagerank (minimal CSR loop, one thread): {:.3} ms/iteration, {:.0} edges/s",
        limit_s * 1e3,
        e / limit_s
    );
    let diff = ours
        .scores
        .iter()
        .zip(&rank)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    anyhow::ensure!(
        diff < 1e-9,
        "the two PageRank implementations disagree by {diff:e}"
    );

    // 4. Label propagation.
    let t = Instant::now();
    let und = g.undirected();
    let undirected_s = secs(t);
    let t = Instant::now();
    let labels = kith_graph::label_propagation(&und, 7, 20);
    let lpa_s = secs(t);
    let communities = labels.iter().copied().max().map_or(0, |l| l + 1);
    println!(
        "label propagation: {lpa_s:.3} s ({communities} communities; undirected view built in {undirected_s:.3} s)"
    );

    let ratio = limit_s / ours_s;
    if args.json {
        let doc = serde_json::json!({
            "bench": "graph",
            "scale": args.scale.name(),
            "members": n,
            "edges": g.edge_count(),
            "threads": kith_graph::threads(),
            "snapshot_build_s": build_s,
            "pagerank_s_per_iteration": ours_s,
            "pagerank_edges_per_s": e / ours_s,
            "minimal_s_per_iteration": limit_s,
            "minimal_edges_per_s": e / limit_s,
            "label_propagation_s": lpa_s,
            "undirected_build_s": undirected_s,
            "communities": communities,
        });
        println!("{doc}");
    }
    println!("ratio pagerank_vs_minimal_csr {ratio:.3}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_seeded_and_in_range() {
        let a = generate(500, 3_000, 1);
        let b = generate(500, 3_000, 1);
        assert_eq!(a.src, b.src);
        assert_eq!(a.dst, b.dst);
        assert_eq!(a.src.len(), 3_000);
        assert!(
            a.src
                .iter()
                .zip(&a.dst)
                .all(|(u, v)| u != v && *u < 500 && *v < 500)
        );
    }
}
