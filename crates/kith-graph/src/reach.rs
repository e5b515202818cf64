//! Reach: how many distinct nodes lie 1, 2, … hops from a node (三度影响力 at 3 hops).
//!
//! Breadth-first over one [`Csr`] (for influence, the in-edges: the people who follow or
//! interact with a member, then theirs, …). A [`ReachCounter`] keeps its visited marks
//! between calls (an epoch stamp per node), so ranking many nodes costs no allocation per
//! node.

use crate::csr::{Csr, NodeId};

#[derive(Debug, Clone)]
pub struct ReachCounter {
    stamp: Vec<u32>,
    epoch: u32,
    frontier: Vec<NodeId>,
    next: Vec<NodeId>,
}

impl ReachCounter {
    pub fn new(n: usize) -> Self {
        Self {
            stamp: vec![0; n],
            epoch: 0,
            frontier: Vec::new(),
            next: Vec::new(),
        }
    }

    /// Distinct nodes first reached at each hop `1..=hops` from `start` (which itself is
    /// not counted). `result[h - 1]` is the number at exactly `h` hops.
    pub fn count(&mut self, g: &Csr, start: NodeId, hops: usize) -> Vec<usize> {
        assert_eq!(
            self.stamp.len(),
            g.node_count(),
            "counter made for another graph"
        );
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamp.fill(0);
            self.epoch = 1;
        }
        let e = self.epoch;
        self.frontier.clear();
        self.frontier.push(start);
        self.stamp[start as usize] = e;
        let mut out = Vec::with_capacity(hops);
        for _ in 0..hops {
            self.next.clear();
            for &u in &self.frontier {
                for &v in g.targets_of(u) {
                    if self.stamp[v as usize] != e {
                        self.stamp[v as usize] = e;
                        self.next.push(v);
                    }
                }
            }
            out.push(self.next.len());
            std::mem::swap(&mut self.frontier, &mut self.next);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::GraphBuilder;

    #[test]
    fn counts_distinct_nodes_per_hop() {
        // 0 ← 1 ← 2 ← 3 ← 4, and 5 → 0, 5 → 1: audience of 0 by in-edges.
        let mut b = GraphBuilder::new(6);
        for (u, v) in [(1, 0), (2, 1), (3, 2), (4, 3), (5, 0), (5, 1)] {
            b.add_edge(u, v, 1.0);
        }
        let g = b.build();
        let mut r = ReachCounter::new(6);
        assert_eq!(r.count(&g.inc, 0, 3), vec![2, 1, 1]);
        assert_eq!(r.count(&g.inc, 4, 3), vec![0, 0, 0]);
        assert_eq!(r.count(&g.out, 4, 3), vec![1, 1, 1]);
        assert_eq!(r.count(&g.out, 5, 3), vec![2, 0, 0]);
    }
}
