//! The compressed adjacency snapshot: compressed sparse rows (CSR).
//!
//! Row `v` of a [`Csr`] is `targets[offsets[v]..offsets[v + 1]]` with the same range of
//! `weights`, sorted by target, with no duplicate targets (parallel edges are merged by
//! summing their weights). A [`Graph`] holds a directed weighted graph twice — by source
//! (`out`) and by target (`inc`) — plus each node's total out-weight, which is what
//! PageRank and reach read.

use rayon::prelude::*;

/// A node: a dense index `0..n`.
pub type NodeId = u32;

/// Compressed sparse rows: `offsets.len() == n + 1`, `targets.len() == weights.len() == m`.
#[derive(Debug, Clone, PartialEq)]
pub struct Csr {
    pub offsets: Vec<usize>,
    pub targets: Vec<NodeId>,
    pub weights: Vec<f32>,
}

impl Csr {
    /// A graph of `n` nodes and no edges.
    pub fn empty(n: usize) -> Self {
        Self {
            offsets: vec![0; n + 1],
            targets: Vec::new(),
            weights: Vec::new(),
        }
    }

    /// Builds rows from parallel arrays of edges `src[i] → dst[i]` with weight `w[i]`, by
    /// counting sort on the source; each row is then sorted by target and duplicates are
    /// merged (weights summed). Every id must be `< n`.
    pub fn from_edges(n: usize, src: &[NodeId], dst: &[NodeId], w: &[f32]) -> Self {
        assert!(src.len() == dst.len() && dst.len() == w.len());
        let mut counts = vec![0usize; n + 1];
        for &s in src {
            counts[s as usize + 1] += 1;
        }
        for i in 0..n {
            counts[i + 1] += counts[i];
        }
        let mut next = counts.clone();
        let mut pairs: Vec<(NodeId, f32)> = vec![(0, 0.0); src.len()];
        for i in 0..src.len() {
            let s = src[i] as usize;
            pairs[next[s]] = (dst[i], w[i]);
            next[s] += 1;
        }
        // Sort each row by target, in parallel: split the pair array at the row bounds.
        let mut rows: Vec<&mut [(NodeId, f32)]> = Vec::with_capacity(n);
        let mut rest: &mut [(NodeId, f32)] = &mut pairs;
        for v in 0..n {
            let (row, tail) = rest.split_at_mut(counts[v + 1] - counts[v]);
            rows.push(row);
            rest = tail;
        }
        rows.par_iter_mut()
            .with_min_len(1024)
            .for_each(|row| row.sort_unstable_by_key(|p| p.0));
        // Merge duplicates while compacting.
        let mut offsets = Vec::with_capacity(n + 1);
        let mut targets = Vec::with_capacity(pairs.len());
        let mut weights = Vec::with_capacity(pairs.len());
        offsets.push(0);
        for v in 0..n {
            let row = &pairs[counts[v]..counts[v + 1]];
            let start = targets.len();
            for &(t, wt) in row {
                if targets.len() > start && *targets.last().unwrap() == t {
                    *weights.last_mut().unwrap() += wt;
                } else {
                    targets.push(t);
                    weights.push(wt);
                }
            }
            offsets.push(targets.len());
        }
        Self {
            offsets,
            targets,
            weights,
        }
    }

    pub fn node_count(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn edge_count(&self) -> usize {
        self.targets.len()
    }

    /// Targets of row `v`.
    pub fn targets_of(&self, v: NodeId) -> &[NodeId] {
        let v = v as usize;
        &self.targets[self.offsets[v]..self.offsets[v + 1]]
    }

    /// Weights of row `v`, aligned with [`Csr::targets_of`].
    pub fn weights_of(&self, v: NodeId) -> &[f32] {
        let v = v as usize;
        &self.weights[self.offsets[v]..self.offsets[v + 1]]
    }

    /// `(target, weight)` of row `v`.
    pub fn row(&self, v: NodeId) -> impl Iterator<Item = (NodeId, f32)> + '_ {
        self.targets_of(v)
            .iter()
            .copied()
            .zip(self.weights_of(v).iter().copied())
    }

    /// The weight of `u → v`, if there is such an edge.
    pub fn weight(&self, u: NodeId, v: NodeId) -> Option<f32> {
        let ts = self.targets_of(u);
        ts.binary_search(&v).ok().map(|i| self.weights_of(u)[i])
    }

