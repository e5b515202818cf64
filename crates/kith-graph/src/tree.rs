//! Invite / binding tree statistics (fission, 裂变).
//!
//! The input is a forest given as each node's parent (who invited or bound it), `None`
//! for a root (an owner or someone who came in directly). A node's generation is its
//! depth: roots are generation 0, people they brought generation 1, and so on. A parent
//! link that would close a cycle (bad data) is treated as absent.
//!
//! - `generations`: how many generations there are (a lone root: 1; a chain of 4: 4);
//! - `per_generation[g]`: nodes in generation `g`;
//! - `inviters`: nodes that brought at least one other; `branching`: mean children per
//!   inviter; `max_children`: the most any one node brought;
//! - `k_factor`: accepted invites per member = invited nodes ÷ all nodes.

/// Plain data; the application layer maps it to its own serialisable types.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeStats {
    pub members: usize,
    pub roots: usize,
    pub invited: usize,
    pub generations: usize,
    pub per_generation: Vec<usize>,
    pub inviters: usize,
    pub branching: f64,
    pub max_children: usize,
    pub k_factor: f64,
    /// Each node's generation (depth), aligned with the input.
    pub depth: Vec<usize>,
    /// How many nodes each node brought in, directly or through others (its subtree
    /// without itself), aligned with the input.
    pub descendants: Vec<usize>,
    /// The parent links as used (out-of-range and cycle-closing links dropped).
    pub parent: Vec<Option<u32>>,
}

pub fn tree_stats(parent: &[Option<u32>]) -> TreeStats {
    let n = parent.len();
    // The parent as used: links out of range or closing a cycle are dropped.
    let mut used: Vec<Option<usize>> = parent
        .iter()
        .map(|p| p.map(|p| p as usize).filter(|&p| p < n))
        .collect();
    // Pass 1: cut cycles. 0 = unseen, 1 = on the current walk, 2 = done.
    let mut color = vec![0u8; n];
    let mut path = Vec::new();
    for start in 0..n {
        path.clear();
        let mut v = start;
        while color[v] == 0 {
            color[v] = 1;
            path.push(v);
            match used[v] {
                Some(p) if color[p] == 1 => {
                    used[v] = None; // this link closes a cycle
                    break;
                }
                Some(p) => v = p,
                None => break,
            }
        }
        for &x in &path {
            color[x] = 2;
        }
    }
    // Pass 2: depths, memoised walks up the (now acyclic) forest.
    const UNKNOWN: usize = usize::MAX;
    let mut depth = vec![UNKNOWN; n];
    for start in 0..n {
        path.clear();
        let mut v = start;
        let mut d = loop {
            if depth[v] != UNKNOWN {
                break depth[v];
            }
            path.push(v);
            match used[v] {
                Some(p) => v = p,
                None => break usize::MAX, // root: the top of the path gets 0
            }
        };
        for &x in path.iter().rev() {
            d = d.wrapping_add(1);
            depth[x] = d;
        }
    }
    let mut children = vec![0usize; n];
    for p in used.iter().flatten() {
        children[*p] += 1;
    }
    let roots = used.iter().filter(|p| p.is_none()).count();
    let invited = n - roots;
    let generations = depth.iter().map(|&d| d + 1).max().unwrap_or(0);
    let mut per_generation = vec![0; generations];
    for &d in &depth {
        per_generation[d] += 1;
    }
    let inviters = children.iter().filter(|&&c| c > 0).count();
    // Subtree sizes: deepest first, each node adds itself and its subtree to its parent.
    let mut by_depth: Vec<usize> = (0..n).collect();
    by_depth.sort_unstable_by_key(|&v| std::cmp::Reverse(depth[v]));
    let mut descendants = vec![0usize; n];
    for &v in &by_depth {
        if let Some(p) = used[v] {
            descendants[p] += descendants[v] + 1;
        }
    }
    TreeStats {
        members: n,
        roots,
        invited,
        generations,
        per_generation,
        inviters,
        branching: if inviters == 0 {
            0.0
        } else {
            invited as f64 / inviters as f64
        },
        max_children: children.iter().copied().max().unwrap_or(0),
        k_factor: if n == 0 {
            0.0
        } else {
            invited as f64 / n as f64
        },
        depth,
        descendants,
        parent: used.iter().map(|p| p.map(|p| p as u32)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_chain_of_invites() {
        // 0 invited 1, 1 invited 2, 2 invited 3.
        let s = tree_stats(&[None, Some(0), Some(1), Some(2)]);
        assert_eq!(s.generations, 4);
        assert_eq!(s.per_generation, vec![1, 1, 1, 1]);
        assert_eq!(
            (s.roots, s.invited, s.inviters, s.max_children),
            (1, 3, 3, 1)
        );
        assert_eq!(s.k_factor, 0.75);
        assert_eq!(s.branching, 1.0);
        assert_eq!(s.depth, vec![0, 1, 2, 3]);
        assert_eq!(s.descendants, vec![3, 2, 1, 0]);
    }

    #[test]
    fn a_fan_and_a_lone_root() {
        // 0 brought 1, 2, 3; 2 brought 4; 5 came alone.
        let s = tree_stats(&[None, Some(0), Some(0), Some(0), Some(2), None]);
        assert_eq!(s.generations, 3);
        assert_eq!(s.per_generation, vec![2, 3, 1]);
        assert_eq!(
            (s.roots, s.invited, s.inviters, s.max_children),
            (2, 4, 2, 3)
        );
        assert_eq!(s.branching, 2.0);
        assert_eq!(s.descendants, vec![4, 0, 1, 0, 0, 0]);
        assert!((s.k_factor - 4.0 / 6.0).abs() < 1e-12);
        assert_eq!(tree_stats(&[]).generations, 0);
    }

    #[test]
    fn a_cycle_is_cut() {
        // 0 → 1 → 2 → 0 (bad data) and 3 → 2.
        let s = tree_stats(&[Some(1), Some(2), Some(0), Some(2)]);
        assert_eq!(s.roots, 1);
        assert_eq!(s.members, 4);
        assert_eq!(s.per_generation.iter().sum::<usize>(), 4);
    }

    proptest! {
        #[test]
        fn depths_follow_parents(parents in proptest::collection::vec(proptest::option::of(0u32..30), 0..30)) {
            let s = tree_stats(&parents);
            prop_assert_eq!(s.per_generation.iter().sum::<usize>(), parents.len());
            prop_assert_eq!(s.roots + s.invited, parents.len());
            prop_assert!(s.roots >= 1 || parents.is_empty());
            prop_assert!(s.k_factor >= 0.0 && s.k_factor < 1.0 || parents.is_empty());
            for (v, &d) in s.depth.iter().enumerate() {
                prop_assert!(d < s.generations);
                let _ = v;
            }
        }
    }
}
