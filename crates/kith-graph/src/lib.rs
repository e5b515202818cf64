//! # kith-graph
//!
//! Graph analytics for kith's insight measures (docs/PRODUCT.md §5), pure: no storage, no I/O, no
//! async. The application layer loads rows, builds a [`Graph`] with a [`GraphBuilder`]
//! and asks the algorithms here.
//!
//! - [`csr`]: the compressed adjacency snapshot — `offsets` / `targets` / `weights`
//!   arrays, out-edges and in-edges, built by counting sort with duplicate edges merged.
//! - [`pagerank`]: global and personalised PageRank, a pull power iteration over the
//!   in-edge arrays, parallel over nodes with rayon. (petgraph's `page_rank` is O(V²) per
//!   iteration; this is O(V + E).)
//! - [`reach`]: how many distinct nodes lie within 1, 2, 3 hops (三度影响力).
//! - [`community`]: label propagation (fast, seeded, deterministic) and Louvain
//!   (modularity) community detection on an undirected weighted graph, and modularity.
//! - [`tree`]: invite/binding tree statistics: generations, branching, K-factor.
//! - [`energy`]: community energy Q × M × C² with its three factors.
//!
//! Node ids are dense `u32` indices `0..n`; the caller keeps the map to its own ids.

pub mod community;
pub mod csr;
pub mod energy;
pub mod pagerank;
pub mod reach;
pub mod tree;

pub use community::{label_propagation, louvain, modularity};
pub use csr::{Csr, Graph, GraphBuilder, NodeId};
pub use energy::{Energy, connection, quality};
pub use pagerank::{PageRank, PageRankOptions, pagerank};
pub use reach::ReachCounter;
pub use tree::{TreeStats, tree_stats};

/// A small deterministic generator (SplitMix64) for seeded orderings: the same seed gives
/// the same sequence on every platform.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), by multiply-shift.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i + 1);
            xs.swap(i, j);
        }
    }
}

/// Threads the parallel algorithms use (rayon's global pool).
pub fn threads() -> usize {
    rayon::current_num_threads()
}