    /// The same edges by the other end: row `v` of the result lists `u` for each `u → v`.
    /// Rows come out sorted because sources are visited in order.
    pub fn transpose(&self) -> Self {
        let n = self.node_count();
        let mut offsets = vec![0usize; n + 1];
        for &t in &self.targets {
            offsets[t as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut next = offsets.clone();
        let mut targets = vec![0; self.targets.len()];
        let mut weights = vec![0.0; self.targets.len()];
        for u in 0..n {
            for i in self.offsets[u]..self.offsets[u + 1] {
                let t = self.targets[i] as usize;
                targets[next[t]] = u as NodeId;
                weights[next[t]] = self.weights[i];
                next[t] += 1;
            }
        }
        Self {
            offsets,
            targets,
            weights,
        }
    }

    /// Sum of each row's weights.
    pub fn row_sums(&self) -> Vec<f64> {
        (0..self.node_count())
            .into_par_iter()
            .with_min_len(4096)
            .map(|v| {
                self.weights[self.offsets[v]..self.offsets[v + 1]]
                    .iter()
                    .map(|&w| f64::from(w))
                    .sum()
            })
            .collect()
    }
}

/// A directed weighted graph, by source and by target.
#[derive(Debug, Clone)]
pub struct Graph {
    /// Out-edges: row `u` lists `v` for each `u → v`.
    pub out: Csr,
    /// In-edges: row `v` lists `u` for each `u → v`.
    pub inc: Csr,
    /// Total weight leaving each node (0 for a dangling node).
    pub out_weight: Vec<f64>,
}

impl Graph {
    pub fn node_count(&self) -> usize {
        self.out.node_count()
    }

    pub fn edge_count(&self) -> usize {
        self.out.edge_count()
    }

    /// The undirected view: `{u, v}` weighs `w(u→v) + w(v→u)`, listed in both rows.
    pub fn undirected(&self) -> Csr {
        let m = self.edge_count();
        let (mut src, mut dst, mut w) = (
            Vec::with_capacity(2 * m),
            Vec::with_capacity(2 * m),
            Vec::with_capacity(2 * m),
        );
        for u in 0..self.node_count() as NodeId {
            for (v, wt) in self.out.row(u) {
                src.extend([u, v]);
                dst.extend([v, u]);
                w.extend([wt, wt]);
            }
        }
        Csr::from_edges(self.node_count(), &src, &dst, &w)
    }

    /// The subgraph induced by `nodes` (renumbered `0..nodes.len()` in the given order).
    pub fn induced(&self, nodes: &[NodeId]) -> Graph {
        let mut index = std::collections::HashMap::with_capacity(nodes.len());
        for (i, &v) in nodes.iter().enumerate() {
            index.insert(v, i as NodeId);
        }
        let mut b = GraphBuilder::new(nodes.len());
        for (i, &u) in nodes.iter().enumerate() {
            for (v, w) in self.out.row(u) {
                if let Some(&j) = index.get(&v) {
                    b.add_edge(i as NodeId, j, w);
                }
            }
        }
        b.build()
    }
}

/// Collects weighted edges, then builds a [`Graph`]. Self-loops and edges whose weight is
/// not a positive finite number are ignored; parallel edges are merged by summing.
#[derive(Debug, Clone, Default)]
pub struct GraphBuilder {
    n: usize,
    src: Vec<NodeId>,
    dst: Vec<NodeId>,
    w: Vec<f32>,
}

impl GraphBuilder {
    pub fn new(n: usize) -> Self {
        Self {
            n,
            ..Self::default()
        }
    }

    pub fn with_capacity(n: usize, edges: usize) -> Self {
        Self {
            n,
            src: Vec::with_capacity(edges),
            dst: Vec::with_capacity(edges),
            w: Vec::with_capacity(edges),
        }
    }

    pub fn node_count(&self) -> usize {
        self.n
    }

    /// Edges added so far (before merging).
    pub fn edge_count(&self) -> usize {
        self.src.len()
    }

    /// Adds `u → v` with weight `w`. Panics if `u` or `v` is not below the node count.
    pub fn add_edge(&mut self, u: NodeId, v: NodeId, w: f32) {
        assert!(
            (u as usize) < self.n && (v as usize) < self.n,
            "edge {u} → {v} outside 0..{}",
            self.n
        );
        if u == v || !w.is_finite() || w <= 0.0 {
            return;
        }
        self.src.push(u);
        self.dst.push(v);
        self.w.push(w);
    }

    pub fn build(self) -> Graph {
        let out = Csr::from_edges(self.n, &self.src, &self.dst, &self.w);
        drop((self.src, self.dst, self.w));
        let inc = out.transpose();
        let out_weight = out.row_sums();
        Graph {
            out,
            inc,
            out_weight,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_sorted_merged_rows_and_the_transpose() {
        let mut b = GraphBuilder::new(4);
        b.add_edge(0, 2, 1.0);
        b.add_edge(0, 1, 2.0);
        b.add_edge(0, 2, 0.5);
        b.add_edge(3, 0, 1.0);
        b.add_edge(1, 1, 5.0); // self-loop: ignored
        b.add_edge(2, 3, 0.0); // no weight: ignored
        b.add_edge(2, 3, f32::NAN); // ignored
        let g = b.build();
        assert_eq!(g.out.offsets, vec![0, 2, 2, 2, 3]);
        assert_eq!(g.out.targets, vec![1, 2, 0]);
        assert_eq!(g.out.weights, vec![2.0, 1.5, 1.0]);
        assert_eq!(g.inc.targets_of(0), &[3]);
        assert_eq!(g.inc.targets_of(2), &[0]);
        assert_eq!(g.inc.weights_of(2), &[1.5]);
        assert_eq!(g.out_weight, vec![3.5, 0.0, 0.0, 1.0]);
        assert_eq!(g.out.weight(0, 2), Some(1.5));
        assert_eq!(g.out.weight(2, 0), None);
        let u = g.undirected();
        assert_eq!(u.targets_of(0), &[1, 2, 3]);
        assert_eq!(u.weight(2, 0), Some(1.5));
        let sub = g.induced(&[3, 0]);
        assert_eq!(sub.out.targets, vec![1]);
        assert_eq!(sub.edge_count(), 1);
    }
}
